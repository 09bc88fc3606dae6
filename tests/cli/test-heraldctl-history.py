#!/usr/bin/python3
# SPDX-License-Identifier: GPL-3.0-or-later
# Copyright 2026 The Herald authors
"""heraldctl history: every `heraldctl test` adds an entry (time, server,
transport, outcome, summary, report) to the history in the state directory,
newest first and at most 20, also a test its settings stop before any
connection (no server, a bad address, no saved password); no password reaches it; `--json` stays strict
JSON with hostile strings in every field; a damaged file gets a clear
message, never a crash, and the next test starts a new history.

usage: test-heraldctl-history.py HERALDCTL FAKE_SMTP_SERVER MAKE_TEST_CERTS"""

import json
import os
import re
import secrets
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "desktop"))
from desktoptest import Tap, FakeServer, secret_forms, success_script  # noqa: E402

heraldctl, fakesrv, make_certs = sys.argv[1:4]
USER = "alice@example.com"
password = "Hy-" + secrets.token_hex(12) + "-q"
forms = secret_forms(USER, password)
tap = Tap(forms)

work = tempfile.mkdtemp(prefix="herald-history-")
state = os.path.join(work, "state")
env = dict(os.environ, XDG_STATE_HOME=state, LANG="C.UTF-8", LC_ALL="C.UTF-8")
history = os.path.join(state, "herald", "history.json")


def run(args, **kw):
    return subprocess.run([heraldctl] + args, capture_output=True, timeout=90, env=env, **kw)


def refused_test(port="1"):
    # Nothing listens on port 1 of loopback: a failed test, at once.
    return run(["test", "--server", "127.0.0.1", "--port", port, "--security", "none",
                "--auth", "none", "--from", USER, "--to", "bob@example.com", "--timeout", "5"],
               stdin=subprocess.DEVNULL)


def history_json():
    r = run(["history", "--json"])
    try:
        return r, json.loads(r.stdout)
    except ValueError:
        return r, None


try:
    r = run(["history"])
    tap.ok(r.returncode == 0 and b"No tests yet." in r.stdout,
           "with no history file, heraldctl history says there are no tests", r.stdout + r.stderr)

    # A successful test with a password, through the fake server.
    r = subprocess.run([make_certs, os.path.join(work, "certs")], capture_output=True, timeout=60)
    if r.returncode != 0:
        tap.bail("make-test-certs.sh failed: " + r.stderr.decode(errors="replace"))
    certs = os.path.join(work, "certs")
    server = FakeServer(fakesrv, success_script(USER, password), work,
                        cert=os.path.join(certs, "localhost.pem"),
                        key=os.path.join(certs, "localhost-key.pem"), timeout=60)
    r = run(["test", "--server", "127.0.0.1", "--port", str(server.port), "--security",
             "starttls", "--auth", "plain", "--user", USER, "--password-stdin", "--from", USER,
             "--to", "bob@example.com", "--ca-file", os.path.join(certs, "ca.pem"),
             "--timeout", "20"], input=(password + "\n").encode())
    tap.ok(r.returncode == 0, "the test through the fake server succeeds", r.stdout + r.stderr)
    server.wait(30)

    r = refused_test()
    tap.ok(r.returncode == 1, "the test against a closed port fails", r.stdout + r.stderr)

    r, data = history_json()
    entries = data["entries"] if data else []
    tap.ok(r.returncode == 0 and len(entries) == 2, "both tests are in the history",
           r.stdout + r.stderr)
    if len(entries) == 2:
        new, old = entries
        tap.ok(new["outcome"] == "failed" and new["port"] == 1 and new["host"] == "127.0.0.1"
               and new["transport"] == "smtp" and "refused" in new["summary"],
               "newest first: the refused test, failed, with server, port and transport", new)
        tap.ok(old["outcome"] == "sent" and old["port"] == server.port
               and "queued as E2E42" in old["summary"],
               "then the successful one, with the server's reply as its summary", old)
        tap.ok("Herald test report" in old["report"] and "AUTH PLAIN" in old["report"],
               "an entry keeps the whole report (with the redacted transcript)", old["report"][:300])
        tap.ok(new["time"].endswith("Z") and new["time"] >= old["time"],
               "times are UTC, in order", (new["time"], old["time"]))
        d = new.get("diagnosis") or {}
        tap.ok(d.get("title") and d.get("explanation") and d.get("steps")
               and all(st.get("text") for st in d["steps"])
               and d.get("actor") in ("you", "mail-admin", "provider")
               and "diagnosis" not in old,
               "a failed test keeps its diagnosis (title, explanation, steps), a sent one none",
               (d, old.keys()))

    with open(history, "rb") as f:
        raw = f.read()
    leaked = [x for x in forms if x.encode() in raw]
    tap.ok(not leaked, "the history file holds neither the password nor its base64 forms")
    tap.ok(os.stat(history).st_mode & 0o077 == 0, "the history file is readable by its owner only",
           oct(os.stat(history).st_mode))

    r = run(["history"])
    out = r.stdout.decode()
    lines = [l for l in out.splitlines() if l.strip()[:1].isdigit()]
    tap.ok(r.returncode == 0 and len(lines) == 2 and "Failed" in lines[0] and "Sent" in lines[1]
           and "127.0.0.1:1 " in lines[0], "heraldctl history lists both, newest first", out)
    r = run(["history", "--report", "2"])
    tap.ok(r.returncode == 0 and b"queued as E2E42" in r.stdout and b"Herald test report" in r.stdout,
           "--report 2 prints the report of the second test", r.stdout[:400])
    r = run(["history", "--report", "3"])
    tap.ok(r.returncode == 1 and b"no test 3" in r.stderr, "--report 3 says there is no such test",
           r.stderr)
    for bad in (["--report", "0x"], ["--report", "21"], ["--report", "1", "--json"], ["extra"]):
        r = run(["history"] + bad)
        tap.ok(r.returncode == 2, "bad usage %s: exit 2" % " ".join(bad), r.stderr)

    # The newest 20 stay.
    for i in range(20):
        refused_test(str(2 + i))
    r, data = history_json()
    ports = [e["port"] for e in data["entries"]] if data else []
    tap.ok(ports == list(range(21, 1, -1)), "22 tests later, the newest 20 are kept, newest first",
           ports)

    # A test its settings stop before any connection is a test all the same:
    # no server, a bad recipient, no saved password (the keyring lookup).
    stopped = [
        (["--port", "2525", "--security", "none", "--auth", "none", "--from", USER,
          "--to", "bob@example.com"], 2, "no server"),
        (["--server", "127.0.0.1", "--port", "2526", "--security", "none", "--auth", "none",
          "--from", USER, "--to", "not an address"], 2, "invalid --to address"),
        (["--server", "127.0.0.1", "--port", "2527", "--security", "none", "--auth", "plain",
          "--user", "nobody-saved@example.com", "--allow-plaintext-auth", "--from", USER,
          "--to", "bob@example.com"], 1, "password"),
    ]
    for args, status, words in stopped:
        r = run(["test"] + args, stdin=subprocess.DEVNULL)
        r2, data = history_json()
        e = data["entries"][0] if data and data["entries"] else {}
        tap.ok(r.returncode == status and e.get("outcome") == "failed"
               and words in e.get("summary", "") and words in e.get("report", "")
               and e.get("transport") == "smtp",
               "a test stopped before connecting (%s, exit %d) is in the history as failed, "
               "with the reason" % (words, status), (r.returncode, r.stderr, e))
    r, data = history_json()
    ports = [e["port"] for e in data["entries"]][:3] if data else []
    tap.ok(ports[:2] == [2527, 2526] and len(data["entries"]) == 20,
           "the stopped tests are the newest, and the history still keeps 20", ports)
    r = run(["history"])
    tap.ok(r.returncode == 0 and "invalid --to address" in r.stdout.decode(),
           "heraldctl history lists them", r.stdout[:600])

    # Hostile strings in every field, as an edited file or a server may bring.
    hostile = ["\x1b]0;pwned\x07\x1b[2J", "unit\x1fsep", "\u202eexe.txt", "bad \udcff utf-8",
               "del\x7f c1\x85", 'quote " and \\ backslash', "\u2028line sep"]
    for i, h in enumerate(hostile):
        # json.dumps writes every control as \\u escape; a lone surrogate as \\udcff, which
        # is no character: heraldctl must cope with it as with invalid UTF-8.
        entry = {"time": "2026-12-07T12:00:00Z", "host": "mx" + h, "port": 25, "transport": h,
                 "outcome": h, "summary": "summary " + h, "report": "report\n" + h,
                 "diagnosis": {"id": "rule " + h, "title": "title " + h,
                               "explanation": "explanation " + h, "actor": "you",
                               "severity": "error",
                               "steps": [{"text": "step " + h, "command": "command " + h}],
                               "links": [{"title": "link " + h, "url": "https://example.com/ok"},
                                         {"title": "bad", "url": "https://example.com/" + h}],
                               "details": "details " + h}}
        with open(history, "w") as f:
            f.write(json.dumps({"entries": [entry]}))
        r = run(["history", "--json"])
        name = "hostile %d" % (i + 1)
        raw = [b for b in (b"\x1b", b"\x07", b"\x1f", b"\x7f", b"\xc2\x85", b"\xe2\x80\xae",
                           b"\xe2\x80\xa8") if b in r.stdout]
        tap.ok(r.returncode == 0 and not raw, name + ": --json exits 0 with no raw control character",
               (r.returncode, raw, r.stderr))
        try:
            data = json.loads(r.stdout)   # strict: raw controls and invalid UTF-8 fail
            e = data["entries"][0]
            # json-glib makes U+FFFD of the lone surrogate (one or more, and it
            # may take the character after it along).
            def same(got, want):
                return re.fullmatch(re.escape(want).replace(re.escape("\udcff "), "\ufffd+ ?"), got, re.S)
            d = e["diagnosis"]
            tap.ok(same(e["host"], "mx" + h) and same(e["summary"], "summary " + h)
                   and same(e["outcome"], h) and same(e["transport"], h)
                   and same(e["report"], "report\n" + h)
                   and same(d["id"], "rule " + h) and same(d["title"], "title " + h)
                   and same(d["explanation"], "explanation " + h)
                   and same(d["steps"][0]["text"], "step " + h)
                   and same(d["steps"][0]["command"], "command " + h)
                   and same(d["details"], "details " + h) and same(d["links"][0]["title"], "link " + h),
                   name + ": strict JSON, every field back as written", e)
            tap.ok([l["url"] for l in d["links"]] == ["https://example.com/ok"],
                   name + ": a link that is not a plain https URL is left out", d["links"])
        except (ValueError, KeyError, IndexError) as ex:
            tap.ok(False, name + ": strict JSON, every field back as written", "%s: %r" % (ex, r.stdout[:300]))
        for args in (["history"], ["history", "--report", "1"]):
            r = run(args)
            raw = [b for b in (b"\x1b", b"\x07", b"\x1f", b"\x7f", b"\xc2\x85", b"\xe2\x80\xae",
                               b"\xe2\x80\xa8") if b in r.stdout]
            tap.ok(r.returncode == 0 and not raw, name + ": “heraldctl %s” prints no raw control "
                   "character" % " ".join(args), (r.returncode, r.stdout[:200]))

    # A damaged history: a clear message naming the file, exit 1, never a crash.
    damaged = [("not JSON", b"{\"entries\": [ {\"time\": "),
               ("not UTF-8", b"{\"entries\": [], \"x\": \"\xff\xfe\"}"),
               ("no list", b"[1, 2, 3]"),
               ("entries not a list", b"{\"entries\": {}}"),
               ("an entry without a port", b"{\"entries\": [{\"time\": \"2026-12-07T12:00:00Z\"}]}"),
               ("a bad time", b"{\"entries\": [{\"time\": \"yesterday\", \"host\": \"h\", \"port\": 1,"
                b" \"transport\": \"smtp\", \"outcome\": \"sent\", \"summary\": \"s\", \"report\": \"r\"}]}"),
               ("a port out of range", b"{\"entries\": [{\"time\": \"2026-12-07T12:00:00Z\", \"host\": \"h\","
                b" \"port\": 70000, \"transport\": \"smtp\", \"outcome\": \"sent\", \"summary\": \"s\","
                b" \"report\": \"r\"}]}"),
               ("nested a million deep", b"[" * 1000000),
               ("empty", b""),
               ("huge", b" " * (5 * 1024 * 1024))]
    for what, content in damaged:
        with open(history, "wb") as f:
            f.write(content)
        for args in (["history"], ["history", "--json"]):
            r = run(args)
            err = r.stderr.decode(errors="replace")
            tap.ok(r.returncode == 1 and "cannot be read" in err and history in err
                   and "next test starts a new history" in err and not r.stdout,
                   "a damaged history (%s): “heraldctl %s” exits 1 with a message naming the file"
                   % (what, " ".join(args)), (r.returncode, err[:300], r.stdout[:100]))
    os.remove(history)
    os.mkdir(history)
    r = run(["history"])
    tap.ok(r.returncode == 1 and "not a regular file" in r.stderr.decode(),
           "a directory in place of the file: exit 1 with the reason", r.stderr)
    os.rmdir(history)

    with open(history, "wb") as f:
        f.write(b"garbage")
    r = refused_test("9")
    r2, data = history_json()
    tap.ok(r.returncode == 1 and data is not None and [e["port"] for e in data["entries"]] == [9],
           "the next test after a damaged file starts a new history", (r.stderr, r2.stderr))
    with open(history + ".damaged", "rb") as f:
        tap.ok(f.read() == b"garbage", "the damaged file is kept beside it as history.json.damaged")
finally:
    shutil.rmtree(work, ignore_errors=True)

tap.done()
