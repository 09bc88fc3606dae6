#!/usr/bin/python3
# SPDX-License-Identifier: GPL-3.0-or-later
# Copyright 2026 The Herald authors
"""send-bench.py HERALDCTL [--messages N] [--delay MS] [--runs N] [--no-msmtp]

Run by send-bench.sh (which provides the session bus and keyring).

1. A backlog after an outage: N alerts (default 200) queued with
   `sendmail -odq`, then one `heraldctl queue flush` through
   bench/delay-proxy.py (25 ms one-way) to a private Postfix (STARTTLS,
   AUTH PLAIN); against msmtp run once per message, one process and one
   connection each, as msmtpq flushes its queue. Wall time, connections and
   round trips (from the proxy), and the copies Postfix delivered.
   Then what part is the peer's: Postfix alone, the same way, is the same
   messages over one connection from a minimal client (Python, in this
   process: no queue, no process start, no bookkeeping) that pipelines
   MAIL, RCPT and BDAT LAST with the same window of 32 transactions as
   Herald's engine; and both again straight to Postfix, without the delay.
   The flush and the minimal client through the proxy alternate
   --flush-runs times (default 5); the table gives the median and min–max.
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


def pipelined_client(port, ca_file, password, messages, window=32):
    """The same messages as a flush, over one connection, pipelined as
    Herald's engine does it, with nothing else to do: the peer's floor.
    Returns (wall seconds, accepted)."""
    import smtplib
    import ssl

    t0 = time.monotonic()
    ctx = ssl.create_default_context(cafile=ca_file)
    s = smtplib.SMTP('localhost', port, timeout=120)
    s.ehlo()
    s.starttls(context=ctx)
    s.ehlo()
    assert s.has_extn('chunking') and s.has_extn('pipelining')
    s.login('alice', password)
    accepted = 0
    inflight = 0
    i = 0
    while i < len(messages) or inflight:
        out = b''
        while i < len(messages) and inflight < window:
            data = messages[i].encode()
            out += (f'MAIL FROM:<{FROM}> SIZE={len(data)}\r\nRCPT TO:<{TO}>\r\n'
                    f'BDAT {len(data)} LAST\r\n').encode() + data
            inflight += 1
            i += 1
        if out:
            s.sock.sendall(out)
        codes = [s.getreply()[0] for _ in range(3)]
        inflight -= 1
        accepted += codes[2] == 250
    s.quit()
    return time.monotonic() - t0, accepted


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
    ap.add_argument('--flush-runs', type=int, default=5,
                    help='flushes of the backlog (and minimal-client runs) to take the median of')
    ap.add_argument('--no-msmtp', action='store_true', help='leave msmtp out (it takes minutes)')
    ap.add_argument('--wrap', default='',
                    help='a command put before the first heraldctl queue flush, for profiling '
                         '(e.g. "strace -f -tt -o FILE")')
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

        def queue_backlog():
            for i in range(a.messages):
                r = herald(['send', '-odq', TO], alert.replace('backup\r\n\r\n',
                                                              f'backup #{i}\r\n\r\n').encode())
                assert r.returncode == 0, r.stderr

        def flush(wrap=()):
            before_mail = delivered()
            t0 = time.monotonic()
            if wrap:
                r = subprocess.run(list(wrap) + [a.heraldctl, 'queue', 'flush', '--json'], env=env,
                                   capture_output=True, timeout=600)
            else:
                r = herald(['queue', 'flush', '--json'])
            wall = time.monotonic() - t0
            assert r.returncode == 0, r.stderr
            return wall, json.loads(r.stdout), wait_delivered(before_mail + a.messages) - before_mail

        # --- 1. the backlog --------------------------------------------------
        if a.messages > 0:
            # Alternate heraldctl's flush and the minimal client through the
            # proxy, --flush-runs times each: one run is at the mercy of
            # whatever else the machine is doing, the median is not.
            runs = []
            for run in range(a.flush_runs):
                queue_backlog()
                before_conns = len(proxy.lines())
                herald_s, flushed, got = flush(a.wrap.split() if run == 0 else ())
                for _ in range(100):
                    conns = proxy.lines()[before_conns:]
                    if conns:
                        break
                    time.sleep(0.05)
                bodies = [alert.replace('backup\r\n\r\n', f'backup p{run}-{i}\r\n\r\n')
                          for i in range(a.messages)]
                before_conns, before_mail = len(proxy.lines()), delivered()
                alone_s, alone_ok = pipelined_client(proxy.port, peer['CA_FILE'], password, bodies)
                alone_got = wait_delivered(before_mail + a.messages) - before_mail
                for _ in range(100):   # the proxy writes its line once the client has closed
                    aconns = proxy.lines()[before_conns:]
                    if aconns:
                        break
                    time.sleep(0.05)
                runs.append(dict(herald_s=herald_s, flushed=flushed, got=got, conns=conns,
                                 alone_s=alone_s, alone_ok=alone_ok, alone_got=alone_got,
                                 aconns=aconns))
            flush_times = sorted(r['herald_s'] for r in runs)
            alone_times = sorted(r['alone_s'] for r in runs)
            # The figures of the run whose flush took the median time.
            mid = sorted(runs, key=lambda r: r['herald_s'])[(len(runs) - 1) // 2]
            flushed, got, conns = mid['flushed'], mid['got'], mid['conns']
            alone_ok, alone_got, aconns = mid['alone_ok'], mid['alone_got'], mid['aconns']
            herald_s, alone_s = statistics.median(flush_times), statistics.median(alone_times)
            herald_rt = sum(c['round_trips'] for c in conns)
            herald_conn_ms = sum(c['ms'] for c in conns)
            herald_think = sum(c['think_ms'] for c in conns)
            bodies = [alert.replace('backup\r\n\r\n', f'backup p{i}\r\n\r\n')
                      for i in range(a.messages)]
            alone_rt = sum(c['round_trips'] for c in aconns)
            alone_think = sum(c['think_ms'] for c in aconns)
            before_mail = delivered()
            direct_alone_s, _ = pipelined_client(int(peer['SUBMISSION_PORT']), peer['CA_FILE'],
                                                 password, bodies)
            wait_delivered(before_mail + a.messages)
            # Herald straight to Postfix as well.
            r = herald(['config', 'set', 'port', peer['SUBMISSION_PORT']])
            assert r.returncode == 0, r.stderr
            queue_backlog()
            direct_herald_s, _, _ = flush()
            r = herald(['config', 'set', 'port', str(proxy.port)])
            assert r.returncode == 0, r.stderr

            if a.no_msmtp:
                msmtp_s = float('nan')
                mconns, msmtp_rt, msmtp_got, failed = [], 0.0, 0, 0
            msmtprc = os.path.join(tmp, 'msmtprc')
            fd = os.open(msmtprc, os.O_WRONLY | os.O_CREAT, 0o600)
            os.write(fd, (f'account default\nhost 127.0.0.1\nport {proxy.port}\ntls on\n'
                          f'tls_starttls on\ntls_trust_file {peer["CA_FILE"]}\nauth plain\n'
                          f'user alice\npassword {password}\nfrom {FROM}\n').encode())
            os.close(fd)
            before_conns, before_mail = len(proxy.lines()), delivered()
            t0 = time.monotonic()
            failed = 0
            for i in range(0 if a.no_msmtp else a.messages):
                r = subprocess.run(['msmtp', '-C', msmtprc, '-a', 'default', TO],
                                   input=alert.encode(), capture_output=True, timeout=60)
                failed += r.returncode != 0
            if not a.no_msmtp:
                msmtp_s = time.monotonic() - t0
                msmtp_got = wait_delivered(before_mail + a.messages) - before_mail
                mconns = proxy.lines()[before_conns:]
                msmtp_rt = sum(c['round_trips'] for c in mconns)

            print(f'#### Flush of {a.messages} queued alerts, {a.delay} ms one-way delay '
                  f'(STARTTLS, AUTH PLAIN, Postfix)\n')
            def spread(times):
                return f'{times[0]:.2f}–{times[-1]:.2f}'
            print(f'Wall time: the median of {a.flush_runs} flushes of {a.messages} messages each '
                  f'(min–max beside it){"" if a.no_msmtp else "; msmtp once"}. The other columns '
                  f'are those of the median run.\n')
            print('| client | wall s | min–max s | connections | round trips | delivered | failed |')
            print('|---|---:|---:|---:|---:|---:|---:|')
            print(f'| **heraldctl queue flush** | {herald_s:.2f} | {spread(flush_times)} | '
                  f'{len(conns)} | {herald_rt:.1f} | '
                  f'{got} | {flushed["deferred"] + flushed["held"] + flushed["failed"]} |')
            if not a.no_msmtp:
                print(f'| msmtp, one process per message | {msmtp_s:.2f} | — | {len(mconns)} | '
                      f'{msmtp_rt:.1f} | {msmtp_got} | {failed} |')
            print(f'| Postfix alone: a minimal pipelined client, same window | {alone_s:.2f} | '
                  f'{spread(alone_times)} | {len(aconns)} | {alone_rt:.1f} | {alone_got} | '
                  f'{a.messages - alone_ok} |')
            print()
            print(f'Straight to Postfix (no delay): heraldctl queue flush {direct_herald_s:.2f} s, '
                  f'the minimal pipelined client {direct_alone_s:.2f} s. heraldctl\'s connection '
                  f'through the proxy lasted {herald_conn_ms / 1000:.2f} s of its '
                  f'{herald_s:.2f} s (the rest: start, reading the queue, exit); while '
                  f'connected, its own time on the critical path (the proxy\'s think time) was '
                  f'{herald_think / 1000:.2f} s, the minimal client\'s {alone_think / 1000:.2f} s.')
            print()

        # --- 2. one alert: send vs test --------------------------------------
        times = {'send': [], 'test': []}
        # Where the time goes, from the proxy: before the connection (start,
        # settings, keyring, message), the connection, and the client's own
        # time on the critical path while connected (think).
        parts = {k: {'before': [], 'conn': [], 'think': []} for k in times}
        for i in range(a.runs):
            for kind in (('send', 'test') if i % 2 == 0 else ('test', 'send')):
                if kind == 'send':
                    argv, stdin = ['send', TO], alert.encode()
                else:
                    # The same settings, the password from the keyring too.
                    argv, stdin = ['test', '--to', TO, '--subject', 'bench'], b''
                n_before = len(proxy.lines())
                t0 = time.monotonic()
                r = herald(argv, stdin)
                wall = (time.monotonic() - t0) * 1000
                times[kind].append(wall)
                assert r.returncode == 0, (kind, r.stderr)
                for _ in range(50):
                    conns = proxy.lines()[n_before:]
                    if conns:
                        break
                    time.sleep(0.02)
                if conns:
                    parts[kind]['conn'].append(conns[0]['ms'])
                    parts[kind]['think'].append(conns[0]['think_ms'])
                    parts[kind]['before'].append(wall - conns[0]['ms'])
        ms, mt = statistics.median(times['send']), statistics.median(times['test'])
        print(f'#### One alert, server up, {a.delay} ms one-way delay, {a.runs} runs each '
              f'(alternating)\n')
        print('| command | median ms | min–max ms | × heraldctl test |')
        print('|---|---:|---:|---:|')
        print(f'| heraldctl send | {ms:.0f} | {min(times["send"]):.0f}–{max(times["send"]):.0f} | '
              f'{ms / mt:.2f} |')
        print(f'| heraldctl test | {mt:.0f} | {min(times["test"]):.0f}–{max(times["test"]):.0f} | '
              f'1.00 |')
        print()
        print('| command | median ms before connecting and after closing | connected | '
              'its own time while connected (think) |')
        print('|---|---:|---:|---:|')
        for kind in ('send', 'test'):
            p = parts[kind]
            if p['conn']:
                print(f'| heraldctl {kind} | {statistics.median(p["before"]):.0f} | '
                      f'{statistics.median(p["conn"]):.0f} | {statistics.median(p["think"]):.1f} |')
    finally:
        if proxy:
            proxy.stop()
        subprocess.run([PEER, 'stop', base], capture_output=True, timeout=90)
        shutil.rmtree(base, ignore_errors=True)
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == '__main__':
    main()
