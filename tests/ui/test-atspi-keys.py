#!/usr/bin/python3
# SPDX-License-Identifier: GPL-3.0-or-later
# Copyright 2026 The Herald authors
#
# The keyboard shortcuts of the real app, pressed as keys (xdotool) under
# Xvfb and read back through AT-SPI: Ctrl+Return sends, Escape cancels a
# running test at once, Ctrl+Q quits. Run under build-aux/test-session.sh.
#
#   test-atspi-keys.py HERALD FAKE_SMTP_SERVER
import os
import subprocess
import sys
import tempfile

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
    from atspidriver import App, type_field
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    from atspiwait import wait_for_name
except Exception as e:  # never a skip: a missing driver is a failure
    print("1..1\nnot ok 1 - cannot load the AT-SPI driver: %s" % e)
    sys.exit(1)

print("1..4", flush=True)

work = tempfile.mkdtemp(prefix="herald-ui-keys-")


def server(script):
    path = os.path.join(work, "script-%d.txt" % len(os.listdir(work)))
    with open(path, "w") as f:
        f.write(script)
    argv = [fake_server, "--script", path]
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE)
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
S 250 2.0.0 OK <keys@fake.example>
C QUIT
S 221 bye
""")

config = tempfile.mkdtemp(prefix="herald-ui-keys-config-", dir=os.environ["HOME"])
os.makedirs(os.path.join(config, "glib-2.0", "settings"))
with open(os.path.join(config, "glib-2.0", "settings", "keyfile"), "w") as f:
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

try:
    app.find_root(timeout=60)
    app.resize(900, 1800)
    # The one button that says Send Test Email and then Cancel while a test
    # runs: the waits below watch it rather than walking the whole tree.
    send = app.find("push button", "Send Test Email", timeout=30)
    # Focus in a field, as a person typing would have it.
    type_field(app, "text", "Subject", "Keyboard test")

    app.key("ctrl+Return")
    # Well within the 30 s the hanging server holds the test running.
    wait_for_name(app, send, "Cancel", timeout=25)
    ok(True, "Ctrl+Return starts the test (the button says Cancel)")
except Exception as e:
    ok(False, "Ctrl+Return starts the test (the button says Cancel)", e)

try:
    app.key("Escape")
    # Escape lets the connection go at once: the fake server, which would
    # otherwise hold it for the whole 30 s timeout, is done within seconds.
    hang.wait(timeout=10)
    wait_for_name(app, send, "Send Test Email", timeout=30)
    ok(hang.returncode == 0, "Escape cancels at once and the connection is let go",
       "fake server exit status %s" % hang.returncode)
except Exception as e:
    ok(False, "Escape cancels at once and the connection is let go", e)

try:
    type_field(app, "spin button", "Port", str(good_port), fx=0.2, commit_with_tab=True)
    app.key("ctrl+Return")
    banner = app.find("label", prefix="Test email sent", timeout=40)
    ok("bob@example.com" in banner.get_name(), "a second Ctrl+Return sends: " + banner.get_name())
except Exception as e:
    ok(False, "a second Ctrl+Return sends", e)

rc = app.quit()
ok(rc == 0, "Ctrl+Q quits cleanly", "exit status %s" % rc)
for p in (hang, good):
    if p.poll() is None:
        p.kill()
