/* SPDX-License-Identifier: GPL-3.0-or-later
 * Copyright 2026 The Herald authors
 */
#pragma once

#include <adwaita.h>

#include "herald-application.h"

G_BEGIN_DECLS

#define HERALD_TYPE_WINDOW (herald_window_get_type ())

G_DECLARE_FINAL_TYPE (HeraldWindow, herald_window, HERALD, WINDOW, AdwApplicationWindow)

HeraldWindow *herald_window_new (HeraldApplication *application);

G_END_DECLS
