#!/usr/bin/python3
# SPDX-License-Identifier: GPL-3.0-or-later
# Copyright 2026 The Herald authors
#
# Regression test: the real app under AT-SPI, an assistive technology walking
# the whole tree while the error dialog opens and closes. GTK 4.8 answers a
# window index that just went stale with its last toplevel; when that was a
# never-shown window (GtkApplication's automatic help overlay) herald crashed
# with SIGSEGV. Run under build-aux/test-session.sh (Xvfb, AT-SPI bus).
#
#   test-atspi-dialog.py HERALD FAKE_SMTP_SERVER MAKE_TEST_CERTS
import os
import subprocess
import sys
import tempfile
import time

herald, fake_server, make_certs = sys.argv[1:4]
sys.path.insert(0, os.path.join(os.environ["HERALD_SOURCE_DIR"], "tests", "desktop"))

n = 0


def ok(cond, what, why=""):
    global n
    n += 1
    print(("ok %d - %s" if cond else "not ok %d - %s") % (n, what), flush=True)
    if not cond and why:
        for line in str(why).splitlines():
            print("# " + line, flush=True)
        # meson shows a failed test's stderr, not its TAP comments.
        print("not ok %d - %s: %s" % (n, what, why), file=sys.stderr, flush=True)


try:
    import gi
    gi.require_version("Atspi", "2.0")
    from gi.repository import Atspi
    from atspidriver import App, wait_until
except Exception as e:  # never a skip: a missing driver is a failure
    print("1..1\nnot ok 1 - cannot load the AT-SPI driver: %s" % e)
    sys.exit(1)

ROUNDS = 3
print("1..3", flush=True)

work = tempfile.mkdtemp(prefix="herald-ui-atspi-")
certs = os.path.join(work, "certs")
subprocess.run([make_certs, certs], check=True)
script = os.path.join(work, "fail.txt")
with open(script, "w") as f:
    f.write("""S 220 fake.example ESMTP
C EHLO .*
S 250-fake.example
S 250 STARTTLS
C STARTTLS
S 220 2.0.0 Ready
STARTTLS
C EHLO .*
S 250 fake.example
C MAIL FROM:.*
S 550 5.7.60 SMTP; Client does not have permissions to send as this sender
C QUIT
S 221 bye
""")
server = subprocess.Popen([fake_server, "--script", script,
                           "--cert", os.path.join(certs, "localhost.pem"),
                           "--key", os.path.join(certs, "localhost-key.pem"),
                           "--connections", str(ROUNDS)], stdout=subprocess.PIPE)
port = int(server.stdout.readline().decode().strip().split("=", 1)[1])

config = tempfile.mkdtemp(prefix="herald-ui-atspi-config-", dir=os.environ["HOME"])
os.makedirs(os.path.join(config, "glib-2.0", "settings"))
with open(os.path.join(config, "glib-2.0", "settings", "keyfile"), "w") as f:
    f.write(f"""[io/github/heraldmail/Herald]
server='127.0.0.1'
port={port}
security='starttls'
auth='none'
username='alice@example.com'
from='alice@example.com'
to='bob@example.com'
ca-file='{os.path.join(certs, "ca.pem")}'
""")
env = dict(os.environ, GSETTINGS_BACKEND="keyfile", XDG_CONFIG_HOME=config, LANG="C.UTF-8")
env.pop("G_DEBUG", None)

app = App([herald], env, os.path.join(work, "herald.log"))


def walk(node, depth=0):
    """What a screen reader does: every node's name, role, state, children."""
    if node is None or depth > 40:
        return
    try:
        node.get_name()
        node.get_role_name()
        node.get_state_set()
        count = node.get_child_count()
    except Exception:
        return
    for i in range(count):
        try:
            child = node.get_child_at_index(i)
        except Exception:
            continue
        walk(child, depth + 1)


failure = ""
try:
    app.find_root(timeout=60)
    app.resize(900, 1800)
    app.find("push button", "Send Test Email", timeout=30)
    for rnd in range(ROUNDS):
        app.press("Send Test Email")
        dialog = wait_until("the error dialog",
                            lambda: app.toplevels()[1] if len(app.toplevels()) > 1 else None, 40)
        walk(dialog)
        close = [a for a in app.find_all("push button", within=dialog)
                 if a.get_name().replace("_", "").startswith("Close")]
        if not close:
            raise RuntimeError("no Close button in the dialog")
        close[0].get_action_iface().do_action(0)
        # Right after the close, walk everything again and again: for a few
        # seconds and at least twice, not a fixed count (one walk costs
        # seconds on a loaded machine, and more under the sanitizers).
        walks, until = 0, time.monotonic() + 3
        while walks < 2 or time.monotonic() < until:
            walk(app.root)
            walks += 1
            if app.proc.poll() is not None:
                raise RuntimeError("herald died (status %s) in round %d after Close"
                                   % (app.proc.returncode, rnd + 1))
        wait_until("the dialog to close", lambda: len(app.toplevels()) == 1, 20)
except Exception as e:
    failure = "%s: %s" % (type(e).__name__, e)

if failure:
    try:  # what herald itself said (e.g. "cannot open display")
        with open(app.log_path, encoding="utf-8", errors="replace") as f:
            tail = f.read()[-2000:]
        print("herald's output:\n" + tail, file=sys.stderr, flush=True)
    except OSError:
        pass
ok(not failure and app.proc.poll() is None,
   "the error dialog opened and closed %d times while the whole tree was walked" % ROUNDS,
   failure)
ok(app.proc.poll() is None, "herald is still running afterwards",
   "exit status %s" % app.proc.returncode)
rc = app.quit()
ok(rc == 0, "herald quits cleanly (Ctrl+Q)", "exit status %s" % rc)
server.kill()
sys.exit(0 if n and not failure and rc == 0 else 1)
