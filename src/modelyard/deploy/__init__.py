"""Generators of what a platform team runs modelyard with: a container image's build
context, a compose project, Kubernetes manifests, CI pipelines, Prometheus rules with their
promtool tests and Grafana dashboards. Each returns files (relative path → text or bytes);
``files.write_folder`` writes them all or nothing."""
