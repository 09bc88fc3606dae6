#!/usr/bin/python3
# SPDX-License-Identifier: GPL-3.0-or-later
# Copyright 2026 The Herald authors
#
# The Alerts area's Retry Now in the real app, through AT-SPI: an alert that
# `heraldctl send` had to queue (the server said "try later") shows in the
# window; once the port points at a server that takes it, Retry Now
# delivers it (the fake server receives the message) and the row goes. Run
# under build-aux/test-session.sh.
#
#   test-atspi-alerts.py HERALD HERALDCTL FAKE_SMTP_SERVER
import json
import os
import re
import subprocess
import sys
import tempfile
import time

herald, heraldctl, fake_server = sys.argv[1:4]
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
    from atspidriver import App, type_field, wait_until, xdotool
except Exception as e:  # never a skip: a missing driver is a failure
    print("1..1\nnot ok 1 - cannot load the AT-SPI driver: %s" % e)
    sys.exit(1)

print("1..3", flush=True)

work = tempfile.mkdtemp(prefix="herald-ui-alerts-")


def server(name, script):
    path = os.path.join(work, name + ".txt")
    with open(path, "w") as f:
        f.write(script)
    log = os.path.join(work, name + ".log")
    proc = subprocess.Popen([fake_server, "--script", path, "--log", log, "--timeout", "170"],
                            stdout=subprocess.PIPE)
    return proc, int(proc.stdout.readline().decode().strip().split("=", 1)[1]), log


later, later_port, _ = server("later", """S 220 later.example ESMTP
C EHLO .*
S 250 later.example
C MAIL FROM:.*
S 451 4.3.2 Please try again later
LOOP-UNTIL-QUIT
""")
good, good_port, good_log = server("good", """S 220 good.example ESMTP
C EHLO .*
S 250 good.example
C MAIL FROM:.*
S 250 2.1.0 OK
C RCPT TO:.*
S 250 2.1.5 OK
C DATA
S 354 go ahead
DATA
S 250 2.0.0 OK queued as RETRY1
LOOP-UNTIL-QUIT
""")

config = tempfile.mkdtemp(prefix="herald-ui-alerts-config-", dir=os.environ["HOME"])
keyfile = os.path.join(config, "glib-2.0", "settings", "keyfile")
os.makedirs(os.path.dirname(keyfile))
with open(keyfile, "w") as f:
    f.write(f"""[io/github/heraldmail/Herald]
server='127.0.0.1'
port={later_port}
security='none'
auth='none'
from='alerts@example.com'
to='ops@example.com'
timeout=uint32 20
alerts-enabled=true
""")
env = dict(os.environ, GSETTINGS_BACKEND="keyfile", XDG_CONFIG_HOME=config, LANG="C.UTF-8",
           LC_ALL="C.UTF-8", XDG_STATE_HOME=os.path.join(work, "state"))
env.pop("G_DEBUG", None)


def queued():
    r = subprocess.run([heraldctl, "queue", "list", "--json"], env=env, capture_output=True,
                       timeout=60)
    return json.loads(r.stdout)["messages"]


r = subprocess.run([heraldctl, "send", "ops@example.com"], env=env, capture_output=True,
                   timeout=90, input=b"Subject: disk full on host7\n\nRAID degraded.\n")
messages = queued()
ok(len(messages) == 1 and messages[0].get("state") in ("queued", "held"),
   "heraldctl send queues the alert the server said to try later",
   "exit %d: %s; queue %s" % (r.returncode, r.stderr.decode(errors="replace"), messages))

app = App([herald], env, os.path.join(work, "herald.log"))
try:
    app.find_root(timeout=60)
    app.resize(900, 1800)
    app.find("push button", "Retry Now", timeout=30)
    xdotool("mousemove", 1, 1)
    type_field(app, "spin button", "Port", str(good_port), fx=0.2, commit_with_tab=True)
    time.sleep(1.0)
    app.press("Retry Now")
    wait_until("the message to leave the queue", lambda: not queued(), timeout=60)
    wait_until("the Retry Now row to go", lambda: not app.find_all("push button", "Retry Now"),
               timeout=30)
    ok(True, "Retry Now sends the queued alert and its row goes")
except Exception as e:
    ok(False, "Retry Now sends the queued alert and its row goes", e)

try:
    with open(good_log, errors="replace") as f:
        log = f.read()
    ok("disk full on host7" in log and "RAID degraded." in log and
       re.search(r"RCPT TO:<ops@example\.com>", log),
       "the server that took it received the alert itself", log[-600:])
except Exception as e:
    ok(False, "the server that took it received the alert itself", e)

app.quit()
for p in (later, good):
    if p.poll() is None:
        p.kill()
