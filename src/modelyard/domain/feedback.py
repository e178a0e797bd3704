"""Ground-truth items as callers send them: checked one by one, so one bad item does not
sink a batch of good ones."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import orjson

from modelyard.errors import InvalidInput

MAX_ITEMS = 10_000
MAX_ID = 64
MAX_ACTUAL_TEXT = 1_000


@dataclass(frozen=True)
class FeedbackItem:
    index: int  # position in the caller's list
    prediction_id: str
    actual: str  # JSON text of the value


def feedback_items(payload: Any) -> tuple[list[FeedbackItem], list[dict[str, Any]]]:
    """``{"prediction_id", "actual"}``, a list of them, or ``{"feedback": [...]}`` →
    (valid items, problems ``{index, field, rule}``)."""
    if isinstance(payload, dict) and "feedback" in payload:
        if set(payload) != {"feedback"}:
            raise InvalidInput("give either 'feedback': [...] or one item, not both")
        payload = payload["feedback"]
    elif isinstance(payload, dict):
        payload = [payload]
    if not isinstance(payload, list) or not payload:
        raise InvalidInput(
            "feedback must be an object {prediction_id, actual}, a non-empty list of them, "
            "or {feedback: [...]}"
        )
    if len(payload) > MAX_ITEMS:
        raise InvalidInput(f"at most {MAX_ITEMS} feedback items per request, got {len(payload)}")
    items: list[FeedbackItem] = []
    problems: list[dict[str, Any]] = []
    for index, raw in enumerate(payload):
        problem = _check(raw)
        if problem is not None:
            field, rule = problem
            problems.append({"index": index, "field": field, "rule": rule})
            continue
        items.append(FeedbackItem(index, raw["prediction_id"], actual_text(raw["actual"])))
    return items, problems


def actual_text(value: Any) -> str:
    return orjson.dumps(value).decode()


def label(value: Any) -> str:
    """Labels compared as text, with 1, 1.0 and "1" the same label (True stays "True")."""
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def same_label(a: str, b: str) -> bool:
    """Whether two stored actuals (JSON text) name the same label."""
    return a == b or label(orjson.loads(a)) == label(orjson.loads(b))


def check_actual(value: Any) -> str | None:
    """Why ``value`` cannot be a label (None when it can): a number, text or boolean."""
    if value is None:
        return "must not be null"
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        if isinstance(value, float) and not math.isfinite(value):
            return "must be a finite number"
        if isinstance(value, int) and abs(value) > 2**63 - 1:
            return "integer out of range"
        return None
    if isinstance(value, str):
        if len(value) > MAX_ACTUAL_TEXT:
            return f"text longer than {MAX_ACTUAL_TEXT} characters"
        return None
    return "must be a number, text or a boolean"


def check_prediction_id(value: Any) -> str | None:
    if not isinstance(value, str) or not value:
        return "must be a non-empty string"
    if len(value) > MAX_ID:
        return f"longer than {MAX_ID} characters"
    if "\x00" in value:
        return "must not contain NUL characters"
    return None


def _check(raw: Any) -> tuple[str, str] | None:
    if not isinstance(raw, dict):
        return "item", "must be an object {prediction_id, actual}"
    unknown = set(raw) - {"prediction_id", "actual"}
    if unknown:
        return sorted(unknown)[0], "unknown field (expected prediction_id and actual)"
    for field, check in (("prediction_id", check_prediction_id), ("actual", check_actual)):
        if field not in raw:
            return field, "required"
        rule = check(raw[field])
        if rule is not None:
            return field, rule
    return None
