"""`modelyard deploy ci`: which files it writes, and what it refuses to overwrite."""

from __future__ import annotations

from pathlib import Path

from tests.cli.conftest import Invoke, assert_one_line_error

NEEDED = ["--model", "churn", "--endpoint", "churn-api"]


def test_it_writes_each_providers_pipeline_into_the_repository(cli: Invoke, tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    (repo / "src").mkdir(parents=True)
    result = cli("deploy", "ci", str(repo), *NEEDED, "--train", "python src/train.py")
    assert result.exit_code == 0, result.output
    assert "python src/train.py" in (repo / ".github/workflows/modelyard.yml").read_text()
    assert "python src/train.py" in (repo / ".gitlab-ci.yml").read_text()
    assert (repo / "src").is_dir()  # the rest of the repository is left alone


def test_one_provider_writes_one_file(cli: Invoke, tmp_path: Path) -> None:
    result = cli("deploy", "ci", str(tmp_path), *NEEDED, "--provider", "gitlab")
    assert result.exit_code == 0, result.output
    assert [p.name for p in tmp_path.rglob("*") if p.is_file()] == [".gitlab-ci.yml"]


def test_an_existing_pipeline_is_kept_unless_forced(cli: Invoke, tmp_path: Path) -> None:
    (tmp_path / ".gitlab-ci.yml").write_text("mine: {}\n")
    assert_one_line_error(cli("deploy", "ci", str(tmp_path), *NEEDED), 4, "--force")
    assert (tmp_path / ".gitlab-ci.yml").read_text() == "mine: {}\n"
    assert not (tmp_path / ".github").exists()  # nothing half-written
    assert cli("deploy", "ci", str(tmp_path), *NEEDED, "--force").exit_code == 0
    assert "modelyard drift" in (tmp_path / ".gitlab-ci.yml").read_text()


def test_bad_input_is_one_line(cli: Invoke, tmp_path: Path) -> None:
    bad = cli("deploy", "ci", str(tmp_path), *NEEDED, "--provider", "jenkins")
    assert_one_line_error(bad, 2, "--provider jenkins")
    bad = cli("deploy", "ci", str(tmp_path), "--model", "Churn!", "--endpoint", "churn-api")
    assert_one_line_error(bad, 2, "invalid model name")
    assert list(tmp_path.iterdir()) == []
