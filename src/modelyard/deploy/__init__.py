"""Generators of what a platform team runs modelyard with: Prometheus rules and their
unit tests, Grafana dashboards and provisioning (and, beside them, containers, compose and
Kubernetes). Each returns file contents; writing them is the command line's job."""
