/* SPDX-License-Identifier: GPL-3.0-or-later
 * Copyright 2026 The Herald authors
 */
#define G_LOG_DOMAIN "herald-test"

/* Engine behaviours over real loopback sockets, against the scripted fake
 * server from tests/fixtures: OAuth mechanisms, mechanism choice, pipelined
 * flights and their failures, ESMTP parameters, 421, the STARTTLS injection
 * guard, implicit TLS against a plain-text port, QUIT without 221. Only
 * 127.0.0.1 is ever contacted.
 */

#include <string.h>

#include "herald-smtp.h"
#include "herald-smtp-private.h"
#include "herald-test-util.h"

#define USERNAME "alice@example.test"
#define PASSWORD "Pa55-w0rd-N0t-In-Any-Log!"
#define TOKEN    "ya29.Fake-Access-Token_0123456789abcdefghijklmnopqrstuvwxyz"

static char *certdir;

/* ---- helpers ---------------------------------------------------------------- */

static char *
cert_path (const char *name)
{
  return g_build_filename (certdir, name, NULL);
}

static HeraldSmtpConfig *
make_config (guint16 port)
{
  HeraldSmtpConfig *config = herald_smtp_config_new ();

  config->host = g_strdup ("127.0.0.1");
  config->port = port;
  config->security = HERALD_SECURITY_NONE;
  config->auth = HERALD_AUTH_NONE;
  config->from = g_strdup (USERNAME);
  config->to = g_strsplit ("bob@example.test", ",", -1);
  config->helo_name = g_strdup ("client.test");
  config->connect_timeout = 5;
  config->reply_timeout = 5;

  return config;
}

/* Signs in as USERNAME with @auth and the secrets given (either may be NULL). */
static void
set_credentials (HeraldSmtpConfig *config,
                 HeraldAuthMethod  auth,
                 const char       *password,
                 const char       *token)
{
  config->auth = auth;
  config->username = g_strdup (USERNAME);
  config->password = g_strdup (password);
  config->oauth_token = g_strdup (token);
}

/* Runs the engine once and checks that the server's script ran to its end. */
static HeraldSmtpResult *
run_session (HeraldSmtpConfig *config,
             HeraldFakeServer *server)
{
  HeraldSmtpResult *result = herald_smtp_run (config, NULL, NULL, NULL);

  g_assert_true (herald_fake_server_wait (server, 5000));
  return result;
}

static HeraldFakeServer *
start_server (const char *script,
              gboolean    tls,
              gboolean    implicit)
{
  return herald_test_start_fake_server (script, certdir, tls ? "localhost" : NULL, implicit);
}

/* The pieces of base64 that any encoding of secret contains. */
static GPtrArray *
secret_forms (const char *secret)
{
  GPtrArray *forms = g_ptr_array_new_with_free_func (g_free);
  gsize length = strlen (secret);

  g_ptr_array_add (forms, g_strdup (secret));
  for (guint k = 0; k < 3; k++)
    {
      g_autofree guchar *buf = g_malloc0 (length + k);
      g_autofree char *encoded = NULL;
      gsize skip = k == 0 ? 0 : k + 1;
      gsize full = ((length + k) * 8) / 6;

      memcpy (buf + k, secret, length);
      encoded = g_base64_encode (buf, length + k);
      g_ptr_array_add (forms, g_strndup (encoded + skip, full - skip));
    }

  return forms;
}

static void
assert_result_has_no_secrets (const HeraldSmtpResult *result)
{
  const char *secrets[] = { PASSWORD, TOKEN };

  for (guint s = 0; s < G_N_ELEMENTS (secrets); s++)
    {
      g_autoptr(GPtrArray) forms = secret_forms (secrets[s]);

      for (guint f = 0; f < forms->len; f++)
        {
          const char *form = g_ptr_array_index (forms, f);

          for (guint i = 0; i < result->transcript->len; i++)
            {
              const HeraldTranscriptEntry *entry = g_ptr_array_index (result->transcript, i);

              /* Never print the secret itself on failure. */
              if (strstr (entry->text, form) != NULL)
                g_error ("transcript entry %u contains a form of a secret", i);
            }
          if (result->error != NULL && strstr (result->error->message, form) != NULL)
            g_error ("the error message contains a form of a secret");
          if (result->reply != NULL && strstr (result->reply->raw, form) != NULL)
            g_error ("the reply contains a form of a secret");
        }
    }
}

static gboolean
transcript_has (const HeraldSmtpResult *result,
                HeraldTranscriptDir     dir,
                const char             *pattern)
{
  for (guint i = 0; i < result->transcript->len; i++)
    {
      const HeraldTranscriptEntry *entry = g_ptr_array_index (result->transcript, i);

      if (entry->dir == dir && g_regex_match_simple (pattern, entry->text, G_REGEX_CASELESS, 0))
        return TRUE;
    }
  return FALSE;
}

/* The client line received right after the line matching after_regex. */
static char *
received_after (HeraldFakeServer *server,
                const char       *after_regex)
{
  g_autoptr(GPtrArray) lines = herald_fake_server_get_received (server);

  for (guint i = 0; i + 1 < lines->len; i++)
    {
      if (g_regex_match_simple (after_regex, g_ptr_array_index (lines, i), G_REGEX_CASELESS, 0))
        return g_strdup (g_ptr_array_index (lines, i + 1));
    }
  return NULL;
}

static const char *plain_greeting_ehlo =
  "S 220 fake.test ESMTP\n"
  "C EHLO client\\.test\n";

/* The dialogue up to the TLS handshake after STARTTLS. */
static const char *starttls_to_handshake =
  "S 220 fake.test ESMTP\n"
  "C EHLO client\\.test\n"
  "S 250-fake.test\nS 250-PIPELINING\nS 250-AUTH PLAIN\nS 250 STARTTLS\n"
  "C STARTTLS\nS 220 2.0.0 Ready\nSTARTTLS\n";

/* STARTTLS to "localhost" (the name in the test certificate), with the
 * password. */
static HeraldSmtpConfig *
make_starttls_config (HeraldFakeServer *server)
{
  HeraldSmtpConfig *config = make_config (herald_fake_server_get_port (server));

  g_free (config->host);
  config->host = g_strdup ("localhost");
  config->security = HERALD_SECURITY_STARTTLS;
  set_credentials (config, HERALD_AUTH_AUTO, PASSWORD, NULL);
  return config;
}

/* ---- OAuth ------------------------------------------------------------------- */

static void
test_xoauth2_success (void)
{
  g_autoptr(HeraldFakeServer) server = NULL;
  g_autoptr(HeraldSmtpConfig) config = NULL;
  g_autoptr(HeraldSmtpResult) result = NULL;
  g_autofree char *payload = NULL;
  g_autofree guchar *decoded = NULL;
  gsize length = 0;
  g_autofree char *script = g_strconcat (
    plain_greeting_ehlo,
    "S 250-fake.test\nS 250-AUTH PLAIN LOGIN XOAUTH2 OAUTHBEARER\nS 250 PIPELINING\n",
    /* XOAUTH2 waits for the 334: nothing may follow AUTH XOAUTH2 at once. */
    "C AUTH XOAUTH2\nQUIET 300\nS 334 \n",
    "C [A-Za-z0-9+/=]+\nS 235 2.7.0 Accepted\n",
    "LOOP-UNTIL-QUIT\n", NULL);
  static const char expected[] = "user=" USERNAME "\001auth=Bearer " TOKEN "\001\001";

  server = start_server (script, FALSE, FALSE);
  config = make_config (herald_fake_server_get_port (server));
  /* A token given: auto picks XOAUTH2. */
  set_credentials (config, HERALD_AUTH_AUTO, PASSWORD, TOKEN);
  config->allow_plaintext_auth = TRUE;

  result = run_session (config, server);
  g_assert_no_error (result->error);
  g_assert_true (result->ok);
  g_assert_cmpstr (result->auth_used, ==, "XOAUTH2");

  payload = received_after (server, "^AUTH XOAUTH2$");
  g_assert_nonnull (payload);
  decoded = g_base64_decode (payload, &length);
  g_assert_cmpmem (decoded, length, expected, sizeof expected - 1);

  g_assert_true (transcript_has (result, HERALD_TRANSCRIPT_CLIENT, "^<redacted>$"));
  assert_result_has_no_secrets (result);
}

static void
test_xoauth2_google_challenge (void)
{
  g_autoptr(HeraldFakeServer) server = NULL;
  g_autoptr(HeraldSmtpConfig) config = NULL;
  g_autoptr(HeraldSmtpResult) result = NULL;
  g_autofree char *challenge = g_base64_encode (
    (const guchar *) "{\"status\":\"400\",\"schemes\":\"Bearer\",\"scope\":\"https://mail.google.com/\"}", 71);
  g_autofree char *script = g_strdup_printf (
    "%s"
    "S 250-fake.test\nS 250 AUTH XOAUTH2 PLAIN\n"
    "C AUTH XOAUTH2\nS 334 \n"
    "C [A-Za-z0-9+/=]+\nS 334 %s\n"
    /* Google wants an empty line before it sends the final reply. */
    "C \n"
    "S 535-5.7.8 Username and Password not accepted. For more information, go to\n"
    "S 535 5.7.8  https://support.google.com/mail/?p=BadCredentials\n"
    "C QUIT\nS 221 2.0.0 closing\n",
    plain_greeting_ehlo, challenge);

  server = start_server (script, FALSE, FALSE);
  config = make_config (herald_fake_server_get_port (server));
  set_credentials (config, HERALD_AUTH_XOAUTH2, NULL, TOKEN);
  config->allow_plaintext_auth = TRUE;

  result = run_session (config, server);
  g_assert_false (result->ok);
  g_assert_cmpint (result->stage, ==, HERALD_STAGE_AUTH);
  g_assert_error (result->error, HERALD_SMTP_ERROR, HERALD_SMTP_ERROR_REJECTED);
  g_assert_cmpint (result->reply->code, ==, 535);
  g_assert_cmpstr (result->reply->enhanced, ==, "5.7.8");
  g_assert_false (herald_fake_server_received_matches (server, "MAIL FROM.*"));
  /* The decoded JSON helps the diagnosis ("wrong scope"). */
  g_assert_true (transcript_has (result, HERALD_TRANSCRIPT_INFO, "mail\\.google\\.com"));
  assert_result_has_no_secrets (result);
}

static void
test_oauthbearer (void)
{
  g_autoptr(HeraldFakeServer) server = NULL;
  g_autoptr(HeraldSmtpConfig) config = NULL;
  g_autoptr(HeraldSmtpResult) result = NULL;
  g_autofree char *payload = NULL;
  g_autofree guchar *decoded = NULL;
  g_autofree char *expected = NULL;
  gsize length = 0;
  g_autofree char *script = g_strconcat (
    plain_greeting_ehlo,
    "S 250-fake.test\nS 250 AUTH OAUTHBEARER PLAIN\n",
    "C AUTH OAUTHBEARER\nS 334 \n",
    "C [A-Za-z0-9+/=]+\nS 235 2.7.0 Accepted\n",
    "LOOP-UNTIL-QUIT\n", NULL);

  server = start_server (script, FALSE, FALSE);
  config = make_config (herald_fake_server_get_port (server));
  /* A token, no XOAUTH2: OAUTHBEARER. */
  set_credentials (config, HERALD_AUTH_AUTO, NULL, TOKEN);
  config->allow_plaintext_auth = TRUE;

  result = run_session (config, server);
  g_assert_no_error (result->error);
  g_assert_cmpstr (result->auth_used, ==, "OAUTHBEARER");

  payload = received_after (server, "^AUTH OAUTHBEARER$");
  g_assert_nonnull (payload);
  decoded = g_base64_decode (payload, &length);
  expected = g_strdup_printf ("n,a=" USERNAME ",\001host=127.0.0.1\001port=%u\001auth=Bearer " TOKEN
                              "\001\001", (guint) config->port);
  g_assert_cmpmem (decoded, length, expected, strlen (expected));
  assert_result_has_no_secrets (result);
}

/* ---- mechanism choice ------------------------------------------------------ */

/* The server offers @caps_reply after EHLO and nothing the engine may use
 * with @auth: it must stop at AUTH with @code, having sent no AUTH and no
 * MAIL FROM, then QUIT. */
static HeraldSmtpResult *
run_auth_refused (const char       *caps_reply,
                  HeraldAuthMethod  auth,
                  int               code)
{
  g_autoptr(HeraldFakeServer) server = NULL;
  g_autoptr(HeraldSmtpConfig) config = NULL;
  HeraldSmtpResult *result;
  g_autofree char *script = g_strconcat (plain_greeting_ehlo, caps_reply,
                                         "C QUIT\nS 221 bye\n", NULL);

  server = start_server (script, FALSE, FALSE);
  config = make_config (herald_fake_server_get_port (server));
  set_credentials (config, auth, PASSWORD, NULL);
  config->allow_plaintext_auth = TRUE;

  result = run_session (config, server);
  g_assert_false (result->ok);
  g_assert_cmpint (result->stage, ==, HERALD_STAGE_AUTH);
  g_assert_error (result->error, HERALD_SMTP_ERROR, code);
  g_assert_false (herald_fake_server_received_matches (server, "AUTH .*"));
  g_assert_false (herald_fake_server_received_matches (server, "MAIL FROM.*"));

  return result;
}

static void
test_mechanism_not_offered (void)
{
  g_autoptr(HeraldSmtpResult) result = run_auth_refused ("S 250-fake.test\nS 250 AUTH PLAIN\n",
                                                         HERALD_AUTH_LOGIN,
                                                         HERALD_SMTP_ERROR_MECHANISM_NOT_OFFERED);

  g_assert_nonnull (strstr (result->error->message, "LOGIN"));
  g_assert_cmpstr (result->auth_mechanisms[0], ==, "PLAIN");
}

static void
test_auth_not_offered (void)
{
  g_autoptr(HeraldSmtpResult) result = run_auth_refused ("S 250-fake.test\nS 250 PIPELINING\n",
                                                         HERALD_AUTH_AUTO,
                                                         HERALD_SMTP_ERROR_AUTH_NOT_OFFERED);

  g_assert_null (result->auth_mechanisms);
}

static void
test_auth_none_with_credentials (void)
{
  g_autoptr(HeraldFakeServer) server = NULL;
  g_autoptr(HeraldSmtpConfig) config = NULL;
  g_autoptr(HeraldSmtpResult) result = NULL;
  g_autofree char *script = g_strconcat (
    plain_greeting_ehlo,
    "S 250-fake.test\nS 250 AUTH PLAIN LOGIN\n",
    "C MAIL FROM:<" USERNAME ">\nS 250 2.1.0 Ok\n",
    "C RCPT TO:<bob@example\\.test>\nS 250 2.1.5 Ok\n",
    "C DATA\nS 354 go\nDATA\nS 250 2.0.0 Ok: queued\n",
    "C QUIT\nS 221 bye\n", NULL);

  server = start_server (script, FALSE, FALSE);
  config = make_config (herald_fake_server_get_port (server));
  set_credentials (config, HERALD_AUTH_NONE, PASSWORD, NULL);

  result = run_session (config, server);
  g_assert_no_error (result->error);
  g_assert_true (result->ok);
  g_assert_null (result->auth_used);
  g_assert_cmpint (result->stage_ms[HERALD_STAGE_AUTH], ==, -1);
  g_assert_false (herald_fake_server_received_matches (server, "AUTH .*"));
}

/* ---- pipelining --------------------------------------------------------------- */

static void
test_pipelined_single_flight (void)
{
  g_autoptr(HeraldFakeServer) server = NULL;
  g_autoptr(HeraldSmtpConfig) config = NULL;
  g_autoptr(HeraldSmtpResult) result = NULL;
  g_autofree char *mail = NULL;
  g_autofree char *bdat = NULL;
  g_autoptr(GBytes) message = NULL;
  g_autoptr(GMatchInfo) match = NULL;
  g_autoptr(GRegex) size_re = g_regex_new ("SIZE=(\\d+)", 0, 0, NULL);
  g_autofree char *size = NULL;
  g_autofree char *expected_bdat = NULL;
  /* The server reads everything before it answers anything: a client that
   * waited for a reply in between would hang here and time out. */
  g_autofree char *script = g_strconcat (
    plain_greeting_ehlo,
    "S 250-fake.test\nS 250-PIPELINING\nS 250-CHUNKING\nS 250-SIZE 10240000\n"
    "S 250-8BITMIME\nS 250 SMTPUTF8\n",
    "C MAIL FROM:<" USERNAME "> SIZE=\\d+ BODY=8BITMIME SMTPUTF8\n",
    "C RCPT TO:<bob@example\\.test>\n",
    "C RCPT TO:<jörg@example\\.test>\n",
    "C RCPT TO:<carol@example\\.test>\n",
    "C BDAT \\d+ LAST\nBDAT\n",
    "C QUIT\n",
    "S 250 2.1.0 Ok\nS 250 2.1.5 Ok\nS 250 2.1.5 Ok\nS 250 2.1.5 Ok\n",
    "S 250 2.0.0 Ok: queued as 4XyZ\nS 221 2.0.0 Bye\n", NULL);

  server = start_server (script, FALSE, FALSE);
  config = make_config (herald_fake_server_get_port (server));
  g_strfreev (config->to);
  config->to = g_strsplit ("bob@example.test,jörg@example.test", ",", -1);
  config->cc = g_strsplit ("carol@example.test", ",", -1);
  config->reply_timeout = 3;

  result = run_session (config, server);
  g_assert_no_error (result->error);
  g_assert_true (result->ok);
  g_assert_cmpint (result->stage, ==, HERALD_STAGE_DONE);
  g_assert_cmpstr (result->reply->text, ==, "2.0.0 Ok: queued as 4XyZ");

  /* SIZE= is the exact size of the BDAT chunk. */
  mail = received_after (server, "^EHLO .*$");
  g_assert_true (g_regex_match (size_re, mail, 0, &match));
  size = g_match_info_fetch (match, 1);
  expected_bdat = g_strdup_printf ("BDAT %s LAST", size);
  g_assert_true (herald_fake_server_received_matches (server, expected_bdat));
  message = herald_fake_server_get_message (server);
  g_assert_nonnull (message);
  g_assert_cmpuint (g_bytes_get_size (message), ==, g_ascii_strtoull (size, NULL, 10));

  /* The transcript shows the size, never the body. */
  g_assert_true (transcript_has (result, HERALD_TRANSCRIPT_CLIENT, "^<message: \\d+ bytes>$"));
  g_assert_false (transcript_has (result, HERALD_TRANSCRIPT_CLIENT, "^Subject:"));
  for (guint i = HERALD_STAGE_MAIL; i <= HERALD_STAGE_QUIT; i++)
    g_assert_cmpint (result->stage_ms[i], >=, 0);
}

static void
test_pipelined_rcpt_failure_data (void)
{
  g_autoptr(HeraldFakeServer) server = NULL;
  g_autoptr(HeraldSmtpConfig) config = NULL;
  g_autoptr(HeraldSmtpResult) result = NULL;
  g_autoptr(GPtrArray) received = NULL;
  g_autofree char *script = g_strconcat (
    plain_greeting_ehlo,
    "S 250-fake.test\nS 250 PIPELINING\n",
    "C MAIL FROM:.*\nC RCPT TO:<bob@example\\.test>\nC RCPT TO:<nobody@example\\.test>\nC DATA\n",
    "S 250 2.1.0 Ok\nS 250 2.1.5 Ok\nS 550 5.1.1 <nobody@example.test>: Recipient address rejected\n",
    /* One recipient is good, so the server is ready for data. */
    "S 354 End data with <CR><LF>.<CR><LF>\n",
    "HANG\n", NULL);

  server = start_server (script, FALSE, FALSE);
  config = make_config (herald_fake_server_get_port (server));
  g_strfreev (config->to);
  config->to = g_strsplit ("bob@example.test,nobody@example.test", ",", -1);

  result = run_session (config, server);
  g_assert_false (result->ok);
  g_assert_cmpint (result->stage, ==, HERALD_STAGE_RCPT);
  g_assert_error (result->error, HERALD_SMTP_ERROR, HERALD_SMTP_ERROR_REJECTED);
  g_assert_cmpint (result->reply->code, ==, 550);
  g_assert_cmpstr (result->reply->enhanced, ==, "5.1.1");
  g_assert_nonnull (strstr (result->error->message, "nobody@example.test"));

  /* The message must not reach the good recipient: nothing after DATA, and
   * the client closed the connection instead of ending the data. */
  received = herald_fake_server_get_received (server);
  g_assert_cmpstr (g_ptr_array_index (received, received->len - 1), ==, "DATA");
  g_assert_true (herald_fake_server_get_client_closed (server));
}

static void
test_pipelined_mail_failure_bdat (void)
{
  g_autoptr(HeraldFakeServer) server = NULL;
  g_autoptr(HeraldSmtpConfig) config = NULL;
  g_autoptr(HeraldSmtpResult) result = NULL;
  g_autofree char *script = g_strconcat (
    plain_greeting_ehlo,
    "S 250-fake.test\nS 250-PIPELINING\nS 250 CHUNKING\n",
    "C MAIL FROM:.*\nC RCPT TO:.*\nC BDAT \\d+ LAST\nBDAT\nC QUIT\n",
    "S 553 5.7.1 <" USERNAME ">: Sender address rejected: not owned by user\n",
    "S 554 5.5.1 Error: no valid recipients\nS 554 5.5.1 Error: no valid recipients\n",
    "S 221 2.0.0 Bye\n", NULL);

  server = start_server (script, FALSE, FALSE);
  config = make_config (herald_fake_server_get_port (server));

  result = run_session (config, server);
  g_assert_false (result->ok);
  g_assert_cmpint (result->stage, ==, HERALD_STAGE_MAIL);
  g_assert_cmpint (result->reply->code, ==, 553);
  g_assert_cmpstr (result->reply->enhanced, ==, "5.7.1");
}

static void
test_no_pipelining_waits (void)
{
  g_autoptr(HeraldFakeServer) server = NULL;
  g_autoptr(HeraldSmtpConfig) config = NULL;
  g_autoptr(HeraldSmtpResult) result = NULL;
  g_autoptr(GBytes) message = NULL;
  /* Without PIPELINING every command waits for its reply (QUIET fails the
   * script if the client sends early). */
  g_autofree char *script = g_strconcat (
    plain_greeting_ehlo,
    "S 250-fake.test\nS 250 8BITMIME\n",
    "C MAIL FROM:<" USERNAME ">\nQUIET 200\nS 250 Ok\n",
    "C RCPT TO:.*\nQUIET 200\nS 250 Ok\n",
    "C DATA\nQUIET 200\nS 354 go\n",
    "DATA\nQUIET 200\nS 250 Ok\n",
    "C QUIT\nS 221 Bye\n", NULL);

  server = start_server (script, FALSE, FALSE);
  config = make_config (herald_fake_server_get_port (server));
  config->extra_text = g_strdup (".leading dot\n..two\nplain");

  result = run_session (config, server);
  g_assert_no_error (result->error);
  g_assert_true (result->ok);

  /* On the wire the lines starting with a dot are stuffed. */
  message = herald_fake_server_get_message (server);
  g_assert_nonnull (message);
  {
    g_autofree char *text = g_strndup (g_bytes_get_data (message, NULL), g_bytes_get_size (message));

    g_assert_nonnull (strstr (text, "\r\n..leading dot\r\n"));
    g_assert_nonnull (strstr (text, "\r\n...two\r\n"));
  }
}

/* ---- QUIT, 421, STARTTLS injection, TLS on a plain port ------------------------ */

static void
test_missing_221_is_fine (void)
{
  g_autoptr(HeraldFakeServer) server = NULL;
  g_autoptr(HeraldSmtpConfig) config = NULL;
  g_autoptr(HeraldSmtpResult) result = NULL;
  g_autofree char *script = g_strconcat (
    plain_greeting_ehlo,
    "S 250-fake.test\nS 250-PIPELINING\nS 250 CHUNKING\n",
    "C MAIL FROM:.*\nC RCPT TO:.*\nC BDAT \\d+ LAST\nBDAT\nC QUIT\n",
    "S 250 Ok\nS 250 Ok\nS 250 2.0.0 Ok: queued\n",
    "HANG\n", NULL);
  gint64 start;

  server = start_server (script, FALSE, FALSE);
  config = make_config (herald_fake_server_get_port (server));
  config->reply_timeout = 20;

  start = g_get_monotonic_time ();
  result = run_session (config, server);

  /* Accepted is accepted: a silent server after QUIT costs at most ~1 s,
   * not the 20 s reply timeout, and is no failure. */
  g_assert_no_error (result->error);
  g_assert_true (result->ok);
  g_assert_cmpint (g_get_monotonic_time () - start, <, 5 * G_USEC_PER_SEC);
  g_assert_cmpint (result->reply->code, ==, 250);
}

static void
test_greeting_421 (void)
{
  g_autoptr(HeraldFakeServer) server = NULL;
  g_autoptr(HeraldSmtpConfig) config = NULL;
  g_autoptr(HeraldSmtpResult) result = NULL;

  server = start_server ("S 421 4.3.2 Service not available, closing transmission channel\n"
                         "HANG\n", FALSE, FALSE);
  config = make_config (herald_fake_server_get_port (server));

  result = run_session (config, server);
  g_assert_false (result->ok);
  g_assert_cmpint (result->stage, ==, HERALD_STAGE_GREETING);
  g_assert_error (result->error, HERALD_SMTP_ERROR, HERALD_SMTP_ERROR_REJECTED);
  g_assert_cmpint (result->reply->code, ==, 421);
  g_assert_cmpstr (result->greeting, ==, "4.3.2 Service not available, closing transmission channel");
  /* The server is closing: no QUIT (and no EHLO) after a 421. */
  g_assert_false (herald_fake_server_received_matches (server, ".+"));
}

static void
test_starttls_injection (void)
{
  g_autoptr(HeraldFakeServer) server = NULL;
  g_autoptr(HeraldSmtpConfig) config = NULL;
  g_autoptr(HeraldSmtpResult) result = NULL;
  g_autofree char *script = g_strconcat (
    plain_greeting_ehlo,
    "S 250-fake.test\nS 250-AUTH PLAIN\nS 250 STARTTLS\n",
    /* A reply smuggled in with the 220, before the handshake. */
    "C STARTTLS\nRAW 220 2.0.0 Ready\\r\\n250-fake.test\\r\\n250 AUTH PLAIN\\r\\n\n",
    "HANG\n", NULL);

  server = start_server (script, FALSE, FALSE);
  config = make_config (herald_fake_server_get_port (server));
  config->security = HERALD_SECURITY_STARTTLS;
  set_credentials (config, HERALD_AUTH_PLAIN, PASSWORD, NULL);

  result = run_session (config, server);
  g_assert_false (result->ok);
  g_assert_cmpint (result->stage, ==, HERALD_STAGE_STARTTLS);
  g_assert_error (result->error, HERALD_SMTP_ERROR, HERALD_SMTP_ERROR_PROTOCOL);
  g_assert_false (herald_fake_server_received_matches (server, "AUTH .*"));
  assert_result_has_no_secrets (result);
}

static void
test_implicit_tls_on_plain_port (void)
{
  g_autoptr(HeraldFakeServer) server = NULL;
  g_autoptr(HeraldSmtpConfig) config = NULL;
  g_autoptr(HeraldSmtpResult) result = NULL;

  server = start_server ("S 220 fake.test ESMTP\nHANG\n", FALSE, FALSE);
  config = make_config (herald_fake_server_get_port (server));
  config->security = HERALD_SECURITY_TLS;

  result = herald_smtp_run (config, NULL, NULL, NULL);
  herald_fake_server_wait (server, 5000);
  g_assert_false (result->ok);
  g_assert_cmpint (result->stage, ==, HERALD_STAGE_TLS);
  g_assert_error (result->error, G_TLS_ERROR, G_TLS_ERROR_NOT_TLS);
  g_assert_nonnull (strstr (result->error->message, "STARTTLS"));
  g_assert_nonnull (result->tls);
  g_assert_null (result->tls->subject);
}

static void
test_ca_file_accepts_private_ca (void)
{
  g_autoptr(HeraldFakeServer) server = NULL;
  g_autoptr(HeraldSmtpConfig) config = NULL;
  g_autoptr(HeraldSmtpResult) result = NULL;
  g_autoptr(GPtrArray) after_tls = NULL;
  g_autofree char *script = g_strconcat (
    starttls_to_handshake,
    "C EHLO client\\.test\n"
    "S 250-fake.test\nS 250-PIPELINING\nS 250 AUTH PLAIN LOGIN\n"
    "C AUTH PLAIN [A-Za-z0-9+/=]+\nS 235 2.7.0 Authentication successful\n"
    "LOOP-UNTIL-QUIT\n", NULL);

  server = start_server (script, TRUE, FALSE);
  config = make_starttls_config (server);
  config->ca_file = cert_path ("ca.pem");

  result = run_session (config, server);
  g_assert_no_error (result->error);
  g_assert_true (result->ok);
  g_assert_cmpstr (result->auth_used, ==, "PLAIN");
  g_assert_nonnull (result->tls);
  g_assert_nonnull (result->tls->version);
  g_assert_true (g_str_has_prefix (result->tls->version, "TLS 1."));
  g_assert_cmpuint (result->tls->flags, ==, 0);
  g_assert_cmpuint (g_strv_length (result->tls->errors), ==, 0);
  g_assert_nonnull (strstr (result->tls->subject, "localhost"));
  g_assert_true (g_regex_match_simple ("^([0-9A-F]{2}:){31}[0-9A-F]{2}$", result->tls->sha256, 0, 0));
  g_assert_true (g_regex_match_simple ("^\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\dZ$",
                                       result->tls->not_after, 0, 0));
  /* Credentials only after the handshake. */
  after_tls = herald_fake_server_get_received_after_tls (server);
  g_assert_true (g_str_has_prefix (g_ptr_array_index (after_tls, 1), "AUTH PLAIN "));
  g_assert_true (transcript_has (result, HERALD_TRANSCRIPT_CLIENT, "^AUTH PLAIN <redacted>$"));
  assert_result_has_no_secrets (result);
}

static void
test_missing_ca_file (void)
{
  g_autoptr(HeraldSmtpConfig) config = make_config (9);
  g_autoptr(HeraldSmtpResult) result = NULL;

  /* Refused before connecting: port 9 is never contacted. */
  config->security = HERALD_SECURITY_TLS;
  config->ca_file = g_strdup ("/nonexistent/herald-ca.pem");
  result = herald_smtp_run (config, NULL, NULL, NULL);

  g_assert_false (result->ok);
  g_assert_cmpint (result->stage, ==, HERALD_STAGE_RESOLVE);
  g_assert_error (result->error, HERALD_SMTP_ERROR, HERALD_SMTP_ERROR_INVALID_CONFIG);
  g_assert_null (result->remote_address);
}

/* A CA file that holds no certificate is refused before connecting too
 * (the full parse happens later, on the TLS helper thread). */
static void
test_ca_file_without_certificate (void)
{
  g_autoptr(HeraldSmtpConfig) config = make_config (9);
  g_autoptr(HeraldSmtpResult) result = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *path = g_build_filename (certdir, "not-a-ca.txt", NULL);

  g_file_set_contents (path, "relayhost = [smtp.example.com]:587\n", -1, &error);
  g_assert_no_error (error);
  config->security = HERALD_SECURITY_STARTTLS;
  config->ca_file = g_strdup (path);
  result = herald_smtp_run (config, NULL, NULL, NULL);

  g_assert_false (result->ok);
  g_assert_cmpint (result->stage, ==, HERALD_STAGE_RESOLVE);
  g_assert_error (result->error, HERALD_SMTP_ERROR, HERALD_SMTP_ERROR_INVALID_CONFIG);
  g_assert_nonnull (strstr (result->error->message, "not-a-ca.txt"));
  g_assert_null (result->remote_address);
}

/* The shared system-trust database the engine sets on its TLS connections
 * (so that glib-networking does not re-read the trust store per connection)
 * must give exactly the verdicts of the backend's default database. */
static void
test_system_trust_same_verdicts (void)
{
  GTlsBackend *backend = g_tls_backend_get_default ();
  g_autoptr(GTlsDatabase) shared = _herald_smtp_system_trust ();
  g_autoptr(GTlsDatabase) system = NULL;
  g_autoptr(GTlsDatabase) again = _herald_smtp_system_trust ();
  g_autoptr(GSocketConnectable) identity = g_network_address_new ("localhost", 25);
  const char *names[] = { "localhost.pem", "wronghost.pem", "expired.pem", "notyet.pem",
                          "untrusted.pem", "ca.pem" };

  g_assert_true (g_tls_backend_supports_tls (backend));
  system = g_tls_backend_get_default_database (backend);
  g_assert_nonnull (system);
  /* One object per process, and not the default database itself (that one
   * would make glib-networking rebuild its trust list per connection). */
  g_assert_true (shared == again);
  g_assert_true (shared != system);

  for (guint i = 0; i < G_N_ELEMENTS (names); i++)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(GError) shared_error = NULL;
      g_autofree char *path = cert_path (names[i]);
      g_autoptr(GTlsCertificate) certificate = g_tls_certificate_new_from_file (path, &error);
      g_autoptr(GTlsCertificate) issuer = NULL;
      GTlsCertificateFlags expected, got;

      g_assert_no_error (error);
      expected = g_tls_database_verify_chain (system, certificate,
                                              G_TLS_DATABASE_PURPOSE_AUTHENTICATE_SERVER,
                                              identity, NULL, G_TLS_DATABASE_VERIFY_NONE,
                                              NULL, &error);
      got = g_tls_database_verify_chain (shared, certificate,
                                         G_TLS_DATABASE_PURPOSE_AUTHENTICATE_SERVER,
                                         identity, NULL, G_TLS_DATABASE_VERIFY_NONE,
                                         NULL, &shared_error);
      g_test_message ("%s: system %#x, shared %#x", names[i], expected, got);
      g_assert_no_error (error);
      g_assert_no_error (shared_error);
      g_assert_cmphex (got, ==, expected);
      /* The test CA is in no system store: nothing here may pass. */
      g_assert_true (got & G_TLS_CERTIFICATE_UNKNOWN_CA);
      if (g_str_equal (names[i], "wronghost.pem"))
        g_assert_true (got & G_TLS_CERTIFICATE_BAD_IDENTITY);

      /* Lookups are forwarded too: the test CA is no system issuer. */
      issuer = g_tls_database_lookup_certificate_issuer (shared, certificate, NULL,
                                                         G_TLS_DATABASE_LOOKUP_NONE, NULL,
                                                         &error);
      g_assert_no_error (error);
      g_assert_null (issuer);
    }
}

/* Without the CA file, the engine's connection (which uses the shared
 * system trust) refuses the test CA's certificate and sends no credentials. */
static void
test_system_trust_refuses_private_ca (void)
{
  g_autoptr(HeraldFakeServer) server = NULL;
  g_autoptr(HeraldSmtpConfig) config = NULL;
  g_autoptr(HeraldSmtpResult) result = NULL;
  g_autofree char *script = g_strconcat (starttls_to_handshake, "HANG\n", NULL);

  server = start_server (script, TRUE, FALSE);
  config = make_starttls_config (server);

  result = herald_smtp_run (config, NULL, NULL, NULL);
  herald_fake_server_wait (server, 5000);
  g_assert_false (result->ok);
  g_assert_cmpint (result->stage, ==, HERALD_STAGE_TLS);
  g_assert_nonnull (result->tls);
  g_assert_true (result->tls->flags & G_TLS_CERTIFICATE_UNKNOWN_CA);
  g_assert_nonnull (strstr (result->tls->subject, "localhost"));
  g_assert_false (transcript_has (result, HERALD_TRANSCRIPT_CLIENT, "^AUTH"));
  assert_result_has_no_secrets (result);
}

int
main (int   argc,
      char *argv[])
{
  int status;

  g_test_init (&argc, &argv, NULL);
  certdir = herald_test_make_certs ("engine/certs");

  g_test_add_func ("/herald/engine/session/xoauth2", test_xoauth2_success);
  g_test_add_func ("/herald/engine/session/xoauth2-google-challenge", test_xoauth2_google_challenge);
  g_test_add_func ("/herald/engine/session/oauthbearer", test_oauthbearer);
  g_test_add_func ("/herald/engine/session/mechanism-not-offered", test_mechanism_not_offered);
  g_test_add_func ("/herald/engine/session/auth-not-offered", test_auth_not_offered);
  g_test_add_func ("/herald/engine/session/auth-none-with-credentials", test_auth_none_with_credentials);
  g_test_add_func ("/herald/engine/session/pipelined-single-flight", test_pipelined_single_flight);
  g_test_add_func ("/herald/engine/session/pipelined-rcpt-failure", test_pipelined_rcpt_failure_data);
  g_test_add_func ("/herald/engine/session/pipelined-mail-failure", test_pipelined_mail_failure_bdat);
  g_test_add_func ("/herald/engine/session/no-pipelining-waits", test_no_pipelining_waits);
  g_test_add_func ("/herald/engine/session/missing-221", test_missing_221_is_fine);
  g_test_add_func ("/herald/engine/session/greeting-421", test_greeting_421);
  g_test_add_func ("/herald/engine/session/starttls-injection", test_starttls_injection);
  g_test_add_func ("/herald/engine/session/implicit-tls-on-plain-port", test_implicit_tls_on_plain_port);
  g_test_add_func ("/herald/engine/session/ca-file", test_ca_file_accepts_private_ca);
  g_test_add_func ("/herald/engine/session/missing-ca-file", test_missing_ca_file);
  g_test_add_func ("/herald/engine/session/ca-file-without-certificate",
                   test_ca_file_without_certificate);
  g_test_add_func ("/herald/engine/session/system-trust-same-verdicts", test_system_trust_same_verdicts);
  g_test_add_func ("/herald/engine/session/system-trust-refuses-private-ca",
                   test_system_trust_refuses_private_ca);

  status = g_test_run ();
  g_free (certdir);
  return status;
}
