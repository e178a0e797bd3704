import orjson
from starlette.responses import Response

from modelyard.serving.answers import Answer, version_of


def test_an_answer_carries_the_headers_a_starlette_response_would() -> None:
    body = orjson.dumps({"predictions": [1], "model": "churn", "version": 3})
    answer = Answer(body, "churn@3")
    made = Response(body, media_type="application/json", headers={"X-Modelyard-Version": "churn@3"})
    assert answer.raw_headers == made.raw_headers
    assert (answer.status_code, answer.body) == (made.status_code, made.body)
    assert answer.headers["content-length"] == str(len(body))


def test_a_binary_answer_carries_the_headers_a_starlette_response_would() -> None:
    body = b'{"outputs": []}' + bytes(16)
    extra = ((b"inference-header-content-length", b"15"),)
    answer = Answer(body, "churn@3", "application/octet-stream", extra)
    made = Response(
        body,
        media_type="application/octet-stream",
        headers={"X-Modelyard-Version": "churn@3", "Inference-Header-Content-Length": "15"},
    )
    assert sorted(answer.raw_headers) == sorted(made.raw_headers)
    assert answer.headers["content-type"] == "application/octet-stream"


def test_the_answering_version_is_read_from_either_kind_of_response() -> None:
    assert version_of(Answer(b"{}", "churn@3")) == "churn@3"
    assert version_of(Response(b"", headers={"X-Modelyard-Version": "churn@4"})) == "churn@4"
    assert version_of(Response(b"")) == ""
