#!/usr/bin/python3
# SPDX-License-Identifier: GPL-3.0-or-later
# Copyright 2026 The Herald authors
#
# How the corpus was split, before any rule was written from it: a text goes
# to the held-out part when sha256(SEED, source, text) is 0 modulo 5, else to
# training. The hash (not a shuffled list) keeps the choice of every text
# fixed when texts are added later.
#
#   split.py [--seed SEED] RAW.jsonl   (one {"group", "text", "source"} per line)
#   prints the number of texts, training and held-out, and writes
#   RAW-train.json and RAW-heldout.json next to it.
#
# The first batch (train.json, heldout.json) used the default seed; the
# second batch (train2.json, heldout2.json) the seed herald-issue-17-heldout2.

import hashlib
import json
import os
import sys

SEED = "herald-issue-17-corpus"


def held_out(source, text, seed=SEED):
    digest = hashlib.sha256((seed + "\0" + source + "\0" + text).encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big") % 5 == 0


def main():
    args = sys.argv[1:]
    seed = SEED
    if args[0] == "--seed":
        seed, args = args[1], args[2:]
    raw = [json.loads(line) for line in open(args[0], encoding="utf-8") if line.strip()]
    train = [e for e in raw if not held_out(e["source"], e["text"], seed)]
    held = [e for e in raw if held_out(e["source"], e["text"], seed)]
    base = os.path.splitext(args[0])[0]
    json.dump(train, open(base + "-train.json", "w", encoding="utf-8"), ensure_ascii=False, indent=0)
    json.dump(held, open(base + "-heldout.json", "w", encoding="utf-8"), ensure_ascii=False, indent=0)
    print(len(raw), len(train), len(held))


if __name__ == "__main__":
    main()
