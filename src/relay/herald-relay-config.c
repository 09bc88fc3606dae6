/* SPDX-License-Identifier: GPL-3.0-or-later
 * Copyright 2026 The Herald authors
 */
#define G_LOG_DOMAIN "herald-relay"

#include "config.h"

#include <glib/gi18n.h>
#include <string.h>

#include "herald-relay.h"
#include "herald-smtp.h"

/* What the relay is told: listen addresses, the networks that may relay
 * without AUTH, and its limits. */

GSocketAddress *
herald_relay_parse_listen (const char  *text,
                           GError     **error)
{
  g_autofree char *copy = NULL;
  g_autofree char *host = NULL;
  const char *port_text;
  g_autoptr(GInetAddress) address = NULL;
  guint64 port;

  if (text == NULL)
    text = "";
  copy = g_strstrip (g_strdup (text));
  if (copy[0] == '[')
    {
      char *close = strchr (copy, ']');

      if (close == NULL || close[1] != ':')
        goto bad;
      host = g_strndup (copy + 1, close - copy - 1);
      port_text = close + 2;
    }
  else
    {
      char *colon = strrchr (copy, ':');

      if (colon == NULL || strchr (copy, ':') != colon)
        goto bad;
      host = g_strndup (copy, colon - copy);
      port_text = colon + 1;
    }
  if (g_str_equal (host, "*"))
    {
      g_free (host);
      host = g_strdup ("0.0.0.0");
    }
  address = g_inet_address_new_from_string (host);
  if (address == NULL ||
      !g_ascii_string_to_unsigned (port_text, 10, 0, 65535, &port, NULL))
    goto bad;
  return g_inet_socket_address_new (address, (guint16) port);

bad:
  g_set_error (error, HERALD_RELAY_ERROR, HERALD_RELAY_ERROR_BAD_ADDRESS,
               _("“%s” is not a listen address: give an IP address and a port, e.g. "
                 "127.0.0.1:2525, [::1]:2525 or 0.0.0.0:587"), text);
  return NULL;
}

GPtrArray *
herald_relay_parse_networks (const char  *text,
                             GError     **error)
{
  g_autoptr(GPtrArray) masks = g_ptr_array_new_with_free_func (g_object_unref);
  g_auto(GStrv) items = NULL;

  if (text == NULL)
    return g_steal_pointer (&masks);
  items = g_strsplit_set (text, ",; ", -1);
  for (guint i = 0; items[i] != NULL; i++)
    {
      GInetAddressMask *mask;

      if (items[i][0] == '\0')
        continue;
      mask = g_inet_address_mask_new_from_string (items[i], NULL);
      if (mask == NULL)
        {
          g_set_error (error, HERALD_RELAY_ERROR, HERALD_RELAY_ERROR_BAD_ADDRESS,
                       _("“%s” is not a network: give an address with a prefix length, e.g. "
                         "127.0.0.1/32 or 192.168.1.0/24"), items[i]);
          return NULL;
        }
      g_ptr_array_add (masks, mask);
    }
  return g_steal_pointer (&masks);
}

HeraldRelayOptions *
herald_relay_options_new (void)
{
  return g_new0 (HeraldRelayOptions, 1);
}

void
herald_relay_options_free (HeraldRelayOptions *options)
{
  if (options == NULL)
    return;
  g_free (options->hostname);
  g_clear_pointer (&options->allow_unauthenticated, g_ptr_array_unref);
  g_free (options->profile_from);
  g_strfreev (options->local_recipients);
  g_free (options);
}

char *
herald_relay_dup_user_state_dir (void)
{
  return g_build_filename (g_get_user_state_dir (), "herald", "relay", NULL);
}
