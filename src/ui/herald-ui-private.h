/* SPDX-License-Identifier: GPL-3.0-or-later
 * Copyright 2026 The Herald authors
 */
#pragma once

/* What the window's classes share inside src/ui and nothing outside needs. */

#include <gio/gio.h>

G_BEGIN_DECLS

/* Registers the window's GResource (templates, styles, shortcuts, the OAuth
 * group). Every class with a template calls it in class_init, so a widget
 * made without the application (the widget tests) finds its template too;
 * safe to call more than once. */
void _herald_ui_ensure_resources (void);

/* A weak reference for an asynchronous call's user data: a group closed while
 * its worker thread runs goes away at once, and the answer finds nobody. */
GWeakRef    *_herald_ui_weak_ref_new       (gpointer          object);
/* The object (a new reference, or NULL when it is gone); frees @ref. */
gpointer     _herald_ui_weak_ref_steal     (GWeakRef         *ref);

/* Runs @load (@owner) once, a moment after the first of a burst of calls:
 * a flush or a relayed message touches several files at once. *@source_id
 * is the pending source (0 when none); the owner removes it on dispose. */
void         _herald_ui_reload_soon        (guint            *source_id,
                                            void            (*load) (gpointer owner),
                                            gpointer          owner);

/* Watches @path (a directory, with moves) and calls @changed_cb on @owner
 * while @owner lives; NULL when it cannot be watched. */
GFileMonitor *_herald_ui_monitor_directory (const char       *path,
                                            GCallback         changed_cb,
                                            gpointer          owner);
/* Cancels and clears *@monitor, as a dispose does. */
void         _herald_ui_monitor_stop       (GFileMonitor    **monitor);

G_END_DECLS
