"""Editing a backup as an attacker would: members changed, the manifest signed again."""

from __future__ import annotations

import hashlib
import io
import tarfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson

Edit = Callable[[str, bytes], bytes | None]


def rewrite(source: Path, dest: Path, edit: Edit) -> Path:
    """Copy an archive, editing members and re-signing the manifest as an attacker would."""
    members: dict[str, bytes] = {}
    with tarfile.open(source) as tar:
        for info in tar:
            handle = tar.extractfile(info)
            members[info.name] = handle.read() if handle else b""
    manifest = orjson.loads(members.pop("manifest.json"))
    edited = {}
    for name, data in members.items():
        changed = edit(name, data)
        if changed is None:
            manifest["members"].pop(name, None)
            continue
        edited[name] = changed
        if name.startswith("db/"):
            manifest["members"][name] = hashlib.sha256(changed).hexdigest()
    edited["manifest.json"] = orjson.dumps(manifest)
    with tarfile.open(dest, "w:gz") as tar:
        for name, data in edited.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return dest


def rows_of(table: str, edit_row: Callable[[dict[str, Any]], None]) -> Edit:
    """An edit applying ``edit_row`` to every row of ``table``."""

    def edit(name: str, data: bytes) -> bytes:
        if name != f"db/{table}.jsonl":
            return data
        rows = [orjson.loads(line) for line in data.splitlines()]
        for row in rows:
            edit_row(row)
        return b"".join(orjson.dumps(r) + b"\n" for r in rows)

    return edit


def versions_meta(edit_meta: Callable[[dict[str, Any]], None]) -> Edit:
    """An edit applying ``edit_meta`` to every version's flavor metadata."""
    return rows_of("model_versions", lambda row: edit_meta(row["flavor_meta"]))
