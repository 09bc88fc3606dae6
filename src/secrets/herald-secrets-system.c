/* SPDX-License-Identifier: GPL-3.0-or-later
 * Copyright 2026 The Herald authors
 */
#define G_LOG_DOMAIN "herald-secrets"

#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#include <glib/gi18n-lib.h>
#include <glib/gstdio.h>

#include "herald-secrets-system.h"
#include "herald-secret.h"

/* Nothing in this file logs, prints or copies a secret beyond what it must:
 * secrets travel between the caller, the files and systemd-creds's standard
 * input and output, never its command line or environment. Every path is
 * opened relative to the store's directory descriptor with O_NOFOLLOW, so a
 * symlink planted in the directory is refused, never followed. */

/* An encrypted secret is NAME.cred (systemd-creds's text format), a plain one
 * NAME.secret; the suffix says how to read it back whatever is installed now. */
#define SUFFIX_CRED   ".cred"
#define SUFFIX_PLAIN  ".secret"

/* A refresh token is a few kB; anything much larger is not ours. */
#define SECRET_FILE_MAX (1024 * 1024)

#define DEFAULT_CREDS_PATH "/usr/bin/systemd-creds"

struct _HeraldSystemSecrets
{
  GObject parent_instance;

  char *directory;
  int dir_fd;
  char *creds_path;  /* NULL: no systemd-creds, plain files */
};

G_DEFINE_FINAL_TYPE (HeraldSystemSecrets, herald_system_secrets, G_TYPE_OBJECT)

G_DEFINE_QUARK (herald-system-secrets-error-quark, herald_system_secrets_error)

void
herald_system_secret_free (guint8 *secret,
                           gsize   length)
{
  if (secret == NULL)
    return;
  /* lookup always NUL-terminates: wipe that byte's neighbourhood too */
  herald_secret_wipe (secret, length + 1);
  g_free (secret);
}

static void
herald_system_secrets_finalize (GObject *object)
{
  HeraldSystemSecrets *self = HERALD_SYSTEM_SECRETS (object);

  if (self->dir_fd >= 0)
    close (self->dir_fd);
  g_free (self->directory);
  g_free (self->creds_path);

  G_OBJECT_CLASS (herald_system_secrets_parent_class)->finalize (object);
}

static void
herald_system_secrets_class_init (HeraldSystemSecretsClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = herald_system_secrets_finalize;
}

static void
herald_system_secrets_init (HeraldSystemSecrets *self)
{
  self->dir_fd = -1;
}

static gboolean
set_errno_error (GError     **error,
                 int          saved_errno,
                 const char  *what,
                 const char  *path)
{
  g_set_error (error, HERALD_SYSTEM_SECRETS_ERROR, HERALD_SYSTEM_SECRETS_ERROR_FAILED,
               "%s %s: %s", what, path, g_strerror (saved_errno));
  return FALSE;
}

/* Owned by us and closed to group and others: anything else could let
 * another account read or swap a secret. */
static gboolean
check_owner_and_mode (const struct stat  *st,
                      const char         *path,
                      gboolean            is_dir,
                      GError            **error)
{
  if (st->st_uid != geteuid ())
    {
      g_set_error (error, HERALD_SYSTEM_SECRETS_ERROR, HERALD_SYSTEM_SECRETS_ERROR_UNSAFE,
                   _("Refusing to use %s: it belongs to user ID %u, not to the user running "
                     "Herald (%u). Secrets must be stored by their owner only."),
                   path, (guint) st->st_uid, (guint) geteuid ());
      return FALSE;
    }
  if ((st->st_mode & 077) != 0)
    {
      g_set_error (error, HERALD_SYSTEM_SECRETS_ERROR, HERALD_SYSTEM_SECRETS_ERROR_UNSAFE,
                   _("Refusing to use %s: other users can access it (mode %04o). "
                     "Run “chmod %s %s” and check that nobody else has read it."),
                   path, (guint) (st->st_mode & 07777), is_dir ? "700" : "600", path);
      return FALSE;
    }
  return TRUE;
}

gboolean
herald_system_secret_name_is_valid (const char  *name,
                                    GError     **error)
{
  gsize len = name != NULL ? strlen (name) : 0;

  if (len == 0 || len > HERALD_SYSTEM_SECRET_NAME_MAX)
    {
      g_set_error (error, HERALD_SYSTEM_SECRETS_ERROR, HERALD_SYSTEM_SECRETS_ERROR_INVALID_NAME,
                   _("A secret’s name must have 1 to %d characters."),
                   HERALD_SYSTEM_SECRET_NAME_MAX);
      return FALSE;
    }
  /* The name becomes a file name and systemd-creds's --name: letters, digits
   * and a few separators, never a path ('/', "..") or a hidden file (our
   * temporary files start with '.'). */
  if (name[0] == '.' || strstr (name, "..") != NULL)
    goto invalid;
  for (gsize i = 0; i < len; i++)
    if (!g_ascii_isalnum (name[i]) && strchr ("._-@+", name[i]) == NULL)
      goto invalid;
  return TRUE;

invalid:
  g_set_error (error, HERALD_SYSTEM_SECRETS_ERROR, HERALD_SYSTEM_SECRETS_ERROR_INVALID_NAME,
               _("“%s” is not a valid secret name: use letters, digits and “. _ - @ +”, "
                 "not starting with a dot and without “..”."),
               name);
  return FALSE;
}

HeraldSystemSecrets *
herald_system_secrets_new (const char  *directory,
                           GError     **error)
{
  g_autoptr(HeraldSystemSecrets) self = NULL;
  struct stat st;
  int fd;

  g_return_val_if_fail (directory != NULL, NULL);

  if (mkdir (directory, 0700) != 0 && errno != EEXIST)
    {
      set_errno_error (error, errno, _("Cannot create the secrets directory"), directory);
      return NULL;
    }

  fd = open (directory, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0)
    {
      int saved_errno = errno;

      /* O_NOFOLLOW on a symlink: ELOOP, or ENOTDIR with O_DIRECTORY */
      if (saved_errno == ELOOP || saved_errno == ENOTDIR)
        g_set_error (error, HERALD_SYSTEM_SECRETS_ERROR, HERALD_SYSTEM_SECRETS_ERROR_UNSAFE,
                     _("Refusing to use %s: it is a symbolic link or not a directory."),
                     directory);
      else
        set_errno_error (error, saved_errno, _("Cannot open the secrets directory"), directory);
      return NULL;
    }

  self = g_object_new (HERALD_TYPE_SYSTEM_SECRETS, NULL);
  self->dir_fd = fd;
  self->directory = g_strdup (directory);

  if (fstat (fd, &st) != 0)
    {
      set_errno_error (error, errno, _("Cannot open the secrets directory"), directory);
      return NULL;
    }
  if (!check_owner_and_mode (&st, directory, TRUE, error))
    return NULL;

  if (g_file_test (DEFAULT_CREDS_PATH, G_FILE_TEST_IS_EXECUTABLE))
    self->creds_path = g_strdup (DEFAULT_CREDS_PATH);
  else
    self->creds_path = g_find_program_in_path ("systemd-creds");

  return g_steal_pointer (&self);
}

const char *
herald_system_secrets_get_directory (HeraldSystemSecrets *self)
{
  g_return_val_if_fail (HERALD_IS_SYSTEM_SECRETS (self), NULL);
  return self->directory;
}

void
herald_system_secrets_set_creds_path (HeraldSystemSecrets *self,
                                      const char          *path)
{
  g_return_if_fail (HERALD_IS_SYSTEM_SECRETS (self));
  g_free (self->creds_path);
  self->creds_path = g_strdup (path);
}

static gboolean
have_creds (HeraldSystemSecrets *self)
{
  return self->creds_path != NULL
         && g_file_test (self->creds_path, G_FILE_TEST_IS_EXECUTABLE);
}

HeraldSystemProtection
herald_system_secrets_get_protection (HeraldSystemSecrets *self)
{
  g_return_val_if_fail (HERALD_IS_SYSTEM_SECRETS (self), HERALD_SYSTEM_PROTECTION_PLAIN_FILE);
  return have_creds (self) ? HERALD_SYSTEM_PROTECTION_HOST_KEY
                           : HERALD_SYSTEM_PROTECTION_PLAIN_FILE;
}

const char *
herald_system_protection_describe (HeraldSystemProtection protection)
{
  switch (protection)
    {
    case HERALD_SYSTEM_PROTECTION_HOST_KEY:
      return _("encrypted with the host key");
    case HERALD_SYSTEM_PROTECTION_PLAIN_FILE:
    default:
      return _("plain file readable by root only");
    }
}

static char *
file_path (HeraldSystemSecrets *self,
           const char          *file)
{
  return g_build_filename (self->directory, file, NULL);
}

/* Runs systemd-creds with @input on its standard input and returns its
 * standard output. The secret never appears in argv or the environment. */
static GBytes *
run_creds (HeraldSystemSecrets  *self,
           const char           *verb,
           const char           *name,
           const guint8         *input,
           gsize                 input_length,
           GError              **error)
{
  g_autofree char *name_arg = g_strconcat ("--name=", name, NULL);
  g_autoptr(GSubprocess) proc = NULL;
  g_autoptr(GBytes) in = g_bytes_new_static (input, input_length);
  g_autoptr(GBytes) out = NULL;
  g_autoptr(GBytes) err = NULL;
  g_autoptr(GError) local_error = NULL;
  const char *argv[] = { self->creds_path, verb, "--with-key=host", name_arg, "-", "-", NULL };

  /* decrypt takes no --with-key: the credential says which key it needs */
  if (g_str_equal (verb, "decrypt"))
    {
      argv[2] = name_arg;
      argv[3] = "-";
      argv[5] = NULL;
    }

  proc = g_subprocess_newv (argv, G_SUBPROCESS_FLAGS_STDIN_PIPE
                                  | G_SUBPROCESS_FLAGS_STDOUT_PIPE
                                  | G_SUBPROCESS_FLAGS_STDERR_PIPE, &local_error);
  if (proc == NULL || !g_subprocess_communicate (proc, in, NULL, &out, &err, &local_error))
    {
      g_set_error (error, HERALD_SYSTEM_SECRETS_ERROR, HERALD_SYSTEM_SECRETS_ERROR_FAILED,
                   _("Could not run %s: %s"), self->creds_path, local_error->message);
      return NULL;
    }
  if (!g_subprocess_get_if_exited (proc) || g_subprocess_get_exit_status (proc) != 0)
    {
      g_autofree char *msg = g_strstrip (g_strndup (g_bytes_get_data (err, NULL),
                                                    MIN (g_bytes_get_size (err), 1024)));

      if (out != NULL)
        herald_secret_wipe ((gpointer) g_bytes_get_data (out, NULL), g_bytes_get_size (out));
      g_set_error (error, HERALD_SYSTEM_SECRETS_ERROR, HERALD_SYSTEM_SECRETS_ERROR_FAILED,
                   g_str_equal (verb, "decrypt")
                   ? _("systemd-creds could not decrypt the secret “%s”: %s")
                   : _("systemd-creds could not encrypt the secret “%s”: %s"),
                   name, msg[0] != '\0' ? msg : _("it failed without saying why"));
      return NULL;
    }
  return g_steal_pointer (&out);
}

/* Opens @file in the store for reading, refusing symlinks and anything that
 * other users can reach. -1 with no error when it does not exist. */
static int
open_secret_file (HeraldSystemSecrets  *self,
                  const char           *file,
                  GError              **error)
{
  g_autofree char *path = file_path (self, file);
  struct stat st;
  int fd;

  fd = openat (self->dir_fd, file, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0)
    {
      if (errno == ENOENT)
        return -1;
      if (errno == ELOOP)
        g_set_error (error, HERALD_SYSTEM_SECRETS_ERROR, HERALD_SYSTEM_SECRETS_ERROR_UNSAFE,
                     _("Refusing to read %s: it is a symbolic link."), path);
      else
        set_errno_error (error, errno, _("Cannot read"), path);
      return -1;
    }
  if (fstat (fd, &st) != 0)
    {
      set_errno_error (error, errno, _("Cannot read"), path);
      close (fd);
      return -1;
    }
  if (!S_ISREG (st.st_mode))
    {
      g_set_error (error, HERALD_SYSTEM_SECRETS_ERROR, HERALD_SYSTEM_SECRETS_ERROR_UNSAFE,
                   _("Refusing to read %s: it is not a regular file."), path);
      close (fd);
      return -1;
    }
  if (!check_owner_and_mode (&st, path, FALSE, error))
    {
      close (fd);
      return -1;
    }
  if (st.st_size > SECRET_FILE_MAX)
    {
      g_set_error (error, HERALD_SYSTEM_SECRETS_ERROR, HERALD_SYSTEM_SECRETS_ERROR_FAILED,
                   _("%s is too large to be a secret."), path);
      close (fd);
      return -1;
    }
  return fd;
}

/* Reads the whole file into a NUL-terminated buffer. */
static guint8 *
read_all (int          fd,
          const char  *path,
          gsize       *length,
          GError     **error)
{
  gsize size = 4096, used = 0;
  guint8 *buf = g_malloc (size);

  for (;;)
    {
      ssize_t n;

      if (used + 1 >= size)
        {
          guint8 *bigger;

          if (size >= SECRET_FILE_MAX + 2)
            {
              herald_system_secret_free (buf, size - 1);
              g_set_error (error, HERALD_SYSTEM_SECRETS_ERROR, HERALD_SYSTEM_SECRETS_ERROR_FAILED,
                           _("%s is too large to be a secret."), path);
              return NULL;
            }
          /* grow by copying so no unwiped copy is left behind by realloc */
          bigger = g_malloc (size * 2);
          memcpy (bigger, buf, used);
          herald_system_secret_free (buf, size - 1);
          buf = bigger;
          size *= 2;
        }
      n = read (fd, buf + used, size - used - 1);
      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        {
          int saved_errno = errno;

          herald_system_secret_free (buf, size - 1);
          set_errno_error (error, saved_errno, _("Cannot read"), path);
          return NULL;
        }
      if (n == 0)
        break;
      used += n;
    }
  buf[used] = '\0';
  *length = used;
  return buf;
}

static guint8 *
lookup_file (HeraldSystemSecrets  *self,
             const char           *name,
             gboolean              encrypted,
             gboolean             *found,
             gsize                *length,
             GError              **error)
{
  g_autofree char *file = g_strconcat (name, encrypted ? SUFFIX_CRED : SUFFIX_PLAIN, NULL);
  g_autofree char *path = file_path (self, file);
  g_autoptr(GBytes) plain = NULL;
  GError *local_error = NULL;
  guint8 *data;
  gsize data_length = 0;
  gsize plain_length;
  guint8 *result;
  int fd;

  *found = FALSE;
  fd = open_secret_file (self, file, &local_error);
  if (fd < 0)
    {
      if (local_error != NULL)
        {
          g_propagate_error (error, local_error);
          *found = TRUE;
        }
      return NULL;
    }
  *found = TRUE;
  data = read_all (fd, path, &data_length, error);
  close (fd);
  if (data == NULL || !encrypted)
    {
      *length = data_length;
      return data;
    }

  if (!have_creds (self))
    {
      herald_system_secret_free (data, data_length);
      g_set_error (error, HERALD_SYSTEM_SECRETS_ERROR, HERALD_SYSTEM_SECRETS_ERROR_FAILED,
                   _("%s is encrypted with systemd-creds, which is not installed. "
                     "Install systemd or store the secret again."), path);
      return NULL;
    }
  plain = run_creds (self, "decrypt", name, data, data_length, error);
  herald_system_secret_free (data, data_length);  /* ciphertext, wiped anyway */
  if (plain == NULL)
    return NULL;

  plain_length = g_bytes_get_size (plain);
  result = g_malloc (plain_length + 1);
  memcpy (result, g_bytes_get_data (plain, NULL), plain_length);
  result[plain_length] = '\0';
  herald_secret_wipe ((gpointer) g_bytes_get_data (plain, NULL), plain_length);
  *length = plain_length;
  return result;
}

guint8 *
herald_system_secrets_lookup (HeraldSystemSecrets  *self,
                              const char           *name,
                              gsize                *length,
                              GError              **error)
{
  gboolean preferred = have_creds (self);
  gboolean found = FALSE;
  gsize dummy = 0;
  guint8 *result;

  g_return_val_if_fail (HERALD_IS_SYSTEM_SECRETS (self), NULL);
  if (length == NULL)
    length = &dummy;
  *length = 0;
  if (!herald_system_secret_name_is_valid (name, error))
    return NULL;

  /* The current format first; the other one is a secret stored before
   * systemd-creds was installed (or removed). */
  result = lookup_file (self, name, preferred, &found, length, error);
  if (found)
    return result;
  result = lookup_file (self, name, !preferred, &found, length, error);
  return result;
}

static gboolean
fsync_dir (HeraldSystemSecrets  *self,
           GError              **error)
{
  if (fsync (self->dir_fd) != 0)
    return set_errno_error (error, errno, _("Cannot write"), self->directory);
  return TRUE;
}

/* Refuses a symlink or a foreign file where we are about to write, so a
 * planted link is reported rather than silently replaced. */
static gboolean
check_existing (HeraldSystemSecrets  *self,
                const char           *file,
                GError              **error)
{
  g_autofree char *path = file_path (self, file);
  struct stat st;

  if (fstatat (self->dir_fd, file, &st, AT_SYMLINK_NOFOLLOW) != 0)
    {
      if (errno == ENOENT)
        return TRUE;
      return set_errno_error (error, errno, _("Cannot write"), path);
    }
  if (S_ISLNK (st.st_mode))
    {
      g_set_error (error, HERALD_SYSTEM_SECRETS_ERROR, HERALD_SYSTEM_SECRETS_ERROR_UNSAFE,
                   _("Refusing to write %s: it is a symbolic link. Remove it first."), path);
      return FALSE;
    }
  if (!S_ISREG (st.st_mode))
    {
      g_set_error (error, HERALD_SYSTEM_SECRETS_ERROR, HERALD_SYSTEM_SECRETS_ERROR_UNSAFE,
                   _("Refusing to write %s: it is not a regular file."), path);
      return FALSE;
    }
  return check_owner_and_mode (&st, path, FALSE, error);
}

static gboolean
remove_file (HeraldSystemSecrets  *self,
             const char           *file,
             GError              **error)
{
  if (unlinkat (self->dir_fd, file, 0) != 0 && errno != ENOENT)
    {
      g_autofree char *path = file_path (self, file);

      return set_errno_error (error, errno, _("Cannot remove"), path);
    }
  return TRUE;
}

/* Temporary file in the same directory, fsync, rename over the old one,
 * fsync the directory: a crash leaves the old or the new secret, whole. */
static gboolean
write_atomically (HeraldSystemSecrets  *self,
                  const char           *file,
                  const guint8         *data,
                  gsize                 length,
                  GError              **error)
{
  g_autofree char *path = file_path (self, file);
  g_autofree char *tmp = NULL;
  gsize done = 0;
  int fd = -1;

  for (int attempt = 0; fd < 0 && attempt < 100; attempt++)
    {
      g_free (tmp);
      tmp = g_strdup_printf (".%s.%08x.tmp", file, g_random_int ());
      fd = openat (self->dir_fd, tmp,
                   O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
      if (fd < 0 && errno != EEXIST)
        return set_errno_error (error, errno, _("Cannot write"), path);
    }
  if (fd < 0)
    return set_errno_error (error, EEXIST, _("Cannot write"), path);

  /* the umask could only narrow 0600, but say it explicitly */
  if (fchmod (fd, 0600) != 0)
    goto fail;
  while (done < length)
    {
      ssize_t n = write (fd, data + done, length - done);

      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        goto fail;
      done += n;
    }
  if (fsync (fd) != 0)
    goto fail;
  if (close (fd) != 0)
    {
      fd = -1;
      goto fail;
    }
  fd = -1;
  if (renameat (self->dir_fd, tmp, self->dir_fd, file) != 0)
    goto fail;
  return fsync_dir (self, error);

fail:
  {
    int saved_errno = errno;

    if (fd >= 0)
      close (fd);
    unlinkat (self->dir_fd, tmp, 0);
    return set_errno_error (error, saved_errno, _("Cannot write"), path);
  }
}

gboolean
herald_system_secrets_store (HeraldSystemSecrets  *self,
                             const char           *name,
                             const guint8         *data,
                             gsize                 length,
                             GError              **error)
{
  gboolean encrypted;
  g_autofree char *file = NULL;
  g_autofree char *other = NULL;
  g_autoptr(GBytes) sealed = NULL;
  gboolean ok;

  g_return_val_if_fail (HERALD_IS_SYSTEM_SECRETS (self), FALSE);
  g_return_val_if_fail (data != NULL || length == 0, FALSE);

  if (!herald_system_secret_name_is_valid (name, error))
    return FALSE;
  if (length > SECRET_FILE_MAX / 2)
    {
      g_set_error (error, HERALD_SYSTEM_SECRETS_ERROR, HERALD_SYSTEM_SECRETS_ERROR_FAILED,
                   _("The secret “%s” is too large to store."), name);
      return FALSE;
    }

  encrypted = have_creds (self);
  file = g_strconcat (name, encrypted ? SUFFIX_CRED : SUFFIX_PLAIN, NULL);
  other = g_strconcat (name, encrypted ? SUFFIX_PLAIN : SUFFIX_CRED, NULL);
  if (!check_existing (self, file, error) || !check_existing (self, other, error))
    return FALSE;

  if (encrypted)
    {
      /* systemd-creds writes the ciphertext to its standard output and we
       * write it ourselves: its own OUTPUT file would be created with the
       * umask's mode, in place, and through a symlink. */
      sealed = run_creds (self, "encrypt", name, data, length, error);
      if (sealed == NULL)
        return FALSE;
      ok = write_atomically (self, file, g_bytes_get_data (sealed, NULL),
                             g_bytes_get_size (sealed), error);
    }
  else
    ok = write_atomically (self, file, data, length, error);

  /* the secret now lives in @file only: no stale copy in the other format */
  if (ok && !remove_file (self, other, error))
    return FALSE;
  return ok && fsync_dir (self, error);
}

gboolean
herald_system_secrets_delete (HeraldSystemSecrets  *self,
                              const char           *name,
                              GError              **error)
{
  g_autofree char *cred = NULL;
  g_autofree char *plain = NULL;

  g_return_val_if_fail (HERALD_IS_SYSTEM_SECRETS (self), FALSE);
  if (!herald_system_secret_name_is_valid (name, error))
    return FALSE;

  cred = g_strconcat (name, SUFFIX_CRED, NULL);
  plain = g_strconcat (name, SUFFIX_PLAIN, NULL);
  /* unlinkat never follows a symlink: removing one is safe */
  return remove_file (self, cred, error)
         && remove_file (self, plain, error)
         && fsync_dir (self, error);
}
