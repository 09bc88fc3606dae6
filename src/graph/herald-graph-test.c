/* SPDX-License-Identifier: GPL-3.0-or-later
 * Copyright 2026 The Herald authors
 */
#define G_LOG_DOMAIN "herald-graph"

#include "config.h"

#include <glib/gi18n.h>

#include "herald-graph.h"
#include "herald-graph-private.h"
#include "herald-smtp.h"

HeraldSmtpResult *
herald_graph_test (const HeraldSmtpConfig   *smtp,
                   const HeraldGraphConfig  *config,
                   HeraldGraphRefreshFunc    refresh,
                   gpointer                  refresh_data,
                   GCancellable             *cancellable,
                   HeraldProgressFunc        progress,
                   gpointer                  progress_data)
{
  g_autoptr(GStrvBuilder) builder = g_strv_builder_new ();
  g_auto(GStrv) recipients = NULL;
  g_autoptr(GBytes) message = NULL;
  g_autofree char *message_id = NULL;
  HeraldMessageInfo info = { 0, };
  HeraldSmtpResult *result;
  GError *error = NULL;

  g_return_val_if_fail (smtp != NULL, NULL);
  g_return_val_if_fail (config != NULL, NULL);

  /* The same checks as the SMTP path: addresses, line breaks, a recipient. */
  if (!herald_smtp_config_validate (smtp, &error))
    {
      result = herald_smtp_result_new ();
      result->error = error;
      return result;
    }

  info.mechanism = NULL;
  info.hostname = g_get_host_name ();
  message = herald_smtp_build_message (smtp, &info, &message_id);
  for (guint i = 0; smtp->to != NULL && smtp->to[i] != NULL; i++)
    g_strv_builder_add (builder, smtp->to[i]);
  for (guint i = 0; smtp->cc != NULL && smtp->cc[i] != NULL; i++)
    g_strv_builder_add (builder, smtp->cc[i]);
  recipients = g_strv_builder_end (builder);

  result = herald_graph_send (config, message, (const char * const *) recipients, refresh,
                              refresh_data, cancellable, progress, progress_data, NULL);
  result->message_id = g_steal_pointer (&message_id);

  return result;
}

gboolean
herald_graph_transport_from_settings (GSettings *settings)
{
  g_autofree char *transport = g_settings_get_string (settings, "transport");

  return g_strcmp0 (transport, "graph") == 0;
}

HeraldGraphConfig *
herald_graph_config_new_from_settings (GSettings  *settings,
                                       GError    **error)
{
  g_autoptr(HeraldGraphConfig) config = herald_graph_config_new ();
  g_autofree char *endpoint = g_settings_get_string (settings, "graph-endpoint");

  config->endpoint = herald_graph_endpoint_normalise (endpoint, error);
  if (config->endpoint == NULL)
    return NULL;
  config->mode = HERALD_GRAPH_DELEGATED;
  config->from = g_settings_get_string (settings, "from");
  config->timeout = g_settings_get_uint (settings, "timeout");

  return g_steal_pointer (&config);
}
