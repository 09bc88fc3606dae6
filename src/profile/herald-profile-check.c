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

/* The settings the engine checks itself, with the window's words. */
static const char * const engine_keys[] = {
  "server", "port", "security", "auth", "username", "from", "to", "cc", "subject",
  "extra-text", "ca-file", "timeout", "deadline", NULL
};

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

gboolean
_herald_profile_check_field (const char  *key,
                             const char  *text,
                             GError     **error)
{
  /* The engine's own per-setting check, the one the window runs: what
   * the window refuses, heraldctl config set refuses with the same words. */
  if (g_strv_contains (engine_keys, key))
    {
      g_autofree char *message = NULL;

      if (!herald_smtp_check_field (key, text, &message))
        return invalid (error, "%s", message);
      return TRUE;
    }

  if (strpbrk (text, "\r\n") != NULL)
    return invalid (error, _("%s must not contain line breaks"), key);

  /* The relay's addresses and networks: IP literals only (GIO parses
   * them; src/relay parses them the same way when it starts). */
  if (g_str_equal (key, "relay-listen") || g_str_equal (key, "relay-allow-unauthenticated"))
    {
      g_auto(GStrv) items = g_strsplit_set (text, ",; ", -1);
      gboolean listen = g_str_equal (key, "relay-listen");

      for (guint i = 0; items[i] != NULL; i++)
        {
          g_autoptr(GInetAddressMask) mask = NULL;
          g_autoptr(GSocketConnectable) address = NULL;
          g_autofree char *host = NULL;

          if (items[i][0] == '\0')
            continue;
          if (!listen)
            {
              mask = g_inet_address_mask_new_from_string (items[i], NULL);
              if (mask == NULL)
                return invalid (error, _("%s: “%s” is not a network (e.g. 192.168.1.0/24)"), key,
                                items[i]);
              continue;
            }
          address = g_network_address_parse (items[i], 0, NULL);
          if (address != NULL)
            host = g_strdup (g_network_address_get_hostname (G_NETWORK_ADDRESS (address)));
          if (address == NULL || g_network_address_get_port (G_NETWORK_ADDRESS (address)) == 0 ||
              (!g_hostname_is_ip_address (host) && !g_str_equal (host, "*")))
            return invalid (error, _("%s: “%s” is not an IP address with a port (e.g. "
                                     "127.0.0.1:2525 or [::1]:2525)"), key, items[i]);
        }
    }

  if (g_str_equal (key, "local-recipients"))
    {
      g_auto(GStrv) addresses = herald_address_list_split (text);

      for (guint i = 0; addresses != NULL && addresses[i] != NULL; i++)
        if (!herald_address_is_valid (addresses[i]))
          return invalid (error, _("%s: “%s” is not a valid email address"), key, addresses[i]);
    }

  return TRUE;
}
