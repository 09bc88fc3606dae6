/* SPDX-License-Identifier: GPL-3.0-or-later
 * Copyright 2026 The Herald authors
 */

/* The window must never block its main loop: a real test send from the
 * window (STARTTLS, AUTH PLAIN) against a fake server that waits before every
 * reply, while a high-priority 10 ms timer and the frame clock measure the
 * gaps in the GTK main loop. A gap of 100 ms or more means blocking work on
 * the main thread, which is a bug (regression guard, not a benchmark).
 *
 * With --bench [slow|cancel|unreachable] (used by bench/window-bench.sh, never by the suite) it does
 * not assert timings but prints them as key=value lines: the longest stall
 * during a send, Cancel -> idle, and an unreachable server -> verdict. Every
 * case is measured the same way: a fresh window, filled in and painted, the
 * steps and the Send button scrolled into view, then Send; several runs each.
 *
 * What the stall is made of (found with HERALD_PERF_TRACE and perf sched):
 * on Xvfb the GL renderer runs on llvmpipe, and Xvfb's GLX has no
 * GLX_EXT_buffer_age, so GTK 4.8 repaints the whole window for every change
 * (each spinner frame too). The main thread then sleeps in the paint phase
 * while the llvmpipe threads rasterise; with the cairo renderer the same
 * frames are far cheaper (the measured costs are in bench/results). That is
 * why Herald chooses cairo on a software GL (src/ui/herald-renderer.c);
 * GSK_RENDERER=gl brings the GL renderer back for comparison. */

#define G_LOG_DOMAIN "herald-perf"

#include "config.h"

#include <adwaita.h>
#include <gio/gio.h>
#include <stdio.h>
#include <string.h>

#include "herald-application.h"
#include "herald-banner.h"
#include "herald-fake-server.h"
#include "herald-window-private.h"

#define TIMER_MS      10
#define SLOW_REPLY_MS 120
#define SCHEMA_ID     "io.github.heraldmail.Herald"

/* The server answers every line only after SLOW_REPLY_MS. It offers neither
 * PIPELINING nor CHUNKING, so every command waits for its reply: the longest
 * possible conversation, each step of it a chance to block. */
static const char slow_script[] =
  "DELAY 120\n"
  "S 220 slow.example ESMTP fake\n"
  "C EHLO .*\n"
  "DELAY 120\n"
  "S 250-slow.example\n"
  "S 250-8BITMIME\n"
  "S 250 STARTTLS\n"
  "C STARTTLS\n"
  "DELAY 120\n"
  "S 220 2.0.0 Ready to start TLS\n"
  "STARTTLS\n"
  "C EHLO .*\n"
  "DELAY 120\n"
  "S 250-slow.example\n"
  "S 250-8BITMIME\n"
  "S 250 AUTH PLAIN LOGIN\n"
  "C AUTH PLAIN .+\n"
  "DELAY 120\n"
  "S 235 2.7.0 Authentication successful\n"
  "C MAIL FROM:<alice@example\\.test>.*\n"
  "DELAY 120\n"
  "S 250 2.1.0 Ok\n"
  "C RCPT TO:<bob@example\\.test>.*\n"
  "DELAY 120\n"
  "S 250 2.1.5 Ok\n"
  "C DATA\n"
  "DELAY 120\n"
  "S 354 End data with <CR><LF>.<CR><LF>\n"
  "DATA\n"
  "DELAY 120\n"
  "S 250 2.0.0 Ok: queued as SLOW1\n"
  "C QUIT\n"
  "S 221 2.0.0 Bye\n";

/* Greets, then never answers EHLO: a send that only Cancel ends. */
static const char hang_script[] =
  "S 220 hang.example ESMTP fake\n"
  "C EHLO .*\n"
  "HANG\n";

/* A gap is measured in wall-clock time minus the time the main thread sat
 * runnable in the kernel's run queue (other processes had the CPU), read
 * from /proc/thread-self/schedstat: on a busy machine (a parallel build, the
 * rest of the suite) that is not our stall. Blocking I/O and work on the main
 * thread both still count. raw_max_gap keeps the plain wall-clock figure. */
typedef struct {
  gint64  start;        /* µs, monotonic, when measuring began */
  gint64  last;         /* µs, monotonic */
  gint64  last_wait;    /* µs the thread had waited for a CPU, at last */
  gint64  last_cpu;     /* µs the thread had run on a CPU, at last */
  gint64  max_cpu;      /* µs on the CPU during the longest gap */
  gint64  max_gap;      /* µs, run-queue waits subtracted */
  gint64  raw_max_gap;  /* µs, wall clock */
  gint64  max_at;       /* µs after start when the longest gap ended */
  gboolean active;
} GapMeter;

/* With HERALD_PERF_TRACE set (investigation only), every main-loop gap over
 * TRACE_GAP_MS and every frame-clock phase is logged to stderr in ms after
 * the mark, so a stall can be matched with the frame phase it falls in. */
#define TRACE_GAP_MS 4

typedef struct {
  HeraldWindow *window;
  GapMeter      timer;
  GapMeter      frames;
  guint         timer_id;
  guint         tick_id;
  gint64        painted_at;  /* µs of the last after-paint */
  gint64        mark;        /* µs of the event being measured */
  gint64        phase_at;    /* µs when the current frame phase began */
  gboolean      trace;
} Probe;

static char *cert_dir;
static HeraldApplication *application;

/* µs this thread has spent runnable but waiting for a CPU, and (in *cpu)
 * running on one; 0 if unknown. */
static gint64
run_queue_wait_us (gint64 *cpu)
{
  char buf[128];
  gint64 wait = 0;
  FILE *f = fopen ("/proc/thread-self/schedstat", "r");

  *cpu = 0;
  if (f == NULL)
    return 0;
  if (fgets (buf, sizeof buf, f) != NULL)
    {
      char *end = NULL;

      *cpu = (gint64) (g_ascii_strtoull (buf, &end, 10) / 1000);
      if (end != NULL)
        wait = (gint64) (g_ascii_strtoull (end, NULL, 10) / 1000);
    }
  fclose (f);
  return wait;
}

static void
meter_reset (GapMeter *m)
{
  m->start = m->last = g_get_monotonic_time ();
  m->last_wait = run_queue_wait_us (&m->last_cpu);
  m->max_gap = m->raw_max_gap = m->max_at = m->max_cpu = 0;
  m->active = TRUE;
}

static void
meter_hit (GapMeter *m)
{
  gint64 now = g_get_monotonic_time ();
  gint64 cpu;
  gint64 wait = run_queue_wait_us (&cpu);
  gint64 raw = now - m->last;
  gint64 gap = raw - MAX (0, wait - m->last_wait);

  if (m->active && gap > m->max_gap)
    {
      m->max_gap = gap;
      m->max_at = now - m->start;
      m->max_cpu = cpu - m->last_cpu;
    }
  if (m->active && raw > m->raw_max_gap)
    m->raw_max_gap = raw;
  m->last = now;
  m->last_wait = wait;
  m->last_cpu = cpu;
}

static gboolean
timer_cb (gpointer user_data)
{
  Probe *probe = user_data;
  gint64 last = probe->timer.last;
  gint64 last_cpu = probe->timer.last_cpu;

  meter_hit (&probe->timer);
  if (probe->trace && probe->timer.last - last > (TIMER_MS + TRACE_GAP_MS) * 1000)
    g_printerr ("trace gap %.1f..%.1f ms: %.1f ms (cpu %.1f)\n",
                (last - probe->mark) / 1000.0, (probe->timer.last - probe->mark) / 1000.0,
                (probe->timer.last - last) / 1000.0 - TIMER_MS,
                (probe->timer.last_cpu - last_cpu) / 1000.0);
  return G_SOURCE_CONTINUE;
}

static gboolean
tick_cb (GtkWidget     *widget,
         GdkFrameClock *clock,
         gpointer       user_data)
{
  Probe *probe = user_data;

  meter_hit (&probe->frames);
  return G_SOURCE_CONTINUE;
}

static void
after_paint_cb (GdkFrameClock *clock,
                Probe         *probe)
{
  probe->painted_at = g_get_monotonic_time ();
}

static void
trace_phase (GdkFrameClock *clock,
             const char    *signal,
             Probe         *probe)
{
  gint64 now = g_get_monotonic_time ();

  if (!probe->trace)
    return;
  g_printerr ("trace frame %s at %.1f ms (+%.1f ms since the previous phase)\n", signal,
              (now - probe->mark) / 1000.0, (now - probe->phase_at) / 1000.0);
  probe->phase_at = now;
}

/* "layout" is connected after GTK's own handlers, so the time from it to
 * "after-paint" is the paint phase: rendering and handing the frame over. */
#define TRACE_PHASE(func, signal) \
  static void \
  func (GdkFrameClock *clock, \
        Probe         *probe) \
  { \
    trace_phase (clock, signal, probe); \
  }
TRACE_PHASE (trace_before_paint_cb, "before-paint")
TRACE_PHASE (trace_update_cb, "update")
TRACE_PHASE (trace_layout_cb, "layout")
TRACE_PHASE (trace_after_paint_cb, "after-paint")

static gboolean
wakeup_cb (gpointer user_data)
{
  return G_SOURCE_CONTINUE;
}

static void
iterate_until (gboolean (*done) (Probe *probe),
               Probe     *probe,
               guint      timeout_ms)
{
  gint64 deadline = g_get_monotonic_time () + (gint64) timeout_ms * 1000;
  /* Something must wake the loop up to look at the clock. */
  guint wakeup = g_timeout_add (5, wakeup_cb, NULL);

  while (!done (probe) && g_get_monotonic_time () < deadline)
    g_main_context_iteration (NULL, TRUE);
  g_source_remove (wakeup);
}

static gboolean
is_mapped_and_painted (Probe *probe)
{
  return gtk_widget_get_mapped (GTK_WIDGET (probe->window)) && probe->painted_at > 0;
}

static gboolean
is_idle (Probe *probe)
{
  return !_herald_window_is_running (probe->window);
}

static gboolean
painted_since_mark (Probe *probe)
{
  return is_idle (probe) && probe->painted_at > probe->mark;
}

static gboolean
never (Probe *probe)
{
  return FALSE;
}

static void
ensure_certs (void)
{
  const char *srcdir = g_getenv ("HERALD_SOURCE_DIR");
  g_autofree char *script = NULL;
  g_autoptr(GError) error = NULL;
  int status = 0;
  const char *workdir = g_getenv ("HERALD_TEST_WORKDIR");

  g_assert_nonnull (srcdir);
  script = g_build_filename (srcdir, "tests", "fixtures", "make-test-certs.sh", NULL);
  cert_dir = g_build_filename (workdir ? workdir : g_get_tmp_dir (), "perf-certs", NULL);
  {
    const char *argv[] = { script, cert_dir, NULL };

    g_spawn_sync (NULL, (char **) argv, NULL, G_SPAWN_STDOUT_TO_DEV_NULL, NULL, NULL,
                  NULL, NULL, &status, &error);
  }
  g_assert_no_error (error);
  g_assert_true (g_spawn_check_wait_status (status, NULL));
}

static HeraldFakeServer *
start_server (const char *script,
              gboolean    tls)
{
  g_autoptr(GError) error = NULL;
  HeraldFakeServer *server = herald_fake_server_new (script, &error);

  g_assert_no_error (error);
  if (tls)
    {
      g_autofree char *cert = g_build_filename (cert_dir, "localhost.pem", NULL);
      g_autofree char *key = g_build_filename (cert_dir, "localhost-key.pem", NULL);

      herald_fake_server_set_tls (server, cert, key, FALSE, &error);
      g_assert_no_error (error);
    }
  herald_fake_server_start (server, &error);
  g_assert_no_error (error);
  return server;
}

/* Fills the form the way a user would: saved settings plus a typed password. */
static void
configure (Probe      *probe,
           const char *host,
           guint16     port,
           guint       timeout)
{
  g_autoptr(GSettings) settings = g_settings_new (SCHEMA_ID);
  g_autofree char *ca_file = g_build_filename (cert_dir, "ca.pem", NULL);
  GtkWidget *password;

  g_settings_set_string (settings, "server", host);
  g_settings_set_int (settings, "port", port);
  g_settings_set_string (settings, "security", "starttls");
  g_settings_set_string (settings, "auth", "plain");
  g_settings_set_string (settings, "username", "alice");
  g_settings_set_string (settings, "from", "alice@example.test");
  g_settings_set_string (settings, "to", "bob@example.test");
  g_settings_set_string (settings, "ca-file", ca_file);
  g_settings_set_uint (settings, "timeout", timeout);

  password = _herald_window_get_widget (probe->window, "password");
  g_assert_nonnull (password);
  gtk_editable_set_text (GTK_EDITABLE (password), "perf-test-password");

  /* Let the bindings and validation settle. */
  while (g_main_context_iteration (NULL, FALSE))
    ;
  g_assert_null (_herald_window_get_validation_message (probe->window));
}

static gboolean bench_mode;
static gboolean renderer_reported;

static Probe *
probe_new (void)
{
  Probe *probe = g_new0 (Probe, 1);
  GdkFrameClock *clock;

  if (application == NULL)
    {
      g_autoptr(GError) error = NULL;

      /* One per process (its D-Bus object path is fixed); non-unique, as
       * other tests may run the same app ID on this session bus. */
      application = herald_application_new ();
      g_application_set_flags (G_APPLICATION (application), G_APPLICATION_NON_UNIQUE);
      g_application_register (G_APPLICATION (application), NULL, &error);
      g_assert_no_error (error);
    }

  probe->window = herald_window_new (application);
  gtk_window_present (GTK_WINDOW (probe->window));

  clock = gtk_widget_get_frame_clock (GTK_WIDGET (probe->window));
  g_assert_nonnull (clock);
  g_signal_connect (clock, "after-paint", G_CALLBACK (after_paint_cb), probe);
  if (g_getenv ("HERALD_PERF_TRACE") != NULL)
    {
      g_signal_connect (clock, "before-paint", G_CALLBACK (trace_before_paint_cb), probe);
      g_signal_connect (clock, "update", G_CALLBACK (trace_update_cb), probe);
      g_signal_connect_after (clock, "layout", G_CALLBACK (trace_layout_cb), probe);
      g_signal_connect (clock, "after-paint", G_CALLBACK (trace_after_paint_cb), probe);
    }
  iterate_until (is_mapped_and_painted, probe, 10000);
  g_assert_true (is_mapped_and_painted (probe));
  /* The window is built as the app builds it (HeraldApplication's startup
   * and HeraldWindow choose the renderer); say which one that gave. */
  if (bench_mode && !renderer_reported)
    {
      g_print ("renderer=%s\n",
               G_OBJECT_TYPE_NAME (gtk_native_get_renderer (GTK_NATIVE (probe->window))));
      renderer_reported = TRUE;
    }

  /* The deferred start-up (keyring lookup, notices) runs after the first
   * frame; let it finish before measuring. */
  iterate_until (never, probe, 300);

  probe->timer_id = g_timeout_add_full (G_PRIORITY_HIGH, TIMER_MS, timer_cb, probe, NULL);
  probe->tick_id = gtk_widget_add_tick_callback (GTK_WIDGET (probe->window), tick_cb, probe, NULL);
  return probe;
}

static void
probe_free (Probe *probe)
{
  GdkFrameClock *clock = gtk_widget_get_frame_clock (GTK_WIDGET (probe->window));

  g_source_remove (probe->timer_id);
  gtk_widget_remove_tick_callback (GTK_WIDGET (probe->window), probe->tick_id);
  if (clock != NULL)
    g_signal_handlers_disconnect_by_data (clock, probe);
  gtk_window_destroy (GTK_WINDOW (probe->window));
  while (g_main_context_iteration (NULL, FALSE))
    ;
  g_free (probe);
}

/* The longest time the main loop did not run the 10 ms timer, minus the
 * period itself; and the longest gap between two frames. In ms. */
static double
stall_ms (Probe *probe)
{
  return MAX (0, probe->timer.max_gap - TIMER_MS * 1000) / 1000.0;
}

static double
raw_stall_ms (Probe *probe)
{
  return MAX (0, probe->timer.raw_max_gap - TIMER_MS * 1000) / 1000.0;
}

typedef struct {
  double stall_ms;
  double stall_cpu_ms;
  double raw_stall_ms;
  double stall_at_ms;
  double frame_gap_ms;
  double send_ms;
  double verdict_stall_ms;      /* showing the outcome: banner or error dialog */
  double verdict_stall_cpu_ms;
  gboolean ok;
} SendStats;

/* What a user does before pressing Send: the form is filled in and painted,
 * and (with in_view) the test steps have been scrolled into view (Send is in
 * the header bar, always in view). Every measured case (a slow server, an
 * unreachable one) starts from here, so that the repaint of the form itself
 * is never counted as the cost of Send: in a 710×890 window the steps are
 * below the fold, and without in_view only the Send button changes on
 * screen. */
static void
prepare_send (Probe    *probe,
              gboolean  in_view)
{
  GtkWidget *steps = GTK_WIDGET (_herald_window_get_step_list (probe->window));
  GtkWidget *scrolled = gtk_widget_get_ancestor (steps, GTK_TYPE_SCROLLED_WINDOW);

  g_assert_nonnull (scrolled);
  if (in_view)
    {
      GtkAdjustment *adj = gtk_scrolled_window_get_vadjustment (GTK_SCROLLED_WINDOW (scrolled));

      gtk_adjustment_set_value (adj, gtk_adjustment_get_upper (adj) -
                                     gtk_adjustment_get_page_size (adj));
    }

  /* The form's own repaint (every row just got its text) is done, and
   * nothing else is pending: about the time a pointer takes to reach Send. */
  probe->mark = g_get_monotonic_time ();
  iterate_until (painted_since_mark, probe, 2000);
  iterate_until (never, probe, 300);
}

/* Presses Send and measures until the window is idle again. */
static void
measure_send (Probe      *probe,
              const char *name,
              gboolean    in_view,
              SendStats  *stats)
{
  gint64 t0;

  prepare_send (probe, in_view);
  meter_reset (&probe->timer);
  meter_reset (&probe->frames);
  t0 = probe->mark = g_get_monotonic_time ();
  probe->trace = g_getenv ("HERALD_PERF_TRACE") != NULL;
  if (probe->trace)
    g_printerr ("trace send (%s) at monotonic %" G_GINT64_FORMAT " µs\n", name, t0);
  gtk_widget_activate_action (GTK_WIDGET (probe->window), "win.send", NULL);
  g_assert_true (_herald_window_is_running (probe->window));
  iterate_until (is_idle, probe, 30000);
  stats->send_ms = (g_get_monotonic_time () - t0) / 1000.0;
  stats->stall_ms = stall_ms (probe);
  stats->stall_at_ms = probe->timer.max_at / 1000.0;
  stats->raw_stall_ms = raw_stall_ms (probe);
  stats->stall_cpu_ms = probe->timer.max_cpu / 1000.0;
  stats->frame_gap_ms = probe->frames.max_gap / 1000.0;

  /* The outcome was just built (banner or error dialog) in the same main
   * loop iteration that ended the run; its gap only closes at the next
   * timer tick, and its first frame comes later still. Measure that on its
   * own: it is part of what the user waits for too. */
  probe->timer.max_gap = probe->timer.max_cpu = 0;
  iterate_until (never, probe, 300);
  probe->trace = FALSE;
  stats->verdict_stall_ms = stall_ms (probe);
  stats->verdict_stall_cpu_ms = probe->timer.max_cpu / 1000.0;
}

static void
run_slow_send (gboolean   in_view,
               SendStats *stats)
{
  g_autoptr(HeraldFakeServer) server = start_server (slow_script, TRUE);
  Probe *probe = probe_new ();
  HeraldBanner *banner;

  configure (probe, "localhost", herald_fake_server_get_port (server), 20);
  measure_send (probe, "slow", in_view, stats);

  /* It was a real, complete send: the server saw the whole conversation and
   * the window shows success. */
  g_assert_false (_herald_window_is_running (probe->window));
  g_assert_true (herald_fake_server_wait (server, 5000));
  banner = _herald_window_get_banner (probe->window);
  stats->ok = herald_banner_get_revealed (banner) &&
              _herald_window_get_error_dialog (probe->window) == NULL;
  if (!stats->ok)
    {
      g_autofree char *failure = herald_fake_server_get_failure (server);
      g_printerr ("# send did not succeed; server: %s\n", failure ? failure : "ok");
    }
  probe_free (probe);
}

/* Blocking work on the main thread stalls every send the same way; a busy
 * machine (a parallel build, the rest of the suite) only now and then. So a
 * send is tried up to three times and the best one must stay under 100 ms. */
static void
test_send_never_stalls (void)
{
  double best = G_MAXDOUBLE;

  for (int attempt = 1; attempt <= 3 && best >= 100.0; attempt++)
    {
      SendStats stats = { 0 };

      /* The steps stay below the fold: this guards against blocking work
       * on the main thread, not the cost of painting them (the benchmark
       * measures that, with the steps in view). */
      run_slow_send (FALSE, &stats);
      g_test_message ("send %d: %.0f ms, longest main-loop stall %.1f ms (%.1f ms of it on "
                      "the CPU, ending %.0f ms after Send; %.1f ms wall clock, run-queue waits "
                      "included), longest frame gap %.1f ms", attempt, stats.send_ms,
                      stats.stall_ms, stats.stall_cpu_ms, stats.stall_at_ms, stats.raw_stall_ms,
                      stats.frame_gap_ms);
      g_assert_true (stats.ok);
      /* 9 replies, each SLOW_REPLY_MS late: the send really was slow. */
      g_assert_cmpfloat (stats.send_ms, >=, 9 * SLOW_REPLY_MS);
      best = MIN (best, stats.stall_ms);
    }
  g_assert_cmpfloat (best, <, 100.0);
}

static gboolean
block_main_loop_cb (gpointer user_data)
{
  g_usleep (150 * 1000);
  return G_SOURCE_REMOVE;
}

/* The guard itself must be able to fail: 150 ms of blocking work on the main
 * thread, in the middle of a measured stretch, shows as a stall over 100 ms. */
static void
test_meter_sees_blocking (void)
{
  Probe *probe = probe_new ();

  meter_reset (&probe->timer);
  g_timeout_add (50, block_main_loop_cb, NULL);
  iterate_until (never, probe, 400);
  g_test_message ("deliberate 150 ms block measured as a %.1f ms stall", stall_ms (probe));
  g_assert_cmpfloat (stall_ms (probe), >=, 100.0);
  g_assert_cmpfloat (stall_ms (probe), <, 1000.0);
  probe_free (probe);
}

/* --- Benchmark only ------------------------------------------------------ */

static void
bench_cancel (void)
{
  g_autoptr(HeraldFakeServer) server = start_server (hang_script, FALSE);
  Probe *probe = probe_new ();
  gint64 t_cancel, t_idle, t_frame, t_closed = -1;

  configure (probe, "localhost", herald_fake_server_get_port (server), 20);
  prepare_send (probe, TRUE);
  gtk_widget_activate_action (GTK_WIDGET (probe->window), "win.send", NULL);
  /* Wait until the server has the EHLO and hangs. */
  iterate_until (never, probe, 500);
  g_assert_true (_herald_window_is_running (probe->window));

  t_cancel = probe->mark = g_get_monotonic_time ();
  gtk_widget_activate_action (GTK_WIDGET (probe->window), "win.cancel", NULL);
  t_idle = is_idle (probe) ? g_get_monotonic_time () : -1;
  /* Two things to see, whichever comes first: the next frame (the window
   * shows it is idle again) and the engine letting go of the connection. */
  t_frame = -1;
  for (gint64 deadline = g_get_monotonic_time () + 5000000;
       g_get_monotonic_time () < deadline && (t_frame < 0 || t_closed < 0);)
    {
      if (t_frame < 0 && painted_since_mark (probe))
        t_frame = probe->painted_at;
      if (t_closed < 0 && herald_fake_server_is_done (server))
        t_closed = g_get_monotonic_time ();
      g_main_context_iteration (NULL, FALSE);
      g_usleep (200);
    }
  g_print ("cancel_to_idle_ms=%.1f\n", t_idle < 0 ? -1.0 : (t_idle - t_cancel) / 1000.0);
  g_print ("cancel_to_idle_frame_ms=%.1f\n", t_frame < 0 ? -1.0 : (t_frame - t_cancel) / 1000.0);
  g_print ("cancel_to_disconnect_ms=%.1f\n",
           t_closed < 0 ? -1.0 : (t_closed - t_cancel) / 1000.0);
  probe_free (probe);
}

static void
bench_unreachable (const char *name,
                   gboolean    drop)
{
  g_autoptr(GSocket) listener = NULL;
  g_autoptr(GSocket) filler = NULL;
  g_autoptr(GInetAddress) lo = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  g_autoptr(GSocketAddress) any = g_inet_socket_address_new (lo, 0);
  g_autoptr(GSocketAddress) bound = NULL;
  g_autoptr(GError) error = NULL;
  Probe *probe;
  SendStats stats = { 0 };
  const guint timeout = 2;

  /* A listening socket on loopback that never accepts: the connection is
   * made by the kernel but no greeting ever comes. With drop, its backlog is
   * full first, so the kernel drops the SYN and connect() itself hangs. */
  listener = g_socket_new (G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_STREAM,
                           G_SOCKET_PROTOCOL_TCP, &error);
  g_assert_no_error (error);
  g_socket_bind (listener, any, TRUE, &error);
  g_assert_no_error (error);
  g_socket_set_listen_backlog (listener, 0);
  g_socket_listen (listener, &error);
  g_assert_no_error (error);
  bound = g_socket_get_local_address (listener, &error);
  g_assert_no_error (error);
  if (drop)
    {
      filler = g_socket_new (G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_STREAM,
                             G_SOCKET_PROTOCOL_TCP, &error);
      g_assert_no_error (error);
      g_socket_connect (filler, bound, NULL, &error);
      g_assert_no_error (error);
    }

  probe = probe_new ();
  /* 127.0.0.1 only: "localhost" would first try ::1 and be refused at once. */
  configure (probe, "127.0.0.1", g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (bound)),
             timeout);
  measure_send (probe, name, TRUE, &stats);
  g_print ("%s_timeout_s=%u\n", name, timeout);
  g_print ("%s_verdict_ms=%.1f\n", name, stats.send_ms);
  g_print ("%s_error_dialog=%s\n", name,
           _herald_window_get_error_dialog (probe->window) ? "yes" : "no");
  g_print ("%s_longest_stall_ms=%.1f\n", name, stats.stall_ms);
  g_print ("%s_longest_stall_cpu_ms=%.1f\n", name, stats.stall_cpu_ms);
  g_print ("%s_longest_stall_at_ms=%.1f\n", name, stats.stall_at_ms);
  g_print ("%s_longest_stall_wall_ms=%.1f\n", name, stats.raw_stall_ms);
  g_print ("%s_verdict_stall_ms=%.1f\n", name, stats.verdict_stall_ms);
  g_print ("%s_verdict_stall_cpu_ms=%.1f\n", name, stats.verdict_stall_cpu_ms);
  probe_free (probe);
}

#define BENCH_RUNS 5

/* only: NULL for every case, or "slow", "cancel" or "unreachable". */
static int
run_bench (const char *only)
{
  SendStats stats = { 0 };

  ensure_certs ();
  /* The same method for every case: BENCH_RUNS fresh windows each, filled
   * in and settled by prepare_send(); the report takes medians. */
  for (int i = 0; i < BENCH_RUNS && (!only || g_str_equal (only, "slow")); i++)
    {
      run_slow_send (TRUE, &stats);
      g_print ("longest_stall_cpu_ms=%.1f\n", stats.stall_cpu_ms);
      g_print ("send_ok=%s\nsend_ms=%.1f\nlongest_stall_ms=%.1f\nlongest_stall_at_ms=%.1f\n"
               "longest_stall_wall_ms=%.1f\nlongest_frame_gap_ms=%.1f\n", stats.ok ? "yes" : "no",
               stats.send_ms, stats.stall_ms, stats.stall_at_ms, stats.raw_stall_ms,
               stats.frame_gap_ms);
      g_print ("verdict_stall_ms=%.1f\nverdict_stall_cpu_ms=%.1f\n", stats.verdict_stall_ms,
               stats.verdict_stall_cpu_ms);
    }
  for (int i = 0; i < 3 && (!only || g_str_equal (only, "cancel")); i++)
    bench_cancel ();
  for (int i = 0; i < BENCH_RUNS && (!only || g_str_equal (only, "unreachable")); i++)
    {
      bench_unreachable ("no_greeting", FALSE);
      bench_unreachable ("syn_dropped", TRUE);
    }
  return 0;
}

int
main (int   argc,
      char *argv[])
{
  gboolean bench = argc > 1 && g_str_equal (argv[1], "--bench");

  gtk_init ();
  adw_init ();

  bench_mode = bench;
  if (bench)
    return run_bench (argc > 2 ? argv[2] : NULL);

  g_test_init (&argc, &argv, NULL);
  ensure_certs ();
  g_test_add_func ("/herald/perf/window/meter-sees-blocking", test_meter_sees_blocking);
  g_test_add_func ("/herald/perf/window/send-never-stalls", test_send_never_stalls);
  return g_test_run ();
}
