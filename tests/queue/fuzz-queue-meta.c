/* SPDX-License-Identifier: GPL-3.0-or-later
 * Copyright 2026 The Herald authors
 */
#define G_LOG_DOMAIN "herald-fuzz"

#include <string.h>

#include "fuzz.h"

#include "herald-queue.h"

/* A queue metadata file someone damaged: parsed or refused, never a crash;
 * what parses writes back to the same entry. */
int
LLVMFuzzerTestOneInput (const uint8_t *data,
                        size_t         size)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(HeraldQueueEntry) entry = herald_queue_entry_parse ((const char *) data, size, &error);
  g_autofree char *text = NULL;
  g_autoptr(HeraldQueueEntry) again = NULL;
  gsize length;

  if (entry == NULL)
    {
      g_assert_true (error != NULL);
      return 0;
    }
  g_assert_true (herald_queue_id_is_valid (entry->id));
  g_assert_true (entry->recipients != NULL && entry->recipients[0] != NULL);
  text = herald_queue_entry_serialize (entry, &length);
  again = herald_queue_entry_parse (text, length, NULL);
  g_assert_true (again != NULL);
  g_assert_true (g_str_equal (again->id, entry->id));
  g_assert_true (g_strv_equal ((const char * const *) again->recipients,
                          (const char * const *) entry->recipients));
  return 0;
}
