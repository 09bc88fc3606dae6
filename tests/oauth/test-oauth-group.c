/* SPDX-License-Identifier: GPL-3.0-or-later
 * Copyright 2026 The Herald authors
 */
#define G_LOG_DOMAIN "herald-test"

#include "config.h"

#include <adwaita.h>
#include <libsoup/soup.h>
#include <string.h>

#include "fake-idp.h"
#include "herald-oauth.h"
#include "herald-oauth-group.h"
#include "herald-oauth-private.h"
#include "herald-secrets-oauth.h"
#include "herald-widget-util.h"

/* The window's OAuth group against the stand-in identity provider: a real
 * widget in a real window (Xvfb of the test session), driven through its
 * actions as its buttons would, tokens in the session's keyring. */

/* The stand-in browser, checking that the library calls the opener on the
 * GTK thread (in the caller's context). */
static gboolean
browser_open (const char  *uri,
              gpointer     user_data,
              GError     **error)
{
  g_assert_true (g_main_context_is_owner (g_main_context_default ()));
  return fake_idp_browser_open (uri, user_data, error);
}

static void
wait_until_idle (HeraldOAuthGroup *group)
{
  gint64 deadline = g_get_monotonic_time () + 20 * G_USEC_PER_SEC;

  /* Let a pending keyring check start and finish, too. */
  for (int i = 0; i < 20; i++)
    g_main_context_iteration (NULL, FALSE);
  while (herald_oauth_group_get_busy (group) && g_get_monotonic_time () < deadline)
    g_main_context_iteration (NULL, TRUE);
  g_assert_false (herald_oauth_group_get_busy (group));
}

static void
wait_for_signed_in (HeraldOAuthGroup *group,
                    gboolean          expected)
{
  gint64 deadline = g_get_monotonic_time () + 20 * G_USEC_PER_SEC;

  while (herald_oauth_group_get_signed_in (group) != expected && g_get_monotonic_time () < deadline)
    g_main_context_iteration (NULL, TRUE);
  g_assert_cmpint (herald_oauth_group_get_signed_in (group), ==, expected);
}

/* Lets late replies (of replaced keyring checks) arrive. */
static void
drain_main_context (guint ms)
{
  gint64 until = g_get_monotonic_time () + ms * G_TIME_SPAN_MILLISECOND;

  while (g_get_monotonic_time () < until)
    {
      if (!g_main_context_iteration (NULL, FALSE))
        g_usleep (5 * G_TIME_SPAN_MILLISECOND);
    }
}

static void
test_group (void)
{
  g_autoptr(FakeIdp) idp = fake_idp_new ();
  g_autoptr(GSettings) settings = g_settings_new ("io.github.heraldmail.Herald");
  g_autoptr(HeraldOAuthTokens) tokens = NULL;
  g_autoptr(HeraldOAuthAccount) account = NULL;
  GtkWidget *window;
  GtkWidget *group;
  GtkWidget *account_row;
  GtkWidget *error_row;
  GtkWidget *code_label;
  FakeIdpBrowser browser = { 0 };
  g_autofree char *access = NULL;

  g_settings_set_string (settings, "username", "window@contoso.example");
  g_settings_set_string (settings, "oauth-provider", "microsoft");
  g_settings_set_string (settings, "oauth-client-id", FAKE_IDP_CLIENT_ID);
  g_settings_set_string (settings, "oauth-tenant", FAKE_IDP_TENANT);
  g_settings_set_string (settings, "oauth-authority", fake_idp_get_authority (idp));
  account = herald_oauth_account_new_from_settings (settings);

  group = herald_oauth_group_new (settings);
  window = gtk_window_new ();
  gtk_window_set_child (GTK_WINDOW (window), group);
  gtk_window_present (GTK_WINDOW (window));
  wait_until_idle (HERALD_OAUTH_GROUP (group));

  /* Microsoft: client ID and tenant rows, the code link; not signed in. */
  g_assert_true (herald_test_widget_shown (herald_test_find_widget (group, ADW_TYPE_ENTRY_ROW, "Client ID")));
  g_assert_true (herald_test_widget_shown (herald_test_find_widget (group, ADW_TYPE_ENTRY_ROW, "Tenant")));
  g_assert_false (herald_test_widget_shown (herald_test_find_widget (group, ADW_TYPE_PASSWORD_ENTRY_ROW, "Client Secret")));
  g_assert_true (herald_test_widget_shown (herald_test_find_widget (group, GTK_TYPE_BUTTON, "Use a Code Instead")));
  g_assert_true (herald_test_widget_shown (herald_test_find_widget (group, GTK_TYPE_BUTTON, "Sign In")));
  g_assert_false (herald_test_widget_shown (herald_test_find_widget (group, GTK_TYPE_BUTTON, "Sign Out")));
  g_assert_nonnull (herald_test_find_widget (group, ADW_TYPE_EXPANDER_ROW, "How to Get a Client ID"));
  account_row = herald_test_find_widget (group, ADW_TYPE_ACTION_ROW, "Account");
  g_assert_false (herald_oauth_group_get_signed_in (HERALD_OAUTH_GROUP (group)));
  g_assert_cmpstr (adw_action_row_get_subtitle (ADW_ACTION_ROW (account_row)), ==,
                   "Not signed in (window@contoso.example)");

  /* Sign In: the browser opens (here: our HTTP client), the loopback
   * redirect comes back, the tokens land in the keyring. */
  herald_oauth_set_browser_func (browser_open, &browser);
  g_assert_true (gtk_widget_activate_action (group, "oauth.sign-in", NULL));
  g_assert_true (herald_oauth_group_get_busy (HERALD_OAUTH_GROUP (group)));
  g_assert_true (herald_test_widget_shown (herald_test_find_widget (group, GTK_TYPE_BUTTON, "Cancel")));
  wait_until_idle (HERALD_OAUTH_GROUP (group));
  fake_idp_browser_finish (&browser);
  herald_oauth_set_browser_func (NULL, NULL);
  g_assert_true (herald_oauth_group_get_signed_in (HERALD_OAUTH_GROUP (group)));
  g_assert_cmpstr (adw_action_row_get_subtitle (ADW_ACTION_ROW (account_row)), ==,
                   "Signed in as window@contoso.example");
  g_assert_true (herald_test_widget_shown (herald_test_find_widget (group, GTK_TYPE_BUTTON, "Sign Out")));
  g_assert_false (herald_test_widget_shown (herald_test_find_widget (group, GTK_TYPE_BUTTON, "Sign In")));
  tokens = herald_oauth_tokens_lookup_sync ("microsoft", "window@contoso.example", FAKE_IDP_CLIENT_ID, NULL, NULL);
  g_assert_nonnull (tokens);
  access = fake_idp_get_current_access_token (idp);
  g_assert_cmpstr (tokens->access_token, ==, access);
  g_clear_pointer (&tokens, herald_oauth_tokens_free);

  /* Sign Out. */
  g_assert_true (gtk_widget_activate_action (group, "oauth.sign-out", NULL));
  wait_until_idle (HERALD_OAUTH_GROUP (group));
  g_assert_false (herald_oauth_group_get_signed_in (HERALD_OAUTH_GROUP (group)));
  tokens = herald_oauth_tokens_lookup_sync ("microsoft", "window@contoso.example", FAKE_IDP_CLIENT_ID, NULL, NULL);
  g_assert_null (tokens);

  /* Use a Code Instead: the code shows with a copy button while it polls. */
  _herald_oauth_set_poll_unit_ms (100);
  fake_idp_set_device_script (idp, "authorization_pending,authorization_pending,ok", 1, 900);
  g_assert_true (gtk_widget_activate_action (group, "oauth.sign-in-code", NULL));
  {
    gint64 deadline = g_get_monotonic_time () + 10 * G_USEC_PER_SEC;

    while ((code_label = herald_test_find_widget (group, GTK_TYPE_LABEL, "ABCD-EFGH")) == NULL
           && g_get_monotonic_time () < deadline)
      g_main_context_iteration (NULL, TRUE);
  }
  g_assert_nonnull (code_label);
  g_assert_true (herald_test_widget_shown (code_label));
  g_assert_true (herald_oauth_group_get_busy (HERALD_OAUTH_GROUP (group)));
  g_assert_true (gtk_widget_activate_action (group, "oauth.copy-code", NULL));
  {
    GdkContentProvider *content = gdk_clipboard_get_content (gtk_widget_get_clipboard (group));
    GValue value = G_VALUE_INIT;

    g_assert_nonnull (content);
    g_value_init (&value, G_TYPE_STRING);
    g_assert_true (gdk_content_provider_get_value (content, &value, NULL));
    g_assert_cmpstr (g_value_get_string (&value), ==, "ABCD-EFGH");
    g_value_unset (&value);
  }
  wait_until_idle (HERALD_OAUTH_GROUP (group));
  _herald_oauth_set_poll_unit_ms (0);
  g_assert_true (herald_oauth_group_get_signed_in (HERALD_OAUTH_GROUP (group)));
  g_assert_false (herald_test_widget_shown (herald_test_find_widget (group, ADW_TYPE_ACTION_ROW, "Code")));

  /* Changing the address re-checks the keyring: another mailbox is not signed in. */
  g_settings_set_string (settings, "username", "someone-else@contoso.example");
  wait_for_signed_in (HERALD_OAUTH_GROUP (group), FALSE);
  g_settings_set_string (settings, "username", "window@contoso.example");
  wait_for_signed_in (HERALD_OAUTH_GROUP (group), TRUE);

  /* Quick changes start overlapping keyring checks: only the last one may
   * answer, even after replies of the replaced ones have come in. */
  for (int round = 0; round < 2; round++)
    {
      const char *last = round == 0 ? "window@contoso.example" : "someone-else@contoso.example";

      for (int i = 0; i < 8; i++)
        g_settings_set_string (settings, "username",
                               i % 2 == 0 ? "someone-else@contoso.example" : "window@contoso.example");
      g_settings_set_string (settings, "username", last);
      wait_until_idle (HERALD_OAUTH_GROUP (group));
      drain_main_context (300);
      g_assert_false (herald_oauth_group_get_busy (HERALD_OAUTH_GROUP (group)));
      g_assert_cmpint (herald_oauth_group_get_signed_in (HERALD_OAUTH_GROUP (group)), ==, round == 0);
    }
  g_assert_cmpstr (adw_action_row_get_subtitle (ADW_ACTION_ROW (account_row)), ==,
                   "Not signed in (someone-else@contoso.example)");
  g_settings_set_string (settings, "username", "window@contoso.example");
  wait_for_signed_in (HERALD_OAUTH_GROUP (group), TRUE);
  g_assert_true (herald_oauth_sign_out_sync (account, NULL, NULL));

  /* Bad input: a clear message in the group, nothing started. */
  g_settings_set_string (settings, "oauth-client-id", "");
  wait_for_signed_in (HERALD_OAUTH_GROUP (group), FALSE);
  g_assert_true (gtk_widget_activate_action (group, "oauth.sign-in", NULL));
  g_assert_false (herald_oauth_group_get_busy (HERALD_OAUTH_GROUP (group)));
  error_row = herald_test_find_widget (group, ADW_TYPE_ACTION_ROW, "Sign-in failed");
  g_assert_true (herald_test_widget_shown (error_row));
  g_assert_nonnull (strstr (adw_action_row_get_subtitle (ADW_ACTION_ROW (error_row)), "client ID"));

  /* Google: client secret instead of tenant, and no code flow. */
  g_settings_set_string (settings, "oauth-provider", "google");
  wait_until_idle (HERALD_OAUTH_GROUP (group));
  g_assert_false (herald_test_widget_shown (herald_test_find_widget (group, ADW_TYPE_ENTRY_ROW, "Tenant")));
  g_assert_true (herald_test_widget_shown (herald_test_find_widget (group, ADW_TYPE_PASSWORD_ENTRY_ROW, "Client Secret")));
  g_assert_false (gtk_widget_is_sensitive (herald_test_find_widget (group, GTK_TYPE_BUTTON, "Use a Code Instead"))
                  && herald_test_widget_shown (herald_test_find_widget (group, GTK_TYPE_BUTTON, "Use a Code Instead")));

  g_object_ref (group);
  gtk_window_destroy (GTK_WINDOW (window));
  {
    /* A keyring check still running holds a reference until its callback. */
    gint64 deadline = g_get_monotonic_time () + 10 * G_USEC_PER_SEC;

    while (G_OBJECT (group)->ref_count > 1 && g_get_monotonic_time () < deadline)
      g_main_context_iteration (NULL, TRUE);
  }
  g_assert_finalize_object (group);
}

int
main (int    argc,
      char **argv)
{
  gtk_test_init (&argc, &argv, NULL);
  adw_init ();

  g_test_add_func ("/herald/oauth/group/sign-in-out", test_group);
  g_test_add_func ("/herald/oauth/group/no-token-in-files", fake_idp_assert_no_token_under_home);

  return g_test_run ();
}
