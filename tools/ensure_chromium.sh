#!/usr/bin/env bash
# Make sure a Chromium the browser tests can drive is installed (tests/browser).
# Quick and idempotent: if the browser is already there it only prints its path.
# Installs Debian's `chromium` package when we are root on a system with apt-get;
# anywhere else it exits non-zero and says how to install it.
#
# The browser tests use $CHROMIUM if set, else /usr/bin/chromium. Never run
# `playwright install` for this: it downloads a browser from the network.
set -euo pipefail

CHROMIUM="${CHROMIUM:-/usr/bin/chromium}"

if [[ -x "$CHROMIUM" ]]; then
    echo "chromium: $CHROMIUM"
    exit 0
fi

how_to() {
    cat >&2 <<MSG
ensure_chromium: no Chromium at $CHROMIUM, and $1.
Install one, then re-run:
    Debian:    sudo apt-get update && sudo apt-get install -y --no-install-recommends chromium
    Elsewhere: install Chromium or Chrome with your package manager and set
               CHROMIUM=/path/to/chromium (the browser tests read that variable).
MSG
    exit 1
}

[[ "$(id -u)" -eq 0 ]] || how_to "this script installs it only when run as root"
command -v apt-get >/dev/null 2>&1 || how_to "apt-get is not available here"
[[ -r /etc/debian_version ]] || how_to "this is not a Debian-based system"
[[ "$CHROMIUM" == /usr/bin/chromium ]] || how_to "CHROMIUM points somewhere apt-get does not install to"

echo "ensure_chromium: installing Debian's chromium package (apt-get)"
export DEBIAN_FRONTEND=noninteractive
apt-get update
apt-get install -y --no-install-recommends chromium

if [[ ! -x "$CHROMIUM" ]]; then
    echo "ensure_chromium: apt-get finished but $CHROMIUM is still missing" >&2
    exit 1
fi
echo "chromium: $CHROMIUM ($("$CHROMIUM" --version 2>/dev/null || echo 'version unknown'))"
