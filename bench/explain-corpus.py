#!/usr/bin/python3
# SPDX-License-Identifier: GPL-3.0-or-later
# Copyright 2026 The Herald authors
"""explain-corpus.py: how long heraldctl explain takes on real error texts.

Runs `heraldctl explain --json -` once per text of the diagnosis corpus
(every part of tests/diagnosis/corpus: train, heldout, fresh, train2,
heldout2, heldout3, train3, train4, heldout4, train5, heldout5, train6, heldout6, train7, heldout7, train8, heldout8, train9, heldout9) and reports the wall time of each whole run (process start,
loading the rules, diagnosis, JSON output), as a user pasting an error would
wait for it. The goal (issue 17) is that no text takes more than 50 ms.

    bench/explain-corpus.py _build/src/cli/heraldctl [--rounds N] [--parts P,...]
                            [--accuracy] [--table FILE]

--accuracy also counts, per part, the answers that are right: among the
rule ids labelled right before the text was first run (`blind`) when the
line has them, else the `expect` of the line; the misses are listed. This is
how a part is measured blind: run it before any rule is written from it.
--table writes the timings per part as a Markdown table (bench/results/).

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
PARTS = ("train", "heldout", "fresh", "train2", "heldout2", "heldout3", "train3", "train4", "heldout4", "train5", "heldout5", "train6", "heldout6", "train7", "heldout7", "train8", "heldout8", "train9", "heldout9")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("heraldctl")
    parser.add_argument("--rounds", type=int, default=3,
                        help="runs per text; the best counts, so that a busy machine's stalls do not")
    parser.add_argument("--cpu", action="store_true", help="judge the goal by CPU time, not wall time")
    parser.add_argument("--parts", default=",".join(PARTS), help="corpus parts to run (default: all)")
    parser.add_argument("--accuracy", action="store_true", help="also count the right answers per part")
    parser.add_argument("--table", help="write the timings per part as a Markdown table to this file")
    args = parser.parse_args()

    cases = []
    for part in args.parts.split(","):
        with open(os.path.join(CORPUS, part + ".json"), encoding="utf-8") as f:
            cases += [(part, c) for c in json.load(f)["cases"]]

    best = []
    answers = {}
    for part, case in cases:
        text = case["text"]
        walls, cpus = [], []
        for _ in range(args.rounds):
            start = time.perf_counter()
            proc = subprocess.Popen([args.heraldctl, "explain", "--json", "-"], stdin=subprocess.PIPE,
                                    stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
            proc.stdin.write(text.encode("utf-8"))
            proc.stdin.close()
            out = proc.stdout.read()
            _, _, usage = os.wait4(proc.pid, 0)
            proc.returncode = 0
            walls.append((time.perf_counter() - start) * 1000.0)
            cpus.append((usage.ru_utime + usage.ru_stime) * 1000.0)
        answers[id(case)] = json.loads(out)["diagnosis"]["id"]
        best.append((min(walls), min(cpus), text, part))

    if args.accuracy:
        print("right answers per part (blind labels where the line has them, else expect):")
        for part in args.parts.split(","):
            mine = [c for p, c in cases if p == part]
            misses = [(c, answers[id(c)]) for c in mine if answers[id(c)] not in c.get("blind", [c["expect"]])]
            right = len(mine) - len(misses)
            print("  %s: %d of %d right (%.1f %%)" % (part, right, len(mine), 100.0 * right / len(mine)))
            for c, got in misses:
                print("    miss: got %s, right: %s: %s" % (got, " | ".join(c.get("blind", [c["expect"]])),
                                                        c["text"][:90].replace("\n", " ")))

    print("heraldctl explain on %d corpus texts, best of %d runs each (load average %.1f on %d CPUs):"
          % (len(best), args.rounds, os.getloadavg()[0], os.cpu_count()))
    for label, index in (("wall time", 0), ("CPU time", 1)):
        ms = sorted(b[index] for b in best)
        print("  %s: median %.1f ms, 95th percentile %.1f ms, slowest %.1f ms (goal: %.0f ms)"
              % (label, statistics.median(ms), ms[int(0.95 * (len(ms) - 1))], ms[-1], GOAL_MS))
    for wall, cpu, text, _ in sorted(best, reverse=True)[:3]:
        print("  slowest: %.1f ms wall, %.1f ms CPU: %s" % (wall, cpu, text[:70].replace("\n", " ")))
    if args.table:
        with open(args.table, "w", encoding="utf-8") as f:
            f.write("`heraldctl explain --json -` per corpus text, best of %d runs each (load average %.1f "
                    "on %d CPUs; goal: no text over %.0f ms)\n\n" % (args.rounds, os.getloadavg()[0],
                                                                  os.cpu_count(), GOAL_MS))
            f.write("Wall time includes the wait for a CPU when other programs load the machine; CPU time "
                    "(user + system) is the process's own work, from start to exit.\n\n")
            f.write("| part | texts | median wall ms | slowest wall ms | median CPU ms | slowest CPU ms |\n")
            f.write("|---|---|---|---|---|---|\n")
            for part in args.parts.split(",") + [None]:
                mine = [b for b in best if part is None or b[3] == part]
                walls = sorted(b[0] for b in mine)
                cpus = sorted(b[1] for b in mine)
                f.write("| %s | %d | %.1f | %.1f | %.1f | %.1f |\n"
                        % (part or "**all**", len(mine), statistics.median(walls), walls[-1],
                           statistics.median(cpus), cpus[-1]))
    worst = max(b[1] if args.cpu else b[0] for b in best)
    return 1 if worst > GOAL_MS else 0


if __name__ == "__main__":
    sys.exit(main())
