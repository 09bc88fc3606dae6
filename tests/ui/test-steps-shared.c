/* SPDX-License-Identifier: GPL-3.0-or-later
 * Copyright 2026 The Herald authors
 */
#define G_LOG_DOMAIN "herald-test"

/* The window's step list and heraldctl show the same steps in the same
 * order for the same run (issue 10): each scenario runs once through the
 * engine into a HeraldStepList and once through the real heraldctl, against
 * the same scripted fake server, and the two lists of finished steps must
 * be equal (titles, order, passed or failed). They once disagreed: after
 * STARTTLS the window charged the second EHLO to Greeting and showed
 * Encrypt above Greeting, so a certificate failure read as a red Encrypt
 * row above a green Greeting row. */

#include <adwaita.h>
#include <string.h>

#include "herald-step-list.h"
#include "herald-test-util.h"

#define FROM "alice@example.test"
#define TO   "bob@example.test"
#define HELO "client.test"

static char *certdir;

typedef struct {
  const char     *name;
  const char     *cert;        /* the server's certificate: "localhost", "untrusted"... */
  HeraldSecurity  security;
  const char     *script;
  gboolean        ok;
  const char     *want;        /* the expected finished steps, "+name" passed, "-name" failed */
} Scenario;

#define GREETING "S 220 fake.test ESMTP\nC EHLO .*\n"
#define STARTTLS "S 250-fake.test\nS 250-PIPELINING\nS 250 STARTTLS\n" \
                 "C STARTTLS\nS 220 2.0.0 Ready\nSTARTTLS\n"
#define SEND     "C MAIL FROM:.*\nS 250 2.1.0 OK\nC RCPT TO:.*\nS 250 2.1.5 OK\n" \
                 "C DATA\nS 354 go ahead\nDATA\nS 250 2.0.0 queued\nC QUIT\nS 221 bye\n"

static const Scenario scenarios[] = {
  /* The case of the issue: STARTTLS and a certificate nobody trusts. */
  { "starttls-certificate", "untrusted", HERALD_SECURITY_STARTTLS,
    GREETING STARTTLS "HANG\n",
    FALSE, "+resolve +connect +greeting -encrypt" },
  /* The EHLO after STARTTLS fails: charged to Encrypt, not Greeting. */
  { "starttls-second-ehlo", "localhost", HERALD_SECURITY_STARTTLS,
    GREETING STARTTLS "C EHLO .*\nS 554 5.7.0 go away\n",
    FALSE, "+resolve +connect +greeting -encrypt" },
  /* Implicit TLS: Encrypt comes before Greeting. */
  { "implicit-tls", "localhost", HERALD_SECURITY_TLS,
    GREETING "S 250-fake.test\nS 250 8BITMIME\n" SEND,
    TRUE, "+resolve +connect +encrypt +greeting +send" },
  /* STARTTLS all the way, no login. */
  { "starttls-ok", "localhost", HERALD_SECURITY_STARTTLS,
    GREETING STARTTLS "C EHLO .*\nS 250-fake.test\nS 250 8BITMIME\n" SEND,
    TRUE, "+resolve +connect +greeting +encrypt +send" },
};

static HeraldSmtpConfig *
make_config (const Scenario *scenario,
             guint16         port)
{
  HeraldSmtpConfig *config = herald_smtp_config_new ();

  config->host = g_strdup ("localhost");
  config->port = port;
  config->security = scenario->security;
  config->auth = HERALD_AUTH_NONE;
  config->from = g_strdup (FROM);
  config->to = g_new0 (char *, 2);
  config->to[0] = g_strdup (TO);
  config->ca_file = g_build_filename (certdir, "ca.pem", NULL);
  config->helo_name = g_strdup (HELO);
  config->connect_timeout = 5;
  config->reply_timeout = 5;

  return config;
}

static void
progress_cb (const HeraldProgress *progress,
             gpointer              user_data)
{
  herald_step_list_update (user_data, progress);
}

/* The window's side: "+name"/"-name" for each row that passed or failed,
 * top to bottom. */
static char *
window_steps (const Scenario *scenario,
              guint16         port)
{
  HeraldStepList *list = HERALD_STEP_LIST (g_object_ref_sink (herald_step_list_new ()));
  g_autoptr(HeraldSmtpConfig) config = make_config (scenario, port);
  g_autoptr(HeraldSmtpResult) result = NULL;
  g_autoptr(GString) out = g_string_new (NULL);

  herald_step_list_set_security (list, scenario->security);
  result = herald_smtp_run (config, NULL, progress_cb, list);
  g_assert_cmpint (result->ok, ==, scenario->ok);
  herald_step_list_finish (list, result);

  for (guint i = 0; i < HERALD_N_STEPS; i++)
    {
      HeraldStep step = herald_step_list_get_step_at (list, i);
      HeraldStepRowState state = herald_step_list_get_state (list, step);

      g_assert_cmpint (step, !=, HERALD_STEP_NONE);
      /* The row shows the model's title. */
      g_assert_cmpstr (herald_step_list_get_title (list, step), ==, herald_step_get_title (step));
      if (state == HERALD_STEP_STATE_DONE || state == HERALD_STEP_STATE_FAILED)
        g_string_append_printf (out, "%s%c%s", out->len ? " " : "",
                                state == HERALD_STEP_STATE_DONE ? '+' : '-',
                                herald_step_to_string (step));
    }
  g_assert_null (herald_step_list_get_step_at (list, HERALD_N_STEPS) != HERALD_STEP_NONE
                 ? "a row too many" : NULL);

  g_assert_finalize_object (list);
  return g_string_free (g_steal_pointer (&out), FALSE);
}

/* heraldctl's side: its step lines ("  ✓ Greeting  3 ms", "  ✗ Encrypt
 * (TLS)  5 ms"), top to bottom, in the same notation. */
static char *
heraldctl_steps (const Scenario *scenario,
                 guint16         port)
{
  g_autofree char *port_text = g_strdup_printf ("%u", port);
  g_autofree char *ca = g_build_filename (certdir, "ca.pem", NULL);
  const char *argv[] = {
    HERALDCTL, "test", "--server", "localhost", "--port", port_text,
    "--security", herald_security_to_string (scenario->security), "--auth", "none",
    "--from", FROM, "--to", TO, "--ca-file", ca, "--timeout", "5", NULL
  };
  g_autoptr(GSubprocessLauncher) launcher = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDOUT_PIPE |
                                                                       G_SUBPROCESS_FLAGS_STDERR_PIPE);
  g_autoptr(GSubprocess) process = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *stdout_text = NULL;
  g_autofree char *stderr_text = NULL;
  g_auto(GStrv) lines = NULL;
  g_autoptr(GString) out = g_string_new (NULL);

  /* UTF-8 marks, whatever the locale of the test run. */
  g_subprocess_launcher_setenv (launcher, "LC_ALL", "C.UTF-8", TRUE);
  process = g_subprocess_launcher_spawnv (launcher, argv, &error);
  g_assert_no_error (error);
  g_subprocess_communicate_utf8 (process, NULL, NULL, &stdout_text, &stderr_text, &error);
  g_assert_no_error (error);
  g_test_message ("heraldctl:\n%s%s", stdout_text, stderr_text);
  g_assert_cmpint (g_subprocess_get_exit_status (process), ==, scenario->ok ? 0 : 1);

  lines = g_strsplit (stdout_text, "\n", -1);
  for (guint i = 0; lines[i] != NULL; i++)
    {
      const char *line = lines[i];
      gboolean passed;

      if (g_str_has_prefix (line, "  ✓ "))
        passed = TRUE;
      else if (g_str_has_prefix (line, "  ✗ "))
        passed = FALSE;
      else
        continue;

      line += strlen ("  ✓ ");
      for (HeraldStep step = 0; step < HERALD_N_STEPS; step++)
        {
          const char *title = herald_step_get_title (step);

          if (g_str_has_prefix (line, title) && g_str_has_prefix (line + strlen (title), "  "))
            {
              g_string_append_printf (out, "%s%c%s", out->len ? " " : "", passed ? '+' : '-',
                                      herald_step_to_string (step));
              break;
            }
        }
    }

  return g_string_free (g_steal_pointer (&out), FALSE);
}

static void
test_same_steps (gconstpointer data)
{
  const Scenario *scenario = data;
  g_autoptr(HeraldFakeServer) server = NULL;
  g_autofree char *window = NULL;
  g_autofree char *cli = NULL;
  guint16 port;

  g_autoptr(GError) error = NULL;
  g_autofree char *pem = g_strdup_printf ("%s/%s.pem", certdir, scenario->cert);
  g_autofree char *key = g_strdup_printf ("%s/%s-key.pem", certdir, scenario->cert);

  /* One connection for the window's run, one for heraldctl's. */
  server = herald_fake_server_new_from_script (scenario->script);
  herald_fake_server_set_tls (server, pem, key, scenario->security == HERALD_SECURITY_TLS, &error);
  g_assert_no_error (error);
  herald_fake_server_set_connections (server, 2);
  port = herald_fake_server_start (server, &error);
  g_assert_no_error (error);

  window = window_steps (scenario, port);
  cli = heraldctl_steps (scenario, port);

  g_assert_cmpstr (window, ==, scenario->want);
  g_assert_cmpstr (cli, ==, window);
}

int
main (int   argc,
      char *argv[])
{
  gtk_test_init (&argc, &argv, NULL);
  adw_init ();
  certdir = herald_test_make_certs ("ui/steps-certs");

  for (guint i = 0; i < G_N_ELEMENTS (scenarios); i++)
    {
      g_autofree char *path = g_strconcat ("/herald/ui/steps-shared/", scenarios[i].name, NULL);

      g_test_add_data_func (path, &scenarios[i], test_same_steps);
    }

  return g_test_run ();
}
