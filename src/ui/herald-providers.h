/* SPDX-License-Identifier: GPL-3.0-or-later
 * Copyright 2026 The Herald authors
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* A mail provider preset: the documented submission settings of a provider.
 * The id is the value of the "provider" GSettings key. */
typedef struct {
  const char *id;        /* "microsoft365", ..., "custom" */
  const char *name;      /* untranslated; use herald_provider_get_name() */
  const char *host;      /* NULL for "custom" */
  guint16     port;
  const char *security;  /* engine names: "starttls", "tls", "none" */
  const char *auth;      /* engine names: "auto", "plain", "xoauth2", ... */
  const char *oauth;     /* the "oauth-provider" setting: "microsoft", "google" or NULL */
} HeraldProvider;

guint                 herald_providers_get_n      (void);
const HeraldProvider *herald_providers_get_nth    (guint       index);
const HeraldProvider *herald_providers_lookup     (const char *id);
int                   herald_providers_index_of   (const char *id);
const char           *herald_provider_get_name    (const HeraldProvider *provider);
gboolean              herald_provider_is_custom   (const HeraldProvider *provider);
/* TRUE when the given settings differ from the preset's (never for "custom"). */
gboolean              herald_provider_is_edited   (const HeraldProvider *provider,
                                                   const char           *host,
                                                   guint                 port,
                                                   const char           *security,
                                                   const char           *auth);

G_END_DECLS
