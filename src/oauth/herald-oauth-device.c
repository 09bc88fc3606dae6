/* SPDX-License-Identifier: GPL-3.0-or-later
 * Copyright 2026 The Herald authors
 */
#define G_LOG_DOMAIN "herald-oauth"

/* Sign-in with a code (RFC 8628 device authorization grant, Microsoft only):
 * the user types a short code on any device while this polls the token
 * endpoint. */

#include "config.h"

#include <glib/gi18n.h>
#include <json-glib/json-glib.h>
#include <libsoup/soup.h>
#include <string.h>

#include "herald-oauth.h"
#include "herald-oauth-private.h"

static guint poll_unit_ms = 1000;

void
herald_oauth_set_poll_unit_ms (guint ms)
{
  g_atomic_int_set (&poll_unit_ms, ms == 0 ? 1000 : ms);
}

static gboolean
sleep_cancellable (gint64         ms,
                   GCancellable  *cancellable,
                   GError       **error)
{
  gint64 deadline = g_get_monotonic_time () + ms * 1000;
  GPollFD fd;
  gboolean have_fd = cancellable != NULL && g_cancellable_make_pollfd (cancellable, &fd);

  for (;;)
    {
      gint64 remaining = (deadline - g_get_monotonic_time ()) / 1000;

      if (g_cancellable_set_error_if_cancelled (cancellable, error))
        break;
      if (remaining <= 0)
        break;
      if (have_fd)
        g_poll (&fd, 1, (int) MIN (remaining, G_MAXINT));
      else
        g_usleep ((gulong) MIN (remaining, 100) * 1000);
    }
  if (have_fd)
    g_cancellable_release_fd (cancellable);

  return !g_cancellable_is_cancelled (cancellable);
}

typedef struct {
  HeraldOAuthDeviceCodeFunc func;
  gpointer data;
  char *verification_uri;
  char *user_code;
  char *message;
} DeviceCodeCall;

static void
device_code_call_free (DeviceCodeCall *call)
{
  g_free (call->verification_uri);
  g_free (call->user_code);
  g_free (call->message);
  g_free (call);
}

static gboolean
device_code_call_cb (gpointer user_data)
{
  DeviceCodeCall *call = user_data;

  call->func (call->verification_uri, call->user_code, call->message, call->data);

  return G_SOURCE_REMOVE;
}

static gint64
json_int_member (JsonObject *object,
                 const char *name,
                 gint64      fallback)
{
  JsonNode *node = json_object_get_member (object, name);

  if (node == NULL || !JSON_NODE_HOLDS_VALUE (node))
    return fallback;
  if (json_node_get_value_type (node) == G_TYPE_STRING)
    return g_ascii_strtoll (json_node_get_string (node), NULL, 10);
  if (json_node_get_value_type (node) == G_TYPE_INT64)
    return json_node_get_int (node);

  return fallback;
}

static gboolean
sign_in_device (const HeraldOAuthAccount   *account,
                HeraldOAuthDeviceCodeFunc   code_func,
                gpointer                    code_data,
                GMainContext               *context,
                GCancellable               *cancellable,
                GError                    **error)
{
  g_autofree char *token_url = NULL;
  g_autofree char *device_url = NULL;
  g_autoptr(SoupSession) session = NULL;
  g_autoptr(GHashTable) form = NULL;
  g_autoptr(GBytes) body = NULL;
  g_autoptr(JsonObject) reply = NULL;
  g_autoptr(HeraldSecret) device_code = NULL;
  HeraldOAuthTokenRequest request = { 0 };
  const char *user_code;
  const char *verification_uri;
  const char *message;
  gint64 interval;
  gint64 expires_in;
  gint64 deadline;
  guint status = 0;

  if (account->provider != HERALD_OAUTH_PROVIDER_MICROSOFT)
    {
      g_set_error_literal (error, HERALD_OAUTH_ERROR, HERALD_OAUTH_ERROR_UNSUPPORTED,
                           _("Google does not allow signing in with a code for mail access: "
                             "sign in with the browser."));
      return FALSE;
    }
  if (!herald_oauth_account_validate (account, error))
    return FALSE;
  if (!herald_oauth_account_get_endpoints (account, NULL, &token_url, &device_url, error))
    return FALSE;

  session = herald_oauth_session_new ();
  form = _herald_oauth_form_new ();
  _herald_oauth_form_add (form, "client_id",
                          herald_oauth_account_get_effective_client_id (account));
  _herald_oauth_form_add (form, "scope", _herald_oauth_account_get_scope (account));
  body = _herald_oauth_post_form (session, device_url, form, &status, cancellable, error);
  if (body == NULL)
    return FALSE;
  reply = _herald_oauth_reply_get_object (device_url, status, body, NULL, error);
  if (reply == NULL)
    return FALSE;

  device_code = g_strdup (_herald_oauth_json_get_string (reply, "device_code", NULL));
  user_code = _herald_oauth_json_get_string (reply, "user_code", NULL);
  verification_uri = _herald_oauth_json_get_string (reply, "verification_uri", NULL);
  if (verification_uri == NULL)
    verification_uri = _herald_oauth_json_get_string (reply, "verification_url", NULL);
  message = _herald_oauth_json_get_string (reply, "message", NULL);
  interval = json_int_member (reply, "interval", 5);
  expires_in = json_int_member (reply, "expires_in", 900);

  if (_herald_oauth_is_empty (device_code) || _herald_oauth_is_empty (user_code)
      || _herald_oauth_is_empty (verification_uri)
      || _herald_oauth_has_control_chars (user_code)
      || _herald_oauth_has_control_chars (verification_uri)
      || !(g_str_has_prefix (verification_uri, "https://") || g_str_has_prefix (verification_uri, "http://")))
    {
      g_set_error_literal (error, HERALD_OAUTH_ERROR, HERALD_OAUTH_ERROR_PROTOCOL,
                           _("The identity provider's device-code reply lacks the code or the address to visit."));
      return FALSE;
    }
  if (interval <= 0 || interval > 60)
    interval = 5;
  if (expires_in <= 0 || expires_in > 3600)
    expires_in = 900;

  if (code_func != NULL)
    {
      DeviceCodeCall *call = g_new0 (DeviceCodeCall, 1);

      call->func = code_func;
      call->data = code_data;
      call->verification_uri = g_strdup (verification_uri);
      call->user_code = g_strdup (user_code);
      call->message = message != NULL ? _herald_oauth_clean_text (message) : NULL;
      if (context != NULL)
        g_main_context_invoke_full (context, G_PRIORITY_DEFAULT, device_code_call_cb, call,
                                    (GDestroyNotify) device_code_call_free);
      else
        {
          device_code_call_cb (call);
          device_code_call_free (call);
        }
    }

  request.grant_type = HERALD_OAUTH_GRANT_DEVICE_CODE;
  request.client_id = herald_oauth_account_get_effective_client_id (account);
  deadline = g_get_monotonic_time () + expires_in * g_atomic_int_get (&poll_unit_ms) * 1000;

  for (;;)
    {
      g_auto(HeraldOAuthTokenReply) token_reply = { 0 };
      g_autofree char *oauth_error = NULL;
      GError *local = NULL;

      if (!sleep_cancellable (interval * g_atomic_int_get (&poll_unit_ms), cancellable, error))
        return FALSE;

      g_clear_pointer (&form, g_hash_table_unref);
      form = herald_oauth_token_form_new (&request);
      _herald_oauth_form_add (form, "device_code", device_code);
      if (herald_oauth_request_token (session, token_url, form, &token_reply, &oauth_error,
                                      cancellable, &local))
        return _herald_oauth_store_sign_in (account, &token_reply, cancellable, error);

      if (g_strcmp0 (oauth_error, "authorization_pending") == 0)
        g_clear_error (&local);
      else if (g_strcmp0 (oauth_error, "slow_down") == 0)
        {
          /* RFC 8628 §3.5: add 5 seconds to this and every later interval. */
          g_clear_error (&local);
          interval += 5;
        }
      else if (g_strcmp0 (oauth_error, "authorization_declined") == 0
               || g_strcmp0 (oauth_error, "access_denied") == 0)
        {
          g_clear_error (&local);
          /* The OAuth code stays in the message, untranslated, for the diagnosis rules. */
          g_set_error (error, HERALD_OAUTH_ERROR, HERALD_OAUTH_ERROR_DECLINED,
                       "%s (%s)", _("The sign-in was declined in the browser."), oauth_error);
          return FALSE;
        }
      else if (g_strcmp0 (oauth_error, "expired_token") == 0)
        {
          g_clear_error (&local);
          g_set_error (error, HERALD_OAUTH_ERROR, HERALD_OAUTH_ERROR_EXPIRED,
                       "%s (expired_token)", _("The code expired before the sign-in was finished: start again."));
          return FALSE;
        }
      else
        {
          g_propagate_error (error, local);
          return FALSE;
        }

      if (g_get_monotonic_time () >= deadline)
        {
          g_set_error (error, HERALD_OAUTH_ERROR, HERALD_OAUTH_ERROR_EXPIRED,
                       "%s (expired_token)", _("The code expired before the sign-in was finished: start again."));
          return FALSE;
        }
    }
}

typedef struct {
  HeraldOAuthAccount *account;
  HeraldOAuthDeviceCodeFunc code_func;
  gpointer code_data;
  GDestroyNotify code_destroy;
  GMainContext *context;
} DeviceTaskData;

typedef struct {
  GDestroyNotify destroy;
  gpointer data;
} DestroyCall;

static gboolean
destroy_call_cb (gpointer user_data)
{
  DestroyCall *call = user_data;

  call->destroy (call->data);
  g_free (call);

  return G_SOURCE_REMOVE;
}

/* The task may be freed on the worker thread: code_destroy still runs in the
 * caller's context, after any pending code_func call. */
static void
device_task_data_free (DeviceTaskData *data)
{
  herald_oauth_account_free (data->account);
  if (data->code_destroy != NULL)
    {
      DestroyCall *call = g_new0 (DestroyCall, 1);

      call->destroy = data->code_destroy;
      call->data = data->code_data;
      g_main_context_invoke (data->context, destroy_call_cb, call);
    }
  g_main_context_unref (data->context);
  g_free (data);
}

static void
sign_in_device_thread (GTask        *task,
                       gpointer      source_object,
                       gpointer      task_data,
                       GCancellable *cancellable)
{
  DeviceTaskData *data = task_data;
  GError *error = NULL;

  if (sign_in_device (data->account, data->code_func, data->code_data, g_task_get_context (task),
                      cancellable, &error))
    g_task_return_boolean (task, TRUE);
  else
    g_task_return_error (task, error);
}

void
herald_oauth_sign_in_device_async (const HeraldOAuthAccount  *account,
                                   HeraldOAuthDeviceCodeFunc  code_func,
                                   gpointer                   code_data,
                                   GDestroyNotify             code_destroy,
                                   GCancellable              *cancellable,
                                   GAsyncReadyCallback        callback,
                                   gpointer                   user_data)
{
  g_autoptr(GTask) task = NULL;
  DeviceTaskData *data;

  g_return_if_fail (account != NULL);

  data = g_new0 (DeviceTaskData, 1);
  data->account = herald_oauth_account_copy (account);
  data->code_func = code_func;
  data->code_data = code_data;
  data->code_destroy = code_destroy;
  data->context = g_main_context_ref_thread_default ();

  task = g_task_new (NULL, cancellable, callback, user_data);
  g_task_set_source_tag (task, herald_oauth_sign_in_device_async);
  g_task_set_task_data (task, data, (GDestroyNotify) device_task_data_free);
  g_task_run_in_thread (task, sign_in_device_thread);
}

gboolean
herald_oauth_sign_in_device_finish (GAsyncResult  *result,
                                    GError       **error)
{
  g_return_val_if_fail (g_task_is_valid (result, NULL), FALSE);
  g_return_val_if_fail (g_task_get_source_tag (G_TASK (result)) == herald_oauth_sign_in_device_async,
                        FALSE);

  return g_task_propagate_boolean (G_TASK (result), error);
}

gboolean
herald_oauth_sign_in_device_sync (const HeraldOAuthAccount  *account,
                                  HeraldOAuthDeviceCodeFunc  code_func,
                                  gpointer                   code_data,
                                  GCancellable              *cancellable,
                                  GError                   **error)
{
  g_return_val_if_fail (account != NULL, FALSE);

  return sign_in_device (account, code_func, code_data, NULL, cancellable, error);
}
