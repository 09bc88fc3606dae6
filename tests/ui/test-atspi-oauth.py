#!/usr/bin/python3
# SPDX-License-Identifier: GPL-3.0-or-later
# Copyright 2026 The Herald authors
#
# The OAuth 2.0 sign-in in the real app, read through AT-SPI as a screen
# reader would: hidden while a password method is chosen, revealed by the
# Basic-auth notice's "Switch to OAuth 2.0", its inputs and buttons named
# exactly by their labels, and Send Test Email held back until a sign-in.
# Run under build-aux/test-session.sh.
#
#   test-atspi-oauth.py HERALD
import os
import sys
import tempfile

herald = sys.argv[1]
sys.path.insert(0, os.path.join(os.environ["HERALD_SOURCE_DIR"], "tests", "desktop"))

n = 0


def ok(cond, what, why=""):
    global n
    n += 1
    print(("ok %d - %s" if cond else "not ok %d - %s") % (n, what), flush=True)
    if not cond and why:
        for line in str(why).splitlines():
            print("# " + line, flush=True)


try:
    from atspidriver import App
except Exception as e:  # never a skip: a missing driver is a failure
    print("1..1\nnot ok 1 - cannot load the AT-SPI driver: %s" % e)
    sys.exit(1)

print("1..5", flush=True)

work = tempfile.mkdtemp(prefix="herald-ui-oauth-")
config = tempfile.mkdtemp(prefix="herald-ui-oauth-config-", dir=os.environ["HOME"])
os.makedirs(os.path.join(config, "glib-2.0", "settings"))
# Microsoft 365 with a password: the Basic-auth retirement notice applies.
with open(os.path.join(config, "glib-2.0", "settings", "keyfile"), "w") as f:
    f.write("""[io/github/heraldmail/Herald]
provider='microsoft365'
server='smtp.office365.com'
port=587
security='starttls'
auth='login'
username='alerts@contoso.example'
from='alerts@contoso.example'
to='admin@contoso.example'
oauth-provider='microsoft'
oauth-client-id='11111111-2222-3333-4444-555555555555'
""")
env = dict(os.environ, GSETTINGS_BACKEND="keyfile", XDG_CONFIG_HOME=config, LANG="C.UTF-8")
env.pop("G_DEBUG", None)
app = App([herald], env, os.path.join(work, "herald.log"))

try:
    app.find_root(timeout=60)
    app.resize(900, 1800)
    app.find("push button", "Send Test Email", timeout=30)
    hidden = [name for name in ("Client ID", "Tenant") if app.find_all("text", name)]
    hidden += [name for name in ("Sign In", "Use a Code Instead")
               if app.find_all("push button", name)]
    ok(not hidden, "with Password (LOGIN) the OAuth 2.0 sign-in is hidden",
       "showing: %s" % hidden)
except Exception as e:
    ok(False, "with Password (LOGIN) the OAuth 2.0 sign-in is hidden", e)

try:
    app.press("Switch to OAuth 2.0", timeout=30)
    # A walk of the tree takes seconds under load: leave room for several.
    app.find("push button", "Sign In", timeout=40)
    ok(True, "Switch to OAuth 2.0 reveals the sign-in")
except Exception as e:
    ok(False, "Switch to OAuth 2.0 reveals the sign-in", e)

try:
    snap = app.snapshot()
    missing = [("text", name) for name in ("Client ID", "Tenant")
               if not app.find_all("text", name, snap=snap)]
    missing += [("push button", name) for name in ("Sign In", "Use a Code Instead")
                if not app.find_all("push button", name, snap=snap)]
    ok(not missing, "the inputs and buttons are named exactly by their labels",
       "not found: %s\ntexts: %s\nbuttons: %s" % (missing, app.names("text"),
                                                  app.names("push button")))
except Exception as e:
    ok(False, "the inputs and buttons are named exactly by their labels", e)

try:
    reason = app.find("label", prefix="Not signed in: press Sign In", timeout=40)
    ok(True, "not signed in: the reason is shown under Send Test Email")
except Exception as e:
    ok(False, "not signed in: the reason is shown under Send Test Email", e)

rc = app.quit()
ok(rc == 0, "Ctrl+Q quits cleanly", "exit status %s" % rc)
