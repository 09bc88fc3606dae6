/* SPDX-License-Identifier: GPL-3.0-or-later
 * Copyright 2026 The Herald authors
 */
#define G_LOG_DOMAIN "herald-test"

#include "config.h"

#include <string.h>

#include "herald-oauth.h"
#include "herald-oauth-private.h"

/* The token endpoint's request and reply, without a network: the form every
 * grant builds (herald-oauth-token.c) and the checked reading of a reply,
 * the entry point a fuzzer calls. The flows that use them are tested against
 * the stand-in identity provider in test-oauth.c. */

#define TOKEN_URL "https://login.example/tenant/oauth2/v2.0/token"

static guint
form_size (GHashTable *form)
{
  return g_hash_table_size (form);
}

static const char *
form_get (GHashTable *form,
          const char *key)
{
  return g_hash_table_lookup (form, key);
}

/* A public client's refresh: no client authentication at all. */
static void
test_form_public_client (void)
{
  HeraldOAuthTokenRequest request = {
    .grant_type = HERALD_OAUTH_GRANT_REFRESH_TOKEN,
    .client_id = "client-a",
    .scope = HERALD_OAUTH_MICROSOFT_SCOPE,
    .client_secret = "",
  };
  g_autoptr(GHashTable) form = herald_oauth_token_form_new (&request);

  g_assert_cmpstr (form_get (form, "grant_type"), ==, "refresh_token");
  g_assert_cmpstr (form_get (form, "client_id"), ==, "client-a");
  g_assert_cmpstr (form_get (form, "scope"), ==, HERALD_OAUTH_MICROSOFT_SCOPE);
  /* An empty secret is no secret: never "client_secret=". */
  g_assert_false (g_hash_table_contains (form, "client_secret"));
  g_assert_false (g_hash_table_contains (form, "client_assertion"));
  g_assert_false (g_hash_table_contains (form, "client_assertion_type"));
  g_assert_cmpuint (form_size (form), ==, 3);
}

/* No scope given: no scope parameter (Google's code exchange, the device
 * code poll), not an empty one. */
static void
test_form_no_scope (void)
{
  HeraldOAuthTokenRequest request = {
    .grant_type = HERALD_OAUTH_GRANT_DEVICE_CODE,
    .client_id = "client-b",
  };
  g_autoptr(GHashTable) form = herald_oauth_token_form_new (&request);

  g_assert_cmpstr (form_get (form, "grant_type"), ==,
                   "urn:ietf:params:oauth:grant-type:device_code");
  g_assert_false (g_hash_table_contains (form, "scope"));
  g_assert_cmpuint (form_size (form), ==, 2);
}

/* Client credentials with a secret and a scope of the caller's choice. */
static void
test_form_client_secret (void)
{
  HeraldOAuthTokenRequest request = {
    .grant_type = HERALD_OAUTH_GRANT_CLIENT_CREDENTIALS,
    .client_id = "client-c",
    .scope = "https://graph.example/.default",
    .client_secret = "s3cret~value",
  };
  g_autoptr(GHashTable) form = herald_oauth_token_form_new (&request);

  g_assert_cmpstr (form_get (form, "grant_type"), ==, "client_credentials");
  g_assert_cmpstr (form_get (form, "scope"), ==, "https://graph.example/.default");
  g_assert_cmpstr (form_get (form, "client_secret"), ==, "s3cret~value");
  g_assert_false (g_hash_table_contains (form, "client_assertion"));
  g_assert_cmpuint (form_size (form), ==, 4);
}

/* Client credentials with a signed assertion (RFC 7523 §2.2). */
static void
test_form_client_assertion (void)
{
  HeraldOAuthTokenRequest request = {
    .grant_type = HERALD_OAUTH_GRANT_CLIENT_CREDENTIALS,
    .client_id = "client-d",
    .scope = "https://graph.example/.default",
    .client_assertion = "eyJhbGciOiJSUzI1NiJ9.eyJpc3MiOiJjbGllbnQtZCJ9.c2ln",
  };
  g_autoptr(GHashTable) form = herald_oauth_token_form_new (&request);

  g_assert_cmpstr (form_get (form, "client_assertion_type"), ==,
                   "urn:ietf:params:oauth:client-assertion-type:jwt-bearer");
  g_assert_cmpstr (form_get (form, "client_assertion"), ==, request.client_assertion);
  g_assert_false (g_hash_table_contains (form, "client_secret"));
  g_assert_cmpuint (form_size (form), ==, 5);
}

static gboolean
parse (guint                   status,
       const char             *json,
       HeraldOAuthTokenReply  *reply,
       char                  **oauth_error,
       GError                **error)
{
  g_autoptr(GBytes) body = g_bytes_new (json, strlen (json));

  return _herald_oauth_token_reply_parse (TOKEN_URL, status, body, reply, oauth_error, error);
}

static void
test_reply_ok (void)
{
  g_auto(HeraldOAuthTokenReply) reply = { 0 };
  g_autoptr(GError) error = NULL;

  g_assert_true (parse (200, "{\"token_type\":\"bearer\",\"access_token\":\"at-1\","
                        "\"refresh_token\":\"rt-1\",\"expires_in\":\"1800\"}",
                        &reply, NULL, &error));
  g_assert_no_error (error);
  g_assert_cmpstr (reply.access_token, ==, "at-1");
  g_assert_cmpstr (reply.refresh_token, ==, "rt-1");
  g_assert_cmpint (reply.expires_in, ==, 1800);

  herald_oauth_token_reply_clear (&reply);
  g_assert_null (reply.access_token);
  g_assert_null (reply.refresh_token);

  /* Client credentials: no refresh token, which is fine at this level (the
   * delegated sign-ins insist on one when they store the tokens). Missing or
   * absurd lifetimes become an hour. */
  g_assert_true (parse (200, "{\"access_token\":\"at-2\",\"expires_in\":-5}",
                        &reply, NULL, &error));
  g_assert_no_error (error);
  g_assert_cmpstr (reply.access_token, ==, "at-2");
  g_assert_null (reply.refresh_token);
  g_assert_cmpint (reply.expires_in, ==, 3600);
  herald_oauth_token_reply_clear (&reply);

  g_assert_true (parse (200, "{\"access_token\":\"at-3\",\"refresh_token\":\"\","
                        "\"expires_in\":99999999}", &reply, NULL, &error));
  g_assert_null (reply.refresh_token);
  g_assert_cmpint (reply.expires_in, ==, 3600);
}

static void
test_reply_refused (void)
{
  static const struct {
    guint status;
    const char *body;
    int code;
    const char *oauth_error;   /* what the caller learns, or NULL */
  } cases[] = {
    { 200, "{\"access_token\":\"a b\"}", HERALD_OAUTH_ERROR_PROTOCOL, NULL },
    { 200, "{\"access_token\":\"a\\u0001b\"}", HERALD_OAUTH_ERROR_PROTOCOL, NULL },
    { 200, "{\"access_token\":\"\"}", HERALD_OAUTH_ERROR_PROTOCOL, NULL },
    { 200, "{\"access_token\":42}", HERALD_OAUTH_ERROR_PROTOCOL, NULL },
    { 200, "{\"access_token\":\"at\",\"token_type\":\"mac\"}", HERALD_OAUTH_ERROR_PROTOCOL, NULL },
    { 200, "[1,2]", HERALD_OAUTH_ERROR_PROTOCOL, NULL },
    { 200, "", HERALD_OAUTH_ERROR_PROTOCOL, NULL },
    { 400, "{\"error\":\"invalid_grant\",\"error_description\":\"AADSTS70008: expired\"}",
      HERALD_OAUTH_ERROR_SIGN_IN_AGAIN, "invalid_grant" },
    { 401, "{\"error\":\"invalid_client\",\"error_codes\":[7000215]}",
      HERALD_OAUTH_ERROR_INVALID_CLIENT, "invalid_client" },
    { 500, "<html>oops</html>", HERALD_OAUTH_ERROR_PROTOCOL, NULL },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_auto(HeraldOAuthTokenReply) reply = { 0 };
      g_autoptr(GError) error = NULL;
      g_autofree char *oauth_error = NULL;

      g_test_message ("case %u: %u %s", i, cases[i].status, cases[i].body);
      g_assert_false (parse (cases[i].status, cases[i].body, &reply, &oauth_error, &error));
      g_assert_error (error, HERALD_OAUTH_ERROR, cases[i].code);
      g_assert_cmpstr (oauth_error, ==, cases[i].oauth_error);
      g_assert_null (reply.access_token);
    }
}

/* Random bytes and mangled replies: always an answer, never a crash, and a
 * token only when it is a clean one (the fuzzer checks the same, longer). */
static void
test_reply_garbage (void)
{
  static const char *seeds[] = {
    "{\"access_token\":\"at\",\"refresh_token\":\"rt\",\"expires_in\":3600,"
    "\"token_type\":\"Bearer\"}",
    "{\"error\":\"invalid_grant\",\"error_codes\":[70008],\"error_description\":\"AADSTS70008\"}",
  };

  for (guint i = 0; i < 4000; i++)
    {
      const char *seed = seeds[i % G_N_ELEMENTS (seeds)];
      gsize len = strlen (seed);
      g_autofree char *data = g_memdup2 (seed, len);
      g_autoptr(GBytes) body = NULL;
      g_auto(HeraldOAuthTokenReply) reply = { 0 };
      g_autoptr(GError) error = NULL;
      g_autofree char *oauth_error = NULL;
      guint status = i % 3 == 0 ? 400 : 200;

      for (guint n = g_test_rand_int_range (1, 6); n > 0; n--)
        data[g_test_rand_int_range (0, (gint32) len)] = (char) g_test_rand_int_range (0, 256);
      len = g_test_rand_int_range (0, (gint32) len + 1);
      body = g_bytes_new (data, len);

      if (_herald_oauth_token_reply_parse (TOKEN_URL, status, body, &reply, &oauth_error, &error))
        {
          g_assert_no_error (error);
          g_assert_cmpuint (status, ==, 200);
          g_assert_nonnull (reply.access_token);
          g_assert_false (_herald_oauth_has_control_chars (reply.access_token));
          g_assert_null (strchr (reply.access_token, ' '));
          g_assert_cmpint (reply.expires_in, >, 0);
        }
      else
        {
          g_assert_nonnull (error);
          g_assert_true (error->domain == HERALD_OAUTH_ERROR);
          g_assert_true (g_utf8_validate (error->message, -1, NULL));
          g_assert_null (reply.access_token);
        }
    }
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/herald/oauth/token/form/public-client", test_form_public_client);
  g_test_add_func ("/herald/oauth/token/form/no-scope", test_form_no_scope);
  g_test_add_func ("/herald/oauth/token/form/client-secret", test_form_client_secret);
  g_test_add_func ("/herald/oauth/token/form/client-assertion", test_form_client_assertion);
  g_test_add_func ("/herald/oauth/token/reply/ok", test_reply_ok);
  g_test_add_func ("/herald/oauth/token/reply/refused", test_reply_refused);
  g_test_add_func ("/herald/oauth/token/reply/garbage", test_reply_garbage);

  return g_test_run ();
}
