/* SPDX-License-Identifier: GPL-3.0-or-later
 * Copyright 2026 The Herald authors
 */
#define G_LOG_DOMAIN "herald-smtp"

#include "config.h"

#include <string.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <glib/gi18n-lib.h>

#include "herald-smtp-private.h"

/* How long we wait for the reply to QUIT once the message is accepted: the
 * verdict is known by then, so a slow or missing 221 must not delay it. */
#define QUIT_REPLY_TIMEOUT 1

/* One test run. Everything here runs on the calling thread (a GTask worker
 * for the async API); nothing is shared with other threads except through
 * the progress callback.
 */
typedef struct
{
  const HeraldSmtpConfig *config;
  GCancellable           *cancellable;
  HeraldProgressFunc      progress;
  gpointer                progress_data;
  HeraldSmtpResult       *result;

  gint64                  start_us;
  HeraldStage             stage;
  gint64                  stage_start_us;

  const char             *secrets[3];
  char                   *hostname;
  char                   *helo;
  guint                   connect_timeout;
  guint                   reply_timeout;

  GSocketConnection      *connection;
  GSocket                *socket;
  GIOStream              *stream;     /* the connection, or the TLS connection over it */
  GTlsConnection         *tls;
  HeraldLineReader       *reader;
  HeraldSmtpCaps         *caps;

  GSocketConnectable     *identity;
  GTlsDatabase           *ca_database;
  char                   *ca_path;    /* the CA file, absolute */
  HeraldCaLoad           *ca_load;    /* the CA file, parsed on a helper thread */
  GTlsCertificate        *peer_certificate;
  GTlsCertificateFlags    peer_errors;
  GTlsProtocolVersion     handshake_version;  /* as seen while checking the certificate */

  GBytes                 *message;     /* the test message, once built */
  char                   *message_id;

  guint                   stage_open : 1;
  guint                   connection_broken : 1;
  guint                   tls_loading_started : 1;
} Session;

static void start_tls_loading (Session *s);

/* ---- transcript and progress -------------------------------------------------- */

static gint64
elapsed_ms (Session *s)
{
  return (g_get_monotonic_time () - s->start_us) / 1000;
}

static void
add_entry (Session             *s,
           HeraldTranscriptDir  dir,
           const char          *text)
{
  HeraldTranscriptEntry *entry = g_new0 (HeraldTranscriptEntry, 1);

  /* Structural redaction happens before this point; the scrub is the safety
   * net for a secret showing up where we did not expect it (a server echoing
   * it back, a token inside an error message). */
  entry->dir = dir;
  entry->text = _herald_smtp_scrub (text, s->secrets);
  entry->ms = elapsed_ms (s);
  g_ptr_array_add (s->result->transcript, entry);
}

static void info (Session    *s,
                  const char *format,
                  ...) G_GNUC_PRINTF (2, 3);

static void
info (Session    *s,
      const char *format,
      ...)
{
  g_autofree char *text = NULL;
  va_list args;

  va_start (args, format);
  text = g_strdup_vprintf (format, args);
  va_end (args);

  add_entry (s, HERALD_TRANSCRIPT_INFO, text);
}

static void
emit_progress (Session         *s,
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
stage_end (Session  *s,
           gboolean  ok)
{
  gint64 duration;

  if (!s->stage_open)
    return;

  duration = (g_get_monotonic_time () - s->stage_start_us) / 1000;
  if (s->result->stage_ms[s->stage] < 0)
    s->result->stage_ms[s->stage] = 0;
  s->result->stage_ms[s->stage] += duration;
  s->stage_open = FALSE;

  emit_progress (s, s->stage, ok ? HERALD_STEP_SUCCEEDED : HERALD_STEP_FAILED, duration);
}

static void
stage_begin (Session     *s,
             HeraldStage  stage)
{
  stage_end (s, TRUE);

  s->stage = stage;
  s->result->stage = stage;
  s->stage_start_us = g_get_monotonic_time ();
  s->stage_open = TRUE;
  if (s->result->stage_ms[stage] < 0)
    s->result->stage_ms[stage] = 0;

  emit_progress (s, stage, HERALD_STEP_STARTED, 0);
}

/* ---- I/O ---------------------------------------------------------------------- */

static void
server_line_cb (const char *line,
                gpointer    user_data)
{
  add_entry (user_data, HERALD_TRANSCRIPT_SERVER, line);
}

/* Reads one reply. When remember is TRUE it becomes result->reply. */
static HeraldSmtpReply *
read_reply (Session   *s,
            gboolean   remember,
            GError   **error)
{
  HeraldSmtpReply *reply;
  GError *local_error = NULL;

  reply = _herald_smtp_read_reply (s->reader, server_line_cb, s, s->cancellable, &local_error);
  if (reply == NULL)
    {
      /* Same domain and code, clearer words than "Socket I/O timed out". */
      if (g_error_matches (local_error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT))
        {
          guint timeout = s->socket ? g_socket_get_timeout (s->socket) : s->reply_timeout;

          g_clear_error (&local_error);
          g_set_error (&local_error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT,
                       _("The server did not reply within %u seconds."), timeout);
        }
      if (!g_error_matches (local_error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        info (s, "%s", local_error->message);
      s->connection_broken = TRUE;
      g_propagate_error (error, local_error);
      return NULL;
    }

  /* A server echoing a secret back must not carry it into the result. */
  {
    char *raw = _herald_smtp_scrub (reply->raw, s->secrets);
    char *text = _herald_smtp_scrub (reply->text, s->secrets);

    g_free (reply->raw);
    reply->raw = raw;
    g_free (reply->text);
    reply->text = text;
  }

  if (remember)
    {
      g_clear_pointer (&s->result->reply, herald_smtp_reply_free);
      s->result->reply = herald_smtp_reply_copy (reply);
    }

  return reply;
}

/* A flight: commands (and message data) written with one write, so that a
 * pipelining server gets them in as few packets as possible. */
typedef struct
{
  GByteArray *data;
} Flight;

static void
flight_init (Flight *flight)
{
  flight->data = g_byte_array_new ();
}

static void
flight_clear (Flight *flight)
{
  g_clear_pointer (&flight->data, g_byte_array_unref);
}

/* Queues a command line; shown is what the transcript gets (NULL: the line). */
static void
flight_add_line (Session    *s,
                 Flight     *flight,
                 const char *line,
                 const char *shown)
{
  g_byte_array_append (flight->data, (const guint8 *) line, strlen (line));
  g_byte_array_append (flight->data, (const guint8 *) "\r\n", 2);
  add_entry (s, HERALD_TRANSCRIPT_CLIENT, shown != NULL ? shown : line);
}

/* Queues message data; the transcript gets "<message: N bytes>" (and the
 * final "." when dot_line is set), never the body. */
static void
flight_add_data (Session  *s,
                 Flight   *flight,
                 GBytes   *bytes,
                 gsize     message_size,
                 gboolean  dot_line)
{
  gsize length;
  const guint8 *data = g_bytes_get_data (bytes, &length);
  g_autofree char *shown = g_strdup_printf ("<message: %" G_GSIZE_FORMAT " bytes>", message_size);

  g_byte_array_append (flight->data, data, length);
  add_entry (s, HERALD_TRANSCRIPT_CLIENT, shown);
  if (dot_line)
    add_entry (s, HERALD_TRANSCRIPT_CLIENT, ".");
}

static void
flight_add_message (Session *s,
                    Flight  *flight,
                    GBytes  *message)
{
  flight_add_data (s, flight, message, g_bytes_get_size (message), FALSE);
}

static void
flight_add_raw (Session *s,
                Flight  *flight,
                GBytes  *stuffed,
                gsize    message_size)
{
  flight_add_data (s, flight, stuffed, message_size, TRUE);
}

static gboolean
flight_send (Session  *s,
             Flight   *flight,
             GError  **error)
{
  GOutputStream *out = g_io_stream_get_output_stream (s->stream);
  gboolean ok;

  ok = g_output_stream_write_all (out, flight->data->data, flight->data->len,
                                  NULL, s->cancellable, error);
  if (ok)
    ok = g_output_stream_flush (out, s->cancellable, error);
  if (!ok)
    s->connection_broken = TRUE;

  /* The flight may hold a secret: wipe it before it goes back to the heap. */
  herald_secret_wipe (flight->data->data, flight->data->len);
  g_byte_array_set_size (flight->data, 0);

  return ok;
}

static gboolean
send_line (Session     *s,
           const char  *line,
           const char  *shown,
           GError     **error)
{
  Flight flight;
  gboolean ok;

  flight_init (&flight);
  flight_add_line (s, &flight, line, shown);
  ok = flight_send (s, &flight, error);
  flight_clear (&flight);

  return ok;
}

/* Sends a command and reads its reply. */
static HeraldSmtpReply *
command (Session     *s,
         const char  *line,
         const char  *shown,
         GError     **error)
{
  if (!send_line (s, line, shown, error))
    return NULL;

  return read_reply (s, TRUE, error);
}

/* Builds the test message unless built already. It depends on nothing the
 * server says after the login is sent, so it is built while the server
 * checks the login: its first build (GMime's set-up, the local time zone)
 * then costs nothing on the path from the 235 to MAIL FROM. */
static void
build_message (Session *s)
{
  HeraldMessageInfo message_info = { 0, };

  if (s->message != NULL)
    return;

  message_info.mechanism = s->result->auth_used;
  message_info.hostname = s->hostname;
  s->message = _herald_smtp_build_message (s->config, &message_info, &s->message_id);
}

/* command() for the last line of a login: the message is built while the
 * reply is on its way. */
static HeraldSmtpReply *
login_command (Session     *s,
               const char  *line,
               const char  *shown,
               GError     **error)
{
  if (!send_line (s, line, shown, error))
    return NULL;

  build_message (s);
  return read_reply (s, TRUE, error);
}

static void
set_reply_timeout (Session *s,
                   guint    seconds)
{
  if (s->socket != NULL)
    g_socket_set_timeout (s->socket, seconds);
}

/* After a failure the server may still be listening: say goodbye politely,
 * without letting a silent server delay the verdict, and without the reply
 * replacing the one that explains the failure. */
static void
quit_best_effort (Session *s)
{
  g_autoptr(HeraldSmtpReply) reply = NULL;

  if (s->stream == NULL || s->connection_broken || g_cancellable_is_cancelled (s->cancellable))
    return;

  /* 421: the server is closing the channel already (RFC 5321, 3.8). */
  if (s->result->reply != NULL && s->result->reply->code == 421)
    return;

  set_reply_timeout (s, QUIT_REPLY_TIMEOUT);
  if (send_line (s, "QUIT", NULL, NULL))
    reply = read_reply (s, FALSE, NULL);
  set_reply_timeout (s, s->reply_timeout);
}

static gboolean
reply_rejected (Session               *s,
                const HeraldSmtpReply *reply,
                const char            *what,
                GError               **error)
{
  g_autofree char *oneline = g_strdup (reply->text);

  g_strdelimit (oneline, "\n", ' ');
  g_set_error (error, HERALD_SMTP_ERROR, HERALD_SMTP_ERROR_REJECTED,
               _("The server rejected %s: %d %s"), what, reply->code, oneline);
  return FALSE;
}

static gboolean
reply_is (const HeraldSmtpReply *reply,
          int                    klass)
{
  return reply != NULL && reply->code / 100 == klass;
}

/* ---- resolve and connect ---------------------------------------------------- */

typedef struct
{
  GList    *addresses;
  GError   *error;
  gboolean  done;
  gboolean  timed_out;
  GCancellable *op;
} ResolveData;

static void
resolve_done_cb (GObject      *object,
                 GAsyncResult *result,
                 gpointer      user_data)
{
  ResolveData *data = user_data;

  data->addresses = g_resolver_lookup_by_name_finish (G_RESOLVER (object), result, &data->error);
  data->done = TRUE;
}

static gboolean
resolve_timeout_cb (gpointer user_data)
{
  ResolveData *data = user_data;

  data->timed_out = TRUE;
  g_cancellable_cancel (data->op);

  return G_SOURCE_REMOVE;
}

static void
forward_cancel_cb (GCancellable *cancellable,
                   gpointer      user_data)
{
  g_cancellable_cancel (G_CANCELLABLE (user_data));
}

/* GResolver has no timeout in GLib 2.74: run the lookup asynchronously on a
 * private main context of this thread, next to a timeout source. */
static GList *
resolve (Session  *s,
         GError  **error)
{
  g_autoptr(GMainContext) context = g_main_context_new ();
  g_autoptr(GResolver) resolver = g_resolver_get_default ();
  g_autoptr(GCancellable) op = g_cancellable_new ();
  g_autoptr(GSource) timeout = NULL;
  ResolveData data = { NULL, NULL, FALSE, FALSE, op };
  gulong handler = 0;

  if (s->cancellable != NULL)
    handler = g_cancellable_connect (s->cancellable, G_CALLBACK (forward_cancel_cb),
                                     g_object_ref (op), g_object_unref);

  g_main_context_push_thread_default (context);

  timeout = g_timeout_source_new_seconds (s->connect_timeout);
  g_source_set_callback (timeout, resolve_timeout_cb, &data, NULL);
  g_source_attach (timeout, context);

  g_resolver_lookup_by_name_async (resolver, s->config->host, op, resolve_done_cb, &data);
  while (!data.done)
    g_main_context_iteration (context, TRUE);

  g_source_destroy (timeout);
  g_main_context_pop_thread_default (context);

  if (handler != 0)
    g_cancellable_disconnect (s->cancellable, handler);

  if (data.error != NULL)
    {
      if (data.timed_out && !g_cancellable_is_cancelled (s->cancellable))
        {
          g_clear_error (&data.error);
          g_set_error (error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT,
                       _("Looking up “%s” timed out after %u seconds."),
                       s->config->host, s->connect_timeout);
        }
      else if (g_cancellable_is_cancelled (s->cancellable))
        {
          g_clear_error (&data.error);
          g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_CANCELLED,
                               _("The test was cancelled."));
        }
      else
        g_propagate_error (error, data.error);
      return NULL;
    }

  return data.addresses;
}

static char *
format_address (GInetAddress *address,
                guint16       port)
{
  g_autofree char *str = g_inet_address_to_string (address);

  if (g_inet_address_get_family (address) == G_SOCKET_FAMILY_IPV6)
    return g_strdup_printf ("[%s]:%u", str, (guint) port);
  return g_strdup_printf ("%s:%u", str, (guint) port);
}

/* A connection error worth showing over another: "unreachable" on one
 * address family says less than "refused" or "timed out" on the other. */
static gboolean
error_is_weak (const GError *error)
{
  return g_error_matches (error, G_IO_ERROR, G_IO_ERROR_NETWORK_UNREACHABLE) ||
         g_error_matches (error, G_IO_ERROR, G_IO_ERROR_HOST_UNREACHABLE);
}

static gboolean
do_resolve_and_connect (Session  *s,
                        GError  **error)
{
  g_autoptr(GInetAddress) literal = NULL;
  g_autoptr(GSocketClient) client = NULL;
  g_autoptr(GError) first_error = NULL;
  GList *addresses = NULL;
  gboolean ok = FALSE;

  /* The resolve stage is open already (validation happens in it). */
  literal = g_inet_address_new_from_string (s->config->host);
  if (literal != NULL)
    {
      info (s, "%s is an IP address: no lookup needed", s->config->host);
      addresses = g_list_prepend (NULL, g_object_ref (literal));
    }
  else
    {
      GString *list = g_string_new (NULL);

      info (s, "Looking up %s", s->config->host);
      addresses = resolve (s, error);
      if (addresses == NULL)
        {
          g_string_free (list, TRUE);
          return FALSE;
        }

      for (GList *l = addresses; l != NULL; l = l->next)
        {
          g_autofree char *str = g_inet_address_to_string (l->data);

          g_string_append_printf (list, "%s%s", list->len ? ", " : "", str);
        }
      info (s, "%s has %u address(es): %s", s->config->host, g_list_length (addresses), list->str);
      g_string_free (list, TRUE);
    }

  stage_begin (s, HERALD_STAGE_CONNECT);

  client = g_socket_client_new ();
  g_socket_client_set_timeout (client, s->connect_timeout);
  /* SMTP goes straight to the server, never through a desktop HTTP proxy. */
  g_socket_client_set_enable_proxy (client, FALSE);

  for (GList *l = addresses; l != NULL; l = l->next)
    {
      g_autoptr(GSocketAddress) address = g_inet_socket_address_new (l->data, s->config->port);
      g_autofree char *shown = format_address (l->data, s->config->port);
      g_autoptr(GError) local_error = NULL;
      GSocketConnection *connection;

      info (s, "Connecting to %s", shown);
      connection = g_socket_client_connect (client, G_SOCKET_CONNECTABLE (address),
                                            s->cancellable, &local_error);
      if (connection != NULL)
        {
          s->connection = connection;
          s->socket = g_socket_connection_get_socket (connection);
          s->result->remote_address = g_steal_pointer (&shown);
          info (s, "Connected to %s", s->result->remote_address);
          ok = TRUE;
          break;
        }

      if (g_error_matches (local_error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT))
        {
          g_clear_error (&local_error);
          g_set_error (&local_error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT,
                       _("No answer from %s within %u seconds (connection timed out)."),
                       shown, s->connect_timeout);
        }
      info (s, "Could not connect to %s: %s", shown, local_error->message);
      if (g_error_matches (local_error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        {
          g_clear_error (&first_error);
          first_error = g_steal_pointer (&local_error);
          break;
        }
      if (first_error == NULL || (error_is_weak (first_error) && !error_is_weak (local_error)))
        {
          g_clear_error (&first_error);
          first_error = g_steal_pointer (&local_error);
        }
    }

  g_list_free_full (addresses, g_object_unref);

  if (!ok)
    {
      if (first_error == NULL)
        g_set_error (&first_error, G_RESOLVER_ERROR, G_RESOLVER_ERROR_NOT_FOUND,
                     _("No address found for “%s”."), s->config->host);
      g_propagate_error (error, g_steal_pointer (&first_error));
      return FALSE;
    }

  if (s->config->security == HERALD_SECURITY_STARTTLS)
    start_tls_loading (s);

  /* Commands go out in flights already; Nagle would only add delay. */
  g_socket_set_option (s->socket, IPPROTO_TCP, TCP_NODELAY, 1, NULL);
  set_reply_timeout (s, s->reply_timeout);

  s->stream = g_object_ref (G_IO_STREAM (s->connection));
  s->reader = _herald_line_reader_new (g_io_stream_get_input_stream (s->stream));

  return TRUE;
}

/* ---- TLS -------------------------------------------------------------------- */

static const char *
protocol_version_name (GTlsProtocolVersion version)
{
  switch (version)
    {
    case G_TLS_PROTOCOL_VERSION_SSL_3_0:
      return "SSL 3.0";
    case G_TLS_PROTOCOL_VERSION_TLS_1_0:
      return "TLS 1.0";
    case G_TLS_PROTOCOL_VERSION_TLS_1_1:
      return "TLS 1.1";
    case G_TLS_PROTOCOL_VERSION_TLS_1_2:
      return "TLS 1.2";
    case G_TLS_PROTOCOL_VERSION_TLS_1_3:
      return "TLS 1.3";
    case G_TLS_PROTOCOL_VERSION_DTLS_1_0:
      return "DTLS 1.0";
    case G_TLS_PROTOCOL_VERSION_DTLS_1_2:
      return "DTLS 1.2";
    case G_TLS_PROTOCOL_VERSION_UNKNOWN:
    default:
      return NULL;
    }
}

static char *
format_date (GDateTime *date)
{
  g_autoptr(GDateTime) utc = NULL;

  if (date == NULL)
    return NULL;

  utc = g_date_time_to_utc (date);
  return g_date_time_format (utc, "%Y-%m-%dT%H:%M:%SZ");
}

static char *
certificate_sha256 (GTlsCertificate *certificate)
{
  g_autoptr(GByteArray) der = NULL;
  g_autoptr(GChecksum) checksum = NULL;
  guint8 digest[32];
  gsize digest_len = sizeof digest;
  GString *out;

  g_object_get (certificate, "certificate", &der, NULL);
  if (der == NULL)
    return NULL;

  checksum = g_checksum_new (G_CHECKSUM_SHA256);
  g_checksum_update (checksum, der->data, der->len);
  g_checksum_get_digest (checksum, digest, &digest_len);

  out = g_string_new (NULL);
  for (gsize i = 0; i < digest_len; i++)
    g_string_append_printf (out, "%s%02X", i ? ":" : "", digest[i]);

  return g_string_free (out, FALSE);
}

static char *
describe_flags (GTlsCertificateFlags flags)
{
  GString *out = g_string_new (NULL);
  static const struct {
    GTlsCertificateFlags  flag;
    const char           *text;
  } texts[] = {
    { G_TLS_CERTIFICATE_UNKNOWN_CA, N_("it is not signed by a trusted certificate authority") },
    { G_TLS_CERTIFICATE_BAD_IDENTITY, N_("it does not match the server name") },
    { G_TLS_CERTIFICATE_NOT_ACTIVATED, N_("it is not valid yet") },
    { G_TLS_CERTIFICATE_EXPIRED, N_("it has expired") },
    { G_TLS_CERTIFICATE_REVOKED, N_("it has been revoked") },
    { G_TLS_CERTIFICATE_INSECURE, N_("it uses an insecure algorithm") },
    { G_TLS_CERTIFICATE_GENERIC_ERROR, N_("it could not be checked") },
  };

  for (guint i = 0; i < G_N_ELEMENTS (texts); i++)
    {
      if (flags & texts[i].flag)
        g_string_append_printf (out, "%s%s", out->len ? "; " : "", _(texts[i].text));
    }

  return g_string_free (out, FALSE);
}

static gboolean
accept_certificate_cb (GTlsConnection       *connection,
                       GTlsCertificate      *certificate,
                       GTlsCertificateFlags  errors,
                       gpointer              user_data)
{
  Session *s = user_data;

  g_set_object (&s->peer_certificate, certificate);
  s->peer_errors = errors;
  s->handshake_version = g_tls_connection_get_protocol_version (connection);

  /* The system trust store did not accept the certificate. With a CA file
   * of the user's, validate the chain properly against that CA (same server
   * identity, every other check still applies) and accept only when the
   * sole problem was the unknown CA and that validation is clean. */
  if (s->ca_database != NULL && (errors & G_TLS_CERTIFICATE_UNKNOWN_CA))
    {
      g_autoptr(GError) local_error = NULL;
      GTlsCertificateFlags ca_flags;

      ca_flags = g_tls_database_verify_chain (s->ca_database, certificate,
                                              G_TLS_DATABASE_PURPOSE_AUTHENTICATE_SERVER,
                                              s->identity, NULL,
                                              G_TLS_DATABASE_VERIFY_NONE,
                                              s->cancellable, &local_error);
      if (local_error != NULL)
        return FALSE;

      if (errors == G_TLS_CERTIFICATE_UNKNOWN_CA && ca_flags == 0)
        {
          s->peer_errors = 0;
          return TRUE;
        }

      /* Trusted through the CA file but wrong otherwise: report what is
       * really wrong rather than "unknown CA". */
      if ((ca_flags & G_TLS_CERTIFICATE_UNKNOWN_CA) == 0)
        s->peer_errors = ca_flags | (errors & ~G_TLS_CERTIFICATE_UNKNOWN_CA);
    }

  return FALSE;
}

static void
record_tls_info (Session         *s,
                 GTlsConnection  *tls,
                 gboolean         handshake_ok)
{
  HeraldTlsInfo *tls_info = g_new0 (HeraldTlsInfo, 1);
  GTlsCertificate *certificate = s->peer_certificate;

  /* The version is known once the server's hello arrived, also when the
   * certificate is refused afterwards (when the backend tells us). */
  {
    GTlsProtocolVersion version = g_tls_connection_get_protocol_version (tls);

    if (version == G_TLS_PROTOCOL_VERSION_UNKNOWN)
      version = s->handshake_version;
    tls_info->version = g_strdup (protocol_version_name (version));
  }
  if (certificate == NULL && handshake_ok)
    certificate = g_tls_connection_get_peer_certificate (tls);

  if (certificate != NULL)
    {
      g_autoptr(GDateTime) not_before = g_tls_certificate_get_not_valid_before (certificate);
      g_autoptr(GDateTime) not_after = g_tls_certificate_get_not_valid_after (certificate);

      tls_info->subject = g_tls_certificate_get_subject_name (certificate);
      tls_info->issuer = g_tls_certificate_get_issuer_name (certificate);
      tls_info->not_before = format_date (not_before);
      tls_info->not_after = format_date (not_after);
      tls_info->sha256 = certificate_sha256 (certificate);
    }

  tls_info->flags = s->peer_errors;
  tls_info->errors = herald_tls_flag_names (s->peer_errors);

  herald_tls_info_free (s->result->tls);
  s->result->tls = tls_info;
}

/* After a failed implicit-TLS handshake: is the rest of what the server
 * sent readable text, like an SMTP greeting? The TLS library consumed the
 * first bytes ("220 ..." is no TLS record); the rest is still queued. */
static gboolean
peer_sent_plain_text (Session *s)
{
  char buffer[256];
  GInputVector vector = { buffer, sizeof buffer };
  int flags = G_SOCKET_MSG_PEEK;
  gssize n;
  gboolean newline = FALSE;

  if (!g_socket_condition_timed_wait (s->socket, G_IO_IN, 200 * 1000, NULL, NULL))
    return FALSE;

  n = g_socket_receive_message (s->socket, NULL, &vector, 1, NULL, NULL, &flags, NULL, NULL);
  if (n <= 0)
    return FALSE;

  for (gssize i = 0; i < n; i++)
    {
      guchar c = (guchar) buffer[i];

      if (c == '\n')
        newline = TRUE;
      else if (c != '\r' && c != '\t' && (c < 0x20 || c > 0x7e))
        return FALSE;
    }

  return newline;
}

/* Worker thread, at the TLS stage: takes the CA file database the helper
 * thread parsed, waiting for it if needed (a file load is short, but one on
 * a hung mount is not: the reply timeout, or cancelling the run, ends the
 * wait). */
static gboolean
await_ca_database (Session  *s,
                   GError  **error)
{
  g_autoptr(GError) local_error = NULL;

  if (s->ca_load == NULL || s->ca_database != NULL)
    return TRUE;

  /* A file that takes longer to read than the server may take to answer is
   * on a hung mount: say so rather than wait until cancelled. */
  s->ca_database = _herald_ca_load_wait (s->ca_load, s->reply_timeout, s->cancellable,
                                         &local_error);
  if (s->ca_database == NULL &&
      g_error_matches (local_error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    {
      g_propagate_error (error, g_steal_pointer (&local_error));
      return FALSE;
    }
  if (s->ca_database == NULL)
    {
      g_set_error (error, HERALD_SMTP_ERROR, HERALD_SMTP_ERROR_INVALID_CONFIG,
                   _("The CA certificate file “%s” could not be loaded: %s"),
                   s->config->ca_file, local_error->message);
      return FALSE;
    }

  return TRUE;
}

/* A client connection over s->connection whose database is the shared
 * system trust store (_herald_smtp_system_trust): the same validation as
 * g_tls_client_connection_new() would give, without glib-networking 2.74
 * re-reading the whole trust store on the critical path before the
 * ClientHello. */
static GIOStream *
new_client_connection (Session  *s,
                       GError  **error)
{
  GTlsBackend *backend = g_tls_backend_get_default ();
  g_autoptr(GTlsDatabase) trust = NULL;

  /* Without a TLS backend, let GIO say so in its own words. */
  if (!g_tls_backend_supports_tls (backend))
    return g_tls_client_connection_new (G_IO_STREAM (s->connection), s->identity, error);

  trust = _herald_smtp_system_trust ();
  return g_initable_new (g_tls_backend_get_client_connection_type (backend),
                         s->cancellable, error,
                         "base-io-stream", s->connection,
                         "server-identity", s->identity,
                         "database", trust,
                         NULL);
}

static gboolean
do_tls_handshake (Session  *s,
                  GError  **error)
{
  g_autoptr(GIOStream) tls = NULL;
  g_autoptr(GError) local_error = NULL;
  HeraldTlsInfo *tls_info;
  gboolean ok;

  stage_begin (s, HERALD_STAGE_TLS);

  if (!await_ca_database (s, error))
    return FALSE;

  g_clear_object (&s->identity);
  s->identity = g_network_address_new (s->config->host, s->config->port);

  info (s, "TLS handshake with %s (system trust store%s%s)", s->config->host,
        s->ca_database ? " and " : "", s->ca_database ? s->config->ca_file : "");

  tls = new_client_connection (s, error);
  if (tls == NULL)
    return FALSE;

  g_signal_connect (tls, "accept-certificate", G_CALLBACK (accept_certificate_cb), s);

  ok = g_tls_connection_handshake (G_TLS_CONNECTION (tls), s->cancellable, &local_error);
  record_tls_info (s, G_TLS_CONNECTION (tls), ok);
  tls_info = s->result->tls;

  if (tls_info->subject != NULL)
    info (s, "Certificate: subject %s; issuer %s; valid %s to %s; SHA-256 %s",
          tls_info->subject, tls_info->issuer ? tls_info->issuer : "?",
          tls_info->not_before ? tls_info->not_before : "?",
          tls_info->not_after ? tls_info->not_after : "?",
          tls_info->sha256 ? tls_info->sha256 : "?");

  if (!ok)
    {
      /* Nothing more goes to this server: the connection is closed as is. */
      s->connection_broken = TRUE;

      if (s->peer_errors != 0 &&
          !g_error_matches (local_error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        {
          g_autofree char *problems = describe_flags (s->peer_errors);
          g_autofree char *names = g_strjoinv (", ", tls_info->errors);

          info (s, "Certificate rejected: %s", names);
          g_set_error (error, HERALD_SMTP_ERROR, HERALD_SMTP_ERROR_TLS_CERTIFICATE,
                       _("The certificate of %s was not accepted: %s."),
                       s->config->host, problems);
          return FALSE;
        }

      if (g_error_matches (local_error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT))
        {
          g_clear_error (&local_error);
          g_set_error (&local_error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT,
                       _("The TLS handshake with %s did not complete within %u seconds."),
                       s->config->host, s->reply_timeout);
        }
      info (s, "TLS handshake failed: %s", local_error->message);

      if (s->config->security == HERALD_SECURITY_TLS &&
          (g_error_matches (local_error, G_TLS_ERROR, G_TLS_ERROR_MISC) ||
           g_error_matches (local_error, G_TLS_ERROR, G_TLS_ERROR_NOT_TLS)) &&
          peer_sent_plain_text (s))
        {
          info (s, "The server answered in plain text: it expects STARTTLS, not implicit TLS");
          g_set_error (error, G_TLS_ERROR, G_TLS_ERROR_NOT_TLS,
                       _("%s answered in plain text on port %u: this port expects STARTTLS, "
                         "not implicit TLS (SSL/TLS)."),
                       s->config->host, (guint) s->config->port);
          return FALSE;
        }

      g_propagate_error (error, g_steal_pointer (&local_error));
      return FALSE;
    }

  {
    g_autofree char *cipher = g_tls_connection_get_ciphersuite_name (G_TLS_CONNECTION (tls));

    info (s, "TLS established: %s%s%s%s",
          tls_info->version ? tls_info->version : "unknown version",
          cipher ? " (" : "", cipher ? cipher : "", cipher ? ")" : "");
  }

  g_set_object (&s->stream, tls);
  s->tls = G_TLS_CONNECTION (s->stream);
  _herald_line_reader_set_stream (s->reader, g_io_stream_get_input_stream (s->stream));

  return TRUE;
}

/* ---- greeting, EHLO, STARTTLS ---------------------------------------------- */

static gboolean
do_greeting (Session  *s,
             GError  **error)
{
  g_autoptr(HeraldSmtpReply) reply = NULL;
  g_autoptr(GError) local_error = NULL;

  stage_begin (s, HERALD_STAGE_GREETING);

  reply = read_reply (s, TRUE, &local_error);
  if (reply == NULL)
    {
      if (g_error_matches (local_error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT))
        {
          g_set_error (error, HERALD_SMTP_ERROR, HERALD_SMTP_ERROR_NO_GREETING,
                       _("Connected to %s, but the server sent no greeting within %u seconds."),
                       s->config->host, s->reply_timeout);
          return FALSE;
        }
      g_propagate_error (error, g_steal_pointer (&local_error));
      return FALSE;
    }

  g_free (s->result->greeting);
  s->result->greeting = g_strdup (reply->text);

  if (reply->code != 220)
    {
      reply_rejected (s, reply, _("the connection"), error);
      quit_best_effort (s);
      return FALSE;
    }

  return TRUE;
}

static gboolean
do_ehlo (Session  *s,
         GError  **error)
{
  g_autoptr(HeraldSmtpReply) reply = NULL;
  g_autofree char *line = g_strdup_printf ("EHLO %s", s->helo);

  stage_begin (s, HERALD_STAGE_EHLO);

  reply = command (s, line, NULL, error);
  if (reply == NULL)
    return FALSE;

  if (reply->code == 500 || reply->code == 502)
    {
      g_autofree char *helo_line = g_strdup_printf ("HELO %s", s->helo);

      info (s, "The server does not understand EHLO; trying HELO");
      g_clear_pointer (&reply, herald_smtp_reply_free);
      reply = command (s, helo_line, NULL, error);
      if (reply == NULL)
        return FALSE;
      if (!reply_is (reply, 2))
        {
          reply_rejected (s, reply, "HELO", error);
          quit_best_effort (s);
          return FALSE;
        }

      /* HELO: no extensions at all. */
      g_clear_pointer (&s->caps, _herald_smtp_caps_free);
      s->caps = _herald_smtp_caps_parse (NULL);
    }
  else if (reply->code != 250)
    {
      reply_rejected (s, reply, "EHLO", error);
      quit_best_effort (s);
      return FALSE;
    }
  else
    {
      g_clear_pointer (&s->caps, _herald_smtp_caps_free);
      s->caps = _herald_smtp_caps_parse (reply);
    }

  g_strfreev (s->result->auth_mechanisms);
  s->result->auth_mechanisms = s->caps->auth ? g_strdupv (s->caps->auth_mechanisms) : NULL;

  return TRUE;
}

static gboolean
do_starttls (Session  *s,
             GError  **error)
{
  g_autoptr(HeraldSmtpReply) reply = NULL;

  stage_begin (s, HERALD_STAGE_STARTTLS);

  if (!s->caps->starttls)
    {
      g_set_error (error, HERALD_SMTP_ERROR, HERALD_SMTP_ERROR_STARTTLS_NOT_OFFERED,
                   _("%s does not offer STARTTLS on port %u, so the connection cannot be "
                     "encrypted. Nothing was sent unencrypted (no password)."),
                   s->config->host, (guint) s->config->port);
      quit_best_effort (s);
      return FALSE;
    }

  reply = command (s, "STARTTLS", NULL, error);
  if (reply == NULL)
    return FALSE;

  if (reply->code != 220)
    {
      reply_rejected (s, reply, "STARTTLS", error);
      quit_best_effort (s);
      return FALSE;
    }

  /* Anything the server sent after its 220 and before the handshake would
   * be read as if it came over TLS (the STARTTLS injection flaw). */
  if (_herald_line_reader_has_pending (s->reader))
    {
      g_set_error_literal (error, HERALD_SMTP_ERROR, HERALD_SMTP_ERROR_PROTOCOL,
                           _("The server sent data after accepting STARTTLS and before the "
                             "TLS handshake; refusing to continue."));
      s->connection_broken = TRUE;
      return FALSE;
    }

  return TRUE;
}

/* ---- AUTH ------------------------------------------------------------------- */

static gboolean
is_set (const char *str)
{
  return str != NULL && *str != '\0';
}

/* Cancels a SASL exchange the server left waiting on a 334, then reads the
 * reply to the cancellation (RFC 4954, 4). */
static void
abort_sasl (Session *s)
{
  g_autoptr(HeraldSmtpReply) reply = NULL;

  if (send_line (s, "*", NULL, NULL))
    reply = read_reply (s, FALSE, NULL);
}

static gboolean
auth_finish (Session          *s,
             HeraldSmtpReply  *reply,
             const char       *mechanism,
             GError          **error)
{
  if (reply->code == 235)
    {
      info (s, "Authenticated with %s", mechanism);
      return TRUE;
    }

  if (reply->code == 334)
    abort_sasl (s);

  {
    g_autofree char *what = g_strdup_printf (_("the login (AUTH %s)"), mechanism);

    reply_rejected (s, reply, what, error);
  }
  quit_best_effort (s);
  return FALSE;
}

static void
log_oauth_challenge (Session               *s,
                     const HeraldSmtpReply *reply)
{
  g_autofree guchar *decoded = NULL;
  g_autofree char *text = NULL;
  gsize length = 0;

  if (reply->text == NULL || *reply->text == '\0')
    return;

  decoded = g_base64_decode (reply->text, &length);
  if (decoded == NULL || length == 0)
    return;

  text = _herald_smtp_make_printable ((const char *) decoded, length);
  info (s, "The server's OAuth error: %s", text);
}

static gboolean
do_auth_exchange (Session     *s,
                  const char  *mechanism,
                  GError     **error)
{
  const HeraldSmtpConfig *config = s->config;
  g_autoptr(HeraldSmtpReply) reply = NULL;

  if (strcmp (mechanism, "PLAIN") == 0)
    {
      g_autofree char *payload = _herald_sasl_plain (config->username, config->password);
      g_autofree char *line = g_strconcat ("AUTH PLAIN ", payload, NULL);
      g_autofree char *shown = _herald_smtp_redact_client_line (line, FALSE);

      reply = login_command (s, line, shown, error);
      herald_secret_wipe_string (payload);
      herald_secret_wipe_string (line);
      if (reply == NULL)
        return FALSE;

      return auth_finish (s, reply, mechanism, error);
    }

  if (strcmp (mechanism, "LOGIN") == 0)
    {
      g_autofree char *user = g_base64_encode ((const guchar *) config->username,
                                               strlen (config->username));
      g_autofree char *pass = g_base64_encode ((const guchar *) config->password,
                                               strlen (config->password));

      reply = command (s, "AUTH LOGIN", NULL, error);
      if (reply != NULL && reply->code == 334)
        {
          g_clear_pointer (&reply, herald_smtp_reply_free);
          reply = command (s, user, "<redacted>", error);
          if (reply != NULL && reply->code == 334)
            {
              g_clear_pointer (&reply, herald_smtp_reply_free);
              reply = login_command (s, pass, "<redacted>", error);
            }
        }
      herald_secret_wipe_string (pass);
      if (reply == NULL)
        return FALSE;

      return auth_finish (s, reply, mechanism, error);
    }

  if (strcmp (mechanism, "XOAUTH2") == 0 || strcmp (mechanism, "OAUTHBEARER") == 0)
    {
      gboolean xoauth2 = strcmp (mechanism, "XOAUTH2") == 0;
      g_autofree char *payload = NULL;
      g_autofree char *first = g_strconcat ("AUTH ", mechanism, NULL);

      /* Wait for the 334 before sending the token: it may be too long to sit
       * comfortably on the command line as an initial response. */
      reply = command (s, first, NULL, error);
      if (reply == NULL)
        return FALSE;
      if (reply->code != 334)
        return auth_finish (s, reply, mechanism, error);

      if (xoauth2)
        payload = _herald_sasl_xoauth2 (config->username, config->oauth_token);
      else
        payload = _herald_sasl_oauthbearer (config->username, config->host,
                                            config->port, config->oauth_token);

      g_clear_pointer (&reply, herald_smtp_reply_free);
      reply = login_command (s, payload, "<redacted>", error);
      herald_secret_wipe_string (payload);
      if (reply == NULL)
        return FALSE;

      if (reply->code == 334)
        {
          g_autoptr(HeraldSmtpReply) challenge = g_steal_pointer (&reply);

          /* The token was refused and the server explains why in a base64
           * JSON challenge. XOAUTH2 (Google) wants an empty line, OAUTHBEARER
           * a single ^A (RFC 7628, 3.2.3); the final reply follows. */
          log_oauth_challenge (s, challenge);
          reply = command (s, xoauth2 ? "" : "AQ==", NULL, error);
          if (reply == NULL)
            return FALSE;
          if (reply->code == 235)
            {
              /* Success after an error challenge would be a server bug. */
              reply_rejected (s, challenge, first, error);
              quit_best_effort (s);
              return FALSE;
            }
        }

      return auth_finish (s, reply, mechanism, error);
    }

  g_assert_not_reached ();
}

static gboolean
do_auth (Session  *s,
         GError  **error)
{
  const HeraldSmtpConfig *config = s->config;
  gboolean have_password = is_set (config->username) && is_set (config->password);
  gboolean have_token = is_set (config->username) && is_set (config->oauth_token);
  const char *mechanism = NULL;

  if (config->auth == HERALD_AUTH_NONE)
    {
      info (s, "Authentication: none (not logging in)");
      return TRUE;
    }

  if (config->auth == HERALD_AUTH_AUTO && !have_password && !have_token)
    {
      info (s, "No credentials given: not logging in");
      return TRUE;
    }

  stage_begin (s, HERALD_STAGE_AUTH);

  if (config->security == HERALD_SECURITY_NONE && !config->allow_plaintext_auth)
    {
      g_set_error_literal (error, HERALD_SMTP_ERROR, HERALD_SMTP_ERROR_PLAINTEXT_AUTH_REFUSED,
                           _("Refusing to send credentials over an unencrypted connection. "
                             "Choose STARTTLS or SSL/TLS, or explicitly allow logging in "
                             "without encryption."));
      quit_best_effort (s);
      return FALSE;
    }

  if (!s->caps->auth)
    {
      g_set_error (error, HERALD_SMTP_ERROR, HERALD_SMTP_ERROR_AUTH_NOT_OFFERED,
                   _("%s does not offer authentication (no AUTH in its EHLO reply) on "
                     "port %u."),
                   config->host, (guint) config->port);
      quit_best_effort (s);
      return FALSE;
    }

  switch (config->auth)
    {
    case HERALD_AUTH_AUTO:
      if (have_token)
        {
          if (_herald_smtp_caps_has_mechanism (s->caps, "XOAUTH2"))
            mechanism = "XOAUTH2";
          else if (_herald_smtp_caps_has_mechanism (s->caps, "OAUTHBEARER"))
            mechanism = "OAUTHBEARER";
        }
      else
        {
          if (_herald_smtp_caps_has_mechanism (s->caps, "PLAIN"))
            mechanism = "PLAIN";
          else if (_herald_smtp_caps_has_mechanism (s->caps, "LOGIN"))
            mechanism = "LOGIN";
        }
      break;

    case HERALD_AUTH_PLAIN:
      mechanism = "PLAIN";
      break;

    case HERALD_AUTH_LOGIN:
      mechanism = "LOGIN";
      break;

    case HERALD_AUTH_XOAUTH2:
      mechanism = "XOAUTH2";
      break;

    case HERALD_AUTH_OAUTHBEARER:
      mechanism = "OAUTHBEARER";
      break;

    case HERALD_AUTH_NONE:
    default:
      g_assert_not_reached ();
    }

  if (mechanism == NULL || !_herald_smtp_caps_has_mechanism (s->caps, mechanism))
    {
      g_autofree char *offered = g_strjoinv (" ", s->caps->auth_mechanisms);
      const char *wanted = mechanism != NULL ? mechanism
                           : have_token ? "XOAUTH2/OAUTHBEARER" : "PLAIN/LOGIN";

      g_set_error (error, HERALD_SMTP_ERROR, HERALD_SMTP_ERROR_MECHANISM_NOT_OFFERED,
                   _("%s does not offer the login method %s (it offers: %s)."),
                   config->host, wanted, *offered ? offered : _("nothing"));
      quit_best_effort (s);
      return FALSE;
    }

  if ((strcmp (mechanism, "PLAIN") == 0 || strcmp (mechanism, "LOGIN") == 0) && !have_password)
    {
      g_set_error (error, HERALD_SMTP_ERROR, HERALD_SMTP_ERROR_INVALID_CONFIG,
                   _("Logging in with %s needs a username and a password."), mechanism);
      quit_best_effort (s);
      return FALSE;
    }
  if ((strcmp (mechanism, "XOAUTH2") == 0 || strcmp (mechanism, "OAUTHBEARER") == 0) && !have_token)
    {
      g_set_error (error, HERALD_SMTP_ERROR, HERALD_SMTP_ERROR_INVALID_CONFIG,
                   _("Logging in with %s needs a username and an OAuth 2.0 access token."),
                   mechanism);
      quit_best_effort (s);
      return FALSE;
    }

  g_free (s->result->auth_used);
  s->result->auth_used = g_strdup (mechanism);

  return do_auth_exchange (s, mechanism, error);
}

/* ---- envelope and message ------------------------------------------------- */

static gboolean
is_ascii (const char *str)
{
  for (const char *p = str; p && *p; p++)
    {
      if ((guchar) *p >= 0x80)
        return FALSE;
    }
  return TRUE;
}

static gboolean
bytes_are_ascii (GBytes *bytes)
{
  gsize length;
  const guint8 *data = g_bytes_get_data (bytes, &length);

  for (gsize i = 0; i < length; i++)
    {
      if (data[i] >= 0x80)
        return FALSE;
    }
  return TRUE;
}

typedef struct
{
  char   *line;
  char   *address;
} Rcpt;

static GPtrArray *
collect_recipients (const HeraldSmtpConfig *config)
{
  GPtrArray *rcpts = g_ptr_array_new_with_free_func (g_free);

  for (guint i = 0; config->to != NULL && config->to[i] != NULL; i++)
    g_ptr_array_add (rcpts, g_strdup_printf ("RCPT TO:<%s>", config->to[i]));
  for (guint i = 0; config->cc != NULL && config->cc[i] != NULL; i++)
    g_ptr_array_add (rcpts, g_strdup_printf ("RCPT TO:<%s>", config->cc[i]));

  return rcpts;
}

/* Reads the replies to MAIL and every RCPT of a pipelined flight. Returns
 * FALSE with error set on a rejection (stage mail or rcpt; result->reply is
 * that reply; any RCPT failure fails the test). io_failed is set when the
 * connection itself failed, so that nothing more should be read. */
static gboolean
read_envelope_replies (Session    *s,
                       GPtrArray  *rcpts,
                       gboolean   *io_failed,
                       GError    **error)
{
  g_autoptr(HeraldSmtpReply) mail_reply = NULL;
  g_autoptr(HeraldSmtpReply) failed_rcpt = NULL;
  guint failed_index = 0;
  gboolean mail_ok;

  *io_failed = FALSE;

  mail_reply = read_reply (s, TRUE, error);
  if (mail_reply == NULL)
    {
      *io_failed = TRUE;
      return FALSE;
    }

  mail_ok = reply_is (mail_reply, 2);
  if (mail_ok)
    stage_begin (s, HERALD_STAGE_RCPT);

  /* Read every RCPT reply even after a failure: they are queued anyway, and
   * the transcript should show them. */
  for (guint i = 0; i < rcpts->len; i++)
    {
      g_autoptr(HeraldSmtpReply) reply = NULL;
      g_autoptr(GError) local_error = NULL;

      reply = read_reply (s, mail_ok && failed_rcpt == NULL, &local_error);
      if (reply == NULL)
        {
          *io_failed = TRUE;
          if (mail_ok && failed_rcpt == NULL)
            {
              g_propagate_error (error, g_steal_pointer (&local_error));
              return FALSE;
            }
          break;
        }

      if (mail_ok && !reply_is (reply, 2) && failed_rcpt == NULL)
        {
          failed_rcpt = g_steal_pointer (&reply);
          failed_index = i;
        }
    }

  if (!mail_ok)
    return reply_rejected (s, mail_reply, _("the sender (MAIL FROM)"), error);

  if (failed_rcpt != NULL)
    {
      const char *line = g_ptr_array_index (rcpts, failed_index);
      g_autofree char *what = g_strdup_printf (_("the recipient %s"), line + strlen ("RCPT TO:"));

      return reply_rejected (s, failed_rcpt, what, error);
    }

  return TRUE;
}

/* After a failed pipelined envelope, read the replies still queued (for the
 * transcript) without waiting long and without replacing the failure. */
static void
drain_replies (Session *s,
               guint    n_replies)
{
  set_reply_timeout (s, QUIT_REPLY_TIMEOUT);
  for (guint i = 0; i < n_replies; i++)
    {
      g_autoptr(HeraldSmtpReply) reply = read_reply (s, FALSE, NULL);

      if (reply == NULL)
        break;
    }
  set_reply_timeout (s, s->reply_timeout);
}

static void
read_quit_reply (Session *s)
{
  g_autoptr(HeraldSmtpReply) reply = NULL;
  g_autoptr(GError) local_error = NULL;

  /* The message is accepted: the verdict is known. A missing or slow 221
   * is noted, not a failure. */
  set_reply_timeout (s, QUIT_REPLY_TIMEOUT);
  reply = read_reply (s, FALSE, &local_error);
  if (reply == NULL && !g_error_matches (local_error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    info (s, "No reply to QUIT (not a problem: the message was already accepted)");
  set_reply_timeout (s, s->reply_timeout);
}

static gboolean
do_send (Session  *s,
         GError  **error)
{
  const HeraldSmtpConfig *config = s->config;
  g_autoptr(GBytes) message = NULL;
  g_autoptr(GPtrArray) rcpts = collect_recipients (config);
  g_autoptr(GString) mail = g_string_new (NULL);
  g_autoptr(HeraldSmtpReply) reply = NULL;
  gboolean utf8_addresses;
  gboolean use_bdat = s->caps->chunking;
  gboolean pipelining = s->caps->pipelining;
  gboolean io_failed = FALSE;
  Flight flight;

  stage_begin (s, HERALD_STAGE_MAIL);

  build_message (s);
  message = g_bytes_ref (s->message);
  s->result->message_id = g_steal_pointer (&s->message_id);
  info (s, "Test message %s built (%" G_GSIZE_FORMAT " bytes)",
        s->result->message_id, g_bytes_get_size (message));

  utf8_addresses = !is_ascii (config->from);
  for (guint i = 0; config->to && config->to[i]; i++)
    utf8_addresses |= !is_ascii (config->to[i]);
  for (guint i = 0; config->cc && config->cc[i]; i++)
    utf8_addresses |= !is_ascii (config->cc[i]);

  g_string_printf (mail, "MAIL FROM:<%s>", config->from);
  if (s->caps->size)
    g_string_append_printf (mail, " SIZE=%" G_GSIZE_FORMAT, g_bytes_get_size (message));
  if (s->caps->eightbitmime && (!bytes_are_ascii (message) || utf8_addresses))
    g_string_append (mail, " BODY=8BITMIME");
  if (s->caps->smtputf8 && utf8_addresses)
    g_string_append (mail, " SMTPUTF8");
  else if (utf8_addresses)
    info (s, "The addresses contain non-ASCII characters, but the server does not offer SMTPUTF8");

  if (pipelining)
    {
      /* RFC 2920: MAIL, every RCPT and DATA (or BDAT LAST with the message,
       * and QUIT) in one flight; the replies come back in order. */
      g_autofree char *bdat = NULL;

      flight_init (&flight);
      flight_add_line (s, &flight, mail->str, NULL);
      for (guint i = 0; i < rcpts->len; i++)
        flight_add_line (s, &flight, g_ptr_array_index (rcpts, i), NULL);
      if (use_bdat)
        {
          bdat = g_strdup_printf ("BDAT %" G_GSIZE_FORMAT " LAST", g_bytes_get_size (message));
          flight_add_line (s, &flight, bdat, NULL);
          flight_add_message (s, &flight, message);
          flight_add_line (s, &flight, "QUIT", NULL);
        }
      else
        flight_add_line (s, &flight, "DATA", NULL);

      if (!flight_send (s, &flight, error))
        {
          flight_clear (&flight);
          return FALSE;
        }
      flight_clear (&flight);

      if (!read_envelope_replies (s, rcpts, &io_failed, error))
        {
          if (io_failed)
            return FALSE;

          /* BDAT and QUIT went out already: read their replies. After DATA,
           * a 354 means the server waits for a message we must not send
           * (it would reach the accepted recipients), so we drop the
           * connection instead of ending the data. */
          if (use_bdat)
            drain_replies (s, 2);
          else
            {
              g_autoptr(HeraldSmtpReply) data_reply = read_reply (s, FALSE, NULL);

              if (data_reply != NULL && data_reply->code == 354)
                {
                  info (s, "Closing the connection without sending the message");
                  s->connection_broken = TRUE;
                }
              else if (data_reply != NULL)
                quit_best_effort (s);
            }
          return FALSE;
        }

      stage_begin (s, HERALD_STAGE_DATA);
      reply = read_reply (s, TRUE, error);
      if (reply == NULL)
        return FALSE;

      if (use_bdat)
        {
          if (!reply_is (reply, 2))
            return reply_rejected (s, reply, _("the message (BDAT)"), error);

          stage_begin (s, HERALD_STAGE_QUIT);
          read_quit_reply (s);
          return TRUE;
        }
    }
  else
    {
      /* One command at a time. */
      reply = command (s, mail->str, NULL, error);
      if (reply == NULL)
        return FALSE;
      if (!reply_is (reply, 2))
        {
          reply_rejected (s, reply, _("the sender (MAIL FROM)"), error);
          quit_best_effort (s);
          return FALSE;
        }

      stage_begin (s, HERALD_STAGE_RCPT);
      for (guint i = 0; i < rcpts->len; i++)
        {
          const char *line = g_ptr_array_index (rcpts, i);

          g_clear_pointer (&reply, herald_smtp_reply_free);
          reply = command (s, line, NULL, error);
          if (reply == NULL)
            return FALSE;
          if (!reply_is (reply, 2))
            {
              g_autofree char *what = g_strdup_printf (_("the recipient %s"),
                                                       line + strlen ("RCPT TO:"));

              reply_rejected (s, reply, what, error);
              quit_best_effort (s);
              return FALSE;
            }
        }

      stage_begin (s, HERALD_STAGE_DATA);
      g_clear_pointer (&reply, herald_smtp_reply_free);

      if (use_bdat)
        {
          g_autofree char *bdat = g_strdup_printf ("BDAT %" G_GSIZE_FORMAT " LAST",
                                                   g_bytes_get_size (message));

          flight_init (&flight);
          flight_add_line (s, &flight, bdat, NULL);
          flight_add_message (s, &flight, message);
          if (!flight_send (s, &flight, error))
            {
              flight_clear (&flight);
              return FALSE;
            }
          flight_clear (&flight);

          reply = read_reply (s, TRUE, error);
          if (reply == NULL)
            return FALSE;
          if (!reply_is (reply, 2))
            {
              reply_rejected (s, reply, _("the message (BDAT)"), error);
              quit_best_effort (s);
              return FALSE;
            }

          stage_begin (s, HERALD_STAGE_QUIT);
          if (send_line (s, "QUIT", NULL, NULL))
            read_quit_reply (s);
          return TRUE;
        }

      reply = command (s, "DATA", NULL, error);
      if (reply == NULL)
        return FALSE;
    }

  /* DATA: reply must be 354, then the dot-stuffed message. */
  if (reply->code != 354)
    {
      reply_rejected (s, reply, "DATA", error);
      quit_best_effort (s);
      return FALSE;
    }

  {
    g_autoptr(GBytes) stuffed = _herald_smtp_dot_stuff (message);

    /* The transcript shows the size, not the body; the stuffed data ends
     * with the "." line. With PIPELINING, QUIT follows in the same flight. */
    flight_init (&flight);
    flight_add_raw (s, &flight, stuffed, g_bytes_get_size (message));
    if (pipelining)
      flight_add_line (s, &flight, "QUIT", NULL);

    if (!flight_send (s, &flight, error))
      {
        flight_clear (&flight);
        return FALSE;
      }
    flight_clear (&flight);
  }

  g_clear_pointer (&reply, herald_smtp_reply_free);
  reply = read_reply (s, TRUE, error);
  if (reply == NULL)
    return FALSE;
  if (!reply_is (reply, 2))
    {
      reply_rejected (s, reply, _("the message"), error);
      if (!pipelining)
        quit_best_effort (s);
      return FALSE;
    }

  stage_begin (s, HERALD_STAGE_QUIT);
  if (pipelining || send_line (s, "QUIT", NULL, NULL))
    read_quit_reply (s);

  return TRUE;
}

/* ---- the run ---------------------------------------------------------------- */

/* Loading the TLS module, the CA file and the system trust store takes
 * tens of milliseconds of CPU: it runs on the TLS helper thread while we
 * wait for the network. With implicit TLS it starts before we connect (the
 * ClientHello needs the module right after); with STARTTLS once we are
 * connected, so that it takes no CPU from the way to the connection and
 * still has the greeting, EHLO and STARTTLS round trips to finish in. It
 * may have started before (heraldctl starts it for implicit TLS once it has
 * read its settings). */
static void
start_tls_loading (Session *s)
{
  if (s->tls_loading_started)
    return;
  s->tls_loading_started = TRUE;

  herald_smtp_prepare_tls (NULL);

  /* Parsed already when the caller prepared it (heraldctl does). */
  if (s->ca_path != NULL)
    {
      s->ca_load = _herald_ca_load_take (s->ca_path);
      if (s->ca_load == NULL)
        s->ca_load = _herald_ca_load_start (s->ca_path);
    }

  /* The system trust store, last: only the server's certificate needs it,
   * so neither the module nor the CA file (which the ClientHello waits
   * for) queue behind it. */
  _herald_smtp_system_trust_preload ();
}

static char *
choose_helo (Session *s)
{
  g_autoptr(GSocketAddress) local = NULL;

  if (is_set (s->config->helo_name))
    return g_strdup (s->config->helo_name);

  /* RFC 5321: a fully qualified name, else an address literal. */
  if (strchr (s->hostname, '.') != NULL && !g_str_has_suffix (s->hostname, ".localdomain"))
    return g_strdup (s->hostname);

  local = g_socket_connection_get_local_address (s->connection, NULL);
  if (G_IS_INET_SOCKET_ADDRESS (local))
    {
      GInetAddress *address = g_inet_socket_address_get_address (G_INET_SOCKET_ADDRESS (local));
      g_autofree char *str = g_inet_address_to_string (address);

      if (g_inet_address_get_family (address) == G_SOCKET_FAMILY_IPV6)
        return g_strdup_printf ("[IPv6:%s]", str);
      return g_strdup_printf ("[%s]", str);
    }

  return g_strdup (s->hostname);
}

static gboolean
prepare (Session  *s,
         GError  **error)
{
  stage_begin (s, HERALD_STAGE_RESOLVE);

  if (!herald_smtp_config_validate (s->config, error) ||
      !_herald_smtp_config_check_credentials (s->config, error))
    return FALSE;

  if (s->config->security == HERALD_SECURITY_NONE)
    return TRUE;

  if (is_set (s->config->ca_file))
    {
      /* GTlsFileDatabase wants an absolute path; "--ca-file ./ca.pem" is fine. */
      g_autofree char *path = g_canonicalize_filename (s->config->ca_file, NULL);
      g_autofree char *contents = NULL;

      /* Cheap checks now, so that a typo fails before we connect; the
       * full parse happens on the TLS helper thread. */
      if (!g_file_test (path, G_FILE_TEST_IS_REGULAR))
        {
          g_set_error (error, HERALD_SMTP_ERROR, HERALD_SMTP_ERROR_INVALID_CONFIG,
                       _("The CA certificate file “%s” does not exist or is not a file."),
                       s->config->ca_file);
          return FALSE;
        }
      if (!g_file_get_contents (path, &contents, NULL, NULL) ||
          strstr (contents, "-----BEGIN CERTIFICATE-----") == NULL)
        {
          g_set_error (error, HERALD_SMTP_ERROR, HERALD_SMTP_ERROR_INVALID_CONFIG,
                       _("The CA certificate file “%s” could not be loaded: %s"),
                       s->config->ca_file, _("it holds no PEM certificate"));
          return FALSE;
        }
      s->ca_path = g_steal_pointer (&path);
    }

  /* Implicit TLS needs the TLS module as soon as we are connected. */
  if (s->config->security == HERALD_SECURITY_TLS)
    start_tls_loading (s);

  return TRUE;
}

static gboolean
run_session (Session  *s,
             GError  **error)
{
  const HeraldSmtpConfig *config = s->config;

  if (!prepare (s, error))
    return FALSE;

  if (!do_resolve_and_connect (s, error))
    return FALSE;

  s->helo = choose_helo (s);

  if (config->security == HERALD_SECURITY_TLS && !do_tls_handshake (s, error))
    return FALSE;

  if (!do_greeting (s, error))
    return FALSE;

  if (!do_ehlo (s, error))
    return FALSE;

  if (config->security == HERALD_SECURITY_STARTTLS)
    {
      if (!do_starttls (s, error))
        return FALSE;
      if (!do_tls_handshake (s, error))
        return FALSE;
      /* RFC 3207: forget everything learnt before TLS and ask again. */
      if (!do_ehlo (s, error))
        return FALSE;
    }

  if (!do_auth (s, error))
    return FALSE;

  return do_send (s, error);
}

static void
close_connection (Session *s,
                  gboolean ok)
{
  if (s->connection == NULL)
    return;

  set_reply_timeout (s, QUIT_REPLY_TIMEOUT);

  /* After a clean QUIT, close TLS properly; otherwise (failed handshake,
   * broken connection, cancellation) close the socket without another
   * byte. */
  if (ok && s->stream != NULL && !s->connection_broken)
    g_io_stream_close (s->stream, NULL, NULL);
  else
    g_io_stream_close (G_IO_STREAM (s->connection), NULL, NULL);
}

/**
 * herald_smtp_run:
 * @config: the settings to test
 * @cancellable: (nullable): cancels the test at any point
 * @progress: (nullable) (scope call): called when a stage starts and ends
 * @progress_data: data for @progress
 *
 * Runs a complete test send: resolve, connect, TLS, greeting, EHLO, AUTH,
 * envelope, message and QUIT. Blocks the calling thread; @progress is called
 * on it.
 *
 * Returns: (transfer full): the result, never %NULL; check its @ok field
 */
HeraldSmtpResult *
herald_smtp_run (const HeraldSmtpConfig *config,
                 GCancellable           *cancellable,
                 HeraldProgressFunc      progress,
                 gpointer                progress_data)
{
  Session session = { 0, };
  Session *s = &session;
  HeraldSmtpResult *result;
  GError *error = NULL;
  gboolean ok;

  g_return_val_if_fail (config != NULL, NULL);
  g_return_val_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable), NULL);

  s->config = config;
  s->cancellable = cancellable;
  s->progress = progress;
  s->progress_data = progress_data;
  s->result = _herald_smtp_result_new ();
  s->start_us = g_get_monotonic_time ();
  s->secrets[0] = config->password;
  s->secrets[1] = config->oauth_token;
  s->secrets[2] = NULL;
  s->hostname = g_strdup (g_get_host_name ());
  s->connect_timeout = config->connect_timeout ? config->connect_timeout : HERALD_SMTP_DEFAULT_TIMEOUT;
  s->reply_timeout = config->reply_timeout ? config->reply_timeout : HERALD_SMTP_DEFAULT_TIMEOUT;

  ok = run_session (s, &error);

  if (!ok && error == NULL)
    g_set_error_literal (&error, HERALD_SMTP_ERROR, HERALD_SMTP_ERROR_PROTOCOL,
                         "Internal error: the test failed without a reason");

  /* A cancellation may surface as another error from a half-closed stream. */
  if (!ok && g_cancellable_is_cancelled (cancellable) &&
      !g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    {
      g_clear_error (&error);
      g_set_error_literal (&error, G_IO_ERROR, G_IO_ERROR_CANCELLED, _("The test was cancelled."));
    }

  if (!ok)
    {
      g_autofree char *scrubbed = _herald_smtp_scrub (error->message, s->secrets);

      /* Never let a secret travel inside an error message. */
      if (strcmp (scrubbed, error->message) != 0)
        {
          g_free (error->message);
          error->message = g_steal_pointer (&scrubbed);
        }
      info (s, "Test failed at stage %s: %s", herald_stage_to_string (s->stage), error->message);
    }

  stage_end (s, ok);
  close_connection (s, ok);

  if (ok)
    info (s, "Test passed: the message was accepted");

  result = g_steal_pointer (&s->result);
  result->ok = ok;
  result->error = error;
  if (ok)
    result->stage = HERALD_STAGE_DONE;
  result->elapsed_ms = (g_get_monotonic_time () - s->start_us) / 1000;

  g_clear_pointer (&s->reader, _herald_line_reader_free);
  g_clear_pointer (&s->caps, _herald_smtp_caps_free);
  g_clear_object (&s->stream);
  g_clear_object (&s->connection);
  g_clear_object (&s->identity);
  g_clear_object (&s->ca_database);
  g_clear_pointer (&s->ca_load, _herald_ca_load_unref);
  g_free (s->ca_path);
  g_clear_object (&s->peer_certificate);
  g_clear_pointer (&s->message, g_bytes_unref);
  g_free (s->message_id);
  g_free (s->hostname);
  g_free (s->helo);

  return result;
}

/* ---- async ------------------------------------------------------------------ */

typedef struct
{
  HeraldSmtpConfig   *config;
  HeraldProgressFunc  progress;
  gpointer            progress_data;
  GDestroyNotify      progress_destroy;
  GMainContext       *context;
} AsyncData;

static void
async_data_free (gpointer data)
{
  AsyncData *async = data;

  herald_smtp_config_free (async->config);
  g_main_context_unref (async->context);
  g_free (async);
}

typedef struct
{
  HeraldProgressFunc  func;
  gpointer            data;
  HeraldProgress      progress;
} ProgressEvent;

/* Runs on the caller's main context. */
static gboolean
deliver_progress_cb (gpointer user_data)
{
  ProgressEvent *event = user_data;

  event->func (&event->progress, event->data);

  return G_SOURCE_REMOVE;
}

/* Runs on the worker thread: copies the event and hands it over. */
static void
forward_progress_cb (const HeraldProgress *progress,
                     gpointer              user_data)
{
  AsyncData *async = user_data;
  ProgressEvent *event = g_new0 (ProgressEvent, 1);

  event->func = async->progress;
  event->data = async->progress_data;
  event->progress = *progress;

  g_main_context_invoke_full (async->context, G_PRIORITY_DEFAULT,
                              deliver_progress_cb, event, g_free);
}

typedef struct
{
  GDestroyNotify destroy;
  gpointer       data;
} DestroyEvent;

/* Runs on the caller's main context, after the last progress event. */
static gboolean
destroy_progress_cb (gpointer user_data)
{
  DestroyEvent *event = user_data;

  event->destroy (event->data);

  return G_SOURCE_REMOVE;
}

static void
run_thread (GTask        *task,
            gpointer      source_object,
            gpointer      task_data,
            GCancellable *cancellable)
{
  AsyncData *async = task_data;
  g_autoptr(GMainContext) worker_context = g_main_context_new ();
  HeraldSmtpResult *result;

  /* With a context of its own, g_main_context_invoke() from this thread
   * always queues to the caller's context instead of running the callback
   * here when the caller's context happens to be free. */
  g_main_context_push_thread_default (worker_context);

  result = herald_smtp_run (async->config, cancellable,
                            async->progress != NULL ? forward_progress_cb : NULL, async);

  if (async->progress_destroy != NULL)
    {
      DestroyEvent *event = g_new0 (DestroyEvent, 1);

      event->destroy = async->progress_destroy;
      event->data = async->progress_data;
      async->progress_destroy = NULL;
      g_main_context_invoke_full (async->context, G_PRIORITY_DEFAULT,
                                  destroy_progress_cb, event, g_free);
    }

  /* Same priority, queued after the events: the callback runs last. */
  g_task_return_pointer (task, result, (GDestroyNotify) herald_smtp_result_free);

  g_main_context_pop_thread_default (worker_context);
}

/**
 * herald_smtp_run_async:
 * @config: the settings to test (copied)
 * @cancellable: (nullable): cancels the test at any point
 * @progress: (nullable): called on the caller's thread-default main context
 * @progress_data: data for @progress
 * @progress_destroy: (nullable): frees @progress_data on that context after
 *   the last event
 * @callback: called when the test is over
 * @user_data: data for @callback
 *
 * Runs herald_smtp_run() in a worker thread.
 */
void
herald_smtp_run_async (const HeraldSmtpConfig *config,
                       GCancellable           *cancellable,
                       HeraldProgressFunc      progress,
                       gpointer                progress_data,
                       GDestroyNotify          progress_destroy,
                       GAsyncReadyCallback     callback,
                       gpointer                user_data)
{
  g_autoptr(GTask) task = NULL;
  AsyncData *async;

  g_return_if_fail (config != NULL);
  g_return_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable));

  /* Implicit TLS: before the worker thread even starts (start_tls_loading()
   * says why not for STARTTLS). */
  if (config->security == HERALD_SECURITY_TLS)
    herald_smtp_prepare_tls (NULL);

  async = g_new0 (AsyncData, 1);
  async->config = herald_smtp_config_copy (config);
  async->progress = progress;
  async->progress_data = progress_data;
  async->progress_destroy = progress_destroy;
  async->context = g_main_context_ref_thread_default ();

  task = g_task_new (NULL, cancellable, callback, user_data);
  g_task_set_source_tag (task, herald_smtp_run_async);
  g_task_set_name (task, "herald_smtp_run_async");
  /* A cancelled test is still a result (stage, transcript, error CANCELLED). */
  g_task_set_check_cancellable (task, FALSE);
  g_task_set_task_data (task, async, async_data_free);
  g_task_run_in_thread (task, run_thread);
}

/**
 * herald_smtp_run_finish:
 * @result: the #GAsyncResult passed to the callback
 * @error: return location for an error
 *
 * Returns: (transfer full): the test result (also when the test failed);
 *   %NULL only with @error set when the task itself could not run
 */
HeraldSmtpResult *
herald_smtp_run_finish (GAsyncResult  *result,
                        GError       **error)
{
  g_return_val_if_fail (g_task_is_valid (result, NULL), NULL);
  g_return_val_if_fail (g_task_get_source_tag (G_TASK (result)) == herald_smtp_run_async, NULL);

  return g_task_propagate_pointer (G_TASK (result), error);
}
