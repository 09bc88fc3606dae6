/* SPDX-License-Identifier: GPL-3.0-or-later
 * Copyright 2026 The Herald authors
 */
#define G_LOG_DOMAIN "herald-history"

#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>
#include <glib/gi18n-lib.h>
#include <glib/gstdio.h>

#include "herald-history.h"
#include "herald-report.h"

/* A report carries the transcript; a test that dripped megabytes of replies
 * must not make the file huge, and a file far larger than twenty reports
 * can be is not one Herald wrote. */
#define REPORT_MAX     (64 * 1024)
#define SUMMARY_MAX    300
#define FILE_MAX       (4 * 1024 * 1024)

G_DEFINE_QUARK (herald-history-error-quark, herald_history_error)

static char *
truncate_utf8 (const char *text,
               gsize       max)
{
  const char *end;

  if (text == NULL)
    return g_strdup ("");
  if (strlen (text) <= max)
    return g_strdup (text);
  /* Cut at a character boundary, not inside one. */
  end = g_utf8_find_prev_char (text, text + max + 1);
  return g_strdup_printf ("%.*s…", (int) (end - text), text);
}

/* The first line, for the list. */
static char *
first_line (const char *text)
{
  g_autofree char *line = g_strndup (text, strcspn (text, "\r\n"));

  return truncate_utf8 (g_strstrip (line), SUMMARY_MAX);
}

static gboolean
is_cancelled (const HeraldSmtpResult *result)
{
  return result->error != NULL && g_error_matches (result->error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
}

HeraldHistoryEntry *
herald_history_entry_new (const HeraldSmtpConfig *config,
                          const HeraldSmtpResult *result,
                          const HeraldDiagnosis  *diagnosis,
                          GPtrArray              *notices,
                          const char             *transport)
{
  HeraldHistoryEntry *entry;
  g_autofree char *report = NULL;

  g_return_val_if_fail (config != NULL, NULL);
  g_return_val_if_fail (result != NULL, NULL);

  entry = g_new0 (HeraldHistoryEntry, 1);
  entry->time = g_get_real_time () / G_USEC_PER_SEC;
  entry->host = g_strdup (config->host != NULL ? config->host : "");
  entry->port = config->port;
  entry->transport = g_strdup (transport != NULL ? transport : "smtp");

  if (result->ok)
    {
      entry->outcome = g_strdup ("sent");
      if (result->reply != NULL && result->reply->raw != NULL)
        entry->summary = first_line (result->reply->raw);
      else
        entry->summary = g_strdup (_("The test message was accepted."));
    }
  else if (is_cancelled (result))
    {
      entry->outcome = g_strdup ("cancelled");
      /* Translators: %s is a step of the test, e.g. "tls" */
      entry->summary = g_strdup_printf (_("Cancelled during %s"),
                                        result->stage < HERALD_N_STAGES
                                          ? herald_stage_to_string (result->stage) : "?");
    }
  else
    {
      entry->outcome = g_strdup ("failed");
      /* A fallback's title ("The test failed") says less than the error. */
      if (diagnosis != NULL && diagnosis->title != NULL &&
          (!herald_diagnosis_is_fallback (diagnosis) || result->error == NULL))
        entry->summary = first_line (diagnosis->title);
      else if (result->error != NULL)
        entry->summary = first_line (result->error->message);
      else
        entry->summary = g_strdup (_("The test failed."));
    }

  /* The report is the one Copy Report gives: the password and the token
   * are reported as set or not set, the transcript is already redacted. */
  report = herald_report_to_text (config, result, diagnosis, notices);
  entry->report = truncate_utf8 (report, REPORT_MAX);
  /* History shows a failure again as the test did: its diagnosis. */
  if (g_str_equal (entry->outcome, "failed") && diagnosis != NULL)
    entry->diagnosis = herald_diagnosis_copy (diagnosis);

  return entry;
}

HeraldHistoryEntry *
herald_history_entry_copy (const HeraldHistoryEntry *entry)
{
  HeraldHistoryEntry *copy;

  g_return_val_if_fail (entry != NULL, NULL);

  copy = g_new0 (HeraldHistoryEntry, 1);
  copy->time = entry->time;
  copy->host = g_strdup (entry->host);
  copy->port = entry->port;
  copy->transport = g_strdup (entry->transport);
  copy->outcome = g_strdup (entry->outcome);
  copy->summary = g_strdup (entry->summary);
  copy->report = g_strdup (entry->report);
  copy->diagnosis = entry->diagnosis != NULL ? herald_diagnosis_copy (entry->diagnosis) : NULL;
  return copy;
}

void
herald_history_entry_free (HeraldHistoryEntry *entry)
{
  if (entry == NULL)
    return;
  g_free (entry->host);
  g_free (entry->transport);
  g_free (entry->outcome);
  g_free (entry->summary);
  g_free (entry->report);
  g_clear_pointer (&entry->diagnosis, herald_diagnosis_free);
  g_free (entry);
}

static char *
history_dir (void)
{
  return g_build_filename (g_get_user_state_dir (), "herald", NULL);
}

char *
herald_history_get_path (void)
{
  return g_build_filename (g_get_user_state_dir (), "herald", "history.json", NULL);
}

static gboolean
damaged (GError    **error,
         const char *path,
         const char *why)
{
  g_set_error (error, HERALD_HISTORY_ERROR, HERALD_HISTORY_ERROR_DAMAGED,
               /* Translators: %s is a file name, then the reason it cannot be read */
               _("The test history %s cannot be read (%s). The next test starts a new history "
                 "and keeps the old file beside it as history.json.damaged."),
               path, why);
  return FALSE;
}

/* A string member, made valid UTF-8: the file may have been edited. */
static char *
dup_member_string (JsonObject *object,
                   const char *name)
{
  JsonNode *node = json_object_get_member (object, name);
  const char *value;

  if (node == NULL || !JSON_NODE_HOLDS_VALUE (node) ||
      json_node_get_value_type (node) != G_TYPE_STRING)
    return NULL;
  value = json_node_get_string (node);
  return g_utf8_make_valid (value, -1);
}

/* The strings of a diagnosis, each as long as a report may be. */
static char *
dup_member_text (JsonObject *object,
                 const char *name)
{
  g_autofree char *value = dup_member_string (object, name);

  return value != NULL ? truncate_utf8 (value, REPORT_MAX) : NULL;
}

/* An https URL of printable ASCII only, as the rules' links are. */
static gboolean
is_https_url (const char *url)
{
  if (url == NULL || !g_str_has_prefix (url, "https://") || url[8] == '\0')
    return FALSE;
  for (const char *p = url; *p != '\0'; p++)
    if (*p < 0x21 || *p > 0x7e)
      return FALSE;
  return TRUE;
}

/* A diagnosis as add_diagnosis_json() wrote it. The file may have been
 * edited: the texts are made valid UTF-8, a link that is not https is left
 * out (the dialog opens links), and anything else that does not fit makes
 * the whole entry unreadable (NULL). A JSON null is no diagnosis: *out
 * stays NULL and TRUE is returned. */
static gboolean
diagnosis_from_json (JsonNode         *node,
                     HeraldDiagnosis **out)
{
  g_autoptr(HeraldDiagnosis) d = NULL;
  g_autofree char *actor = NULL, *severity = NULL, *action = NULL, *alternative = NULL;
  JsonObject *object;
  JsonNode *member;

  *out = NULL;
  if (node == NULL || JSON_NODE_HOLDS_NULL (node))
    return TRUE;
  if (!JSON_NODE_HOLDS_OBJECT (node))
    return FALSE;
  object = json_node_get_object (node);

  d = herald_diagnosis_new ();
  d->id = dup_member_text (object, "id");
  d->title = dup_member_text (object, "title");
  d->explanation = dup_member_text (object, "explanation");
  d->details = dup_member_text (object, "details");
  actor = dup_member_string (object, "actor");
  severity = dup_member_string (object, "severity");
  action = dup_member_string (object, "action");
  alternative = dup_member_string (object, "alternative_action");
  if (d->id == NULL || d->title == NULL || d->explanation == NULL ||
      !herald_actor_from_string (actor, &d->actor) ||
      !herald_severity_from_string (severity, &d->severity))
    return FALSE;
  if (action != NULL && !herald_action_from_string (action, &d->action))
    return FALSE;
  if (alternative != NULL && !herald_action_from_string (alternative, &d->alternative_action))
    return FALSE;

  member = json_object_get_member (object, "steps");
  if (member == NULL || !JSON_NODE_HOLDS_ARRAY (member))
    return FALSE;
  for (guint i = 0; i < json_array_get_length (json_node_get_array (member)); i++)
    {
      JsonNode *item = json_array_get_element (json_node_get_array (member), i);
      g_autofree char *text = NULL, *command = NULL;

      if (!JSON_NODE_HOLDS_OBJECT (item))
        return FALSE;
      text = dup_member_text (json_node_get_object (item), "text");
      command = dup_member_text (json_node_get_object (item), "command");
      if (text == NULL)
        return FALSE;
      herald_diagnosis_add_step (d, text, command);
    }

  member = json_object_get_member (object, "links");
  if (member == NULL || !JSON_NODE_HOLDS_ARRAY (member))
    return FALSE;
  for (guint i = 0; i < json_array_get_length (json_node_get_array (member)); i++)
    {
      JsonNode *item = json_array_get_element (json_node_get_array (member), i);
      g_autofree char *link_title = NULL, *url = NULL;

      if (!JSON_NODE_HOLDS_OBJECT (item))
        return FALSE;
      link_title = dup_member_text (json_node_get_object (item), "title");
      url = dup_member_text (json_node_get_object (item), "url");
      if (is_https_url (url))
        herald_diagnosis_add_link (d, link_title, url);
    }

  *out = g_steal_pointer (&d);
  return TRUE;
}

static HeraldHistoryEntry *
entry_from_json (JsonNode *node)
{
  g_autoptr(HeraldHistoryEntry) entry = g_new0 (HeraldHistoryEntry, 1);
  g_autoptr(GDateTime) time = NULL;
  g_autofree char *time_text = NULL;
  JsonObject *object;
  JsonNode *port;

  if (!JSON_NODE_HOLDS_OBJECT (node))
    return NULL;
  object = json_node_get_object (node);

  time_text = dup_member_string (object, "time");
  if (time_text == NULL || (time = g_date_time_new_from_iso8601 (time_text, NULL)) == NULL)
    return NULL;
  entry->time = g_date_time_to_unix (time);

  port = json_object_get_member (object, "port");
  if (port == NULL || !JSON_NODE_HOLDS_VALUE (port) ||
      json_node_get_value_type (port) != G_TYPE_INT64 ||
      json_node_get_int (port) < 0 || json_node_get_int (port) > 65535)
    return NULL;
  entry->port = json_node_get_int (port);

  entry->host = dup_member_string (object, "host");
  entry->transport = dup_member_string (object, "transport");
  entry->outcome = dup_member_string (object, "outcome");
  entry->summary = dup_member_string (object, "summary");
  entry->report = dup_member_string (object, "report");
  if (entry->host == NULL || entry->transport == NULL || entry->outcome == NULL ||
      entry->summary == NULL || entry->report == NULL)
    return NULL;
  if (!diagnosis_from_json (json_object_get_member (object, "diagnosis"), &entry->diagnosis))
    return NULL;

  return g_steal_pointer (&entry);
}

/* json-glib's parser recurses once per nesting level: "[[[[…" a million
 * deep would overflow the stack. A history is six levels deep (the steps of
 * an entry's diagnosis). */
#define NESTING_MAX 16

static gboolean
nesting_is_shallow (const char *text,
                    gsize       length)
{
  gboolean in_string = FALSE;
  int depth = 0;

  for (gsize i = 0; i < length; i++)
    {
      char c = text[i];

      if (in_string)
        {
          if (c == '\\')
            i++;
          else if (c == '"')
            in_string = FALSE;
        }
      else if (c == '"')
        in_string = TRUE;
      else if (c == '[' || c == '{')
        {
          if (++depth > NESTING_MAX)
            return FALSE;
        }
      else if (c == ']' || c == '}')
        depth--;
    }
  return TRUE;
}

static GPtrArray *
load_path (const char  *path,
           GError     **error)
{
  g_autoptr(GPtrArray) entries =
    g_ptr_array_new_with_free_func ((GDestroyNotify) herald_history_entry_free);
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autoptr(GError) local_error = NULL;
  g_autofree char *contents = NULL;
  JsonNode *root, *array_node;
  JsonArray *array;
  gsize length;
  GStatBuf st;

  if (g_stat (path, &st) != 0)
    {
      int saved = errno;

      if (saved == ENOENT)
        return g_steal_pointer (&entries);
      damaged (error, path, g_strerror (saved));
      return NULL;
    }
  if (!S_ISREG (st.st_mode))
    {
      damaged (error, path, _("not a regular file"));
      return NULL;
    }
  if (st.st_size > FILE_MAX)
    {
      damaged (error, path, _("it is far larger than a history can be"));
      return NULL;
    }

  if (!g_file_get_contents (path, &contents, &length, &local_error))
    {
      damaged (error, path, local_error->message);
      return NULL;
    }
  if (!g_utf8_validate (contents, length, NULL))
    {
      damaged (error, path, _("it is not UTF-8 text"));
      return NULL;
    }
  if (!nesting_is_shallow (contents, length))
    {
      damaged (error, path, _("it is nested deeper than a history is"));
      return NULL;
    }
  if (!json_parser_load_from_data (parser, contents, length, &local_error))
    {
      damaged (error, path, local_error->message);
      return NULL;
    }

  root = json_parser_get_root (parser);
  if (root == NULL || !JSON_NODE_HOLDS_OBJECT (root) ||
      (array_node = json_object_get_member (json_node_get_object (root), "entries")) == NULL ||
      !JSON_NODE_HOLDS_ARRAY (array_node))
    {
      damaged (error, path, _("it has no list of entries"));
      return NULL;
    }

  array = json_node_get_array (array_node);
  for (guint i = 0; i < json_array_get_length (array) && entries->len < HERALD_HISTORY_MAX; i++)
    {
      HeraldHistoryEntry *entry = entry_from_json (json_array_get_element (array, i));

      if (entry == NULL)
        {
          g_autofree char *why = g_strdup_printf (_("entry %u is incomplete"), i + 1);

          damaged (error, path, why);
          return NULL;
        }
      g_ptr_array_add (entries, entry);
    }

  return g_steal_pointer (&entries);
}

GPtrArray *
herald_history_load (GError **error)
{
  g_autofree char *path = herald_history_get_path ();

  return load_path (path, error);
}

static void
add_string_member (JsonBuilder *builder,
                   const char  *name,
                   const char  *value)
{
  if (value == NULL)
    return;
  json_builder_set_member_name (builder, name);
  json_builder_add_string_value (builder, value);
}

/* Unlike herald_diagnosis_to_json() (heraldctl's output), the steps keep
 * their commands apart: the dialog shows each with its own Copy button. */
static void
add_diagnosis_json (JsonBuilder           *builder,
                    const HeraldDiagnosis *d)
{
  json_builder_begin_object (builder);
  add_string_member (builder, "id", d->id != NULL ? d->id : "");
  add_string_member (builder, "title", d->title != NULL ? d->title : "");
  add_string_member (builder, "explanation", d->explanation != NULL ? d->explanation : "");
  add_string_member (builder, "actor", herald_actor_to_string (d->actor));
  add_string_member (builder, "severity", herald_severity_to_string (d->severity));
  json_builder_set_member_name (builder, "steps");
  json_builder_begin_array (builder);
  for (guint i = 0; d->steps != NULL && i < d->steps->len; i++)
    {
      const HeraldDiagnosisStep *step = g_ptr_array_index (d->steps, i);

      json_builder_begin_object (builder);
      add_string_member (builder, "text", step->text != NULL ? step->text : "");
      add_string_member (builder, "command", step->command);
      json_builder_end_object (builder);
    }
  json_builder_end_array (builder);
  json_builder_set_member_name (builder, "links");
  json_builder_begin_array (builder);
  for (guint i = 0; d->links != NULL && i < d->links->len; i++)
    {
      const HeraldLink *link = g_ptr_array_index (d->links, i);

      json_builder_begin_object (builder);
      add_string_member (builder, "title", link->title);
      add_string_member (builder, "url", link->url);
      json_builder_end_object (builder);
    }
  json_builder_end_array (builder);
  add_string_member (builder, "details", d->details);
  add_string_member (builder, "action", herald_action_to_string (d->action));
  add_string_member (builder, "alternative_action", herald_action_to_string (d->alternative_action));
  json_builder_end_object (builder);
}

static void
add_entry_json (JsonBuilder              *builder,
                const HeraldHistoryEntry *entry)
{
  g_autoptr(GDateTime) time = g_date_time_new_from_unix_utc (entry->time);
  g_autofree char *time_text = time != NULL ? g_date_time_format (time, "%Y-%m-%dT%H:%M:%SZ")
                                            : g_strdup ("1970-01-01T00:00:00Z");

  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "time");
  json_builder_add_string_value (builder, time_text);
  json_builder_set_member_name (builder, "host");
  json_builder_add_string_value (builder, entry->host);
  json_builder_set_member_name (builder, "port");
  json_builder_add_int_value (builder, entry->port);
  json_builder_set_member_name (builder, "transport");
  json_builder_add_string_value (builder, entry->transport);
  json_builder_set_member_name (builder, "outcome");
  json_builder_add_string_value (builder, entry->outcome);
  json_builder_set_member_name (builder, "summary");
  json_builder_add_string_value (builder, entry->summary);
  json_builder_set_member_name (builder, "report");
  json_builder_add_string_value (builder, entry->report);
  if (entry->diagnosis != NULL)
    {
      json_builder_set_member_name (builder, "diagnosis");
      add_diagnosis_json (builder, entry->diagnosis);
    }
  json_builder_end_object (builder);
}

JsonNode *
herald_history_to_json (GPtrArray *entries)
{
  g_autoptr(JsonBuilder) builder = json_builder_new ();

  g_return_val_if_fail (entries != NULL, NULL);

  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "entries");
  json_builder_begin_array (builder);
  for (guint i = 0; i < entries->len; i++)
    add_entry_json (builder, g_ptr_array_index (entries, i));
  json_builder_end_array (builder);
  json_builder_end_object (builder);

  return json_builder_get_root (builder);
}

gboolean
herald_history_add (const HeraldHistoryEntry *entry,
                    GError                  **error)
{
  g_autofree char *dir = history_dir ();
  g_autofree char *path = herald_history_get_path ();
  g_autofree char *lock_path = NULL;
  g_autoptr(GPtrArray) entries = NULL;
  g_autoptr(GError) load_error = NULL;
  g_autoptr(JsonNode) node = NULL;
  g_autofree char *json = NULL;
  gboolean ok;
  int lock_fd;

  g_return_val_if_fail (entry != NULL, FALSE);

  if (g_mkdir_with_parents (dir, 0700) != 0)
    {
      int saved = errno;

      g_set_error (error, G_FILE_ERROR, g_file_error_from_errno (saved),
                   _("Could not create %s: %s"), dir, g_strerror (saved));
      return FALSE;
    }

  /* The window and heraldctl may finish a test at the same moment: each
   * reads, adds and writes under the lock, so neither entry is lost. */
  lock_path = g_build_filename (dir, "history.lock", NULL);
  lock_fd = g_open (lock_path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (lock_fd < 0 || flock (lock_fd, LOCK_EX) != 0)
    {
      int saved = errno;

      g_set_error (error, G_FILE_ERROR, g_file_error_from_errno (saved),
                   _("Could not lock %s: %s"), lock_path, g_strerror (saved));
      if (lock_fd >= 0)
        close (lock_fd);
      return FALSE;
    }

  entries = load_path (path, &load_error);
  if (entries == NULL)
    {
      /* Kept for whoever wants to look at it; a new history starts. */
      g_autofree char *aside = g_strconcat (path, ".damaged", NULL);

      g_warning ("%s", load_error->message);
      g_rename (path, aside);
      entries = g_ptr_array_new_with_free_func ((GDestroyNotify) herald_history_entry_free);
    }

  g_ptr_array_insert (entries, 0, herald_history_entry_copy (entry));
  if (entries->len > HERALD_HISTORY_MAX)
    g_ptr_array_set_size (entries, HERALD_HISTORY_MAX);

  node = herald_history_to_json (entries);
  json = herald_json_to_string (node, TRUE);
  ok = g_file_set_contents_full (path, json, -1, G_FILE_SET_CONTENTS_CONSISTENT, 0600, error);

  close (lock_fd);
  return ok;
}

char *
herald_history_format_time (gint64 time)
{
  g_autoptr(GDateTime) utc = g_date_time_new_from_unix_utc (time);
  g_autoptr(GDateTime) local = utc != NULL ? g_date_time_to_local (utc) : NULL;

  if (local == NULL)
    return g_strdup ("?");
  return g_date_time_format (local, "%Y-%m-%d %H:%M");
}

const char *
herald_history_describe_outcome (const char *outcome)
{
  g_return_val_if_fail (outcome != NULL, NULL);

  if (g_str_equal (outcome, "sent"))
    return _("Sent");
  if (g_str_equal (outcome, "failed"))
    return _("Failed");
  if (g_str_equal (outcome, "cancelled"))
    return _("Cancelled");
  return outcome;
}
