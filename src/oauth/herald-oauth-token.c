/* SPDX-License-Identifier: GPL-3.0-or-later
 * Copyright 2026 The Herald authors
 */
#define G_LOG_DOMAIN "herald-oauth"

/* The token endpoint and the tokens: the request every grant shares, the
 * checked reading of its reply, the tokens in the keyring, their refresh, and
 * sign-out. */

#include "config.h"

#include <glib/gi18n.h>
#include <json-glib/json-glib.h>
#include <libsoup/soup.h>
#include <string.h>

#include "herald-oauth.h"
#include "herald-oauth-private.h"
#include "herald-secrets-oauth.h"

/* Refreshes are serialised, so two callers never spend the same refresh
 * token; sign-out takes the lock too, so it cannot race a refresh that would
 * store the tokens again. */
static GMutex refresh_lock;

/* ---------------------------------------------------------------------------
 * Requests and replies.
 * ------------------------------------------------------------------------- */

GHashTable *
herald_oauth_token_form_new (const HeraldOAuthTokenRequest *request)
{
  GHashTable *form = _herald_oauth_form_new ();

  g_return_val_if_fail (request != NULL, form);
  g_return_val_if_fail (request->grant_type != NULL, form);

  _herald_oauth_form_add (form, "grant_type", request->grant_type);
  _herald_oauth_form_add (form, "client_id", request->client_id);
  _herald_oauth_form_add (form, "scope", request->scope);
  if (!_herald_oauth_is_empty (request->client_secret))
    _herald_oauth_form_add (form, "client_secret", request->client_secret);
  if (!_herald_oauth_is_empty (request->client_assertion))
    {
      /* RFC 7523 §2.2: a JWT signed with the client's key instead of a secret. */
      _herald_oauth_form_add (form, "client_assertion_type", HERALD_OAUTH_CLIENT_ASSERTION_JWT);
      _herald_oauth_form_add (form, "client_assertion", request->client_assertion);
    }

  return form;
}

void
herald_oauth_token_reply_clear (HeraldOAuthTokenReply *reply)
{
  g_clear_pointer (&reply->access_token, herald_secret_free);
  g_clear_pointer (&reply->refresh_token, herald_secret_free);
  reply->expires_in = 0;
}

static gboolean
token_reply_from_object (JsonObject             *object,
                         HeraldOAuthTokenReply  *reply,
                         GError                **error)
{
  const char *access_token = _herald_oauth_json_get_string (object, "access_token", NULL);
  const char *refresh_token = _herald_oauth_json_get_string (object, "refresh_token", NULL);
  const char *token_type = _herald_oauth_json_get_string (object, "token_type", "Bearer");
  gint64 expires_in = 3600;

  if (json_object_has_member (object, "expires_in"))
    {
      JsonNode *node = json_object_get_member (object, "expires_in");

      /* Some servers send it as a string. */
      if (JSON_NODE_HOLDS_VALUE (node) && json_node_get_value_type (node) == G_TYPE_STRING)
        expires_in = g_ascii_strtoll (json_node_get_string (node), NULL, 10);
      else if (JSON_NODE_HOLDS_VALUE (node))
        expires_in = json_node_get_int (node);
    }

  if (access_token == NULL || *access_token == '\0'
      || _herald_oauth_has_control_chars (access_token)
      || strchr (access_token, ' ') != NULL)
    {
      g_set_error_literal (error, HERALD_OAUTH_ERROR, HERALD_OAUTH_ERROR_PROTOCOL,
                           _("The identity provider's reply has no usable access token."));
      return FALSE;
    }
  if (g_ascii_strcasecmp (token_type, "Bearer") != 0)
    {
      g_set_error (error, HERALD_OAUTH_ERROR, HERALD_OAUTH_ERROR_PROTOCOL,
                   _("The identity provider issued a “%s” token; SMTP needs a Bearer token."),
                   token_type);
      return FALSE;
    }
  if (refresh_token != NULL
      && (*refresh_token == '\0' || _herald_oauth_has_control_chars (refresh_token)))
    refresh_token = NULL;
  if (expires_in <= 0 || expires_in > 30 * 24 * 3600)
    expires_in = 3600;

  reply->access_token = g_strdup (access_token);
  reply->refresh_token = g_strdup (refresh_token);
  reply->expires_in = expires_in;

  return TRUE;
}

gboolean
_herald_oauth_token_reply_parse (const char             *url,
                                 guint                   status,
                                 GBytes                 *body,
                                 HeraldOAuthTokenReply  *reply,
                                 char                  **oauth_error,
                                 GError                **error)
{
  g_autoptr(JsonObject) object = NULL;

  g_return_val_if_fail (body != NULL, FALSE);
  g_return_val_if_fail (reply != NULL && reply->access_token == NULL, FALSE);

  object = _herald_oauth_reply_get_object (url, status, body, oauth_error, error);
  if (object == NULL)
    return FALSE;

  return token_reply_from_object (object, reply, error);
}

gboolean
herald_oauth_request_token (SoupSession            *session,
                            const char             *token_url,
                            GHashTable             *form,
                            HeraldOAuthTokenReply  *reply,
                            char                  **oauth_error,
                            GCancellable           *cancellable,
                            GError                **error)
{
  g_autoptr(GBytes) body = NULL;
  guint status = 0;

  body = _herald_oauth_post_form (session, token_url, form, &status, cancellable, error);
  if (body == NULL)
    return FALSE;

  return _herald_oauth_token_reply_parse (token_url, status, body, reply, oauth_error, error);
}

/* Stores a token reply. old may supply the refresh token when the reply has
 * none, and the client secret. */
static gboolean
store_tokens (const HeraldOAuthAccount     *account,
              const HeraldOAuthTokenReply  *reply,
              const HeraldOAuthTokens      *old,
              GCancellable                 *cancellable,
              GError                      **error)
{
  g_autoptr(HeraldOAuthTokens) tokens = NULL;

  if (reply->refresh_token == NULL && (old == NULL || old->refresh_token == NULL))
    {
      g_set_error_literal (error, HERALD_OAUTH_ERROR, HERALD_OAUTH_ERROR_PROTOCOL,
                           _("The identity provider issued no refresh token (the offline_access "
                             "permission is missing), so Herald could not send later without "
                             "signing in again."));
      return FALSE;
    }

  tokens = herald_oauth_tokens_new ();
  tokens->access_token = g_strdup (reply->access_token);
  tokens->refresh_token = g_strdup (reply->refresh_token != NULL ? reply->refresh_token
                                                                 : old->refresh_token);
  tokens->expires_at = g_get_real_time () / G_USEC_PER_SEC + reply->expires_in;
  tokens->client_secret = g_strdup (!_herald_oauth_is_empty (account->client_secret)
                                    ? account->client_secret
                                    : old != NULL ? old->client_secret : NULL);

  return herald_oauth_tokens_store_sync (herald_oauth_provider_to_string (account->provider),
                                         account->account,
                                         herald_oauth_account_get_effective_client_id (account),
                                         tokens, cancellable, error);
}

gboolean
_herald_oauth_store_sign_in (const HeraldOAuthAccount     *account,
                             const HeraldOAuthTokenReply  *reply,
                             GCancellable                 *cancellable,
                             GError                      **error)
{
  return store_tokens (account, reply, NULL, cancellable, error);
}

/* ---------------------------------------------------------------------------
 * Access tokens.
 * ------------------------------------------------------------------------- */

static char *
get_access_token (const HeraldOAuthAccount  *account,
                  gboolean                   force_refresh,
                  GCancellable              *cancellable,
                  GError                   **error)
{
  g_autoptr(HeraldOAuthTokens) tokens = NULL;
  g_autoptr(SoupSession) session = NULL;
  g_autoptr(GHashTable) form = NULL;
  g_auto(HeraldOAuthTokenReply) reply = { 0 };
  g_autofree char *token_url = NULL;
  g_autofree char *oauth_error = NULL;
  g_autoptr(GMutexLocker) locker = NULL;
  HeraldOAuthTokenRequest request = { 0 };
  const char *provider;
  const char *client_id;
  GError *local = NULL;
  gint64 now;

  if (!herald_oauth_account_validate (account, error))
    return NULL;
  if (!herald_oauth_account_get_endpoints (account, NULL, &token_url, NULL, error))
    return NULL;

  provider = herald_oauth_provider_to_string (account->provider);
  client_id = herald_oauth_account_get_effective_client_id (account);

  locker = g_mutex_locker_new (&refresh_lock);

  tokens = herald_oauth_tokens_lookup_sync (provider, account->account, client_id, cancellable, &local);
  if (local != NULL)
    {
      g_propagate_error (error, local);
      return NULL;
    }
  if (tokens == NULL || tokens->refresh_token == NULL)
    {
      if (tokens != NULL && tokens->access_token != NULL && !force_refresh
          && tokens->expires_at - g_get_real_time () / G_USEC_PER_SEC >= HERALD_OAUTH_REFRESH_MARGIN)
        return g_strdup (tokens->access_token);

      g_set_error (error, HERALD_OAUTH_ERROR, HERALD_OAUTH_ERROR_NOT_SIGNED_IN,
                   _("Not signed in as %s with this client ID: sign in first "
                     "(Sign In in the window, or “heraldctl login”)."), account->account);
      return NULL;
    }

  now = g_get_real_time () / G_USEC_PER_SEC;
  if (!force_refresh && tokens->access_token != NULL
      && tokens->expires_at - now >= HERALD_OAUTH_REFRESH_MARGIN)
    return g_strdup (tokens->access_token);

  g_debug ("Refreshing the access token for %s (%s)", account->account, provider);

  request.grant_type = HERALD_OAUTH_GRANT_REFRESH_TOKEN;
  request.client_id = client_id;
  request.scope = _herald_oauth_account_get_scope (account);
  request.client_secret = !_herald_oauth_is_empty (account->client_secret)
                          ? account->client_secret : tokens->client_secret;
  form = herald_oauth_token_form_new (&request);
  _herald_oauth_form_add (form, "refresh_token", tokens->refresh_token);

  session = herald_oauth_session_new ();
  if (!herald_oauth_request_token (session, token_url, form, &reply, &oauth_error,
                                   cancellable, &local))
    {
      if (g_error_matches (local, HERALD_OAUTH_ERROR, HERALD_OAUTH_ERROR_SIGN_IN_AGAIN)
          || g_strcmp0 (oauth_error, "invalid_grant") == 0)
        {
          /* The refresh token is dead: forget it so the window shows "signed out". */
          herald_oauth_tokens_clear_sync (provider, account->account, client_id, NULL, NULL);
          if (local->code != HERALD_OAUTH_ERROR_SIGN_IN_AGAIN)
            {
              /* e.g. invalid_grant carrying AADSTS65001: keep the precise
               * code, but say that signing in again is the way out. */
              g_prefix_error (&local, "%s ", _("Sign in again."));
            }
        }
      g_propagate_error (error, local);
      return NULL;
    }

  if (!store_tokens (account, &reply, tokens, cancellable, error))
    return NULL;

  return g_strdup (reply.access_token);
}

char *
herald_oauth_get_access_token_sync (const HeraldOAuthAccount  *account,
                                    GCancellable              *cancellable,
                                    GError                   **error)
{
  g_return_val_if_fail (account != NULL, NULL);

  return get_access_token (account, FALSE, cancellable, error);
}

char *
herald_oauth_refresh_access_token_sync (const HeraldOAuthAccount  *account,
                                        GCancellable              *cancellable,
                                        GError                   **error)
{
  g_return_val_if_fail (account != NULL, NULL);

  return get_access_token (account, TRUE, cancellable, error);
}

static void
get_access_token_thread (GTask        *task,
                         gpointer      source_object,
                         gpointer      task_data,
                         GCancellable *cancellable)
{
  GError *error = NULL;
  char *token = get_access_token (task_data, FALSE, cancellable, &error);

  if (token == NULL)
    g_task_return_error (task, error);
  else
    g_task_return_pointer (task, token, (GDestroyNotify) herald_secret_free);
}

void
herald_oauth_get_access_token_async (const HeraldOAuthAccount *account,
                                     GCancellable             *cancellable,
                                     GAsyncReadyCallback       callback,
                                     gpointer                  user_data)
{
  g_return_if_fail (account != NULL);

  _herald_oauth_run_account_task (account, herald_oauth_get_access_token_async,
                                  get_access_token_thread, cancellable, callback, user_data);
}

char *
herald_oauth_get_access_token_finish (GAsyncResult  *result,
                                      GError       **error)
{
  g_return_val_if_fail (g_task_is_valid (result, NULL), NULL);
  g_return_val_if_fail (g_task_get_source_tag (G_TASK (result)) == herald_oauth_get_access_token_async,
                        NULL);

  return g_task_propagate_pointer (G_TASK (result), error);
}

/* ---------------------------------------------------------------------------
 * Sign-out and state.
 * ------------------------------------------------------------------------- */

gboolean
herald_oauth_sign_out_sync (const HeraldOAuthAccount  *account,
                            GCancellable              *cancellable,
                            GError                   **error)
{
  g_autoptr(GMutexLocker) locker = NULL;

  g_return_val_if_fail (account != NULL, FALSE);

  if (!_herald_oauth_account_check_key (account, error))
    return FALSE;

  locker = g_mutex_locker_new (&refresh_lock);

  return herald_oauth_tokens_clear_sync (herald_oauth_provider_to_string (account->provider),
                                         account->account,
                                         herald_oauth_account_get_effective_client_id (account),
                                         cancellable, error);
}

static void
sign_out_thread (GTask        *task,
                 gpointer      source_object,
                 gpointer      task_data,
                 GCancellable *cancellable)
{
  GError *error = NULL;

  if (herald_oauth_sign_out_sync (task_data, cancellable, &error))
    g_task_return_boolean (task, TRUE);
  else
    g_task_return_error (task, error);
}

void
herald_oauth_sign_out_async (const HeraldOAuthAccount *account,
                             GCancellable             *cancellable,
                             GAsyncReadyCallback       callback,
                             gpointer                  user_data)
{
  g_return_if_fail (account != NULL);

  _herald_oauth_run_account_task (account, herald_oauth_sign_out_async, sign_out_thread,
                                  cancellable, callback, user_data);
}

gboolean
herald_oauth_sign_out_finish (GAsyncResult  *result,
                              GError       **error)
{
  g_return_val_if_fail (g_task_is_valid (result, NULL), FALSE);
  g_return_val_if_fail (g_task_get_source_tag (G_TASK (result)) == herald_oauth_sign_out_async,
                        FALSE);

  return g_task_propagate_boolean (G_TASK (result), error);
}

static void
is_signed_in_thread (GTask        *task,
                     gpointer      source_object,
                     gpointer      task_data,
                     GCancellable *cancellable)
{
  const HeraldOAuthAccount *account = task_data;
  g_autoptr(HeraldOAuthTokens) tokens = NULL;
  GError *error = NULL;

  if (!_herald_oauth_account_check_key (account, &error))
    {
      g_task_return_error (task, error);
      return;
    }

  tokens = herald_oauth_tokens_lookup_sync (herald_oauth_provider_to_string (account->provider),
                                            account->account,
                                            herald_oauth_account_get_effective_client_id (account),
                                            cancellable, &error);
  if (error != NULL)
    g_task_return_error (task, error);
  else
    g_task_return_boolean (task, tokens != NULL && tokens->refresh_token != NULL);
}

void
herald_oauth_is_signed_in_async (const HeraldOAuthAccount *account,
                                 GCancellable             *cancellable,
                                 GAsyncReadyCallback       callback,
                                 gpointer                  user_data)
{
  g_return_if_fail (account != NULL);

  _herald_oauth_run_account_task (account, herald_oauth_is_signed_in_async, is_signed_in_thread,
                                  cancellable, callback, user_data);
}

gboolean
herald_oauth_is_signed_in_finish (GAsyncResult  *result,
                                  GError       **error)
{
  g_return_val_if_fail (g_task_is_valid (result, NULL), FALSE);
  g_return_val_if_fail (g_task_get_source_tag (G_TASK (result)) == herald_oauth_is_signed_in_async,
                        FALSE);

  return g_task_propagate_boolean (G_TASK (result), error);
}
