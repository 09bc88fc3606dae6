/* SPDX-License-Identifier: GPL-3.0-or-later
 * Copyright 2026 The Herald authors
 */
#define G_LOG_DOMAIN "herald-cli"

#include "config.h"

#include <errno.h>
#include <glib/gi18n.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <inttypes.h>

#include "herald-cli.h"
#include "herald-cli-util.h"
#include "herald-secrets.h"

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

/* Parses the options of "heraldctl COMMAND" (no other arguments allowed).
 * Returns HERALD_EXIT_OK, or the usage status after saying what is wrong. */
int
_herald_cli_parse_options (const char          *command,
                           const char          *summary,
                           const char          *description,
                           const GOptionEntry  *entries,
                           int                 *argc,
                           char              ***argv)
{
  g_autoptr(GOptionContext) context = g_option_context_new (NULL);
  g_autoptr(GError) error = NULL;
  g_autofree char *prgname = g_strdup_printf ("heraldctl %s", command);

  g_option_context_set_summary (context, summary);
  if (description != NULL)
    g_option_context_set_description (context, description);
  g_option_context_add_main_entries (context, entries, GETTEXT_PACKAGE);
  g_option_context_set_translation_domain (context, GETTEXT_PACKAGE);

  /* GOption names the program in "Usage:" from the prgname. */
  g_set_prgname (prgname);
  if (!g_option_context_parse (context, argc, argv, &error))
    return _herald_cli_usage_error (command, "%s", error->message);
  if (*argc > 1)
    return _herald_cli_usage_error (command, _("unexpected argument “%s”"), (*argv)[1]);

  return HERALD_EXIT_OK;
}

static GSettings *profile_settings;
static HeraldCliPasswordLookup password_lookup;

void
_herald_cli_set_password_lookup (HeraldCliPasswordLookup lookup)
{
  password_lookup = lookup;
}

char *
_herald_cli_password_lookup (const char    *host,
                             guint16        port,
                             const char    *username,
                             GCancellable  *cancellable,
                             GError       **error)
{
  if (password_lookup != NULL)
    return password_lookup (host, port, username, cancellable, error);
  return herald_password_lookup_sync (host, port, username, cancellable, error);
}

static char *token_place;

void
_herald_cli_set_token_place (const char *place)
{
  g_free (token_place);
  token_place = g_strdup (place);
}

const char *
_herald_cli_get_token_place (void)
{
  return token_place;
}

void
_herald_cli_set_settings (GSettings *settings)
{
  g_set_object (&profile_settings, settings);
}

/* The saved settings, or NULL when the schema is not installed: heraldctl
 * then works from the command line alone. When @why is not NULL it gets the
 * reason for a NULL return. */
GSettings *
_herald_cli_open_settings (char **why)
{
  GSettingsSchemaSource *source = g_settings_schema_source_get_default ();
  g_autoptr(GSettingsSchema) schema = NULL;

  if (profile_settings != NULL)
    return g_object_ref (profile_settings);

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

/* Wipes all of a fixed-size buffer (its length may not be known by strlen:
 * a NUL byte may have been read into it) and frees it. */
static void
buffer_wipe_free (char  *buf,
                  gsize  size)
{
  herald_secret_wipe (buf, size);
  g_free (buf);
}

char *
_herald_cli_read_secret_line_raw (const char  *option,
                                  const char  *what,
                                  gsize        max_length,
                                  GError     **error)
{
  gsize size = max_length + 1;
  char *buf;
  gsize len = 0;

  g_return_val_if_fail (option != NULL, NULL);
  g_return_val_if_fail (what != NULL, NULL);
  g_return_val_if_fail (max_length > 0, NULL);

  buf = g_malloc0 (size);

  for (;;)
    {
      char c;
      ssize_t n = read (STDIN_FILENO, &c, 1);

      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        {
          int saved_errno = errno;

          buffer_wipe_free (buf, size);
          g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved_errno),
                       _("%s: could not read standard input: %s"), option, g_strerror (saved_errno));
          return NULL;
        }
      if (n == 0 || c == '\n')
        break;
      if (c == '\0')
        {
          buffer_wipe_free (buf, size);
          /* Translators: the first %s is an option such as --client-secret-stdin,
           * the second what it reads, e.g. “client secret”. */
          g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                       _("%s: the %s on standard input contains a NUL byte"), option, what);
          return NULL;
        }
      if (len == max_length)
        {
          buffer_wipe_free (buf, size);
          /* Translators: the first %s is an option such as --client-secret-stdin,
           * the second what it reads, e.g. “client secret”. */
          g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                       _("%s: the %s on standard input is longer than %" PRIu64 " bytes"),
                       option, what, (guint64) max_length);
          return NULL;
        }
      buf[len++] = c;
    }

  while (len > 0 && buf[len - 1] == '\r')
    buf[--len] = '\0';

  if (len == 0)
    {
      buffer_wipe_free (buf, size);
      /* Translators: the first %s is an option such as --client-secret-stdin,
       * the second what it reads, e.g. “client secret”. */
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                   _("%s: standard input holds no %s (an empty line)"), option, what);
      return NULL;
    }

  return buf;
}
