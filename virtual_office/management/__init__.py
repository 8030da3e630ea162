"""Management commands for Virtual Office."""
