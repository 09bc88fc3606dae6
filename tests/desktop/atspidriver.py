# SPDX-License-Identifier: GPL-3.0-or-later
# Copyright 2026 The Herald authors
"""Drives the real Herald window as a person would, through AT-SPI and the X
server: finds widgets by role and accessible name, clicks their centre and
types with xdotool (GTK 4.8 ignores EditableText and grabFocus), presses
buttons with the Action interface, reads results from label names.

Every wait is bounded; a timeout raises DriverTimeout with what was awaited.
HERALD_TEST_TIMEOUT_MULTIPLIER (set by build-aux/herald-dev test-sanitizers)
stretches every wait, as meson's --timeout-multiplier stretches the tests'.

Each App is ended whatever happens to the test: when the script ends, when
meson's timeout sends SIGTERM (the app runs in its own session, which that
signal does not reach), and, through PR_SET_PDEATHSIG, when the script is
killed outright. An instance left behind would own Herald's bus name, and
the next test's herald would hand over to it and exit."""

import atexit
import os
import signal
import subprocess
import sys
import time

import gi

gi.require_version("Atspi", "2.0")
from gi.repository import Atspi  # noqa: E402
import pyatspi  # noqa: E402,F401  (python3-pyatspi brings the Atspi bindings we use)


class DriverTimeout(Exception):
    pass


def xdotool(*args, timeout=10):
    r = subprocess.run(["xdotool", *[str(a) for a in args]], capture_output=True,
                       timeout=timeout)
    if r.returncode != 0:
        raise RuntimeError("xdotool %s failed: %s" % (" ".join(map(str, args)),
                                                        r.stderr.decode(errors="replace")))
    return r.stdout.decode().strip()


TIMEOUT_MULTIPLIER = float(os.environ.get("HERALD_TEST_TIMEOUT_MULTIPLIER") or 1)


def wait_until(what, fn, timeout=20.0, interval=0.1):
    """Calls fn until it returns a true value (returned) or timeout passes."""
    timeout *= TIMEOUT_MULTIPLIER
    deadline = time.monotonic() + timeout
    last_exc = None
    while True:
        try:
            value = fn()
            if value:
                return value
        except (gi.repository.GLib.GError, RuntimeError, LookupError) as e:
            last_exc = e
        if time.monotonic() >= deadline:
            raise DriverTimeout("timed out after %.0f s waiting for %s%s" % (
                timeout, what, " (last error: %s)" % last_exc if last_exc else ""))
        time.sleep(interval)


def _name(acc):
    try:
        return acc.get_name() or ""
    except gi.repository.GLib.GError:
        return ""


def _role(acc):
    try:
        return acc.get_role_name()
    except gi.repository.GLib.GError:
        return ""


def walk(acc, max_nodes=5000):
    """All descendants of acc, breadth first (bounded)."""
    queue = [acc]
    seen = 0
    while queue and seen < max_nodes:
        node = queue.pop(0)
        seen += 1
        yield node
        try:
            n = node.get_child_count()
        except gi.repository.GLib.GError:
            continue
        for i in range(n):
            try:
                child = node.get_child_at_index(i)
            except gi.repository.GLib.GError:
                continue
            if child is not None:
                queue.append(child)


def is_showing(acc):
    try:
        # GTK 4.8 sets SHOWING on windows only; VISIBLE follows gtk_widget_get_visible.
        return acc.get_state_set().contains(Atspi.StateType.VISIBLE)
    except gi.repository.GLib.GError:
        return False


APP_ID = "io.github.heraldmail.Herald"
_apps = []  # every App started by this script and not yet ended


def _end_all_apps():
    for app in list(_apps):
        app.kill()


def _on_signal(signum, frame):
    # meson sends SIGTERM to the test's process group and SIGKILL half a
    # second later: no time for a polite quit.
    for app in list(_apps):
        app.kill(grace=0)
    os._exit(128 + signum)


def _end_leftover_instance():
    """Ends a herald that still owns the app ID on this (private, per-suite)
    session bus: a leftover of an earlier test would otherwise take over
    this test's launch."""
    try:
        from gi.repository import Gio, GLib
        bus = Gio.bus_get_sync(Gio.BusType.SESSION, None)
        pid = bus.call_sync("org.freedesktop.DBus", "/org/freedesktop/DBus",
                            "org.freedesktop.DBus", "GetConnectionUnixProcessID",
                            GLib.Variant("(s)", (APP_ID,)), GLib.VariantType("(u)"),
                            Gio.DBusCallFlags.NONE, 2000, None).unpack()[0]
    except Exception:
        return  # no owner (or no bus): nothing to end
    if any(app.proc.poll() is None and app._is_ours(pid, descendants=True) for app in _apps):
        return  # this script's own instance: the test knows what it does
    print("# atspidriver: ending a leftover herald (pid %d) that owns %s" % (pid, APP_ID),
          file=sys.stderr, flush=True)
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    wait_until("the leftover herald to let go of %s" % APP_ID,
               lambda: _name_owner_gone(bus), 10)


def _name_owner_gone(bus):
    from gi.repository import Gio, GLib
    has = bus.call_sync("org.freedesktop.DBus", "/org/freedesktop/DBus",
                        "org.freedesktop.DBus", "NameHasOwner",
                        GLib.Variant("(s)", (APP_ID,)), GLib.VariantType("(b)"),
                        Gio.DBusCallFlags.NONE, 2000, None).unpack()[0]
    return not has


atexit.register(_end_all_apps)
for _sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
    signal.signal(_sig, _on_signal)


class App:
    """The herald binary started with GTK_A11Y=atspi under the current DISPLAY."""

    def __init__(self, argv, env, log_path):
        self.log_path = log_path
        self.log = open(log_path, "ab")
        env = dict(env)
        env["GTK_A11Y"] = "atspi"
        env["GDK_BACKEND"] = "x11"
        env.setdefault("NO_AT_BRIDGE", "0")
        if "DBUS_SESSION_BUS_ADDRESS" not in env or \
                env["DBUS_SESSION_BUS_ADDRESS"] == os.environ.get("DBUS_SESSION_BUS_ADDRESS"):
            _end_leftover_instance()
        # setpriv --pdeathsig: SIGKILL when this script dies, however it dies
        # (not preexec_fn, which is unsafe with the threads GDBus starts).
        self.proc = subprocess.Popen(["setpriv", "--pdeathsig", "KILL", "--", *argv], env=env,
                                     stdout=self.log, stderr=self.log, start_new_session=True)
        _apps.append(self)
        self.root = None
        self.window_id = None
        # When argv is a wrapper (dbus-run-session, timeout), match the app by
        # any ancestor process instead of its own pid.
        self.match_descendants = False

    def _is_ours(self, pid, descendants=False):
        for _ in range(8):
            if pid == self.proc.pid:
                return True
            if not (self.match_descendants or descendants) or pid <= 1:
                return False
            try:
                with open("/proc/%d/stat" % pid) as f:
                    pid = int(f.read().rsplit(")", 1)[1].split()[1])
            except (OSError, ValueError, IndexError):
                return False
        return False

    # -- discovery ---------------------------------------------------------

    def find_root(self, timeout=30):
        def look():
            if self.proc.poll() is not None:
                raise DriverTimeout("herald exited early with status %s" % self.proc.returncode)
            desktop = Atspi.get_desktop(0)
            for i in range(desktop.get_child_count()):
                app = desktop.get_child_at_index(i)
                if app is None:
                    continue
                try:
                    if self._is_ours(app.get_process_id()):
                        self.app_pid = app.get_process_id()
                        return app
                except gi.repository.GLib.GError:
                    continue
            return None
        self.root = wait_until("herald on the accessibility bus", look, timeout)
        return self.root

    def find_window_id(self, timeout=20):
        def look():
            try:
                out = xdotool("search", "--onlyvisible", "--pid",
                              getattr(self, "app_pid", self.proc.pid))
            except RuntimeError:
                return None
            ids = [w for w in out.split() if w]
            return ids
        ids = wait_until("herald's X window", look, timeout)
        self.window_id = ids[0]
        return self.window_id

    def resize(self, width, height):
        wid = self.find_window_id()
        xdotool("windowmove", wid, 0, 0)
        xdotool("windowsize", wid, width, height)
        time.sleep(0.5)

    def toplevels(self):
        """The app's windows (the main window first, then dialogs)."""
        if self.root is None:
            self.find_root()
        out = []
        for i in range(self.root.get_child_count()):
            child = self.root.get_child_at_index(i)
            if child is not None:
                out.append(child)
        return out

    def snapshot(self, within=None):
        """One walk of the tree: [(accessible, role, name, visible)], skipping
        the insides of invisible widgets. A walk costs seconds on GTK 4.8
        (one D-Bus round trip per property), so callers reuse snapshots."""
        if self.root is None:
            self.find_root()
        top = within or self.root
        out = []
        queue = [top]
        while queue and len(out) < 5000:
            node = queue.pop(0)
            visible = is_showing(node)
            out.append((node, _role(node), _name(node), visible))
            if not visible and node is not top and _role(node) not in ("application", "frame",
                                                                       "dialog", "alert"):
                continue
            try:
                n = node.get_child_count()
            except gi.repository.GLib.GError:
                continue
            for i in range(n):
                try:
                    child = node.get_child_at_index(i)
                except gi.repository.GLib.GError:
                    continue
                if child is not None:
                    queue.append(child)
        return out

    def find_all(self, role=None, name=None, prefix=None, showing=True, within=None, snap=None):
        if snap is None:
            snap = self.snapshot(within)
        hits = []
        for acc, r, n, visible in snap:
            if role is not None and r != role:
                continue
            if name is not None and n != name:
                continue
            if prefix is not None and not n.startswith(prefix):
                continue
            if showing and not visible:
                continue
            hits.append(acc)
        return hits

    def find(self, role=None, name=None, prefix=None, timeout=15, showing=True, within=None):
        what = "%s %r" % (role or "widget", name if name is not None else (prefix or "") + "…")

        def look():
            if self.proc.poll() is not None:
                raise DriverTimeout("herald exited with status %s while waiting for %s"
                                    % (self.proc.returncode, what))
            hits = self.find_all(role, name, prefix, showing, within)
            return hits[0] if hits else None
        return wait_until(what, look, timeout, interval=0.2)

    def names(self, role):
        return [_name(a) for a in self.find_all(role=role)]

    # -- acting ------------------------------------------------------------

    @staticmethod
    def extents(acc):
        r = acc.get_extents(Atspi.CoordType.SCREEN)
        return r.x, r.y, r.width, r.height

    def click(self, acc, fx=0.5, fy=0.5):
        x, y, w, h = self.extents(acc)
        if w <= 0 or h <= 0:
            raise RuntimeError("%s %r has no size on screen" % (_role(acc), _name(acc)))
        xdotool("mousemove", "--sync", int(x + w * fx), int(y + h * fy))
        xdotool("click", 1)
        time.sleep(0.15)

    def type_into(self, role, name, text, fx=0.5, commit_with_tab=False, acc=None):
        if acc is None:
            acc = self.find(role, name)
        self.click(acc, fx=fx)
        xdotool("key", "--clearmodifiers", "ctrl+a", "BackSpace")
        if text:
            xdotool("type", "--delay", 5, "--", text, timeout=60)
        if commit_with_tab:
            xdotool("key", "Tab")
        time.sleep(0.1)
        return acc

    def press(self, name, role="push button", timeout=15, within=None):
        acc = self.find(role, name, timeout=timeout, within=within)
        action = acc.get_action_iface()
        if action is None:
            raise RuntimeError("%r has no Action interface" % name)
        n = action.get_n_actions()
        index = 0
        for i in range(n):
            if action.get_action_name(i) in ("click", "press", "activate"):
                index = i
                break
        action.do_action(index)
        return acc

    def key(self, *keys):
        xdotool("key", "--clearmodifiers", *keys)

    # -- ending ------------------------------------------------------------

    def quit(self, timeout=15):
        """Ctrl+Q, as a person would; SIGTERM, then SIGKILL if it does not go."""
        if self.proc.poll() is None:
            try:
                if self.window_id:
                    xdotool("windowfocus", "--sync", self.window_id)
                self.key("ctrl+q")
            except (RuntimeError, subprocess.TimeoutExpired):
                pass
            try:
                self.proc.wait(timeout=timeout * TIMEOUT_MULTIPLIER)
            except subprocess.TimeoutExpired:
                self.kill()
        self.kill()  # its session's other processes, if any
        self.log.close()
        return self.proc.returncode

    def kill(self, grace=5):
        """SIGTERM to the app's session, SIGKILL after grace seconds (at once
        when grace is 0) to whatever of it is left."""
        if self in _apps:
            _apps.remove(self)
        if grace and self.proc.poll() is None:
            _killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=grace)
            except subprocess.TimeoutExpired:
                pass
        _killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait()


def _killpg(pgid, sig):
    try:
        os.killpg(pgid, sig)
    except (ProcessLookupError, PermissionError):
        pass  # the session is gone already


# -- Herald's form ---------------------------------------------------------

def find_input(app, role, label, snap=None):
    """The input labelled label: its accessible name is exactly label when the
    window is right; GTK 4.8 may repeat the label when a widget has both a
    label property and a labelled-by relation ("Port Port"). The flow goes on
    with that; check_names() reports it."""
    snap = snap if snap is not None else app.snapshot()
    exact = app.find_all(role, label, snap=snap)
    if exact:
        return exact[0]
    for a in app.find_all(role, snap=snap):
        n = a.get_name()
        if n.replace("_", "").startswith(label + " ") or n.endswith(" " + label):
            return a
    raise LookupError(f"no {role} labelled {label!r}")


def type_field(app, role, label, text, snap=None, **kw):
    app.type_into(role, label, text, acc=find_input(app, role, label, snap), **kw)


def press_labelled(app, label, **kw):
    acc = find_input(app, "push button", label, kw.pop("snap", None))
    app.press(acc.get_name(), **kw)


def expand_advanced(app):
    """Unfolds the form's "Advanced" row (the one holding "CA certificate file").
    Should more than one row be called Advanced, each is tried until the CA
    row shows."""
    def ca_showing():
        return any(App.extents(a)[3] > 0 for a in app.find_all("text", "CA certificate file"))

    if ca_showing():
        return
    rows = app.find_all(None, "Advanced")
    if not rows:
        raise DriverTimeout("no row named Advanced is showing")
    for i, row in enumerate(rows):
        app.click(row)
        try:
            wait_until("the Advanced rows", ca_showing, 10 if i == len(rows) - 1 else 3)
            return
        except DriverTimeout:
            if i == len(rows) - 1:
                raise


def screenshot(path, geometry=None):
    """The root window (imagemagick import), cropped to geometry (x, y, w, h)."""
    args = ["import", "-window", "root"]
    if geometry:
        x, y, w, h = geometry
        args += ["-crop", "%dx%d+%d+%d" % (w, h, x, y), "+repage"]
    subprocess.run(args + [path], check=True, timeout=30, capture_output=True)
