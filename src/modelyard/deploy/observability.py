"""Everything Prometheus and Grafana need, as ``{relative path: contents}``."""

from __future__ import annotations

from collections.abc import Sequence

import yaml

from modelyard.deploy.dashboards import as_json, dashboard
from modelyard.deploy.rules import AlertThresholds, rules_document
from modelyard.deploy.rules_tests import rules_tests_document

RULES = "prometheus/rules.yml"
RULES_TEST = "prometheus/rules_test.yml"
FLEET_DASHBOARD = "grafana/dashboards/modelyard-fleet.json"
ENDPOINT_DASHBOARD = "grafana/dashboards/modelyard-endpoint.json"


def _yaml(document: object) -> str:
    return yaml.safe_dump(document, sort_keys=False, width=100, allow_unicode=True)


def observability_files(
    thresholds: AlertThresholds | None = None,
    *,
    targets: Sequence[str] = ("modelyard:8000",),
    prometheus_url: str = "http://prometheus:9090",
    dashboards_path: str = "/var/lib/grafana/dashboards",
    rules_path: str = "/etc/prometheus/rules.yml",
    scrape_interval: str = "15s",
) -> dict[str, str]:
    """Rules, their promtool tests, the scrape config, the dashboards and Grafana's
    provisioning. ``targets``: the servers Prometheus scrapes (host:port);
    ``prometheus_url``: where Grafana reaches Prometheus; ``dashboards_path`` and
    ``rules_path``: where the dashboards and rules are mounted in their containers."""
    t = thresholds or AlertThresholds()
    scrape = {
        "global": {"scrape_interval": scrape_interval, "evaluation_interval": scrape_interval},
        "rule_files": [rules_path],
        "scrape_configs": [
            {
                "job_name": t.job,
                "metrics_path": "/metrics",
                "static_configs": [{"targets": list(targets)}],
            }
        ],
    }
    datasource = {
        "apiVersion": 1,
        "datasources": [
            {
                "name": "Prometheus",
                "uid": "prometheus",
                "type": "prometheus",
                "access": "proxy",
                "url": prometheus_url,
                "isDefault": True,
            }
        ],
    }
    provider = {
        "apiVersion": 1,
        "providers": [
            {
                "name": "modelyard",
                "folder": "modelyard",
                "type": "file",
                "disableDeletion": True,
                "allowUiUpdates": False,
                "options": {"path": dashboards_path},
            }
        ],
    }
    return {
        RULES: _yaml(rules_document(t)),
        RULES_TEST: _yaml(rules_tests_document(t, "rules.yml")),
        "prometheus/prometheus.yml": _yaml(scrape),
        FLEET_DASHBOARD: as_json(dashboard(per_endpoint=False)),
        ENDPOINT_DASHBOARD: as_json(dashboard(per_endpoint=True)),
        "grafana/provisioning/dashboards/modelyard.yml": _yaml(provider),
        "grafana/provisioning/datasources/prometheus.yml": _yaml(datasource),
    }
