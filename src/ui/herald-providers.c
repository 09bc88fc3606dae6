/* SPDX-License-Identifier: GPL-3.0-or-later
 * Copyright 2026 The Herald authors
 */
#define G_LOG_DOMAIN "herald-ui"

#include "config.h"

#include <glib/gi18n.h>

#include "herald-providers.h"

/* The SMTP submission settings each provider documents for its service.
 * Microsoft 365 and Google suggest
 * OAuth 2.0: Microsoft retires password SMTP AUTH by default at the end of
 * December 2026, and Google no longer accepts plain account passwords. */
static const HeraldProvider providers[] = {
  { "microsoft365", N_("Microsoft 365 / Exchange Online"), "smtp.office365.com",    587, "starttls", "xoauth2", "microsoft" },
  { "gmail",        N_("Gmail / Google Workspace"),        "smtp.gmail.com",        587, "starttls", "xoauth2", "google" },
  { "outlook",      N_("Outlook.com"),                     "smtp-mail.outlook.com", 587, "starttls", "auto",    "microsoft" },
  { "yahoo",        N_("Yahoo Mail"),                      "smtp.mail.yahoo.com",   465, "tls",      "auto",    NULL },
  { "icloud",       N_("iCloud Mail"),                     "smtp.mail.me.com",      587, "starttls", "auto",    NULL },
  { "custom",       N_("Custom SMTP server"),              NULL,                    0,   NULL,       NULL,      NULL },
};

guint
herald_providers_get_n (void)
{
  return G_N_ELEMENTS (providers);
}

const HeraldProvider *
herald_providers_get_nth (guint index)
{
  g_return_val_if_fail (index < G_N_ELEMENTS (providers), NULL);

  return &providers[index];
}

int
herald_providers_index_of (const char *id)
{
  g_return_val_if_fail (id != NULL, -1);

  for (guint i = 0; i < G_N_ELEMENTS (providers); i++)
    {
      if (g_str_equal (providers[i].id, id))
        return (int) i;
    }

  return -1;
}

const HeraldProvider *
herald_providers_lookup (const char *id)
{
  int index = herald_providers_index_of (id);

  return index < 0 ? NULL : &providers[index];
}

const char *
herald_provider_get_name (const HeraldProvider *provider)
{
  g_return_val_if_fail (provider != NULL, NULL);

  return _(provider->name);
}

gboolean
herald_provider_is_custom (const HeraldProvider *provider)
{
  g_return_val_if_fail (provider != NULL, TRUE);

  return provider->host == NULL;
}

gboolean
herald_provider_is_edited (const HeraldProvider *provider,
                           const char           *host,
                           guint                 port,
                           const char           *security,
                           const char           *auth)
{
  g_return_val_if_fail (provider != NULL, FALSE);

  if (herald_provider_is_custom (provider))
    return FALSE;

  return g_strcmp0 (provider->host, host) != 0 ||
         provider->port != port ||
         g_strcmp0 (provider->security, security) != 0 ||
         g_strcmp0 (provider->auth, auth) != 0;
}
