/* SPDX-License-Identifier: GPL-3.0-or-later
 * Copyright 2026 The Herald authors
 */
#define G_LOG_DOMAIN "herald-test"

#include "config.h"

#include <string.h>

#include "fake-idp.h"
#include "herald-test-util.h"
#include "herald-oauth-private.h"
#include "herald-oauth-smtp.h"
#include "herald-secrets-oauth.h"

/* End to end: sign in at the stand-in identity provider, keep the tokens in
 * the keyring, fetch the access token the way heraldctl and the window do
 * (herald_oauth_fill_config_token) and send with XOAUTH2 through the engine to
 * the fake SMTP server, which accepts only the right user and current token. */

/* The script's end after a payload it accepts: success, then any mail. */
#define ACCEPT_TOKEN "S 235 2.7.0 Authentication successful\nLOOP-UNTIL-QUIT\n"

static char *cert_dir;

static char *
xoauth2_b64 (const char *user,
             const char *token)
{
  g_autofree char *raw = g_strdup_printf ("user=%s\001auth=Bearer %s\001\001", user, token);

  return g_base64_encode ((const guchar *) raw, strlen (raw));
}

/* The script accepts exactly this AUTH XOAUTH2 payload. */
static HeraldFakeServer *
start_server (const char *expected_b64,
              const char *after_token)
{
  g_autofree char *escaped = g_regex_escape_string (expected_b64, -1);
  g_autofree char *script = NULL;

  script = g_strdup_printf ("S 220 fake.example ESMTP\n"
                            "C EHLO .*\n"
                            "S 250-fake.example\n"
                            "S 250 STARTTLS\n"
                            "C STARTTLS\n"
                            "S 220 2.0.0 Ready to start TLS\n"
                            "STARTTLS\n"
                            "C EHLO .*\n"
                            "S 250-fake.example\n"
                            "S 250 AUTH LOGIN XOAUTH2\n"
                            "C AUTH XOAUTH2\n"
                            "S 334 \n"
                            "C %s\n"
                            "%s",
                            escaped, after_token);

  return herald_test_start_fake_server (script, cert_dir, "localhost", FALSE);
}

static HeraldSmtpConfig *
new_config (HeraldFakeServer *srv,
            const char       *user)
{
  HeraldSmtpConfig *config = herald_smtp_config_new ();

  config->host = g_strdup ("127.0.0.1");
  config->port = herald_fake_server_get_port (srv);
  config->security = HERALD_SECURITY_STARTTLS;
  config->auth = HERALD_AUTH_XOAUTH2;
  config->username = g_strdup (user);
  config->from = g_strdup (user);
  config->to = g_strsplit ("ops@contoso.example", ",", -1);
  config->ca_file = g_build_filename (cert_dir, "ca.pem", NULL);
  config->connect_timeout = 10;
  config->reply_timeout = 10;

  return config;
}

static void
assert_no_secret_in_transcript (const HeraldSmtpResult *result,
                                const char             *token,
                                const char             *b64)
{
  g_assert_nonnull (result->transcript);
  g_assert_cmpuint (result->transcript->len, >, 0);
  for (guint i = 0; i < result->transcript->len; i++)
    {
      const HeraldTranscriptEntry *entry = g_ptr_array_index (result->transcript, i);

      g_assert_null (strstr (entry->text, token));
      g_assert_null (strstr (entry->text, b64));
      g_assert_null (strstr (entry->text, FAKE_IDP_TOKEN_PREFIX));
    }
  if (result->error != NULL)
    g_assert_null (strstr (result->error->message, FAKE_IDP_TOKEN_PREFIX));
}

static gboolean
received_exactly (HeraldFakeServer *srv,
                  const char       *line)
{
  g_autoptr(GPtrArray) lines = herald_fake_server_get_received (srv);

  for (guint i = 0; i < lines->len; i++)
    if (g_strcmp0 (g_ptr_array_index (lines, i), line) == 0)
      return TRUE;

  return FALSE;
}

static HeraldOAuthAccount *
signed_in_account (FakeIdp    *idp,
                   const char *user)
{
  HeraldOAuthAccount *account = herald_oauth_account_new (HERALD_OAUTH_PROVIDER_MICROSOFT, user);
  g_autoptr(GError) error = NULL;

  account->client_id = g_strdup (FAKE_IDP_CLIENT_ID);
  account->tenant = g_strdup (FAKE_IDP_TENANT);
  account->authority = g_strdup (fake_idp_get_authority (idp));

  herald_oauth_set_poll_unit_ms (10);
  fake_idp_set_device_script (idp, "ok", 1, 900);
  g_assert_true (herald_oauth_sign_in_device_sync (account, NULL, NULL, NULL, &error));
  g_assert_no_error (error);
  herald_oauth_set_poll_unit_ms (0);

  return account;
}

static void
test_xoauth2_microsoft (void)
{
  g_autoptr(FakeIdp) idp = fake_idp_new ();
  g_autoptr(HeraldOAuthAccount) account = signed_in_account (idp, "alerts@contoso.example");
  g_autoptr(GSettings) settings = g_settings_new ("io.github.heraldmail.Herald");
  g_autoptr(HeraldFakeServer) srv = NULL;
  g_autoptr(HeraldSmtpConfig) config = NULL;
  g_autoptr(HeraldSmtpResult) result = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *token = fake_idp_get_current_access_token (idp);
  g_autofree char *b64 = xoauth2_b64 ("alerts@contoso.example", token);

  herald_oauth_account_save_to_settings (account, settings);

  srv = start_server (b64, ACCEPT_TOKEN);
  config = new_config (srv, "alerts@contoso.example");
  g_assert_true (herald_oauth_fill_config_token (config, settings, NULL, &error));
  g_assert_no_error (error);
  g_assert_cmpstr (config->oauth_token, ==, token);

  result = herald_smtp_run (config, NULL, NULL, NULL);
  if (result->error != NULL)
    g_test_message ("engine: %s", result->error->message);
  g_assert_true (result->ok);
  g_assert_cmpstr (result->auth_used, ==, "XOAUTH2");
  g_assert_true (herald_fake_server_wait (srv, 10000));
  g_assert_true (received_exactly (srv, b64));
  assert_no_secret_in_transcript (result, token, b64);

  g_assert_true (herald_oauth_sign_out_sync (account, NULL, NULL));
}

static void
test_wrong_user_refused (void)
{
  g_autoptr(FakeIdp) idp = fake_idp_new ();
  g_autoptr(HeraldOAuthAccount) account = signed_in_account (idp, "alerts@contoso.example");
  g_autoptr(GSettings) settings = g_settings_new ("io.github.heraldmail.Herald");
  g_autoptr(HeraldFakeServer) srv = NULL;
  g_autoptr(HeraldSmtpConfig) config = NULL;
  g_autoptr(HeraldSmtpResult) result = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *token = fake_idp_get_current_access_token (idp);
  g_autofree char *b64 = xoauth2_b64 ("alerts@contoso.example", token);
  g_autofree char *other = xoauth2_b64 ("other@contoso.example", token);

  /* The server takes the token only for its own mailbox: the engine must send
   * the configured user. A different user fails at AUTH. */
  herald_oauth_account_save_to_settings (account, settings);
  srv = start_server (b64, ACCEPT_TOKEN);
  config = new_config (srv, "alerts@contoso.example");
  g_assert_true (herald_oauth_fill_config_token (config, settings, NULL, &error));
  g_free (config->username);
  config->username = g_strdup ("other@contoso.example");
  result = herald_smtp_run (config, NULL, NULL, NULL);
  g_assert_false (result->ok);
  g_assert_cmpint (result->stage, ==, HERALD_STAGE_AUTH);
  g_assert_false (herald_fake_server_wait (srv, 10000));
  g_assert_true (received_exactly (srv, other));
  assert_no_secret_in_transcript (result, token, other);

  g_assert_true (herald_oauth_sign_out_sync (account, NULL, NULL));
}

static void
test_expired_token_refreshes (void)
{
  g_autoptr(FakeIdp) idp = fake_idp_new ();
  g_autoptr(HeraldOAuthAccount) account = signed_in_account (idp, "expiring@contoso.example");
  g_autoptr(GSettings) settings = g_settings_new ("io.github.heraldmail.Herald");
  g_autoptr(HeraldOAuthTokens) tokens = NULL;
  g_autoptr(HeraldFakeServer) stale_srv = NULL;
  g_autoptr(HeraldFakeServer) srv = NULL;
  g_autoptr(HeraldSmtpConfig) stale = NULL;
  g_autoptr(HeraldSmtpConfig) config = NULL;
  g_autoptr(HeraldSmtpResult) stale_result = NULL;
  g_autoptr(HeraldSmtpResult) result = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *old_token = fake_idp_get_current_access_token (idp);
  g_autofree char *old_b64 = xoauth2_b64 ("expiring@contoso.example", old_token);
  g_autofree char *new_token = NULL;
  g_autofree char *new_b64 = NULL;

  herald_oauth_account_save_to_settings (account, settings);

  /* The access token has 30 s left: under the 60-second margin. */
  tokens = herald_oauth_tokens_lookup_sync ("microsoft", account->account, account->client_id, NULL, &error);
  g_assert_nonnull (tokens);
  tokens->expires_at = g_get_real_time () / G_USEC_PER_SEC + 30;
  g_assert_true (herald_oauth_tokens_store_sync ("microsoft", account->account, account->client_id, tokens,
                                                 NULL, &error));

  config = herald_smtp_config_new ();
  config->auth = HERALD_AUTH_XOAUTH2;
  config->username = g_strdup ("expiring@contoso.example");
  g_assert_true (herald_oauth_fill_config_token (config, settings, NULL, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (fake_idp_get_n_refreshes (idp), ==, 1);
  new_token = fake_idp_get_current_access_token (idp);
  g_assert_cmpstr (config->oauth_token, ==, new_token);
  g_assert_cmpstr (new_token, !=, old_token);
  new_b64 = xoauth2_b64 ("expiring@contoso.example", new_token);

  /* The server knows only the current token: the old one is refused... */
  stale_srv = start_server (new_b64, ACCEPT_TOKEN);
  stale = new_config (stale_srv, "expiring@contoso.example");
  stale->oauth_token = g_strdup (old_token);
  stale_result = herald_smtp_run (stale, NULL, NULL, NULL);
  g_assert_false (stale_result->ok);
  g_assert_false (herald_fake_server_wait (stale_srv, 10000));
  assert_no_secret_in_transcript (stale_result, old_token, old_b64);

  /* ...the refreshed one goes through. */
  srv = start_server (new_b64, ACCEPT_TOKEN);
  {
    g_autoptr(HeraldSmtpConfig) run = new_config (srv, "expiring@contoso.example");

    run->oauth_token = g_strdup (config->oauth_token);
    result = herald_smtp_run (run, NULL, NULL, NULL);
  }
  g_assert_true (result->ok);
  g_assert_true (herald_fake_server_wait (srv, 10000));
  assert_no_secret_in_transcript (result, new_token, new_b64);

  g_assert_true (herald_oauth_sign_out_sync (account, NULL, NULL));
}

static void
test_google_json_challenge (void)
{
  g_autoptr(HeraldOAuthTokens) tokens = herald_oauth_tokens_new ();
  g_autoptr(GSettings) settings = g_settings_new ("io.github.heraldmail.Herald");
  g_autoptr(HeraldOAuthAccount) account = herald_oauth_account_new (HERALD_OAUTH_PROVIDER_GOOGLE,
                                                                    "alerts@gmail.example");
  g_autoptr(HeraldFakeServer) srv = NULL;
  g_autoptr(HeraldSmtpConfig) config = NULL;
  g_autoptr(HeraldSmtpResult) result = NULL;
  g_autoptr(GError) error = NULL;
  const char *token = FAKE_IDP_TOKEN_PREFIX "-at-google-revoked";
  g_autofree char *b64 = xoauth2_b64 ("alerts@gmail.example", token);
  const char *json = "{\"status\":\"401\",\"schemes\":\"bearer\",\"scope\":\"https://mail.google.com/\"}";
  g_autofree char *challenge = g_base64_encode ((const guchar *) json, strlen (json));
  g_autofree char *after = NULL;

  /* A valid-looking cached token that Gmail refuses (revoked meanwhile). */
  account->client_id = g_strdup ("123-abc.apps.googleusercontent.com");
  tokens->refresh_token = g_strdup (FAKE_IDP_TOKEN_PREFIX "-rt-google");
  tokens->access_token = g_strdup (token);
  tokens->expires_at = g_get_real_time () / G_USEC_PER_SEC + 3000;
  g_assert_true (herald_oauth_tokens_store_sync ("google", account->account, account->client_id, tokens,
                                                 NULL, &error));
  herald_oauth_account_save_to_settings (account, settings);

  /* Gmail's error challenge: 334 + base64 JSON; the client answers with an
   * empty line ("C ()" matches only that) and gets the final 535. */
  after = g_strdup_printf ("S 334 %s\n"
                           "C ()\n"
                           "S 535-5.7.8 Username and Password not accepted. For more information, go to\n"
                           "S 535 5.7.8  https://support.google.com/mail/?p=BadCredentials\n",
                           challenge);
  srv = start_server (b64, after);
  config = new_config (srv, "alerts@gmail.example");
  g_assert_true (herald_oauth_fill_config_token (config, settings, NULL, &error));
  g_assert_no_error (error);
  result = herald_smtp_run (config, NULL, NULL, NULL);
  g_assert_false (result->ok);
  g_assert_cmpint (result->stage, ==, HERALD_STAGE_AUTH);
  g_assert_nonnull (result->reply);
  g_assert_cmpint (result->reply->code, ==, 535);
  g_assert_cmpstr (result->reply->enhanced, ==, "5.7.8");
  g_assert_true (herald_fake_server_wait (srv, 10000));
  g_assert_true (received_exactly (srv, ""));
  assert_no_secret_in_transcript (result, token, b64);

  g_assert_true (herald_oauth_tokens_clear_sync ("google", account->account, account->client_id, NULL, NULL));
}

static void
test_not_signed_in (void)
{
  g_autoptr(GSettings) settings = g_settings_new ("io.github.heraldmail.Herald");
  g_autoptr(HeraldOAuthAccount) account = herald_oauth_account_new (HERALD_OAUTH_PROVIDER_MICROSOFT,
                                                                    "nobody@contoso.example");
  g_autoptr(HeraldSmtpConfig) config = herald_smtp_config_new ();
  g_autoptr(GError) error = NULL;

  account->client_id = g_strdup (FAKE_IDP_CLIENT_ID);
  herald_oauth_account_save_to_settings (account, settings);
  config->auth = HERALD_AUTH_XOAUTH2;
  config->username = g_strdup ("nobody@contoso.example");
  g_assert_false (herald_oauth_fill_config_token (config, settings, NULL, &error));
  g_assert_error (error, HERALD_OAUTH_ERROR, HERALD_OAUTH_ERROR_NOT_SIGNED_IN);
  g_assert_null (config->oauth_token);

  /* Other methods are left alone. */
  g_clear_error (&error);
  config->auth = HERALD_AUTH_PLAIN;
  g_assert_true (herald_oauth_fill_config_token (config, settings, NULL, &error));
  g_assert_null (config->oauth_token);
}

int
main (int    argc,
      char **argv)
{
  int ret;

  g_test_init (&argc, &argv, NULL);

  cert_dir = herald_test_make_certs ("oauth/certs-smtp");

  g_test_add_func ("/herald/oauth/smtp/xoauth2-microsoft", test_xoauth2_microsoft);
  g_test_add_func ("/herald/oauth/smtp/wrong-user-refused", test_wrong_user_refused);
  g_test_add_func ("/herald/oauth/smtp/expired-token-refreshes", test_expired_token_refreshes);
  g_test_add_func ("/herald/oauth/smtp/google-json-challenge", test_google_json_challenge);
  g_test_add_func ("/herald/oauth/smtp/not-signed-in", test_not_signed_in);
  g_test_add_func ("/herald/oauth/smtp/no-token-in-files", fake_idp_assert_no_token_under_home);

  ret = g_test_run ();
  g_free (cert_dir);

  return ret;
}
