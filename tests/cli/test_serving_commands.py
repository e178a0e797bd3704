import orjson
import skops.io as sio

from modelyard import Yard
from tests.cli.conftest import Invoke, assert_one_line_error


def _registered(cli: Invoke, tmp_path, logreg) -> None:
    model = tmp_path / "m.skops"
    sio.dump(logreg, model)
    assert cli("register", str(model), "--name", "churn").exit_code == 0
    assert cli("alias", "set", "churn", "production", "1").exit_code == 0


def test_endpoint_create_list_show_delete(cli: Invoke, tmp_path, logreg) -> None:
    _registered(cli, tmp_path, logreg)
    created = cli(
        "endpoint",
        "create",
        "churn-api",
        "--model",
        "churn@production",
        "--max-batch",
        "32",
        "--json",
    )
    assert created.exit_code == 0, created.output
    assert orjson.loads(created.output)["limits"]["max_batch"] == 32
    listed = orjson.loads(cli("endpoint", "list", "--json").output)
    assert [e["name"] for e in listed] == ["churn-api"]
    shown = orjson.loads(cli("endpoint", "show", "churn-api", "--json").output)
    assert shown["resolves_to"] == {"churn@production": "churn@1"}
    assert shown["replicas"] == []
    with Yard(tmp_path / "home") as yard:  # what a running server reports
        yard.report_serving("host-a:41", {"churn-api": ("churn@1", "")})
    servers = cli("endpoint", "show", "churn-api")
    assert "host-a:41" in servers.output
    assert "churn@1" in servers.output
    shown = orjson.loads(cli("endpoint", "show", "churn-api", "--json").output)
    assert [(r["replica"], r["version"]) for r in shown["replicas"]] == [("host-a:41", "churn@1")]
    assert cli("endpoint", "delete", "churn-api").exit_code == 0
    assert orjson.loads(cli("endpoint", "list", "--json").output) == []
    assert cli("audit", "--action", "endpoint.create").exit_code == 0


def test_endpoint_bad_input(cli: Invoke, tmp_path, logreg) -> None:
    _registered(cli, tmp_path, logreg)
    assert_one_line_error(
        cli("endpoint", "create", "x", "--model", "nope@production"), 3, "model 'nope' not found"
    )
    assert_one_line_error(
        cli("endpoint", "create", "Bad Name", "--model", "churn@1"), 2, "invalid endpoint name"
    )
    assert_one_line_error(
        cli("endpoint", "create", "x", "--model", "churn@1", "--max-batch", "0"),
        2,
        "max_batch must be a whole number from 1",
    )
    assert_one_line_error(
        cli("endpoint", "create", "x", "--model", "churn@1", "--segment-by", "country"),
        2,
        "segment_by 'country': not an input of the model",
    )
    assert_one_line_error(
        cli("endpoint", "create", "x", "-m", "churn@1", "--segment-by", "mean radius",
            "--segment-top", "0"),
        2,
        "segment_top must be a whole number from 1 to 50",
    )  # fmt: skip
    cli("endpoint", "create", "x", "--model", "churn@1")
    assert_one_line_error(cli("endpoint", "create", "x", "--model", "churn@1"), 4, "already exists")
    assert_one_line_error(cli("endpoint", "show", "missing"), 3, "not found")


def test_keys_are_shown_once_and_stored_hashed(cli: Invoke, tmp_path) -> None:
    created = orjson.loads(
        cli("keys", "create", "--scope", "predict", "--scope", "read", "--json").output
    )
    secret, key_id = created["secret"], created["key"]["id"]
    assert secret.startswith(f"myk_{key_id}_")
    db = (tmp_path / "home" / "yard.db").read_bytes()
    assert secret.encode() not in db
    listed = cli("keys", "list", "--json").output
    assert secret not in listed
    assert orjson.loads(listed)[0]["scopes"] == ["predict", "read"]
    assert cli("keys", "revoke", key_id).exit_code == 0
    assert_one_line_error(cli("keys", "revoke", key_id), 4, "already revoked")
    assert_one_line_error(cli("keys", "create", "--scope", "root"), 2, "unknown scope 'root'")


def test_endpoint_row_cap_is_set_shown_and_checked(cli: Invoke, tmp_path, logreg) -> None:
    _registered(cli, tmp_path, logreg)
    created = cli(
        "endpoint", "create", "a", "--model", "churn@1", "--queue-rows", "64",
        "--max-request-rows", "10", "--json",
    )  # fmt: skip
    assert created.exit_code == 0, created.output
    assert orjson.loads(created.output)["limits"]["max_request_rows"] == 10
    assert "10 rows per request" in cli("endpoint", "show", "a").output
    cli("endpoint", "create", "b", "--model", "churn@1", "--queue-rows", "64")
    assert "any number of rows per request" in cli("endpoint", "show", "b").output
    assert_one_line_error(
        cli("endpoint", "create", "c", "--model", "churn@1", "--max-request-rows", "0"),
        2,
        "max_request_rows must be a whole number from 1 to 1e+07, got 0",
    )


def test_keys_carry_their_own_rate_limit(cli: Invoke) -> None:
    created = cli(
        "keys", "create", "--scope", "predict", "--rate-limit", "20", "--rate-burst", "40",
        "--json",
    )  # fmt: skip
    assert created.exit_code == 0, created.output
    key = orjson.loads(created.output)["key"]
    assert (key["rate_limit"], key["rate_burst"]) == (20.0, 40)
    assert "20 requests/s" in cli("keys", "create", "--scope", "read", "--rate-limit", "20").output
    cli("keys", "create", "--scope", "read", "--rate-limit", "0")
    cli("keys", "create", "--scope", "read")
    listed = orjson.loads(cli("keys", "list", "--json").output)
    assert [(k["rate_limit"], k["rate_burst"]) for k in listed] == [
        (20.0, 40),
        (20.0, None),
        (0.0, None),
        (None, None),
    ]
    assert_one_line_error(
        cli("keys", "create", "--scope", "predict", "--rate-limit", "-1"),
        2,
        "rate limit must be a number of requests per second from 0 (none)",
    )
    assert_one_line_error(
        cli("keys", "create", "--scope", "predict", "--rate-burst", "5"),
        2,
        "a rate burst needs a rate limit above 0",
    )
