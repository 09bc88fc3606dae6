/* SPDX-License-Identifier: GPL-3.0-or-later
 * Copyright 2026 The Herald authors
 */
#define G_LOG_DOMAIN "herald-queue"

#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <glib/gi18n.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "herald-maildrop.h"

static gboolean
invalid (GError    **error,
         const char *reason)
{
  g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
               _("not a maildrop file Herald wrote: %s"), reason);
  return FALSE;
}

static gboolean
is_envelope_address (const char *s,
                     gsize       length)
{
  const char *at = NULL;

  if (length == 0 || length > 998 || !g_utf8_validate (s, (gssize) length, NULL))
    return FALSE;
  for (gsize i = 0; i < length; i++)
    {
      guchar c = (guchar) s[i];

      if (c <= ' ' || c == 0x7f || strchr ("<>\"\\", c) != NULL)
        return FALSE;
      if (c == '@')
        at = s + i;
    }
  return at != NULL && at != s && at != s + length - 1;
}

/* What g_inet_address_to_string() gives for the relay's client: an IPv4 or
 * IPv6 address (a scope id included), nothing else. */
static gboolean
is_client_address (const char *s,
                   gsize       length)
{
  char text[65];

  if (length == 0 || length >= sizeof text)
    return FALSE;
  for (gsize i = 0; i < length; i++)
    if (!g_ascii_isalnum (s[i]) && strchr (".:%_-", s[i]) == NULL)
      return FALSE;
  memcpy (text, s, length);
  text[length] = '\0';
  return g_hostname_is_ip_address (text);
}

/* The relay's device user names (herald_relay_user_name_is_valid()). */
static gboolean
is_device_user (const char *s,
                gsize       length)
{
  if (length == 0 || length > 64 || s[0] == '-' || s[0] == '.')
    return FALSE;
  for (gsize i = 0; i < length; i++)
    if (!g_ascii_isalnum (s[i]) && (s[i] == '\0' || strchr ("._@+-", s[i]) == NULL))
      return FALSE;
  return TRUE;
}

gboolean
herald_maildrop_parse_relayed (const guint8  *data,
                               gsize          length,
                               char        ***recipients,
                               char         **client_address,
                               char         **device_user,
                               gsize         *message_offset,
                               GError       **error)
{
  g_autoptr(GPtrArray) rcpts = g_ptr_array_new_with_free_func (g_free);
  g_autofree char *client = NULL;
  g_autofree char *device = NULL;
  gsize pos;
  const gsize magic = strlen (HERALD_MAILDROP_MAGIC);

  g_return_val_if_fail (data != NULL || length == 0, FALSE);

  if (length < magic || memcmp (data, HERALD_MAILDROP_MAGIC, magic) != 0)
    return invalid (error, _("it does not start with the maildrop line"));
  pos = magic;

  for (;;)
    {
      const guint8 *line = data + pos;
      gsize limit = MIN (length - pos, (gsize) HERALD_MAILDROP_MAX_HEADER);
      const guint8 *nl = memchr (line, '\n', limit);
      gsize line_length;

      if (pos >= HERALD_MAILDROP_MAX_HEADER)
        return invalid (error, _("its envelope is too long"));
      if (nl == NULL)
        return invalid (error, _("it ends inside the envelope (written only in part?)"));
      line_length = (gsize) (nl - line);
      pos += line_length + 1;
      if (line_length == 0)
        break;
      /* No envelope line has a NUL byte: C string checks would stop at it
       * (strchr() even finds one in its own set) and let the rest through. */
      if (memchr (line, '\0', line_length) != NULL)
        return invalid (error, _("its envelope has a NUL byte"));
      /* One order only (client, device, then the recipients), so that a
       * file has one form and builds back to the same bytes. */
      if (line_length > 7 && memcmp (line, "client ", 7) == 0 && client == NULL &&
          device == NULL && rcpts->len == 0)
        {
          if (!is_client_address ((const char *) line + 7, line_length - 7))
            return invalid (error, _("its client line is not an IP address"));
          client = g_strndup ((const char *) line + 7, line_length - 7);
          continue;
        }
      if (line_length > 7 && memcmp (line, "device ", 7) == 0 && device == NULL &&
          rcpts->len == 0)
        {
          if (!is_device_user ((const char *) line + 7, line_length - 7))
            return invalid (error, _("its device line is not a device user name"));
          device = g_strndup ((const char *) line + 7, line_length - 7);
          continue;
        }
      if (line_length < 6 || memcmp (line, "rcpt ", 5) != 0)
        return invalid (error, _("an envelope line is not a recipient"));
      if (!is_envelope_address ((const char *) line + 5, line_length - 5))
        return invalid (error, _("a recipient is not a valid address"));
      if (rcpts->len >= HERALD_MAILDROP_MAX_RECIPIENTS)
        return invalid (error, _("it has too many recipients"));
      g_ptr_array_add (rcpts, g_strndup ((const char *) line + 5, line_length - 5));
    }

  if (rcpts->len == 0)
    return invalid (error, _("it has no recipient"));
  if (pos >= length)
    return invalid (error, _("it has no message"));
  if (memchr (data + pos, '\0', length - pos) != NULL)
    return invalid (error, _("the message holds NUL bytes"));

  g_ptr_array_add (rcpts, NULL);
  if (recipients != NULL)
    *recipients = (char **) g_ptr_array_free (g_steal_pointer (&rcpts), FALSE);
  if (client_address != NULL)
    *client_address = g_steal_pointer (&client);
  if (device_user != NULL)
    *device_user = g_steal_pointer (&device);
  if (message_offset != NULL)
    *message_offset = pos;
  return TRUE;
}

gboolean
herald_maildrop_parse (const guint8  *data,
                       gsize          length,
                       char        ***recipients,
                       gsize         *message_offset,
                       GError       **error)
{
  return herald_maildrop_parse_relayed (data, length, recipients, NULL, NULL, message_offset,
                                        error);
}

GBytes *
herald_maildrop_build (GBytes              *message,
                       const char * const  *recipients,
                       GError             **error)
{
  return herald_maildrop_build_relayed (message, recipients, NULL, NULL, error);
}

GBytes *
herald_maildrop_build_relayed (GBytes              *message,
                               const char * const  *recipients,
                               const char          *client_address,
                               const char          *device_user,
                               GError             **error)
{
  g_autoptr(GByteArray) out = g_byte_array_new ();
  gsize length;
  const guint8 *data;
  guint n = 0;

  g_return_val_if_fail (message != NULL && recipients != NULL, NULL);

  g_byte_array_append (out, (const guint8 *) HERALD_MAILDROP_MAGIC,
                       strlen (HERALD_MAILDROP_MAGIC));
  /* The relay's own values: an address GIO gave and a name the device users
   * file holds. Anything else is left out rather than refuse a message. */
  if (client_address != NULL && is_client_address (client_address, strlen (client_address)))
    {
      g_byte_array_append (out, (const guint8 *) "client ", 7);
      g_byte_array_append (out, (const guint8 *) client_address, (guint) strlen (client_address));
      g_byte_array_append (out, (const guint8 *) "\n", 1);
    }
  if (device_user != NULL && is_device_user (device_user, strlen (device_user)))
    {
      g_byte_array_append (out, (const guint8 *) "device ", 7);
      g_byte_array_append (out, (const guint8 *) device_user, (guint) strlen (device_user));
      g_byte_array_append (out, (const guint8 *) "\n", 1);
    }
  for (; recipients[n] != NULL; n++)
    {
      if (!is_envelope_address (recipients[n], strlen (recipients[n])) ||
          n >= HERALD_MAILDROP_MAX_RECIPIENTS)
        {
          g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                       _("“%s” cannot be handed to the Herald service"), recipients[n]);
          return NULL;
        }
      g_byte_array_append (out, (const guint8 *) "rcpt ", 5);
      g_byte_array_append (out, (const guint8 *) recipients[n], (guint) strlen (recipients[n]));
      g_byte_array_append (out, (const guint8 *) "\n", 1);
    }
  if (n == 0)
    {
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT, _("no recipient"));
      return NULL;
    }
  g_byte_array_append (out, (const guint8 *) "\n", 1);
  data = g_bytes_get_data (message, &length);
  g_byte_array_append (out, data, (guint) length);
  return g_byte_array_free_to_bytes (g_steal_pointer (&out));
}

/* The owner's execute bit says "complete"; root must be able to read the
 * file without any capability (herald-queue.service runs with an empty
 * capability bounding set, so without CAP_DAC_OVERRIDE), and nobody else may.
 * A POSIX ACL says exactly that: owner rwx, user root r, group and others
 * nothing (the ACL's binary form, as the kernel takes it; see acl(5)). On a
 * file system without ACLs, others get read permission: the directory
 * cannot be listed by them and the name is 128 random bits, so they cannot
 * find it. */
static gboolean
mark_complete (int fd)
{
  struct { guint16 tag; guint16 perm; guint32 id; } entries[] = {
    { GUINT16_TO_LE (0x01), GUINT16_TO_LE (7), GUINT32_TO_LE (0xffffffff) },  /* ACL_USER_OBJ */
    { GUINT16_TO_LE (0x02), GUINT16_TO_LE (4), GUINT32_TO_LE (0) },           /* ACL_USER root */
    { GUINT16_TO_LE (0x04), GUINT16_TO_LE (0), GUINT32_TO_LE (0xffffffff) },  /* ACL_GROUP_OBJ */
    { GUINT16_TO_LE (0x10), GUINT16_TO_LE (4), GUINT32_TO_LE (0xffffffff) },  /* ACL_MASK */
    { GUINT16_TO_LE (0x20), GUINT16_TO_LE (0), GUINT32_TO_LE (0xffffffff) },  /* ACL_OTHER */
  };
  guint8 buf[4 + sizeof entries];
  guint32 version = GUINT32_TO_LE (2);

  G_STATIC_ASSERT (sizeof entries == 5 * 8);
  memcpy (buf, &version, 4);
  memcpy (buf + 4, entries, sizeof entries);
  if (fsetxattr (fd, "system.posix_acl_access", buf, sizeof buf, 0) == 0)
    return TRUE;
  if (errno != EOPNOTSUPP && errno != ENOTSUP)
    return FALSE;
  return fchmod (fd, 0704) == 0;
}

char *
herald_maildrop_write (const char  *directory,
                       GBytes      *file_bytes,
                       GError     **error)
{
  g_autofree char *name = NULL;
  g_autofree char *path = NULL;
  const guint8 *data;
  gsize length, done = 0;
  int fd = -1;

  g_return_val_if_fail (directory != NULL && file_bytes != NULL, NULL);

  for (int attempt = 0; fd < 0 && attempt < 8; attempt++)
    {
      g_free (name);
      g_free (path);
      /* Unguessable, so that nobody can make a name ours would take. */
      name = g_strdup_printf ("%08x%08x%08x%08x", g_random_int (), g_random_int (),
                              g_random_int (), g_random_int ());
      path = g_build_filename (directory, name, NULL);
      fd = open (path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
      if (fd < 0 && errno != EEXIST)
        break;
    }
  if (fd < 0)
    {
      int saved = errno;

      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved),
                   _("cannot write into the Herald service's maildrop %s: %s"), directory,
                   g_strerror (saved));
      return NULL;
    }

  data = g_bytes_get_data (file_bytes, &length);
  while (done < length)
    {
      ssize_t n = write (fd, data + done, length - done);

      if (n < 0 && errno == EINTR)
        continue;
      if (n <= 0)
        goto fail;
      done += (gsize) n;
    }
  /* The data on disk first, then the mark that says it is complete. */
  if (fsync (fd) != 0 || !mark_complete (fd) || fsync (fd) != 0)
    goto fail;
  if (close (fd) != 0)
    {
      fd = -1;
      goto fail;
    }
  return g_steal_pointer (&name);

fail:
  {
    int saved = errno != 0 ? errno : EIO;

    if (fd >= 0)
      close (fd);
    unlink (path);
    g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved),
                 _("cannot write into the Herald service's maildrop %s: %s"), directory,
                 g_strerror (saved));
    return NULL;
  }
}
