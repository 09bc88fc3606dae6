/* SPDX-License-Identifier: GPL-3.0-or-later
 * Copyright 2026 The Herald authors
 */
#pragma once

#include <gtk/gtk.h>

G_BEGIN_DECLS

typedef enum
{
  HERALD_RENDERER_CHOICE_DEFAULT,  /* GTK's own choice: hardware GL, or no GL at all */
  HERALD_RENDERER_CHOICE_USER,     /* GSK_RENDERER is set: the user's choice stands */
  HERALD_RENDERER_CHOICE_CAIRO,    /* GL is a software rasteriser: cairo instead */
} HeraldRendererChoice;

HeraldRendererChoice herald_renderer_ensure (GdkDisplay *display);

/* Internal, for the tests. */
gboolean             _herald_gl_renderer_is_software            (const char *gl_renderer);
G_GNUC_WARN_UNUSED_RESULT
char                *_herald_renderer_gl_renderer_from_context  (GdkDisplay *display);
G_GNUC_WARN_UNUSED_RESULT
char                *_herald_renderer_gl_renderer_from_glx      (GdkDisplay *display);
HeraldRendererChoice _herald_renderer_choose                    (GdkDisplay *display,
                                                                 const char *gl_renderer);

G_END_DECLS
