#!/bin/bash
# SPDX-License-Identifier: GPL-3.0-or-later
# Copyright 2026 The Herald authors
#
# Launch Herald from the build tree. Without a desktop session it brings its
# own: a session bus, an unlocked keyring and an Xvfb display.
set -euo pipefail
build=$1; shift
export GSETTINGS_SCHEMA_DIR="$build/data"
# The catalogues built in the build tree (po/de/LC_MESSAGES/herald.mo).
export HERALD_LOCALEDIR="$build/po"

if [ -z "${DBUS_SESSION_BUS_ADDRESS:-}" ]; then
  exec dbus-run-session -- "$0" "$build" "$@"
fi

if [ -z "${DISPLAY:-}" ] && [ -z "${WAYLAND_DISPLAY:-}" ]; then
  for n in $(seq 90 130); do
    [ -e "/tmp/.X11-unix/X$n" ] || [ -e "/tmp/.X$n-lock" ] || break
  done
  Xvfb ":$n" -noreset -screen 0 1280x1000x24 -nolisten tcp >/dev/null 2>&1 &
  xvfb_pid=$!
  trap 'kill $xvfb_pid 2>/dev/null || true' EXIT
  for _ in $(seq 50); do [ -e "/tmp/.X11-unix/X$n" ] && break; sleep 0.1; done
  export DISPLAY=":$n" GDK_BACKEND=x11
  echo "herald-dev: no desktop session; Herald runs on the virtual display $DISPLAY" >&2
  if ! gdbus call --session --dest org.freedesktop.secrets --object-path /org/freedesktop/secrets \
        --method org.freedesktop.DBus.Peer.Ping >/dev/null 2>&1; then
    # A keyring for this session only, unlocked with a throw-away password.
    head -c 24 /dev/urandom | base64 | gnome-keyring-daemon --daemonize --unlock \
      --components=secrets >/dev/null 2>&1 || true
  fi
fi

"$build/src/ui/herald" "$@"
