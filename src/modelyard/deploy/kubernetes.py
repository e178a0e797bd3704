"""Kubernetes manifests as a kustomize base and two overlays (staging, production).

Kustomize rather than a Helm chart: plain manifests that ``kubectl`` applies and
``kubectl kustomize`` renders without another tool, each file validated as it is (no
template language in between); an overlay patches what differs per site.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import yaml

from modelyard.deploy.container import HOME, PORT, UID
from modelyard.deploy.files import Files

IN_FLIGHT_METRIC = "modelyard_in_flight_requests"  # serving/metrics.py's gauge
PART_OF = {"app.kubernetes.io/part-of": "modelyard"}
SERVING = {"app.kubernetes.io/name": "modelyard", "app.kubernetes.io/component": "serving"}
CONTROLLER = {"app.kubernetes.io/name": "modelyard", "app.kubernetes.io/component": "controller"}
_SERVING_RESOURCES = {"requests": {"cpu": "500m", "memory": "1Gi"}, "limits": {"memory": "2Gi"}}
_CONTROLLER_RESOURCES = {
    "requests": {"cpu": "100m", "memory": "256Mi"},
    "limits": {"memory": "512Mi"},
}
_MARGIN_SECONDS = 10  # past the server's own deadline, before the kubelet's SIGKILL


@dataclass(frozen=True)
class SecretRef:
    name: str
    key: str

    def env(self, variable: str) -> dict[str, Any]:
        ref = {"name": self.name, "key": self.key}
        return {"name": variable, "valueFrom": {"secretKeyRef": ref}}


@dataclass(frozen=True)
class KubeSettings:
    image: str = "modelyard:latest"
    artifacts: str = "s3://modelyard/artifacts"
    database: SecretRef = SecretRef("modelyard-db", "url")
    s3_key_id: SecretRef = SecretRef("modelyard-s3", "access-key-id")
    s3_secret: SecretRef = SecretRef("modelyard-s3", "secret-access-key")
    s3_endpoint: str | None = None  # an S3-compatible store's URL (MinIO, Ceph…)
    drain_seconds: float = 2.0
    shutdown_seconds: float = 20.0
    replicas: int = 2
    max_replicas: int = 10
    in_flight_per_pod: int = 32
    extra_env: dict[str, str] = field(default_factory=dict)

    @property
    def grace_seconds(self) -> int:
        """Above the drain and the server's own exit deadline, so SIGKILL never cuts them."""
        return math.ceil(max(self.shutdown_seconds, self.drain_seconds)) + _MARGIN_SECONDS


def manifests(settings: KubeSettings) -> Files:
    base = {
        "base/configmap.yaml": _configmap(settings),
        "base/serviceaccount.yaml": _doc(
            {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": _meta("modelyard")}
        ),
        "base/serving.yaml": _deployment("modelyard", SERVING, settings, serving=True),
        "base/controller.yaml": _deployment(
            "modelyard-controller", CONTROLLER, settings, serving=False
        ),
        "base/service.yaml": _service(),
        "base/hpa.yaml": _hpa(settings),
        "base/pdb.yaml": _pdb(),
        "base/networkpolicy.yaml": _network_policy(),
        "base/servicemonitor.yaml": _service_monitor(),
    }
    kustomization = {
        "apiVersion": "kustomize.config.k8s.io/v1beta1",
        "kind": "Kustomization",
        "labels": [{"pairs": PART_OF, "includeSelectors": False}],
        "resources": sorted(path.removeprefix("base/") for path in base),
    }
    return {
        **base,
        "base/kustomization.yaml": _doc(kustomization),
        **_overlay("staging", settings, replicas=1, max_replicas=3),
        **_overlay("production", settings, replicas=settings.replicas, max_replicas=None),
    }


def _doc(body: Any) -> str:
    return yaml.safe_dump(body, sort_keys=False, default_flow_style=False)


def _meta(name: str, labels: dict[str, str] | None = None) -> dict[str, Any]:
    return {"name": name, "labels": {**(labels or {}), **PART_OF}}


def _configmap(settings: KubeSettings) -> str:
    data = {
        "MODELYARD_ARTIFACTS": settings.artifacts,
        "MODELYARD_HOME": HOME,
        "MODELYARD_DRAIN_SECONDS": f"{settings.drain_seconds:g}",
        "MODELYARD_SHUTDOWN_SECONDS": f"{settings.shutdown_seconds:g}",
        **settings.extra_env,
    }
    if settings.s3_endpoint:
        data["AWS_ENDPOINT_URL"] = settings.s3_endpoint
    return _doc(
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": _meta("modelyard"), "data": data}
    )


def _container(settings: KubeSettings, serving: bool) -> dict[str, Any]:
    args = (
        ["serve", "--host", "0.0.0.0", "--port", str(PORT), "--no-controller"]
        if serving
        else ["controller"]
    )
    container: dict[str, Any] = {
        "name": "modelyard",
        "image": settings.image,
        "imagePullPolicy": "IfNotPresent",
        "args": args,
        "envFrom": [{"configMapRef": {"name": "modelyard"}}],
        "env": [
            settings.database.env("MODELYARD_DB_URL"),
            settings.s3_key_id.env("AWS_ACCESS_KEY_ID"),
            settings.s3_secret.env("AWS_SECRET_ACCESS_KEY"),
        ],
        "resources": {
            "requests": {
                "cpu": "500m" if serving else "100m",
                "memory": "1Gi" if serving else "256Mi",
            },
            "limits": {"memory": "2Gi" if serving else "512Mi"},
        },
        "securityContext": {
            "allowPrivilegeEscalation": False,
            "readOnlyRootFilesystem": True,
            "capabilities": {"drop": ["ALL"]},
        },
        "volumeMounts": [{"name": "tmp", "mountPath": "/tmp"}],
    }
    if serving:
        container["ports"] = [{"name": "http", "containerPort": PORT, "protocol": "TCP"}]
        container["livenessProbe"] = _probe("/health/live", period=10, failures=3)
        # Fails fast on purpose: while draining, readiness is 503 for drain_seconds, and the
        # endpoint should leave the Service before the server stops accepting.
        container["readinessProbe"] = _probe("/health/ready", period=2, failures=1)
        container["startupProbe"] = _probe("/health/live", period=2, failures=60)
    return container


def _probe(path: str, period: int, failures: int) -> dict[str, Any]:
    return {
        "httpGet": {"path": path, "port": "http"},
        "periodSeconds": period,
        "timeoutSeconds": 2,
        "failureThreshold": failures,
    }


def _deployment(name: str, labels: dict[str, str], settings: KubeSettings, serving: bool) -> str:
    pod = {
        "serviceAccountName": "modelyard",
        "automountServiceAccountToken": False,
        "terminationGracePeriodSeconds": settings.grace_seconds,
        "securityContext": {
            "runAsNonRoot": True,
            "runAsUser": UID,
            "runAsGroup": UID,
            "fsGroup": UID,
            "seccompProfile": {"type": "RuntimeDefault"},
        },
        "containers": [_container(settings, serving)],
        "volumes": [{"name": "tmp", "emptyDir": {"sizeLimit": "1Gi"}}],
    }
    spec: dict[str, Any] = {
        # The controller: more than one is safe (one holds the lease), two fail over faster.
        "replicas": settings.replicas if serving else 2,
        "selector": {"matchLabels": labels},
        "template": {"metadata": {"labels": {**labels, **PART_OF}}, "spec": pod},
    }
    if serving:
        spec["strategy"] = {
            "type": "RollingUpdate",
            "rollingUpdate": {"maxUnavailable": 0, "maxSurge": 1},
        }
    body = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": _meta(name, labels)}
    return _doc({**body, "spec": spec})


def _service() -> str:
    return _doc(
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": _meta("modelyard", SERVING),
            "spec": {
                "selector": SERVING,
                "ports": [{"name": "http", "port": 80, "targetPort": "http", "protocol": "TCP"}],
            },
        }
    )


def _hpa(settings: KubeSettings) -> str:
    cpu = {"type": "Utilization", "averageUtilization": 70}
    in_flight = {"type": "AverageValue", "averageValue": str(settings.in_flight_per_pod)}
    return _doc(
        {
            "apiVersion": "autoscaling/v2",
            "kind": "HorizontalPodAutoscaler",
            "metadata": _meta("modelyard", SERVING),
            "spec": {
                "scaleTargetRef": {
                    "apiVersion": "apps/v1",
                    "kind": "Deployment",
                    "name": "modelyard",
                },
                "minReplicas": settings.replicas,
                "maxReplicas": settings.max_replicas,
                "metrics": [
                    {"type": "Resource", "resource": {"name": "cpu", "target": cpu}},
                    # Served by a metrics adapter (prometheus-adapter) from the scraped gauge.
                    {
                        "type": "Pods",
                        "pods": {"metric": {"name": IN_FLIGHT_METRIC}, "target": in_flight},
                    },
                ],
            },
        }
    )


def _pdb() -> str:
    return _doc(
        {
            "apiVersion": "policy/v1",
            "kind": "PodDisruptionBudget",
            "metadata": _meta("modelyard", SERVING),
            "spec": {"maxUnavailable": 1, "selector": {"matchLabels": SERVING}},
        }
    )


def _network_policy() -> str:
    """Serving pods take HTTP on their port; every modelyard pod may reach DNS, the
    database and HTTPS (the object store, alert webhooks) and nothing else."""
    dns = {"ports": [{"protocol": "UDP", "port": 53}, {"protocol": "TCP", "port": 53}]}
    out = {"ports": [{"protocol": "TCP", "port": p} for p in (5432, 443, 9000)]}
    serving = {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": _meta("modelyard-serving"),
        "spec": {
            "podSelector": {"matchLabels": SERVING},
            "policyTypes": ["Ingress", "Egress"],
            "ingress": [{"ports": [{"protocol": "TCP", "port": PORT}]}],
            "egress": [dns, out],
        },
    }
    controller = {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": _meta("modelyard-controller"),
        "spec": {
            "podSelector": {"matchLabels": CONTROLLER},
            "policyTypes": ["Ingress", "Egress"],
            "ingress": [],
            "egress": [dns, out],
        },
    }
    return _doc(serving) + "---\n" + _doc(controller)


def _service_monitor() -> str:
    return _doc(
        {
            "apiVersion": "monitoring.coreos.com/v1",
            "kind": "ServiceMonitor",
            "metadata": _meta("modelyard", SERVING),
            "spec": {
                "selector": {"matchLabels": SERVING},
                "endpoints": [{"port": "http", "path": "/metrics", "interval": "15s"}],
            },
        }
    )


def _overlay(name: str, settings: KubeSettings, replicas: int, max_replicas: int | None) -> Files:
    """What differs per site: namespace, image tag, how many replicas at least (and most)."""
    image, tag = _split_image(settings.image)
    bounds = [{"op": "replace", "path": "/spec/minReplicas", "value": replicas}]
    if max_replicas is not None:
        bounds.append({"op": "replace", "path": "/spec/maxReplicas", "value": max_replicas})
    body = {
        "apiVersion": "kustomize.config.k8s.io/v1beta1",
        "kind": "Kustomization",
        "namespace": "modelyard" if name == "production" else f"modelyard-{name}",
        "resources": ["../../base"],
        "images": [{"name": image, "newTag": tag}],
        "replicas": [{"name": "modelyard", "count": replicas}],
        "patches": [
            {
                "target": {"kind": "HorizontalPodAutoscaler", "name": "modelyard"},
                "patch": _doc(bounds),
            }
        ],
    }
    return {f"overlays/{name}/kustomization.yaml": _doc(body)}


def _split_image(image: str) -> tuple[str, str]:
    """``registry:5000/modelyard:1.2`` → (``registry:5000/modelyard``, ``1.2``)."""
    name, sep, tag = image.rpartition(":")
    if not sep or "/" in tag:
        return image, "latest"
    return name, tag
