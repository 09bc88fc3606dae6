/* SPDX-License-Identifier: GPL-3.0-or-later
 * Copyright 2026 The Herald authors
 */
#define G_LOG_DOMAIN "herald-cli"

#include "config.h"
#include "herald-cli-abi.h"

#include <glib/gi18n.h>
#include <stdio.h>
#include <stdlib.h>

#include "herald-cli.h"
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

/* ---------------------------------------------------------------------------
 * heraldctl's OAuth module (src/cli/meson.build says why it is one)
 * ------------------------------------------------------------------------- */

#define OAUTH_MODULE "heraldctl-oauth.so"

/* The module next to the running heraldctl when that is the one in the
 * build tree (tests, build-aux/herald-dev), else the installed one. */
static char *
oauth_module_path (void)
{
  g_autofree char *exe = g_file_read_link ("/proc/self/exe", NULL);
  g_autofree char *exe_dir = exe != NULL ? g_path_get_dirname (exe) : NULL;
  /* /proc/self/exe has every symbolic link resolved: so must the build
   * directory's name. */
  g_autofree char *build_dir = realpath (HERALD_CLI_BUILD_DIR, NULL);

  if (exe_dir != NULL && build_dir != NULL && g_str_equal (exe_dir, build_dir))
    return g_build_filename (build_dir, OAUTH_MODULE, NULL);

  return g_build_filename (HERALD_CLI_MODULE_DIR, OAUTH_MODULE, NULL);
}

gpointer
_herald_cli_oauth_symbol (const char *command,
                          const char *name)
{
  static GModule *module;
  static char *load_error;
  gpointer symbol = NULL;

  if (module == NULL && load_error == NULL)
    {
      g_autofree char *path = oauth_module_path ();

      module = _herald_cli_open_module (path, HERALD_CLI_ABI, &load_error);
      if (module != NULL)
        g_module_make_resident (module);
    }

  if (module != NULL && g_module_symbol (module, name, &symbol) && symbol != NULL)
    return symbol;

  fprintf (stderr, _("heraldctl %s: OAuth 2.0 support is not available: %s\n"), command,
           load_error != NULL ? load_error : g_module_error ());
  return NULL;
}
