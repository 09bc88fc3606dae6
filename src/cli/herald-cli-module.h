/* SPDX-License-Identifier: GPL-3.0-or-later
 * Copyright 2026 The Herald authors
 */
#pragma once

#include <gmodule.h>

G_BEGIN_DECLS

/* Opens heraldctl's OAuth module at @path with every symbol resolved at once,
 * and checks that it was built against the same interface (@abi, the
 * HERALD_CLI_ABI of the caller; the module's herald_cli_oauth_abi() must
 * return the same). Returns the module, or NULL with *@error_message set to
 * a sentence for the user (free it). */
GModule *_herald_cli_open_module (const char  *path,
                                  const char  *abi,
                                  char       **error_message) G_GNUC_WARN_UNUSED_RESULT;

G_END_DECLS
