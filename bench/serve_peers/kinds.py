"""What a peer module declares (``KIND``) and what it is given (``Prepared``)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


@dataclass
class Prepared:
    """Per model, what every peer needs to start: files, folders, venvs and the answers."""

    model: str
    frame: Any  # the breast-cancer DataFrame (569 × 30)
    joblib_file: Path
    proba_file: Path  # predict_proba of every row, for PyTriton's refitted model
    yard_home: Path
    scratch: Path
    venvs: dict[str, Path]
    expected: list[int]
    mlflow_dir: Path | None = None
    bodies: dict[tuple[str, int], Path] = field(default_factory=dict)
    header_lengths: dict[tuple[str, int], int] = field(default_factory=dict)  # binary bodies


@dataclass(frozen=True)
class Launch:
    command: list[str]
    env: dict[str, str]
    cwd: Path
    ready: str  # GET path that answers 200 once the model is loaded
    route: str  # POST path of the JSON (or binary v2) predict route
    port: int
    grpc_port: int | None = None
    model_name: str = "bench"  # as named in v2 requests


@dataclass(frozen=True)
class PeerKind:
    """One server: its virtualenv, the protocol variants it speaks, how to start it, its
    JSON request body for a frame's rows and how to read the classes from its answer."""

    venv: str | None
    protocols: tuple[str, ...]  # "json", and "bin" / "grpc" for v2 servers
    launch: Callable[[Prepared, str], Launch]  # (prepared, peer name)
    body: Callable[[Any], bytes]
    classes: Callable[[bytes], list[int]]
    note: str = ""  # how it is configured, for the report
