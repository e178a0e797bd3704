"""The image's lock: the exact versions of the distributions modelyard runs on, read from
the environment being packaged (importlib.metadata), so the image runs what was tested.

Only modelyard's runtime closure is locked (its requirements and the extras asked for,
followed through each installed distribution's own requirements): test and lint tools
installed beside it never reach the image.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable
from dataclasses import dataclass
from importlib.metadata import Distribution, PackageNotFoundError, distribution
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from modelyard.errors import InvalidInput

SELF = "modelyard"
# What a fleet needs beyond the embedded default: PostgreSQL and an S3-compatible store.
FLEET_EXTRAS = ("postgres", "s3")


@dataclass(frozen=True)
class Lock:
    pins: tuple[tuple[str, str], ...]  # (distribution name, exact version), sorted
    version: str  # modelyard's own
    source: Path | None  # modelyard's project folder when installed from source
    python: str  # major.minor of the packaging interpreter

    def text(self) -> str:
        lines = [
            "# Exact versions of modelyard's runtime closure, read from the environment that",
            f"# ran `modelyard deploy` (Python {self.python}). modelyard itself is installed",
            "# separately (from source or its wheel).",
        ]
        return "\n".join([*lines, *(f"{name}=={version}" for name, version in self.pins), ""])


def environment_lock(extras: Iterable[str] = FLEET_EXTRAS) -> Lock:
    """Walk modelyard's requirements through the installed distributions."""
    me = distribution(SELF)
    wanted = set(extras)
    known = set(me.metadata.get_all("Provides-Extra") or [])
    if unknown := sorted(wanted - known):
        raise InvalidInput(
            f"modelyard has no extra {', '.join(unknown)}; its extras: {', '.join(sorted(known))}"
        )
    pins: dict[str, str] = {}
    todo: list[tuple[Requirement, frozenset[str]]] = [
        (req, frozenset(wanted)) for req in map(Requirement, me.requires or [])
    ]
    seen: set[tuple[str, frozenset[str]]] = set()
    while todo:
        req, active = todo.pop()
        if not _applies(req, active) or (req.name, frozenset(req.extras)) in seen:
            continue
        seen.add((req.name, frozenset(req.extras)))
        name = canonicalize_name(req.name)
        try:
            found = distribution(req.name)
        except PackageNotFoundError:
            raise InvalidInput(
                f"{req.name} (needed by modelyard{_extras_text(active)}) is not installed in "
                f"this environment; install modelyard[{','.join(sorted(wanted))}] first"
            ) from None
        pins[name] = found.version
        # An extra named on a requirement (uvicorn[standard]) brings its own requirements.
        todo += [(sub, frozenset(req.extras)) for sub in _requires(found)]
    pins.pop(SELF, None)
    return Lock(
        tuple(sorted(pins.items())),
        me.version,
        _source_folder(me),
        f"{sys.version_info.major}.{sys.version_info.minor}",
    )


def _applies(req: Requirement, extras: frozenset[str]) -> bool:
    """The marker against this interpreter (what evaluate defaults to) and each extra."""
    if req.marker is None:
        return True
    return any(req.marker.evaluate({"extra": extra}) for extra in extras or {""})


def _requires(found: Distribution) -> list[Requirement]:
    return [Requirement(text) for text in found.requires or []]


def _extras_text(extras: frozenset[str]) -> str:
    return f"[{','.join(sorted(extras))}]" if extras else ""


def _source_folder(me: Distribution) -> Path | None:
    """The project folder of a source (editable or local) install, from PEP 610's record."""
    text = me.read_text("direct_url.json")
    if not text:
        return None
    url = str(json.loads(text).get("url", ""))
    if not url.startswith("file://"):
        return None
    folder = Path(url.removeprefix("file://"))
    return folder if (folder / "pyproject.toml").is_file() else None
