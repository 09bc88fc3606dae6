#!/usr/bin/python3
# SPDX-License-Identifier: GPL-3.0-or-later
# Copyright 2026 The Herald authors
"""debian/ agrees with itself and with the meson build, the checks that need no
package build (build-aux/herald-dev deb builds and lints the packages,
build-aux/herald-dev test-deb installs them into a chroot):

- debian/changelog parses (dpkg-parsechangelog) and names meson's version;
- debian/control parses, has exactly the packages herald, heraldctl and
  herald-mta, and herald-mta provides, conflicts with and replaces
  mail-transport-agent;
- every line of the .install files matches something `meson install`
  installs, and everything meson installs goes into exactly one package
  (what dh_install and dh_missing --fail-missing check during the build);
- every .links target is a file of a package and herald-mta owns the
  sendmail and mailq names;
- the maintainer scripts pass `sh -n`, stop on errors and keep #DEBHELPER#;
- debian/copyright is DEP-5 and defines every licence it names.

Usage: test-debian.py SOURCE_ROOT BUILD_ROOT VERSION
"""

import fnmatch
import glob
import json
import os
import re
import subprocess
import sys
import tempfile

SRC, BUILD, VERSION = sys.argv[1:4]
DEBIAN = os.path.join(SRC, "debian")
PACKAGES = ["herald", "heraldctl", "herald-mta"]
results = []


def check(name, condition, detail=""):
    results.append((name, bool(condition), detail))


def run(argv, **kwargs):
    return subprocess.run(argv, capture_output=True, text=True, timeout=120,
                          stdin=subprocess.DEVNULL, **kwargs)


def deb822(path):
    """Paragraphs of a Debian control-style file; raises on a malformed line."""
    paragraphs, current, field = [], {}, None
    with open(path, encoding="utf-8") as f:
        for number, line in enumerate(f, 1):
            line = line.rstrip("\n")
            if line.startswith("#"):
                continue
            if not line.strip():
                if current:
                    paragraphs.append(current)
                current, field = {}, None
            elif line[0] in " \t":
                if field is None:
                    raise ValueError("%s:%d: continuation without a field" % (path, number))
                current[field] += "\n" + line.strip()
            else:
                m = re.match(r"^([A-Za-z0-9][!-9;-~]*):(.*)$", line)
                if not m:
                    raise ValueError("%s:%d: not a field: %r" % (path, number, line))
                field = m.group(1)
                if field in current:
                    raise ValueError("%s:%d: %s given twice" % (path, number, field))
                current[field] = m.group(2).strip()
    if current:
        paragraphs.append(current)
    return paragraphs


def relations(value):
    """'a (>= 1), b | c,' -> ['a', 'b', 'c']"""
    names = []
    for alt in re.split(r"[,|]", value or ""):
        alt = re.sub(r"\(.*?\)|\[.*?\]|<.*?>", "", alt).strip()
        if alt:
            names.append(alt.split(":")[0])
    return names


# -- changelog ---------------------------------------------------------------
cl = run(["dpkg-parsechangelog", "-l", os.path.join(DEBIAN, "changelog")])
check("dpkg-parsechangelog reads debian/changelog", cl.returncode == 0 and not cl.stderr.strip(),
      cl.stderr)
fields = dict(re.findall(r"^(\w+): (.*)$", cl.stdout, re.M))
check("debian/changelog is for source package herald", fields.get("Source") == "herald",
      fields.get("Source"))
check("debian/changelog's version is meson's (%s)" % VERSION,
      fields.get("Version") == VERSION, "changelog says %s" % fields.get("Version"))

# -- control -----------------------------------------------------------------
try:
    control = deb822(os.path.join(DEBIAN, "control"))
    check("debian/control parses", True)
except (OSError, ValueError) as e:
    control = [{}]
    check("debian/control parses", False, str(e))
source, binaries = control[0], {p.get("Package"): p for p in control[1:]}
check("debian/control: source herald", source.get("Source") == "herald", source.get("Source"))
check("debian/control: debhelper compat 13",
      "debhelper-compat (= 13)" in source.get("Build-Depends", ""), source.get("Build-Depends"))
check("debian/control: exactly the packages herald, heraldctl, herald-mta",
      sorted(binaries) == sorted(PACKAGES), sorted(binaries))
mta = binaries.get("herald-mta", {})
for rel in ("Provides", "Conflicts", "Replaces"):
    check("herald-mta %s: mail-transport-agent" % rel,
          "mail-transport-agent" in relations(mta.get(rel)), mta.get(rel))
check("herald-mta depends on heraldctl", "heraldctl" in relations(mta.get("Depends")),
      mta.get("Depends"))
check("herald depends on heraldctl",
      "heraldctl" in relations(binaries.get("herald", {}).get("Depends")), "")
check("heraldctl does not take over the MTA names",
      "mail-transport-agent" not in relations(binaries.get("heraldctl", {}).get("Provides")), "")
with open(os.path.join(DEBIAN, "source", "format"), encoding="utf-8") as f:
    check("debian/source/format is 3.0 (native)", f.read().strip() == "3.0 (native)")
with open(os.path.join(DEBIAN, "rules"), encoding="utf-8") as f:
    rules = f.read()
check("debian/rules is executable", os.access(os.path.join(DEBIAN, "rules"), os.X_OK))
check("debian/rules uses dh with meson", re.search(r"^\tdh \$@ --buildsystem=meson$", rules, re.M))

# -- what meson installs against the .install files ---------------------------
opts = json.loads(run(["meson", "introspect", "--buildoptions", BUILD]).stdout or "[]")
prefix = next((o["value"] for o in opts if o["name"] == "prefix"), "/usr")
with tempfile.TemporaryDirectory() as dest:
    inst = run(["meson", "install", "-C", BUILD, "--no-rebuild", "--quiet", "--destdir", dest])
    check("meson install --destdir works", inst.returncode == 0, inst.stdout + inst.stderr)
    installed = set()
    for root, dirs, files in os.walk(dest):
        for name in files + [d for d in dirs if os.path.islink(os.path.join(root, d))]:
            path = os.path.relpath(os.path.join(root, name), dest)
            # As if configured with --prefix=/usr, as dh does.
            if ("/" + path).startswith(prefix.rstrip("/") + "/"):
                path = "usr/" + ("/" + path)[len(prefix.rstrip("/")) + 1:]
            installed.add(path)
check("meson installs files", installed, "")

owner = {path: [] for path in installed}
package_files = {p: set() for p in PACKAGES}
for package in PACKAGES:
    path = os.path.join(DEBIAN, package + ".install")
    lines = []
    if os.path.exists(path):
        with open(path, encoding="utf-8") as f:
            lines = [l.split()[0] for l in f if l.strip() and not l.startswith("#")]
    if package == "heraldctl":
        # debian/rules adds the translations to heraldctl when there are any.
        if any(p.startswith("usr/share/locale/") for p in installed):
            lines.append("usr/share/locale/")
    for pattern in lines:
        pattern = pattern.rstrip("/")
        hits = [p for p in installed
                if fnmatch.fnmatchcase(p, pattern) or fnmatch.fnmatchcase(p, pattern + "/*")]
        check("%s.install: %s matches what meson installs" % (package, pattern), hits,
              "meson installs: " + ", ".join(sorted(installed)))
        for p in hits:
            owner[p].append(package)
            package_files[package].add(p)
for path in sorted(installed):
    check("%s goes into exactly one package" % path, len(owner[path]) == 1,
          "packages: %s" % owner[path])


def shipped(path):
    """Whether a package ships @path (dh_installman gzips the manual pages)."""
    candidates = {path}
    if path.startswith("usr/share/man/") and path.endswith(".gz"):
        candidates.add(path[:-3])
    return any(c in files for c in candidates for files in package_files.values())


links = {}
for package in PACKAGES:
    path = os.path.join(DEBIAN, package + ".links")
    if os.path.exists(path):
        with open(path, encoding="utf-8") as f:
            for line in f:
                if line.strip():
                    target, name = line.split()
                    links[name] = (package, target)
                    check("%s.links: %s points at a packaged file (%s)" % (package, name, target),
                          shipped(target), "")
for name in ("usr/sbin/sendmail", "usr/lib/sendmail", "usr/bin/mailq"):
    package, target = links.get(name, (None, None))
    check("herald-mta makes /%s run heraldctl" % name,
          package == "herald-mta" and target == "usr/bin/heraldctl", links.get(name))
check("heraldctl ships usr/bin/heraldctl", "usr/bin/heraldctl" in package_files["heraldctl"], "")

# -- maintainer scripts --------------------------------------------------------
scripts = sorted(glob.glob(os.path.join(DEBIAN, "*.preinst")) +
                 glob.glob(os.path.join(DEBIAN, "*.postinst")) +
                 glob.glob(os.path.join(DEBIAN, "*.prerm")) +
                 glob.glob(os.path.join(DEBIAN, "*.postrm")))
check("herald-mta has postinst, prerm and postrm",
      {os.path.basename(s) for s in scripts} >=
      {"herald-mta.postinst", "herald-mta.prerm", "herald-mta.postrm"}, scripts)
for script in scripts:
    name = os.path.basename(script)
    with open(script, encoding="utf-8") as f:
        text = f.read()
    syntax = run(["sh", "-n", script])
    check("%s: sh -n" % name, syntax.returncode == 0, syntax.stderr)
    check("%s: #!/bin/sh, set -e, #DEBHELPER#" % name,
          text.startswith("#!/bin/sh\n") and re.search(r"^set -e$", text, re.M)
          and "\n#DEBHELPER#\n" in text, "")
    check("%s: executable" % name, os.access(script, os.X_OK))

# -- copyright -----------------------------------------------------------------
try:
    copyright = deb822(os.path.join(DEBIAN, "copyright"))
    check("debian/copyright parses", True)
except (OSError, ValueError) as e:
    copyright = [{}]
    check("debian/copyright parses", False, str(e))
check("debian/copyright is DEP-5",
      copyright[0].get("Format") ==
      "https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/", copyright[0])
defined = {p["License"].split("\n")[0].strip() for p in copyright[1:]
           if "License" in p and "Files" not in p}
used = set()
for p in copyright[1:]:
    if "Files" in p:
        used |= set(re.split(r"\s+or\s+|\s+and\s+", p.get("License", "").split("\n")[0].strip()))
check("debian/copyright: Files: * is GPL-3.0-or-later",
      any(p.get("Files") == "*" and p.get("License") == "GPL-3.0-or-later"
          for p in copyright[1:]), "")
for lic in sorted(used):
    check("debian/copyright defines the licence %s" % lic, lic in defined, sorted(defined))

print("1..%d" % len(results))
for i, (name, ok, detail) in enumerate(results, 1):
    print("%s %d - %s" % ("ok" if ok else "not ok", i, name))
    if not ok and detail:
        for line in str(detail).strip().splitlines()[-10:]:
            print("# " + line)
sys.exit(0 if all(ok for _, ok, _ in results) else 1)
