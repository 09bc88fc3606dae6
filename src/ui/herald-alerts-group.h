/* SPDX-License-Identifier: GPL-3.0-or-later
 * Copyright 2026 The Herald authors
 */
#pragma once

#include <adwaita.h>

G_BEGIN_DECLS

#define HERALD_TYPE_ALERTS_GROUP (herald_alerts_group_get_type ())
G_DECLARE_FINAL_TYPE (HeraldAlertsGroup, herald_alerts_group, HERALD, ALERTS_GROUP,
                      AdwPreferencesGroup)

/* The window's Alerts area: what waits in the queue of @queue_dir (how many
 * are queued, held or failed, each with its last error), with Retry Now and
 * Discard per message. The list follows the directory through a file
 * monitor and is read off the main thread. Clicking a message with an
 * error shows the same error dialog as a failed test. */
HeraldAlertsGroup *herald_alerts_group_new (const char *queue_dir);

/* For tests: the summary line and how many rows are shown. */
const char        *herald_alerts_group_get_summary (HeraldAlertsGroup *self);
guint              herald_alerts_group_get_n_rows  (HeraldAlertsGroup *self);
/* Asks for a reload now (the monitor does it by itself). */
void               herald_alerts_group_reload      (HeraldAlertsGroup *self);

G_END_DECLS
