/* SPDX-License-Identifier: GPL-3.0-or-later
 * Copyright 2026 The Herald authors
 */
#define G_LOG_DOMAIN "herald-test"

#include "config.h"

#include <json-glib/json-glib.h>
#include <string.h>
#include <unistd.h>

#include "fake-graph.h"
#include "fake-idp.h"
#include "herald-profile.h"
#include "herald-secrets-oauth.h"
#include "herald-test-heraldctl.h"

/* Microsoft Graph in system scope, as a server runs it: as root with no
 * session bus, heraldctl-systest (its sysconfdir and localstatedir in the
 * build tree, as tests/system uses it), the in-process stand-ins for Graph
 * and the identity provider.
 *
 * - app-only with a certificate: heraldctl login --system --app
 *   --certificate PEM (the client assertion checked by the stand-in with
 *   the certificate's public key), a send as the mailbox, then heraldctl
 *   logout --system --app, which removes the certificate and its key and
 *   says so; a send after it is held.
 * - a delegated Graph sign-in kept alive by the queue run: refreshed for
 *   Graph's scope once idle for 30 days, doctor's token check, and a
 *   failed refresh recorded for doctor (from the idle refresh and from a
 *   delivery). */

#define GRAPH_SCOPE  "https://graph.microsoft.com/Mail.Send offline_access"
#define SENDER       "graph-system@contoso.example"
#define RECIPIENT    "ops@contoso.example"
#define APP_TENANT   "graph-system.contoso.example"
#define APP_CLIENT   "bbbbbbbb-cccc-dddd-eeee-ffffffffffff"
#define APP_TOKEN    "HERALDAPPTOKEN-system-2fd4e1c67a2d28fced849ee1bb76e7391b93eb12"

static char *root;
static char *cert_dir;

/* The private key's base64, which must never leave root's store. */
static char *key_marker;

/* What no output and no file of the test tree may hold (main() adds the
 * key's marker). */
static const char *secrets[] = { FAKE_IDP_TOKEN_PREFIX, APP_TOKEN, NULL, NULL };
static HeraldTestHeraldctl ctl = { .secrets = secrets };

static void
graph_profile (FakeGraph *graph)
{
  const char *settings[] = {
    "alerts-enabled", "true", "transport", "graph",
    "graph-endpoint", fake_graph_get_endpoint (graph), "from", SENDER, "to", RECIPIENT, NULL
  };

  herald_test_heraldctl_config_system (&ctl, settings);
}

static char *
system_conf (void)
{
  g_autofree char *path = g_build_filename (root, "etc", "herald", "herald.conf", NULL);
  char *text = NULL;

  g_assert_true (g_file_get_contents (path, &text, NULL, NULL));
  return text;
}

/* The app-only credential as root's store has it (this test runs as root). */
static HeraldOAuthTokens *
stored_app (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(HeraldProfile) profile = herald_profile_new_system (FALSE, &error);
  HeraldOAuthTokens *tokens;

  g_assert_no_error (error);
  tokens = herald_oauth_tokens_lookup_sync ("microsoft-app", APP_TENANT, APP_CLIENT, NULL, &error);
  g_assert_no_error (error);
  return tokens;
}

static JsonObject *
parse_object (JsonParser *parser,
              const char *text)
{
  g_autoptr(GError) error = NULL;

  json_parser_load_from_data (parser, text, -1, &error);
  g_assert_no_error (error);
  return json_node_get_object (json_parser_get_root (parser));
}

static GBytes *
read_concat (const char *first,
             const char *second)
{
  GString *all = g_string_new (NULL);
  const char *names[] = { first, second };

  for (guint i = 0; i < G_N_ELEMENTS (names); i++)
    {
      g_autofree char *path = NULL;
      g_autofree char *text = NULL;

      if (names[i] == NULL)
        continue;
      path = g_build_filename (cert_dir, names[i], NULL);
      g_assert_true (g_file_get_contents (path, &text, NULL, NULL));
      g_string_append (all, text);
    }
  return g_string_free_to_bytes (all);
}

static void
test_app_certificate (void)
{
  g_autoptr(FakeGraph) graph = fake_graph_new (NULL);
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autoptr(GBytes) registered = read_concat ("cert.pem", NULL);
  g_autofree char *pem_path = g_build_filename (cert_dir, "app.pem", NULL);
  g_autofree char *authority = NULL;
  g_autofree char *var = g_build_filename (root, "var", NULL);
  g_autofree char *etc = g_build_filename (root, "etc", NULL);

  herald_test_reset_root (root);
  graph_profile (graph);
  fake_graph_set_app (graph, APP_TENANT, APP_CLIENT, NULL, registered);
  fake_graph_set_token (graph, APP_TOKEN);
  authority = g_strdup_printf ("%s/%s", fake_graph_get_endpoint (graph), APP_TENANT);

  /* Sign-in: the client credentials grant with a client assertion signed by
   * the certificate's key (the stand-in verifies it with the public key). */
  {
    g_auto(HeraldTestRun) run = { 0 };
    const char *args[] = { "login", "--system", "--provider", "microsoft", "--app",
                           "--client-id", APP_CLIENT, "--tenant", APP_TENANT,
                           "--authority", authority, "--certificate", pem_path, NULL };
    g_autofree char *assertion_type = NULL;
    g_autofree char *secret = NULL;
    g_autofree char *scope = NULL;
    g_autofree char *conf = NULL;
    g_autoptr(HeraldOAuthTokens) stored = NULL;

    herald_test_heraldctl_run (&ctl, &run, "", args);
    g_assert_cmpint (run.status, ==, 0);
    g_assert_nonnull (strstr (run.out, "certificate"));
    assertion_type = fake_graph_get_token_param (graph, "client_assertion_type");
    g_assert_cmpstr (assertion_type, ==, "urn:ietf:params:oauth:client-assertion-type:jwt-bearer");
    secret = fake_graph_get_token_param (graph, "client_secret");
    g_assert_null (secret);
    scope = fake_graph_get_token_param (graph, "scope");
    g_assert_cmpstr (scope, ==, "https://graph.microsoft.com/.default");

    /* The system profile sends app-only from now on; the certificate and
     * key are in root's store, not in the profile. */
    conf = system_conf ();
    g_assert_nonnull (strstr (conf, "oauth-mode=app-only"));
    g_assert_nonnull (strstr (conf, "oauth-client-id=" APP_CLIENT));
    stored = stored_app ();
    g_assert_nonnull (stored);
    g_assert_nonnull (stored->certificate);
    g_assert_nonnull (strstr (stored->certificate, key_marker));
    g_assert_null (stored->client_secret);
  }
  herald_test_assert_no_secret_under (etc, secrets);
  herald_test_assert_no_secret_under (var, secrets);

  /* A send as the mailbox, with the app's token. */
  {
    g_auto(HeraldTestRun) run = { 0 };
    const char *args[] = { "send", "--system", "--subject", "app-only on a server", "--json",
                           NULL };
    g_autoptr(FakeGraphRequest) request = NULL;
    JsonObject *o;

    herald_test_heraldctl_run (&ctl, &run, "The RAID array is degraded.\n", args);
    g_assert_cmpint (run.status, ==, 0);
    o = parse_object (parser, run.out);
    g_assert_cmpstr (json_object_get_string_member (o, "outcome"), ==, "sent");
    g_assert_cmpuint (fake_graph_get_n_requests (graph), ==, 1);
    request = fake_graph_get_request (graph, 0);
    g_assert_cmpstr (request->path, ==, "/v1.0/users/" SENDER "/sendMail");
    g_assert_cmpstr (request->authorization, ==, "Bearer " APP_TOKEN);
  }

  /* Sign-out: the certificate and its key leave root's store, the output
   * says that is what went, and the profile no longer sends app-only. */
  {
    g_auto(HeraldTestRun) run = { 0 };
    const char *args[] = { "logout", "--system", "--app", NULL };
    g_autoptr(HeraldOAuthTokens) gone = NULL;
    g_autofree char *conf = NULL;

    herald_test_heraldctl_run (&ctl, &run, "", args);
    g_assert_cmpint (run.status, ==, 0);
    g_assert_nonnull (strstr (run.out, APP_CLIENT));
    g_assert_nonnull (strstr (run.out, APP_TENANT));
    g_assert_nonnull (strstr (run.out, "certificate and private key"));
    gone = stored_app ();
    g_assert_null (gone);
    conf = system_conf ();
    g_assert_null (strstr (conf, "oauth-mode=app-only"));
  }
  /* Again: nothing left, and it says so. */
  {
    g_auto(HeraldTestRun) run = { 0 };
    const char *args[] = { "logout", "--system", "--app", "--client-id", APP_CLIENT,
                           "--tenant", APP_TENANT, NULL };

    herald_test_heraldctl_run (&ctl, &run, "", args);
    g_assert_cmpint (run.status, ==, 0);
    g_assert_nonnull (strstr (run.out, "nothing to remove"));
  }
  /* Options that do not go with --app are refused. */
  {
    g_auto(HeraldTestRun) run = { 0 };
    const char *args[] = { "logout", "--system", "--app", "--user", SENDER, NULL };

    herald_test_heraldctl_run (&ctl, &run, "", args);
    g_assert_cmpint (run.status, ==, 2);  /* HERALD_EXIT_USAGE */
  }
  {
    g_auto(HeraldTestRun) run = { 0 };
    const char *args[] = { "logout", "--system", "--tenant", APP_TENANT, NULL };

    herald_test_heraldctl_run (&ctl, &run, "", args);
    g_assert_cmpint (run.status, ==, 2);  /* HERALD_EXIT_USAGE */
  }

  /* No credential any more: nothing reaches Graph, the alert is kept. */
  {
    g_auto(HeraldTestRun) run = { 0 };
    const char *args[] = { "send", "--system", "--subject", "after sign-out", "--json", NULL };
    JsonObject *o;

    herald_test_heraldctl_run (&ctl, &run, "still degraded\n", args);
    g_assert_cmpint (run.status, ==, 0);
    o = parse_object (parser, run.out);
    g_assert_cmpstr (json_object_get_string_member (o, "outcome"), ==, "held");
    g_assert_cmpuint (fake_graph_get_n_requests (graph), ==, 1);
  }
  herald_test_assert_no_secret_under (etc, secrets);
  herald_test_assert_no_secret_under (var, secrets);
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

/* doctor --json's token check: its status, and its detail in @detail. */
static char *
doctor_token (char **detail)
{
  g_auto(HeraldTestRun) run = { 0 };
  const char *args[] = { "doctor", "--system", "--json", NULL };
  g_autoptr(JsonParser) parser = json_parser_new ();
  JsonArray *checks;

  herald_test_heraldctl_run (&ctl, &run, "", args);
  checks = json_object_get_array_member (parse_object (parser, run.out), "checks");
  for (guint i = 0; i < json_array_get_length (checks); i++)
    {
      JsonObject *c = json_array_get_object_element (checks, i);

      if (g_str_equal (json_object_get_string_member (c, "id"), "token"))
        {
          if (detail != NULL)
            *detail = g_strdup (json_object_get_string_member (c, "detail"));
          return g_strdup (json_object_get_string_member (c, "status"));
        }
    }
  return g_strdup ("absent");
}

static void
test_delegated_idle_refresh (void)
{
  g_autoptr(FakeIdp) idp = fake_idp_new ();
  g_autoptr(FakeGraph) graph = fake_graph_new (NULL);
  const char *flush[] = { "queue", "--system", "flush", "--quiet", NULL };
  g_autofree char *var = g_build_filename (root, "var", NULL);
  guint refreshes;

  herald_test_reset_root (root);
  graph_profile (graph);
  fake_graph_set_token_prefix (graph, FAKE_IDP_TOKEN_PREFIX);

  /* A delegated sign-in for Graph's Mail.Send (the stand-in refuses any
   * other scope for the device code). */
  fake_idp_set_scope (idp, GRAPH_SCOPE);
  fake_idp_set_device_script (idp, "ok", 1, 900);
  {
    const char *args[] = { "login", "--system", "--provider", "microsoft", "--user", SENDER,
                           "--client-id", FAKE_IDP_CLIENT_ID, "--tenant", FAKE_IDP_TENANT,
                           "--authority", fake_idp_get_authority (idp), "--device", NULL };

    herald_test_heraldctl_ok (&ctl, "", args);
  }

  /* A fresh sign-in is left alone by a run with nothing to send. */
  refreshes = fake_idp_get_n_refreshes (idp);
  herald_test_heraldctl_ok (&ctl, "", flush);
  g_assert_cmpuint (fake_idp_get_n_refreshes (idp), ==, refreshes);

  /* Idle for 30 days: the run refreshes it, for Graph's scope. The new
   * access token is short-lived, so the next delivery needs a refresh. */
  fake_idp_set_expires_in (idp, 30);
  set_token_age (31);
  herald_test_heraldctl_ok (&ctl, "", flush);
  g_assert_cmpuint (fake_idp_get_n_refreshes (idp), ==, refreshes + 1);
  {
    g_autofree char *scope = fake_idp_get_token_param (idp, "scope");
    g_autofree char *grant = fake_idp_get_token_param (idp, "grant_type");

    g_assert_cmpstr (grant, ==, "refresh_token");
    g_assert_cmpstr (scope, ==, GRAPH_SCOPE);
  }

  /* doctor watches a Graph sign-in's age as it does SMTP's. */
  {
    g_autofree char *status = doctor_token (NULL);

    g_assert_cmpstr (status, ==, "ok");
  }
  {
    g_autofree char *detail = NULL;
    g_autofree char *status = NULL;

    set_token_age (70);
    status = doctor_token (&detail);
    g_assert_cmpstr (status, ==, "warn");
    g_assert_nonnull (strstr (detail, "AADSTS700082"));
  }

  /* The sign-in dies at the provider: the idle run's failed refresh is
   * recorded, and doctor shows it. */
  fake_idp_revoke_all (idp);
  set_token_age (31);
  herald_test_heraldctl_ok (&ctl, "", flush);
  {
    g_autofree char *detail = NULL;
    g_autofree char *status = doctor_token (&detail);

    g_assert_cmpstr (status, ==, "warn");
    g_assert_nonnull (strstr (detail, "Last refresh failure"));
    g_assert_nonnull (strstr (detail, "AADSTS700082"));
  }

  /* A delivery whose token refresh fails (the sign-in not idle, the access
   * token about to expire) is recorded the same way: the alert is held. */
  set_token_age (1);
  {
    g_autofree char *status = doctor_token (NULL);

    g_assert_cmpstr (status, ==, "ok");
  }
  {
    g_auto(HeraldTestRun) run = { 0 };
    const char *args[] = { "send", "--system", "--subject", "queued first", "--queue-only",
                           NULL };

    herald_test_heraldctl_run (&ctl, &run, "the disk is full\n", args);
    g_assert_cmpint (run.status, ==, 0);
  }
  herald_test_heraldctl_ok (&ctl, "", flush);
  g_assert_cmpuint (fake_graph_get_n_requests (graph), ==, 0);
  {
    g_autofree char *detail = NULL;
    g_autofree char *status = doctor_token (&detail);

    g_assert_cmpstr (status, ==, "warn");
    g_assert_nonnull (strstr (detail, "Last refresh failure"));
  }
  {
    g_auto(HeraldTestRun) run = { 0 };
    const char *args[] = { "queue", "--system", "list", "--json", NULL };
    g_autoptr(JsonParser) parser = json_parser_new ();
    JsonArray *messages;

    herald_test_heraldctl_run (&ctl, &run, "", args);
    g_assert_cmpint (run.status, ==, 0);
    messages = json_object_get_array_member (parse_object (parser, run.out), "messages");
    g_assert_cmpuint (json_array_get_length (messages), ==, 1);
    g_assert_cmpstr (json_object_get_string_member (json_array_get_object_element (messages, 0),
                                                    "state"), ==, "held");
  }
  herald_test_assert_no_secret_under (var, secrets);
}

int
main (int    argc,
      char **argv)
{
  const char *build_dir = g_getenv ("HERALD_BUILD_DIR");
  g_autoptr(GError) error = NULL;
  g_autofree char *command = NULL;
  g_autofree char *key = NULL;
  g_autofree char *key_path = NULL;
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

  /* The app's certificate and key (RSA, for RS256), and both in one PEM
   * file as heraldctl login --certificate takes it. */
  cert_dir = g_build_filename (build_dir, "tests", "graph", "certs-system", NULL);
  g_assert_cmpint (g_mkdir_with_parents (cert_dir, 0700), ==, 0);
  command = g_strdup_printf ("sh -c 'cd %s && "
                             "openssl req -x509 -newkey rsa:2048 -nodes -keyout key.pem -out "
                             "cert.pem -days 2 -subj /CN=herald-system-app 2>/dev/null && "
                             "cat cert.pem key.pem > app.pem'", cert_dir);
  {
    int status = 0;

    g_assert_true (g_spawn_command_line_sync (command, NULL, NULL, &status, &error));
    g_assert_no_error (error);
    g_assert_true (g_spawn_check_wait_status (status, &error));
  }
  key_path = g_build_filename (cert_dir, "key.pem", NULL);
  g_assert_true (g_file_get_contents (key_path, &key, NULL, NULL));
  {
    /* A line from the middle of the key's base64. */
    g_auto(GStrv) lines = g_strsplit (key, "\n", -1);

    g_assert_cmpuint (g_strv_length (lines), >, 5);
    key_marker = g_strdup (lines[3]);
    secrets[2] = key_marker;
  }

  if (geteuid () != 0)
    {
      g_printerr ("the system tests run as root (CI and herald-dev test do)\n");
      return 1;
    }

  g_test_add_func ("/herald/graph/system/app-certificate-login-logout", test_app_certificate);
  g_test_add_func ("/herald/graph/system/delegated-idle-refresh", test_delegated_idle_refresh);
  ret = g_test_run ();
  g_clear_object (&ctl.launcher);
  g_free (root);
  g_free (cert_dir);
  g_free (key_marker);
  return ret;
}
