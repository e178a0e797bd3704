"""The refusal rule of an exception a request ended with (for its monitor window)."""

from __future__ import annotations

import pytest

from modelyard.errors import InvalidInput, ModelFailed, SchemaMismatch
from modelyard.serving.errors import HttpError, refusal_rule_of


@pytest.mark.parametrize(
    ("exc", "rule"),
    [
        (SchemaMismatch("x", [{"row": 0, "feature": "age", "rule": "null not allowed"}]),
         "null_not_allowed"),
        (SchemaMismatch("the body must be a JSON object"), "malformed_body"),
        (HttpError(400, "malformed_json", "the body is not valid JSON"), "malformed_body"),
        (InvalidInput("routing key too long"), "invalid_input"),
        (ModelFailed("boom"), "other"),
        (ValueError("unexpected"), "other"),
    ],
)  # fmt: skip
def test_refusal_rule_of(exc: Exception, rule: str) -> None:
    assert refusal_rule_of(exc) == rule
