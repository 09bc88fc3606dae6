/* SPDX-License-Identifier: GPL-3.0-or-later
 * Copyright 2026 The Herald authors
 */
#define G_LOG_DOMAIN "herald-smtp"

#include "config.h"

#include <string.h>

#include "herald-secret.h"

void
herald_secret_wipe (gpointer data,
                    gsize    length)
{
  if (data == NULL || length == 0)
    return;

  /* A plain memset of memory about to be freed is a dead store the
   * compiler may remove; explicit_bzero (glibc 2.25) is never removed. */
  explicit_bzero (data, length);
}

void
herald_secret_wipe_string (char *secret)
{
  if (secret != NULL)
    herald_secret_wipe (secret, strlen (secret));
}

void
herald_secret_free (char *secret)
{
  herald_secret_wipe_string (secret);
  g_free (secret);
}
