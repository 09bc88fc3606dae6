#!/usr/bin/python3
# SPDX-License-Identifier: GPL-3.0-or-later
# Copyright 2026 The Herald authors
"""heraldctl's own help and its manual page agree, and the page is clean:
"man --warnings" reports nothing; every command that "heraldctl --help" lists
and every option that "heraldctl COMMAND --help" lists is in heraldctl(1);
both say where settings come from and what the exit statuses mean;
"heraldctl --version" and the page carry the build's version.

Usage: test-man-heraldctl.py HERALDCTL MANPAGE VERSION
"""

import os
import re
import subprocess
import sys

HERALDCTL, MANPAGE, VERSION = sys.argv[1:4]
results = []


def check(name, condition, detail=""):
    results.append((name, bool(condition), detail))


env = dict(os.environ)
env.update({"LC_ALL": "C.UTF-8", "MANWIDTH": "80", "MANPAGER": "cat", "PAGER": "cat"})


def run(argv):
    return subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, text=True, timeout=60, env=env)


# 1. The page renders without a warning.
man = run(["man", "--warnings", "-l", MANPAGE])
check("man --warnings -l heraldctl.1: exit 0, no warning",
      man.returncode == 0 and man.stderr.strip() == "", man.stderr)
# groff may render \- as a minus sign and break words with hyphens.
page = man.stdout.replace("\u2212", "-").replace("\u2010", "-")
page_words = re.sub(r"\s+", " ", page)

# 2. heraldctl --help: the commands, where settings come from, the exit statuses.
top = run([HERALDCTL, "--help"])
check("heraldctl --help: exit 0", top.returncode == 0, top.stderr)
commands = []
in_commands = False
for line in top.stdout.splitlines():
    if line.strip() == "Commands:":
        in_commands = True
    elif in_commands and line.startswith("  ") and line.strip():
        commands.append(line.split()[0])
    elif in_commands:
        in_commands = False
check("heraldctl --help lists the commands", "test" in commands and "explain" in commands,
      top.stdout)
help_words = re.sub(r"\s+", " ", top.stdout)
check("heraldctl --help says where settings come from",
      "GSettings schema io.github.heraldmail.Herald" in help_words
      and "keyring" in help_words and "--password-stdin" in help_words, top.stdout)
check("heraldctl --help lists the exit statuses",
      all(re.search(r"^\s+%d\s+\S" % n, top.stdout, re.M) for n in (0, 1, 2)), top.stdout)

for command in commands:
    check("heraldctl(1) documents “heraldctl %s” (add it to docs/heraldctl.1.in)" % command,
          re.search(r"^\s*heraldctl %s\s*$" % re.escape(command), page, re.M), "")
    sub = run([HERALDCTL, command, "--help"])
    # Every long option the help names, in GOption's table or in a usage line.
    options = sorted(set(re.findall(r"(?<![\w-])--([a-z][a-z0-9-]*)", sub.stdout))
                     - {"help", "help-all"})
    check("heraldctl %s --help: exit 0" % command, sub.returncode == 0, sub.stdout + sub.stderr)
    if command == "test":
        check("heraldctl test --help lists its options (the parser here finds them)",
              "server" in options and "password-stdin" in options, sub.stdout)
    missing = [o for o in options if ("--" + o) not in page_words]
    check("heraldctl(1) documents every option of “heraldctl %s” (docs/heraldctl.1.in)" % command,
          not missing, "missing: " + " ".join("--" + o for o in missing))

# 3. The page: settings, exit statuses, version.
check("heraldctl(1) says where settings come from",
      "SETTINGS" in page and "io.github.heraldmail.Herald" in page_words, "")
exit_section = page.split("EXIT STATUS", 1)[-1].split("FILES", 1)[0]
check("heraldctl(1) lists the exit statuses 0, 1 and 2",
      all(re.search(r"^\s+%d(\s|$)" % n, exit_section, re.M) for n in (0, 1, 2)), exit_section)
check("heraldctl(1) names this version", ("Herald " + VERSION) in page, page[-300:])
check("heraldctl(1) has no unfilled @PLACEHOLDER@", not re.search(r"@[A-Z_]+@", page),
      "")

ver = run([HERALDCTL, "--version"])
check("heraldctl --version prints “heraldctl %s”" % VERSION,
      ver.returncode == 0 and ver.stdout == "heraldctl %s\n" % VERSION, ver.stdout + ver.stderr)

bare = run([HERALDCTL])
check("heraldctl without a command: exit 2, usage on standard error only",
      bare.returncode == 2 and bare.stdout == "" and "Usage: heraldctl" in bare.stderr,
      "exit %d\n%s" % (bare.returncode, bare.stderr))

print("1..%d" % len(results))
for i, (name, ok, detail) in enumerate(results, 1):
    print("%s %d - %s" % ("ok" if ok else "not ok", i, name))
    if not ok and detail:
        for line in str(detail).strip().splitlines()[-10:]:
            print("# " + line)
sys.exit(0 if all(ok for _, ok, _ in results) else 1)
