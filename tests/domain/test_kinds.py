"""Kind overrides as a user writes them: names mapped to stored kinds, mistakes named."""

from __future__ import annotations

import pytest

from modelyard.domain.kinds import label, parse_overrides
from modelyard.errors import InvalidInput


def test_user_kind_names_map_to_stored_kinds() -> None:
    given = {"a": "numeric", "b": "Boolean", "c": "closed", "d": "open", "e": "text"}
    assert parse_overrides(given, list("abcde")) == {
        "a": "float",
        "b": "bool",
        "c": "category",
        "d": "open",
        "e": "text",
    }


def test_an_unknown_column_is_named_with_the_columns_there_are() -> None:
    with pytest.raises(InvalidInput, match=r"no column 'colour' in the sample \(columns: color"):
        parse_overrides({"colour": "open"}, ["color", "size"])


def test_an_unknown_kind_lists_the_kinds() -> None:
    with pytest.raises(InvalidInput, match="'color': unknown kind 'tensor'; one of numeric"):
        parse_overrides({"color": "tensor"}, ["color"])


def test_labels_say_closed_and_open() -> None:
    assert (label("category"), label("open"), label("float")) == (
        "category (closed)",
        "category (open)",
        "float",
    )
