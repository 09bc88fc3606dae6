/* SPDX-License-Identifier: GPL-3.0-or-later
 * Copyright 2026 The Herald authors
 */
#define G_LOG_DOMAIN "herald-graph"

#include "config.h"

#include <glib/gi18n.h>
#include <string.h>

#include "herald-graph.h"
#include "herald-oauth-token.h"

char *
herald_graph_app_token_sync (const HeraldGraphAppCredentials  *credentials,
                             gint64                           *expires_in,
                             GCancellable                     *cancellable,
                             GError                          **error)
{
  g_autoptr(HeraldOAuthAccount) account = NULL;
  g_autoptr(SoupSession) session = NULL;
  g_autoptr(GHashTable) form = NULL;
  g_auto(HeraldOAuthTokenReply) reply = { 0, };
  g_autofree char *token_url = NULL;
  g_autofree char *assertion = NULL;
  g_autofree char *oauth_error = NULL;
  HeraldOAuthTokenRequest request = { 0, };
  GError *local = NULL;
  gboolean has_secret;

  g_return_val_if_fail (credentials != NULL, NULL);

  has_secret = credentials->client_secret != NULL && *credentials->client_secret != '\0';
  if (credentials->client_id == NULL || *credentials->client_id == '\0')
    {
      g_set_error_literal (error, HERALD_OAUTH_ERROR, HERALD_OAUTH_ERROR_INVALID_ACCOUNT,
                           _("App-only sign-in needs the app’s client ID."));
      return NULL;
    }
  /* Without a user, "organizations" and the like name no tenant. */
  if (credentials->tenant == NULL || *credentials->tenant == '\0'
      || g_ascii_strcasecmp (credentials->tenant, "organizations") == 0
      || g_ascii_strcasecmp (credentials->tenant, "common") == 0
      || g_ascii_strcasecmp (credentials->tenant, "consumers") == 0)
    {
      g_set_error_literal (error, HERALD_OAUTH_ERROR, HERALD_OAUTH_ERROR_INVALID_ACCOUNT,
                           _("App-only sign-in needs the tenant ID (or a verified domain) of the "
                             "app’s own tenant, not organizations, common or consumers."));
      return NULL;
    }
  if (has_secret == (credentials->certificate_pem != NULL))
    {
      g_set_error_literal (error, HERALD_OAUTH_ERROR, HERALD_OAUTH_ERROR_INVALID_ACCOUNT,
                           _("App-only sign-in needs either a client secret or a certificate, "
                             "not both."));
      return NULL;
    }

  account = herald_oauth_account_new (HERALD_OAUTH_PROVIDER_MICROSOFT, NULL);
  account->client_id = g_strdup (credentials->client_id);
  account->tenant = g_strdup (credentials->tenant);
  account->authority = g_strdup (credentials->authority);
  if (!herald_oauth_account_get_endpoints (account, NULL, &token_url, NULL, error))
    return NULL;

  if (credentials->certificate_pem != NULL)
    {
      /* aud is the token endpoint itself. */
      assertion = herald_graph_client_assertion_new (credentials->certificate_pem,
                                                     credentials->client_id, token_url,
                                                     HERALD_GRAPH_ASSERTION_RS256, error);
      if (assertion == NULL)
        return NULL;
    }

  request.grant_type = HERALD_OAUTH_GRANT_CLIENT_CREDENTIALS;
  request.client_id = credentials->client_id;
  request.scope = credentials->scope != NULL ? credentials->scope
                                             : HERALD_GRAPH_DEFAULT_ENDPOINT "/.default";
  request.client_secret = credentials->client_secret;
  request.client_assertion = assertion;
  form = herald_oauth_token_form_new (&request);
  session = herald_oauth_session_new ();

  if (!herald_oauth_request_token (session, token_url, form, &reply, &oauth_error, cancellable,
                                   &local))
    {
      /* The grant's name stays untranslated: the diagnosis rules for the
       * app-only sign-in look for it next to the AADSTS code. */
      g_prefix_error (&local, "%s (%s): ", _("App-only sign-in failed"),
                      HERALD_OAUTH_GRANT_CLIENT_CREDENTIALS);
      g_propagate_error (error, local);
      return NULL;
    }

  if (expires_in != NULL)
    *expires_in = reply.expires_in;
  return g_steal_pointer (&reply.access_token);
}
