/* SPDX-License-Identifier: GPL-3.0-or-later
 * Copyright 2026 The Herald authors
 */
#define G_LOG_DOMAIN "herald-test-smtp"

/* The engine against the scripted fake SMTP server, over real loopback
 * sockets and real TLS (glib-networking) with the test CA trusted through
 * config->ca_file. Each test builds its script, runs the engine and checks
 * both the engine's result and what the server received.
 */

#include <signal.h>
#include <string.h>
#include <glib/gstdio.h>

#include "herald-smtp.h"
#include "herald-test-util.h"

#define USERNAME "alice@example.test"
#define PASSWORD "Corr3ct-H0rse-Battery-Staple!"
#define FROM     "alice@example.test"
#define TO       "bob@example.test"
#define CC       "carol@example.test"
#define HELO     "client.test"
#define TOKEN    "ya29.a0-Fake-Access-Token_1234567890abcdefghij"
/* A body that only survives SMTP with correct dot-stuffing (DATA) and
 * CRLF normalisation. */
#define EXTRA_TEXT "First extra line\n.starts with a dot\n..two dots\n.\nlast line\r\nbare CR\rend"

static char *certdir;

/* ---------------------------------------------------------------------------
 * Helpers.
 * ------------------------------------------------------------------------- */

static char *
cert_path (const char *name)
{
  return g_build_filename (certdir, name, NULL);
}

static char *
b64 (const char *data,
     gsize       len)
{
  return g_base64_encode ((const guchar *) data, len);
}

static char *
plain_payload (void)
{
  static const char raw[] = "\0" USERNAME "\0" PASSWORD;

  return b64 (raw, sizeof raw - 1);
}

/* Appends a (multi-line) reply: lines separated by '|'. */
static void
reply (GString    *s,
       int         code,
       const char *lines)
{
  g_auto(GStrv) v = g_strsplit (lines, "|", -1);
  guint n = g_strv_length (v);

  for (guint i = 0; i < n; i++)
    g_string_append_printf (s, "S %d%c%s\n", code, i + 1 < n ? '-' : ' ', v[i]);
}

/* A client line that must be exactly text. */
static void
expect_exact (GString    *s,
              const char *text)
{
  g_autofree char *escaped = g_regex_escape_string (text, -1);

  herald_test_script_line (s, "C %s", escaped);
}

static void
greeting (GString *s)
{
  reply (s, 220, "fake.test ESMTP Herald fake server");
}

/* Greeting, EHLO and the server's reply to it ('|'-separated lines). */
static void
ehlo_prelude (GString    *s,
              int         code,
              const char *lines)
{
  greeting (s);
  herald_test_script_line (s, "C EHLO " HELO);
  reply (s, code, lines);
}

/* Greeting, EHLO, STARTTLS, handshake, EHLO again with caps_after ('|'-separated). */
static void
starttls_prelude (GString    *s,
                  const char *caps_after)
{
  g_autofree char *caps = g_strconcat ("fake.test Hello|", caps_after, NULL);

  ehlo_prelude (s, 250, "fake.test Hello|SIZE 10240000|PIPELINING|8BITMIME|STARTTLS");
  herald_test_script_line (s, "C STARTTLS");
  reply (s, 220, "2.0.0 Ready to start TLS");
  herald_test_script_line (s, "STARTTLS");
  herald_test_script_line (s, "C EHLO " HELO);
  reply (s, 250, caps);
}

static void
auth_plain_ok (GString *s)
{
  g_autofree char *payload = plain_payload ();
  g_autofree char *command = g_strconcat ("AUTH PLAIN ", payload, NULL);

  expect_exact (s, command);
  reply (s, 235, "2.7.0 Authentication successful");
}

static HeraldSmtpConfig *
make_config (guint16          port,
             HeraldSecurity   security,
             HeraldAuthMethod auth)
{
  HeraldSmtpConfig *config = herald_smtp_config_new ();

  config->host = g_strdup ("localhost");
  config->port = port;
  config->security = security;
  config->auth = auth;
  if (auth != HERALD_AUTH_NONE)
    {
      config->username = g_strdup (USERNAME);
      config->password = g_strdup (PASSWORD);
    }
  config->from = g_strdup (FROM);
  config->to = g_new0 (char *, 2);
  config->to[0] = g_strdup (TO);
  config->subject = g_strdup ("Herald fake-server test");
  config->extra_text = g_strdup (EXTRA_TEXT);
  config->ca_file = cert_path ("ca.pem");
  config->helo_name = g_strdup (HELO);
  config->connect_timeout = 5;
  config->reply_timeout = 5;

  return config;
}

static HeraldFakeServer *
start_server (GString    *script,
              const char *cert,
              gboolean    implicit,
              guint16    *port)
{
  HeraldFakeServer *server = herald_test_start_fake_server (script->str, certdir, cert, implicit);

  *port = herald_fake_server_get_port (server);
  return server;
}

/* The script must have run to its end without a failed step. */
static void
assert_server_passed (HeraldFakeServer *server)
{
  gboolean passed = herald_fake_server_wait (server, 10000);
  g_autofree char *failure = herald_fake_server_get_failure (server);

  g_assert_cmpstr (failure, ==, NULL);
  g_assert_true (passed);
}

static void
assert_ok (HeraldSmtpResult *result)
{
  if (result->error != NULL)
    g_test_message ("engine error at stage %s: %s", herald_stage_to_string (result->stage),
                    result->error->message);
  g_assert_no_error (result->error);
  g_assert_true (result->ok);
  g_assert_cmpint (result->stage, ==, HERALD_STAGE_DONE);
}

static gboolean
strv_contains_nocase (char       **strv,
                      const char  *item)
{
  for (guint i = 0; strv != NULL && strv[i] != NULL; i++)
    if (g_ascii_strcasecmp (strv[i], item) == 0)
      return TRUE;

  return FALSE;
}

/* The pieces of base64 that appear whenever `secret` is base64-encoded,
 * whatever bytes precede it (three alignments). */
static GPtrArray *
base64_forms (const char *secret)
{
  GPtrArray *forms = g_ptr_array_new_with_free_func (g_free);
  gsize len = strlen (secret);

  for (gsize k = 0; k < 3; k++)
    {
      g_autofree char *data = g_malloc0 (k + len);
      g_autofree char *enc = NULL;
      gsize start = k == 0 ? 0 : 4;
      gsize end = ((k + len) / 3) * 4;

      memcpy (data + k, secret, len);
      enc = b64 (data, k + len);
      g_assert_cmpuint (end, >, start + 8);
      g_ptr_array_add (forms, g_strndup (enc + start, end - start));
    }

  return forms;
}

static void
assert_text_has_no_secrets (const char *text)
{
  static const char *secrets[] = { PASSWORD, TOKEN };
  g_autofree char *plain = plain_payload ();

  if (text == NULL)
    return;

  /* Never print text here: it may hold the very secret we look for. */
  g_assert_null (strstr (text, plain));
  for (guint k = 0; k < G_N_ELEMENTS (secrets); k++)
    {
      g_autoptr(GPtrArray) forms = base64_forms (secrets[k]);

      g_assert_null (strstr (text, secrets[k]));
      for (guint i = 0; i < forms->len; i++)
        g_assert_null (strstr (text, g_ptr_array_index (forms, i)));
    }
}

static void
assert_no_secrets (HeraldSmtpResult *result)
{
  g_assert_nonnull (result->transcript);
  for (guint i = 0; i < result->transcript->len; i++)
    {
      HeraldTranscriptEntry *entry = g_ptr_array_index (result->transcript, i);

      assert_text_has_no_secrets (entry->text);
    }
  if (result->error != NULL)
    assert_text_has_no_secrets (result->error->message);
  if (result->reply != NULL)
    {
      assert_text_has_no_secrets (result->reply->raw);
      assert_text_has_no_secrets (result->reply->text);
    }
}

static gboolean
transcript_has (HeraldSmtpResult    *result,
                HeraldTranscriptDir  dir,
                const char          *prefix)
{
  for (guint i = 0; i < result->transcript->len; i++)
    {
      HeraldTranscriptEntry *entry = g_ptr_array_index (result->transcript, i);

      if (entry->dir == dir && entry->text != NULL &&
          g_ascii_strncasecmp (entry->text, prefix, strlen (prefix)) == 0)
        return TRUE;
    }

  return FALSE;
}

/* Every line of the message ends in CRLF. */
static void
assert_crlf_only (GBytes *message)
{
  gsize len;
  const char *data = g_bytes_get_data (message, &len);

  g_assert_cmpuint (len, >, 0);
  for (gsize i = 0; i < len; i++)
    {
      if (data[i] == '\n')
        g_assert_true (i > 0 && data[i - 1] == '\r');
      if (data[i] == '\r')
        g_assert_true (i + 1 < len && data[i + 1] == '\n');
    }
}

static char *
bytes_to_string (GBytes *bytes)
{
  gsize len;
  const char *data = g_bytes_get_data (bytes, &len);

  return g_strndup (data, len);
}

static char *
sha256_of_cert (const char *name)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *path = cert_path (name);
  g_autoptr(GTlsCertificate) cert = g_tls_certificate_new_from_file (path, &error);
  g_autoptr(GByteArray) der = NULL;
  g_autofree char *hex = NULL;
  GString *out = g_string_new (NULL);

  g_assert_no_error (error);
  g_object_get (cert, "certificate", &der, NULL);
  hex = g_compute_checksum_for_data (G_CHECKSUM_SHA256, der->data, der->len);
  for (guint i = 0; hex[i] != '\0'; i += 2)
    g_string_append_printf (out, "%s%c%c", i ? ":" : "", g_ascii_toupper (hex[i]),
                            g_ascii_toupper (hex[i + 1]));

  return g_string_free (out, FALSE);
}

static gint64
iso_to_unix (const char *iso)
{
  g_autoptr(GTimeZone) utc = g_time_zone_new_utc ();
  g_autoptr(GDateTime) dt = NULL;

  g_assert_nonnull (iso);
  dt = g_date_time_new_from_iso8601 (iso, utc);
  g_assert_nonnull (dt);

  return g_date_time_to_unix (dt);
}

/* ---------------------------------------------------------------------------
 * Successful paths.
 * ------------------------------------------------------------------------- */

typedef struct {
  GThread *thread;
  GArray  *events;  /* HeraldProgress */
  gboolean other_thread;
} ProgressLog;

static void
progress_log_cb (const HeraldProgress *progress,
                 gpointer              user_data)
{
  ProgressLog *log = user_data;

  if (g_thread_self () != log->thread)
    log->other_thread = TRUE;
  g_array_append_val (log->events, *progress);
}

static gboolean
progress_has (ProgressLog     *log,
              HeraldStage      stage,
              HeraldStepState  state)
{
  for (guint i = 0; i < log->events->len; i++)
    {
      HeraldProgress *p = &g_array_index (log->events, HeraldProgress, i);

      if (p->stage == stage && p->state == state)
        return TRUE;
    }

  return FALSE;
}

/* STARTTLS + AUTH PLAIN + PIPELINING + CHUNKING: MAIL, both RCPTs and
 * BDAT LAST in one flight. */
static void
test_starttls_chunking (void)
{
  g_autoptr(GString) s = g_string_new (NULL);
  g_autoptr(HeraldFakeServer) server = NULL;
  g_autoptr(HeraldSmtpConfig) config = NULL;
  g_autoptr(HeraldSmtpResult) result = NULL;
  g_autoptr(GBytes) message = NULL;
  g_autoptr(GPtrArray) after_tls = NULL;
  g_autofree char *text = NULL;
  g_autofree char *payload = plain_payload ();
  g_autofree char *auth_line = g_strconcat ("AUTH PLAIN ", payload, NULL);
  ProgressLog log = { g_thread_self (), g_array_new (FALSE, FALSE, sizeof (HeraldProgress)),
                      FALSE };
  guint16 port;

  starttls_prelude (s, "AUTH PLAIN LOGIN|PIPELINING|CHUNKING|8BITMIME|ENHANCEDSTATUSCODES");
  auth_plain_ok (s);
  herald_test_script_line (s, "C MAIL FROM:<" FROM ">.*");
  herald_test_script_line (s, "C RCPT TO:<" TO ">.*");
  herald_test_script_line (s, "C RCPT TO:<" CC ">.*");
  herald_test_script_line (s, "C BDAT [0-9]+ LAST");
  herald_test_script_line (s, "BDAT");
  reply (s, 250, "2.1.0 Sender OK");
  reply (s, 250, "2.1.5 Recipient OK");
  reply (s, 250, "2.1.5 Recipient OK");
  reply (s, 250, "2.0.0 OK <fake-queue-id> Queued mail for delivery");
  herald_test_script_line (s, "C QUIT");
  reply (s, 221, "2.0.0 Service closing transmission channel");

  server = start_server (s, "localhost", FALSE, &port);
  config = make_config (port, HERALD_SECURITY_STARTTLS, HERALD_AUTH_AUTO);
  config->cc = g_new0 (char *, 2);
  config->cc[0] = g_strdup (CC);

  result = herald_smtp_run (config, NULL, progress_log_cb, &log);
  assert_ok (result);
  assert_server_passed (server);
  assert_no_secrets (result);

  /* The credential really went to the server, inside TLS only. */
  after_tls = herald_fake_server_get_received_after_tls (server);
  g_assert_true (g_ptr_array_find_with_equal_func (after_tls, auth_line, g_str_equal, NULL));
  g_assert_true (herald_fake_server_get_tls_succeeded (server));

  g_assert_nonnull (result->tls);
  g_assert_cmpuint (result->tls->flags, ==, 0);
  g_assert_nonnull (result->tls->version);
  g_assert_true (g_str_has_prefix (result->tls->version, "TLS"));
  g_assert_nonnull (result->tls->subject);
  g_assert_nonnull (strstr (result->tls->subject, "localhost"));
  g_assert_cmpstr (result->auth_used, ==, "PLAIN");
  g_assert_nonnull (result->remote_address);
  g_assert_true (g_str_has_prefix (result->remote_address, "127.0.0.1:"));
  g_assert_nonnull (result->greeting);
  g_assert_nonnull (strstr (result->greeting, "fake.test ESMTP"));
  g_assert_true (strv_contains_nocase (result->auth_mechanisms, "PLAIN"));
  g_assert_true (strv_contains_nocase (result->auth_mechanisms, "LOGIN"));

  /* BDAT carries the message as is: CRLF, no dot-stuffing. */
  message = herald_fake_server_get_message (server);
  g_assert_nonnull (message);
  assert_crlf_only (message);
  text = bytes_to_string (message);
  g_assert_nonnull (strstr (text, "\r\nSubject: Herald fake-server test\r\n"));
  g_assert_nonnull (strstr (text, "\r\n.starts with a dot\r\n..two dots\r\n.\r\nlast line\r\n"));
  g_assert_nonnull (result->message_id);
  g_assert_nonnull (strstr (text, result->message_id));
  g_assert_null (strstr (text, PASSWORD));

  /* The transcript shows the dialogue, with the AUTH payload redacted. */
  g_assert_true (transcript_has (result, HERALD_TRANSCRIPT_SERVER, "220"));
  g_assert_true (transcript_has (result, HERALD_TRANSCRIPT_CLIENT, "EHLO " HELO));
  g_assert_true (transcript_has (result, HERALD_TRANSCRIPT_CLIENT, "AUTH PLAIN"));
  g_assert_true (transcript_has (result, HERALD_TRANSCRIPT_CLIENT, "BDAT"));

  /* Synchronous progress comes on the calling thread. */
  g_assert_false (log.other_thread);
  g_assert_true (progress_has (&log, HERALD_STAGE_GREETING, HERALD_STEP_SUCCEEDED));
  g_assert_true (progress_has (&log, HERALD_STAGE_TLS, HERALD_STEP_SUCCEEDED));
  g_assert_true (progress_has (&log, HERALD_STAGE_AUTH, HERALD_STEP_SUCCEEDED));
  g_assert_false (progress_has (&log, HERALD_STAGE_AUTH, HERALD_STEP_FAILED));
  g_array_unref (log.events);
}

/* Implicit TLS, PIPELINING without CHUNKING: MAIL, RCPT and DATA in one
 * flight, the message only after 354, dot-stuffed. */
static void
test_implicit_tls_pipelined_data (void)
{
  g_autoptr(GString) s = g_string_new (NULL);
  g_autoptr(HeraldFakeServer) server = NULL;
  g_autoptr(HeraldSmtpConfig) config = NULL;
  g_autoptr(HeraldSmtpResult) result = NULL;
  g_autoptr(GBytes) message = NULL;
  g_autofree char *text = NULL;
  guint16 port;

  ehlo_prelude (s, 250, "fake.test Hello|AUTH PLAIN LOGIN|PIPELINING|8BITMIME");
  auth_plain_ok (s);
  herald_test_script_line (s, "C MAIL FROM:<" FROM ">.*");
  herald_test_script_line (s, "C RCPT TO:<" TO ">.*");
  herald_test_script_line (s, "C DATA");
  herald_test_script_line (s, "QUIET 150");  /* the message must wait for 354 */
  reply (s, 250, "2.1.0 Sender OK");
  reply (s, 250, "2.1.5 Recipient OK");
  reply (s, 354, "Start mail input; end with <CRLF>.<CRLF>");
  herald_test_script_line (s, "DATA");
  reply (s, 250, "2.0.0 OK queued as 12345");
  herald_test_script_line (s, "C QUIT");
  reply (s, 221, "2.0.0 Bye");

  server = start_server (s, "localhost", TRUE, &port);
  config = make_config (port, HERALD_SECURITY_TLS, HERALD_AUTH_AUTO);

  result = herald_smtp_run (config, NULL, NULL, NULL);
  assert_ok (result);
  assert_server_passed (server);
  assert_no_secrets (result);

  g_assert_nonnull (result->tls);
  g_assert_cmpuint (result->tls->flags, ==, 0);
  g_assert_nonnull (result->tls->version);
  g_assert_cmpstr (result->auth_used, ==, "PLAIN");
  g_assert_nonnull (result->reply);
  g_assert_cmpint (result->reply->code, >=, 200);

  /* On the wire: dot-stuffed, so the lone "." of the text did not end the
   * message early (the server would then have seen garbage commands). */
  message = herald_fake_server_get_message (server);
  g_assert_nonnull (message);
  assert_crlf_only (message);
  text = bytes_to_string (message);
  g_assert_nonnull (strstr (text, "\r\n..starts with a dot\r\n...two dots\r\n..\r\nlast line\r\n"));
  /* The bare CR is either a line break or quoted-printable, never raw. */
  g_assert_nonnull (strstr (text, "\r\nbare CR"));
}

/* No PIPELINING: one command, one reply, the client waits every time. */
static void
test_no_pipelining (void)
{
  g_autoptr(GString) s = g_string_new (NULL);
  g_autoptr(HeraldFakeServer) server = NULL;
  g_autoptr(HeraldSmtpConfig) config = NULL;
  g_autoptr(HeraldSmtpResult) result = NULL;
  guint16 port;

  starttls_prelude (s, "AUTH PLAIN|8BITMIME");
  auth_plain_ok (s);
  herald_test_script_line (s, "C MAIL FROM:<" FROM ">.*");
  herald_test_script_line (s, "QUIET 150");
  reply (s, 250, "2.1.0 Sender OK");
  herald_test_script_line (s, "C RCPT TO:<" TO ">.*");
  herald_test_script_line (s, "QUIET 150");
  reply (s, 250, "2.1.5 Recipient OK");
  herald_test_script_line (s, "C DATA");
  herald_test_script_line (s, "QUIET 150");
  reply (s, 354, "go ahead");
  herald_test_script_line (s, "DATA");
  reply (s, 250, "2.0.0 OK");
  herald_test_script_line (s, "C QUIT");
  reply (s, 221, "2.0.0 Bye");

  server = start_server (s, "localhost", FALSE, &port);
  config = make_config (port, HERALD_SECURITY_STARTTLS, HERALD_AUTH_PLAIN);
  result = herald_smtp_run (config, NULL, NULL, NULL);
  assert_ok (result);
  assert_server_passed (server);
  assert_no_secrets (result);
  g_assert_false (herald_fake_server_received_matches (server, "BDAT.*"));
}

/* A server answering EHLO with a bare "250": no capabilities at all, so
 * plain MAIL, RCPT, DATA one at a time; and no crash (the capability parser
 * once wrote through memory past its lines). Also run in a child without
 * G_DEBUG=gc-friendly, which zero-fills and so hid that memory. */
static void
bare_ehlo_run (const char *bare)
{
  g_autoptr(GString) s = g_string_new (NULL);
  g_autoptr(HeraldFakeServer) server = NULL;
  g_autoptr(HeraldSmtpConfig) config = NULL;
  g_autoptr(HeraldSmtpResult) result = NULL;
  guint16 port;

  greeting (s);
  herald_test_script_line (s, "C EHLO " HELO);
  herald_test_script_line (s, "S %s", bare);
  herald_test_script_line (s, "C MAIL FROM:<" FROM ">");
  reply (s, 250, "2.1.0 Sender OK");
  herald_test_script_line (s, "C RCPT TO:<" TO ">");
  reply (s, 250, "2.1.5 Recipient OK");
  herald_test_script_line (s, "C DATA");
  reply (s, 354, "go ahead");
  herald_test_script_line (s, "DATA");
  reply (s, 250, "2.0.0 OK");
  herald_test_script_line (s, "C QUIT");
  reply (s, 221, "2.0.0 Bye");

  server = start_server (s, NULL, FALSE, &port);
  config = make_config (port, HERALD_SECURITY_NONE, HERALD_AUTH_NONE);
  result = herald_smtp_run (config, NULL, NULL, NULL);
  assert_ok (result);
  assert_server_passed (server);
  g_assert_null (result->auth_mechanisms);
}

static void
test_bare_ehlo_reply (void)
{
  if (g_test_subprocess ())
    {
      for (guint i = 0; i < 8; i++)
        {
          bare_ehlo_run ("250");
          bare_ehlo_run ("250 ");
        }
      return;
    }

  bare_ehlo_run ("250");
  bare_ehlo_run ("250 ");

  g_setenv ("G_DEBUG", "fatal-warnings", TRUE);
  g_setenv ("MALLOC_PERTURB_", "170", TRUE);
  g_setenv ("GLIBC_TUNABLES", "glibc.malloc.tcache_count=0", TRUE);
  g_test_trap_subprocess (NULL, 60 * G_USEC_PER_SEC, G_TEST_SUBPROCESS_INHERIT_STDERR);
  g_setenv ("G_DEBUG", "gc-friendly", TRUE);
  g_unsetenv ("GLIBC_TUNABLES");
  g_test_trap_assert_passed ();
}

/* No control character and no bidi override, anywhere. */
static void
assert_printable (const char *text)
{
  g_assert_true (g_utf8_validate (text, -1, NULL));
  for (const char *p = text; *p != '\0'; p = g_utf8_next_char (p))
    {
      gunichar c = g_utf8_get_char (p);

      g_assert_false (c < 0x20 || (c >= 0x7f && c <= 0x9f));
      g_assert_false ((c >= 0x202a && c <= 0x202e) || (c >= 0x2066 && c <= 0x2069) ||
                      c == 0x200e || c == 0x200f || c == 0x061c);
    }
}

/* A certificate whose names carry ESC, BEL, 0x1F and U+202E: the subject
 * and issuer reach the result, the transcript, reports and JSON filtered
 * like reply text (they once changed the terminal title and broke JSON). */
static void
test_hostile_certificate_names (void)
{
  g_autoptr(GString) s = g_string_new (NULL);
  g_autoptr(HeraldFakeServer) server = NULL;
  g_autoptr(HeraldSmtpConfig) config = NULL;
  g_autoptr(HeraldSmtpResult) result = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *dir = g_build_filename (g_get_tmp_dir (), "herald-evil-cert-XXXXXX", NULL);
  g_autofree char *key = NULL;
  g_autofree char *cert = NULL;
  g_autofree char *subject = g_strdup ("/CN=localhost\033]0;pwned\007\033[2J/O=Bad\037Org\342\200\256gnp.exe");
  int status = -1;
  guint16 port;

  g_assert_nonnull (g_mkdtemp (dir));
  key = g_build_filename (dir, "evil-key.pem", NULL);
  cert = g_build_filename (dir, "evil.pem", NULL);
  {
    const char *argv[] = { "openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes",
                           "-keyout", key, "-out", cert, "-days", "2", "-utf8",
                           "-subj", subject, NULL };

    g_spawn_sync (NULL, (char **) argv, NULL, G_SPAWN_SEARCH_PATH | G_SPAWN_STDOUT_TO_DEV_NULL |
                  G_SPAWN_STDERR_TO_DEV_NULL, NULL, NULL, NULL, NULL, &status, &error);
    g_assert_no_error (error);
    g_assert_true (g_spawn_check_wait_status (status, NULL));
  }

  greeting (s);
  herald_test_script_line (s, "C EHLO " HELO);
  reply (s, 250, "fake.test|STARTTLS");
  herald_test_script_line (s, "C STARTTLS");
  reply (s, 220, "go ahead");
  herald_test_script_line (s, "STARTTLS");
  herald_test_script_line (s, "HANG");

  server = herald_test_start_fake_server (s->str, dir, "evil", FALSE);
  port = herald_fake_server_get_port (server);
  config = make_config (port, HERALD_SECURITY_STARTTLS, HERALD_AUTH_NONE);
  result = herald_smtp_run (config, NULL, NULL, NULL);

  g_assert_false (result->ok);
  g_assert_error (result->error, HERALD_SMTP_ERROR, HERALD_SMTP_ERROR_TLS_CERTIFICATE);
  g_assert_nonnull (result->tls);
  g_assert_nonnull (result->tls->subject);
  g_test_message ("subject: %s", result->tls->subject);
  assert_printable (result->tls->subject);
  assert_printable (result->tls->issuer);
  g_assert_nonnull (strstr (result->tls->subject, "localhost"));
  g_assert_nonnull (strstr (result->tls->subject, "pwned"));
  assert_printable (result->error->message);
  for (guint i = 0; i < result->transcript->len; i++)
    assert_printable (((HeraldTranscriptEntry *) g_ptr_array_index (result->transcript, i))->text);

  herald_fake_server_stop (server);
  g_unlink (key);
  g_unlink (cert);
  g_rmdir (dir);
}

/* Multi-line greeting and EHLO replies, with the old AUTH= form too. */
static void
test_multiline_replies (void)
{
  g_autoptr(GString) s = g_string_new (NULL);
  g_autoptr(HeraldFakeServer) server = NULL;
  g_autoptr(HeraldSmtpConfig) config = NULL;
  g_autoptr(HeraldSmtpResult) result = NULL;
  guint16 port;

  reply (s, 220, "fake.test ESMTP first line|second line of the greeting|third and last");
  herald_test_script_line (s, "C EHLO " HELO);
  reply (s, 250, "fake.test Hello|SIZE 1000000|STARTTLS|ENHANCEDSTATUSCODES|HELP");
  herald_test_script_line (s, "C STARTTLS");
  reply (s, 220, "2.0.0 go ahead");
  herald_test_script_line (s, "STARTTLS");
  herald_test_script_line (s, "C EHLO " HELO);
  reply (s, 250, "fake.test Hello [127.0.0.1]|SIZE 1000000|AUTH=LOGIN|AUTH LOGIN|"
                 "ENHANCEDSTATUSCODES|DSN|HELP");
  herald_test_script_line (s, "C AUTH LOGIN");
  herald_test_script_line (s, "S 334 VXNlcm5hbWU6");
  herald_test_script_line (s, "C *");
  herald_test_script_line (s, "S 334 UGFzc3dvcmQ6");
  herald_test_script_line (s, "C *");
  reply (s, 235, "2.7.0 Accepted");
  herald_test_script_line (s, "LOOP-UNTIL-QUIT");

  server = start_server (s, "localhost", FALSE, &port);
  config = make_config (port, HERALD_SECURITY_STARTTLS, HERALD_AUTH_AUTO);
  result = herald_smtp_run (config, NULL, NULL, NULL);
  assert_ok (result);
  assert_server_passed (server);
  assert_no_secrets (result);

  g_assert_nonnull (result->greeting);
  g_assert_nonnull (strstr (result->greeting, "fake.test ESMTP first line"));
  g_assert_true (strv_contains_nocase (result->auth_mechanisms, "LOGIN"));
  g_assert_false (strv_contains_nocase (result->auth_mechanisms, "PLAIN"));
  g_assert_cmpstr (result->auth_used, ==, "LOGIN");
}

/* AUTH LOGIN chosen explicitly, answering both 334 prompts. */
static void
test_auth_login (void)
{
  g_autoptr(GString) s = g_string_new (NULL);
  g_autoptr(HeraldFakeServer) server = NULL;
  g_autoptr(HeraldSmtpConfig) config = NULL;
  g_autoptr(HeraldSmtpResult) result = NULL;
  g_autofree char *user64 = b64 (USERNAME, strlen (USERNAME));
  g_autofree char *pass64 = b64 (PASSWORD, strlen (PASSWORD));
  guint16 port;

  starttls_prelude (s, "AUTH PLAIN LOGIN|PIPELINING");
  herald_test_script_line (s, "C AUTH LOGIN");
  herald_test_script_line (s, "S 334 VXNlcm5hbWU6");
  expect_exact (s, user64);
  herald_test_script_line (s, "S 334 UGFzc3dvcmQ6");
  expect_exact (s, pass64);
  reply (s, 235, "2.7.0 Authentication successful");
  herald_test_script_line (s, "LOOP-UNTIL-QUIT");

  server = start_server (s, "localhost", FALSE, &port);
  config = make_config (port, HERALD_SECURITY_STARTTLS, HERALD_AUTH_LOGIN);
  result = herald_smtp_run (config, NULL, NULL, NULL);
  assert_ok (result);
  assert_server_passed (server);
  assert_no_secrets (result);
  g_assert_cmpstr (result->auth_used, ==, "LOGIN");
  g_assert_true (herald_fake_server_received_matches (server, "MAIL FROM:<" FROM ">.*"));
}

static char *
xoauth2_payload (void)
{
  static const char raw[] = "user=" USERNAME "\001auth=Bearer " TOKEN "\001\001";

  return b64 (raw, sizeof raw - 1);
}

/* A token and no password: auto picks XOAUTH2, sends the token after 334. */
static void
test_xoauth2 (void)
{
  g_autoptr(GString) s = g_string_new (NULL);
  g_autoptr(HeraldFakeServer) server = NULL;
  g_autoptr(HeraldSmtpConfig) config = NULL;
  g_autoptr(HeraldSmtpResult) result = NULL;
  g_autofree char *payload = xoauth2_payload ();
  guint16 port;

  starttls_prelude (s, "AUTH LOGIN XOAUTH2|PIPELINING|CHUNKING");
  herald_test_script_line (s, "C AUTH XOAUTH2");
  herald_test_script_line (s, "S 334 ");
  expect_exact (s, payload);
  reply (s, 235, "2.7.0 Authentication successful");
  herald_test_script_line (s, "LOOP-UNTIL-QUIT");

  server = start_server (s, "localhost", FALSE, &port);
  config = make_config (port, HERALD_SECURITY_STARTTLS, HERALD_AUTH_AUTO);
  g_clear_pointer (&config->password, g_free);
  config->oauth_token = g_strdup (TOKEN);
  result = herald_smtp_run (config, NULL, NULL, NULL);
  assert_ok (result);
  assert_server_passed (server);
  assert_no_secrets (result);
  g_assert_cmpstr (result->auth_used, ==, "XOAUTH2");
}

/* Google refuses a token with a 334 base64 JSON challenge: answer with an
 * empty line, then report the final 535-5.7.8; never go on to MAIL. */
static void
test_xoauth2_error_challenge (void)
{
  static const char json[] =
    "{\"status\":\"400\",\"schemes\":\"Bearer\",\"scope\":\"https://mail.google.com/\"}";
  g_autoptr(GString) s = g_string_new (NULL);
  g_autoptr(HeraldFakeServer) server = NULL;
  g_autoptr(HeraldSmtpConfig) config = NULL;
  g_autoptr(HeraldSmtpResult) result = NULL;
  g_autofree char *payload = xoauth2_payload ();
  g_autofree char *challenge = b64 (json, sizeof json - 1);
  guint16 port;

  ehlo_prelude (s, 250, "smtp.gmail.com at your service|AUTH LOGIN PLAIN XOAUTH2 PLAIN-CLIENTTOKEN "
                        "OAUTHBEARER XOAUTH|ENHANCEDSTATUSCODES|PIPELINING|CHUNKING|SMTPUTF8");
  herald_test_script_line (s, "C AUTH XOAUTH2");
  herald_test_script_line (s, "S 334 ");
  expect_exact (s, payload);
  herald_test_script_line (s, "S 334 %s", challenge);
  herald_test_script_line (s, "C ^$");
  reply (s, 535, "5.7.8 Username and Password not accepted. For more information, go to|"
                 "5.7.8  https://support.google.com/mail/?p=BadCredentials - gsmtp");
  herald_test_script_line (s, "C QUIT");
  reply (s, 221, "2.0.0 closing connection");

  server = start_server (s, "localhost", TRUE, &port);
  config = make_config (port, HERALD_SECURITY_TLS, HERALD_AUTH_XOAUTH2);
  g_clear_pointer (&config->password, g_free);
  config->oauth_token = g_strdup (TOKEN);
  result = herald_smtp_run (config, NULL, NULL, NULL);

  g_assert_false (result->ok);
  g_assert_cmpint (result->stage, ==, HERALD_STAGE_AUTH);
  g_assert_nonnull (result->reply);
  g_assert_cmpint (result->reply->code, ==, 535);
  g_assert_cmpstr (result->reply->enhanced, ==, "5.7.8");
  assert_no_secrets (result);
  assert_server_passed (server);
  g_assert_false (herald_fake_server_received_matches (server, "MAIL.*"));
}

/* EHLO answered with 502: HELO instead (no encryption, no AUTH chosen). */
static void
test_helo_fallback (void)
{
  g_autoptr(GString) s = g_string_new (NULL);
  g_autoptr(HeraldFakeServer) server = NULL;
  g_autoptr(HeraldSmtpConfig) config = NULL;
  g_autoptr(HeraldSmtpResult) result = NULL;
  guint16 port;

  ehlo_prelude (s, 502, "5.5.1 Command not implemented");
  herald_test_script_line (s, "C HELO " HELO);
  reply (s, 250, "fake.test");
  herald_test_script_line (s, "C MAIL FROM:<" FROM ">");   /* no ESMTP parameters after HELO */
  herald_test_script_line (s, "QUIET 150");                /* no PIPELINING after HELO */
  reply (s, 250, "OK");
  herald_test_script_line (s, "LOOP-UNTIL-QUIT");

  server = start_server (s, NULL, FALSE, &port);
  config = make_config (port, HERALD_SECURITY_NONE, HERALD_AUTH_NONE);
  result = herald_smtp_run (config, NULL, NULL, NULL);
  assert_ok (result);
  assert_server_passed (server);
  g_assert_null (result->tls);
  g_assert_true (herald_fake_server_received_matches (server, "DATA"));
}

/* The async API: progress on the caller's thread-default main context,
 * progress_destroy once after the last event, the callback there too. */
typedef struct {
  GMainContext     *context;
  GMainLoop        *loop;
  GArray           *events;
  gboolean          wrong_context;
  guint             destroyed;
  guint             events_after_destroy;
  HeraldSmtpResult *result;
  GCancellable     *cancellable;
  HeraldFakeServer *server;
} AsyncRun;

static void
async_progress_cb (const HeraldProgress *progress,
                   gpointer              user_data)
{
  AsyncRun *run = user_data;

  if (!g_main_context_is_owner (run->context) ||
      g_main_context_get_thread_default () != run->context)
    run->wrong_context = TRUE;
  if (run->destroyed > 0)
    run->events_after_destroy++;
  g_array_append_val (run->events, *progress);
}

static void
async_destroy_cb (gpointer user_data)
{
  AsyncRun *run = user_data;

  if (!g_main_context_is_owner (run->context))
    run->wrong_context = TRUE;
  run->destroyed++;
}

static void
async_done_cb (GObject      *source,
               GAsyncResult *res,
               gpointer      user_data)
{
  AsyncRun *run = user_data;
  g_autoptr(GError) error = NULL;

  if (g_main_context_get_thread_default () != run->context)
    run->wrong_context = TRUE;
  run->result = herald_smtp_run_finish (res, &error);
  g_assert_no_error (error);
  g_assert_nonnull (run->result);
  g_main_loop_quit (run->loop);
}

static void
async_run (AsyncRun         *run,
           HeraldSmtpConfig *config)
{
  run->context = g_main_context_new ();
  run->loop = g_main_loop_new (run->context, FALSE);
  run->events = g_array_new (FALSE, FALSE, sizeof (HeraldProgress));

  g_main_context_push_thread_default (run->context);
  herald_smtp_run_async (config, run->cancellable, async_progress_cb, run, async_destroy_cb,
                         async_done_cb, run);
  g_main_loop_run (run->loop);
  /* progress_destroy may come just after the result: let it arrive. */
  for (guint i = 0; i < 100 && run->destroyed == 0; i++)
    {
      while (g_main_context_iteration (run->context, FALSE))
        ;
      if (run->destroyed == 0)
        g_usleep (10000);
    }
  g_main_context_pop_thread_default (run->context);
}

static void
async_run_clear (AsyncRun *run)
{
  g_clear_pointer (&run->loop, g_main_loop_unref);
  g_clear_pointer (&run->context, g_main_context_unref);
  g_clear_pointer (&run->events, g_array_unref);
  g_clear_pointer (&run->result, herald_smtp_result_free);
}

static void
test_async_progress (void)
{
  g_autoptr(GString) s = g_string_new (NULL);
  g_autoptr(HeraldFakeServer) server = NULL;
  g_autoptr(HeraldSmtpConfig) config = NULL;
  AsyncRun run = { 0 };
  HeraldProgress *last;
  gint64 prev_ms = 0;
  guint16 port;

  starttls_prelude (s, "AUTH PLAIN|PIPELINING|CHUNKING");
  auth_plain_ok (s);
  herald_test_script_line (s, "DELAY 50");
  herald_test_script_line (s, "LOOP-UNTIL-QUIT");

  server = start_server (s, "localhost", FALSE, &port);
  config = make_config (port, HERALD_SECURITY_STARTTLS, HERALD_AUTH_AUTO);
  async_run (&run, config);

  assert_ok (run.result);
  assert_server_passed (server);
  assert_no_secrets (run.result);
  g_assert_false (run.wrong_context);
  g_assert_cmpuint (run.destroyed, ==, 1);
  g_assert_cmpuint (run.events_after_destroy, ==, 0);

  /* Stages start before they end, in order, with growing timestamps. */
  g_assert_cmpuint (run.events->len, >=, 8);
  for (guint i = 0; i < run.events->len; i++)
    {
      HeraldProgress *p = &g_array_index (run.events, HeraldProgress, i);

      g_assert_cmpint (p->ms, >=, prev_ms);
      prev_ms = p->ms;
      g_assert_cmpint (p->state, !=, HERALD_STEP_FAILED);
      if (p->state == HERALD_STEP_SUCCEEDED)
        {
          gboolean started = FALSE;

          for (guint j = 0; j < i; j++)
            {
              HeraldProgress *q = &g_array_index (run.events, HeraldProgress, j);

              if (q->stage == p->stage && q->state == HERALD_STEP_STARTED)
                started = TRUE;
            }
          g_assert_true (started);
        }
    }
  for (HeraldStage st = HERALD_STAGE_GREETING; st <= HERALD_STAGE_DATA; st++)
    {
      gboolean seen = FALSE;

      for (guint i = 0; i < run.events->len; i++)
        {
          HeraldProgress *p = &g_array_index (run.events, HeraldProgress, i);

          if (p->stage == st && p->state == HERALD_STEP_SUCCEEDED)
            seen = TRUE;
        }
      if (!seen)
        g_test_message ("no SUCCEEDED event for stage %s", herald_stage_to_string (st));
      g_assert_true (seen);
    }
  last = &g_array_index (run.events, HeraldProgress, run.events->len - 1);
  g_assert_cmpint (last->state, ==, HERALD_STEP_SUCCEEDED);

  async_run_clear (&run);
}

/* ---------------------------------------------------------------------------
 * Failures that must stop the dialogue.
 * ------------------------------------------------------------------------- */

/* STARTTLS required but not advertised: stop before any credential. */
static void
test_starttls_not_offered (void)
{
  g_autoptr(GString) s = g_string_new (NULL);
  g_autoptr(HeraldFakeServer) server = NULL;
  g_autoptr(HeraldSmtpConfig) config = NULL;
  g_autoptr(HeraldSmtpResult) result = NULL;
  guint16 port;

  ehlo_prelude (s, 250, "fake.test Hello|AUTH PLAIN LOGIN|PIPELINING|8BITMIME");
  herald_test_script_line (s, "LOOP-UNTIL-QUIT");

  server = start_server (s, NULL, FALSE, &port);
  config = make_config (port, HERALD_SECURITY_STARTTLS, HERALD_AUTH_AUTO);
  result = herald_smtp_run (config, NULL, NULL, NULL);

  g_assert_false (result->ok);
  g_assert_error (result->error, HERALD_SMTP_ERROR, HERALD_SMTP_ERROR_STARTTLS_NOT_OFFERED);
  g_assert_cmpint (result->stage, ==, HERALD_STAGE_STARTTLS);
  g_assert_null (result->auth_used);
  assert_no_secrets (result);

  herald_fake_server_wait (server, 3000);
  g_assert_false (herald_fake_server_received_matches (server, "AUTH.*"));
  g_assert_false (herald_fake_server_received_matches (server, "MAIL.*"));
  g_assert_false (herald_fake_server_received_matches (server, "STARTTLS"));
  g_assert_false (herald_fake_server_received_matches (server, ".*" PASSWORD ".*"));
}

/* Security none with a password and without explicit permission: refused,
 * nothing sent. */
static void
test_plaintext_auth_refused (void)
{
  g_autoptr(GString) s = g_string_new (NULL);
  g_autoptr(HeraldFakeServer) server = NULL;
  g_autoptr(HeraldSmtpConfig) config = NULL;
  g_autoptr(HeraldSmtpResult) result = NULL;
  guint16 port;

  ehlo_prelude (s, 250, "fake.test Hello|AUTH PLAIN LOGIN");
  herald_test_script_line (s, "LOOP-UNTIL-QUIT");

  server = start_server (s, NULL, FALSE, &port);
  config = make_config (port, HERALD_SECURITY_NONE, HERALD_AUTH_PLAIN);
  result = herald_smtp_run (config, NULL, NULL, NULL);

  g_assert_false (result->ok);
  g_assert_error (result->error, HERALD_SMTP_ERROR, HERALD_SMTP_ERROR_PLAINTEXT_AUTH_REFUSED);
  assert_no_secrets (result);
  herald_fake_server_stop (server);
  g_assert_false (herald_fake_server_received_matches (server, "AUTH.*"));
  g_assert_false (herald_fake_server_received_matches (server, "MAIL.*"));
}

/* 535: one attempt only, then QUIT, never MAIL FROM. */
static void
test_auth_failure (void)
{
  g_autoptr(GString) s = g_string_new (NULL);
  g_autoptr(HeraldFakeServer) server = NULL;
  g_autoptr(HeraldSmtpConfig) config = NULL;
  g_autoptr(HeraldSmtpResult) result = NULL;
  g_autoptr(GPtrArray) received = NULL;
  gboolean after_auth = FALSE;
  guint16 port;

  starttls_prelude (s, "AUTH LOGIN PLAIN XOAUTH2|PIPELINING|CHUNKING");
  herald_test_script_line (s, "C AUTH PLAIN .*");
  reply (s, 535, "5.7.139 Authentication unsuccessful, the user credentials were incorrect. "
                 "[AM0PR02CA0001.eurprd02.prod.outlook.com]");
  herald_test_script_line (s, "C QUIT");
  reply (s, 221, "2.0.0 Service closing transmission channel");

  server = start_server (s, "localhost", FALSE, &port);
  config = make_config (port, HERALD_SECURITY_STARTTLS, HERALD_AUTH_AUTO);
  result = herald_smtp_run (config, NULL, NULL, NULL);

  g_assert_false (result->ok);
  g_assert_cmpint (result->stage, ==, HERALD_STAGE_AUTH);
  g_assert_error (result->error, HERALD_SMTP_ERROR, HERALD_SMTP_ERROR_REJECTED);
  g_assert_nonnull (result->reply);
  g_assert_cmpint (result->reply->code, ==, 535);
  g_assert_cmpstr (result->reply->enhanced, ==, "5.7.139");
  g_assert_nonnull (strstr (result->reply->text, "Authentication unsuccessful"));
  g_assert_cmpstr (result->auth_used, ==, "PLAIN");
  assert_no_secrets (result);
  assert_server_passed (server);

  received = herald_fake_server_get_received (server);
  for (guint i = 0; i < received->len; i++)
    {
      const char *l = g_ptr_array_index (received, i);

      if (g_str_has_prefix (l, "AUTH "))
        {
          g_assert_false (after_auth);  /* one attempt */
          after_auth = TRUE;
        }
      else if (after_auth)
        g_assert_cmpstr (l, ==, "QUIT");
    }
  g_assert_true (after_auth);
  g_assert_false (herald_fake_server_received_matches (server, "MAIL.*"));
}

/* A Gmail-style multi-line 535 over implicit TLS. */
static void
test_auth_failure_multiline (void)
{
  g_autoptr(GString) s = g_string_new (NULL);
  g_autoptr(HeraldFakeServer) server = NULL;
  g_autoptr(HeraldSmtpConfig) config = NULL;
  g_autoptr(HeraldSmtpResult) result = NULL;
  guint16 port;

  ehlo_prelude (s, 250, "smtp.gmail.com at your service|AUTH LOGIN PLAIN XOAUTH2 PLAIN-CLIENTTOKEN "
                        "OAUTHBEARER XOAUTH|ENHANCEDSTATUSCODES|PIPELINING|CHUNKING|SMTPUTF8");
  herald_test_script_line (s, "C AUTH PLAIN .*");
  reply (s, 535, "5.7.8 Username and Password not accepted. For more information, go to|"
                 "5.7.8  https://support.google.com/mail/?p=BadCredentials x1-20020a.9 - gsmtp");
  herald_test_script_line (s, "C QUIT");
  reply (s, 221, "2.0.0 closing connection");

  server = start_server (s, "localhost", TRUE, &port);
  config = make_config (port, HERALD_SECURITY_TLS, HERALD_AUTH_PLAIN);
  result = herald_smtp_run (config, NULL, NULL, NULL);

  g_assert_false (result->ok);
  g_assert_cmpint (result->stage, ==, HERALD_STAGE_AUTH);
  g_assert_nonnull (result->reply);
  g_assert_cmpint (result->reply->code, ==, 535);
  g_assert_cmpstr (result->reply->enhanced, ==, "5.7.8");
  g_assert_nonnull (strstr (result->reply->text, "Username and Password not accepted"));
  g_assert_nonnull (strstr (result->reply->text, "BadCredentials"));
  assert_no_secrets (result);
  assert_server_passed (server);
  g_assert_false (herald_fake_server_received_matches (server, "MAIL.*"));
}

/* Connected, but the server never greets: the reply timeout is honoured. */
static void
test_no_greeting (void)
{
  g_autoptr(GString) s = g_string_new ("HANG\n");
  g_autoptr(HeraldFakeServer) server = NULL;
  g_autoptr(HeraldSmtpConfig) config = NULL;
  g_autoptr(HeraldSmtpResult) result = NULL;
  gint64 start, elapsed;
  guint16 port;

  server = start_server (s, NULL, FALSE, &port);
  config = make_config (port, HERALD_SECURITY_STARTTLS, HERALD_AUTH_AUTO);
  config->reply_timeout = 1;

  start = g_get_monotonic_time ();
  result = herald_smtp_run (config, NULL, NULL, NULL);
  elapsed = (g_get_monotonic_time () - start) / 1000;

  g_assert_false (result->ok);
  g_assert_cmpint (result->stage, ==, HERALD_STAGE_GREETING);
  g_assert_error (result->error, HERALD_SMTP_ERROR, HERALD_SMTP_ERROR_NO_GREETING);
  g_assert_cmpint (elapsed, >=, 900);
  g_assert_cmpint (elapsed, <, 5000);  /* a hang guard only */
  assert_server_passed (server);       /* HANG ends when the client closes */
  g_assert_true (herald_fake_server_get_client_closed (server));
}

/* 200 kB without a newline: the line cap fails the test quickly, long before
 * the reply timeout. */
static void
run_flood (gboolean in_ehlo)
{
  g_autoptr(GString) s = g_string_new (NULL);
  g_autoptr(HeraldFakeServer) server = NULL;
  g_autoptr(HeraldSmtpConfig) config = NULL;
  g_autoptr(HeraldSmtpResult) result = NULL;
  g_autofree char *flood = g_strnfill (200 * 1024, 'x');
  gint64 start, elapsed;
  guint16 port;

  if (in_ehlo)
    {
      greeting (s);
      herald_test_script_line (s, "C EHLO " HELO);
      herald_test_script_line (s, "RAW 250-%s", flood);
    }
  else
    herald_test_script_line (s, "RAW 220 %s", flood);
  herald_test_script_line (s, "HANG");

  server = start_server (s, NULL, FALSE, &port);
  config = make_config (port, HERALD_SECURITY_STARTTLS, HERALD_AUTH_AUTO);
  config->reply_timeout = 10;

  start = g_get_monotonic_time ();
  result = herald_smtp_run (config, NULL, NULL, NULL);
  elapsed = (g_get_monotonic_time () - start) / 1000;

  g_assert_false (result->ok);
  g_assert_error (result->error, HERALD_SMTP_ERROR, HERALD_SMTP_ERROR_REPLY_TOO_LONG);
  g_assert_cmpint (result->stage, ==, in_ehlo ? HERALD_STAGE_EHLO : HERALD_STAGE_GREETING);
  g_assert_cmpint (elapsed, <, 5000);
  /* The server may fail to write the rest of the flood; it must end anyway. */
  herald_fake_server_wait (server, 5000);
  g_assert_true (herald_fake_server_is_done (server));
}

static void
test_flood_greeting (void)
{
  run_flood (FALSE);
}

static void
test_flood_ehlo (void)
{
  run_flood (TRUE);
}

/* The server closes the connection in the middle of the message. */
static void
test_close_mid_data (void)
{
  g_autoptr(GString) s = g_string_new (NULL);
  g_autoptr(HeraldFakeServer) server = NULL;
  g_autoptr(HeraldSmtpConfig) config = NULL;
  g_autoptr(HeraldSmtpResult) result = NULL;
  gint64 start, elapsed;
  guint16 port;

  starttls_prelude (s, "AUTH PLAIN");
  auth_plain_ok (s);
  herald_test_script_line (s, "C MAIL FROM:.*");
  reply (s, 250, "OK");
  herald_test_script_line (s, "C RCPT TO:.*");
  reply (s, 250, "OK");
  herald_test_script_line (s, "C DATA");
  reply (s, 354, "go ahead");
  herald_test_script_line (s, "C *");
  herald_test_script_line (s, "C *");
  herald_test_script_line (s, "CLOSE");

  server = start_server (s, "localhost", FALSE, &port);
  config = make_config (port, HERALD_SECURITY_STARTTLS, HERALD_AUTH_AUTO);
  config->reply_timeout = 10;

  start = g_get_monotonic_time ();
  result = herald_smtp_run (config, NULL, NULL, NULL);
  elapsed = (g_get_monotonic_time () - start) / 1000;

  g_assert_false (result->ok);
  g_assert_cmpint (result->stage, ==, HERALD_STAGE_DATA);
  g_assert_nonnull (result->error);
  g_assert_false (g_error_matches (result->error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT));
  g_assert_false (g_error_matches (result->error, G_IO_ERROR, G_IO_ERROR_CANCELLED));
  g_assert_cmpint (elapsed, <, 5000);
  assert_no_secrets (result);
  assert_server_passed (server);
}

/* ---------------------------------------------------------------------------
 * Certificates that must be refused: nothing is sent after the handshake.
 * ------------------------------------------------------------------------- */

typedef struct {
  const char           *name;         /* the test's path under /smtp-fake/cert/ */
  const char           *cert;         /* the server's certificate (make-test-certs.sh) */
  gboolean              implicit;
  GTlsCertificateFlags  flag;
  const char           *flag_name;
  const char           *subject;
  const char           *issuer;
  gint64                not_before;   /* 0: the certificate's dates are around now */
  gint64                not_after;
} BadCertificate;

static const BadCertificate bad_certificates[] = {
  { "wrong-host", "wronghost", FALSE, G_TLS_CERTIFICATE_BAD_IDENTITY, "bad-identity",
    "wrong.example", "Herald Test CA", 0, 0 },
  { "expired", "expired", FALSE, G_TLS_CERTIFICATE_EXPIRED, "expired",
    "localhost", "Herald Test CA", 1577836800, 1609459200 },
  { "not-yet-valid", "notyet", FALSE, G_TLS_CERTIFICATE_NOT_ACTIVATED, "not-activated",
    "localhost", "Herald Test CA", 2208988800, 2366841600 },
  { "untrusted", "untrusted", FALSE, G_TLS_CERTIFICATE_UNKNOWN_CA, "unknown-ca",
    "localhost", "Herald Untrusted CA", 0, 0 },
  { "untrusted-implicit", "untrusted", TRUE, G_TLS_CERTIFICATE_UNKNOWN_CA, "unknown-ca",
    "localhost", "Herald Untrusted CA", 0, 0 },
};

static void
test_bad_certificate (gconstpointer data)
{
  const BadCertificate *c = data;
  g_autoptr(GString) s = g_string_new (NULL);
  g_autoptr(HeraldFakeServer) server = NULL;
  g_autoptr(HeraldSmtpConfig) config = NULL;
  g_autoptr(HeraldSmtpResult) result = NULL;
  g_autoptr(GPtrArray) received = NULL;
  g_autoptr(GPtrArray) after_tls = NULL;
  g_autofree char *sha256 = NULL;
  g_autofree char *pem = g_strconcat (c->cert, ".pem", NULL);
  gint64 now = g_get_real_time () / G_USEC_PER_SEC;
  guint16 port;

  /* If the client went on, it would find a willing server. */
  if (c->implicit)
    ehlo_prelude (s, 250, "fake.test|AUTH PLAIN LOGIN|PIPELINING");
  else
    starttls_prelude (s, "AUTH PLAIN LOGIN|PIPELINING");
  herald_test_script_line (s, "LOOP-UNTIL-QUIT");

  server = start_server (s, c->cert, c->implicit, &port);
  config = make_config (port, c->implicit ? HERALD_SECURITY_TLS : HERALD_SECURITY_STARTTLS,
                        HERALD_AUTH_AUTO);
  result = herald_smtp_run (config, NULL, NULL, NULL);

  g_assert_false (result->ok);
  g_assert_cmpint (result->stage, ==, HERALD_STAGE_TLS);
  g_assert_error (result->error, HERALD_SMTP_ERROR, HERALD_SMTP_ERROR_TLS_CERTIFICATE);
  assert_no_secrets (result);

  g_assert_nonnull (result->tls);
  g_assert_cmpuint (result->tls->flags & c->flag, ==, c->flag);
  g_assert_nonnull (result->tls->errors);
  g_assert_true (g_strv_contains ((const char * const *) result->tls->errors, c->flag_name));
  g_assert_nonnull (result->tls->subject);
  g_assert_nonnull (strstr (result->tls->subject, c->subject));
  g_assert_nonnull (result->tls->issuer);
  g_assert_nonnull (strstr (result->tls->issuer, c->issuer));
  sha256 = sha256_of_cert (pem);
  g_assert_cmpstr (result->tls->sha256, ==, sha256);
  if (c->not_before != 0)
    {
      g_assert_cmpint (iso_to_unix (result->tls->not_before), ==, c->not_before);
      g_assert_cmpint (iso_to_unix (result->tls->not_after), ==, c->not_after);
    }
  else
    {
      g_assert_cmpint (iso_to_unix (result->tls->not_before), <=, now);
      g_assert_cmpint (iso_to_unix (result->tls->not_after), >, now);
    }

  /* The handshake failed on the server's side too, and the client sent
   * nothing after it: no EHLO, no AUTH, not even QUIT in the clear. */
  herald_fake_server_wait (server, 5000);
  g_assert_true (herald_fake_server_get_tls_failed (server));
  g_assert_false (herald_fake_server_get_tls_succeeded (server));
  after_tls = herald_fake_server_get_received_after_tls (server);
  g_assert_cmpuint (after_tls->len, ==, 0);
  received = herald_fake_server_get_received (server);
  if (c->implicit)
    g_assert_cmpuint (received->len, ==, 0);
  else
    {
      g_assert_cmpuint (received->len, ==, 2);
      g_assert_cmpstr (g_ptr_array_index (received, 1), ==, "STARTTLS");
    }
  g_assert_false (herald_fake_server_received_matches (server, "AUTH.*"));
}

/* ---------------------------------------------------------------------------
 * Cancellation at every stage, while the server hangs there.
 * ------------------------------------------------------------------------- */

typedef struct {
  HeraldFakeServer *server;
  const char       *regex;        /* the last line the server reads; NULL: the connection */
  GCancellable     *cancellable;
  HeraldStage       stage;        /* cancel once the engine has started it */
  gint              stage_started;
  gint64            cancelled_at;
} Canceller;

static void
canceller_progress_cb (const HeraldProgress *progress,
                       gpointer              user_data)
{
  Canceller *c = user_data;

  if (progress->stage == c->stage && progress->state == HERALD_STEP_STARTED)
    g_atomic_int_set (&c->stage_started, 1);
}

static gpointer
canceller_thread (gpointer data)
{
  Canceller *c = data;
  gint64 deadline = g_get_monotonic_time () + 10 * G_USEC_PER_SEC;

  while (g_get_monotonic_time () < deadline)
    {
      if (g_atomic_int_get (&c->stage_started) &&
          (c->regex == NULL ? herald_fake_server_get_n_accepted (c->server) > 0
                            : herald_fake_server_received_matches (c->server, c->regex)))
        break;
      g_usleep (5000);
    }
  /* Let the engine settle into its blocking read. */
  g_usleep (150000);
  c->cancelled_at = g_get_monotonic_time ();
  g_cancellable_cancel (c->cancellable);

  return NULL;
}

typedef enum {
  HANG_GREETING,
  HANG_EHLO,
  HANG_STARTTLS,
  HANG_TLS,
  HANG_AUTH,
  HANG_MAIL,
  HANG_DATA,
} HangAt;

static const char *
build_hang_script (GString *s,
                   HangAt   at)
{
  const char *regex = NULL;

  if (at == HANG_GREETING)
    goto hang;
  greeting (s);
  herald_test_script_line (s, "C EHLO " HELO);
  regex = "EHLO .*";
  if (at == HANG_EHLO)
    goto hang;
  reply (s, 250, "fake.test|STARTTLS");
  herald_test_script_line (s, "C STARTTLS");
  regex = "STARTTLS";
  if (at == HANG_STARTTLS)
    goto hang;
  reply (s, 220, "2.0.0 go ahead");
  if (at == HANG_TLS)
    goto hang;  /* the ClientHello is never answered */
  herald_test_script_line (s, "STARTTLS");
  herald_test_script_line (s, "C EHLO " HELO);
  reply (s, 250, "fake.test|AUTH PLAIN");
  herald_test_script_line (s, "C AUTH PLAIN .*");
  regex = "AUTH PLAIN .*";
  if (at == HANG_AUTH)
    goto hang;
  reply (s, 235, "2.7.0 OK");
  herald_test_script_line (s, "C MAIL FROM:.*");
  regex = "MAIL FROM:.*";
  if (at == HANG_MAIL)
    goto hang;
  reply (s, 250, "OK");
  herald_test_script_line (s, "C RCPT TO:.*");
  reply (s, 250, "OK");
  herald_test_script_line (s, "C DATA");
  reply (s, 354, "go ahead");
  herald_test_script_line (s, "DATA");
  regex = "\\.";

hang:
  herald_test_script_line (s, "HANG");
  return regex;
}

static void
run_cancel (HangAt      at,
            HeraldStage stage)
{
  g_autoptr(GString) s = g_string_new (NULL);
  g_autoptr(HeraldFakeServer) server = NULL;
  g_autoptr(HeraldSmtpConfig) config = NULL;
  g_autoptr(HeraldSmtpResult) result = NULL;
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  Canceller c = { 0 };
  GThread *thread;
  gint64 returned_at;
  guint16 port;

  c.regex = build_hang_script (s, at);
  server = start_server (s, "localhost", FALSE, &port);
  config = make_config (port, HERALD_SECURITY_STARTTLS, HERALD_AUTH_PLAIN);
  config->reply_timeout = 20;
  c.server = server;
  c.cancellable = cancellable;
  c.stage = stage;

  thread = g_thread_new ("canceller", canceller_thread, &c);
  result = herald_smtp_run (config, cancellable, canceller_progress_cb, &c);
  returned_at = g_get_monotonic_time ();
  g_thread_join (thread);

  g_assert_false (result->ok);
  g_assert_error (result->error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_assert_cmpint (result->stage, ==, stage);
  g_assert_cmpint (c.cancelled_at, >, 0);
  /* Promptly: a generous bound that still tells a cancel from a timeout. */
  g_assert_cmpint ((returned_at - c.cancelled_at) / 1000, <, 2000);
  assert_no_secrets (result);

  /* The engine dropped the connection: the server's HANG ended. */
  assert_server_passed (server);
  g_assert_true (herald_fake_server_get_client_closed (server));
}

static void
test_cancel_greeting (void)
{
  run_cancel (HANG_GREETING, HERALD_STAGE_GREETING);
}

static void
test_cancel_ehlo (void)
{
  run_cancel (HANG_EHLO, HERALD_STAGE_EHLO);
}

static void
test_cancel_starttls (void)
{
  run_cancel (HANG_STARTTLS, HERALD_STAGE_STARTTLS);
}

static void
test_cancel_tls (void)
{
  run_cancel (HANG_TLS, HERALD_STAGE_TLS);
}

static void
test_cancel_auth (void)
{
  run_cancel (HANG_AUTH, HERALD_STAGE_AUTH);
}

static void
test_cancel_mail (void)
{
  run_cancel (HANG_MAIL, HERALD_STAGE_MAIL);
}

static void
test_cancel_data (void)
{
  run_cancel (HANG_DATA, HERALD_STAGE_DATA);
}

/* The async API, cancelled from a timeout source on the caller's context. */
static gboolean
cancel_when_auth_cb (gpointer user_data)
{
  AsyncRun *run = user_data;

  if (!herald_fake_server_received_matches (run->server, "AUTH PLAIN .*"))
    return G_SOURCE_CONTINUE;

  g_cancellable_cancel (run->cancellable);
  return G_SOURCE_REMOVE;
}

static void
test_cancel_async (void)
{
  g_autoptr(GString) s = g_string_new (NULL);
  g_autoptr(HeraldFakeServer) server = NULL;
  g_autoptr(HeraldSmtpConfig) config = NULL;
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  g_autoptr(GSource) source = NULL;
  AsyncRun run = { 0 };
  guint16 port;
  gint64 start, elapsed;

  build_hang_script (s, HANG_AUTH);
  server = start_server (s, "localhost", FALSE, &port);
  config = make_config (port, HERALD_SECURITY_STARTTLS, HERALD_AUTH_PLAIN);
  config->reply_timeout = 20;
  run.cancellable = cancellable;
  run.server = server;

  /* async_run() creates the context; attach the canceller to it from the
   * progress path by creating the context first. */
  run.context = g_main_context_new ();
  run.loop = g_main_loop_new (run.context, FALSE);
  run.events = g_array_new (FALSE, FALSE, sizeof (HeraldProgress));
  source = g_timeout_source_new (20);
  g_source_set_callback (source, cancel_when_auth_cb, &run, NULL);
  g_source_attach (source, run.context);

  start = g_get_monotonic_time ();
  g_main_context_push_thread_default (run.context);
  herald_smtp_run_async (config, cancellable, async_progress_cb, &run, async_destroy_cb,
                         async_done_cb, &run);
  g_main_loop_run (run.loop);
  g_main_context_pop_thread_default (run.context);
  elapsed = (g_get_monotonic_time () - start) / 1000;
  g_source_destroy (source);

  g_assert_nonnull (run.result);
  g_assert_false (run.result->ok);
  g_assert_error (run.result->error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_assert_cmpint (run.result->stage, ==, HERALD_STAGE_AUTH);
  g_assert_cmpint (elapsed, <, 10000);
  g_assert_false (run.wrong_context);
  assert_no_secrets (run.result);
  assert_server_passed (server);

  /* Drain late events so the destroy notify runs before we free. */
  for (guint i = 0; i < 100 && run.destroyed == 0; i++)
    {
      while (g_main_context_iteration (run.context, FALSE))
        ;
      if (run.destroyed == 0)
        g_usleep (10000);
    }
  g_assert_cmpuint (run.destroyed, ==, 1);
  async_run_clear (&run);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);
  signal (SIGPIPE, SIG_IGN);
  certdir = herald_test_make_certs ("smtp/certs");

  g_test_add_func ("/smtp-fake/starttls-pipelining-chunking", test_starttls_chunking);
  g_test_add_func ("/smtp-fake/implicit-tls-pipelining-data", test_implicit_tls_pipelined_data);
  g_test_add_func ("/smtp-fake/no-pipelining", test_no_pipelining);
  g_test_add_func ("/smtp-fake/multiline-replies", test_multiline_replies);
  g_test_add_func ("/smtp-fake/bare-ehlo-reply", test_bare_ehlo_reply);
  g_test_add_func ("/smtp-fake/hostile-certificate-names", test_hostile_certificate_names);
  g_test_add_func ("/smtp-fake/auth-login", test_auth_login);
  g_test_add_func ("/smtp-fake/xoauth2", test_xoauth2);
  g_test_add_func ("/smtp-fake/xoauth2-error-challenge", test_xoauth2_error_challenge);
  g_test_add_func ("/smtp-fake/helo-fallback", test_helo_fallback);
  g_test_add_func ("/smtp-fake/async-progress", test_async_progress);
  g_test_add_func ("/smtp-fake/starttls-not-offered", test_starttls_not_offered);
  g_test_add_func ("/smtp-fake/plaintext-auth-refused", test_plaintext_auth_refused);
  g_test_add_func ("/smtp-fake/auth-failure", test_auth_failure);
  g_test_add_func ("/smtp-fake/auth-failure-multiline", test_auth_failure_multiline);
  g_test_add_func ("/smtp-fake/no-greeting", test_no_greeting);
  g_test_add_func ("/smtp-fake/flood-greeting", test_flood_greeting);
  g_test_add_func ("/smtp-fake/flood-ehlo", test_flood_ehlo);
  g_test_add_func ("/smtp-fake/close-mid-data", test_close_mid_data);
  for (guint i = 0; i < G_N_ELEMENTS (bad_certificates); i++)
    {
      g_autofree char *path = g_strconcat ("/smtp-fake/cert/", bad_certificates[i].name, NULL);

      g_test_add_data_func (path, &bad_certificates[i], test_bad_certificate);
    }
  g_test_add_func ("/smtp-fake/cancel/greeting", test_cancel_greeting);
  g_test_add_func ("/smtp-fake/cancel/ehlo", test_cancel_ehlo);
  g_test_add_func ("/smtp-fake/cancel/starttls", test_cancel_starttls);
  g_test_add_func ("/smtp-fake/cancel/tls", test_cancel_tls);
  g_test_add_func ("/smtp-fake/cancel/auth", test_cancel_auth);
  g_test_add_func ("/smtp-fake/cancel/mail", test_cancel_mail);
  g_test_add_func ("/smtp-fake/cancel/data", test_cancel_data);
  g_test_add_func ("/smtp-fake/cancel/async", test_cancel_async);

  return g_test_run ();
}
