/* SPDX-License-Identifier: GPL-3.0-or-later
 * Copyright 2026 The Herald authors
 */
#define G_LOG_DOMAIN "herald-graph"

#include "config.h"

#include <string.h>

#include "herald-graph-private.h"

void
_herald_graph_free_secret (gpointer secret)
{
  herald_secret_free (secret);
}

char *
_herald_graph_tls_version (GTlsConnection *connection)
{
  switch (g_tls_connection_get_protocol_version (connection))
    {
    case G_TLS_PROTOCOL_VERSION_TLS_1_0:
      return g_strdup ("TLS 1.0");
    case G_TLS_PROTOCOL_VERSION_TLS_1_1:
      return g_strdup ("TLS 1.1");
    case G_TLS_PROTOCOL_VERSION_TLS_1_2:
      return g_strdup ("TLS 1.2");
    case G_TLS_PROTOCOL_VERSION_TLS_1_3:
      return g_strdup ("TLS 1.3");
    case G_TLS_PROTOCOL_VERSION_UNKNOWN:
    case G_TLS_PROTOCOL_VERSION_SSL_3_0:
    case G_TLS_PROTOCOL_VERSION_DTLS_1_0:
    case G_TLS_PROTOCOL_VERSION_DTLS_1_2:
    default:
      return NULL;
    }
}

static char *
iso_date (GDateTime *date)
{
  g_autoptr(GDateTime) utc = NULL;

  if (date == NULL)
    return NULL;
  utc = g_date_time_to_utc (date);
  return g_date_time_format (utc, "%Y-%m-%dT%H:%M:%SZ");
}

HeraldTlsInfo *
_herald_graph_tls_info (GTlsCertificate      *certificate,
                        GTlsCertificateFlags  errors)
{
  HeraldTlsInfo *info = g_new0 (HeraldTlsInfo, 1);
  g_autoptr(GByteArray) der = NULL;
  g_autoptr(GDateTime) before = NULL;
  g_autoptr(GDateTime) after = NULL;
  g_autofree char *subject = NULL;
  g_autofree char *issuer = NULL;

  g_object_get (certificate,
                "subject-name", &subject,
                "issuer-name", &issuer,
                "not-valid-before", &before,
                "not-valid-after", &after,
                "certificate", &der,
                NULL);
  /* The certificate's names are the server's text: printable only. */
  info->subject = subject != NULL ? herald_smtp_make_printable (subject, -1, FALSE) : NULL;
  info->issuer = issuer != NULL ? herald_smtp_make_printable (issuer, -1, FALSE) : NULL;
  info->not_before = iso_date (before);
  info->not_after = iso_date (after);
  if (der != NULL)
    {
      g_autoptr(GChecksum) checksum = g_checksum_new (G_CHECKSUM_SHA256);
      guint8 digest[32];
      gsize len = sizeof digest;
      GString *hex = g_string_new (NULL);

      g_checksum_update (checksum, der->data, der->len);
      g_checksum_get_digest (checksum, digest, &len);
      for (gsize i = 0; i < len; i++)
        g_string_append_printf (hex, i == 0 ? "%02X" : ":%02X", digest[i]);
      info->sha256 = g_string_free (hex, FALSE);
    }
  info->flags = errors;
  info->errors = herald_tls_flag_names (errors);

  return info;
}
