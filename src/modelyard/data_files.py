"""Which files of a folder or a glob hold data: not the markers, hidden files and
unfinished output that Spark, Dask and pyarrow leave beside it (``_SUCCESS``,
``_metadata``, ``.part-…``, ``_temporary/…``, ``.spark-staging/…``). Like pyarrow's
datasets, a path is skipped when any of its parts below the folder or the glob's fixed
prefix starts with ``_`` or ``.``; the folder or prefix itself, named by the user, may."""

from __future__ import annotations

from pathlib import PurePosixPath

WILDCARDS = frozenset("*?[")
HIDDEN = ("_", ".")


def search_root(pattern: str) -> str:
    """The part of a path or glob before its first component with a wildcard."""
    parts = pattern.replace("\\", "/").split("/")
    fixed: list[str] = []
    for part in parts:
        if WILDCARDS & set(part):
            break
        fixed.append(part)
    return "/".join(fixed)


def is_data(path: str, root: str) -> bool:
    """Whether ``path`` (a file found under ``root``) is data, not a marker, a hidden
    file or a file inside a hidden or temporary folder."""
    below = PurePosixPath(path.replace("\\", "/"))
    top = PurePosixPath(root.replace("\\", "/")) if root else PurePosixPath()
    try:
        parts = below.relative_to(top).parts
    except ValueError:  # not under the root as written: judge by its name alone
        parts = (below.name,)
    return not any(part.startswith(HIDDEN) for part in parts)
