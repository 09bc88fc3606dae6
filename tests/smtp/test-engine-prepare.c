/* SPDX-License-Identifier: GPL-3.0-or-later
 * Copyright 2026 The Herald authors
 */
#define G_LOG_DOMAIN "herald-test"

/* herald_smtp_prepare_tls(): the TLS module, the CA file and the system
 * trust store loaded ahead of a run on the engine's helper thread. A run
 * after it must behave exactly like one without it: the same verdicts, the
 * same errors for a missing or bad CA file, a changed CA file read afresh,
 * and cancelling never hangs. Its own process: the first call per process
 * is the one that starts the helper thread. Only 127.0.0.1 is contacted.
 */

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <glib/gstdio.h>

#include "herald-smtp.h"
#include "herald-smtp-private.h"
#include "herald-test-util.h"

static char *certdir;

/* An implicit-TLS dialogue that ends with an accepted message. */
static const char *implicit_ok_script =
  "S 220 fake.test ESMTP\n"
  "C EHLO client\\.test\n"
  "S 250-fake.test\nS 250 PIPELINING\n"
  "LOOP-UNTIL-QUIT\n";

static char *
cert_path (const char *name)
{
  return g_build_filename (certdir, name, NULL);
}

/* Implicit TLS to "localhost" (the name in the test certificate), no AUTH. */
static HeraldSmtpConfig *
make_tls_config (guint16     port,
                 const char *ca_file)
{
  HeraldSmtpConfig *config = herald_smtp_config_new ();

  config->host = g_strdup ("localhost");
  config->port = port;
  config->security = HERALD_SECURITY_TLS;
  config->auth = HERALD_AUTH_NONE;
  config->from = g_strdup ("alice@example.test");
  config->to = g_strsplit ("bob@example.test", ",", -1);
  config->helo_name = g_strdup ("client.test");
  config->ca_file = g_strdup (ca_file);
  config->connect_timeout = 5;
  config->reply_timeout = 5;

  return config;
}

/* One implicit-TLS run against a fresh fake server trusting @ca_file. */
static HeraldSmtpResult *
run_implicit (const char *ca_file)
{
  g_autoptr(HeraldFakeServer) server = herald_test_start_fake_server (implicit_ok_script, certdir,
                                                                      "localhost", TRUE);
  g_autoptr(HeraldSmtpConfig) config = make_tls_config (herald_fake_server_get_port (server),
                                                        ca_file);
  HeraldSmtpResult *result = herald_smtp_run (config, NULL, NULL, NULL);

  herald_fake_server_wait (server, 5000);
  return result;
}

static void
assert_trusted (const HeraldSmtpResult *result)
{
  g_assert_no_error (result->error);
  g_assert_true (result->ok);
  g_assert_nonnull (result->tls);
  g_assert_cmpuint (result->tls->flags, ==, 0);
  g_assert_nonnull (strstr (result->tls->subject, "localhost"));
}

/* A copy of @name under a new temporary name (the caller deletes it). */
static char *
copy_cert (const char *name)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *source = cert_path (name);
  g_autofree char *contents = NULL;
  g_autofree char *tmpl = g_build_filename (certdir, "prepare-XXXXXX.pem", NULL);
  int fd;

  g_file_get_contents (source, &contents, NULL, &error);
  g_assert_no_error (error);
  fd = g_mkstemp (tmpl);
  g_assert_cmpint (fd, >=, 0);
  close (fd);
  g_file_set_contents (tmpl, contents, -1, &error);
  g_assert_no_error (error);

  return g_steal_pointer (&tmpl);
}

/* Waits until the helper thread has finished @n parses in all. */
static void
wait_for_parses (guint n)
{
  gint64 end = g_get_monotonic_time () + 10 * G_TIME_SPAN_SECOND;

  while (_herald_ca_load_get_n_parses () < n)
    {
      g_assert_cmpint (g_get_monotonic_time (), <, end);
      g_usleep (2 * G_TIME_SPAN_MILLISECOND);
    }
}

/* The contents of certificates @a and @b, the shorter padded with newlines
 * after its PEM block so that both have the same size. */
static void
same_size_pems (const char  *a,
                const char  *b,
                char       **a_contents,
                char       **b_contents)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *a_path = cert_path (a);
  g_autofree char *b_path = cert_path (b);
  g_autoptr(GString) a_str = NULL;
  g_autoptr(GString) b_str = NULL;
  g_autofree char *a_read = NULL;
  g_autofree char *b_read = NULL;

  g_file_get_contents (a_path, &a_read, NULL, &error);
  g_assert_no_error (error);
  g_file_get_contents (b_path, &b_read, NULL, &error);
  g_assert_no_error (error);
  a_str = g_string_new (a_read);
  b_str = g_string_new (b_read);

  while (a_str->len < b_str->len)
    g_string_append_c (a_str, '\n');
  while (b_str->len < a_str->len)
    g_string_append_c (b_str, '\n');
  g_assert_cmpstr (a_str->str, !=, b_str->str);

  *a_contents = g_string_free (g_steal_pointer (&a_str), FALSE);
  *b_contents = g_string_free (g_steal_pointer (&b_str), FALSE);
}

/* Rewrites @path in place (the same inode) with @contents, of the size it
 * has, and sets its access and modification times back: only the change
 * time tells. */
static void
rewrite_in_place (const char *path,
                  const char *contents)
{
  gsize len = strlen (contents);
  struct timespec times[2];
  GStatBuf before;
  GStatBuf after;
  int fd;

  g_assert_cmpint (g_stat (path, &before), ==, 0);
  g_assert_cmpuint (before.st_size, ==, len);

  fd = open (path, O_WRONLY | O_TRUNC);
  g_assert_cmpint (fd, >=, 0);
  g_assert_cmpint (write (fd, contents, len), ==, (gssize) len);
  g_assert_cmpint (close (fd), ==, 0);

  times[0] = before.st_atim;
  times[1] = before.st_mtim;
  g_assert_cmpint (utimensat (AT_FDCWD, path, times, 0), ==, 0);

  g_assert_cmpint (g_stat (path, &after), ==, 0);
  g_assert_cmpuint (after.st_ino, ==, before.st_ino);
  g_assert_cmpuint (after.st_size, ==, before.st_size);
  g_assert_cmpint (after.st_mtim.tv_sec, ==, before.st_mtim.tv_sec);
  g_assert_cmpint (after.st_mtim.tv_nsec, ==, before.st_mtim.tv_nsec);
}

/* PEM markers around something that is no certificate: passes the cheap
 * check before connecting, fails the real parse. */
static void
write_corrupt_pem (const char *path)
{
  g_autoptr(GError) error = NULL;

  g_file_set_contents (path,
                       "-----BEGIN CERTIFICATE-----\n"
                       "bm90IGEgY2VydGlmaWNhdGUsIGp1c3QgYSBzdHJpbmcgb2YgYnl0ZXM=\n"
                       "-----END CERTIFICATE-----\n", -1, &error);
  g_assert_no_error (error);
}

/* ---- tests ------------------------------------------------------------------- */

static gpointer
prepare_thread (gpointer data)
{
  for (guint i = 0; i < 50; i++)
    herald_smtp_prepare_tls (NULL);

  return NULL;
}

/* Called many times from several threads at once, before any run: it
 * returns at once each time, and a run afterwards validates as usual. */
static void
test_prepare_then_run (void)
{
  g_autofree char *ca = cert_path ("ca.pem");
  g_autoptr(HeraldSmtpResult) result = NULL;
  GThread *threads[4];
  gint64 start = g_get_monotonic_time ();

  for (guint i = 0; i < G_N_ELEMENTS (threads); i++)
    threads[i] = g_thread_new ("prepare", prepare_thread, NULL);
  for (guint i = 0; i < G_N_ELEMENTS (threads); i++)
    g_thread_join (threads[i]);
  /* For the log only (speed goals live in bench/): 200 calls that never
   * wait for the loading. */
  g_test_message ("200 calls took %" G_GINT64_FORMAT " µs", g_get_monotonic_time () - start);

  result = run_implicit (ca);
  assert_trusted (result);
}

/* A CA file prepared ahead is what the run uses; each early parse serves
 * one run only. */
static void
test_prepared_ca_file_is_taken (void)
{
  g_autofree char *ca = cert_path ("ca.pem");
  g_autofree char *absolute = g_canonicalize_filename (ca, NULL);
  g_autoptr(HeraldSmtpResult) first = NULL;
  g_autoptr(HeraldSmtpResult) second = NULL;

  guint parses = _herald_ca_load_get_n_parses ();

  herald_smtp_prepare_tls (ca);
  first = run_implicit (ca);
  assert_trusted (first);
  g_assert_null (_herald_ca_load_take (absolute));
  /* One parse in all: the early one, which the run used. */
  g_assert_cmpuint (_herald_ca_load_get_n_parses (), ==, parses + 1);

  /* The next run parses the file itself. */
  second = run_implicit (ca);
  assert_trusted (second);
  g_assert_cmpuint (_herald_ca_load_get_n_parses (), ==, parses + 2);
}

/* A CA file parsed early, then rewritten in place with the same size and
 * its modification time set back: the run reads it again (its change time
 * gives it away). The test CA replaced by a certificate that signed nothing
 * must no longer be trusted; and the other way round. */
static void
test_rewritten_ca_file_is_read_again (void)
{
  g_autofree char *good = NULL;
  g_autofree char *bad = NULL;
  g_autofree char *path = copy_cert ("ca.pem");
  g_autoptr(HeraldSmtpResult) untrusted = NULL;
  g_autoptr(HeraldSmtpResult) trusted = NULL;
  g_autoptr(GError) error = NULL;
  guint parses;

  same_size_pems ("ca.pem", "wronghost.pem", &good, &bad);
  g_file_set_contents (path, good, -1, &error);
  g_assert_no_error (error);

  /* Trusted file, parsed early; then it trusts nothing we serve. */
  parses = _herald_ca_load_get_n_parses ();
  herald_smtp_prepare_tls (path);
  wait_for_parses (parses + 1);
  /* The kernel stamps change times with a clock that ticks every few
   * milliseconds: a rewrite within the same tick cannot be told apart. */
  g_usleep (50 * G_TIME_SPAN_MILLISECOND);
  rewrite_in_place (path, bad);
  untrusted = run_implicit (path);
  g_assert_false (untrusted->ok);
  g_assert_cmpint (untrusted->stage, ==, HERALD_STAGE_TLS);
  g_assert_nonnull (untrusted->tls);
  g_assert_true (untrusted->tls->flags & G_TLS_CERTIFICATE_UNKNOWN_CA);

  /* And back: the early parse does not trust the server, the run must. */
  parses = _herald_ca_load_get_n_parses ();
  herald_smtp_prepare_tls (path);
  wait_for_parses (parses + 1);
  g_usleep (50 * G_TIME_SPAN_MILLISECOND);
  rewrite_in_place (path, good);
  trusted = run_implicit (path);
  assert_trusted (trusted);

  g_unlink (path);
}

/* A CA file prepared ahead and then replaced by a corrupt one: the run
 * notices the change and reports the file as it is now, not the good parse
 * from before. And the other way round: a fixed file is trusted. */
static void
test_changed_ca_file_is_read_again (void)
{
  g_autofree char *path = copy_cert ("ca.pem");
  g_autofree char *good = cert_path ("ca.pem");
  g_autofree char *good_contents = NULL;
  g_autoptr(HeraldSmtpResult) broken = NULL;
  g_autoptr(HeraldSmtpResult) fixed = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(HeraldCaLoad) load = NULL;
  g_autoptr(GTlsDatabase) database = NULL;
  g_autofree char *absolute = g_canonicalize_filename (path, NULL);

  /* The early parse of the good file did succeed... */
  herald_smtp_prepare_tls (path);
  load = _herald_ca_load_take (absolute);
  g_assert_nonnull (load);
  database = _herald_ca_load_wait (load, 0, NULL, &error);
  g_assert_no_error (error);
  g_assert_nonnull (database);
  g_clear_object (&database);
  g_clear_pointer (&load, _herald_ca_load_unref);

  /* ...prepared again, then the file is replaced before the run. */
  herald_smtp_prepare_tls (path);
  write_corrupt_pem (path);
  broken = run_implicit (path);
  g_assert_false (broken->ok);
  g_assert_cmpint (broken->stage, ==, HERALD_STAGE_TLS);
  g_assert_error (broken->error, HERALD_SMTP_ERROR, HERALD_SMTP_ERROR_INVALID_CONFIG);
  g_assert_nonnull (strstr (broken->error->message, "could not be loaded"));

  /* Prepared while corrupt, fixed before the run. */
  herald_smtp_prepare_tls (path);
  g_file_get_contents (good, &good_contents, NULL, &error);
  g_assert_no_error (error);
  g_file_set_contents (path, good_contents, -1, &error);
  g_assert_no_error (error);
  fixed = run_implicit (path);
  assert_trusted (fixed);

  g_unlink (path);
}

/* A corrupt CA file gives the same clear error with and without an early
 * parse, and no connection is made with it. */
static void
test_bad_ca_file_same_error (void)
{
  g_autofree char *path = copy_cert ("ca.pem");
  g_autoptr(HeraldSmtpResult) prepared = NULL;
  g_autoptr(HeraldSmtpResult) plain = NULL;

  write_corrupt_pem (path);

  herald_smtp_prepare_tls (path);
  prepared = run_implicit (path);
  plain = run_implicit (path);

  for (guint i = 0; i < 2; i++)
    {
      const HeraldSmtpResult *r = i == 0 ? prepared : plain;

      g_assert_false (r->ok);
      g_assert_cmpint (r->stage, ==, HERALD_STAGE_TLS);
      g_assert_error (r->error, HERALD_SMTP_ERROR, HERALD_SMTP_ERROR_INVALID_CONFIG);
      g_assert_nonnull (strstr (r->error->message, path));
      g_assert_nonnull (strstr (r->error->message, "could not be loaded"));
      /* Stopped before the handshake: no certificate was looked at. */
      g_assert_true (r->tls == NULL || r->tls->subject == NULL);
    }
  g_assert_cmpstr (prepared->error->message, ==, plain->error->message);

  g_unlink (path);
}

/* A CA file that does not exist: prepared or not, the run refuses it
 * before connecting, with the same message. */
static void
test_missing_ca_file_same_error (void)
{
  const char *missing = "/nonexistent/herald-prepare-ca.pem";
  g_autoptr(HeraldSmtpConfig) config = make_tls_config (9, missing);
  g_autoptr(HeraldSmtpResult) prepared = NULL;
  g_autoptr(HeraldSmtpResult) plain = NULL;

  herald_smtp_prepare_tls (missing);
  prepared = herald_smtp_run (config, NULL, NULL, NULL);
  plain = herald_smtp_run (config, NULL, NULL, NULL);

  g_assert_false (prepared->ok);
  g_assert_cmpint (prepared->stage, ==, HERALD_STAGE_RESOLVE);
  g_assert_error (prepared->error, HERALD_SMTP_ERROR, HERALD_SMTP_ERROR_INVALID_CONFIG);
  g_assert_null (prepared->remote_address);
  g_assert_cmpstr (prepared->error->message, ==, plain->error->message);
}

/* A CA file prepared for one path does not stand in for another: the run
 * parses its own file (here the right one) and the stale early parse is
 * dropped. */
static void
test_other_ca_file_not_used (void)
{
  g_autofree char *other = copy_cert ("localhost.pem");
  g_autofree char *ca = cert_path ("ca.pem");
  g_autofree char *other_absolute = g_canonicalize_filename (other, NULL);
  g_autoptr(HeraldSmtpResult) result = NULL;

  herald_smtp_prepare_tls (other);
  result = run_implicit (ca);
  assert_trusted (result);
  g_assert_null (_herald_ca_load_take (other_absolute));

  g_unlink (other);
}

static gboolean
cancel_cb (gpointer user_data)
{
  g_cancellable_cancel (G_CANCELLABLE (user_data));
  return G_SOURCE_REMOVE;
}

/* Cancelling at any moment while the TLS module, the CA file and the trust
 * store may still be loading ends the run promptly with CANCELLED: nothing
 * hangs waiting for the helper thread, nothing crashes when the run ends
 * before the helper does. */
static void
test_cancel_during_preparation (void)
{
  g_autofree char *ca = cert_path ("ca.pem");

  for (guint delay = 0; delay < 12; delay++)
    {
      g_autoptr(HeraldFakeServer) server = herald_test_start_fake_server ("HANG\n", certdir,
                                                                          "localhost", TRUE);
      g_autoptr(HeraldSmtpConfig) config = make_tls_config (herald_fake_server_get_port (server),
                                                            ca);
      g_autoptr(GCancellable) cancellable = g_cancellable_new ();
      g_autoptr(GAsyncResult) async_result = NULL;
      g_autoptr(HeraldSmtpResult) result = NULL;
      g_autoptr(GError) error = NULL;

      /* Each round with a CA file parse of its own still queued or running. */
      herald_smtp_prepare_tls (ca);
      herald_smtp_run_async (config, cancellable, NULL, NULL, NULL,
                             herald_test_result_cb, &async_result);
      if (delay == 0)
        g_cancellable_cancel (cancellable);
      else
        g_timeout_add_full (G_PRIORITY_HIGH, delay, cancel_cb, g_object_ref (cancellable),
                            g_object_unref);

      /* Well under the 5 s reply timeout: the cancellation, not a timeout,
       * ends it. */
      g_assert_nonnull (herald_test_wait_result (&async_result, 3.0));
      result = herald_smtp_run_finish (async_result, &error);
      g_assert_no_error (error);
      g_assert_nonnull (result);
      g_assert_false (result->ok);
      g_assert_error (result->error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
      herald_fake_server_wait (server, 5000);
    }
}

/* Opens @fifo for writing once its reader (the helper thread) has opened
 * it; the reader then waits for data that does not come, as on a hung
 * mount. */
static int
open_fifo_writer (const char *fifo)
{
  gint64 end = g_get_monotonic_time () + 10 * G_TIME_SPAN_SECOND;

  for (;;)
    {
      int fd = open (fifo, O_WRONLY | O_NONBLOCK);

      if (fd >= 0)
        return fd;
      g_assert_cmpint (errno, ==, ENXIO);
      g_assert_cmpint (g_get_monotonic_time (), <, end);
      g_usleep (2 * G_TIME_SPAN_MILLISECOND);
    }
}

/* Feeds @contents to every reader of @fifo until the helper thread has
 * finished @n parses in all. */
static void
feed_fifo (const char *fifo,
           const char *contents,
           guint       n)
{
  gint64 end = g_get_monotonic_time () + 10 * G_TIME_SPAN_SECOND;

  while (_herald_ca_load_get_n_parses () < n)
    {
      int fd = open (fifo, O_WRONLY | O_NONBLOCK);

      if (fd >= 0)
        {
          g_assert_cmpint (write (fd, contents, strlen (contents)), ==, (gssize) strlen (contents));
          close (fd);
        }
      g_assert_cmpint (g_get_monotonic_time (), <, end);
      g_usleep (2 * G_TIME_SPAN_MILLISECOND);
    }
}

static void
tls_started_cb (const HeraldProgress *progress,
                gpointer              user_data)
{
  gboolean *started = user_data;

  if (progress->stage == HERALD_STAGE_TLS && progress->state == HERALD_STEP_STARTED)
    *started = TRUE;
}

/* A path made into a FIFO the helper thread blocks on until it is fed: it
 * orders the helper thread's work against the test's. */
static char *
make_fifo (const char *name)
{
  g_autofree char *relative = g_build_filename (certdir, name, NULL);
  char *fifo = g_canonicalize_filename (relative, NULL);

  g_unlink (fifo);
  g_assert_cmpint (mkfifo (fifo, 0600), ==, 0);
  return fifo;
}

/* A CA file swapped for another while its early parse runs, and swapped
 * back before the run looks at the result: every stat the run makes sees
 * the original file, but the parse read the other one. The helper thread's
 * own stat right after the parse catches it, and the run parses the file
 * again. Here the other file trusts nothing we serve, so a run that used
 * the early parse would fail. FIFOs hold the helper thread at each step. */
static void
test_swapped_during_parse (void)
{
  g_autofree char *fifo1 = make_fifo ("prepare-fifo1.pem");
  g_autofree char *fifo2 = make_fifo ("prepare-fifo2.pem");
  g_autofree char *path = copy_cert ("ca.pem");
  g_autofree char *other = copy_cert ("wronghost.pem");
  g_autofree char *saved = g_strconcat (path, ".saved", NULL);
  g_autofree char *ca = cert_path ("ca.pem");
  g_autofree char *ca_contents = NULL;
  g_autoptr(HeraldCaLoad) blocker1 = NULL;
  g_autoptr(HeraldCaLoad) blocker2 = NULL;
  g_autoptr(HeraldFakeServer) server = NULL;
  g_autoptr(HeraldSmtpConfig) config = NULL;
  g_autoptr(GAsyncResult) async_result = NULL;
  g_autoptr(HeraldSmtpResult) result = NULL;
  g_autoptr(GError) error = NULL;
  guint parses = _herald_ca_load_get_n_parses ();
  gboolean tls_started = FALSE;
  gint64 end;
  int writer;

  g_file_get_contents (ca, &ca_contents, NULL, &error);
  g_assert_no_error (error);
  g_unlink (saved);
  g_assert_cmpint (link (path, saved), ==, 0);

  /* The helper thread held on fifo1; behind it the early parse of the
   * good file, then fifo2. */
  blocker1 = _herald_ca_load_start (fifo1);
  writer = open_fifo_writer (fifo1);
  herald_smtp_prepare_tls (path);
  blocker2 = _herald_ca_load_start (fifo2);

  /* The run takes the early parse (the file is unchanged so far) and
   * waits for it at the TLS stage. */
  server = herald_test_start_fake_server (implicit_ok_script, certdir, "localhost", TRUE);
  config = make_tls_config (herald_fake_server_get_port (server), path);
  herald_smtp_run_async (config, NULL, tls_started_cb, &tls_started, NULL,
                         herald_test_result_cb, &async_result);
  end = g_get_monotonic_time () + 10 * G_TIME_SPAN_SECOND;
  while (!tls_started)
    {
      g_assert_cmpint (g_get_monotonic_time (), <, end);
      g_main_context_iteration (NULL, FALSE) || (g_usleep (1000), TRUE);
    }

  /* Swapped: the early parse reads the other file... */
  g_assert_cmpint (g_rename (other, path), ==, 0);
  g_assert_cmpint (write (writer, ca_contents, strlen (ca_contents)), ==,
                   (gssize) strlen (ca_contents));
  close (writer);
  feed_fifo (fifo1, ca_contents, parses + 1);
  /* ...and is over once the helper thread waits on fifo2. */
  writer = open_fifo_writer (fifo2);
  g_assert_cmpuint (_herald_ca_load_get_n_parses (), ==, parses + 2);

  /* Swapped back: the same inode, size and times as when it was taken. */
  g_assert_cmpint (g_rename (saved, path), ==, 0);
  g_assert_cmpint (write (writer, ca_contents, strlen (ca_contents)), ==,
                   (gssize) strlen (ca_contents));
  close (writer);
  feed_fifo (fifo2, ca_contents, parses + 3);

  g_assert_nonnull (herald_test_wait_result (&async_result, 10.0));
  result = herald_smtp_run_finish (async_result, &error);
  g_assert_no_error (error);
  assert_trusted (result);
  /* The early parse, then the run's own. */
  g_assert_cmpuint (_herald_ca_load_get_n_parses (), ==, parses + 4);
  herald_fake_server_wait (server, 5000);

  g_unlink (path);
  g_unlink (fifo1);
  g_unlink (fifo2);
}

/* A CA file whose parse never ends (here a FIFO nobody writes to; in life a
 * file on a hung network mount) holds up the helper thread, and with it
 * the run's own CA file queued behind it: cancelling the run still ends it
 * promptly with CANCELLED, and so does a cancelled wait for the hung file.
 * Last in this process: the helper thread is blocked until the end. */
static void
test_cancel_while_ca_file_hangs (void)
{
  g_autofree char *relative = g_build_filename (certdir, "prepare-fifo.pem", NULL);
  g_autofree char *fifo = g_canonicalize_filename (relative, NULL);
  g_autofree char *ca = cert_path ("ca.pem");
  g_autofree char *ca_contents = NULL;
  g_autoptr(HeraldCaLoad) hung = NULL;
  g_autoptr(GCancellable) cancelled = g_cancellable_new ();
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  g_autoptr(HeraldFakeServer) server = NULL;
  g_autoptr(HeraldSmtpConfig) config = NULL;
  g_autoptr(GAsyncResult) async_result = NULL;
  g_autoptr(HeraldSmtpResult) result = NULL;
  g_autoptr(GTlsDatabase) database = NULL;
  g_autoptr(GError) error = NULL;
  guint parses = _herald_ca_load_get_n_parses ();
  gint64 start;
  int writer;

  g_file_get_contents (ca, &ca_contents, NULL, &error);
  g_assert_no_error (error);
  g_unlink (fifo);
  g_assert_cmpint (mkfifo (fifo, 0600), ==, 0);

  hung = _herald_ca_load_start (fifo);
  writer = open_fifo_writer (fifo);

  /* A run with a good CA file: its parse waits behind the hung one. */
  server = herald_test_start_fake_server ("HANG\n", certdir, "localhost", TRUE);
  config = make_tls_config (herald_fake_server_get_port (server), ca);
  start = g_get_monotonic_time ();
  herald_smtp_run_async (config, cancellable, NULL, NULL, NULL,
                         herald_test_result_cb, &async_result);
  g_timeout_add_full (G_PRIORITY_HIGH, 500, cancel_cb, g_object_ref (cancellable),
                      g_object_unref);

  /* Well under the 5 s timeouts: the cancellation ends it. */
  g_assert_nonnull (herald_test_wait_result (&async_result, 3.0));
  g_test_message ("cancelled run ended after %" G_GINT64_FORMAT " ms",
                  (g_get_monotonic_time () - start) / 1000);
  result = herald_smtp_run_finish (async_result, &error);
  g_assert_no_error (error);
  g_assert_false (result->ok);
  g_assert_cmpint (result->stage, ==, HERALD_STAGE_TLS);
  g_assert_error (result->error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  /* Neither parse has finished: the run did not get past the wait. */
  g_assert_cmpuint (_herald_ca_load_get_n_parses (), ==, parses);
  herald_fake_server_wait (server, 5000);

  /* A wait for the hung file itself ends at once when cancelled. */
  g_clear_error (&error);
  g_cancellable_cancel (cancelled);
  database = _herald_ca_load_wait (hung, 0, cancelled, &error);
  g_assert_null (database);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);

  /* Nobody cancels: the reply timeout ends the wait, with a sentence that
   * says why, at the TLS stage. */
  {
    g_autoptr(HeraldFakeServer) server2 = NULL;
    g_autoptr(HeraldSmtpConfig) config2 = NULL;
    g_autoptr(HeraldSmtpResult) result2 = NULL;

    server2 = herald_test_start_fake_server ("HANG\n", certdir, "localhost", TRUE);
    config2 = make_tls_config (herald_fake_server_get_port (server2), ca);
    config2->reply_timeout = 1;
    start = g_get_monotonic_time ();
    result2 = herald_smtp_run (config2, NULL, NULL, NULL);
    g_test_message ("timed-out wait ended after %" G_GINT64_FORMAT " ms",
                    (g_get_monotonic_time () - start) / 1000);
    g_assert_cmpint (g_get_monotonic_time () - start, <, 3 * G_TIME_SPAN_SECOND);
    g_assert_false (result2->ok);
    g_assert_cmpint (result2->stage, ==, HERALD_STAGE_TLS);
    g_assert_error (result2->error, HERALD_SMTP_ERROR, HERALD_SMTP_ERROR_INVALID_CONFIG);
    g_assert_nonnull (strstr (result2->error->message, "longer than 1 seconds"));
    herald_fake_server_wait (server2, 5000);
  }

  /* The mount comes back: all three parses finish. */
  g_assert_cmpint (write (writer, ca_contents, strlen (ca_contents)), ==,
                   (gssize) strlen (ca_contents));
  close (writer);
  feed_fifo (fifo, ca_contents, parses + 3);
  g_unlink (fifo);
}

int
main (int   argc,
      char *argv[])
{
  int status;

  g_test_init (&argc, &argv, NULL);
  certdir = herald_test_make_certs ("engine/prepare-certs");

  /* First: nothing has loaded TLS in this process yet. */
  g_test_add_func ("/herald/engine/prepare/before-first-run", test_prepare_then_run);
  g_test_add_func ("/herald/engine/prepare/ca-file-taken", test_prepared_ca_file_is_taken);
  g_test_add_func ("/herald/engine/prepare/changed-ca-file", test_changed_ca_file_is_read_again);
  g_test_add_func ("/herald/engine/prepare/bad-ca-file", test_bad_ca_file_same_error);
  g_test_add_func ("/herald/engine/prepare/missing-ca-file", test_missing_ca_file_same_error);
  g_test_add_func ("/herald/engine/prepare/other-ca-file", test_other_ca_file_not_used);
  g_test_add_func ("/herald/engine/prepare/rewritten-ca-file",
                   test_rewritten_ca_file_is_read_again);
  g_test_add_func ("/herald/engine/prepare/cancel", test_cancel_during_preparation);
  g_test_add_func ("/herald/engine/prepare/swapped-during-parse", test_swapped_during_parse);
  /* Last: it holds up the helper thread for a while. */
  g_test_add_func ("/herald/engine/prepare/cancel-hung-ca-file", test_cancel_while_ca_file_hangs);

  status = g_test_run ();
  g_free (certdir);
  return status;
}
