/* SPDX-License-Identifier: GPL-3.0-or-later
 * Copyright 2026 The Herald authors
 */
#define G_LOG_DOMAIN "herald-test"

#include <json-glib/json-glib.h>
#include <stdio.h>
#include <string.h>

#include "herald-diagnosis.h"
#include "herald-diagnosis-private.h"
#include "herald-report.h"

#define TEST_PASSWORD "S3cret-Test-Passw0rd"
#define TEST_TOKEN    "ya29.TestAccessToken-DoNotLeak"

static void
transcript_entry_free (gpointer data)
{
  HeraldTranscriptEntry *entry = data;

  g_free (entry->text);
  g_free (entry);
}

static void
add_entry (HeraldSmtpResult    *result,
           HeraldTranscriptDir  dir,
           const char          *text,
           gint64               ms)
{
  HeraldTranscriptEntry *entry = g_new0 (HeraldTranscriptEntry, 1);

  entry->dir = dir;
  entry->text = g_strdup (text);
  entry->ms = ms;
  g_ptr_array_add (result->transcript, entry);
}

static HeraldSmtpResult *
failed_result (void)
{
  HeraldSmtpResult *result = g_new0 (HeraldSmtpResult, 1);

  result->transcript = g_ptr_array_new_with_free_func (transcript_entry_free);
  for (guint i = 0; i < HERALD_N_STAGES; i++)
    result->stage_ms[i] = -1;
  for (guint i = HERALD_STAGE_RESOLVE; i <= HERALD_STAGE_AUTH; i++)
    result->stage_ms[i] = 10 + i;

  result->ok = FALSE;
  result->stage = HERALD_STAGE_AUTH;
  result->elapsed_ms = 1234;
  result->reply = g_new0 (HeraldSmtpReply, 1);
  result->reply->code = 535;
  result->reply->enhanced = g_strdup ("5.7.139");
  result->reply->raw = g_strdup ("535 5.7.139 Authentication unsuccessful, SmtpClientAuthentication is disabled for the Tenant. "
                                 "[MN2PR05CA0004.namprd05.prod.outlook.com 2026-11-28T08:12:44.123Z 08DE2F1A9B3C4D5E]");
  result->reply->text = g_strdup (result->reply->raw + 4);
  result->error = g_error_new_literal (HERALD_SMTP_ERROR, HERALD_SMTP_ERROR_REJECTED,
                                       "The server rejected the login");
  result->tls = g_new0 (HeraldTlsInfo, 1);
  result->tls->version = g_strdup ("TLS 1.3");
  result->tls->subject = g_strdup ("CN=outlook.com");
  result->tls->issuer = g_strdup ("CN=DigiCert Cloud Services CA-1");
  result->tls->not_before = g_strdup ("2026-01-01T00:00:00Z");
  result->tls->not_after = g_strdup ("2027-01-01T00:00:00Z");
  result->tls->sha256 = g_strdup ("AB:CD:EF");
  result->tls->errors = g_new0 (char *, 1);
  result->greeting = g_strdup ("BN9PR03CA0716.outlook.office365.com Microsoft ESMTP MAIL Service ready");
  result->auth_used = g_strdup ("LOGIN");

  add_entry (result, HERALD_TRANSCRIPT_INFO, "Connected to 127.0.0.1:587", 3);
  add_entry (result, HERALD_TRANSCRIPT_SERVER, "220 BN9PR03CA0716.outlook.office365.com Microsoft ESMTP MAIL Service ready", 15);
  add_entry (result, HERALD_TRANSCRIPT_CLIENT, "AUTH LOGIN", 40);
  add_entry (result, HERALD_TRANSCRIPT_CLIENT, "<credentials hidden>", 41);
  add_entry (result, HERALD_TRANSCRIPT_SERVER, result->reply->raw, 60);
  return result;
}

static HeraldSmtpConfig *
test_config (void)
{
  HeraldSmtpConfig *config = herald_smtp_config_new ();

  config->host = g_strdup ("smtp.office365.com");
  config->port = 587;
  config->username = g_strdup ("alerts@contoso.com");
  config->password = g_strdup (TEST_PASSWORD);
  config->oauth_token = g_strdup (TEST_TOKEN);
  config->from = g_strdup ("noreply@contoso.com");
  config->to = g_strsplit ("admin@contoso.com,ops@contoso.com", ",", -1);
  return config;
}

static void
assert_members (JsonObject          *object,
                const char * const  *expected)
{
  g_autoptr(GList) members = json_object_get_members (object);

  g_assert_cmpuint (g_list_length (members), ==, g_strv_length ((char **) expected));
  for (guint i = 0; expected[i] != NULL; i++)
    {
      if (!json_object_has_member (object, expected[i]))
        g_test_message ("missing member “%s”", expected[i]);
      g_assert_true (json_object_has_member (object, expected[i]));
    }
}

static void
assert_diagnosis_shape (JsonNode *node)
{
  static const char *members[] = { "id", "title", "explanation", "actor", "steps", "links",
                                   "severity", "details", NULL };
  JsonObject *d;
  JsonArray *steps, *links;
  const char *severity, *actor;

  g_assert_true (JSON_NODE_HOLDS_OBJECT (node));
  d = json_node_get_object (node);
  assert_members (d, members);
  g_assert_nonnull (json_object_get_string_member (d, "id"));
  g_assert_nonnull (json_object_get_string_member (d, "title"));
  g_assert_nonnull (json_object_get_string_member (d, "explanation"));
  severity = json_object_get_string_member (d, "severity");
  g_assert_true (g_str_equal (severity, "error") || g_str_equal (severity, "warning") || g_str_equal (severity, "info"));
  actor = json_object_get_string_member (d, "actor");
  g_assert_true (g_str_equal (actor, "you") || g_str_equal (actor, "mail-admin") || g_str_equal (actor, "provider"));
  steps = json_object_get_array_member (d, "steps");
  for (guint i = 0; i < json_array_get_length (steps); i++)
    g_assert_true (JSON_NODE_HOLDS_VALUE (json_array_get_element (steps, i)) &&
                   json_node_get_value_type (json_array_get_element (steps, i)) == G_TYPE_STRING);
  links = json_object_get_array_member (d, "links");
  for (guint i = 0; i < json_array_get_length (links); i++)
    {
      static const char *link_members[] = { "title", "url", NULL };
      JsonObject *link = json_array_get_object_element (links, i);

      assert_members (link, link_members);
      g_assert_true (g_str_has_prefix (json_object_get_string_member (link, "url"), "https://"));
    }
}

static void
test_result_json_failure (void)
{
  static const char *top[] = { "ok", "stage", "error", "reply", "diagnosis", "notices", "tls",
                               "transcript", "elapsed_ms", NULL };
  static const char *reply_members[] = { "code", "enhanced", "text", NULL };
  static const char *tls_members[] = { "version", "certificate", "errors", NULL };
  static const char *cert_members[] = { "subject", "issuer", "not_before", "not_after", "sha256", NULL };
  static const char *entry_members[] = { "dir", "text", "ms", NULL };
  g_autoptr(HeraldSmtpResult) result = failed_result ();
  g_autoptr(HeraldSmtpConfig) config = test_config ();
  g_autoptr(HeraldDiagnosis) d = herald_diagnose (result, config);
  g_autoptr(GPtrArray) notices = herald_notices (config, result);
  g_autoptr(JsonNode) node = herald_result_to_json (result, d, notices);
  g_autofree char *json = herald_json_to_string (node, FALSE);
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autoptr(GError) error = NULL;
  JsonObject *root, *reply, *tls, *cert;
  JsonArray *steps, *transcript, *notices_array;
  gboolean command_step = FALSE;

  /* Round trip through text: what heraldctl prints is valid JSON. */
  g_assert_true (json_parser_load_from_data (parser, json, -1, &error));
  g_assert_no_error (error);
  root = json_node_get_object (json_parser_get_root (parser));
  assert_members (root, top);

  g_assert_false (json_object_get_boolean_member (root, "ok"));
  g_assert_cmpstr (json_object_get_string_member (root, "stage"), ==, "auth");
  g_assert_cmpstr (json_object_get_string_member (root, "error"), ==, "The server rejected the login");
  g_assert_cmpint (json_object_get_int_member (root, "elapsed_ms"), ==, 1234);

  reply = json_object_get_object_member (root, "reply");
  assert_members (reply, reply_members);
  g_assert_cmpint (json_object_get_int_member (reply, "code"), ==, 535);
  g_assert_cmpstr (json_object_get_string_member (reply, "enhanced"), ==, "5.7.139");
  g_assert_true (g_str_has_prefix (json_object_get_string_member (reply, "text"), "5.7.139 Authentication unsuccessful"));

  assert_diagnosis_shape (json_object_get_member (root, "diagnosis"));
  g_assert_cmpstr (json_object_get_string_member (json_object_get_object_member (root, "diagnosis"), "id"), ==,
                   "exo-smtp-auth-disabled-tenant");
  /* A step with a command is "text\ncommand". */
  steps = json_object_get_array_member (json_object_get_object_member (root, "diagnosis"), "steps");
  for (guint i = 0; i < json_array_get_length (steps); i++)
    {
      const char *step = json_array_get_string_element (steps, i);

      if (strstr (step, "\nConnect-ExchangeOnline\nSet-CASMailbox -Identity alerts@contoso.com -SmtpClientAuthenticationDisabled $false") != NULL)
        command_step = TRUE;
    }
  g_assert_true (command_step);

  notices_array = json_object_get_array_member (root, "notices");
  g_assert_cmpuint (json_array_get_length (notices_array), >=, 2);   /* Basic auth retirement, From differs */
  for (guint i = 0; i < json_array_get_length (notices_array); i++)
    assert_diagnosis_shape (json_array_get_element (notices_array, i));

  tls = json_object_get_object_member (root, "tls");
  assert_members (tls, tls_members);
  g_assert_cmpstr (json_object_get_string_member (tls, "version"), ==, "TLS 1.3");
  cert = json_object_get_object_member (tls, "certificate");
  assert_members (cert, cert_members);
  g_assert_cmpstr (json_object_get_string_member (cert, "issuer"), ==, "CN=DigiCert Cloud Services CA-1");
  g_assert_cmpstr (json_object_get_string_member (cert, "sha256"), ==, "AB:CD:EF");
  g_assert_cmpuint (json_array_get_length (json_object_get_array_member (tls, "errors")), ==, 0);

  transcript = json_object_get_array_member (root, "transcript");
  g_assert_cmpuint (json_array_get_length (transcript), ==, 5);
  for (guint i = 0; i < json_array_get_length (transcript); i++)
    assert_members (json_array_get_object_element (transcript, i), entry_members);
  g_assert_cmpstr (json_object_get_string_member (json_array_get_object_element (transcript, 0), "dir"), ==, "info");
  g_assert_cmpstr (json_object_get_string_member (json_array_get_object_element (transcript, 1), "dir"), ==, "server");
  g_assert_cmpstr (json_object_get_string_member (json_array_get_object_element (transcript, 2), "dir"), ==, "client");
  g_assert_cmpint (json_object_get_int_member (json_array_get_object_element (transcript, 4), "ms"), ==, 60);

  g_assert_null (strstr (json, TEST_PASSWORD));
  g_assert_null (strstr (json, TEST_TOKEN));
}

static void
test_result_json_success (void)
{
  g_autoptr(HeraldSmtpResult) result = g_new0 (HeraldSmtpResult, 1);
  g_autoptr(JsonNode) node = NULL;
  JsonObject *root;

  result->ok = TRUE;
  result->stage = HERALD_STAGE_DONE;
  result->elapsed_ms = 321;
  node = herald_result_to_json (result, NULL, NULL);
  root = json_node_get_object (node);

  g_assert_true (json_object_get_boolean_member (root, "ok"));
  g_assert_cmpstr (json_object_get_string_member (root, "stage"), ==, "done");
  g_assert_true (json_object_get_null_member (root, "error"));
  g_assert_true (json_object_get_null_member (root, "reply"));
  g_assert_true (json_object_get_null_member (root, "diagnosis"));
  g_assert_true (json_object_get_null_member (root, "tls"));
  g_assert_cmpuint (json_array_get_length (json_object_get_array_member (root, "notices")), ==, 0);
  g_assert_cmpuint (json_array_get_length (json_object_get_array_member (root, "transcript")), ==, 0);
  g_assert_cmpint (json_object_get_int_member (root, "elapsed_ms"), ==, 321);
}

/* A handshake that failed before the server's certificate arrived: "tls"
 * is an object (a handshake was attempted) whose "certificate" is null. */
static void
test_result_json_no_certificate (void)
{
  g_autoptr(HeraldSmtpResult) result = g_new0 (HeraldSmtpResult, 1);
  g_autoptr(JsonNode) node = NULL;
  JsonObject *root, *tls;

  result->ok = FALSE;
  result->stage = HERALD_STAGE_TLS;
  result->error = g_error_new_literal (G_TLS_ERROR, G_TLS_ERROR_NOT_TLS,
                                       "Peer does not speak TLS");
  result->tls = g_new0 (HeraldTlsInfo, 1);
  result->tls->errors = g_new0 (char *, 1);
  node = herald_result_to_json (result, NULL, NULL);
  root = json_node_get_object (node);

  g_assert_false (json_object_get_null_member (root, "tls"));
  tls = json_object_get_object_member (root, "tls");
  g_assert_true (json_object_has_member (tls, "certificate"));
  g_assert_true (json_object_get_null_member (tls, "certificate"));
  g_assert_true (json_object_get_null_member (tls, "version"));
  g_assert_cmpuint (json_array_get_length (json_object_get_array_member (tls, "errors")), ==, 0);
}

static void
test_diagnosis_json_null (void)
{
  g_autoptr(JsonNode) node = herald_diagnosis_to_json (NULL);

  g_assert_true (JSON_NODE_HOLDS_NULL (node));
}

static void
test_report_text (void)
{
  g_autoptr(HeraldSmtpResult) result = failed_result ();
  g_autoptr(HeraldSmtpConfig) config = test_config ();
  g_autoptr(HeraldDiagnosis) d = herald_diagnose (result, config);
  g_autoptr(GPtrArray) notices = herald_notices (config, result);
  g_autofree char *text = herald_report_to_text (config, result, d, notices);

  g_assert_null (strstr (text, TEST_PASSWORD));
  g_assert_null (strstr (text, TEST_TOKEN));
  g_assert_nonnull (strstr (text, "set (not shown)"));
  g_assert_nonnull (strstr (text, "smtp.office365.com"));
  g_assert_nonnull (strstr (text, "alerts@contoso.com"));
  g_assert_nonnull (strstr (text, "admin@contoso.com, ops@contoso.com"));
  g_assert_nonnull (strstr (text, "starttls"));
  /* Steps with timings, the failed one marked. */
  g_assert_nonnull (strstr (text, "greeting"));
  g_assert_nonnull (strstr (text, "failed"));
  /* The diagnosis, its numbered steps, the notices. */
  g_assert_nonnull (strstr (text, d->title));
  g_assert_nonnull (strstr (text, "  1. "));
  g_assert_nonnull (strstr (text, "December 2026"));
  /* TLS and the transcript, server tag included (support asks for it). */
  g_assert_nonnull (strstr (text, "CN=DigiCert Cloud Services CA-1"));
  g_assert_nonnull (strstr (text, "C: AUTH LOGIN"));
  g_assert_nonnull (strstr (text, "MN2PR05CA0004.namprd05.prod.outlook.com"));
}

static void
test_print (void)
{
  g_autoptr(HeraldDiagnosis) d = herald_diagnose_text ("535 5.7.139 Authentication unsuccessful, SmtpClientAuthentication "
                                                       "is disabled for the Mailbox.", HERALD_STAGE_AUTH, NULL);
  char *buffer = NULL;
  size_t size = 0;
  FILE *out = open_memstream (&buffer, &size);

  herald_diagnosis_print (d, out);
  fclose (out);

  g_assert_true (g_str_has_prefix (buffer, d->title));
  g_assert_nonnull (strstr (buffer, "Your mail administrator must act."));
  g_assert_nonnull (strstr (buffer, "\n  1. In the Microsoft 365 admin center"));
  g_assert_nonnull (strstr (buffer, "\n  2. "));
  /* Commands on their own lines, indented under their step. */
  g_assert_nonnull (strstr (buffer, "\n       Set-CASMailbox -Identity <mailbox> -SmtpClientAuthenticationDisabled $false\n"));
  g_assert_nonnull (strstr (buffer, "https://learn.microsoft.com/"));
  free (buffer);
}

/* The one plain-text form of a diagnosis (the report, heraldctl, the OAuth
 * group's label): the flags choose title, who must act and details. */
static void
test_to_text (void)
{
  g_autoptr(HeraldDiagnosis) d = herald_diagnose_text ("535 5.7.139 Authentication unsuccessful, SmtpClientAuthentication "
                                                       "is disabled for the Mailbox.", HERALD_STAGE_AUTH, NULL);
  g_autofree char *bare = herald_diagnosis_to_text (d, 0);
  g_autofree char *all = herald_diagnosis_to_text (d, HERALD_DIAGNOSIS_TEXT_ALL);
  g_autofree char *titled = herald_diagnosis_to_text (d, HERALD_DIAGNOSIS_TEXT_TITLE);
  char *buffer = NULL;
  size_t size = 0;
  FILE *out = open_memstream (&buffer, &size);

  /* Without flags: the explanation, the steps and the links only. */
  g_assert_true (g_str_has_prefix (bare, d->explanation));
  g_assert_null (strstr (bare, d->title));
  g_assert_null (strstr (bare, "Who must act:"));
  g_assert_null (strstr (bare, "Technical details:"));
  g_assert_nonnull (strstr (bare, "\nWhat to do:\n  1. In the Microsoft 365 admin center"));
  g_assert_nonnull (strstr (bare, "\n       Set-CASMailbox -Identity <mailbox> -SmtpClientAuthenticationDisabled $false\n"));
  g_assert_nonnull (strstr (bare, "\nMore information:\n  • "));
  g_assert_false (g_str_has_suffix (bare, "\n"));

  g_assert_true (g_str_has_prefix (titled, d->title));
  g_assert_null (strstr (titled, "Who must act:"));

  g_assert_true (g_str_has_prefix (all, d->title));
  g_assert_nonnull (strstr (all, "Who must act: Your mail administrator must act."));
  g_assert_nonnull (strstr (all, "Technical details:\n  Rule: exo-smtp-auth-disabled-mailbox"));

  /* heraldctl's output is the same text. */
  herald_diagnosis_print (d, out);
  fclose (out);
  g_assert_true (g_str_has_prefix (buffer, all));
  free (buffer);
}

int
main (int    argc,
      char **argv)
{
  g_test_init (&argc, &argv, NULL);
  /* The notices' wording of December 2026; test-dates.c checks 2027's. */
  {
    g_autoptr(GDateTime) december = g_date_time_new_utc (2026, 12, 7, 9, 0, 0);
    _herald_diagnosis_set_now (december);
  }

  g_test_add_func ("/herald/report/result-json/failure", test_result_json_failure);
  g_test_add_func ("/herald/report/result-json/success", test_result_json_success);
  g_test_add_func ("/herald/report/result-json/no-certificate", test_result_json_no_certificate);
  g_test_add_func ("/herald/report/diagnosis-json-null", test_diagnosis_json_null);
  g_test_add_func ("/herald/report/text", test_report_text);
  g_test_add_func ("/herald/report/print", test_print);
  g_test_add_func ("/herald/report/to-text", test_to_text);

  return g_test_run ();
}
