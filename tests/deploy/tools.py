"""The validators platform teams run, as installed by the project (dev extra; kubectl from
Debian through scripts/install-kubectl.sh)."""

from __future__ import annotations

import re
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
    """kubectl with a kustomize that reads today's kustomization fields (v4 or newer)."""
    found = shutil.which("kubectl")
    if found is None:
        pytest.skip("kubectl is not installed and could not be (scripts/install-kubectl.sh)")
    version = run(found, "version", "--client").stdout
    bundled = re.search(r"Kustomize Version: v(\d+)\.", version)
    if bundled is None or int(bundled.group(1)) < 4:
        pytest.skip(f"this kubectl bundles no kustomize v4 or newer: {version.strip()!r}")
    return found


def run(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(a) for a in args], capture_output=True, text=True, check=False, timeout=120
    )
