/* SPDX-License-Identifier: GPL-3.0-or-later
 * Copyright 2026 The Herald authors
 */
#define G_LOG_DOMAIN "herald-smtp"

#include "config.h"

#include <string.h>
#include <glib/gi18n-lib.h>

#include "herald-smtp-private.h"

/* Temporary: the protocol run lands in the next commit. */
HeraldSmtpResult *
herald_smtp_run (const HeraldSmtpConfig *config,
                 GCancellable           *cancellable,
                 HeraldProgressFunc      progress,
                 gpointer                progress_data)
{
  HeraldSmtpResult *result = _herald_smtp_result_new ();

  if (!herald_smtp_config_validate (config, &result->error))
    return result;

  g_set_error_literal (&result->error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED, "not yet");
  return result;
}

static void
run_thread (GTask        *task,
            gpointer      source_object,
            gpointer      task_data,
            GCancellable *cancellable)
{
  g_task_return_pointer (task,
                         herald_smtp_run (task_data, cancellable, NULL, NULL),
                         (GDestroyNotify) herald_smtp_result_free);
}

void
herald_smtp_run_async (const HeraldSmtpConfig *config,
                       GCancellable           *cancellable,
                       HeraldProgressFunc      progress,
                       gpointer                progress_data,
                       GDestroyNotify          progress_destroy,
                       GAsyncReadyCallback     callback,
                       gpointer                user_data)
{
  g_autoptr(GTask) task = g_task_new (NULL, cancellable, callback, user_data);

  g_task_set_source_tag (task, herald_smtp_run_async);
  g_task_set_task_data (task, herald_smtp_config_copy (config),
                        (GDestroyNotify) herald_smtp_config_free);
  if (progress_destroy)
    progress_destroy (progress_data);
  g_task_run_in_thread (task, run_thread);
}

HeraldSmtpResult *
herald_smtp_run_finish (GAsyncResult  *result,
                        GError       **error)
{
  g_return_val_if_fail (g_task_is_valid (result, NULL), NULL);
  g_return_val_if_fail (g_task_get_source_tag (G_TASK (result)) == herald_smtp_run_async, NULL);

  return g_task_propagate_pointer (G_TASK (result), error);
}
