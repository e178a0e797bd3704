"""A compose project for one team: modelyard serving and its controller, PostgreSQL, MinIO
(S3-compatible), Prometheus and Grafana, each with a healthcheck, started in order.

Credentials live in ``.env``, generated with empty values the user fills: compose refuses
to start until they are set (``${VAR:?…}``). The image's build context is written beside
(``image/``), so ``docker compose up --build`` is the one command.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import yaml

from modelyard.deploy.container import PORT
from modelyard.deploy.files import Content, Files

POSTGRES_IMAGE = "postgres:16.6-bookworm"
MINIO_IMAGE = "minio/minio:RELEASE.2025-04-22T22-12-26Z"
MC_IMAGE = "minio/mc:RELEASE.2025-04-16T18-13-26Z"
PROMETHEUS_IMAGE = "prom/prometheus:v2.55.1"
GRAFANA_IMAGE = "grafana/grafana:11.4.0"

ENV_FILE = """\
# Fill every value before `docker compose up`: compose refuses to start while one is empty.
# This file holds secrets: keep it out of version control (it is in .gitignore).
# POSTGRES_PASSWORD becomes part of the database URL: use letters and digits only.
POSTGRES_USER=modelyard
POSTGRES_DB=modelyard
POSTGRES_PASSWORD=
MINIO_ROOT_USER=modelyard
MINIO_ROOT_PASSWORD=
MODELYARD_BUCKET=modelyard
GRAFANA_ADMIN_PASSWORD=
"""


def _need(variable: str) -> str:
    return f"${{{variable}:?set {variable} in .env}}"


def _healthcheck(test: list[str], start: str = "10s") -> dict[str, Any]:
    return {"test": test, "interval": "5s", "timeout": "5s", "retries": 10, "start_period": start}


def _modelyard(args: list[str], depends: dict[str, Any]) -> dict[str, Any]:
    database = (
        f"postgresql+psycopg://{_need('POSTGRES_USER')}:{_need('POSTGRES_PASSWORD')}"
        f"@postgres:5432/{_need('POSTGRES_DB')}"
    )
    return {
        "build": {"context": "./image"},
        "image": "modelyard:compose",
        "command": args,
        "environment": {
            "MODELYARD_DB_URL": database,
            "MODELYARD_ARTIFACTS": f"s3://{_need('MODELYARD_BUCKET')}/artifacts",
            "AWS_ACCESS_KEY_ID": _need("MINIO_ROOT_USER"),
            "AWS_SECRET_ACCESS_KEY": _need("MINIO_ROOT_PASSWORD"),
            "AWS_ENDPOINT_URL": "http://minio:9000",
        },
        "read_only": True,
        "tmpfs": ["/tmp"],
        "depends_on": depends,
        "restart": "unless-stopped",
    }


def compose_project() -> dict[str, Any]:
    ready = ["CMD", "python", "-c", _urlopen(f"http://127.0.0.1:{PORT}/health/ready")]
    serving = _modelyard(
        ["serve", "--host", "0.0.0.0", "--port", str(PORT), "--no-controller"],
        {
            "postgres": {"condition": "service_healthy"},
            "bucket": {"condition": "service_completed_successfully"},
        },
    )
    serving["ports"] = [f"{PORT}:{PORT}"]
    serving["healthcheck"] = _healthcheck(ready, start="30s")
    # The server migrates the database when it starts: the controller waits for it.
    controller = _modelyard(["controller"], {"modelyard": {"condition": "service_healthy"}})
    return {
        "name": "modelyard",
        "services": {
            "postgres": {
                "image": POSTGRES_IMAGE,
                "environment": {
                    "POSTGRES_USER": _need("POSTGRES_USER"),
                    "POSTGRES_PASSWORD": _need("POSTGRES_PASSWORD"),
                    "POSTGRES_DB": _need("POSTGRES_DB"),
                },
                "volumes": ["postgres:/var/lib/postgresql/data"],
                "healthcheck": _healthcheck(
                    ["CMD-SHELL", 'pg_isready -U "$$POSTGRES_USER" -d "$$POSTGRES_DB"']
                ),
                "restart": "unless-stopped",
            },
            "minio": {
                "image": MINIO_IMAGE,
                "command": ["server", "/data", "--console-address", ":9001"],
                "environment": {
                    "MINIO_ROOT_USER": _need("MINIO_ROOT_USER"),
                    "MINIO_ROOT_PASSWORD": _need("MINIO_ROOT_PASSWORD"),
                },
                "volumes": ["minio:/data"],
                "healthcheck": _healthcheck(["CMD", "mc", "ready", "local"]),
                "restart": "unless-stopped",
            },
            "bucket": {
                "image": MC_IMAGE,
                "depends_on": {"minio": {"condition": "service_healthy"}},
                "environment": {
                    "MINIO_ROOT_USER": _need("MINIO_ROOT_USER"),
                    "MINIO_ROOT_PASSWORD": _need("MINIO_ROOT_PASSWORD"),
                    "MODELYARD_BUCKET": _need("MODELYARD_BUCKET"),
                },
                "entrypoint": ["/bin/sh", "-c"],
                "command": [
                    'mc alias set yard http://minio:9000 "$$MINIO_ROOT_USER" '
                    '"$$MINIO_ROOT_PASSWORD" && mc mb --ignore-existing "yard/$$MODELYARD_BUCKET"'
                ],
            },
            "modelyard": serving,
            "controller": controller,
            "prometheus": {
                "image": PROMETHEUS_IMAGE,
                "command": [
                    "--config.file=/etc/prometheus/prometheus.yml",
                    "--storage.tsdb.path=/prometheus",
                ],
                "volumes": ["./prometheus:/etc/prometheus:ro", "prometheus:/prometheus"],
                "ports": ["9090:9090"],
                "healthcheck": _healthcheck(
                    ["CMD", "wget", "-q", "-O", "/dev/null", "http://127.0.0.1:9090/-/ready"]
                ),
                "depends_on": {"modelyard": {"condition": "service_healthy"}},
                "restart": "unless-stopped",
            },
            "grafana": {
                "image": GRAFANA_IMAGE,
                "environment": {
                    "GF_SECURITY_ADMIN_PASSWORD": _need("GRAFANA_ADMIN_PASSWORD"),
                    "GF_USERS_ALLOW_SIGN_UP": "false",
                },
                "volumes": [
                    "./grafana/provisioning:/etc/grafana/provisioning:ro",
                    "./grafana/dashboards:/var/lib/grafana/dashboards:ro",
                    "grafana:/var/lib/grafana",
                ],
                "ports": ["3000:3000"],
                "healthcheck": _healthcheck(
                    ["CMD", "wget", "-q", "-O", "/dev/null", "http://127.0.0.1:3000/api/health"]
                ),
                "depends_on": {"prometheus": {"condition": "service_healthy"}},
                "restart": "unless-stopped",
            },
        },
        "volumes": {"postgres": {}, "minio": {}, "prometheus": {}, "grafana": {}},
    }


def _urlopen(url: str) -> str:
    return f"import urllib.request; urllib.request.urlopen('{url}', timeout=3)"


PROMETHEUS_CONFIG = {
    "global": {"scrape_interval": "15s", "evaluation_interval": "15s"},
    # Globs: the rule files `modelyard deploy` writes beside this one, if any.
    "rule_files": ["/etc/prometheus/rules.yml", "/etc/prometheus/rules/*.yml"],
    "scrape_configs": [
        {
            "job_name": "modelyard",
            "metrics_path": "/metrics",
            "static_configs": [{"targets": [f"modelyard:{PORT}"]}],
        }
    ],
}

DATASOURCE = {
    "apiVersion": 1,
    "datasources": [
        {
            "name": "Prometheus",
            "uid": "prometheus",
            "type": "prometheus",
            "access": "proxy",
            "url": "http://prometheus:9090",
            "isDefault": True,
        }
    ],
}

DASHBOARD_PROVIDER = {
    "apiVersion": 1,
    "providers": [
        {
            "name": "modelyard",
            "folder": "modelyard",
            "type": "file",
            "allowUiUpdates": False,
            "options": {"path": "/var/lib/grafana/dashboards"},
        }
    ],
}


def compose_files(observability: Mapping[str, Content] | None = None) -> Files:
    """The project's own files, then ``observability``'s (rules, dashboards, provisioning:
    paths under ``prometheus/`` and ``grafana/``), which win where a path is the same."""
    files: Files = {
        "compose.yaml": _yaml(compose_project()),
        ".env": ENV_FILE,
        ".gitignore": ".env\n",
        "prometheus/prometheus.yml": _yaml(PROMETHEUS_CONFIG),
        "grafana/provisioning/datasources/prometheus.yml": _yaml(DATASOURCE),
        "grafana/provisioning/dashboards/modelyard.yml": _yaml(DASHBOARD_PROVIDER),
        "grafana/dashboards/.keep": "",
    }
    for path, content in (observability or {}).items():
        if not path.startswith(("prometheus/", "grafana/")):
            raise ValueError(f"observability file {path!r} is not under prometheus/ or grafana/")
        files[path] = content
    return files


def _yaml(body: Any) -> str:
    return yaml.safe_dump(body, sort_keys=False, default_flow_style=False, width=100)
