/* SPDX-License-Identifier: GPL-3.0-or-later
 * Copyright 2026 The Herald authors
 */
#define G_LOG_DOMAIN "herald-ui"

#include "config.h"

#include <glib/gi18n.h>
#include <signal.h>
#include <string.h>

#include "herald-relay.h"
#include "herald-relay-group.h"
#include "herald-ui-private.h"

#define MAX_MESSAGES      50   /* read from the log */
#define MESSAGES_PER_DEVICE 5

struct _HeraldRelayGroup
{
  AdwPreferencesGroup  parent_instance;

  GSettings           *settings;
  HeraldRelayUsers    *users;
  GCancellable        *cancellable;
  GFileMonitor        *monitor;
  GSubprocess         *relay;
  GDataInputStream    *relay_out;
  GtkWidget           *run_row;
  GtkWidget           *run_switch;
  GtkWidget           *listen_row;
  GtkWidget           *fingerprint_row;
  GtkWidget           *users_row;
  GtkWidget           *new_user_row;
  GtkWidget           *new_password_row;
  GtkWidget           *messages_row;
  GPtrArray           *user_rows;
  GPtrArray           *message_rows;
  char                *state_dir;
  char                *log_path;
  char                *heraldctl;
  char                *fingerprint;
  char                *status;
  GStrv                users_shown;
  GPtrArray           *messages_shown;
  guint                busy;
  guint                reload_id;
  guint                loading : 1;
  guint                reload_again : 1;
  guint                setting_switch : 1;
};

G_DEFINE_FINAL_TYPE (HeraldRelayGroup, herald_relay_group, ADW_TYPE_PREFERENCES_GROUP)

static void start_load (HeraldRelayGroup *self);

static void
set_status (HeraldRelayGroup *self,
            const char       *status)
{
  g_autofree char *escaped = g_markup_escape_text (status, -1);

  g_free (self->status);
  self->status = g_strdup (status);
  adw_action_row_set_subtitle (ADW_ACTION_ROW (self->run_row), escaped);
}

/* ---- loading: users, fingerprint and the log, off the main thread --------------- */

typedef struct {
  GStrv       users;
  char       *users_error;
  char       *fingerprint;
  GPtrArray  *messages;   /* of HeraldRelayLogEntry */
} Loaded;

static void
loaded_free (Loaded *loaded)
{
  g_strfreev (loaded->users);
  g_free (loaded->users_error);
  g_free (loaded->fingerprint);
  g_clear_pointer (&loaded->messages, g_ptr_array_unref);
  g_free (loaded);
}

typedef struct {
  HeraldRelayUsers *users;
  char             *cert_file;
  char             *log_path;
} LoadData;

static void
load_data_free (LoadData *data)
{
  g_clear_object (&data->users);
  g_free (data->cert_file);
  g_free (data->log_path);
  g_free (data);
}

static void
load_thread (GTask        *task,
             gpointer      source,
             gpointer      task_data,
             GCancellable *cancellable)
{
  LoadData *data = task_data;
  Loaded *loaded = g_new0 (Loaded, 1);
  g_autoptr(GError) error = NULL;

  loaded->users = herald_relay_users_list (data->users, &error);
  if (loaded->users == NULL)
    loaded->users_error = g_strdup (error->message);
  g_clear_error (&error);
  if (g_file_test (data->cert_file, G_FILE_TEST_EXISTS))
    loaded->fingerprint = herald_relay_fingerprint_file (data->cert_file, NULL);
  loaded->messages = herald_relay_log_read (data->log_path, MAX_MESSAGES, NULL);
  g_task_return_pointer (task, loaded, (GDestroyNotify) loaded_free);
}

static void
clear_rows (GtkWidget *expander,
            GPtrArray *rows)
{
  for (guint i = 0; i < rows->len; i++)
    adw_expander_row_remove (ADW_EXPANDER_ROW (expander), g_ptr_array_index (rows, i));
  g_ptr_array_set_size (rows, 0);
}

static void remove_user_cb (GtkButton *button, HeraldRelayGroup *self);

static void
show_users (HeraldRelayGroup *self,
            Loaded           *loaded)
{
  g_autofree char *subtitle = NULL;

  clear_rows (self->users_row, self->user_rows);
  g_clear_pointer (&self->users_shown, g_strfreev);
  self->users_shown = g_strdupv (loaded->users);
  for (guint i = 0; loaded->users != NULL && loaded->users[i] != NULL; i++)
    {
      GtkWidget *row = adw_action_row_new ();
      GtkWidget *button = gtk_button_new_with_label (_("Remove"));
      g_autofree char *name = g_markup_escape_text (loaded->users[i], -1);

      adw_preferences_row_set_title (ADW_PREFERENCES_ROW (row), name);
      gtk_widget_set_valign (button, GTK_ALIGN_CENTER);
      g_object_set_data_full (G_OBJECT (button), "herald-user", g_strdup (loaded->users[i]),
                              g_free);
      g_signal_connect (button, "clicked", G_CALLBACK (remove_user_cb), self);
      adw_action_row_add_suffix (ADW_ACTION_ROW (row), button);
      adw_expander_row_add_row (ADW_EXPANDER_ROW (self->users_row), row);
      g_ptr_array_add (self->user_rows, row);
    }
  if (loaded->users_error != NULL)
    subtitle = g_markup_escape_text (loaded->users_error, -1);
  else if (loaded->users == NULL || loaded->users[0] == NULL)
    subtitle = g_strdup (_("None yet: devices outside the allowed networks cannot log in"));
  else
    subtitle = g_strdup_printf (g_dngettext (GETTEXT_PACKAGE, "%u device user",
                                             "%u device users", g_strv_length (loaded->users)),
                                g_strv_length (loaded->users));
  adw_expander_row_set_subtitle (ADW_EXPANDER_ROW (self->users_row), subtitle);
}

static const char *
outcome_text (const char *outcome)
{
  if (g_strcmp0 (outcome, "sent") == 0)
    return _("sent");
  if (g_strcmp0 (outcome, "held") == 0)
    return _("held");
  if (g_strcmp0 (outcome, "failed") == 0)
    return _("failed");
  return _("queued");
}

/* One expander per device (its device user, else its address), its
 * newest messages inside. */
static void
show_messages (HeraldRelayGroup *self,
               Loaded           *loaded)
{
  g_autoptr(GHashTable) devices = g_hash_table_new (g_str_hash, g_str_equal);
  guint n = loaded->messages != NULL ? loaded->messages->len : 0;

  clear_rows (self->messages_row, self->message_rows);
  g_ptr_array_set_size (self->messages_shown, 0);

  for (guint i = 0; i < n; i++)
    {
      HeraldRelayLogEntry *e = g_ptr_array_index (loaded->messages, i);
      const char *device = e->user != NULL ? e->user : e->client != NULL ? e->client : "?";
      GtkWidget *expander = g_hash_table_lookup (devices, device);
      GtkWidget *row;
      g_autofree char *title = NULL, *subtitle = NULL, *when = NULL;
      g_autoptr(GDateTime) time = g_date_time_new_from_unix_local (e->time);
      guint count;

      if (expander == NULL)
        {
          g_autofree char *name = g_markup_escape_text (device, -1);
          g_autofree char *sub = NULL;

          expander = adw_expander_row_new ();
          adw_preferences_row_set_title (ADW_PREFERENCES_ROW (expander), name);
          sub = g_markup_printf_escaped (_("Last message: %s"), outcome_text (e->outcome));
          adw_expander_row_set_subtitle (ADW_EXPANDER_ROW (expander), sub);
          adw_expander_row_add_row (ADW_EXPANDER_ROW (self->messages_row), expander);
          g_ptr_array_add (self->message_rows, expander);
          g_hash_table_insert (devices, (gpointer) device, expander);
        }
      count = GPOINTER_TO_UINT (g_object_get_data (G_OBJECT (expander), "herald-count"));
      if (count >= MESSAGES_PER_DEVICE)
        continue;
      g_object_set_data (G_OBJECT (expander), "herald-count", GUINT_TO_POINTER (count + 1));

      when = time != NULL ? g_date_time_format (time, "%x %X") : g_strdup ("");
      title = g_markup_escape_text (e->subject != NULL ? e->subject : _("(no subject)"), -1);
      if (e->detail != NULL)
        subtitle = g_markup_printf_escaped ("%s · %s: %s", when, outcome_text (e->outcome),
                                            e->detail);
      else
        subtitle = g_markup_printf_escaped ("%s · %s", when, outcome_text (e->outcome));
      row = adw_action_row_new ();
      adw_preferences_row_set_title (ADW_PREFERENCES_ROW (row), title);
      adw_action_row_set_subtitle (ADW_ACTION_ROW (row), subtitle);
      adw_expander_row_add_row (ADW_EXPANDER_ROW (expander), row);
      g_ptr_array_add (self->messages_shown,
                       g_strdup_printf ("%s: %s — %s", device,
                                        e->subject != NULL ? e->subject : "",
                                        e->outcome != NULL ? e->outcome : ""));
    }
  adw_expander_row_set_subtitle (ADW_EXPANDER_ROW (self->messages_row),
                                 n == 0 ? _("Nothing relayed yet") : "");
}

static void
load_done_cb (GObject      *source,
              GAsyncResult *result,
              gpointer      user_data)
{
  g_autoptr(HeraldRelayGroup) self = _herald_ui_weak_ref_steal (user_data);
  Loaded *loaded = g_task_propagate_pointer (G_TASK (result), NULL);

  if (self == NULL || loaded == NULL)
    {
      g_clear_pointer (&loaded, loaded_free);
      return;
    }
  self->loading = FALSE;
  self->busy--;
  show_users (self, loaded);
  show_messages (self, loaded);
  g_free (self->fingerprint);
  self->fingerprint = g_strdup (loaded->fingerprint);
  adw_action_row_set_subtitle (ADW_ACTION_ROW (self->fingerprint_row),
                               loaded->fingerprint != NULL ? loaded->fingerprint
                               : _("Herald creates the certificate when the relay first starts"));
  /* The fingerprint monospace (its pairs line up); not the row's title, nor
   * the sentence shown before there is one. */
  if (loaded->fingerprint != NULL)
    gtk_widget_add_css_class (self->fingerprint_row, "herald-fingerprint");
  else
    gtk_widget_remove_css_class (self->fingerprint_row, "herald-fingerprint");
  loaded_free (loaded);

  if (self->reload_again)
    {
      self->reload_again = FALSE;
      start_load (self);
    }
}

static char *
cert_file (HeraldRelayGroup *self)
{
  g_autofree char *configured = NULL;

  if (self->settings != NULL)
    configured = g_settings_get_string (self->settings, "relay-tls-cert");
  if (configured != NULL && configured[0] != '\0')
    return g_steal_pointer (&configured);
  return g_build_filename (self->state_dir, "cert.pem", NULL);
}

static void
start_load (HeraldRelayGroup *self)
{
  g_autoptr(GTask) task = NULL;
  LoadData *data;

  if (self->loading)
    {
      self->reload_again = TRUE;
      return;
    }
  self->loading = TRUE;
  self->busy++;
  data = g_new0 (LoadData, 1);
  data->users = g_object_ref (self->users);
  data->cert_file = cert_file (self);
  data->log_path = g_strdup (self->log_path);
  task = g_task_new (NULL, self->cancellable, load_done_cb, _herald_ui_weak_ref_new (self));
  g_task_set_source_tag (task, start_load);
  g_task_set_task_data (task, data, (GDestroyNotify) load_data_free);
  g_task_run_in_thread (task, load_thread);
}

void
herald_relay_group_reload (HeraldRelayGroup *self)
{
  g_return_if_fail (HERALD_IS_RELAY_GROUP (self));

  _herald_ui_reload_soon (&self->reload_id, (void (*) (gpointer)) start_load, self);
}

static void
changed_cb (GFileMonitor     *monitor,
            GFile            *file,
            GFile            *other,
            GFileMonitorEvent event,
            HeraldRelayGroup *self)
{
  herald_relay_group_reload (self);
}

/* ---- device users: PBKDF2 takes a moment, so on a worker thread ------------------ */

typedef struct {
  HeraldRelayUsers *users;
  char             *name;
  char             *password;   /* NULL: remove */
} UserChange;

static void
user_change_free (UserChange *change)
{
  g_clear_object (&change->users);
  g_free (change->name);
  if (change->password != NULL)
    {
      memset (change->password, 0, strlen (change->password));
      g_free (change->password);
    }
  g_free (change);
}

static void
user_change_thread (GTask        *task,
                    gpointer      source,
                    gpointer      task_data,
                    GCancellable *cancellable)
{
  UserChange *change = task_data;
  GError *error = NULL;
  gboolean ok = change->password != NULL
                ? herald_relay_users_add (change->users, change->name, change->password, NULL,
                                          &error)
                : herald_relay_users_remove (change->users, change->name, &error);

  if (ok)
    g_task_return_boolean (task, TRUE);
  else
    g_task_return_error (task, error);
}

static void
user_change_done_cb (GObject      *source,
                     GAsyncResult *result,
                     gpointer      user_data)
{
  g_autoptr(HeraldRelayGroup) self = _herald_ui_weak_ref_steal (user_data);
  g_autoptr(GError) error = NULL;

  g_task_propagate_boolean (G_TASK (result), &error);
  if (self == NULL)
    return;
  self->busy--;
  if (error != NULL)
    {
      g_autofree char *escaped = g_markup_escape_text (error->message, -1);

      adw_expander_row_set_subtitle (ADW_EXPANDER_ROW (self->users_row), escaped);
      gtk_widget_add_css_class (self->new_user_row, "error");
      return;
    }
  gtk_widget_remove_css_class (self->new_user_row, "error");
  start_load (self);
}

static void
change_user (HeraldRelayGroup *self,
             const char       *name,
             const char       *password)
{
  g_autoptr(GTask) task = NULL;
  UserChange *change = g_new0 (UserChange, 1);

  change->users = g_object_ref (self->users);
  change->name = g_strdup (name);
  change->password = g_strdup (password);
  self->busy++;
  task = g_task_new (NULL, self->cancellable, user_change_done_cb, _herald_ui_weak_ref_new (self));
  g_task_set_task_data (task, change, (GDestroyNotify) user_change_free);
  g_task_run_in_thread (task, user_change_thread);
}

static void
remove_user_cb (GtkButton        *button,
                HeraldRelayGroup *self)
{
  change_user (self, g_object_get_data (G_OBJECT (button), "herald-user"), NULL);
}

static void
add_user_cb (GtkButton        *button,
             HeraldRelayGroup *self)
{
  const char *name = gtk_editable_get_text (GTK_EDITABLE (self->new_user_row));
  const char *password = gtk_editable_get_text (GTK_EDITABLE (self->new_password_row));

  change_user (self, name, password);
  gtk_editable_set_text (GTK_EDITABLE (self->new_password_row), "");
  gtk_editable_set_text (GTK_EDITABLE (self->new_user_row), "");
}

/* ---- listen addresses ------------------------------------------------------------ */

static void
listen_apply_cb (AdwEntryRow      *row,
                 HeraldRelayGroup *self)
{
  const char *text = gtk_editable_get_text (GTK_EDITABLE (row));
  g_auto(GStrv) items = g_strsplit_set (text, ", ", -1);
  guint n = 0;

  for (guint i = 0; items[i] != NULL; i++)
    {
      g_autoptr(GSocketAddress) address = NULL;
      g_autoptr(GError) error = NULL;

      if (items[i][0] == '\0')
        continue;
      address = herald_relay_parse_listen (items[i], &error);
      if (address == NULL || g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (address)) == 0)
        {
          gtk_widget_add_css_class (GTK_WIDGET (row), "error");
          gtk_widget_set_tooltip_text (GTK_WIDGET (row),
                                       error != NULL ? error->message : _("A port is needed"));
          return;
        }
      n++;
    }
  if (n == 0)
    {
      gtk_widget_add_css_class (GTK_WIDGET (row), "error");
      gtk_widget_set_tooltip_text (GTK_WIDGET (row), _("Give at least one address"));
      return;
    }
  gtk_widget_remove_css_class (GTK_WIDGET (row), "error");
  gtk_widget_set_tooltip_text (GTK_WIDGET (row), NULL);
  if (self->settings != NULL)
    g_settings_set_string (self->settings, "relay-listen", text);
}

/* ---- running the relay ------------------------------------------------------------ */

static void read_relay_line (HeraldRelayGroup *self,
                             GDataInputStream *stream);

/* Whether @line is what heraldctl relay printed with @format (the same
 * catalogue translates both): the text before the first conversion. */
static gboolean
starts_as (const char *line,
           const char *format)
{
  const char *percent = strchr (format, '%');
  gsize n = percent != NULL ? (gsize) (percent - format) : strlen (format);

  return n > 0 && strncmp (line, format, n) == 0;
}

/* GLib's log lines ("herald-relay-Message: …", "(heraldctl:42): …"): the
 * relay's own notes, not its status. */
static gboolean
is_log_line (const char *line)
{
  return line[0] == '(' || strstr (line, "-Message: ") != NULL ||
         strstr (line, "-DEBUG: ") != NULL || strstr (line, "-INFO: ") != NULL ||
         strstr (line, "-WARNING **") != NULL || strstr (line, "-CRITICAL **") != NULL;
}

static void
relay_line_cb (GObject      *source,
               GAsyncResult *result,
               gpointer      user_data)
{
  g_autoptr(HeraldRelayGroup) self = _herald_ui_weak_ref_steal (user_data);
  g_autofree char *line = NULL;

  line = g_data_input_stream_read_line_finish_utf8 (G_DATA_INPUT_STREAM (source), result, NULL,
                                                    NULL);
  if (self == NULL)
    return;
  /* The output of a relay that was stopped before this one started. */
  if (G_DATA_INPUT_STREAM (source) != self->relay_out)
    {
      if (line != NULL)
        read_relay_line (self, G_DATA_INPUT_STREAM (source));
      return;
    }
  if (line == NULL)
    {
      /* The relay's output ended: it stopped. What it said last stays
       * when that was an error. */
      g_clear_object (&self->relay_out);
      if (self->status == NULL || starts_as (self->status, _("Herald relay listening on %s\n")) ||
          g_str_equal (self->status, _("Starting…")))
        set_status (self, _("Stopped"));
      return;
    }
  g_strstrip (line);
  /* The first line says where it listens; errors say what is wrong;
   * "relay: ID …" lines mean the log changed. */
  if (g_str_has_prefix (line, "relay: ") ||
      starts_as (line, _("SHA-256 fingerprint: %s\n")))
    herald_relay_group_reload (self);
  else if (line[0] != '\0' && !starts_as (line, _("TLS certificate: %s%s\n")) &&
           !starts_as (line, _("Without logging in: %s; everyone else logs in over TLS with a "
                               "device user (%u configured)\n")) &&
           !starts_as (line, _("Delivering with the %s profile, as %s\n")) &&
           !is_log_line (line))
    set_status (self, line);
  read_relay_line (self, self->relay_out);
}

static void
read_relay_line (HeraldRelayGroup *self,
                 GDataInputStream *stream)
{
  g_data_input_stream_read_line_async (stream, G_PRIORITY_DEFAULT, self->cancellable,
                                       relay_line_cb, _herald_ui_weak_ref_new (self));
}

static void
set_switch (HeraldRelayGroup *self,
            gboolean          active)
{
  self->setting_switch = TRUE;
  gtk_switch_set_active (GTK_SWITCH (self->run_switch), active);
  self->setting_switch = FALSE;
}

static void
relay_exited_cb (GObject      *source,
                 GAsyncResult *result,
                 gpointer      user_data)
{
  g_autoptr(HeraldRelayGroup) self = _herald_ui_weak_ref_steal (user_data);
  GSubprocess *process = G_SUBPROCESS (source);

  g_subprocess_wait_finish (process, result, NULL);
  if (self == NULL || self->relay != process)
    return;
  g_clear_object (&self->relay);
  set_switch (self, FALSE);
}

static void
run_toggled_cb (GtkSwitch        *toggle,
                GParamSpec       *pspec,
                HeraldRelayGroup *self)
{
  g_autoptr(GError) error = NULL;

  if (self->setting_switch)
    return;
  if (!gtk_switch_get_active (toggle))
    {
      if (self->relay != NULL)
        g_subprocess_send_signal (self->relay, SIGTERM);
      return;
    }
  if (self->relay != NULL)
    return;
  set_status (self, _("Starting…"));
  {
    g_autoptr(GSubprocessLauncher) launcher =
      g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDOUT_PIPE | G_SUBPROCESS_FLAGS_STDERR_MERGE);

    /* Its output is shown as the status: no debug chatter in it. */
    g_subprocess_launcher_unsetenv (launcher, "G_MESSAGES_DEBUG");
    self->relay = g_subprocess_launcher_spawn (launcher, &error, self->heraldctl, "relay", NULL);
  }
  if (self->relay == NULL)
    {
      set_status (self, error->message);
      set_switch (self, FALSE);
      return;
    }
  self->relay_out = g_data_input_stream_new (g_subprocess_get_stdout_pipe (self->relay));
  read_relay_line (self, self->relay_out);
  g_subprocess_wait_async (self->relay, NULL, relay_exited_cb, _herald_ui_weak_ref_new (self));
}

/* What a device pins: copied as the relay prints it. */
static void
copy_fingerprint_cb (GtkButton        *button,
                     HeraldRelayGroup *self)
{
  if (self->fingerprint != NULL)
    gdk_clipboard_set_text (gtk_widget_get_clipboard (GTK_WIDGET (button)), self->fingerprint);
}

/* ---- the object ------------------------------------------------------------------------ */

static void
herald_relay_group_dispose (GObject *object)
{
  HeraldRelayGroup *self = HERALD_RELAY_GROUP (object);

  /* The relay runs while the window is open: closing it stops the relay. */
  if (self->relay != NULL)
    g_subprocess_send_signal (self->relay, SIGTERM);
  g_clear_object (&self->relay);
  g_cancellable_cancel (self->cancellable);
  g_clear_handle_id (&self->reload_id, g_source_remove);
  _herald_ui_monitor_stop (&self->monitor);

  G_OBJECT_CLASS (herald_relay_group_parent_class)->dispose (object);
}

static void
herald_relay_group_finalize (GObject *object)
{
  HeraldRelayGroup *self = HERALD_RELAY_GROUP (object);

  g_clear_object (&self->settings);
  g_clear_object (&self->users);
  g_clear_object (&self->cancellable);
  g_clear_object (&self->relay_out);
  g_clear_pointer (&self->user_rows, g_ptr_array_unref);
  g_clear_pointer (&self->message_rows, g_ptr_array_unref);
  g_clear_pointer (&self->messages_shown, g_ptr_array_unref);
  g_strfreev (self->users_shown);
  g_free (self->state_dir);
  g_free (self->log_path);
  g_free (self->heraldctl);
  g_free (self->fingerprint);
  g_free (self->status);

  G_OBJECT_CLASS (herald_relay_group_parent_class)->finalize (object);
}

static void
herald_relay_group_class_init (HeraldRelayGroupClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = herald_relay_group_dispose;
  object_class->finalize = herald_relay_group_finalize;
}

static void
herald_relay_group_init (HeraldRelayGroup *self)
{
  GtkWidget *add_button;
  GtkWidget *add_row;
  GtkWidget *copy_button;

  self->cancellable = g_cancellable_new ();
  self->user_rows = g_ptr_array_new ();
  self->message_rows = g_ptr_array_new ();
  self->messages_shown = g_ptr_array_new_with_free_func (g_free);

  adw_preferences_group_set_title (ADW_PREFERENCES_GROUP (self), _("Relay for Devices"));
  adw_preferences_group_set_description (ADW_PREFERENCES_GROUP (self),
    _("Printers and applications that can only send with a password submit their mail here "
      "(heraldctl relay); Herald delivers it with these settings."));

  self->run_row = adw_action_row_new ();
  adw_preferences_row_set_title (ADW_PREFERENCES_ROW (self->run_row), _("Run the Relay"));
  self->run_switch = gtk_switch_new ();
  gtk_widget_set_valign (self->run_switch, GTK_ALIGN_CENTER);
  adw_action_row_add_suffix (ADW_ACTION_ROW (self->run_row), self->run_switch);
  adw_action_row_set_activatable_widget (ADW_ACTION_ROW (self->run_row), self->run_switch);
  /* The row points at the switch with labelled-by, which GTK 4.8 appends
   * to the label property: keep only the property (as the window does). */
  gtk_accessible_reset_relation (GTK_ACCESSIBLE (self->run_switch),
                                 GTK_ACCESSIBLE_RELATION_LABELLED_BY);
  gtk_accessible_update_property (GTK_ACCESSIBLE (self->run_switch),
                                  GTK_ACCESSIBLE_PROPERTY_LABEL, _("Run the Relay"), -1);
  adw_preferences_group_add (ADW_PREFERENCES_GROUP (self), self->run_row);
  set_status (self, _("Off: it runs while this window is open"));
  g_signal_connect (self->run_switch, "notify::active", G_CALLBACK (run_toggled_cb), self);

  self->listen_row = adw_entry_row_new ();
  adw_preferences_row_set_title (ADW_PREFERENCES_ROW (self->listen_row), _("Listen On"));
  adw_entry_row_set_show_apply_button (ADW_ENTRY_ROW (self->listen_row), TRUE);
  g_signal_connect (self->listen_row, "apply", G_CALLBACK (listen_apply_cb), self);
  adw_preferences_group_add (ADW_PREFERENCES_GROUP (self), self->listen_row);

  self->fingerprint_row = adw_action_row_new ();
  adw_preferences_row_set_title (ADW_PREFERENCES_ROW (self->fingerprint_row),
                                 _("Certificate Fingerprint (SHA-256)"));
  copy_button = gtk_button_new_from_icon_name ("edit-copy-symbolic");
  gtk_widget_set_tooltip_text (copy_button, _("Copy the fingerprint"));
  gtk_accessible_update_property (GTK_ACCESSIBLE (copy_button), GTK_ACCESSIBLE_PROPERTY_LABEL,
                                  _("Copy the fingerprint"), -1);
  gtk_widget_set_valign (copy_button, GTK_ALIGN_CENTER);
  gtk_widget_add_css_class (copy_button, "flat");
  g_signal_connect (copy_button, "clicked", G_CALLBACK (copy_fingerprint_cb), self);
  adw_action_row_add_suffix (ADW_ACTION_ROW (self->fingerprint_row), copy_button);
  adw_preferences_group_add (ADW_PREFERENCES_GROUP (self), self->fingerprint_row);

  self->users_row = adw_expander_row_new ();
  adw_preferences_row_set_title (ADW_PREFERENCES_ROW (self->users_row), _("Device Users"));
  adw_preferences_group_add (ADW_PREFERENCES_GROUP (self), self->users_row);
  self->new_user_row = adw_entry_row_new ();
  adw_preferences_row_set_title (ADW_PREFERENCES_ROW (self->new_user_row), _("New Device User"));
  adw_expander_row_add_row (ADW_EXPANDER_ROW (self->users_row), self->new_user_row);
  /* An entry row with its text hidden: AdwPasswordEntryRow 1.2's reveal
   * button has no accessible name. */
  self->new_password_row = adw_entry_row_new ();
  adw_preferences_row_set_title (ADW_PREFERENCES_ROW (self->new_password_row), _("Its Password"));
  {
    GtkEditable *text = gtk_editable_get_delegate (GTK_EDITABLE (self->new_password_row));

    if (GTK_IS_TEXT (text))
      {
        gtk_text_set_visibility (GTK_TEXT (text), FALSE);
        gtk_text_set_input_purpose (GTK_TEXT (text), GTK_INPUT_PURPOSE_PASSWORD);
      }
  }
  adw_expander_row_add_row (ADW_EXPANDER_ROW (self->users_row), self->new_password_row);
  add_row = adw_action_row_new ();
  add_button = gtk_button_new_with_label (_("Add Device User"));
  gtk_widget_set_valign (add_button, GTK_ALIGN_CENTER);
  g_signal_connect (add_button, "clicked", G_CALLBACK (add_user_cb), self);
  adw_action_row_add_suffix (ADW_ACTION_ROW (add_row), add_button);
  adw_expander_row_add_row (ADW_EXPANDER_ROW (self->users_row), add_row);

  self->messages_row = adw_expander_row_new ();
  adw_preferences_row_set_title (ADW_PREFERENCES_ROW (self->messages_row),
                                 _("Last Messages per Device"));
  adw_preferences_group_add (ADW_PREFERENCES_GROUP (self), self->messages_row);
}

HeraldRelayGroup *
herald_relay_group_new (GSettings  *settings,
                        const char *state_dir,
                        const char *heraldctl)
{
  HeraldRelayGroup *self;
  g_autofree char *users_path = NULL;

  g_return_val_if_fail (state_dir != NULL, NULL);

  self = g_object_new (HERALD_TYPE_RELAY_GROUP, NULL);
  self->settings = settings != NULL ? g_object_ref (settings) : NULL;
  self->state_dir = g_strdup (state_dir);
  /* The window and heraldctl are installed side by side; HERALDCTL names
   * another one (the build tree's, when running uninstalled). */
  if (heraldctl == NULL)
    heraldctl = g_getenv ("HERALDCTL");
  self->heraldctl = heraldctl != NULL ? g_strdup (heraldctl) : g_find_program_in_path ("heraldctl");
  if (self->heraldctl == NULL)
    self->heraldctl = g_strdup ("heraldctl");
  self->log_path = g_build_filename (state_dir, "messages.log", NULL);
  users_path = g_build_filename (state_dir, "users", NULL);
  self->users = herald_relay_users_new (users_path);

  if (settings != NULL)
    {
      g_autofree char *listen = g_settings_get_string (settings, "relay-listen");

      gtk_editable_set_text (GTK_EDITABLE (self->listen_row), listen);
    }

  /* The directory must exist for the monitor to see the files appear. */
  g_mkdir_with_parents (state_dir, 0700);
  self->monitor = _herald_ui_monitor_directory (state_dir, G_CALLBACK (changed_cb), self);
  start_load (self);
  return self;
}

GStrv
herald_relay_group_dup_users (HeraldRelayGroup *self)
{
  g_return_val_if_fail (HERALD_IS_RELAY_GROUP (self), NULL);
  return g_strdupv (self->users_shown);
}

const char *
herald_relay_group_get_fingerprint (HeraldRelayGroup *self)
{
  g_return_val_if_fail (HERALD_IS_RELAY_GROUP (self), NULL);
  return self->fingerprint;
}

const char *
herald_relay_group_get_status (HeraldRelayGroup *self)
{
  g_return_val_if_fail (HERALD_IS_RELAY_GROUP (self), NULL);
  return self->status;
}

GStrv
herald_relay_group_dup_messages (HeraldRelayGroup *self)
{
  g_autoptr(GStrvBuilder) builder = g_strv_builder_new ();

  g_return_val_if_fail (HERALD_IS_RELAY_GROUP (self), NULL);
  for (guint i = 0; i < self->messages_shown->len; i++)
    g_strv_builder_add (builder, g_ptr_array_index (self->messages_shown, i));
  return g_strv_builder_end (builder);
}

gboolean
herald_relay_group_is_busy (HeraldRelayGroup *self)
{
  g_return_val_if_fail (HERALD_IS_RELAY_GROUP (self), FALSE);
  return self->busy > 0 || self->reload_id != 0;
}
