#!/usr/bin/python3
# SPDX-License-Identifier: GPL-3.0-or-later
# Copyright 2026 The Herald authors
#
# bench/explain-bench.py HERALDCTL [RUNS]
#
# How long `heraldctl explain --json -` takes on large pasted texts (up to the
# 1 MiB it accepts), made of the units that once made finding the reply
# quadratic or could make the rules search a megabyte. Prints a markdown table
# of the median wall time per input; the goal is well under a second for
# 1 MiB (tests/diagnosis/test-extract.c checks the work stays linear, without
# timing anything).
import statistics
import subprocess
import sys
import time

HERALDCTL = sys.argv[1]
RUNS = int(sys.argv[2]) if len(sys.argv) > 2 else 5
GOAL_S = 1.0
UNITS = ["250-x\n", "5.7.1 ", "535 5.7.1 x ", "<- 250-x\n -> AUTH LOGIN\n", "(250, '", "words without any code "]
SIZES = [64 * 1024, 256 * 1024, 1024 * 1024 - 64]

print("| input | size | median (s) | max (s) | goal |")
print("|---|---:|---:|---:|---|")
worst = 0.0
for unit in UNITS:
    for size in SIZES:
        text = (unit * (size // len(unit) + 1))[:size].encode()
        times = []
        for _ in range(RUNS):
            start = time.monotonic()
            subprocess.run([HERALDCTL, "explain", "--json", "-"], input=text, capture_output=True, check=False)
            times.append(time.monotonic() - start)
        worst = max(worst, max(times))
        print("| `%s` repeated | %d KiB | %.3f | %.3f | %s |" % (
            unit.replace("\n", "\\n"), size // 1024, statistics.median(times), max(times),
            "ok" if statistics.median(times) < GOAL_S else "MISSED"))
sys.exit(0 if worst < 10 * GOAL_S else 1)
