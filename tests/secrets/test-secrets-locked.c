/* SPDX-License-Identifier: GPL-3.0-or-later
 * Copyright 2026 The Herald authors
 */
#define G_LOG_DOMAIN "herald-test-secrets"

#include <string.h>

#include "herald-secrets.h"
#include "herald-test-util.h"

/* A keyring that is locked and stays locked: run-locked-keyring.sh gives us
 * our own session bus and gnome-keyring, and no display, so the unlock prompt
 * cannot be shown (as when the user refuses it). We lock the default
 * collection ourselves, then every call must fail quickly with
 * HERALD_SECRETS_ERROR_LOCKED and a message that says what to do. */

#define HOST "smtp.example.com"
#define USER "alice@example.com"
#define MAX_SECONDS 15.0

static void
lock_default_collection (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GDBusConnection) bus = g_bus_get_sync (G_BUS_TYPE_SESSION, NULL, &error);
  g_autoptr(GVariant) alias = NULL;
  g_autoptr(GVariant) locked = NULL;
  const char *path;
  const char *paths[2] = { NULL, NULL };

  g_assert_no_error (error);
  alias = g_dbus_connection_call_sync (bus, "org.freedesktop.secrets", "/org/freedesktop/secrets",
                                       "org.freedesktop.Secret.Service", "ReadAlias",
                                       g_variant_new ("(s)", "default"), G_VARIANT_TYPE ("(o)"),
                                       G_DBUS_CALL_FLAGS_NONE, 10000, NULL, &error);
  g_assert_no_error (error);
  g_variant_get (alias, "(&o)", &path);
  g_assert_cmpstr (path, !=, "/");
  paths[0] = path;
  locked = g_dbus_connection_call_sync (bus, "org.freedesktop.secrets", "/org/freedesktop/secrets",
                                        "org.freedesktop.Secret.Service", "Lock",
                                        g_variant_new ("(^ao)", paths), G_VARIANT_TYPE ("(aoo)"),
                                        G_DBUS_CALL_FLAGS_NONE, 10000, NULL, &error);
  g_assert_no_error (error);
}

static void
assert_locked (const GError *error)
{
  g_assert_error (error, HERALD_SECRETS_ERROR, HERALD_SECRETS_ERROR_LOCKED);
  g_assert_nonnull (strstr (error->message, "locked"));
  g_assert_nonnull (strstr (error->message, "Unlock it"));
  g_test_message ("message: %s", error->message);
}

static void
test_locked (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GTimer) timer = NULL;
  g_autofree char *password = g_strdup_printf ("locked-%08x", g_random_int ());
  g_autofree char *found = NULL;
  GAsyncResult *result = NULL;

  /* Saved while the keyring was open. */
  g_assert_true (herald_password_store_sync (HOST, 587, USER, password, NULL, &error));
  g_assert_no_error (error);

  lock_default_collection ();
  timer = g_timer_new ();

  /* A saved password behind a lock is not "no password". */
  found = herald_password_lookup_sync (HOST, 587, USER, NULL, &error);
  g_assert_null (found);
  assert_locked (error);
  g_clear_error (&error);

  herald_password_lookup_async (HOST, 587, USER, NULL, herald_test_result_cb, &result);
  found = herald_password_lookup_finish (herald_test_wait_result (&result, MAX_SECONDS), &error);
  g_assert_null (found);
  assert_locked (error);
  g_clear_error (&error);
  g_clear_object (&result);

  /* Nothing can be stored either. */
  g_assert_false (herald_password_store_sync (HOST, 465, USER, password, NULL, &error));
  assert_locked (error);
  g_clear_error (&error);

  herald_password_store_async (HOST, 465, USER, password, NULL, herald_test_result_cb, &result);
  g_assert_false (herald_password_store_finish (herald_test_wait_result (&result, MAX_SECONDS),
                                                &error));
  assert_locked (error);
  g_clear_object (&result);

  /* No password at all for another account stays a plain "none". */
  g_clear_error (&error);
  found = herald_password_lookup_sync ("other.example.com", 25, "bob", NULL, &error);
  g_assert_no_error (error);
  g_assert_null (found);

  g_assert_cmpfloat (g_timer_elapsed (timer, NULL), <, MAX_SECONDS);
}

int
main (int   argc,
      char *argv[])
{
  const char *outer = g_getenv ("HERALD_OUTER_BUS");

  g_test_init (&argc, &argv, NULL);

  /* Locking the suite's own keyring would break the other tests. */
  if (outer == NULL || g_strcmp0 (outer, g_getenv ("DBUS_SESSION_BUS_ADDRESS")) == 0 ||
      g_getenv ("HERALD_PRIVATE_KEYRING") == NULL)
    g_error ("run me through run-locked-keyring.sh, on a private bus and keyring");

  g_test_add_func ("/herald/secrets/locked", test_locked);

  return g_test_run ();
}
