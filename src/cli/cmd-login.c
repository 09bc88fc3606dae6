/* SPDX-License-Identifier: GPL-3.0-or-later
 * Copyright 2026 The Herald authors
 */
#define G_LOG_DOMAIN "herald-cli"

#include "config.h"

#include <glib/gi18n.h>

#include "herald-cli.h"

/* OAuth 2.0 sign-in is not built yet: say so plainly instead of pretending. */
int
herald_cli_login (int    argc,
                  char **argv)
{
  fprintf (stderr, "%s\n", _("heraldctl login: OAuth 2.0 sign-in is not available in this build yet."));
  return HERALD_EXIT_USAGE;
}

int
herald_cli_logout (int    argc,
                   char **argv)
{
  fprintf (stderr, "%s\n", _("heraldctl logout: OAuth 2.0 sign-in is not available in this build yet."));
  return HERALD_EXIT_USAGE;
}
