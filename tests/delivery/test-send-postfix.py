#!/usr/bin/python3
# SPDX-License-Identifier: GPL-3.0-or-later
# Copyright 2026 The Herald authors
"""heraldctl send, the sendmail and mailq names and the queue against a real
Postfix with SASL on loopback (TAP).

The profile is a real one: GSettings in a key file under a temporary
XDG_CONFIG_HOME (set with `heraldctl config set`), the password in the test
session's keyring (`heraldctl config password --stdin`), the queue under a
temporary XDG_STATE_HOME. Postfix (tests/postfix/postfix-peer.sh) delivers
every accepted message to a Maildir, one file per envelope recipient with a
Delivered-To header; the tests count copies by Message-ID there.

Usage: test-send-postfix.py HERALDCTL
"""

import base64
import os
import random
import resource
import secrets
import shutil
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, '..', 'postfix'))
from peer import Tap, check  # noqa: E402
from peerctx import PeerContext  # noqa: E402




class Context(PeerContext):
    def __init__(self, heraldctl):
        super().__init__(heraldctl, 'herald-send-')
        self.queue_dir = os.path.join(self.tmp, 'state', 'herald', 'queue')
        # The names callers use: links to heraldctl, as the build installs
        # them in $libexecdir/herald.
        self.bindir = os.path.join(self.tmp, 'bin')
        os.makedirs(self.bindir)
        for name in ('sendmail', 'mailq'):
            os.symlink(self.heraldctl, os.path.join(self.bindir, name))
        self.seen = set()   # Maildir files already counted by earlier tests

    def run(self, args, stdin=b'', name=None, timeout=60, extra_env=None, preexec=None):
        exe = os.path.join(self.bindir, name) if name else self.heraldctl
        return self.run_argv([exe] + args, stdin, dict(self.env, **(extra_env or {})), timeout,
                             preexec_fn=preexec)

    def queue(self):
        return self.json(['queue', 'list'])['messages']


def recipients_of(copies):
    return sorted(str(m.get('Delivered-To', '')) for m, _ in copies)


def message(tag, headers='', body='Body line\n'):
    return (f'Subject: {tag}\n{headers}\n{body}').encode()


# ---------------------------------------------------------------------------
# The tests
# ---------------------------------------------------------------------------

def test_config(ctx):
    ctx.ok(['config', 'set', 'server', 'localhost'])
    ctx.ok(['config', 'set', 'port', ctx.peer['SUBMISSION_PORT']])
    ctx.ok(['config', 'set', 'security', 'starttls'])
    ctx.ok(['config', 'set', 'auth', 'plain'])
    ctx.ok(['config', 'set', 'username', 'alice'])
    ctx.ok(['config', 'set', 'from', 'alice@localhost'])
    ctx.ok(['config', 'set', 'to', 'admin@example.com, oncall@example.org'])
    ctx.ok(['config', 'set', 'ca-file', ctx.peer['CA_FILE']])
    ctx.ok(['config', 'set', 'timeout', '20'])
    # Checked as the window checks: refused, never clamped.
    p = ctx.ok(['config', 'set', 'port', '70000'], status=64)
    check('1 to 65535' in p.err, f'no range in: {p.err}')
    ctx.ok(['config', 'set', 'from', 'not an address'], status=64)
    ctx.ok(['config', 'set', 'to', 'a@example.com, b@'], status=64)
    ctx.ok(['config', 'set', 'server', 'smtp.example.com\nRCPT TO:<x@y.z>'], status=64)
    ctx.ok(['config', 'set', 'no-such-key', '1'], status=64)
    ctx.ok(['config', 'set', 'alerts-enabled', 'maybe'], status=64)

    shown = ctx.json(['config', 'show'])
    settings = {s['key']: s for s in shown['settings']}
    check(settings['port']['value'] == ctx.peer['SUBMISSION_PORT'] and
          settings['port']['source'] == 'saved', f'port: {settings["port"]}')
    check(settings['rewrite-from']['source'] == 'default', f'{settings["rewrite-from"]}')
    check(shown['credentials']['state'] == 'missing', f'credentials: {shown["credentials"]}')
    check(shown['queue'] == ctx.queue_dir, f'queue: {shown["queue"]}')

    # The password goes to the keyring (the entry the window uses).
    ctx.ok(['config', 'password', '--stdin'], stdin=(ctx.password + '\n').encode())
    shown = ctx.json(['config', 'show'])
    check(shown['credentials']['state'] == 'stored', f'credentials: {shown["credentials"]}')
    p = subprocess.run(['secret-tool', 'lookup', 'server', 'localhost', 'port',
                        ctx.peer['SUBMISSION_PORT'], 'username', 'alice'],
                       capture_output=True, timeout=30)
    check(p.stdout.decode() == ctx.password,
          'the keyring does not hold the password under the window\'s attributes')


def test_alerts_off(ctx):
    before = len(ctx.queue())
    p = ctx.ok(['send', '--subject', 'off'], b'body\n', status=69)
    check('alerts-enabled' in p.err, f'stderr does not say how to turn it on: {p.err}')
    p = ctx.ok(['-t'], message('off-sendmail', 'To: bob@example.com\n'), status=69,
               name='sendmail')
    check(len(ctx.queue()) == before, 'something was queued with alerts off')
    ctx.ok(['config', 'set', 'alerts-enabled', 'true'])


def test_usage(ctx):
    p = ctx.ok(['send', '--no-such-option'], b'x', status=64)
    check('--no-such-option' in p.err, p.err)
    ctx.ok(['-Z'], b'x', status=64, name='sendmail')
    ctx.ok(['-bs'], b'x', status=64, name='sendmail')
    ctx.ok(['queue', 'list', '--bogus'], status=64)
    ctx.ok(['send'], b'', status=65)   # empty message


def test_body_mode(ctx):
    tag = 'body-' + secrets.token_hex(4)
    p = ctx.ok(['send', '--subject', tag, 'bob@example.com'],
               'Disk /var is 97 % full.\nA lone dot follows:\n.\nand the end.\n'.encode())
    check(p.out == '' and p.err == '', f'sendmail is silent on success: {p.out!r} {p.err!r}')
    (msg, raw), = ctx.wait_for(tag, 1)
    check(str(msg['Delivered-To']) == 'bob@example.com', f'delivered to {msg["Delivered-To"]}')
    check(msg['From'].addresses[0].addr_spec == 'alice@localhost', f'From: {msg["From"]}')
    for h in ('Date', 'Message-ID', 'MIME-Version', 'User-Agent'):
        check(msg[h] is not None, f'no {h} header')
    body = msg.get_content()
    check('A lone dot follows:\n.\nand the end.' in body, f'body: {body!r}')

    # --json on success.
    tag = 'json-' + secrets.token_hex(4)
    data = ctx.json(['send', '--subject', tag, 'bob@example.com'], b'json body\n')
    check(data['outcome'] == 'sent' and data['id'] is None and data['diagnosis'] is None,
          f'{data}')
    check(data['recipients'] == ['bob@example.com'] and data['transport'] == 'smtp', f'{data}')
    check(data['reply']['code'] == 250, f'reply: {data["reply"]}')
    (msg, _), = ctx.wait_for(tag, 1)
    check(data['message_id'] in str(msg['Message-ID']), f'{data["message_id"]} vs {msg["Message-ID"]}')


def test_extract_bcc(ctx):
    tag = 'bcc-' + secrets.token_hex(4)
    ctx.ok(['-t', '-i'], message(tag, 'From: Monitor <monitor@web1.example.com>\n'
                                      'To: to@example.com\nCc: Carol <cc@example.org>\n'
                                      'Bcc: hidden@example.net\n'), name='sendmail')
    copies = ctx.wait_for(tag, 3)
    check(len(copies) == 3, f'{len(copies)} copies')
    check(recipients_of(copies) == ['cc@example.org', 'hidden@example.net', 'to@example.com'],
          f'delivered to {recipients_of(copies)}')
    # Postfix itself names each copy's own recipient (Delivered-To,
    # X-Original-To, Received ... for <…>); nothing Herald sent may.
    envelope = {'delivered-to', 'x-original-to', 'received', 'return-path'}
    for msg, raw in copies:
        for name, value in msg.items():
            check(name.lower() in envelope or 'hidden@example.net' not in str(value),
                  f'the Bcc recipient shows in a delivered copy: {name}: {value}')
        check('hidden@example.net' not in msg.get_content(), 'the Bcc recipient is in the body')
        check(msg['Bcc'] is None, 'a Bcc header was delivered')
        check(msg['From'].addresses[0].addr_spec == 'alice@localhost', f'From: {msg["From"]}')
        check(msg['From'].addresses[0].display_name == 'Monitor', f'From: {msg["From"]}')
        check('monitor@web1.example.com' in str(msg['X-Herald-Original-From']),
              f'X-Herald-Original-From: {msg["X-Herald-Original-From"]}')


def test_cron(ctx):
    # cronie: sendmail -FCronDaemon -i -odi -oem -oi -t -f root
    tag = 'cronie-' + secrets.token_hex(4)
    ctx.ok(['-FCronDaemon', '-i', '-odi', '-oem', '-oi', '-t', '-f', 'root'],
           message(tag, 'To: root\nX-Cron-Env: <SHELL=/bin/sh>\n', 'job output\n'),
           name='sendmail')
    copies = ctx.wait_for(tag, 2)
    check(recipients_of(copies) == ['admin@example.com', 'oncall@example.org'],
          f'root went to {recipients_of(copies)}')
    msg = copies[0][0]
    check(str(msg['From']) == 'CronDaemon <alice@localhost>', f'From: {msg["From"]}')

    # Debian cron: sendmail -FCronDaemon -i -B8BITMIME -oem alice (no -t)
    ctx.ok(['config', 'set', 'local-recipients', 'sysadmin@example.com'])
    try:
        tag = 'debcron-' + secrets.token_hex(4)
        ctx.ok(['-FCronDaemon', '-i', '-B8BITMIME', '-oem', 'alice'],
               message(tag, 'From: root (Cron Daemon)\nTo: alice\n'
                            'Content-Type: text/plain; charset=UTF-8\n'
                            'Content-Transfer-Encoding: 8bit\n', 'Sortie: terminé ✓\n'),
               name='sendmail')
        (msg, raw), = ctx.wait_for(tag, 1)
        check(str(msg['Delivered-To']) == 'sysadmin@example.com', f'{msg["Delivered-To"]}')
        check('Sortie: terminé ✓'.encode() in raw, '8-bit body not delivered as sent')
    finally:
        ctx.ok(['config', 'set', 'local-recipients', ''])


def test_mdadm(ctx):
    # mdadm: popen("/usr/lib/sendmail -t"), headers written by mdadm.
    tag = 'mdadm-' + secrets.token_hex(4)
    ctx.ok(['-t'], (f'From: mdadm monitoring <root>\nTo: root\nSubject: {tag} Fail event on '
                    f'/dev/md0:web1\n\nThis is an automatically generated mail message from '
                    f'mdadm\nrunning on web1\n\nA Fail event had been detected on md device '
                    f'/dev/md0.\n').encode(), name='sendmail')
    copies = ctx.wait_for(tag, 2)
    check(recipients_of(copies) == ['admin@example.com', 'oncall@example.org'],
          f'{recipients_of(copies)}')
    check(str(copies[0][0]['From']) == 'mdadm monitoring <alice@localhost>',
          f'From: {copies[0][0]["From"]}')


def test_git_send_email(ctx):
    # git send-email: sendmail -i -f ENVELOPE RCPT... (recipients as arguments)
    tag = 'git-' + secrets.token_hex(4)
    ctx.ok(['-i', '-f', 'dev@example.com', 'maint@example.com', 'list@example.org'],
           message(tag, 'From: Dev <dev@example.com>\nTo: maint@example.com\n'
                        'Cc: list@example.org\nMessage-ID: <patch.' + tag + '@example.com>\n',
                   '---\n file | 2 +-\n'), name='sendmail')
    copies = ctx.wait_for(tag, 2)
    check(recipients_of(copies) == ['list@example.org', 'maint@example.com'],
          f'{recipients_of(copies)}')
    check(str(copies[0][0]['Message-ID']) == f'<patch.{tag}@example.com>',
          'the Message-ID was not kept')


def test_eight_bit(ctx):
    tag = '8bit-' + secrets.token_hex(4)
    body = 'Température: 92 °C — disque presque plein\n'
    ctx.ok(['admin@example.com'], message(tag, '', body), name='sendmail')
    (msg, raw), = ctx.wait_for(tag, 1)
    check(body.encode() in raw.replace(b'\r\n', b'\n'), f'8-bit body changed: {raw[-200:]!r}')
    check('utf-8' in str(msg['Content-Type']).lower(), f'Content-Type: {msg["Content-Type"]}')


def test_stopped_then_flushed(ctx):
    tags = ['down-' + secrets.token_hex(4) for _ in range(3)]
    ctx.stop_peer()
    ids = []
    for tag in tags:
        p = ctx.ok(['-t'], message(tag, 'To: bob@example.com\n'), name='sendmail')
        check(p.err.startswith('herald: queued '), f'stderr: {p.err!r}')
        ids.append(p.err.split()[2].rstrip(':'))
    queued = {m['id']: m for m in ctx.queue()}
    for i in ids:
        check(i in queued and queued[i]['state'] == 'queued', f'{i} not queued: {queued.get(i)}')
        check(queued[i]['last_error'] is not None, f'{i} has no last error')
        check(queued[i]['attempts'] == 1, f'{i}: {queued[i]["attempts"]} attempts')
    # mailq and sendmail -bp list them, id first.
    p = ctx.ok([], name='mailq')
    for i in ids:
        check(any(line.startswith(i + ' ') and 'queued' in line for line in p.out.splitlines()),
              f'mailq does not list {i}:\n{p.out}')
    p = ctx.ok(['-bp'], name='sendmail')
    check(all(i in p.out for i in ids), f'sendmail -bp:\n{p.out}')

    ctx.start_peer(ctx.offset)
    # Normally the same port again; another one when it was taken meanwhile.
    ctx.ok(['config', 'set', 'port', ctx.peer['SUBMISSION_PORT']])
    data = ctx.json(['queue', 'flush'])
    check(data['delivered'] >= 3 and data['deferred'] == 0, f'flush: {data}')
    for tag in tags:
        copies = ctx.wait_for(tag, 1)
        check(len(copies) == 1, f'{tag}: {len(copies)} copies')
    check(not [m for m in ctx.queue() if m['id'] in ids], 'delivered messages stay queued')
    # Nothing more to do: a second flush sends nothing again.
    data = ctx.json(['queue', 'flush'])
    check(data['delivered'] == 0, f'second flush: {data}')
    for tag in tags:
        check(len(ctx.delivered(tag)) == 1, f'{tag} delivered twice')


def test_held_until_fixed(ctx):
    tag = 'held-' + secrets.token_hex(4)
    ctx.ok(['config', 'set', 'username', 'mallory'])
    try:
        p = ctx.ok(['send', '--subject', tag, 'bob@example.com'], b'held body\n')
        check(p.err.startswith('herald: held '), f'stderr: {p.err!r}')
        check(len(p.err.strip().splitlines()) >= 2, f'who must act is missing: {p.err!r}')
        held = [m for m in ctx.queue() if m['subject'] == tag]
        check(len(held) == 1 and held[0]['state'] == 'held', f'{held}')
        check(held[0]['last_error']['diagnosis'] is not None, f'{held[0]}')
    finally:
        ctx.ok(['config', 'set', 'username', 'alice'])
    data = ctx.json(['queue', 'flush'])
    check(data['delivered'] >= 1, f'{data}')
    ctx.wait_for(tag, 1)


def test_kill_flush(ctx):
    """SIGKILL the flush at many points: every message arrives at least once,
    a second copy only of entries that a later run found "sending"."""
    # How long an uninterrupted flush of a round takes here: the kills are
    # spread over that span (start-up, connecting, the pipelined messages,
    # the last bytes, the replies, the clean-up).
    tags = ['killcal-' + secrets.token_hex(3) for _ in range(8)]
    for tag in tags:
        ctx.ok(['-odq', 'bob@example.com'], message(tag), name='sendmail')
    started = time.monotonic()
    ctx.ok(['queue', 'flush', '--quiet'])
    span = max(time.monotonic() - started, 0.1)
    for tag in tags:
        ctx.wait_for(tag, 1)

    # Under the sanitizers (HERALD_TEST_TIMEOUT_MULTIPLIER) every round is
    # slower: as many rounds need as much more time.
    # A flush that ends before its kill ends the round early, more often the
    # faster flushing is: the loop runs until 30 kills, not a fixed number of
    # rounds.
    deadline = time.monotonic() + 120 * float(os.environ.get('HERALD_TEST_TIMEOUT_MULTIPLIER') or 1)
    rounds = 0
    kills = 0
    all_tags = []
    maybe_duplicate_ids = set()   # Message-IDs found "sending" after a kill
    while (kills < 30 or not maybe_duplicate_ids) and rounds < 60 and \
            time.monotonic() < deadline:
        rounds += 1
        tags = [f'kill{rounds}-{i}-' + secrets.token_hex(3) for i in range(8)]
        all_tags += tags
        for tag in tags:
            ctx.ok(['-odq', 'bob@example.com'], message(tag), name='sendmail')
        for attempt in range(12):
            left = [m for m in ctx.queue() if m['subject'] in tags]
            if not left:
                break
            p = subprocess.Popen([ctx.heraldctl, 'queue', 'flush', '--quiet'], env=ctx.env,
                                 stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
            time.sleep(random.uniform(0.0, span) if attempt < 10 else 5.0)
            if p.poll() is None:
                p.kill()
                kills += 1
            p.wait(timeout=30)
            ctx.captured.append(p.stderr.read())
            listing = ctx.json(['queue', 'list'])
            check(listing['damaged'] == [], f'damaged entries after a kill: {listing["damaged"]}')
            for m in listing['messages']:
                check(m['state'] in ('queued', 'sending', 'held'), f'state {m["state"]}: {m}')
                if m['state'] == 'sending':
                    maybe_duplicate_ids.add(m['message_id'])
        # Whatever is left goes out now.
        ctx.json(['queue', 'flush'])
        check(not [m for m in ctx.queue() if m['subject'] in tags], 'messages left queued')
    check(kills >= 24, f'only {kills} kills in {rounds} rounds')
    # The kills must have hit the window that matters at least once.
    check(maybe_duplicate_ids, 'no kill left a message "sending": the test missed the window')
    duplicates = 0
    for tag in all_tags:
        copies = ctx.wait_for(tag, 1)
        if len(copies) > 1:
            duplicates += 1
            mid = str(copies[0][0]['Message-ID']).strip('<>')
            check(mid in maybe_duplicate_ids,
                  f'{tag} delivered {len(copies)} times but was never left "sending"')
    print(f'# {kills} kills in {rounds} rounds ({span:.2f} s per flush), '
          f'{len(maybe_duplicate_ids)} left "sending", {duplicates} delivered twice')


def test_file_size_limit(ctx):
    big = message('fsize-' + secrets.token_hex(4), '', 'x' * 200 * 1024 + '\n')
    tmp = os.path.join(ctx.queue_dir, 'tmp')
    before = sorted(os.listdir(ctx.queue_dir))
    # Killed flushes may have left metadata drafts (cleaned once stale).
    before_tmp = sorted(os.listdir(tmp))

    def limit():
        resource.setrlimit(resource.RLIMIT_FSIZE, (64 * 1024, 64 * 1024))

    p = ctx.run(['-odq', 'bob@example.com'], big, name='sendmail', preexec=limit)
    check(p.returncode in (73, 75), f'exit {p.returncode}, stderr {p.err}')
    check('could not be queued' in p.err, f'stderr: {p.err}')
    check(sorted(os.listdir(ctx.queue_dir)) == before, 'a partial entry was left in the queue')
    check(sorted(os.listdir(tmp)) == before_tmp, 'a partial file was left in tmp/')


def test_concurrent_senders(ctx):
    tag = 'many-' + secrets.token_hex(4)
    procs = []
    for i in range(20):
        env = dict(ctx.env)
        procs.append(subprocess.Popen([os.path.join(ctx.bindir, 'sendmail'), '-t'], env=env,
                                      stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                      stderr=subprocess.PIPE))
    for i, p in enumerate(procs):
        p.stdin.write(message(f'{tag}-{i:02}', 'To: bob@example.com\n'))
        p.stdin.close()
    for p in procs:
        p.wait(timeout=90)
        err = p.stderr.read()
        ctx.captured += [p.stdout.read(), err]
        check(p.returncode == 0, f'a sender exited {p.returncode}: {err!r}')
    copies = ctx.wait_for(tag, 20, timeout=60)
    subjects = sorted(str(m['Subject']) for m, _ in copies)
    check(subjects == [f'{tag}-{i:02}' for i in range(20)], f'{subjects}')

    # Queueing senders while a flush runs: nothing lost, nothing doubled.
    tag = 'during-' + secrets.token_hex(4)
    for i in range(10):
        ctx.ok(['-odq', 'bob@example.com'], message(f'{tag}-a{i}'), name='sendmail')
    flusher = subprocess.Popen([ctx.heraldctl, 'queue', 'flush', '--quiet'], env=ctx.env,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    senders = [subprocess.Popen([os.path.join(ctx.bindir, 'sendmail'), '-odq',
                                 'bob@example.com'], env=ctx.env, stdin=subprocess.PIPE,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE)
               for _ in range(10)]
    for i, p in enumerate(senders):
        p.communicate(message(f'{tag}-b{i}'), timeout=60)
        check(p.returncode == 0, f'a queueing sender exited {p.returncode}')
    flusher.communicate(timeout=90)
    check(flusher.returncode == 0, f'the flush exited {flusher.returncode}')
    ctx.json(['queue', 'flush'])
    copies = ctx.wait_for(tag, 20, timeout=60)
    subjects = sorted(str(m['Subject']) for m, _ in copies)
    expected = sorted([f'{tag}-a{i}' for i in range(10)] + [f'{tag}-b{i}' for i in range(10)])
    check(subjects == expected, f'{len(subjects)} copies: {subjects}')


def test_drop_retry(ctx):
    ctx.stop_peer()
    p = ctx.ok(['send', '--subject', 'drop-me', 'bob@example.com'], b'x\n')
    drop_id = p.err.split()[2].rstrip(':')
    tag = 'retry-' + secrets.token_hex(4)
    p = ctx.ok(['send', '--subject', tag, 'bob@example.com'], b'x\n')
    retry_id = p.err.split()[2].rstrip(':')
    ctx.start_peer(ctx.offset)
    ctx.ok(['config', 'set', 'port', ctx.peer['SUBMISSION_PORT']])
    shown = ctx.json(['queue', 'show', drop_id])
    check(shown['id'] == drop_id and shown['state'] == 'queued', f'{shown}')
    ctx.ok(['queue', 'drop', drop_id])
    ctx.ok(['queue', 'show', drop_id], status=66)
    ctx.ok(['queue', 'drop', drop_id], status=66)
    data = ctx.json(['queue', 'retry', retry_id])
    check([m['id'] for m in data['messages']] == [retry_id] and data['delivered'] == 1, f'{data}')
    ctx.wait_for(tag, 1)
    check(ctx.delivered('drop-me') == [], 'a dropped message was delivered')


def test_no_secret_anywhere(ctx):
    pw = ctx.password.encode()
    forms = {pw, base64.b64encode(b'\0alice\0' + pw), base64.b64encode(pw)}
    for k in range(3):
        enc = base64.b64encode(b'\0' * k + pw)
        forms.add(enc[((k + 2) // 3) * 4:len(enc) - 4])
    hits = []
    for root in (os.path.join(ctx.tmp, 'state'), os.path.join(ctx.tmp, 'config')):
        for dirpath, _, files in os.walk(root):
            for name in files:
                with open(os.path.join(dirpath, name), 'rb') as f:
                    data = f.read()
                hits += [os.path.join(dirpath, name) for form in forms if form in data]
    for i, out in enumerate(ctx.captured):
        if any(form in (out or b'') for form in forms):
            hits.append(f'captured output #{i}')
    check(not hits, f'the password appears in: {hits}')
    check(len(ctx.captured) > 50, 'the scan saw too little output to mean anything')


def main():
    if len(sys.argv) != 2:
        print('Usage: test-send-postfix.py HERALDCTL', file=sys.stderr)
        return 2
    ctx = Context(sys.argv[1])
    tap = Tap()
    try:
        ctx.start_peer()
        tap.run('config show, set (checked), password to the keyring', lambda: test_config(ctx))
        tap.run('alerts off: exit 69, nothing sent or queued', lambda: test_alerts_off(ctx))
        tap.run('bad usage 64, empty message 65', lambda: test_usage(ctx))
        tap.run('body mode (--subject), --json', lambda: test_body_mode(ctx))
        tap.run('-t with To, Cc and Bcc: no Bcc header, the Bcc recipient gets it',
                lambda: test_extract_bcc(ctx))
        tap.run('cron (cronie and Debian) invocations', lambda: test_cron(ctx))
        tap.run('mdadm invocation', lambda: test_mdadm(ctx))
        tap.run('git send-email invocation', lambda: test_git_send_email(ctx))
        tap.run('8-bit body', lambda: test_eight_bit(ctx))
        tap.run('Postfix stopped: queued; started: flushed, one copy each',
                lambda: test_stopped_then_flushed(ctx))
        tap.run('held until the settings are fixed', lambda: test_held_until_fixed(ctx))
        tap.run('SIGKILL of the flush at many points', lambda: test_kill_flush(ctx))
        tap.run('file-size limit while queueing: non-zero, no partial entry',
                lambda: test_file_size_limit(ctx))
        tap.run('20 concurrent senders; senders during a flush', lambda: test_concurrent_senders(ctx))
        tap.run('queue show, drop, retry', lambda: test_drop_retry(ctx))
        tap.run('no password in any queue, state, settings file or output',
                lambda: test_no_secret_anywhere(ctx))
    finally:
        ctx.stop_peer()
        if ctx.base is not None:
            shutil.rmtree(ctx.base, ignore_errors=True)
        shutil.rmtree(ctx.tmp, ignore_errors=True)
    tap.finish()
    return 1 if tap.failed else 0


if __name__ == '__main__':
    sys.exit(main())
