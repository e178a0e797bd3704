"""The rule a refused request is counted under, from the signature's own problems."""

from __future__ import annotations

import pandas as pd
import pytest

from modelyard.domain import refusal_rules as rules
from modelyard.domain.signature import infer_signature
from modelyard.errors import SchemaMismatch

SAMPLE = pd.DataFrame({"age": [30.0, 40.0], "plan": ["basic", "pro"]})
SIGNATURE = infer_signature(
    SAMPLE,
    input_format="records",
    output_kind="classification",
    classes=[0, 1],
    has_proba=True,
    kinds={"plan": "category"},
)


@pytest.mark.parametrize(
    ("frame", "rule"),
    [
        (pd.DataFrame({"age": [1.0]}), rules.MISSING_FEATURE),
        (pd.DataFrame({"age": [1.0], "plan": ["pro"], "x": [1]}), rules.UNKNOWN_FEATURE),
        (pd.DataFrame({"age": [None], "plan": ["pro"]}), rules.NULL_NOT_ALLOWED),
        (pd.DataFrame({"age": ["old"], "plan": ["pro"]}), rules.WRONG_TYPE),
        (pd.DataFrame({"age": [float("inf")], "plan": ["pro"]}), rules.NOT_FINITE),
        (pd.DataFrame({"age": [1.0], "plan": ["gold"]}), rules.UNSEEN_CATEGORY),
    ],
)
def test_each_signature_problem_has_its_rule(frame: pd.DataFrame, rule: str) -> None:
    with pytest.raises(SchemaMismatch, match="feature") as caught:
        SIGNATURE.check(frame)
    assert rules.refusal_rule(caught.value.code, caught.value.problems) == rule


def test_refusals_without_problems_are_named_by_their_code() -> None:
    assert rules.refusal_rule("malformed_json") == rules.MALFORMED_BODY
    assert rules.refusal_rule("schema", []) == rules.MALFORMED_BODY
    assert rules.refusal_rule("whatever") == rules.OTHER
    assert rules.problem_rule("shape [N, 2], the model takes [N, 3]") == rules.TENSOR_SHAPE
    assert rules.known_rule("made up") == rules.OTHER
