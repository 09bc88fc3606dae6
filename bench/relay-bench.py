#!/usr/bin/python3
# SPDX-License-Identifier: GPL-3.0-or-later
# Copyright 2026 The Herald authors
"""The relay's speed (heraldctl relay), next to Postfix's smtpd -> cleanup.

On loopback only: starts a private Postfix (tests/postfix/postfix-peer.sh),
a user profile in a temporary directory that delivers to it, and
heraldctl relay. Then, for each server (the relay, and Postfix's
plain-text port 10025+offset, where smtpd answers 250 once cleanup has
written and fsync'ed the queue file):

  - accepted messages per second from CLIENTS concurrent clients, each
    sending MESSAGES messages over one connection (pipelined envelope);
  - the time from the client's final dot to the 250 (median, p95, p99):
    for the relay that includes herald_queue_add's fsyncs;
  - the same latency while SLOW connections sit idle-ish (a slowloris
    crowd dripping one byte at a time): the relay runs each session on its
    own thread, so a slow client must not delay the others. The default 60
    stays below Postfix's default_process_limit (100 smtpd processes) with
    the 20 clients: more would make Postfix's clients wait for a process,
    which measures the limit, not the path.

Prints a table and writes bench/results/relay-latest.md.

Usage: bench/relay-bench.py [--build DIR] [--clients 20] [--messages 50] [--slow 60]
"""

import argparse
import os
import secrets
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import traceback

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(TOP, 'tests', 'postfix'))
from peer import start_peer, stop_peer  # noqa: E402


class Client:
    def __init__(self, port):
        self.sock = socket.create_connection(('127.0.0.1', port), timeout=60)
        self.buf = b''

    def reply(self):
        while True:
            while b'\n' not in self.buf:
                chunk = self.sock.recv(65536)
                if not chunk:
                    raise EOFError('connection closed')
                self.buf += chunk
            line, _, self.buf = self.buf.partition(b'\n')
            if len(line) < 4 or line[3:4] != b'-':
                return line.decode('ascii', 'replace').rstrip('\r')


def body(tag, size):
    text = (f'From: app@apps.lan\r\nTo: bench@example.org\r\nSubject: {tag}\r\n\r\n' +
            ('Alert line for the benchmark, seventy characters or so of text.\r\n' *
             max(1, size // 66)))
    return text.encode()


def run_load(port, clients, messages, size):
    """(messages/s, [latencies in s]) for clients x messages."""
    latencies = []
    errors = []
    lock = threading.Lock()
    barrier = threading.Barrier(clients + 1)

    def worker(n):
        try:
            c = Client(port)
            c.reply()
            c.sock.sendall(b'EHLO bench.lan\r\n')
            c.reply()
            barrier.wait()
            mine = []
            for i in range(messages):
                c.sock.sendall(b'MAIL FROM:<app@apps.lan>\r\nRCPT TO:<bench@example.org>\r\n'
                               b'DATA\r\n')
                replies = [c.reply() for _ in range(3)]
                if not replies[2].startswith('354'):
                    raise RuntimeError(f'envelope refused: {replies}')
                c.sock.sendall(body(f'bench-{n}-{i}', size))
                started = time.perf_counter()
                c.sock.sendall(b'.\r\n')
                r = c.reply()
                mine.append(time.perf_counter() - started)
                if not r.startswith('250'):
                    raise RuntimeError(r)
            c.sock.sendall(b'QUIT\r\n')
            c.sock.close()
            with lock:
                latencies.extend(mine)
        except threading.BrokenBarrierError:
            return  # another client failed first: its error is the one to show
        except Exception as e:  # reported, never hidden
            errors.append(f'client {n}: {type(e).__name__}: {e}\n{traceback.format_exc()}')
            try:
                barrier.abort()
            except threading.BrokenBarrierError:
                pass

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(clients)]
    for t in threads:
        t.start()
    try:
        barrier.wait(timeout=60)
    except threading.BrokenBarrierError:
        # A client failed before the start (and aborted the barrier), or
        # one did not connect within 60 s: its own error says which.
        barrier.abort()
        for t in threads:
            t.join()
        raise RuntimeError('a client failed before the start: ' +
                           ('; '.join(errors[:3]) or 'none connected within 60 s'))
    started = time.perf_counter()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - started
    if errors:
        raise RuntimeError('; '.join(errors[:3]))
    return len(latencies) / elapsed, latencies


def slow_crowd(port, n, stop):
    socks = []
    for _ in range(n):
        try:
            s = socket.create_connection(('127.0.0.1', port), timeout=10)
            socks.append(s)
        except OSError:
            break

    def drip():
        while not stop.is_set():
            for s in socks:
                try:
                    s.send(b'N')
                except OSError:
                    pass
            time.sleep(1)
        for s in socks:
            s.close()

    t = threading.Thread(target=drip, daemon=True)
    t.start()
    return t, len(socks)


def pct(values, p):
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))]


def rss_kib(pid):
    with open(f'/proc/{pid}/status') as f:
        for line in f:
            if line.startswith('VmRSS:'):
                return int(line.split()[1])
    return 0


def threads_of(pid):
    return len(os.listdir(f'/proc/{pid}/task'))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--build', default=os.path.join(TOP, '_build'))
    ap.add_argument('--clients', type=int, default=20)
    ap.add_argument('--messages', type=int, default=50)
    ap.add_argument('--size', type=int, default=2000)
    ap.add_argument('--slow', type=int, default=60)
    args = ap.parse_args()

    heraldctl = os.path.join(args.build, 'src', 'cli', 'heraldctl')
    tmp = tempfile.mkdtemp(prefix='herald-relay-bench-')
    # Postfix's own users (postfix, the delivery agent) must reach its
    # directories below: mkdtemp's 0700 would stop them.
    os.chmod(tmp, 0o755)
    base = os.path.join(tmp, 'postfix')
    os.makedirs(base)
    os.chmod(base, 0o755)
    password = secrets.token_urlsafe(18)
    env = dict(os.environ, GSETTINGS_BACKEND='keyfile', LC_ALL='C.UTF-8',
               GSETTINGS_SCHEMA_DIR=os.path.join(args.build, 'data'),
               XDG_CONFIG_HOME=os.path.join(tmp, 'config'),
               XDG_STATE_HOME=os.path.join(tmp, 'state'))
    peer = {}
    relay = None
    rows = []
    try:
        peer, _ = start_peer(base, password)

        # The profile delivers through Postfix's plain port (no keyring
        # needed): the relay's delivery runs during the measurement, as it
        # would in use.
        for k, v in (('server', '127.0.0.1'), ('port', peer['PLAIN_PORT']), ('security', 'none'),
                     ('auth', 'none'), ('from', 'alerts@localhost'),
                     ('to', 'admin@example.com'), ('alerts-enabled', 'true'),
                     ('relay-max-connections', '1000'),
                     ('relay-max-connections-per-address', '1000')):
            p = subprocess.run([heraldctl, 'config', 'set', k, v], env=env, capture_output=True,
                               text=True)
            if p.returncode != 0:
                sys.exit(f'heraldctl config set {k} {v}: {p.stderr}')
        relay = subprocess.Popen([heraldctl, 'relay', '--listen', '127.0.0.1:0'], env=env,
                                 stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        port = None
        for line in relay.stdout:
            if 'listening on 127.0.0.1:' in line:
                port = int(line.rsplit(':', 1)[1])
                break
        threading.Thread(target=lambda: [None for _ in relay.stdout], daemon=True).start()

        # Postfix first: the relay's deliveries (to the same Postfix) run
        # after its own measurement, and must not load Postfix's.
        servers = [('Postfix smtpd -> cleanup (plain port)', int(peer['PLAIN_PORT'])),
                   ('Herald relay (250 after the queue files are fsync\'ed)', port)]
        for name, p_ in servers:
            run_load(p_, 4, 5, args.size)   # warm up
            rate, lat = run_load(p_, args.clients, args.messages, args.size)
            stop = threading.Event()
            dripper, n_slow = slow_crowd(p_, args.slow, stop)
            time.sleep(1)
            rate_slow, lat_slow = run_load(p_, args.clients, max(5, args.messages // 5), args.size)
            extra = ''
            if p_ == port:
                extra = (f'{threads_of(relay.pid)} threads, {rss_kib(relay.pid) // 1024} MiB '
                         f'RSS with {n_slow} slow connections')
            stop.set()
            dripper.join()
            rows.append((name, rate, statistics.median(lat) * 1000, pct(lat, 95) * 1000,
                         pct(lat, 99) * 1000, statistics.median(lat_slow) * 1000,
                         pct(lat_slow, 99) * 1000, n_slow, extra))
    finally:
        if relay is not None:
            relay.send_signal(signal.SIGTERM)
            try:
                relay.wait(timeout=30)
            except subprocess.TimeoutExpired:
                relay.kill()
        if peer:
            stop_peer(base)
        shutil.rmtree(tmp, ignore_errors=True)

    head = (f'{args.clients} concurrent clients x {args.messages} messages of ~{args.size} bytes, '
            f'loopback, {os.cpu_count()} CPUs')
    lines = [head, '',
             '| server | accepted msg/s | dot->250 median ms | p95 ms | p99 ms | '
             'median ms with slow crowd | p99 ms with slow crowd | slow connections | notes |',
             '|---|---|---|---|---|---|---|---|---|']
    for r in rows:
        lines.append(f'| {r[0]} | {r[1]:.0f} | {r[2]:.1f} | {r[3]:.1f} | {r[4]:.1f} | '
                     f'{r[5]:.1f} | {r[6]:.1f} | {r[7]} | {r[8]} |')
    text = '\n'.join(lines) + '\n'
    print(text)
    os.makedirs(os.path.join(HERE, 'results'), exist_ok=True)
    with open(os.path.join(HERE, 'results', 'relay-latest.md'), 'w') as f:
        f.write(text)


if __name__ == '__main__':
    main()
