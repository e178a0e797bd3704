"""``modelyard predict``: the progress it is given and the errors it prints."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from modelyard import Yard
from modelyard.cli import batch
from tests.cli.conftest import Invoke, assert_one_line_error


@pytest.fixture
def churn(tmp_path: Path, logreg, cancer) -> None:
    with Yard(tmp_path / "home") as yard:
        yard.register(logreg, "churn", sample=cancer[0])


def test_the_progress_gets_a_parquet_files_row_count(
    cli: Invoke, churn: None, tmp_path: Path, cancer, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[tuple[int, int | None]] = []

    @contextmanager
    def recorded(description: str) -> Iterator[Callable[[int, int | None], None]]:
        assert description == "scoring with churn@1"
        yield lambda done, total: calls.append((done, total))

    monkeypatch.setattr(batch, "progress_rows", recorded)
    source = tmp_path / "rows.parquet"
    cancer[0].to_parquet(source)
    out = str(tmp_path / "out.csv")
    done = cli("predict", "churn@1", "-i", str(source), "-o", out, "--chunk-rows", "300")
    assert done.exit_code == 0, done.output
    assert calls == [(300, 569), (569, 569)]


def test_a_file_that_is_no_csv_is_one_line(cli: Invoke, churn: None, tmp_path: Path) -> None:
    source = tmp_path / "rows.csv"
    source.write_bytes(b"")
    out = str(tmp_path / "out.csv")
    assert_one_line_error(
        cli("predict", "churn@1", "-i", str(source), "-o", out), 2, "Empty CSV file"
    )
    source.write_text("a,b\n1,2\n1,2,3\n", encoding="utf-8")
    assert_one_line_error(
        cli("predict", "churn@1", "-i", str(source), "-o", out), 2, "Expected 2 columns"
    )
    assert not Path(out).exists()
