/* SPDX-License-Identifier: GPL-3.0-or-later
 * Copyright 2026 The Herald authors
 */
#pragma once

/* Internals shared with the tests. */

#include "herald-oauth.h"

G_BEGIN_DECLS

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

/* Turns an error reply of the token/devicecode endpoint into a GError in
 * HERALD_OAUTH_ERROR (code mapped from the AADSTS number or the OAuth error). */
GError  *_herald_oauth_error_from_reply (guint        http_status,
                                         GBytes      *body) G_GNUC_WARN_UNUSED_RESULT;

/* Tests: how many milliseconds one "second" of a device-flow interval lasts
 * (default 1000), so polling tests run fast. 0 restores the default. */
void     _herald_oauth_set_poll_unit_ms (guint ms);
/* Tests: the deadline, in milliseconds, for one whole request to the identity
 * provider, reply body included (default HTTP_DEADLINE_SECONDS). 0 restores
 * the default. */
void     _herald_oauth_set_http_deadline_ms (guint ms);

G_END_DECLS
