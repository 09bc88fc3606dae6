/* SPDX-License-Identifier: GPL-3.0-or-later
 * Copyright 2026 The Herald authors
 */
#define G_LOG_DOMAIN "herald-test-secrets"

#include "herald-secrets.h"
#include "herald-test-util.h"

/* Runs on a private session bus with no Secret Service and nothing that could
 * be activated as one (tests/desktop/run-no-service.sh starts it). Every call
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

int
main (int   argc,
      char *argv[])
{
  const char *outer = g_getenv ("HERALD_OUTER_BUS");

  g_test_init (&argc, &argv, NULL);

  /* Refuse to run on the suite's own bus, where a keyring does exist. */
  if (outer == NULL || g_strcmp0 (outer, g_getenv ("DBUS_SESSION_BUS_ADDRESS")) == 0)
    g_error ("run me through run-no-service.sh, on a private bus without a keyring");

  g_test_add_func ("/herald/secrets/no-service/sync", test_sync);
  g_test_add_func ("/herald/secrets/no-service/async", test_async);

  return g_test_run ();
}
