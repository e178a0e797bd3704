"""bench/serve.py's parts: one module per peer (``peer_*.py``: how to start it, its request
body, how to read its answer), the virtualenvs, the load windows, the combined ceiling, the
runner and the report. ``apps/`` holds what runs inside a peer's own virtualenv."""
