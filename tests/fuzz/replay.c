/* SPDX-License-Identifier: GPL-3.0-or-later
 * Copyright 2026 The Herald authors
 */
#define G_LOG_DOMAIN "herald-fuzz"

#include <glib.h>
#include <stdio.h>

#include "fuzz.h"

static int
compare_paths (gconstpointer a,
               gconstpointer b)
{
  return g_strcmp0 (*(const char * const *) a, *(const char * const *) b);
}

/* replay-TARGET DIR...: runs every file of each directory through the
 * target once, printing TAP. A crash or a failed assertion fails the test. */
int
main (int   argc,
      char *argv[])
{
  g_autoptr(GPtrArray) files = g_ptr_array_new_with_free_func (g_free);

  for (int i = 1; i < argc; i++)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(GDir) dir = g_dir_open (argv[i], 0, &error);
      const char *name;

      if (dir == NULL)
        {
          printf ("Bail out! %s\n", error->message);
          return 1;
        }
      while ((name = g_dir_read_name (dir)) != NULL)
        g_ptr_array_add (files, g_build_filename (argv[i], name, NULL));
    }
  g_ptr_array_sort (files, compare_paths);

  printf ("1..%u\n", files->len);
  for (guint i = 0; i < files->len; i++)
    {
      const char *path = g_ptr_array_index (files, i);
      g_autoptr(GError) error = NULL;
      g_autofree char *data = NULL;
      gsize length = 0;

      fflush (stdout);
      if (!g_file_get_contents (path, &data, &length, &error))
        {
          printf ("not ok %u - %s: %s\n", i + 1, path, error->message);
          continue;
        }
      LLVMFuzzerTestOneInput ((const uint8_t *) data, length);
      printf ("ok %u - %s\n", i + 1, path);
    }
  if (files->len == 0)
    {
      printf ("Bail out! the corpus is empty\n");
      return 1;
    }
  return 0;
}
