#!/usr/bin/python3
# SPDX-License-Identifier: GPL-3.0-or-later
# Copyright 2026 The Herald authors
"""send-bench.py HERALDCTL [--messages N] [--delay MS] [--runs N]

Run by send-bench.sh (which provides the session bus and keyring).

1. A backlog after an outage: N alerts (default 200) queued with
   `sendmail -odq`, then one `heraldctl queue flush` through
   bench/delay-proxy.py (25 ms one-way) to a private Postfix (STARTTLS,
   AUTH PLAIN); against msmtp run once per message, one process and one
   connection each, as msmtpq flushes its queue. Wall time, connections and
   round trips (from the proxy), and the copies Postfix delivered.
2. One alert when the server is up: `heraldctl send` against `heraldctl test`
   with the same settings, alternating, --runs times each (median).
"""

import argparse
import json
import os
import random
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
PEER = os.path.join(HERE, '..', 'tests', 'postfix', 'postfix-peer.sh')
FROM = 'alice@localhost'
TO = 'bob@example.com'


class Proxy:
    def __init__(self, upstream, delay, stats):
        self.stats = stats
        self.proc = subprocess.Popen([sys.executable, os.path.join(HERE, 'delay-proxy.py'),
                                      '--upstream', f'127.0.0.1:{upstream}', '--delay',
                                      str(delay), '--stats', stats],
                                     stdout=subprocess.PIPE, text=True)
        line = self.proc.stdout.readline().strip()
        if not line.startswith('PORT='):
            raise RuntimeError('delay-proxy did not start')
        self.port = int(line[5:])

    def lines(self):
        try:
            with open(self.stats) as f:
                return [json.loads(x) for x in f if x.strip()]
        except FileNotFoundError:
            return []

    def stop(self):
        self.proc.terminate()
        self.proc.wait(5)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('heraldctl')
    ap.add_argument('--messages', type=int, default=200)
    ap.add_argument('--delay', type=int, default=25)
    ap.add_argument('--runs', type=int, default=10)
    a = ap.parse_args()

    password = 'Hb-' + secrets.token_urlsafe(18)
    tmp = tempfile.mkdtemp(prefix='herald-sb-')
    os.chmod(tmp, 0o700)
    # Postfix's own users must reach its directory: not under the 0700 one.
    base = tempfile.mkdtemp(prefix='herald-postfix-')
    env = dict(os.environ, GSETTINGS_BACKEND='keyfile', LC_ALL='C.UTF-8',
               XDG_CONFIG_HOME=os.path.join(tmp, 'config'),
               XDG_STATE_HOME=os.path.join(tmp, 'state'))
    peer = {}
    proxy = None
    try:
        for _ in range(6):
            p = subprocess.run([PEER, 'start', base, str(random.randrange(1000, 40000))],
                               env=dict(os.environ, HERALD_PEER_PASSWORD=password),
                               capture_output=True, text=True, timeout=90)
            if p.returncode == 0:
                break
        if p.returncode != 0:
            raise RuntimeError(p.stderr)
        for line in p.stdout.splitlines():
            k, _, v = line.partition('=')
            peer[k] = v.strip("'")
        maildir = os.path.join(peer['MAILDIR'], 'new')
        proxy = Proxy(int(peer['SUBMISSION_PORT']), a.delay, os.path.join(tmp, 'stats'))

        def herald(args, stdin=b''):
            return subprocess.run([a.heraldctl] + args, input=stdin, env=env,
                                  capture_output=True, timeout=600)

        for k, v in (('server', 'localhost'), ('port', str(proxy.port)), ('security', 'starttls'),
                     ('auth', 'plain'), ('username', 'alice'), ('from', FROM), ('to', TO),
                     ('ca-file', peer['CA_FILE']), ('alerts-enabled', 'true')):
            r = herald(['config', 'set', k, v])
            assert r.returncode == 0, r.stderr
        r = herald(['config', 'password', '--stdin'], (password + '\n').encode())
        assert r.returncode == 0, r.stderr

        def delivered():
            return len(os.listdir(maildir)) if os.path.isdir(maildir) else 0

        def wait_delivered(n, timeout=120):
            deadline = time.monotonic() + timeout
            while delivered() < n and time.monotonic() < deadline:
                time.sleep(0.1)
            return delivered()

        alert = ('From: Cron Daemon <root@web1>\r\nTo: root\r\nSubject: Cron <root@web1> '
                 'backup\r\n\r\nbackup: 3 files could not be read\r\n')

        # --- 1. the backlog --------------------------------------------------
        if a.messages > 0:
            for i in range(a.messages):
                r = herald(['send', '-odq', TO], alert.replace('backup\r\n\r\n',
                                                              f'backup #{i}\r\n\r\n').encode())
                assert r.returncode == 0, r.stderr
            before_conns, before_mail = len(proxy.lines()), delivered()
            t0 = time.monotonic()
            r = herald(['queue', 'flush', '--json'])
            herald_s = time.monotonic() - t0
            flushed = json.loads(r.stdout)
            got = wait_delivered(before_mail + a.messages) - before_mail
            conns = proxy.lines()[before_conns:]
            herald_rt = sum(c['round_trips'] for c in conns)

            msmtprc = os.path.join(tmp, 'msmtprc')
            fd = os.open(msmtprc, os.O_WRONLY | os.O_CREAT, 0o600)
            os.write(fd, (f'account default\nhost 127.0.0.1\nport {proxy.port}\ntls on\n'
                          f'tls_starttls on\ntls_trust_file {peer["CA_FILE"]}\nauth plain\n'
                          f'user alice\npassword {password}\nfrom {FROM}\n').encode())
            os.close(fd)
            before_conns, before_mail = len(proxy.lines()), delivered()
            t0 = time.monotonic()
            failed = 0
            for i in range(a.messages):
                r = subprocess.run(['msmtp', '-C', msmtprc, '-a', 'default', TO],
                                   input=alert.encode(), capture_output=True, timeout=60)
                failed += r.returncode != 0
            msmtp_s = time.monotonic() - t0
            msmtp_got = wait_delivered(before_mail + a.messages) - before_mail
            mconns = proxy.lines()[before_conns:]
            msmtp_rt = sum(c['round_trips'] for c in mconns)

            print(f'#### Flush of {a.messages} queued alerts, {a.delay} ms one-way delay '
                  f'(STARTTLS, AUTH PLAIN, Postfix)\n')
            print('| client | wall s | connections | round trips | delivered | failed |')
            print('|---|---:|---:|---:|---:|---:|')
            print(f'| **heraldctl queue flush** | {herald_s:.2f} | {len(conns)} | {herald_rt:.1f} | '
                  f'{got} | {flushed["deferred"] + flushed["held"] + flushed["failed"]} |')
            print(f'| msmtp, one process per message | {msmtp_s:.2f} | {len(mconns)} | '
                  f'{msmtp_rt:.1f} | {msmtp_got} | {failed} |')
            print()

        # --- 2. one alert: send vs test --------------------------------------
        times = {'send': [], 'test': []}
        for i in range(a.runs):
            for kind in (('send', 'test') if i % 2 == 0 else ('test', 'send')):
                if kind == 'send':
                    argv, stdin = ['send', TO], alert.encode()
                else:
                    # The same settings, the password from the keyring too.
                    argv, stdin = ['test', '--to', TO, '--subject', 'bench'], b''
                t0 = time.monotonic()
                r = herald(argv, stdin)
                times[kind].append((time.monotonic() - t0) * 1000)
                assert r.returncode == 0, (kind, r.stderr)
        ms, mt = statistics.median(times['send']), statistics.median(times['test'])
        print(f'#### One alert, server up, {a.delay} ms one-way delay, {a.runs} runs each '
              f'(alternating)\n')
        print('| command | median ms | min–max ms | × heraldctl test |')
        print('|---|---:|---:|---:|')
        print(f'| heraldctl send | {ms:.0f} | {min(times["send"]):.0f}–{max(times["send"]):.0f} | '
              f'{ms / mt:.2f} |')
        print(f'| heraldctl test | {mt:.0f} | {min(times["test"]):.0f}–{max(times["test"]):.0f} | '
              f'1.00 |')
    finally:
        if proxy:
            proxy.stop()
        subprocess.run([PEER, 'stop', base], capture_output=True, timeout=90)
        shutil.rmtree(base, ignore_errors=True)
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == '__main__':
    main()
