/* SPDX-License-Identifier: GPL-3.0-or-later
 * Copyright 2026 The Herald authors
 */
#define G_LOG_DOMAIN "herald-test"

#include "config.h"

#include <json-glib/json-glib.h>
#include <string.h>
#include <unistd.h>

#include "fake-idp.h"
#include "herald-profile.h"
#include "herald-secrets-oauth.h"
#include "herald-test-heraldctl.h"
#include "herald-test-util.h"

/* OAuth in system scope, as a server runs it: as root, with no session bus
 * (so no keyring could be used even by mistake), heraldctl-systest signs in
 * with a device code against the in-process identity provider, keeps the
 * tokens in root's store under the test tree, delivers with a refreshed
 * token (the rotated refresh token stored each time), keeps an idle sign-in
 * alive from the queue run, lets doctor warn ahead of the 90 days, and signs
 * out. */

static char *root;
static char *cert_dir;

/* What no output and no file of the test tree may hold. */
static const char * const secrets[] = { FAKE_IDP_TOKEN_PREFIX, NULL };
static HeraldTestHeraldctl ctl = { .secrets = secrets };

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
  g_autoptr(HeraldOAuthTokens) after_login = NULL;
  g_autoptr(HeraldOAuthTokens) after_send = NULL;
  g_autoptr(HeraldOAuthTokens) after_idle = NULL;
  g_autofree char *token = NULL;
  g_autofree char *pattern = NULL;
  g_autofree char *state = g_build_filename (root, "var", "lib", "herald", NULL);
  g_auto(HeraldTestRun) doctor = { 0 };
  g_auto(HeraldTestRun) doctor_idle = { 0 };
  g_auto(HeraldTestRun) doctor_dead = { 0 };
  g_auto(HeraldTestRun) send = { 0 };
  guint refreshes;

  srv = herald_test_xoauth2_system_profile (&ctl, root, cert_dir, "ops@contoso.example");

  /* Device-code sign-in, tokens that are about to expire. */
  fake_idp_set_expires_in (idp, 5);
  fake_idp_set_device_script (idp, "authorization_pending,ok", 1, 900);
  {
    const char *args[] = { "login", "--system", "--provider", "microsoft",
                           "--user", "ops@contoso.example", "--client-id", FAKE_IDP_CLIENT_ID,
                           "--tenant", FAKE_IDP_TENANT, "--authority", fake_idp_get_authority (idp),
                           "--device", NULL };
    g_auto(HeraldTestRun) login = { 0 };

    herald_test_heraldctl_run (&ctl, &login, "", args);
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
  herald_test_assert_no_secret_under (root, secrets);
  {
    const char *args[] = { "doctor", "--system", "--json", NULL };

    herald_test_heraldctl_run (&ctl, &doctor, "", args);
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

    herald_test_heraldctl_run (&ctl, &send, "The disk is almost full.\n", args);
    failure = herald_fake_server_get_failure (srv);
    g_test_message ("fake server: %s", failure != NULL ? failure : "no failure");
    g_assert_cmpint (send.status, ==, 0);
    g_assert_cmpstr (send.err, ==, "");
  }
  g_assert_cmpuint (fake_idp_get_n_refreshes (idp), ==, refreshes + 1);
  token = fake_idp_get_current_access_token (idp);
  pattern = herald_test_xoauth2_pattern ("ops@contoso.example", token);
  g_assert_true (herald_fake_server_received_matches (srv, pattern));
  after_send = stored_tokens ();
  g_assert_cmpstr (after_send->refresh_token, ==, fake_idp_get_current_refresh_token (idp));
  g_assert_cmpstr (after_send->refresh_token, !=, after_login->refresh_token);
  herald_test_assert_no_secret_under (root, secrets);

  /* Token health: a queue run with nothing to send leaves a fresh sign-in
   * alone, refreshes one idle for 30 days, and doctor warns from 60 days. */
  fake_idp_set_expires_in (idp, 3600);
  {
    const char *args[] = { "queue", "--system", "flush", "--quiet", NULL };

    refreshes = fake_idp_get_n_refreshes (idp);
    herald_test_heraldctl_ok (&ctl, "", args);
    g_assert_cmpuint (fake_idp_get_n_refreshes (idp), ==, refreshes);
    set_token_age (31);
    herald_test_heraldctl_ok (&ctl, "", args);
    g_assert_cmpuint (fake_idp_get_n_refreshes (idp), ==, refreshes + 1);
  }
  after_idle = stored_tokens ();
  g_assert_cmpstr (after_idle->refresh_token, ==, fake_idp_get_current_refresh_token (idp));
  {
    const char *args[] = { "doctor", "--system", "--json", NULL };

    set_token_age (70);
    herald_test_heraldctl_run (&ctl, &doctor_idle, "", args);
    g_assert_cmpstr (doctor_status (doctor_idle.out, "token"), ==, "warn");
    g_assert_nonnull (strstr (doctor_idle.out, "AADSTS700082"));
    set_token_age (100);
    herald_test_heraldctl_run (&ctl, &doctor_dead, "", args);
    g_assert_cmpstr (doctor_status (doctor_dead.out, "token"), ==, "fail");
    g_assert_cmpint (doctor_dead.status, ==, 1);
  }

  /* Sign-out: the tokens leave root's store. */
  {
    const char *args[] = { "logout", "--system", "--provider", "microsoft",
                           "--user", "ops@contoso.example", "--client-id", FAKE_IDP_CLIENT_ID,
                           NULL };
    g_autoptr(HeraldOAuthTokens) gone = NULL;
    g_auto(HeraldTestRun) logout = { 0 };

    herald_test_heraldctl_run (&ctl, &logout, "", args);
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
  int ret;

  g_test_init (&argc, &argv, NULL);
  g_assert_nonnull (build_dir);
  g_assert_cmpint (argc, ==, 3);
  ctl.program = argv[1];
  ctl.launcher = herald_test_server_launcher_new (G_SUBPROCESS_FLAGS_STDOUT_PIPE |
                                                  G_SUBPROCESS_FLAGS_STDERR_PIPE |
                                                  G_SUBPROCESS_FLAGS_STDIN_PIPE);
  root = g_strdup (argv[2]);
  /* The same tree as heraldctl-systest's, for reading root's store. */
  {
    g_autofree char *etc = g_build_filename (root, "etc", NULL);
    g_autofree char *var = g_build_filename (root, "var", NULL);

    herald_profile_set_system_dirs (etc, var);
  }
  cert_dir = herald_test_make_certs ("system/certs-system");

  if (geteuid () != 0)
    {
      g_printerr ("the system tests run as root (CI and herald-dev test do)\n");
      return 1;
    }

  g_test_add_func ("/herald/system/oauth-device-refresh-rotation-health", test_system_oauth);
  ret = g_test_run ();
  g_clear_object (&ctl.launcher);
  g_free (root);
  g_free (cert_dir);
  return ret;
}
