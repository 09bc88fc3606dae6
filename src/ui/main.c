/* SPDX-License-Identifier: GPL-3.0-or-later
 * Copyright 2026 The Herald authors
 */
#define G_LOG_DOMAIN "herald-ui"

#include "config.h"

#include <glib/gi18n.h>

#include "herald-application.h"

int
main (int   argc,
      char *argv[])
{
  g_autoptr(HeraldApplication) application = NULL;

  bindtextdomain (GETTEXT_PACKAGE, LOCALEDIR);
  bind_textdomain_codeset (GETTEXT_PACKAGE, "UTF-8");
  textdomain (GETTEXT_PACKAGE);

  application = herald_application_new ();
  return g_application_run (G_APPLICATION (application), argc, argv);
}
