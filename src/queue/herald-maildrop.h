/* SPDX-License-Identifier: GPL-3.0-or-later
 * Copyright 2026 The Herald authors
 */
#pragma once

/* The system maildrop ($localstatedir/spool/herald/maildrop, mode 1733):
 * where a caller that is not root leaves its message for the root runner.
 * Any local user can create a file there but not list the directory or
 * read another's file. One file per message:
 *
 *   HERALD-MAILDROP 1\n
 *   client ADDRESS\n      (optional, at most once: the relay's client, an IP address)
 *   device USER\n         (optional, at most once: the relay's device user)
 *   rcpt ADDRESS\n        (1 to 1000 times)
 *   \n
 *   the message (RFC 5322, CRLF)
 *
 * created 0600 by its writer, written, fsync'ed, then marked complete by
 * setting the owner's execute bit, as Postfix's postdrop does (a file
 * without it is still being written), together with read permission for
 * root alone (a POSIX ACL: the runner has no capabilities). The runner treats every file as
 * untrusted input (herald_maildrop_parse() checks everything). */

#include <gio/gio.h>

G_BEGIN_DECLS

#define HERALD_MAILDROP_MAGIC          "HERALD-MAILDROP 1\n"
#define HERALD_MAILDROP_MAX_RECIPIENTS 1000
/* The envelope part may take at most this much besides the message. */
#define HERALD_MAILDROP_MAX_HEADER     (256 * 1024)

/* The file's bytes for @message and @recipients (valid envelope addresses). */
GBytes   *herald_maildrop_build (GBytes              *message,
                                 const char * const  *recipients,
                                 GError             **error) G_GNUC_WARN_UNUSED_RESULT;

/* The same with the relay's client address and device user (either may be
 * NULL): what herald-relay.service writes. The runner believes these lines
 * only in a file the relay's system user owns (anyone may write them). */
GBytes   *herald_maildrop_build_relayed (GBytes              *message,
                                         const char * const  *recipients,
                                         const char          *client_address,
                                         const char          *device_user,
                                         GError             **error) G_GNUC_WARN_UNUSED_RESULT;

/* Checks @data as a maildrop file: the magic line, an optional "client" line
 * (an IP address), an optional "device" line (1 to 64 of A-Z a-z 0-9 . _ @ +
 * -), in this order, 1 to 1000 "rcpt" lines of one envelope address each (no
 * spaces, brackets, controls or non-UTF-8), the empty line, a non-empty
 * message. Returns the recipients and where the message starts;
 * G_IO_ERROR_INVALID_DATA with the reason otherwise. */
gboolean  herald_maildrop_parse (const guint8  *data,
                                 gsize          length,
                                 char        ***recipients,
                                 gsize         *message_offset,
                                 GError       **error);
/* The same, also returning the client and device lines' values (NULL when
 * the file has none). */
gboolean  herald_maildrop_parse_relayed (const guint8  *data,
                                         gsize          length,
                                         char        ***recipients,
                                         char         **client_address,
                                         char         **device_user,
                                         gsize         *message_offset,
                                         GError       **error);

/* Writes @file_bytes into @directory as a new maildrop file (random name,
 * O_EXCL, 0600, fsync'ed, then 0700 = complete). Returns the file's name. On
 * error nothing is left behind. */
char     *herald_maildrop_write (const char    *directory,
                                 GBytes        *file_bytes,
                                 GError       **error) G_GNUC_WARN_UNUSED_RESULT;

G_END_DECLS
