/* SPDX-License-Identifier: GPL-3.0-or-later
 * Copyright 2026 The Herald authors
 */

/* The renderer policy (src/ui/herald-renderer.c): with a software GL
 * rasteriser and no GSK_RENDERER, Herald's windows use cairo; a GSK_RENDERER
 * the user set is never overridden; a hardware GL keeps GTK's default.
 *
 * The suite's Xvfb renders GL with Mesa's llvmpipe. GTK 4.8 reads
 * GSK_RENDERER once per process, at the first renderer it creates, so each
 * case runs the app in a subprocess of its own with its own environment.
 * There is no hardware GL here: for that case the policy is handed a
 * hardware GL_RENDERER string, which is all it looks at, before the app
 * starts. */

#define G_LOG_DOMAIN "herald-test"

#include "config.h"

#include <adwaita.h>
#include <gsk/gl/gskglrenderer.h>

#include "herald-application.h"
#include "herald-renderer.h"
#include "herald-window.h"

static gboolean
wait_until_mapped (GtkWidget *widget)
{
  gint64 deadline = g_get_monotonic_time () + 10 * G_USEC_PER_SEC;

  while (!gtk_widget_get_mapped (widget) && g_get_monotonic_time () < deadline)
    g_main_context_iteration (NULL, FALSE);

  return gtk_widget_get_mapped (widget);
}

/* Runs the application as main() does up to its window: register (which runs
 * startup), activate, then the window is realized and mapped. Returns the
 * type of the window's renderer, and of a second toplevel (the About window)
 * made after it, which must agree. */
static GType
app_window_renderer_type (void)
{
  g_autoptr(HeraldApplication) application = herald_application_new ();
  g_autoptr(GError) error = NULL;
  GtkWindow *window;
  GskRenderer *renderer;
  GtkWindow *about = NULL;
  GListModel *toplevels;
  GType type;

  g_application_set_flags (G_APPLICATION (application), G_APPLICATION_NON_UNIQUE);
  g_application_register (G_APPLICATION (application), NULL, &error);
  g_assert_no_error (error);
  g_application_activate (G_APPLICATION (application));

  window = gtk_application_get_active_window (GTK_APPLICATION (application));
  g_assert_true (HERALD_IS_WINDOW (window));
  g_assert_true (wait_until_mapped (GTK_WIDGET (window)));
  renderer = gtk_native_get_renderer (GTK_NATIVE (window));
  g_assert_nonnull (renderer);
  type = G_OBJECT_TYPE (renderer);
  g_test_message ("Herald's window renders with %s", g_type_name (type));

  /* Dialogs are windows of their own, with a renderer of their own. */
  g_action_group_activate_action (G_ACTION_GROUP (application), "about", NULL);
  toplevels = gtk_window_get_toplevels ();
  for (guint i = 0; i < g_list_model_get_n_items (toplevels); i++)
    {
      g_autoptr(GtkWindow) w = g_list_model_get_item (toplevels, i);

      if (ADW_IS_ABOUT_WINDOW (w))
        about = w;
    }
  g_assert_nonnull (about);
  g_assert_true (wait_until_mapped (GTK_WIDGET (about)));
  g_assert_cmpstr (G_OBJECT_TYPE_NAME (gtk_native_get_renderer (GTK_NATIVE (about))), ==,
                   g_type_name (type));

  gtk_window_destroy (about);
  gtk_window_destroy (window);
  while (g_main_context_iteration (NULL, FALSE))
    ;
  return type;
}

static void
set_or_unset (const char *name,
              const char *value)
{
  if (value != NULL)
    g_setenv (name, value, TRUE);
  else
    g_unsetenv (name);
}

/* Runs the current test again in a fresh process with GSK_RENDERER as
 * given (NULL: unset), set here so that it is there before the child starts,
 * and put back afterwards. */
static void
run_in_subprocess (const char *gsk_renderer)
{
  g_autofree char *saved = g_strdup (g_getenv ("GSK_RENDERER"));

  set_or_unset ("GSK_RENDERER", gsk_renderer);
  g_test_trap_subprocess (NULL, 60 * G_USEC_PER_SEC, G_TEST_SUBPROCESS_INHERIT_STDERR);
  set_or_unset ("GSK_RENDERER", saved);
  g_test_trap_assert_passed ();
}

static void
test_software_names (void)
{
  /* Mesa's software rasterisers... */
  g_assert_true (_herald_gl_renderer_is_software ("llvmpipe (LLVM 15.0.6, 256 bits)"));
  g_assert_true (_herald_gl_renderer_is_software ("softpipe"));
  g_assert_true (_herald_gl_renderer_is_software ("Software Rasterizer"));
  /* ...and hardware, including a VM's GPU passed through virgl. */
  g_assert_false (_herald_gl_renderer_is_software ("Mesa Intel(R) UHD Graphics 620 (KBL GT2)"));
  g_assert_false (_herald_gl_renderer_is_software ("AMD Radeon RX 6600 (navi23, LLVM 15.0.6, "
                                                   "DRM 3.49, 6.1.0-13-amd64)"));
  g_assert_false (_herald_gl_renderer_is_software ("NVIDIA GeForce GTX 1650/PCIe/SSE2"));
  g_assert_false (_herald_gl_renderer_is_software ("virgl (Mesa Intel(R) UHD Graphics 620)"));
  g_assert_false (_herald_gl_renderer_is_software (""));
  g_assert_false (_herald_gl_renderer_is_software (NULL));
}

/* The premise of the next tests: this display's GL is llvmpipe. And the
 * quick GLX query (no context) names the same GL as a context does. */
static void
test_suite_gl_is_software (void)
{
  GdkDisplay *display = gdk_display_get_default ();
  g_autofree char *from_context = _herald_renderer_gl_renderer_from_context (display);
  g_autofree char *from_glx = _herald_renderer_gl_renderer_from_glx (display);

  g_test_message ("GL_RENDERER: %s", from_context ? from_context : "(no GL)");
  g_assert_nonnull (from_context);
  g_assert_true (_herald_gl_renderer_is_software (from_context));
  /* Xvfb: GDK renders through GLX, which is Mesa's. */
  g_assert_cmpstr (from_glx, ==, from_context);
}

static void
test_software_gl_uses_cairo (void)
{
  if (g_test_subprocess ())
    {
      g_assert_true (app_window_renderer_type () == GSK_TYPE_CAIRO_RENDERER);
      g_assert_cmpint (herald_renderer_ensure (gdk_display_get_default ()), ==,
                       HERALD_RENDERER_CHOICE_CAIRO);
      return;
    }
  run_in_subprocess (NULL);
}

static void
test_user_gl_is_kept (void)
{
  if (g_test_subprocess ())
    {
      g_assert_true (app_window_renderer_type () == GSK_TYPE_GL_RENDERER);
      g_assert_cmpint (herald_renderer_ensure (gdk_display_get_default ()), ==,
                       HERALD_RENDERER_CHOICE_USER);
      return;
    }
  run_in_subprocess ("gl");
}

static void
test_hardware_gl_is_kept (void)
{
  if (g_test_subprocess ())
    {
      GdkDisplay *display = gdk_display_get_default ();
      const char *hardware = "Mesa Intel(R) UHD Graphics 620 (KBL GT2)";

      g_assert_cmpint (_herald_renderer_choose (display, hardware), ==,
                       HERALD_RENDERER_CHOICE_DEFAULT);
      /* The app's own check later keeps that decision, and GTK its GL. */
      g_assert_true (app_window_renderer_type () == GSK_TYPE_GL_RENDERER);
      g_assert_cmpint (herald_renderer_ensure (display), ==, HERALD_RENDERER_CHOICE_DEFAULT);
      return;
    }
  run_in_subprocess (NULL);
}

int
main (int   argc,
      char *argv[])
{
  gtk_test_init (&argc, &argv, NULL);
  adw_init ();

  g_test_add_func ("/herald/ui/renderer/software-names", test_software_names);
  g_test_add_func ("/herald/ui/renderer/suite-gl-is-software", test_suite_gl_is_software);
  g_test_add_func ("/herald/ui/renderer/software-gl-uses-cairo", test_software_gl_uses_cairo);
  g_test_add_func ("/herald/ui/renderer/user-gsk-renderer-kept", test_user_gl_is_kept);
  g_test_add_func ("/herald/ui/renderer/hardware-gl-kept", test_hardware_gl_is_kept);

  return g_test_run ();
}
