/* SPDX-License-Identifier: GPL-3.0-or-later
 * Copyright 2026 The Herald authors
 */
#define G_LOG_DOMAIN "herald-ui"

#include "config.h"

#include <adwaita.h>
#include <glib/gi18n.h>

#include "herald-step-list.h"

/* The live step list: one row per step with a spinner while it runs, then a
 * tick or a cross and the time it took. Engine progress arrives on the main
 * thread (herald_smtp_run_async invokes it in the caller's context). */

typedef struct {
  AdwActionRow       *row;
  GtkSpinner         *spinner;
  GtkImage           *icon;
  HeraldStepRowState  state;
  gint64              total_ms;
  gint64              started_ms;  /* monotonic, when it last started running */
  char               *status;
} StepRow;

struct _HeraldStepList
{
  GtkWidget   parent_instance;

  GtkListBox *list_box;
  StepRow     rows[HERALD_N_STEPS];
};

G_DEFINE_FINAL_TYPE (HeraldStepList, herald_step_list, GTK_TYPE_WIDGET)

static const char *step_titles[HERALD_N_STEPS] = {
  N_("Resolve"),
  N_("Connect"),
  N_("Encrypt (TLS)"),
  N_("Greeting"),
  N_("Log in"),
  N_("Send"),
};

HeraldStep
herald_step_for_stage (HeraldStage stage)
{
  switch (stage)
    {
    case HERALD_STAGE_RESOLVE:
      return HERALD_STEP_RESOLVE;
    case HERALD_STAGE_CONNECT:
      return HERALD_STEP_CONNECT;
    case HERALD_STAGE_STARTTLS:
    case HERALD_STAGE_TLS:
      return HERALD_STEP_ENCRYPT;
    case HERALD_STAGE_GREETING:
    case HERALD_STAGE_EHLO:
      return HERALD_STEP_GREETING;
    case HERALD_STAGE_AUTH:
      return HERALD_STEP_LOGIN;
    case HERALD_STAGE_MAIL:
    case HERALD_STAGE_RCPT:
    case HERALD_STAGE_DATA:
    case HERALD_STAGE_QUIT:
      return HERALD_STEP_SEND;
    case HERALD_STAGE_DONE:
    case HERALD_N_STAGES:
    default:
      return HERALD_N_STEPS;
    }
}

char *
herald_format_duration (gint64 ms)
{
  if (ms < 0)
    ms = 0;
  if (ms < 1000)
    /* Translators: a duration in milliseconds */
    return g_strdup_printf (_("%d ms"), (int) ms);
  /* Translators: a duration in seconds, with one decimal */
  return g_strdup_printf (_("%.1f s"), ms / 1000.0);
}

static void
set_row_state (StepRow            *step,
               HeraldStepRowState  state)
{
  g_autofree char *duration = herald_format_duration (step->total_ms);
  const char *icon_name = NULL;
  const char *icon_label = NULL;
  const char *icon_class = NULL;

  step->state = state;
  g_free (step->status);

  switch (state)
    {
    case HERALD_STEP_STATE_PENDING:
      step->status = g_strdup ("");
      break;
    case HERALD_STEP_STATE_RUNNING:
      step->status = g_strdup (_("Running…"));
      break;
    case HERALD_STEP_STATE_DONE:
      step->status = g_strdup (duration);
      icon_name = "emblem-ok-symbolic";
      icon_label = _("Done");
      icon_class = "success";
      break;
    case HERALD_STEP_STATE_FAILED:
      /* Translators: %s is a duration such as "12 ms" */
      step->status = g_strdup_printf (_("Failed after %s"), duration);
      icon_name = "process-stop-symbolic";
      icon_label = _("Failed");
      icon_class = "error";
      break;
    case HERALD_STEP_STATE_SKIPPED:
      step->status = g_strdup (_("Not needed"));
      icon_name = "list-remove-symbolic";
      icon_label = _("Not needed");
      icon_class = "dim-label";
      break;
    case HERALD_STEP_STATE_CANCELLED:
      /* Translators: %s is a duration such as "12 ms" */
      step->status = g_strdup_printf (_("Cancelled after %s"), duration);
      icon_name = "media-playback-stop-symbolic";
      icon_label = _("Cancelled");
      icon_class = "dim-label";
      break;
    default:
      g_assert_not_reached ();
    }

  adw_action_row_set_subtitle (step->row, step->status);

  /* One spinner and one image per row (a GtkStack would expose every page
   * to assistive technologies). */
  gtk_spinner_set_spinning (step->spinner, state == HERALD_STEP_STATE_RUNNING);
  gtk_widget_set_visible (GTK_WIDGET (step->spinner), state == HERALD_STEP_STATE_RUNNING);
  gtk_widget_set_visible (GTK_WIDGET (step->icon), icon_name != NULL);
  gtk_widget_remove_css_class (GTK_WIDGET (step->icon), "success");
  gtk_widget_remove_css_class (GTK_WIDGET (step->icon), "error");
  gtk_widget_remove_css_class (GTK_WIDGET (step->icon), "dim-label");
  if (icon_name != NULL)
    {
      gtk_image_set_from_icon_name (step->icon, icon_name);
      gtk_widget_add_css_class (GTK_WIDGET (step->icon), icon_class);
      gtk_accessible_update_property (GTK_ACCESSIBLE (step->icon),
                                      GTK_ACCESSIBLE_PROPERTY_LABEL, icon_label,
                                      -1);
    }
}

static void
herald_step_list_dispose (GObject *object)
{
  HeraldStepList *self = HERALD_STEP_LIST (object);
  GtkWidget *child;

  while ((child = gtk_widget_get_first_child (GTK_WIDGET (self))))
    gtk_widget_unparent (child);
  self->list_box = NULL;

  G_OBJECT_CLASS (herald_step_list_parent_class)->dispose (object);
}

static void
herald_step_list_finalize (GObject *object)
{
  HeraldStepList *self = HERALD_STEP_LIST (object);

  for (guint i = 0; i < HERALD_N_STEPS; i++)
    g_free (self->rows[i].status);

  G_OBJECT_CLASS (herald_step_list_parent_class)->finalize (object);
}

static void
herald_step_list_class_init (HeraldStepListClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = herald_step_list_dispose;
  object_class->finalize = herald_step_list_finalize;

  gtk_widget_class_set_layout_manager_type (widget_class, GTK_TYPE_BIN_LAYOUT);
  gtk_widget_class_set_css_name (widget_class, "heraldsteplist");
  gtk_widget_class_set_accessible_role (widget_class, GTK_ACCESSIBLE_ROLE_GROUP);
}

static void
herald_step_list_init (HeraldStepList *self)
{
  self->list_box = GTK_LIST_BOX (gtk_list_box_new ());
  gtk_list_box_set_selection_mode (self->list_box, GTK_SELECTION_NONE);
  gtk_widget_add_css_class (GTK_WIDGET (self->list_box), "boxed-list");
  gtk_widget_set_parent (GTK_WIDGET (self->list_box), GTK_WIDGET (self));
  gtk_accessible_update_property (GTK_ACCESSIBLE (self->list_box),
                                  GTK_ACCESSIBLE_PROPERTY_LABEL, _("Test steps"),
                                  -1);

  for (guint i = 0; i < HERALD_N_STEPS; i++)
    {
      StepRow *step = &self->rows[i];
      GtkWidget *prefix = gtk_box_new (GTK_ORIENTATION_HORIZONTAL, 0);

      step->row = ADW_ACTION_ROW (adw_action_row_new ());
      adw_preferences_row_set_title (ADW_PREFERENCES_ROW (step->row), _(step_titles[i]));

      step->spinner = GTK_SPINNER (gtk_spinner_new ());
      gtk_accessible_update_property (GTK_ACCESSIBLE (step->spinner),
                                      GTK_ACCESSIBLE_PROPERTY_LABEL, _("Running"),
                                      -1);
      step->icon = GTK_IMAGE (gtk_image_new ());
      gtk_box_append (GTK_BOX (prefix), GTK_WIDGET (step->spinner));
      gtk_box_append (GTK_BOX (prefix), GTK_WIDGET (step->icon));
      gtk_widget_set_size_request (prefix, 16, 16);
      gtk_widget_set_valign (prefix, GTK_ALIGN_CENTER);
      adw_action_row_add_prefix (step->row, prefix);

      set_row_state (step, HERALD_STEP_STATE_PENDING);
      gtk_list_box_append (self->list_box, GTK_WIDGET (step->row));
    }
}

GtkWidget *
herald_step_list_new (void)
{
  return g_object_new (HERALD_TYPE_STEP_LIST, NULL);
}

void
herald_step_list_reset (HeraldStepList *self)
{
  g_return_if_fail (HERALD_IS_STEP_LIST (self));

  for (guint i = 0; i < HERALD_N_STEPS; i++)
    {
      self->rows[i].total_ms = 0;
      set_row_state (&self->rows[i], HERALD_STEP_STATE_PENDING);
    }
}

void
herald_step_list_update (HeraldStepList       *self,
                         const HeraldProgress *progress)
{
  HeraldStep index;
  StepRow *step;

  g_return_if_fail (HERALD_IS_STEP_LIST (self));
  g_return_if_fail (progress != NULL);

  index = herald_step_for_stage (progress->stage);
  if (index >= HERALD_N_STEPS)
    return;

  step = &self->rows[index];

  switch (progress->state)
    {
    case HERALD_STEP_STARTED:
      step->started_ms = g_get_monotonic_time () / 1000;
      if (step->state != HERALD_STEP_STATE_FAILED)
        set_row_state (step, HERALD_STEP_STATE_RUNNING);
      break;
    case HERALD_STEP_SUCCEEDED:
      step->total_ms += MAX (progress->duration, 0);
      if (step->state != HERALD_STEP_STATE_FAILED)
        set_row_state (step, HERALD_STEP_STATE_DONE);
      break;
    case HERALD_STEP_FAILED:
      step->total_ms += MAX (progress->duration, 0);
      set_row_state (step, HERALD_STEP_STATE_FAILED);
      break;
    default:
      break;
    }
}

void
herald_step_list_finish (HeraldStepList *self,
                         gboolean        ok)
{
  g_return_if_fail (HERALD_IS_STEP_LIST (self));

  for (guint i = 0; i < HERALD_N_STEPS; i++)
    {
      StepRow *step = &self->rows[i];

      if (step->state == HERALD_STEP_STATE_RUNNING)
        set_row_state (step, ok ? HERALD_STEP_STATE_DONE : HERALD_STEP_STATE_FAILED);
      else if (step->state == HERALD_STEP_STATE_PENDING && ok)
        set_row_state (step, HERALD_STEP_STATE_SKIPPED);
    }
}

void
herald_step_list_cancel (HeraldStepList *self)
{
  g_return_if_fail (HERALD_IS_STEP_LIST (self));

  for (guint i = 0; i < HERALD_N_STEPS; i++)
    {
      StepRow *step = &self->rows[i];

      if (step->state == HERALD_STEP_STATE_RUNNING)
        {
          /* The time it ran so far: a hang shows as a long one. */
          step->total_ms += MAX (g_get_monotonic_time () / 1000 - step->started_ms, 0);
          set_row_state (step, HERALD_STEP_STATE_CANCELLED);
        }
    }
}

HeraldStepRowState
herald_step_list_get_state (HeraldStepList *self,
                            HeraldStep      step)
{
  g_return_val_if_fail (HERALD_IS_STEP_LIST (self), HERALD_STEP_STATE_PENDING);
  g_return_val_if_fail (step < HERALD_N_STEPS, HERALD_STEP_STATE_PENDING);

  return self->rows[step].state;
}

const char *
herald_step_list_get_title (HeraldStepList *self,
                            HeraldStep      step)
{
  g_return_val_if_fail (HERALD_IS_STEP_LIST (self), NULL);
  g_return_val_if_fail (step < HERALD_N_STEPS, NULL);

  return adw_preferences_row_get_title (ADW_PREFERENCES_ROW (self->rows[step].row));
}

const char *
herald_step_list_get_status (HeraldStepList *self,
                             HeraldStep      step)
{
  g_return_val_if_fail (HERALD_IS_STEP_LIST (self), NULL);
  g_return_val_if_fail (step < HERALD_N_STEPS, NULL);

  return self->rows[step].status;
}
