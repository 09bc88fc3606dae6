/* SPDX-License-Identifier: GPL-3.0-or-later
 * Copyright 2026 The Herald authors
 */
#define G_LOG_DOMAIN "herald-graph"

#include "config.h"

#include <glib/gi18n.h>
#include <gmime/gmime.h>
#include <string.h>

#include "herald-graph.h"

/* GMime 3.2 declares no autoptr cleanups. */
G_DEFINE_AUTOPTR_CLEANUP_FUNC (GMimeMessage, g_object_unref)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (GMimeParser, g_object_unref)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (GMimeStream, g_object_unref)

static gpointer
init_gmime_once (gpointer data)
{
  g_mime_init ();
  return NULL;
}

/* Every addr-spec of a header's address list, groups flattened, lower-case. */
static void
collect_addresses (InternetAddressList *list,
                   GHashTable          *into)
{
  for (int i = 0; list != NULL && i < internet_address_list_length (list); i++)
    {
      InternetAddress *address = internet_address_list_get_address (list, i);

      if (INTERNET_ADDRESS_IS_GROUP (address))
        collect_addresses (internet_address_group_get_members (INTERNET_ADDRESS_GROUP (address)), into);
      else if (INTERNET_ADDRESS_IS_MAILBOX (address))
        {
          const char *addr = internet_address_mailbox_get_idn_addr (INTERNET_ADDRESS_MAILBOX (address));

          if (addr != NULL && *addr != '\0')
            g_hash_table_add (into, g_ascii_strdown (addr, -1));
        }
    }
}

/* The offset of the empty line that ends the header block, and whether the
 * message uses CRLF; -1 when there is none. */
static gssize
header_block_end (const char *data,
                  gsize       len,
                  gboolean   *crlf)
{
  for (gsize i = 0; i < len; i++)
    {
      if (data[i] != '\n')
        continue;
      if (i == 0)
        return -1;
      *crlf = data[i - 1] == '\r';
      if (i + 1 < len && data[i + 1] == '\n')
        return i + 1;
      if (i + 2 < len && data[i + 1] == '\r' && data[i + 2] == '\n')
        return i + 1;
    }

  return -1;
}

GBytes *
herald_graph_prepare_message (GBytes              *message,
                              const char * const  *recipients,
                              GError             **error)
{
  static GOnce once = G_ONCE_INIT;
  g_autoptr(GMimeStream) stream = NULL;
  g_autoptr(GMimeParser) parser = NULL;
  g_autoptr(GMimeMessage) parsed = NULL;
  g_autoptr(GHashTable) named = NULL;
  g_autoptr(GHashTable) wanted = NULL;
  g_autoptr(GPtrArray) missing = NULL;
  g_autoptr(GString) out = NULL;
  GHashTableIter iter;
  gpointer key;
  const char *data;
  gsize len;
  gboolean crlf = TRUE;

  g_return_val_if_fail (message != NULL, NULL);

  g_once (&once, init_gmime_once, NULL);

  data = g_bytes_get_data (message, &len);
  if (len == 0 || header_block_end (data, len, &crlf) < 0)
    {
      g_set_error_literal (error, HERALD_GRAPH_ERROR, HERALD_GRAPH_ERROR_INVALID_MESSAGE,
                           _("The message has no header block, so Microsoft Graph could not read "
                             "its sender and recipients."));
      return NULL;
    }
  if (recipients == NULL || recipients[0] == NULL)
    {
      g_set_error_literal (error, HERALD_GRAPH_ERROR, HERALD_GRAPH_ERROR_INVALID_MESSAGE,
                           _("The message has no recipient."));
      return NULL;
    }

  stream = g_mime_stream_mem_new_with_buffer (data, len);
  parser = g_mime_parser_new_with_stream (stream);
  parsed = g_mime_parser_construct_message (parser, NULL);
  if (parsed == NULL)
    {
      g_set_error_literal (error, HERALD_GRAPH_ERROR, HERALD_GRAPH_ERROR_INVALID_MESSAGE,
                           _("The message is not a MIME message Microsoft Graph could read."));
      return NULL;
    }

  named = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  collect_addresses (g_mime_message_get_addresses (parsed, GMIME_ADDRESS_TYPE_TO), named);
  collect_addresses (g_mime_message_get_addresses (parsed, GMIME_ADDRESS_TYPE_CC), named);
  collect_addresses (g_mime_message_get_addresses (parsed, GMIME_ADDRESS_TYPE_BCC), named);

  wanted = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  missing = g_ptr_array_new ();
  for (guint i = 0; recipients[i] != NULL; i++)
    {
      g_autofree char *lower = g_ascii_strdown (recipients[i], -1);

      /* The address goes into a header: no line break, no list separator. */
      if (!herald_address_is_valid (recipients[i]) || strpbrk (recipients[i], "\r\n,;<>\"") != NULL)
        {
          g_set_error (error, HERALD_GRAPH_ERROR, HERALD_GRAPH_ERROR_INVALID_MESSAGE,
                       _("“%s” is not a valid recipient address."), recipients[i]);
          return NULL;
        }
      if (g_hash_table_contains (wanted, lower))
        continue;
      if (!g_hash_table_contains (named, lower))
        g_ptr_array_add (missing, (gpointer) recipients[i]);
      g_hash_table_add (wanted, g_steal_pointer (&lower));
    }

  /* Graph would deliver to every address in the headers; one the caller did
   * not list must not get the message behind its back. */
  g_hash_table_iter_init (&iter, named);
  while (g_hash_table_iter_next (&iter, &key, NULL))
    if (!g_hash_table_contains (wanted, key))
      {
        g_set_error (error, HERALD_GRAPH_ERROR, HERALD_GRAPH_ERROR_INVALID_MESSAGE,
                     _("The message’s headers name %s, who is not among the recipients: Microsoft "
                       "Graph delivers to every address in To, Cc and Bcc."), (const char *) key);
        return NULL;
      }

  if (missing->len == 0)
    return g_bytes_ref (message);

  out = g_string_sized_new (len + 64 * missing->len);
  g_string_append (out, "Bcc: ");
  for (guint i = 0; i < missing->len; i++)
    {
      if (i > 0)
        g_string_append (out, crlf ? ",\r\n " : ",\n ");
      g_string_append (out, g_ptr_array_index (missing, i));
    }
  g_string_append (out, crlf ? "\r\n" : "\n");
  g_string_append_len (out, data, len);

  return g_string_free_to_bytes (g_steal_pointer (&out));
}
