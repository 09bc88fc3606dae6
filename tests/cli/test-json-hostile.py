#!/usr/bin/python3
# SPDX-License-Identifier: GPL-3.0-or-later
# Copyright 2026 The Herald authors
#
# Every --json output of heraldctl send, queue (list, show, retry, flush) and
# config show, with hostile strings in every field: ESC and BEL (a terminal
# title sequence), U+001F (which json-glib 1.6 leaves unescaped), U+202E,
# DEL and C1, quotes, backslashes and, where bytes can get in, invalid UTF-8.
# Each output must parse as strict JSON (no raw control character, valid
# UTF-8), carry no raw escape for a terminal, and still say what was stored
# (the field is escaped, not dropped). `heraldctl test` and `explain` have
# the same checks in tests/diagnosis/test-explain.py.
#
#   test-json-hostile.py HERALDCTL FAKE_SMTP_SERVER
import json
import os
import shutil
import subprocess
import sys
import tempfile

HERALDCTL, FAKE_SERVER = sys.argv[1:3]

results = []


def check(name, cond, detail=""):
    results.append((name, bool(cond), detail))
    return cond


# What a terminal or a strict JSON parser must never see raw.
RAW_BYTES = (b"\x1b", b"\x07", b"\x1f", b"\x7f", b"\xc2\x85", b"\xe2\x80\xae")

# Text hostile strings (stored as they are: the queue and GSettings keep
# valid UTF-8 only).
HOSTILE = ["\x1b]0;pwned\x07\x1b[2J", "unit\x1fsep", "\u202eexe.txt", "del\x7f c1\x85",
           "quote\" back\\slash 'single'"]
# The same as bytes, plus invalid UTF-8, for what arrives as bytes (a
# server's reply, a command-line argument).
HOSTILE_BYTES = [h.encode() for h in HOSTILE] + [b"bad \xff\xfe utf-8 \xe2\x80"]

work = tempfile.mkdtemp(prefix="herald-json-hostile-")
env = dict(os.environ, LC_ALL="C.UTF-8", GSETTINGS_BACKEND="keyfile",
           XDG_CONFIG_HOME=os.path.join(work, "config"),
           XDG_STATE_HOME=os.path.join(work, "state"))
queue_dir = os.path.join(work, "state", "herald", "queue")
keyfile = os.path.join(work, "config", "glib-2.0", "settings", "keyfile")


def heraldctl(args, stdin=b"", timeout=60):
    return subprocess.run([HERALDCTL.encode()] + [a if isinstance(a, bytes) else a.encode()
                                                   for a in args],
                          input=stdin, capture_output=True, env=env, timeout=timeout)


def parse(name, proc, statuses=(0,)):
    """The output as strict JSON, or None (and a failed check)."""
    check(name + ": exit status", proc.returncode in statuses,
          "exit %d, stderr: %r" % (proc.returncode, proc.stderr[-400:]))
    raw = [b for b in RAW_BYTES if b in proc.stdout]
    check(name + ": no raw control character", not raw, raw)
    try:
        return json.loads(proc.stdout)  # bytes: invalid UTF-8 and raw controls fail
    except ValueError as e:
        check(name + ": strict JSON", False, "%s: %r" % (e, proc.stdout[:400]))
        return None


def configure(port):
    for key, value in [("alerts-enabled", "true"), ("server", "127.0.0.1"), ("port", str(port)),
                       ("security", "none"), ("auth", "none"), ("from", "alice@example.com"),
                       ("to", "bob@example.com"), ("timeout", "10")]:
        p = heraldctl(["config", "set", key, value])
        if p.returncode != 0:
            raise RuntimeError("config set %s: %r" % (key, p.stderr))


def escape_raw(data):
    """For the fake server's RAW lines: C escapes for every byte."""
    return "".join("\\x%02x" % b for b in data)


def hostile_server(reply_code, text):
    """A fake server that refuses MAIL FROM with reply_code and the hostile
    bytes text; returns (process, port)."""
    script = os.path.join(work, "script-%d.txt" % len(os.listdir(work)))
    with open(script, "w") as f:
        f.write("S 220 fake.example ESMTP\n"
                "C EHLO .*\n"
                "S 250 fake.example\n"
                "C MAIL FROM:.*\n"
                "RAW %s\\r\\n\n"
                "C *\n"
                "S 221 bye\n" % escape_raw(b"%d 4.3.0 " % reply_code + text))
    proc = subprocess.Popen([FAKE_SERVER, "--script", script, "--timeout", "60"],
                            stdout=subprocess.PIPE)
    port = int(proc.stdout.readline().decode().strip().split("=", 1)[1])
    return proc, port


def finish(server):
    """Waits for the fake server to end its script; ends it if it does not."""
    try:
        server.wait(timeout=30)
    except subprocess.TimeoutExpired:
        server.kill()
        server.wait()


def reply_text(data):
    reply = data.get("reply") if isinstance(data, dict) else None
    return reply.get("text", "") if isinstance(reply, dict) else ""


configure(1)

# ---- heraldctl send --json ------------------------------------------------------------------

# Queued without trying (-odq): the subject from a hostile argument, the
# message's own hostile Message-ID and To.
for i, h in enumerate(HOSTILE_BYTES):
    name = "send --json -odq, hostile subject %d" % (i + 1)
    proc = heraldctl(["send", "--json", "-odq", "--subject", b"alert " + h], b"body\n")
    if b"\xff" in h:
        # A subject that is not UTF-8 is bad input, said on stderr.
        check(name + ": exit 65, nothing on stdout", proc.returncode == 65 and not proc.stdout,
              (proc.returncode, proc.stdout[:100]))
        continue
    data = parse(name, proc)
    check(name + ": queued", isinstance(data, dict) and data.get("outcome") == "queued", data)

for i, h in enumerate(HOSTILE):
    name = "send --json -t, hostile headers %d" % (i + 1)
    message = ("Subject: s %s\nMessage-ID: <id%s@example.com>\nTo: \"%s\" <bob@example.com>\n"
               "\nbody\n" % (h, h, h.replace('"', "'"))).encode()
    data = parse(name, heraldctl(["send", "--json", "-odq", "-t"], message), statuses=(0, 65))

# Against a server whose refusal carries the hostile bytes: the reply and
# its diagnosis in the JSON.
for i, h in enumerate(HOSTILE_BYTES):
    name = "send --json, hostile server reply %d" % (i + 1)
    server, port = hostile_server(451, b"try later " + h)
    configure(port)
    data = parse(name, heraldctl(["send", "--json", "--subject", "hostile reply"], b"body\n"))
    finish(server)
    check(name + ": queued with the server's reply",
          isinstance(data, dict) and data.get("outcome") == "queued"
          and "try later" in reply_text(data), data)
configure(1)

# ---- heraldctl queue list/show --json ---------------------------------------------------------

# Every text field of a queued message's record made hostile, as a file in
# the queue directory can be: the output is escaped, and says what is stored.
p = heraldctl(["send", "--json", "-odq", "--subject", "to be made hostile"], b"body\n")
queued = json.loads(p.stdout)["id"] if p.returncode == 0 else None
check("a message to edit is queued", queued, p.stderr)
meta_path = os.path.join(queue_dir, "%s.meta" % queued)


def gkeyfile_value(text):
    return text.replace("\\", "\\\\")


with open(meta_path, encoding="utf-8") as f:
    meta = f.read()
h_all = "".join(HOSTILE)
h_addr = "a\x1b]0;x\x07\x1f\u202e'\\b\x7f\x85@example.com"  # no space, quote or <>: still an address
texts = {"subject": "subject " + h_all, "message-id": "mid " + h_all, "note": "note " + h_all,
         "client-address": "client " + h_all, "device-user": "device " + h_all}
errors = {"stage": "stage " + h_all, "error": "error " + h_all, "reply-enhanced": "4.3.0" + h_all,
          "reply-text": "reply " + h_all, "diagnosis-id": "diag " + h_all,
          "diagnosis-title": "title " + h_all, "diagnosis-actor": "actor " + h_all}
lines = []
for line in meta.splitlines():
    key = line.split("=", 1)[0]
    if key in texts or key in ("sender", "recipients"):
        continue
    lines.append(line)
insert = ["sender=" + gkeyfile_value(h_addr),
          "recipients=" + ";".join(gkeyfile_value(r).replace(";", "\\;")
                                   for r in (h_addr, "z" + h_addr)) + ";"]
insert += ["%s=%s" % (k, gkeyfile_value(v)) for k, v in texts.items()]
group = lines.index(next(l for l in lines if l.startswith("[")))
lines[group + 1:group + 1] = insert
lines += ["", "[last-error]", "reply-code=451"] + ["%s=%s" % (k, gkeyfile_value(v))
                                              for k, v in errors.items()]
with open(meta_path, "w", encoding="utf-8") as f:
    f.write("\n".join(lines) + "\n")

# A damaged record beside it (invalid UTF-8, controls): listed as damaged.
damaged_id = queued[:-1] + ("0" if queued[-1] != "0" else "1")
shutil.copy(os.path.join(queue_dir, "%s.msg" % queued), os.path.join(queue_dir, "%s.msg" % damaged_id))
with open(os.path.join(queue_dir, "%s.meta" % damaged_id), "wb") as f:
    f.write(b"[herald-queue]\nversion=1\nid=" + damaged_id.encode() + b"\nsubject=\xff\x1b\x1f\n")


def check_entry(name, entry):
    if not check(name + ": the record is an object", isinstance(entry, dict), entry):
        return
    check(name + ": sender kept, escaped", entry.get("sender") == h_addr, entry.get("sender"))
    check(name + ": recipients kept, escaped",
          entry.get("recipients") == [h_addr, "z" + h_addr], entry.get("recipients"))
    for key, value in texts.items():
        got = entry.get(key.replace("-", "_"))
        check(name + ": %s kept, escaped" % key, got == value, got)
    err = entry.get("last_error") or {}
    check(name + ": last_error.stage and .error", err.get("stage") == errors["stage"]
          and err.get("error") == errors["error"], err)
    reply = err.get("reply") or {}
    check(name + ": last_error.reply", reply.get("code") == 451
          and reply.get("enhanced") == errors["reply-enhanced"]
          and reply.get("text") == errors["reply-text"], reply)
    diag = err.get("diagnosis") or {}
    check(name + ": last_error.diagnosis", diag.get("id") == errors["diagnosis-id"]
          and diag.get("title") == errors["diagnosis-title"]
          and diag.get("actor") == errors["diagnosis-actor"], diag)


data = parse("queue list --json", heraldctl(["queue", "list", "--json"]))
if isinstance(data, dict):
    mine = [m for m in data.get("messages", []) if m.get("id") == queued]
    check("queue list --json: the hostile record is listed", len(mine) == 1, data)
    if mine:
        check_entry("queue list --json", mine[0])
    check("queue list --json: the damaged record is named", damaged_id in data.get("damaged", []),
          data.get("damaged"))
check_entry("queue show --json", parse("queue show --json", heraldctl(["queue", "show", "--json", queued])))

# The plain output reaches a terminal (root's, for the system queue): the same
# hostile record must not bring a raw control character or bidi override.
for command in (["queue", "list"], ["queue", "show", queued]):
    name = " ".join(command[:2]) + " (plain)"
    p = heraldctl(command)
    check(name + ": exit status", p.returncode == 0, p.stderr[-400:])
    raw = [b for b in RAW_BYTES if b in p.stdout]
    check(name + ": no raw control character", not raw, raw)
    check(name + ": the record is shown", b"example.com" in p.stdout, p.stdout[-400:])

# ---- heraldctl queue retry/flush --json -----------------------------------------------------------

# One plain message left in the queue, tried against servers whose
# refusals carry the hostile bytes.
for path in os.listdir(queue_dir):
    if os.path.isfile(os.path.join(queue_dir, path)):
        os.unlink(os.path.join(queue_dir, path))
p = heraldctl(["send", "--json", "-odq", "--subject", "retried"], b"body\n")
plain = json.loads(p.stdout)["id"] if p.returncode == 0 else None
check("a message to retry is queued", plain, p.stderr)
for i, h in enumerate(HOSTILE_BYTES):
    for command in (["retry", "--json", plain], ["flush", "--json"]):
        name = "queue %s --json, hostile server reply %d" % (command[0], i + 1)
        server, port = hostile_server(451, b"busy " + h)
        configure(port)
        data = parse(name, heraldctl(["queue"] + command), statuses=(0, 75))
        finish(server)
        items = data.get("messages", []) if isinstance(data, dict) else []
        check(name + ": the server's reply is in it",
              [m.get("id") for m in items] == [plain] and "busy" in reply_text(items[0]), data)
configure(1)

# ---- heraldctl config show --json -----------------------------------------------------------------


def gvariant_string(text):
    out = []
    for c in text:
        if c in "\\'":
            out.append("\\" + c)
        elif ord(c) < 0x20 or 0x7f <= ord(c) < 0xa0 or c == "\u202e":
            out.append("\\u%04x" % ord(c))
        else:
            out.append(c)
    return "'" + "".join(out) + "'"


free_text = ["server", "username", "from", "to", "cc", "local-recipients", "subject", "extra-text",
             "ca-file", "oauth-client-id", "oauth-tenant", "oauth-authority", "graph-endpoint"]
with open(keyfile, encoding="utf-8") as f:
    settings = f.read()
values = {k: "%s %s" % (k, h_all) for k in free_text}
settings = "\n".join(l for l in settings.splitlines() if l.split("=", 1)[0] not in values)
settings += "\n" + "\n".join("%s=%s" % (k, gvariant_string(v)) for k, v in values.items()) + "\n"
with open(keyfile, "w", encoding="utf-8") as f:
    f.write(settings)


def members(node):
    """Every object anywhere in node."""
    if isinstance(node, dict):
        yield node
        for v in node.values():
            yield from members(v)
    elif isinstance(node, list):
        for v in node:
            yield from members(v)


data = parse("config show --json", heraldctl(["config", "show", "--json"]))
if data is not None:
    shown = {o.get("key"): o.get("value") for o in members(data) if "key" in o and "value" in o}
    for key, value in values.items():
        check("config show --json: %s kept, escaped" % key, shown.get(key) == value, shown.get(key))

shutil.rmtree(work, ignore_errors=True)
print("1..%d" % len(results))
for i, (name, ok, detail) in enumerate(results, 1):
    print("%s %d - %s" % ("ok" if ok else "not ok", i, name))
    if not ok:
        for line in repr(detail).splitlines():
            print("# " + line[:2000])
sys.exit(0 if all(ok for _, ok, _ in results) else 1)
