#!/usr/bin/env bash
# Make sure bubblewrap (bwrap) is installed, so that `make autograde` and `make check` run
# each submission's kernel in a sandbox (courseware/sandbox.py). Quick and idempotent: if
# bwrap is already there it only checks that it can make a sandbox here and says so.
# Installs Debian's `bubblewrap` package when we are root on a system with apt-get;
# anywhere else it says how to install it. Grading still works without bubblewrap (a
# weaker sandbox, with a one-line warning), so this script never fails the build.
set -uo pipefail

probe() {
    bwrap --unshare-all --die-with-parent --ro-bind / / --tmpfs /tmp --dev /dev \
        --proc /proc true 2>&1
}

report() {
    local why
    if why="$(probe)"; then
        echo "bwrap: $(command -v bwrap) ($(bwrap --version 2>/dev/null || echo 'version unknown')); sandbox works"
    else
        echo "ensure_bwrap: bwrap is installed but cannot make a sandbox here (${why:-no message});" >&2
        echo "  user namespaces may be disabled (e.g. in a container): grading falls back to the weaker sandbox" >&2
    fi
    exit 0
}

command -v bwrap >/dev/null 2>&1 && report

how_to() {
    cat >&2 <<MSG
ensure_bwrap: bubblewrap is not installed, and $1.
Grading works without it, with a weaker sandbox. To install it:
    Debian/Ubuntu: sudo apt-get install -y --no-install-recommends bubblewrap
    Fedora:        sudo dnf install bubblewrap
    Elsewhere:     your package manager's bubblewrap (it provides the bwrap command)
MSG
    exit 0
}

[[ "$(id -u)" -eq 0 ]] || how_to "this script installs it only when run as root"
command -v apt-get >/dev/null 2>&1 || how_to "apt-get is not available here"
[[ -r /etc/debian_version ]] || how_to "this is not a Debian-based system"

echo "ensure_bwrap: installing Debian's bubblewrap package (apt-get)"
export DEBIAN_FRONTEND=noninteractive
# the package is often in apt's cache already: try that first, then the network
apt-get install -y --no-install-recommends --no-download bubblewrap >/dev/null 2>&1 || {
    apt-get update && apt-get install -y --no-install-recommends bubblewrap
} || how_to "apt-get could not install it"
command -v bwrap >/dev/null 2>&1 || how_to "apt-get finished but bwrap is still missing"
report
