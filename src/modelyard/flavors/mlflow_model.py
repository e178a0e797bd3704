"""MLflow model directories read without MLflow: the ``MLmodel`` file and the files it names.

An MLflow model is a folder whose ``MLmodel`` (YAML) lists flavors, each naming its model
file. The file is handed to modelyard's own flavor, under modelyard's own trust rules: a
skops file is vetted type by type as if registered directly (the ``skops_trusted_types``
MLflow wrote are not taken on trust), a pickle needs the pickle flag. Every path the
``MLmodel`` names must stay inside the folder.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from modelyard.errors import InvalidInput, NotFound, UnsupportedModel, UntrustedContent
from modelyard.flavors.base import Flavor, SavedModel
from modelyard.flavors.boosting import LightGBMFlavor, XGBoostFlavor
from modelyard.flavors.onnx import OnnxFlavor
from modelyard.flavors.sklearn import SklearnFlavor

MLMODEL = "MLmodel"
MAX_MLMODEL_BYTES = 1_000_000
MAX_ENV_CHARS = 20_000
# python_function's loader_module → the native flavor whose files it loads.
PYFUNC_LOADERS = {
    "mlflow.sklearn": "sklearn",
    "mlflow.xgboost": "xgboost",
    "mlflow.lightgbm": "lightgbm",
    "mlflow.onnx": "onnx",
}
SUPPORTED = ("sklearn", "xgboost", "lightgbm", "onnx")
PICKLE_FORMATS = ("pickle", "cloudpickle")


@dataclass(frozen=True)
class MlflowModel:
    """What an MLflow directory holds, converted: ready to register as a modelyard version."""

    root: Path
    mlflow_flavor: str
    flavor: Flavor
    saved: SavedModel
    document: dict[str, Any]  # the parsed MLmodel
    environment: dict[str, Any] = field(default_factory=dict)  # requirements, conda, python

    @property
    def run_id(self) -> str | None:
        run_id = self.document.get("run_id")
        return run_id if isinstance(run_id, str) and run_id else None

    def provenance(self) -> dict[str, Any]:
        """What the version's provenance records of where it came from."""
        doc = self.document
        return {
            "source": str(self.root),
            "flavor": self.mlflow_flavor,
            "mlflow_version": _text(doc.get("mlflow_version")),
            "model_uuid": _text(doc.get("model_uuid")),
            "model_id": _text(doc.get("model_id")),
            "run_id": self.run_id,
            "created": _text(doc.get("utc_time_created")),
            **self.environment,
        }


def read_mlmodel(root: Path) -> dict[str, Any]:
    """The parsed ``MLmodel`` of the folder ``root``; one-line errors for what is wrong."""
    import yaml

    if not root.is_dir():
        raise NotFound(f"{root}: not a folder (an MLflow model is a folder with an MLmodel file)")
    path = root / MLMODEL
    if not path.is_file():
        raise NotFound(f"{root}: no MLmodel file; is this an MLflow model folder?")
    if path.stat().st_size > MAX_MLMODEL_BYTES:
        raise InvalidInput(f"{path}: larger than {MAX_MLMODEL_BYTES:,} bytes")
    try:
        document = yaml.load(path.read_text(encoding="utf-8"), Loader=_safe_loader())
    except UnicodeDecodeError:
        raise InvalidInput(f"{path}: not UTF-8 text") from None
    except yaml.YAMLError as exc:
        where = getattr(exc, "problem_mark", None)
        line = f" at line {where.line + 1}" if where is not None else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise InvalidInput(f"{path}: malformed YAML{line}: {problem}") from None
    if not isinstance(document, dict):
        raise InvalidInput(f"{path}: expected a YAML mapping, got {type(document).__name__}")
    flavors = document.get("flavors")
    if not isinstance(flavors, dict) or not flavors:
        raise InvalidInput(f"{path}: no 'flavors' mapping")
    return document


def read_model(root: Path, *, trust_types: bool, trust_pickle: bool) -> MlflowModel:
    """Read the folder and convert its model to a modelyard flavor's files."""
    root = root.resolve()
    document = read_mlmodel(root)
    name, conf = _choose_flavor(root, document["flavors"])
    if name == "sklearn":
        flavor: Flavor = SklearnFlavor()
        saved = _sklearn(root, conf, trust_types=trust_types, trust_pickle=trust_pickle)
    elif name == "xgboost":
        flavor = XGBoostFlavor()
        saved = _xgboost(root, conf)
    elif name == "lightgbm":
        flavor = LightGBMFlavor()
        saved = _lightgbm(root, conf, trust_types=trust_types, trust_pickle=trust_pickle)
    else:
        flavor = OnnxFlavor()
        saved = flavor.read_file(
            _model_file(root, conf, "onnx", "data"), trust_types=False, trust_pickle=False
        )
    environment = _environment(root, document["flavors"].get("python_function"))
    return MlflowModel(root, name, flavor, saved, document, environment)


def inside(root: Path, value: object, what: str) -> Path:
    """``root/value`` when ``value`` is a relative path that stays inside ``root``."""
    if not isinstance(value, str) or not value:
        raise InvalidInput(f"{root / MLMODEL}: {what} must be a file name, got {value!r}")
    relative = PurePosixPath(value.replace("\\", "/"))
    if relative.is_absolute() or Path(value).is_absolute() or ".." in relative.parts:
        raise InvalidInput(
            f"{root / MLMODEL}: {what} {value!r} points outside the model folder {root}"
        )
    path = (root / relative).resolve()
    if not path.is_relative_to(root):  # a symbolic link out of the folder
        raise InvalidInput(
            f"{root / MLMODEL}: {what} {value!r} resolves outside the model folder {root}"
        )
    return path


# -- choosing the flavor ------------------------------------------------------------------------


def _choose_flavor(root: Path, flavors: Mapping[str, Any]) -> tuple[str, dict[str, Any]]:
    for name in SUPPORTED:
        if name in flavors:
            return name, _conf(root, flavors[name], name)
    pyfunc = flavors.get("python_function")
    if isinstance(pyfunc, dict):
        loader = pyfunc.get("loader_module")
        native = PYFUNC_LOADERS.get(loader) if isinstance(loader, str) else None
        if native is not None:
            return native, _from_pyfunc(native, pyfunc)
        raise UnsupportedModel(
            f"{root / MLMODEL}: python_function with loader_module {loader!r} is not "
            f"supported (it runs its own code); supported: {', '.join(SUPPORTED)}, or "
            f"python_function loading one of them ({', '.join(PYFUNC_LOADERS)})"
        )
    raise UnsupportedModel(
        f"{root / MLMODEL}: unknown flavor {', '.join(map(str, flavors))}; supported: "
        f"{', '.join(SUPPORTED)}"
    )


def _conf(root: Path, value: object, name: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise InvalidInput(f"{root / MLMODEL}: flavor {name} is not a mapping")
    return value


def _from_pyfunc(native: str, pyfunc: dict[str, Any]) -> dict[str, Any]:
    """A native flavor's settings from python_function's alone (an MLmodel without the
    native entry): the file is ``model_path`` or ``data``; the rest is told by the file."""
    file = pyfunc.get("model_path", pyfunc.get("data"))
    if native == "sklearn":
        suffix = Path(str(file)).suffix.lower()
        return {
            "pickled_model": file,
            "serialization_format": "skops" if suffix == ".skops" else "cloudpickle",
        }
    return {"data": file}


# -- one function per flavor ----------------------------------------------------------------


def _model_file(root: Path, conf: Mapping[str, Any], flavor: str, key: str) -> Path:
    path = inside(root, conf.get(key), f"flavor {flavor}: {key}")
    if not path.is_file():
        raise NotFound(f"{root / MLMODEL}: flavor {flavor}: {key} {conf.get(key)!r}: no such file")
    return path


def _sklearn(
    root: Path, conf: Mapping[str, Any], *, trust_types: bool, trust_pickle: bool
) -> SavedModel:
    fmt = conf.get("serialization_format", "cloudpickle")
    path = _model_file(root, conf, "sklearn", "pickled_model")
    if fmt == "skops":
        if path.suffix.lower() != ".skops":
            raise UnsupportedModel(f"{path.name}: serialization_format skops needs a .skops file")
        return SklearnFlavor().read_file(path, trust_types=trust_types, trust_pickle=False)
    if fmt not in PICKLE_FORMATS:
        raise UnsupportedModel(f"{root / MLMODEL}: sklearn serialization_format {fmt!r} unknown")
    _refuse_pickle(path, fmt, trust_pickle)
    # Stored as the pickle it is, like a trusted .pkl registered directly; cloudpickle
    # writes the pickle protocol, so the same loader reads it.
    return SklearnFlavor().read_file(path, trust_types=trust_types, trust_pickle=True)


def _xgboost(root: Path, conf: Mapping[str, Any]) -> SavedModel:
    path = _model_file(root, conf, "xgboost", "data")
    model_class = conf.get("model_class")
    data = path.read_bytes()
    if model_class is None:  # python_function alone: the booster's objective tells
        classifier = _xgboost_objective(data).startswith(("binary:", "multi:"))
    elif model_class in ("xgboost.sklearn.XGBClassifier", "xgboost.XGBClassifier"):
        classifier = True
    elif model_class in (
        "xgboost.sklearn.XGBRegressor",
        "xgboost.XGBRegressor",
        "xgboost.core.Booster",  # MLflow predicts its raw output (probabilities): so do we
    ):
        classifier = False
    else:
        raise UnsupportedModel(
            f"{root / MLMODEL}: xgboost model_class {model_class!r} is not supported; "
            "XGBClassifier, XGBRegressor and Booster are"
        )
    fmt = conf.get("model_format", path.suffix.lstrip(".") or "ubj")
    saved = SavedModel(
        {XGBoostFlavor.MODEL_FILE: data}, {"format": str(fmt), "classifier": classifier}
    )
    _loads(XGBoostFlavor(), saved, path)
    return saved


def _xgboost_objective(data: bytes) -> str:
    import json

    import xgboost

    booster = xgboost.Booster()
    try:
        booster.load_model(bytearray(data))
    except xgboost.core.XGBoostError as exc:
        raise UnsupportedModel(f"not an XGBoost model: {str(exc).splitlines()[0]}") from None
    objective = json.loads(booster.save_config())["learner"]["objective"]["name"]
    return str(objective)


def _lightgbm(
    root: Path, conf: Mapping[str, Any], *, trust_types: bool, trust_pickle: bool
) -> SavedModel:
    path = _model_file(root, conf, "lightgbm", "data")
    model_class = conf.get("model_class", "lightgbm.basic.Booster")
    if model_class == "lightgbm.basic.Booster" and path.suffix.lower() != ".skops":
        import lightgbm

        text = path.read_bytes().decode("utf-8", errors="replace")
        try:
            booster = lightgbm.Booster(model_str=text)
        except lightgbm.basic.LightGBMError as exc:
            raise UnsupportedModel(f"{path.name}: not a LightGBM model: {exc}") from None
        meta = {"format": "lightgbm-text", "classes": None, "names": booster.feature_name()}
        return SavedModel({LightGBMFlavor.MODEL_FILE: text.encode()}, meta)
    fmt = conf.get("serialization_format", "cloudpickle")
    if fmt == "skops":
        model, by_flag = _skops_object(path, trust_types)
    else:
        _refuse_pickle(path, str(fmt), trust_pickle)
        model, by_flag = _unpickle(path), ()
    if not LightGBMFlavor().detect(model):
        raise UnsupportedModel(
            f"{path.name} holds a {type(model).__name__}, not a LightGBM scikit-learn model"
        )
    saved = LightGBMFlavor().save(model, trust_types=trust_types)
    return SavedModel(saved.files, saved.meta, by_flag)


def _skops_object(path: Path, trust_types: bool) -> tuple[Any, tuple[str, ...]]:
    """A skops file's object, built only from the types modelyard's rules let in; the model
    is then stored in its library's own data format, so later loads run no such types."""
    import skops.io as sio

    from modelyard.flavors.skops_trust import vet_new_file

    data = path.read_bytes()
    record = vet_new_file(data, trust_types=trust_types)
    try:
        return sio.loads(data, trusted=list(record.needed)), record.by_flag
    except Exception as exc:  # skops raises many kinds on damaged input
        raise UnsupportedModel(f"{path.name}: cannot load the skops file: {exc}") from None


def _refuse_pickle(path: Path, fmt: str, trust_pickle: bool) -> None:
    if not trust_pickle:
        raise UntrustedContent(
            f"{path.name} is a {fmt} file: loading it runs arbitrary code. Re-run with "
            "--trust-pickle (trust_pickle=True) if you trust its source, or save it in MLflow "
            "with serialization_format='skops'"
        )


def _unpickle(path: Path) -> Any:
    import pickle

    try:
        with path.open("rb") as file:
            return pickle.load(file)  # only with trust_pickle, refused above without it
    except Exception as exc:  # unpickling can raise anything
        raise UnsupportedModel(f"cannot unpickle {path.name}: {exc}") from None


def _loads(flavor: Flavor, saved: SavedModel, path: Path) -> None:
    try:
        flavor.load(saved.files, saved.meta)
    except Exception as exc:  # the library's own error, whatever its type
        raise UnsupportedModel(f"{path.name}: cannot load as {flavor.name}: {exc}") from None


# -- the environment it was saved in -----------------------------------------------------------


def _environment(root: Path, pyfunc: object) -> dict[str, Any]:
    """requirements.txt, conda.yaml and the Python version, as text (not resolved)."""
    found: dict[str, Any] = {}
    env = pyfunc.get("env") if isinstance(pyfunc, dict) else None
    conda = env.get("conda") if isinstance(env, dict) else env
    if isinstance(pyfunc, dict) and isinstance(pyfunc.get("python_version"), str):
        found["python_version"] = pyfunc["python_version"]
    for key, name in (("requirements", "requirements.txt"), ("conda", conda or "conda.yaml")):
        try:
            path = inside(root, name, f"python_function env {key}")
        except InvalidInput:
            continue  # the environment is a record, not needed to load: leave it out
        if path.is_file():
            text = path.read_text(encoding="utf-8", errors="replace")[:MAX_ENV_CHARS]
            found[key] = (
                [line.strip() for line in text.splitlines() if line.strip()]
                if key == "requirements"
                else text
            )
    return found


def _safe_loader() -> Any:
    import yaml

    return getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _text(value: object) -> str | None:
    return None if value is None else str(value)
