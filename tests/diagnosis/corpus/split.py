#!/usr/bin/python3
# SPDX-License-Identifier: GPL-3.0-or-later
# Copyright 2026 The Herald authors
#
# How the corpus was split, before any rule was written from it: a text goes
# to the held-out part when sha256(SEED, source, text) is 0 modulo 5, else to
# training. The hash (not a shuffled list) keeps the choice of every text
# fixed when texts are added later.
#
#   split.py RAW.jsonl   (one {"group", "text", "source"} per line)
#   prints the number of texts, training and held-out, and writes
#   RAW-train.json and RAW-heldout.json next to it.

import hashlib
import json
import os
import sys

SEED = "herald-issue-17-corpus"


def held_out(source, text):
    digest = hashlib.sha256((SEED + "\0" + source + "\0" + text).encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big") % 5 == 0


def main():
    raw = [json.loads(line) for line in open(sys.argv[1], encoding="utf-8") if line.strip()]
    train = [e for e in raw if not held_out(e["source"], e["text"])]
    held = [e for e in raw if held_out(e["source"], e["text"])]
    base = os.path.splitext(sys.argv[1])[0]
    json.dump(train, open(base + "-train.json", "w", encoding="utf-8"), ensure_ascii=False, indent=0)
    json.dump(held, open(base + "-heldout.json", "w", encoding="utf-8"), ensure_ascii=False, indent=0)
    print(len(raw), len(train), len(held))


if __name__ == "__main__":
    main()
