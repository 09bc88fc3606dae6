/* SPDX-License-Identifier: GPL-3.0-or-later
 * Copyright 2026 The Herald authors
 */
#define G_LOG_DOMAIN "herald-oauth"

/* HTTP to the identity provider: form POSTs whose replies are bounded in size
 * and in time, and the reading of their JSON. Runs on worker threads only. */

#include "config.h"

#include <glib/gi18n.h>
#include <json-glib/json-glib.h>

#include "herald-deadline.h"
#include <libsoup/soup.h>
#include <string.h>
#include <inttypes.h>

#include "herald-oauth.h"
#include "herald-oauth-private.h"

#define HTTP_TIMEOUT_SECONDS     30    /* libsoup: per read or write */
#define HTTP_DEADLINE_SECONDS    60    /* one whole request, reply body included */
#define MAX_REPLY_BYTES          (256 * 1024)

static guint http_deadline_ms = HTTP_DEADLINE_SECONDS * 1000;

SoupSession *
herald_oauth_session_new (void)
{
  return soup_session_new_with_options ("timeout", HTTP_TIMEOUT_SECONDS,
                                        "user-agent", "Herald/" PACKAGE_VERSION " ",
                                        NULL);
}

void
_herald_oauth_set_http_deadline_ms (guint ms)
{
  http_deadline_ms = ms != 0 ? ms : HTTP_DEADLINE_SECONDS * 1000;
}

/* libsoup's timeout applies to each read, so an endpoint that drips its reply
 * a byte at a time could keep a request going for hours even under the size
 * cap. A watchdog thread cancels the request's own cancellable at the
 * deadline: the requests are synchronous, on a worker thread, and nothing
 * iterates a main context while they block (herald-deadline.h). */
static void
chain_cancel_cb (GCancellable *outer,
                 GCancellable *inner)
{
  g_cancellable_cancel (inner);
}

/* Sends msg and reads at most max + 1 bytes of its body, all within the
 * request deadline. A deadline that passes gives G_IO_ERROR_TIMED_OUT; a
 * cancellation by the caller stays G_IO_ERROR_CANCELLED. */
static GBytes *
send_and_read_capped (SoupSession   *session,
                      SoupMessage   *msg,
                      const char    *url,
                      gsize          max,
                      GCancellable  *cancellable,
                      GError       **error)
{
  g_autoptr(GCancellable) request = g_cancellable_new ();
  g_autoptr(GInputStream) stream = NULL;
  g_autofree guint8 *buffer = NULL;
  GError *local = NULL;
  HeraldDeadline *dog;
  gulong handler = 0;
  gboolean fired;
  gsize len = 0;

  if (cancellable != NULL)
    handler = g_cancellable_connect (cancellable, G_CALLBACK (chain_cancel_cb), request, NULL);
  dog = herald_deadline_start (request,
                              g_get_monotonic_time () + (gint64) http_deadline_ms * 1000,
                              "herald-oauth-deadline");

  stream = soup_session_send (session, msg, request, &local);
  if (stream != NULL)
    {
      buffer = g_malloc (max + 1);
      g_input_stream_read_all (stream, buffer, max + 1, &len, request, &local);
    }

  fired = herald_deadline_stop (dog);
  if (cancellable != NULL)
    g_cancellable_disconnect (cancellable, handler);

  if (local != NULL)
    {
      if (fired && g_error_matches (local, G_IO_ERROR, G_IO_ERROR_CANCELLED)
          && !g_cancellable_is_cancelled (cancellable))
        {
          g_clear_error (&local);
          g_set_error (&local, G_IO_ERROR, G_IO_ERROR_TIMED_OUT,
                       _("The identity provider at %s did not complete its answer within %u seconds."),
                       url, (http_deadline_ms + 999) / 1000);
        }
      g_propagate_error (error, local);
      return NULL;
    }

  return g_bytes_new_take (g_steal_pointer (&buffer), len);
}


GBytes *
_herald_oauth_post_form (SoupSession   *session,
                         const char    *url,
                         GHashTable    *form,
                         guint         *status,
                         GCancellable  *cancellable,
                         GError       **error)
{
  g_autoptr(SoupMessage) msg = NULL;
  g_autoptr(GBytes) body = NULL;
  char *encoded;
  gsize len;

  encoded = soup_form_encode_hash (form);
  msg = soup_message_new_from_encoded_form ("POST", url, encoded);
  if (msg == NULL)
    {
      g_set_error (error, HERALD_OAUTH_ERROR, HERALD_OAUTH_ERROR_INVALID_ACCOUNT,
                   _("Cannot use the URL “%s”."), url);
      return NULL;
    }
  soup_message_headers_replace (soup_message_get_request_headers (msg), "Accept", "application/json");
  /* The form carries the refresh token (and Google's client secret): never
   * re-post it wherever a redirect points. */
  soup_message_add_flags (msg, SOUP_MESSAGE_NO_REDIRECT);

  /* Read at most one byte past the cap, so a hostile endpoint cannot make us
   * buffer an unbounded body, and within the deadline, so that it cannot
   * make us wait without end either. */
  body = send_and_read_capped (session, msg, url, MAX_REPLY_BYTES, cancellable, error);
  if (body == NULL)
    return NULL;
  len = g_bytes_get_size (body);

  if (len > MAX_REPLY_BYTES)
    {
      g_set_error (error, HERALD_OAUTH_ERROR, HERALD_OAUTH_ERROR_PROTOCOL,
                   _("The identity provider sent an oversized reply (%" PRIu64 " bytes)."), (guint64) len);
      return NULL;
    }

  *status = soup_message_get_status (msg);

  return g_steal_pointer (&body);
}

JsonObject *
_herald_oauth_reply_get_object (const char  *url,
                                guint        status,
                                GBytes      *body,
                                char       **oauth_error,
                                GError     **error)
{
  g_autoptr(JsonParser) parser = NULL;
  JsonNode *root;
  gsize len = g_bytes_get_size (body);

  if (!SOUP_STATUS_IS_SUCCESSFUL (status))
    {
      GError *local = _herald_oauth_error_from_reply (status, body);

      if (oauth_error != NULL)
        {
          g_autoptr(JsonParser) p = json_parser_new ();
          JsonNode *r;

          if (len > 0 && json_parser_load_from_data (p, g_bytes_get_data (body, NULL), len, NULL)
              && (r = json_parser_get_root (p)) != NULL && JSON_NODE_HOLDS_OBJECT (r))
            *oauth_error = g_strdup (_herald_oauth_json_get_string (json_node_get_object (r),
                                                                    "error", NULL));
        }
      g_propagate_error (error, local);
      return NULL;
    }

  parser = json_parser_new ();
  if (len == 0 || !json_parser_load_from_data (parser, g_bytes_get_data (body, NULL), len, NULL)
      || (root = json_parser_get_root (parser)) == NULL || !JSON_NODE_HOLDS_OBJECT (root))
    {
      g_set_error (error, HERALD_OAUTH_ERROR, HERALD_OAUTH_ERROR_PROTOCOL,
                   _("The identity provider at %s did not answer with JSON (HTTP status %u)."),
                   url, status);
      return NULL;
    }

  return json_object_ref (json_node_get_object (root));
}

GHashTable *
_herald_oauth_form_new (void)
{
  /* Values may be secrets: wiped when the form goes. */
  return g_hash_table_new_full (g_str_hash, g_str_equal, NULL,
                                (GDestroyNotify) herald_secret_free);
}

void
_herald_oauth_form_add (GHashTable *form,
                        const char *key,
                        const char *value)
{
  if (value != NULL)
    g_hash_table_insert (form, (gpointer) key, g_strdup (value));
}
