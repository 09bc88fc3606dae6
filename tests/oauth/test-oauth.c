/* SPDX-License-Identifier: GPL-3.0-or-later
 * Copyright 2026 The Herald authors
 */
#define G_LOG_DOMAIN "herald-test"

#include "config.h"

#include <libsoup/soup.h>
#include <string.h>

#include "fake-idp.h"
#include "herald-diagnosis.h"
#include "herald-oauth.h"
#include "herald-oauth-private.h"
#include "herald-secrets-oauth.h"

/* OAuth flows against the in-process stand-in identity provider (fake-idp.c)
 * and the real keyring of the test session (build-aux/test-session.sh). */

/* ---------------------------------------------------------------------------
 * The "browser": an HTTP client in its own thread that follows the authorize
 * URL's redirect to the library's loopback listener, as a browser would.
 * ------------------------------------------------------------------------- */

/* A local client that connects to the listener first and sends a request
 * one byte every 500 ms, for up to 30 s, unless the listener drops it. The
 * browser starts only once it has connected and sent its first byte, so it
 * is queued behind it whatever the scheduler does. */
typedef struct {
  GThread *thread;
  char *authorize_uri;
  GMutex lock;
  GCond cond;
  gboolean ready;             /* under lock: connected and first byte sent, or failed */
  char *failure;              /* under lock: why it could not connect or send, or NULL */
  gint stop;                  /* atomic */
  gboolean dropped;           /* the listener closed the connection */
  gint64 dropped_after_us;
} SlowClient;

typedef struct {
  GThread *thread;
  char *uri;
  guint status;
  char *body;
  char *error;
  gboolean junk_first;   /* hit the loopback listener with junk before the real redirect */
  SlowClient *slow;      /* start this slow client just before the real redirect */
  FakeIdp *retry_idp;    /* first redirect as the IdP is set now, then again in OK mode */
  guint first_status;
  char *first_body;
} FakeBrowser;

/* Sends raw bytes to the loopback listener named in the authorize URL. */
static void
send_junk (const char *authorize_uri,
           const char *junk,
           gboolean    wait_reply)
{
  g_autoptr(GHashTable) params = NULL;
  g_autoptr(GUri) redirect = NULL;
  g_autoptr(GSocketClient) client = g_socket_client_new ();
  g_autoptr(GSocketConnection) connection = NULL;
  const char *query = strchr (authorize_uri, '?');
  char buf[512];

  params = g_uri_parse_params (query + 1, -1, "&", G_URI_PARAMS_WWW_FORM, NULL);
  redirect = g_uri_parse (g_hash_table_lookup (params, "redirect_uri"), G_URI_FLAGS_NONE, NULL);
  connection = g_socket_client_connect_to_host (client, "127.0.0.1", g_uri_get_port (redirect), NULL, NULL);
  g_assert_nonnull (connection);
  g_output_stream_write_all (g_io_stream_get_output_stream (G_IO_STREAM (connection)), junk, strlen (junk),
                             NULL, NULL, NULL);
  if (wait_reply)
    g_input_stream_read (g_io_stream_get_input_stream (G_IO_STREAM (connection)), buf, sizeof buf, NULL, NULL);
  g_io_stream_close (G_IO_STREAM (connection), NULL, NULL);
}

static GSocketConnection *
connect_listener (const char  *authorize_uri,
                  GError     **error)
{
  g_autoptr(GHashTable) params = NULL;
  g_autoptr(GUri) redirect = NULL;
  g_autoptr(GSocketClient) client = g_socket_client_new ();
  const char *query = strchr (authorize_uri, '?');

  params = g_uri_parse_params (query + 1, -1, "&", G_URI_PARAMS_WWW_FORM, NULL);
  redirect = g_uri_parse (g_hash_table_lookup (params, "redirect_uri"), G_URI_FLAGS_NONE, NULL);
  return g_socket_client_connect_to_host (client, "127.0.0.1", g_uri_get_port (redirect), NULL, error);
}

/* Tells the browser thread that it may go: the slow client is in place, or
 * failed (with @failure, taken). On the slow client's thread. */
static void
slow_client_ready (SlowClient *slow,
                   char       *failure)
{
  g_mutex_lock (&slow->lock);
  slow->failure = failure;
  slow->ready = TRUE;
  g_cond_signal (&slow->cond);
  g_mutex_unlock (&slow->lock);
}

/* On the browser thread: waits (boundedly) until the slow client is in
 * place; the test itself reports a client that never got there. */
static void
slow_client_wait_ready (SlowClient *slow)
{
  gint64 deadline = g_get_monotonic_time () + 10 * G_USEC_PER_SEC;

  g_mutex_lock (&slow->lock);
  while (!slow->ready)
    if (!g_cond_wait_until (&slow->cond, &slow->lock, deadline))
      break;
  g_mutex_unlock (&slow->lock);
}

static gpointer
slow_client_thread (gpointer user_data)
{
  SlowClient *slow = user_data;
  static const char request[] = "GET /?code=slow-client-code&state=slow HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";
  g_autoptr(GSocketConnection) connection = NULL;
  g_autoptr(GError) error = NULL;
  GSocket *socket;
  gint64 start = g_get_monotonic_time ();

  /* No assertion here: one failing in this thread would abort the whole
   * program; the test reports the failure instead. */
  connection = connect_listener (slow->authorize_uri, &error);
  if (connection == NULL)
    {
      slow_client_ready (slow, g_strdup_printf ("the slow client could not connect to the listener: %s",
                                                error->message));
      return NULL;
    }
  socket = g_socket_connection_get_socket (connection);
  for (guint i = 0; i < 60 && !g_atomic_int_get (&slow->stop); i++)
    {
      char buf[256];

      if (g_socket_send (socket, request + (i % (sizeof request - 5)), 1, NULL, &error) < 0)
        {
          if (i == 0)
            {
              slow_client_ready (slow, g_strdup_printf ("the slow client could not send its first byte: %s",
                                                        error->message));
              break;
            }
          slow->dropped = TRUE;
          break;
        }
      if (i == 0)
        slow_client_ready (slow, NULL);
      /* The listener answers nothing to this request before it is complete:
       * readable here means it closed the connection (EOF or reset). */
      if (g_socket_condition_timed_wait (socket, G_IO_IN, 500 * 1000, NULL, NULL)
          && g_socket_receive (socket, buf, sizeof buf, NULL, NULL) <= 0)
        {
          slow->dropped = TRUE;
          break;
        }
    }
  slow->dropped_after_us = g_get_monotonic_time () - start;
  g_io_stream_close (G_IO_STREAM (connection), NULL, NULL);

  return NULL;
}

/* One GET of uri, following the IdP's redirect to the loopback listener. */
static void
browser_get (const char  *uri,
             guint       *status,
             char       **body_out,
             char       **error_out)
{
  g_autoptr(SoupSession) session = soup_session_new_with_options ("timeout", 20, NULL);
  g_autoptr(SoupMessage) msg = soup_message_new ("GET", uri);
  g_autoptr(GBytes) body = NULL;
  g_autoptr(GError) error = NULL;

  body = soup_session_send_and_read (session, msg, NULL, &error);
  if (body == NULL)
    *error_out = g_strdup (error->message);
  else
    {
      *status = soup_message_get_status (msg);
      *body_out = g_strndup (g_bytes_get_data (body, NULL), g_bytes_get_size (body));
    }
}

static gpointer
browser_thread (gpointer user_data)
{
  FakeBrowser *browser = user_data;

  if (browser->junk_first)
    {
      /* A port scanner, a favicon request, garbage, a request for another path
       * with a forged code: all ignored, the real redirect still works. */
      send_junk (browser->uri, "", FALSE);
      send_junk (browser->uri, "\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03 TLS hello\r\n\r\n", FALSE);
      send_junk (browser->uri, "GET /favicon.ico HTTP/1.1\r\nHost: localhost\r\n\r\n", TRUE);
      send_junk (browser->uri, "GET /other?code=forged&state=x HTTP/1.1\r\n\r\n", TRUE);
      send_junk (browser->uri, "POST /?code=forged HTTP/1.1\r\n\r\n", FALSE);
      send_junk (browser->uri, "GET / HTTP/1.1\r\n\r\n", TRUE);
    }
  if (browser->slow != NULL)
    {
      /* The slow client gets the listener first: the browser connects
       * only after it has connected and sent its first byte. */
      browser->slow->authorize_uri = g_strdup (browser->uri);
      browser->slow->thread = g_thread_new ("slow-client", slow_client_thread, browser->slow);
      slow_client_wait_ready (browser->slow);
    }
  if (browser->retry_idp != NULL)
    {
      g_autofree char *first_error = NULL;

      browser_get (browser->uri, &browser->first_status, &browser->first_body, &first_error);
      g_assert_null (first_error);
      fake_idp_set_authorize_mode (browser->retry_idp, FAKE_IDP_AUTHORIZE_OK);
    }
  browser_get (browser->uri, &browser->status, &browser->body, &browser->error);

  return NULL;
}

static gboolean
fake_browser_open (const char  *uri,
                   gpointer     user_data,
                   GError     **error)
{
  FakeBrowser *browser = user_data;

  g_assert_null (browser->thread);
  browser->uri = g_strdup (uri);
  browser->thread = g_thread_new ("fake-browser", browser_thread, browser);

  return TRUE;
}

static void
fake_browser_join (FakeBrowser *browser)
{
  if (browser->thread != NULL)
    g_thread_join (browser->thread);
  browser->thread = NULL;
}

static void
fake_browser_clear (FakeBrowser *browser)
{
  fake_browser_join (browser);
  g_free (browser->uri);
  g_free (browser->body);
  g_free (browser->error);
  g_free (browser->first_body);
  memset (browser, 0, sizeof *browser);
}

static gboolean
no_browser_open (const char  *uri,
                 gpointer     user_data,
                 GError     **error)
{
  g_set_error_literal (error, HERALD_OAUTH_ERROR, HERALD_OAUTH_ERROR_NO_BROWSER, "no browser in this test");
  return FALSE;
}

static HeraldOAuthAccount *
ms_account (FakeIdp    *idp,
            const char *address)
{
  HeraldOAuthAccount *account = herald_oauth_account_new (HERALD_OAUTH_PROVIDER_MICROSOFT, address);

  account->client_id = g_strdup (FAKE_IDP_CLIENT_ID);
  account->tenant = g_strdup (FAKE_IDP_TENANT);
  account->authority = g_strdup (fake_idp_get_authority (idp));

  return account;
}

static HeraldOAuthTokens *
stored_tokens (const HeraldOAuthAccount *account)
{
  g_autoptr(GError) error = NULL;
  HeraldOAuthTokens *tokens;

  tokens = herald_oauth_tokens_lookup_sync (herald_oauth_provider_to_string (account->provider),
                                            account->account, account->client_id, NULL, &error);
  g_assert_no_error (error);

  return tokens;
}

static void
sign_in_with_browser (FakeIdp                  *idp,
                      const HeraldOAuthAccount *account)
{
  FakeBrowser browser = { 0 };
  g_autoptr(GError) error = NULL;

  herald_oauth_set_browser_func (fake_browser_open, &browser);
  g_assert_true (herald_oauth_sign_in_browser_sync (account, NULL, &error));
  g_assert_no_error (error);
  fake_browser_join (&browser);
  g_assert_null (browser.error);
  g_assert_cmpuint (browser.status, ==, 200);
  g_assert_nonnull (strstr (browser.body, "Signed in"));
  fake_browser_clear (&browser);
  herald_oauth_set_browser_func (NULL, NULL);
}

/* ---------------------------------------------------------------------------
 * Units.
 * ------------------------------------------------------------------------- */

static void
test_pkce_vector (void)
{
  g_autofree char *challenge = NULL;

  /* RFC 7636, appendix B. */
  challenge = _herald_oauth_pkce_challenge ("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk");
  g_assert_cmpstr (challenge, ==, "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM");
}

static void
test_random (void)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *a = _herald_oauth_random_urlsafe (32, &error);
  g_autofree char *b = NULL;

  g_assert_no_error (error);
  b = _herald_oauth_random_urlsafe (32, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (strlen (a), ==, 43);   /* 256 bits, unpadded base64url */
  g_assert_cmpstr (a, !=, b);
  for (const char *p = a; *p != '\0'; p++)
    g_assert_true (g_ascii_isalnum (*p) || *p == '-' || *p == '_');
}

static void
test_endpoints (void)
{
  g_autoptr(HeraldOAuthAccount) account = herald_oauth_account_new (HERALD_OAUTH_PROVIDER_MICROSOFT,
                                                                    "alerts@contoso.example");
  g_autoptr(GError) error = NULL;
  g_autofree char *authorize = NULL;
  g_autofree char *token = NULL;
  g_autofree char *device = NULL;

  /* No client ID given and none built in (the default build has none). */
  if (HERALD_MICROSOFT_CLIENT_ID[0] == '\0')
    {
      g_assert_false (herald_oauth_account_validate (account, &error));
      g_assert_error (error, HERALD_OAUTH_ERROR, HERALD_OAUTH_ERROR_INVALID_ACCOUNT);
      g_clear_error (&error);
    }
  account->client_id = g_strdup (FAKE_IDP_CLIENT_ID);
  g_assert_true (herald_oauth_account_validate (account, &error));
  g_assert_no_error (error);

  /* Default tenant: organizations. */
  g_assert_true (herald_oauth_account_get_endpoints (account, &authorize, &token, &device, &error));
  g_assert_cmpstr (authorize, ==, "https://login.microsoftonline.com/organizations/oauth2/v2.0/authorize");
  g_assert_cmpstr (token, ==, "https://login.microsoftonline.com/organizations/oauth2/v2.0/token");
  g_assert_cmpstr (device, ==, "https://login.microsoftonline.com/organizations/oauth2/v2.0/devicecode");
  g_clear_pointer (&authorize, g_free);
  g_clear_pointer (&token, g_free);
  g_clear_pointer (&device, g_free);

  account->tenant = g_strdup ("contoso.onmicrosoft.com");
  g_assert_true (herald_oauth_account_get_endpoints (account, NULL, &token, NULL, &error));
  g_assert_cmpstr (token, ==, "https://login.microsoftonline.com/contoso.onmicrosoft.com/oauth2/v2.0/token");
  g_clear_pointer (&token, g_free);

  /* Sovereign cloud: a host alone gets the tenant appended. */
  account->authority = g_strdup ("https://login.microsoftonline.us/");
  g_assert_true (herald_oauth_account_get_endpoints (account, NULL, &token, NULL, &error));
  g_assert_cmpstr (token, ==, "https://login.microsoftonline.us/contoso.onmicrosoft.com/oauth2/v2.0/token");
  g_clear_pointer (&token, g_free);

  /* A full authority is used as is. */
  g_free (account->authority);
  account->authority = g_strdup ("https://login.partner.microsoftonline.cn/00000000-1111-2222-3333-444444444444");
  g_assert_true (herald_oauth_account_get_endpoints (account, NULL, &token, NULL, &error));
  g_assert_cmpstr (token, ==,
                   "https://login.partner.microsoftonline.cn/00000000-1111-2222-3333-444444444444/oauth2/v2.0/token");
  g_clear_pointer (&token, g_free);

  /* Plain http only for loopback. */
  g_free (account->authority);
  account->authority = g_strdup ("http://login.example.com/tenant");
  g_assert_false (herald_oauth_account_validate (account, &error));
  g_assert_error (error, HERALD_OAUTH_ERROR, HERALD_OAUTH_ERROR_INVALID_ACCOUNT);
  g_assert_nonnull (strstr (error->message, "https://"));
  g_clear_error (&error);
  g_free (account->authority);
  account->authority = g_strdup ("http://127.0.0.1:8080/tenant");
  g_assert_true (herald_oauth_account_validate (account, &error));
  g_assert_no_error (error);
  g_free (account->authority);
  account->authority = g_strdup ("ftp://127.0.0.1/tenant");
  g_assert_false (herald_oauth_account_validate (account, &error));
  g_clear_error (&error);
  g_free (account->authority);
  account->authority = g_strdup ("https://user@login.example.com/t");
  g_assert_false (herald_oauth_account_validate (account, &error));
  g_clear_error (&error);
  /* GUri accepts spaces; the authority must not. */
  for (guint i = 0; i < 3; i++)
    {
      static const char *const spaced[] = {
        "https://login.microsoftonline.us ", "https://login micro.us", "https://login.example.com/\tt",
      };

      g_free (account->authority);
      account->authority = g_strdup (spaced[i]);
      g_assert_false (herald_oauth_account_validate (account, &error));
      g_assert_error (error, HERALD_OAUTH_ERROR, HERALD_OAUTH_ERROR_INVALID_ACCOUNT);
      g_assert_nonnull (strstr (error->message, "space"));
      g_clear_error (&error);
    }
  g_clear_pointer (&account->authority, g_free);

  /* Tenants: keywords, GUIDs and domains; nothing that would change the path. */
  g_free (account->tenant);
  account->tenant = g_strdup ("../common");
  g_assert_false (herald_oauth_account_validate (account, &error));
  g_assert_error (error, HERALD_OAUTH_ERROR, HERALD_OAUTH_ERROR_INVALID_ACCOUNT);
  g_clear_error (&error);
  g_free (account->tenant);
  account->tenant = g_strdup ("consumers");
  g_assert_true (herald_oauth_account_validate (account, &error));

  /* Bad addresses and client IDs. */
  g_free (account->account);
  account->account = g_strdup ("alerts\r\n@x");
  g_assert_false (herald_oauth_account_validate (account, &error));
  g_clear_error (&error);
  g_free (account->account);
  account->account = g_strdup ("alerts@contoso.example");
  g_free (account->client_id);
  account->client_id = g_strdup ("id with spaces");
  g_assert_false (herald_oauth_account_validate (account, &error));
  g_clear_error (&error);

  /* Google. */
  {
    g_autoptr(HeraldOAuthAccount) google = herald_oauth_account_new (HERALD_OAUTH_PROVIDER_GOOGLE,
                                                                     "alerts@gmail.example");
    google->client_id = g_strdup ("123-abc.apps.googleusercontent.com");
    g_assert_true (herald_oauth_account_get_endpoints (google, &authorize, &token, &device, &error));
    g_assert_cmpstr (authorize, ==, "https://accounts.google.com/o/oauth2/v2/auth");
    g_assert_cmpstr (token, ==, "https://oauth2.googleapis.com/token");
    g_assert_null (device);
  }
}

/* heraldctl login and the window explain a failed sign-in with the
 * diagnosis rules, from the error message alone: the rule must fire on the
 * message exactly as the library words it. */
static void
assert_diagnosed (const GError *error,
                  const char   *rule)
{
  g_autoptr(HeraldDiagnosis) diagnosis = herald_diagnose_text (error->message, HERALD_STAGE_AUTH, NULL);

  g_test_message ("%s -> %s", error->message, diagnosis->id);
  g_assert_cmpstr (diagnosis->id, ==, rule);
}

static void
test_error_mapping (void)
{
  static const struct {
    const char *json;
    HeraldOAuthErrorCode code;
    guint aadsts;
    const char *rule;   /* the diagnosis rule heraldctl login and the window show, or NULL */
  } cases[] = {
    { "{\"error\":\"invalid_client\",\"error_description\":\"AADSTS7000218: The request body must contain "
      "the following parameter: 'client_assertion' or 'client_secret'.\\r\\nTrace ID: x\","
      "\"error_codes\":[7000218]}", HERALD_OAUTH_ERROR_PUBLIC_CLIENT_NOT_ALLOWED, 7000218, "oauth-public-client-flows-off" },
    { "{\"error\":\"invalid_grant\",\"error_description\":\"AADSTS65001: The user or administrator has not "
      "consented to use the application.\"}", HERALD_OAUTH_ERROR_CONSENT_REQUIRED, 65001, "oauth-consent-required" },
    { "{\"error\":\"interaction_required\",\"error_description\":\"AADSTS50076: Due to a configuration "
      "change made by your administrator, you must use multi-factor authentication.\"}",
      HERALD_OAUTH_ERROR_INTERACTION_REQUIRED, 50076, "oauth-mfa-required" },
    { "{\"error\":\"invalid_grant\",\"error_description\":\"AADSTS53003: Access has been blocked by "
      "Conditional Access policies.\"}", HERALD_OAUTH_ERROR_INTERACTION_REQUIRED, 53003, "oauth-conditional-access-blocked" },
    { "{\"error\":\"unauthorized_client\",\"error_description\":\"AADSTS700016: Application with identifier "
      "'x' was not found in the directory 'y'.\"}", HERALD_OAUTH_ERROR_APP_NOT_FOUND, 700016, "oauth-app-not-found" },
    { "{\"error\":\"invalid_request\",\"error_description\":\"AADSTS90002: Tenant 'x' not found.\"}",
      HERALD_OAUTH_ERROR_TENANT_NOT_FOUND, 90002, "oauth-tenant-not-found" },
    { "{\"error\":\"invalid_client\",\"error_description\":\"AADSTS7000215: Invalid client secret provided.\"}",
      HERALD_OAUTH_ERROR_INVALID_CLIENT, 7000215, "oauth-confidential-client" },
    { "{\"error\":\"invalid_request\",\"error_description\":\"AADSTS50011: The redirect URI specified in "
      "the request does not match.\"}", HERALD_OAUTH_ERROR_REDIRECT_MISMATCH, 50011, "oauth-redirect-uri-missing" },
    { "{\"error\":\"invalid_grant\",\"error_description\":\"AADSTS700082: The refresh token has expired.\"}",
      HERALD_OAUTH_ERROR_SIGN_IN_AGAIN, 700082, "oauth-sign-in-again" },
    { "{\"error\":\"invalid_grant\",\"error_description\":\"Token has been expired or revoked.\"}",
      HERALD_OAUTH_ERROR_SIGN_IN_AGAIN, 0, "oauth-sign-in-again" },
    { "{\"error\":\"invalid_scope\",\"error_description\":\"Invalid device flow scope\"}",
      HERALD_OAUTH_ERROR_INVALID_SCOPE, 0, "oauth-invalid-scope" },
    { "{\"error\":\"temporarily_unavailable\"}", HERALD_OAUTH_ERROR_SERVER, 0,
      "oauth-service-unavailable" },
    /* Only error_codes, no AADSTS in the text. */
    { "{\"error\":\"invalid_client\",\"error_description\":\"no code here\",\"error_codes\":[7000218]}",
      HERALD_OAUTH_ERROR_PUBLIC_CLIENT_NOT_ALLOWED, 7000218, "oauth-public-client-flows-off" },
    { "<html>Bad gateway</html>", HERALD_OAUTH_ERROR_PROTOCOL, 0, NULL },
    { "[1,2]", HERALD_OAUTH_ERROR_PROTOCOL, 0, NULL },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr(GBytes) body = g_bytes_new_static (cases[i].json, strlen (cases[i].json));
      g_autoptr(GError) error = _herald_oauth_error_from_reply (400, body);

      g_test_message ("case %u: %s", i, error->message);
      g_assert_error (error, HERALD_OAUTH_ERROR, (int) cases[i].code);
      g_assert_cmpuint (herald_oauth_error_get_aadsts (error), ==, cases[i].aadsts);
      /* The message carries the code and the description, on one line. */
      if (cases[i].aadsts != 0)
        {
          g_autofree char *needle = g_strdup_printf ("AADSTS%u", cases[i].aadsts);
          g_assert_nonnull (strstr (error->message, needle));
        }
      g_assert_null (strchr (error->message, '\n'));
      g_assert_null (strchr (error->message, '\r'));

      if (cases[i].rule != NULL)
        assert_diagnosed (error, cases[i].rule);
      else
        {
          g_autoptr(HeraldDiagnosis) diagnosis = herald_diagnose_text (error->message, HERALD_STAGE_AUTH, NULL);
          g_assert_true (herald_diagnosis_is_fallback (diagnosis));
        }
    }
}

/* ---------------------------------------------------------------------------
 * Browser flow.
 * ------------------------------------------------------------------------- */

static void
test_browser_microsoft (void)
{
  g_autoptr(FakeIdp) idp = fake_idp_new ();
  g_autoptr(HeraldOAuthAccount) account = ms_account (idp, "browser@contoso.example");
  g_autoptr(HeraldOAuthTokens) tokens = NULL;
  g_autofree char *access = NULL;
  g_autofree char *refresh = NULL;
  g_autofree char *redirect = NULL;
  g_autofree char *hint = NULL;
  g_autofree char *challenge = NULL;
  g_autofree char *state = NULL;
  g_autofree char *verifier = NULL;
  g_autofree char *computed = NULL;

  sign_in_with_browser (idp, account);

  /* The stand-in only issues tokens after checking S256(verifier) against the
   * challenge and the exact redirect_uri; check what was sent, too. */
  g_assert_cmpuint (fake_idp_get_n_code_exchanges (idp), ==, 1);
  redirect = fake_idp_get_authorize_param (idp, "redirect_uri");
  g_assert_true (g_str_has_prefix (redirect, "http://localhost:"));
  g_assert_true (g_str_has_suffix (redirect, "/"));
  hint = fake_idp_get_authorize_param (idp, "login_hint");
  g_assert_cmpstr (hint, ==, "browser@contoso.example");
  state = fake_idp_get_authorize_param (idp, "state");
  g_assert_cmpuint (strlen (state), >=, 22);
  challenge = fake_idp_get_authorize_param (idp, "code_challenge");
  verifier = fake_idp_get_token_param (idp, "code_verifier");
  g_assert_cmpuint (strlen (verifier), ==, 43);
  computed = _herald_oauth_pkce_challenge (verifier);
  g_assert_cmpstr (computed, ==, challenge);

  /* Tokens are in the keyring. */
  tokens = stored_tokens (account);
  g_assert_nonnull (tokens);
  access = fake_idp_get_current_access_token (idp);
  refresh = fake_idp_get_current_refresh_token (idp);
  g_assert_cmpstr (tokens->access_token, ==, access);
  g_assert_cmpstr (tokens->refresh_token, ==, refresh);
  g_assert_cmpint (tokens->expires_at, >, g_get_real_time () / G_USEC_PER_SEC + 3500);

  g_assert_true (herald_oauth_sign_out_sync (account, NULL, NULL));
  g_clear_pointer (&tokens, herald_oauth_tokens_free);
  tokens = stored_tokens (account);
  g_assert_null (tokens);
}

static void
test_browser_junk (void)
{
  g_autoptr(FakeIdp) idp = fake_idp_new ();
  g_autoptr(HeraldOAuthAccount) account = ms_account (idp, "junk@contoso.example");
  g_autoptr(HeraldOAuthTokens) tokens = NULL;
  g_autoptr(GError) error = NULL;
  FakeBrowser browser = { 0 };

  browser.junk_first = TRUE;
  herald_oauth_set_browser_func (fake_browser_open, &browser);
  g_assert_true (herald_oauth_sign_in_browser_sync (account, NULL, &error));
  g_assert_no_error (error);
  fake_browser_join (&browser);
  g_assert_cmpuint (browser.status, ==, 200);
  fake_browser_clear (&browser);
  herald_oauth_set_browser_func (NULL, NULL);
  g_assert_cmpuint (fake_idp_get_n_code_exchanges (idp), ==, 1);
  tokens = stored_tokens (account);
  g_assert_nonnull (tokens);
  g_assert_true (herald_oauth_sign_out_sync (account, NULL, NULL));
}

static void
test_browser_denied (void)
{
  g_autoptr(FakeIdp) idp = fake_idp_new ();
  g_autoptr(HeraldOAuthAccount) account = ms_account (idp, "denied@contoso.example");
  g_autoptr(GError) error = NULL;
  FakeBrowser browser = { 0 };

  fake_idp_set_authorize_mode (idp, FAKE_IDP_AUTHORIZE_DENY);
  herald_oauth_set_browser_func (fake_browser_open, &browser);
  g_assert_false (herald_oauth_sign_in_browser_sync (account, NULL, &error));
  g_assert_error (error, HERALD_OAUTH_ERROR, HERALD_OAUTH_ERROR_DECLINED);
  g_assert_nonnull (strstr (error->message, "access_denied"));
  assert_diagnosed (error, "oauth-declined");
  fake_browser_join (&browser);
  g_assert_nonnull (strstr (browser.body, "failed"));
  fake_browser_clear (&browser);
  herald_oauth_set_browser_func (NULL, NULL);
}

static gboolean
idle_browser_open (const char  *uri,
                   gpointer     user_data,
                   GError     **error)
{
  /* Opens nothing: the user never comes back. */
  return TRUE;
}

static gboolean
cancel_cb (gpointer user_data)
{
  g_cancellable_cancel (user_data);
  return G_SOURCE_REMOVE;
}

typedef struct {
  GMainLoop *loop;
  GError *error;
  gboolean ok;
} SignInResult;

static void
browser_done_cb (GObject      *source,
                 GAsyncResult *result,
                 gpointer      user_data)
{
  SignInResult *res = user_data;

  res->ok = herald_oauth_sign_in_browser_finish (result, &res->error);
  g_main_loop_quit (res->loop);
}

static void
test_browser_cancel (void)
{
  g_autoptr(FakeIdp) idp = fake_idp_new ();
  g_autoptr(HeraldOAuthAccount) account = ms_account (idp, "cancel@contoso.example");
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  g_autoptr(GError) error = NULL;
  SignInResult res = { 0 };
  gint64 start;

  /* No browser at all: a clear error, no wait. */
  herald_oauth_set_browser_func (no_browser_open, NULL);
  g_assert_false (herald_oauth_sign_in_browser_sync (account, NULL, &error));
  g_assert_error (error, HERALD_OAUTH_ERROR, HERALD_OAUTH_ERROR_NO_BROWSER);

  /* A browser that never comes back: cancelling ends the wait promptly. */
  herald_oauth_set_browser_func (idle_browser_open, NULL);
  res.loop = g_main_loop_new (NULL, FALSE);
  start = g_get_monotonic_time ();
  g_timeout_add (200, cancel_cb, cancellable);
  herald_oauth_sign_in_browser_async (account, cancellable, browser_done_cb, &res);
  g_main_loop_run (res.loop);
  g_assert_false (res.ok);
  g_assert_error (res.error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_assert_cmpint (g_get_monotonic_time () - start, <, 5 * G_USEC_PER_SEC);
  g_clear_error (&res.error);
  g_main_loop_unref (res.loop);
  herald_oauth_set_browser_func (NULL, NULL);
}

/* Runs the browser sign-in on its worker thread and waits at most
 * max_seconds (then cancels it, so that a broken listener fails the test
 * instead of hanging it). */
static gboolean
sign_in_guarded (const HeraldOAuthAccount  *account,
                 guint                      max_seconds,
                 gint64                    *elapsed_us,
                 GError                   **error)
{
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  SignInResult res = { 0 };
  gint64 start = g_get_monotonic_time ();
  guint timer;

  res.loop = g_main_loop_new (NULL, FALSE);
  timer = g_timeout_add_seconds (max_seconds, cancel_cb, cancellable);
  herald_oauth_sign_in_browser_async (account, cancellable, browser_done_cb, &res);
  g_main_loop_run (res.loop);
  *elapsed_us = g_get_monotonic_time () - start;
  if (!g_cancellable_is_cancelled (cancellable))
    g_source_remove (timer);
  g_main_loop_unref (res.loop);
  if (res.error != NULL)
    g_propagate_error (error, res.error);

  return res.ok;
}

/* A redirect with another state (an old tab, another program) gets a 400 page
 * saying so; the sign-in goes on and completes with the right redirect, and
 * the other redirect's code is never exchanged. */
static void
test_browser_state_mismatch (void)
{
  g_autoptr(FakeIdp) idp = fake_idp_new ();
  g_autoptr(HeraldOAuthAccount) account = ms_account (idp, "state@contoso.example");
  g_autoptr(HeraldOAuthTokens) tokens = NULL;
  g_autoptr(GError) error = NULL;
  FakeBrowser browser = { 0 };
  gint64 elapsed;

  fake_idp_set_authorize_mode (idp, FAKE_IDP_AUTHORIZE_BAD_STATE);
  browser.retry_idp = idp;
  herald_oauth_set_browser_func (fake_browser_open, &browser);
  g_assert_true (sign_in_guarded (account, 30, &elapsed, &error));
  g_assert_no_error (error);
  fake_browser_join (&browser);
  herald_oauth_set_browser_func (NULL, NULL);

  g_assert_cmpuint (browser.first_status, ==, 400);
  g_assert_nonnull (browser.first_body);
  g_assert_nonnull (strstr (browser.first_body, "was not from the current Herald session"));
  g_assert_null (browser.error);
  g_assert_cmpuint (browser.status, ==, 200);
  g_assert_nonnull (strstr (browser.body, "Signed in"));
  fake_browser_clear (&browser);

  /* Only the right redirect's code was exchanged. */
  g_assert_cmpuint (fake_idp_get_n_code_exchanges (idp), ==, 1);
  tokens = stored_tokens (account);
  g_assert_nonnull (tokens);
  g_assert_true (herald_oauth_sign_out_sync (account, NULL, NULL));
}

/* A local client that connects first and sends its request a byte every
 * 500 ms (each read well inside any per-read timeout) is dropped after the
 * listener's few-second deadline per connection; the browser's redirect,
 * queued behind it, then completes the sign-in. */
static void
test_browser_slow_local_client (void)
{
  g_autoptr(FakeIdp) idp = fake_idp_new ();
  g_autoptr(HeraldOAuthAccount) account = ms_account (idp, "slow@contoso.example");
  g_autoptr(GError) error = NULL;
  FakeBrowser browser = { 0 };
  SlowClient slow = { 0 };
  gboolean ok;
  gint64 elapsed;
  gboolean ready;

  g_mutex_init (&slow.lock);
  g_cond_init (&slow.cond);
  browser.slow = &slow;
  herald_oauth_set_browser_func (fake_browser_open, &browser);
  ok = sign_in_guarded (account, 20, &elapsed, &error);
  g_test_message ("sign-in ended after %" G_GINT64_FORMAT " ms; slow client dropped: %d after %"
                  G_GINT64_FORMAT " ms", elapsed / 1000, slow.dropped, slow.dropped_after_us / 1000);
  g_atomic_int_set (&slow.stop, TRUE);
  if (slow.thread != NULL)
    g_thread_join (slow.thread);
  fake_browser_join (&browser);
  herald_oauth_set_browser_func (NULL, NULL);
  g_mutex_lock (&slow.lock);
  ready = slow.ready;
  g_mutex_unlock (&slow.lock);
  g_mutex_clear (&slow.lock);
  g_cond_clear (&slow.cond);

  /* Without the slow client in front of the browser, this test would not
   * exercise the listener's deadline at all: a failure, not a pass. */
  if (!ready || slow.failure != NULL)
    {
      g_test_fail_printf ("%s", slow.failure != NULL ? slow.failure
                                                     : "the slow client never connected to the listener");
      g_free (slow.failure);
      g_free (slow.authorize_uri);
      fake_browser_clear (&browser);
      herald_oauth_sign_out_sync (account, NULL, NULL);
      return;
    }

  g_assert_no_error (error);
  g_assert_true (ok);
  g_assert_true (slow.dropped);
  g_assert_cmpint (slow.dropped_after_us, <, 10 * G_USEC_PER_SEC);
  g_assert_cmpint (elapsed, <, 15 * G_USEC_PER_SEC);
  g_assert_cmpuint (browser.status, ==, 200);
  g_assert_cmpuint (fake_idp_get_n_code_exchanges (idp), ==, 1);
  g_free (slow.authorize_uri);
  fake_browser_clear (&browser);
  g_assert_true (herald_oauth_sign_out_sync (account, NULL, NULL));
}

static void
test_google_browser (void)
{
  g_autoptr(FakeIdp) idp = fake_idp_new ();
  g_autoptr(HeraldOAuthAccount) account = herald_oauth_account_new (HERALD_OAUTH_PROVIDER_GOOGLE,
                                                                    "alerts@gmail.example");
  g_autoptr(HeraldOAuthTokens) tokens = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *redirect = NULL;
  g_autofree char *access_type = NULL;
  g_autofree char *token = NULL;
  g_autofree char *rotated = NULL;

  account->client_id = g_strdup (FAKE_IDP_CLIENT_ID);
  account->client_secret = g_strdup (FAKE_IDP_GOOGLE_SECRET);
  account->authority = g_strdup (fake_idp_get_base_url (idp));

  sign_in_with_browser (idp, account);
  redirect = fake_idp_get_authorize_param (idp, "redirect_uri");
  g_assert_true (g_str_has_prefix (redirect, "http://127.0.0.1:"));
  access_type = fake_idp_get_authorize_param (idp, "access_type");
  g_assert_cmpstr (access_type, ==, "offline");

  /* The client secret is kept with the tokens, so a refresh works from the
   * settings alone (which never hold it). */
  tokens = stored_tokens (account);
  g_assert_cmpstr (tokens->client_secret, ==, FAKE_IDP_GOOGLE_SECRET);
  tokens->expires_at = g_get_real_time () / G_USEC_PER_SEC + 5;
  g_assert_true (herald_oauth_tokens_store_sync ("google", account->account, account->client_id, tokens,
                                                 NULL, &error));
  g_clear_pointer (&account->client_secret, g_free);
  token = herald_oauth_get_access_token_sync (account, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (fake_idp_get_n_refreshes (idp), ==, 1);
  rotated = fake_idp_get_current_access_token (idp);
  g_assert_cmpstr (token, ==, rotated);

  /* No device flow for the mail scope at Google. */
  g_assert_false (herald_oauth_sign_in_device_sync (account, NULL, NULL, NULL, &error));
  g_assert_error (error, HERALD_OAUTH_ERROR, HERALD_OAUTH_ERROR_UNSUPPORTED);

  g_assert_true (herald_oauth_sign_out_sync (account, NULL, NULL));
}

/* ---------------------------------------------------------------------------
 * Refresh.
 * ------------------------------------------------------------------------- */

static void
test_refresh_rotation (void)
{
  g_autoptr(FakeIdp) idp = fake_idp_new ();
  g_autoptr(HeraldOAuthAccount) account = ms_account (idp, "refresh@contoso.example");
  g_autoptr(HeraldOAuthTokens) tokens = NULL;
  g_autoptr(HeraldOAuthTokens) after = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *first = NULL;
  g_autofree char *cached = NULL;
  g_autofree char *refreshed = NULL;
  g_autofree char *issued = NULL;
  g_autofree char *old_refresh = NULL;
  g_autofree char *sent_refresh = NULL;

  sign_in_with_browser (idp, account);
  first = fake_idp_get_current_access_token (idp);

  /* Plenty of time left: the cached token, no request. */
  cached = herald_oauth_get_access_token_sync (account, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (cached, ==, first);
  g_assert_cmpuint (fake_idp_get_n_refreshes (idp), ==, 0);

  /* 59 seconds left: below the 60-second margin, so it refreshes. */
  tokens = stored_tokens (account);
  old_refresh = g_strdup (tokens->refresh_token);
  tokens->expires_at = g_get_real_time () / G_USEC_PER_SEC + 59;
  g_assert_true (herald_oauth_tokens_store_sync ("microsoft", account->account, account->client_id, tokens,
                                                 NULL, &error));
  refreshed = herald_oauth_get_access_token_sync (account, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (fake_idp_get_n_refreshes (idp), ==, 1);
  sent_refresh = fake_idp_get_token_param (idp, "refresh_token");
  g_assert_cmpstr (sent_refresh, ==, old_refresh);
  issued = fake_idp_get_current_access_token (idp);
  g_assert_cmpstr (refreshed, ==, issued);
  g_assert_cmpstr (refreshed, !=, first);

  /* The rotated refresh token replaced the old one in the keyring (the
   * stand-in accepts only the newest). */
  after = stored_tokens (account);
  g_assert_cmpstr (after->refresh_token, !=, old_refresh);
  {
    g_autofree char *current = fake_idp_get_current_refresh_token (idp);
    g_assert_cmpstr (after->refresh_token, ==, current);
  }
  g_assert_cmpint (after->expires_at, >, g_get_real_time () / G_USEC_PER_SEC + 3500);

  /* 61 seconds left: still good. */
  after->expires_at = g_get_real_time () / G_USEC_PER_SEC + 61;
  g_assert_true (herald_oauth_tokens_store_sync ("microsoft", account->account, account->client_id, after,
                                                 NULL, &error));
  g_clear_pointer (&cached, g_free);
  cached = herald_oauth_get_access_token_sync (account, NULL, &error);
  g_assert_cmpstr (cached, ==, issued);
  g_assert_cmpuint (fake_idp_get_n_refreshes (idp), ==, 1);

  /* Forced refresh (after a 535 5.7.3) works with the rotated token. */
  g_clear_pointer (&refreshed, g_free);
  refreshed = herald_oauth_refresh_access_token_sync (account, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (fake_idp_get_n_refreshes (idp), ==, 2);

  g_assert_true (herald_oauth_sign_out_sync (account, NULL, NULL));
}

static void
test_refresh_invalid_grant (void)
{
  g_autoptr(FakeIdp) idp = fake_idp_new ();
  g_autoptr(HeraldOAuthAccount) account = ms_account (idp, "revoked@contoso.example");
  g_autoptr(HeraldOAuthTokens) tokens = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *token = NULL;

  sign_in_with_browser (idp, account);
  fake_idp_revoke_all (idp);
  token = herald_oauth_refresh_access_token_sync (account, NULL, &error);
  g_assert_null (token);
  g_assert_error (error, HERALD_OAUTH_ERROR, HERALD_OAUTH_ERROR_SIGN_IN_AGAIN);
  g_assert_nonnull (strstr (error->message, "sign in again"));
  g_assert_nonnull (strstr (error->message, "AADSTS700082"));
  g_assert_cmpuint (herald_oauth_error_get_aadsts (error), ==, 700082);
  assert_diagnosed (error, "oauth-sign-in-again");
  /* Only the first line of Microsoft's description: no trace IDs on new lines. */
  g_assert_null (strchr (error->message, '\n'));

  /* The dead tokens are gone: next time it says "not signed in". */
  tokens = stored_tokens (account);
  g_assert_null (tokens);
  g_clear_error (&error);
  token = herald_oauth_get_access_token_sync (account, NULL, &error);
  g_assert_error (error, HERALD_OAUTH_ERROR, HERALD_OAUTH_ERROR_NOT_SIGNED_IN);
}

static void
test_token_endpoint_aadsts (void)
{
  g_autoptr(FakeIdp) idp = fake_idp_new ();
  g_autoptr(HeraldOAuthAccount) account = ms_account (idp, "consent@contoso.example");
  g_autoptr(GError) error = NULL;
  FakeBrowser browser = { 0 };

  fake_idp_set_token_error (idp, "{\"error\":\"invalid_grant\",\"error_description\":\"AADSTS65001: The user "
                                 "or administrator has not consented to use the application with ID 'x'.\\r\\n"
                                 "Trace ID: 1\",\"error_codes\":[65001]}");
  herald_oauth_set_browser_func (fake_browser_open, &browser);
  g_assert_false (herald_oauth_sign_in_browser_sync (account, NULL, &error));
  fake_browser_clear (&browser);
  herald_oauth_set_browser_func (NULL, NULL);
  g_assert_error (error, HERALD_OAUTH_ERROR, HERALD_OAUTH_ERROR_CONSENT_REQUIRED);
  g_assert_nonnull (strstr (error->message, "AADSTS65001: The user or administrator has not consented"));
  g_assert_cmpuint (herald_oauth_error_get_aadsts (error), ==, 65001);
  assert_diagnosed (error, "oauth-consent-required");
}

/* Hostile or broken replies from the identity provider: a clear error, no
 * crash, nothing stored. */
static void
test_bad_token_replies (void)
{
  static const struct {
    guint status;
    const char *body;
  } cases[] = {
    { 200, "{\"access_token\":123,\"refresh_token\":{},\"expires_in\":\"abc\"}" },
    { 200, "{\"token_type\":\"Bearer\"}" },
    { 200, "{\"access_token\":\"a b\\r\\nc\",\"refresh_token\":\"r\"}" },
    { 200, "{\"access_token\":\"" FAKE_IDP_TOKEN_PREFIX "-x\",\"token_type\":\"mac\",\"refresh_token\":\"r\"}" },
    { 200, "{\"access_token\":\"" FAKE_IDP_TOKEN_PREFIX "-y\",\"token_type\":\"Bearer\"}" },
    { 200, "not json at all" },
    { 200, "[\"array\"]" },
    { 200, "" },
    { 500, "<html>Internal error</html>" },
    { 400, "{\"error\":42}" },
    { 400, "{\"error\":\"weird\\r\\ninjected\",\"error_description\":\"line1\\nline2\\u0007\"}" },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr(FakeIdp) idp = fake_idp_new ();
      g_autoptr(HeraldOAuthAccount) account = ms_account (idp, "broken@contoso.example");
      g_autoptr(HeraldOAuthTokens) tokens = NULL;
      g_autoptr(GError) error = NULL;

      herald_oauth_set_poll_unit_ms (5);
      fake_idp_set_token_reply (idp, cases[i].status, cases[i].body);
      g_assert_false (herald_oauth_sign_in_device_sync (account, NULL, NULL, NULL, &error));
      g_test_message ("case %u: %s", i, error->message);
      g_assert_true (error->domain == HERALD_OAUTH_ERROR);
      g_assert_null (strchr (error->message, '\n'));
      g_assert_null (strchr (error->message, '\r'));
      g_assert_null (strchr (error->message, '\a'));
      g_assert_null (strstr (error->message, FAKE_IDP_TOKEN_PREFIX));
      tokens = stored_tokens (account);
      g_assert_null (tokens);
      herald_oauth_set_poll_unit_ms (0);
    }
}

/* A reply over the cap (256 KiB) is refused with a clear error and nothing
 * is stored. (That it is never buffered whole is the reader's design, not
 * something this test can see.) */
static void
test_oversized_token_reply (void)
{
  g_autoptr(FakeIdp) idp = fake_idp_new ();
  g_autoptr(HeraldOAuthAccount) account = ms_account (idp, "huge@contoso.example");
  g_autoptr(HeraldOAuthTokens) tokens = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GString) body = g_string_new ("{\"access_token\":\"");

  while (body->len < 1024 * 1024)
    g_string_append (body, "0123456789abcdef");
  g_string_append (body, "\"}");

  herald_oauth_set_poll_unit_ms (5);
  fake_idp_set_token_reply (idp, 200, body->str);
  g_assert_false (herald_oauth_sign_in_device_sync (account, NULL, NULL, NULL, &error));
  g_assert_error (error, HERALD_OAUTH_ERROR, HERALD_OAUTH_ERROR_PROTOCOL);
  g_assert_nonnull (strstr (error->message, "oversized"));
  tokens = stored_tokens (account);
  g_assert_null (tokens);
  herald_oauth_set_poll_unit_ms (0);
}

/* An identity provider that sends its reply a byte every delay_ms (each
 * read well inside libsoup's 30 s timeout): a raw loopback HTTP server in
 * its own thread, one connection. */
typedef struct {
  GSocketListener *listener;
  GCancellable *cancellable;
  GThread *thread;
  guint16 port;
  char *reply;            /* status line and headers, then the body */
  guint delay_ms;
  gint stop;              /* atomic */
} DripServer;

static gpointer
drip_server_thread (gpointer user_data)
{
  DripServer *srv = user_data;
  g_autoptr(GSocketConnection) connection = NULL;
  GSocket *socket;
  char buf[4096];
  gsize head_end;

  connection = g_socket_listener_accept (srv->listener, NULL, srv->cancellable, NULL);
  if (connection == NULL)
    return NULL;
  socket = g_socket_connection_get_socket (connection);

  /* Whatever the request is, wait until some of it arrived, then answer. */
  g_socket_set_timeout (socket, 10);
  g_socket_receive (socket, buf, sizeof buf, srv->cancellable, NULL);

  /* Headers at once, the body dripped. */
  head_end = strstr (srv->reply, "\r\n\r\n") - srv->reply + 4;
  if (g_socket_send (socket, srv->reply, head_end, srv->cancellable, NULL) < 0)
    return NULL;
  for (const char *p = srv->reply + head_end; *p != '\0' && !g_atomic_int_get (&srv->stop); p++)
    {
      g_usleep (srv->delay_ms * 1000);
      if (g_socket_send (socket, p, 1, srv->cancellable, NULL) < 0)
        break;
    }
  g_io_stream_close (G_IO_STREAM (connection), NULL, NULL);

  return NULL;
}

static DripServer *
drip_server_start (guint       status,
                   const char *body,
                   guint       delay_ms)
{
  DripServer *srv = g_new0 (DripServer, 1);
  g_autoptr(GInetAddress) loopback = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  g_autoptr(GSocketAddress) address = g_inet_socket_address_new (loopback, 0);
  g_autoptr(GSocketAddress) bound = NULL;
  g_autoptr(GError) error = NULL;

  srv->listener = g_socket_listener_new ();
  srv->cancellable = g_cancellable_new ();
  g_socket_listener_add_address (srv->listener, address, G_SOCKET_TYPE_STREAM, G_SOCKET_PROTOCOL_TCP,
                                 NULL, &bound, &error);
  g_assert_no_error (error);
  srv->port = g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (bound));
  srv->reply = g_strdup_printf ("HTTP/1.1 %u Whatever\r\nContent-Type: application/json\r\n"
                                "Content-Length: %" G_GSIZE_FORMAT "\r\nConnection: close\r\n\r\n%s",
                                status, strlen (body), body);
  srv->delay_ms = delay_ms;
  srv->thread = g_thread_new ("drip-idp", drip_server_thread, srv);

  return srv;
}

static void
drip_server_free (DripServer *srv)
{
  g_atomic_int_set (&srv->stop, TRUE);
  g_cancellable_cancel (srv->cancellable);
  g_socket_listener_close (srv->listener);
  g_thread_join (srv->thread);
  g_object_unref (srv->listener);
  g_object_unref (srv->cancellable);
  g_free (srv->reply);
  g_free (srv);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (DripServer, drip_server_free)

typedef struct {
  HeraldOAuthAccount *account;
  GCancellable *cancellable;
  GMutex mutex;
  GCond cond;
  gboolean done;
  gboolean ok;
  GError *error;
} DeviceRun;

static gpointer
device_run_thread (gpointer user_data)
{
  DeviceRun *run = user_data;
  GError *error = NULL;
  gboolean ok = herald_oauth_sign_in_device_sync (run->account, NULL, NULL, run->cancellable, &error);

  g_mutex_lock (&run->mutex);
  run->ok = ok;
  run->error = error;
  run->done = TRUE;
  g_cond_signal (&run->cond);
  g_mutex_unlock (&run->mutex);

  return NULL;
}

/* A device sign-in against the dripping endpoint, cancelled after
 * max_seconds if it has not ended by then (so a missing deadline fails the
 * test instead of hanging it). */
static gboolean
device_sign_in_bounded (HeraldOAuthAccount  *account,
                        guint                max_seconds,
                        gint64              *elapsed_us,
                        GError             **error)
{
  DeviceRun run = { 0 };
  gint64 start = g_get_monotonic_time ();
  gint64 end = start + (gint64) max_seconds * G_USEC_PER_SEC;
  GThread *thread;

  run.account = account;
  run.cancellable = g_cancellable_new ();
  g_mutex_init (&run.mutex);
  g_cond_init (&run.cond);
  thread = g_thread_new ("device-sign-in", device_run_thread, &run);

  g_mutex_lock (&run.mutex);
  while (!run.done)
    if (!g_cond_wait_until (&run.cond, &run.mutex, end))
      break;
  g_mutex_unlock (&run.mutex);
  g_cancellable_cancel (run.cancellable);
  g_thread_join (thread);
  *elapsed_us = g_get_monotonic_time () - start;

  g_object_unref (run.cancellable);
  g_mutex_clear (&run.mutex);
  g_cond_clear (&run.cond);
  if (run.error != NULL)
    g_propagate_error (error, run.error);

  return run.ok;
}

/* The reply timeout of libsoup is per read: a dripping endpoint must still be
 * cut off at the request's deadline (2 s here), with a timeout error; a reply
 * that is slow but complete within the deadline is read and judged as usual. */
static void
test_slow_drip_reply (void)
{
  g_autoptr(GError) error = NULL;
  gint64 elapsed;

  _herald_oauth_set_http_deadline_ms (2000);

  /* 300 bytes, one every 200 ms: a minute, far past the deadline. */
  {
    g_autoptr(GString) body = g_string_new ("{\"device_code\":\"");
    g_autoptr(DripServer) srv = NULL;
    g_autoptr(HeraldOAuthAccount) account = NULL;

    while (body->len < 300)
      g_string_append_c (body, 'x');
    g_string_append (body, "\"}");
    srv = drip_server_start (200, body->str, 200);
    account = herald_oauth_account_new (HERALD_OAUTH_PROVIDER_MICROSOFT, "drip@contoso.example");
    account->client_id = g_strdup (FAKE_IDP_CLIENT_ID);
    account->tenant = g_strdup (FAKE_IDP_TENANT);
    account->authority = g_strdup_printf ("http://127.0.0.1:%u/" FAKE_IDP_TENANT, srv->port);

    g_assert_false (device_sign_in_bounded (account, 20, &elapsed, &error));
    g_test_message ("dripping reply: %" G_GINT64_FORMAT " ms: %s", elapsed / 1000,
                    error ? error->message : "no error");
    g_assert_error (error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT);
    g_assert_nonnull (strstr (error->message, "within 2 seconds"));
    g_assert_cmpint (elapsed, >=, 1900 * 1000);
    g_assert_cmpint (elapsed, <, 8 * G_USEC_PER_SEC);
    g_clear_error (&error);
  }

  /* An error reply dripped over about one second: complete in time. */
  {
    g_autoptr(DripServer) srv = drip_server_start (400, "{\"error\":\"slow_but_complete\"}", 35);
    g_autoptr(HeraldOAuthAccount) account = NULL;

    account = herald_oauth_account_new (HERALD_OAUTH_PROVIDER_MICROSOFT, "drip@contoso.example");
    account->client_id = g_strdup (FAKE_IDP_CLIENT_ID);
    account->tenant = g_strdup (FAKE_IDP_TENANT);
    account->authority = g_strdup_printf ("http://127.0.0.1:%u/" FAKE_IDP_TENANT, srv->port);

    g_assert_false (device_sign_in_bounded (account, 20, &elapsed, &error));
    g_test_message ("slow complete reply: %" G_GINT64_FORMAT " ms: %s", elapsed / 1000,
                    error ? error->message : "no error");
    g_assert_nonnull (error);
    g_assert_true (error->domain == HERALD_OAUTH_ERROR);
    g_assert_nonnull (strstr (error->message, "slow_but_complete"));
  }

  _herald_oauth_set_http_deadline_ms (0);
}

static void
test_wrong_tenant (void)
{
  g_autoptr(FakeIdp) idp = fake_idp_new ();
  g_autoptr(HeraldOAuthAccount) account = ms_account (idp, "tenant@contoso.example");
  g_autoptr(GError) error = NULL;

  g_free (account->authority);
  account->authority = g_strdup_printf ("%s/nosuch.example", fake_idp_get_base_url (idp));
  g_assert_false (herald_oauth_sign_in_device_sync (account, NULL, NULL, NULL, &error));
  g_assert_error (error, HERALD_OAUTH_ERROR, HERALD_OAUTH_ERROR_TENANT_NOT_FOUND);
  g_assert_cmpuint (herald_oauth_error_get_aadsts (error), ==, 90002);
  assert_diagnosed (error, "oauth-tenant-not-found");
}

/* ---------------------------------------------------------------------------
 * Device flow.
 * ------------------------------------------------------------------------- */

typedef struct {
  char *uri;
  char *code;
  char *message;
  guint calls;
} DeviceCodeSeen;

static void
device_code_cb (const char *verification_uri,
                const char *user_code,
                const char *message,
                gpointer    user_data)
{
  DeviceCodeSeen *seen = user_data;

  seen->calls++;
  g_free (seen->uri);
  g_free (seen->code);
  g_free (seen->message);
  seen->uri = g_strdup (verification_uri);
  seen->code = g_strdup (user_code);
  seen->message = g_strdup (message);
}

static void
device_code_seen_clear (DeviceCodeSeen *seen)
{
  g_free (seen->uri);
  g_free (seen->code);
  g_free (seen->message);
}

#define POLL_UNIT_MS 40

static void
test_device_success (void)
{
  g_autoptr(FakeIdp) idp = fake_idp_new ();
  g_autoptr(HeraldOAuthAccount) account = ms_account (idp, "device@contoso.example");
  g_autoptr(HeraldOAuthTokens) tokens = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GArray) polls = NULL;
  g_autofree char *link = NULL;
  g_autofree char *issued = NULL;
  DeviceCodeSeen seen = { 0 };
  gint64 gap;

  herald_oauth_set_poll_unit_ms (POLL_UNIT_MS);
  fake_idp_set_device_script (idp, "authorization_pending,slow_down,authorization_pending,ok", 2, 900);
  g_assert_true (herald_oauth_sign_in_device_sync (account, device_code_cb, &seen, NULL, &error));
  g_assert_no_error (error);

  g_assert_cmpuint (seen.calls, ==, 1);
  g_assert_cmpstr (seen.code, ==, "ABCD-EFGH");
  link = g_strdup_printf ("%s/link", fake_idp_get_base_url (idp));
  g_assert_cmpstr (seen.uri, ==, link);
  g_assert_nonnull (strstr (seen.message, "ABCD-EFGH"));

  /* Four polls: the interval (2 units) honoured, then +5 after slow_down. */
  polls = fake_idp_get_poll_times (idp);
  g_assert_cmpuint (polls->len, ==, 4);
  gap = (g_array_index (polls, gint64, 1) - g_array_index (polls, gint64, 0)) / 1000;
  g_assert_cmpint (gap, >=, 2 * POLL_UNIT_MS);
  g_assert_cmpint (gap, <, 6 * POLL_UNIT_MS);   /* not yet slowed down */
  gap = (g_array_index (polls, gint64, 2) - g_array_index (polls, gint64, 1)) / 1000;
  g_assert_cmpint (gap, >=, 7 * POLL_UNIT_MS);
  gap = (g_array_index (polls, gint64, 3) - g_array_index (polls, gint64, 2)) / 1000;
  g_assert_cmpint (gap, >=, 7 * POLL_UNIT_MS);

  tokens = stored_tokens (account);
  issued = fake_idp_get_current_access_token (idp);
  g_assert_cmpstr (tokens->access_token, ==, issued);

  g_assert_true (herald_oauth_sign_out_sync (account, NULL, NULL));
  device_code_seen_clear (&seen);
  herald_oauth_set_poll_unit_ms (0);
}

static void
check_device_failure (const char           *script,
                      int                   expires_in,
                      HeraldOAuthErrorCode  expected,
                      const char           *needle,
                      const char           *rule)
{
  g_autoptr(FakeIdp) idp = fake_idp_new ();
  g_autoptr(HeraldOAuthAccount) account = ms_account (idp, "devfail@contoso.example");
  g_autoptr(HeraldOAuthTokens) tokens = NULL;
  g_autoptr(GError) error = NULL;
  DeviceCodeSeen seen = { 0 };

  herald_oauth_set_poll_unit_ms (POLL_UNIT_MS);
  fake_idp_set_device_script (idp, script, 1, expires_in);
  g_assert_false (herald_oauth_sign_in_device_sync (account, device_code_cb, &seen, NULL, &error));
  g_assert_error (error, HERALD_OAUTH_ERROR, (int) expected);
  if (needle != NULL)
    g_assert_nonnull (strstr (error->message, needle));
  assert_diagnosed (error, rule);
  g_assert_cmpuint (seen.calls, ==, 1);
  tokens = stored_tokens (account);
  g_assert_null (tokens);
  device_code_seen_clear (&seen);
  herald_oauth_set_poll_unit_ms (0);
}

/* The identity provider's error text reaches the window, heraldctl and
 * JSON through the same printable filter as every server's text: no escape
 * sequence, C1 control or bidi override survives. */
static void
test_error_hostile_text (void)
{
  static const char json[] =
    "{\"error\":\"invalid_grant\\u001b]0;t\\u0007\",\"error_description\":\"AADSTS70000: "
    "bad \\u001b[2J grant \\u009b31m \\u202eexe.txt \\u2028 end\\nsecond line\"}";
  g_autoptr(GBytes) body = g_bytes_new_static (json, strlen (json));
  g_autoptr(GError) error = _herald_oauth_error_from_reply (400, body);

  g_assert_nonnull (error);
  g_test_message ("%s", error->message);
  g_assert_true (g_utf8_validate (error->message, -1, NULL));
  for (const char *p = error->message; *p != '\0'; p = g_utf8_next_char (p))
    {
      gunichar c = g_utf8_get_char (p);

      g_assert_false (c < 0x20 || (c >= 0x7f && c <= 0x9f) || (c >= 0x2028 && c <= 0x202e));
    }
  g_assert_nonnull (strstr (error->message, "AADSTS70000: bad ?[2J grant ?31m ?exe.txt ? end"));
  g_assert_null (strstr (error->message, "second line"));
  g_assert_cmpuint (herald_oauth_error_get_aadsts (error), ==, 70000);
}

static void
test_bad_devicecode_replies (void)
{
  static const char *bodies[] = {
    "{}",
    "{\"device_code\":\"d\",\"user_code\":\"U\",\"verification_uri\":\"javascript:alert(1)\"}",
    "{\"device_code\":\"d\",\"user_code\":\"AB\\u001b[2JCD\",\"verification_uri\":\"https://x.example/link\"}",
    /* A right-to-left override or a C1 control would make the address or
     * the code read differently from what it is. */
    "{\"device_code\":\"d\",\"user_code\":\"AB\",\"verification_uri\":\"https://x.example/\\u202eknil\"}",
    "{\"device_code\":\"d\",\"user_code\":\"AB\\u009bCD\",\"verification_uri\":\"https://x.example/link\"}",
    "{\"device_code\":5,\"user_code\":[],\"verification_uri\":null}",
    "garbage",
  };

  for (guint i = 0; i < G_N_ELEMENTS (bodies); i++)
    {
      g_autoptr(FakeIdp) idp = fake_idp_new ();
      g_autoptr(HeraldOAuthAccount) account = ms_account (idp, "devbroken@contoso.example");
      g_autoptr(GError) error = NULL;
      DeviceCodeSeen seen = { 0 };

      fake_idp_set_devicecode_reply (idp, bodies[i]);
      g_assert_false (herald_oauth_sign_in_device_sync (account, device_code_cb, &seen, NULL, &error));
      g_assert_error (error, HERALD_OAUTH_ERROR, HERALD_OAUTH_ERROR_PROTOCOL);
      /* Nothing dubious is shown to the user. */
      g_assert_cmpuint (seen.calls, ==, 0);
      device_code_seen_clear (&seen);
    }
}

static void
test_device_declined (void)
{
  /* The OAuth code stays in the message for the diagnosis rules. */
  check_device_failure ("authorization_pending,authorization_declined", 900, HERALD_OAUTH_ERROR_DECLINED,
                        "(authorization_declined)", "oauth-declined");
  check_device_failure ("access_denied", 900, HERALD_OAUTH_ERROR_DECLINED, "(access_denied)",
                        "oauth-declined");
}

static void
test_device_expired (void)
{
  /* The server says so... */
  check_device_failure ("authorization_pending,expired_token", 900, HERALD_OAUTH_ERROR_EXPIRED, "(expired_token)",
                        "oauth-device-code-expired");
  /* ...or the code's lifetime runs out while it keeps saying "pending". */
  check_device_failure ("authorization_pending", 3, HERALD_OAUTH_ERROR_EXPIRED, "(expired_token)",
                        "oauth-device-code-expired");
}

static void
test_device_public_client (void)
{
  check_device_failure ("public_client", 900, HERALD_OAUTH_ERROR_PUBLIC_CLIENT_NOT_ALLOWED,
                        "AADSTS7000218: The request body must contain", "oauth-public-client-flows-off");
}

typedef struct {
  GMainLoop *loop;
  gboolean ok;
  GError *error;
  DeviceCodeSeen seen;
  GThread *main_thread;
  gboolean code_in_main_thread;
  gboolean destroyed;
} AsyncData;

static void
async_code_cb (const char *verification_uri,
               const char *user_code,
               const char *message,
               gpointer    user_data)
{
  AsyncData *data = user_data;

  data->code_in_main_thread = g_thread_self () == data->main_thread;
  device_code_cb (verification_uri, user_code, message, &data->seen);
}

static void
async_destroy_cb (gpointer user_data)
{
  AsyncData *data = user_data;

  data->destroyed = TRUE;
}

static void
device_done_cb (GObject      *source,
                GAsyncResult *result,
                gpointer      user_data)
{
  AsyncData *data = user_data;

  data->ok = herald_oauth_sign_in_device_finish (result, &data->error);
  g_main_loop_quit (data->loop);
}

static void
token_done_cb (GObject      *source,
               GAsyncResult *result,
               gpointer      user_data)
{
  AsyncData *data = user_data;
  char *token = herald_oauth_get_access_token_finish (result, &data->error);

  data->ok = token != NULL;
  g_free (token);
  g_main_loop_quit (data->loop);
}

static void
test_async (void)
{
  g_autoptr(FakeIdp) idp = fake_idp_new ();
  g_autoptr(HeraldOAuthAccount) account = ms_account (idp, "async@contoso.example");
  AsyncData data = { 0 };

  data.loop = g_main_loop_new (NULL, FALSE);
  data.main_thread = g_thread_self ();
  herald_oauth_set_poll_unit_ms (POLL_UNIT_MS);
  fake_idp_set_device_script (idp, "authorization_pending,ok", 1, 900);
  herald_oauth_sign_in_device_async (account, async_code_cb, &data, async_destroy_cb, NULL,
                                     device_done_cb, &data);
  g_main_loop_run (data.loop);
  g_assert_no_error (data.error);
  g_assert_true (data.ok);
  /* The code is shown from the caller's thread (the GTK thread in the window). */
  g_assert_true (data.code_in_main_thread);
  g_assert_cmpstr (data.seen.code, ==, "ABCD-EFGH");
  while (!data.destroyed)
    g_main_context_iteration (NULL, TRUE);

  data.ok = FALSE;
  herald_oauth_get_access_token_async (account, NULL, token_done_cb, &data);
  g_main_loop_run (data.loop);
  g_assert_no_error (data.error);
  g_assert_true (data.ok);

  g_assert_true (herald_oauth_sign_out_sync (account, NULL, NULL));
  device_code_seen_clear (&data.seen);
  g_main_loop_unref (data.loop);
  herald_oauth_set_poll_unit_ms (0);
}

static void
keep_result_cb (GObject      *source,
                GAsyncResult *result,
                gpointer      user_data)
{
  GAsyncResult **out = user_data;

  *out = g_object_ref (result);
}

static GAsyncResult *
wait_result (GAsyncResult **slot)
{
  while (*slot == NULL)
    g_main_context_iteration (NULL, TRUE);

  return *slot;
}

/* Each _finish takes only the result of its own _async: a result of another
 * OAuth function is refused with a critical (it could otherwise read a
 * boolean as a token, or a token as a boolean). */
static void
test_finish_checks_source_tag (void)
{
  g_autoptr(HeraldOAuthAccount) account = herald_oauth_account_new (HERALD_OAUTH_PROVIDER_MICROSOFT,
                                                                    "tags@contoso.example");
  g_autoptr(GAsyncResult) signed_in = NULL;
  g_autoptr(GAsyncResult) signed_out = NULL;
  g_autoptr(GError) error = NULL;

  account->client_id = g_strdup ("tag-client");
  herald_oauth_is_signed_in_async (account, NULL, keep_result_cb, &signed_in);
  herald_oauth_sign_out_async (account, NULL, keep_result_cb, &signed_out);
  wait_result (&signed_in);
  wait_result (&signed_out);

  g_test_expect_message ("herald-oauth", G_LOG_LEVEL_CRITICAL,
                         "*herald_oauth_sign_out_finish*herald_oauth_sign_out_async*");
  g_assert_false (herald_oauth_sign_out_finish (signed_in, &error));
  g_test_assert_expected_messages ();

  g_test_expect_message ("herald-oauth", G_LOG_LEVEL_CRITICAL,
                         "*herald_oauth_sign_in_browser_finish*herald_oauth_sign_in_browser_async*");
  g_assert_false (herald_oauth_sign_in_browser_finish (signed_in, &error));
  g_test_assert_expected_messages ();

  g_test_expect_message ("herald-oauth", G_LOG_LEVEL_CRITICAL,
                         "*herald_oauth_sign_in_device_finish*herald_oauth_sign_in_device_async*");
  g_assert_false (herald_oauth_sign_in_device_finish (signed_in, &error));
  g_test_assert_expected_messages ();

  g_test_expect_message ("herald-oauth", G_LOG_LEVEL_CRITICAL,
                         "*herald_oauth_get_access_token_finish*herald_oauth_get_access_token_async*");
  g_assert_null (herald_oauth_get_access_token_finish (signed_in, &error));
  g_test_assert_expected_messages ();

  g_test_expect_message ("herald-oauth", G_LOG_LEVEL_CRITICAL,
                         "*herald_oauth_is_signed_in_finish*herald_oauth_is_signed_in_async*");
  g_assert_false (herald_oauth_is_signed_in_finish (signed_out, &error));
  g_test_assert_expected_messages ();
  g_assert_no_error (error);

  /* Their own results still go through. */
  g_assert_true (herald_oauth_sign_out_finish (signed_out, &error));
  g_assert_no_error (error);
  g_assert_false (herald_oauth_is_signed_in_finish (signed_in, &error));
  g_assert_no_error (error);
}

/* ---------------------------------------------------------------------------
 * Settings and the keyring.
 * ------------------------------------------------------------------------- */

static void
test_settings_round_trip (void)
{
  g_autoptr(GSettings) settings = g_settings_new ("io.github.heraldmail.Herald");
  g_autoptr(HeraldOAuthAccount) account = herald_oauth_account_new (HERALD_OAUTH_PROVIDER_GOOGLE,
                                                                    "alerts@gmail.example");
  g_autoptr(HeraldOAuthAccount) loaded = NULL;
  g_autofree char *tenant = NULL;

  account->client_id = g_strdup ("123-abc.apps.googleusercontent.com");
  account->client_secret = g_strdup ("GOCSPX-not-for-settings");
  account->authority = g_strdup ("https://accounts.google.com");
  herald_oauth_account_save_to_settings (account, settings);

  loaded = herald_oauth_account_new_from_settings (settings);
  g_assert_cmpint (loaded->provider, ==, HERALD_OAUTH_PROVIDER_GOOGLE);
  g_assert_cmpstr (loaded->client_id, ==, account->client_id);
  g_assert_cmpstr (loaded->account, ==, "alerts@gmail.example");
  g_assert_cmpstr (loaded->authority, ==, "https://accounts.google.com");
  /* The secret stays out of GSettings. */
  g_assert_null (loaded->client_secret);
  tenant = g_settings_get_string (settings, "oauth-tenant");
  g_assert_cmpstr (tenant, ==, "organizations");
}

static void
test_keyring_round_trip (void)
{
  g_autoptr(HeraldOAuthTokens) tokens = herald_oauth_tokens_new ();
  g_autoptr(HeraldOAuthTokens) back = NULL;
  g_autoptr(HeraldOAuthTokens) other = NULL;
  g_autoptr(GError) error = NULL;

  tokens->refresh_token = g_strdup (FAKE_IDP_TOKEN_PREFIX "-rt-keyring");
  tokens->access_token = g_strdup (FAKE_IDP_TOKEN_PREFIX "-at-keyring");
  tokens->expires_at = 1234567890123;
  g_assert_true (herald_oauth_tokens_store_sync ("microsoft", "kr@contoso.example", "client-a", tokens,
                                                 NULL, &error));
  g_assert_no_error (error);

  back = herald_oauth_tokens_lookup_sync ("microsoft", "kr@contoso.example", "client-a", NULL, &error);
  g_assert_no_error (error);
  g_assert_nonnull (back);
  g_assert_cmpstr (back->refresh_token, ==, tokens->refresh_token);
  g_assert_cmpstr (back->access_token, ==, tokens->access_token);
  g_assert_cmpint (back->expires_at, ==, 1234567890123);
  g_assert_null (back->client_secret);

  /* Keyed by provider, account and client ID. */
  other = herald_oauth_tokens_lookup_sync ("microsoft", "kr@contoso.example", "client-b", NULL, &error);
  g_assert_no_error (error);
  g_assert_null (other);
  other = herald_oauth_tokens_lookup_sync ("google", "kr@contoso.example", "client-a", NULL, &error);
  g_assert_null (other);
  other = herald_oauth_tokens_lookup_sync ("microsoft", "other@contoso.example", "client-a", NULL, &error);
  g_assert_null (other);

  /* Overwrite, then clear (twice: clearing nothing is fine). */
  g_free (tokens->refresh_token);
  tokens->refresh_token = g_strdup (FAKE_IDP_TOKEN_PREFIX "-rt-keyring-2");
  g_assert_true (herald_oauth_tokens_store_sync ("microsoft", "kr@contoso.example", "client-a", tokens,
                                                 NULL, &error));
  g_clear_pointer (&back, herald_oauth_tokens_free);
  back = herald_oauth_tokens_lookup_sync ("microsoft", "kr@contoso.example", "client-a", NULL, &error);
  g_assert_cmpstr (back->refresh_token, ==, FAKE_IDP_TOKEN_PREFIX "-rt-keyring-2");
  g_assert_true (herald_oauth_tokens_clear_sync ("microsoft", "kr@contoso.example", "client-a", NULL, &error));
  g_assert_true (herald_oauth_tokens_clear_sync ("microsoft", "kr@contoso.example", "client-a", NULL, &error));
  g_assert_no_error (error);
  g_clear_pointer (&back, herald_oauth_tokens_free);
  back = herald_oauth_tokens_lookup_sync ("microsoft", "kr@contoso.example", "client-a", NULL, &error);
  g_assert_null (back);
}

/* Runs last: no token issued in this process may sit in any file under HOME
 * (the throw-away one of the test session), except the keyring's own files. */
static void
test_no_token_in_files (void)
{
  fake_idp_assert_no_token_under_home ();
}

int
main (int    argc,
      char **argv)
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/herald/oauth/pkce/rfc7636-vector", test_pkce_vector);
  g_test_add_func ("/herald/oauth/pkce/random", test_random);
  g_test_add_func ("/herald/oauth/account/endpoints", test_endpoints);
  g_test_add_func ("/herald/oauth/errors/aadsts", test_error_mapping);
  g_test_add_func ("/herald/oauth/errors/hostile-text", test_error_hostile_text);
  g_test_add_func ("/herald/oauth/keyring/round-trip", test_keyring_round_trip);
  g_test_add_func ("/herald/oauth/settings/round-trip", test_settings_round_trip);
  g_test_add_func ("/herald/oauth/browser/microsoft", test_browser_microsoft);
  g_test_add_func ("/herald/oauth/browser/state-mismatch", test_browser_state_mismatch);
  g_test_add_func ("/herald/oauth/browser/loopback-junk", test_browser_junk);
  g_test_add_func ("/herald/oauth/browser/denied", test_browser_denied);
  g_test_add_func ("/herald/oauth/browser/cancel", test_browser_cancel);
  g_test_add_func ("/herald/oauth/browser/slow-local-client", test_browser_slow_local_client);
  g_test_add_func ("/herald/oauth/browser/google", test_google_browser);
  g_test_add_func ("/herald/oauth/token/aadsts65001", test_token_endpoint_aadsts);
  g_test_add_func ("/herald/oauth/token/tenant-not-found", test_wrong_tenant);
  g_test_add_func ("/herald/oauth/token/bad-replies", test_bad_token_replies);
  g_test_add_func ("/herald/oauth/token/oversized-reply", test_oversized_token_reply);
  g_test_add_func ("/herald/oauth/token/slow-drip-reply", test_slow_drip_reply);
  g_test_add_func ("/herald/oauth/device/bad-replies", test_bad_devicecode_replies);
  g_test_add_func ("/herald/oauth/refresh/rotation", test_refresh_rotation);
  g_test_add_func ("/herald/oauth/refresh/invalid-grant", test_refresh_invalid_grant);
  g_test_add_func ("/herald/oauth/device/pending-slow-down-success", test_device_success);
  g_test_add_func ("/herald/oauth/device/declined", test_device_declined);
  g_test_add_func ("/herald/oauth/device/expired", test_device_expired);
  g_test_add_func ("/herald/oauth/device/public-client-not-allowed", test_device_public_client);
  g_test_add_func ("/herald/oauth/async", test_async);
  g_test_add_func ("/herald/oauth/async/finish-checks-source-tag", test_finish_checks_source_tag);
  g_test_add_func ("/herald/oauth/no-token-in-files", test_no_token_in_files);

  return g_test_run ();
}
