/* SPDX-License-Identifier: GPL-3.0-or-later
 * Copyright 2026 The Herald authors
 */
#define G_LOG_DOMAIN "herald-test"

#include "config.h"

#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <json-glib/json-glib.h>
#include <string.h>

#include "fake-graph.h"
#include "herald-diagnosis.h"
#include "herald-graph.h"
#include "herald-oauth.h"

/* The app-only client assertion, checked from the outside: openssl makes the
 * test certificates and verifies the signature with the certificate's
 * public key, and computes the thumbprints from the certificate's DER. */

#define CLIENT_ID "11111111-2222-3333-4444-555555555555"
#define TOKEN_URL "https://login.microsoftonline.com/contoso.example/oauth2/v2.0/token"

static char *dir;

static void
run (const char *command_line)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *out = NULL;
  g_autofree char *err = NULL;
  int status = 0;

  g_spawn_command_line_sync (command_line, &out, &err, &status, &error);
  g_assert_no_error (error);
  if (!g_spawn_check_wait_status (status, NULL))
    g_error ("“%s” failed: %s", command_line, err);
}

static char *
path (const char *name)
{
  return g_build_filename (dir, name, NULL);
}

static GBytes *
read_concat (const char *first,
             const char *second)
{
  g_autofree char *a = NULL;
  g_autofree char *b = NULL;
  g_autofree char *pa = path (first);
  g_autofree char *pb = second ? path (second) : NULL;
  char *joined;

  g_assert_true (g_file_get_contents (pa, &a, NULL, NULL));
  if (pb != NULL)
    g_assert_true (g_file_get_contents (pb, &b, NULL, NULL));
  joined = g_strconcat (a, b, NULL);

  return g_bytes_new_take (joined, strlen (joined));
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

static char *
thumbprint (GChecksumType  type,
            const char    *der_file)
{
  g_autofree char *der = NULL;
  g_autofree char *file = path (der_file);
  g_autoptr(GChecksum) checksum = g_checksum_new (type);
  guint8 digest[64];
  gsize digest_len = sizeof digest;
  gsize len;
  g_autofree char *b64 = NULL;
  GString *out = g_string_new (NULL);

  g_assert_true (g_file_get_contents (file, &der, &len, NULL));
  g_checksum_update (checksum, (const guchar *) der, len);
  g_checksum_get_digest (checksum, digest, &digest_len);
  b64 = g_base64_encode (digest, digest_len);
  for (const char *p = b64; *p != '\0' && *p != '='; p++)
    g_string_append_c (out, *p == '+' ? '-' : *p == '/' ? '_' : *p);

  return g_string_free (out, FALSE);
}

static JsonObject *
decode_part (const char *part)
{
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autofree char *json = NULL;
  gsize len;

  json = base64url_decode (part, &len);
  g_assert_true (json_parser_load_from_data (parser, json, len, NULL));
  return json_object_ref (json_node_get_object (json_parser_get_root (parser)));
}

/* openssl verifies the JWS signature with the certificate's public key. */
static gboolean
openssl_verifies (const char              *jwt,
                  HeraldGraphAssertionAlg  alg)
{
  g_auto(GStrv) parts = g_strsplit (jwt, ".", -1);
  g_autofree char *input = g_strconcat (parts[0], ".", parts[1], NULL);
  g_autofree char *signature = NULL;
  g_autofree char *input_file = path ("input.txt");
  g_autofree char *sig_file = path ("sig.bin");
  g_autofree char *pub_file = path ("pub.pem");
  g_autofree char *command = NULL;
  g_autoptr(GError) error = NULL;
  int status = 0;
  gsize len;

  signature = base64url_decode (parts[2], &len);
  g_assert_true (g_file_set_contents (input_file, input, -1, NULL));
  g_assert_true (g_file_set_contents (sig_file, signature, len, NULL));
  command = g_strdup_printf ("openssl dgst -sha256 %s -verify %s -signature %s %s",
                             alg == HERALD_GRAPH_ASSERTION_PS256
                             ? "-sigopt rsa_padding_mode:pss -sigopt rsa_pss_saltlen:auto" : "",
                             pub_file, sig_file, input_file);
  g_spawn_command_line_sync (command, NULL, NULL, &status, &error);
  g_assert_no_error (error);

  return g_spawn_check_wait_status (status, NULL);
}

static void
check_assertion (HeraldGraphAssertionAlg alg)
{
  g_autoptr(GBytes) pem = read_concat ("cert.pem", "key.pem");
  g_autoptr(GError) error = NULL;
  g_autofree char *jwt = NULL;
  g_autofree char *other = NULL;
  g_autofree char *x5t_s256 = thumbprint (G_CHECKSUM_SHA256, "cert.der");
  g_autofree char *x5t = thumbprint (G_CHECKSUM_SHA1, "cert.der");
  g_auto(GStrv) parts = NULL;
  g_auto(GStrv) other_parts = NULL;
  g_autoptr(JsonObject) header = NULL;
  g_autoptr(JsonObject) claims = NULL;
  g_autoptr(JsonObject) other_claims = NULL;
  gint64 now = g_get_real_time () / G_USEC_PER_SEC;

  jwt = herald_graph_client_assertion_new (pem, CLIENT_ID, TOKEN_URL, alg, &error);
  g_assert_no_error (error);
  g_assert_nonnull (jwt);
  parts = g_strsplit (jwt, ".", -1);
  g_assert_cmpuint (g_strv_length (parts), ==, 3);
  /* base64url without padding. */
  g_assert_null (strpbrk (jwt, "+/= \n"));

  header = decode_part (parts[0]);
  g_assert_cmpstr (json_object_get_string_member (header, "alg"), ==,
                   alg == HERALD_GRAPH_ASSERTION_PS256 ? "PS256" : "RS256");
  g_assert_cmpstr (json_object_get_string_member (header, "typ"), ==, "JWT");
  g_assert_cmpstr (json_object_get_string_member (header, "x5t#S256"), ==, x5t_s256);
  g_assert_cmpstr (json_object_get_string_member (header, "x5t"), ==, x5t);

  claims = decode_part (parts[1]);
  g_assert_cmpstr (json_object_get_string_member (claims, "aud"), ==, TOKEN_URL);
  g_assert_cmpstr (json_object_get_string_member (claims, "iss"), ==, CLIENT_ID);
  g_assert_cmpstr (json_object_get_string_member (claims, "sub"), ==, CLIENT_ID);
  g_assert_true (g_uuid_string_is_valid (json_object_get_string_member (claims, "jti")));
  g_assert_cmpint (ABS (json_object_get_int_member (claims, "nbf") - now), <=, 5);
  g_assert_cmpint (json_object_get_int_member (claims, "iat"), ==, json_object_get_int_member (claims, "nbf"));
  g_assert_cmpint (json_object_get_int_member (claims, "exp") - json_object_get_int_member (claims, "nbf"),
                   ==, HERALD_GRAPH_ASSERTION_LIFETIME);

  g_assert_true (openssl_verifies (jwt, alg));

  /* A tampered claim no longer verifies (the check above is not vacuous). */
  {
    g_autofree char *tampered = g_strdup (jwt);
    char *dot = strchr (tampered, '.');

    dot[2] = dot[2] == 'A' ? 'B' : 'A';
    g_assert_false (openssl_verifies (tampered, alg));
  }

  /* A fresh jti every time. */
  other = herald_graph_client_assertion_new (pem, CLIENT_ID, TOKEN_URL, alg, &error);
  g_assert_no_error (error);
  other_parts = g_strsplit (other, ".", -1);
  other_claims = decode_part (other_parts[1]);
  g_assert_cmpstr (json_object_get_string_member (claims, "jti"), !=,
                   json_object_get_string_member (other_claims, "jti"));
}

static void
test_rs256 (void)
{
  check_assertion (HERALD_GRAPH_ASSERTION_RS256);
}

static void
test_ps256 (void)
{
  check_assertion (HERALD_GRAPH_ASSERTION_PS256);
}

/* The key first in the file, an extra chain certificate before the right one. */
static void
test_order_and_chain (void)
{
  g_autoptr(GBytes) key = read_concat ("key.pem", "other-cert.pem");
  g_autofree char *cert = path ("cert.pem");
  g_autofree char *contents = NULL;
  g_autoptr(GBytes) pem = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *jwt = NULL;
  g_auto(GStrv) parts = NULL;
  g_autoptr(JsonObject) header = NULL;
  g_autofree char *x5t_s256 = thumbprint (G_CHECKSUM_SHA256, "cert.der");

  g_assert_true (g_file_get_contents (cert, &contents, NULL, NULL));
  pem = g_bytes_new_take (g_strconcat (g_bytes_get_data (key, NULL), contents, NULL),
                          g_bytes_get_size (key) + strlen (contents));
  jwt = herald_graph_client_assertion_new (pem, CLIENT_ID, TOKEN_URL, HERALD_GRAPH_ASSERTION_RS256, &error);
  g_assert_no_error (error);
  parts = g_strsplit (jwt, ".", -1);
  header = decode_part (parts[0]);
  g_assert_cmpstr (json_object_get_string_member (header, "x5t#S256"), ==, x5t_s256);
  g_assert_true (openssl_verifies (jwt, HERALD_GRAPH_ASSERTION_RS256));
}

/* A certificate with the test key, valid from @from to @to (unix time). */
static GBytes *
make_cert_with_key (time_t from,
                    time_t to)
{
  g_autofree char *key_file = path ("key.pem");
  g_autofree char *key_pem = NULL;
  gnutls_x509_privkey_t key;
  gnutls_x509_crt_t crt;
  gnutls_datum_t data;
  gnutls_datum_t out;
  guint8 serial[] = { 0x01, 0x02 };
  char *joined;

  g_assert_true (g_file_get_contents (key_file, &key_pem, NULL, NULL));
  data.data = (unsigned char *) key_pem;
  data.size = strlen (key_pem);
  g_assert_cmpint (gnutls_x509_privkey_init (&key), ==, 0);
  g_assert_cmpint (gnutls_x509_privkey_import2 (key, &data, GNUTLS_X509_FMT_PEM, NULL, 0), ==, 0);
  g_assert_cmpint (gnutls_x509_crt_init (&crt), ==, 0);
  g_assert_cmpint (gnutls_x509_crt_set_version (crt, 3), ==, 0);
  g_assert_cmpint (gnutls_x509_crt_set_serial (crt, serial, sizeof serial), ==, 0);
  g_assert_cmpint (gnutls_x509_crt_set_dn (crt, "CN=herald-expired-app", NULL), ==, 0);
  g_assert_cmpint (gnutls_x509_crt_set_activation_time (crt, from), ==, 0);
  g_assert_cmpint (gnutls_x509_crt_set_expiration_time (crt, to), ==, 0);
  g_assert_cmpint (gnutls_x509_crt_set_key (crt, key), ==, 0);
  g_assert_cmpint (gnutls_x509_crt_sign2 (crt, crt, key, GNUTLS_DIG_SHA256, 0), ==, 0);
  g_assert_cmpint (gnutls_x509_crt_export2 (crt, GNUTLS_X509_FMT_PEM, &out), ==, 0);
  joined = g_strconcat ((const char *) out.data, key_pem, NULL);
  gnutls_free (out.data);
  gnutls_x509_crt_deinit (crt);
  gnutls_x509_privkey_deinit (key);

  return g_bytes_new_take (joined, strlen (joined));
}

static void
expect_error (GBytes     *pem,
              const char *fragment)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *jwt = herald_graph_client_assertion_new (pem, CLIENT_ID, TOKEN_URL,
                                                            HERALD_GRAPH_ASSERTION_RS256, &error);

  g_assert_null (jwt);
  g_assert_error (error, HERALD_GRAPH_ERROR, HERALD_GRAPH_ERROR_CERTIFICATE);
  g_test_message ("%s", error->message);
  g_assert_nonnull (strstr (error->message, fragment));
}

static void
test_refused (void)
{
  g_autoptr(GBytes) cert_only = read_concat ("cert.pem", NULL);
  g_autoptr(GBytes) key_only = read_concat ("key.pem", NULL);
  g_autoptr(GBytes) mismatch = read_concat ("other-cert.pem", "key.pem");
  g_autoptr(GBytes) ec = read_concat ("ec-cert.pem", "ec-key.pem");
  g_autoptr(GBytes) encrypted = read_concat ("cert.pem", "encrypted-key.pem");
  g_autoptr(GBytes) empty = g_bytes_new_static ("", 0);
  g_autoptr(GBytes) garbage = g_bytes_new_static ("not a pem at all", 16);
  time_t now = time (NULL);
  g_autoptr(GBytes) expired = make_cert_with_key (now - 400 * 86400, now - 35 * 86400);
  g_autoptr(GBytes) not_yet = make_cert_with_key (now + 10 * 86400, now + 400 * 86400);
  g_autoptr(GBytes) good = read_concat ("cert.pem", "key.pem");
  g_autoptr(GError) error = NULL;
  g_autofree char *jwt = NULL;

  expect_error (cert_only, "no usable private key");
  expect_error (key_only, "no certificate");
  expect_error (mismatch, "does not belong");
  expect_error (ec, "not an RSA key");
  expect_error (encrypted, "encrypted");
  expect_error (empty, "empty");
  expect_error (garbage, "no usable private key");
  expect_error (expired, "expired on");
  expect_error (not_yet, "valid only from");

  jwt = herald_graph_client_assertion_new (good, "", TOKEN_URL, HERALD_GRAPH_ASSERTION_RS256, &error);
  g_assert_null (jwt);
  g_assert_error (error, HERALD_GRAPH_ERROR, HERALD_GRAPH_ERROR_CERTIFICATE);
}

/* ---- the client credentials grant against the stand-in ---------------------- */

#define APP_TOKEN "HERALDGRAPHTOKEN-app-0cc175b9c0f1b6a831c399e269772661"
#define APP_SECRET "Zq8~secret.value-HERALDTEST-4a8a08f09d37b73795649038408b5f33"

static char *
app_authority (FakeGraph *graph)
{
  return g_strdup (fake_graph_get_endpoint (graph));
}

static void
assert_diagnosed (const GError *error,
                  const char   *rule)
{
  g_autoptr(HeraldDiagnosis) d = herald_diagnose_text (error->message, HERALD_STAGE_AUTH, NULL);

  g_test_message ("%s -> %s", error->message, d->id);
  g_assert_cmpstr (d->id, ==, rule);
}

static void
test_app_secret (void)
{
  g_autoptr(FakeGraph) graph = fake_graph_new (NULL);
  g_autofree char *authority = app_authority (graph);
  HeraldGraphAppCredentials credentials = { CLIENT_ID, "contoso.example", authority, APP_SECRET, NULL, NULL };
  g_autoptr(GError) error = NULL;
  g_autofree char *token = NULL;
  g_autofree char *scope = NULL;
  g_autofree char *grant = NULL;
  g_autofree char *assertion = NULL;
  g_autofree char *wrong = NULL;
  gint64 expires_in = 0;

  fake_graph_set_token (graph, APP_TOKEN);
  fake_graph_set_app (graph, "contoso.example", CLIENT_ID, APP_SECRET, NULL);
  token = herald_graph_app_token_sync (&credentials, &expires_in, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (token, ==, APP_TOKEN);
  g_assert_cmpint (expires_in, ==, 3599);
  grant = fake_graph_get_token_param (graph, "grant_type");
  scope = fake_graph_get_token_param (graph, "scope");
  assertion = fake_graph_get_token_param (graph, "client_assertion");
  g_assert_cmpstr (grant, ==, "client_credentials");
  g_assert_cmpstr (scope, ==, "https://graph.microsoft.com/.default");
  g_assert_null (assertion);

  /* A wrong secret: Microsoft's error, marked as the app-only grant, and
   * the diagnosis for an app's secret (not the desktop-app advice). */
  credentials.client_secret = "not-the-secret";
  wrong = herald_graph_app_token_sync (&credentials, NULL, NULL, &error);
  g_assert_null (wrong);
  g_assert_nonnull (strstr (error->message, "(client_credentials)"));
  g_assert_nonnull (strstr (error->message, "AADSTS7000215"));
  g_assert_null (strstr (error->message, "not-the-secret"));
  assert_diagnosed (error, "graph-app-secret-invalid");
  g_clear_error (&error);

  /* An unknown client ID. */
  credentials.client_secret = APP_SECRET;
  credentials.client_id = "99999999-2222-3333-4444-555555555555";
  wrong = herald_graph_app_token_sync (&credentials, NULL, NULL, &error);
  g_assert_null (wrong);
  assert_diagnosed (error, "graph-app-not-found");
}

static void
test_app_certificate (void)
{
  g_autoptr(FakeGraph) graph = fake_graph_new (NULL);
  g_autofree char *authority = app_authority (graph);
  g_autoptr(GBytes) registered = read_concat ("cert.pem", NULL);
  g_autoptr(GBytes) pem = read_concat ("cert.pem", "key.pem");
  g_autoptr(GBytes) other = read_concat ("other-cert.pem", "other-key.pem");
  HeraldGraphAppCredentials credentials = { CLIENT_ID, "contoso.example", authority, NULL, pem,
                                            HERALD_GRAPH_SMTP_APP_SCOPE };
  g_autoptr(GError) error = NULL;
  g_autofree char *token = NULL;
  g_autofree char *scope = NULL;
  g_autofree char *secret = NULL;
  g_autofree char *wrong = NULL;

  /* The stand-in knows only the registered certificate (no key). */
  fake_graph_set_token (graph, APP_TOKEN);
  fake_graph_set_app (graph, "contoso.example", CLIENT_ID, NULL, registered);
  token = herald_graph_app_token_sync (&credentials, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (token, ==, APP_TOKEN);
  scope = fake_graph_get_token_param (graph, "scope");
  secret = fake_graph_get_token_param (graph, "client_secret");
  g_assert_cmpstr (scope, ==, "https://outlook.office365.com/.default");
  g_assert_null (secret);

  /* Another app's certificate: the assertion does not verify. */
  credentials.certificate_pem = other;
  wrong = herald_graph_app_token_sync (&credentials, NULL, NULL, &error);
  g_assert_null (wrong);
  g_assert_nonnull (strstr (error->message, "AADSTS700027"));
  assert_diagnosed (error, "graph-app-assertion-invalid");
}

static void
test_app_refused_locally (void)
{
  g_autoptr(GBytes) pem = read_concat ("cert.pem", "key.pem");
  HeraldGraphAppCredentials organizations = { CLIENT_ID, "organizations", NULL, APP_SECRET, NULL, NULL };
  HeraldGraphAppCredentials both = { CLIENT_ID, "contoso.example", NULL, APP_SECRET, pem, NULL };
  HeraldGraphAppCredentials neither = { CLIENT_ID, "contoso.example", NULL, NULL, NULL, NULL };
  HeraldGraphAppCredentials no_client = { "", "contoso.example", NULL, APP_SECRET, NULL, NULL };
  HeraldGraphAppCredentials *cases[] = { &organizations, &both, &neither, &no_client };

  /* None of these reaches a network (no authority: it would be Microsoft's). */
  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr(GError) error = NULL;
      g_autofree char *token = herald_graph_app_token_sync (cases[i], NULL, NULL, &error);

      g_assert_null (token);
      g_assert_error (error, HERALD_OAUTH_ERROR, HERALD_OAUTH_ERROR_INVALID_ACCOUNT);
    }
}

/* App-only end to end: the token from the grant, then sendMail as the mailbox. */
static void
test_app_send (void)
{
  g_autoptr(FakeGraph) graph = fake_graph_new (NULL);
  g_autofree char *authority = app_authority (graph);
  g_autoptr(GBytes) registered = read_concat ("cert.pem", NULL);
  g_autoptr(GBytes) pem = read_concat ("cert.pem", "key.pem");
  HeraldGraphAppCredentials credentials = { CLIENT_ID, "contoso.example", authority, NULL, pem, NULL };
  g_autoptr(HeraldGraphConfig) config = herald_graph_config_new ();
  g_autoptr(GBytes) message = g_bytes_new_static ("From: alerts@contoso.com\r\nTo: ops@contoso.com\r\n"
                                                  "Subject: app-only\r\n\r\nbody\r\n", 74);
  const char * const recipients[] = { "ops@contoso.com", NULL };
  g_autoptr(HeraldSmtpResult) result = NULL;
  g_autoptr(FakeGraphRequest) request = NULL;
  g_autoptr(GError) error = NULL;

  fake_graph_set_token (graph, APP_TOKEN);
  fake_graph_set_app (graph, "contoso.example", CLIENT_ID, NULL, registered);
  config->endpoint = g_strdup (fake_graph_get_endpoint (graph));
  config->mode = HERALD_GRAPH_APP_ONLY;
  config->from = g_strdup ("alerts@contoso.com");
  config->access_token = herald_graph_app_token_sync (&credentials, NULL, NULL, &error);
  g_assert_no_error (error);

  result = herald_graph_send (config, message, recipients, NULL, NULL, NULL, NULL, NULL, NULL);
  g_assert_no_error (result->error);
  g_assert_true (result->ok);
  request = fake_graph_get_request (graph, 0);
  g_assert_cmpstr (request->path, ==, "/v1.0/users/alerts@contoso.com/sendMail");
  g_assert_cmpstr (request->authorization, ==, "Bearer " APP_TOKEN);
}

int
main (int   argc,
      char *argv[])
{
  g_autofree char *command = NULL;

  g_test_init (&argc, &argv, NULL);

  dir = g_build_filename (g_getenv ("G_TEST_BUILDDIR") ? g_getenv ("G_TEST_BUILDDIR") : ".",
                          "graph-assertion", NULL);
  g_mkdir_with_parents (dir, 0700);
  command = g_strdup_printf ("sh -c 'cd %s && "
                             "openssl req -x509 -newkey rsa:2048 -nodes -keyout key.pem -out cert.pem "
                             "-days 2 -subj /CN=herald-test-app 2>/dev/null && "
                             "openssl x509 -in cert.pem -outform DER -out cert.der && "
                             "openssl x509 -in cert.pem -pubkey -noout > pub.pem && "
                             "openssl req -x509 -newkey rsa:2048 -nodes -keyout other-key.pem "
                             "-out other-cert.pem -days 2 -subj /CN=herald-other-app 2>/dev/null && "
                             "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes "
                             "-keyout ec-key.pem -out ec-cert.pem -days 2 -subj /CN=herald-ec-app 2>/dev/null && "
                             "openssl pkey -in key.pem -aes256 -passout pass:secret -out encrypted-key.pem'",
                             dir);
  run (command);

  g_test_add_func ("/graph/assertion/rs256", test_rs256);
  g_test_add_func ("/graph/assertion/ps256", test_ps256);
  g_test_add_func ("/graph/assertion/order-and-chain", test_order_and_chain);
  g_test_add_func ("/graph/assertion/refused", test_refused);
  g_test_add_func ("/graph/app/secret", test_app_secret);
  g_test_add_func ("/graph/app/certificate", test_app_certificate);
  g_test_add_func ("/graph/app/refused-locally", test_app_refused_locally);
  g_test_add_func ("/graph/app/send", test_app_send);

  return g_test_run ();
}
