/* SPDX-License-Identifier: GPL-3.0-or-later
 * Copyright 2026 The Herald authors
 */
#define G_LOG_DOMAIN "herald-diagnosis"

#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "herald-diagnosis-private.h"

/* Reply text: normalising a reply, Microsoft's server tag, and finding the
 * SMTP reply inside another program's message. Everything here treats the
 * text as hostile: bounded work, control characters filtered. */

/* ---------------------------------------------------------------------------
 * Reply text helpers
 * ------------------------------------------------------------------------- */

GRegex *
_herald_static_regex (GRegex    **slot,
                      const char *pattern)
{
  if (g_once_init_enter (slot))
    {
      GRegex *regex = g_regex_new (pattern, G_REGEX_CASELESS, 0, NULL);

      g_assert (regex != NULL);
      g_once_init_leave (slot, regex);
    }
  return *slot;
}

/* "535-", "535 " or a bare "535" at the start of a line. */
DEFINE_REGEX (code_prefix_regex, "^\\s*([2-5][0-9][0-9])(?:[ -]|$|(?=[\\r\\n]))")
/* An enhanced status code at the start of a line, even glued to the words
 * after it ("5.7.1Unauthorized"). */
DEFINE_REGEX (enhanced_glued_regex, "^\\s*([245]\\.[0-9]{1,3}\\.[0-9]{1,3})(?![0-9.])")
/* An enhanced status code at the start of the text. */
DEFINE_REGEX (enhanced_prefix_regex, "^\\s*([245]\\.[0-9]{1,3}\\.[0-9]{1,3})(?![0-9.])\\s*")
/* Microsoft's server tag, e.g. "[MN2PR05CA0004.namprd05.prod.outlook.com 2026-11-28T08:00:00.000Z 08DE...]". */
DEFINE_REGEX (server_tag_regex,
              "\\s*\\[[A-Z0-9]+(?:\\.[A-Z0-9-]+)*\\.(?:outlook|office365)\\.com\\b[^\\]]*\\]")

char *
_herald_strip_server_tag (const char *text)
{
  g_autofree char *stripped = NULL;

  if (text == NULL)
    return NULL;
  stripped = g_regex_replace_literal (server_tag_regex (), text, -1, 0, "", 0, NULL);
  if (stripped == NULL)
    return g_strdup (text);
  return g_strstrip (g_steal_pointer (&stripped));
}

char *
_herald_normalise_reply (const char *raw)
{
  g_auto(GStrv) lines = NULL;
  g_autofree char *first_enhanced = NULL;
  GString *out;

  if (raw == NULL)
    return NULL;

  out = g_string_new (NULL);
  lines = g_strsplit_set (raw, "\r\n", -1);
  for (guint i = 0; lines[i] != NULL; i++)
    {
      g_autoptr(GMatchInfo) match = NULL;
      const char *line = lines[i];
      g_autofree char *body = NULL;

      if (g_regex_match (code_prefix_regex (), line, 0, &match))
        {
          int end;

          g_match_info_fetch_pos (match, 0, NULL, &end);
          line += end;
        }
      g_clear_pointer (&match, g_match_info_free);

      if (g_regex_match (enhanced_prefix_regex (), line, 0, &match))
        {
          g_autofree char *enhanced = g_match_info_fetch (match, 1);
          int end;

          g_match_info_fetch_pos (match, 0, NULL, &end);
          if (first_enhanced == NULL && out->len == 0)
            first_enhanced = g_steal_pointer (&enhanced);
          else if (first_enhanced != NULL && g_str_equal (enhanced, first_enhanced))
            line += end;   /* a repeated enhanced code on a continuation line */
        }

      body = g_strstrip (g_strdup (line));
      if (*body == '\0')
        continue;
      if (out->len > 0)
        g_string_append_c (out, ' ');
      g_string_append (out, body);
    }

  return g_string_free (out, FALSE);
}

/* ---------------------------------------------------------------------------
 * Extracting a reply from another program's message
 * ------------------------------------------------------------------------- */

void
_herald_extracted_reply_free (HeraldExtractedReply *extracted)
{
  if (extracted == NULL)
    return;
  g_free (extracted->enhanced);
  g_free (extracted->reply);
  g_free (extracted->normalised);
  g_free (extracted);
}

/* Python's smtplib: SMTPAuthenticationError: (535, b'5.7.8 Username ...\n5.7.8 https://...').
 * Only codes SMTP uses (2xx, 3xx, 421, 43x, 45x, 50x-55x): other Python
 * exceptions put HTTP statuses in the same shape ("InvalidToken(400, '...')"). */
DEFINE_REGEX (python_tuple_regex,
              "\\(\\s*([23][0-5][0-9]|4(?:21|[35][0-9])|5[0-5][0-9])\\s*,\\s*b?(['\"])((?:\\\\.|(?!\\2).)*)\\2\\s*\\)")
/* The start of a reply: a code (second digit 0-5, so port numbers like 587 or
 * 465 do not count) followed by a space, a dash or an enhanced code. Not
 * after "code " ("Expected response code 354 but got ...": the code the
 * program wanted, not a reply) nor right after an ISO 8601 time ("...:09.782Z
 * 501 TID-...": a log's process id), nor before a unit ("timed-out (300
 * sec)", "552 bytes": a duration or a size), nor before a structured
 * log's next field ("code=500 rid=... uid=...": a web program's status).
 * A code followed by words in another script ("550 Пользователь не найден",
 * "535 用户名或密码错误") starts a reply only where a reply line starts: at the
 * start of a line or after a colon, a quote or an opening bracket (with or
 * without a space). Languages written without spaces put a count or a year
 * right before their words ("共 250 封", "发送了 550 封邮件"), which must not
 * become a reply. */
#define NON_LATIN_REPLY_START(codes) \
  "|(?:(?<![^\\n])|(?<=[:\"'\\[(\uff1a])|(?<=[:\"'\\[(\uff1a] ))" codes " (?=[^\\x00-\\x7f])(?=\\p{L})"
DEFINE_REGEX (reply_start_regex,
              "(?<![0-9.:])(?<!code )(?<![0-9]Z )([2-5][0-5][0-9])(?! (?:sec(?:onds?)?|s|ms|milliseconds|min(?:utes?)?|bytes?|[kKM]B)\\b)(?:-| (?=[2-5]\\.[0-9])| (?=[A-Za-z<\\[(])(?![A-Za-z_][\\w.-]*=))"
              NON_LATIN_REPLY_START ("([2-5][0-5][0-9])"))
DEFINE_REGEX (enhanced_start_regex,
              "(?<![0-9.])([245]\\.[0-9]{1,3}\\.[0-9]{1,3})(?![0-9.])\\s")
/* The same two for refusals only (4xx/5xx). */
DEFINE_REGEX (refusal_start_regex,
              "(?<![0-9.:])(?<![0-9]Z )([45][0-5][0-9])(?:-| (?=[2-5]\\.[0-9])| (?=[A-Za-z<\\[(])(?![A-Za-z_][\\w.-]*=)"
              "|[ \\t]*\\r?\\n(?=[ \\t]*[45]\\.[0-9]{1,3}\\.[0-9]{1,3}(?![0-9.])))"
              NON_LATIN_REPLY_START ("([45][0-5][0-9])"))
/* A refusal code a program names in its own words, without the reply's text
 * after it: "Expected smtp code 250, got 552", "got code \"530\"",
 * "responseCode: 535", curl's "RCPT failed: 550", PEAR Net_SMTP's "Invalid
 * response code received from server (535)". Only after such a word, so
 * that a port or a count is never taken for a code, and only the codes SMTP
 * uses: "status code 400" is how HTTP libraries (Axios, requests) name an
 * HTTP status. Not a structured log's field followed by the next field
 * ("SendMail code=500 rid=... uid=..."): a web program's own status, which
 * its words then explain. The alternatives share group 1 (a branch reset). */
DEFINE_REGEX (named_code_regex,
              "(?|(?<!status )\\b(?:got|code|responseCode|reply|response|status(?!\\s+code)|failed)\\b(?:\\s+code)?\\s*[:=]?\\s*"
              "[\"']?(4(?:21|[35][0-9])|5[0-5][0-9])[\"']?(?![0-9.])(?![ \\t]+[A-Za-z_][\\w.-]*=)"
              "|\\b(?:from|by)\\s+(?:the\\s+)?(?:SMTP\\s+)?server\\s*\\(\\s*(4(?:21|[35][0-9])|5[0-5][0-9])\\s*\\))")
/* The standard texts of the reply codes (RFC 5321 section 4.2.2), as .NET's
 * SmtpException prints them without the code ("Syntax error, command
 * unrecognized."): they name the code's class for the fallback, never a
 * cause. */
static const struct {
  const char *text;
  int         code;
} status_texts[] = {
  { "Syntax\\s+error,\\s+command\\s+unrecognized", 500 },
  { "Syntax\\s+error\\s+in\\s+parameters\\s+or\\s+arguments", 501 },
  { "Command\\s+not\\s+implemented", 502 },
  { "Bad\\s+sequence\\s+of\\s+commands", 503 },
  { "Command\\s+parameter\\s+not\\s+implemented", 504 },
  { "Mailbox\\s+unavailable", 550 },
  { "User\\s+not\\s+local", 551 },
  { "Exceeded\\s+storage\\s+allocation", 552 },
  { "Mailbox\\s+name\\s+not\\s+allowed", 553 },
  { "Service\\s+not\\s+available,\\s+closing\\s+transmission\\s+channel", 421 },
  { "local\\s+error\\s+in\\s+processing", 451 },
  { "Insufficient\\s+system\\s+storage", 452 },
};

/* The table's texts as one regex, each in its own group (group i + 1 is
 * entry i), built once, so that the table is the only list. */
static GRegex *
status_text_regex (void)
{
  static GRegex *regex;
  static char *pattern;

  if (g_once_init_enter (&pattern))
    {
      GString *texts = g_string_new ("\\b(?:");

      for (guint i = 0; i < G_N_ELEMENTS (status_texts); i++)
        g_string_append_printf (texts, "%s(%s)", i > 0 ? "|" : "", status_texts[i].text);
      g_string_append (texts, ")\\b");
      g_once_init_leave (&pattern, g_string_free (texts, FALSE));
    }
  return _herald_static_regex (&regex, pattern);
}

/* A refusal code a program prints in its own punctuation, with the reply's
 * words after it: lettre's "permanent error (550): Error: content rejected",
 * MailKit's "535: 5.7.8 Username and Password not accepted", "552: Message
 * rejected". Only the codes SMTP uses (421, 43x, 45x, 50x-55x: neither a port
 * such as 465 or 587 nor an HTTP status such as .NET's "(403) Forbidden" or 429),
 * never after a colon or a dot ("12:45:52:", "file.php:452:") nor after
 * "line". In square brackets ("Error SMTP: [550] Incorrect sender header")
 * only after a space or the start, never after a name: "postfix/smtp[552]:"
 * is a process id. */
DEFINE_REGEX (wrapped_code_regex,
              "(?:\\((4(?:21|[35][0-9])|5[0-5][0-9])\\)\\s*:|(?<![^\\s])\\[(4(?:21|[35][0-9])|5[0-5][0-9])\\]\\s*:?|(?<![0-9.:/])(?<!line )(?<=^|[\\s\"'`(\\[])(4(?:21|[35][0-9])|5[0-5][0-9]):"
              "|\\((?:SMTP\\s+)?(?:error\\s+)?code\\s*[:=]?\\s*(4(?:21|[35][0-9])|5[0-5][0-9])\\)\\s*:"
              "|\\bcode\\s*[:=]?\\s*(4(?:21|[35][0-9])|5[0-5][0-9])\\s*,\\s*(?:message|msg|text|reply)\\s*[:=])"
              "\\s+(?=\\S)")
/* The names .NET's System.Net.Mail.SmtpStatusCode and MailKit's
 * SmtpStatusCode give the refusal codes, as they print them
 * ("ServiceNotAvailable: 4.3.2 Service not active", "StatusCode:
 * MailboxUnavailable"). SyntaxError (501) is left out: it is also the name
 * of Python's and JavaScript's exceptions. */
static const struct {
  const char *name;
  int         code;
} status_names[] = {
  { "ServiceNotAvailable", 421 }, { "PasswordTransitionNeeded", 432 }, { "MailboxBusy", 450 },
  { "LocalErrorInProcessing", 451 }, { "ErrorInProcessing", 451 }, { "InsufficientStorage", 452 },
  { "TemporaryAuthenticationFailure", 454 }, { "ClientNotPermitted", 454 }, { "CommandUnrecognized", 500 },
  { "CommandNotImplemented", 502 }, { "BadCommandSequence", 503 }, { "CommandParameterNotImplemented", 504 },
  { "AuthenticationRequired", 530 }, { "MustIssueStartTlsFirst", 530 }, { "AuthenticationMechanismTooWeak", 534 },
  { "AuthenticationInvalidCredentials", 535 }, { "EncryptionRequiredForAuthenticationMechanism", 538 },
  { "MailboxUnavailable", 550 }, { "UserNotLocalTryAlternatePath", 551 }, { "ExceededStorageAllocation", 552 },
  { "MailboxNameNotAllowed", 553 }, { "TransactionFailed", 554 },
  { "MailFromOrRcptToParametersNotRecognizedOrNotImplemented", 555 },
};
/* The table's names as one regex group, "(ServiceNotAvailable|...)", built
 * once, so that the table is the only list. */
static const char *
status_names_group (void)
{
  static char *group;

  if (g_once_init_enter (&group))
    {
      GString *names = g_string_new ("(");

      for (guint i = 0; i < G_N_ELEMENTS (status_names); i++)
        g_string_append_printf (names, "%s%s", i > 0 ? "|" : "", status_names[i].name);
      g_string_append_c (names, ')');
      g_once_init_leave (&group, g_string_free (names, FALSE));
    }
  return group;
}

/* A regex of @before, the names' group and @after, compiled once into @slot. */
static GRegex *
status_regex (GRegex     **slot,
              char       **pattern,
              const char  *before,
              const char  *after)
{
  if (g_once_init_enter (pattern))
    g_once_init_leave (pattern, g_strconcat (before, status_names_group (), after, NULL));
  return _herald_static_regex (slot, *pattern);
}

/* The name, then a colon and the reply's words. */
static GRegex *
status_name_regex (void)
{
  static GRegex *regex;
  static char *pattern;

  return status_regex (&regex, &pattern, "(?<![\\w.])", "\\s*:\\s+(?=\\S)");
}

/* The name as a property's value, without the reply. */
static GRegex *
status_property_regex (void)
{
  static GRegex *regex;
  static char *pattern;

  return status_regex (&regex, &pattern, "\\b(?:StatusCode\\s*[:=]\\s*|SmtpStatusCode\\.)", "\\b");
}

static int
status_name_code (const char *name)
{
  for (guint i = 0; i < G_N_ELEMENTS (status_names); i++)
    if (g_ascii_strcasecmp (name, status_names[i].name) == 0)
      return status_names[i].code;
  return 0;
}

/* PHPMailer's own layout of a refusal, in every language of its
 * language/phpmailer.lang-*.php files: "SMTP server error: MAIL FROM command
 * failed Detail: Sender address rejected: ... SMTP code: 553 Additional SMTP
 * info: 5.7.1". The reply's words come first, its code and enhanced code
 * after them; the detail is bounded, so a text of many "Detail:" labels
 * stays linear. */
DEFINE_REGEX (phpmailer_detail_regex,
              "(?:\\bDetails?|\\bD\u00e9tails|\\bDetalle|\\bDetalhes(?:\\s+do\\s+servidor\\s+SMTP)?|\\bDetaljer|\\bDetalje|"
              "\\bDetalii\\s+SMTP|\\bPodrobnosti|\\bSzczeg\u00f3\u0142y\\s+b\u0142\u0119du|\u0414\u0435\u0442\u0430\u043b\u0438|\u8be6\u60c5|\u8a73\u7d30|"
              "\\bDetay\u0131|\u039b\u03b5\u03c0\u03c4\u03bf\u03bc\u03ad\u03c1\u03b5\u03b9\u03b1|\\bInformoj)\\s*[:\uff1a]\\s*"
              "(\\S.{0,500}?)\\s+"
              "(?:SMTP[\\s-]*(?:code|kode|koda|kodu|kodo|\u4ee3\u7801|\u30b3\u30fc\u30c9)|"
              "(?:Code|C\u00f3digo|Cod|\u041a\u043e\u0434|\u039a\u03ce\u03b4\u03b9\u03ba\u03ac\u03c2)(?:\\s+(?:do|del)\\s+servidor)?\\s+SMTP|"
              "Kod\\s+odpowiedzi\\s+SMTP)\\s*[:\uff1a]\\s*"
              "([2-5][0-5][0-9])(?![0-9])"
              "(?:\\s+[^:\uff1a\\n]{1,60}[:\uff1a]\\s*([245]\\.[0-9]{1,3}\\.[0-9]{1,3})(?![0-9.]))?")
/* Rust's lettre names the code in words in its debug output:
 * "Code { severity: PermanentNegativeCompletion, category: MailSystem,
 * detail: Four }" is 554. */
DEFINE_REGEX (lettre_code_regex,
              "\\bseverity:\\s*(TransientNegativeCompletion|PermanentNegativeCompletion)\\s*,\\s*"
              "category:\\s*(Syntax|Information|Connections|Unspecified3|Unspecified4|MailSystem)\\s*,\\s*"
              "detail:\\s*(Zero|One|Two|Three|Four|Five|Six|Seven|Eight|Nine)\\b")
DEFINE_REGEX (refusal_enhanced_regex,
              "(?<![0-9.])([45]\\.[0-9]{1,3}\\.[0-9]{1,3})(?![0-9.])\\s")

/* The most of a pasted text taken as the reply: what the engine accepts in
 * one reply it reads. */
#define MAX_REPLY_LINES 256
/* How far a Postfix-wrapped reply's "(in reply to ... command)" is looked for. */
#define POSTFIX_WRAPPED_LINES 12
DEFINE_REGEX (in_reply_to_regex, "\\(in\\s+reply\\s+to\\s+(?:end\\s+of\\s+)?[A-Z][A-Z ]{0,20}?\\s+command\\)")
#define MAX_REPLY_BYTES HERALD_DIAGNOSIS_MAX_TEXT

/* The first match of @regex in @text (of @length bytes), or -1. Every search
 * of a pasted text goes through here: one call looks at the text once, and
 * @work counts the bytes handed to the regex engine (which checks the UTF-8
 * of the whole subject on every call), so a test can check that the work
 * stays linear in the size of the text. */
static int
search (GRegex      *regex,
        const char  *text,
        gssize       length,
        gsize       *work,
        GMatchInfo **match_out)
{
  g_autoptr(GMatchInfo) match = NULL;
  int pos = -1;

  if (length < 0)
    length = (gssize) strlen (text);
  *work += (gsize) length;
  if (g_regex_match_full (regex, text, length, 0, 0, &match, NULL))
    g_match_info_fetch_pos (match, 0, &pos, NULL);
  if (match_out != NULL)
    *match_out = g_steal_pointer (&match);
  return pos;
}

/* Log and transcript prefixes before a reply line: swaks ("<-  ", "<~* "),
 * "S: ", "<<< ", "> ". */
DEFINE_REGEX (line_prefix_regex, "^\\s*(?:[<>~*|-]+\\s*|S:\\s*)?")

/* Returns the line without its transcript prefix when it continues the
 * reply (same code, or the same enhanced code for texts without codes),
 * else NULL. */
static const char *
continues_reply (const char *line,
                 int         code,
                 const char *enhanced)
{
  g_autoptr(GMatchInfo) match = NULL;
  const char *p = line;
  int end = 0;

  if (g_regex_match (line_prefix_regex (), line, 0, &match))
    g_match_info_fetch_pos (match, 0, NULL, &end);
  g_clear_pointer (&match, g_match_info_free);
  p = line + end;

  if (code != 0 && g_regex_match (code_prefix_regex (), p, 0, &match))
    {
      g_autofree char *c = g_match_info_fetch (match, 1);
      return atoi (c) == code ? p : NULL;
    }
  if (enhanced != NULL && g_str_has_prefix (p, enhanced))
    return p;
  return NULL;
}

/* The width from which a line cut without a break between words is taken
 * for a fixed-width cut: Java's and Exchange's logs cut a long reply every
 * 100 or so columns, in the middle of a word ("... SmtpClie\nntAuthentication
 * is disabled ..."). Programs that wrap between words (Postfix's bounces,
 * mail clients) drop the blank at the break and keep lines within 80
 * columns, so a shorter line is never taken for a cut word. */
#define MIN_CUT_WIDTH 81
/* A program's own line after the reply ("msmtp: could not send mail"), or a
 * stack frame ("at com.example.Mailer.send(...)"): never the rest of a cut
 * word. */
DEFINE_REGEX (own_line_regex, "^(?:at\\s|[a-z][\\w.-]*:(?:\\s|$))")

/* Whether @line is the rest of a word the line before it (@width columns,
 * ending in @last) was cut in: that line was long and ended in a letter, with
 * no blank before the cut, and @line goes on with a lower-case letter, no
 * code and no blank in front. A reply's line of its own starts with its code
 * and a program's next line with a capital, a blank or a label, so neither is
 * joined. */
static gboolean
continues_cut_word (gsize       width,
                    char        last,
                    const char *line)
{
  return width >= MIN_CUT_WIDTH && g_ascii_isalpha (last) &&
         g_ascii_islower (line[0]) && !g_regex_match (own_line_regex (), line, 0, NULL);
}

static HeraldExtractedReply *
extract_from (const char *text,
              gsize       start,
              gsize      *work)
{
  HeraldExtractedReply *extracted = g_new0 (HeraldExtractedReply, 1);
  g_auto(GStrv) lines = g_strsplit_set (text + start, "\r\n", -1);
  g_autoptr(GMatchInfo) match = NULL;
  GString *reply = g_string_new (NULL);
  guint n_lines = 0;
  guint in_reply_to = 0;
  /* The width of the last line taken, counted from the start of its line in
   * @text, and its last byte, for continues_cut_word(). */
  gsize width = 0;
  char last = '\0';

  extracted->stage = HERALD_N_STAGES;
  /* Postfix wraps the reply it quotes in a bounce or a log at about 70
   * columns and ends it with "(in reply to MAIL FROM command)", itself
   * wrapped anywhere: the lines up to that one are the reply's, with or
   * without the code in front. */
  {
    g_autoptr(GString) head = g_string_new (NULL);

    for (guint i = 0; lines[i] != NULL && i < POSTFIX_WRAPPED_LINES; i++)
      {
        if (i > 0)
          g_string_append_c (head, '\n');
        g_string_append (head, lines[i]);
      }
    if (search (in_reply_to_regex (), head->str, head->len, work, &match) >= 0)
      {
        int end;

        g_match_info_fetch_pos (match, 0, NULL, &end);
        for (int j = 0; j < end; j++)
          in_reply_to += head->str[j] == '\n';
      }
    g_clear_pointer (&match, g_match_info_free);
  }
  if (search (code_prefix_regex (), text + start, -1, work, &match) >= 0)
    {
      g_autofree char *code = g_match_info_fetch (match, 1);
      extracted->code = atoi (code);
    }
  g_clear_pointer (&match, g_match_info_free);

  /* A reply is bounded as the engine bounds one it reads; the rules then
   * search at most that much text, whatever was pasted. */
  for (guint i = 0; lines[i] != NULL && n_lines < MAX_REPLY_LINES && reply->len < MAX_REPLY_BYTES; i++)
    {
      gsize line_length = strlen (lines[i]);

      *work += line_length;
      if (i > 0 && n_lines > 0 && i > in_reply_to && continues_cut_word (width, last, lines[i]) &&
          continues_reply (lines[i], extracted->code, extracted->enhanced) == NULL)
        {
          /* The rest of a cut word: joined back without a break. */
          width = line_length;
          last = line_length > 0 ? lines[i][line_length - 1] : '\0';
          g_string_append (reply, g_strchomp (lines[i]));
          continue;
        }
      width = line_length;
      if (i == 0)
        {
          for (gsize j = start; j > 0 && text[j - 1] != '\n' && text[j - 1] != '\r'; j--)
            width++;
        }
      last = line_length > 0 ? lines[i][line_length - 1] : '\0';
      if (i == 0)
        {
          const char *p = lines[0];

          if (extracted->code != 0 && g_regex_match (code_prefix_regex (), p, 0, &match))
            {
              int end;
              g_match_info_fetch_pos (match, 0, NULL, &end);
              p += end;
            }
          g_clear_pointer (&match, g_match_info_free);
          if (g_regex_match (enhanced_prefix_regex (), p, 0, &match))
            extracted->enhanced = g_match_info_fetch (match, 1);
          g_clear_pointer (&match, g_match_info_free);
        }
      else
        {
          const char *rest = continues_reply (lines[i], extracted->code, extracted->enhanced);

          /* A wrapper that printed the code alone on its line
           * ("SMTPSenderRefused: 550\n5.7.1Unauthorized ..."): the next
           * line is the reply's text. */
          if (rest == NULL && n_lines == 1 && extracted->code != 0 && reply->len == 3 &&
              *g_strstrip (lines[i]) != '\0')
            {
              rest = lines[i];
              if (extracted->enhanced == NULL &&
                  g_regex_match (enhanced_glued_regex (), rest, 0, &match))
                extracted->enhanced = g_match_info_fetch (match, 1);
              g_clear_pointer (&match, g_match_info_free);
            }
          if (rest == NULL && i <= in_reply_to && *g_strstrip (lines[i]) != '\0')
            rest = lines[i];
          if (rest == NULL)
            {
              /* Blank lines inside a pasted reply are skipped; anything else
               * (a stack trace, the program's own words) ends the reply. */
              if (*g_strstrip (lines[i]) == '\0')
                continue;
              break;
            }
          /* Drop the transcript prefix ("<~* ") of continuation lines. */
          memmove (lines[i], rest, strlen (rest) + 1);
        }
      if (reply->len > 0)
        g_string_append_c (reply, '\n');
      g_string_append (reply, g_strstrip (lines[i]));
      n_lines++;
      if (reply->len > MAX_REPLY_BYTES)
        {
          /* One very long line: cut it on a character boundary. */
          gsize cut = MAX_REPLY_BYTES;

          while (cut > 0 && (reply->str[cut] & 0xc0) == 0x80)
            cut--;
          g_string_truncate (reply, cut);
        }
    }

  extracted->reply = g_string_free (reply, FALSE);
  extracted->normalised = _herald_normalise_reply (extracted->reply);
  return extracted;
}

/* The step a pasted text names, from the wrapper's words or, in a
 * transcript, the last command the client sent before the refusal. */
DEFINE_REGEX (phpmailer_command_regex,
              "\\b(Password|Username|AUTH|MAIL FROM|RCPT TO|DATA END|DATA|STARTTLS|EHLO|HELO|QUIT)\\s+command\\s+failed")
DEFINE_REGEX (nodemailer_command_regex, "\\bcommand:\\s*'([A-Z. ]+)")
DEFINE_REGEX (exception_regex,
              "\\b(SMTPAuthenticationError|AuthenticationFailedException|Invalid login|SMTPSenderRefused|"
              "SMTPRecipientsRefused|SMTPDataError|Greeting never received)\\b")
DEFINE_REGEX (client_line_regex,
              "^\\s*(?:->|~>|\\*>|C:|>>>)\\s*(AUTH|MAIL FROM|RCPT TO|DATA|BDAT|STARTTLS|EHLO|HELO|QUIT)\\b")

static HeraldStage
stage_from_command (const char *command)
{
  static const struct {
    const char  *prefix;
    HeraldStage  stage;
  } map[] = {
    { "PASSWORD", HERALD_STAGE_AUTH }, { "USERNAME", HERALD_STAGE_AUTH }, { "AUTH", HERALD_STAGE_AUTH },
    { "MAIL", HERALD_STAGE_MAIL }, { "RCPT", HERALD_STAGE_RCPT }, { "DATA", HERALD_STAGE_DATA },
    { "BDAT", HERALD_STAGE_DATA }, { ".", HERALD_STAGE_DATA }, { "STARTTLS", HERALD_STAGE_STARTTLS },
    { "EHLO", HERALD_STAGE_EHLO }, { "HELO", HERALD_STAGE_EHLO }, { "QUIT", HERALD_STAGE_QUIT },
    { "CONN", HERALD_STAGE_GREETING },
    { "SMTPAUTHENTICATIONERROR", HERALD_STAGE_AUTH }, { "AUTHENTICATIONFAILEDEXCEPTION", HERALD_STAGE_AUTH },
    { "INVALID LOGIN", HERALD_STAGE_AUTH }, { "SMTPSENDERREFUSED", HERALD_STAGE_MAIL },
    { "SMTPRECIPIENTSREFUSED", HERALD_STAGE_RCPT }, { "SMTPDATAERROR", HERALD_STAGE_DATA },
    { "GREETING NEVER RECEIVED", HERALD_STAGE_GREETING },
  };
  g_autofree char *upper = g_ascii_strup (command, -1);

  for (guint i = 0; i < G_N_ELEMENTS (map); i++)
    if (g_str_has_prefix (upper, map[i].prefix))
      return map[i].stage;
  return HERALD_N_STAGES;
}

static HeraldStage
find_stage (const char *text,
            int         reply_start,
            gsize      *work)
{
  GRegex *anywhere[] = { phpmailer_command_regex (), nodemailer_command_regex (), exception_regex () };
  HeraldStage stage = HERALD_N_STAGES;
  g_auto(GStrv) lines = NULL;
  gsize offset = 0;

  for (guint r = 0; r < G_N_ELEMENTS (anywhere); r++)
    {
      g_autoptr(GMatchInfo) match = NULL;

      if (search (anywhere[r], text, -1, work, &match) >= 0)
        {
          g_autofree char *command = g_match_info_fetch (match, 1);

          stage = stage_from_command (command);
          if (stage != HERALD_N_STAGES)
            return stage;
        }
    }

  /* A transcript: the last command sent before the refusal. */
  lines = g_strsplit (text, "\n", -1);
  for (guint i = 0; lines[i] != NULL && (reply_start < 0 || offset < (gsize) reply_start); i++)
    {
      g_autoptr(GMatchInfo) match = NULL;

      if (search (client_line_regex (), lines[i], -1, work, &match) >= 0)
        {
          g_autofree char *command = g_match_info_fetch (match, 1);
          stage = stage_from_command (command);
        }
      offset += strlen (lines[i]) + 1;
    }
  return stage;
}

static int
earliest (int a,
          int b)
{
  if (a < 0)
    return b;
  if (b < 0)
    return a;
  return MIN (a, b);
}

/* The first refusal (4xx/5xx), or else the earliest start of a reply. Each
 * answer is the first match of a regex, so the text is searched four times
 * in all, never once per match (walking every match of a text of "250-"
 * lines made the regex engine check the rest of the text again for each,
 * which was quadratic). */
static int
find_reply_start (const char *text,
                  gsize       length,
                  gsize      *work)
{
  int refusal = earliest (search (refusal_start_regex (), text, length, work, NULL),
                          search (refusal_enhanced_regex (), text, length, work, NULL));

  if (refusal >= 0)
    return refusal;
  return earliest (search (reply_start_regex (), text, length, work, NULL),
                   search (enhanced_start_regex (), text, length, work, NULL));
}

/* HTTP statuses are no SMTP replies. An HTTP API's error ("API response 401
 * (UNAUTHORIZED)", "Request failed with status code 404"), a web server's
 * page ("<title>404 Not Found</title>") or a status line ("HTTP/1.1 500
 * Internal Server Error") puts a number where a reply code would be: it is
 * taken for none when it is an HTTP status and either HTTP's words come right
 * before it or its own reason phrase right after it. Never with an enhanced
 * code after it ("421 4.7.0 Try again later" is SMTP), and only the statuses
 * HTTP defines: "550 Forbidden" (or Postfix's soft_bounce turning it into
 * "450 Forbidden") stays a refusal. A 40x or 41x status, which no SMTP server
 * uses, also counts when the text names an API, HTTP or a token ("401 Invalid
 * API Token"). */
static const struct {
  int         code;
  const char *phrase;
} http_statuses[] = {
  { 400, "Bad\\s+Request" }, { 401, "Unauthori[sz]ed" }, { 402, "Payment\\s+Required" },
  { 403, "Forbidden" }, { 404, "Not\\s+Found" }, { 405, "Method\\s+Not\\s+Allowed" },
  { 406, "Not\\s+Acceptable" }, { 407, "Proxy\\s+Authentication\\s+Required" },
  { 408, "Request\\s+Time-?out" }, { 409, "Conflict" }, { 410, "Gone" },
  { 411, "Length\\s+Required" }, { 412, "Precondition\\s+Failed" },
  { 413, "(?:Payload|Request\\s+Entity|Content)\\s+Too\\s+Large" }, { 414, "(?:URI|Request-URI)\\s+Too\\s+Long" },
  { 415, "Unsupported\\s+Media\\s+Type" }, { 416, "Range\\s+Not\\s+Satisfiable" },
  { 417, "Expectation\\s+Failed" }, { 418, "I.m\\s+a\\s+teapot" }, { 421, "Misdirected\\s+Request" },
  { 422, "Unprocessable\\s+(?:Entity|Content)" }, { 423, "Locked" }, { 424, "Failed\\s+Dependency" },
  { 425, "Too\\s+Early" }, { 426, "Upgrade\\s+Required" }, { 428, "Precondition\\s+Required" },
  { 429, "Too\\s+Many\\s+Requests" }, { 431, "Request\\s+Header\\s+Fields\\s+Too\\s+Large" },
  { 451, "Unavailable\\s+For\\s+Legal\\s+Reasons" }, { 500, "Internal\\s+Server\\s+Error" },
  { 501, "Not\\s+Implemented" }, { 502, "Bad\\s+Gateway" }, { 503, "Service\\s+(?:Unavailable|Temporarily\\s+Unavailable)" },
  { 504, "Gateway\\s+Time-?out" }, { 505, "HTTP\\s+Version\\s+Not\\s+Supported" },
  { 507, "Insufficient\\s+Storage" }, { 508, "Loop\\s+Detected" }, { 511, "Network\\s+Authentication\\s+Required" },
};
/* HTTP's words right before the number, on its line. */
DEFINE_REGEX (http_before_regex,
              "(?:\\bHTTPS?(?:/[0-9.]+)?|\\bAPI\\b[^\\n]{0,24}?|\\bstatus[\\s_-]*code|\\bstatusCode|\\bHTTP\\s*status|<title>|<h[1-3]>)"
              "[\\s:=\"'(\\[]{0,4}$")
/* An enhanced code after the number: SMTP. */
DEFINE_REGEX (http_smtp_after_regex, "^[0-9]{3}[ -]+[245]\\.[0-9]{1,3}\\.[0-9]{1,3}(?![0-9])")
DEFINE_REGEX (http_words_regex, "\\b(?:API|HTTPS?|token|JSON|url)\\b")

static gboolean
is_http_status (const char *text,
                gsize       length,
                int         start,
                gsize      *work)
{
  /* The reason phrase right after the number, one regex per status. */
  static GRegex *phrase_regexes[G_N_ELEMENTS (http_statuses)];
  g_autofree char *phrase = NULL;
  const char *p = text + start;
  gsize line_start = (gsize) start;
  gsize window;
  int code;
  int known = -1;

  if (length - (gsize) start < 3 || !g_ascii_isdigit (p[0]) || !g_ascii_isdigit (p[1]) ||
      !g_ascii_isdigit (p[2]))
    return FALSE;
  code = (p[0] - '0') * 100 + (p[1] - '0') * 10 + (p[2] - '0');
  for (guint i = 0; i < G_N_ELEMENTS (http_statuses); i++)
    {
      if (http_statuses[i].code == code)
        known = (int) i;
    }
  if (known < 0)
    return FALSE;
  if (search (http_smtp_after_regex (), p, MIN (length - (gsize) start, 32), work, NULL) >= 0)
    return FALSE;
  while (line_start > 0 && text[line_start - 1] != '\n' && text[line_start - 1] != '\r' &&
         (gsize) start - line_start < 48)
    line_start--;
  window = (gsize) start - line_start;
  if (window > 0 && search (http_before_regex (), text + line_start, window, work, NULL) >= 0)
    return TRUE;
  phrase = g_strdup_printf ("^[0-9]{3}\\s*[(\\[\"']?\\s*%s\\b", http_statuses[known].phrase);
  if (search (_herald_static_regex (&phrase_regexes[known], phrase), p,
              MIN (length - (gsize) start, 80), work, NULL) >= 0)
    return TRUE;
  return code < 420 && search (http_words_regex (), text, length, work, NULL) >= 0;
}

/* The length of @text (of @length bytes) cut to at most @max bytes, on a
 * character boundary. */
static gsize
cut_length (const char *text,
            gsize       length,
            gsize       max)
{
  if (length <= max)
    return length;
  while (max > 0 && (text[max] & 0xc0) == 0x80)
    max--;
  return max;
}

/* Pasted text and the unescaped body of a Python tuple go into reports, JSON
 * and terminals: through herald_smtp_make_printable() with line breaks kept,
 * so that escapes like \033 or \u202e in a paste cannot reach a terminal or
 * make a reply read differently from what it is. */
char *
_herald_printable_text (const char *text,
                        gsize       max_bytes)
{
  g_autofree char *printable = NULL;

  g_return_val_if_fail (text != NULL, NULL);

  printable = herald_smtp_make_printable (text, -1, TRUE);
  return g_strndup (printable, cut_length (printable, strlen (printable), max_bytes));
}

/* Whether @p starts what a reply line starts with, after blanks: a code
 * ("535 ", "535-") or an enhanced code ("5.7.8 ", "5.7.1Unauthorized"). */
static gboolean
starts_reply_line (const char *p)
{
  int digits = 0;

  while (*p == ' ' || *p == '\t')
    p++;
  if (p[0] >= '2' && p[0] <= '5' && g_ascii_isdigit (p[1]) && g_ascii_isdigit (p[2]) &&
      (p[3] == ' ' || p[3] == '-'))
    return TRUE;
  if ((p[0] != '2' && p[0] != '4' && p[0] != '5') || p[1] != '.')
    return FALSE;
  p += 2;
  for (int part = 0; part < 2; part++)
    {
      for (digits = 0; g_ascii_isdigit (*p) && digits < 4; p++)
        digits++;
      if (digits == 0 || digits > 3)
        return FALSE;
      if (part == 0 && *p++ != '.')
        return FALSE;
    }
  /* "5.7.1 ..." or glued to its words, "5.7.1Unauthorized ..." */
  return *p != '\0' && *p != '.' && !g_ascii_isdigit (*p);
}

/* A line break a wrapper escaped when it quoted a multi-line reply in JSON or
 * a log field ("... Learn more at\\n5.7.8 https://..."), made a line break
 * again, in place; only before what starts a reply line, so that a path such
 * as "C:\\new" is left alone. One pass over the text (replacing each match
 * with GRegex would check the whole text's UTF-8 again per match). Returns the
 * new length. */
static gsize
unescape_line_breaks (char *text)
{
  char *in = text, *out = text;

  while (*in != '\0')
    {
      gsize escape = 0;

      if (in[0] == '\\' && in[1] == 'n')
        escape = 2;
      else if (in[0] == '\\' && in[1] == 'r' && in[2] == '\\' && in[3] == 'n')
        escape = 4;
      if (escape != 0 && starts_reply_line (in + escape))
        {
          *out++ = '\n';
          in += escape;
          continue;
        }
      *out++ = *in++;
    }
  *out = '\0';
  return (gsize) (out - text);
}

HeraldExtractedReply *
_herald_extract_reply (const char *text)
{
  return _herald_extract_reply_for (text, FALSE);
}

/* As _herald_extract_reply(); @http_replies: the text comes from an HTTP
 * sender (Microsoft Graph), whose statuses are its replies' codes. */
HeraldExtractedReply *
_herald_extract_reply_for (const char *text,
                           gboolean    http_replies)
{
  g_autoptr(GMatchInfo) match = NULL;
  g_autofree char *clean = NULL;
  HeraldExtractedReply *extracted;
  gsize work = 0;
  gsize length;
  gsize reply_length;
  int start;
  int http_status = 0;

  g_return_val_if_fail (text != NULL, NULL);

  clean = herald_smtp_make_printable (text, -1, TRUE);
  length = strlen (clean);

  /* Python's smtplib wraps the code and the text in a tuple, with the lines'
   * codes removed and the line breaks escaped. */
  if (search (python_tuple_regex (), clean, length, &work, &match) >= 0)
    {
      g_autofree char *code = g_match_info_fetch (match, 1);
      g_autofree char *body = g_match_info_fetch (match, 3);
      g_autofree char *unescaped = g_strcompress (body);
      /* Unescaping can bring back what the first pass removed ("\377",
       * "\033"): validate and filter the result, not only the input. */
      g_autofree char *printable = herald_smtp_make_printable (unescaped, -1, TRUE);
      g_auto(GStrv) lines = g_strsplit (printable, "\n", -1);
      g_autoptr(GString) rebuilt = g_string_new (NULL);

      for (guint i = 0; lines[i] != NULL; i++)
        {
          if (*g_strstrip (lines[i]) == '\0')
            continue;
          if (rebuilt->len > 0)
            g_string_append_c (rebuilt, '\n');
          g_string_append_printf (rebuilt, "%s%c%s", code,
                                  lines[i + 1] != NULL ? '-' : ' ', lines[i]);
        }
      extracted = extract_from (rebuilt->str, 0, &work);
      extracted->stage = find_stage (clean, -1, &work);
      extracted->searched = work;
      return extracted;
    }
  g_clear_pointer (&match, g_match_info_free);

  work += length;
  length = unescape_line_breaks (clean);

  /* PHPMailer puts the reply's words before its code ("Detail: ... SMTP
   * code: 553 Additional SMTP info: 5.7.1"): the reply is rebuilt in the
   * order a server sends it. */
  if (search (phpmailer_detail_regex (), clean, length, &work, &match) >= 0)
    {
      g_autofree char *detail = g_match_info_fetch (match, 1);
      g_autofree char *code = g_match_info_fetch (match, 2);
      g_autofree char *enhanced = g_match_info_fetch (match, 3);
      g_autofree char *rebuilt = NULL;

      if (g_regex_match (code_prefix_regex (), detail, 0, NULL))
        rebuilt = g_strdup (detail);
      else
        rebuilt = g_strdup_printf ("%s %s%s%s", code, enhanced != NULL ? enhanced : "",
                                   enhanced != NULL && *enhanced != '\0' ? " " : "", detail);
      extracted = extract_from (rebuilt, 0, &work);
      extracted->stage = find_stage (clean, -1, &work);
      extracted->searched = work;
      return extracted;
    }
  g_clear_pointer (&match, g_match_info_free);

  /* The first refusal (4xx/5xx), or else the earliest thing that looks like
   * the start of a reply. Wrappers put their own words first (.NET's "The
   * server response was:", PHPMailer's "Password command failed:",
   * nodemailer's "Invalid login:") and those contain no reply code; a pasted
   * transcript (swaks, a log) starts with "220" and "250" lines before the
   * refusal. Text after the reply (a stack trace) is cut off by
   * extract_from(). A later "Error: 535 ..." inside the reply is Exchange's
   * embedded earlier failure, handled when matching. */
  start = find_reply_start (clean, length, &work);
  /* An HTTP status is skipped: the reply, if any, starts after it (a few
   * times at most, so that the work stays linear; past that, no reply). */
  for (int skipped = 0; !http_replies && start >= 0 && is_http_status (clean, length, start, &work); skipped++)
    {
      int next;

      if (http_status == 0)
        http_status = atoi (clean + start);
      if (skipped == 4)
        {
          start = -1;
          break;
        }
      next = find_reply_start (clean + start + 3, length - (gsize) start - 3, &work);
      start = next >= 0 ? start + 3 + next : -1;
    }
  /* A success (2xx) is no refusal: a transcript that shows only the
   * server's "220 2.0.0 SMTP server ready" before the program's own error
   * ("unable to get local issuer certificate") is read as the program's
   * words, as the engine never matches a stale 2xx reply. */
  if (start >= 0 && clean[start] == '2')
    start = -1;

  /* A code in the wrapper's own punctuation ("(550):", "552:") or words
   * (lettre's severity, category and detail) before the reply's text: the
   * reply is that code with the words after it, unless a reply (a
   * refusal) starts earlier. */
  {
    int wrapped_code = 0;
    int wrapped = search (wrapped_code_regex (), clean, length, &work, &match);
    int rest = 0;

    if (wrapped >= 0 && (start < 0 || wrapped < start || clean[start] < '4'))
      {
        /* One of the alternatives' groups holds the code. */
        for (int g = 1; g <= 5 && wrapped_code == 0; g++)
          {
            g_autofree char *c = g_match_info_fetch (match, g);

            if (c != NULL && *c != '\0')
              wrapped_code = atoi (c);
          }
        g_match_info_fetch_pos (match, 0, NULL, &rest);
      }
    g_clear_pointer (&match, g_match_info_free);

    /* A status code's name before the reply's words, unless a reply (a
     * refusal) starts earlier. */
    if (wrapped_code == 0 && search (status_name_regex (), clean, length, &work, &match) >= 0)
      {
        int name_start, name_end;

        g_match_info_fetch_pos (match, 0, &name_start, &name_end);
        if (start < 0 || name_start < start || clean[start] < '4')
          {
            g_autofree char *name = g_match_info_fetch (match, 1);

            wrapped_code = status_name_code (name);
            rest = name_end;
          }
      }
    g_clear_pointer (&match, g_match_info_free);

    if (wrapped_code == 0 && start < 0 &&
        search (lettre_code_regex (), clean, length, &work, &match) >= 0)
      {
        static const char *categories[] = { "Syntax", "Information", "Connections",
                                            "Unspecified3", "Unspecified4", "MailSystem" };
        static const char *details[] = { "Zero", "One", "Two", "Three", "Four",
                                         "Five", "Six", "Seven", "Eight", "Nine" };
        g_autofree char *severity = g_match_info_fetch (match, 1);
        g_autofree char *category = g_match_info_fetch (match, 2);
        g_autofree char *detail = g_match_info_fetch (match, 3);
        int c = 0, d = 0;

        for (guint i = 0; i < G_N_ELEMENTS (categories); i++)
          if (g_str_equal (category, categories[i]))
            c = (int) i;
        for (guint i = 0; i < G_N_ELEMENTS (details); i++)
          if (g_str_equal (detail, details[i]))
            d = (int) i;
        wrapped_code = (g_str_has_prefix (severity, "Permanent") ? 500 : 400) + c * 10 + d;
        /* No reply text follows: the program's own words are all there is. */
        rest = 0;
      }
    g_clear_pointer (&match, g_match_info_free);

    if (wrapped_code != 0)
      {
        g_autofree char *words = g_strndup (clean + rest, cut_length (clean + rest, length - rest,
                                                                      MAX_REPLY_BYTES - 8));
        g_autofree char *rebuilt = NULL;

        /* lettre's debug output spreads over lines: one line, one reply. */
        if (rest == 0)
          g_strdelimit (words, "\r\n", ' ');
        rebuilt = g_strdup_printf ("%d %s", wrapped_code, words);
        extracted = extract_from (rebuilt, 0, &work);
        extracted->http_status = http_status;
        extracted->stage = find_stage (clean, -1, &work);
        extracted->searched = work;
        return extracted;
      }
  }

  if (start >= 0)
    {
      extracted = extract_from (clean, start, &work);
      extracted->stage = find_stage (clean, start, &work);
      extracted->http_status = http_status;
      extracted->searched = work;
      return extracted;
    }

  /* No code at all: match the words alone, as much of them as a reply
   * could hold. A refusal code the program named is kept aside: it tells the
   * fallback whether the refusal was temporary, but is no reply the rules
   * could match on. A code's name or standard text is looked for in the part
   * of the text taken as the reply only. */
  extracted = g_new0 (HeraldExtractedReply, 1);
  extracted->http_status = http_status;
  if (search (named_code_regex (), clean, length, &work, &match) >= 0)
    {
      g_autofree char *code = g_match_info_fetch (match, 1);
      extracted->named_code = atoi (code);
    }
  g_clear_pointer (&match, g_match_info_free);
  reply_length = cut_length (clean, length, MAX_REPLY_BYTES);
  if (extracted->named_code == 0 &&
      search (status_property_regex (), clean, reply_length, &work, &match) >= 0)
    {
      g_autofree char *name = g_match_info_fetch (match, 1);
      extracted->named_code = status_name_code (name);
    }
  g_clear_pointer (&match, g_match_info_free);
  if (extracted->named_code == 0 &&
      search (status_text_regex (), clean, reply_length, &work, &match) >= 0)
    {
      for (guint i = 0; i < G_N_ELEMENTS (status_texts) && extracted->named_code == 0; i++)
        {
          int group_start = -1;

          if (g_match_info_fetch_pos (match, (int) i + 1, &group_start, NULL) && group_start >= 0)
            extracted->named_code = status_texts[i].code;
        }
    }
  g_clear_pointer (&match, g_match_info_free);
  extracted->reply = g_strstrip (g_strndup (clean, reply_length));
  extracted->normalised = _herald_normalise_reply (extracted->reply);
  extracted->stage = find_stage (clean, -1, &work);
  extracted->searched = work;
  return extracted;
}
