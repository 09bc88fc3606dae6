/* SPDX-License-Identifier: GPL-3.0-or-later
 * Copyright 2026 The Herald authors
 */
#define G_LOG_DOMAIN "herald-test-ui"

#include "config.h"

#include <string.h>
#include <adwaita.h>

#include "herald-diagnosis.h"
#include "herald-error-dialog.h"
#include "herald-widget-util.h"

/* The error dialog on its own, over a plain window under Xvfb, filled with a
 * failed result as the engine returns it: what it shows, the report Copy
 * Report puts on the clipboard, a second failure in the same dialog, and
 * that no secret of the config reaches any of it. */

#define PASSWORD "Dialog-Pa55word"
#define TOKEN    "dialog-access-T0ken"
#define REPLY    "535 5.7.139 Authentication unsuccessful, SmtpClientAuthentication is " \
                 "disabled for the Mailbox."

static HeraldSmtpConfig *
make_config (void)
{
  HeraldSmtpConfig *config = herald_smtp_config_new ();
  const char *to[] = { "admin@example.com", NULL };

  config->host = g_strdup ("smtp.office365.com");
  config->port = 587;
  config->security = HERALD_SECURITY_STARTTLS;
  config->auth = HERALD_AUTH_PLAIN;
  config->username = g_strdup ("alerts@example.com");
  config->password = g_strdup (PASSWORD);
  config->oauth_token = g_strdup (TOKEN);
  config->from = g_strdup ("alerts@example.com");
  config->to = g_strdupv ((char **) to);
  return config;
}

static void
entry_free (HeraldTranscriptEntry *entry)
{
  g_free (entry->text);
  g_free (entry);
}

static void
add_entry (HeraldSmtpResult    *result,
           HeraldTranscriptDir  dir,
           const char          *text,
           gint64               ms)
{
  HeraldTranscriptEntry *entry = g_new0 (HeraldTranscriptEntry, 1);

  entry->dir = dir;
  entry->text = g_strdup (text);
  entry->ms = ms;
  g_ptr_array_add (result->transcript, entry);
}

static HeraldSmtpResult *
make_result (void)
{
  HeraldSmtpResult *result = g_new0 (HeraldSmtpResult, 1);

  result->stage = HERALD_STAGE_AUTH;
  result->error = g_error_new_literal (G_IO_ERROR, G_IO_ERROR_PERMISSION_DENIED,
                                       "The server rejected the login (AUTH PLAIN): " REPLY);
  result->reply = g_new0 (HeraldSmtpReply, 1);
  result->reply->code = 535;
  result->reply->enhanced = g_strdup ("5.7.139");
  result->reply->raw = g_strdup (REPLY);
  result->reply->text = g_strdup (REPLY + 4);
  result->transcript = g_ptr_array_new_with_free_func ((GDestroyNotify) entry_free);
  add_entry (result, HERALD_TRANSCRIPT_SERVER, "220 fake.example ESMTP", 3);
  add_entry (result, HERALD_TRANSCRIPT_CLIENT, "AUTH PLAIN <redacted>", 40);
  add_entry (result, HERALD_TRANSCRIPT_SERVER, REPLY, 41);
  result->elapsed_ms = 41;
  for (guint i = 0; i < HERALD_N_STAGES; i++)
    result->stage_ms[i] = -1;
  return result;
}

static void
count_cb (guint *count)
{
  (*count)++;
}

static void
test_failure (void)
{
  g_autoptr(HeraldSmtpConfig) config = make_config ();
  g_autoptr(HeraldSmtpResult) result = make_result ();
  g_autoptr(HeraldDiagnosis) diagnosis = herald_diagnose_text (REPLY, HERALD_STAGE_AUTH,
                                                               config->host);
  g_autoptr(HeraldDiagnosis) second = herald_diagnose_text ("535 5.7.8 Error: authentication failed",
                                                            HERALD_STAGE_AUTH, NULL);
  GtkWidget *parent = gtk_window_new ();
  HeraldErrorDialog *dialog;
  g_auto(GStrv) steps = NULL;
  g_autofree char *details = NULL;
  g_autofree char *report = NULL;
  g_autofree char *copied = NULL;
  guint n_copied = 0;

  g_assert_false (herald_diagnosis_is_fallback (diagnosis));
  gtk_window_present (GTK_WINDOW (parent));
  dialog = herald_error_dialog_new (GTK_WINDOW (parent), config, result, diagnosis, NULL);
  g_object_ref (dialog);
  gtk_window_present (GTK_WINDOW (dialog));

  /* Heading, explanation, who acts, the numbered steps with their commands. */
  g_assert_true (gtk_window_get_transient_for (GTK_WINDOW (dialog)) == GTK_WINDOW (parent));
  g_assert_cmpstr (adw_message_dialog_get_heading (ADW_MESSAGE_DIALOG (dialog)), ==,
                   diagnosis->title);
  g_assert_cmpstr (adw_message_dialog_get_body (ADW_MESSAGE_DIALOG (dialog)), ==,
                   diagnosis->explanation);
  g_assert_cmpstr (herald_error_dialog_get_actor_text (dialog), ==,
                   herald_actor_describe (diagnosis->actor));
  g_assert_cmpstr (herald_error_dialog_get_diagnosis (dialog)->id, ==, diagnosis->id);
  steps = herald_error_dialog_dup_step_texts (dialog);
  g_assert_cmpuint (g_strv_length (steps), ==, diagnosis->steps->len);
  for (guint i = 0; steps[i] != NULL; i++)
    {
      const HeraldDiagnosisStep *step = g_ptr_array_index (diagnosis->steps, i);
      g_autofree char *expected = g_strdup_printf ("%u. %s", i + 1, step->text);

      g_assert_true (g_str_has_prefix (steps[i], expected));
      if (step->command != NULL)
        g_assert_true (g_str_has_suffix (steps[i], step->command));
    }

  /* Technical details: the stage, the reply and the transcript. */
  details = herald_error_dialog_dup_details_text (dialog);
  g_assert_nonnull (strstr (details, "Failed stage: auth"));
  g_assert_nonnull (strstr (details, REPLY));
  g_assert_nonnull (strstr (details, "Transcript (secrets removed):"));
  g_assert_nonnull (strstr (details, "    40 ms C: AUTH PLAIN <redacted>"));
  g_assert_null (strstr (details, PASSWORD));
  g_assert_null (strstr (details, TOKEN));

  /* Copy Report: the report says a password was set, never which. */
  report = herald_error_dialog_dup_report (dialog);
  g_assert_nonnull (strstr (report, diagnosis->title));
  g_assert_nonnull (strstr (report, "Password: set (not shown)"));
  g_assert_null (strstr (report, PASSWORD));
  g_assert_null (strstr (report, TOKEN));
  g_signal_connect_swapped (dialog, "report-copied", G_CALLBACK (count_cb), &n_copied);
  g_signal_emit_by_name (herald_test_find_widget (GTK_WIDGET (dialog), GTK_TYPE_BUTTON,
                                                  "Copy Report"), "clicked");
  g_assert_cmpuint (n_copied, ==, 1);
  copied = herald_test_clipboard_text (parent);
  /* Copying is not an answer: the dialog stays open. */
  g_assert_true (gtk_widget_get_visible (GTK_WIDGET (dialog)));
  {
    /* The same report, written a moment later (its Date line differs). */
    g_autoptr(GRegex) date = g_regex_new ("^Date: .*$", G_REGEX_MULTILINE, 0, NULL);
    g_autofree char *copied_text = g_regex_replace_literal (date, copied, -1, 0, "", 0, NULL);
    g_autofree char *report_text = g_regex_replace_literal (date, report, -1, 0, "", 0, NULL);

    g_assert_true (g_str_has_prefix (copied, "Herald test report\nDate: "));
    g_assert_cmpstr (copied_text, ==, report_text);
  }

  /* A second failure refills the same dialog. */
  herald_error_dialog_set_failure (dialog, config, result, second, NULL);
  g_assert_cmpstr (adw_message_dialog_get_heading (ADW_MESSAGE_DIALOG (dialog)), ==,
                   second->title);
  g_clear_pointer (&steps, g_strfreev);
  steps = herald_error_dialog_dup_step_texts (dialog);
  g_assert_cmpuint (g_strv_length (steps), ==, second->steps->len);
  g_assert_cmpstr (herald_error_dialog_get_diagnosis (dialog)->id, ==, second->id);

  gtk_window_destroy (GTK_WINDOW (dialog));
  g_assert_finalize_object (dialog);
  gtk_window_destroy (GTK_WINDOW (parent));
}

static GtkWidget *
find_label_with_text (GtkWidget  *root,
                      const char *text)
{
  if (GTK_IS_LABEL (root) && g_strcmp0 (gtk_label_get_label (GTK_LABEL (root)), text) == 0)
    return root;
  for (GtkWidget *child = gtk_widget_get_first_child (root); child != NULL;
       child = gtk_widget_get_next_sibling (child))
    {
      GtkWidget *found = find_label_with_text (child, text);

      if (found != NULL)
        return found;
    }
  return NULL;
}

/* A one-click fix: a button with the fix's name that says so ("fix") and
 * closes the dialog; none when the window offers none. The explanation, a
 * paragraph, is left-aligned. */
static void
test_fix (void)
{
  g_autoptr(HeraldSmtpConfig) config = make_config ();
  g_autoptr(HeraldSmtpResult) result = make_result ();
  g_autoptr(HeraldDiagnosis) diagnosis = herald_diagnose_text (REPLY, HERALD_STAGE_AUTH,
                                                               config->host);
  GtkWidget *parent = gtk_window_new ();
  HeraldErrorDialog *dialog;
  GtkWidget *button, *body;
  guint n_fixes = 0;

  gtk_window_present (GTK_WINDOW (parent));
  dialog = herald_error_dialog_new (GTK_WINDOW (parent), config, result, diagnosis, NULL);
  g_object_ref (dialog);
  gtk_window_present (GTK_WINDOW (dialog));

  body = find_label_with_text (GTK_WIDGET (dialog), diagnosis->explanation);
  g_assert_nonnull (body);
  g_assert_cmpint (gtk_label_get_justify (GTK_LABEL (body)), ==, GTK_JUSTIFY_LEFT);
  g_assert_cmpfloat (gtk_label_get_xalign (GTK_LABEL (body)), ==, 0.0);

  g_assert_null (herald_error_dialog_get_fix (dialog));
  herald_error_dialog_set_fix (dialog, "Switch to OAuth 2.0");
  g_assert_cmpstr (herald_error_dialog_get_fix (dialog), ==, "Switch to OAuth 2.0");
  button = herald_test_find_widget (GTK_WIDGET (dialog), GTK_TYPE_BUTTON, "Switch to OAuth 2.0");
  g_assert_nonnull (button);
  g_assert_true (herald_test_widget_shown (button));
  herald_error_dialog_set_fix (dialog, NULL);
  g_assert_false (herald_test_widget_shown (button));
  herald_error_dialog_set_fix (dialog, "Switch to OAuth 2.0");

  /* A fingerprint in the explanation is drawn monospace (and wraps). */
  {
    g_autoptr(HeraldDiagnosis) cert = herald_diagnosis_copy (diagnosis);
    const char *fp = "AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89:"
                     "AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89";
    PangoAttrIterator *iter;
    gboolean mono_at_fp = FALSE, mono_before = FALSE;
    const char *text;

    g_free (cert->explanation);
    cert->explanation = g_strdup_printf ("The certificate has the SHA-256 fingerprint %s.", fp);
    herald_error_dialog_set_failure (dialog, config, result, cert, NULL);
    body = find_label_with_text (GTK_WIDGET (dialog), cert->explanation);
    g_assert_nonnull (body);
    g_assert_nonnull (gtk_label_get_attributes (GTK_LABEL (body)));
    text = gtk_label_get_text (GTK_LABEL (body));
    iter = pango_attr_list_get_iterator (gtk_label_get_attributes (GTK_LABEL (body)));
    do
      {
        int start, end;
        PangoAttribute *family = pango_attr_iterator_get (iter, PANGO_ATTR_FAMILY);

        pango_attr_iterator_range (iter, &start, &end);
        if (family != NULL && start == (int) (strstr (text, fp) - text) &&
            end == start + (int) strlen (fp))
          mono_at_fp = TRUE;
        if (family != NULL && start == 0)
          mono_before = TRUE;
      }
    while (pango_attr_iterator_next (iter));
    pango_attr_iterator_destroy (iter);
    g_assert_true (mono_at_fp);
    g_assert_false (mono_before);
    herald_error_dialog_set_failure (dialog, config, result, diagnosis, NULL);
  }

  g_signal_connect_swapped (dialog, "fix", G_CALLBACK (count_cb), &n_fixes);
  g_signal_emit_by_name (button, "clicked");
  g_assert_cmpuint (n_fixes, ==, 1);
  g_assert_false (gtk_widget_get_visible (GTK_WIDGET (dialog)));

  g_assert_finalize_object (dialog);
  gtk_window_destroy (GTK_WINDOW (parent));
}

int
main (int   argc,
      char *argv[])
{
  gtk_test_init (&argc, &argv, NULL);
  adw_init ();

  g_test_add_func ("/herald/ui/error-dialog/failure", test_failure);
  g_test_add_func ("/herald/ui/error-dialog/fix", test_fix);

  return g_test_run ();
}
