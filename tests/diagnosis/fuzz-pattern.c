/* SPDX-License-Identifier: GPL-3.0-or-later
 * Copyright 2026 The Herald authors
 */
#define G_LOG_DOMAIN "herald-fuzz"

#include <string.h>

#include "fuzz.h"
#include "herald-pattern-private.h"

/* The rules' pattern reader (herald-pattern.c), differentially: the input is
 * a pattern, a newline and a text. Whenever PCRE compiles the pattern whole,
 * the pattern split into alternatives and filtered by the words read off it
 * must match the text exactly where the whole pattern does, and in capitals
 * too. Long inputs are cut: PCRE's own backtracking is not what is tested. */
int
LLVMFuzzerTestOneInput (const uint8_t *data,
                        size_t         size)
{
  g_autofree char *input = fuzz_strndup (data, MIN (size, 600));
  char *newline = strchr (input, '\n');
  const char *source = input;
  const char *text;
  g_autoptr(GRegex) whole = NULL;
  g_autofree char *upper = NULL;
  HeraldPattern *pattern;

  if (newline == NULL)
    return 0;
  *newline = '\0';
  text = newline + 1;
  if (!g_utf8_validate (source, -1, NULL) || !g_utf8_validate (text, -1, NULL))
    return 0;

  pattern = _herald_pattern_new (source, NULL);
  whole = g_regex_new (source, G_REGEX_CASELESS, 0, NULL);
  if (pattern == NULL || whole == NULL)
    {
      _herald_pattern_free (pattern);
      return 0;
    }
  /* Whatever compiles whole compiles in pieces. */
  g_assert_true (_herald_pattern_compile_all (pattern, NULL));
  g_free (_herald_pattern_describe (pattern));

  g_assert_cmpint (_herald_pattern_match (pattern, text, NULL), ==, g_regex_match (whole, text, 0, NULL));
  upper = g_utf8_strup (text, -1);
  g_assert_cmpint (_herald_pattern_match (pattern, upper, NULL), ==, g_regex_match (whole, upper, 0, NULL));
  _herald_pattern_free (pattern);
  return 0;
}
