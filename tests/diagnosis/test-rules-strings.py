#!/usr/bin/python3
# SPDX-License-Identifier: GPL-3.0-or-later
# Copyright 2026 The Herald authors
#
# The rules' texts reach translators: data/rules/diagnosis-rules-strings.c is
# up to date with diagnosis-rules.json, xgettext finds every text in it, and
# po/POTFILES.in lists it and the diagnosis sources. Prints TAP.

import json
import os
import subprocess
import sys
import tempfile

SRC = os.environ.get("HERALD_SOURCE_DIR") or os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
RULES = os.path.join(SRC, "data", "rules", "diagnosis-rules.json")
STRINGS = os.path.join(SRC, "data", "rules", "diagnosis-rules-strings.c")
EXTRACT = os.path.join(SRC, "data", "rules", "extract-strings.py")

results = []


def check(name, condition, detail=""):
    results.append((name, bool(condition), detail))


def unquote_po(lines):
    out = []
    for line in lines:
        line = line.strip()
        if line.startswith('"') and line.endswith('"'):
            out.append(line[1:-1].encode("utf-8").decode("unicode_escape").encode("latin-1").decode("utf-8"))
    return "".join(out)


with tempfile.TemporaryDirectory() as tmp:
    fresh = os.path.join(tmp, "strings.c")
    subprocess.run([sys.executable, EXTRACT, "--rules", RULES, "--output", fresh], check=True)
    with open(fresh, encoding="utf-8") as f, open(STRINGS, encoding="utf-8") as g:
        check("diagnosis-rules-strings.c is up to date (run data/rules/extract-strings.py)", f.read() == g.read())

    pot = os.path.join(tmp, "rules.pot")
    proc = subprocess.run(["xgettext", "--from-code=UTF-8", "--keyword=N_", "--add-comments=Translators",
                           "--language=C", "-o", pot, STRINGS], capture_output=True, text=True)
    check("xgettext reads the strings file", proc.returncode == 0, proc.stderr)

    msgids = set()
    if os.path.exists(pot):
        with open(pot, encoding="utf-8") as f:
            block, in_msgid = [], False
            for line in f:
                if line.startswith("msgid "):
                    block, in_msgid = [line[6:]], True
                elif in_msgid and line.startswith('"'):
                    block.append(line)
                else:
                    if in_msgid:
                        msgids.add(unquote_po(block))
                    in_msgid = False

    with open(RULES, encoding="utf-8") as f:
        data = json.load(f)
    missing = []
    total = 0
    for item in data["rules"] + data["notices"]:
        texts = [item["title"], item["explanation"]] + [s["text"] for s in item.get("steps", [])] \
            + [l["title"] for l in item.get("links", [])]
        for text in texts:
            total += 1
            if text not in msgids:
                missing.append((item["id"], text))
    check("xgettext extracts all %d rule and notice texts" % total, not missing, missing[:5])
    commands_leaked = [s["command"] for item in data["rules"] for s in item.get("steps", [])
                       if "command" in s and s["command"] in msgids]
    check("commands are not offered for translation", not commands_leaked, commands_leaked[:3])

with open(os.path.join(SRC, "po", "POTFILES.in"), encoding="utf-8") as f:
    potfiles = [l.strip() for l in f if l.strip() and not l.startswith("#")]
for path in ["data/rules/diagnosis-rules-strings.c", "src/diagnosis/herald-diagnosis.c",
             "src/diagnosis/herald-report.c", "src/cli/cmd-explain.c"]:
    check("po/POTFILES.in lists " + path, path in potfiles)

print("1..%d" % len(results))
for i, (name, ok, detail) in enumerate(results, 1):
    print("%s %d - %s" % ("ok" if ok else "not ok", i, name))
    if not ok and detail:
        print("# %s" % str(detail).replace("\n", "\n# "))
sys.exit(0 if all(ok for _, ok, _ in results) else 1)
