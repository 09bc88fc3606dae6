/* SPDX-License-Identifier: GPL-3.0-or-later
 * Copyright 2026 The Herald authors
 */
#define G_LOG_DOMAIN "herald-ui"

#include "config.h"

#include <glib/gi18n.h>
#include <unistd.h>

#include "herald-application.h"

/* The catalogues live in LOCALEDIR once installed. HERALD_LOCALEDIR points at
 * the build tree's po/ instead (build-aux/run-uninstalled.sh and the tests set
 * it), so the uninstalled window speaks the user's language too. Ignored when
 * the program runs with other ids than the caller's: a catalogue supplies
 * format strings. */
static const char *
locale_dir (void)
{
  const char *dir = g_getenv ("HERALD_LOCALEDIR");

  if (dir != NULL && *dir != '\0' && getuid () == geteuid () && getgid () == getegid ())
    return dir;
  return LOCALEDIR;
}

int
main (int   argc,
      char *argv[])
{
  g_autoptr(HeraldApplication) application = NULL;

  bindtextdomain (GETTEXT_PACKAGE, locale_dir ());
  bind_textdomain_codeset (GETTEXT_PACKAGE, "UTF-8");
  textdomain (GETTEXT_PACKAGE);

  application = herald_application_new ();
  return g_application_run (G_APPLICATION (application), argc, argv);
}
