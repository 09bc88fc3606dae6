#!/usr/bin/python3
# SPDX-License-Identifier: GPL-3.0-or-later
# Copyright 2026 The Herald authors
#
# Results that never mislead, read through AT-SPI as a screen reader would,
# in the real app against fake SMTP servers: Cancel leaves the steps with the
# one that hung marked "Cancelled"; a success banner goes when a setting
# changes; Copy Report leaves the error dialog open and the failure banner's
# Details opens it again; port 70000 is refused with its reason and never
# saved; every button has a name. Run under build-aux/test-session.sh.
#
#   test-atspi-results.py HERALD FAKE_SMTP_SERVER
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
    from atspidriver import App, expand_advanced, type_field, wait_until, xdotool
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    from atspiwait import wait_for_name
except Exception as e:  # never a skip: a missing driver is a failure
    print("1..1\nnot ok 1 - cannot load the AT-SPI driver: %s" % e)
    sys.exit(1)

print("1..6", flush=True)

work = tempfile.mkdtemp(prefix="herald-ui-results-")


def server(script):
    path = os.path.join(work, "script-%d.txt" % len(os.listdir(work)))
    with open(path, "w") as f:
        f.write(script)
    proc = subprocess.Popen([fake_server, "--script", path], stdout=subprocess.PIPE)
    return proc, int(proc.stdout.readline().decode().strip().split("=", 1)[1])


hang, hang_port = server("S 220 fake.example ESMTP\nC EHLO .*\nHANG\n")
good, good_port = server("""S 220 fake.example ESMTP
C EHLO .*
S 250 fake.example
C MAIL FROM:.*
S 250 2.1.0 OK
C RCPT TO:.*
S 250 2.1.5 OK
C DATA
S 354 go ahead
DATA
S 250 2.0.0 OK <results@fake.example>
C QUIT
S 221 bye
""")
bad, bad_port = server("""S 220 fake.example ESMTP
C EHLO .*
S 250 fake.example
C MAIL FROM:.*
S 550 5.7.1 Sender address rejected: not owned by user
C QUIT
S 221 bye
""")

config = tempfile.mkdtemp(prefix="herald-ui-results-config-", dir=os.environ["HOME"])
keyfile = os.path.join(config, "glib-2.0", "settings", "keyfile")
os.makedirs(os.path.dirname(keyfile))
with open(keyfile, "w") as f:
    f.write(f"""[io/github/heraldmail/Herald]
server='127.0.0.1'
port={hang_port}
security='none'
auth='none'
from='alice@example.com'
to='bob@example.com'
timeout=uint32 30
""")
env = dict(os.environ, GSETTINGS_BACKEND="keyfile", XDG_CONFIG_HOME=config, LANG="C.UTF-8")
env.pop("G_DEBUG", None)
app = App([herald], env, os.path.join(work, "herald.log"))


def saved_port():
    with open(keyfile) as f:
        m = re.search(r"^port=(\d+)$", f.read(), re.M)
    return int(m.group(1)) if m else None


def gone(role, prefix):
    return lambda: not app.find_all(role, prefix=prefix)


def type_port(text):
    # "xdotool mousemove --sync" waits for the pointer to move: park it away
    # first, in case it already rests where the Port field is (an earlier
    # click there, in this test or in another one on the same display).
    xdotool("mousemove", 1, 1)
    time.sleep(0.1)
    type_field(app, "spin button", "Port", text, fx=0.2, commit_with_tab=True)


def close_dialog():
    # The error dialog's own Close (the main window's title bar has one too).
    tops = app.toplevels()
    if len(tops) < 2:
        raise RuntimeError("no dialog is open")
    close = [a for a in app.find_all("push button", within=tops[-1])
             if a.get_name().replace("_", "").startswith("Close")]
    if not close:
        raise RuntimeError("no Close button in the dialog")
    close[0].get_action_iface().do_action(0)
    wait_until("the error dialog to close", gone("push button", "Copy Report"), timeout=20)


try:
    app.find_root(timeout=60)
    app.resize(900, 1800)
    send = app.find("push button", "Send Test Email", timeout=30)
    app.press("Send Test Email")
    wait_for_name(app, send, "Cancel", timeout=25)
    time.sleep(1.0)
    app.press("Cancel")
    cancelled = app.find("label", prefix="Cancelled after", timeout=30)
    done = app.find_all("label", prefix="Failed after")
    ok(not done, "Cancel keeps the steps: the one that hung says " + cancelled.get_name(),
       "a step says failed: %s" % [a.get_name() for a in done])
except Exception as e:
    ok(False, "Cancel keeps the steps and marks the running one Cancelled", e)

try:
    type_port(str(good_port))
    app.press("Send Test Email")
    app.find("label", prefix="Test email sent", timeout=40)
    app.find("label", "Not needed", timeout=10)
    type_port("2526")
    wait_until("the success banner to go", gone("label", "Test email sent"), timeout=20)
    # The steps the test did not need said so; they say nothing now.
    ok(not app.find_all("label", prefix="Not needed"),
       "a changed port clears the success banner and the step ticks")
except Exception as e:
    ok(False, "a changed port clears the success banner and the step ticks", e)

try:
    type_port(str(bad_port))
    app.press("Send Test Email")
    app.find("push button", "Copy Report", timeout=40)
    app.press("Copy Report")
    time.sleep(1.5)
    still = app.find_all("push button", "Copy Report")
    ok(bool(still), "Copy Report leaves the error dialog open")
except Exception as e:
    ok(False, "Copy Report leaves the error dialog open", e)

try:
    close_dialog()
    app.find("label", prefix="The test failed:", timeout=20)
    app.press("Details")
    app.find("push button", "Copy Report", timeout=30)
    ok(True, "the failure banner's Details opens the diagnosis again")
    close_dialog()
except Exception as e:
    ok(False, "the failure banner's Details opens the diagnosis again", e)

try:
    before = saved_port()
    type_port("70000")
    reason = app.find("label", prefix="The port must be a number from 1 to 65535", timeout=20)
    time.sleep(1.0)
    ok(saved_port() == before == bad_port,
       "port 70000 is refused with its reason and not saved: " + reason.get_name(),
       "saved port %s, before %s" % (saved_port(), before))
except Exception as e:
    ok(False, "port 70000 is refused with its reason and not saved", e)

try:
    expand_advanced(app)
    snap = app.snapshot()
    roles = ("push button", "toggle button", "menu button", "check box", "radio button")
    unnamed = [(r, nm) for acc, r, nm, visible in snap
               if visible and r in roles and (not nm.strip() or nm.startswith("Gtk"))]
    ok(not unnamed, "every button has an accessible name",
       "unnamed: %s\nbuttons: %s" % (unnamed, [(r, nm) for _, r, nm, v in snap
                                               if v and r in roles]))
except Exception as e:
    ok(False, "every button has an accessible name", e)

app.quit()
for p in (hang, good, bad):
    if p.poll() is None:
        p.kill()
