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
  char               *status;
} StepRow;

struct _HeraldStepList
{
  GtkWidget          parent_instance;

  HeraldStepTracker *tracker;
  HeraldSecurity     security;     /* the rows are in this security's order */

  GtkListBox        *list_box;
  StepRow            rows[HERALD_N_STEPS];
};

G_DEFINE_FINAL_TYPE (HeraldStepList, herald_step_list, GTK_TYPE_WIDGET)

static void
set_row_state (StepRow            *step,
               HeraldStepRowState  state,
               gint64              total_ms)
{
  g_autofree char *duration = herald_format_duration (total_ms);
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
  g_clear_pointer (&self->tracker, herald_step_tracker_free);

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

/* Shows what the model says about every step. */
static void
sync_rows (HeraldStepList *self)
{
  for (guint i = 0; i < HERALD_N_STEPS; i++)
    {
      HeraldStepRowState state = herald_step_tracker_get_status (self->tracker, i);
      gint64 ms = herald_step_tracker_get_ms (self->tracker, i);

      set_row_state (&self->rows[i], state, ms);
    }
}

/* The rows in the model's order: the order the steps really happen. */
static void
order_rows (HeraldStepList *self)
{
  const HeraldStep *order = herald_step_tracker_get_order (self->tracker);

  for (guint i = 0; i < HERALD_N_STEPS; i++)
    {
      GtkWidget *row = GTK_WIDGET (self->rows[order[i]].row);

      if (gtk_widget_get_parent (row) != NULL)
        {
          g_object_ref (row);
          gtk_list_box_remove (self->list_box, row);
          gtk_list_box_append (self->list_box, row);
          g_object_unref (row);
        }
      else
        gtk_list_box_append (self->list_box, row);
    }
}

static void
herald_step_list_init (HeraldStepList *self)
{
  self->security = HERALD_SECURITY_STARTTLS;
  self->tracker = herald_step_tracker_new (self->security);

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
      adw_preferences_row_set_title (ADW_PREFERENCES_ROW (step->row), herald_step_get_title (i));
      /* A step is read, not used: no Tab stop, nothing to activate (a
       * screen reader still reads the list). */
      gtk_widget_set_focusable (GTK_WIDGET (step->row), FALSE);
      gtk_list_box_row_set_activatable (GTK_LIST_BOX_ROW (step->row), FALSE);

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
    }

  order_rows (self);
  sync_rows (self);
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

  herald_step_tracker_reset (self->tracker, self->security);
  sync_rows (self);
}

void
herald_step_list_set_security (HeraldStepList *self,
                               HeraldSecurity  security)
{
  g_return_if_fail (HERALD_IS_STEP_LIST (self));

  /* Moving rows rebuilds their part of the accessibility tree: only when
   * the order really changes (implicit TLS and back). */
  if (herald_step_order (security) != herald_step_order (self->security))
    {
      self->security = security;
      herald_step_tracker_reset (self->tracker, security);
      order_rows (self);
    }
  else
    {
      self->security = security;
      herald_step_tracker_reset (self->tracker, security);
    }
  sync_rows (self);
}

void
herald_step_list_update (HeraldStepList       *self,
                         const HeraldProgress *progress)
{
  g_return_if_fail (HERALD_IS_STEP_LIST (self));
  g_return_if_fail (progress != NULL);

  if (herald_step_tracker_update (self->tracker, progress) != HERALD_STEP_NONE)
    sync_rows (self);
}

void
herald_step_list_finish (HeraldStepList         *self,
                         const HeraldSmtpResult *result)
{
  g_return_if_fail (HERALD_IS_STEP_LIST (self));

  herald_step_tracker_finish (self->tracker, result);
  sync_rows (self);
}

HeraldStep
herald_step_list_get_step_at (HeraldStepList *self,
                              guint           position)
{
  GtkListBoxRow *row;

  g_return_val_if_fail (HERALD_IS_STEP_LIST (self), HERALD_STEP_NONE);

  row = gtk_list_box_get_row_at_index (self->list_box, position);
  for (guint i = 0; row != NULL && i < HERALD_N_STEPS; i++)
    {
      if (GTK_LIST_BOX_ROW (self->rows[i].row) == row)
        return i;
    }

  return HERALD_STEP_NONE;
}

void
herald_step_list_cancel (HeraldStepList *self)
{
  g_return_if_fail (HERALD_IS_STEP_LIST (self));

  herald_step_tracker_cancel (self->tracker);
  sync_rows (self);
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
