/* SPDX-License-Identifier: GPL-3.0-or-later
 * Copyright 2026 The Herald authors
 */
#define G_LOG_DOMAIN "herald-oauth"

#include "config.h"

#include <errno.h>
#include <glib/gi18n.h>
#include <json-glib/json-glib.h>
#include <libsoup/soup.h>
#include <string.h>
#include <sys/random.h>

#include "herald-oauth.h"
#include "herald-oauth-private.h"
#include "herald-secret.h"
#include "herald-secrets.h"
#include "herald-secrets-oauth.h"

#define MICROSOFT_DEFAULT_HOST   "https://login.microsoftonline.com"
#define GOOGLE_AUTHORIZE_URL     "https://accounts.google.com/o/oauth2/v2/auth"
#define GOOGLE_TOKEN_URL         "https://oauth2.googleapis.com/token"
#define DEVICE_GRANT_TYPE        "urn:ietf:params:oauth:grant-type:device_code"
#define HTTP_TIMEOUT_SECONDS     30    /* libsoup: per read or write */
#define HTTP_DEADLINE_SECONDS    60    /* one whole request, reply body included */
#define REDIRECT_WAIT_SECONDS    600   /* authorization codes live about ten minutes */
#define REQUEST_DEADLINE_SECONDS 5     /* a whole local request: browsers send it at once */
#define MAX_REQUEST_HEAD         8192
#define MAX_REPLY_BYTES          (256 * 1024)

G_DEFINE_QUARK (herald-oauth-error-quark, herald_oauth_error)

static guint poll_unit_ms = 1000;
static guint http_deadline_ms = HTTP_DEADLINE_SECONDS * 1000;
/* Refreshes are serialised, so two callers never spend the same refresh token. */
static GMutex refresh_lock;

static HeraldOAuthBrowserFunc browser_func;
static gpointer browser_data;
G_LOCK_DEFINE_STATIC (browser);

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

static gboolean
is_empty (const char *str)
{
  return str == NULL || *str == '\0';
}

const char *
herald_oauth_account_get_effective_client_id (const HeraldOAuthAccount *account)
{
  const char *built_in;

  g_return_val_if_fail (account != NULL, NULL);

  if (!is_empty (account->client_id))
    return account->client_id;

  built_in = account->provider == HERALD_OAUTH_PROVIDER_GOOGLE
             ? HERALD_GOOGLE_CLIENT_ID : HERALD_MICROSOFT_CLIENT_ID;

  return is_empty (built_in) ? NULL : built_in;
}

static const char *
effective_tenant (const HeraldOAuthAccount *account)
{
  return is_empty (account->tenant) ? HERALD_OAUTH_DEFAULT_TENANT : account->tenant;
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

static gboolean
has_control_chars (const char *str)
{
  for (const char *p = str; *p != '\0'; p++)
    if ((guchar) *p < 0x20 || *p == 0x7f)
      return TRUE;

  return FALSE;
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

  if (is_empty (account->authority))
    {
      if (account->provider == HERALD_OAUTH_PROVIDER_GOOGLE)
        return g_strdup ("https://accounts.google.com");
      return g_strdup_printf (MICROSOFT_DEFAULT_HOST "/%s", effective_tenant (account));
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
    return g_strdup_printf ("%s/%s", base, effective_tenant (account));

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

  if (is_empty (account->account) || strchr (account->account, '@') == NULL
      || has_control_chars (account->account) || strchr (account->account, ' ') != NULL)
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

  if (account->client_secret != NULL && has_control_chars (account->client_secret))
    {
      g_set_error_literal (error, HERALD_OAUTH_ERROR, HERALD_OAUTH_ERROR_INVALID_ACCOUNT,
                           _("The client secret contains control characters."));
      return FALSE;
    }

  if (account->provider == HERALD_OAUTH_PROVIDER_MICROSOFT
      && !is_token_chars (effective_tenant (account), "-._"))
    {
      g_set_error (error, HERALD_OAUTH_ERROR, HERALD_OAUTH_ERROR_INVALID_ACCOUNT,
                   _("The tenant “%s” is not valid: use organizations, common, consumers, "
                     "a tenant ID or a domain such as contoso.onmicrosoft.com."),
                   effective_tenant (account));
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
      gboolean is_default = is_empty (account->authority);

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

static const char *
scope_for (const HeraldOAuthAccount *account)
{
  return account->provider == HERALD_OAUTH_PROVIDER_GOOGLE
         ? HERALD_OAUTH_GOOGLE_SCOPE : HERALD_OAUTH_MICROSOFT_SCOPE;
}

/* ---------------------------------------------------------------------------
 * Random values and PKCE.
 * ------------------------------------------------------------------------- */

gboolean
_herald_oauth_random_bytes (guint8  *buf,
                            gsize    n,
                            GError **error)
{
  gsize done = 0;

  while (done < n)
    {
      ssize_t r = getrandom (buf + done, n - done, 0);

      if (r < 0)
        {
          int saved = errno;

          if (saved == EINTR)
            continue;
          g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved),
                       _("Could not read the system's random source: %s"), g_strerror (saved));
          return FALSE;
        }
      done += (gsize) r;
    }

  return TRUE;
}

char *
_herald_oauth_base64url (const guint8 *data,
                         gsize         len)
{
  char *text = g_base64_encode (data, len);
  char *out = text;

  for (char *p = text; *p != '\0'; p++)
    {
      if (*p == '=')
        break;
      *out++ = *p == '+' ? '-' : *p == '/' ? '_' : *p;
    }
  *out = '\0';

  return text;
}

char *
_herald_oauth_random_urlsafe (gsize    n,
                              GError **error)
{
  g_autofree guint8 *buf = g_malloc (n);
  char *text;

  if (!_herald_oauth_random_bytes (buf, n, error))
    return NULL;
  text = _herald_oauth_base64url (buf, n);
  herald_secret_wipe (buf, n);

  return text;
}

char *
_herald_oauth_pkce_challenge (const char *verifier)
{
  g_autoptr(GChecksum) checksum = g_checksum_new (G_CHECKSUM_SHA256);
  guint8 digest[32];
  gsize len = sizeof digest;

  g_checksum_update (checksum, (const guchar *) verifier, strlen (verifier));
  g_checksum_get_digest (checksum, digest, &len);

  return _herald_oauth_base64url (digest, len);
}

/* ---------------------------------------------------------------------------
 * Errors from the identity provider.
 * ------------------------------------------------------------------------- */

guint
herald_oauth_error_get_aadsts (const GError *error)
{
  const char *p;

  if (error == NULL || error->domain != HERALD_OAUTH_ERROR || error->message == NULL)
    return 0;

  p = strstr (error->message, "AADSTS");
  if (p == NULL || !g_ascii_isdigit (p[6]))
    return 0;

  return (guint) g_ascii_strtoull (p + 6, NULL, 10);
}

static HeraldOAuthErrorCode
code_for_aadsts (guint aadsts)
{
  switch (aadsts)
    {
    case 7000218:
      return HERALD_OAUTH_ERROR_PUBLIC_CLIENT_NOT_ALLOWED;
    case 65001:
    case 90094:
    case 90095:
      return HERALD_OAUTH_ERROR_CONSENT_REQUIRED;
    case 50076:
    case 50079:
    case 50158:
    case 53000:
    case 53001:
    case 53003:
      return HERALD_OAUTH_ERROR_INTERACTION_REQUIRED;
    case 700016:
      return HERALD_OAUTH_ERROR_APP_NOT_FOUND;
    case 90002:
    case 900023:
      return HERALD_OAUTH_ERROR_TENANT_NOT_FOUND;
    case 7000215:
    case 7000222:
    case 700025:
      return HERALD_OAUTH_ERROR_INVALID_CLIENT;
    case 50011:
      return HERALD_OAUTH_ERROR_REDIRECT_MISMATCH;
    case 70011:
      return HERALD_OAUTH_ERROR_INVALID_SCOPE;
    case 70000:
    case 50173:
    case 700082:
    case 700084:
    case 54005:
    case 70008:
    case 50126:
      return HERALD_OAUTH_ERROR_SIGN_IN_AGAIN;
    case 70016:
      return HERALD_OAUTH_ERROR_SERVER;   /* authorization_pending, handled by the caller */
    case 70019:
      return HERALD_OAUTH_ERROR_EXPIRED;
    case 65004:   /* the user declined to consent */
      return HERALD_OAUTH_ERROR_DECLINED;
    default:
      return HERALD_OAUTH_ERROR_SERVER;
    }
}

static HeraldOAuthErrorCode
code_for_oauth_error (const char *error)
{
  static const struct {
    const char *name;
    HeraldOAuthErrorCode code;
  } map[] = {
    { "invalid_grant", HERALD_OAUTH_ERROR_SIGN_IN_AGAIN },
    { "authorization_declined", HERALD_OAUTH_ERROR_DECLINED },
    { "access_denied", HERALD_OAUTH_ERROR_DECLINED },
    { "expired_token", HERALD_OAUTH_ERROR_EXPIRED },
    { "consent_required", HERALD_OAUTH_ERROR_CONSENT_REQUIRED },
    { "interaction_required", HERALD_OAUTH_ERROR_INTERACTION_REQUIRED },
    { "invalid_client", HERALD_OAUTH_ERROR_INVALID_CLIENT },
    { "unauthorized_client", HERALD_OAUTH_ERROR_INVALID_CLIENT },
    { "redirect_uri_mismatch", HERALD_OAUTH_ERROR_REDIRECT_MISMATCH },
    { "invalid_scope", HERALD_OAUTH_ERROR_INVALID_SCOPE },
  };

  for (guint i = 0; i < G_N_ELEMENTS (map); i++)
    if (g_strcmp0 (error, map[i].name) == 0)
      return map[i].code;

  return HERALD_OAUTH_ERROR_SERVER;
}

static const char *
explain_code (HeraldOAuthErrorCode code)
{
  switch (code)
    {
    case HERALD_OAUTH_ERROR_SIGN_IN_AGAIN:
      return _("The sign-in has expired or was revoked: sign in again.");
    case HERALD_OAUTH_ERROR_DECLINED:
      return _("The sign-in was declined.");
    case HERALD_OAUTH_ERROR_EXPIRED:
      return _("The sign-in code expired before the sign-in was finished: start again.");
    case HERALD_OAUTH_ERROR_PUBLIC_CLIENT_NOT_ALLOWED:
      return _("The app registration does not allow public client flows: in Microsoft Entra, "
               "open the app registration, Authentication, and set “Allow public client flows” to Yes.");
    case HERALD_OAUTH_ERROR_CONSENT_REQUIRED:
      return _("An administrator must grant consent to the app registration (delegated permission SMTP.Send).");
    case HERALD_OAUTH_ERROR_INTERACTION_REQUIRED:
      return _("Your organization requires multi-factor authentication or a Conditional Access policy "
               "blocked the sign-in.");
    case HERALD_OAUTH_ERROR_APP_NOT_FOUND:
      return _("No app with this client ID exists in the tenant: check the client ID and the tenant.");
    case HERALD_OAUTH_ERROR_TENANT_NOT_FOUND:
      return _("The tenant was not found: check the tenant ID or domain.");
    case HERALD_OAUTH_ERROR_INVALID_CLIENT:
      return _("The identity provider refused the client ID (or its secret).");
    case HERALD_OAUTH_ERROR_REDIRECT_MISMATCH:
      return _("The app registration lacks the redirect URI http://localhost "
               "(Microsoft: platform “Mobile and desktop applications”).");
    case HERALD_OAUTH_ERROR_INVALID_SCOPE:
      return _("The identity provider refused the mail permission (scope) for this app.");
    case HERALD_OAUTH_ERROR_INVALID_ACCOUNT:
    case HERALD_OAUTH_ERROR_NOT_SIGNED_IN:
    case HERALD_OAUTH_ERROR_STATE_MISMATCH:
    case HERALD_OAUTH_ERROR_UNSUPPORTED:
    case HERALD_OAUTH_ERROR_PROTOCOL:
    case HERALD_OAUTH_ERROR_NO_BROWSER:
    case HERALD_OAUTH_ERROR_SERVER:
    default:
      return _("The identity provider refused the request.");
    }
}

/* A string member, or fallback when it is absent or not a string: the
 * identity provider's JSON is untrusted. */
static const char *
json_string_member (JsonObject *object,
                    const char *name,
                    const char *fallback)
{
  JsonNode *node = json_object_get_member (object, name);

  if (node == NULL || !JSON_NODE_HOLDS_VALUE (node) || json_node_get_value_type (node) != G_TYPE_STRING)
    return fallback;

  return json_node_get_string (node);
}

/* The first line of a description, with control characters dropped and a
 * sane length: the server's text is untrusted. */
static char *
clean_description (const char *text)
{
  GString *out = g_string_new (NULL);

  for (const char *p = text; *p != '\0' && *p != '\r' && *p != '\n' && out->len < 500; p++)
    if ((guchar) *p >= 0x20 && *p != 0x7f)
      g_string_append_c (out, *p);

  if (!g_utf8_validate (out->str, -1, NULL))
    {
      char *valid = g_utf8_make_valid (out->str, -1);
      g_string_free (out, TRUE);
      return valid;
    }

  return g_string_free (out, FALSE);
}

static GError *
error_from_fields (const char *oauth_error,
                   const char *description,
                   guint       aadsts)
{
  g_autofree char *desc = description != NULL ? clean_description (description) : NULL;
  g_autofree char *safe_error = oauth_error != NULL ? clean_description (oauth_error) : g_strdup ("error");
  g_autofree char *detail = NULL;
  HeraldOAuthErrorCode code;

  if (aadsts == 0 && desc != NULL)
    {
      const char *p = strstr (desc, "AADSTS");
      if (p != NULL && g_ascii_isdigit (p[6]))
        aadsts = (guint) g_ascii_strtoull (p + 6, NULL, 10);
    }

  code = aadsts != 0 ? code_for_aadsts (aadsts) : HERALD_OAUTH_ERROR_SERVER;
  if (code == HERALD_OAUTH_ERROR_SERVER)
    code = code_for_oauth_error (oauth_error);

  if (desc != NULL && *desc != '\0')
    {
      if (aadsts != 0 && strstr (desc, "AADSTS") == NULL)
        detail = g_strdup_printf ("%s: AADSTS%u: %s", safe_error, aadsts, desc);
      else
        detail = g_strdup_printf ("%s: %s", safe_error, desc);
    }
  else if (aadsts != 0)
    detail = g_strdup_printf ("%s: AADSTS%u", safe_error, aadsts);
  else
    detail = g_strdup (safe_error);

  return g_error_new (HERALD_OAUTH_ERROR, code, "%s (%s)", explain_code (code), detail);
}

GError *
_herald_oauth_error_from_reply (guint   http_status,
                                GBytes *body)
{
  g_autoptr(JsonParser) parser = json_parser_new ();
  JsonNode *root;
  JsonObject *object;
  const char *oauth_error;
  const char *description;
  guint aadsts = 0;
  gsize len = 0;
  const char *data = body != NULL ? g_bytes_get_data (body, &len) : NULL;

  if (data == NULL || len == 0 || !json_parser_load_from_data (parser, data, len, NULL)
      || (root = json_parser_get_root (parser)) == NULL || !JSON_NODE_HOLDS_OBJECT (root))
    return g_error_new (HERALD_OAUTH_ERROR, HERALD_OAUTH_ERROR_PROTOCOL,
                        _("The identity provider answered with HTTP status %u and no usable error "
                          "description."), http_status);

  object = json_node_get_object (root);
  oauth_error = json_string_member (object, "error", NULL);
  description = json_string_member (object, "error_description", NULL);
  if (json_object_has_member (object, "error_codes"))
    {
      JsonNode *codes = json_object_get_member (object, "error_codes");
      if (JSON_NODE_HOLDS_ARRAY (codes) && json_array_get_length (json_node_get_array (codes)) > 0)
        {
          JsonNode *first = json_array_get_element (json_node_get_array (codes), 0);
          if (JSON_NODE_HOLDS_VALUE (first) && json_node_get_value_type (first) == G_TYPE_INT64)
            aadsts = (guint) json_node_get_int (first);
        }
    }

  if (oauth_error == NULL)
    return g_error_new (HERALD_OAUTH_ERROR, HERALD_OAUTH_ERROR_PROTOCOL,
                        _("The identity provider answered with HTTP status %u without an error code."),
                        http_status);

  return error_from_fields (oauth_error, description, aadsts);
}

/* ---------------------------------------------------------------------------
 * HTTP. Each operation runs on one worker thread with its own session; TLS is
 * verified by libsoup with the system's trust store (never relaxed).
 * ------------------------------------------------------------------------- */

static SoupSession *
new_session (void)
{
  return soup_session_new_with_options ("timeout", HTTP_TIMEOUT_SECONDS,
                                        "user-agent", "Herald/" PACKAGE_VERSION " ",
                                        NULL);
}

void
_herald_oauth_set_http_deadline_ms (guint ms)
{
  http_deadline_ms = ms != 0 ? ms : HTTP_DEADLINE_SECONDS * 1000;
}

/* libsoup's timeout applies to each read, so an endpoint that drips its reply
 * a byte at a time could keep a request going for hours even under the size
 * cap. A watchdog thread cancels the request's own cancellable at the
 * deadline: the requests are synchronous, on a worker thread, and nothing
 * iterates a main context while they block. */
typedef struct {
  GMutex        mutex;
  GCond         cond;
  GThread      *thread;
  GCancellable *cancellable;   /* the request's: cancelled at the deadline */
  gint64        deadline;
  gboolean      finished;
  gboolean      fired;
} Watchdog;

static gpointer
watchdog_thread (gpointer user_data)
{
  Watchdog *dog = user_data;

  g_mutex_lock (&dog->mutex);
  while (!dog->finished)
    {
      if (!g_cond_wait_until (&dog->cond, &dog->mutex, dog->deadline) && !dog->finished)
        {
          dog->fired = TRUE;
          g_cancellable_cancel (dog->cancellable);
          break;
        }
    }
  g_mutex_unlock (&dog->mutex);

  return NULL;
}

static void
watchdog_start (Watchdog     *dog,
                GCancellable *cancellable,
                guint         ms)
{
  memset (dog, 0, sizeof *dog);
  g_mutex_init (&dog->mutex);
  g_cond_init (&dog->cond);
  dog->cancellable = g_object_ref (cancellable);
  dog->deadline = g_get_monotonic_time () + (gint64) ms * 1000;
  dog->thread = g_thread_new ("herald-oauth-deadline", watchdog_thread, dog);
}

/* Returns TRUE when the deadline passed (and the cancellable was cancelled). */
static gboolean
watchdog_stop (Watchdog *dog)
{
  gboolean fired;

  g_mutex_lock (&dog->mutex);
  dog->finished = TRUE;
  g_cond_signal (&dog->cond);
  g_mutex_unlock (&dog->mutex);
  g_thread_join (dog->thread);

  fired = dog->fired;
  g_clear_object (&dog->cancellable);
  g_mutex_clear (&dog->mutex);
  g_cond_clear (&dog->cond);

  return fired;
}

static void
chain_cancel_cb (GCancellable *outer,
                 GCancellable *inner)
{
  g_cancellable_cancel (inner);
}

/* Sends msg and reads at most max + 1 bytes of its body, all within the
 * request deadline. A deadline that passes gives G_IO_ERROR_TIMED_OUT; a
 * cancellation by the caller stays G_IO_ERROR_CANCELLED. */
static GBytes *
send_and_read_capped (SoupSession   *session,
                      SoupMessage   *msg,
                      const char    *url,
                      gsize          max,
                      GCancellable  *cancellable,
                      GError       **error)
{
  g_autoptr(GCancellable) request = g_cancellable_new ();
  g_autoptr(GInputStream) stream = NULL;
  g_autofree guint8 *buffer = NULL;
  GError *local = NULL;
  Watchdog dog;
  gulong handler = 0;
  gboolean fired;
  gsize len = 0;

  if (cancellable != NULL)
    handler = g_cancellable_connect (cancellable, G_CALLBACK (chain_cancel_cb), request, NULL);
  watchdog_start (&dog, request, http_deadline_ms);

  stream = soup_session_send (session, msg, request, &local);
  if (stream != NULL)
    {
      buffer = g_malloc (max + 1);
      g_input_stream_read_all (stream, buffer, max + 1, &len, request, &local);
    }

  fired = watchdog_stop (&dog);
  if (cancellable != NULL)
    g_cancellable_disconnect (cancellable, handler);

  if (local != NULL)
    {
      if (fired && g_error_matches (local, G_IO_ERROR, G_IO_ERROR_CANCELLED)
          && !g_cancellable_is_cancelled (cancellable))
        {
          g_clear_error (&local);
          g_set_error (&local, G_IO_ERROR, G_IO_ERROR_TIMED_OUT,
                       _("The identity provider at %s did not complete its answer within %u seconds."),
                       url, (http_deadline_ms + 999) / 1000);
        }
      g_propagate_error (error, local);
      return NULL;
    }

  return g_bytes_new_take (g_steal_pointer (&buffer), len);
}

/* POSTs the form and returns the JSON object of a 2xx reply. An error reply
 * becomes a HERALD_OAUTH_ERROR with the provider's code and description;
 * oauth_error, when non-NULL, receives the provider's "error" value. */
static JsonObject *
post_form (SoupSession   *session,
           const char    *url,
           GHashTable    *form,
           char         **oauth_error,
           GCancellable  *cancellable,
           GError       **error)
{
  g_autoptr(SoupMessage) msg = NULL;
  g_autoptr(GBytes) body = NULL;
  g_autoptr(JsonParser) parser = NULL;
  JsonNode *root;
  char *encoded;
  guint status;
  gsize len;

  encoded = soup_form_encode_hash (form);
  msg = soup_message_new_from_encoded_form ("POST", url, encoded);
  if (msg == NULL)
    {
      g_set_error (error, HERALD_OAUTH_ERROR, HERALD_OAUTH_ERROR_INVALID_ACCOUNT,
                   _("Cannot use the URL “%s”."), url);
      return NULL;
    }
  soup_message_headers_replace (soup_message_get_request_headers (msg), "Accept", "application/json");
  /* The form carries the refresh token (and Google's client secret): never
   * re-post it wherever a redirect points. */
  soup_message_add_flags (msg, SOUP_MESSAGE_NO_REDIRECT);

  /* Read at most one byte past the cap, so a hostile endpoint cannot make us
   * buffer an unbounded body, and within the deadline, so that it cannot
   * make us wait without end either. */
  body = send_and_read_capped (session, msg, url, MAX_REPLY_BYTES, cancellable, error);
  if (body == NULL)
    return NULL;
  len = g_bytes_get_size (body);

  status = soup_message_get_status (msg);
  if (len > MAX_REPLY_BYTES)
    {
      g_set_error (error, HERALD_OAUTH_ERROR, HERALD_OAUTH_ERROR_PROTOCOL,
                   _("The identity provider sent an oversized reply (%" G_GSIZE_FORMAT " bytes)."), len);
      return NULL;
    }

  if (!SOUP_STATUS_IS_SUCCESSFUL (status))
    {
      GError *local = _herald_oauth_error_from_reply (status, body);

      if (oauth_error != NULL)
        {
          g_autoptr(JsonParser) p = json_parser_new ();
          JsonNode *r;

          if (len > 0 && json_parser_load_from_data (p, g_bytes_get_data (body, NULL), len, NULL)
              && (r = json_parser_get_root (p)) != NULL && JSON_NODE_HOLDS_OBJECT (r))
            *oauth_error = g_strdup (json_string_member (json_node_get_object (r), "error", NULL));
        }
      g_propagate_error (error, local);
      return NULL;
    }

  parser = json_parser_new ();
  if (len == 0 || !json_parser_load_from_data (parser, g_bytes_get_data (body, NULL), len, NULL)
      || (root = json_parser_get_root (parser)) == NULL || !JSON_NODE_HOLDS_OBJECT (root))
    {
      g_set_error (error, HERALD_OAUTH_ERROR, HERALD_OAUTH_ERROR_PROTOCOL,
                   _("The identity provider at %s did not answer with JSON (HTTP status %u)."),
                   url, status);
      return NULL;
    }

  return json_object_ref (json_node_get_object (root));
}

static GHashTable *
new_form (void)
{
  /* Values may be secrets: wiped when the form goes. */
  return g_hash_table_new_full (g_str_hash, g_str_equal, NULL, (GDestroyNotify) herald_secret_free);
}

static void
form_add (GHashTable *form,
          const char *key,
          const char *value)
{
  if (value != NULL)
    g_hash_table_insert (form, (gpointer) key, g_strdup (value));
}

/* Validates a token reply and stores it. old may supply the refresh token
 * when the reply has none, and the client secret. */
static gboolean
store_token_reply (const HeraldOAuthAccount  *account,
                   JsonObject                *reply,
                   const HeraldOAuthTokens   *old,
                   char                     **access_token_out,
                   GCancellable              *cancellable,
                   GError                   **error)
{
  g_autoptr(HeraldOAuthTokens) tokens = herald_oauth_tokens_new ();
  const char *access_token = json_string_member (reply, "access_token", NULL);
  const char *refresh_token = json_string_member (reply, "refresh_token", NULL);
  const char *token_type = json_string_member (reply, "token_type", "Bearer");
  gint64 expires_in = 3600;

  if (json_object_has_member (reply, "expires_in"))
    {
      JsonNode *node = json_object_get_member (reply, "expires_in");

      /* Some servers send it as a string. */
      if (JSON_NODE_HOLDS_VALUE (node) && json_node_get_value_type (node) == G_TYPE_STRING)
        expires_in = g_ascii_strtoll (json_node_get_string (node), NULL, 10);
      else if (JSON_NODE_HOLDS_VALUE (node))
        expires_in = json_node_get_int (node);
    }

  if (access_token == NULL || *access_token == '\0' || has_control_chars (access_token)
      || strchr (access_token, ' ') != NULL)
    {
      g_set_error_literal (error, HERALD_OAUTH_ERROR, HERALD_OAUTH_ERROR_PROTOCOL,
                           _("The identity provider's reply has no usable access token."));
      return FALSE;
    }
  if (g_ascii_strcasecmp (token_type, "Bearer") != 0)
    {
      g_set_error (error, HERALD_OAUTH_ERROR, HERALD_OAUTH_ERROR_PROTOCOL,
                   _("The identity provider issued a “%s” token; SMTP needs a Bearer token."), token_type);
      return FALSE;
    }
  if (refresh_token != NULL && (*refresh_token == '\0' || has_control_chars (refresh_token)))
    refresh_token = NULL;
  if (refresh_token == NULL && (old == NULL || old->refresh_token == NULL))
    {
      g_set_error_literal (error, HERALD_OAUTH_ERROR, HERALD_OAUTH_ERROR_PROTOCOL,
                           _("The identity provider issued no refresh token (the offline_access "
                             "permission is missing), so Herald could not send later without signing in again."));
      return FALSE;
    }
  if (expires_in <= 0 || expires_in > 30 * 24 * 3600)
    expires_in = 3600;

  tokens->access_token = g_strdup (access_token);
  tokens->refresh_token = g_strdup (refresh_token != NULL ? refresh_token : old->refresh_token);
  tokens->expires_at = g_get_real_time () / G_USEC_PER_SEC + expires_in;
  tokens->client_secret = g_strdup (!is_empty (account->client_secret) ? account->client_secret
                                    : old != NULL ? old->client_secret : NULL);

  if (!herald_oauth_tokens_store_sync (herald_oauth_provider_to_string (account->provider),
                                       account->account,
                                       herald_oauth_account_get_effective_client_id (account),
                                       tokens, cancellable, error))
    return FALSE;

  if (access_token_out != NULL)
    *access_token_out = g_strdup (access_token);

  return TRUE;
}

/* ---------------------------------------------------------------------------
 * Access tokens.
 * ------------------------------------------------------------------------- */

static char *
get_access_token (const HeraldOAuthAccount  *account,
                  gboolean                   force_refresh,
                  GCancellable              *cancellable,
                  GError                   **error)
{
  g_autoptr(HeraldOAuthTokens) tokens = NULL;
  g_autoptr(SoupSession) session = NULL;
  g_autoptr(GHashTable) form = NULL;
  g_autoptr(JsonObject) reply = NULL;
  g_autofree char *token_url = NULL;
  g_autofree char *oauth_error = NULL;
  g_autoptr(GMutexLocker) locker = NULL;
  const char *provider;
  const char *client_id;
  const char *secret;
  GError *local = NULL;
  char *access_token = NULL;
  gint64 now;

  if (!herald_oauth_account_validate (account, error))
    return NULL;
  if (!herald_oauth_account_get_endpoints (account, NULL, &token_url, NULL, error))
    return NULL;

  provider = herald_oauth_provider_to_string (account->provider);
  client_id = herald_oauth_account_get_effective_client_id (account);

  locker = g_mutex_locker_new (&refresh_lock);

  tokens = herald_oauth_tokens_lookup_sync (provider, account->account, client_id, cancellable, &local);
  if (local != NULL)
    {
      g_propagate_error (error, local);
      return NULL;
    }
  if (tokens == NULL || tokens->refresh_token == NULL)
    {
      if (tokens != NULL && tokens->access_token != NULL && !force_refresh
          && tokens->expires_at - g_get_real_time () / G_USEC_PER_SEC >= HERALD_OAUTH_REFRESH_MARGIN)
        return g_strdup (tokens->access_token);

      g_set_error (error, HERALD_OAUTH_ERROR, HERALD_OAUTH_ERROR_NOT_SIGNED_IN,
                   _("Not signed in as %s with this client ID: sign in first "
                     "(Sign In in the window, or “heraldctl login”)."), account->account);
      return NULL;
    }

  now = g_get_real_time () / G_USEC_PER_SEC;
  if (!force_refresh && tokens->access_token != NULL
      && tokens->expires_at - now >= HERALD_OAUTH_REFRESH_MARGIN)
    return g_strdup (tokens->access_token);

  g_debug ("Refreshing the access token for %s (%s)", account->account, provider);

  secret = !is_empty (account->client_secret) ? account->client_secret : tokens->client_secret;
  form = new_form ();
  form_add (form, "grant_type", "refresh_token");
  form_add (form, "client_id", client_id);
  form_add (form, "refresh_token", tokens->refresh_token);
  form_add (form, "scope", scope_for (account));
  form_add (form, "client_secret", secret);

  session = new_session ();
  reply = post_form (session, token_url, form, &oauth_error, cancellable, &local);
  if (reply == NULL)
    {
      if (g_error_matches (local, HERALD_OAUTH_ERROR, HERALD_OAUTH_ERROR_SIGN_IN_AGAIN)
          || g_strcmp0 (oauth_error, "invalid_grant") == 0)
        {
          /* The refresh token is dead: forget it so the window shows "signed out". */
          herald_oauth_tokens_clear_sync (provider, account->account, client_id, NULL, NULL);
          if (local->code != HERALD_OAUTH_ERROR_SIGN_IN_AGAIN)
            {
              /* e.g. invalid_grant carrying AADSTS65001: keep the precise
               * code, but say that signing in again is the way out. */
              g_prefix_error (&local, "%s ", _("Sign in again."));
            }
        }
      g_propagate_error (error, local);
      return NULL;
    }

  if (!store_token_reply (account, reply, tokens, &access_token, cancellable, error))
    return NULL;

  return access_token;
}

char *
herald_oauth_get_access_token_sync (const HeraldOAuthAccount  *account,
                                    GCancellable              *cancellable,
                                    GError                   **error)
{
  g_return_val_if_fail (account != NULL, NULL);

  return get_access_token (account, FALSE, cancellable, error);
}

char *
herald_oauth_refresh_access_token_sync (const HeraldOAuthAccount  *account,
                                        GCancellable              *cancellable,
                                        GError                   **error)
{
  g_return_val_if_fail (account != NULL, NULL);

  return get_access_token (account, TRUE, cancellable, error);
}

/* Runs @thread_func on a worker thread with a copy of @account as the task
 * data: the common body of the account-only _async functions. */
static void
run_account_task (const HeraldOAuthAccount *account,
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

static void
get_access_token_thread (GTask        *task,
                         gpointer      source_object,
                         gpointer      task_data,
                         GCancellable *cancellable)
{
  GError *error = NULL;
  char *token = get_access_token (task_data, FALSE, cancellable, &error);

  if (token == NULL)
    g_task_return_error (task, error);
  else
    g_task_return_pointer (task, token, (GDestroyNotify) herald_secret_free);
}

void
herald_oauth_get_access_token_async (const HeraldOAuthAccount *account,
                                     GCancellable             *cancellable,
                                     GAsyncReadyCallback       callback,
                                     gpointer                  user_data)
{
  g_return_if_fail (account != NULL);

  run_account_task (account, herald_oauth_get_access_token_async, get_access_token_thread,
                    cancellable, callback, user_data);
}

char *
herald_oauth_get_access_token_finish (GAsyncResult  *result,
                                      GError       **error)
{
  g_return_val_if_fail (g_task_is_valid (result, NULL), NULL);
  g_return_val_if_fail (g_task_get_source_tag (G_TASK (result)) == herald_oauth_get_access_token_async,
                        NULL);

  return g_task_propagate_pointer (G_TASK (result), error);
}

/* ---------------------------------------------------------------------------
 * Browser sign-in: authorization code + PKCE with a one-shot loopback listener.
 * ------------------------------------------------------------------------- */

void
herald_oauth_set_browser_func (HeraldOAuthBrowserFunc func,
                               gpointer               user_data)
{
  G_LOCK (browser);
  browser_func = func;
  browser_data = user_data;
  G_UNLOCK (browser);
}

static gboolean
default_browser (const char  *uri,
                 gpointer     user_data,
                 GError     **error)
{
  GError *local = NULL;

  if (!g_app_info_launch_default_for_uri (uri, NULL, &local))
    {
      g_set_error (error, HERALD_OAUTH_ERROR, HERALD_OAUTH_ERROR_NO_BROWSER,
                   _("Could not open a web browser (%s). Install or set a default browser; "
                     "with Microsoft you can also sign in with a code instead."), local->message);
      g_error_free (local);
      return FALSE;
    }

  return TRUE;
}

/* Opening the browser happens in the caller's main context (the GTK thread
 * for the window), while the worker waits here. */
typedef struct {
  GMutex mutex;
  GCond cond;
  gboolean done;
  gboolean ok;
  const char *uri;
  GError *error;
} BrowserCall;

static gboolean
call_browser (const char  *uri,
              GError     **error)
{
  HeraldOAuthBrowserFunc func;
  gpointer data;

  G_LOCK (browser);
  func = browser_func != NULL ? browser_func : default_browser;
  data = browser_func != NULL ? browser_data : NULL;
  G_UNLOCK (browser);

  return func (uri, data, error);
}

static gboolean
browser_call_cb (gpointer user_data)
{
  BrowserCall *call = user_data;
  GError *local = NULL;
  gboolean ok = call_browser (call->uri, &local);

  g_mutex_lock (&call->mutex);
  call->ok = ok;
  call->error = local;
  call->done = TRUE;
  g_cond_signal (&call->cond);
  g_mutex_unlock (&call->mutex);

  return G_SOURCE_REMOVE;
}

static gboolean
open_browser (const char    *uri,
              GMainContext  *context,
              GError       **error)
{
  BrowserCall call = { 0 };
  gboolean ok;
  gboolean custom;

  G_LOCK (browser);
  custom = browser_func != NULL;
  G_UNLOCK (browser);

  /* The default launcher reads the MIME databases and spawns the browser:
   * keep that on this worker thread, off the caller's (the GTK) thread. Only
   * a custom opener, which may need its own thread, is invoked there. */
  if (context == NULL || !custom)
    return call_browser (uri, error);

  g_mutex_init (&call.mutex);
  g_cond_init (&call.cond);
  call.uri = uri;
  g_main_context_invoke (context, browser_call_cb, &call);

  g_mutex_lock (&call.mutex);
  while (!call.done)
    g_cond_wait (&call.cond, &call.mutex);
  g_mutex_unlock (&call.mutex);

  ok = call.ok;
  if (!ok)
    g_propagate_error (error, call.error);
  g_mutex_clear (&call.mutex);
  g_cond_clear (&call.cond);

  return ok;
}

static const char page_ok[] =
  "<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>Herald</title></head>"
  "<body><h1>Signed in</h1><p>You can close this tab and return to Herald.</p></body></html>";
static const char page_failed[] =
  "<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>Herald</title></head>"
  "<body><h1>Sign-in failed</h1><p>Return to Herald for details.</p></body></html>";
static const char page_wrong_session[] =
  "<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>Herald</title></head>"
  "<body><h1>Not this sign-in</h1><p>This sign-in link was not from the current Herald session, "
  "so it was ignored. Finish the sign-in in the tab Herald opened last.</p></body></html>";

static void
send_response (GSocketConnection *connection,
               const char        *status,
               const char        *body)
{
  g_autofree char *response = NULL;
  GOutputStream *out = g_io_stream_get_output_stream (G_IO_STREAM (connection));

  response = g_strdup_printf ("HTTP/1.1 %s\r\n"
                              "Content-Type: text/html; charset=utf-8\r\n"
                              "Content-Length: %" G_GSIZE_FORMAT "\r\n"
                              "Cache-Control: no-store\r\n"
                              "Connection: close\r\n\r\n%s",
                              status, strlen (body), body);
  g_output_stream_write_all (out, response, strlen (response), NULL, NULL, NULL);
  g_io_stream_close (G_IO_STREAM (connection), NULL, NULL);
}

/* Reads the request head; returns the request target of a GET, or NULL.
 * The whole head must arrive before deadline (monotonic time): a local
 * client that sends slowly, or nothing, must not hold the only listener. */
static char *
read_request_target (GSocket           *client,
                     GSocketConnection *connection,
                     gint64             deadline,
                     GCancellable      *cancellable)
{
  GInputStream *in = g_io_stream_get_input_stream (G_IO_STREAM (connection));
  g_autofree char *head = g_malloc0 (MAX_REQUEST_HEAD + 1);
  gsize len = 0;
  g_auto(GStrv) parts = NULL;
  char *eol;

  while (len < MAX_REQUEST_HEAD && strstr (head, "\r\n\r\n") == NULL && strstr (head, "\n\n") == NULL)
    {
      gint64 remaining = deadline - g_get_monotonic_time ();
      gssize r;

      if (remaining <= 0 ||
          !g_socket_condition_timed_wait (client, G_IO_IN, remaining, cancellable, NULL))
        break;

      r = g_input_stream_read (in, head + len, MAX_REQUEST_HEAD - len, cancellable, NULL);
      if (r <= 0)
        break;
      len += (gsize) r;
      head[len] = '\0';
    }

  eol = strpbrk (head, "\r\n");
  if (eol == NULL)
    return NULL;
  *eol = '\0';

  parts = g_strsplit (head, " ", 3);
  if (g_strv_length (parts) != 3 || g_strcmp0 (parts[0], "GET") != 0
      || !g_str_has_prefix (parts[2], "HTTP/1."))
    return NULL;

  return g_strdup (parts[1]);
}

typedef struct {
  char *code;
  char *state;
  char *error;
  char *error_description;
} RedirectParams;

static void
redirect_params_clear (RedirectParams *params)
{
  herald_secret_free (params->code);
  g_free (params->state);
  g_free (params->error);
  g_free (params->error_description);
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (RedirectParams, redirect_params_clear)

/* Waits for the browser's redirect on the listening socket. Other requests
 * (favicon, pre-connections) are answered 404 and ignored; a redirect with
 * another state (an old tab, another program) is answered 400 and ignored,
 * so that it cannot end the sign-in the user is doing. One connection at a
 * time, each with REQUEST_DEADLINE_SECONDS for all of its request. */
static gboolean
wait_for_redirect (GSocket         *listen_socket,
                   const char      *expected_state,
                   RedirectParams  *params,
                   GCancellable    *cancellable,
                   GError         **error)
{
  gint64 deadline = g_get_monotonic_time () + (gint64) REDIRECT_WAIT_SECONDS * G_USEC_PER_SEC;

  for (;;)
    {
      g_autoptr(GSocket) client = NULL;
      g_autoptr(GSocketConnection) connection = NULL;
      g_autoptr(GHashTable) query = NULL;
      g_autofree char *target = NULL;
      const char *path_end;
      gint64 remaining = deadline - g_get_monotonic_time ();
      GError *local = NULL;

      if (remaining <= 0)
        {
          g_set_error_literal (error, HERALD_OAUTH_ERROR, HERALD_OAUTH_ERROR_EXPIRED,
                               _("The browser did not come back within ten minutes: sign in again."));
          return FALSE;
        }

      if (!g_socket_condition_timed_wait (listen_socket, G_IO_IN, remaining, cancellable, &local))
        {
          if (g_error_matches (local, G_IO_ERROR, G_IO_ERROR_TIMED_OUT))
            {
              g_clear_error (&local);
              continue;
            }
          g_propagate_error (error, local);
          return FALSE;
        }

      client = g_socket_accept (listen_socket, cancellable, &local);
      if (client == NULL)
        {
          if (g_error_matches (local, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK))
            {
              g_clear_error (&local);
              continue;
            }
          g_propagate_error (error, local);
          return FALSE;
        }
      g_socket_set_blocking (client, TRUE);
      /* Bounds the reply's write too. */
      g_socket_set_timeout (client, REQUEST_DEADLINE_SECONDS);
      connection = g_socket_connection_factory_create_connection (client);

      target = read_request_target (client, connection,
                                    MIN (deadline, g_get_monotonic_time ()
                                                   + (gint64) REQUEST_DEADLINE_SECONDS * G_USEC_PER_SEC),
                                    cancellable);
      if (target == NULL)
        {
          g_io_stream_close (G_IO_STREAM (connection), NULL, NULL);
          continue;
        }

      path_end = strchr (target, '?');
      if (path_end == NULL || (path_end - target != 1 || target[0] != '/'))
        {
          send_response (connection, "404 Not Found", page_failed);
          continue;
        }

      query = g_uri_parse_params (path_end + 1, -1, "&", G_URI_PARAMS_WWW_FORM, NULL);
      if (query == NULL)
        {
          send_response (connection, "400 Bad Request", page_failed);
          continue;
        }
      if (!g_hash_table_contains (query, "code") && !g_hash_table_contains (query, "error"))
        {
          send_response (connection, "404 Not Found", page_failed);
          continue;
        }

      if (g_strcmp0 (g_hash_table_lookup (query, "state"), expected_state) != 0)
        {
          /* Not ours: never exchange its code, keep waiting for ours. */
          g_debug ("Ignored a redirect with another state");
          send_response (connection, "400 Bad Request", page_wrong_session);
          continue;
        }

      params->code = g_strdup (g_hash_table_lookup (query, "code"));
      params->state = g_strdup (g_hash_table_lookup (query, "state"));
      params->error = g_strdup (g_hash_table_lookup (query, "error"));
      params->error_description = g_strdup (g_hash_table_lookup (query, "error_description"));
      send_response (connection, "200 OK", params->code != NULL && params->error == NULL
                     ? page_ok : page_failed);
      return TRUE;
    }
}

static char *
build_authorize_url (const HeraldOAuthAccount *account,
                     const char               *authorize_url,
                     const char               *redirect_uri,
                     const char               *state,
                     const char               *challenge)
{
  g_autoptr(GHashTable) params = g_hash_table_new (g_str_hash, g_str_equal);
  g_autofree char *query = NULL;

  g_hash_table_insert (params, "client_id", (gpointer) herald_oauth_account_get_effective_client_id (account));
  g_hash_table_insert (params, "response_type", "code");
  g_hash_table_insert (params, "redirect_uri", (gpointer) redirect_uri);
  g_hash_table_insert (params, "scope", (gpointer) scope_for (account));
  g_hash_table_insert (params, "state", (gpointer) state);
  g_hash_table_insert (params, "code_challenge", (gpointer) challenge);
  g_hash_table_insert (params, "code_challenge_method", "S256");
  g_hash_table_insert (params, "login_hint", account->account);
  if (account->provider == HERALD_OAUTH_PROVIDER_MICROSOFT)
    {
      g_hash_table_insert (params, "response_mode", "query");
      g_hash_table_insert (params, "prompt", "select_account");
    }
  else
    {
      /* A refresh token every time, even when the user consented before. */
      g_hash_table_insert (params, "access_type", "offline");
      g_hash_table_insert (params, "prompt", "consent");
    }
  query = soup_form_encode_hash (params);

  return g_strdup_printf ("%s%c%s", authorize_url, strchr (authorize_url, '?') ? '&' : '?', query);
}

static gboolean
sign_in_browser (const HeraldOAuthAccount  *account,
                 GMainContext              *context,
                 GCancellable              *cancellable,
                 GError                   **error)
{
  g_autoptr(GSocket) listen_socket = NULL;
  g_autoptr(GInetAddress) loopback = NULL;
  g_autoptr(GSocketAddress) bind_address = NULL;
  g_autoptr(GSocketAddress) bound = NULL;
  g_autofree char *authorize_url = NULL;
  g_autofree char *token_url = NULL;
  g_autofree char *state = NULL;
  g_autoptr(HeraldSecret) verifier = NULL;
  g_autofree char *challenge = NULL;
  g_autofree char *redirect_uri = NULL;
  g_autofree char *url = NULL;
  g_autoptr(GHashTable) form = NULL;
  g_autoptr(JsonObject) reply = NULL;
  g_autoptr(SoupSession) session = NULL;
  g_auto(RedirectParams) params = { 0 };
  guint16 port;

  if (!herald_oauth_account_validate (account, error))
    return FALSE;
  if (!herald_oauth_account_get_endpoints (account, &authorize_url, &token_url, NULL, error))
    return FALSE;

  state = _herald_oauth_random_urlsafe (16, error);
  if (state == NULL)
    return FALSE;
  verifier = _herald_oauth_random_urlsafe (32, error);
  if (verifier == NULL)
    return FALSE;
  challenge = _herald_oauth_pkce_challenge (verifier);

  /* One-shot listener on 127.0.0.1 only, on a port the kernel picks. */
  listen_socket = g_socket_new (G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_STREAM, G_SOCKET_PROTOCOL_TCP, error);
  if (listen_socket == NULL)
    return FALSE;
  loopback = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  bind_address = g_inet_socket_address_new (loopback, 0);
  if (!g_socket_bind (listen_socket, bind_address, FALSE, error)
      || !g_socket_listen (listen_socket, error))
    return FALSE;
  g_socket_set_blocking (listen_socket, FALSE);
  bound = g_socket_get_local_address (listen_socket, error);
  if (bound == NULL)
    return FALSE;
  port = g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (bound));

  /* Microsoft matches "http://localhost" whatever the port (the portal does
   * not accept 127.0.0.1); Google's Desktop-app clients take the IP form. */
  redirect_uri = account->provider == HERALD_OAUTH_PROVIDER_MICROSOFT
                 ? g_strdup_printf ("http://localhost:%u/", port)
                 : g_strdup_printf ("http://127.0.0.1:%u/", port);
  url = build_authorize_url (account, authorize_url, redirect_uri, state, challenge);

  if (!open_browser (url, context, error))
    return FALSE;

  if (!wait_for_redirect (listen_socket, state, &params, cancellable, error))
    return FALSE;
  g_socket_close (listen_socket, NULL);

  if (params.error != NULL)
    {
      g_propagate_error (error, error_from_fields (params.error, params.error_description, 0));
      return FALSE;
    }
  if (is_empty (params.code))
    {
      g_set_error_literal (error, HERALD_OAUTH_ERROR, HERALD_OAUTH_ERROR_PROTOCOL,
                           _("The sign-in answer carried no authorization code."));
      return FALSE;
    }

  form = new_form ();
  form_add (form, "grant_type", "authorization_code");
  form_add (form, "client_id", herald_oauth_account_get_effective_client_id (account));
  form_add (form, "code", params.code);
  form_add (form, "redirect_uri", redirect_uri);
  form_add (form, "code_verifier", verifier);
  if (account->provider == HERALD_OAUTH_PROVIDER_MICROSOFT)
    form_add (form, "scope", scope_for (account));
  form_add (form, "client_secret", is_empty (account->client_secret) ? NULL : account->client_secret);

  session = new_session ();
  reply = post_form (session, token_url, form, NULL, cancellable, error);
  if (reply == NULL)
    return FALSE;

  return store_token_reply (account, reply, NULL, NULL, cancellable, error);
}

static void
sign_in_browser_thread (GTask        *task,
                        gpointer      source_object,
                        gpointer      task_data,
                        GCancellable *cancellable)
{
  GError *error = NULL;

  if (sign_in_browser (task_data, g_task_get_context (task), cancellable, &error))
    g_task_return_boolean (task, TRUE);
  else
    g_task_return_error (task, error);
}

void
herald_oauth_sign_in_browser_async (const HeraldOAuthAccount *account,
                                    GCancellable             *cancellable,
                                    GAsyncReadyCallback       callback,
                                    gpointer                  user_data)
{
  g_return_if_fail (account != NULL);

  run_account_task (account, herald_oauth_sign_in_browser_async, sign_in_browser_thread,
                    cancellable, callback, user_data);
}

gboolean
herald_oauth_sign_in_browser_finish (GAsyncResult  *result,
                                     GError       **error)
{
  g_return_val_if_fail (g_task_is_valid (result, NULL), FALSE);

  return g_task_propagate_boolean (G_TASK (result), error);
}

gboolean
herald_oauth_sign_in_browser_sync (const HeraldOAuthAccount  *account,
                                   GCancellable              *cancellable,
                                   GError                   **error)
{
  g_return_val_if_fail (account != NULL, FALSE);

  return sign_in_browser (account, NULL, cancellable, error);
}

/* ---------------------------------------------------------------------------
 * Device authorization grant (RFC 8628).
 * ------------------------------------------------------------------------- */

void
_herald_oauth_set_poll_unit_ms (guint ms)
{
  g_atomic_int_set (&poll_unit_ms, ms == 0 ? 1000 : ms);
}

static gboolean
sleep_cancellable (gint64         ms,
                   GCancellable  *cancellable,
                   GError       **error)
{
  gint64 deadline = g_get_monotonic_time () + ms * 1000;
  GPollFD fd;
  gboolean have_fd = cancellable != NULL && g_cancellable_make_pollfd (cancellable, &fd);

  for (;;)
    {
      gint64 remaining = (deadline - g_get_monotonic_time ()) / 1000;

      if (g_cancellable_set_error_if_cancelled (cancellable, error))
        break;
      if (remaining <= 0)
        break;
      if (have_fd)
        g_poll (&fd, 1, (int) MIN (remaining, G_MAXINT));
      else
        g_usleep ((gulong) MIN (remaining, 100) * 1000);
    }
  if (have_fd)
    g_cancellable_release_fd (cancellable);

  return !g_cancellable_is_cancelled (cancellable);
}

typedef struct {
  HeraldOAuthDeviceCodeFunc func;
  gpointer data;
  char *verification_uri;
  char *user_code;
  char *message;
} DeviceCodeCall;

static void
device_code_call_free (DeviceCodeCall *call)
{
  g_free (call->verification_uri);
  g_free (call->user_code);
  g_free (call->message);
  g_free (call);
}

static gboolean
device_code_call_cb (gpointer user_data)
{
  DeviceCodeCall *call = user_data;

  call->func (call->verification_uri, call->user_code, call->message, call->data);

  return G_SOURCE_REMOVE;
}

static gint64
json_int_member (JsonObject *object,
                 const char *name,
                 gint64      fallback)
{
  JsonNode *node = json_object_get_member (object, name);

  if (node == NULL || !JSON_NODE_HOLDS_VALUE (node))
    return fallback;
  if (json_node_get_value_type (node) == G_TYPE_STRING)
    return g_ascii_strtoll (json_node_get_string (node), NULL, 10);
  if (json_node_get_value_type (node) == G_TYPE_INT64)
    return json_node_get_int (node);

  return fallback;
}

static gboolean
sign_in_device (const HeraldOAuthAccount   *account,
                HeraldOAuthDeviceCodeFunc   code_func,
                gpointer                    code_data,
                GMainContext               *context,
                GCancellable               *cancellable,
                GError                    **error)
{
  g_autofree char *token_url = NULL;
  g_autofree char *device_url = NULL;
  g_autoptr(SoupSession) session = NULL;
  g_autoptr(GHashTable) form = NULL;
  g_autoptr(JsonObject) reply = NULL;
  g_autoptr(HeraldSecret) device_code = NULL;
  const char *user_code;
  const char *verification_uri;
  const char *message;
  gint64 interval;
  gint64 expires_in;
  gint64 deadline;

  if (account->provider != HERALD_OAUTH_PROVIDER_MICROSOFT)
    {
      g_set_error_literal (error, HERALD_OAUTH_ERROR, HERALD_OAUTH_ERROR_UNSUPPORTED,
                           _("Google does not allow signing in with a code for mail access: "
                             "sign in with the browser."));
      return FALSE;
    }
  if (!herald_oauth_account_validate (account, error))
    return FALSE;
  if (!herald_oauth_account_get_endpoints (account, NULL, &token_url, &device_url, error))
    return FALSE;

  session = new_session ();
  form = new_form ();
  form_add (form, "client_id", herald_oauth_account_get_effective_client_id (account));
  form_add (form, "scope", scope_for (account));
  reply = post_form (session, device_url, form, NULL, cancellable, error);
  if (reply == NULL)
    return FALSE;

  device_code = g_strdup (json_string_member (reply, "device_code", NULL));
  user_code = json_string_member (reply, "user_code", NULL);
  verification_uri = json_string_member (reply, "verification_uri", NULL);
  if (verification_uri == NULL)
    verification_uri = json_string_member (reply, "verification_url", NULL);
  message = json_string_member (reply, "message", NULL);
  interval = json_int_member (reply, "interval", 5);
  expires_in = json_int_member (reply, "expires_in", 900);

  if (is_empty (device_code) || is_empty (user_code) || is_empty (verification_uri)
      || has_control_chars (user_code) || has_control_chars (verification_uri)
      || !(g_str_has_prefix (verification_uri, "https://") || g_str_has_prefix (verification_uri, "http://")))
    {
      g_set_error_literal (error, HERALD_OAUTH_ERROR, HERALD_OAUTH_ERROR_PROTOCOL,
                           _("The identity provider's device-code reply lacks the code or the address to visit."));
      return FALSE;
    }
  if (interval <= 0 || interval > 60)
    interval = 5;
  if (expires_in <= 0 || expires_in > 3600)
    expires_in = 900;

  if (code_func != NULL)
    {
      DeviceCodeCall *call = g_new0 (DeviceCodeCall, 1);

      call->func = code_func;
      call->data = code_data;
      call->verification_uri = g_strdup (verification_uri);
      call->user_code = g_strdup (user_code);
      call->message = message != NULL ? clean_description (message) : NULL;
      if (context != NULL)
        g_main_context_invoke_full (context, G_PRIORITY_DEFAULT, device_code_call_cb, call,
                                    (GDestroyNotify) device_code_call_free);
      else
        {
          device_code_call_cb (call);
          device_code_call_free (call);
        }
    }

  deadline = g_get_monotonic_time () + expires_in * g_atomic_int_get (&poll_unit_ms) * 1000;

  for (;;)
    {
      g_autoptr(JsonObject) token_reply = NULL;
      g_autofree char *oauth_error = NULL;
      GError *local = NULL;

      if (!sleep_cancellable (interval * g_atomic_int_get (&poll_unit_ms), cancellable, error))
        return FALSE;

      g_clear_pointer (&form, g_hash_table_unref);
      form = new_form ();
      form_add (form, "grant_type", DEVICE_GRANT_TYPE);
      form_add (form, "client_id", herald_oauth_account_get_effective_client_id (account));
      form_add (form, "device_code", device_code);
      token_reply = post_form (session, token_url, form, &oauth_error, cancellable, &local);
      if (token_reply != NULL)
        return store_token_reply (account, token_reply, NULL, NULL, cancellable, error);

      if (g_strcmp0 (oauth_error, "authorization_pending") == 0)
        g_clear_error (&local);
      else if (g_strcmp0 (oauth_error, "slow_down") == 0)
        {
          /* RFC 8628 §3.5: add 5 seconds to this and every later interval. */
          g_clear_error (&local);
          interval += 5;
        }
      else if (g_strcmp0 (oauth_error, "authorization_declined") == 0
               || g_strcmp0 (oauth_error, "access_denied") == 0)
        {
          g_clear_error (&local);
          /* The OAuth code stays in the message, untranslated, for the diagnosis rules. */
          g_set_error (error, HERALD_OAUTH_ERROR, HERALD_OAUTH_ERROR_DECLINED,
                       "%s (%s)", _("The sign-in was declined in the browser."), oauth_error);
          return FALSE;
        }
      else if (g_strcmp0 (oauth_error, "expired_token") == 0)
        {
          g_clear_error (&local);
          g_set_error (error, HERALD_OAUTH_ERROR, HERALD_OAUTH_ERROR_EXPIRED,
                       "%s (expired_token)", _("The code expired before the sign-in was finished: start again."));
          return FALSE;
        }
      else
        {
          g_propagate_error (error, local);
          return FALSE;
        }

      if (g_get_monotonic_time () >= deadline)
        {
          g_set_error (error, HERALD_OAUTH_ERROR, HERALD_OAUTH_ERROR_EXPIRED,
                       "%s (expired_token)", _("The code expired before the sign-in was finished: start again."));
          return FALSE;
        }
    }
}

typedef struct {
  HeraldOAuthAccount *account;
  HeraldOAuthDeviceCodeFunc code_func;
  gpointer code_data;
  GDestroyNotify code_destroy;
  GMainContext *context;
} DeviceTaskData;

typedef struct {
  GDestroyNotify destroy;
  gpointer data;
} DestroyCall;

static gboolean
destroy_call_cb (gpointer user_data)
{
  DestroyCall *call = user_data;

  call->destroy (call->data);
  g_free (call);

  return G_SOURCE_REMOVE;
}

/* The task may be freed on the worker thread: code_destroy still runs in the
 * caller's context, after any pending code_func call. */
static void
device_task_data_free (DeviceTaskData *data)
{
  herald_oauth_account_free (data->account);
  if (data->code_destroy != NULL)
    {
      DestroyCall *call = g_new0 (DestroyCall, 1);

      call->destroy = data->code_destroy;
      call->data = data->code_data;
      g_main_context_invoke (data->context, destroy_call_cb, call);
    }
  g_main_context_unref (data->context);
  g_free (data);
}

static void
sign_in_device_thread (GTask        *task,
                       gpointer      source_object,
                       gpointer      task_data,
                       GCancellable *cancellable)
{
  DeviceTaskData *data = task_data;
  GError *error = NULL;

  if (sign_in_device (data->account, data->code_func, data->code_data, g_task_get_context (task),
                      cancellable, &error))
    g_task_return_boolean (task, TRUE);
  else
    g_task_return_error (task, error);
}

void
herald_oauth_sign_in_device_async (const HeraldOAuthAccount  *account,
                                   HeraldOAuthDeviceCodeFunc  code_func,
                                   gpointer                   code_data,
                                   GDestroyNotify             code_destroy,
                                   GCancellable              *cancellable,
                                   GAsyncReadyCallback        callback,
                                   gpointer                   user_data)
{
  g_autoptr(GTask) task = NULL;
  DeviceTaskData *data;

  g_return_if_fail (account != NULL);

  data = g_new0 (DeviceTaskData, 1);
  data->account = herald_oauth_account_copy (account);
  data->code_func = code_func;
  data->code_data = code_data;
  data->code_destroy = code_destroy;
  data->context = g_main_context_ref_thread_default ();

  task = g_task_new (NULL, cancellable, callback, user_data);
  g_task_set_source_tag (task, herald_oauth_sign_in_device_async);
  g_task_set_task_data (task, data, (GDestroyNotify) device_task_data_free);
  g_task_run_in_thread (task, sign_in_device_thread);
}

gboolean
herald_oauth_sign_in_device_finish (GAsyncResult  *result,
                                    GError       **error)
{
  g_return_val_if_fail (g_task_is_valid (result, NULL), FALSE);

  return g_task_propagate_boolean (G_TASK (result), error);
}

gboolean
herald_oauth_sign_in_device_sync (const HeraldOAuthAccount  *account,
                                  HeraldOAuthDeviceCodeFunc  code_func,
                                  gpointer                   code_data,
                                  GCancellable              *cancellable,
                                  GError                   **error)
{
  g_return_val_if_fail (account != NULL, FALSE);

  return sign_in_device (account, code_func, code_data, NULL, cancellable, error);
}

/* ---------------------------------------------------------------------------
 * Sign-out and state.
 * ------------------------------------------------------------------------- */

static gboolean
check_key_account (const HeraldOAuthAccount  *account,
                   GError                   **error)
{
  if (is_empty (account->account) || herald_oauth_account_get_effective_client_id (account) == NULL)
    {
      g_set_error_literal (error, HERALD_OAUTH_ERROR, HERALD_OAUTH_ERROR_INVALID_ACCOUNT,
                           _("An OAuth account needs a mailbox address and a client ID."));
      return FALSE;
    }

  return TRUE;
}

gboolean
herald_oauth_sign_out_sync (const HeraldOAuthAccount  *account,
                            GCancellable              *cancellable,
                            GError                   **error)
{
  g_autoptr(GMutexLocker) locker = NULL;

  g_return_val_if_fail (account != NULL, FALSE);

  if (!check_key_account (account, error))
    return FALSE;

  locker = g_mutex_locker_new (&refresh_lock);

  return herald_oauth_tokens_clear_sync (herald_oauth_provider_to_string (account->provider),
                                         account->account,
                                         herald_oauth_account_get_effective_client_id (account),
                                         cancellable, error);
}

static void
sign_out_thread (GTask        *task,
                 gpointer      source_object,
                 gpointer      task_data,
                 GCancellable *cancellable)
{
  GError *error = NULL;

  if (herald_oauth_sign_out_sync (task_data, cancellable, &error))
    g_task_return_boolean (task, TRUE);
  else
    g_task_return_error (task, error);
}

void
herald_oauth_sign_out_async (const HeraldOAuthAccount *account,
                             GCancellable             *cancellable,
                             GAsyncReadyCallback       callback,
                             gpointer                  user_data)
{
  g_return_if_fail (account != NULL);

  run_account_task (account, herald_oauth_sign_out_async, sign_out_thread,
                    cancellable, callback, user_data);
}

gboolean
herald_oauth_sign_out_finish (GAsyncResult  *result,
                              GError       **error)
{
  g_return_val_if_fail (g_task_is_valid (result, NULL), FALSE);

  return g_task_propagate_boolean (G_TASK (result), error);
}

static void
is_signed_in_thread (GTask        *task,
                     gpointer      source_object,
                     gpointer      task_data,
                     GCancellable *cancellable)
{
  const HeraldOAuthAccount *account = task_data;
  g_autoptr(HeraldOAuthTokens) tokens = NULL;
  GError *error = NULL;

  if (!check_key_account (account, &error))
    {
      g_task_return_error (task, error);
      return;
    }

  tokens = herald_oauth_tokens_lookup_sync (herald_oauth_provider_to_string (account->provider),
                                            account->account,
                                            herald_oauth_account_get_effective_client_id (account),
                                            cancellable, &error);
  if (error != NULL)
    g_task_return_error (task, error);
  else
    g_task_return_boolean (task, tokens != NULL && tokens->refresh_token != NULL);
}

void
herald_oauth_is_signed_in_async (const HeraldOAuthAccount *account,
                                 GCancellable             *cancellable,
                                 GAsyncReadyCallback       callback,
                                 gpointer                  user_data)
{
  g_return_if_fail (account != NULL);

  run_account_task (account, herald_oauth_is_signed_in_async, is_signed_in_thread,
                    cancellable, callback, user_data);
}

gboolean
herald_oauth_is_signed_in_finish (GAsyncResult  *result,
                                  GError       **error)
{
  g_return_val_if_fail (g_task_is_valid (result, NULL), FALSE);

  return g_task_propagate_boolean (G_TASK (result), error);
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
    g_settings_set_string (settings, "oauth-tenant", effective_tenant (account));
  g_settings_set_string (settings, "oauth-authority", account->authority != NULL ? account->authority : "");
  g_settings_set_string (settings, "username", account->account != NULL ? account->account : "");
}
