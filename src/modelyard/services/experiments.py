"""A/B tests: start (split by a sticky key), report (statistics), stop."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import orjson

from modelyard.domain.abtests import ABTest
from modelyard.domain.names import parse_ref
from modelyard.errors import Conflict, InvalidInput
from modelyard.store.abtests import ABTestStore
from modelyard.store.endpoints import EndpointStore
from modelyard.store.predictions import PredictionLog
from modelyard.store.registry import RegistryStore
from modelyard.store.schema import utcnow

MAX_ROWS = 1_000_000  # outcomes read per report (the newest)


class Experiments:
    """A/B tests between two versions on one endpoint, and their statistics."""

    def __init__(
        self,
        endpoints: EndpointStore,
        abtests: ABTestStore,
        predictions: PredictionLog,
        registry: RegistryStore,
        actor: str,
    ) -> None:
        self.endpoints, self.abtests, self.predictions = endpoints, abtests, predictions
        self.registry, self.actor = registry, actor

    def start_abtest(
        self,
        endpoint: str,
        a: str,
        b: str,
        *,
        split: float = 50.0,
        metric: str = "accuracy",
        sticky_key: str | None = None,
        reason: str = "",
    ) -> ABTest:
        """Send ``split`` % of ``endpoint``'s callers to ``b`` and the rest to ``a``; with a
        sticky key each caller stays in one arm for the whole test."""
        from modelyard.control.ab_metrics import get_metric  # numpy, only when used

        get_metric(metric)
        current = self.endpoints.get(endpoint)
        first, second = self.registry.resolve(a), self.registry.resolve(b)
        test = ABTest(
            endpoint=endpoint,
            a=first.ref,
            b=second.ref,
            a_route=a,
            split=split,
            metric=metric,
            sticky_key=sticky_key,
            original_routes=current.routes,
            original_sticky_key=current.sticky_key,
        )
        return self.abtests.start(test, self.actor, reason)

    def abtest_report(self, endpoint: str, *, alpha: float = 0.05) -> dict[str, Any]:
        """The running (or last) test's arms compared: sizes, metric with confidence
        intervals, the test used and its p-value, warnings. Stopped tests keep theirs."""
        if isinstance(alpha, bool) or not isinstance(alpha, int | float) or not 0 < alpha < 1:
            raise InvalidInput(f"alpha must be a number between 0 and 1, got {alpha!r}")
        self.endpoints.get(endpoint)
        test = self.abtests.latest(endpoint)
        if test.state == "stopped" and test.result is not None:
            return dict(test.result)
        return self._report(test, alpha)

    def stop_abtest(
        self, endpoint: str, *, promote: bool = False, alias: str | None = None, reason: str = ""
    ) -> dict[str, Any]:
        """Restore the routes; with ``promote``, a significant winner B takes arm A's alias."""
        self.endpoints.get(endpoint)
        test = self.abtests.latest(endpoint)
        if test.state != "running":
            raise Conflict(f"A/B test {test.id} on {endpoint!r} is already stopped")
        report = self._report(test, 0.05)
        moved: dict[str, Any] | None = None
        move = None
        if promote:
            name, _, route_alias = parse_ref(test.a_route)
            target = alias or route_alias
            if target is None:
                raise InvalidInput(
                    f"arm A is {test.a_route}, not an alias: give --alias to promote to"
                )
            if report.get("winner") == "b":
                _, b_version, _ = parse_ref(test.b)
                _, a_version, _ = parse_ref(test.a)
                assert b_version is not None
                why = f"A/B test {test.id}: B won on {test.metric}"
                move = (name, target, b_version, why, a_version if route_alias == target else None)
                moved = {"alias": f"{name}@{target}", "to": b_version}
        report["promoted"] = moved
        stopped = self.abtests.stop(test, report, self.actor, reason, alias=move)
        report["state"] = stopped.state
        report["stopped_at"] = stopped.stopped_at.isoformat() if stopped.stopped_at else None
        return report

    def _report(self, test: ABTest, alpha: float) -> dict[str, Any]:
        from modelyard.control.ab_metrics import get_metric, outcomes
        from modelyard.control.experiment import compare_arms  # scipy, only when used

        assert test.started_at is not None
        until = (test.stopped_at or utcnow()) + timedelta(seconds=1)
        spec = get_metric(test.metric)
        arms: dict[str, tuple[list[Any], list[Any]]] = {test.a: ([], []), test.b: ([], [])}
        if spec.needs_labels:
            for row in self.predictions.labeled(test.endpoint, test.started_at, until, MAX_ROWS):
                if row.version in arms:
                    arms[row.version][0].append(orjson.loads(row.prediction))
                    arms[row.version][1].append(orjson.loads(row.actual))
        else:
            rows = self.abtests.predictions(
                test.endpoint, (test.a, test.b), test.started_at, until, MAX_ROWS
            )
            for version, prediction in rows:
                arms[version][0].append(orjson.loads(prediction))
        a_predictions, a_actuals = arms[test.a]
        b_predictions, b_actuals = arms[test.b]
        comparison = compare_arms(
            outcomes(test.metric, a_predictions, a_actuals if spec.needs_labels else None),
            outcomes(test.metric, b_predictions, b_actuals if spec.needs_labels else None),
            test.metric,
            alpha=alpha,
        )
        stats = comparison.to_json()
        summaries = {
            "a": {"version": test.a, **stats.pop("a")},
            "b": {"version": test.b, **stats.pop("b")},
        }
        return {
            "abtest": test.id,
            "endpoint": test.endpoint,
            "state": test.state,
            "split": test.split,
            "sticky_key": test.sticky_key,
            "started_at": test.started_at.isoformat(),
            "stopped_at": test.stopped_at.isoformat() if test.stopped_at else None,
            "arms": summaries,
            **stats,
        }
