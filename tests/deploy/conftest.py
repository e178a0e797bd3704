from __future__ import annotations

import shutil
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def promtool() -> Path:
    """promtool as `make promtool` extracts it from Debian's prometheus package."""
    local = ROOT / ".tools" / "bin" / "promtool"
    if local.exists():
        return local
    found = shutil.which("promtool")
    if found is None:
        pytest.skip("promtool is not installed: `make promtool` extracts it (needs apt-get)")
    return Path(found)
