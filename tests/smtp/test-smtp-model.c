/* SPDX-License-Identifier: GPL-3.0-or-later
 * Copyright 2026 The Herald authors
 */
#define G_LOG_DOMAIN "herald-test"

/* The engine's shared models, without the network: the step model the
 * window and heraldctl render, the per-setting checks, the failed-result
 * constructor and the secret wipe. */

#include <string.h>

#include "herald-smtp.h"
#include "herald-smtp-steps.h"

static void
feed (HeraldStepTracker *tracker,
      HeraldStage        stage,
      HeraldStepState    state,
      gint64             duration)
{
  HeraldProgress progress = { stage, state, 0, duration };

  herald_step_tracker_update (tracker, &progress);
}

/* Starts and ends each stage, as the engine reports them. */
static void
pass_stages (HeraldStepTracker *tracker,
             const HeraldStage *stages,
             guint              n_stages)
{
  for (guint i = 0; i < n_stages; i++)
    {
      feed (tracker, stages[i], HERALD_STEP_STARTED, 0);
      feed (tracker, stages[i], HERALD_STEP_SUCCEEDED, 10);
    }
}

static void
test_steps_order (void)
{
  const HeraldStep *starttls = herald_step_order (HERALD_SECURITY_STARTTLS);
  const HeraldStep *tls = herald_step_order (HERALD_SECURITY_TLS);

  /* STARTTLS: the greeting happens before the encryption. */
  g_assert_cmpint (starttls[0], ==, HERALD_STEP_RESOLVE);
  g_assert_cmpint (starttls[1], ==, HERALD_STEP_CONNECT);
  g_assert_cmpint (starttls[2], ==, HERALD_STEP_GREETING);
  g_assert_cmpint (starttls[3], ==, HERALD_STEP_ENCRYPT);
  g_assert_cmpint (starttls[4], ==, HERALD_STEP_LOGIN);
  g_assert_cmpint (starttls[5], ==, HERALD_STEP_SEND);
  /* Implicit TLS: the handshake before the greeting. */
  g_assert_cmpint (tls[2], ==, HERALD_STEP_ENCRYPT);
  g_assert_cmpint (tls[3], ==, HERALD_STEP_GREETING);

  g_assert_cmpstr (herald_step_to_string (HERALD_STEP_ENCRYPT), ==, "encrypt");
  g_assert_cmpstr (herald_step_get_title (HERALD_STEP_ENCRYPT), ==, "Encrypt (TLS)");
  g_assert_cmpstr (herald_step_get_title (HERALD_STEP_LOGIN), ==, "Log in");
}

static void
test_steps_mapping (void)
{
  g_assert_cmpint (herald_step_for_stage (HERALD_STAGE_EHLO), ==, HERALD_STEP_GREETING);
  g_assert_cmpint (herald_step_for_stage_full (HERALD_STAGE_EHLO, TRUE), ==, HERALD_STEP_ENCRYPT);
  g_assert_cmpint (herald_step_for_stage (HERALD_STAGE_TLS), ==, HERALD_STEP_ENCRYPT);
  g_assert_cmpint (herald_step_for_stage (HERALD_STAGE_RCPT), ==, HERALD_STEP_SEND);
  g_assert_cmpint (herald_step_for_stage (HERALD_STAGE_DONE), ==, HERALD_STEP_NONE);
}

/* STARTTLS: the EHLO after the handshake is charged to Encrypt, and a
 * certificate failure fails Encrypt after a passed Greeting. */
static void
test_steps_starttls_certificate (void)
{
  static const HeraldStage before[] = {
    HERALD_STAGE_RESOLVE, HERALD_STAGE_CONNECT, HERALD_STAGE_GREETING, HERALD_STAGE_EHLO,
    HERALD_STAGE_STARTTLS,
  };
  g_autoptr(HeraldStepTracker) tracker = herald_step_tracker_new (HERALD_SECURITY_STARTTLS);
  g_autoptr(GError) error = g_error_new_literal (HERALD_SMTP_ERROR,
                                                 HERALD_SMTP_ERROR_TLS_CERTIFICATE, "refused");
  g_autoptr(HeraldSmtpResult) result = herald_smtp_result_new_failed (HERALD_STAGE_TLS, error);

  pass_stages (tracker, before, G_N_ELEMENTS (before));
  g_assert_cmpint (herald_step_tracker_get_status (tracker, HERALD_STEP_GREETING), ==,
                   HERALD_STEP_STATE_DONE);
  g_assert_true (herald_step_tracker_is_final (tracker, HERALD_STEP_GREETING));
  g_assert_cmpint (herald_step_tracker_get_ms (tracker, HERALD_STEP_GREETING), ==, 20);

  feed (tracker, HERALD_STAGE_TLS, HERALD_STEP_STARTED, 0);
  feed (tracker, HERALD_STAGE_TLS, HERALD_STEP_FAILED, 5);
  herald_step_tracker_finish (tracker, result);

  g_assert_cmpint (herald_step_tracker_get_status (tracker, HERALD_STEP_ENCRYPT), ==,
                   HERALD_STEP_STATE_FAILED);
  g_assert_cmpint (herald_step_tracker_get_ms (tracker, HERALD_STEP_ENCRYPT), ==, 15);
  g_assert_cmpint (herald_step_tracker_get_status (tracker, HERALD_STEP_GREETING), ==,
                   HERALD_STEP_STATE_DONE);
  g_assert_cmpint (herald_step_tracker_get_status (tracker, HERALD_STEP_LOGIN), ==,
                   HERALD_STEP_STATE_PENDING);
  g_assert_false (herald_step_tracker_is_final (tracker, HERALD_STEP_LOGIN));
}

/* The second EHLO fails: Encrypt fails, not Greeting. */
static void
test_steps_ehlo_after_starttls (void)
{
  static const HeraldStage before[] = {
    HERALD_STAGE_RESOLVE, HERALD_STAGE_CONNECT, HERALD_STAGE_GREETING, HERALD_STAGE_EHLO,
    HERALD_STAGE_STARTTLS, HERALD_STAGE_TLS,
  };
  g_autoptr(HeraldStepTracker) tracker = herald_step_tracker_new (HERALD_SECURITY_STARTTLS);
  g_autoptr(GError) error = g_error_new_literal (HERALD_SMTP_ERROR, HERALD_SMTP_ERROR_CLOSED,
                                                 "closed");
  g_autoptr(HeraldSmtpResult) result = herald_smtp_result_new_failed (HERALD_STAGE_EHLO, error);

  pass_stages (tracker, before, G_N_ELEMENTS (before));
  feed (tracker, HERALD_STAGE_EHLO, HERALD_STEP_STARTED, 0);
  feed (tracker, HERALD_STAGE_EHLO, HERALD_STEP_FAILED, 7);

  g_assert_cmpint (herald_step_tracker_get_status (tracker, HERALD_STEP_ENCRYPT), ==,
                   HERALD_STEP_STATE_FAILED);
  g_assert_cmpint (herald_step_tracker_get_ms (tracker, HERALD_STEP_ENCRYPT), ==, 27);
  g_assert_cmpint (herald_step_tracker_get_status (tracker, HERALD_STEP_GREETING), ==,
                   HERALD_STEP_STATE_DONE);
  g_assert_cmpint (herald_step_tracker_get_ms (tracker, HERALD_STEP_GREETING), ==, 20);

  /* The result alone says the same: a STARTTLS stage was reached. */
  result->stage_ms[HERALD_STAGE_STARTTLS] = 3;
  g_assert_cmpint (herald_step_for_result (result), ==, HERALD_STEP_ENCRYPT);
  result->stage_ms[HERALD_STAGE_STARTTLS] = -1;
  g_assert_cmpint (herald_step_for_result (result), ==, HERALD_STEP_GREETING);
}

/* The engine refuses before the failing stage starts: the open step passed,
 * the one the result names failed; a passed run skips unneeded steps. */
static void
test_steps_finish (void)
{
  static const HeraldStage before[] = {
    HERALD_STAGE_RESOLVE, HERALD_STAGE_CONNECT, HERALD_STAGE_GREETING, HERALD_STAGE_EHLO,
  };
  static const HeraldStage all[] = {
    HERALD_STAGE_RESOLVE, HERALD_STAGE_CONNECT, HERALD_STAGE_GREETING, HERALD_STAGE_EHLO,
    HERALD_STAGE_MAIL, HERALD_STAGE_RCPT, HERALD_STAGE_DATA, HERALD_STAGE_QUIT,
  };
  g_autoptr(HeraldStepTracker) tracker = herald_step_tracker_new (HERALD_SECURITY_NONE);
  g_autoptr(GError) error = g_error_new_literal (HERALD_SMTP_ERROR,
                                                 HERALD_SMTP_ERROR_PLAINTEXT_AUTH_REFUSED, "no");
  g_autoptr(HeraldSmtpResult) failed = herald_smtp_result_new_failed (HERALD_STAGE_AUTH, error);
  g_autoptr(HeraldSmtpResult) passed = herald_smtp_result_new_failed (HERALD_STAGE_AUTH, error);

  pass_stages (tracker, before, G_N_ELEMENTS (before));
  feed (tracker, HERALD_STAGE_EHLO, HERALD_STEP_STARTED, 0);
  herald_step_tracker_finish (tracker, failed);
  g_assert_cmpint (herald_step_tracker_get_status (tracker, HERALD_STEP_GREETING), ==,
                   HERALD_STEP_STATE_DONE);
  g_assert_cmpint (herald_step_tracker_get_status (tracker, HERALD_STEP_LOGIN), ==,
                   HERALD_STEP_STATE_FAILED);
  g_assert_true (herald_step_tracker_is_final (tracker, HERALD_STEP_LOGIN));

  herald_step_tracker_reset (tracker, HERALD_SECURITY_NONE);
  g_assert_cmpint (herald_step_tracker_get_status (tracker, HERALD_STEP_LOGIN), ==,
                   HERALD_STEP_STATE_PENDING);
  pass_stages (tracker, all, G_N_ELEMENTS (all));
  passed->ok = TRUE;
  passed->stage = HERALD_STAGE_DONE;
  g_clear_error (&passed->error);
  herald_step_tracker_finish (tracker, passed);
  g_assert_cmpint (herald_step_tracker_get_status (tracker, HERALD_STEP_ENCRYPT), ==,
                   HERALD_STEP_STATE_SKIPPED);
  g_assert_cmpint (herald_step_tracker_get_status (tracker, HERALD_STEP_LOGIN), ==,
                   HERALD_STEP_STATE_SKIPPED);
  g_assert_cmpint (herald_step_tracker_get_status (tracker, HERALD_STEP_SEND), ==,
                   HERALD_STEP_STATE_DONE);
  g_assert_cmpint (herald_step_tracker_get_ms (tracker, HERALD_STEP_SEND), ==, 40);
}

/* The window shows Log in running while it fetches an OAuth token, before
 * the engine resolves: resolving must not end that step. */
static void
test_steps_login_first (void)
{
  g_autoptr(HeraldStepTracker) tracker = herald_step_tracker_new (HERALD_SECURITY_TLS);

  feed (tracker, HERALD_STAGE_AUTH, HERALD_STEP_STARTED, 0);
  feed (tracker, HERALD_STAGE_RESOLVE, HERALD_STEP_STARTED, 0);
  g_assert_cmpint (herald_step_tracker_get_status (tracker, HERALD_STEP_LOGIN), ==,
                   HERALD_STEP_STATE_RUNNING);
  g_assert_false (herald_step_tracker_is_final (tracker, HERALD_STEP_LOGIN));
}

static void
test_duration (void)
{
  g_autofree char *ms = herald_format_duration (12);
  g_autofree char *s = herald_format_duration (2140);
  g_autofree char *neg = herald_format_duration (-5);

  g_assert_cmpstr (ms, ==, "12 ms");
  g_assert_cmpstr (s, ==, "2.1 s");
  g_assert_cmpstr (neg, ==, "0 ms");
}

/* ---- field checks ------------------------------------------------------------ */

typedef struct {
  const char *key;
  const char *value;
  gboolean    valid;
  const char *message;  /* exact, or NULL */
} FieldCase;

static const FieldCase field_cases[] = {
  { "server", "smtp.office365.com", TRUE, NULL },
  { "server", "  smtp.example.com ", TRUE, NULL },
  { "server", "", FALSE, "Enter the server’s host name." },
  { "server", "smtp example.com", FALSE, "“smtp example.com” is not a host name." },
  { "server", "smtp.example.com/x", FALSE, "“smtp.example.com/x” is not a host name." },
  { "server", "a\nb", FALSE, "Server must not contain line breaks." },
  { "port", "587", TRUE, NULL },
  { "port", "1", TRUE, NULL },
  { "port", "65535", TRUE, NULL },
  { "port", "0", FALSE, "The port must be a number from 1 to 65535." },
  { "port", "65536", FALSE, "The port must be a number from 1 to 65535." },
  { "port", "70000", FALSE, "The port must be a number from 1 to 65535." },
  { "port", "-1", FALSE, "The port must be a number from 1 to 65535." },
  { "port", "58x", FALSE, "The port must be a number from 1 to 65535." },
  { "port", "", FALSE, "The port must be a number from 1 to 65535." },
  { "security", "starttls", TRUE, NULL },
  { "security", "tls", TRUE, NULL },
  { "security", "ssl", FALSE, NULL },
  { "auth", "xoauth2", TRUE, NULL },
  { "auth", "cram-md5", FALSE, NULL },
  { "username", "alice@contoso.com", TRUE, NULL },
  { "username", "", TRUE, NULL },
  { "username", "alice\r\nRCPT TO:<x@y>", FALSE, "Username must not contain line breaks." },
  { "username", "al\033ice", FALSE, NULL },
  { "from", "alerts@contoso.com", TRUE, NULL },
  { "from", "", FALSE, "Enter the sender address (From)." },
  { "from", "alerts", FALSE, "From: “alerts” is not a valid email address." },
  { "to", "a@x.test, b@y.test; c@z.test", TRUE, NULL },
  { "to", "", FALSE, "Enter at least one recipient (To)." },
  { "to", "a@x.test, nope", FALSE, "To: “nope” is not a valid email address." },
  { "cc", "", TRUE, NULL },
  { "cc", "bad@", FALSE, "Cc: “bad@” is not a valid email address." },
  { "subject", "Nightly backup", TRUE, NULL },
  { "subject", "x\nBcc: y@z", FALSE, "Subject must not contain line breaks." },
  { "extra-text", "line one\nline two", TRUE, NULL },
  { "extra-text", "\xff", FALSE, NULL },
  { "ca-file", "/etc/ssl/private-ca.pem", TRUE, NULL },
  { "ca-file", "", TRUE, NULL },
  { "ca-file", "/tmp/a\nb", FALSE, "CA certificate file must not contain line breaks." },
  { "timeout", "20", TRUE, NULL },
  { "timeout", "600", TRUE, NULL },
  { "timeout", "601", FALSE, "The timeout must be a number of seconds from 1 to 600." },
  { "timeout", "0", FALSE, "The timeout must be a number of seconds from 1 to 600." },
  { "deadline", "60", TRUE, NULL },
  { "deadline", "0", FALSE, NULL },
  { "no-such-key", "x", FALSE, NULL },
};

static void
test_check_field (void)
{
  for (guint i = 0; i < G_N_ELEMENTS (field_cases); i++)
    {
      const FieldCase *c = &field_cases[i];
      g_autofree char *message = NULL;
      gboolean valid = herald_smtp_check_field (c->key, c->value, &message);
      g_autofree char *shown = g_strescape (c->value, NULL);

      g_test_message ("%s = “%s”: %s", c->key, shown, message ? message : "valid");
      g_assert_cmpint (valid, ==, c->valid);
      if (c->valid)
        g_assert_null (message);
      else
        g_assert_nonnull (message);
      if (c->message != NULL)
        g_assert_cmpstr (message, ==, c->message);
    }

  /* The message is optional. */
  g_assert_false (herald_smtp_check_field ("port", "0", NULL));
}

/* ---- results and secrets ----------------------------------------------------- */

static void
test_result_new_failed (void)
{
  g_autoptr(GError) error = g_error_new_literal (G_IO_ERROR, G_IO_ERROR_NOT_FOUND, "no password");
  g_autoptr(HeraldSmtpResult) result = herald_smtp_result_new_failed (HERALD_STAGE_AUTH, error);
  g_autoptr(HeraldSmtpResult) copy = NULL;

  g_assert_false (result->ok);
  g_assert_cmpint (result->stage, ==, HERALD_STAGE_AUTH);
  g_assert_error (result->error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND);
  g_assert_cmpstr (result->error->message, ==, "no password");
  g_assert_true (result->error != error);
  g_assert_null (result->reply);
  g_assert_nonnull (result->transcript);
  g_assert_cmpuint (result->transcript->len, ==, 0);
  for (guint i = 0; i < HERALD_N_STAGES; i++)
    g_assert_cmpint (result->stage_ms[i], ==, -1);

  copy = herald_smtp_result_copy (result);
  g_assert_cmpint (copy->stage, ==, HERALD_STAGE_AUTH);
}

static void
test_secret_wipe (void)
{
  char buffer[] = "Corr3ct-H0rse";
  char bytes[4] = { 1, 2, 3, 4 };
  g_autoptr(HeraldSecret) secret = g_strdup ("hunter2");

  herald_secret_wipe_string (buffer);
  for (guint i = 0; i < sizeof buffer; i++)
    g_assert_cmpint (buffer[i], ==, 0);

  herald_secret_wipe (bytes, 3);
  g_assert_cmpint (bytes[0], ==, 0);
  g_assert_cmpint (bytes[2], ==, 0);
  g_assert_cmpint (bytes[3], ==, 4);

  /* NULL is fine everywhere. */
  herald_secret_wipe (NULL, 10);
  herald_secret_wipe_string (NULL);
  herald_secret_free (NULL);
  g_assert_cmpstr (secret, ==, "hunter2");
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/herald/smtp/steps/order", test_steps_order);
  g_test_add_func ("/herald/smtp/steps/mapping", test_steps_mapping);
  g_test_add_func ("/herald/smtp/steps/starttls-certificate", test_steps_starttls_certificate);
  g_test_add_func ("/herald/smtp/steps/ehlo-after-starttls", test_steps_ehlo_after_starttls);
  g_test_add_func ("/herald/smtp/steps/finish", test_steps_finish);
  g_test_add_func ("/herald/smtp/steps/login-first", test_steps_login_first);
  g_test_add_func ("/herald/smtp/steps/duration", test_duration);
  g_test_add_func ("/herald/smtp/fields/check", test_check_field);
  g_test_add_func ("/herald/smtp/result/new-failed", test_result_new_failed);
  g_test_add_func ("/herald/smtp/secret/wipe", test_secret_wipe);

  return g_test_run ();
}
