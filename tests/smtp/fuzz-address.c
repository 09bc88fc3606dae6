/* SPDX-License-Identifier: GPL-3.0-or-later
 * Copyright 2026 The Herald authors
 */
#define G_LOG_DOMAIN "herald-fuzz"

#include "fuzz.h"
#include "herald-smtp.h"

/* Address validation and list splitting on whatever is typed or pasted. */
int
LLVMFuzzerTestOneInput (const uint8_t *data,
                        size_t         size)
{
  g_autofree char *text = fuzz_strndup (data, size);
  g_auto(GStrv) items = herald_address_list_split (text);

  herald_address_is_valid (text);
  if (items == NULL)
    g_error ("herald_address_list_split() returned NULL");
  for (guint i = 0; items[i] != NULL; i++)
    {
      g_assert_cmpstr (items[i], !=, "");
      herald_address_is_valid (items[i]);
    }
  return 0;
}
