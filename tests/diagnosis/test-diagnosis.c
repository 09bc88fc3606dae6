/* SPDX-License-Identifier: GPL-3.0-or-later
 * Copyright 2026 The Herald authors
 */
#define G_LOG_DOMAIN "herald-test"

#include <json-glib/json-glib.h>
#include <string.h>

#include "herald-diagnosis.h"
#include "herald-diagnosis-private.h"
#include "herald-report.h"

/* Never appears in any diagnosis: asserted for every case. */
#define TEST_PASSWORD "S3cret-Test-Passw0rd"
#define TEST_TOKEN    "ya29.TestAccessToken-DoNotLeak"

static JsonParser *cases_parser;
static GHashTable *expected_ids;   /* every "expect" of the table */

/* ---------------------------------------------------------------------------
 * Building a failed result from a table case
 * ------------------------------------------------------------------------- */

static const char *
member (JsonObject *object,
        const char *name)
{
  JsonNode *node = json_object_get_member (object, name);

  if (node == NULL || JSON_NODE_HOLDS_NULL (node))
    return NULL;
  return json_node_get_string (node);
}

static HeraldSmtpReply *
parse_reply (const char *raw)
{
  HeraldSmtpReply *reply = g_new0 (HeraldSmtpReply, 1);
  g_auto(GStrv) lines = g_strsplit (raw, "\n", -1);
  GString *text = g_string_new (NULL);

  reply->raw = g_strdup (raw);
  if (g_ascii_isdigit (raw[0]) && g_ascii_isdigit (raw[1]) && g_ascii_isdigit (raw[2]))
    reply->code = (raw[0] - '0') * 100 + (raw[1] - '0') * 10 + (raw[2] - '0');
  for (guint i = 0; lines[i] != NULL; i++)
    {
      const char *line = strlen (lines[i]) >= 4 ? lines[i] + 4 : "";

      if (i > 0)
        g_string_append_c (text, '\n');
      g_string_append (text, line);
    }
  reply->text = g_string_free (text, FALSE);
  {
    g_autoptr(GRegex) regex = g_regex_new ("^([245]\\.[0-9]{1,3}\\.[0-9]{1,3})\\b", 0, 0, NULL);
    g_autoptr(GMatchInfo) match = NULL;

    if (g_regex_match (regex, reply->text, 0, &match))
      reply->enhanced = g_match_info_fetch (match, 1);
  }
  return reply;
}

static void
transcript_entry_free (gpointer data)
{
  HeraldTranscriptEntry *entry = data;

  g_free (entry->text);
  g_free (entry);
}

static HeraldSmtpResult *
result_new (void)
{
  HeraldSmtpResult *result = g_new0 (HeraldSmtpResult, 1);

  result->transcript = g_ptr_array_new_with_free_func (transcript_entry_free);
  for (guint i = 0; i < HERALD_N_STAGES; i++)
    result->stage_ms[i] = -1;
  return result;
}

static void
build_case (JsonObject         *c,
            HeraldSmtpResult  **result_out,
            HeraldSmtpConfig  **config_out)
{
  HeraldSmtpResult *result = result_new ();
  HeraldSmtpConfig *config = herald_smtp_config_new ();
  const char *stage = member (c, "stage");
  const char *reply = member (c, "reply");
  const char *error = member (c, "error");
  const char *auth = member (c, "auth");
  const char *security = member (c, "security");

  g_assert_true (herald_stage_from_string (stage, &result->stage));
  result->ok = FALSE;
  result->greeting = g_strdup (member (c, "greeting"));

  config->host = g_strdup (member (c, "host"));
  if (json_object_has_member (c, "port"))
    config->port = (guint16) json_object_get_int_member (c, "port");
  if (security != NULL)
    g_assert_true (herald_security_from_string (security, &config->security));
  config->from = g_strdup ("alerts@example.com");
  config->to = g_strsplit ("admin@example.com", ",", -1);
  if (g_strcmp0 (auth, "oauth") == 0)
    {
      config->auth = HERALD_AUTH_XOAUTH2;
      config->username = g_strdup ("alerts@example.com");
      config->oauth_token = g_strdup (TEST_TOKEN);
    }
  else if (g_strcmp0 (auth, "none") == 0)
    config->auth = HERALD_AUTH_NONE;
  else
    {
      config->auth = HERALD_AUTH_AUTO;
      config->username = g_strdup ("alerts@example.com");
      config->password = g_strdup (TEST_PASSWORD);
    }

  if (reply != NULL)
    {
      result->reply = parse_reply (reply);
      result->error = g_error_new_literal (HERALD_SMTP_ERROR, HERALD_SMTP_ERROR_REJECTED,
                                           "The server rejected the command");
    }
  if (error != NULL)
    {
      GQuark domain;
      int code;

      g_assert_true (_herald_error_from_name (error, &domain, &code));
      g_clear_error (&result->error);
      result->error = g_error_new_literal (domain, code, member (c, "error_message"));
    }
  if (json_object_has_member (c, "tls_flags"))
    {
      JsonArray *flags = json_object_get_array_member (c, "tls_flags");
      GStrvBuilder *builder = g_strv_builder_new ();
      static const struct { const char *name; guint flag; } names[] = {
        { "unknown-ca", G_TLS_CERTIFICATE_UNKNOWN_CA },
        { "bad-identity", G_TLS_CERTIFICATE_BAD_IDENTITY },
        { "not-activated", G_TLS_CERTIFICATE_NOT_ACTIVATED },
        { "expired", G_TLS_CERTIFICATE_EXPIRED },
        { "revoked", G_TLS_CERTIFICATE_REVOKED },
        { "insecure", G_TLS_CERTIFICATE_INSECURE },
        { "generic-error", G_TLS_CERTIFICATE_GENERIC_ERROR },
      };

      result->tls = g_new0 (HeraldTlsInfo, 1);
      result->tls->version = g_strdup ("TLS 1.3");
      result->tls->subject = g_strdup (member (c, "tls_subject"));
      result->tls->issuer = g_strdup (member (c, "tls_issuer"));
      result->tls->not_before = g_strdup (member (c, "tls_not_before"));
      result->tls->not_after = g_strdup (member (c, "tls_not_after"));
      result->tls->sha256 = g_strdup (member (c, "tls_sha256"));
      for (guint i = 0; i < json_array_get_length (flags); i++)
        {
          const char *name = json_array_get_string_element (flags, i);

          for (guint j = 0; j < G_N_ELEMENTS (names); j++)
            if (g_str_equal (name, names[j].name))
              result->tls->flags |= names[j].flag;
          g_strv_builder_add (builder, name);
        }
      result->tls->errors = g_strv_builder_end (builder);
      g_strv_builder_unref (builder);
    }

  *result_out = result;
  *config_out = config;
}

/* Only stage, host and reply: the same case works for a pasted text. */
static gboolean
case_is_text_only (JsonObject *c)
{
  static const char *allowed[] = { "expect", "expect_not", "stage", "host", "reply", "note", "via", NULL };
  g_autoptr(GList) names = json_object_get_members (c);

  if (member (c, "reply") == NULL)
    return FALSE;
  for (GList *l = names; l != NULL; l = l->next)
    if (!g_strv_contains (allowed, l->data))
      return FALSE;
  return TRUE;
}

static void
assert_clean_diagnosis (const HeraldDiagnosis *d)
{
  g_autoptr(GRegex) placeholder = g_regex_new ("\\{[a-z_]+\\}", 0, 0, NULL);
  g_autoptr(JsonNode) node = herald_diagnosis_to_json (d);
  g_autofree char *json = herald_json_to_string (node, FALSE);

  g_assert_nonnull (d->title);
  g_assert_cmpstr (d->title, !=, "");
  g_assert_nonnull (d->explanation);
  g_assert_cmpstr (d->explanation, !=, "");
  g_assert_false (g_regex_match (placeholder, d->title, 0, NULL));
  g_assert_false (g_regex_match (placeholder, d->explanation, 0, NULL));
  for (guint i = 0; i < d->steps->len; i++)
    {
      const HeraldDiagnosisStep *step = g_ptr_array_index (d->steps, i);

      g_assert_false (g_regex_match (placeholder, step->text, 0, NULL));
      if (step->command != NULL)
        g_assert_false (g_regex_match (placeholder, step->command, 0, NULL));
    }
  for (guint i = 0; i < d->links->len; i++)
    {
      const HeraldLink *link = g_ptr_array_index (d->links, i);
      g_assert_true (g_str_has_prefix (link->url, "https://"));
    }
  /* Microsoft's server tag never reaches what the user reads. */
  g_assert_null (strstr (d->explanation, ".outlook.com"));
  g_assert_null (strstr (d->explanation, ".OUTLOOK.COM"));
  /* No secret anywhere. */
  g_assert_null (strstr (json, TEST_PASSWORD));
  g_assert_null (strstr (json, TEST_TOKEN));
}

static void
check_expectations (JsonObject            *c,
                    const HeraldDiagnosis *d)
{
  const char *expect = member (c, "expect");
  const char *expect_not = member (c, "expect_not");

  if (g_strcmp0 (d->id, expect) != 0)
    g_test_message ("reply: %s; got %s, expected %s", member (c, "reply"), d->id, expect);
  g_assert_cmpstr (d->id, ==, expect);
  if (expect_not != NULL)
    g_assert_cmpstr (d->id, !=, expect_not);
  g_assert_true (herald_diagnosis_is_fallback (d) == g_str_has_prefix (expect, "fallback"));
  g_assert_nonnull (d->details);
  g_assert_nonnull (strstr (d->details, expect));
  assert_clean_diagnosis (d);
}

static void
test_table_case (gconstpointer data)
{
  JsonObject *c = (JsonObject *) data;
  gboolean ran = FALSE;

  /* via "text": an OAuth sign-in error, which heraldctl login and the window
   * diagnose by its message only (it carries no SMTP reply). */
  if (member (c, "stage") != NULL && g_strcmp0 (member (c, "via"), "text") != 0)
    {
      g_autoptr(HeraldSmtpResult) result = NULL;
      g_autoptr(HeraldSmtpConfig) config = NULL;
      g_autoptr(HeraldDiagnosis) d = NULL;

      build_case (c, &result, &config);
      /* "transport": "graph" reads the result as Microsoft Graph's. */
      d = herald_diagnose_transport (result, config, member (c, "transport"));
      g_assert_nonnull (d);
      check_expectations (c, d);
      ran = TRUE;
    }

  if (case_is_text_only (c))
    {
      g_autoptr(HeraldDiagnosis) d = NULL;
      HeraldStage stage = HERALD_N_STAGES;

      if (member (c, "stage") != NULL)
        g_assert_true (herald_stage_from_string (member (c, "stage"), &stage));
      d = herald_diagnose_text (member (c, "reply"), stage, member (c, "host"));
      check_expectations (c, d);
      ran = TRUE;
    }

  g_assert_true (ran);
}

static void
test_every_rule_tested (void)
{
  const char * const *ids = _herald_diagnosis_rule_ids ();
  GHashTableIter iter;
  gpointer key;
  guint n = 0;

  for (guint i = 0; ids[i] != NULL; i++, n++)
    {
      if (!g_hash_table_contains (expected_ids, ids[i]))
        g_test_message ("rule “%s” has no line in tests/diagnosis/replies.json", ids[i]);
      g_assert_true (g_hash_table_contains (expected_ids, ids[i]));
    }
  g_assert_cmpuint (n, >=, 90);

  /* And every expectation names a real rule (catches typos in the table). */
  g_hash_table_iter_init (&iter, expected_ids);
  while (g_hash_table_iter_next (&iter, &key, NULL))
    {
      gboolean found = FALSE;

      for (guint i = 0; ids[i] != NULL && !found; i++)
        found = g_str_equal (ids[i], key);
      if (!found)
        g_test_message ("replies.json expects unknown rule “%s”", (const char *) key);
      g_assert_true (found);
    }
}

/* ---------------------------------------------------------------------------
 * Individual behaviours
 * ------------------------------------------------------------------------- */

typedef struct {
  const char *text;
  char       *id;
} ThreadData;

static gpointer
diagnose_thread (gpointer data)
{
  ThreadData *td = data;
  g_autoptr(HeraldDiagnosis) d = herald_diagnose_text (td->text, HERALD_STAGE_AUTH, NULL);

  td->id = g_strdup (d->id);
  return NULL;
}

/* Runs first, so the rules are loaded by racing threads (g_once). */
static void
test_load_from_threads (void)
{
  ThreadData data[8];
  GThread *threads[8];

  /* The preload thread races the diagnosing threads too. */
  herald_diagnosis_preload ();
  herald_diagnosis_preload ();
  for (guint i = 0; i < G_N_ELEMENTS (threads); i++)
    {
      data[i].text = "535 5.7.139 Authentication unsuccessful, account locked. Contact your administrator.";
      data[i].id = NULL;
      threads[i] = g_thread_new ("diagnose", diagnose_thread, &data[i]);
    }
  for (guint i = 0; i < G_N_ELEMENTS (threads); i++)
    {
      g_thread_join (threads[i]);
      g_assert_cmpstr (data[i].id, ==, "exo-account-locked");
      g_free (data[i].id);
    }
}

static void
test_rules_ids_unique (void)
{
  const char * const *ids = _herald_diagnosis_rule_ids ();
  g_autoptr(GHashTable) seen = g_hash_table_new (g_str_hash, g_str_equal);

  for (guint i = 0; ids[i] != NULL; i++)
    {
      g_assert_false (g_hash_table_contains (seen, ids[i]));
      g_hash_table_add (seen, (gpointer) ids[i]);
    }
  g_assert_true (g_hash_table_contains (seen, "fallback-temporary"));
  g_assert_true (g_hash_table_contains (seen, "fallback-permanent"));
  g_assert_true (g_hash_table_contains (seen, "fallback-other"));
}

static void
test_normalise (void)
{
  g_autofree char *gmail = _herald_normalise_reply (
    "535-5.7.8 Username and Password not accepted. Learn more at\n"
    "535 5.7.8  https://support.google.com/mail/?p=BadCredentials x12 - gsmtp");
  g_autofree char *single = _herald_normalise_reply ("550 5.7.60 SMTP; Client does not have permissions");
  g_autofree char *bare = _herald_normalise_reply ("535 Incorrect authentication data");
  g_autofree char *crlf = _herald_normalise_reply ("250-first\r\n250 second\r\n");

  g_assert_cmpstr (gmail, ==, "5.7.8 Username and Password not accepted. Learn more at "
                              "https://support.google.com/mail/?p=BadCredentials x12 - gsmtp");
  g_assert_cmpstr (single, ==, "5.7.60 SMTP; Client does not have permissions");
  g_assert_cmpstr (bare, ==, "Incorrect authentication data");
  g_assert_cmpstr (crlf, ==, "first second");
}

static void
test_strip_server_tag (void)
{
  struct { const char *in; const char *out; } cases[] = {
    { "5.7.139 Authentication unsuccessful, account locked. [MN2PR05CA0004.namprd05.prod.outlook.com 2026-11-28T08:12:44.123Z 08DE2F1A9B3C4D5E]",
      "5.7.139 Authentication unsuccessful, account locked." },
    { "5.7.139 Authentication unsuccessful, basic authentication is disabled. [PN0PR01CA0024.INDPRD01.PROD.OUTLOOK.COM 2026-11-28T08:14:10.000Z 08DE]",
      "5.7.139 Authentication unsuccessful, basic authentication is disabled." },
    { "5.7.64 TenantAttribution; Relay Access Denied [DM6NAM11FT012.eop-nam11.prod.protection.outlook.com]",
      "5.7.64 TenantAttribution; Relay Access Denied" },
    /* Not Microsoft's tag: kept. */
    { "4.3.2 sender thread limit exceeded [Hostname=BY5PR01MB1234.prod.exchangelabs.com]",
      "4.3.2 sender thread limit exceeded [Hostname=BY5PR01MB1234.prod.exchangelabs.com]" },
    { "4.7.500 Server busy. Please try again later from [203.0.113.7]. (S77719)",
      "4.7.500 Server busy. Please try again later from [203.0.113.7]. (S77719)" },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree char *out = _herald_strip_server_tag (cases[i].in);
      g_assert_cmpstr (out, ==, cases[i].out);
    }
}

/* The fallback's explanation quotes the reply: without the tag; the
 * technical details keep it for Microsoft support. */
static void
test_tag_in_details_only (void)
{
  const char *reply = "535 5.7.139 Authentication unsuccessful, a reason Herald has never seen. "
                      "[MN2PR05CA0004.namprd05.prod.outlook.com 2026-11-28T08:12:44.123Z 08DE2F1A9B3C4D5E]";
  g_autoptr(HeraldDiagnosis) d = herald_diagnose_text (reply, HERALD_STAGE_AUTH, "smtp.office365.com");

  g_assert_cmpstr (d->id, ==, "exo-auth-unsuccessful-139");
  g_assert_nonnull (strstr (d->explanation, "a reason Herald has never seen."));
  g_assert_null (strstr (d->explanation, "MN2PR05CA0004"));
  g_assert_nonnull (strstr (d->details, "[MN2PR05CA0004.namprd05.prod.outlook.com 2026-11-28T08:12:44.123Z 08DE2F1A9B3C4D5E]"));
}

static void
test_embedded_reply (void)
{
  const char *reply = "530 5.7.57 Client not authenticated to send mail. Error: 535 5.7.139 "
                      "Authentication unsuccessful, SmtpClientAuthentication is disabled for the Tenant. "
                      "Visit https://aka.ms/smtp_auth_disabled for more information. "
                      "[BN9PR03CA0716.namprd03.prod.outlook.com 2026-11-28T08:13:02.456Z 08DE2F1A9B3C4D60]";
  g_autoptr(HeraldSmtpResult) result = result_new ();
  g_autoptr(HeraldDiagnosis) d = NULL;
  g_autoptr(HeraldDiagnosis) t = NULL;

  result->stage = HERALD_STAGE_MAIL;
  result->reply = parse_reply (reply);
  g_assert_cmpstr (result->reply->enhanced, ==, "5.7.57");
  result->error = g_error_new_literal (HERALD_SMTP_ERROR, HERALD_SMTP_ERROR_REJECTED, "rejected");

  d = herald_diagnose (result, NULL);
  g_assert_cmpstr (d->id, ==, "exo-smtp-auth-disabled-tenant");
  g_assert_nonnull (strstr (d->details, "535 5.7.139 Authentication unsuccessful, SmtpClientAuthentication is disabled for the Tenant."));
  /* The full reply, tag included, is in the details. */
  g_assert_nonnull (strstr (d->details, "BN9PR03CA0716.namprd03.prod.outlook.com"));

  t = herald_diagnose_text (reply, HERALD_N_STAGES, NULL);
  g_assert_cmpstr (t->id, ==, "exo-smtp-auth-disabled-tenant");
}

static void
test_extract (void)
{
  struct {
    const char *text;
    int         code;
    const char *enhanced;
    const char *normalised;
    const char *rule;
    HeraldStage stage;   /* the step the text names */
  } cases[] = {
    /* .NET SmtpClient: only the enhanced code, then a stack trace. */
    { "System.Net.Mail.SmtpException: The SMTP server requires a secure connection or the client was not "
      "authenticated. The server response was: 5.7.57 Client not authenticated to send mail. Error: 535 5.7.139 "
      "Authentication unsuccessful, the request did not meet the criteria to be authenticated successfully. "
      "Contact your administrator. [BN9PR03CA0716.namprd03.prod.outlook.com 2026-11-28T08:13:02.456Z 08DE2F1A9B3C4D60]\n"
      "   at System.Net.Mail.MailCommand.CheckResponse(SmtpStatusCode statusCode, String response)\n"
      "   at System.Net.Mail.MailCommand.Send(SmtpConnection conn, Byte[] command, MailAddress from, Boolean allowUnicode)",
      0, "5.7.57", NULL, "exo-conditional-access", HERALD_N_STAGES },
    /* PHPMailer's debug output. */
    { "2026-11-28 08:20:01 SERVER -> CLIENT: 535 5.7.8 Error: authentication failed: authentication failure\n"
      "2026-11-28 08:20:01 SMTP ERROR: Password command failed: 535 5.7.8 Error: authentication failed: authentication failure\n"
      "SMTP Error: Could not authenticate.",
      535, "5.7.8", "5.7.8 Error: authentication failed: authentication failure", "gen-auth-failed", HERALD_STAGE_AUTH },
    /* nodemailer: multi-line Gmail reply after "Invalid login:". */
    { "Error: Invalid login: 535-5.7.8 Username and Password not accepted. Learn more at\n"
      "535 5.7.8  https://support.google.com/mail/?p=BadCredentials d9443c01a7336-2a1b2c3d4e5sm1234567ab.12 - gsmtp",
      535, "5.7.8",
      "5.7.8 Username and Password not accepted. Learn more at https://support.google.com/mail/?p=BadCredentials "
      "d9443c01a7336-2a1b2c3d4e5sm1234567ab.12 - gsmtp",
      "gmail-bad-credentials", HERALD_STAGE_AUTH },
    /* Python smtplib: a tuple with escaped newlines and no codes on the lines. */
    { "smtplib.SMTPAuthenticationError: (534, b'5.7.9 Application-specific password required. For more "
      "information, go to\\n5.7.9  https://support.google.com/mail/?p=InvalidSecondFactor a1b2 - gsmtp')",
      534, "5.7.9",
      "5.7.9 Application-specific password required. For more information, go to "
      "https://support.google.com/mail/?p=InvalidSecondFactor a1b2 - gsmtp",
      "gmail-app-password-required", HERALD_STAGE_AUTH },
    /* JavaMail. */
    { "javax.mail.AuthenticationFailedException: 535 5.7.139 Authentication unsuccessful, user is locked by your "
      "organization's security defaults policy. Contact your administrator. [AM0PR02CA0001.eurprd02.prod.outlook.com]",
      535, "5.7.139", NULL, "exo-security-defaults", HERALD_STAGE_AUTH },
    /* A port number before the reply is not taken for a code. */
    { "Could not send via smtp.example.net port 587 : 554 5.7.1 <bob@example.org>: Relay access denied",
      554, "5.7.1", "5.7.1 <bob@example.org>: Relay access denied", "gen-relay-denied", HERALD_N_STAGES },
    /* A swaks transcript: the first refusal, not the greeting; the
     * continuation line's "<~* " prefix dropped. */
    { "=== Trying smtp.gmail.com:587...\n"
      "=== Connected to smtp.gmail.com.\n"
      "<-  220 smtp.gmail.com ESMTP a1b2c3 - gsmtp\n"
      " -> EHLO host.example.com\n"
      "<-  250-smtp.gmail.com at your service, [203.0.113.7]\n"
      "<-  250 STARTTLS\n"
      " -> STARTTLS\n"
      "<-  220 2.0.0 Ready to start TLS\n"
      "=== TLS started with cipher TLSv1.3:TLS_AES_256_GCM_SHA384:256\n"
      " ~> EHLO host.example.com\n"
      "<~  250-smtp.gmail.com at your service, [203.0.113.7]\n"
      "<~  250 AUTH LOGIN PLAIN XOAUTH2 PLAIN-CLIENTTOKEN OAUTHBEARER XOAUTH\n"
      " ~> AUTH LOGIN\n"
      "<~  334 VXNlcm5hbWU6\n"
      " ~> bWVAZ21haWwuY29t\n"
      "<~  334 UGFzc3dvcmQ6\n"
      " ~> c2VjcmV0\n"
      "<~* 535-5.7.8 Username and Password not accepted. Learn more at\n"
      "<~* 535 5.7.8  https://support.google.com/mail/?p=BadCredentials a1b2c3 - gsmtp\n"
      " ~> QUIT\n"
      "<~  221 2.0.0 closing connection a1b2c3 - gsmtp\n"
      "=== Connection closed with remote host.\n",
      535, "5.7.8",
      "5.7.8 Username and Password not accepted. Learn more at https://support.google.com/mail/?p=BadCredentials a1b2c3 - gsmtp",
      "gmail-bad-credentials", HERALD_STAGE_AUTH },
    /* A client log with S:/C: lines. */
    { "S: 220 mail.example.net ESMTP Postfix\nC: EHLO host\nS: 250-mail.example.net\nS: 250 AUTH PLAIN LOGIN\n"
      "C: MAIL FROM:<alerts@example.org>\nS: 250 2.1.0 Ok\nC: RCPT TO:<bob@example.com>\n"
      "S: 554 5.7.1 <bob@example.com>: Relay access denied\nC: QUIT\n",
      554, "5.7.1", "5.7.1 <bob@example.com>: Relay access denied", "gen-relay-denied", HERALD_STAGE_RCPT },
    /* No code at all: the words alone. */
    { "Relay access denied", 0, NULL, "Relay access denied", "gen-relay-denied", HERALD_N_STAGES },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr(HeraldExtractedReply) e = _herald_extract_reply (cases[i].text);
      g_autoptr(HeraldDiagnosis) d = herald_diagnose_text (cases[i].text, HERALD_N_STAGES, NULL);

      g_assert_cmpint (e->code, ==, cases[i].code);
      g_assert_cmpstr (e->enhanced, ==, cases[i].enhanced);
      if (cases[i].normalised != NULL)
        g_assert_cmpstr (e->normalised, ==, cases[i].normalised);
      g_assert_null (strstr (e->normalised, "   at System"));
      g_assert_null (strstr (e->normalised, "Could not authenticate"));
      g_assert_cmpstr (d->id, ==, cases[i].rule);
      g_assert_cmpint (e->stage, ==, cases[i].stage);
    }
}

static void
test_certificate_details (void)
{
  g_autoptr(HeraldSmtpResult) result = result_new ();
  g_autoptr(HeraldSmtpConfig) config = herald_smtp_config_new ();
  g_autoptr(HeraldDiagnosis) d = NULL;
  gboolean ca_file_step = FALSE;

  config->host = g_strdup ("mail.example.net");
  result->stage = HERALD_STAGE_TLS;
  result->error = g_error_new_literal (HERALD_SMTP_ERROR, HERALD_SMTP_ERROR_TLS_CERTIFICATE, "untrusted");
  result->tls = g_new0 (HeraldTlsInfo, 1);
  result->tls->subject = g_strdup ("CN=mail.example.net");
  result->tls->issuer = g_strdup ("CN=Example Internal CA");
  result->tls->not_before = g_strdup ("2026-01-01T00:00:00Z");
  result->tls->not_after = g_strdup ("2027-01-01T00:00:00Z");
  result->tls->sha256 = g_strdup ("AB:CD:EF");
  result->tls->flags = G_TLS_CERTIFICATE_UNKNOWN_CA;
  result->tls->errors = g_strsplit ("unknown-ca", ",", -1);

  d = herald_diagnose (result, config);
  g_assert_cmpstr (d->id, ==, "tls-cert-unknown-ca");
  g_assert_nonnull (strstr (d->explanation, "CN=mail.example.net"));
  g_assert_nonnull (strstr (d->explanation, "CN=Example Internal CA"));
  g_assert_nonnull (strstr (d->explanation, "2026-01-01T00:00:00Z"));
  g_assert_nonnull (strstr (d->explanation, "2027-01-01T00:00:00Z"));
  g_assert_nonnull (strstr (d->explanation, "AB:CD:EF"));
  g_assert_nonnull (strstr (d->explanation, "unknown-ca"));
  g_assert_nonnull (strstr (d->details, "AB:CD:EF"));
  for (guint i = 0; i < d->steps->len; i++)
    {
      const HeraldDiagnosisStep *step = g_ptr_array_index (d->steps, i);
      /* The setting as the form names it. */
      if (strstr (step->text, "“CA certificate file”") != NULL)
        ca_file_step = TRUE;
    }
  g_assert_true (ca_file_step);
}

static void
test_commands_use_settings (void)
{
  g_autoptr(HeraldSmtpResult) result = result_new ();
  g_autoptr(HeraldSmtpConfig) config = herald_smtp_config_new ();
  g_autoptr(HeraldDiagnosis) d = NULL;
  g_autoptr(HeraldDiagnosis) t = NULL;
  gboolean found = FALSE;

  config->host = g_strdup ("smtp.office365.com");
  config->username = g_strdup ("alerts@contoso.com");
  result->stage = HERALD_STAGE_AUTH;
  result->reply = parse_reply ("535 5.7.139 Authentication unsuccessful, SmtpClientAuthentication is disabled for the Mailbox.");
  result->error = g_error_new_literal (HERALD_SMTP_ERROR, HERALD_SMTP_ERROR_REJECTED, "rejected");

  d = herald_diagnose (result, config);
  g_assert_cmpint (d->actor, ==, HERALD_ACTOR_MAIL_ADMIN);
  for (guint i = 0; i < d->steps->len; i++)
    {
      const HeraldDiagnosisStep *step = g_ptr_array_index (d->steps, i);
      if (step->command && strstr (step->command, "Set-CASMailbox -Identity alerts@contoso.com -SmtpClientAuthenticationDisabled $false"))
        found = TRUE;
    }
  g_assert_true (found);

  /* Without settings (heraldctl explain), a placeholder the user fills in. */
  found = FALSE;
  t = herald_diagnose_text (result->reply->raw, HERALD_STAGE_AUTH, NULL);
  for (guint i = 0; i < t->steps->len; i++)
    {
      const HeraldDiagnosisStep *step = g_ptr_array_index (t->steps, i);
      if (step->command && strstr (step->command, "Set-CASMailbox -Identity <mailbox>"))
        found = TRUE;
    }
  g_assert_true (found);
}

static void
test_fallback_wording (void)
{
  g_autoptr(HeraldDiagnosis) temp = herald_diagnose_text ("452 4.3.1 Insufficient system storage", HERALD_STAGE_MAIL, NULL);
  g_autoptr(HeraldDiagnosis) perm = herald_diagnose_text ("554 5.3.0 Local delivery failed", HERALD_STAGE_DATA, NULL);
  g_autoptr(HeraldDiagnosis) none = herald_diagnose_text ("the printer said no", HERALD_N_STAGES, NULL);

  g_assert_cmpstr (temp->id, ==, "fallback-temporary");
  g_assert_true (herald_diagnosis_is_fallback (temp));
  g_assert_nonnull (strstr (temp->explanation, "452 4.3.1 Insufficient system storage"));
  g_assert_nonnull (strstr (temp->explanation, "MAIL FROM"));
  g_assert_nonnull (strstr (temp->explanation, "temporary"));

  g_assert_cmpstr (perm->id, ==, "fallback-permanent");
  g_assert_nonnull (strstr (perm->explanation, "554 5.3.0 Local delivery failed"));
  g_assert_nonnull (strstr (perm->explanation, "DATA"));
  g_assert_nonnull (strstr (perm->explanation, "retrying will not help"));

  g_assert_cmpstr (none->id, ==, "fallback-other");
  g_assert_nonnull (strstr (none->explanation, "the printer said no"));
}

static void
test_ok_result (void)
{
  g_autoptr(HeraldSmtpResult) result = result_new ();

  result->ok = TRUE;
  result->stage = HERALD_STAGE_DONE;
  g_assert_null (herald_diagnose (result, NULL));
}

static void
test_copy (void)
{
  g_autoptr(HeraldDiagnosis) d = herald_diagnose_text ("535 5.7.139 Authentication unsuccessful, SmtpClientAuthentication is disabled for the Tenant.",
                                                       HERALD_STAGE_AUTH, NULL);
  g_autoptr(HeraldDiagnosis) copy = herald_diagnosis_copy (d);

  g_assert_cmpstr (copy->id, ==, d->id);
  g_assert_cmpstr (copy->title, ==, d->title);
  g_assert_cmpstr (copy->explanation, ==, d->explanation);
  g_assert_cmpstr (copy->details, ==, d->details);
  g_assert_cmpint (copy->actor, ==, d->actor);
  g_assert_cmpint (copy->severity, ==, d->severity);
  g_assert_cmpuint (copy->steps->len, ==, d->steps->len);
  g_assert_cmpuint (copy->links->len, ==, d->links->len);
  g_assert_cmpstr (((HeraldDiagnosisStep *) g_ptr_array_index (copy->steps, 1))->command, ==,
                   ((HeraldDiagnosisStep *) g_ptr_array_index (d->steps, 1))->command);
}

/* ---------------------------------------------------------------------------
 * Notices
 * ------------------------------------------------------------------------- */

static GHashTable *produced_notices;

static gboolean
has_notice (GPtrArray  *notices,
            const char *id)
{
  for (guint i = 0; i < notices->len; i++)
    {
      const HeraldDiagnosis *d = g_ptr_array_index (notices, i);

      g_hash_table_add (produced_notices, g_strdup (d->id));
      if (g_str_equal (d->id, id))
        {
          g_assert_true (d->severity == HERALD_SEVERITY_WARNING || d->severity == HERALD_SEVERITY_INFO);
          assert_clean_diagnosis (d);
          return TRUE;
        }
    }
  return FALSE;
}

static HeraldSmtpConfig *
notice_config (const char       *host,
               guint16           port,
               HeraldSecurity    security,
               HeraldAuthMethod  auth,
               const char       *user,
               const char       *from)
{
  HeraldSmtpConfig *config = herald_smtp_config_new ();

  config->host = g_strdup (host);
  config->port = port;
  config->security = security;
  config->auth = auth;
  config->username = g_strdup (user);
  if (auth == HERALD_AUTH_XOAUTH2)
    config->oauth_token = g_strdup (TEST_TOKEN);
  else if (auth != HERALD_AUTH_NONE)
    config->password = g_strdup (TEST_PASSWORD);
  config->from = g_strdup (from);
  return config;
}

static void
test_notice_exchange_password (void)
{
  g_autoptr(HeraldSmtpConfig) config = notice_config ("smtp.office365.com", 587, HERALD_SECURITY_STARTTLS,
                                                      HERALD_AUTH_AUTO, "alerts@contoso.com", "alerts@contoso.com");
  g_autoptr(HeraldSmtpConfig) legacy = notice_config ("SMTP-Legacy.Office365.com", 587, HERALD_SECURITY_STARTTLS,
                                                      HERALD_AUTH_LOGIN, "alerts@contoso.com", "alerts@contoso.com");
  g_autoptr(HeraldSmtpConfig) oauth = notice_config ("smtp.office365.com", 587, HERALD_SECURITY_STARTTLS,
                                                     HERALD_AUTH_XOAUTH2, "alerts@contoso.com", "alerts@contoso.com");
  g_autoptr(HeraldSmtpConfig) relay = notice_config ("mail.contoso.com", 587, HERALD_SECURITY_STARTTLS,
                                                     HERALD_AUTH_AUTO, "alerts@contoso.com", "alerts@contoso.com");
  g_autoptr(HeraldSmtpResult) ok = result_new ();
  g_autoptr(HeraldSmtpResult) onprem = result_new ();
  g_autoptr(GPtrArray) before = herald_notices (config, NULL);
  g_autoptr(GPtrArray) legacy_notices = herald_notices (legacy, NULL);
  g_autoptr(GPtrArray) oauth_notices = herald_notices (oauth, NULL);
  g_autoptr(GPtrArray) relay_before = herald_notices (relay, NULL);
  g_autoptr(GPtrArray) relay_after = NULL;
  g_autoptr(GPtrArray) onprem_after = NULL;
  const HeraldDiagnosis *d;

  g_assert_true (has_notice (before, "exo-basic-auth-retirement"));
  d = g_ptr_array_index (before, 0);
  /* The wording of December 2026 (test-dates.c checks the one of 2027). */
  g_assert_nonnull (strstr (d->explanation, "December 2026"));
  g_assert_nonnull (strstr (d->explanation, "OAuth"));
  g_assert_true (has_notice (legacy_notices, "exo-basic-auth-retirement"));
  g_assert_false (has_notice (oauth_notices, "exo-basic-auth-retirement"));
  g_assert_false (has_notice (relay_before, "exo-basic-auth-retirement"));

  /* Shown on success too, when the greeting identifies Exchange Online. */
  ok->ok = TRUE;
  ok->stage = HERALD_STAGE_DONE;
  ok->greeting = g_strdup ("BN9PR03CA0716.outlook.office365.com Microsoft ESMTP MAIL Service ready at Sat, 28 Nov 2026 08:20:00 +0000");
  ok->auth_used = g_strdup ("LOGIN");
  relay_after = herald_notices (relay, ok);
  g_assert_true (has_notice (relay_after, "exo-basic-auth-retirement"));

  /* On-premises Exchange says "Microsoft ESMTP" too, but is not Exchange Online. */
  onprem->ok = TRUE;
  onprem->stage = HERALD_STAGE_DONE;
  onprem->greeting = g_strdup ("mail.contoso.com Microsoft ESMTP MAIL Service ready at Sat, 28 Nov 2026 08:20:00 +0000");
  onprem->auth_used = g_strdup ("LOGIN");
  onprem_after = herald_notices (relay, onprem);
  g_assert_false (has_notice (onprem_after, "exo-basic-auth-retirement"));
}

static void
test_notice_from_differs (void)
{
  g_autoptr(HeraldSmtpConfig) ms = notice_config ("smtp.office365.com", 587, HERALD_SECURITY_STARTTLS,
                                                  HERALD_AUTH_XOAUTH2, "alerts@contoso.com", "noreply@contoso.com");
  g_autoptr(HeraldSmtpConfig) same = notice_config ("smtp.office365.com", 587, HERALD_SECURITY_STARTTLS,
                                                    HERALD_AUTH_XOAUTH2, "Alerts@Contoso.com", "Alerts <alerts@contoso.com>");
  g_autoptr(HeraldSmtpConfig) gmail = notice_config ("smtp.gmail.com", 465, HERALD_SECURITY_TLS,
                                                     HERALD_AUTH_AUTO, "me@gmail.com", "alerts@example.com");
  g_autoptr(HeraldSmtpConfig) other = notice_config ("mail.example.net", 587, HERALD_SECURITY_STARTTLS,
                                                     HERALD_AUTH_AUTO, "me@example.net", "alerts@example.com");
  g_autoptr(GPtrArray) a = herald_notices (ms, NULL);
  g_autoptr(GPtrArray) b = herald_notices (same, NULL);
  g_autoptr(GPtrArray) c = herald_notices (gmail, NULL);
  g_autoptr(GPtrArray) e = herald_notices (other, NULL);

  g_assert_true (has_notice (a, "exo-from-differs"));
  g_assert_false (has_notice (b, "exo-from-differs"));
  g_assert_true (has_notice (c, "gmail-from-differs"));
  g_assert_cmpuint (e->len, ==, 0);
}

static void
test_notice_ports (void)
{
  g_autoptr(HeraldSmtpConfig) a = notice_config ("mail.example.net", 465, HERALD_SECURITY_STARTTLS,
                                                 HERALD_AUTH_AUTO, "me@example.net", "me@example.net");
  g_autoptr(HeraldSmtpConfig) b = notice_config ("mail.example.net", 587, HERALD_SECURITY_TLS,
                                                 HERALD_AUTH_AUTO, "me@example.net", "me@example.net");
  g_autoptr(HeraldSmtpConfig) c = notice_config ("mail.example.net", 587, HERALD_SECURITY_STARTTLS,
                                                 HERALD_AUTH_AUTO, "me@example.net", "me@example.net");
  g_autoptr(GPtrArray) na = herald_notices (a, NULL);
  g_autoptr(GPtrArray) nb = herald_notices (b, NULL);
  g_autoptr(GPtrArray) nc = herald_notices (c, NULL);

  g_assert_true (has_notice (na, "port-465-starttls"));
  g_assert_true (has_notice (nb, "port-587-implicit-tls"));
  g_assert_cmpuint (nc->len, ==, 0);
}

static void
test_notice_no_auth (void)
{
  g_autoptr(HeraldSmtpConfig) gmail = notice_config ("smtp.gmail.com", 587, HERALD_SECURITY_STARTTLS,
                                                     HERALD_AUTH_NONE, NULL, "me@gmail.com");
  g_autoptr(HeraldSmtpConfig) relay = notice_config ("relay.internal.example", 25, HERALD_SECURITY_STARTTLS,
                                                     HERALD_AUTH_NONE, NULL, "me@example.com");
  g_autoptr(GPtrArray) a = herald_notices (gmail, NULL);
  g_autoptr(GPtrArray) b = herald_notices (relay, NULL);
  g_autoptr(GPtrArray) none = herald_notices (NULL, NULL);

  g_assert_true (has_notice (a, "no-auth-public-provider"));
  g_assert_cmpuint (b->len, ==, 0);
  g_assert_cmpuint (none->len, ==, 0);
}

static const HeraldDiagnosis *find_notice (GPtrArray  *notices,
                                          const char *id);

/* The iCloud preset as it comes: Authentication "Automatic", no username
 * yet. The card must not say authentication is off (the form says
 * Automatic): it asks for the username, and says an app-specific password
 * is needed and where it is made. */
static void
test_notice_preset_icloud_automatic (void)
{
  g_autoptr(HeraldSmtpConfig) icloud = notice_config ("smtp.mail.me.com", 587, HERALD_SECURITY_STARTTLS,
                                                      HERALD_AUTH_AUTO, NULL, "me@icloud.com");
  g_autoptr(GPtrArray) notices = NULL;
  const HeraldDiagnosis *d;

  g_clear_pointer (&icloud->password, g_free);
  notices = herald_notices (icloud, NULL);
  g_assert_false (has_notice (notices, "no-auth-public-provider"));
  for (guint i = 0; i < notices->len; i++)
    {
      d = g_ptr_array_index (notices, i);
      g_test_message ("notice: %s: %s", d->title, d->explanation);
      g_assert_null (strstr (d->explanation, "Authentication is off"));
    }
  if ((d = find_notice (notices, "no-username-public-provider")) == NULL)
    g_error ("no notice no-username-public-provider");
  g_assert_nonnull (strstr (d->explanation, "Automatic"));
  g_assert_nonnull (strstr (d->explanation, "smtp.mail.me.com"));
  if ((d = find_notice (notices, "app-password-icloud")) == NULL)
    g_error ("no notice app-password-icloud");
  g_assert_cmpuint (d->links->len, >=, 1);
  g_assert_true (g_str_has_prefix (((HeraldLink *) g_ptr_array_index (d->links, 0))->url,
                                   "https://account.apple.com/"));
}

/* Gmail, Yahoo and iCloud with a password: the app password notice, with
 * its link; not with OAuth 2.0, not with authentication off, and not for
 * another server. */
static void
test_notice_app_password (void)
{
  struct {
    const char       *host;
    HeraldAuthMethod  auth;
    const char       *expected;   /* NULL: no app password notice */
    const char       *url;
  } cases[] = {
    { "smtp.gmail.com", HERALD_AUTH_AUTO, "app-password-google", "https://myaccount.google.com/apppasswords" },
    { "smtp.gmail.com", HERALD_AUTH_PLAIN, "app-password-google", "https://myaccount.google.com/apppasswords" },
    { "smtp.gmail.com", HERALD_AUTH_XOAUTH2, NULL, NULL },
    { "smtp.gmail.com", HERALD_AUTH_NONE, NULL, NULL },
    { "smtp-relay.gmail.com", HERALD_AUTH_AUTO, NULL, NULL },
    { "smtp.mail.yahoo.com", HERALD_AUTH_AUTO, "app-password-yahoo", "https://login.yahoo.com/account/security" },
    { "SMTP.Mail.Me.com", HERALD_AUTH_LOGIN, "app-password-icloud", "https://account.apple.com/account/manage" },
    { "mail.example.net", HERALD_AUTH_AUTO, NULL, NULL },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr(HeraldSmtpConfig) config = notice_config (cases[i].host, 587, HERALD_SECURITY_STARTTLS,
                                                          cases[i].auth, "me@example.com", "me@example.com");
      g_autoptr(GPtrArray) notices = herald_notices (config, NULL);
      gboolean any = has_notice (notices, "app-password-google") ||
                     has_notice (notices, "app-password-yahoo") ||
                     has_notice (notices, "app-password-icloud");

      g_test_message ("%s, auth %s", cases[i].host, herald_auth_method_to_string (cases[i].auth));
      if (cases[i].expected == NULL)
        g_assert_false (any);
      else
        {
          const HeraldDiagnosis *d = find_notice (notices, cases[i].expected);

          if (d == NULL)
            g_error ("no notice %s", cases[i].expected);
          g_assert_cmpstr (((HeraldLink *) g_ptr_array_index (d->links, 0))->url, ==, cases[i].url);
        }
    }
}

static void
test_notice_tls_version (void)
{
  g_autoptr(HeraldSmtpConfig) config = notice_config ("mail.example.net", 587, HERALD_SECURITY_STARTTLS,
                                                      HERALD_AUTH_AUTO, "me@example.net", "me@example.net");
  g_autoptr(HeraldSmtpResult) result = result_new ();
  g_autoptr(GPtrArray) notices = NULL;
  const HeraldDiagnosis *d;

  result->ok = TRUE;
  result->stage = HERALD_STAGE_DONE;
  result->tls = g_new0 (HeraldTlsInfo, 1);
  result->tls->version = g_strdup ("TLS 1.1");
  notices = herald_notices (config, result);
  g_assert_true (has_notice (notices, "tls-version-old"));
  d = g_ptr_array_index (notices, 0);
  g_assert_nonnull (strstr (d->explanation, "TLS 1.1"));
}

/* Runs last: every notice of the rules file was produced by a test above. */
static void
test_every_notice_tested (void)
{
  const char * const *ids = _herald_diagnosis_notice_ids ();

  for (guint i = 0; ids[i] != NULL; i++)
    {
      if (!g_hash_table_contains (produced_notices, ids[i]))
        g_test_message ("notice “%s” is never produced by a test", ids[i]);
      g_assert_true (g_hash_table_contains (produced_notices, ids[i]));
    }
}

/* ---------------------------------------------------------------------------
 * main
 * ------------------------------------------------------------------------- */

static void
load_cases (void)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *path = g_test_build_filename (G_TEST_DIST, "diagnosis", "replies.json", NULL);
  JsonArray *cases;

  cases_parser = json_parser_new ();
  if (!json_parser_load_from_file (cases_parser, path, &error))
    g_error ("Cannot read %s: %s", path, error->message);
  cases = json_object_get_array_member (json_node_get_object (json_parser_get_root (cases_parser)), "cases");
  expected_ids = g_hash_table_new (g_str_hash, g_str_equal);

  for (guint i = 0; i < json_array_get_length (cases); i++)
    {
      JsonObject *c = json_array_get_object_element (cases, i);
      const char *expect = member (c, "expect");
      g_autofree char *test_path = NULL;

      g_assert_nonnull (expect);
      g_hash_table_add (expected_ids, (gpointer) expect);
      test_path = g_strdup_printf ("/herald/diagnosis/table/%03u-%s", i + 1, expect);
      g_test_add_data_func (test_path, c, test_table_case);
    }
}

static const HeraldDiagnosis *
find_notice (GPtrArray  *notices,
             const char *id)
{
  for (guint i = 0; i < notices->len; i++)
    {
      const HeraldDiagnosis *d = g_ptr_array_index (notices, i);

      if (g_str_equal (d->id, id))
        return d;
    }
  return NULL;
}

/* The one-click fixes come from the rules file ("action"), not from rule
 * ids: the window offers "Switch to OAuth 2.0" by this field. */
static void
test_actions (void)
{
  g_autoptr(HeraldSmtpConfig) exo = notice_config ("smtp.office365.com", 587, HERALD_SECURITY_STARTTLS,
                                                   HERALD_AUTH_AUTO, "alerts@contoso.com", "alerts@contoso.com");
  g_autoptr(HeraldSmtpConfig) p465 = notice_config ("mail.example.org", 465, HERALD_SECURITY_STARTTLS,
                                                    HERALD_AUTH_AUTO, "alerts@example.org", "alerts@example.org");
  g_autoptr(HeraldSmtpConfig) p587 = notice_config ("mail.example.org", 587, HERALD_SECURITY_TLS,
                                                    HERALD_AUTH_AUTO, "alerts@example.org", "alerts@example.org");
  g_autoptr(GPtrArray) exo_notices = herald_notices (exo, NULL);
  g_autoptr(GPtrArray) p465_notices = herald_notices (p465, NULL);
  g_autoptr(GPtrArray) p587_notices = herald_notices (p587, NULL);
  g_autoptr(HeraldDiagnosis) retired = herald_diagnose_text (
    "535 5.7.30 Basic authentication is not supported for Client Submission.", HERALD_STAGE_AUTH, NULL);
  g_autoptr(HeraldDiagnosis) retired_copy = NULL;
  g_autoptr(HeraldDiagnosis) plain = herald_diagnose_text (
    "550 5.1.1 <nobody@example.org>: Recipient address rejected: User unknown", HERALD_STAGE_RCPT, NULL);
  const HeraldDiagnosis *d;
  HeraldAction action;

  d = find_notice (exo_notices, "exo-basic-auth-retirement");
  g_assert_nonnull (d);
  g_assert_cmpint (d != NULL ? (int) d->action : -1, ==, HERALD_ACTION_SWITCH_TO_OAUTH);
  d = find_notice (exo_notices, "exo-from-differs");
  g_assert_true (d == NULL || d->action == HERALD_ACTION_NONE);
  d = find_notice (p465_notices, "port-465-starttls");
  g_assert_nonnull (d);
  g_assert_cmpint (d != NULL ? (int) d->action : -1, ==, HERALD_ACTION_SWITCH_TO_TLS);
  d = find_notice (p587_notices, "port-587-implicit-tls");
  g_assert_nonnull (d);
  g_assert_cmpint (d != NULL ? (int) d->action : -1, ==, HERALD_ACTION_SWITCH_TO_STARTTLS);

  g_assert_cmpstr (retired->id, ==, "exo-basic-auth-retired");
  g_assert_cmpint (retired->action, ==, HERALD_ACTION_SWITCH_TO_OAUTH);
  retired_copy = herald_diagnosis_copy (retired);
  g_assert_cmpint (retired_copy->action, ==, HERALD_ACTION_SWITCH_TO_OAUTH);
  g_assert_cmpint (plain->action, ==, HERALD_ACTION_NONE);

  g_assert_cmpstr (herald_action_to_string (HERALD_ACTION_USE_PORT_587), ==, "use-port-587");
  g_assert_null (herald_action_to_string (HERALD_ACTION_NONE));
  g_assert_true (herald_action_from_string ("switch-to-oauth", &action));
  g_assert_cmpint (action, ==, HERALD_ACTION_SWITCH_TO_OAUTH);
  g_assert_false (herald_action_from_string ("basic-auth", &action));
}

/* When no rule knows the result, herald_diagnose() reads the error's text,
 * so the window and heraldctl need no second pass of their own: an identity
 * provider's AADSTS code in an error of any domain is diagnosed. */
static void
test_fallback_reads_error_text (void)
{
  g_autoptr(HeraldSmtpResult) result = result_new ();
  g_autoptr(HeraldSmtpConfig) config = notice_config ("smtp.office365.com", 587, HERALD_SECURITY_STARTTLS,
                                                      HERALD_AUTH_XOAUTH2, "alerts@contoso.com", "alerts@contoso.com");
  g_autoptr(HeraldDiagnosis) d = NULL;
  g_autoptr(HeraldSmtpResult) unknown = result_new ();
  g_autoptr(HeraldDiagnosis) still_fallback = NULL;

  result->stage = HERALD_STAGE_AUTH;
  result->error = g_error_new_literal (g_quark_from_static_string ("some-oauth-error"), 3,
                                       "Token refresh failed: invalid_grant: AADSTS700082: The refresh token "
                                       "has expired due to inactivity.");
  d = herald_diagnose (result, config);
  g_assert_nonnull (d);
  g_assert_cmpstr (d->id, ==, "oauth-sign-in-again");

  /* Words no rule knows stay the honest fallback. */
  unknown->stage = HERALD_STAGE_AUTH;
  unknown->error = g_error_new_literal (g_quark_from_static_string ("some-oauth-error"), 3,
                                        "the printer said no");
  still_fallback = herald_diagnose (unknown, config);
  g_assert_true (herald_diagnosis_is_fallback (still_fallback));
}

/* heraldctl explain's entry point: the diagnosis and what was found. */
static void
test_explain_entry (void)
{
  g_autoptr(HeraldExplanation) e = herald_explain (
    "2026-11-28 08:20:01 SMTP ERROR: Password command failed: 535 5.7.139 Authentication unsuccessful, "
    "SmtpClientAuthentication is disabled for the Tenant.", HERALD_N_STAGES, NULL);
  g_autoptr(HeraldExplanation) given = herald_explain ("554 5.3.0 Local delivery failed",
                                                       HERALD_STAGE_DATA, "mx.example.org");
  g_autoptr(HeraldExplanation) words = herald_explain ("the printer said no", HERALD_N_STAGES, NULL);

  g_assert_cmpstr (e->diagnosis->id, ==, "exo-smtp-auth-disabled-tenant");
  g_assert_cmpint (e->stage, ==, HERALD_STAGE_AUTH);
  g_assert_cmpint (e->code, ==, 535);
  g_assert_cmpstr (e->enhanced, ==, "5.7.139");
  g_assert_true (g_str_has_prefix (e->reply, "5.7.139 Authentication unsuccessful"));

  g_assert_true (herald_diagnosis_is_fallback (given->diagnosis));
  g_assert_cmpint (given->stage, ==, HERALD_STAGE_DATA);
  g_assert_cmpint (given->code, ==, 554);

  g_assert_cmpint (words->code, ==, 0);
  g_assert_null (words->enhanced);
  g_assert_cmpint (words->stage, ==, HERALD_N_STAGES);
}

int
main (int    argc,
      char **argv)
{
  int ret;

  g_test_init (&argc, &argv, NULL);
  /* The rules' wordings of December 2026; test-dates.c checks 2027's. */
  {
    g_autoptr(GDateTime) december = g_date_time_new_utc (2026, 12, 7, 9, 0, 0);
    _herald_diagnosis_set_now (december);
  }
  produced_notices = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);

  g_test_add_func ("/herald/diagnosis/a-load-from-threads", test_load_from_threads);
  g_test_add_func ("/herald/diagnosis/rule-ids-unique", test_rules_ids_unique);
  load_cases ();
  g_test_add_func ("/herald/diagnosis/every-rule-has-a-test-line", test_every_rule_tested);
  g_test_add_func ("/herald/diagnosis/normalise", test_normalise);
  g_test_add_func ("/herald/diagnosis/strip-server-tag", test_strip_server_tag);
  g_test_add_func ("/herald/diagnosis/server-tag-in-details-only", test_tag_in_details_only);
  g_test_add_func ("/herald/diagnosis/exchange-530-embeds-535", test_embedded_reply);
  g_test_add_func ("/herald/diagnosis/extract-wrapped-replies", test_extract);
  g_test_add_func ("/herald/diagnosis/certificate-details", test_certificate_details);
  g_test_add_func ("/herald/diagnosis/commands-use-settings", test_commands_use_settings);
  g_test_add_func ("/herald/diagnosis/fallback-wording", test_fallback_wording);
  g_test_add_func ("/herald/diagnosis/ok-result-has-no-diagnosis", test_ok_result);
  g_test_add_func ("/herald/diagnosis/copy", test_copy);
  g_test_add_func ("/herald/diagnosis/notices/exchange-password", test_notice_exchange_password);
  g_test_add_func ("/herald/diagnosis/notices/from-differs", test_notice_from_differs);
  g_test_add_func ("/herald/diagnosis/notices/ports", test_notice_ports);
  g_test_add_func ("/herald/diagnosis/notices/no-auth", test_notice_no_auth);
  g_test_add_func ("/herald/diagnosis/notices/preset-icloud-automatic",
                   test_notice_preset_icloud_automatic);
  g_test_add_func ("/herald/diagnosis/notices/app-password", test_notice_app_password);
  g_test_add_func ("/herald/diagnosis/notices/tls-version", test_notice_tls_version);
  g_test_add_func ("/herald/diagnosis/actions", test_actions);
  g_test_add_func ("/herald/diagnosis/fallback-reads-error-text", test_fallback_reads_error_text);
  g_test_add_func ("/herald/diagnosis/explain-entry", test_explain_entry);
  g_test_add_func ("/herald/diagnosis/notices/zz-every-notice-tested", test_every_notice_tested);

  ret = g_test_run ();

  g_clear_object (&cases_parser);
  g_clear_pointer (&expected_ids, g_hash_table_unref);
  g_clear_pointer (&produced_notices, g_hash_table_unref);
  return ret;
}
