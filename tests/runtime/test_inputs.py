"""Request decoding: the fast path agrees with the full check, odd input falls back to it."""

import numpy as np
import pytest

from modelyard import SchemaMismatch, Yard
from modelyard.runtime.inputs import Columns, from_columns, from_records


@pytest.fixture
def signature(sqlite_yard: Yard, logreg, cancer):
    sqlite_yard.register(logreg, "churn", sample=cancer[0])
    return sqlite_yard.load("churn@1").signature


def test_records_and_columns_decode_to_the_same_matrix(signature, cancer) -> None:
    X = cancer[0].iloc[:4]
    by_records = from_records(signature, X.to_dict(orient="records"))
    by_columns = from_columns(signature, X.to_dict(orient="list"))
    np.testing.assert_array_equal(by_records.matrix(), X.to_numpy())
    np.testing.assert_array_equal(by_columns.matrix(), X.to_numpy())
    merged = Columns.concat([by_records, by_columns])
    assert merged.rows == 8


@pytest.mark.parametrize("bad", [[1, 2], {"x": 1}, "text", None, [[1.0]]])
def test_nested_or_odd_values_get_a_schema_error_not_a_crash(signature, cancer, bad) -> None:
    record = cancer[0].iloc[0].to_dict()
    record["mean radius"] = bad
    with pytest.raises(SchemaMismatch, match="mean radius"):
        from_records(signature, [record])
    columns = cancer[0].iloc[:1].to_dict(orient="list")
    columns["mean radius"] = [bad]
    with pytest.raises(SchemaMismatch, match="mean radius"):
        from_columns(signature, columns)


def test_empty_and_wrongly_shaped_payloads(signature) -> None:
    with pytest.raises(SchemaMismatch, match="non-empty list"):
        from_records(signature, [])
    with pytest.raises(SchemaMismatch, match="non-empty object"):
        from_columns(signature, [])


def test_rows_taken_by_position_from_a_matrix_or_from_arrays() -> None:
    matrix = Columns(("a", "b"), 3, numbers=np.arange(6.0).reshape(3, 2))
    arrays = Columns(("a", "t"), 3, arrays={"a": np.arange(3.0), "t": np.array(["x", "y", "z"])})
    taken = matrix.take(np.array([2, 0]))
    assert taken.rows == 2
    assert taken.column("b").tolist() == [5.0, 1.0]
    taken = arrays.take(np.array([1]))
    assert taken.rows == 1
    assert taken.column("t").tolist() == ["y"]
