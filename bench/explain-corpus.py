#!/usr/bin/python3
# SPDX-License-Identifier: GPL-3.0-or-later
# Copyright 2026 The Herald authors
"""explain-corpus.py: how long heraldctl explain takes on real error texts.

Runs `heraldctl explain --json -` once per text of the diagnosis corpus
(tests/diagnosis/corpus/train.json and heldout.json) and reports the wall
time of each whole run (process start, loading the rules, diagnosis, JSON
output), as a user pasting an error would wait for it. The goal (issue 17)
is that no text takes more than 50 ms.

    bench/explain-corpus.py _build/src/cli/heraldctl [--rounds N]

Each run also reports the CPU time the process used (user + system, from
wait4), which does not grow when other programs load the machine: on a busy
machine the wall time mostly measures the wait for a CPU. Prints the median,
the 95th percentile and the slowest texts for both; exit status 1 when any
text took longer than the goal in its best round (wall time, or CPU time
with --cpu).
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
CORPUS = os.path.join(HERE, "..", "tests", "diagnosis", "corpus")
GOAL_MS = 50.0


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("heraldctl")
    parser.add_argument("--rounds", type=int, default=3,
                        help="runs per text; the best counts, so that a busy machine's stalls do not")
    parser.add_argument("--cpu", action="store_true", help="judge the goal by CPU time, not wall time")
    args = parser.parse_args()

    texts = []
    for part in ("train", "heldout"):
        with open(os.path.join(CORPUS, part + ".json"), encoding="utf-8") as f:
            texts += [c["text"] for c in json.load(f)["cases"]]

    best = []
    for text in texts:
        walls, cpus = [], []
        for _ in range(args.rounds):
            start = time.perf_counter()
            proc = subprocess.Popen([args.heraldctl, "explain", "--json", "-"], stdin=subprocess.PIPE,
                                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            proc.stdin.write(text.encode("utf-8"))
            proc.stdin.close()
            _, _, usage = os.wait4(proc.pid, 0)
            proc.returncode = 0
            walls.append((time.perf_counter() - start) * 1000.0)
            cpus.append((usage.ru_utime + usage.ru_stime) * 1000.0)
        best.append((min(walls), min(cpus), text))

    print("heraldctl explain on %d corpus texts, best of %d runs each (load average %.1f on %d CPUs):"
          % (len(best), args.rounds, os.getloadavg()[0], os.cpu_count()))
    for label, index in (("wall time", 0), ("CPU time", 1)):
        ms = sorted(b[index] for b in best)
        print("  %s: median %.1f ms, 95th percentile %.1f ms, slowest %.1f ms (goal: %.0f ms)"
              % (label, statistics.median(ms), ms[int(0.95 * (len(ms) - 1))], ms[-1], GOAL_MS))
    for wall, cpu, text in sorted(best, reverse=True)[:3]:
        print("  slowest: %.1f ms wall, %.1f ms CPU: %s" % (wall, cpu, text[:70].replace("\n", " ")))
    worst = max(b[1] if args.cpu else b[0] for b in best)
    return 1 if worst > GOAL_MS else 0


if __name__ == "__main__":
    sys.exit(main())
