/* SPDX-License-Identifier: GPL-3.0-or-later
 * Copyright 2026 The Herald authors
 */
#pragma once

/* The desktop keyring (Secret Service through libsecret), shared by the window
 * and heraldctl. Passwords are keyed by server, port and username; OAuth tokens
 * by provider, account and client ID. Nothing here ever writes a secret
 * anywhere but the keyring. */

#include <gio/gio.h>

G_BEGIN_DECLS

#define HERALD_SECRETS_ERROR (herald_secrets_error_quark ())
GQuark herald_secrets_error_quark (void);

typedef enum {
  HERALD_SECRETS_ERROR_NO_SERVICE,  /* no Secret Service on the session bus */
  HERALD_SECRETS_ERROR_LOCKED,      /* the collection is locked and was not unlocked */
  HERALD_SECRETS_ERROR_FAILED,
} HeraldSecretsErrorCode;

/* Password for SMTP AUTH. lookup returns NULL with no error when there is none. */
char     *herald_password_lookup_sync  (const char    *host,
                                        guint16        port,
                                        const char    *username,
                                        GCancellable  *cancellable,
                                        GError       **error) G_GNUC_WARN_UNUSED_RESULT;
void      herald_password_lookup_async (const char          *host,
                                        guint16              port,
                                        const char          *username,
                                        GCancellable        *cancellable,
                                        GAsyncReadyCallback  callback,
                                        gpointer             user_data);
char     *herald_password_lookup_finish (GAsyncResult  *result,
                                         GError       **error) G_GNUC_WARN_UNUSED_RESULT;
gboolean  herald_password_store_sync   (const char    *host,
                                        guint16        port,
                                        const char    *username,
                                        const char    *password,
                                        GCancellable  *cancellable,
                                        GError       **error);
void      herald_password_store_async  (const char          *host,
                                        guint16              port,
                                        const char          *username,
                                        const char          *password,
                                        GCancellable        *cancellable,
                                        GAsyncReadyCallback  callback,
                                        gpointer             user_data);
gboolean  herald_password_store_finish (GAsyncResult  *result,
                                        GError       **error);
gboolean  herald_password_clear_sync   (const char    *host,
                                        guint16        port,
                                        const char    *username,
                                        GCancellable  *cancellable,
                                        GError       **error);

G_END_DECLS
