/* SPDX-License-Identifier: GPL-3.0-or-later
 * Copyright 2026 The Herald authors
 */
#define G_LOG_DOMAIN "herald-test"

#include "config.h"

#include <adwaita.h>
#include <string.h>
#include <glib/gstdio.h>

#include "fake-graph.h"
#include "herald-fake-server.h"
#include "herald-history.h"
#include "herald-oauth.h"
#include "herald-secrets-oauth.h"
#include "herald-widget-util.h"
#include "herald-window-private.h"

/* The window's transport choice (SMTP / Microsoft Graph in the Microsoft 365
 * preset): the rows that do not apply hide, Send Test Email goes through
 * Graph with the saved sign-in, the banner and the error dialog name the
 * transport, and the rules' "switch-to-graph" fix in the error dialog
 * switches the transport and starts the Graph sign-in. */

#define CLIENT_ID   "11111111-2222-3333-4444-555555555555"
/* Its own account: the keyring is shared by every test of the session. */
#define USERNAME    "window-graph@contoso.example"
#define TO          "ops@contoso.example"
#define TOKEN       "HERALDUIGRAPHTOKEN-4b227777d4dd1fc61c6f884f48641d02"
#define GRAPH_SCOPE "https://graph.microsoft.com/Mail.Send offline_access"

static void
reset_settings (void)
{
  g_autoptr(GSettings) settings = g_settings_new ("io.github.heraldmail.Herald");
  g_autoptr(GSettingsSchema) schema = NULL;
  g_auto(GStrv) keys = NULL;

  g_object_get (settings, "settings-schema", &schema, NULL);
  keys = g_settings_schema_list_keys (schema);
  for (guint i = 0; keys[i] != NULL; i++)
    g_settings_reset (settings, keys[i]);
}

typedef gboolean (*Condition) (gpointer data);

static gboolean
wait_for (Condition condition,
          gpointer  data,
          guint     timeout_ms)
{
  gint64 end = g_get_monotonic_time () + timeout_ms * G_TIME_SPAN_MILLISECOND;

  while (!condition (data))
    {
      if (g_get_monotonic_time () > end)
        return FALSE;
      if (!g_main_context_iteration (NULL, FALSE))
        g_usleep (2000);
    }
  return TRUE;
}

static gboolean
not_running (gpointer data)
{
  return !_herald_window_is_running (data);
}

static gboolean
banner_revealed (gpointer data)
{
  return herald_banner_get_revealed (_herald_window_get_banner (data));
}

static gboolean
dialog_open (gpointer data)
{
  return _herald_window_get_error_dialog (data) != NULL;
}

static gboolean
oauth_idle (gpointer data)
{
  HeraldOAuthGroup *group = HERALD_OAUTH_GROUP (_herald_window_get_widget (data, "oauth-group"));

  return !herald_oauth_group_get_busy (group);
}

static HeraldWindow *
new_window (void)
{
  HeraldWindow *window = herald_window_new (NULL);

  g_object_ref (window);
  gtk_window_present (GTK_WINDOW (window));
  return window;
}

static gboolean oauth_idle (gpointer data);

/* The history holds this many entries (it is written on a worker thread). */
static gboolean
history_has (gpointer data)
{
  g_autoptr(GPtrArray) entries = herald_history_load (NULL);

  return entries != NULL && entries->len == GPOINTER_TO_UINT (data);
}

/* The newest entry of the history. */
static HeraldHistoryEntry *
newest_history_entry (void)
{
  g_autoptr(GPtrArray) entries = herald_history_load (NULL);

  g_assert_nonnull (entries);
  g_assert_cmpuint (entries->len, >, 0);
  return herald_history_entry_copy (g_ptr_array_index (entries, 0));
}

static gboolean
only_one_ref (gpointer data)
{
  return G_OBJECT (data)->ref_count == 1;
}

static void
destroy_window (HeraldWindow *window)
{
  g_assert_true (wait_for (not_running, window, 10000));
  /* A keyring check still running when the window goes would answer a
   * group whose Advanced rows are gone. */
  g_assert_true (wait_for (oauth_idle, window, 10000));
  gtk_window_destroy (GTK_WINDOW (window));
  /* Nothing keeps it (or its OAuth group, which listens to the settings). */
  g_assert_true (wait_for (only_one_ref, window, 10000));
  g_assert_finalize_object (window);
}

static GtkWidget *
field (HeraldWindow *window,
       const char   *name)
{
  GtkWidget *widget = _herald_window_get_widget (window, name);

  g_assert_nonnull (widget);
  return widget;
}

static void
select_item (HeraldWindow *window,
             const char   *name,
             const char   *label)
{
  AdwComboRow *row = ADW_COMBO_ROW (field (window, name));
  GListModel *model = adw_combo_row_get_model (row);

  for (guint i = 0; i < g_list_model_get_n_items (model); i++)
    {
      g_autoptr(GtkStringObject) item = g_list_model_get_item (model, i);

      if (g_str_equal (gtk_string_object_get_string (item), label))
        {
          adw_combo_row_set_selected (row, i);
          return;
        }
    }
  g_error ("No item “%s” in %s", label, name);
}

static gboolean
shown (HeraldWindow *window,
       const char   *name)
{
  return herald_test_widget_shown (field (window, name));
}

/* A delegated sign-in for Graph whose access token is still fresh. */
static void
store_graph_sign_in (void)
{
  g_autoptr(HeraldOAuthTokens) tokens = herald_oauth_tokens_new ();
  g_autoptr(GError) error = NULL;

  tokens->refresh_token = g_strdup ("ui-graph-refresh-token");
  tokens->access_token = g_strdup (TOKEN);
  tokens->expires_at = g_get_real_time () / G_USEC_PER_SEC + 3600;
  tokens->scope = g_strdup (GRAPH_SCOPE);
  herald_oauth_tokens_store_sync ("microsoft", USERNAME, CLIENT_ID, tokens, NULL, &error);
  g_assert_no_error (error);
}

static void
test_transport_rows (void)
{
  g_autoptr(GSettings) settings = g_settings_new ("io.github.heraldmail.Herald");
  g_autofree char *transport = NULL;
  HeraldWindow *window;

  reset_settings ();
  window = new_window ();

  /* Offered with the Microsoft 365 preset only. */
  g_assert_false (shown (window, "transport"));
  select_item (window, "provider", "Microsoft 365 / Exchange Online");
  g_assert_true (shown (window, "transport"));
  g_assert_true (shown (window, "server"));
  g_assert_true (shown (window, "port"));
  g_assert_true (shown (window, "security"));
  g_assert_true (shown (window, "auth"));

  /* Graph: no server, port, security or login method; the sign-in stays. */
  select_item (window, "transport", "Microsoft Graph");
  transport = g_settings_get_string (settings, "transport");
  g_assert_cmpstr (transport, ==, "graph");
  g_assert_false (shown (window, "server"));
  g_assert_false (shown (window, "port"));
  g_assert_false (shown (window, "security"));
  g_assert_false (shown (window, "auth"));
  g_assert_false (shown (window, "password"));
  g_assert_true (shown (window, "username"));
  g_assert_true (shown (window, "oauth-group"));
  g_assert_cmpstr (adw_preferences_row_get_title (ADW_PREFERENCES_ROW (field (window, "transport"))),
                   ==, "Transport");

  /* And back. */
  select_item (window, "transport", "SMTP");
  g_assert_true (shown (window, "server"));
  g_assert_true (shown (window, "port"));
  g_assert_true (shown (window, "security"));
  g_assert_true (shown (window, "auth"));

  destroy_window (window);
}

static void
test_send_through_graph (void)
{
  g_autoptr(GSettings) settings = g_settings_new ("io.github.heraldmail.Herald");
  g_autoptr(FakeGraph) graph = fake_graph_new (NULL);
  g_autoptr(FakeGraphRequest) request = NULL;
  g_autofree char *mime = NULL;
  g_autoptr(HeraldHistoryEntry) sent = NULL;
  g_autoptr(HeraldHistoryEntry) failed = NULL;
  g_autofree char *history = herald_history_get_path ();
  HeraldErrorDialog *dialog;
  const char *title;
  const char *body;
  HeraldWindow *window;

  reset_settings ();
  g_remove (history);
  g_settings_set_string (settings, "provider", "microsoft365");
  g_settings_set_string (settings, "oauth-client-id", CLIENT_ID);
  g_settings_set_string (settings, "username", USERNAME);
  g_settings_set_string (settings, "from", USERNAME);
  g_settings_set_string (settings, "to", TO);
  g_settings_set_string (settings, "graph-endpoint", fake_graph_get_endpoint (graph));
  g_settings_set_string (settings, "transport", "graph");
  store_graph_sign_in ();
  fake_graph_set_token (graph, TOKEN);

  window = new_window ();
  g_assert_true (wait_for (oauth_idle, window, 10000));
  g_test_message ("validation: %s", gtk_label_get_text (GTK_LABEL (field (window, "validation"))));
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (window), "win.send", NULL));
  g_assert_true (wait_for (not_running, window, 20000));
  g_assert_true (wait_for (banner_revealed, window, 5000));

  /* Graph's 202 is acceptance for delivery, and the banner says no more. */
  title = herald_banner_get_title (_herald_window_get_banner (window));
  g_test_message ("banner: %s", title);
  g_assert_true (g_str_has_prefix (title, "Microsoft accepted the message for delivery to " TO
                                          " (Microsoft Graph)."));
  g_assert_null (strstr (title, "sent to"));
  g_assert_cmpuint (fake_graph_get_n_requests (graph), ==, 1);
  request = fake_graph_get_request (graph, 0);
  g_assert_cmpstr (request->path, ==, "/v1.0/me/sendMail");
  g_assert_cmpstr (request->authorization, ==, "Bearer " TOKEN);
  mime = g_strndup (g_bytes_get_data (request->mime, NULL), g_bytes_get_size (request->mime));
  g_assert_nonnull (strstr (mime, "To: " TO));

  /* Each test through Graph is in the history, as Graph's. */
  g_assert_true (wait_for (history_has, GUINT_TO_POINTER (1), 10000));
  sent = newest_history_entry ();
  g_assert_cmpstr (sent->outcome, ==, "sent");
  g_assert_cmpstr (sent->transport, ==, "graph");

  /* Refused: the banner and the dialog name the transport; Graph's code
   * is diagnosed. */
  fake_graph_push_reply (graph, 403, NULL, FAKE_GRAPH_ACCESS_DENIED);
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (window), "win.send", NULL));
  g_assert_true (wait_for (not_running, window, 20000));
  g_assert_true (wait_for (dialog_open, window, 5000));
  title = herald_banner_get_title (_herald_window_get_banner (window));
  g_test_message ("banner: %s", title);
  g_assert_true (g_str_has_prefix (title, "The test through Microsoft Graph failed: "));
  dialog = _herald_window_get_error_dialog (window);
  g_assert_cmpstr (herald_error_dialog_get_diagnosis (dialog)->id, ==, "graph-access-denied");
  body = adw_message_dialog_get_body (ADW_MESSAGE_DIALOG (dialog));
  g_assert_true (g_str_has_prefix (body, "Sent through Microsoft Graph. "));
  /* Already on Graph: no switch offered. */
  g_assert_false (adw_message_dialog_has_response (ADW_MESSAGE_DIALOG (dialog), "switch-to-graph"));
  g_assert_true (wait_for (history_has, GUINT_TO_POINTER (2), 10000));
  failed = newest_history_entry ();
  g_assert_cmpstr (failed->outcome, ==, "failed");
  g_assert_cmpstr (failed->transport, ==, "graph");

  destroy_window (window);
  g_assert_true (herald_oauth_tokens_clear_sync ("microsoft", USERNAME, CLIENT_ID, NULL, NULL));
}

typedef struct {
  char *uri;
} Browser;

static gboolean
browser_open (const char  *uri,
              gpointer     user_data,
              GError     **error)
{
  Browser *browser = user_data;

  g_free (browser->uri);
  browser->uri = g_strdup (uri);
  return TRUE;
}

static gboolean
browser_opened (gpointer data)
{
  return ((Browser *) data)->uri != NULL;
}

/* SMTP AUTH off for the tenant: the dialog offers Graph; pressing it
 * switches the transport and starts the sign-in for Graph's scope. */
static void
test_switch_to_graph (void)
{
  g_autoptr(GSettings) settings = g_settings_new ("io.github.heraldmail.Herald");
  g_autoptr(HeraldFakeServer) server = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GUri) uri = NULL;
  g_autoptr(GHashTable) query = NULL;
  g_autofree char *transport = NULL;
  Browser browser = { NULL };
  HeraldErrorDialog *dialog;
  HeraldWindow *window;
  guint16 port;

  server = herald_fake_server_new_from_script (
    "S 220 AM0PR01CA0001.outlook.office365.com Microsoft ESMTP MAIL Service ready\n"
    "C EHLO .*\n"
    "S 250-fake.example\n"
    "S 250 AUTH LOGIN PLAIN\n"
    "C AUTH PLAIN .*\n"
    "S 535 5.7.139 Authentication unsuccessful, SmtpClientAuthentication is disabled for the "
    "Tenant. Visit https://aka.ms/smtp_auth_disabled for more information.\n"
    "LOOP-UNTIL-QUIT\n");
  port = herald_fake_server_start (server, &error);
  g_assert_no_error (error);

  reset_settings ();
  g_settings_set_string (settings, "server", "127.0.0.1");
  g_settings_set_int (settings, "port", port);
  g_settings_set_string (settings, "security", "none");
  g_settings_set_string (settings, "auth", "plain");
  g_settings_set_string (settings, "username", USERNAME);
  g_settings_set_string (settings, "oauth-client-id", CLIENT_ID);
  g_settings_set_string (settings, "from", USERNAME);
  g_settings_set_string (settings, "to", TO);

  window = new_window ();
  gtk_editable_set_text (GTK_EDITABLE (field (window, "password")), "not-used-in-the-end");
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (window), "win.send", NULL));
  g_assert_true (wait_for (not_running, window, 20000));
  g_assert_true (wait_for (dialog_open, window, 5000));
  dialog = _herald_window_get_error_dialog (window);
  g_assert_cmpstr (herald_error_dialog_get_diagnosis (dialog)->id, ==,
                   "exo-smtp-auth-disabled-tenant");
  /* The rule's fix is the dialog's fix button. */
  g_assert_cmpstr (herald_error_dialog_get_fix (dialog), ==, "Send Through Microsoft Graph");

  herald_oauth_set_browser_func (browser_open, &browser);
  g_signal_emit_by_name (dialog, "fix");
  g_assert_true (wait_for (browser_opened, &browser, 10000));
  transport = g_settings_get_string (settings, "transport");
  g_assert_cmpstr (transport, ==, "graph");
  g_assert_false (shown (window, "server"));

  /* The sign-in asks for Graph's Mail.Send. */
  uri = g_uri_parse (browser.uri, G_URI_FLAGS_ENCODED_QUERY, &error);
  g_assert_no_error (error);
  query = g_uri_parse_params (g_uri_get_query (uri), -1, "&", G_URI_PARAMS_WWW_FORM, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (g_hash_table_lookup (query, "scope"), ==, GRAPH_SCOPE);

  /* Give up the sign-in nobody finishes. */
  gtk_widget_activate_action (field (window, "oauth-group"), "oauth.cancel", NULL);
  g_assert_true (wait_for (oauth_idle, window, 10000));
  herald_oauth_set_browser_func (NULL, NULL);
  g_free (browser.uri);
  destroy_window (window);
}

/* 5.7.30 (Basic authentication retired): OAuth 2.0 is the fix button, and
 * Graph, the rule's second fix, is offered beside it. */
static void
test_graph_as_alternative (void)
{
  g_autoptr(GSettings) settings = g_settings_new ("io.github.heraldmail.Herald");
  g_autoptr(HeraldFakeServer) server = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *transport = NULL;
  Browser browser = { NULL };
  HeraldErrorDialog *dialog;
  HeraldWindow *window;
  guint16 port;

  server = herald_fake_server_new_from_script (
    "S 220 AM0PR01CA0001.outlook.office365.com Microsoft ESMTP MAIL Service ready\n"
    "C EHLO .*\n"
    "S 250-fake.example\n"
    "S 250 AUTH LOGIN PLAIN\n"
    "C AUTH PLAIN .*\n"
    "S 535 5.7.30 Basic authentication is not supported for Client Submission.\n"
    "LOOP-UNTIL-QUIT\n");
  port = herald_fake_server_start (server, &error);
  g_assert_no_error (error);

  reset_settings ();
  g_settings_set_string (settings, "server", "127.0.0.1");
  g_settings_set_int (settings, "port", port);
  g_settings_set_string (settings, "security", "none");
  g_settings_set_string (settings, "auth", "plain");
  g_settings_set_string (settings, "username", USERNAME);
  g_settings_set_string (settings, "from", USERNAME);
  g_settings_set_string (settings, "to", TO);

  window = new_window ();
  gtk_editable_set_text (GTK_EDITABLE (field (window, "password")), "not-used-in-the-end");
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (window), "win.send", NULL));
  g_assert_true (wait_for (not_running, window, 20000));
  g_assert_true (wait_for (dialog_open, window, 5000));
  dialog = _herald_window_get_error_dialog (window);
  g_assert_cmpstr (herald_error_dialog_get_diagnosis (dialog)->id, ==, "exo-basic-auth-retired");
  g_assert_cmpstr (herald_error_dialog_get_fix (dialog), ==, "Switch to OAuth 2.0");
  g_assert_true (adw_message_dialog_has_response (ADW_MESSAGE_DIALOG (dialog), "switch-to-graph"));
  g_assert_true (adw_message_dialog_get_response_enabled (ADW_MESSAGE_DIALOG (dialog),
                                                          "switch-to-graph"));
  g_assert_cmpstr (adw_message_dialog_get_response_label (ADW_MESSAGE_DIALOG (dialog),
                                                          "switch-to-graph"),
                   ==, "Send Through Microsoft Graph");
  /* No client ID: the sign-in cannot start, the transport changes all the same. */
  herald_oauth_set_browser_func (browser_open, &browser);
  adw_message_dialog_response (ADW_MESSAGE_DIALOG (dialog), "switch-to-graph");
  transport = g_settings_get_string (settings, "transport");
  g_assert_cmpstr (transport, ==, "graph");
  g_assert_true (wait_for (oauth_idle, window, 10000));
  herald_oauth_set_browser_func (NULL, NULL);
  g_free (browser.uri);

  destroy_window (window);
}

int
main (int   argc,
      char *argv[])
{
  g_autofree char *state = g_build_filename (g_get_home_dir (), "herald-ui-graph-state-XXXXXX",
                                             NULL);

  /* A history of its own: the suite's other tests write theirs at the same
   * time, and this one counts the entries. Under the suite's throw-away HOME. */
  g_assert_nonnull (g_mkdtemp (state));
  g_setenv ("XDG_STATE_HOME", state, TRUE);
  gtk_test_init (&argc, &argv, NULL);
  adw_init ();

  g_test_add_func ("/window/graph/transport-rows", test_transport_rows);
  g_test_add_func ("/window/graph/send", test_send_through_graph);
  g_test_add_func ("/window/graph/switch-to-graph", test_switch_to_graph);
  g_test_add_func ("/window/graph/graph-as-alternative", test_graph_as_alternative);

  return g_test_run ();
}
