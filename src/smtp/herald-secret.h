/* SPDX-License-Identifier: GPL-3.0-or-later
 * Copyright 2026 The Herald authors
 */
#pragma once

/* The one way Herald wipes a secret (password, token, SASL payload, a
 * buffer that held one) before its memory goes back to the heap. In the
 * engine, the lowest layer, so that every other part can use it. */

#include <glib.h>

G_BEGIN_DECLS

/* Zeroes @length bytes at @data with a write the compiler may not drop as
 * dead (explicit_bzero), even right before the memory is freed. NULL is fine. */
void herald_secret_wipe        (gpointer  data,
                                gsize     length);
/* Zeroes a NUL-terminated string in place (up to its NUL). NULL is fine. */
void herald_secret_wipe_string (char     *secret);
/* Wipes and frees a string. NULL is fine. */
void herald_secret_free        (char     *secret);

/* A string that is a secret: g_autoptr(HeraldSecret) wipes it when it goes
 * out of scope. It is a plain char array: pass it wherever a char * goes. */
typedef char HeraldSecret;
G_DEFINE_AUTOPTR_CLEANUP_FUNC (HeraldSecret, herald_secret_free)

G_END_DECLS
