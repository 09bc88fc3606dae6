#!/usr/bin/python3
# SPDX-License-Identifier: GPL-3.0-or-later
# Copyright 2026 The Herald authors
#
# How many corpus texts heraldctl explain gets right, per part and per group.
# The test suite (diagnosis-corpus) demands every line; this prints the figures.
#
#   tests/diagnosis/corpus/measure.py _build/src/cli/heraldctl [--first]
#
# --first also counts the held-out part as first measured (first_result).

import collections
import json
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))


def explain(heraldctl, text):
    proc = subprocess.run([heraldctl, "explain", "--json", "-"], input=text,
                          capture_output=True, text=True, check=False)
    return json.loads(proc.stdout)["diagnosis"]["id"]


def main():
    heraldctl = sys.argv[1]
    first = "--first" in sys.argv[2:]
    for part in ("train", "heldout"):
        cases = json.load(open(os.path.join(HERE, part + ".json"), encoding="utf-8"))["cases"]
        right = collections.Counter()
        total = collections.Counter()
        first_right = 0
        for c in cases:
            got = explain(heraldctl, c["text"])
            total[c["group"]] += 1
            right[c["group"]] += got == c["expect"]
            first_right += c.get("first_result", c["expect"]) == c["expect"]
            if got != c["expect"]:
                print("  miss [%s] expected %s, got %s: %s" % (part, c["expect"], got, c["text"][:100]))
        n = sum(total.values())
        print("%s: %d of %d right (%.1f %%)" % (part, sum(right.values()), n, 100.0 * sum(right.values()) / n))
        if first and part == "heldout":
            print("heldout, first measurement: %d of %d right (%.1f %%)" % (first_right, n, 100.0 * first_right / n))
        print("  " + ", ".join("%s %d/%d" % (g, right[g], total[g]) for g in sorted(total)))


if __name__ == "__main__":
    main()
