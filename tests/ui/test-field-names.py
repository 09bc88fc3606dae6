#!/usr/bin/python3
# SPDX-License-Identifier: GPL-3.0-or-later
# Copyright 2026 The Herald authors
"""The diagnosis names Herald's settings as the form names them: every
setting a rule's step or a notice refers to is called by the title of a row
of the window (src/ui/*.ui and the rows src/ui/*.c titles), e.g. “CA
certificate file”, “Username”, “Security”, never a shorter or older name the
user cannot find in the form. Prints TAP.

What counts as naming a setting:
  - Herald’s “NAME”
  - Set NAME to …   (as in “Set Security to STARTTLS”)
  - the known other names of the form's rows: “user name”, “username”,
    “CA file”, “set/use security …”, “turn authentication on/off”
A text about another program's settings (“the program’s security”, “in the
sending program”) names that program's fields and is left alone.

usage: test-field-names.py SOURCE_DIR"""

import glob
import json
import os
import re
import sys
import xml.etree.ElementTree as ET

src = sys.argv[1]

# The form's row and group titles, and the choices of its combo rows.
titles = set()
choices = {}
for path in sorted(glob.glob(os.path.join(src, "src", "ui", "*.ui"))):
    if "shortcuts" in path:
        continue
    tree = ET.parse(path)
    for prop in tree.iter("property"):
        if prop.get("name") == "title" and prop.text:
            titles.add(prop.text.strip())
    for obj in tree.iter("object"):
        if obj.get("class") == "GtkStringList" and obj.get("id"):
            choices[obj.get("id")] = {i.text.strip() for i in obj.iter("item") if i.text}
# Rows built in code: adw_preferences_row_set_title (…, _("Transport")) and the like.
code_title = re.compile(r"_set_title\s*\([^;]*?_\s*\(\s*\"((?:[^\"\\]|\\.)+)\"\s*\)", re.S)
for path in sorted(glob.glob(os.path.join(src, "src", "ui", "*.c"))):
    with open(path, encoding="utf-8") as f:
        for m in code_title.finditer(f.read()):
            titles.add(m.group(1))

with open(os.path.join(src, "data", "rules", "diagnosis-rules.json"), encoding="utf-8") as f:
    rules = json.load(f)

# The texts shown as steps (rules) and whole notices (they sit beside the form).
texts = []
for item in rules.get("rules", []):
    for step in item.get("steps", []):
        texts.append((item["id"], step.get("text") or ""))
for item in rules.get("notices", []):
    for key in ("title", "explanation"):
        texts.append((item["id"], item.get(key) or ""))
    for step in item.get("steps", []):
        texts.append((item["id"], step.get("text") or ""))

n = 0


def ok(cond, what, detail=""):
    global n
    n += 1
    print(("ok %d - %s" if cond else "not ok %d - %s") % (n, what), flush=True)
    if not cond and detail:
        for line in str(detail).splitlines():
            print("# " + line, flush=True)


def about_other_program(text):
    return re.search(r"\bprogram(’s)?\b", text) is not None and "Herald" not in text


ok(len(titles) > 20 and {"CA certificate file", "Username", "Security", "Transport",
                         "Authentication", "Tenant"} <= titles,
   "the form's row titles are read, from the .ui files and the code", sorted(titles))
ok("security_model" in choices and "auth_model" in choices,
   "the choices of Security and Authentication are read", choices)
ok(len(texts) > 300, "the rules' steps and the notices are read", len(texts))

# Herald’s “NAME”
named = [(rid, m.group(1)) for rid, text in texts
         for m in re.finditer(r"Herald’s “([^”]+)”", text)]
bad = [(rid, name) for rid, name in named if name not in titles]
ok(not bad, "every Herald’s “NAME” is a row of the form",
   "\n".join("%s: “%s”" % b for b in bad))

# Set NAME to …
set_to = re.compile(r"\b[Ss]et (?!it\b|one\b|up\b)((?:the )?[A-Za-z][\w’ ]*?) to\b")
bad = []
for rid, text in texts:
    for m in set_to.finditer(text):
        name = m.group(1)
        if name.startswith("the program’s ") or name in titles:
            continue
        bad.append("%s: “%s”" % (rid, m.group(0)))
ok(not bad, "every “Set NAME to” names a row of the form", "\n".join(bad))

# The choices a step sets are the combo rows' own words.
bad = []
for rid, text in texts:
    for m in re.finditer(r"\bSet Authentication to “([^”]+)”", text):
        if m.group(1) not in choices.get("auth_model", ()):
            bad.append("%s: Authentication “%s”" % (rid, m.group(1)))
    for m in re.finditer(r"\bSet Security to (“[^”]+”|[\w/]+)", text):
        if m.group(1).strip("“”") not in choices.get("security_model", ()):
            bad.append("%s: Security %s" % (rid, m.group(1)))
ok(not bad, "Authentication and Security are set to choices their rows offer", "\n".join(bad))

# The other names the form's rows have had, or that other programs use.
other_names = [
    (r"\b[Uu]ser[ -]names?\b", "Username"),
    (r"\busername\b", "Username"),
    (r"\bCA file\b", "CA certificate file"),
    (r"\b(?:[Ss]et|[Uu]se|with|and|match) security\b|\bsecurity (?:to|setting|STARTTLS|SSL/TLS)\b",
     "Security"),
    (r"\b[Tt]urn authentication (?:on|off)\b", "Authentication"),
]
for pattern, title in other_names:
    bad = ["%s: %s" % (rid, text) for rid, text in texts
           if re.search(pattern, text) and not about_other_program(text)]
    ok(not bad, "no step calls “%s” by another name (/%s/)" % (title, pattern), "\n".join(bad))

print("1..%d" % n)
