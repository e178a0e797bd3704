"""The ``modelyard`` command: thin Typer shells over :class:`modelyard.Yard`."""
