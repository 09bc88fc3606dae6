/* SPDX-License-Identifier: GPL-3.0-or-later
 * Copyright 2026 The Herald authors
 */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

/* A deadline for one synchronous request on a worker thread: a watchdog
 * thread cancels cancellable when the monotonic time reaches deadline_us.
 * Used by the OAuth and Graph HTTP requests, whose replies could otherwise
 * drip for hours under their size caps. */
typedef struct _HeraldDeadline HeraldDeadline;

HeraldDeadline *herald_deadline_start (GCancellable *cancellable,
                                       gint64        deadline_us,
                                       const char   *thread_name) G_GNUC_WARN_UNUSED_RESULT;
/* Stops the watchdog and frees it. Returns TRUE when the deadline passed (and
 * the cancellable was cancelled by it). */
gboolean        herald_deadline_stop  (HeraldDeadline *deadline);

G_END_DECLS
