/* SPDX-License-Identifier: GPL-3.0-or-later
 * Copyright 2026 The Herald authors
 */
#define G_LOG_DOMAIN "herald-fuzz"

#include <string.h>

#include "fuzz.h"
#include "herald-smtp.h"
#include "herald-smtp-private.h"

/* The EHLO capability parser on every reply a server could send (read by
 * the real reader, so the text is what the engine would parse). */
int
LLVMFuzzerTestOneInput (const uint8_t *data,
                        size_t         size)
{
  g_autoptr(GInputStream) stream = g_memory_input_stream_new_from_data (g_memdup2 (data, size), size, g_free);
  g_autoptr(HeraldLineReader) reader = _herald_line_reader_new (stream);
  g_autoptr(HeraldSmtpReply) reply = _herald_smtp_read_reply (reader, NULL, NULL, NULL, NULL);
  g_autoptr(HeraldSmtpCaps) caps = NULL;

  if (reply == NULL)
    return 0;
  caps = _herald_smtp_caps_parse (reply);
  g_assert_nonnull (caps);
  g_assert_nonnull (caps->auth_mechanisms);
  for (guint i = 0; caps->auth_mechanisms[i] != NULL; i++)
    g_assert_true (_herald_smtp_caps_has_mechanism (caps, caps->auth_mechanisms[i]));
  _herald_smtp_caps_has_mechanism (caps, "PLAIN");
  return 0;
}
