"""The offline report's segments table, from a real summary of an endpoint monitored by
segment (the one tests/monitoring/test_segment_summary.py builds)."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest

from modelyard import Yard
from modelyard.domain.monitor_results import MonitorSummary
from modelyard.monitoring.report import render_html
from tests.monitoring.test_segment_summary import _summary

pytestmark = pytest.mark.slow  # registering with a holdout calibrates


@pytest.fixture(scope="module")
def summary(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MonitorSummary]:
    with Yard(tmp_path_factory.mktemp("report-segments") / "home", actor="tester") as yard:
        yield _summary(yard)


def test_the_report_shows_segments_worst_first_as_one_table(summary: MonitorSummary) -> None:
    page = render_html(summary)
    assert "Segments, worst accuracy first" in page
    table = page[page.index('<table class="segments">') :]
    table = table[: table.index("</table>")]
    rows = re.findall(r"<tr><td><code>(.*?)</code></td><td>(.*?)</td>", table)
    (version,) = summary.versions
    assert rows == [(s.feature, s.value if s.bounds is None else rows[i][1])
                    for i, s in enumerate(version.segments)]  # fmt: skip
    worst = version.segments[0]
    assert (worst.feature, worst.value) == ("country", "FR")
    first = table[table.index("<tbody>") : table.index("</tr>", table.index("<tbody>"))]
    assert f"{100 * worst.share:.1f} %" in first  # the share, as a percentage
    assert f"({worst.quality.labeled:,} labelled)" in first
    assert re.search(r"[0-9.]+ \[[0-9.]+–[0-9.]+\]", first)  # the estimate, its interval
    assert any(s.bounds is not None for s in version.segments)  # x1's quartiles, with bounds
    assert "q1 [−∞," in table
