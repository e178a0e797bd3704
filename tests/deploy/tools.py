"""The validators platform teams run, as installed by the project (dev extra; kubectl from
Debian through scripts/install-kubectl.sh)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

BIN = Path(sys.executable).parent


def tool(name: str) -> str:
    """A validator from the dev extra, beside this interpreter."""
    path = BIN / name
    assert path.exists(), f"{name} is not installed: run `make .venv/.installed-dev`"
    return str(path)


def kubectl() -> str:
    found = shutil.which("kubectl")
    if found is None:
        pytest.skip("kubectl is not installed and could not be (scripts/install-kubectl.sh)")
    return found


def run(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(a) for a in args], capture_output=True, text=True, check=False, timeout=120
    )
