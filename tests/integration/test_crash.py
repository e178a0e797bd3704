"""A registration killed with SIGKILL leaves no row without its artifact."""

import signal
import subprocess
import sys
import time
from pathlib import Path

import joblib
import pytest
from sklearn.ensemble import RandomForestClassifier

from modelyard import Yard

pytestmark = pytest.mark.slow

LOOP = """
import sys, joblib, pandas as pd
from modelyard import Yard
model = joblib.load(sys.argv[2]); sample = pd.read_parquet(sys.argv[3])
yard = Yard(sys.argv[1], actor="victim")
print("ready", flush=True)
while True:
    yard.register(model, "churn", sample=sample)
    print("registered", flush=True)
"""


def test_kill_9_mid_registration_leaves_a_consistent_yard(tmp_path: Path, cancer) -> None:
    X, y = cancer
    model_path = tmp_path / "forest.joblib"
    joblib.dump(RandomForestClassifier(n_estimators=60, random_state=0).fit(X, y), model_path)
    sample_path = tmp_path / "sample.parquet"
    X.to_parquet(sample_path)
    home = tmp_path / "home"
    # Killed at a share of what the registration before took, on this machine now, so
    # the kill lands inside a registration however busy the machine is.
    for share in (0.1, 0.3, 0.5, 0.7, 0.9):
        proc = subprocess.Popen(
            [sys.executable, "-c", LOOP, str(home), str(model_path), str(sample_path)],
            stdout=subprocess.PIPE,
            text=True,
        )
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == "ready"
        started = time.monotonic()
        assert proc.stdout.readline().strip() == "registered"
        time.sleep(share * (time.monotonic() - started))
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
        proc.stdout.close()

    with Yard(home) as yard:
        versions = yard.list_versions("churn")
        numbers = [v.version for v in versions]
        assert numbers == list(range(1, len(numbers) + 1))
        for version in versions:
            for ref in version.files:
                yard.stores.artifacts.verify(ref.sha256, version.ref)
        yard.gc(dry_run=False, grace_seconds=0)
        assert list((Path(yard.stores.artifacts.root) / "tmp").iterdir()) == []
        referenced = yard.stores.blobs.referenced()
        stored = {b.sha256 for b in yard.stores.artifacts.list_blobs()}
        assert stored == referenced
        following = yard.register(joblib.load(model_path), "churn", sample=X)
        assert following.version == len(numbers) + 1
