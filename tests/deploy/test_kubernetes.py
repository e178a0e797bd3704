from pathlib import Path

import pytest
import yaml
from prometheus_client import CollectorRegistry, generate_latest

from modelyard.config import Settings
from modelyard.deploy.files import write_folder
from modelyard.deploy.kubernetes import IN_FLIGHT_METRIC, KubeSettings, manifests
from modelyard.serving.metrics import Metrics
from tests.deploy.tools import kubectl, run, tool

K8S = "1.37.0"


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("k8s") / "manifests"
    write_folder(out, manifests(KubeSettings()))
    return out


def _validate(*paths: Path) -> tuple[int, str]:
    checked = run(tool("kubernetes-validate"), "--strict", "-k", K8S, *paths)
    return checked.returncode, checked.stdout + checked.stderr


def _documents(folder: Path) -> dict[str, dict]:
    found = {}
    for path in sorted((folder / "base").glob("*.yaml")):
        for doc in yaml.safe_load_all(path.read_text()):
            if doc["kind"] != "Kustomization":
                found[f"{doc['kind']}/{doc['metadata']['name']}"] = doc
    return found


def test_every_manifest_passes_strict_validation(folder: Path) -> None:
    code, output = _validate(*sorted((folder / "base").glob("*.yaml")))
    assert code == 0, output
    # Two Deployments, two NetworkPolicies, ConfigMap, ServiceAccount, Service, HPA, PDB;
    # the ServiceMonitor and the Kustomization have no built-in schema (a WARN, below).
    assert output.count(" passed for resource ") == 9
    assert "kind ServiceMonitor" in output
    assert "ERROR" not in output


@pytest.mark.parametrize("overlay", ["staging", "production"])
def test_each_overlay_renders_and_validates(folder: Path, tmp_path: Path, overlay: str) -> None:
    rendered = run(kubectl(), "kustomize", folder / "overlays" / overlay)
    assert rendered.returncode == 0, rendered.stderr
    out = tmp_path / f"{overlay}.yaml"
    out.write_text(rendered.stdout)
    code, output = _validate(out)
    assert code == 0, output
    docs = list(yaml.safe_load_all(rendered.stdout))
    namespace = "modelyard" if overlay == "production" else "modelyard-staging"
    assert {d["metadata"]["namespace"] for d in docs} == {namespace}


def test_strict_validation_fails_a_broken_manifest(folder: Path, tmp_path: Path) -> None:
    deployment = yaml.safe_load((folder / "base" / "serving.yaml").read_text())
    deployment["spec"]["template"]["spec"]["terminationGracePeriod"] = 30  # misspelt field
    broken = tmp_path / "broken.yaml"
    broken.write_text(yaml.safe_dump(deployment))
    code, output = _validate(broken)
    assert code == 1
    assert "terminationGracePeriod" in output


def test_kustomize_fails_a_broken_overlay(folder: Path, tmp_path: Path) -> None:
    overlay = tmp_path / "overlay"
    overlay.mkdir()
    (overlay / "kustomization.yaml").write_text("resources:\n- ../missing-base\n")
    rendered = run(kubectl(), "kustomize", overlay)
    assert rendered.returncode != 0
    assert "missing-base" in rendered.stderr


def test_the_pod_outlives_the_drain_and_the_shutdown(folder: Path) -> None:
    defaults = Settings()
    pod = _documents(folder)["Deployment/modelyard"]["spec"]["template"]["spec"]
    assert pod["terminationGracePeriodSeconds"] > defaults.shutdown_seconds
    assert pod["terminationGracePeriodSeconds"] > defaults.drain_seconds
    assert KubeSettings(shutdown_seconds=45.5).grace_seconds > 45.5
    [container] = pod["containers"]
    assert container["livenessProbe"]["httpGet"]["path"] == "/health/live"
    assert container["readinessProbe"]["httpGet"]["path"] == "/health/ready"
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert {"name": "tmp", "mountPath": "/tmp"} in container["volumeMounts"]
    assert container["resources"]["requests"]["cpu"]


def test_secrets_are_referenced_never_inlined(folder: Path) -> None:
    docs = _documents(folder)
    assert not any(name.startswith("Secret/") for name in docs)
    for name in ("Deployment/modelyard", "Deployment/modelyard-controller"):
        [container] = docs[name]["spec"]["template"]["spec"]["containers"]
        env = {e["name"]: e for e in container["env"]}
        assert env["MODELYARD_DB_URL"]["valueFrom"]["secretKeyRef"] == {
            "name": "modelyard-db",
            "key": "url",
        }
        assert "value" not in env["AWS_SECRET_ACCESS_KEY"]
    assert docs["Deployment/modelyard-controller"]["spec"]["template"]["spec"]["containers"][0][
        "args"
    ] == ["controller"]


def test_the_autoscaler_reads_a_gauge_the_server_exports(folder: Path) -> None:
    hpa = _documents(folder)["HorizontalPodAutoscaler/modelyard"]
    names = [m["pods"]["metric"]["name"] for m in hpa["spec"]["metrics"] if m["type"] == "Pods"]
    assert names == [IN_FLIGHT_METRIC]
    registry = CollectorRegistry()
    Metrics(registry)
    assert f"\n{IN_FLIGHT_METRIC} " in generate_latest(registry).decode()


def test_the_service_monitor_scrapes_the_service_port(folder: Path) -> None:
    """kubernetes-validate has no schema for this CRD (it warns and skips it), and none is
    vendored here: its shape is checked against the Service it must select."""
    docs = _documents(folder)
    monitor, service = docs["ServiceMonitor/modelyard"], docs["Service/modelyard"]
    assert monitor["apiVersion"] == "monitoring.coreos.com/v1"
    assert (
        monitor["spec"]["selector"]["matchLabels"].items() <= service["metadata"]["labels"].items()
    )
    [endpoint] = monitor["spec"]["endpoints"]
    assert endpoint["port"] in {p["name"] for p in service["spec"]["ports"]}
    assert endpoint["path"] == "/metrics"
