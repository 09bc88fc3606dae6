#!/usr/bin/python3
# SPDX-License-Identifier: GPL-3.0-or-later
# Copyright 2026 The Herald authors
"""The system profile (issue: Herald on servers), TAP.

Runs heraldctl-systest: heraldctl built with its sysconfdir and
localstatedir in the build tree (tests/system/root), so nothing here
touches /etc or /var. As root with no session bus, and as unprivileged
users (setpriv --reuid, numeric uids without a passwd entry). Delivery goes
to the real Postfix fixture (tests/postfix/postfix-peer.sh).

Usage: test-system.py HERALDCTL_SYSTEST ROOT
"""

import email
import email.policy
import glob
import json
import os
import random
import secrets
import shutil
import stat
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
PEER_SCRIPT = os.path.join(HERE, '..', 'postfix', 'postfix-peer.sh')

# Two unprivileged callers, like www-data and a DynamicUser= service.
UID_A = 64991
UID_B = 64992


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


def as_user(uid):
    """preexec_fn: become @uid (and gid) with no supplementary groups."""
    def become():
        os.setgroups([])
        os.setgid(uid)
        os.setuid(uid)
    return become


class Context:
    def __init__(self, heraldctl, root):
        self.heraldctl = os.path.abspath(heraldctl)
        self.root = root
        self.etc = os.path.join(root, 'etc')
        self.var = os.path.join(root, 'var')
        self.conf = os.path.join(self.etc, 'herald', 'herald.conf')
        self.state = os.path.join(self.var, 'lib', 'herald')
        self.spool = os.path.join(self.var, 'spool', 'herald')
        self.password = 'Hs-' + secrets.token_urlsafe(18)
        self.tmp = tempfile.mkdtemp(prefix='herald-system-')
        os.chmod(self.tmp, 0o755)
        self.base = None
        self.peer = {}
        self.captured = []
        self.env = dict(os.environ)
        self.env['LC_ALL'] = 'C.UTF-8'
        # No session bus (cron, systemd services): the rule picks the system
        # profile. The user profile of the tests lives in a key file.
        self.env.pop('DBUS_SESSION_BUS_ADDRESS', None)
        self.env.pop('DISPLAY', None)
        self.env['XDG_RUNTIME_DIR'] = os.path.join(self.tmp, 'runtime')
        self.env['GSETTINGS_BACKEND'] = 'keyfile'
        self.env['XDG_CONFIG_HOME'] = os.path.join(self.tmp, 'config')
        self.env['XDG_STATE_HOME'] = os.path.join(self.tmp, 'state')
        self.env['HOME'] = self.tmp
        self.env.pop('HERALD_PEER_PASSWORD', None)
        self.bindir = os.path.join(self.tmp, 'bin')
        os.makedirs(self.bindir)
        for name in ('sendmail', 'mailq'):
            os.symlink(self.heraldctl, os.path.join(self.bindir, name))
        self.session_bus = os.environ.get('DBUS_SESSION_BUS_ADDRESS')

    def reset(self):
        shutil.rmtree(self.root, ignore_errors=True)
        os.makedirs(self.etc)
        os.makedirs(self.var)
        for d in (self.root, self.etc, self.var):
            os.chmod(d, 0o755)

    # -- the peer -----------------------------------------------------------------

    def start_peer(self):
        self.base = tempfile.mkdtemp(prefix='herald-postfix-')
        with open(os.path.join(self.base, 'owner.pid'), 'w') as f:
            f.write(f'{os.getpid()}\n')
        env = dict(os.environ, HERALD_PEER_PASSWORD=self.password)
        last = ''
        for _ in range(8):
            p = subprocess.run([PEER_SCRIPT, 'start', self.base, str(random.randrange(1000, 40000))],
                               env=env, capture_output=True, text=True, timeout=90)
            if p.returncode == 0:
                for line in p.stdout.splitlines():
                    key, _, value = line.partition('=')
                    self.peer[key] = value.strip("'")
                return
            last = p.stderr
            if 'already in use' not in p.stderr:
                break
            time.sleep(0.5)
        raise Failure('postfix-peer.sh start failed:\n' + last)

    def stop_peer(self):
        if self.base is not None:
            subprocess.run([PEER_SCRIPT, 'stop', self.base], capture_output=True, timeout=90)

    # -- heraldctl ----------------------------------------------------------------

    def run(self, args, stdin=b'', name=None, uid=None, extra_env=None, drop_env=(),
            timeout=60):
        exe = os.path.join(self.bindir, name) if name else self.heraldctl
        env = dict(self.env, **(extra_env or {}))
        for key in drop_env:
            env.pop(key, None)
        if uid is not None:
            env['HOME'] = '/nonexistent'
            env['XDG_CONFIG_HOME'] = f'/nonexistent/{uid}/config'
            env['XDG_STATE_HOME'] = f'/nonexistent/{uid}/state'
        p = subprocess.run([exe] + args, input=stdin, capture_output=True, env=env,
                           timeout=timeout, preexec_fn=as_user(uid) if uid is not None else None,
                           cwd='/')
        self.captured += [p.stdout, p.stderr]
        p.out = p.stdout.decode('utf-8', 'replace')
        p.err = p.stderr.decode('utf-8', 'replace')
        return p

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

    def setup_system(self, password=True):
        """A complete system profile for the Postfix peer (root)."""
        for key, value in (('server', 'localhost'), ('port', self.peer['SUBMISSION_PORT']),
                           ('security', 'starttls'), ('auth', 'plain'), ('username', 'alice'),
                           ('from', 'alice@localhost'), ('to', 'admin@example.com'),
                           ('ca-file', self.peer['CA_FILE']), ('timeout', '20'),
                           ('alerts-enabled', 'true')):
            self.ok(['config', '--system', 'set', key, value])
        if password:
            self.ok(['config', '--system', 'password', '--stdin'],
                    stdin=(self.password + '\n').encode())

    # -- delivered mail -------------------------------------------------------------

    def delivered(self, tag):
        out = []
        for path in sorted(glob.glob(os.path.join(self.peer['MAILDIR'], 'new', '*'))):
            with open(path, 'rb') as f:
                raw = f.read()
            msg = email.message_from_bytes(raw, policy=email.policy.default)
            if tag in str(msg.get('Subject', '')):
                out.append((msg, raw))
        return out

    def wait_for(self, tag, count, timeout=20):
        deadline = time.monotonic() + timeout
        found = []
        while time.monotonic() < deadline:
            found = self.delivered(tag)
            if len(found) >= count:
                time.sleep(0.3)
                return self.delivered(tag)
            time.sleep(0.1)
        raise Failure(f'{len(found)} of {count} copies of “{tag}” arrived within {timeout} s')

    def tree_bytes(self):
        """(path, bytes) of every regular file under the test tree."""
        for top in (self.root, self.tmp):
            for dirpath, _, files in os.walk(top):
                for name in files:
                    path = os.path.join(dirpath, name)
                    try:
                        if stat.S_ISREG(os.lstat(path).st_mode):
                            with open(path, 'rb') as f:
                                yield path, f.read()
                    except OSError:
                        pass


def message(tag, headers='', body='Body line\n'):
    return (f'Subject: {tag}\n{headers}\n{body}').encode()


# ---------------------------------------------------------------------------
# Profile selection and the system profile's settings
# ---------------------------------------------------------------------------

def t_no_profile(ctx):
    ctx.reset()
    p = ctx.ok(['send', '--subject', 'x'], stdin=b'body\n', status=78)
    check('config --system set server' in p.err, p.err)
    ctx.ok(['config', 'show'], status=78)
    p = ctx.ok(['queue', 'list'], status=78)
    check('no profile applies' in p.err, p.err)
    p = ctx.ok([], name='sendmail', stdin=message('x'), status=78)
    check(not os.path.exists(ctx.spool), 'a spool directory appeared without a profile')


def t_system_set(ctx):
    ctx.reset()
    ctx.ok(['config', '--system', 'set', 'server', 'smtp.example.com'])
    p = ctx.ok(['config', '--system', 'set', 'port', '70000'], status=64)
    check('1 to 65535' in p.err, p.err)
    ctx.ok(['config', '--system', 'set', 'server', 'smtp.example.com\nRCPT TO:<x@y.z>'], status=64)
    ctx.ok(['config', '--system', 'set', 'no-such-key', '1'], status=64)
    ctx.ok(['config', '--system', 'set', 'port', '465'])
    ctx.ok(['config', '--system', 'set', 'from', 'alerts@example.com'])
    ctx.ok(['config', '--user', '--system', 'show'], status=64)
    st = os.stat(ctx.conf)
    check(stat.S_IMODE(st.st_mode) == 0o644, f'herald.conf mode {oct(st.st_mode)}')
    with open(ctx.conf) as f:
        text = f.read()
    check('[herald]' in text and 'server=smtp.example.com' in text and 'port=465' in text, text)
    check('RCPT' not in text, text)
    data = ctx.json(['config', 'show'])
    check(data['profile'] == 'system', data)
    check('no session bus' in data['why'] and ctx.conf in data['why'], data['why'])
    values = {s['key']: (s['value'], s['source']) for s in data['settings']}
    check(values['server'] == ('smtp.example.com', 'saved'), values['server'])
    check(values['port'] == ('465', 'saved'), values['port'])
    check(values['security'] == ('starttls', 'default'), values['security'])
    check(data['queue'] == ctx.spool, data['queue'])
    # A non-root user reads the settings (no secret in them) but cannot change them.
    data = ctx.json(['config', 'show'], uid=UID_A)
    check(data['profile'] == 'system', data)
    p = ctx.ok(['config', '--system', 'set', 'port', '25'], uid=UID_A, status=73)
    with open(ctx.conf) as f:
        check('port=465' in f.read(), 'a non-root caller changed herald.conf')
    # A hand-edited value that does not pass the checks counts as not set.
    with open(ctx.conf, 'a') as f:
        f.write('timeout=forever\n')
    values = {s['key']: (s['value'], s['source'])
              for s in ctx.json(['config', 'show'])['settings']}
    check(values['timeout'] == ('20', 'default'), values['timeout'])


def t_rule(ctx):
    ctx.reset()
    bus = {'DBUS_SESSION_BUS_ADDRESS': ctx.session_bus}
    check(ctx.session_bus, 'the test needs the session bus of build-aux/test-session.sh')
    # A session bus, a saved server in the user profile: the user profile.
    ctx.ok(['config', '--user', 'set', 'server', 'user.example.com'])
    ctx.ok(['config', '--system', 'set', 'server', 'system.example.com'])
    data = ctx.json(['config', 'show'], extra_env=bus)
    check(data['profile'] == 'user' and 'session bus' in data['why'], data)
    # No session bus: the system profile, although the user one has a server.
    data = ctx.json(['config', 'show'])
    check(data['profile'] == 'system' and 'no session bus' in data['why'], data)
    # --user and --system choose explicitly, with or without a bus.
    check(ctx.json(['config', '--user', 'show'])['profile'] == 'user', 'no --user')
    check(ctx.json(['config', '--system', 'show'], extra_env=bus)['profile'] == 'system',
          'no --system')
    p = ctx.ok(['config', 'show'], extra_env=bus)
    check('Why this profile: a session bus is reachable' in p.out, p.out)
    # A bus, but no server saved in the user profile: the system profile.
    shutil.rmtree(ctx.env['XDG_CONFIG_HOME'])
    data = ctx.json(['config', 'show'], extra_env=bus)
    check(data['profile'] == 'system' and 'no server saved' in data['why'], data)
    # mailq follows the same rule (and says which queue).
    ctx.ok(['config', '--user', 'set', 'server', 'user.example.com'])
    p = ctx.ok(['--json'], name='mailq', stdin=b'')
    check(json.loads(p.out)['messages'] == [], p.out)
    p = ctx.ok(['--system', '--json'], name='mailq')
    check(json.loads(p.out)['messages'] == [], p.out)
    shutil.rmtree(ctx.env['XDG_CONFIG_HOME'], ignore_errors=True)


def t_password_root_store(ctx):
    ctx.reset()
    ctx.setup_system()
    st = os.stat(ctx.state)
    check(stat.S_IMODE(st.st_mode) == 0o700 and st.st_uid == 0, f'state dir {oct(st.st_mode)}')
    files = os.listdir(ctx.state)
    creds = [f for f in files if f.startswith('smtp-password-')]
    check(len(creds) == 1 and creds[0].endswith('.cred'), files)
    check(stat.S_IMODE(os.stat(os.path.join(ctx.state, creds[0])).st_mode) == 0o600, creds)
    # Encrypted with the host key: the password is nowhere in plain text.
    for path, data in ctx.tree_bytes():
        check(ctx.password.encode() not in data, f'the password is in plain text in {path}')
    p = ctx.ok(['config', 'show'])
    check('Credentials: stored in root' in p.out, p.out)
    check('Secrets: encrypted with the host key' in p.out, p.out)
    data = ctx.json(['config', 'show'])
    check(data['credentials']['state'] == 'stored', data['credentials'])
    check(data['credentials']['protection'] == 'encrypted with the host key',
          data['credentials'])
    # An unprivileged user can neither read nor replace it.
    data = ctx.json(['config', 'show'], uid=UID_A)
    check(data['credentials']['state'] == 'unreadable' and
          'root' in data['credentials']['detail'], data['credentials'])
    p = ctx.ok(['config', '--system', 'password', '--stdin'], stdin=b'evil\n', uid=UID_A,
               status=69)
    check('root' in p.err, p.err)


def t_password_fallback(ctx):
    ctx.reset()
    fallback = {'HERALD_TEST_SYSTEMD_CREDS': '/nonexistent/systemd-creds'}
    for key, value in (('server', 'localhost'), ('port', '587'), ('username', 'alice'),
                       ('from', 'alice@localhost')):
        ctx.ok(['config', '--system', 'set', key, value])
    ctx.ok(['config', '--system', 'password', '--stdin'], stdin=(ctx.password + '\n').encode(),
           extra_env=fallback)
    files = [f for f in os.listdir(ctx.state) if f.startswith('smtp-password-')]
    check(len(files) == 1 and not files[0].endswith('.cred'), files)
    path = os.path.join(ctx.state, files[0])
    check(stat.S_IMODE(os.stat(path).st_mode) == 0o600, oct(os.stat(path).st_mode))
    p = ctx.ok(['config', 'show'], extra_env=fallback)
    check('Secrets: plain file readable by root only' in p.out, p.out)
    check('Credentials: stored' in p.out, p.out)
    check(ctx.password not in p.out + p.err, 'the password was printed')


# ---------------------------------------------------------------------------
# Delivery in system scope (root, no session bus)
# ---------------------------------------------------------------------------

def t_root_send(ctx):
    ctx.reset()
    ctx.setup_system()
    tag = 'sys-root-' + secrets.token_hex(4)
    ctx.ok(['send', '--subject', tag], stdin=b'Disk almost full\n')
    copies = ctx.wait_for(tag, 1)
    check(str(copies[0][0]['From']).endswith('alice@localhost>') or
          str(copies[0][0]['From']) == 'alice@localhost', copies[0][0]['From'])
    # The sendmail name, as cron runs it (no session bus: the system profile).
    tag2 = 'sys-cron-' + secrets.token_hex(4)
    ctx.ok(['-FCronDaemon', '-i', '-B8BITMIME', '-oem', 'root'], name='sendmail',
           stdin=message(tag2, 'From: root (Cron Daemon)\nTo: root\n'))
    ctx.wait_for(tag2, 1)
    check(ctx.json(['queue', '--system', 'list'])['messages'] == [], 'the queue is not empty')


def t_root_queue(ctx):
    ctx.reset()
    ctx.setup_system()
    tag = 'sys-queued-' + secrets.token_hex(4)
    ctx.ok(['send', '--system', '-odq', '--subject', tag], stdin=b'later\n')
    msgs = ctx.json(['queue', '--system', 'list'])['messages']
    check(len(msgs) == 1 and msgs[0]['state'] == 'queued', msgs)
    check(os.path.isfile(os.path.join(ctx.spool, msgs[0]['id'] + '.msg')), os.listdir(ctx.spool))
    st = os.stat(ctx.spool)
    check(stat.S_IMODE(st.st_mode) == 0o700 and st.st_uid == 0, f'spool mode {oct(st.st_mode)}')
    data = ctx.json(['queue', '--system', 'flush'])
    check(data['delivered'] == 1, data)
    ctx.wait_for(tag, 1)


def main():
    if len(sys.argv) != 3:
        print('usage: test-system.py HERALDCTL_SYSTEST ROOT', file=sys.stderr)
        return 2
    if os.geteuid() != 0:
        print('1..1\nnot ok 1 - the system tests run as root (CI and herald-dev test do)')
        return 1
    ctx = Context(sys.argv[1], sys.argv[2])
    tap = Tap()
    try:
        ctx.start_peer()
        tap.run('no profile at all: exit 78 saying how to create the system one',
                lambda: t_no_profile(ctx))
        tap.run('config --system set: checked, a 0644 key file [herald], root only',
                lambda: t_system_set(ctx))
        tap.run('the rule: user with a bus and a saved server, else system; --user/--system',
                lambda: t_rule(ctx))
        tap.run('config --system password --stdin: root store 0700/0600, encrypted, no plain text',
                lambda: t_password_root_store(ctx))
        tap.run('without systemd-creds: a 0600 file, and config show says so',
                lambda: t_password_fallback(ctx))
        tap.run('root, no session bus: send and the sendmail name deliver through Postfix',
                lambda: t_root_send(ctx))
        tap.run('root: send -odq into the system queue, queue --system flush delivers',
                lambda: t_root_queue(ctx))
        def t_no_secret_in_output():
            for blob in ctx.captured:
                check(ctx.password.encode() not in blob, 'the password appeared in the output')
        tap.run('no password in any output of heraldctl', t_no_secret_in_output)
    finally:
        ctx.stop_peer()
        tap.finish()
        shutil.rmtree(ctx.tmp, ignore_errors=True)
        if ctx.base:
            shutil.rmtree(ctx.base, ignore_errors=True)
        shutil.rmtree(ctx.root, ignore_errors=True)
    return 1 if tap.failed else 0


if __name__ == '__main__':
    sys.exit(main())
