/* SPDX-License-Identifier: GPL-3.0-or-later
 * Copyright 2026 The Herald authors
 */
#include "config.h"

#include <errno.h>
#include <glib/gstdio.h>
#include <signal.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <utime.h>

#include "herald-queue.h"

/* The queue's files: atomic entries, the metadata reader on damaged input,
 * the back-off, the lock, and a file-size limit while queueing. */

typedef struct {
  char        *dir;
  HeraldQueue *queue;
} Fixture;

static void
fixture_setup (Fixture       *f,
               gconstpointer  data)
{
  g_autofree char *base = g_dir_make_tmp ("herald-queue-XXXXXX", NULL);

  g_assert_nonnull (base);
  f->dir = g_build_filename (base, "queue", NULL);
  f->queue = herald_queue_new (f->dir);
}

static void
remove_tree (const char *path)
{
  g_autoptr(GDir) dir = g_dir_open (path, 0, NULL);
  const char *name;

  while (dir != NULL && (name = g_dir_read_name (dir)) != NULL)
    {
      g_autofree char *child = g_build_filename (path, name, NULL);

      if (g_file_test (child, G_FILE_TEST_IS_DIR) && !g_file_test (child, G_FILE_TEST_IS_SYMLINK))
        remove_tree (child);
      else
        g_unlink (child);
    }
  g_rmdir (path);
}

static void
fixture_teardown (Fixture       *f,
                  gconstpointer  data)
{
  g_autofree char *base = g_path_get_dirname (f->dir);

  g_assert_finalize_object (f->queue);
  remove_tree (base);
  g_free (f->dir);
}

static HeraldQueueEntry *
sample_entry (void)
{
  HeraldQueueEntry *e = herald_queue_entry_new ();
  const char *recipients[] = { "bob@example.com", "carol@example.org", NULL };

  e->state = HERALD_QUEUE_STATE_QUEUED;
  e->sender = g_strdup ("alerts@example.com");
  e->recipients = g_strdupv ((char **) recipients);
  e->subject = g_strdup ("Disk full on “web1”");
  e->message_id = g_strdup ("abc.123@example.com");
  return e;
}

/* Names in @path other than tmp/ and the lock. */
static guint
count_files (const char *path,
             const char *suffix)
{
  g_autoptr(GDir) dir = g_dir_open (path, 0, NULL);
  const char *name;
  guint n = 0;

  while (dir != NULL && (name = g_dir_read_name (dir)) != NULL)
    if (suffix == NULL ? !g_str_equal (name, "tmp") && !g_str_equal (name, ".flush.lock")
                       : g_str_has_suffix (name, suffix))
      n++;
  return n;
}

static void
test_add_list_remove (Fixture       *f,
                      gconstpointer  data)
{
  g_autoptr(HeraldQueueEntry) e = sample_entry ();
  g_autoptr(GBytes) message = g_bytes_new_static ("Subject: x\r\n\r\nbody\r\n", 21);
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) list = NULL;
  g_autoptr(GPtrArray) damaged = NULL;
  g_autoptr(HeraldQueueEntry) got = NULL;
  g_autoptr(GBytes) back = NULL;
  g_autofree char *id = NULL;
  g_autofree char *id2 = NULL;
  g_autofree char *meta = NULL;
  struct stat st;

  id = herald_queue_add (f->queue, message, e, &error);
  g_assert_no_error (error);
  g_assert_true (herald_queue_id_is_valid (id));
  id2 = herald_queue_add (f->queue, message, e, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (id, <, id2);

  /* Private: the directory and the files are the user's alone. */
  g_assert_cmpint (g_stat (f->dir, &st), ==, 0);
  g_assert_cmpint (st.st_mode & 0777, ==, 0700);
  meta = g_strdup_printf ("%s/%s.meta", f->dir, id);
  g_assert_cmpint (g_stat (meta, &st), ==, 0);
  g_assert_cmpint (st.st_mode & 0777, ==, 0600);

  list = herald_queue_list (f->queue, &damaged, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (list->len, ==, 2);
  g_assert_cmpuint (damaged->len, ==, 0);
  g_assert_cmpstr (((HeraldQueueEntry *) g_ptr_array_index (list, 0))->id, ==, id);

  got = herald_queue_get (f->queue, id, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (got->sender, ==, "alerts@example.com");
  g_assert_cmpstr (got->recipients[1], ==, "carol@example.org");
  g_assert_null (got->recipients[2]);
  g_assert_cmpstr (got->subject, ==, "Disk full on “web1”");
  g_assert_cmpuint (got->size, ==, 21);
  g_assert_cmpint (got->state, ==, HERALD_QUEUE_STATE_QUEUED);

  back = herald_queue_read_message (f->queue, id, &error);
  g_assert_no_error (error);
  g_assert_true (g_bytes_equal (back, message));

  /* An update is atomic and shows. */
  got->state = HERALD_QUEUE_STATE_HELD;
  got->attempts = 3;
  got->last_error = g_new0 (HeraldQueueError, 1);
  got->last_error->stage = g_strdup ("auth");
  got->last_error->reply_code = 535;
  got->last_error->reply_text = g_strdup ("5.7.139 Authentication unsuccessful\nsecond line");
  g_assert_true (herald_queue_update (f->queue, got, &error));
  g_assert_no_error (error);
  {
    g_autoptr(HeraldQueueEntry) again = herald_queue_get (f->queue, id, &error);

    g_assert_no_error (error);
    g_assert_cmpint (again->state, ==, HERALD_QUEUE_STATE_HELD);
    g_assert_cmpuint (again->attempts, ==, 3);
    g_assert_cmpint (again->last_error->reply_code, ==, 535);
    /* Stored as one line. */
    g_assert_cmpstr (again->last_error->reply_text, ==,
                     "5.7.139 Authentication unsuccessful second line");
  }

  g_assert_true (herald_queue_remove (f->queue, id, &error));
  g_assert_no_error (error);
  g_assert_false (herald_queue_remove (f->queue, id, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND);
  g_clear_error (&error);
  g_assert_cmpuint (count_files (f->dir, NULL), ==, 2);  /* id2's two files */

  /* Ids never name a file outside the queue. */
  g_assert_null (herald_queue_get (f->queue, "../../etc/passwd", &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND);
  g_assert_false (herald_queue_id_is_valid ("0123456789abcdef/"));
  g_assert_false (herald_queue_id_is_valid ("0123456789ABCDEF"));
}

static void
test_damaged_metadata (Fixture       *f,
                       gconstpointer  data)
{
  g_autoptr(HeraldQueueEntry) e = sample_entry ();
  g_autofree char *text = NULL;
  gsize length;
  static const char * const bad[] = {
    "",
    "\x01\x02garbage",
    "[herald-queue]\nversion=2\n",
    "[herald-queue]\nversion=1\nid=../x\nstate=queued\n",
    "[herald-queue]\nversion=1\nid=0123456789abcdef\nstate=flying\ncreated=1\nattempts=0\n"
      "next-attempt=0\nsender=a@b.c\nrecipients=x@y.z;\nsize=1\n",
    "[herald-queue]\nversion=1\nid=0123456789abcdef\nstate=queued\ncreated=-5\nattempts=0\n"
      "next-attempt=0\nsender=a@b.c\nrecipients=x@y.z;\nsize=1\n",
    "[herald-queue]\nversion=1\nid=0123456789abcdef\nstate=queued\ncreated=1\nattempts=0\n"
      "next-attempt=0\nsender=a@b.c\nrecipients=\nsize=1\n",
    "[herald-queue]\nversion=1\nid=0123456789abcdef\nstate=queued\ncreated=1\nattempts=0\n"
      "next-attempt=0\nsender=not an address\nrecipients=x@y.z;\nsize=1\n",
    "[herald-queue]\nversion=1\nid=0123456789abcdef\nstate=queued\ncreated=1\nattempts=0\n"
      "next-attempt=0\nsender=a@b.c\nrecipients=x@y.z\\nRCPT TO:<evil@x.y>;\nsize=1\n",
    "[herald-queue]\nversion=1\nid=0123456789abcdef\nstate=queued\ncreated=1\nattempts=0\n"
      "next-attempt=0\nsender=a@b.c\nrecipients=x@y.z;\nsize=1\n[last-error]\nreply-code=1000\n",
  };

  /* A sound file reads back as written. */
  e->id = g_strdup ("0123456789abcdef");
  e->created = 1765100000;
  e->maybe_duplicate = TRUE;
  e->note = g_strdup ("may be a duplicate");
  text = herald_queue_entry_serialize (e, &length);
  {
    g_autoptr(GError) error = NULL;
    g_autoptr(HeraldQueueEntry) back = herald_queue_entry_parse (text, length, &error);

    g_assert_no_error (error);
    g_assert_cmpstr (back->id, ==, e->id);
    g_assert_cmpint (back->created, ==, 1765100000);
    g_assert_true (back->maybe_duplicate);
    g_assert_cmpstr (back->note, ==, "may be a duplicate");
  }

  for (guint i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(HeraldQueueEntry) parsed = herald_queue_entry_parse (bad[i], strlen (bad[i]),
                                                                     &error);

      g_test_message ("damaged case %u", i);
      g_assert_null (parsed);
      g_assert_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA);
    }

  /* A damaged file in the directory is listed as damaged, never dropped. */
  {
    g_autoptr(GError) error = NULL;
    g_autoptr(GPtrArray) damaged = NULL;
    g_autoptr(GPtrArray) list = NULL;
    g_autofree char *path = g_build_filename (f->dir, "0123456789abcdef.meta", NULL);

    g_assert_true (herald_queue_ensure (f->queue, &error));
    g_assert_true (g_file_set_contents (path, bad[4], -1, &error));
    list = herald_queue_list (f->queue, &damaged, &error);
    g_assert_no_error (error);
    g_assert_cmpuint (list->len, ==, 0);
    g_assert_cmpuint (damaged->len, ==, 1);
    g_assert_cmpstr (g_ptr_array_index (damaged, 0), ==, "0123456789abcdef");
    g_assert_true (g_file_test (path, G_FILE_TEST_EXISTS));
  }
}

static void
test_backoff (void)
{
  const gint64 minutes[] = { 1, 1, 2, 4, 8, 16, 32, 60, 60, 60 };

  for (guint i = 1; i < G_N_ELEMENTS (minutes); i++)
    g_assert_cmpint (herald_queue_backoff (HERALD_QUEUE_STATE_QUEUED, i), ==, minutes[i] * 60);
  g_assert_cmpint (herald_queue_backoff (HERALD_QUEUE_STATE_QUEUED, 1000), ==, 3600);
  g_assert_cmpint (herald_queue_backoff (HERALD_QUEUE_STATE_HELD, 1), ==, 3600);
}

static void
test_lock (Fixture       *f,
           gconstpointer  data)
{
  g_autoptr(HeraldQueue) other = herald_queue_new (f->dir);
  g_autoptr(GError) error = NULL;

  g_assert_true (herald_queue_lock (f->queue, FALSE, &error));
  g_assert_no_error (error);
  /* flock() locks belong to the open file: a second opener is refused
   * even within one process, as a second heraldctl would be. */
  g_assert_false (herald_queue_lock (other, FALSE, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_BUSY);
  g_clear_error (&error);
  herald_queue_unlock (f->queue);
  g_assert_true (herald_queue_lock (other, FALSE, &error));
  g_assert_no_error (error);
  herald_queue_unlock (other);
}

/* A file-size limit (RLIMIT_FSIZE) while queueing: an error, and nothing
 * of the entry is left, neither in the queue nor in tmp/. */
static void
test_file_size_limit (Fixture       *f,
                      gconstpointer  data)
{
  g_autoptr(HeraldQueueEntry) e = sample_entry ();
  g_autofree char *big = g_malloc (256 * 1024);
  g_autoptr(GBytes) message = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *tmp = g_build_filename (f->dir, "tmp", NULL);
  g_autofree char *id = NULL;
  struct rlimit saved, small;
  void (*old_handler) (int);

  memset (big, 'a', 256 * 1024);
  message = g_bytes_new_take (g_steal_pointer (&big), 256 * 1024);
  g_assert_true (herald_queue_ensure (f->queue, &error));

  old_handler = signal (SIGXFSZ, SIG_IGN);
  g_assert_cmpint (getrlimit (RLIMIT_FSIZE, &saved), ==, 0);
  small = saved;
  small.rlim_cur = 64 * 1024;
  g_assert_cmpint (setrlimit (RLIMIT_FSIZE, &small), ==, 0);

  id = herald_queue_add (f->queue, message, e, &error);

  g_assert_cmpint (setrlimit (RLIMIT_FSIZE, &saved), ==, 0);
  signal (SIGXFSZ, old_handler);

  g_assert_null (id);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_NO_SPACE);
  g_assert_cmpuint (count_files (f->dir, NULL), ==, 0);
  g_assert_cmpuint (count_files (tmp, NULL), ==, 0);
}

/* What interrupted writers leave is removed once stale; fresh files (a
 * writer at work) and complete entries are kept. */
static void
test_clean (Fixture       *f,
            gconstpointer  data)
{
  g_autoptr(HeraldQueueEntry) e = sample_entry ();
  g_autoptr(GBytes) message = g_bytes_new_static ("x\r\n", 3);
  g_autoptr(GError) error = NULL;
  g_autofree char *id = herald_queue_add (f->queue, message, e, &error);
  g_autofree char *stale_tmp = g_build_filename (f->dir, "tmp", "00000000000000000000000", NULL);
  g_autofree char *fresh_tmp = g_build_filename (f->dir, "tmp", "00000000000000000000001", NULL);
  g_autofree char *orphan = g_build_filename (f->dir, "0000000000000000aaaaa.msg", NULL);
  g_autofree char *entry_msg = g_strdup_printf ("%s/%s.msg", f->dir, id);
  struct utimbuf old = { 1000, 1000 };

  g_assert_no_error (error);
  g_assert_true (g_file_set_contents (stale_tmp, "partial", -1, NULL));
  g_assert_true (g_file_set_contents (fresh_tmp, "partial", -1, NULL));
  g_assert_true (g_file_set_contents (orphan, "partial", -1, NULL));
  g_assert_cmpint (utime (stale_tmp, &old), ==, 0);
  g_assert_cmpint (utime (orphan, &old), ==, 0);
  g_assert_cmpint (utime (entry_msg, &old), ==, 0);

  herald_queue_clean (f->queue);

  g_assert_false (g_file_test (stale_tmp, G_FILE_TEST_EXISTS));
  g_assert_true (g_file_test (fresh_tmp, G_FILE_TEST_EXISTS));
  g_assert_false (g_file_test (orphan, G_FILE_TEST_EXISTS));
  g_assert_true (g_file_test (entry_msg, G_FILE_TEST_EXISTS));
}

int
main (int    argc,
      char **argv)
{
  g_test_init (&argc, &argv, NULL);

  g_test_add ("/herald/queue/add-list-remove", Fixture, NULL, fixture_setup,
              test_add_list_remove, fixture_teardown);
  g_test_add ("/herald/queue/damaged-metadata", Fixture, NULL, fixture_setup,
              test_damaged_metadata, fixture_teardown);
  g_test_add_func ("/herald/queue/backoff", test_backoff);
  g_test_add ("/herald/queue/lock", Fixture, NULL, fixture_setup, test_lock, fixture_teardown);
  g_test_add ("/herald/queue/file-size-limit", Fixture, NULL, fixture_setup,
              test_file_size_limit, fixture_teardown);
  g_test_add ("/herald/queue/clean", Fixture, NULL, fixture_setup, test_clean, fixture_teardown);

  return g_test_run ();
}
