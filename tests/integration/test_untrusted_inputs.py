"""Issue 12, through the real command line and a real server: a crafted .skops file runs no
code, and a restored backup runs none of its author's commands nor lets its author's keys in
unless a flag says so."""

from __future__ import annotations

import hashlib
import io
import os
import subprocess
import sys
import tarfile
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import orjson
import pandas as pd
import pytest
import skops.io as sio
from tests.flavors.crafted_skops import RUNSTRING, planted, touching
from tests.integration.serving_fixtures import ROOT, running_server

from modelyard import Yard
from modelyard.domain.entities import AuditEvent

pytestmark = pytest.mark.slow

FAST = {"MODELYARD_POLL_SECONDS": "0.2", "MODELYARD_CONTROLLER_INTERVAL": "0.2"}


def _cli(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "modelyard.cli", "--home", str(home), *args],
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        timeout=300,
    )


def _one_line_error(done: subprocess.CompletedProcess[str], *expected: str) -> None:
    assert done.returncode != 0, done.stdout
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith("error:"), lines[0]
    for text in expected:
        assert text in lines[0], lines[0]


def _until(found: Callable[[], bool], what: str, logs: Callable[[], str]) -> None:
    """Wait for something the server does by itself (a generous bound, not a timing claim)."""
    deadline = time.monotonic() + 90
    while not found():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}\n{logs()[-3000:]}")
        time.sleep(0.2)


def _events(home: Path, action: str) -> list[AuditEvent]:
    with Yard(home) as yard:
        return yard.audit(action=action)


# -- a crafted .skops file ----------------------------------------------------------------


def test_registering_a_crafted_skops_file_fails_in_one_line_and_runs_nothing(
    tmp_path: Path, logreg, cancer
) -> None:
    marker = tmp_path / "MARKER"
    crafted = tmp_path / "crafted.skops"
    crafted.write_bytes(planted(sio.dumps(logreg), touching(marker)))
    sample = tmp_path / "sample.csv"
    cancer[0].head(50).to_csv(sample, index=False)
    home = tmp_path / "home"
    done = _cli(home, "register", str(crafted), "--name", "evil", "--sample", str(sample))
    _one_line_error(done, RUNSTRING, "allow-list", "--trust-types")
    assert not marker.exists()
    assert orjson.loads(_cli(home, "models", "list", "--json").stdout) == []


# -- a hostile backup ---------------------------------------------------------------------


def _source_yard(home: Path, logreg, X: pd.DataFrame, marker: Path) -> str:
    """A yard with a served model, a policy that runs a command, a harmless policy that
    fires right after it (the witness that the controller looked), and an admin key."""
    with Yard(home) as yard:
        yard.register(logreg, "churn", sample=X)
        yard.set_alias("churn", "production", 1)
        yard.create_endpoint("churn-api", "churn@production")
        yard.add_policy("churn-api", "requests<1", [f"run:touch {marker}"])
        yard.add_policy("churn-api", "requests<1", ["rollback"])
        return yard.create_key(["admin"], description="the author's")[1]


def _fired(home: Path) -> set[int]:
    return {e.details["policy"] for e in _events(home, "policy.fired")}


def test_a_restore_without_flags_leaves_out_commands_and_keys_then_serves_safely(
    tmp_path: Path, logreg, cancer
) -> None:
    marker = tmp_path / "MARKER"
    secret = _source_yard(tmp_path / "source", logreg, cancer[0], marker)
    archive = tmp_path / "backup.tar.gz"
    assert _cli(tmp_path / "source", "backup", str(archive)).returncode == 0
    home = tmp_path / "restored"
    done = _cli(home, "restore", str(archive))
    assert done.returncode == 0, done.stderr
    with running_server(home, env=FAST) as server:  # with its controller
        _until(lambda: 2 in _fired(home), "the witness policy to fire", server.logs)
        assert 1 not in _fired(home)  # fired before the witness, had it been restored
        assert not marker.exists()
        old = {"Authorization": f"Bearer {secret}"}
        assert httpx.get(f"{server.url}/api/models", headers=old).status_code == 401
    said = "".join(done.stdout.split())  # rich wraps long lines, wherever a space falls

    def told(text: str) -> bool:
        return "".join(text.split()) in said

    assert told(f"policy 1 on churn-api (run:touch {marker}): needs --trust-commands")
    assert told("(scopes admin): needs --trust-keys or --reissue-keys")
    (left_out,) = _events(home, "policy.left_out")
    assert left_out.details["then"] == [f"run:touch {marker}"]


def test_restore_flags_bring_commands_and_keys_in_and_the_audit_log_says_so(
    tmp_path: Path, logreg, cancer
) -> None:
    marker = tmp_path / "MARKER"
    secret = _source_yard(tmp_path / "source", logreg, cancer[0], marker)
    archive = tmp_path / "backup.tar.gz"
    assert _cli(tmp_path / "source", "backup", str(archive)).returncode == 0
    home = tmp_path / "restored"
    done = _cli(home, "restore", str(archive), "--trust-commands", "--reissue-keys", "--json")
    assert done.returncode == 0, done.stderr
    report = orjson.loads(done.stdout)
    assert report["flags"] == ["--reissue-keys", "--trust-commands"]
    assert report["left_out"] == []
    (key,) = report["reissued_keys"]
    assert key["scopes"] == ["admin"]
    assert key["secret"] != secret
    with running_server(home, env=FAST) as server:
        _until(marker.exists, "the trusted policy's command", server.logs)
        old = {"Authorization": f"Bearer {secret}"}
        new = {"Authorization": f"Bearer {key['secret']}"}
        assert httpx.get(f"{server.url}/api/models", headers=old).status_code == 401
        assert httpx.get(f"{server.url}/api/models", headers=new).status_code == 200
    (restore,) = _events(home, "restore")
    assert restore.details["flags"] == ["--reissue-keys", "--trust-commands"]
    assert {(i["row"], i["flag"]) for i in restore.details["brought_in"]} == {
        ("policy 1 on churn-api", "--trust-commands"),
        (f"key {key['id']}", "--reissue-keys"),
    }
    assert [e.target for e in _events(home, "key.reissue")] == [f"key:{key['id']}"]


def _with_crafted_version(archive: Path, dest: Path, marker: Path) -> Path:
    """The archive as its author could have made it: the model file replaced by a crafted
    one, and the row saying what the old rule recorded for it (a numpy type, "trusted")."""
    with tarfile.open(archive) as tar:
        members = {i.name: tar.extractfile(i).read() for i in tar}  # type: ignore[union-attr]
    manifest = orjson.loads(members.pop("manifest.json"))
    files = [orjson.loads(line) for line in members["db/files.jsonl"].splitlines()]
    (model_file,) = [f for f in files if f["name"] == "model.skops"]
    crafted = planted(members.pop(f"blobs/{model_file['sha256']}"), touching(marker))
    del manifest["members"][f"blobs/{model_file['sha256']}"]
    model_file.update(sha256=hashlib.sha256(crafted).hexdigest(), size=len(crafted))
    members[f"blobs/{model_file['sha256']}"] = crafted
    members["db/files.jsonl"] = b"".join(orjson.dumps(f) + b"\n" for f in files)
    versions = [orjson.loads(line) for line in members["db/model_versions.jsonl"].splitlines()]
    for row in versions:
        row["flavor_meta"] = {
            "format": "skops",
            "trusted_types": [RUNSTRING],
            "foreign_types_trusted": False,
        }
    members["db/model_versions.jsonl"] = b"".join(orjson.dumps(r) + b"\n" for r in versions)
    for name, data in members.items():
        manifest["members"][name] = hashlib.sha256(data).hexdigest()
    members["manifest.json"] = orjson.dumps(manifest)
    with tarfile.open(dest, "w:gz") as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return dest


def test_a_backup_holding_a_crafted_version_is_refused_and_serving_runs_nothing(
    tmp_path: Path, logreg, cancer
) -> None:
    marker = tmp_path / "MARKER"
    policy_marker = tmp_path / "POLICY-MARKER"
    secret = _source_yard(tmp_path / "source", logreg, cancer[0], policy_marker)
    archive = tmp_path / "backup.tar.gz"
    assert _cli(tmp_path / "source", "backup", str(archive)).returncode == 0
    hostile = _with_crafted_version(archive, tmp_path / "hostile.tar.gz", marker)
    home = tmp_path / "restored"
    done = _cli(home, "restore", str(hostile))
    _one_line_error(done, "churn@1", RUNSTRING, "--trust-types")
    with running_server(home, env=FAST) as server:
        old = {"Authorization": f"Bearer {secret}"}
        assert httpx.get(f"{server.url}/api/models", headers=old).status_code == 401
    assert orjson.loads(_cli(home, "models", "list", "--json").stdout) == []
    assert not marker.exists()
    assert not policy_marker.exists()
