"""Writing a generated folder all at once: into a temporary sibling, then one rename.

A generator that fails half-way, or a refused option, leaves no folder behind; an existing
folder is replaced only when asked (``force``), and only once the new one is complete.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path, PurePosixPath

from modelyard.errors import AlreadyExists, InvalidInput

Content = str | bytes
Files = dict[str, Content]
# Writes what is too large to hold in memory (baked model files) into the new folder.
Filler = Callable[[Path], None]


def write_folder(
    out: Path,
    files: Mapping[str, Content],
    *,
    force: bool = False,
    fill: Filler | None = None,
    filled_by_user: Sequence[str] = (),
) -> list[str]:
    """Write ``files`` (relative POSIX paths) under ``out``; return the paths written.

    ``filled_by_user`` names files the user fills in (``.env``'s passwords): a folder being
    replaced keeps its copy, and they are readable by their owner only."""
    if out.exists() and not force:
        raise AlreadyExists(f"{out} exists; choose another folder or pass --force to replace it")
    if out.exists() and not out.is_dir():
        raise InvalidInput(f"{out} exists and is not a folder")
    parent = out.absolute().parent
    parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(dir=parent, prefix=f".{out.name}."))
    try:
        for name, content in sorted(files.items()):
            target = staging / _relative(name)
            target.parent.mkdir(parents=True, exist_ok=True)
            if isinstance(content, bytes):
                target.write_bytes(content)
            else:
                target.write_text(content, encoding="utf-8")
        if fill is not None:
            fill(staging)
        for name in filled_by_user:
            target, before = staging / _relative(name), out / _relative(name)
            if before.is_file():
                shutil.copyfile(before, target)
            if target.exists():
                os.chmod(target, 0o600)
        _swap_in(staging, out)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return sorted(files)


def _relative(name: str) -> PurePosixPath:
    path = PurePosixPath(name)
    if path.is_absolute() or ".." in path.parts or not path.parts:
        raise InvalidInput(f"generated file {name!r} is not a relative path inside the folder")
    return path


def _swap_in(staging: Path, out: Path) -> None:
    """Rename the complete folder into place; an old one goes only after the new one is in."""
    os.chmod(staging, 0o755)  # mkdtemp makes it 0700; the folder is meant to be shared
    if not out.exists():
        os.rename(staging, out)
        return
    old = Path(tempfile.mkdtemp(dir=out.absolute().parent, prefix=f".{out.name}.old."))
    os.rename(out, old / "previous")
    try:
        os.rename(staging, out)
    except BaseException:
        os.rename(old / "previous", out)
        raise
    shutil.rmtree(old, ignore_errors=True)


def secret_ref(value: str, option: str) -> tuple[str, str]:
    """``NAME:KEY`` of a Kubernetes Secret. A value that looks like a URL or a credential is
    refused: manifests carry references, never the secret itself."""
    if "://" in value or "@" in value:
        raise InvalidInput(
            f"{option} takes a reference to a Secret (NAME:KEY), not a URL or credential "
            "inline; store it with `kubectl create secret` and name it here"
        )
    name, sep, key = value.partition(":")
    if not sep or not name or not key:
        raise InvalidInput(f"{option} {value!r}: expected NAME:KEY of a Secret")
    return name, key
