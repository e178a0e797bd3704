"""Numbers as the command line and the report print them."""

from __future__ import annotations

import math

import pytest

from modelyard.formatting import DASH, brief, duration, ms, num, pct


@pytest.mark.parametrize(
    ("value", "text"),
    [(None, DASH), (0.123456, "0.123"), (12345.6, "12,346"), (7, "7"), ("a", "a")],
)
def test_brief_is_for_terminal_tables(value: object, text: str) -> None:
    assert brief(value) == text


@pytest.mark.parametrize(
    ("value", "texts"),
    [
        (1234, ("1,234", "123400.0 %", "1.23e+03 ms")),
        (0.25, ("0.25", "25.0 %", "0.25 ms")),
        (math.nan, (DASH, DASH, DASH)),
        (True, (DASH, DASH, DASH)),
        ("3", (DASH, DASH, DASH)),
    ],
)
def test_report_numbers_dash_what_is_not_a_finite_number(
    value: object, texts: tuple[str, str, str]
) -> None:
    assert (num(value), pct(value), ms(value)) == texts


def test_durations_read_in_their_unit() -> None:
    assert [duration(s) for s in (5, 600, 36_000, 864_000, None)] == [
        "5 s",
        "10 min",
        "10.0 h",
        "10.0 days",
        DASH,
    ]


def test_shares_read_the_same_everywhere() -> None:
    """One format for a share, the console's: two decimals below 10 %, one above; the CLI's
    tables and the report use this helper rather than their own."""
    assert [pct(v) for v in (0.013, 0.0, 0.1, 0.6, None)] == [
        "1.30 %",
        "0.00 %",
        "10.0 %",
        "60.0 %",
        DASH,
    ]
    from modelyard.cli import monitor, quality_tables, segments

    for module in (monitor, quality_tables, segments):
        assert module.pct is pct, module.__name__
