"""Segment settings: a bounded list of features, stored with the endpoint's monitoring."""

from __future__ import annotations

import pytest

from modelyard.domain.monitoring import MonitorSpec
from modelyard.domain.segments import SegmentSpec, check_segment_features, worst
from modelyard.errors import InvalidInput

SIGNATURE = {
    "inputs": [
        {"name": "country", "kind": "category"},
        {"name": "age", "kind": "float"},
        {"name": "note", "kind": "text"},
    ]
}


def test_segments_round_trip_with_the_monitoring_spec() -> None:
    spec = MonitorSpec(segments=SegmentSpec(("country", "age"), top=5))
    assert MonitorSpec.from_spec(spec.spec()) == spec
    assert MonitorSpec.from_spec({}).segments == SegmentSpec()  # endpoints stored before


def test_a_spec_without_segments_does_not_write_the_key() -> None:
    # The release before segments refuses an unknown "segments" key: old replicas of a
    # rolling upgrade must still load endpoints that do not use them.
    written = MonitorSpec().spec()
    assert "segments" not in written
    assert MonitorSpec.from_spec(written) == MonitorSpec()
    assert MonitorSpec(segments=SegmentSpec(("country",))).spec()["segments"] == {
        "features": ["country"],
        "top": 20,
    }


def test_class_is_not_a_segment_feature() -> None:
    with pytest.raises(InvalidInput, match="'class': reserved for per-class metrics"):
        SegmentSpec(("country", "class"))


@pytest.mark.parametrize(
    ("features", "top", "match"),
    [
        (("a", "b", "c", "d", "e"), 20, "at most 4 features"),
        (("a", "a"), 20, "appears twice"),
        (("a[0]",), 20, "without"),
        (("",), 20, "1 to 128 characters"),
        (("a",), 0, "segment_top must be a whole number from 1 to 50"),
        (("a",), 51, "segment_top"),
    ],
)
def test_bad_segment_settings_are_refused(features, top, match) -> None:
    with pytest.raises(InvalidInput, match=match):
        SegmentSpec(features, top)


def test_segmenting_features_must_be_categorical_or_numeric_inputs() -> None:
    check_segment_features(SegmentSpec(("country", "age")), SIGNATURE)
    with pytest.raises(InvalidInput, match="'plan': not an input of the model"):
        check_segment_features(SegmentSpec(("plan",)), SIGNATURE)
    with pytest.raises(InvalidInput, match="'note': a text feature has no bounded segments"):
        check_segment_features(SegmentSpec(("note",)), SIGNATURE)


def test_the_worst_segment_depends_on_which_way_the_metric_is_better() -> None:
    values = {"FR": 0.7, "DE": 0.9, "IT": None}
    assert worst("accuracy", values) == ("FR", 0.7)
    assert worst("drift_share", values) == ("DE", 0.9)
    assert worst("mae", {"IT": None}) is None
