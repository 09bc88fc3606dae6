/* SPDX-License-Identifier: GPL-3.0-or-later
 * Copyright 2026 The Herald authors
 */
#define G_LOG_DOMAIN "herald-test"

#include <gnutls/abstract.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <json-glib/json-glib.h>
#include <libsoup/soup.h>
#include <string.h>

#include "fake-graph.h"

typedef struct {
  guint  status;
  char  *retry_after;
  char  *body;
} Reply;

struct _FakeGraph {
  GThread         *thread;
  GMainContext    *context;
  GMainLoop       *loop;
  SoupServer      *server;
  GTlsCertificate *certificate;
  char            *endpoint;

  GMutex           mutex;
  GCond            cond;
  gboolean         ready;

  char            *token;
  char            *token_prefix;
  char            *app_tenant;
  char            *app_client_id;
  char            *app_secret;
  GBytes          *app_certificate;
  GHashTable      *last_token_form;
  GQueue           replies;    /* of Reply */
  GPtrArray       *requests;   /* of FakeGraphRequest */
  guint            delay_ms;
};

static void
reply_free (Reply *reply)
{
  g_free (reply->retry_after);
  g_free (reply->body);
  g_free (reply);
}

void
fake_graph_request_free (FakeGraphRequest *request)
{
  if (request == NULL)
    return;

  g_free (request->method);
  g_free (request->path);
  g_free (request->authorization);
  g_free (request->content_type);
  g_free (request->client_request_id);
  g_clear_pointer (&request->body, g_bytes_unref);
  g_clear_pointer (&request->mime, g_bytes_unref);
  g_free (request);
}

static FakeGraphRequest *
request_copy (const FakeGraphRequest *request)
{
  FakeGraphRequest *copy = g_new0 (FakeGraphRequest, 1);

  copy->method = g_strdup (request->method);
  copy->path = g_strdup (request->path);
  copy->authorization = g_strdup (request->authorization);
  copy->content_type = g_strdup (request->content_type);
  copy->client_request_id = g_strdup (request->client_request_id);
  copy->body = request->body ? g_bytes_ref (request->body) : NULL;
  copy->mime = request->mime ? g_bytes_ref (request->mime) : NULL;
  copy->time_us = request->time_us;

  return copy;
}

/* Strict base64, as a service checking its input would be: the alphabet,
 * padding only at the end, a length that is a multiple of four. */
static GBytes *
decode_strict (const char *data,
               gsize       len)
{
  g_autofree char *copy = NULL;
  guchar *decoded;
  gsize out_len;
  gsize padding = 0;

  if (len == 0 || len % 4 != 0)
    return NULL;
  for (gsize i = 0; i < len; i++)
    {
      char c = data[i];

      if (c == '=')
        {
          padding++;
          if (i < len - 2)
            return NULL;
        }
      else if (padding > 0 || !(g_ascii_isalnum (c) || c == '+' || c == '/'))
        return NULL;
    }

  copy = g_strndup (data, len);
  decoded = g_base64_decode (copy, &out_len);
  return g_bytes_new_take (decoded, out_len);
}

static void
answer (SoupServerMessage *msg,
        guint              status,
        const char        *retry_after,
        const char        *body)
{
  soup_server_message_set_status (msg, status, NULL);
  soup_message_headers_replace (soup_server_message_get_response_headers (msg), "request-id",
                                "5f0d3b1e-0000-4000-8000-0000000000aa");
  if (retry_after != NULL)
    soup_message_headers_replace (soup_server_message_get_response_headers (msg), "Retry-After",
                                  retry_after);
  if (body != NULL)
    soup_server_message_set_response (msg, "application/json", SOUP_MEMORY_COPY, body, strlen (body));
}


static char *
base64url_decode (const char *in,
                  gsize      *len)
{
  g_autoptr(GString) b64 = g_string_new (in);

  g_string_replace (b64, "-", "+", 0);
  g_string_replace (b64, "_", "/", 0);
  while (b64->len % 4 != 0)
    g_string_append_c (b64, '=');
  return (char *) g_base64_decode (b64->str, len);
}

static JsonObject *
jwt_part (const char *part)
{
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autofree char *json = NULL;
  gsize len;

  json = base64url_decode (part, &len);
  if (!json_parser_load_from_data (parser, json, len, NULL)
      || !JSON_NODE_HOLDS_OBJECT (json_parser_get_root (parser)))
    return NULL;
  return json_object_ref (json_node_get_object (json_parser_get_root (parser)));
}

/* The checks Microsoft Entra makes of a client assertion, with GnuTLS. */
static gboolean
assertion_valid (FakeGraph  *self,
                 const char *assertion,
                 const char *token_url)
{
  g_auto(GStrv) parts = g_strsplit (assertion, ".", -1);
  g_autoptr(JsonObject) header = NULL;
  g_autoptr(JsonObject) claims = NULL;
  g_autofree char *signing_input = NULL;
  g_autofree char *signature = NULL;
  g_autofree char *expected_x5t = NULL;
  gnutls_x509_crt_t crt = NULL;
  gnutls_pubkey_t key = NULL;
  gnutls_datum_t pem, data, sig;
  guint8 fingerprint[32];
  size_t fingerprint_len = sizeof fingerprint;
  gsize sig_len;
  gboolean ok = FALSE;

  if (g_strv_length (parts) != 3 || self->app_certificate == NULL)
    return FALSE;
  header = jwt_part (parts[0]);
  claims = jwt_part (parts[1]);
  if (header == NULL || claims == NULL)
    return FALSE;

  pem.data = (unsigned char *) g_bytes_get_data (self->app_certificate, NULL);
  pem.size = g_bytes_get_size (self->app_certificate);
  if (gnutls_x509_crt_init (&crt) != 0 || gnutls_x509_crt_import (crt, &pem, GNUTLS_X509_FMT_PEM) != 0
      || gnutls_x509_crt_get_fingerprint (crt, GNUTLS_DIG_SHA256, fingerprint, &fingerprint_len) != 0)
    goto out;
  {
    g_autofree char *b64 = g_base64_encode (fingerprint, fingerprint_len);
    GString *url = g_string_new (NULL);

    for (const char *p = b64; *p != '\0' && *p != '='; p++)
      g_string_append_c (url, *p == '+' ? '-' : *p == '/' ? '_' : *p);
    expected_x5t = g_string_free (url, FALSE);
  }

  if (g_strcmp0 (json_object_get_string_member_with_default (header, "alg", ""), "RS256") != 0
      || g_strcmp0 (json_object_get_string_member_with_default (header, "x5t#S256", ""), expected_x5t) != 0
      || g_strcmp0 (json_object_get_string_member_with_default (claims, "aud", ""), token_url) != 0
      || g_strcmp0 (json_object_get_string_member_with_default (claims, "iss", ""), self->app_client_id) != 0
      || g_strcmp0 (json_object_get_string_member_with_default (claims, "sub", ""), self->app_client_id) != 0
      || json_object_get_int_member_with_default (claims, "exp", 0) < g_get_real_time () / G_USEC_PER_SEC)
    goto out;

  signing_input = g_strconcat (parts[0], ".", parts[1], NULL);
  signature = base64url_decode (parts[2], &sig_len);
  data.data = (unsigned char *) signing_input;
  data.size = strlen (signing_input);
  sig.data = (unsigned char *) signature;
  sig.size = sig_len;
  if (gnutls_pubkey_init (&key) != 0 || gnutls_pubkey_import_x509 (key, crt, 0) != 0)
    goto out;
  ok = gnutls_pubkey_verify_data2 (key, GNUTLS_SIGN_RSA_SHA256, 0, &data, &sig) >= 0;

out:
  if (key != NULL)
    gnutls_pubkey_deinit (key);
  if (crt != NULL)
    gnutls_x509_crt_deinit (crt);
  return ok;
}

static void
token_error (SoupServerMessage *msg,
             guint              status,
             const char        *error,
             const char        *description)
{
  g_autofree char *body = g_strdup_printf ("{\"error\":\"%s\",\"error_description\":\"%s\","
                                           "\"error_codes\":[0]}", error, description);

  answer (msg, status, NULL, body);
}

/* Called with the mutex held. */
static void
handle_token (FakeGraph         *self,
              SoupServerMessage *msg,
              const char        *path,
              GBytes            *body)
{
  g_autofree char *form_text = g_strndup (g_bytes_get_data (body, NULL), g_bytes_get_size (body));
  GHashTable *form = soup_form_decode (form_text);
  g_autofree char *token_url = g_strdup_printf ("%s%s", self->endpoint, path);
  const char *secret = g_hash_table_lookup (form, "client_secret");
  const char *assertion = g_hash_table_lookup (form, "client_assertion");
  g_autofree char *reply = NULL;

  g_clear_pointer (&self->last_token_form, g_hash_table_unref);
  self->last_token_form = form;

  if (g_strcmp0 (g_hash_table_lookup (form, "grant_type"), "client_credentials") != 0)
    return token_error (msg, 400, "unsupported_grant_type", "AADSTS70003: The app requested an unsupported grant type.");
  if (g_strcmp0 (g_hash_table_lookup (form, "client_id"), self->app_client_id) != 0)
    return token_error (msg, 400, "unauthorized_client", "AADSTS700016: Application with identifier was not found in the directory.");
  if (secret != NULL)
    {
      if (g_strcmp0 (secret, self->app_secret) != 0)
        return token_error (msg, 401, "invalid_client", "AADSTS7000215: Invalid client secret provided.");
    }
  else if (assertion != NULL)
    {
      if (g_strcmp0 (g_hash_table_lookup (form, "client_assertion_type"),
                     "urn:ietf:params:oauth:client-assertion-type:jwt-bearer") != 0
          || !assertion_valid (self, assertion, token_url))
        return token_error (msg, 401, "invalid_client", "AADSTS700027: Client assertion contains an invalid signature.");
    }
  else
    return token_error (msg, 401, "invalid_client", "AADSTS7000218: The request body must contain the following parameter: 'client_assertion' or 'client_secret'.");

  reply = g_strdup_printf ("{\"token_type\":\"Bearer\",\"expires_in\":3599,\"ext_expires_in\":3599,"
                           "\"access_token\":\"%s\"}", self->token ? self->token : "none");
  answer (msg, 200, NULL, reply);
}

typedef struct {
  FakeGraph         *self;
  SoupServerMessage *msg;
} Delayed;

static gboolean
unpause_cb (gpointer user_data)
{
  Delayed *delayed = user_data;

  soup_server_unpause_message (delayed->self->server, delayed->msg);
  g_object_unref (delayed->msg);
  g_free (delayed);

  return G_SOURCE_REMOVE;
}

static void
handle (SoupServer        *server,
        SoupServerMessage *msg,
        const char        *path,
        GHashTable        *query,
        gpointer           user_data)
{
  FakeGraph *self = user_data;
  SoupMessageHeaders *headers = soup_server_message_get_request_headers (msg);
  SoupMessageBody *request_body = soup_server_message_get_request_body (msg);
  g_autoptr(GBytes) body = soup_message_body_flatten (request_body);
  FakeGraphRequest *request = g_new0 (FakeGraphRequest, 1);
  g_autofree char *expected = NULL;
  g_autofree char *prefix = NULL;
  Reply *scripted;
  const char *content_type;
  gsize len;
  const char *data = g_bytes_get_data (body, &len);
  gboolean me;
  gboolean users;

  request->method = g_strdup (soup_server_message_get_method (msg));
  request->path = g_strdup (path);
  request->authorization = g_strdup (soup_message_headers_get_one (headers, "Authorization"));
  content_type = soup_message_headers_get_one (headers, "Content-Type");
  request->content_type = g_strdup (content_type);
  request->client_request_id = g_strdup (soup_message_headers_get_one (headers, "client-request-id"));
  request->body = g_bytes_ref (body);
  request->mime = decode_strict (data, len);
  request->time_us = g_get_monotonic_time ();

  g_mutex_lock (&self->mutex);
  if (self->app_tenant != NULL && g_str_has_suffix (path, "/oauth2/v2.0/token"))
    {
      g_autofree char *expected_path = g_strdup_printf ("/%s/oauth2/v2.0/token", self->app_tenant);

      fake_graph_request_free (request);
      if (strcmp (path, expected_path) != 0)
        token_error (msg, 400, "invalid_request", "AADSTS90002: Tenant not found.");
      else
        handle_token (self, msg, path, body);
      g_mutex_unlock (&self->mutex);
      return;
    }
  g_ptr_array_add (self->requests, request);
  scripted = g_queue_pop_head (&self->replies);
  expected = self->token ? g_strconcat ("Bearer ", self->token, NULL) : NULL;
  prefix = self->token_prefix ? g_strconcat ("Bearer ", self->token_prefix, NULL) : NULL;
  if (self->delay_ms > 0)
    {
      Delayed *delayed = g_new0 (Delayed, 1);
      GSource *source = g_timeout_source_new (self->delay_ms);

      delayed->self = self;
      delayed->msg = g_object_ref (msg);
      soup_server_pause_message (server, msg);
      g_source_set_callback (source, unpause_cb, delayed, NULL);
      g_source_attach (source, self->context);
      g_source_unref (source);
    }
  g_mutex_unlock (&self->mutex);

  if (scripted != NULL)
    {
      answer (msg, scripted->status, scripted->retry_after, scripted->body);
      reply_free (scripted);
      return;
    }

  me = strcmp (path, "/v1.0/me/sendMail") == 0;
  users = g_str_has_prefix (path, "/v1.0/users/") && g_str_has_suffix (path, "/sendMail")
          && strlen (path) > strlen ("/v1.0/users//sendMail");
  if (strcmp (soup_server_message_get_method (msg), "POST") != 0 || !(me || users))
    {
      answer (msg, 404, NULL,
              "{\"error\":{\"code\":\"ResourceNotFound\",\"message\":\"Resource not found for the segment.\"}}");
      return;
    }
  if ((expected == NULL || g_strcmp0 (request->authorization, expected) != 0) &&
      (prefix == NULL || request->authorization == NULL ||
       !g_str_has_prefix (request->authorization, prefix)))
    {
      answer (msg, 401, NULL, FAKE_GRAPH_INVALID_TOKEN);
      return;
    }
  if (content_type == NULL || !g_str_has_prefix (content_type, "text/plain"))
    {
      answer (msg, 400, NULL,
              "{\"error\":{\"code\":\"RequestBodyRead\",\"message\":\"Cannot read the request body.\"}}");
      return;
    }
  if (request->mime == NULL)
    {
      answer (msg, 400, NULL, FAKE_GRAPH_INVALID_BASE64);
      return;
    }

  soup_server_message_set_status (msg, 202, NULL);
}

static gpointer
server_thread (gpointer user_data)
{
  FakeGraph *self = user_data;
  g_autoptr(GError) error = NULL;
  GSList *uris;

  g_main_context_push_thread_default (self->context);
  if (self->certificate != NULL)
    self->server = soup_server_new ("server-header", "fake-graph", "tls-certificate",
                                    self->certificate, NULL);
  else
    self->server = soup_server_new ("server-header", "fake-graph", NULL);
  soup_server_add_handler (self->server, NULL, handle, self, NULL);
  if (!soup_server_listen_local (self->server, 0,
                                 SOUP_SERVER_LISTEN_IPV4_ONLY
                                 | (self->certificate != NULL ? SOUP_SERVER_LISTEN_HTTPS : 0),
                                 &error))
    g_error ("fake Graph cannot listen: %s", error->message);

  uris = soup_server_get_uris (self->server);
  {
    GUri *uri = uris->data;

    self->endpoint = g_strdup_printf ("%s://127.0.0.1:%d", self->certificate ? "https" : "http",
                                      g_uri_get_port (uri));
  }
  g_slist_free_full (uris, (GDestroyNotify) g_uri_unref);

  g_mutex_lock (&self->mutex);
  self->ready = TRUE;
  g_cond_signal (&self->cond);
  g_mutex_unlock (&self->mutex);

  g_main_loop_run (self->loop);

  soup_server_disconnect (self->server);
  g_clear_object (&self->server);
  g_main_context_pop_thread_default (self->context);

  return NULL;
}

FakeGraph *
fake_graph_new (GTlsCertificate *certificate)
{
  FakeGraph *self = g_new0 (FakeGraph, 1);

  g_mutex_init (&self->mutex);
  g_cond_init (&self->cond);
  g_queue_init (&self->replies);
  self->requests = g_ptr_array_new_with_free_func ((GDestroyNotify) fake_graph_request_free);
  self->certificate = certificate ? g_object_ref (certificate) : NULL;
  self->context = g_main_context_new ();
  self->loop = g_main_loop_new (self->context, FALSE);
  self->thread = g_thread_new ("fake-graph", server_thread, self);

  g_mutex_lock (&self->mutex);
  while (!self->ready)
    g_cond_wait (&self->cond, &self->mutex);
  g_mutex_unlock (&self->mutex);

  return self;
}

static gboolean
quit_cb (gpointer user_data)
{
  g_main_loop_quit (user_data);
  return G_SOURCE_REMOVE;
}

void
fake_graph_free (FakeGraph *self)
{
  if (self == NULL)
    return;

  g_main_context_invoke (self->context, quit_cb, self->loop);
  g_thread_join (self->thread);
  g_main_loop_unref (self->loop);
  g_main_context_unref (self->context);
  g_clear_object (&self->certificate);
  g_free (self->endpoint);
  g_free (self->token);
  g_free (self->token_prefix);
  g_free (self->app_tenant);
  g_free (self->app_client_id);
  g_free (self->app_secret);
  g_clear_pointer (&self->app_certificate, g_bytes_unref);
  g_clear_pointer (&self->last_token_form, g_hash_table_unref);
  g_queue_clear_full (&self->replies, (GDestroyNotify) reply_free);
  g_ptr_array_unref (self->requests);
  g_mutex_clear (&self->mutex);
  g_cond_clear (&self->cond);
  g_free (self);
}

const char *
fake_graph_get_endpoint (FakeGraph *self)
{
  return self->endpoint;
}

void
fake_graph_set_token (FakeGraph  *self,
                      const char *token)
{
  g_mutex_lock (&self->mutex);
  g_free (self->token);
  self->token = g_strdup (token);
  g_mutex_unlock (&self->mutex);
}

void
fake_graph_set_token_prefix (FakeGraph  *self,
                             const char *prefix)
{
  g_mutex_lock (&self->mutex);
  g_free (self->token_prefix);
  self->token_prefix = g_strdup (prefix);
  g_mutex_unlock (&self->mutex);
}

void
fake_graph_push_reply (FakeGraph  *self,
                       guint       status,
                       const char *retry_after,
                       const char *body)
{
  Reply *reply = g_new0 (Reply, 1);

  reply->status = status;
  reply->retry_after = g_strdup (retry_after);
  reply->body = g_strdup (body);
  g_mutex_lock (&self->mutex);
  g_queue_push_tail (&self->replies, reply);
  g_mutex_unlock (&self->mutex);
}

void
fake_graph_set_delay_ms (FakeGraph *self,
                         guint      delay_ms)
{
  g_mutex_lock (&self->mutex);
  self->delay_ms = delay_ms;
  g_mutex_unlock (&self->mutex);
}

guint
fake_graph_get_n_requests (FakeGraph *self)
{
  g_autoptr(GMutexLocker) locker = g_mutex_locker_new (&self->mutex);

  return self->requests->len;
}

FakeGraphRequest *
fake_graph_get_request (FakeGraph *self,
                        guint      index)
{
  g_autoptr(GMutexLocker) locker = g_mutex_locker_new (&self->mutex);

  g_assert_cmpuint (index, <, self->requests->len);
  return request_copy (g_ptr_array_index (self->requests, index));
}

void
fake_graph_set_app (FakeGraph  *self,
                    const char *tenant,
                    const char *client_id,
                    const char *secret,
                    GBytes     *certificate_pem)
{
  g_mutex_lock (&self->mutex);
  g_free (self->app_tenant);
  g_free (self->app_client_id);
  g_free (self->app_secret);
  g_clear_pointer (&self->app_certificate, g_bytes_unref);
  self->app_tenant = g_strdup (tenant);
  self->app_client_id = g_strdup (client_id);
  self->app_secret = g_strdup (secret);
  self->app_certificate = certificate_pem ? g_bytes_ref (certificate_pem) : NULL;
  g_mutex_unlock (&self->mutex);
}

char *
fake_graph_get_token_param (FakeGraph  *self,
                            const char *name)
{
  g_autoptr(GMutexLocker) locker = g_mutex_locker_new (&self->mutex);

  return self->last_token_form ? g_strdup (g_hash_table_lookup (self->last_token_form, name)) : NULL;
}
