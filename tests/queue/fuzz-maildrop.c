/* SPDX-License-Identifier: GPL-3.0-or-later
 * Copyright 2026 The Herald authors
 */
#define G_LOG_DOMAIN "herald-fuzz"

#include <string.h>

#include "fuzz.h"

#include "herald-maildrop.h"

/* A file any local user may put into the system maildrop: parsed or
 * refused, never a crash; what parses has 1 to 1000 clean recipients, a
 * clean client and device user when it names them, and a message, and
 * builds back to the same bytes. */
int
LLVMFuzzerTestOneInput (const uint8_t *data,
                        size_t         size)
{
  g_autoptr(GError) error = NULL;
  g_auto(GStrv) recipients = NULL;
  g_autofree char *client = NULL;
  g_autofree char *device = NULL;
  g_autoptr(GBytes) message = NULL;
  g_autoptr(GBytes) again = NULL;
  g_autoptr(GBytes) original = NULL;
  gsize offset = 0;
  guint n;

  if (!herald_maildrop_parse_relayed (data, size, &recipients, &client, &device, &offset,
                                      &error))
    {
      g_assert_true (error != NULL);
      return 0;
    }
  n = g_strv_length (recipients);
  g_assert_true (n >= 1 && n <= HERALD_MAILDROP_MAX_RECIPIENTS);
  g_assert_true (offset < size);
  for (guint i = 0; i < n; i++)
    g_assert_true (strpbrk (recipients[i], " \r\n\t<>") == NULL &&
                   strchr (recipients[i], '@') != NULL);
  g_assert_true (client == NULL || (g_hostname_is_ip_address (client) &&
                                    strpbrk (client, " \r\n\t<>") == NULL));
  g_assert_true (device == NULL || (device[0] != '\0' && strlen (device) <= 64 &&
                                    strpbrk (device, " \r\n\t<>") == NULL));
  message = g_bytes_new (data + offset, size - offset);
  again = herald_maildrop_build_relayed (message, (const char * const *) recipients, client,
                                         device, NULL);
  g_assert_true (again != NULL);
  original = g_bytes_new (data, size);
  g_assert_true (g_bytes_equal (again, original));
  return 0;
}
