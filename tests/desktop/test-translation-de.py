#!/usr/bin/python3
# SPDX-License-Identifier: GPL-3.0-or-later
# Copyright 2026 The Herald authors
"""The German translation is complete, built, installed and used.

 1. A catalogue template made now from po/POTFILES.in (xgettext with the
    arguments of po/meson.build), merged into po/de.po: msgfmt --check
    --statistics reports no untranslated and no fuzzy message. A new English
    string without its German fails here (run the po update that
    CONTRIBUTING.md describes and translate it).
 2. The build's po/de/LC_MESSAGES/herald.mo translates every one of those
    messages, and meson installs it as share/locale/de/LC_MESSAGES/herald.mo.
 3. heraldctl --help, heraldctl test --help and heraldctl explain of a known
    Microsoft 365 reply under LANG=de_DE.UTF-8: every catalogue message the
    English output shows appears in its German form, among them the matched
    diagnosis rule's title, explanation, steps and link titles (translated at
    run time from data/rules/diagnosis-rules.json).
 4. The window under de_DE.UTF-8, read through AT-SPI: the header bar's Send
    Test Email button and the form's group and row titles carry their German
    names, and the English ones are gone.
The expected German always comes from the catalogue, never from this file.

usage: test-translation-de.py SOURCE_ROOT BUILD_ROOT HERALDCTL HERALD
Runs inside build-aux/test-session.sh (Xvfb, AT-SPI bus). The de_DE.UTF-8
locale must exist (build-aux/herald-dev test generates it): a missing locale
is a failure, never a skip."""

import gettext
import json
import os
import re
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from desktoptest import Tap  # noqa: E402

source_root, build_root, heraldctl, herald = sys.argv[1:5]
po_dir = os.path.join(source_root, "po")
mo_path = os.path.join(build_root, "po", "de", "LC_MESSAGES", "herald.mo")
tap = Tap()

# The glib preset of meson's i18n module plus the extra arguments of
# po/meson.build; meson's own pot command adds -k_ and the package name.
XGETTEXT_ARGS = [
    "--package-name=herald", "-k_", "--from-code=UTF-8", "--add-comments",
    "--keyword=_", "--keyword=N_", "--keyword=C_:1c,2", "--keyword=NC_:1c,2",
    "--keyword=g_dcgettext:2", "--keyword=g_dngettext:2,3", "--keyword=g_dpgettext2:2c,3",
    "--flag=N_:1:pass-c-format", "--flag=C_:2:pass-c-format", "--flag=NC_:2:pass-c-format",
    "--flag=g_dngettext:2:pass-c-format", "--flag=g_strdup_printf:1:c-format",
    "--flag=g_string_printf:2:c-format", "--flag=g_string_append_printf:2:c-format",
    "--flag=g_error_new:3:c-format", "--flag=g_set_error:4:c-format",
    "--flag=g_markup_printf_escaped:1:c-format", "--flag=g_log:3:c-format",
    "--flag=g_print:1:c-format", "--flag=g_printerr:1:c-format", "--flag=g_printf:1:c-format",
    "--flag=g_fprintf:2:c-format", "--flag=g_sprintf:2:c-format",
    "--flag=g_snprintf:3:c-format",
    # po/meson.build
    "--keyword=g_dgettext:2", "--flag=g_dgettext:2:pass-c-format",
]


def run(argv, env=None, **kw):
    return subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True, text=True,
                          timeout=120, env=env, **kw)


def pot_msgids(pot):
    """The msgids of a template, joined across lines (no plural forms in Herald)."""
    ids, cur, in_id = [], None, False
    with open(pot, encoding="utf-8") as f:
        for line in f:
            line = line.rstrip("\n")
            if line.startswith("msgid "):
                cur, in_id = json.loads(line[6:]), True
            elif line.startswith('"') and in_id:
                cur += json.loads(line)
            else:
                if in_id and cur:
                    ids.append(cur)
                in_id = False
    if in_id and cur:
        ids.append(cur)
    return ids


# -- 1. complete against a template made now ---------------------------------

work = tempfile.mkdtemp(prefix="herald-de-")
pot = os.path.join(work, "herald.pot")
p = run(["xgettext", "-f", os.path.join(po_dir, "POTFILES.in"), "-D", source_root,
         "-o", pot] + XGETTEXT_ARGS)
tap.ok(p.returncode == 0 and os.path.exists(pot),
       "xgettext makes a template from po/POTFILES.in", p.stderr)
msgids = pot_msgids(pot) if os.path.exists(pot) else []
tap.ok(len(msgids) > 1000, "the template has the %d messages of the sources" % len(msgids))

merged = os.path.join(work, "de.po")
p = run(["msgmerge", "--quiet", "-o", merged, os.path.join(po_dir, "de.po"), pot])
tap.ok(p.returncode == 0, "po/de.po merges with the fresh template", p.stderr)
p = run(["msgfmt", "--check", "--statistics", "-o", os.devnull, merged],
        env=dict(os.environ, LC_ALL="C.UTF-8"))
stats = p.stderr.strip()
tap.diag("msgfmt --statistics: " + stats)
translated = re.search(r"(\d+) translated message", stats)
tap.ok(p.returncode == 0, "msgfmt --check accepts po/de.po (formats, headers)", stats)
tap.ok(translated is not None and "untranslated" not in stats and "fuzzy" not in stats,
       "every message is translated and none is fuzzy", stats + (
           "\nRun “meson compile -C _build herald-update-po” and translate the new strings "
           "in po/de.po (CONTRIBUTING.md)."))
tap.ok(translated is not None and int(translated.group(1)) == len(msgids),
       "the translated count (%s) is the template's (%d)"
       % (translated.group(1) if translated else "?", len(msgids)))

# -- 2. built and installed ------------------------------------------------

try:
    with open(mo_path, "rb") as f:
        catalogue = gettext.GNUTranslations(f)
except OSError as e:
    tap.bail("the build has no German catalogue %s: %s" % (mo_path, e))


def de(msgid):
    return catalogue.gettext(msgid)


# The build's catalogue is po/de.po as it stands: the same translation for
# every message as a catalogue compiled now from the merged file.
fresh_mo = os.path.join(work, "de.mo")
p = run(["msgfmt", "-o", fresh_mo, merged])
with open(fresh_mo, "rb") as f:
    fresh = gettext.GNUTranslations(f)
stale = [m for m in msgids if fresh.gettext(m) != de(m)]
tap.ok(p.returncode == 0 and not stale and any(fresh.gettext(m) != m for m in msgids),
       "the build's %s holds po/de.po's translations" % os.path.relpath(mo_path, build_root),
       "\n".join(stale[:10]))
p = run(["meson", "introspect", "--installed", build_root])
installed = json.loads(p.stdout or "{}").values() if p.returncode == 0 else []
tap.ok(any(v.endswith("/share/locale/de/LC_MESSAGES/herald.mo") for v in installed),
       "meson installs share/locale/de/LC_MESSAGES/herald.mo", p.stderr)

# -- 3. heraldctl speaks German ---------------------------------------------

p = run(["locale", "-a"])
have_locale = any(loc.lower().replace("-", "") == "de_de.utf8" for loc in p.stdout.split())
if not have_locale:
    tap.bail("the de_DE.UTF-8 locale is missing: run build-aux/herald-dev test (it generates it) "
             "or localedef -i de_DE -f UTF-8 de_DE.UTF-8")

base_env = dict(os.environ)
base_env.pop("LANGUAGE", None)
base_env["GSETTINGS_BACKEND"] = "memory"
base_env["HERALD_LOCALEDIR"] = os.path.join(build_root, "po")
english_env = dict(base_env, LANG="C.UTF-8", LC_ALL="C.UTF-8")
german_env = dict(base_env, LANG="de_DE.UTF-8", LC_ALL="de_DE.UTF-8")

# Whole messages that English output shows; short ones ("ok", "TLS") would
# match inside other words.
candidates = sorted({m for m in msgids if len(m) >= 12 and "%" not in m and de(m) != m},
                    key=len, reverse=True)


def shown_messages(english, ignore=""):
    """The catalogue messages in ENGLISH, leaving out those only found inside
    IGNORE (text the program echoes, such as the server reply)."""
    found = []
    for m in candidates:
        if m in english and m not in ignore and not any(m in longer for longer in found):
            found.append(m)
    return found


def check_german(what, argv, minimum, ignore=""):
    en = run(argv, english_env)
    ge = run(argv, german_env)
    english, german = en.stdout + en.stderr, ge.stdout + ge.stderr
    shown = shown_messages(english, ignore)
    absent = [m for m in shown if de(m) not in german]
    tap.ok(en.returncode == ge.returncode, "%s: the same exit status in English and German (%d)"
           % (what, en.returncode), "English %d, German %d" % (en.returncode, ge.returncode))
    tap.ok(len(shown) >= minimum and not absent,
           "%s: the %d catalogue messages of the English output are all in German"
           % (what, len(shown)),
           "missing:\n" + "\n".join("%r -> %r" % (m, de(m)) for m in absent[:8])
           + "\n--- German output ---\n" + german[:1500])
    still_english = [m for m in shown if m in german]
    tap.ok(not still_english, "%s: none of them is left in English" % what,
           "\n".join(still_english[:8]))
    return english, german


check_german("heraldctl --help", [heraldctl, "--help"], 8)
check_german("heraldctl test --help", [heraldctl, "test", "--help"], 15)

REPLY = ("535 5.7.139 Authentication unsuccessful, SmtpClientAuthentication is disabled "
         "for the Tenant. Visit https://aka.ms/smtp_auth_disabled for more information.")
p = run([heraldctl, "explain", "--json", REPLY], english_env)
try:
    rule_id = json.loads(p.stdout)["diagnosis"]["id"]
except (ValueError, KeyError, TypeError):
    rule_id = None
tap.ok(rule_id == "exo-smtp-auth-disabled-tenant",
       "heraldctl explain matches the known reply to its rule (%s)" % rule_id, p.stdout + p.stderr)
english, german = check_german("heraldctl explain", [heraldctl, "explain", REPLY], 10,
                               ignore=REPLY)

with open(os.path.join(source_root, "data", "rules", "diagnosis-rules.json"),
          encoding="utf-8") as f:
    rules = {r["id"]: r for r in json.load(f)["rules"]}
rule = rules.get(rule_id or "", {})
texts = [rule.get("title", ""), rule.get("explanation", "")]
texts += [s["text"] for s in rule.get("steps", [])]
texts += [link["title"] for link in rule.get("links", [])]
texts = [t for t in texts if t]
untranslated = [t for t in texts if de(t) == t or de(t) not in german]
tap.ok(len(texts) >= 4 and not untranslated,
       "heraldctl explain prints the rule's %d texts (title, explanation, steps, links) in German"
       % len(texts), "\n".join(untranslated[:5]))
# The commands (indented under their step) are printed verbatim in both.
commands_en = [line for line in english.splitlines() if line.startswith("       ")]
commands_de = [line for line in german.splitlines() if line.startswith("       ")]
tap.ok(len(commands_en) >= 3 and commands_en == commands_de,
       "the rule's %d command lines stay as they are (never translated)" % len(commands_en),
       "\n".join(commands_de))

# -- 4. the window speaks German ---------------------------------------------

try:
    from atspidriver import App, DriverTimeout  # noqa: E402
except Exception as e:  # pyatspi missing is a failure, never a skip
    tap.bail("cannot load the AT-SPI driver: %s" % e)

config_home = tempfile.mkdtemp(prefix="herald-de-config-", dir=os.environ["HOME"])
app_env = dict(german_env, GSETTINGS_BACKEND="keyfile", XDG_CONFIG_HOME=config_home)
app_env.pop("G_DEBUG", None)
app = App([herald], app_env, os.path.join(work, "herald-de.log"))
try:
    app.find_root(timeout=40)
    send = de("Send Test Email")
    try:
        button = app.find("push button", send, timeout=30)
    except DriverTimeout:
        button = None
    tap.ok(button is not None and send != "Send Test Email",
           "the window's button is named “%s” (the catalogue's Send Test Email)" % send)
    snap = app.snapshot()
    names = {n for _, _, n, visible in snap if visible and n}
    labels = ["Message", "Security", "Authentication", "Provider", "Connection security"]
    wanted = [m for m in labels if any(de(m) == n or n.startswith(de(m)) for n in names)]
    tap.ok(len(wanted) >= 3, "the form shows the German %s" % ", ".join(
        "“%s”" % de(m) for m in wanted), "visible names: %s" % sorted(names)[:60])
    # Any accessible name that is still a catalogue message with a German
    # translation was never passed through gettext.
    known = set(msgids)
    english_left = sorted(n for n in names if n in known and de(n) != n)
    tap.ok(not english_left, "no name in the window is left in English (%d names read)" % len(names),
           ", ".join(english_left))
    tap.diag("window names: " + ", ".join(sorted(names)))
except DriverTimeout as e:
    try:
        with open(os.path.join(work, "herald-de.log"), "rb") as f:
            log = f.read()[-2000:].decode("utf-8", "replace")
    except OSError:
        log = ""
    tap.ok(False, "the window starts under de_DE.UTF-8", "%s; its output ends: %s" % (e, log))
finally:
    app.kill()

tap.done()
