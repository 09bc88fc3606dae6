/* SPDX-License-Identifier: GPL-3.0-or-later
 * Copyright 2026 The Herald authors
 */
/* Stand-ins for heraldctl's OAuth module, for test-cli-module: built with
 * -DFAKE_ABI="..." it claims that interface; without, it lacks the symbol. */

const char *herald_cli_oauth_abi (void);
int herald_cli_logout (int argc, char **argv);

#ifdef FAKE_ABI
const char *
herald_cli_oauth_abi (void)
{
  return FAKE_ABI;
}
#endif

int
herald_cli_logout (int    argc,
                   char **argv)
{
  (void) argc;
  (void) argv;
  return 0;
}
