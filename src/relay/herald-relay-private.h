/* SPDX-License-Identifier: GPL-3.0-or-later
 * Copyright 2026 The Herald authors
 */
#pragma once

/* What the server (herald-relay-server.c, main loop) and the sessions
 * (herald-relay-session.c, one thread each) share. */

#include "herald-relay.h"

G_BEGIN_DECLS

/* RFC 5321 4.5.3.1.6: a text line is at most 1000 octets with its CRLF. */
#define HERALD_RELAY_MAX_LINE 998
#define HERALD_RELAY_MAX_RECIPIENTS 1000
#define HERALD_RELAY_MAX_ERRORS 20

struct _HeraldRelayServer
{
  GObject               parent_instance;

  HeraldRelayOptions   *options;
  GTlsCertificate      *certificate;
  HeraldRelayUsers     *users;
  HeraldQueue          *queue;
  HeraldRelayStoreFunc  store_func;
  gpointer              store_data;
  GDestroyNotify        store_destroy;
  GSocketService       *service;
  GMainContext         *context;   /* where "message-queued" is emitted */
  char                 *hostname;

  /* Shared with the session threads, under lock. */
  GMutex                lock;
  GHashTable           *per_address;   /* client address -> GUINT_TO_POINTER (count) */
  GHashTable           *auth_failures; /* client address -> AuthFailures */
  GPtrArray            *cancellables;  /* one per session in progress */
  guint                 n_sessions;
  gboolean              stopping;
};

typedef struct _HeraldRelaySession HeraldRelaySession;

/* On the session's own thread: the whole SMTP conversation, then the
 * session is freed and the server told. */
gpointer _herald_relay_session_thread        (gpointer data);
HeraldRelaySession *_herald_relay_session_new (HeraldRelayServer *server,
                                               GSocketConnection *connection,
                                               const char        *client,
                                               GCancellable      *cancellable);
void                _herald_relay_session_free (HeraldRelaySession *session);

/* Called from session threads. */
gboolean _herald_relay_server_is_allowed     (HeraldRelayServer *server,
                                              GInetAddress      *address);
/* Records a wrong password and returns how long to wait before saying so
 * (milliseconds): doubled with each failure from the address. */
guint    _herald_relay_server_auth_failed    (HeraldRelayServer *server,
                                              const char        *client);
void     _herald_relay_server_auth_succeeded (HeraldRelayServer *server,
                                              const char        *client);
char    *_herald_relay_server_store          (HeraldRelayServer           *server,
                                              const HeraldPreparedMessage *message,
                                              const char                  *client,
                                              const char                  *user,
                                              GError                     **error);
void     _herald_relay_server_session_done   (HeraldRelayServer *server,
                                              const char        *client,
                                              GCancellable      *cancellable);

G_END_DECLS
