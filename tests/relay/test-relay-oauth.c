/* SPDX-License-Identifier: GPL-3.0-or-later
 * Copyright 2026 The Herald authors
 */
#define G_LOG_DOMAIN "herald-test"

#include "config.h"

#include <signal.h>
#include <string.h>
#include <unistd.h>

#include "fake-idp.h"
#include "herald-test-heraldctl.h"
#include "herald-test-util.h"

/* The relay's reason to be: a device that only knows a user name and a
 * password submits to Herald, and Herald delivers upstream with OAuth 2.0
 * (XOAUTH2). As a server runs it: heraldctl-systest as root signs in with a
 * device code against the in-process identity provider (tokens in root's
 * store), the relay runs as an unprivileged uid (setpriv) and takes the
 * device's message with AUTH LOGIN over STARTTLS (Python's smtplib, the
 * relay's certificate verified), root's runner delivers it from the
 * maildrop to the fake SMTP server, which sees AUTH XOAUTH2 with the
 * provider's access token and never the device's password. */

#define RELAY_UID "64993"
#define DEVICE_PASSWORD "Printer-Pass-7f3a9c"

static char *root;
static char *cert_dir;

/* What no output and no file of the test tree may hold. */
static const char * const secrets[] = { FAKE_IDP_TOKEN_PREFIX, DEVICE_PASSWORD, NULL };
static HeraldTestHeraldctl ctl = { .secrets = secrets };

static GSubprocessLauncher *
launcher_new (GSubprocessFlags flags)
{
  GSubprocessLauncher *launcher = herald_test_server_launcher_new (flags);

  g_subprocess_launcher_unsetenv (launcher, "LISTEN_FDS");
  g_subprocess_launcher_unsetenv (launcher, "LISTEN_PID");
  g_subprocess_launcher_setenv (launcher, "HERALD_TEST_RELAY_ACCOUNT", RELAY_UID ":" RELAY_UID,
                                TRUE);
  g_subprocess_launcher_set_cwd (launcher, "/");
  return launcher;
}

/* A LAN device (127.0.0.2): STARTTLS with the relay's certificate checked,
 * AUTH LOGIN with its device user, one message. */
static const char device_script[] =
  "import smtplib, ssl, sys\n"
  "port, cafile, subject = int(sys.argv[1]), sys.argv[2], sys.argv[3]\n"
  "password = sys.stdin.readline().rstrip('\\n')\n"
  "tls = ssl.create_default_context(cafile=cafile)\n"
  "with smtplib.SMTP('127.0.0.1', port, timeout=30, source_address=('127.0.0.2', 0)) as c:\n"
  "    c.ehlo('printer')\n"
  "    c.starttls(context=tls)\n"
  "    c.ehlo('printer')\n"
  "    c.login('printer', password)\n"
  "    c.sendmail('scanner@printer.lan', ['it@contoso.example'],\n"
  "               ('From: Printer <scanner@printer.lan>\\r\\nTo: it@contoso.example\\r\\n'\n"
  "                'Subject: ' + subject + '\\r\\n\\r\\nToner low.\\r\\n').encode())\n"
  "print('accepted')\n";

static void
test_relay_oauth (void)
{
  g_autoptr(FakeIdp) idp = fake_idp_new ();
  g_autoptr(HeraldFakeServer) srv = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *relay_cert = g_build_filename (root, "var", "lib", "herald-relay", "cert.pem",
                                                  NULL);
  g_autofree char *relay_port = NULL;
  g_autofree char *token = NULL;
  g_autofree char *pattern = NULL;
  g_autoptr(GSubprocess) relay = NULL;
  g_autoptr(GDataInputStream) relay_out = NULL;
  g_autoptr(GString) relay_lines = g_string_new (NULL);
  g_auto(HeraldTestRun) device = { 0 };
  const char *subject = "relay-oauth toner";

  /* Upstream: XOAUTH2 only, the way Microsoft 365 is reached with OAuth. */
  srv = herald_test_xoauth2_system_profile (&ctl, root, cert_dir, "ops@contoso.example");
  {
    const char *settings[] = { "relay-allow-unauthenticated", "127.0.0.1/32", NULL };

    herald_test_heraldctl_config_system (&ctl, settings);
  }
  fake_idp_set_device_script (idp, "authorization_pending,ok", 1, 900);
  {
    const char *args[] = { "login", "--system", "--provider", "microsoft",
                           "--user", "ops@contoso.example", "--client-id", FAKE_IDP_CLIENT_ID,
                           "--tenant", FAKE_IDP_TENANT, "--authority", fake_idp_get_authority (idp),
                           "--device", NULL };

    herald_test_heraldctl_ok (&ctl, "", args);
  }
  {
    const char *args[] = { "relay", "--system", "user", "add", "printer", "--password-stdin",
                           NULL };

    herald_test_heraldctl_ok (&ctl, DEVICE_PASSWORD "\n", args);
  }
  {
    const char *args[] = { "relay", "--system", "--prepare", NULL };

    herald_test_heraldctl_ok (&ctl, "", args);
  }

  /* The relay, as its own unprivileged user. */
  {
    g_autoptr(GSubprocessLauncher) launcher =
      launcher_new (G_SUBPROCESS_FLAGS_STDOUT_PIPE | G_SUBPROCESS_FLAGS_STDERR_SILENCE);
    const char *argv[] = { "setpriv", "--reuid=" RELAY_UID, "--regid=" RELAY_UID,
                           "--clear-groups", ctl.program, "relay", "--system", "--listen",
                           "127.0.0.1:0", NULL };

    relay = g_subprocess_launcher_spawnv (launcher, argv, &error);
    g_assert_no_error (error);
  }
  relay_out = g_data_input_stream_new (g_subprocess_get_stdout_pipe (relay));
  for (;;)
    {
      g_autofree char *line = g_data_input_stream_read_line_utf8 (relay_out, NULL, NULL, &error);

      g_assert_no_error (error);
      if (line == NULL)
        g_error ("the relay stopped before it was ready:\n%s", relay_lines->str);
      g_string_append_printf (relay_lines, "%s\n", line);
      if (strstr (line, "listening on 127.0.0.1:") != NULL)
        relay_port = g_strdup (strrchr (line, ':') + 1);
      if (g_str_has_prefix (line, "Handing messages to the Herald service"))
        break;
    }
  g_assert_nonnull (relay_port);

  /* The device: a password, over TLS. */
  {
    const char *argv[] = { "python3", "-c", device_script, relay_port, relay_cert, subject,
                           NULL };

    herald_test_run_argv (&device, ctl.launcher, argv, DEVICE_PASSWORD "\n", secrets);
    g_assert_cmpint (device.status, ==, 0);
    g_assert_cmpstr (device.out, ==, "accepted\n");
  }

  /* Root's runner (herald-queue.path starts it): from the maildrop to the
   * provider, with the access token. */
  {
    const char *args[] = { "queue", "--system", "flush", "--quiet", NULL };

    herald_test_heraldctl_ok (&ctl, "", args);
  }
  g_assert_true (herald_fake_server_wait (srv, 20000));
  {
    g_autofree char *failure = herald_fake_server_get_failure (srv);

    g_assert_null (failure);
  }
  token = fake_idp_get_current_access_token (idp);
  pattern = herald_test_xoauth2_pattern ("ops@contoso.example", token);
  g_assert_true (herald_fake_server_received_matches (srv, pattern));
  g_assert_true (herald_fake_server_received_matches (srv, "Subject: relay-oauth toner"));
  g_assert_true (herald_fake_server_received_matches (srv, "RCPT TO:<it@contoso\\.example>.*"));
  g_assert_false (herald_fake_server_received_matches (srv, "AUTH (PLAIN|LOGIN).*"));
  g_assert_false (herald_fake_server_received_matches (srv, ".*" DEVICE_PASSWORD ".*"));
  {
    g_autofree char *b64 = g_base64_encode ((const guchar *) DEVICE_PASSWORD,
                                            strlen (DEVICE_PASSWORD));

    g_assert_false (herald_fake_server_received_matches (srv, b64));
  }

  g_subprocess_send_signal (relay, SIGTERM);
  g_assert_true (g_subprocess_wait (relay, NULL, &error));
  g_assert_no_error (error);
  {
    g_autofree char *rest = NULL;

    rest = g_data_input_stream_read_upto (relay_out, "", 0, NULL, NULL, NULL);
    if (rest != NULL)
      g_string_append (relay_lines, rest);
  }
  g_test_message ("relay:\n%s", relay_lines->str);
  g_assert_nonnull (strstr (relay_lines->str, "(device user printer)"));
  herald_test_assert_no_secret (relay_lines->str, secrets);
  herald_test_assert_no_secret_under (root, secrets);
  herald_fake_server_stop (srv);
}

int
main (int    argc,
      char **argv)
{
  const char *build_dir = g_getenv ("HERALD_BUILD_DIR");
  const char *source_dir = g_getenv ("HERALD_SOURCE_DIR");
  g_autofree char *heraldctl = NULL;
  int ret;

  g_test_init (&argc, &argv, NULL);
  g_assert_nonnull (build_dir);
  g_assert_nonnull (source_dir);
  g_assert_cmpint (argc, ==, 3);
  /* The children run in / (no build tree in their way). */
  heraldctl = g_canonicalize_filename (argv[1], NULL);
  ctl.program = heraldctl;
  ctl.launcher = launcher_new (G_SUBPROCESS_FLAGS_STDOUT_PIPE | G_SUBPROCESS_FLAGS_STDERR_PIPE |
                               G_SUBPROCESS_FLAGS_STDIN_PIPE);
  root = g_strdup (argv[2]);
  cert_dir = herald_test_make_certs ("relay/certs-relay-oauth");

  if (geteuid () != 0)
    {
      g_printerr ("the system relay tests run as root (CI and herald-dev test do)\n");
      return 1;
    }

  g_test_add_func ("/herald/relay/device-password-in-xoauth2-out", test_relay_oauth);
  ret = g_test_run ();
  g_clear_object (&ctl.launcher);
  g_free (root);
  g_free (cert_dir);
  return ret;
}
