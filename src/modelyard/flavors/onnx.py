"""ONNX graphs run by onnxruntime; only the graph's bytes are stored, never code."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from modelyard.errors import UnsupportedModel
from modelyard.flavors.base import ModelTraits, SavedModel, Table, Vetted, module_of
from modelyard.packages import package_version

MODEL_FILE = "model.onnx"
_NUMPY_TYPES = {
    "tensor(float)": np.float32,
    "tensor(double)": np.float64,
    "tensor(int64)": np.int64,
    "tensor(int32)": np.int32,
    "tensor(string)": np.object_,
    "tensor(bool)": np.bool_,
}


class OnnxAdapter:
    def __init__(self, data: bytes) -> None:
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.intra_op_num_threads = 1
        options.inter_op_num_threads = 1
        try:
            self.session = ort.InferenceSession(
                data, sess_options=options, providers=["CPUExecutionProvider"]
            )
        except Exception as exc:  # onnxruntime raises its own exception types
            raise UnsupportedModel(f"not a valid ONNX model: {exc}") from None
        self.inputs = self.session.get_inputs()
        self.outputs = self.session.get_outputs()
        self._proba_index = next(
            (i for i, o in enumerate(self.outputs[1:], 1) if "prob" in o.name.lower()), None
        )
        self.tensors = _tensor_inputs(self.inputs)
        self.traits = self._traits()
        self.accepts_matrix = (
            not self.tensors and len(self.inputs) == 1 and len(self.inputs[0].shape) == 2
        )

    def _traits(self) -> ModelTraits:
        if self.tensors:
            names: tuple[str, ...] | None = tuple(name for name, _, _ in self.tensors)
            n_features: int | None = len(self.tensors)
        elif len(self.inputs) == 1 and len(self.inputs[0].shape) == 2:
            width = self.inputs[0].shape[1]
            n_features = width if isinstance(width, int) else None
            names = None
        else:
            names = tuple(i.name for i in self.inputs)
            n_features = len(names)
        label_type = self.outputs[0].type
        if self._proba_index is not None:
            kind = "classification"
        elif label_type in ("tensor(float)", "tensor(double)"):
            kind = "regression"
        else:
            kind = "other"
        has_proba = self._proba_index is not None
        if self.tensors:
            return ModelTraits(
                kind, None, has_proba, names, n_features, "tensor", tensors=self.tensors
            )
        return ModelTraits(kind, None, has_proba, names, n_features, "array")

    def _feed(self, frame: Table) -> dict[str, np.ndarray]:
        if self.tensors:  # one column per input, each row's array in it: stack the batch
            if not isinstance(frame, pd.DataFrame):
                raise UnsupportedModel("this ONNX model takes tensors: give a table of them")
            return {
                name: np.stack(frame[name].to_numpy()).astype(dtype, copy=False)
                for name, dtype, _ in self.tensors
            }
        if self.accepts_matrix:
            single = self.inputs[0]
            dtype = _NUMPY_TYPES.get(single.type, np.float32)
            if isinstance(frame, np.ndarray):
                return {single.name: frame.astype(dtype, copy=False)}
            return {single.name: frame.to_numpy(dtype=dtype)}
        if not isinstance(frame, pd.DataFrame):
            raise UnsupportedModel("this ONNX model takes one tensor per feature: give a table")
        return {
            i.name: frame[i.name]
            .to_numpy(dtype=_NUMPY_TYPES.get(i.type, np.float32))
            .reshape(-1, 1)
            for i in self.inputs
        }

    def predict(self, frame: Table) -> np.ndarray:
        result = self.session.run([self.outputs[0].name], self._feed(frame))[0]
        array = np.asarray(result)
        return array.ravel() if array.ndim == 2 and array.shape[1] == 1 else array

    def predict_proba(self, frame: Table) -> np.ndarray:
        if self._proba_index is None:
            raise UnsupportedModel("this ONNX model has no probability output")
        result = self.session.run([self.outputs[self._proba_index].name], self._feed(frame))[0]
        if isinstance(result, list):  # ZipMap: a list of {class: probability}
            keys = sorted(result[0]) if result else []
            return np.array([[row[k] for k in keys] for row in result], dtype=float)
        return np.asarray(result, dtype=float)


def _tensor_inputs(inputs: list[Any]) -> tuple[tuple[str, str, tuple[int | None, ...]], ...]:
    """The graph's inputs as tensors, when it takes more than a table: an input of three
    or more dimensions, or of two whose second is not fixed (a sequence of any length).
    A single ``[N, F]`` input stays a table of F features, as it always was."""
    shaped = [(i, list(i.shape)) for i in inputs if i.shape is not None]
    if len(shaped) != len(inputs) or not any(
        len(dims) > 2 or (len(dims) == 2 and not isinstance(dims[1], int)) for _, dims in shaped
    ):
        return ()
    if any(i.type not in _NUMPY_TYPES or i.type == "tensor(string)" for i in inputs):
        return ()
    return tuple(
        (
            i.name,
            np.dtype(_NUMPY_TYPES[i.type]).name,
            tuple(d if isinstance(d, int) and d > 0 else None for d in dims[1:]),
        )
        for i, dims in shaped
    )


class OnnxFlavor:
    name: str = "onnx"
    file_suffixes: tuple[str, ...] = (".onnx",)

    def detect(self, model: object) -> bool:
        return module_of(model) == "onnx" and type(model).__name__ == "ModelProto"

    def save(self, model: object, *, trust_types: bool) -> SavedModel:
        data: bytes = model.SerializeToString()  # type: ignore[attr-defined]
        OnnxAdapter(data)  # proves the graph loads before it is stored
        return SavedModel({MODEL_FILE: data}, {"format": "onnx"})

    def read_file(
        self,
        path: Path,
        *,
        trust_types: bool,
        trust_pickle: bool,
    ) -> SavedModel:
        data = path.read_bytes()
        try:
            OnnxAdapter(data)
        except UnsupportedModel as exc:
            if "external data" not in str(exc).lower():
                raise
            data = _with_external_data(path)
            OnnxAdapter(data)
        return SavedModel({MODEL_FILE: data}, {"format": "onnx"})

    def load(self, files: Mapping[str, bytes], meta: Mapping[str, Any]) -> OnnxAdapter:
        return OnnxAdapter(files[MODEL_FILE])

    def check_trust(
        self, meta: Mapping[str, Any], *, trust_types: bool, trust_pickle: bool
    ) -> Vetted:
        return Vetted(dict(meta))  # a data format: loading runs no code from the file

    def libraries(self) -> dict[str, str]:
        return {lib: package_version(lib) for lib in ("onnxruntime", "numpy")}


def _with_external_data(path: Path) -> bytes:
    """The graph with the weights it keeps in files beside it (ONNX external data: what
    ``mlflow.onnx`` writes for every weight over 1 KB, and exporters for big models), as
    one model; ``onnx`` reads them and refuses a location outside the graph's folder."""
    try:
        import onnx
        from onnx.external_data_helper import load_external_data_for_model
    except ImportError:
        raise UnsupportedModel(
            f"{path.name} keeps its weights in separate files (ONNX external data); "
            "install onnx (pip install 'modelyard[onnx]') to store them with the graph"
        ) from None
    try:
        model = onnx.load(str(path), load_external_data=False)
        load_external_data_for_model(model, str(path.parent))
        data: bytes = model.SerializeToString()
    except Exception as exc:  # onnx raises its own types (and ValueError past 2 GB)
        raise UnsupportedModel(f"{path.name}: its external data cannot be read: {exc}") from None
    return data
