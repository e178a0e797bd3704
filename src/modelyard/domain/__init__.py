"""Plain entities with no I/O: what the yard knows, passed between layers."""
