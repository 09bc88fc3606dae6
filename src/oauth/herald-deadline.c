/* SPDX-License-Identifier: GPL-3.0-or-later
 * Copyright 2026 The Herald authors
 */
#define G_LOG_DOMAIN "herald-oauth"

#include "config.h"

#include "herald-deadline.h"

struct _HeraldDeadline {
  GMutex        mutex;
  GCond         cond;
  GThread      *thread;
  GCancellable *cancellable;   /* the request's: cancelled at the deadline */
  gint64        deadline;      /* monotonic µs */
  gboolean      finished;
  gboolean      fired;
};

static gpointer
deadline_thread (gpointer user_data)
{
  HeraldDeadline *dog = user_data;

  g_mutex_lock (&dog->mutex);
  while (!dog->finished)
    if (!g_cond_wait_until (&dog->cond, &dog->mutex, dog->deadline) && !dog->finished)
      {
        dog->fired = TRUE;
        g_cancellable_cancel (dog->cancellable);
        break;
      }
  g_mutex_unlock (&dog->mutex);

  return NULL;
}

HeraldDeadline *
herald_deadline_start (GCancellable *cancellable,
                       gint64        deadline_us,
                       const char   *thread_name)
{
  HeraldDeadline *dog;

  g_return_val_if_fail (G_IS_CANCELLABLE (cancellable), NULL);

  dog = g_new0 (HeraldDeadline, 1);
  g_mutex_init (&dog->mutex);
  g_cond_init (&dog->cond);
  dog->cancellable = g_object_ref (cancellable);
  dog->deadline = deadline_us;
  dog->thread = g_thread_new (thread_name, deadline_thread, dog);

  return dog;
}

gboolean
herald_deadline_stop (HeraldDeadline *dog)
{
  gboolean fired;

  g_return_val_if_fail (dog != NULL, FALSE);

  g_mutex_lock (&dog->mutex);
  dog->finished = TRUE;
  g_cond_signal (&dog->cond);
  g_mutex_unlock (&dog->mutex);
  g_thread_join (dog->thread);

  fired = dog->fired;
  g_clear_object (&dog->cancellable);
  g_mutex_clear (&dog->mutex);
  g_cond_clear (&dog->cond);
  g_free (dog);

  return fired;
}
