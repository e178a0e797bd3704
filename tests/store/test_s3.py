"""The artifact store on S3, against a real S3-protocol server process (moto_server)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.s3_server import CREDENTIALS

from modelyard import IntegrityError, Yard

pytestmark = pytest.mark.slow


@pytest.fixture
def s3_yard(s3_endpoint: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Yard]:
    import s3fs

    for key, value in {
        "AWS_ENDPOINT_URL": s3_endpoint,
        **CREDENTIALS,
    }.items():
        monkeypatch.setenv(key, value)
    bucket = f"yard-{tmp_path.name.lower().replace('_', '-')[-40:]}"
    s3fs.S3FileSystem(skip_instance_cache=True).mkdir(bucket)
    with Yard(tmp_path / "home", artifacts=f"s3://{bucket}/prefix") as yard:
        yield yard


def test_register_and_load_through_s3(s3_yard: Yard, logreg, cancer) -> None:
    X, _ = cancer
    version = s3_yard.register(logreg, "churn", sample=X)
    stored = {b.sha256 for b in s3_yard.stores.artifacts.list_blobs()}
    assert stored == {f.sha256 for f in version.files}
    assert (s3_yard.load("churn@1").predict(X.iloc[:5]) == logreg.predict(X.iloc[:5])).all()


def test_corrupted_s3_object_is_never_loaded(s3_yard: Yard, logreg, cancer) -> None:
    version = s3_yard.register(logreg, "churn", sample=cancer[0])
    model_file = version.file("model.skops")
    s3_yard.stores.artifacts.fs.pipe_file(
        f"{s3_yard.stores.artifacts.root}/blobs/{model_file.sha256[:2]}/{model_file.sha256}",
        b"evil",
    )
    with pytest.raises(IntegrityError, match=f"expected sha256 {model_file.sha256}"):
        s3_yard.load("churn@1")


def test_gc_and_backup_on_s3(s3_yard: Yard, logreg, cancer, tmp_path: Path) -> None:
    s3_yard.register(logreg, "churn", sample=cancer[0])
    orphan = s3_yard.stores.artifacts.put_bytes(b"orphan on s3")
    report = s3_yard.gc(dry_run=False, grace_seconds=0)
    assert [sha for sha, _ in report.orphan_blobs] == [orphan.sha256]
    archive = tmp_path / "backup.tar.gz"
    assert s3_yard.backup(archive).blobs == 2
    with Yard(tmp_path / "restored") as local:
        local.restore(archive)
        assert local.load("churn@1").predict(cancer[0].iloc[:2]).shape == (2,)
