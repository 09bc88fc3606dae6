/* SPDX-License-Identifier: GPL-3.0-or-later
 * Copyright 2026 The Herald authors
 */
#define G_LOG_DOMAIN "herald-ui"

#include "config.h"

#include <glib/gi18n.h>
#include <string.h>

#include "herald-diagnosis.h"
#include "herald-oauth.h"
#include "herald-graph-transport.h"
#include "herald-oauth-group.h"
#include "herald-report.h"
#include "herald-smtp.h"
#include "herald-ui-private.h"

struct _HeraldOAuthGroup
{
  AdwPreferencesGroup  parent_instance;

  GSettings           *settings;
  GCancellable        *cancellable;        /* the running sign-in or sign-out */
  GCancellable        *check_cancellable;  /* the running keyring check */
  char                *verification_uri;
  char                *user_code;

  AdwComboRow         *provider_row;
  AdwEntryRow         *client_id_row;
  AdwEntryRow         *tenant_row;
  AdwPasswordEntryRow *client_secret_row;
  AdwExpanderRow      *advanced_row;
  AdwExpanderRow      *advanced_target;    /* where the authority rows are: advanced_row,
                                            * or the window's one Advanced row */
  AdwEntryRow         *authority_row;
  GtkLabel            *authority_error_label;
  GtkLabel            *authority_help_label;
  AdwActionRow        *account_row;
  GtkSpinner          *spinner;
  GtkButton           *cancel_button;
  GtkButton           *sign_out_button;
  GtkButton           *sign_in_button;
  AdwActionRow        *code_link_row;
  AdwActionRow        *device_row;
  GtkLabel            *code_label;
  AdwActionRow        *error_row;
  AdwExpanderRow      *diagnosis_row;
  GtkLabel            *diagnosis_label;
  GtkLabel            *raw_error_label;
  HeraldDiagnosis     *diagnosis;          /* of the error shown, or NULL */
  AdwExpanderRow      *guide_row;
  GtkLabel            *guide_microsoft_label;
  GtkLabel            *guide_google_label;
  GtkWidget           *guide_microsoft_box;
  GtkWidget           *guide_google_box;
  GtkLabel            *guide_command_label;

  guint                signed_in : 1;
  guint                busy : 1;      /* a sign-in or sign-out runs */
  guint                checking : 1;  /* the keyring check runs: signed_in is not known yet */
  guint                authority_bad : 1;  /* the authority shown is not usable */
};

G_DEFINE_FINAL_TYPE (HeraldOAuthGroup, herald_oauth_group, ADW_TYPE_PREFERENCES_GROUP)

enum {
  PROP_0,
  PROP_SETTINGS,
  PROP_SIGNED_IN,
  PROP_BUSY,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

enum {
  COPIED,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

static void check_signed_in (HeraldOAuthGroup *self);

/* What the "busy" property says: the state shown is not final yet. */
static gboolean
is_working (HeraldOAuthGroup *self)
{
  return self->busy || self->checking;
}

static HeraldOAuthProvider
current_provider (HeraldOAuthGroup *self)
{
  g_autofree char *name = g_settings_get_string (self->settings, "oauth-provider");
  HeraldOAuthProvider provider = HERALD_OAUTH_PROVIDER_MICROSOFT;

  herald_oauth_provider_from_string (name, &provider);

  return provider;
}

static HeraldOAuthAccount *
current_account (HeraldOAuthGroup *self)
{
  /* With the Graph transport the sign-in asks for Graph's Mail.Send. */
  HeraldOAuthAccount *account = herald_graph_oauth_account_new_from_settings (self->settings);
  const char *secret = gtk_editable_get_text (GTK_EDITABLE (self->client_secret_row));

  if (account->provider == HERALD_OAUTH_PROVIDER_GOOGLE && secret != NULL && *secret != '\0')
    account->client_secret = g_strdup (secret);

  return account;
}

/* ---------------------------------------------------------------------------
 * The authority (sovereign clouds).
 * ------------------------------------------------------------------------- */

/* The provider's own sign-in address, scheme and host only (for Microsoft
 * "https://login.microsoftonline.com"), from the endpoints the OAuth code
 * derives for an account without an override: the address stays in one
 * place. NULL if that ever fails. */
static char *
default_authority (HeraldOAuthProvider provider)
{
  g_autoptr(HeraldOAuthAccount) account = herald_oauth_account_new (provider, NULL);
  g_autofree char *authorize_url = NULL;
  g_autoptr(GUri) uri = NULL;

  if (!herald_oauth_account_get_endpoints (account, &authorize_url, NULL, NULL, NULL))
    return NULL;
  uri = g_uri_parse (authorize_url, G_URI_FLAGS_NONE, NULL);
  if (uri == NULL)
    return NULL;

  return g_uri_join (G_URI_FLAGS_NONE, g_uri_get_scheme (uri), NULL, g_uri_get_host (uri),
                     g_uri_get_port (uri), "", NULL, NULL);
}

/* Why the authority in the settings cannot be used, or NULL when it can
 * (empty means the provider's default). The OAuth code's own check decides,
 * the one sign-in runs (spaces included); a missing scheme gets an example
 * rather than GUri's wording. */
static char *
authority_problem (HeraldOAuthGroup *self)
{
  g_autoptr(HeraldOAuthAccount) account = current_account (self);
  g_autoptr(GError) error = NULL;
  const char *authority = account->authority;

  if (authority == NULL || *authority == '\0')
    return NULL;

  if (strstr (authority, "://") == NULL)
    /* Translators: %s is what the user typed as the OAuth authority. */
    return g_strdup_printf (_("The authority “%s” must start with https://, for example "
                              "https://login.microsoftonline.us."), authority);

  if (!herald_oauth_account_get_endpoints (account, NULL, NULL, NULL, &error))
    return g_strdup (error->message);

  return NULL;
}

/* The row that holds the authority's help and error labels: the expander
 * row wrapped their box in a list box row of its own. */
static GtkWidget *
authority_help_row (HeraldOAuthGroup *self)
{
  GtkWidget *box = gtk_widget_get_parent (GTK_WIDGET (self->authority_help_label));
  GtkWidget *row = gtk_widget_get_parent (box);

  return GTK_IS_LIST_BOX_ROW (row) ? row : box;
}

/* Shows the authority row (Microsoft; Google only while an override is set,
 * since the OAuth code sends Google's sign-in there too), its help with the
 * provider's default, and the reason when the address is unusable. Returns
 * that reason (owned) or NULL. */
static char *
update_authority (HeraldOAuthGroup *self,
                  gboolean          microsoft)
{
  g_autofree char *authority = g_settings_get_string (self->settings, "oauth-authority");
  g_autofree char *fallback = default_authority (current_provider (self));
  g_autofree char *help = NULL;
  char *problem = authority_problem (self);
  GtkEditable *text = gtk_editable_get_delegate (GTK_EDITABLE (self->authority_row));
  gboolean bad = problem != NULL;

  if (self->advanced_target == self->advanced_row)
    gtk_widget_set_visible (GTK_WIDGET (self->advanced_row), microsoft || *authority != '\0');
  else
    {
      /* In the window's Advanced row: there only while this group is in use. */
      GtkWidget *parent = gtk_widget_get_parent (GTK_WIDGET (self));
      gboolean shown = (microsoft || *authority != '\0') && gtk_widget_get_visible (GTK_WIDGET (self))
                       && (parent == NULL || gtk_widget_get_visible (parent));

      gtk_widget_set_visible (GTK_WIDGET (self->authority_row), shown);
      gtk_widget_set_visible (authority_help_row (self), shown);
    }

  if (fallback == NULL)
    fallback = g_strdup (_("the provider’s own"));
  if (microsoft)
    /* Translators: %s is the default sign-in address, https://login.microsoftonline.com. */
    help = g_strdup_printf (_("For Microsoft 365 in a national cloud only: "
                              "https://login.microsoftonline.us (GCC High, DoD) or "
                              "https://login.chinacloudapi.cn (operated by 21Vianet). "
                              "Leave it empty for the default, %s."), fallback);
  else
    /* Translators: %s is Google's sign-in address, https://accounts.google.com. */
    help = g_strdup_printf (_("Google has no national clouds, yet its sign-in goes to this "
                              "address too. Clear it to sign in at %s."), fallback);
  gtk_label_set_text (self->authority_help_label, help);
  gtk_accessible_update_property (GTK_ACCESSIBLE (self->authority_row),
                                  GTK_ACCESSIBLE_PROPERTY_DESCRIPTION, help,
                                  -1);

  /* AdwEntryRow 1.2 has no placeholder of its own; its title stands in for
   * one until the row is focused, then the default shows. */
  if (GTK_IS_TEXT (text))
    gtk_text_set_placeholder_text (GTK_TEXT (text), fallback);

  gtk_label_set_text (self->authority_error_label, bad ? problem : "");
  gtk_widget_set_visible (GTK_WIDGET (self->authority_error_label), bad);
  if (bad)
    gtk_widget_add_css_class (GTK_WIDGET (self->authority_row), "error");
  else
    gtk_widget_remove_css_class (GTK_WIDGET (self->authority_row), "error");

  /* An address turning bad unfolds the row, so that the reason is seen;
   * folded again, the subtitle still says something is wrong. */
  if (self->advanced_target != self->advanced_row)
    ;  /* The window's Advanced row keeps its own subtitle. */
  else if (bad)
    adw_expander_row_set_subtitle (self->advanced_row, _("This authority cannot be used"));
  else if (*authority != '\0')
    {
      /* Translators: %s is the sign-in address set, e.g. https://login.microsoftonline.us. */
      g_autofree char *subtitle = g_strdup_printf (_("Sign-in address: %s"), authority);

      adw_expander_row_set_subtitle (self->advanced_row, subtitle);
    }
  else
    adw_expander_row_set_subtitle (self->advanced_row, _("Sign-in address for national clouds"));
  if (bad && !self->authority_bad)
    adw_expander_row_set_expanded (self->advanced_target, TRUE);
  self->authority_bad = bad;

  return problem;
}

/* What Sign In still needs (translated), or NULL when it can start: the
 * mailbox (the window's Username) and a client ID of the right form, so
 * that a click never just earns an error message. */
static char *
dup_sign_in_reason (HeraldOAuthGroup *self,
                    gboolean          microsoft,
                    const char       *username,
                    gboolean         *client_id_bad)
{
  g_autoptr(HeraldOAuthAccount) account = current_account (self);
  const char *client_id = herald_oauth_account_get_effective_client_id (account);
  g_autoptr(GRegex) guid = NULL;

  *client_id_bad = FALSE;
  if (client_id != NULL && microsoft)
    {
      /* The "Application (client) ID" of Entra is a GUID. */
      guid = g_regex_new ("^\\s*[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-"
                          "[0-9a-fA-F]{12}\\s*$", 0, 0, NULL);
      *client_id_bad = !g_regex_match (guid, client_id, 0, NULL);
    }
  else if (client_id != NULL)
    {
      g_autofree char *stripped = g_strstrip (g_strdup (client_id));

      *client_id_bad = *stripped == '\0' || strpbrk (stripped, " \t") != NULL;
    }

  if (*username == '\0')
    return g_strdup (_("Enter the mailbox to sign in as (Username) first."));
  if (!herald_address_is_valid (username))
    /* Translators: %s is what the user typed as Username */
    return g_strdup_printf (_("“%s” is not a mailbox: enter the mail address to sign in as "
                              "(Username)."), username);
  if (client_id == NULL)
    return g_strdup (_("Enter the client ID of your app registration (see “How to Get a "
                       "Client ID”)."));
  if (*client_id_bad && microsoft)
    return g_strdup (_("This is not a Microsoft client ID: copy the “Application (client) ID” "
                       "from the app’s Overview page (it looks like "
                       "00000000-0000-0000-0000-000000000000)."));
  if (*client_id_bad)
    return g_strdup (_("A client ID has no spaces: copy it from the Google Cloud console."));
  return NULL;
}

static void
update_state (HeraldOAuthGroup *self)
{
  gboolean microsoft = current_provider (self) == HERALD_OAUTH_PROVIDER_MICROSOFT;
  gboolean working = is_working (self);
  g_autofree char *username = g_settings_get_string (self->settings, "username");
  g_autofree char *subtitle = NULL;
  g_autofree char *authority_reason = update_authority (self, microsoft);
  gboolean client_id_bad = FALSE;
  g_autofree char *sign_in_reason = dup_sign_in_reason (self, microsoft, username, &client_id_bad);
  gboolean authority_ok = authority_reason == NULL;
  gboolean can_sign_in = authority_ok && sign_in_reason == NULL;

  /* Until the keyring has answered, neither Sign In nor Sign Out: the
   * account is in neither state yet. */
  gtk_widget_set_visible (GTK_WIDGET (self->tenant_row), microsoft);
  gtk_widget_set_visible (GTK_WIDGET (self->client_secret_row), !microsoft);
  gtk_widget_set_visible (GTK_WIDGET (self->code_link_row),
                          microsoft && !self->signed_in && !self->checking);
  gtk_widget_set_visible (self->guide_microsoft_box, microsoft);
  gtk_widget_set_visible (self->guide_google_box, !microsoft);

  /* A client ID of the wrong form is marked at its row, for the eye and for
   * a screen reader; an empty one is only named (a fresh form shows no
   * errors). */
  if (client_id_bad)
    gtk_widget_add_css_class (GTK_WIDGET (self->client_id_row), "error");
  else
    gtk_widget_remove_css_class (GTK_WIDGET (self->client_id_row), "error");
  gtk_accessible_update_state (GTK_ACCESSIBLE (self->client_id_row), GTK_ACCESSIBLE_STATE_INVALID,
                               client_id_bad ? GTK_ACCESSIBLE_INVALID_TRUE
                                             : GTK_ACCESSIBLE_INVALID_FALSE,
                               -1);
  gtk_widget_set_visible (GTK_WIDGET (self->device_row), self->busy && self->user_code != NULL);

  gtk_widget_set_visible (GTK_WIDGET (self->sign_in_button), !self->signed_in && !working);
  gtk_widget_set_visible (GTK_WIDGET (self->sign_out_button), self->signed_in && !working);
  gtk_widget_set_visible (GTK_WIDGET (self->cancel_button), self->busy && self->cancellable != NULL);
  gtk_widget_set_visible (GTK_WIDGET (self->spinner), working);
  gtk_spinner_set_spinning (self->spinner, working);

  /* An unusable authority holds Sign In back, with the reason by the row
   * and on the button, as the window does for Send. */
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "oauth.sign-in", !working && can_sign_in);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "oauth.sign-in-code",
                                 !working && microsoft && can_sign_in);
  gtk_widget_set_tooltip_text (GTK_WIDGET (self->sign_in_button),
                               authority_reason != NULL ? authority_reason : sign_in_reason);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "oauth.sign-out", !working && self->signed_in);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "oauth.cancel", self->busy && self->cancellable != NULL);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "oauth.copy-code", self->user_code != NULL);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "oauth.open-verification-page",
                                 self->verification_uri != NULL);

  if (sign_in_reason != NULL && !self->signed_in)
    subtitle = g_strdup (sign_in_reason);
  else if (self->checking)
    subtitle = g_strdup (_("Checking the keyring…"));
  else if (self->signed_in)
    /* Translators: %s is a mail address. */
    subtitle = g_strdup_printf (_("Signed in as %s"), username);
  else
    /* Translators: %s is a mail address. */
    subtitle = g_strdup_printf (_("Not signed in (%s)"), username);
  adw_action_row_set_subtitle (self->account_row, subtitle);
}

static void
set_signed_in (HeraldOAuthGroup *self,
               gboolean          signed_in)
{
  signed_in = !!signed_in;
  if (self->signed_in == signed_in)
    {
      update_state (self);
      return;
    }

  self->signed_in = signed_in;
  update_state (self);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_SIGNED_IN]);
}

static void
set_busy_and_checking (HeraldOAuthGroup *self,
                       gboolean          busy,
                       gboolean          checking)
{
  gboolean was_working = is_working (self);

  self->busy = !!busy;
  self->checking = !!checking;
  update_state (self);
  if (is_working (self) != was_working)
    g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_BUSY]);
}

static void
set_busy (HeraldOAuthGroup *self,
          gboolean          busy)
{
  set_busy_and_checking (self, busy, self->checking);
}

static void
set_checking (HeraldOAuthGroup *self,
              gboolean          checking)
{
  set_busy_and_checking (self, self->busy, checking);
}

static void
show_error (HeraldOAuthGroup *self,
            const GError     *error)
{
  g_autoptr(HeraldDiagnosis) diagnosis = NULL;
  g_autofree char *text = NULL;

  g_clear_pointer (&self->diagnosis, herald_diagnosis_free);

  if (error == NULL)
    {
      gtk_widget_set_visible (GTK_WIDGET (self->error_row), FALSE);
      gtk_widget_set_visible (GTK_WIDGET (self->diagnosis_row), FALSE);
      gtk_widget_set_tooltip_text (GTK_WIDGET (self->error_row), NULL);
      return;
    }

  /* The identity provider's errors (AADSTS codes, invalid_grant, …) are in
   * the diagnosis rules: say what it means, who must act and how to fix it.
   * The raw message stays available below the steps. */
  diagnosis = herald_diagnose_text (error->message, HERALD_STAGE_AUTH, NULL);
  gtk_widget_set_visible (GTK_WIDGET (self->error_row), TRUE);
  gtk_widget_set_tooltip_text (GTK_WIDGET (self->error_row), error->message);

  if (diagnosis == NULL || herald_diagnosis_is_fallback (diagnosis))
    {
      adw_action_row_set_subtitle (self->error_row, error->message);
      gtk_widget_set_visible (GTK_WIDGET (self->diagnosis_row), FALSE);
      return;
    }

  adw_action_row_set_subtitle (self->error_row, diagnosis->title);

  /* The title and who must act are the row's title and subtitle. */
  text = herald_diagnosis_to_text (diagnosis, 0);

  adw_preferences_row_set_title (ADW_PREFERENCES_ROW (self->diagnosis_row), diagnosis->title);
  adw_expander_row_set_subtitle (self->diagnosis_row, herald_actor_describe (diagnosis->actor));
  gtk_label_set_text (self->diagnosis_label, text);
  gtk_label_set_text (self->raw_error_label, error->message);
  adw_expander_row_set_expanded (self->diagnosis_row, TRUE);
  gtk_widget_set_visible (GTK_WIDGET (self->diagnosis_row), TRUE);
  self->diagnosis = g_steal_pointer (&diagnosis);
}

static void
clear_device_code (HeraldOAuthGroup *self)
{
  g_clear_pointer (&self->verification_uri, g_free);
  g_clear_pointer (&self->user_code, g_free);
  gtk_label_set_text (self->code_label, "");
}

/* Called when an operation ends, on the GTK thread. */
static void
operation_done (HeraldOAuthGroup *self)
{
  g_clear_object (&self->cancellable);
  clear_device_code (self);
  set_busy (self, FALSE);
}

/* ---------------------------------------------------------------------------
 * Keyring check.
 * ------------------------------------------------------------------------- */

/* What a keyring check's callback needs: the group, and the cancellable of
 * the check that was started, so a reply from a check that has since been
 * replaced (or cancelled) can be told apart from the running one's. */
typedef struct {
  HeraldOAuthGroup *self;
  GCancellable     *cancellable;
} CheckData;

static void
check_data_free (CheckData *data)
{
  g_clear_object (&data->self);
  g_clear_object (&data->cancellable);
  g_free (data);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (CheckData, check_data_free)

static void
is_signed_in_cb (GObject      *source,
                 GAsyncResult *result,
                 gpointer      user_data)
{
  g_autoptr(CheckData) data = user_data;
  HeraldOAuthGroup *self = data->self;
  g_autoptr(GError) error = NULL;
  gboolean signed_in = herald_oauth_is_signed_in_finish (result, &error);

  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return;

  /* Only the running check may answer: an older one that was replaced
   * (whatever it returns) would clear the new check's cancellable and show
   * a stale answer for another account. */
  if (data->cancellable != self->check_cancellable
      || g_cancellable_is_cancelled (data->cancellable))
    return;

  g_clear_object (&self->check_cancellable);
  /* An incomplete form (no client ID yet) simply means "not signed in". */
  if (error != NULL && !g_error_matches (error, HERALD_OAUTH_ERROR, HERALD_OAUTH_ERROR_INVALID_ACCOUNT))
    show_error (self, error);
  /* The answer first, then "no longer busy": whoever waits for busy to
   * drop finds the final state. */
  set_signed_in (self, signed_in);
  set_checking (self, FALSE);
}

static void
check_signed_in (HeraldOAuthGroup *self)
{
  g_autoptr(HeraldOAuthAccount) account = current_account (self);
  CheckData *data;

  g_cancellable_cancel (self->check_cancellable);
  g_clear_object (&self->check_cancellable);

  if (account->account == NULL || *account->account == '\0'
      || herald_oauth_account_get_effective_client_id (account) == NULL)
    {
      set_signed_in (self, FALSE);
      set_checking (self, FALSE);
      return;
    }

  self->check_cancellable = g_cancellable_new ();
  set_checking (self, TRUE);
  data = g_new0 (CheckData, 1);
  data->self = g_object_ref (self);
  data->cancellable = g_object_ref (self->check_cancellable);
  herald_oauth_is_signed_in_async (account, self->check_cancellable, is_signed_in_cb, data);
}

static void
settings_changed_cb (HeraldOAuthGroup *self,
                     const char       *key,
                     GSettings        *settings)
{
  if (g_str_equal (key, "username") || g_str_equal (key, "oauth-provider")
      || g_str_equal (key, "oauth-client-id") || g_str_equal (key, "oauth-tenant")
      || g_str_equal (key, "oauth-authority"))
    {
      if (!self->busy)
        show_error (self, NULL);
      update_state (self);
      check_signed_in (self);
    }
}

/* ---------------------------------------------------------------------------
 * Sign-in and sign-out.
 * ------------------------------------------------------------------------- */

static void
sign_in_cb (GObject      *source,
            GAsyncResult *result,
            gpointer      user_data)
{
  g_autoptr(HeraldOAuthGroup) self = user_data;
  g_autoptr(GError) error = NULL;
  gboolean ok;

  /* Both flows finish the same way. */
  if (g_task_get_source_tag (G_TASK (result)) == herald_oauth_sign_in_device_async)
    ok = herald_oauth_sign_in_device_finish (result, &error);
  else
    ok = herald_oauth_sign_in_browser_finish (result, &error);

  operation_done (self);
  if (!ok)
    {
      if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        show_error (self, error);
      check_signed_in (self);
      return;
    }

  show_error (self, NULL);
  set_signed_in (self, TRUE);
}

static gboolean
start_operation (HeraldOAuthGroup    *self,
                 HeraldOAuthAccount **account_out)
{
  g_autoptr(HeraldOAuthAccount) account = current_account (self);
  g_autoptr(GError) error = NULL;
  g_autofree char *authority_reason = authority_problem (self);

  /* The actions are off then; this covers a caller that ignores that. */
  if (authority_reason != NULL)
    {
      g_set_error_literal (&error, HERALD_OAUTH_ERROR, HERALD_OAUTH_ERROR_INVALID_ACCOUNT,
                           authority_reason);
      show_error (self, error);
      return FALSE;
    }

  if (!herald_oauth_account_validate (account, &error))
    {
      show_error (self, error);
      return FALSE;
    }

  show_error (self, NULL);
  g_cancellable_cancel (self->check_cancellable);
  g_clear_object (&self->check_cancellable);
  self->cancellable = g_cancellable_new ();
  set_busy_and_checking (self, TRUE, FALSE);
  *account_out = g_steal_pointer (&account);

  return TRUE;
}

static void
sign_in_action (GtkWidget  *widget,
                const char *action_name,
                GVariant   *parameter)
{
  HeraldOAuthGroup *self = HERALD_OAUTH_GROUP (widget);
  g_autoptr(HeraldOAuthAccount) account = NULL;

  if (!start_operation (self, &account))
    return;

  herald_oauth_sign_in_browser_async (account, self->cancellable, sign_in_cb, g_object_ref (self));
}

static void
device_code_cb (const char *verification_uri,
                const char *user_code,
                const char *message,
                gpointer    user_data)
{
  HeraldOAuthGroup *self = user_data;
  g_autofree char *subtitle = NULL;

  if (!self->busy)
    return;

  g_free (self->verification_uri);
  g_free (self->user_code);
  self->verification_uri = g_strdup (verification_uri);
  self->user_code = g_strdup (user_code);
  gtk_label_set_text (self->code_label, user_code);
  /* Translators: %s is a web address such as https://microsoft.com/devicelogin. */
  subtitle = g_strdup_printf (_("Open %s on any device and enter this code"), verification_uri);
  adw_preferences_row_set_title (ADW_PREFERENCES_ROW (self->device_row), _("Code"));
  adw_action_row_set_subtitle (self->device_row, subtitle);
  update_state (self);
}

static void
sign_in_code_action (GtkWidget  *widget,
                     const char *action_name,
                     GVariant   *parameter)
{
  HeraldOAuthGroup *self = HERALD_OAUTH_GROUP (widget);
  g_autoptr(HeraldOAuthAccount) account = NULL;

  if (!start_operation (self, &account))
    return;

  herald_oauth_sign_in_device_async (account, device_code_cb, g_object_ref (self), g_object_unref,
                                     self->cancellable, sign_in_cb, g_object_ref (self));
}

static void
sign_out_cb (GObject      *source,
             GAsyncResult *result,
             gpointer      user_data)
{
  g_autoptr(HeraldOAuthGroup) self = user_data;
  g_autoptr(GError) error = NULL;

  operation_done (self);
  if (!herald_oauth_sign_out_finish (result, &error))
    {
      if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        show_error (self, error);
      check_signed_in (self);
      return;
    }

  set_signed_in (self, FALSE);
}

static void
sign_out_action (GtkWidget  *widget,
                 const char *action_name,
                 GVariant   *parameter)
{
  HeraldOAuthGroup *self = HERALD_OAUTH_GROUP (widget);
  g_autoptr(HeraldOAuthAccount) account = current_account (self);

  show_error (self, NULL);
  self->cancellable = g_cancellable_new ();
  set_busy (self, TRUE);
  herald_oauth_sign_out_async (account, self->cancellable, sign_out_cb, g_object_ref (self));
}

static void
cancel_action (GtkWidget  *widget,
               const char *action_name,
               GVariant   *parameter)
{
  HeraldOAuthGroup *self = HERALD_OAUTH_GROUP (widget);

  g_cancellable_cancel (self->cancellable);
}

/* What the guide's copy buttons copy: the redirect URI and the permission
 * to enter in the app registration, and the one command that makes it. */
#define GUIDE_REDIRECT_URI "http://localhost"
#define GUIDE_PERMISSION   "SMTP.Send"
/* For Azure Cloud Shell (bash): looks SMTP.Send up in Microsoft Graph's
 * service principal rather than hard-coding its ID, registers a public
 * client (loopback redirect for the browser, public client flows for the
 * code) for this organization, and prints the client ID and the tenant ID
 * to paste back. */
#define GUIDE_COMMAND \
  "graph=00000003-0000-0000-c000-000000000000; " \
  "smtp=$(az ad sp show --id $graph --query \"oauth2PermissionScopes[?value=='SMTP.Send'].id | [0]\" -o tsv) && " \
  "az ad app create --display-name Herald --sign-in-audience AzureADMyOrg " \
  "--public-client-redirect-uris http://localhost --is-fallback-public-client true " \
  "--required-resource-accesses \"[{\\\"resourceAppId\\\":\\\"$graph\\\",\\\"resourceAccess\\\":" \
  "[{\\\"id\\\":\\\"$smtp\\\",\\\"type\\\":\\\"Scope\\\"}]}]\" " \
  "--query \"{clientId: appId}\" -o tsv && az account show --query \"{tenantId: tenantId}\" -o tsv"

static void
copy_text (GtkWidget  *widget,
           const char *text)
{
  HeraldOAuthGroup *self = HERALD_OAUTH_GROUP (widget);

  gdk_clipboard_set_text (gtk_widget_get_clipboard (widget), text);
  g_signal_emit (self, signals[COPIED], 0);
}

static void
copy_guide_action (GtkWidget  *widget,
                   const char *action_name,
                   GVariant   *parameter)
{
  const char *what = g_variant_get_string (parameter, NULL);

  if (g_str_equal (what, "redirect-uri"))
    copy_text (widget, GUIDE_REDIRECT_URI);
  else if (g_str_equal (what, "permission"))
    copy_text (widget, GUIDE_PERMISSION);
  else if (g_str_equal (what, "command"))
    copy_text (widget, GUIDE_COMMAND);
}

void
herald_oauth_group_move_advanced (HeraldOAuthGroup *self,
                                  AdwExpanderRow   *target)
{
  GtkWidget *rows[2];

  g_return_if_fail (HERALD_IS_OAUTH_GROUP (self));
  g_return_if_fail (ADW_IS_EXPANDER_ROW (target));
  g_return_if_fail (self->advanced_target == self->advanced_row);

  /* The authority row and its help, moved as they are: the code above keeps
   * driving them wherever they live. */
  rows[0] = GTK_WIDGET (self->authority_row);
  rows[1] = authority_help_row (self);
  for (guint i = 0; i < G_N_ELEMENTS (rows); i++)
    {
      g_object_ref (rows[i]);
      adw_expander_row_remove (self->advanced_row, rows[i]);
      adw_expander_row_add_row (target, rows[i]);
      g_object_unref (rows[i]);
    }
  gtk_widget_set_visible (GTK_WIDGET (self->advanced_row), FALSE);
  self->advanced_target = target;
  update_state (self);
}

void
herald_oauth_group_update (HeraldOAuthGroup *self)
{
  g_return_if_fail (HERALD_IS_OAUTH_GROUP (self));

  update_state (self);
}

const char *
herald_oauth_group_get_guide_command (HeraldOAuthGroup *self)
{
  g_return_val_if_fail (HERALD_IS_OAUTH_GROUP (self), NULL);

  return GUIDE_COMMAND;
}

static void
copy_code_action (GtkWidget  *widget,
                  const char *action_name,
                  GVariant   *parameter)
{
  HeraldOAuthGroup *self = HERALD_OAUTH_GROUP (widget);

  if (self->user_code != NULL)
    gdk_clipboard_set_text (gtk_widget_get_clipboard (widget), self->user_code);
}

static void
open_verification_page_action (GtkWidget  *widget,
                               const char *action_name,
                               GVariant   *parameter)
{
  HeraldOAuthGroup *self = HERALD_OAUTH_GROUP (widget);
  GtkRoot *root = gtk_widget_get_root (widget);

  if (self->verification_uri != NULL)
    gtk_show_uri (GTK_IS_WINDOW (root) ? GTK_WINDOW (root) : NULL, self->verification_uri, GDK_CURRENT_TIME);
}

/* ---------------------------------------------------------------------------
 * Settings binding.
 * ------------------------------------------------------------------------- */

static gboolean
provider_get_mapping (GValue   *value,
                      GVariant *variant,
                      gpointer  user_data)
{
  HeraldOAuthProvider provider = HERALD_OAUTH_PROVIDER_MICROSOFT;

  herald_oauth_provider_from_string (g_variant_get_string (variant, NULL), &provider);
  g_value_set_uint (value, provider == HERALD_OAUTH_PROVIDER_GOOGLE ? 1 : 0);

  return TRUE;
}

static GVariant *
provider_set_mapping (const GValue       *value,
                      const GVariantType *expected_type,
                      gpointer            user_data)
{
  return g_variant_new_string (g_value_get_uint (value) == 1 ? "google" : "microsoft");
}

static void
herald_oauth_group_constructed (GObject *object)
{
  HeraldOAuthGroup *self = HERALD_OAUTH_GROUP (object);

  G_OBJECT_CLASS (herald_oauth_group_parent_class)->constructed (object);

  g_assert (G_IS_SETTINGS (self->settings));

  g_settings_bind_with_mapping (self->settings, "oauth-provider", self->provider_row, "selected",
                                G_SETTINGS_BIND_DEFAULT, provider_get_mapping, provider_set_mapping,
                                NULL, NULL);
  g_settings_bind (self->settings, "oauth-client-id", self->client_id_row, "text", G_SETTINGS_BIND_DEFAULT);
  g_settings_bind (self->settings, "oauth-tenant", self->tenant_row, "text", G_SETTINGS_BIND_DEFAULT);
  g_settings_bind (self->settings, "oauth-authority", self->authority_row, "text",
                   G_SETTINGS_BIND_DEFAULT);
  /* Folded unless an override is in effect: then it shows at once. */
  {
    g_autofree char *authority = g_settings_get_string (self->settings, "oauth-authority");

    adw_expander_row_set_expanded (self->advanced_target, *authority != '\0');
  }
  g_signal_connect_object (self->settings, "changed", G_CALLBACK (settings_changed_cb), self,
                           G_CONNECT_SWAPPED);

  update_state (self);
  check_signed_in (self);
}

static void
herald_oauth_group_dispose (GObject *object)
{
  HeraldOAuthGroup *self = HERALD_OAUTH_GROUP (object);

  g_cancellable_cancel (self->cancellable);
  g_cancellable_cancel (self->check_cancellable);
  g_clear_object (&self->cancellable);
  g_clear_object (&self->check_cancellable);
  if (self->settings != NULL)
    g_signal_handlers_disconnect_by_data (self->settings, self);
  g_clear_object (&self->settings);

  gtk_widget_dispose_template (GTK_WIDGET (self), HERALD_TYPE_OAUTH_GROUP);

  G_OBJECT_CLASS (herald_oauth_group_parent_class)->dispose (object);
}

static void
herald_oauth_group_finalize (GObject *object)
{
  HeraldOAuthGroup *self = HERALD_OAUTH_GROUP (object);

  g_free (self->verification_uri);
  g_free (self->user_code);
  g_clear_pointer (&self->diagnosis, herald_diagnosis_free);

  G_OBJECT_CLASS (herald_oauth_group_parent_class)->finalize (object);
}

static void
herald_oauth_group_get_property (GObject    *object,
                                 guint       prop_id,
                                 GValue     *value,
                                 GParamSpec *pspec)
{
  HeraldOAuthGroup *self = HERALD_OAUTH_GROUP (object);

  switch (prop_id)
    {
    case PROP_SETTINGS:
      g_value_set_object (value, self->settings);
      break;
    case PROP_SIGNED_IN:
      g_value_set_boolean (value, self->signed_in);
      break;
    case PROP_BUSY:
      g_value_set_boolean (value, is_working (self));
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
herald_oauth_group_set_property (GObject      *object,
                                 guint         prop_id,
                                 const GValue *value,
                                 GParamSpec   *pspec)
{
  HeraldOAuthGroup *self = HERALD_OAUTH_GROUP (object);

  switch (prop_id)
    {
    case PROP_SETTINGS:
      self->settings = g_value_dup_object (value);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
herald_oauth_group_class_init (HeraldOAuthGroupClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->constructed = herald_oauth_group_constructed;
  object_class->dispose = herald_oauth_group_dispose;
  object_class->finalize = herald_oauth_group_finalize;
  object_class->get_property = herald_oauth_group_get_property;
  object_class->set_property = herald_oauth_group_set_property;

  properties[PROP_SETTINGS] =
    g_param_spec_object ("settings", NULL, NULL, G_TYPE_SETTINGS,
                         G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS);
  properties[PROP_SIGNED_IN] =
    g_param_spec_boolean ("signed-in", NULL, NULL, FALSE,
                          G_PARAM_READABLE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);
  properties[PROP_BUSY] =
    g_param_spec_boolean ("busy", NULL, NULL, FALSE,
                          G_PARAM_READABLE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);
  g_object_class_install_properties (object_class, N_PROPS, properties);

  _herald_ui_ensure_resources ();
  gtk_widget_class_set_template_from_resource (widget_class,
                                               "/io/github/heraldmail/Herald/herald-oauth-group.ui");
  gtk_widget_class_bind_template_child (widget_class, HeraldOAuthGroup, provider_row);
  gtk_widget_class_bind_template_child (widget_class, HeraldOAuthGroup, client_id_row);
  gtk_widget_class_bind_template_child (widget_class, HeraldOAuthGroup, tenant_row);
  gtk_widget_class_bind_template_child (widget_class, HeraldOAuthGroup, client_secret_row);
  gtk_widget_class_bind_template_child (widget_class, HeraldOAuthGroup, advanced_row);
  gtk_widget_class_bind_template_child (widget_class, HeraldOAuthGroup, authority_row);
  gtk_widget_class_bind_template_child (widget_class, HeraldOAuthGroup, authority_error_label);
  gtk_widget_class_bind_template_child (widget_class, HeraldOAuthGroup, authority_help_label);
  gtk_widget_class_bind_template_child (widget_class, HeraldOAuthGroup, account_row);
  gtk_widget_class_bind_template_child (widget_class, HeraldOAuthGroup, spinner);
  gtk_widget_class_bind_template_child (widget_class, HeraldOAuthGroup, cancel_button);
  gtk_widget_class_bind_template_child (widget_class, HeraldOAuthGroup, sign_out_button);
  gtk_widget_class_bind_template_child (widget_class, HeraldOAuthGroup, sign_in_button);
  gtk_widget_class_bind_template_child (widget_class, HeraldOAuthGroup, code_link_row);
  gtk_widget_class_bind_template_child (widget_class, HeraldOAuthGroup, device_row);
  gtk_widget_class_bind_template_child (widget_class, HeraldOAuthGroup, code_label);
  gtk_widget_class_bind_template_child (widget_class, HeraldOAuthGroup, error_row);
  gtk_widget_class_bind_template_child (widget_class, HeraldOAuthGroup, diagnosis_row);
  gtk_widget_class_bind_template_child (widget_class, HeraldOAuthGroup, diagnosis_label);
  gtk_widget_class_bind_template_child (widget_class, HeraldOAuthGroup, raw_error_label);
  gtk_widget_class_bind_template_child (widget_class, HeraldOAuthGroup, guide_row);
  gtk_widget_class_bind_template_child (widget_class, HeraldOAuthGroup, guide_microsoft_label);
  gtk_widget_class_bind_template_child (widget_class, HeraldOAuthGroup, guide_google_label);
  gtk_widget_class_bind_template_child (widget_class, HeraldOAuthGroup, guide_microsoft_box);
  gtk_widget_class_bind_template_child (widget_class, HeraldOAuthGroup, guide_google_box);
  gtk_widget_class_bind_template_child (widget_class, HeraldOAuthGroup, guide_command_label);

  gtk_widget_class_install_action (widget_class, "oauth.sign-in", NULL, sign_in_action);
  gtk_widget_class_install_action (widget_class, "oauth.sign-in-code", NULL, sign_in_code_action);
  gtk_widget_class_install_action (widget_class, "oauth.sign-out", NULL, sign_out_action);
  gtk_widget_class_install_action (widget_class, "oauth.cancel", NULL, cancel_action);
  gtk_widget_class_install_action (widget_class, "oauth.copy-code", NULL, copy_code_action);
  gtk_widget_class_install_action (widget_class, "oauth.copy-guide", "s", copy_guide_action);

  /* A guide's copy button put its text on the clipboard (the window says so). */
  signals[COPIED] =
    g_signal_new ("copied", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL, G_TYPE_NONE, 0);
  gtk_widget_class_install_action (widget_class, "oauth.open-verification-page", NULL,
                                   open_verification_page_action);
}

static void
herald_oauth_group_init (HeraldOAuthGroup *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));
  self->advanced_target = self->advanced_row;
  gtk_label_set_text (self->guide_command_label, GUIDE_COMMAND);
}

GtkWidget *
herald_oauth_group_new (GSettings *settings)
{
  g_return_val_if_fail (G_IS_SETTINGS (settings), NULL);

  return g_object_new (HERALD_TYPE_OAUTH_GROUP, "settings", settings, NULL);
}

gboolean
herald_oauth_group_get_signed_in (HeraldOAuthGroup *self)
{
  g_return_val_if_fail (HERALD_IS_OAUTH_GROUP (self), FALSE);

  return self->signed_in;
}

gboolean
herald_oauth_group_get_busy (HeraldOAuthGroup *self)
{
  g_return_val_if_fail (HERALD_IS_OAUTH_GROUP (self), FALSE);

  return is_working (self);
}

gboolean
herald_oauth_group_get_checking (HeraldOAuthGroup *self)
{
  g_return_val_if_fail (HERALD_IS_OAUTH_GROUP (self), FALSE);

  return self->checking;
}

/* Looks at the keyring again, e.g. after a test found the sign-in revoked
 * (the tokens are then gone). */
void
herald_oauth_group_recheck (HeraldOAuthGroup *self)
{
  g_return_if_fail (HERALD_IS_OAUTH_GROUP (self));

  if (!self->busy)
    check_signed_in (self);
}

const HeraldDiagnosis *
herald_oauth_group_get_diagnosis (HeraldOAuthGroup *self)
{
  g_return_val_if_fail (HERALD_IS_OAUTH_GROUP (self), NULL);

  return gtk_widget_get_visible (GTK_WIDGET (self->error_row)) ? self->diagnosis : NULL;
}

void
herald_oauth_group_sign_in (HeraldOAuthGroup *self)
{
  g_return_if_fail (HERALD_IS_OAUTH_GROUP (self));

  gtk_widget_activate_action (GTK_WIDGET (self), "oauth.sign-in", NULL);
}
