"""Signal receivers: hand committed changes to events.py."""
