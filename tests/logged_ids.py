"""The prediction ids a yard's log holds, read straight from its table: a row of its own
(``rows`` NULL) or a multi-row request's row, which holds ``{id}-0`` … ``{id}-{n-1}``."""

from __future__ import annotations

from sqlalchemy import select

from modelyard import Yard
from modelyard.store.grouped_rows import row_ids
from modelyard.store.schema import PredictionRow


def logged_ids(yard: Yard) -> set[str]:
    rows = yard.stores.db.read(
        lambda s: list(s.execute(select(PredictionRow.id, PredictionRow.rows)))
    )
    single = {pid for pid, n in rows if n is None}
    return single | {i for pid, n in rows if n for i in row_ids(pid, n)}
