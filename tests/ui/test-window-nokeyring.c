/* SPDX-License-Identifier: GPL-3.0-or-later
 * Copyright 2026 The Herald authors
 */
#define G_LOG_DOMAIN "herald-test-ui"

#include "config.h"

#include <string.h>
#include <adwaita.h>

#include "herald-fake-server.h"
#include "herald-window.h"
#include "herald-window-private.h"

/* The window without any Secret Service: the session bus address points at
 * nothing, so libsecret cannot reach a keyring. The window must say so, keep
 * the password for the session, still send with it, and write it nowhere. */

#define FROM      "alerts@example.com"
#define TO        "admin@example.com"
#define USERNAME  "alerts@example.com"
#define PASSWORD  "n0-Keyring-Pa55"

typedef gboolean (*Condition) (gpointer data);

static gboolean
wait_for (Condition condition,
          gpointer  data,
          guint     timeout_ms)
{
  gint64 end = g_get_monotonic_time () + timeout_ms * G_TIME_SPAN_MILLISECOND;

  while (!condition (data))
    {
      if (g_get_monotonic_time () > end)
        return FALSE;
      if (!g_main_context_iteration (NULL, FALSE))
        g_usleep (2000);
    }
  return TRUE;
}

static gboolean
has_keyring_message (gpointer data)
{
  return _herald_window_get_keyring_message (data) != NULL;
}

static gboolean
not_running (gpointer data)
{
  return !_herald_window_is_running (data);
}

static gboolean
keyring_idle (gpointer data)
{
  return _herald_window_get_n_keyring_ops (data) == 0;
}

static gboolean
only_one_ref (gpointer data)
{
  return G_OBJECT (data)->ref_count == 1;
}

static void
type_text (HeraldWindow *window,
           const char   *name,
           const char   *text)
{
  gtk_editable_set_text (GTK_EDITABLE (_herald_window_get_widget (window, name)), text);
}

static void
test_no_keyring (void)
{
  g_autoptr(GSettings) settings = g_settings_new ("io.github.heraldmail.Herald");
  g_autoptr(HeraldFakeServer) server = herald_fake_server_new_from_script (
    "S 220 fake.example ESMTP\n"
    "C EHLO .*\n"
    "S 250-fake.example\n"
    "S 250 AUTH PLAIN\n"
    "C AUTH PLAIN .*\n"
    "S 235 2.7.0 Authentication successful\n"
    "C MAIL FROM:<" FROM ">.*\n"
    "S 250 2.1.0 OK\n"
    "C RCPT TO:<" TO ">.*\n"
    "S 250 2.1.5 OK\n"
    "C DATA\n"
    "S 354 go ahead\n"
    "DATA\n"
    "S 250 2.0.0 OK <nokeyring@fake.example>\n"
    "C QUIT\n"
    "S 221 bye\n");
  g_autoptr(GError) error = NULL;
  g_autoptr(GSettingsSchema) schema = NULL;
  g_auto(GStrv) keys = NULL;
  g_autofree char *port = NULL;
  g_autofree char *expected_auth = NULL;
  g_autofree char *auth_b64 = NULL;
  static const char plain[] = "\0" USERNAME "\0" PASSWORD;
  HeraldWindow *window;
  GtkWidget *keyring_row;

  g_settings_set_string (settings, "server", "127.0.0.1");
  g_settings_set_string (settings, "username", USERNAME);

  window = herald_window_new (NULL);
  g_object_ref (window);
  gtk_window_present (GTK_WINDOW (window));

  /* The lookup after the first frame fails, and the window says so. */
  g_assert_true (wait_for (has_keyring_message, window, 20000));
  g_test_message ("keyring message: %s", _herald_window_get_keyring_message (window));
  g_assert_nonnull (strstr (_herald_window_get_keyring_message (window), "session only"));
  keyring_row = _herald_window_get_widget (window, "keyring");
  g_assert_true (gtk_widget_get_visible (keyring_row));
  g_assert_cmpstr (adw_preferences_row_get_title (ADW_PREFERENCES_ROW (keyring_row)), ==,
                   "Keyring unavailable");

  /* The password still works for this session. */
  g_assert_cmpuint (herald_fake_server_start (server, &error), >, 0);
  g_assert_no_error (error);
  port = g_strdup_printf ("%u", herald_fake_server_get_port (server));
  type_text (window, "port", port);
  type_text (window, "password", PASSWORD);
  type_text (window, "from", FROM);
  type_text (window, "to", TO);
  /* Security None is the explicit choice that allows AUTH without TLS. */
  adw_combo_row_set_selected (ADW_COMBO_ROW (_herald_window_get_widget (window, "security")), 2);
  g_assert_null (_herald_window_get_validation_message (window));

  gtk_widget_activate_action (GTK_WIDGET (window), "win.send", NULL);
  g_assert_true (wait_for (not_running, window, 20000));
  g_assert_true (herald_fake_server_wait (server, 5000));
  g_assert_true (herald_banner_get_revealed (_herald_window_get_banner (window)));
  auth_b64 = g_base64_encode ((const guchar *) plain, sizeof plain - 1);
  expected_auth = g_strdup_printf ("AUTH PLAIN %s", auth_b64);
  {
    g_autoptr(GPtrArray) lines = herald_fake_server_get_received (server);
    gboolean found = FALSE;

    for (guint i = 0; i < lines->len; i++)
      found |= g_str_equal (g_ptr_array_index (lines, i), expected_auth);
    g_assert_true (found);
  }

  /* The message stays, the password stays in the row, and no key has it. */
  g_assert_nonnull (_herald_window_get_keyring_message (window));
  g_assert_cmpstr (gtk_editable_get_text (GTK_EDITABLE (_herald_window_get_widget (window, "password"))),
                   ==, PASSWORD);
  g_object_get (settings, "settings-schema", &schema, NULL);
  keys = g_settings_schema_list_keys (schema);
  for (guint i = 0; keys[i] != NULL; i++)
    {
      g_autoptr(GVariant) v = g_settings_get_value (settings, keys[i]);
      g_autofree char *printed = g_variant_print (v, FALSE);

      g_assert_null (strstr (printed, PASSWORD));
      g_assert_null (strstr (printed, auth_b64));
    }

  /* Closing does not try the keyring again, and does not crash. */
  g_assert_true (wait_for (keyring_idle, window, 20000));
  gtk_window_close (GTK_WINDOW (window));
  g_assert_true (wait_for (only_one_ref, window, 10000));
  g_assert_finalize_object (window);
}

int
main (int   argc,
      char *argv[])
{
  /* Before anything connects: no session bus, hence no Secret Service. */
  g_setenv ("DBUS_SESSION_BUS_ADDRESS", "unix:path=/nonexistent/herald-test-no-bus", TRUE);
  g_setenv ("GTK_A11Y", "none", TRUE);

  gtk_test_init (&argc, &argv, NULL);
  adw_init ();

  g_test_add_func ("/herald/ui/keyring/unavailable", test_no_keyring);

  return g_test_run ();
}
