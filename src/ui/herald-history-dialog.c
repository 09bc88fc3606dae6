/* SPDX-License-Identifier: GPL-3.0-or-later
 * Copyright 2026 The Herald authors
 */
#define G_LOG_DOMAIN "herald-ui"

#include "config.h"

#include <glib/gi18n.h>

#include "herald-error-dialog.h"
#include "herald-history.h"
#include "herald-history-dialog.h"

struct _HeraldHistoryDialog
{
  AdwWindow       parent_instance;

  GPtrArray      *entries;        /* of HeraldHistoryEntry */
  char           *message;        /* shown instead of the list, or NULL */
  const char     *report;         /* the entry's on show, or NULL */
  HeraldErrorDialog *error_dialog;  /* a failed entry's diagnosis on show, or NULL */

  GtkWidget      *back_button;
  GtkWidget      *copy_button;
  GtkStack       *stack;
  GtkListBox     *list;
  AdwStatusPage  *status_page;
  GtkTextView    *report_view;
};

G_DEFINE_FINAL_TYPE (HeraldHistoryDialog, herald_history_dialog, ADW_TYPE_WINDOW)

static void
show_list (HeraldHistoryDialog *self)
{
  self->report = NULL;
  gtk_stack_set_visible_child_name (self->stack, self->message != NULL ? "message" : "list");
  gtk_widget_set_visible (self->back_button, FALSE);
  gtk_widget_set_visible (self->copy_button, FALSE);
  gtk_window_set_title (GTK_WINDOW (self), _("History"));
}

void
herald_history_dialog_show_report (HeraldHistoryDialog *self,
                                   guint                index)
{
  const HeraldHistoryEntry *entry;

  g_return_if_fail (HERALD_IS_HISTORY_DIALOG (self));
  g_return_if_fail (self->entries != NULL && index < self->entries->len);

  entry = g_ptr_array_index (self->entries, index);
  self->report = entry->report;
  gtk_text_buffer_set_text (gtk_text_view_get_buffer (self->report_view), entry->report, -1);
  gtk_stack_set_visible_child_name (self->stack, "report");
  gtk_widget_set_visible (self->back_button, TRUE);
  gtk_widget_set_visible (self->copy_button, TRUE);
  gtk_window_set_title (GTK_WINDOW (self), _("Test Report"));
  /* Focus to the report, so that a screen reader reads it and Escape or
   * the Back button return to the same list. */
  gtk_widget_grab_focus (GTK_WIDGET (self->report_view));
}

void
herald_history_dialog_open_entry (HeraldHistoryDialog *self,
                                  guint                index)
{
  const HeraldHistoryEntry *entry;

  g_return_if_fail (HERALD_IS_HISTORY_DIALOG (self));
  g_return_if_fail (self->entries != NULL && index < self->entries->len);

  entry = g_ptr_array_index (self->entries, index);
  if (entry->diagnosis == NULL)
    {
      herald_history_dialog_show_report (self, index);
      return;
    }

  /* A failed test: its diagnosis in the dialog the test itself showed,
   * over this window (one at a time). */
  if (self->error_dialog != NULL)
    gtk_window_destroy (GTK_WINDOW (self->error_dialog));
  self->error_dialog = herald_error_dialog_new_for_record (GTK_WINDOW (self), entry->diagnosis,
                                                           entry->report);
  g_object_add_weak_pointer (G_OBJECT (self->error_dialog), (gpointer *) &self->error_dialog);
  gtk_window_set_modal (GTK_WINDOW (self->error_dialog), TRUE);
  gtk_window_set_destroy_with_parent (GTK_WINDOW (self->error_dialog), TRUE);
  if (g_strcmp0 (entry->transport, "graph") == 0)
    {
      /* Translators: %s explains a failure */
      g_autofree char *body = g_strdup_printf (_("Sent through Microsoft Graph. %s"),
                                               entry->diagnosis->explanation != NULL
                                                 ? entry->diagnosis->explanation : "");

      adw_message_dialog_set_body (ADW_MESSAGE_DIALOG (self->error_dialog), body);
    }
  gtk_window_present (GTK_WINDOW (self->error_dialog));
}

HeraldErrorDialog *
herald_history_dialog_get_error_dialog (HeraldHistoryDialog *self)
{
  g_return_val_if_fail (HERALD_IS_HISTORY_DIALOG (self), NULL);

  return self->error_dialog;
}

static void
row_activated_cb (GtkListBox          *list,
                  GtkListBoxRow       *row,
                  HeraldHistoryDialog *self)
{
  herald_history_dialog_open_entry (self, gtk_list_box_row_get_index (row));
}

static void
back_clicked_cb (HeraldHistoryDialog *self)
{
  show_list (self);
}

static void
copy_clicked_cb (HeraldHistoryDialog *self)
{
  if (self->report == NULL)
    return;
  gdk_clipboard_set_text (gtk_widget_get_clipboard (GTK_WIDGET (self)), self->report);
  gtk_button_set_icon_name (GTK_BUTTON (self->copy_button), "object-select-symbolic");
}

static const char *
outcome_icon (const char *outcome)
{
  if (g_str_equal (outcome, "sent"))
    return "emblem-ok-symbolic";
  if (g_str_equal (outcome, "cancelled"))
    return "process-stop-symbolic";
  return "dialog-error-symbolic";
}

static char *
entry_title (const HeraldHistoryEntry *entry)
{
  /* Translators: an outcome ("Sent", "Failed"), then a server and port */
  return g_strdup_printf (_("%s — %s:%u"), herald_history_describe_outcome (entry->outcome),
                          entry->host, entry->port);
}

static GtkWidget *
make_row (const HeraldHistoryEntry *entry)
{
  g_autofree char *title = entry_title (entry);
  g_autofree char *time = herald_history_format_time (entry->time);
  g_autofree char *transport = g_ascii_strup (entry->transport, -1);
  g_autofree char *subtitle = NULL;
  GtkWidget *row = adw_action_row_new ();
  GtkWidget *icon = gtk_image_new_from_icon_name (outcome_icon (entry->outcome));

  /* Server replies and host names are text, never markup. */
  adw_preferences_row_set_use_markup (ADW_PREFERENCES_ROW (row), FALSE);
  /* Translators: a time, a transport (SMTP, GRAPH), then the server's reply or what went wrong */
  subtitle = g_strdup_printf (_("%s · %s · %s"), time, transport, entry->summary);
  adw_preferences_row_set_title (ADW_PREFERENCES_ROW (row), title);
  adw_action_row_set_subtitle (ADW_ACTION_ROW (row), subtitle);
  gtk_list_box_row_set_activatable (GTK_LIST_BOX_ROW (row), TRUE);

  gtk_accessible_update_property (GTK_ACCESSIBLE (icon), GTK_ACCESSIBLE_PROPERTY_LABEL,
                                  herald_history_describe_outcome (entry->outcome), -1);
  if (g_str_equal (entry->outcome, "sent"))
    gtk_widget_add_css_class (icon, "success");
  else if (g_str_equal (entry->outcome, "failed"))
    gtk_widget_add_css_class (icon, "error");
  adw_action_row_add_prefix (ADW_ACTION_ROW (row), icon);
  adw_action_row_add_suffix (ADW_ACTION_ROW (row), gtk_image_new_from_icon_name ("go-next-symbolic"));

  return row;
}

void
herald_history_dialog_reload (HeraldHistoryDialog *self)
{
  g_autoptr(GError) error = NULL;
  GtkWidget *child;

  g_return_if_fail (HERALD_IS_HISTORY_DIALOG (self));

  g_clear_pointer (&self->entries, g_ptr_array_unref);
  g_clear_pointer (&self->message, g_free);
  while ((child = gtk_widget_get_first_child (GTK_WIDGET (self->list))) != NULL)
    gtk_list_box_remove (self->list, child);

  self->entries = herald_history_load (&error);
  if (self->entries == NULL)
    {
      self->message = g_strdup (error->message);
      adw_status_page_set_icon_name (self->status_page, "dialog-warning-symbolic");
      adw_status_page_set_title (self->status_page, _("The History Cannot Be Read"));
    }
  else if (self->entries->len == 0)
    {
      self->message = g_strdup (_("Tests you send from here or with “heraldctl test” are "
                                  "listed here."));
      adw_status_page_set_icon_name (self->status_page, "document-open-recent-symbolic");
      adw_status_page_set_title (self->status_page, _("No Tests Yet"));
    }
  adw_status_page_set_description (self->status_page, self->message);

  for (guint i = 0; self->entries != NULL && i < self->entries->len; i++)
    gtk_list_box_append (self->list, make_row (g_ptr_array_index (self->entries, i)));

  show_list (self);
}

static void
herald_history_dialog_finalize (GObject *object)
{
  HeraldHistoryDialog *self = HERALD_HISTORY_DIALOG (object);

  if (self->error_dialog != NULL)
    g_object_remove_weak_pointer (G_OBJECT (self->error_dialog), (gpointer *) &self->error_dialog);
  g_clear_pointer (&self->entries, g_ptr_array_unref);
  g_clear_pointer (&self->message, g_free);

  G_OBJECT_CLASS (herald_history_dialog_parent_class)->finalize (object);
}

static void
herald_history_dialog_class_init (HeraldHistoryDialogClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->finalize = herald_history_dialog_finalize;

  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_Escape, 0, "window.close", NULL);
}

static void
herald_history_dialog_init (HeraldHistoryDialog *self)
{
  GtkWidget *box = gtk_box_new (GTK_ORIENTATION_VERTICAL, 0);
  GtkWidget *header = adw_header_bar_new ();
  GtkWidget *scroller, *clamp, *report_scroller;

  gtk_window_set_default_size (GTK_WINDOW (self), 600, 640);
  gtk_window_set_modal (GTK_WINDOW (self), TRUE);
  gtk_window_set_destroy_with_parent (GTK_WINDOW (self), TRUE);

  self->back_button = gtk_button_new_from_icon_name ("go-previous-symbolic");
  gtk_widget_set_tooltip_text (self->back_button, _("Back to the List"));
  gtk_accessible_update_property (GTK_ACCESSIBLE (self->back_button),
                                  GTK_ACCESSIBLE_PROPERTY_LABEL, _("Back"), -1);
  g_signal_connect_swapped (self->back_button, "clicked", G_CALLBACK (back_clicked_cb), self);
  adw_header_bar_pack_start (ADW_HEADER_BAR (header), self->back_button);

  /* An icon, as Back: at 360 px with large text a label beside it would
   * leave the title "Test Report" no room. */
  self->copy_button = gtk_button_new_from_icon_name ("edit-copy-symbolic");
  gtk_widget_set_tooltip_text (self->copy_button, _("Copy Report"));
  gtk_accessible_update_property (GTK_ACCESSIBLE (self->copy_button),
                                  GTK_ACCESSIBLE_PROPERTY_LABEL, _("Copy Report"), -1);
  g_signal_connect_swapped (self->copy_button, "clicked", G_CALLBACK (copy_clicked_cb), self);
  adw_header_bar_pack_end (ADW_HEADER_BAR (header), self->copy_button);
  gtk_box_append (GTK_BOX (box), header);

  self->stack = GTK_STACK (gtk_stack_new ());
  gtk_widget_set_vexpand (GTK_WIDGET (self->stack), TRUE);

  self->list = GTK_LIST_BOX (gtk_list_box_new ());
  gtk_list_box_set_selection_mode (self->list, GTK_SELECTION_NONE);
  gtk_widget_add_css_class (GTK_WIDGET (self->list), "boxed-list");
  gtk_widget_set_valign (GTK_WIDGET (self->list), GTK_ALIGN_START);
  gtk_accessible_update_property (GTK_ACCESSIBLE (self->list), GTK_ACCESSIBLE_PROPERTY_LABEL,
                                  _("Recent tests"), -1);
  g_signal_connect (self->list, "row-activated", G_CALLBACK (row_activated_cb), self);
  clamp = adw_clamp_new ();
  adw_clamp_set_child (ADW_CLAMP (clamp), GTK_WIDGET (self->list));
  gtk_widget_set_margin_top (clamp, 18);
  gtk_widget_set_margin_bottom (clamp, 18);
  gtk_widget_set_margin_start (clamp, 12);
  gtk_widget_set_margin_end (clamp, 12);
  scroller = gtk_scrolled_window_new ();
  gtk_scrolled_window_set_policy (GTK_SCROLLED_WINDOW (scroller), GTK_POLICY_NEVER,
                                  GTK_POLICY_AUTOMATIC);
  gtk_scrolled_window_set_child (GTK_SCROLLED_WINDOW (scroller), clamp);
  gtk_stack_add_named (self->stack, scroller, "list");

  self->status_page = ADW_STATUS_PAGE (adw_status_page_new ());
  gtk_stack_add_named (self->stack, GTK_WIDGET (self->status_page), "message");

  /* The report as Copy Report gives it: monospace (its columns line up),
   * wrapped, read-only. */
  self->report_view = GTK_TEXT_VIEW (gtk_text_view_new ());
  gtk_text_view_set_editable (self->report_view, FALSE);
  gtk_text_view_set_cursor_visible (self->report_view, FALSE);
  gtk_text_view_set_monospace (self->report_view, TRUE);
  gtk_text_view_set_wrap_mode (self->report_view, GTK_WRAP_WORD_CHAR);
  gtk_text_view_set_left_margin (self->report_view, 12);
  gtk_text_view_set_right_margin (self->report_view, 12);
  gtk_text_view_set_top_margin (self->report_view, 12);
  gtk_text_view_set_bottom_margin (self->report_view, 12);
  gtk_accessible_update_property (GTK_ACCESSIBLE (self->report_view),
                                  GTK_ACCESSIBLE_PROPERTY_LABEL, _("Test report"), -1);
  report_scroller = gtk_scrolled_window_new ();
  gtk_scrolled_window_set_policy (GTK_SCROLLED_WINDOW (report_scroller), GTK_POLICY_NEVER,
                                  GTK_POLICY_AUTOMATIC);
  gtk_scrolled_window_set_child (GTK_SCROLLED_WINDOW (report_scroller),
                                 GTK_WIDGET (self->report_view));
  gtk_stack_add_named (self->stack, report_scroller, "report");

  gtk_box_append (GTK_BOX (box), GTK_WIDGET (self->stack));
  adw_window_set_content (ADW_WINDOW (self), box);
}

HeraldHistoryDialog *
herald_history_dialog_new (GtkWindow *parent)
{
  HeraldHistoryDialog *self = g_object_new (HERALD_TYPE_HISTORY_DIALOG,
                                            "transient-for", parent,
                                            NULL);

  herald_history_dialog_reload (self);
  return self;
}

char **
herald_history_dialog_dup_row_titles (HeraldHistoryDialog *self)
{
  g_autoptr(GStrvBuilder) builder = g_strv_builder_new ();

  g_return_val_if_fail (HERALD_IS_HISTORY_DIALOG (self), NULL);

  for (GtkWidget *row = gtk_widget_get_first_child (GTK_WIDGET (self->list)); row != NULL;
       row = gtk_widget_get_next_sibling (row))
    {
      if (ADW_IS_PREFERENCES_ROW (row))
        g_strv_builder_add (builder, adw_preferences_row_get_title (ADW_PREFERENCES_ROW (row)));
    }
  return g_strv_builder_end (builder);
}

const char *
herald_history_dialog_get_report (HeraldHistoryDialog *self)
{
  g_return_val_if_fail (HERALD_IS_HISTORY_DIALOG (self), NULL);

  return self->report;
}

const char *
herald_history_dialog_get_message (HeraldHistoryDialog *self)
{
  g_return_val_if_fail (HERALD_IS_HISTORY_DIALOG (self), NULL);

  return self->message;
}
