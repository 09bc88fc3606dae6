/* SPDX-License-Identifier: GPL-3.0-or-later
 * Copyright 2026 The Herald authors
 */
#pragma once

/* Internals shared by the Graph library's files and its tests. */

#include <gio/gio.h>

#include "herald-graph.h"

G_BEGIN_DECLS

/* The certificate as the engine reports it (subject, issuer, dates, SHA-256). */
HeraldTlsInfo    *_herald_graph_tls_info (GTlsCertificate      *certificate,
                                          GTlsCertificateFlags  errors);
/* "TLS 1.3", or NULL. */
char             *_herald_graph_tls_version (GTlsConnection *connection);
/* Wipes and frees a secret string (a GDestroyNotify). */
void              _herald_graph_free_secret (gpointer secret);
/* @text with every secret of @secrets (of any length) replaced by <redacted>. */
char             *_herald_graph_scrub (const char *text,
                                       GPtrArray  *secrets);
/* Seconds from a Retry-After header (delta-seconds or HTTP date), capped at a
 * day; -1 when absent or unusable. */
gint64            _herald_graph_parse_retry_after (const char *value);

G_END_DECLS
