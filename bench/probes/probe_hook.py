"""What the probes here share: patch the server once the serving app is first imported.

Each probe is a ``sitecustomize`` module in a folder of its own; ``bench/thread_cpu.py``
puts that folder and this one on the server's ``PYTHONPATH``. Python imports
``sitecustomize`` at start-up, before modelyard is imported, so a probe's patches wait for
the import of ``modelyard.serving.app`` (which comes before the server takes requests).
"""

from __future__ import annotations

import importlib.abc
import sys
from collections.abc import Callable
from typing import Any

SERVING_APP = "modelyard.serving.app"


def on_serving_import(install: Callable[[], None]) -> None:
    """Run ``install`` just before ``modelyard.serving.app`` is first imported."""

    class _PatchOnServing(importlib.abc.MetaPathFinder):
        def find_spec(self, name: str, path: Any, target: Any = None) -> None:
            if name == SERVING_APP:
                sys.meta_path.remove(self)
                install()

    sys.meta_path.insert(0, _PatchOnServing())
