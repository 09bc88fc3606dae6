/* SPDX-License-Identifier: GPL-3.0-or-later
 * Copyright 2026 The Herald authors
 */
#pragma once

#include <adwaita.h>

G_BEGIN_DECLS

#define HERALD_TYPE_APPLICATION (herald_application_get_type ())

G_DECLARE_FINAL_TYPE (HeraldApplication, herald_application, HERALD, APPLICATION, AdwApplication)

HeraldApplication *herald_application_new (void);

G_END_DECLS
