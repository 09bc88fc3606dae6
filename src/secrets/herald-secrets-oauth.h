/* SPDX-License-Identifier: GPL-3.0-or-later
 * Copyright 2026 The Herald authors
 */
#pragma once

/* OAuth 2.0 tokens in the keyring, under our own schema
 * "io.github.heraldmail.Herald.OAuth2" keyed by provider ("microsoft",
 * "google"), account (mailbox address) and client ID. The secret is the
 * refresh token, the cached access token and its expiry (and a Google
 * client secret when there is one), serialised as a GVariant. Tokens never
 * go anywhere but the keyring. */

#include <gio/gio.h>

G_BEGIN_DECLS

#define HERALD_OAUTH_SECRET_SCHEMA_NAME "io.github.heraldmail.Herald.OAuth2"

typedef struct {
  char   *refresh_token;   /* secret */
  char   *access_token;    /* secret; may be NULL */
  gint64  expires_at;      /* access token expiry, Unix seconds (UTC); 0 when unknown */
  char   *client_secret;   /* Google Desktop-app client secret; may be NULL */
} HeraldOAuthTokens;

HeraldOAuthTokens *herald_oauth_tokens_new  (void) G_GNUC_WARN_UNUSED_RESULT;
HeraldOAuthTokens *herald_oauth_tokens_copy (const HeraldOAuthTokens *tokens) G_GNUC_WARN_UNUSED_RESULT;
/* Wipes the secrets before freeing them. */
void               herald_oauth_tokens_free (HeraldOAuthTokens       *tokens);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (HeraldOAuthTokens, herald_oauth_tokens_free)

/* Returns NULL with no error when the keyring holds nothing for the key.
 * A stored item that cannot be parsed gives HERALD_SECRETS_ERROR_FAILED. */
HeraldOAuthTokens *herald_oauth_tokens_lookup_sync (const char    *provider,
                                                    const char    *account,
                                                    const char    *client_id,
                                                    GCancellable  *cancellable,
                                                    GError       **error) G_GNUC_WARN_UNUSED_RESULT;
gboolean           herald_oauth_tokens_store_sync  (const char              *provider,
                                                    const char              *account,
                                                    const char              *client_id,
                                                    const HeraldOAuthTokens *tokens,
                                                    GCancellable            *cancellable,
                                                    GError                 **error);
/* Succeeds when there was nothing to clear. */
gboolean           herald_oauth_tokens_clear_sync  (const char    *provider,
                                                    const char    *account,
                                                    const char    *client_id,
                                                    GCancellable  *cancellable,
                                                    GError       **error);

/* Where the functions above keep tokens: the keyring unless another store
 * is installed. A system profile (servers, no session bus) installs root's
 * store (src/profile), so that the OAuth code, the sign-in and the token
 * refresh work unchanged in both scopes. NULL puts the keyring back. */
typedef struct {
  HeraldOAuthTokens *(*lookup) (const char *provider, const char *account, const char *client_id,
                                gpointer user_data, GCancellable *cancellable, GError **error);
  gboolean           (*store)  (const char *provider, const char *account, const char *client_id,
                                const HeraldOAuthTokens *tokens, gpointer user_data,
                                GCancellable *cancellable, GError **error);
  gboolean           (*clear)  (const char *provider, const char *account, const char *client_id,
                                gpointer user_data, GCancellable *cancellable, GError **error);
} HeraldOAuthTokenStore;

void               herald_oauth_tokens_set_store   (const HeraldOAuthTokenStore *store,
                                                    gpointer                     user_data);
/* The keyring's own store (for a store that wraps it). */
const HeraldOAuthTokenStore *herald_oauth_tokens_keyring_store (void);

/* The tokens as one text (a GVariant dictionary) and back, for a store that
 * keeps bytes. The text is a secret: free it with herald_secret_free(). */
char              *herald_oauth_tokens_serialize   (const HeraldOAuthTokens *tokens) G_GNUC_WARN_UNUSED_RESULT;
/* NULL with HERALD_SECRETS_ERROR_FAILED when @text is damaged. */
HeraldOAuthTokens *herald_oauth_tokens_parse       (const char              *text,
                                                    GError                 **error) G_GNUC_WARN_UNUSED_RESULT;

G_END_DECLS
