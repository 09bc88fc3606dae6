/* SPDX-License-Identifier: GPL-3.0-or-later
 * Copyright 2026 The Herald authors
 */
#pragma once

/* OAuth 2.0 sign-in for SMTP submission (Microsoft identity platform v2 and
 * Google), with libsoup 3 and json-glib. Tokens live only in the keyring
 * (src/secrets/herald-secrets-oauth.h); nothing here writes them anywhere else.
 *
 * Flows:
 *  - browser: authorization code + PKCE (S256) in the system browser, with a
 *    one-shot loopback redirect listener on 127.0.0.1 and a random port;
 *  - device: RFC 8628 device authorization grant (Microsoft only: Google's
 *    device flow does not allow the mail scope).
 *
 * Every *_async function runs its work on a worker thread and calls back in the
 * thread-default main context of the caller. The *_sync twins block. */

#include <gio/gio.h>

G_BEGIN_DECLS

/* ---------------------------------------------------------------------------
 * Providers and accounts.
 * ------------------------------------------------------------------------- */

typedef enum {
  HERALD_OAUTH_PROVIDER_MICROSOFT,  /* "microsoft" */
  HERALD_OAUTH_PROVIDER_GOOGLE,     /* "google" */
} HeraldOAuthProvider;

const char *herald_oauth_provider_to_string   (HeraldOAuthProvider  provider);
gboolean    herald_oauth_provider_from_string (const char          *str,
                                               HeraldOAuthProvider *out);

/* The scope requested for SMTP submission. */
#define HERALD_OAUTH_MICROSOFT_SCOPE "https://outlook.office.com/SMTP.Send offline_access"
#define HERALD_OAUTH_GOOGLE_SCOPE    "https://mail.google.com/"
#define HERALD_OAUTH_DEFAULT_TENANT  "organizations"

/* Who signs in, with which app registration. Owns its strings. */
typedef struct {
  HeraldOAuthProvider  provider;
  char                *client_id;      /* NULL/empty: the build's default (meson option) */
  char                *client_secret;  /* Google "Desktop app" clients only; not
                                        * confidential, but kept out of GSettings
                                        * all the same (stored in the keyring). */
  char                *tenant;         /* Microsoft: organizations, common, consumers,
                                        * a tenant ID or domain; NULL/empty: organizations */
  char                *authority;      /* NULL/empty: the provider's default
                                        * (https://login.microsoftonline.com/TENANT);
                                        * http:// only for loopback hosts (tests) */
  char                *account;        /* the mailbox address (user= in XOAUTH2) */
} HeraldOAuthAccount;

#define HERALD_TYPE_OAUTH_ACCOUNT (herald_oauth_account_get_type ())
GType               herald_oauth_account_get_type (void) G_GNUC_CONST;
HeraldOAuthAccount *herald_oauth_account_new      (HeraldOAuthProvider        provider,
                                                   const char                *account) G_GNUC_WARN_UNUSED_RESULT;
HeraldOAuthAccount *herald_oauth_account_copy     (const HeraldOAuthAccount  *account) G_GNUC_WARN_UNUSED_RESULT;
void                herald_oauth_account_free     (HeraldOAuthAccount        *account);
/* Checks the account without touching the network: a client ID (given or
 * built in), an address, a usable tenant, an https (or loopback http)
 * authority. */
gboolean            herald_oauth_account_validate (const HeraldOAuthAccount  *account,
                                                   GError                   **error);
/* The client ID actually used: the account's, else the built-in default, else NULL. */
const char         *herald_oauth_account_get_effective_client_id (const HeraldOAuthAccount *account);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (HeraldOAuthAccount, herald_oauth_account_free)

/* Endpoint URLs derived from the account's authority (owned strings). Returns
 * FALSE with HERALD_OAUTH_ERROR_INVALID_ACCOUNT for a bad authority.
 * device_url is NULL for Google. */
gboolean herald_oauth_account_get_endpoints (const HeraldOAuthAccount  *account,
                                             char                     **authorize_url,
                                             char                     **token_url,
                                             char                     **device_url,
                                             GError                   **error);

/* ---------------------------------------------------------------------------
 * Errors. Token-endpoint failures carry the provider's error code, the AADSTS
 * code when there is one and the error_description in the message, e.g.
 * "The app registration does not allow public client flows … (AADSTS7000218:
 * The request body must contain …)". herald_oauth_error_get_aadsts() returns
 * the AADSTS number for diagnosis rules.
 * ------------------------------------------------------------------------- */

#define HERALD_OAUTH_ERROR (herald_oauth_error_quark ())
GQuark herald_oauth_error_quark (void);

typedef enum {
  HERALD_OAUTH_ERROR_INVALID_ACCOUNT,       /* bad input: no client ID, bad tenant/authority */
  HERALD_OAUTH_ERROR_NOT_SIGNED_IN,         /* no tokens in the keyring for this account */
  HERALD_OAUTH_ERROR_SIGN_IN_AGAIN,         /* invalid_grant: refresh token expired or revoked */
  HERALD_OAUTH_ERROR_DECLINED,              /* the user declined (authorization_declined, access_denied) */
  HERALD_OAUTH_ERROR_EXPIRED,               /* the device code expired before the user finished */
  HERALD_OAUTH_ERROR_STATE_MISMATCH,        /* redirect with a wrong or missing state */
  HERALD_OAUTH_ERROR_PUBLIC_CLIENT_NOT_ALLOWED, /* AADSTS7000218: "Allow public client flows" off */
  HERALD_OAUTH_ERROR_CONSENT_REQUIRED,      /* AADSTS65001, consent_required: admin consent needed */
  HERALD_OAUTH_ERROR_INTERACTION_REQUIRED,  /* AADSTS50076/50079/53003, interaction_required: MFA, Conditional Access */
  HERALD_OAUTH_ERROR_APP_NOT_FOUND,         /* AADSTS700016: client ID unknown in the tenant */
  HERALD_OAUTH_ERROR_TENANT_NOT_FOUND,      /* AADSTS90002 */
  HERALD_OAUTH_ERROR_INVALID_CLIENT,        /* AADSTS7000215, invalid_client, unauthorized_client */
  HERALD_OAUTH_ERROR_REDIRECT_MISMATCH,     /* AADSTS50011, redirect_uri_mismatch */
  HERALD_OAUTH_ERROR_INVALID_SCOPE,         /* invalid_scope (e.g. Google device flow + mail scope) */
  HERALD_OAUTH_ERROR_UNSUPPORTED,           /* e.g. device code with Google */
  HERALD_OAUTH_ERROR_PROTOCOL,              /* the identity provider sent something unusable */
  HERALD_OAUTH_ERROR_SERVER,                /* any other error reply from the identity provider */
  HERALD_OAUTH_ERROR_NO_BROWSER,            /* the browser could not be opened */
} HeraldOAuthErrorCode;

/* The AADSTS number (e.g. 7000218) in an OAuth error's message, or 0. */
guint herald_oauth_error_get_aadsts (const GError *error);

/* ---------------------------------------------------------------------------
 * Access tokens: from the keyring, refreshed when fewer than 60 s remain (the
 * rotated refresh token is stored every time). invalid_grant gives
 * HERALD_OAUTH_ERROR_SIGN_IN_AGAIN and clears the stored tokens.
 * ------------------------------------------------------------------------- */

#define HERALD_OAUTH_REFRESH_MARGIN 60  /* seconds */

void      herald_oauth_get_access_token_async  (const HeraldOAuthAccount *account,
                                                GCancellable             *cancellable,
                                                GAsyncReadyCallback       callback,
                                                gpointer                  user_data);
char     *herald_oauth_get_access_token_finish (GAsyncResult             *result,
                                                GError                  **error) G_GNUC_WARN_UNUSED_RESULT;
char     *herald_oauth_get_access_token_sync   (const HeraldOAuthAccount *account,
                                                GCancellable             *cancellable,
                                                GError                  **error) G_GNUC_WARN_UNUSED_RESULT;
/* Refreshes now whatever the expiry says (after a 535 5.7.3 or a JSON 401
 * challenge, retry once with this). */
char     *herald_oauth_refresh_access_token_sync (const HeraldOAuthAccount *account,
                                                  GCancellable             *cancellable,
                                                  GError                  **error) G_GNUC_WARN_UNUSED_RESULT;

/* ---------------------------------------------------------------------------
 * Sign-in and sign-out.
 * ------------------------------------------------------------------------- */

/* Opens uri in a browser. The default uses g_app_info_launch_default_for_uri;
 * tests install their own ("browser" = an HTTP client following redirects). */
typedef gboolean (*HeraldOAuthBrowserFunc) (const char  *uri,
                                            gpointer     user_data,
                                            GError     **error);
void herald_oauth_set_browser_func (HeraldOAuthBrowserFunc func,
                                    gpointer               user_data);

/* Browser sign-in: authorization code + PKCE with a loopback redirect. Waits
 * for the redirect (cancel to give up). On success the tokens are in the
 * keyring. */
void     herald_oauth_sign_in_browser_async  (const HeraldOAuthAccount *account,
                                              GCancellable             *cancellable,
                                              GAsyncReadyCallback       callback,
                                              gpointer                  user_data);
gboolean herald_oauth_sign_in_browser_finish (GAsyncResult             *result,
                                              GError                  **error);
gboolean herald_oauth_sign_in_browser_sync   (const HeraldOAuthAccount *account,
                                              GCancellable             *cancellable,
                                              GError                  **error);

/* Device code (RFC 8628, Microsoft only). code_func is called once, in the
 * caller's main context (async) or thread (sync), with what to show the user;
 * then the flow polls until done, declined or expired. */
typedef void (*HeraldOAuthDeviceCodeFunc) (const char *verification_uri,
                                           const char *user_code,
                                           const char *message,   /* provider's text, may be NULL */
                                           gpointer    user_data);

void     herald_oauth_sign_in_device_async  (const HeraldOAuthAccount  *account,
                                             HeraldOAuthDeviceCodeFunc  code_func,
                                             gpointer                   code_data,
                                             GDestroyNotify             code_destroy,
                                             GCancellable              *cancellable,
                                             GAsyncReadyCallback        callback,
                                             gpointer                   user_data);
gboolean herald_oauth_sign_in_device_finish (GAsyncResult              *result,
                                             GError                   **error);
gboolean herald_oauth_sign_in_device_sync   (const HeraldOAuthAccount  *account,
                                             HeraldOAuthDeviceCodeFunc  code_func,
                                             gpointer                   code_data,
                                             GCancellable              *cancellable,
                                             GError                   **error);

/* Forgets the account's tokens (keyring). Succeeds when there were none. */
void     herald_oauth_sign_out_async  (const HeraldOAuthAccount *account,
                                       GCancellable             *cancellable,
                                       GAsyncReadyCallback       callback,
                                       gpointer                  user_data);
gboolean herald_oauth_sign_out_finish (GAsyncResult             *result,
                                       GError                  **error);
gboolean herald_oauth_sign_out_sync   (const HeraldOAuthAccount *account,
                                       GCancellable             *cancellable,
                                       GError                  **error);

/* Whether the keyring holds a refresh token for the account (no network). */
void     herald_oauth_is_signed_in_async  (const HeraldOAuthAccount *account,
                                           GCancellable             *cancellable,
                                           GAsyncReadyCallback       callback,
                                           gpointer                  user_data);
gboolean herald_oauth_is_signed_in_finish (GAsyncResult             *result,
                                           GError                  **error);

/* ---------------------------------------------------------------------------
 * Settings. Reads oauth-provider, oauth-client-id, oauth-tenant,
 * oauth-authority and username from the app's GSettings.
 * ------------------------------------------------------------------------- */

HeraldOAuthAccount *herald_oauth_account_new_from_settings (GSettings                *settings) G_GNUC_WARN_UNUSED_RESULT;
/* Writes provider, client ID, tenant, authority and username (not the secret). */
void                herald_oauth_account_save_to_settings  (const HeraldOAuthAccount *account,
                                                            GSettings                *settings);

/* ---------------------------------------------------------------------------
 * For tests only.
 * ------------------------------------------------------------------------- */

/* How many milliseconds one "second" of a device-flow polling interval
 * lasts (default 1000), so that tests of the device flow (the library's and
 * the window's) run fast. 0 restores the default. Never called by Herald. */
void herald_oauth_set_poll_unit_ms (guint ms);

G_END_DECLS
