/* SPDX-License-Identifier: GPL-3.0-or-later
 * Copyright 2026 The Herald authors
 */
#define G_LOG_DOMAIN "herald-ui"

#include "config.h"

#include <string.h>
#include <glib/gi18n.h>

#include "herald-window-private.h"

/* The form's validation as the user types: which field is wrong and why,
 * shown beside the field, and whether Send Test Email may run. */

static gboolean
has_line_break (const char *text)
{
  return text != NULL && strpbrk (text, "\r\n") != NULL;
}

static void
mark_row (gpointer row,
          gboolean error)
{
  if (error)
    gtk_widget_add_css_class (GTK_WIDGET (row), "error");
  else
    gtk_widget_remove_css_class (GTK_WIDGET (row), "error");
}

/* A reason belongs to the row that is wrong and shows under it (and in the
 * list under the steps) once that row is judged: when the user has left it,
 * when it held a value when the window opened, or when Send was tried. A
 * fresh form shows no errors, and "ops@" is not called wrong while it is
 * being typed. Reasons without a row (the OAuth sign-in) always show. Every
 * reason is in validation_message, Send's tooltip. */
#define REASON_KEY     "herald-reason"      /* the row's reason now (owned) */
#define JUDGED_KEY     "herald-judged"
#define REASON_ROW_KEY "herald-reason-row"  /* the row below it, with the label */

static void
add_reason (GPtrArray *reasons,
            gpointer   row,
            char      *reason)
{
  /* A row shows its first reason. */
  if (row != NULL && g_object_get_data (G_OBJECT (row), REASON_KEY) == NULL)
    g_object_set_data_full (G_OBJECT (row), REASON_KEY, g_strdup (reason), g_free);
  g_ptr_array_add (reasons, reason);
}

/* The row under @row that holds its reason, made when first needed: a plain
 * preferences row in the same boxed list, neither activatable nor a Tab
 * stop, with an error-styled label. */
static GtkLabel *
ensure_reason_label (GtkWidget *row)
{
  GtkWidget *reason_row = g_object_get_data (G_OBJECT (row), REASON_ROW_KEY);
  GtkWidget *list = gtk_widget_get_parent (row);
  GtkWidget *label;

  if (reason_row != NULL)
    return GTK_LABEL (gtk_list_box_row_get_child (GTK_LIST_BOX_ROW (reason_row)));
  if (!GTK_IS_LIST_BOX (list))
    return NULL;

  label = gtk_label_new (NULL);
  gtk_label_set_wrap (GTK_LABEL (label), TRUE);
  gtk_label_set_wrap_mode (GTK_LABEL (label), PANGO_WRAP_WORD_CHAR);
  gtk_label_set_xalign (GTK_LABEL (label), 0.0);
  gtk_widget_set_margin_start (label, 12);
  gtk_widget_set_margin_end (label, 12);
  gtk_widget_set_margin_top (label, 6);
  gtk_widget_set_margin_bottom (label, 6);
  gtk_widget_add_css_class (label, "error");
  gtk_widget_add_css_class (label, "caption");

  reason_row = adw_preferences_row_new ();
  gtk_list_box_row_set_activatable (GTK_LIST_BOX_ROW (reason_row), FALSE);
  gtk_list_box_row_set_selectable (GTK_LIST_BOX_ROW (reason_row), FALSE);
  gtk_widget_set_focusable (reason_row, FALSE);
  gtk_widget_add_css_class (reason_row, "herald-reason");
  gtk_list_box_row_set_child (GTK_LIST_BOX_ROW (reason_row), label);
  gtk_widget_set_visible (reason_row, FALSE);
  gtk_list_box_insert (GTK_LIST_BOX (list), reason_row,
                       gtk_list_box_row_get_index (GTK_LIST_BOX_ROW (row)) + 1);
  g_object_set_data (G_OBJECT (row), REASON_ROW_KEY, reason_row);

  return GTK_LABEL (label);
}

static gboolean
reason_shown (GtkWidget *row)
{
  GtkWidget *reason_row = g_object_get_data (G_OBJECT (row), REASON_ROW_KEY);

  return reason_row != NULL && gtk_widget_get_visible (reason_row);
}

/* Shows or hides @row's reason and marks the row, for the eye (the error
 * style) and for a screen reader (invalid, described by the reason). */
static void
show_row_reason (GtkWidget  *row,
                 const char *reason)
{
  GtkLabel *label = reason != NULL ? ensure_reason_label (row) : NULL;
  GtkWidget *reason_row = g_object_get_data (G_OBJECT (row), REASON_ROW_KEY);

  mark_row (row, reason != NULL);
  if (label != NULL)
    {
      gtk_label_set_text (label, reason);
      gtk_widget_set_visible (reason_row, TRUE);
      gtk_accessible_update_relation (GTK_ACCESSIBLE (row),
                                      GTK_ACCESSIBLE_RELATION_DESCRIBED_BY, label, NULL,
                                      -1);
      gtk_accessible_update_state (GTK_ACCESSIBLE (row),
                                   GTK_ACCESSIBLE_STATE_INVALID, GTK_ACCESSIBLE_INVALID_TRUE,
                                   -1);
    }
  else
    {
      if (reason_row != NULL)
        gtk_widget_set_visible (reason_row, FALSE);
      gtk_accessible_reset_relation (GTK_ACCESSIBLE (row), GTK_ACCESSIBLE_RELATION_DESCRIBED_BY);
      gtk_accessible_update_state (GTK_ACCESSIBLE (row),
                                   GTK_ACCESSIBLE_STATE_INVALID, GTK_ACCESSIBLE_INVALID_FALSE,
                                   -1);
    }
}

#define N_VALIDATED_ROWS 11

/* The rows a reason can belong to, in the form's order. */
static void
get_validated_rows (HeraldWindow *self,
                    GtkWidget    *rows[N_VALIDATED_ROWS])
{
  GtkWidget *all[N_VALIDATED_ROWS] = {
    GTK_WIDGET (self->server_row), GTK_WIDGET (self->port_row),
    GTK_WIDGET (self->username_row), GTK_WIDGET (self->password_row),
    GTK_WIDGET (self->from_row), GTK_WIDGET (self->to_row), GTK_WIDGET (self->cc_row),
    GTK_WIDGET (self->subject_row), GTK_WIDGET (self->extra_text_row),
    GTK_WIDGET (self->ca_file_row), GTK_WIDGET (self->timeout_row),
  };

  memcpy (rows, all, sizeof all);
}

static void
set_judged (GtkWidget *row,
            gboolean   judged)
{
  g_object_set_data (G_OBJECT (row), JUDGED_KEY, GINT_TO_POINTER (judged));
}

static gboolean
get_judged (GtkWidget *row)
{
  return GPOINTER_TO_INT (g_object_get_data (G_OBJECT (row), JUDGED_KEY));
}

void
_herald_window_judge_all (HeraldWindow *self)
{
  GtkWidget *rows[N_VALIDATED_ROWS];

  g_return_if_fail (HERALD_IS_WINDOW (self));

  get_validated_rows (self, rows);
  for (guint i = 0; i < N_VALIDATED_ROWS; i++)
    set_judged (rows[i], TRUE);
  _herald_window_update_validation (self);
}

/* Focus left the row: from now on it is judged. */
static void
row_focus_leave_cb (GtkEventControllerFocus *controller,
                    HeraldWindow            *self)
{
  if (self->disposed)
    return;
  set_judged (gtk_event_controller_get_widget (GTK_EVENT_CONTROLLER (controller)), TRUE);
  _herald_window_update_validation (self);
}

/* Back in the row: a reason on show stays (the hint while fixing it, gone
 * at the keystroke that fixes it); otherwise nothing is judged until the
 * user leaves again. */
static void
row_focus_enter_cb (GtkEventControllerFocus *controller,
                    HeraldWindow            *self)
{
  GtkWidget *row = gtk_event_controller_get_widget (GTK_EVENT_CONTROLLER (controller));

  if (self->disposed)
    return;
  if (!reason_shown (row))
    set_judged (row, FALSE);
}

void
_herald_window_init_validation (HeraldWindow *self)
{
  GtkWidget *rows[N_VALIDATED_ROWS];

  get_validated_rows (self, rows);
  for (guint i = 0; i < N_VALIDATED_ROWS; i++)
    {
      GtkEventController *focus = gtk_event_controller_focus_new ();
      GtkEditable *editable = GTK_IS_EDITABLE (rows[i]) ? GTK_EDITABLE (rows[i]) : NULL;

      g_signal_connect_object (focus, "enter", G_CALLBACK (row_focus_enter_cb), self, 0);
      g_signal_connect_object (focus, "leave", G_CALLBACK (row_focus_leave_cb), self, 0);
      gtk_widget_add_controller (rows[i], focus);

      /* What the settings brought was typed in an earlier session: judged.
       * The spin buttons' rows always hold a number. */
      set_judged (rows[i], editable == NULL || *gtk_editable_get_text (editable) != '\0');
    }
}

void
_herald_window_update_validation (HeraldWindow *self)
{
  g_autoptr(GPtrArray) reasons = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GPtrArray) shown = g_ptr_array_new ();
  /* Each row is checked by the engine's own check of that setting
   * (herald_smtp_check_field(), which heraldctl config set uses too), so a
   * value the window accepts is one the engine and heraldctl accept. */
  struct { gpointer row; const char *key; } rows_by_key[] = {
    { self->server_row, "server" },
    { self->port_row, "port" },
    { self->username_row, "username" },
    { self->from_row, "from" },
    { self->to_row, "to" },
    { self->cc_row, "cc" },
    { self->subject_row, "subject" },
    { self->extra_text_row, "extra-text" },
    { self->ca_file_row, "ca-file" },
    { self->timeout_row, "timeout" },
  };
  /* Microsoft Graph always signs in with OAuth 2.0, whatever the method row says. */
  const char *auth = _herald_window_is_graph (self) ? "xoauth2" : _herald_window_get_auth_id (self);
  GtkWidget *rows[N_VALIDATED_ROWS];
  g_autofree char *shown_text = NULL;

  if (self->disposed)
    return;

  get_validated_rows (self, rows);
  for (guint i = 0; i < N_VALIDATED_ROWS; i++)
    g_object_set_data (G_OBJECT (rows[i]), REASON_KEY, NULL);

  for (guint i = 0; i < G_N_ELEMENTS (rows_by_key); i++)
    {
      GtkEditable *editable;
      char *message = NULL;

      /* Microsoft Graph has no server or port to type (they hide). */
      if (_herald_window_is_graph (self) &&
          (rows_by_key[i].row == self->server_row || rows_by_key[i].row == self->port_row))
        continue;

      /* The spin buttons' text as typed: 70000 is refused, not clamped. */
      if (rows_by_key[i].row == self->port_row)
        editable = GTK_EDITABLE (self->port_spin);
      else if (rows_by_key[i].row == self->timeout_row)
        editable = GTK_EDITABLE (self->timeout_spin);
      else
        editable = GTK_EDITABLE (rows_by_key[i].row);

      if (!herald_smtp_check_field (rows_by_key[i].key, gtk_editable_get_text (editable), &message))
        add_reason (reasons, rows_by_key[i].row, message);
      /* The additional text is one line in the form: a pasted line break
       * would never show. */
      else if (rows_by_key[i].row == self->extra_text_row &&
               has_line_break (gtk_editable_get_text (editable)))
        add_reason (reasons, rows_by_key[i].row,
                    g_strdup_printf (_("%s must not contain line breaks."), _("Additional text")));
    }

  /* The password is no setting (it lives in the keyring): only its line. */
  if (has_line_break (gtk_editable_get_text (GTK_EDITABLE (self->password_row))))
    /* Translators: %s is a field name such as "Subject" */
    add_reason (reasons, self->password_row,
                g_strdup_printf (_("%s must not contain line breaks."), _("Password")));

  if ((g_str_equal (auth, "plain") || g_str_equal (auth, "login") || g_str_equal (auth, "xoauth2")) &&
      *gtk_editable_get_text (GTK_EDITABLE (self->username_row)) == '\0')
    {
      add_reason (reasons, self->username_row,
                  g_strdup (_("Enter the username for this authentication method.")));
    }
  else if (g_str_equal (auth, "xoauth2") && self->oauth_group != NULL)
    {
      /* Without tokens the test could only fail before connecting: say so
       * here, where Sign In is, rather than after pressing Send. */
      if (herald_oauth_group_get_checking (self->oauth_group))
        add_reason (reasons, NULL, g_strdup (_("Checking the keyring for the OAuth 2.0 sign-in…")));
      else if (herald_oauth_group_get_busy (self->oauth_group))
        add_reason (reasons, NULL, g_strdup (_("Finish signing in (OAuth 2.0) first.")));
      else if (!herald_oauth_group_get_signed_in (self->oauth_group))
        add_reason (reasons, NULL,
                    g_strdup (_("Not signed in: press Sign In under OAuth 2.0 Sign-In.")));
    }

  /* Whatever the checks above missed, the engine's own validation catches:
   * it is the same function the worker runs before connecting. It checks the
   * form only; credentials are the sign-in's and the keyring's business. */
  if (reasons->len == 0)
    {
      g_autoptr(HeraldSmtpConfig) config = _herald_window_snapshot_config (self);
      g_autoptr(GError) error = NULL;

      if (_herald_window_is_graph (self))
        _herald_window_graph_config (self, config);
      if (!herald_smtp_config_validate (config, &error))
        add_reason (reasons, NULL, g_strdup (error->message));
    }

  /* Under each judged row its reason; in the list, those and the reasons
   * that belong to no row. */
  for (guint i = 0; i < N_VALIDATED_ROWS; i++)
    {
      const char *reason = g_object_get_data (G_OBJECT (rows[i]), REASON_KEY);

      show_row_reason (rows[i], get_judged (rows[i]) ? reason : NULL);
    }
  for (guint i = 0; i < reasons->len; i++)
    {
      const char *reason = g_ptr_array_index (reasons, i);
      gboolean of_row = FALSE, judged = FALSE;

      for (guint j = 0; j < N_VALIDATED_ROWS && !of_row; j++)
        {
          const char *row_reason = g_object_get_data (G_OBJECT (rows[j]), REASON_KEY);

          if (row_reason != NULL && g_str_equal (row_reason, reason))
            {
              of_row = TRUE;
              judged = get_judged (rows[j]);
            }
        }
      if (!of_row || judged)
        g_ptr_array_add (shown, (gpointer) reason);
    }

  g_clear_pointer (&self->validation_message, g_free);
  if (reasons->len > 0)
    {
      g_ptr_array_add (reasons, NULL);
      self->validation_message = g_strjoinv ("\n", (char **) reasons->pdata);
    }
  g_ptr_array_add (shown, NULL);
  shown_text = g_strjoinv ("\n", (char **) shown->pdata);

  self->valid = self->validation_message == NULL;
  gtk_label_set_text (self->validation_label, shown_text);
  gtk_widget_set_visible (GTK_WIDGET (self->validation_label),
                          *shown_text != '\0' && !self->running);
  gtk_widget_set_tooltip_text (GTK_WIDGET (self->send_button),
                               self->running ? NULL : self->validation_message);
  _herald_window_update_actions (self);
}

const char *
_herald_window_get_row_reason (HeraldWindow *self,
                               const char   *name)
{
  GtkWidget *row = _herald_window_get_widget (self, name);
  GtkWidget *reason_row;

  if (GTK_IS_SPIN_BUTTON (row))
    row = gtk_widget_get_ancestor (row, ADW_TYPE_ACTION_ROW);
  reason_row = g_object_get_data (G_OBJECT (row), REASON_ROW_KEY);
  if (reason_row == NULL || !gtk_widget_get_visible (reason_row))
    return NULL;
  return gtk_label_get_text (GTK_LABEL (gtk_list_box_row_get_child (GTK_LIST_BOX_ROW (reason_row))));
}
