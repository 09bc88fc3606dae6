/* SPDX-License-Identifier: GPL-3.0-or-later
 * Copyright 2026 The Herald authors
 */
#define G_LOG_DOMAIN "herald-fuzz"

#include <string.h>

#include "fuzz.h"
#include "herald-oauth.h"
#include "herald-oauth-private.h"

/* The token endpoint's reply, as a 200 and as an error status: either a
 * checked token (no spaces or control characters, a sane lifetime) or a
 * HERALD_OAUTH_ERROR, never both and never neither. */
int
LLVMFuzzerTestOneInput (const uint8_t *data,
                        size_t         size)
{
  g_autoptr(GBytes) body = g_bytes_new (data, size);
  const guint statuses[] = { 200, 400 };

  for (guint i = 0; i < G_N_ELEMENTS (statuses); i++)
    {
      g_auto(HeraldOAuthTokenReply) reply = { 0, };
      g_autofree char *oauth_error = NULL;
      g_autoptr(GError) error = NULL;
      gboolean ok;

      ok = _herald_oauth_token_reply_parse ("https://login.example/token", statuses[i], body,
                                            &reply, &oauth_error, &error);
      if (ok)
        {
          g_assert_no_error (error);
          g_assert_nonnull (reply.access_token);
          for (const char *p = reply.access_token; *p != '\0'; p++)
            g_assert_true ((guchar) *p > 0x20 && (guchar) *p != 0x7f);
          g_assert_cmpint (reply.expires_in, >=, 1);
          g_assert_cmpint (reply.expires_in, <=, 30 * 24 * 3600);
        }
      else
        {
          g_assert_nonnull (error);
          g_assert_true (error->domain == HERALD_OAUTH_ERROR);
          g_assert_true (g_utf8_validate (error->message, -1, NULL));
        }
    }
  return 0;
}
