#!/bin/bash
# SPDX-License-Identifier: GPL-3.0-or-later
# Copyright 2026 The Herald authors
#
# Runs the whole suite inside the private session bus that herald-dev starts
# (dbus-run-session): an Xvfb display, an AT-SPI bus and an unlocked
# gnome-keyring in a throw-away HOME. Prints "N passed, N failed" last and
# exits non-zero on any failure. A skipped test counts as a failure.
set -uo pipefail
build=$1; shift
top=$(cd "$(dirname "$0")/.." && pwd)

work=$(mktemp -d /tmp/herald-tests.XXXXXX)
chmod 755 "$work"
pids=()
cleanup () {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  pkill -f "gnome-keyring-daemon.*$work" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

export HOME="$work/home" XDG_DATA_HOME="$work/home/.local/share" XDG_CONFIG_HOME="$work/home/.config"
export XDG_CACHE_HOME="$work/home/.cache" XDG_RUNTIME_DIR="$work/runtime"
mkdir -p "$XDG_DATA_HOME" "$XDG_CONFIG_HOME" "$XDG_CACHE_HOME" "$XDG_RUNTIME_DIR"
chmod 700 "$XDG_RUNTIME_DIR"
export HERALD_TEST_WORKDIR="$work"

# Display: Xvfb picks a free number itself and tells us (-displayfd), so
# sessions started at the same moment never share one.
# -noreset: by default Xvfb resets itself when its last client leaves, and
# refuses connections while it does; a test that starts a window just after
# the suite went quiet (meson drains the parallel tests before each
# non-parallel one) then fails with "cannot open display".
Xvfb -displayfd 9 -noreset -screen 0 1280x1900x24 -nolisten tcp 9>"$work/display" >"$work/xvfb.log" 2>&1 &
pids+=($!)
n=
for _ in $(seq 200); do
  n=$(tr -dc 0-9 <"$work/display")
  [ -n "$n" ] && break
  sleep 0.05
done
if [ -z "$n" ]; then
  echo "test-session: Xvfb did not start: $(cat "$work/xvfb.log")" >&2
  echo "0 passed, 1 failed"
  exit 1
fi
export DISPLAY=":$n" GDK_BACKEND=x11

# Accessibility bus (for the AT-SPI end-to-end test).
/usr/libexec/at-spi-bus-launcher --launch-immediately >"$work/atspi.log" 2>&1 &
pids+=($!)

# Keyring, unlocked; the test password never leaves this process tree.
printf 'herald-test-keyring' | gnome-keyring-daemon --daemonize --unlock --components=secrets \
  >"$work/keyring.env" 2>"$work/keyring.log"
# shellcheck disable=SC1090
. <(sed -n 's/^\(GNOME_KEYRING_[A-Z_]*=.*\)$/export \1/p' "$work/keyring.env")

meson test -C "$build" --print-errorlogs --no-rebuild "$@"
meson_rc=$?

# Count TAP results per test case (meson counts whole programs only).
/usr/bin/python3 - "$build/meson-logs/testlog.json" "$meson_rc" <<'PY'
import json, re, sys
passed = failed = skipped = 0
path, meson_rc = sys.argv[1], int(sys.argv[2])
try:
    lines = open(path, encoding="utf-8").read().splitlines()
except OSError:
    lines = []
for line in lines:
    if not line.strip():
        continue
    try:
        t = json.loads(line)
    except ValueError as e:
        # A damaged log line (two runs writing one build's log) is a failure
        # we say, never a missing summary.
        print(f"unreadable line in {path}: {e}", file=sys.stderr)
        failed += 1
        continue
    out = t.get("stdout") or ""
    ok = len(re.findall(r"^ok\b(?!.*# (?i:skip))", out, re.M))
    skip = len(re.findall(r"^ok\b.*# (?i:skip)", out, re.M))
    bad = len(re.findall(r"^not ok\b", out, re.M))
    if ok + skip + bad == 0:
        # Not TAP, or it died before printing any: the program's own verdict.
        if t["result"] in ("OK", "EXPECTEDFAIL"):
            ok = 1
        elif t["result"] == "SKIP":
            skip = 1
        else:
            bad = 1
    elif t["result"] not in ("OK", "EXPECTEDFAIL", "SKIP") and bad == 0:
        bad = 1  # crashed or timed out after its last "ok"
    if skip:
        print(f"SKIPPED (counted as failed): {t['name']}", file=sys.stderr)
    passed += ok
    failed += bad + skip
if passed + failed == 0:
    failed = 1
print(f"{passed} passed, {failed} failed")
sys.exit(1 if failed or meson_rc else 0)
PY
