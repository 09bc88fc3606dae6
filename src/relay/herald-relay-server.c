/* SPDX-License-Identifier: GPL-3.0-or-later
 * Copyright 2026 The Herald authors
 */
#define G_LOG_DOMAIN "herald-relay"

#include "config.h"

#include <glib/gi18n.h>
#include <string.h>

#include "herald-relay-private.h"

/* The listening side: accepts in the main loop, applies the connection
 * limits there (before any thread exists for the client), and runs each
 * admitted session on a thread of its own.
 *
 * Why threads and not one asynchronous state machine: a session spends its
 * time blocked on two things, the client (which may be slow or hostile)
 * and fsync when the message is queued. A thread per session makes both
 * harmless to the others, and the session code reads top to bottom like
 * the protocol; the connection limits bound the number of threads.
 * GThreadedSocketService does the same, but it runs its handler only once
 * a pool thread is free, so a client over the limit would wait silently
 * instead of hearing 421 at once; bench/relay-bench.py measures the
 * choice (a slowloris crowd next to normal clients). */

enum {
  SIGNAL_MESSAGE_QUEUED,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

G_DEFINE_FINAL_TYPE (HeraldRelayServer, herald_relay_server, G_TYPE_OBJECT)

typedef struct {
  guint   failures;
  gint64  last;      /* monotonic µs */
} AuthFailures;

static void
herald_relay_server_finalize (GObject *object)
{
  HeraldRelayServer *self = HERALD_RELAY_SERVER (object);

  if (self->service != NULL)
    {
      g_socket_service_stop (self->service);
      g_socket_listener_close (G_SOCKET_LISTENER (self->service));
    }
  g_clear_object (&self->service);
  g_clear_pointer (&self->options, herald_relay_options_free);
  g_clear_object (&self->certificate);
  g_clear_object (&self->users);
  g_clear_object (&self->queue);
  if (self->store_destroy != NULL)
    self->store_destroy (self->store_data);
  g_clear_pointer (&self->context, g_main_context_unref);
  g_free (self->hostname);
  g_clear_pointer (&self->per_address, g_hash_table_unref);
  g_clear_pointer (&self->auth_failures, g_hash_table_unref);
  g_clear_pointer (&self->cancellables, g_ptr_array_unref);
  g_mutex_clear (&self->lock);

  G_OBJECT_CLASS (herald_relay_server_parent_class)->finalize (object);
}

static void
herald_relay_server_class_init (HeraldRelayServerClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = herald_relay_server_finalize;

  /* (id, client address, device user or NULL, subject or NULL) */
  signals[SIGNAL_MESSAGE_QUEUED] =
    g_signal_new ("message-queued", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL,
                  NULL, G_TYPE_NONE, 4, G_TYPE_STRING, G_TYPE_STRING, G_TYPE_STRING,
                  G_TYPE_STRING);
}

static void
herald_relay_server_init (HeraldRelayServer *self)
{
  g_mutex_init (&self->lock);
  self->per_address = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  self->auth_failures = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  self->cancellables = g_ptr_array_new_with_free_func (g_object_unref);
}

static gboolean incoming_cb (GSocketService    *service,
                             GSocketConnection *connection,
                             GObject           *source,
                             gpointer           user_data);

HeraldRelayServer *
herald_relay_server_new (HeraldRelayOptions *options,
                         GTlsCertificate    *certificate,
                         HeraldRelayUsers   *users)
{
  HeraldRelayServer *self;

  g_return_val_if_fail (options != NULL, NULL);
  g_return_val_if_fail (options->profile_from != NULL, NULL);

  self = g_object_new (HERALD_TYPE_RELAY_SERVER, NULL);
  self->options = options;
  if (options->max_size == 0)
    options->max_size = 25 * 1024 * 1024;
  if (options->max_connections == 0)
    options->max_connections = 100;
  if (options->max_per_address == 0)
    options->max_per_address = 50;
  if (options->idle_timeout == 0)
    options->idle_timeout = 300;
  if (options->session_deadline == 0)
    options->session_deadline = 1800;
  if (options->auth_delay_ms == 0)
    options->auth_delay_ms = 500;
  self->certificate = certificate != NULL ? g_object_ref (certificate) : NULL;
  self->users = users != NULL ? g_object_ref (users) : NULL;
  self->hostname = g_strdup (options->hostname != NULL ? options->hostname : g_get_host_name ());
  self->context = g_main_context_ref_thread_default ();
  self->service = g_socket_service_new ();
  /* GSocketListener's default backlog (10) drops connections when a
   * crowd of devices connects at once. */
  g_socket_listener_set_backlog (G_SOCKET_LISTENER (self->service), 128);
  g_socket_service_stop (self->service);
  g_signal_connect (self->service, "incoming", G_CALLBACK (incoming_cb), self);
  return self;
}

void
herald_relay_server_set_queue (HeraldRelayServer *self,
                               HeraldQueue       *queue)
{
  g_return_if_fail (HERALD_IS_RELAY_SERVER (self));
  g_set_object (&self->queue, queue);
}

void
herald_relay_server_set_store_func (HeraldRelayServer    *self,
                                    HeraldRelayStoreFunc  func,
                                    gpointer              user_data,
                                    GDestroyNotify        destroy)
{
  g_return_if_fail (HERALD_IS_RELAY_SERVER (self));
  if (self->store_destroy != NULL)
    self->store_destroy (self->store_data);
  self->store_func = func;
  self->store_data = user_data;
  self->store_destroy = destroy;
}

GSocketAddress *
herald_relay_server_listen (HeraldRelayServer  *self,
                            GSocketAddress     *address,
                            GError            **error)
{
  GSocketAddress *bound = NULL;

  g_return_val_if_fail (HERALD_IS_RELAY_SERVER (self), NULL);
  g_return_val_if_fail (G_IS_SOCKET_ADDRESS (address), NULL);

  if (!g_socket_listener_add_address (G_SOCKET_LISTENER (self->service), address,
                                      G_SOCKET_TYPE_STREAM, G_SOCKET_PROTOCOL_TCP, NULL, &bound,
                                      error))
    return NULL;
  return bound;
}

gboolean
herald_relay_server_add_fd (HeraldRelayServer  *self,
                            int                 fd,
                            GError            **error)
{
  g_autoptr(GSocket) socket = NULL;

  g_return_val_if_fail (HERALD_IS_RELAY_SERVER (self), FALSE);

  socket = g_socket_new_from_fd (fd, error);
  if (socket == NULL)
    return FALSE;
  return g_socket_listener_add_socket (G_SOCKET_LISTENER (self->service), socket, NULL, error);
}

void
herald_relay_server_start (HeraldRelayServer *self)
{
  g_return_if_fail (HERALD_IS_RELAY_SERVER (self));
  g_socket_service_start (self->service);
}

void
herald_relay_server_stop (HeraldRelayServer *self)
{
  g_return_if_fail (HERALD_IS_RELAY_SERVER (self));

  g_socket_service_stop (self->service);
  g_socket_listener_close (G_SOCKET_LISTENER (self->service));
  g_mutex_lock (&self->lock);
  self->stopping = TRUE;
  for (guint i = 0; i < self->cancellables->len; i++)
    g_cancellable_cancel (g_ptr_array_index (self->cancellables, i));
  g_mutex_unlock (&self->lock);
}

guint
herald_relay_server_get_n_sessions (HeraldRelayServer *self)
{
  guint n;

  g_return_val_if_fail (HERALD_IS_RELAY_SERVER (self), 0);
  g_mutex_lock (&self->lock);
  n = self->n_sessions;
  g_mutex_unlock (&self->lock);
  return n;
}

/* Says 421 and hangs up, from the main loop, without waiting: a fresh
 * connection's send buffer always has room for one line. */
static void
refuse (GSocketConnection *connection,
        const char        *reply)
{
  GSocket *socket = g_socket_connection_get_socket (connection);
  g_autofree char *line = g_strconcat (reply, "\r\n", NULL);

  g_socket_set_blocking (socket, FALSE);
  g_socket_send (socket, line, strlen (line), NULL, NULL);
  g_socket_shutdown (socket, FALSE, TRUE, NULL);
  g_io_stream_close (G_IO_STREAM (connection), NULL, NULL);
}

static gboolean
incoming_cb (GSocketService    *service,
             GSocketConnection *connection,
             GObject           *source,
             gpointer           user_data)
{
  HeraldRelayServer *self = user_data;
  g_autoptr(GSocketAddress) remote = g_socket_connection_get_remote_address (connection, NULL);
  g_autofree char *client = NULL;
  g_autofree char *reply = NULL;
  g_autoptr(GCancellable) cancellable = NULL;
  g_autoptr(GError) error = NULL;
  HeraldRelaySession *session;
  GThread *thread;
  guint count;

  if (!G_IS_INET_SOCKET_ADDRESS (remote))
    {
      refuse (connection, "421 4.3.2 Error: not an IP connection");
      return TRUE;
    }
  client = g_inet_address_to_string (
    g_inet_socket_address_get_address (G_INET_SOCKET_ADDRESS (remote)));

  g_mutex_lock (&self->lock);
  count = GPOINTER_TO_UINT (g_hash_table_lookup (self->per_address, client));
  if (self->stopping)
    reply = g_strdup_printf ("421 4.3.2 %s Service shutting down", self->hostname);
  else if (self->n_sessions >= self->options->max_connections)
    reply = g_strdup_printf ("421 4.7.0 %s Error: too many connections", self->hostname);
  else if (count >= self->options->max_per_address)
    reply = g_strdup_printf ("421 4.7.0 %s Error: too many connections from %s", self->hostname,
                             client);
  if (reply == NULL)
    {
      cancellable = g_cancellable_new ();
      g_hash_table_insert (self->per_address, g_strdup (client), GUINT_TO_POINTER (count + 1));
      self->n_sessions++;
      g_ptr_array_add (self->cancellables, g_object_ref (cancellable));
    }
  g_mutex_unlock (&self->lock);

  if (reply != NULL)
    {
      g_message ("refused %s: %s", client, reply);
      refuse (connection, reply);
      return TRUE;
    }

  session = _herald_relay_session_new (self, connection, client, cancellable);
  thread = g_thread_try_new ("herald-relay", _herald_relay_session_thread, session, &error);
  if (thread == NULL)
    {
      g_warning ("cannot start a session for %s: %s", client, error->message);
      refuse (connection, "421 4.3.2 Error: out of resources");
      /* The session never ran: undo its admission here. */
      _herald_relay_session_free (session);
      _herald_relay_server_session_done (self, client, cancellable);
      return TRUE;
    }
  g_thread_unref (thread);
  return TRUE;
}

void
_herald_relay_server_session_done (HeraldRelayServer *server,
                                   const char        *client,
                                   GCancellable      *cancellable)
{
  guint count;

  g_mutex_lock (&server->lock);
  count = GPOINTER_TO_UINT (g_hash_table_lookup (server->per_address, client));
  if (count <= 1)
    g_hash_table_remove (server->per_address, client);
  else
    g_hash_table_insert (server->per_address, g_strdup (client), GUINT_TO_POINTER (count - 1));
  if (server->n_sessions > 0)
    server->n_sessions--;
  g_ptr_array_remove (server->cancellables, cancellable);
  g_mutex_unlock (&server->lock);
}

gboolean
_herald_relay_server_is_allowed (HeraldRelayServer *server,
                                 GInetAddress      *address)
{
  GPtrArray *masks = server->options->allow_unauthenticated;

  for (guint i = 0; masks != NULL && i < masks->len; i++)
    {
      GInetAddressMask *mask = g_ptr_array_index (masks, i);

      if (g_inet_address_get_family (address) ==
          g_inet_address_mask_get_family (mask) &&
          g_inet_address_mask_matches (mask, address))
        return TRUE;
    }
  return FALSE;
}

#define FAILURE_MEMORY_USEC (15 * 60 * G_USEC_PER_SEC)
#define MAX_AUTH_DELAY_MS 30000

guint
_herald_relay_server_auth_failed (HeraldRelayServer *server,
                                  const char        *client)
{
  AuthFailures *f;
  gint64 now = g_get_monotonic_time ();
  guint delay;

  g_mutex_lock (&server->lock);
  f = g_hash_table_lookup (server->auth_failures, client);
  if (f == NULL)
    {
      f = g_new0 (AuthFailures, 1);
      g_hash_table_insert (server->auth_failures, g_strdup (client), f);
    }
  /* Forgiven after a quiet quarter of an hour. */
  if (now - f->last > FAILURE_MEMORY_USEC)
    f->failures = 0;
  f->failures++;
  f->last = now;
  delay = server->options->auth_delay_ms << MIN (f->failures - 1, 10);
  g_mutex_unlock (&server->lock);
  return MIN (delay, MAX_AUTH_DELAY_MS);
}

void
_herald_relay_server_auth_succeeded (HeraldRelayServer *server,
                                     const char        *client)
{
  g_mutex_lock (&server->lock);
  g_hash_table_remove (server->auth_failures, client);
  g_mutex_unlock (&server->lock);
}

typedef struct {
  HeraldRelayServer *server;
  char *id, *client, *user, *subject;
} Queued;

static gboolean
emit_queued_cb (gpointer data)
{
  Queued *q = data;

  g_signal_emit (q->server, signals[SIGNAL_MESSAGE_QUEUED], 0, q->id, q->client, q->user,
                 q->subject);
  return G_SOURCE_REMOVE;
}

static void
queued_free (gpointer data)
{
  Queued *q = data;

  g_object_unref (q->server);
  g_free (q->id);
  g_free (q->client);
  g_free (q->user);
  g_free (q->subject);
  g_free (q);
}

char *
herald_relay_store_in_queue (HeraldQueue                 *queue,
                             const HeraldPreparedMessage *message,
                             const char                  *client_address,
                             const char                  *device_user,
                             GError                     **error)
{
  g_autoptr(HeraldQueueEntry) entry = herald_queue_entry_new ();

  g_return_val_if_fail (HERALD_IS_QUEUE (queue), NULL);
  g_return_val_if_fail (message != NULL, NULL);

  /* Like a heraldctl send that has not been tried yet: due at once. */
  entry->state = HERALD_QUEUE_STATE_QUEUED;
  entry->sender = g_strdup (message->sender);
  entry->recipients = g_strdupv (message->recipients);
  entry->subject = g_strdup (message->subject);
  entry->message_id = g_strdup (message->message_id);
  entry->eight_bit = message->eight_bit;
  entry->next_attempt = 0;
  entry->client_address = g_strdup (client_address);
  entry->device_user = g_strdup (device_user);
  return herald_queue_add (queue, message->data, entry, error);
}

char *
_herald_relay_server_store (HeraldRelayServer           *server,
                            const HeraldPreparedMessage *message,
                            const char                  *client,
                            const char                  *user,
                            GError                     **error)
{
  char *id;
  Queued *q;

  if (server->store_func != NULL)
    id = server->store_func (message, client, user, server->store_data, error);
  else if (server->queue != NULL)
    id = herald_relay_store_in_queue (server->queue, message, client, user, error);
  else
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_INITIALIZED, "no queue");
      return NULL;
    }
  if (id == NULL)
    return NULL;

  q = g_new0 (Queued, 1);
  q->server = g_object_ref (server);
  q->id = g_strdup (id);
  q->client = g_strdup (client);
  q->user = g_strdup (user);
  q->subject = g_strdup (message->subject);
  g_main_context_invoke_full (server->context, G_PRIORITY_DEFAULT, emit_queued_cb, q,
                              queued_free);
  return id;
}
