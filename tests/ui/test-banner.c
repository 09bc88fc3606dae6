/* SPDX-License-Identifier: GPL-3.0-or-later
 * Copyright 2026 The Herald authors
 */
#define G_LOG_DOMAIN "herald-test-ui"

#include "config.h"

#include <adwaita.h>

#include "herald-banner.h"
#include "herald-diagnosis.h"
#include "herald-widget-util.h"

/* The success banner on its own, in a plain window under Xvfb: what it
 * shows, its "revealed" property, its notices and its dismiss button. */

typedef struct {
  GtkWidget *window;
  GtkWidget *banner;
  guint      n_revealed_notify;
} Fixture;

static void
revealed_notify_cb (GObject    *object,
                    GParamSpec *pspec,
                    Fixture    *f)
{
  f->n_revealed_notify++;
}

static void
fixture_set_up (Fixture       *f,
                gconstpointer  data)
{
  f->banner = g_object_ref_sink (herald_banner_new ());
  f->window = gtk_window_new ();
  gtk_window_set_child (GTK_WINDOW (f->window), f->banner);
  gtk_window_present (GTK_WINDOW (f->window));
  g_signal_connect (f->banner, "notify::revealed", G_CALLBACK (revealed_notify_cb), f);
}

static void
fixture_tear_down (Fixture       *f,
                   gconstpointer  data)
{
  gtk_window_destroy (GTK_WINDOW (f->window));
  g_assert_finalize_object (f->banner);
}

/* A notice as the rules make them, with our own title and explanation. */
static HeraldDiagnosis *
make_notice (const char *title,
             const char *explanation)
{
  HeraldDiagnosis *notice = herald_diagnose_text ("535 5.7.8 Authentication failed",
                                                  HERALD_STAGE_AUTH, NULL);

  g_free (notice->title);
  notice->title = g_strdup (title);
  g_free (notice->explanation);
  notice->explanation = g_strdup (explanation);
  return notice;
}

static void
test_show_and_dismiss (Fixture       *f,
                       gconstpointer  data)
{
  HeraldBanner *banner = HERALD_BANNER (f->banner);
  g_autoptr(GPtrArray) notices = g_ptr_array_new_with_free_func ((GDestroyNotify) herald_diagnosis_free);
  g_auto(GStrv) titles = NULL;
  GtkWidget *dismiss;

  /* Hidden until there is something to say. */
  g_assert_false (herald_banner_get_revealed (banner));
  titles = herald_banner_dup_notice_titles (banner);
  g_assert_cmpuint (g_strv_length (titles), ==, 0);
  g_clear_pointer (&titles, g_strfreev);

  g_ptr_array_add (notices, make_notice ("Basic authentication ends soon", "Switch to OAuth 2.0."));
  g_ptr_array_add (notices, make_notice ("Second notice", NULL));
  herald_banner_show_success (banner, "Test email sent to admin@example.com.", notices);

  g_assert_true (herald_banner_get_revealed (banner));
  g_assert_cmpuint (f->n_revealed_notify, ==, 1);
  g_assert_cmpstr (herald_banner_get_title (banner), ==, "Test email sent to admin@example.com.");
  g_assert_nonnull (herald_test_find_widget (f->banner, GTK_TYPE_LABEL,
                                             "Test email sent to admin@example.com."));

  /* Each notice beside the text: its title and, when it has one, why. */
  titles = herald_banner_dup_notice_titles (banner);
  g_assert_cmpuint (g_strv_length (titles), ==, 2);
  g_assert_cmpstr (titles[0], ==, "Basic authentication ends soon");
  g_assert_cmpstr (titles[1], ==, "Second notice");
  g_clear_pointer (&titles, g_strfreev);
  g_assert_true (herald_test_widget_shown (herald_test_find_widget (
    f->banner, GTK_TYPE_LABEL, "Basic authentication ends soon — Switch to OAuth 2.0.")));
  g_assert_true (herald_test_widget_shown (herald_test_find_widget (f->banner, GTK_TYPE_LABEL,
                                                                    "Second notice")));

  /* A second success replaces the first, notices included; it was already
   * revealed, so "revealed" does not change. */
  herald_banner_show_success (banner, "Test email sent again.", NULL);
  g_assert_cmpstr (herald_banner_get_title (banner), ==, "Test email sent again.");
  titles = herald_banner_dup_notice_titles (banner);
  g_assert_cmpuint (g_strv_length (titles), ==, 0);
  g_clear_pointer (&titles, g_strfreev);
  g_assert_null (herald_test_find_widget (f->banner, GTK_TYPE_LABEL, "Second notice"));
  g_assert_cmpuint (f->n_revealed_notify, ==, 1);

  /* The dismiss button is named for assistive technologies and hides it. */
  dismiss = herald_test_find_widget (f->banner, GTK_TYPE_BUTTON, NULL);
  g_assert_nonnull (dismiss);
  gtk_test_accessible_assert_property (GTK_ACCESSIBLE (dismiss), GTK_ACCESSIBLE_PROPERTY_LABEL,
                                       "Dismiss");
  g_signal_emit_by_name (dismiss, "clicked");
  g_assert_false (herald_banner_get_revealed (banner));
  g_assert_cmpuint (f->n_revealed_notify, ==, 2);

  /* Dismissing a hidden banner changes nothing. */
  herald_banner_dismiss (banner);
  g_assert_false (herald_banner_get_revealed (banner));
  g_assert_cmpuint (f->n_revealed_notify, ==, 2);
}

static void
count_cb (guint *count)
{
  (*count)++;
}

static void
test_failure_details (Fixture       *f,
                      gconstpointer  data)
{
  HeraldBanner *banner = HERALD_BANNER (f->banner);
  GtkWidget *details = herald_test_find_widget (f->banner, GTK_TYPE_BUTTON, "Details");
  GtkWidget *icon = herald_test_find_widget (f->banner, GTK_TYPE_IMAGE, NULL);
  guint n_details = 0;

  g_signal_connect_swapped (banner, "details", G_CALLBACK (count_cb), &n_details);
  g_assert_nonnull (details);
  g_assert_nonnull (icon);

  /* A failure: the error style, an icon named for it, and Details. */
  herald_banner_show_failure (banner, "The test failed: The mail server rejected the login");
  g_assert_true (herald_banner_get_revealed (banner));
  g_assert_true (herald_banner_get_failed (banner));
  g_assert_cmpstr (herald_banner_get_title (banner), ==,
                   "The test failed: The mail server rejected the login");
  g_assert_true (herald_test_widget_shown (details));
  gtk_test_accessible_assert_property (GTK_ACCESSIBLE (icon), GTK_ACCESSIBLE_PROPERTY_LABEL,
                                       "Failed");
  g_assert_true (gtk_widget_has_css_class (gtk_widget_get_parent (icon), "error"));
  g_assert_false (gtk_widget_has_css_class (gtk_widget_get_parent (icon), "success"));
  g_signal_emit_by_name (details, "clicked");
  g_assert_cmpuint (n_details, ==, 1);

  /* A success afterwards has no Details. */
  herald_banner_show_success (banner, "Test email sent.", NULL);
  g_assert_false (herald_banner_get_failed (banner));
  g_assert_false (herald_test_widget_shown (details));
  gtk_test_accessible_assert_property (GTK_ACCESSIBLE (icon), GTK_ACCESSIBLE_PROPERTY_LABEL,
                                       "Success");
  g_assert_true (gtk_widget_has_css_class (gtk_widget_get_parent (icon), "success"));
  g_assert_false (gtk_widget_has_css_class (gtk_widget_get_parent (icon), "error"));
}

int
main (int   argc,
      char *argv[])
{
  gtk_test_init (&argc, &argv, NULL);
  adw_init ();

  g_test_add ("/herald/ui/banner/show-and-dismiss", Fixture, NULL,
              fixture_set_up, test_show_and_dismiss, fixture_tear_down);

  g_test_add ("/herald/ui/banner/failure-details", Fixture, NULL,
              fixture_set_up, test_failure_details, fixture_tear_down);

  return g_test_run ();
}
