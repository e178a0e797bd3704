"""Fuzzing the inference routes of a real server: a caller's mistake is never a 500."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tests.integration.serving_fixtures import Server, running_server

from modelyard import Yard

pytestmark = pytest.mark.slow

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=20,
)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, logreg, cancer) -> Iterator[Server]:
    home: Path = tmp_path_factory.mktemp("fuzz")
    with Yard(home) as yard:
        yard.register(logreg, "churn", sample=cancer[0])
        yard.create_endpoint("churn-api", "churn@1")
    with running_server(home, "--dev") as running:
        yield running


@pytest.fixture(scope="module")
def feature_names(cancer) -> list[str]:
    return list(cancer[0].columns)


def _check(response: httpx.Response) -> None:
    assert response.status_code < 500, response.text
    if response.status_code >= 400:
        assert response.json()["error"]


@settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
@given(body=json_values)
def test_v1_random_json(server: Server, body: object) -> None:
    with server.client() as client:
        _check(client.post("/v1/endpoints/churn-api/predict", json=body))
        _check(client.post("/v1/endpoints/churn-api/predict", json={"instances": body}))
        _check(client.post("/v1/endpoints/churn-api/predict", json={"inputs": body}))


@settings(max_examples=100, deadline=None, suppress_health_check=list(HealthCheck))
@given(values=st.lists(json_values, min_size=30, max_size=30), rows=st.integers(0, 3))
def test_v1_rows_with_random_values(
    server: Server, feature_names: list[str], values: list[object], rows: int
) -> None:
    record = dict(zip(feature_names, values, strict=True))
    with server.client() as client:
        _check(client.post("/v1/endpoints/churn-api/predict", json={"instances": [record] * rows}))


@settings(max_examples=100, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    tensor=st.fixed_dictionaries(
        {},
        optional={
            "name": json_values,
            "shape": json_values | st.lists(st.integers(-2, 40), max_size=3),
            "datatype": st.sampled_from(["FP64", "BYTES", "INT64", "BOOL", "NOPE"]) | json_values,
            "data": json_values,
        },
    )
)
def test_v2_random_tensors(server: Server, tensor: dict[str, object]) -> None:
    with server.client() as client:
        response = client.post("/v2/models/churn-api/infer", json={"inputs": [tensor]})
        assert response.status_code < 500, response.text
