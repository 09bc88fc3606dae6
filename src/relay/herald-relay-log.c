/* SPDX-License-Identifier: GPL-3.0-or-later
 * Copyright 2026 The Herald authors
 */
#define G_LOG_DOMAIN "herald-relay"

#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <glib/gi18n.h>
#include <glib/gstdio.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "herald-relay.h"

/* The log of relayed messages, for the window's "last messages per
 * device": one line per event, fields separated by tabs and escaped with
 * g_strescape() (so no field can hold a tab or a line break):
 *   TIME \t accepted \t ID \t CLIENT \t USER \t SUBJECT
 *   TIME \t outcome \t ID \t OUTCOME \t DETAIL
 * Appended with O_APPEND under flock, so the relay and a flush may both
 * write. It never holds a password or a message body. */

#define MAX_LOG_SIZE (1024 * 1024)
#define MAX_FIELD    300

void
herald_relay_log_entry_free (HeraldRelayLogEntry *entry)
{
  if (entry == NULL)
    return;
  g_free (entry->id);
  g_free (entry->client);
  g_free (entry->user);
  g_free (entry->subject);
  g_free (entry->outcome);
  g_free (entry->detail);
  g_free (entry);
}

static char *
field (const char *text)
{
  g_autofree char *valid = NULL;

  if (text == NULL || *text == '\0')
    return g_strdup ("-");
  valid = g_utf8_make_valid (text, -1);
  if (strlen (valid) > MAX_FIELD)
    valid[g_utf8_find_prev_char (valid, valid + MAX_FIELD) - valid] = '\0';
  /* "-" alone means "none"; a real "-" is written escaped. */
  if (g_str_equal (valid, "-"))
    return g_strdup ("\\055");
  /* Bytes past ASCII become octal escapes too: the file stays ASCII. */
  return g_strescape (valid, NULL);
}

static char *
unfield (const char *text)
{
  g_autofree char *plain = NULL;

  if (g_str_equal (text, "-"))
    return NULL;
  plain = g_strcompress (text);
  if (!g_utf8_validate (plain, -1, NULL))
    return g_utf8_make_valid (plain, -1);
  return g_steal_pointer (&plain);
}

/* Keeps the newer half when the log has grown past its bound. Runs under
 * the exclusive lock. */
static void
trim_locked (int         fd,
             const char *path)
{
  g_autofree char *text = NULL;
  gsize length;
  const char *cut;
  g_autofree char *tmp = NULL;

  if (lseek (fd, 0, SEEK_END) <= MAX_LOG_SIZE)
    return;
  if (!g_file_get_contents (path, &text, &length, NULL))
    return;
  cut = strchr (text + length / 2, '\n');
  if (cut == NULL)
    return;
  tmp = g_strconcat (path, ".trim", NULL);
  if (g_file_set_contents_full (tmp, cut + 1, (gssize) (length - (cut + 1 - text)),
                                G_FILE_SET_CONTENTS_CONSISTENT, 0600, NULL))
    g_rename (tmp, path);
}

static gboolean
append_line (const char  *path,
             const char  *line,
             GError     **error)
{
  g_autofree char *dir = g_path_get_dirname (path);
  int fd;
  gssize n;
  gsize len = strlen (line);

  if (g_mkdir_with_parents (dir, 0700) != 0)
    {
      int saved = errno;

      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved), _("cannot create %s: %s"),
                   dir, g_strerror (saved));
      return FALSE;
    }
  fd = g_open (path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0)
    {
      int saved = errno;

      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved), _("cannot open %s: %s"),
                   path, g_strerror (saved));
      return FALSE;
    }
  flock (fd, LOCK_EX);
  do
    n = write (fd, line, len);
  while (n < 0 && errno == EINTR);
  if (n != (gssize) len)
    {
      int saved = n < 0 ? errno : ENOSPC;

      flock (fd, LOCK_UN);
      close (fd);
      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved), _("cannot write %s: %s"),
                   path, g_strerror (saved));
      return FALSE;
    }
  trim_locked (fd, path);
  flock (fd, LOCK_UN);
  close (fd);
  return TRUE;
}

gboolean
herald_relay_log_accepted (const char  *path,
                           const char  *id,
                           const char  *client,
                           const char  *user,
                           const char  *subject,
                           GError     **error)
{
  g_autofree char *f_id = field (id), *f_client = field (client), *f_user = field (user);
  g_autofree char *f_subject = field (subject);
  g_autofree char *line = NULL;

  g_return_val_if_fail (path != NULL && id != NULL, FALSE);

  line = g_strdup_printf ("%" G_GINT64_FORMAT "\taccepted\t%s\t%s\t%s\t%s\n",
                          g_get_real_time () / G_USEC_PER_SEC, f_id, f_client, f_user, f_subject);
  return append_line (path, line, error);
}

gboolean
herald_relay_log_outcome (const char  *path,
                          const char  *id,
                          const char  *outcome,
                          const char  *detail,
                          GError     **error)
{
  g_autofree char *f_id = field (id), *f_outcome = field (outcome), *f_detail = field (detail);
  g_autofree char *line = NULL;

  g_return_val_if_fail (path != NULL && id != NULL && outcome != NULL, FALSE);

  line = g_strdup_printf ("%" G_GINT64_FORMAT "\toutcome\t%s\t%s\t%s\n",
                          g_get_real_time () / G_USEC_PER_SEC, f_id, f_outcome, f_detail);
  return append_line (path, line, error);
}

GPtrArray *
herald_relay_log_read (const char  *path,
                       guint        max,
                       GError     **error)
{
  g_autoptr(GPtrArray) entries = g_ptr_array_new_with_free_func (
    (GDestroyNotify) herald_relay_log_entry_free);
  g_autoptr(GHashTable) by_id = g_hash_table_new (g_str_hash, g_str_equal);
  g_autoptr(GPtrArray) out = NULL;
  g_autofree char *text = NULL;
  g_autoptr(GError) local = NULL;
  g_auto(GStrv) lines = NULL;
  gsize length;

  g_return_val_if_fail (path != NULL, NULL);

  if (!g_file_get_contents (path, &text, &length, &local))
    {
      if (g_error_matches (local, G_FILE_ERROR, G_FILE_ERROR_NOENT))
        return g_steal_pointer (&entries);
      g_propagate_error (error, g_steal_pointer (&local));
      return NULL;
    }

  lines = g_strsplit (text, "\n", -1);
  for (guint i = 0; lines[i] != NULL; i++)
    {
      g_auto(GStrv) f = g_strsplit (lines[i], "\t", -1);
      guint n = g_strv_length (f);
      gint64 time;
      HeraldRelayLogEntry *entry;

      if (n < 5 || !g_ascii_string_to_signed (f[0], 10, 0, G_MAXINT64, &time, NULL))
        continue;
      if (g_str_equal (f[1], "accepted") && n == 6)
        {
          g_autofree char *id = unfield (f[2]);

          if (id == NULL || g_hash_table_contains (by_id, id))
            continue;
          entry = g_new0 (HeraldRelayLogEntry, 1);
          entry->time = time;
          entry->id = g_steal_pointer (&id);
          entry->client = unfield (f[3]);
          entry->user = unfield (f[4]);
          entry->subject = unfield (f[5]);
          entry->outcome = g_strdup ("queued");
          g_ptr_array_add (entries, entry);
          g_hash_table_insert (by_id, entry->id, entry);
        }
      else if (g_str_equal (f[1], "outcome") && n == 5)
        {
          g_autofree char *id = unfield (f[2]);
          g_autofree char *outcome = unfield (f[3]);

          entry = id != NULL ? g_hash_table_lookup (by_id, id) : NULL;
          if (entry == NULL || outcome == NULL)
            continue;
          entry->time = time;
          g_free (entry->outcome);
          entry->outcome = g_steal_pointer (&outcome);
          g_free (entry->detail);
          entry->detail = unfield (f[4]);
        }
    }

  /* Newest first, at most max. */
  out = g_ptr_array_new_with_free_func ((GDestroyNotify) herald_relay_log_entry_free);
  for (guint i = entries->len; i > 0 && (max == 0 || out->len < max); i--)
    g_ptr_array_add (out, g_ptr_array_steal_index (entries, i - 1));
  return g_steal_pointer (&out);
}
