#!/usr/bin/python3
# SPDX-License-Identifier: GPL-3.0-or-later
# Copyright 2026 The Herald authors
#
# The test session's display takes every client, also just after the last one
# left. Xvfb without -noreset resets itself whenever its last client
# disconnects and refuses connections while it does: a window test that started
# just after the suite went quiet then failed with "cannot open display".
# Runs alone (not parallel), so this script's connections are the only ones
# and each close is a "last client leaves". Each connection is the X11
# connection set-up itself (what XOpenDisplay sends), opened right after the
# previous one closed.
#
#   test-display-stays.py   (DISPLAY from build-aux/test-session.sh)
import os
import re
import socket
import struct
import sys

ROUNDS = 400
print("1..2", flush=True)
display = os.environ.get("DISPLAY", "")
m = re.fullmatch(r":(\d+)(?:\.\d+)?", display)
print(("ok 1 - the test session has a local display (%s)" if m else
       "not ok 1 - the test session has no local DISPLAY (%r)") % display, flush=True)
if not m:
    sys.exit(1)
path = "/tmp/.X11-unix/X" + m.group(1)


def open_display():
    """None when the server accepted the connection, else why not."""
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(10)
    try:
        s.connect(path)
        # Little-endian set-up request: protocol 11.0, no authorisation.
        s.sendall(struct.pack("<cxHHHHxx", b"l", 11, 0, 0, 0))
        head = s.recv(8)
        if len(head) < 8:
            return "the server closed the connection during set-up"
        if head[0] != 1:
            reason = s.recv(head[1]).decode("latin-1", "replace") if head[0] == 0 else ""
            return "the server refused the set-up (status %d) %s" % (head[0], reason)
        return None
    except OSError as e:
        return str(e)
    finally:
        s.close()


refused = []
for i in range(ROUNDS):
    why = open_display()
    if why:
        refused.append("connection %d: %s" % (i + 1, why))
what = "the display took %d connections, each opened right after the last closed" % ROUNDS
if refused:
    print("not ok 2 - " + what)
    for line in refused[:5]:
        print("# " + line)
    print("%d of %d connections failed, e.g. %s" % (len(refused), ROUNDS, refused[0]),
          file=sys.stderr)
else:
    print("ok 2 - " + what)
sys.exit(1 if refused else 0)
