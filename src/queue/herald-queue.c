/* SPDX-License-Identifier: GPL-3.0-or-later
 * Copyright 2026 The Herald authors
 */
#define G_LOG_DOMAIN "herald-queue"
#define _GNU_SOURCE  /* syncfs() */

#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <glib/gi18n.h>
#include <glib/gstdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "herald-queue.h"

#define META_GROUP        "herald-queue"
#define ERROR_GROUP       "last-error"
#define META_VERSION      1
#define MAX_META_SIZE     (256 * 1024)
#define MAX_RECIPIENTS    1000
#define STALE_SECONDS     3600
#define LOCK_NAME         ".flush.lock"

struct _HeraldQueue
{
  GObject  parent_instance;

  char    *directory;
  char    *tmp_directory;
  int      lock_fd;
  gboolean ensured;   /* both directories were there at the last look */
};

G_DEFINE_FINAL_TYPE (HeraldQueue, herald_queue, G_TYPE_OBJECT)

static const char * const state_names[] = { "queued", "held", "sending", "failed" };

const char *
herald_queue_state_to_string (HeraldQueueState state)
{
  if ((guint) state < G_N_ELEMENTS (state_names))
    return state_names[state];
  return "failed";
}

gboolean
herald_queue_state_from_string (const char       *str,
                                HeraldQueueState *out)
{
  for (guint i = 0; str != NULL && i < G_N_ELEMENTS (state_names); i++)
    if (g_str_equal (str, state_names[i]))
      {
        *out = (HeraldQueueState) i;
        return TRUE;
      }
  return FALSE;
}

/* ---- entries ------------------------------------------------------------------- */

HeraldQueueError *
herald_queue_error_copy (const HeraldQueueError *error)
{
  HeraldQueueError *copy;

  if (error == NULL)
    return NULL;
  copy = g_new0 (HeraldQueueError, 1);
  copy->stage = g_strdup (error->stage);
  copy->error = g_strdup (error->error);
  copy->reply_code = error->reply_code;
  copy->reply_enhanced = g_strdup (error->reply_enhanced);
  copy->reply_text = g_strdup (error->reply_text);
  copy->diagnosis_id = g_strdup (error->diagnosis_id);
  copy->diagnosis_title = g_strdup (error->diagnosis_title);
  copy->diagnosis_actor = g_strdup (error->diagnosis_actor);
  return copy;
}

void
herald_queue_error_free (HeraldQueueError *error)
{
  if (error == NULL)
    return;
  g_free (error->stage);
  g_free (error->error);
  g_free (error->reply_enhanced);
  g_free (error->reply_text);
  g_free (error->diagnosis_id);
  g_free (error->diagnosis_title);
  g_free (error->diagnosis_actor);
  g_free (error);
}

HeraldQueueEntry *
herald_queue_entry_new (void)
{
  HeraldQueueEntry *entry = g_new0 (HeraldQueueEntry, 1);

  entry->submitter_uid = -1;
  return entry;
}

HeraldQueueEntry *
herald_queue_entry_copy (const HeraldQueueEntry *entry)
{
  HeraldQueueEntry *copy;

  g_return_val_if_fail (entry != NULL, NULL);

  copy = g_memdup2 (entry, sizeof *entry);
  copy->id = g_strdup (entry->id);
  copy->sender = g_strdup (entry->sender);
  copy->recipients = g_strdupv (entry->recipients);
  copy->subject = g_strdup (entry->subject);
  copy->message_id = g_strdup (entry->message_id);
  copy->note = g_strdup (entry->note);
  copy->client_address = g_strdup (entry->client_address);
  copy->device_user = g_strdup (entry->device_user);
  copy->last_error = herald_queue_error_copy (entry->last_error);
  return copy;
}

void
herald_queue_entry_free (HeraldQueueEntry *entry)
{
  if (entry == NULL)
    return;
  g_free (entry->id);
  g_free (entry->sender);
  g_strfreev (entry->recipients);
  g_free (entry->subject);
  g_free (entry->message_id);
  g_free (entry->note);
  g_free (entry->client_address);
  g_free (entry->device_user);
  herald_queue_error_free (entry->last_error);
  g_free (entry);
}

gboolean
herald_queue_id_is_valid (const char *id)
{
  gsize n;

  if (id == NULL)
    return FALSE;
  n = strlen (id);
  if (n < 16 || n > 32)
    return FALSE;
  for (gsize i = 0; i < n; i++)
    if (!g_ascii_isxdigit (id[i]) || g_ascii_isupper (id[i]))
      return FALSE;
  return TRUE;
}

gint64
herald_queue_backoff (HeraldQueueState state,
                      guint            attempts)
{
  gint64 minutes;

  if (state == HERALD_QUEUE_STATE_HELD)
    return 60 * 60;

  /* 1, 2, 4, 8… minutes after the 1st, 2nd, 3rd… failed attempt. */
  minutes = attempts <= 1 ? 1 : (attempts - 1 >= 6 ? 60 : (gint64) 1 << (attempts - 1));
  return MIN (minutes, 60) * 60;
}

/* Every text is stored as one line of valid UTF-8 (the reader refuses
 * anything else): a multi-line server reply becomes one line. */
static void
set_optional (GKeyFile   *kf,
              const char *group,
              const char *key,
              const char *value)
{
  g_autofree char *clean = NULL;

  if (value == NULL)
    return;
  clean = g_utf8_make_valid (value, -1);
  if (strlen (clean) > 4000)
    clean[g_utf8_find_prev_char (clean, clean + 4000) - clean] = '\0';
  g_strdelimit (clean, "\r\n", ' ');
  g_key_file_set_string (kf, group, key, clean);
}

char *
herald_queue_entry_serialize (const HeraldQueueEntry *entry,
                              gsize                  *length)
{
  g_autoptr(GKeyFile) kf = g_key_file_new ();

  g_return_val_if_fail (entry != NULL, NULL);

  g_key_file_set_integer (kf, META_GROUP, "version", META_VERSION);
  g_key_file_set_string (kf, META_GROUP, "id", entry->id);
  g_key_file_set_string (kf, META_GROUP, "state", herald_queue_state_to_string (entry->state));
  g_key_file_set_int64 (kf, META_GROUP, "created", entry->created);
  g_key_file_set_uint64 (kf, META_GROUP, "attempts", entry->attempts);
  g_key_file_set_int64 (kf, META_GROUP, "next-attempt", entry->next_attempt);
  set_optional (kf, META_GROUP, "sender", entry->sender != NULL ? entry->sender : "");
  g_key_file_set_string_list (kf, META_GROUP, "recipients",
                              (const char * const *) entry->recipients,
                              entry->recipients != NULL ? g_strv_length (entry->recipients) : 0);
  set_optional (kf, META_GROUP, "subject", entry->subject);
  set_optional (kf, META_GROUP, "message-id", entry->message_id);
  g_key_file_set_uint64 (kf, META_GROUP, "size", entry->size);
  g_key_file_set_boolean (kf, META_GROUP, "eight-bit", entry->eight_bit);
  g_key_file_set_boolean (kf, META_GROUP, "maybe-duplicate", entry->maybe_duplicate);
  set_optional (kf, META_GROUP, "note", entry->note);
  if (entry->submitter_uid >= 0)
    g_key_file_set_int64 (kf, META_GROUP, "submitter-uid", entry->submitter_uid);
  set_optional (kf, META_GROUP, "client-address", entry->client_address);
  set_optional (kf, META_GROUP, "device-user", entry->device_user);

  if (entry->last_error != NULL)
    {
      const HeraldQueueError *e = entry->last_error;

      set_optional (kf, ERROR_GROUP, "stage", e->stage);
      set_optional (kf, ERROR_GROUP, "error", e->error);
      g_key_file_set_integer (kf, ERROR_GROUP, "reply-code", e->reply_code);
      set_optional (kf, ERROR_GROUP, "reply-enhanced", e->reply_enhanced);
      set_optional (kf, ERROR_GROUP, "reply-text", e->reply_text);
      set_optional (kf, ERROR_GROUP, "diagnosis-id", e->diagnosis_id);
      set_optional (kf, ERROR_GROUP, "diagnosis-title", e->diagnosis_title);
      set_optional (kf, ERROR_GROUP, "diagnosis-actor", e->diagnosis_actor);
    }

  return g_key_file_to_data (kf, length, NULL);
}

static gboolean
damaged (GError     **error,
         const char  *what)
{
  g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
               _("damaged queue metadata: %s"), what);
  return FALSE;
}

/* A string that must be valid UTF-8 without line breaks or NULs (it came
 * from a file anybody with access to the directory may have changed). */
static char *
get_text (GKeyFile   *kf,
          const char *group,
          const char *key,
          gboolean    required,
          gboolean   *ok)
{
  g_autofree char *value = g_key_file_get_string (kf, group, key, NULL);

  if (value == NULL)
    {
      if (required)
        *ok = FALSE;
      return NULL;
    }
  if (!g_utf8_validate (value, -1, NULL) || strpbrk (value, "\r\n") != NULL ||
      strlen (value) > 4096)
    {
      *ok = FALSE;
      return NULL;
    }
  return g_steal_pointer (&value);
}

static gboolean
is_address (const char *s)
{
  /* The envelope: no spaces, no angle brackets, one @ not at either end. */
  const char *at;

  if (s == NULL || s[0] == '\0' || strpbrk (s, " \t<>\"") != NULL)
    return FALSE;
  at = strrchr (s, '@');
  return at != NULL && at != s && at[1] != '\0';
}

HeraldQueueEntry *
herald_queue_entry_parse (const char  *data,
                          gsize        length,
                          GError     **error)
{
  g_autoptr(GKeyFile) kf = g_key_file_new ();
  g_autoptr(HeraldQueueEntry) entry = herald_queue_entry_new ();
  g_autofree char *state = NULL;
  g_autoptr(GError) local = NULL;
  gboolean ok = TRUE;
  gsize n_recipients = 0;
  gint64 version;

  if (data == NULL || length > MAX_META_SIZE || memchr (data, '\0', length) != NULL)
    return damaged (error, _("not a text file of sensible size")), NULL;
  if (!g_key_file_load_from_data (kf, data, length, G_KEY_FILE_NONE, &local))
    return damaged (error, local->message), NULL;

  version = g_key_file_get_int64 (kf, META_GROUP, "version", &local);
  if (local != NULL || version != META_VERSION)
    return damaged (error, _("unknown version")), NULL;

  entry->id = get_text (kf, META_GROUP, "id", TRUE, &ok);
  if (!ok || !herald_queue_id_is_valid (entry->id))
    return damaged (error, _("bad id")), NULL;

  state = get_text (kf, META_GROUP, "state", TRUE, &ok);
  if (!ok || !herald_queue_state_from_string (state, &entry->state))
    return damaged (error, _("bad state")), NULL;

  entry->created = g_key_file_get_int64 (kf, META_GROUP, "created", &local);
  if (local != NULL || entry->created < 0)
    return damaged (error, _("bad creation time")), NULL;
  {
    guint64 attempts = g_key_file_get_uint64 (kf, META_GROUP, "attempts", &local);

    if (local != NULL || attempts > 1000000)
      return damaged (error, _("bad attempt count")), NULL;
    entry->attempts = (guint) attempts;
  }
  entry->next_attempt = g_key_file_get_int64 (kf, META_GROUP, "next-attempt", &local);
  if (local != NULL || entry->next_attempt < 0)
    return damaged (error, _("bad next attempt")), NULL;

  entry->sender = get_text (kf, META_GROUP, "sender", TRUE, &ok);
  if (!ok || !is_address (entry->sender))
    return damaged (error, _("bad sender")), NULL;

  entry->recipients = g_key_file_get_string_list (kf, META_GROUP, "recipients", &n_recipients,
                                                  &local);
  if (local != NULL || entry->recipients == NULL || n_recipients == 0 ||
      n_recipients > MAX_RECIPIENTS)
    return damaged (error, _("bad recipients")), NULL;
  for (gsize i = 0; i < n_recipients; i++)
    if (!g_utf8_validate (entry->recipients[i], -1, NULL) || !is_address (entry->recipients[i]) ||
        strpbrk (entry->recipients[i], "\r\n") != NULL)
      return damaged (error, _("bad recipients")), NULL;

  entry->subject = get_text (kf, META_GROUP, "subject", FALSE, &ok);
  entry->message_id = get_text (kf, META_GROUP, "message-id", FALSE, &ok);
  entry->note = get_text (kf, META_GROUP, "note", FALSE, &ok);
  entry->client_address = get_text (kf, META_GROUP, "client-address", FALSE, &ok);
  entry->device_user = get_text (kf, META_GROUP, "device-user", FALSE, &ok);
  if (!ok)
    return damaged (error, _("bad text field")), NULL;
  entry->size = g_key_file_get_uint64 (kf, META_GROUP, "size", &local);
  if (local != NULL)
    return damaged (error, _("bad size")), NULL;
  entry->eight_bit = g_key_file_get_boolean (kf, META_GROUP, "eight-bit", NULL);
  entry->maybe_duplicate = g_key_file_get_boolean (kf, META_GROUP, "maybe-duplicate", NULL);
  entry->submitter_uid = -1;
  if (g_key_file_has_key (kf, META_GROUP, "submitter-uid", NULL))
    {
      entry->submitter_uid = g_key_file_get_int64 (kf, META_GROUP, "submitter-uid", &local);
      if (local != NULL || entry->submitter_uid < 0 || entry->submitter_uid > G_MAXUINT32)
        return damaged (error, _("bad submitter")), NULL;
    }

  if (g_key_file_has_group (kf, ERROR_GROUP))
    {
      HeraldQueueError *e = g_new0 (HeraldQueueError, 1);
      gint code;

      entry->last_error = e;
      e->stage = get_text (kf, ERROR_GROUP, "stage", FALSE, &ok);
      e->error = get_text (kf, ERROR_GROUP, "error", FALSE, &ok);
      e->reply_enhanced = get_text (kf, ERROR_GROUP, "reply-enhanced", FALSE, &ok);
      e->reply_text = get_text (kf, ERROR_GROUP, "reply-text", FALSE, &ok);
      e->diagnosis_id = get_text (kf, ERROR_GROUP, "diagnosis-id", FALSE, &ok);
      e->diagnosis_title = get_text (kf, ERROR_GROUP, "diagnosis-title", FALSE, &ok);
      e->diagnosis_actor = get_text (kf, ERROR_GROUP, "diagnosis-actor", FALSE, &ok);
      code = g_key_file_get_integer (kf, ERROR_GROUP, "reply-code", NULL);
      if (!ok || code < 0 || code > 999)
        return damaged (error, _("bad last error")), NULL;
      e->reply_code = code;
    }

  return g_steal_pointer (&entry);
}

/* ---- files --------------------------------------------------------------------- */

static void
herald_queue_finalize (GObject *object)
{
  HeraldQueue *self = HERALD_QUEUE (object);

  herald_queue_unlock (self);
  g_free (self->directory);
  g_free (self->tmp_directory);

  G_OBJECT_CLASS (herald_queue_parent_class)->finalize (object);
}

static void
herald_queue_class_init (HeraldQueueClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = herald_queue_finalize;
}

static void
herald_queue_init (HeraldQueue *self)
{
  self->lock_fd = -1;
}

HeraldQueue *
herald_queue_new (const char *directory)
{
  HeraldQueue *self;

  g_return_val_if_fail (directory != NULL, NULL);

  self = g_object_new (HERALD_TYPE_QUEUE, NULL);
  self->directory = g_strdup (directory);
  self->tmp_directory = g_build_filename (directory, "tmp", NULL);
  return self;
}

const char *
herald_queue_get_directory (HeraldQueue *self)
{
  g_return_val_if_fail (HERALD_IS_QUEUE (self), NULL);
  return self->directory;
}

static gboolean
set_errno_error (GError     **error,
                 int          saved_errno,
                 const char  *format,
                 ...) G_GNUC_PRINTF (3, 4);

/* Sets a G_IO_ERROR for @saved_errno: "<format…>: <strerror>". */
static gboolean
set_errno_error (GError     **error,
                 int          saved_errno,
                 const char  *format,
                 ...)
{
  int code = g_io_error_from_errno (saved_errno);
  g_autofree char *what = NULL;
  va_list args;

  /* A file-size limit is a kind of full disk for whoever asked. */
  if (saved_errno == EFBIG || saved_errno == EDQUOT)
    code = G_IO_ERROR_NO_SPACE;
  va_start (args, format);
  what = g_strdup_vprintf (format, args);
  va_end (args);
  g_set_error (error, G_IO_ERROR, code, "%s: %s", what, g_strerror (saved_errno));
  return FALSE;
}

static gboolean
fsync_directory (const char  *path,
                 GError     **error)
{
  int fd = open (path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  int saved;

  if (fd < 0)
    return set_errno_error (error, errno, _("cannot open %s"), path);
  if (fsync (fd) != 0)
    {
      saved = errno;
      close (fd);
      return set_errno_error (error, saved, _("cannot sync %s"), path);
    }
  close (fd);
  return TRUE;
}

gboolean
herald_queue_ensure (HeraldQueue  *self,
                     GError      **error)
{
  g_return_val_if_fail (HERALD_IS_QUEUE (self), FALSE);

  if (g_mkdir_with_parents (self->directory, 0700) != 0)
    return set_errno_error (error, errno, _("cannot create the queue directory %s"),
                            self->directory);
  if (g_mkdir (self->tmp_directory, 0700) != 0 && errno != EEXIST)
    return set_errno_error (error, errno, _("cannot create %s"), self->tmp_directory);
  return TRUE;
}

/* Writes @data to a new file @path (which must not exist) and fsyncs it.
 * On error the file is removed. */
static gboolean
write_file (const char  *path,
            const void  *data,
            gsize        length,
            gboolean     sync,
            GError     **error)
{
  const guint8 *p = data;
  int fd = open (path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
  int saved;

  if (fd < 0)
    return set_errno_error (error, errno, _("cannot create %s"), path);

  while (length > 0)
    {
      ssize_t n = write (fd, p, MIN (length, 1 << 20));

      if (n < 0 && errno == EINTR)
        continue;
      if (n <= 0)
        {
          saved = n < 0 ? errno : ENOSPC;
          goto fail;
        }
      p += n;
      length -= (gsize) n;
    }
  if (sync && fsync (fd) != 0)
    {
      saved = errno;
      goto fail;
    }
  if (close (fd) != 0)
    {
      fd = -1;
      saved = errno;
      goto fail;
    }
  return TRUE;

fail:
  if (fd >= 0)
    close (fd);
  g_unlink (path);
  return set_errno_error (error, saved, _("cannot write %s"), path);
}

static gboolean
write_durable (const char  *path,
               const void  *data,
               gsize        length,
               GError     **error)
{
  return write_file (path, data, length, TRUE, error);
}

static char *
new_id (void)
{
  /* Microseconds since the epoch (sortable, 13 hex digits for centuries)
   * and 32 random bits: unique across concurrent senders. */
  return g_strdup_printf ("%013" G_GINT64_MODIFIER "x%08x", g_get_real_time (),
                          g_random_int ());
}

static char *
entry_path (HeraldQueue *self,
            const char  *id,
            const char  *suffix)
{
  g_autofree char *name = g_strconcat (id, suffix, NULL);

  return g_build_filename (self->directory, name, NULL);
}

char *
herald_queue_add (HeraldQueue       *self,
                  GBytes            *message,
                  HeraldQueueEntry  *entry,
                  GError           **error)
{
  g_autofree char *id = NULL;
  g_autofree char *tmp_msg = NULL, *tmp_meta = NULL, *msg = NULL, *meta = NULL;
  g_autofree char *text = NULL;
  gsize text_length, size;
  const void *bytes;

  g_return_val_if_fail (HERALD_IS_QUEUE (self), NULL);
  g_return_val_if_fail (message != NULL && entry != NULL, NULL);

  if (!herald_queue_ensure (self, error))
    return NULL;

  id = new_id ();
  g_free (entry->id);
  entry->id = g_strdup (id);
  entry->created = g_get_real_time () / G_USEC_PER_SEC;
  bytes = g_bytes_get_data (message, &size);
  entry->size = size;

  tmp_msg = g_build_filename (self->tmp_directory, id, NULL);
  tmp_meta = g_strconcat (tmp_msg, ".meta", NULL);
  msg = entry_path (self, id, ".msg");
  meta = entry_path (self, id, ".meta");
  text = herald_queue_entry_serialize (entry, &text_length);

  if (!write_durable (tmp_msg, bytes, size, error))
    return NULL;
  if (!write_durable (tmp_meta, text, text_length, error))
    {
      g_unlink (tmp_msg);
      return NULL;
    }
  /* The message first: an entry exists once its metadata does. */
  if (g_rename (tmp_msg, msg) != 0)
    {
      set_errno_error (error, errno, _("cannot move %s into the queue"), tmp_msg);
      g_unlink (tmp_msg);
      g_unlink (tmp_meta);
      return NULL;
    }
  if (g_rename (tmp_meta, meta) != 0)
    {
      set_errno_error (error, errno, _("cannot move %s into the queue"), tmp_meta);
      g_unlink (msg);
      g_unlink (tmp_meta);
      return NULL;
    }
  if (!fsync_directory (self->directory, error))
    {
      /* Not known to be durable: take it back so the caller's failure
       * status is the truth. */
      g_unlink (meta);
      g_unlink (msg);
      return NULL;
    }

  return g_steal_pointer (&id);
}

static gboolean
read_small_file (const char  *path,
                 char       **contents,
                 gsize       *length,
                 GError     **error)
{
  int fd = open (path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  struct stat st;
  g_autofree char *buf = NULL;
  gsize done = 0;

  if (fd < 0)
    return set_errno_error (error, errno, _("cannot open %s"), path);
  if (fstat (fd, &st) != 0 || !S_ISREG (st.st_mode) || st.st_size > MAX_META_SIZE)
    {
      close (fd);
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                   _("%s is not a regular file of sensible size"), path);
      return FALSE;
    }
  buf = g_malloc ((gsize) st.st_size + 1);
  while (done < (gsize) st.st_size)
    {
      ssize_t n = read (fd, buf + done, (gsize) st.st_size - done);

      if (n < 0 && errno == EINTR)
        continue;
      if (n <= 0)
        break;
      done += (gsize) n;
    }
  close (fd);
  buf[done] = '\0';
  *contents = g_steal_pointer (&buf);
  *length = done;
  return TRUE;
}

HeraldQueueEntry *
herald_queue_get (HeraldQueue  *self,
                  const char   *id,
                  GError      **error)
{
  g_autofree char *path = NULL;
  g_autofree char *data = NULL;
  gsize length = 0;
  HeraldQueueEntry *entry;

  g_return_val_if_fail (HERALD_IS_QUEUE (self), NULL);

  if (!herald_queue_id_is_valid (id))
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND, _("no message “%s” in the queue"),
                   id != NULL ? id : "");
      return NULL;
    }
  path = entry_path (self, id, ".meta");
  if (!g_file_test (path, G_FILE_TEST_EXISTS))
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND, _("no message “%s” in the queue"), id);
      return NULL;
    }
  if (!read_small_file (path, &data, &length, error))
    return NULL;
  entry = herald_queue_entry_parse (data, length, error);
  if (entry != NULL && !g_str_equal (entry->id, id))
    {
      herald_queue_entry_free (entry);
      return damaged (error, _("the id does not match the file name")), NULL;
    }
  return entry;
}

GBytes *
herald_queue_read_message (HeraldQueue  *self,
                           const char   *id,
                           GError      **error)
{
  g_autofree char *path = NULL;
  g_autofree char *data = NULL;
  gsize length = 0;

  g_return_val_if_fail (HERALD_IS_QUEUE (self), NULL);

  if (!herald_queue_id_is_valid (id))
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND, _("no message “%s” in the queue"),
                   id != NULL ? id : "");
      return NULL;
    }
  path = entry_path (self, id, ".msg");
  /* Read, not mapped: a mapping outliving a drop would fault, and a flush
   * reads hundreds of small files, for which mmap and munmap (with its
   * TLB flush on every thread) cost more than a read. */
  if (!g_file_get_contents (path, &data, &length, error))
    return NULL;
  return g_bytes_new_take (g_steal_pointer (&data), length);
}

static int
compare_entries (gconstpointer a,
                 gconstpointer b)
{
  const HeraldQueueEntry *ea = *(HeraldQueueEntry * const *) a;
  const HeraldQueueEntry *eb = *(HeraldQueueEntry * const *) b;

  return g_strcmp0 (ea->id, eb->id);
}

GPtrArray *
herald_queue_list (HeraldQueue  *self,
                   GPtrArray   **damaged_ids,
                   GError      **error)
{
  g_autoptr(GPtrArray) entries = g_ptr_array_new_with_free_func ((GDestroyNotify) herald_queue_entry_free);
  g_autoptr(GDir) dir = NULL;
  g_autoptr(GError) local = NULL;
  const char *name;

  g_return_val_if_fail (HERALD_IS_QUEUE (self), NULL);

  if (damaged_ids != NULL)
    *damaged_ids = g_ptr_array_new_with_free_func (g_free);

  dir = g_dir_open (self->directory, 0, &local);
  if (dir == NULL)
    {
      /* No directory yet: an empty queue. */
      if (g_error_matches (local, G_FILE_ERROR, G_FILE_ERROR_NOENT))
        return g_steal_pointer (&entries);
      g_propagate_error (error, g_steal_pointer (&local));
      return NULL;
    }

  while ((name = g_dir_read_name (dir)) != NULL)
    {
      g_autofree char *id = NULL;
      g_autoptr(GError) entry_error = NULL;
      HeraldQueueEntry *entry;

      if (!g_str_has_suffix (name, ".meta"))
        continue;
      id = g_strndup (name, strlen (name) - 5);
      if (!herald_queue_id_is_valid (id))
        continue;
      entry = herald_queue_get (self, id, &entry_error);
      if (entry != NULL)
        g_ptr_array_add (entries, entry);
      else if (g_error_matches (entry_error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND))
        continue;  /* removed while we looked */
      else if (damaged_ids != NULL)
        g_ptr_array_add (*damaged_ids, g_steal_pointer (&id));
    }

  g_ptr_array_sort (entries, compare_entries);
  return g_steal_pointer (&entries);
}

static gboolean
update (HeraldQueue             *self,
        const HeraldQueueEntry  *entry,
        gboolean                 sync,
        GError                 **error)
{
  g_autofree char *text = NULL;
  g_autofree char *tmp = NULL, *meta = NULL, *tmp_name = NULL;
  gsize length;

  g_return_val_if_fail (HERALD_IS_QUEUE (self), FALSE);
  g_return_val_if_fail (entry != NULL && herald_queue_id_is_valid (entry->id), FALSE);

  /* A flush marks hundreds of entries: the directories are looked at once
   * (a failed write looks again next time). */
  if (!self->ensured && !herald_queue_ensure (self, error))
    return FALSE;
  self->ensured = TRUE;

  text = herald_queue_entry_serialize (entry, &length);
  tmp_name = g_strdup_printf ("%s.meta.%08x", entry->id, g_random_int ());
  tmp = g_build_filename (self->tmp_directory, tmp_name, NULL);
  meta = entry_path (self, entry->id, ".meta");

  if (!write_file (tmp, text, length, sync, error))
    {
      self->ensured = FALSE;
      return FALSE;
    }
  if (g_rename (tmp, meta) != 0)
    {
      set_errno_error (error, errno, _("cannot update %s"), meta);
      g_unlink (tmp);
      self->ensured = FALSE;
      return FALSE;
    }
  return !sync || fsync_directory (self->directory, error);
}

gboolean
herald_queue_update (HeraldQueue             *self,
                     const HeraldQueueEntry  *entry,
                     GError                 **error)
{
  return update (self, entry, TRUE, error);
}

gboolean
herald_queue_update_unsynced (HeraldQueue             *self,
                              const HeraldQueueEntry  *entry,
                              GError                 **error)
{
  return update (self, entry, FALSE, error);
}

static gboolean
remove_entry (HeraldQueue  *self,
              const char   *id,
              gboolean      sync,
              GError      **error)
{
  g_autofree char *meta = NULL, *msg = NULL;

  g_return_val_if_fail (HERALD_IS_QUEUE (self), FALSE);

  if (!herald_queue_id_is_valid (id))
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND, _("no message “%s” in the queue"),
                   id != NULL ? id : "");
      return FALSE;
    }
  meta = entry_path (self, id, ".meta");
  msg = entry_path (self, id, ".msg");
  if (g_unlink (meta) != 0)
    {
      if (errno == ENOENT)
        g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND, _("no message “%s” in the queue"), id);
      else
        set_errno_error (error, errno, _("cannot remove %s"), meta);
      return FALSE;
    }
  g_unlink (msg);
  return !sync || fsync_directory (self->directory, error);
}

gboolean
herald_queue_remove (HeraldQueue  *self,
                     const char   *id,
                     GError      **error)
{
  return remove_entry (self, id, TRUE, error);
}

gboolean
herald_queue_remove_unsynced (HeraldQueue  *self,
                              const char   *id,
                              GError      **error)
{
  return remove_entry (self, id, FALSE, error);
}

gboolean
herald_queue_sync (HeraldQueue  *self,
                   GError      **error)
{
  int fd;

  g_return_val_if_fail (HERALD_IS_QUEUE (self), FALSE);

  /* One syncfs() for the whole run instead of one fsync() per file. */
  fd = open (self->directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0)
    return set_errno_error (error, errno, _("cannot open %s"), self->directory);
  if (syncfs (fd) != 0)
    {
      int saved = errno;

      close (fd);
      return set_errno_error (error, saved, _("cannot sync %s"), self->directory);
    }
  close (fd);
  return TRUE;
}

static void
clean_directory (const char *path,
                 gboolean    orphans_only)
{
  g_autoptr(GDir) dir = g_dir_open (path, 0, NULL);
  gint64 now = g_get_real_time () / G_USEC_PER_SEC;
  const char *name;

  while (dir != NULL && (name = g_dir_read_name (dir)) != NULL)
    {
      g_autofree char *file = NULL;
      struct stat st;

      /* Only message files can be orphans: the metadata is not looked at. */
      if (orphans_only && !g_str_has_suffix (name, ".msg"))
        continue;
      file = g_build_filename (path, name, NULL);
      if (lstat (file, &st) != 0 || !S_ISREG (st.st_mode) || now - st.st_mtime < STALE_SECONDS)
        continue;
      if (orphans_only)
        {
          g_autofree char *base = NULL, *meta = NULL;

          base = g_strndup (file, strlen (file) - 4);
          meta = g_strconcat (base, ".meta", NULL);
          if (g_file_test (meta, G_FILE_TEST_EXISTS))
            continue;
        }
      g_unlink (file);
    }
}

void
herald_queue_clean (HeraldQueue *self)
{
  g_return_if_fail (HERALD_IS_QUEUE (self));

  clean_directory (self->tmp_directory, FALSE);
  clean_directory (self->directory, TRUE);
}

gboolean
herald_queue_lock (HeraldQueue  *self,
                   gboolean      wait,
                   GError      **error)
{
  g_autofree char *path = NULL;
  int fd;

  g_return_val_if_fail (HERALD_IS_QUEUE (self), FALSE);

  if (self->lock_fd >= 0)
    return TRUE;
  if (!herald_queue_ensure (self, error))
    return FALSE;

  path = g_build_filename (self->directory, LOCK_NAME, NULL);
  fd = open (path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0)
    return set_errno_error (error, errno, _("cannot open the queue lock %s"), path);

  for (guint i = 0;; i++)
    {
      if (flock (fd, LOCK_EX | LOCK_NB) == 0)
        break;
      if (errno != EWOULDBLOCK && errno != EINTR)
        {
          int saved = errno;

          close (fd);
          return set_errno_error (error, saved, _("cannot lock %s"), path);
        }
      if (!wait || i >= 600)
        {
          close (fd);
          g_set_error (error, G_IO_ERROR, G_IO_ERROR_BUSY,
                       _("another heraldctl is flushing the queue"));
          return FALSE;
        }
      g_usleep (100 * 1000);
    }

  self->lock_fd = fd;
  return TRUE;
}

void
herald_queue_unlock (HeraldQueue *self)
{
  g_return_if_fail (HERALD_IS_QUEUE (self));

  if (self->lock_fd >= 0)
    {
      flock (self->lock_fd, LOCK_UN);
      close (self->lock_fd);
      self->lock_fd = -1;
    }
}
