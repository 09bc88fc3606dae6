/* SPDX-License-Identifier: GPL-3.0-or-later
 * Copyright 2026 The Herald authors
 */
#define G_LOG_DOMAIN "herald-test-secrets"

#include <glib/gstdio.h>

#include "herald-secrets.h"
#include "herald-secrets-oauth.h"
#include "herald-secrets-private.h"
#include "herald-test-util.h"

/* Runs on a private session bus with no Secret Service and nothing that could
 * be activated as one (tests/secrets/run-no-service.sh starts it). Every call
 * must fail quickly with HERALD_SECRETS_ERROR_NO_SERVICE and a message that
 * says what is wrong, instead of crashing or hanging. */

#define MAX_SECONDS 10.0

static void
assert_no_service (const GError *error)
{
  g_assert_error (error, HERALD_SECRETS_ERROR, HERALD_SECRETS_ERROR_NO_SERVICE);
  g_assert_nonnull (strstr (error->message, "No keyring is available"));
  g_assert_nonnull (strstr (error->message, "this session only"));
  g_test_message ("message: %s", error->message);
}

static void
test_sync (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GTimer) timer = g_timer_new ();
  g_autofree char *found = NULL;

  found = herald_password_lookup_sync ("smtp.example.com", 587, "alice", NULL, &error);
  g_assert_null (found);
  assert_no_service (error);
  g_clear_error (&error);

  g_assert_false (herald_password_store_sync ("smtp.example.com", 587, "alice", "not-stored",
                                              NULL, &error));
  assert_no_service (error);
  g_clear_error (&error);

  g_assert_false (herald_password_clear_sync ("smtp.example.com", 587, "alice", NULL, &error));
  assert_no_service (error);
  g_clear_error (&error);

  /* OAuth tokens: the same verdict, with or without a session bus. */
  {
    g_autoptr(HeraldOAuthTokens) tokens = NULL;

    tokens = herald_oauth_tokens_lookup_sync ("microsoft", "alice@example.com", "client-id",
                                              NULL, &error);
    g_assert_null (tokens);
    g_assert_error (error, HERALD_SECRETS_ERROR, HERALD_SECRETS_ERROR_NO_SERVICE);
    g_assert_nonnull (strstr (error->message, "No keyring"));
  }

  g_assert_cmpfloat (g_timer_elapsed (timer, NULL), <, MAX_SECONDS);
}

static void
test_async (void)
{
  g_autoptr(GError) error = NULL;
  GAsyncResult *result = NULL;
  g_autofree char *found = NULL;

  herald_password_lookup_async ("smtp.example.com", 587, "alice", NULL,
                                herald_test_result_cb, &result);
  found = herald_password_lookup_finish (herald_test_wait_result (&result, MAX_SECONDS), &error);
  g_assert_null (found);
  assert_no_service (error);
  g_clear_error (&error);
  g_clear_object (&result);

  herald_password_store_async ("smtp.example.com", 587, "alice", "not-stored", NULL,
                               herald_test_result_cb, &result);
  g_assert_false (herald_password_store_finish (herald_test_wait_result (&result, MAX_SECONDS),
                                                &error));
  assert_no_service (error);
  g_clear_object (&result);
}

/* ---- a session bus address that leads nowhere ------------------------------
 *
 * These run in a subprocess each, so that the address is set before anything
 * in the process has connected to a bus (GIO keeps a working connection). */

static char *
socket_path_in_tmpdir (char **dir)
{
  g_autoptr(GError) error = NULL;

  *dir = g_dir_make_tmp ("herald-keyring-XXXXXX", &error);
  g_assert_no_error (error);
  return g_build_filename (*dir, "bus", NULL);
}

/* Looks the password up on a thread; fails the test when that takes more
 * than max_seconds (a hang would otherwise stall the suite). */
typedef struct {
  GMutex mutex;
  GCond cond;
  gboolean done;
  char *found;
  GError *error;
} Lookup;

static gpointer
lookup_thread (gpointer user_data)
{
  Lookup *lookup = user_data;
  GError *error = NULL;
  char *found = herald_password_lookup_sync ("smtp.example.com", 587, "alice", NULL, &error);

  g_mutex_lock (&lookup->mutex);
  lookup->found = found;
  lookup->error = error;
  lookup->done = TRUE;
  g_cond_signal (&lookup->cond);
  g_mutex_unlock (&lookup->mutex);

  return NULL;
}

static void
lookup_bounded (double   max_seconds,
                GError **error)
{
  Lookup lookup = { 0 };
  gint64 end = g_get_monotonic_time () + (gint64) (max_seconds * G_USEC_PER_SEC);
  GThread *thread;
  gboolean done;

  g_mutex_init (&lookup.mutex);
  g_cond_init (&lookup.cond);
  thread = g_thread_new ("lookup", lookup_thread, &lookup);

  g_mutex_lock (&lookup.mutex);
  while (!lookup.done)
    if (!g_cond_wait_until (&lookup.cond, &lookup.mutex, end))
      break;
  done = lookup.done;
  g_mutex_unlock (&lookup.mutex);

  /* Exits the subprocess with a failure; the stuck thread dies with it. */
  g_assert_true (done);

  g_thread_join (thread);
  g_assert_null (lookup.found);
  g_propagate_error (error, lookup.error);
  g_mutex_clear (&lookup.mutex);
  g_cond_clear (&lookup.cond);
}

/* DBUS_SESSION_BUS_ADDRESS names a socket that does not exist. */
static void
test_dead_socket (void)
{
  g_autofree char *dir = NULL;
  g_autofree char *path = NULL;
  g_autofree char *address = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GTimer) timer = NULL;

  if (g_test_subprocess ())
    {
      path = socket_path_in_tmpdir (&dir);
      address = g_strconcat ("unix:path=", path, NULL);
      g_setenv ("DBUS_SESSION_BUS_ADDRESS", address, TRUE);

      timer = g_timer_new ();
      lookup_bounded (MAX_SECONDS, &error);
      assert_no_service (error);
      g_assert_cmpfloat (g_timer_elapsed (timer, NULL), <, 3.0);
      g_rmdir (dir);
      return;
    }

  g_test_trap_subprocess (NULL, 30 * G_USEC_PER_SEC, G_TEST_SUBPROCESS_INHERIT_STDERR);
  g_test_trap_assert_passed ();
}

/* A bus socket that hangs up on the first connection, then accepts and
 * keeps silent: GIO's handshake on a second connection would wait forever.
 * Deciding "no keyring" must not connect again (the window makes this call
 * on the GTK thread). */
typedef struct {
  GSocketListener *listener;
  GCancellable *cancellable;
  GPtrArray *held;           /* connections kept open, silent */
  gint n_accepted;           /* atomic */
} HangingBus;

static gpointer
hanging_bus_thread (gpointer user_data)
{
  HangingBus *bus = user_data;

  for (;;)
    {
      GSocketConnection *connection = g_socket_listener_accept (bus->listener, NULL,
                                                                bus->cancellable, NULL);

      if (connection == NULL)
        break;
      if (g_atomic_int_add (&bus->n_accepted, 1) == 0)
        {
          g_io_stream_close (G_IO_STREAM (connection), NULL, NULL);
          g_object_unref (connection);
        }
      else
        g_ptr_array_add (bus->held, connection);
    }

  return NULL;
}

static void
test_no_second_bus_call (void)
{
  g_autofree char *dir = NULL;
  g_autofree char *path = NULL;
  g_autofree char *address = NULL;
  g_autoptr(GSocketAddress) sockaddr = NULL;
  g_autoptr(GError) error = NULL;
  HangingBus bus = { 0 };
  GThread *thread;

  if (!g_test_subprocess ())
    {
      g_test_trap_subprocess (NULL, 30 * G_USEC_PER_SEC, G_TEST_SUBPROCESS_INHERIT_STDERR);
      g_test_trap_assert_passed ();
      return;
    }

  path = socket_path_in_tmpdir (&dir);
  sockaddr = g_unix_socket_address_new (path);
  bus.listener = g_socket_listener_new ();
  bus.cancellable = g_cancellable_new ();
  bus.held = g_ptr_array_new_with_free_func (g_object_unref);
  g_socket_listener_add_address (bus.listener, sockaddr, G_SOCKET_TYPE_STREAM,
                                 G_SOCKET_PROTOCOL_DEFAULT, NULL, NULL, &error);
  g_assert_no_error (error);
  thread = g_thread_new ("hanging-bus", hanging_bus_thread, &bus);

  address = g_strconcat ("unix:path=", path, NULL);
  g_setenv ("DBUS_SESSION_BUS_ADDRESS", address, TRUE);

  lookup_bounded (MAX_SECONDS, &error);
  assert_no_service (error);
  /* libsecret's own attempt, and nothing more. */
  g_assert_cmpint (g_atomic_int_get (&bus.n_accepted), ==, 1);

  g_cancellable_cancel (bus.cancellable);
  g_thread_join (thread);
  g_socket_listener_close (bus.listener);
  g_clear_object (&bus.listener);
  g_clear_object (&bus.cancellable);
  g_ptr_array_unref (bus.held);
  g_unlink (path);
  g_rmdir (dir);
}

/* An error as GDBus makes it from a reply: the GError a service sent back,
 * with its domain and code, marked as remote. */
static GError *
remote_error (GQuark      domain,
              int         code,
              const char *message)
{
  g_autoptr(GError) sent = g_error_new_literal (domain, code, message);
  g_autofree char *name = g_dbus_error_encode_gerror (sent);
  GError *received = g_dbus_error_new_for_dbus_error (name, message);

  g_assert_true (g_dbus_error_is_remote_error (received));
  g_assert_true (g_error_matches (received, domain, code));

  return received;
}

/* The classifier: GIO's catch-all codes mean "no service" only when GIO made
 * them itself while reaching the bus; the same codes in a reply come from a
 * service on a working bus. D-Bus's own errors keep their verdict. */
static void
test_classifier (void)
{
  const int generic[] = { G_IO_ERROR_FAILED, G_IO_ERROR_INVALID_ARGUMENT, G_IO_ERROR_NOT_SUPPORTED };

  for (guint i = 0; i < G_N_ELEMENTS (generic); i++)
    {
      g_autoptr(GError) local = g_error_new_literal (G_IO_ERROR, generic[i], "Cannot autolaunch D-Bus");
      g_autoptr(GError) remote = remote_error (G_IO_ERROR, generic[i], "a service failed");

      g_assert_true (_herald_secrets_is_no_service_error (local));
      g_assert_false (_herald_secrets_is_no_service_error (remote));
    }

  {
    g_autoptr(GError) unknown = g_dbus_error_new_for_dbus_error ("org.freedesktop.DBus.Error.ServiceUnknown",
                                                                 "The name org.freedesktop.secrets was not provided");
    g_autoptr(GError) disconnected = g_dbus_error_new_for_dbus_error ("org.freedesktop.DBus.Error.Disconnected",
                                                                      "gone");
    g_autoptr(GError) no_reply = g_dbus_error_new_for_dbus_error ("org.freedesktop.DBus.Error.NoReply",
                                                                  "no reply");
    g_autoptr(GError) refused = g_error_new_literal (G_IO_ERROR, G_IO_ERROR_CONNECTION_REFUSED, "refused");
    g_autoptr(GError) timed_out = g_error_new_literal (G_IO_ERROR, G_IO_ERROR_TIMED_OUT, "timed out");

    g_assert_true (_herald_secrets_is_no_service_error (unknown));
    g_assert_true (_herald_secrets_is_no_service_error (disconnected));
    g_assert_false (_herald_secrets_is_no_service_error (no_reply));
    g_assert_true (_herald_secrets_is_no_service_error (refused));
    g_assert_false (_herald_secrets_is_no_service_error (timed_out));
  }
}

int
main (int   argc,
      char *argv[])
{
  const char *outer = g_getenv ("HERALD_OUTER_BUS");

  g_test_init (&argc, &argv, NULL);

  /* Refuse to run on the suite's own bus, where a keyring does exist. */
  if (outer == NULL || g_strcmp0 (outer, g_getenv ("DBUS_SESSION_BUS_ADDRESS")) == 0)
    g_error ("run me through run-no-service.sh, on a private bus without a keyring");

  g_test_add_func ("/herald/secrets/no-service/classifier", test_classifier);
  g_test_add_func ("/herald/secrets/no-service/sync", test_sync);
  g_test_add_func ("/herald/secrets/no-service/async", test_async);
  g_test_add_func ("/herald/secrets/no-service/dead-socket", test_dead_socket);
  g_test_add_func ("/herald/secrets/no-service/no-second-bus-call", test_no_second_bus_call);

  return g_test_run ();
}
