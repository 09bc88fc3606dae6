/* SPDX-License-Identifier: GPL-3.0-or-later
 * Copyright 2026 The Herald authors
 */
#define G_LOG_DOMAIN "herald-graph"

#include "config.h"

#include <glib/gi18n.h>
#include <string.h>

#include "herald-graph-transport.h"
#include "herald-oauth-smtp.h"
#include "herald-secret.h"

/* The keyring item of an app-only sign-in: provider "microsoft-app", the
 * tenant as the account (herald-secrets-oauth.h). */
#define APP_PROVIDER "microsoft-app"

/* ---- where app-only credentials live --------------------------------------- */

static HeraldOAuthTokens *
keyring_lookup (const char    *tenant,
                const char    *client_id,
                gpointer       user_data,
                GCancellable  *cancellable,
                GError       **error)
{
  return herald_oauth_tokens_lookup_sync (APP_PROVIDER, tenant, client_id, cancellable, error);
}

static gboolean
keyring_store (const char               *tenant,
               const char               *client_id,
               const HeraldOAuthTokens  *credentials,
               gpointer                  user_data,
               GCancellable             *cancellable,
               GError                  **error)
{
  return herald_oauth_tokens_store_sync (APP_PROVIDER, tenant, client_id, credentials, cancellable,
                                         error);
}

static gboolean
keyring_clear (const char    *tenant,
               const char    *client_id,
               gpointer       user_data,
               GCancellable  *cancellable,
               GError       **error)
{
  return herald_oauth_tokens_clear_sync (APP_PROVIDER, tenant, client_id, cancellable, error);
}

static const HeraldGraphAppStore keyring_app_store = {
  keyring_lookup, keyring_store, NULL, keyring_clear
};

const HeraldGraphAppStore *
herald_graph_app_store_keyring (void)
{
  return &keyring_app_store;
}

/* ---- settings ----------------------------------------------------------------- */

HeraldOAuthAccount *
herald_graph_oauth_account_new_from_settings (GSettings *settings)
{
  HeraldOAuthAccount *account;

  g_return_val_if_fail (G_IS_SETTINGS (settings), NULL);

  account = herald_oauth_account_new_from_settings (settings);
  if (account->provider == HERALD_OAUTH_PROVIDER_MICROSOFT &&
      herald_graph_transport_from_settings (settings))
    {
      g_autofree char *endpoint = g_settings_get_string (settings, "graph-endpoint");

      /* NULL for an unusable endpoint: sending says why, not the sign-in. */
      account->scope = herald_graph_scope_for_endpoint (endpoint, FALSE);
      /* /me sends as the signed-in mailbox, which is the sender. */
      if (account->account == NULL || *account->account == '\0')
        {
          g_free (account->account);
          account->account = g_settings_get_string (settings, "from");
        }
    }
  return account;
}

gboolean
herald_graph_app_only_from_settings (GSettings *settings)
{
  g_autofree char *mode = NULL;

  g_return_val_if_fail (G_IS_SETTINGS (settings), FALSE);

  mode = g_settings_get_string (settings, "oauth-mode");
  return g_strcmp0 (mode, "app-only") == 0;
}

/* ---- app-only tokens ------------------------------------------------------------ */

/* One grant at a time, so that two deliveries do not both store. */
static GMutex app_lock;

static const char *
app_scope_or_default (const char *scope)
{
  return scope != NULL ? scope : HERALD_GRAPH_DEFAULT_ENDPOINT "/.default";
}

gboolean
herald_graph_app_sign_in_sync (const HeraldGraphAppCredentials *credentials,
                               const HeraldGraphAppStore       *store,
                               GCancellable                    *cancellable,
                               GError                         **error)
{
  g_autoptr(HeraldOAuthTokens) stored = NULL;
  g_autoptr(GMutexLocker) locker = NULL;
  g_autofree char *tenant = NULL;
  gint64 expires_in = 0;
  char *token;

  g_return_val_if_fail (credentials != NULL, FALSE);

  if (store == NULL)
    store = herald_graph_app_store_keyring ();

  /* One grant proves the secret or certificate before anything is kept. */
  token = herald_graph_app_token_sync (credentials, &expires_in, cancellable, error);
  if (token == NULL)
    return FALSE;

  stored = herald_oauth_tokens_new ();
  stored->access_token = token;
  stored->expires_at = g_get_real_time () / G_USEC_PER_SEC + expires_in;
  stored->scope = g_strdup (app_scope_or_default (credentials->scope));
  stored->client_secret = g_strdup (credentials->client_secret);
  if (credentials->certificate_pem != NULL)
    {
      gsize len;
      const char *pem = g_bytes_get_data (credentials->certificate_pem, &len);

      stored->certificate = g_strndup (pem, len);
    }

  tenant = g_ascii_strdown (credentials->tenant, -1);
  locker = g_mutex_locker_new (&app_lock);
  return store->store (tenant, credentials->client_id, stored, store->user_data, cancellable,
                       error);
}

gboolean
herald_graph_app_sign_out_sync (const char                *tenant,
                                const char                *client_id,
                                const HeraldGraphAppStore *store,
                                HeraldGraphAppRemoved     *removed,
                                GCancellable              *cancellable,
                                GError                   **error)
{
  g_autoptr(HeraldOAuthTokens) stored = NULL;
  g_autoptr(GMutexLocker) locker = NULL;
  g_autofree char *lower = NULL;
  GError *local = NULL;

  g_return_val_if_fail (tenant != NULL && client_id != NULL, FALSE);

  if (store == NULL)
    store = herald_graph_app_store_keyring ();
  if (removed != NULL)
    *removed = HERALD_GRAPH_APP_REMOVED_NOTHING;
  if (store->clear == NULL)
    {
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED,
                           _("This credential store cannot remove an app-only sign-in."));
      return FALSE;
    }

  /* Stored under the tenant in lower case (herald_graph_app_sign_in_sync). */
  lower = g_ascii_strdown (tenant, -1);
  locker = g_mutex_locker_new (&app_lock);
  stored = store->lookup (lower, client_id, store->user_data, cancellable, &local);
  if (local != NULL)
    {
      g_propagate_error (error, local);
      return FALSE;
    }
  if (stored == NULL)
    return TRUE;
  if (!store->clear (lower, client_id, store->user_data, cancellable, error))
    return FALSE;
  if (removed != NULL)
    *removed = stored->certificate != NULL ? HERALD_GRAPH_APP_REMOVED_CERTIFICATE
               : stored->client_secret != NULL ? HERALD_GRAPH_APP_REMOVED_SECRET
               : HERALD_GRAPH_APP_REMOVED_NOTHING;
  return TRUE;
}

char *
herald_graph_app_access_token_sync (GSettings                 *settings,
                                    const HeraldGraphAppStore *store,
                                    const char                *scope,
                                    gboolean                   force,
                                    GCancellable              *cancellable,
                                    GError                   **error)
{
  g_autoptr(HeraldOAuthTokens) stored = NULL;
  g_autoptr(GMutexLocker) locker = NULL;
  g_autoptr(GBytes) pem = NULL;
  g_autofree char *client_id = NULL;
  g_autofree char *tenant = NULL;
  g_autofree char *authority = NULL;
  HeraldGraphAppCredentials credentials = { 0, };
  GError *local = NULL;
  gint64 expires_in = 0;
  gint64 now = g_get_real_time () / G_USEC_PER_SEC;
  char *token;

  g_return_val_if_fail (G_IS_SETTINGS (settings), NULL);

  if (store == NULL)
    store = herald_graph_app_store_keyring ();
  scope = app_scope_or_default (scope);

  client_id = g_settings_get_string (settings, "oauth-client-id");
  tenant = g_settings_get_string (settings, "oauth-tenant");
  authority = g_settings_get_string (settings, "oauth-authority");
  if (*client_id == '\0' || *tenant == '\0')
    {
      g_set_error_literal (error, HERALD_OAUTH_ERROR, HERALD_OAUTH_ERROR_NOT_SIGNED_IN,
                           _("No app-only sign-in is saved: sign in with “heraldctl login "
                             "--provider microsoft --app”."));
      return NULL;
    }
  {
    char *lower = g_ascii_strdown (tenant, -1);

    g_free (tenant);
    tenant = lower;
  }

  locker = g_mutex_locker_new (&app_lock);
  stored = store->lookup (tenant, client_id, store->user_data, cancellable, &local);
  if (local != NULL)
    {
      g_propagate_error (error, local);
      return NULL;
    }
  if (stored == NULL || (stored->client_secret == NULL && stored->certificate == NULL))
    {
      g_set_error (error, HERALD_OAUTH_ERROR, HERALD_OAUTH_ERROR_NOT_SIGNED_IN,
                   _("No app-only sign-in is saved for the app %s in the tenant %s: sign in with "
                     "“heraldctl login --provider microsoft --app”."), client_id, tenant);
      return NULL;
    }

  if (!force && stored->access_token != NULL && g_strcmp0 (stored->scope, scope) == 0 &&
      stored->expires_at - now >= HERALD_OAUTH_REFRESH_MARGIN)
    return g_strdup (stored->access_token);

  credentials.client_id = client_id;
  credentials.tenant = tenant;
  credentials.authority = *authority != '\0' ? authority : NULL;
  credentials.scope = scope;
  if (stored->certificate != NULL)
    {
      char *copy = g_strdup (stored->certificate);

      /* The key is wiped when the bytes go. */
      pem = g_bytes_new_with_free_func (copy, strlen (copy), (GDestroyNotify) herald_secret_free,
                                        copy);
      credentials.certificate_pem = pem;
    }
  else
    credentials.client_secret = stored->client_secret;

  token = herald_graph_app_token_sync (&credentials, &expires_in, cancellable, error);
  if (token == NULL)
    return NULL;

  /* Kept for the next run; a store that fails costs one grant more then. */
  herald_secret_free (stored->access_token);
  stored->access_token = g_strdup (token);
  stored->expires_at = now + expires_in;
  g_free (stored->scope);
  stored->scope = g_strdup (scope);
  if (!store->store (tenant, client_id, stored, store->user_data, cancellable, &local))
    {
      g_debug ("Could not keep the app-only access token: %s", local->message);
      g_clear_error (&local);
    }
  return token;
}

gboolean
herald_graph_fill_smtp_token (HeraldSmtpConfig           *config,
                              GSettings                  *settings,
                              const HeraldGraphAppStore  *store,
                              GCancellable               *cancellable,
                              GError                    **error)
{
  char *token;

  g_return_val_if_fail (config != NULL, FALSE);

  if (config->auth != HERALD_AUTH_XOAUTH2 && config->auth != HERALD_AUTH_OAUTHBEARER)
    return TRUE;
  if (settings == NULL || !herald_graph_app_only_from_settings (settings))
    return herald_oauth_fill_config_token (config, settings, cancellable, error);

  /* App-only SMTP (SMTP.SendAsApp): the mailbox is the login name. */
  token = herald_graph_app_access_token_sync (settings, store, HERALD_GRAPH_SMTP_APP_SCOPE, FALSE,
                                              cancellable, error);
  if (token == NULL)
    return FALSE;
  herald_secret_free (config->oauth_token);
  config->oauth_token = token;
  if (config->username == NULL || *config->username == '\0')
    {
      g_free (config->username);
      config->username = g_strdup (config->from);
    }
  return TRUE;
}

/* ---- the transport ----------------------------------------------------------- */

typedef struct {
  HeraldTransport             parent;
  HeraldGraphConfig          *config;
  GSettings                  *settings;
  const HeraldGraphAppStore  *store;
} GraphTransport;

/* One delivery: the token in use, and the commit of the message on its way. */
typedef struct {
  GraphTransport            *self;
  char                      *token;        /* secret */
  HeraldDeliveryCommitFunc   commit;
  gpointer                   callback_data;
  guint                      index;
  gboolean                   committed;
  gboolean                   refused;      /* the commit said no: not sent */
  gboolean                   plain_http;   /* the endpoint is http:// (loopback tests) */
  GCancellable              *message_cancellable;
} Run;

static char *
get_token (GraphTransport  *self,
           gboolean         force,
           GCancellable    *cancellable,
           GError         **error)
{
  if (self->settings == NULL)
    {
      g_set_error_literal (error, HERALD_OAUTH_ERROR, HERALD_OAUTH_ERROR_NOT_SIGNED_IN,
                           _("No access token for Microsoft Graph: sign in first."));
      return NULL;
    }

  if (self->config->mode == HERALD_GRAPH_APP_ONLY)
    {
      g_autofree char *scope = herald_graph_scope_for_endpoint (self->config->endpoint, TRUE);

      return herald_graph_app_access_token_sync (self->settings, self->store, scope, force,
                                                 cancellable, error);
    }

  {
    g_autoptr(HeraldOAuthAccount) account = herald_graph_oauth_account_new_from_settings (self->settings);

    g_free (account->scope);
    account->scope = herald_graph_scope_for_endpoint (self->config->endpoint, FALSE);
    return force ? herald_oauth_refresh_access_token_sync (account, cancellable, error)
                 : herald_oauth_get_access_token_sync (account, cancellable, error);
  }
}

/* After a 401: a new token, for this message's retry and the ones after. */
static char *
refresh_cb (gpointer       user_data,
            GCancellable  *cancellable,
            GError       **error)
{
  Run *run = user_data;
  char *fresh = get_token (run->self, TRUE, cancellable, error);

  if (fresh == NULL)
    return NULL;
  herald_secret_free (run->token);
  run->token = g_strdup (fresh);
  return fresh;
}

/* The message is committed once the connection to Graph stands, right
 * before the request goes out: a failure before that (no network, refused,
 * a bad certificate) can never have delivered it. */
static void
progress_cb (const HeraldProgress *progress,
             gpointer              user_data)
{
  Run *run = user_data;
  gboolean connected;

  if (run->committed || run->refused || progress->state != HERALD_STEP_SUCCEEDED)
    return;
  connected = progress->stage == HERALD_STAGE_TLS ||
              (run->plain_http && progress->stage == HERALD_STAGE_CONNECT);
  if (!connected)
    return;

  if (run->commit != NULL && !run->commit (run->index, run->callback_data))
    {
      run->refused = TRUE;
      g_cancellable_cancel (run->message_cancellable);
      return;
    }
  run->committed = TRUE;
}

static void
forward_cancel_cb (GCancellable *outer,
                   GCancellable *inner)
{
  g_cancellable_cancel (inner);
}

static GPtrArray *
graph_deliver (const HeraldTransport        *transport,
               const HeraldSmtpConfig       *smtp,
               const HeraldDeliveryMessage  *messages,
               guint                         n,
               HeraldDeliveryCommitFunc      commit,
               HeraldDeliveryDoneFunc        done,
               gpointer                      callback_data,
               gint64                       *retry_after,
               GCancellable                 *cancellable)
{
  GraphTransport *self = (GraphTransport *) transport;
  GPtrArray *results = g_ptr_array_new_with_free_func ((GDestroyNotify) herald_smtp_result_free);
  g_autoptr(GError) error = NULL;
  g_autoptr(HeraldSmtpResult) stop = NULL;   /* what the messages after a stop get */
  gint64 stop_retry_after = -1;
  HeraldGraphConfig config;
  Run run = { 0, };

  run.self = self;
  run.commit = commit;
  run.callback_data = callback_data;
  run.plain_http = self->config->endpoint != NULL &&
                   g_str_has_prefix (self->config->endpoint, "http://");

  if (self->config->access_token != NULL)
    run.token = g_strdup (self->config->access_token);
  else
    run.token = get_token (self, FALSE, cancellable, &error);
  if (run.token == NULL)
    {
      /* Nothing was sent: each message fails at the login, with the
       * sign-in's own words (AADSTS codes, "sign in again"). */
      for (guint i = 0; i < n; i++)
        g_ptr_array_add (results, herald_smtp_result_new_failed (HERALD_STAGE_AUTH, error));
      return results;
    }

  config = *self->config;
  for (guint i = 0; i < n; i++)
    {
      const HeraldDeliveryMessage *m = &messages[i];
      g_autoptr(GCancellable) inner = g_cancellable_new ();
      HeraldSmtpResult *result;
      gulong handler = 0;

      if (stop == NULL && g_cancellable_is_cancelled (cancellable))
        {
          g_autoptr(GError) cancelled = g_error_new_literal (G_IO_ERROR, G_IO_ERROR_CANCELLED,
                                                             _("The delivery was cancelled."));

          stop = herald_smtp_result_new_failed (HERALD_STAGE_RESOLVE, cancelled);
        }
      if (stop != NULL)
        {
          g_ptr_array_add (results, herald_smtp_result_copy (stop));
          retry_after[i] = stop_retry_after;
          continue;
        }

      if (cancellable != NULL)
        handler = g_cancellable_connect (cancellable, G_CALLBACK (forward_cancel_cb),
                                         g_object_ref (inner), g_object_unref);
      run.index = i;
      run.committed = FALSE;
      run.refused = FALSE;
      run.message_cancellable = inner;
      config.access_token = run.token;
      /* Delegated sends as the signed-in mailbox; app-only as the profile's
       * sender (the mailbox the app may send as). */
      if (config.from == NULL)
        config.from = (char *) smtp->from;

      result = herald_graph_send (&config, m->data, m->recipients,
                                  self->config->access_token != NULL ? NULL : refresh_cb, &run,
                                  inner, progress_cb, &run, &retry_after[i]);
      if (handler != 0)
        g_cancellable_disconnect (cancellable, handler);

      if (run.refused)
        {
          g_autoptr(GError) not_sent = g_error_new_literal (G_IO_ERROR, G_IO_ERROR_CANCELLED,
                                                            _("Not sent: the queue could not "
                                                              "record that the message was on "
                                                              "its way."));

          herald_smtp_result_free (result);
          result = herald_smtp_result_new_failed (HERALD_STAGE_DATA, not_sent);
          stop = herald_smtp_result_copy (result);
        }
      if (done != NULL)
        done (i, result->ok, callback_data);

      /* Throttled: the next messages would only be throttled too; they
       * wait as long as Graph asked. */
      if (!result->ok && result->reply != NULL &&
          (result->reply->code == 429 || result->reply->code == 503) &&
          herald_graph_result_is_temporary (result))
        {
          stop = herald_smtp_result_copy (result);
          stop_retry_after = retry_after[i];
        }
      g_ptr_array_add (results, result);
    }

  herald_secret_free (run.token);
  return results;
}

HeraldSmtpResult *
herald_graph_transport_test (const HeraldTransport  *transport,
                             const HeraldSmtpConfig *smtp,
                             GCancellable           *cancellable,
                             HeraldProgressFunc      progress,
                             gpointer                progress_data)
{
  GraphTransport *self = (GraphTransport *) transport;
  g_autoptr(GError) error = NULL;
  HeraldSmtpResult *result;
  HeraldGraphConfig config;
  Run run = { 0, };

  g_return_val_if_fail (transport != NULL && transport->deliver == graph_deliver, NULL);
  g_return_val_if_fail (smtp != NULL, NULL);

  run.self = self;
  if (self->config->access_token != NULL)
    run.token = g_strdup (self->config->access_token);
  else
    run.token = get_token (self, FALSE, cancellable, &error);
  if (run.token == NULL)
    return herald_smtp_result_new_failed (HERALD_STAGE_AUTH, error);

  config = *self->config;
  config.access_token = run.token;
  if (config.from == NULL)
    config.from = (char *) smtp->from;
  result = herald_graph_test (smtp, &config, self->config->access_token != NULL ? NULL : refresh_cb,
                              &run, cancellable, progress, progress_data);
  herald_secret_free (run.token);
  return result;
}

HeraldOutcome
herald_graph_outcome_classify (const HeraldSmtpResult *result,
                               gboolean               *slow_down)
{
  const GError *error;

  g_return_val_if_fail (result != NULL, HERALD_OUTCOME_QUEUED);

  if (slow_down != NULL)
    *slow_down = FALSE;
  if (result->ok)
    return HERALD_OUTCOME_SENT;

  if (herald_graph_result_is_temporary (result))
    {
      if (slow_down != NULL && result->reply != NULL && result->reply->code == 429)
        *slow_down = TRUE;
      return HERALD_OUTCOME_QUEUED;
    }

  error = result->error;
  if (result->reply != NULL && result->reply->code >= 400 &&
      g_error_matches (error, HERALD_SMTP_ERROR, HERALD_SMTP_ERROR_REJECTED))
    {
      const char *text = result->reply->text != NULL ? result->reply->text : "";

      if (result->stage == HERALD_STAGE_RCPT || g_str_has_prefix (text, "ErrorInvalidRecipients"))
        return HERALD_OUTCOME_FAILED_RECIPIENTS;
      if (result->reply->code == 413 || g_str_has_prefix (text, "ErrorMimeContent"))
        return HERALD_OUTCOME_FAILED_CONTENT;
    }

  /* Permissions, licence, the mailbox, the token, the certificate, the
   * sign-in: someone must act, then the message goes out. */
  return HERALD_OUTCOME_HELD;
}

static void
graph_transport_destroy (HeraldTransport *transport)
{
  GraphTransport *self = (GraphTransport *) transport;

  herald_graph_config_free (self->config);
  g_clear_object (&self->settings);
  g_free (self);
}

HeraldTransport *
herald_graph_transport_new (const HeraldGraphConfig   *config,
                            GSettings                 *settings,
                            const HeraldGraphAppStore *store)
{
  GraphTransport *self;

  g_return_val_if_fail (config != NULL, NULL);
  g_return_val_if_fail (settings == NULL || G_IS_SETTINGS (settings), NULL);

  self = g_new0 (GraphTransport, 1);
  self->parent.name = "graph";
  self->parent.deliver = graph_deliver;
  self->parent.classify = herald_graph_outcome_classify;
  self->parent.destroy = graph_transport_destroy;
  self->config = herald_graph_config_new ();
  self->config->endpoint = g_strdup (config->endpoint);
  self->config->mode = config->mode;
  self->config->from = g_strdup (config->from);
  self->config->access_token = g_strdup (config->access_token);
  self->config->timeout = config->timeout;
  self->settings = settings != NULL ? g_object_ref (settings) : NULL;
  self->store = store != NULL ? store : herald_graph_app_store_keyring ();
  return &self->parent;
}

HeraldTransport *
herald_graph_transport_new_from_settings (GSettings                 *settings,
                                          const HeraldGraphAppStore *store,
                                          GError                   **error)
{
  g_autoptr(HeraldGraphConfig) config = NULL;

  g_return_val_if_fail (G_IS_SETTINGS (settings), NULL);

  config = herald_graph_config_new_from_settings (settings, error);
  if (config == NULL)
    return NULL;
  config->mode = herald_graph_app_only_from_settings (settings) ? HERALD_GRAPH_APP_ONLY
                                                                : HERALD_GRAPH_DELEGATED;
  return herald_graph_transport_new (config, settings, store);
}

/* ---- the test in a worker, for the window ------------------------------------- */

typedef struct {
  HeraldTransport     *transport;   /* owned */
  HeraldSmtpConfig    *smtp;        /* a copy */
  HeraldProgressFunc   progress;
  gpointer             progress_data;
  GDestroyNotify       progress_destroy;
  GMainContext        *context;     /* the caller's */
} TestTask;

static void
test_task_free (TestTask *t)
{
  graph_transport_destroy (t->transport);
  herald_smtp_config_free (t->smtp);
  if (t->progress_destroy != NULL)
    t->progress_destroy (t->progress_data);
  g_main_context_unref (t->context);
  g_free (t);
}

typedef struct {
  TestTask       *task;
  GTask          *gtask;   /* keeps task alive */
  HeraldProgress  progress;
} ProgressIdle;

static gboolean
progress_idle (gpointer user_data)
{
  ProgressIdle *p = user_data;

  p->task->progress (&p->progress, p->task->progress_data);
  return G_SOURCE_REMOVE;
}

static void
progress_idle_free (gpointer user_data)
{
  ProgressIdle *p = user_data;

  g_object_unref (p->gtask);
  g_free (p);
}

/* On the worker: each step goes to the caller's main context, in order
 * (idle sources of one priority run in the order they were added). */
static void
test_progress_cb (const HeraldProgress *progress,
                  gpointer              user_data)
{
  GTask *gtask = user_data;
  TestTask *t = g_task_get_task_data (gtask);
  ProgressIdle *p;
  g_autoptr(GSource) source = NULL;

  if (t->progress == NULL)
    return;
  p = g_new0 (ProgressIdle, 1);
  p->task = t;
  p->gtask = g_object_ref (gtask);
  p->progress = *progress;
  source = g_idle_source_new ();
  g_source_set_priority (source, G_PRIORITY_DEFAULT);
  g_source_set_callback (source, progress_idle, p, progress_idle_free);
  g_source_attach (source, t->context);
}

static void
test_thread (GTask        *gtask,
             gpointer      source_object,
             gpointer      task_data,
             GCancellable *cancellable)
{
  TestTask *t = task_data;
  HeraldSmtpResult *result;

  result = herald_graph_transport_test (t->transport, t->smtp, cancellable, test_progress_cb, gtask);
  g_task_return_pointer (gtask, result, (GDestroyNotify) herald_smtp_result_free);
}

void
herald_graph_transport_test_async (HeraldTransport        *transport,
                                   const HeraldSmtpConfig *smtp,
                                   GCancellable           *cancellable,
                                   HeraldProgressFunc      progress,
                                   gpointer                progress_data,
                                   GDestroyNotify          progress_destroy,
                                   GAsyncReadyCallback     callback,
                                   gpointer                user_data)
{
  g_autoptr(GTask) gtask = NULL;
  TestTask *t;

  g_return_if_fail (transport != NULL && transport->deliver == graph_deliver);
  g_return_if_fail (smtp != NULL);

  t = g_new0 (TestTask, 1);
  t->transport = transport;
  t->smtp = herald_smtp_config_copy (smtp);
  t->progress = progress;
  t->progress_data = progress_data;
  t->progress_destroy = progress_destroy;
  t->context = g_main_context_ref_thread_default ();

  gtask = g_task_new (NULL, cancellable, callback, user_data);
  g_task_set_source_tag (gtask, herald_graph_transport_test_async);
  g_task_set_task_data (gtask, t, (GDestroyNotify) test_task_free);
  g_task_run_in_thread (gtask, test_thread);
}

HeraldSmtpResult *
herald_graph_transport_test_finish (GAsyncResult  *result,
                                    GError       **error)
{
  g_return_val_if_fail (g_task_is_valid (result, NULL), NULL);

  return g_task_propagate_pointer (G_TASK (result), error);
}
