/* SPDX-License-Identifier: GPL-3.0-or-later
 * Copyright 2026 The Herald authors
 */
#include "config.h"

#include <string.h>

#include "herald-message.h"
#include "herald-sendmail-args.h"

/* The sendmail command line as callers really write it, and what message
 * preparation makes of what they send. */

static HeraldSendArgs *
parse (const char * const *argv,
       GError            **error)
{
  return herald_send_args_parse (g_strv_length ((char **) argv), (char **) argv, error);
}

static void
test_args_callers (void)
{
  g_autoptr(GError) error = NULL;

  /* cronie / vixie cron */
  {
    const char *argv[] = { "sendmail", "-FCronDaemon", "-i", "-odi", "-oem", "-oi", "-t", "-f",
                           "root", NULL };
    g_autoptr(HeraldSendArgs) a = parse (argv, &error);

    g_assert_no_error (error);
    g_assert_cmpint (a->mode, ==, HERALD_SEND_MODE_SEND);
    g_assert_true (a->extract);
    g_assert_false (a->queue_only);
    g_assert_cmpstr (a->full_name, ==, "CronDaemon");
    g_assert_cmpstr (a->sender, ==, "root");
    g_assert_cmpuint (g_strv_length (a->recipients), ==, 0);
  }
  /* Debian cron */
  {
    const char *argv[] = { "sendmail", "-FCronDaemon", "-i", "-B8BITMIME", "-oem", "alice", NULL };
    g_autoptr(HeraldSendArgs) a = parse (argv, &error);

    g_assert_no_error (error);
    g_assert_false (a->extract);
    g_assert_cmpstr (a->recipients[0], ==, "alice");
    g_assert_null (a->recipients[1]);
  }
  /* systemd-cron: -B with its value apart */
  {
    const char *argv[] = { "sendmail", "-i", "-B", "8BITMIME", "ops@example.com", NULL };
    g_autoptr(HeraldSendArgs) a = parse (argv, &error);

    g_assert_no_error (error);
    g_assert_cmpstr (a->recipients[0], ==, "ops@example.com");
    g_assert_null (a->recipients[1]);
  }
  /* mdadm */
  {
    const char *argv[] = { "/usr/lib/sendmail", "-t", NULL };
    g_autoptr(HeraldSendArgs) a = parse (argv, &error);

    g_assert_no_error (error);
    g_assert_true (a->extract);
  }
  /* git send-email */
  {
    const char *argv[] = { "sendmail", "-i", "-f", "dev@example.com", "a@example.com",
                           "b@example.org", NULL };
    g_autoptr(HeraldSendArgs) a = parse (argv, &error);

    g_assert_no_error (error);
    g_assert_cmpstr (a->sender, ==, "dev@example.com");
    g_assert_cmpuint (g_strv_length (a->recipients), ==, 2);
  }
  /* Grouped letters, -odq, -r, "--" */
  {
    const char *argv[] = { "sendmail", "-ti", "-odq", "-r", "x@example.com", "-v", "-m", "-n",
                           "-U", "-N", "never", "-R", "hdrs", "-V", "id", "-h", "5", "-L", "tag",
                           "-o", "x", "--", "-odd@example.com", NULL };
    g_autoptr(HeraldSendArgs) a = parse (argv, &error);

    g_assert_no_error (error);
    g_assert_true (a->extract);
    g_assert_true (a->queue_only);
    g_assert_cmpstr (a->sender, ==, "x@example.com");
    g_assert_cmpstr (a->recipients[0], ==, "-odd@example.com");
    g_assert_null (a->recipients[1]);
  }
  /* Herald's own options */
  {
    const char *argv[] = { "send", "--subject", "Backup failed", "--json", "--queue-only",
                           "ops@example.com", NULL };
    g_autoptr(HeraldSendArgs) a = parse (argv, &error);

    g_assert_no_error (error);
    g_assert_cmpstr (a->subject, ==, "Backup failed");
    g_assert_true (a->json);
    g_assert_true (a->queue_only);
  }
  {
    const char *argv[] = { "sendmail", "-bp", NULL };
    g_autoptr(HeraldSendArgs) a = parse (argv, &error);

    g_assert_no_error (error);
    g_assert_cmpint (a->mode, ==, HERALD_SEND_MODE_LIST);
  }
  {
    const char *argv[] = { "sendmail", "-q30m", NULL };
    g_autoptr(HeraldSendArgs) a = parse (argv, &error);

    g_assert_no_error (error);
    g_assert_cmpint (a->mode, ==, HERALD_SEND_MODE_FLUSH);
  }
}

static void
test_args_errors (void)
{
  const char *unknown[][3] = {
    { "sendmail", "-Z", NULL },
    { "sendmail", "-tZ", NULL },
    { "send", "--bogus", NULL },
    { "send", "--json=yes", NULL },
  };
  const char *bad_value[][3] = {
    { "sendmail", "-f", NULL },
    { "sendmail", "-bs", NULL },
    { "send", "--subject", NULL },
  };

  for (guint i = 0; i < G_N_ELEMENTS (unknown); i++)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(HeraldSendArgs) a = parse (unknown[i], &error);

      g_assert_null (a);
      g_assert_error (error, G_OPTION_ERROR, G_OPTION_ERROR_UNKNOWN_OPTION);
    }
  for (guint i = 0; i < G_N_ELEMENTS (bad_value); i++)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(HeraldSendArgs) a = parse (bad_value[i], &error);

      g_assert_null (a);
      g_assert_error (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE);
    }
}

/* ---- preparation ------------------------------------------------------------------- */

static const char * const profile_to[] = { "admin@example.com", "oncall@example.org", NULL };

static HeraldMessageOptions
default_options (void)
{
  HeraldMessageOptions o = { 0 };

  o.profile_from = "alerts@contoso.com";
  o.profile_recipients = profile_to;
  o.rewrite_from = TRUE;
  o.max_size = 1024 * 1024;
  o.hostname = "host.example";
  return o;
}

static HeraldPreparedMessage *
prepare (const char                 *input,
         const HeraldMessageOptions *o,
         GError                    **error)
{
  return herald_message_prepare (input, strlen (input), o, error);
}

static char *
text_of (HeraldPreparedMessage *m)
{
  gsize n;
  const char *data = g_bytes_get_data (m->data, &n);

  return g_strndup (data, n);
}

/* The header section of @text (up to the empty line). */
static char *
headers_of (const char *text)
{
  const char *end = strstr (text, "\r\n\r\n");

  g_assert_nonnull (end);
  return g_strndup (text, (gsize) (end - text) + 2);
}

static gboolean
has_bare_lf (const char *text)
{
  for (const char *p = text; *p != '\0'; p++)
    if (*p == '\n' && (p == text || p[-1] != '\r'))
      return TRUE;
  return FALSE;
}

static void
test_prepare_rfc5322 (void)
{
  HeraldMessageOptions o = default_options ();
  const char *args[] = { "extra@example.net", NULL };
  g_autoptr(GError) error = NULL;
  g_autoptr(HeraldPreparedMessage) m = NULL;
  g_autofree char *text = NULL;
  g_autofree char *headers = NULL;

  o.extract = TRUE;
  o.recipients = args;
  m = prepare ("From: \"Cron Daemon\" <root@web1.example.com>\n"
               "To: a@example.com,\n b@example.com\n"
               "Cc: Carol <c@example.com>\n"
               "Bcc: secret@example.com\n"
               "Resent-Bcc: other-secret@example.com\n"
               "Return-Path: <x@y.z>\n"
               "Subject: Cron <root@web1> run-parts\n"
               "\n"
               "line one\n"
               ".\n"
               "line after a lone dot\r\n"
               "last line without end", &o, &error);
  g_assert_no_error (error);
  text = text_of (m);
  headers = headers_of (text);

  /* Arguments first, then To, Cc and Bcc, each once. */
  g_assert_cmpuint (g_strv_length (m->recipients), ==, 5);
  g_assert_cmpstr (m->recipients[0], ==, "extra@example.net");
  g_assert_cmpstr (m->recipients[1], ==, "a@example.com");
  g_assert_cmpstr (m->recipients[2], ==, "b@example.com");
  g_assert_cmpstr (m->recipients[3], ==, "c@example.com");
  g_assert_cmpstr (m->recipients[4], ==, "secret@example.com");

  /* Bcc, Resent-Bcc and Return-Path are gone; the folded To is kept. */
  g_assert_null (strstr (text, "secret@example.com"));
  g_assert_null (strstr (headers, "Return-Path"));
  g_assert_nonnull (strstr (headers, "To: a@example.com,\r\n b@example.com\r\n"));

  /* The sender is the profile's, with the original's display name; the
   * original is recorded. */
  g_assert_cmpstr (m->sender, ==, "alerts@contoso.com");
  g_assert_nonnull (strstr (headers, "From: Cron Daemon <alerts@contoso.com>\r\n"));
  g_assert_nonnull (strstr (headers,
                            "X-Herald-Original-From: \"Cron Daemon\" <root@web1.example.com>\r\n"));

  /* Added because missing. */
  g_assert_nonnull (strstr (headers, "\r\nDate: "));
  g_assert_nonnull (strstr (headers, "\r\nMessage-ID: <"));
  g_assert_nonnull (strstr (headers, "\r\nMIME-Version: 1.0\r\n"));
  g_assert_nonnull (strstr (headers, m->message_id));
  g_assert_cmpstr (m->subject, ==, "Cron <root@web1> run-parts");

  /* CRLF everywhere; a lone dot is just a line; the end gets its CRLF. */
  g_assert_false (has_bare_lf (text));
  g_assert_true (g_str_has_suffix (text, "line one\r\n.\r\nline after a lone dot\r\n"
                                          "last line without end\r\n"));
  g_assert_false (m->eight_bit);
}

static void
test_prepare_keeps_present_headers (void)
{
  HeraldMessageOptions o = default_options ();
  g_autoptr(GError) error = NULL;
  g_autoptr(HeraldPreparedMessage) m = NULL;
  g_autofree char *text = NULL;

  m = prepare ("From: Alerts <alerts@contoso.com>\r\n"
               "To: root\r\n"
               "Date: Mon, 7 Dec 2026 09:00:00 +0000\r\n"
               "Message-ID: <kept.1@web1>\r\n"
               "MIME-Version: 1.0\r\n"
               "Content-Type: text/plain; charset=utf-8\r\n"
               "Subject: x\r\n\r\nbody\r\n", &o, &error);
  g_assert_no_error (error);
  text = text_of (m);

  g_assert_cmpstr (m->message_id, ==, "kept.1@web1");
  /* Each once. */
  g_assert_true (strstr (text, "Date:") == g_strrstr (text, "Date:"));
  g_assert_true (strstr (text, "Message-ID:") == g_strrstr (text, "Message-ID:"));
  g_assert_true (strstr (text, "MIME-Version:") == g_strrstr (text, "MIME-Version:"));
  /* From is already the profile's: untouched, nothing recorded. */
  g_assert_nonnull (strstr (text, "From: Alerts <alerts@contoso.com>\r\n"));
  g_assert_null (strstr (text, "X-Herald-Original-From"));
  /* No recipient named (no -t): the profile's. */
  g_assert_cmpuint (g_strv_length (m->recipients), ==, 2);
  g_assert_cmpstr (m->recipients[0], ==, "admin@example.com");
}

static void
test_prepare_local_names (void)
{
  HeraldMessageOptions o = default_options ();
  const char *args[] = { "root", "alice", "ops@example.com", NULL };
  const char *local[] = { "sysadmin@example.com", NULL };
  g_autoptr(GError) error = NULL;

  o.recipients = args;
  {
    g_autoptr(HeraldPreparedMessage) m = prepare ("Subject: x\n\nbody\n", &o, &error);

    g_assert_no_error (error);
    /* root and alice both map to the profile's To, once. */
    g_assert_cmpuint (g_strv_length (m->recipients), ==, 3);
    g_assert_cmpstr (m->recipients[0], ==, "admin@example.com");
    g_assert_cmpstr (m->recipients[1], ==, "oncall@example.org");
    g_assert_cmpstr (m->recipients[2], ==, "ops@example.com");
  }
  o.local_recipients = local;
  {
    g_autoptr(HeraldPreparedMessage) m = prepare ("Subject: x\n\nbody\n", &o, &error);

    g_assert_no_error (error);
    g_assert_cmpstr (m->recipients[0], ==, "sysadmin@example.com");
    g_assert_cmpstr (m->recipients[1], ==, "ops@example.com");
    g_assert_null (m->recipients[2]);
  }
  /* mdadm: -t and "To: root" in the message. */
  o.recipients = NULL;
  o.extract = TRUE;
  {
    g_autoptr(HeraldPreparedMessage) m = prepare ("From: mdadm monitoring <root>\nTo: root\n"
                                                  "Subject: Fail event on /dev/md0\n\nA Fail "
                                                  "event had been detected\n", &o, &error);
    g_autofree char *text = NULL;

    g_assert_no_error (error);
    text = text_of (m);
    g_assert_cmpstr (m->recipients[0], ==, "sysadmin@example.com");
    g_assert_null (m->recipients[1]);
    g_assert_nonnull (strstr (text, "From: mdadm monitoring <alerts@contoso.com>\r\n"));
  }
}

static void
test_prepare_sender_options (void)
{
  HeraldMessageOptions o = default_options ();
  g_autoptr(GError) error = NULL;

  /* -F names a message that has no From. */
  o.full_name = "CronDaemon";
  o.envelope_from = "root";
  {
    g_autoptr(HeraldPreparedMessage) m = prepare ("Subject: x\n\nbody\n", &o, &error);
    g_autofree char *text = NULL;

    g_assert_no_error (error);
    text = text_of (m);
    g_assert_nonnull (strstr (text, "From: CronDaemon <alerts@contoso.com>\r\n"));
    g_assert_cmpstr (m->sender, ==, "alerts@contoso.com");
  }
  /* rewrite-from=false: the caller's -f and From stay. */
  o.rewrite_from = FALSE;
  o.envelope_from = "dev@example.com";
  {
    g_autoptr(HeraldPreparedMessage) m = prepare ("From: Dev <dev@example.com>\nSubject: x\n\n"
                                                  "body\n", &o, &error);
    g_autofree char *text = NULL;

    g_assert_no_error (error);
    text = text_of (m);
    g_assert_cmpstr (m->sender, ==, "dev@example.com");
    g_assert_nonnull (strstr (text, "From: Dev <dev@example.com>\r\n"));
    g_assert_null (strstr (text, "X-Herald-Original-From"));
  }
}

static void
test_prepare_body_mode (void)
{
  HeraldMessageOptions o = default_options ();
  const char *args[] = { "ops@example.com", "root", NULL };
  g_autoptr(GError) error = NULL;
  g_autoptr(HeraldPreparedMessage) m = NULL;
  g_autofree char *text = NULL;
  g_autofree char *headers = NULL;

  o.subject = "Sauvegarde échouée";
  o.recipients = args;
  m = prepare ("La sauvegarde a échoué.\n.\nFin\n", &o, &error);
  g_assert_no_error (error);
  text = text_of (m);
  headers = headers_of (text);

  g_assert_nonnull (strstr (headers, "From: alerts@contoso.com\r\n"));
  g_assert_nonnull (strstr (headers, "To: ops@example.com, admin@example.com"));
  g_assert_nonnull (strstr (headers, "Subject: Sauvegarde =?UTF-8?"));   /* encoded */
  g_assert_nonnull (strstr (headers, "Date: "));
  g_assert_nonnull (strstr (headers, "Message-Id: <"));
  g_assert_nonnull (strstr (headers, m->message_id));
  g_assert_nonnull (strstr (headers, "MIME-Version: 1.0"));
  g_assert_nonnull (strstr (headers, "User-Agent: Herald/"));
  g_assert_nonnull (strstr (headers, "charset=utf-8"));
  g_assert_cmpstr (m->subject, ==, "Sauvegarde échouée");
  g_assert_false (has_bare_lf (text));
  /* Encoded for any server: no 8-bit byte goes out. */
  g_assert_false (m->eight_bit);
  g_assert_cmpuint (g_strv_length (m->recipients), ==, 3);

  /* Not UTF-8: refused, not mangled. */
  {
    g_autoptr(GError) e2 = NULL;
    g_autoptr(HeraldPreparedMessage) bad = prepare ("caf\xe9\n", &o, &e2);

    g_assert_null (bad);
    g_assert_error (e2, HERALD_MESSAGE_ERROR, HERALD_MESSAGE_ERROR_BAD_INPUT);
  }
}

static void
test_prepare_eight_bit (void)
{
  HeraldMessageOptions o = default_options ();
  g_autoptr(GError) error = NULL;
  g_autoptr(HeraldPreparedMessage) m = prepare ("Subject: x\n\nTempérature élevée: 92 °C\n", &o,
                                                &error);
  g_autofree char *text = NULL;

  g_assert_no_error (error);
  text = text_of (m);
  g_assert_true (m->eight_bit);
  /* Without a Content-Type, 8-bit text would claim US-ASCII. */
  g_assert_nonnull (strstr (text, "Content-Type: text/plain; charset=utf-8\r\n"));
  g_assert_nonnull (strstr (text, "Content-Transfer-Encoding: 8bit\r\n"));
  g_assert_nonnull (strstr (text, "Température élevée: 92 °C\r\n"));
}

static void
test_prepare_errors (void)
{
  HeraldMessageOptions o = default_options ();
  const char *bad_rcpt[] = { "bad@", NULL };
  g_autoptr(GError) error = NULL;
  g_autofree char *big = g_strnfill (2000, 'x');

  g_assert_null (herald_message_prepare ("", 0, &o, &error));
  g_assert_error (error, HERALD_MESSAGE_ERROR, HERALD_MESSAGE_ERROR_EMPTY);
  g_clear_error (&error);

  o.max_size = 1000;
  g_assert_null (prepare (big, &o, &error));
  g_assert_error (error, HERALD_MESSAGE_ERROR, HERALD_MESSAGE_ERROR_TOO_BIG);
  g_clear_error (&error);
  o.max_size = 0;

  o.recipients = bad_rcpt;
  g_assert_null (prepare ("Subject: x\n\nbody\n", &o, &error));
  g_assert_error (error, HERALD_MESSAGE_ERROR, HERALD_MESSAGE_ERROR_BAD_ADDRESS);
  g_clear_error (&error);
  o.recipients = NULL;

  o.profile_recipients = NULL;
  g_assert_null (prepare ("Subject: x\n\nbody\n", &o, &error));
  g_assert_error (error, HERALD_MESSAGE_ERROR, HERALD_MESSAGE_ERROR_NO_RECIPIENT);
  g_clear_error (&error);

  /* A line break in -F would inject a header. */
  o.profile_recipients = profile_to;
  o.full_name = "Evil\r\nBcc: x@y.z";
  g_assert_null (prepare ("Subject: x\n\nbody\n", &o, &error));
  g_assert_error (error, HERALD_MESSAGE_ERROR, HERALD_MESSAGE_ERROR_BAD_INPUT);
}

/* For a server without 8BITMIME: the body re-encoded, nothing 8-bit left,
 * the text the same once decoded. */
static void
test_encode_7bit (void)
{
  HeraldMessageOptions o = default_options ();
  g_autoptr(GError) error = NULL;
  g_autoptr(HeraldPreparedMessage) m = prepare ("Subject: x\n\nTempérature élevée: 92 °C\n", &o,
                                                &error);
  g_autoptr(GBytes) encoded = NULL;
  g_autofree char *text = NULL;
  gsize n;
  const char *data;

  g_assert_no_error (error);
  encoded = herald_message_encode_7bit (m->data);
  g_assert_nonnull (encoded);
  data = g_bytes_get_data (encoded, &n);
  for (gsize i = 0; i < n; i++)
    g_assert_cmpint ((guint8) data[i], <, 0x80);
  text = g_strndup (data, n);
  g_assert_nonnull (strstr (text, "Content-Transfer-Encoding: quoted-printable"));
  g_assert_nonnull (strstr (text, "Temp=C3=A9rature =C3=A9lev=C3=A9e"));
  g_assert_nonnull (strstr (text, "Subject: x"));
  g_assert_false (has_bare_lf (text));
}

int
main (int    argc,
      char **argv)
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/herald/delivery/args/callers", test_args_callers);
  g_test_add_func ("/herald/delivery/args/errors", test_args_errors);
  g_test_add_func ("/herald/delivery/prepare/rfc5322", test_prepare_rfc5322);
  g_test_add_func ("/herald/delivery/prepare/keeps-present-headers",
                   test_prepare_keeps_present_headers);
  g_test_add_func ("/herald/delivery/prepare/local-names", test_prepare_local_names);
  g_test_add_func ("/herald/delivery/prepare/sender-options", test_prepare_sender_options);
  g_test_add_func ("/herald/delivery/prepare/body-mode", test_prepare_body_mode);
  g_test_add_func ("/herald/delivery/prepare/eight-bit", test_prepare_eight_bit);
  g_test_add_func ("/herald/delivery/prepare/errors", test_prepare_errors);
  g_test_add_func ("/herald/delivery/prepare/encode-7bit", test_encode_7bit);

  return g_test_run ();
}
