import tarfile
from pathlib import Path

import pytest

from modelyard import Conflict, IntegrityError, InvalidInput, NotFound, Yard


@pytest.fixture
def filled(yard: Yard, logreg, forest, cancer, tmp_path: Path) -> Yard:
    X, _ = cancer
    data = tmp_path / "train.csv"
    X.to_csv(data, index=False)
    dataset = yard.add_dataset(data, "train")
    with yard.start_run(experiment="churn") as run:
        run.log_params({"C": 1.0})
        run.log_metric("auc", 0.97, step=1)
        yard.register(logreg, "churn", sample=X, run=run, datasets=[dataset])
    yard.register(forest, "churn", sample=X, metrics={"auc": 0.95})
    yard.set_alias("churn", "production", 1, reason="first")
    yard.set_alias("churn", "production", 2, reason="second")
    return yard


def _state(yard: Yard) -> dict[str, object]:
    return {
        "versions": [
            (v.ref, v.files, v.aliases, v.metrics, v.run_id, v.datasets)
            for v in yard.list_versions("churn")
        ],
        "history": [
            (e.seq, e.from_version, e.to_version, e.reason) for e in yard.alias_history("churn")
        ],
        "runs": [(r.id, r.params, r.metrics, r.status) for r in yard.list_runs()],
        "datasets": [(d.ref, d.sha256) for d in yard.list_datasets()],
    }


def test_round_trip_loses_nothing(filled: Yard, tmp_path: Path, cancer) -> None:
    archive = tmp_path / "backup.tar.gz"
    report = filled.backup(archive)
    assert report.rows["model_versions"] == 2
    with Yard(tmp_path / "restored", actor="restorer") as target:
        target.restore(archive)
        assert _state(target) == _state(filled)
        assert target.load("churn@production").predict(cancer[0].iloc[:3]).shape == (3,)
        target.set_alias("churn", "production", 1, reason="works after restore")
        assert target.alias_history("churn")[-1].seq > _state(filled)["history"][-1][0]


def test_restore_refuses_a_yard_that_is_not_empty(filled: Yard, tmp_path: Path) -> None:
    archive = tmp_path / "backup.tar.gz"
    filled.backup(archive)
    with pytest.raises(Conflict, match="not empty"):
        filled.restore(archive)


def test_backup_refuses_to_overwrite(filled: Yard, tmp_path: Path) -> None:
    archive = tmp_path / "backup.tar.gz"
    filled.backup(archive)
    with pytest.raises(Conflict, match="already exists"):
        filled.backup(archive)


def test_backup_of_a_corrupted_blob_fails_and_writes_nothing(filled: Yard, tmp_path: Path) -> None:
    version = filled.get_version("churn@1")
    blob = next((Path(filled.stores.artifacts.root) / "blobs").rglob(version.files[0].sha256))
    blob.write_bytes(b"rotted")
    archive = tmp_path / "backup.tar.gz"
    with pytest.raises(IntegrityError, match="corrupted"):
        filled.backup(archive)
    assert not archive.exists()


def test_restore_rejects_tampered_and_foreign_archives(filled: Yard, tmp_path: Path) -> None:
    archive = tmp_path / "backup.tar.gz"
    filled.backup(archive)
    tampered = tmp_path / "tampered.tar.gz"
    with tarfile.open(archive) as src, tarfile.open(tampered, "w:gz") as dst:
        for info in src:
            handle = src.extractfile(info)
            data = handle.read() if handle else b""
            if info.name == "db/models.jsonl":
                data = data.replace(b"churn", b"chern")
            info.size = len(data)
            import io

            dst.addfile(info, io.BytesIO(data))
    with Yard(tmp_path / "t1") as target, pytest.raises(IntegrityError, match="corrupted"):
        target.restore(tampered)
    garbage = tmp_path / "garbage.tar.gz"
    garbage.write_bytes(b"\x1f\x8b not really gzip")
    with Yard(tmp_path / "t2") as target, pytest.raises(InvalidInput, match="not a readable"):
        target.restore(garbage)
    with Yard(tmp_path / "t3") as target, pytest.raises(NotFound, match="no such file"):
        target.restore(tmp_path / "missing.tar.gz")


def test_restore_rejects_path_traversal_members(tmp_path: Path) -> None:
    import io

    import orjson

    hostile = tmp_path / "hostile.tar.gz"
    with Yard(tmp_path / "probe") as probe:
        revision = probe.stores.db.schema_revision()
    manifest = orjson.dumps(
        {"format": "modelyard-backup/1", "schema_revision": revision, "members": {}}
    )
    with tarfile.open(hostile, "w:gz") as tar:
        for name, data in (("manifest.json", manifest), ("../../etc/evil", b"x")):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    with Yard(tmp_path / "t") as target, pytest.raises(InvalidInput, match="unexpected member"):
        target.restore(hostile)
    assert not (tmp_path / "etc").exists()


def test_backup_and_restore_report_progress(filled: Yard, tmp_path: Path) -> None:
    seen: list[tuple[int, int]] = []
    archive = tmp_path / "backup.tar.gz"
    report = filled.backup(archive, progress=lambda done, total: seen.append((done, total)))
    assert seen[-1] == (report.blobs, report.blobs)
    restored: list[tuple[int, int]] = []
    with Yard(tmp_path / "restored") as target:
        target.restore(archive, progress=lambda done, total: restored.append((done, total)))
    assert restored == seen
