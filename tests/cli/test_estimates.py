"""``monitor status``'s table of estimates: a classifier's (CBPE) and a regressor's (DLE)
estimates each get the metrics they have, the realized value beside each."""

from __future__ import annotations

from dataclasses import dataclass
from typing import cast

import pytest

from modelyard.cli.estimates import estimate_table
from modelyard.cli.output import whole_lines_when_piped
from modelyard.domain.estimates import Estimate, EstimatedMetric
from modelyard.domain.monitor_results import VersionMonitor


@dataclass(frozen=True)
class _Version:  # the two fields the table reads
    version: str
    estimate: Estimate | None


def _estimate(method: str, names: tuple[str, ...], realized: float | None) -> Estimate:
    metric = EstimatedMetric(value=1.25, low=1.0, high=1.5, reference=0.75, realized=realized)
    return Estimate(method=method, rows=600, calibrated=False, metrics=dict.fromkeys(names, metric))


def test_a_regressor_and_a_classifier_each_get_their_metrics(
    capsys: pytest.CaptureFixture[str],
) -> None:
    versions = [
        _Version("price@1", _estimate("dle", ("mae", "rmse"), 1.5)),
        _Version(
            "risk@1", _estimate("cbpe", ("accuracy", "precision", "recall", "f1", "roc_auc"), None)
        ),
        _Version("plain@1", None),
    ]
    whole_lines_when_piped()  # as `monitor status` does: captured, not a terminal
    estimate_table("mixed-api", "1h", cast(list[VersionMonitor], versions))
    out = capsys.readouterr().out
    assert "estimated without labels (DLE)" in out
    assert "mae est. [95 %] / holdout / realized" in out
    assert "1.25 [1–1.5] / 0.75 / 1.5" in out
    assert "estimated without labels (CBPE)" in out
    assert "accuracy est. [95 %] / holdout / realized" in out
    assert "plain@1" not in out


def test_nothing_without_an_estimate(capsys: pytest.CaptureFixture[str]) -> None:
    estimate_table("plain-api", "1h", cast(list[VersionMonitor], [_Version("plain@1", None)]))
    assert capsys.readouterr().out == ""
