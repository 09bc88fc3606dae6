/* SPDX-License-Identifier: GPL-3.0-or-later
 * Copyright 2026 The Herald authors
 */
#define G_LOG_DOMAIN "herald-ui"

#include "config.h"

#include <glib/gi18n.h>

#include "herald-alerts-group.h"
#include "herald-graph-transport.h"
#include "herald-delivery.h"
#include "herald-error-dialog.h"
#include "herald-oauth-smtp.h"
#include "herald-profile.h"
#include "herald-queue-run.h"
#include "herald-ui-private.h"

struct _HeraldAlertsGroup
{
  AdwPreferencesGroup  parent_instance;

  HeraldQueue         *queue;
  GFileMonitor        *monitor;
  GCancellable        *cancellable;
  GtkWidget           *summary_row;
  GPtrArray           *rows;          /* the message rows shown */
  char                *summary;
  guint                reload_id;
  guint                loading : 1;
  guint                reload_again : 1;
};

G_DEFINE_FINAL_TYPE (HeraldAlertsGroup, herald_alerts_group, ADW_TYPE_PREFERENCES_GROUP)

static void start_load (HeraldAlertsGroup *self);

/* ---- loading (a worker thread reads the directory) ---------------------------- */

static void
load_thread (GTask        *task,
             gpointer      source,
             gpointer      task_data,
             GCancellable *cancellable)
{
  HeraldQueue *queue = task_data;
  GError *error = NULL;
  GPtrArray *entries = herald_queue_list (queue, NULL, &error);

  if (entries == NULL)
    g_task_return_error (task, error);
  else
    g_task_return_pointer (task, entries, (GDestroyNotify) g_ptr_array_unref);
}

static HeraldQueueEntry *
row_entry (GtkWidget *row)
{
  return g_object_get_data (G_OBJECT (row), "herald-entry");
}

/* A result and a diagnosis rebuilt from what the queue recorded, for the
 * error dialog: the recorded reply and error go through the same rules. */
static void
show_error_cb (GtkWidget *row)
{
  HeraldQueueEntry *entry = row_entry (row);
  const HeraldQueueError *e = entry->last_error;
  g_autoptr(HeraldDeliveryReport) report = NULL;
  g_autoptr(GError) error = NULL;
  HeraldStage stage = HERALD_STAGE_RESOLVE;
  GtkRoot *root = gtk_widget_get_root (row);
  HeraldErrorDialog *dialog;

  if (e == NULL)
    return;
  if (e->stage != NULL)
    herald_stage_from_string (e->stage, &stage);

  error = g_error_new_literal (e->reply_code > 0 ? HERALD_SMTP_ERROR : G_IO_ERROR,
                               e->reply_code > 0 ? HERALD_SMTP_ERROR_REJECTED : G_IO_ERROR_FAILED,
                               e->error != NULL ? e->error : "");
  report = herald_delivery_report_new_local (herald_transport_smtp (), NULL, stage, error);
  if (e->reply_code > 0)
    {
      HeraldSmtpReply *reply = g_new0 (HeraldSmtpReply, 1);

      reply->code = e->reply_code;
      reply->enhanced = g_strdup (e->reply_enhanced);
      reply->text = g_strdup (e->reply_text);
      reply->raw = g_strdup_printf ("%d %s", e->reply_code,
                                    e->reply_text != NULL ? e->reply_text : "");
      report->result->reply = reply;
      g_clear_pointer (&report->diagnosis, herald_diagnosis_free);
      report->diagnosis = herald_diagnose (report->result, NULL);
    }

  dialog = herald_error_dialog_new (GTK_IS_WINDOW (root) ? GTK_WINDOW (root) : NULL, NULL,
                                    report->result, report->diagnosis, NULL);
  gtk_window_present (GTK_WINDOW (dialog));
}

/* ---- Retry Now and Discard ------------------------------------------------------- */

typedef struct {
  HeraldQueue *queue;
  char        *id;
} RetryData;

static void
retry_data_free (RetryData *data)
{
  g_clear_object (&data->queue);
  g_free (data->id);
  g_free (data);
}

/* Runs on a worker thread: the same path as `heraldctl queue retry ID`. */
static void
retry_thread (GTask        *task,
              gpointer      source,
              gpointer      task_data,
              GCancellable *cancellable)
{
  RetryData *data = task_data;
  g_autoptr(GError) error = NULL;
  g_autoptr(HeraldProfile) profile = herald_profile_new_user (&error);
  g_autoptr(HeraldSmtpConfig) config = NULL;
  g_autoptr(HeraldDeliveryReport) local = NULL;
  g_autoptr(HeraldFlushSummary) summary = NULL;
  g_autoptr(HeraldQueueEntry) entry = NULL;
  HeraldFlushOptions options = { 0 };
  const HeraldTransport *transport = herald_transport_smtp ();
  HeraldTransport *graph = NULL;

  if (profile != NULL)
    config = herald_profile_to_smtp_config (profile, &error);
  if (config == NULL)
    {
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }

  /* Due now, as an administrator asked. */
  if (herald_queue_lock (data->queue, TRUE, &error))
    {
      entry = herald_queue_get (data->queue, data->id, &error);
      if (entry != NULL)
        {
          if (entry->state != HERALD_QUEUE_STATE_SENDING)
            entry->state = HERALD_QUEUE_STATE_QUEUED;
          entry->next_attempt = 0;
          herald_queue_update (data->queue, entry, &error);
        }
      herald_queue_unlock (data->queue);
    }
  if (error != NULL)
    {
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }

  /* Microsoft Graph fetches its own token when it delivers. */
  if (herald_profile_get_settings (profile) != NULL &&
      herald_graph_transport_from_settings (herald_profile_get_settings (profile)))
    {
      graph = herald_graph_transport_new_from_settings (herald_profile_get_settings (profile),
                                                        NULL, &error);
      if (graph == NULL)
        local = herald_delivery_report_new_local (transport, config, HERALD_STAGE_RESOLVE, error);
      else
        transport = graph;
    }
  else if (config->auth == HERALD_AUTH_XOAUTH2)
    {
      if (!herald_graph_fill_smtp_token (config, herald_profile_get_settings (profile), NULL,
                                         cancellable, &error))
        local = herald_delivery_report_new_local (transport, config, HERALD_STAGE_AUTH, error);
    }
  else if (config->username != NULL && config->auth != HERALD_AUTH_NONE)
    {
      char *password = herald_profile_lookup_password (profile, cancellable, &error);

      if (password != NULL)
        config->password = password;
      else
        {
          if (error == NULL)
            g_set_error (&error, HERALD_PROFILE_ERROR, HERALD_PROFILE_ERROR_INCOMPLETE,
                         _("no password is saved in the keyring"));
          local = herald_delivery_report_new_local (transport, config, HERALD_STAGE_AUTH, error);
        }
    }
  g_clear_error (&error);

  options.only_id = data->id;
  summary = herald_queue_flush (data->queue, transport, config, local, &options, cancellable,
                                &error);
  herald_transport_free (graph);
  if (summary == NULL)
    g_task_return_error (task, g_steal_pointer (&error));
  else
    g_task_return_boolean (task, TRUE);
}

static void
retry_done_cb (GObject      *source,
               GAsyncResult *result,
               gpointer      user_data)
{
  g_autoptr(HeraldAlertsGroup) self = _herald_ui_weak_ref_steal (user_data);
  g_autoptr(GError) error = NULL;

  if (!g_task_propagate_boolean (G_TASK (result), &error) &&
      !g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    g_warning ("retry: %s", error->message);
  if (self != NULL)
    herald_alerts_group_reload (self);
}

/* Runs @thread on the entry of @button's row; the button stays off until
 * the reload that follows brings a new row. */
static void
run_on_entry (HeraldAlertsGroup *self,
              GtkButton         *button,
              gpointer           source_tag,
              GTaskThreadFunc    thread)
{
  GtkWidget *row = g_object_get_data (G_OBJECT (button), "herald-row");
  RetryData *data = g_new0 (RetryData, 1);
  g_autoptr(GTask) task = g_task_new (NULL, self->cancellable, retry_done_cb,
                                      _herald_ui_weak_ref_new (self));

  data->queue = g_object_ref (self->queue);
  data->id = g_strdup (row_entry (row)->id);
  gtk_widget_set_sensitive (GTK_WIDGET (button), FALSE);
  g_task_set_source_tag (task, source_tag);
  g_task_set_task_data (task, data, (GDestroyNotify) retry_data_free);
  g_task_run_in_thread (task, thread);
}

static void
retry_clicked_cb (GtkButton         *button,
                  HeraldAlertsGroup *self)
{
  run_on_entry (self, button, retry_clicked_cb, retry_thread);
}

static void
discard_thread (GTask        *task,
                gpointer      source,
                gpointer      task_data,
                GCancellable *cancellable)
{
  RetryData *data = task_data;
  GError *error = NULL;

  /* Not while a flush is sending it. */
  if (herald_queue_lock (data->queue, TRUE, &error))
    {
      herald_queue_remove (data->queue, data->id, &error);
      herald_queue_unlock (data->queue);
    }
  if (error != NULL)
    g_task_return_error (task, error);
  else
    g_task_return_boolean (task, TRUE);
}

static void
discard_clicked_cb (GtkButton         *button,
                    HeraldAlertsGroup *self)
{
  run_on_entry (self, button, discard_clicked_cb, discard_thread);
}

/* ---- the rows ------------------------------------------------------------------------- */

static const char *
state_label (HeraldQueueState state)
{
  switch (state)
    {
    case HERALD_QUEUE_STATE_QUEUED:
      return _("Waiting");
    case HERALD_QUEUE_STATE_HELD:
      return _("Held");
    case HERALD_QUEUE_STATE_SENDING:
      return _("Sending");
    case HERALD_QUEUE_STATE_FAILED:
    default:
      return _("Failed");
    }
}

static GtkWidget *
make_row (HeraldAlertsGroup *self,
          HeraldQueueEntry  *entry)
{
  GtkWidget *row = adw_action_row_new ();
  GtkWidget *retry = gtk_button_new_with_label (_("Retry Now"));
  GtkWidget *discard = gtk_button_new_with_label (_("Discard"));
  g_autofree char *to = g_strjoinv (", ", entry->recipients);
  const char *problem = entry->last_error != NULL && entry->last_error->diagnosis_title != NULL
                        ? entry->last_error->diagnosis_title
                        : entry->last_error != NULL ? entry->last_error->error : entry->note;
  g_autofree char *subtitle = g_strdup_printf ("%s · %s%s%s", state_label (entry->state), to,
                                               problem != NULL ? " · " : "",
                                               problem != NULL ? problem : "");

  adw_preferences_row_set_title (ADW_PREFERENCES_ROW (row),
                                 entry->subject != NULL ? entry->subject : _("(no subject)"));
  adw_preferences_row_set_use_markup (ADW_PREFERENCES_ROW (row), FALSE);
  adw_action_row_set_subtitle (ADW_ACTION_ROW (row), subtitle);
  adw_action_row_set_subtitle_lines (ADW_ACTION_ROW (row), 2);
  g_object_set_data_full (G_OBJECT (row), "herald-entry", herald_queue_entry_copy (entry),
                          (GDestroyNotify) herald_queue_entry_free);

  for (guint i = 0; i < 2; i++)
    {
      GtkWidget *button = i == 0 ? retry : discard;

      gtk_widget_set_valign (button, GTK_ALIGN_CENTER);
      g_object_set_data (G_OBJECT (button), "herald-row", row);
      adw_action_row_add_suffix (ADW_ACTION_ROW (row), button);
    }
  gtk_widget_add_css_class (discard, "destructive-action");
  gtk_widget_set_sensitive (retry, entry->state != HERALD_QUEUE_STATE_SENDING);
  g_signal_connect_object (retry, "clicked", G_CALLBACK (retry_clicked_cb), self, 0);
  g_signal_connect_object (discard, "clicked", G_CALLBACK (discard_clicked_cb), self, 0);

  if (entry->last_error != NULL)
    {
      gtk_list_box_row_set_activatable (GTK_LIST_BOX_ROW (row), TRUE);
      g_signal_connect (row, "activated", G_CALLBACK (show_error_cb), NULL);
    }
  return row;
}

static void
show_entries (HeraldAlertsGroup *self,
              GPtrArray         *entries)
{
  guint queued = 0, held = 0, failed = 0;

  for (guint i = 0; i < self->rows->len; i++)
    adw_preferences_group_remove (ADW_PREFERENCES_GROUP (self),
                                  g_ptr_array_index (self->rows, i));
  g_ptr_array_set_size (self->rows, 0);

  for (guint i = 0; i < entries->len; i++)
    {
      HeraldQueueEntry *entry = g_ptr_array_index (entries, i);
      GtkWidget *row = make_row (self, entry);

      if (entry->state == HERALD_QUEUE_STATE_HELD)
        held++;
      else if (entry->state == HERALD_QUEUE_STATE_FAILED)
        failed++;
      else
        queued++;
      adw_preferences_group_add (ADW_PREFERENCES_GROUP (self), row);
      g_ptr_array_add (self->rows, row);
    }

  g_free (self->summary);
  if (entries->len == 0)
    self->summary = g_strdup (_("No alerts are waiting."));
  else
    /* Translators: counts of queued alerts */
    self->summary = g_strdup_printf (_("%u waiting, %u held, %u failed"), queued, held, failed);
  adw_action_row_set_subtitle (ADW_ACTION_ROW (self->summary_row), self->summary);
}

static void
load_done_cb (GObject      *source,
              GAsyncResult *result,
              gpointer      user_data)
{
  g_autoptr(HeraldAlertsGroup) self = _herald_ui_weak_ref_steal (user_data);
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) entries = g_task_propagate_pointer (G_TASK (result), &error);

  if (self == NULL)
    return;
  self->loading = FALSE;
  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return;
  if (entries != NULL)
    show_entries (self, entries);
  else
    adw_action_row_set_subtitle (ADW_ACTION_ROW (self->summary_row), error->message);

  if (self->reload_again)
    {
      self->reload_again = FALSE;
      start_load (self);
    }
}

static void
start_load (HeraldAlertsGroup *self)
{
  g_autoptr(GTask) task = NULL;

  if (self->loading)
    {
      self->reload_again = TRUE;
      return;
    }
  self->loading = TRUE;
  task = g_task_new (NULL, self->cancellable, load_done_cb, _herald_ui_weak_ref_new (self));
  g_task_set_source_tag (task, start_load);
  g_task_set_task_data (task, g_object_ref (self->queue), g_object_unref);
  g_task_run_in_thread (task, load_thread);
}

void
herald_alerts_group_reload (HeraldAlertsGroup *self)
{
  g_return_if_fail (HERALD_IS_ALERTS_GROUP (self));

  /* A flush touches several files per message: one reload for a burst. */
  _herald_ui_reload_soon (&self->reload_id, (void (*) (gpointer)) start_load, self);
}

static void
changed_cb (GFileMonitor      *monitor,
            GFile             *file,
            GFile             *other,
            GFileMonitorEvent  event,
            HeraldAlertsGroup *self)
{
  g_autofree char *name = g_file_get_basename (file);

  /* Only the metadata files say that an entry appeared, changed or went. */
  if (name != NULL && g_str_has_suffix (name, ".meta"))
    herald_alerts_group_reload (self);
}

/* ---- the object ------------------------------------------------------------------------ */

static void
herald_alerts_group_dispose (GObject *object)
{
  HeraldAlertsGroup *self = HERALD_ALERTS_GROUP (object);

  g_cancellable_cancel (self->cancellable);
  g_clear_handle_id (&self->reload_id, g_source_remove);
  _herald_ui_monitor_stop (&self->monitor);

  G_OBJECT_CLASS (herald_alerts_group_parent_class)->dispose (object);
}

static void
herald_alerts_group_finalize (GObject *object)
{
  HeraldAlertsGroup *self = HERALD_ALERTS_GROUP (object);

  g_clear_object (&self->queue);
  g_clear_object (&self->cancellable);
  g_clear_pointer (&self->rows, g_ptr_array_unref);
  g_free (self->summary);

  G_OBJECT_CLASS (herald_alerts_group_parent_class)->finalize (object);
}

static void
herald_alerts_group_class_init (HeraldAlertsGroupClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = herald_alerts_group_dispose;
  object_class->finalize = herald_alerts_group_finalize;
}

static void
herald_alerts_group_init (HeraldAlertsGroup *self)
{
  self->cancellable = g_cancellable_new ();
  self->rows = g_ptr_array_new ();
  adw_preferences_group_set_title (ADW_PREFERENCES_GROUP (self), _("Alert Queue"));
  adw_preferences_group_set_description (ADW_PREFERENCES_GROUP (self),
    _("Alerts that could not be sent at once wait here; the queue timer retries them."));
  self->summary_row = adw_action_row_new ();
  adw_preferences_row_set_title (ADW_PREFERENCES_ROW (self->summary_row), _("Queue"));
  adw_preferences_group_add (ADW_PREFERENCES_GROUP (self), self->summary_row);
}

HeraldAlertsGroup *
herald_alerts_group_new (const char *queue_dir)
{
  HeraldAlertsGroup *self;
  g_autoptr(GError) error = NULL;

  g_return_val_if_fail (queue_dir != NULL, NULL);

  self = g_object_new (HERALD_TYPE_ALERTS_GROUP, NULL);
  self->queue = herald_queue_new (queue_dir);
  /* The directory must exist for the monitor to see entries appear. */
  if (!herald_queue_ensure (self->queue, &error))
    g_debug ("queue directory: %s", error->message);
  self->monitor = _herald_ui_monitor_directory (queue_dir, G_CALLBACK (changed_cb), self);
  start_load (self);
  return self;
}

const char *
herald_alerts_group_get_summary (HeraldAlertsGroup *self)
{
  g_return_val_if_fail (HERALD_IS_ALERTS_GROUP (self), NULL);
  return self->summary;
}

guint
herald_alerts_group_get_n_rows (HeraldAlertsGroup *self)
{
  g_return_val_if_fail (HERALD_IS_ALERTS_GROUP (self), 0);
  return self->rows->len;
}
