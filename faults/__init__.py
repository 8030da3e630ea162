"""`make faults`: fault injection against two workers behind nginx (see faults/README.md)."""
