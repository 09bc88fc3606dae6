/* SPDX-License-Identifier: GPL-3.0-or-later
 * Copyright 2026 The Herald authors
 */
#define G_LOG_DOMAIN "herald-ui"

#include "config.h"

#include <string.h>
#include <glib/gi18n.h>

#include "herald-diagnosis.h"
#include "herald-graph-transport.h"
#include "herald-history.h"
#include "herald-oauth.h"
#include "herald-window-private.h"

/* The window's actions, installed on the class (win.send, win.cancel,
 * win.forget-password, win.choose-ca-file, win.show-help-overlay): a button
 * bound to one is insensitive while the action is disabled, so Send and
 * Cancel follow the form and the running test without flags of their own.
 * Sending runs the engine in a worker (herald_smtp_run_async) with a
 * snapshot of the form; progress and the result come back on the GTK
 * thread. */

typedef struct {
  HeraldWindow     *self;         /* strong */
  GCancellable     *cancellable;
  HeraldSmtpConfig *config;       /* snapshot taken on the main thread */
  gboolean          graph;        /* through Microsoft Graph (herald-window-transport.c) */
} RunData;

static void
run_data_free (RunData *data)
{
  g_clear_object (&data->self);
  g_clear_object (&data->cancellable);
  g_clear_pointer (&data->config, herald_smtp_config_free);
  g_free (data);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (RunData, run_data_free)

void
_herald_window_update_actions (HeraldWindow *self)
{
  g_return_if_fail (HERALD_IS_WINDOW (self));

  gtk_widget_action_set_enabled (GTK_WIDGET (self), "win.send", self->valid && !self->running);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "win.cancel", self->running);
}

void
_herald_window_set_send_label (HeraldWindow *self,
                               const char   *label)
{
  GtkWidget *child;

  gtk_button_set_label (self->send_button, label);
  /* At 360 px with large text, "Send Test Email", the menu and the window
   * buttons are wider than the header bar: the label then takes two lines
   * rather than pushing the window wider than the screen (its natural
   * width keeps it on one line whenever there is room). */
  child = gtk_button_get_child (self->send_button);
  if (GTK_IS_LABEL (child))
    {
      gtk_label_set_wrap (GTK_LABEL (child), TRUE);
      gtk_label_set_wrap_mode (GTK_LABEL (child), PANGO_WRAP_WORD);
      gtk_label_set_justify (GTK_LABEL (child), GTK_JUSTIFY_CENTER);
    }
}

static void
set_running (HeraldWindow *self,
             gboolean      running)
{
  self->running = !!running;

  if (running)
    {
      _herald_window_set_send_label (self, _("Cancel"));
      gtk_actionable_set_action_name (GTK_ACTIONABLE (self->send_button), "win.cancel");
      gtk_widget_remove_css_class (GTK_WIDGET (self->send_button), "suggested-action");
    }
  else
    {
      _herald_window_set_send_label (self, _("Send Test Email"));
      gtk_actionable_set_action_name (GTK_ACTIONABLE (self->send_button), "win.send");
      gtk_widget_add_css_class (GTK_WIDGET (self->send_button), "suggested-action");
    }

  _herald_window_update_validation (self);
}

static gboolean
run_is_current (HeraldWindow *self,
                RunData      *data)
{
  return self->cancellable == data->cancellable &&
         !g_cancellable_is_cancelled (data->cancellable);
}

static void
progress_cb (const HeraldProgress *progress,
             gpointer              user_data)
{
  RunData *data = user_data;

  if (run_is_current (data->self, data))
    herald_step_list_update (data->self->step_list, progress);
}

/* The reply that accepted the message: the last 250 the server sent, which
 * is not the reply to QUIT when the engine ends politely. */
static char *
dup_final_reply (const HeraldSmtpResult *result)
{
  if (result->transcript != NULL)
    {
      for (guint i = result->transcript->len; i > 0; i--)
        {
          const HeraldTranscriptEntry *entry = g_ptr_array_index (result->transcript, i - 1);

          if (entry->dir == HERALD_TRANSCRIPT_SERVER && entry->text != NULL &&
              g_str_has_prefix (entry->text, "250"))
            return g_strdup (entry->text);
        }
    }

  if (result->reply != NULL && result->reply->raw != NULL)
    return g_strdup (result->reply->raw);

  return g_strdup (_("(no reply)"));
}

static char *
dup_recipients (const HeraldSmtpConfig *config)
{
  g_autoptr(GStrvBuilder) builder = g_strv_builder_new ();
  g_auto(GStrv) all = NULL;

  if (config->to != NULL)
    g_strv_builder_addv (builder, (const char **) config->to);
  if (config->cc != NULL)
    g_strv_builder_addv (builder, (const char **) config->cc);
  all = g_strv_builder_end (builder);
  return g_strjoinv (", ", all);
}

static void
report_copied_cb (HeraldWindow *self)
{
  _herald_window_add_toast (self, _("Report copied to the clipboard"));
}

/* The dialog's one-click fix: the action of the diagnosis it shows. */
static void
error_dialog_fix_cb (HeraldWindow *self)
{
  if (self->failure_diagnosis != NULL)
    _herald_window_apply_fix (self, self->failure_diagnosis->action);
}

/* Keeps whether a secret was set (the report says so) but not its value. */
static void
replace_secret (char **str)
{
  gboolean was_set = *str != NULL && **str != '\0';

  g_clear_pointer (str, herald_secret_free);
  if (was_set)
    *str = g_strdup ("(set)");
}

void
_herald_window_clear_last_failure (HeraldWindow *self)
{
  g_return_if_fail (HERALD_IS_WINDOW (self));

  g_clear_pointer (&self->failure_config, herald_smtp_config_free);
  g_clear_pointer (&self->failure_result, herald_smtp_result_free);
  g_clear_pointer (&self->failure_diagnosis, herald_diagnosis_free);
  g_clear_pointer (&self->failure_notices, g_ptr_array_unref);
}

static void
error_dialog_response_cb (HeraldWindow *self,
                          const char   *response)
{
  if (g_strcmp0 (response, "switch-to-graph") == 0)
    _herald_window_switch_to_graph (self);
}

/* The dialog says which transport failed. The rule's action is the
 * dialog's fix button (herald-window-fixes.c); a rule whose second fix is
 * Graph ("alternative_action": "switch-to-graph", beside OAuth 2.0) gets a
 * response of its own for it. */
static void
name_transport (HeraldWindow      *self,
                HeraldErrorDialog *dialog)
{
  const HeraldDiagnosis *d = self->failure_diagnosis;
  gboolean offer = !self->failure_graph &&
                   d->alternative_action == HERALD_ACTION_SWITCH_TO_GRAPH &&
                   d->action != HERALD_ACTION_SWITCH_TO_GRAPH;

  if (self->failure_graph)
    {
      /* Translators: %s explains a failure */
      g_autofree char *body = g_strdup_printf (_("Sent through Microsoft Graph. %s"),
                                               d->explanation != NULL ? d->explanation : "");

      adw_message_dialog_set_body (ADW_MESSAGE_DIALOG (dialog), body);
    }

  if (offer && !adw_message_dialog_has_response (ADW_MESSAGE_DIALOG (dialog), "switch-to-graph"))
    {
      adw_message_dialog_add_response (ADW_MESSAGE_DIALOG (dialog), "switch-to-graph",
                                       _("Send Through Microsoft Graph"));
      g_signal_connect_object (dialog, "response::switch-to-graph",
                               G_CALLBACK (error_dialog_response_cb), self, G_CONNECT_SWAPPED);
    }
  if (adw_message_dialog_has_response (ADW_MESSAGE_DIALOG (dialog), "switch-to-graph"))
    adw_message_dialog_set_response_enabled (ADW_MESSAGE_DIALOG (dialog), "switch-to-graph", offer);
}

/* Opens the error dialog on the failure the banner shows. One dialog at a
 * time: a new failure refills the open one. */
static void
present_error_dialog (HeraldWindow *self)
{
  HeraldErrorDialog *dialog;

  g_assert (self->failure_diagnosis != NULL);

  if (self->error_dialog != NULL)
    {
      dialog = self->error_dialog;
      herald_error_dialog_set_failure (dialog, self->failure_config, self->failure_result,
                                       self->failure_diagnosis, self->failure_notices);
    }
  else
    {
      dialog = herald_error_dialog_new (GTK_WINDOW (self), self->failure_config,
                                        self->failure_result, self->failure_diagnosis,
                                        self->failure_notices);
      g_set_weak_pointer (&self->error_dialog, dialog);
      g_signal_connect_object (dialog, "report-copied", G_CALLBACK (report_copied_cb),
                               self, G_CONNECT_SWAPPED);
      g_signal_connect_object (dialog, "fix", G_CALLBACK (error_dialog_fix_cb),
                               self, G_CONNECT_SWAPPED);
    }
  herald_error_dialog_set_fix (dialog, _herald_window_get_fix_label (self,
                                                                     self->failure_diagnosis->action));
  name_transport (self, dialog);
  gtk_window_present (GTK_WINDOW (dialog));
}

void
_herald_window_show_failure_details (HeraldWindow *self)
{
  g_return_if_fail (HERALD_IS_WINDOW (self));

  if (self->failure_diagnosis != NULL)
    present_error_dialog (self);
}

static void
history_added_cb (GObject      *object,
                  GAsyncResult *res,
                  gpointer      user_data)
{
  HeraldWindow *self = HERALD_WINDOW (object);
  g_autoptr(GError) error = NULL;

  if (!g_task_propagate_boolean (G_TASK (res), &error))
    {
      g_warning ("%s", error->message);
      return;
    }
  if (self->history_dialog != NULL)
    herald_history_dialog_reload (self->history_dialog);
}

static void
add_history_thread (GTask        *task,
                    gpointer      source_object,
                    gpointer      task_data,
                    GCancellable *cancellable)
{
  GError *error = NULL;

  if (herald_history_add (task_data, &error))
    g_task_return_boolean (task, TRUE);
  else
    g_task_return_error (task, error);
}

/* The test goes into the history that History and "heraldctl history"
 * show. The file is written (under a lock heraldctl may hold) on a worker
 * thread, never on the GTK thread. */
static void
record_history (HeraldWindow           *self,
                const HeraldSmtpConfig *config,
                const HeraldSmtpResult *result,
                const HeraldDiagnosis  *diagnosis,
                GPtrArray              *notices,
                gboolean                graph)
{
  g_autoptr(GTask) task = g_task_new (self, NULL, history_added_cb, NULL);

  g_task_set_source_tag (task, record_history);
  g_task_set_task_data (task, herald_history_entry_new (config, result, diagnosis, notices,
                                                        graph ? "graph" : "smtp"),
                        (GDestroyNotify) herald_history_entry_free);
  g_task_run_in_thread (task, add_history_thread);
}

static void
show_failure (HeraldWindow           *self,
              const HeraldSmtpConfig *config,
              const HeraldSmtpResult *result,
              gboolean                graph)
{
  /* herald_diagnose() also reads the error's text when no rule knows the
   * result (an identity provider's AADSTS codes, for one). */
  g_autoptr(HeraldDiagnosis) diagnosis = herald_diagnose_transport (result, config,
                                                                    graph ? "graph" : "smtp");
  /* The notices are about SMTP servers and ports. */
  g_autoptr(GPtrArray) notices = graph ? g_ptr_array_new_with_free_func (
                                           (GDestroyNotify) herald_diagnosis_free)
                                       : herald_notices (config, result);
  g_autofree char *title = NULL;

  /* Kept while the banner shows the failure, so Details can open the
   * diagnosis again without a second test; the password and the token are
   * not kept. */
  _herald_window_clear_last_failure (self);
  self->failure_config = herald_smtp_config_copy (config);
  replace_secret (&self->failure_config->password);
  replace_secret (&self->failure_config->oauth_token);
  self->failure_result = herald_smtp_result_copy (result);
  self->failure_diagnosis = g_steal_pointer (&diagnosis);
  self->failure_notices = g_steal_pointer (&notices);
  self->failure_graph = graph;
  record_history (self, config, result, self->failure_diagnosis, self->failure_notices, graph);

  if (graph)
    /* Translators: %s says what went wrong */
    title = g_strdup_printf (_("The test through Microsoft Graph failed: %s"),
                             self->failure_diagnosis->title);
  else
    /* Translators: %s says what went wrong, e.g. "The mail server rejected the login" */
    title = g_strdup_printf (_("The test failed: %s"), self->failure_diagnosis->title);
  herald_banner_show_failure (self->banner, title);
  present_error_dialog (self);
}

static void
show_success (HeraldWindow           *self,
              const HeraldSmtpConfig *config,
              const HeraldSmtpResult *result,
              gboolean                graph)
{
  g_autoptr(GPtrArray) notices = NULL;
  g_autofree char *recipients = dup_recipients (config);
  g_autofree char *reply = NULL;
  g_autofree char *elapsed = herald_format_duration (result->elapsed_ms);
  g_autofree char *title = NULL;

  if (graph)
    {
      /* Graph's 202 Accepted says this and no more: not delivered yet. */
      /* Translators: the first %s are the recipients, the second a duration */
      title = g_strdup_printf (_("Microsoft accepted the message for delivery to %s (Microsoft "
                                 "Graph). Total time: %s."), recipients, elapsed);
      herald_banner_show_success (self->banner, title, NULL);
      record_history (self, config, result, NULL, NULL, TRUE);
      return;
    }

  notices = herald_notices (config, result);
  reply = dup_final_reply (result);

  /* Translators: the first %s are the recipients, the second the server's
   * reply (e.g. "250 2.0.0 OK <id>"), the third a duration */
  title = g_strdup_printf (_("Test email sent to %s. The server replied “%s”. Total time: %s."),
                           recipients, reply, elapsed);
  herald_banner_show_success (self->banner, title, notices);
  record_history (self, config, result, NULL, notices, FALSE);
}

static void finish_run (RunData          *data,
                        HeraldSmtpResult *result,
                        const GError     *error);

static void
run_cb (GObject      *object,
        GAsyncResult *res,
        gpointer      user_data)
{
  g_autoptr(RunData) data = user_data;
  g_autoptr(HeraldSmtpResult) result = NULL;
  g_autoptr(GError) error = NULL;

  result = herald_smtp_run_finish (res, &error);
  finish_run (data, result, error);
}

static void
graph_run_cb (GObject      *object,
              GAsyncResult *res,
              gpointer      user_data)
{
  g_autoptr(RunData) data = user_data;
  g_autoptr(HeraldSmtpResult) result = NULL;
  g_autoptr(GError) error = NULL;

  result = herald_graph_transport_test_finish (res, &error);
  finish_run (data, result, error);
}

static void
finish_run (RunData          *data,
            HeraldSmtpResult *result,
            const GError     *error)
{
  HeraldWindow *self = data->self;

  /* Cancel put the window back to idle at once; the test still belongs in
   * the history, with the step it was cancelled in. */
  if (result != NULL && result->error != NULL &&
      g_error_matches (result->error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    record_history (self, data->config, result, NULL, NULL, data->graph);

  /* A cancelled test was already put back to idle by Cancel. */
  if (!run_is_current (self, data))
    return;

  g_clear_object (&self->cancellable);
  set_running (self, FALSE);

  /* The form changed while the test ran: its verdict is for settings the
   * form no longer shows. */
  if (self->stale_run)
    {
      self->stale_run = FALSE;
      herald_step_list_reset (self->step_list);
      _herald_window_add_toast (self, _("The settings changed during the test: send it again "
                                        "to test them"));
      return;
    }

  if (result == NULL)
    {
      herald_step_list_reset (self->step_list);
      if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        _herald_window_add_toast (self, error->message);
      return;
    }

  if (result->error != NULL &&
      g_error_matches (result->error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    {
      herald_step_list_reset (self->step_list);
      return;
    }

  herald_step_list_finish (self->step_list, result);

  if (result->ok)
    show_success (self, data->config, result, data->graph);
  else
    show_failure (self, data->config, result, data->graph);
}

static void
start_engine (HeraldWindow *self,
              RunData      *data)
{
  RunData *progress_data;

  progress_data = g_new0 (RunData, 1);
  progress_data->self = g_object_ref (self);
  progress_data->cancellable = g_object_ref (data->cancellable);

  herald_smtp_run_async (data->config, data->cancellable,
                         progress_cb, progress_data, (GDestroyNotify) run_data_free,
                         run_cb, data);
}

/* The sign-in could not give a token: diagnose it like a failed AUTH. */
static void
show_token_failure (HeraldWindow           *self,
                    const HeraldSmtpConfig *config,
                    const GError           *error)
{
  g_autoptr(HeraldSmtpResult) result = herald_smtp_result_new_failed (HERALD_STAGE_AUTH, error);

  herald_step_list_update (self->step_list,
                           &(HeraldProgress) { HERALD_STAGE_AUTH, HERALD_STEP_FAILED, 0, 0 });
  show_failure (self, config, result, FALSE);
}

/* Microsoft Graph: the token comes from the saved sign-in on the worker,
 * a failure to get one is the result (at the login), as for SMTP. */
static void
start_graph (HeraldWindow *self,
             RunData      *data)
{
  g_autoptr(GError) error = NULL;
  HeraldTransport *transport;
  RunData *progress_data;

  data->graph = TRUE;
  _herald_window_graph_config (self, data->config);
  transport = herald_graph_transport_new_from_settings (self->settings, NULL, &error);
  if (transport == NULL)
    {
      g_autoptr(RunData) owned = data;
      g_autoptr(HeraldSmtpResult) result = herald_smtp_result_new_failed (HERALD_STAGE_RESOLVE,
                                                                          error);

      g_clear_object (&self->cancellable);
      set_running (self, FALSE);
      herald_step_list_finish (self->step_list, result);
      show_failure (self, data->config, result, TRUE);
      return;
    }

  progress_data = g_new0 (RunData, 1);
  progress_data->self = g_object_ref (self);
  progress_data->cancellable = g_object_ref (data->cancellable);
  herald_graph_transport_test_async (transport, data->config, data->cancellable,
                                     progress_cb, progress_data, (GDestroyNotify) run_data_free,
                                     graph_run_cb, data);
}

static void
token_cb (GObject      *object,
          GAsyncResult *res,
          gpointer      user_data)
{
  g_autoptr(RunData) data = user_data;
  HeraldWindow *self = data->self;
  g_autoptr(GError) error = NULL;
  char *token;

  token = herald_oauth_get_access_token_finish (res, &error);

  if (!run_is_current (self, data))
    {
      herald_secret_free (token);
      return;
    }

  if (token == NULL)
    {
      g_clear_object (&self->cancellable);
      set_running (self, FALSE);
      if (self->stale_run)
        {
          self->stale_run = FALSE;
          herald_step_list_reset (self->step_list);
        }
      else
        show_token_failure (self, data->config, error);
      /* A revoked or expired sign-in clears the stored tokens: the group
       * must show "Not signed in" again (and Send follows it). */
      if (g_error_matches (error, HERALD_OAUTH_ERROR, HERALD_OAUTH_ERROR_SIGN_IN_AGAIN) ||
          g_error_matches (error, HERALD_OAUTH_ERROR, HERALD_OAUTH_ERROR_NOT_SIGNED_IN))
        herald_oauth_group_recheck (self->oauth_group);
      return;
    }

  data->config->oauth_token = token;
  start_engine (self, g_steal_pointer (&data));
}

static void
send_action (GtkWidget  *widget,
             const char *action_name,
             GVariant   *parameter)
{
  HeraldWindow *self = HERALD_WINDOW (widget);
  RunData *data;

  if (self->running)
    return;

  /* Commit what is typed in the spin buttons to their values. */
  gtk_spin_button_update (self->port_spin);
  gtk_spin_button_update (self->timeout_spin);

  _herald_window_update_validation (self);
  if (!self->valid)
    {
      /* (The action is disabled then; should it run all the same, it says
       * what is missing, everywhere.) */
      _herald_window_judge_all (self);
      return;
    }

  data = g_new0 (RunData, 1);
  data->self = g_object_ref (self);
  data->config = _herald_window_snapshot_config (self);
  data->cancellable = g_cancellable_new ();

  g_set_object (&self->cancellable, data->cancellable);

  /* Destroyed, not hidden: a hidden toplevel is what GTK 4.8's AT-SPI code
   * trips over (see show_shortcuts_action). */
  if (self->error_dialog != NULL)
    gtk_window_destroy (GTK_WINDOW (self->error_dialog));
  herald_banner_dismiss (self->banner);
  herald_step_list_set_security (self->step_list, _herald_window_is_graph (self)
                                                 ? HERALD_SECURITY_TLS : data->config->security);
  self->stale_run = FALSE;
  set_running (self, TRUE);

  if (_herald_window_is_graph (self))
    {
      start_graph (self, data);
      return;
    }

  _herald_window_store_password (self, data->config);

  if (data->config->auth == HERALD_AUTH_XOAUTH2)
    {
      g_autoptr(HeraldOAuthAccount) account = herald_oauth_account_new_from_settings (self->settings);

      herald_step_list_update (self->step_list,
                               &(HeraldProgress) { HERALD_STAGE_AUTH, HERALD_STEP_STARTED, 0, 0 });
      herald_oauth_get_access_token_async (account, data->cancellable, token_cb, data);
      return;
    }

  start_engine (self, data);
}

static void
cancel_action (GtkWidget  *widget,
               const char *action_name,
               GVariant   *parameter)
{
  HeraldWindow *self = HERALD_WINDOW (widget);

  if (!self->running)
    return;

  /* Back to idle at once; the worker notices the cancellation on its own
   * and its late result is ignored. The steps stay, the running one marked
   * "Cancelled": where a test hung is what the user needs to know. */
  g_cancellable_cancel (self->cancellable);
  g_clear_object (&self->cancellable);
  herald_step_list_cancel (self->step_list);
  set_running (self, FALSE);
}


static void
ca_file_response_cb (GtkNativeDialog *native,
                     int              response,
                     HeraldWindow    *self)
{
  if (response == GTK_RESPONSE_ACCEPT)
    {
      g_autoptr(GFile) file = gtk_file_chooser_get_file (GTK_FILE_CHOOSER (native));
      g_autofree char *path = file ? g_file_get_path (file) : NULL;

      if (path != NULL)
        gtk_editable_set_text (GTK_EDITABLE (self->ca_file_row), path);
    }

  gtk_native_dialog_destroy (native);
  g_object_unref (native);
}

static void
choose_ca_file_action (GtkWidget  *widget,
                       const char *action_name,
                       GVariant   *parameter)
{
  HeraldWindow *self = HERALD_WINDOW (widget);
  GtkFileChooserNative *native;
  g_autoptr(GtkFileFilter) pem = gtk_file_filter_new ();
  g_autoptr(GtkFileFilter) all = gtk_file_filter_new ();

  native = gtk_file_chooser_native_new (_("Choose a CA Certificate File"), GTK_WINDOW (self),
                                        GTK_FILE_CHOOSER_ACTION_OPEN, _("_Open"), _("_Cancel"));
  gtk_native_dialog_set_modal (GTK_NATIVE_DIALOG (native), TRUE);

  gtk_file_filter_set_name (pem, _("PEM certificates"));
  gtk_file_filter_add_pattern (pem, "*.pem");
  gtk_file_filter_add_pattern (pem, "*.crt");
  gtk_file_filter_add_mime_type (pem, "application/x-x509-ca-cert");
  gtk_file_chooser_add_filter (GTK_FILE_CHOOSER (native), pem);
  gtk_file_filter_set_name (all, _("All files"));
  gtk_file_filter_add_pattern (all, "*");
  gtk_file_chooser_add_filter (GTK_FILE_CHOOSER (native), all);

  g_signal_connect (native, "response", G_CALLBACK (ca_file_response_cb), self);
  gtk_native_dialog_show (GTK_NATIVE_DIALOG (native));
}

/* The shortcuts window is built when asked for and destroyed on close. A
 * never-shown toplevel (what GtkApplication's automatic help overlay is)
 * crashes GTK 4.8's AT-SPI code when an assistive technology asks the
 * application for a window index that just went stale, e.g. right after a
 * dialog closed: GTK then answers with the last toplevel, which has no
 * object path. */
static void
show_shortcuts_action (GtkWidget  *widget,
                       const char *action_name,
                       GVariant   *parameter)
{
  HeraldWindow *self = HERALD_WINDOW (widget);
  g_autoptr(GtkBuilder) builder = NULL;
  GtkWindow *shortcuts;

  builder = gtk_builder_new_from_resource ("/io/github/heraldmail/Herald/herald-shortcuts-window.ui");
  shortcuts = GTK_WINDOW (gtk_builder_get_object (builder, "shortcuts_window"));
  gtk_window_set_transient_for (shortcuts, GTK_WINDOW (self));
  gtk_window_set_destroy_with_parent (shortcuts, TRUE);
  gtk_window_present (shortcuts);
}

static void
show_history_action (GtkWidget  *widget,
                     const char *action_name,
                     GVariant   *parameter)
{
  HeraldWindow *self = HERALD_WINDOW (widget);

  if (self->history_dialog == NULL)
    {
      HeraldHistoryDialog *dialog = herald_history_dialog_new (GTK_WINDOW (self));

      g_set_weak_pointer (&self->history_dialog, dialog);
    }
  else
    herald_history_dialog_reload (self->history_dialog);
  gtk_window_present (GTK_WINDOW (self->history_dialog));
}

HeraldHistoryDialog *
_herald_window_get_history_dialog (HeraldWindow *self)
{
  g_return_val_if_fail (HERALD_IS_WINDOW (self), NULL);

  return self->history_dialog;
}

static void
forget_password_action (GtkWidget  *widget,
                        const char *action_name,
                        GVariant   *parameter)
{
  _herald_window_forget_password (HERALD_WINDOW (widget));
}

void
_herald_window_class_add_actions (GtkWidgetClass *widget_class)
{
  gtk_widget_class_install_action (widget_class, "win.send", NULL, send_action);
  gtk_widget_class_install_action (widget_class, "win.cancel", NULL, cancel_action);
  gtk_widget_class_install_action (widget_class, "win.forget-password", NULL,
                                   forget_password_action);
  gtk_widget_class_install_action (widget_class, "win.choose-ca-file", NULL,
                                   choose_ca_file_action);
  gtk_widget_class_install_action (widget_class, "win.show-help-overlay", NULL,
                                   show_shortcuts_action);
  gtk_widget_class_install_action (widget_class, "win.show-history", NULL, show_history_action);

  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_Return, GDK_CONTROL_MASK,
                                       "win.send", NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_KP_Enter, GDK_CONTROL_MASK,
                                       "win.send", NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_Escape, 0, "win.cancel", NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_h, GDK_CONTROL_MASK,
                                       "win.show-history", NULL);
}
