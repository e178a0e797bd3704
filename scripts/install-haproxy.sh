#!/bin/sh
# Install Debian's HAProxy for the fleet test's load balancer, where this machine allows it.
# Never fails: without it the fleet test skips and says why.
if command -v haproxy >/dev/null 2>&1; then
    exit 0
fi
if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
    echo "HAProxy is not installed and cannot be here (needs root and apt): the fleet test will skip"
    exit 0
fi
echo "installing HAProxy for the fleet test"
apt-get install -y -q --no-install-recommends haproxy >/dev/null 2>&1 \
    || { apt-get update -q >/dev/null 2>&1 \
         && apt-get install -y -q --no-install-recommends haproxy >/dev/null 2>&1; } \
    || echo "HAProxy could not be installed: the fleet test will skip"
exit 0
