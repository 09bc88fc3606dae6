#!/usr/bin/python3
# SPDX-License-Identifier: GPL-3.0-or-later
# Copyright 2026 The Herald authors
"""The relay's system units (data/systemd/system/herald-relay.*) (TAP).

Fills in the paths with the build tree's, runs `systemd-analyze verify` on
the socket and the service (and on a broken copy, which must fail, so the
check is known to look), checks the hardening with `systemd-analyze
security --offline=yes` and the settings that make it what the relay needs:
socket activation, an unprivileged user, writes only to the maildrop and its
log, root only for the preparation step.

Usage: test-relay-units.py SOURCE_SYSTEM_UNIT_DIR HERALDCTL
"""

import os
import re
import shutil
import subprocess
import sys
import tempfile


class Failure(Exception):
    pass


def check(condition, message):
    if not condition:
        raise Failure(message)


def fill(src, dst, values):
    with open(src) as f:
        text = f.read()
    for key, value in values.items():
        text = text.replace(key, value)
    with open(dst, 'w') as f:
        f.write(text)
    return text


def verify(unit_dir, units):
    env = dict(os.environ, SYSTEMD_LOG_LEVEL='notice')
    return subprocess.run(['systemd-analyze', 'verify', '--man=no'] + units, cwd=unit_dir,
                          env=env, capture_output=True, text=True, timeout=60)


def main():
    src, heraldctl = sys.argv[1], os.path.abspath(sys.argv[2])
    tmp = tempfile.mkdtemp(prefix='herald-relay-units-')
    results = []
    values = {'@HERALDCTL@': heraldctl, '@MAILDROPDIR@': os.path.join(tmp, 'maildrop'),
              '@RELAYSTATEDIR@': os.path.join(tmp, 'relay')}
    try:
        units = os.path.join(tmp, 'units')
        os.makedirs(units)
        service = fill(os.path.join(src, 'herald-relay.service.in'),
                       os.path.join(units, 'herald-relay.service'), values)
        shutil.copy(os.path.join(src, 'herald-relay.socket'), units)
        with open(os.path.join(units, 'herald-relay.socket')) as f:
            socket_unit = f.read()

        def t_verify():
            p = verify(units, ['herald-relay.socket', 'herald-relay.service'])
            check(p.returncode == 0, f'systemd-analyze verify failed:\n{p.stdout}{p.stderr}')

        def t_verify_looks():
            broken = os.path.join(tmp, 'broken')
            os.makedirs(broken)
            fill(os.path.join(src, 'herald-relay.service.in'),
                 os.path.join(broken, 'herald-relay.service'),
                 dict(values, **{'@HERALDCTL@': '/nonexistent/heraldctl'}))
            shutil.copy(os.path.join(src, 'herald-relay.socket'), broken)
            p = verify(broken, ['herald-relay.service'])
            check(p.returncode != 0, 'verify passed a unit whose program does not exist')

        def t_shape():
            check(re.search(r'^ListenStream=587$', socket_unit, re.M), socket_unit)
            check(f'ExecStart={heraldctl} relay --system\n' in service, service)
            check(f'ExecStartPre=+{heraldctl} relay --system --prepare\n' in service, service)
            check(re.search(r'^User=herald-relay$', service, re.M), 'not an unprivileged user')
            check(re.search(r'^Requires=herald-relay.socket$', service, re.M), service)
            for line in ('ProtectSystem=strict', 'ProtectHome=yes', 'PrivateTmp=yes',
                         'NoNewPrivileges=yes', 'CapabilityBoundingSet=\n',
                         'RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6'):
                check(line in service, f'hardening {line.strip()} missing')
            # A start that fails (--prepare without a profile) is not retried
            # forever: a start limit in [Unit] that the restarts do reach.
            unit_section = service.split('[Service]', 1)[0]
            interval = re.search(r'^StartLimitIntervalSec=(\d+)(min|s)?$', unit_section, re.M)
            burst = re.search(r'^StartLimitBurst=(\d+)$', unit_section, re.M)
            restart = re.search(r'^RestartSec=(\d+)s?$', service, re.M)
            check(interval and burst and restart, 'no start limit in [Unit]: a failing '
                  '--prepare would be retried every RestartSec forever')
            seconds = int(interval.group(1)) * (60 if interval.group(2) == 'min' else 1)
            check(int(burst.group(1)) * int(restart.group(1)) < seconds,
                  f'{burst.group(0)} restarts {restart.group(0)} apart never fill '
                  f'{interval.group(0)}: the limit would never trip')
            rw = re.search(r'^ReadWritePaths=(.*)$', service, re.M).group(1).split()
            check(rw == [values['@MAILDROPDIR@'], values['@RELAYSTATEDIR@'] + '/log'],
                  f'writes more than the maildrop and its log: {rw}')

        def t_security():
            p = subprocess.run(['systemd-analyze', 'security', '--offline=yes',
                                'herald-relay.service'], cwd=units, capture_output=True,
                               text=True, timeout=60)
            m = re.search(r'Overall exposure level for herald-relay.service: ([0-9.]+)', p.stdout)
            check(m is not None, f'no exposure level:\n{p.stdout}{p.stderr}')
            check(float(m.group(1)) <= 2.5, f'exposure {m.group(1)} (OK is below 4.0; the relay '
                                            f'keeps under 2.5):\n{p.stdout[-3000:]}')

        for name, func in (('systemd-analyze verify passes the socket and the service', t_verify),
                           ('verify fails a unit whose program is missing', t_verify_looks),
                           ('socket activation, unprivileged, writes only maildrop and log, '
                            'a start limit',
                            t_shape),
                           ('systemd-analyze security rates it well protected', t_security)):
            try:
                func()
                results.append((name, True, ''))
            except Failure as e:
                results.append((name, False, str(e)))
            except Exception as e:
                results.append((name, False, f'{type(e).__name__}: {e}'))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

    print(f'1..{len(results)}')
    for i, (name, ok, detail) in enumerate(results, 1):
        print(f'{"ok" if ok else "not ok"} {i} - {name}')
        if not ok:
            for line in detail.splitlines()[-20:]:
                print(f'# {line}')
    return 0 if all(ok for _, ok, _ in results) else 1


if __name__ == '__main__':
    sys.exit(main())
