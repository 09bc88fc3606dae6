/* SPDX-License-Identifier: GPL-3.0-or-later
 * Copyright 2026 The Herald authors
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* "true"/"false", "yes"/"no", "on"/"off", "1"/"0" (any case). */
gboolean _herald_profile_parse_boolean (const char *text,
                                        gboolean   *out);

/* The window's per-field checks for one setting's text (after the schema's
 * own range and choices): no line breaks in any text, a host name without
 * spaces or slashes, valid addresses in from/to/cc/local-recipients. The
 * engine's field checks do the line-break part, so the window, heraldctl
 * and the engine refuse the same values. Keys without a rule pass. */
gboolean _herald_profile_check_field   (const char  *key,
                                        const char  *text,
                                        GError     **error);

G_END_DECLS
