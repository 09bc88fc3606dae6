/* SPDX-License-Identifier: GPL-3.0-or-later
 * Copyright 2026 The Herald authors
 */
#define _GNU_SOURCE  /* memmem */
#define G_LOG_DOMAIN "herald-test-secrets-system"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <glib/gstdio.h>

#include "herald-secrets-system.h"

/* Root's file store, in a temporary directory (never /var or /etc). The
 * encrypted round trip runs the real /usr/bin/systemd-creds with the host
 * key, as root (the suite runs as root, like CI). Secrets are compared with
 * memcmp, never g_assert_cmpstr, so a failure never prints one. */

#define SECRET "refresh-token-5f1d0c9a-not-a-real-secret-7be2"

typedef struct {
  char *root;  /* the temp dir */
  char *dir;   /* the store inside it */
} Fixture;

static void
fixture_set_up (Fixture       *f,
                gconstpointer  data)
{
  g_autoptr(GError) error = NULL;

  f->root = g_dir_make_tmp ("herald-system-secrets-XXXXXX", &error);
  g_assert_no_error (error);
  f->dir = g_build_filename (f->root, "herald", NULL);
}

static void
remove_tree (const char *path)
{
  g_autoptr(GDir) dir = NULL;
  struct stat st;
  const char *name;

  if (lstat (path, &st) != 0)
    return;
  if (S_ISDIR (st.st_mode))
    {
      chmod (path, 0700);
      dir = g_dir_open (path, 0, NULL);
      while (dir != NULL && (name = g_dir_read_name (dir)) != NULL)
        {
          g_autofree char *child = g_build_filename (path, name, NULL);
          remove_tree (child);
        }
      g_rmdir (path);
    }
  else
    g_unlink (path);
}

static void
fixture_tear_down (Fixture       *f,
                   gconstpointer  data)
{
  remove_tree (f->root);
  g_free (f->dir);
  g_free (f->root);
}

static HeraldSystemSecrets *
open_store (Fixture  *f,
            gboolean  encrypted)
{
  g_autoptr(GError) error = NULL;
  HeraldSystemSecrets *store = herald_system_secrets_new (f->dir, &error);

  g_assert_no_error (error);
  g_assert_nonnull (store);
  if (!encrypted)
    herald_system_secrets_set_creds_path (store, "/nonexistent/bin/systemd-creds");
  return store;
}

static void
assert_secret (HeraldSystemSecrets *store,
               const char          *name,
               const char          *expected)
{
  g_autoptr(GError) error = NULL;
  gsize length = 0;
  guint8 *got = herald_system_secrets_lookup (store, name, &length, &error);

  g_assert_no_error (error);
  g_assert_nonnull (got);
  g_assert_cmpuint (length, ==, strlen (expected));
  g_assert_true (memcmp (got, expected, length) == 0);
  g_assert_cmpint (got[length], ==, '\0');
  herald_system_secret_free (got, length);
}

/* Every regular file under @path, whole; TRUE when @needle is in one. */
static gboolean
tree_contains (const char *path,
               const char *needle)
{
  g_autoptr(GDir) dir = g_dir_open (path, 0, NULL);
  const char *name;
  gboolean found = FALSE;

  g_assert_nonnull (dir);
  while (!found && (name = g_dir_read_name (dir)) != NULL)
    {
      g_autofree char *child = g_build_filename (path, name, NULL);
      g_autofree char *contents = NULL;
      gsize len = 0;
      struct stat st;

      g_assert_cmpint (lstat (child, &st), ==, 0);
      if (S_ISDIR (st.st_mode))
        found = tree_contains (child, needle);
      else if (S_ISREG (st.st_mode))
        {
          g_assert_true (g_file_get_contents (child, &contents, &len, NULL));
          found = memmem (contents, len, needle, strlen (needle)) != NULL;
        }
    }
  return found;
}

static guint
count_files (const char *path)
{
  g_autoptr(GDir) dir = g_dir_open (path, 0, NULL);
  guint n = 0;

  g_assert_nonnull (dir);
  while (g_dir_read_name (dir) != NULL)
    n++;
  return n;
}

static void
test_encrypted_round_trip (Fixture       *f,
                           gconstpointer  data)
{
  g_autoptr(HeraldSystemSecrets) store = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *cred = NULL;
  gsize length = 99;
  guint8 *none;

  /* Debian 12 ships it; without it this test cannot say anything true. */
  g_assert_true (g_file_test ("/usr/bin/systemd-creds", G_FILE_TEST_IS_EXECUTABLE));
  g_assert_cmpuint (geteuid (), ==, 0);

  store = open_store (f, TRUE);
  g_assert_cmpint (herald_system_secrets_get_protection (store), ==,
                   HERALD_SYSTEM_PROTECTION_HOST_KEY);
  g_assert_cmpstr (herald_system_protection_describe (HERALD_SYSTEM_PROTECTION_HOST_KEY), ==,
                   "encrypted with the host key");

  none = herald_system_secrets_lookup (store, "smtp-password", &length, &error);
  g_assert_no_error (error);
  g_assert_null (none);
  g_assert_cmpuint (length, ==, 0);

  herald_system_secrets_store (store, "smtp-password", (const guint8 *) SECRET,
                               strlen (SECRET), &error);
  g_assert_no_error (error);
  assert_secret (store, "smtp-password", SECRET);

  /* the ciphertext, and no plaintext anywhere under the temporary tree */
  cred = g_build_filename (f->dir, "smtp-password.cred", NULL);
  g_assert_true (g_file_test (cred, G_FILE_TEST_IS_REGULAR));
  g_assert_false (tree_contains (f->root, SECRET));
  g_assert_false (tree_contains (f->root, "5f1d0c9a"));

  /* a credential is bound to its name: another name cannot pass it off */
  {
    g_autofree char *other = g_build_filename (f->dir, "other.cred", NULL);
    g_autofree char *contents = NULL;
    gsize len;
    guint8 *got;

    g_assert_true (g_file_get_contents (cred, &contents, &len, NULL));
    g_assert_true (g_file_set_contents_full (other, contents, len,
                                             G_FILE_SET_CONTENTS_NONE, 0600, NULL));
    got = herald_system_secrets_lookup (store, "other", &length, &error);
    g_assert_error (error, HERALD_SYSTEM_SECRETS_ERROR, HERALD_SYSTEM_SECRETS_ERROR_FAILED);
    g_assert_null (got);
    g_clear_error (&error);
  }

  /* rotation, then delete */
  herald_system_secrets_store (store, "smtp-password", (const guint8 *) "rotated-1", 9, &error);
  g_assert_no_error (error);
  assert_secret (store, "smtp-password", "rotated-1");
  g_assert_true (herald_system_secrets_delete (store, "smtp-password", &error));
  g_assert_no_error (error);
  g_assert_false (g_file_test (cred, G_FILE_TEST_EXISTS));
  none = herald_system_secrets_lookup (store, "smtp-password", &length, &error);
  g_assert_no_error (error);
  g_assert_null (none);
}

static void
test_plain_fallback (Fixture       *f,
                     gconstpointer  data)
{
  g_autoptr(HeraldSystemSecrets) store = open_store (f, FALSE);
  g_autoptr(GError) error = NULL;
  g_autofree char *plain = g_build_filename (f->dir, "oauth-refresh.secret", NULL);
  g_autofree char *contents = NULL;
  const guint8 binary[] = { 'a', 0, 0xff, '\n', 'b' };
  gsize len = 0;
  guint8 *got;

  g_assert_cmpint (herald_system_secrets_get_protection (store), ==,
                   HERALD_SYSTEM_PROTECTION_PLAIN_FILE);
  g_assert_cmpstr (herald_system_protection_describe (HERALD_SYSTEM_PROTECTION_PLAIN_FILE), ==,
                   "plain file readable by root only");

  herald_system_secrets_store (store, "oauth-refresh", (const guint8 *) SECRET,
                               strlen (SECRET), &error);
  g_assert_no_error (error);
  assert_secret (store, "oauth-refresh", SECRET);
  /* the fallback really is the plain file, nothing else in the directory */
  g_assert_true (g_file_get_contents (plain, &contents, &len, NULL));
  g_assert_cmpuint (len, ==, strlen (SECRET));
  g_assert_true (memcmp (contents, SECRET, len) == 0);
  g_assert_cmpuint (count_files (f->dir), ==, 1);

  /* bytes, not strings */
  herald_system_secrets_store (store, "bin", binary, sizeof binary, &error);
  g_assert_no_error (error);
  got = herald_system_secrets_lookup (store, "bin", &len, &error);
  g_assert_no_error (error);
  g_assert_cmpmem (got, len, binary, sizeof binary);
  herald_system_secret_free (got, len);

  g_assert_true (herald_system_secrets_delete (store, "oauth-refresh", &error));
  g_assert_no_error (error);
  g_assert_false (g_file_test (plain, G_FILE_TEST_EXISTS));
  /* deleting what is not there is not an error */
  g_assert_true (herald_system_secrets_delete (store, "oauth-refresh", &error));
  g_assert_no_error (error);
}

static void
test_modes (Fixture       *f,
            gconstpointer  data)
{
  g_autoptr(HeraldSystemSecrets) store = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *file = g_build_filename (f->dir, "pw.secret", NULL);
  mode_t old_umask = umask (0);  /* a careless umask must not widen anything */
  struct stat st;

  store = open_store (f, FALSE);
  herald_system_secrets_store (store, "pw", (const guint8 *) "x", 1, &error);
  umask (old_umask);
  g_assert_no_error (error);

  g_assert_cmpint (lstat (f->dir, &st), ==, 0);
  g_assert_true (S_ISDIR (st.st_mode));
  g_assert_cmpint (st.st_mode & 07777, ==, 0700);
  g_assert_cmpuint (st.st_uid, ==, geteuid ());
  g_assert_cmpint (lstat (file, &st), ==, 0);
  g_assert_true (S_ISREG (st.st_mode));
  g_assert_cmpint (st.st_mode & 07777, ==, 0600);
  g_assert_cmpuint (st.st_uid, ==, geteuid ());
}

static void
test_refuses_open_directory (Fixture       *f,
                             gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *link = g_build_filename (f->root, "link", NULL);
  HeraldSystemSecrets *store;

  g_assert_cmpint (g_mkdir (f->dir, 0755), ==, 0);
  g_assert_cmpint (chmod (f->dir, 0755), ==, 0);
  store = herald_system_secrets_new (f->dir, &error);
  g_assert_error (error, HERALD_SYSTEM_SECRETS_ERROR, HERALD_SYSTEM_SECRETS_ERROR_UNSAFE);
  g_assert_nonnull (strstr (error->message, "chmod 700"));
  g_assert_null (store);
  g_clear_error (&error);

  /* group access alone is enough to refuse */
  g_assert_cmpint (chmod (f->dir, 0710), ==, 0);
  store = herald_system_secrets_new (f->dir, &error);
  g_assert_error (error, HERALD_SYSTEM_SECRETS_ERROR, HERALD_SYSTEM_SECRETS_ERROR_UNSAFE);
  g_assert_null (store);
  g_clear_error (&error);

  /* another user's directory (the suite runs as root: give it to nobody) */
  g_assert_cmpint (chmod (f->dir, 0700), ==, 0);
  g_assert_cmpint (chown (f->dir, 65534, 65534), ==, 0);
  store = herald_system_secrets_new (f->dir, &error);
  g_assert_error (error, HERALD_SYSTEM_SECRETS_ERROR, HERALD_SYSTEM_SECRETS_ERROR_UNSAFE);
  g_assert_null (store);
  g_clear_error (&error);
  g_assert_cmpint (chown (f->dir, 0, 0), ==, 0);

  /* a symlink to a good directory is not the directory */
  g_assert_cmpint (symlink (f->dir, link), ==, 0);
  store = herald_system_secrets_new (link, &error);
  g_assert_error (error, HERALD_SYSTEM_SECRETS_ERROR, HERALD_SYSTEM_SECRETS_ERROR_UNSAFE);
  g_assert_null (store);
}

static void
test_refuses_unsafe_files (Fixture       *f,
                           gconstpointer  data)
{
  g_autoptr(HeraldSystemSecrets) store = open_store (f, FALSE);
  g_autoptr(GError) error = NULL;
  g_autofree char *target = g_build_filename (f->root, "elsewhere", NULL);
  g_autofree char *link = g_build_filename (f->dir, "pw.secret", NULL);
  g_autofree char *wide = g_build_filename (f->dir, "wide.secret", NULL);
  g_autofree char *contents = NULL;
  gsize len;
  guint8 *got;

  /* a symlink planted in the store: never read through, never written through */
  /* the target is 0600 and ours: only "never follow" can refuse it */
  g_assert_true (g_file_set_contents_full (target, "not-yours", -1, G_FILE_SET_CONTENTS_NONE,
                                           0600, NULL));
  g_assert_cmpint (symlink (target, link), ==, 0);
  got = herald_system_secrets_lookup (store, "pw", &len, &error);
  g_assert_error (error, HERALD_SYSTEM_SECRETS_ERROR, HERALD_SYSTEM_SECRETS_ERROR_UNSAFE);
  g_assert_null (got);
  g_clear_error (&error);
  g_assert_false (herald_system_secrets_store (store, "pw", (const guint8 *) SECRET,
                                               strlen (SECRET), &error));
  g_assert_error (error, HERALD_SYSTEM_SECRETS_ERROR, HERALD_SYSTEM_SECRETS_ERROR_UNSAFE);
  g_clear_error (&error);
  g_assert_true (g_file_get_contents (target, &contents, NULL, NULL));
  g_assert_cmpstr (contents, ==, "not-yours");
  g_assert_true (g_file_test (link, G_FILE_TEST_IS_SYMLINK));

  /* a world-readable secret file is refused, with the fix in the message */
  g_assert_true (herald_system_secrets_store (store, "wide", (const guint8 *) "w", 1, &error));
  g_assert_no_error (error);
  g_assert_cmpint (chmod (wide, 0644), ==, 0);
  got = herald_system_secrets_lookup (store, "wide", &len, &error);
  g_assert_error (error, HERALD_SYSTEM_SECRETS_ERROR, HERALD_SYSTEM_SECRETS_ERROR_UNSAFE);
  g_assert_nonnull (strstr (error->message, "chmod 600"));
  g_assert_null (got);
}

/* A writer process rotates a large secret between two values while this
 * process reads it: every read is one value or the other, whole. An in-place
 * rewrite shows up as a short or mixed read. */
static void
test_atomic_replace (Fixture       *f,
                     gconstpointer  data)
{
  g_autoptr(HeraldSystemSecrets) store = open_store (f, FALSE);
  g_autoptr(GError) error = NULL;
  gsize size = 256 * 1024;
  g_autofree guint8 *a = g_malloc (size);
  g_autofree guint8 *b = g_malloc (size);
  guint reads = 0, saw_a = 0, saw_b = 0;
  int status = 0;
  pid_t pid;

  memset (a, 'a', size);
  memset (b, 'b', size);
  g_assert_true (herald_system_secrets_store (store, "token", a, size, &error));
  g_assert_no_error (error);

  pid = fork ();
  g_assert_cmpint (pid, >=, 0);
  if (pid == 0)
    {
      g_autoptr(HeraldSystemSecrets) writer = open_store (f, FALSE);

      for (int i = 0; i < 200; i++)
        if (!herald_system_secrets_store (writer, "token", (i % 2) ? a : b, size, NULL))
          _exit (1);
      _exit (0);
    }

  while (waitpid (pid, &status, WNOHANG) == 0)
    {
      gsize len = 0;
      guint8 *got = herald_system_secrets_lookup (store, "token", &len, &error);

      g_assert_no_error (error);
      g_assert_nonnull (got);
      g_assert_cmpuint (len, ==, size);
      if (memcmp (got, a, size) == 0)
        saw_a++;
      else if (memcmp (got, b, size) == 0)
        saw_b++;
      else
        g_assert_not_reached ();
      herald_system_secret_free (got, len);
      reads++;
    }
  g_assert_true (WIFEXITED (status));
  g_assert_cmpint (WEXITSTATUS (status), ==, 0);
  g_test_message ("%u reads during 200 rotations (%u old, %u new)", reads, saw_a, saw_b);
  g_assert_cmpuint (reads, >, 0);
  /* no temporary file left behind */
  g_assert_cmpuint (count_files (f->dir), ==, 1);
  /* the last rotation (i = 199) stored a */
  {
    gsize len = 0;
    guint8 *got = herald_system_secrets_lookup (store, "token", &len, &error);

    g_assert_no_error (error);
    g_assert_cmpmem (got, len, a, size);
    herald_system_secret_free (got, len);
  }
}

static void
test_names (Fixture       *f,
            gconstpointer  data)
{
  g_autoptr(HeraldSystemSecrets) store = open_store (f, FALSE);
  g_autofree char *long_name = g_strnfill (HERALD_SYSTEM_SECRET_NAME_MAX + 1, 'n');
  g_autofree char *max_name = g_strnfill (HERALD_SYSTEM_SECRET_NAME_MAX, 'n');
  const char *bad[] = { "", "a/b", "/etc/shadow", "..", "../x", "a..b", ".hidden", "sp ace",
                        "tab\t", "nl\n", "star*", long_name };
  const char *good[] = { "smtp-password", "oauth.refresh@alerts@example.org", "a_b+c", max_name };

  for (gsize i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      g_autoptr(GError) error = NULL;
      gsize len;

      g_assert_false (herald_system_secrets_store (store, bad[i], (const guint8 *) "x", 1,
                                                   &error));
      g_assert_error (error, HERALD_SYSTEM_SECRETS_ERROR,
                      HERALD_SYSTEM_SECRETS_ERROR_INVALID_NAME);
      g_clear_error (&error);
      g_assert_null (herald_system_secrets_lookup (store, bad[i], &len, &error));
      g_assert_error (error, HERALD_SYSTEM_SECRETS_ERROR,
                      HERALD_SYSTEM_SECRETS_ERROR_INVALID_NAME);
      g_clear_error (&error);
      g_assert_false (herald_system_secrets_delete (store, bad[i], &error));
      g_assert_error (error, HERALD_SYSTEM_SECRETS_ERROR,
                      HERALD_SYSTEM_SECRETS_ERROR_INVALID_NAME);
    }
  /* nothing was written anywhere, in the store or beside it */
  g_assert_cmpuint (count_files (f->dir), ==, 0);
  g_assert_cmpuint (count_files (f->root), ==, 1);

  for (gsize i = 0; i < G_N_ELEMENTS (good); i++)
    {
      g_autoptr(GError) error = NULL;

      g_assert_true (herald_system_secrets_store (store, good[i], (const guint8 *) "ok", 2,
                                                  &error));
      g_assert_no_error (error);
      assert_secret (store, good[i], "ok");
    }
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

#define ADD(path, func) \
  g_test_add (path, Fixture, NULL, fixture_set_up, func, fixture_tear_down)
  ADD ("/secrets-system/encrypted-round-trip", test_encrypted_round_trip);
  ADD ("/secrets-system/plain-fallback", test_plain_fallback);
  ADD ("/secrets-system/modes", test_modes);
  ADD ("/secrets-system/refuses-open-directory", test_refuses_open_directory);
  ADD ("/secrets-system/refuses-unsafe-files", test_refuses_unsafe_files);
  ADD ("/secrets-system/atomic-replace", test_atomic_replace);
  ADD ("/secrets-system/names", test_names);
#undef ADD

  return g_test_run ();
}
