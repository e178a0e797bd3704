"""An endpoint's row cap per request: none unless set (admission is by time, and the body
and the queued bytes are bounded on their own)."""

import pytest

from modelyard.domain.endpoints import Endpoint, Limits, Route
from modelyard.errors import InvalidInput


def test_no_row_cap_unless_set_and_the_queue_size_does_not_bound_it() -> None:
    assert Limits().max_request_rows is None
    assert Limits(queue_rows=64, max_request_rows=10_000).max_request_rows == 10_000


@pytest.mark.parametrize("rows", [0, 10_000_001, 2.5, True, "10"])
def test_a_row_cap_outside_1_to_ten_million_is_refused(rows: object) -> None:
    with pytest.raises(InvalidInput, match=r"max_request_rows must be"):
        Limits(queue_rows=64, max_request_rows=rows)  # type: ignore[arg-type]


def test_the_stored_spec_round_trips_and_older_specs_load() -> None:
    endpoint = Endpoint("churn-api", (Route("churn@1"),), Limits(max_request_rows=100))
    assert Endpoint.from_spec("churn-api", endpoint.spec()).limits == endpoint.limits
    old = endpoint.spec()
    del old["limits"]["max_request_rows"]
    assert Endpoint.from_spec("churn-api", old).limits == Limits()
