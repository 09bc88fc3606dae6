/* SPDX-License-Identifier: GPL-3.0-or-later
 * Copyright 2026 The Herald authors
 */
#define G_LOG_DOMAIN "herald-test"

#include "config.h"

#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fake-idp.h"
#include "herald-fake-server.h"
#include "herald-profile.h"
#include "herald-secrets-oauth.h"

/* OAuth in system scope, as a server runs it: as root, with no session bus
 * (so no keyring could be used even by mistake), heraldctl-systest signs in
 * with a device code against the in-process identity provider, keeps the
 * tokens in root's store under the test tree, delivers with a refreshed
 * token (the rotated refresh token stored each time), keeps an idle sign-in
 * alive from the queue run, lets doctor warn ahead of the 90 days, and signs
 * out. */

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

static void
assert_no_token (const char *text)
{
  g_assert_null (strstr (text, FAKE_IDP_TOKEN_PREFIX));
}

static void
run_heraldctl_input (Run                *run,
                     const char * const *args,
                     const char         *input)
{
  g_autoptr(GSubprocessLauncher) launcher =
    g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDOUT_PIPE | G_SUBPROCESS_FLAGS_STDERR_PIPE |
                               G_SUBPROCESS_FLAGS_STDIN_PIPE);
  g_autoptr(GPtrArray) argv = g_ptr_array_new ();
  g_autoptr(GSubprocess) proc = NULL;
  g_autoptr(GError) error = NULL;

  /* A server: no session bus, no display. */
  g_subprocess_launcher_unsetenv (launcher, "DBUS_SESSION_BUS_ADDRESS");
  g_subprocess_launcher_unsetenv (launcher, "DISPLAY");
  g_subprocess_launcher_setenv (launcher, "XDG_RUNTIME_DIR", "/nonexistent", TRUE);
  g_subprocess_launcher_setenv (launcher, "LC_ALL", "C.UTF-8", TRUE);
  g_ptr_array_add (argv, heraldctl);
  for (guint i = 0; args[i] != NULL; i++)
    g_ptr_array_add (argv, (char *) args[i]);
  g_ptr_array_add (argv, NULL);
  proc = g_subprocess_launcher_spawnv (launcher, (const char * const *) argv->pdata, &error);
  g_assert_no_error (error);
  g_assert_true (g_subprocess_communicate_utf8 (proc, input, NULL, &run->out, &run->err, &error));
  g_assert_no_error (error);
  run->status = g_subprocess_get_if_exited (proc) ? g_subprocess_get_exit_status (proc) : -1;
  g_test_message ("heraldctl %s %s → %d\n--- stdout\n%s--- stderr\n%s", args[0],
                  args[1] != NULL ? args[1] : "", run->status, run->out, run->err);
  assert_no_token (run->out);
  assert_no_token (run->err);
}

static void
run_heraldctl (Run                *run,
               const char * const *args)
{
  run_heraldctl_input (run, args, "");
}

static void
heraldctl_ok (const char * const *args)
{
  g_auto(Run) run = { 0 };

  run_heraldctl (&run, args);
  g_assert_cmpint (run.status, ==, 0);
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
}

/* Every file under the test tree, read: none may hold a token in plain text. */
static void
assert_no_token_under (const char *dir)
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
        assert_no_token_under (path);
      else if (S_ISREG (st.st_mode))
        {
          g_autofree char *data = NULL;
          gsize length = 0;

          g_assert_true (g_file_get_contents (path, &data, &length, NULL));
          if (g_strstr_len (data, (gssize) length, FAKE_IDP_TOKEN_PREFIX) != NULL)
            g_error ("a token in plain text in %s", path);
        }
    }
}

/* The tokens as root's store has them (this test runs as root). */
static HeraldOAuthTokens *
stored_tokens (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(HeraldProfile) profile = herald_profile_new_system (FALSE, &error);
  HeraldOAuthTokens *tokens;

  g_assert_no_error (error);
  tokens = herald_oauth_tokens_lookup_sync ("microsoft", "ops@contoso.example", FAKE_IDP_CLIENT_ID,
                                            NULL, &error);
  g_assert_no_error (error);
  return tokens;
}

static void
set_token_age (gint64 days)
{
  g_autofree char *path = g_build_filename (root, "var", "lib", "herald", "token-health.conf",
                                            NULL);
  g_autofree char *text = g_strdup_printf ("[oauth]\nrefreshed=%" G_GINT64_FORMAT "\n",
                                           g_get_real_time () / G_USEC_PER_SEC - days * 24 * 3600);

  g_assert_true (g_file_set_contents (path, text, -1, NULL));
}

static const char *
doctor_status (const char *json,
               const char *id)
{
  static char status[16];
  g_autoptr(JsonParser) parser = json_parser_new ();
  JsonArray *checks;

  g_assert_true (json_parser_load_from_data (parser, json, -1, NULL));
  checks = json_object_get_array_member (json_node_get_object (json_parser_get_root (parser)),
                                         "checks");
  for (guint i = 0; i < json_array_get_length (checks); i++)
    {
      JsonObject *c = json_array_get_object_element (checks, i);

      if (g_str_equal (json_object_get_string_member (c, "id"), id))
        {
          g_strlcpy (status, json_object_get_string_member (c, "status"), sizeof status);
          return status;
        }
    }
  return "absent";
}

static void
test_system_oauth (void)
{
  g_autoptr(FakeIdp) idp = fake_idp_new ();
  g_autoptr(HeraldFakeServer) srv = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *cert = g_build_filename (cert_dir, "localhost.pem", NULL);
  g_autofree char *key = g_build_filename (cert_dir, "localhost-key.pem", NULL);
  g_autofree char *ca = g_build_filename (cert_dir, "ca.pem", NULL);
  g_autofree char *port = NULL;
  g_autoptr(HeraldOAuthTokens) after_login = NULL;
  g_autoptr(HeraldOAuthTokens) after_send = NULL;
  g_autoptr(HeraldOAuthTokens) after_idle = NULL;
  g_autofree char *token = NULL;
  g_autofree char *b64 = NULL;
  g_autofree char *pattern = NULL;
  g_autofree char *state = g_build_filename (root, "var", "lib", "herald", NULL);
  g_auto(Run) doctor = { 0 };
  g_auto(Run) doctor_idle = { 0 };
  g_auto(Run) doctor_dead = { 0 };
  g_auto(Run) send = { 0 };
  guint refreshes;

  reset_root ();
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
    };

    for (guint i = 0; i < G_N_ELEMENTS (settings); i++)
      {
        const char *args[] = { "config", "--system", "set", settings[i][0], settings[i][1], NULL };

        heraldctl_ok (args);
      }
  }

  /* Device-code sign-in, tokens that are about to expire. */
  fake_idp_set_expires_in (idp, 5);
  fake_idp_set_device_script (idp, "authorization_pending,ok", 1, 900);
  {
    const char *args[] = { "login", "--system", "--provider", "microsoft",
                           "--user", "ops@contoso.example", "--client-id", FAKE_IDP_CLIENT_ID,
                           "--tenant", FAKE_IDP_TENANT, "--authority", fake_idp_get_authority (idp),
                           "--device", NULL };
    g_auto(Run) login = { 0 };

    run_heraldctl (&login, args);
    g_assert_cmpint (login.status, ==, 0);
    /* Where the tokens really are: root's store, never "the keyring". */
    g_assert_nonnull (strstr (login.out, "The tokens are in root's credential store"));
    g_assert_nonnull (strstr (login.out, state));
    g_assert_null (strstr (login.out, "keyring"));
  }
  after_login = stored_tokens ();
  g_assert_nonnull (after_login);
  g_assert_cmpstr (after_login->refresh_token, ==, fake_idp_get_current_refresh_token (idp));
  /* The account went to the system profile, for the next runs. */
  {
    g_autofree char *conf = g_build_filename (root, "etc", "herald", "herald.conf", NULL);
    g_autofree char *text = NULL;

    g_assert_true (g_file_get_contents (conf, &text, NULL, NULL));
    g_assert_nonnull (strstr (text, "oauth-client-id=" FAKE_IDP_CLIENT_ID));
    g_assert_nonnull (strstr (text, fake_idp_get_authority (idp)));
  }
  assert_no_token_under (root);
  {
    const char *args[] = { "doctor", "--system", "--json", NULL };

    run_heraldctl (&doctor, args);
    g_assert_cmpstr (doctor_status (doctor.out, "credential"), ==, "ok");
    g_assert_cmpstr (doctor_status (doctor.out, "token"), ==, "ok");
  }

  /* Delivery: the access token has expired, so the send refreshes it, the
   * provider rotates the refresh token, and the new one is stored. */
  g_usleep (6 * G_USEC_PER_SEC);
  refreshes = fake_idp_get_n_refreshes (idp);
  {
    const char *args[] = { "send", "--subject", "system oauth", NULL };

    g_autofree char *failure = NULL;

    run_heraldctl_input (&send, args, "The disk is almost full.\n");
    failure = herald_fake_server_get_failure (srv);
    g_test_message ("fake server: %s", failure != NULL ? failure : "no failure");
    g_assert_cmpint (send.status, ==, 0);
    g_assert_cmpstr (send.err, ==, "");
  }
  g_assert_cmpuint (fake_idp_get_n_refreshes (idp), ==, refreshes + 1);
  token = fake_idp_get_current_access_token (idp);
  {
    g_autofree char *raw = g_strdup_printf ("user=ops@contoso.example\001auth=Bearer %s\001\001",
                                            token);

    b64 = g_base64_encode ((const guchar *) raw, strlen (raw));
  }
  pattern = g_regex_escape_string (b64, -1);
  g_assert_true (herald_fake_server_received_matches (srv, pattern));
  after_send = stored_tokens ();
  g_assert_cmpstr (after_send->refresh_token, ==, fake_idp_get_current_refresh_token (idp));
  g_assert_cmpstr (after_send->refresh_token, !=, after_login->refresh_token);
  assert_no_token_under (root);

  /* Token health: a queue run with nothing to send leaves a fresh sign-in
   * alone, refreshes one idle for 30 days, and doctor warns from 60 days. */
  fake_idp_set_expires_in (idp, 3600);
  {
    const char *args[] = { "queue", "--system", "flush", "--quiet", NULL };

    refreshes = fake_idp_get_n_refreshes (idp);
    heraldctl_ok (args);
    g_assert_cmpuint (fake_idp_get_n_refreshes (idp), ==, refreshes);
    set_token_age (31);
    heraldctl_ok (args);
    g_assert_cmpuint (fake_idp_get_n_refreshes (idp), ==, refreshes + 1);
  }
  after_idle = stored_tokens ();
  g_assert_cmpstr (after_idle->refresh_token, ==, fake_idp_get_current_refresh_token (idp));
  {
    const char *args[] = { "doctor", "--system", "--json", NULL };

    set_token_age (70);
    run_heraldctl (&doctor_idle, args);
    g_assert_cmpstr (doctor_status (doctor_idle.out, "token"), ==, "warn");
    g_assert_nonnull (strstr (doctor_idle.out, "AADSTS700082"));
    set_token_age (100);
    run_heraldctl (&doctor_dead, args);
    g_assert_cmpstr (doctor_status (doctor_dead.out, "token"), ==, "fail");
    g_assert_cmpint (doctor_dead.status, ==, 1);
  }

  /* Sign-out: the tokens leave root's store. */
  {
    const char *args[] = { "logout", "--system", "--provider", "microsoft",
                           "--user", "ops@contoso.example", "--client-id", FAKE_IDP_CLIENT_ID,
                           NULL };
    g_autoptr(HeraldOAuthTokens) gone = NULL;
    g_auto(Run) logout = { 0 };

    run_heraldctl (&logout, args);
    g_assert_cmpint (logout.status, ==, 0);
    g_assert_nonnull (strstr (logout.out, "no longer in root's credential store"));
    g_assert_null (strstr (logout.out, "keyring"));
    gone = stored_tokens ();
    g_assert_null (gone);
  }
  {
    g_autoptr(GDir) d = g_dir_open (state, 0, NULL);
    const char *name;

    g_assert_nonnull (d);
    while ((name = g_dir_read_name (d)) != NULL)
      g_assert_false (g_str_has_prefix (name, "oauth-"));
  }
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
  g_assert_cmpint (argc, ==, 3);
  heraldctl = g_strdup (argv[1]);
  root = g_strdup (argv[2]);
  /* The same tree as heraldctl-systest's, for reading root's store. */
  {
    g_autofree char *etc = g_build_filename (root, "etc", NULL);
    g_autofree char *var = g_build_filename (root, "var", NULL);

    herald_profile_set_system_dirs (etc, var);
  }
  cert_dir = g_build_filename (build_dir, "tests", "system", "certs-system", NULL);
  certs_script = g_build_filename (source_dir, "tests", "fixtures", "make-test-certs.sh", NULL);
  {
    const char *args[] = { certs_script, cert_dir, NULL };

    g_assert_true (g_spawn_sync (NULL, (char **) args, NULL, G_SPAWN_STDOUT_TO_DEV_NULL, NULL, NULL,
                                 NULL, NULL, &status, &error));
    g_assert_true (g_spawn_check_wait_status (status, &error));
  }

  if (geteuid () != 0)
    {
      g_printerr ("the system tests run as root (CI and herald-dev test do)\n");
      return 1;
    }

  g_test_add_func ("/herald/system/oauth-device-refresh-rotation-health", test_system_oauth);
  ret = g_test_run ();
  g_free (heraldctl);
  g_free (root);
  g_free (cert_dir);
  return ret;
}
