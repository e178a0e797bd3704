"""A facade's method that is a service's method: typed, bound on each access."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, Concatenate, Generic, ParamSpec, TypeVar, cast

S = TypeVar("S")
P = ParamSpec("P")
R = TypeVar("R")


class delegate(Generic[S, P, R]):
    """``register = delegate("registry", Registry.register)``: ``yard.register(...)`` calls
    ``yard.registry.register(...)``, and type checkers see the service method's signature."""

    def __init__(self, service: str, method: Callable[Concatenate[S, P], R]) -> None:
        self.service, self.method = service, method
        self.__doc__ = method.__doc__  # help() shows the service method's docstring

    def __get__(self, owner: object, kind: type[Any] | None = None) -> Callable[P, R]:
        bound = functools.partial(self.method, getattr(owner, self.service))
        return cast(Callable[P, R], functools.update_wrapper(bound, self.method))
