# SPDX-License-Identifier: GPL-3.0-or-later
# Copyright 2026 The Herald authors
"""What the Python tests against the private Postfix share: the TAP runner
and starting and stopping the peer (postfix-peer.sh).

A test imports it with its own folder's parent on sys.path:
    sys.path.insert(0, os.path.join(HERE, '..', 'postfix'))
    from peer import Failure, Tap, check, start_peer, stop_peer
"""

import os
import random
import subprocess
import sys
import time

PEER_SCRIPT = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'postfix-peer.sh')


class Failure(Exception):
    pass


def check(condition, message):
    if not condition:
        raise Failure(message)


class Tap:
    def __init__(self):
        self.n = 0
        self.failed = 0

    def run(self, name, func):
        self.n += 1
        started = time.monotonic()
        try:
            func()
        except Failure as e:
            self.failed += 1
            print(f'not ok {self.n} - {name}')
            for line in str(e).splitlines():
                print(f'# {line}')
        except Exception as e:  # an unexpected error is a failure too, never a skip
            self.failed += 1
            print(f'not ok {self.n} - {name}')
            print(f'# unexpected {type(e).__name__}: {e}')
        else:
            print(f'ok {self.n} - {name} ({time.monotonic() - started:.1f} s)')
        sys.stdout.flush()

    def finish(self):
        print(f'1..{self.n}')
        sys.stdout.flush()


def start_peer(base, password, offset=None, attempts=8, timeout=90):
    """Starts the peer in @base (its owner.pid written first) with the SASL
    user's @password; @offset places its ports (another random one after four
    failed tries, or from the start when None). Returns (the variables it
    printed, as a dict; the offset used)."""
    pid_file = os.path.join(base, 'owner.pid')
    if not os.path.exists(pid_file):
        with open(pid_file, 'w') as f:
            f.write(f'{os.getpid()}\n')
    env = dict(os.environ, HERALD_PEER_PASSWORD=password)
    last = ''
    for attempt in range(attempts):
        off = offset if offset is not None and attempt < 4 else random.randrange(1000, 40000)
        p = subprocess.run([PEER_SCRIPT, 'start', base, str(off)], env=env,
                           capture_output=True, text=True, timeout=timeout)
        if p.returncode == 0:
            peer = {}
            for line in p.stdout.splitlines():
                key, _, value = line.partition('=')
                peer[key] = value.strip("'")
            return peer, off
        # A port taken by another test's peer, or a start that lost a race
        # with one under load (seen once with an empty stderr): another
        # offset, a few times, then the real failure.
        last = (p.stdout + p.stderr).strip() or f'exit status {p.returncode}'
        # A start that gave up waiting for a slow master under load can leave
        # that master running once it comes up; every later try would then
        # stop at "an instance already runs". Stop whatever is in @base first.
        stop_peer(base)
        time.sleep(0.5)
    raise Failure('postfix-peer.sh start failed:\n' + last)


def stop_peer(base, timeout=90):
    """Stops the peer in @base; returns the finished process."""
    return subprocess.run([PEER_SCRIPT, 'stop', base], capture_output=True, text=True,
                          timeout=timeout)
