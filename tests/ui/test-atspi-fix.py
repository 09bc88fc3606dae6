#!/usr/bin/python3
# SPDX-License-Identifier: GPL-3.0-or-later
# Copyright 2026 The Herald authors
#
# Keyboard and one-click fixes in the real app, through AT-SPI: SSL/TLS
# against a plain-text port fails, the error dialog offers "Switch to
# STARTTLS", and pressing it changes the saved setting; Tab then goes round
# the whole window without ever stopping on a step. Run under
# build-aux/test-session.sh.
#
#   test-atspi-fix.py HERALD FAKE_SMTP_SERVER
import os
import re
import subprocess
import sys
import tempfile
import time

herald, fake_server = sys.argv[1:3]
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
    from atspidriver import App, wait_until, xdotool
    from gi.repository import Atspi
except Exception as e:  # never a skip: a missing driver is a failure
    print("1..1\nnot ok 1 - cannot load the AT-SPI driver: %s" % e)
    sys.exit(1)

print("1..3", flush=True)

work = tempfile.mkdtemp(prefix="herald-ui-fix-")
path = os.path.join(work, "script.txt")
with open(path, "w") as f:
    # A plain-text SMTP port: the TLS handshake gets a greeting instead.
    f.write("S 220 fake.example ESMTP\nLOOP-UNTIL-QUIT\n")
plain = subprocess.Popen([fake_server, "--script", path], stdout=subprocess.PIPE)
port = int(plain.stdout.readline().decode().strip().split("=", 1)[1])

config = tempfile.mkdtemp(prefix="herald-ui-fix-config-", dir=os.environ["HOME"])
keyfile = os.path.join(config, "glib-2.0", "settings", "keyfile")
os.makedirs(os.path.dirname(keyfile))
with open(keyfile, "w") as f:
    f.write(f"""[io/github/heraldmail/Herald]
server='127.0.0.1'
port={port}
security='tls'
auth='none'
from='alice@example.com'
to='bob@example.com'
timeout=uint32 10
""")
env = dict(os.environ, GSETTINGS_BACKEND="keyfile", XDG_CONFIG_HOME=config, LANG="C.UTF-8",
           XDG_STATE_HOME=os.path.join(work, "state"))
env.pop("G_DEBUG", None)
app = App([herald], env, os.path.join(work, "herald.log"))


def saved(key):
    with open(keyfile) as f:
        m = re.search(r"^%s=(.*)$" % key, f.read(), re.M)
    return m.group(1) if m else None


def focused(acc):
    try:
        return acc.get_state_set().contains(Atspi.StateType.FOCUSED)
    except Exception:
        return False


try:
    app.find_root(timeout=60)
    app.resize(900, 1800)
    app.press("Send Test Email")
    fix = app.find("push button", "Switch to STARTTLS", timeout=40)
    ok(True, "the error dialog offers “Switch to STARTTLS” for SSL/TLS on a plain-text port")
except Exception as e:
    ok(False, "the error dialog offers “Switch to STARTTLS” for SSL/TLS on a plain-text port", e)
    fix = None

try:
    app.press("Switch to STARTTLS")
    wait_until("the dialog to close", lambda: not app.find_all("push button", "Copy Report"),
               timeout=20)
    wait_until("security to be saved", lambda: saved("security") == "'starttls'", timeout=20)
    ok(saved("port") == str(port), "pressing it closes the dialog and sets Security to STARTTLS "
       "(saved), the port kept", (saved("security"), saved("port")))
except Exception as e:
    ok(False, "pressing it closes the dialog and sets Security to STARTTLS", e)

try:
    steps = [a for name in ("Resolve", "Connect", "Greeting", "Encrypt (TLS)", "Log in", "Send")
             for a in app.find_all(None, name)]
    send = app.find("push button", "Send Test Email", timeout=10)
    server = app.find("text", "Server", timeout=10)
    if len(steps) < 3:
        raise RuntimeError("the steps are not showing: %s" % [a.get_name() for a in steps])
    app.click(server)
    hit_steps, saw_send = [], False
    for i in range(60):
        app.key("Tab")
        time.sleep(0.08)
        hit_steps += [a.get_name() for a in steps if focused(a)]
        saw_send = saw_send or focused(send)
    ok(saw_send and not hit_steps, "Tab goes round the window (to Send Test Email) and never "
       "stops on a step", "send focused: %s; steps focused: %s" % (saw_send, hit_steps))
except Exception as e:
    ok(False, "Tab never stops on a step", e)

app.quit()
if plain.poll() is None:
    plain.kill()
