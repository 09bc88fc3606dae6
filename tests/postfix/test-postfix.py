#!/usr/bin/python3
# SPDX-License-Identifier: GPL-3.0-or-later
# Copyright 2026 The Herald authors
"""`heraldctl test` against a real Postfix with SASL on loopback (TAP).

Starts a private Postfix (tests/postfix/postfix-peer.sh) on random high
ports, runs `heraldctl test` against each of its listeners and checks the
exit status, the JSON, the human output and the delivered messages. Every
byte heraldctl prints is kept and searched for the password and its base64
forms at the end. Postfix is stopped whatever happens, and the test checks
that no process and no listener is left.

Usage: test-postfix.py HERALDCTL
"""

import base64
import email
import email.policy
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from peer import PEER_SCRIPT, Failure, Tap, check, start_peer, stop_peer  # noqa: E402
STAGES = {'resolve', 'connect', 'greeting', 'ehlo', 'starttls', 'tls', 'auth', 'mail',
          'rcpt', 'data', 'quit', 'done'}




class Context:
    """State shared by the tests: the peer, the password, every output."""

    def __init__(self, heraldctl):
        self.heraldctl = heraldctl
        self.user = 'alice'
        # Random per run, long enough for distinctive base64 fragments.
        self.password = 'Hp-' + secrets.token_urlsafe(18)
        self.tag = secrets.token_hex(4)
        self.base = None
        self.peer = {}
        self.captured = []     # every stdout/stderr of heraldctl
        self.env = dict(os.environ)
        self.env['LC_ALL'] = 'C.UTF-8'
        self.env.setdefault('GSETTINGS_BACKEND', 'memory')
        self.env.pop('HERALD_PEER_PASSWORD', None)

    # -- the peer -----------------------------------------------------------

    @staticmethod
    def sweep_stale():
        """Stops instances left by earlier runs that were killed outright
        (SIGKILL gives no chance to clean up)."""
        import glob
        for owner in glob.glob(os.path.join(tempfile.gettempdir(), 'herald-postfix-*', 'owner.pid')):
            base = os.path.dirname(owner)
            try:
                with open(owner) as f:
                    os.kill(int(f.read().strip()), 0)
                continue  # its test still runs
            except ProcessLookupError:
                pass
            except (OSError, ValueError):
                continue
            subprocess.run([PEER_SCRIPT, 'stop', base], capture_output=True, timeout=60)
            shutil.rmtree(base, ignore_errors=True)

    def start_peer(self):
        self.sweep_stale()
        self.base = tempfile.mkdtemp(prefix='herald-postfix-')
        self.peer, _ = start_peer(self.base, self.password, timeout=60)

    def stop_peer(self):
        if self.base is None:
            return None
        return stop_peer(self.base, timeout=60)

    def port(self, name):
        return self.peer[name]

    # -- heraldctl ------------------------------------------------------------

    def herald(self, args, password=None, timeout=40):
        stdin = (password + '\n').encode() if password is not None else b''
        p = subprocess.run([self.heraldctl, 'test'] + args, input=stdin, capture_output=True,
                           env=self.env, timeout=timeout)
        self.captured.append(p.stdout)
        self.captured.append(p.stderr)
        p.out = p.stdout.decode('utf-8', 'replace')
        p.err = p.stderr.decode('utf-8', 'replace')
        return p

    def common(self, port, security, subject, extra=()):
        args = ['--server', 'localhost', '--port', port, '--security', security,
                '--from', 'alice@localhost', '--to', 'bob@example.com',
                '--ca-file', self.peer['CA_FILE'], '--timeout', '20']
        if subject is not None:
            args += ['--subject', subject]
        return args + list(extra)

    def herald_json(self, args, password=None, expect_status=None):
        p = self.herald(args + ['--json'], password)
        if expect_status is not None:
            check(p.returncode == expect_status,
                  f'exit status {p.returncode}, expected {expect_status}\nstderr: {p.err}')
        import json
        try:
            data = json.loads(p.out)
        except ValueError as e:
            raise Failure(f'stdout is not one JSON object ({e}):\n{p.out[:2000]}\n'
                          f'stderr: {p.err}')
        check(isinstance(data, dict), 'the JSON is not an object')
        check_json_shape(data)
        return p, data

    # -- delivered mail ---------------------------------------------------------

    def wait_for_mail(self, subject_tag, count, timeout=15):
        new = os.path.join(self.peer['MAILDIR'], 'new')
        deadline = time.monotonic() + timeout
        found = []
        while time.monotonic() < deadline:
            found = []
            if os.path.isdir(new):
                for name in sorted(os.listdir(new)):
                    path = os.path.join(new, name)
                    try:
                        with open(path, 'rb') as f:
                            raw = f.read()
                    except OSError:
                        continue
                    msg = email.message_from_bytes(raw, policy=email.policy.default)
                    if subject_tag in str(msg.get('Subject', '')):
                        found.append((msg, raw))
            if len(found) >= count:
                return found
            time.sleep(0.1)
        raise Failure(f'{len(found)} of {count} messages with “{subject_tag}” arrived in '
                      f'{new} within {timeout} s')


# ---------------------------------------------------------------------------
# JSON shape (issue 2)
# ---------------------------------------------------------------------------

def is_str(v):
    return isinstance(v, str)


def is_int(v):
    return type(v) is int


def check_keys(obj, keys, where):
    check(isinstance(obj, dict), f'{where} is not an object: {obj!r}')
    missing = [k for k in keys if k not in obj]
    check(not missing, f'{where} lacks {missing}')


def check_diagnosis_shape(d, where):
    check_keys(d, ['id', 'title', 'explanation', 'steps', 'links', 'severity'], where)
    for k in ('id', 'title', 'explanation'):
        check(is_str(d[k]), f'{where}.{k} is not a string')
    check(isinstance(d['steps'], list) and all(is_str(s) for s in d['steps']),
          f'{where}.steps is not a list of strings')
    check(isinstance(d['links'], list), f'{where}.links is not a list')
    for link in d['links']:
        check_keys(link, ['title', 'url'], f'{where}.links[]')
        check(is_str(link['title']) and is_str(link['url']), f'{where}.links[] has non-strings')
    check(d['severity'] in ('error', 'warning', 'info'), f'{where}.severity is {d["severity"]!r}')


def check_json_shape(data):
    check_keys(data, ['ok', 'stage', 'error', 'reply', 'diagnosis', 'notices', 'tls',
                      'transcript', 'elapsed_ms'], 'the JSON object')
    check(type(data['ok']) is bool, 'ok is not a boolean')
    check(data['stage'] in STAGES, f'stage {data["stage"]!r} is not a known stage')
    check(data['error'] is None or is_str(data['error']), 'error is neither null nor a string')
    if data['reply'] is not None:
        r = data['reply']
        check_keys(r, ['code', 'enhanced', 'text'], 'reply')
        check(is_int(r['code']) and 200 <= r['code'] <= 599, f'reply.code is {r["code"]!r}')
        check(r['enhanced'] is None or re.fullmatch(r'[245]\.\d{1,3}\.\d{1,3}', r['enhanced']),
              f'reply.enhanced is {r["enhanced"]!r}')
        check(is_str(r['text']), 'reply.text is not a string')
    if data['diagnosis'] is not None:
        check_diagnosis_shape(data['diagnosis'], 'diagnosis')
    check(isinstance(data['notices'], list), 'notices is not a list')
    for i, n in enumerate(data['notices']):
        check_diagnosis_shape(n, f'notices[{i}]')
    if data['tls'] is not None:
        t = data['tls']
        check_keys(t, ['version', 'certificate', 'errors'], 'tls')
        # The version is unknown only when the handshake itself failed.
        check(is_str(t['version']) or (t['version'] is None and data['stage'] == 'tls'),
              f'tls.version is {t["version"]!r} at stage {data["stage"]}')
        # "certificate" is null exactly when the handshake failed before the
        # server's certificate arrived (e.g. TLS against a plain-text port);
        # otherwise it is an object of five strings, never one of nulls.
        if t['certificate'] is None:
            check(t['version'] is None and data['stage'] == 'tls',
                  f'tls.certificate is null although the handshake got further '
                  f'(version {t["version"]!r}, stage {data["stage"]})')
        else:
            check_keys(t['certificate'], ['subject', 'issuer', 'not_before', 'not_after',
                                          'sha256'], 'tls.certificate')
            for k in ('subject', 'issuer', 'not_before', 'not_after', 'sha256'):
                v = t['certificate'][k]
                check(is_str(v), f'tls.certificate.{k} is {v!r}')
        check(isinstance(t['errors'], list) and all(is_str(e) for e in t['errors']),
              'tls.errors is not a list of strings')
    check(isinstance(data['transcript'], list), 'transcript is not a list')
    for e in data['transcript']:
        check_keys(e, ['dir', 'text', 'ms'], 'transcript[]')
        check(e['dir'] in ('client', 'server', 'info'), f'transcript dir {e["dir"]!r}')
        check(is_str(e['text']) and is_int(e['ms']), f'transcript entry types: {e!r}')
    check(is_int(data['elapsed_ms']) and data['elapsed_ms'] >= 0, 'elapsed_ms is not an int')


def check_diagnosis(data, keyword):
    """A specific diagnosis (not the fallback) whose rule id names the cause."""
    d = data['diagnosis']
    check(d is not None, 'no diagnosis for a failed test')
    check(not d['id'].startswith('fallback') and keyword in d['id'],
          f'diagnosis {d["id"]!r}, expected a rule about “{keyword}”: {d["title"]}')
    check(d['title'] and d['explanation'] and d['steps'], f'diagnosis without content: {d}')


def client_lines(data):
    return [e['text'] for e in data['transcript'] if e['dir'] == 'client']


def summary(p, data):
    lines = [f'exit {p.returncode}, stage {data.get("stage")}, error {data.get("error")}',
             f'reply {data.get("reply")}']
    for e in data.get('transcript', [])[-12:]:
        lines.append(f'  {e["dir"]:>6} {e["ms"]:>5} {e["text"]}')
    return '\n'.join(lines)


def secret_forms(user, password):
    """The password and every base64 form a client could send it in."""
    pw = password.encode()
    forms = {pw}
    for blob in (b'\0' + user.encode() + b'\0' + pw,
                 user.encode() + b'\0' + user.encode() + b'\0' + pw,
                 b'\0' + user.encode() + b'@localhost\0' + pw,
                 pw):
        forms.add(base64.b64encode(blob))
    # The password at any byte offset inside any base64 stream: the groups
    # that hold only password bytes are the same for each offset mod 3.
    for k in range(3):
        enc = base64.b64encode(b'\0' * k + pw)
        start = ((k + 2) // 3) * 4
        fragment = enc[start:len(enc) - 4]
        if len(fragment) >= 8:
            forms.add(fragment)
    return forms


# ---------------------------------------------------------------------------
# A loopback listener that accepts and never greets (for Ctrl+C).
# ---------------------------------------------------------------------------

class SilentServer:
    def __init__(self):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.bind(('127.0.0.1', 0))
        self.sock.listen(4)
        self.port = self.sock.getsockname()[1]
        self.conns = []
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    def _accept(self):
        try:
            while True:
                conn, _ = self.sock.accept()
                self.conns.append(conn)
        except OSError:
            pass

    def close(self):
        for c in self.conns:
            c.close()
        self.sock.close()


# ---------------------------------------------------------------------------
# The tests
# ---------------------------------------------------------------------------

def main():
    if len(sys.argv) != 2:
        print('Usage: test-postfix.py HERALDCTL', file=sys.stderr)
        return 2
    ctx = Context(os.path.abspath(sys.argv[1]))
    tap = Tap()

    def on_term(signum, frame):
        raise SystemExit(1)
    signal.signal(signal.SIGTERM, on_term)

    # meson kills the test with SIGKILL at its 180 s timeout, and nothing
    # could stop Postfix then: give up a little earlier, cleanly.
    def on_alarm(signum, frame):
        raise Failure('watchdog: the tests ran for 160 s; giving up')
    signal.signal(signal.SIGALRM, on_alarm)
    signal.alarm(160)

    try:
        run_all(ctx, tap)
    except Failure as e:
        print(f'not ok {tap.n + 1} - {e}')
        tap.n += 1
        tap.failed += 1
    finally:
        signal.alarm(0)
        p = ctx.stop_peer()

        def t_stopped():
            check(p is not None and p.returncode == 0,
                  f'postfix-peer.sh stop failed: {p.stderr if p else "never started"}')
            conf = os.path.join(ctx.base, 'conf')
            left = []
            for pid in os.listdir('/proc'):
                if not pid.isdigit():
                    continue
                try:
                    with open(f'/proc/{pid}/environ', 'rb') as f:
                        if f'MAIL_CONFIG={conf}'.encode() in f.read().split(b'\0'):
                            if os.path.exists(f'/proc/{pid}/exe'):
                                left.append(pid)
                except OSError:
                    pass
            check(not left, f'Postfix processes left: {left}')
            busy = listening_ports() & {int(ctx.peer[k]) for k in
                                        ('SUBMISSION_PORT', 'IMPLICIT_TLS_PORT', 'PLAIN_PORT',
                                         'STARTTLS_NOAUTH_PORT') if k in ctx.peer}
            check(not busy, f'ports still listening: {sorted(busy)}')
        tap.run('Postfix stopped: no process and no listener left', t_stopped)
        tap.finish()
        if ctx.base:
            shutil.rmtree(ctx.base, ignore_errors=True)
    return 0


def listening_ports():
    ports = set()
    for path in ('/proc/net/tcp', '/proc/net/tcp6'):
        try:
            with open(path) as f:
                next(f)
                for line in f:
                    cols = line.split()
                    if cols[3] == '0A':
                        ports.add(int(cols[1].rsplit(':', 1)[1], 16))
        except OSError:
            pass
    return ports


def run_all(ctx, tap):
    started = []

    def t_start():
        ctx.start_peer()
        for k in ('SUBMISSION_PORT', 'IMPLICIT_TLS_PORT', 'PLAIN_PORT', 'STARTTLS_NOAUTH_PORT',
                  'CA_FILE', 'MAILDIR'):
            check(k in ctx.peer, f'postfix-peer.sh printed no {k}')
        ports = listening_ports()
        for k in ('SUBMISSION_PORT', 'IMPLICIT_TLS_PORT', 'PLAIN_PORT', 'STARTTLS_NOAUTH_PORT'):
            check(int(ctx.peer[k]) in ports, f'{k}={ctx.peer[k]} is not listening')
        started.append(True)
    tap.run('private Postfix starts with four loopback listeners', t_start)
    if not started:
        print('Bail out! the Postfix peer did not start')
        return

    sub = ctx.port('SUBMISSION_PORT')
    tls = ctx.port('IMPLICIT_TLS_PORT')
    plain = ctx.port('PLAIN_PORT')
    noauth = ctx.port('STARTTLS_NOAUTH_PORT')
    auth = ['--auth', 'auto', '--user', ctx.user, '--password-stdin']

    # -- success paths ----------------------------------------------------------

    subject1 = f'Herald Prüfung {ctx.tag} starttls'
    results = {}

    def t_starttls_success():
        p, data = ctx.herald_json(
            ctx.common(sub, 'starttls', subject1,
                       auth + ['--to', 'carol@example.org', '--cc', 'dave@example.net']),
            ctx.password)
        check(p.returncode == 0 and data['ok'] is True, summary(p, data))
        check(data['stage'] == 'done', f'stage {data["stage"]}')
        check(data['error'] is None, f'error {data["error"]}')
        check(data['reply'] is not None and data['reply']['code'] == 250,
              f'final reply {data["reply"]}')
        check(data['diagnosis'] is None, 'a diagnosis on success')
        check(data['tls'] is not None and data['tls']['errors'] == [],
              f'tls {data["tls"]}')
        check('localhost' in data['tls']['certificate']['subject'],
              f'certificate subject {data["tls"]["certificate"]["subject"]}')
        check(re.fullmatch(r'([0-9A-F]{2}:){31}[0-9A-F]{2}', data['tls']['certificate']['sha256']),
              'sha256 fingerprint format')
        cl = client_lines(data)
        check(any(l.upper().startswith('STARTTLS') for l in cl), 'no STARTTLS sent')
        check(any(l.upper().startswith('AUTH PLAIN') for l in cl), 'no AUTH PLAIN sent')
        i_tls = next(i for i, l in enumerate(cl) if l.upper().startswith('STARTTLS'))
        i_auth = next(i for i, l in enumerate(cl) if l.upper().startswith('AUTH'))
        check(i_tls < i_auth, 'AUTH before STARTTLS')
        rcpts = [l for l in cl if l.upper().startswith('RCPT TO')]
        check(len(rcpts) == 3, f'RCPT lines: {rcpts}')
        ms = [e['ms'] for e in data['transcript']]
        check(ms == sorted(ms), 'transcript offsets go backwards')
        results['starttls'] = data
    tap.run('STARTTLS submission with AUTH: accepted, exit 0, JSON ok', t_starttls_success)

    def t_delivered_headers():
        msgs = ctx.wait_for_mail(f'{ctx.tag} starttls', 3)
        delivered = {str(m['Delivered-To']) for m, _ in msgs}
        check(delivered == {'bob@example.com', 'carol@example.org', 'dave@example.net'},
              f'delivered to {delivered}')
        msg, raw = msgs[0]
        check(str(msg['Subject']) == subject1, f'Subject {msg["Subject"]!r}')
        raw_subject = re.search(rb'^Subject:(.*(?:\n[ \t].*)*)', raw, re.M | re.I)
        check(raw_subject and all(b < 0x80 for b in raw_subject.group(1)),
              'the non-ASCII Subject is not RFC 2047 encoded')
        check('alice@localhost' in str(msg['From']), f'From {msg["From"]!r}')
        to = str(msg['To'])
        check('bob@example.com' in to and 'carol@example.org' in to, f'To {to!r}')
        check('dave@example.net' in str(msg['Cc']), f'Cc {msg["Cc"]!r}')
        check(re.fullmatch(r'<[^<>@\s]+@[^<>@\s]+>', str(msg['Message-ID']).strip()),
              f'Message-ID {msg["Message-ID"]!r}')
        check(str(msg['MIME-Version']).strip() == '1.0', f'MIME-Version {msg["MIME-Version"]!r}')
        check(msg['Date'] is not None, 'no Date')
        check(msg.get_content_type() == 'text/plain', f'Content-Type {msg.get_content_type()}')
        check((msg.get_content_charset() or '').lower() == 'utf-8', 'charset is not utf-8')
        received = msg.get_all('Received')
        check(received and 'with ESMTPSA' in str(received[0]),
              f'first Received has no ESMTPSA: {received[:1]}')
        check('TLS' in str(received[0]), 'the Received header shows no TLS')
        body = msg.get_content()
        check('Herald' in body and 'localhost' in body, f'body: {body[:300]!r}')
        check(ctx.password not in body, 'the password is in the message body')
    tap.run('delivered message: Subject, From, To, Cc, Message-ID, MIME-Version, ESMTPSA',
            t_delivered_headers)

    def t_implicit_tls_success():
        subject = f'Herald {ctx.tag} implicit'
        p, data = ctx.herald_json(
            ctx.common(tls, 'tls', subject, ['--auth', 'login', '--user', ctx.user,
                                             '--password-stdin']),
            ctx.password)
        check(p.returncode == 0 and data['ok'] is True, summary(p, data))
        check(data['tls'] is not None and data['tls']['version'].startswith('TLS'),
              f'tls {data["tls"]}')
        cl = client_lines(data)
        check(not any(l.upper().startswith('STARTTLS') for l in cl), 'STARTTLS on implicit TLS')
        check(any(l.upper().startswith('AUTH LOGIN') for l in cl), f'no AUTH LOGIN: {cl}')
        msgs = ctx.wait_for_mail(f'{ctx.tag} implicit', 1)
        check('with ESMTPSA' in str(msgs[0][0].get_all('Received')[0]), 'no ESMTPSA')
    tap.run('implicit TLS with AUTH LOGIN: accepted, exit 0', t_implicit_tls_success)

    def t_none_plain_port():
        subject = f'Herald {ctx.tag} plain'
        p, data = ctx.herald_json(ctx.common(plain, 'none', subject, ['--auth', 'none']))
        check(p.returncode == 0 and data['ok'] is True, summary(p, data))
        check(data['tls'] is None, 'TLS details without TLS')
        msgs = ctx.wait_for_mail(f'{ctx.tag} plain', 1)
        received = str(msgs[0][0].get_all('Received')[0])
        check('with ESMTP ' in received or received.rstrip().endswith('with ESMTP'),
              f'Received: {received}')
    tap.run('security none without AUTH on the plain port: accepted', t_none_plain_port)

    def t_extra_text():
        subject = f'Herald {ctx.tag} extra'
        extra = f'Sent by the nightly job {ctx.tag}\nZweite Zeile: Prüfung ✓\n.\n.leading dot'
        p, data = ctx.herald_json(ctx.common(plain, 'none', subject,
                                             ['--auth', 'none', '--extra-text', extra]))
        check(p.returncode == 0 and data['ok'] is True, summary(p, data))
        msg, raw = ctx.wait_for_mail(f'{ctx.tag} extra', 1)[0]
        body = msg.get_content().replace('\r\n', '\n')
        # Every line arrives intact: the lone "." was dot-stuffed, not taken
        # for the end of the message.
        check(extra in body, f'--extra-text not in the body: {body[:600]!r}')
        check('Herald' in body and 'localhost' in body, f'the usual body is gone: {body[:300]!r}')
    tap.run('--extra-text: the text (several lines, UTF-8, lone dot) arrives in the body',
            t_extra_text)

    # -- failures -----------------------------------------------------------

    def t_wrong_password():
        p, data = ctx.herald_json(ctx.common(sub, 'starttls', None, auth),
                                  'wrong-' + secrets.token_hex(6), expect_status=1)
        check(data['ok'] is False, 'ok is not false')
        check(data['stage'] == 'auth', summary(p, data))
        check(data['reply'] is not None and data['reply']['code'] == 535, summary(p, data))
        check(data['reply']['enhanced'] == '5.7.8', f'enhanced {data["reply"]["enhanced"]}')
        check('authentication failed' in data['reply']['text'], data['reply']['text'])
        check(is_str(data['error']) and data['error'], 'no error message')
        cl = client_lines(data)
        check(not any(l.upper().startswith('MAIL FROM') for l in cl),
              f'MAIL FROM after a failed AUTH: {cl}')
        check(sum(1 for l in cl if l.upper().startswith('AUTH')) == 1, f'AUTH retried: {cl}')
        check_diagnosis(data, 'auth')
    tap.run('wrong password: Postfix 535 5.7.8, stage auth, exit 1, no MAIL FROM',
            t_wrong_password)

    def t_relay_denied():
        p, data = ctx.herald_json(ctx.common(sub, 'starttls', None, ['--auth', 'none']),
                                  expect_status=1)
        check(data['stage'] == 'rcpt', summary(p, data))
        check(data['reply'] is not None and data['reply']['code'] == 554, summary(p, data))
        check(data['reply']['enhanced'] == '5.7.1', f'enhanced {data["reply"]["enhanced"]}')
        check('Relay access denied' in data['reply']['text'], data['reply']['text'])
        check(not any(l.upper().startswith('AUTH') for l in client_lines(data)), 'AUTH sent')
        check_diagnosis(data, 'relay')
    tap.run('relay without AUTH: Postfix 554 5.7.1 Relay access denied, stage rcpt, exit 1',
            t_relay_denied)

    def t_plaintext_auth_refused():
        p, data = ctx.herald_json(ctx.common(plain, 'none', None, auth), ctx.password,
                                  expect_status=1)
        check(data['ok'] is False, 'ok')
        cl = client_lines(data)
        check(not any(l.upper().startswith('AUTH') for l in cl), f'AUTH sent in plaintext: {cl}')
        check(not any(l.upper().startswith('MAIL FROM') for l in cl), f'MAIL FROM sent: {cl}')
        check(data['stage'] in ('ehlo', 'auth'), summary(p, data))
        check_diagnosis(data, 'plaintext')
    tap.run('security none with a password, no --allow-plaintext-auth: refused, no AUTH sent',
            t_plaintext_auth_refused)

    def t_starttls_not_offered():
        p, data = ctx.herald_json(ctx.common(plain, 'starttls', None, auth), ctx.password,
                                  expect_status=1)
        check(data['stage'] in ('ehlo', 'starttls'), summary(p, data))
        check_diagnosis(data, 'starttls')
        cl = client_lines(data)
        check(not any(l.upper().startswith('AUTH') for l in cl), f'credentials sent: {cl}')
        check(not any(l.upper().startswith('MAIL FROM') for l in cl), f'MAIL FROM sent: {cl}')
    tap.run('STARTTLS required against the plain port: stops, no credentials sent',
            t_starttls_not_offered)

    def t_no_auth_offered():
        p, data = ctx.herald_json(ctx.common(noauth, 'starttls', None, auth), ctx.password,
                                  expect_status=1)
        check(data['stage'] == 'auth', summary(p, data))
        check(data['tls'] is not None, 'no TLS details although STARTTLS ran')
        check_diagnosis(data, 'auth')
        cl = client_lines(data)
        check(not any(l.upper().startswith('AUTH') for l in cl), f'AUTH sent: {cl}')
    tap.run('STARTTLS port without AUTH, password given: stage auth, nothing sent',
            t_no_auth_offered)

    def t_untrusted_ca():
        args = ctx.common(sub, 'starttls', None, auth)
        i = args.index('--ca-file')
        del args[i:i + 2]
        p, data = ctx.herald_json(args, ctx.password, expect_status=1)
        check(data['stage'] == 'tls', summary(p, data))
        check(data['tls'] is not None and 'unknown-ca' in data['tls']['errors'],
              f'tls {data["tls"]}')
        check(data['tls']['certificate']['sha256'], 'no fingerprint')
        check_diagnosis(data, 'unknown-ca')
        cl = client_lines(data)
        i_tls = next((i for i, l in enumerate(cl) if l.upper().startswith('STARTTLS')), None)
        check(i_tls is not None, 'no STARTTLS')
        after = [l for l in cl[i_tls + 1:] if not l.upper().startswith('QUIT')]
        check(not after, f'sent after a failed handshake: {after}')
    tap.run('test CA not trusted (no --ca-file): stage tls, unknown-ca, nothing sent',
            t_untrusted_ca)

    def t_wrong_port_modes():
        # SSL/TLS against the STARTTLS port: the handshake meets a plain greeting.
        p, data = ctx.herald_json(ctx.common(sub, 'tls', None, auth + ['--timeout', '5']),
                                  ctx.password, expect_status=1)
        check(data['stage'] == 'tls', summary(p, data))
        # A handshake was attempted ("tls" is an object) but no certificate came.
        check(data['tls'] is not None and data['tls']['certificate'] is None,
              f'tls {data["tls"]}: want an object with "certificate": null')
        check_diagnosis(data, 'tls')
        check(client_lines(data) == [], f'sent on a failed handshake: {client_lines(data)}')
        # STARTTLS against the implicit-TLS port: the server waits for a handshake.
        p, data = ctx.herald_json(ctx.common(tls, 'starttls', None, auth + ['--timeout', '2']),
                                  ctx.password, expect_status=1)
        check(data['stage'] == 'greeting', summary(p, data))
        check(data['tls'] is None, f'tls {data["tls"]}: no handshake was attempted')
        check_diagnosis(data, 'implicit-tls')
        check(client_lines(data) == [], f'sent without a greeting: {client_lines(data)}')
        # Nobody listening.
        closed = max(listening_ports() | {40000}) + 1
        while closed in listening_ports():
            closed += 1
        p, data = ctx.herald_json(['--server', '127.0.0.1', '--port', str(closed),
                                   '--security', 'starttls', '--auth', 'none',
                                   '--from', 'alice@localhost', '--to', 'bob@example.com'],
                                  expect_status=1)
        check(data['stage'] == 'connect', summary(p, data))
        check_diagnosis(data, 'refused')
    tap.run('port/security mix-ups and a closed port: specific diagnoses, nothing sent',
            t_wrong_port_modes)

    # -- human output ---------------------------------------------------------

    def t_human_success():
        subject = f'Herald {ctx.tag} human'
        p = ctx.herald(ctx.common(sub, 'starttls', subject, auth), ctx.password)
        check(p.returncode == 0, f'exit {p.returncode}\n{p.out}\n{p.err}')
        lines = p.out.splitlines()
        order = [re.sub(r'\s+(\d+ ms|\d+\.\d s)$', '', l.strip()) for l in lines if l.startswith('  ✓')]
        want = ['✓ Connect', '✓ Greeting', '✓ Encrypt (TLS)', '✓ Log in', '✓ Send']
        check([s for s in order if s in want] == want, f'step list:\n{p.out}')
        check(all(re.search(r'(\d+ ms|\d+\.\d s)$', l) for l in lines if l.startswith('  ✓')),
              f'steps without durations:\n{p.out}')
        check('Test email sent to bob@example.com' in p.out, p.out)
        check('250' in p.out, p.out)
        check(not p.out.lstrip().startswith('{'), 'JSON in human mode')
    tap.run('human output: live step list with durations and the verdict', t_human_success)

    def t_human_failure():
        p = ctx.herald(ctx.common(sub, 'starttls', None, auth), 'nope-' + secrets.token_hex(4))
        check(p.returncode == 1, f'exit {p.returncode}')
        check(re.search(r'^  ✗ Log in', p.out, re.M), f'no failed step:\n{p.out}')
        check('Test failed at stage “auth”' in p.out, p.out)
        check('535' in p.out, p.out)
    tap.run('human output on failure: ✗ Log in, the stage, the reply, a diagnosis',
            t_human_failure)

    def t_terminal_no_echo():
        import pty
        argv = [ctx.heraldctl, 'test'] + ctx.common(sub, 'starttls', f'Herald {ctx.tag} tty', auth)
        pid, fd = pty.fork()
        if pid == 0:
            try:
                os.execve(ctx.heraldctl, argv, ctx.env)
            finally:
                os._exit(127)
        import select
        out = b''

        def read_some(until):
            nonlocal out
            while time.monotonic() < until:
                ready, _, _ = select.select([fd], [], [], 0.2)
                if not ready:
                    continue
                try:
                    chunk = os.read(fd, 4096)
                except OSError:
                    return False
                if not chunk:
                    return False
                out += chunk
                if b'Password:' in out and not prompted:
                    return True
            return True

        prompted = False
        read_some(time.monotonic() + 10)
        prompted = True
        try:
            if b'Password:' in out:
                os.write(fd, ctx.password.encode() + b'\n')
            read_some(time.monotonic() + 30)
        finally:
            done, status = os.waitpid(pid, os.WNOHANG)
            if done == 0:
                os.kill(pid, signal.SIGKILL)
                _, status = os.waitpid(pid, 0)
            os.close(fd)
        ctx.captured.append(out)
        check(b'Password:' in out, f'no prompt on a terminal: {out[:300]!r}')
        check(ctx.password.encode() not in out, 'the password was echoed to the terminal')
        check(os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0,
              f'status {status}: {out.decode(errors="replace")}')
        check('Test email sent' in out.decode('utf-8', 'replace'), out.decode(errors='replace'))
    tap.run('--password-stdin on a terminal prompts without echo', t_terminal_no_echo)

    # -- usage ----------------------------------------------------------------

    def t_usage():
        base = ctx.common(sub, 'starttls', None, ['--auth', 'none'])
        cases = [
            (['--security', 'ssl'], 'security'),
            (['--auth', 'cram-md5'], 'auth'),
            (['--port', '0'], 'port'),
            (['--port', '70000'], 'port'),
            (['--port', 'abc'], 'port'),
            (['--timeout', '0'], 'timeout'),
            (['--ca-file', os.path.join(ctx.base, 'does-not-exist.pem')], 'does-not-exist'),
            (['--ca-file', os.path.join(ctx.base, 'conf', 'main.cf')], 'main.cf'),
            (['--to', 'not-an-address'], 'not-an-address'),
            (['--from', 'bad@'], 'bad@'),
            (['--bogus-option'], 'bogus'),
            (['--subject', 'hi\r\nBcc: evil@example.com'], 'line break'),
            (['--auth', 'plain', '--user', 'alice\r\nMAIL FROM:<x@y>'], 'line break'),
            (['--to', 'bob@example.com\r\nRCPT TO:<x@y>'], 'RCPT'),
        ]
        for extra, word in cases:
            p = ctx.herald(base + extra + ['--json'])
            check(p.returncode == 2, f'{extra}: exit {p.returncode}, expected 2\n{p.err}')
            check(p.out == '', f'{extra}: stdout not empty in --json mode: {p.out!r}')
            check(word in p.err, f'{extra}: the message does not name “{word}”: {p.err!r}')
        # Required values missing (settings are empty in the test environment).
        for drop, word in (('--server', 'server'), ('--from', 'sender'), ('--to', 'recipient')):
            args = list(base)
            i = args.index(drop)
            del args[i:i + 2]
            p = ctx.herald(args)
            check(p.returncode == 2, f'without {drop}: exit {p.returncode}\n{p.err}')
            check(word in p.err, f'without {drop}: {p.err!r}')
        p = ctx.herald(base + ['--password-stdin'], '')
        check(p.returncode == 2 and 'password' in p.err, f'empty password: {p.returncode} {p.err}')
    tap.run('bad usage exits 2 with a clear message and nothing on stdout', t_usage)

    def t_no_password_anywhere():
        args = ctx.common(sub, 'starttls', None, ['--auth', 'plain', '--user', 'nobody-' + ctx.tag])
        p = ctx.herald(args)
        check(p.returncode == 1, f'exit {p.returncode}: {p.err}')
        check('keyring' in p.err and '--password-stdin' in p.err, p.err)
        check(p.out == '', f'stdout: {p.out!r}')
        # --json still prints its one object, and nothing was sent.
        p, data = ctx.herald_json(args, expect_status=1)
        check(data['ok'] is False and data['stage'] == 'auth', summary(p, data))
        check('keyring' in data['error'], data['error'])
        check(data['transcript'] == [] and data['diagnosis'] is not None, summary(p, data))
    tap.run('no password on stdin or in the keyring: exit 1, says so', t_no_password_anywhere)

    def t_settings_fallback():
        home = os.path.join(ctx.base, 'settings-home')
        os.makedirs(os.path.join(home, 'glib-2.0', 'settings'), exist_ok=True)
        with open(os.path.join(home, 'glib-2.0', 'settings', 'keyfile'), 'w') as f:
            f.write('[io/github/heraldmail/Herald]\n'
                    "server='localhost'\n"
                    f'port={sub}\n'
                    "security='starttls'\n"
                    "auth='plain'\n"
                    f"username='{ctx.user}'\n"
                    "from='alice@localhost'\n"
                    "to='bob@example.com; carol@example.org'\n"
                    "cc='dave@example.net'\n"
                    f"subject='Herald {ctx.tag} settings'\n"
                    f"ca-file='{ctx.peer['CA_FILE']}'\n"
                    f"extra-text='Saved note {ctx.tag}: backup server B7'\n"
                    'timeout=15\n')
        env = dict(ctx.env, GSETTINGS_BACKEND='keyfile', XDG_CONFIG_HOME=home)
        saved = ctx.env
        ctx.env = env
        try:
            # Nothing but the password on the command line: all from the settings.
            p, data = ctx.herald_json(['--password-stdin'], ctx.password)
            check(p.returncode == 0 and data['ok'] is True, summary(p, data))
            rcpts = [l for l in client_lines(data) if l.upper().startswith('RCPT TO')]
            check(len(rcpts) == 3, f'RCPT lines: {rcpts}')
            check(any(l.upper().startswith('AUTH PLAIN') for l in client_lines(data)),
                  'the saved auth method was not used')
            msgs = ctx.wait_for_mail(f'{ctx.tag} settings', 3)
            check('with ESMTPSA' in str(msgs[0][0].get_all('Received')[0]), 'no ESMTPSA')
            body = msgs[0][0].get_content()
            check(f'Saved note {ctx.tag}: backup server B7' in body,
                  f'the saved extra-text is not in the body: {body[:400]!r}')
            # The command line wins over the settings.
            p, data = ctx.herald_json(['--port', plain, '--security', 'none', '--auth', 'none',
                                       '--to', 'erin@example.com'])
            check(p.returncode == 0 and data['ok'] is True, summary(p, data))
            rcpts = [l for l in client_lines(data) if l.upper().startswith('RCPT TO')]
            check(rcpts == ['RCPT TO:<erin@example.com>', 'RCPT TO:<dave@example.net>'],
                  f'RCPT lines: {rcpts}')
            check(data['tls'] is None, 'TLS although --security none')
        finally:
            ctx.env = saved
        # No schema at all: a clear message, not an abort.
        empty = os.path.join(ctx.base, 'no-schemas')
        os.makedirs(empty, exist_ok=True)
        env = dict(ctx.env, GSETTINGS_SCHEMA_DIR=empty, XDG_DATA_DIRS=empty)
        p = subprocess.run([ctx.heraldctl, 'test', '--json'], stdin=subprocess.DEVNULL,
                           capture_output=True, env=env, timeout=30)
        ctx.captured += [p.stdout, p.stderr]
        err = p.stderr.decode('utf-8', 'replace')
        check(p.returncode == 2, f'without a schema: exit {p.returncode}: {err}')
        check('not installed' in err and '--server' in err, err)
        p = subprocess.run([ctx.heraldctl, 'test', '--json'] +
                           ctx.common(plain, 'none', None, ['--auth', 'none']),
                           stdin=subprocess.DEVNULL, capture_output=True, env=env, timeout=30)
        ctx.captured += [p.stdout, p.stderr]
        check(p.returncode == 0, f'without a schema, all options given: exit {p.returncode}')
    tap.run('saved settings fill in every option not given; the command line wins',
            t_settings_fallback)

    def t_keyring_password():
        attrs = ['xdg:schema', 'io.github.heraldmail.Herald.Password',
                 'server', 'localhost', 'port', sub, 'username', ctx.user]
        store = subprocess.run(['secret-tool', 'store', '--label', 'Herald Postfix test'] + attrs,
                               input=ctx.password.encode(), capture_output=True, env=ctx.env,
                               timeout=30)
        check(store.returncode == 0,
              'could not store the password with secret-tool (the test needs the keyring of '
              f'build-aux/test-session.sh): {store.stderr.decode(errors="replace")}')
        try:
            subject = f'Herald {ctx.tag} keyring'
            p, data = ctx.herald_json(ctx.common(sub, 'starttls', subject,
                                                 ['--auth', 'plain', '--user', ctx.user]))
            check(p.returncode == 0 and data['ok'] is True, summary(p, data))
            ctx.wait_for_mail(f'{ctx.tag} keyring', 1)
        finally:
            subprocess.run(['secret-tool', 'clear'] + attrs, capture_output=True, env=ctx.env,
                           timeout=30)
    tap.run('password from the keyring when --password-stdin is not given: accepted',
            t_keyring_password)

    def t_keyring_unavailable():
        env = dict(ctx.env, DBUS_SESSION_BUS_ADDRESS='unix:path=/nonexistent/herald-bus')
        env.pop('DISPLAY', None)
        saved = ctx.env
        ctx.env = env
        try:
            p, data = ctx.herald_json(ctx.common(sub, 'starttls', None,
                                                 ['--auth', 'plain', '--user', ctx.user]),
                                      expect_status=1)
        finally:
            ctx.env = saved
        check('keyring' in p.err and '--password-stdin' in p.err, p.err)
        check(data['ok'] is False and data['stage'] == 'auth', summary(p, data))
        check('keyring' in data['error'] and data['transcript'] == [], summary(p, data))
    tap.run('no Secret Service: exit 1 with a clear message, no crash', t_keyring_unavailable)

    # -- Ctrl+C -----------------------------------------------------------------

    def t_sigint():
        server = SilentServer()
        try:
            args = ['test', '--server', '127.0.0.1', '--port', str(server.port),
                    '--security', 'none', '--auth', 'none', '--from', 'alice@localhost',
                    '--to', 'bob@example.com', '--timeout', '60', '--json']
            proc = subprocess.Popen([ctx.heraldctl] + args, stdin=subprocess.DEVNULL,
                                    stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=ctx.env)
            deadline = time.monotonic() + 10
            while not server.conns and time.monotonic() < deadline:
                time.sleep(0.05)
            check(server.conns, 'heraldctl never connected')
            time.sleep(0.2)
            t0 = time.monotonic()
            proc.send_signal(signal.SIGINT)
            try:
                out, err = proc.communicate(timeout=5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.communicate()
                raise Failure('heraldctl did not stop within 5 s of SIGINT')
            ctx.captured += [out, err]
            took = time.monotonic() - t0
            check(proc.returncode == 1, f'exit {proc.returncode} after SIGINT: {err!r}')
            import json
            data = json.loads(out)
            check_json_shape(data)
            check(data['ok'] is False and data['stage'] == 'greeting',
                  f'stage {data["stage"]}, error {data["error"]}')
            # The 60 s timeout would be the only other way out: finishing long
            # before it shows the cancel worked (no tight bound: machines vary).
            check(took < 5, f'cancelling took {took:.2f} s')
        finally:
            server.close()
    tap.run('SIGINT cancels a hanging test cleanly (exit 1, JSON still printed)', t_sigint)

    def t_timeout_option():
        server = SilentServer()
        try:
            t0 = time.monotonic()
            p, data = ctx.herald_json(['--server', '127.0.0.1', '--port', str(server.port),
                                       '--security', 'none', '--auth', 'none',
                                       '--from', 'alice@localhost', '--to', 'bob@example.com',
                                       '--timeout', '1'], expect_status=1)
            took = time.monotonic() - t0
            check(data['stage'] == 'greeting', summary(p, data))
            # Well under the default 20 s, so the option reached the engine.
            check(0.8 <= took < 10, f'--timeout 1 took {took:.2f} s')
        finally:
            server.close()
    tap.run('--timeout is honoured: a server that never greets fails at greeting',
            t_timeout_option)

    def t_deadline_option():
        server = SilentServer()
        try:
            t0 = time.monotonic()
            # The reply timeout (20 s) alone would wait longer: the deadline ends it.
            p, data = ctx.herald_json(['--server', '127.0.0.1', '--port', str(server.port),
                                       '--security', 'none', '--auth', 'none',
                                       '--from', 'alice@localhost', '--to', 'bob@example.com',
                                       '--timeout', '20', '--deadline', '2'], expect_status=1)
            took = time.monotonic() - t0
            check(data['stage'] == 'greeting', summary(p, data))
            check('took longer than 2 s' in data['error'], summary(p, data))
            check(1.8 <= took < 10, f'--deadline 2 took {took:.2f} s')
        finally:
            server.close()
        bad = ctx.herald(['--server', 'localhost', '--port', '25', '--security', 'none',
                          '--auth', 'none', '--from', 'alice@localhost',
                          '--to', 'bob@example.com', '--deadline', '0'])
        check(bad.returncode == 2 and '--deadline' in bad.err and bad.out == '',
              f'--deadline 0: exit {bad.returncode}\n{bad.err}')
    tap.run('--deadline bounds the whole test, with an error that says so', t_deadline_option)

    # -- secrets ------------------------------------------------------------------

    def t_no_secrets():
        check(len(ctx.captured) >= 20, f'only {len(ctx.captured)} outputs captured')
        forms = secret_forms(ctx.user, ctx.password)
        for i, blob in enumerate(ctx.captured):
            for form in forms:
                check(form not in blob,
                      f'output {i} contains the password or a base64 form of it')
        # The AUTH command is in the transcript, with its payload replaced.
        tr = [e['text'] for e in results.get('starttls', {}).get('transcript', [])
              if e['dir'] == 'client' and e['text'].upper().startswith('AUTH PLAIN')]
        check(len(tr) == 1, f'AUTH lines in the successful transcript: {tr}')
    tap.run('no output, JSON or transcript contains the password or its base64 forms',
            t_no_secrets)


if __name__ == '__main__':
    sys.exit(main())
