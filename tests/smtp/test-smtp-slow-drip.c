/* SPDX-License-Identifier: GPL-3.0-or-later
 * Copyright 2026 The Herald authors
 */
#define G_LOG_DOMAIN "herald-test-smtp"

/* A server that drips its replies, a few bytes at a time, each piece well
 * inside the reply timeout, must not keep the engine waiting longer than the
 * reply timeout for a whole reply; a reply that is merely slow but complete
 * within that time must still be accepted, and the deadline is per reply,
 * not per session. Real loopback sockets against the scripted fake server.
 */

#include <signal.h>
#include <string.h>

#include "herald-smtp.h"
#include "herald-test-util.h"

#define HELO  "client.test"
#define FROM  "alice@example.test"
#define TO    "bob@example.test"

/* The reply timeout of the dripping tests, in seconds. */
#define REPLY_TIMEOUT 2

/* The reply timeout of the slow-but-complete test: its replies take 1.4 s
 * each, so this leaves 2.6 s per reply for a loaded machine. */
#define SLOW_REPLY_TIMEOUT 4

static char *certdir;

/* Sends text (with its CRLF) in n_pieces pieces of about equal size, with
 * delay_ms before every piece but the first. */
static void
drip (GString    *s,
      const char *text,
      guint       n_pieces,
      guint       delay_ms)
{
  g_autofree char *full = g_strconcat (text, "\r\n", NULL);
  gsize len = strlen (full);
  gsize done = 0;

  g_assert_cmpuint (n_pieces, >=, 1);
  g_assert_cmpuint (n_pieces, <=, len);

  for (guint i = 0; i < n_pieces; i++)
    {
      gsize end = (i + 1 == n_pieces) ? len : (len * (i + 1)) / n_pieces;
      g_autofree char *piece = g_strndup (full + done, end - done);
      g_autofree char *escaped = g_strescape (piece, NULL);

      if (i > 0)
        herald_test_script_line (s, "DELAY %u", delay_ms);
      herald_test_script_line (s, "RAW %s", escaped);
      done = end;
    }
}

static HeraldSmtpConfig *
make_config (guint16        port,
             HeraldSecurity security,
             guint          reply_timeout)
{
  HeraldSmtpConfig *config = herald_smtp_config_new ();

  config->host = g_strdup ("localhost");
  config->port = port;
  config->security = security;
  config->auth = HERALD_AUTH_NONE;
  config->from = g_strdup (FROM);
  config->to = g_new0 (char *, 2);
  config->to[0] = g_strdup (TO);
  config->subject = g_strdup ("Herald slow-drip test");
  config->ca_file = g_build_filename (certdir, "ca.pem", NULL);
  config->helo_name = g_strdup (HELO);
  config->connect_timeout = 5;
  config->reply_timeout = reply_timeout;

  return config;
}

typedef struct {
  HeraldStage stage;     /* the stage to time */
  gint64      started;   /* monotonic time it started, or 0 */
} StageClock;

/* Called on the thread that called herald_smtp_run(), as stages start and end. */
static void
progress_cb (const HeraldProgress *progress,
             gpointer              user_data)
{
  StageClock *clock = user_data;

  if (progress->stage == clock->stage && progress->state == HERALD_STEP_STARTED &&
      clock->started == 0)
    clock->started = g_get_monotonic_time ();
}

/* Runs @config; *elapsed_ms is the time from the start of @stage (for EHLO:
 * when the EHLO command goes out) until the run returned. Whatever came
 * before that stage (connecting, the TLS handshake, loading the trust
 * store) is not counted: the reply timeout does not cover it, and on a
 * loaded machine it can take a while. */
static HeraldSmtpResult *
run_timed (HeraldSmtpConfig *config,
           HeraldStage       stage,
           gint64           *elapsed_ms)
{
  StageClock clock = { stage, 0 };
  gint64 start = g_get_monotonic_time ();
  HeraldSmtpResult *result = herald_smtp_run (config, NULL, progress_cb, &clock);
  gint64 end = g_get_monotonic_time ();

  g_assert_cmpint (clock.started, >, 0);
  *elapsed_ms = (end - clock.started) / 1000;
  g_test_message ("engine finished after %" G_GINT64_FORMAT " ms, %" G_GINT64_FORMAT
                  " ms after stage %s started, at stage %s: %s",
                  (end - start) / 1000, *elapsed_ms, herald_stage_to_string (stage),
                  herald_stage_to_string (result->stage),
                  result->error ? result->error->message : "ok");
  return result;
}

/* Counted from the start of the stage whose reply drips: the reply timeout
 * for the whole reply, plus 2.5 s of slack for a loaded machine (the engine
 * then gives up, closes the connection and returns). Each drip below takes
 * at least 6.6 s to complete, so a reader that waited for it all (no
 * deadline per reply) still fails this bound by 2 s. */
static void
assert_failed_in_time (HeraldSmtpResult *result,
                       gint64            elapsed_ms,
                       HeraldStage       stage)
{
  g_autofree char *within = g_strdup_printf ("within %u seconds", REPLY_TIMEOUT);

  g_assert_false (result->ok);
  g_assert_cmpint (result->stage, ==, stage);
  /* A reply that started and did not end is reported as such, at the
   * greeting too: not "sent no greeting", not "did not reply" (issue 15,
   * item 8). */
  g_assert_error (result->error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT);
  g_assert_nonnull (strstr (result->error->message, "did not finish its reply"));
  /* The message names the configured timeout (not the time that was left). */
  g_assert_nonnull (strstr (result->error->message, within));
  g_assert_cmpint (elapsed_ms, >=, REPLY_TIMEOUT * 1000 - 100);
  g_assert_cmpint (elapsed_ms, <, REPLY_TIMEOUT * 1000 + 2500);
}

/* The greeting dripped one piece every 0.6 s for about 7 s. */
static void
test_greeting_drip (void)
{
  g_autoptr(GString) s = g_string_new (NULL);
  g_autoptr(HeraldFakeServer) server = NULL;
  g_autoptr(HeraldSmtpConfig) config = NULL;
  g_autoptr(HeraldSmtpResult) result = NULL;
  gint64 elapsed;

  drip (s, "220 fake.test ESMTP dripping greeting", 12, 600);
  herald_test_script_line (s, "LOOP-UNTIL-QUIT");
  server = herald_test_start_fake_server (s->str, certdir, NULL, FALSE);
  config = make_config (herald_fake_server_get_port (server), HERALD_SECURITY_NONE,
                        REPLY_TIMEOUT);

  result = run_timed (config, HERALD_STAGE_GREETING, &elapsed);
  assert_failed_in_time (result, elapsed, HERALD_STAGE_GREETING);
}

/* A single EHLO reply line, dripped byte by byte. */
static void
run_ehlo_drip (HeraldSecurity security)
{
  g_autoptr(GString) s = g_string_new (NULL);
  g_autoptr(HeraldFakeServer) server = NULL;
  g_autoptr(HeraldSmtpConfig) config = NULL;
  g_autoptr(HeraldSmtpResult) result = NULL;
  gint64 elapsed;

  herald_test_script_line (s, "S 220 fake.test ESMTP");
  herald_test_script_line (s, "C EHLO " HELO);
  drip (s, "250 fake.test", 15, 500);
  herald_test_script_line (s, "LOOP-UNTIL-QUIT");
  server = herald_test_start_fake_server (s->str, certdir,
                                          security == HERALD_SECURITY_TLS ? "localhost" : NULL,
                                          security == HERALD_SECURITY_TLS);
  config = make_config (herald_fake_server_get_port (server), security, REPLY_TIMEOUT);

  result = run_timed (config, HERALD_STAGE_EHLO, &elapsed);
  assert_failed_in_time (result, elapsed, HERALD_STAGE_EHLO);
}

static void
test_ehlo_drip (void)
{
  run_ehlo_drip (HERALD_SECURITY_NONE);
}

/* The same through implicit TLS: the deadline holds on the TLS stream too. */
static void
test_ehlo_drip_tls (void)
{
  run_ehlo_drip (HERALD_SECURITY_TLS);
}

/* A multi-line reply whose lines come one every 0.7 s: each line is quick,
 * the reply is not. */
static void
test_multiline_drip (void)
{
  g_autoptr(GString) s = g_string_new (NULL);
  g_autoptr(HeraldFakeServer) server = NULL;
  g_autoptr(HeraldSmtpConfig) config = NULL;
  g_autoptr(HeraldSmtpResult) result = NULL;
  gint64 elapsed;

  herald_test_script_line (s, "S 220 fake.test ESMTP");
  herald_test_script_line (s, "C EHLO " HELO);
  herald_test_script_line (s, "S 250-fake.test Hello");
  for (guint i = 0; i < 10; i++)
    {
      herald_test_script_line (s, "DELAY 700");
      herald_test_script_line (s, "S 250-X-SLOW-%u", i);
    }
  herald_test_script_line (s, "S 250 8BITMIME");
  herald_test_script_line (s, "LOOP-UNTIL-QUIT");
  server = herald_test_start_fake_server (s->str, certdir, NULL, FALSE);
  config = make_config (herald_fake_server_get_port (server), HERALD_SECURITY_NONE,
                        REPLY_TIMEOUT);

  result = run_timed (config, HERALD_STAGE_EHLO, &elapsed);
  assert_failed_in_time (result, elapsed, HERALD_STAGE_EHLO);
}

/* Every reply is slow (1.4 s of a 4 s timeout, in pieces 0.7 s apart) but
 * complete in time: the test succeeds, although the session as a whole (six
 * such replies and the QUIT reply) takes more than twice the timeout, so the
 * deadline must be per reply, not per session. The margin per reply is wide on
 * purpose: on a loaded machine a reply must not miss it by accident. */
static void
test_slow_but_complete (void)
{
  g_autoptr(GString) s = g_string_new (NULL);
  g_autoptr(HeraldFakeServer) server = NULL;
  g_autoptr(HeraldSmtpConfig) config = NULL;
  g_autoptr(HeraldSmtpResult) result = NULL;
  gint64 elapsed;

  drip (s, "220 fake.test ESMTP slow", 3, 700);
  herald_test_script_line (s, "C EHLO " HELO);
  herald_test_script_line (s, "DELAY 700");
  herald_test_script_line (s, "S 250-fake.test Hello");
  herald_test_script_line (s, "DELAY 700");
  herald_test_script_line (s, "S 250-SIZE 1000000");
  herald_test_script_line (s, "S 250 8BITMIME");
  herald_test_script_line (s, "C MAIL FROM:<" FROM ">.*");
  drip (s, "250 2.1.0 Sender OK", 3, 700);
  herald_test_script_line (s, "C RCPT TO:<" TO ">.*");
  drip (s, "250 2.1.5 Recipient OK", 3, 700);
  herald_test_script_line (s, "C DATA");
  drip (s, "354 Go ahead", 3, 700);
  herald_test_script_line (s, "DATA");
  drip (s, "250 2.0.0 Queued", 3, 700);
  herald_test_script_line (s, "C QUIT");
  drip (s, "221 2.0.0 Bye", 3, 700);
  server = herald_test_start_fake_server (s->str, certdir, NULL, FALSE);
  config = make_config (herald_fake_server_get_port (server), HERALD_SECURITY_NONE,
                        SLOW_REPLY_TIMEOUT);

  result = run_timed (config, HERALD_STAGE_GREETING, &elapsed);
  g_assert_no_error (result->error);
  g_assert_true (result->ok);
  g_assert_cmpint (result->stage, ==, HERALD_STAGE_DONE);
  /* At least six replies of 1.4 s: more than two timeouts in all. */
  g_assert_cmpint (elapsed, >, 2 * SLOW_REPLY_TIMEOUT * 1000);
  g_assert_true (herald_fake_server_wait (server, 10000));
}

/* Every reply comes 1.2 s late, inside the 2 s reply timeout: without an
 * overall deadline the test would pass after 6 s or more. With a 3 s
 * deadline it ends at 3 s, with an error that says so at the stage it was
 * in (issue 15, item 7). */
static void
test_overall_deadline (void)
{
  g_autoptr(GString) s = g_string_new (NULL);
  g_autoptr(HeraldFakeServer) server = NULL;
  g_autoptr(HeraldSmtpConfig) config = NULL;
  g_autoptr(HeraldSmtpResult) result = NULL;
  const char *steps[] = {
    "S 220 fake.test ESMTP", "C EHLO " HELO, "S 250 fake.test",
    "C MAIL FROM:.*", "S 250 2.1.0 OK", "C RCPT TO:.*", "S 250 2.1.5 OK",
    "C DATA", "S 354 go ahead", "DATA", "S 250 2.0.0 OK", "C QUIT", "S 221 bye",
  };
  gint64 start, elapsed;

  for (guint i = 0; i < G_N_ELEMENTS (steps); i++)
    {
      if (steps[i][0] == 'S')
        herald_test_script_line (s, "DELAY 1200");
      herald_test_script_line (s, "%s", steps[i]);
    }
  server = herald_test_start_fake_server (s->str, certdir, NULL, FALSE);
  config = make_config (herald_fake_server_get_port (server), HERALD_SECURITY_NONE, 2);
  config->deadline = 3;

  start = g_get_monotonic_time ();
  result = herald_smtp_run (config, NULL, NULL, NULL);
  elapsed = (g_get_monotonic_time () - start) / 1000;

  g_test_message ("ended after %" G_GINT64_FORMAT " ms: %s", elapsed,
                  result->error ? result->error->message : "ok");
  g_assert_false (result->ok);
  g_assert_error (result->error, HERALD_SMTP_ERROR, HERALD_SMTP_ERROR_DEADLINE);
  g_assert_nonnull (strstr (result->error->message, "took longer than 3 s"));
  g_assert_nonnull (strstr (result->error->message, herald_stage_to_string (result->stage)));
  g_assert_cmpint (result->stage, !=, HERALD_STAGE_DONE);
  g_assert_cmpint (elapsed, >=, 2900);
  g_assert_cmpint (elapsed, <, 3000 + 2000);
}

int
main (int   argc,
      char *argv[])
{
  int ret;

  g_test_init (&argc, &argv, NULL);
  signal (SIGPIPE, SIG_IGN);
  certdir = herald_test_make_certs ("smtp/certs");

  g_test_add_func ("/smtp-slow-drip/greeting", test_greeting_drip);
  g_test_add_func ("/smtp-slow-drip/ehlo", test_ehlo_drip);
  g_test_add_func ("/smtp-slow-drip/ehlo-tls", test_ehlo_drip_tls);
  g_test_add_func ("/smtp-slow-drip/multiline", test_multiline_drip);
  g_test_add_func ("/smtp-slow-drip/slow-but-complete", test_slow_but_complete);

  g_test_add_func ("/smtp-slow-drip/overall-deadline", test_overall_deadline);

  ret = g_test_run ();
  g_free (certdir);
  return ret;
}
