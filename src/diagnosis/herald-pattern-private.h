/* SPDX-License-Identifier: GPL-3.0-or-later
 * Copyright 2026 The Herald authors
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* A rule's pattern (PCRE, caseless), split at its top-level '|' into its
 * alternatives. Each alternative knows the ASCII words it cannot match
 * without ("auth" and "failed" for "\bauth\s+failed"; one of "password" or
 * "passwort" for "(?:password|passwort)"), read off the pattern. An
 * alternative is compiled on first use, and tried only on a text that holds
 * its words: matching is the same as with the whole pattern as one GRegex
 * (A|B matches exactly when A or B does), but most alternatives are never
 * compiled or run. */
typedef struct _HeraldPattern HeraldPattern;

/* NULL with @error set when the pattern's brackets do not balance. The
 * alternatives' own syntax is checked when they are compiled: see
 * _herald_pattern_compile_all(). */
HeraldPattern *_herald_pattern_new (const char  *source,
                                    GError     **error);
void           _herald_pattern_free (HeraldPattern *pattern);

/* The text lowered for the word test: ASCII letters lowered, and the two
 * characters PCRE's caseless matching takes for ASCII letters (KELVIN SIGN
 * for k, LONG S for s) written as those letters. Free with g_free(). */
char          *_herald_pattern_lower (const char *text);

/* @lowered: _herald_pattern_lower (@text), or NULL to have it made here.
 * Thread-safe. */
gboolean       _herald_pattern_match (HeraldPattern *pattern,
                                      const char    *text,
                                      const char    *lowered);

/* Compiles every alternative now; FALSE with @error at the first that does
 * not compile. The tests check every rule's pattern with it. */
gboolean       _herald_pattern_compile_all (HeraldPattern  *pattern,
                                            GError        **error);

/* For the tests: each alternative's words, one line per alternative:
 * "auth & failed", "password|passwort", or "*" when it has none and is always
 * tried. */
char          *_herald_pattern_describe (HeraldPattern *pattern);

G_END_DECLS
