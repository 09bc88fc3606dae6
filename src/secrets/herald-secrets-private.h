/* SPDX-License-Identifier: GPL-3.0-or-later
 * Copyright 2026 The Herald authors
 */
#pragma once

/* Shared between the files of src/secrets only. */

#include <gio/gio.h>

G_BEGIN_DECLS

/* Whether a libsecret / GDBus / GIO error means that no Secret Service can be
 * reached. Decided from the error alone: it never touches the bus. Any thread. */
gboolean _herald_secrets_is_no_service_error (const GError *error);

G_END_DECLS
