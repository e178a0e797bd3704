"""Archives are outside data: a restore must not be a way to smuggle code or broken rows."""

from __future__ import annotations

import io
import tarfile
from pathlib import Path

import joblib
import orjson
import pytest
from sqlalchemy import text
from tests.store.hostile_archives import rewrite, versions_meta

from modelyard import IntegrityError, InvalidInput, UntrustedContent, Yard


@pytest.fixture
def archive(sqlite_yard: Yard, logreg, cancer, tmp_path: Path) -> Path:
    sqlite_yard.register(logreg, "churn", sample=cancer[0])
    return sqlite_yard.backup(tmp_path / "good.tar.gz").path


def test_a_version_turned_into_a_pickle_is_refused(archive: Path, tmp_path: Path) -> None:
    hostile = rewrite(
        archive, tmp_path / "h.tar.gz", versions_meta(lambda meta: meta.update(format="pickle"))
    )
    with Yard(tmp_path / "target") as target:
        with pytest.raises(UntrustedContent, match="--trust-pickle"):
            target.restore(hostile)
        assert target.list_models() == []


def test_foreign_trusted_types_need_the_flag(archive: Path, tmp_path: Path) -> None:
    hostile = rewrite(
        archive,
        tmp_path / "h.tar.gz",
        versions_meta(
            lambda meta: meta.update(trusted_types=["os.system"], foreign_types_trusted=True)
        ),
    )
    with Yard(tmp_path / "target") as target:
        with pytest.raises(UntrustedContent, match=r"os\.system"):
            target.restore(hostile)
        target.restore(hostile, trust_types=True)
        assert target.audit(action="restore")[0].details["trusted_types"] is True


def test_rows_referencing_blobs_the_archive_lacks_are_refused(
    archive: Path, tmp_path: Path
) -> None:
    hostile = rewrite(
        archive,
        tmp_path / "h.tar.gz",
        lambda name, data: None if name.startswith("blobs/") else data,
    )
    with Yard(tmp_path / "target") as target:
        with pytest.raises(IntegrityError, match="does not hold"):
            target.restore(hostile)
        assert target.list_models() == []


@pytest.mark.parametrize(
    ("line", "message"),
    [
        (b"{not json", "is not JSON"),
        (b'{"id": 1, "name": "x", "unknown": 1}', "does not match this schema"),
        (
            b'{"id": 1, "name": "x", "description": "", "latest_version": 0, '
            b'"created_at": "yesterday"}',
            "is not a timestamp",
        ),
        (
            b'{"id": 1, "name": "x", "description": "", "latest_version": 0, '
            b'"created_at": "2026-01-01T00:00:00"}',
            "is not a timestamp with a time zone",
        ),
    ],
)
def test_malformed_rows_are_invalid_input(
    archive: Path, tmp_path: Path, line: bytes, message: str
) -> None:
    hostile = rewrite(
        archive,
        tmp_path / "h.tar.gz",
        lambda name, data: line + b"\n" if name == "db/models.jsonl" else data,
    )
    with Yard(tmp_path / "target") as target, pytest.raises(InvalidInput, match=message):
        target.restore(hostile)


def test_an_archive_from_another_schema_revision_is_refused(archive: Path, tmp_path: Path) -> None:
    with tarfile.open(archive) as tar:
        handle = tar.extractfile("manifest.json")
        assert handle is not None
        manifest = orjson.loads(handle.read())
    manifest["schema_revision"] = "9999"
    other = tmp_path / "other.tar.gz"
    with tarfile.open(archive) as src, tarfile.open(other, "w:gz") as dst:
        for info in src:
            data = (
                orjson.dumps(manifest)
                if info.name == "manifest.json"
                else src.extractfile(info).read()
            )  # type: ignore[union-attr]
            info.size = len(data)
            dst.addfile(info, io.BytesIO(data))
    with Yard(tmp_path / "target") as target, pytest.raises(InvalidInput, match="'9999'"):
        target.restore(other)


def test_load_refuses_a_row_whose_trust_list_was_edited(sqlite_yard: Yard, logreg, cancer) -> None:
    sqlite_yard.register(logreg, "churn", sample=cancer[0])
    with sqlite_yard.stores.db.engine.begin() as conn:
        conn.execute(
            text("UPDATE model_versions SET flavor_meta = :m"),
            {"m": '{"format": "skops", "trusted_types": ["builtins.eval"]}'},
        )
    with pytest.raises(UntrustedContent, match=r"builtins\.eval"):
        sqlite_yard.load("churn@1")


def test_a_trusted_pickle_survives_a_round_trip_only_with_the_flag(
    sqlite_yard: Yard, logreg, cancer, tmp_path: Path
) -> None:
    pickled = tmp_path / "model.joblib"
    joblib.dump(logreg, pickled)
    sqlite_yard.register_file(pickled, "churn", trust_pickle=True)
    archive = sqlite_yard.backup(tmp_path / "b.tar.gz").path
    with Yard(tmp_path / "t1") as target, pytest.raises(UntrustedContent, match="pickle"):
        target.restore(archive)
    with Yard(tmp_path / "t2") as target:
        target.restore(archive, trust_pickle=True)
        assert target.load("churn@1").predict(cancer[0].iloc[:2]).shape == (2,)
