#!/usr/bin/python3
# SPDX-License-Identifier: GPL-3.0-or-later
# Copyright 2026 The Herald authors
"""The diagnosis names Herald's settings as the form names them: every
Herald’s “NAME” in a rule's or notice's text is the title of
a row of the window (src/ui/*.ui), e.g. “CA certificate file”, never a
shorter name the user cannot find. Prints TAP.

usage: test-field-names.py SOURCE_DIR"""

import json
import os
import re
import sys
import xml.etree.ElementTree as ET

src = sys.argv[1]
titles = set()
for name in ("herald-window.ui", "herald-oauth-group.ui"):
    tree = ET.parse(os.path.join(src, "src", "ui", name))
    for prop in tree.iter("property"):
        if prop.get("name") == "title" and prop.text:
            titles.add(prop.text.strip())

with open(os.path.join(src, "data", "rules", "diagnosis-rules.json")) as f:
    rules = json.load(f)

texts = []
for kind in ("rules", "notices"):
    for item in rules.get(kind, []):
        for key in ("title", "explanation"):
            texts.append((item["id"], item.get(key) or ""))
        for step in item.get("steps", []):
            texts.append((item["id"], step.get("text") or ""))

# Herald’s “NAME” (setting): the words a text uses for one of Herald's settings.
pattern = re.compile(r"Herald’s “([^”]+)”")
named = [(rid, m.group(1)) for rid, text in texts for m in pattern.finditer(text)]

n = 0


def ok(cond, what, detail=""):
    global n
    n += 1
    print(("ok %d - %s" if cond else "not ok %d - %s") % (n, what), flush=True)
    if not cond and detail:
        print("# " + detail, flush=True)


ok(len(titles) > 15 and "CA certificate file" in titles, "the form's row titles are read",
   sorted(titles))
ok(len(named) >= 1, "the rules name some of Herald's settings", repr(named))
bad = [(rid, name) for rid, name in named if name not in titles]
ok(not bad, "every setting a rule names is named as the form names it",
   "; ".join("%s: “%s”" % b for b in bad))
short = [rid for rid, text in texts if "“CA file”" in text or "CA file setting" in text]
ok(not short, "no rule says “CA file” (the form says “CA certificate file”)", ", ".join(short))
print("1..%d" % n)
