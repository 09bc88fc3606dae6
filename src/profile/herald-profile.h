/* SPDX-License-Identifier: GPL-3.0-or-later
 * Copyright 2026 The Herald authors
 */
#pragma once

/* A profile: everything heraldctl send, the queue and the window need to
 * deliver alerts. Three parts, each behind this one interface so that
 * another scope (a system profile read from a key file, a root-owned
 * credential store, a system queue) only adds a source:
 *   - the settings (today GSettings, schema io.github.heraldmail.Herald),
 *     with where each value came from and the window's own checks on every
 *     value set;
 *   - the credential store (today the desktop keyring, src/secrets);
 *   - the queue directory ($XDG_STATE_HOME/herald/queue).
 * No secret is ever kept in the settings or the queue. */

#include <gio/gio.h>

#include "herald-smtp.h"

G_BEGIN_DECLS

#define HERALD_PROFILE_ERROR (herald_profile_error_quark ())
GQuark herald_profile_error_quark (void);

typedef enum {
  HERALD_PROFILE_ERROR_NO_SETTINGS,   /* the settings source is not available */
  HERALD_PROFILE_ERROR_UNKNOWN_KEY,   /* no such setting */
  HERALD_PROFILE_ERROR_INVALID_VALUE, /* the value does not pass the setting's checks */
  HERALD_PROFILE_ERROR_INCOMPLETE,    /* no server (or no sender) saved */
} HeraldProfileError;

/* Where a setting's value comes from. */
typedef enum {
  HERALD_PROFILE_SOURCE_DEFAULT,  /* "default": nobody set it */
  HERALD_PROFILE_SOURCE_SAVED,    /* "saved": set in this profile's settings */
} HeraldProfileSource;

const char *herald_profile_source_to_string (HeraldProfileSource source);

/* Whether the credential the settings call for is in the store. */
typedef enum {
  HERALD_CREDENTIAL_NOT_NEEDED,   /* "not-needed": auth none */
  HERALD_CREDENTIAL_STORED,       /* "stored" */
  HERALD_CREDENTIAL_MISSING,      /* "missing" */
  HERALD_CREDENTIAL_UNREADABLE,   /* "unreadable": the store could not be asked */
} HeraldCredentialState;

const char *herald_credential_state_to_string (HeraldCredentialState state);

#define HERALD_TYPE_PROFILE (herald_profile_get_type ())
G_DECLARE_FINAL_TYPE (HeraldProfile, herald_profile, HERALD, PROFILE, GObject)

/* The logged-in user's profile: GSettings, the desktop keyring, and the queue
 * in $XDG_STATE_HOME/herald/queue. Fails with HERALD_PROFILE_ERROR_NO_SETTINGS
 * when the GSettings schema is not installed. */
HeraldProfile *herald_profile_new_user (GError **error) G_GNUC_WARN_UNUSED_RESULT;

/* "user" (issue of scopes: a system profile says "system"). */
const char    *herald_profile_get_scope       (HeraldProfile *self);
/* A sentence naming the settings source, e.g. "GSettings (io.github…)". */
const char    *herald_profile_describe_source (HeraldProfile *self);
/* A sentence naming the credential store, e.g. "the desktop keyring". */
const char    *herald_profile_describe_credentials (HeraldProfile *self);

/* The keys `heraldctl config` shows and sets, in the schema's order
 * (window geometry left out). NULL-terminated, owned by the profile. */
const char * const *herald_profile_list_keys  (HeraldProfile *self);
gboolean       herald_profile_has_key         (HeraldProfile *self,
                                               const char    *key);
/* The value as text ("587", "true", "alerts@contoso.com"), and where it
 * came from. NULL with an error for an unknown key. */
char          *herald_profile_get_text        (HeraldProfile        *self,
                                               const char           *key,
                                               HeraldProfileSource  *source,
                                               GError              **error) G_GNUC_WARN_UNUSED_RESULT;
/* Parses and checks @text exactly as the window does (a port out of range
 * is an error, never clamped; addresses must be valid; no line breaks),
 * then saves it. */
gboolean       herald_profile_set_text        (HeraldProfile  *self,
                                               const char     *key,
                                               const char     *text,
                                               GError        **error);
/* Only the check, nothing saved: for the fuzzers and the window. */
gboolean       herald_profile_check_text      (HeraldProfile  *self,
                                               const char     *key,
                                               const char     *text,
                                               GError        **error);

/* Typed getters for the delivery code. get_string returns NULL for an
 * empty string. */
char          *herald_profile_get_string      (HeraldProfile *self,
                                               const char    *key) G_GNUC_WARN_UNUSED_RESULT;
gboolean       herald_profile_get_boolean     (HeraldProfile *self,
                                               const char    *key);
gint64         herald_profile_get_number      (HeraldProfile *self,
                                               const char    *key);

/* The engine configuration for delivering with this profile: server, port,
 * security, auth, username, from, to, cc, ca-file, timeout. No secret (the
 * caller fills password or token). HERALD_PROFILE_ERROR_INCOMPLETE when no
 * server or no sender is saved. */
HeraldSmtpConfig *herald_profile_to_smtp_config (HeraldProfile  *self,
                                                 GError        **error) G_GNUC_WARN_UNUSED_RESULT;

/* The settings object, for code that still takes GSettings (the OAuth
 * token refresh). NULL for a profile that has none. */
GSettings     *herald_profile_get_settings    (HeraldProfile *self);

/* ---- credentials ---------------------------------------------------------- */

/* The password saved for the profile's server, port and username: the same
 * entry the window uses. NULL without error when there is none. */
char          *herald_profile_lookup_password (HeraldProfile  *self,
                                               GCancellable   *cancellable,
                                               GError        **error) G_GNUC_WARN_UNUSED_RESULT;
gboolean       herald_profile_store_password  (HeraldProfile  *self,
                                               const char     *password,
                                               GCancellable   *cancellable,
                                               GError        **error);
/* Looks without ever returning the secret. */
HeraldCredentialState herald_profile_get_credential_state (HeraldProfile  *self,
                                                           GCancellable   *cancellable,
                                                           char          **detail);

/* ---- queue ---------------------------------------------------------------- */

/* The user profile's queue directory, $XDG_STATE_HOME/herald/queue, without
 * opening the profile (the window shows it). */
char          *herald_profile_dup_user_queue_dir (void) G_GNUC_WARN_UNUSED_RESULT;

/* The profile's queue directory (not created here). */
const char    *herald_profile_get_queue_dir   (HeraldProfile *self);

G_END_DECLS
