/* SPDX-License-Identifier: GPL-3.0-or-later
 * Copyright 2026 The Herald authors
 */
#define G_LOG_DOMAIN "herald-ui"

#include "config.h"

#include <string.h>
#include <glib/gi18n.h>

#include "herald-secrets.h"
#include "herald-window-private.h"

/* The window's password in the desktop keyring: looked up when the account
 * (server, port, username) changes, stored when a test starts and when the
 * window closes, cleared by Forget Password. Without a keyring the password
 * lives in the window only, and a row says so. */

static void
show_keyring_problem (HeraldWindow *self,
                      const GError *error)
{
  self->keyring_unavailable = TRUE;
  g_free (self->keyring_message);
  self->keyring_message =
    g_strdup (_("The password cannot be saved: no keyring is available or it is locked. "
                "It is kept for this session only."));
  adw_preferences_row_set_title (ADW_PREFERENCES_ROW (self->keyring_row),
                                 _("Keyring unavailable"));
  adw_action_row_set_subtitle (self->keyring_row, self->keyring_message);
  gtk_widget_set_tooltip_text (GTK_WIDGET (self->keyring_row), error ? error->message : NULL);
  gtk_widget_set_visible (GTK_WIDGET (self->keyring_row), TRUE);
  g_debug ("Keyring: %s", error ? error->message : "unavailable");
}

typedef struct {
  HeraldWindow *self;  /* strong */
  char         *key;   /* server, port and username the lookup was for */
} LookupData;

static char *
dup_keyring_key (const HeraldSmtpConfig *config)
{
  return g_strdup_printf ("%s\n%u\n%s", config->host ? config->host : "", config->port,
                          config->username ? config->username : "");
}

static void
lookup_cb (GObject      *object,
           GAsyncResult *result,
           gpointer      user_data)
{
  LookupData *data = user_data;
  g_autoptr(HeraldWindow) self = data->self;
  g_autofree char *key = data->key;
  g_autoptr(GError) error = NULL;
  g_autofree char *password = herald_password_lookup_finish (result, &error);
  g_autoptr(HeraldSmtpConfig) config = NULL;
  g_autofree char *current_key = NULL;

  g_free (data);
  self->n_keyring_ops--;

  if (error != NULL)
    {
      /* No Secret Service, a locked collection, a broken bus: whatever
       * the reason, the password now lives in this window only. */
      if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        show_keyring_problem (self, error);
      return;
    }

  config = _herald_window_snapshot_config (self);
  current_key = dup_keyring_key (config);

  /* Never overwrite what the user has typed meanwhile, and only fill in the
   * password of the account the form still shows. */
  if (password != NULL && g_str_equal (key, current_key) &&
      *gtk_editable_get_text (GTK_EDITABLE (self->password_row)) == '\0')
    gtk_editable_set_text (GTK_EDITABLE (self->password_row), password);

  herald_secret_wipe_string (password);
}

void
_herald_window_lookup_password (HeraldWindow *self)
{
  g_autoptr(HeraldSmtpConfig) config = _herald_window_snapshot_config (self);
  LookupData *data;

  if (config->host == NULL || *config->host == '\0' || config->username == NULL)
    return;

  data = g_new0 (LookupData, 1);
  data->self = g_object_ref (self);
  data->key = dup_keyring_key (config);

  self->n_keyring_ops++;
  herald_password_lookup_async (config->host, config->port, config->username,
                                self->keyring_cancellable, lookup_cb, data);
}

static gboolean
lookup_timeout_cb (gpointer user_data)
{
  HeraldWindow *self = user_data;

  self->lookup_timeout_id = 0;
  if (*gtk_editable_get_text (GTK_EDITABLE (self->password_row)) == '\0')
    _herald_window_lookup_password (self);
  return G_SOURCE_REMOVE;
}

/* The account changed (server, port or username): once the typing pauses,
 * look for its password, unless one is already in the field. */
void
_herald_window_account_changed (HeraldWindow *self)
{
  g_clear_handle_id (&self->lookup_timeout_id, g_source_remove);

  if (!self->startup_done || self->keyring_unavailable ||
      *gtk_editable_get_text (GTK_EDITABLE (self->password_row)) != '\0')
    return;

  self->lookup_timeout_id = g_timeout_add (600, lookup_timeout_cb, self);
}

static void
store_cb (GObject      *object,
          GAsyncResult *result,
          gpointer      user_data)
{
  g_autoptr(HeraldWindow) self = user_data;
  g_autoptr(GError) error = NULL;

  self->n_keyring_ops--;

  if (!herald_password_store_finish (result, &error) &&
      !g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    show_keyring_problem (self, error);
}

static void
close_store_cb (GObject      *object,
                GAsyncResult *result,
                gpointer      user_data)
{
  g_autoptr(GApplication) application = user_data;
  g_autoptr(GError) error = NULL;

  if (!herald_password_store_finish (result, &error))
    g_debug ("Could not store the password on close: %s", error->message);

  if (application != NULL)
    g_application_release (application);
}

static gboolean
config_uses_password (const HeraldSmtpConfig *config)
{
  return config->host != NULL && *config->host != '\0' &&
         config->username != NULL && config->password != NULL &&
         config->auth != HERALD_AUTH_NONE && config->auth != HERALD_AUTH_XOAUTH2;
}

void
_herald_window_store_password (HeraldWindow           *self,
                               const HeraldSmtpConfig *config)
{
  if (!config_uses_password (config) || self->keyring_unavailable)
    return;

  self->n_keyring_ops++;
  herald_password_store_async (config->host, config->port, config->username, config->password,
                               NULL, store_cb, g_object_ref (self));
}

void
_herald_window_store_password_on_close (HeraldWindow           *self,
                                        const HeraldSmtpConfig *config)
{
  GApplication *application;

  g_return_if_fail (HERALD_IS_WINDOW (self));

  if (!config_uses_password (config) || self->keyring_unavailable)
    return;

  /* The application stays alive until the keyring has the password. */
  application = G_APPLICATION (gtk_window_get_application (GTK_WINDOW (self)));
  if (application != NULL)
    g_application_hold (application);
  herald_password_store_async (config->host, config->port, config->username,
                               config->password, NULL, close_store_cb,
                               application ? g_object_ref (application) : NULL);
}

typedef struct {
  char    *host;
  guint16  port;
  char    *username;
} ClearData;

static void
clear_data_free (ClearData *data)
{
  g_free (data->host);
  g_free (data->username);
  g_free (data);
}

/* Worker thread: libsecret's synchronous clear, off the GTK thread. */
static void
clear_password_thread (GTask        *task,
                       gpointer      source_object,
                       gpointer      task_data,
                       GCancellable *cancellable)
{
  ClearData *data = task_data;
  GError *error = NULL;

  if (herald_password_clear_sync (data->host, data->port, data->username, cancellable, &error))
    g_task_return_boolean (task, TRUE);
  else
    g_task_return_error (task, error);
}

static void
clear_password_cb (GObject      *object,
                   GAsyncResult *result,
                   gpointer      user_data)
{
  HeraldWindow *self = HERALD_WINDOW (object);
  g_autoptr(GError) error = NULL;

  self->n_keyring_ops--;

  if (!g_task_propagate_boolean (G_TASK (result), &error))
    {
      if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        return;
      show_keyring_problem (self, error);
      _herald_window_add_toast (self, _("The password was cleared from this window; the keyring could not be reached"));
      return;
    }

  _herald_window_add_toast (self, _("Password forgotten"));
}

void
_herald_window_forget_password (HeraldWindow *self)
{
  g_autoptr(HeraldSmtpConfig) config = _herald_window_snapshot_config (self);
  g_autoptr(GTask) task = NULL;
  ClearData *data;

  g_return_if_fail (HERALD_IS_WINDOW (self));

  gtk_editable_set_text (GTK_EDITABLE (self->password_row), "");

  if (config->host == NULL || *config->host == '\0' || config->username == NULL)
    {
      _herald_window_add_toast (self, _("Password forgotten"));
      return;
    }

  data = g_new0 (ClearData, 1);
  data->host = g_strdup (config->host);
  data->port = config->port;
  data->username = g_strdup (config->username);

  self->n_keyring_ops++;
  task = g_task_new (self, self->keyring_cancellable, clear_password_cb, NULL);
  g_task_set_source_tag (task, _herald_window_forget_password);
  g_task_set_task_data (task, data, (GDestroyNotify) clear_data_free);
  g_task_run_in_thread (task, clear_password_thread);
}
