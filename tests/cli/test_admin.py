"""`modelyard backup` / `restore`: what a restore leaves out is printed with the flag that
brings it in, for people and as JSON."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest
from typer.testing import CliRunner

from modelyard import Yard
from modelyard.cli.app import app
from tests.cli.conftest import assert_one_line_error


@pytest.fixture
def archive(tmp_path: Path, logreg, cancer) -> Path:
    with Yard(tmp_path / "source") as yard:
        yard.register(logreg, "churn", sample=cancer[0])
        yard.create_endpoint("churn-api", "churn@1")
        yard.add_policy("churn-api", "error_rate>0.5", ["run:python retrain.py"])
        yard.create_key(["admin"])
    result = CliRunner().invoke(
        app, ["--home", str(tmp_path / "source"), "backup", str(tmp_path / "b.tar.gz")]
    )
    assert result.exit_code == 0, result.output
    return tmp_path / "b.tar.gz"


def _restore(tmp_path: Path, archive: Path, *flags: str) -> str:
    home = tmp_path / "target"
    result = CliRunner().invoke(app, ["--home", str(home), "restore", str(archive), *flags])
    assert result.exit_code == 0, result.output
    return result.output


def test_restore_lists_what_it_left_out_and_the_flag_for_each(
    tmp_path: Path, archive: Path
) -> None:
    said = " ".join(_restore(tmp_path, archive).split())
    assert "left out" in said
    assert "policy 1 on churn-api (run:python retrain.py): needs --trust-commands" in said
    assert "(scopes admin): needs --trust-keys or --reissue-keys" in said


def test_restore_json_reports_flags_brought_in_and_reissued_keys(
    tmp_path: Path, archive: Path
) -> None:
    report = orjson.loads(_restore(tmp_path, archive, "--reissue-keys", "--json"))
    assert report["flags"] == ["--reissue-keys"]
    assert [i["row"] for i in report["left_out"]] == ["policy 1 on churn-api"]
    (key,) = report["reissued_keys"]
    assert key["secret"].startswith(f"myk_{key['id']}_")
    assert [i["flag"] for i in report["brought_in"]] == ["--reissue-keys"]


def test_trusting_and_reissuing_keys_together_is_one_line_error(
    tmp_path: Path, archive: Path
) -> None:
    result = CliRunner().invoke(
        app,
        ["--home", str(tmp_path / "t"), "restore", str(archive), "--trust-keys", "--reissue-keys"],
    )
    assert_one_line_error(result, 2, "--trust-keys or --reissue-keys, not both")
