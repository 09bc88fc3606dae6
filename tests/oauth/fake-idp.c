/* SPDX-License-Identifier: GPL-3.0-or-later
 * Copyright 2026 The Herald authors
 */
#define G_LOG_DOMAIN "herald-test"

#include <json-glib/json-glib.h>
#include <libsoup/soup.h>
#include <string.h>

#include "fake-idp.h"

#define MS_SCOPE     "https://outlook.office.com/SMTP.Send offline_access"
#define GOOGLE_SCOPE "https://mail.google.com/"
#define DEVICE_GRANT "urn:ietf:params:oauth:grant-type:device_code"

typedef struct {
  char *challenge;
  char *redirect_uri;
  gboolean google;
} PendingCode;

struct _FakeIdp {
  GThread *thread;
  GMainContext *context;
  GMainLoop *loop;
  SoupServer *server;
  char *base_url;
  char *authority;

  GMutex mutex;
  GCond cond;
  gboolean ready;

  FakeIdpAuthorizeMode authorize_mode;
  int expires_in;
  char *token_error;
  guint token_error_status;
  char *devicecode_reply;
  GHashTable *codes;            /* code -> PendingCode */
  char *current_refresh;
  char *current_access;
  GPtrArray *all_tokens;
  guint n_refreshes;
  guint n_code_exchanges;
  guint serial;
  char **device_script;
  guint device_step;
  int device_interval;
  int device_expires_in;
  char *device_code;
  GArray *poll_times;
  GHashTable *last_authorize;
  GHashTable *last_token;
  char *ms_scope;               /* the Microsoft scope accepted; NULL: MS_SCOPE */
};

/* The Microsoft scope sign-ins must ask for. */
static const char *
ms_scope (FakeIdp *self)
{
  return self->ms_scope != NULL ? self->ms_scope : MS_SCOPE;
}

static void
pending_code_free (PendingCode *code)
{
  g_free (code->challenge);
  g_free (code->redirect_uri);
  g_free (code);
}

/* Independent of the library's own helper on purpose. */
static char *
s256 (const char *verifier)
{
  g_autoptr(GChecksum) checksum = g_checksum_new (G_CHECKSUM_SHA256);
  guint8 digest[32];
  gsize len = sizeof digest;
  g_autofree char *b64 = NULL;
  GString *out = g_string_new (NULL);

  g_checksum_update (checksum, (const guchar *) verifier, strlen (verifier));
  g_checksum_get_digest (checksum, digest, &len);
  b64 = g_base64_encode (digest, len);
  for (const char *p = b64; *p != '\0' && *p != '='; p++)
    g_string_append_c (out, *p == '+' ? '-' : *p == '/' ? '_' : *p);

  return g_string_free (out, FALSE);
}

static void
reply_json (SoupServerMessage *msg,
            guint              status,
            const char        *json)
{
  soup_server_message_set_status (msg, status, NULL);
  soup_server_message_set_response (msg, "application/json", SOUP_MEMORY_COPY, json, strlen (json));
}

static void
reply_error (SoupServerMessage *msg,
             const char        *error,
             const char        *description)
{
  g_autoptr(JsonBuilder) builder = json_builder_new ();
  g_autoptr(JsonNode) root = NULL;
  g_autofree char *json = NULL;

  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "error");
  json_builder_add_string_value (builder, error);
  if (description != NULL)
    {
      json_builder_set_member_name (builder, "error_description");
      json_builder_add_string_value (builder, description);
    }
  json_builder_end_object (builder);
  root = json_builder_get_root (builder);
  json = json_to_string (root, FALSE);
  reply_json (msg, 400, json);
}

/* Called with the mutex held. */
static void
issue_tokens (FakeIdp           *self,
              SoupServerMessage *msg,
              const char        *scope)
{
  g_autoptr(JsonBuilder) builder = json_builder_new ();
  g_autoptr(JsonNode) root = NULL;
  g_autofree char *json = NULL;
  guint n = ++self->serial;

  g_free (self->current_access);
  g_free (self->current_refresh);
  self->current_access = g_strdup_printf (FAKE_IDP_TOKEN_PREFIX "-at-%u-%08x%08x", n,
                                          g_random_int (), g_random_int ());
  self->current_refresh = g_strdup_printf (FAKE_IDP_TOKEN_PREFIX "-rt-%u-%08x%08x", n,
                                           g_random_int (), g_random_int ());
  g_ptr_array_add (self->all_tokens, g_strdup (self->current_access));
  g_ptr_array_add (self->all_tokens, g_strdup (self->current_refresh));

  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "token_type");
  json_builder_add_string_value (builder, "Bearer");
  json_builder_set_member_name (builder, "scope");
  json_builder_add_string_value (builder, scope);
  json_builder_set_member_name (builder, "expires_in");
  json_builder_add_int_value (builder, self->expires_in);
  json_builder_set_member_name (builder, "access_token");
  json_builder_add_string_value (builder, self->current_access);
  json_builder_set_member_name (builder, "refresh_token");
  json_builder_add_string_value (builder, self->current_refresh);
  json_builder_end_object (builder);
  root = json_builder_get_root (builder);
  json = json_to_string (root, FALSE);
  reply_json (msg, 200, json);
}

static GHashTable *
copy_params (GHashTable *params)
{
  GHashTable *copy = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  GHashTableIter iter;
  gpointer key, value;

  if (params == NULL)
    return copy;
  g_hash_table_iter_init (&iter, params);
  while (g_hash_table_iter_next (&iter, &key, &value))
    g_hash_table_insert (copy, g_strdup (key), g_strdup (value));

  return copy;
}

static void
handle_authorize (FakeIdp           *self,
                  SoupServerMessage *msg,
                  GHashTable        *query,
                  gboolean           google)
{
  const char *client_id = query ? g_hash_table_lookup (query, "client_id") : NULL;
  const char *redirect_uri = query ? g_hash_table_lookup (query, "redirect_uri") : NULL;
  const char *state = query ? g_hash_table_lookup (query, "state") : NULL;
  const char *challenge = query ? g_hash_table_lookup (query, "code_challenge") : NULL;
  const char *method = query ? g_hash_table_lookup (query, "code_challenge_method") : NULL;
  const char *response_type = query ? g_hash_table_lookup (query, "response_type") : NULL;
  const char *scope = query ? g_hash_table_lookup (query, "scope") : NULL;
  g_autofree char *location = NULL;
  g_autofree char *code = NULL;
  PendingCode *pending;

  g_clear_pointer (&self->last_authorize, g_hash_table_unref);
  self->last_authorize = copy_params (query);

  if (g_strcmp0 (client_id, FAKE_IDP_CLIENT_ID) != 0 || redirect_uri == NULL || state == NULL
      || challenge == NULL || g_strcmp0 (method, "S256") != 0 || g_strcmp0 (response_type, "code") != 0
      || g_strcmp0 (scope, google ? GOOGLE_SCOPE : ms_scope (self)) != 0
      || !(g_str_has_prefix (redirect_uri, "http://localhost:") || g_str_has_prefix (redirect_uri, "http://127.0.0.1:")))
    {
      soup_server_message_set_status (msg, 400, NULL);
      soup_server_message_set_response (msg, "text/plain", SOUP_MEMORY_STATIC, "bad authorize request", 21);
      return;
    }

  if (self->authorize_mode == FAKE_IDP_AUTHORIZE_DENY)
    {
      g_autofree char *escaped = g_uri_escape_string (state, NULL, FALSE);

      location = g_strdup_printf ("%s?error=access_denied&error_description=%s&state=%s", redirect_uri,
                                  "AADSTS65004%3A+User+declined+to+consent", escaped);
      soup_server_message_set_redirect (msg, 302, location);
      return;
    }

  code = g_strdup_printf ("code-%u-%08x", ++self->serial, g_random_int ());
  pending = g_new0 (PendingCode, 1);
  pending->challenge = g_strdup (challenge);
  pending->redirect_uri = g_strdup (redirect_uri);
  pending->google = google;
  g_hash_table_insert (self->codes, g_strdup (code), pending);

  {
    g_autofree char *escaped = g_uri_escape_string (self->authorize_mode == FAKE_IDP_AUTHORIZE_BAD_STATE
                                                    ? "forged-state" : state, NULL, FALSE);
    location = g_strdup_printf ("%s?code=%s&state=%s", redirect_uri, code, escaped);
  }
  soup_server_message_set_redirect (msg, 302, location);
}

static void
handle_token (FakeIdp           *self,
              SoupServerMessage *msg,
              GHashTable        *form,
              gboolean           google)
{
  const char *grant_type = g_hash_table_lookup (form, "grant_type");
  const char *client_id = g_hash_table_lookup (form, "client_id");
  const char *scope = google ? GOOGLE_SCOPE : ms_scope (self);

  g_clear_pointer (&self->last_token, g_hash_table_unref);
  self->last_token = copy_params (form);

  if (self->token_error != NULL)
    {
      reply_json (msg, self->token_error_status, self->token_error);
      return;
    }
  if (g_strcmp0 (client_id, FAKE_IDP_CLIENT_ID) != 0)
    {
      reply_error (msg, "unauthorized_client",
                   "AADSTS700016: Application with identifier 'x' was not found in the directory 'contoso'.");
      return;
    }
  if (google && g_strcmp0 (g_hash_table_lookup (form, "client_secret"), FAKE_IDP_GOOGLE_SECRET) != 0)
    {
      reply_error (msg, "invalid_client", "Unauthorized");
      return;
    }

  if (g_strcmp0 (grant_type, "authorization_code") == 0)
    {
      const char *code = g_hash_table_lookup (form, "code");
      const char *verifier = g_hash_table_lookup (form, "code_verifier");
      PendingCode *pending = code ? g_hash_table_lookup (self->codes, code) : NULL;
      g_autofree char *challenge = NULL;

      self->n_code_exchanges++;
      if (pending == NULL || verifier == NULL)
        {
          reply_error (msg, "invalid_grant", "AADSTS70008: The provided authorization code has expired.");
          return;
        }
      challenge = s256 (verifier);
      if (g_strcmp0 (challenge, pending->challenge) != 0
          || strlen (verifier) < 43 || strlen (verifier) > 128)
        {
          g_hash_table_remove (self->codes, code);
          reply_error (msg, "invalid_grant", "AADSTS501481: The Code_Verifier does not match the code_challenge.");
          return;
        }
      if (g_strcmp0 (g_hash_table_lookup (form, "redirect_uri"), pending->redirect_uri) != 0)
        {
          g_hash_table_remove (self->codes, code);
          reply_error (msg, "invalid_grant", "AADSTS50148: The redirect_uri does not match.");
          return;
        }
      g_hash_table_remove (self->codes, code);   /* one use only */
      issue_tokens (self, msg, scope);
      return;
    }

  if (g_strcmp0 (grant_type, "refresh_token") == 0)
    {
      const char *refresh = g_hash_table_lookup (form, "refresh_token");

      if (self->current_refresh == NULL || g_strcmp0 (refresh, self->current_refresh) != 0)
        {
          reply_error (msg, "invalid_grant",
                       "AADSTS700082: The refresh token has expired due to inactivity.\r\n"
                       "Trace ID: 0000 Correlation ID: 1111 Timestamp: 2026-11-28 08:00:00Z");
          return;
        }
      self->n_refreshes++;
      issue_tokens (self, msg, scope);
      return;
    }

  if (g_strcmp0 (grant_type, DEVICE_GRANT) == 0)
    {
      const char *answer;
      gint64 now = g_get_monotonic_time ();

      g_array_append_val (self->poll_times, now);
      if (self->device_code == NULL || g_strcmp0 (g_hash_table_lookup (form, "device_code"), self->device_code) != 0)
        {
          reply_error (msg, "bad_verification_code", "AADSTS70019: bad code");
          return;
        }
      answer = self->device_script[self->device_step];
      if (self->device_script[self->device_step + 1] != NULL)
        self->device_step++;
      if (g_strcmp0 (answer, "ok") == 0)
        issue_tokens (self, msg, scope);
      else if (g_strcmp0 (answer, "authorization_pending") == 0)
        reply_error (msg, answer, "AADSTS70016: OAuth 2.0 device flow error. Authorization is pending.");
      else if (g_strcmp0 (answer, "public_client") == 0)
        reply_json (msg, 401,
                    "{\"error\":\"invalid_client\",\"error_description\":\"AADSTS7000218: The request body "
                    "must contain the following parameter: 'client_assertion' or 'client_secret'.\\r\\n"
                    "Trace ID: abc\",\"error_codes\":[7000218]}");
      else
        reply_error (msg, answer, NULL);
      return;
    }

  reply_error (msg, "unsupported_grant_type", NULL);
}

static void
handle_devicecode (FakeIdp           *self,
                   SoupServerMessage *msg,
                   GHashTable        *form)
{
  g_autofree char *json = NULL;

  if (self->devicecode_reply != NULL)
    {
      reply_json (msg, 200, self->devicecode_reply);
      return;
    }
  if (g_strcmp0 (g_hash_table_lookup (form, "client_id"), FAKE_IDP_CLIENT_ID) != 0)
    {
      reply_error (msg, "invalid_client", "AADSTS700016: Application not found.");
      return;
    }
  if (g_strcmp0 (g_hash_table_lookup (form, "scope"), ms_scope (self)) != 0)
    {
      reply_error (msg, "invalid_scope", NULL);
      return;
    }

  g_free (self->device_code);
  self->device_code = g_strdup_printf ("devcode-%08x", g_random_int ());
  self->device_step = 0;
  json = g_strdup_printf ("{\"device_code\":\"%s\",\"user_code\":\"ABCD-EFGH\","
                          "\"verification_uri\":\"%s/link\",\"expires_in\":%d,\"interval\":%d,"
                          "\"message\":\"To sign in, use a web browser to open the page %s/link and "
                          "enter the code ABCD-EFGH to authenticate.\"}",
                          self->device_code, self->base_url, self->device_expires_in,
                          self->device_interval, self->base_url);
  reply_json (msg, 200, json);
}

static void
handler_cb (SoupServer        *server,
            SoupServerMessage *msg,
            const char        *path,
            GHashTable        *query,
            gpointer           user_data)
{
  FakeIdp *self = user_data;
  const char *method = soup_server_message_get_method (msg);
  g_autoptr(GHashTable) form = NULL;
  g_autofree char *ms_prefix = g_strdup_printf ("/%s/oauth2/v2.0/", FAKE_IDP_TENANT);
  g_autoptr(GMutexLocker) locker = g_mutex_locker_new (&self->mutex);

  if (g_str_equal (method, "POST"))
    {
      g_autoptr(GBytes) body = soup_message_body_flatten (soup_server_message_get_request_body (msg));
      g_autofree char *text = g_strndup (g_bytes_get_data (body, NULL), g_bytes_get_size (body));
      const char *ctype = soup_message_headers_get_content_type (soup_server_message_get_request_headers (msg), NULL);

      if (g_strcmp0 (ctype, "application/x-www-form-urlencoded") != 0)
        {
          reply_error (msg, "invalid_request", "not a form");
          return;
        }
      form = soup_form_decode (text);
    }

  if (g_str_equal (method, "GET") && g_str_equal (path, "/o/oauth2/v2/auth"))
    handle_authorize (self, msg, query, TRUE);
  else if (form != NULL && g_str_equal (path, "/token"))
    handle_token (self, msg, form, TRUE);
  else if (g_str_has_prefix (path, ms_prefix))
    {
      const char *rest = path + strlen (ms_prefix);

      if (g_str_equal (method, "GET") && g_str_equal (rest, "authorize"))
        handle_authorize (self, msg, query, FALSE);
      else if (form != NULL && g_str_equal (rest, "token"))
        handle_token (self, msg, form, FALSE);
      else if (form != NULL && g_str_equal (rest, "devicecode"))
        handle_devicecode (self, msg, form);
      else
        soup_server_message_set_status (msg, 404, NULL);
    }
  else if (g_str_has_suffix (path, "/oauth2/v2.0/token") || g_str_has_suffix (path, "/oauth2/v2.0/devicecode"))
    reply_error (msg, "invalid_request",
                 "AADSTS90002: Tenant 'nosuch.example' not found. Check to make sure you have the correct tenant ID.");
  else
    soup_server_message_set_status (msg, 404, NULL);
}

static gpointer
server_thread (gpointer user_data)
{
  FakeIdp *self = user_data;
  GError *error = NULL;
  GSList *uris;
  g_autofree char *uri_text = NULL;

  g_main_context_push_thread_default (self->context);
  self->server = soup_server_new ("server-header", "fake-idp", NULL);
  soup_server_add_handler (self->server, NULL, handler_cb, self, NULL);
  if (!soup_server_listen_local (self->server, 0, SOUP_SERVER_LISTEN_IPV4_ONLY, &error))
    g_error ("fake IdP cannot listen: %s", error->message);
  uris = soup_server_get_uris (self->server);
  uri_text = g_strdup_printf ("http://127.0.0.1:%d", g_uri_get_port (uris->data));
  g_slist_free_full (uris, (GDestroyNotify) g_uri_unref);

  g_mutex_lock (&self->mutex);
  self->base_url = g_steal_pointer (&uri_text);
  self->authority = g_strdup_printf ("%s/%s", self->base_url, FAKE_IDP_TENANT);
  self->ready = TRUE;
  g_cond_signal (&self->cond);
  g_mutex_unlock (&self->mutex);

  g_main_loop_run (self->loop);

  soup_server_disconnect (self->server);
  g_clear_object (&self->server);
  g_main_context_pop_thread_default (self->context);

  return NULL;
}

FakeIdp *
fake_idp_new (void)
{
  FakeIdp *self = g_new0 (FakeIdp, 1);

  g_mutex_init (&self->mutex);
  g_cond_init (&self->cond);
  self->expires_in = 3599;
  self->codes = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, (GDestroyNotify) pending_code_free);
  self->all_tokens = g_ptr_array_new_with_free_func (g_free);
  self->poll_times = g_array_new (FALSE, FALSE, sizeof (gint64));
  self->device_script = g_strsplit ("ok", ",", -1);
  self->device_interval = 1;
  self->device_expires_in = 900;
  self->context = g_main_context_new ();
  self->loop = g_main_loop_new (self->context, FALSE);
  self->thread = g_thread_new ("fake-idp", server_thread, self);

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
fake_idp_free (FakeIdp *self)
{
  if (self == NULL)
    return;

  g_main_context_invoke (self->context, quit_cb, self->loop);
  g_thread_join (self->thread);
  g_main_loop_unref (self->loop);
  g_main_context_unref (self->context);
  g_free (self->base_url);
  g_free (self->authority);
  g_free (self->token_error);
  g_free (self->devicecode_reply);
  g_hash_table_unref (self->codes);
  g_free (self->current_refresh);
  g_free (self->current_access);
  g_ptr_array_unref (self->all_tokens);
  g_strfreev (self->device_script);
  g_free (self->device_code);
  g_free (self->ms_scope);
  g_array_unref (self->poll_times);
  g_clear_pointer (&self->last_authorize, g_hash_table_unref);
  g_clear_pointer (&self->last_token, g_hash_table_unref);
  g_mutex_clear (&self->mutex);
  g_cond_clear (&self->cond);
  g_free (self);
}

const char *
fake_idp_get_base_url (FakeIdp *self)
{
  return self->base_url;
}

const char *
fake_idp_get_authority (FakeIdp *self)
{
  return self->authority;
}

void
fake_idp_set_authorize_mode (FakeIdp              *self,
                             FakeIdpAuthorizeMode  mode)
{
  g_mutex_lock (&self->mutex);
  self->authorize_mode = mode;
  g_mutex_unlock (&self->mutex);
}

void
fake_idp_set_scope (FakeIdp    *self,
                    const char *scope)
{
  g_mutex_lock (&self->mutex);
  g_free (self->ms_scope);
  self->ms_scope = g_strdup (scope);
  g_mutex_unlock (&self->mutex);
}

void
fake_idp_set_expires_in (FakeIdp *self,
                         int      expires_in)
{
  g_mutex_lock (&self->mutex);
  self->expires_in = expires_in;
  g_mutex_unlock (&self->mutex);
}

void
fake_idp_set_token_error (FakeIdp    *self,
                          const char *json)
{
  g_mutex_lock (&self->mutex);
  g_free (self->token_error);
  self->token_error = g_strdup (json);
  self->token_error_status = 400;
  g_mutex_unlock (&self->mutex);
}

void
fake_idp_set_token_reply (FakeIdp    *self,
                          guint       status,
                          const char *body)
{
  g_mutex_lock (&self->mutex);
  g_free (self->token_error);
  self->token_error = g_strdup (body);
  self->token_error_status = status;
  g_mutex_unlock (&self->mutex);
}

void
fake_idp_set_device_script (FakeIdp    *self,
                            const char *script,
                            int         interval,
                            int         expires_in)
{
  g_mutex_lock (&self->mutex);
  g_strfreev (self->device_script);
  self->device_script = g_strsplit (script, ",", -1);
  self->device_step = 0;
  self->device_interval = interval;
  self->device_expires_in = expires_in;
  g_array_set_size (self->poll_times, 0);
  g_mutex_unlock (&self->mutex);
}

void
fake_idp_set_devicecode_reply (FakeIdp    *self,
                               const char *body)
{
  g_mutex_lock (&self->mutex);
  g_free (self->devicecode_reply);
  self->devicecode_reply = g_strdup (body);
  g_mutex_unlock (&self->mutex);
}

void
fake_idp_revoke_all (FakeIdp *self)
{
  g_mutex_lock (&self->mutex);
  g_clear_pointer (&self->current_refresh, g_free);
  g_mutex_unlock (&self->mutex);
}

char *
fake_idp_get_current_access_token (FakeIdp *self)
{
  g_autoptr(GMutexLocker) locker = g_mutex_locker_new (&self->mutex);

  return g_strdup (self->current_access);
}

char *
fake_idp_get_current_refresh_token (FakeIdp *self)
{
  g_autoptr(GMutexLocker) locker = g_mutex_locker_new (&self->mutex);

  return g_strdup (self->current_refresh);
}

GPtrArray *
fake_idp_get_all_tokens (FakeIdp *self)
{
  g_autoptr(GMutexLocker) locker = g_mutex_locker_new (&self->mutex);
  GPtrArray *copy = g_ptr_array_new_with_free_func (g_free);

  for (guint i = 0; i < self->all_tokens->len; i++)
    g_ptr_array_add (copy, g_strdup (g_ptr_array_index (self->all_tokens, i)));

  return copy;
}

guint
fake_idp_get_n_refreshes (FakeIdp *self)
{
  g_autoptr(GMutexLocker) locker = g_mutex_locker_new (&self->mutex);

  return self->n_refreshes;
}

guint
fake_idp_get_n_code_exchanges (FakeIdp *self)
{
  g_autoptr(GMutexLocker) locker = g_mutex_locker_new (&self->mutex);

  return self->n_code_exchanges;
}

GArray *
fake_idp_get_poll_times (FakeIdp *self)
{
  g_autoptr(GMutexLocker) locker = g_mutex_locker_new (&self->mutex);
  GArray *copy = g_array_new (FALSE, FALSE, sizeof (gint64));

  g_array_append_vals (copy, self->poll_times->data, self->poll_times->len);

  return copy;
}

char *
fake_idp_get_authorize_param (FakeIdp    *self,
                              const char *name)
{
  g_autoptr(GMutexLocker) locker = g_mutex_locker_new (&self->mutex);

  return self->last_authorize ? g_strdup (g_hash_table_lookup (self->last_authorize, name)) : NULL;
}

char *
fake_idp_get_token_param (FakeIdp    *self,
                          const char *name)
{
  g_autoptr(GMutexLocker) locker = g_mutex_locker_new (&self->mutex);

  return self->last_token ? g_strdup (g_hash_table_lookup (self->last_token, name)) : NULL;
}

static void
scan_dir (const char *path,
          guint       depth,
          guint      *n_files)
{
  g_autoptr(GDir) dir = g_dir_open (path, 0, NULL);
  const char *name;

  if (dir == NULL || depth > 12)
    return;

  while ((name = g_dir_read_name (dir)) != NULL)
    {
      g_autofree char *child = g_build_filename (path, name, NULL);

      if (g_str_has_suffix (child, "/.local/share/keyrings"))
        continue;
      if (g_file_test (child, G_FILE_TEST_IS_SYMLINK))
        continue;
      if (g_file_test (child, G_FILE_TEST_IS_DIR))
        scan_dir (child, depth + 1, n_files);
      else if (g_file_test (child, G_FILE_TEST_IS_REGULAR))
        {
          g_autofree char *contents = NULL;
          gsize len = 0;

          if (g_file_get_contents (child, &contents, &len, NULL))
            {
              (*n_files)++;
              if (g_strstr_len (contents, len, FAKE_IDP_TOKEN_PREFIX) != NULL)
                g_error ("a token was written to %s", child);
            }
        }
    }
}

void
fake_idp_assert_no_token_under_home (void)
{
  const char *home = g_get_home_dir ();
  const char *workdir = g_getenv ("HERALD_TEST_WORKDIR");
  guint n_files = 0;

  if (workdir == NULL || !g_str_has_prefix (home, workdir))
    {
      g_test_message ("HOME is not the test session's throw-away one: run under build-aux/test-session.sh");
      g_test_fail ();
      return;
    }

  scan_dir (home, 0, &n_files);
  g_test_message ("%u files scanned under %s", n_files, home);
}

static gpointer
fake_idp_browser_thread (gpointer user_data)
{
  FakeIdpBrowser *browser = user_data;
  g_autoptr(SoupSession) session = soup_session_new_with_options ("timeout", 20, NULL);
  g_autoptr(SoupMessage) msg = soup_message_new ("GET", browser->uri);
  g_autoptr(GBytes) body = soup_session_send_and_read (session, msg, NULL, NULL);

  return NULL;
}

gboolean
fake_idp_browser_open (const char  *uri,
                       gpointer     user_data,
                       GError     **error)
{
  FakeIdpBrowser *browser = user_data;

  g_assert_null (browser->thread);
  g_free (browser->uri);
  browser->uri = g_strdup (uri);
  if (browser->allowed != NULL && !g_str_has_prefix (uri, browser->allowed))
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_PERMISSION_DENIED, "not the stand-in: %s", uri);
      return FALSE;
    }
  browser->thread = g_thread_new ("browser", fake_idp_browser_thread, browser);

  return TRUE;
}

void
fake_idp_browser_finish (FakeIdpBrowser *browser)
{
  if (browser->thread != NULL)
    g_thread_join (browser->thread);
  browser->thread = NULL;
  g_clear_pointer (&browser->uri, g_free);
}
