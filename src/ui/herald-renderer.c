/* SPDX-License-Identifier: GPL-3.0-or-later
 * Copyright 2026 The Herald authors
 */

/* Which GSK renderer Herald's windows use.
 *
 * GTK 4.8 picks its GL renderer whenever GL works, even when GL is Mesa's
 * software rasteriser (llvmpipe, softpipe, swrast): VMs, VNC/RDP sessions and
 * Xvfb, where many of the administrators Herald is for work. There the GL
 * renderer repaints the whole window for every changed frame and the GTK
 * thread waits for the llvmpipe threads (tens of ms per spinner frame, see
 * bench/window-bench.sh), while the cairo renderer draws the same frames in
 * a millisecond or two. GTK 4.14 made the same call ("gsk: Don't use gpu
 * renderers with llvmpipe", GTK 4.13.8): this backports that policy.
 *
 * How: GTK 4.8 reads GSK_RENDERER only once per process, and setting it
 * would leak into every program Herald starts (the browser for OAuth), so
 * instead the display carries the choice, in the "gsk-renderer" data that
 * gsk_renderer_new_for_surface() consults first for every new surface (the
 * same key in GTK 4.0 to 4.18; GtkInspector uses it). That key is consulted
 * before GSK_RENDERER, so it is only set when GSK_RENDERER is not. */

#define G_LOG_DOMAIN "herald-ui"

#include "config.h"

#include <string.h>
#include <epoxy/gl.h>

#include "herald-renderer.h"

#ifdef GDK_WINDOWING_X11
#include <epoxy/glx.h>
#include <gdk/x11/gdkx.h>
#endif

#define CHOICE_KEY "herald-renderer-choice"

/* Mesa's names for its software rasterisers in GL_RENDERER:
 * "llvmpipe (LLVM 15.0.6, 256 bits)", "softpipe", and the old classic
 * "Software Rasterizer" (swrast). */
static const char * const software_names[] = {
  "llvmpipe",
  "softpipe",
  "software rasterizer",
  "swrast",
};

gboolean
_herald_gl_renderer_is_software (const char *gl_renderer)
{
  g_autofree char *lower = NULL;

  if (gl_renderer == NULL)
    return FALSE;

  lower = g_ascii_strdown (gl_renderer, -1);
  for (guint i = 0; i < G_N_ELEMENTS (software_names); i++)
    if (strstr (lower, software_names[i]) != NULL)
      return TRUE;

  return FALSE;
}

/* The GL_RENDERER string of a GL context on @display, made current once;
 * NULL without GL. GDK 4.8 has set up GL for the display when it opened it
 * (it needs GL to pick the X visual), so this costs one more context, made
 * current once (what that costs on llvmpipe: bench/results). */
char *
_herald_renderer_gl_renderer_from_context (GdkDisplay *display)
{
  g_autoptr(GdkGLContext) context = NULL;
  g_autoptr(GError) error = NULL;
  char *result;

  g_return_val_if_fail (GDK_IS_DISPLAY (display), NULL);

  if (!gdk_display_prepare_gl (display, &error))
    {
      g_debug ("Renderer: no GL on this display (%s)", error->message);
      return NULL;
    }

  context = gdk_display_create_gl_context (display, &error);
  if (context == NULL || !gdk_gl_context_realize (context, &error))
    {
      g_debug ("Renderer: cannot create a GL context (%s)", error->message);
      return NULL;
    }

  gdk_gl_context_make_current (context);
  result = g_strdup ((const char *) glGetString (GL_RENDERER));
  gdk_gl_context_clear_current ();

  return result;
}

/* The same string without a context, in a tenth of a millisecond, where GDK
 * renders through GLX (X11 without EGL, as on Xvfb) and the GLX is Mesa's:
 * GLX_MESA_query_renderer's GLX_RENDERER_DEVICE_ID_MESA is what Mesa also
 * returns as GL_RENDERER. NULL when that does not apply. */
char *
_herald_renderer_gl_renderer_from_glx (GdkDisplay *display)
{
#ifdef GDK_WINDOWING_X11
  g_autoptr(GError) error = NULL;
  Display *xdisplay;
  int screen;
  const char *name;

  g_return_val_if_fail (GDK_IS_DISPLAY (display), NULL);

  if (!GDK_IS_X11_DISPLAY (display) || !gdk_display_prepare_gl (display, &error))
    return NULL;
  /* GDK renders with EGL when it has an EGL display, and then GLX may be
   * another implementation than the one GTK would use. */
  if (gdk_x11_display_get_egl_display (display) != NULL)
    return NULL;

  xdisplay = gdk_x11_display_get_xdisplay (display);
  screen = gdk_x11_screen_get_screen_number (gdk_x11_display_get_screen (display));
  if (!epoxy_has_glx_extension (xdisplay, screen, "GLX_MESA_query_renderer"))
    return NULL;

  name = glXQueryRendererStringMESA (xdisplay, screen, 0, GLX_RENDERER_DEVICE_ID_MESA);
  return g_strdup (name);
#else
  return NULL;
#endif
}

/* The GL_RENDERER string of the GL implementation GTK would render with on
 * @display, or NULL when GDK has no GL there (then GTK uses cairo anyway). */
static char *
get_gl_renderer (GdkDisplay *display)
{
  char *gl_renderer = _herald_renderer_gl_renderer_from_glx (display);

  if (gl_renderer != NULL)
    return gl_renderer;

  return _herald_renderer_gl_renderer_from_context (display);
}

/* Why the choice is not ours to make, or NULL: the user set GSK_RENDERER
 * (which GTK reads after the display's choice), or the display has a
 * renderer chosen already. */
static const char *
preset_reason (GdkDisplay *display)
{
  const char *user = g_getenv ("GSK_RENDERER");

  if (user != NULL && *user != '\0')
    return "GSK_RENDERER is set";
  if (g_object_get_data (G_OBJECT (display), "gsk-renderer") != NULL)
    return "this display has its renderer chosen already";
  return NULL;
}

/* The policy, given the GL_RENDERER string (NULL: no GL). Sets the display's
 * renderer to cairo for a software rasteriser unless GSK_RENDERER is set. */
HeraldRendererChoice
_herald_renderer_choose (GdkDisplay *display,
                         const char *gl_renderer)
{
  HeraldRendererChoice choice;
  const char *preset;

  g_return_val_if_fail (GDK_IS_DISPLAY (display), HERALD_RENDERER_CHOICE_DEFAULT);

  preset = preset_reason (display);
  if (preset != NULL)
    {
      g_debug ("Renderer: %s, leaving the choice to GTK", preset);
      choice = HERALD_RENDERER_CHOICE_USER;
    }
  else if (_herald_gl_renderer_is_software (gl_renderer))
    {
      g_debug ("Renderer: GL is a software rasteriser (%s), using cairo", gl_renderer);
      g_object_set_data (G_OBJECT (display), "gsk-renderer", (gpointer) "cairo");
      choice = HERALD_RENDERER_CHOICE_CAIRO;
    }
  else
    {
      g_debug ("Renderer: GL is %s, leaving the choice to GTK",
               gl_renderer != NULL ? gl_renderer : "not available");
      choice = HERALD_RENDERER_CHOICE_DEFAULT;
    }

  g_object_set_data (G_OBJECT (display), CHOICE_KEY, GINT_TO_POINTER (choice + 1));
  return choice;
}

/* Decides once per display, before its first window is realized (GTK reads
 * the choice when it creates a window's renderer). Runs on the GTK thread. */
HeraldRendererChoice
herald_renderer_ensure (GdkDisplay *display)
{
  g_autofree char *gl_renderer = NULL;
  HeraldRendererChoice choice;
  gpointer known;
  gint64 start;

  g_return_val_if_fail (GDK_IS_DISPLAY (display), HERALD_RENDERER_CHOICE_DEFAULT);

  known = g_object_get_data (G_OBJECT (display), CHOICE_KEY);
  if (known != NULL)
    return GPOINTER_TO_INT (known) - 1;

  start = g_get_monotonic_time ();
  /* Only look at GL when the answer can matter. */
  if (preset_reason (display) == NULL)
    gl_renderer = get_gl_renderer (display);
  choice = _herald_renderer_choose (display, gl_renderer);
  g_debug ("Renderer: decided in %.2f ms", (g_get_monotonic_time () - start) / 1000.0);

  return choice;
}
