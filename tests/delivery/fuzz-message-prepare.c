/* SPDX-License-Identifier: GPL-3.0-or-later
 * Copyright 2026 The Herald authors
 */
#define G_LOG_DOMAIN "herald-fuzz"

#include <string.h>

#include "fuzz.h"

#include "herald-message.h"

/* Whatever a caller pipes in, with -t: a prepared message always has CRLF
 * line endings only, at least one valid recipient, and no Bcc header. */
int
LLVMFuzzerTestOneInput (const uint8_t *data,
                        size_t         size)
{
  static const char * const to[] = { "admin@example.com", NULL };
  HeraldMessageOptions o = { 0 };
  g_autoptr(HeraldPreparedMessage) m = NULL;
  g_autoptr(GError) error = NULL;

  o.extract = size > 0 && (data[0] & 1);
  o.profile_from = "alerts@example.com";
  o.profile_recipients = to;
  o.rewrite_from = TRUE;
  o.max_size = 1024 * 1024;
  o.hostname = "fuzz.example";

  m = herald_message_prepare ((const char *) data, size, &o, &error);
  if (m == NULL)
    {
      g_assert_true (error != NULL);
      return 0;
    }
  {
    gsize n;
    const char *out = g_bytes_get_data (m->data, &n);

    for (gsize i = 0; i < n; i++)
      if (out[i] == '\n')
        g_assert_true (i > 0 && out[i - 1] == '\r');
    g_assert_true (n >= 2 && out[n - 2] == '\r' && out[n - 1] == '\n');
  }
  g_assert_true (m->recipients != NULL && m->recipients[0] != NULL);
  g_assert_true (m->message_id != NULL);
  g_assert_true (m->subject == NULL || g_utf8_validate (m->subject, -1, NULL));
  return 0;
}
