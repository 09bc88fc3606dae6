/* SPDX-License-Identifier: GPL-3.0-or-later
 * Copyright 2026 The Herald authors
 */
#define G_LOG_DOMAIN "herald-cli"

#include "config.h"

#include <glib/gi18n.h>

#include "herald-cli.h"
#include "herald-cli-send.h"
#include "herald-graph-transport.h"

/* The transport the profile chooses. SMTP needs its credentials before it
 * connects; Microsoft Graph lives in the OAuth module (libsoup) and fetches
 * its token (the saved sign-in, delegated or app-only) when it delivers. */
HeraldDeliveryReport *
_herald_cli_prepare_transport (HeraldProfile          *profile,
                               HeraldSmtpConfig       *config,
                               const char             *command,
                               GCancellable           *cancellable,
                               const HeraldTransport **transport)
{
  g_autofree char *name = herald_profile_get_string (profile, "transport");
  GSettings *settings = herald_profile_get_settings (profile);
  __typeof__ (herald_graph_transport_new_from_settings) *graph_new = NULL;
  g_autoptr(GError) error = NULL;
  HeraldDeliveryReport *report;

  g_return_val_if_fail (transport != NULL, NULL);

  *transport = herald_transport_smtp ();
  if (g_strcmp0 (name, "graph") != 0)
    return _herald_cli_fill_credentials (profile, config, command, cancellable);

  graph_new = _herald_cli_oauth_symbol (command, "herald_graph_transport_new_from_settings");
  if (graph_new == NULL)
    g_set_error_literal (&error, HERALD_PROFILE_ERROR, HERALD_PROFILE_ERROR_INCOMPLETE,
                         _("Microsoft Graph support is not available in this installation"));
  else if (settings == NULL)
    g_set_error_literal (&error, HERALD_PROFILE_ERROR, HERALD_PROFILE_ERROR_NO_SETTINGS,
                         _("the Microsoft Graph sign-in needs the profile's settings"));
  else
    {
      HeraldTransport *graph = graph_new (settings, NULL, &error);

      if (graph != NULL)
        {
          *transport = graph;
          return NULL;
        }
    }

  report = herald_delivery_report_new_local (*transport, config, HERALD_STAGE_RESOLVE, error);
  report->transport = "graph";
  return report;
}
