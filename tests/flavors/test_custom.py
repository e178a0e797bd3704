"""Custom Python models: registered with their code and artifacts, loaded from the verified
copy in a namespace of their own, refused in one line when they misbehave."""

from __future__ import annotations

import sys
import types
from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.flavors.custom_sources import (
    base_model,
    churn_data,
    expected,
    forget_user_modules,
    import_user_module,
    write_code,
)

from modelyard import (
    InvalidInput,
    NotFound,
    SchemaMismatch,
    UnsupportedModel,
    UntrustedContent,
    Yard,
)


@pytest.fixture
def code(tmp_path: Path) -> Iterator[dict[str, Path]]:
    yield write_code(tmp_path / "src")
    forget_user_modules(tmp_path / "src")


@pytest.fixture
def based(sqlite_yard: Yard):  # type: ignore[no-untyped-def]
    frame, labels = churn_data()
    base = base_model(frame, labels)
    version = sqlite_yard.register(base, "base", sample=frame.assign(ratio=frame.a / (frame.b + 1)))
    sqlite_yard.set_alias("base", "production", version.version)
    return base, frame


def _register(yard: Yard, code: dict[str, Path], model: object, **kwargs: object):  # type: ignore[no-untyped-def]
    return yard.register(
        model,
        "churn",
        code=[code["churn_model"], code["churn_features"]],
        artifacts={"base": "base@production", "rules": str(code["rules"])},
        **kwargs,
    )


def test_pre_and_post_processing_around_a_registered_model(sqlite_yard: Yard, code, based) -> None:
    base, frame = based
    churn = import_user_module(code["churn_model"]).Churn(threshold=0.7)  # type: ignore[attr-defined]
    version = _register(sqlite_yard, code, churn, sample=frame)
    assert version.flavor == "python"
    assert version.flavor_meta["class"] == "churn_model:Churn"
    assert version.flavor_meta["state"] == {"threshold": 0.7}
    assert version.flavor_meta["artifacts"]["base"]["ref"] == "base@1"  # the alias, resolved
    names = {f.name for f in version.files}
    assert {"code/churn_model.py", "code/churn_features.py", "artifacts/rules"} <= names
    assert "models/base/model.skops" in names
    packages = version.flavor_meta["packages"]  # what the code imports, with versions
    assert set(packages) == {"numpy", "modelyard"}
    assert version.provenance["libraries"]["numpy"] == packages["numpy"]
    answers = sqlite_yard.load("churn@1").predict(frame.head(50))
    assert list(answers) == expected(base, frame.head(50), 0.7)
    assert {"keep", "call", "wait"} <= set(answers)  # the rule and the threshold both show


def test_the_stored_code_runs_not_the_file_on_disk(
    sqlite_yard: Yard, code, based, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Neither the edited file nor the process's own ``churn_features`` module is used."""
    base, frame = based
    churn = import_user_module(code["churn_model"]).Churn()  # type: ignore[attr-defined]
    _register(sqlite_yard, code, churn, sample=frame)
    code["churn_features"].write_text("def with_ratio(frame):\n    raise SystemExit('edited')\n")
    impostor = types.ModuleType("churn_features")
    impostor.with_ratio = lambda frame: 1 / 0  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "churn_features", impostor)
    monkeypatch.syspath_prepend(str(code["churn_features"].parent))
    sqlite_yard.set_alias("base", "production", sqlite_yard.register(base, "base").version)
    answers = sqlite_yard.load("churn@1").predict(frame.head(20))
    assert list(answers) == expected(base, frame.head(20), 0.5)
    assert sqlite_yard.get_version("churn@1").flavor_meta["artifacts"]["base"]["ref"] == "base@1"


@pytest.mark.parametrize(
    ("cls", "message"),
    [
        ("Short", r"Short\.predict returned 49 rows for 50 rows"),
        ("Raises", "no churn today"),
        ("Sneaky", "module 'helper_beside' is not among the code files or installed packages"),
    ],
)
def test_a_misbehaving_model_is_refused_whole(
    sqlite_yard: Yard, code, based, cls: str, message: str
) -> None:
    frame = based[1].head(50)
    model = getattr(import_user_module(code["bad_models"]), cls)()
    sys.path.insert(0, str(code["helper_beside"].parent))  # importable here, yet refused
    try:
        with pytest.raises(SchemaMismatch, match=message) as refused:
            sqlite_yard.register(model, "churn", code=[code["bad_models"]], sample=frame)
    finally:
        sys.path.remove(str(code["helper_beside"].parent))
    assert "\n" not in str(refused.value)
    with pytest.raises(NotFound):
        sqlite_yard.get_version("churn")  # nothing half-registered


def test_an_import_beside_the_code_is_refused_before_anything_runs(
    sqlite_yard: Yard, code, based
) -> None:
    sys.path.insert(0, str(code["static_import"].parent))
    try:
        model = import_user_module(code["static_import"]).Static()  # type: ignore[attr-defined]
        with pytest.raises(InvalidInput, match="imports 'helper_beside', which is neither"):
            sqlite_yard.register(model, "churn", code=[code["static_import"]], sample=based[1])
    finally:
        sys.path.remove(str(code["static_import"].parent))
    assert [m.name for m in sqlite_yard.list_models()] == ["base"]


def test_the_class_must_come_from_the_code_files(sqlite_yard: Yard, code, based) -> None:
    churn = import_user_module(code["churn_model"]).Churn()  # type: ignore[attr-defined]
    with pytest.raises(InvalidInput, match=r"Churn is defined in .*churn_model\.py, not in one"):
        sqlite_yard.register(churn, "churn", code=[code["churn_features"]], sample=based[1])
    churn.cache = object()
    with pytest.raises(InvalidInput, match="Churn's attributes must be JSON values"):
        _register(sqlite_yard, code, churn, sample=based[1])
    with pytest.raises(UnsupportedModel, match="register it with its code files"):
        sqlite_yard.register(churn, "churn", sample=based[1])
    with pytest.raises(NotFound, match="model 'nope' not found"):
        sqlite_yard.register(
            import_user_module(code["churn_model"]).Churn(),  # type: ignore[attr-defined]
            "churn",
            code=[code["churn_model"], code["churn_features"]],
            artifacts={"base": "nope@production", "rules": str(code["rules"])},
            sample=based[1],
        )


def test_registering_code_is_audited(sqlite_yard: Yard, code, based) -> None:
    churn = import_user_module(code["churn_model"]).Churn()  # type: ignore[attr-defined]
    _register(sqlite_yard, code, churn, sample=based[1])
    (event,) = sqlite_yard.audit(target="churn", action="register")
    assert event.details["custom_code"] == ["code/churn_features.py", "code/churn_model.py"]
    assert event.details["artifacts"] == {"base": "base@1", "rules": "rules.json"}


def test_restoring_custom_code_takes_the_pickle_flag(
    sqlite_yard: Yard, code, based, tmp_path: Path
) -> None:
    base, frame = based
    churn = import_user_module(code["churn_model"]).Churn()  # type: ignore[attr-defined]
    _register(sqlite_yard, code, churn, sample=frame)
    sqlite_yard.backup(archive := tmp_path / "yard.tar.gz")
    refused = pytest.raises(UntrustedContent, match="churn@1: a version is custom Python code")
    with Yard(tmp_path / "elsewhere") as target, refused:
        target.restore(archive)
    with Yard(tmp_path / "trusting") as target:
        target.restore(archive, trust_pickle=True)
        answers = target.load("churn@1").predict(frame.head(20))
    assert list(answers) == expected(base, frame.head(20), 0.5)
