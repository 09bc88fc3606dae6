#!/usr/bin/python3
# SPDX-License-Identifier: GPL-3.0-or-later
# Copyright 2026 The Herald authors
"""Takes the README's and metainfo's screenshots of the real window: the form
with the Microsoft 365 preset (form.png, its Transport row too), the success
banner (success.png), the error dialog (error.png), the history of those
tests (history.png) and the alert queue and relay for devices below the form
(relay.png).
Run through make-screenshots.sh, which provides Xvfb, AT-SPI and a keyring.

usage: make-screenshots.py HERALD FAKE_SMTP_SERVER MAKE_TEST_CERTS OUTDIR"""

import faulthandler
import os
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from atspidriver import (App, expand_advanced, screenshot, type_field,  # noqa: E402
                         wait_until, xdotool)
from desktoptest import FAIL_SCRIPT, FakeServer, success_script  # noqa: E402

herald, fakesrv, make_certs, outdir = sys.argv[1:5]
faulthandler.dump_traceback_later(240, exit=True)
USER = "alerts@contoso.example"
TO = "it-team@contoso.example"
PASSWORD = "screenshot-password"     # a throw-away keyring in a throw-away HOME
WIDTH, HEIGHT = 860, 1080

work = tempfile.mkdtemp(prefix="herald-shots-")
os.makedirs(outdir, exist_ok=True)
app = None
try:
    subprocess.run([make_certs, os.path.join(work, "certs")], check=True, capture_output=True)
    ca = os.path.join(work, "certs", "ca.pem")
    cert = os.path.join(work, "certs", "localhost.pem")
    key = os.path.join(work, "certs", "localhost-key.pem")
    ok = FakeServer(fakesrv, success_script(USER, PASSWORD, TO), work, cert=cert, key=key,
                    timeout=230)
    fail = FakeServer(fakesrv, FAIL_SCRIPT, work, cert=cert, key=key, timeout=230)

    # The Microsoft 365 preset (it offers the Transport row), with the fake
    # server typed in place of Microsoft's below.
    config = os.path.join(work, "config")
    os.makedirs(os.path.join(config, "glib-2.0", "settings"))
    with open(os.path.join(config, "glib-2.0", "settings", "keyfile"), "w") as f:
        f.write("[io/github/heraldmail/Herald]\nprovider='microsoft365'\n")
    env = dict(os.environ, GSETTINGS_BACKEND="keyfile", XDG_CONFIG_HOME=config, LANG="C.UTF-8",
               LC_ALL="C.UTF-8")
    app = App([herald], env, os.path.join(work, "herald.log"))
    app.find_root(timeout=40)
    app.resize(WIDTH, 1880)             # everything on screen while typing
    app.find("push button", "Send Test Email", timeout=20)

    expand_advanced(app)
    snap = app.snapshot()
    type_field(app, "text", "Server", "localhost", snap)
    type_field(app, "spin button", "Port", str(ok.port), snap, fx=0.2, commit_with_tab=True)
    type_field(app, "text", "Username", USER, snap)
    type_field(app, "text", "Password", PASSWORD, snap)
    type_field(app, "text", "From", USER, snap)
    type_field(app, "text", "To", TO, snap)
    type_field(app, "text", "CA certificate file", ca, snap)
    app.click(app.find(None, "Advanced"))       # fold it again for the picture

    def shoot(name, top=True):
        app.resize(WIDTH, HEIGHT)
        if top:
            # Scroll the form back to the top, where the banner is.
            x, y, w, h = App.extents(app.find("text", "Server"))
            xdotool("mousemove", "--sync", x + w // 2, 200)
            for _ in range(30):
                xdotool("click", 4)
        xdotool("mousemove", "--sync", WIDTH + 100, 10)   # no hover highlight
        time.sleep(1.0)
        path = os.path.join(outdir, name)
        screenshot(path, (0, 0, WIDTH, HEIGHT))
        print("wrote", path)

    shoot("form.png")

    app.resize(WIDTH, 1880)
    app.press("Send Test Email")
    app.find("label", prefix="Test email sent", timeout=40)
    shoot("success.png")
    ok.wait(20)

    app.resize(WIDTH, 1880)
    type_field(app, "spin button", "Port", str(fail.port), fx=0.2, commit_with_tab=True)
    app.press("Send Test Email")
    wait_until("the error dialog", lambda: len(app.toplevels()) > 1, 40)
    time.sleep(1.0)
    app.resize(WIDTH, HEIGHT)
    # No window manager: centre the dialog over the window by hand.
    ids = xdotool("search", "--onlyvisible", "--pid", app.app_pid).split()
    dialog = None
    for wid in ids:
        geo = xdotool("getwindowgeometry", "--shell", wid)
        g = dict(line.split("=", 1) for line in geo.splitlines() if "=" in line)
        if int(g["WIDTH"]) < WIDTH - 20 or int(g["HEIGHT"]) < HEIGHT - 20:
            dialog = (wid, int(g["WIDTH"]), int(g["HEIGHT"]))
    if dialog:
        wid, w, h = dialog
        xdotool("windowmove", wid, max(0, (WIDTH - w) // 2), max(0, (HEIGHT - h) // 2))
    time.sleep(1.0)
    path = os.path.join(outdir, "error.png")
    screenshot(path, (0, 0, WIDTH, HEIGHT))
    print("wrote", path)
    fail.wait(20)

    # The history of the two tests (History, Ctrl+H), over the window.
    close = [a for a in app.find_all("push button", within=app.toplevels()[-1])
             if a.get_name().replace("_", "").startswith("Close")]
    close[0].get_action_iface().do_action(0)
    wait_until("the error dialog to close", lambda: len(app.toplevels()) == 1, 20)
    time.sleep(1.0)
    app.key("ctrl+h")
    app.find(None, prefix="Failed — localhost:", timeout=20)
    time.sleep(1.0)
    ids = xdotool("search", "--onlyvisible", "--pid", app.app_pid).split()
    for wid in ids:
        geo = xdotool("getwindowgeometry", "--shell", wid)
        g = dict(line.split("=", 1) for line in geo.splitlines() if "=" in line)
        if int(g["WIDTH"]) < WIDTH - 20 or int(g["HEIGHT"]) < HEIGHT - 20:
            xdotool("windowmove", wid, max(0, (WIDTH - int(g["WIDTH"])) // 2),
                    max(0, (HEIGHT - int(g["HEIGHT"])) // 3))
    time.sleep(1.0)
    path = os.path.join(outdir, "history.png")
    screenshot(path, (0, 0, WIDTH, HEIGHT))
    print("wrote", path)

    # Below the form: the alert queue and the relay for devices.
    app.key("Escape")
    wait_until("History to close", lambda: len(app.toplevels()) == 1, 20)
    app.find(None, "Relay for Devices", timeout=10)
    app.resize(WIDTH, HEIGHT)
    time.sleep(0.5)
    xdotool("mousemove", "--sync", WIDTH // 2, HEIGHT // 2)
    for _ in range(60):
        xdotool("click", 5)
    xdotool("mousemove", "--sync", WIDTH + 100, 10)   # no hover highlight
    time.sleep(1.0)
    path = os.path.join(outdir, "relay.png")
    screenshot(path, (0, 0, WIDTH, HEIGHT))
    print("wrote", path)
finally:
    if app:
        app.kill()
    shutil.rmtree(work, ignore_errors=True)
