/* SPDX-License-Identifier: GPL-3.0-or-later
 * Copyright 2026 The Herald authors
 */
#pragma once

/* A stand-in identity provider for tests: a SoupServer on 127.0.0.1 in its own
 * thread, serving the Microsoft v2 endpoints under /TENANT/oauth2/v2.0/ and
 * Google's under /o/oauth2/v2/auth and /token. It checks PKCE (S256), the
 * exact redirect_uri, the client ID (and for Google the client secret),
 * rotates refresh tokens on every refresh and plays a scripted device flow. */

#include <gio/gio.h>

G_BEGIN_DECLS

#define FAKE_IDP_CLIENT_ID     "11111111-2222-3333-4444-555555555555"
#define FAKE_IDP_TENANT        "contoso.example"
#define FAKE_IDP_GOOGLE_SECRET "GOCSPX-fake-desktop-secret"
/* Every token issued starts with this, so tests can look for leaks. */
#define FAKE_IDP_TOKEN_PREFIX  "HERALDTESTTOKEN"

typedef struct _FakeIdp FakeIdp;

typedef enum {
  FAKE_IDP_AUTHORIZE_OK,
  FAKE_IDP_AUTHORIZE_DENY,        /* redirect with error=access_denied */
  FAKE_IDP_AUTHORIZE_BAD_STATE,   /* redirect with a different state */
} FakeIdpAuthorizeMode;

FakeIdp    *fake_idp_new                 (void);
void        fake_idp_free                (FakeIdp    *self);
/* "http://127.0.0.1:PORT" */
const char *fake_idp_get_base_url        (FakeIdp    *self);
/* "http://127.0.0.1:PORT/contoso.example" */
const char *fake_idp_get_authority       (FakeIdp    *self);

void        fake_idp_set_authorize_mode  (FakeIdp              *self,
                                          FakeIdpAuthorizeMode  mode);
/* The scope a Microsoft sign-in must ask for (authorize, device code);
 * default the SMTP scope, "https://outlook.office.com/SMTP.Send offline_access". */
void        fake_idp_set_scope           (FakeIdp    *self,
                                          const char *scope);
/* expires_in for tokens issued from now on (default 3599). */
void        fake_idp_set_expires_in      (FakeIdp    *self,
                                          int         expires_in);
/* When set, every token request fails with HTTP 400 and this JSON body. */
void        fake_idp_set_token_error     (FakeIdp    *self,
                                          const char *json);
/* When set, every token request gets this status and body (e.g. a 200 with
 * malformed JSON). */
void        fake_idp_set_token_reply     (FakeIdp    *self,
                                          guint       status,
                                          const char *body);
/* When set, the devicecode endpoint answers 200 with this body. */
void        fake_idp_set_devicecode_reply (FakeIdp    *self,
                                           const char *body);
/* Device flow: comma-separated poll answers, e.g.
 * "authorization_pending,slow_down,ok"; the last one repeats. */
void        fake_idp_set_device_script   (FakeIdp    *self,
                                          const char *script,
                                          int         interval,
                                          int         expires_in);
/* Forgets every refresh token (as after a password change / revocation). */
void        fake_idp_revoke_all          (FakeIdp    *self);

/* Copies. */
char       *fake_idp_get_current_access_token  (FakeIdp *self);
char       *fake_idp_get_current_refresh_token (FakeIdp *self);
/* Every token issued so far (access and refresh), for leak checks. */
GPtrArray  *fake_idp_get_all_tokens      (FakeIdp    *self);
guint       fake_idp_get_n_refreshes     (FakeIdp    *self);
guint       fake_idp_get_n_code_exchanges (FakeIdp   *self);
/* Monotonic times (µs) of the device-flow polls. */
GArray     *fake_idp_get_poll_times      (FakeIdp    *self);
/* The last authorize request's query parameter, or NULL. */
char       *fake_idp_get_authorize_param (FakeIdp    *self,
                                          const char *name);
/* The last token request's form field, or NULL. */
char       *fake_idp_get_token_param     (FakeIdp    *self,
                                          const char *name);

/* Fails the test when any file under HOME (the test session's throw-away
 * one), the keyring's own files excepted, contains a token of ours. */
void        fake_idp_assert_no_token_under_home (void);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (FakeIdp, fake_idp_free)

/* A stand-in for the user's browser, for herald_oauth_set_browser_func():
 *   FakeIdpBrowser browser = { .allowed = fake_idp_get_base_url (idp) };
 *   herald_oauth_set_browser_func (fake_idp_browser_open, &browser);
 * It fetches the authorize URL on a thread of its own with an HTTP client
 * that follows the redirect back to the loopback listener. With @allowed
 * set, a URL that does not start with it is refused unfetched (loopback
 * only). fake_idp_browser_finish() joins the thread and frees the URL. */
typedef struct {
  GThread    *thread;
  char       *uri;       /* what the sign-in asked to open */
  const char *allowed;   /* NULL: any */
} FakeIdpBrowser;

gboolean fake_idp_browser_open   (const char      *uri,
                                  gpointer         user_data,
                                  GError         **error);
void     fake_idp_browser_finish (FakeIdpBrowser  *browser);

G_END_DECLS
