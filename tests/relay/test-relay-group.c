/* SPDX-License-Identifier: GPL-3.0-or-later
 * Copyright 2026 The Herald authors
 */
#include "config.h"

#include <adwaita.h>
#include <glib/gstdio.h>
#include <string.h>

#include "herald-relay.h"
#include "herald-relay-group.h"

/* The window's Relay section: device users added and removed through it
 * (and behind its back), the certificate's fingerprint, the last messages
 * per device from the relay's log, the listen addresses checked before
 * they are saved, and the switch that runs the real heraldctl relay. */

static char *state_home;
static char *relay_dir;

static gboolean
wait_for (HeraldRelayGroup *group,
          gboolean        (*done) (HeraldRelayGroup *group, gconstpointer data),
          gconstpointer     data)
{
  gint64 deadline = g_get_monotonic_time () + 20 * G_USEC_PER_SEC;

  while (g_get_monotonic_time () < deadline)
    {
      g_main_context_iteration (NULL, FALSE);
      if (!herald_relay_group_is_busy (group) && done (group, data))
        return TRUE;
      g_usleep (10 * 1000);
    }
  g_test_message ("status: %s", herald_relay_group_get_status (group));
  return FALSE;
}

static gboolean
users_are (HeraldRelayGroup *group,
           gconstpointer     data)
{
  g_auto(GStrv) users = herald_relay_group_dup_users (group);
  g_autofree char *joined = users != NULL ? g_strjoinv (",", users) : g_strdup ("");

  return g_str_equal (joined, (const char *) data);
}

static gboolean
has_message (HeraldRelayGroup *group,
             gconstpointer     data)
{
  g_auto(GStrv) messages = herald_relay_group_dup_messages (group);

  return messages != NULL && g_strv_contains ((const char * const *) messages, data);
}

static gboolean
status_has (HeraldRelayGroup *group,
            gconstpointer     data)
{
  const char *status = herald_relay_group_get_status (group);

  return status != NULL && strstr (status, data) != NULL;
}

static GtkWidget *find_widget (GtkWidget *widget, GType type, const char *label);

static gboolean
stopped_saying (HeraldRelayGroup *group,
                gconstpointer     data)
{
  GtkWidget *toggle = find_widget (GTK_WIDGET (group), GTK_TYPE_SWITCH, NULL);

  return status_has (group, data) && !gtk_switch_get_active (GTK_SWITCH (toggle));
}

static gboolean
has_fingerprint (HeraldRelayGroup *group,
                 gconstpointer     data)
{
  return g_strcmp0 (herald_relay_group_get_fingerprint (group), data) == 0;
}

static GtkWidget *
find_widget (GtkWidget  *widget,
             GType       type,
             const char *label)
{
  if (G_TYPE_CHECK_INSTANCE_TYPE (widget, type))
    {
      const char *text = NULL;

      if (GTK_IS_BUTTON (widget))
        text = gtk_button_get_label (GTK_BUTTON (widget));
      else if (ADW_IS_PREFERENCES_ROW (widget))
        text = adw_preferences_row_get_title (ADW_PREFERENCES_ROW (widget));
      if (label == NULL || g_strcmp0 (text, label) == 0)
        return widget;
    }
  for (GtkWidget *child = gtk_widget_get_first_child (widget); child != NULL;
       child = gtk_widget_get_next_sibling (child))
    {
      GtkWidget *found = find_widget (child, type, label);

      if (found != NULL)
        return found;
    }
  return NULL;
}

static void
test_group (void)
{
  g_autoptr(GSettings) settings = g_settings_new ("io.github.heraldmail.Herald");
  g_autofree char *users_path = g_build_filename (relay_dir, "users", NULL);
  g_autofree char *log_path = g_build_filename (relay_dir, "messages.log", NULL);
  g_autoptr(HeraldRelayUsers) users = herald_relay_users_new (users_path);
  g_autofree char *heraldctl = g_build_filename (g_getenv ("HERALD_BUILD_DIR"), "src", "cli",
                                                 "heraldctl", NULL);
  HeraldRelayGroup *group;
  GtkWidget *window = gtk_window_new ();
  GtkWidget *button, *row, *toggle;
  g_autoptr(GError) error = NULL;

  g_assert_true (herald_relay_users_add (users, "printer1", "first-password", NULL, &error));
  g_assert_no_error (error);

  group = herald_relay_group_new (settings, relay_dir, heraldctl);
  gtk_window_set_child (GTK_WINDOW (window), GTK_WIDGET (group));
  gtk_window_present (GTK_WINDOW (window));
  g_assert_true (wait_for (group, users_are, "printer1"));
  g_assert_null (herald_relay_group_get_fingerprint (group));

  /* A user added behind its back (heraldctl relay user add) shows up. */
  g_assert_true (herald_relay_users_add (users, "scanner", "second-password", NULL, &error));
  g_assert_true (wait_for (group, users_are, "printer1,scanner"));

  /* Added through the form: stored as a hash that verifies. */
  row = find_widget (GTK_WIDGET (group), ADW_TYPE_ENTRY_ROW, "New Device User");
  g_assert_nonnull (row);
  gtk_editable_set_text (GTK_EDITABLE (row), "publisher");
  row = find_widget (GTK_WIDGET (group), ADW_TYPE_ENTRY_ROW, "Its Password");
  g_assert_nonnull (row);
  gtk_editable_set_text (GTK_EDITABLE (row), "publisher-password");
  button = find_widget (GTK_WIDGET (group), GTK_TYPE_BUTTON, "Add Device User");
  g_signal_emit_by_name (button, "clicked");
  g_assert_true (wait_for (group, users_are, "printer1,publisher,scanner"));
  g_assert_true (herald_relay_users_verify (users, "publisher", "publisher-password"));
  g_assert_false (herald_relay_users_verify (users, "publisher", "wrong-password"));
  g_assert_cmpstr (gtk_editable_get_text (GTK_EDITABLE (row)), ==, "");

  /* Remove (the first row's button is printer1's). */
  button = find_widget (GTK_WIDGET (group), GTK_TYPE_BUTTON, "Remove");
  g_signal_emit_by_name (button, "clicked");
  g_assert_true (wait_for (group, users_are, "publisher,scanner"));

  /* The certificate the relay creates: its fingerprint, as the relay
   * prints it. */
  {
    g_autoptr(GTlsCertificate) cert = herald_relay_load_certificate (NULL, NULL, relay_dir, NULL,
                                                                     NULL, &error);
    g_autofree char *fingerprint = NULL;

    g_assert_no_error (error);
    fingerprint = herald_relay_certificate_fingerprint (cert);
    g_assert_true (wait_for (group, has_fingerprint, fingerprint));
  }

  /* The last messages per device, with their outcome; a hostile subject
   * is shown as text. */
  g_assert_true (herald_relay_log_accepted (log_path, "00001", "127.0.0.2", "publisher",
                                            "Sync <b>done</b> & \x1b[31m", &error));
  g_assert_true (herald_relay_log_accepted (log_path, "00002", "192.0.2.7", NULL, "Toner low",
                                            &error));
  g_assert_true (herald_relay_log_outcome (log_path, "00001", "sent", NULL, &error));
  g_assert_true (herald_relay_log_outcome (log_path, "00002", "held", "SMTP AUTH is off",
                                           &error));
  g_assert_no_error (error);
  g_assert_true (wait_for (group, has_message, "publisher: Sync <b>done</b> & \x1b[31m — sent"));
  g_assert_true (wait_for (group, has_message, "192.0.2.7: Toner low — held"));

  /* Listen addresses: checked before they are saved. */
  row = find_widget (GTK_WIDGET (group), ADW_TYPE_ENTRY_ROW, "Listen On");
  g_assert_cmpstr (gtk_editable_get_text (GTK_EDITABLE (row)), ==, "127.0.0.1:2525, [::1]:2525");
  gtk_editable_set_text (GTK_EDITABLE (row), "printer.lan:25");
  g_signal_emit_by_name (row, "apply");
  g_assert_true (gtk_widget_has_css_class (row, "error"));
  {
    g_autofree char *saved = g_settings_get_string (settings, "relay-listen");

    g_assert_cmpstr (saved, ==, "127.0.0.1:2525, [::1]:2525");
  }
  gtk_editable_set_text (GTK_EDITABLE (row), "127.0.0.1:0");
  g_signal_emit_by_name (row, "apply");
  g_assert_true (gtk_widget_has_css_class (row, "error"));
  gtk_editable_set_text (GTK_EDITABLE (row), "127.0.0.1:2526");
  g_signal_emit_by_name (row, "apply");
  g_assert_false (gtk_widget_has_css_class (row, "error"));
  {
    g_autofree char *saved = g_settings_get_string (settings, "relay-listen");

    g_assert_cmpstr (saved, ==, "127.0.0.1:2526");
  }

  /* The switch runs the real heraldctl relay: first without a profile
   * (it says why and the switch goes off), then with one. */
  toggle = find_widget (GTK_WIDGET (group), GTK_TYPE_SWITCH, NULL);
  g_assert_nonnull (toggle);
  gtk_switch_set_active (GTK_SWITCH (toggle), TRUE);
  /* The relay's last words arrive before it has exited; the switch goes
   * off when it has. */
  g_assert_true (wait_for (group, stopped_saying, "heraldctl config set"));

  g_settings_set_string (settings, "server", "127.0.0.1");
  g_settings_set_string (settings, "from", "alerts@example.com");
  g_settings_set_boolean (settings, "alerts-enabled", TRUE);
  g_settings_set_string (settings, "relay-listen", "127.0.0.1:0");
  g_settings_sync ();
  gtk_switch_set_active (GTK_SWITCH (toggle), TRUE);
  g_assert_true (wait_for (group, status_has, "Herald relay listening on 127.0.0.1:"));
  gtk_switch_set_active (GTK_SWITCH (toggle), FALSE);
  g_assert_true (wait_for (group, status_has, "Stopped"));

  gtk_window_destroy (GTK_WINDOW (window));
}

int
main (int    argc,
      char **argv)
{
  g_autofree char *tmp = g_dir_make_tmp ("herald-relay-group-XXXXXX", NULL);
  g_autofree char *cmd = NULL;
  int status;

  /* The statuses checked are the English ones. */
  g_setenv ("LC_ALL", "C.UTF-8", TRUE);
  g_unsetenv ("LANGUAGE");
  /* One settings store for the window and the heraldctl it starts. */
  state_home = g_build_filename (tmp, "state", NULL);
  g_setenv ("XDG_STATE_HOME", state_home, TRUE);
  g_setenv ("XDG_CONFIG_HOME", tmp, TRUE);
  g_setenv ("GSETTINGS_BACKEND", "keyfile", TRUE);
  relay_dir = herald_relay_dup_user_state_dir ();

  gtk_test_init (&argc, &argv, NULL);
  adw_init ();

  g_test_add_func ("/herald/relay/group", test_group);
  status = g_test_run ();

  cmd = g_strdup_printf ("rm -rf '%s'", tmp);
  g_spawn_command_line_sync (cmd, NULL, NULL, NULL, NULL);
  g_free (state_home);
  g_free (relay_dir);
  return status;
}
