"""Names users give to models, datasets, aliases and experiments; never file paths."""

from __future__ import annotations

import re

from modelyard.domain.values import check_version
from modelyard.errors import InvalidInput

NAME_RULE = "[a-z0-9][a-z0-9._-]{0,63}"
_NAME = re.compile(rf"^{NAME_RULE}$")
# An alias must not look like a version number, so ``churn@3`` is always unambiguous.
_ALIAS = re.compile(r"^[a-z][a-z0-9._-]{0,63}$")


def check_name(value: str, what: str = "name") -> str:
    if not isinstance(value, str) or not _NAME.fullmatch(value):
        raise InvalidInput(f"invalid {what} {value!r}: must match {NAME_RULE}")
    return value


def check_alias(value: str) -> str:
    if not isinstance(value, str) or not _ALIAS.fullmatch(value):
        raise InvalidInput(
            f"invalid alias {value!r}: must start with a letter and match [a-z][a-z0-9._-]{{0,63}}"
        )
    return value


def parse_ref(ref: str) -> tuple[str, int | None, str | None]:
    """Split ``name``, ``name@3`` or ``name@production`` into (name, version, alias)."""
    if not isinstance(ref, str):
        raise InvalidInput(f"invalid model reference {ref!r}")
    name, sep, selector = ref.partition("@")
    check_name(name, "model name")
    if not sep:
        return name, None, None
    if selector.isascii() and selector.isdigit():
        return name, check_version(int(selector), f"version in {ref!r}"), None
    return name, None, check_alias(selector)


def parse_dataset_ref(ref: str) -> tuple[str, int | None]:
    """``name`` or ``name@3`` → (name, version); datasets have no aliases."""
    name, version, alias = parse_ref(ref)
    if alias is not None:
        raise InvalidInput(f"datasets are referenced as name or name@version, not {ref!r}")
    return name, version
