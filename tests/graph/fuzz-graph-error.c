/* SPDX-License-Identifier: GPL-3.0-or-later
 * Copyright 2026 The Herald authors
 */
#define G_LOG_DOMAIN "herald-fuzz"

#include <string.h>

#include "fuzz.h"
#include "herald-graph.h"

/* Microsoft Graph's error JSON (any reply body of sendMail): either no
 * error, or one whose strings are valid UTF-8 of at most 1024 bytes. */
int
LLVMFuzzerTestOneInput (const uint8_t *data,
                        size_t         size)
{
  g_autoptr(HeraldGraphError) error = herald_graph_error_parse (data, size);
  const char *fields[5];

  if (error == NULL)
    return 0;

  g_assert_true (error->code != NULL || error->message != NULL);
  fields[0] = error->code;
  fields[1] = error->message;
  fields[2] = error->inner_code;
  fields[3] = error->request_id;
  fields[4] = error->date;
  for (guint i = 0; i < G_N_ELEMENTS (fields); i++)
    if (fields[i] != NULL)
      {
        g_assert_true (g_utf8_validate (fields[i], -1, NULL));
        g_assert_cmpuint (strlen (fields[i]), <=, 1024);
      }
  return 0;
}
