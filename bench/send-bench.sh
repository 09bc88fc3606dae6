#!/bin/bash
# SPDX-License-Identifier: GPL-3.0-or-later
# Copyright 2026 The Herald authors
#
# send-bench.sh [BUILD_DIR] [-- send-bench.py options]
# Flush of 200 queued alerts through the 25 ms one-way delay proxy to a
# private Postfix, against msmtp run once per message as msmtpq runs it;
# and heraldctl send of one alert against heraldctl test. Runs in its own
# session bus with a throw-away unlocked keyring (heraldctl send takes the
# password from the keyring, as on a desktop). Prints the tables.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$top/_build}
shift || true
[ "${1:-}" = "--" ] && shift

if [ -z "${HERALD_SEND_BENCH_INNER:-}" ]; then
  meson compile -C "$build" heraldctl heraldctl-oauth >/dev/null
  exec env HERALD_SEND_BENCH_INNER=1 dbus-run-session -- "$0" "$build" -- "$@"
fi

work=$(mktemp -d /tmp/herald-send-bench.XXXXXX)
cleanup () {
  pkill -f "gnome-keyring-daemon.*$work" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
export HOME="$work/home" XDG_RUNTIME_DIR="$work/runtime"
mkdir -p "$HOME" "$XDG_RUNTIME_DIR"
chmod 700 "$XDG_RUNTIME_DIR"
printf 'herald-bench-keyring' | gnome-keyring-daemon --daemonize --unlock --components=secrets \
  >"$work/keyring.env" 2>/dev/null
# shellcheck disable=SC1090
. <(sed -n 's/^\(GNOME_KEYRING_[A-Z_]*=.*\)$/export \1/p' "$work/keyring.env")

export GSETTINGS_SCHEMA_DIR="$build/data"
exec /usr/bin/python3 "$top/bench/send-bench.py" "$build/src/cli/heraldctl" "$@"
