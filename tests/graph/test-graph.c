/* SPDX-License-Identifier: GPL-3.0-or-later
 * Copyright 2026 The Herald authors
 */
#define G_LOG_DOMAIN "herald-test"

#include "config.h"

#include <string.h>

#include "fake-graph.h"
#include "herald-diagnosis.h"
#include "herald-graph.h"
#include "herald-graph-private.h"
#include "herald-test-util.h"

/* The Graph transport against the in-process stand-in (fake-graph.c): what
 * goes over the wire (bearer token, Content-Type, base64 of the MIME message
 * with the Bcc recipients kept), every error Graph documents, the one
 * refresh after a 401, Retry-After, the caps, the deadline, cancellation, a
 * refused certificate, and no token in any output. */

#define TOKEN   "HERALDGRAPHTOKEN-at-1-5d41402abc4b2a76b9719d911017c592"
#define TOKEN_2 "HERALDGRAPHTOKEN-at-2-7d793037a0760186574b0282f2f435e7"

#define MESSAGE \
  "From: Alerts <alerts@contoso.com>\r\n" \
  "To: ops@contoso.com\r\n" \
  "Cc: Backup Team <backup@contoso.com>\r\n" \
  "Subject: Disk full on srv1\r\n" \
  "Message-ID: <1.2.3@srv1.contoso.com>\r\n" \
  "MIME-Version: 1.0\r\n" \
  "Content-Type: text/plain; charset=utf-8\r\n" \
  "\r\n" \
  "The disk /var on srv1 is 98% full.\r\n"

static char *cert_dir;

static GBytes *
message_bytes (void)
{
  return g_bytes_new_static (MESSAGE, strlen (MESSAGE));
}

static HeraldGraphConfig *
config_for (FakeGraph  *graph,
            const char *token)
{
  HeraldGraphConfig *config = herald_graph_config_new ();

  config->endpoint = g_strdup (fake_graph_get_endpoint (graph));
  config->mode = HERALD_GRAPH_DELEGATED;
  config->from = g_strdup ("alerts@contoso.com");
  config->access_token = g_strdup (token);
  config->timeout = 10;

  return config;
}

static const char * const default_recipients[] = { "ops@contoso.com", "backup@contoso.com", NULL };

/* Fails when any token appears in the result's transcript, reply or error. */
static void
assert_no_token (const HeraldSmtpResult *result)
{
  const char *tokens[] = { TOKEN, TOKEN_2, "HERALDGRAPHTOKEN" };

  for (guint t = 0; t < G_N_ELEMENTS (tokens); t++)
    {
      for (guint i = 0; i < result->transcript->len; i++)
        {
          const HeraldTranscriptEntry *entry = g_ptr_array_index (result->transcript, i);

          g_assert_null (strstr (entry->text, tokens[t]));
        }
      if (result->reply != NULL)
        {
          g_assert_null (strstr (result->reply->text, tokens[t]));
          g_assert_null (strstr (result->reply->raw, tokens[t]));
        }
      if (result->error != NULL)
        g_assert_null (strstr (result->error->message, tokens[t]));
    }
}

static gboolean
transcript_has (const HeraldSmtpResult *result,
                HeraldTranscriptDir     dir,
                const char             *text)
{
  for (guint i = 0; i < result->transcript->len; i++)
    {
      const HeraldTranscriptEntry *entry = g_ptr_array_index (result->transcript, i);

      if (entry->dir == dir && strstr (entry->text, text) != NULL)
        return TRUE;
    }

  return FALSE;
}

static HeraldSmtpResult *
send_message (const HeraldGraphConfig *config,
              const char * const      *recipients,
              HeraldGraphRefreshFunc   refresh,
              gpointer                 refresh_data,
              GCancellable            *cancellable,
              gint64                  *retry_after)
{
  g_autoptr(GBytes) message = message_bytes ();
  HeraldSmtpResult *result = herald_graph_send (config, message, recipients, refresh, refresh_data,
                                                cancellable, NULL, NULL, retry_after);

  assert_no_token (result);
  return result;
}

/* ---- the graph-endpoint setting ---------------------------------------------- */

static void
test_endpoint (void)
{
  struct {
    const char *in;
    const char *out;   /* NULL: refused */
  } cases[] = {
    { NULL, "https://graph.microsoft.com" },
    { "", "https://graph.microsoft.com" },
    { "https://graph.microsoft.com", "https://graph.microsoft.com" },
    { "https://GRAPH.Microsoft.com/", "https://graph.microsoft.com" },
    { "https://graph.microsoft.com:443", "https://graph.microsoft.com" },
    { "https://graph.microsoft.us", "https://graph.microsoft.us" },
    { "https://dod-graph.microsoft.us/", "https://dod-graph.microsoft.us" },
    { "https://microsoftgraph.chinacloudapi.cn", "https://microsoftgraph.chinacloudapi.cn" },
    { "http://127.0.0.1:8080", "http://127.0.0.1:8080" },
    { "http://localhost:8080/", "http://localhost:8080" },
    { "http://[::1]:8080", "http://[::1]:8080" },
    { "https://127.0.0.1:8443", "https://127.0.0.1:8443" },
    { "http://graph.microsoft.com", NULL },          /* no plain http off this computer */
    { "https://graph.example.com", NULL },           /* would receive the token */
    { "https://graph.microsoft.com.evil.example", NULL },
    { "https://graph.microsoft.com/v1.0", NULL },    /* a path */
    { "https://graph.microsoft.com/?x=1", NULL },
    { "https://user@graph.microsoft.com", NULL },
    { "https://graph.microsoft.com:8443", NULL },
    { "https://graph.microsoft .com", NULL },
    { "graph.microsoft.com", NULL },
    { "ftp://graph.microsoft.com", NULL },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr(GError) error = NULL;
      g_autofree char *out = herald_graph_endpoint_normalise (cases[i].in, &error);

      g_test_message ("endpoint “%s”", cases[i].in ? cases[i].in : "(null)");
      g_assert_cmpstr (out, ==, cases[i].out);
      if (cases[i].out == NULL)
        g_assert_error (error, HERALD_GRAPH_ERROR, HERALD_GRAPH_ERROR_INVALID_ENDPOINT);
      else
        g_assert_no_error (error);
    }
}

static void
test_scope (void)
{
  g_autofree char *global = herald_graph_scope_for_endpoint (NULL, FALSE);
  g_autofree char *global_app = herald_graph_scope_for_endpoint ("https://graph.microsoft.com", TRUE);
  g_autofree char *gcch = herald_graph_scope_for_endpoint ("https://graph.microsoft.us/", FALSE);
  g_autofree char *china = herald_graph_scope_for_endpoint ("https://microsoftgraph.chinacloudapi.cn", TRUE);
  g_autofree char *loopback = herald_graph_scope_for_endpoint ("http://127.0.0.1:9", FALSE);
  g_autofree char *bad = herald_graph_scope_for_endpoint ("https://evil.example", FALSE);

  g_assert_cmpstr (global, ==, "https://graph.microsoft.com/Mail.Send offline_access");
  g_assert_cmpstr (global_app, ==, "https://graph.microsoft.com/.default");
  g_assert_cmpstr (gcch, ==, "https://graph.microsoft.us/Mail.Send offline_access");
  g_assert_cmpstr (china, ==, "https://microsoftgraph.chinacloudapi.cn/.default");
  g_assert_cmpstr (loopback, ==, "https://graph.microsoft.com/Mail.Send offline_access");
  g_assert_null (bad);
}

/* ---- Graph's error JSON ------------------------------------------------------ */

static HeraldGraphError *
parse (const char *json)
{
  return herald_graph_error_parse ((const guint8 *) json, strlen (json));
}

static void
test_error_parse (void)
{
  g_autoptr(HeraldGraphError) denied = parse (FAKE_GRAPH_ACCESS_DENIED);
  g_autoptr(HeraldGraphError) nested = NULL;
  g_autoptr(HeraldGraphError) lower = NULL;
  g_autoptr(HeraldGraphError) only_code = NULL;

  g_assert_nonnull (denied);
  g_assert_cmpstr (denied->code, ==, "ErrorAccessDenied");
  g_assert_cmpstr (denied->message, ==, "Access is denied. Check credentials and try again.");
  g_assert_cmpstr (denied->request_id, ==, "5f0d3b1e-0000-4000-8000-000000000001");
  g_assert_cmpstr (denied->date, ==, "2026-12-07T09:41:12");
  g_assert_null (denied->inner_code);

  /* The deepest innerError code is the most specific. */
  nested = parse ("{\"error\":{\"code\":\"activityLimitReached\",\"message\":\"The request has been "
                  "throttled\",\"innerError\":{\"code\":\"throttledRequest\",\"request-id\":\"r1\","
                  "\"innerError\":{\"code\":\"quota\"}}}}");
  g_assert_nonnull (nested);
  g_assert_cmpstr (nested->code, ==, "activityLimitReached");
  g_assert_cmpstr (nested->inner_code, ==, "quota");
  g_assert_cmpstr (nested->request_id, ==, "r1");

  /* The documentation spells it "innererror". */
  lower = parse ("{\"error\":{\"code\":\"x\",\"message\":\"y\",\"innererror\":{\"code\":\"z\"}}}");
  g_assert_cmpstr (lower->inner_code, ==, "z");

  only_code = parse ("{\"error\":{\"code\":\"ErrorInvalidUser\"}}");
  g_assert_cmpstr (only_code->code, ==, "ErrorInvalidUser");
  g_assert_null (only_code->message);

  /* Not a Graph error. */
  g_assert_null (parse (""));
  g_assert_null (parse ("<html><body>413 Request Entity Too Large</body></html>"));
  g_assert_null (parse ("{\"error\":\"invalid_grant\"}"));
  g_assert_null (parse ("{\"error\":{}}"));
  g_assert_null (parse ("{\"error\":{\"code\":42}}"));
  g_assert_null (parse ("[1,2,3]"));
  g_assert_null (parse ("{\"error\":{\"code\":\"x\""));
  g_assert_null (herald_graph_error_parse ((const guint8 *) "{\"error\":{\"code\":\"x\0y\"}}", 24));
  g_assert_null (herald_graph_error_parse ((const guint8 *) "{\"error\":{\"code\":\"\xff\"}}", 22));
  g_assert_null (herald_graph_error_parse (NULL, 0));
}

static void
test_error_parse_hostile (void)
{
  g_autoptr(GString) deep = g_string_new ("{\"error\":{\"code\":\"x\",\"innerError\":");
  g_autoptr(GString) long_message = g_string_new ("{\"error\":{\"code\":\"x\",\"message\":\"");
  g_autoptr(HeraldGraphError) parsed = NULL;
  g_autofree char *brackets = g_strnfill (60000, '[');

  /* Nesting that would take json-glib's stack is refused unparsed. */
  g_assert_null (parse (brackets));
  for (guint i = 0; i < 40; i++)
    g_string_append (deep, "{\"code\":\"y\",\"innerError\":");
  g_string_append (deep, "null");
  for (guint i = 0; i < 40; i++)
    g_string_append (deep, "}");
  g_string_append (deep, "}}");
  g_assert_null (parse (deep->str));

  /* Brackets inside strings do not count. */
  parsed = parse ("{\"error\":{\"code\":\"x\",\"message\":\"[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[\"}}");
  g_assert_nonnull (parsed);
  g_clear_pointer (&parsed, herald_graph_error_free);

  /* Strings are capped at a character boundary. */
  for (guint i = 0; i < 3000; i++)
    g_string_append (long_message, "é");
  g_string_append (long_message, "\"}}");
  parsed = parse (long_message->str);
  g_assert_nonnull (parsed);
  g_assert_cmpuint (strlen (parsed->message), <=, 1024);
  g_assert_true (g_utf8_validate (parsed->message, -1, NULL));
}

/* ---- the recipients Graph reads ---------------------------------------------- */

static char *
prepared_text (const char         *message,
               const char * const *recipients,
               GError            **error)
{
  g_autoptr(GBytes) in = g_bytes_new_static (message, strlen (message));
  g_autoptr(GBytes) out = herald_graph_prepare_message (in, recipients, error);
  gsize len;
  const char *data;

  if (out == NULL)
    return NULL;
  data = g_bytes_get_data (out, &len);
  return g_strndup (data, len);
}

static void
test_prepare_bcc (void)
{
  const char * const with_bcc[] = { "ops@contoso.com", "BACKUP@contoso.com", "audit@contoso.com",
                                    "soc@fabrikam.com", NULL };
  const char * const missing_cc[] = { "ops@contoso.com", NULL };
  const char * const bad[] = { "ops@contoso.com", "backup@contoso.com", "x@y.z\r\nBcc: evil@x.y", NULL };
  g_autoptr(GError) error = NULL;
  g_autofree char *same = prepared_text (MESSAGE, default_recipients, &error);
  g_autofree char *added = NULL;
  g_autofree char *lf = NULL;
  g_autofree char *refused = NULL;

  /* Every recipient is in To or Cc: the bytes are unchanged. */
  g_assert_no_error (error);
  g_assert_cmpstr (same, ==, MESSAGE);

  /* Envelope-only recipients go into a Bcc header (case-insensitive match
   * for the ones already named), in front of the untouched message. */
  added = prepared_text (MESSAGE, with_bcc, &error);
  g_assert_no_error (error);
  g_assert_true (g_str_has_prefix (added, "Bcc: audit@contoso.com,\r\n soc@fabrikam.com\r\n"));
  g_assert_true (g_str_has_suffix (added, MESSAGE));
  g_assert_cmpuint (strlen (added), ==, strlen (MESSAGE) + strlen ("Bcc: audit@contoso.com,\r\n soc@fabrikam.com\r\n"));

  /* A message with LF line ends gets an LF header. */
  lf = prepared_text ("From: a@b.c\nTo: d@e.f\n\nhi\n", with_bcc + 3, &error);
  g_assert_null (lf);
  g_assert_error (error, HERALD_GRAPH_ERROR, HERALD_GRAPH_ERROR_INVALID_MESSAGE);
  g_clear_error (&error);
  {
    const char * const two[] = { "d@e.f", "x@y.z", NULL };

    lf = prepared_text ("From: a@b.c\nTo: d@e.f\n\nhi\n", two, &error);
    g_assert_no_error (error);
    g_assert_cmpstr (lf, ==, "Bcc: x@y.z\nFrom: a@b.c\nTo: d@e.f\n\nhi\n");
  }

  /* Cc names backup@, who is not a recipient: Graph would still deliver to
   * it, so the message is refused. */
  refused = prepared_text (MESSAGE, missing_cc, &error);
  g_assert_null (refused);
  g_assert_error (error, HERALD_GRAPH_ERROR, HERALD_GRAPH_ERROR_INVALID_MESSAGE);
  g_assert_nonnull (strstr (error->message, "backup@contoso.com"));
  g_clear_error (&error);

  /* A recipient cannot smuggle a header in. */
  refused = prepared_text (MESSAGE, bad, &error);
  g_assert_null (refused);
  g_assert_error (error, HERALD_GRAPH_ERROR, HERALD_GRAPH_ERROR_INVALID_MESSAGE);
  g_clear_error (&error);

  /* No header block at all. */
  refused = prepared_text ("just text, no headers", default_recipients, &error);
  g_assert_null (refused);
  g_assert_error (error, HERALD_GRAPH_ERROR, HERALD_GRAPH_ERROR_INVALID_MESSAGE);
}

/* ---- sending ------------------------------------------------------------------- */

static void
progress_cb (const HeraldProgress *progress,
             gpointer              user_data)
{
  GString *log = user_data;

  g_string_append_printf (log, "%s:%d ", herald_stage_to_string (progress->stage), progress->state);
}

static void
test_send_delegated (void)
{
  g_autoptr(FakeGraph) graph = fake_graph_new (NULL);
  g_autoptr(HeraldGraphConfig) config = config_for (graph, TOKEN);
  const char * const recipients[] = { "ops@contoso.com", "backup@contoso.com", "audit@contoso.com", NULL };
  g_autoptr(GBytes) message = message_bytes ();
  g_autoptr(GString) log = g_string_new (NULL);
  g_autoptr(HeraldSmtpResult) result = NULL;
  g_autoptr(FakeGraphRequest) request = NULL;
  g_autofree char *mime = NULL;
  gint64 retry_after = 0;

  fake_graph_set_token (graph, TOKEN);
  result = herald_graph_send (config, message, recipients, NULL, NULL, NULL, progress_cb, log,
                              &retry_after);
  assert_no_token (result);

  g_assert_no_error (result->error);
  g_assert_true (result->ok);
  g_assert_cmpint (result->stage, ==, HERALD_STAGE_DONE);
  g_assert_cmpint (result->reply->code, ==, 202);
  g_assert_cmpint (retry_after, ==, -1);
  g_assert_nonnull (result->remote_address);
  g_assert_true (g_str_has_prefix (result->remote_address, "127.0.0.1:"));
  g_assert_false (herald_graph_result_is_temporary (result));

  g_assert_cmpuint (fake_graph_get_n_requests (graph), ==, 1);
  request = fake_graph_get_request (graph, 0);
  g_assert_cmpstr (request->method, ==, "POST");
  g_assert_cmpstr (request->path, ==, "/v1.0/me/sendMail");
  g_assert_cmpstr (request->authorization, ==, "Bearer " TOKEN);
  g_assert_true (g_str_has_prefix (request->content_type, "text/plain"));
  g_assert_nonnull (request->client_request_id);
  /* The body is the base64 of the whole MIME message, with the Bcc
   * recipient kept for delivery and To/Cc untouched. */
  g_assert_nonnull (request->mime);
  mime = g_strndup (g_bytes_get_data (request->mime, NULL), g_bytes_get_size (request->mime));
  g_assert_cmpstr (mime, ==, "Bcc: audit@contoso.com\r\n" MESSAGE);

  /* The transcript reads like the engine's, without the token. */
  g_assert_true (transcript_has (result, HERALD_TRANSCRIPT_CLIENT, "POST /v1.0/me/sendMail HTTP/1.1"));
  g_assert_true (transcript_has (result, HERALD_TRANSCRIPT_CLIENT, "Authorization: Bearer <redacted>"));
  g_assert_true (transcript_has (result, HERALD_TRANSCRIPT_SERVER, "HTTP/1.1 202 Accepted"));
  g_assert_true (transcript_has (result, HERALD_TRANSCRIPT_INFO,
                                 "Microsoft accepted the message for delivery."));
  g_assert_false (transcript_has (result, HERALD_TRANSCRIPT_CLIENT, "The disk /var"));

  /* Progress: connect, log-in (the token accepted), send, in that order. */
  g_assert_nonnull (strstr (log->str, "connect:0 connect:1"));
  g_assert_nonnull (strstr (log->str, "auth:0 auth:1 data:0 data:1"));
  g_assert_cmpint (result->stage_ms[HERALD_STAGE_DATA], >=, 0);
}

static void
test_send_app_only (void)
{
  g_autoptr(FakeGraph) graph = fake_graph_new (NULL);
  g_autoptr(HeraldGraphConfig) config = config_for (graph, TOKEN);
  g_autoptr(HeraldSmtpResult) result = NULL;
  g_autoptr(HeraldSmtpResult) bad = NULL;
  g_autoptr(FakeGraphRequest) request = NULL;

  fake_graph_set_token (graph, TOKEN);
  config->mode = HERALD_GRAPH_APP_ONLY;
  result = send_message (config, default_recipients, NULL, NULL, NULL, NULL);
  g_assert_no_error (result->error);
  g_assert_true (result->ok);
  request = fake_graph_get_request (graph, 0);
  g_assert_cmpstr (request->path, ==, "/v1.0/users/alerts@contoso.com/sendMail");
  g_assert_true (transcript_has (result, HERALD_TRANSCRIPT_INFO, "(app-only)"));

  /* App-only needs the mailbox; no request without it. */
  g_free (config->from);
  config->from = g_strdup ("not an address");
  bad = send_message (config, default_recipients, NULL, NULL, NULL, NULL);
  g_assert_false (bad->ok);
  g_assert_error (bad->error, HERALD_SMTP_ERROR, HERALD_SMTP_ERROR_INVALID_CONFIG);
  g_assert_cmpuint (fake_graph_get_n_requests (graph), ==, 1);
}

typedef struct {
  guint        status;
  const char  *body;
  const char  *text;        /* reply->text */
  HeraldStage  stage;
  gboolean     temporary;
  const char  *rule;        /* the diagnosis of the result */
} ErrorCase;

static void
test_send_errors (void)
{
  const ErrorCase cases[] = {
    { 403, FAKE_GRAPH_ACCESS_DENIED, "ErrorAccessDenied: Access is denied. Check credentials and try again.",
      HERALD_STAGE_DATA, FALSE, "graph-access-denied" },
    { 404, FAKE_GRAPH_MAILBOX_NOT_ENABLED,
      "MailboxNotEnabledForRESTAPI: The mailbox is either inactive, soft-deleted, or is hosted on-premise.",
      HERALD_STAGE_DATA, FALSE, "graph-mailbox-not-enabled" },
    { 404, FAKE_GRAPH_INVALID_USER, "ErrorInvalidUser: The requested user 'alerts@contoso.com' is invalid.",
      HERALD_STAGE_DATA, FALSE, "graph-invalid-user" },
    { 400, FAKE_GRAPH_INVALID_RECIPIENTS, "ErrorInvalidRecipients: At least one recipient is not valid.",
      HERALD_STAGE_RCPT, FALSE, "graph-invalid-recipients" },
    { 400, FAKE_GRAPH_INVALID_BASE64,
      "ErrorMimeContentInvalidBase64String: Invalid base64 string for MIME content.",
      HERALD_STAGE_DATA, FALSE, "graph-mime-invalid" },
    { 401, FAKE_GRAPH_INVALID_TOKEN,
      "InvalidAuthenticationToken: Access token has expired or is not yet valid.",
      HERALD_STAGE_AUTH, FALSE, "graph-token-invalid" },
    { 413, NULL, "Request Entity Too Large", HERALD_STAGE_DATA, FALSE, "graph-too-large" },
    { 429, FAKE_GRAPH_THROTTLED, "ApplicationThrottled: Application is over its MailboxConcurrency limit.",
      HERALD_STAGE_DATA, TRUE, "graph-throttled" },
    { 503, FAKE_GRAPH_UNAVAILABLE, "ServiceNotAvailable: The service is temporarily unavailable.",
      HERALD_STAGE_DATA, TRUE, "graph-unavailable" },
    { 500, "not json at all", "Internal Server Error", HERALD_STAGE_DATA, TRUE, "graph-unavailable" },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr(FakeGraph) graph = fake_graph_new (NULL);
      g_autoptr(HeraldGraphConfig) config = config_for (graph, TOKEN);
      g_autoptr(HeraldSmtpResult) result = NULL;
      g_autofree char *raw = NULL;
      gint64 retry_after = 0;

      g_test_message ("HTTP %u %s", cases[i].status, cases[i].text);
      fake_graph_set_token (graph, TOKEN);
      fake_graph_push_reply (graph, cases[i].status, NULL, cases[i].body);
      result = send_message (config, default_recipients, NULL, NULL, NULL, &retry_after);

      g_assert_false (result->ok);
      g_assert_error (result->error, HERALD_SMTP_ERROR, HERALD_SMTP_ERROR_REJECTED);
      g_assert_nonnull (result->reply);
      g_assert_cmpint (result->reply->code, ==, cases[i].status);
      g_assert_true (g_str_has_prefix (result->reply->text, cases[i].text));
      raw = g_strdup_printf ("%u %s", cases[i].status, result->reply->text);
      g_assert_cmpstr (result->reply->raw, ==, raw);
      g_assert_cmpint (result->stage, ==, cases[i].stage);
      g_assert_cmpint (herald_graph_result_is_temporary (result), ==, cases[i].temporary);
      /* No Retry-After: nothing to wait for, the queue decides. */
      g_assert_cmpint (retry_after, ==, -1);
      /* No refresh function: a 401 is not retried. */
      g_assert_cmpuint (fake_graph_get_n_requests (graph), ==, 1);
      if (cases[i].body != NULL && cases[i].body[0] == '{')
        g_assert_true (transcript_has (result, HERALD_TRANSCRIPT_SERVER, cases[i].body));

      /* The result, as it is, gets the Graph diagnosis. */
      {
        g_autoptr(HeraldDiagnosis) d = herald_diagnose (result, NULL);

        g_assert_nonnull (d);
        g_assert_cmpstr (d->id, ==, cases[i].rule);
      }
    }
}

static void
test_send_too_large (void)
{
  g_autoptr(FakeGraph) graph = fake_graph_new (NULL);
  g_autoptr(HeraldGraphConfig) config = config_for (graph, TOKEN);
  g_autoptr(HeraldSmtpResult) result = NULL;
  g_autofree char *size = g_strdup_printf ("%zu bytes", strlen (MESSAGE));
  g_autofree char *b64 = g_base64_encode ((const guchar *) MESSAGE, strlen (MESSAGE));
  g_autofree char *b64_size = g_strdup_printf ("%zu bytes as sent", strlen (b64));

  fake_graph_set_token (graph, TOKEN);
  fake_graph_push_reply (graph, 413, NULL, NULL);
  result = send_message (config, default_recipients, NULL, NULL, NULL, NULL);
  g_assert_false (result->ok);
  g_assert_nonnull (strstr (result->error->message, "too large"));
  g_assert_nonnull (strstr (result->error->message, size));
  g_assert_nonnull (strstr (result->error->message, b64_size));
}

typedef struct {
  guint       calls;
  const char *token;     /* NULL: fail */
} Refresh;

static char *
refresh_cb (gpointer       user_data,
            GCancellable  *cancellable,
            GError       **error)
{
  Refresh *refresh = user_data;

  refresh->calls++;
  if (refresh->token == NULL)
    {
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_FAILED,
                           "Sign in again. (invalid_grant: AADSTS700082: The refresh token has expired)");
      return NULL;
    }

  return g_strdup (refresh->token);
}

static void
test_send_refresh (void)
{
  g_autoptr(FakeGraph) graph = fake_graph_new (NULL);
  g_autoptr(HeraldGraphConfig) config = config_for (graph, TOKEN);
  g_autoptr(HeraldSmtpResult) result = NULL;
  g_autoptr(FakeGraphRequest) first = NULL;
  g_autoptr(FakeGraphRequest) second = NULL;
  Refresh refresh = { 0, TOKEN_2 };

  /* The stand-in accepts only the fresh token. */
  fake_graph_set_token (graph, TOKEN_2);
  result = send_message (config, default_recipients, refresh_cb, &refresh, NULL, NULL);
  g_assert_no_error (result->error);
  g_assert_true (result->ok);
  g_assert_cmpuint (refresh.calls, ==, 1);
  g_assert_cmpuint (fake_graph_get_n_requests (graph), ==, 2);
  first = fake_graph_get_request (graph, 0);
  second = fake_graph_get_request (graph, 1);
  g_assert_cmpstr (first->authorization, ==, "Bearer " TOKEN);
  g_assert_cmpstr (second->authorization, ==, "Bearer " TOKEN_2);
  g_assert_true (transcript_has (result, HERALD_TRANSCRIPT_SERVER, "HTTP/1.1 401"));
  g_assert_true (transcript_has (result, HERALD_TRANSCRIPT_SERVER, "HTTP/1.1 202"));
}

static void
test_send_refresh_once (void)
{
  g_autoptr(FakeGraph) graph = fake_graph_new (NULL);
  g_autoptr(HeraldGraphConfig) config = config_for (graph, TOKEN);
  g_autoptr(HeraldSmtpResult) result = NULL;
  g_autoptr(HeraldSmtpResult) failed = NULL;
  Refresh refresh = { 0, TOKEN_2 };
  Refresh broken = { 0, NULL };

  /* The fresh token is refused too: one refresh, one retry, then stop. */
  fake_graph_set_token (graph, "some-other-token-entirely");
  result = send_message (config, default_recipients, refresh_cb, &refresh, NULL, NULL);
  g_assert_false (result->ok);
  g_assert_cmpint (result->stage, ==, HERALD_STAGE_AUTH);
  g_assert_cmpint (result->reply->code, ==, 401);
  g_assert_true (g_str_has_prefix (result->reply->text, "InvalidAuthenticationToken"));
  g_assert_cmpuint (refresh.calls, ==, 1);
  g_assert_cmpuint (fake_graph_get_n_requests (graph), ==, 2);

  /* The refresh itself fails: its error is the result's, no retry. */
  failed = send_message (config, default_recipients, refresh_cb, &broken, NULL, NULL);
  g_assert_false (failed->ok);
  g_assert_cmpint (failed->stage, ==, HERALD_STAGE_AUTH);
  g_assert_error (failed->error, G_IO_ERROR, G_IO_ERROR_FAILED);
  g_assert_nonnull (strstr (failed->error->message, "AADSTS700082"));
  g_assert_cmpuint (broken.calls, ==, 1);
  g_assert_cmpuint (fake_graph_get_n_requests (graph), ==, 3);
}

static void
test_send_retry_after_wait (void)
{
  const guint statuses[] = { 429, 503 };

  for (guint i = 0; i < G_N_ELEMENTS (statuses); i++)
    {
      g_autoptr(FakeGraph) graph = fake_graph_new (NULL);
      g_autoptr(HeraldGraphConfig) config = config_for (graph, TOKEN);
      g_autoptr(HeraldSmtpResult) result = NULL;
      g_autoptr(FakeGraphRequest) first = NULL;
      g_autoptr(FakeGraphRequest) second = NULL;
      gint64 retry_after = 0;

      fake_graph_set_token (graph, TOKEN);
      fake_graph_push_reply (graph, statuses[i], "1",
                             statuses[i] == 429 ? FAKE_GRAPH_THROTTLED : FAKE_GRAPH_UNAVAILABLE);
      result = send_message (config, default_recipients, NULL, NULL, NULL, &retry_after);
      g_assert_no_error (result->error);
      g_assert_true (result->ok);
      g_assert_cmpint (retry_after, ==, -1);
      g_assert_cmpuint (fake_graph_get_n_requests (graph), ==, 2);
      first = fake_graph_get_request (graph, 0);
      second = fake_graph_get_request (graph, 1);
      /* It waited the second Graph asked for. */
      g_assert_cmpint (second->time_us - first->time_us, >=, 950 * 1000);
      g_assert_true (transcript_has (result, HERALD_TRANSCRIPT_SERVER, "Retry-After: 1"));
    }
}

static void
test_send_retry_after_too_long (void)
{
  g_autoptr(FakeGraph) graph = fake_graph_new (NULL);
  g_autoptr(HeraldGraphConfig) config = config_for (graph, TOKEN);
  g_autoptr(HeraldSmtpResult) result = NULL;
  g_autoptr(HeraldSmtpResult) dated = NULL;
  g_autoptr(GDateTime) later = NULL;
  g_autofree char *http_date = NULL;
  gint64 retry_after = 0;
  gint64 start;

  /* Two minutes do not fit in a 5 s timeout: report it at once, temporary,
   * with the time for the queue's next attempt. */
  config->timeout = 5;
  fake_graph_set_token (graph, TOKEN);
  fake_graph_push_reply (graph, 429, "120", FAKE_GRAPH_THROTTLED);
  start = g_get_monotonic_time ();
  result = send_message (config, default_recipients, NULL, NULL, NULL, &retry_after);
  g_assert_cmpint (g_get_monotonic_time () - start, <, 2 * G_USEC_PER_SEC);
  g_assert_false (result->ok);
  g_assert_cmpint (result->reply->code, ==, 429);
  g_assert_cmpint (retry_after, ==, 120);
  g_assert_true (herald_graph_result_is_temporary (result));
  g_assert_nonnull (strstr (result->error->message, "retry after 120 seconds"));
  g_assert_cmpuint (fake_graph_get_n_requests (graph), ==, 1);

  /* An HTTP date works too. */
  later = g_date_time_add_seconds (g_date_time_new_now_utc (), 600);
  http_date = g_date_time_format (later, "%a, %d %b %Y %H:%M:%S GMT");
  fake_graph_push_reply (graph, 503, http_date, FAKE_GRAPH_UNAVAILABLE);
  dated = send_message (config, default_recipients, NULL, NULL, NULL, &retry_after);
  g_assert_false (dated->ok);
  g_assert_cmpint (retry_after, >=, 598);
  g_assert_cmpint (retry_after, <=, 600);
}

static void
test_retry_after_parse (void)
{
  g_assert_cmpint (_herald_graph_parse_retry_after (NULL), ==, -1);
  g_assert_cmpint (_herald_graph_parse_retry_after ("0"), ==, 0);
  g_assert_cmpint (_herald_graph_parse_retry_after (" 30 "), ==, 30);
  g_assert_cmpint (_herald_graph_parse_retry_after ("30s"), ==, -1);
  g_assert_cmpint (_herald_graph_parse_retry_after ("-5"), ==, -1);
  g_assert_cmpint (_herald_graph_parse_retry_after ("99999999999999999999"), ==, 24 * 3600);
  g_assert_cmpint (_herald_graph_parse_retry_after ("Wed, 21 Oct 2015 07:28:00 GMT"), ==, 0);
  g_assert_cmpint (_herald_graph_parse_retry_after ("soon"), ==, -1);
}

static void
test_send_oversized_reply (void)
{
  g_autoptr(FakeGraph) graph = fake_graph_new (NULL);
  g_autoptr(HeraldGraphConfig) config = config_for (graph, TOKEN);
  g_autoptr(HeraldSmtpResult) result = NULL;
  g_autoptr(GString) huge = g_string_new ("{\"error\":{\"code\":\"ErrorAccessDenied\",\"message\":\"");

  /* 4 MB of message: read up to the cap only, shown shortened, no crash. */
  for (guint i = 0; i < 4 * 1024 * 1024 / 8; i++)
    g_string_append (huge, "AAAAAAAA");
  g_string_append (huge, "\"}}");
  fake_graph_set_token (graph, TOKEN);
  fake_graph_push_reply (graph, 403, NULL, huge->str);
  result = send_message (config, default_recipients, NULL, NULL, NULL, NULL);
  g_assert_false (result->ok);
  g_assert_cmpint (result->reply->code, ==, 403);
  g_assert_cmpstr (result->reply->text, ==, "Forbidden");
  for (guint i = 0; i < result->transcript->len; i++)
    {
      const HeraldTranscriptEntry *entry = g_ptr_array_index (result->transcript, i);

      g_assert_cmpuint (strlen (entry->text), <, 8192);
    }
}

static void
test_send_not_202 (void)
{
  g_autoptr(FakeGraph) graph = fake_graph_new (NULL);
  g_autoptr(HeraldGraphConfig) config = config_for (graph, TOKEN);
  g_autoptr(HeraldSmtpResult) ok200 = NULL;
  g_autoptr(HeraldSmtpResult) redirect = NULL;

  fake_graph_set_token (graph, TOKEN);
  /* Only 202 is acceptance. */
  fake_graph_push_reply (graph, 200, NULL, NULL);
  ok200 = send_message (config, default_recipients, NULL, NULL, NULL, NULL);
  g_assert_false (ok200->ok);
  g_assert_error (ok200->error, HERALD_SMTP_ERROR, HERALD_SMTP_ERROR_PROTOCOL);

  /* A redirection is not followed with the token. */
  fake_graph_push_reply (graph, 302, NULL, NULL);
  redirect = send_message (config, default_recipients, NULL, NULL, NULL, NULL);
  g_assert_false (redirect->ok);
  g_assert_error (redirect->error, HERALD_SMTP_ERROR, HERALD_SMTP_ERROR_PROTOCOL);
  g_assert_cmpuint (fake_graph_get_n_requests (graph), ==, 2);
}

static void
test_send_timeout (void)
{
  g_autoptr(FakeGraph) graph = fake_graph_new (NULL);
  g_autoptr(HeraldGraphConfig) config = config_for (graph, TOKEN);
  g_autoptr(HeraldSmtpResult) result = NULL;
  gint64 start;

  fake_graph_set_token (graph, TOKEN);
  fake_graph_set_delay_ms (graph, 4000);
  config->timeout = 1;
  start = g_get_monotonic_time ();
  result = send_message (config, default_recipients, NULL, NULL, NULL, NULL);
  g_assert_cmpint (g_get_monotonic_time () - start, <, 3 * G_USEC_PER_SEC);
  g_assert_false (result->ok);
  g_assert_error (result->error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT);
  g_assert_true (herald_graph_result_is_temporary (result));
}

static gboolean
cancel_cb (gpointer user_data)
{
  g_cancellable_cancel (user_data);
  return G_SOURCE_REMOVE;
}

static gpointer
cancel_thread (gpointer user_data)
{
  g_usleep (300 * 1000);
  cancel_cb (user_data);
  return NULL;
}

static void
test_send_cancel (void)
{
  g_autoptr(FakeGraph) graph = fake_graph_new (NULL);
  g_autoptr(HeraldGraphConfig) config = config_for (graph, TOKEN);
  g_autoptr(HeraldSmtpResult) result = NULL;
  g_autoptr(HeraldSmtpResult) waiting = NULL;
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  g_autoptr(GCancellable) cancellable_2 = g_cancellable_new ();
  GThread *thread;
  gint64 start;

  /* While the request is out. */
  fake_graph_set_token (graph, TOKEN);
  fake_graph_set_delay_ms (graph, 5000);
  thread = g_thread_new ("cancel", cancel_thread, cancellable);
  start = g_get_monotonic_time ();
  result = send_message (config, default_recipients, NULL, NULL, cancellable, NULL);
  g_thread_join (thread);
  g_assert_cmpint (g_get_monotonic_time () - start, <, 2 * G_USEC_PER_SEC);
  g_assert_error (result->error, G_IO_ERROR, G_IO_ERROR_CANCELLED);

  /* While waiting for Retry-After. */
  fake_graph_set_delay_ms (graph, 0);
  fake_graph_push_reply (graph, 429, "8", FAKE_GRAPH_THROTTLED);
  config->timeout = 20;
  thread = g_thread_new ("cancel", cancel_thread, cancellable_2);
  start = g_get_monotonic_time ();
  waiting = send_message (config, default_recipients, NULL, NULL, cancellable_2, NULL);
  g_thread_join (thread);
  g_assert_cmpint (g_get_monotonic_time () - start, <, 2 * G_USEC_PER_SEC);
  g_assert_error (waiting->error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
}

static void
test_send_untrusted_certificate (void)
{
  g_autofree char *cert = g_build_filename (cert_dir, "untrusted.pem", NULL);
  g_autofree char *key = g_build_filename (cert_dir, "untrusted-key.pem", NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(GTlsCertificate) certificate = g_tls_certificate_new_from_files (cert, key, &error);
  g_autoptr(FakeGraph) graph = NULL;
  g_autoptr(HeraldGraphConfig) config = NULL;
  g_autoptr(HeraldSmtpResult) result = NULL;

  g_assert_no_error (error);
  graph = fake_graph_new (certificate);
  g_assert_true (g_str_has_prefix (fake_graph_get_endpoint (graph), "https://127.0.0.1:"));
  config = config_for (graph, TOKEN);
  fake_graph_set_token (graph, TOKEN);

  result = send_message (config, default_recipients, NULL, NULL, NULL, NULL);
  g_assert_false (result->ok);
  g_assert_cmpint (result->stage, ==, HERALD_STAGE_TLS);
  g_assert_error (result->error, HERALD_SMTP_ERROR, HERALD_SMTP_ERROR_TLS_CERTIFICATE);
  g_assert_nonnull (result->tls);
  g_assert_true (result->tls->flags & G_TLS_CERTIFICATE_UNKNOWN_CA);
  g_assert_nonnull (result->tls->sha256);
  g_assert_false (herald_graph_result_is_temporary (result));
  /* The token never left: the stand-in saw no request. */
  g_assert_cmpuint (fake_graph_get_n_requests (graph), ==, 0);
}

static void
test_send_invalid_config (void)
{
  g_autoptr(FakeGraph) graph = fake_graph_new (NULL);
  g_autoptr(HeraldGraphConfig) config = config_for (graph, TOKEN);
  g_autoptr(HeraldSmtpResult) bad_endpoint = NULL;
  g_autoptr(HeraldSmtpResult) no_token = NULL;
  g_autoptr(HeraldSmtpResult) cc_not_listed = NULL;
  const char * const only_ops[] = { "ops@contoso.com", NULL };

  g_free (config->endpoint);
  config->endpoint = g_strdup ("http://graph.microsoft.com");
  bad_endpoint = send_message (config, default_recipients, NULL, NULL, NULL, NULL);
  g_assert_error (bad_endpoint->error, HERALD_SMTP_ERROR, HERALD_SMTP_ERROR_INVALID_CONFIG);

  g_free (config->endpoint);
  config->endpoint = g_strdup (fake_graph_get_endpoint (graph));
  g_clear_pointer (&config->access_token, g_free);
  no_token = send_message (config, default_recipients, NULL, NULL, NULL, NULL);
  g_assert_error (no_token->error, HERALD_SMTP_ERROR, HERALD_SMTP_ERROR_INVALID_CONFIG);
  g_assert_cmpint (no_token->stage, ==, HERALD_STAGE_AUTH);

  config->access_token = g_strdup (TOKEN);
  cc_not_listed = send_message (config, only_ops, NULL, NULL, NULL, NULL);
  g_assert_error (cc_not_listed->error, HERALD_SMTP_ERROR, HERALD_SMTP_ERROR_INVALID_CONFIG);

  g_assert_cmpuint (fake_graph_get_n_requests (graph), ==, 0);
}

/* A token echoed back by the server is scrubbed from the transcript and
 * reply, whatever its length: a short one is still a secret. */
static void
test_send_echoed_token (void)
{
  const char *tokens[] = { TOKEN, "q7" };

  for (guint t = 0; t < G_N_ELEMENTS (tokens); t++)
    {
      g_autoptr(FakeGraph) graph = fake_graph_new (NULL);
      g_autoptr(HeraldGraphConfig) config = config_for (graph, tokens[t]);
      g_autoptr(HeraldSmtpResult) result = NULL;
      g_autofree char *body = g_strdup_printf ("{\"error\":{\"code\":\"BadRequest\",\"message\":"
                                               "\"Token %s is odd\"}}", tokens[t]);

      fake_graph_set_token (graph, tokens[t]);
      fake_graph_push_reply (graph, 400, NULL, body);
      result = send_message (config, default_recipients, NULL, NULL, NULL, NULL);
      g_assert_false (result->ok);
      g_assert_cmpstr (result->reply->text, ==, "BadRequest: Token <redacted> is odd");
      for (guint i = 0; i < result->transcript->len; i++)
        {
          HeraldTranscriptEntry *entry = g_ptr_array_index (result->transcript, i);

          g_assert_null (strstr (entry->text, tokens[t]));
        }
    }
}

static gboolean
is_unprintable (gunichar c)
{
  return c < 0x20 || (c >= 0x7f && c <= 0x9f) || (c >= 0x2028 && c <= 0x202e) ||
         (c >= 0x2066 && c <= 0x2069);
}

/* What Graph's error says reaches the reply, the transcript, heraldctl and
 * JSON through the printable filter every server's text goes through. */
static void
test_send_hostile_error_text (void)
{
  g_autoptr(FakeGraph) graph = fake_graph_new (NULL);
  g_autoptr(HeraldGraphConfig) config = config_for (graph, TOKEN);
  g_autoptr(HeraldSmtpResult) result = NULL;

  fake_graph_set_token (graph, TOKEN);
  fake_graph_push_reply (graph, 400, NULL,
                         "{\"error\":{\"code\":\"Bad\\u001b]0;x\\u0007Request\",\"message\":"
                         "\"see \\u001b[2J \\u009b31m \\u202eexe.txt \\u2028 end\"}}");
  result = send_message (config, default_recipients, NULL, NULL, NULL, NULL);
  g_assert_false (result->ok);
  g_assert_cmpstr (result->reply->text, ==, "Bad?]0;x?Request: see ?[2J ?31m ?exe.txt ? end");
  for (guint i = 0; i < result->transcript->len; i++)
    {
      HeraldTranscriptEntry *entry = g_ptr_array_index (result->transcript, i);

      g_assert_true (g_utf8_validate (entry->text, -1, NULL));
      for (const char *p = entry->text; *p != '\0'; p = g_utf8_next_char (p))
        g_assert_true (*p == '\n' || *p == '\r' || !is_unprintable (g_utf8_get_char (p)));
    }
}

/* "Send Test Email" over Graph: the engine's test message, its To and Cc. */
static void
test_send_test_message (void)
{
  g_autoptr(FakeGraph) graph = fake_graph_new (NULL);
  g_autoptr(HeraldGraphConfig) config = config_for (graph, TOKEN);
  g_autoptr(HeraldSmtpConfig) smtp = herald_smtp_config_new ();
  g_autoptr(HeraldSmtpResult) result = NULL;
  g_autoptr(HeraldSmtpResult) invalid = NULL;
  g_autoptr(FakeGraphRequest) request = NULL;
  g_autofree char *mime = NULL;
  g_autofree char *id_header = NULL;

  fake_graph_set_token (graph, TOKEN);
  smtp->host = g_strdup ("graph.microsoft.com");
  smtp->port = 443;
  smtp->from = g_strdup ("alerts@contoso.com");
  smtp->to = g_strsplit ("ops@contoso.com", ",", -1);
  smtp->cc = g_strsplit ("backup@contoso.com", ",", -1);
  smtp->subject = g_strdup ("Herald test over Graph");
  smtp->extra_text = g_strdup ("Sent by the Graph tests.");

  result = herald_graph_test (smtp, config, NULL, NULL, NULL, NULL, NULL);
  assert_no_token (result);
  g_assert_no_error (result->error);
  g_assert_true (result->ok);
  g_assert_nonnull (result->message_id);

  request = fake_graph_get_request (graph, 0);
  mime = g_strndup (g_bytes_get_data (request->mime, NULL), g_bytes_get_size (request->mime));
  g_assert_nonnull (strstr (mime, "Subject: Herald test over Graph\r\n"));
  g_assert_nonnull (strstr (mime, "ops@contoso.com"));
  g_assert_nonnull (strstr (mime, "backup@contoso.com"));
  g_assert_nonnull (strstr (mime, "Sent by the Graph tests."));
  /* To and Cc are in the headers already: no Bcc added. */
  g_assert_null (strstr (mime, "Bcc:"));
  id_header = g_strdup_printf ("%s\r\n", result->message_id);
  g_assert_nonnull (strstr (mime, id_header));

  /* The SMTP path's checks apply: no request for a bad sender. */
  g_free (smtp->from);
  smtp->from = g_strdup ("not an address");
  invalid = herald_graph_test (smtp, config, NULL, NULL, NULL, NULL, NULL);
  g_assert_false (invalid->ok);
  g_assert_error (invalid->error, HERALD_SMTP_ERROR, HERALD_SMTP_ERROR_INVALID_CONFIG);
  g_assert_cmpuint (fake_graph_get_n_requests (graph), ==, 1);
}

static void
test_settings (void)
{
  g_autoptr(GSettings) settings = g_settings_new ("io.github.heraldmail.Herald");
  g_autoptr(HeraldGraphConfig) config = NULL;
  g_autoptr(HeraldGraphConfig) bad = NULL;
  g_autoptr(GError) error = NULL;

  /* SMTP stays the default transport. */
  g_assert_false (herald_graph_transport_from_settings (settings));
  g_settings_set_string (settings, "transport", "graph");
  g_assert_true (herald_graph_transport_from_settings (settings));
  {
    g_autoptr(GSettingsSchema) schema = NULL;
    g_autoptr(GSettingsSchemaKey) key = NULL;
    g_autoptr(GVariant) pigeon = g_variant_ref_sink (g_variant_new_string ("carrier-pigeon"));

    g_object_get (settings, "settings-schema", &schema, NULL);
    key = g_settings_schema_get_key (schema, "transport");
    g_assert_false (g_settings_schema_key_range_check (key, pigeon));
  }

  g_settings_set_string (settings, "from", "alerts@contoso.com");
  g_settings_set_string (settings, "graph-endpoint", "https://graph.microsoft.us/");
  config = herald_graph_config_new_from_settings (settings, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (config->endpoint, ==, "https://graph.microsoft.us");
  g_assert_cmpstr (config->from, ==, "alerts@contoso.com");
  g_assert_cmpint (config->mode, ==, HERALD_GRAPH_DELEGATED);
  g_assert_null (config->access_token);

  g_settings_set_string (settings, "graph-endpoint", "https://graph.example.com");
  bad = herald_graph_config_new_from_settings (settings, &error);
  g_assert_null (bad);
  g_assert_error (error, HERALD_GRAPH_ERROR, HERALD_GRAPH_ERROR_INVALID_ENDPOINT);
  g_settings_reset (settings, "graph-endpoint");
  g_settings_reset (settings, "transport");
  g_settings_reset (settings, "from");
}

int
main (int   argc,
      char *argv[])
{
  int ret;

  g_test_init (&argc, &argv, NULL);
  cert_dir = herald_test_make_certs ("graph/certs");

  g_test_add_func ("/graph/endpoint", test_endpoint);
  g_test_add_func ("/graph/scope", test_scope);
  g_test_add_func ("/graph/error-parse", test_error_parse);
  g_test_add_func ("/graph/error-parse-hostile", test_error_parse_hostile);
  g_test_add_func ("/graph/send/hostile-error-text", test_send_hostile_error_text);
  g_test_add_func ("/graph/prepare-bcc", test_prepare_bcc);
  g_test_add_func ("/graph/retry-after-parse", test_retry_after_parse);
  g_test_add_func ("/graph/send/delegated", test_send_delegated);
  g_test_add_func ("/graph/send/app-only", test_send_app_only);
  g_test_add_func ("/graph/send/errors", test_send_errors);
  g_test_add_func ("/graph/send/too-large", test_send_too_large);
  g_test_add_func ("/graph/send/refresh", test_send_refresh);
  g_test_add_func ("/graph/send/refresh-once", test_send_refresh_once);
  g_test_add_func ("/graph/send/retry-after-wait", test_send_retry_after_wait);
  g_test_add_func ("/graph/send/retry-after-too-long", test_send_retry_after_too_long);
  g_test_add_func ("/graph/send/oversized-reply", test_send_oversized_reply);
  g_test_add_func ("/graph/send/not-202", test_send_not_202);
  g_test_add_func ("/graph/send/timeout", test_send_timeout);
  g_test_add_func ("/graph/send/cancel", test_send_cancel);
  g_test_add_func ("/graph/send/untrusted-certificate", test_send_untrusted_certificate);
  g_test_add_func ("/graph/send/invalid-config", test_send_invalid_config);
  g_test_add_func ("/graph/send/echoed-token", test_send_echoed_token);
  g_test_add_func ("/graph/send/test-message", test_send_test_message);
  g_test_add_func ("/graph/settings", test_settings);

  ret = g_test_run ();
  g_free (cert_dir);
  return ret;
}
