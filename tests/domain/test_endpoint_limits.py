"""An endpoint's row cap per request: the queue's size unless set, never above it."""

import pytest

from modelyard.domain.endpoints import Endpoint, Limits, Route
from modelyard.errors import InvalidInput


def test_the_row_cap_follows_the_queue_unless_set() -> None:
    assert Limits().request_rows == 1024
    assert Limits(queue_rows=64).request_rows == 64
    assert Limits(queue_rows=64, max_request_rows=10).request_rows == 10


@pytest.mark.parametrize("rows", [0, 65, 2.5, True, "10"])
def test_a_row_cap_outside_1_to_queue_rows_is_refused(rows: object) -> None:
    with pytest.raises(InvalidInput, match=r"max_request_rows \(at most queue_rows\) must be"):
        Limits(queue_rows=64, max_request_rows=rows)  # type: ignore[arg-type]


def test_the_stored_spec_round_trips_and_older_specs_load() -> None:
    endpoint = Endpoint("churn-api", (Route("churn@1"),), Limits(max_request_rows=100))
    assert Endpoint.from_spec("churn-api", endpoint.spec()).limits == endpoint.limits
    old = endpoint.spec()
    del old["limits"]["max_request_rows"]
    assert Endpoint.from_spec("churn-api", old).limits == Limits()
