/* SPDX-License-Identifier: GPL-3.0-or-later
 * Copyright 2026 The Herald authors
 */
#define G_LOG_DOMAIN "herald-test-ui"

#include "config.h"

#include <string.h>
#include <adwaita.h>
#include <glib/gstdio.h>
#include <libsoup/soup.h>

#include "fake-idp.h"
#include "herald-fake-server.h"
#include "herald-widget-util.h"
#include "herald-oauth.h"
#include "herald-oauth-group.h"
#include "herald-providers.h"
#include "herald-secrets.h"
#include "herald-secrets-oauth.h"
#include "herald-application.h"
#include "herald-diagnosis.h"
#include "herald-error-dialog.h"
#include "herald-history.h"
#include "herald-history-dialog.h"
#include "herald-window.h"
#include "herald-window-private.h"

/* Widget tests of the Herald window, under Xvfb (build-aux/test-session.sh).
 * The form is filled through its widgets, as a person would type; sends go to
 * the in-process fake SMTP server on 127.0.0.1 with the test CA. */

#define FROM      "alerts@example.com"
#define TO        "admin@example.com"
#define USERNAME  "alerts@example.com"
#define PASSWORD  "s3cret-Ui-Pa55"

static char *certdir;

/* ---------------------------------------------------------------------------
 * Helpers
 * ------------------------------------------------------------------------- */

static char *
cert_path (const char *name)
{
  return g_build_filename (certdir, name, NULL);
}

static void
make_certs (void)
{
  g_autoptr(GError) error = NULL;
  const char *argv[] = { MAKE_TEST_CERTS, NULL, NULL };
  int status = -1;

  certdir = g_test_build_filename (G_TEST_BUILT, "ui", "certs", NULL);
  argv[1] = certdir;
  g_spawn_sync (NULL, (char **) argv, NULL, G_SPAWN_DEFAULT, NULL, NULL, NULL, NULL,
                &status, &error);
  g_assert_no_error (error);
  g_spawn_check_wait_status (status, &error);
  g_assert_no_error (error);
}

static void
reset_settings (void)
{
  g_autoptr(GSettings) settings = g_settings_new ("io.github.heraldmail.Herald");
  g_autoptr(GSettingsSchema) schema = NULL;
  g_auto(GStrv) keys = NULL;

  g_object_get (settings, "settings-schema", &schema, NULL);
  keys = g_settings_schema_list_keys (schema);
  for (guint i = 0; keys[i] != NULL; i++)
    g_settings_reset (settings, keys[i]);
}

typedef gboolean (*Condition) (gpointer data);

static gboolean
wait_for (Condition condition,
          gpointer  data,
          guint     timeout_ms)
{
  gint64 end = g_get_monotonic_time () + timeout_ms * G_TIME_SPAN_MILLISECOND;

  while (!condition (data))
    {
      if (g_get_monotonic_time () > end)
        return FALSE;
      if (!g_main_context_iteration (NULL, FALSE))
        g_usleep (2000);
    }
  return TRUE;
}

static void
spin (guint ms)
{
  gint64 end = g_get_monotonic_time () + ms * G_TIME_SPAN_MILLISECOND;

  while (g_get_monotonic_time () < end)
    {
      if (!g_main_context_iteration (NULL, FALSE))
        g_usleep (2000);
    }
}

static gboolean
not_running (gpointer data)
{
  return !_herald_window_is_running (data);
}

static gboolean
keyring_idle (gpointer data)
{
  return _herald_window_get_n_keyring_ops (data) == 0;
}

static gboolean
only_one_ref (gpointer data)
{
  return G_OBJECT (data)->ref_count == 1;
}

static GtkWidget *
find_button_by_tooltip (GtkWidget  *root,
                        const char *tooltip)
{
  if (GTK_IS_BUTTON (root) && g_strcmp0 (gtk_widget_get_tooltip_text (root), tooltip) == 0)
    return root;

  for (GtkWidget *child = gtk_widget_get_first_child (root);
       child != NULL;
       child = gtk_widget_get_next_sibling (child))
    {
      GtkWidget *found = find_button_by_tooltip (child, tooltip);

      if (found != NULL)
        return found;
    }
  return NULL;
}

static HeraldWindow *
new_window (void)
{
  HeraldWindow *window = herald_window_new (NULL);

  g_object_ref (window);
  gtk_window_present (GTK_WINDOW (window));
  return window;
}

/* Destroys the window and checks that nothing keeps it alive. */
static void
destroy_window (HeraldWindow *window)
{
  g_assert_true (wait_for (not_running, window, 10000));
  g_assert_true (wait_for (keyring_idle, window, 10000));
  gtk_window_destroy (GTK_WINDOW (window));
  /* A cancelled test's worker still holds the window until its result
   * arrives (and is ignored). */
  g_assert_true (wait_for (only_one_ref, window, 10000));
  g_assert_finalize_object (window);
}

static GtkWidget *
field (HeraldWindow *window,
       const char   *name)
{
  GtkWidget *widget = _herald_window_get_widget (window, name);

  g_assert_nonnull (widget);
  return widget;
}

static void
type_text (HeraldWindow *window,
           const char   *name,
           const char   *text)
{
  gtk_editable_set_text (GTK_EDITABLE (field (window, name)), text);
}

static void
select_item (HeraldWindow *window,
             const char   *name,
             const char   *label)
{
  AdwComboRow *row = ADW_COMBO_ROW (field (window, name));
  GListModel *model = adw_combo_row_get_model (row);

  for (guint i = 0; i < g_list_model_get_n_items (model); i++)
    {
      g_autoptr(GtkStringObject) item = g_list_model_get_item (model, i);

      if (g_str_equal (gtk_string_object_get_string (item), label))
        {
          adw_combo_row_set_selected (row, i);
          return;
        }
    }
  g_error ("No item “%s” in %s", label, name);
}

static const char *
selected_item (HeraldWindow *window,
               const char   *name)
{
  AdwComboRow *row = ADW_COMBO_ROW (field (window, name));

  return gtk_string_object_get_string (GTK_STRING_OBJECT (adw_combo_row_get_selected_item (row)));
}

/* Whether one of the window's actions (installed on its class) is enabled,
 * as GTK itself sees it: a hidden button bound to the action, parented to
 * the window for the look-up, is sensitive only while the action is. */
static gboolean
action_enabled (HeraldWindow *window,
                const char   *action)
{
  GtkWidget *probe = gtk_button_new ();
  gboolean enabled;

  gtk_widget_set_visible (probe, FALSE);
  gtk_actionable_set_action_name (GTK_ACTIONABLE (probe), action);
  gtk_widget_set_parent (probe, GTK_WIDGET (window));
  enabled = gtk_widget_get_sensitive (probe);
  gtk_widget_unparent (probe);
  return enabled;
}

static gboolean
send_enabled (HeraldWindow *window)
{
  return action_enabled (window, "win.send");
}

static HeraldOAuthGroup *
oauth_group (HeraldWindow *window)
{
  return HERALD_OAUTH_GROUP (field (window, "oauth-group"));
}

static gboolean
oauth_signed_in (gpointer data)
{
  return herald_oauth_group_get_signed_in (oauth_group (data)) &&
         !herald_oauth_group_get_busy (oauth_group (data));
}

static gboolean
oauth_signed_out (gpointer data)
{
  return !herald_oauth_group_get_signed_in (oauth_group (data)) &&
         !herald_oauth_group_get_busy (oauth_group (data));
}

static void
fill_form (HeraldWindow *window,
           guint16       port,
           const char   *security,
           const char   *auth)
{
  g_autofree char *port_text = g_strdup_printf ("%u", port);
  g_autofree char *ca = cert_path ("ca.pem");

  type_text (window, "server", "127.0.0.1");
  select_item (window, "security", security);
  type_text (window, "port", port_text);
  /* Leaving the field (or Enter) commits a spin button's text. */
  gtk_spin_button_update (GTK_SPIN_BUTTON (field (window, "port")));
  select_item (window, "auth", auth);
  type_text (window, "username", USERNAME);
  type_text (window, "password", PASSWORD);
  type_text (window, "from", FROM);
  type_text (window, "to", TO);
  type_text (window, "ca-file", ca);
  type_text (window, "timeout", "5");
  gtk_spin_button_update (GTK_SPIN_BUTTON (field (window, "timeout")));
}

static HeraldFakeServer *
start_server (const char *script)
{
  g_autoptr(HeraldFakeServer) server = herald_fake_server_new_from_script (script);
  g_autoptr(GError) error = NULL;
  g_autofree char *cert = cert_path ("localhost.pem");
  g_autofree char *key = cert_path ("localhost-key.pem");

  herald_fake_server_set_tls (server, cert, key, FALSE, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (herald_fake_server_start (server, &error), >, 0);
  g_assert_no_error (error);
  return g_steal_pointer (&server);
}

#define STARTTLS_PREFIX_GREETING(greeting) \
  "S 220 " greeting "\n" \
  "C EHLO .*\n" \
  "S 250-fake.example\n" \
  "S 250 STARTTLS\n" \
  "C STARTTLS\n" \
  "S 220 2.0.0 Ready to start TLS\n" \
  "STARTTLS\n" \
  "C EHLO .*\n" \
  "S 250-fake.example\n" \
  "S 250 AUTH PLAIN LOGIN\n"
#define STARTTLS_PREFIX STARTTLS_PREFIX_GREETING ("fake.example ESMTP")
/* What Exchange Online says: the diagnosis recognises Microsoft by it. */
#define MICROSOFT_GREETING "AM0PR01CA0001.outlook.office365.com Microsoft ESMTP MAIL Service ready"

/* ---------------------------------------------------------------------------
 * Tests
 * ------------------------------------------------------------------------- */

static void
test_send_success (void)
{
  g_autoptr(HeraldFakeServer) server = start_server (
    STARTTLS_PREFIX_GREETING (MICROSOFT_GREETING)
    "C AUTH PLAIN .*\n"
    "S 235 2.7.0 Authentication successful\n"
    "C MAIL FROM:<" FROM ">.*\n"
    "S 250 2.1.0 Sender OK\n"
    "C RCPT TO:<" TO ">.*\n"
    "S 250 2.1.5 Recipient OK\n"
    "C DATA\n"
    "S 354 Start mail input\n"
    "DATA\n"
    "S 250 2.0.0 OK <ui-test-4711@fake.example>\n"
    "C QUIT\n"
    "S 221 2.0.0 Bye\n");
  HeraldWindow *window = new_window ();
  HeraldBanner *banner = _herald_window_get_banner (window);
  HeraldStepList *steps = _herald_window_get_step_list (window);
  GtkButton *button = GTK_BUTTON (field (window, "send"));
  const char *title;

  fill_form (window, herald_fake_server_get_port (server), "STARTTLS", "Password (PLAIN)");
  g_assert_null (_herald_window_get_validation_message (window));
  g_assert_true (send_enabled (window));
  g_assert_cmpstr (gtk_button_get_label (button), ==, "Send Test Email");
  /* The suggested action of the header bar: in view whatever the scroll
   * position or the window's size. */
  g_assert_nonnull (gtk_widget_get_ancestor (GTK_WIDGET (button), ADW_TYPE_HEADER_BAR));
  g_assert_null (gtk_widget_get_ancestor (GTK_WIDGET (button), GTK_TYPE_SCROLLED_WINDOW));
  g_assert_true (gtk_widget_has_css_class (GTK_WIDGET (button), "suggested-action"));
  g_assert_true (gtk_widget_get_mapped (GTK_WIDGET (button)));

  gtk_widget_activate_action (GTK_WIDGET (window), "win.send", NULL);
  g_assert_true (_herald_window_is_running (window));
  g_assert_cmpstr (gtk_button_get_label (button), ==, "Cancel");
  g_assert_false (send_enabled (window));

  g_assert_true (wait_for (not_running, window, 15000));
  g_assert_true (herald_fake_server_wait (server, 5000));

  g_assert_null (_herald_window_get_error_dialog (window));
  g_assert_true (herald_banner_get_revealed (banner));
  title = herald_banner_get_title (banner);
  g_test_message ("banner: %s", title);
  g_assert_true (g_str_has_prefix (title, "Test email sent to " TO));
  g_assert_nonnull (strstr (title, "250 2.0.0 OK <ui-test-4711@fake.example>"));
  g_assert_null (strstr (title, PASSWORD));
  g_assert_cmpstr (gtk_button_get_label (button), ==, "Send Test Email");

  /* Password AUTH to Microsoft worked, but not for long: the notice says so
   * beside the banner. */
  {
    g_auto(GStrv) notices = herald_banner_dup_notice_titles (banner);

    g_assert_cmpuint (g_strv_length (notices), >=, 1);
    g_test_message ("banner notice: %s", notices[0]);
  }

  /* The Subject row was left empty: its placeholder is the subject the
   * message really went out with. */
  {
    g_autoptr(GBytes) message = herald_fake_server_get_message (server);
    g_autofree char *text = NULL;
    g_autofree char *expected = NULL;
    GtkEditable *delegate = gtk_editable_get_delegate (GTK_EDITABLE (field (window, "subject")));
    const char *placeholder;

    g_assert_nonnull (message);
    g_assert_true (GTK_IS_TEXT (delegate));
    placeholder = gtk_text_get_placeholder_text (GTK_TEXT (delegate));
    g_assert_nonnull (placeholder);
    g_assert_cmpstr (gtk_editable_get_text (GTK_EDITABLE (field (window, "subject"))), ==, "");
    text = g_strndup (g_bytes_get_data (message, NULL), g_bytes_get_size (message));
    expected = g_strdup_printf ("\r\nSubject: %s\r\n", placeholder);
    g_test_message ("subject placeholder: %s", placeholder);
    g_assert_nonnull (strstr (text, expected));
  }

  g_assert_cmpint (herald_step_list_get_state (steps, HERALD_STEP_CONNECT), ==, HERALD_STEP_STATE_DONE);
  g_assert_cmpint (herald_step_list_get_state (steps, HERALD_STEP_ENCRYPT), ==, HERALD_STEP_STATE_DONE);
  g_assert_cmpint (herald_step_list_get_state (steps, HERALD_STEP_GREETING), ==, HERALD_STEP_STATE_DONE);
  g_assert_cmpint (herald_step_list_get_state (steps, HERALD_STEP_LOGIN), ==, HERALD_STEP_STATE_DONE);
  g_assert_cmpint (herald_step_list_get_state (steps, HERALD_STEP_SEND), ==, HERALD_STEP_STATE_DONE);
  g_assert_true (g_str_has_suffix (herald_step_list_get_status (steps, HERALD_STEP_SEND), "ms") ||
                 g_str_has_suffix (herald_step_list_get_status (steps, HERALD_STEP_SEND), "s"));

  /* Credentials only went over TLS. */
  g_assert_true (herald_fake_server_get_tls_succeeded (server));
  {
    g_autoptr(GPtrArray) after_tls = herald_fake_server_get_received_after_tls (server);
    gboolean saw_auth = FALSE;

    for (guint i = 0; i < after_tls->len; i++)
      saw_auth |= g_str_has_prefix (g_ptr_array_index (after_tls, i), "AUTH PLAIN ");
    g_assert_true (saw_auth);
  }

  /* Another port is another test: the green banner and the ticks were for
   * the old one, and go. */
  type_text (window, "port", "2526");
  g_assert_false (herald_banner_get_revealed (banner));
  for (guint i = 0; i < HERALD_N_STEPS; i++)
    g_assert_cmpint (herald_step_list_get_state (steps, i), ==, HERALD_STEP_STATE_PENDING);

  destroy_window (window);
}

/* A result on screen goes with any change of the settings, also one made
 * by a preset, the OAuth group or in the password; a change while the test
 * runs drops its verdict when it comes. */
static void
test_results_stale (void)
{
  g_autoptr(GSettings) settings = g_settings_new ("io.github.heraldmail.Herald");
  const char *script =
    STARTTLS_PREFIX
    "C AUTH PLAIN .*\n"
    "S 535 5.7.8 Error: authentication failed\n"
    "C QUIT\n"
    "S 221 2.0.0 Bye\n";
  HeraldWindow *window = new_window ();
  HeraldBanner *banner = _herald_window_get_banner (window);
  HeraldStepList *steps = _herald_window_get_step_list (window);
  HeraldStep login = herald_step_for_stage (HERALD_STAGE_AUTH);
  const char *changes[] = { "password", "oauth-client-id", "alerts-enabled" };

  for (guint i = 0; i < G_N_ELEMENTS (changes); i++)
    {
      g_autoptr(HeraldFakeServer) server = start_server (script);

      fill_form (window, herald_fake_server_get_port (server), "STARTTLS", "Password (PLAIN)");
      gtk_widget_activate_action (GTK_WIDGET (window), "win.send", NULL);
      g_assert_true (wait_for (not_running, window, 15000));
      g_assert_nonnull (_herald_window_get_error_dialog (window));
      gtk_window_destroy (GTK_WINDOW (_herald_window_get_error_dialog (window)));
      g_assert_cmpint (herald_step_list_get_state (steps, login), ==, HERALD_STEP_STATE_FAILED);
      g_assert_true (herald_banner_get_revealed (banner));

      if (g_str_equal (changes[i], "password"))
        type_text (window, "password", "another password");
      else if (g_str_equal (changes[i], "oauth-client-id"))
        g_settings_set_string (settings, "oauth-client-id", "another-client-id");
      else
        g_settings_set_boolean (settings, "alerts-enabled", TRUE);

      /* The alerts switch is nothing a test tests: the result stays. */
      g_assert_cmpint (herald_step_list_get_state (steps, login), ==,
                       g_str_equal (changes[i], "alerts-enabled") ? HERALD_STEP_STATE_FAILED
                                                                  : HERALD_STEP_STATE_PENDING);
      g_assert_cmpint (herald_banner_get_revealed (banner), ==,
                       g_str_equal (changes[i], "alerts-enabled"));
      herald_fake_server_wait (server, 5000);
    }

  /* Changed while running: the failure that comes is for the old settings,
   * so neither the dialog nor a red step shows; a toast says why. */
  {
    g_autoptr(HeraldFakeServer) server = start_server (script);

    fill_form (window, herald_fake_server_get_port (server), "STARTTLS", "Password (PLAIN)");
    gtk_widget_activate_action (GTK_WIDGET (window), "win.send", NULL);
    g_assert_true (_herald_window_is_running (window));
    type_text (window, "subject", "Changed while running");
    g_assert_true (wait_for (not_running, window, 15000));
    g_assert_null (_herald_window_get_error_dialog (window));
    g_assert_false (herald_banner_get_revealed (banner));
    for (guint i = 0; i < HERALD_N_STEPS; i++)
      g_assert_cmpint (herald_step_list_get_state (steps, i), ==, HERALD_STEP_STATE_PENDING);
    herald_fake_server_wait (server, 5000);
  }

  destroy_window (window);
}

/* The labels that show a command (monospace) or a link title in the error
 * dialog. */
static void
collect_dialog_labels (GtkWidget *widget,
                       GPtrArray *commands,
                       GPtrArray *links)
{
  if (GTK_IS_LABEL (widget) && gtk_widget_has_css_class (widget, "monospace"))
    g_ptr_array_add (commands, widget);
  else if (GTK_IS_LABEL (widget) && GTK_IS_LINK_BUTTON (gtk_widget_get_parent (widget)))
    g_ptr_array_add (links, widget);

  for (GtkWidget *child = gtk_widget_get_first_child (widget);
       child != NULL;
       child = gtk_widget_get_next_sibling (child))
    collect_dialog_labels (child, commands, links);
}

/* Asserts that a label shows all of its text: it wraps rather than being
 * ellipsized, its text fits in the width it was given, and no ancestor up
 * to the dialog (a scrolled window, a card) cuts it off on either side. */
static void
assert_label_fully_shown (GtkWidget *label,
                          GtkWidget *dialog)
{
  PangoLayout *layout = gtk_label_get_layout (GTK_LABEL (label));
  int layout_width;

  g_test_message ("label (%d px): %s", gtk_widget_get_width (label),
                  gtk_label_get_text (GTK_LABEL (label)));
  g_assert_true (gtk_widget_get_mapped (label));
  g_assert_true (gtk_label_get_wrap (GTK_LABEL (label)));
  g_assert_cmpint (gtk_label_get_wrap_mode (GTK_LABEL (label)), ==, PANGO_WRAP_WORD_CHAR);
  g_assert_cmpint (gtk_label_get_ellipsize (GTK_LABEL (label)), ==, PANGO_ELLIPSIZE_NONE);
  g_assert_false (pango_layout_is_ellipsized (layout));
  pango_layout_get_pixel_size (layout, &layout_width, NULL);
  g_assert_cmpint (layout_width, <=, gtk_widget_get_width (label));

  /* A wrapped command never ends a line with the "-" of an option. */
  if (gtk_widget_has_css_class (label, "monospace"))
    {
      const char *text = pango_layout_get_text (layout);

      for (GSList *l = pango_layout_get_lines_readonly (layout); l != NULL; l = l->next)
        {
          const PangoLayoutLine *line = l->data;
          int end = line->start_index + line->length;

          if (end >= 2 && text[end] != '\0' && text[end] != '\n')
            g_assert_false (text[end - 1] == '-' && text[end - 2] == ' ');
        }
    }

  for (GtkWidget *ancestor = gtk_widget_get_parent (label);
       ancestor != NULL;
       ancestor = gtk_widget_get_parent (ancestor))
    {
      graphene_rect_t bounds;

      g_assert_true (gtk_widget_compute_bounds (label, ancestor, &bounds));
      g_assert_cmpfloat (bounds.origin.x, >=, 0);
      g_assert_cmpfloat (bounds.origin.x + bounds.size.width, <=,
                         gtk_widget_get_width (ancestor) + 0.5);
      if (ancestor == dialog)
        break;
    }
}

static gboolean
dialog_laid_out (gpointer data)
{
  return gtk_widget_get_mapped (data) && gtk_widget_get_width (data) > 0;
}

static gboolean
content_fits (gpointer data)
{
  GtkAdjustment *vadj = gtk_scrolled_window_get_vadjustment (data);

  return gtk_adjustment_get_page_size (vadj) > 0 &&
         gtk_adjustment_get_upper (vadj) <= gtk_adjustment_get_page_size (vadj);
}

/* Every command and link title of the dialog can be read in full. */
static void
assert_dialog_readable (GtkWidget *dialog,
                        guint      n_commands,
                        guint      n_links)
{
  g_autoptr(GPtrArray) commands = g_ptr_array_new ();
  g_autoptr(GPtrArray) links = g_ptr_array_new ();

  g_assert_true (wait_for (dialog_laid_out, dialog, 5000));
  spin (100);
  collect_dialog_labels (dialog, commands, links);
  g_assert_cmpuint (commands->len, ==, n_commands);
  g_assert_cmpuint (links->len, ==, n_links);
  for (guint i = 0; i < commands->len; i++)
    assert_label_fully_shown (g_ptr_array_index (commands, i), dialog);
  for (guint i = 0; i < links->len; i++)
    assert_label_fully_shown (g_ptr_array_index (links, i), dialog);
}

static void
test_send_failure (void)
{
  g_autoptr(HeraldFakeServer) server = start_server (
    STARTTLS_PREFIX
    "C AUTH PLAIN .*\n"
    "S 535 5.7.139 Authentication unsuccessful, SmtpClientAuthentication is disabled for the "
    "Mailbox. Visit https://aka.ms/smtp_auth_disabled for more information. "
    "[AM0PR01CA0001.eurprd01.prod.outlook.com 2026-11-28T08:00:00.000Z 08DCAB]\n"
    "C QUIT\n"
    "S 221 2.0.0 Bye\n");
  HeraldWindow *window = new_window ();
  HeraldStepList *steps = _herald_window_get_step_list (window);
  HeraldErrorDialog *dialog;
  const HeraldDiagnosis *diagnosis;
  g_auto(GStrv) step_texts = NULL;
  g_autofree char *details = NULL;
  g_autofree char *report = NULL;
  g_autofree char *diagnosis_title = NULL;

  fill_form (window, herald_fake_server_get_port (server), "STARTTLS", "Password (PLAIN)");
  gtk_widget_activate_action (GTK_WIDGET (window), "win.send", NULL);
  g_assert_true (wait_for (not_running, window, 15000));

  dialog = _herald_window_get_error_dialog (window);
  g_assert_nonnull (dialog);
  g_assert_true (gtk_widget_get_visible (GTK_WIDGET (dialog)));
  g_assert_true (gtk_window_get_modal (GTK_WINDOW (dialog)));
  /* No success banner: a failure banner, to reopen the diagnosis later. */
  g_assert_true (herald_banner_get_revealed (_herald_window_get_banner (window)));
  g_assert_true (herald_banner_get_failed (_herald_window_get_banner (window)));

  diagnosis = herald_error_dialog_get_diagnosis (dialog);
  diagnosis_title = g_strdup (diagnosis->title);
  g_test_message ("diagnosis %s: %s", diagnosis->id, diagnosis->title);
  g_assert_cmpstr (adw_message_dialog_get_heading (ADW_MESSAGE_DIALOG (dialog)), ==, diagnosis->title);
  /* This reply has a specific rule: the mailbox has SMTP AUTH turned off. */
  g_assert_false (herald_diagnosis_is_fallback (diagnosis));
  g_assert_nonnull (strstr (diagnosis->id, "smtp-auth"));
  g_assert_cmpstr (herald_error_dialog_get_actor_text (dialog), ==,
                   herald_actor_describe (diagnosis->actor));

  step_texts = herald_error_dialog_dup_step_texts (dialog);
  g_assert_cmpuint (g_strv_length (step_texts), ==, diagnosis->steps->len);
  g_assert_cmpuint (g_strv_length (step_texts), >, 0);
  for (guint i = 0; step_texts[i] != NULL; i++)
    {
      const HeraldDiagnosisStep *step = g_ptr_array_index (diagnosis->steps, i);
      g_autofree char *expected = g_strdup_printf ("%u. %s", i + 1, step->text);

      g_test_message ("step: %s", step_texts[i]);
      g_assert_true (g_str_has_prefix (step_texts[i], expected));
      if (step->command != NULL)
        g_assert_true (g_str_has_suffix (step_texts[i], step->command));
    }

  details = herald_error_dialog_dup_details_text (dialog);
  g_assert_nonnull (strstr (details, "535 5.7.139"));
  g_assert_nonnull (strstr (details, "auth"));
  g_assert_null (strstr (details, PASSWORD));

  report = herald_error_dialog_dup_report (dialog);
  g_assert_nonnull (strstr (report, "5.7.139"));
  g_assert_null (strstr (report, PASSWORD));

  g_assert_cmpint (herald_step_list_get_state (steps, HERALD_STEP_LOGIN), ==, HERALD_STEP_STATE_FAILED);
  g_assert_cmpint (herald_step_list_get_state (steps, HERALD_STEP_SEND), ==, HERALD_STEP_STATE_PENDING);

  /* The PowerShell commands are longer than the dialog is wide: they wrap,
   * and each is shown in full. */
  {
    guint n_commands = 0;

    for (guint i = 0; i < diagnosis->steps->len; i++)
      n_commands += ((HeraldDiagnosisStep *) g_ptr_array_index (diagnosis->steps, i))->command != NULL;
    g_assert_cmpuint (n_commands, >, 0);
    assert_dialog_readable (GTK_WIDGET (dialog), n_commands, diagnosis->links->len);
  }

  /* The window has room for all of it: nothing scrolls (GTK 4.8 measures a
   * scrolled window's content without its width, as if no label wrapped). */
  {
    GtkWidget *scroller = gtk_widget_get_ancestor (find_button_by_tooltip (GTK_WIDGET (dialog),
                                                                           "Copy Command"),
                                                   GTK_TYPE_SCROLLED_WINDOW);
    GtkAdjustment *vadj;

    g_assert_nonnull (scroller);
    g_assert_true (wait_for (content_fits, scroller, 5000));
    vadj = gtk_scrolled_window_get_vadjustment (GTK_SCROLLED_WINDOW (scroller));
    g_assert_cmpfloat (gtk_adjustment_get_upper (vadj), <=, gtk_adjustment_get_page_size (vadj));
  }

  /* Each command has its own copy button. */
  for (guint i = 0; i < diagnosis->steps->len; i++)
    {
      const HeraldDiagnosisStep *step = g_ptr_array_index (diagnosis->steps, i);
      g_autofree char *copied = NULL;
      GtkWidget *copy;

      if (step->command == NULL)
        continue;
      copy = find_button_by_tooltip (GTK_WIDGET (dialog), "Copy Command");
      g_assert_nonnull (copy);
      g_signal_emit_by_name (copy, "clicked");
      copied = herald_test_clipboard_text (GTK_WIDGET (window));
      g_assert_cmpstr (copied, ==, step->command);
      break;
    }

  /* Copy Report puts the redacted report on the clipboard, and the dialog
   * stays open (the admin pastes the report, then reads on). */
  g_signal_emit_by_name (herald_test_find_widget (GTK_WIDGET (dialog), GTK_TYPE_BUTTON,
                                                  "Copy Report"), "clicked");
  {
    g_autofree char *copied = herald_test_clipboard_text (GTK_WIDGET (window));

    g_assert_true (g_str_has_prefix (copied, "Herald test report"));
    g_assert_nonnull (strstr (copied, "535 5.7.139"));
    g_assert_nonnull (strstr (copied, diagnosis->title));
    g_assert_nonnull (strstr (copied, "Password: set (not shown)"));
    g_assert_null (strstr (copied, PASSWORD));
  }
  spin (50);
  g_assert_true (_herald_window_get_error_dialog (window) == dialog);
  g_assert_true (gtk_widget_get_visible (GTK_WIDGET (dialog)));

  /* Close closes it for good. */
  g_object_add_weak_pointer (G_OBJECT (dialog), (gpointer *) &dialog);
  gtk_window_close (GTK_WINDOW (dialog));
  spin (50);
  g_assert_null (dialog);
  g_assert_null (_herald_window_get_error_dialog (window));

  /* The banner's Details opens the same diagnosis again, without a test. */
  {
    HeraldBanner *banner = _herald_window_get_banner (window);
    GtkWidget *details_button = herald_test_find_widget (GTK_WIDGET (banner), GTK_TYPE_BUTTON,
                                                         "Details");
    g_autofree char *title = g_strdup_printf ("The test failed: %s", diagnosis_title);
    g_autofree char *again = NULL;

    g_assert_cmpstr (herald_banner_get_title (banner), ==, title);
    g_assert_true (herald_test_widget_shown (details_button));
    g_signal_emit_by_name (details_button, "clicked");
    dialog = _herald_window_get_error_dialog (window);
    g_assert_nonnull (dialog);
    g_assert_true (gtk_widget_get_visible (GTK_WIDGET (dialog)));
    g_assert_cmpstr (herald_error_dialog_get_diagnosis (dialog)->title, ==, diagnosis_title);
    again = herald_error_dialog_dup_report (dialog);
    g_assert_nonnull (strstr (again, "535 5.7.139"));
    g_assert_nonnull (strstr (again, "Password: set (not shown)"));
    g_assert_null (strstr (again, PASSWORD));
    g_assert_cmpuint (herald_fake_server_get_n_accepted (server), ==, 1);
    gtk_window_destroy (GTK_WINDOW (dialog));

    /* Dismissed, the banner takes its Details along. */
    herald_banner_dismiss (banner);
    _herald_window_show_failure_details (window);
    g_assert_null (_herald_window_get_error_dialog (window));
  }

  herald_fake_server_wait (server, 5000);
  destroy_window (window);
}

/* A diagnosis with many long steps, commands and link titles: everything
 * wraps to the dialog's width, and the dialog stays within the window's
 * height (its content scrolls). */
static void
test_error_dialog_long (void)
{
  HeraldWindow *window = new_window ();
  g_autoptr(HeraldSmtpConfig) config = herald_smtp_config_new ();
  HeraldSmtpResult result = { 0 };
  g_autoptr(HeraldDiagnosis) diagnosis = herald_diagnose_text (
    "535 5.7.139 Authentication unsuccessful, SmtpClientAuthentication is disabled for the "
    "Mailbox.", HERALD_STAGE_AUTH, NULL);
  g_autofree char *long_word = g_strnfill (150, 'x');
  HeraldErrorDialog *dialog;
  HeraldLink *link;
  int window_height;

  result.stage = HERALD_STAGE_AUTH;
  for (guint i = 0; i < 30; i++)
    {
      HeraldDiagnosisStep *step = g_new0 (HeraldDiagnosisStep, 1);

      step->text = g_strdup_printf ("Step %u, with an explanation long enough to need more "
                                    "than one line at the dialog's width, as real steps do.", i);
      step->command = g_strdup_printf ("Set-CASMailbox -Identity very.long.mailbox.name.%u@"
                                       "subdomain.contoso.example -SmtpClientAuthenticationDisabled "
                                       "$false; %s", i, long_word);
      g_ptr_array_add (diagnosis->steps, step);
    }
  link = g_new0 (HeraldLink, 1);
  link->title = g_strdup ("A vendor page whose title is much longer than the dialog is wide, "
                          "as some of Microsoft's are, and which has to wrap");
  link->url = g_strdup ("https://learn.microsoft.example/");
  g_ptr_array_add (diagnosis->links, link);

  dialog = herald_error_dialog_new (GTK_WINDOW (window), config, &result, diagnosis, NULL);
  g_object_ref_sink (dialog);
  gtk_window_present (GTK_WINDOW (dialog));

  {
    guint n_commands = 0;

    for (guint i = 0; i < diagnosis->steps->len; i++)
      n_commands += ((HeraldDiagnosisStep *) g_ptr_array_index (diagnosis->steps, i))->command != NULL;
    assert_dialog_readable (GTK_WIDGET (dialog), n_commands, diagnosis->links->len);
  }

  window_height = gtk_widget_get_height (GTK_WIDGET (window));
  g_test_message ("window %d px high, dialog %d px", window_height,
                  gtk_widget_get_height (GTK_WIDGET (dialog)));
  g_assert_cmpint (window_height, >, 0);
  g_assert_cmpint (gtk_widget_get_height (GTK_WIDGET (dialog)), <=, window_height);

  gtk_window_destroy (GTK_WINDOW (dialog));
  g_assert_finalize_object (dialog);
  destroy_window (window);
}

static gboolean
greeting_reached (gpointer data)
{
  HeraldStepList *steps = _herald_window_get_step_list (data);

  return herald_step_list_get_state (steps, HERALD_STEP_CONNECT) == HERALD_STEP_STATE_DONE;
}

/* The server went silent after EHLO, and Cancel was pressed: the steps
 * before it are done, the one that hung says "Cancelled", the rest never
 * ran. */
static void
assert_cancelled_at_greeting (HeraldStepList *steps)
{
  HeraldStep hung = herald_step_for_stage (HERALD_STAGE_EHLO);

  g_assert_cmpint (herald_step_list_get_state (steps, herald_step_for_stage (HERALD_STAGE_CONNECT)),
                   ==, HERALD_STEP_STATE_DONE);
  g_assert_cmpint (herald_step_list_get_state (steps, hung), ==, HERALD_STEP_STATE_CANCELLED);
  g_assert_true (g_str_has_prefix (herald_step_list_get_status (steps, hung), "Cancelled after "));
  g_assert_cmpint (herald_step_list_get_state (steps, herald_step_for_stage (HERALD_STAGE_AUTH)),
                   ==, HERALD_STEP_STATE_PENDING);
  g_assert_cmpint (herald_step_list_get_state (steps, herald_step_for_stage (HERALD_STAGE_MAIL)),
                   ==, HERALD_STEP_STATE_PENDING);
}

static void
test_cancel (void)
{
  g_autoptr(HeraldFakeServer) server = start_server (
    "S 220 fake.example ESMTP\n"
    "C EHLO .*\n"
    "HANG\n");
  HeraldWindow *window = new_window ();
  HeraldStepList *steps = _herald_window_get_step_list (window);
  GtkButton *button = GTK_BUTTON (field (window, "send"));
  gint64 before;

  fill_form (window, herald_fake_server_get_port (server), "STARTTLS", "Password (PLAIN)");
  type_text (window, "timeout", "30");
  gtk_widget_activate_action (GTK_WIDGET (window), "win.send", NULL);
  g_assert_true (wait_for (greeting_reached, window, 10000));
  spin (100);
  g_assert_true (_herald_window_is_running (window));
  g_assert_cmpstr (gtk_button_get_label (button), ==, "Cancel");
  g_assert_true (action_enabled (window, "win.cancel"));

  before = g_get_monotonic_time ();
  gtk_widget_activate_action (GTK_WIDGET (window), "win.cancel", NULL);
  g_assert_false (_herald_window_is_running (window));
  g_assert_cmpint (g_get_monotonic_time () - before, <, 100 * G_TIME_SPAN_MILLISECOND);
  g_assert_cmpstr (gtk_button_get_label (button), ==, "Send Test Email");
  g_assert_true (send_enabled (window));
  assert_cancelled_at_greeting (steps);

  /* The worker lets go of the connection, and no verdict appears: the
   * steps still show where the test stopped. */
  g_assert_true (herald_fake_server_wait (server, 5000));
  g_assert_true (herald_fake_server_get_client_closed (server));
  spin (300);
  g_assert_null (_herald_window_get_error_dialog (window));
  g_assert_false (herald_banner_get_revealed (_herald_window_get_banner (window)));
  assert_cancelled_at_greeting (steps);

  destroy_window (window);
}

/* The form is invalid for a reason that mentions fragment: Send is off, and
 * once every field is judged (as after leaving each one) the list shows
 * every reason. */
static void
assert_invalid (HeraldWindow *window,
                const char   *fragment)
{
  const char *message = _herald_window_get_validation_message (window);
  GtkLabel *label = GTK_LABEL (field (window, "validation"));

  g_assert_nonnull (message);
  if (strstr (message, fragment) == NULL)
    g_error ("Validation message “%s” does not mention “%s”", message, fragment);
  g_assert_false (send_enabled (window));
  g_assert_false (gtk_widget_is_sensitive (field (window, "send")));
  gtk_widget_activate_action (GTK_WIDGET (window), "win.send", NULL);
  g_assert_false (_herald_window_is_running (window));
  _herald_window_judge_all (window);
  message = _herald_window_get_validation_message (window);
  g_assert_true (gtk_widget_get_visible (GTK_WIDGET (label)));
  g_assert_cmpstr (gtk_label_get_text (label), ==, message);
}

/* Focus into the field and out again, as Tab would move it. */
static void
leave_field (HeraldWindow *window,
             const char   *name)
{
  g_assert_true (gtk_widget_grab_focus (field (window, name)));
  gtk_window_set_focus (GTK_WINDOW (window), NULL);
}

static void
assert_no_reason_shown (HeraldWindow *window)
{
  const char *names[] = { "server", "port", "username", "password", "from", "to", "cc",
                          "subject", "extra-text", "ca-file", "timeout" };

  for (guint i = 0; i < G_N_ELEMENTS (names); i++)
    {
      GtkWidget *widget = field (window, names[i]);
      GtkWidget *row = GTK_IS_SPIN_BUTTON (widget) ? gtk_widget_get_ancestor (widget,
                                                                              ADW_TYPE_ACTION_ROW)
                                                   : widget;

      if (_herald_window_get_row_reason (window, names[i]) != NULL)
        g_error ("%s shows “%s”", names[i], _herald_window_get_row_reason (window, names[i]));
      g_assert_false (gtk_widget_has_css_class (row, "error"));
    }
}

/* Each reason shows under the row that is wrong, once the user has left
 * that row: a fresh form shows none, "ops@" is not judged while typed. */
static void
test_validation_beside_row (void)
{
  HeraldWindow *window = new_window ();
  GtkWidget *to_row = field (window, "to");

  /* Untouched: Send is off and says why (its tooltip), nothing is red. */
  g_assert_nonnull (strstr (_herald_window_get_validation_message (window), "host name"));
  g_assert_false (send_enabled (window));
  g_assert_cmpstr (gtk_widget_get_tooltip_text (field (window, "send")), ==,
                   _herald_window_get_validation_message (window));
  assert_no_reason_shown (window);
  g_assert_false (gtk_widget_get_visible (field (window, "validation")));

  /* Typing an unfinished address judges nothing yet... */
  type_text (window, "to", "ops@");
  g_assert_nonnull (strstr (_herald_window_get_validation_message (window), "“ops@”"));
  assert_no_reason_shown (window);

  /* ...leaving the field does, under its row and no other. */
  leave_field (window, "to");
  g_assert_cmpstr (_herald_window_get_row_reason (window, "to"), ==,
                   "To: “ops@” is not a valid email address.");
  g_assert_true (gtk_widget_has_css_class (to_row, "error"));
  gtk_test_accessible_assert_state (GTK_ACCESSIBLE (to_row), GTK_ACCESSIBLE_STATE_INVALID,
                                    GTK_ACCESSIBLE_INVALID_TRUE);
  g_assert_null (_herald_window_get_row_reason (window, "from"));
  g_assert_null (_herald_window_get_row_reason (window, "cc"));
  g_assert_null (_herald_window_get_row_reason (window, "server"));
  /* The row's own reason shows in the list too; the untouched ones do not. */
  g_assert_cmpstr (gtk_label_get_text (GTK_LABEL (field (window, "validation"))), ==,
                   "To: “ops@” is not a valid email address.");

  /* Fixed, the reason goes at once. */
  type_text (window, "to", "ops@example.com");
  g_assert_null (_herald_window_get_row_reason (window, "to"));
  g_assert_false (gtk_widget_has_css_class (to_row, "error"));
  gtk_test_accessible_assert_state (GTK_ACCESSIBLE (to_row), GTK_ACCESSIBLE_STATE_INVALID,
                                    GTK_ACCESSIBLE_INVALID_FALSE);

  /* The port says why under the port's row. */
  type_text (window, "port", "70000");
  leave_field (window, "port");
  g_assert_cmpstr (_herald_window_get_row_reason (window, "port"), ==,
                   "The port must be a number from 1 to 65535.");
  g_assert_null (_herald_window_get_row_reason (window, "timeout"));
  type_text (window, "port", "587");
  g_assert_null (_herald_window_get_row_reason (window, "port"));

  /* Every field left once: each missing one says so under its row. */
  _herald_window_judge_all (window);
  g_assert_cmpstr (_herald_window_get_row_reason (window, "server"), ==,
                   "Enter the server’s host name.");
  g_assert_cmpstr (_herald_window_get_row_reason (window, "from"), ==,
                   "Enter the sender address (From).");
  g_assert_null (_herald_window_get_row_reason (window, "to"));

  destroy_window (window);
}

static guint
snapshot_port (HeraldWindow *window)
{
  g_autoptr(HeraldSmtpConfig) config = _herald_window_snapshot_config (window);

  return config->port;
}

static void
test_validation (void)
{
  g_autoptr(GSettings) settings = g_settings_new ("io.github.heraldmail.Herald");
  HeraldWindow *window = new_window ();

  assert_invalid (window, "host name");

  fill_form (window, 2525, "STARTTLS", "Password (PLAIN)");
  g_assert_null (_herald_window_get_validation_message (window));
  g_assert_true (send_enabled (window));
  g_assert_true (gtk_widget_is_sensitive (field (window, "send")));
  g_assert_false (gtk_widget_get_visible (field (window, "validation")));

  type_text (window, "server", "");
  assert_invalid (window, "host name");
  type_text (window, "server", "127.0.0.1");

  type_text (window, "port", "70000");
  assert_invalid (window, "1 to 65535");
  /* Never clamped: the form keeps what was typed and marks the row, also
   * once the spin button takes its text (leaving the field, Enter), and the
   * settings keep the last good port (not 65535). */
  gtk_spin_button_update (GTK_SPIN_BUTTON (field (window, "port")));
  g_assert_cmpstr (gtk_editable_get_text (GTK_EDITABLE (field (window, "port"))), ==, "70000");
  g_assert_cmpint (g_settings_get_int (settings, "port"), ==, 2525);
  g_assert_true (gtk_widget_has_css_class (gtk_widget_get_ancestor (field (window, "port"),
                                                                    ADW_TYPE_ACTION_ROW),
                                           "error"));
  assert_invalid (window, "1 to 65535");
  g_assert_cmpuint (snapshot_port (window), ==, 0);
  type_text (window, "port", "0");
  assert_invalid (window, "1 to 65535");
  gtk_spin_button_update (GTK_SPIN_BUTTON (field (window, "port")));
  g_assert_cmpint (g_settings_get_int (settings, "port"), ==, 2525);
  /* Typed digit by digit, no prefix of a wrong port is saved either. */
  type_text (window, "port", "");
  {
    int position = 0;

    for (const char *digits = "70000"; *digits != '\0'; digits++)
      gtk_editable_insert_text (GTK_EDITABLE (field (window, "port")), digits, 1, &position);
  }
  g_assert_cmpstr (gtk_editable_get_text (GTK_EDITABLE (field (window, "port"))), ==, "70000");
  gtk_spin_button_update (GTK_SPIN_BUTTON (field (window, "port")));
  g_assert_cmpint (g_settings_get_int (settings, "port"), ==, 2525);
  type_text (window, "port", "25");
  g_assert_null (_herald_window_get_validation_message (window));
  gtk_spin_button_update (GTK_SPIN_BUTTON (field (window, "port")));
  g_assert_cmpint (g_settings_get_int (settings, "port"), ==, 25);
  g_assert_false (gtk_widget_has_css_class (gtk_widget_get_ancestor (field (window, "port"),
                                                                     ADW_TYPE_ACTION_ROW),
                                            "error"));

  /* The same for the timeout. */
  type_text (window, "timeout", "601");
  assert_invalid (window, "1 to 600");
  gtk_spin_button_update (GTK_SPIN_BUTTON (field (window, "timeout")));
  g_assert_cmpstr (gtk_editable_get_text (GTK_EDITABLE (field (window, "timeout"))), ==, "601");
  g_assert_cmpuint (g_settings_get_uint (settings, "timeout"), ==, 5);
  type_text (window, "timeout", "5");
  g_assert_null (_herald_window_get_validation_message (window));

  type_text (window, "from", "not an address");
  assert_invalid (window, "From: “not an address” is not a valid email address");
  g_assert_true (gtk_widget_has_css_class (field (window, "from"), "error"));
  type_text (window, "from", FROM);
  g_assert_false (gtk_widget_has_css_class (field (window, "from"), "error"));

  type_text (window, "to", TO "; bad@");
  assert_invalid (window, "To: “bad@” is not a valid email address");
  type_text (window, "to", "");
  assert_invalid (window, "recipient");
  type_text (window, "to", TO ", second@example.com");
  g_assert_null (_herald_window_get_validation_message (window));

  type_text (window, "cc", "nobody");
  assert_invalid (window, "Cc: “nobody”");
  type_text (window, "cc", "");

  type_text (window, "subject", "Hello\r\nBcc: victim@example.com");
  assert_invalid (window, "Subject must not contain line breaks");
  type_text (window, "subject", "Hello");

  type_text (window, "username", "");
  assert_invalid (window, "username");
  select_item (window, "auth", "None");
  g_assert_null (_herald_window_get_validation_message (window));

  g_assert_true (send_enabled (window));
  destroy_window (window);
}

/* The password's show/hide button is named for a screen reader (GTK 4.8
 * would announce its icon, "GtkImage"), for what pressing it does. */
static void
test_password_toggle_name (void)
{
  HeraldWindow *window = new_window ();
  GtkWidget *toggle = find_button_by_tooltip (field (window, "password"), "Show Text");
  GtkEditable *text = gtk_editable_get_delegate (GTK_EDITABLE (field (window, "password")));

  g_assert_nonnull (toggle);
  gtk_test_accessible_assert_property (GTK_ACCESSIBLE (toggle), GTK_ACCESSIBLE_PROPERTY_LABEL,
                                       "Show Password");
  g_signal_emit_by_name (toggle, "clicked");
  g_assert_true (gtk_text_get_visibility (GTK_TEXT (text)));
  gtk_test_accessible_assert_property (GTK_ACCESSIBLE (toggle), GTK_ACCESSIBLE_PROPERTY_LABEL,
                                       "Hide Password");
  g_signal_emit_by_name (toggle, "clicked");
  gtk_test_accessible_assert_property (GTK_ACCESSIBLE (toggle), GTK_ACCESSIBLE_PROPERTY_LABEL,
                                       "Show Password");
  destroy_window (window);
}

static void
test_provider_preset (void)
{
  g_autoptr(GSettings) settings = g_settings_new ("io.github.heraldmail.Herald");
  HeraldWindow *window = new_window ();
  AdwActionRow *provider_row = ADW_ACTION_ROW (field (window, "provider"));
  g_autofree char *server = NULL;

  select_item (window, "provider", "Yahoo Mail");
  g_assert_cmpstr (gtk_editable_get_text (GTK_EDITABLE (field (window, "server"))), ==,
                   "smtp.mail.yahoo.com");
  g_assert_cmpint (gtk_spin_button_get_value_as_int (GTK_SPIN_BUTTON (field (window, "port"))), ==, 465);
  g_assert_cmpstr (selected_item (window, "security"), ==, "SSL/TLS");
  g_assert_cmpstr (selected_item (window, "auth"), ==, "Automatic");
  g_assert_cmpstr (adw_action_row_get_subtitle (provider_row), ==, "");

  /* Instant apply: the preset is in GSettings too. */
  server = g_settings_get_string (settings, "server");
  g_assert_cmpstr (server, ==, "smtp.mail.yahoo.com");
  g_assert_cmpint (g_settings_get_int (settings, "port"), ==, 465);
  g_clear_pointer (&server, g_free);
  server = g_settings_get_string (settings, "security");
  g_assert_cmpstr (server, ==, "tls");
  g_clear_pointer (&server, g_free);

  select_item (window, "provider", "Microsoft 365 / Exchange Online");
  g_assert_cmpstr (gtk_editable_get_text (GTK_EDITABLE (field (window, "server"))), ==,
                   "smtp.office365.com");
  g_assert_cmpint (gtk_spin_button_get_value_as_int (GTK_SPIN_BUTTON (field (window, "port"))), ==, 587);
  g_assert_cmpstr (selected_item (window, "security"), ==, "STARTTLS");
  g_assert_cmpstr (selected_item (window, "auth"), ==, "OAuth 2.0");
  g_assert_true (gtk_widget_get_visible (field (window, "oauth-slot")));
  g_assert_false (gtk_widget_get_visible (field (window, "password")));
  g_assert_cmpstr (adw_action_row_get_subtitle (provider_row), ==, "");

  /* Editing one of the preset's values shows the provider as edited. */
  type_text (window, "server", "smtp.example.net");
  g_assert_cmpstr (adw_action_row_get_subtitle (provider_row), ==, "Edited");
  type_text (window, "server", "smtp.office365.com");
  g_assert_cmpstr (adw_action_row_get_subtitle (provider_row), ==, "");
  select_item (window, "auth", "Password (LOGIN)");
  g_assert_cmpstr (adw_action_row_get_subtitle (provider_row), ==, "Edited");
  g_assert_false (gtk_widget_get_visible (field (window, "oauth-slot")));
  g_assert_true (gtk_widget_get_visible (field (window, "password")));

  g_clear_pointer (&server, g_free);
  server = g_settings_get_string (settings, "oauth-provider");
  g_assert_cmpstr (server, ==, "microsoft");

  select_item (window, "provider", "Gmail / Google Workspace");
  g_assert_cmpstr (gtk_editable_get_text (GTK_EDITABLE (field (window, "server"))), ==,
                   "smtp.gmail.com");
  g_clear_pointer (&server, g_free);
  server = g_settings_get_string (settings, "oauth-provider");
  g_assert_cmpstr (server, ==, "google");
  select_item (window, "provider", "iCloud Mail");
  g_assert_cmpstr (gtk_editable_get_text (GTK_EDITABLE (field (window, "server"))), ==,
                   "smtp.mail.me.com");
  g_assert_cmpint (gtk_spin_button_get_value_as_int (GTK_SPIN_BUTTON (field (window, "port"))), ==, 587);
  select_item (window, "provider", "Outlook.com");
  g_assert_cmpstr (gtk_editable_get_text (GTK_EDITABLE (field (window, "server"))), ==,
                   "smtp-mail.outlook.com");

  /* Custom leaves everything as it is. */
  select_item (window, "provider", "Custom SMTP server");
  g_assert_cmpstr (gtk_editable_get_text (GTK_EDITABLE (field (window, "server"))), ==,
                   "smtp-mail.outlook.com");
  g_assert_cmpstr (adw_action_row_get_subtitle (provider_row), ==, "");

  destroy_window (window);
}

static void
test_port_follows_security (void)
{
  HeraldWindow *window = new_window ();
  GtkSpinButton *port = GTK_SPIN_BUTTON (field (window, "port"));

  g_assert_cmpstr (selected_item (window, "security"), ==, "STARTTLS");
  g_assert_cmpint (gtk_spin_button_get_value_as_int (port), ==, 587);

  select_item (window, "security", "SSL/TLS");
  g_assert_cmpint (gtk_spin_button_get_value_as_int (port), ==, 465);
  select_item (window, "security", "STARTTLS");
  g_assert_cmpint (gtk_spin_button_get_value_as_int (port), ==, 587);

  /* A port the user chose stays. */
  type_text (window, "port", "2525");
  gtk_spin_button_update (port);
  select_item (window, "security", "SSL/TLS");
  g_assert_cmpint (gtk_spin_button_get_value_as_int (port), ==, 2525);
  select_item (window, "security", "None");
  g_assert_cmpint (gtk_spin_button_get_value_as_int (port), ==, 2525);

  destroy_window (window);
}

static void
test_settings_binding (void)
{
  g_autoptr(GSettings) settings = g_settings_new ("io.github.heraldmail.Herald");
  g_autoptr(GSettingsSchema) schema = NULL;
  g_auto(GStrv) keys = NULL;
  HeraldWindow *window = new_window ();
  g_autofree char *value = NULL;

  fill_form (window, 2525, "SSL/TLS", "Password (LOGIN)");
  type_text (window, "subject", "Alert test");
  type_text (window, "extra-text", "Sent by the widget test");
  gtk_switch_set_active (GTK_SWITCH (field (window, "alerts")), TRUE);

  value = g_settings_get_string (settings, "server");
  g_assert_cmpstr (value, ==, "127.0.0.1");
  g_clear_pointer (&value, g_free);
  value = g_settings_get_string (settings, "auth");
  g_assert_cmpstr (value, ==, "login");
  g_clear_pointer (&value, g_free);
  value = g_settings_get_string (settings, "to");
  g_assert_cmpstr (value, ==, TO);
  g_clear_pointer (&value, g_free);
  value = g_settings_get_string (settings, "extra-text");
  g_assert_cmpstr (value, ==, "Sent by the widget test");
  g_clear_pointer (&value, g_free);
  g_assert_true (g_settings_get_boolean (settings, "alerts-enabled"));
  g_assert_cmpuint (g_settings_get_uint (settings, "timeout"), ==, 5);

  /* The password is in no key. */
  g_object_get (settings, "settings-schema", &schema, NULL);
  keys = g_settings_schema_list_keys (schema);
  for (guint i = 0; keys[i] != NULL; i++)
    {
      g_autoptr(GVariant) v = g_settings_get_value (settings, keys[i]);
      g_autofree char *printed = g_variant_print (v, FALSE);

      g_assert_null (strstr (printed, PASSWORD));
    }

  destroy_window (window);

  /* A new window shows what the last one left. */
  window = new_window ();
  g_assert_cmpstr (gtk_editable_get_text (GTK_EDITABLE (field (window, "subject"))), ==,
                   "Alert test");
  g_assert_cmpstr (selected_item (window, "security"), ==, "SSL/TLS");
  g_assert_cmpstr (gtk_editable_get_text (GTK_EDITABLE (field (window, "password"))), ==, "");
  destroy_window (window);
}

static gboolean
password_filled (gpointer data)
{
  return g_str_equal (gtk_editable_get_text (GTK_EDITABLE (field (data, "password"))), PASSWORD);
}

static void
test_keyring (void)
{
  g_autoptr(GSettings) settings = g_settings_new ("io.github.heraldmail.Herald");
  g_autoptr(GError) error = NULL;
  g_autofree char *stored = NULL;
  HeraldWindow *window;

  g_settings_set_string (settings, "server", "keyring.example.test");
  g_settings_set_int (settings, "port", 587);
  g_settings_set_string (settings, "username", USERNAME);
  herald_password_store_sync ("keyring.example.test", 587, USERNAME, PASSWORD, NULL, &error);
  g_assert_no_error (error);

  /* Looked up after the first frame, and filled in. */
  window = new_window ();
  g_assert_cmpstr (gtk_editable_get_text (GTK_EDITABLE (field (window, "password"))), ==, "");
  g_assert_true (wait_for (password_filled, window, 10000));
  g_assert_null (_herald_window_get_keyring_message (window));

  /* Forget Password clears the row and the keyring. */
  gtk_widget_activate_action (GTK_WIDGET (window), "win.forget-password", NULL);
  g_assert_cmpstr (gtk_editable_get_text (GTK_EDITABLE (field (window, "password"))), ==, "");
  g_assert_true (wait_for (keyring_idle, window, 10000));
  stored = herald_password_lookup_sync ("keyring.example.test", 587, USERNAME, NULL, &error);
  g_assert_no_error (error);
  g_assert_null (stored);

  /* Closing the window stores what was typed. */
  type_text (window, "password", PASSWORD);
  gtk_window_close (GTK_WINDOW (window));
  {
    gint64 end = g_get_monotonic_time () + 10 * G_TIME_SPAN_SECOND;

    while (stored == NULL && g_get_monotonic_time () < end)
      {
        spin (20);
        stored = herald_password_lookup_sync ("keyring.example.test", 587, USERNAME, NULL, &error);
        g_assert_no_error (error);
      }
  }
  g_assert_cmpstr (stored, ==, PASSWORD);
  g_assert_true (wait_for (only_one_ref, window, 10000));
  g_assert_finalize_object (window);

  /* Typing another account's server and username brings its password. */
  g_settings_reset (settings, "server");
  g_settings_reset (settings, "username");
  window = new_window ();
  _herald_window_run_deferred_startup (window);
  type_text (window, "server", "keyring.example.test");
  type_text (window, "username", "someone-else@example.com");
  spin (800);
  g_assert_true (wait_for (keyring_idle, window, 10000));
  g_assert_cmpstr (gtk_editable_get_text (GTK_EDITABLE (field (window, "password"))), ==, "");
  type_text (window, "username", USERNAME);
  g_assert_true (wait_for (password_filled, window, 10000));

  herald_password_clear_sync ("keyring.example.test", 587, USERNAME, NULL, NULL);
  destroy_window (window);
}

/* Reading the notices (what the tests do, flushing their pending update)
 * must leave a pending keyring look-up alone: the password still arrives. */
static void
test_notice_titles_keep_lookup (void)
{
  g_autoptr(GError) error = NULL;
  g_auto(GStrv) titles = NULL;
  HeraldWindow *window;

  herald_password_store_sync ("lookup.example.test", 587, USERNAME, PASSWORD, NULL, &error);
  g_assert_no_error (error);

  window = new_window ();
  _herald_window_run_deferred_startup (window);
  g_assert_true (wait_for (keyring_idle, window, 10000));
  /* Typing the account queues both the notices and, once typing pauses,
   * the look-up of its password. */
  type_text (window, "server", "lookup.example.test");
  type_text (window, "username", USERNAME);
  titles = _herald_window_dup_notice_titles (window);
  g_assert_nonnull (titles);
  g_assert_true (wait_for (password_filled, window, 10000));

  herald_password_clear_sync ("lookup.example.test", 587, USERNAME, NULL, NULL);
  destroy_window (window);
}

#define CLIENT_ID     "0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d"
#define ACCESS_TOKEN  "ui-access-T0ken.xyz"

static void
test_send_xoauth2 (void)
{
  g_autoptr(GSettings) settings = g_settings_new ("io.github.heraldmail.Herald");
  g_autoptr(HeraldOAuthTokens) tokens = herald_oauth_tokens_new ();
  g_autoptr(GError) error = NULL;
  static const char raw[] = "user=" USERNAME "\001auth=Bearer " ACCESS_TOKEN "\001\001";
  g_autofree char *payload = g_base64_encode ((const guchar *) raw, sizeof raw - 1);
  g_autofree char *escaped = g_regex_escape_string (payload, -1);
  g_autofree char *script = NULL;
  g_autoptr(HeraldFakeServer) server = NULL;
  HeraldWindow *window;
  const char *title;

  /* A signed-in account whose access token is still fresh: no network is
   * needed to get it. */
  g_settings_set_string (settings, "oauth-provider", "microsoft");
  g_settings_set_string (settings, "oauth-client-id", CLIENT_ID);
  tokens->refresh_token = g_strdup ("ui-refresh-token");
  tokens->access_token = g_strdup (ACCESS_TOKEN);
  tokens->expires_at = g_get_real_time () / G_USEC_PER_SEC + 3600;
  herald_oauth_tokens_store_sync ("microsoft", USERNAME, CLIENT_ID, tokens, NULL, &error);
  g_assert_no_error (error);

  script = g_strdup_printf ("S 220 fake.example ESMTP\n"
                            "C EHLO .*\n"
                            "S 250-fake.example\n"
                            "S 250 STARTTLS\n"
                            "C STARTTLS\n"
                            "S 220 2.0.0 Ready to start TLS\n"
                            "STARTTLS\n"
                            "C EHLO .*\n"
                            "S 250-fake.example\n"
                            "S 250 AUTH LOGIN XOAUTH2\n"
                            "C AUTH XOAUTH2\n"
                            "S 334 \n"
                            "C %s\n"
                            "S 235 2.7.0 Authentication successful\n"
                            "LOOP-UNTIL-QUIT\n",
                            escaped);
  server = start_server (script);

  window = new_window ();
  fill_form (window, herald_fake_server_get_port (server), "STARTTLS", "OAuth 2.0");
  g_assert_true (gtk_widget_get_visible (field (window, "oauth-slot")));
  g_assert_false (gtk_widget_get_visible (field (window, "password")));
  /* The group finds the stored tokens of the form's account. */
  g_assert_true (wait_for (oauth_signed_in, window, 10000));
  g_assert_null (_herald_window_get_validation_message (window));

  gtk_widget_activate_action (GTK_WIDGET (window), "win.send", NULL);
  g_assert_true (wait_for (not_running, window, 15000));
  if (!herald_fake_server_wait (server, 5000))
    {
      g_autofree char *failure = herald_fake_server_get_failure (server);
      HeraldErrorDialog *dialog = _herald_window_get_error_dialog (window);
      g_autofree char *details = dialog ? herald_error_dialog_dup_details_text (dialog) : NULL;

      g_error ("fake server: %s\n%s", failure, details ? details : "");
    }
  if (_herald_window_get_error_dialog (window) != NULL)
    g_error ("XOAUTH2 send failed: %s",
             herald_error_dialog_get_diagnosis (_herald_window_get_error_dialog (window))->title);
  g_assert_true (herald_banner_get_revealed (_herald_window_get_banner (window)));
  title = herald_banner_get_title (_herald_window_get_banner (window));
  g_assert_true (g_str_has_prefix (title, "Test email sent to " TO));
  g_assert_null (strstr (title, ACCESS_TOKEN));
  g_assert_cmpint (herald_step_list_get_state (_herald_window_get_step_list (window), HERALD_STEP_LOGIN),
                   ==, HERALD_STEP_STATE_DONE);

  herald_oauth_tokens_clear_sync ("microsoft", USERNAME, CLIENT_ID, NULL, NULL);
  destroy_window (window);
}

static void
test_send_xoauth2_not_signed_in (void)
{
  g_autoptr(GSettings) settings = g_settings_new ("io.github.heraldmail.Herald");
  g_autoptr(HeraldFakeServer) server = start_server ("S 220 fake.example ESMTP\nC *\n");
  HeraldWindow *window;
  const char *reason;

  g_settings_set_string (settings, "oauth-client-id", CLIENT_ID);
  herald_oauth_tokens_clear_sync ("microsoft", USERNAME, CLIENT_ID, NULL, NULL);

  window = new_window ();
  fill_form (window, herald_fake_server_get_port (server), "STARTTLS", "OAuth 2.0");
  g_assert_true (wait_for (oauth_signed_out, window, 10000));

  /* No token: Send Test Email is off, and the reason says what to do. */
  reason = _herald_window_get_validation_message (window);
  g_assert_nonnull (reason);
  g_assert_nonnull (strstr (reason, "Not signed in"));
  g_assert_false (send_enabled (window));
  g_assert_true (herald_test_widget_shown (field (window, "validation")));
  gtk_widget_activate_action (GTK_WIDGET (window), "win.send", NULL);
  g_assert_false (_herald_window_is_running (window));
  g_assert_null (_herald_window_get_error_dialog (window));
  g_assert_cmpuint (herald_fake_server_get_n_accepted (server), ==, 0);

  herald_fake_server_stop (server);
  destroy_window (window);
}

static void
record_subtitle_cb (AdwActionRow *row,
                    GParamSpec   *pspec,
                    GPtrArray    *seen)
{
  g_ptr_array_add (seen, g_strdup (adw_action_row_get_subtitle (row)));
}

/* A window that opens with OAuth 2.0 selected shows neither "Not signed in"
 * nor Sign In before the keyring has answered: first a neutral "Checking the
 * keyring…" (and Send says so), then the answer. Checked for both answers. */
static void
test_oauth_checking (void)
{
  g_autoptr(GSettings) settings = g_settings_new ("io.github.heraldmail.Herald");
  g_autoptr(HeraldOAuthTokens) tokens = herald_oauth_tokens_new ();
  g_autoptr(GError) error = NULL;

  g_settings_set_string (settings, "auth", "xoauth2");
  g_settings_set_string (settings, "username", USERNAME);
  g_settings_set_string (settings, "oauth-provider", "microsoft");
  g_settings_set_string (settings, "oauth-client-id", CLIENT_ID);
  tokens->refresh_token = g_strdup ("ui-refresh-token");
  tokens->access_token = g_strdup (ACCESS_TOKEN);
  tokens->expires_at = g_get_real_time () / G_USEC_PER_SEC + 3600;

  for (int stored = 1; stored >= 0; stored--)
    {
      g_autoptr(GPtrArray) seen = g_ptr_array_new_with_free_func (g_free);
      HeraldWindow *window;
      GtkWidget *row;
      const char *reason;

      if (stored)
        herald_oauth_tokens_store_sync ("microsoft", USERNAME, CLIENT_ID, tokens, NULL, &error);
      else
        herald_oauth_tokens_clear_sync ("microsoft", USERNAME, CLIENT_ID, NULL, &error);
      g_assert_no_error (error);

      /* No main loop iteration yet: the keyring cannot have answered. */
      window = new_window ();
      row = herald_test_find_widget (GTK_WIDGET (oauth_group (window)), ADW_TYPE_ACTION_ROW,
                                     "Account");
      g_assert_true (herald_oauth_group_get_checking (oauth_group (window)));
      g_assert_true (herald_oauth_group_get_busy (oauth_group (window)));
      g_assert_cmpstr (adw_action_row_get_subtitle (ADW_ACTION_ROW (row)), ==,
                       "Checking the keyring…");
      g_assert_false (herald_test_widget_shown (herald_test_find_widget (
        GTK_WIDGET (oauth_group (window)), GTK_TYPE_BUTTON, "Sign In")));
      g_assert_false (send_enabled (window));
      reason = _herald_window_get_validation_message (window);
      g_assert_nonnull (reason);
      g_assert_null (strstr (reason, "Not signed in"));
      g_assert_nonnull (strstr (reason, "Checking the keyring"));

      g_signal_connect (row, "notify::subtitle", G_CALLBACK (record_subtitle_cb), seen);
      g_assert_true (wait_for (stored ? oauth_signed_in : oauth_signed_out, window, 10000));
      g_assert_false (herald_oauth_group_get_checking (oauth_group (window)));
      g_signal_handlers_disconnect_by_data (row, seen);

      /* Straight from "Checking" to the answer, never through the other one. */
      g_assert_cmpuint (seen->len, ==, 1);
      if (stored)
        {
          g_assert_cmpstr (g_ptr_array_index (seen, 0), ==, "Signed in as " USERNAME);
          g_assert_false (herald_test_widget_shown (herald_test_find_widget (
            GTK_WIDGET (oauth_group (window)), GTK_TYPE_BUTTON, "Sign In")));
        }
      else
        {
          g_assert_cmpstr (g_ptr_array_index (seen, 0), ==, "Not signed in (" USERNAME ")");
          g_assert_true (herald_test_widget_shown (herald_test_find_widget (
            GTK_WIDGET (oauth_group (window)), GTK_TYPE_BUTTON, "Sign In")));
          reason = _herald_window_get_validation_message (window);
          g_assert_nonnull (reason);
          g_assert_nonnull (strstr (reason, "Not signed in"));
        }

      destroy_window (window);
    }
}

/* The test's "browser" (tests/oauth/fake-idp.h); finishing also unsets it. */
static void
browser_finish (FakeIdpBrowser *browser)
{
  fake_idp_browser_finish (browser);
  herald_oauth_set_browser_func (NULL, NULL);
}

static void
use_fake_idp (FakeIdp *idp)
{
  g_autoptr(GSettings) settings = g_settings_new ("io.github.heraldmail.Herald");

  g_settings_set_string (settings, "oauth-provider", "microsoft");
  g_settings_set_string (settings, "oauth-client-id", FAKE_IDP_CLIENT_ID);
  g_settings_set_string (settings, "oauth-tenant", FAKE_IDP_TENANT);
  g_settings_set_string (settings, "oauth-authority", fake_idp_get_authority (idp));
}

static void
test_oauth_group (void)
{
  HeraldWindow *window = new_window ();
  GtkWidget *group = field (window, "oauth-group");
  const char *rows[] = { "Identity Provider", "Client ID", "Tenant", "Account",
                         "How to Get a Client ID" };
  const char *buttons[] = { "Sign In", "Use a Code Instead" };

  /* The group lives in the slot, and shows only with OAuth 2.0. */
  g_assert_true (HERALD_IS_OAUTH_GROUP (group));
  g_assert_true (gtk_widget_get_parent (group) == field (window, "oauth-slot"));
  select_item (window, "auth", "Password (PLAIN)");
  g_assert_false (herald_test_widget_shown (group));
  select_item (window, "auth", "Automatic");
  g_assert_false (herald_test_widget_shown (group));
  select_item (window, "auth", "None");
  g_assert_false (herald_test_widget_shown (group));
  select_item (window, "auth", "OAuth 2.0");
  g_assert_true (herald_test_widget_shown (group));
  g_assert_false (herald_test_widget_shown (field (window, "password")));
  g_assert_true (herald_test_widget_shown (field (window, "username")));

  for (guint i = 0; i < G_N_ELEMENTS (rows); i++)
    {
      GtkWidget *row = herald_test_find_widget (group, ADW_TYPE_PREFERENCES_ROW, rows[i]);

      if (row == NULL || !herald_test_widget_shown (row))
        g_error ("row “%s” missing or hidden", rows[i]);
    }
  for (guint i = 0; i < G_N_ELEMENTS (buttons); i++)
    {
      GtkWidget *button = herald_test_find_widget (group, GTK_TYPE_BUTTON, buttons[i]);

      if (button == NULL || !herald_test_widget_shown (button))
        g_error ("button “%s” missing or hidden", buttons[i]);
      /* The button's accessible name is its label. */
      gtk_test_accessible_assert_property (GTK_ACCESSIBLE (button), GTK_ACCESSIBLE_PROPERTY_LABEL,
                                           buttons[i]);
    }
  g_assert_false (herald_test_widget_shown (herald_test_find_widget (group, GTK_TYPE_BUTTON, "Sign Out")));

  /* The group edits the settings the window sends with. */
  gtk_editable_set_text (GTK_EDITABLE (herald_test_find_widget (group, ADW_TYPE_ENTRY_ROW, "Client ID")),
                         "typed-client-id");
  {
    g_autoptr(GSettings) settings = g_settings_new ("io.github.heraldmail.Herald");
    g_autofree char *client_id = g_settings_get_string (settings, "oauth-client-id");

    g_assert_cmpstr (client_id, ==, "typed-client-id");
  }

  select_item (window, "auth", "Password (LOGIN)");
  g_assert_false (herald_test_widget_shown (group));
  g_assert_true (herald_test_widget_shown (field (window, "password")));

  destroy_window (window);
}

static void
test_oauth_sign_in_and_send (void)
{
  g_autoptr(FakeIdp) idp = fake_idp_new ();
  g_autoptr(HeraldFakeServer) server = NULL;
  g_autofree char *access = NULL;
  g_autofree char *raw = NULL;
  g_autofree char *payload = NULL;
  g_autofree char *escaped = NULL;
  g_autofree char *script = NULL;
  FakeIdpBrowser browser = { 0 };
  HeraldWindow *window;
  GtkWidget *account_row;
  const char *title;

  use_fake_idp (idp);
  window = new_window ();
  fill_form (window, 25, "STARTTLS", "OAuth 2.0");
  g_assert_true (wait_for (oauth_signed_out, window, 10000));
  g_assert_false (send_enabled (window));
  g_assert_nonnull (strstr (_herald_window_get_validation_message (window), "Not signed in"));

  /* Sign In, as the button does: the browser comes back to the loopback
   * listener, the tokens go to the keyring, the window may send. */
  herald_oauth_set_browser_func (fake_idp_browser_open, &browser);
  g_assert_true (gtk_widget_activate_action (field (window, "oauth-group"), "oauth.sign-in", NULL));
  g_assert_true (herald_oauth_group_get_busy (oauth_group (window)));
  g_assert_false (send_enabled (window));
  g_assert_true (wait_for (oauth_signed_in, window, 20000));
  browser_finish (&browser);
  account_row = herald_test_find_widget (field (window, "oauth-group"), ADW_TYPE_ACTION_ROW, "Account");
  g_assert_cmpstr (adw_action_row_get_subtitle (ADW_ACTION_ROW (account_row)), ==,
                   "Signed in as " USERNAME);
  g_assert_null (_herald_window_get_validation_message (window));
  g_assert_true (send_enabled (window));

  /* The test sends XOAUTH2 with the token the identity provider issued, for
   * the form's user. */
  access = fake_idp_get_current_access_token (idp);
  g_assert_true (g_str_has_prefix (access, FAKE_IDP_TOKEN_PREFIX));
  raw = g_strdup_printf ("user=%s\001auth=Bearer %s\001\001", USERNAME, access);
  payload = g_base64_encode ((const guchar *) raw, strlen (raw));
  escaped = g_regex_escape_string (payload, -1);
  script = g_strdup_printf ("S 220 fake.example ESMTP\n"
                            "C EHLO .*\n"
                            "S 250-fake.example\n"
                            "S 250 STARTTLS\n"
                            "C STARTTLS\n"
                            "S 220 2.0.0 Ready to start TLS\n"
                            "STARTTLS\n"
                            "C EHLO .*\n"
                            "S 250-fake.example\n"
                            "S 250 AUTH LOGIN XOAUTH2\n"
                            "C AUTH XOAUTH2\n"
                            "S 334 \n"
                            "C %s\n"
                            "S 235 2.7.0 Authentication successful\n"
                            "LOOP-UNTIL-QUIT\n",
                            escaped);
  server = start_server (script);
  {
    g_autofree char *port = g_strdup_printf ("%u", herald_fake_server_get_port (server));

    type_text (window, "port", port);
  }
  g_assert_true (send_enabled (window));
  gtk_widget_activate_action (GTK_WIDGET (window), "win.send", NULL);
  g_assert_true (wait_for (not_running, window, 15000));
  if (!herald_fake_server_wait (server, 5000))
    {
      g_autofree char *failure = herald_fake_server_get_failure (server);

      g_error ("fake server: %s", failure);
    }
  if (_herald_window_get_error_dialog (window) != NULL)
    g_error ("XOAUTH2 send failed: %s",
             herald_error_dialog_get_diagnosis (_herald_window_get_error_dialog (window))->title);
  title = herald_banner_get_title (_herald_window_get_banner (window));
  g_assert_true (g_str_has_prefix (title, "Test email sent to " TO));
  g_assert_null (strstr (title, access));

  /* Sign Out: the tokens leave the keyring and Send waits for a sign-in. */
  g_assert_true (gtk_widget_activate_action (field (window, "oauth-group"), "oauth.sign-out", NULL));
  g_assert_true (wait_for (oauth_signed_out, window, 10000));
  g_assert_false (send_enabled (window));
  g_assert_nonnull (strstr (_herald_window_get_validation_message (window), "Not signed in"));
  {
    g_autoptr(HeraldOAuthTokens) tokens =
      herald_oauth_tokens_lookup_sync ("microsoft", USERNAME, FAKE_IDP_CLIENT_ID, NULL, NULL);

    g_assert_null (tokens);
  }

  destroy_window (window);
}

static void
test_oauth_revoked (void)
{
  g_autoptr(FakeIdp) idp = fake_idp_new ();
  g_autoptr(HeraldOAuthAccount) account = NULL;
  g_autoptr(GSettings) settings = g_settings_new ("io.github.heraldmail.Herald");
  g_autoptr(HeraldFakeServer) server = start_server ("S 220 fake.example ESMTP\nC *\n");
  g_autoptr(GError) error = NULL;
  FakeIdpBrowser browser = { 0 };
  HeraldWindow *window;
  HeraldErrorDialog *dialog;

  /* Signed in with a token that is already due for a refresh, and the
   * refresh token revoked meanwhile (password change, admin action). */
  use_fake_idp (idp);
  g_settings_set_string (settings, "username", USERNAME);
  account = herald_oauth_account_new_from_settings (settings);
  fake_idp_set_expires_in (idp, 10);
  herald_oauth_set_browser_func (fake_idp_browser_open, &browser);
  herald_oauth_sign_in_browser_sync (account, NULL, &error);
  g_assert_no_error (error);
  browser_finish (&browser);
  fake_idp_revoke_all (idp);

  window = new_window ();
  fill_form (window, herald_fake_server_get_port (server), "STARTTLS", "OAuth 2.0");
  g_assert_true (wait_for (oauth_signed_in, window, 10000));
  g_assert_true (send_enabled (window));
  gtk_widget_activate_action (GTK_WIDGET (window), "win.send", NULL);
  g_assert_true (wait_for (not_running, window, 15000));

  /* The dialog says to sign in again; the group and Send follow. */
  dialog = _herald_window_get_error_dialog (window);
  g_assert_nonnull (dialog);
  g_test_message ("diagnosis %s: %s", herald_error_dialog_get_diagnosis (dialog)->id,
                  herald_error_dialog_get_diagnosis (dialog)->title);
  g_assert_cmpuint (herald_fake_server_get_n_accepted (server), ==, 0);
  g_assert_true (wait_for (oauth_signed_out, window, 10000));
  g_assert_false (send_enabled (window));
  g_assert_nonnull (strstr (_herald_window_get_validation_message (window), "Not signed in"));

  gtk_window_destroy (GTK_WINDOW (dialog));
  herald_fake_server_stop (server);
  destroy_window (window);
}

static void
test_oauth_sign_in_error (void)
{
  g_autoptr(FakeIdp) idp = fake_idp_new ();
  FakeIdpBrowser browser = { 0 };
  HeraldWindow *window;
  GtkWidget *group;
  GtkWidget *error_row;
  GtkWidget *diagnosis_row;
  const HeraldDiagnosis *diagnosis;

  use_fake_idp (idp);
  fake_idp_set_token_error (idp, "{\"error\":\"invalid_client\",\"error_description\":"
                            "\"AADSTS7000218: The request body must contain the following "
                            "parameter: 'client_assertion' or 'client_secret'.\\r\\nTrace ID: x\","
                            "\"error_codes\":[7000218]}");
  window = new_window ();
  fill_form (window, 25, "STARTTLS", "OAuth 2.0");
  group = field (window, "oauth-group");
  g_assert_true (wait_for (oauth_signed_out, window, 10000));

  herald_oauth_set_browser_func (fake_idp_browser_open, &browser);
  g_assert_true (gtk_widget_activate_action (group, "oauth.sign-in", NULL));
  g_assert_true (herald_oauth_group_get_busy (oauth_group (window)));
  g_assert_true (wait_for (oauth_signed_out, window, 20000));
  browser_finish (&browser);

  /* What the error means, who acts and how, in the group itself. */
  diagnosis = herald_oauth_group_get_diagnosis (oauth_group (window));
  g_assert_nonnull (diagnosis);
  g_test_message ("diagnosis %s: %s", diagnosis->id, diagnosis->title);
  g_assert_cmpstr (diagnosis->id, ==, "oauth-public-client-flows-off");
  g_assert_cmpuint (diagnosis->steps->len, >, 0);
  error_row = herald_test_find_widget (group, ADW_TYPE_ACTION_ROW, "Sign-in failed");
  g_assert_true (herald_test_widget_shown (error_row));
  g_assert_cmpstr (adw_action_row_get_subtitle (ADW_ACTION_ROW (error_row)), ==, diagnosis->title);
  diagnosis_row = herald_test_find_widget (group, ADW_TYPE_EXPANDER_ROW, diagnosis->title);
  g_assert_nonnull (diagnosis_row);
  g_assert_true (herald_test_widget_shown (diagnosis_row));
  g_assert_true (adw_expander_row_get_expanded (ADW_EXPANDER_ROW (diagnosis_row)));
  {
    const HeraldDiagnosisStep *step = g_ptr_array_index (diagnosis->steps, 0);
    g_autofree char *first = g_strdup_printf ("1. %s", step->text);
    GtkWidget *steps = NULL;
    GtkWidget *raw = NULL;

    /* The numbered steps, and the provider's own words below them: walk
     * every label under the expander. */
    {
      GPtrArray *stack = g_ptr_array_new ();

      g_ptr_array_add (stack, diagnosis_row);
      while (stack->len > 0)
        {
          GtkWidget *w = g_ptr_array_steal_index (stack, stack->len - 1);

          if (GTK_IS_LABEL (w))
            {
              const char *text = gtk_label_get_text (GTK_LABEL (w));

              if (strstr (text, first) != NULL)
                steps = w;
              if (strstr (text, "AADSTS7000218") != NULL)
                raw = w;
            }
          for (GtkWidget *c = gtk_widget_get_first_child (w); c != NULL; c = gtk_widget_get_next_sibling (c))
            g_ptr_array_add (stack, c);
        }
      g_ptr_array_unref (stack);
    }
    g_assert_nonnull (steps);
    g_assert_true (herald_test_widget_shown (steps));
    g_assert_nonnull (raw);
    g_assert_true (herald_test_widget_shown (raw));
  }
  g_assert_false (send_enabled (window));

  destroy_window (window);
}

static GtkWidget *
find_button (GtkWidget  *root,
             const char *label)
{
  if (GTK_IS_BUTTON (root) && g_strcmp0 (gtk_button_get_label (GTK_BUTTON (root)), label) == 0)
    return root;

  for (GtkWidget *child = gtk_widget_get_first_child (root);
       child != NULL;
       child = gtk_widget_get_next_sibling (child))
    {
      GtkWidget *found = find_button (child, label);

      if (found != NULL)
        return found;
    }
  return NULL;
}

static void
test_notices (void)
{
  HeraldWindow *window = new_window ();
  g_auto(GStrv) titles = NULL;
  GtkWidget *button;

  _herald_window_run_deferred_startup (window);

  /* Password AUTH against Microsoft 365: the Basic-auth retirement notice. */
  select_item (window, "provider", "Microsoft 365 / Exchange Online");
  select_item (window, "auth", "Password (LOGIN)");
  type_text (window, "username", USERNAME);
  type_text (window, "from", FROM);
  type_text (window, "to", TO);
  titles = _herald_window_dup_notice_titles (window);
  g_assert_cmpuint (g_strv_length (titles), >=, 1);
  for (guint i = 0; titles[i] != NULL; i++)
    g_test_message ("notice: %s", titles[i]);
  g_assert_true (gtk_widget_get_visible (field (window, "notices")));

  /* It offers the way out, and taking it makes the notice go away. */
  button = find_button (field (window, "notices"), "Switch to OAuth 2.0");
  g_assert_nonnull (button);
  g_assert_false (herald_test_widget_shown (field (window, "oauth-group")));
  g_signal_emit_by_name (button, "clicked");
  g_assert_cmpstr (selected_item (window, "auth"), ==, "OAuth 2.0");
  /* ... and reveals the OAuth 2.0 sign-in. */
  g_assert_true (herald_test_widget_shown (field (window, "oauth-group")));
  g_assert_true (herald_test_widget_shown (herald_test_find_widget (field (window, "oauth-group"), GTK_TYPE_BUTTON, "Sign In")));
  g_clear_pointer (&titles, g_strfreev);
  titles = _herald_window_dup_notice_titles (window);
  g_assert_cmpuint (g_strv_length (titles), ==, 0);
  g_assert_false (gtk_widget_get_visible (field (window, "notices")));

  /* A custom server gets no such notice. */
  select_item (window, "provider", "Custom SMTP server");
  type_text (window, "server", "mail.example.net");
  select_item (window, "auth", "Password (PLAIN)");
  g_clear_pointer (&titles, g_strfreev);
  titles = _herald_window_dup_notice_titles (window);
  g_assert_cmpuint (g_strv_length (titles), ==, 0);

  destroy_window (window);
}

/* Every label's text under @root, one per line. */
static void
append_label_texts (GtkWidget *root,
                    GString   *out)
{
  if (GTK_IS_LABEL (root) && gtk_widget_get_visible (root))
    g_string_append_printf (out, "%s\n", gtk_label_get_text (GTK_LABEL (root)));
  for (GtkWidget *child = gtk_widget_get_first_child (root); child != NULL;
       child = gtk_widget_get_next_sibling (child))
    append_label_texts (child, out);
}

/* The iCloud preset (Authentication "Automatic", no username yet): no card
 * says authentication is off; one says an app-specific password is needed,
 * with a link to where it is made. */
static void
test_notices_preset_icloud (void)
{
  HeraldWindow *window = new_window ();
  g_autoptr(GString) texts = g_string_new (NULL);
  GtkWidget *link;

  _herald_window_run_deferred_startup (window);
  select_item (window, "provider", "iCloud Mail");
  g_assert_cmpstr (selected_item (window, "auth"), ==, "Automatic");
  g_strfreev (_herald_window_dup_notice_titles (window));   /* flushes the pending update */
  append_label_texts (field (window, "notices"), texts);
  g_test_message ("notices: %s", texts->str);
  g_assert_null (strstr (texts->str, "Authentication is off"));
  g_assert_nonnull (strstr (texts->str, "iCloud Mail needs an app-specific password"));
  g_assert_nonnull (strstr (texts->str, "but Username is empty"));
  link = herald_test_find_widget (field (window, "notices"), GTK_TYPE_LINK_BUTTON,
                                  "Apple Account: Sign-In and Security");
  g_assert_nonnull (link);
  g_assert_cmpstr (gtk_link_button_get_uri (GTK_LINK_BUTTON (link)), ==,
                   "https://account.apple.com/account/manage");

  /* With the username typed, the login notice goes; the app password one stays. */
  type_text (window, "username", "me@icloud.com");
  g_string_truncate (texts, 0);
  g_strfreev (_herald_window_dup_notice_titles (window));
  append_label_texts (field (window, "notices"), texts);
  g_assert_null (strstr (texts->str, "but Username is empty"));
  g_assert_nonnull (strstr (texts->str, "iCloud Mail needs an app-specific password"));

  destroy_window (window);
}

/* The one-click fixes the rules' "action" names: each changes the form as
 * it says, and is not offered once the form has it. */
static void
test_fixes (void)
{
  HeraldWindow *window = new_window ();
  GtkSpinButton *port = GTK_SPIN_BUTTON (field (window, "port"));

  _herald_window_run_deferred_startup (window);
  select_item (window, "provider", "Custom SMTP server");
  select_item (window, "security", "STARTTLS");
  gtk_spin_button_set_value (port, 587);

  g_assert_null (_herald_window_get_fix_label (window, HERALD_ACTION_NONE));
  g_assert_null (_herald_window_get_fix_label (window, HERALD_ACTION_SWITCH_TO_STARTTLS));
  g_assert_cmpstr (_herald_window_get_fix_label (window, HERALD_ACTION_SWITCH_TO_TLS), ==,
                   "Switch to SSL/TLS");
  _herald_window_apply_fix (window, HERALD_ACTION_SWITCH_TO_TLS);
  g_assert_cmpstr (selected_item (window, "security"), ==, "SSL/TLS");
  g_assert_cmpint (gtk_spin_button_get_value_as_int (port), ==, 465);
  g_assert_null (_herald_window_get_fix_label (window, HERALD_ACTION_SWITCH_TO_TLS));

  g_assert_cmpstr (_herald_window_get_fix_label (window, HERALD_ACTION_SWITCH_TO_STARTTLS), ==,
                   "Switch to STARTTLS");
  _herald_window_apply_fix (window, HERALD_ACTION_SWITCH_TO_STARTTLS);
  g_assert_cmpstr (selected_item (window, "security"), ==, "STARTTLS");
  g_assert_cmpint (gtk_spin_button_get_value_as_int (port), ==, 587);

  gtk_spin_button_set_value (port, 25);
  g_assert_cmpstr (_herald_window_get_fix_label (window, HERALD_ACTION_USE_PORT_587), ==,
                   "Use Port 587");
  _herald_window_apply_fix (window, HERALD_ACTION_USE_PORT_587);
  g_assert_cmpint (gtk_spin_button_get_value_as_int (port), ==, 587);
  g_assert_cmpstr (selected_item (window, "security"), ==, "STARTTLS");
  g_assert_null (_herald_window_get_fix_label (window, HERALD_ACTION_USE_PORT_587));

  g_assert_cmpstr (_herald_window_get_fix_label (window, HERALD_ACTION_SWITCH_TO_OAUTH), ==,
                   "Switch to OAuth 2.0");
  _herald_window_apply_fix (window, HERALD_ACTION_SWITCH_TO_OAUTH);
  g_assert_cmpstr (selected_item (window, "auth"), ==, "OAuth 2.0");
  g_assert_null (_herald_window_get_fix_label (window, HERALD_ACTION_SWITCH_TO_OAUTH));

  destroy_window (window);
}

/* Keyboard only: Tab visits each control once. The steps (read, not
 * used) and read-only texts are no stops; a row whose control is a switch
 * or a spin button is one stop (the control), not two. */
static void
test_tab_order (void)
{
  HeraldWindow *window = new_window ();
  GtkWidget *steps = GTK_WIDGET (_herald_window_get_step_list (window));
  GtkWidget *port_row, *timeout_row;
  g_autoptr(GPtrArray) stops = g_ptr_array_new ();
  guint n_port = 0, n_alerts = 0;

  _herald_window_run_deferred_startup (window);
  select_item (window, "provider", "Custom SMTP server");
  type_text (window, "server", "mail.example.net");
  type_text (window, "from", FROM);
  type_text (window, "to", TO);
  adw_expander_row_set_expanded (ADW_EXPANDER_ROW (gtk_widget_get_ancestor (field (window, "ca-file"),
                                                                            ADW_TYPE_EXPANDER_ROW)),
                                 TRUE);
  /* The steps on show, as during a test. */
  herald_step_list_update (HERALD_STEP_LIST (steps),
                           &(HeraldProgress) { HERALD_STAGE_CONNECT, HERALD_STEP_STARTED, 0, 0 });
  g_assert_true (herald_test_widget_shown (steps));
  port_row = gtk_widget_get_ancestor (field (window, "port"), ADW_TYPE_ACTION_ROW);
  timeout_row = gtk_widget_get_ancestor (field (window, "timeout"), ADW_TYPE_ACTION_ROW);

  gtk_widget_grab_focus (field (window, "server"));
  for (guint i = 0; i < 200; i++)
    {
      GtkWidget *focus;

      if (!gtk_widget_child_focus (GTK_WIDGET (window), GTK_DIR_TAB_FORWARD))
        break;
      focus = gtk_root_get_focus (GTK_ROOT (window));
      if (focus == NULL || (stops->len > 0 && focus == g_ptr_array_index (stops, 0)))
        break;
      g_ptr_array_add (stops, focus);
    }
  g_assert_cmpuint (stops->len, >, 10);

  for (guint i = 0; i < stops->len; i++)
    {
      GtkWidget *focus = g_ptr_array_index (stops, i);

      g_test_message ("stop %u: %s", i, G_OBJECT_TYPE_NAME (focus));
      g_assert_false (gtk_widget_is_ancestor (focus, steps));
      g_assert_false (GTK_IS_LABEL (focus));
      g_assert_true (focus != port_row && focus != timeout_row);
      g_assert_true (focus != gtk_widget_get_ancestor (field (window, "alerts"), ADW_TYPE_ACTION_ROW));
      /* A row that does nothing itself is no stop (its buttons are). */
      g_assert_false (ADW_IS_ACTION_ROW (focus) && !ADW_IS_COMBO_ROW (focus) &&
                      !gtk_list_box_row_get_activatable (GTK_LIST_BOX_ROW (focus)));
      if (gtk_widget_is_ancestor (focus, field (window, "port")))
        n_port++;
      if (focus == field (window, "alerts"))
        n_alerts++;
    }
  g_assert_cmpuint (n_port, ==, 1);
  g_assert_cmpuint (n_alerts, ==, 1);

  destroy_window (window);
}

static void
count_shown_advanced (GtkWidget *root,
                      guint     *n)
{
  if (ADW_IS_EXPANDER_ROW (root) && herald_test_widget_shown (root) &&
      g_strcmp0 (adw_preferences_row_get_title (ADW_PREFERENCES_ROW (root)), "Advanced") == 0)
    (*n)++;
  for (GtkWidget *child = gtk_widget_get_first_child (root); child != NULL;
       child = gtk_widget_get_next_sibling (child))
    count_shown_advanced (child, n);
}

/* One "Advanced" row, with OAuth 2.0 too: the sign-in's Authority sits in
 * the window's Advanced row beside the CA certificate file, and only while
 * OAuth 2.0 is chosen. */
static void
test_one_advanced (void)
{
  HeraldWindow *window = new_window ();
  GtkWidget *advanced = gtk_widget_get_ancestor (field (window, "ca-file"), ADW_TYPE_EXPANDER_ROW);
  GtkWidget *authority;
  guint n = 0;

  _herald_window_run_deferred_startup (window);
  select_item (window, "provider", "Microsoft 365 / Exchange Online");
  select_item (window, "auth", "OAuth 2.0");
  count_shown_advanced (GTK_WIDGET (window), &n);
  g_assert_cmpuint (n, ==, 1);
  authority = herald_test_find_widget (advanced, ADW_TYPE_ENTRY_ROW, "Authority");
  g_assert_nonnull (authority);
  g_assert_true (herald_test_widget_shown (authority) || !adw_expander_row_get_expanded (ADW_EXPANDER_ROW (advanced)));
  g_assert_true (gtk_widget_get_visible (authority));

  select_item (window, "auth", "Password (PLAIN)");
  g_assert_false (gtk_widget_get_visible (authority));
  n = 0;
  count_shown_advanced (GTK_WIDGET (window), &n);
  g_assert_cmpuint (n, ==, 1);

  destroy_window (window);
}

/* The widgets too wide for 360 px whose children are not: the culprits. */
static void
print_wide (GtkWidget *widget,
            int        limit)
{
  int min = 0;
  gboolean child_wide = FALSE;

  if (!gtk_widget_get_visible (widget))
    return;
  gtk_widget_measure (widget, GTK_ORIENTATION_HORIZONTAL, -1, &min, NULL, NULL, NULL);
  if (min <= limit)
    return;
  for (GtkWidget *child = gtk_widget_get_first_child (widget); child != NULL;
       child = gtk_widget_get_next_sibling (child))
    {
      int child_min = 0;

      if (!gtk_widget_get_visible (child))
        continue;
      gtk_widget_measure (child, GTK_ORIENTATION_HORIZONTAL, -1, &child_min, NULL, NULL, NULL);
      if (child_min > limit)
        child_wide = TRUE;
      print_wide (child, limit);
    }
  if (!child_wide)
    {
      g_test_message ("too wide: %s (%s) min %d px, in %s < %s", G_OBJECT_TYPE_NAME (widget),
                      gtk_widget_get_name (widget), min,
                      G_OBJECT_TYPE_NAME (gtk_widget_get_parent (widget)),
                      G_OBJECT_TYPE_NAME (gtk_widget_get_parent (gtk_widget_get_parent (widget))));
      for (GtkWidget *child = gtk_widget_get_first_child (widget); child != NULL;
           child = gtk_widget_get_next_sibling (child))
        {
          int child_min = 0;
          GtkWidget *label = herald_test_find_widget (child, GTK_TYPE_LABEL, NULL);

          gtk_widget_measure (child, GTK_ORIENTATION_HORIZONTAL, -1, &child_min, NULL, NULL, NULL);
          g_test_message ("  child %s min %d visible %d %s", G_OBJECT_TYPE_NAME (child), child_min,
                          gtk_widget_get_visible (child),
                          GTK_IS_LABEL (child) ? gtk_label_get_text (GTK_LABEL (child)) :
                          GTK_IS_BUTTON (child) && gtk_button_get_label (GTK_BUTTON (child)) ?
                            gtk_button_get_label (GTK_BUTTON (child)) : (label ? "" : ""));
        }
    }
}

static gboolean
allocated_narrow (gpointer data)
{
  GtkWidget *window = data;

  return gtk_widget_get_mapped (window) && gtk_widget_get_width (window) > 0 &&
         gtk_widget_get_width (window) <= 360;
}

/* Labels on screen that are cut: ellipsized ("…"), or reaching past the
 * edges of their window. */
static void
collect_clipped (GtkWidget *widget,
                 GtkWidget *root,
                 GPtrArray *clipped)
{
  if (!gtk_widget_get_mapped (widget))
    return;

  if (GTK_IS_LABEL (widget) && *gtk_label_get_text (GTK_LABEL (widget)) != '\0')
    {
      graphene_rect_t bounds;
      const char *text = gtk_label_get_text (GTK_LABEL (widget));

      if (pango_layout_is_ellipsized (gtk_label_get_layout (GTK_LABEL (widget))))
        g_ptr_array_add (clipped, g_strdup_printf ("“%s” is ellipsized (%d px wide)", text,
                                                   gtk_widget_get_width (widget)));
      else if (gtk_widget_compute_bounds (widget, root, &bounds) &&
               (bounds.origin.x < -0.5 ||
                bounds.origin.x + bounds.size.width > gtk_widget_get_width (root) + 0.5))
        g_ptr_array_add (clipped, g_strdup_printf ("“%s” reaches past the window (x %.0f, width %.0f)",
                                                   text, bounds.origin.x, bounds.size.width));
    }

  for (GtkWidget *child = gtk_widget_get_first_child (widget); child != NULL;
       child = gtk_widget_get_next_sibling (child))
    collect_clipped (child, root, clipped);
}

static void
expand_all (GtkWidget *widget)
{
  if (ADW_IS_EXPANDER_ROW (widget))
    adw_expander_row_set_expanded (ADW_EXPANDER_ROW (widget), TRUE);
  if (GTK_IS_EXPANDER (widget))
    gtk_expander_set_expanded (GTK_EXPANDER (widget), TRUE);
  for (GtkWidget *child = gtk_widget_get_first_child (widget); child != NULL;
       child = gtk_widget_get_next_sibling (child))
    expand_all (child);
}

/* Runs the main loop for a third of a second: some frames, so that a
 * layout that changed (a page shown, an expander opened) is settled. */
static void
settle (void)
{
  gint64 end = g_get_monotonic_time () + G_USEC_PER_SEC / 3;

  while (g_get_monotonic_time () < end)
    if (!g_main_context_iteration (NULL, FALSE))
      g_usleep (2000);
}

static gboolean
mapped (gpointer data)
{
  return gtk_widget_get_mapped (data) && gtk_widget_get_width (data) > 0;
}

/* A window or dialog at 360 px with large text: as wide as that at most,
 * and no label of it cut. */
static void
collect_narrow (GtkWidget  *window,
                const char *what,
                GPtrArray  *clipped)
{
  g_assert_true (wait_for (mapped, window, 10000));
  settle ();
  g_test_message ("%s: %d x %d", what, gtk_widget_get_width (window), gtk_widget_get_height (window));
  if (gtk_widget_get_width (window) > 360)
    {
      print_wide (window, 360);
      g_ptr_array_add (clipped, g_strdup_printf ("%s is %d px wide", what,
                                                 gtk_widget_get_width (window)));
    }
  collect_clipped (window, window, clipped);
}

/* A failure with much to say: long explanation, commands, links. */
static HeraldDiagnosis *
long_diagnosis (HeraldSmtpConfig **config,
                HeraldSmtpResult **result)
{
  static const char reply[] = "535 5.7.139 Authentication unsuccessful, SmtpClientAuthentication "
                              "is disabled for the Tenant. Visit https://aka.ms/smtp_auth_disabled "
                              "for more information. [AM0PR01CA0000.eurprd01.prod.exchangelabs.com "
                              "2026-11-28T09:00:00.000Z]";
  g_autoptr(GError) error = g_error_new_literal (G_IO_ERROR, G_IO_ERROR_FAILED, reply);
  HeraldDiagnosis *d = herald_diagnose_text (reply, HERALD_STAGE_AUTH, "smtp.office365.com");

  g_assert_cmpstr (d->id, ==, "exo-smtp-auth-disabled-tenant");
  *config = herald_smtp_config_new ();
  (*config)->host = g_strdup ("smtp.office365.com");
  (*config)->port = 587;
  (*config)->username = g_strdup ("a.very.long.mailbox.name@subsidiary.example.onmicrosoft.com");
  (*config)->from = g_strdup ((*config)->username);
  (*config)->to = g_strsplit ("alerts-for-the-operations-team@example.com", ",", -1);
  *result = herald_smtp_result_new_failed (HERALD_STAGE_AUTH, error);
  return d;
}

/* The narrowest window (360 px, the phone width GNOME designs for) with
 * large text (GNOME's text scaling 1.25): no label of the form is cut,
 * neither the group titles, nor the provider names in the Provider popover,
 * nor the password row, nor the rows of the Relay group; nor the error
 * dialog of a failure with much to say (its details open), nor the History
 * window, its rows and a failed test's diagnosis opened from there. */
static void
test_narrow_large_text (void)
{
  g_autoptr(GSettings) settings = g_settings_new ("io.github.heraldmail.Herald");
  g_autoptr(GPtrArray) clipped = g_ptr_array_new_with_free_func (g_free);
  g_autofree char *history = herald_history_get_path ();
  GtkSettings *gtk_settings = gtk_settings_get_default ();
  HeraldHistoryDialog *history_dialog;
  HeraldWindow *window;
  GtkWidget *provider, *popover, *relay_title;
  int dpi;

  g_object_get (gtk_settings, "gtk-xft-dpi", &dpi, NULL);
  g_object_set (gtk_settings, "gtk-xft-dpi", 96 * 1024 * 5 / 4, NULL);
  g_settings_set_int (settings, "window-width", 360);
  g_settings_set_int (settings, "window-height", 900);

  window = new_window ();
  _herald_window_run_deferred_startup (window);
  select_item (window, "provider", "Microsoft 365 / Exchange Online");
  select_item (window, "auth", "Password (PLAIN)");
  if (!wait_for (allocated_narrow, window, 10000))
    {
      int min = 0;

      gtk_widget_measure (GTK_WIDGET (window), GTK_ORIENTATION_HORIZONTAL, -1, &min, NULL, NULL, NULL);
      print_wide (GTK_WIDGET (window), 300);
      g_error ("the window is %d px wide (its minimum %d px), not 360",
               gtk_widget_get_width (GTK_WIDGET (window)), min);
    }
  /* Let the layout settle (the notices come on an idle). */
  for (int i = 0; i < 50; i++)
    g_main_context_iteration (NULL, FALSE);
  g_strfreev (_herald_window_dup_notice_titles (window));
  for (int i = 0; i < 50; i++)
    g_main_context_iteration (NULL, FALSE);
  g_test_message ("window %d x %d", gtk_widget_get_width (GTK_WIDGET (window)),
                  gtk_widget_get_height (GTK_WIDGET (window)));
  collect_clipped (GTK_WIDGET (window), GTK_WIDGET (window), clipped);

  /* The provider names, in the popover the Provider row opens. */
  provider = field (window, "provider");
  gtk_widget_activate (provider);
  popover = herald_test_find_widget (provider, GTK_TYPE_POPOVER, NULL);
  for (GtkWidget *w = gtk_widget_get_first_child (provider); popover == NULL && w != NULL;
       w = gtk_widget_get_next_sibling (w))
    if (GTK_IS_POPOVER (w))
      popover = w;
  g_assert_nonnull (popover);
    {
      for (int i = 0; i < 100; i++)
        g_main_context_iteration (NULL, FALSE);
      collect_clipped (popover, popover, clipped);
      gtk_popover_popdown (GTK_POPOVER (popover));
    }

  /* The Relay group is part of the window: with every expander open
   * (Advanced, the relay's device users and messages) all of it is laid out. */
  relay_title = herald_test_find_widget (GTK_WIDGET (window), GTK_TYPE_LABEL, "Relay for Devices");
  g_assert_nonnull (relay_title);
  g_assert_true (gtk_widget_get_mapped (relay_title));
  expand_all (GTK_WIDGET (window));
  g_assert_true (wait_for (mapped, herald_test_find_widget (GTK_WIDGET (window),
                                                            ADW_TYPE_ENTRY_ROW,
                                                            "New Device User"), 10000));
  settle ();
  collect_clipped (GTK_WIDGET (window), GTK_WIDGET (window), clipped);

  /* The error dialog, its technical details open. */
  {
    g_autoptr(HeraldSmtpConfig) config = NULL;
    g_autoptr(HeraldSmtpResult) result = NULL;
    g_autoptr(HeraldDiagnosis) d = long_diagnosis (&config, &result);
    HeraldErrorDialog *dialog = herald_error_dialog_new (GTK_WINDOW (window), config, result, d,
                                                         NULL);

    gtk_window_present (GTK_WINDOW (dialog));
    expand_all (GTK_WIDGET (dialog));
    collect_narrow (GTK_WIDGET (dialog), "the error dialog", clipped);
    gtk_window_destroy (GTK_WINDOW (dialog));

    /* The History window at 360 px: a sent test and this failure. */
    g_remove (history);
    {
      g_autoptr(HeraldSmtpResult) ok = herald_smtp_result_new ();
      g_autoptr(HeraldHistoryEntry) sent = NULL;
      g_autoptr(HeraldHistoryEntry) failed = NULL;

      ok->ok = TRUE;
      ok->stage = HERALD_STAGE_DONE;
      sent = herald_history_entry_new (config, ok, NULL, NULL, "smtp");
      g_assert_true (herald_history_add (sent, NULL));
      failed = herald_history_entry_new (config, result, d, NULL, "smtp");
      g_assert_true (herald_history_add (failed, NULL));
    }
    history_dialog = herald_history_dialog_new (GTK_WINDOW (window));
    gtk_window_set_default_size (GTK_WINDOW (history_dialog), 360, 700);
    gtk_window_present (GTK_WINDOW (history_dialog));
    collect_narrow (GTK_WIDGET (history_dialog), "the History window", clipped);
    herald_history_dialog_open_entry (history_dialog, 0);
    g_assert_nonnull (herald_history_dialog_get_error_dialog (history_dialog));
    expand_all (GTK_WIDGET (herald_history_dialog_get_error_dialog (history_dialog)));
    collect_narrow (GTK_WIDGET (herald_history_dialog_get_error_dialog (history_dialog)),
                    "a failed test's diagnosis from History", clipped);
    gtk_window_destroy (GTK_WINDOW (herald_history_dialog_get_error_dialog (history_dialog)));
    herald_history_dialog_open_entry (history_dialog, 1);
    g_assert_nonnull (herald_history_dialog_get_report (history_dialog));
    collect_narrow (GTK_WIDGET (history_dialog), "a report in the History window", clipped);
    gtk_window_destroy (GTK_WINDOW (history_dialog));
    g_remove (history);
  }

  for (guint i = 0; i < clipped->len; i++)
    g_test_message ("clipped: %s", (char *) g_ptr_array_index (clipped, i));
  g_assert_cmpuint (clipped->len, ==, 0);

  g_object_set (gtk_settings, "gtk-xft-dpi", dpi, NULL);
  g_settings_reset (settings, "window-width");
  g_settings_reset (settings, "window-height");
  destroy_window (window);
}

static void
test_window_size (void)
{
  g_autoptr(GSettings) settings = g_settings_new ("io.github.heraldmail.Herald");
  HeraldWindow *window;
  int width, height;

  g_settings_set_int (settings, "window-width", 810);
  g_settings_set_int (settings, "window-height", 770);
  window = new_window ();
  gtk_window_get_default_size (GTK_WINDOW (window), &width, &height);
  g_assert_cmpint (width, ==, 810);
  g_assert_cmpint (height, ==, 770);

  gtk_window_set_default_size (GTK_WINDOW (window), 700, 650);
  gtk_window_close (GTK_WINDOW (window));
  g_assert_cmpint (g_settings_get_int (settings, "window-width"), ==, 700);
  g_assert_cmpint (g_settings_get_int (settings, "window-height"), ==, 650);
  g_assert_false (g_settings_get_boolean (settings, "window-maximized"));
  g_assert_true (wait_for (only_one_ref, window, 10000));
  g_assert_finalize_object (window);
}

/* Finds the window's own shortcut for trigger and returns its action's name. */
static char *
shortcut_action (HeraldWindow *window,
                 const char   *trigger)
{
  g_autoptr(GListModel) controllers = gtk_widget_observe_controllers (GTK_WIDGET (window));

  for (guint i = 0; i < g_list_model_get_n_items (controllers); i++)
    {
      g_autoptr(GObject) controller = g_list_model_get_item (controllers, i);

      if (!GTK_IS_SHORTCUT_CONTROLLER (controller))
        continue;
      for (guint j = 0; j < g_list_model_get_n_items (G_LIST_MODEL (controller)); j++)
        {
          g_autoptr(GtkShortcut) shortcut = g_list_model_get_item (G_LIST_MODEL (controller), j);
          g_autofree char *t = gtk_shortcut_trigger_to_string (gtk_shortcut_get_trigger (shortcut));
          GtkShortcutAction *action = gtk_shortcut_get_action (shortcut);

          if (g_str_equal (t, trigger) && GTK_IS_NAMED_ACTION (action))
            return g_strdup (gtk_named_action_get_action_name (GTK_NAMED_ACTION (action)));
        }
    }
  return NULL;
}

static void
test_shortcuts (void)
{
  HeraldWindow *window = new_window ();
  g_autofree char *send = shortcut_action (window, "<Control>Return");
  g_autofree char *cancel = shortcut_action (window, "Escape");

  g_assert_cmpstr (send, ==, "win.send");
  g_assert_cmpstr (cancel, ==, "win.cancel");

  /* Escape while idle does nothing; Ctrl+Return on an invalid form neither. */
  g_assert_false (action_enabled (window, "win.cancel"));
  g_assert_false (action_enabled (window, "win.send"));

  destroy_window (window);
}

static gboolean
no_windows (gpointer data)
{
  return gtk_application_get_windows (data) == NULL;
}

static void
test_application (void)
{
  g_autoptr(HeraldApplication) application = herald_application_new ();
  g_autoptr(GError) error = NULL;
  g_auto(GStrv) accels = NULL;
  GtkWindow *window;

  g_application_set_flags (G_APPLICATION (application), G_APPLICATION_NON_UNIQUE);
  g_application_register (G_APPLICATION (application), NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (g_application_get_application_id (G_APPLICATION (application)), ==, APP_ID);

  accels = gtk_application_get_accels_for_action (GTK_APPLICATION (application), "app.quit");
  g_assert_cmpstr (accels[0], ==, "<Control>q");
  g_assert_true (g_action_group_has_action (G_ACTION_GROUP (application), "about"));

  g_application_activate (G_APPLICATION (application));
  window = gtk_application_get_active_window (GTK_APPLICATION (application));
  g_assert_true (HERALD_IS_WINDOW (window));
  /* Keyboard Shortcuts opens a shortcuts window, built on demand. */
  g_assert_null (gtk_application_window_get_help_overlay (GTK_APPLICATION_WINDOW (window)));
  g_clear_pointer (&accels, g_strfreev);
  accels = gtk_application_get_accels_for_action (GTK_APPLICATION (application),
                                                  "win.show-help-overlay");
  g_assert_cmpstr (accels[0], ==, "<Control>question");
  {
    GListModel *toplevels = gtk_window_get_toplevels ();
    guint before = g_list_model_get_n_items (toplevels);
    gboolean found = FALSE;

    gtk_widget_activate_action (GTK_WIDGET (window), "win.show-help-overlay", NULL);
    g_assert_cmpuint (g_list_model_get_n_items (toplevels), ==, before + 1);
    for (guint i = 0; i < g_list_model_get_n_items (toplevels); i++)
      {
        g_autoptr(GtkWindow) w = g_list_model_get_item (toplevels, i);

        if (GTK_IS_SHORTCUTS_WINDOW (w))
          {
            found = TRUE;
            g_assert_true (gtk_window_get_transient_for (w) == window);
            gtk_window_destroy (w);
            break;
          }
      }
    g_assert_true (found);
  }

  /* A second activation presents the same window. */
  g_application_activate (G_APPLICATION (application));
  g_assert_true (gtk_application_get_active_window (GTK_APPLICATION (application)) == window);
  g_assert_cmpuint (g_list_length (gtk_application_get_windows (GTK_APPLICATION (application))), ==, 1);

  /* Quit closes the windows (each saves its state on the way out). */
  g_action_group_activate_action (G_ACTION_GROUP (application), "quit", NULL);
  g_assert_true (wait_for (no_windows, application, 10000));
}

static void
run_test (gconstpointer data)
{
  GTestFunc func = (GTestFunc) data;

  reset_settings ();
  func ();
}

static void
add_test (const char *path,
          GTestFunc   func)
{
  g_test_add_data_func (path, (gconstpointer) func, run_test);
}

int
main (int   argc,
      char *argv[])
{
  g_autofree char *state = g_build_filename (g_get_home_dir (), "herald-ui-window-state-XXXXXX",
                                             NULL);

  /* A history of its own: the suite's other tests write theirs at the same
   * time, and the narrow test opens the entries it wrote. Under the suite's
   * throw-away HOME. */
  g_assert_nonnull (g_mkdtemp (state));
  g_setenv ("XDG_STATE_HOME", state, TRUE);
  gtk_test_init (&argc, &argv, NULL);
  adw_init ();
  make_certs ();

  add_test ("/herald/ui/send/success", test_send_success);
  add_test ("/herald/ui/send/failure-smtp-auth-disabled", test_send_failure);
  add_test ("/herald/ui/error-dialog/long-content", test_error_dialog_long);
  add_test ("/herald/ui/send/cancel", test_cancel);
  add_test ("/herald/ui/send/results-stale", test_results_stale);
  add_test ("/herald/ui/send/xoauth2", test_send_xoauth2);
  add_test ("/herald/ui/send/xoauth2-not-signed-in", test_send_xoauth2_not_signed_in);
  add_test ("/herald/ui/oauth/group", test_oauth_group);
  add_test ("/herald/ui/oauth/checking-the-keyring", test_oauth_checking);
  add_test ("/herald/ui/oauth/sign-in-and-send", test_oauth_sign_in_and_send);
  add_test ("/herald/ui/oauth/revoked", test_oauth_revoked);
  add_test ("/herald/ui/oauth/sign-in-error", test_oauth_sign_in_error);
  add_test ("/herald/ui/validation", test_validation);
  add_test ("/herald/ui/validation/beside-row", test_validation_beside_row);
  add_test ("/herald/ui/password-toggle-name", test_password_toggle_name);
  add_test ("/herald/ui/provider-preset", test_provider_preset);
  add_test ("/herald/ui/port-follows-security", test_port_follows_security);
  add_test ("/herald/ui/settings-binding", test_settings_binding);
  add_test ("/herald/ui/keyring", test_keyring);
  add_test ("/herald/ui/notices", test_notices);
  add_test ("/herald/ui/notices/preset-icloud", test_notices_preset_icloud);
  add_test ("/herald/ui/fixes", test_fixes);
  add_test ("/herald/ui/tab-order", test_tab_order);
  add_test ("/herald/ui/one-advanced", test_one_advanced);
  add_test ("/herald/ui/narrow-large-text", test_narrow_large_text);
  add_test ("/herald/ui/notices/titles-keep-keyring-lookup", test_notice_titles_keep_lookup);
  add_test ("/herald/ui/window-size", test_window_size);
  add_test ("/herald/ui/shortcuts", test_shortcuts);
  add_test ("/herald/ui/application", test_application);
  /* Last: nothing any test above did left a token in a file. */
  g_test_add_func ("/herald/ui/oauth/no-token-in-files", fake_idp_assert_no_token_under_home);

  return g_test_run ();
}
