"""The cost per row and the admission decision, on injected costs (no clock)."""

import pytest

from modelyard.domain.kinds import CLOSED, FLOAT, TENSOR
from modelyard.domain.signature import FeatureSpec, OutputSpec, Signature
from modelyard.runtime.admission import (
    OBJECT_BYTES,
    ROW_WEIGHT,
    QueueMemory,
    RowCost,
    judge,
    retry_after,
    row_bytes,
)


def test_the_cost_starts_from_the_warm_up_and_follows_batches_by_rows() -> None:
    cost = RowCost()
    cost.seed(rows=8, seconds=0.004)
    assert cost.seconds_per_row == pytest.approx(0.0005)
    cost.observe(rows=1, seconds=0.0015)  # one row: moves the average by ROW_WEIGHT
    assert cost.seconds_per_row == pytest.approx(0.0005 + ROW_WEIGHT * 0.001)
    before = cost.seconds_per_row
    cost.observe(rows=100, seconds=0.002)  # 100 rows: by 1 - 0.998 ** 100 ≈ 18 %
    moved = 1 - (1 - ROW_WEIGHT) ** 100
    assert cost.seconds_per_row == pytest.approx(before + moved * (0.00002 - before))
    assert cost.seconds_for(1000) == pytest.approx(1000 * cost.seconds_per_row)


def test_nothing_and_nonsense_leave_the_cost_alone() -> None:
    cost = RowCost(0.001)
    cost.observe(rows=0, seconds=1.0)
    cost.observe(rows=5, seconds=-1.0)
    cost.seed(rows=0, seconds=1.0)
    assert cost.seconds_per_row == 0.001


def test_an_idle_model_or_work_that_fits_is_admitted() -> None:
    assert judge(ahead_rows=0, own_rows=10_000, seconds_per_row=1.0, deadline_seconds=0.1) is None
    assert judge(ahead_rows=90, own_rows=10, seconds_per_row=0.01, deadline_seconds=1.0) is None


def test_work_past_the_deadline_is_refused_with_when_to_come_back() -> None:
    refusal = judge(ahead_rows=300, own_rows=100, seconds_per_row=0.01, deadline_seconds=1.5)
    assert refusal is not None
    assert refusal.expected_seconds == pytest.approx(4.0)
    assert refusal.deadline_seconds == 1.5
    assert refusal.retry_after == 3  # 2.5 s too much: the queue ahead has shrunk by then
    message = refusal.message(300, 0.01, "the endpoint's timeout_ms")
    assert message == (
        "expected wait 4000 ms (300 rows ahead at 10.000 ms per row) exceeds this "
        "request's deadline of 1500 ms (the endpoint's timeout_ms); retry after 3 s"
    )


@pytest.mark.parametrize(("excess", "seconds"), [(0.001, 1), (1.0, 1), (1.2, 2), (59.5, 60)])
def test_retry_after_is_whole_seconds_and_at_least_one(excess: float, seconds: int) -> None:
    assert retry_after(excess) == seconds


def test_queued_bytes_fit_up_to_the_limit() -> None:
    memory = QueueMemory(1000)
    memory.used = 600
    assert memory.fits(400)
    assert not memory.fits(401)


def test_a_row_is_sized_from_the_signature() -> None:
    signature = Signature(
        inputs=(
            FeatureSpec("age", FLOAT, nullable=False),
            FeatureSpec("plan", CLOSED, nullable=False, categories=("a", "b")),
            FeatureSpec("image", TENSOR, nullable=False, dtype="float32", shape=(None, 4, 4)),
        ),
        output=OutputSpec("classification"),
    )
    assert row_bytes(signature) == 8 + OBJECT_BYTES + (8 * 16 + OBJECT_BYTES)
