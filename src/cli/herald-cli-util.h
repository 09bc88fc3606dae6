/* SPDX-License-Identifier: GPL-3.0-or-later
 * Copyright 2026 The Herald authors
 */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

/* Helpers shared by the heraldctl commands. */

int        _herald_cli_parse_options  (const char          *command,
                                       const char          *summary,
                                       const char          *description,
                                       const GOptionEntry  *entries,
                                       int                 *argc,
                                       char              ***argv);
int        _herald_cli_usage_error    (const char  *command,
                                       const char  *format,
                                       ...) G_GNUC_PRINTF (2, 3);
GSettings *_herald_cli_open_settings  (char       **why) G_GNUC_WARN_UNUSED_RESULT;
char      *_herald_cli_setting_string (GSettings   *settings,
                                       const char  *key) G_GNUC_WARN_UNUSED_RESULT;
char      *_herald_cli_option_or_setting (const char *option,
                                          GSettings  *settings,
                                          const char *key) G_GNUC_WARN_UNUSED_RESULT;

G_END_DECLS
