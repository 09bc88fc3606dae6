/* SPDX-License-Identifier: GPL-3.0-or-later
 * Copyright 2026 The Herald authors
 */
#define G_LOG_DOMAIN "herald-smtp"

#include "config.h"

#include <string.h>
#include <glib/gi18n-lib.h>

#include "herald-smtp-session.h"

/* TLS: the handshake (implicit or after STARTTLS), the certificate policy
 * (the system trust store, plus the user's CA file validated properly, never
 * by switching checks off), what the certificate report records, and
 * loading the trust on the TLS helper thread while the network is slow. */

/* ---- the certificate ---------------------------------------------------------- */

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
  HeraldSession *s = user_data;

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
record_tls_info (HeraldSession  *s,
                 GTlsConnection *tls,
                 gboolean        handshake_ok)
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
      g_autofree char *subject = g_tls_certificate_get_subject_name (certificate);
      g_autofree char *issuer = g_tls_certificate_get_issuer_name (certificate);

      /* The names are the server's to choose: a CN with ESC or BEL would
       * reach terminals, reports and JSON as it is. */
      if (subject != NULL)
        tls_info->subject = herald_smtp_make_printable (subject, -1, FALSE);
      if (issuer != NULL)
        tls_info->issuer = herald_smtp_make_printable (issuer, -1, FALSE);
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
peer_sent_plain_text (HeraldSession *s)
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
await_ca_database (HeraldSession  *s,
                   GError        **error)
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
new_client_connection (HeraldSession  *s,
                       GError        **error)
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

gboolean
_herald_session_tls_handshake (HeraldSession  *s,
                               GError        **error)
{
  g_autoptr(GIOStream) tls = NULL;
  g_autoptr(GError) local_error = NULL;
  HeraldTlsInfo *tls_info;
  gboolean ok;

  _herald_session_stage_begin (s, HERALD_STAGE_TLS);

  if (!await_ca_database (s, error))
    return FALSE;

  g_clear_object (&s->identity);
  s->identity = g_network_address_new (s->config->host, s->config->port);

  _herald_session_info (s, "TLS handshake with %s (system trust store%s%s)", s->config->host,
        s->ca_database ? " and " : "", s->ca_database ? s->config->ca_file : "");

  tls = new_client_connection (s, error);
  if (tls == NULL)
    return FALSE;

  g_signal_connect (tls, "accept-certificate", G_CALLBACK (accept_certificate_cb), s);

  ok = g_tls_connection_handshake (G_TLS_CONNECTION (tls), s->cancellable, &local_error);
  record_tls_info (s, G_TLS_CONNECTION (tls), ok);
  tls_info = s->result->tls;

  if (tls_info->subject != NULL)
    _herald_session_info (s, "Certificate: subject %s; issuer %s; valid %s to %s; SHA-256 %s",
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

          _herald_session_info (s, "Certificate rejected: %s", names);
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
      _herald_session_info (s, "TLS handshake failed: %s", local_error->message);

      if (s->config->security == HERALD_SECURITY_TLS &&
          (g_error_matches (local_error, G_TLS_ERROR, G_TLS_ERROR_MISC) ||
           g_error_matches (local_error, G_TLS_ERROR, G_TLS_ERROR_NOT_TLS)) &&
          peer_sent_plain_text (s))
        {
          _herald_session_info (s, "The server answered in plain text: it expects STARTTLS, not implicit TLS");
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

    _herald_session_info (s, "TLS established: %s%s%s%s",
          tls_info->version ? tls_info->version : "unknown version",
          cipher ? " (" : "", cipher ? cipher : "", cipher ? ")" : "");
  }

  g_set_object (&s->stream, tls);
  s->tls = G_TLS_CONNECTION (s->stream);
  _herald_line_reader_set_stream (s->reader, g_io_stream_get_input_stream (s->stream));

  return TRUE;
}

/* ---- trust loading ------------------------------------------------------------ */

/* Loading the TLS module, the CA file and the system trust store takes
 * tens of milliseconds of CPU: it runs on the TLS helper thread while we
 * wait for the network. With implicit TLS it starts before we connect (the
 * ClientHello needs the module right after); with STARTTLS once we are
 * connected, so that it takes no CPU from the way to the connection and
 * still has the greeting, EHLO and STARTTLS round trips to finish in. It
 * may have started before (heraldctl starts it for implicit TLS once it has
 * read its settings). */
void
_herald_session_start_tls_loading (HeraldSession *s)
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

/* Cheap checks of the CA file before any network access, so that a typo
 * fails at once; the full parse happens on the TLS helper thread. */
gboolean
_herald_session_check_ca_file (HeraldSession  *s,
                               GError        **error)
{
  /* GTlsFileDatabase wants an absolute path; "--ca-file ./ca.pem" is fine. */
  g_autofree char *path = NULL;
  g_autofree char *contents = NULL;

  if (!_herald_is_set (s->config->ca_file))
    return TRUE;

  path = g_canonicalize_filename (s->config->ca_file, NULL);
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

  return TRUE;
}
