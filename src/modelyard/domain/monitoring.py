"""How an endpoint is watched: raw-input sampling and the drift tests' settings."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from datetime import timedelta
from typing import Any

from modelyard.domain.segments import SegmentSpec
from modelyard.errors import InvalidInput

NUMERIC_TESTS = ("wasserstein", "psi", "ks", "jensenshannon")
CATEGORICAL_TESTS = ("jensenshannon", "psi", "chi2")
# What every surface says of a version registered without a sample (no reference profile).
NO_REFERENCE = "no reference sample: drift cannot be computed"


def checks_off(ref: str) -> str:
    """What a version without a reference profile records (``ModelVersion.checks_off``)
    and what registering one says: which checks are off, why, and the way back."""
    return (
        "no reference sample: drift and the promotion gate's data checks are off (registered "
        f"without a sample); add one with `modelyard profile set {ref} --sample FILE` "
        "(Python: yard.set_profile)"
    )


# Effect-size thresholds used on large samples (Evidently's defaults where it has one).
DEFAULT_THRESHOLDS = {"wasserstein": 0.1, "psi": 0.2, "ks": 0.1, "jensenshannon": 0.1}
# Monitor windows younger than this keep their fine buckets; older ones fold into hours.
KEEP_FINE = timedelta(days=1)


@dataclass(frozen=True)
class DriftConfig:
    """Which test decides a feature's verdict, and when a sample is too small to judge.

    Large samples (more than ``large_rows`` current rows, and at least ten per bin or
    category) are judged by an effect size
    (``numeric_test`` / ``categorical_test`` against ``thresholds``): with a million rows,
    p-values flag shifts nobody would act on. Smaller samples are judged by p-value tests
    (KS for numeric, chi-squared for categorical, ``p < p_value``). Below ``min_rows`` there
    is no verdict at all.
    """

    numeric_test: str = "wasserstein"
    categorical_test: str = "jensenshannon"
    thresholds: Mapping[str, float] = field(default_factory=lambda: dict(DEFAULT_THRESHOLDS))
    p_value: float = 0.05
    large_rows: int = 1000
    min_rows: int = 100
    drift_share: float = 0.5

    def __post_init__(self) -> None:
        if self.numeric_test not in NUMERIC_TESTS:
            raise InvalidInput(
                f"numeric_test {self.numeric_test!r}: must be one of {', '.join(NUMERIC_TESTS)}"
            )
        if self.categorical_test not in CATEGORICAL_TESTS:
            raise InvalidInput(
                f"categorical_test {self.categorical_test!r}: must be one of "
                f"{', '.join(CATEGORICAL_TESTS)}"
            )
        if not isinstance(self.thresholds, Mapping):
            raise InvalidInput("thresholds must be an object: test name → threshold")
        merged = dict(DEFAULT_THRESHOLDS)
        for test, value in self.thresholds.items():
            if test not in DEFAULT_THRESHOLDS:
                raise InvalidInput(
                    f"threshold for {test!r}: unknown test, use {', '.join(DEFAULT_THRESHOLDS)}"
                )
            _fraction(f"threshold for {test}", value, upper=10.0, positive=True)
            merged[test] = float(value)
        object.__setattr__(self, "thresholds", merged)
        _fraction("p_value", self.p_value, positive=True)
        _fraction("drift_share", self.drift_share, positive=True)
        _whole("large_rows", self.large_rows)
        _whole("min_rows", self.min_rows)

    def threshold(self, test: str) -> float:
        return float(self.thresholds[test])


@dataclass(frozen=True)
class MonitorSpec:
    """Per-endpoint monitoring: ``log_inputs`` is the share of rows whose raw inputs are
    stored with the prediction (0 by default: privacy first; sketches see every row);
    ``segments``: the input features the monitor is split by (domain/segments.py)."""

    log_inputs: float = 0.0
    drift: DriftConfig = field(default_factory=DriftConfig)
    segments: SegmentSpec = field(default_factory=SegmentSpec)

    def __post_init__(self) -> None:
        _fraction("log_inputs", self.log_inputs)

    def spec(self) -> dict[str, Any]:
        data = asdict(self)
        # Written only when set: the release before segments refuses the key, and old
        # replicas of a rolling upgrade must still load every endpoint without them.
        if self.segments:
            data["segments"] = self.segments.spec()
        else:
            del data["segments"]
        return data

    @classmethod
    def from_spec(cls, spec: Mapping[str, Any]) -> MonitorSpec:
        if not isinstance(spec, Mapping):
            raise InvalidInput("monitoring must be an object")
        unknown = set(spec) - {"log_inputs", "drift", "segments"}
        if unknown:
            raise InvalidInput(f"monitoring: unknown setting(s) {', '.join(sorted(unknown))}")
        drift = spec.get("drift", {})
        if not isinstance(drift, Mapping):
            raise InvalidInput("monitoring.drift must be an object")
        known = set(DriftConfig.__dataclass_fields__)
        if set(drift) - known:
            raise InvalidInput(
                f"monitoring.drift: unknown setting(s) {', '.join(sorted(set(drift) - known))}"
            )
        return cls(
            log_inputs=spec.get("log_inputs", 0.0),
            drift=DriftConfig(**drift),
            segments=SegmentSpec.from_spec(spec.get("segments", {})),
        )


def parse_period(text: str) -> timedelta:
    """``90s``, ``15m``, ``1h``, ``30d``, ``2w`` → a duration (a positive whole number)."""
    units = {"s": 1, "m": 60, "h": 3600, "d": 86_400, "w": 604_800}
    value = text.strip().lower()
    digits = value[:-1]
    if len(value) < 2 or value[-1] not in units or not (digits.isascii() and digits.isdigit()):
        raise InvalidInput(
            f"period {text!r}: expected a whole number and a unit s, m, h, d or w (e.g. 30d)"
        )
    amount = int(digits)
    if amount <= 0 or amount > 10_000:
        raise InvalidInput(f"period {text!r}: the number must be from 1 to 10000")
    return timedelta(seconds=amount * units[value[-1]])


def _fraction(what: str, value: object, upper: float = 1.0, positive: bool = False) -> None:
    """0 … upper (or above 0 when ``positive``: a zero threshold would flag everything)."""
    if (
        isinstance(value, bool)
        or not isinstance(value, int | float)
        or not 0 <= value <= upper
        or (positive and value == 0)
    ):
        bounds = f"above 0 and at most {upper:g}" if positive else f"from 0 to {upper:g}"
        raise InvalidInput(f"{what} must be a number {bounds}, got {value!r}")


def _whole(what: str, value: object) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 10**9:
        raise InvalidInput(f"{what} must be a whole number from 0 to 1000000000, got {value!r}")
