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


def test_pictures_in_the_docs_exist() -> None:
    """The README and docs show the console's screenshots: each must be in the repository."""
    for page in [README, *sorted((README.parent / "docs").glob("*.md"))]:
        for target in re.findall(r"!\[[^\]]*\]\(([^)]+)\)", page.read_text()):
            picture = page.parent / target
            assert picture.is_file(), f"{page.name} shows {target}, which does not exist"
            assert picture.stat().st_size > 10_000, f"{target} is not a real screenshot"
