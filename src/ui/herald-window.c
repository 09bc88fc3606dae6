/* SPDX-License-Identifier: GPL-3.0-or-later
 * Copyright 2026 The Herald authors
 */
#define G_LOG_DOMAIN "herald-ui"

#include "config.h"

#include <string.h>
#include <glib/gi18n.h>

#include "herald-window.h"
#include "herald-window-private.h"
#include "herald-alerts-group.h"
#include "herald-relay.h"
#include "herald-relay-group.h"
#include "herald-profile.h"
#include "herald-diagnosis.h"
#include "herald-providers.h"
#include "herald-renderer.h"
#include "herald-ui-private.h"

#define SCHEMA_ID "io.github.heraldmail.Herald"

/* Combo row positions ↔ the engine's string names stored in GSettings. */
static const char * const security_ids[] = { "starttls", "tls", "none", NULL };
static const char * const auth_ids[] = { "auto", "plain", "login", "none", "xoauth2", NULL };

G_DEFINE_FINAL_TYPE (HeraldWindow, herald_window, ADW_TYPE_APPLICATION_WINDOW)

static void queue_notices (HeraldWindow *self);

void
_herald_window_add_toast (HeraldWindow *self,
                          const char   *text)
{
  g_return_if_fail (HERALD_IS_WINDOW (self));

  adw_toast_overlay_add_toast (self->toast_overlay, adw_toast_new (text));
}

/* ---------------------------------------------------------------------------
 * Settings mappings
 * ------------------------------------------------------------------------- */

static gboolean
string_to_index_mapping (GValue   *value,
                         GVariant *variant,
                         gpointer  user_data)
{
  const char * const *ids = user_data;
  const char *str = g_variant_get_string (variant, NULL);

  for (guint i = 0; ids[i] != NULL; i++)
    {
      if (g_str_equal (ids[i], str))
        {
          g_value_set_uint (value, i);
          return TRUE;
        }
    }

  g_value_set_uint (value, 0);
  return TRUE;
}

static GVariant *
index_to_string_mapping (const GValue       *value,
                         const GVariantType *expected_type,
                         gpointer            user_data)
{
  const char * const *ids = user_data;
  guint index = g_value_get_uint (value);

  if (index >= g_strv_length ((char **) ids))
    return NULL;

  return g_variant_new_string (ids[index]);
}

static gboolean
provider_to_index_mapping (GValue   *value,
                           GVariant *variant,
                           gpointer  user_data)
{
  int index = herald_providers_index_of (g_variant_get_string (variant, NULL));

  if (index < 0)
    index = herald_providers_index_of ("custom");
  g_value_set_uint (value, (guint) index);
  return TRUE;
}

static GVariant *
index_to_provider_mapping (const GValue       *value,
                           const GVariantType *expected_type,
                           gpointer            user_data)
{
  guint index = g_value_get_uint (value);

  if (index >= herald_providers_get_n ())
    return NULL;

  return g_variant_new_string (herald_providers_get_nth (index)->id);
}

/* The spin buttons take any whole number (their adjustments reach far past
 * the valid range), so that a typo such as 70000 stays as typed and the form
 * says why it is wrong; it is never clamped into range and saved (GTK would
 * clamp it to the adjustment's bounds, GSettings then store that). Only a
 * value in range reaches GSettings. */
typedef struct {
  gint64              min;
  gint64              max;
  const GVariantType *type;
} IntRange;

static const IntRange port_range = { 1, 65535, G_VARIANT_TYPE_INT32 };
static const IntRange timeout_range = { 1, 600, G_VARIANT_TYPE_UINT32 };

static gboolean
int_to_value_mapping (GValue   *value,
                      GVariant *variant,
                      gpointer  user_data)
{
  if (g_variant_is_of_type (variant, G_VARIANT_TYPE_INT32))
    g_value_set_double (value, g_variant_get_int32 (variant));
  else
    g_value_set_double (value, g_variant_get_uint32 (variant));
  return TRUE;
}

static GVariant *
value_to_int_mapping (const GValue       *value,
                      const GVariantType *expected_type,
                      gpointer            user_data)
{
  const IntRange *range = user_data;
  double number = g_value_get_double (value);

  if (number < range->min || number > range->max)
    return NULL;
  if (g_variant_type_equal (range->type, G_VARIANT_TYPE_INT32))
    return g_variant_new_int32 ((gint32) number);
  return g_variant_new_uint32 ((guint32) number);
}

static const char *
combo_id (AdwComboRow        *row,
          const char * const *ids)
{
  guint index = adw_combo_row_get_selected (row);

  if (index >= g_strv_length ((char **) ids))
    return ids[0];
  return ids[index];
}

static void
select_id (AdwComboRow        *row,
           const char * const *ids,
           const char         *id)
{
  for (guint i = 0; ids[i] != NULL; i++)
    if (g_str_equal (ids[i], id))
      adw_combo_row_set_selected (row, i);
}

void
_herald_window_select_security (HeraldWindow *self,
                                const char   *security)
{
  g_return_if_fail (HERALD_IS_WINDOW (self));

  select_id (self->security_row, security_ids, security);
}

const char *
_herald_window_get_security_id (HeraldWindow *self)
{
  g_return_val_if_fail (HERALD_IS_WINDOW (self), NULL);

  return combo_id (self->security_row, security_ids);
}

void
_herald_window_select_auth (HeraldWindow *self,
                            const char   *auth)
{
  g_return_if_fail (HERALD_IS_WINDOW (self));

  select_id (self->auth_row, auth_ids, auth);
}

const char *
_herald_window_get_auth_id (HeraldWindow *self)
{
  return combo_id (self->auth_row, auth_ids);
}

/* ---------------------------------------------------------------------------
 * Snapshot of the form (main thread)
 * ------------------------------------------------------------------------- */

char *
_herald_window_dup_text (AdwEntryRow *row)
{
  return g_strstrip (g_strdup (gtk_editable_get_text (GTK_EDITABLE (row))));
}

static char *
dup_or_null (AdwEntryRow *row)
{
  char *text = _herald_window_dup_text (row);

  if (*text == '\0')
    g_clear_pointer (&text, g_free);
  return text;
}

/* Parses a spin button's text as typed (its value only follows on
 * activation). Returns -1 when it is not a whole number. */
gint64
_herald_window_spin_value (GtkSpinButton *spin)
{
  g_autofree char *text = g_strstrip (g_strdup (gtk_editable_get_text (GTK_EDITABLE (spin))));
  gint64 value;

  if (!g_ascii_string_to_signed (text, 10, G_MININT64, G_MAXINT64, &value, NULL))
    return -1;
  return value;
}

static HeraldSmtpConfig *
snapshot_config (HeraldWindow *self)
{
  g_autoptr(HeraldSmtpConfig) config = herald_smtp_config_new ();
  g_autofree char *to = NULL;
  g_autofree char *cc = NULL;
  gint64 port, timeout;

  config->host = _herald_window_dup_text (self->server_row);

  /* Out of range is never brought into range: the form says the port is
   * wrong, and the config has none (the engine refuses port 0). */
  port = _herald_window_spin_value (self->port_spin);
  config->port = port >= 1 && port <= 65535 ? (guint16) port : 0;

  herald_security_from_string (combo_id (self->security_row, security_ids), &config->security);
  herald_auth_method_from_string (combo_id (self->auth_row, auth_ids), &config->auth);
  config->username = dup_or_null (self->username_row);

  if (config->auth != HERALD_AUTH_NONE && config->auth != HERALD_AUTH_XOAUTH2)
    {
      const char *password = gtk_editable_get_text (GTK_EDITABLE (self->password_row));

      if (*password != '\0')
        config->password = g_strdup (password);
    }

  /* Choosing Security "None" is the explicit consent to send credentials
   * without TLS; with any other choice the engine refuses to. */
  config->allow_plaintext_auth = config->security == HERALD_SECURITY_NONE;

  config->from = _herald_window_dup_text (self->from_row);
  to = _herald_window_dup_text (self->to_row);
  config->to = herald_address_list_split (to);
  cc = _herald_window_dup_text (self->cc_row);
  if (*cc != '\0')
    config->cc = herald_address_list_split (cc);
  config->subject = dup_or_null (self->subject_row);
  config->extra_text = dup_or_null (self->extra_text_row);
  config->ca_file = dup_or_null (self->ca_file_row);

  /* 0 is the engine's default; the form shows why a bad value is bad. */
  timeout = _herald_window_spin_value (self->timeout_spin);
  if (timeout < 1 || timeout > 600)
    timeout = 0;
  config->connect_timeout = (guint) timeout;
  config->reply_timeout = (guint) timeout;
  /* No row of its own: the setting (heraldctl and dconf set it). */
  config->deadline = g_settings_get_uint (self->settings, "deadline");

  return g_steal_pointer (&config);
}

/* ---------------------------------------------------------------------------
 * Provider presets, the port following the security choice
 * ------------------------------------------------------------------------- */

static void
update_provider_subtitle (HeraldWindow *self)
{
  g_autofree char *provider_id = g_settings_get_string (self->settings, "provider");
  const HeraldProvider *provider = herald_providers_lookup (provider_id);
  g_autofree char *host = _herald_window_dup_text (self->server_row);
  gint64 port = _herald_window_spin_value (self->port_spin);
  gboolean edited;

  edited = provider != NULL &&
           herald_provider_is_edited (provider, host, port < 0 ? 0 : (guint) port,
                                      combo_id (self->security_row, security_ids),
                                      combo_id (self->auth_row, auth_ids));
  adw_action_row_set_subtitle (ADW_ACTION_ROW (self->provider_row),
                               edited ? _("Edited") : "");
}

static void
provider_changed_cb (HeraldWindow *self,
                     const char   *key,
                     GSettings    *settings)
{
  g_autofree char *provider_id = g_settings_get_string (settings, "provider");
  const HeraldProvider *provider = herald_providers_lookup (provider_id);

  if (provider != NULL && !herald_provider_is_custom (provider) && !self->applying_preset)
    {
      self->applying_preset = TRUE;
      gtk_editable_set_text (GTK_EDITABLE (self->server_row), provider->host);
      gtk_spin_button_set_value (self->port_spin, provider->port);
      for (guint i = 0; security_ids[i] != NULL; i++)
        if (g_str_equal (security_ids[i], provider->security))
          adw_combo_row_set_selected (self->security_row, i);
      for (guint i = 0; auth_ids[i] != NULL; i++)
        if (g_str_equal (auth_ids[i], provider->auth))
          adw_combo_row_set_selected (self->auth_row, i);
      /* Which identity provider an OAuth 2.0 sign-in goes to. */
      if (provider->oauth != NULL)
        g_settings_set_string (self->settings, "oauth-provider", provider->oauth);
      g_free (self->last_security);
      self->last_security = g_strdup (provider->security);
      self->applying_preset = FALSE;
    }

  update_provider_subtitle (self);
  _herald_window_update_validation (self);
  queue_notices (self);
}

static void
security_selected_cb (HeraldWindow *self)
{
  const char *security = combo_id (self->security_row, security_ids);

  if (!self->applying_preset && self->last_security != NULL)
    {
      gint64 port = _herald_window_spin_value (self->port_spin);

      /* Move the port along only while it still holds the other default. */
      if (g_str_equal (self->last_security, "starttls") && g_str_equal (security, "tls") &&
          port == 587)
        gtk_spin_button_set_value (self->port_spin, 465);
      else if (g_str_equal (self->last_security, "tls") && g_str_equal (security, "starttls") &&
               port == 465)
        gtk_spin_button_set_value (self->port_spin, 587);
    }

  g_free (self->last_security);
  self->last_security = g_strdup (security);
}

static void
auth_selected_cb (HeraldWindow *self)
{
  const char *auth = combo_id (self->auth_row, auth_ids);
  gboolean oauth = g_str_equal (auth, "xoauth2");
  gboolean none = g_str_equal (auth, "none");

  gtk_widget_set_visible (GTK_WIDGET (self->oauth_slot), oauth);
  if (self->oauth_group != NULL)
    herald_oauth_group_update (self->oauth_group);
  gtk_widget_set_visible (GTK_WIDGET (self->password_row), !oauth && !none);
  gtk_widget_set_visible (GTK_WIDGET (self->username_row), !none);
}

void
_herald_window_mark_results_stale (HeraldWindow *self)
{
  g_return_if_fail (HERALD_IS_WINDOW (self));

  if (self->disposed)
    return;

  /* The running test has its own snapshot; its result is dropped when it
   * comes (herald-window-actions.c). */
  if (self->running)
    {
      self->stale_run = TRUE;
      return;
    }

  herald_banner_dismiss (self->banner);
  herald_step_list_reset (self->step_list);
}

/* A dismissed failure banner takes its Details with it. */
static void
banner_revealed_cb (HeraldWindow *self)
{
  if (!herald_banner_get_revealed (self->banner))
    _herald_window_clear_last_failure (self);
}

static void
settings_changed_cb (HeraldWindow *self,
                     const char   *key,
                     GSettings    *settings)
{
  /* The window's size and the alerts switch are nothing a test tests. */
  if (g_str_has_prefix (key, "window-") || g_str_equal (key, "alerts-enabled"))
    return;

  _herald_window_mark_results_stale (self);
}

static void
form_changed_cb (HeraldWindow *self)
{
  if (self->disposed)
    return;

  update_provider_subtitle (self);
  _herald_window_update_validation (self);
  queue_notices (self);
}

/* ---------------------------------------------------------------------------
 * Notices (diagnosis rules; never on the path to the first frame)
 * ------------------------------------------------------------------------- */

/* A row that does nothing when activated (the account row with its Sign In
 * button, the keyring row, a step) is no Tab stop of its own: Tab goes
 * straight to what can be used in it, once. */
/* The first label under @root whose text is @text, or NULL. */
static GtkWidget *
find_label (GtkWidget  *root,
                   const char *text)
{
  for (GtkWidget *child = gtk_widget_get_first_child (root); child != NULL;
       child = gtk_widget_get_next_sibling (child))
    {
      GtkWidget *found;

      if (GTK_IS_LABEL (child) && g_strcmp0 (gtk_label_get_text (GTK_LABEL (child)), text) == 0)
        return child;
      if ((found = find_label (child, text)) != NULL)
        return found;
    }
  return NULL;
}

static void
unfocus_passive_rows (GtkWidget *widget)
{
  if (ADW_IS_ACTION_ROW (widget) && !ADW_IS_COMBO_ROW (widget) &&
      !gtk_list_box_row_get_activatable (GTK_LIST_BOX_ROW (widget)))
    gtk_widget_set_focusable (widget, FALSE);

  for (GtkWidget *child = gtk_widget_get_first_child (widget); child != NULL;
       child = gtk_widget_get_next_sibling (child))
    unfocus_passive_rows (child);
}

/* libadwaita 1.2 ends a group's title in "…" when the row is narrow (360 px
 * with large text, "Authentication" beside its Forget Password button):
 * titles wrap instead, and the header's buttons give way. */
static void
wrap_group_titles (GtkWidget *widget)
{
  if (ADW_IS_PREFERENCES_GROUP (widget))
    {
      const char *title = adw_preferences_group_get_title (ADW_PREFERENCES_GROUP (widget));
      GtkWidget *label = title != NULL && *title != '\0'
                         ? find_label (widget, title) : NULL;

      if (label != NULL)
        {
          gtk_label_set_ellipsize (GTK_LABEL (label), PANGO_ELLIPSIZE_NONE);
          gtk_label_set_wrap (GTK_LABEL (label), TRUE);
          gtk_label_set_wrap_mode (GTK_LABEL (label), PANGO_WRAP_WORD_CHAR);
        }
    }

  for (GtkWidget *child = gtk_widget_get_first_child (widget); child != NULL;
       child = gtk_widget_get_next_sibling (child))
    wrap_group_titles (child);
}

static void
choice_item_setup_cb (GtkSignalListItemFactory *factory,
                      GtkListItem              *item,
                      gpointer                  max_chars)
{
  GtkWidget *label = gtk_label_new (NULL);

  gtk_label_set_wrap (GTK_LABEL (label), TRUE);
  gtk_label_set_wrap_mode (GTK_LABEL (label), PANGO_WRAP_WORD);
  gtk_label_set_xalign (GTK_LABEL (label), 0.0);
  gtk_label_set_max_width_chars (GTK_LABEL (label), GPOINTER_TO_INT (max_chars));
  gtk_list_item_set_child (item, label);
}

static void
choice_item_bind_cb (GtkSignalListItemFactory *factory,
                     GtkListItem              *item)
{
  GtkStringObject *string = gtk_list_item_get_item (item);

  gtk_label_set_text (GTK_LABEL (gtk_list_item_get_child (item)),
                      gtk_string_object_get_string (string));
}

/* The choices wrap rather than end in "…": at 360 px with large text,
 * "Microsoft 365 / Exchange Online" or "Password (PLAIN)" beside its row's
 * title is wider than the row. In the row, the choice takes the width it
 * needs and wraps between words when the row is too narrow; in the popover
 * it wraps beyond 24 characters. */
void
_herald_window_wrap_choices (AdwComboRow *row)
{
  GtkListItemFactory *factory = gtk_signal_list_item_factory_new ();
  GtkListItemFactory *list_factory = gtk_signal_list_item_factory_new ();

  g_signal_connect (factory, "setup", G_CALLBACK (choice_item_setup_cb), GINT_TO_POINTER (-1));
  g_signal_connect (factory, "bind", G_CALLBACK (choice_item_bind_cb), NULL);
  adw_combo_row_set_factory (row, factory);
  g_object_unref (factory);
  g_signal_connect (list_factory, "setup", G_CALLBACK (choice_item_setup_cb), GINT_TO_POINTER (24));
  g_signal_connect (list_factory, "bind", G_CALLBACK (choice_item_bind_cb), NULL);
  adw_combo_row_set_list_factory (row, list_factory);
  g_object_unref (list_factory);
}

static void
oauth_copied_cb (HeraldWindow *self)
{
  _herald_window_add_toast (self, _("Copied to the clipboard"));
}

static void
notice_fix_clicked_cb (GtkButton    *button,
                       HeraldWindow *self)
{
  _herald_window_apply_fix (self, GPOINTER_TO_INT (g_object_get_data (G_OBJECT (button),
                                                                      "herald-action")));
}

static void
update_notices (HeraldWindow *self)
{
  g_autoptr(HeraldSmtpConfig) config = snapshot_config (self);
  g_autoptr(GPtrArray) notices = herald_notices (config, NULL);
  GtkWidget *child;

  while ((child = gtk_widget_get_first_child (GTK_WIDGET (self->notices_box))))
    gtk_box_remove (self->notices_box, child);

  for (guint i = 0; notices != NULL && i < notices->len; i++)
    {
      const HeraldDiagnosis *notice = g_ptr_array_index (notices, i);
      GtkWidget *card = gtk_box_new (GTK_ORIENTATION_VERTICAL, 6);
      GtkWidget *title = gtk_label_new (notice->title);

      gtk_widget_add_css_class (card, "card");
      gtk_widget_add_css_class (card, "herald-notice");
      gtk_widget_add_css_class (card, notice->severity == HERALD_SEVERITY_INFO ? "info" : "warning");
      g_object_set_data_full (G_OBJECT (card), "herald-notice-title",
                              g_strdup (notice->title), g_free);

      gtk_label_set_wrap (GTK_LABEL (title), TRUE);
      gtk_label_set_xalign (GTK_LABEL (title), 0.0);
      gtk_widget_add_css_class (title, "heading");
      gtk_box_append (GTK_BOX (card), title);

      if (notice->explanation != NULL && *notice->explanation != '\0')
        {
          GtkWidget *text = gtk_label_new (notice->explanation);

          gtk_label_set_wrap (GTK_LABEL (text), TRUE);
          gtk_label_set_xalign (GTK_LABEL (text), 0.0);
          gtk_label_set_selectable (GTK_LABEL (text), TRUE);
          gtk_widget_set_focusable (text, FALSE);
          gtk_box_append (GTK_BOX (card), text);
        }

      /* Where to act (e.g. where an app password is made): links, as the
       * error dialog has them. */
      for (guint j = 0; notice->links != NULL && j < notice->links->len; j++)
        {
          const HeraldLink *link = g_ptr_array_index (notice->links, j);
          GtkWidget *button = gtk_link_button_new_with_label (link->url, link->title);
          GtkWidget *label = gtk_button_get_child (GTK_BUTTON (button));

          gtk_widget_set_halign (button, GTK_ALIGN_START);
          gtk_widget_set_tooltip_text (button, link->url);
          if (GTK_IS_LABEL (label))
            {
              gtk_label_set_wrap (GTK_LABEL (label), TRUE);
              gtk_label_set_xalign (GTK_LABEL (label), 0.0);
            }
          gtk_box_append (GTK_BOX (card), button);
        }

      /* The rules file says which notice offers which fix ("action"). */
      if (_herald_window_get_fix_label (self, notice->action) != NULL)
        {
          GtkWidget *button =
            gtk_button_new_with_label (_herald_window_get_fix_label (self, notice->action));

          gtk_widget_set_halign (button, GTK_ALIGN_START);
          g_object_set_data (G_OBJECT (button), "herald-action", GINT_TO_POINTER (notice->action));
          g_signal_connect_object (button, "clicked", G_CALLBACK (notice_fix_clicked_cb), self, 0);
          gtk_box_append (GTK_BOX (card), button);
        }

      gtk_box_append (self->notices_box, card);
    }

  gtk_widget_set_visible (GTK_WIDGET (self->notices_box),
                          notices != NULL && notices->len > 0);
}

static gboolean
notices_idle_cb (gpointer user_data)
{
  HeraldWindow *self = user_data;

  self->notices_idle_id = 0;
  update_notices (self);
  return G_SOURCE_REMOVE;
}

static void
queue_notices (HeraldWindow *self)
{
  /* Until the first frame is on screen the rules stay unloaded. */
  if (!self->startup_done || self->notices_idle_id != 0)
    return;
  self->notices_idle_id = g_idle_add_full (G_PRIORITY_LOW, notices_idle_cb, self, NULL);
}

/* ---------------------------------------------------------------------------
 * Deferred start-up: after the first frame
 * ------------------------------------------------------------------------- */

void
_herald_window_run_deferred_startup (HeraldWindow *self)
{
  g_return_if_fail (HERALD_IS_WINDOW (self));

  if (self->startup_done)
    return;
  self->startup_done = TRUE;

  queue_notices (self);
  _herald_window_lookup_password (self);
}

static void
after_paint_cb (GdkFrameClock *clock,
                HeraldWindow  *self)
{
  g_clear_signal_handler (&self->after_paint_id, clock);
  _herald_window_run_deferred_startup (self);
}

static void
herald_window_realize (GtkWidget *widget)
{
  HeraldWindow *self = HERALD_WINDOW (widget);
  GdkFrameClock *clock;

  GTK_WIDGET_CLASS (herald_window_parent_class)->realize (widget);

  clock = gtk_widget_get_frame_clock (widget);
  if (clock != NULL && !self->startup_done && self->after_paint_id == 0)
    self->after_paint_id = g_signal_connect (clock, "after-paint",
                                             G_CALLBACK (after_paint_cb), self);
}

static void
herald_window_unrealize (GtkWidget *widget)
{
  HeraldWindow *self = HERALD_WINDOW (widget);
  GdkFrameClock *clock = gtk_widget_get_frame_clock (widget);

  if (clock != NULL)
    g_clear_signal_handler (&self->after_paint_id, clock);

  GTK_WIDGET_CLASS (herald_window_parent_class)->unrealize (widget);
}

/* ---------------------------------------------------------------------------
 * Window
 * ------------------------------------------------------------------------- */

static gboolean
herald_window_close_request (GtkWindow *window)
{
  HeraldWindow *self = HERALD_WINDOW (window);
  g_autoptr(HeraldSmtpConfig) config = NULL;
  int width, height;

  /* What is typed in a spin button and still valid is saved on the way out. */
  gtk_spin_button_update (self->port_spin);
  gtk_spin_button_update (self->timeout_spin);
  config = snapshot_config (self);

  gtk_window_get_default_size (window, &width, &height);
  g_settings_set_boolean (self->settings, "window-maximized", gtk_window_is_maximized (window));
  if (!gtk_window_is_maximized (window) && width > 0 && height > 0)
    {
      g_settings_set_int (self->settings, "window-width", width);
      g_settings_set_int (self->settings, "window-height", height);
    }

  if (self->running)
    g_cancellable_cancel (self->cancellable);

  _herald_window_store_password_on_close (self, config);

  return GTK_WINDOW_CLASS (herald_window_parent_class)->close_request (window);
}

static void
herald_window_dispose (GObject *object)
{
  HeraldWindow *self = HERALD_WINDOW (object);

  /* Tearing the template down moves the focus out of the fields: nothing is
   * to be judged or validated any more. */
  self->disposed = TRUE;

  if (self->cancellable != NULL)
    g_cancellable_cancel (self->cancellable);
  g_clear_object (&self->cancellable);
  if (self->keyring_cancellable != NULL)
    g_cancellable_cancel (self->keyring_cancellable);
  g_clear_object (&self->keyring_cancellable);
  g_clear_handle_id (&self->notices_idle_id, g_source_remove);
  g_clear_handle_id (&self->lookup_timeout_id, g_source_remove);
  g_clear_weak_pointer (&self->error_dialog);
  g_clear_weak_pointer (&self->history_dialog);
  if (self->settings != NULL)
    g_signal_handlers_disconnect_by_data (self->settings, self);

  gtk_widget_dispose_template (GTK_WIDGET (self), HERALD_TYPE_WINDOW);

  g_clear_object (&self->settings);

  G_OBJECT_CLASS (herald_window_parent_class)->dispose (object);
}

static void
herald_window_finalize (GObject *object)
{
  HeraldWindow *self = HERALD_WINDOW (object);

  _herald_window_clear_last_failure (self);
  g_free (self->validation_message);
  g_free (self->keyring_message);
  g_free (self->last_security);

  G_OBJECT_CLASS (herald_window_parent_class)->finalize (object);
}

static void
herald_window_class_init (HeraldWindowClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);
  GtkWindowClass *window_class = GTK_WINDOW_CLASS (klass);

  object_class->dispose = herald_window_dispose;
  object_class->finalize = herald_window_finalize;
  widget_class->realize = herald_window_realize;
  widget_class->unrealize = herald_window_unrealize;
  window_class->close_request = herald_window_close_request;

  g_type_ensure (HERALD_TYPE_BANNER);
  g_type_ensure (HERALD_TYPE_STEP_LIST);

  _herald_ui_ensure_resources ();
  gtk_widget_class_set_template_from_resource (widget_class,
                                               "/io/github/heraldmail/Herald/herald-window.ui");
  gtk_widget_class_bind_template_child (widget_class, HeraldWindow, toast_overlay);
  gtk_widget_class_bind_template_child (widget_class, HeraldWindow, banner);
  gtk_widget_class_bind_template_child (widget_class, HeraldWindow, alerts_switch);
  gtk_widget_class_bind_template_child (widget_class, HeraldWindow, alerts_area);
  gtk_widget_class_bind_template_child (widget_class, HeraldWindow, provider_row);
  gtk_widget_class_bind_template_child (widget_class, HeraldWindow, server_row);
  gtk_widget_class_bind_template_child (widget_class, HeraldWindow, port_row);
  gtk_widget_class_bind_template_child (widget_class, HeraldWindow, port_spin);
  gtk_widget_class_bind_template_child (widget_class, HeraldWindow, security_row);
  gtk_widget_class_bind_template_child (widget_class, HeraldWindow, auth_group);
  gtk_widget_class_bind_template_child (widget_class, HeraldWindow, auth_row);
  gtk_widget_class_bind_template_child (widget_class, HeraldWindow, username_row);
  gtk_widget_class_bind_template_child (widget_class, HeraldWindow, password_row);
  gtk_widget_class_bind_template_child (widget_class, HeraldWindow, keyring_row);
  gtk_widget_class_bind_template_child (widget_class, HeraldWindow, oauth_slot);
  gtk_widget_class_bind_template_child (widget_class, HeraldWindow, from_row);
  gtk_widget_class_bind_template_child (widget_class, HeraldWindow, to_row);
  gtk_widget_class_bind_template_child (widget_class, HeraldWindow, cc_row);
  gtk_widget_class_bind_template_child (widget_class, HeraldWindow, subject_row);
  gtk_widget_class_bind_template_child (widget_class, HeraldWindow, extra_text_row);
  gtk_widget_class_bind_template_child (widget_class, HeraldWindow, advanced_row);
  gtk_widget_class_bind_template_child (widget_class, HeraldWindow, ca_file_row);
  gtk_widget_class_bind_template_child (widget_class, HeraldWindow, timeout_row);
  gtk_widget_class_bind_template_child (widget_class, HeraldWindow, timeout_spin);
  gtk_widget_class_bind_template_child (widget_class, HeraldWindow, notices_box);
  gtk_widget_class_bind_template_child (widget_class, HeraldWindow, step_list);
  gtk_widget_class_bind_template_child (widget_class, HeraldWindow, send_button);
  gtk_widget_class_bind_template_child (widget_class, HeraldWindow, validation_label);


  _herald_window_class_add_actions (widget_class);
}

static void
bind_text (HeraldWindow *self,
           const char   *key,
           gpointer      row)
{
  g_settings_bind (self->settings, key, row, "text", G_SETTINGS_BIND_DEFAULT);
  g_signal_connect_object (row, "changed", G_CALLBACK (form_changed_cb), self,
                           G_CONNECT_SWAPPED);
}

static void
set_accessible_label (GtkWidget  *widget,
                      const char *label)
{
  gtk_accessible_reset_relation (GTK_ACCESSIBLE (widget), GTK_ACCESSIBLE_RELATION_LABELLED_BY);
  gtk_accessible_update_property (GTK_ACCESSIBLE (widget),
                                  GTK_ACCESSIBLE_PROPERTY_LABEL, label,
                                  -1);
}

/* The button of AdwPasswordEntryRow 1.2 that shows or hides the text: the
 * one whose icon is view-reveal or view-conceal. */
static GtkWidget *
find_show_text_button (GtkWidget *widget)
{
  for (GtkWidget *child = gtk_widget_get_first_child (widget);
       child != NULL;
       child = gtk_widget_get_next_sibling (child))
    {
      const char *icon = GTK_IS_BUTTON (child) ? gtk_button_get_icon_name (GTK_BUTTON (child))
                                               : NULL;
      GtkWidget *found;

      if (icon != NULL && g_str_has_prefix (icon, "view-"))
        return child;
      if ((found = find_show_text_button (child)) != NULL)
        return found;
    }
  return NULL;
}

static void
update_password_toggle_name (GtkWidget *button,
                             GParamSpec *pspec,
                             GtkText    *text)
{
  gtk_accessible_update_property (GTK_ACCESSIBLE (button),
                                  GTK_ACCESSIBLE_PROPERTY_LABEL,
                                  gtk_text_get_visibility (text) ? _("Hide Password")
                                                                 : _("Show Password"),
                                  -1);
}

/* That button has only an icon, which GTK 4.8 announces as "GtkImage":
 * name it for what pressing it does, as its tooltip does. */
static void
name_password_toggle (HeraldWindow *self)
{
  GtkWidget *button = find_show_text_button (GTK_WIDGET (self->password_row));
  GtkEditable *text = gtk_editable_get_delegate (GTK_EDITABLE (self->password_row));

  if (button == NULL || !GTK_IS_TEXT (text))
    return;
  g_signal_connect_object (text, "notify::visibility",
                           G_CALLBACK (update_password_toggle_name), button, G_CONNECT_SWAPPED);
  update_password_toggle_name (button, NULL, GTK_TEXT (text));
}

/* An empty Subject sends the engine's default subject: show it as the
 * placeholder of the row's text (AdwEntryRow 1.2 has no placeholder of its
 * own; its title stands in for one until the row is focused). */
static void
show_default_subject (HeraldWindow *self)
{
  GtkEditable *text = gtk_editable_get_delegate (GTK_EDITABLE (self->subject_row));
  g_autofree char *subject = herald_smtp_default_subject (NULL);

  if (GTK_IS_TEXT (text))
    gtk_text_set_placeholder_text (GTK_TEXT (text), subject);
}

static void
herald_window_init (HeraldWindow *self)
{
  g_autoptr(GtkStringList) providers = gtk_string_list_new (NULL);
  int width, height;

  /* Normally decided in the application's startup already; this covers a
   * window made without it (tests, probes) before it is realized. */
  herald_renderer_ensure (gtk_widget_get_display (GTK_WIDGET (self)));

  gtk_widget_init_template (GTK_WIDGET (self));

#if DEVELOPMENT_BUILD
  gtk_widget_add_css_class (GTK_WIDGET (self), "devel");
#endif

  self->settings = g_settings_new (SCHEMA_ID);
  self->keyring_cancellable = g_cancellable_new ();

  /* The alert queue heraldctl send fills (read off the main thread). */
  {
    g_autofree char *queue_dir = herald_profile_dup_user_queue_dir ();

    gtk_box_append (self->alerts_area, GTK_WIDGET (herald_alerts_group_new (queue_dir)));
  }
  /* The relay for devices (heraldctl relay), its users and its log. */
  {
    g_autofree char *relay_dir = herald_relay_dup_user_state_dir ();

    gtk_box_append (self->alerts_area,
                    GTK_WIDGET (herald_relay_group_new (self->settings, relay_dir, NULL)));
  }

  /* The switch and the spin buttons have no label of their own. Their rows
   * point at them with labelled-by, which GTK 4.8 appends to the label
   * property ("Port Port"); keep only the property, so that each accessible
   * name is exactly the row's label. */
  set_accessible_label (GTK_WIDGET (self->alerts_switch), _("Send email alerts"));
  set_accessible_label (GTK_WIDGET (self->port_spin), _("Port"));
  set_accessible_label (GTK_WIDGET (self->timeout_spin), _("Timeout (seconds)"));
  name_password_toggle (self);

  for (guint i = 0; i < herald_providers_get_n (); i++)
    gtk_string_list_append (providers, herald_provider_get_name (herald_providers_get_nth (i)));
  adw_combo_row_set_model (self->provider_row, G_LIST_MODEL (providers));
  _herald_window_wrap_choices (self->provider_row);
  _herald_window_wrap_choices (self->security_row);
  _herald_window_wrap_choices (self->auth_row);

  width = g_settings_get_int (self->settings, "window-width");
  height = g_settings_get_int (self->settings, "window-height");
  if (width > 0 && height > 0)
    gtk_window_set_default_size (GTK_WINDOW (self), width, height);
  if (g_settings_get_boolean (self->settings, "window-maximized"))
    gtk_window_maximize (GTK_WINDOW (self));

  /* Instant apply: every field writes GSettings as the user types. The
   * password is the exception; it only ever goes to the keyring. */
  g_settings_bind (self->settings, "alerts-enabled", self->alerts_switch, "active",
                   G_SETTINGS_BIND_DEFAULT);
  g_settings_bind_with_mapping (self->settings, "provider", self->provider_row, "selected",
                                G_SETTINGS_BIND_DEFAULT,
                                provider_to_index_mapping, index_to_provider_mapping,
                                NULL, NULL);
  bind_text (self, "server", self->server_row);
  g_settings_bind_with_mapping (self->settings, "port", self->port_spin, "value",
                                G_SETTINGS_BIND_DEFAULT,
                                int_to_value_mapping, value_to_int_mapping,
                                (gpointer) &port_range, NULL);
  g_settings_bind_with_mapping (self->settings, "security", self->security_row, "selected",
                                G_SETTINGS_BIND_DEFAULT,
                                string_to_index_mapping, index_to_string_mapping,
                                (gpointer) security_ids, NULL);
  g_settings_bind_with_mapping (self->settings, "auth", self->auth_row, "selected",
                                G_SETTINGS_BIND_DEFAULT,
                                string_to_index_mapping, index_to_string_mapping,
                                (gpointer) auth_ids, NULL);
  bind_text (self, "username", self->username_row);
  bind_text (self, "from", self->from_row);
  bind_text (self, "to", self->to_row);
  bind_text (self, "cc", self->cc_row);
  bind_text (self, "subject", self->subject_row);
  show_default_subject (self);
  bind_text (self, "extra-text", self->extra_text_row);
  bind_text (self, "ca-file", self->ca_file_row);
  g_settings_bind_with_mapping (self->settings, "timeout", self->timeout_spin, "value",
                                G_SETTINGS_BIND_DEFAULT,
                                int_to_value_mapping, value_to_int_mapping,
                                (gpointer) &timeout_range, NULL);

  self->last_security = g_strdup (combo_id (self->security_row, security_ids));

  g_signal_connect_object (self->password_row, "changed", G_CALLBACK (form_changed_cb), self,
                           G_CONNECT_SWAPPED);
  /* The spin buttons commit what is typed (to their value, so to GSettings)
   * when the user leaves them or presses Enter, as GtkSpinButton does, and
   * so does Send or closing the window: a port typed digit by digit never
   * saves its prefixes ("7000" on the way to a wrong "70000"). A result on
   * screen goes at the first keystroke all the same. */
  g_signal_connect_object (self->port_spin, "changed",
                           G_CALLBACK (_herald_window_mark_results_stale), self,
                           G_CONNECT_SWAPPED);
  g_signal_connect_object (self->timeout_spin, "changed",
                           G_CALLBACK (_herald_window_mark_results_stale), self,
                           G_CONNECT_SWAPPED);
  g_signal_connect_object (self->server_row, "changed", G_CALLBACK (_herald_window_account_changed), self,
                           G_CONNECT_SWAPPED);
  g_signal_connect_object (self->username_row, "changed", G_CALLBACK (_herald_window_account_changed), self,
                           G_CONNECT_SWAPPED);
  g_signal_connect_object (self->port_spin, "value-changed", G_CALLBACK (_herald_window_account_changed),
                           self, G_CONNECT_SWAPPED);
  g_signal_connect_object (self->port_spin, "changed", G_CALLBACK (form_changed_cb), self,
                           G_CONNECT_SWAPPED);
  g_signal_connect_object (self->timeout_spin, "changed", G_CALLBACK (form_changed_cb), self,
                           G_CONNECT_SWAPPED);
  g_signal_connect_object (self->security_row, "notify::selected",
                           G_CALLBACK (security_selected_cb), self, G_CONNECT_SWAPPED);
  g_signal_connect_object (self->security_row, "notify::selected",
                           G_CALLBACK (form_changed_cb), self, G_CONNECT_SWAPPED);
  g_signal_connect_object (self->auth_row, "notify::selected",
                           G_CALLBACK (auth_selected_cb), self, G_CONNECT_SWAPPED);
  g_signal_connect_object (self->auth_row, "notify::selected",
                           G_CALLBACK (form_changed_cb), self, G_CONNECT_SWAPPED);
  g_signal_connect_object (self->settings, "changed::provider",
                           G_CALLBACK (provider_changed_cb), self, G_CONNECT_SWAPPED);
  g_signal_connect_object (self->banner, "details",
                           G_CALLBACK (_herald_window_show_failure_details), self,
                           G_CONNECT_SWAPPED);
  g_signal_connect_object (self->banner, "notify::revealed",
                           G_CALLBACK (banner_revealed_cb), self, G_CONNECT_SWAPPED);

  /* Every setting, whoever writes it (the form, a preset, the OAuth group),
   * and the password, which is in no setting. */
  g_signal_connect_object (self->settings, "changed",
                           G_CALLBACK (settings_changed_cb), self, G_CONNECT_SWAPPED);
  g_signal_connect_object (self->password_row, "changed",
                           G_CALLBACK (_herald_window_mark_results_stale), self,
                           G_CONNECT_SWAPPED);

  /* The OAuth 2.0 sign-in shares the window's settings, so the account it
   * signs in (provider, client ID, tenant, authority, username) is the one
   * the test sends with. */
  self->oauth_group = HERALD_OAUTH_GROUP (herald_oauth_group_new (self->settings));
  gtk_box_append (self->oauth_slot, GTK_WIDGET (self->oauth_group));
  /* One "Advanced" row in the window: the sign-in's authority joins the
   * CA certificate file and the timeout there. */
  herald_oauth_group_move_advanced (self->oauth_group, self->advanced_row);
  g_signal_connect_object (self->oauth_group, "notify::signed-in",
                           G_CALLBACK (form_changed_cb), self, G_CONNECT_SWAPPED);
  g_signal_connect_object (self->oauth_group, "notify::busy",
                           G_CALLBACK (form_changed_cb), self, G_CONNECT_SWAPPED);
  g_signal_connect_object (self->oauth_group, "copied",
                           G_CALLBACK (oauth_copied_cb), self, G_CONNECT_SWAPPED);

  _herald_window_init_validation (self);
  unfocus_passive_rows (GTK_WIDGET (self));
  wrap_group_titles (GTK_WIDGET (self));
  _herald_window_set_send_label (self, _("Send Test Email"));
  {
    /* "Forget Password" beside the group title "Authentication": at 360 px
     * with large text the title would be cut; the button's label wraps
     * instead. */
    GtkWidget *forget = adw_preferences_group_get_header_suffix (self->auth_group);
    GtkWidget *label = forget != NULL && GTK_IS_BUTTON (forget)
                       ? gtk_button_get_child (GTK_BUTTON (forget)) : NULL;

    if (GTK_IS_LABEL (label))
      {
        gtk_label_set_wrap (GTK_LABEL (label), TRUE);
        gtk_label_set_wrap_mode (GTK_LABEL (label), PANGO_WRAP_WORD);
        gtk_label_set_justify (GTK_LABEL (label), GTK_JUSTIFY_CENTER);
      }
  }
  auth_selected_cb (self);
  _herald_window_init_transport (self);
  update_provider_subtitle (self);
  _herald_window_update_validation (self);
}

HeraldWindow *
herald_window_new (HeraldApplication *application)
{
  return g_object_new (HERALD_TYPE_WINDOW,
                       "application", application,
                       NULL);
}

/* ---------------------------------------------------------------------------
 * Private API for tests
 * ------------------------------------------------------------------------- */

GtkWidget *
_herald_window_get_widget (HeraldWindow *self,
                           const char   *name)
{
  const struct { const char *name; gsize offset; } widgets[] = {
    { "alerts", G_STRUCT_OFFSET (HeraldWindow, alerts_switch) },
    { "provider", G_STRUCT_OFFSET (HeraldWindow, provider_row) },
    { "transport", G_STRUCT_OFFSET (HeraldWindow, transport_row) },
    { "server", G_STRUCT_OFFSET (HeraldWindow, server_row) },
    { "port", G_STRUCT_OFFSET (HeraldWindow, port_spin) },
    { "security", G_STRUCT_OFFSET (HeraldWindow, security_row) },
    { "auth", G_STRUCT_OFFSET (HeraldWindow, auth_row) },
    { "username", G_STRUCT_OFFSET (HeraldWindow, username_row) },
    { "password", G_STRUCT_OFFSET (HeraldWindow, password_row) },
    { "from", G_STRUCT_OFFSET (HeraldWindow, from_row) },
    { "to", G_STRUCT_OFFSET (HeraldWindow, to_row) },
    { "cc", G_STRUCT_OFFSET (HeraldWindow, cc_row) },
    { "subject", G_STRUCT_OFFSET (HeraldWindow, subject_row) },
    { "extra-text", G_STRUCT_OFFSET (HeraldWindow, extra_text_row) },
    { "ca-file", G_STRUCT_OFFSET (HeraldWindow, ca_file_row) },
    { "timeout", G_STRUCT_OFFSET (HeraldWindow, timeout_spin) },
    { "send", G_STRUCT_OFFSET (HeraldWindow, send_button) },
    { "validation", G_STRUCT_OFFSET (HeraldWindow, validation_label) },
    { "keyring", G_STRUCT_OFFSET (HeraldWindow, keyring_row) },
    { "oauth-slot", G_STRUCT_OFFSET (HeraldWindow, oauth_slot) },
    { "oauth-group", G_STRUCT_OFFSET (HeraldWindow, oauth_group) },
    { "notices", G_STRUCT_OFFSET (HeraldWindow, notices_box) },
  };

  g_return_val_if_fail (HERALD_IS_WINDOW (self), NULL);

  for (guint i = 0; i < G_N_ELEMENTS (widgets); i++)
    {
      if (g_str_equal (widgets[i].name, name))
        return G_STRUCT_MEMBER (GtkWidget *, self, widgets[i].offset);
    }

  g_return_val_if_reached (NULL);
}

HeraldBanner *
_herald_window_get_banner (HeraldWindow *self)
{
  return self->banner;
}

HeraldStepList *
_herald_window_get_step_list (HeraldWindow *self)
{
  return self->step_list;
}

HeraldErrorDialog *
_herald_window_get_error_dialog (HeraldWindow *self)
{
  return self->error_dialog;
}

gboolean
_herald_window_is_running (HeraldWindow *self)
{
  return self->running;
}

const char *
_herald_window_get_validation_message (HeraldWindow *self)
{
  return self->validation_message;
}

const char *
_herald_window_get_keyring_message (HeraldWindow *self)
{
  return gtk_widget_get_visible (GTK_WIDGET (self->keyring_row)) ? self->keyring_message : NULL;
}

char **
_herald_window_dup_notice_titles (HeraldWindow *self)
{
  g_autoptr(GStrvBuilder) builder = g_strv_builder_new ();

  if (self->notices_idle_id != 0)
    {
      g_clear_handle_id (&self->notices_idle_id, g_source_remove);
      update_notices (self);
    }

  for (GtkWidget *child = gtk_widget_get_first_child (GTK_WIDGET (self->notices_box));
       child != NULL;
       child = gtk_widget_get_next_sibling (child))
    {
      const char *title = g_object_get_data (G_OBJECT (child), "herald-notice-title");

      if (title != NULL)
        g_strv_builder_add (builder, title);
    }

  return g_strv_builder_end (builder);
}

HeraldSmtpConfig *
_herald_window_snapshot_config (HeraldWindow *self)
{
  return snapshot_config (self);
}

guint
_herald_window_get_n_keyring_ops (HeraldWindow *self)
{
  return self->n_keyring_ops;
}
