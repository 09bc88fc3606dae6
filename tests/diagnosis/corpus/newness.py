#!/usr/bin/python3
# SPDX-License-Identifier: GPL-3.0-or-later
# Copyright 2026 The Herald authors
#
# Whether the texts of a new corpus part are new: a text is kept only when it
# is not equal to, nor contained in, nor containing a text of any other part,
# nor of another line of the same part (whitespace and case folded). Used for
# heldout3.json and heldout4.json before they were labelled and committed.
#
#   newness.py NEW.json [OTHER.json ...]   (default: every other *.json here)
#   prints each clash and the number of texts and clashes; exits 1 on a clash.

import glob
import json
import os
import re
import sys


def fold(text):
    return re.sub(r"\s+", " ", text).strip().casefold()


def main():
    new_path = sys.argv[1]
    others = sys.argv[2:] or [p for p in sorted(glob.glob(os.path.join(os.path.dirname(os.path.abspath(__file__)), "*.json")))
                              if os.path.abspath(p) != os.path.abspath(new_path)]
    old = [(os.path.basename(p), fold(c["text"])) for p in others for c in json.load(open(p, encoding="utf-8"))["cases"]]
    new = json.load(open(new_path, encoding="utf-8"))["cases"]
    clashes = 0
    seen = []
    for i, case in enumerate(new):
        text = fold(case["text"])
        for where, other in old + [("line %d of this part" % j, t) for j, t in seen]:
            if text == other or text in other or other in text:
                print("line %d clashes with %s: %s" % (i, where, case["text"][:80].replace("\n", " ")))
                clashes += 1
        seen.append((i, text))
    print(len(new), "texts,", clashes, "clashes")
    return 1 if clashes else 0


if __name__ == "__main__":
    sys.exit(main())
