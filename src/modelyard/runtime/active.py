"""An endpoint as one server process serves it now: the versions that answer, and how a
request picks one."""

from __future__ import annotations

from dataclasses import dataclass

from modelyard.domain.endpoints import Endpoint
from modelyard.domain.routing import choose
from modelyard.errors import NotFound
from modelyard.runtime.batcher import MicroBatcher
from modelyard.runtime.pool import LoadedVersion


@dataclass(frozen=True)
class ActiveEndpoint:
    """An endpoint as served now: its primary version, every weighted route's
    (``variants``, the primary among them) when traffic is split, and the ``shadows``
    answered requests are mirrored to (each variant carries them too)."""

    endpoint: Endpoint
    loaded: LoadedVersion
    batcher: MicroBatcher
    variants: tuple[ActiveEndpoint, ...] = ()
    bounds: tuple[int, ...] = ()
    shadows: tuple[ActiveEndpoint, ...] = ()
    mirrored: float = 100.0  # a shadow's share (percent) of answered requests it gets

    @property
    def every(self) -> tuple[ActiveEndpoint, ...]:
        """The versions that answer callers."""
        return self.variants or (self,)

    @property
    def in_use(self) -> tuple[ActiveEndpoint, ...]:
        """Every version with a batcher here: the answering ones and the shadows."""
        return self.every + self.shadows

    def pick(self, key: str | None, version: str | None = None) -> ActiveEndpoint:
        """The route a request goes to: ``version`` if given (it must be one of this
        endpoint's), else by the stable hash of ``key``, else at random by weight."""
        if version is not None:
            for variant in self.every:
                if variant.loaded.ref == version:
                    return variant
            served = ", ".join(v.loaded.ref for v in self.every)
            raise NotFound(f"endpoint {self.endpoint.name!r} serves {served}, not {version!r}")
        if not self.variants:
            return self
        return self.variants[choose(self.bounds, key)]
