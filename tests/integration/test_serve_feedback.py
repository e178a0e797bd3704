"""Feedback and the monitor API of a real ``modelyard serve`` with API keys: every caller's
mistake is a 4xx naming the field and the rule, never a 500.

One server for the whole module (start-ups cost seconds); every test predicts its own rows,
so the ids it labels are its own.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tests.integration.serving_fixtures import Server, running_server

from modelyard import Yard
from modelyard.domain.monitoring import DriftConfig, MonitorSpec

pytestmark = pytest.mark.slow

LIMIT = 1024 * 1024  # MODELYARD_MAX_BODY_BYTES of the server: 10,000 small items fit
FEEDBACK = "/v1/endpoints/cancer-api/feedback"
MONITOR = "/api/endpoints/cancer-api/monitor"
RESULT_KEYS = {"accepted", "updated", "duplicates", "unknown", "invalid"}


@dataclass
class Served:
    server: Server
    predict: str  # predict scope, every endpoint
    read: str  # read scope, every endpoint
    predict_other: str  # predict scope, other-api only
    read_other: str  # read scope, other-api only


def _never_5xx(response: httpx.Response) -> None:
    response.read()
    assert response.status_code < 500, f"{response.status_code} {response.text}"


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory, logreg, cancer) -> Iterator[Served]:
    X, _ = cancer
    home = tmp_path_factory.mktemp("feedback") / "home"
    with Yard(home, actor="tester") as yard:
        yard.register(logreg, "cancer", sample=X)
        for name in ("cancer-api", "other-api", "watched-api", "labels-api", "chi2-api"):
            yard.create_endpoint(name, "cancer@1")
        chi2 = MonitorSpec(drift=DriftConfig(categorical_test="chi2"))
        yard.configure_monitoring("chi2-api", chi2, reason="as in docs/monitoring.md")
        keys = [
            yard.create_key(["predict"])[1],
            yard.create_key(["read"])[1],
            yard.create_key(["predict"], endpoint="other-api")[1],
            yard.create_key(["read"], endpoint="other-api")[1],
        ]
    with running_server(home, env={"MODELYARD_MAX_BODY_BYTES": str(LIMIT)}) as server:
        yield Served(server, *keys)


def _client(served: Served, key: str | None) -> httpx.Client:
    headers = {"X-API-Key": key} if key else {}
    return served.server.client(headers=headers, event_hooks={"response": [_never_5xx]})


@pytest.fixture
def client(served: Served) -> Iterator[httpx.Client]:
    """Sends the key with the predict scope; fails the test on any 5xx."""
    with _client(served, served.predict) as c:
        yield c


@pytest.fixture
def reader(served: Served) -> Iterator[httpx.Client]:
    with _client(served, served.read) as c:
        yield c


def _predict(
    client: httpx.Client, X, start: int, stop: int, endpoint: str = "cancer-api"
) -> tuple[list[str], list[int]]:
    response = client.post(
        f"/v1/endpoints/{endpoint}/predict",
        json={"inputs": X.iloc[start:stop].to_dict(orient="list")},
    )
    assert response.status_code == 200, response.text
    body = response.json()
    return body["prediction_ids"], body["predictions"]


def _feedback(client: httpx.Client, body: Any, endpoint: str = "cancer-api") -> dict[str, Any]:
    response = client.post(f"/v1/endpoints/{endpoint}/feedback", json=body)
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    assert set(result) == RESULT_KEYS
    return result


def _stored_actual(served: Served, prediction_id: str) -> str | None:
    with Yard(served.server.home) as yard:
        row = yard.stores.predictions.get(prediction_id)
    assert row is not None
    return row["actual"]


def _error(response: httpx.Response, status: int, code: str, *message: str) -> None:
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert error["code"] == code, error
    for part in message:
        assert part in error["message"], error


# -- happy paths ----------------------------------------------------------------------------


def test_one_item_a_list_and_the_wrapped_form(served: Served, client, cancer) -> None:
    X, y = cancer
    ids, _ = _predict(client, X, 0, 6)
    labels = [int(v) for v in y.iloc[0:6]]
    one = _feedback(client, {"prediction_id": ids[0], "actual": labels[0]})
    assert one == {"accepted": 1, "updated": 0, "duplicates": 0, "unknown": [], "invalid": []}
    listed = _feedback(
        client,
        [{"prediction_id": p, "actual": a} for p, a in zip(ids[1:3], labels[1:3], strict=True)],
    )
    assert (listed["accepted"], listed["unknown"], listed["invalid"]) == (2, [], [])
    wrapped = _feedback(
        client,
        {
            "feedback": [
                {"prediction_id": p, "actual": a} for p, a in zip(ids[3:], labels[3:], strict=True)
            ]
        },
    )
    assert (wrapped["accepted"], wrapped["unknown"], wrapped["invalid"]) == (3, [], [])
    assert [_stored_actual(served, p) for p in ids] == [str(a) for a in labels]


def test_text_boolean_and_float_labels_are_accepted(served: Served, client, cancer) -> None:
    X, _ = cancer
    ids, _ = _predict(client, X, 10, 13, endpoint="labels-api")
    result = _feedback(
        client,
        [
            {"prediction_id": ids[0], "actual": "malignant"},
            {"prediction_id": ids[1], "actual": True},
            {"prediction_id": ids[2], "actual": 0.25},
        ],
        endpoint="labels-api",
    )
    assert result["accepted"] == 3
    assert [_stored_actual(served, p) for p in ids] == ['"malignant"', "true", "0.25"]


def test_a_label_outside_the_classes_does_not_break_the_monitor(client, reader, cancer) -> None:
    X, _ = cancer
    ids, _ = _predict(client, X, 13, 15, endpoint="labels-api")
    items = [
        {"prediction_id": ids[0], "actual": 1},
        {"prediction_id": ids[1], "actual": "malignant"},
    ]
    assert _feedback(client, items, endpoint="labels-api")["accepted"] == 2
    response = reader.get("/api/endpoints/labels-api/monitor")
    assert response.status_code == 200


def test_a_repeat_is_a_duplicate_and_a_different_label_a_correction(
    served: Served, client, cancer
) -> None:
    X, _ = cancer
    a, b = _predict(client, X, 20, 22)[0]
    first = [{"prediction_id": a, "actual": 1}, {"prediction_id": b, "actual": 0}]
    assert _feedback(client, first)["accepted"] == 2
    again = _feedback(client, first)
    assert (again["accepted"], again["updated"], again["duplicates"]) == (0, 0, 2)
    corrected = _feedback(client, {"prediction_id": a, "actual": 0})
    assert (corrected["accepted"], corrected["updated"], corrected["duplicates"]) == (0, 1, 0)
    assert _stored_actual(served, a) == "0"
    assert _feedback(client, {"prediction_id": a, "actual": 0})["duplicates"] == 1


def test_one_id_twice_in_one_request_is_stored_then_corrected(
    served: Served, client, cancer
) -> None:
    X, _ = cancer
    (pid,), _ = _predict(client, X, 25, 26)
    result = _feedback(
        client,
        [
            {"prediction_id": pid, "actual": 1},
            {"prediction_id": pid, "actual": 1},
            {"prediction_id": pid, "actual": 0},
        ],
    )
    assert (result["accepted"], result["duplicates"], result["updated"]) == (1, 1, 1)
    assert _stored_actual(served, pid) == "0"


def test_unknown_ids_come_back_with_their_index(client, cancer) -> None:
    X, _ = cancer
    ids, _ = _predict(client, X, 30, 32)
    result = _feedback(
        client,
        [
            {"prediction_id": ids[0], "actual": 1},
            {"prediction_id": "nope", "actual": 1},
            {"prediction_id": ids[1], "actual": 0},
            {"prediction_id": "'; DROP TABLE predictions; --", "actual": 0},
        ],
    )
    assert result["accepted"] == 2
    assert result["unknown"] == [
        {"index": 1, "prediction_id": "nope", "rule": "no such prediction"},
        {
            "index": 3,
            "prediction_id": "'; DROP TABLE predictions; --",
            "rule": "no such prediction",
        },
    ]
    # the table is still there
    assert _feedback(client, {"prediction_id": ids[0], "actual": 1})["duplicates"] == 1


def test_ids_of_another_endpoint_are_unknown(served: Served, client, cancer) -> None:
    X, _ = cancer
    ids, _ = _predict(client, X, 40, 43, endpoint="other-api")
    items = [{"prediction_id": p, "actual": 1} for p in ids]
    wrong = _feedback(client, items)
    assert wrong["accepted"] == 0
    assert [u["index"] for u in wrong["unknown"]] == [0, 1, 2]
    assert [u["prediction_id"] for u in wrong["unknown"]] == ids
    assert _stored_actual(served, ids[0]) is None
    assert _feedback(client, items, endpoint="other-api")["accepted"] == 3


# -- hostile and malformed items --------------------------------------------------------------


def test_bad_items_are_reported_one_by_one_and_the_good_ones_kept(
    served: Served, client, cancer
) -> None:
    X, _ = cancer
    (good, bad), _ = _predict(client, X, 50, 52)
    items: list[Any] = [
        {"prediction_id": bad, "actual": None},
        {"prediction_id": bad, "actual": {"class": 1}},
        {"prediction_id": bad, "actual": [1, 0]},
        {"prediction_id": bad, "actual": "x" * 1001},
        {"prediction_id": bad, "actual": 2**63},
        {"prediction_id": 123, "actual": 1},
        {"prediction_id": "", "actual": 1},
        {"prediction_id": None, "actual": 1},
        {"prediction_id": ["a"], "actual": 1},
        {"prediction_id": "a" * 65, "actual": 1},
        {"prediction_id": bad, "actual": 1, "weight": 2},
        {"actual": 1},
        {"prediction_id": bad},
        5,
        "text",
        None,
        [],
        {"prediction_id": good, "actual": 1},
    ]
    result = _feedback(client, items)
    assert result["accepted"] == 1
    assert result["unknown"] == []
    not_null = "must not be null"
    not_a_label = "must be a number, text or a boolean"
    an_id = "must be a non-empty string"
    an_item = "must be an object {prediction_id, actual}"
    assert [(p["index"], p["field"], p["rule"]) for p in result["invalid"]] == [
        (0, "actual", not_null),
        (1, "actual", not_a_label),
        (2, "actual", not_a_label),
        (3, "actual", "text longer than 1000 characters"),
        (4, "actual", "integer out of range"),
        (5, "prediction_id", an_id),
        (6, "prediction_id", an_id),
        (7, "prediction_id", an_id),
        (8, "prediction_id", an_id),
        (9, "prediction_id", "longer than 64 characters"),
        (10, "weight", "unknown field (expected prediction_id and actual)"),
        (11, "prediction_id", "required"),
        (12, "actual", "required"),
        (13, "item", an_item),
        (14, "item", an_item),
        (15, "item", an_item),
        (16, "item", an_item),
    ]
    assert _stored_actual(served, bad) is None
    assert _stored_actual(served, good) == "1"


def test_odd_but_legal_ids_are_simply_unknown(client) -> None:
    odd = ["é" * 64, " ", "a" * 64, "../../etc/passwd", "<script>alert(1)</script>"]
    result = _feedback(client, [{"prediction_id": p, "actual": 1} for p in odd])
    assert result["invalid"] == []
    assert [u["prediction_id"] for u in result["unknown"]] == odd


def test_a_nul_in_an_id_is_invalid_on_every_backend(client) -> None:
    """PostgreSQL cannot store NUL in text: refused per item, never a failed batch."""
    result = _feedback(client, [{"prediction_id": "a\u0000b", "actual": 1}])
    assert result["invalid"] == [
        {"index": 0, "field": "prediction_id", "rule": "must not contain NUL characters"}
    ]


@pytest.mark.parametrize(
    "raw",
    [
        b'{"prediction_id": "x", "actual": 1e999}',
        b'{"prediction_id": "x", "actual": NaN}',
        b'{"prediction_id": "x", "actual": Infinity}',
        b'{"prediction_id": "x", "actual": 1',
        b"\xff\xfe",
        b"{'prediction_id': 'x'}",
    ],
)
def test_bodies_that_are_not_json_are_400(client, raw: bytes) -> None:
    response = client.post(FEEDBACK, content=raw, headers={"Content-Type": "application/json"})
    _error(response, 400, "malformed_json", "not valid JSON")


def test_an_empty_body_is_400(client) -> None:
    response = client.post(FEEDBACK, content=b"", headers={"Content-Type": "application/json"})
    _error(response, 400, "bad_request", "empty")


@pytest.mark.parametrize(
    ("body", "rule"),
    [
        ([], "a non-empty list"),
        (None, "a non-empty list"),
        ("text", "a non-empty list"),
        (5, "a non-empty list"),
        ({"feedback": []}, "a non-empty list"),
        ({"feedback": None}, "a non-empty list"),
        ({"feedback": {"prediction_id": "x", "actual": 1}}, "a non-empty list"),
        ({"feedback": [], "prediction_id": "x"}, "not both"),
    ],
)
def test_bodies_that_are_not_feedback_are_422(client, body: Any, rule: str) -> None:
    raw = orjson.dumps(body)  # httpx sends no body at all for json=None
    response = client.post(FEEDBACK, content=raw, headers={"Content-Type": "application/json"})
    _error(response, 422, "invalid", rule)


def test_at_most_ten_thousand_items(client) -> None:
    items = [{"prediction_id": f"missing-{i}", "actual": 1} for i in range(10_001)]
    too_many = client.post(FEEDBACK, json=items)
    _error(too_many, 422, "invalid", "at most 10000 feedback items per request, got 10001")
    result = _feedback(client, {"feedback": items[:10_000]})
    assert result["accepted"] == 0
    assert len(result["unknown"]) == 10_000
    assert result["unknown"][-1] == {
        "index": 9_999,
        "prediction_id": "missing-9999",
        "rule": "no such prediction",
    }


def test_a_body_over_the_limit_is_413(client) -> None:
    big = orjson.dumps({"prediction_id": "x", "actual": "y" * (LIMIT + 10)})
    declared = client.post(FEEDBACK, content=big, headers={"Content-Type": "application/json"})
    _error(declared, 413, "payload_too_large", f"the limit is {LIMIT}")

    def chunks() -> Iterator[bytes]:  # no Content-Length: counted while it streams
        for start in range(0, len(big), 64 * 1024):
            yield big[start : start + 64 * 1024]

    streamed = client.post(FEEDBACK, content=chunks(), headers={"Content-Type": "application/json"})
    _error(streamed, 413, "payload_too_large", f"over the limit of {LIMIT} bytes")


def test_content_types(client, cancer) -> None:
    X, _ = cancer
    (pid,), _ = _predict(client, X, 60, 61)
    body = orjson.dumps({"prediction_id": pid, "actual": 1})
    plain = client.post(FEEDBACK, content=body, headers={"Content-Type": "text/plain"})
    _error(plain, 415, "unsupported_media_type", "application/json", "text/plain")
    form = client.post(FEEDBACK, data={"prediction_id": pid, "actual": "1"})
    _error(form, 415, "unsupported_media_type", "application/x-www-form-urlencoded")
    charset = client.post(
        FEEDBACK, content=body, headers={"Content-Type": "application/json; charset=utf-8"}
    )
    assert charset.status_code == 200, charset.text
    assert charset.json()["accepted"] == 1


def test_an_unknown_endpoint_is_404_before_the_body_is_read(client) -> None:
    url = "/v1/endpoints/nope-api/feedback"
    _error(client.post(url, json={"prediction_id": "x", "actual": 1}), 404, "not_found", "nope-api")
    huge = b"x" * (LIMIT + 1)
    for response in (
        client.post(url, content=b"{not json", headers={"Content-Type": "application/json"}),
        client.post(url, content=b"label", headers={"Content-Type": "text/plain"}),
        client.post(url, content=huge, headers={"Content-Type": "application/json"}),
    ):
        _error(response, 404, "not_found", "nope-api")


@pytest.mark.parametrize("name", ["UPPER", "a" * 300, "..", "%00", "a%2Fb"])
def test_endpoint_names_that_cannot_exist_are_4xx(client, name: str) -> None:
    response = client.post(
        f"/v1/endpoints/{name}/feedback", json={"prediction_id": "x", "actual": 1}
    )
    assert response.status_code in (404, 422), response.text
    assert response.json()["error"]["message"]


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=70),
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(
            st.sampled_from(["prediction_id", "actual", "feedback", "x"]) | st.text(max_size=4),
            inner,
            max_size=4,
        )
    ),
    max_leaves=20,
)


@settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
@given(body=json_values)
def test_random_json_is_never_a_500(served: Served, body: Any) -> None:
    with _client(served, served.predict) as client:
        raw = json.dumps(body).encode()  # orjson refuses integers past 64 bits; the server not
        response = client.post(FEEDBACK, content=raw, headers={"Content-Type": "application/json"})
    assert response.status_code in (200, 422), response.text
    if response.status_code == 200:
        assert set(response.json()) == RESULT_KEYS
    else:
        assert response.json()["error"]["code"] == "invalid"


# -- keys -------------------------------------------------------------------------------------


def test_feedback_needs_a_predict_key_for_that_endpoint(served: Served, client, cancer) -> None:
    X, _ = cancer
    (pid,), _ = _predict(client, X, 70, 71)
    item = {"prediction_id": pid, "actual": 1}
    with _client(served, None) as anonymous:
        _error(anonymous.post(FEEDBACK, json=item), 401, "unauthorized", "API key is required")
    with _client(served, "myk_not-a-key") as forged:
        _error(forged.post(FEEDBACK, json=item), 401, "unauthorized", "not valid")
    with _client(served, served.read) as read_only:
        _error(read_only.post(FEEDBACK, json=item), 403, "forbidden", "'predict'")
    with _client(served, served.predict_other) as elsewhere:
        _error(elsewhere.post(FEEDBACK, json=item), 403, "forbidden", "'cancer-api'")
        (other_id,), _ = _predict(elsewhere, X, 71, 72, endpoint="other-api")
        mine = _feedback(elsewhere, {"prediction_id": other_id, "actual": 0}, "other-api")
        assert mine["accepted"] == 1
    assert _stored_actual(served, pid) is None
    assert _feedback(client, item)["accepted"] == 1


def test_the_monitor_needs_a_read_key_for_that_endpoint(served: Served, client, reader) -> None:
    assert reader.get(MONITOR).status_code == 200
    with _client(served, None) as anonymous:
        _error(anonymous.get(MONITOR), 401, "unauthorized")
    _error(client.get(MONITOR), 403, "forbidden", "'read'")
    with _client(served, served.read_other) as elsewhere:
        _error(elsewhere.get(MONITOR), 403, "forbidden", "'cancer-api'")
        assert elsewhere.get("/api/endpoints/other-api/monitor").status_code == 200


# -- the monitor route -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("since", "rule"),
    [
        ("3x", "expected a whole number and a unit"),
        ("-1h", "expected a whole number and a unit"),
        ("1.5h", "expected a whole number and a unit"),
        ("h", "expected a whole number and a unit"),
        ("", "expected a whole number and a unit"),
        ("0m", "the number must be from 1 to 10000"),
        ("10001h", "the number must be from 1 to 10000"),
        ("9" * 400 + "d", "the number must be from 1 to 10000"),
    ],
)
def test_a_bad_since_is_422_naming_the_rule(reader, since: str, rule: str) -> None:
    _error(reader.get(MONITOR, params={"since": since}), 422, "invalid", "period", rule)


def test_a_superscript_digit_in_since_is_422(reader) -> None:
    _error(reader.get(MONITOR, params={"since": "²h"}), 422, "invalid", "period")


def test_the_monitor_of_an_endpoint_judged_by_chi2(client, reader, cancer) -> None:
    X, _ = cancer
    ids, _ = _predict(client, X, 0, 5, endpoint="chi2-api")
    assert _feedback(client, {"prediction_id": ids[0], "actual": 1}, "chi2-api")["accepted"] == 1
    assert reader.get("/api/endpoints/chi2-api/monitor").status_code == 200


def test_other_bad_monitor_queries(reader) -> None:
    response = reader.get(MONITOR, params={"histograms": "perhaps"})
    assert response.status_code == 422, response.text
    assert [p["field"] for p in response.json()["error"]["problems"]] == ["query.histograms"]
    _error(reader.get("/api/endpoints/nope-api/monitor"), 404, "not_found", "nope-api")


def test_the_monitor_counts_traffic_and_feedback_per_feature(client, reader, cancer) -> None:
    X, y = cancer
    url = "/api/endpoints/watched-api/monitor"
    quiet = reader.get(url, params={"since": "1h", "histograms": "true"})
    assert quiet.status_code == 200, quiet.text
    assert quiet.json()["versions"] == []
    ids, predictions = _predict(client, X, 0, 30, endpoint="watched-api")
    more_ids, more_predictions = _predict(client, X, 30, 50, endpoint="watched-api")
    labels = [int(v) for v in y.iloc[:20]]
    # feedback flushes the recorder first: the rows and sketches are in the store after it
    result = _feedback(
        client,
        [{"prediction_id": p, "actual": a} for p, a in zip(ids[:20], labels, strict=True)],
        endpoint="watched-api",
    )
    assert result["accepted"] == 20

    summary = reader.get(url, params={"since": "1h", "histograms": "true"}).json()
    assert summary["endpoint"] == "watched-api"
    (version,) = summary["versions"]
    assert (version["version"], version["requests"], version["rows"]) == ("cancer@1", 2, 50)
    assert sum(version["classes"].values()) == 50
    assert version["feedback"]["labeled"] == 20
    expected = sum(p == a for p, a in zip(predictions[:20], labels, strict=True)) / 20
    assert version["quality"]["labeled"] == 20
    assert version["quality"]["accuracy"] == pytest.approx(expected)
    charts = version["histograms"]
    assert set(charts) == set(X.columns)
    for name, chart in charts.items():
        assert chart["type"] == "numeric", name
        assert len(chart["current"]) == len(chart["reference"]) == len(chart["edges"]) - 1
        counted = sum(chart["current"]) + chart["below"] + chart["above"] + chart["missing"]
        assert counted == 50, name
        assert sum(chart["reference"]) == len(X), name
    assert {f["feature"] for f in version["drift"]["features"]} == set(X.columns)
    plain = reader.get(url, params={"since": "1h"}).json()
    assert "histograms" not in plain["versions"][0]
    assert len(more_ids) == len(more_predictions) == 20
