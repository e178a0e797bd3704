"""Entities, datetimes and enums to JSON-ready values (for --json, HTTP and backups)."""

from __future__ import annotations

import dataclasses
from datetime import datetime
from enum import Enum
from typing import Any


def plain(value: Any) -> Any:
    """Entities, datetimes and enums to JSON-ready values."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    return value
