/* SPDX-License-Identifier: GPL-3.0-or-later
 * Copyright 2026 The Herald authors
 */
#define G_LOG_DOMAIN "herald-oauth"

#include "config.h"

#include <glib/gi18n.h>
#include <string.h>

#include "herald-oauth-private.h"
#include "herald-oauth-smtp.h"

gboolean
herald_oauth_fill_config_token (HeraldSmtpConfig  *config,
                                GSettings         *settings,
                                GCancellable      *cancellable,
                                GError           **error)
{
  g_autoptr(HeraldOAuthAccount) account = NULL;
  char *token;

  g_return_val_if_fail (config != NULL, FALSE);
  g_return_val_if_fail (settings == NULL || G_IS_SETTINGS (settings), FALSE);

  if (config->auth != HERALD_AUTH_XOAUTH2 && config->auth != HERALD_AUTH_OAUTHBEARER)
    return TRUE;

  if (settings == NULL)
    {
      g_set_error_literal (error, HERALD_OAUTH_ERROR, HERALD_OAUTH_ERROR_NOT_SIGNED_IN,
                           _("the saved OAuth 2.0 sign-in (provider, client ID) is not available "
                             "because the settings schema is not installed"));
      return FALSE;
    }

  account = herald_oauth_account_new_from_settings (settings);
  if (config->username != NULL && *config->username != '\0')
    {
      g_free (account->account);
      account->account = g_strdup (config->username);
    }

  token = herald_oauth_get_access_token_sync (account, cancellable, error);
  if (token == NULL)
    return FALSE;

  _herald_oauth_wipe_free (config->oauth_token);
  config->oauth_token = token;
  if (config->username == NULL || *config->username == '\0')
    {
      g_free (config->username);
      config->username = g_strdup (account->account);
    }

  return TRUE;
}
