#!/bin/sh
# Install kubectl (it bundles kustomize) for the tests that render the generated overlays
# (`kubectl kustomize`), where this machine allows it: the `kubectl` package where an apt
# source has it (Kubernetes' or Google Cloud's repository), else Debian's
# `kubernetes-client`. Never fails: without it those tests skip and say why (they also skip
# when the bundled kustomize is older than v4, as Debian 12's kubectl 1.20 is).
if command -v kubectl >/dev/null 2>&1; then
    exit 0
fi
if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
    echo "kubectl is not installed and cannot be here (needs root and apt): kustomize tests will skip"
    exit 0
fi
install() {
    apt-get install -y -q "$1" >/dev/null 2>&1 \
        || { apt-get update -q >/dev/null 2>&1 && apt-get install -y -q "$1" >/dev/null 2>&1; }
}
echo "installing kubectl for the kustomize tests"
install kubectl || install kubernetes-client \
    || echo "kubectl could not be installed: kustomize tests will skip"
exit 0
