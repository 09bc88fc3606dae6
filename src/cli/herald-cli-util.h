/* SPDX-License-Identifier: GPL-3.0-or-later
 * Copyright 2026 The Herald authors
 */
#pragma once

#include <gio/gio.h>

#include "herald-secret.h"

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
/* The settings to fall back on: the GSettings of the profile a command
 * opened (_herald_cli_set_settings()), else the desktop's. */
GSettings *_herald_cli_open_settings  (char       **why) G_GNUC_WARN_UNUSED_RESULT;
void       _herald_cli_set_settings   (GSettings   *settings);
/* The password saved for @host, @port and @username: in the credential
 * store of the profile set with _herald_cli_set_password_lookup() (heraldctl
 * test --system: root's store), else in the keyring. */
typedef char *(*HeraldCliPasswordLookup) (const char    *host,
                                          guint16        port,
                                          const char    *username,
                                          GCancellable  *cancellable,
                                          GError       **error);
void       _herald_cli_set_password_lookup (HeraldCliPasswordLookup lookup);
char      *_herald_cli_password_lookup (const char    *host,
                                        guint16        port,
                                        const char    *username,
                                        GCancellable  *cancellable,
                                        GError       **error) G_GNUC_WARN_UNUSED_RESULT;
/* Where login and logout keep the OAuth tokens, for their messages: NULL
 * for the keyring (the default), else a phrase that names root's store, e.g.
 * "/var/lib/herald, encrypted with the host key" (login --system). */
void        _herald_cli_set_token_place (const char *place);
const char *_herald_cli_get_token_place (void);
char      *_herald_cli_setting_string (GSettings   *settings,
                                       const char  *key) G_GNUC_WARN_UNUSED_RESULT;
char      *_herald_cli_option_or_setting (const char *option,
                                          GSettings  *settings,
                                          const char *key) G_GNUC_WARN_UNUSED_RESULT;

/* Reads one secret line from standard input with read(2), a byte at a time,
 * so that no copy stays in a stdio buffer and nothing after the line is
 * consumed; strips the line end (LF or CRLF). The line is read into one
 * buffer of max_length + 1 bytes that is never reallocated. Errors (the
 * buffer wiped first): G_IO_ERROR_INVALID_DATA when the line is empty (or
 * standard input is), longer than max_length bytes or holds a NUL byte,
 * with a message naming @option (e.g. "--client-secret-stdin") and @what
 * (e.g. "client secret"); other G_IO_ERRORs when reading fails. Free the
 * result with herald_secret_free(). */
char      *_herald_cli_read_secret_line_raw (const char  *option,
                                             const char  *what,
                                             gsize        max_length,
                                             GError     **error) G_GNUC_WARN_UNUSED_RESULT;
/* The engine's herald_secret_free() (herald-secret.h), under the name
 * heraldctl's code used before there was one helper for all of Herald. */
#define _herald_cli_secret_free herald_secret_free

G_END_DECLS
