/* SPDX-License-Identifier: GPL-3.0-or-later
 * Copyright 2026 The Herald authors
 */
#define G_LOG_DOMAIN "herald-fuzz"

#include <string.h>

#include "fuzz.h"

#include "herald-sendmail-args.h"

/* The input is the command line, arguments separated by NUL bytes. */
int
LLVMFuzzerTestOneInput (const uint8_t *data,
                        size_t         size)
{
  g_autoptr(GPtrArray) argv = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(HeraldSendArgs) args = NULL;
  g_autoptr(GError) error = NULL;
  size_t start = 0;

  g_ptr_array_add (argv, g_strdup ("sendmail"));
  for (size_t i = 0; i <= size; i++)
    if (i == size || data[i] == '\0')
      {
        g_ptr_array_add (argv, g_strndup ((const char *) data + start, i - start));
        start = i + 1;
      }

  args = herald_send_args_parse ((int) argv->len, (char **) argv->pdata, &error);
  g_assert_true ((args == NULL) == (error != NULL));
  if (args != NULL)
    {
      g_assert_nonnull (args->recipients);
      /* Every recipient is an argument that was given. */
      for (guint i = 0; args->recipients[i] != NULL; i++)
        g_assert_true (g_ptr_array_find_with_equal_func (argv, args->recipients[i], g_str_equal,
                                                         NULL));
    }
  return 0;
}
