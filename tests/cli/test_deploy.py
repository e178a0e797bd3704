from pathlib import Path

import skops.io as sio
from typer.testing import CliRunner

from modelyard.cli.app import app
from tests.cli.conftest import Invoke, assert_one_line_error


def _registered(cli: Invoke, tmp_path: Path, logreg) -> None:
    model = tmp_path / "m.skops"
    sio.dump(logreg, model)
    assert cli("register", str(model), "--name", "churn").exit_code == 0
    assert cli("alias", "set", "churn", "production", "1").exit_code == 0


def test_each_command_writes_its_folder(cli: Invoke, tmp_path: Path) -> None:
    for kind, first in [
        ("docker", "Dockerfile"),
        ("compose", "compose.yaml"),
        ("kubernetes", "base/kustomization.yaml"),
    ]:
        out = tmp_path / kind
        result = cli("deploy", kind, str(out))
        assert result.exit_code == 0, result.output
        assert (out / first).is_file()
    assert (tmp_path / "compose" / "image" / "Dockerfile").is_file()
    # the compose project provisions the rules and dashboards of `deploy monitoring`
    for name in ("prometheus/rules.yml", "grafana/dashboards/modelyard-fleet.json"):
        assert (tmp_path / "compose" / name).is_file(), name
    assert "modelyard:8000" in (tmp_path / "compose" / "prometheus/prometheus.yml").read_text()


def test_bake_copies_the_aliased_version(cli: Invoke, tmp_path: Path, logreg) -> None:
    _registered(cli, tmp_path, logreg)
    result = cli("deploy", "docker", str(tmp_path / "img"), "--bake", "churn@production")
    assert result.exit_code == 0, result.output
    assert "churn@1 baked in" in result.output
    assert list((tmp_path / "img" / "models" / "blobs").rglob("*"))


def test_an_unknown_model_or_alias_writes_nothing(cli: Invoke, tmp_path: Path, logreg) -> None:
    _registered(cli, tmp_path, logreg)
    for ref in ("nope@production", "churn@staging"):
        result = cli("deploy", "docker", str(tmp_path / "img"), "--bake", ref)
        assert_one_line_error(result, 3, ref.split("@")[0])
        assert not (tmp_path / "img").exists()


def test_an_existing_folder_is_refused_unless_forced(cli: Invoke, tmp_path: Path) -> None:
    out = tmp_path / "k8s"
    out.mkdir()
    (out / "mine.txt").write_text("keep")
    result = cli("deploy", "kubernetes", str(out))
    assert_one_line_error(result, 4, "--force")
    assert [p.name for p in out.iterdir()] == ["mine.txt"]
    assert cli("deploy", "kubernetes", str(out), "--force").exit_code == 0
    assert not (out / "mine.txt").exists()
    assert (out / "overlays" / "production" / "kustomization.yaml").is_file()


def test_compose_again_with_force_keeps_the_filled_env_private(cli: Invoke, tmp_path: Path) -> None:
    out = tmp_path / "team"
    assert cli("deploy", "compose", str(out)).exit_code == 0
    env = out / ".env"
    assert env.stat().st_mode & 0o777 == 0o600  # passwords go here
    filled = env.read_text().replace("POSTGRES_PASSWORD=", "POSTGRES_PASSWORD=s3cret", 1)
    env.write_text(filled)
    assert cli("deploy", "compose", str(out), "--force").exit_code == 0
    assert env.read_text() == filled
    assert env.stat().st_mode & 0o777 == 0o600


def test_a_database_url_inline_is_refused(cli: Invoke, tmp_path: Path) -> None:
    out = tmp_path / "k8s"
    url = "postgresql+psycopg://app:s3cret@db:5432/yard"
    result = cli("deploy", "kubernetes", str(out), "--db-secret", url)
    assert_one_line_error(result, 2, "--db-secret takes a reference to a Secret (NAME:KEY)")
    assert "s3cret" not in result.output
    assert not out.exists()
    result = cli("deploy", "kubernetes", str(out), "--artifacts", "s3://key:secret@bucket/x")
    assert_one_line_error(result, 2, "--artifacts takes the store URL only")
    assert not out.exists()


def test_a_reference_names_the_secret(cli: Invoke, tmp_path: Path) -> None:
    out = tmp_path / "k8s"
    assert cli("deploy", "kubernetes", str(out), "--db-secret", "yard-pg:dsn").exit_code == 0
    text = (out / "base" / "serving.yaml").read_text()
    assert "name: yard-pg" in text
    assert "key: dsn" in text


def test_an_unknown_extra_is_refused(cli: Invoke, tmp_path: Path) -> None:
    result = cli("deploy", "docker", str(tmp_path / "img"), "--extra", "gpu")
    assert_one_line_error(result, 2, "modelyard has no extra gpu")
    assert not (tmp_path / "img").exists()


def test_the_grace_period_follows_the_shutdown_setting(tmp_path: Path) -> None:
    out = tmp_path / "k8s"
    result = CliRunner().invoke(
        app, ["deploy", "kubernetes", str(out)], env={"MODELYARD_SHUTDOWN_SECONDS": "60"}
    )
    assert result.exit_code == 0, result.output
    text = (out / "base" / "serving.yaml").read_text()
    assert "terminationGracePeriodSeconds: 70" in text
    assert "MODELYARD_SHUTDOWN_SECONDS: '60'" in (out / "base" / "configmap.yaml").read_text()
