/* SPDX-License-Identifier: GPL-3.0-or-later
 * Copyright 2026 The Herald authors
 */
#pragma once

/* The one way Herald writes JSON. Every `--json` output of every command goes
 * through herald_json_to_string(), because json-glib 1.6's generator leaves
 * U+001F unescaped and copies invalid UTF-8 as it is, and the strings we print
 * carry text from servers, certificates and pasted logs. */

#include <json-glib/json-glib.h>

G_BEGIN_DECLS

/* Serialises @node as one line (@pretty = FALSE) or indented by two spaces,
 * in json-glib's layout. The result is always valid UTF-8 and valid JSON
 * (RFC 8259): every control character (C0, DEL, C1) and every bidirectional
 * or line-separator control (U+061C, U+200E/F, U+2028/9, U+202A–E,
 * U+2066–9) is written as a \u escape, so the output can also be printed on
 * a terminal as it is; bytes that are not valid UTF-8 become U+FFFD. */
char *herald_json_to_string (JsonNode *node,
                             gboolean  pretty) G_GNUC_WARN_UNUSED_RESULT;

/* Appends @str (of @length bytes, or NUL-terminated when -1) to @out as a
 * quoted JSON string, escaped as herald_json_to_string() does. */
void  herald_json_append_string (GString    *out,
                                 const char *str,
                                 gssize      length);

G_END_DECLS
