/* SPDX-License-Identifier: GPL-3.0-or-later
 * Copyright 2026 The Herald authors
 */
#pragma once

/* Every fuzz target defines LLVMFuzzerTestOneInput(). Built with clang and
 * -Dfuzzing=true it is a libFuzzer program; always, it is also linked with
 * replay.c into a plain program that runs the checked-in corpus (every
 * crasher found included) in the normal test suite. */

#include <glib.h>
#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerTestOneInput (const uint8_t *data,
                            size_t         size);

/* The input as a NUL-terminated string (bytes after a NUL are kept out). */
static inline char *
fuzz_strndup (const uint8_t *data,
              size_t         size)
{
  return g_strndup ((const char *) data, size);
}
