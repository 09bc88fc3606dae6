#!/bin/bash
# SPDX-License-Identifier: GPL-3.0-or-later
# Copyright 2026 The Herald authors
#
# make-screenshots.sh [BUILD_DIR] [OUT_DIR]
# Writes OUT_DIR/{form,success,error,history,relay}.png (default data/screenshots) from the
# real window under a private Xvfb, session bus, AT-SPI bus and keyring, with a
# fake SMTP server on loopback. Needs a built tree (src/ui/herald).
set -euo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
build=$(cd "${1:-$top/_build}" && pwd)
out=$(mkdir -p "${2:-$top/data/screenshots}" && cd "${2:-$top/data/screenshots}" && pwd)

if [ -z "${HERALD_SCREENSHOT_SESSION:-}" ]; then
  exec env HERALD_SCREENSHOT_SESSION=1 dbus-run-session -- "$0" "$build" "$out"
fi

work=$(mktemp -d /tmp/herald-shots.XXXXXX)
pids=()
cleanup () {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT
export HOME="$work/home" XDG_DATA_HOME="$work/home/.local/share" XDG_CONFIG_HOME="$work/home/.config"
export XDG_CACHE_HOME="$work/home/.cache" XDG_RUNTIME_DIR="$work/runtime"
mkdir -p "$XDG_DATA_HOME" "$XDG_CONFIG_HOME" "$XDG_CACHE_HOME" "$XDG_RUNTIME_DIR"
chmod 700 "$XDG_RUNTIME_DIR"

for n in $(seq 150 199); do
  [ -e "/tmp/.X11-unix/X$n" ] || [ -e "/tmp/.X$n-lock" ] || break
done
Xvfb ":$n" -noreset -screen 0 1280x1900x24 -nolisten tcp >"$work/xvfb.log" 2>&1 &
pids+=($!)
for _ in $(seq 100); do [ -e "/tmp/.X11-unix/X$n" ] && break; sleep 0.05; done
export DISPLAY=":$n" GDK_BACKEND=x11
/usr/libexec/at-spi-bus-launcher --launch-immediately >"$work/atspi.log" 2>&1 &
pids+=($!)
printf 'herald-screenshots' | gnome-keyring-daemon --daemonize --unlock --components=secrets \
  >"$work/keyring.env" 2>/dev/null
export GSETTINGS_SCHEMA_DIR="$build/data"

/usr/bin/python3 "$top/tests/desktop/make-screenshots.py" "$build/src/ui/herald" \
  "$build/tests/fixtures/fake-smtp-server" "$top/tests/fixtures/make-test-certs.sh" "$out"
