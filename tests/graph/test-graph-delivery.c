/* SPDX-License-Identifier: GPL-3.0-or-later
 * Copyright 2026 The Herald authors
 */
#define G_LOG_DOMAIN "herald-test"

#include "config.h"

#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include <string.h>

#include "fake-graph.h"
#include "fake-idp.h"
#include "herald-secrets-oauth.h"
#include "herald-test-heraldctl.h"

/* Microsoft Graph behind the delivery contract, as a user runs it: the real
 * heraldctl (login, test, send, queue flush) in a subprocess, with the
 * profile saved in a keyfile, the sign-in in the test session's keyring, the
 * stand-in identity provider (tests/oauth) and the stand-in for Graph
 * (fake-graph.c) in this process. Delegated (a user's sign-in with Graph's
 * Mail.Send) and app-only (the client credentials grant with a secret). */

#define GRAPH_SCOPE  "https://graph.microsoft.com/Mail.Send offline_access"
/* Accounts of their own: the keyring is shared by every test of the session. */
#define SENDER       "graph-delivery@contoso.example"
#define RECIPIENT    "ops@contoso.example"
#define APP_TENANT   "graph-delivery.contoso.example"
#define APP_CLIENT   "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee"
#define APP_SECRET   "HERALDAPPSECRET~0123456789abcdefghij"
#define APP_TOKEN    "HERALDAPPTOKEN-7c4a8d09ca3762af61e59520943dc26494f8941b"

static char *heraldctl;

typedef struct {
  char *dir;         /* this test's own XDG_CONFIG_HOME / XDG_STATE_HOME, under HOME */
  char *config_home;
  char *state_home;
} Profile;

static void
profile_clear (Profile *p)
{
  g_free (p->dir);
  g_free (p->config_home);
  g_free (p->state_home);
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (Profile, profile_clear)

static void
profile_init (Profile *p)
{
  p->dir = g_build_filename (g_get_home_dir (), "herald-graph-delivery-XXXXXX", NULL);
  g_assert_nonnull (g_mkdtemp (p->dir));
  p->config_home = g_build_filename (p->dir, "config", NULL);
  p->state_home = g_build_filename (p->dir, "state", NULL);
}

static const char * const secrets[] = { FAKE_IDP_TOKEN_PREFIX, APP_SECRET, APP_TOKEN, NULL };

static void
heraldctl_run (HeraldTestRun      *run,
               const Profile      *p,
               const char         *input,
               const char * const *args)
{
  g_autoptr(GSubprocessLauncher) launcher =
    g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDIN_PIPE | G_SUBPROCESS_FLAGS_STDOUT_PIPE |
                               G_SUBPROCESS_FLAGS_STDERR_PIPE);
  HeraldTestHeraldctl ctl = { heraldctl, launcher, secrets };

  g_subprocess_launcher_setenv (launcher, "GSETTINGS_BACKEND", "keyfile", TRUE);
  g_subprocess_launcher_setenv (launcher, "XDG_CONFIG_HOME", p->config_home, TRUE);
  g_subprocess_launcher_setenv (launcher, "XDG_STATE_HOME", p->state_home, TRUE);
  g_subprocess_launcher_setenv (launcher, "LC_ALL", "C.UTF-8", TRUE);
  herald_test_heraldctl_run (&ctl, run, input, args);
}

static void
config_set (const Profile *p,
            const char    *key,
            const char    *value)
{
  g_auto(HeraldTestRun) run = { 0, };
  const char *args[] = { "config", "set", key, value, NULL };

  heraldctl_run (&run, p, "", args);
  g_assert_cmpint (run.status, ==, 0);
}

/* A Graph profile: transport graph at the stand-in, alerts on. */
static void
graph_profile (const Profile *p,
               FakeGraph     *graph)
{
  config_set (p, "alerts-enabled", "true");
  config_set (p, "transport", "graph");
  config_set (p, "graph-endpoint", fake_graph_get_endpoint (graph));
  config_set (p, "from", SENDER);
  config_set (p, "to", RECIPIENT);
}

static char *
mime_of (FakeGraphRequest *request)
{
  g_assert_nonnull (request->mime);
  return g_strndup (g_bytes_get_data (request->mime, NULL), g_bytes_get_size (request->mime));
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

/* What a Graph sendMail request must be: POST to @path, the bearer token,
 * text/plain, the whole MIME message in base64. */
static char *
check_request (FakeGraph  *graph,
               guint       index,
               const char *path,
               const char *token)
{
  g_autoptr(FakeGraphRequest) request = fake_graph_get_request (graph, index);
  g_autofree char *bearer = g_strconcat ("Bearer ", token, NULL);

  g_assert_cmpstr (request->method, ==, "POST");
  g_assert_cmpstr (request->path, ==, path);
  g_assert_cmpstr (request->authorization, ==, bearer);
  g_assert_true (g_str_has_prefix (request->content_type, "text/plain"));
  return mime_of (request);
}

static void
delegated_login (const Profile *p,
                 FakeIdp       *idp)
{
  g_auto(HeraldTestRun) run = { 0, };
  const char *args[] = { "login", "--provider", "microsoft", "--user", SENDER, "--client-id",
                         FAKE_IDP_CLIENT_ID, "--tenant", FAKE_IDP_TENANT, "--authority",
                         fake_idp_get_authority (idp), "--device", NULL };

  /* The stand-in refuses a device code for any scope but Graph's. */
  fake_idp_set_scope (idp, GRAPH_SCOPE);
  fake_idp_set_device_script (idp, "ok", 1, 900);
  heraldctl_run (&run, p, "", args);
  g_assert_cmpint (run.status, ==, 0);
}

static void
test_delegated (void)
{
  g_autoptr(FakeIdp) idp = fake_idp_new ();
  g_autoptr(FakeGraph) graph = fake_graph_new (NULL);
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_auto(Profile) p = { 0, };
  g_autofree char *token = NULL;
  g_autofree char *refreshed = NULL;
  g_autofree char *scope = NULL;
  g_autofree char *mime = NULL;
  JsonObject *root;

  profile_init (&p);
  graph_profile (&p, graph);
  fake_graph_set_token_prefix (graph, FAKE_IDP_TOKEN_PREFIX);
  delegated_login (&p, idp);
  token = fake_idp_get_current_access_token (idp);

  /* heraldctl test: the saved sign-in, no token on standard input. */
  {
    g_auto(HeraldTestRun) run = { 0, };
    const char *args[] = { "test", "--json", NULL };

    heraldctl_run (&run, &p, "", args);
    g_assert_cmpint (run.status, ==, 0);
    root = parse_object (parser, run.out);
    g_assert_true (json_object_get_boolean_member (root, "ok"));
    g_assert_cmpstr (json_object_get_string_member (root, "transport"), ==, "graph");
    g_assert_cmpint (json_object_get_int_member (json_object_get_object_member (root, "reply"),
                                                 "code"), ==, 202);
    mime = check_request (graph, 0, "/v1.0/me/sendMail", token);
    g_assert_nonnull (strstr (mime, "To: " RECIPIENT));
    g_clear_pointer (&mime, g_free);
  }

  /* heraldctl send -t: an alert whose Bcc recipient only the envelope has.
   * Graph takes the recipients from the message, so it goes in with a Bcc
   * header (Exchange removes that from what the others receive). */
  {
    g_auto(HeraldTestRun) run = { 0, };
    const char *args[] = { "send", "--json", "-t", NULL };
    const char *input = "From: " SENDER "\nTo: " RECIPIENT "\nBcc: audit@contoso.example\n"
                        "Subject: disk almost full\n\n/var is 97% full.\n";

    heraldctl_run (&run, &p, input, args);
    g_assert_cmpint (run.status, ==, 0);
    root = parse_object (parser, run.out);
    g_assert_cmpstr (json_object_get_string_member (root, "outcome"), ==, "sent");
    g_assert_cmpstr (json_object_get_string_member (root, "transport"), ==, "graph");
    g_assert_cmpint (json_object_get_int_member (json_object_get_object_member (root, "reply"),
                                                 "code"), ==, 202);
    mime = check_request (graph, 1, "/v1.0/me/sendMail", token);
    g_assert_nonnull (strstr (mime, "Subject: disk almost full"));
    g_assert_nonnull (strstr (mime, "/var is 97% full."));
    g_assert_nonnull (strstr (mime, "audit@contoso.example"));
    g_assert_true (g_regex_match_simple ("^Bcc:.*audit@contoso\\.example", mime,
                                            G_REGEX_MULTILINE, 0));
    g_clear_pointer (&mime, g_free);
  }

  /* 401: the token is refreshed once (for Graph's scope) and the request
   * repeated with the new one. */
  {
    g_auto(HeraldTestRun) run = { 0, };
    const char *args[] = { "send", "--subject", "refresh", "--json", NULL };
    guint refreshes = fake_idp_get_n_refreshes (idp);

    fake_graph_push_reply (graph, 401, NULL, FAKE_GRAPH_INVALID_TOKEN);
    heraldctl_run (&run, &p, "after a 401\n", args);
    g_assert_cmpint (run.status, ==, 0);
    root = parse_object (parser, run.out);
    g_assert_cmpstr (json_object_get_string_member (root, "outcome"), ==, "sent");
    g_assert_cmpuint (fake_idp_get_n_refreshes (idp), ==, refreshes + 1);
    scope = fake_idp_get_token_param (idp, "scope");
    g_assert_cmpstr (scope, ==, GRAPH_SCOPE);
    refreshed = fake_idp_get_current_access_token (idp);
    g_assert_cmpstr (refreshed, !=, token);
    g_assert_cmpuint (fake_graph_get_n_requests (graph), ==, 4);
    g_free (check_request (graph, 2, "/v1.0/me/sendMail", token));
    g_free (check_request (graph, 3, "/v1.0/me/sendMail", refreshed));
  }

  /* 429 with a Retry-After longer than the timeout: queued, with Graph's
   * time as the next attempt; a flush then delivers it. */
  {
    g_auto(HeraldTestRun) send = { 0, };
    g_auto(HeraldTestRun) list = { 0, };
    g_auto(HeraldTestRun) due = { 0, };
    g_auto(HeraldTestRun) flush = { 0, };
    const char *send_args[] = { "send", "--subject", "throttled", "--json", NULL };
    const char *list_args[] = { "queue", "list", "--json", NULL };
    const char *due_args[] = { "queue", "flush", "--due", "--json", NULL };
    const char *flush_args[] = { "queue", "flush", "--json", NULL };
    g_autoptr(GDateTime) next = NULL;
    gint64 now = g_get_real_time () / G_USEC_PER_SEC;
    JsonArray *messages;
    JsonObject *entry;

    fake_graph_push_reply (graph, 429, "3600", FAKE_GRAPH_THROTTLED);
    heraldctl_run (&send, &p, "throttled alert\n", send_args);
    g_assert_cmpint (send.status, ==, 0);
    root = parse_object (parser, send.out);
    g_assert_cmpstr (json_object_get_string_member (root, "outcome"), ==, "queued");
    g_assert_cmpint (json_object_get_int_member (json_object_get_object_member (root, "reply"),
                                                 "code"), ==, 429);

    heraldctl_run (&list, &p, "", list_args);
    g_assert_cmpint (list.status, ==, 0);
    root = parse_object (parser, list.out);
    messages = json_object_get_array_member (root, "messages");
    g_assert_cmpuint (json_array_get_length (messages), ==, 1);
    entry = json_array_get_object_element (messages, 0);
    g_assert_cmpstr (json_object_get_string_member (entry, "state"), ==, "queued");
    next = g_date_time_new_from_iso8601 (json_object_get_string_member (entry, "next_attempt"),
                                         NULL);
    g_assert_nonnull (next);
    g_assert_cmpint (g_date_time_to_unix (next), >=, now + 3600 - 5);
    g_assert_cmpint (g_date_time_to_unix (next), <=, now + 3600 + 60);

    /* The timer's run leaves it alone until then. */
    heraldctl_run (&due, &p, "", due_args);
    g_assert_cmpint (due.status, ==, 0);
    root = parse_object (parser, due.out);
    g_assert_cmpint (json_object_get_int_member (root, "delivered"), ==, 0);
    g_assert_cmpint (json_object_get_int_member (root, "left"), ==, 1);
    g_assert_cmpuint (fake_graph_get_n_requests (graph), ==, 5);

    heraldctl_run (&flush, &p, "", flush_args);
    g_assert_cmpint (flush.status, ==, 0);
    root = parse_object (parser, flush.out);
    g_assert_cmpint (json_object_get_int_member (root, "delivered"), ==, 1);
    g_assert_cmpuint (fake_graph_get_n_requests (graph), ==, 6);
    mime = check_request (graph, 5, "/v1.0/me/sendMail", refreshed);
    g_assert_nonnull (strstr (mime, "throttled alert"));
  }

  herald_test_assert_no_secret_under (p.dir, secrets);
  fake_idp_assert_no_token_under_home ();
  g_assert_true (herald_oauth_tokens_clear_sync ("microsoft", SENDER, FAKE_IDP_CLIENT_ID, NULL, NULL));
}

static void
test_app_only (void)
{
  g_autoptr(FakeGraph) graph = fake_graph_new (NULL);
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_auto(Profile) p = { 0, };
  g_autofree char *authority = NULL;
  g_autofree char *grant = NULL;
  g_autofree char *scope = NULL;
  JsonObject *root;

  profile_init (&p);
  graph_profile (&p, graph);
  fake_graph_set_app (graph, APP_TENANT, APP_CLIENT, APP_SECRET, NULL);
  fake_graph_set_token (graph, APP_TOKEN);
  authority = g_strdup_printf ("%s/%s", fake_graph_get_endpoint (graph), APP_TENANT);

  {
    g_auto(HeraldTestRun) run = { 0, };
    const char *args[] = { "login", "--provider", "microsoft", "--app", "--client-id", APP_CLIENT,
                           "--tenant", APP_TENANT, "--authority", authority,
                           "--client-secret-stdin", NULL };

    heraldctl_run (&run, &p, APP_SECRET "\n", args);
    g_assert_cmpint (run.status, ==, 0);
    grant = fake_graph_get_token_param (graph, "grant_type");
    g_assert_cmpstr (grant, ==, "client_credentials");
    scope = fake_graph_get_token_param (graph, "scope");
    g_assert_cmpstr (scope, ==, "https://graph.microsoft.com/.default");
  }

  /* test, send and a queued message's flush: /users/FROM/sendMail with
   * the app's token. */
  {
    g_auto(HeraldTestRun) run = { 0, };
    const char *args[] = { "test", NULL };

    heraldctl_run (&run, &p, "", args);
    g_assert_cmpint (run.status, ==, 0);
    g_assert_nonnull (strstr (run.out, "Microsoft accepted the test email for delivery"));
    g_free (check_request (graph, 0, "/v1.0/users/" SENDER "/sendMail", APP_TOKEN));
  }
  {
    g_auto(HeraldTestRun) run = { 0, };
    const char *args[] = { "send", "--subject", "app-only", "--json", NULL };
    g_autofree char *mime = NULL;

    heraldctl_run (&run, &p, "sent as the app\n", args);
    g_assert_cmpint (run.status, ==, 0);
    root = parse_object (parser, run.out);
    g_assert_cmpstr (json_object_get_string_member (root, "outcome"), ==, "sent");
    mime = check_request (graph, 1, "/v1.0/users/" SENDER "/sendMail", APP_TOKEN);
    g_assert_nonnull (strstr (mime, "sent as the app"));
  }
  {
    g_auto(HeraldTestRun) queued = { 0, };
    g_auto(HeraldTestRun) flush = { 0, };
    const char *queue_args[] = { "send", "--subject", "queued", "--queue-only", NULL };
    const char *flush_args[] = { "queue", "flush", "--json", NULL };
    g_autofree char *mime = NULL;

    heraldctl_run (&queued, &p, "queued first\n", queue_args);
    g_assert_cmpint (queued.status, ==, 0);
    g_assert_cmpuint (fake_graph_get_n_requests (graph), ==, 2);
    heraldctl_run (&flush, &p, "", flush_args);
    g_assert_cmpint (flush.status, ==, 0);
    root = parse_object (parser, flush.out);
    g_assert_cmpint (json_object_get_int_member (root, "delivered"), ==, 1);
    mime = check_request (graph, 2, "/v1.0/users/" SENDER "/sendMail", APP_TOKEN);
    g_assert_nonnull (strstr (mime, "queued first"));
  }

  /* Graph refuses the app for this mailbox: held (someone must grant it),
   * with Graph's code in the reply and its diagnosis. */
  {
    g_auto(HeraldTestRun) run = { 0, };
    const char *args[] = { "send", "--subject", "denied", "--json", NULL };
    JsonObject *diagnosis;

    fake_graph_push_reply (graph, 403, NULL, FAKE_GRAPH_ACCESS_DENIED);
    heraldctl_run (&run, &p, "refused\n", args);
    g_assert_cmpint (run.status, ==, 0);
    root = parse_object (parser, run.out);
    g_assert_cmpstr (json_object_get_string_member (root, "outcome"), ==, "held");
    g_assert_true (g_str_has_prefix (json_object_get_string_member (
                     json_object_get_object_member (root, "reply"), "text"), "ErrorAccessDenied"));
    diagnosis = json_object_get_object_member (root, "diagnosis");
    g_assert_cmpstr (json_object_get_string_member (diagnosis, "id"), ==, "graph-access-denied");
  }

  herald_test_assert_no_secret_under (p.dir, secrets);
  g_assert_true (herald_oauth_tokens_clear_sync ("microsoft-app", APP_TENANT, APP_CLIENT, NULL, NULL));
}

int
main (int   argc,
      char *argv[])
{
  const char *build_dir = g_getenv ("HERALD_BUILD_DIR");

  g_test_init (&argc, &argv, NULL);
  g_assert_nonnull (build_dir);
  heraldctl = g_build_filename (build_dir, "src", "cli", "heraldctl", NULL);

  g_test_add_func ("/graph/delivery/delegated", test_delegated);
  g_test_add_func ("/graph/delivery/app-only", test_app_only);

  return g_test_run ();
}
