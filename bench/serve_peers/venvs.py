"""Each peer's own virtualenv under bench/.venvs/, built by this bench when missing or when
its pins changed (bench/registry.py's ``build_venv``), never linked from elsewhere."""

from __future__ import annotations

import json
import subprocess
from importlib import metadata
from pathlib import Path

from registry import build_venv, venv_python

from serve_peers.common import VENVS, say

SHARED = ("scikit-learn", "numpy", "pandas", "joblib")
MLFLOW_VERSION = "3.17.2"
MLSERVER_VERSION = "1.7.1"
FASTAPI_VERSION = "0.165.0"
UVICORN_VERSION = "0.54.0"
BENTOML_VERSION = "1.4.40"
LITSERVE_VERSION = "0.2.19"
PYTRITON_VERSION = "0.7.0"


def shared_pins(names: tuple[str, ...] = SHARED) -> list[str]:
    return [f"{name}=={metadata.version(name)}" for name in names]


# The MLflow pins are those of bench/registry.py, so both benches share one virtualenv.
OWN_PINS: dict[str, list[str]] = {
    "naive-fastapi": [f"fastapi=={FASTAPI_VERSION}", f"uvicorn=={UVICORN_VERSION}"],
    "mlflow": [f"mlflow=={MLFLOW_VERSION}"],
    # MLServer 1.7.1 crash-loops with uvloop 0.23 (PERF_NOTES.md).
    "mlserver": [
        f"mlserver=={MLSERVER_VERSION}",
        f"mlserver-sklearn=={MLSERVER_VERSION}",
        "uvloop<0.22",
    ],
    "bentoml": [f"bentoml=={BENTOML_VERSION}"],
    "litserve": [f"litserve=={LITSERVE_VERSION}"],
    # PyTriton 0.7.0 needs numpy<2: the model is refitted there from the same data
    # (apps/pytriton_app.py) with this environment's scikit-learn, and checked identical.
    "pytriton": [f"nvidia-pytriton=={PYTRITON_VERSION}", "numpy<2"],
}
# What `installed` reports of each, for the results' pins.
REPORTED = {
    "naive-fastapi": ["fastapi", "uvicorn", "pydantic"],
    "mlflow": ["mlflow"],
    "mlserver": ["mlserver", "uvloop", "fastapi", "uvicorn"],
    "bentoml": ["bentoml", "numpy"],
    "litserve": ["litserve", "fastapi", "uvicorn"],
    "pytriton": ["nvidia-pytriton", "numpy", "scikit-learn"],
}


def venv_pins(name: str) -> list[str]:
    if name == "pytriton":
        return OWN_PINS[name] + shared_pins(("scikit-learn", "joblib"))
    extra = ("skops",) if name == "mlflow" else ()
    return OWN_PINS[name] + shared_pins(SHARED + extra)


def ensure_venv(name: str) -> tuple[Path | None, str | None]:
    """The virtualenv's folder, or None and why it cannot be had. Built only if missing."""
    return build_venv(VENVS / name, venv_pins(name), name, say)


def installed(venv: Path, names: list[str]) -> dict[str, str]:
    code = (
        "import json, sys\nfrom importlib import metadata\n"
        "print(json.dumps({n: metadata.version(n) for n in sys.argv[1:]}))"
    )
    done = subprocess.run(
        [str(venv_python(venv)), "-c", code, *names], capture_output=True, text=True, check=False
    )
    return json.loads(done.stdout) if done.returncode == 0 else {}
