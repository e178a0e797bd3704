"""Which found files hold data: every part below the folder or the glob's fixed prefix."""

from __future__ import annotations

from modelyard.data_files import is_data, search_root


def test_search_root_is_the_fixed_prefix() -> None:
    assert search_root("bucket/rows/*/*.parquet") == "bucket/rows"
    assert search_root("/data/_in/day=[12]/p.parquet") == "/data/_in"
    assert search_root("*.parquet") == ""


def test_any_hidden_part_below_the_root_makes_a_file_not_data() -> None:
    assert is_data("bucket/rows/day=1/p.parquet", "bucket/rows")
    assert is_data("/data/_in/p.parquet", "/data/_in")  # the root may start with "_"
    assert is_data("p.parquet", "")
    assert is_data("bucket/rows/p.parquet", "bucket/rows/p.parquet")  # a file named
    for hidden in (
        "bucket/rows/_SUCCESS",
        "bucket/rows/.p.parquet.crc",
        "bucket/rows/_temporary/0/part-0.parquet",
        "bucket/rows/.spark-staging-1/day=1/part-0.parquet",
        "bucket/rows/day=1/.hidden/p.parquet",
    ):
        assert not is_data(hidden, "bucket/rows"), hidden
    assert not is_data("_temporary/p.parquet", "")
