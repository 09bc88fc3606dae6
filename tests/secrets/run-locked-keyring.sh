#!/bin/bash
# SPDX-License-Identifier: GPL-3.0-or-later
# Copyright 2026 The Herald authors
#
# run-locked-keyring.sh TEST-BINARY [ARGS...]
# Runs TEST-BINARY with its own session bus, HOME and unlocked gnome-keyring,
# and no way to show an unlock prompt (no display, nothing activatable on the
# bus: as when the user refuses it). The test locks the keyring itself.
# Bounded by timeout(1).
set -u
here=$(cd "$(dirname "$0")" && pwd)
if [ -z "${HERALD_PRIVATE_KEYRING:-}" ]; then
  export HERALD_OUTER_BUS="${DBUS_SESSION_BUS_ADDRESS:-none}" HERALD_PRIVATE_KEYRING=1
  # Nothing may point at the suite's display or keyring daemon (its control
  # socket would make --daemonize join it instead of starting ours).
  unset DISPLAY WAYLAND_DISPLAY GNOME_KEYRING_CONTROL GNOME_KEYRING_PID SSH_AUTH_SOCK
  exec timeout --kill-after=5 60 \
    dbus-run-session --config-file="$here/session-no-services.conf" -- "$0" "$@"
fi

work=$(mktemp -d /tmp/herald-locked.XXXXXX)
trap 'rm -rf "$work"' EXIT
export HOME="$work/home" XDG_DATA_HOME="$work/home/.local/share" XDG_RUNTIME_DIR="$work/run"
mkdir -p "$XDG_DATA_HOME" "$XDG_RUNTIME_DIR"
chmod 700 "$XDG_RUNTIME_DIR"
printf 'herald-locked' | gnome-keyring-daemon --daemonize --unlock --components=secrets \
  >"$work/keyring.env" 2>"$work/keyring.log"
for _ in $(seq 100); do
  dbus-send --session --print-reply --dest=org.freedesktop.DBus /org/freedesktop/DBus \
    org.freedesktop.DBus.NameHasOwner string:org.freedesktop.secrets 2>/dev/null |
    grep -q 'boolean true' && break
  sleep 0.1
done
"$@"
