#!/bin/bash
# SPDX-License-Identifier: GPL-3.0-or-later
# Copyright 2026 The Herald authors
#
# check-potfiles.sh SOURCE_ROOT
# TAP: po/POTFILES.in lists every source and data file that holds translatable
# strings (_(", N_(", C_(", ngettext, translatable="yes", and every desktop
# file, metainfo and GSettings schema), lists no file that does not exist, and
# is sorted.
set -u
top=${1:-${HERALD_SOURCE_DIR:?}}
cd "$top" || exit 1
potfiles=po/POTFILES.in

listed=$(mktemp) wanted=$(mktemp)
trap 'rm -f "$listed" "$wanted"' EXIT

grep -v '^[[:space:]]*\(#\|$\)' "$potfiles" | sed 's/[[:space:]]*$//' >"$listed"

{
  # Code and UI files that mark strings for translation.
  find src data -type f \( -name '*.c' -o -name '*.h' -o -name '*.ui' -o -name '*.blp' \) \
       -print0 2>/dev/null |
    xargs -0 -r grep -l -E '(^|[^A-Za-z0-9_])(N?_|C_|g_dngettext|ngettext) ?\(|translatable="yes"'
  # Data files that are translatable by nature.
  find data -type f \( -name '*.desktop.in' -o -name '*.metainfo.xml.in' \
       -o -name '*.appdata.xml.in' -o -name '*.gschema.xml' \) 2>/dev/null
} | sort -u >"$wanted"

echo "1..5"
n=0

n=$((n + 1))
missing=$(comm -23 "$wanted" <(sort -u "$listed"))
if [ -z "$missing" ]; then
  echo "ok $n - every file with translatable strings is in $potfiles"
else
  echo "not ok $n - files with translatable strings missing from $potfiles:"
  sed 's/^/#   /' <<<"$missing"
fi

n=$((n + 1))
gone=$(while read -r f; do [ -f "$f" ] || echo "$f"; done <"$listed")
if [ -z "$gone" ]; then
  echo "ok $n - every file in $potfiles exists"
else
  echo "not ok $n - $potfiles lists files that do not exist:"
  sed 's/^/#   /' <<<"$gone"
fi

n=$((n + 1))
if LC_ALL=C sort -c "$listed" 2>/dev/null; then
  echo "ok $n - $potfiles is sorted"
else
  echo "not ok $n - $potfiles is not sorted (LC_ALL=C sort):"
  LC_ALL=C diff <(cat "$listed") <(LC_ALL=C sort "$listed") | sed 's/^/#   /'
fi

n=$((n + 1))
dups=$(sort "$listed" | uniq -d)
if [ -z "$dups" ]; then
  echo "ok $n - $potfiles has no duplicates"
else
  echo "not ok $n - $potfiles lists files twice:"
  sed 's/^/#   /' <<<"$dups"
fi

# The listed files really go through xgettext (keywords of meson's glib preset).
n=$((n + 1))
pot=$(mktemp)
if out=$(xgettext --from-code=UTF-8 --add-comments --keyword=_ --keyword=N_ \
      --keyword=C_:1c,2 --keyword=NC_:1c,2 --keyword=g_dcgettext:2 --keyword=g_dngettext:2,3 \
      --keyword=g_dpgettext2:2c,3 -f "$listed" -o "$pot" 2>&1) && [ "$(grep -c '^msgid ' "$pot")" -gt 1 ]; then
  echo "ok $n - xgettext extracts $(($(grep -c '^msgid ' "$pot") - 1)) strings from the listed files"
else
  echo "not ok $n - xgettext fails on the listed files"
  sed 's/^/#   /' <<<"$out"
fi
rm -f "$pot"
