# SPDX-License-Identifier: GPL-3.0-or-later
# Copyright 2026 The Herald authors
"""Waits on one accessible that is already known, for the AT-SPI tests of
tests/ui.

App.find() walks the whole tree, and a walk costs seconds on GTK 4.8 (one
D-Bus round trip per property); under load one walk can outlast a short
timeout, so a walk that started just before the app reacted gives no second
look. When the widget is known beforehand (the Send button that turns into
Cancel), polling that one accessible is cheap and sees the change at once.
Every wait is bounded."""

from atspidriver import DriverTimeout, _name, wait_until


def fresh_name(acc):
    """acc's name as the app has it now, not as libatspi may have cached it."""
    try:
        acc.clear_cache()
    except Exception:
        pass
    return _name(acc)


def wait_for_name(app, acc, name, timeout=30.0):
    """Waits until acc (found earlier) is named name; returns acc. Raises
    DriverTimeout naming the last name seen."""
    seen = []

    def look():
        if app.proc.poll() is not None:
            raise DriverTimeout("herald exited with status %s while waiting for %r"
                                % (app.proc.returncode, name))
        current = fresh_name(acc)
        if not seen or seen[-1] != current:
            seen.append(current)
        return current == name
    try:
        wait_until("the %s to be named %r" % (acc.get_role_name(), name), look, timeout)
    except DriverTimeout as e:
        raise DriverTimeout("%s; names seen: %s" % (e, seen)) from None
    return acc
