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


def test_markup_in_user_text_is_shown_literally(
    cli: Invoke, tmp_path: Path, logreg, cancer
) -> None:
    import skops.io as sio

    model = tmp_path / "m.skops"
    sio.dump(logreg, model)
    cli("register", str(model), "--name", "churn", "--description", "[bold]x[/oops]")
    assert cli("alias", "set", "churn", "production", "1", "--reason", "[/red] oops").exit_code == 0
    history = cli("alias", "history", "churn")
    assert history.exit_code == 0, history.output
    assert "[/red] oops" in history.output
    shown = cli("models", "show", "churn@1")
    assert shown.exit_code == 0, shown.output
    assert "[bold]x[/oops]" in shown.output
    assert cli("audit").exit_code == 0


def test_non_finite_metrics_are_refused_on_the_command_line(
    cli: Invoke, tmp_path: Path, logreg
) -> None:
    import skops.io as sio

    model = tmp_path / "m.skops"
    sio.dump(logreg, model)
    result = cli("register", str(model), "--name", "churn", "--metric", "auc=nan")
    assert_one_line_error(result, 2, "metrics must be finite")


def test_versions_beyond_the_range_are_one_line(cli: Invoke) -> None:
    assert_one_line_error(
        cli("models", "show", "churn@99999999999999999999"), 2, "between 1 and 2147483647"
    )
