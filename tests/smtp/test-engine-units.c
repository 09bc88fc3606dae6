/* SPDX-License-Identifier: GPL-3.0-or-later
 * Copyright 2026 The Herald authors
 */
#define G_LOG_DOMAIN "herald-test"

#include <string.h>
#include <gmime/gmime.h>

#include "herald-smtp-private.h"

/* Unit tests of the engine's pieces: no network at all. The reply reader is
 * fed from memory streams. */

/* GMime 3.2 declares no autoptr cleanups. */
G_DEFINE_AUTOPTR_CLEANUP_FUNC (GMimeStream, g_object_unref)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (GMimeParser, g_object_unref)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (GMimeMessage, g_object_unref)

/* ---- helpers -------------------------------------------------------------- */

static const char *
contains_ci (const char *haystack,
             const char *needle)
{
  g_autofree char *h = g_ascii_strdown (haystack, -1);
  g_autofree char *n = g_ascii_strdown (needle, -1);
  const char *found = strstr (h, n);

  return found != NULL ? haystack + (found - h) : NULL;
}

static HeraldSmtpReply *
parse_reply_full (const char  *data,
                  gsize        length,
                  GPtrArray   *lines,
                  GError     **error);

static void
collect_line_cb (const char *line,
                 gpointer    user_data)
{
  g_ptr_array_add (user_data, g_strdup (line));
}

static HeraldSmtpReply *
parse_reply_full (const char  *data,
                  gsize        length,
                  GPtrArray   *lines,
                  GError     **error)
{
  g_autoptr(GInputStream) stream = g_memory_input_stream_new_from_data (g_memdup2 (data, length),
                                                                        length, g_free);
  g_autoptr(HeraldLineReader) reader = _herald_line_reader_new (stream);

  return _herald_smtp_read_reply (reader, lines ? collect_line_cb : NULL, lines, NULL, error);
}

static HeraldSmtpReply *
parse_reply (const char  *data,
             GError     **error)
{
  return parse_reply_full (data, strlen (data), NULL, error);
}

static HeraldSmtpConfig *
make_valid_config (void)
{
  HeraldSmtpConfig *config = herald_smtp_config_new ();

  config->host = g_strdup ("smtp.example.com");
  config->port = 587;
  config->security = HERALD_SECURITY_STARTTLS;
  config->auth = HERALD_AUTH_PLAIN;
  config->username = g_strdup ("alerts@example.com");
  config->password = g_strdup ("S3cr3t-Pa55word!");
  config->from = g_strdup ("alerts@example.com");
  config->to = g_strsplit ("ops@example.com,admin@example.org", ",", -1);
  config->cc = g_strsplit ("cc@example.net", ",", -1);

  return config;
}

/* ---- enumerations ----------------------------------------------------------- */

static void
test_enum_names (void)
{
  HeraldSecurity security;
  HeraldAuthMethod auth;
  HeraldStage stage;

  for (guint i = HERALD_SECURITY_STARTTLS; i <= HERALD_SECURITY_NONE; i++)
    {
      g_assert_true (herald_security_from_string (herald_security_to_string (i), &security));
      g_assert_cmpint (security, ==, i);
    }
  for (guint i = HERALD_AUTH_AUTO; i <= HERALD_AUTH_OAUTHBEARER; i++)
    {
      g_assert_true (herald_auth_method_from_string (herald_auth_method_to_string (i), &auth));
      g_assert_cmpint (auth, ==, i);
    }
  for (guint i = 0; i < HERALD_N_STAGES; i++)
    {
      g_assert_true (herald_stage_from_string (herald_stage_to_string (i), &stage));
      g_assert_cmpint (stage, ==, i);
    }

  g_assert_cmpstr (herald_security_to_string (HERALD_SECURITY_TLS), ==, "tls");
  g_assert_cmpstr (herald_auth_method_to_string (HERALD_AUTH_XOAUTH2), ==, "xoauth2");
  g_assert_cmpstr (herald_stage_to_string (HERALD_STAGE_RCPT), ==, "rcpt");
  g_assert_cmpstr (herald_stage_to_string (HERALD_STAGE_DONE), ==, "done");
  g_assert_cmpstr (herald_transcript_dir_to_string (HERALD_TRANSCRIPT_INFO), ==, "info");

  g_assert_true (herald_security_from_string ("STARTTLS", &security));
  g_assert_cmpint (security, ==, HERALD_SECURITY_STARTTLS);
  g_assert_false (herald_security_from_string ("ssl", &security));
  g_assert_false (herald_security_from_string (NULL, &security));
  g_assert_false (herald_auth_method_from_string ("cram-md5", &auth));
  g_assert_false (herald_stage_from_string ("", &stage));
}

static void
test_tls_flag_names (void)
{
  g_auto(GStrv) none = herald_tls_flag_names (0);
  g_auto(GStrv) two = herald_tls_flag_names (G_TLS_CERTIFICATE_UNKNOWN_CA |
                                             G_TLS_CERTIFICATE_EXPIRED);
  g_auto(GStrv) all = herald_tls_flag_names (G_TLS_CERTIFICATE_VALIDATE_ALL);

  g_assert_nonnull (none);
  g_assert_cmpuint (g_strv_length (none), ==, 0);
  g_assert_cmpuint (g_strv_length (two), ==, 2);
  g_assert_cmpstr (two[0], ==, "unknown-ca");
  g_assert_cmpstr (two[1], ==, "expired");
  g_assert_cmpuint (g_strv_length (all), ==, 7);
  g_assert_true (g_strv_contains ((const char * const *) all, "bad-identity"));
  g_assert_true (g_strv_contains ((const char * const *) all, "not-activated"));
  g_assert_true (g_strv_contains ((const char * const *) all, "generic-error"));
}

/* ---- reply parser ------------------------------------------------------------ */

static void
test_reply_single (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(HeraldSmtpReply) reply = parse_reply ("220 mx.example.com ESMTP Postfix\r\n", &error);

  g_assert_no_error (error);
  g_assert_nonnull (reply);
  g_assert_cmpint (reply->code, ==, 220);
  g_assert_null (reply->enhanced);
  g_assert_cmpstr (reply->text, ==, "mx.example.com ESMTP Postfix");
  g_assert_cmpstr (reply->raw, ==, "220 mx.example.com ESMTP Postfix");
}

static void
test_reply_multiline (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) lines = g_ptr_array_new_with_free_func (g_free);
  const char *data =
    "535-5.7.8 Username and Password not accepted. For more information, go to\r\n"
    "535 5.7.8  https://support.google.com/mail/?p=BadCredentials a1-20020a\r\n"
    "250 next reply\r\n";
  g_autoptr(HeraldSmtpReply) reply = parse_reply_full (data, strlen (data), lines, &error);

  g_assert_no_error (error);
  g_assert_cmpint (reply->code, ==, 535);
  g_assert_cmpstr (reply->enhanced, ==, "5.7.8");
  g_assert_cmpstr (reply->text, ==,
                   "5.7.8 Username and Password not accepted. For more information, go to\n"
                   "5.7.8  https://support.google.com/mail/?p=BadCredentials a1-20020a");
  g_assert_true (g_str_has_prefix (reply->raw, "535-5.7.8 Username"));
  g_assert_nonnull (strstr (reply->raw, "\n535 5.7.8  https://"));
  /* Each line reaches the callback as it arrives; the next reply is left. */
  g_assert_cmpuint (lines->len, ==, 2);
  g_assert_cmpstr (g_ptr_array_index (lines, 1), ==,
                   "535 5.7.8  https://support.google.com/mail/?p=BadCredentials a1-20020a");
}

static void
test_reply_sequence (void)
{
  const char *data = "250-mx\r\n250-PIPELINING\r\n250 SIZE 100\r\n354 go ahead\r\n";
  g_autoptr(GInputStream) stream = g_memory_input_stream_new_from_data (data, strlen (data), NULL);
  g_autoptr(HeraldLineReader) reader = _herald_line_reader_new (stream);
  g_autoptr(GError) error = NULL;
  g_autoptr(HeraldSmtpReply) first = NULL;
  g_autoptr(HeraldSmtpReply) second = NULL;
  g_autoptr(HeraldSmtpReply) third = NULL;

  first = _herald_smtp_read_reply (reader, NULL, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpint (first->code, ==, 250);
  g_assert_cmpstr (first->text, ==, "mx\nPIPELINING\nSIZE 100");
  g_assert_true (_herald_line_reader_has_pending (reader));

  second = _herald_smtp_read_reply (reader, NULL, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpint (second->code, ==, 354);
  g_assert_false (_herald_line_reader_has_pending (reader));

  third = _herald_smtp_read_reply (reader, NULL, NULL, NULL, &error);
  g_assert_null (third);
  g_assert_error (error, HERALD_SMTP_ERROR, HERALD_SMTP_ERROR_CLOSED);
}

static void
test_reply_enhanced (void)
{
  static const struct {
    const char *data;
    const char *enhanced;
  } cases[] = {
    { "535 5.7.139 Authentication unsuccessful, SmtpClientAuthentication is disabled for the Mailbox\r\n", "5.7.139" },
    { "250 2.0.0 Ok: queued as 4F2B\r\n", "2.0.0" },
    { "550 5.1.1\r\n", "5.1.1" },
    { "421 4.7.0 Try again later\r\n", "4.7.0" },
    { "530 5.7.57 Client not authenticated to send mail. Error: 535 5.7.139 Authentication unsuccessful\r\n", "5.7.57" },
    { "250 OK\r\n", NULL },
    { "250 1.2.3 class 1 does not exist\r\n", NULL },
    { "250 2.0 too short\r\n", NULL },
    { "250 2.0.0000 detail too long\r\n", NULL },
    { "250 2.0.0. trailing dot\r\n", NULL },
    { "220\r\n", NULL },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(HeraldSmtpReply) reply = parse_reply (cases[i].data, &error);

      g_assert_no_error (error);
      g_assert_cmpstr (reply->enhanced, ==, cases[i].enhanced);
    }

  g_assert_null (_herald_smtp_parse_enhanced (NULL));
  g_assert_null (_herald_smtp_parse_enhanced (""));
}

static void
test_reply_bare_lf (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(HeraldSmtpReply) reply = parse_reply ("250-first\n250 second\n", &error);

  g_assert_no_error (error);
  g_assert_cmpint (reply->code, ==, 250);
  g_assert_cmpstr (reply->text, ==, "first\nsecond");
  g_assert_null (strchr (reply->raw, '\r'));
}

static void
test_reply_code_only (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(HeraldSmtpReply) reply = parse_reply ("334 \r\n", &error);
  g_autoptr(HeraldSmtpReply) bare = NULL;

  g_assert_no_error (error);
  g_assert_cmpint (reply->code, ==, 334);
  g_assert_cmpstr (reply->text, ==, "");

  bare = parse_reply ("221\r\n", &error);
  g_assert_no_error (error);
  g_assert_cmpint (bare->code, ==, 221);
  g_assert_cmpstr (bare->text, ==, "");
}

static void
test_reply_garbage (void)
{
  static const char *cases[] = {
    "HTTP/1.1 400 Bad Request\r\n",
    "\x16\x03\x01\x02\x01\xfc\x03\x03\r\n",  /* a TLS record */
    "2500 too many digits\r\n",
    "250x\r\n",
    "25\r\n",
    "\r\n",
    "650 no such class\r\n",
    "150 no such class\r\n",
    "+OK POP3 server ready\r\n",
    "* OK IMAP4rev1\r\n",
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(HeraldSmtpReply) reply = parse_reply (cases[i], &error);

      g_assert_null (reply);
      g_assert_error (error, HERALD_SMTP_ERROR, HERALD_SMTP_ERROR_PROTOCOL);
    }

  /* A NUL byte inside a line. */
  {
    static const char with_nul[] = "250 a\0b\r\n";
    g_autoptr(GError) error = NULL;
    g_autoptr(HeraldSmtpReply) reply = parse_reply_full (with_nul, sizeof with_nul - 1, NULL, &error);

    g_assert_null (reply);
    g_assert_error (error, HERALD_SMTP_ERROR, HERALD_SMTP_ERROR_PROTOCOL);
  }
}

static void
test_reply_inconsistent_codes (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(HeraldSmtpReply) reply = parse_reply ("250-first\r\n251 second\r\n", &error);

  g_assert_null (reply);
  g_assert_error (error, HERALD_SMTP_ERROR, HERALD_SMTP_ERROR_PROTOCOL);
}

static void
test_reply_invalid_utf8 (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(HeraldSmtpReply) reply = parse_reply ("550 bad \xff\xfe user\r\n", &error);

  g_assert_no_error (error);
  g_assert_cmpint (reply->code, ==, 550);
  g_assert_true (g_utf8_validate (reply->text, -1, NULL));
  g_assert_true (g_utf8_validate (reply->raw, -1, NULL));
}

static void
test_reply_control_characters (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(HeraldSmtpReply) reply = parse_reply ("550 \x1b[2J\x1b]0;owned\x07 user\tunknown \xc2\x9b\r\n",
                                                 &error);

  /* No terminal escape sequence survives into the text we show. */
  g_assert_no_error (error);
  g_assert_cmpint (reply->code, ==, 550);
  g_assert_null (strchr (reply->text, '\x1b'));
  g_assert_null (strchr (reply->raw, '\x1b'));
  g_assert_null (strchr (reply->text, '\x07'));
  g_assert_null (strstr (reply->text, "\xc2\x9b"));
  g_assert_cmpstr (reply->text, ==, "?[2J?]0;owned? user unknown ?");
}

/* Bidi formatting characters (U+202E right-to-left override and the
 * others) would make a reply read differently from what it is. */
static void
test_reply_bidi_controls (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(HeraldSmtpReply) reply =
    parse_reply ("550 5.7.1 file \xe2\x80\xaegnp.exe \xe2\x81\xa6x\xe2\x81\xa9 "
                 "\xe2\x80\x8f\xd8\x9c \xe2\x80\xaa\xe2\x80\xac caf\xc3\xa9\r\n", &error);
  g_autofree char *printable = herald_smtp_make_printable ("a\xe2\x80\xae" "b", 5, FALSE);

  g_assert_no_error (error);
  g_assert_cmpstr (reply->text, ==, "5.7.1 file ?gnp.exe ?x? ?? ?? café");
  g_assert_null (strstr (reply->raw, "\xe2\x80\xae"));
  g_assert_cmpstr (printable, ==, "a?b");
}

/* The one printable filter, as OAuth, Graph and the diagnosis use it: line
 * breaks kept only when asked, line and paragraph separators never, invalid
 * UTF-8 replaced, -1 for a NUL-terminated string. */
static void
test_make_printable (void)
{
  const char *text = "a\tb\r\nc\xe2\x80\xa8" "d\xe2\x80\xa9" "e\x1b]0;x\x07 \xc2\x85\xff";
  g_autofree char *one_line = herald_smtp_make_printable (text, -1, FALSE);
  g_autofree char *lines = herald_smtp_make_printable (text, -1, TRUE);
  g_autofree char *cut = herald_smtp_make_printable (text, 3, FALSE);

  g_assert_cmpstr (one_line, ==, "a b??c?d?e?]0;x? ?\xef\xbf\xbd");
  g_assert_cmpstr (lines, ==, "a b\r\nc?d?e?]0;x? ?\xef\xbf\xbd");
  g_assert_cmpstr (cut, ==, "a b");
}

static void
test_reply_closed (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(HeraldSmtpReply) reply = parse_reply ("250-first\r\n250-second\r\n", &error);
  g_autoptr(HeraldSmtpReply) empty = NULL;
  g_autoptr(HeraldSmtpReply) partial = NULL;

  g_assert_null (reply);
  g_assert_error (error, HERALD_SMTP_ERROR, HERALD_SMTP_ERROR_CLOSED);
  g_clear_error (&error);

  empty = parse_reply ("", &error);
  g_assert_null (empty);
  g_assert_error (error, HERALD_SMTP_ERROR, HERALD_SMTP_ERROR_CLOSED);
  g_clear_error (&error);

  partial = parse_reply ("250 no line end", &error);
  g_assert_null (partial);
  g_assert_error (error, HERALD_SMTP_ERROR, HERALD_SMTP_ERROR_CLOSED);
}

static void
test_reply_line_cap (void)
{
  g_autoptr(GString) ok_line = g_string_new ("250 ");
  g_autoptr(GString) long_line = g_string_new ("250 ");
  g_autoptr(GError) error = NULL;
  g_autoptr(HeraldSmtpReply) reply = NULL;
  g_autoptr(HeraldSmtpReply) too_long = NULL;

  /* Exactly at the cap: accepted. */
  while (ok_line->len < HERALD_SMTP_MAX_LINE)
    g_string_append_c (ok_line, 'a');
  g_string_append (ok_line, "\r\n");
  reply = parse_reply_full (ok_line->str, ok_line->len, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (strlen (reply->raw), ==, HERALD_SMTP_MAX_LINE);

  /* One byte over: refused. */
  while (long_line->len < HERALD_SMTP_MAX_LINE + 1)
    g_string_append_c (long_line, 'a');
  g_string_append (long_line, "\r\n");
  too_long = parse_reply_full (long_line->str, long_line->len, NULL, &error);
  g_assert_null (too_long);
  g_assert_error (error, HERALD_SMTP_ERROR, HERALD_SMTP_ERROR_REPLY_TOO_LONG);
}

/* A stream that yields an endless run of 'x' and counts what was read:
 * the reader must give up after about one buffer, not read it all. */
typedef struct
{
  GInputStream parent_instance;
  gsize        served;
} EndlessStream;

typedef struct
{
  GInputStreamClass parent_class;
} EndlessStreamClass;

static GType endless_stream_get_type (void);
G_DEFINE_TYPE (EndlessStream, endless_stream, G_TYPE_INPUT_STREAM)

static gssize
endless_stream_read (GInputStream  *stream,
                     void          *buffer,
                     gsize          count,
                     GCancellable  *cancellable,
                     GError       **error)
{
  EndlessStream *self = (EndlessStream *) stream;

  memset (buffer, 'x', count);
  self->served += count;
  return count;
}

static void
endless_stream_class_init (EndlessStreamClass *klass)
{
  G_INPUT_STREAM_CLASS (klass)->read_fn = endless_stream_read;
}

static void
endless_stream_init (EndlessStream *self)
{
}

static void
test_reply_no_newline_flood (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GString) flood = g_string_new ("220 ");
  g_autoptr(HeraldSmtpReply) reply = NULL;
  EndlessStream *endless;
  g_autoptr(HeraldLineReader) reader = NULL;
  g_autoptr(HeraldSmtpReply) endless_reply = NULL;

  /* 200 kB without a newline. */
  while (flood->len < 200 * 1024)
    g_string_append_c (flood, 'A');
  reply = parse_reply_full (flood->str, flood->len, NULL, &error);
  g_assert_null (reply);
  g_assert_error (error, HERALD_SMTP_ERROR, HERALD_SMTP_ERROR_REPLY_TOO_LONG);
  g_clear_error (&error);

  /* An endless one: the reader stops after one line's worth. */
  endless = g_object_new (endless_stream_get_type (), NULL);
  reader = _herald_line_reader_new (G_INPUT_STREAM (endless));
  endless_reply = _herald_smtp_read_reply (reader, NULL, NULL, NULL, &error);
  g_assert_null (endless_reply);
  g_assert_error (error, HERALD_SMTP_ERROR, HERALD_SMTP_ERROR_REPLY_TOO_LONG);
  g_assert_cmpuint (endless->served, <=, 2 * (HERALD_SMTP_MAX_LINE + 2));
  g_object_unref (endless);
}

static void
test_reply_line_count_cap (void)
{
  g_autoptr(GString) ok_reply = g_string_new (NULL);
  g_autoptr(GString) many = g_string_new (NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(HeraldSmtpReply) reply = NULL;
  g_autoptr(HeraldSmtpReply) too_many = NULL;

  for (guint i = 0; i < HERALD_SMTP_MAX_LINES - 1; i++)
    g_string_append (ok_reply, "250-x\r\n");
  g_string_append (ok_reply, "250 last\r\n");
  reply = parse_reply_full (ok_reply->str, ok_reply->len, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpint (reply->code, ==, 250);

  for (guint i = 0; i < HERALD_SMTP_MAX_LINES + 10; i++)
    g_string_append (many, "250-x\r\n");
  g_string_append (many, "250 last\r\n");
  too_many = parse_reply_full (many->str, many->len, NULL, &error);
  g_assert_null (too_many);
  g_assert_error (error, HERALD_SMTP_ERROR, HERALD_SMTP_ERROR_REPLY_TOO_LONG);
}

static void
test_reply_size_cap (void)
{
  g_autoptr(GString) big = g_string_new (NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(HeraldSmtpReply) reply = NULL;
  g_autofree char *chunk = g_strnfill (1000, 'b');

  /* 100 lines of 1 kB: under the line caps, over the reply cap. */
  for (guint i = 0; i < 100; i++)
    g_string_append_printf (big, "250-%s\r\n", chunk);
  g_string_append (big, "250 end\r\n");

  reply = parse_reply_full (big->str, big->len, NULL, &error);
  g_assert_null (reply);
  g_assert_error (error, HERALD_SMTP_ERROR, HERALD_SMTP_ERROR_REPLY_TOO_LONG);
}

static void
test_reply_copy (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(HeraldSmtpReply) reply = parse_reply ("550-5.1.1 one\r\n550 5.1.1 two\r\n", &error);
  g_autoptr(HeraldSmtpReply) copy = herald_smtp_reply_copy (reply);

  g_assert_no_error (error);
  g_assert_cmpint (copy->code, ==, 550);
  g_assert_cmpstr (copy->enhanced, ==, "5.1.1");
  g_assert_cmpstr (copy->raw, ==, reply->raw);
  g_assert_cmpstr (copy->text, ==, reply->text);
  g_assert_true (copy->text != reply->text);
}

/* ---- capabilities ------------------------------------------------------------ */

static HeraldSmtpCaps *
caps_from (const char *ehlo)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(HeraldSmtpReply) reply = parse_reply (ehlo, &error);

  g_assert_no_error (error);
  return _herald_smtp_caps_parse (reply);
}

static void
test_caps_full (void)
{
  g_autoptr(HeraldSmtpCaps) caps = caps_from (
    "250-smtp.office365.com Hello [192.0.2.1]\r\n"
    "250-SIZE 157286400\r\n"
    "250-PIPELINING\r\n"
    "250-DSN\r\n"
    "250-ENHANCEDSTATUSCODES\r\n"
    "250-AUTH LOGIN XOAUTH2\r\n"
    "250-8BITMIME\r\n"
    "250-BINARYMIME\r\n"
    "250-CHUNKING\r\n"
    "250-SMTPUTF8\r\n"
    "250 STARTTLS\r\n");

  g_assert_true (caps->size);
  g_assert_cmpuint (caps->size_limit, ==, 157286400);
  g_assert_true (caps->pipelining);
  g_assert_true (caps->enhancedstatuscodes);
  g_assert_true (caps->auth);
  g_assert_true (caps->eightbitmime);
  g_assert_true (caps->chunking);
  g_assert_true (caps->smtputf8);
  g_assert_true (caps->starttls);
  g_assert_cmpuint (g_strv_length (caps->auth_mechanisms), ==, 2);
  g_assert_cmpstr (caps->auth_mechanisms[0], ==, "LOGIN");
  g_assert_cmpstr (caps->auth_mechanisms[1], ==, "XOAUTH2");
  g_assert_true (_herald_smtp_caps_has_mechanism (caps, "xoauth2"));
  g_assert_false (_herald_smtp_caps_has_mechanism (caps, "PLAIN"));
}

static void
test_caps_old_auth_form (void)
{
  /* The pre-RFC "AUTH=" line some servers still send next to "AUTH". */
  g_autoptr(HeraldSmtpCaps) caps = caps_from (
    "250-mail.example.com\r\n"
    "250-auth=LOGIN PLAIN\r\n"
    "250-AUTH PLAIN LOGIN CRAM-MD5\r\n"
    "250 size\r\n");

  g_assert_true (caps->auth);
  g_assert_cmpuint (g_strv_length (caps->auth_mechanisms), ==, 3);
  g_assert_cmpstr (caps->auth_mechanisms[0], ==, "LOGIN");
  g_assert_cmpstr (caps->auth_mechanisms[1], ==, "PLAIN");
  g_assert_cmpstr (caps->auth_mechanisms[2], ==, "CRAM-MD5");
  g_assert_true (caps->size);
  g_assert_cmpuint (caps->size_limit, ==, 0);
  g_assert_false (caps->starttls);
  g_assert_false (caps->pipelining);
  g_assert_false (caps->chunking);
}

static void
test_caps_only_auth_equals (void)
{
  g_autoptr(HeraldSmtpCaps) caps = caps_from ("250-old.example.com\r\n250 AUTH=LOGIN\r\n");

  g_assert_true (caps->auth);
  g_assert_cmpuint (g_strv_length (caps->auth_mechanisms), ==, 1);
  g_assert_cmpstr (caps->auth_mechanisms[0], ==, "LOGIN");
}

static void
test_caps_minimal (void)
{
  /* The first line is the server's name: "STARTTLS" there is no capability. */
  g_autoptr(HeraldSmtpCaps) caps = caps_from ("250 STARTTLS\r\n");
  g_autoptr(HeraldSmtpCaps) none = _herald_smtp_caps_parse (NULL);

  g_assert_false (caps->starttls);
  g_assert_false (caps->auth);
  g_assert_nonnull (caps->auth_mechanisms);
  g_assert_cmpuint (g_strv_length (caps->auth_mechanisms), ==, 0);

  g_assert_false (none->starttls);
  g_assert_nonnull (none->auth_mechanisms);
}

/* A bare "250" (or "250 ") to EHLO: no line after the server's name at
 * all. The parser once read past the end of the split lines and wrote
 * through whatever was there; G_DEBUG=gc-friendly zero-fills that memory and
 * hides it, so the parse also runs in a child without it, with malloc
 * filling fresh memory with garbage (and no thread cache to skip that). */
static void
caps_bare_parse (void)
{
  static const char * const replies[] = { "250\r\n", "250 \r\n", "250 \t \r\n" };

  for (guint round = 0; round < 64; round++)
    {
      for (guint i = 0; i < G_N_ELEMENTS (replies); i++)
        {
          g_autoptr(HeraldSmtpCaps) caps = caps_from (replies[i]);

          g_assert_false (caps->auth);
          g_assert_false (caps->starttls);
          g_assert_false (caps->pipelining);
          g_assert_nonnull (caps->auth_mechanisms);
          g_assert_cmpuint (g_strv_length (caps->auth_mechanisms), ==, 0);
        }
    }
}

static void
test_caps_bare_250 (void)
{
  if (g_test_subprocess ())
    {
      caps_bare_parse ();
      return;
    }

  caps_bare_parse ();

  g_setenv ("G_DEBUG", "fatal-warnings", TRUE);
  g_setenv ("MALLOC_PERTURB_", "170", TRUE);
  g_setenv ("GLIBC_TUNABLES", "glibc.malloc.tcache_count=0", TRUE);
  g_test_trap_subprocess (NULL, 0, G_TEST_SUBPROCESS_DEFAULT);
  g_setenv ("G_DEBUG", "gc-friendly", TRUE);
  g_unsetenv ("GLIBC_TUNABLES");
  g_test_trap_assert_passed ();
}

static void
test_caps_hostile (void)
{
  /* Junk words in the AUTH line are not mechanism names. */
  g_autoptr(HeraldSmtpCaps) caps = caps_from (
    "250-x\r\n"
    "250-AUTH PLAIN <script> THIS-NAME-IS-FAR-TOO-LONG-FOR-SASL login\r\n"
    "250 STARTTLSX\r\n");

  g_assert_cmpuint (g_strv_length (caps->auth_mechanisms), ==, 2);
  g_assert_cmpstr (caps->auth_mechanisms[0], ==, "PLAIN");
  g_assert_cmpstr (caps->auth_mechanisms[1], ==, "LOGIN");
  g_assert_false (caps->starttls);
}

/* ---- CRLF and dot-stuffing ---------------------------------------------------- */

static void
assert_bytes_eq (GBytes     *bytes,
                 const char *expected)
{
  gsize length;
  const char *data = g_bytes_get_data (bytes, &length);
  g_autofree char *str = g_strndup (data, length);

  g_assert_cmpuint (length, ==, strlen (expected));
  g_assert_cmpstr (str, ==, expected);
}

static void
test_crlf_normalize (void)
{
  static const struct {
    const char *in;
    const char *out;
  } cases[] = {
    { "a\nb\r\nc\rd", "a\r\nb\r\nc\r\nd\r\n" },
    { "line\r\n", "line\r\n" },
    { "", "\r\n" },
    { "\n\n", "\r\n\r\n" },
    { "x\r\r\ny", "x\r\n\r\ny\r\n" },
    { "no end", "no end\r\n" },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr(GBytes) out = herald_smtp_normalize_crlf (cases[i].in, strlen (cases[i].in));

      assert_bytes_eq (out, cases[i].out);
    }
}

static void
test_dot_stuffing (void)
{
  static const struct {
    const char *in;
    const char *out;
  } cases[] = {
    { "a\r\n.b\r\n..c\r\n.\r\nend\r\n", "a\r\n..b\r\n...c\r\n..\r\nend\r\n.\r\n" },
    { ".first\r\n", "..first\r\n.\r\n" },
    { "mid.dle\r\n", "mid.dle\r\n.\r\n" },
    { "no crlf at end", "no crlf at end\r\n.\r\n" },
    { "", ".\r\n" },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr(GBytes) in = g_bytes_new_static (cases[i].in, strlen (cases[i].in));
      g_autoptr(GBytes) out = _herald_smtp_dot_stuff (in);

      assert_bytes_eq (out, cases[i].out);
    }
}

/* ---- redaction -------------------------------------------------------------------- */

/* Every base64 form a secret can take inside a payload: the secret encoded
 * at each of the three alignments, keeping only characters that depend on
 * the secret alone. */
static void
assert_no_secret (const char *text,
                  const char *secret)
{
  gsize length = strlen (secret);

  g_assert_null (strstr (text, secret));

  for (guint k = 0; k < 3; k++)
    {
      g_autofree guchar *buf = g_malloc0 (length + k);
      g_autofree char *encoded = NULL;
      g_autofree char *core = NULL;
      gsize skip = k == 0 ? 0 : k + 1;
      gsize full = ((length + k) * 8) / 6;

      memcpy (buf + k, secret, length);
      encoded = g_base64_encode (buf, length + k);
      core = g_strndup (encoded + skip, full - skip);
      g_assert_null (strstr (text, core));
    }
}

static void
test_redact_client_lines (void)
{
  g_autofree char *plain = _herald_sasl_plain ("alerts@example.com", "S3cr3t-Pa55word!");
  g_autofree char *line = g_strconcat ("AUTH PLAIN ", plain, NULL);
  g_autofree char *shown = _herald_smtp_redact_client_line (line, FALSE);
  g_autofree char *login = _herald_smtp_redact_client_line ("AUTH LOGIN", FALSE);
  g_autofree char *answer = _herald_smtp_redact_client_line (plain, TRUE);
  g_autofree char *mail = _herald_smtp_redact_client_line ("MAIL FROM:<a@b.c>", FALSE);
  g_autofree char *lower = _herald_smtp_redact_client_line ("auth xoauth2 dXNlcj1h", FALSE);

  g_assert_cmpstr (shown, ==, "AUTH PLAIN <redacted>");
  g_assert_cmpstr (login, ==, "AUTH LOGIN");
  g_assert_cmpstr (answer, ==, "<redacted>");
  g_assert_cmpstr (mail, ==, "MAIL FROM:<a@b.c>");
  g_assert_cmpstr (lower, ==, "AUTH xoauth2 <redacted>");
  assert_no_secret (shown, "S3cr3t-Pa55word!");
}

static void
test_redact_scrub (void)
{
  const char *password = "S3cr3t-Pa55word!";
  const char *token = "ya29.a0AfH6SMBx-token-value_0123456789";
  const char * const secrets[] = { password, token, NULL };
  g_autofree char *plain = _herald_sasl_plain ("alerts@example.com", password);
  g_autofree char *plain2 = _herald_sasl_plain ("ab", password);
  g_autofree char *plain3 = _herald_sasl_plain ("abc", password);
  g_autofree char *xoauth2 = _herald_sasl_xoauth2 ("alerts@example.com", token);
  g_autofree char *bearer = _herald_sasl_oauthbearer ("alerts@example.com", "smtp.example.com",
                                                      587, token);
  g_autofree char *b64 = g_base64_encode ((const guchar *) password, strlen (password));
  g_autofree char *text = g_strjoin (" | ", "echo", password, b64, plain, plain2, plain3,
                                     xoauth2, bearer, token, "tail", NULL);
  g_autofree char *scrubbed = _herald_smtp_scrub (text, secrets);
  g_autofree char *harmless = _herald_smtp_scrub ("250 2.0.0 OK queued", secrets);
  g_autofree char *no_secrets = _herald_smtp_scrub (text, NULL);

  assert_no_secret (scrubbed, password);
  assert_no_secret (scrubbed, token);
  g_assert_nonnull (strstr (scrubbed, "<redacted>"));
  g_assert_true (g_str_has_prefix (scrubbed, "echo | "));
  g_assert_true (g_str_has_suffix (scrubbed, " | tail"));
  g_assert_cmpstr (harmless, ==, "250 2.0.0 OK queued");
  g_assert_cmpstr (no_secrets, ==, text);
}

/* Short secrets are redacted too, whatever their length, and so are the
 * whole base64 payloads that carry them (issue 15, item 6): a server
 * echoing a 2-character password, or an AUTH PLAIN payload with a
 * 3-character one, once showed them. */
static void
test_redact_short_secrets (void)
{
  const char * const two[] = { "Qz", NULL };
  const char * const three[] = { "k7!", NULL };
  const char * const one[] = { "#", NULL };
  g_autofree char *plain = _herald_sasl_plain ("alerts@example.com", "k7!");
  g_autofree char *login = g_base64_encode ((const guchar *) "k7!", 3);
  g_autofree char *echo_plain = g_strdup_printf ("535 5.7.8 bad payload %s, try again", plain);
  g_autofree char *echo_login = g_strdup_printf ("535 5.7.8 bad password %s", login);
  g_autofree char *two_scrubbed = _herald_smtp_scrub ("535 5.7.8 password Qz rejected", two);
  g_autofree char *plain_scrubbed = _herald_smtp_scrub (echo_plain, three);
  g_autofree char *login_scrubbed = _herald_smtp_scrub (echo_login, three);
  g_autofree char *one_scrubbed = _herald_smtp_scrub ("pass # word", one);
  g_autofree char *untouched = _herald_smtp_scrub ("250 2.0.0 Ok: queued as 4FbXYZ", three);

  g_assert_cmpstr (two_scrubbed, ==, "535 5.7.8 password <redacted> rejected");
  g_assert_cmpstr (plain_scrubbed, ==, "535 5.7.8 bad payload <redacted>, try again");
  g_assert_cmpstr (login_scrubbed, ==, "535 5.7.8 bad password <redacted>");
  g_assert_cmpstr (one_scrubbed, ==, "pass <redacted> word");
  g_assert_cmpstr (untouched, ==, "250 2.0.0 Ok: queued as 4FbXYZ");
}

static void
test_sasl_payloads (void)
{
  g_autofree char *plain = _herald_sasl_plain ("user@example.com", "pw");
  g_autofree char *xoauth2 = _herald_sasl_xoauth2 ("user@example.com", "TOKEN");
  g_autofree char *bearer = _herald_sasl_oauthbearer ("us,er=x@example.com", "smtp.example.com",
                                                      587, "TOKEN");
  g_autofree guchar *raw = NULL;
  gsize length;
  static const char expected_plain[] = "\0user@example.com\0pw";
  static const char expected_xoauth2[] = "user=user@example.com\001auth=Bearer TOKEN\001\001";
  static const char expected_bearer[] =
    "n,a=us=2Cer=3Dx@example.com,\001host=smtp.example.com\001port=587\001auth=Bearer TOKEN\001\001";

  raw = g_base64_decode (plain, &length);
  g_assert_cmpmem (raw, length, expected_plain, sizeof expected_plain - 1);
  g_clear_pointer (&raw, g_free);

  raw = g_base64_decode (xoauth2, &length);
  g_assert_cmpmem (raw, length, expected_xoauth2, sizeof expected_xoauth2 - 1);
  g_clear_pointer (&raw, g_free);

  raw = g_base64_decode (bearer, &length);
  g_assert_cmpmem (raw, length, expected_bearer, sizeof expected_bearer - 1);
}

/* ---- addresses and validation ----------------------------------------------------- */

static void
test_address_valid (void)
{
  static const char *valid[] = {
    "a@b.c",
    "user.name+tag@example.co.uk",
    "alerts@localhost",
    "o'brien@example.ie",
    "x_y-z@mail-1.example.com",
    "jörg@bücher.example",
    "1234@123.example",
  };
  static const char *invalid[] = {
    "",
    "a",
    "a@",
    "@b.c",
    "a@@b.c",
    "a@b@c.d",
    "a b@c.d",
    "a@b c.d",
    "<a@b.c>",
    "a@b.c>",
    "a@b.c\r\nRCPT TO:<x@y.z>",
    "a@b.c\n",
    "a@b.c\r",
    "a\t@b.c",
    "a..b@c.d",
    ".a@b.c",
    "a.@b.c",
    "a@-b.c",
    "a@b-.c",
    "a@b..c",
    "a@.b.c",
    "a@b.c.",
    "a@[192.0.2.1]",
    "a(b)@c.d",
    "a,b@c.d",
    "a;b@c.d",
    "\"quoted\"@c.d",
    "a\\b@c.d",
    "a@b_c.d",
    "a\x7f@b.c",
    "a@b.c\x01",
    "\xff\xfe@b.c",
  };
  g_autofree char *long_local = g_strnfill (65, 'l');
  g_autofree char *too_long_local = g_strconcat (long_local, "@example.com", NULL);
  g_autofree char *max_local = g_strnfill (64, 'l');
  g_autofree char *ok_local = g_strconcat (max_local, "@example.com", NULL);

  for (guint i = 0; i < G_N_ELEMENTS (valid); i++)
    {
      if (!herald_address_is_valid (valid[i]))
        g_error ("“%s” should be valid", valid[i]);
    }
  for (guint i = 0; i < G_N_ELEMENTS (invalid); i++)
    {
      if (herald_address_is_valid (invalid[i]))
        g_error ("“%s” should be invalid", invalid[i]);
    }

  g_assert_false (herald_address_is_valid (NULL));
  g_assert_false (herald_address_is_valid (too_long_local));
  g_assert_true (herald_address_is_valid (ok_local));
}

static void
test_address_list_split (void)
{
  g_auto(GStrv) list = herald_address_list_split (" a@x.org, b@y.org;c@z.org ,, ; ");
  g_auto(GStrv) empty = herald_address_list_split ("  ");
  g_auto(GStrv) null = herald_address_list_split (NULL);

  g_assert_cmpuint (g_strv_length (list), ==, 3);
  g_assert_cmpstr (list[0], ==, "a@x.org");
  g_assert_cmpstr (list[1], ==, "b@y.org");
  g_assert_cmpstr (list[2], ==, "c@z.org");
  g_assert_nonnull (empty);
  g_assert_cmpuint (g_strv_length (empty), ==, 0);
  g_assert_nonnull (null);
  g_assert_cmpuint (g_strv_length (null), ==, 0);
}

static void
test_config_valid (void)
{
  g_autoptr(HeraldSmtpConfig) config = make_valid_config ();
  g_autoptr(GError) error = NULL;

  g_assert_true (herald_smtp_config_validate (config, &error));
  g_assert_no_error (error);

  /* auto without any credentials is fine (no AUTH), so is none. */
  g_clear_pointer (&config->password, g_free);
  config->auth = HERALD_AUTH_AUTO;
  g_assert_true (herald_smtp_config_validate (config, &error));
  config->auth = HERALD_AUTH_NONE;
  g_assert_true (herald_smtp_config_validate (config, &error));
  g_assert_no_error (error);
}

typedef enum {
  FIELD_HOST,
  FIELD_USERNAME,
  FIELD_FROM,
  FIELD_TO,
  FIELD_CC,
  FIELD_SUBJECT,
  FIELD_HELO,
  FIELD_CA_FILE,
} Field;

static void
set_field (HeraldSmtpConfig *config,
           Field             field,
           const char       *value)
{
  char **slot = NULL;

  switch (field)
    {
    case FIELD_HOST: slot = &config->host; break;
    case FIELD_USERNAME: slot = &config->username; break;
    case FIELD_FROM: slot = &config->from; break;
    case FIELD_TO: slot = &config->to[1]; break;
    case FIELD_CC: slot = &config->cc[0]; break;
    case FIELD_SUBJECT: slot = &config->subject; break;
    case FIELD_HELO: slot = &config->helo_name; break;
    case FIELD_CA_FILE: slot = &config->ca_file; break;
    default: g_assert_not_reached ();
    }

  g_free (*slot);
  *slot = g_strdup (value);
}

static void
test_config_injection (void)
{
  static const struct {
    Field       field;
    const char *label;
    const char *value;
  } cases[] = {
    { FIELD_HOST, "Server", "smtp.example.com\r\nMAIL FROM:<x@y.z>" },
    { FIELD_USERNAME, "Username", "user\nAUTH LOGIN" },
    { FIELD_FROM, "From", "a@b.c\r\nRCPT TO:<victim@example.com>" },
    { FIELD_TO, "To", "ops@example.com\nBcc: victim@example.com" },
    { FIELD_CC, "Cc", "cc@example.net\r" },
    { FIELD_SUBJECT, "Subject", "Hello\r\nBcc: victim@example.com" },
    { FIELD_SUBJECT, "Subject", "Hello\nX-Injected: 1" },
    { FIELD_HELO, "HELO name", "client.example.com\r\nMAIL FROM:<x@y.z>" },
    { FIELD_CA_FILE, "CA certificate file", "/etc/ssl/ca.pem\n" },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr(HeraldSmtpConfig) config = make_valid_config ();
      g_autoptr(GError) error = NULL;

      set_field (config, cases[i].field, cases[i].value);
      g_assert_false (herald_smtp_config_validate (config, &error));
      g_assert_error (error, HERALD_SMTP_ERROR, HERALD_SMTP_ERROR_INVALID_CONFIG);
      if (strstr (error->message, cases[i].label) == NULL)
        g_error ("message “%s” does not name the field “%s”", error->message, cases[i].label);
    }
}

static void
test_config_invalid (void)
{
  g_autoptr(GError) error = NULL;

  {
    g_autoptr(HeraldSmtpConfig) config = make_valid_config ();

    g_clear_pointer (&config->host, g_free);
    g_assert_false (herald_smtp_config_validate (config, &error));
    g_assert_error (error, HERALD_SMTP_ERROR, HERALD_SMTP_ERROR_INVALID_CONFIG);
    g_clear_error (&error);
  }
  {
    g_autoptr(HeraldSmtpConfig) config = make_valid_config ();

    set_field (config, FIELD_HOST, "smtp example.com");
    g_assert_false (herald_smtp_config_validate (config, &error));
    g_assert_error (error, HERALD_SMTP_ERROR, HERALD_SMTP_ERROR_INVALID_CONFIG);
    g_clear_error (&error);
  }
  {
    g_autoptr(HeraldSmtpConfig) config = make_valid_config ();

    config->port = 0;
    g_assert_false (herald_smtp_config_validate (config, &error));
    g_assert_error (error, HERALD_SMTP_ERROR, HERALD_SMTP_ERROR_INVALID_CONFIG);
    g_assert_nonnull (strstr (error->message, "port"));
    g_clear_error (&error);
  }
  {
    g_autoptr(HeraldSmtpConfig) config = make_valid_config ();

    g_strfreev (config->to);
    config->to = NULL;
    g_assert_false (herald_smtp_config_validate (config, &error));
    g_assert_error (error, HERALD_SMTP_ERROR, HERALD_SMTP_ERROR_INVALID_CONFIG);
    g_clear_error (&error);
  }
  {
    g_autoptr(HeraldSmtpConfig) config = make_valid_config ();

    set_field (config, FIELD_TO, "not an address");
    g_assert_false (herald_smtp_config_validate (config, &error));
    g_assert_error (error, HERALD_SMTP_ERROR, HERALD_SMTP_ERROR_INVALID_CONFIG);
    g_assert_nonnull (strstr (error->message, "not an address"));
    g_assert_nonnull (strstr (error->message, "To"));
    g_clear_error (&error);
  }
  {
    g_autoptr(HeraldSmtpConfig) config = make_valid_config ();

    set_field (config, FIELD_FROM, "");
    g_assert_false (herald_smtp_config_validate (config, &error));
    g_assert_error (error, HERALD_SMTP_ERROR, HERALD_SMTP_ERROR_INVALID_CONFIG);
    g_clear_error (&error);
  }
  {
    g_autoptr(HeraldSmtpConfig) config = make_valid_config ();
    g_autoptr(HeraldSmtpResult) result = NULL;

    /* Explicit PLAIN needs a password; XOAUTH2 needs a token. The form is
     * still valid without them (the window and heraldctl validate it before
     * the keyring is asked); the run refuses before connecting. */
    g_clear_pointer (&config->password, g_free);
    g_assert_true (herald_smtp_config_validate (config, &error));
    g_assert_no_error (error);
    g_assert_false (_herald_smtp_config_check_credentials (config, &error));
    g_assert_error (error, HERALD_SMTP_ERROR, HERALD_SMTP_ERROR_INVALID_CONFIG);
    g_clear_error (&error);

    /* A loopback literal and the discard port, should the check ever go. */
    set_field (config, FIELD_HOST, "127.0.0.1");
    config->port = 9;
    result = herald_smtp_run (config, NULL, NULL, NULL);
    g_assert_false (result->ok);
    g_assert_cmpint (result->stage, ==, HERALD_STAGE_RESOLVE);
    g_assert_error (result->error, HERALD_SMTP_ERROR, HERALD_SMTP_ERROR_INVALID_CONFIG);
    g_assert_null (result->remote_address);

    config->auth = HERALD_AUTH_XOAUTH2;
    g_assert_false (_herald_smtp_config_check_credentials (config, &error));
    g_assert_error (error, HERALD_SMTP_ERROR, HERALD_SMTP_ERROR_INVALID_CONFIG);
    g_clear_error (&error);

    config->oauth_token = g_strdup ("token");
    g_assert_true (_herald_smtp_config_check_credentials (config, &error));
    g_assert_no_error (error);

    config->auth = HERALD_AUTH_AUTO;
    g_clear_pointer (&config->oauth_token, g_free);
    g_assert_true (_herald_smtp_config_check_credentials (config, &error));
    g_assert_no_error (error);
  }
}

static void
progress_count_cb (const HeraldProgress *progress,
                   gpointer              user_data)
{
  guint *count = user_data;

  g_assert_cmpint (progress->stage, ==, HERALD_STAGE_RESOLVE);
  (*count)++;
}

static void
test_run_refuses_invalid_config (void)
{
  g_autoptr(HeraldSmtpConfig) config = make_valid_config ();
  g_autoptr(HeraldSmtpResult) result = NULL;
  guint events = 0;

  /* A header injection attempt never reaches the network: the run fails in
   * the resolve stage with nothing but validation in the transcript. */
  set_field (config, FIELD_SUBJECT, "Hi\r\nBcc: victim@example.com");
  set_field (config, FIELD_HOST, "127.0.0.1");
  config->port = 9;
  result = herald_smtp_run (config, NULL, progress_count_cb, &events);

  g_assert_nonnull (result);
  g_assert_false (result->ok);
  g_assert_cmpint (result->stage, ==, HERALD_STAGE_RESOLVE);
  g_assert_error (result->error, HERALD_SMTP_ERROR, HERALD_SMTP_ERROR_INVALID_CONFIG);
  g_assert_null (result->remote_address);
  g_assert_null (result->tls);
  g_assert_null (result->reply);
  g_assert_cmpint (result->stage_ms[HERALD_STAGE_RESOLVE], >=, 0);
  g_assert_cmpint (result->stage_ms[HERALD_STAGE_CONNECT], ==, -1);
  g_assert_cmpuint (events, ==, 2);  /* resolve STARTED, then FAILED */

  for (guint i = 0; i < result->transcript->len; i++)
    {
      HeraldTranscriptEntry *entry = g_ptr_array_index (result->transcript, i);

      g_assert_cmpint (entry->dir, ==, HERALD_TRANSCRIPT_INFO);
      assert_no_secret (entry->text, config->password);
    }
}

static void
cancelled_progress_cb (const HeraldProgress *progress,
                       gpointer              user_data)
{
}

static void
test_run_cancelled_before_start (void)
{
  g_autoptr(HeraldSmtpConfig) config = make_valid_config ();
  g_autoptr(HeraldSmtpResult) result = NULL;
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();

  /* An IP literal: no lookup; the cancelled connect never leaves loopback. */
  set_field (config, FIELD_HOST, "127.0.0.1");
  config->port = 9;
  g_cancellable_cancel (cancellable);
  result = herald_smtp_run (config, cancellable, cancelled_progress_cb, NULL);

  g_assert_false (result->ok);
  g_assert_error (result->error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_assert_cmpint (result->stage, ==, HERALD_STAGE_CONNECT);
}

/* ---- copies ---------------------------------------------------------------------- */

static void
test_config_copy (void)
{
  g_autoptr(HeraldSmtpConfig) config = make_valid_config ();
  g_autoptr(HeraldSmtpConfig) copy = NULL;

  config->oauth_token = g_strdup ("tok");
  config->connect_timeout = 7;
  config->allow_plaintext_auth = TRUE;
  copy = herald_smtp_config_copy (config);

  g_assert_cmpstr (copy->host, ==, config->host);
  g_assert_true (copy->host != config->host);
  g_assert_cmpstr (copy->password, ==, config->password);
  g_assert_cmpstr (copy->oauth_token, ==, "tok");
  g_assert_cmpstr (copy->to[1], ==, "admin@example.org");
  g_assert_cmpstr (copy->cc[0], ==, "cc@example.net");
  g_assert_cmpuint (copy->connect_timeout, ==, 7);
  g_assert_true (copy->allow_plaintext_auth);
  g_assert_true (G_TYPE_IS_BOXED (HERALD_TYPE_SMTP_CONFIG));
  g_assert_true (G_TYPE_IS_BOXED (HERALD_TYPE_SMTP_RESULT));
}

static void
test_result_copy (void)
{
  g_autoptr(HeraldSmtpResult) result = herald_smtp_result_new ();
  g_autoptr(HeraldSmtpResult) copy = NULL;
  HeraldTranscriptEntry *entry = g_new0 (HeraldTranscriptEntry, 1);
  HeraldTranscriptEntry *copied;
  g_autoptr(GError) error = NULL;

  entry->dir = HERALD_TRANSCRIPT_SERVER;
  entry->text = g_strdup ("220 hello");
  entry->ms = 12;
  g_ptr_array_add (result->transcript, entry);
  result->reply = parse_reply ("535 5.7.139 no\r\n", &error);
  g_assert_no_error (error);
  result->error = g_error_new_literal (HERALD_SMTP_ERROR, HERALD_SMTP_ERROR_REJECTED, "no");
  result->tls = g_new0 (HeraldTlsInfo, 1);
  result->tls->version = g_strdup ("TLS 1.3");
  result->tls->errors = herald_tls_flag_names (G_TLS_CERTIFICATE_EXPIRED);
  result->tls->flags = G_TLS_CERTIFICATE_EXPIRED;
  result->stage = HERALD_STAGE_AUTH;
  result->stage_ms[HERALD_STAGE_AUTH] = 33;
  result->auth_mechanisms = g_strsplit ("PLAIN LOGIN", " ", -1);
  result->auth_used = g_strdup ("PLAIN");

  copy = herald_smtp_result_copy (result);
  g_assert_cmpint (copy->stage, ==, HERALD_STAGE_AUTH);
  g_assert_cmpint (copy->stage_ms[HERALD_STAGE_AUTH], ==, 33);
  g_assert_cmpint (copy->stage_ms[HERALD_STAGE_DATA], ==, -1);
  g_assert_cmpuint (copy->transcript->len, ==, 1);
  copied = g_ptr_array_index (copy->transcript, 0);
  g_assert_cmpstr (copied->text, ==, "220 hello");
  g_assert_cmpint (copied->ms, ==, 12);
  g_assert_cmpint (copy->reply->code, ==, 535);
  g_assert_cmpstr (copy->reply->enhanced, ==, "5.7.139");
  g_assert_error (copy->error, HERALD_SMTP_ERROR, HERALD_SMTP_ERROR_REJECTED);
  g_assert_cmpstr (copy->tls->version, ==, "TLS 1.3");
  g_assert_cmpstr (copy->tls->errors[0], ==, "expired");
  g_assert_cmpuint (copy->tls->flags, ==, G_TLS_CERTIFICATE_EXPIRED);
  g_assert_cmpstr (copy->auth_mechanisms[1], ==, "LOGIN");
  g_assert_cmpstr (copy->auth_used, ==, "PLAIN");
}

/* ---- message building -------------------------------------------------------------- */

static GMimeMessage *
parse_message (GBytes *bytes)
{
  g_autoptr(GMimeStream) stream = g_mime_stream_mem_new_with_buffer (g_bytes_get_data (bytes, NULL),
                                                                    g_bytes_get_size (bytes));
  g_autoptr(GMimeParser) parser = g_mime_parser_new_with_stream (stream);

  return g_mime_parser_construct_message (parser, NULL);
}

static char *
header_block (GBytes *bytes)
{
  const char *data = g_bytes_get_data (bytes, NULL);
  const char *end = g_strstr_len (data, g_bytes_get_size (bytes), "\r\n\r\n");

  g_assert_nonnull (end);
  return g_strndup (data, end - data + 2);
}

static void
assert_crlf_only (GBytes *bytes)
{
  gsize length;
  const char *data = g_bytes_get_data (bytes, &length);
  gsize line_len = 0;

  for (gsize i = 0; i < length; i++)
    {
      if (data[i] == '\n')
        {
          g_assert_true (i > 0 && data[i - 1] == '\r');
          line_len = 0;
        }
      else if (data[i] == '\r')
        g_assert_true (i + 1 < length && data[i + 1] == '\n');
      else
        {
          line_len++;
          g_assert_cmpuint (line_len, <=, 998);  /* RFC 5322 line limit */
        }
    }
  g_assert_true (length >= 2 && data[length - 2] == '\r' && data[length - 1] == '\n');
}

static void
test_message_headers (void)
{
  g_autoptr(HeraldSmtpConfig) config = make_valid_config ();
  g_autoptr(GDateTime) date = g_date_time_new_utc (2026, 11, 28, 9, 30, 0);
  HeraldMessageInfo info = { "PLAIN", "testhost.example.org", date };
  g_autofree char *message_id = NULL;
  g_autoptr(GBytes) bytes = NULL;
  g_autofree char *headers = NULL;
  g_autofree char *id_header = NULL;

  bytes = herald_smtp_build_message (config, &info, &message_id);
  assert_crlf_only (bytes);
  headers = header_block (bytes);

  g_assert_true (g_regex_match_simple ("^From: alerts@example\\.com\\r$", headers,
                                       G_REGEX_MULTILINE, 0));
  g_assert_true (g_regex_match_simple ("^To: ops@example\\.com, ?(\\r\\n\\s+)?admin@example\\.org\\r$",
                                       headers, G_REGEX_MULTILINE, 0));
  g_assert_true (g_regex_match_simple ("^Cc: cc@example\\.net\\r$", headers, G_REGEX_MULTILINE, 0));
  g_assert_true (g_regex_match_simple ("^Subject: Herald test message from testhost\\.example\\.org\\r$",
                                       headers, G_REGEX_MULTILINE, 0));
  g_assert_true (g_regex_match_simple ("^Date: Sat, 28 Nov 2026 09:30:00 \\+0000\\r$", headers,
                                       G_REGEX_MULTILINE, 0));
  g_assert_true (g_regex_match_simple ("^MIME-Version: 1\\.0\\r$", headers, G_REGEX_MULTILINE, 0));
  g_assert_true (g_regex_match_simple ("^Content-Type: text/plain; charset=utf-8\\r$", headers,
                                       G_REGEX_MULTILINE | G_REGEX_CASELESS, 0));
  g_assert_true (g_regex_match_simple ("^Content-Transfer-Encoding: quoted-printable\\r$", headers,
                                       G_REGEX_MULTILINE | G_REGEX_CASELESS, 0));

  /* The Message-ID we report is the one in the message, in the sender's domain. */
  g_assert_nonnull (message_id);
  g_assert_true (g_str_has_prefix (message_id, "<"));
  g_assert_true (g_str_has_suffix (message_id, "@example.com>"));
  id_header = g_strdup_printf ("Message-Id: %s\r\n", message_id);
  g_assert_nonnull (contains_ci (headers, id_header));
  g_assert_null (strstr (headers, "Bcc"));
}

static void
test_message_unicode_subject (void)
{
  g_autoptr(HeraldSmtpConfig) config = make_valid_config ();
  HeraldMessageInfo info = { NULL, "host", NULL };
  const char *subject = "Prüfung der Benachrichtigung – ✓ 日本語";
  g_autoptr(GBytes) bytes = NULL;
  g_autofree char *headers = NULL;
  g_autoptr(GMimeMessage) parsed = NULL;

  config->subject = g_strdup (subject);
  bytes = herald_smtp_build_message (config, &info, NULL);
  headers = header_block (bytes);

  /* Headers are 7-bit: the subject travels as RFC 2047 encoded words. */
  for (const char *p = headers; *p; p++)
    g_assert_cmpuint ((guchar) *p, <, 0x80);
  g_assert_nonnull (strstr (headers, "Subject: =?"));
  g_assert_nonnull (contains_ci (headers, "=?utf-8?"));

  parsed = parse_message (bytes);
  g_assert_nonnull (parsed);
  g_assert_cmpstr (g_mime_message_get_subject (parsed), ==, subject);
}

static void
test_message_body (void)
{
  g_autoptr(HeraldSmtpConfig) config = make_valid_config ();
  g_autoptr(GDateTime) date = g_date_time_new_utc (2026, 11, 28, 9, 30, 5);
  HeraldMessageInfo info = { "XOAUTH2", "build-box.example.org", date };
  g_autoptr(GBytes) bytes = NULL;
  g_autoptr(GMimeMessage) parsed = NULL;
  GMimeObject *body;
  g_autofree char *text = NULL;
  g_autoptr(GBytes) stuffed = NULL;

  config->port = 465;
  config->security = HERALD_SECURITY_TLS;
  config->extra_text = g_strdup ("Sent by the nightly patch run.\n.A line that starts with a dot\nGrüße");
  bytes = herald_smtp_build_message (config, &info, NULL);
  assert_crlf_only (bytes);

  parsed = parse_message (bytes);
  g_assert_nonnull (parsed);
  body = g_mime_message_get_body (parsed);
  g_assert_true (GMIME_IS_TEXT_PART (body));
  g_assert_cmpstr (g_mime_content_type_get_parameter (g_mime_object_get_content_type (body), "charset"),
                   ==, "utf-8");
  text = g_mime_text_part_get_text (GMIME_TEXT_PART (body));

  g_assert_nonnull (strstr (text, "Herald"));
  g_assert_nonnull (strstr (text, "test"));
  g_assert_nonnull (strstr (text, "smtp.example.com"));
  g_assert_nonnull (strstr (text, "465"));
  g_assert_nonnull (strstr (text, "SSL/TLS"));
  g_assert_nonnull (strstr (text, "XOAUTH2"));
  g_assert_nonnull (strstr (text, "build-box.example.org"));
  g_assert_nonnull (strstr (text, "2026-11-28 09:30:05 UTC"));
  g_assert_nonnull (strstr (text, "Sent by the nightly patch run."));
  g_assert_nonnull (strstr (text, "Grüße"));
  g_assert_null (strstr (text, config->password));

  /* The line starting with a dot is stuffed for DATA (QP may leave it as is). */
  stuffed = _herald_smtp_dot_stuff (bytes);
  {
    g_autofree char *raw = g_strndup (g_bytes_get_data (bytes, NULL), g_bytes_get_size (bytes));
    g_autofree char *st = g_strndup (g_bytes_get_data (stuffed, NULL), g_bytes_get_size (stuffed));

    if (strstr (raw, "\r\n.A line") != NULL)
      g_assert_nonnull (strstr (st, "\r\n..A line"));
    g_assert_true (g_str_has_suffix (st, "\r\n.\r\n"));
    g_assert_null (strstr (st, "\r\n.A line"));
  }
}

static void
test_message_default_subject (void)
{
  g_autofree char *subject = herald_smtp_default_subject ("mailer01");

  g_assert_cmpstr (subject, ==, "Herald test message from mailer01");
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);
  g_mime_init ();

  g_test_add_func ("/herald/engine/enums/names", test_enum_names);
  g_test_add_func ("/herald/engine/enums/tls-flag-names", test_tls_flag_names);

  g_test_add_func ("/herald/engine/reply/single", test_reply_single);
  g_test_add_func ("/herald/engine/reply/multiline", test_reply_multiline);
  g_test_add_func ("/herald/engine/reply/sequence", test_reply_sequence);
  g_test_add_func ("/herald/engine/reply/enhanced", test_reply_enhanced);
  g_test_add_func ("/herald/engine/reply/bare-lf", test_reply_bare_lf);
  g_test_add_func ("/herald/engine/reply/code-only", test_reply_code_only);
  g_test_add_func ("/herald/engine/reply/garbage", test_reply_garbage);
  g_test_add_func ("/herald/engine/reply/inconsistent-codes", test_reply_inconsistent_codes);
  g_test_add_func ("/herald/engine/reply/invalid-utf8", test_reply_invalid_utf8);
  g_test_add_func ("/herald/engine/reply/control-characters", test_reply_control_characters);
  g_test_add_func ("/herald/engine/reply/bidi-controls", test_reply_bidi_controls);
  g_test_add_func ("/herald/engine/reply/make-printable", test_make_printable);
  g_test_add_func ("/herald/engine/reply/closed", test_reply_closed);
  g_test_add_func ("/herald/engine/reply/line-cap", test_reply_line_cap);
  g_test_add_func ("/herald/engine/reply/no-newline-flood", test_reply_no_newline_flood);
  g_test_add_func ("/herald/engine/reply/line-count-cap", test_reply_line_count_cap);
  g_test_add_func ("/herald/engine/reply/size-cap", test_reply_size_cap);
  g_test_add_func ("/herald/engine/reply/copy", test_reply_copy);

  g_test_add_func ("/herald/engine/caps/full", test_caps_full);
  g_test_add_func ("/herald/engine/caps/old-auth-form", test_caps_old_auth_form);
  g_test_add_func ("/herald/engine/caps/only-auth-equals", test_caps_only_auth_equals);
  g_test_add_func ("/herald/engine/caps/minimal", test_caps_minimal);
  g_test_add_func ("/herald/engine/caps/hostile", test_caps_hostile);
  g_test_add_func ("/herald/engine/caps/bare-250", test_caps_bare_250);

  g_test_add_func ("/herald/engine/data/crlf", test_crlf_normalize);
  g_test_add_func ("/herald/engine/data/dot-stuffing", test_dot_stuffing);

  g_test_add_func ("/herald/engine/redact/client-lines", test_redact_client_lines);
  g_test_add_func ("/herald/engine/redact/scrub", test_redact_scrub);
  g_test_add_func ("/herald/engine/redact/short-secrets", test_redact_short_secrets);
  g_test_add_func ("/herald/engine/redact/sasl-payloads", test_sasl_payloads);

  g_test_add_func ("/herald/engine/validate/addresses", test_address_valid);
  g_test_add_func ("/herald/engine/validate/address-list", test_address_list_split);
  g_test_add_func ("/herald/engine/validate/config-valid", test_config_valid);
  g_test_add_func ("/herald/engine/validate/injection", test_config_injection);
  g_test_add_func ("/herald/engine/validate/invalid", test_config_invalid);
  g_test_add_func ("/herald/engine/validate/run-refuses", test_run_refuses_invalid_config);
  g_test_add_func ("/herald/engine/run/cancelled-before-start", test_run_cancelled_before_start);

  g_test_add_func ("/herald/engine/copy/config", test_config_copy);
  g_test_add_func ("/herald/engine/copy/result", test_result_copy);

  g_test_add_func ("/herald/engine/message/headers", test_message_headers);
  g_test_add_func ("/herald/engine/message/unicode-subject", test_message_unicode_subject);
  g_test_add_func ("/herald/engine/message/body", test_message_body);
  g_test_add_func ("/herald/engine/message/default-subject", test_message_default_subject);

  return g_test_run ();
}
