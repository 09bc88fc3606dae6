#!/usr/bin/python3
# SPDX-License-Identifier: GPL-3.0-or-later
# Copyright 2026 The Herald authors
"""herald(1) renders without a warning, names this version and the settings
schema, and lists every shortcut of the window's shortcuts window.

Usage: test-man-herald.py MANPAGE VERSION APP_ID SHORTCUTS_UI
"""

import os
import re
import subprocess
import sys
import xml.etree.ElementTree as ET

MANPAGE, VERSION, APP_ID, SHORTCUTS_UI = sys.argv[1:5]
results = []


def check(name, condition, detail=""):
    results.append((name, bool(condition), detail))


env = dict(os.environ)
env.update({"LC_ALL": "C.UTF-8", "MANWIDTH": "80", "MANPAGER": "cat", "PAGER": "cat"})
man = subprocess.run(["man", "--warnings", "-l", MANPAGE], stdin=subprocess.DEVNULL,
                     capture_output=True, text=True, timeout=60, env=env)
check("man --warnings -l herald.1: exit 0, no warning",
      man.returncode == 0 and man.stderr.strip() == "", man.stderr)
page = man.stdout.replace("\u2212", "-").replace("\u2010", "-")
words = re.sub(r"\s+", " ", page)
check("herald(1) names this version", ("Herald " + VERSION) in page, page[-300:])
check("herald(1) names the settings schema", APP_ID in words, "")
check("herald(1) points at heraldctl(1)", "heraldctl(1)" in words, "")


def shown(accel):
    """<Control>Return -> Ctrl+Return, as the page writes it."""
    mods = re.findall(r"<(\w+)>", accel)
    key = re.sub(r"<\w+>", "", accel)
    key = {"question": "?"}.get(key, key)
    key = key.upper() if len(key) == 1 else key
    return "+".join([{"Control": "Ctrl", "Primary": "Ctrl"}.get(m, m) for m in mods] + [key])


accels = [e.text for e in ET.parse(SHORTCUTS_UI).iter("property")
          if e.get("name") == "accelerator" and e.text]
check("the shortcuts window has shortcuts", accels, SHORTCUTS_UI)
for accel in accels:
    check("herald(1) lists the shortcut %s" % shown(accel),
          re.search(r"^\s+%s(\s|$)" % re.escape(shown(accel)), page, re.M), "")

print("1..%d" % len(results))
for i, (name, ok, detail) in enumerate(results, 1):
    print("%s %d - %s" % ("ok" if ok else "not ok", i, name))
    if not ok and detail:
        for line in str(detail).strip().splitlines()[-10:]:
            print("# " + line)
sys.exit(0 if all(ok for _, ok, _ in results) else 1)
