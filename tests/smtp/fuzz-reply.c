/* SPDX-License-Identifier: GPL-3.0-or-later
 * Copyright 2026 The Herald authors
 */
#define G_LOG_DOMAIN "herald-fuzz"

#include <string.h>

#include "fuzz.h"
#include "herald-smtp.h"
#include "herald-smtp-private.h"

/* The SMTP reply reader on whatever a server sends: every reply read until
 * the reader refuses or the bytes end; each must be a well-formed reply. */
int
LLVMFuzzerTestOneInput (const uint8_t *data,
                        size_t         size)
{
  g_autoptr(GInputStream) stream = g_memory_input_stream_new_from_data (g_memdup2 (data, size), size, g_free);
  g_autoptr(HeraldLineReader) reader = _herald_line_reader_new (stream);

  for (guint i = 0; i < 1000; i++)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(HeraldSmtpReply) reply = _herald_smtp_read_reply (reader, NULL, NULL, NULL, &error);

      if (reply == NULL)
        {
          g_assert_nonnull (error);
          break;
        }
      g_assert_cmpint (reply->code, >=, 100);
      g_assert_cmpint (reply->code, <=, 999);
      g_assert_true (g_utf8_validate (reply->raw, -1, NULL));
      g_assert_true (g_utf8_validate (reply->text, -1, NULL));
    }
  return 0;
}
