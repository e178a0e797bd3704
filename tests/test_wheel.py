"""The wheel carries the whole package: code and the files it reads at run time (the
console's modules and page, the report's plotly, the migration template)."""

from __future__ import annotations

import zipfile
from pathlib import Path

from hatchling.builders.wheel import WheelBuilder

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "src" / "modelyard"


def test_the_wheel_ships_every_file_of_the_package(tmp_path: Path) -> None:
    [wheel] = WheelBuilder(str(ROOT)).build(directory=str(tmp_path), versions=["standard"])
    shipped = set(zipfile.ZipFile(wheel).namelist())
    files = {
        path.relative_to(PACKAGE.parent).as_posix()
        for path in PACKAGE.rglob("*")
        if path.is_file() and "__pycache__" not in path.parts
    }
    assert "modelyard/serving/ui/app.js" in files
    assert files - shipped == set()
