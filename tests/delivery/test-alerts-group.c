/* SPDX-License-Identifier: GPL-3.0-or-later
 * Copyright 2026 The Herald authors
 */
#include "config.h"

#include <adwaita.h>
#include <glib/gstdio.h>

#include "herald-alerts-group.h"
#include "herald-queue.h"

/* The window's Alerts area: it follows the queue directory (a file monitor,
 * read off the main thread), counts waiting, held and failed messages, and
 * Discard removes the message from the queue. */

static gboolean
wait_until (HeraldAlertsGroup *group,
            guint              rows,
            const char        *summary)
{
  gint64 deadline = g_get_monotonic_time () + 10 * G_USEC_PER_SEC;

  while (g_get_monotonic_time () < deadline)
    {
      g_main_context_iteration (NULL, FALSE);
      if (herald_alerts_group_get_n_rows (group) == rows &&
          g_strcmp0 (herald_alerts_group_get_summary (group), summary) == 0)
        return TRUE;
      g_usleep (10 * 1000);
    }
  g_test_message ("rows %u, summary %s", herald_alerts_group_get_n_rows (group),
                  herald_alerts_group_get_summary (group));
  return FALSE;
}

static char *
add (HeraldQueue      *queue,
     HeraldQueueState  state,
     const char       *subject)
{
  g_autoptr(HeraldQueueEntry) e = herald_queue_entry_new ();
  g_autoptr(GBytes) data = g_bytes_new_static ("Subject: x\r\n\r\nbody\r\n", 21);
  g_autoptr(GError) error = NULL;
  const char *rcpt[] = { "bob@example.com", NULL };
  char *id;

  e->state = state;
  e->sender = g_strdup ("alerts@example.com");
  e->recipients = g_strdupv ((char **) rcpt);
  e->subject = g_strdup (subject);
  if (state != HERALD_QUEUE_STATE_QUEUED)
    {
      e->last_error = g_new0 (HeraldQueueError, 1);
      e->last_error->stage = g_strdup ("auth");
      e->last_error->reply_code = 535;
      e->last_error->reply_enhanced = g_strdup ("5.7.139");
      e->last_error->reply_text = g_strdup ("Authentication unsuccessful, SmtpClientAuthentication "
                                            "is disabled for the Tenant.");
      e->last_error->diagnosis_title = g_strdup ("SMTP AUTH is off");
    }
  id = herald_queue_add (queue, data, e, &error);
  g_assert_no_error (error);
  return id;
}

/* The Discard button of the row titled @subject. */
static GtkWidget *
find_button (GtkWidget  *widget,
             const char *label)
{
  if (GTK_IS_BUTTON (widget) && g_strcmp0 (gtk_button_get_label (GTK_BUTTON (widget)), label) == 0)
    return widget;
  for (GtkWidget *child = gtk_widget_get_first_child (widget); child != NULL;
       child = gtk_widget_get_next_sibling (child))
    {
      GtkWidget *found = find_button (child, label);

      if (found != NULL)
        return found;
    }
  return NULL;
}

static void
test_follows_queue (void)
{
  g_autofree char *dir = g_dir_make_tmp ("herald-alerts-XXXXXX", NULL);
  g_autofree char *queue_dir = g_build_filename (dir, "queue", NULL);
  g_autoptr(HeraldQueue) queue = herald_queue_new (queue_dir);
  HeraldAlertsGroup *group = herald_alerts_group_new (queue_dir);
  GtkWidget *window = gtk_window_new ();
  g_autofree char *a = NULL;
  g_autofree char *b = NULL;
  g_autofree char *cmd = g_strdup_printf ("rm -rf '%s'", dir);
  GtkWidget *discard;

  gtk_window_set_child (GTK_WINDOW (window), GTK_WIDGET (group));
  gtk_window_present (GTK_WINDOW (window));
  g_assert_true (wait_until (group, 0, "No alerts are waiting."));

  a = add (queue, HERALD_QUEUE_STATE_QUEUED, "disk full");
  g_assert_true (wait_until (group, 1, "1 waiting, 0 held, 0 failed"));
  b = add (queue, HERALD_QUEUE_STATE_HELD, "raid degraded");
  g_assert_true (wait_until (group, 2, "1 waiting, 1 held, 0 failed"));

  /* Discard: gone from the queue, and from the list. */
  discard = find_button (GTK_WIDGET (group), "Discard");
  g_assert_nonnull (discard);
  g_signal_emit_by_name (discard, "clicked");
  g_assert_true (wait_until (group, 1, "0 waiting, 1 held, 0 failed"));
  {
    g_autoptr(GError) error = NULL;
    g_autoptr(HeraldQueueEntry) gone = herald_queue_get (queue, a, &error);

    g_assert_null (gone);
    g_assert_error (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND);
  }

  /* Removed behind its back (heraldctl queue drop): the list follows. */
  g_assert_true (herald_queue_remove (queue, b, NULL));
  g_assert_true (wait_until (group, 0, "No alerts are waiting."));

  gtk_window_destroy (GTK_WINDOW (window));
  g_assert_true (g_spawn_command_line_sync (cmd, NULL, NULL, NULL, NULL));
}

int
main (int    argc,
      char **argv)
{
  gtk_test_init (&argc, &argv, NULL);
  adw_init ();

  g_test_add_func ("/herald/delivery/alerts-group/follows-queue", test_follows_queue);

  return g_test_run ();
}
