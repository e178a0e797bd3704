"""A multi-row request's predictions as one row of the prediction log.

A request of n rows gets the ids ``{base}-0`` … ``{base}-{n-1}`` (serving/inference.py).
One log row per predicted row cost SQLite 2-3.5 µs a row, about 40 % of a server's
throughput under 100-row requests (docs/decisions.md, 2026-12-06), so such a request is
logged as one row: its id is the base, ``rows`` is n, and the per-row texts (prediction,
scores, inputs, segments) are JSON arrays of them. One-row requests, shadows' answers (ids
``…~tag``) and rows logged before keep one row per prediction (``rows`` NULL). Readers
resolve a prediction id either way: the row of that id, or element i of its base's row.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence

import orjson

MAX_INDEX_DIGITS = 9  # a row index longer than this is not one of ours


def split_id(prediction_id: str) -> tuple[str, int] | None:
    """``{base}-{i}`` → (base, i), with i written as ``str(i)`` writes it (no sign, no
    leading zero: ``r1-01`` is not ``r1-1``); anything else → None."""
    base, dash, index = prediction_id.rpartition("-")
    if not (dash and base and index.isascii() and index.isdigit()):
        return None
    if len(index) > MAX_INDEX_DIGITS or (len(index) > 1 and index[0] == "0"):
        return None
    return base, int(index)


def group_base(ids: Sequence[str]) -> str | None:
    """The base of ids that are exactly ``{base}-0`` … ``{base}-{n-1}`` with n > 1, else
    None (the request is then logged row by row)."""
    if len(ids) < 2:
        return None
    first = split_id(ids[0])
    if first is None or first[1] != 0:
        return None
    prefix = first[0] + "-"
    if any(pid != f"{prefix}{i}" for i, pid in enumerate(ids)):
        return None
    return first[0]


def row_ids(base: str, rows: int) -> Iterator[str]:
    """The prediction ids of a request's row."""
    return (f"{base}-{i}" for i in range(rows))


def joined(texts: Sequence[str | None]) -> str | None:
    """Per-row JSON texts as one JSON array (``null`` for a row without one); None when no
    row has one."""
    if all(text is None for text in texts):
        return None
    return "[" + ",".join("null" if text is None else text for text in texts) + "]"


def elements(text: str | None) -> list[object] | None:
    """The values of a grouped column's JSON array (None for a NULL column)."""
    if text is None:
        return None
    # The standard parser, not orjson's: that one reads integers past 64 bits as floats.
    values = json.loads(text)
    return values if isinstance(values, list) else None


def element_text(values: list[object] | None, index: int) -> str | None:
    """Element ``index`` as the JSON text its own row would hold (None for null or none):
    orjson's text of the value, as the log writes each row's."""
    if values is None or index >= len(values) or values[index] is None:
        return None
    value = values[index]
    try:
        return orjson.dumps(value).decode()
    except (TypeError, orjson.JSONEncodeError):
        return json.dumps(value, separators=(",", ":"), ensure_ascii=False)
