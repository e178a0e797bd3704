"""Custom Python models: your own ``predict`` around registered models and files.

A ``PythonModel`` subclass is stored as its code files (content-addressed like every blob),
a class reference ``module:Qualname`` into them, its constructor state as JSON (never a
pickle), and its named artifacts: files, and registered models copied by reference to the
exact version they resolved to. Loading executes the code from the verified bytes in a
namespace of its own (``custom_code``) and hands ``load`` a :class:`Context`.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from modelyard.domain.signature import Signature
from modelyard.errors import UnsupportedModel, UntrustedContent, YardError, first_line
from modelyard.flavors.base import ModelAdapter, ModelTraits, SavedModel, Table, Vetted
from modelyard.flavors.custom_code import CodeNamespace
from modelyard.packages import package_version

FORMAT = "python"
FILES_DIR = "artifacts/"
MODELS_DIR = "models/"


class PythonModel(ABC):
    """Subclass it, give ``predict`` (and ``load`` for what it needs), register it with
    ``yard.register(model, name, code=[...], artifacts={...}, sample=X)``. A classifier may
    also give ``predict_proba(frame)``: one row of class probabilities per input row.

    Attributes set in ``__init__`` are stored as JSON and set again before ``load`` runs;
    anything heavier (models, tables) comes from ``context`` in ``load``.
    """

    kind: ClassVar[str] = "other"  # "classification" | "regression" | "other"

    def load(self, context: Context) -> None:  # noqa: B027 (optional: most models load nothing)
        """Called once per load, before any ``predict``: fetch artifacts from ``context``."""

    @abstractmethod
    def predict(self, frame: pd.DataFrame) -> Any:
        """One answer per row of ``frame`` (columns as in the signature)."""


class RegisteredModel:
    """A registered model a custom model wraps: called like ``yard.load`` would be."""

    def __init__(self, ref: str, adapter: ModelAdapter, signature: Signature) -> None:
        self.ref, self.signature, self._adapter = ref, signature, adapter

    @property
    def classes(self) -> tuple[object, ...] | None:
        return self.signature.output.classes

    def predict(self, data: object) -> np.ndarray:
        return np.asarray(self._adapter.predict(self.signature.to_frame(data)))

    def predict_proba(self, data: object) -> np.ndarray:
        return np.asarray(self._adapter.predict_proba(self.signature.to_frame(data)))


class MissingArtifact(KeyError):
    """An artifact ``load`` asked for that the version was not registered with."""

    def __str__(self) -> str:  # KeyError would quote the whole message
        return str(self.args[0])


class _Named(dict[str, Any]):
    def __init__(self, what: str, values: Mapping[str, Any]) -> None:
        super().__init__(values)
        self.what = what

    def __missing__(self, name: str) -> Any:
        have = ", ".join(sorted(self)) or "none"
        raise MissingArtifact(f"no {self.what} artifact {name!r} was registered (it has: {have})")


@dataclass(frozen=True)
class Context:
    """What ``load`` gets: file artifacts as verified bytes, model artifacts loaded."""

    files: Mapping[str, bytes] = field(default_factory=dict)
    models: Mapping[str, RegisteredModel] = field(default_factory=dict)

    @property
    def artifacts(self) -> dict[str, bytes | RegisteredModel]:
        return {**self.files, **self.models}


class CustomAdapter:
    accepts_matrix = False

    def __init__(self, model: PythonModel, reference: str) -> None:
        self.model, self.reference = model, reference
        kind = type(model).kind
        if kind not in ("classification", "regression", "other"):
            raise UnsupportedModel(f"{reference}.kind must be classification|regression|other")
        has_proba = callable(getattr(type(model), "predict_proba", None))
        self.traits = ModelTraits(kind, None, has_proba, None, None, "dataframe")

    def predict(self, rows: Table) -> np.ndarray:
        values = self._checked(self.model.predict(_frame(rows)), rows, "predict")
        if self.traits.kind != "classification" and values.dtype.kind not in "iufb":
            raise ValueError(
                f"{self.reference}.predict returned {values.dtype} values, not numbers; a "
                'model whose answers are labels sets kind = "classification"'
            )
        return values

    def predict_proba(self, rows: Table) -> np.ndarray:
        proba = self.model.predict_proba  # type: ignore[attr-defined]  # traits.has_proba
        return self._checked(proba(_frame(rows)), rows, "predict_proba")

    def _checked(self, answer: Any, rows: Table, method: str) -> np.ndarray:
        values = np.asarray(answer)
        if values.ndim == 0 or len(values) != len(rows):
            got = "one value" if values.ndim == 0 else f"{len(values)} rows"
            raise ValueError(f"{self.reference}.{method} returned {got} for {len(rows)} rows")
        return values


def _frame(rows: Table) -> pd.DataFrame:
    return rows if isinstance(rows, pd.DataFrame) else pd.DataFrame(rows)


class PythonFlavor:
    name: str = FORMAT
    file_suffixes: tuple[str, ...] = ()

    def detect(self, model: object) -> bool:
        return isinstance(model, PythonModel)

    def save(self, model: object, *, trust_types: bool) -> SavedModel:
        raise UnsupportedModel(
            f"a {type(model).__name__} is custom code: register it with its code files, "
            "yard.register(model, name, code=['src/model.py'], sample=X)"
        )

    def read_file(self, path: Path, *, trust_types: bool, trust_pickle: bool) -> SavedModel:
        raise UnsupportedModel("custom models are registered with --code, not from a file")

    def load(self, files: Mapping[str, bytes], meta: Mapping[str, Any]) -> CustomAdapter:
        reference = str(meta.get("class"))
        try:
            cls = CodeNamespace(files).find(reference)
            if not (isinstance(cls, type) and issubclass(cls, PythonModel)):
                raise UnsupportedModel(f"{reference} is not a modelyard.PythonModel subclass")
            model = cls.__new__(cls)
            model.__dict__.update(meta.get("state", {}))
            model.load(_context(files, meta.get("artifacts", {})))
            return CustomAdapter(model, reference)
        except YardError:
            raise
        except Exception as exc:  # the user's code, whatever it raises
            raise UnsupportedModel(
                f"the custom model {reference} cannot load: {first_line(exc)}"
            ) from None

    def check_trust(
        self, meta: Mapping[str, Any], *, trust_types: bool, trust_pickle: bool
    ) -> Vetted:
        if not trust_pickle:
            raise UntrustedContent(
                "a version is custom Python code: loading it runs that code; pass "
                "--trust-pickle (trust_pickle=True) if you trust where it came from"
            )
        from modelyard.flavors import get_flavor

        # A wrapped model is checked by its own flavor's rules, as if restored alone.
        artifacts: dict[str, Any] = {}
        trusted: list[str] = []
        for name, spec in meta.get("artifacts", {}).items():
            artifacts[name] = spec
            if spec.get("kind") == "model":
                vetted = get_flavor(spec["flavor"]).check_trust(
                    spec["flavor_meta"], trust_types=trust_types, trust_pickle=trust_pickle
                )
                artifacts[name] = {**spec, "flavor_meta": vetted.meta}
                trusted += [f"{name}: {t}" for t in vetted.trusted_by_flag]
        return Vetted({**meta, "artifacts": artifacts}, tuple(trusted))

    def libraries(self) -> dict[str, str]:
        return {lib: package_version(lib) for lib in ("numpy", "pandas")}


def _context(files: Mapping[str, bytes], artifacts: Mapping[str, Any]) -> Context:
    from modelyard.flavors import get_flavor

    plain: dict[str, bytes] = {}
    models: dict[str, RegisteredModel] = {}
    for name, spec in artifacts.items():
        if spec["kind"] == "file":
            plain[name] = files[spec["file"]]
            continue
        inner = {logical: files[stored] for logical, stored in spec["files"].items()}
        adapter = get_flavor(spec["flavor"]).load(inner, spec["flavor_meta"])
        models[name] = RegisteredModel(spec["ref"], adapter, Signature.from_dict(spec["signature"]))
    return Context(_Named("file", plain), _Named("model", models))
