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

/* The GL_RENDERER string of the GL implementation GTK would render with on
 * @display, or NULL when GDK has no GL there (then GTK uses cairo anyway).
 * GDK 4.8 has opened GL for the display already (it needs it to pick the
 * X visual), so this costs one more context made current once. */
char *
_herald_renderer_get_gl_renderer (GdkDisplay *display)
{
  g_autoptr(GdkGLContext) context = NULL;
  g_autoptr(GError) error = NULL;
  const char *name;
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
  name = (const char *) glGetString (GL_RENDERER);
  result = g_strdup (name);
  gdk_gl_context_clear_current ();

  return result;
}

/* Decides once per display, before its first window is realized (GTK reads
 * the choice when it creates a window's renderer). Runs on the GTK thread. */
HeraldRendererChoice
herald_renderer_ensure (GdkDisplay *display)
{
  g_autofree char *gl_renderer = NULL;
  HeraldRendererChoice choice;
  const char *user;
  gpointer known;

  g_return_val_if_fail (GDK_IS_DISPLAY (display), HERALD_RENDERER_CHOICE_DEFAULT);

  known = g_object_get_data (G_OBJECT (display), CHOICE_KEY);
  if (known != NULL)
    return GPOINTER_TO_INT (known) - 1;

  user = g_getenv ("GSK_RENDERER");
  if (user != NULL && *user != '\0')
    {
      g_debug ("Renderer: GSK_RENDERER=%s set, leaving the choice to GTK", user);
      choice = HERALD_RENDERER_CHOICE_USER;
    }
  else if (g_object_get_data (G_OBJECT (display), "gsk-renderer") != NULL)
    {
      g_debug ("Renderer: this display has its renderer chosen already");
      choice = HERALD_RENDERER_CHOICE_USER;
    }
  else
    {
      gl_renderer = _herald_renderer_get_gl_renderer (display);
      if (_herald_gl_renderer_is_software (gl_renderer))
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
    }

  g_object_set_data (G_OBJECT (display), CHOICE_KEY, GINT_TO_POINTER (choice + 1));
  return choice;
}
