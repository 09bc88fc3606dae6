/* SPDX-License-Identifier: GPL-3.0-or-later
 * Copyright 2026 The Herald authors
 */
#define G_LOG_DOMAIN "herald-test-secrets"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "herald-secrets.h"

/* A tiny front end to herald-secrets for the script tests, so they use the very
 * code the window and heraldctl use:
 *
 *   herald-secret-helper store HOST PORT USER    password on stdin (first line)
 *   herald-secret-helper check HOST PORT USER    expected password on stdin;
 *                                                exit 0 same, 1 different, 3 none
 *   herald-secret-helper clear HOST PORT USER
 *
 * It never prints a password. Errors: exit 2 (usage) or 4 (keyring error, the
 * error code and message on stderr). */

static char *
read_stdin_line (void)
{
  char buffer[4096];
  size_t len;

  if (fgets (buffer, sizeof buffer, stdin) == NULL)
    return g_strdup ("");
  len = strcspn (buffer, "\r\n");
  buffer[len] = '\0';
  return g_strdup (buffer);
}

int
main (int   argc,
      char *argv[])
{
  g_autoptr(GError) error = NULL;
  const char *command, *host, *user;
  guint64 port;

  if (argc != 5 || !g_ascii_string_to_unsigned (argv[3], 10, 1, 65535, &port, NULL))
    {
      fprintf (stderr, "usage: herald-secret-helper store|check|clear HOST PORT USER\n");
      return 2;
    }
  command = argv[1];
  host = argv[2];
  user = argv[4];

  if (strcmp (command, "store") == 0)
    {
      g_autofree char *password = read_stdin_line ();

      if (!herald_password_store_sync (host, port, user, password, NULL, &error))
        goto failed;
      return 0;
    }
  else if (strcmp (command, "check") == 0)
    {
      g_autofree char *expected = read_stdin_line ();
      g_autofree char *found = herald_password_lookup_sync (host, port, user, NULL, &error);

      if (error != NULL)
        goto failed;
      if (found == NULL)
        return 3;
      return strcmp (found, expected) == 0 ? 0 : 1;
    }
  else if (strcmp (command, "clear") == 0)
    {
      if (!herald_password_clear_sync (host, port, user, NULL, &error))
        goto failed;
      return 0;
    }

  fprintf (stderr, "herald-secret-helper: unknown command %s\n", command);
  return 2;

failed:
  fprintf (stderr, "herald-secret-helper: keyring error %d: %s\n", error->code, error->message);
  return 4;
}
