#!/usr/bin/python3
# SPDX-License-Identifier: GPL-3.0-or-later
# Copyright 2026 The Herald authors
"""heraldctl relay in front of the real Postfix fixture, with real clients
(swaks, Python's smtplib, msmtp) on loopback (TAP).

127.0.0.1 is the admin's own machine (relay-allow-unauthenticated is set to
127.0.0.1/32 with `heraldctl config set`); clients bound to 127.0.0.2 stand
in for LAN devices, which must log in over TLS with a device user. The
profile delivers to Postfix's submission port with STARTTLS and AUTH PLAIN
(password in the test session's keyring), like a real upstream. Postfix
delivers each accepted message to a Maildir, one file per recipient.

Usage: test-relay.py HERALDCTL
"""

import base64
import glob
import json
import os
import secrets
import shutil
import signal
import smtplib
import socket
import ssl
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, '..', 'postfix'))
from peer import Failure, Tap, check  # noqa: E402
from peerctx import PeerContext  # noqa: E402
DEVICE = '127.0.0.2'




class Relay:
    """One heraldctl relay process on 127.0.0.1:<free port>."""

    def __init__(self, ctx, extra_args=()):
        self.ctx = ctx
        self.proc = subprocess.Popen([ctx.heraldctl, 'relay', '--listen', '127.0.0.1:0',
                                      *extra_args],
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                     env=ctx.env)
        self.lines = []
        self.err = []
        self.port = None
        self.fingerprint = None
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            line = self.proc.stdout.readline().decode('utf-8', 'replace')
            if not line:
                break
            self.lines.append(line)
            if 'listening on 127.0.0.1:' in line:
                self.port = int(line.rsplit(':', 1)[1])
            if line.startswith('SHA-256 fingerprint: '):
                self.fingerprint = line.split(': ', 1)[1].strip()
            if line.startswith('Delivering with'):
                break
        self.reader = threading.Thread(target=self._drain, daemon=True)
        self.reader.start()
        self.err_reader = threading.Thread(target=self._drain_err, daemon=True)
        self.err_reader.start()
        if self.port is None or self.fingerprint is None:
            self.proc.kill()
            self.proc.wait()
            raise Failure('the relay did not start:\n' + ''.join(self.lines) +
                          ''.join(self.err))

    def _drain(self):
        for raw in self.proc.stdout:
            self.lines.append(raw.decode('utf-8', 'replace'))

    def _drain_err(self):
        for raw in self.proc.stderr:
            self.err.append(raw.decode('utf-8', 'replace'))

    def output(self):
        return ''.join(self.lines) + ''.join(self.err)

    def wait_output(self, text, timeout=30):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if text in self.output():
                return
            time.sleep(0.1)
        raise Failure(f'the relay never printed {text!r}:\n{self.output()}')

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                raise Failure('the relay did not stop on SIGTERM')
        self.reader.join(timeout=5)
        self.err_reader.join(timeout=5)
        self.ctx.captured.append(self.output().encode())

    def kill(self):
        self.proc.kill()
        self.proc.wait()
        self.reader.join(timeout=5)
        self.err_reader.join(timeout=5)
        self.ctx.captured.append(self.output().encode())


class Context(PeerContext):
    def __init__(self, heraldctl):
        super().__init__(heraldctl, 'herald-relay-')
        self.device_password = 'Dv-' + secrets.token_urlsafe(15)   # printer1's
        self.queue_dir = os.path.join(self.tmp, 'state', 'herald', 'queue')
        self.relay_dir = os.path.join(self.tmp, 'state', 'herald', 'relay')
        self.relay = None

    def start_relay(self, *args):
        if self.relay is not None:
            self.relay.stop()
        self.relay = Relay(self, args)
        return self.relay

    def queue_meta(self):
        """{id: {key: value}} of every queue entry, read from the metadata files."""
        out = {}
        for path in glob.glob(os.path.join(self.queue_dir, '*.meta')):
            entry = {}
            with open(path, encoding='utf-8') as f:
                for line in f:
                    key, sep, value = line.rstrip('\n').partition('=')
                    if sep:
                        entry[key] = value
            out[os.path.basename(path)[:-5]] = entry
        return out

    # -- delivered mail -----------------------------------------------------------

    def wait_note(self):
        return f'\nrelay output:\n{self.relay.output() if self.relay else ""}'

    def wait_for(self, tag, count, timeout=30):
        return super().wait_for(tag, count, timeout, settle=0.5)


def message(tag, sender='scanner@printers.lan', to='bob@example.com', extra='', body='Body\n'):
    return (f'From: Scanner <{sender}>\r\nTo: {to}\r\nSubject: {tag}\r\n{extra}\r\n'
            f'{body}').replace('\r\n', '\n').replace('\n', '\r\n').encode()


def tls_context(ctx):
    """Trusts exactly the relay's certificate (what a device pins)."""
    context = ssl.create_default_context(cafile=os.path.join(ctx.relay_dir, 'cert.pem'))
    return context


def device_smtp(ctx, port, source=DEVICE):
    # "localhost" is a name the created certificate carries; the client is
    # bound to the device address.
    return smtplib.SMTP('127.0.0.1', port, source_address=(source, 0), timeout=30,
                        local_hostname='printer1.lan')


def starttls(client, ctx):
    # smtplib checks the name it connected to; the certificate names
    # localhost and 127.0.0.1.
    client._host = 'localhost'
    client.starttls(context=tls_context(ctx))
    client.ehlo('printer1.lan')


class Raw:
    """A line-level SMTP client for what smtplib will not do."""

    def __init__(self, port, source='127.0.0.1', timeout=20):
        self.sock = socket.create_connection(('127.0.0.1', port), timeout=timeout,
                                             source_address=(source, 0))
        self.buf = b''

    def send(self, data):
        self.sock.sendall(data)

    def line(self):
        while b'\n' not in self.buf:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise EOFError(self.buf)
            self.buf += chunk
        line, _, self.buf = self.buf.partition(b'\n')
        return line.rstrip(b'\r').decode('ascii', 'replace')

    def reply(self):
        lines = []
        while True:
            line = self.line()
            lines.append(line)
            if len(line) < 4 or line[3] != '-':
                return lines

    def closed(self, timeout=10):
        self.sock.settimeout(timeout)
        try:
            while True:
                chunk = self.sock.recv(65536)
                if not chunk:
                    return True
                self.buf += chunk
        except (ConnectionResetError, BrokenPipeError):
            return True
        except socket.timeout:
            return False

    def close(self):
        self.sock.close()


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
    ctx.ok(['config', 'set', 'to', 'admin@example.com'])
    ctx.ok(['config', 'set', 'ca-file', ctx.peer['CA_FILE']])
    ctx.ok(['config', 'set', 'alerts-enabled', 'true'])
    ctx.ok(['config', 'password', '--stdin'], stdin=(ctx.password + '\n').encode())
    # The relay's settings, checked like every other.
    ctx.ok(['config', 'set', 'relay-allow-unauthenticated', '127.0.0.1/32'])
    ctx.ok(['config', 'set', 'relay-allow-unauthenticated', '10.0.0.0/33'], status=64)
    ctx.ok(['config', 'set', 'relay-allow-unauthenticated', 'printer.lan'], status=64)
    ctx.ok(['config', 'set', 'relay-listen', 'localhost:2525'], status=64)
    ctx.ok(['config', 'set', 'relay-listen', '127.0.0.1'], status=64)
    ctx.ok(['config', 'set', 'relay-listen', '127.0.0.1:2525, [::1]:2525'])
    ctx.ok(['config', 'set', 'relay-max-size', '100'], status=64)
    shown = ctx.ok(['config', 'show']).out
    check('relay-allow-unauthenticated' in shown and '127.0.0.1/32' in shown, shown)


def test_users(ctx):
    p = ctx.ok(['relay', 'user', 'add', 'printer1', '--password-stdin'],
               stdin=(ctx.device_password + '\n').encode())
    check('printer1' in p.out, p.out)
    ctx.ok(['relay', 'user', 'add', 'scanner', '--password-stdin'], stdin=b'other-pass-123\n')
    ctx.ok(['relay', 'user', 'add', 'short', '--password-stdin'], stdin=b'abc\n', status=65)
    ctx.ok(['relay', 'user', 'add', 'bad name', '--password-stdin'], stdin=b'abcdefghij\n',
           status=64)
    ctx.ok(['relay', 'user', 'add', 'x', '--password', 'abcdefghij'], status=64)
    ctx.ok(['relay', 'user', 'add', 'x'], status=64)
    p = ctx.ok(['relay', 'user', 'list'])
    check(p.out.split() == ['printer1', 'scanner'], f'list: {p.out!r}')
    ctx.ok(['relay', 'user', 'remove', 'scanner'])
    ctx.ok(['relay', 'user', 'remove', 'scanner'], status=67)
    p = ctx.ok(['relay', 'user', 'list'])
    check(p.out.split() == ['printer1'], f'list: {p.out!r}')
    path = os.path.join(ctx.relay_dir, 'users')
    mode = os.stat(path).st_mode & 0o777
    check(mode == 0o600, f'users file mode {oct(mode)}')
    with open(path) as f:
        text = f.read()
    check('pbkdf2-sha256:600000:' in text, f'not a slow salted hash:\n{text}')


HOSTILE = '\x1b]0;pwned\x07\x1b[2J unit\x1fsep \u202eexe.txt quote " and \\ back del\x7f c1\x85'


def doctor_checks(ctx):
    p = ctx.run(['doctor', '--user', '--json'])
    raw = [b for b in (b'\x1b', b'\x07', b'\x1f', b'\x7f', b'\xc2\x85', b'\xe2\x80\xae')
           if b in p.stdout]
    check(not raw, f'raw control characters in the JSON: {raw}')
    try:
        data = json.loads(p.stdout)   # strict: raw controls and invalid UTF-8 fail
    except ValueError as e:
        raise Failure(f'doctor --json is not JSON: {e}\n{p.stdout[:500]!r}')
    return {c['id']: c for c in data['checks']}


def test_doctor(ctx):
    relay = ctx.relay
    checks = doctor_checks(ctx)
    c = checks.get('relay-certificate')
    check(c is not None and c['status'] == 'ok' and relay.fingerprint in c['detail'] and
          c['fix'] is None, c)
    p = ctx.run(['doctor', '--user'])
    check('The relay has a TLS certificate' in p.out and relay.fingerprint in p.out, p.out)
    # A configured certificate at a hostile path, then one that is not a
    # certificate: strict JSON either way, the fingerprint or a warning.
    hostile_dir = os.path.join(ctx.tmp, 'certs ' + HOSTILE)
    os.makedirs(hostile_dir)
    good = os.path.join(hostile_dir, 'relay' + HOSTILE + '.pem')
    shutil.copy(os.path.join(ctx.relay_dir, 'cert.pem'), good)
    bad = os.path.join(hostile_dir, 'junk' + HOSTILE + '.pem')
    with open(bad, 'w') as f:
        f.write('-----BEGIN CERTIFICATE-----\n' + HOSTILE + '\n-----END CERTIFICATE-----\n')
    try:
        ctx.ok(['config', 'set', 'relay-tls-cert', good])
        c = doctor_checks(ctx)['relay-certificate']
        check(c['status'] == 'ok' and relay.fingerprint in c['detail'] and 'pwned' in c['detail'],
              c)
        ctx.ok(['config', 'set', 'relay-tls-cert', bad])
        c = doctor_checks(ctx)['relay-certificate']
        check(c['status'] == 'warn' and relay.fingerprint not in c['detail'], c)
    finally:
        ctx.ok(['config', 'set', 'relay-tls-cert', ''])
    # No certificate anywhere: doctor says nothing about a relay.
    os.rename(os.path.join(ctx.relay_dir, 'cert.pem'), os.path.join(ctx.relay_dir, 'cert.away'))
    try:
        check('relay-certificate' not in doctor_checks(ctx), 'a relay check without a relay')
    finally:
        os.rename(os.path.join(ctx.relay_dir, 'cert.away'),
                  os.path.join(ctx.relay_dir, 'cert.pem'))


def test_start(ctx):
    relay = ctx.start_relay()
    check(len(relay.fingerprint.split(':')) == 32, f'fingerprint: {relay.fingerprint}')
    # The fingerprint printed is the certificate's on disk.
    p = subprocess.run(['openssl', 'x509', '-in', os.path.join(ctx.relay_dir, 'cert.pem'),
                        '-noout', '-fingerprint', '-sha256'], capture_output=True, text=True)
    check(relay.fingerprint in p.stdout, f'{relay.fingerprint} vs {p.stdout}')
    mode = os.stat(os.path.join(ctx.relay_dir, 'key.pem')).st_mode & 0o777
    check(mode == 0o600, f'key mode {oct(mode)}')
    p = subprocess.run(['openssl', 'x509', '-in', os.path.join(ctx.relay_dir, 'cert.pem'),
                        '-noout', '-text'], capture_output=True, text=True)
    check('prime256v1' in p.stdout and 'DNS:localhost' in p.stdout and
          'IP Address:127.0.0.1' in p.stdout, p.stdout)


def test_allowed_without_auth(ctx):
    tag = 'local-' + secrets.token_hex(4)
    with smtplib.SMTP('127.0.0.1', ctx.relay.port, timeout=30) as c:
        code, caps = c.ehlo('monitor.local')
        caps = caps.decode()
        for ext in ('PIPELINING', 'SIZE 26214400', 'STARTTLS', 'ENHANCEDSTATUSCODES', '8BITMIME',
                    'CHUNKING'):
            check(ext in caps, f'EHLO lacks {ext}:\n{caps}')
        check('AUTH' not in caps, f'AUTH offered before TLS:\n{caps}')
        refused = c.sendmail('monitor@web1.lan', ['bob@example.com'],
                             message(tag, 'monitor@web1.lan', extra='Bcc: hidden@example.net\r\n'))
        check(refused == {}, f'refused: {refused}')
    (msg, raw), = ctx.wait_for(tag, 1)
    check(str(msg['Delivered-To']) == 'bob@example.com', f'{msg["Delivered-To"]}')
    # Sender rewriting as heraldctl send does it.
    check(msg['From'].addresses[0].addr_spec == 'alice@localhost', f'From: {msg["From"]}')
    check('monitor@web1.lan' in str(msg['X-Herald-Original-From']),
          f'X-Herald-Original-From: {msg["X-Herald-Original-From"]}')
    check(msg['Bcc'] is None, 'a Bcc header was delivered')
    ctx.relay.wait_output(' sent')


def test_outsider_refused(ctx):
    r = Raw(ctx.relay.port, source=DEVICE)
    check(r.reply()[0].startswith('220 '), 'no greeting')
    r.send(b'EHLO printer1.lan\r\n')
    caps = r.reply()
    check(not any('AUTH' in c for c in caps), f'AUTH offered before TLS: {caps}')
    r.send(b'MAIL FROM:<scanner@printers.lan>\r\n')
    check(r.reply() == ['530 5.7.0 Authentication required'], 'MAIL without AUTH not refused')
    r.send(b'RCPT TO:<bob@example.com>\r\n')
    check(r.reply()[0].startswith('503 5.5.1'), 'RCPT without MAIL accepted')
    r.send(b'DATA\r\n')
    check(r.reply()[0].startswith('503 5.5.1'), 'DATA accepted')
    auth = base64.b64encode(b'\0printer1\0' + ctx.device_password.encode())
    r.send(b'AUTH PLAIN ' + auth + b'\r\n')
    check(r.reply() == ['538 5.7.11 Encryption required for requested authentication mechanism'],
          'AUTH without TLS not refused with 538')
    r.send(b'AUTH LOGIN\r\n')
    check(r.reply()[0].startswith('538 5.7.11'), 'AUTH LOGIN without TLS not refused')
    r.send(b'QUIT\r\n')
    check(r.reply() == ['221 2.0.0 Bye'], 'QUIT')
    r.close()
    # smtplib from the device without logging in: refused at MAIL.
    with device_smtp(ctx, ctx.relay.port) as c:
        c.ehlo('printer1.lan')
        starttls(c, ctx)
        code, text = c.mail('scanner@printers.lan')
        check(code == 530, f'MAIL over TLS without AUTH: {code} {text}')


def test_swaks_device(ctx):
    tag = 'swaks-' + secrets.token_hex(4)
    p = subprocess.run(['swaks', '--server', '127.0.0.1', '--port', str(ctx.relay.port),
                        '--local-interface', DEVICE, '-tls', '--auth', 'LOGIN',
                        '--auth-user', 'printer1', '--auth-password', ctx.device_password,
                        '--auth-hide-password', '--from', 'scanner@printers.lan',
                        '--to', 'carol@example.org', '--header', f'Subject: {tag}',
                        '--tls-verify', '--tls-ca-path', os.path.join(ctx.relay_dir, 'cert.pem'),
                        '--tls-sni', 'localhost', '--ehlo', 'printer1.lan'],
                       capture_output=True, text=True, timeout=60)
    check(p.returncode == 0, f'swaks exit {p.returncode}:\n{p.stdout}\n{p.stderr}')
    check('235 2.7.0 Authentication successful' in p.stdout, p.stdout)
    check('250 2.0.0 Ok: queued as' in p.stdout, p.stdout)
    (msg, _), = ctx.wait_for(tag, 1)
    check(str(msg['Delivered-To']) == 'carol@example.org', f'{msg["Delivered-To"]}')
    ctx.relay.wait_output('(device user printer1)')


def test_smtplib_device(ctx):
    tag = 'smtplib-' + secrets.token_hex(4)
    with device_smtp(ctx, ctx.relay.port) as c:
        c.ehlo('printer1.lan')
        starttls(c, ctx)
        check('PLAIN' in c.esmtp_features.get('auth', ''), f'{c.esmtp_features}')
        code, text = c.login('printer1', ctx.device_password)   # AUTH PLAIN
        check(code == 235, f'login: {code} {text}')
        c.sendmail('scanner@printers.lan', ['dave@example.org', 'root'],
                   message(tag, to='dave@example.org', body='.leading dot\r\n..two\r\n'))
    copies = ctx.wait_for(tag, 2)
    got = sorted(str(m['Delivered-To']) for m, _ in copies)
    # "root" is a bare local name: it goes to the profile's To, as with send.
    check(got == ['admin@example.com', 'dave@example.org'], f'delivered to {got}')
    body = copies[0][0].get_content()
    check('.leading dot\n..two' in body.replace('\r\n', '\n'), f'dot-stuffing broken: {body!r}')


def test_msmtp_device(ctx):
    tag = 'msmtp-' + secrets.token_hex(4)
    conf = os.path.join(ctx.tmp, 'msmtprc')
    with open(conf, 'w') as f:
        f.write('defaults\n'
                'tls on\n'
                'tls_starttls on\n'
                f'tls_fingerprint {ctx.relay.fingerprint}\n'
                'account relay\n'
                'host 127.0.0.1\n'
                f'port {ctx.relay.port}\n'
                f'source_ip {DEVICE}\n'
                'domain printer1.lan\n'
                'auth login\n'
                'user printer1\n'
                # The password from the environment, never in the file.
                'passwordeval printenv RELAY_PW\n'
                'from scanner@printers.lan\n'
                'account default : relay\n')
    os.chmod(conf, 0o600)
    p = subprocess.run(['msmtp', '-C', conf, 'erin@example.org'],
                       input=message(tag, to='erin@example.org'), capture_output=True,
                       env=dict(ctx.env, RELAY_PW=ctx.device_password), timeout=60)
    check(p.returncode == 0, f'msmtp exit {p.returncode}: {p.stderr.decode()}')
    ctx.wait_for(tag, 1)


def auth_plain(r, user, password):
    r.send(b'AUTH PLAIN ' + base64.b64encode(b'\0' + user.encode() + b'\0' + password.encode()) +
           b'\r\n')
    return r.reply()


def tls_raw(ctx, port, source=DEVICE):
    r = Raw(port, source=source)
    r.reply()
    r.send(b'EHLO printer1.lan\r\n')
    r.reply()
    r.send(b'STARTTLS\r\n')
    check(r.reply() == ['220 2.0.0 Ready to start TLS'], 'STARTTLS')
    r.sock = tls_context(ctx).wrap_socket(r.sock, server_hostname='localhost')
    r.send(b'EHLO printer1.lan\r\n')
    caps = r.reply()
    check('250-AUTH PLAIN LOGIN' in caps, f'no AUTH after TLS: {caps}')
    return r


def test_wrong_password(ctx):
    r = tls_raw(ctx, ctx.relay.port)
    times = []
    for attempt in range(3):
        started = time.monotonic()
        got = auth_plain(r, 'printer1', 'wrong-' + secrets.token_hex(4))
        times.append(time.monotonic() - started)
        check(got == ['535 5.7.8 Error: authentication failed: authentication failure'],
              f'attempt {attempt}: {got}')
    # Each wrong password from the address waits twice as long as the last.
    check(times[1] > times[0] + 0.3 and times[2] > times[1] + 0.6,
          f'no growing delay: {times}')
    # An unknown user is refused the same way.
    got = auth_plain(r, 'nobody', ctx.device_password)
    check(got[0].startswith('535 5.7.8'), f'unknown user: {got}')
    r.send(b'MAIL FROM:<a@b.example>\r\n')
    check(r.reply() == ['530 5.7.0 Authentication required'], 'MAIL after failed AUTH')
    # The right password still works (and clears the delay).
    got = auth_plain(r, 'printer1', ctx.device_password)
    check(got == ['235 2.7.0 Authentication successful'], f'right password: {got}')
    r.send(b'QUIT\r\n')
    r.close()


def test_starttls_injection(ctx):
    # Commands pipelined behind STARTTLS came in the clear: never answered.
    r = Raw(ctx.relay.port, source=DEVICE)
    r.reply()
    r.send(b'EHLO printer1.lan\r\n')
    r.reply()
    r.send(b'STARTTLS\r\nMAIL FROM:<evil@example.com>\r\n')
    check(r.line() == '220 2.0.0 Ready to start TLS', 'STARTTLS')
    r.sock = tls_context(ctx).wrap_socket(r.sock, server_hostname='localhost')
    r.buf = b''
    r.send(b'NOOP\r\n')
    check(r.reply() == ['250 2.0.0 Ok'], 'an injected command was answered after TLS')
    r.close()


def test_pipelining_and_chunking(ctx):
    tag = 'pipe-' + secrets.token_hex(4)
    r = Raw(ctx.relay.port)
    r.reply()
    body = message(tag, extra='X-Pipe: yes\r\n', body='.dot line\r\nend\r\n')
    stuffed = body.replace(b'\r\n.', b'\r\n..')
    # Everything up to DATA in one write (RFC 2920), then the body.
    r.send(b'EHLO client.lan\r\nMAIL FROM:<app@apps.lan> BODY=8BITMIME SIZE=%d\r\n'
           b'RCPT TO:<frank@example.org>\r\nRCPT TO:<gina@example.org>\r\nDATA\r\n' % len(body))
    check(r.reply()[0].startswith('250-'), 'EHLO')
    check(r.reply() == ['250 2.1.0 Ok'], 'MAIL')
    check(r.reply() == ['250 2.1.5 Ok'], 'RCPT 1')
    check(r.reply() == ['250 2.1.5 Ok'], 'RCPT 2')
    check(r.reply()[0].startswith('354 '), 'DATA')
    r.send(stuffed + b'.\r\n')
    got = r.reply()
    check(got[0].startswith('250 2.0.0 Ok: queued as '), f'after the dot: {got}')
    copies = ctx.wait_for(tag, 2)
    check(sorted(str(m['Delivered-To']) for m, _ in copies) ==
          ['frank@example.org', 'gina@example.org'], 'recipients')
    check('.dot line' in copies[0][0].get_content(), 'dot-unstuffing')

    # CHUNKING: two BDAT chunks, pipelined with the envelope.
    tag = 'bdat-' + secrets.token_hex(4)
    body = message(tag, body='chunked body\r\n.not stuffed\r\n')
    a, b = body[:40], body[40:]
    r.send(b'MAIL FROM:<app@apps.lan>\r\nRCPT TO:<hank@example.org>\r\nBDAT %d\r\n' % len(a) +
           a + b'BDAT %d LAST\r\n' % len(b) + b)
    check(r.reply() == ['250 2.1.0 Ok'], 'MAIL')
    check(r.reply() == ['250 2.1.5 Ok'], 'RCPT')
    check(r.reply() == [f'250 2.0.0 Ok: {len(a)} bytes'], 'BDAT 1')
    got = r.reply()
    check(got[0].startswith('250 2.0.0 Ok: queued as '), f'BDAT LAST: {got}')
    (msg, _), = ctx.wait_for(tag, 1)
    check('.not stuffed' in msg.get_content(), 'BDAT content changed')
    r.send(b'RSET\r\nNOOP\r\nVRFY root\r\nFOO\r\nQUIT\r\n')
    check(r.reply() == ['250 2.0.0 Ok'], 'RSET')
    check(r.reply() == ['250 2.0.0 Ok'], 'NOOP')
    check(r.reply() == ['502 5.5.1 VRFY command is disabled'], 'VRFY')
    check(r.reply() == ['502 5.5.2 Error: command not recognized'], 'unknown')
    check(r.reply() == ['221 2.0.0 Bye'], 'QUIT')
    r.close()


def test_upstream_down(ctx):
    ctx.stop_peer()
    tag = 'down-' + secrets.token_hex(4)
    with device_smtp(ctx, ctx.relay.port) as c:
        c.ehlo('printer1.lan')
        starttls(c, ctx)
        c.login('printer1', ctx.device_password)
        c.sendmail('scanner@printers.lan', ['ivan@example.org'], message(tag))
    # 250 although Postfix is down: it is in the queue, with who sent it.
    ctx.relay.wait_output(' queued: ')
    entries = [e for e in ctx.queue_meta().values() if e.get('subject') == tag]
    check(len(entries) == 1, f'queue: {ctx.queue_meta()}')
    entry = entries[0]
    check(entry.get('state') == 'queued', f'{entry}')
    check(entry.get('client-address') == DEVICE and entry.get('device-user') == 'printer1',
          f'metadata without the client: {entry}')
    ctx.start_peer(ctx.offset)
    ctx.ok(['config', 'set', 'port', ctx.peer['SUBMISSION_PORT']])
    ctx.ok(['queue', 'flush'])
    (msg, _), = ctx.wait_for(tag, 1)
    check(not [e for e in ctx.queue_meta().values() if e.get('subject') == tag],
          'delivered message left in the queue')


def test_sigkill_after_250(ctx):
    # Postfix down, so that nothing is delivered before the kill: what the
    # client heard 250 for must be on disk.
    ctx.stop_peer()
    tags = []
    for i in range(5):
        tag = f'kill{i}-' + secrets.token_hex(4)
        r = Raw(ctx.relay.port)
        r.reply()
        r.send(b'EHLO client.lan\r\nMAIL FROM:<app@apps.lan>\r\nRCPT TO:<judy@example.org>\r\n'
               b'DATA\r\n')
        for _ in range(4):
            r.reply()
        r.send(message(tag) + b'.\r\n')
        got = r.reply()
        # Killed the moment the 250 arrives.
        ctx.relay.proc.send_signal(signal.SIGKILL)
        check(got[0].startswith('250 2.0.0 Ok: queued as '), f'{got}')
        qid = got[0].rsplit(' ', 1)[1]
        r.close()
        ctx.relay.kill()
        check(os.path.exists(os.path.join(ctx.queue_dir, qid + '.meta')) and
              os.path.exists(os.path.join(ctx.queue_dir, qid + '.msg')),
              f'{qid} was answered 250 but is not in the queue')
        tags.append(tag)
        ctx.relay = None
        ctx.start_relay()
    ctx.start_peer(ctx.offset)
    ctx.ok(['config', 'set', 'port', ctx.peer['SUBMISSION_PORT']])
    ctx.ok(['queue', 'flush'])
    for tag in tags:
        copies = ctx.wait_for(tag, 1)
        check(len(copies) == 1, f'{tag}: {len(copies)} copies')


def test_concurrent(ctx):
    # A fresh relay, which reads the (new) port of the restarted Postfix
    # from the profile... the relay itself does not need it, the flush does.
    tags = ['conc%02d-' % i + secrets.token_hex(3) for i in range(50)]
    errors = []
    start = threading.Barrier(50)

    def client(tag):
        try:
            start.wait(timeout=30)
            with smtplib.SMTP('127.0.0.1', ctx.relay.port, timeout=60) as c:
                c.sendmail('app@apps.lan', ['kim@example.org'], message(tag))
        except Exception as e:
            errors.append(f'{tag}: {type(e).__name__}: {e}')

    threads = [threading.Thread(target=client, args=(t,)) for t in tags]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    check(not errors, '\n'.join(errors))
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        got = {t: len(ctx.delivered(t)) for t in tags}
        if all(n >= 1 for n in got.values()):
            break
        time.sleep(0.5)
    time.sleep(1)
    got = {t: len(ctx.delivered(t)) for t in tags}
    wrong = {t: n for t, n in got.items() if n != 1}
    check(not wrong, f'not delivered exactly once: {wrong}')


def test_limits(ctx):
    # A relay with short timeouts and a small size limit.
    ctx.ok(['config', 'set', 'relay-idle-timeout', '2'])
    ctx.ok(['config', 'set', 'relay-session-deadline', '6'])
    ctx.ok(['config', 'set', 'relay-max-size', '100000'])
    try:
        ctx.start_relay()
        port = ctx.relay.port

        # Idle: says nothing after the greeting.
        idle = Raw(port)
        check(idle.reply()[0].startswith('220 '), 'greeting')
        # Slowloris: a byte at a time, never a whole line.
        lorises = []
        for i in range(20):
            s = Raw(port)
            s.reply()
            lorises.append(s)
        stop = threading.Event()

        def drip():
            while not stop.is_set():
                for s in lorises:
                    try:
                        s.send(b'N')
                    except OSError:
                        pass
                time.sleep(0.3)

        dripper = threading.Thread(target=drip, daemon=True)
        dripper.start()
        # A normal client next to them is served at once.
        tag = 'beside-' + secrets.token_hex(4)
        started = time.monotonic()
        with smtplib.SMTP('127.0.0.1', port, timeout=10) as c:
            c.sendmail('app@apps.lan', ['lee@example.org'], message(tag))
        check(time.monotonic() - started < 1.5,
              f'a normal client took {time.monotonic() - started:.1f} s next to slow ones')
        # The idle one and the slow ones are cut off by the idle timeout
        # (a line must arrive whole within it).
        got = idle.reply()
        check(got[0].startswith('421 4.4.2 ') and 'timeout exceeded' in got[0], f'idle: {got}')
        check(idle.closed(), 'the idle connection stayed open')
        for s in lorises:
            got = s.reply()
            check(got[0].startswith('421 4.4.2 '), f'slowloris: {got}')
        stop.set()
        ctx.wait_for(tag, 1)

        # Busy but never done: the session deadline ends it.
        busy = Raw(port)
        busy.reply()
        started = time.monotonic()
        ended = None
        while time.monotonic() - started < 12:
            try:
                busy.send(b'NOOP\r\n')
                line = busy.reply()[0]
            except (EOFError, OSError):
                break
            if line.startswith('421'):
                ended = time.monotonic() - started
                break
            time.sleep(1)
        check(ended is not None and ended < 8, f'session deadline not applied ({ended})')

        # A 1 MB line: 500 5.5.2 and the connection closed.
        big = Raw(port)
        big.reply()
        try:
            big.send(b'EHLO ' + b'a' * (1024 * 1024) + b'\r\n')
        except OSError:
            pass
        got = big.reply()
        check(got == ['500 5.5.2 Error: line too long'], f'1 MB line: {got}')
        check(big.closed(), 'still open after a 1 MB line')
        # ... and in a message body.
        big = Raw(port)
        big.reply()
        big.send(b'EHLO c.lan\r\nMAIL FROM:<a@apps.lan>\r\nRCPT TO:<x@example.org>\r\nDATA\r\n')
        for _ in range(4):
            big.reply()
        try:
            big.send(b'Subject: long\r\n\r\n' + b'b' * 1001 + b'\r\n.\r\n')
        except OSError:
            pass
        check(big.reply() == ['500 5.5.2 Error: line too long'], 'long body line')

        # Over the size limit: refused at MAIL when announced ...
        r = Raw(port)
        r.reply()
        r.send(b'EHLO c.lan\r\n')
        check('250-SIZE 100000' in r.reply(), 'SIZE not announced')
        r.send(b'MAIL FROM:<a@apps.lan> SIZE=200000\r\n')
        check(r.reply() == ['552 5.3.4 Message size exceeds fixed limit'], 'SIZE=')
        # ... and after the dot when not.
        tag = 'huge-' + secrets.token_hex(4)
        r.send(b'MAIL FROM:<a@apps.lan>\r\nRCPT TO:<x@example.org>\r\nDATA\r\n')
        for _ in range(3):
            r.reply()
        r.send(message(tag, body=('x' * 70 + '\r\n') * 3000) + b'.\r\n')
        check(r.reply() == ['552 5.3.4 Message size exceeds fixed limit'], 'over-size DATA')
        r.send(b'QUIT\r\n')
        r.close()
        time.sleep(1)
        check(not [e for e in ctx.queue_meta().values() if e.get('subject') == tag],
              'an over-size message was queued')
        # The relay is still serving.
        with smtplib.SMTP('127.0.0.1', port, timeout=10) as c:
            c.noop()
    finally:
        ctx.ok(['config', 'set', 'relay-idle-timeout', '300'])
        ctx.ok(['config', 'set', 'relay-session-deadline', '1800'])
        ctx.ok(['config', 'set', 'relay-max-size', '26214400'])


def test_connection_limit(ctx):
    ctx.ok(['config', 'set', 'relay-max-connections-per-address', '3'])
    try:
        ctx.start_relay()
        held = [Raw(ctx.relay.port) for _ in range(3)]
        for h in held:
            h.reply()
        extra = Raw(ctx.relay.port)
        got = extra.reply()
        check(got[0].startswith('421 4.7.0 ') and 'too many connections from 127.0.0.1' in got[0],
              f'fourth connection: {got}')
        # Another address is not affected.
        other = Raw(ctx.relay.port, source=DEVICE)
        check(other.reply()[0].startswith('220 '), 'another address refused')
        for h in held + [other]:
            h.close()
    finally:
        ctx.ok(['config', 'set', 'relay-max-connections-per-address', '50'])


def test_log(ctx):
    path = os.path.join(ctx.relay_dir, 'messages.log')
    with open(path, encoding='ascii') as f:
        text = f.read()
    check('\taccepted\t' in text and '\tprinter1\t' in text and '\tsent\t' in text,
          f'log:\n{text[-2000:]}')


def test_no_password_anywhere(ctx):
    secrets_ = [ctx.device_password.encode(), ctx.password.encode(),
                base64.b64encode(b'\0printer1\0' + ctx.device_password.encode()),
                base64.b64encode(ctx.device_password.encode())]
    found = []
    for root in (ctx.tmp, ctx.base):
        for dirpath, _, files in os.walk(root):
            for name in files:
                path = os.path.join(dirpath, name)
                if os.path.islink(path) or not os.path.isfile(path):
                    continue
                # The Postfix fixture's own SASL database holds the mailbox
                # password by design (it is the upstream).
                if 'sasldb' in name:
                    continue
                with open(path, 'rb') as f:
                    data = f.read()
                for s in secrets_:
                    if s in data:
                        found.append(path)
    for blob in ctx.captured:
        for s in secrets_:
            if s in blob:
                found.append('command output')
    check(not found, f'a password was written to: {sorted(set(found))}')


def main():
    if len(sys.argv) != 2:
        print('usage: test-relay.py HERALDCTL', file=sys.stderr)
        return 2
    ctx = Context(sys.argv[1])
    tap = Tap()
    try:
        tap.run('the Postfix peer starts', lambda: ctx.start_peer())
        tap.run('the relay settings are checked like the others', lambda: test_config(ctx))
        tap.run('device users: add, list, remove, stored as PBKDF2', lambda: test_users(ctx))
        tap.run('the relay starts and prints its certificate fingerprint', lambda: test_start(ctx))
        tap.run('doctor shows the certificate fingerprint (text, --json with hostile paths)',
                lambda: test_doctor(ctx))
        tap.run('an allowed address relays without AUTH (sender rewritten, Bcc removed)',
                lambda: test_allowed_without_auth(ctx))
        tap.run('another address: 530 without AUTH, 538 AUTH without TLS',
                lambda: test_outsider_refused(ctx))
        tap.run('swaks -tls --auth LOGIN from the device address',
                lambda: test_swaks_device(ctx))
        tap.run('smtplib STARTTLS + AUTH PLAIN, dot-stuffing, a local name',
                lambda: test_smtplib_device(ctx))
        tap.run('msmtp as a device, pinning the fingerprint', lambda: test_msmtp_device(ctx))
        tap.run('wrong password: 535 5.7.8 with a growing delay',
                lambda: test_wrong_password(ctx))
        tap.run('commands pipelined behind STARTTLS are dropped',
                lambda: test_starttls_injection(ctx))
        tap.run('client PIPELINING and CHUNKING', lambda: test_pipelining_and_chunking(ctx))
        tap.run('upstream down: 250 anyway, queued with the client, delivered later',
                lambda: test_upstream_down(ctx))
        tap.run('SIGKILL right after 250: nothing lost, one copy each',
                lambda: test_sigkill_after_250(ctx))
        tap.run('50 concurrent clients, each delivered once', lambda: test_concurrent(ctx))
        tap.run('idle, slowloris, deadline, 1 MB line, over-size', lambda: test_limits(ctx))
        tap.run('connections per address are limited', lambda: test_connection_limit(ctx))
        tap.run('the log of relayed messages', lambda: test_log(ctx))
        tap.run('no password in any file or output', lambda: test_no_password_anywhere(ctx))
    finally:
        if ctx.relay is not None:
            try:
                ctx.relay.stop()
            except Failure:
                pass
        ctx.stop_peer()
        tap.finish()
        shutil.rmtree(ctx.tmp, ignore_errors=True)
        if ctx.base:
            shutil.rmtree(ctx.base, ignore_errors=True)
    return 1 if tap.failed else 0


if __name__ == '__main__':
    sys.exit(main())
