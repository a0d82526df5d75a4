#!/usr/bin/env bash
# Usage: bash tests/support/with-influxd.sh COMMAND [ARGS...]
#
# Makes sure `influxd` (InfluxDB 1.x) and `victoria-metrics` are available,
# installing Debian's `influxdb` and `victoria-metrics` packages when they
# are missing, then runs COMMAND in its place. The integration tests start
# their own throw-away servers; nothing is started here.
set -euo pipefail

die() {
    echo "with-influxd.sh: $*" >&2
    exit 1
}

[ "$#" -gt 0 ] || die "usage: bash tests/support/with-influxd.sh COMMAND [ARGS...]"

if [ -n "${INFLUXD:-}" ]; then
    [ -x "$INFLUXD" ] || die "INFLUXD=$INFLUXD is not executable"
fi

missing=()
if [ -z "${INFLUXD:-}" ] && ! command -v influxd >/dev/null 2>&1; then
    missing+=(influxdb)
fi
if [ -z "${VICTORIA_METRICS:-}" ] && ! command -v victoria-metrics >/dev/null 2>&1; then
    missing+=(victoria-metrics)
fi
if [ "${#missing[@]}" -gt 0 ]; then
    echo "with-influxd.sh: installing Debian's ${missing[*]}" >&2
    command -v apt-get >/dev/null 2>&1 ||
        die "apt-get is not available; install ${missing[*]} so that \`influxd\` and \`victoria-metrics\` are on PATH (or set INFLUXD / VICTORIA_METRICS)"
    if [ "$(id -u)" -eq 0 ]; then
        as_root() { "$@"; }
    elif command -v sudo >/dev/null 2>&1; then
        as_root() { sudo "$@"; }
    else
        die "not root and sudo is missing; as root run: apt-get update && apt-get install -y ${missing[*]}"
    fi
    # The packages' own services stay off: the tests start their own servers.
    if ! as_root apt-get update ||
        ! as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y "${missing[@]}"; then
        die "installing ${missing[*]} failed; run: apt-get update && apt-get install -y ${missing[*]}"
    fi
    command -v influxd >/dev/null 2>&1 || [ -n "${INFLUXD:-}" ] ||
        die "the influxdb package is installed but \`influxd\` is still not on PATH"
    command -v victoria-metrics >/dev/null 2>&1 || [ -n "${VICTORIA_METRICS:-}" ] ||
        die "the victoria-metrics package is installed but \`victoria-metrics\` is still not on PATH"
fi

exec "$@"
