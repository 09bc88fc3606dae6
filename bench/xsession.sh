#!/bin/bash
# SPDX-License-Identifier: GPL-3.0-or-later
# Copyright 2026 The Herald authors
#
# bench/xsession.sh COMMAND [ARGS...]
#
# Runs COMMAND with a private display (Xvfb), a session bus (when none is
# given) and an unlocked throw-away keyring in a throw-away HOME, for the
# window benchmark. Like build-aux/test-session.sh, but for one command.
set -uo pipefail
if [ -z "${HERALD_XSESSION_BUS:-}" ]; then
  exec env HERALD_XSESSION_BUS=1 dbus-run-session -- "$0" "$@"
fi

work=$(mktemp -d /tmp/herald-xsession.XXXXXX)
chmod 755 "$work"
xvfb_pid=
cleanup () {
  [ -n "$xvfb_pid" ] && kill "$xvfb_pid" 2>/dev/null
  [ -n "${keyring_pid:-}" ] && kill "$keyring_pid" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT

export HOME="$work/home" XDG_DATA_HOME="$work/home/.local/share" XDG_CONFIG_HOME="$work/home/.config"
export XDG_CACHE_HOME="$work/home/.cache" XDG_RUNTIME_DIR="$work/runtime" HERALD_TEST_WORKDIR="$work"
mkdir -p "$XDG_DATA_HOME" "$XDG_CONFIG_HOME" "$XDG_CACHE_HOME" "$XDG_RUNTIME_DIR"
chmod 700 "$XDG_RUNTIME_DIR"

for n in $(seq 200 260); do
  [ -e "/tmp/.X11-unix/X$n" ] || [ -e "/tmp/.X$n-lock" ] || break
done
Xvfb ":$n" -noreset -screen 0 1280x1000x24 -nolisten tcp >"$work/xvfb.log" 2>&1 &
xvfb_pid=$!
for _ in $(seq 100); do [ -e "/tmp/.X11-unix/X$n" ] && break; sleep 0.05; done
export DISPLAY=":$n" GDK_BACKEND=x11 GTK_A11Y=none

printf 'herald-bench-keyring' | gnome-keyring-daemon --daemonize --unlock --components=secrets \
  >"$work/keyring.env" 2>/dev/null
keyring_pid=$(sed -n 's/^GNOME_KEYRING_PID=//p' "$work/keyring.env")
# shellcheck disable=SC1090
. <(sed -n 's/^\(GNOME_KEYRING_[A-Z_]*=.*\)$/export \1/p' "$work/keyring.env")

"$@"
