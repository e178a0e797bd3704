"""``modelyard register --feature NAME=KIND``: kinds over the inferred ones, shown by
``models show``; a mistake is one line and nothing is registered."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest
import skops.io as sio

from tests.cli.conftest import Invoke, assert_one_line_error
from tests.kind_models import colour_model


@pytest.fixture
def files(tmp_path: Path) -> tuple[Path, Path]:
    model, frame = colour_model("ignore")
    model_file, sample = tmp_path / "paint.skops", tmp_path / "paint.csv"
    sio.dump(model, model_file)
    frame.to_csv(sample, index=False)
    return model_file, sample


def _register(cli: Invoke, files: tuple[Path, Path], *features: str):
    model_file, sample = files
    extra = [arg for f in features for arg in ("--feature", f)]
    return cli("register", str(model_file), "-n", "paint", "--sample", str(sample), *extra)


def test_features_override_and_show_their_kind(cli: Invoke, files) -> None:
    inferred = _register(cli, files)
    assert inferred.exit_code == 0, inferred.output
    overridden = _register(cli, files, "color=text", "size=numeric")
    assert overridden.exit_code == 0, overridden.output
    first = orjson.loads(cli("models", "show", "paint@1", "--json").output)
    second = orjson.loads(cli("models", "show", "paint@2", "--json").output)
    assert [f["kind"] for f in first["signature"]["inputs"]] == ["open", "float"]
    assert [f["kind"] for f in second["signature"]["inputs"]] == ["text", "float"]
    shown = cli("models", "show", "paint@1")
    assert "category (open)" in shown.output


@pytest.mark.parametrize(
    ("feature", "message"),
    [
        ("colour=open", "no column 'colour' in the sample"),
        ("color=blob", "unknown kind 'blob'"),
        ("color=numeric", "kind 'float' cannot hold the sample's values"),
        ("color", "--feature 'color': expected KEY=VALUE"),
    ],
)
def test_a_bad_feature_is_one_line_and_registers_nothing(cli: Invoke, files, feature, message):
    assert_one_line_error(_register(cli, files, feature), 2, message)
    assert orjson.loads(cli("models", "list", "--json").output) == []
