#!/usr/bin/python3
# SPDX-License-Identifier: GPL-3.0-or-later
# Copyright 2026 The Herald authors
"""heraldctl test without --password-stdin takes the password from the
keyring entry that herald-secrets (the window's code) stored, and sends it
with AUTH PLAIN after STARTTLS to the fake SMTP server. The password, and its
base64 forms, appear in no output and in no file under HOME but the keyring's.

usage: test-heraldctl-keyring.py HERALDCTL FAKE_SMTP_SERVER SECRET_HELPER MAKE_TEST_CERTS
Runs inside build-aux/test-session.sh (unlocked gnome-keyring, throw-away HOME)."""

import os
import secrets
import shutil
import subprocess
import sys
import tempfile

# The Python helpers of the desktop tests (Tap, the fake server, leak scans).
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "desktop"))
from desktoptest import (Tap, FakeServer, files_containing, keyring_dir,  # noqa: E402
                         regex_escape, secret_forms)

heraldctl, fakesrv, helper, make_certs = sys.argv[1:5]
USER = "alice@example.com"
HOST = "127.0.0.1"
password = "Kr-" + secrets.token_hex(12) + "-z"
forms = secret_forms(USER, password)
auth_plain = forms[2]
tap = Tap(forms)

# The work dir (certs, server script and log, which holds the base64) lives
# outside HOME and is removed at the end.
work = tempfile.mkdtemp(prefix="herald-kr-")
try:
    r = subprocess.run([make_certs, os.path.join(work, "certs")], capture_output=True, timeout=60)
    if r.returncode != 0:
        tap.bail("make-test-certs.sh failed: " + r.stderr.decode(errors="replace"))
    cert = os.path.join(work, "certs", "localhost.pem")
    key = os.path.join(work, "certs", "localhost-key.pem")
    ca = os.path.join(work, "certs", "ca.pem")

    # The leak scan itself must work: it finds a planted copy under HOME.
    planted = os.path.join(os.environ["HOME"], ".cache", "herald-leak-probe")
    os.makedirs(os.path.dirname(planted), exist_ok=True)
    with open(planted, "wb") as f:
        f.write(b"x" * 3000000 + tap.secrets[-1].encode())
    found = files_containing(os.environ["HOME"], tap.secrets, exclude=[keyring_dir()])
    os.remove(planted)
    tap.ok(found == [planted], "the leak scan finds a planted copy of the secret under HOME",
           repr(found))

    script = f"""S 220 fake.example ESMTP
C EHLO .*
S 250-fake.example
S 250-STARTTLS
S 250 AUTH PLAIN LOGIN
C STARTTLS
S 220 2.0.0 Ready to start TLS
STARTTLS
C EHLO .*
S 250-fake.example
S 250 AUTH PLAIN LOGIN
C AUTH PLAIN {regex_escape(auth_plain)}
S 235 2.7.0 Authentication successful
C MAIL FROM:<{regex_escape(USER)}>.*
S 250 2.1.0 OK
C RCPT TO:<bob@example\\.com>.*
S 250 2.1.5 OK
C DATA
S 354 Go ahead
DATA
S 250 2.0.0 OK queued as KR1
LOOP-UNTIL-QUIT
"""
    server = FakeServer(fakesrv, script, work, cert=cert, key=key, timeout=60)
    port = str(server.port)

    r = subprocess.run([helper, "store", HOST, port, USER], input=(password + "\n").encode(),
                       capture_output=True, timeout=30)
    tap.ok(r.returncode == 0, "password stored in the keyring through herald-secrets",
           r.stderr)
    r = subprocess.run([helper, "check", HOST, port, USER], input=(password + "\n").encode(),
                       capture_output=True, timeout=30)
    tap.ok(r.returncode == 0, "herald-secrets reads the same password back", r.stderr)

    # --user alone chooses the user profile (its keyring), and --user USER
    # is still the login name.
    argv = [heraldctl, "test", "--user", "--server", HOST, "--port", port, "--security", "starttls",
            "--auth", "plain", "--user", USER, "--from", USER, "--to", "bob@example.com",
            "--ca-file", ca, "--timeout", "20"]
    try:
        r = subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True, timeout=90)
        out = r.stdout + r.stderr
        rc = r.returncode
    except subprocess.TimeoutExpired as e:
        out, rc = (e.stdout or b"") + (e.stderr or b""), None
    tap.ok(rc == 0, "heraldctl test --user (the user profile) without --password-stdin succeeds "
           "with the keyring's password",
           f"exit {rc}\n" + tap.scrub(out))
    srv_rc = server.wait(30)
    tap.ok(srv_rc == 0, "the fake server saw the whole dialogue it expected (AUTH PLAIN with "
           "the stored credentials)", f"server exit {srv_rc}: " + server.stderr())
    tap.ok(("AUTH PLAIN " + auth_plain) in server.log_lines(),
           "the server log holds AUTH PLAIN with base64(\\0user\\0password)")
    leaked = [f for f in forms if f.encode() in out]
    tap.ok(not leaked, "heraldctl's output shows neither the password nor its base64")

    hits = files_containing(os.environ["HOME"], forms, exclude=[keyring_dir()])
    tap.ok(not hits, "the password is in no file under HOME but the keyring's",
           "found in: " + ", ".join(hits))
    kr_hits = files_containing(keyring_dir(), [password])
    tap.ok(not kr_hits, "the keyring's own files hold it encrypted, not in clear",
           "in clear in: " + ", ".join(kr_hits))

    # Once forgotten, heraldctl says so instead of sending without a password.
    r = subprocess.run([helper, "clear", HOST, port, USER], capture_output=True, timeout=30)
    tap.ok(r.returncode == 0, "password removed through herald-secrets", r.stderr)
    r = subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True, timeout=90)
    err = r.stderr.decode(errors="replace")
    tap.ok(r.returncode != 0 and "no password is saved in the keyring" in err,
           "with no keyring entry, heraldctl fails and says no password is saved",
           f"exit {r.returncode}\n{err}")
finally:
    shutil.rmtree(work, ignore_errors=True)

tap.done()
