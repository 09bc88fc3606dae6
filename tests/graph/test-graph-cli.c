/* SPDX-License-Identifier: GPL-3.0-or-later
 * Copyright 2026 The Herald authors
 */
#define G_LOG_DOMAIN "herald-test"

#include "config.h"

#include <json-glib/json-glib.h>
#include <string.h>

#include "fake-graph.h"
#include "herald-test-heraldctl.h"

/* heraldctl test --transport graph, the real program against the in-process
 * Graph stand-in: what it sends, what it prints, its exit status, and that
 * the token reaches neither its output nor its error stream. */

#define TOKEN "HERALDGRAPHTOKEN-cli-9f86d081884c7d659a2feaa0c55ad015"

/* Never the token, whatever happened. */
static const char * const secrets[] = { TOKEN, NULL };

static void
heraldctl (HeraldTestRun      *run,
           const char         *input,
           const char * const *args)
{
  g_autofree char *program = g_build_filename (g_getenv ("HERALD_BUILD_DIR"), "src", "cli",
                                               "heraldctl", NULL);
  g_autoptr(GPtrArray) argv = g_ptr_array_new ();
  g_autoptr(GSubprocessLauncher) launcher =
    g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDIN_PIPE | G_SUBPROCESS_FLAGS_STDOUT_PIPE |
                               G_SUBPROCESS_FLAGS_STDERR_PIPE);

  g_ptr_array_add (argv, program);
  g_ptr_array_add (argv, (gpointer) "test");
  for (guint i = 0; args[i] != NULL; i++)
    g_ptr_array_add (argv, (gpointer) args[i]);
  g_ptr_array_add (argv, NULL);

  /* No saved window settings: everything from the command line. */
  g_subprocess_launcher_setenv (launcher, "GSETTINGS_BACKEND", "memory", TRUE);
  g_subprocess_launcher_setenv (launcher, "LC_ALL", "C.UTF-8", TRUE);
  herald_test_run_argv (run, launcher, (const char * const *) argv->pdata, input, secrets);
}

static void
test_cli_delegated (void)
{
  g_autoptr(FakeGraph) graph = fake_graph_new (NULL);
  g_autoptr(FakeGraphRequest) request = NULL;
  g_autofree char *mime = NULL;
  g_auto(HeraldTestRun) run = { 0, };
  const char *args[] = { "--transport", "graph", "--graph-endpoint", fake_graph_get_endpoint (graph),
                         "--token-stdin", "--from", "alerts@contoso.com", "--to", "ops@contoso.com",
                         "--cc", "backup@contoso.com", "--subject", "Graph from heraldctl", NULL };

  fake_graph_set_token (graph, TOKEN);
  heraldctl (&run, TOKEN "\n", args);
  g_test_message ("%s%s", run.out, run.err);
  g_assert_cmpint (run.status, ==, 0);
  g_assert_nonnull (strstr (run.out, "Testing Microsoft Graph at "));
  /* Graph's 202 is acceptance for delivery, and the output says no more. */
  g_assert_nonnull (strstr (run.out, "Microsoft accepted the test email for delivery to "
                                     "ops@contoso.com, backup@contoso.com (Microsoft Graph)."));
  g_assert_null (strstr (run.out, "Test email sent to"));

  g_assert_cmpuint (fake_graph_get_n_requests (graph), ==, 1);
  request = fake_graph_get_request (graph, 0);
  g_assert_cmpstr (request->path, ==, "/v1.0/me/sendMail");
  g_assert_cmpstr (request->authorization, ==, "Bearer " TOKEN);
  g_assert_true (g_str_has_prefix (request->content_type, "text/plain"));
  mime = g_strndup (g_bytes_get_data (request->mime, NULL), g_bytes_get_size (request->mime));
  g_assert_nonnull (strstr (mime, "Subject: Graph from heraldctl\r\n"));
}

static void
test_cli_app_only_json (void)
{
  g_autoptr(FakeGraph) graph = fake_graph_new (NULL);
  g_autoptr(FakeGraphRequest) request = NULL;
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_auto(HeraldTestRun) run = { 0, };
  JsonObject *root;
  JsonObject *reply;
  const char *args[] = { "--transport", "graph", "--app", "--graph-endpoint",
                         fake_graph_get_endpoint (graph), "--token-stdin", "--from",
                         "alerts@contoso.com", "--to", "ops@contoso.com", "--json", NULL };

  fake_graph_set_token (graph, TOKEN);
  fake_graph_push_reply (graph, 403, NULL, FAKE_GRAPH_ACCESS_DENIED);
  heraldctl (&run, TOKEN "\n", args);
  g_assert_cmpint (run.status, ==, 1);
  request = fake_graph_get_request (graph, 0);
  g_assert_cmpstr (request->path, ==, "/v1.0/users/alerts@contoso.com/sendMail");

  g_assert_true (json_parser_load_from_data (parser, run.out, -1, NULL));
  root = json_node_get_object (json_parser_get_root (parser));
  g_assert_false (json_object_get_boolean_member (root, "ok"));
  reply = json_object_get_object_member (root, "reply");
  g_assert_cmpint (json_object_get_int_member (reply, "code"), ==, 403);
  g_assert_cmpstr (json_object_get_string_member (json_object_get_object_member (root, "diagnosis"),
                                                  "id"), ==, "graph-access-denied");
}

/* Without --token-stdin the saved sign-in is used; with none saved, the
 * test fails at the login (exit 1, not bad usage), says to sign in, and
 * nothing reaches Graph. */
static void
test_cli_not_signed_in (void)
{
  g_autoptr(FakeGraph) graph = fake_graph_new (NULL);
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_auto(HeraldTestRun) run = { 0, };
  JsonObject *root;
  const char *args[] = { "--transport", "graph", "--graph-endpoint", fake_graph_get_endpoint (graph),
                         "--from", "alerts@contoso.com", "--to", "ops@contoso.com", "--json", NULL };

  heraldctl (&run, "", args);
  g_test_message ("%s%s", run.out, run.err);
  g_assert_cmpint (run.status, ==, 1);
  g_assert_true (json_parser_load_from_data (parser, run.out, -1, NULL));
  root = json_node_get_object (json_parser_get_root (parser));
  g_assert_false (json_object_get_boolean_member (root, "ok"));
  g_assert_cmpstr (json_object_get_string_member (root, "stage"), ==, "auth");
  g_assert_cmpstr (json_object_get_string_member (root, "transport"), ==, "graph");
  g_assert_cmpuint (fake_graph_get_n_requests (graph), ==, 0);
}

/* Graph's error body is the server's text: whatever it holds, --json stays
 * one strict JSON object (valid UTF-8, no raw control or bidi character)
 * naming the transport. */
static void
test_cli_hostile_json (void)
{
  static const char * const hostile[] = {
    "{\"error\":{\"code\":\"ErrorAccessDenied\",\"message\":\"esc \\u001b[2J bel \\u0007 us \\u001f\"}}",
    "{\"error\":{\"code\":\"Error\\u202eDeniedAccess\",\"message\":\"quote \\\" backslash \\\\ del \\u007f nel \\u0085\"}}",
    "{\"error\":{\"code\":\"ErrorAccessDenied\",\"message\":\"invalid \xff\xfe utf-8 \xc3\"}}",
    "not json at all \x1b]0;pwned\x07 \xe2\x80\xae",
  };

  for (guint i = 0; i < G_N_ELEMENTS (hostile); i++)
    {
      g_autoptr(FakeGraph) graph = fake_graph_new (NULL);
      g_autoptr(JsonParser) parser = json_parser_new ();
      g_autoptr(GError) error = NULL;
      g_auto(HeraldTestRun) run = { 0, };
      const char *args[] = { "--transport", "graph", "--graph-endpoint",
                             fake_graph_get_endpoint (graph), "--token-stdin", "--from",
                             "alerts@contoso.com", "--to", "ops@contoso.com", "--json", NULL };
      const char *raw[] = { "\x1b", "\x07", "\x1f", "\x7f", "\xc2\x85", "\xe2\x80\xae" };
      JsonObject *root;

      fake_graph_set_token (graph, TOKEN);
      fake_graph_push_reply (graph, 403, NULL, hostile[i]);
      heraldctl (&run, TOKEN "\n", args);
      g_assert_cmpint (run.status, ==, 1);
      g_assert_true (g_utf8_validate (run.out, -1, NULL));
      for (guint j = 0; j < G_N_ELEMENTS (raw); j++)
        g_assert_null (strstr (run.out, raw[j]));
      json_parser_load_from_data (parser, run.out, -1, &error);
      g_assert_no_error (error);
      root = json_node_get_object (json_parser_get_root (parser));
      g_assert_cmpstr (json_object_get_string_member (root, "transport"), ==, "graph");
      g_assert_cmpint (json_object_get_int_member (json_object_get_object_member (root, "reply"),
                                                   "code"), ==, 403);
    }
}

static void
test_cli_usage (void)
{
  g_autoptr(FakeGraph) graph = fake_graph_new (NULL);
  const char *smtp_option[] = { "--transport", "graph", "--server", "smtp.office365.com", "--token-stdin",
                                "--from", "alerts@contoso.com", "--to", "ops@contoso.com", NULL };
  const char *bad_endpoint[] = { "--transport", "graph", "--graph-endpoint", "https://graph.example.com",
                                 "--token-stdin", "--from", "alerts@contoso.com", "--to",
                                 "ops@contoso.com", NULL };
  const char *bad_transport[] = { "--transport", "pigeon", "--from", "alerts@contoso.com", "--to",
                                  "ops@contoso.com", NULL };
  const char *app_without_graph[] = { "--app", "--server", "smtp.example.com", "--from",
                                      "alerts@contoso.com", "--to", "ops@contoso.com", NULL };
  struct {
    const char * const *args;
    const char         *input;
    const char         *says;
  } cases[] = {
    { smtp_option, TOKEN "\n", "takes no SMTP options" },
    { bad_endpoint, TOKEN "\n", "is not a Microsoft Graph endpoint" },
    { bad_transport, "", "use smtp or graph" },
    { app_without_graph, "", "need --transport graph" },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_auto(HeraldTestRun) run = { 0, };

      heraldctl (&run, cases[i].input, cases[i].args);
      g_test_message ("%s", run.err);
      g_assert_cmpint (run.status, ==, 2);
      g_assert_cmpstr (run.out, ==, "");
      g_assert_nonnull (strstr (run.err, cases[i].says));
    }
  /* Nothing reached the stand-in. */
  g_assert_cmpuint (fake_graph_get_n_requests (graph), ==, 0);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/graph/cli/delegated", test_cli_delegated);
  g_test_add_func ("/graph/cli/app-only-json", test_cli_app_only_json);
  g_test_add_func ("/graph/cli/usage", test_cli_usage);
  g_test_add_func ("/graph/cli/not-signed-in", test_cli_not_signed_in);
  g_test_add_func ("/graph/cli/hostile-json", test_cli_hostile_json);

  return g_test_run ();
}
