"""Content-addressed blobs on any fsspec filesystem, verified on every read.

Layout under the root: ``blobs/<aa>/<sha256>`` for content and ``tmp/`` for writes in
flight. A blob becomes visible only complete: locally by rename from ``tmp/``, on object
stores by the atomic completion of the upload itself.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from modelyard.errors import IntegrityError, NotFound, StoreUnavailable, first_line

CHUNK = 1 << 20
_SHA_LEN = 64


@dataclass(frozen=True)
class Blob:
    sha256: str
    size: int


@dataclass(frozen=True)
class StoredBlob:
    sha256: str
    size: int
    modified: float  # seconds since the epoch


class HashingReader:
    """Wraps a binary stream and hashes what is read through it."""

    def __init__(self, handle: IO[bytes]) -> None:
        self.handle = handle
        self._digest = hashlib.sha256()
        self.size = 0

    def read(self, size: int = -1) -> bytes:
        chunk = self.handle.read(size)
        self._digest.update(chunk)
        self.size += len(chunk)
        return chunk

    def hexdigest(self) -> str:
        return self._digest.hexdigest()


def check_digest(label: str, expected: str, found: str) -> None:
    if found != expected:
        raise IntegrityError(f"{label} is corrupted: expected sha256 {expected}, found {found}")


def sha256_file(path: Path) -> Blob:
    digest = hashlib.sha256()
    size = 0
    with open(path, "rb") as handle:
        while chunk := handle.read(CHUNK):
            digest.update(chunk)
            size += len(chunk)
    return Blob(digest.hexdigest(), size)


class ArtifactStore:
    def __init__(self, url: str) -> None:
        self.url = url
        self._fs: Any = None
        if _absolute_local_path(url):
            # fsspec would give this root and its local filesystem; importing it is left
            # to the first blob read or written (most commands read none).
            root = url
        else:
            import fsspec

            try:
                self._fs, root = fsspec.core.url_to_fs(url)
            except (ImportError, ValueError) as exc:
                raise StoreUnavailable(f"cannot open artifact store {url!r}: {exc}") from None
        self.root = root.rstrip("/")
        self.local = self._fs is None or "file" in _protocols(self._fs)
        if self.local:
            try:
                os.makedirs(f"{self.root}/blobs", exist_ok=True)
                os.makedirs(f"{self.root}/tmp", exist_ok=True)
            except OSError as exc:
                raise StoreUnavailable(f"cannot create the artifact store {url!r}: {exc}") from None

    @property
    def fs(self) -> Any:
        """The fsspec filesystem the blobs are on."""
        if self._fs is None:
            import fsspec

            self._fs = fsspec.filesystem("file")
        return self._fs

    def check(self, timeout: float) -> None:
        """Raise StoreUnavailable unless a remote store answers a listing of its bucket
        within ``timeout`` seconds: a server must not start, and hang at its first load,
        on an unreachable or missing bucket. (The S3 client's own connect timeout and
        retries take minutes; the listing runs on a daemon thread this waits for.)"""
        if self.local:
            return
        failure: list[BaseException] = []

        def listing() -> None:
            try:
                self.fs.ls(self.root.split("/", 1)[0], refresh=True)
            except BaseException as exc:  # handed to the waiting thread
                failure.append(exc)

        worker = threading.Thread(target=listing, name="artifact-store-check", daemon=True)
        worker.start()
        worker.join(timeout)
        if worker.is_alive():
            raise StoreUnavailable(
                f"the artifact store {self.url} did not answer within {timeout:g}s"
            )
        if failure:
            raise StoreUnavailable(
                f"cannot reach the artifact store {self.url}: {first_line(failure[0])}"
            )

    def _blob_path(self, sha256: str) -> str:
        return f"{self.root}/blobs/{sha256[:2]}/{sha256}"

    # -- writing --------------------------------------------------------------------------

    def put_bytes(self, data: bytes) -> Blob:
        blob = Blob(hashlib.sha256(data).hexdigest(), len(data))
        if self._intact(blob):
            return blob
        if self.local:
            tmp = self._tmp_path()
            with open(tmp, "wb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
            self._publish_local(tmp, blob.sha256)
        else:
            self.fs.pipe_file(self._blob_path(blob.sha256), data)
        return blob

    def put_file(self, path: Path) -> Blob:
        """Copy a file in while hashing it, so large files are read once."""
        if self.local:
            tmp = self._tmp_path()
            digest = hashlib.sha256()
            size = 0
            with open(path, "rb") as src, open(tmp, "wb") as dst:
                while chunk := src.read(CHUNK):
                    digest.update(chunk)
                    size += len(chunk)
                    dst.write(chunk)
                dst.flush()
                os.fsync(dst.fileno())
            blob = Blob(digest.hexdigest(), size)
            if self._intact(blob):
                os.unlink(tmp)
            else:
                self._publish_local(tmp, blob.sha256)
            return blob
        blob = sha256_file(path)
        if not self._intact(blob):
            self.fs.put_file(str(path), self._blob_path(blob.sha256))
        return blob

    def _intact(self, blob: Blob) -> bool:
        """Deduplicate only onto a stored copy that is still good; a rotten one is replaced."""
        if not self.exists(blob.sha256):
            return False
        if self.blob_size(blob.sha256) != blob.size:
            return False
        if not self.local:  # re-reading remote objects would double the upload's cost
            return True
        return self._digest(blob.sha256, "") == blob.sha256

    def _tmp_path(self) -> str:
        return f"{self.root}/tmp/{os.getpid()}-{uuid.uuid4().hex}"

    def _publish_local(self, tmp: str, sha256: str) -> None:
        final = self._blob_path(sha256)
        os.makedirs(os.path.dirname(final), exist_ok=True)
        os.replace(tmp, final)

    # -- reading --------------------------------------------------------------------------

    def exists(self, sha256: str) -> bool:
        return bool(self.fs.exists(self._blob_path(sha256)))

    def get_bytes(self, sha256: str, label: str) -> bytes:
        """The blob's bytes, only if they still hash to ``sha256``; ``label`` names it."""
        try:
            data: bytes = self.fs.cat_file(self._blob_path(sha256))
        except FileNotFoundError:
            raise IntegrityError(
                f"{label}: blob sha256:{sha256} is missing from the store"
            ) from None
        found = hashlib.sha256(data).hexdigest()
        if found != sha256:
            raise IntegrityError(f"{label} is corrupted: expected sha256 {sha256}, found {found}")
        return data

    def copy_to(self, sha256: str, dest: Path, label: str) -> None:
        """Stream a blob to ``dest`` verifying as it goes; ``dest`` appears only if it verifies."""
        dest.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(dir=dest.parent, prefix=f".{dest.name}.")
        try:
            with os.fdopen(fd, "wb") as out, self.open_blob(sha256, label) as src:
                reader = HashingReader(src)
                while chunk := reader.read(CHUNK):
                    out.write(chunk)
            check_digest(label, sha256, reader.hexdigest())
            os.replace(tmp_name, dest)
        except BaseException:
            if os.path.exists(tmp_name):
                os.unlink(tmp_name)
            raise

    def open_blob(self, sha256: str, label: str) -> IO[bytes]:
        try:
            handle: IO[bytes] = self.fs.open(self._blob_path(sha256), "rb")
        except FileNotFoundError:
            raise IntegrityError(
                f"{label}: blob sha256:{sha256} is missing from the store"
            ) from None
        return handle

    def blob_size(self, sha256: str) -> int:
        try:
            return int(self.fs.size(self._blob_path(sha256)))
        except FileNotFoundError:
            raise IntegrityError(f"blob sha256:{sha256} is missing from the store") from None

    def _digest(self, sha256: str, label: str) -> str:
        with self.open_blob(sha256, label) as src:
            reader = HashingReader(src)
            while reader.read(CHUNK):
                pass
        return reader.hexdigest()

    def verify(self, sha256: str, label: str) -> None:
        """Re-hash a stored blob; an integrity error names it and both hashes."""
        check_digest(label, sha256, self._digest(sha256, label))

    # -- listing and removal (gc) ---------------------------------------------------------

    def list_blobs(self) -> Iterator[StoredBlob]:
        try:
            entries = self.fs.find(f"{self.root}/blobs", detail=True)
        except FileNotFoundError:
            return
        for path, info in entries.items():
            name = path.rsplit("/", 1)[-1]
            if len(name) == _SHA_LEN:
                yield StoredBlob(name, int(info.get("size") or 0), _mtime(info))

    def list_tmp(self) -> Iterator[tuple[str, int, float]]:
        if not self.local:
            return
        for entry in os.scandir(f"{self.root}/tmp"):
            stat = entry.stat()
            yield entry.path, stat.st_size, stat.st_mtime

    def delete_blob(self, sha256: str) -> None:
        path = self._blob_path(sha256)
        if not self.fs.exists(path):
            raise NotFound(f"blob sha256:{sha256} not found")
        self.fs.rm_file(path)

    def delete_tmp(self, path: str) -> None:
        if os.path.dirname(path) == f"{self.root}/tmp":
            os.unlink(path)


def _absolute_local_path(url: str) -> bool:
    """A plain absolute POSIX path (no protocol, no chained URL): the default store."""
    return os.sep == "/" and url.startswith("/") and "://" not in url and "::" not in url


def _protocols(fs: Any) -> tuple[str, ...]:
    protocol = fs.protocol
    return (protocol,) if isinstance(protocol, str) else tuple(protocol)


def _mtime(info: dict[str, Any]) -> float:
    for key in ("mtime", "LastModified", "last_modified", "created"):
        value = info.get(key)
        if value is None:
            continue
        if hasattr(value, "timestamp"):
            return float(value.timestamp())
        return float(value)
    return time.time()
