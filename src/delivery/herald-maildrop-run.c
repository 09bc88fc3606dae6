/* SPDX-License-Identifier: GPL-3.0-or-later
 * Copyright 2026 The Herald authors
 */
#define G_LOG_DOMAIN "herald-delivery"

#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <glib/gi18n.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "herald-maildrop.h"
#include "herald-maildrop-run.h"

/* How much of a file that is refused is kept for the record. */
#define KEPT_OF_REFUSED (64 * 1024)

void
herald_maildrop_item_free (HeraldMaildropItem *item)
{
  if (item == NULL)
    return;
  g_free (item->name);
  g_free (item->outcome);
  g_free (item->id);
  g_free (item->reason);
  g_free (item);
}

static HeraldMaildropItem *
add_item (GPtrArray  *items,
          const char *name,
          gint64      uid,
          const char *outcome,
          const char *reason)
{
  HeraldMaildropItem *item = g_new0 (HeraldMaildropItem, 1);

  item->name = g_strdup (name);
  item->uid = uid;
  item->outcome = g_strdup (outcome);
  item->reason = g_strdup (reason);
  g_ptr_array_add (items, item);
  return item;
}

static const char *
file_kind (mode_t mode)
{
  if (S_ISLNK (mode))
    return _("a symbolic link");
  if (S_ISFIFO (mode))
    return _("a FIFO");
  if (S_ISDIR (mode))
    return _("a directory");
  if (S_ISSOCK (mode))
    return _("a socket");
  if (S_ISCHR (mode) || S_ISBLK (mode))
    return _("a device");
  return _("not a regular file");
}

/* Reads at most @max bytes; *truncated when there was more. */
static GBytes *
read_capped (int        fd,
             gsize      max,
             gboolean  *truncated,
             GError   **error)
{
  g_autoptr(GByteArray) buf = g_byte_array_new ();
  guint8 chunk[65536];

  *truncated = FALSE;
  for (;;)
    {
      ssize_t n = read (fd, chunk, sizeof chunk);

      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        {
          int saved = errno;

          g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved), "%s",
                       g_strerror (saved));
          return NULL;
        }
      if (n == 0)
        break;
      if (buf->len + (gsize) n > max)
        {
          g_byte_array_append (buf, chunk, (guint) (max - buf->len));
          *truncated = TRUE;
          break;
        }
      g_byte_array_append (buf, chunk, (guint) n);
    }
  return g_byte_array_free_to_bytes (g_steal_pointer (&buf));
}

/* A refused file is kept as a failed entry: the administrator sees who sent
 * what and why it went nowhere. */
static char *
store_failed (HeraldQueue                *queue,
              const HeraldMessageOptions *options,
              GBytes                     *content,
              char                      **recipients,
              gint64                      uid,
              const char                 *reason,
              GError                    **error)
{
  g_autoptr(HeraldQueueEntry) entry = herald_queue_entry_new ();
  g_autoptr(GBytes) kept = NULL;
  gsize length = content != NULL ? g_bytes_get_size (content) : 0;

  entry->state = HERALD_QUEUE_STATE_FAILED;
  entry->sender = g_strdup (options->profile_from);
  if (recipients != NULL && recipients[0] != NULL)
    entry->recipients = g_strdupv (recipients);
  else if (options->profile_recipients != NULL && options->profile_recipients[0] != NULL)
    entry->recipients = g_strdupv ((char **) options->profile_recipients);
  else
    entry->recipients = g_strdupv ((char *[]) { (char *) options->profile_from, NULL });
  entry->note = g_strdup (reason);
  entry->submitter_uid = uid;
  kept = content != NULL ? g_bytes_new_from_bytes (content, 0, MIN (length, KEPT_OF_REFUSED))
                         : g_bytes_new (NULL, 0);
  return herald_queue_add (queue, kept, entry, error);
}

static void
take_file (HeraldQueue                *queue,
           int                         dir_fd,
           const char                 *name,
           const HeraldMessageOptions *options,
           gint64                      relay_uid,
           GPtrArray                  *items)
{
  g_autoptr(GBytes) content = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(HeraldPreparedMessage) message = NULL;
  g_auto(GStrv) recipients = NULL;
  g_autofree char *client_address = NULL;
  g_autofree char *device_user = NULL;
  g_autofree char *reason = NULL;
  HeraldMaildropItem *item;
  HeraldMessageOptions prepare = *options;
  struct stat lst, st;
  gboolean truncated = FALSE;
  gsize offset = 0;
  gsize cap;
  int fd;

  /* Never follow it, never open anything but a regular file. */
  if (fstatat (dir_fd, name, &lst, AT_SYMLINK_NOFOLLOW) != 0)
    return;
  if (!S_ISREG (lst.st_mode) || lst.st_nlink != 1)
    {
      g_autofree char *why = g_strdup_printf (S_ISREG (lst.st_mode)
                                              ? _("removed: a file with other hard links")
                                              : _("removed: %s, not a message"),
                                              file_kind (lst.st_mode));

      if (unlinkat (dir_fd, name, S_ISDIR (lst.st_mode) ? AT_REMOVEDIR : 0) != 0)
        {
          g_free (why);
          why = g_strdup_printf (_("left: %s that cannot be removed (%s)"),
                                 file_kind (lst.st_mode), g_strerror (errno));
        }
      add_item (items, name, (gint64) lst.st_uid, "removed", why);
      return;
    }

  /* Not marked complete: its writer is still at it, or died. The runner
   * may not even be able to read it (only the mark gives root read access),
   * and need not: after an hour it is recorded as failed, unread. */
  if ((lst.st_mode & S_IXUSR) == 0)
    {
      gint64 age = g_get_real_time () / G_USEC_PER_SEC - (gint64) lst.st_mtime;
      g_autofree char *id = NULL;

      if (age < HERALD_MAILDROP_ABANDONED_SECONDS)
        {
          add_item (items, name, (gint64) lst.st_uid, "waiting", _("still being written"));
          return;
        }
      id = store_failed (queue, options, NULL, NULL, (gint64) lst.st_uid,
                         _("its writer never finished it (no complete mark after an hour)"),
                         &error);
      if (id == NULL)
        {
          g_autofree char *why = g_strdup_printf (_("cannot queue it: %s"), error->message);

          add_item (items, name, (gint64) lst.st_uid, "waiting", why);
          return;
        }
      item = add_item (items, name, (gint64) lst.st_uid, "failed",
                       _("its writer never finished it (no complete mark after an hour)"));
      item->id = g_steal_pointer (&id);
      if (unlinkat (dir_fd, name, 0) != 0)
        g_warning ("cannot remove the maildrop file %s: %s", name, g_strerror (errno));
      return;
    }

  fd = openat (dir_fd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
  if (fd < 0)
    {
      g_autofree char *why = g_strdup_printf (_("cannot open it: %s"), g_strerror (errno));

      add_item (items, name, (gint64) lst.st_uid, "waiting", why);
      return;
    }
  /* The same file as looked at, and still a regular one (it may have been
   * swapped in between). */
  if (fstat (fd, &st) != 0 || !S_ISREG (st.st_mode) || st.st_ino != lst.st_ino ||
      st.st_dev != lst.st_dev || st.st_nlink != 1)
    {
      close (fd);
      add_item (items, name, (gint64) lst.st_uid, "waiting",
                _("it changed while being looked at"));
      return;
    }


  cap = options->max_size > 0 ? options->max_size + HERALD_MAILDROP_MAX_HEADER
                              : G_MAXSIZE - 1;
  if (reason == NULL && (guint64) st.st_size > cap)
    {
      reason = g_strdup_printf (_("too big: %llu bytes, over the size cap of %llu "
                                  "(max-message-size); the first %d KiB are kept"),
                                (unsigned long long) st.st_size,
                                (unsigned long long) options->max_size, KEPT_OF_REFUSED / 1024);
      content = read_capped (fd, KEPT_OF_REFUSED, &truncated, &error);
    }
  else
    {
      content = read_capped (fd, cap, &truncated, &error);
      if (content != NULL && truncated && reason == NULL)
        reason = g_strdup_printf (_("too big: over the size cap of %llu bytes "
                                    "(max-message-size)"), (unsigned long long) options->max_size);
    }
  close (fd);
  if (content == NULL)
    {
      g_autofree char *why = g_strdup_printf (_("cannot read it: %s"), error->message);

      add_item (items, name, (gint64) st.st_uid, "waiting", why);
      return;
    }

  if (reason == NULL)
    {
      gsize length;
      const guint8 *data = g_bytes_get_data (content, &length);

      if (!herald_maildrop_parse_relayed (data, length, &recipients, &client_address,
                                          &device_user, &offset, &error))
        reason = g_strdup (error->message);
      else
        {
          /* Prepared again: the profile's From whatever the file says, no
           * recipient taken from its headers. */
          prepare.subject = NULL;
          prepare.extract = FALSE;
          prepare.envelope_from = NULL;
          prepare.full_name = NULL;
          prepare.recipients = (const char * const *) recipients;
          prepare.rewrite_from = TRUE;
          message = herald_message_prepare ((const char *) data + offset, length - offset,
                                            &prepare, &error);
          if (message == NULL)
            reason = g_strdup (error->message);
        }
      g_clear_error (&error);
    }

  if (message != NULL)
    {
      g_autoptr(HeraldQueueEntry) entry = herald_queue_entry_new ();
      g_autofree char *id = NULL;

      entry->state = HERALD_QUEUE_STATE_QUEUED;
      entry->sender = g_strdup (message->sender);
      entry->recipients = g_strdupv (message->recipients);
      entry->subject = g_strdup (message->subject);
      entry->message_id = g_strdup (message->message_id);
      entry->eight_bit = message->eight_bit;
      entry->submitter_uid = (gint64) st.st_uid;
      /* Any local user can write a client and a device line: only the
       * relay's own files say which device submitted. */
      if (relay_uid > 0 && (gint64) st.st_uid == relay_uid)
        {
          entry->client_address = g_steal_pointer (&client_address);
          entry->device_user = g_steal_pointer (&device_user);
        }
      id = herald_queue_add (queue, message->data, entry, &error);
      if (id == NULL)
        {
          g_autofree char *why = g_strdup_printf (_("cannot queue it: %s"), error->message);

          add_item (items, name, (gint64) st.st_uid, "waiting", why);
          return;
        }
      item = add_item (items, name, (gint64) st.st_uid, "queued", NULL);
      item->id = g_steal_pointer (&id);
    }
  else
    {
      g_autofree char *id = store_failed (queue, options, content, recipients,
                                          (gint64) st.st_uid, reason, &error);

      if (id == NULL)
        {
          g_autofree char *why = g_strdup_printf (_("cannot queue it: %s"), error->message);

          add_item (items, name, (gint64) st.st_uid, "waiting", why);
          return;
        }
      item = add_item (items, name, (gint64) st.st_uid, "failed", reason);
      item->id = g_steal_pointer (&id);
    }

  /* The entry is durable (herald_queue_add syncs it): now the file goes. */
  if (unlinkat (dir_fd, name, 0) != 0)
    g_warning ("cannot remove the maildrop file %s after queueing it: %s", name,
               g_strerror (errno));
}

GPtrArray *
herald_maildrop_ingest (HeraldQueue                *queue,
                        const char                 *maildrop_dir,
                        const HeraldMessageOptions *options,
                        gint64                      relay_uid,
                        GError                    **error)
{
  g_autoptr(GPtrArray) items = g_ptr_array_new_with_free_func (
    (GDestroyNotify) herald_maildrop_item_free);
  g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func (g_free);
  struct dirent *d;
  DIR *dir;
  int dir_fd;

  g_return_val_if_fail (HERALD_IS_QUEUE (queue), NULL);
  g_return_val_if_fail (maildrop_dir != NULL && options != NULL, NULL);

  dir_fd = open (maildrop_dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (dir_fd < 0)
    {
      int saved = errno;

      if (saved == ENOENT)
        return g_steal_pointer (&items);
      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved),
                   _("cannot read the maildrop %s: %s"), maildrop_dir, g_strerror (saved));
      return NULL;
    }
  dir = fdopendir (dup (dir_fd));
  if (dir == NULL)
    {
      int saved = errno;

      close (dir_fd);
      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved),
                   _("cannot read the maildrop %s: %s"), maildrop_dir, g_strerror (saved));
      return NULL;
    }
  while ((d = readdir (dir)) != NULL)
    if (strcmp (d->d_name, ".") != 0 && strcmp (d->d_name, "..") != 0)
      g_ptr_array_add (names, g_strdup (d->d_name));
  closedir (dir);

  /* Oldest names first would need a stat each; the queue orders by its own
   * ids anyway. Sorted for a stable order. */
  g_ptr_array_sort (names, (GCompareFunc) g_strcmp0);
  for (guint i = 0; i < names->len; i++)
    take_file (queue, dir_fd, g_ptr_array_index (names, i), options, relay_uid, items);
  close (dir_fd);

  return g_steal_pointer (&items);
}
