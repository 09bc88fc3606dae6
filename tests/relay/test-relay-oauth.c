/* SPDX-License-Identifier: GPL-3.0-or-later
 * Copyright 2026 The Herald authors
 */
#define G_LOG_DOMAIN "herald-test"

#include "config.h"

#include <glib/gstdio.h>
#include <signal.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fake-idp.h"
#include "herald-fake-server.h"

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

static char *heraldctl;
static char *root;
static char *cert_dir;

typedef struct {
  int status;
  char *out;
  char *err;
} Run;

static void
run_clear (Run *run)
{
  g_free (run->out);
  g_free (run->err);
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (Run, run_clear)

static GSubprocessLauncher *
launcher_new (GSubprocessFlags flags)
{
  GSubprocessLauncher *launcher = g_subprocess_launcher_new (flags);

  /* A server: no session bus, no display. */
  g_subprocess_launcher_unsetenv (launcher, "DBUS_SESSION_BUS_ADDRESS");
  g_subprocess_launcher_unsetenv (launcher, "DISPLAY");
  g_subprocess_launcher_unsetenv (launcher, "LISTEN_FDS");
  g_subprocess_launcher_unsetenv (launcher, "LISTEN_PID");
  g_subprocess_launcher_setenv (launcher, "XDG_RUNTIME_DIR", "/nonexistent", TRUE);
  g_subprocess_launcher_setenv (launcher, "LC_ALL", "C.UTF-8", TRUE);
  g_subprocess_launcher_setenv (launcher, "HERALD_TEST_RELAY_ACCOUNT", RELAY_UID ":" RELAY_UID,
                                TRUE);
  g_subprocess_launcher_set_cwd (launcher, "/");
  return launcher;
}

static void
assert_no_secret (const char *text)
{
  g_assert_null (strstr (text, FAKE_IDP_TOKEN_PREFIX));
  g_assert_null (strstr (text, DEVICE_PASSWORD));
}

static void
run_argv (Run                *run,
          const char * const *argv,
          const char         *input)
{
  g_autoptr(GSubprocessLauncher) launcher =
    launcher_new (G_SUBPROCESS_FLAGS_STDOUT_PIPE | G_SUBPROCESS_FLAGS_STDERR_PIPE |
                  G_SUBPROCESS_FLAGS_STDIN_PIPE);
  g_autoptr(GSubprocess) proc = NULL;
  g_autoptr(GError) error = NULL;

  proc = g_subprocess_launcher_spawnv (launcher, argv, &error);
  g_assert_no_error (error);
  g_assert_true (g_subprocess_communicate_utf8 (proc, input, NULL, &run->out, &run->err, &error));
  g_assert_no_error (error);
  run->status = g_subprocess_get_if_exited (proc) ? g_subprocess_get_exit_status (proc) : -1;
  g_test_message ("%s %s %s → %d\n--- stdout\n%s--- stderr\n%s", argv[0], argv[1],
                  argv[2] != NULL ? argv[2] : "", run->status, run->out, run->err);
  assert_no_secret (run->out);
  assert_no_secret (run->err);
}

static void
heraldctl_ok_input (const char * const *args,
                    const char         *input)
{
  g_autoptr(GPtrArray) argv = g_ptr_array_new ();
  g_auto(Run) run = { 0 };

  g_ptr_array_add (argv, heraldctl);
  for (guint i = 0; args[i] != NULL; i++)
    g_ptr_array_add (argv, (char *) args[i]);
  g_ptr_array_add (argv, NULL);
  run_argv (&run, (const char * const *) argv->pdata, input);
  g_assert_cmpint (run.status, ==, 0);
}

static void
heraldctl_ok (const char * const *args)
{
  heraldctl_ok_input (args, "");
}

static void
reset_root (void)
{
  g_autofree char *etc = g_build_filename (root, "etc", NULL);
  g_autofree char *var = g_build_filename (root, "var", NULL);
  const char *rm[] = { "rm", "-rf", root, NULL };
  int status;

  g_assert_true (g_spawn_sync (NULL, (char **) rm, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL, NULL,
                               NULL, &status, NULL));
  g_assert_cmpint (g_mkdir_with_parents (etc, 0755), ==, 0);
  g_assert_cmpint (g_mkdir_with_parents (var, 0755), ==, 0);
  g_assert_cmpint (g_chmod (root, 0755), ==, 0);
}

/* Every file under the test tree: neither a token nor the device's
 * password in plain text. */
static void
assert_no_secret_under (const char *dir)
{
  g_autoptr(GDir) d = g_dir_open (dir, 0, NULL);
  const char *name;

  if (d == NULL)
    return;
  while ((name = g_dir_read_name (d)) != NULL)
    {
      g_autofree char *path = g_build_filename (dir, name, NULL);
      struct stat st;

      if (lstat (path, &st) != 0)
        continue;
      if (S_ISDIR (st.st_mode))
        assert_no_secret_under (path);
      else if (S_ISREG (st.st_mode))
        {
          g_autofree char *data = NULL;
          gsize length = 0;

          g_assert_true (g_file_get_contents (path, &data, &length, NULL));
          if (g_strstr_len (data, (gssize) length, FAKE_IDP_TOKEN_PREFIX) != NULL ||
              g_strstr_len (data, (gssize) length, DEVICE_PASSWORD) != NULL)
            g_error ("a secret in plain text in %s", path);
        }
    }
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
  g_autofree char *cert = g_build_filename (cert_dir, "localhost.pem", NULL);
  g_autofree char *key = g_build_filename (cert_dir, "localhost-key.pem", NULL);
  g_autofree char *ca = g_build_filename (cert_dir, "ca.pem", NULL);
  g_autofree char *relay_cert = g_build_filename (root, "var", "lib", "herald-relay", "cert.pem",
                                                  NULL);
  g_autofree char *port = NULL;
  g_autofree char *relay_port = NULL;
  g_autofree char *token = NULL;
  g_autofree char *pattern = NULL;
  g_autoptr(GSubprocess) relay = NULL;
  g_autoptr(GDataInputStream) relay_out = NULL;
  g_autoptr(GString) relay_lines = g_string_new (NULL);
  g_auto(Run) device = { 0 };
  const char *subject = "relay-oauth toner";

  reset_root ();
  /* Upstream: XOAUTH2 only, the way Microsoft 365 is reached with OAuth. */
  srv = herald_fake_server_new_from_script (
    "S 220 fake.example ESMTP\nC EHLO .*\nS 250-fake.example\nS 250 STARTTLS\n"
    "C STARTTLS\nS 220 2.0.0 go ahead\nSTARTTLS\nC EHLO .*\nS 250-fake.example\n"
    "S 250 AUTH XOAUTH2\nC AUTH XOAUTH2\nS 334 \nC .*\nS 235 2.7.0 Accepted\nLOOP-UNTIL-QUIT\n");
  g_assert_true (herald_fake_server_set_tls (srv, cert, key, FALSE, &error));
  g_assert_no_error (error);
  port = g_strdup_printf ("%u", herald_fake_server_start (srv, &error));
  g_assert_no_error (error);

  {
    const char *settings[][2] = {
      { "server", "localhost" }, { "port", port }, { "security", "starttls" },
      { "auth", "xoauth2" }, { "username", "ops@contoso.example" },
      { "from", "ops@contoso.example" }, { "to", "admin@contoso.example" },
      { "ca-file", ca }, { "timeout", "20" }, { "alerts-enabled", "true" },
      { "relay-allow-unauthenticated", "127.0.0.1/32" },
    };

    for (guint i = 0; i < G_N_ELEMENTS (settings); i++)
      {
        const char *args[] = { "config", "--system", "set", settings[i][0], settings[i][1], NULL };

        heraldctl_ok (args);
      }
  }
  fake_idp_set_device_script (idp, "authorization_pending,ok", 1, 900);
  {
    const char *args[] = { "login", "--system", "--provider", "microsoft",
                           "--user", "ops@contoso.example", "--client-id", FAKE_IDP_CLIENT_ID,
                           "--tenant", FAKE_IDP_TENANT, "--authority", fake_idp_get_authority (idp),
                           "--device", NULL };

    heraldctl_ok (args);
  }
  {
    const char *args[] = { "relay", "--system", "user", "add", "printer", "--password-stdin",
                           NULL };

    heraldctl_ok_input (args, DEVICE_PASSWORD "\n");
  }
  {
    const char *args[] = { "relay", "--system", "--prepare", NULL };

    heraldctl_ok (args);
  }

  /* The relay, as its own unprivileged user. */
  {
    g_autoptr(GSubprocessLauncher) launcher =
      launcher_new (G_SUBPROCESS_FLAGS_STDOUT_PIPE | G_SUBPROCESS_FLAGS_STDERR_SILENCE);
    const char *argv[] = { "setpriv", "--reuid=" RELAY_UID, "--regid=" RELAY_UID,
                           "--clear-groups", heraldctl, "relay", "--system", "--listen",
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

    run_argv (&device, argv, DEVICE_PASSWORD "\n");
    g_assert_cmpint (device.status, ==, 0);
    g_assert_cmpstr (device.out, ==, "accepted\n");
  }

  /* Root's runner (herald-queue.path starts it): from the maildrop to the
   * provider, with the access token. */
  {
    const char *args[] = { "queue", "--system", "flush", "--quiet", NULL };

    heraldctl_ok (args);
  }
  g_assert_true (herald_fake_server_wait (srv, 20000));
  {
    g_autofree char *failure = herald_fake_server_get_failure (srv);

    g_assert_null (failure);
  }
  token = fake_idp_get_current_access_token (idp);
  {
    g_autofree char *raw = g_strdup_printf ("user=ops@contoso.example\001auth=Bearer %s\001\001",
                                            token);
    g_autofree char *b64 = g_base64_encode ((const guchar *) raw, strlen (raw));

    pattern = g_regex_escape_string (b64, -1);
  }
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
  assert_no_secret (relay_lines->str);
  assert_no_secret_under (root);
  herald_fake_server_stop (srv);
}

int
main (int    argc,
      char **argv)
{
  const char *build_dir = g_getenv ("HERALD_BUILD_DIR");
  const char *source_dir = g_getenv ("HERALD_SOURCE_DIR");
  g_autofree char *certs_script = NULL;
  g_autoptr(GError) error = NULL;
  int status = 0;
  int ret;

  g_test_init (&argc, &argv, NULL);
  g_assert_nonnull (build_dir);
  g_assert_nonnull (source_dir);
  g_assert_cmpint (argc, ==, 3);
  /* The children run in / (no build tree in their way). */
  heraldctl = g_canonicalize_filename (argv[1], NULL);
  root = g_strdup (argv[2]);
  cert_dir = g_build_filename (build_dir, "tests", "relay", "certs-relay-oauth", NULL);
  certs_script = g_build_filename (source_dir, "tests", "fixtures", "make-test-certs.sh", NULL);
  {
    const char *args[] = { certs_script, cert_dir, NULL };

    g_assert_true (g_spawn_sync (NULL, (char **) args, NULL, G_SPAWN_STDOUT_TO_DEV_NULL, NULL, NULL,
                                 NULL, NULL, &status, &error));
    g_assert_true (g_spawn_check_wait_status (status, &error));
  }

  if (geteuid () != 0)
    {
      g_printerr ("the system relay tests run as root (CI and herald-dev test do)\n");
      return 1;
    }

  g_test_add_func ("/herald/relay/device-password-in-xoauth2-out", test_relay_oauth);
  ret = g_test_run ();
  g_free (heraldctl);
  g_free (root);
  g_free (cert_dir);
  return ret;
}
