#!/bin/sh
# Extract promtool from Debian's prometheus package into .tools/bin/ (no daemon, no install):
# `apt-get download` fetches the .deb, `dpkg -x` unpacks it in a scratch folder, and only
# the promtool binary is kept. Never fails: without it the rules tests skip and say why.
set -u
DEST="${1:-.tools/bin}"
if [ -x "$DEST/promtool" ]; then
    exit 0
fi
if ! command -v apt-get >/dev/null 2>&1 || ! command -v dpkg >/dev/null 2>&1; then
    echo "promtool cannot be extracted here (needs apt-get and dpkg): the rules tests will skip"
    exit 0
fi
SCRATCH="$(mktemp -d)"
trap 'rm -rf "$SCRATCH"' EXIT
cd "$SCRATCH" || exit 0
if ! apt-get download -q prometheus >/dev/null 2>&1; then
    if [ "$(id -u)" = 0 ]; then
        apt-get update -q >/dev/null 2>&1
    fi
    apt-get download -q prometheus >/dev/null 2>&1 || {
        echo "Debian's prometheus package could not be downloaded: the rules tests will skip"
        exit 0
    }
fi
dpkg -x prometheus_*.deb unpacked && cd - >/dev/null || exit 0
mkdir -p "$DEST"
cp "$SCRATCH/unpacked/usr/bin/promtool" "$DEST/promtool" && chmod +x "$DEST/promtool"
"$DEST/promtool" --version 2>&1 | head -1
