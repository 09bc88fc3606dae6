/* SPDX-License-Identifier: GPL-3.0-or-later
 * Copyright 2026 The Herald authors
 */
#define G_LOG_DOMAIN "herald-ui"

#include "config.h"

#include <glib/gi18n.h>

#include "herald-graph-transport.h"
#include "herald-window-private.h"

/* The transport choice of the Microsoft 365 preset: SMTP, or Microsoft
 * Graph (sendMail over HTTPS, which needs no SMTP AUTH). With Graph the
 * server, port and security rows and the login method do not apply and
 * hide; the OAuth 2.0 sign-in (Graph's Mail.Send) stays. The test then goes
 * through the Graph transport, and the banner and the error dialog name
 * it. */

static const char * const transport_ids[] = { "smtp", "graph", NULL };

gboolean
_herald_window_is_graph (HeraldWindow *self)
{
  g_return_val_if_fail (HERALD_IS_WINDOW (self), FALSE);

  return herald_graph_transport_from_settings (self->settings);
}

static gboolean
transport_to_index (GValue   *value,
                    GVariant *variant,
                    gpointer  user_data)
{
  g_value_set_uint (value, g_strcmp0 (g_variant_get_string (variant, NULL), "graph") == 0 ? 1 : 0);
  return TRUE;
}

static GVariant *
index_to_transport (const GValue       *value,
                    const GVariantType *expected_type,
                    gpointer            user_data)
{
  guint index = g_value_get_uint (value);

  return g_variant_new_string (transport_ids[index == 1 ? 1 : 0]);
}

void
_herald_window_update_transport (HeraldWindow *self)
{
  g_autofree char *provider = NULL;
  gboolean graph;

  g_return_if_fail (HERALD_IS_WINDOW (self));

  if (self->disposed || self->transport_row == NULL)
    return;

  graph = _herald_window_is_graph (self);
  provider = g_settings_get_string (self->settings, "provider");
  /* Offered with the Microsoft 365 preset; shown whenever Graph is chosen,
   * so that it can be switched back from any preset. */
  gtk_widget_set_visible (GTK_WIDGET (self->transport_row),
                          graph || g_strcmp0 (provider, "microsoft365") == 0);
  gtk_widget_set_visible (GTK_WIDGET (self->server_row), !graph);
  gtk_widget_set_visible (GTK_WIDGET (self->port_row), !graph);
  gtk_widget_set_visible (GTK_WIDGET (self->security_row), !graph);
  /* The group holds only those three rows. */
  gtk_widget_set_visible (gtk_widget_get_ancestor (GTK_WIDGET (self->server_row),
                                                   ADW_TYPE_PREFERENCES_GROUP), !graph);
  if (graph)
    {
      /* Graph always signs in with OAuth 2.0: no password, no method. */
      gtk_widget_set_visible (GTK_WIDGET (self->auth_row), FALSE);
      gtk_widget_set_visible (GTK_WIDGET (self->password_row), FALSE);
      gtk_widget_set_visible (GTK_WIDGET (self->keyring_row), FALSE);
      gtk_widget_set_visible (GTK_WIDGET (self->username_row), TRUE);
      gtk_widget_set_visible (GTK_WIDGET (self->oauth_slot), TRUE);
    }
  else
    gtk_widget_set_visible (GTK_WIDGET (self->auth_row), TRUE);
}

static void
transport_changed_cb (HeraldWindow *self)
{
  if (_herald_window_is_graph (self))
    {
      /* Graph is Microsoft's: the sign-in goes there, with OAuth 2.0. */
      g_settings_set_string (self->settings, "oauth-provider", "microsoft");
      g_settings_set_string (self->settings, "auth", "xoauth2");
    }
  else
    /* Back to SMTP: the rows the login method shows, as it says. */
    g_object_notify (G_OBJECT (self->auth_row), "selected");
  _herald_window_update_transport (self);
  _herald_window_update_validation (self);
}

void
_herald_window_init_transport (HeraldWindow *self)
{
  g_autoptr(GtkStringList) model = gtk_string_list_new (NULL);
  GtkWidget *group;

  g_return_if_fail (HERALD_IS_WINDOW (self));

  gtk_string_list_append (model, _("SMTP"));
  gtk_string_list_append (model, _("Microsoft Graph"));
  self->transport_row = ADW_COMBO_ROW (adw_combo_row_new ());
  adw_preferences_row_set_title (ADW_PREFERENCES_ROW (self->transport_row), _("Transport"));
  adw_action_row_set_subtitle (ADW_ACTION_ROW (self->transport_row),
                               _("Microsoft Graph needs no SMTP AUTH: use it when your "
                                 "organisation keeps SMTP AUTH off"));
  adw_combo_row_set_model (self->transport_row, G_LIST_MODEL (model));
  _herald_window_wrap_choices (self->transport_row);

  /* Right under the provider, in its group. */
  group = gtk_widget_get_ancestor (GTK_WIDGET (self->provider_row), ADW_TYPE_PREFERENCES_GROUP);
  adw_preferences_group_add (ADW_PREFERENCES_GROUP (group), GTK_WIDGET (self->transport_row));

  g_settings_bind_with_mapping (self->settings, "transport", self->transport_row, "selected",
                                G_SETTINGS_BIND_DEFAULT, transport_to_index, index_to_transport,
                                NULL, NULL);
  g_signal_connect_object (self->settings, "changed::transport",
                           G_CALLBACK (transport_changed_cb), self, G_CONNECT_SWAPPED);
  g_signal_connect_object (self->settings, "changed::provider",
                           G_CALLBACK (_herald_window_update_transport), self, G_CONNECT_SWAPPED);
  /* After the login method's own choice of rows. */
  g_signal_connect_object (self->auth_row, "notify::selected",
                           G_CALLBACK (_herald_window_update_transport), self,
                           G_CONNECT_SWAPPED | G_CONNECT_AFTER);
  _herald_window_update_transport (self);
}

static void
sign_in_when_idle_cb (HeraldOAuthGroup *group,
                      GParamSpec       *pspec,
                      HeraldWindow     *self)
{
  if (herald_oauth_group_get_busy (group))
    return;
  g_signal_handlers_disconnect_by_func (group, sign_in_when_idle_cb, self);
  herald_oauth_group_sign_in (group);
}

void
_herald_window_switch_to_graph (HeraldWindow *self)
{
  g_return_if_fail (HERALD_IS_WINDOW (self));

  g_settings_set_string (self->settings, "transport", "graph");
  if (self->oauth_group == NULL)
    return;
  /* The Graph sign-in (the scope follows the transport), once the group
   * has looked at the keyring for the changed settings. */
  g_signal_handlers_disconnect_by_func (self->oauth_group, sign_in_when_idle_cb, self);
  if (herald_oauth_group_get_busy (self->oauth_group))
    g_signal_connect_object (self->oauth_group, "notify::busy",
                             G_CALLBACK (sign_in_when_idle_cb), self, 0);
  else
    herald_oauth_group_sign_in (self->oauth_group);
}

/* The form as the Graph transport reads it: Graph's host in place of the
 * SMTP server (the diagnosis and the details name it), implicit TLS. */
void
_herald_window_graph_config (HeraldWindow     *self,
                             HeraldSmtpConfig *config)
{
  g_autofree char *endpoint = g_settings_get_string (self->settings, "graph-endpoint");
  g_autoptr(GUri) uri = g_uri_parse (*endpoint != '\0' ? endpoint : HERALD_GRAPH_DEFAULT_ENDPOINT,
                                     G_URI_FLAGS_NONE, NULL);

  g_free (config->host);
  config->host = g_strdup (uri != NULL && g_uri_get_host (uri) != NULL ? g_uri_get_host (uri)
                                                                         : "graph.microsoft.com");
  config->port = uri != NULL && g_uri_get_port (uri) > 0 ? (guint16) g_uri_get_port (uri) : 443;
  config->security = HERALD_SECURITY_TLS;
}
