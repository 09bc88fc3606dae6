#!/bin/bash
# SPDX-License-Identifier: GPL-3.0-or-later
# Copyright 2026 The Herald authors
#
# validate-data.sh DESKTOP_FILE METAINFO_FILE SCHEMA_SOURCE_DIR ICONS_DIR
# TAP: the built desktop file and metainfo, the GSettings schema and the icons
# pass the freedesktop/AppStream/GLib validators. Warnings count as failures.
set -u
desktop=$1 metainfo=$2 schemadir=$3 icons=$4

n=0
check () {
  local what=$1; shift
  local out rc
  n=$((n + 1))
  out=$("$@" 2>&1); rc=$?
  if [ $rc -eq 0 ]; then
    echo "ok $n - $what"
  else
    echo "not ok $n - $what (exit $rc)"
  fi
  [ -n "$out" ] && sed 's/^/# /' <<<"$out"
}

# desktop-file-validate exits 0 on warnings too; treat any output but hints as failure.
desktop_validate () {
  local out
  out=$(desktop-file-validate "$1" 2>&1) || { echo "$out"; return 1; }
  out=$(grep -v ': hint: ' <<<"$out")
  [ -z "$out" ] || { echo "$out"; return 1; }
}

icon_checks () {
  local id base
  id=$(basename "$desktop" .desktop)
  base=${id%.Devel}
  grep -qx "Icon=$id" "$desktop" || { echo "desktop file does not name icon $id"; return 1; }
  for f in "$icons/hicolor/scalable/apps/$base.svg" \
           "$icons/hicolor/symbolic/apps/$base-symbolic.svg"; do
    [ -f "$f" ] || { echo "missing $f"; return 1; }
    /usr/bin/python3 -c 'import sys, xml.etree.ElementTree as E
r = E.parse(sys.argv[1]).getroot()
assert r.tag == "{http://www.w3.org/2000/svg}svg", r.tag
assert r.get("viewBox"), "no viewBox"' "$f" || { echo "not a well-formed SVG: $f"; return 1; }
  done
}

metainfo_checks () {
  local id
  id=$(basename "$desktop")
  grep -q "<launchable type=\"desktop-id\">$id</launchable>" "$1" ||
    { echo "launchable is not $id"; return 1; }
  for shot in form success error; do
    grep -q "data/screenshots/$shot.png</image>" "$1" || { echo "no $shot screenshot"; return 1; }
  done
  grep -q '<content_rating type="oars-1.1"' "$1" || { echo "no content rating"; return 1; }
  grep -q '<release version=' "$1" || { echo "no release"; return 1; }
}

screenshot_checks () {
  local shot shots
  shots=$(grep -o 'data/screenshots/[a-z-]*\.png' "$metainfo" | sort -u)
  [ -n "$shots" ] || { echo "the metainfo names no screenshot"; return 1; }
  for shot in $shots; do
    [ -f "$schemadir/../$shot" ] || { echo "missing $shot"; return 1; }
    head -c 8 "$schemadir/../$shot" | od -An -tx1 | grep -q '89 50 4e 47 0d 0a 1a 0a' ||
      { echo "$shot is not a PNG"; return 1; }
  done
}

# A development build (.Devel app ID) says so in its name, as GNOME apps do;
# a release build is plain "Herald".
name_checks () {
  local id name meta
  id=$(basename "$desktop" .desktop)
  name=$(sed -n 's/^Name=//p' "$desktop")
  # The metainfo's untranslated <name> says the same.
  meta=$(sed -n 's|^ *<name>\(.*\)</name>$|\1|p' "$metainfo")
  if [ "${id%.Devel}" != "$id" ]; then
    [ "$name" = "Herald (Development)" ] ||
      { echo "development build named \"$name\", not \"Herald (Development)\""; return 1; }
    [ "$meta" = "Herald (Development)" ] ||
      { echo "development metainfo named \"$meta\", not \"Herald (Development)\""; return 1; }
  else
    [ "$name" = "Herald" ] || { echo "release build named \"$name\", not \"Herald\""; return 1; }
    [ "$meta" = "Herald" ] || { echo "release metainfo named \"$meta\", not \"Herald\""; return 1; }
  fi
}

echo "1..8"
check "desktop-file-validate $(basename "$desktop")" desktop_validate "$desktop"
check "appstreamcli validate --no-net --strict $(basename "$metainfo")" \
  appstreamcli validate --no-net --strict "$metainfo"
check "metainfo names the launchable, screenshots, release and content rating" \
  metainfo_checks "$metainfo"
check "glib-compile-schemas --strict --dry-run" \
  glib-compile-schemas --strict --dry-run "$schemadir"
check "screenshots named in the metainfo are PNGs in data/screenshots" screenshot_checks
check "icons: scalable and symbolic SVGs named after the app ID" icon_checks
check "desktop file and metainfo name a development build as such" name_checks
n=$((n + 1))
if grep -q "^Exec=herald\b" "$desktop"; then
  echo "ok $n - desktop file runs herald"
else
  echo "not ok $n - desktop file does not run herald"
fi
