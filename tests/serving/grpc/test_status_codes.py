"""Failures answered over gRPC: the status each HTTP answer maps to, and its message."""

import grpc
import orjson
import pytest
from starlette.responses import Response

from modelyard.serving.grpc.status import code_of, details_of


@pytest.mark.parametrize(
    ("status", "code"),
    [
        (400, grpc.StatusCode.INVALID_ARGUMENT),
        (422, grpc.StatusCode.INVALID_ARGUMENT),
        (401, grpc.StatusCode.UNAUTHENTICATED),
        (403, grpc.StatusCode.PERMISSION_DENIED),
        (404, grpc.StatusCode.NOT_FOUND),
        (413, grpc.StatusCode.RESOURCE_EXHAUSTED),
        (429, grpc.StatusCode.RESOURCE_EXHAUSTED),
        (503, grpc.StatusCode.UNAVAILABLE),
        (504, grpc.StatusCode.DEADLINE_EXCEEDED),
        (500, grpc.StatusCode.INTERNAL),
        (418, grpc.StatusCode.INVALID_ARGUMENT),
        (599, grpc.StatusCode.INTERNAL),
    ],
)
def test_each_http_status_has_its_grpc_code(status: int, code: grpc.StatusCode) -> None:
    assert code_of(status) is code


def test_the_details_name_each_problem_row_feature_and_rule() -> None:
    body = {
        "error": "2 problems in the request",
        "problems": [
            {"row": 0, "feature": "plan", "rule": "category never seen in training"},
            {"row": None, "feature": "extra", "rule": "unknown feature"},
        ],
    }
    details = details_of(Response(orjson.dumps(body), status_code=422))
    assert details == (
        "2 problems in the request: row 0, feature 'plan': category never seen in training; "
        "feature 'extra': unknown feature"
    )
