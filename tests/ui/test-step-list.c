/* SPDX-License-Identifier: GPL-3.0-or-later
 * Copyright 2026 The Herald authors
 */
#define G_LOG_DOMAIN "herald-test-ui"

#include "config.h"

#include <adwaita.h>

#include "herald-step-list.h"

/* The live step list on its own, in a plain window under Xvfb, fed progress
 * events as the engine sends them: each row's state, what it says under its
 * title, the time it adds up, and how a finished test leaves the rows. */

typedef struct {
  GtkWidget      *window;
  HeraldStepList *steps;
} Fixture;

static void
fixture_set_up (Fixture       *f,
                gconstpointer  data)
{
  f->steps = HERALD_STEP_LIST (g_object_ref_sink (herald_step_list_new ()));
  f->window = gtk_window_new ();
  gtk_window_set_child (GTK_WINDOW (f->window), GTK_WIDGET (f->steps));
  gtk_window_present (GTK_WINDOW (f->window));
}

static void
fixture_tear_down (Fixture       *f,
                   gconstpointer  data)
{
  gtk_window_destroy (GTK_WINDOW (f->window));
  g_assert_finalize_object (f->steps);
}

static void
progress (Fixture         *f,
          HeraldStage      stage,
          HeraldStepState  state,
          gint64           duration)
{
  herald_step_list_update (f->steps, &(HeraldProgress) { stage, state, 0, duration });
}

/* The image in front of the step's row: its accessible name says what the
 * icon shows. */
static GtkWidget *
find_image (GtkWidget *root)
{
  if (GTK_IS_IMAGE (root))
    return root;
  for (GtkWidget *child = gtk_widget_get_first_child (root);
       child != NULL;
       child = gtk_widget_get_next_sibling (child))
    {
      GtkWidget *found = find_image (child);

      if (found != NULL)
        return found;
    }
  return NULL;
}

static GtkWidget *
step_image (Fixture    *f,
            HeraldStep  step)
{
  const char *title = herald_step_list_get_title (f->steps, step);
  GtkWidget *list = gtk_widget_get_first_child (GTK_WIDGET (f->steps));

  for (GtkWidget *row = gtk_widget_get_first_child (list);
       row != NULL;
       row = gtk_widget_get_next_sibling (row))
    {
      if (ADW_IS_PREFERENCES_ROW (row) &&
          g_strcmp0 (adw_preferences_row_get_title (ADW_PREFERENCES_ROW (row)), title) == 0)
        return find_image (row);
    }
  g_assert_not_reached ();
}

static void
test_initial (Fixture       *f,
              gconstpointer  data)
{
  g_autoptr(GHashTable) titles = g_hash_table_new (g_str_hash, g_str_equal);

  /* Every step has a row with its own title, pending and silent. */
  for (guint i = 0; i < HERALD_N_STEPS; i++)
    {
      const char *title = herald_step_list_get_title (f->steps, i);

      g_assert_nonnull (title);
      g_assert_cmpstr (title, !=, "");
      g_assert_true (g_hash_table_add (titles, (gpointer) title));
      g_assert_cmpint (herald_step_list_get_state (f->steps, i), ==, HERALD_STEP_STATE_PENDING);
      g_assert_cmpstr (herald_step_list_get_status (f->steps, i), ==, "");
      g_assert_false (gtk_widget_get_visible (step_image (f, i)));
    }
}

static void
test_progress (Fixture       *f,
               gconstpointer  data)
{
  HeraldStep connect = herald_step_for_stage (HERALD_STAGE_CONNECT);
  HeraldStep login = herald_step_for_stage (HERALD_STAGE_AUTH);
  HeraldStep send = herald_step_for_stage (HERALD_STAGE_MAIL);

  g_assert_cmpint (connect, <, HERALD_N_STEPS);
  g_assert_cmpint (login, <, HERALD_N_STEPS);
  g_assert_cmpint (send, <, HERALD_N_STEPS);
  /* Envelope and data are one step for a person. */
  g_assert_cmpint (herald_step_for_stage (HERALD_STAGE_RCPT), ==, send);
  g_assert_cmpint (herald_step_for_stage (HERALD_STAGE_DATA), ==, send);
  g_assert_cmpint (herald_step_for_stage (HERALD_STAGE_DONE), ==, HERALD_N_STEPS);

  progress (f, HERALD_STAGE_CONNECT, HERALD_STEP_STARTED, 0);
  g_assert_cmpint (herald_step_list_get_state (f->steps, connect), ==, HERALD_STEP_STATE_RUNNING);
  g_assert_cmpstr (herald_step_list_get_status (f->steps, connect), ==, "Running…");

  progress (f, HERALD_STAGE_CONNECT, HERALD_STEP_SUCCEEDED, 12);
  g_assert_cmpint (herald_step_list_get_state (f->steps, connect), ==, HERALD_STEP_STATE_DONE);
  g_assert_cmpstr (herald_step_list_get_status (f->steps, connect), ==, "12 ms");
  g_assert_true (gtk_widget_get_visible (step_image (f, connect)));
  gtk_test_accessible_assert_property (GTK_ACCESSIBLE (step_image (f, connect)),
                                       GTK_ACCESSIBLE_PROPERTY_LABEL, "Done");

  /* The stages of one step add up. */
  progress (f, HERALD_STAGE_MAIL, HERALD_STEP_STARTED, 0);
  progress (f, HERALD_STAGE_MAIL, HERALD_STEP_SUCCEEDED, 400);
  progress (f, HERALD_STAGE_RCPT, HERALD_STEP_STARTED, 0);
  progress (f, HERALD_STAGE_RCPT, HERALD_STEP_SUCCEEDED, 700);
  g_assert_cmpint (herald_step_list_get_state (f->steps, send), ==, HERALD_STEP_STATE_DONE);
  g_assert_cmpstr (herald_step_list_get_status (f->steps, send), ==, "1.1 s");

  /* A failure stays a failure, whatever a later stage of the step says. */
  progress (f, HERALD_STAGE_AUTH, HERALD_STEP_STARTED, 0);
  progress (f, HERALD_STAGE_AUTH, HERALD_STEP_FAILED, 2100);
  g_assert_cmpint (herald_step_list_get_state (f->steps, login), ==, HERALD_STEP_STATE_FAILED);
  g_assert_cmpstr (herald_step_list_get_status (f->steps, login), ==, "Failed after 2.1 s");
  gtk_test_accessible_assert_property (GTK_ACCESSIBLE (step_image (f, login)),
                                       GTK_ACCESSIBLE_PROPERTY_LABEL, "Failed");
  progress (f, HERALD_STAGE_AUTH, HERALD_STEP_STARTED, 0);
  progress (f, HERALD_STAGE_AUTH, HERALD_STEP_SUCCEEDED, 1);
  g_assert_cmpint (herald_step_list_get_state (f->steps, login), ==, HERALD_STEP_STATE_FAILED);

  /* Reset: back to a fresh list. */
  herald_step_list_reset (f->steps);
  for (guint i = 0; i < HERALD_N_STEPS; i++)
    {
      g_assert_cmpint (herald_step_list_get_state (f->steps, i), ==, HERALD_STEP_STATE_PENDING);
      g_assert_cmpstr (herald_step_list_get_status (f->steps, i), ==, "");
    }
}

static void
test_finish (Fixture       *f,
             gconstpointer  data)
{
  HeraldStep connect = herald_step_for_stage (HERALD_STAGE_CONNECT);
  HeraldStep login = herald_step_for_stage (HERALD_STAGE_AUTH);
  HeraldStep send = herald_step_for_stage (HERALD_STAGE_MAIL);
  g_autoptr(GError) error = g_error_new_literal (HERALD_SMTP_ERROR, HERALD_SMTP_ERROR_REJECTED,
                                                 "535 5.7.8 Authentication failed");
  g_autoptr(HeraldSmtpResult) failed = herald_smtp_result_new_failed (HERALD_STAGE_AUTH, error);
  g_autoptr(HeraldSmtpResult) passed = herald_smtp_result_new_failed (HERALD_STAGE_AUTH, error);

  passed->ok = TRUE;
  passed->stage = HERALD_STAGE_DONE;
  g_clear_error (&passed->error);

  /* A success: what still runs is done, what never ran was not needed. */
  progress (f, HERALD_STAGE_CONNECT, HERALD_STEP_SUCCEEDED, 3);
  progress (f, HERALD_STAGE_MAIL, HERALD_STEP_STARTED, 0);
  herald_step_list_finish (f->steps, passed);
  g_assert_cmpint (herald_step_list_get_state (f->steps, connect), ==, HERALD_STEP_STATE_DONE);
  g_assert_cmpint (herald_step_list_get_state (f->steps, send), ==, HERALD_STEP_STATE_DONE);
  g_assert_cmpint (herald_step_list_get_state (f->steps, login), ==, HERALD_STEP_STATE_SKIPPED);
  g_assert_cmpstr (herald_step_list_get_status (f->steps, login), ==, "Not needed");

  /* A failure: the running step failed, the steps after it stay pending. */
  herald_step_list_reset (f->steps);
  progress (f, HERALD_STAGE_CONNECT, HERALD_STEP_SUCCEEDED, 3);
  progress (f, HERALD_STAGE_AUTH, HERALD_STEP_STARTED, 0);
  herald_step_list_finish (f->steps, failed);
  g_assert_cmpint (herald_step_list_get_state (f->steps, connect), ==, HERALD_STEP_STATE_DONE);
  g_assert_cmpint (herald_step_list_get_state (f->steps, login), ==, HERALD_STEP_STATE_FAILED);
  g_assert_cmpint (herald_step_list_get_state (f->steps, send), ==, HERALD_STEP_STATE_PENDING);
}

static void
test_cancel (Fixture       *f,
             gconstpointer  data)
{
  HeraldStep connect = herald_step_for_stage (HERALD_STAGE_CONNECT);
  HeraldStep login = herald_step_for_stage (HERALD_STAGE_AUTH);
  HeraldStep send = herald_step_for_stage (HERALD_STAGE_MAIL);
  GtkWidget *image;

  /* Cancelled while logging in: the list keeps what was done and marks
   * where it stopped. */
  progress (f, HERALD_STAGE_CONNECT, HERALD_STEP_SUCCEEDED, 3);
  progress (f, HERALD_STAGE_AUTH, HERALD_STEP_STARTED, 0);
  herald_step_list_cancel (f->steps);
  g_assert_cmpint (herald_step_list_get_state (f->steps, connect), ==, HERALD_STEP_STATE_DONE);
  g_assert_cmpstr (herald_step_list_get_status (f->steps, connect), ==, "3 ms");
  g_assert_cmpint (herald_step_list_get_state (f->steps, login), ==, HERALD_STEP_STATE_CANCELLED);
  g_assert_true (g_str_has_prefix (herald_step_list_get_status (f->steps, login), "Cancelled after "));
  image = step_image (f, login);
  g_assert_true (gtk_widget_get_visible (image));
  gtk_test_accessible_assert_property (GTK_ACCESSIBLE (image), GTK_ACCESSIBLE_PROPERTY_LABEL,
                                       "Cancelled");
  g_assert_cmpint (herald_step_list_get_state (f->steps, send), ==, HERALD_STEP_STATE_PENDING);

  /* Nothing running: nothing to mark. */
  herald_step_list_reset (f->steps);
  herald_step_list_cancel (f->steps);
  for (guint i = 0; i < HERALD_N_STEPS; i++)
    g_assert_cmpint (herald_step_list_get_state (f->steps, i), ==, HERALD_STEP_STATE_PENDING);
}

static void
test_format_duration (void)
{
  struct { gint64 ms; const char *text; } cases[] = {
    { -5, "0 ms" },
    { 0, "0 ms" },
    { 999, "999 ms" },
    { 1000, "1.0 s" },
    { 2149, "2.1 s" },
    { 61000, "61.0 s" },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree char *text = herald_format_duration (cases[i].ms);

      g_assert_cmpstr (text, ==, cases[i].text);
    }
}

int
main (int   argc,
      char *argv[])
{
  gtk_test_init (&argc, &argv, NULL);
  adw_init ();

  g_test_add ("/herald/ui/step-list/initial", Fixture, NULL,
              fixture_set_up, test_initial, fixture_tear_down);
  g_test_add ("/herald/ui/step-list/progress", Fixture, NULL,
              fixture_set_up, test_progress, fixture_tear_down);
  g_test_add ("/herald/ui/step-list/finish", Fixture, NULL,
              fixture_set_up, test_finish, fixture_tear_down);
  g_test_add ("/herald/ui/step-list/cancel", Fixture, NULL,
              fixture_set_up, test_cancel, fixture_tear_down);
  g_test_add_func ("/herald/ui/step-list/format-duration", test_format_duration);

  return g_test_run ();
}
