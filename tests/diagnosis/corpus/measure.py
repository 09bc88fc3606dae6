#!/usr/bin/python3
# SPDX-License-Identifier: GPL-3.0-or-later
# Copyright 2026 The Herald authors
#
# How many corpus texts heraldctl explain gets right, per part and per group.
# The test suite (diagnosis-corpus) demands every line; this prints the figures.
#
#   tests/diagnosis/corpus/measure.py _build/src/cli/heraldctl [--first]
#
# --first also gives the first measurements: the held-out part against
# first_result, and the fresh part and the second batch (train2, heldout2) by
# whether first_result was one of the answers labelled right before it was
# run (blind); the fresh part also per kind.

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
    for part in ("train", "heldout", "fresh", "train2", "heldout2", "heldout3", "train3", "train4", "heldout4", "train5", "heldout5", "train6", "heldout6", "train7", "heldout7", "train8", "heldout8", "train9", "heldout9"):
        cases = json.load(open(os.path.join(HERE, part + ".json"), encoding="utf-8"))["cases"]
        right = collections.Counter()
        total = collections.Counter()
        first_right = 0
        blind_right = collections.Counter()
        kinds = collections.Counter()
        for c in cases:
            got = explain(heraldctl, c["text"])
            total[c["group"]] += 1
            right[c["group"]] += got == c["expect"]
            first_right += c.get("first_result", c["expect"]) == c["expect"]
            if "blind" in c and "kind" in c:
                kinds[c["kind"]] += 1
                blind_right[c["kind"]] += c["first_result"] in c["blind"]
            if got != c["expect"]:
                print("  miss [%s] expected %s, got %s: %s" % (part, c["expect"], got, c["text"][:100]))
        n = sum(total.values())
        print("%s: %d of %d right (%.1f %%)" % (part, sum(right.values()), n, 100.0 * sum(right.values()) / n))
        if first and part == "heldout":
            print("heldout, first measurement: %d of %d right (%.1f %%)" % (first_right, n, 100.0 * first_right / n))
        if first and part in ("train2", "heldout2", "heldout3"):
            r = sum(c["first_result"] in c["blind"] for c in cases)
            print("%s, first (blind) measurement: %d of %d right (%.1f %%)" % (part, r, n, 100.0 * r / n))
        if first and part == "fresh":
            for k in sorted(kinds) + [None]:
                r = sum(blind_right.values()) if k is None else blind_right[k]
                m = n if k is None else kinds[k]
                print("fresh, first measurement against the blind labels, %s: %d of %d right (%.1f %%)"
                      % (k or "all", r, m, 100.0 * r / m))
        print("  " + ", ".join("%s %d/%d" % (g, right[g], total[g]) for g in sorted(total)))


if __name__ == "__main__":
    main()
