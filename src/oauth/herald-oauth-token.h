/* SPDX-License-Identifier: GPL-3.0-or-later
 * Copyright 2026 The Herald authors
 */
#pragma once

/* One request to an identity provider's token endpoint (RFC 6749 §3.2),
 * for the sign-in flows of herald-oauth.h and for other libraries that get
 * a token themselves (the Graph transport's app-only sign-in). Blocking:
 * call these on a worker thread. */

#include <libsoup/soup.h>

#include "herald-oauth.h"

G_BEGIN_DECLS

#define HERALD_OAUTH_GRANT_AUTHORIZATION_CODE "authorization_code"
#define HERALD_OAUTH_GRANT_REFRESH_TOKEN      "refresh_token"
#define HERALD_OAUTH_GRANT_DEVICE_CODE        "urn:ietf:params:oauth:grant-type:device_code"
#define HERALD_OAUTH_GRANT_CLIENT_CREDENTIALS "client_credentials"
/* client_assertion_type of a JWT client assertion (RFC 7523 §2.2). */
#define HERALD_OAUTH_CLIENT_ASSERTION_JWT \
  "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"

/* A session for requests to an identity provider: TLS verified by libsoup
 * with the system's trust store, a per-read timeout, Herald's user agent. */
SoupSession *herald_oauth_session_new (void) G_GNUC_WARN_UNUSED_RESULT;

/* One request to the token endpoint: the grant, the client, how the client
 * authenticates, and the scope. The grant's own parameters (code and
 * code_verifier, refresh_token, device_code, …) are added to the form that
 * herald_oauth_token_form_new() returns. Borrows its strings.
 *
 * A client-credentials (app-only) grant needs no parameters of its own:
 * grant_type HERALD_OAUTH_GRANT_CLIENT_CREDENTIALS, the resource's ".default"
 * scope, and a client_secret or a client_assertion; send the form with
 * herald_oauth_request_token() to the account's token URL
 * (herald_oauth_account_get_endpoints()). Its reply has no refresh token. */
typedef struct {
  const char *grant_type;        /* one of HERALD_OAUTH_GRANT_* */
  const char *client_id;
  const char *scope;             /* NULL: no scope parameter */
  const char *client_secret;     /* NULL or empty: none (public client) */
  const char *client_assertion;  /* a signed JWT (RFC 7523 §2.2); NULL or empty: none */
} HeraldOAuthTokenRequest;

/* The form of @request: a table of key=value whose values are wiped when it
 * goes (they may be secrets). Keys are not copied: add string literals. */
GHashTable *herald_oauth_token_form_new (const HeraldOAuthTokenRequest *request)
  G_GNUC_WARN_UNUSED_RESULT;

/* A successful token reply, checked. Owns its strings; the tokens are wiped
 * by herald_oauth_token_reply_clear(). */
typedef struct {
  char   *access_token;
  char   *refresh_token;   /* NULL when the reply has none (client credentials, some refreshes) */
  gint64  expires_in;      /* seconds, always within 1 s .. 30 days (3600 when missing or absurd) */
} HeraldOAuthTokenReply;

void        herald_oauth_token_reply_clear (HeraldOAuthTokenReply *reply);
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (HeraldOAuthTokenReply, herald_oauth_token_reply_clear)

/* POSTs @form to @token_url (no redirects followed, the reply capped in size
 * and time) and checks the reply: a 2xx reply fills @reply (a Bearer token
 * without spaces or control characters); anything else is a
 * HERALD_OAUTH_ERROR with the provider's code and description, and
 * @oauth_error, when not NULL, receives the provider's "error" value
 * ("invalid_grant", "authorization_pending", …). */
gboolean    herald_oauth_request_token     (SoupSession            *session,
                                            const char             *token_url,
                                            GHashTable             *form,
                                            HeraldOAuthTokenReply  *reply,
                                            char                  **oauth_error,
                                            GCancellable           *cancellable,
                                            GError                **error);

G_END_DECLS
