#!/usr/bin/python3
# SPDX-License-Identifier: GPL-3.0-or-later
# Copyright 2026 The Herald authors
"""heraldctl relay --system (TAP): the relay as herald-relay.service runs it.

As root, with heraldctl-systest (the system profile's directories in the
build tree, tests/system/root). `relay --system --prepare` runs as root (the
unit's ExecStartPre=+); the relay itself runs as an unprivileged uid without
a passwd entry (setpriv --reuid), once with a listening socket handed over
the way systemd does (fd 3, LISTEN_FDS, LISTEN_PID) and once binding its
own address. What devices submit lands in the system maildrop, and root's
runner delivers it to the real Postfix fixture. The relay's process can
read none of root's secrets.

Usage: test-relay-system.py HERALDCTL_SYSTEST ROOT
"""

import hashlib
import json
import os
import secrets
import shutil
import smtplib
import socket
import ssl
import stat
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, '..', 'postfix'))
from peer import Failure, Tap, check, start_peer, stop_peer  # noqa: E402
from peerctx import SystemPeerContext  # noqa: E402

RELAY_UID = 64993
RELAY_GID = 64993
DEVICE = '127.0.0.2'


class Context(SystemPeerContext):
    def __init__(self, heraldctl, root):
        super().__init__(heraldctl, root, 'herald-relay-system-')
        self.relay_dir = os.path.join(self.var, 'lib', 'herald-relay')
        self.maildrop = os.path.join(self.spool, 'maildrop')
        self.device_password = 'Dev-' + secrets.token_urlsafe(12)
        self.env['HERALD_TEST_RELAY_ACCOUNT'] = f'{RELAY_UID}:{RELAY_GID}'
        for key in [k for k in self.env if k.startswith('LISTEN_')]:
            del self.env[key]

    def run(self, args, stdin=b'', timeout=60):
        return self.run_argv([self.heraldctl] + args, stdin, timeout=timeout, cwd='/')

    def setup(self):
        for key, value in (('server', 'localhost'), ('port', self.peer['SUBMISSION_PORT']),
                           ('security', 'starttls'), ('auth', 'plain'), ('username', 'alice'),
                           ('from', 'alice@localhost'), ('to', 'admin@example.com'),
                           ('ca-file', self.peer['CA_FILE']), ('timeout', '20'),
                           ('alerts-enabled', 'true'),
                           ('relay-allow-unauthenticated', '127.0.0.1/32')):
            self.ok(['config', '--system', 'set', key, value])
        self.ok(['config', '--system', 'password', '--stdin'],
                stdin=(self.password + '\n').encode())
        self.ok(['relay', '--system', 'user', 'add', 'printer', '--password-stdin'],
                stdin=(self.device_password + '\n').encode())

    def wait_for(self, tag, count, timeout=30):
        """The messages (no raw bytes), as soon as @count arrived."""
        return [msg for msg, _ in super().wait_for(tag, count, timeout, settle=0)]


def as_relay_user():
    os.setgroups([])
    os.setgid(RELAY_GID)
    os.setuid(RELAY_UID)


class Relay:
    """heraldctl relay --system as RELAY_UID (setpriv), with a socket passed
    the systemd way (@sock) or binding --listen 127.0.0.1:0."""

    def __init__(self, ctx, sock=None):
        self.ctx = ctx
        env = dict(ctx.env, HOME='/nonexistent', XDG_CONFIG_HOME='/nonexistent/config',
                   XDG_STATE_HOME='/nonexistent/state')
        args = ['setpriv', f'--reuid={RELAY_UID}', f'--regid={RELAY_GID}', '--clear-groups',
                ctx.heraldctl, 'relay', '--system']
        if sock is None:
            args += ['--listen', '127.0.0.1:0']
            preexec = None
        else:
            fd = sock.fileno()

            def preexec():
                # What systemd does: the sockets from fd 3 on, and the
                # variables naming this process (setpriv execs in place).
                if fd == 3:
                    os.set_inheritable(3, True)
                else:
                    os.dup2(fd, 3)
                os.environ['LISTEN_FDS'] = '1'
                os.environ['LISTEN_PID'] = str(os.getpid())
            os.environ.pop('LISTEN_FDS', None)
        self.lines = []
        saved = dict(os.environ)
        if sock is not None:
            # The child inherits os.environ (env=None), which preexec extends.
            os.environ.clear()
            os.environ.update(env)
        try:
            self.proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                         env=None if sock is not None else env,
                                         preexec_fn=preexec, close_fds=sock is None, cwd='/')
        finally:
            if sock is not None:
                os.environ.clear()
                os.environ.update(saved)
        self.port = sock.getsockname()[1] if sock is not None else None
        self.fingerprint = None
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            line = self.proc.stdout.readline().decode('utf-8', 'replace')
            if not line:
                break
            self.lines.append(line)
            if sock is None and 'listening on 127.0.0.1:' in line:
                self.port = int(line.rsplit(':', 1)[1])
            if line.startswith('SHA-256 fingerprint: '):
                self.fingerprint = line.split(': ', 1)[1].strip()
            if line.startswith('Handing messages to the Herald service'):
                break
        threading.Thread(target=self._drain, daemon=True).start()
        if self.port is None or not self.lines or \
                not self.lines[-1].startswith('Handing messages'):
            err = self.stop()
            raise Failure(f'the system relay did not start (exit {self.proc.returncode}):\n' +
                          ''.join(self.lines) + err)

    def _drain(self):
        for raw in self.proc.stdout:
            self.lines.append(raw.decode('utf-8', 'replace'))

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        err = self.proc.stderr.read()
        self.ctx.captured += [''.join(self.lines).encode(), err]
        return err.decode('utf-8', 'replace')


def message(tag, sender='printer@example.net'):
    return (f'From: Office Printer <{sender}>\r\nTo: admin@example.com\r\n'
            f'Subject: {tag}\r\n\r\nScan complete.\r\n').encode()


def maildrop_files(ctx):
    return sorted(f for f in os.listdir(ctx.maildrop))


def listening_socket():
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(('127.0.0.1', 0))
    sock.listen(16)
    return sock


def t_prepare(ctx):
    ctx.reset()
    ctx.setup()
    # Only root prepares; the account must exist.
    p = subprocess.run(['setpriv', f'--reuid={RELAY_UID}', f'--regid={RELAY_GID}',
                        '--clear-groups', ctx.heraldctl, 'relay', '--system', '--prepare'],
                       env=ctx.env, capture_output=True, text=True, timeout=60, cwd='/')
    check(p.returncode == 77, f'--prepare as uid {RELAY_UID}: exit {p.returncode} {p.stderr}')
    ctx.ok(['relay', '--prepare'], status=64)
    p = ctx.ok(['relay', '--system', '--prepare'])
    check('SHA-256 fingerprint: ' in p.out, p.out)
    st = os.stat(ctx.relay_dir)
    check(st.st_uid == 0 and st.st_gid == RELAY_GID and stat.S_IMODE(st.st_mode) == 0o2750,
          f'relay dir {st.st_uid}:{st.st_gid} {oct(st.st_mode)}')
    for name in ('users', 'key.pem'):
        st = os.stat(os.path.join(ctx.relay_dir, name))
        check(st.st_uid == 0 and st.st_gid == RELAY_GID and stat.S_IMODE(st.st_mode) == 0o640,
              f'{name}: {st.st_uid}:{st.st_gid} {oct(st.st_mode)}')
    st = os.stat(os.path.join(ctx.relay_dir, 'log'))
    check(st.st_uid == RELAY_UID and stat.S_IMODE(st.st_mode) == 0o750, f'log {oct(st.st_mode)}')
    # A device user added afterwards keeps the relay's group (setgid directory).
    ctx.ok(['relay', '--system', 'user', 'add', 'scanner', '--password-stdin'],
           stdin=b'scanner-password-1\n')
    st = os.stat(os.path.join(ctx.relay_dir, 'users'))
    check(st.st_gid == RELAY_GID and stat.S_IMODE(st.st_mode) == 0o640, oct(st.st_mode))
    p = ctx.ok(['relay', '--system', 'user', 'list'])
    check(p.out.split() == ['printer', 'scanner'], p.out)
    with open(os.path.join(ctx.relay_dir, 'users'), 'rb') as f:
        check(ctx.device_password.encode() not in f.read(), 'a device password in plain text')
    # Preparing twice changes nothing (the certificate stays).
    again = ctx.ok(['relay', '--system', '--prepare']).out
    check('(created now)' not in again and again.count('SHA-256') == 1, again)
    # Root never runs the relay itself.
    p = ctx.ok(['relay', '--system', '--listen', '127.0.0.1:0'], status=77)
    check('herald-relay' in p.err, p.err)


def deliver_and_check(ctx, relay, tag, submitted, devices=None):
    """Root's runner takes the maildrop and delivers to Postfix. @devices:
    subject → (client address, device user) each entry must record."""
    files = maildrop_files(ctx)
    check(len(files) == submitted, f'maildrop: {files}')
    for name in files:
        st = os.stat(os.path.join(ctx.maildrop, name))
        check(st.st_uid == RELAY_UID and st.st_mode & 0o100, f'{name}: {oct(st.st_mode)}')
    p = ctx.ok(['queue', '--system', 'list', '--json'])
    msgs = json.loads(p.out)['messages']
    check(len(msgs) == submitted and all(m['submitter']['uid'] == RELAY_UID for m in msgs), msgs)
    for subject, (client, device) in (devices or {}).items():
        mine = [m for m in msgs if m['subject'] == subject]
        check(len(mine) == 1 and mine[0]['client_address'] == client and
              mine[0]['device_user'] == device, f'{subject}: expected {client}, {device}: {mine}')
        shown = ctx.ok(['queue', '--system', 'show', mine[0]['id']]).out
        check(f'Relayed from: {client}\n' in shown and
              (device is None) == ('Device user:' not in shown) and
              (device is None or f'Device user:  {device} ' in shown), shown)
    data = json.loads(ctx.ok(['queue', '--system', 'flush', '--json']).out)
    check(data['delivered'] == submitted, data)
    return ctx.wait_for(tag, submitted)


def t_socket_activation(ctx):
    ctx.reset()
    ctx.setup()
    ctx.ok(['relay', '--system', '--prepare'])
    sock = listening_socket()
    relay = Relay(ctx, sock)
    try:
        check(any('the sockets systemd passed' in line for line in relay.lines), relay.lines)
        status = open(f'/proc/{relay.proc.pid}/status').read()
        uids = [line.split()[1:] for line in status.splitlines() if line.startswith('Uid:')][0]
        check(uids == [str(RELAY_UID)] * 4, f'relay runs with uids {uids}')
        tag = 'relay-sys-' + secrets.token_hex(4)
        # This computer (allowed without logging in).
        with smtplib.SMTP('127.0.0.1', relay.port, timeout=30) as c:
            c.ehlo('admin-box')
            c.sendmail('printer@example.net', ['admin@example.com'], message(tag + '-a'))
        # A LAN device: STARTTLS, then AUTH with its device user.
        tls = ssl.create_default_context()
        tls.check_hostname = False
        tls.verify_mode = ssl.CERT_NONE  # a device pins the fingerprint; checked below
        with smtplib.SMTP('127.0.0.1', relay.port, timeout=30,
                          source_address=(DEVICE, 0)) as c:
            c.ehlo('printer')
            code, _ = c.docmd('MAIL', 'FROM:<printer@example.net>')
            check(code == 530, f'a LAN device without AUTH got {code} at MAIL')
            c.rset()
            c.starttls(context=tls)
            der = c.sock.getpeercert(binary_form=True)
            fp = ':'.join(f'{b:02X}' for b in hashlib.sha256(der).digest())
            check(fp == relay.fingerprint, f'{fp} != {relay.fingerprint}')
            c.ehlo('printer')
            c.login('printer', ctx.device_password)
            refused = c.sendmail('printer@example.net', ['admin@example.com'],
                                 message(tag + '-b'))
            check(refused == {}, refused)
        copies = deliver_and_check(ctx, relay, tag, 2, {tag + '-a': ('127.0.0.1', None),
                                                        tag + '-b': (DEVICE, 'printer')})
        for msg in copies:
            check('alice@localhost' in str(msg['From']), msg['From'])
        log = os.path.join(ctx.relay_dir, 'log', 'messages.log')
        check(os.stat(log).st_uid == RELAY_UID, 'the relay did not write its log')
        with open(log) as f:
            text = f.read()
        check(DEVICE in text and 'printer' in text, text)
        # The relay's process can read none of root's secrets, nor the queue.
        for path in [ctx.state, os.path.join(ctx.spool, 'queue')] + \
                [os.path.join(ctx.state, f) for f in os.listdir(ctx.state)]:
            out = subprocess.run(
                ['setpriv', f'--reuid={RELAY_UID}', f'--regid={RELAY_GID}', '--clear-groups',
                 sys.executable, '-c',
                 f'import os\ntry:\n open({path!r}, "rb").read() if os.path.isfile({path!r}) '
                 f'else os.listdir({path!r}); print("read")\nexcept PermissionError: '
                 f'print("denied")'], capture_output=True, text=True, timeout=30).stdout.strip()
            check(out == 'denied', f'the relay user reading {path}: {out}')
        secret_files = [f for f in os.listdir(ctx.state)]
        check(secret_files, 'no secret stored: the check above proves nothing')
        # Nor could it change its device users.
        out = subprocess.run(
            ['setpriv', f'--reuid={RELAY_UID}', f'--regid={RELAY_GID}', '--clear-groups',
             sys.executable, '-c',
             f'try:\n open({os.path.join(ctx.relay_dir, "users")!r}, "a"); print("write")\n'
             f'except PermissionError: print("denied")'],
            capture_output=True, text=True, timeout=30).stdout.strip()
        check(out == 'denied', f'the relay user can change its device users: {out}')
    finally:
        err = relay.stop()
        sock.close()
    check('CRITICAL' not in err, err)


def drop_as(ctx, uid, envelope, tag):
    """A complete maildrop file written by @uid, as heraldctl send or the
    relay leave one (mode 0700 is the "complete" mark)."""
    path = os.path.join(ctx.maildrop, secrets.token_hex(16))
    with open(path, 'wb') as f:
        f.write(b'HERALD-MAILDROP 1\n' + envelope + b'rcpt admin@example.com\n\n' +
                message(tag))
    os.chown(path, uid, uid)
    os.chmod(path, 0o700)


def t_forged_device(ctx):
    ctx.reset()
    ctx.setup()
    ctx.ok(['relay', '--system', '--prepare'])
    forged = b'client 192.0.2.66\ndevice printer\n'
    tag = 'relay-forged-' + secrets.token_hex(4)
    # Any other local user: the message is taken, the device lines are not.
    drop_as(ctx, RELAY_UID + 1, forged, tag + '-user')
    # The relay's own file: believed (the file the relay writes has the same form).
    drop_as(ctx, RELAY_UID, forged, tag + '-relay')
    msgs = {m['subject']: m for m in
            json.loads(ctx.ok(['queue', '--system', 'list', '--json']).out)['messages']}
    user, relayed = msgs.get(tag + '-user'), msgs.get(tag + '-relay')
    check(user and user['state'] == 'queued' and user['submitter']['uid'] == RELAY_UID + 1,
          f'the other user\'s file was not queued: {msgs}')
    check(user['client_address'] is None and user['device_user'] is None,
          f'a device forged by uid {RELAY_UID + 1} was believed: {user}')
    shown = ctx.ok(['queue', '--system', 'show', user['id']]).out
    check('printer' not in shown and '192.0.2.66' not in shown, shown)
    check(relayed and relayed['client_address'] == '192.0.2.66' and
          relayed['device_user'] == 'printer', f'the relay\'s file: {relayed}')
    check(maildrop_files(ctx) == [], maildrop_files(ctx))


def t_own_listen(ctx):
    ctx.reset()
    ctx.setup()
    # Before --prepare the relay says what to do instead of failing mutely.
    p = subprocess.run(['setpriv', f'--reuid={RELAY_UID}', f'--regid={RELAY_GID}',
                        '--clear-groups', ctx.heraldctl, 'relay', '--system', '--listen',
                        '127.0.0.1:0'], env=ctx.env, capture_output=True, text=True,
                       timeout=60, cwd='/')
    check(p.returncode != 0 and '--prepare' in p.stderr, f'{p.returncode}: {p.stderr}')
    ctx.ok(['relay', '--system', '--prepare'])
    relay = Relay(ctx)
    try:
        tag = 'relay-bind-' + secrets.token_hex(4)
        with smtplib.SMTP('127.0.0.1', relay.port, timeout=30) as c:
            c.sendmail('printer@example.net', ['admin@example.com'], message(tag))
        deliver_and_check(ctx, relay, tag, 1)
    finally:
        relay.stop()


def main():
    if len(sys.argv) != 3:
        print('usage: test-relay-system.py HERALDCTL_SYSTEST ROOT', file=sys.stderr)
        return 2
    if os.geteuid() != 0:
        print('1..1\nnot ok 1 - the system relay tests run as root (CI and herald-dev test do)')
        return 1
    ctx = Context(sys.argv[1], sys.argv[2])
    tap = Tap()
    try:
        ctx.base = tempfile.mkdtemp(prefix='herald-postfix-')
        os.chmod(ctx.base, 0o755)
        ctx.peer, _ = start_peer(ctx.base, ctx.password)
        tap.run('--prepare (root only): setgid 2750 dir, users and key 0640 root:relay, log',
                lambda: t_prepare(ctx))
        tap.run('socket activation as an unprivileged uid: 250 → maildrop → root delivers; '
                'no secret readable', lambda: t_socket_activation(ctx))
        tap.run('without passed sockets it binds its own address; says --prepare when missing',
                lambda: t_own_listen(ctx))
        tap.run('a maildrop file\'s client and device lines count only from the relay\'s uid',
                lambda: t_forged_device(ctx))

        def t_no_secret_in_output():
            for blob in ctx.captured:
                check(ctx.password.encode() not in blob, 'the upstream password was printed')
                check(ctx.device_password.encode() not in blob, 'a device password was printed')
        tap.run('no password in any output', t_no_secret_in_output)
    finally:
        if ctx.base:
            stop_peer(ctx.base)
        tap.finish()
        shutil.rmtree(ctx.tmp, ignore_errors=True)
        if ctx.base:
            shutil.rmtree(ctx.base, ignore_errors=True)
        shutil.rmtree(ctx.root, ignore_errors=True)
    return 1 if tap.failed else 0


if __name__ == '__main__':
    sys.exit(main())
