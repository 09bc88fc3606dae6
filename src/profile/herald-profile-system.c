/* SPDX-License-Identifier: GPL-3.0-or-later
 * Copyright 2026 The Herald authors
 */
#define G_LOG_DOMAIN "herald-profile"

#include "config.h"

#include <errno.h>
#define G_SETTINGS_ENABLE_BACKEND
#include <gio/gsettingsbackend.h>
#include <fcntl.h>
#include <glib/gi18n.h>
#include <glib/gstdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "herald-profile.h"
#include "herald-profile-private.h"
#include "herald-secret.h"
#include "herald-secrets-oauth.h"
#include "herald-secrets-system.h"

/* The system scope: servers where alerts come from cron, systemd services
 * and daemons that have no desktop session. Its settings are a key file in
 * $sysconfdir/herald (world-readable: no secret in it), its secrets live in
 * root's store under $localstatedir/lib/herald (herald-secrets-system.c), its
 * queue in $localstatedir/spool/herald. And the rule that picks a scope. */

#define KEYFILE_GROUP "herald"

/* ---- paths ------------------------------------------------------------------ */

static char *system_config_file;
static char *system_state_dir;
static char *system_spool_dir;
static char *system_queue_dir;
static char *system_maildrop_dir;
static char *system_creds_path;
static gboolean system_creds_path_set;

void
herald_profile_set_system_creds_path (const char *path)
{
  g_free (system_creds_path);
  system_creds_path = g_strdup (path);
  system_creds_path_set = TRUE;
}

void
herald_profile_set_system_dirs (const char *sysconfdir,
                                const char *localstatedir)
{
  g_return_if_fail (sysconfdir != NULL && localstatedir != NULL);

  g_free (system_config_file);
  g_free (system_state_dir);
  g_free (system_spool_dir);
  g_free (system_queue_dir);
  g_free (system_maildrop_dir);
  system_config_file = g_build_filename (sysconfdir, "herald", "herald.conf", NULL);
  system_state_dir = g_build_filename (localstatedir, "lib", "herald", NULL);
  system_spool_dir = g_build_filename (localstatedir, "spool", "herald", NULL);
  system_queue_dir = g_build_filename (system_spool_dir, "queue", NULL);
  system_maildrop_dir = g_build_filename (system_spool_dir, "maildrop", NULL);
}

static void
ensure_dirs (void)
{
  /* meson's sysconfdir and localstatedir (src/profile/meson.build). */
  if (system_config_file == NULL)
    herald_profile_set_system_dirs (HERALD_SYSCONFDIR, HERALD_LOCALSTATEDIR);
}

const char *
herald_profile_system_config_file (void)
{
  ensure_dirs ();
  return system_config_file;
}

const char *
herald_profile_system_state_dir (void)
{
  ensure_dirs ();
  return system_state_dir;
}

const char *
herald_profile_system_spool_dir (void)
{
  ensure_dirs ();
  return system_spool_dir;
}

const char *
herald_profile_system_queue_dir (void)
{
  ensure_dirs ();
  return system_queue_dir;
}

const char *
herald_profile_system_maildrop_dir (void)
{
  ensure_dirs ();
  return system_maildrop_dir;
}

/* Creates @path with @mode, or checks an existing one: a real directory
 * (not a link), owned by root, then sets @mode (the umask narrows mkdir). */
static gboolean
ensure_root_dir (const char  *path,
                 mode_t       mode,
                 GError     **error)
{
  struct stat st;
  int fd;

  if (mkdir (path, mode) != 0 && errno != EEXIST)
    goto fail;
  fd = open (path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0)
    goto fail;
  if (fstat (fd, &st) != 0 || st.st_uid != 0)
    {
      close (fd);
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_PERMISSION_DENIED,
                   _("refusing to use %s: it is not owned by root"), path);
      return FALSE;
    }
  if ((st.st_mode & 07777) != mode && fchmod (fd, mode) != 0)
    {
      close (fd);
      goto fail;
    }
  close (fd);
  return TRUE;

fail:
  {
    int saved = errno;

    g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved),
                 _("cannot set up %s: %s"), path, g_strerror (saved));
    return FALSE;
  }
}

gboolean
herald_profile_ensure_system_spool (GError **error)
{
  g_autofree char *parent = g_path_get_dirname (herald_profile_system_spool_dir ());

  if (geteuid () != 0)
    {
      g_set_error (error, HERALD_PROFILE_ERROR, HERALD_PROFILE_ERROR_PERMISSION,
                   _("only root sets up the system queue %s"), herald_profile_system_spool_dir ());
      return FALSE;
    }
  if (g_mkdir_with_parents (parent, 0755) != 0)
    {
      int saved = errno;

      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved),
                   _("cannot create %s: %s"), parent, g_strerror (saved));
      return FALSE;
    }
  /* The spool lets everybody through to the maildrop but list nothing
   * (0711); the queue is root's alone (0700); the maildrop takes files from
   * anybody, who cannot list it nor remove another's file (1733). */
  return ensure_root_dir (herald_profile_system_spool_dir (), 0711, error) &&
         ensure_root_dir (herald_profile_system_queue_dir (), 0700, error) &&
         ensure_root_dir (herald_profile_system_maildrop_dir (), 01733, error);
}

gboolean
herald_profile_system_exists (void)
{
  return g_file_test (herald_profile_system_config_file (), G_FILE_TEST_IS_REGULAR);
}

/* ---- the rule --------------------------------------------------------------- */

gboolean
herald_profile_session_bus_reachable (void)
{
  const char *address = g_getenv ("DBUS_SESSION_BUS_ADDRESS");
  g_autofree char *runtime_bus = NULL;
  g_autoptr(GDBusConnection) bus = NULL;

  /* Without an address GLib would try to autolaunch a bus through X11
   * (the classic "Cannot autolaunch D-Bus without X11 $DISPLAY"): only the
   * standard per-user socket counts then. */
  if (address == NULL || *address == '\0')
    {
      runtime_bus = g_build_filename (g_get_user_runtime_dir (), "bus", NULL);
      if (!g_file_test (runtime_bus, G_FILE_TEST_EXISTS))
        return FALSE;
      address = NULL;
    }

  if (address != NULL)
    bus = g_dbus_connection_new_for_address_sync (address,
                                                  G_DBUS_CONNECTION_FLAGS_AUTHENTICATION_CLIENT |
                                                  G_DBUS_CONNECTION_FLAGS_MESSAGE_BUS_CONNECTION,
                                                  NULL, NULL, NULL);
  else
    {
      g_autofree char *socket_address = g_strconcat ("unix:path=", runtime_bus, NULL);

      bus = g_dbus_connection_new_for_address_sync (socket_address,
                                                    G_DBUS_CONNECTION_FLAGS_AUTHENTICATION_CLIENT |
                                                    G_DBUS_CONNECTION_FLAGS_MESSAGE_BUS_CONNECTION,
                                                    NULL, NULL, NULL);
    }
  if (bus == NULL)
    return FALSE;
  g_dbus_connection_close_sync (bus, NULL, NULL);
  return TRUE;
}

/* Whether @key was saved with @value (NULL: any value) in the user profile,
 * not merely the schema's default. */
static gboolean
user_saved (HeraldProfile *user,
            const char    *key,
            const char    *value)
{
  HeraldProfileSource source = HERALD_PROFILE_SOURCE_DEFAULT;
  g_autofree char *text = herald_profile_get_text (user, key, &source, NULL);
  g_autofree char *saved = herald_profile_get_string (user, key);

  return source == HERALD_PROFILE_SOURCE_SAVED && saved != NULL &&
         (value == NULL || g_str_equal (saved, value));
}

/* A saved server, or Microsoft Graph, which needs none. */
static gboolean
user_is_set_up (HeraldProfile *user)
{
  return user_saved (user, "server", NULL) || user_saved (user, "transport", "graph");
}

static void
set_no_profile_error (GError **error)
{
  g_set_error (error, HERALD_PROFILE_ERROR, HERALD_PROFILE_ERROR_NO_PROFILE,
               _("no profile applies: no session bus with a saved server (user profile), and "
                 "no %s (system profile). Create the system profile as root with "
                 "“heraldctl config --system set server HOST” (then port, security, auth, "
                 "username, from, to and alerts-enabled), or set up the user profile in "
                 "Herald's window or with “heraldctl config --user set”."),
               herald_profile_system_config_file ());
}

HeraldProfile *
herald_profile_open (HeraldProfileScope   scope,
                     gboolean             for_writing,
                     GError             **error)
{
  g_autoptr(HeraldProfile) user = NULL;
  g_autoptr(HeraldProfile) system = NULL;
  g_autoptr(GError) user_error = NULL;
  gboolean bus;

  if (scope == HERALD_PROFILE_SCOPE_USER)
    {
      user = herald_profile_new_user (error);
      if (user != NULL)
        _herald_profile_set_why (user, _("--user was given"));
      return g_steal_pointer (&user);
    }
  if (scope == HERALD_PROFILE_SCOPE_SYSTEM)
    {
      system = herald_profile_new_system (for_writing, error);
      if (system != NULL)
        _herald_profile_set_why (system, _("--system was given"));
      return g_steal_pointer (&system);
    }

  bus = herald_profile_session_bus_reachable ();
  if (bus)
    {
      user = herald_profile_new_user (&user_error);
      if (user != NULL && (for_writing || user_is_set_up (user)))
        {
          _herald_profile_set_why (user, for_writing
                                   ? _("a session bus is reachable (changes go to the user "
                                       "profile; --system chooses the other)")
                                   : _("a session bus is reachable and the user profile has a "
                                       "server saved"));
          return g_steal_pointer (&user);
        }
      g_clear_object (&user);
    }

  if (herald_profile_system_exists ())
    {
      g_autofree char *why = NULL;

      system = herald_profile_new_system (FALSE, error);
      if (system == NULL)
        return NULL;
      why = g_strdup_printf (bus ? _("the user profile has no server saved, and %s exists")
                                 : _("no session bus is reachable, and %s exists"),
                             herald_profile_system_config_file ());
      _herald_profile_set_why (system, why);
      return g_steal_pointer (&system);
    }

  if (for_writing)
    {
      /* No system profile, no bus: the user profile may still be kept
       * without one (a key file GSettings backend); say so if it is not. */
      user = herald_profile_new_user (error);
      if (user != NULL)
        _herald_profile_set_why (user, _("no system profile exists (changes go to the user "
                                         "profile; --system creates the system one)"));
      return g_steal_pointer (&user);
    }

  set_no_profile_error (error);
  return NULL;
}

/* ---- the key file: settings -------------------------------------------------- */

static GVariant *
keyfile_read (HeraldProfile *self,
              const char    *key,
              gboolean      *is_set)
{
  g_autofree char *text = g_key_file_get_string (self->keyfile, KEYFILE_GROUP, key, NULL);
  g_autoptr(GSettingsSchemaKey) schema_key = g_settings_schema_get_key (self->schema, key);

  *is_set = FALSE;
  if (text != NULL)
    {
      /* A value edited by hand that does not pass the checks counts as not
       * set (doctor names it); the default applies. */
      GVariant *value = _herald_profile_parse_value (self, key, text, NULL);

      if (value != NULL)
        {
          *is_set = TRUE;
          return value;
        }
    }
  return g_settings_schema_key_get_default_value (schema_key);
}

static gboolean mirroring;

static void
mirror_value (HeraldProfile *self,
              const char    *key,
              GVariant      *value)
{
  /* The OAuth code reads its account from GSettings: it gets the same
   * values from an in-memory copy. */
  mirroring = TRUE;
  g_settings_set_value (self->settings, key, value);
  mirroring = FALSE;
}

static gboolean
save_keyfile (HeraldProfile  *self,
              GError        **error)
{
  g_autofree char *dir = g_path_get_dirname (self->keyfile_path);
  g_autofree char *data = NULL;
  gsize length;

  if (g_mkdir_with_parents (dir, 0755) != 0)
    {
      int saved = errno;

      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved),
                   _("cannot create %s: %s"), dir, g_strerror (saved));
      return FALSE;
    }
  data = g_key_file_to_data (self->keyfile, &length, NULL);
  /* Readable by every local user (the non-root sendmail reads it): it holds
   * no secret. Written to a temporary file, synced and renamed. */
  return g_file_set_contents_full (self->keyfile_path, data, (gssize) length,
                                   G_FILE_SET_CONTENTS_CONSISTENT | G_FILE_SET_CONTENTS_DURABLE,
                                   0644, error);
}

static gboolean
keyfile_write (HeraldProfile  *self,
               const char     *key,
               GVariant       *value,
               GError        **error)
{
  g_autofree char *text = _herald_profile_variant_to_text (value);

  g_key_file_set_string (self->keyfile, KEYFILE_GROUP, key, text);
  if (!save_keyfile (self, error))
    return FALSE;
  mirror_value (self, key, value);
  return TRUE;
}

/* The OAuth sign-in (heraldctl login --system) saves its account to
 * GSettings: what it writes into the copy goes to the file. */
static void
mirror_changed (GSettings     *settings,
                const char    *key,
                HeraldProfile *self)
{
  g_autoptr(GVariant) value = NULL;
  g_autofree char *text = NULL;
  g_autoptr(GError) error = NULL;

  if (mirroring || !herald_profile_has_key (self, key))
    return;
  value = g_settings_get_value (settings, key);
  text = _herald_profile_variant_to_text (value);
  g_key_file_set_string (self->keyfile, KEYFILE_GROUP, key, text);
  if (!save_keyfile (self, &error))
    g_printerr (_("heraldctl: could not save “%s” in %s: %s\n"), key, self->keyfile_path,
                error->message);
}

static const SettingsSource keyfile_source = {
  N_("the system profile file"),
  keyfile_read,
  keyfile_write,
};

/* ---- root's store: credentials ----------------------------------------------- */

HeraldSystemSecrets *
herald_profile_get_system_secrets (HeraldProfile  *self,
                                   GError        **error)
{
  g_return_val_if_fail (HERALD_IS_PROFILE (self), NULL);

  if (self->scope != HERALD_PROFILE_SCOPE_SYSTEM)
    {
      g_set_error_literal (error, HERALD_PROFILE_ERROR, HERALD_PROFILE_ERROR_NO_SETTINGS,
                           _("the user profile keeps its secrets in the desktop keyring"));
      return NULL;
    }
  if (self->secrets != NULL)
    return self->secrets;

  if (geteuid () != 0)
    {
      g_set_error (error, HERALD_PROFILE_ERROR, HERALD_PROFILE_ERROR_PERMISSION,
                   _("the system profile's password and sign-in can be read and changed by root "
                     "only (%s); run this as root, e.g. with sudo"),
                   herald_profile_system_state_dir ());
      return NULL;
    }
  {
    g_autofree char *parent = g_path_get_dirname (herald_profile_system_state_dir ());

    if (g_mkdir_with_parents (parent, 0755) != 0)
      {
        int saved = errno;

        g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved),
                     _("cannot create %s: %s"), parent, g_strerror (saved));
        return NULL;
      }
  }
  self->secrets = herald_system_secrets_new (herald_profile_system_state_dir (), error);
  if (self->secrets != NULL && system_creds_path_set)
    herald_system_secrets_set_creds_path (self->secrets, system_creds_path);
  return self->secrets;
}

/* The secret's name: a digest of what identifies it, so that the file name
 * says nothing about the server or the mailbox, and two never collide. */
static char *
secret_name (const char *kind,
             const char *a,
             const char *b,
             const char *c)
{
  g_autoptr(GChecksum) sum = g_checksum_new (G_CHECKSUM_SHA256);
  g_autofree char *digest = NULL;

  g_checksum_update (sum, (const guchar *) a, (gssize) strlen (a) + 1);
  g_checksum_update (sum, (const guchar *) b, (gssize) strlen (b) + 1);
  g_checksum_update (sum, (const guchar *) c, (gssize) strlen (c) + 1);
  digest = g_strndup (g_checksum_get_string (sum), 32);
  return g_strconcat (kind, "-", digest, NULL);
}

static char *
password_name (const char *host,
               guint16     port,
               const char *user)
{
  g_autofree char *port_text = g_strdup_printf ("%u", port);

  return secret_name ("smtp-password", host, port_text, user);
}

static char *
root_lookup (HeraldProfile  *self,
             const char     *host,
             guint16         port,
             const char     *user,
             GCancellable   *cancellable,
             GError        **error)
{
  HeraldSystemSecrets *secrets = herald_profile_get_system_secrets (self, error);
  g_autofree char *name = password_name (host, port, user);
  guint8 *data;
  gsize length = 0;
  char *password;

  if (secrets == NULL)
    return NULL;
  data = herald_system_secrets_lookup (secrets, name, &length, error);
  if (data == NULL)
    return NULL;
  password = g_strndup ((const char *) data, length);
  herald_system_secret_free (data, length);
  return password;
}

static gboolean
root_store (HeraldProfile  *self,
            const char     *host,
            guint16         port,
            const char     *user,
            const char     *password,
            GCancellable   *cancellable,
            GError        **error)
{
  HeraldSystemSecrets *secrets = herald_profile_get_system_secrets (self, error);
  g_autofree char *name = password_name (host, port, user);

  return secrets != NULL &&
         herald_system_secrets_store (secrets, name, (const guint8 *) password, strlen (password),
                                      error);
}

static gboolean
root_clear (HeraldProfile  *self,
            const char     *host,
            guint16         port,
            const char     *user,
            GCancellable   *cancellable,
            GError        **error)
{
  HeraldSystemSecrets *secrets = herald_profile_get_system_secrets (self, error);
  g_autofree char *name = password_name (host, port, user);

  return secrets != NULL && herald_system_secrets_delete (secrets, name, error);
}

static const CredentialStore root_store_table = {
  N_("root's credential store"),
  root_lookup,
  root_store,
  root_clear,
};

/* ---- OAuth tokens: root's store or the keyring, with token health ---------- */

static HeraldProfile *token_profile;  /* the profile whose store the OAuth code uses */

static char *
token_name (const char *provider,
            const char *account,
            const char *client_id)
{
  return secret_name ("oauth", provider, account, client_id);
}

static char *
health_file (HeraldProfile *self)
{
  return g_build_filename (self->state_dir, "token-health.conf", NULL);
}

static GKeyFile *
load_health (HeraldProfile *self)
{
  g_autofree char *path = health_file (self);
  GKeyFile *kf = g_key_file_new ();

  g_key_file_load_from_file (kf, path, G_KEY_FILE_NONE, NULL);
  return kf;
}

static void
save_health (HeraldProfile *self,
             GKeyFile      *kf)
{
  g_autofree char *path = health_file (self);
  g_autofree char *data = NULL;
  g_autoptr(GError) error = NULL;
  gsize length;

  if (g_mkdir_with_parents (self->state_dir, 0700) != 0)
    return;
  data = g_key_file_to_data (kf, &length, NULL);
  /* Dates and error texts only, never a token. */
  if (!g_file_set_contents_full (path, data, (gssize) length, G_FILE_SET_CONTENTS_CONSISTENT,
                                 0600, &error))
    g_debug ("cannot record the token's health in %s: %s", path, error->message);
}

gint64
herald_profile_get_token_refreshed (HeraldProfile  *self,
                                    char          **last_error)
{
  g_autoptr(GKeyFile) kf = NULL;
  gint64 when;

  g_return_val_if_fail (HERALD_IS_PROFILE (self), 0);

  kf = load_health (self);
  when = g_key_file_get_int64 (kf, "oauth", "refreshed", NULL);
  if (last_error != NULL)
    {
      *last_error = g_key_file_get_string (kf, "oauth", "last-error", NULL);
      if (*last_error != NULL && **last_error == '\0')
        g_clear_pointer (last_error, g_free);
    }
  return when;
}

void
herald_profile_record_token_refresh (HeraldProfile *self,
                                     const GError  *error)
{
  g_autoptr(GKeyFile) kf = NULL;

  g_return_if_fail (HERALD_IS_PROFILE (self));

  kf = load_health (self);
  if (error == NULL)
    {
      g_key_file_set_int64 (kf, "oauth", "refreshed", g_get_real_time () / G_USEC_PER_SEC);
      g_key_file_remove_key (kf, "oauth", "last-error", NULL);
    }
  else
    {
      g_autofree char *text = g_strdup (error->message);

      g_strdelimit (text, "\r\n", ' ');
      g_key_file_set_string (kf, "oauth", "last-error", text);
      g_key_file_set_int64 (kf, "oauth", "failed", g_get_real_time () / G_USEC_PER_SEC);
    }
  save_health (self, kf);
}

static HeraldOAuthTokens *
profile_tokens_lookup (const char    *provider,
                       const char    *account,
                       const char    *client_id,
                       gpointer       user_data,
                       GCancellable  *cancellable,
                       GError       **error)
{
  HeraldProfile *self = token_profile;
  HeraldSystemSecrets *secrets;
  g_autofree char *name = NULL;
  guint8 *data;
  gsize length = 0;
  HeraldOAuthTokens *tokens;

  if (self == NULL || self->scope != HERALD_PROFILE_SCOPE_SYSTEM)
    return herald_oauth_tokens_keyring_store ()->lookup (provider, account, client_id, NULL,
                                                         cancellable, error);

  secrets = herald_profile_get_system_secrets (self, error);
  if (secrets == NULL)
    return NULL;
  name = token_name (provider, account, client_id);
  data = herald_system_secrets_lookup (secrets, name, &length, error);
  if (data == NULL)
    return NULL;
  tokens = herald_oauth_tokens_parse ((const char *) data, error);
  herald_system_secret_free (data, length);
  return tokens;
}

static gboolean
profile_tokens_store (const char              *provider,
                      const char              *account,
                      const char              *client_id,
                      const HeraldOAuthTokens *tokens,
                      gpointer                 user_data,
                      GCancellable            *cancellable,
                      GError                 **error)
{
  HeraldProfile *self = token_profile;
  HeraldSystemSecrets *secrets;
  g_autofree char *name = NULL;
  char *text;
  gboolean ok;

  if (self == NULL || self->scope != HERALD_PROFILE_SCOPE_SYSTEM)
    ok = herald_oauth_tokens_keyring_store ()->store (provider, account, client_id, tokens, NULL,
                                                      cancellable, error);
  else
    {
      secrets = herald_profile_get_system_secrets (self, error);
      if (secrets == NULL)
        return FALSE;
      name = token_name (provider, account, client_id);
      text = herald_oauth_tokens_serialize (tokens);
      /* Replaced atomically: a crash leaves the old or the new refresh
       * token, never none (the provider may already have retired the old
       * one, so the new one must be kept every time). */
      ok = herald_system_secrets_store (secrets, name, (const guint8 *) text, strlen (text),
                                        error);
      herald_secret_free (text);
    }

  /* Stored tokens are fresh from the identity provider (sign-in or
   * refresh): that is when the sign-in last worked. */
  if (ok && self != NULL)
    herald_profile_record_token_refresh (self, NULL);
  return ok;
}

static gboolean
profile_tokens_clear (const char    *provider,
                      const char    *account,
                      const char    *client_id,
                      gpointer       user_data,
                      GCancellable  *cancellable,
                      GError       **error)
{
  HeraldProfile *self = token_profile;
  HeraldSystemSecrets *secrets;
  g_autofree char *name = NULL;

  if (self == NULL || self->scope != HERALD_PROFILE_SCOPE_SYSTEM)
    return herald_oauth_tokens_keyring_store ()->clear (provider, account, client_id, NULL,
                                                        cancellable, error);
  secrets = herald_profile_get_system_secrets (self, error);
  if (secrets == NULL)
    return FALSE;
  name = token_name (provider, account, client_id);
  return herald_system_secrets_delete (secrets, name, error);
}

static const HeraldOAuthTokenStore profile_token_store = {
  profile_tokens_lookup,
  profile_tokens_store,
  profile_tokens_clear,
};

static void
clear_token_profile (gpointer data,
                     GObject *where_the_object_was)
{
  if (token_profile == (HeraldProfile *) where_the_object_was)
    {
      token_profile = NULL;
      herald_oauth_tokens_set_store (NULL, NULL);
    }
}

/* The OAuth code (sign-in, refresh, sign-out) keeps tokens where the last
 * opened profile keeps its secrets. */
void
_herald_profile_use_token_store (HeraldProfile *self)
{
  if (token_profile != NULL)
    g_object_weak_unref (G_OBJECT (token_profile), clear_token_profile, NULL);
  token_profile = self;
  g_object_weak_ref (G_OBJECT (self), clear_token_profile, NULL);
  herald_oauth_tokens_set_store (&profile_token_store, NULL);
}

/* ---- the object -------------------------------------------------------------- */

HeraldProfile *
herald_profile_new_system (gboolean   create,
                           GError   **error)
{
  g_autoptr(GSettingsSchema) schema = NULL;
  g_autoptr(HeraldProfile) self = NULL;
  g_autoptr(GError) local = NULL;
  const char *path = herald_profile_system_config_file ();

  if (!create && !herald_profile_system_exists ())
    {
      g_set_error (error, HERALD_PROFILE_ERROR, HERALD_PROFILE_ERROR_NO_PROFILE,
                   _("there is no system profile (%s does not exist). Create it as root with "
                     "“heraldctl config --system set server HOST” (then port, security, auth, "
                     "username, from, to and alerts-enabled), or import the desktop's with "
                     "“heraldctl config export | sudo heraldctl config --system import -”."),
                   path);
      return NULL;
    }

  schema = _herald_profile_lookup_schema (error);
  if (schema == NULL)
    return NULL;

  self = g_object_new (HERALD_TYPE_PROFILE, NULL);
  self->schema = g_steal_pointer (&schema);
  self->scope = HERALD_PROFILE_SCOPE_SYSTEM;
  self->source = &keyfile_source;
  self->credentials = &root_store_table;
  self->keyfile_path = g_strdup (path);
  self->keyfile = g_key_file_new ();
  self->queue_dir = g_strdup (herald_profile_system_queue_dir ());
  self->state_dir = g_strdup (herald_profile_system_state_dir ());
  if (!g_key_file_load_from_file (self->keyfile, path, G_KEY_FILE_KEEP_COMMENTS, &local) &&
      !g_error_matches (local, G_FILE_ERROR, G_FILE_ERROR_NOENT))
    {
      g_set_error (error, HERALD_PROFILE_ERROR, HERALD_PROFILE_ERROR_NO_SETTINGS,
                   _("cannot read the system profile %s: %s"), path, local->message);
      return NULL;
    }

  self->mirror_backend = g_memory_settings_backend_new ();
  self->settings = g_settings_new_full (self->schema, self->mirror_backend, NULL);
  _herald_profile_collect_keys (self);
  for (guint i = 0; self->keys[i] != NULL; i++)
    {
      gboolean is_set = FALSE;
      g_autoptr(GVariant) value = keyfile_read (self, self->keys[i], &is_set);

      if (is_set)
        mirror_value (self, self->keys[i], value);
    }
  g_signal_connect (self->settings, "changed", G_CALLBACK (mirror_changed), self);
  _herald_profile_use_token_store (self);

  return g_steal_pointer (&self);
}
