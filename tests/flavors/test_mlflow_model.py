"""MLflow model folders, written by a real MLflow, read without it."""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from tests.flavors.mlflow_dirs import (
    Data,
    edit_mlmodel,
    example_rows,
    pyfunc_predict,
    quiet,
    save_lightgbm_booster,
    save_onnx,
    save_sklearn,
    save_xgboost,
    small,
)

from modelyard.domain.signature import FeatureSpec, OutputSpec, Signature
from modelyard.errors import (
    InvalidInput,
    NotFound,
    SchemaMismatch,
    UnsupportedModel,
    UntrustedContent,
)
from modelyard.flavors.mlflow_model import read_model
from modelyard.flavors.mlflow_schema import Declared, declared_inputs, read_input_example

pytest.importorskip("mlflow")


@pytest.fixture(scope="module")
def folders(tmp_path_factory: pytest.TempPathFactory, cancer: Data) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("mlflow")
    return {
        "sklearn": save_sklearn(root / "sklearn", cancer),
        "pickle": save_sklearn(root / "pickle", cancer, "cloudpickle"),
        "xgboost": save_xgboost(root / "xgboost", cancer),
        "onnx": save_onnx(root / "onnx", cancer),
        "lightgbm": save_lightgbm_booster(root / "lightgbm", cancer),
    }


Copy = Callable[[str], Path]


@pytest.fixture
def copy(folders: dict[str, Path], tmp_path: Path) -> Copy:
    def make(kind: str) -> Path:
        return Path(shutil.copytree(folders[kind], tmp_path / kind))

    return make


@pytest.mark.parametrize(
    ("kind", "flavor", "trust_pickle"),
    [
        ("sklearn", "sklearn", False),
        ("pickle", "sklearn", True),
        ("xgboost", "xgboost", False),
        ("onnx", "onnx", False),
        ("lightgbm", "lightgbm", False),
    ],
)
def test_each_flavor_loads_and_predicts_what_mlflow_predicts(
    folders: dict[str, Path], cancer: Data, kind: str, flavor: str, trust_pickle: bool
) -> None:
    X, _ = small(cancer)
    model = read_model(folders[kind], trust_types=False, trust_pickle=trust_pickle)
    assert model.flavor.name == flavor
    adapter = model.flavor.load(model.saved.files, model.saved.meta)
    rows = X.to_numpy(dtype=np.float32) if kind == "onnx" else X
    np.testing.assert_allclose(adapter.predict(rows), pyfunc_predict(folders[kind], rows))


def test_requirements_and_conda_are_kept_as_text(folders: dict[str, Path]) -> None:
    provenance = read_model(folders["xgboost"], trust_types=False, trust_pickle=False).provenance()
    assert provenance["requirements"][-1] == "xgboost"
    assert "xgboost" in provenance["conda"]
    assert provenance["flavor"] == "xgboost"
    assert provenance["python_version"]


def test_column_signature_and_split_example(folders: dict[str, Path], cancer: Data) -> None:
    X, y = small(cancer)
    document = read_model(folders["sklearn"], trust_types=False, trust_pickle=False).document
    declared = declared_inputs(folders["sklearn"], document)
    assert declared is not None
    assert [(f.name, f.kind, f.nullable) for f in declared.features] == [
        (name, "float", False) for name in X.columns
    ]
    sample = read_input_example(folders["sklearn"], document, declared)
    assert isinstance(sample, pd.DataFrame)
    pd.testing.assert_frame_equal(sample, example_rows(X, y).reset_index(drop=True))


def test_tensor_signature_and_ndarray_example(folders: dict[str, Path]) -> None:
    document = read_model(folders["onnx"], trust_types=False, trust_pickle=False).document
    declared = declared_inputs(folders["onnx"], document)
    assert declared is not None
    assert declared.positional
    assert [f.name for f in declared.features] == ["f0", "f1", "f2", "f3", "f4"]
    sample = read_input_example(folders["onnx"], document, declared)
    assert isinstance(sample, np.ndarray)
    assert (sample.shape, sample.dtype) == ((8, 5), np.float32)


def test_records_orientation_is_read(copy: Copy, cancer: Data) -> None:
    folder = copy("sklearn")
    X, y = small(cancer)
    example_rows(X, y).to_json(folder / "input_example.json", orient="records")
    edit_mlmodel(folder, lambda d: d["saved_input_example_info"].update(pandas_orient="records"))
    document = read_model(folder, trust_types=False, trust_pickle=False).document
    sample = read_input_example(folder, document, declared_inputs(folder, document))
    assert isinstance(sample, pd.DataFrame)
    assert list(sample.columns) == list(X.columns)
    assert len(sample) == 8


def _declared_with(folder: Path, specs: list[dict[str, object]]) -> Declared | None:
    edit_mlmodel(folder, lambda d: d["signature"].update(inputs=json.dumps(specs)))
    document = read_model(folder, trust_types=False, trust_pickle=False).document
    return declared_inputs(folder, document)


def _tensor(shape: list[int], dtype: str = "float32", **more: object) -> dict[str, object]:
    return {"type": "tensor", "tensor-spec": {"dtype": dtype, "shape": shape}, **more}


def test_an_image_tensor_is_a_tensor_input(copy: Copy) -> None:
    declared = _declared_with(copy("onnx"), [_tensor([-1, 3, 32, -1], name="image")])
    assert declared is not None
    assert declared.takes_tensors
    [image] = declared.tensors
    assert (image.name, image.kind, image.dtype, image.shape) == (
        "image",
        "tensor",
        "float32",
        (3, 32, None),
    )
    table = Signature((FeatureSpec("f0", "float", False),), OutputSpec("regression"))
    with pytest.raises(UnsupportedModel, match=r"tensor 'image' of shape \[-1, 3, 32, -1\]"):
        declared.apply(table)
    model = Signature(
        (FeatureSpec("pixels", "tensor", False, dtype="float32", shape=(3, None, 32)),),
        OutputSpec("regression"),
        input_format="tensor",
    )
    assert declared.apply(model).inputs[0].shape == (3, 32, 32)  # each side's fixed sizes
    wrong = replace(model, inputs=(replace(model.inputs[0], dtype="float64"),), _index={})
    with pytest.raises(SchemaMismatch, match="'pixels' as float32, the model takes float64"):
        declared.apply(wrong)
    other = replace(model, inputs=(replace(model.inputs[0], shape=(4, 32, 32)),), _index={})
    with pytest.raises(SchemaMismatch, match=r"shape \[-1, 3, 32, -1\], the model takes"):
        declared.apply(other)


@pytest.mark.parametrize(
    ("specs", "kinds"),
    [
        ([_tensor([-1], "str", name="review")], {"review": "open"}),
        ([_tensor([-1, 2], "object")], {"f0": "open", "f1": "open"}),
    ],
)
def test_string_tensors_of_one_value_per_row_or_a_table_are_strings(copy, specs, kinds) -> None:
    declared = _declared_with(copy("onnx"), specs)
    assert declared is not None
    assert {f.name: f.kind for f in declared.features} == kinds


@pytest.mark.parametrize(
    ("specs", "rule"),
    [
        ([_tensor([-1, 4, 4], "str", name="grid")], "string tensor 'grid' of shape [-1, 4, 4]"),
        ([_tensor([10, 5])], "shape [10, 5] cannot be mapped: its first dimension must be -1"),
        ([_tensor([-1], "datetime64[ns]")], "of datetime64[ns] cannot be mapped"),
    ],
)
def test_tensors_that_cannot_be_mapped_are_named(copy: Copy, specs, rule: str) -> None:
    with pytest.raises(UnsupportedModel, match=re.escape(rule)):
        _declared_with(copy("onnx"), specs)


def test_a_column_type_without_a_kind_is_named(copy: Copy) -> None:
    folder = copy("sklearn")
    spec = '[{"type": "datetime", "name": "signup", "required": true}]'
    edit_mlmodel(folder, lambda d: d["signature"].update(inputs=spec))
    document = read_model(folder, trust_types=False, trust_pickle=False).document
    with pytest.raises(UnsupportedModel, match="column 'signup' has type 'datetime'"):
        declared_inputs(folder, document)


@pytest.mark.parametrize(
    ("field", "value", "match"),
    [
        ("pickled_model", "../outside.skops", "points outside the model folder"),
        ("pickled_model", "/etc/passwd", "points outside the model folder"),
        ("pickled_model", "gone.skops", "no such file"),
    ],
)
def test_the_model_file_must_be_inside_and_present(
    copy: Copy, field: str, value: str, match: str
) -> None:
    folder = copy("sklearn")
    edit_mlmodel(folder, lambda d: d["flavors"]["sklearn"].update({field: value}))
    with pytest.raises((InvalidInput, NotFound), match=match):
        read_model(folder, trust_types=False, trust_pickle=False)


def test_a_symbolic_link_out_of_the_folder_is_refused(copy: Copy, tmp_path: Path) -> None:
    folder = copy("onnx")
    outside = tmp_path / "elsewhere.onnx"
    (folder / "model.onnx").rename(outside)
    (folder / "model.onnx").symlink_to(outside)
    with pytest.raises(InvalidInput, match="resolves outside the model folder"):
        read_model(folder, trust_types=False, trust_pickle=False)


def test_a_pickle_needs_the_flag(folders: dict[str, Path]) -> None:
    with pytest.raises(UntrustedContent, match="cloudpickle file: loading it runs arbitrary code"):
        read_model(folders["pickle"], trust_types=False, trust_pickle=False)


def test_an_unknown_flavor_is_named(copy: Copy) -> None:
    folder = copy("xgboost")
    edit_mlmodel(folder, lambda d: d.update(flavors={"pytorch": {"model_data": "data"}}))
    with pytest.raises(UnsupportedModel, match="unknown flavor pytorch"):
        read_model(folder, trust_types=False, trust_pickle=False)


@pytest.mark.parametrize(
    ("kind", "meta"),
    [("xgboost", {"classifier": True}), ("sklearn", {"format": "skops"})],
)
def test_python_function_alone_is_read_through_its_loader(
    copy: Copy, folders: dict[str, Path], cancer: Data, kind: str, meta: dict[str, object]
) -> None:
    folder = copy(kind)
    edit_mlmodel(folder, lambda d: d["flavors"].pop(kind))
    model = read_model(folder, trust_types=False, trust_pickle=False)
    assert model.flavor.name == kind
    assert {k: model.saved.meta[k] for k in meta} == meta
    X, _ = small(cancer)
    adapter = model.flavor.load(model.saved.files, model.saved.meta)
    np.testing.assert_array_equal(adapter.predict(X), pyfunc_predict(folders[kind], X))


def test_custom_python_code_is_refused(copy: Copy) -> None:
    folder = copy("sklearn")
    pyfunc = {"loader_module": "mlflow.pyfunc.model", "python_model": "python_model.pkl"}
    edit_mlmodel(folder, lambda d: d.update(flavors={"python_function": pyfunc}))
    with pytest.raises(UnsupportedModel, match=r"loader_module 'mlflow\.pyfunc\.model'"):
        read_model(folder, trust_types=False, trust_pickle=False)


def test_malformed_yaml_and_a_missing_mlmodel(copy: Copy, tmp_path: Path) -> None:
    folder = copy("onnx")
    (folder / "MLmodel").write_text("flavors:\n  onnx: [unclosed\n")
    with pytest.raises(InvalidInput, match="malformed YAML at line"):
        read_model(folder, trust_types=False, trust_pickle=False)
    with pytest.raises(NotFound, match="no MLmodel file"):
        read_model(tmp_path, trust_types=False, trust_pickle=False)


def test_a_lightgbm_sklearn_model_needs_the_types_flag_then_becomes_text(
    tmp_path: Path, cancer: Data
) -> None:
    import lightgbm
    import mlflow.lightgbm

    X, y = small(cancer)
    with quiet():
        mlflow.lightgbm.save_model(
            lightgbm.LGBMClassifier(n_estimators=8, verbose=-1).fit(X, y),
            str(tmp_path / "lgbm"),
            input_example=X.head(3),
            pip_requirements=["lightgbm"],
        )
    with pytest.raises(UntrustedContent, match=r"lightgbm\.basic\.Booster"):
        read_model(tmp_path / "lgbm", trust_types=False, trust_pickle=False)
    model = read_model(tmp_path / "lgbm", trust_types=True, trust_pickle=False)
    assert model.saved.meta["format"] == "lightgbm-text"
    assert "lightgbm.sklearn.LGBMClassifier" in model.saved.trusted_by_flag
    adapter = model.flavor.load(model.saved.files, model.saved.meta)
    np.testing.assert_array_equal(adapter.predict(X), pyfunc_predict(tmp_path / "lgbm", X))


def test_a_tensor_of_unknown_width_is_told_by_the_model(copy: Copy) -> None:
    declared = _declared_with(copy("onnx"), [_tensor([-1, -1])])
    assert declared is not None
    assert (declared.features, declared.dtype) == ((), "float32")
