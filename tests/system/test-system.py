#!/usr/bin/python3
# SPDX-License-Identifier: GPL-3.0-or-later
# Copyright 2026 The Herald authors
"""The system profile (issue: Herald on servers), TAP.

Runs heraldctl-systest: heraldctl built with its sysconfdir and
localstatedir in the build tree (tests/system/root), so nothing here
touches /etc or /var. As root with no session bus, and as unprivileged
users (setpriv --reuid, numeric uids without a passwd entry). Delivery goes
to the real Postfix fixture (tests/postfix/postfix-peer.sh).

Usage: test-system.py HERALDCTL_SYSTEST ROOT SOURCE_DATA_SYSTEMD_DIR
"""

import json
import os
import secrets
import shutil
import stat
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, '..', 'postfix'))
from peer import Failure, Tap, check  # noqa: E402
from peerctx import SystemPeerContext  # noqa: E402

# Two unprivileged callers, like www-data and a DynamicUser= service.
UID_A = 64991
UID_B = 64992




def as_user(uid):
    """preexec_fn: become @uid (and gid) with no supplementary groups."""
    def become():
        os.setgroups([])
        os.setgid(uid)
        os.setuid(uid)
    return become


class Context(SystemPeerContext):
    def __init__(self, heraldctl, root):
        # No session bus: the rule picks the system profile. The user
        # profile of the tests lives in a key file.
        super().__init__(heraldctl, root, 'herald-system-')
        self.conf = os.path.join(self.etc, 'herald', 'herald.conf')
        self.bindir = os.path.join(self.tmp, 'bin')
        os.makedirs(self.bindir)
        for name in ('sendmail', 'mailq'):
            os.symlink(self.heraldctl, os.path.join(self.bindir, name))
        self.session_bus = os.environ.get('DBUS_SESSION_BUS_ADDRESS')

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
        return self.run_argv([exe] + args, stdin, env, timeout,
                             preexec_fn=as_user(uid) if uid is not None else None, cwd='/')

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
    check(data['queue'] == os.path.join(ctx.spool, 'queue'), data['queue'])
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
    # heraldctl test --system: the system profile's settings and root's password.
    p = ctx.run(['test', '--system', '--json'])
    data = json.loads(p.out)
    check(p.returncode == 0 and data['ok'] is True, f'{p.returncode}: {p.out[:800]}\n{p.err}')
    # Without --system or --user, test follows the rule of the other commands:
    # no session bus and a system profile, so the system profile applies.
    p = ctx.run(['test', '--json'])
    data = json.loads(p.out)
    check(p.returncode == 0 and data['ok'] is True, f'{p.returncode}: {p.out[:800]}\n{p.err}')
    p = ctx.run(['test', '--system', '--json'], uid=UID_A)
    data = json.loads(p.out)
    check(p.returncode == 1 and data['stage'] == 'auth' and data['transcript'] == [],
          f'{p.returncode}: {p.out[:800]}\n{p.err}')


def t_root_queue(ctx):
    ctx.reset()
    ctx.setup_system()
    tag = 'sys-queued-' + secrets.token_hex(4)
    ctx.ok(['send', '--system', '-odq', '--subject', tag], stdin=b'later\n')
    msgs = ctx.json(['queue', '--system', 'list'])['messages']
    check(len(msgs) == 1 and msgs[0]['state'] == 'queued', msgs)
    queue_dir = os.path.join(ctx.spool, 'queue')
    check(os.path.isfile(os.path.join(queue_dir, msgs[0]['id'] + '.msg')), os.listdir(queue_dir))
    st = os.stat(queue_dir)
    check(stat.S_IMODE(st.st_mode) == 0o700 and st.st_uid == 0, f'queue mode {oct(st.st_mode)}')
    data = ctx.json(['queue', '--system', 'flush'])
    check(data['delivered'] == 1, data)
    ctx.wait_for(tag, 1)


# ---------------------------------------------------------------------------
# The maildrop: callers that are not root
# ---------------------------------------------------------------------------

def as_uid_python(ctx, uid, code):
    """Runs a Python snippet as @uid; returns its stdout (one word)."""
    p = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True,
                       preexec_fn=as_user(uid), timeout=30, cwd='/')
    return p.stdout.strip() + p.stderr.strip()


def maildrop_files(ctx):
    return sorted(os.listdir(ctx.maildrop))


def t_unprivileged(ctx):
    ctx.reset()
    ctx.setup_system()
    ctx.maildrop = os.path.join(ctx.spool, 'maildrop')
    check(stat.S_IMODE(os.stat(ctx.spool).st_mode) == 0o711, oct(os.stat(ctx.spool).st_mode))
    check(stat.S_IMODE(os.stat(ctx.maildrop).st_mode) == 0o1733,
          oct(os.stat(ctx.maildrop).st_mode))
    queue_dir = os.path.join(ctx.spool, 'queue')
    check(stat.S_IMODE(os.stat(queue_dir).st_mode) == 0o700, oct(os.stat(queue_dir).st_mode))
    tag = 'sys-www-' + secrets.token_hex(4)
    # A www-data cron job: no session bus, the system profile, exit 0.
    p = ctx.ok(['-t'], name='sendmail', uid=UID_A,
               stdin=message(tag, 'From: "Web Cron" <ceo@evil.example>\nTo: root\n'))
    check('herald: queued for the Herald service' in p.err, p.err)
    files = maildrop_files(ctx)
    check(len(files) == 1, files)
    dropped = os.path.join(ctx.maildrop, files[0])
    st = os.stat(dropped)
    # Complete (owner x), readable by root alone through an ACL (the runner
    # has no capabilities), by nobody else.
    check(st.st_uid == UID_A and st.st_mode & 0o100 and not st.st_mode & 0o007, oct(st.st_mode))
    acl = os.getxattr(dropped, 'system.posix_acl_access')
    check(b'\x02\x00\x04\x00\x00\x00\x00\x00' in acl, f'no read entry for root: {acl!r}')
    # It cannot list the maildrop, nor the queue, nor any secret.
    out = as_uid_python(ctx, UID_A, f'import os\ntry:\n os.listdir({ctx.maildrop!r}); '
                                    f'print("listed")\nexcept PermissionError: print("denied")')
    check(out == 'denied', f'uid {UID_A} listing the maildrop: {out}')
    for path in [queue_dir, ctx.state] + [os.path.join(ctx.state, f) for f in os.listdir(ctx.state)]:
        out = as_uid_python(ctx, UID_A, f'import os\ntry:\n open({path!r}, "rb").read() if '
                                        f'os.path.isfile({path!r}) else os.listdir({path!r}); '
                                        f'print("read")\nexcept PermissionError: print("denied")')
        check(out == 'denied', f'uid {UID_A} reading {path}: {out}')
    p = ctx.ok(['queue', 'list'], uid=UID_A, status=77)
    check('root' in p.err, p.err)
    ctx.ok(['queue', '--system', 'flush'], uid=UID_A, status=77)
    # Another user can neither read nor remove it.
    out = as_uid_python(ctx, UID_B, f'try:\n open({dropped!r}, "rb").read(); print("read")\n'
                                    f'except PermissionError: print("denied")')
    check(out == 'denied', f'uid {UID_B} reading uid {UID_A}\'s message: {out}')
    out = as_uid_python(ctx, UID_B, f'import os\ntry:\n os.unlink({dropped!r}); print("gone")\n'
                                    f'except PermissionError: print("denied")')
    check(out == 'denied', f'uid {UID_B} removing uid {UID_A}\'s message: {out}')
    # Root's mailq takes the maildrop and shows who sent it.
    msgs = ctx.json(['queue', 'list'])['messages']
    check(len(msgs) == 1 and msgs[0]['submitter']['uid'] == UID_A, msgs)
    check(msgs[0]['sender'] == 'alice@localhost', msgs)
    check(maildrop_files(ctx) == [], maildrop_files(ctx))
    p = ctx.ok([], name='mailq')
    check(f'from uid {UID_A}' in p.out, p.out)
    # The root runner delivers it, From rewritten to the profile's.
    data = ctx.json(['queue', '--system', 'flush'])
    check(data['delivered'] == 1, data)
    copies = ctx.wait_for(tag, 1)
    msg = copies[0][0]
    check('alice@localhost' in str(msg['From']) and 'evil' not in str(msg['From']), msg['From'])
    check('ceo@evil.example' in str(msg.get('X-Herald-Original-From', '')),
          msg.get('X-Herald-Original-From'))
    check(ctx.json(['queue', 'list'])['messages'] == [], 'the queue is not empty')


def t_hostile_maildrop(ctx):
    ctx.reset()
    ctx.setup_system()
    ctx.maildrop = os.path.join(ctx.spool, 'maildrop')
    md = ctx.maildrop
    secret_file = os.path.join(ctx.tmp, 'root-only')
    with open(secret_file, 'w') as f:
        f.write('ROOT-ONLY-CONTENT\n')
    os.chmod(secret_file, 0o600)
    # A symbolic link to a root-only file, a FIFO nobody writes, a hard link.
    os.symlink(secret_file, os.path.join(md, 'link'))
    os.lchown(os.path.join(md, 'link'), UID_A, UID_A)
    os.mkfifo(os.path.join(md, 'fifo'), 0o700)
    os.chown(os.path.join(md, 'fifo'), UID_A, UID_A)
    os.link(secret_file, os.path.join(md, 'hardlink'))

    def put(name, data, mode=0o700, uid=UID_A):
        path = os.path.join(md, name)
        with open(path, 'wb') as f:
            f.write(data)
        os.chown(path, uid, uid)
        os.chmod(path, mode)
        return path
    # 50 MB, binary junk, a file still being written, one that was never finished.
    big = os.path.join(md, 'big')
    with open(big, 'wb') as f:
        f.write(b'HERALD-MAILDROP 1\nrcpt a@example.com\n\n')
        f.write(b'x' * (50 * 1024 * 1024))
    os.chown(big, UID_A, UID_A)
    os.chmod(big, 0o700)
    put('junk', os.urandom(4096))
    put('partial', b'HERALD-MAILDROP 1\nrcpt admin@exa', mode=0o600)
    old = put('abandoned', b'HERALD-MAILDROP 1\nrcpt admin@example.com\n', mode=0o600)
    os.utime(old, (time.time() - 7200, time.time() - 7200))
    # And a good message from another user at the same time.
    tag = 'sys-hostile-' + secrets.token_hex(4)
    ctx.ok(['send', '--subject', tag], uid=UID_B, stdin=b'still delivered\n')

    p = ctx.run(['queue', '--system', 'flush', '--json'], timeout=60)
    check(p.returncode == 0, f'exit {p.returncode}\n{p.err}')
    flush = json.loads(p.out)
    check(flush['delivered'] == 1, flush)
    ctx.wait_for(tag, 1)
    for name in ('link', 'fifo', 'hardlink'):
        check(f'{name}' not in maildrop_files(ctx), f'{name} is still in the maildrop')
    check('removed' in p.err and 'symbolic link' in p.err and 'FIFO' in p.err, p.err)
    with open(secret_file) as f:
        check(f.read() == 'ROOT-ONLY-CONTENT\n', 'the link target was changed')
    check(maildrop_files(ctx) == ['partial'], maildrop_files(ctx))
    entries = ctx.json(['queue', 'list'])['messages']
    failed = {e['note'].split(':')[0]: e for e in entries if e['state'] == 'failed'}
    check(len(entries) == 3 and len(failed) == 3, json.dumps(entries, indent=1))
    for e in entries:
        check(e['submitter']['uid'] == UID_A, e)
    notes = ' | '.join(e['note'] for e in entries)
    check('too big' in notes and 'not a maildrop file' in notes and 'never finished' in notes,
          notes)
    big_entry = [e for e in entries if e['note'].startswith('too big')][0]
    check(big_entry['size'] <= 64 * 1024, big_entry)
    for _, data in ctx.tree_bytes():
        check(b'ROOT-ONLY-CONTENT' not in data or data == b'ROOT-ONLY-CONTENT\n',
              'the symlink target was copied')
    # The partial file, finished later, is delivered by the next run.
    partial = os.path.join(md, 'partial')
    tag2 = 'sys-partial-' + secrets.token_hex(4)
    with open(partial, 'wb') as f:
        f.write(b'HERALD-MAILDROP 1\nrcpt admin@example.com\n\nSubject: ' + tag2.encode() +
                b'\r\n\r\nfinished\r\n')
    os.chmod(partial, 0o700)
    data = ctx.json(['queue', '--system', 'flush'])
    check(data['delivered'] == 1, data)
    ctx.wait_for(tag2, 1)
    check(maildrop_files(ctx) == [], maildrop_files(ctx))


# ---------------------------------------------------------------------------
# doctor
# ---------------------------------------------------------------------------

def doctor(ctx, status=None, extra=(), **kw):
    p = ctx.run(['doctor', '--system', '--json'] + list(extra), **kw)
    try:
        data = json.loads(p.out)
    except ValueError as e:
        raise Failure(f'doctor --json is not JSON ({e}):\n{p.out}\n{p.err}')
    checks = {c['id']: c for c in data['checks']}
    if status is not None:
        check(p.returncode == status, f'doctor exit {p.returncode}, expected {status}\n'
                                      f'{json.dumps(data, indent=1)}\n{p.err}')
    check(data['profile'] in ('system', None), data)
    for c in data['checks']:
        check(set(c) == {'id', 'status', 'title', 'detail', 'fix'}, c)
        check(c['status'] in ('ok', 'warn', 'fail'), c)
        check((c['fix'] is None) == (c['status'] == 'ok'), f'a fix goes with warn and fail: {c}')
    return p, data, checks


def wire_sendmail(ctx, target):
    for path in ('usr/sbin/sendmail', 'usr/lib/sendmail'):
        full = os.path.join(ctx.root, path)
        os.makedirs(os.path.dirname(full), exist_ok=True)
        if os.path.lexists(full):
            os.unlink(full)
        os.symlink(target, full)


def t_doctor(ctx):
    ctx.reset()
    # No profile at all: one failed check saying how to create one.
    p, data, checks = doctor(ctx, status=1)
    check(checks['profile']['status'] == 'fail' and 'config --system set server' in
          checks['profile']['fix'], checks)
    # A complete profile, Herald behind both sendmail paths, cron running the
    # queue: every check ok.
    ctx.setup_system()
    wire_sendmail(ctx, ctx.heraldctl)
    os.makedirs(os.path.join(ctx.etc, 'cron.d'))
    with open(os.path.join(ctx.etc, 'cron.d', 'herald'), 'w') as f:
        f.write('*/5 * * * * root heraldctl queue --system flush --quiet\n')
    p, data, checks = doctor(ctx, status=0)
    bad = [c for c in data['checks'] if c['status'] != 'ok']
    check(not bad, json.dumps(bad, indent=1))
    check({'profile', 'alerts-enabled', 'credential', 'secrets', 'sendmail', 'sendmail-lib',
           'queue', 'units'} <= set(checks), sorted(checks))
    check('encrypted with the host key' in checks['secrets']['title'], checks['secrets'])
    p = ctx.ok(['doctor', '--system'])
    check('✓ The password is stored' in p.out, p.out)
    # --send-test: one real message through the sendmail name, the queue and
    # delivery.
    p, data, checks = doctor(ctx, status=0, extra=['--send-test'])
    check(checks['send-test']['status'] == 'ok', checks['send-test'])
    ctx.wait_for('Herald doctor: test alert from', 1)
    check(ctx.json(['queue', '--system', 'list'])['messages'] == [], 'the test alert stayed')
    # Alerts off, a missing password: failures with their fixes.
    ctx.ok(['config', '--system', 'set', 'alerts-enabled', 'false'])
    ctx.ok(['config', '--system', 'set', 'username', 'bob'])
    p, data, checks = doctor(ctx, status=1)
    check(checks['alerts-enabled']['status'] == 'fail' and
          'alerts-enabled true' in checks['alerts-enabled']['fix'], checks['alerts-enabled'])
    check(checks['credential']['status'] == 'fail' and
          'config --system password --stdin' in checks['credential']['fix'], checks['credential'])
    p = ctx.ok(['doctor', '--system'], status=1)
    check('✗ No password is stored' in p.out and 'Fix: sudo heraldctl config --system password'
          in p.out, p.out)
    ctx.ok(['config', '--system', 'set', 'alerts-enabled', 'true'])
    ctx.ok(['config', '--system', 'set', 'username', 'alice'])
    # A sendmail owned by another MTA: named, with the commands to wire Herald.
    postfix = os.path.join(ctx.root, 'usr', 'sbin', 'sendmail.postfix')
    with open(postfix, 'w') as f:
        f.write('#!/bin/sh\n')
    os.chmod(postfix, 0o755)
    wire_sendmail(ctx, postfix)
    p, data, checks = doctor(ctx, status=0)
    check(checks['sendmail']['status'] == 'warn' and 'Postfix' in checks['sendmail']['title'],
          checks['sendmail'])
    check('update-alternatives' in checks['sendmail']['fix'], checks['sendmail'])
    # Nothing at /usr/lib/sendmail (mdadm's path).
    os.unlink(os.path.join(ctx.root, 'usr', 'lib', 'sendmail'))
    p, data, checks = doctor(ctx, status=0)
    check(checks['sendmail-lib']['status'] == 'warn' and 'Nothing answers' in
          checks['sendmail-lib']['title'] and 'ln -s' in checks['sendmail-lib']['fix'],
          checks['sendmail-lib'])
    # No systemd and no cron job: said, with the cron line.
    os.unlink(os.path.join(ctx.etc, 'cron.d', 'herald'))
    p, data, checks = doctor(ctx, status=0)
    check(checks['units']['status'] == 'warn' and '/etc/cron.d/herald' in checks['units']['fix'],
          checks['units'])
    # Enabled units (the package's postinst) while systemd is not running: ok.
    for wants, unit in (('paths.target.wants', 'herald-queue.path'),
                        ('timers.target.wants', 'herald-queue.timer')):
        d = os.path.join(ctx.etc, 'systemd', 'system', wants)
        os.makedirs(d, exist_ok=True)
        os.symlink('/usr/lib/systemd/system/' + unit, os.path.join(d, unit))
    p, data, checks = doctor(ctx, status=0)
    check(checks['units']['status'] == 'ok' and 'enabled' in checks['units']['detail'],
          checks['units'])
    # Not root: what it cannot see is a warning saying to run it as root.
    p, data, checks = doctor(ctx, uid=UID_A)
    check(checks['credential']['status'] == 'warn' and 'sudo' in checks['credential']['fix'],
          checks['credential'])
    check(checks['queue']['status'] == 'warn', checks['queue'])


HOSTILE = ['\x1b]0;pwned\x07\x1b[2J', 'unit\x1fsep', '\u202eexe.txt', 'quote " and \\ back',
           'del\x7f c1\x85']


def t_doctor_hostile_json(ctx):
    ctx.reset()
    ctx.setup_system(password=False)
    ctx.ok(['config', '--system', 'set', 'auth', 'xoauth2'])
    evil = ''.join(HOSTILE)
    # The sendmail link's target, a held message's diagnosis and note, the
    # token's last refresh failure: every text doctor repeats.
    target_dir = os.path.join(ctx.root, 'opt')
    os.makedirs(target_dir)
    target = os.path.join(target_dir.encode(), b'mta-' + evil.encode() + b'-\xff\xfe')
    with open(target, 'w') as f:
        f.write('#!/bin/sh\n')
    wire_sendmail(ctx, target)
    os.makedirs(ctx.state, mode=0o700, exist_ok=True)
    with open(os.path.join(ctx.state, 'token-health.conf'), 'wb') as f:
        f.write(b'[oauth]\nrefreshed=1000\nlast-error=' + evil.encode().replace(b'\n', b' ') +
                b'\n')
    queue_dir = os.path.join(ctx.spool, 'queue')
    os.makedirs(queue_dir, exist_ok=True)
    meta = ('[herald-queue]\nversion=1\nid=00000000000000000001\nstate=held\ncreated=1000\n'
            'attempts=1\nnext-attempt=0\nsender=alice@localhost\nrecipients=a@example.com;\n'
            f'size=1\nnote={evil}\n[last-error]\nstage=auth\nerror={evil}\nreply-code=535\n'
            f'diagnosis-id=x\ndiagnosis-title={evil}\n').encode()
    with open(os.path.join(queue_dir, '00000000000000000001.meta'), 'wb') as f:
        f.write(meta)
    with open(os.path.join(queue_dir, '00000000000000000001.msg'), 'wb') as f:
        f.write(b'x')
    p = ctx.run(['doctor', '--system', '--json'])
    raw = [b for b in (b'\x1b', b'\x07', b'\x1f', b'\x7f', b'\xc2\x85', b'\xe2\x80\xae')
           if b in p.stdout]
    check(not raw, f'raw control characters in the JSON: {raw}')
    try:
        data = json.loads(p.stdout)   # strict: raw controls and invalid UTF-8 fail
    except ValueError as e:
        raise Failure(f'doctor --json with hostile strings is not JSON: {e}\n{p.stdout[:500]!r}')
    checks = {c['id']: c for c in data['checks']}
    check('pwned' in checks['sendmail']['title'] + checks['sendmail']['detail'],
          checks['sendmail'])
    check('pwned' in checks['token']['detail'], checks['token'])
    check(checks['queue']['status'] == 'fail' and 'pwned' in checks['queue']['detail'],
          checks['queue'])


# ---------------------------------------------------------------------------
# Export and import
# ---------------------------------------------------------------------------

def t_export_import(ctx):
    ctx.reset()
    bus = {'DBUS_SESSION_BUS_ADDRESS': ctx.session_bus}
    # The desktop's profile: settings in GSettings, the password in the keyring.
    for key, value in (('server', 'localhost'), ('port', ctx.peer['SUBMISSION_PORT']),
                       ('security', 'starttls'), ('auth', 'plain'), ('username', 'alice'),
                       ('from', 'alice@localhost'), ('to', 'admin@example.com'),
                       ('ca-file', ctx.peer['CA_FILE']), ('alerts-enabled', 'true')):
        ctx.ok(['config', '--user', 'set', key, value], extra_env=bus)
    ctx.ok(['config', '--user', 'password', '--stdin'], stdin=(ctx.password + '\n').encode(),
           extra_env=bus)
    p = ctx.ok(['config', 'export'], extra_env=bus)
    check('[herald]' in p.out and 'server=localhost' in p.out, p.out)
    check('[secrets]' not in p.out and ctx.password not in p.out, 'a secret without the flag')
    # --with-secrets never into a file.
    out_file = os.path.join(ctx.tmp, 'export.conf')
    with open(out_file, 'wb') as f:
        r = subprocess.run([ctx.heraldctl, 'config', 'export', '--with-secrets'], stdout=f,
                           stderr=subprocess.PIPE, env=dict(ctx.env, **bus), timeout=60)
    check(r.returncode == 64, f'export --with-secrets into a file: exit {r.returncode}')
    with open(out_file, 'rb') as f:
        check(ctx.password.encode() not in f.read(), 'the password went into a file')
    os.unlink(out_file)
    # The README's pipe: export | import into the system profile.
    pipe = subprocess.run(f'"{ctx.heraldctl}" config export --with-secrets | '
                          f'"{ctx.heraldctl}" config --system import -', shell=True,
                          capture_output=True, env=dict(ctx.env, **bus), timeout=60)
    check(pipe.returncode == 0, f'exit {pipe.returncode}: {pipe.stderr.decode()}')
    ctx.captured += [pipe.stdout, pipe.stderr]
    check(os.path.isfile(ctx.conf), 'no herald.conf')
    with open(ctx.conf) as f:
        text = f.read()
    check('server=localhost' in text and ctx.password not in text, text)
    data = ctx.json(['config', 'show'])
    check(data['profile'] == 'system' and data['credentials']['state'] == 'stored', data)
    for path, blob in ctx.tree_bytes():
        check(ctx.password.encode() not in blob, f'the password is in plain text in {path}')
    # The imported profile delivers.
    tag = 'sys-imported-' + secrets.token_hex(4)
    ctx.ok(['send', '--subject', tag], stdin=b'from the desktop\n')
    ctx.wait_for(tag, 1)
    # A refused value: nothing imported.
    ctx.reset()
    p = ctx.ok(['config', '--system', 'import', '-'], stdin=b'[herald]\nserver=a.example\nport=70000\n',
               status=64)
    check(not os.path.exists(ctx.conf), 'a refused import wrote herald.conf')
    ctx.ok(['config', '--system', 'import', '-'], stdin=b'\x00\xffjunk', status=64)
    shutil.rmtree(ctx.env['XDG_CONFIG_HOME'], ignore_errors=True)


# ---------------------------------------------------------------------------
# The system units
# ---------------------------------------------------------------------------

HARDENING = ['Type=oneshot', 'ProtectSystem=strict', 'ProtectHome=yes', 'PrivateTmp=yes',
             'NoNewPrivileges=yes', 'CapabilityBoundingSet=',
             'RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6']


def fill_unit(src, dst, values):
    with open(src) as f:
        text = f.read()
    for key, value in values.items():
        text = text.replace(f'@{key}@', value)
    check('@' not in text.replace('herald-unit-status@', '').replace('%n', ''),
          f'{src}: a placeholder is left')
    with open(dst, 'w') as f:
        f.write(text)
    return text


def t_units(ctx, src):
    units = os.path.join(ctx.tmp, 'units')
    os.makedirs(units, exist_ok=True)
    values = {'HERALDCTL': ctx.heraldctl, 'LIBEXECDIR': units, 'SPOOLDIR': ctx.spool,
              'STATEDIR': ctx.state, 'MAILDROPDIR': os.path.join(ctx.spool, 'maildrop')}
    service = fill_unit(os.path.join(src, 'system', 'herald-queue.service.in'),
                        os.path.join(units, 'herald-queue.service'), values)
    path = fill_unit(os.path.join(src, 'system', 'herald-queue.path.in'),
                     os.path.join(units, 'herald-queue.path'), values)
    shutil.copy(os.path.join(src, 'system', 'herald-queue.timer'), units)
    fill_unit(os.path.join(src, 'system', 'herald-unit-status@.service.in'),
              os.path.join(units, 'herald-unit-status@.service'), values)
    fill_unit(os.path.join(src, 'herald-unit-status.in'),
              os.path.join(units, 'herald-unit-status'), values)
    os.chmod(os.path.join(units, 'herald-unit-status'), 0o755)
    os.symlink('herald-unit-status@.service',
               os.path.join(units, 'herald-unit-status@backup.service.service'))
    lines = service.splitlines()
    for line in HARDENING + [f'ExecStart={ctx.heraldctl} queue --system flush --quiet',
                             f'ReadWritePaths={ctx.spool} {ctx.state}']:
        check(line in lines, f'herald-queue.service lacks “{line}”:\n{service}')
    check(f'DirectoryNotEmpty={ctx.spool}/maildrop' in path.splitlines(), path)
    with open(os.path.join(units, 'herald-queue.timer')) as f:
        check('OnUnitActiveSec=5min' in f.read().splitlines(), 'the timer is not every 5 min')
    env = dict(os.environ, SYSTEMD_LOG_LEVEL='notice')
    p = subprocess.run(['systemd-analyze', 'verify', '--man=no', 'herald-queue.service',
                        'herald-queue.path', 'herald-queue.timer',
                        'herald-unit-status@backup.service.service'],
                       cwd=units, env=env, capture_output=True, text=True, timeout=60)
    check(p.returncode == 0, f'systemd-analyze verify failed:\n{p.stdout}{p.stderr}')
    # verify looks: a unit whose program does not exist fails it.
    broken = os.path.join(ctx.tmp, 'broken-units')
    os.makedirs(broken, exist_ok=True)
    fill_unit(os.path.join(src, 'system', 'herald-queue.service.in'),
              os.path.join(broken, 'herald-queue.service'),
              dict(values, HERALDCTL='/nonexistent/heraldctl'))
    p = subprocess.run(['systemd-analyze', 'verify', '--man=no', 'herald-queue.service'],
                       cwd=broken, env=env, capture_output=True, text=True, timeout=60)
    check(p.returncode != 0, 'verify passed a unit whose program does not exist')
    # The system OnFailure= reporter: the system manager's status and
    # journal, through the system profile (root, no session bus).
    ctx.reset()
    ctx.setup_system()
    shims = os.path.join(ctx.tmp, 'shims')
    os.makedirs(shims, exist_ok=True)
    for name, text in (('systemctl', 'STATUS-OF-$*'), ('journalctl', 'JOURNAL-OF-$*')):
        with open(os.path.join(shims, name), 'w') as f:
            f.write(f'#!/bin/sh\necho "{text}"\n')
        os.chmod(os.path.join(shims, name), 0o755)
    env = dict(ctx.env, PATH=shims + ':' + ctx.env['PATH'], HERALD_UNIT_STATUS_SCOPE='--system',
               HERALDCTL=ctx.heraldctl)
    p = subprocess.run([os.path.join(units, 'herald-unit-status'), 'backup.service'],
                       env=env, capture_output=True, text=True, timeout=60)
    check(p.returncode == 0, f'herald-unit-status exited {p.returncode}: {p.stderr}')
    copies = ctx.wait_for('Unit backup.service failed on ', 1)
    body = copies[-1][1].decode('utf-8', 'replace')
    check('STATUS-OF---system status --full --no-pager --lines=0 -- backup.service' in body, body)
    check('JOURNAL-OF---system --unit=backup.service --lines=50 --no-pager' in body, body)


def main():
    if len(sys.argv) != 4:
        print('usage: test-system.py HERALDCTL_SYSTEST ROOT SOURCE_DATA_SYSTEMD_DIR',
              file=sys.stderr)
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
        tap.run('root, no session bus: send, the sendmail name and test --system through Postfix',
                lambda: t_root_send(ctx))
        tap.run('root: send -odq into the system queue, queue --system flush delivers',
                lambda: t_root_queue(ctx))
        tap.run('not root: the maildrop (exit 0), nothing to list or read, delivered by root',
                lambda: t_unprivileged(ctx))
        tap.run('hostile maildrop files: symlink, FIFO, hard link, 50 MB, junk, partial',
                lambda: t_hostile_maildrop(ctx))
        tap.run('system units: hardened as listed, systemd-analyze verify, the reporter',
                lambda: t_units(ctx, sys.argv[3]))
        tap.run('doctor: no profile, all ok, --send-test, alerts off, no password, other MTA',
                lambda: t_doctor(ctx))
        tap.run('doctor --json: hostile strings in every field still give strict JSON',
                lambda: t_doctor_hostile_json(ctx))
        tap.run('config export [--with-secrets] | config --system import -',
                lambda: t_export_import(ctx))
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
