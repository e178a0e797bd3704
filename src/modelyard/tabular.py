"""Reading users' data files (CSV, Parquet, JSON lines) with errors that name the file."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from modelyard.errors import InvalidInput, NotFound, first_line

FORMATS = {
    ".csv": "csv",
    ".parquet": "parquet",
    ".pq": "parquet",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
}


def table_format(path: Path) -> str:
    fmt = FORMATS.get(path.suffix.lower())
    if fmt is None:
        raise InvalidInput(
            f"{path.name}: unsupported data format {path.suffix or '(none)'}; "
            f"use {', '.join(sorted(set(FORMATS)))}"
        )
    return fmt


def read_table(path: Path) -> pd.DataFrame:
    fmt = table_format(path)
    if not path.is_file():
        raise NotFound(f"{path}: no such file")
    try:
        if fmt == "csv":
            frame = pd.read_csv(path)
        elif fmt == "parquet":
            frame = pd.read_parquet(path)
        else:
            frame = pd.read_json(path, lines=True)
    except (ValueError, OSError, UnicodeDecodeError, pd.errors.ParserError) as exc:
        raise InvalidInput(f"{path.name}: cannot read as {fmt}: {first_line(exc)}") from None
    except Exception as exc:  # pyarrow raises its own error types on damaged files
        raise InvalidInput(f"{path.name}: cannot read as {fmt}: {exc}") from None
    if frame.shape[1] == 0:
        raise InvalidInput(f"{path.name}: no columns")
    frame.columns = [str(c) for c in frame.columns]
    return frame
