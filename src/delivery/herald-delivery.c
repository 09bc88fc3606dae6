/* SPDX-License-Identifier: GPL-3.0-or-later
 * Copyright 2026 The Herald authors
 */
#define G_LOG_DOMAIN "herald-delivery"

#include "config.h"

#include <glib/gi18n.h>
#include <string.h>

#include "herald-delivery.h"
#include "herald-smtp.h"

const char *
herald_outcome_to_string (HeraldOutcome outcome)
{
  switch (outcome)
    {
    case HERALD_OUTCOME_SENT:
      return "sent";
    case HERALD_OUTCOME_QUEUED:
      return "queued";
    case HERALD_OUTCOME_HELD:
      return "held";
    case HERALD_OUTCOME_FAILED_RECIPIENTS:
    case HERALD_OUTCOME_FAILED_CONTENT:
    default:
      return "failed";
    }
}

int
herald_outcome_exit_status (HeraldOutcome outcome)
{
  switch (outcome)
    {
    case HERALD_OUTCOME_FAILED_RECIPIENTS:
      return HERALD_EX_NOUSER;
    case HERALD_OUTCOME_FAILED_CONTENT:
      return HERALD_EX_DATAERR;
    case HERALD_OUTCOME_SENT:
    case HERALD_OUTCOME_QUEUED:
    case HERALD_OUTCOME_HELD:
    default:
      return HERALD_EX_OK;
    }
}

void
herald_delivery_report_free (HeraldDeliveryReport *report)
{
  if (report == NULL)
    return;
  g_clear_pointer (&report->result, herald_smtp_result_free);
  g_clear_pointer (&report->diagnosis, herald_diagnosis_free);
  g_free (report);
}

HeraldDeliveryReport *
herald_delivery_report_copy (const HeraldDeliveryReport *report)
{
  HeraldDeliveryReport *copy;

  g_return_val_if_fail (report != NULL, NULL);

  copy = g_memdup2 (report, sizeof *report);
  copy->result = report->result != NULL ? herald_smtp_result_copy (report->result) : NULL;
  copy->diagnosis = report->diagnosis != NULL ? herald_diagnosis_copy (report->diagnosis) : NULL;
  return copy;
}

/* ---- classification ------------------------------------------------------------- */

static gboolean
text_contains (const HeraldSmtpReply *reply,
               const char            *needle)
{
  const char *text = reply->text != NULL ? reply->text : reply->raw;
  g_autofree char *lower = NULL;
  g_autofree char *lower_needle = NULL;

  if (text == NULL)
    return FALSE;
  lower = g_ascii_strdown (text, -1);
  lower_needle = g_ascii_strdown (needle, -1);
  return strstr (lower, lower_needle) != NULL;
}

static gboolean
enhanced_is (const HeraldSmtpReply *reply,
             const char            *prefix)
{
  return reply->enhanced != NULL && g_str_has_prefix (reply->enhanced, prefix);
}

gboolean
herald_reply_is_throttle (const HeraldSmtpReply *reply)
{
  if (reply == NULL || reply->code < 400 || reply->code >= 500)
    return FALSE;
  return text_contains (reply, "SubmissionQuotaExceeded") ||
         text_contains (reply, "sender thread limit exceeded") ||
         text_contains (reply, "Concurrent connections limit exceeded") ||
         text_contains (reply, "message submission rate");
}

/* Exchange Online's front ends: *.outlook.com (prod.outlook.com,
 * protection.outlook.com), *.office365.com, and the national clouds. */
static const char * const exchange_online_domains[] = {
  "outlook.com", "office365.com", "office365.us", "outlook.cn", NULL
};

gboolean
herald_host_is_exchange_online (const char *host)
{
  g_autofree char *lower = NULL;

  if (host == NULL)
    return FALSE;
  lower = g_ascii_strdown (host, -1);
  for (guint i = 0; exchange_online_domains[i] != NULL; i++)
    {
      g_autofree char *suffix = g_strconcat (".", exchange_online_domains[i], NULL);

      if (g_str_has_suffix (lower, suffix))
        return TRUE;
    }
  return FALSE;
}

gboolean
herald_greeting_is_exchange_online (const char *greeting)
{
  g_autofree char *host = NULL;
  const char *end;

  if (greeting == NULL)
    return FALSE;
  /* The greeting starts with the server's name (RFC 5321 4.2):
   * "BN0PR04CA0123.outlook.office365.com Microsoft ESMTP MAIL Service
   * ready at ...". Only that name counts: on-premises Exchange says the
   * same words with its own name, and has no such limit. */
  while (*greeting == ' ')
    greeting++;
  end = strpbrk (greeting, " \r\n");
  host = end != NULL ? g_strndup (greeting, end - greeting) : g_strdup (greeting);
  return herald_host_is_exchange_online (host);
}

/* A permanent (5xx) reply: which outcome. Recipients refused for good
 * (5.1.x, or a plain 550 to RCPT) and messages refused for their content
 * (5.3.4 too big, 5.6.x, 552) are final; everything that names the sender,
 * the login or a policy is for someone to fix in the settings or at the
 * provider, so the message is held and goes out once that is done. */
static HeraldOutcome
classify_permanent (HeraldStage            stage,
                    const HeraldSmtpReply *reply)
{
  if (text_contains (reply, "SendAs") || text_contains (reply, "relay access denied") ||
      text_contains (reply, "relaying denied"))
    return HERALD_OUTCOME_HELD;

  switch (stage)
    {
    case HERALD_STAGE_RCPT:
      if (enhanced_is (reply, "5.7.") || enhanced_is (reply, "5.3.") || enhanced_is (reply, "5.5.") ||
          enhanced_is (reply, "5.4."))
        return HERALD_OUTCOME_HELD;
      return HERALD_OUTCOME_FAILED_RECIPIENTS;

    case HERALD_STAGE_DATA:
      if (enhanced_is (reply, "5.3.4") || enhanced_is (reply, "5.6.") || reply->code == 552 ||
          enhanced_is (reply, "5.2.3"))
        return HERALD_OUTCOME_FAILED_CONTENT;
      if (enhanced_is (reply, "5.1.") || enhanced_is (reply, "5.2.1") ||
          enhanced_is (reply, "5.2.2"))
        return HERALD_OUTCOME_FAILED_RECIPIENTS;
      if (enhanced_is (reply, "5.7.") || enhanced_is (reply, "5.2.") || enhanced_is (reply, "5.4."))
        return HERALD_OUTCOME_HELD;
      return HERALD_OUTCOME_FAILED_CONTENT;

    default:
      /* Greeting, EHLO, STARTTLS, AUTH, MAIL FROM: the server, the login
       * or the sender. */
      return HERALD_OUTCOME_HELD;
    }
}

HeraldOutcome
herald_outcome_classify (const HeraldSmtpResult *result,
                          gboolean               *slow_down)
{
  const GError *error;

  g_return_val_if_fail (result != NULL, HERALD_OUTCOME_QUEUED);

  if (slow_down != NULL)
    *slow_down = FALSE;
  if (result->ok)
    return HERALD_OUTCOME_SENT;

  error = result->error;
  if (result->reply != NULL && result->reply->code >= 400 &&
      (error == NULL || g_error_matches (error, HERALD_SMTP_ERROR, HERALD_SMTP_ERROR_REJECTED)))
    {
      const HeraldSmtpReply *reply = result->reply;

      if (reply->code < 500)
        {
          /* Exchange Online's pace: 30 messages a minute per mailbox. */
          if (slow_down != NULL && herald_reply_is_throttle (reply))
            *slow_down = TRUE;
          return HERALD_OUTCOME_QUEUED;
        }
      return classify_permanent (result->stage, reply);
    }

  if (error == NULL)
    return HERALD_OUTCOME_QUEUED;

  if (error->domain == HERALD_SMTP_ERROR)
    {
      switch (error->code)
        {
        case HERALD_SMTP_ERROR_INVALID_CONFIG:
        case HERALD_SMTP_ERROR_STARTTLS_NOT_OFFERED:
        case HERALD_SMTP_ERROR_AUTH_NOT_OFFERED:
        case HERALD_SMTP_ERROR_MECHANISM_NOT_OFFERED:
        case HERALD_SMTP_ERROR_PLAINTEXT_AUTH_REFUSED:
        case HERALD_SMTP_ERROR_TLS_CERTIFICATE:
          return HERALD_OUTCOME_HELD;
        default:
          /* A protocol error, a reply too long, a closed connection, no
           * greeting, a message not attempted because the session ended,
           * the deadline: the next run may do better. */
          return HERALD_OUTCOME_QUEUED;
        }
    }

  /* No network, refused, timed out, name lookup failed, cancelled: try
   * again later. */
  if (error->domain == G_IO_ERROR || error->domain == G_RESOLVER_ERROR)
    return HERALD_OUTCOME_QUEUED;

  /* TLS handshake failures (wrong security mode, no common protocol),
   * keyring and sign-in problems: someone must act. */
  return HERALD_OUTCOME_HELD;
}

/* ---- delivering --------------------------------------------------------------------- */

typedef struct {
  HeraldDeliveryCommitFunc  commit;
  HeraldDeliveryDoneFunc    done;
  gpointer                  callback_data;
  gboolean                 *committed;
} CommitProxy;

static gboolean
commit_proxy_cb (guint    index,
                 gpointer user_data)
{
  CommitProxy *proxy = user_data;

  if (proxy->commit != NULL && !proxy->commit (index, proxy->callback_data))
    return FALSE;
  proxy->committed[index] = TRUE;
  return TRUE;
}

static void
done_proxy_cb (guint    index,
               gboolean sent,
               gpointer user_data)
{
  CommitProxy *proxy = user_data;

  if (proxy->done != NULL)
    proxy->done (index, sent, proxy->callback_data);
}

HeraldOutcome
herald_transport_classify (const HeraldTransport  *transport,
                           const HeraldSmtpResult *result,
                           gboolean               *slow_down)
{
  if (transport != NULL && transport->classify != NULL)
    {
      if (slow_down != NULL)
        *slow_down = FALSE;
      return transport->classify (result, slow_down);
    }
  return herald_outcome_classify (result, slow_down);
}

void
herald_transport_free (const HeraldTransport *transport)
{
  if (transport != NULL && transport->destroy != NULL)
    transport->destroy ((HeraldTransport *) transport);
}

static HeraldDeliveryReport *
make_report (const HeraldTransport  *transport,
             const HeraldSmtpConfig *config,
             HeraldSmtpResult       *result)
{
  HeraldDeliveryReport *report = g_new0 (HeraldDeliveryReport, 1);

  report->transport = transport->name;
  report->result = result;
  report->retry_after = -1;
  report->outcome = herald_transport_classify (transport, result, &report->slow_down);
  if (!result->ok)
    report->diagnosis = herald_diagnose_transport (result, config, transport->name);
  return report;
}

GPtrArray *
herald_deliver (const HeraldTransport        *transport,
                const HeraldSmtpConfig       *config,
                const HeraldDeliveryMessage  *messages,
                guint                         n,
                HeraldDeliveryCommitFunc      commit,
                HeraldDeliveryDoneFunc        done,
                gpointer                      callback_data,
                GCancellable                 *cancellable)
{
  g_autofree gboolean *committed = g_new0 (gboolean, MAX (n, 1));
  g_autofree gint64 *retry_after = g_new (gint64, MAX (n, 1));
  CommitProxy proxy = { commit, done, callback_data, committed };
  g_autoptr(GPtrArray) results = NULL;
  GPtrArray *reports;

  g_return_val_if_fail (transport != NULL && config != NULL, NULL);
  g_return_val_if_fail (messages != NULL || n == 0, NULL);

  reports = g_ptr_array_new_with_free_func ((GDestroyNotify) herald_delivery_report_free);
  if (n == 0)
    return reports;

  for (guint i = 0; i < n; i++)
    retry_after[i] = -1;
  results = transport->deliver (transport, config, messages, n, commit_proxy_cb, done_proxy_cb,
                                &proxy, retry_after, cancellable);
  g_assert (results != NULL && results->len == n);

  for (guint i = 0; i < n; i++)
    {
      HeraldSmtpResult *result = g_steal_pointer (&g_ptr_array_index (results, i));
      HeraldDeliveryReport *report = make_report (transport, config, result);

      report->last_byte_sent = committed[i];
      report->retry_after = retry_after[i] == HERALD_DELIVERY_HELD_BACK ? -1 : retry_after[i];
      report->held_back = retry_after[i] == HERALD_DELIVERY_HELD_BACK;
      g_ptr_array_add (reports, report);
    }
  return reports;
}

HeraldDeliveryReport *
herald_delivery_report_new_local (const HeraldTransport  *transport,
                                  const HeraldSmtpConfig *config,
                                  HeraldStage             stage,
                                  const GError           *error)
{
  HeraldSmtpResult *result;
  HeraldDeliveryReport *report;

  g_return_val_if_fail (error != NULL, NULL);

  result = herald_smtp_result_new_failed (stage, error);
  report = make_report (transport, config, result);

  /* A failed sign-in carries the identity provider's codes (AADSTS…,
   * invalid_grant) in its message: the text rules know them. */
  if (report->diagnosis != NULL && herald_diagnosis_is_fallback (report->diagnosis))
    {
      g_autoptr(HeraldDiagnosis) by_text = herald_diagnose_text (error->message, stage,
                                                                 config != NULL ? config->host
                                                                                : NULL);

      if (!herald_diagnosis_is_fallback (by_text))
        {
          herald_diagnosis_free (report->diagnosis);
          report->diagnosis = g_steal_pointer (&by_text);
        }
    }
  return report;
}
