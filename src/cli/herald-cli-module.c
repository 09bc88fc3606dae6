/* SPDX-License-Identifier: GPL-3.0-or-later
 * Copyright 2026 The Herald authors
 */
#define G_LOG_DOMAIN "herald-cli"

#include "config.h"

#include <glib/gi18n.h>

#include "herald-cli-module.h"

GModule *
_herald_cli_open_module (const char  *path,
                         const char  *abi,
                         char       **error_message)
{
  const char *(*module_abi) (void) = NULL;
  GModule *module;

  g_return_val_if_fail (path != NULL, NULL);
  g_return_val_if_fail (abi != NULL, NULL);
  g_return_val_if_fail (error_message != NULL && *error_message == NULL, NULL);

  /* Every symbol resolved now: a module that needs something heraldctl lacks
   * fails here, with a message, not later with an abort. */
  module = g_module_open (path, G_MODULE_BIND_LOCAL);
  if (module == NULL)
    {
      *error_message = g_strdup (g_module_error ());
      return NULL;
    }

  /* A module from another build of Herald (an older install next to a newer
   * heraldctl, say) would share structures it does not agree on: refuse it
   * rather than corrupt memory. */
  if (!g_module_symbol (module, "herald_cli_oauth_abi", (gpointer *) &module_abi)
      || module_abi == NULL || g_strcmp0 (module_abi (), abi) != 0)
    {
      /* Translators: %s is the module's file name. */
      *error_message = g_strdup_printf (_("%s belongs to another build of Herald; reinstall Herald"),
                                        path);
      g_module_close (module);
      return NULL;
    }

  return module;
}
