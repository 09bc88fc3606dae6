/* SPDX-License-Identifier: GPL-3.0-or-later
 * Copyright 2026 The Herald authors
 */
#pragma once

/* Internals shared by the files of src/oauth, and with the tests:
 *
 *   herald-oauth-account.c  providers, accounts, endpoints, settings
 *   herald-oauth-errors.c   the identity provider's error replies -> GError
 *   herald-oauth-http.c     requests with a deadline and a size cap, forms
 *   herald-oauth-token.c    the token endpoint, stored tokens, refresh, sign-out
 *   herald-oauth-browser.c  authorization code + PKCE, loopback redirect
 *   herald-oauth-device.c   device authorization grant (RFC 8628) */

#include <json-glib/json-glib.h>
#include <libsoup/soup.h>

#include "herald-oauth.h"
#include "herald-oauth-token.h"
#include "herald-secret.h"   /* herald_secret_free(), HeraldSecret: tokens, codes, secrets */

G_BEGIN_DECLS

/* ---------------------------------------------------------------------------
 * Small helpers (herald-oauth-account.c).
 * ------------------------------------------------------------------------- */

gboolean    _herald_oauth_is_empty          (const char *str);
/* TRUE when herald_smtp_make_printable () would change str: control or bidi
 * characters, tabs, invalid UTF-8. */
gboolean    _herald_oauth_has_control_chars (const char *str);

/* The tenant actually used: the account's, else HERALD_OAUTH_DEFAULT_TENANT. */
const char *_herald_oauth_account_get_tenant (const HeraldOAuthAccount *account);
/* The scope a delegated sign-in asks for: the provider's SMTP scope. */
const char *_herald_oauth_account_get_scope  (const HeraldOAuthAccount *account);
/* What the keyring entry needs: a mailbox address and a client ID. */
gboolean    _herald_oauth_account_check_key  (const HeraldOAuthAccount  *account,
                                              GError                   **error);

/* Runs thread_func on a worker thread with a copy of account as the task
 * data and source_tag as the source tag: the common body of the account-only
 * _async functions. */
void        _herald_oauth_run_account_task   (const HeraldOAuthAccount *account,
                                              gpointer                  source_tag,
                                              GTaskThreadFunc           thread_func,
                                              GCancellable             *cancellable,
                                              GAsyncReadyCallback       callback,
                                              gpointer                  user_data);

/* ---------------------------------------------------------------------------
 * Errors from the identity provider (herald-oauth-errors.c).
 * ------------------------------------------------------------------------- */

/* Turns an error reply of the token/devicecode endpoint into a GError in
 * HERALD_OAUTH_ERROR (code mapped from the AADSTS number or the OAuth error). */
GError     *_herald_oauth_error_from_reply  (guint        http_status,
                                             GBytes      *body) G_GNUC_WARN_UNUSED_RESULT;
/* The same from the fields of an error (a redirect's query, a JSON reply);
 * aadsts 0: look for one in the description. */
GError     *_herald_oauth_error_from_fields (const char  *oauth_error,
                                             const char  *description,
                                             guint        aadsts) G_GNUC_WARN_UNUSED_RESULT;
/* The first line of a server's text, without control characters, at most
 * 500 bytes, valid UTF-8: what may be shown of untrusted text. */
char       *_herald_oauth_clean_text        (const char  *text) G_GNUC_WARN_UNUSED_RESULT;
/* A string member, or fallback when it is absent or not a string: the
 * identity provider's JSON is untrusted. */
const char *_herald_oauth_json_get_string   (JsonObject  *object,
                                             const char  *name,
                                             const char  *fallback);

/* ---------------------------------------------------------------------------
 * HTTP (herald-oauth-http.c). Each operation runs on one worker thread with
 * its own session; TLS is verified by libsoup with the system's trust store.
 * ------------------------------------------------------------------------- */

/* herald_oauth_session_new() is public (herald-oauth-token.h). */

/* A form whose values are wiped when it goes (they may be secrets). Keys are
 * not copied: use string literals. */
GHashTable  *_herald_oauth_form_new (void) G_GNUC_WARN_UNUSED_RESULT;
/* Adds key=value; does nothing when value is NULL. */
void         _herald_oauth_form_add (GHashTable  *form,
                                     const char  *key,
                                     const char  *value);

/* POSTs the form (no redirects followed, the reply capped in size and time)
 * and reads the reply: the HTTP status and the body. */
GBytes      *_herald_oauth_post_form  (SoupSession   *session,
                                       const char    *url,
                                       GHashTable    *form,
                                       guint         *status,
                                       GCancellable  *cancellable,
                                       GError       **error) G_GNUC_WARN_UNUSED_RESULT;
/* What a reply of url means: the JSON object of a 2xx reply, or a
 * HERALD_OAUTH_ERROR with the provider's code and description; oauth_error,
 * when non-NULL, receives the provider's "error" value. Needs no network. */
JsonObject  *_herald_oauth_reply_get_object (const char  *url,
                                             guint        status,
                                             GBytes      *body,
                                             char       **oauth_error,
                                             GError     **error) G_GNUC_WARN_UNUSED_RESULT;

/* ---------------------------------------------------------------------------
 * The token endpoint (herald-oauth-token.c).
 * ------------------------------------------------------------------------- */

/* The token endpoint's request and reply (HeraldOAuthTokenRequest,
 * herald_oauth_request_token(), …) are public: herald-oauth-token.h. */

/* Everything a token endpoint's reply goes through, without a network (so a
 * fuzzer can call it): a 2xx reply becomes a checked HeraldOAuthTokenReply
 * (a Bearer token without spaces or control characters), anything else a
 * HERALD_OAUTH_ERROR. url only names the endpoint in messages; oauth_error
 * as for _herald_oauth_reply_get_object(). */
gboolean    _herald_oauth_token_reply_parse (const char             *url,
                                             guint                   status,
                                             GBytes                 *body,
                                             HeraldOAuthTokenReply  *reply,
                                             char                  **oauth_error,
                                             GError                **error);

/* Stores the tokens of a delegated sign-in (browser, device code) in the
 * keyring, with the account's client secret. Fails when the reply has no
 * refresh token: without one Herald could not send later. */
gboolean    _herald_oauth_store_sign_in     (const HeraldOAuthAccount     *account,
                                             const HeraldOAuthTokenReply  *reply,
                                             GCancellable                 *cancellable,
                                             GError                      **error);

/* ---------------------------------------------------------------------------
 * PKCE and random values (herald-oauth-browser.c).
 * ------------------------------------------------------------------------- */

/* Fills buf with n bytes from getrandom(2), the kernel's CSPRNG. */
gboolean _herald_oauth_random_bytes (guint8  *buf,
                                     gsize    n,
                                     GError **error);
/* n random bytes as unpadded base64url. */
char    *_herald_oauth_random_urlsafe (gsize    n,
                                       GError **error) G_GNUC_WARN_UNUSED_RESULT;
char    *_herald_oauth_base64url (const guint8 *data,
                                  gsize         len) G_GNUC_WARN_UNUSED_RESULT;
/* base64url(SHA-256(verifier)), RFC 7636 S256. */
char    *_herald_oauth_pkce_challenge (const char *verifier) G_GNUC_WARN_UNUSED_RESULT;

/* ---------------------------------------------------------------------------
 * Test hooks.
 * ------------------------------------------------------------------------- */

/* The deadline, in milliseconds, for one whole request to the identity
 * provider, reply body included (default 60 s). 0 restores the default.
 * (herald-oauth-http.c) */
void     _herald_oauth_set_http_deadline_ms (guint ms);

G_END_DECLS
