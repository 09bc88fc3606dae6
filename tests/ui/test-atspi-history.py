#!/usr/bin/python3
# SPDX-License-Identifier: GPL-3.0-or-later
# Copyright 2026 The Herald authors
#
# The history of recent tests in the real app, through AT-SPI: a test sent
# from the window and those run by heraldctl show in History (Ctrl+H),
# newest first, named by outcome and server; activating a failed one opens
# its diagnosis in the same error dialog the failed test opened (heading,
# explanation, who must act, steps, Copy Report); activating a successful one
# shows its report, and Back returns to the list. Run under
# build-aux/test-session.sh.
#
#   test-atspi-history.py HERALD HERALDCTL FAKE_SMTP_SERVER
import os
import subprocess
import sys
import tempfile
import time

herald, heraldctl, fake_server = sys.argv[1:4]
sys.path.insert(0, os.path.join(os.environ["HERALD_SOURCE_DIR"], "tests", "desktop"))

n = 0


def dialog_texts(dialog):
    """The labels of an error dialog, as a screen reader reads them."""
    return sorted(set(a.get_name() for a in app.find_all("label", within=dialog)
                      if a.get_name()))


def ok(cond, what, why=""):
    global n
    n += 1
    print(("ok %d - %s" if cond else "not ok %d - %s") % (n, what), flush=True)
    if not cond and why:
        for line in str(why).splitlines():
            print("# " + line, flush=True)


try:
    from atspidriver import App, wait_until
except Exception as e:  # never a skip: a missing driver is a failure
    print("1..1\nnot ok 1 - cannot load the AT-SPI driver: %s" % e)
    sys.exit(1)

print("1..9", flush=True)

work = tempfile.mkdtemp(prefix="herald-ui-history-")
path = os.path.join(work, "script.txt")
with open(path, "w") as f:
    f.write("""S 220 fake.example ESMTP
C EHLO .*
S 250 fake.example
C MAIL FROM:.*
S 550 5.7.1 Sender address rejected: not owned by user
C QUIT
S 221 bye
""")
bad = subprocess.Popen([fake_server, "--script", path], stdout=subprocess.PIPE)
bad_port = int(bad.stdout.readline().decode().strip().split("=", 1)[1])

config = tempfile.mkdtemp(prefix="herald-ui-history-config-", dir=os.environ["HOME"])
keyfile = os.path.join(config, "glib-2.0", "settings", "keyfile")
os.makedirs(os.path.dirname(keyfile))
with open(keyfile, "w") as f:
    f.write(f"""[io/github/heraldmail/Herald]
server='127.0.0.1'
port={bad_port}
security='none'
auth='none'
from='alice@example.com'
to='bob@example.com'
timeout=uint32 30
""")
state = os.path.join(work, "state")
env = dict(os.environ, GSETTINGS_BACKEND="keyfile", XDG_CONFIG_HOME=config, LANG="C.UTF-8",
           XDG_STATE_HOME=state)
env.pop("G_DEBUG", None)

# A successful test from the command line first, then one that fails: port 1
# of loopback refuses at once.
good_path = os.path.join(work, "good.txt")
with open(good_path, "w") as f:
    f.write("""S 220 fake.example ESMTP
C EHLO .*
S 250 fake.example
C MAIL FROM:.*
S 250 2.1.0 OK
C RCPT TO:.*
S 250 2.1.5 OK
C DATA
S 354 Go ahead
DATA
S 250 2.0.0 OK queued as H1ST0RY
LOOP-UNTIL-QUIT
""")
good = subprocess.Popen([fake_server, "--script", good_path], stdout=subprocess.PIPE)
good_port = int(good.stdout.readline().decode().strip().split("=", 1)[1])
r = subprocess.run([heraldctl, "test", "--server", "127.0.0.1", "--port", str(good_port),
                    "--security", "none", "--auth", "none", "--from", "alice@example.com",
                    "--to", "bob@example.com"], env=env, capture_output=True, timeout=60)
sent_ok = r.returncode == 0
r = subprocess.run([heraldctl, "test", "--server", "127.0.0.1", "--port", "1", "--security", "none",
                    "--auth", "none", "--from", "alice@example.com", "--to", "bob@example.com"],
                   env=env, capture_output=True, timeout=60)

app = App([herald], env, os.path.join(work, "herald.log"))

try:
    app.find_root(timeout=60)
    app.resize(900, 1800)
    app.find("push button", "Send Test Email", timeout=30)
    app.press("Send Test Email")
    app.find("push button", "Copy Report", timeout=40)
    test_dialog = dialog_texts(app.toplevels()[-1])
    close = [a for a in app.find_all("push button", within=app.toplevels()[-1])
             if a.get_name().replace("_", "").startswith("Close")]
    close[0].get_action_iface().do_action(0)
    wait_until("the error dialog to close", lambda: not app.find_all("push button", "Copy Report"),
               timeout=20)
    time.sleep(1.0)   # the history is written on a worker thread
    app.key("ctrl+h")
    newest = "Failed — 127.0.0.1:%d" % bad_port
    row = app.find(None, newest, timeout=20)
    older = app.find(None, "Failed — 127.0.0.1:1", timeout=5)
    ok(app.extents(row)[1] < app.extents(older)[1],
       "History (Ctrl+H) lists the window's test above heraldctl's, named by outcome and server")
except Exception as e:
    ok(False, "History (Ctrl+H) lists the window's test and heraldctl's", e)
    row = None

try:
    names = [a.get_name() for a in app.find_all(None, prefix="Failed — ")]
    ok(len(set(names)) == 2, "exactly the two failed tests are listed", names)
    sent = sorted(set(a.get_name() for a in app.find_all(None, prefix="Sent — ")))
    ok(sent_ok and sent == ["Sent — 127.0.0.1:%d" % good_port],
       "and the successful one, as sent", (sent_ok, sent))
except Exception as e:
    ok(False, "exactly the two failed tests and the sent one are listed", e)

# A failed test: its diagnosis, in the dialog the test itself opened.
try:
    app.click(row)
    app.find("push button", "Copy Report", timeout=20)
    dialog = app.toplevels()[-1]
    texts = dialog_texts(dialog)
    ok(len(test_dialog) >= 4 and texts == test_dialog,
       "activating the failed test opens its diagnosis in the error dialog the test opened "
       "(what went wrong, who must act, the steps)",
       "test: %r\nhistory: %r" % (test_dialog, texts))
    # The History window stays on its list: no report page (with its Back).
    ok(not app.find_all("push button", "Back"), "not only its plain report")
    app.press("Copy Report", within=dialog)
    time.sleep(0.5)
    ok(bool(app.find_all("push button", "Copy Report", within=dialog)),
       "Copy Report keeps the dialog open")
    close = [a for a in app.find_all("push button", within=dialog)
             if a.get_name().replace("_", "").startswith("Close")]
    close[0].get_action_iface().do_action(0)
    wait_until("the error dialog to close", lambda: not app.find_all("push button", "Copy Report"),
               timeout=20)
    app.find(None, "Failed — 127.0.0.1:1", timeout=20)
    ok(True, "closing it returns to the list")
except Exception as e:
    ok(False, "activating the failed test opens its diagnosis in the error dialog", e)

# A successful test: its report.
try:
    app.click(app.find(None, "Sent — 127.0.0.1:%d" % good_port, timeout=20))
    app.find("push button", "Copy Report", timeout=20)
    view = app.find(None, "Test report", timeout=10)
    text = view.get_text_iface()
    content = text.get_text(0, text.get_character_count())
    ok("Herald test report" in content and "Port: %d" % good_port in content
       and "queued as H1ST0RY" in content,
       "activating the sent test shows its report, with Copy Report", content[:400])
    app.press("Back")
    app.find(None, "Failed — 127.0.0.1:1", timeout=20)
    ok(not app.find_all("push button", "Copy Report"), "Back returns to the list")
except Exception as e:
    ok(False, "activating the sent test shows its report, and Back returns to the list", e)

app.quit()
for server in (bad, good):
    if server.poll() is None:
        server.kill()
