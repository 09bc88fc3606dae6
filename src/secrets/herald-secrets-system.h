/* SPDX-License-Identifier: GPL-3.0-or-later
 * Copyright 2026 The Herald authors
 */
#pragma once

/* Root's secret store for servers without a desktop session: one file per
 * named secret (SMTP password, OAuth refresh token, ...) in a directory only
 * its owner can enter, encrypted with systemd-creds and the host key when
 * systemd-creds is there, else a plain 0600 file. Needs neither D-Bus nor
 * libsecret, so a system service can use it with no session bus. */

#include <gio/gio.h>

G_BEGIN_DECLS

#define HERALD_SYSTEM_SECRETS_ERROR (herald_system_secrets_error_quark ())
GQuark herald_system_secrets_error_quark (void);

typedef enum {
  HERALD_SYSTEM_SECRETS_ERROR_INVALID_NAME, /* empty, too long, '/', "..", odd characters */
  HERALD_SYSTEM_SECRETS_ERROR_UNSAFE,       /* other users can reach it, wrong owner, symlink */
  HERALD_SYSTEM_SECRETS_ERROR_FAILED,
} HeraldSystemSecretsErrorCode;

typedef enum {
  HERALD_SYSTEM_PROTECTION_HOST_KEY,   /* systemd-creds encrypt --with-key=host */
  HERALD_SYSTEM_PROTECTION_PLAIN_FILE, /* a 0600 file readable by its owner (root) only */
} HeraldSystemProtection;

#define HERALD_SYSTEM_SECRET_NAME_MAX 128

#define HERALD_TYPE_SYSTEM_SECRETS (herald_system_secrets_get_type ())
G_DECLARE_FINAL_TYPE (HeraldSystemSecrets, herald_system_secrets, HERALD, SYSTEM_SECRETS, GObject)

/* Opens (creating it 0700 if missing) the store in @directory, whose parent
 * must exist. Fails with HERALD_SYSTEM_SECRETS_ERROR_UNSAFE when the directory
 * is a symlink, owned by another user, or open to group or others. */
HeraldSystemSecrets    *herald_system_secrets_new            (const char           *directory,
                                                              GError              **error);

const char             *herald_system_secrets_get_directory  (HeraldSystemSecrets  *self);

/* Which protection new secrets get, and a sentence for `config show` and
 * `doctor` ("encrypted with the host key", ...). */
HeraldSystemProtection  herald_system_secrets_get_protection (HeraldSystemSecrets  *self);
const char             *herald_system_protection_describe    (HeraldSystemProtection protection);

/* Tests only: the systemd-creds program to run; NULL or a path that is not
 * an executable means "not available", i.e. plain files. */
void                    herald_system_secrets_set_creds_path (HeraldSystemSecrets  *self,
                                                              const char           *path);

gboolean                herald_system_secret_name_is_valid   (const char           *name,
                                                              GError              **error);

/* Replaces the secret @name atomically (old or new content, never a part). */
gboolean                herald_system_secrets_store          (HeraldSystemSecrets  *self,
                                                              const char           *name,
                                                              const guint8         *data,
                                                              gsize                 length,
                                                              GError              **error);

/* The secret, NUL-terminated, its size in @length; NULL and no error when
 * there is none. Free it with herald_system_secret_free(). */
guint8                 *herald_system_secrets_lookup         (HeraldSystemSecrets  *self,
                                                              const char           *name,
                                                              gsize                *length,
                                                              GError              **error) G_GNUC_WARN_UNUSED_RESULT;

/* TRUE also when there was nothing to delete. */
gboolean                herald_system_secrets_delete         (HeraldSystemSecrets  *self,
                                                              const char           *name,
                                                              GError              **error);

/* Wipes and frees a secret from herald_system_secrets_lookup(). */
void                    herald_system_secret_free            (guint8               *secret,
                                                              gsize                 length);

G_END_DECLS
