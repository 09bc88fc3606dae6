/* SPDX-License-Identifier: GPL-3.0-or-later
 * Copyright 2026 The Herald authors
 */
#define G_LOG_DOMAIN "herald-fuzz"

#include "fuzz.h"
#include "herald-oauth.h"
#include "herald-oauth-private.h"

/* The identity provider's error JSON (token and device-code endpoints):
 * any body gives a GError in HERALD_OAUTH_ERROR with a valid UTF-8 message. */
int
LLVMFuzzerTestOneInput (const uint8_t *data,
                        size_t         size)
{
  g_autoptr(GBytes) body = g_bytes_new (data, size);
  g_autoptr(GError) error = _herald_oauth_error_from_reply (400, body);

  g_assert_nonnull (error);
  g_assert_true (error->domain == HERALD_OAUTH_ERROR);
  g_assert_true (g_utf8_validate (error->message, -1, NULL));
  return 0;
}
