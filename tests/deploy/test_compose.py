from pathlib import Path

import pytest
import yaml

from modelyard.deploy.compose import compose_files
from modelyard.deploy.files import write_folder
from tests.deploy.tools import run, tool

SERVICES = {"postgres", "minio", "bucket", "modelyard", "controller", "prometheus", "grafana"}


@pytest.fixture
def project(tmp_path: Path) -> Path:
    out = tmp_path / "team"
    write_folder(out, compose_files())
    return out


def _validate(path: Path) -> tuple[int, str]:
    checked = run(tool("check-jsonschema"), "--builtin-schema", "vendor.compose-spec", path)
    return checked.returncode, checked.stdout + checked.stderr


def test_the_compose_file_passes_the_compose_spec(project: Path) -> None:
    code, output = _validate(project / "compose.yaml")
    assert code == 0, output


def test_the_compose_spec_fails_a_broken_file(project: Path, tmp_path: Path) -> None:
    body = yaml.safe_load((project / "compose.yaml").read_text())
    body["services"]["modelyard"]["depends_on"]["postgres"]["condition"] = "service_up"
    broken = tmp_path / "broken.yaml"
    broken.write_text(yaml.safe_dump(body))
    code, output = _validate(broken)
    assert code == 1
    assert "service_up" in output


def test_every_service_is_checked_and_started_in_order(project: Path) -> None:
    services = yaml.safe_load((project / "compose.yaml").read_text())["services"]
    assert set(services) == SERVICES
    # The bucket job completes rather than stays healthy; the controller answers no HTTP.
    for name in SERVICES - {"bucket", "controller"}:
        assert services[name]["healthcheck"]["test"], name
    assert services["modelyard"]["depends_on"] == {
        "postgres": {"condition": "service_healthy"},
        "bucket": {"condition": "service_completed_successfully"},
    }
    assert services["controller"]["command"] == ["controller"]
    assert "--no-controller" in services["modelyard"]["command"]
    assert services["modelyard"]["build"] == {"context": "./image"}


def test_credentials_come_from_an_env_file_left_empty(project: Path) -> None:
    env = dict(
        line.split("=", 1)
        for line in (project / ".env").read_text().splitlines()
        if line and not line.startswith("#")
    )
    assert env["POSTGRES_PASSWORD"] == env["MINIO_ROOT_PASSWORD"] == ""
    assert env["GRAFANA_ADMIN_PASSWORD"] == ""
    text = (project / "compose.yaml").read_text()
    assert "${POSTGRES_PASSWORD:?set POSTGRES_PASSWORD in .env}" in text
    assert (project / ".gitignore").read_text() == ".env\n"


def test_prometheus_scrapes_modelyard_and_grafana_reads_prometheus(project: Path) -> None:
    config = yaml.safe_load((project / "prometheus" / "prometheus.yml").read_text())
    [job] = config["scrape_configs"]
    assert job["static_configs"] == [{"targets": ["modelyard:8000"]}]
    provisioning = project / "grafana" / "provisioning"
    source = yaml.safe_load((provisioning / "datasources" / "prometheus.yml").read_text())
    assert source["datasources"][0]["url"] == "http://prometheus:9090"
    provider = yaml.safe_load((provisioning / "dashboards" / "modelyard.yml").read_text())
    assert provider["providers"][0]["options"]["path"] == "/var/lib/grafana/dashboards"


def test_observability_files_land_where_the_services_mount_them(tmp_path: Path) -> None:
    dashboard = '{"title": "fleet", "panels": []}'
    files = compose_files({"grafana/dashboards/fleet.json": dashboard, "prometheus/rules.yml": ""})
    out = tmp_path / "team"
    write_folder(out, files)
    assert (out / "grafana" / "dashboards" / "fleet.json").read_text() == dashboard
    services = yaml.safe_load((out / "compose.yaml").read_text())["services"]
    assert "./grafana/dashboards:/var/lib/grafana/dashboards:ro" in services["grafana"]["volumes"]
    assert "./prometheus:/etc/prometheus:ro" in services["prometheus"]["volumes"]
    config = yaml.safe_load((out / "prometheus" / "prometheus.yml").read_text())
    assert "/etc/prometheus/rules.yml" in config["rule_files"]


def test_observability_files_stay_in_their_folders() -> None:
    with pytest.raises(ValueError, match="not under prometheus/ or grafana/"):
        compose_files({"compose.yaml": "services: {}"})
