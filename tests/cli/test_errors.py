from pathlib import Path

import pytest
from typer.testing import CliRunner

from modelyard.cli.app import app
from tests.cli.conftest import Invoke, assert_one_line_error


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("nonsense://", "unsupported database 'nonsense'"),
        ("sqlite:////proc/no-such-dir/yard.db", "cannot create the database folder"),
        ("postgresql+psycopg://postgres@127.0.0.1:1/x", "cannot open the database"),
    ],
)
def test_unusable_database_urls_get_one_line(url: str, message: str) -> None:
    result = CliRunner().invoke(app, ["--db-url", url, "models", "list"])
    assert_one_line_error(result, 7, message)


def test_messages_keep_their_brackets(cli: Invoke) -> None:
    """Rules such as [a-z0-9] must reach the user literally, not be eaten as markup."""
    assert_one_line_error(cli("models", "show", "UPPER"), 2, "[a-z0-9][a-z0-9._-]{0,63}")


def test_os_errors_on_user_files_are_one_line(cli: Invoke, tmp_path: Path, cancer) -> None:
    source = tmp_path / "d.csv"
    cancer[0].head(20).to_csv(source, index=False)
    assert cli("data", "add", str(source), "--name", "d").exit_code == 0
    blocker = tmp_path / "file"
    blocker.write_text("x")
    result = cli("data", "get", "d@1", "--out", str(blocker / "sub" / "out.csv"))
    assert_one_line_error(result, 2, "Not a directory")
