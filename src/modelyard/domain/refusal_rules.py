"""The rule that refused a request (4xx), as one of a fixed set of names.

A refused request is counted in its monitor window under the rule that refused it, so
``refused_share[unseen_category]`` can say that a tenth of the traffic sends a category
the model was never fitted on. The names form a closed set (messages such as a tensor's
shape carry values; a label or a key built from them would grow without bound). A request
that breaks several rules counts once, under the first problem the signature check found,
so the shares of every rule add up to the share of refused requests.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

MISSING_FEATURE = "missing_feature"
UNKNOWN_FEATURE = "unknown_feature"
DUPLICATE_FEATURE = "duplicate_feature"
ROW_WIDTH = "row_width"
NULL_NOT_ALLOWED = "null_not_allowed"
WRONG_TYPE = "wrong_type"
NOT_FINITE = "not_finite"
UNSEEN_CATEGORY = "unseen_category"
TENSOR_SHAPE = "tensor_shape"
TENSOR_DTYPE = "tensor_dtype"
MALFORMED_BODY = "malformed_body"  # not JSON, or not the protocol's structure
INVALID_INPUT = "invalid_input"  # another bad value (a routing key, an unknown output)
NOT_FOUND = "not_found"  # e.g. a v2 request naming a version the model does not serve
OTHER = "other"

# Refused keys (401/403) and requests refused by the limits on callers (408, 413, 429) are
# the caller's business, not the endpoint's: never counted in a monitor window.
CALLERS_BUSINESS = frozenset((401, 403, 408, 413, 429))

RULES = (
    MISSING_FEATURE,
    UNKNOWN_FEATURE,
    DUPLICATE_FEATURE,
    ROW_WIDTH,
    NULL_NOT_ALLOWED,
    WRONG_TYPE,
    NOT_FINITE,
    UNSEEN_CATEGORY,
    TENSOR_SHAPE,
    TENSOR_DTYPE,
    MALFORMED_BODY,
    INVALID_INPUT,
    NOT_FOUND,
    OTHER,
)

# The signature's problem texts (domain/signature.py) that are fixed strings.
_EXACT = {
    "missing feature": MISSING_FEATURE,
    "unknown feature": UNKNOWN_FEATURE,
    "duplicate feature": DUPLICATE_FEATURE,
    "row width": ROW_WIDTH,
    "null not allowed": NULL_NOT_ALLOWED,
    "value is not finite": NOT_FINITE,
    "category never seen in training": UNSEEN_CATEGORY,
    "ragged nested lists": TENSOR_SHAPE,
}
# Error codes (errors.py and the transport's HttpError) of refusals without problems.
_CODES = {
    "schema": MALFORMED_BODY,
    "malformed_json": MALFORMED_BODY,
    "bad_request": MALFORMED_BODY,
    "invalid": INVALID_INPUT,
    "not_found": NOT_FOUND,
}


def problem_rule(text: str) -> str:
    """The stable name of one problem's rule text."""
    exact = _EXACT.get(text)
    if exact is not None:
        return exact
    if text.startswith("expected a "):  # "expected a number (float)", "expected a string …"
        return WRONG_TYPE
    if text.startswith("shape "):
        return TENSOR_SHAPE
    if text.startswith("expected "):  # "expected float32 values"
        return TENSOR_DTYPE
    return OTHER


def refusal_rule(code: str, problems: Sequence[Mapping[str, object]] | None = None) -> str:
    """The rule of a refusal with error ``code`` and the signature's ``problems``."""
    if problems:
        return problem_rule(str(problems[0].get("rule", "")))
    return _CODES.get(code, OTHER)


def known_rule(name: str) -> str:
    """``name`` when it is one of :data:`RULES` (stored windows are read as data), else
    ``other``."""
    return name if name in RULES else OTHER
