#!/usr/bin/python3
# SPDX-License-Identifier: GPL-3.0-or-later
# Copyright 2026 The Herald authors
"""The systemd user units (data/systemd) and the OnFailure= reporter (TAP).

Fills in the units' paths with the build tree's, runs `systemd-analyze
--user verify` on them (and on a broken copy, which must fail, so the check
is known to look), and runs herald-unit-status with stand-in systemctl and
journalctl: the report lands in the queue (the profile's server is a closed
port) with the unit's status and journal lines.

Usage: test-units.py SOURCE_DATA_SYSTEMD_DIR HERALDCTL
"""

import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile


class Failure(Exception):
    pass


def check(condition, message):
    if not condition:
        raise Failure(message)


def fill(src, dst, heraldctl, libexec):
    with open(src) as f:
        text = f.read()
    text = text.replace('@HERALDCTL@', heraldctl).replace('@LIBEXECDIR@', libexec)
    with open(dst, 'w') as f:
        f.write(text)


def verify(unit_dir, units, runtime):
    env = dict(os.environ, XDG_RUNTIME_DIR=runtime, SYSTEMD_LOG_LEVEL='notice')
    return subprocess.run(['systemd-analyze', '--user', 'verify', '--man=no'] + units,
                          cwd=unit_dir, env=env, capture_output=True, text=True, timeout=60)


def main():
    src, heraldctl = sys.argv[1], os.path.abspath(sys.argv[2])
    tmp = tempfile.mkdtemp(prefix='herald-units-')
    results = []
    try:
        units = os.path.join(tmp, 'units')
        runtime = os.path.join(tmp, 'runtime')
        os.makedirs(units)
        os.makedirs(runtime, mode=0o700)
        fill(os.path.join(src, 'herald-queue.service.in'),
             os.path.join(units, 'herald-queue.service'), heraldctl, units)
        shutil.copy(os.path.join(src, 'herald-queue.timer'), units)
        fill(os.path.join(src, 'herald-unit-status@.service.in'),
             os.path.join(units, 'herald-unit-status@.service'), heraldctl, units)
        fill(os.path.join(src, 'herald-unit-status.in'),
             os.path.join(units, 'herald-unit-status'), heraldctl, units)
        os.chmod(os.path.join(units, 'herald-unit-status'), 0o755)
        os.symlink('herald-unit-status@.service',
                   os.path.join(units, 'herald-unit-status@backup.service.service'))

        def t_verify():
            p = verify(units, ['herald-queue.timer', 'herald-queue.service',
                               'herald-unit-status@backup.service.service'], runtime)
            check(p.returncode == 0, f'systemd-analyze verify failed:\n{p.stdout}{p.stderr}')
            with open(os.path.join(units, 'herald-queue.service')) as f:
                text = f.read()
            check(f'ExecStart={heraldctl} queue flush --quiet' in text, text)
            with open(os.path.join(units, 'herald-queue.timer')) as f:
                timer = f.read()
            check('OnUnitActiveSec=5min' in timer and 'OnStartupSec=' in timer, timer)

        def t_verify_looks():
            broken = os.path.join(tmp, 'broken')
            os.makedirs(broken)
            fill(os.path.join(src, 'herald-queue.service.in'),
                 os.path.join(broken, 'herald-queue.service'), '/nonexistent/heraldctl', broken)
            p = verify(broken, ['herald-queue.service'], runtime)
            check(p.returncode != 0, 'verify passed a unit whose program does not exist')

        def t_reporter():
            state = os.path.join(tmp, 'state')
            env = dict(os.environ, GSETTINGS_BACKEND='keyfile',
                       XDG_CONFIG_HOME=os.path.join(tmp, 'config'), XDG_STATE_HOME=state,
                       LC_ALL='C.UTF-8')
            # A port nobody listens on: the report is queued, not lost.
            s = socket.socket()
            s.bind(('127.0.0.1', 0))
            port = s.getsockname()[1]
            s.close()
            for key, value in (('server', '127.0.0.1'), ('port', str(port)),
                               ('security', 'none'), ('auth', 'none'),
                               ('from', 'alerts@example.com'), ('to', 'admin@example.com'),
                               ('timeout', '5'), ('alerts-enabled', 'true')):
                p = subprocess.run([heraldctl, 'config', 'set', key, value], env=env,
                                   capture_output=True, text=True, timeout=30)
                check(p.returncode == 0, f'config set {key}: {p.stderr}')
            shims = os.path.join(tmp, 'shims')
            os.makedirs(shims)
            for name, text in (('systemctl', 'STATUS-OF-$*'), ('journalctl', 'JOURNAL-OF-$*')):
                with open(os.path.join(shims, name), 'w') as f:
                    f.write(f'#!/bin/sh\necho "{text}"\n')
                os.chmod(os.path.join(shims, name), 0o755)
            env['PATH'] = shims + ':' + env['PATH']
            p = subprocess.run([os.path.join(units, 'herald-unit-status'), 'backup.service'],
                               env=env, capture_output=True, text=True, timeout=60)
            check(p.returncode == 0, f'herald-unit-status exited {p.returncode}: {p.stderr}')
            check('herald: queued ' in p.stderr, f'stderr: {p.stderr}')
            p = subprocess.run([heraldctl, 'queue', 'list', '--json'], env=env,
                               capture_output=True, text=True, timeout=30)
            messages = json.loads(p.stdout)['messages']
            check(len(messages) == 1, f'{messages}')
            check(messages[0]['subject'].startswith('Unit backup.service failed on '),
                  f'subject: {messages[0]["subject"]}')
            check(messages[0]['recipients'] == ['admin@example.com'], f'{messages[0]}')
            with open(os.path.join(state, 'herald', 'queue', messages[0]['id'] + '.msg'),
                      'rb') as f:
                body = f.read().decode()
            check('STATUS-OF---user status --full --no-pager --lines=0 -- backup.service' in body,
                  body)
            check('JOURNAL-OF---user --unit=backup.service --lines=50 --no-pager' in body, body)

        for name, func in (('units pass systemd-analyze verify', t_verify),
                           ('verify fails a broken unit', t_verify_looks),
                           ('herald-unit-status mails status and journal through send',
                            t_reporter)):
            try:
                func()
                results.append((True, name, ''))
            except Failure as e:
                results.append((False, name, str(e)))
            except Exception as e:
                results.append((False, name, f'unexpected {type(e).__name__}: {e}'))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

    failed = 0
    for i, (ok, name, why) in enumerate(results, 1):
        print(f'{"ok" if ok else "not ok"} {i} - {name}')
        for line in why.splitlines():
            print(f'# {line}')
        failed += not ok
    print(f'1..{len(results)}')
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main())
