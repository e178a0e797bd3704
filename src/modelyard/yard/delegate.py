"""A facade's method that is a service's method: typed, bound on each access."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, Concatenate, Generic, ParamSpec, TypeVar, cast, overload

S = TypeVar("S")
P = ParamSpec("P")
R = TypeVar("R")


class delegate(Generic[S, P, R]):
    """``register = delegate("registry", Registry.register)``: ``yard.register(...)`` calls
    ``yard.registry.register(...)``, and type checkers see the service method's signature."""

    def __init__(self, service: str, method: Callable[Concatenate[S, P], R]) -> None:
        self.service, self.method = service, method
        self.__doc__ = method.__doc__  # help() shows the service method's docstring

    def __repr__(self) -> str:
        return f"<the {self.service} service's {self.method.__name__}>"

    @overload
    def __get__(self, owner: None, kind: type[Any] | None = None) -> delegate[S, P, R]: ...

    @overload
    def __get__(self, owner: object, kind: type[Any] | None = None) -> Callable[P, R]: ...

    def __get__(
        self, owner: object | None, kind: type[Any] | None = None
    ) -> delegate[S, P, R] | Callable[P, R]:
        if owner is None:  # looked up on the class: help(Yard), inspect, documentation tools
            return self
        return cast(Callable[P, R], functools.partial(self.method, getattr(owner, self.service)))
