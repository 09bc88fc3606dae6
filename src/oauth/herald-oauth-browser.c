/* SPDX-License-Identifier: GPL-3.0-or-later
 * Copyright 2026 The Herald authors
 */
#define G_LOG_DOMAIN "herald-oauth"

/* Browser sign-in: authorization code + PKCE (RFC 7636) in the system
 * browser, with a one-shot listener on 127.0.0.1 for the redirect. */

#include "config.h"

#include <errno.h>
#include <glib/gi18n.h>
#include <libsoup/soup.h>
#include <string.h>
#include <sys/random.h>

#include "herald-oauth.h"
#include "herald-oauth-private.h"

#define REDIRECT_WAIT_SECONDS    600   /* authorization codes live about ten minutes */
#define REQUEST_DEADLINE_SECONDS 5     /* a whole local request: browsers send it at once */
#define MAX_REQUEST_HEAD         8192

static HeraldOAuthBrowserFunc browser_func;
static gpointer browser_data;
G_LOCK_DEFINE_STATIC (browser);

/* ---------------------------------------------------------------------------
 * Random values and PKCE.
 * ------------------------------------------------------------------------- */

gboolean
_herald_oauth_random_bytes (guint8  *buf,
                            gsize    n,
                            GError **error)
{
  gsize done = 0;

  while (done < n)
    {
      ssize_t r = getrandom (buf + done, n - done, 0);

      if (r < 0)
        {
          int saved = errno;

          if (saved == EINTR)
            continue;
          g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved),
                       _("Could not read the system's random source: %s"), g_strerror (saved));
          return FALSE;
        }
      done += (gsize) r;
    }

  return TRUE;
}

char *
_herald_oauth_base64url (const guint8 *data,
                         gsize         len)
{
  char *text = g_base64_encode (data, len);
  char *out = text;

  for (char *p = text; *p != '\0'; p++)
    {
      if (*p == '=')
        break;
      *out++ = *p == '+' ? '-' : *p == '/' ? '_' : *p;
    }
  *out = '\0';

  return text;
}

char *
_herald_oauth_random_urlsafe (gsize    n,
                              GError **error)
{
  g_autofree guint8 *buf = g_malloc (n);
  char *text;

  if (!_herald_oauth_random_bytes (buf, n, error))
    return NULL;
  text = _herald_oauth_base64url (buf, n);
  herald_secret_wipe (buf, n);

  return text;
}

char *
_herald_oauth_pkce_challenge (const char *verifier)
{
  g_autoptr(GChecksum) checksum = g_checksum_new (G_CHECKSUM_SHA256);
  guint8 digest[32];
  gsize len = sizeof digest;

  g_checksum_update (checksum, (const guchar *) verifier, strlen (verifier));
  g_checksum_get_digest (checksum, digest, &len);

  return _herald_oauth_base64url (digest, len);
}

/* ---------------------------------------------------------------------------
 * The browser.
 * ------------------------------------------------------------------------- */

void
herald_oauth_set_browser_func (HeraldOAuthBrowserFunc func,
                               gpointer               user_data)
{
  G_LOCK (browser);
  browser_func = func;
  browser_data = user_data;
  G_UNLOCK (browser);
}

static gboolean
default_browser (const char  *uri,
                 gpointer     user_data,
                 GError     **error)
{
  GError *local = NULL;

  if (!g_app_info_launch_default_for_uri (uri, NULL, &local))
    {
      g_set_error (error, HERALD_OAUTH_ERROR, HERALD_OAUTH_ERROR_NO_BROWSER,
                   _("Could not open a web browser (%s). Install or set a default browser; "
                     "with Microsoft you can also sign in with a code instead."), local->message);
      g_error_free (local);
      return FALSE;
    }

  return TRUE;
}

/* Opening the browser happens in the caller's main context (the GTK thread
 * for the window), while the worker waits here. */
typedef struct {
  GMutex mutex;
  GCond cond;
  gboolean done;
  gboolean ok;
  const char *uri;
  GError *error;
} BrowserCall;

static gboolean
call_browser (const char  *uri,
              GError     **error)
{
  HeraldOAuthBrowserFunc func;
  gpointer data;

  G_LOCK (browser);
  func = browser_func != NULL ? browser_func : default_browser;
  data = browser_func != NULL ? browser_data : NULL;
  G_UNLOCK (browser);

  return func (uri, data, error);
}

static gboolean
browser_call_cb (gpointer user_data)
{
  BrowserCall *call = user_data;
  GError *local = NULL;
  gboolean ok = call_browser (call->uri, &local);

  g_mutex_lock (&call->mutex);
  call->ok = ok;
  call->error = local;
  call->done = TRUE;
  g_cond_signal (&call->cond);
  g_mutex_unlock (&call->mutex);

  return G_SOURCE_REMOVE;
}

static gboolean
open_browser (const char    *uri,
              GMainContext  *context,
              GError       **error)
{
  BrowserCall call = { 0 };
  gboolean ok;
  gboolean custom;

  G_LOCK (browser);
  custom = browser_func != NULL;
  G_UNLOCK (browser);

  /* The default launcher reads the MIME databases and spawns the browser:
   * keep that on this worker thread, off the caller's (the GTK) thread. Only
   * a custom opener, which may need its own thread, is invoked there. */
  if (context == NULL || !custom)
    return call_browser (uri, error);

  g_mutex_init (&call.mutex);
  g_cond_init (&call.cond);
  call.uri = uri;
  g_main_context_invoke (context, browser_call_cb, &call);

  g_mutex_lock (&call.mutex);
  while (!call.done)
    g_cond_wait (&call.cond, &call.mutex);
  g_mutex_unlock (&call.mutex);

  ok = call.ok;
  if (!ok)
    g_propagate_error (error, call.error);
  g_mutex_clear (&call.mutex);
  g_cond_clear (&call.cond);

  return ok;
}

static const char page_ok[] =
  "<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>Herald</title></head>"
  "<body><h1>Signed in</h1><p>You can close this tab and return to Herald.</p></body></html>";
static const char page_failed[] =
  "<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>Herald</title></head>"
  "<body><h1>Sign-in failed</h1><p>Return to Herald for details.</p></body></html>";
static const char page_wrong_session[] =
  "<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>Herald</title></head>"
  "<body><h1>Not this sign-in</h1><p>This sign-in link was not from the current Herald session, "
  "so it was ignored. Finish the sign-in in the tab Herald opened last.</p></body></html>";

static void
send_response (GSocketConnection *connection,
               const char        *status,
               const char        *body)
{
  g_autofree char *response = NULL;
  GOutputStream *out = g_io_stream_get_output_stream (G_IO_STREAM (connection));

  response = g_strdup_printf ("HTTP/1.1 %s\r\n"
                              "Content-Type: text/html; charset=utf-8\r\n"
                              "Content-Length: %" G_GSIZE_FORMAT "\r\n"
                              "Cache-Control: no-store\r\n"
                              "Connection: close\r\n\r\n%s",
                              status, strlen (body), body);
  g_output_stream_write_all (out, response, strlen (response), NULL, NULL, NULL);
  g_io_stream_close (G_IO_STREAM (connection), NULL, NULL);
}

/* Reads the request head; returns the request target of a GET, or NULL.
 * The whole head must arrive before deadline (monotonic time): a local
 * client that sends slowly, or nothing, must not hold the only listener. */
static char *
read_request_target (GSocket           *client,
                     GSocketConnection *connection,
                     gint64             deadline,
                     GCancellable      *cancellable)
{
  GInputStream *in = g_io_stream_get_input_stream (G_IO_STREAM (connection));
  g_autofree char *head = g_malloc0 (MAX_REQUEST_HEAD + 1);
  gsize len = 0;
  g_auto(GStrv) parts = NULL;
  char *eol;

  while (len < MAX_REQUEST_HEAD && strstr (head, "\r\n\r\n") == NULL && strstr (head, "\n\n") == NULL)
    {
      gint64 remaining = deadline - g_get_monotonic_time ();
      gssize r;

      if (remaining <= 0 ||
          !g_socket_condition_timed_wait (client, G_IO_IN, remaining, cancellable, NULL))
        break;

      r = g_input_stream_read (in, head + len, MAX_REQUEST_HEAD - len, cancellable, NULL);
      if (r <= 0)
        break;
      len += (gsize) r;
      head[len] = '\0';
    }

  eol = strpbrk (head, "\r\n");
  if (eol == NULL)
    return NULL;
  *eol = '\0';

  parts = g_strsplit (head, " ", 3);
  if (g_strv_length (parts) != 3 || g_strcmp0 (parts[0], "GET") != 0
      || !g_str_has_prefix (parts[2], "HTTP/1."))
    return NULL;

  return g_strdup (parts[1]);
}

typedef struct {
  char *code;
  char *state;
  char *error;
  char *error_description;
} RedirectParams;

static void
redirect_params_clear (RedirectParams *params)
{
  herald_secret_free (params->code);
  g_free (params->state);
  g_free (params->error);
  g_free (params->error_description);
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (RedirectParams, redirect_params_clear)

/* Waits for the browser's redirect on the listening socket. Other requests
 * (favicon, pre-connections) are answered 404 and ignored; a redirect with
 * another state (an old tab, another program) is answered 400 and ignored,
 * so that it cannot end the sign-in the user is doing. One connection at a
 * time, each with REQUEST_DEADLINE_SECONDS for all of its request. */
static gboolean
wait_for_redirect (GSocket         *listen_socket,
                   const char      *expected_state,
                   RedirectParams  *params,
                   GCancellable    *cancellable,
                   GError         **error)
{
  gint64 deadline = g_get_monotonic_time () + (gint64) REDIRECT_WAIT_SECONDS * G_USEC_PER_SEC;

  for (;;)
    {
      g_autoptr(GSocket) client = NULL;
      g_autoptr(GSocketConnection) connection = NULL;
      g_autoptr(GHashTable) query = NULL;
      g_autofree char *target = NULL;
      const char *path_end;
      gint64 remaining = deadline - g_get_monotonic_time ();
      GError *local = NULL;

      if (remaining <= 0)
        {
          g_set_error_literal (error, HERALD_OAUTH_ERROR, HERALD_OAUTH_ERROR_EXPIRED,
                               _("The browser did not come back within ten minutes: sign in again."));
          return FALSE;
        }

      if (!g_socket_condition_timed_wait (listen_socket, G_IO_IN, remaining, cancellable, &local))
        {
          if (g_error_matches (local, G_IO_ERROR, G_IO_ERROR_TIMED_OUT))
            {
              g_clear_error (&local);
              continue;
            }
          g_propagate_error (error, local);
          return FALSE;
        }

      client = g_socket_accept (listen_socket, cancellable, &local);
      if (client == NULL)
        {
          if (g_error_matches (local, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK))
            {
              g_clear_error (&local);
              continue;
            }
          g_propagate_error (error, local);
          return FALSE;
        }
      g_socket_set_blocking (client, TRUE);
      /* Bounds the reply's write too. */
      g_socket_set_timeout (client, REQUEST_DEADLINE_SECONDS);
      connection = g_socket_connection_factory_create_connection (client);

      target = read_request_target (client, connection,
                                    MIN (deadline, g_get_monotonic_time ()
                                                   + (gint64) REQUEST_DEADLINE_SECONDS * G_USEC_PER_SEC),
                                    cancellable);
      if (target == NULL)
        {
          g_io_stream_close (G_IO_STREAM (connection), NULL, NULL);
          continue;
        }

      path_end = strchr (target, '?');
      if (path_end == NULL || (path_end - target != 1 || target[0] != '/'))
        {
          send_response (connection, "404 Not Found", page_failed);
          continue;
        }

      query = g_uri_parse_params (path_end + 1, -1, "&", G_URI_PARAMS_WWW_FORM, NULL);
      if (query == NULL)
        {
          send_response (connection, "400 Bad Request", page_failed);
          continue;
        }
      if (!g_hash_table_contains (query, "code") && !g_hash_table_contains (query, "error"))
        {
          send_response (connection, "404 Not Found", page_failed);
          continue;
        }

      if (g_strcmp0 (g_hash_table_lookup (query, "state"), expected_state) != 0)
        {
          /* Not ours: never exchange its code, keep waiting for ours. */
          g_debug ("Ignored a redirect with another state");
          send_response (connection, "400 Bad Request", page_wrong_session);
          continue;
        }

      params->code = g_strdup (g_hash_table_lookup (query, "code"));
      params->state = g_strdup (g_hash_table_lookup (query, "state"));
      params->error = g_strdup (g_hash_table_lookup (query, "error"));
      params->error_description = g_strdup (g_hash_table_lookup (query, "error_description"));
      send_response (connection, "200 OK", params->code != NULL && params->error == NULL
                     ? page_ok : page_failed);
      return TRUE;
    }
}

static char *
build_authorize_url (const HeraldOAuthAccount *account,
                     const char               *authorize_url,
                     const char               *redirect_uri,
                     const char               *state,
                     const char               *challenge)
{
  g_autoptr(GHashTable) params = g_hash_table_new (g_str_hash, g_str_equal);
  g_autofree char *query = NULL;

  g_hash_table_insert (params, "client_id", (gpointer) herald_oauth_account_get_effective_client_id (account));
  g_hash_table_insert (params, "response_type", "code");
  g_hash_table_insert (params, "redirect_uri", (gpointer) redirect_uri);
  g_hash_table_insert (params, "scope", (gpointer) _herald_oauth_account_get_scope (account));
  g_hash_table_insert (params, "state", (gpointer) state);
  g_hash_table_insert (params, "code_challenge", (gpointer) challenge);
  g_hash_table_insert (params, "code_challenge_method", "S256");
  g_hash_table_insert (params, "login_hint", account->account);
  if (account->provider == HERALD_OAUTH_PROVIDER_MICROSOFT)
    {
      g_hash_table_insert (params, "response_mode", "query");
      g_hash_table_insert (params, "prompt", "select_account");
    }
  else
    {
      /* A refresh token every time, even when the user consented before. */
      g_hash_table_insert (params, "access_type", "offline");
      g_hash_table_insert (params, "prompt", "consent");
    }
  query = soup_form_encode_hash (params);

  return g_strdup_printf ("%s%c%s", authorize_url, strchr (authorize_url, '?') ? '&' : '?', query);
}

static gboolean
sign_in_browser (const HeraldOAuthAccount  *account,
                 GMainContext              *context,
                 GCancellable              *cancellable,
                 GError                   **error)
{
  g_autoptr(GSocket) listen_socket = NULL;
  g_autoptr(GInetAddress) loopback = NULL;
  g_autoptr(GSocketAddress) bind_address = NULL;
  g_autoptr(GSocketAddress) bound = NULL;
  g_autofree char *authorize_url = NULL;
  g_autofree char *token_url = NULL;
  g_autofree char *state = NULL;
  g_autoptr(HeraldSecret) verifier = NULL;
  g_autofree char *challenge = NULL;
  g_autofree char *redirect_uri = NULL;
  g_autofree char *url = NULL;
  g_autoptr(GHashTable) form = NULL;
  g_auto(HeraldOAuthTokenReply) reply = { 0 };
  HeraldOAuthTokenRequest request = { 0 };
  g_autoptr(SoupSession) session = NULL;
  g_auto(RedirectParams) params = { 0 };
  guint16 port;

  if (!herald_oauth_account_validate (account, error))
    return FALSE;
  if (!herald_oauth_account_get_endpoints (account, &authorize_url, &token_url, NULL, error))
    return FALSE;

  state = _herald_oauth_random_urlsafe (16, error);
  if (state == NULL)
    return FALSE;
  verifier = _herald_oauth_random_urlsafe (32, error);
  if (verifier == NULL)
    return FALSE;
  challenge = _herald_oauth_pkce_challenge (verifier);

  /* One-shot listener on 127.0.0.1 only, on a port the kernel picks. */
  listen_socket = g_socket_new (G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_STREAM, G_SOCKET_PROTOCOL_TCP, error);
  if (listen_socket == NULL)
    return FALSE;
  loopback = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  bind_address = g_inet_socket_address_new (loopback, 0);
  if (!g_socket_bind (listen_socket, bind_address, FALSE, error)
      || !g_socket_listen (listen_socket, error))
    return FALSE;
  g_socket_set_blocking (listen_socket, FALSE);
  bound = g_socket_get_local_address (listen_socket, error);
  if (bound == NULL)
    return FALSE;
  port = g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (bound));

  /* Microsoft matches "http://localhost" whatever the port (the portal does
   * not accept 127.0.0.1); Google's Desktop-app clients take the IP form. */
  redirect_uri = account->provider == HERALD_OAUTH_PROVIDER_MICROSOFT
                 ? g_strdup_printf ("http://localhost:%u/", port)
                 : g_strdup_printf ("http://127.0.0.1:%u/", port);
  url = build_authorize_url (account, authorize_url, redirect_uri, state, challenge);

  if (!open_browser (url, context, error))
    return FALSE;

  if (!wait_for_redirect (listen_socket, state, &params, cancellable, error))
    return FALSE;
  g_socket_close (listen_socket, NULL);

  if (params.error != NULL)
    {
      g_propagate_error (error, _herald_oauth_error_from_fields (params.error,
                                                                 params.error_description, 0));
      return FALSE;
    }
  if (_herald_oauth_is_empty (params.code))
    {
      g_set_error_literal (error, HERALD_OAUTH_ERROR, HERALD_OAUTH_ERROR_PROTOCOL,
                           _("The sign-in answer carried no authorization code."));
      return FALSE;
    }

  request.grant_type = HERALD_OAUTH_GRANT_AUTHORIZATION_CODE;
  request.client_id = herald_oauth_account_get_effective_client_id (account);
  /* Google takes the scope from the authorization request only. */
  if (account->provider == HERALD_OAUTH_PROVIDER_MICROSOFT)
    request.scope = _herald_oauth_account_get_scope (account);
  request.client_secret = account->client_secret;
  form = herald_oauth_token_form_new (&request);
  _herald_oauth_form_add (form, "code", params.code);
  _herald_oauth_form_add (form, "redirect_uri", redirect_uri);
  _herald_oauth_form_add (form, "code_verifier", verifier);

  session = herald_oauth_session_new ();
  if (!herald_oauth_request_token (session, token_url, form, &reply, NULL, cancellable, error))
    return FALSE;

  return _herald_oauth_store_sign_in (account, &reply, cancellable, error);
}

static void
sign_in_browser_thread (GTask        *task,
                        gpointer      source_object,
                        gpointer      task_data,
                        GCancellable *cancellable)
{
  GError *error = NULL;

  if (sign_in_browser (task_data, g_task_get_context (task), cancellable, &error))
    g_task_return_boolean (task, TRUE);
  else
    g_task_return_error (task, error);
}

void
herald_oauth_sign_in_browser_async (const HeraldOAuthAccount *account,
                                    GCancellable             *cancellable,
                                    GAsyncReadyCallback       callback,
                                    gpointer                  user_data)
{
  g_return_if_fail (account != NULL);

  _herald_oauth_run_account_task (account, herald_oauth_sign_in_browser_async,
                                  sign_in_browser_thread, cancellable, callback, user_data);
}

gboolean
herald_oauth_sign_in_browser_finish (GAsyncResult  *result,
                                     GError       **error)
{
  g_return_val_if_fail (g_task_is_valid (result, NULL), FALSE);
  g_return_val_if_fail (g_task_get_source_tag (G_TASK (result)) == herald_oauth_sign_in_browser_async,
                        FALSE);

  return g_task_propagate_boolean (G_TASK (result), error);
}

gboolean
herald_oauth_sign_in_browser_sync (const HeraldOAuthAccount  *account,
                                   GCancellable              *cancellable,
                                   GError                   **error)
{
  g_return_val_if_fail (account != NULL, FALSE);

  return sign_in_browser (account, NULL, cancellable, error);
}
