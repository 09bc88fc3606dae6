/* SPDX-License-Identifier: GPL-3.0-or-later
 * Copyright 2026 The Herald authors
 */
#define _GNU_SOURCE  /* memmem() */
#define G_LOG_DOMAIN "herald-test"

#include "config.h"

#include <gmodule.h>
#include <string.h>

#include "herald-cli-abi.h"
#include "herald-cli-module.h"

/* heraldctl opens its OAuth module only when it was built against the same
 * interface: the real module passes, stand-ins from "another build" (another
 * interface digest, or none at all) are refused with a sentence naming the
 * file, and a missing file says so. */

static char *
module_path (const char *name)
{
  /* Next to this program: FAKE_MODULE_DIR is tests/cli in the build tree. */
  return g_build_filename (FAKE_MODULE_DIR, name, NULL);
}

/* The real module holds this build's digest (it takes the engine and the
 * keyring from heraldctl, so it cannot be opened into this program: its
 * bytes are searched instead). */
static void
test_real_module (void)
{
  g_autofree char *contents = NULL;
  gsize length = 0;
  g_autoptr(GError) error = NULL;

  g_assert_true (g_file_get_contents (HERALD_OAUTH_MODULE_PATH, &contents, &length, &error));
  g_assert_no_error (error);
  g_assert_nonnull (memmem (contents, length, HERALD_CLI_ABI, strlen (HERALD_CLI_ABI)));
  g_assert_nonnull (memmem (contents, length, "herald_cli_oauth_abi",
                            strlen ("herald_cli_oauth_abi")));
}

static void
test_same_abi (void)
{
  g_autofree char *path = module_path ("fake-oauth-same.so");
  g_autofree char *error = NULL;
  GModule *module = _herald_cli_open_module (path, HERALD_CLI_ABI, &error);

  g_assert_null (error);
  g_assert_nonnull (module);
  g_module_close (module);
}

static void
test_other_abi (void)
{
  g_autofree char *path = module_path ("fake-oauth-other.so");
  g_autofree char *error = NULL;
  GModule *module = _herald_cli_open_module (path, HERALD_CLI_ABI, &error);

  g_assert_null (module);
  g_assert_nonnull (error);
  g_assert_nonnull (strstr (error, "another build of Herald"));
  g_assert_nonnull (strstr (error, path));
}

static void
test_no_abi (void)
{
  g_autofree char *path = module_path ("fake-oauth-none.so");
  g_autofree char *error = NULL;
  GModule *module = _herald_cli_open_module (path, HERALD_CLI_ABI, &error);

  g_assert_null (module);
  g_assert_nonnull (error);
  g_assert_nonnull (strstr (error, "another build of Herald"));
}

static void
test_missing (void)
{
  g_autofree char *path = module_path ("no-such-module.so");
  g_autofree char *error = NULL;
  GModule *module = _herald_cli_open_module (path, HERALD_CLI_ABI, &error);

  g_assert_null (module);
  g_assert_nonnull (error);
  g_assert_nonnull (strstr (error, "no-such-module.so"));
}

int
main (int    argc,
      char **argv)
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/cli/module/real-module-has-this-abi", test_real_module);
  g_test_add_func ("/cli/module/same-abi-opens", test_same_abi);
  g_test_add_func ("/cli/module/other-abi-refused", test_other_abi);
  g_test_add_func ("/cli/module/no-abi-refused", test_no_abi);
  g_test_add_func ("/cli/module/missing-file", test_missing);

  return g_test_run ();
}
