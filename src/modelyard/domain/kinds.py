"""Feature kinds: what a column holds, and so how strictly a request's values are checked.

A string column is a *closed* category only where the model itself refuses values it was
not fitted on; an *open* category or *text* is checked for its type only and monitored
instead (unseen-category share, text length and missing share). Signatures stored before
these kinds existed keep loading: ``category`` was, and stays, the closed kind, and the
old ``string`` (more than 1,000 distinct values) is kept as it behaved.
"""

from __future__ import annotations

from collections.abc import Mapping

from modelyard.errors import InvalidInput

FLOAT, INT, BOOL = "float", "int", "bool"
CLOSED = "category"  # the model refuses other values (the name old signatures used)
OPEN = "open"  # a category the model accepts unseen values of
TEXT = "text"  # free text: many distinct or long values
LEGACY_STRING = "string"  # old signatures only: a string checked for nulls, nothing else
TENSOR = "tensor"  # an N-d array per row, with a dtype and a shape (ONNX graphs)

NUMERIC_KINDS = frozenset({FLOAT, INT, BOOL})
STRING_KINDS = frozenset({CLOSED, OPEN, TEXT, LEGACY_STRING})
FEATURE_KINDS = (FLOAT, INT, BOOL, CLOSED, OPEN, TEXT, LEGACY_STRING, TENSOR)

# What ``features=`` / ``--feature NAME=KIND`` accept, and the kind each name means.
KIND_NAMES: Mapping[str, str] = {
    "numeric": FLOAT,
    "float": FLOAT,
    "int": INT,
    "bool": BOOL,
    "boolean": BOOL,
    "closed": CLOSED,
    "category": CLOSED,
    "open": OPEN,
    "text": TEXT,
}

LABELS: Mapping[str, str] = {
    CLOSED: "category (closed)",
    OPEN: "category (open)",
    LEGACY_STRING: "string (legacy)",
}


def label(kind: str) -> str:
    """How a kind reads in tables: ``category (closed)`` rather than the stored ``category``."""
    return LABELS.get(kind, kind)


def parse_overrides(features: Mapping[str, str] | None, names: list[str]) -> dict[str, str]:
    """``{"review": "text"}`` → ``{"review": "text"}`` in stored kind names; an unknown
    column or kind is refused with the column and what would do."""
    if not features:
        return {}
    if not isinstance(features, Mapping):
        raise InvalidInput("features must map a column name to a kind, e.g. {'review': 'text'}")
    out: dict[str, str] = {}
    for name, wanted in features.items():
        if name not in names:
            shown = ", ".join(names[:10]) + ("…" if len(names) > 10 else "")
            raise InvalidInput(f"features: no column {name!r} in the sample (columns: {shown})")
        kind = KIND_NAMES.get(str(wanted).strip().lower())
        if kind is None:
            raise InvalidInput(
                f"features: {name!r}: unknown kind {wanted!r}; one of {', '.join(KIND_NAMES)}"
            )
        out[name] = kind
    return out
