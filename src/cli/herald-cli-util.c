/* SPDX-License-Identifier: GPL-3.0-or-later
 * Copyright 2026 The Herald authors
 */
#define G_LOG_DOMAIN "herald-cli"

#include "config.h"

#include <glib/gi18n.h>
#include <stdio.h>

#include "herald-cli.h"
#include "herald-cli-util.h"

#define SETTINGS_SCHEMA_ID "io.github.heraldmail.Herald"

/* Prints "heraldctl COMMAND: MESSAGE" and where to find the options, and
 * returns the exit status for bad usage. */
int
_herald_cli_usage_error (const char *command,
                         const char *format,
                         ...)
{
  g_autofree char *message = NULL;
  va_list args;

  va_start (args, format);
  message = g_strdup_vprintf (format, args);
  va_end (args);

  fprintf (stderr, "heraldctl %s: %s\n", command, message);
  fprintf (stderr, _("Run “heraldctl %s --help” for the options.\n"), command);

  return HERALD_EXIT_USAGE;
}

/* The saved settings, or NULL when the schema is not installed: heraldctl
 * then works from the command line alone. When @why is not NULL it gets the
 * reason for a NULL return. */
GSettings *
_herald_cli_open_settings (char **why)
{
  GSettingsSchemaSource *source = g_settings_schema_source_get_default ();
  g_autoptr(GSettingsSchema) schema = NULL;

  if (source != NULL)
    schema = g_settings_schema_source_lookup (source, SETTINGS_SCHEMA_ID, TRUE);
  if (schema == NULL)
    {
      if (why != NULL)
        *why = g_strdup_printf (_("the saved settings are not available (the GSettings schema "
                                  "%s is not installed)"), SETTINGS_SCHEMA_ID);
      return NULL;
    }

  return g_settings_new_full (schema, NULL, NULL);
}

/* A saved string, or NULL when there are no settings or it is empty. */
char *
_herald_cli_setting_string (GSettings  *settings,
                            const char *key)
{
  char *value;

  if (settings == NULL)
    return NULL;
  value = g_settings_get_string (settings, key);
  if (value[0] == '\0')
    g_clear_pointer (&value, g_free);

  return value;
}

/* A copy of the command-line @option when given, else the saved @key (NULL
 * when neither has a value). */
char *
_herald_cli_option_or_setting (const char *option,
                               GSettings  *settings,
                               const char *key)
{
  if (option != NULL)
    return g_strdup (option);

  return _herald_cli_setting_string (settings, key);
}
