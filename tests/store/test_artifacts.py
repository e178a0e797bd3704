"""Content-addressed blobs: written whole, read only if they still hash to their address."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from modelyard.errors import IntegrityError, NotFound
from modelyard.store.artifacts import ArtifactStore, sha256_file

DATA = b"the quick brown fox\n" * 1000
SHA = hashlib.sha256(DATA).hexdigest()


@pytest.fixture
def store(tmp_path: Path) -> ArtifactStore:
    return ArtifactStore(str(tmp_path / "artifacts"))


def _blob_file(store: ArtifactStore, sha256: str) -> Path:
    return Path(store.root) / "blobs" / sha256[:2] / sha256


def test_put_bytes_returns_address_and_size(store: ArtifactStore) -> None:
    blob = store.put_bytes(DATA)
    assert (blob.sha256, blob.size) == (SHA, len(DATA))
    assert _blob_file(store, SHA).read_bytes() == DATA
    assert store.exists(SHA)


def test_put_file_returns_the_same_address(store: ArtifactStore, tmp_path: Path) -> None:
    source = tmp_path / "model.bin"
    source.write_bytes(DATA)
    blob = store.put_file(source)
    assert (blob.sha256, blob.size) == (SHA, len(DATA))
    assert sha256_file(source) == blob
    assert store.get_bytes(SHA, "model.bin") == DATA


def test_puts_are_idempotent(store: ArtifactStore, tmp_path: Path) -> None:
    source = tmp_path / "again.bin"
    source.write_bytes(DATA)
    first = store.put_bytes(DATA)
    assert store.put_bytes(DATA) == first
    assert store.put_file(source) == first
    assert [b.sha256 for b in store.list_blobs()] == [SHA]
    assert list(store.list_tmp()) == []


def test_empty_bytes_are_a_blob_too(store: ArtifactStore) -> None:
    blob = store.put_bytes(b"")
    assert blob.size == 0
    assert store.get_bytes(blob.sha256, "empty") == b""


def test_corrupted_blob_is_refused_naming_both_hashes(store: ArtifactStore) -> None:
    store.put_bytes(DATA)
    _blob_file(store, SHA).write_bytes(DATA + b"tampered")
    found = hashlib.sha256(DATA + b"tampered").hexdigest()
    with pytest.raises(
        IntegrityError, match=f"model.bin is corrupted: expected sha256 {SHA}, found {found}"
    ):
        store.get_bytes(SHA, "model.bin")
    with pytest.raises(IntegrityError, match=found):
        store.verify(SHA, "model.bin")


def test_missing_blob_is_an_integrity_error(store: ArtifactStore) -> None:
    with pytest.raises(IntegrityError, match=f"model.bin: blob sha256:{SHA} is missing"):
        store.get_bytes(SHA, "model.bin")
    with pytest.raises(IntegrityError, match="is missing from the store"):
        store.verify(SHA, "model.bin")


def test_copy_to_writes_verified_bytes(store: ArtifactStore, tmp_path: Path) -> None:
    store.put_bytes(DATA)
    dest = tmp_path / "out" / "nested" / "copy.bin"
    store.copy_to(SHA, dest, "copy")
    assert dest.read_bytes() == DATA


def test_copy_to_never_leaves_a_partial_destination(store: ArtifactStore, tmp_path: Path) -> None:
    store.put_bytes(DATA)
    _blob_file(store, SHA).write_bytes(DATA[:-1])
    out = tmp_path / "out"
    with pytest.raises(IntegrityError, match=f"expected sha256 {SHA}"):
        store.copy_to(SHA, out / "copy.bin", "copy")
    assert list(out.iterdir()) == []


def test_copy_to_keeps_an_existing_destination_on_mismatch(
    store: ArtifactStore, tmp_path: Path
) -> None:
    store.put_bytes(DATA)
    _blob_file(store, SHA).write_bytes(b"rot")
    dest = tmp_path / "copy.bin"
    dest.write_bytes(b"previous export")
    with pytest.raises(IntegrityError, match="is corrupted"):
        store.copy_to(SHA, dest, "copy")
    assert dest.read_bytes() == b"previous export"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["artifacts", "copy.bin"]


def test_copy_to_of_a_missing_blob_leaves_nothing(store: ArtifactStore, tmp_path: Path) -> None:
    out = tmp_path / "out"
    with pytest.raises(IntegrityError, match="is missing"):
        store.copy_to(SHA, out / "copy.bin", "copy")
    assert list(out.iterdir()) == []


def test_list_blobs(store: ArtifactStore) -> None:
    a, b = store.put_bytes(b"a"), store.put_bytes(b"bb")
    listed = {s.sha256: s.size for s in store.list_blobs()}
    assert listed == {a.sha256: 1, b.sha256: 2}


def test_delete_blob(store: ArtifactStore) -> None:
    blob = store.put_bytes(DATA)
    store.delete_blob(blob.sha256)
    assert not store.exists(blob.sha256)
    assert list(store.list_blobs()) == []
    with pytest.raises(NotFound, match=f"blob sha256:{SHA} not found"):
        store.delete_blob(SHA)


def test_tmp_files_are_listed_and_only_they_are_deleted(store: ArtifactStore) -> None:
    leftover = Path(store.root) / "tmp" / "1234-crashed"
    leftover.write_bytes(b"half a model")
    listed = list(store.list_tmp())
    assert [(path, size) for path, size, _ in listed] == [(str(leftover), 12)]
    blob = store.put_bytes(DATA)
    store.delete_tmp(str(_blob_file(store, blob.sha256)))  # not a tmp file: ignored
    assert store.exists(blob.sha256)
    store.delete_tmp(str(leftover))
    assert list(store.list_tmp()) == []


def test_storing_good_bytes_repairs_a_rotten_copy(store: ArtifactStore) -> None:
    blob = store.put_bytes(b"model bytes")
    path = next(Path(store.root, "blobs").rglob(blob.sha256))
    path.write_bytes(b"model bytez")
    assert store.put_bytes(b"model bytes") == blob
    assert store.get_bytes(blob.sha256, "repaired") == b"model bytes"
