#!/usr/bin/python3
# SPDX-License-Identifier: GPL-3.0-or-later
# Copyright 2026 The Herald authors
#
# `heraldctl explain` on error texts as three client libraries (and others)
# print them, checking the JSON and the exit statuses. Prints TAP.
#
#   test-explain.py HERALDCTL

import json
import subprocess
import sys

HERALDCTL = sys.argv[1]

DOTNET = (
    "System.Net.Mail.SmtpException: The SMTP server requires a secure connection or the client was not "
    "authenticated. The server response was: 5.7.57 Client not authenticated to send mail. Error: 535 5.7.139 "
    "Authentication unsuccessful, the request did not meet the criteria to be authenticated successfully. "
    "Contact your administrator. [BN9PR03CA0716.namprd03.prod.outlook.com 2026-11-28T08:13:02.456Z 08DE2F1A9B3C4D60]\n"
    "   at System.Net.Mail.MailCommand.CheckResponse(SmtpStatusCode statusCode, String response)\n"
    "   at System.Net.Mail.MailCommand.Send(SmtpConnection conn, Byte[] command, MailAddress from, Boolean allowUnicode)\n"
    "   at System.Net.Mail.SmtpTransport.SendMail(MailAddress sender, MailAddressCollection recipients)\n")

PHPMAILER = (
    "2026-11-28 08:20:01 SERVER -> CLIENT: 535 5.7.139 Authentication unsuccessful, SmtpClientAuthentication is "
    "disabled for the Tenant. Visit https://aka.ms/smtp_auth_disabled for more information. "
    "[MN2PR05CA0004.namprd05.prod.outlook.com 2026-11-28T08:20:01.000Z 08DE2F1A9B3C4D70]\n"
    "2026-11-28 08:20:01 SMTP ERROR: Password command failed: 535 5.7.139 Authentication unsuccessful, "
    "SmtpClientAuthentication is disabled for the Tenant. Visit https://aka.ms/smtp_auth_disabled for more "
    "information. [MN2PR05CA0004.namprd05.prod.outlook.com 2026-11-28T08:20:01.000Z 08DE2F1A9B3C4D70]\n"
    "SMTP Error: Could not authenticate.\n"
    "2026-11-28 08:20:01 CLIENT -> SERVER: QUIT\n")

NODEMAILER = (
    "Error: Invalid login: 535-5.7.8 Username and Password not accepted. Learn more at\n"
    "535 5.7.8  https://support.google.com/mail/?p=BadCredentials d9443c01a7336-2a1b2c3d4e5sm1234567ab.12 - gsmtp\n"
    "    at SMTPConnection._formatError (/app/node_modules/nodemailer/lib/smtp-connection/index.js:798:19)\n"
    "    at SMTPConnection._actionAUTHComplete (/app/node_modules/nodemailer/lib/smtp-connection/index.js:1577:34) {\n"
    "  code: 'EAUTH',\n"
    "  response: '535-5.7.8 Username and Password not accepted. Learn more at\\n' +\n"
    "    '535 5.7.8  https://support.google.com/mail/?p=BadCredentials d9443c01a7336-2a1b2c3d4e5sm1234567ab.12 - gsmtp',\n"
    "  responseCode: 535,\n"
    "  command: 'AUTH PLAIN'\n"
    "}\n")

PYTHON = ("smtplib.SMTPAuthenticationError: (534, b'5.7.9 Application-specific password required. For more "
          "information, go to\\n5.7.9  https://support.google.com/mail/?p=InvalidSecondFactor a1b2c3 - gsmtp')")

SWAKS = (
    "=== Trying smtp.office365.com:587...\n"
    "=== Connected to smtp.office365.com.\n"
    "<-  220 BN9PR03CA0716.outlook.office365.com Microsoft ESMTP MAIL Service ready at Sat, 28 Nov 2026 08:30:00 +0000\n"
    " -> EHLO host.example.com\n"
    "<-  250-BN9PR03CA0716.outlook.office365.com Hello [203.0.113.7]\n"
    "<-  250 STARTTLS\n"
    " -> STARTTLS\n"
    "<-  220 2.0.0 SMTP server ready\n"
    "=== TLS started with cipher TLSv1.2:ECDHE-RSA-AES256-GCM-SHA384:256\n"
    " ~> EHLO host.example.com\n"
    "<~  250-BN9PR03CA0716.outlook.office365.com Hello [203.0.113.7]\n"
    "<~  250 AUTH LOGIN XOAUTH2\n"
    " ~> AUTH LOGIN\n"
    "<~  334 VXNlcm5hbWU6\n"
    " ~> YWxlcnRzQGNvbnRvc28uY29t\n"
    "<~  334 UGFzc3dvcmQ6\n"
    " ~> c2VjcmV0\n"
    "<~* 535 5.7.139 Authentication unsuccessful, user is locked by your organization's security defaults policy. "
    "Contact your administrator. [BN9PR03CA0716.namprd03.prod.outlook.com 2026-11-28T08:30:01.123Z 08DE2F1A9B3C4D60]\n"
    " ~> QUIT\n"
    "<~  221 2.0.0 Service closing transmission channel\n"
    "=== Connection closed with remote host.\n")

DIAGNOSIS_MEMBERS = {"id", "title", "explanation", "actor", "steps", "links", "severity", "details"}

results = []


def check(name, condition, detail=""):
    results.append((name, bool(condition), detail))


def explain(args, stdin=None):
    proc = subprocess.run([HERALDCTL, "explain"] + args, input=stdin, capture_output=True, text=True, timeout=60)
    return proc


def explain_json(name, text, expect_id, expect_code, expect_enhanced, extra=(), via_stdin=False):
    args = ["--json"] + list(extra)
    proc = explain(args + ["-"], stdin=text) if via_stdin else explain(args + [text])
    check(name + ": exit 0 (specific rule)", proc.returncode == 0, "rc=%d stderr=%s" % (proc.returncode, proc.stderr))
    try:
        data = json.loads(proc.stdout)
    except ValueError as e:
        check(name + ": stdout is one JSON object", False, str(e))
        return None
    check(name + ": stdout is one JSON object", isinstance(data, dict))
    check(name + ": top-level members", set(data) == {"matched", "stage", "reply", "diagnosis"}, sorted(data))
    d = data.get("diagnosis") or {}
    check(name + ": diagnosis shape", set(d) == DIAGNOSIS_MEMBERS, sorted(d))
    check(name + ": diagnosis id", d.get("id") == expect_id, d.get("id"))
    check(name + ": matched", data.get("matched") is True)
    check(name + ": reply code", data["reply"]["code"] == expect_code, data["reply"])
    check(name + ": reply enhanced", data["reply"]["enhanced"] == expect_enhanced, data["reply"])
    check(name + ": steps are strings", all(isinstance(s, str) and s for s in d.get("steps", [])) and d.get("steps"))
    check(name + ": links are https", all(l["url"].startswith("https://") for l in d.get("links", [])))
    check(name + ": severity", d.get("severity") in ("error", "warning", "info"))
    check(name + ": Microsoft tag not in the explanation", "prod.outlook.com" not in d.get("explanation", ""))
    check(name + ": no wrapper text in the reply", "   at " not in data["reply"]["text"]
          and "Could not authenticate" not in data["reply"]["text"] and "responseCode" not in data["reply"]["text"],
          data["reply"]["text"])
    return data


# .NET SmtpClient: 530 5.7.57 embedding the real 535 5.7.139 (Exchange quirk).
data = explain_json(".NET SmtpClient", DOTNET, "exo-conditional-access", None, "5.7.57")
if data:
    check(".NET SmtpClient: server tag kept in details", "BN9PR03CA0716.namprd03.prod.outlook.com" in data["diagnosis"]["details"])
    check(".NET SmtpClient: actor", data["diagnosis"]["actor"] == "mail-admin")

# PHPMailer debug output, read from standard input.
data = explain_json("PHPMailer", PHPMAILER, "exo-smtp-auth-disabled-tenant", 535, "5.7.139", via_stdin=True)
if data:
    steps = data["diagnosis"]["steps"]
    check("PHPMailer: stage taken from “Password command failed”", data["stage"] == "auth", data["stage"])
    check("PHPMailer: a step carries its PowerShell command after a newline",
          any("\nConnect-ExchangeOnline\nSet-CASMailbox -Identity <mailbox> -SmtpClientAuthenticationDisabled $false" in s
              for s in steps), steps)

# nodemailer: Gmail's multi-line 535-5.7.8, with --stage and --host.
data = explain_json("nodemailer", NODEMAILER, "gmail-bad-credentials", 535, "5.7.8",
                    extra=["--stage", "auth", "--host", "smtp.gmail.com"])
if data:
    check("nodemailer: stage echoed", data["stage"] == "auth")
    check("nodemailer: multi-line reply joined",
          data["reply"]["text"].startswith("5.7.8 Username and Password not accepted. Learn more at https://support.google.com/"),
          data["reply"]["text"])

# Python smtplib.
explain_json("Python smtplib", PYTHON, "gmail-app-password-required", 534, "5.7.9")

# A whole swaks transcript: the refusal, not the greeting.
data = explain_json("swaks transcript", SWAKS, "exo-security-defaults", 535, "5.7.139", via_stdin=True)
if data:
    check("swaks transcript: stage from the last command (AUTH LOGIN)", data["stage"] == "auth", data["stage"])

# Identity-provider sign-in errors, pasted from a browser page or a token
# helper's log: no SMTP reply at all, the AADSTS / OAuth code decides.
for name, text, expect in [
        ("Entra browser page", "Sorry, but we’re having trouble signing you in.\n\nAADSTS50011: The redirect URI "
         "'http://localhost:38211/' specified in the request does not match the redirect URIs configured for the "
         "application '11111111-2222-3333-4444-555555555555'.", "oauth-redirect-uri-missing"),
        ("token helper log", "ERROR token refresh failed: {\"error\":\"invalid_grant\",\"error_description\":"
         "\"AADSTS700082: The refresh token has expired due to inactivity.\",\"error_codes\":[700082]}",
         "oauth-sign-in-again"),
        ("device code, admin consent", "AADSTS90094: The grant requires admin permission.", "oauth-consent-required")]:
    proc = explain(["--json", text])
    check(name + ": exit 0 (specific rule)", proc.returncode == 0, (proc.returncode, proc.stderr))
    try:
        data = json.loads(proc.stdout)
        check(name + ": diagnosis " + expect, data["diagnosis"]["id"] == expect, data["diagnosis"]["id"])
        check(name + ": no reply code invented", data["reply"]["code"] is None, data["reply"])
    except (ValueError, KeyError, TypeError) as e:
        check(name + ": JSON", False, str(e))

# Human output.
proc = explain([NODEMAILER])
check("human output: exit 0", proc.returncode == 0)
check("human output: title first", proc.stdout.startswith("Google rejected the user name or password"), proc.stdout[:80])
check("human output: who must act", "Who must act:" in proc.stdout)
check("human output: numbered steps", "\n  1. " in proc.stdout and "\n  2. " in proc.stdout)
check("human output: links", "https://support.google.com/accounts/answer/185833" in proc.stdout)

# Only the fallback: exit 1, but still a diagnosis that states the reply.
proc = explain(["--json", "554 5.3.0 Local delivery failed"])
check("fallback: exit 1", proc.returncode == 1, proc.returncode)
check("fallback: unknown stage is null", '"stage" : null' in proc.stdout)
try:
    data = json.loads(proc.stdout)
    check("fallback: id", data["diagnosis"]["id"] == "fallback-permanent", data["diagnosis"]["id"])
    check("fallback: matched false", data["matched"] is False)
    check("fallback: quotes the reply", "554 5.3.0 Local delivery failed" in data["diagnosis"]["explanation"])
except (ValueError, KeyError) as e:
    check("fallback: JSON", False, str(e))

# Bad usage: exit 2, nothing on stdout.
for name, args, stdin in [("no text", [], None), ("unknown stage", ["--stage", "banana", "535 x"], None),
                          ("unknown option", ["--frobnicate", "535 x"], None), ("empty stdin", ["-"], "  \n")]:
    proc = explain(args, stdin=stdin)
    check("usage (%s): exit 2" % name, proc.returncode == 2, proc.returncode)
    check("usage (%s): message on stderr" % name, proc.stderr.strip() != "" and proc.stdout == "")

# Hostile input: binary garbage and a huge line give a diagnosis, not a crash.
proc = subprocess.run([HERALDCTL, "explain", "-"], input=b"\xff\xfe\x00535 \xc3(" + b"A" * 200000,
                      capture_output=True, timeout=60)
check("garbage input: exit 0 or 1", proc.returncode in (0, 1), proc.returncode)

# Hostile strings in every field explain prints (the pasted text, a Python
# tuple's escapes, the host): the JSON parses strictly (no raw control
# characters, valid UTF-8) and carries no raw ESC, BEL, U+001F or U+202E.
HOSTILE = [b"\x1b]0;pwned\x07\x1b[2J", b"unit\x1fsep", b"\xe2\x80\xaeexe.txt", b"bad \xff\xfe utf-8 \xe2\x80",
           b"del\x7f c1\xc2\x85"]
for i, h in enumerate(HOSTILE):
    for form, text in [("bare reply", b"535 5.7.8 Username " + h + b" not accepted"),
                       ("words only", b"login failed " + h),
                       # The escapes Python writes come back when unescaped.
                       ("Python tuple", b"smtplib.SMTPAuthenticationError: (535, b'5.7.8 bad " + h +
                        b" \\033]0;x\\007 \\037 \\377 \\342\\200\\256 creds')"),
                       ("transcript", b"<- 220 " + h + b"\n -> AUTH LOGIN\n<- 535 5.7.3 " + h)]:
        name = "hostile %d (%s)" % (i + 1, form)
        for host_name, extra in [("", []), (", hostile host", [b"--host", b"mx" + h + b".example"])]:
            proc = subprocess.run([HERALDCTL.encode(), b"explain", b"--json"] + extra + [b"-"], input=text,
                                  capture_output=True, timeout=60)
            if extra and b"\xff" in h:
                # An option value that is not UTF-8 is bad usage, said on stderr.
                check(name + host_name + ": exit 2, nothing on stdout", proc.returncode == 2 and not proc.stdout,
                      (proc.returncode, proc.stdout[:100]))
                continue
            check(name + host_name + ": exit 0 or 1", proc.returncode in (0, 1), (proc.returncode, proc.stderr))
            raw = [b for b in (b"\x1b", b"\x07", b"\x1f", b"\x7f", b"\xc2\x85", b"\xe2\x80\xae") if b in proc.stdout]
            check(name + host_name + ": no raw control character", not raw, raw)
            try:
                data = json.loads(proc.stdout)   # strict: raw controls and invalid UTF-8 fail
                check(name + host_name + ": strict JSON", set(data) == {"matched", "stage", "reply", "diagnosis"})
            except ValueError as e:
                check(name + host_name + ": strict JSON", False, "%s: %r" % (e, proc.stdout[:300]))

# Human output of a Python tuple whose escapes unescape to ESC and BEL: they
# are filtered after unescaping, so none reaches the terminal.
proc = subprocess.run([HERALDCTL, "explain", "-"], capture_output=True, timeout=60,
                      input=b"smtplib.SMTPAuthenticationError: (535, b'5.7.8 Username and Password not accepted "
                            b"\\033]0;pwned\\007\\033[2J \\377')")
check("Python tuple escapes: exit 0 or 1", proc.returncode in (0, 1), proc.returncode)
check("Python tuple escapes: no ESC or BEL in the human output",
      b"\x1b" not in proc.stdout and b"\x07" not in proc.stdout and b"Username and Password" in proc.stdout,
      proc.stdout[:300])

print("1..%d" % len(results))
for i, (name, ok, detail) in enumerate(results, 1):
    print("%s %d - %s" % ("ok" if ok else "not ok", i, name))
    if not ok and detail:
        print("# %s" % str(detail).replace("\n", "\n# "))
sys.exit(0 if all(ok for _, ok, _ in results) else 1)
