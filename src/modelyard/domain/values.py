"""Checks for the values callers hand in: numbers, versions, free text, mappings.

numpy's scalars count as numbers through the ``numbers`` ABCs they register with, so
this module (imported by every command) does not import numpy.

One place, so the Python API, the CLI and (later) HTTP refuse the same things with the
same words, and nothing reaches a database that one backend would accept and the other not.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Mapping
from typing import Any

from modelyard.errors import InvalidInput

MAX_VERSION = 2**31 - 1
MAX_STEP = 2**63 - 1
MAX_KEY = 250


def check_version(value: object, what: str = "version") -> int:
    """A version number: an int from 1 to 2**31-1 (not a bool, not a string)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise InvalidInput(f"{what} must be a whole number, got {value!r}")
    number = int(value)
    if not 1 <= number <= MAX_VERSION:
        raise InvalidInput(f"{what} must be between 1 and {MAX_VERSION}, got {number}")
    return number


def check_metric(key: object, value: object) -> tuple[str, float]:
    name = check_key(key, "metric")
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise InvalidInput(f"metric {name!r} must be a number, got {value!r}")
    number = float(value)
    if not math.isfinite(number):
        raise InvalidInput(f"metric {name!r} is {number}; metrics must be finite")
    return name, number


def check_metrics(values: object) -> dict[str, float]:
    return dict(check_metric(k, v) for k, v in check_mapping(values, "metrics").items())


def check_key(key: object, what: str) -> str:
    if (
        not isinstance(key, str)
        or not key
        or len(key) > MAX_KEY
        or any(c in key for c in "\n\r\t\0")
    ):
        raise InvalidInput(f"invalid {what} name {key!r}: 1–{MAX_KEY} printable characters")
    return key


def check_text(value: object, what: str, max_length: int) -> str:
    if not isinstance(value, str):
        raise InvalidInput(f"{what} must be text, got {type(value).__name__}")
    if len(value) > max_length:
        raise InvalidInput(f"{what} is {len(value)} characters; at most {max_length}")
    if "\0" in value:
        raise InvalidInput(f"{what} contains a NUL character")
    return value


def check_mapping(value: object, what: str) -> Mapping[Any, Any]:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise InvalidInput(
            f"{what} must be a mapping of names to values, got {type(value).__name__}"
        )
    return value
