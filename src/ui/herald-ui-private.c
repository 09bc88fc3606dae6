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

GWeakRef *
_herald_ui_weak_ref_new (gpointer object)
{
  GWeakRef *ref = g_new0 (GWeakRef, 1);

  g_weak_ref_init (ref, object);
  return ref;
}

gpointer
_herald_ui_weak_ref_steal (GWeakRef *ref)
{
  gpointer object = g_weak_ref_get (ref);

  g_weak_ref_clear (ref);
  g_free (ref);
  return object;
}

typedef struct {
  guint     *source_id;
  void     (*load) (gpointer owner);
  gpointer   owner;
} ReloadSoon;

static gboolean
reload_soon_cb (gpointer user_data)
{
  ReloadSoon *soon = user_data;

  *soon->source_id = 0;
  soon->load (soon->owner);
  return G_SOURCE_REMOVE;
}

void
_herald_ui_reload_soon (guint     *source_id,
                        void     (*load) (gpointer owner),
                        gpointer   owner)
{
  ReloadSoon *soon;

  if (*source_id != 0)
    return;
  soon = g_new (ReloadSoon, 1);
  soon->source_id = source_id;
  soon->load = load;
  soon->owner = owner;
  *source_id = g_timeout_add_full (G_PRIORITY_DEFAULT, 150, reload_soon_cb, soon, g_free);
}

GFileMonitor *
_herald_ui_monitor_directory (const char *path,
                              GCallback   changed_cb,
                              gpointer    owner)
{
  g_autoptr(GFile) dir = g_file_new_for_path (path);
  GFileMonitor *monitor = g_file_monitor_directory (dir, G_FILE_MONITOR_WATCH_MOVES, NULL, NULL);

  if (monitor != NULL)
    g_signal_connect_object (monitor, "changed", changed_cb, owner, 0);
  return monitor;
}

void
_herald_ui_monitor_stop (GFileMonitor **monitor)
{
  if (*monitor != NULL)
    g_file_monitor_cancel (*monitor);
  g_clear_object (monitor);
}
