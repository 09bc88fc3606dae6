/* SPDX-License-Identifier: GPL-3.0-or-later
 * Copyright 2026 The Herald authors
 */
#define G_LOG_DOMAIN "herald-relay"

#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <glib/gi18n.h>
#include <glib/gstdio.h>
#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "herald-relay.h"

/* Device users: "NAME:pbkdf2-sha256:ITERATIONS:SALT:HASH" lines (salt and
 * hash in base64), one file, mode 0600, replaced atomically. The password
 * itself is never written anywhere and is wiped from memory after use. */

#define SCHEME        "pbkdf2-sha256"
#define SALT_BYTES    16
#define HASH_BYTES    32
#define MAX_FILE_SIZE (1024 * 1024)
#define MAX_ITERATIONS 10000000

typedef struct {
  char   *name;
  guint   iterations;
  GBytes *salt;
  GBytes *hash;
} User;

struct _HeraldRelayUsers
{
  GObject     parent_instance;

  char       *path;
  GMutex      lock;
  GPtrArray  *users;      /* of User; NULL until read */
  gint64      mtime;      /* of the file when read; -1: there was none */
  gint64      size;
  gint64      inode;
  int         mode;       /* of the file written */
};

G_DEFINE_FINAL_TYPE (HeraldRelayUsers, herald_relay_users, G_TYPE_OBJECT)

static void
user_free (User *user)
{
  g_free (user->name);
  g_bytes_unref (user->salt);
  g_bytes_unref (user->hash);
  g_free (user);
}

static void
herald_relay_users_finalize (GObject *object)
{
  HeraldRelayUsers *self = HERALD_RELAY_USERS (object);

  g_free (self->path);
  g_clear_pointer (&self->users, g_ptr_array_unref);
  g_mutex_clear (&self->lock);

  G_OBJECT_CLASS (herald_relay_users_parent_class)->finalize (object);
}

static void
herald_relay_users_class_init (HeraldRelayUsersClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = herald_relay_users_finalize;
}

static void
herald_relay_users_init (HeraldRelayUsers *self)
{
  g_mutex_init (&self->lock);
  self->mtime = -2;
  self->mode = 0600;
}

HeraldRelayUsers *
herald_relay_users_new (const char *path)
{
  HeraldRelayUsers *self;

  g_return_val_if_fail (path != NULL, NULL);

  self = g_object_new (HERALD_TYPE_RELAY_USERS, NULL);
  self->path = g_strdup (path);
  return self;
}

void
herald_relay_users_set_mode (HeraldRelayUsers *self,
                             int               mode)
{
  g_return_if_fail (HERALD_IS_RELAY_USERS (self));
  g_return_if_fail ((mode & 0077 & ~0040) == 0);

  self->mode = mode;
}

const char *
herald_relay_users_get_path (HeraldRelayUsers *self)
{
  g_return_val_if_fail (HERALD_IS_RELAY_USERS (self), NULL);
  return self->path;
}

gboolean
herald_relay_user_name_is_valid (const char *name)
{
  gsize n;

  if (name == NULL)
    return FALSE;
  n = strlen (name);
  if (n == 0 || n > 64 || name[0] == '-' || name[0] == '.')
    return FALSE;
  for (const char *p = name; *p != '\0'; p++)
    if (!g_ascii_isalnum (*p) && strchr ("._@+-", *p) == NULL)
      return FALSE;
  return TRUE;
}

static gboolean
damaged (GError     **error,
         const char  *path,
         guint        line)
{
  g_set_error (error, HERALD_RELAY_ERROR, HERALD_RELAY_ERROR_DAMAGED,
               _("the device users file %s is damaged (line %u); remove it and add the users "
                 "again"), path, line);
  return FALSE;
}

static gboolean
parse_file (const char  *path,
            const char  *text,
            GPtrArray  **out,
            GError     **error)
{
  g_autoptr(GPtrArray) users = g_ptr_array_new_with_free_func ((GDestroyNotify) user_free);
  g_auto(GStrv) lines = g_strsplit (text, "\n", -1);

  for (guint i = 0; lines[i] != NULL; i++)
    {
      g_auto(GStrv) fields = NULL;
      g_autofree guchar *salt = NULL, *hash = NULL;
      gsize salt_len = 0, hash_len = 0;
      guint64 iterations;
      User *user;

      if (lines[i][0] == '\0' || lines[i][0] == '#')
        continue;
      fields = g_strsplit (lines[i], ":", -1);
      if (g_strv_length (fields) != 5 || !herald_relay_user_name_is_valid (fields[0]) ||
          !g_str_equal (fields[1], SCHEME) ||
          !g_ascii_string_to_unsigned (fields[2], 10, 1000, MAX_ITERATIONS, &iterations, NULL))
        return damaged (error, path, i + 1);
      salt = g_base64_decode (fields[3], &salt_len);
      hash = g_base64_decode (fields[4], &hash_len);
      if (salt_len < 8 || hash_len != HASH_BYTES)
        return damaged (error, path, i + 1);

      user = g_new0 (User, 1);
      user->name = g_strdup (fields[0]);
      user->iterations = (guint) iterations;
      user->salt = g_bytes_new (salt, salt_len);
      user->hash = g_bytes_new (hash, hash_len);
      g_ptr_array_add (users, user);
    }
  *out = g_steal_pointer (&users);
  return TRUE;
}

/* Called with the lock held: reads the file when it changed since the last
 * read (or was never read). A missing file is no users. */
static gboolean
refresh_locked (HeraldRelayUsers  *self,
                GError           **error)
{
  struct stat st;
  g_autofree char *text = NULL;
  g_autoptr(GError) local = NULL;
  GPtrArray *users = NULL;
  gsize length;

  if (g_stat (self->path, &st) != 0)
    {
      int saved = errno;

      if (saved != ENOENT)
        {
          g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved),
                       _("cannot read the device users file %s: %s"), self->path,
                       g_strerror (saved));
          return FALSE;
        }
      g_clear_pointer (&self->users, g_ptr_array_unref);
      self->users = g_ptr_array_new_with_free_func ((GDestroyNotify) user_free);
      self->mtime = -1;
      return TRUE;
    }

  if (self->users != NULL && self->mtime == (gint64) st.st_mtim.tv_sec * 1000000000 +
      st.st_mtim.tv_nsec && self->size == st.st_size && self->inode == (gint64) st.st_ino)
    return TRUE;

  if (!S_ISREG (st.st_mode) || st.st_size > MAX_FILE_SIZE)
    return damaged (error, self->path, 0);
  if (!g_file_get_contents (self->path, &text, &length, &local))
    {
      g_propagate_prefixed_error (error, g_steal_pointer (&local),
                                  _("cannot read the device users file: "));
      return FALSE;
    }
  if (strlen (text) != length)
    return damaged (error, self->path, 0);
  if (!parse_file (self->path, text, &users, error))
    return FALSE;

  g_clear_pointer (&self->users, g_ptr_array_unref);
  self->users = users;
  self->mtime = (gint64) st.st_mtim.tv_sec * 1000000000 + st.st_mtim.tv_nsec;
  self->size = st.st_size;
  self->inode = (gint64) st.st_ino;
  return TRUE;
}

static User *
find_locked (HeraldRelayUsers *self,
             const char       *name)
{
  for (guint i = 0; self->users != NULL && i < self->users->len; i++)
    {
      User *user = g_ptr_array_index (self->users, i);

      if (g_str_equal (user->name, name))
        return user;
    }
  return NULL;
}

static int
compare_names (gconstpointer a,
               gconstpointer b)
{
  return g_strcmp0 (*(const char * const *) a, *(const char * const *) b);
}

GStrv
herald_relay_users_list (HeraldRelayUsers  *self,
                         GError           **error)
{
  g_autoptr(GPtrArray) names = g_ptr_array_new ();

  g_return_val_if_fail (HERALD_IS_RELAY_USERS (self), NULL);

  g_mutex_lock (&self->lock);
  if (!refresh_locked (self, error))
    {
      g_mutex_unlock (&self->lock);
      return NULL;
    }
  for (guint i = 0; i < self->users->len; i++)
    g_ptr_array_add (names, g_strdup (((User *) g_ptr_array_index (self->users, i))->name));
  g_mutex_unlock (&self->lock);

  g_ptr_array_sort (names, compare_names);
  g_ptr_array_add (names, NULL);
  return (GStrv) g_ptr_array_free (g_steal_pointer (&names), FALSE);
}

static gboolean
derive (const char *password,
        GBytes     *salt,
        guint       iterations,
        guint8     *out)
{
  gnutls_datum_t key = { (unsigned char *) password, (unsigned int) strlen (password) };
  gsize salt_len;
  gnutls_datum_t salt_datum;

  salt_datum.data = (unsigned char *) g_bytes_get_data (salt, &salt_len);
  salt_datum.size = (unsigned int) salt_len;
  return gnutls_pbkdf2 (GNUTLS_MAC_SHA256, &key, &salt_datum, iterations, out, HASH_BYTES) == 0;
}

/* Writes every user to the file: temp, fsync, rename, directory fsync,
 * with mode 0600 (or the group-readable mode of the system scope) from the
 * start (never readable by others, not even for a moment). */
static gboolean
write_locked (HeraldRelayUsers  *self,
              GError           **error)
{
  g_autoptr(GString) text = g_string_new ("# Herald relay device users: name:scheme:iterations:"
                                          "salt:hash (written by heraldctl relay user)\n");
  g_autofree char *dir = g_path_get_dirname (self->path);

  for (guint i = 0; i < self->users->len; i++)
    {
      User *user = g_ptr_array_index (self->users, i);
      gsize salt_len, hash_len;
      const guchar *salt = g_bytes_get_data (user->salt, &salt_len);
      const guchar *hash = g_bytes_get_data (user->hash, &hash_len);
      g_autofree char *salt64 = g_base64_encode (salt, salt_len);
      g_autofree char *hash64 = g_base64_encode (hash, hash_len);

      g_string_append_printf (text, "%s:%s:%u:%s:%s\n", user->name, SCHEME, user->iterations,
                              salt64, hash64);
    }

  if (g_mkdir_with_parents (dir, 0700) != 0)
    {
      int saved = errno;

      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved),
                   _("cannot create %s: %s"), dir, g_strerror (saved));
      return FALSE;
    }
  if (!g_file_set_contents_full (self->path, text->str, (gssize) text->len,
                                 G_FILE_SET_CONTENTS_CONSISTENT | G_FILE_SET_CONTENTS_DURABLE,
                                 self->mode, error))
    return FALSE;
  /* Read back on the next use (the stat changed). */
  self->mtime = -2;
  return TRUE;
}

gboolean
herald_relay_users_add (HeraldRelayUsers  *self,
                        const char        *name,
                        const char        *password,
                        gboolean          *replaced,
                        GError           **error)
{
  guint8 salt[SALT_BYTES];
  guint8 hash[HASH_BYTES];
  User *user;
  gboolean ok;

  g_return_val_if_fail (HERALD_IS_RELAY_USERS (self), FALSE);
  g_return_val_if_fail (password != NULL, FALSE);

  if (!herald_relay_user_name_is_valid (name))
    {
      g_set_error (error, HERALD_RELAY_ERROR, HERALD_RELAY_ERROR_BAD_USER,
                   _("“%s” is not a valid device user name: use 1 to 64 letters, digits and "
                     "the characters . _ @ + -"), name != NULL ? name : "");
      return FALSE;
    }
  if (g_utf8_strlen (password, -1) < HERALD_RELAY_MIN_PASSWORD ||
      strpbrk (password, "\r\n") != NULL || !g_utf8_validate (password, -1, NULL))
    {
      g_set_error (error, HERALD_RELAY_ERROR, HERALD_RELAY_ERROR_BAD_PASSWORD,
                   _("the password must be UTF-8 text of at least %d characters"),
                   HERALD_RELAY_MIN_PASSWORD);
      return FALSE;
    }
  if (gnutls_rnd (GNUTLS_RND_KEY, salt, sizeof salt) != 0)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, _("no random numbers for the salt"));
      return FALSE;
    }

  g_mutex_lock (&self->lock);
  if (!refresh_locked (self, error))
    {
      g_mutex_unlock (&self->lock);
      return FALSE;
    }
  {
    g_autoptr(GBytes) salt_bytes = g_bytes_new (salt, sizeof salt);

    if (!derive (password, salt_bytes, HERALD_RELAY_PBKDF2_ITERATIONS, hash))
      {
        g_mutex_unlock (&self->lock);
        g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, _("PBKDF2 failed"));
        return FALSE;
      }
    user = find_locked (self, name);
    if (replaced != NULL)
      *replaced = user != NULL;
    if (user == NULL)
      {
        user = g_new0 (User, 1);
        user->name = g_strdup (name);
        g_ptr_array_add (self->users, user);
      }
    g_clear_pointer (&user->salt, g_bytes_unref);
    g_clear_pointer (&user->hash, g_bytes_unref);
    user->salt = g_steal_pointer (&salt_bytes);
    user->hash = g_bytes_new (hash, sizeof hash);
    user->iterations = HERALD_RELAY_PBKDF2_ITERATIONS;
  }
  ok = write_locked (self, error);
  g_mutex_unlock (&self->lock);
  gnutls_memset (hash, 0, sizeof hash);
  return ok;
}

gboolean
herald_relay_users_remove (HeraldRelayUsers  *self,
                           const char        *name,
                           GError           **error)
{
  User *user;
  gboolean ok;

  g_return_val_if_fail (HERALD_IS_RELAY_USERS (self), FALSE);

  g_mutex_lock (&self->lock);
  if (!refresh_locked (self, error))
    {
      g_mutex_unlock (&self->lock);
      return FALSE;
    }
  user = name != NULL ? find_locked (self, name) : NULL;
  if (user == NULL)
    {
      g_mutex_unlock (&self->lock);
      g_set_error (error, HERALD_RELAY_ERROR, HERALD_RELAY_ERROR_NO_SUCH_USER,
                   _("there is no device user “%s”"), name != NULL ? name : "");
      return FALSE;
    }
  g_ptr_array_remove (self->users, user);
  ok = write_locked (self, error);
  g_mutex_unlock (&self->lock);
  return ok;
}

gboolean
herald_relay_users_verify (HeraldRelayUsers *self,
                           const char       *name,
                           const char       *password)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) salt = NULL;
  g_autoptr(GBytes) expected = NULL;
  guint8 hash[HASH_BYTES];
  guint iterations = HERALD_RELAY_PBKDF2_ITERATIONS;
  const guint8 *want;
  guint8 diff = 0;
  gboolean known;

  g_return_val_if_fail (HERALD_IS_RELAY_USERS (self), FALSE);

  if (name == NULL || password == NULL)
    return FALSE;

  g_mutex_lock (&self->lock);
  if (!refresh_locked (self, &error))
    g_warning ("%s", error->message);
  {
    User *user = self->users != NULL ? find_locked (self, name) : NULL;

    known = user != NULL;
    if (known)
      {
        salt = g_bytes_ref (user->salt);
        expected = g_bytes_ref (user->hash);
        iterations = user->iterations;
      }
  }
  g_mutex_unlock (&self->lock);

  /* An unknown name costs the same as a wrong password, so that timing
   * does not tell which names exist. */
  if (!known)
    {
      static const guint8 zero[SALT_BYTES] = { 0 };

      salt = g_bytes_new_static (zero, sizeof zero);
      expected = g_bytes_new_static (zero, 0);
    }
  if (!derive (password, salt, iterations, hash))
    return FALSE;

  want = g_bytes_get_data (expected, NULL);
  if (!known)
    return FALSE;
  for (gsize i = 0; i < HASH_BYTES; i++)
    diff |= hash[i] ^ want[i];
  gnutls_memset (hash, 0, sizeof hash);
  return diff == 0;
}
