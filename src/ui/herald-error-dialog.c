/* SPDX-License-Identifier: GPL-3.0-or-later
 * Copyright 2026 The Herald authors
 */
#define G_LOG_DOMAIN "herald-ui"

#include "config.h"

#include <string.h>
#include <glib/gi18n.h>

#include "herald-error-dialog.h"
#include "herald-report.h"
#include "herald-secret.h"
#include "herald-ui-private.h"

struct _HeraldErrorDialog
{
  AdwMessageDialog  parent_instance;

  HeraldSmtpConfig *config;     /* without secrets */
  HeraldSmtpResult *result;
  HeraldDiagnosis  *diagnosis;
  GPtrArray        *notices;    /* of HeraldDiagnosis, may be NULL */
  char             *report;     /* a test from the history: its report as recorded, or NULL */
  GdkClipboard     *clipboard;

  GtkScrolledWindow *content_scroller;
  GtkWidget        *content_box;
  GtkLabel         *actor_label;
  GtkBox           *steps_box;
  GtkBox           *links_box;
  GtkExpander      *details_expander;
  GtkTextView      *details_view;
  GtkButton        *fix_button;

  guint             fit_idle_id;
  int               fitted_width;
};

G_DEFINE_FINAL_TYPE (HeraldErrorDialog, herald_error_dialog, ADW_TYPE_MESSAGE_DIALOG)

/* Keeps whether a secret was set (the report says so) but not its value. */
static void
replace_secret (char **str)
{
  gboolean was_set = *str != NULL && **str != '\0';

  g_clear_pointer (str, herald_secret_free);
  if (was_set)
    *str = g_strdup ("(set)");
}

static void
copy_command_clicked_cb (GtkButton         *button,
                         HeraldErrorDialog *self)
{
  const char *command = g_object_get_data (G_OBJECT (button), "herald-command");

  if (command != NULL)
    gdk_clipboard_set_text (self->clipboard, command);
  gtk_button_set_icon_name (button, "object-select-symbolic");
  gtk_widget_set_tooltip_text (GTK_WIDGET (button), _("Copied"));
}

/* How a wrapped command is drawn: Pango would break right after the "-" of
 * "-Parameter" and, when it must break inside a long word, draw a hyphen
 * that is not in the command; both misread as part of the command. Lines
 * break before an option instead, and never add a hyphen. */
static void
set_command_attributes (GtkLabel   *label,
                        const char *command)
{
  PangoAttrList *attrs = pango_attr_list_new ();

  pango_attr_list_insert (attrs, pango_attr_insert_hyphens_new (FALSE));
  for (const char *p = command; *p != '\0'; p++)
    {
      if (*p == '-' && (p == command || g_ascii_isspace (p[-1])) && p[1] != '\0')
        {
          PangoAttribute *attr = pango_attr_allow_breaks_new (FALSE);

          /* Covers the "-" and the character after it: no break between. */
          attr->start_index = p - command;
          attr->end_index = g_utf8_next_char (p + 1) - command;
          pango_attr_list_insert (attrs, attr);
        }
    }
  gtk_label_set_attributes (label, attrs);
  pango_attr_list_unref (attrs);
}

/* A certificate fingerprint (SHA-256: 32 hex pairs joined by ':') inside a
 * sentence is drawn monospace, so that its pairs line up for comparing with
 * what the server's administrator reads out; it still wraps anywhere. */
static void
monospace_fingerprints (GtkLabel *label)
{
  static GRegex *fingerprint;
  const char *text = gtk_label_get_text (label);
  g_autoptr(GMatchInfo) match = NULL;
  PangoAttrList *attrs = NULL;

  if (g_once_init_enter (&fingerprint))
    g_once_init_leave (&fingerprint,
                       g_regex_new ("\\b(?:[0-9A-Fa-f]{2}:){15,}[0-9A-Fa-f]{2}\\b", 0, 0, NULL));

  g_regex_match (fingerprint, text, 0, &match);
  while (g_match_info_matches (match))
    {
      PangoAttribute *attr = pango_attr_family_new ("monospace");
      int start, end;

      g_match_info_fetch_pos (match, 0, &start, &end);
      attr->start_index = start;
      attr->end_index = end;
      if (attrs == NULL)
        attrs = pango_attr_list_new ();
      pango_attr_list_insert (attrs, attr);
      g_match_info_next (match, NULL);
    }
  gtk_label_set_attributes (label, attrs);
  g_clear_pointer (&attrs, pango_attr_list_unref);
}

static void
add_step (HeraldErrorDialog         *self,
          guint                      number,
          const HeraldDiagnosisStep *step)
{
  GtkWidget *box = gtk_box_new (GTK_ORIENTATION_VERTICAL, 4);
  g_autofree char *text = g_strdup_printf ("%u. %s", number, step->text ? step->text : "");
  GtkWidget *label = gtk_label_new (text);

  gtk_label_set_wrap (GTK_LABEL (label), TRUE);
  gtk_label_set_wrap_mode (GTK_LABEL (label), PANGO_WRAP_WORD_CHAR);
  gtk_label_set_xalign (GTK_LABEL (label), 0.0);
  gtk_label_set_selectable (GTK_LABEL (label), TRUE);
  monospace_fingerprints (GTK_LABEL (label));
  g_object_set_data (G_OBJECT (box), "herald-step-label", label);
  gtk_box_append (GTK_BOX (box), label);

  if (step->command != NULL && *step->command != '\0')
    {
      GtkWidget *row = gtk_box_new (GTK_ORIENTATION_HORIZONTAL, 6);
      GtkWidget *command = gtk_label_new (step->command);
      GtkWidget *copy = gtk_button_new_from_icon_name ("edit-copy-symbolic");

      gtk_widget_add_css_class (row, "card");
      gtk_widget_add_css_class (row, "herald-command");
      gtk_widget_set_margin_start (row, 18);

      /* Commands wrap, anywhere if they must (a long address has no spaces),
       * so that the whole command is always in view: an admin reads it before
       * pasting it. Wrapping only changes how it is drawn; selecting the text
       * or the copy button gives the command as one line. */
      gtk_label_set_wrap (GTK_LABEL (command), TRUE);
      gtk_label_set_wrap_mode (GTK_LABEL (command), PANGO_WRAP_WORD_CHAR);
      gtk_label_set_ellipsize (GTK_LABEL (command), PANGO_ELLIPSIZE_NONE);
      set_command_attributes (GTK_LABEL (command), step->command);
      gtk_label_set_xalign (GTK_LABEL (command), 0.0);
      gtk_label_set_selectable (GTK_LABEL (command), TRUE);
      gtk_widget_add_css_class (command, "monospace");
      gtk_widget_set_hexpand (command, TRUE);
      gtk_widget_set_margin_start (command, 8);
      gtk_widget_set_margin_top (command, 6);
      gtk_widget_set_margin_bottom (command, 6);
      g_object_set_data (G_OBJECT (box), "herald-command-label", command);

      gtk_widget_add_css_class (copy, "flat");
      gtk_widget_set_valign (copy, GTK_ALIGN_START);
      gtk_widget_set_margin_top (copy, 3);
      gtk_widget_set_tooltip_text (copy, _("Copy Command"));
      gtk_accessible_update_property (GTK_ACCESSIBLE (copy),
                                      GTK_ACCESSIBLE_PROPERTY_LABEL, _("Copy Command"),
                                      -1);
      g_object_set_data_full (G_OBJECT (copy), "herald-command",
                              g_strdup (step->command), g_free);
      g_signal_connect_object (copy, "clicked", G_CALLBACK (copy_command_clicked_cb),
                               self, 0);

      gtk_widget_set_margin_end (copy, 4);
      gtk_box_append (GTK_BOX (row), command);
      gtk_box_append (GTK_BOX (row), copy);
      gtk_box_append (GTK_BOX (box), row);
    }

  gtk_box_append (self->steps_box, box);
}

static void
append_details (GString                *out,
                const HeraldSmtpResult *result,
                const HeraldDiagnosis  *diagnosis)
{
  g_string_append_printf (out, _("Failed stage: %s\n"), herald_stage_to_string (result->stage));
  if (result->reply != NULL && result->reply->raw != NULL)
    g_string_append_printf (out, _("Server reply:\n%s\n"), result->reply->raw);

  /* The diagnosis' own details already name the server, the error and the
   * certificate; only without them do we list those here. */
  if (diagnosis->details != NULL && *diagnosis->details != '\0')
    g_string_append_printf (out, "\n%s\n", diagnosis->details);
  else
    {
      if (result->remote_address != NULL)
        g_string_append_printf (out, _("Server address: %s\n"), result->remote_address);
      if (result->greeting != NULL)
        g_string_append_printf (out, _("Greeting: %s\n"), result->greeting);
      if (result->error != NULL)
        g_string_append_printf (out, _("Error: %s\n"), result->error->message);
      if (result->tls != NULL)
        {
          const HeraldTlsInfo *tls = result->tls;

          if (tls->version != NULL)
            g_string_append_printf (out, _("TLS version: %s\n"), tls->version);
          if (tls->subject != NULL)
            g_string_append_printf (out, _("Certificate subject: %s\n"), tls->subject);
          if (tls->issuer != NULL)
            g_string_append_printf (out, _("Certificate issuer: %s\n"), tls->issuer);
          if (tls->not_before != NULL && tls->not_after != NULL)
            g_string_append_printf (out, _("Certificate valid: %s to %s\n"),
                                    tls->not_before, tls->not_after);
          if (tls->errors != NULL && tls->errors[0] != NULL)
            {
              g_autofree char *joined = g_strjoinv (", ", tls->errors);

              g_string_append_printf (out, _("Certificate problems: %s\n"), joined);
            }
        }
    }

  if (result->transcript != NULL && result->transcript->len > 0)
    {
      g_string_append_printf (out, "\n%s\n", _("Transcript (secrets removed):"));
      for (guint i = 0; i < result->transcript->len; i++)
        {
          const HeraldTranscriptEntry *entry = g_ptr_array_index (result->transcript, i);
          const char *dir;

          switch (entry->dir)
            {
            case HERALD_TRANSCRIPT_CLIENT: dir = "C:"; break;
            case HERALD_TRANSCRIPT_SERVER: dir = "S:"; break;
            case HERALD_TRANSCRIPT_INFO:
            default:                       dir = "*"; break;
            }
          g_string_append_printf (out, "%6" G_GINT64_FORMAT " ms %s %s\n",
                                  entry->ms, dir, entry->text ? entry->text : "");
        }
    }
}

enum {
  REPORT_COPIED,
  FIX,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

static void
fix_clicked_cb (HeraldErrorDialog *self)
{
  g_signal_emit (self, signals[FIX], 0);
  gtk_window_close (GTK_WINDOW (self));
}

void
herald_error_dialog_set_fix (HeraldErrorDialog *self,
                             const char        *label)
{
  g_return_if_fail (HERALD_IS_ERROR_DIALOG (self));

  if (label != NULL)
    gtk_button_set_label (self->fix_button, label);
  gtk_widget_set_visible (GTK_WIDGET (self->fix_button), label != NULL);
}

const char *
herald_error_dialog_get_fix (HeraldErrorDialog *self)
{
  g_return_val_if_fail (HERALD_IS_ERROR_DIALOG (self), NULL);

  if (!gtk_widget_get_visible (GTK_WIDGET (self->fix_button)))
    return NULL;
  return gtk_button_get_label (self->fix_button);
}

static void
copy_report_clicked_cb (HeraldErrorDialog *self)
{
  g_autofree char *report = herald_error_dialog_dup_report (self);

  gdk_clipboard_set_text (self->clipboard, report);
  g_signal_emit (self, signals[REPORT_COPIED], 0);
}

/* AdwMessageDialog does not scroll, and a diagnosis with many steps would
 * make the dialog taller than the window (or the screen). The steps, links
 * and details scroll instead, in what is left of the parent's height once
 * the heading, explanation and responses are placed. */
#define OUTSIDE_CONTENT_HEIGHT 370
#define MIN_CONTENT_HEIGHT     160
#define FALLBACK_HEIGHT        720

static void
update_max_content_height (HeraldErrorDialog *self)
{
  GtkWindow *parent = gtk_window_get_transient_for (GTK_WINDOW (self));
  int width, height = 0;

  if (parent != NULL)
    height = gtk_widget_get_height (GTK_WIDGET (parent));
  if (height <= 0 && parent != NULL)
    gtk_window_get_default_size (parent, &width, &height);
  if (height <= 0)
    height = FALLBACK_HEIGHT;

  gtk_scrolled_window_set_max_content_height (self->content_scroller,
                                              MAX (height - OUTSIDE_CONTENT_HEIGHT,
                                                   MIN_CONTENT_HEIGHT));
}

/* GTK 4.8's GtkScrolledWindow asks its child for its natural height without
 * a width, i.e. with every label on one line, which is far too short once
 * they wrap at the dialog's width: the steps would scroll in a dialog that
 * has room for them. Once the content has its width, measure its height for
 * that width and ask for that much (up to the maximum). Runs in an idle, as
 * a resize must not be queued from within an allocation. */
static gboolean
fit_content_height_cb (gpointer data)
{
  HeraldErrorDialog *self = data;
  int width = gtk_widget_get_width (self->content_box);
  int natural = 0;
  int wanted;

  self->fit_idle_id = 0;
  if (width <= 0)
    return G_SOURCE_REMOVE;

  self->fitted_width = width;
  gtk_widget_measure (self->content_box, GTK_ORIENTATION_VERTICAL, width,
                      NULL, &natural, NULL, NULL);
  wanted = MIN (natural, gtk_scrolled_window_get_max_content_height (self->content_scroller));
  if (wanted != gtk_scrolled_window_get_min_content_height (self->content_scroller))
    gtk_scrolled_window_set_min_content_height (self->content_scroller, wanted);

  return G_SOURCE_REMOVE;
}

static void
queue_fit_content_height (HeraldErrorDialog *self)
{
  if (self->fit_idle_id == 0)
    self->fit_idle_id = g_idle_add (fit_content_height_cb, self);
}

static void
herald_error_dialog_size_allocate (GtkWidget *widget,
                                   int        width,
                                   int        height,
                                   int        baseline)
{
  HeraldErrorDialog *self = HERALD_ERROR_DIALOG (widget);

  GTK_WIDGET_CLASS (herald_error_dialog_parent_class)->size_allocate (widget, width, height,
                                                                      baseline);

  if (gtk_widget_get_width (self->content_box) != self->fitted_width)
    queue_fit_content_height (self);
}

/* The width the .ui file asks for, unless the parent is narrower (a phone,
 * a window at 360 px): then the parent's, so that the dialog fits over it
 * and its texts wrap rather than run off the screen. */
#define DEFAULT_WIDTH 560

static void
update_default_width (HeraldErrorDialog *self)
{
  GtkWindow *parent = gtk_window_get_transient_for (GTK_WINDOW (self));
  int width = parent != NULL ? gtk_widget_get_width (GTK_WIDGET (parent)) : 0;

  gtk_window_set_default_size (GTK_WINDOW (self), width > 0 ? MIN (width, DEFAULT_WIDTH)
                                                            : DEFAULT_WIDTH, -1);
}

static void
herald_error_dialog_show (GtkWidget *widget)
{
  HeraldErrorDialog *self = HERALD_ERROR_DIALOG (widget);

  /* The minimum set for the last content must not exceed the new maximum. */
  gtk_scrolled_window_set_min_content_height (self->content_scroller, -1);
  update_max_content_height (self);
  update_default_width (self);
  self->fitted_width = -1;

  GTK_WIDGET_CLASS (herald_error_dialog_parent_class)->show (widget);
}

static void
herald_error_dialog_dispose (GObject *object)
{
  HeraldErrorDialog *self = HERALD_ERROR_DIALOG (object);

  g_clear_handle_id (&self->fit_idle_id, g_source_remove);
  gtk_widget_dispose_template (GTK_WIDGET (self), HERALD_TYPE_ERROR_DIALOG);
  g_clear_object (&self->clipboard);

  G_OBJECT_CLASS (herald_error_dialog_parent_class)->dispose (object);
}

static void
herald_error_dialog_finalize (GObject *object)
{
  HeraldErrorDialog *self = HERALD_ERROR_DIALOG (object);

  g_clear_pointer (&self->config, herald_smtp_config_free);
  g_clear_pointer (&self->result, herald_smtp_result_free);
  g_clear_pointer (&self->diagnosis, herald_diagnosis_free);
  g_clear_pointer (&self->notices, g_ptr_array_unref);
  g_free (self->report);

  G_OBJECT_CLASS (herald_error_dialog_parent_class)->finalize (object);
}

static void
herald_error_dialog_class_init (HeraldErrorDialogClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = herald_error_dialog_dispose;
  object_class->finalize = herald_error_dialog_finalize;
  widget_class->show = herald_error_dialog_show;
  widget_class->size_allocate = herald_error_dialog_size_allocate;

  _herald_ui_ensure_resources ();
  gtk_widget_class_set_template_from_resource (widget_class,
                                               "/io/github/heraldmail/Herald/herald-error-dialog.ui");
  gtk_widget_class_bind_template_child (widget_class, HeraldErrorDialog, content_scroller);
  gtk_widget_class_bind_template_child (widget_class, HeraldErrorDialog, content_box);
  gtk_widget_class_bind_template_child (widget_class, HeraldErrorDialog, actor_label);
  gtk_widget_class_bind_template_child (widget_class, HeraldErrorDialog, steps_box);
  gtk_widget_class_bind_template_child (widget_class, HeraldErrorDialog, links_box);
  gtk_widget_class_bind_template_child (widget_class, HeraldErrorDialog, details_expander);
  gtk_widget_class_bind_template_child (widget_class, HeraldErrorDialog, details_view);
  gtk_widget_class_bind_template_child (widget_class, HeraldErrorDialog, fix_button);
  gtk_widget_class_bind_template_callback (widget_class, copy_report_clicked_cb);
  gtk_widget_class_bind_template_callback (widget_class, fix_clicked_cb);

  /* The one-click fix was pressed (the dialog then closes): the window
   * changes the form as the diagnosis's action says. */
  signals[FIX] =
    g_signal_new ("fix", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL, G_TYPE_NONE, 0);

  /* Copy Report put the report on the clipboard (the dialog stays open). */
  signals[REPORT_COPIED] =
    g_signal_new ("report-copied", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL, G_TYPE_NONE, 0);
}

/* GTK 4.8 names a button made with a mnemonic label twice, its label
 * property and its label child ("Close Close"); the response buttons of
 * AdwMessageDialog are made that way. Keep the child's text only. */
static void
fix_button_names (GtkWidget *widget)
{
  if (GTK_IS_BUTTON (widget) && gtk_button_get_use_underline (GTK_BUTTON (widget)))
    gtk_accessible_reset_property (GTK_ACCESSIBLE (widget), GTK_ACCESSIBLE_PROPERTY_LABEL);

  for (GtkWidget *child = gtk_widget_get_first_child (widget);
       child != NULL;
       child = gtk_widget_get_next_sibling (child))
    fix_button_names (child);
}

/* AdwMessageDialog centres its body, which suits a sentence; an
 * explanation of several lines reads better left-aligned (GNOME HIG), as
 * the steps below it are. */
static void
left_align_body (GtkWidget  *widget,
                 const char *body)
{
  if (GTK_IS_LABEL (widget) && g_strcmp0 (gtk_label_get_label (GTK_LABEL (widget)), body) == 0)
    {
      gtk_label_set_justify (GTK_LABEL (widget), GTK_JUSTIFY_LEFT);
      gtk_label_set_wrap_mode (GTK_LABEL (widget), PANGO_WRAP_WORD_CHAR);
      monospace_fingerprints (GTK_LABEL (widget));
      gtk_label_set_xalign (GTK_LABEL (widget), 0.0);
      gtk_widget_set_halign (widget, GTK_ALIGN_FILL);
    }

  for (GtkWidget *child = gtk_widget_get_first_child (widget);
       child != NULL;
       child = gtk_widget_get_next_sibling (child))
    left_align_body (child, body);
}

static void
herald_error_dialog_init (HeraldErrorDialog *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));
  fix_button_names (GTK_WIDGET (self));

  /* Opening the details makes the content taller at the same width. */
  g_signal_connect_swapped (self->details_expander, "notify::expanded",
                            G_CALLBACK (queue_fit_content_height), self);
}

HeraldErrorDialog *
herald_error_dialog_new (GtkWindow              *parent,
                         const HeraldSmtpConfig *config,
                         const HeraldSmtpResult *result,
                         const HeraldDiagnosis  *diagnosis,
                         GPtrArray              *notices)
{
  HeraldErrorDialog *self;

  g_return_val_if_fail (parent == NULL || GTK_IS_WINDOW (parent), NULL);

  self = g_object_new (HERALD_TYPE_ERROR_DIALOG,
                       "transient-for", parent,
                       NULL);
  self->clipboard = g_object_ref (gtk_widget_get_clipboard (parent ? GTK_WIDGET (parent)
                                                                   : GTK_WIDGET (self)));
  herald_error_dialog_set_failure (self, config, result, diagnosis, notices);

  return self;
}

static void
remove_children (GtkBox *box)
{
  GtkWidget *child;

  while ((child = gtk_widget_get_first_child (GTK_WIDGET (box))))
    gtk_box_remove (box, child);
}

/* The diagnosis on show, whether of the test just run or of one in the
 * history; @details fill "Technical details". */
static void
show_diagnosis (HeraldErrorDialog     *self,
                const HeraldDiagnosis *diagnosis,
                const char            *details)
{
  guint n = 0;

  adw_message_dialog_set_heading (ADW_MESSAGE_DIALOG (self), diagnosis->title);
  adw_message_dialog_set_body (ADW_MESSAGE_DIALOG (self),
                               diagnosis->explanation ? diagnosis->explanation : "");
  if (diagnosis->explanation != NULL && *diagnosis->explanation != '\0')
    left_align_body (GTK_WIDGET (self), diagnosis->explanation);

  g_clear_pointer (&self->diagnosis, herald_diagnosis_free);
  self->diagnosis = herald_diagnosis_copy (diagnosis);

  gtk_label_set_text (self->actor_label, herald_actor_describe (diagnosis->actor));

  remove_children (self->steps_box);
  for (guint i = 0; diagnosis->steps != NULL && i < diagnosis->steps->len; i++)
    add_step (self, ++n, g_ptr_array_index (diagnosis->steps, i));
  gtk_widget_set_visible (GTK_WIDGET (self->steps_box), n > 0);

  remove_children (self->links_box);
  for (guint i = 0; diagnosis->links != NULL && i < diagnosis->links->len; i++)
    {
      const HeraldLink *link = g_ptr_array_index (diagnosis->links, i);
      GtkWidget *button;
      GtkWidget *label;

      if (link->url == NULL)
        continue;
      button = gtk_link_button_new_with_label (link->url,
                                               link->title ? link->title : link->url);
      gtk_widget_set_halign (button, GTK_ALIGN_START);
      /* A long title (or a bare URL) wraps rather than widening the dialog. */
      label = gtk_button_get_child (GTK_BUTTON (button));
      if (GTK_IS_LABEL (label))
        {
          gtk_label_set_wrap (GTK_LABEL (label), TRUE);
          gtk_label_set_wrap_mode (GTK_LABEL (label), PANGO_WRAP_WORD_CHAR);
          gtk_label_set_xalign (GTK_LABEL (label), 0.0);
        }
      gtk_box_append (self->links_box, button);
    }
  gtk_widget_set_visible (GTK_WIDGET (self->links_box),
                          gtk_widget_get_first_child (GTK_WIDGET (self->links_box)) != NULL);

  gtk_expander_set_expanded (self->details_expander, FALSE);
  self->fitted_width = -1;
  gtk_widget_queue_resize (GTK_WIDGET (self));
  gtk_text_buffer_set_text (gtk_text_view_get_buffer (self->details_view), details, -1);
}

void
herald_error_dialog_set_failure (HeraldErrorDialog      *self,
                                 const HeraldSmtpConfig *config,
                                 const HeraldSmtpResult *result,
                                 const HeraldDiagnosis  *diagnosis,
                                 GPtrArray              *notices)
{
  g_autoptr(GString) details = g_string_new (NULL);

  g_return_if_fail (HERALD_IS_ERROR_DIALOG (self));
  g_return_if_fail (config != NULL);
  g_return_if_fail (result != NULL);
  g_return_if_fail (diagnosis != NULL);

  /* The dialog keeps nothing secret: the copy it keeps for the report has
   * neither the password nor the token, only whether they were set. */
  g_clear_pointer (&self->config, herald_smtp_config_free);
  self->config = herald_smtp_config_copy (config);
  replace_secret (&self->config->password);
  replace_secret (&self->config->oauth_token);
  g_clear_pointer (&self->result, herald_smtp_result_free);
  self->result = herald_smtp_result_copy (result);
  g_clear_pointer (&self->notices, g_ptr_array_unref);
  if (notices != NULL)
    self->notices = g_ptr_array_ref (notices);
  g_clear_pointer (&self->report, g_free);

  append_details (details, result, diagnosis);
  show_diagnosis (self, diagnosis, details->str);
}

HeraldErrorDialog *
herald_error_dialog_new_for_record (GtkWindow             *parent,
                                    const HeraldDiagnosis *diagnosis,
                                    const char            *report)
{
  HeraldErrorDialog *self;

  g_return_val_if_fail (parent == NULL || GTK_IS_WINDOW (parent), NULL);
  g_return_val_if_fail (diagnosis != NULL, NULL);
  g_return_val_if_fail (report != NULL, NULL);

  self = g_object_new (HERALD_TYPE_ERROR_DIALOG,
                       "transient-for", parent,
                       NULL);
  self->clipboard = g_object_ref (gtk_widget_get_clipboard (parent ? GTK_WIDGET (parent)
                                                                   : GTK_WIDGET (self)));
  /* The settings and the transcript of that test are in its report, as
   * they were then: the details show it whole, Copy Report gives it. */
  self->report = g_strdup (report);
  show_diagnosis (self, diagnosis, report);

  return self;
}

const HeraldDiagnosis *
herald_error_dialog_get_diagnosis (HeraldErrorDialog *self)
{
  g_return_val_if_fail (HERALD_IS_ERROR_DIALOG (self), NULL);

  return self->diagnosis;
}

const char *
herald_error_dialog_get_actor_text (HeraldErrorDialog *self)
{
  g_return_val_if_fail (HERALD_IS_ERROR_DIALOG (self), NULL);

  return gtk_label_get_text (self->actor_label);
}

char **
herald_error_dialog_dup_step_texts (HeraldErrorDialog *self)
{
  g_autoptr(GStrvBuilder) builder = g_strv_builder_new ();

  g_return_val_if_fail (HERALD_IS_ERROR_DIALOG (self), NULL);

  for (GtkWidget *child = gtk_widget_get_first_child (GTK_WIDGET (self->steps_box));
       child != NULL;
       child = gtk_widget_get_next_sibling (child))
    {
      GtkLabel *label = g_object_get_data (G_OBJECT (child), "herald-step-label");
      GtkLabel *command = g_object_get_data (G_OBJECT (child), "herald-command-label");

      if (command != NULL)
        {
          g_autofree char *text = g_strdup_printf ("%s\n%s", gtk_label_get_text (label),
                                                   gtk_label_get_text (command));
          g_strv_builder_add (builder, text);
        }
      else if (label != NULL)
        g_strv_builder_add (builder, gtk_label_get_text (label));
    }

  return g_strv_builder_end (builder);
}

char *
herald_error_dialog_dup_details_text (HeraldErrorDialog *self)
{
  GtkTextBuffer *buffer;
  GtkTextIter start, end;

  g_return_val_if_fail (HERALD_IS_ERROR_DIALOG (self), NULL);

  buffer = gtk_text_view_get_buffer (self->details_view);
  gtk_text_buffer_get_bounds (buffer, &start, &end);
  return gtk_text_buffer_get_text (buffer, &start, &end, FALSE);
}

char *
herald_error_dialog_dup_report (HeraldErrorDialog *self)
{
  g_return_val_if_fail (HERALD_IS_ERROR_DIALOG (self), NULL);

  if (self->report != NULL)
    return g_strdup (self->report);
  return herald_report_to_text (self->config, self->result, self->diagnosis, self->notices);
}
