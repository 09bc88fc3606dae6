# SPDX-License-Identifier: GPL-3.0-or-later
# Copyright 2026 The Herald authors
"""What the heraldctl tests against the private Postfix share (the TAP
runner and the peer itself are in peer.py): a context with the peer's
password, a temporary tree, heraldctl's environment (settings in a key
file under that tree), every byte heraldctl printed, and the mail the peer
delivered.

A test subclasses PeerContext (SystemPeerContext for heraldctl-systest as
root), with its own folder's parent on sys.path:
    sys.path.insert(0, os.path.join(HERE, '..', 'postfix'))
    from peerctx import PeerContext
"""

import email
import email.policy
import glob
import json
import os
import secrets
import shutil
import subprocess
import tempfile
import time

from peer import Failure, check, start_peer, stop_peer


class PeerContext:
    def __init__(self, heraldctl, tmp_prefix):
        self.heraldctl = os.path.abspath(heraldctl)
        self.password = 'Hs-' + secrets.token_urlsafe(18)   # the mailbox's, on the peer
        self.tmp = tempfile.mkdtemp(prefix=tmp_prefix)
        self.base = None
        self.peer = {}
        self.offset = None
        self.captured = []   # stdout and stderr of every run: no secret may be in them
        self.env = dict(os.environ)
        self.env['LC_ALL'] = 'C.UTF-8'
        self.env['GSETTINGS_BACKEND'] = 'keyfile'
        self.env['XDG_CONFIG_HOME'] = os.path.join(self.tmp, 'config')
        self.env['XDG_STATE_HOME'] = os.path.join(self.tmp, 'state')
        self.env.pop('HERALD_PEER_PASSWORD', None)

    # -- the peer -------------------------------------------------------------

    def start_peer(self, offset=None):
        if self.base is None:
            self.base = tempfile.mkdtemp(prefix='herald-postfix-')
        self.peer, self.offset = start_peer(self.base, self.password, offset)

    def stop_peer(self):
        if self.base is not None:
            stop_peer(self.base)

    # -- heraldctl --------------------------------------------------------------

    def run_argv(self, argv, stdin=b'', env=None, timeout=60, **kw):
        """@argv run to its end (kw: subprocess.run's); its output is kept
        in captured and given as text in .out and .err."""
        p = subprocess.run(argv, input=stdin, capture_output=True,
                           env=self.env if env is None else env, timeout=timeout, **kw)
        self.captured += [p.stdout, p.stderr]
        p.out = p.stdout.decode('utf-8', 'replace')
        p.err = p.stderr.decode('utf-8', 'replace')
        return p

    def run(self, args, stdin=b'', timeout=60):
        return self.run_argv([self.heraldctl] + args, stdin, timeout=timeout)

    def ok(self, args, stdin=b'', status=0, **kw):
        p = self.run(args, stdin, **kw)
        check(p.returncode == status,
              f'{args}: exit {p.returncode}, expected {status}\nstdout: {p.out}\nstderr: {p.err}')
        return p

    def json(self, args, stdin=b'', status=0, **kw):
        p = self.ok(args + ['--json'], stdin, status, **kw)
        try:
            return json.loads(p.out)
        except ValueError as e:
            raise Failure(f'{args}: stdout is not JSON ({e}):\n{p.out}\nstderr: {p.err}')

    # -- delivered mail -----------------------------------------------------------

    def maildir_files(self):
        new = os.path.join(self.peer['MAILDIR'], 'new')
        return sorted(glob.glob(os.path.join(new, '*'))) if os.path.isdir(new) else []

    def delivered(self, tag=None):
        """(message, raw) of every delivered copy whose Subject holds tag."""
        out = []
        for path in self.maildir_files():
            with open(path, 'rb') as f:
                raw = f.read()
            msg = email.message_from_bytes(raw, policy=email.policy.default)
            if tag is None or tag in str(msg.get('Subject', '')):
                out.append((msg, raw))
        return out

    def wait_note(self):
        """More to say when mail did not arrive."""
        return ''

    def wait_for(self, tag, count, timeout=20, settle=0.3):
        """The copies of @tag once @count arrived; @settle seconds longer, so
        that a duplicate would show."""
        deadline = time.monotonic() + timeout
        found = []
        while time.monotonic() < deadline:
            found = self.delivered(tag)
            if len(found) >= count:
                if not settle:
                    return found
                time.sleep(settle)
                return self.delivered(tag)
            time.sleep(0.1)
        raise Failure(f'{len(found)} of {count} copies of “{tag}” arrived within {timeout} s'
                      + self.wait_note())


class SystemPeerContext(PeerContext):
    """heraldctl-systest as root: the system profile's tree under @root (its
    etc and var, emptied by reset()), and no session bus, so the system
    profile applies (as under cron and systemd services)."""

    def __init__(self, heraldctl, root, tmp_prefix):
        super().__init__(heraldctl, tmp_prefix)
        self.root = root
        self.etc = os.path.join(root, 'etc')
        self.var = os.path.join(root, 'var')
        self.state = os.path.join(self.var, 'lib', 'herald')
        self.spool = os.path.join(self.var, 'spool', 'herald')
        os.chmod(self.tmp, 0o755)
        self.env.pop('DBUS_SESSION_BUS_ADDRESS', None)
        self.env.pop('DISPLAY', None)
        self.env['XDG_RUNTIME_DIR'] = os.path.join(self.tmp, 'runtime')
        self.env['HOME'] = self.tmp

    def reset(self):
        shutil.rmtree(self.root, ignore_errors=True)
        os.makedirs(self.etc)
        os.makedirs(self.var)
        for d in (self.root, self.etc, self.var):
            os.chmod(d, 0o755)
