/* SPDX-License-Identifier: GPL-3.0-or-later
 * Copyright 2026 The Herald authors
 */
#pragma once

/* What the window's classes share inside src/ui and nothing outside needs. */

#include <glib.h>

G_BEGIN_DECLS

/* Registers the window's GResource (templates, styles, shortcuts, the OAuth
 * group). Every class with a template calls it in class_init, so a widget
 * made without the application (the widget tests) finds its template too;
 * safe to call more than once. */
void _herald_ui_ensure_resources (void);

G_END_DECLS
