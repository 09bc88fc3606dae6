/* SPDX-License-Identifier: GPL-3.0-or-later
 * Copyright 2026 The Herald authors
 */
#define G_LOG_DOMAIN "herald-graph"

#include "config.h"

#include <glib/gi18n.h>
#include <gnutls/crypto.h>
#include <libsoup/soup.h>
#include <string.h>
#include <inttypes.h>

#include "herald-graph.h"
#include "herald-graph-private.h"
#include "herald-deadline.h"

#define DEFAULT_TIMEOUT       30            /* seconds */
#define MAX_REPLY_BODY        (64 * 1024)   /* error bodies are a few hundred bytes */
#define MAX_TRANSCRIPT_BODY   4096          /* of a reply body, in the transcript */
#define MAX_THROTTLE_WAITS    3             /* Retry-After waits within one delivery */
#define MAX_RETRY_AFTER       (24 * 3600)   /* seconds we believe a Retry-After for */

typedef struct {
  const HeraldGraphConfig *config;
  HeraldSmtpResult        *result;
  GPtrArray               *secrets;        /* tokens to scrub from every entry */
  gint64                   start_us;
  gint64                   deadline_us;
  HeraldProgressFunc       progress;
  gpointer                 progress_data;
  HeraldStage              stage;          /* the stage running, or HERALD_N_STAGES */
  gint64                   stage_start_us;
} Send;

/* ---- transcript and progress ------------------------------------------------ */

static gint64
elapsed_ms (Send *s)
{
  return (g_get_monotonic_time () - s->start_us) / 1000;
}

char *
_herald_graph_scrub (const char *text,
                     GPtrArray  *secrets)
{
  g_autoptr(GString) out = g_string_new (text);

  for (guint i = 0; secrets != NULL && i < secrets->len; i++)
    {
      const char *secret = g_ptr_array_index (secrets, i);

      /* Every secret, whatever its length: a short one is still a secret. */
      if (secret != NULL && *secret != '\0')
        g_string_replace (out, secret, "<redacted>", 0);
    }

  return g_string_free (g_steal_pointer (&out), FALSE);
}

static void
add_entry (Send                *s,
           HeraldTranscriptDir  dir,
           const char          *text)
{
  HeraldTranscriptEntry *entry = g_new0 (HeraldTranscriptEntry, 1);
  g_autofree char *scrubbed = _herald_graph_scrub (text, s->secrets);

  entry->dir = dir;
  /* Server text (headers, bodies) as every server's text is shown. */
  entry->text = herald_smtp_make_printable (scrubbed, -1, TRUE);
  entry->ms = elapsed_ms (s);
  g_ptr_array_add (s->result->transcript, entry);
}

static void add_entryf (Send                *s,
                        HeraldTranscriptDir  dir,
                        const char          *format,
                        ...) G_GNUC_PRINTF (3, 4);

static void
add_entryf (Send                *s,
            HeraldTranscriptDir  dir,
            const char          *format,
            ...)
{
  g_autofree char *text = NULL;
  va_list args;

  va_start (args, format);
  text = g_strdup_vprintf (format, args);
  va_end (args);
  add_entry (s, dir, text);
}

static void
emit (Send            *s,
      HeraldStage      stage,
      HeraldStepState  state,
      gint64           duration)
{
  HeraldProgress progress;

  if (s->progress == NULL)
    return;

  progress.stage = stage;
  progress.state = state;
  progress.ms = elapsed_ms (s);
  progress.duration = duration;
  s->progress (&progress, s->progress_data);
}

static void
stage_end (Send     *s,
           gboolean  ok)
{
  gint64 duration;

  if (s->stage == HERALD_N_STAGES)
    return;

  duration = (g_get_monotonic_time () - s->stage_start_us) / 1000;
  s->result->stage_ms[s->stage] = MAX (s->result->stage_ms[s->stage], 0) + duration;
  emit (s, s->stage, ok ? HERALD_STEP_SUCCEEDED : HERALD_STEP_FAILED, duration);
  s->stage = HERALD_N_STAGES;
}

static void
stage_begin (Send        *s,
             HeraldStage  stage)
{
  if (s->stage == stage)
    return;
  stage_end (s, TRUE);
  s->stage = stage;
  s->stage_start_us = g_get_monotonic_time ();
  s->result->stage = stage;
  emit (s, stage, HERALD_STEP_STARTED, 0);
}

/* libsoup tells where the connection is; these become the resolve, connect
 * and TLS steps (only for a new connection). */
static void
network_event_cb (SoupMessage        *msg,
                  GSocketClientEvent  event,
                  GIOStream          *connection,
                  Send               *s)
{
  switch (event)
    {
    case G_SOCKET_CLIENT_RESOLVING:
      stage_begin (s, HERALD_STAGE_RESOLVE);
      break;
    case G_SOCKET_CLIENT_CONNECTING:
      stage_begin (s, HERALD_STAGE_CONNECT);
      break;
    case G_SOCKET_CLIENT_TLS_HANDSHAKING:
      stage_begin (s, HERALD_STAGE_TLS);
      break;
    case G_SOCKET_CLIENT_TLS_HANDSHAKED:
      stage_end (s, TRUE);
      {
        GTlsConnection *tls = G_TLS_CONNECTION (connection);
        g_autofree char *version = _herald_graph_tls_version (tls);

        add_entryf (s, HERALD_TRANSCRIPT_INFO, "TLS handshake done (%s), certificate accepted",
                    version != NULL ? version : "TLS");
      }
      break;
    case G_SOCKET_CLIENT_CONNECTED:
      if (s->stage == HERALD_STAGE_CONNECT)
        stage_end (s, TRUE);
      break;
    case G_SOCKET_CLIENT_RESOLVED:
    case G_SOCKET_CLIENT_PROXY_NEGOTIATING:
    case G_SOCKET_CLIENT_PROXY_NEGOTIATED:
    case G_SOCKET_CLIENT_COMPLETE:
    default:
      break;
    }
}

/* ---- the deadline ------------------------------------------------------------ */

/* libsoup's timeout applies to each read, so a server dripping its answer
 * could stretch a request without end. A watchdog thread cancels the
 * request's cancellable at the deadline (herald-deadline.h). */
static void
chain_cancel_cb (GCancellable *outer,
                 GCancellable *inner)
{
  g_cancellable_cancel (inner);
}

/* Sleeps @seconds unless cancelled first. */
static gboolean
wait_cancellable (guint          seconds,
                  GCancellable  *cancellable,
                  GError       **error)
{
  GPollFD pollfd = { 0, };
  gint64 until = g_get_monotonic_time () + (gint64) seconds * G_USEC_PER_SEC;

  if (cancellable == NULL || !g_cancellable_make_pollfd (cancellable, &pollfd))
    {
      g_usleep ((gulong) seconds * G_USEC_PER_SEC);
      return TRUE;
    }

  while (!g_cancellable_is_cancelled (cancellable))
    {
      gint64 left = until - g_get_monotonic_time ();

      if (left <= 0)
        break;
      g_poll (&pollfd, 1, (int) MIN (left / 1000 + 1, 1000));
    }
  g_cancellable_release_fd (cancellable);

  return !g_cancellable_set_error_if_cancelled (cancellable, error);
}

/* ---- one request ------------------------------------------------------------- */

typedef struct {
  guint       status;
  char       *reason;
  GBytes     *body;         /* at most MAX_REPLY_BODY + 1 bytes */
  char       *retry_after;  /* the header, or NULL */
  char       *request_id;
  char       *address;      /* the peer, "127.0.0.1:443" */
  GTlsCertificate     *peer_certificate;
  GTlsCertificateFlags peer_errors;
} Answer;

static void
answer_clear (Answer *answer)
{
  g_clear_pointer (&answer->reason, g_free);
  g_clear_pointer (&answer->body, g_bytes_unref);
  g_clear_pointer (&answer->retry_after, g_free);
  g_clear_pointer (&answer->request_id, g_free);
  g_clear_pointer (&answer->address, g_free);
  g_clear_object (&answer->peer_certificate);
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (Answer, answer_clear)

static void
set_str (char       **where,
         const char  *value)
{
  if (g_strcmp0 (*where, value) == 0)
    return;
  g_free (*where);
  *where = g_strdup (value);
}

static char *
random_uuid (void)
{
  guint8 b[16];

  /* A nonce, not a key: it only tags the request for Microsoft's logs. */
  if (gnutls_rnd (GNUTLS_RND_NONCE, b, sizeof b) != 0)
    return g_uuid_string_random ();
  b[6] = (b[6] & 0x0f) | 0x40;
  b[8] = (b[8] & 0x3f) | 0x80;

  return g_strdup_printf ("%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
                          b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11],
                          b[12], b[13], b[14], b[15]);
}

static gboolean
request (Send          *s,
         SoupSession   *session,
         const char    *url,
         const char    *path,
         const char    *token,
         GBytes        *body,
         gsize          message_size,
         Answer        *answer,
         GCancellable  *cancellable,
         GError       **error)
{
  g_autoptr(SoupMessage) msg = NULL;
  g_autoptr(GCancellable) inner = g_cancellable_new ();
  g_autoptr(GInputStream) stream = NULL;
  g_autofree guint8 *buffer = NULL;
  g_autofree char *bearer = NULL;
  g_autofree char *request_id = random_uuid ();
  SoupMessageHeaders *headers;
  GInetSocketAddress *remote;
  GError *local = NULL;
  HeraldDeadline *dog;
  gulong handler = 0;
  gsize len = 0;
  gboolean fired;

  msg = soup_message_new ("POST", url);
  if (msg == NULL)
    {
      g_set_error (error, HERALD_GRAPH_ERROR, HERALD_GRAPH_ERROR_INVALID_ENDPOINT,
                   _("Cannot use the URL “%s”."), url);
      return FALSE;
    }
  /* The bearer token must never follow a redirect to another host. */
  soup_message_add_flags (msg, SOUP_MESSAGE_NO_REDIRECT);
  headers = soup_message_get_request_headers (msg);
  bearer = g_strconcat ("Bearer ", token, NULL);
  soup_message_headers_replace (headers, "Authorization", bearer);
  soup_message_headers_replace (headers, "Accept", "application/json");
  soup_message_headers_replace (headers, "client-request-id", request_id);
  soup_message_set_request_body_from_bytes (msg, "text/plain", body);
  g_signal_connect (msg, "network-event", G_CALLBACK (network_event_cb), s);

  add_entryf (s, HERALD_TRANSCRIPT_CLIENT, "POST %s HTTP/1.1", path);
  add_entry (s, HERALD_TRANSCRIPT_CLIENT, "Authorization: Bearer <redacted>");
  add_entry (s, HERALD_TRANSCRIPT_CLIENT, "Content-Type: text/plain");
  add_entryf (s, HERALD_TRANSCRIPT_CLIENT, "client-request-id: %s", request_id);
  add_entryf (s, HERALD_TRANSCRIPT_CLIENT,
              "<message, %" G_GSIZE_FORMAT " bytes, sent as %" G_GSIZE_FORMAT " bytes of base64>",
              message_size, g_bytes_get_size (body));

  if (cancellable != NULL)
    handler = g_cancellable_connect (cancellable, G_CALLBACK (chain_cancel_cb), inner, NULL);
  dog = herald_deadline_start (inner, s->deadline_us, "herald-graph-deadline");

  stream = soup_session_send (session, msg, inner, &local);
  if (stream != NULL)
    {
      buffer = g_malloc (MAX_REPLY_BODY + 1);
      g_input_stream_read_all (stream, buffer, MAX_REPLY_BODY + 1, &len, inner, &local);
    }

  fired = herald_deadline_stop (dog);
  if (cancellable != NULL)
    g_cancellable_disconnect (cancellable, handler);
  herald_secret_wipe_string (bearer);

  answer->peer_certificate = soup_message_get_tls_peer_certificate (msg);
  if (answer->peer_certificate != NULL)
    g_object_ref (answer->peer_certificate);
  answer->peer_errors = soup_message_get_tls_peer_certificate_errors (msg);
  remote = G_INET_SOCKET_ADDRESS (soup_message_get_remote_address (msg));
  if (remote != NULL)
    {
      g_autofree char *ip = g_inet_address_to_string (g_inet_socket_address_get_address (remote));

      answer->address = g_strdup_printf (strchr (ip, ':') != NULL ? "[%s]:%u" : "%s:%u", ip,
                                         g_inet_socket_address_get_port (remote));
    }

  if (local != NULL)
    {
      if (fired && g_error_matches (local, G_IO_ERROR, G_IO_ERROR_CANCELLED)
          && !g_cancellable_is_cancelled (cancellable))
        {
          g_clear_error (&local);
          g_set_error (&local, G_IO_ERROR, G_IO_ERROR_TIMED_OUT,
                       _("Microsoft Graph did not answer within %u seconds."),
                       s->config->timeout != 0 ? s->config->timeout : DEFAULT_TIMEOUT);
        }
      g_propagate_error (error, local);
      return FALSE;
    }

  answer->status = soup_message_get_status (msg);
  answer->reason = g_strdup (soup_message_get_reason_phrase (msg));
  answer->body = g_bytes_new_take (g_steal_pointer (&buffer), len);
  headers = soup_message_get_response_headers (msg);
  answer->retry_after = g_strdup (soup_message_headers_get_one (headers, "Retry-After"));
  answer->request_id = g_strdup (soup_message_headers_get_one (headers, "request-id"));

  return TRUE;
}

/* ---- answers ----------------------------------------------------------------- */

/* Seconds from a Retry-After value (delta-seconds or an HTTP date), -1 when
 * absent or unusable. */
gint64
_herald_graph_parse_retry_after (const char *value)
{
  g_autoptr(GDateTime) date = NULL;
  g_autoptr(GDateTime) now = NULL;
  char *end;
  guint64 seconds;
  gint64 delta;

  if (value == NULL)
    return -1;
  while (g_ascii_isspace (*value))
    value++;
  if (g_ascii_isdigit (*value))
    {
      seconds = g_ascii_strtoull (value, &end, 10);
      while (g_ascii_isspace (*end))
        end++;
      if (*end != '\0')
        return -1;
      return (gint64) MIN (seconds, (guint64) MAX_RETRY_AFTER);
    }

  date = soup_date_time_new_from_http_string (value);
  if (date == NULL)
    return -1;
  now = g_date_time_new_now_utc ();
  delta = g_date_time_difference (date, now) / G_USEC_PER_SEC;

  return CLAMP (delta, 0, MAX_RETRY_AFTER);
}

static void
set_reply (Send             *s,
           const Answer     *answer,
           HeraldGraphError *parsed)
{
  HeraldSmtpReply *reply = g_new0 (HeraldSmtpReply, 1);
  g_autofree char *text = NULL;

  if (parsed != NULL && parsed->code != NULL && parsed->message != NULL && *parsed->message != '\0')
    text = g_strdup_printf ("%s: %s", parsed->code, parsed->message);
  else if (parsed != NULL)
    text = g_strdup (parsed->code != NULL ? parsed->code : parsed->message);
  else
    text = g_strdup (answer->reason != NULL && *answer->reason != '\0'
                     ? answer->reason : soup_status_get_phrase (answer->status));
  if (parsed != NULL && parsed->inner_code != NULL && g_strcmp0 (parsed->inner_code, parsed->code) != 0)
    {
      char *longer = g_strdup_printf ("%s (%s)", text, parsed->inner_code);

      g_free (text);
      text = longer;
    }

  reply->code = (int) answer->status;
  {
    g_autofree char *scrubbed = _herald_graph_scrub (text, s->secrets);

    reply->text = herald_smtp_make_printable (scrubbed, -1, FALSE);
  }
  reply->raw = g_strdup_printf ("%u %s", answer->status, reply->text);
  herald_smtp_reply_free (s->result->reply);
  s->result->reply = reply;
}

static void
log_answer (Send         *s,
            const Answer *answer)
{
  gsize len;
  const char *data = g_bytes_get_data (answer->body, &len);

  add_entryf (s, HERALD_TRANSCRIPT_SERVER, "HTTP/1.1 %u %s", answer->status,
              answer->reason != NULL ? answer->reason : "");
  if (answer->request_id != NULL)
    add_entryf (s, HERALD_TRANSCRIPT_SERVER, "request-id: %s", answer->request_id);
  if (answer->retry_after != NULL)
    add_entryf (s, HERALD_TRANSCRIPT_SERVER, "Retry-After: %s", answer->retry_after);
  if (len > 0)
    {
      g_autofree char *shown = g_utf8_make_valid (data, MIN (len, MAX_TRANSCRIPT_BODY));

      if (len > MAX_TRANSCRIPT_BODY)
        add_entryf (s, HERALD_TRANSCRIPT_SERVER, "%s <… %" G_GSIZE_FORMAT " bytes in all>", shown,
                    len);
      else
        add_entry (s, HERALD_TRANSCRIPT_SERVER, shown);
    }
}

static void
fail (Send        *s,
      HeraldStage  stage,
      GError      *error)
{
  if (s->stage != HERALD_N_STAGES && s->stage != stage)
    stage_end (s, TRUE);
  if (s->stage == HERALD_N_STAGES)
    stage_begin (s, stage);
  stage_end (s, FALSE);
  s->result->stage = stage;
  s->result->ok = FALSE;
  g_clear_error (&s->result->error);
  s->result->error = error;
}

/* The stage a network error belongs to: the one running when it happened. */
static HeraldStage
network_stage (Send *s)
{
  return s->stage != HERALD_N_STAGES ? s->stage : HERALD_STAGE_DATA;
}

static void
tls_failure (Send         *s,
             const Answer *answer,
             const char   *host,
             GError       *error)
{
  GError *certificate_error;

  if (answer->peer_certificate != NULL)
    {
      herald_tls_info_free (s->result->tls);
      s->result->tls = _herald_graph_tls_info (answer->peer_certificate, answer->peer_errors);
    }
  certificate_error = g_error_new (HERALD_SMTP_ERROR, HERALD_SMTP_ERROR_TLS_CERTIFICATE,
                                   _("The certificate of %s was not accepted: %s"), host,
                                   error->message);
  g_error_free (error);
  add_entryf (s, HERALD_TRANSCRIPT_INFO, "%s", certificate_error->message);
  fail (s, HERALD_STAGE_TLS, certificate_error);
}

HeraldSmtpResult *
herald_graph_send (const HeraldGraphConfig  *config,
                   GBytes                   *message,
                   const char * const       *recipients,
                   HeraldGraphRefreshFunc    refresh,
                   gpointer                  refresh_data,
                   GCancellable             *cancellable,
                   HeraldProgressFunc        progress,
                   gpointer                  progress_data,
                   gint64                   *retry_after)
{
  g_autoptr(GPtrArray) secrets = g_ptr_array_new_with_free_func (_herald_graph_free_secret);
  g_autoptr(SoupSession) session = NULL;
  g_autoptr(GBytes) prepared = NULL;
  g_autoptr(GBytes) body = NULL;
  g_autofree char *endpoint = NULL;
  g_autofree char *path = NULL;
  g_autofree char *url = NULL;
  g_autofree char *host = NULL;
  HeraldSmtpResult *result;
  GError *error = NULL;
  const char *token;
  gboolean refreshed = FALSE;
  guint waits = 0;
  guint timeout;
  Send s = { 0, };

  g_return_val_if_fail (config != NULL, NULL);
  g_return_val_if_fail (message != NULL, NULL);

  if (retry_after != NULL)
    *retry_after = -1;

  result = herald_smtp_result_new ();
  timeout = config->timeout != 0 ? config->timeout : DEFAULT_TIMEOUT;
  s.config = config;
  s.result = result;
  s.secrets = secrets;
  s.start_us = g_get_monotonic_time ();
  s.deadline_us = s.start_us + (gint64) timeout * G_USEC_PER_SEC;
  s.progress = progress;
  s.progress_data = progress_data;
  s.stage = HERALD_N_STAGES;

  if (config->access_token != NULL)
    g_ptr_array_add (secrets, g_strdup (config->access_token));

  /* Everything that needs no network first. */
  endpoint = herald_graph_endpoint_normalise (config->endpoint, &error);
  if (endpoint == NULL)
    {
      fail (&s, HERALD_STAGE_RESOLVE, g_error_new_literal (HERALD_SMTP_ERROR,
                                                           HERALD_SMTP_ERROR_INVALID_CONFIG,
                                                           error->message));
      g_clear_error (&error);
      goto out;
    }
  if (config->mode == HERALD_GRAPH_APP_ONLY)
    {
      g_autofree char *escaped = NULL;

      if (config->from == NULL || !herald_address_is_valid (config->from))
        {
          fail (&s, HERALD_STAGE_RESOLVE,
                g_error_new (HERALD_SMTP_ERROR, HERALD_SMTP_ERROR_INVALID_CONFIG,
                             _("App-only sending needs the sending mailbox’s address as the sender; "
                               "“%s” is not one."), config->from != NULL ? config->from : ""));
          goto out;
        }
      escaped = g_uri_escape_string (config->from, "@", FALSE);
      path = g_strdup_printf ("/v1.0/users/%s/sendMail", escaped);
    }
  else
    path = g_strdup ("/v1.0/me/sendMail");
  url = g_strconcat (endpoint, path, NULL);
  host = g_strdup (strstr (endpoint, "://") + 3);

  if (config->access_token == NULL || *config->access_token == '\0')
    {
      fail (&s, HERALD_STAGE_AUTH,
            g_error_new_literal (HERALD_SMTP_ERROR, HERALD_SMTP_ERROR_INVALID_CONFIG,
                                 _("No access token for Microsoft Graph: sign in first.")));
      goto out;
    }
  token = config->access_token;

  prepared = herald_graph_prepare_message (message, recipients, &error);
  if (prepared == NULL)
    {
      fail (&s, HERALD_STAGE_RESOLVE, g_error_new_literal (HERALD_SMTP_ERROR,
                                                           HERALD_SMTP_ERROR_INVALID_CONFIG,
                                                           error->message));
      g_clear_error (&error);
      goto out;
    }
  {
    gsize len;
    const guint8 *data = g_bytes_get_data (prepared, &len);
    char *encoded = g_base64_encode (data, len);

    body = g_bytes_new_take (encoded, strlen (encoded));
  }

  add_entryf (&s, HERALD_TRANSCRIPT_INFO, "Microsoft Graph sendMail (%s): POST %s",
              config->mode == HERALD_GRAPH_APP_ONLY ? "app-only" : "delegated", url);

  session = soup_session_new_with_options ("timeout", timeout,
                                           "user-agent", "Herald/" PACKAGE_VERSION " ",
                                           NULL);

  for (;;)
    {
      g_auto(Answer) answer = { 0, };
      g_autoptr(HeraldGraphError) parsed = NULL;
      gsize body_len;
      const guint8 *body_data;
      gint64 wait;

      if (!request (&s, session, url, path, token, body, g_bytes_get_size (prepared), &answer,
                    cancellable, &error))
        {
          if (answer.address != NULL && result->remote_address == NULL)
            result->remote_address = g_strdup (answer.address);
          if (g_error_matches (error, G_TLS_ERROR, G_TLS_ERROR_BAD_CERTIFICATE)
              || (answer.peer_errors != 0 && error->domain == G_TLS_ERROR))
            tls_failure (&s, &answer, host, g_steal_pointer (&error));
          else
            {
              add_entryf (&s, HERALD_TRANSCRIPT_INFO, "%s", error->message);
              fail (&s, network_stage (&s), g_steal_pointer (&error));
            }
          goto out;
        }

      if (answer.address != NULL)
        set_str (&result->remote_address, answer.address);
      if (s.stage != HERALD_N_STAGES)
        stage_end (&s, TRUE);
      log_answer (&s, &answer);

      body_data = g_bytes_get_data (answer.body, &body_len);
      parsed = herald_graph_error_parse (body_data, MIN (body_len, MAX_REPLY_BODY));

      if (answer.status == SOUP_STATUS_ACCEPTED)
        {
          set_reply (&s, &answer, NULL);
          stage_begin (&s, HERALD_STAGE_AUTH);
          stage_end (&s, TRUE);
          stage_begin (&s, HERALD_STAGE_DATA);
          stage_end (&s, TRUE);
          add_entry (&s, HERALD_TRANSCRIPT_INFO, "Microsoft accepted the message for delivery.");
          result->ok = TRUE;
          result->stage = HERALD_STAGE_DONE;
          break;
        }

      set_reply (&s, &answer, parsed);

      if (answer.status == SOUP_STATUS_UNAUTHORIZED && refresh != NULL && !refreshed)
        {
          char *fresh;

          refreshed = TRUE;
          add_entry (&s, HERALD_TRANSCRIPT_INFO,
                     "The access token was refused; refreshing it once and trying again");
          stage_begin (&s, HERALD_STAGE_AUTH);
          fresh = refresh (refresh_data, cancellable, &error);
          if (fresh == NULL)
            {
              if (error == NULL)
                error = g_error_new_literal (HERALD_SMTP_ERROR, HERALD_SMTP_ERROR_REJECTED,
                                             _("The access token could not be refreshed."));
              add_entryf (&s, HERALD_TRANSCRIPT_INFO, "%s", error->message);
              fail (&s, HERALD_STAGE_AUTH, g_steal_pointer (&error));
              goto out;
            }
          g_ptr_array_add (secrets, fresh);
          token = fresh;
          stage_end (&s, TRUE);
          continue;
        }

      if (answer.status == SOUP_STATUS_UNAUTHORIZED)
        {
          fail (&s, HERALD_STAGE_AUTH,
                g_error_new (HERALD_SMTP_ERROR, HERALD_SMTP_ERROR_REJECTED,
                             _("Microsoft Graph refused the access token (%s)."),
                             result->reply->text));
          goto out;
        }

      wait = _herald_graph_parse_retry_after (answer.retry_after);
      if (answer.status == 429
          || answer.status == SOUP_STATUS_SERVICE_UNAVAILABLE)
        {
          gint64 left = (s.deadline_us - g_get_monotonic_time ()) / G_USEC_PER_SEC;

          /* Wait only when the retry still has time for its own answer. */
          if (wait >= 0 && waits < MAX_THROTTLE_WAITS && wait + 2 <= left)
            {
              waits++;
              add_entryf (&s, HERALD_TRANSCRIPT_INFO, "Waiting %" G_GINT64_FORMAT " s as Retry-After asks",
                          wait);
              if (!wait_cancellable ((guint) wait, cancellable, &error))
                {
                  fail (&s, HERALD_STAGE_DATA, g_steal_pointer (&error));
                  goto out;
                }
              continue;
            }
          if (retry_after != NULL)
            *retry_after = wait;
          if (wait >= 0)
            fail (&s, HERALD_STAGE_DATA,
                  g_error_new (HERALD_SMTP_ERROR, HERALD_SMTP_ERROR_REJECTED,
                               _("Microsoft Graph is busy or throttling this app (%s); this is "
                                 "temporary: retry after %" PRId64 " seconds."),
                               result->reply->text, (gint64) wait));
          else
            fail (&s, HERALD_STAGE_DATA,
                  g_error_new (HERALD_SMTP_ERROR, HERALD_SMTP_ERROR_REJECTED,
                               _("Microsoft Graph is busy or throttling this app (%s); this is "
                                 "temporary: retry later."), result->reply->text));
          goto out;
        }

      if (answer.status == SOUP_STATUS_REQUEST_ENTITY_TOO_LARGE)
        {
          fail (&s, HERALD_STAGE_DATA,
                g_error_new (HERALD_SMTP_ERROR, HERALD_SMTP_ERROR_REJECTED,
                             _("Microsoft Graph refused the message as too large: %" PRIu64
                               " bytes, %" PRIu64 " bytes as sent in base64 (Graph takes "
                               "about 4 MB per request)."),
                             (guint64) g_bytes_get_size (prepared), (guint64) g_bytes_get_size (body)));
          goto out;
        }

      if (SOUP_STATUS_IS_SUCCESSFUL (answer.status))
        {
          /* Anything but 202 is not the documented acceptance. */
          fail (&s, HERALD_STAGE_DATA,
                g_error_new (HERALD_SMTP_ERROR, HERALD_SMTP_ERROR_PROTOCOL,
                             _("Microsoft Graph answered %u instead of 202 Accepted, so it is not "
                               "known whether the message was accepted."), answer.status));
          goto out;
        }
      if (SOUP_STATUS_IS_REDIRECTION (answer.status))
        {
          fail (&s, HERALD_STAGE_DATA,
                g_error_new (HERALD_SMTP_ERROR, HERALD_SMTP_ERROR_PROTOCOL,
                             _("Microsoft Graph answered with a redirection (%u), which Herald "
                               "does not follow with the access token."), answer.status));
          goto out;
        }

      fail (&s, parsed != NULL && g_strcmp0 (parsed->code, "ErrorInvalidRecipients") == 0
                ? HERALD_STAGE_RCPT : HERALD_STAGE_DATA,
            g_error_new (HERALD_SMTP_ERROR, HERALD_SMTP_ERROR_REJECTED,
                         _("Microsoft Graph refused the message: %u %s"), answer.status,
                         result->reply->text));
      goto out;
    }

out:
  result->elapsed_ms = elapsed_ms (&s);
  return result;
}

gboolean
herald_graph_result_is_temporary (const HeraldSmtpResult *result)
{
  g_return_val_if_fail (result != NULL, FALSE);

  if (result->ok)
    return FALSE;
  if (result->error != NULL && result->error->domain == HERALD_SMTP_ERROR)
    {
      if (result->error->code != HERALD_SMTP_ERROR_REJECTED || result->reply == NULL)
        return FALSE;
      switch (result->reply->code)
        {
        case 429:
        case 500:
        case 502:
        case 503:
        case 504:
          return TRUE;
        default:
          return FALSE;
        }
    }
  if (result->error != NULL && result->error->domain == G_TLS_ERROR)
    return FALSE;

  /* The network: resolver, connection, timeouts, cancellation. */
  return TRUE;
}
