/* SPDX-License-Identifier: GPL-3.0-or-later
 * Copyright 2026 The Herald authors
 */
#define G_LOG_DOMAIN "herald-smtp"

#include "config.h"

#include <string.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <glib/gi18n-lib.h>

#include "herald-smtp-session.h"

/* The network below SMTP: the name lookup (with a timeout GResolver lacks)
 * and the connection, trying each address in turn. */

typedef struct
{
  GList    *addresses;
  GError   *error;
  gboolean  done;
  gboolean  timed_out;
  GCancellable *op;
} ResolveData;

static void
resolve_done_cb (GObject      *object,
                 GAsyncResult *result,
                 gpointer      user_data)
{
  ResolveData *data = user_data;

  data->addresses = g_resolver_lookup_by_name_finish (G_RESOLVER (object), result, &data->error);
  data->done = TRUE;
}

static gboolean
resolve_timeout_cb (gpointer user_data)
{
  ResolveData *data = user_data;

  data->timed_out = TRUE;
  g_cancellable_cancel (data->op);

  return G_SOURCE_REMOVE;
}

static void
forward_cancel_cb (GCancellable *cancellable,
                   gpointer      user_data)
{
  g_cancellable_cancel (G_CANCELLABLE (user_data));
}

/* GResolver has no timeout in GLib 2.74: run the lookup asynchronously on a
 * private main context of this thread, next to a timeout source. */
static GList *
resolve (HeraldSession  *s,
         GError        **error)
{
  g_autoptr(GMainContext) context = g_main_context_new ();
  g_autoptr(GResolver) resolver = g_resolver_get_default ();
  g_autoptr(GCancellable) op = g_cancellable_new ();
  g_autoptr(GSource) timeout = NULL;
  ResolveData data = { NULL, NULL, FALSE, FALSE, op };
  gulong handler = 0;

  if (s->cancellable != NULL)
    handler = g_cancellable_connect (s->cancellable, G_CALLBACK (forward_cancel_cb),
                                     g_object_ref (op), g_object_unref);

  g_main_context_push_thread_default (context);

  timeout = g_timeout_source_new_seconds (s->connect_timeout);
  g_source_set_callback (timeout, resolve_timeout_cb, &data, NULL);
  g_source_attach (timeout, context);

  g_resolver_lookup_by_name_async (resolver, s->config->host, op, resolve_done_cb, &data);
  while (!data.done)
    g_main_context_iteration (context, TRUE);

  g_source_destroy (timeout);
  g_main_context_pop_thread_default (context);

  if (handler != 0)
    g_cancellable_disconnect (s->cancellable, handler);

  if (data.error != NULL)
    {
      if (data.timed_out && !g_cancellable_is_cancelled (s->cancellable))
        {
          g_clear_error (&data.error);
          g_set_error (error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT,
                       _("Looking up “%s” timed out after %u seconds."),
                       s->config->host, s->connect_timeout);
        }
      else if (g_cancellable_is_cancelled (s->cancellable))
        {
          g_clear_error (&data.error);
          g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_CANCELLED,
                               _("The test was cancelled."));
        }
      else
        g_propagate_error (error, data.error);
      return NULL;
    }

  return data.addresses;
}

static char *
format_address (GInetAddress *address,
                guint16       port)
{
  g_autofree char *str = g_inet_address_to_string (address);

  if (g_inet_address_get_family (address) == G_SOCKET_FAMILY_IPV6)
    return g_strdup_printf ("[%s]:%u", str, (guint) port);
  return g_strdup_printf ("%s:%u", str, (guint) port);
}

/* A connection error worth showing over another: "unreachable" on one
 * address family says less than "refused" or "timed out" on the other. */
static gboolean
error_is_weak (const GError *error)
{
  return g_error_matches (error, G_IO_ERROR, G_IO_ERROR_NETWORK_UNREACHABLE) ||
         g_error_matches (error, G_IO_ERROR, G_IO_ERROR_HOST_UNREACHABLE);
}

gboolean
_herald_session_connect (HeraldSession  *s,
                         GError        **error)
{
  g_autoptr(GInetAddress) literal = NULL;
  g_autoptr(GSocketClient) client = NULL;
  g_autoptr(GError) first_error = NULL;
  GList *addresses = NULL;
  gboolean ok = FALSE;

  /* The resolve stage is open already (validation happens in it). */
  literal = g_inet_address_new_from_string (s->config->host);
  if (literal != NULL)
    {
      _herald_session_info (s, "%s is an IP address: no lookup needed", s->config->host);
      addresses = g_list_prepend (NULL, g_object_ref (literal));
    }
  else
    {
      GString *list = g_string_new (NULL);

      _herald_session_info (s, "Looking up %s", s->config->host);
      addresses = resolve (s, error);
      if (addresses == NULL)
        {
          g_string_free (list, TRUE);
          return FALSE;
        }

      for (GList *l = addresses; l != NULL; l = l->next)
        {
          g_autofree char *str = g_inet_address_to_string (l->data);

          g_string_append_printf (list, "%s%s", list->len ? ", " : "", str);
        }
      _herald_session_info (s, "%s has %u address(es): %s", s->config->host, g_list_length (addresses), list->str);
      g_string_free (list, TRUE);
    }

  _herald_session_stage_begin (s, HERALD_STAGE_CONNECT);

  client = g_socket_client_new ();
  g_socket_client_set_timeout (client, s->connect_timeout);
  /* SMTP goes straight to the server, never through a desktop HTTP proxy. */
  g_socket_client_set_enable_proxy (client, FALSE);

  for (GList *l = addresses; l != NULL; l = l->next)
    {
      g_autoptr(GSocketAddress) address = g_inet_socket_address_new (l->data, s->config->port);
      g_autofree char *shown = format_address (l->data, s->config->port);
      g_autoptr(GError) local_error = NULL;
      GSocketConnection *connection;

      _herald_session_info (s, "Connecting to %s", shown);
      connection = g_socket_client_connect (client, G_SOCKET_CONNECTABLE (address),
                                            s->cancellable, &local_error);
      if (connection != NULL)
        {
          s->connection = connection;
          s->socket = g_socket_connection_get_socket (connection);
          s->result->remote_address = g_steal_pointer (&shown);
          _herald_session_info (s, "Connected to %s", s->result->remote_address);
          ok = TRUE;
          break;
        }

      if (g_error_matches (local_error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT))
        {
          g_clear_error (&local_error);
          g_set_error (&local_error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT,
                       _("No answer from %s within %u seconds (connection timed out)."),
                       shown, s->connect_timeout);
        }
      _herald_session_info (s, "Could not connect to %s: %s", shown, local_error->message);
      if (g_error_matches (local_error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        {
          g_clear_error (&first_error);
          first_error = g_steal_pointer (&local_error);
          break;
        }
      if (first_error == NULL || (error_is_weak (first_error) && !error_is_weak (local_error)))
        {
          g_clear_error (&first_error);
          first_error = g_steal_pointer (&local_error);
        }
    }

  g_list_free_full (addresses, g_object_unref);

  if (!ok)
    {
      if (first_error == NULL)
        g_set_error (&first_error, G_RESOLVER_ERROR, G_RESOLVER_ERROR_NOT_FOUND,
                     _("No address found for “%s”."), s->config->host);
      g_propagate_error (error, g_steal_pointer (&first_error));
      return FALSE;
    }

  if (s->config->security == HERALD_SECURITY_STARTTLS)
    _herald_session_start_tls_loading (s);

  /* Commands go out in flights already; Nagle would only add delay. */
  g_socket_set_option (s->socket, IPPROTO_TCP, TCP_NODELAY, 1, NULL);
  _herald_session_set_timeout (s, s->reply_timeout);

  s->stream = g_object_ref (G_IO_STREAM (s->connection));
  s->reader = _herald_line_reader_new (g_io_stream_get_input_stream (s->stream));

  return TRUE;
}
