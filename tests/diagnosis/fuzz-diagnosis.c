/* SPDX-License-Identifier: GPL-3.0-or-later
 * Copyright 2026 The Herald authors
 */
#define G_LOG_DOMAIN "herald-fuzz"

#include <string.h>

#include "fuzz.h"
#include "herald-diagnosis.h"
#include "herald-json.h"
#include "herald-report.h"

/* The diagnosis text path (`heraldctl explain`): any pasted text gives a
 * diagnosis whose JSON parses strictly (no raw control characters, valid
 * UTF-8) and whose plain text is valid UTF-8. */
int
LLVMFuzzerTestOneInput (const uint8_t *data,
                        size_t         size)
{
  g_autofree char *text = fuzz_strndup (data, size);
  g_autoptr(HeraldExplanation) e = herald_explain (text, HERALD_N_STAGES, NULL);
  g_autoptr(JsonNode) node = NULL;
  g_autofree char *json = NULL;
  g_autofree char *plain = NULL;
  g_autoptr(JsonParser) parser = json_parser_new ();

  g_assert_nonnull (e);
  g_assert_nonnull (e->diagnosis);
  node = herald_explanation_to_json (e);
  json = herald_json_to_string (node, FALSE);
  g_assert_true (g_utf8_validate (json, -1, NULL));
  for (const char *p = json; *p != '\0'; p++)
    g_assert_cmpint ((guchar) *p, >=, 0x20);
  g_assert_true (json_parser_load_from_data (parser, json, -1, NULL));

  plain = herald_diagnosis_to_text (e->diagnosis, HERALD_DIAGNOSIS_TEXT_ALL);
  g_assert_true (g_utf8_validate (plain, -1, NULL));
  return 0;
}
