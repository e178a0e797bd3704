"""Weighted, sticky route choice: stable across processes, and how weights move keys."""

from __future__ import annotations

import random
import subprocess
import sys

import pytest

from modelyard.domain.endpoints import Endpoint, Route
from modelyard.domain.routing import BUCKETS, bounds_of, bucket_of, choose
from modelyard.errors import InvalidInput


def test_a_key_lands_in_the_same_bucket_in_another_process() -> None:
    """Python's hash() is salted per process; the routing hash must not be."""
    code = "from modelyard.domain.routing import bucket_of; print(bucket_of('user-42'))"
    other = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert int(other.stdout) == bucket_of("user-42")


def test_weights_become_cumulative_bucket_bounds() -> None:
    assert bounds_of([90, 10]) == (9000, BUCKETS)
    assert bounds_of([100]) == (BUCKETS,)
    assert bounds_of([33.3, 33.3, 33.4]) == (3330, 6660, BUCKETS)


def test_the_split_follows_the_weights_and_keys_stick() -> None:
    bounds = bounds_of([90, 10])
    keys = [f"user-{i}" for i in range(20_000)]
    first = [choose(bounds, k) for k in keys]
    assert first == [choose(bounds, k) for k in keys]  # the same version every time
    share = first.count(1) / len(first)
    assert 0.09 <= share <= 0.11, share


def test_moving_ten_points_of_weight_moves_about_ten_percent_of_keys() -> None:
    keys = [f"user-{i}" for i in range(20_000)]
    before = [choose(bounds_of([90, 10]), k) for k in keys]
    after = [choose(bounds_of([80, 20]), k) for k in keys]
    moved = sum(a != b for a, b in zip(before, after, strict=True)) / len(keys)
    assert 0.09 <= moved <= 0.11, moved
    assert all(b == 1 for a, b in zip(before, after, strict=True) if a == 1)  # none go back


def test_requests_without_a_key_spread_by_weight() -> None:
    rng = random.Random(0)
    picks = [choose(bounds_of([75, 25]), None, rng) for _ in range(20_000)]
    assert 0.23 <= picks.count(1) / len(picks) <= 0.27


@pytest.mark.parametrize(
    ("routes", "message"),
    [
        ((Route("a@1", 90), Route("a@2", 20, "canary")), "add up to 100"),
        ((Route("a@1", 50),), "add up to 100"),
        ((Route("a@1", 50), Route("a@1", 50, "canary")), "appears twice"),
    ],
)
def test_routes_that_do_not_make_a_split_are_refused(routes: tuple, message: str) -> None:
    with pytest.raises(InvalidInput, match=message):
        Endpoint("api", routes)


def test_a_shadow_route_does_not_count_towards_the_weights() -> None:
    endpoint = Endpoint("api", (Route("a@1", 100), Route("a@2", 100, "shadow")))
    assert [r.model for r in endpoint.serving_routes] == ["a@1"]


def test_spec_round_trip_keeps_the_sticky_key() -> None:
    endpoint = Endpoint("api", (Route("a@1", 90), Route("a@2", 10, "canary")), sticky_key="user")
    assert Endpoint.from_spec("api", endpoint.spec()).sticky_key == "user"
