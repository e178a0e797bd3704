"""Turning a ``PythonModel`` instance, its code files and its artifacts into stored bytes.

Model artifacts named ``name@alias`` / ``name@3`` / ``name:3`` resolve here, once, to the
exact version they point at; that version's files are copied by content address (same
blobs, read back verified) so the custom model loads without asking the registry again and
an alias moving later never changes what it wraps.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from modelyard.domain.entities import ModelVersion
from modelyard.errors import InvalidInput, UnsupportedModel
from modelyard.flavors import SavedModel
from modelyard.store.artifacts import ArtifactStore
from modelyard.store.version_rows import REFERENCE_FILE

Resolve = Callable[[str], ModelVersion]


def save_custom(
    model: object,
    code: Sequence[str | Path],
    artifacts: Mapping[str, object],
    resolve: Resolve,
    store: ArtifactStore,
) -> SavedModel:
    """The files and metadata of a custom model; nothing is stored yet."""
    import orjson

    from modelyard.flavors.custom import FILES_DIR, FORMAT, MODELS_DIR
    from modelyard.flavors.custom_code import collect_code, needed_packages

    if isinstance(code, str | Path):
        code = [code]
    files = collect_code(code)
    reference = _class_reference(type(model), code, files)
    try:
        state = orjson.loads(orjson.dumps(vars(model)))
    except TypeError as exc:
        raise InvalidInput(
            f"{type(model).__name__}'s attributes must be JSON values (set heavier ones in "
            f"load(context) from an artifact): {exc}"
        ) from None
    specs: dict[str, dict[str, Any]] = {}
    for name, value in artifacts.items():
        if not isinstance(name, str) or not name.isidentifier():
            raise InvalidInput(f"artifact names are identifiers, got {name!r}")
        source = Path(value) if isinstance(value, str | Path) else None
        if source is not None and (isinstance(value, Path) or source.is_file()):
            if not source.is_file():
                raise InvalidInput(f"artifact {name!r}: {source}: no such file")
            files[f"{FILES_DIR}{name}"] = source.read_bytes()
            specs[name] = {"kind": "file", "file": f"{FILES_DIR}{name}", "source": source.name}
        elif isinstance(value, str):
            version = resolve(_as_ref(value))
            if version.flavor == FORMAT:
                raise UnsupportedModel(f"artifact {name!r}: {version.ref} is itself custom code")
            stored = {}
            for ref in version.files:
                if ref.name != REFERENCE_FILE:
                    stored[ref.name] = f"{MODELS_DIR}{name}/{ref.name}"
                    files[stored[ref.name]] = store.get_bytes(
                        ref.sha256, f"{version.ref} file {ref.name!r}"
                    )
            specs[name] = {
                "kind": "model",
                "ref": version.ref,
                "flavor": version.flavor,
                "flavor_meta": version.flavor_meta,
                "signature": version.signature,
                "files": stored,
                "sha256": {ref.name: ref.sha256 for ref in version.files},
            }
        else:
            raise InvalidInput(f"artifact {name!r}: give a file path or a model 'name@alias'")
    meta = {
        "format": FORMAT,
        "class": reference,
        "state": state,
        "artifacts": specs,
        "packages": needed_packages(files),
    }
    return SavedModel(files, meta)


def _as_ref(value: str) -> str:
    """``churn:3`` is ``churn@3``."""
    name, colon, number = value.partition(":")
    return f"{name}@{number}" if colon and number.isdigit() else value


def _class_reference(cls: type, code: Sequence[str | Path], files: Mapping[str, bytes]) -> str:
    """``module:Qualname`` of the class inside the code files, or a one-line refusal."""
    from modelyard.flavors.custom_code import CODE_DIR, PREFIX, module_name

    if "<locals>" in cls.__qualname__:
        raise InvalidInput(f"{cls.__qualname__} is defined inside a function; define it at the top")
    if cls.__module__.startswith(PREFIX):  # loaded from the code files already (the CLI)
        return f"{cls.__module__.partition('.')[2]}:{cls.__qualname__}"
    try:
        defined_in = Path(inspect.getfile(cls)).resolve()
    except (TypeError, OSError):
        defined_in = None
    for entry in code:
        root = Path(entry).resolve()
        for name in files:
            if not name.startswith(CODE_DIR):
                continue
            relative = name[len(CODE_DIR) :].split("/", 1)
            path = root / relative[1] if root.is_dir() and len(relative) == 2 else root
            if path == defined_in and relative[0] == root.name:
                return f"{module_name(name)}:{cls.__qualname__}"
    raise InvalidInput(
        f"{cls.__qualname__} is defined in {defined_in or cls.__module__}, not in one of the "
        "code files; pass the file that defines it in code="
    )
