"""Crafted .skops files that name library functions run no code: not at registration, not
at load, whatever the version row claims about them."""

from __future__ import annotations

import importlib
import inspect
import re
import sys
from pathlib import Path

import numpy as np
import pytest
import skops.io as sio
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sklearn.linear_model import LogisticRegression
from sqlalchemy import text
from tests.flavors.crafted_skops import (
    RUNSTRING,
    empty_dict_node,
    json_node,
    named_node,
    planted,
    touch_code,
    touching,
)

from modelyard import UntrustedContent, Yard
from modelyard.flavors.sklearn import MODEL_FILE, SklearnFlavor
from modelyard.flavors.skops_trust import ALLOWED

ROOTS = ("numpy", "scipy", "sklearn")
LOADERS = ("ConstructorFromReduceNode", "FunctionNode", "TypeNode", "ObjectNode")


def _library_functions() -> list[str]:
    """Every plain function defined in a loaded numpy, scipy or scikit-learn module."""
    for extra in ("numpy.testing", "scipy.io", "scipy.stats", "sklearn.datasets", "sklearn.utils"):
        importlib.import_module(extra)
    found = set()
    for module_name, module in list(sys.modules.items()):
        if module is None or module_name.split(".", 1)[0] not in ROOTS:
            continue
        try:
            members = inspect.getmembers(module, inspect.isfunction)
        except Exception:  # lazy modules may fail to list themselves; others are plenty
            continue
        found.update(
            f"{module_name}.{name}"
            for name, function in members
            if function.__module__ == module_name and "." not in name
        )
    return sorted(found)


FUNCTIONS = _library_functions()


@pytest.fixture(scope="module")
def dumped() -> bytes:
    rng = np.random.default_rng(0)
    model = LogisticRegression().fit(rng.normal(size=(40, 3)), [0, 1] * 20)
    return sio.dumps(model)


@pytest.fixture(scope="module")
def marker(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("crafted") / "MARKER"


def test_the_generator_names_thousands_of_functions_and_none_is_allowed() -> None:
    assert RUNSTRING in FUNCTIONS
    assert len(FUNCTIONS) > 1000
    assert not set(FUNCTIONS) & set(ALLOWED)


@settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    function=st.one_of(st.just(RUNSTRING), st.sampled_from(FUNCTIONS)),
    loader=st.sampled_from(LOADERS),
    as_key_type=st.booleans(),
)
def test_a_file_naming_a_library_function_is_refused_at_registration_and_at_load(
    dumped: bytes, marker: Path, function: str, loader: str, as_key_type: bool
) -> None:
    # Called, runstring would exec code that creates the marker; other functions get its path.
    if function == RUNSTRING:
        args = (json_node(touch_code(marker)), empty_dict_node())
    else:
        args = (json_node(str(marker)),)
    crafted = planted(dumped, named_node(function, loader, *args), as_key_type=as_key_type)
    path = marker.parent / "crafted.skops"
    path.write_bytes(crafted)
    flavor = SklearnFlavor()
    named = re.escape(function)
    with pytest.raises(UntrustedContent, match=named):
        flavor.read_file(path, trust_types=False, trust_pickle=False)
    # A restored or edited row claiming the function is trusted, in the old and new forms.
    for meta in (
        {"format": "skops", "trusted_types": [function], "foreign_types_trusted": True},
        {"format": "skops", "trusted_types": [function], "allow_list": 1, "trusted_by_flag": []},
    ):
        with pytest.raises(UntrustedContent, match=named):
            flavor.load({MODEL_FILE: crafted}, meta)
    assert not marker.exists()


def test_the_crafted_file_does_run_code_once_trusted_explicitly(
    dumped: bytes, tmp_path: Path
) -> None:
    """The oracle above means something: the same file, trusted by flag, writes the marker."""
    marker = tmp_path / "MARKER"
    path = tmp_path / "crafted.skops"
    path.write_bytes(planted(dumped, touching(marker)))
    flavor = SklearnFlavor()
    saved = flavor.read_file(path, trust_types=True, trust_pickle=False)
    assert saved.trusted_by_flag == (RUNSTRING,)
    assert not marker.exists()  # reading and vetting the file built nothing
    flavor.load(saved.files, saved.meta)
    assert marker.exists()


def test_registering_the_crafted_file_stores_nothing_and_runs_nothing(
    sqlite_yard: Yard, dumped: bytes, tmp_path: Path
) -> None:
    marker = tmp_path / "MARKER"
    path = tmp_path / "crafted.skops"
    path.write_bytes(planted(dumped, touching(marker)))
    sample = np.zeros((3, 3))
    with pytest.raises(UntrustedContent, match=r"runstring, outside .* allow-list"):
        sqlite_yard.register_file(path, "evil", sample=sample)
    assert sqlite_yard.list_models() == []
    assert not marker.exists()


def test_a_row_written_by_the_old_rule_is_refused_at_load(
    sqlite_yard: Yard, dumped: bytes, tmp_path: Path
) -> None:
    """What the old rule stored for the crafted file (a numpy type, so "trusted") no longer
    loads: the yard that served it after a restore now refuses it."""
    marker = tmp_path / "MARKER"
    sqlite_yard.register_file(_file(tmp_path, dumped), "churn")
    blob = sqlite_yard.stores.artifacts.put_bytes(planted(dumped, touching(marker)))
    with sqlite_yard.stores.db.engine.begin() as conn:
        conn.execute(
            text("UPDATE files SET sha256 = :sha, size = :size WHERE name = :name"),
            {"sha": blob.sha256, "size": blob.size, "name": MODEL_FILE},
        )
        conn.execute(
            text("UPDATE model_versions SET flavor_meta = :meta"),
            {
                "meta": f'{{"format": "skops", "trusted_types": ["{RUNSTRING}"], '
                '"foreign_types_trusted": false}'
            },
        )
    with pytest.raises(UntrustedContent, match=r"runstring, outside the skops allow-list"):
        sqlite_yard.load("churn@1")
    assert not marker.exists()


def _file(tmp_path: Path, data: bytes) -> Path:
    path = tmp_path / "model.skops"
    path.write_bytes(data)
    return path
