import os
import re
from pathlib import Path

import pytest

README = Path(__file__).parents[1] / "README.md"


def test_readme_python_example_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    block = re.search(r"```python\n(.*?)```", README.read_text(), re.S)
    assert block is not None
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("MODELYARD_HOME", raising=False)
    monkeypatch.delenv("MODELYARD_DB_URL", raising=False)
    monkeypatch.delenv("MODELYARD_ARTIFACTS", raising=False)
    scope: dict[str, object] = {}
    exec(compile(block.group(1), str(README), "exec"), scope)
    assert (tmp_path / ".modelyard" / "yard.db").exists()
    assert scope["predictor"].ref == "churn@1"  # type: ignore[attr-defined]
    assert os.listdir(tmp_path / ".modelyard" / "artifacts" / "blobs")
