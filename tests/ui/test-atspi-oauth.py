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
    from atspidriver import App, Atspi, wait_until
except Exception as e:  # never a skip: a missing driver is a failure
    print("1..1\nnot ok 1 - cannot load the AT-SPI driver: %s" % e)
    sys.exit(1)

print("1..8", flush=True)

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

try:
    # One row is called Advanced: the Authority of the sign-in sits there
    # with the CA certificate file and the timeout.
    # GTK 4.8 reports folded rows as showing: what is on screen has a size.
    def on_screen(role, name, snap=None):
        return [a for a in app.find_all(role, name, snap=snap) if App.extents(a)[3] > 0]

    snap = app.snapshot()
    advanced = [a for a in on_screen(None, "Advanced", snap) if a.get_role_name() != "label"]
    ok(len(advanced) == 1, "with OAuth 2.0 the window has one “Advanced” row, not two",
       "%d rows named Advanced: %s" % (len(advanced), [a.get_role_name() for a in advanced]))
    ok(app.find_all("text", "Authority", snap=snap) and not on_screen("text", "Authority", snap),
       "the authority is folded under Advanced while none is set",
       "texts: %s" % app.names("text"))
    for row in on_screen(None, "Advanced", snap):
        if on_screen("text", "Authority"):
            break
        app.click(row, fx=0.3)
        try:
            wait_until("the Authority input", lambda: on_screen("text", "Authority"), 5)
        except Exception:
            pass
    authority = wait_until("the Authority input", lambda: (on_screen("text", "Authority") or [None])[0], 20)
    # Plain http is for this computer only: the reason shows, Sign In is held back.
    app.type_into(None, None, "http://login.microsoftonline.us", fx=0.5, acc=authority)
    reason = app.find("label", prefix="The authority “http://login.microsoftonline.us” must start "
                      "with https://", timeout=30)
    sign_in = app.find("push button", "Sign In", timeout=10)
    ok(not sign_in.get_state_set().contains(Atspi.StateType.SENSITIVE),
       "Advanced → Authority is named by its label; a bad address shows why and holds Sign In back")
except Exception as e:
    ok(False, "Advanced → Authority is named by its label; a bad address shows why and holds Sign In back",
       "%s\ntexts: %s" % (e, app.names("text")))

rc = app.quit()
ok(rc == 0, "Ctrl+Q quits cleanly", "exit status %s" % rc)
