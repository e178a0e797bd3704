"""Names, aliases and model references: the only strings that ever reach a path or a query."""

from __future__ import annotations

import pytest

from modelyard.domain.names import check_alias, check_name, parse_ref
from modelyard.errors import InvalidInput


@pytest.mark.parametrize("name", ["churn", "a", "0", "churn-v2", "churn_model.x", "a" * 64])
def test_valid_names_are_returned_unchanged(name: str) -> None:
    assert check_name(name) == name


@pytest.mark.parametrize(
    "name",
    [
        "Churn",
        "../x",
        "",
        "a" * 65,
        "a/b",
        "churn model",
        " churn",
        "-churn",
        ".hidden",
        "é",
        "churn\n",
    ],
)
def test_names_outside_the_rule_are_refused(name: str) -> None:
    with pytest.raises(InvalidInput, match=r"invalid name .*must match"):
        check_name(name)


@pytest.mark.parametrize("value", [None, 3, b"churn", ["churn"]])
def test_non_strings_are_refused_as_names(value: object) -> None:
    with pytest.raises(InvalidInput, match="invalid model name"):
        check_name(value, "model name")  # type: ignore[arg-type]


def test_the_error_names_what_was_checked() -> None:
    with pytest.raises(InvalidInput, match=r"invalid dataset name 'Bad'"):
        check_name("Bad", "dataset name")


@pytest.mark.parametrize("alias", ["production", "staging", "p", "canary-2", "v1.shadow"])
def test_valid_aliases(alias: str) -> None:
    assert check_alias(alias) == alias


@pytest.mark.parametrize(
    "alias", ["3", "0", "12", "1e3", "2x", "", "Prod", "a" * 65, "a/b", "prod\n", 7]
)
def test_aliases_must_start_with_a_letter(alias: object) -> None:
    with pytest.raises(InvalidInput, match="invalid alias"):
        check_alias(alias)  # type: ignore[arg-type]


def test_parse_ref_of_a_bare_name() -> None:
    assert parse_ref("churn") == ("churn", None, None)


def test_parse_ref_of_a_version_number() -> None:
    assert parse_ref("churn@3") == ("churn", 3, None)
    assert parse_ref("churn@007") == ("churn", 7, None)


def test_parse_ref_of_an_alias() -> None:
    assert parse_ref("churn@production") == ("churn", None, "production")


def test_parse_ref_refuses_version_zero() -> None:
    with pytest.raises(InvalidInput, match="must be between 1 and 2147483647, got 0"):
        parse_ref("churn@0")


@pytest.mark.parametrize(
    ("ref", "pattern"),
    [
        ("Churn@1", "invalid model name"),
        ("../x@1", "invalid model name"),
        ("@production", "invalid model name"),
        ("churn@", "invalid alias"),
        ("churn@-1", "invalid alias"),
        ("churn@Prod", "invalid alias"),
        ("churn@a@b", "invalid alias"),
        ("churn@²", "invalid alias"),
        ("churn@١", "invalid alias"),
        (None, "invalid model reference"),
    ],
)
def test_parse_ref_refuses_malformed_references(ref: object, pattern: str) -> None:
    with pytest.raises(InvalidInput, match=pattern):
        parse_ref(ref)  # type: ignore[arg-type]
