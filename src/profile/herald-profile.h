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
#include "herald-secrets-system.h"

G_BEGIN_DECLS

#define HERALD_PROFILE_ERROR (herald_profile_error_quark ())
GQuark herald_profile_error_quark (void);

typedef enum {
  HERALD_PROFILE_ERROR_NO_SETTINGS,   /* the settings source is not available */
  HERALD_PROFILE_ERROR_UNKNOWN_KEY,   /* no such setting */
  HERALD_PROFILE_ERROR_INVALID_VALUE, /* the value does not pass the setting's checks */
  HERALD_PROFILE_ERROR_INCOMPLETE,    /* no server (or no sender) saved */
  HERALD_PROFILE_ERROR_NO_PROFILE,    /* neither profile applies (exit 78) */
  HERALD_PROFILE_ERROR_PERMISSION,    /* the system profile's secrets: root only */
} HeraldProfileError;

/* Which profile a command uses: --user, --system, or the rule (AUTO). */
typedef enum {
  HERALD_PROFILE_SCOPE_AUTO,
  HERALD_PROFILE_SCOPE_USER,
  HERALD_PROFILE_SCOPE_SYSTEM,
} HeraldProfileScope;

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

/* The system profile: $sysconfdir/herald/herald.conf (a key file, group
 * [herald], the schema's key names, no secret), root's credential store in
 * $localstatedir/lib/herald and the queue in $localstatedir/spool/herald.
 * HERALD_PROFILE_ERROR_NO_PROFILE when the file does not exist, unless
 * @create (config --system set/import: the file is written on the first
 * change). */
HeraldProfile *herald_profile_new_system (gboolean   create,
                                          GError   **error) G_GNUC_WARN_UNUSED_RESULT;

/* The profile a command uses. @scope USER or SYSTEM: that one. AUTO: the
 * user profile when a session bus is reachable and a server is saved in it,
 * else the system profile when it exists, else HERALD_PROFILE_ERROR_NO_PROFILE
 * saying how to create one. With @for_writing (config set, password), AUTO
 * picks the user profile whenever a session bus is reachable or no system
 * profile exists, so that the first setting can be saved at all.
 * herald_profile_get_why() says which rule chose it. */
HeraldProfile *herald_profile_open       (HeraldProfileScope   scope,
                                          gboolean             for_writing,
                                          GError             **error) G_GNUC_WARN_UNUSED_RESULT;

/* Whether $sysconfdir/herald/herald.conf exists. */
gboolean       herald_profile_system_exists (void);
/* Whether a session bus can be reached (never autolaunches one). */
gboolean       herald_profile_session_bus_reachable (void);

/* The directories the system profile uses, from meson's sysconfdir and
 * localstatedir. A test build (tests/system) points them at its own tree
 * before anything else runs; nothing else may call set. */
void           herald_profile_set_system_dirs (const char *sysconfdir,
                                               const char *localstatedir);
/* Tests only, like set_system_dirs: the systemd-creds program the store
 * runs (a path that is not an executable: none, i.e. 0600 files). */
void           herald_profile_set_system_creds_path (const char *path);
const char    *herald_profile_system_config_file (void);   /* …/herald/herald.conf */
const char    *herald_profile_system_state_dir   (void);   /* …/lib/herald */
const char    *herald_profile_system_spool_dir   (void);   /* …/spool/herald (0711) */
const char    *herald_profile_system_queue_dir   (void);   /* …/spool/herald/queue (0700) */
const char    *herald_profile_system_maildrop_dir (void);  /* …/spool/herald/maildrop (1733) */
/* Root only: creates (or repairs the modes of) the spool, the queue and the
 * maildrop. */
gboolean       herald_profile_ensure_system_spool (GError **error);

/* "user" or "system". */
const char    *herald_profile_get_scope       (HeraldProfile *self);
gboolean       herald_profile_is_system       (HeraldProfile *self);
/* A sentence saying why this profile applies (from herald_profile_open()). */
const char    *herald_profile_get_why         (HeraldProfile *self);
/* Where the profile keeps state that is not a setting (token health). */
const char    *herald_profile_get_state_dir   (HeraldProfile *self);
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
/* The same for a server, port and username given by the caller (heraldctl
 * test --system with options that differ from the saved ones). */
char          *herald_profile_lookup_password_for (HeraldProfile  *self,
                                                   const char     *host,
                                                   guint16         port,
                                                   const char     *username,
                                                   GCancellable   *cancellable,
                                                   GError        **error) G_GNUC_WARN_UNUSED_RESULT;
/* Removes the saved password (TRUE also when there was none). */
gboolean       herald_profile_clear_password  (HeraldProfile  *self,
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

/* The system profile's secret store, opened (and created 0700) on first
 * use; HERALD_PROFILE_ERROR_PERMISSION for a caller other than root. NULL
 * for the user profile. */
HeraldSystemSecrets *herald_profile_get_system_secrets (HeraldProfile  *self,
                                                        GError        **error);

/* ---- token health (OAuth) -------------------------------------------------- */

/* When the saved sign-in last got a token from the identity provider (Unix
 * seconds, 0: never recorded), and the last refresh failure (NULL: none). */
gint64         herald_profile_get_token_refreshed (HeraldProfile  *self,
                                                   char          **last_error);
void           herald_profile_record_token_refresh (HeraldProfile *self,
                                                    const GError  *error);

/* The profile's queue directory (not created here). */
const char    *herald_profile_get_queue_dir   (HeraldProfile *self);

G_END_DECLS
