#!/bin/bash
# SPDX-License-Identifier: GPL-3.0-or-later
# Copyright 2026 The Herald authors
#
# run-no-service.sh [--no-bus] TEST-BINARY [ARGS...]
# Runs TEST-BINARY on its own session bus that has no Secret Service and no
# activatable services, so nothing can start a keyring; with --no-bus, with no
# session bus at all (and no display to autolaunch one). Bounded by timeout(1):
# a hang fails the test instead of stalling the suite.
set -u
here=$(cd "$(dirname "$0")" && pwd)
export HERALD_OUTER_BUS="${DBUS_SESSION_BUS_ADDRESS:-none}"
if [ "${1:-}" = --no-bus ]; then
  shift
  exec env -u DBUS_SESSION_BUS_ADDRESS -u DISPLAY -u WAYLAND_DISPLAY \
    XDG_RUNTIME_DIR=/nonexistent timeout --kill-after=5 60 "$@"
fi
exec timeout --kill-after=5 60 \
  dbus-run-session --config-file="$here/session-no-services.conf" -- "$@"
