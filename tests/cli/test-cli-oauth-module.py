#!/usr/bin/python3
# SPDX-License-Identifier: GPL-3.0-or-later
# Copyright 2026 The Herald authors
"""heraldctl keeps OAuth (libsoup and the libraries under it) in a module
that it loads only for login, logout and an XOAUTH2 test with a saved
sign-in (src/cli/meson.build says why). This checks that heraldctl itself
does not load libsoup, that login/logout find the module in the build tree,
and that a heraldctl without its module says so clearly (exit 1) instead of
crashing, while its other commands keep working. No network at all.

Usage: test-cli-oauth-module.py HERALDCTL
"""

import os
import shutil
import subprocess
import sys
import tempfile

HERALDCTL = sys.argv[1]
results = []


def check(name, condition, detail=""):
    results.append((name, bool(condition), detail))


def run(argv):
    return subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, text=True, timeout=60)


# 1. What the dynamic loader maps at every start of heraldctl.
ldd = run(["ldd", HERALDCTL])
check("heraldctl does not link libsoup", ldd.returncode == 0 and "libsoup" not in ldd.stdout,
      ldd.stdout)

# 2. login and logout load the module from the build tree.
for command in ("login", "logout"):
    p = run([HERALDCTL, command, "--help"])
    check("heraldctl %s --help loads the OAuth module" % command,
          p.returncode == 0 and ("heraldctl %s" % command) in p.stdout, p.stderr)

# 3. A heraldctl away from its module (as if installed without it).
with tempfile.TemporaryDirectory(prefix="herald-cli-module.") as tmp:
    lonely = os.path.join(tmp, "heraldctl")
    shutil.copy2(HERALDCTL, lonely)
    p = run([lonely, "login", "--help"])
    check("without its module, heraldctl login fails with exit 1", p.returncode == 1,
          "exit %d" % p.returncode)
    check("without its module, heraldctl login says why",
          "heraldctl login: OAuth 2.0 support is not available" in p.stderr, p.stderr)
    p = run([lonely, "logout"])
    check("without its module, heraldctl logout fails with exit 1", p.returncode == 1,
          "exit %d" % p.returncode)
    p = run([lonely, "explain", "--help"])
    check("without its module, heraldctl explain still works", p.returncode == 0, p.stderr)
    p = run([lonely, "test", "--help"])
    check("without its module, heraldctl test --help still works", p.returncode == 0, p.stderr)

print("1..%d" % len(results))
for i, (name, ok, detail) in enumerate(results, 1):
    print("%s %d - %s" % ("ok" if ok else "not ok", i, name))
    if not ok and detail:
        for line in detail.strip().splitlines()[-10:]:
            print("# " + line)
sys.exit(0 if all(ok for _, ok, _ in results) else 1)
