/* SPDX-License-Identifier: GPL-3.0-or-later
 * Copyright 2026 The Herald authors
 */
#define G_LOG_DOMAIN "herald-test-secrets"

#include <libsecret/secret.h>

#include "herald-secrets.h"

/* Round trips through the real keyring that build-aux/test-session.sh starts
 * (an unlocked gnome-keyring in a throw-away HOME). Passwords are compared
 * with g_assert_true, never g_assert_cmpstr, so a failure never prints one. */

#define HOST "smtp.example.com"
#define USER "alice@example.com"

/* Our schema, written out independently of the library: its name and
 * attributes are a contract with existing keyrings. */
static const SecretSchema test_schema = {
  "io.github.heraldmail.Herald.Password", SECRET_SCHEMA_NONE,
  {
    { "server", SECRET_SCHEMA_ATTRIBUTE_STRING },
    { "port", SECRET_SCHEMA_ATTRIBUTE_INTEGER },
    { "username", SECRET_SCHEMA_ATTRIBUTE_STRING },
    { NULL, 0 },
  }
};

static char *
make_password (const char *tag)
{
  /* Random so that a stale item from an earlier run cannot pass the test. */
  return g_strdup_printf ("pw-%s-%08x%08x", tag, g_random_int (), g_random_int ());
}

static void
test_round_trip_sync (void)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *password = make_password ("sync");
  g_autofree char *other = make_password ("other");
  g_autofree char *found = NULL;

  found = herald_password_lookup_sync (HOST, 587, USER, NULL, &error);
  g_assert_no_error (error);
  g_assert_null (found);

  g_assert_true (herald_password_store_sync (HOST, 587, USER, password, NULL, &error));
  g_assert_no_error (error);

  found = herald_password_lookup_sync (HOST, 587, USER, NULL, &error);
  g_assert_no_error (error);
  g_assert_nonnull (found);
  g_assert_true (g_strcmp0 (found, password) == 0);
  g_clear_pointer (&found, g_free);

  /* Keyed by server, port and username: each one matters. */
  found = herald_password_lookup_sync (HOST, 465, USER, NULL, &error);
  g_assert_no_error (error);
  g_assert_null (found);
  found = herald_password_lookup_sync ("smtp.example.org", 587, USER, NULL, &error);
  g_assert_no_error (error);
  g_assert_null (found);
  found = herald_password_lookup_sync (HOST, 587, "bob@example.com", NULL, &error);
  g_assert_no_error (error);
  g_assert_null (found);

  /* Storing again replaces the item instead of adding a second one. */
  g_assert_true (herald_password_store_sync (HOST, 587, USER, other, NULL, &error));
  g_assert_no_error (error);
  found = herald_password_lookup_sync (HOST, 587, USER, NULL, &error);
  g_assert_no_error (error);
  g_assert_true (g_strcmp0 (found, other) == 0);
  g_clear_pointer (&found, g_free);

  g_assert_true (herald_password_clear_sync (HOST, 587, USER, NULL, &error));
  g_assert_no_error (error);
  found = herald_password_lookup_sync (HOST, 587, USER, NULL, &error);
  g_assert_no_error (error);
  g_assert_null (found);

  /* Clearing what is not there is not an error. */
  g_assert_true (herald_password_clear_sync (HOST, 587, USER, NULL, &error));
  g_assert_no_error (error);
}

static void
test_item_schema_and_label (void)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *password = make_password ("label");
  GList *items;
  g_autofree char *label = NULL;
  GHashTable *attributes;

  g_assert_true (herald_password_store_sync ("mail.example.net", 2525, "carol", password,
                                             NULL, &error));
  g_assert_no_error (error);

  items = secret_password_search_sync (&test_schema, SECRET_SEARCH_ALL, NULL, &error,
                                       "server", "mail.example.net",
                                       "port", 2525,
                                       "username", "carol",
                                       NULL);
  g_assert_no_error (error);
  g_assert_cmpuint (g_list_length (items), ==, 1);

  label = secret_retrievable_get_label (items->data);
  g_assert_cmpstr (label, ==, "Herald SMTP password for carol on mail.example.net:2525");

  attributes = secret_retrievable_get_attributes (items->data);
  g_assert_cmpstr (g_hash_table_lookup (attributes, "xdg:schema"), ==,
                   "io.github.heraldmail.Herald.Password");
  g_assert_cmpstr (g_hash_table_lookup (attributes, "port"), ==, "2525");
  g_hash_table_unref (attributes);
  g_list_free_full (items, g_object_unref);

  g_assert_true (herald_password_clear_sync ("mail.example.net", 2525, "carol", NULL, &error));
  g_assert_no_error (error);
}

typedef struct {
  GMainLoop *loop;
  GAsyncResult *result;
} AsyncData;

static void
async_done_cb (GObject      *source,
               GAsyncResult *result,
               gpointer      user_data)
{
  AsyncData *data = user_data;

  data->result = g_object_ref (result);
  g_main_loop_quit (data->loop);
}

static gboolean
async_timeout_cb (gpointer user_data)
{
  g_error ("keyring call did not complete within 20 seconds");
  return G_SOURCE_REMOVE;
}

static void
wait_for_result (AsyncData *data)
{
  guint timeout_id = g_timeout_add_seconds (20, async_timeout_cb, NULL);

  g_main_loop_run (data->loop);
  g_source_remove (timeout_id);
}

static void
test_round_trip_async (void)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *password = make_password ("async");
  g_autofree char *found = NULL;
  AsyncData data = { g_main_loop_new (NULL, FALSE), NULL };

  herald_password_store_async (HOST, 25, USER, password, NULL, async_done_cb, &data);
  wait_for_result (&data);
  g_assert_true (herald_password_store_finish (data.result, &error));
  g_assert_no_error (error);
  g_clear_object (&data.result);

  herald_password_lookup_async (HOST, 25, USER, NULL, async_done_cb, &data);
  wait_for_result (&data);
  found = herald_password_lookup_finish (data.result, &error);
  g_assert_no_error (error);
  g_assert_nonnull (found);
  g_assert_true (g_strcmp0 (found, password) == 0);
  g_clear_object (&data.result);
  g_clear_pointer (&found, g_free);

  g_assert_true (herald_password_clear_sync (HOST, 25, USER, NULL, &error));
  g_assert_no_error (error);

  herald_password_lookup_async (HOST, 25, USER, NULL, async_done_cb, &data);
  wait_for_result (&data);
  found = herald_password_lookup_finish (data.result, &error);
  g_assert_no_error (error);
  g_assert_null (found);
  g_clear_object (&data.result);

  g_main_loop_unref (data.loop);
}

static void
test_cancelled (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  g_autofree char *found = NULL;
  AsyncData data = { g_main_loop_new (NULL, FALSE), NULL };

  /* A cancellation the caller asked for stays G_IO_ERROR_CANCELLED, so the
   * window can ignore it; only an unrequested one means a dismissed prompt. */
  g_cancellable_cancel (cancellable);
  herald_password_lookup_async (HOST, 587, USER, cancellable, async_done_cb, &data);
  wait_for_result (&data);
  found = herald_password_lookup_finish (data.result, &error);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_assert_null (found);
  g_clear_object (&data.result);
  g_main_loop_unref (data.loop);
}

static void
test_unusual_values (void)
{
  g_autoptr(GError) error = NULL;
  /* Non-ASCII, spaces and quotes in a password survive the round trip. */
  const char *password = "p\xc3\xa4ss w\"o'rd \xe2\x82\xac 123";
  g_autofree char *found = NULL;

  g_assert_true (herald_password_store_sync ("[::1]", 1, "", password, NULL, &error));
  g_assert_no_error (error);
  found = herald_password_lookup_sync ("[::1]", 1, "", NULL, &error);
  g_assert_no_error (error);
  g_assert_true (g_strcmp0 (found, password) == 0);
  g_assert_true (herald_password_clear_sync ("[::1]", 1, "", NULL, &error));
  g_assert_no_error (error);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/herald/secrets/round-trip-sync", test_round_trip_sync);
  g_test_add_func ("/herald/secrets/item-schema-and-label", test_item_schema_and_label);
  g_test_add_func ("/herald/secrets/round-trip-async", test_round_trip_async);
  g_test_add_func ("/herald/secrets/cancelled", test_cancelled);
  g_test_add_func ("/herald/secrets/unusual-values", test_unusual_values);

  return g_test_run ();
}
