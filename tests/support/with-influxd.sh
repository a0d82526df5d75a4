#!/usr/bin/env bash
# Usage: bash tests/support/with-influxd.sh COMMAND [ARGS...]
#
# Makes sure `influxd` (InfluxDB 1.x) is available, installing Debian's
# `influxdb` package when it is missing, then runs COMMAND in its place.
# The integration tests start their own throw-away servers; nothing is
# started here.
set -euo pipefail

die() {
    echo "with-influxd.sh: $*" >&2
    exit 1
}

[ "$#" -gt 0 ] || die "usage: bash tests/support/with-influxd.sh COMMAND [ARGS...]"

if [ -n "${INFLUXD:-}" ]; then
    [ -x "$INFLUXD" ] || die "INFLUXD=$INFLUXD is not executable"
elif ! command -v influxd >/dev/null 2>&1; then
    echo "with-influxd.sh: influxd not found; installing Debian's influxdb package" >&2
    command -v apt-get >/dev/null 2>&1 ||
        die "apt-get is not available; install InfluxDB 1.x so that \`influxd\` is on PATH (or set INFLUXD=/path/to/influxd)"
    if [ "$(id -u)" -eq 0 ]; then
        as_root() { "$@"; }
    elif command -v sudo >/dev/null 2>&1; then
        as_root() { sudo "$@"; }
    else
        die "not root and sudo is missing; as root run: apt-get update && apt-get install -y influxdb"
    fi
    if ! as_root apt-get update ||
        ! as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y influxdb; then
        die "installing influxdb failed; run: apt-get update && apt-get install -y influxdb"
    fi
    command -v influxd >/dev/null 2>&1 ||
        die "the influxdb package is installed but \`influxd\` is still not on PATH"
fi

exec "$@"
