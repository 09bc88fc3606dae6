/* SPDX-License-Identifier: GPL-3.0-or-later
 * Copyright 2026 The Herald authors
 */
#define G_LOG_DOMAIN "herald-secrets"

#include "config.h"

#include <glib/gi18n.h>
#include <libsecret/secret.h>
#include <string.h>

#include "herald-secrets.h"
#include "herald-secrets-oauth.h"
#include "herald-secrets-private.h"
#include "herald-secret.h"

/* Our own schema: the item is found again by provider, account and client ID,
 * so two app registrations (or two mailboxes) never overwrite each other. */
static const SecretSchema *
oauth_schema (void)
{
  static const SecretSchema schema = {
    HERALD_OAUTH_SECRET_SCHEMA_NAME, SECRET_SCHEMA_NONE,
    {
      { "provider", SECRET_SCHEMA_ATTRIBUTE_STRING },
      { "account", SECRET_SCHEMA_ATTRIBUTE_STRING },
      { "client-id", SECRET_SCHEMA_ATTRIBUTE_STRING },
      { NULL, 0 },
    },
    0, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
  };

  return &schema;
}


HeraldOAuthTokens *
herald_oauth_tokens_new (void)
{
  return g_new0 (HeraldOAuthTokens, 1);
}

HeraldOAuthTokens *
herald_oauth_tokens_copy (const HeraldOAuthTokens *tokens)
{
  HeraldOAuthTokens *copy;

  g_return_val_if_fail (tokens != NULL, NULL);

  copy = herald_oauth_tokens_new ();
  copy->refresh_token = g_strdup (tokens->refresh_token);
  copy->access_token = g_strdup (tokens->access_token);
  copy->expires_at = tokens->expires_at;
  copy->client_secret = g_strdup (tokens->client_secret);

  return copy;
}

void
herald_oauth_tokens_free (HeraldOAuthTokens *tokens)
{
  if (tokens == NULL)
    return;

  herald_secret_free (tokens->refresh_token);
  herald_secret_free (tokens->access_token);
  herald_secret_free (tokens->client_secret);
  g_free (tokens);
}

static gboolean
check_key (const char  *provider,
           const char  *account,
           const char  *client_id,
           GError     **error)
{
  if (provider == NULL || *provider == '\0' || account == NULL || *account == '\0'
      || client_id == NULL || *client_id == '\0')
    {
      g_set_error_literal (error, HERALD_SECRETS_ERROR, HERALD_SECRETS_ERROR_FAILED,
                           _("OAuth tokens need a provider, an account and a client ID."));
      return FALSE;
    }

  return TRUE;
}

/* No Secret Service on the bus: say so in our own words, keep the rest. */
static void
propagate_secret_error (GError  **error,
                        GError   *local)
{
  /* The same test as for passwords: no session bus at all counts too. */
  if (_herald_secrets_is_no_service_error (local))
    {
      g_set_error (error, HERALD_SECRETS_ERROR, HERALD_SECRETS_ERROR_NO_SERVICE,
                   _("No keyring (Secret Service) is running in this session: %s"),
                   local->message);
      g_error_free (local);
      return;
    }
  if (g_error_matches (local, SECRET_ERROR, SECRET_ERROR_IS_LOCKED))
    {
      g_set_error (error, HERALD_SECRETS_ERROR, HERALD_SECRETS_ERROR_LOCKED,
                   _("The keyring is locked: %s"), local->message);
      g_error_free (local);
      return;
    }
  g_propagate_error (error, local);
}

static HeraldOAuthTokens *
keyring_lookup (const char    *provider,
                const char    *account,
                const char    *client_id,
                gpointer       user_data,
                GCancellable  *cancellable,
                GError       **error)
{
  g_autoptr(HeraldOAuthTokens) tokens = NULL;
  GError *local = NULL;
  char *text;

  text = secret_password_lookup_sync (oauth_schema (), cancellable, &local,
                                      "provider", provider,
                                      "account", account,
                                      "client-id", client_id,
                                      NULL);
  if (local != NULL)
    {
      propagate_secret_error (error, local);
      return NULL;
    }
  if (text == NULL)
    return NULL;

  tokens = herald_oauth_tokens_parse (text, error);
  secret_password_free (text);
  return g_steal_pointer (&tokens);
}

static gboolean
keyring_store (const char              *provider,
               const char              *account,
               const char              *client_id,
               const HeraldOAuthTokens *tokens,
               gpointer                 user_data,
               GCancellable            *cancellable,
               GError                 **error)
{
  g_autofree char *label = NULL;
  GError *local = NULL;
  char *text = herald_oauth_tokens_serialize (tokens);
  gboolean ok;

  /* Translators: the keyring item's label; %s is a mail address. */
  label = g_strdup_printf (_("Herald OAuth 2.0 sign-in for %s"), account);
  ok = secret_password_store_sync (oauth_schema (), SECRET_COLLECTION_DEFAULT, label, text,
                                   cancellable, &local,
                                   "provider", provider,
                                   "account", account,
                                   "client-id", client_id,
                                   NULL);
  herald_secret_free (text);

  if (!ok)
    {
      if (local != NULL)
        propagate_secret_error (error, local);
      else
        g_set_error_literal (error, HERALD_SECRETS_ERROR, HERALD_SECRETS_ERROR_FAILED,
                             _("Could not store the OAuth tokens in the keyring."));
      return FALSE;
    }

  return TRUE;
}

static gboolean
keyring_clear (const char    *provider,
               const char    *account,
               const char    *client_id,
               gpointer       user_data,
               GCancellable  *cancellable,
               GError       **error)
{
  GError *local = NULL;

  secret_password_clear_sync (oauth_schema (), cancellable, &local,
                              "provider", provider,
                              "account", account,
                              "client-id", client_id,
                              NULL);
  if (local != NULL)
    {
      propagate_secret_error (error, local);
      return FALSE;
    }

  return TRUE;
}

/* ---- the store in use, and the text form of the tokens ---------------------- */

static const HeraldOAuthTokenStore keyring_token_store = {
  keyring_lookup,
  keyring_store,
  keyring_clear,
};

static const HeraldOAuthTokenStore *token_store = &keyring_token_store;
static gpointer token_store_data;

const HeraldOAuthTokenStore *
herald_oauth_tokens_keyring_store (void)
{
  return &keyring_token_store;
}

void
herald_oauth_tokens_set_store (const HeraldOAuthTokenStore *store,
                               gpointer                     user_data)
{
  token_store = store != NULL ? store : &keyring_token_store;
  token_store_data = store != NULL ? user_data : NULL;
}

char *
herald_oauth_tokens_serialize (const HeraldOAuthTokens *tokens)
{
  g_auto(GVariantBuilder) builder = G_VARIANT_BUILDER_INIT (G_VARIANT_TYPE_VARDICT);
  g_autoptr(GVariant) variant = NULL;
  char *text;

  g_return_val_if_fail (tokens != NULL, NULL);

  if (tokens->refresh_token != NULL)
    g_variant_builder_add (&builder, "{sv}", "refresh_token",
                           g_variant_new_string (tokens->refresh_token));
  if (tokens->access_token != NULL)
    g_variant_builder_add (&builder, "{sv}", "access_token",
                           g_variant_new_string (tokens->access_token));
  g_variant_builder_add (&builder, "{sv}", "expires_at", g_variant_new_int64 (tokens->expires_at));
  if (tokens->client_secret != NULL)
    g_variant_builder_add (&builder, "{sv}", "client_secret",
                           g_variant_new_string (tokens->client_secret));
  variant = g_variant_ref_sink (g_variant_builder_end (&builder));
  text = g_variant_print (variant, FALSE);
  return text;
}

HeraldOAuthTokens *
herald_oauth_tokens_parse (const char  *text,
                           GError     **error)
{
  g_autoptr(HeraldOAuthTokens) tokens = NULL;
  g_autoptr(GVariant) variant = NULL;
  g_autoptr(GVariantDict) dict = NULL;

  variant = text != NULL ? g_variant_parse (G_VARIANT_TYPE_VARDICT, text, NULL, NULL, NULL)
                         : NULL;
  if (variant == NULL)
    {
      g_set_error_literal (error, HERALD_SECRETS_ERROR, HERALD_SECRETS_ERROR_FAILED,
                           _("The stored OAuth tokens are damaged; sign in again."));
      return NULL;
    }

  tokens = herald_oauth_tokens_new ();
  dict = g_variant_dict_new (variant);
  g_variant_dict_lookup (dict, "refresh_token", "s", &tokens->refresh_token);
  g_variant_dict_lookup (dict, "access_token", "s", &tokens->access_token);
  g_variant_dict_lookup (dict, "expires_at", "x", &tokens->expires_at);
  g_variant_dict_lookup (dict, "client_secret", "s", &tokens->client_secret);

  if (tokens->refresh_token == NULL && tokens->access_token == NULL)
    {
      g_set_error_literal (error, HERALD_SECRETS_ERROR, HERALD_SECRETS_ERROR_FAILED,
                           _("The stored OAuth tokens are damaged; sign in again."));
      return NULL;
    }

  return g_steal_pointer (&tokens);
}

HeraldOAuthTokens *
herald_oauth_tokens_lookup_sync (const char    *provider,
                                 const char    *account,
                                 const char    *client_id,
                                 GCancellable  *cancellable,
                                 GError       **error)
{
  if (!check_key (provider, account, client_id, error))
    return NULL;
  return token_store->lookup (provider, account, client_id, token_store_data, cancellable, error);
}

gboolean
herald_oauth_tokens_store_sync (const char              *provider,
                                const char              *account,
                                const char              *client_id,
                                const HeraldOAuthTokens *tokens,
                                GCancellable            *cancellable,
                                GError                 **error)
{
  g_return_val_if_fail (tokens != NULL, FALSE);

  if (!check_key (provider, account, client_id, error))
    return FALSE;
  return token_store->store (provider, account, client_id, tokens, token_store_data,
                             cancellable, error);
}

gboolean
herald_oauth_tokens_clear_sync (const char    *provider,
                                const char    *account,
                                const char    *client_id,
                                GCancellable  *cancellable,
                                GError       **error)
{
  if (!check_key (provider, account, client_id, error))
    return FALSE;
  return token_store->clear (provider, account, client_id, token_store_data, cancellable, error);
}
