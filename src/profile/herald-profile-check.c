/* SPDX-License-Identifier: GPL-3.0-or-later
 * Copyright 2026 The Herald authors
 */
#define G_LOG_DOMAIN "herald-profile"

#include "config.h"

#include <glib/gi18n.h>
#include <string.h>

#include "herald-profile.h"
#include "herald-profile-check.h"
#include "herald-smtp.h"
#include "herald-smtp-private.h"

gboolean
_herald_profile_parse_boolean (const char *text,
                               gboolean   *out)
{
  static const char * const yes[] = { "true", "yes", "on", "1", NULL };
  static const char * const no[] = { "false", "no", "off", "0", NULL };
  g_autofree char *lower = NULL;

  if (text == NULL)
    return FALSE;
  lower = g_ascii_strdown (text, -1);
  g_strstrip (lower);
  if (g_strv_contains (yes, lower))
    *out = TRUE;
  else if (g_strv_contains (no, lower))
    *out = FALSE;
  else
    return FALSE;
  return TRUE;
}

static gboolean
invalid (GError     **error,
         const char  *format,
         ...) G_GNUC_PRINTF (2, 3);

static gboolean
invalid (GError     **error,
         const char  *format,
         ...)
{
  va_list args;

  va_start (args, format);
  if (error != NULL)
    *error = g_error_new_valist (HERALD_PROFILE_ERROR, HERALD_PROFILE_ERROR_INVALID_VALUE,
                                 format, args);
  va_end (args);
  return FALSE;
}

/* Every address in a list must be valid; an empty list is allowed (the
 * window says "enter a recipient", it does not refuse to save). */
static gboolean
check_addresses (const char  *key,
                 const char  *text,
                 gboolean     single,
                 GError     **error)
{
  g_auto(GStrv) addresses = herald_address_list_split (text);

  if (single && addresses != NULL && addresses[0] != NULL && addresses[1] != NULL)
    return invalid (error, _("“%s” takes one address, not a list"), key);

  for (guint i = 0; addresses != NULL && addresses[i] != NULL; i++)
    if (!herald_address_is_valid (addresses[i]))
      return invalid (error, _("%s: “%s” is not a valid email address"), key, addresses[i]);

  return TRUE;
}

gboolean
_herald_profile_check_field (const char  *key,
                             const char  *text,
                             GError     **error)
{
  g_autoptr(GError) local = NULL;
  g_autofree char *stripped = g_strstrip (g_strdup (text));

  /* The engine's own check (it refuses line breaks in any field before
   * connecting): a value the engine would refuse is never saved. The
   * additional text is the one field made of several lines. */
  if (!g_str_equal (key, "extra-text") && !_herald_smtp_check_field (key, text, &local))
    return invalid (error, "%s", local->message);

  if (g_str_equal (key, "server") && strpbrk (stripped, " \t/") != NULL)
    return invalid (error, _("“%s” is not a host name"), stripped);
  if (g_str_equal (key, "from"))
    return check_addresses (key, stripped, TRUE, error);
  if (g_str_equal (key, "to") || g_str_equal (key, "cc") || g_str_equal (key, "local-recipients"))
    return check_addresses (key, stripped, FALSE, error);
  if (g_str_equal (key, "ca-file") && stripped[0] != '\0' && !g_path_is_absolute (stripped))
    return invalid (error, _("ca-file must be an absolute path"));

  return TRUE;
}
