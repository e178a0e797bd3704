#!/bin/sh
# Install kubectl from the apt sources (it bundles kustomize) for the tests that render the generated
# overlays (`kubectl kustomize`), where this machine allows it. Never fails: without it
# those tests skip and say why.
if command -v kubectl >/dev/null 2>&1; then
    exit 0
fi
if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
    echo "kubectl is not installed and cannot be here (needs root and apt): kustomize tests will skip"
    exit 0
fi
echo "installing kubectl for the kustomize tests"
apt-get install -y -q kubectl >/dev/null 2>&1 \
    || { apt-get update -q >/dev/null 2>&1 && apt-get install -y -q kubectl >/dev/null 2>&1; } \
    || echo "kubectl could not be installed (no Debian package here): kustomize tests will skip"
exit 0
