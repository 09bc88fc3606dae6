#!/usr/bin/python3
# SPDX-License-Identifier: GPL-3.0-or-later
# Copyright 2026 The Herald authors
"""heraldctl's usage checks, with no server, keyring or identity provider:
a field that can never be sent (a line break in the user name) is bad usage,
exit 2, before any secret is looked for. With no keyring reachable and no
token saved, a heraldctl that looked first would fail with exit 1 and a
keyring or sign-in message instead.

Usage: test-heraldctl-usage.py HERALDCTL
"""

import json
import os
import subprocess
import sys
import tempfile

HERALDCTL = sys.argv[1]
results = []


def check(name, condition, detail=""):
    results.append((name, bool(condition), detail))


def stage_of(text):
    try:
        return json.loads(text).get("stage")
    except ValueError:
        return None


def run(argv, env):
    return subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, text=True, timeout=60, env=env)


with tempfile.TemporaryDirectory(prefix="herald-cli-usage.") as tmp:
    env = dict(os.environ)
    # No saved settings, no keyring, no session bus: nothing to fall back on.
    env["GSETTINGS_BACKEND"] = "memory"
    env["DBUS_SESSION_BUS_ADDRESS"] = "unix:path=" + os.path.join(tmp, "no-bus")
    env["LC_ALL"] = "C.UTF-8"
    common = ["--server", "127.0.0.1", "--port", "9", "--security", "starttls",
              "--from", "alerts@example.com", "--to", "admin@example.com",
              "--user", "alice\nRCPT TO:<victim@example.com>"]

    for auth, what in (("plain", "password"), ("xoauth2", "OAuth 2.0 token")):
        p = run([HERALDCTL, "test", "--auth", auth] + common, env)
        detail = "exit %d\n%s" % (p.returncode, p.stderr)
        check("--auth %s, line break in --user, no %s anywhere: exit 2" % (auth, what),
              p.returncode == 2, detail)
        check("--auth %s, line break in --user: the message names the field" % auth,
              "“Username” contains a line break" in p.stderr, detail)
        check("--auth %s, line break in --user: no keyring or sign-in was tried" % auth,
              "keyring" not in p.stderr and "OAuth 2.0 support" not in p.stderr
              and "access token" not in p.stderr, detail)
        check("--auth %s, line break in --user: standard output stays empty" % auth,
              p.stdout == "", p.stdout)

    # --user alone chooses the user profile on test, login and logout too
    # (with a value it stays the login name or the mailbox); with --system
    # it is bad usage, said before anything else happens.
    for argv, status in ((["test", "--system", "--user"], 2),
                         (["test", "--user", "--server", "127.0.0.1", "--system"], 2),
                         (["login", "--user", "--system", "--provider", "microsoft",
                           "--user", "a@example.com"], 64),
                         (["logout", "--system", "--provider", "microsoft", "--user"], 64)):
        p = run([HERALDCTL] + argv, env)
        name = " ".join(argv)
        detail = "exit %d\n%s" % (p.returncode, p.stderr)
        check("%s: exit %d" % (name, status), p.returncode == status, detail)
        check("%s: says the two exclude each other" % name,
              "--system and --user exclude each other" in p.stderr, detail)
    # The same test with --user NAME only (no profile switch) gets past the
    # options: it fails on the unreachable server, not on usage.
    p = run([HERALDCTL, "test", "--user", "alice", "--server", "127.0.0.1", "--port", "9",
             "--security", "none", "--auth", "none", "--from", "alerts@example.com",
             "--to", "admin@example.com", "--json"], env)
    check("test --user NAME: NAME is the login name, not a second argument",
          p.returncode == 1 and stage_of(p.stdout) == "connect", "exit %d\n%s%s"
          % (p.returncode, p.stdout[:300], p.stderr))

print("1..%d" % len(results))
for i, (name, ok, detail) in enumerate(results, 1):
    print("%s %d - %s" % ("ok" if ok else "not ok", i, name))
    if not ok and detail:
        for line in detail.strip().splitlines()[-10:]:
            print("# " + line)
sys.exit(0 if all(ok for _, ok, _ in results) else 1)
