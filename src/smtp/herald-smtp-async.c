/* SPDX-License-Identifier: GPL-3.0-or-later
 * Copyright 2026 The Herald authors
 */
#define G_LOG_DOMAIN "herald-smtp"

#include "config.h"

#include "herald-smtp-session.h"

/* The async wrappers of herald_smtp_run() and herald_smtp_deliver(): the
 * run happens in a GTask worker thread, progress goes back to the caller's
 * thread-default main context, and the result comes last. */

typedef struct
{
  HeraldSmtpConfig   *config;
  GPtrArray          *messages;   /* a delivery's; NULL for a test */
  HeraldDeliveryCallbacks callbacks;
  HeraldProgressFunc  progress;
  gpointer            progress_data;
  GDestroyNotify      progress_destroy;
  GMainContext       *context;
} AsyncData;

static void
async_data_free (gpointer data)
{
  AsyncData *async = data;

  herald_smtp_config_free (async->config);
  g_clear_pointer (&async->messages, g_ptr_array_unref);
  g_main_context_unref (async->context);
  g_free (async);
}

typedef struct
{
  HeraldProgressFunc  func;
  gpointer            data;
  HeraldProgress      progress;
} ProgressEvent;

/* Runs on the caller's main context. */
static gboolean
deliver_progress_cb (gpointer user_data)
{
  ProgressEvent *event = user_data;

  event->func (&event->progress, event->data);

  return G_SOURCE_REMOVE;
}

/* Runs on the worker thread: copies the event and hands it over. */
static void
forward_progress_cb (const HeraldProgress *progress,
                     gpointer              user_data)
{
  AsyncData *async = user_data;
  ProgressEvent *event = g_new0 (ProgressEvent, 1);

  event->func = async->progress;
  event->data = async->progress_data;
  event->progress = *progress;

  g_main_context_invoke_full (async->context, G_PRIORITY_DEFAULT,
                              deliver_progress_cb, event, g_free);
}

typedef struct
{
  GDestroyNotify destroy;
  gpointer       data;
} DestroyEvent;

/* Runs on the caller's main context, after the last progress event. */
static gboolean
destroy_progress_cb (gpointer user_data)
{
  DestroyEvent *event = user_data;

  event->destroy (event->data);

  return G_SOURCE_REMOVE;
}

/* The worker thread's ends of a delivery's own callbacks, with the
 * caller's user data. */
static void
forward_before_last_byte_cb (guint                    index,
                             const HeraldSmtpMessage *message,
                             gpointer                 user_data)
{
  AsyncData *async = user_data;

  async->callbacks.before_last_byte (index, message, async->callbacks.user_data);
}

static void
forward_delivered_cb (guint                 index,
                      const HeraldDelivery *delivery,
                      gpointer              user_data)
{
  AsyncData *async = user_data;

  async->callbacks.delivered (index, delivery, async->callbacks.user_data);
}

static gboolean
forward_proceed_cb (guint       index,
                    const char *greeting,
                    gpointer    user_data)
{
  AsyncData *async = user_data;

  return async->callbacks.proceed (index, greeting, async->callbacks.user_data);
}

static void
run_thread (GTask        *task,
            gpointer      source_object,
            gpointer      task_data,
            GCancellable *cancellable)
{
  AsyncData *async = task_data;
  g_autoptr(GMainContext) worker_context = g_main_context_new ();
  HeraldSmtpResult *result;

  /* With a context of its own, g_main_context_invoke() from this thread
   * always queues to the caller's context instead of running the callback
   * here when the caller's context happens to be free. */
  g_main_context_push_thread_default (worker_context);

  if (async->messages != NULL)
    {
      /* Progress goes to the caller's context; the other two callbacks run
       * here, where they must (before the last byte is written). */
      HeraldDeliveryCallbacks callbacks = { 0, };

      callbacks.progress = async->progress != NULL ? forward_progress_cb : NULL;
      if (async->callbacks.before_last_byte != NULL)
        callbacks.before_last_byte = forward_before_last_byte_cb;
      if (async->callbacks.delivered != NULL)
        callbacks.delivered = forward_delivered_cb;
      if (async->callbacks.proceed != NULL)
        callbacks.proceed = forward_proceed_cb;
      callbacks.user_data = async;
      result = herald_smtp_deliver (async->config, async->messages, &callbacks, cancellable);
    }
  else
    result = herald_smtp_run (async->config, cancellable,
                              async->progress != NULL ? forward_progress_cb : NULL, async);

  if (async->progress_destroy != NULL)
    {
      DestroyEvent *event = g_new0 (DestroyEvent, 1);

      event->destroy = async->progress_destroy;
      event->data = async->progress_data;
      async->progress_destroy = NULL;
      g_main_context_invoke_full (async->context, G_PRIORITY_DEFAULT,
                                  destroy_progress_cb, event, g_free);
    }

  /* Same priority, queued after the events: the callback runs last. */
  g_task_return_pointer (task, result, (GDestroyNotify) herald_smtp_result_free);

  g_main_context_pop_thread_default (worker_context);
}

/**
 * herald_smtp_run_async:
 * @config: the settings to test (copied)
 * @cancellable: (nullable): cancels the test at any point
 * @progress: (nullable): called on the caller's thread-default main context
 * @progress_data: data for @progress
 * @progress_destroy: (nullable): frees @progress_data on that context after
 *   the last event
 * @callback: called when the test is over
 * @user_data: data for @callback
 *
 * Runs herald_smtp_run() in a worker thread.
 */
void
herald_smtp_run_async (const HeraldSmtpConfig *config,
                       GCancellable           *cancellable,
                       HeraldProgressFunc      progress,
                       gpointer                progress_data,
                       GDestroyNotify          progress_destroy,
                       GAsyncReadyCallback     callback,
                       gpointer                user_data)
{
  g_autoptr(GTask) task = NULL;
  AsyncData *async;

  g_return_if_fail (config != NULL);
  g_return_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable));

  /* Implicit TLS: before the worker thread even starts (start_tls_loading()
   * says why not for STARTTLS). */
  if (config->security == HERALD_SECURITY_TLS)
    herald_smtp_prepare_tls (NULL);

  async = g_new0 (AsyncData, 1);
  async->config = herald_smtp_config_copy (config);
  async->progress = progress;
  async->progress_data = progress_data;
  async->progress_destroy = progress_destroy;
  async->context = g_main_context_ref_thread_default ();

  task = g_task_new (NULL, cancellable, callback, user_data);
  g_task_set_source_tag (task, herald_smtp_run_async);
  g_task_set_name (task, "herald_smtp_run_async");
  /* A cancelled test is still a result (stage, transcript, error CANCELLED). */
  g_task_set_check_cancellable (task, FALSE);
  g_task_set_task_data (task, async, async_data_free);
  g_task_run_in_thread (task, run_thread);
}

/**
 * herald_smtp_run_finish:
 * @result: the #GAsyncResult passed to the callback
 * @error: return location for an error
 *
 * Returns: (transfer full): the test result (also when the test failed);
 *   %NULL only with @error set when the task itself could not run
 */
HeraldSmtpResult *
herald_smtp_run_finish (GAsyncResult  *result,
                        GError       **error)
{
  g_return_val_if_fail (g_task_is_valid (result, NULL), NULL);
  g_return_val_if_fail (g_task_get_source_tag (G_TASK (result)) == herald_smtp_run_async, NULL);

  return g_task_propagate_pointer (G_TASK (result), error);
}

/**
 * herald_smtp_deliver_async:
 * @config: the connection settings (copied)
 * @messages: (element-type HeraldSmtpMessage): the messages (referenced; do
 *   not change them while the delivery runs)
 * @callbacks: (nullable): see herald-smtp.h for which thread runs which
 * @destroy: (nullable): frees callbacks->user_data on the caller's context
 *   after the last progress event
 * @cancellable: (nullable): cancels the delivery at any point
 * @callback: called when the delivery is over
 * @user_data: data for @callback
 *
 * Runs herald_smtp_deliver() in a worker thread.
 */
void
herald_smtp_deliver_async (const HeraldSmtpConfig        *config,
                           GPtrArray                     *messages,
                           const HeraldDeliveryCallbacks *callbacks,
                           GDestroyNotify                 destroy,
                           GCancellable                  *cancellable,
                           GAsyncReadyCallback            callback,
                           gpointer                       user_data)
{
  g_autoptr(GTask) task = NULL;
  AsyncData *async;

  g_return_if_fail (config != NULL);
  g_return_if_fail (messages != NULL);
  g_return_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable));

  if (config->security == HERALD_SECURITY_TLS)
    herald_smtp_prepare_tls (NULL);

  async = g_new0 (AsyncData, 1);
  async->config = herald_smtp_config_copy (config);
  async->messages = g_ptr_array_ref (messages);
  if (callbacks != NULL)
    {
      async->callbacks = *callbacks;
      async->progress = callbacks->progress;
      async->progress_data = callbacks->user_data;
    }
  async->progress_destroy = destroy;
  async->context = g_main_context_ref_thread_default ();

  task = g_task_new (NULL, cancellable, callback, user_data);
  g_task_set_source_tag (task, herald_smtp_deliver_async);
  g_task_set_name (task, "herald_smtp_deliver_async");
  /* A cancelled delivery is still a result (each message's outcome). */
  g_task_set_check_cancellable (task, FALSE);
  g_task_set_task_data (task, async, async_data_free);
  g_task_run_in_thread (task, run_thread);
}

/**
 * herald_smtp_deliver_finish:
 * @result: the #GAsyncResult passed to the callback
 * @error: return location for an error
 *
 * Returns: (transfer full): the delivery's result; %NULL only with @error
 *   set when the task itself could not run
 */
HeraldSmtpResult *
herald_smtp_deliver_finish (GAsyncResult  *result,
                            GError       **error)
{
  g_return_val_if_fail (g_task_is_valid (result, NULL), NULL);
  g_return_val_if_fail (g_task_get_source_tag (G_TASK (result)) == herald_smtp_deliver_async, NULL);

  return g_task_propagate_pointer (G_TASK (result), error);
}
