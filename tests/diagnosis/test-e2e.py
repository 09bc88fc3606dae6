#!/usr/bin/python3
# SPDX-License-Identifier: GPL-3.0-or-later
# Copyright 2026 The Herald authors
#
# End to end: the fake SMTP server replays real provider dialogues (Exchange
# Online with its 535 5.7.139 replies, Gmail's multi-line 535-5.7.8) and
# connection-level failures, `heraldctl test --json` runs against it on
# loopback, and the diagnosis, notices and JSON are checked. Prints TAP.
#
#   test-e2e.py HERALDCTL FAKE_SMTP_SERVER MAKE_TEST_CERTS

import base64
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile

HERALDCTL, FAKE, MAKE_CERTS = sys.argv[1:4]
PASSWORD = "S3cret-E2E-Passw0rd!"
USER = "alerts@contoso.com"

results = []


def check(name, condition, detail=""):
    results.append((name, bool(condition), detail))


# The notices' wording of December 2026, whatever the clock says; the
# exo-success case runs once more in 2027.
os.environ["HERALD_NOW"] = "2026-12-07T09:00:00Z"

TMP = tempfile.mkdtemp(prefix="herald-diagnosis-e2e-")
CERTS = os.path.join(TMP, "certs")
os.makedirs(CERTS)
subprocess.run([MAKE_CERTS, CERTS], check=True, capture_output=True)

SECRETS = [PASSWORD, base64.b64encode(PASSWORD.encode()).decode(),
           base64.b64encode(("\0" + USER + "\0" + PASSWORD).encode()).decode(),
           base64.b64encode((USER + "\0" + USER + "\0" + PASSWORD).encode()).decode()]

EXO_GREETING = ("S 220 BN9PR03CA0716.outlook.office365.com Microsoft ESMTP MAIL Service ready at "
                "Sat, 28 Nov 2026 08:30:00 +0000 08DE2F1A9B3C4D60")
EXO_EHLO_PLAIN = """C EHLO .*
S 250-BN9PR03CA0716.outlook.office365.com Hello [203.0.113.7]
S 250-SIZE 157286400
S 250-PIPELINING
S 250-DSN
S 250-ENHANCEDSTATUSCODES
S 250-STARTTLS
S 250-8BITMIME
S 250-BINARYMIME
S 250-CHUNKING
S 250 SMTPUTF8
C STARTTLS
S 220 2.0.0 SMTP server ready
STARTTLS
C EHLO .*
S 250-BN9PR03CA0716.outlook.office365.com Hello [203.0.113.7]
S 250-SIZE 157286400
S 250-PIPELINING
S 250-DSN
S 250-ENHANCEDSTATUSCODES
S 250-AUTH LOGIN XOAUTH2
S 250-8BITMIME
S 250-BINARYMIME
S 250-CHUNKING
S 250 SMTPUTF8
"""


def exo_script(auth_reply):
    return (EXO_GREETING + "\n" + EXO_EHLO_PLAIN +
            "C AUTH LOGIN.*\n"
            "S 334 VXNlcm5hbWU6\n"
            "C .*\n"
            "S 334 UGFzc3dvcmQ6\n"
            "C .*\n"
            "S " + auth_reply + "\n"
            "C QUIT\n"
            "S 221 2.0.0 Service closing transmission channel\n")


GMAIL_SCRIPT = """S 220 smtp.gmail.com ESMTP a1b2c3d4e5f6-1234567890.12 - gsmtp
C EHLO .*
S 250-smtp.gmail.com at your service, [203.0.113.7]
S 250-SIZE 35882577
S 250-8BITMIME
S 250-STARTTLS
S 250-ENHANCEDSTATUSCODES
S 250-PIPELINING
S 250-CHUNKING
S 250 SMTPUTF8
C STARTTLS
S 220 2.0.0 Ready to start TLS
STARTTLS
C EHLO .*
S 250-smtp.gmail.com at your service, [203.0.113.7]
S 250-SIZE 35882577
S 250-8BITMIME
S 250-AUTH LOGIN PLAIN XOAUTH2 PLAIN-CLIENTTOKEN OAUTHBEARER XOAUTH
S 250-ENHANCEDSTATUSCODES
S 250-PIPELINING
S 250-CHUNKING
S 250 SMTPUTF8
C AUTH PLAIN .*
S 535-5.7.8 Username and Password not accepted. Learn more at
S 535 5.7.8  https://support.google.com/mail/?p=BadCredentials a1b2c3d4e5f6-1234567890.12 - gsmtp
C QUIT
S 221 2.0.0 closing connection a1b2c3d4e5f6-1234567890.12 - gsmtp
"""


def run(name, script, server_args=(), client_args=(), cert="localhost", ca=True, port=None):
    """Starts the fake server, runs `heraldctl test --json` against it and
    returns (exit status, parsed JSON or None, client output, server log)."""
    script_path = os.path.join(TMP, name + ".script")
    log_path = os.path.join(TMP, name + ".log")
    with open(script_path, "w") as f:
        f.write(script)
    server = None
    if port is None:
        args = [FAKE, "--script", script_path, "--log", log_path, "--timeout", "30"]
        if cert:
            args += ["--cert", os.path.join(CERTS, cert + ".pem"), "--key", os.path.join(CERTS, cert + "-key.pem")]
        server = subprocess.Popen(args + list(server_args), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        line = server.stdout.readline().strip()
        if not line.startswith("PORT="):
            server.kill()
            check(name + ": fake server started", False, line + server.stderr.read())
            return None, None, "", ""
        port = int(line[5:])
    cmd = [HERALDCTL, "test", "--json", "--server", "localhost", "--port", str(port),
           "--user", USER, "--password-stdin", "--from", USER, "--to", "admin@contoso.com"]
    if ca:
        cmd += ["--ca-file", os.path.join(CERTS, "ca.pem")]
    proc = subprocess.run(cmd + list(client_args), input=PASSWORD + "\n", capture_output=True, text=True, timeout=90)
    log = ""
    if server is not None:
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        if os.path.exists(log_path):
            with open(log_path, errors="replace") as f:
                log = f.read()
    output = proc.stdout + proc.stderr
    check(name + ": no secret in heraldctl's output", not any(s in output for s in SECRETS))
    try:
        data = json.loads(proc.stdout)
    except ValueError as e:
        check(name + ": heraldctl printed one JSON object", False, "%s: %r %r" % (e, proc.stdout[:300], proc.stderr[:300]))
        data = None
    return proc.returncode, data, output, log


def diagnosis_id(data):
    return ((data or {}).get("diagnosis") or {}).get("id")


def notice_ids(data):
    return [n.get("id") for n in (data or {}).get("notices", [])]


# -- Exchange Online: the real dialogue, each 5.7.139 variant -----------------
TAG = "[BN9PR03CA0716.namprd03.prod.outlook.com 2026-11-28T08:30:01.123Z 08DE2F1A9B3C4D60]"
EXO_CASES = [
    ("exo-mailbox", "535 5.7.139 Authentication unsuccessful, SmtpClientAuthentication is disabled for the Mailbox. "
                    "Visit https://aka.ms/smtp_auth_disabled for more information. " + TAG,
     "exo-smtp-auth-disabled-mailbox"),
    ("exo-tenant", "535 5.7.139 Authentication unsuccessful, SmtpClientAuthentication is disabled for the Tenant. "
                   "Visit https://aka.ms/smtp_auth_disabled for more information. " + TAG,
     "exo-smtp-auth-disabled-tenant"),
    ("exo-security-defaults", "535 5.7.139 Authentication unsuccessful, user is locked by your organization's security "
                              "defaults policy. Contact your administrator. " + TAG, "exo-security-defaults"),
    ("exo-conditional-access", "535 5.7.139 Authentication unsuccessful, the request did not meet the criteria to be "
                               "authenticated successfully. Contact your administrator. " + TAG, "exo-conditional-access"),
]
for name, reply, expected in EXO_CASES:
    rc, data, output, log = run(name, exo_script(reply))
    if data is None:
        continue
    check(name + ": exit 1", rc == 1, rc)
    check(name + ": failed at auth", data.get("ok") is False and data.get("stage") == "auth", (data.get("ok"), data.get("stage")))
    reply_obj = data.get("reply") or {}
    check(name + ": reply 535 5.7.139", reply_obj.get("code") == 535 and reply_obj.get("enhanced") == "5.7.139", reply_obj)
    check(name + ": diagnosis " + expected, diagnosis_id(data) == expected, diagnosis_id(data))
    d = data.get("diagnosis") or {}
    check(name + ": server tag not in the explanation", "prod.outlook.com" not in d.get("explanation", ""))
    check(name + ": server tag kept in the details", "BN9PR03CA0716.namprd03.prod.outlook.com" in (d.get("details") or ""))
    check(name + ": Basic-auth retirement notice (greeting identifies Exchange Online)",
          "exo-basic-auth-retirement" in notice_ids(data), notice_ids(data))
    check(name + ": nothing sent after the failed AUTH but QUIT",
          "MAIL FROM" not in log.upper() and "QUIT" in log.upper(), log[-300:])
    check(name + ": transcript has the server's lines",
          any(e.get("dir") == "server" and "5.7.139" in e.get("text", "") for e in data.get("transcript", [])))

# -- Exchange Online, password accepted: still warned about Basic auth --------
success_script = (EXO_GREETING + "\n" + EXO_EHLO_PLAIN.replace("S 250-PIPELINING\n", "").replace("S 250-CHUNKING\n", "") +
                  "C AUTH LOGIN.*\nS 334 VXNlcm5hbWU6\nC .*\nS 334 UGFzc3dvcmQ6\nC .*\n"
                  "S 235 2.7.0 Authentication successful\nLOOP-UNTIL-QUIT\n")
rc, data, output, log = run("exo-success", success_script)
if data is not None:
    check("exo-success: exit 0", rc == 0, (rc, output[-500:]))
    check("exo-success: ok, no diagnosis", data.get("ok") is True and data.get("diagnosis") is None)
    check("exo-success: Basic-auth retirement notice even on success", "exo-basic-auth-retirement" in notice_ids(data),
          notice_ids(data))
    n = [x for x in data.get("notices", []) if x.get("id") == "exo-basic-auth-retirement"]
    check("exo-success: notice is a warning naming December 2026",
          n and n[0].get("severity") == "warning" and "December 2026" in n[0].get("explanation", ""))

# The same success in 2027: the notice says password SMTP AUTH is off by
# default now, and what a success with a password means.
os.environ["HERALD_NOW"] = "2027-01-02T09:00:00Z"
rc, data, output, log = run("exo-success-2027", success_script)
os.environ["HERALD_NOW"] = "2026-12-07T09:00:00Z"
if data is not None:
    n = [x for x in data.get("notices", []) if x.get("id") == "exo-basic-auth-retirement"]
    text = n[0].get("explanation", "") if n else ""
    check("exo-success-2027: exit 0", rc == 0, (rc, output[-500:]))
    check("exo-success-2027: the notice says it is off by default now, and a success means re-enabled or exempt",
          "off by default" in text and "turned it back on or the organisation is exempt" in text
          and "second half of 2027" in text, text)

# -- Gmail: multi-line 535-5.7.8 ---------------------------------------------
rc, data, output, log = run("gmail", GMAIL_SCRIPT, client_args=["--auth", "plain"])
if data is not None:
    reply_obj = data.get("reply") or {}
    check("gmail: exit 1", rc == 1, rc)
    check("gmail: reply 535 5.7.8", reply_obj.get("code") == 535 and reply_obj.get("enhanced") == "5.7.8", reply_obj)
    check("gmail: both reply lines kept", "Username and Password not accepted" in reply_obj.get("text", "")
          and "BadCredentials" in reply_obj.get("text", ""), reply_obj)
    check("gmail: diagnosis gmail-bad-credentials", diagnosis_id(data) == "gmail-bad-credentials", diagnosis_id(data))
    check("gmail: app password link", any("185833" in l.get("url", "") for l in (data.get("diagnosis") or {}).get("links", [])))
    check("gmail: no Exchange notice", "exo-basic-auth-retirement" not in notice_ids(data), notice_ids(data))
    check("gmail: no MAIL FROM after the failed AUTH", "MAIL FROM" not in log.upper())

# -- A hostile server: control and bidi characters in every line it sends ----
# The engine's printable filter and herald_json_to_string() both stand
# between them and the JSON: it parses strictly and carries none of them raw.
HOSTILE = "\x1b]0;pwned\x07\x1b[2J unit\x1fsep del\x7f c1\x85 rlo\u202eexe.txt ls\u2028"
hostile_script = (EXO_GREETING + " " + HOSTILE + "\n" +
                  EXO_EHLO_PLAIN.replace("Hello [203.0.113.7]", "Hello [203.0.113.7] " + HOSTILE) +
                  "C AUTH LOGIN.*\nS 334 VXNlcm5hbWU6\nC .*\nS 334 UGFzc3dvcmQ6\nC .*\n"
                  "S 535-5.7.139 Authentication unsuccessful " + HOSTILE + "\n"
                  "S 535 5.7.139 " + HOSTILE + "\nC QUIT\nS 221 2.0.0 bye " + HOSTILE + "\n")
rc, data, output, log = run("hostile-server", hostile_script)
if data is not None:
    check("hostile-server: exit 1 at auth", rc == 1 and data.get("stage") == "auth", (rc, data.get("stage")))
    raw = [c for c in ("\x1b", "\x07", "\x1f", "\x7f", "\x85", "\u202e", "\u2028") if c in output]
    check("hostile-server: no raw control or bidi character in the output", not raw, raw)
    check("hostile-server: the reply is still there", "Authentication unsuccessful" in
          ((data.get("reply") or {}).get("text") or ""), data.get("reply"))

# -- Human output of the same failure -----------------------------------------
script_path = os.path.join(TMP, "human.script")
with open(script_path, "w") as f:
    f.write(GMAIL_SCRIPT)
server = subprocess.Popen([FAKE, "--script", script_path, "--timeout", "30", "--cert", os.path.join(CERTS, "localhost.pem"),
                           "--key", os.path.join(CERTS, "localhost-key.pem")], stdout=subprocess.PIPE, text=True)
port = int(server.stdout.readline().strip()[5:])
proc = subprocess.run([HERALDCTL, "test", "--server", "localhost", "--port", str(port), "--auth", "plain",
                       "--user", USER, "--password-stdin", "--from", USER, "--to", "admin@contoso.com",
                       "--ca-file", os.path.join(CERTS, "ca.pem")],
                      input=PASSWORD + "\n", capture_output=True, text=True, timeout=90)
server.wait(timeout=30)
check("human: title of the diagnosis", "Google rejected the user name or password" in proc.stdout, proc.stdout[-800:])
check("human: who must act and numbered steps", "Who must act:" in proc.stdout and "\n  1. " in proc.stdout)

# -- heraldctl test --token-stdin: an access token from a pipe ----------------
# A JWT-sized token (longer than a password may be), sent with XOAUTH2 after
# STARTTLS, never shown. The fake server checks the exact SASL string.
TOKEN = "eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9." + "E2eT0ken" * 700 + ".sig-E2E"
TOKEN_SECRETS = [TOKEN, base64.b64encode(("user=%s\x01auth=Bearer %s\x01\x01" % (USER, TOKEN)).encode()).decode(),
                 "E2eT0kenE2eT0ken"]


def run_token(name, script, client_args, stdin):
    script_path = os.path.join(TMP, name + ".script")
    with open(script_path, "w") as f:
        f.write(script)
    server = subprocess.Popen([FAKE, "--script", script_path, "--timeout", "30",
                               "--cert", os.path.join(CERTS, "localhost.pem"),
                               "--key", os.path.join(CERTS, "localhost-key.pem")],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    port = int(server.stdout.readline().strip()[5:])
    cmd = [HERALDCTL, "test", "--server", "localhost", "--port", str(port), "--user", USER,
           "--from", USER, "--to", "admin@contoso.com", "--ca-file", os.path.join(CERTS, "ca.pem"),
           "--token-stdin"] + client_args
    proc = subprocess.run(cmd, input=stdin, capture_output=True, text=True, timeout=90)
    try:
        server_rc = server.wait(timeout=30)
    except subprocess.TimeoutExpired:
        server.kill()
        server_rc = server.wait()
    output = proc.stdout + proc.stderr
    check(name + ": the token is in no output", not any(t in output for t in TOKEN_SECRETS))
    return proc, server_rc


sasl = base64.b64encode(("user=%s\x01auth=Bearer %s\x01\x01" % (USER, TOKEN)).encode()).decode()
XOAUTH2_SCRIPT = ("S 220 fake.example ESMTP\nC EHLO .*\nS 250-fake.example\nS 250 STARTTLS\n"
                  "C STARTTLS\nS 220 2.0.0 go ahead\nSTARTTLS\nC EHLO .*\nS 250-fake.example\n"
                  "S 250 AUTH LOGIN XOAUTH2\nC AUTH XOAUTH2\nS 334 \nC " + sasl + "\n"
                  "S 235 2.7.0 Authentication successful\nLOOP-UNTIL-QUIT\n")
proc, server_rc = run_token("token-xoauth2", XOAUTH2_SCRIPT, ["--auth", "xoauth2", "--json"], TOKEN + "\n")
check("token-xoauth2: exit 0", proc.returncode == 0, (proc.returncode, proc.stderr[-500:]))
check("token-xoauth2: the server got exactly user=…^Aauth=Bearer TOKEN (base64)", server_rc == 0, server_rc)
try:
    data = json.loads(proc.stdout)
except ValueError:
    data = {}
check("token-xoauth2: JSON ok", data.get("ok") is True, data.get("error"))
check("token-xoauth2: transcript hides the token",
      any(e.get("dir") == "client" and "AUTH XOAUTH2" in e.get("text", "") for e in data.get("transcript", []))
      and any(e.get("dir") == "client" and e.get("text") == "<redacted>" for e in data.get("transcript", []))
      and not any(sasl[:40] in e.get("text", "") for e in data.get("transcript", [])))

# A refused token: the diagnosis speaks of the token (5.7.3 after XOAUTH2), in human mode too.
REFUSED = XOAUTH2_SCRIPT.replace("S 235 2.7.0 Authentication successful\nLOOP-UNTIL-QUIT\n",
                                 "S 535 5.7.3 Authentication unsuccessful [BN9PR03CA0716.namprd03.prod.outlook.com]\n"
                                 "C QUIT\nS 221 bye\n")
proc, server_rc = run_token("token-refused", REFUSED, ["--auth", "xoauth2", "--json"], TOKEN + "\r\n")
try:
    data = json.loads(proc.stdout)
except ValueError:
    data = {}
check("token-refused: exit 1, diagnosis exo-oauth-token-rejected",
      proc.returncode == 1 and diagnosis_id(data) == "exo-oauth-token-rejected", (proc.returncode, diagnosis_id(data)))

# Bad usage: nothing reaches the server (it is never contacted), exit 2.
for name, args, stdin, words in [
        ("token-with-plain", ["--auth", "plain"], TOKEN + "\n", "--token-stdin needs --auth xoauth2"),
        ("token-empty", ["--auth", "xoauth2"], "\n", "holds no access token"),
        ("token-and-password", ["--auth", "xoauth2", "--password-stdin"], TOKEN + "\n", "give only one")]:
    proc = subprocess.run([HERALDCTL, "test", "--server", "localhost", "--port", "9", "--user", USER,
                           "--from", USER, "--to", "admin@contoso.com", "--token-stdin"] + args,
                          input=stdin, capture_output=True, text=True, timeout=30)
    check(name + ": exit 2 with a clear message", proc.returncode == 2 and words in proc.stderr,
          (proc.returncode, proc.stderr))
    check(name + ": the token is in no output", not any(t in proc.stdout + proc.stderr for t in TOKEN_SECRETS))

# -- Connection level, with the real engine ------------------------------------
# An implicit-TLS port used with STARTTLS: no greeting ever comes.
rc, data, output, log = run("implicit-tls-port", "S 220 never seen\nC QUIT\n", server_args=["--implicit-tls"],
                            client_args=["--security", "starttls", "--timeout", "2"])
if data is not None:
    check("implicit-tls-port: stage greeting", data.get("stage") == "greeting", data.get("stage"))
    check("implicit-tls-port: diagnosis greeting-timeout-implicit-tls",
          diagnosis_id(data) == "greeting-timeout-implicit-tls", (diagnosis_id(data), data.get("error")))

# SSL/TLS chosen on a plain-text (STARTTLS) port.
rc, data, output, log = run("plaintext-port", "S 220 mail.example.net ESMTP\nHANG\n", cert=None,
                            client_args=["--security", "tls", "--timeout", "5"])
if data is not None:
    check("plaintext-port: diagnosis tls-on-plaintext-port",
          diagnosis_id(data) in ("tls-on-plaintext-port", "tls-on-plaintext-port-misc"), (diagnosis_id(data), data.get("error")))
    # A handshake was attempted but no certificate ever arrived.
    check("plaintext-port: tls is an object with certificate null",
          isinstance(data.get("tls"), dict) and "certificate" in data["tls"] and data["tls"]["certificate"] is None,
          data.get("tls"))

# STARTTLS chosen but not advertised: stopped before credentials.
rc, data, output, log = run("no-starttls", "S 220 mail.example.net ESMTP\nC EHLO .*\nS 250-mail.example.net\nS 250 AUTH PLAIN LOGIN\n"
                            "C QUIT\nS 221 bye\n", cert=None, client_args=["--security", "starttls"])
if data is not None:
    check("no-starttls: diagnosis starttls-not-offered", diagnosis_id(data) == "starttls-not-offered",
          (diagnosis_id(data), data.get("error")))
    check("no-starttls: no AUTH sent", "AUTH" not in log.upper())
    check("no-starttls: tls null (no handshake was attempted)", "tls" in data and data["tls"] is None, data.get("tls"))

# Every reply in time (timeout 3 s), but the whole run over its deadline (1 s).
rc, data, output, log = run("deadline", "DELAY 700\nS 220 mail.example.net ESMTP\nC EHLO .*\nDELAY 700\n"
                            "S 250-mail.example.net\nS 250 STARTTLS\nHANG\n", cert=None,
                            client_args=["--security", "starttls", "--timeout", "3", "--deadline", "1"])
if data is not None:
    check("deadline: diagnosis deadline", diagnosis_id(data) == "deadline", (diagnosis_id(data), data.get("error")))

STARTTLS_ONLY = "S 220 mail.example.net ESMTP\nC EHLO .*\nS 250-mail.example.net\nS 250 STARTTLS\nC STARTTLS\nS 220 go ahead\nSTARTTLS\n"
for cert, expected in [("untrusted", "tls-cert-unknown-ca"), ("expired", "tls-cert-expired"),
                       ("wronghost", "tls-cert-bad-identity")]:
    rc, data, output, log = run("cert-" + cert, STARTTLS_ONLY, cert=cert)
    if data is None:
        continue
    d = data.get("diagnosis") or {}
    tls = data.get("tls") or {}
    certificate = tls.get("certificate") or {}
    check("cert-%s: tls.certificate is an object" % cert, isinstance(tls.get("certificate"), dict), tls)
    check("cert-%s: diagnosis %s" % (cert, expected), d.get("id") == expected, (d.get("id"), data.get("error"), tls.get("errors")))
    check("cert-%s: explanation shows subject, issuer, dates and SHA-256" % cert,
          all(certificate.get(k) and certificate[k] in d.get("explanation", "")
              for k in ("subject", "issuer", "not_before", "not_after", "sha256")), (certificate, d.get("explanation")))
    check("cert-%s: nothing sent after the handshake" % cert, "AUTH" not in log.upper() and "MAIL" not in log.upper())

# Nothing listens on the port.
s = socket.socket()
s.bind(("127.0.0.1", 0))
free_port = s.getsockname()[1]
s.close()
rc, data, output, log = run("refused", "", port=free_port, client_args=["--timeout", "5"])
if data is not None:
    check("refused: diagnosis net-connection-refused", diagnosis_id(data) == "net-connection-refused",
          (diagnosis_id(data), data.get("error")))

shutil.rmtree(TMP, ignore_errors=True)

print("1..%d" % len(results))
for i, (name, ok, detail) in enumerate(results, 1):
    print("%s %d - %s" % ("ok" if ok else "not ok", i, name))
    if not ok and detail:
        print("# %s" % str(detail).replace("\n", "\n# "))
sys.exit(0 if all(ok for _, ok, _ in results) else 1)
