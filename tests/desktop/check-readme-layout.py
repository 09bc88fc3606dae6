#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-3.0-or-later
# Copyright 2026 The Herald authors
#
# check-readme-layout.py SOURCE_ROOT
# TAP: the README's Layout table names every file under src/ (its meson.build
# files aside): by its name or path, or as NAME.[ch] for a .c/.h pair, so that a
# new file cannot land without a line saying what it is for.
import os
import re
import sys

top = sys.argv[1] if len(sys.argv) > 1 else os.environ['HERALD_SOURCE_DIR']
with open(os.path.join(top, 'README.md'), encoding='utf-8') as f:
    readme = f.read()

match = re.search(r'^## Layout\n(.*?)^## ', readme, re.S | re.M)
print('1..2')
if match is None:
    print('not ok 1 - README.md has a "## Layout" section')
    print('not ok 2 - every file under src/ is in the Layout table # no table')
    sys.exit(0)
print('ok 1 - README.md has a "## Layout" section')
table = match.group(1)

missing = []
for folder, _dirs, files in sorted(os.walk(os.path.join(top, 'src'))):
    for name in sorted(files):
        if name == 'meson.build':
            continue
        stem, ext = os.path.splitext(name)
        names = ['%s`' % name] + (['%s.[ch]`' % stem] if ext in ('.c', '.h') else [])
        if not any(re.search(r'[`/]' + re.escape(n), table) for n in names):
            missing.append(os.path.relpath(os.path.join(folder, name), top))

if missing:
    print('not ok 2 - every file under src/ is in the Layout table; missing:')
    for m in missing:
        print('#   %s' % m)
else:
    print('ok 2 - every file under src/ is in the Layout table')
