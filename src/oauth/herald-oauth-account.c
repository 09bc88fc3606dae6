/* SPDX-License-Identifier: GPL-3.0-or-later
 * Copyright 2026 The Herald authors
 */
#define G_LOG_DOMAIN "herald-oauth"

/* Providers and accounts: who signs in, with which app registration, at
 * which endpoints; the account's settings; the helpers every flow shares. */

#include "config.h"

#include <glib/gi18n.h>
#include <string.h>

#include "herald-oauth.h"
#include "herald-oauth-private.h"
#include "herald-smtp.h"

#define MICROSOFT_DEFAULT_HOST   "https://login.microsoftonline.com"
#define GOOGLE_AUTHORIZE_URL     "https://accounts.google.com/o/oauth2/v2/auth"
#define GOOGLE_TOKEN_URL         "https://oauth2.googleapis.com/token"

/* ---------------------------------------------------------------------------
 * Providers and accounts.
 * ------------------------------------------------------------------------- */

const char *
herald_oauth_provider_to_string (HeraldOAuthProvider provider)
{
  switch (provider)
    {
    case HERALD_OAUTH_PROVIDER_MICROSOFT:
      return "microsoft";
    case HERALD_OAUTH_PROVIDER_GOOGLE:
      return "google";
    default:
      return NULL;
    }
}

gboolean
herald_oauth_provider_from_string (const char          *str,
                                   HeraldOAuthProvider *out)
{
  if (g_strcmp0 (str, "microsoft") == 0)
    *out = HERALD_OAUTH_PROVIDER_MICROSOFT;
  else if (g_strcmp0 (str, "google") == 0)
    *out = HERALD_OAUTH_PROVIDER_GOOGLE;
  else
    return FALSE;

  return TRUE;
}

G_DEFINE_BOXED_TYPE (HeraldOAuthAccount, herald_oauth_account,
                     herald_oauth_account_copy, herald_oauth_account_free)

HeraldOAuthAccount *
herald_oauth_account_new (HeraldOAuthProvider  provider,
                          const char          *account)
{
  HeraldOAuthAccount *self = g_new0 (HeraldOAuthAccount, 1);

  self->provider = provider;
  self->account = g_strdup (account);

  return self;
}

HeraldOAuthAccount *
herald_oauth_account_copy (const HeraldOAuthAccount *account)
{
  HeraldOAuthAccount *copy;

  g_return_val_if_fail (account != NULL, NULL);

  copy = herald_oauth_account_new (account->provider, account->account);
  copy->client_id = g_strdup (account->client_id);
  copy->client_secret = g_strdup (account->client_secret);
  copy->tenant = g_strdup (account->tenant);
  copy->authority = g_strdup (account->authority);

  return copy;
}

void
herald_oauth_account_free (HeraldOAuthAccount *account)
{
  if (account == NULL)
    return;

  g_free (account->client_id);
  herald_secret_free (account->client_secret);
  g_free (account->tenant);
  g_free (account->authority);
  g_free (account->account);
  g_free (account);
}

gboolean
_herald_oauth_is_empty (const char *str)
{
  return str == NULL || *str == '\0';
}

const char *
herald_oauth_account_get_effective_client_id (const HeraldOAuthAccount *account)
{
  const char *built_in;

  g_return_val_if_fail (account != NULL, NULL);

  if (!_herald_oauth_is_empty (account->client_id))
    return account->client_id;

  built_in = account->provider == HERALD_OAUTH_PROVIDER_GOOGLE
             ? HERALD_GOOGLE_CLIENT_ID : HERALD_MICROSOFT_CLIENT_ID;

  return _herald_oauth_is_empty (built_in) ? NULL : built_in;
}

const char *
_herald_oauth_account_get_tenant (const HeraldOAuthAccount *account)
{
  return _herald_oauth_is_empty (account->tenant) ? HERALD_OAUTH_DEFAULT_TENANT : account->tenant;
}

/* Printable ASCII without spaces: client IDs, tenants. */
static gboolean
is_token_chars (const char *str,
                const char *extra)
{
  for (const char *p = str; *p != '\0'; p++)
    if (!g_ascii_isalnum (*p) && strchr (extra, *p) == NULL)
      return FALSE;

  return TRUE;
}

gboolean
_herald_oauth_has_control_chars (const char *str)
{
  g_autofree char *printable = herald_smtp_make_printable (str, -1, FALSE);

  /* Anything the printable filter would change: a control or bidi
   * character, a tab, bytes that are not UTF-8. */
  return strcmp (printable, str) != 0;
}

static gboolean
is_loopback_host (const char *host)
{
  return g_strcmp0 (host, "127.0.0.1") == 0
         || g_strcmp0 (host, "::1") == 0
         || g_strcmp0 (host, "[::1]") == 0
         || g_ascii_strcasecmp (host, "localhost") == 0;
}

/* The authority with its tenant and without a trailing slash. */
static char *
resolve_authority (const HeraldOAuthAccount  *account,
                   GError                   **error)
{
  g_autoptr(GUri) uri = NULL;
  g_autoptr(GError) local = NULL;
  g_autofree char *base = NULL;
  const char *scheme;
  const char *host;
  const char *path;

  if (_herald_oauth_is_empty (account->authority))
    {
      if (account->provider == HERALD_OAUTH_PROVIDER_GOOGLE)
        return g_strdup ("https://accounts.google.com");
      return g_strdup_printf (MICROSOFT_DEFAULT_HOST "/%s",
                              _herald_oauth_account_get_tenant (account));
    }

  /* GUri lets spaces through (“https://login micro.us”); no URL has them. */
  for (const char *c = account->authority; *c != '\0'; c++)
    if (g_ascii_isspace (*c) || g_ascii_iscntrl (*c))
      {
        g_set_error (error, HERALD_OAUTH_ERROR, HERALD_OAUTH_ERROR_INVALID_ACCOUNT,
                     _("The authority “%s” contains a space or a control character."),
                     account->authority);
        return NULL;
      }

  uri = g_uri_parse (account->authority, G_URI_FLAGS_NONE, &local);
  if (uri == NULL)
    {
      g_set_error (error, HERALD_OAUTH_ERROR, HERALD_OAUTH_ERROR_INVALID_ACCOUNT,
                   _("The authority “%s” is not a valid URL: %s"), account->authority, local->message);
      return NULL;
    }

  scheme = g_uri_get_scheme (uri);
  host = g_uri_get_host (uri);
  if (host == NULL || *host == '\0')
    {
      g_set_error (error, HERALD_OAUTH_ERROR, HERALD_OAUTH_ERROR_INVALID_ACCOUNT,
                   _("The authority “%s” has no host name."), account->authority);
      return NULL;
    }
  if (g_ascii_strcasecmp (scheme, "https") != 0
      && !(g_ascii_strcasecmp (scheme, "http") == 0 && is_loopback_host (host)))
    {
      g_set_error (error, HERALD_OAUTH_ERROR, HERALD_OAUTH_ERROR_INVALID_ACCOUNT,
                   _("The authority “%s” must start with https:// (plain http:// is accepted only for "
                     "this computer, 127.0.0.1 or localhost)."), account->authority);
      return NULL;
    }
  if (g_uri_get_userinfo (uri) != NULL || g_uri_get_query (uri) != NULL
      || g_uri_get_fragment (uri) != NULL)
    {
      g_set_error (error, HERALD_OAUTH_ERROR, HERALD_OAUTH_ERROR_INVALID_ACCOUNT,
                   _("The authority “%s” must be a plain URL, without user name, query or fragment."),
                   account->authority);
      return NULL;
    }

  base = g_strdup (account->authority);
  while (g_str_has_suffix (base, "/"))
    base[strlen (base) - 1] = '\0';

  /* "https://login.microsoftonline.us" alone: add the tenant. */
  path = g_uri_get_path (uri);
  if (account->provider == HERALD_OAUTH_PROVIDER_MICROSOFT && (path == NULL || strcmp (path, "") == 0
                                                               || strcmp (path, "/") == 0))
    return g_strdup_printf ("%s/%s", base, _herald_oauth_account_get_tenant (account));

  return g_steal_pointer (&base);
}

gboolean
herald_oauth_account_validate (const HeraldOAuthAccount  *account,
                               GError                   **error)
{
  const char *client_id;
  g_autofree char *authority = NULL;

  g_return_val_if_fail (account != NULL, FALSE);

  if (herald_oauth_provider_to_string (account->provider) == NULL)
    {
      g_set_error_literal (error, HERALD_OAUTH_ERROR, HERALD_OAUTH_ERROR_INVALID_ACCOUNT,
                           _("Unknown OAuth provider: choose Microsoft or Google."));
      return FALSE;
    }

  if (_herald_oauth_is_empty (account->account) || strchr (account->account, '@') == NULL
      || _herald_oauth_has_control_chars (account->account)
      || strchr (account->account, ' ') != NULL)
    {
      g_set_error_literal (error, HERALD_OAUTH_ERROR, HERALD_OAUTH_ERROR_INVALID_ACCOUNT,
                           _("Enter the mailbox address to sign in with (for example alerts@example.com)."));
      return FALSE;
    }

  client_id = herald_oauth_account_get_effective_client_id (account);
  if (client_id == NULL)
    {
      g_set_error_literal (error, HERALD_OAUTH_ERROR, HERALD_OAUTH_ERROR_INVALID_ACCOUNT,
                           _("Enter the client ID of your app registration. Herald ships none: "
                             "register an app with your identity provider (see “How to Get a Client ID”)."));
      return FALSE;
    }
  if (!is_token_chars (client_id, "-._~"))
    {
      g_set_error (error, HERALD_OAUTH_ERROR, HERALD_OAUTH_ERROR_INVALID_ACCOUNT,
                   _("The client ID “%s” contains characters a client ID never has."), client_id);
      return FALSE;
    }

  if (account->client_secret != NULL && _herald_oauth_has_control_chars (account->client_secret))
    {
      g_set_error_literal (error, HERALD_OAUTH_ERROR, HERALD_OAUTH_ERROR_INVALID_ACCOUNT,
                           _("The client secret contains control characters."));
      return FALSE;
    }

  if (account->provider == HERALD_OAUTH_PROVIDER_MICROSOFT
      && !is_token_chars (_herald_oauth_account_get_tenant (account), "-._"))
    {
      g_set_error (error, HERALD_OAUTH_ERROR, HERALD_OAUTH_ERROR_INVALID_ACCOUNT,
                   _("The tenant “%s” is not valid: use organizations, common, consumers, "
                     "a tenant ID or a domain such as contoso.onmicrosoft.com."),
                   _herald_oauth_account_get_tenant (account));
      return FALSE;
    }

  authority = resolve_authority (account, error);

  return authority != NULL;
}

gboolean
herald_oauth_account_get_endpoints (const HeraldOAuthAccount  *account,
                                    char                     **authorize_url,
                                    char                     **token_url,
                                    char                     **device_url,
                                    GError                   **error)
{
  g_autofree char *authority = NULL;

  g_return_val_if_fail (account != NULL, FALSE);

  authority = resolve_authority (account, error);
  if (authority == NULL)
    return FALSE;

  if (account->provider == HERALD_OAUTH_PROVIDER_GOOGLE)
    {
      gboolean is_default = _herald_oauth_is_empty (account->authority);

      /* An overridden Google authority serves AUTHORITY/o/oauth2/v2/auth and
       * AUTHORITY/token (our tests' stand-in does). */
      if (authorize_url != NULL)
        *authorize_url = is_default ? g_strdup (GOOGLE_AUTHORIZE_URL)
                                    : g_strdup_printf ("%s/o/oauth2/v2/auth", authority);
      if (token_url != NULL)
        *token_url = is_default ? g_strdup (GOOGLE_TOKEN_URL)
                                : g_strdup_printf ("%s/token", authority);
      if (device_url != NULL)
        *device_url = NULL;
      return TRUE;
    }

  if (authorize_url != NULL)
    *authorize_url = g_strdup_printf ("%s/oauth2/v2.0/authorize", authority);
  if (token_url != NULL)
    *token_url = g_strdup_printf ("%s/oauth2/v2.0/token", authority);
  if (device_url != NULL)
    *device_url = g_strdup_printf ("%s/oauth2/v2.0/devicecode", authority);

  return TRUE;
}

const char *
_herald_oauth_account_get_scope (const HeraldOAuthAccount *account)
{
  return account->provider == HERALD_OAUTH_PROVIDER_GOOGLE
         ? HERALD_OAUTH_GOOGLE_SCOPE : HERALD_OAUTH_MICROSOFT_SCOPE;
}

gboolean
_herald_oauth_account_check_key (const HeraldOAuthAccount  *account,
                                 GError                   **error)
{
  if (_herald_oauth_is_empty (account->account)
      || herald_oauth_account_get_effective_client_id (account) == NULL)
    {
      g_set_error_literal (error, HERALD_OAUTH_ERROR, HERALD_OAUTH_ERROR_INVALID_ACCOUNT,
                           _("An OAuth account needs a mailbox address and a client ID."));
      return FALSE;
    }

  return TRUE;
}

/* Runs @thread_func on a worker thread with a copy of @account as the task
 * data: the common body of the account-only _async functions. */
void
_herald_oauth_run_account_task (const HeraldOAuthAccount *account,
                                gpointer                  source_tag,
                                GTaskThreadFunc           thread_func,
                                GCancellable             *cancellable,
                                GAsyncReadyCallback       callback,
                                gpointer                  user_data)
{
  g_autoptr(GTask) task = g_task_new (NULL, cancellable, callback, user_data);

  g_task_set_source_tag (task, source_tag);
  g_task_set_task_data (task, herald_oauth_account_copy (account),
                        (GDestroyNotify) herald_oauth_account_free);
  g_task_run_in_thread (task, thread_func);
}

/* ---------------------------------------------------------------------------
 * Settings.
 * ------------------------------------------------------------------------- */

HeraldOAuthAccount *
herald_oauth_account_new_from_settings (GSettings *settings)
{
  g_autofree char *provider_name = NULL;
  g_autofree char *username = NULL;
  HeraldOAuthProvider provider = HERALD_OAUTH_PROVIDER_MICROSOFT;
  HeraldOAuthAccount *account;

  g_return_val_if_fail (G_IS_SETTINGS (settings), NULL);

  provider_name = g_settings_get_string (settings, "oauth-provider");
  herald_oauth_provider_from_string (provider_name, &provider);
  username = g_settings_get_string (settings, "username");

  account = herald_oauth_account_new (provider, username);
  account->client_id = g_settings_get_string (settings, "oauth-client-id");
  account->tenant = g_settings_get_string (settings, "oauth-tenant");
  account->authority = g_settings_get_string (settings, "oauth-authority");

  return account;
}

void
herald_oauth_account_save_to_settings (const HeraldOAuthAccount *account,
                                       GSettings                *settings)
{
  g_return_if_fail (account != NULL);
  g_return_if_fail (G_IS_SETTINGS (settings));

  g_settings_set_string (settings, "oauth-provider", herald_oauth_provider_to_string (account->provider));
  g_settings_set_string (settings, "oauth-client-id", account->client_id != NULL ? account->client_id : "");
  if (account->provider == HERALD_OAUTH_PROVIDER_MICROSOFT)
    g_settings_set_string (settings, "oauth-tenant", _herald_oauth_account_get_tenant (account));
  g_settings_set_string (settings, "oauth-authority", account->authority != NULL ? account->authority : "");
  g_settings_set_string (settings, "username", account->account != NULL ? account->account : "");
}
