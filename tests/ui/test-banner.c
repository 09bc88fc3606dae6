/* SPDX-License-Identifier: GPL-3.0-or-later
 * Copyright 2026 The Herald authors
 */
#define G_LOG_DOMAIN "herald-test-ui"

#include "config.h"

#include <math.h>
#include <string.h>
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
  /* Once folded away, its text and buttons are hidden too: no screen reader
   * reads them, no Tab stops on them. */
  {
    GtkWidget *title = herald_test_find_widget (f->banner, GTK_TYPE_LABEL,
                                                "Test email sent again.");
    gint64 end = g_get_monotonic_time () + 5 * G_TIME_SPAN_SECOND;

    while (herald_test_widget_shown (title) && g_get_monotonic_time () < end)
      {
        if (!g_main_context_iteration (NULL, FALSE))
          g_usleep (2000);
      }
    g_assert_false (herald_test_widget_shown (title));
    g_assert_false (herald_test_widget_shown (dismiss));
  }

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

/* WCAG 2 relative luminance of an sRGB colour, and the contrast ratio. */
static double
linear (guint8 value)
{
  double c = value / 255.0;

  return c <= 0.03928 ? c / 12.92 : pow ((c + 0.055) / 1.055, 2.4);
}

static double
luminance (const guint8 *bgra)
{
  return 0.2126 * linear (bgra[2]) + 0.7152 * linear (bgra[1]) + 0.0722 * linear (bgra[0]);
}

static double
contrast (double a,
          double b)
{
  return (MAX (a, b) + 0.05) / (MIN (a, b) + 0.05);
}

static gboolean
laid_out (gpointer data)
{
  Fixture *f = data;
  GtkWidget *title = herald_test_find_widget (f->banner, GTK_TYPE_LABEL,
                                              "Test email sent to admin@example.com.");

  return title != NULL && gtk_widget_get_mapped (title) && gtk_widget_get_width (title) > 0 &&
         gtk_revealer_get_child_revealed (GTK_REVEALER (gtk_widget_get_first_child (f->banner)));
}

static void
iterate (guint ms)
{
  gint64 end = g_get_monotonic_time () + ms * G_TIME_SPAN_MILLISECOND;

  while (g_get_monotonic_time () < end)
    {
      if (!g_main_context_iteration (NULL, FALSE))
        g_usleep (2000);
    }
}

/* The banner as drawn, with the app's style sheet, read back pixel by pixel:
 * within the title's box the commonest colour is the background and the
 * colour farthest from it the text; their contrast must meet WCAG AA for
 * normal text (4.5:1) in the light and the dark style. */
static void
test_contrast (Fixture       *f,
               gconstpointer  data)
{
  AdwStyleManager *style = adw_style_manager_get_default ();
  g_autoptr(GtkCssProvider) css = gtk_css_provider_new ();
  const AdwColorScheme schemes[] = { ADW_COLOR_SCHEME_FORCE_LIGHT, ADW_COLOR_SCHEME_FORCE_DARK };

  gtk_css_provider_load_from_resource (css, "/io/github/heraldmail/Herald/style.css");
  gtk_style_context_add_provider_for_display (gtk_widget_get_display (f->window),
                                              GTK_STYLE_PROVIDER (css),
                                              GTK_STYLE_PROVIDER_PRIORITY_APPLICATION);
  herald_banner_show_success (HERALD_BANNER (f->banner), "Test email sent to admin@example.com.",
                              NULL);

  for (guint i = 0; i < G_N_ELEMENTS (schemes); i++)
    {
      g_autoptr(GdkPaintable) paintable = gtk_widget_paintable_new (f->banner);
      g_autoptr(GtkSnapshot) snapshot = gtk_snapshot_new ();
      g_autoptr(GskRenderNode) node = NULL;
      g_autoptr(GdkTexture) texture = NULL;
      g_autoptr(GHashTable) counts = g_hash_table_new (NULL, NULL);
      g_autofree guint8 *pixels = NULL;
      GtkWidget *title;
      graphene_rect_t box;
      int width, height;
      gsize stride;
      guint32 background = 0;
      guint best = 0;
      double bg_luminance, ratio = 0;

      adw_style_manager_set_color_scheme (style, schemes[i]);
      {
        gint64 end = g_get_monotonic_time () + 5 * G_TIME_SPAN_SECOND;

        while (!laid_out (f) && g_get_monotonic_time () < end)
          iterate (20);
      }
      g_assert_true (laid_out (f));
      iterate (200);
      g_assert_cmpint (adw_style_manager_get_dark (style), ==,
                       schemes[i] == ADW_COLOR_SCHEME_FORCE_DARK);

      width = gtk_widget_get_width (f->banner);
      height = gtk_widget_get_height (f->banner);
      gdk_paintable_snapshot (paintable, GDK_SNAPSHOT (snapshot), width, height);
      node = gtk_snapshot_free_to_node (g_steal_pointer (&snapshot));
      g_assert_nonnull (node);
      texture = gsk_renderer_render_texture (gtk_native_get_renderer (GTK_NATIVE (f->window)),
                                             node, &GRAPHENE_RECT_INIT (0, 0, width, height));
      stride = (gsize) width * 4;
      pixels = g_malloc (stride * height);
      gdk_texture_download (texture, pixels, stride);

      title = herald_test_find_widget (f->banner, GTK_TYPE_LABEL,
                                       "Test email sent to admin@example.com.");
      g_assert_true (gtk_widget_compute_bounds (title, f->banner, &box));
      for (int y = MAX (0, (int) box.origin.y); y < MIN (height, (int) (box.origin.y + box.size.height)); y++)
        for (int x = MAX (0, (int) box.origin.x); x < MIN (width, (int) (box.origin.x + box.size.width)); x++)
          {
            guint32 pixel;
            guint count;

            memcpy (&pixel, pixels + y * stride + x * 4, 4);
            count = GPOINTER_TO_UINT (g_hash_table_lookup (counts, GUINT_TO_POINTER (pixel))) + 1;
            g_hash_table_insert (counts, GUINT_TO_POINTER (pixel), GUINT_TO_POINTER (count));
            if (count > best)
              {
                best = count;
                background = pixel;
              }
          }
      g_assert_cmpuint (best, >, 0);
      bg_luminance = luminance ((const guint8 *) &background);
      {
        GHashTableIter iter;
        gpointer key;

        g_hash_table_iter_init (&iter, counts);
        while (g_hash_table_iter_next (&iter, &key, NULL))
          {
            guint32 pixel = GPOINTER_TO_UINT (key);

            ratio = MAX (ratio, contrast (bg_luminance, luminance ((const guint8 *) &pixel)));
          }
      }
      g_test_message ("%s style: background %08x, text contrast %.2f:1",
                      schemes[i] == ADW_COLOR_SCHEME_FORCE_DARK ? "dark" : "light",
                      background, ratio);
      g_assert_cmpfloat (ratio, >=, 4.5);
    }

  adw_style_manager_set_color_scheme (style, ADW_COLOR_SCHEME_DEFAULT);
  gtk_style_context_remove_provider_for_display (gtk_widget_get_display (f->window),
                                                 GTK_STYLE_PROVIDER (css));
}

int
main (int   argc,
      char *argv[])
{
  gtk_test_init (&argc, &argv, NULL);
  adw_init ();

  g_test_add ("/herald/ui/banner/show-and-dismiss", Fixture, NULL,
              fixture_set_up, test_show_and_dismiss, fixture_tear_down);

  g_test_add ("/herald/ui/banner/contrast", Fixture, NULL,
              fixture_set_up, test_contrast, fixture_tear_down);
  g_test_add ("/herald/ui/banner/failure-details", Fixture, NULL,
              fixture_set_up, test_failure_details, fixture_tear_down);

  return g_test_run ();
}
