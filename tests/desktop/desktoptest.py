# SPDX-License-Identifier: GPL-3.0-or-later
# Copyright 2026 The Herald authors
"""Helpers shared by the desktop tests written in Python: TAP output, the
fake SMTP server as a subprocess, scrubbing secrets from anything we print,
and the "is the secret in any file under HOME" scan."""

import base64
import os
import select
import subprocess
import sys
import tempfile
import time


class Tap:
    """Prints TAP as it goes; the plan comes last so a crash shows as a
    missing plan rather than a false pass."""

    def __init__(self, secrets=()):
        self.n = 0
        self.failed = 0
        self.secrets = [s for s in secrets if s]
        self.t0 = time.monotonic()

    def add_secret(self, secret):
        if secret:
            self.secrets.append(secret)

    def scrub(self, text):
        if isinstance(text, bytes):
            text = text.decode("utf-8", "replace")
        for s in self.secrets:
            text = text.replace(s, "********")
        return text

    def diag(self, text):
        for line in self.scrub(str(text)).splitlines():
            print("# " + line, flush=True)

    def ok(self, cond, what, detail=None):
        self.n += 1
        if os.environ.get("HERALD_TAP_TIMES"):
            print("# %.1f s" % (time.monotonic() - self.t0), flush=True)
        if cond:
            print(f"ok {self.n} - {self.scrub(what)}", flush=True)
        else:
            self.failed += 1
            print(f"not ok {self.n} - {self.scrub(what)}", flush=True)
            if detail:
                self.diag(detail)
        return cond

    def bail(self, why):
        print("Bail out! " + self.scrub(why), flush=True)
        sys.exit(1)

    def done(self):
        print(f"1..{self.n}", flush=True)
        sys.exit(1 if self.failed or self.n == 0 else 0)


def secret_forms(user, password):
    """The password as it may leak: plain, base64 alone, and the AUTH PLAIN
    and LOGIN forms."""
    pw = password.encode()
    plain = base64.b64encode(b"\0" + user.encode() + b"\0" + pw).decode()
    return [password, base64.b64encode(pw).decode(), plain]


def regex_escape(text):
    """Escapes text for the fake server's (PCRE) C lines."""
    return "".join("\\" + c if c in "\\.^$|?*+()[]{}" else c for c in text)


class FakeServer:
    """tests/fixtures/fake-smtp-server, started with a script; .port is the
    port it bound on 127.0.0.1. Its stderr is kept private (scrubbed if shown)."""

    def __init__(self, exe, script, workdir, cert=None, key=None, connections=1,
                 timeout=60, log=True):
        self.dir = tempfile.mkdtemp(prefix="fakesrv-", dir=workdir)
        script_path = os.path.join(self.dir, "script")
        with open(script_path, "w") as f:
            f.write(script)
        self.log = os.path.join(self.dir, "log") if log else None
        args = [exe, "--script", script_path, "--connections", str(connections),
                "--timeout", str(timeout)]
        if cert:
            args += ["--cert", cert, "--key", key]
        if self.log:
            args += ["--log", self.log]
        self.stderr_path = os.path.join(self.dir, "stderr")
        self.proc = subprocess.Popen(args, stdout=subprocess.PIPE,
                                     stderr=open(self.stderr_path, "w"))
        self.port = None
        deadline = time.monotonic() + 15
        line = b""
        while time.monotonic() < deadline:
            r, _, _ = select.select([self.proc.stdout], [], [], 0.2)
            if r:
                line = self.proc.stdout.readline()
                break
            if self.proc.poll() is not None:
                break
        if not line.startswith(b"PORT="):
            self.kill()
            raise RuntimeError("fake-smtp-server did not print PORT=: " + self.stderr())
        self.port = int(line[5:].strip())

    def wait(self, timeout=30):
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            return None

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()

    def stderr(self):
        try:
            with open(self.stderr_path, errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    def log_lines(self):
        if not self.log or not os.path.exists(self.log):
            return []
        with open(self.log, "rb") as f:
            return f.read().decode("utf-8", "replace").splitlines()


def _file_contains(path, needles, chunk=1 << 20):
    """Reads in 1 MiB chunks (overlapping by the longest needle), so that big
    files cost no big allocations."""
    overlap = max(len(n) for n in needles) - 1 if needles else 0
    tail = b""
    try:
        with open(path, "rb") as f:
            while True:
                data = f.read(chunk)
                if not data:
                    return False
                window = tail + data
                if any(n in window for n in needles):
                    return True
                tail = window[-overlap:] if overlap > 0 else b""
    except OSError:
        return False


def files_containing(root, needles, exclude=()):
    """Paths of regular files under root that contain any of needles (str),
    skipping the directories in exclude. Never returns the content."""
    needles = [n.encode() for n in needles if n]
    exclude = [os.path.realpath(e) for e in exclude]
    hits = []
    for dirpath, dirnames, filenames in os.walk(root):
        real = os.path.realpath(dirpath)
        if any(real == e or real.startswith(e + os.sep) for e in exclude):
            dirnames[:] = []
            continue
        for name in filenames:
            path = os.path.join(dirpath, name)
            if os.path.islink(path) or not os.path.isfile(path):
                continue
            if _file_contains(path, needles):
                hits.append(path)
    return hits


def keyring_dir():
    data = os.environ.get("XDG_DATA_HOME") or os.path.join(os.environ["HOME"], ".local", "share")
    return os.path.join(data, "keyrings")


def success_script(user, pw, to="bob@example.com"):
    """STARTTLS, then AUTH PLAIN that must carry exactly user and pw."""
    plain = secret_forms(user, pw)[2]
    return f"""S 220 fake.example ESMTP
C EHLO .*
S 250-fake.example
S 250-STARTTLS
S 250 AUTH PLAIN
C STARTTLS
S 220 2.0.0 Ready to start TLS
STARTTLS
C EHLO .*
S 250-fake.example
S 250 AUTH PLAIN
C AUTH PLAIN {regex_escape(plain)}
S 235 2.7.0 Authentication successful
C MAIL FROM:<{regex_escape(user)}>.*
S 250 2.1.0 OK
C RCPT TO:<{regex_escape(to)}>.*
S 250 2.1.5 OK
C DATA
S 354 Go ahead
DATA
S 250 2.0.0 OK queued as E2E42
LOOP-UNTIL-QUIT
"""


FAIL_REPLY = ("535 5.7.139 Authentication unsuccessful, SmtpClientAuthentication is disabled "
              "for the Mailbox. Visit https://aka.ms/smtp_auth_disabled for more information. "
              "[AM0PR01CA0000.eurprd01.prod.exchangelabs.com 2026-11-28T09:00:00.000Z]")
FAIL_SCRIPT = f"""S 220 fake.example ESMTP
C EHLO .*
S 250-fake.example
S 250-STARTTLS
S 250 AUTH PLAIN
C STARTTLS
S 220 2.0.0 Ready to start TLS
STARTTLS
C EHLO .*
S 250-fake.example
S 250 AUTH PLAIN
C AUTH PLAIN .*
S {FAIL_REPLY}
LOOP-UNTIL-QUIT
"""
