/* SPDX-License-Identifier: GPL-3.0-or-later
 * Copyright 2026 The Herald authors
 */
#define G_LOG_DOMAIN "herald-test"

#include <string.h>

#include "herald-diagnosis.h"
#include "herald-diagnosis-private.h"

/* `heraldctl explain` accepts up to 1 MiB. */
#define INPUT_SIZE (1024 * 1024)

static char *
repeat (const char *unit,
        gsize       size)
{
  GString *out = g_string_sized_new (size + strlen (unit));

  while (out->len + strlen (unit) <= size)
    g_string_append (out, unit);
  return g_string_free (out, FALSE);
}

static void
assert_printable (const char *text)
{
  g_assert_true (g_utf8_validate (text, -1, NULL));
  for (const char *p = text; *p != '\0'; p = g_utf8_next_char (p))
    {
      gunichar c = g_utf8_get_char (p);

      if (c == '\n')
        continue;
      if (c < 0x20 || (c >= 0x7f && c <= 0x9f) || c == 0x202e)
        g_error ("U+%04X left in “%s”", c, text);
    }
}

/* 1 MiB of texts that made the extraction quadratic (every "250-" a match
 * whose search checked the rest of the text again), or that could make the
 * rules search a megabyte: the regex engine is handed a bounded multiple of
 * the text, and the reply the rules search is bounded as the engine bounds
 * one it reads. The time this takes is measured by bench/explain-bench.py. */
static void
test_work_is_linear (void)
{
  const char *units[] = {
    "250-x\n",
    "250 ",
    "5.7.1 ",
    "535 5.7.1 x ",
    "535-5.7.8 no\n",
    "<- 250-x\n -> AUTH LOGIN\n",
    "(250, '",
    "words without any code ",
    "permanent error (550): ",
    "552: x ",
    "severity: PermanentNegativeCompletion, category: MailSystem, detail: Four ",
    "Detail: x ",
    "Detail: x SMTP code: 550 ",
    "(code 550): ",
    "x\\n5.7.8 ",
    "ServiceNotAvailable: ",
    "550\n5.7.1x\n",
  };

  for (guint i = 0; i < G_N_ELEMENTS (units); i++)
    {
      g_autofree char *text = repeat (units[i], INPUT_SIZE);
      g_autoptr(HeraldExtractedReply) extracted = _herald_extract_reply (text);

      g_test_message ("%s x %zu: %" G_GSIZE_FORMAT " bytes searched", units[i],
                      strlen (text) / strlen (units[i]), extracted->searched);
      g_assert_cmpuint (extracted->searched, <=, 16 * strlen (text));
      g_assert_cmpuint (strlen (extracted->reply), <=, 64 * 1024);
      g_assert_cmpuint (strlen (extracted->normalised), <=, 64 * 1024);
    }
}

/* Postfix wraps the reply it quotes at about 70 columns, the code alone
 * after "said:" and "(in reply to ... command)" itself cut anywhere: every
 * line up to that one is the reply's. Without that ending, a line that does
 * not continue the reply still ends it. */
static void
test_postfix_wrapped (void)
{
  const struct { const char *text; int code; const char *enhanced; const char *in; const char *out; } cases[] = {
    { "<a@example.org>: host mx.example.org[192.0.2.7] said: 421\n4.7.0 Messages from 198.51.100.4 deferred due to\nexcessive volume, slow down - see\nhttps://postmaster.example.org (in reply to MAIL FROM command)",
      421, "4.7.0", "excessive volume", NULL },
    { "<b@example.net>: host mx.example.net[192.0.2.8] said: 550-5.1.1 The email account that\nyou tried to reach does not exist. Please check the address (in\nreply to RCPT TO command)",
      550, "5.1.1", "does not exist", NULL },
    { "host mx.example.com[192.0.2.9] said: 552 5.3.4 Message size exceeds\nfixed limit (in reply to end of DATA command)",
      552, "5.3.4", "fixed limit", NULL },
    { "550 5.1.1 User unknown\n\tat com.example.Mailer.send(Mailer.java:42)",
      550, "5.1.1", "User unknown", "Mailer.java" },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr(HeraldExtractedReply) extracted = _herald_extract_reply (cases[i].text);

      g_test_message ("%s -> %s", cases[i].text, extracted->normalised);
      g_assert_cmpint (extracted->code, ==, cases[i].code);
      g_assert_cmpstr (extracted->enhanced, ==, cases[i].enhanced);
      g_assert_nonnull (strstr (extracted->normalised, cases[i].in));
      if (cases[i].out != NULL)
        g_assert_null (strstr (extracted->normalised, cases[i].out));
    }
}

/* A code followed by words in another script is a reply where a reply line
 * starts; a number before such words in running text (a count, a size) is
 * not. */
static void
test_non_latin_reply (void)
{
  const struct { const char *text; int code; const char *in; } replies[] = {
    { "550 Пользователь не найден", 550, "Пользователь" },
    { "Ошибка отправки: 550 Почтовый ящик недоступен", 550, "Почтовый ящик" },
    { "发送失败：535 用户名或密码错误", 535, "用户名或密码错误" },
    { "SMTP error\n550 ユーザーが見つかりません", 550, "ユーザー" },
    { "\"421 服务暂时不可用\"", 421, "服务" },
  };
  const char *not_replies[] = {
    "今天发送了 550 封邮件",
    "邮件大小 512 字节超过限制",
    "Отправлено 250 писем, ошибка соединения",
    "于 2023 年 5 月发送失败",
  };

  for (guint i = 0; i < G_N_ELEMENTS (replies); i++)
    {
      g_autoptr(HeraldExtractedReply) extracted = _herald_extract_reply (replies[i].text);

      g_test_message ("%s -> %d %s", replies[i].text, extracted->code, extracted->normalised);
      g_assert_cmpint (extracted->code, ==, replies[i].code);
      g_assert_nonnull (strstr (extracted->normalised, replies[i].in));
    }
  for (guint i = 0; i < G_N_ELEMENTS (not_replies); i++)
    {
      g_autoptr(HeraldExtractedReply) extracted = _herald_extract_reply (not_replies[i]);

      g_test_message ("%s -> %d", not_replies[i], extracted->code);
      g_assert_cmpint (extracted->code, ==, 0);
    }
}

/* A long reply line cut in the middle of a word at a fixed width (Java's
 * and Exchange's logs) is joined back; a line that starts with its own code,
 * a capital, a blank, a label or a stack frame, a short line and Postfix's
 * wrapping between words are not. */
static void
test_cut_word (void)
{
  const struct { const char *text; const char *in; const char *out; } cases[] = {
    /* concept: a 100-column log cut inside "SmtpClientAuthentication" and "information" */
    { "javax.mail.AuthenticationFailedException: 535 5.7.139 Authentication unsuccessful, the SmtpClie\n"
      "ntAuthentication setting is disabled for the Tenant. Visit https://aka.ms/smtp_auth_disabled for more informat\n"
      "ion. [AB1PR01CA0001.eurprd01.prod.outlook.com]",
      "SmtpClientAuthentication setting is disabled for the Tenant", NULL },
    /* a short line: the next one is the program's own words */
    { "550 5.1.1 <a@example.org> User unknown\nretrying in five minutes", "User unknown", "unknownretrying" },
    /* a long line followed by a stack frame without its tab */
    { "550 5.7.1 Message rejected because the sending address is not permitted for this account here\n"
      "at com.example.Mailer.send(Mailer.java:42)", "account here", "hereat" },
    /* a long line followed by the program's label */
    { "msmtp: 550 5.7.1 Relaying denied: the recipient domain is not served by this server at all here\n"
      "msmtp: could not send mail (account default from /etc/msmtprc)", "at all here", "heremsmtp" },
    /* Postfix wraps between words and drops the blank */
    { "host mx.example.com[192.0.2.9] said: 421 4.7.0 Messages from 192.0.2.4 temporarily deferred due to\n"
      "unexpected volume or user complaints (in reply to MAIL FROM command)",
      "due to unexpected volume", "tounexpected" },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr(HeraldExtractedReply) extracted = _herald_extract_reply (cases[i].text);

      g_test_message ("%s -> %s", cases[i].text, extracted->normalised);
      g_assert_nonnull (strstr (extracted->normalised, cases[i].in));
      if (cases[i].out != NULL)
        g_assert_null (strstr (extracted->normalised, cases[i].out));
    }
}

/* A success (2xx) is no refusal: a transcript with only the server's 220
 * and 250 lines before the program's own error is read as that error, with
 * no code, as the engine never matches a stale 2xx reply. */
static void
test_success_is_no_refusal (void)
{
  const char *texts[] = {
    "S: 220 mx.example.net ESMTP ready\nC: STARTTLS\nS: 220 2.0.0 Ready to start TLS\nerror: certificate verify failed",
    "<- 250 2.1.0 Sender OK\nread error: the connection was reset",
  };

  for (guint i = 0; i < G_N_ELEMENTS (texts); i++)
    {
      g_autoptr(HeraldExtractedReply) extracted = _herald_extract_reply (texts[i]);

      g_test_message ("%s -> %s", texts[i], extracted->normalised);
      g_assert_cmpint (extracted->code, ==, 0);
      g_assert_null (extracted->enhanced);
      g_assert_nonnull (strstr (extracted->normalised, texts[i] + strlen (texts[i]) - 12));
    }
}

/* A refusal code that a program names in its own words at the very end, with
 * no reply text after it, is kept for the fallback's class; a port or a
 * 2xx code named the same way is not taken for a refusal. */
static void
test_named_code (void)
{
  const struct { const char *text; int code; } cases[] = {
    { "Error: Expected smtp code 250, got 552", 552 },
    { "Sending failed, got code \"451\"", 451 },
    { "responseCode: 535", 535 },
    { "curl: (55) RCPT failed: 550", 550 },
    { "Could not connect to port 587", 0 },
    { "Expected smtp code 250, got 250", 0 },
    /* the code the program wanted is no reply: the one it got counts */
    { "Swift_TransportException: Expected response code 354 but got code \"503\"", 503 },
    { "Expected response code 250 but got an empty response", 0 },
    /* a Python tuple with an HTTP status is no smtplib reply */
    { "exception: InvalidToken(400, 'ac.robinson.email-oauth2-proxy')", 0 },
    /* HTTP statuses as HTTP libraries name them */
    { "AxiosError: Request failed with status code 400", 0 },
    { "requests.exceptions.HTTPError: status code 503", 0 },
    { "got 404", 0 },
    /* PEAR Net_SMTP names the code after the server, in brackets */
    { "PHP message: ERROR: Invalid response code received from server (535)", 535 },
    { "Unexpected reply from the SMTP server (421)", 421 },
    /* an errno or an HTTP status in brackets is no reply code */
    { "Connection refused by server (111)", 0 },
    { "The remote server returned an error: (500) Internal Server Error.", 0 },
    /* .NET's and MailKit's SmtpStatusCode names */
    { "SmtpCommandException: StatusCode: MailboxUnavailable", 550 },
    { "if (ex.StatusCode == SmtpStatusCode.ServiceNotAvailable)", 421 },
    /* the standard reply texts, as .NET prints them without the code */
    { "System.Net.Mail.SmtpException: Bad sequence of commands.", 503 },
    { "SmtpException: Command parameter not implemented", 504 },
    { "Requested action aborted: local error in processing", 451 },
    { "the printer reported a syntax error", 0 },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr(HeraldExtractedReply) extracted = _herald_extract_reply (cases[i].text);

      g_test_message ("%s", cases[i].text);
      g_assert_cmpint (extracted->named_code, ==, cases[i].code);
      /* Only the class counts: no rule may take the program's words for a reply. */
      g_assert_cmpint (extracted->code, ==, 0);
    }
}

/* A code in the wrapper's own punctuation or words is the reply's code, and
 * the words after it its text; ports, HTTP statuses, times and line numbers
 * are not codes. */
static void
test_wrapped_code (void)
{
  const struct { const char *text; int code; const char *enhanced; const char *normalised; } cases[] = {
    /* lettre's Display */
    { "SMTP 5xx error: permanent error (550): Error: content rejected.", 550, NULL, "Error: content rejected." },
    { "transient error (421): 4.7.0 Try again later", 421, "4.7.0", "4.7.0 Try again later" },
    /* MailKit, and a bare code with a colon */
    { "MailKit.Security.AuthenticationException: 535: 5.7.8 Username and Password not accepted",
      535, "5.7.8", "5.7.8 Username and Password not accepted" },
    { "552: Message rejected for spam or virus content", 552, NULL, "Message rejected for spam or virus content" },
    { "Erreur SMTP (535) : authentication failed", 535, NULL, "authentication failed" },
    /* in square brackets after a space */
    { "Error SMTP: [550] Incorrect sender header (LOCAL)", 550, NULL, "Incorrect sender header (LOCAL)" },
    /* lettre's Debug: severity, category and detail spell the code */
    { "Error { kind: Permanent(Code { severity: PermanentNegativeCompletion, category: MailSystem, detail: Four }) }",
      554, NULL, NULL },
    { "kind: Transient(\n  Code {\n    severity: TransientNegativeCompletion,\n    category: Connections,\n"
      "    detail: One,\n  },\n)", 421, NULL, NULL },
    { "severity: PermanentNegativeCompletion, category: Unspecified3, detail: Five", 535, NULL, NULL },
    /* a code named in the wrapper's words, with the reply's words after it */
    { "SMTP Error (code 535): Incorrect authentication data", 535, NULL, "Incorrect authentication data" },
    { "send failed: response code 550, message: Relay not permitted", 550, NULL, "Relay not permitted" },
    /* the name .NET and MailKit give the code */
    { "ServiceNotAvailable: 4.3.2 Service not active", 421, "4.3.2", "4.3.2 Service not active" },
    { "MailKit.Net.Smtp.SmtpCommandException: AuthenticationInvalidCredentials: 5.7.8 Invalid credentials",
      535, "5.7.8", "5.7.8 Invalid credentials" },
    /* a code alone on its line, the reply's words on the next */
    { "SMTPSenderRefused: 550\n5.7.1Unauthorized shipping - Check your MX", 550, "5.7.1",
      "5.7.1Unauthorized shipping - Check your MX" },
    /* not codes */
    { "SyntaxError: Unexpected token < in JSON at position 0", 0, NULL, NULL },
    { "Expected response code 250 but got code \"554\", with message \"554 5.7.1 Spam\"", 554, "5.7.1", NULL },
    { "The remote server returned an error: (403) Forbidden.", 0, NULL, NULL },
    { "HTTP error (429): Too Many Requests", 0, NULL, NULL },
    { "Could not connect to smtp.example.com (465): Connection refused", 0, NULL, NULL },
    { "Fatal error in /var/www/mail.php on line 452: Call to undefined function", 0, NULL, NULL },
    { "[2024-01-02 12:45:52: connection lost]", 0, NULL, NULL },
    /* a process id in brackets after a name, or after an ISO 8601 time */
    { "postfix/smtp[552]: connect to mx.example.com: Connection timed out", 0, NULL, NULL },
    { "2016-12-12T04:14:09.782Z 501 TID-1u5770 WARN: Net::OpenTimeout: execution expired", 0, NULL, NULL },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree char *text = g_strcompress (cases[i].text);
      g_autoptr(HeraldExtractedReply) extracted = _herald_extract_reply (text);

      g_test_message ("%s", text);
      g_assert_cmpint (extracted->code, ==, cases[i].code);
      g_assert_cmpstr (extracted->enhanced, ==, cases[i].enhanced);
      if (cases[i].normalised != NULL)
        g_assert_cmpstr (extracted->normalised, ==, cases[i].normalised);
    }
}

/* PHPMailer's layout, "Detail: <words> SMTP code: NNN Additional SMTP info:
 * X.Y.Z" (language/phpmailer.lang-*.php for the labels' translations), is
 * rebuilt as the reply the server sent. */
static void
test_phpmailer_detail (void)
{
  const struct { const char *text; int code; const char *enhanced; const char *normalised; HeraldStage stage; } cases[] = {
    { "SMTP Error: SMTP server error: MAIL FROM command failed Detail: Sender address rejected: not owned by "
      "user bob@example.org SMTP code: 553 Additional SMTP info: 5.7.1",
      553, "5.7.1", "5.7.1 Sender address rejected: not owned by user bob@example.org", HERALD_STAGE_MAIL },
    { "SMTP Error: data not accepted. SMTP server error: DATA END command failed Detail: Message rejected as spam "
      "SMTP code: 550", 550, NULL, "Message rejected as spam", HERALD_STAGE_DATA },
    /* French and Spanish labels */
    { "Erreur SMTP : RCPT TO command failed Détails : Relay access denied Code SMTP : 554 "
      "Informations supplémentaires SMTP : 5.7.1", 554, "5.7.1", "5.7.1 Relay access denied", HERALD_STAGE_RCPT },
    { "Error del servidor SMTP: AUTH command failed Detalle: Authentication credentials invalid "
      "Código SMTP: 535 Información adicional del servidor SMTP: 5.7.8",
      535, "5.7.8", "5.7.8 Authentication credentials invalid", HERALD_STAGE_AUTH },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr(HeraldExtractedReply) extracted = _herald_extract_reply (cases[i].text);

      g_test_message ("%s", cases[i].text);
      g_assert_cmpint (extracted->code, ==, cases[i].code);
      g_assert_cmpstr (extracted->enhanced, ==, cases[i].enhanced);
      g_assert_cmpstr (extracted->normalised, ==, cases[i].normalised);
      g_assert_cmpint (extracted->stage, ==, cases[i].stage);
    }
}

/* A reply quoted in JSON or a log field keeps its line breaks escaped: an
 * escaped break before a code or an enhanced code is a line break of the
 * reply, one anywhere else (a Windows path) is left as it is. */
static void
test_escaped_line_break (void)
{
  const struct { const char *text; int code; const char *enhanced; const char *normalised; } cases[] = {
    { "{\"error\":\"smtp error: 535 5.7.8 Username and Password not accepted. Learn more at\\n5.7.8  "
      "https://support.google.com/mail/?p=BadCredentials\"}",
      535, "5.7.8", "5.7.8 Username and Password not accepted. Learn more at "
      "https://support.google.com/mail/?p=BadCredentials\"}" },
    { "error=\"550-5.7.1 Relaying denied\\r\\n550 5.7.1 for this address\"",
      550, "5.7.1", "5.7.1 Relaying denied for this address\"" },
    { "550 5.7.1 Cannot read C:\\new\\5.7.1 file", 550, "5.7.1", "5.7.1 Cannot read C:\\new\\5.7.1 file" },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr(HeraldExtractedReply) extracted = _herald_extract_reply (cases[i].text);

      g_test_message ("%s", cases[i].text);
      g_assert_cmpint (extracted->code, ==, cases[i].code);
      g_assert_cmpstr (extracted->enhanced, ==, cases[i].enhanced);
      g_assert_cmpstr (extracted->normalised, ==, cases[i].normalised);
    }
}

/* A refusal after a long run of 2xx lines is still the one found. */
static void
test_refusal_after_long_transcript (void)
{
  g_autofree char *head = repeat ("<~  250-PIPELINING\n", INPUT_SIZE / 2);
  g_autofree char *text = g_strconcat (head, " ~> AUTH LOGIN\n<~* 535 5.7.139 Authentication unsuccessful\n",
                                       NULL);
  g_autoptr(HeraldExtractedReply) extracted = _herald_extract_reply (text);

  g_assert_cmpint (extracted->code, ==, 535);
  g_assert_cmpstr (extracted->enhanced, ==, "5.7.139");
  g_assert_cmpint (extracted->stage, ==, HERALD_STAGE_AUTH);
  g_assert_cmpuint (extracted->searched, <=, 16 * strlen (text));
}

/* Python's bytes repr escapes what it cannot print; unescaping it must not
 * bring back control characters or invalid UTF-8 ("\033" ESC, "\007" BEL,
 * "\377" a lone byte), in the reply, the normalised text or the diagnosis. */
static void
test_python_tuple_filtered_after_unescaping (void)
{
  const char *text = "smtplib.SMTPAuthenticationError: (535, b'5.7.8 Username and Password not "
                     "accepted \\033]0;pwned\\007\\033[2J \\377\\376 \\037 end\\n5.7.8 more')";
  g_autoptr(HeraldExtractedReply) extracted = _herald_extract_reply (text);
  g_autoptr(HeraldDiagnosis) d = herald_diagnose_text (text, HERALD_N_STAGES, NULL);

  g_assert_cmpint (extracted->code, ==, 535);
  g_assert_cmpstr (extracted->enhanced, ==, "5.7.8");
  g_assert_nonnull (strstr (extracted->normalised, "Username and Password not accepted"));
  g_assert_nonnull (strstr (extracted->normalised, "more"));
  assert_printable (extracted->reply);
  assert_printable (extracted->normalised);
  assert_printable (d->explanation);
  assert_printable (d->details);
}

/* The same for a paste that carries the bytes themselves. */
static void
test_raw_controls_filtered (void)
{
  const char *text = "535 5.7.8 bad \033]0;pwned\007 \237 \342\200\256gnp.exe \377 login";
  g_autoptr(HeraldExtractedReply) extracted = _herald_extract_reply (text);

  g_assert_cmpint (extracted->code, ==, 535);
  assert_printable (extracted->reply);
  assert_printable (extracted->normalised);
  g_assert_nonnull (strstr (extracted->normalised, "login"));
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/herald/extract/work-is-linear", test_work_is_linear);
  g_test_add_func ("/herald/extract/named-code", test_named_code);
  g_test_add_func ("/herald/extract/postfix-wrapped", test_postfix_wrapped);
  g_test_add_func ("/herald/extract/non-latin-reply", test_non_latin_reply);
  g_test_add_func ("/herald/extract/cut-word", test_cut_word);
  g_test_add_func ("/herald/extract/success-is-no-refusal", test_success_is_no_refusal);
  g_test_add_func ("/herald/extract/wrapped-code", test_wrapped_code);
  g_test_add_func ("/herald/extract/phpmailer-detail", test_phpmailer_detail);
  g_test_add_func ("/herald/extract/escaped-line-break", test_escaped_line_break);
  g_test_add_func ("/herald/extract/refusal-after-long-transcript", test_refusal_after_long_transcript);
  g_test_add_func ("/herald/extract/python-tuple-filtered-after-unescaping",
                   test_python_tuple_filtered_after_unescaping);
  g_test_add_func ("/herald/extract/raw-controls-filtered", test_raw_controls_filtered);

  return g_test_run ();
}
