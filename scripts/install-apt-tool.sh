#!/bin/sh
# Install one Debian package that provides a command, where this machine allows it (root
# and apt). Never fails: whoever needs the command says why it is missing.
# usage: install-apt-tool.sh COMMAND PACKAGE WHAT-NEEDS-IT
command_name=$1 package=$2 purpose=$3
if command -v "$command_name" >/dev/null 2>&1; then
    exit 0
fi
if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
    echo "$command_name is not installed and cannot be here (needs root and apt): $purpose"
    exit 0
fi
echo "installing $package for $purpose"
apt-get install -y -q --no-install-recommends "$package" >/dev/null 2>&1 \
    || { apt-get update -q >/dev/null 2>&1 \
         && apt-get install -y -q --no-install-recommends "$package" >/dev/null 2>&1; } \
    || echo "$package could not be installed: $purpose"
exit 0
