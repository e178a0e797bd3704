"""Numbers as people read them, for the command line and the HTML report alike.

Every function takes whatever a value may be (None, an int, a float, NaN or infinity, or
something else in a command's JSON) and gives text; missing or non-finite numbers read as a
dash."""

from __future__ import annotations

import math
from typing import Any

DASH = "—"


def as_number(value: Any) -> float | None:
    """A finite int or float as a float (None: anything else, bools included)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    number = float(value)
    return number if math.isfinite(number) else None


def brief(value: Any, digits: int = 3) -> str:
    """Terminal tables: floats to ``digits`` significant digits (large ones whole, with
    thousands separators), anything else as it prints; None is a dash."""
    if value is None:
        return DASH
    if isinstance(value, float):
        return f"{value:.{digits}g}" if abs(value) < 1e4 else f"{value:,.0f}"
    return str(value)


def num(value: Any) -> str:
    """Counts with thousands separators, other numbers to four significant digits."""
    number = as_number(value)
    if number is None:
        return DASH
    if isinstance(value, int):
        return f"{value:,}"
    return f"{number:.4g}"


def pct(value: Any) -> str:
    """A share (0.013) as a percentage ("1.30 %"): two decimals below 10 %, one above, the
    way the console's ``pct`` writes it, so the CLI, the report and the console agree."""
    number = as_number(value)
    if number is None:
        return DASH
    return f"{100 * number:.{2 if number < 0.1 else 1}f} %"


def ms(value: Any) -> str:
    number = as_number(value)
    return DASH if number is None else f"{number:.3g} ms"


def duration(value: Any) -> str:
    """Seconds in the unit that reads best: s, min, h or days."""
    seconds = as_number(value)
    if seconds is None:
        return DASH
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    if seconds < 172_800:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86_400:.1f} days"


def short(value: float) -> str:
    return f"{value:.4g}"
