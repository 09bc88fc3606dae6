/* SPDX-License-Identifier: GPL-3.0-or-later
 * Copyright 2026 The Herald authors
 */
#define G_LOG_DOMAIN "herald-ui"

#include "config.h"

#include "herald-ui-private.h"
#include "herald-ui-resources.h"

void
_herald_ui_ensure_resources (void)
{
  static gsize registered = 0;

  if (g_once_init_enter (&registered))
    {
      herald_ui_register_resource ();
      g_once_init_leave (&registered, 1);
    }
}
