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
#include "herald-secrets-oauth.h"
#include "herald-widget-util.h"

/* The window's OAuth group against the stand-in identity provider on
 * 127.0.0.1: a real widget in a real window (Xvfb of the test session), typed
 * into as a user would, driven through the actions its buttons use, tokens in
 * the session's keyring. First the whole sign-in and sign-out, then the
 * authority (Advanced → Authority, for national clouds). */

#define DEFAULT_AUTHORITY "https://login.microsoftonline.com"

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
  herald_oauth_set_poll_unit_ms (100);
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
  herald_oauth_set_poll_unit_ms (0);
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

  /* Bad input: Sign In held back, the account row says what is missing,
   * nothing started and no error to dismiss. */
  g_settings_set_string (settings, "oauth-client-id", "");
  wait_for_signed_in (HERALD_OAUTH_GROUP (group), FALSE);
  g_assert_false (gtk_widget_is_sensitive (herald_test_find_widget (group, GTK_TYPE_BUTTON, "Sign In")));
  gtk_widget_activate_action (group, "oauth.sign-in", NULL);
  g_assert_false (herald_oauth_group_get_busy (HERALD_OAUTH_GROUP (group)));
  error_row = herald_test_find_widget (group, ADW_TYPE_ACTION_ROW, "Sign-in failed");
  g_assert_false (herald_test_widget_shown (error_row));
  g_assert_nonnull (strstr (adw_action_row_get_subtitle (ADW_ACTION_ROW (account_row)), "client ID"));

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

typedef struct {
  GSettings *settings;
  GtkWidget *window;
  GtkWidget *group;
} Fixture;

static void
fixture_set_up (Fixture       *f,
                gconstpointer  data)
{
  const char *authority = data;

  f->settings = g_settings_new ("io.github.heraldmail.Herald");
  g_settings_set_string (f->settings, "username", "alerts@contoso.example");
  g_settings_set_string (f->settings, "oauth-provider", "microsoft");
  g_settings_set_string (f->settings, "oauth-client-id", FAKE_IDP_CLIENT_ID);
  g_settings_set_string (f->settings, "oauth-tenant", FAKE_IDP_TENANT);
  g_settings_set_string (f->settings, "oauth-authority", authority != NULL ? authority : "");

  f->group = g_object_ref_sink (herald_oauth_group_new (f->settings));
  f->window = gtk_window_new ();
  gtk_window_set_child (GTK_WINDOW (f->window), f->group);
  gtk_window_present (GTK_WINDOW (f->window));
  wait_until_idle (HERALD_OAUTH_GROUP (f->group));
}

static void
fixture_tear_down (Fixture       *f,
                   gconstpointer  data)
{
  gint64 deadline = g_get_monotonic_time () + 10 * G_USEC_PER_SEC;

  gtk_window_destroy (GTK_WINDOW (f->window));
  /* A keyring check still running holds a reference until its callback. */
  while (G_OBJECT (f->group)->ref_count > 1 && g_get_monotonic_time () < deadline)
    g_main_context_iteration (NULL, TRUE);
  g_assert_finalize_object (f->group);

  g_settings_reset (f->settings, "oauth-authority");
  g_settings_reset (f->settings, "oauth-provider");
  g_clear_object (&f->settings);
}

static GtkWidget *
advanced_row (Fixture *f)
{
  GtkWidget *row = herald_test_find_widget (f->group, ADW_TYPE_EXPANDER_ROW, "Advanced");

  g_assert_nonnull (row);
  return row;
}

static GtkWidget *
authority_row (Fixture *f)
{
  GtkWidget *row = herald_test_find_widget (advanced_row (f), ADW_TYPE_ENTRY_ROW, "Authority");

  g_assert_nonnull (row);
  return row;
}

/* Types text into the row as the keyboard would, replacing what was there. */
static void
type_authority (Fixture    *f,
                const char *text)
{
  GtkEditable *row = GTK_EDITABLE (authority_row (f));

  gtk_editable_delete_text (row, 0, -1);
  gtk_editable_insert_text (row, text, -1, &(int) { 0 });
  /* The group asks the keyring again after each change. */
  wait_until_idle (HERALD_OAUTH_GROUP (f->group));
}

static gboolean
sign_in_allowed (Fixture *f)
{
  GtkWidget *button = herald_test_find_widget (f->group, GTK_TYPE_BUTTON, "Sign In");

  g_assert_nonnull (button);
  g_assert_true (herald_test_widget_shown (button));
  /* The button follows the action: insensitive when Sign In is held back. */
  return gtk_widget_is_sensitive (button);
}

/* The label under the row that says why, or NULL when none shows. */
static const char *
shown_reason (Fixture *f)
{
  GtkWidget *row = authority_row (f);
  GtkWidget *advanced = advanced_row (f);

  for (GtkWidget *w = gtk_widget_get_first_child (advanced); w != NULL; )
    {
      if (GTK_IS_LABEL (w) && gtk_widget_has_css_class (w, "error") && herald_test_widget_shown (w))
        {
          const char *text = gtk_label_get_text (GTK_LABEL (w));

          g_assert_true (gtk_widget_has_css_class (row, "error"));
          /* The row's subtitle says so too, for a folded row. */
          g_assert_cmpstr (adw_expander_row_get_subtitle (ADW_EXPANDER_ROW (advanced)), ==,
                           "This authority cannot be used");
          return text;
        }
      /* Depth-first walk. */
      if (gtk_widget_get_first_child (w) != NULL)
        w = gtk_widget_get_first_child (w);
      else
        {
          while (w != advanced && gtk_widget_get_next_sibling (w) == NULL)
            w = gtk_widget_get_parent (w);
          w = w == advanced ? NULL : gtk_widget_get_next_sibling (w);
        }
    }

  g_assert_false (gtk_widget_has_css_class (row, "error"));
  return NULL;
}

/* Whether one of the labels under root reading text names accessible
 * through labelled-by (the way GTK 4.8 builds the AT-SPI name). */
static gboolean
labelled_by_label_below (GtkWidget  *accessible,
                         GtkWidget  *root,
                         const char *text)
{
  for (GtkWidget *child = gtk_widget_get_first_child (root); child != NULL;
       child = gtk_widget_get_next_sibling (child))
    {
      if (GTK_IS_LABEL (child) && g_strcmp0 (gtk_label_get_text (GTK_LABEL (child)), text) == 0)
        {
          g_autofree char *mismatch =
            gtk_test_accessible_check_relation (GTK_ACCESSIBLE (accessible),
                                                GTK_ACCESSIBLE_RELATION_LABELLED_BY, child, NULL);

          if (mismatch == NULL)
            return TRUE;
        }
      if (labelled_by_label_below (accessible, child, text))
        return TRUE;
    }

  return FALSE;
}

static gboolean
labelled_by_text (GtkWidget  *widget,
                  const char *text)
{
  return labelled_by_label_below (widget, widget, text);
}

static gboolean
has_label_text (GtkWidget  *root,
                const char *text)
{
  return herald_test_find_widget (root, GTK_TYPE_LABEL, text) != NULL;
}

static void
test_row (Fixture       *f,
          gconstpointer  data)
{
  GtkWidget *advanced = advanced_row (f);
  GtkWidget *row = authority_row (f);
  GtkEditable *text = gtk_editable_get_delegate (GTK_EDITABLE (row));
  g_autofree char *stored = NULL;
  g_autofree char *expected_label = NULL;

  /* Microsoft: Advanced shows, folded while no override is set. */
  g_assert_true (herald_test_widget_shown (advanced));
  g_assert_false (adw_expander_row_get_expanded (ADW_EXPANDER_ROW (advanced)));
  g_assert_cmpstr (gtk_editable_get_text (GTK_EDITABLE (row)), ==, "");

  /* The default shows as the row's hint, and the help says what it is for. */
  g_assert_true (GTK_IS_TEXT (text));
  g_assert_cmpstr (gtk_text_get_placeholder_text (GTK_TEXT (text)), ==, DEFAULT_AUTHORITY);
  g_assert_nonnull (herald_test_find_widget (advanced, GTK_TYPE_LABEL,
                                             "For Microsoft 365 in a national cloud only: "
                                             "https://login.microsoftonline.us (GCC High, DoD) or "
                                             "https://login.chinacloudapi.cn (operated by 21Vianet). "
                                             "Leave it empty for the default, " DEFAULT_AUTHORITY "."));

  /* Its accessible name is its label: in libadwaita 1.2 the row itself is
   * the text box AT-SPI reads, labelled by its title label. */
  g_assert_cmpint (gtk_accessible_get_accessible_role (GTK_ACCESSIBLE (row)), ==,
                   GTK_ACCESSIBLE_ROLE_TEXT_BOX);
  g_assert_true (labelled_by_text (row, "Authority"));
  g_assert_true (labelled_by_text (advanced, "Advanced") || has_label_text (advanced, "Advanced"));

  /* What is typed goes to the setting; no reason for a good address. */
  adw_expander_row_set_expanded (ADW_EXPANDER_ROW (advanced), TRUE);
  type_authority (f, "https://login.microsoftonline.us");
  stored = g_settings_get_string (f->settings, "oauth-authority");
  g_assert_cmpstr (stored, ==, "https://login.microsoftonline.us");
  g_assert_null (shown_reason (f));
  g_assert_cmpstr (adw_expander_row_get_subtitle (ADW_EXPANDER_ROW (advanced)), ==,
                   "Sign-in address: https://login.microsoftonline.us");
  g_clear_pointer (&stored, g_free);

  /* Emptied: back to the provider's default. */
  type_authority (f, "");
  stored = g_settings_get_string (f->settings, "oauth-authority");
  g_assert_cmpstr (stored, ==, "");
  g_assert_true (sign_in_allowed (f));

  /* Google: no national clouds, no row. */
  g_settings_set_string (f->settings, "oauth-provider", "google");
  wait_until_idle (HERALD_OAUTH_GROUP (f->group));
  g_assert_false (herald_test_widget_shown (advanced));

  /* …unless an override is in effect: Google's sign-in goes there too
   * (src/oauth honours it for every provider), so it shows to be cleared. */
  g_settings_set_string (f->settings, "oauth-authority", "https://login.microsoftonline.us");
  wait_until_idle (HERALD_OAUTH_GROUP (f->group));
  g_assert_true (herald_test_widget_shown (advanced));
  expected_label = g_strdup ("Google has no national clouds, yet its sign-in goes to this "
                             "address too. Clear it to sign in at https://accounts.google.com.");
  g_assert_nonnull (herald_test_find_widget (advanced, GTK_TYPE_LABEL, expected_label));
  type_authority (f, "");
  wait_until_idle (HERALD_OAUTH_GROUP (f->group));
  g_assert_false (herald_test_widget_shown (advanced));

  /* Back to Microsoft: shown again. */
  g_settings_set_string (f->settings, "oauth-provider", "microsoft");
  wait_until_idle (HERALD_OAUTH_GROUP (f->group));
  g_assert_true (herald_test_widget_shown (advanced));
}

static void
test_expanded_when_set (Fixture       *f,
                        gconstpointer  data)
{
  GtkWidget *advanced = advanced_row (f);

  /* An override set by heraldctl login --authority or gsettings shows at once. */
  g_assert_true (herald_test_widget_shown (advanced));
  g_assert_true (adw_expander_row_get_expanded (ADW_EXPANDER_ROW (advanced)));
  g_assert_cmpstr (gtk_editable_get_text (GTK_EDITABLE (authority_row (f))), ==,
                   "https://login.chinacloudapi.cn");
  g_assert_null (shown_reason (f));
  g_assert_true (sign_in_allowed (f));
}

static void
test_invalid (Fixture       *f,
              gconstpointer  data)
{
  struct { const char *typed; const char *reason_part; } bad[] = {
    { "http://login.microsoftonline.us", "must start with https://" },
    { "ftp://login.microsoftonline.us", "must start with https://" },
    { "login.microsoftonline.us", "must start with https://" },
    { "https://login.microsoftonline.us /", "contains a space" },
    { "https://login microsoftonline.us", "contains a space" },
    { "https://login.microsoftonline.us ", "contains a space" },
    { "https://", "has no host name" },
    { "https://login.microsoftonline.us/?x=1", "without user name, query or fragment" },
  };
  const char *good[] = {
    "https://login.microsoftonline.us",
    "https://login.chinacloudapi.cn/",
    "https://login.microsoftonline.us/contoso.onmicrosoft.us",
    /* Plain http only for this computer, as src/oauth accepts it. */
    "http://127.0.0.1:8080",
    "http://localhost:8080/contoso.example",
  };
  GtkWidget *advanced = advanced_row (f);
  GtkWidget *button = herald_test_find_widget (f->group, GTK_TYPE_BUTTON, "Sign In");

  g_assert_true (sign_in_allowed (f));

  for (guint i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      const char *reason;
      g_autofree char *stored = NULL;

      /* Folded: a bad address unfolds the row, so the reason is seen. */
      adw_expander_row_set_expanded (ADW_EXPANDER_ROW (advanced), FALSE);
      type_authority (f, bad[i].typed);
      g_test_message ("typed “%s”", bad[i].typed);
      reason = shown_reason (f);
      g_assert_nonnull (reason);
      g_assert_nonnull (strstr (reason, bad[i].reason_part));
      g_assert_true (adw_expander_row_get_expanded (ADW_EXPANDER_ROW (advanced)));
      g_assert_false (sign_in_allowed (f));
      g_assert_false (gtk_widget_is_sensitive (herald_test_find_widget (f->group, GTK_TYPE_BUTTON,
                                                                        "Use a Code Instead")));
      g_assert_cmpstr (gtk_widget_get_tooltip_text (button), ==, reason);
      /* Nothing typed is lost. */
      stored = g_settings_get_string (f->settings, "oauth-authority");
      g_assert_cmpstr (stored, ==, bad[i].typed);
      g_assert_cmpstr (gtk_editable_get_text (GTK_EDITABLE (authority_row (f))), ==, bad[i].typed);

      /* Pressed anyway (e.g. a shortcut): nothing starts. */
      gtk_widget_activate_action (f->group, "oauth.sign-in", NULL);
      g_assert_false (herald_oauth_group_get_busy (HERALD_OAUTH_GROUP (f->group)));

      /* Fixed: allowed again, the reason gone. */
      type_authority (f, good[i % G_N_ELEMENTS (good)]);
      g_assert_null (shown_reason (f));
      g_assert_true (sign_in_allowed (f));
      g_assert_null (gtk_widget_get_tooltip_text (button));
    }

  for (guint i = 0; i < G_N_ELEMENTS (good); i++)
    {
      type_authority (f, good[i]);
      g_test_message ("typed “%s”", good[i]);
      g_assert_null (shown_reason (f));
      g_assert_true (sign_in_allowed (f));
    }
}

static void
test_sign_in_goes_there (Fixture       *f,
                         gconstpointer  data)
{
  g_autoptr(FakeIdp) idp = fake_idp_new ();
  g_autoptr(HeraldOAuthAccount) account = NULL;
  g_autoptr(HeraldOAuthTokens) tokens = NULL;
  g_autofree char *expected = NULL;
  g_autofree char *access = NULL;
  GtkWidget *error_row;
  FakeIdpBrowser browser = { .allowed = fake_idp_get_base_url (idp) };

  /* The stand-in's address without the tenant, as an administrator types
   * https://login.microsoftonline.us: the tenant is added to it. */
  adw_expander_row_set_expanded (ADW_EXPANDER_ROW (advanced_row (f)), TRUE);
  type_authority (f, fake_idp_get_base_url (idp));
  wait_until_idle (HERALD_OAUTH_GROUP (f->group));
  g_assert_true (sign_in_allowed (f));

  herald_oauth_set_browser_func (fake_idp_browser_open, &browser);
  g_assert_true (gtk_widget_activate_action (f->group, "oauth.sign-in", NULL));
  wait_until_idle (HERALD_OAUTH_GROUP (f->group));
  herald_oauth_set_browser_func (NULL, NULL);
  g_assert_nonnull (browser.uri);
  g_test_message ("browser opened %s", browser.uri);
  g_assert_nonnull (browser.thread);

  expected = g_strdup_printf ("%s/oauth2/v2.0/authorize?", fake_idp_get_authority (idp));
  g_assert_true (g_str_has_prefix (browser.uri, expected));
  fake_idp_browser_finish (&browser);
  g_assert_cmpuint (fake_idp_get_n_code_exchanges (idp), ==, 1);
  g_assert_true (herald_oauth_group_get_signed_in (HERALD_OAUTH_GROUP (f->group)));
  tokens = herald_oauth_tokens_lookup_sync ("microsoft", "alerts@contoso.example", FAKE_IDP_CLIENT_ID,
                                            NULL, NULL);
  g_assert_nonnull (tokens);
  access = fake_idp_get_current_access_token (idp);
  g_assert_cmpstr (tokens->access_token, ==, access);

  /* Changed after signing in: as for the tenant, the keyring is asked again
   * (the tokens belong to the mailbox and client ID) and no stale error
   * stays; a bad address shows its reason. */
  type_authority (f, "https://login.microsoftonline.us");
  wait_until_idle (HERALD_OAUTH_GROUP (f->group));
  g_assert_true (herald_oauth_group_get_signed_in (HERALD_OAUTH_GROUP (f->group)));
  error_row = herald_test_find_widget (f->group, ADW_TYPE_ACTION_ROW, "Sign-in failed");
  g_assert_false (herald_test_widget_shown (error_row));
  type_authority (f, "http://login.microsoftonline.us");
  wait_until_idle (HERALD_OAUTH_GROUP (f->group));
  g_assert_nonnull (shown_reason (f));

  account = herald_oauth_account_new_from_settings (f->settings);
  g_assert_true (herald_oauth_sign_out_sync (account, NULL, NULL));
}

static void
count_cb (guint *count)
{
  (*count)++;
}

static GtkWidget *
find_button_by_tooltip (GtkWidget  *root,
                        const char *tooltip)
{
  if (GTK_IS_BUTTON (root) && g_strcmp0 (gtk_widget_get_tooltip_text (root), tooltip) == 0)
    return root;
  for (GtkWidget *child = gtk_widget_get_first_child (root); child != NULL;
       child = gtk_widget_get_next_sibling (child))
    {
      GtkWidget *found = find_button_by_tooltip (child, tooltip);

      if (found != NULL)
        return found;
    }
  return NULL;
}

static gboolean
sign_in_enabled (Fixture *f)
{
  GtkWidget *button = herald_test_find_widget (f->group, GTK_TYPE_BUTTON, "Sign In");

  g_assert_nonnull (button);
  return gtk_widget_is_sensitive (button);
}

static const char *
account_subtitle (Fixture *f)
{
  GtkWidget *row = herald_test_find_widget (f->group, ADW_TYPE_ACTION_ROW, "Account");

  g_assert_nonnull (row);
  return adw_action_row_get_subtitle (ADW_ACTION_ROW (row));
}

/* Sign In waits for a mailbox and a client ID of the right form, and says
 * which is missing (on the account row and the button's tooltip); a client
 * ID of the wrong form is marked at its row. No click earns an error. */
static void
test_sign_in_needs (Fixture       *f,
                    gconstpointer  data)
{
  GtkWidget *client_id = herald_test_find_widget (f->group, ADW_TYPE_ENTRY_ROW, "Client ID");
  g_autoptr(HeraldOAuthAccount) account = NULL;

  g_assert_nonnull (client_id);
  g_assert_true (sign_in_enabled (f));
  g_assert_false (gtk_widget_has_css_class (client_id, "error"));

  g_settings_set_string (f->settings, "username", "");
  wait_until_idle (HERALD_OAUTH_GROUP (f->group));
  g_assert_false (sign_in_enabled (f));
  g_assert_nonnull (strstr (account_subtitle (f), "(Username)"));

  g_settings_set_string (f->settings, "username", "ops@");
  wait_until_idle (HERALD_OAUTH_GROUP (f->group));
  g_assert_false (sign_in_enabled (f));
  g_assert_nonnull (strstr (account_subtitle (f), "is not a mailbox"));

  g_settings_set_string (f->settings, "username", "alerts@contoso.example");
  g_settings_set_string (f->settings, "oauth-client-id", "");
  wait_until_idle (HERALD_OAUTH_GROUP (f->group));
  account = herald_oauth_account_new_from_settings (f->settings);
  if (herald_oauth_account_get_effective_client_id (account) == NULL)
    {
      g_assert_false (sign_in_enabled (f));
      g_assert_nonnull (strstr (account_subtitle (f), "client ID"));
      /* Empty is not wrong, only missing: no error style on a fresh row. */
      g_assert_false (gtk_widget_has_css_class (client_id, "error"));
    }

  g_settings_set_string (f->settings, "oauth-client-id", "my app");
  wait_until_idle (HERALD_OAUTH_GROUP (f->group));
  g_assert_false (sign_in_enabled (f));
  g_assert_true (gtk_widget_has_css_class (client_id, "error"));
  g_assert_nonnull (strstr (account_subtitle (f), "Application (client) ID"));

  g_settings_set_string (f->settings, "oauth-client-id", FAKE_IDP_CLIENT_ID);
  wait_until_idle (HERALD_OAUTH_GROUP (f->group));
  g_assert_true (sign_in_enabled (f));
  g_assert_false (gtk_widget_has_css_class (client_id, "error"));
}

/* The client-ID guide: links to the Entra admin center and the app
 * registrations, copy buttons for the redirect URI, the permission and a
 * command for Cloud Shell that registers the app and prints the client ID. */
static void
test_guide (Fixture       *f,
            gconstpointer  data)
{
  struct { const char *button; const char *text; } copies[] = {
    { "Copy Redirect URI", "http://localhost" },
    { "Copy Permission Name", "SMTP.Send" },
    { "Copy Command", NULL },
  };
  const char *command = herald_oauth_group_get_guide_command (HERALD_OAUTH_GROUP (f->group));
  GtkWidget *link;
  guint n_copied = 0;

  link = herald_test_find_widget (f->group, GTK_TYPE_LINK_BUTTON, "Microsoft Entra admin center");
  g_assert_nonnull (link);
  g_assert_cmpstr (gtk_link_button_get_uri (GTK_LINK_BUTTON (link)), ==, "https://entra.microsoft.com/");
  link = herald_test_find_widget (f->group, GTK_TYPE_LINK_BUTTON, "App registrations");
  g_assert_nonnull (link);
  g_assert_true (g_str_has_prefix (gtk_link_button_get_uri (GTK_LINK_BUTTON (link)),
                                   "https://entra.microsoft.com/#view/Microsoft_AAD_RegisteredApps/"));

  /* The command registers a public client with the loopback redirect and
   * SMTP.Send, and prints the client ID (appId). */
  g_assert_true (g_str_has_prefix (strstr (command, "az ad app create"), "az ad app create"));
  g_assert_nonnull (strstr (command, "--public-client-redirect-uris http://localhost"));
  g_assert_nonnull (strstr (command, "--is-fallback-public-client true"));
  g_assert_nonnull (strstr (command, "'SMTP.Send'"));
  g_assert_nonnull (strstr (command, "clientId: appId"));
  g_assert_nonnull (herald_test_find_widget (f->group, GTK_TYPE_LABEL, command));

  g_signal_connect_swapped (f->group, "copied", G_CALLBACK (count_cb), &n_copied);
  for (guint i = 0; i < G_N_ELEMENTS (copies); i++)
    {
      GtkWidget *button = NULL;
      g_autofree char *copied = NULL;

      /* The icon buttons are named by their accessible label (their tooltip). */
      button = herald_test_find_widget (f->group, GTK_TYPE_BUTTON, copies[i].button);
      if (button == NULL)
        button = find_button_by_tooltip (f->group, copies[i].button);
      g_assert_nonnull (button);
      g_signal_emit_by_name (button, "clicked");
      copied = herald_test_clipboard_text (f->group);
      g_assert_cmpstr (copied, ==, copies[i].text != NULL ? copies[i].text : command);
      g_assert_cmpuint (n_copied, ==, i + 1);
    }
}

int
main (int    argc,
      char **argv)
{
  gtk_test_init (&argc, &argv, NULL);
  adw_init ();

  g_test_add_func ("/herald/ui/oauth-group/sign-in-out", test_group);
  g_test_add ("/herald/ui/oauth-group/authority/row", Fixture, NULL,
              fixture_set_up, test_row, fixture_tear_down);
  g_test_add ("/herald/ui/oauth-group/authority/expanded-when-set", Fixture, "https://login.chinacloudapi.cn",
              fixture_set_up, test_expanded_when_set, fixture_tear_down);
  g_test_add ("/herald/ui/oauth-group/authority/invalid-blocks-sign-in", Fixture, NULL,
              fixture_set_up, test_invalid, fixture_tear_down);
  g_test_add ("/herald/ui/oauth-group/authority/sign-in-goes-there", Fixture, NULL,
              fixture_set_up, test_sign_in_goes_there, fixture_tear_down);
  g_test_add ("/herald/ui/oauth-group/sign-in-needs", Fixture, NULL,
              fixture_set_up, test_sign_in_needs, fixture_tear_down);
  g_test_add ("/herald/ui/oauth-group/guide", Fixture, NULL,
              fixture_set_up, test_guide, fixture_tear_down);
  g_test_add_func ("/herald/ui/oauth-group/no-token-in-files", fake_idp_assert_no_token_under_home);

  return g_test_run ();
}
