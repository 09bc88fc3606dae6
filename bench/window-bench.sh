#!/bin/bash
# SPDX-License-Identifier: GPL-3.0-or-later
# Copyright 2026 The Herald authors
#
# bench/window-bench.sh BUILD_DIR OUT.md
#
# The window half of the benchmark, on a private Xvfb display (bench/xsession.sh):
#   - tests/ui/test-window-stall --bench: longest main-loop stall during a
#     slow send and during two kinds of unreachable server, each measured the
#     same way (fresh window, form painted, steps and Send in view, 5 runs,
#     medians) with the renderer the app chooses (cairo on Xvfb's llvmpipe,
#     src/ui/herald-renderer.c; the probe prints which) and with
#     GSK_RENDERER=gl (GTK 4.8's own choice: GL on llvmpipe), plus the stall
#     of showing the outcome; Cancel -> idle. To see where a stall falls, run
#     the probe with HERALD_PERF_TRACE=1 (frame phases, gaps);
#   - bench/first-frame: launch -> first frame and peak RSS of Herald's window
#     and of bench/bare-window (the floor), alternating, WINDOW_RUNS times;
#     both again with the other renderer (Herald forced to GL, the bare
#     window forced to cairo), so each renderer has its own floor.
# Writes a markdown section to OUT.md. Called by bench/run-bench.sh.
set -euo pipefail
build=$(cd "$1" && pwd)
out=$2
top=$(cd "$(dirname "$0")/.." && pwd)
runs=${WINDOW_RUNS:-10}

ninja -C "$build" src/ui/herald bench/bare-window bench/first-frame tests/ui/test-window-stall >&2

export GSETTINGS_SCHEMA_DIR=$build/data GSETTINGS_BACKEND=memory HERALD_SOURCE_DIR=$top
raw=$(mktemp /tmp/herald-window-bench.XXXXXX)
trap 'rm -f "$raw"' EXIT

# shellcheck disable=SC2016
"$top/bench/xsession.sh" bash -c '
  set -u
  build=$1 runs=$2
  "$build/tests/ui/test-window-stall" --bench 2>/dev/null | sed "s/^/probe /"
  # Xvfb has no GPU: GL rasterises in llvmpipe threads, which the main
  # thread waits for, so Herald chooses cairo there. GSK_RENDERER=gl gives
  # the GL renderer GTK 4.8 would have chosen, for comparison.
  GSK_RENDERER=gl "$build/tests/ui/test-window-stall" --bench 2>/dev/null | sed "s/^/gl /"
  for i in $(seq "$runs"); do
    # Alternate which one goes first, so neither always gets the warm cache.
    if [ $((i % 2)) -eq 0 ]; then order="herald bare herald-gl bare-cairo"
    else order="bare-cairo herald-gl bare herald"; fi
    for w in $order; do
      case $w in
        herald*) prog=$build/src/ui/herald ;;
        *) prog=$build/bench/bare-window ;;
      esac
      case $w in
        *-gl) renderer=gl ;;
        *-cairo) renderer=cairo ;;
        *) renderer= ;;
      esac
      if [ -n "$renderer" ]; then export GSK_RENDERER=$renderer; else unset GSK_RENDERER; fi
      line=$("$build/bench/first-frame" --settle 500 -- "$prog" 2>/dev/null) || line=failed
      unset GSK_RENDERER
      echo "frame $w $line"
    done
  done
' window-bench "$build" "$runs" >"$raw" 2>/dev/null

/usr/bin/python3 - "$raw" "$out" <<'PY'
import statistics, sys
raw, out = sys.argv[1], sys.argv[2]
probe = {}
forced_gl = {}
frames = {"herald": [], "bare": [], "herald-gl": [], "bare-cairo": []}
failed = {k: 0 for k in frames}
for line in open(raw, encoding="utf-8"):
    parts = line.split()
    if not parts:
        continue
    if parts[0] in ("probe", "gl") and len(parts) == 2 and "=" in parts[1]:
        k, v = parts[1].split("=", 1)
        (probe if parts[0] == "probe" else forced_gl).setdefault(k, []).append(v)
    elif parts[0] == "frame" and len(parts) >= 3 and parts[1] in frames:
        if parts[2] == "failed":
            failed[parts[1]] += 1
            continue
        frames[parts[1]].append(dict(kv.split("=", 1) for kv in parts[2:]))

def nums(key, src=None):
    src = probe if src is None else src
    return [float(v) for v in src.get(key, []) if v not in ("-1", "-1.0")]

def med(xs):
    return statistics.median(xs) if xs else None

def f(x, nd=0):
    return "–" if x is None else "%.*f" % (nd, x)

def verdict(ok):
    return "**met**" if ok else "**not met**"

o = []
o.append("#### Window (Xvfb, software rendering, GTK_A11Y=none)\n")
app_renderer = (probe.get("renderer") or ["unknown"])[0]
gl_renderer = (forced_gl.get("renderer") or ["unknown"])[0]
o.append("Every case is measured the same way: a fresh window, the form filled in and painted, "
         "the steps and Send scrolled into view, then Send; medians of the runs; run-queue waits "
         "of the main thread subtracted. The window is built as the app builds it, so it uses "
         "the renderer Herald chooses: %s here. GTK 4.8 alone would choose GL on llvmpipe, "
         "where Xvfb's GLX has no GLX_EXT_buffer_age: GTK repaints the whole window for every "
         "frame that changes (each spinner frame too) and the main thread waits for the llvmpipe "
         "threads; the rows \"forced GL\" (GSK_RENDERER=gl, %s) show that.\n"
         % (app_renderer, gl_renderer))
o.append("| measure | result | goal | |")
o.append("|---|---:|---:|---|")

def stall_rows(prefix, title, n_label):
    st = nums(prefix + "longest_stall_ms")
    if not st:
        return
    cpu, at, wall = (nums(prefix + k) for k in ("longest_stall_cpu_ms", "longest_stall_at_ms",
                                                 "longest_stall_wall_ms"))
    o.append("| %s: longest main-loop stall, median of %d %s | %s ms (worst %s ms; %s ms on the "
             "CPU; ending %s ms after Send; wall clock %s ms) | < 16 ms | %s |"
             % (title, len(st), n_label, f(med(st), 1), f(max(st), 1), f(med(cpu), 1),
                f(med(at)), f(med(wall), 1), verdict(med(st) < 16)))
    cs = nums(prefix + "longest_stall_ms", forced_gl)
    if cs:
        o.append("| … the same forced GL (GSK_RENDERER=gl, llvmpipe), median of %d | %s ms "
                 "(worst %s ms; %s ms on the CPU) | < 16 ms | %s |"
                 % (len(cs), f(med(cs), 1), f(max(cs), 1),
                    f(med(nums(prefix + "longest_stall_cpu_ms", forced_gl)), 1),
                    verdict(med(cs) < 16)))
    vs = nums(prefix + "verdict_stall_ms")
    if vs:
        vc = nums(prefix + "verdict_stall_cpu_ms")
        line = ("| … showing the outcome (%s): longest stall, median | %s ms (%s ms on the CPU)"
                % ("banner" if prefix == "" else "error dialog", f(med(vs), 1), f(med(vc), 1)))
        cv = nums(prefix + "verdict_stall_ms", forced_gl)
        if cv:
            line += "; forced GL %s ms (%s ms on the CPU)" % (
                f(med(cv), 1), f(med(nums(prefix + "verdict_stall_cpu_ms", forced_gl)), 1))
        o.append(line + " | < 16 ms | %s |" % verdict(med(vs) < 16))

frame_gap = nums("longest_frame_gap_ms")
sends = probe.get("send_ok", [])
stall_rows("", "slow STARTTLS send", "sends")
if frame_gap:
    o.append("| longest gap between two frames during the slow send (median) | %s ms | | |"
             % f(med(frame_gap), 1))
if sends:
    o.append("| sends that succeeded | %d of %d | all | %s |"
             % (sends.count("yes"), len(sends), verdict(sends and all(s == "yes" for s in sends))))
c_idle = nums("cancel_to_idle_ms")
c_frame = nums("cancel_to_idle_frame_ms")
c_disc = nums("cancel_to_disconnect_ms")
if c_frame:
    o.append("| Cancel → idle frame painted (%d runs, worst) | %s ms (state %s ms) | < 100 ms | %s |"
             % (len(c_frame), f(max(c_frame), 1), f(max(c_idle) if c_idle else None, 1),
                verdict(max(c_frame) < 100)))
    o.append("| Cancel → the engine closed the connection (worst) | %s ms | | |"
             % f(max(c_disc) if c_disc else None, 1))
for name, title in (("no_greeting", "server accepts, never greets"),
                    ("syn_dropped", "SYN dropped (full backlog), connect hangs")):
    v = nums(name + "_verdict_ms")
    t = nums(name + "_timeout_s")
    if v and t:
        limit = t[0] * 1000 + 1000
        dialogs = probe.get(name + "_error_dialog", [])
        o.append("| unreachable: %s → verdict, timeout %d s, median of %d (worst) | %s ms (%s ms; "
                 "error dialog %d of %d) | ≤ %d ms | %s |"
                 % (title, t[0], len(v), f(med(v)), f(max(v)), dialogs.count("yes"), len(dialogs),
                    limit, verdict(max(v) <= limit and all(d == "yes" for d in dialogs))))
        stall_rows(name + "_", "… " + title, "runs")
o.append("")
if frames["herald"] and frames["bare"]:
    hf = med([float(x["first_frame_ms"]) for x in frames["herald"]])
    bf = med([float(x["first_frame_ms"]) for x in frames["bare"]])
    hr = med([float(x["peak_rss_kib"]) for x in frames["herald"]])
    br = med([float(x["peak_rss_kib"]) for x in frames["bare"]])
    o.append("Start-up, launch → first frame (X DAMAGE on the window, not a flat colour) and peak "
             "RSS 0.5 s later, median of %d alternating launches:\n" % len(frames["herald"]))
    o.append("| program | first frame ms | min–max ms | peak RSS KiB | failed launches |")
    o.append("|---|---:|---:|---:|---:|")
    for key, name in (("herald", "Herald's window (its own renderer choice: %s)" % app_renderer),
                      ("bare", "bare libadwaita window (floor; GTK's default: GL)"),
                      ("herald-gl", "Herald's window, forced GL (GSK_RENDERER=gl)"),
                      ("bare-cairo", "bare libadwaita window, forced cairo (GSK_RENDERER=cairo)")):
        ff = [float(x["first_frame_ms"]) for x in frames[key]]
        if not ff:
            continue
        o.append("| %s | %s | %s–%s | %s | %d |" % (
            name, f(med(ff)), f(min(ff)), f(max(ff)),
            f(med([float(x["peak_rss_kib"]) for x in frames[key]])), failed[key]))
    o.append("")
    o.append("- Herald (its own choice) / floor (GTK's default): first frame %s×, peak RSS %s× "
             "(goal ≤ 1.3× for both) → first frame %s, RSS %s."
             % (f(hf / bf, 2), f(hr / br, 2), verdict(hf / bf <= 1.3), verdict(hr / br <= 1.3)))

    def ratio_line(a, b, label):
        if not frames[a] or not frames[b]:
            return
        af = med([float(x["first_frame_ms"]) for x in frames[a]])
        bf2 = med([float(x["first_frame_ms"]) for x in frames[b]])
        ar = med([float(x["peak_rss_kib"]) for x in frames[a]])
        br2 = med([float(x["peak_rss_kib"]) for x in frames[b]])
        o.append("- %s: first frame %s×, peak RSS %s× → first frame %s, RSS %s."
                 % (label, f(af / bf2, 2), f(ar / br2, 2), verdict(af / bf2 <= 1.3),
                    verdict(ar / br2 <= 1.3)))

    if app_renderer == "GskCairoRenderer":
        ratio_line("herald", "bare-cairo", "Herald / floor, both cairo (same renderer)")
    ratio_line("herald-gl", "bare", "Herald forced GL / floor, both GL (GTK 4.8's own choice)")
else:
    o.append("Start-up: not measured (the window or the probe did not start: %s)." % failed)
open(out, "w", encoding="utf-8").write("\n".join(o) + "\n")
PY
cat "$out"
