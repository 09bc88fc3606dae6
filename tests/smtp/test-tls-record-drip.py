#!/usr/bin/python3
# SPDX-License-Identifier: GPL-3.0-or-later
# Copyright 2026 The Herald authors
"""The reply timeout bounds a whole reply also when the server drips the bytes
of ONE TLS record (TAP).

One read of a TLS stream is as many socket reads as it takes to complete a
record, so a per-read socket timeout alone lets a server that sends a record
a byte every 0.4 s stretch a reply far past the timeout. A small TLS server
(Python's ssl with memory BIOs, on 127.0.0.1) greets, then drips its reply to
EHLO a byte at a time; `heraldctl test --timeout 2` must give up about 2 s
after sending EHLO, with a timeout, for implicit TLS and for STARTTLS.

Usage: test-tls-record-drip.py HERALDCTL
"""

import os
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import time

TIMEOUT = 2          # heraldctl --timeout
DRIP = 0.4           # seconds between two bytes of the dripped record
# The reply is 29 bytes of text in a TLS 1.3 record of about 50 bytes: about
# 20 s when dripped, ten times the timeout.
REPLY = b"250 drip.test Hello, slowly\r\n"

tap_n = 0
failed = 0


def ok(cond, what):
    global tap_n, failed
    tap_n += 1
    if not cond:
        failed += 1
    print("%sok %d - %s" % ("" if cond else "not ", tap_n, what), flush=True)


class DripServer(threading.Thread):
    """Serves one connection: implicit TLS, or STARTTLS after a plain EHLO."""

    def __init__(self, certdir, starttls):
        super().__init__(daemon=True)
        self.ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.ctx.load_cert_chain(os.path.join(certdir, "localhost.pem"),
                                 os.path.join(certdir, "localhost-key.pem"))
        self.starttls = starttls
        self.listener = socket.socket()
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(1)
        self.port = self.listener.getsockname()[1]
        self.ehlo_at = None     # monotonic time the TLS EHLO arrived
        self.error = None

    def run(self):
        try:
            self.serve()
        except (OSError, ssl.SSLError) as e:
            # The client giving up mid-drip resets the connection: expected.
            self.error = e
        finally:
            self.listener.close()

    def serve(self):
        self.listener.settimeout(30)
        s, _ = self.listener.accept()
        s.settimeout(30)
        with s:
            plain = s.makefile("rb")
            if self.starttls:
                s.sendall(b"220 drip.test ESMTP\r\n")
                plain.readline()                                  # EHLO
                s.sendall(b"250-drip.test\r\n250-PIPELINING\r\n250 STARTTLS\r\n")
                plain.readline()                                  # STARTTLS
                s.sendall(b"220 2.0.0 Ready to start TLS\r\n")
            inc, out = ssl.MemoryBIO(), ssl.MemoryBIO()
            tls = self.ctx.wrap_bio(inc, out, server_side=True)

            def flush():
                data = out.read()
                if data:
                    s.sendall(data)

            def feed():
                data = s.recv(65536)
                if not data:
                    raise OSError("client closed")
                inc.write(data)

            while True:
                try:
                    tls.do_handshake()
                    break
                except ssl.SSLWantReadError:
                    flush()
                    feed()
            flush()

            def read_line():
                buf = b""
                while b"\n" not in buf:
                    try:
                        buf += tls.read(4096)
                    except ssl.SSLWantReadError:
                        feed()
                return buf

            if not self.starttls:
                tls.write(b"220 drip.test ESMTP\r\n")
                flush()
            read_line()                                           # EHLO over TLS
            self.ehlo_at = time.monotonic()
            tls.write(REPLY)
            record = out.read()
            for i in range(len(record)):
                s.sendall(record[i:i + 1])
                time.sleep(DRIP)


def run_case(heraldctl, certdir, starttls):
    mode = "starttls" if starttls else "tls"
    server = DripServer(certdir, starttls)
    server.start()
    env = dict(os.environ, LC_ALL="C.UTF-8", LANGUAGE="")
    argv = [heraldctl, "test", "--server", "127.0.0.1", "--port", str(server.port),
            "--security", mode, "--auth", "none", "--from", "alice@example.test",
            "--to", "bob@example.test", "--ca-file", os.path.join(certdir, "ca.pem"),
            "--timeout", str(TIMEOUT), "--json"]
    start = time.monotonic()
    p = subprocess.run(argv, capture_output=True, text=True, env=env, timeout=60)
    end = time.monotonic()
    ok(p.returncode == 1, "%s: heraldctl reports a failure (exit %d)" % (mode, p.returncode))
    ok(server.ehlo_at is not None, "%s: the server got EHLO over TLS and started the drip" % mode)
    if server.ehlo_at is not None:
        after = end - server.ehlo_at
        # The whole reply gets TIMEOUT seconds; a second more for rounding,
        # process exit and a loaded machine. Without a whole-reply deadline
        # this takes about 20 s.
        ok(after < TIMEOUT + 1.5,
           "%s: it gave up %.1f s after EHLO (reply timeout %d s)" % (mode, after, TIMEOUT))
        ok(after >= TIMEOUT - 0.2,
           "%s: it waited the whole timeout, not less (%.1f s)" % (mode, after))
    else:
        ok(False, "%s: it gave up in time (no EHLO seen; %.1f s in all)" % (mode, end - start))
        ok(False, "%s: it waited the whole timeout" % mode)
    ok('"timed-out"' in p.stdout or "within %d seconds" % TIMEOUT in p.stdout,
       "%s: the verdict is a timeout" % mode)
    server.join(30)


def main():
    if len(sys.argv) != 2:
        print("usage: test-tls-record-drip.py HERALDCTL", file=sys.stderr)
        return 2
    heraldctl = os.path.abspath(sys.argv[1])
    print("1..10", flush=True)
    src = os.environ.get("HERALD_SOURCE_DIR", os.path.join(os.path.dirname(__file__), "..", ".."))
    with tempfile.TemporaryDirectory(prefix="herald-drip.") as certdir:
        subprocess.run([os.path.join(src, "tests", "fixtures", "make-test-certs.sh"), certdir],
                       check=True, capture_output=True)
        run_case(heraldctl, certdir, starttls=False)
        run_case(heraldctl, certdir, starttls=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
