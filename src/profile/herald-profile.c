/* SPDX-License-Identifier: GPL-3.0-or-later
 * Copyright 2026 The Herald authors
 */
#define G_LOG_DOMAIN "herald-profile"

#include "config.h"

#include <glib/gi18n.h>
#include <string.h>
#include <inttypes.h>

#include "herald-profile.h"
#include "herald-profile-check.h"
#include "herald-profile-private.h"
#include "herald-secrets.h"
#include "herald-secrets-oauth.h"

#define SETTINGS_SCHEMA_ID "io.github.heraldmail.Herald"

G_DEFINE_FINAL_TYPE (HeraldProfile, herald_profile, G_TYPE_OBJECT)

G_DEFINE_QUARK (herald-profile-error-quark, herald_profile_error)

/* Keys that are the window's own state, not settings for delivery. */
static const char * const hidden_keys[] = {
  "window-width", "window-height", "window-maximized", NULL
};

const char *
herald_profile_source_to_string (HeraldProfileSource source)
{
  return source == HERALD_PROFILE_SOURCE_SAVED ? "saved" : "default";
}

const char *
herald_credential_state_to_string (HeraldCredentialState state)
{
  switch (state)
    {
    case HERALD_CREDENTIAL_NOT_NEEDED:
      return "not-needed";
    case HERALD_CREDENTIAL_STORED:
      return "stored";
    case HERALD_CREDENTIAL_MISSING:
      return "missing";
    case HERALD_CREDENTIAL_UNREADABLE:
    default:
      return "unreadable";
    }
}

/* ---- GSettings + the desktop keyring: the user scope ---------------------- */

static GVariant *
gsettings_read (HeraldProfile *self,
                const char    *key,
                gboolean      *is_set)
{
  g_autoptr(GVariant) user = g_settings_get_user_value (self->settings, key);

  *is_set = user != NULL;
  return g_settings_get_value (self->settings, key);
}

static gboolean
gsettings_write (HeraldProfile  *self,
                 const char     *key,
                 GVariant       *value,
                 GError        **error)
{
  if (!g_settings_set_value (self->settings, key, value))
    {
      g_set_error (error, HERALD_PROFILE_ERROR, HERALD_PROFILE_ERROR_INVALID_VALUE,
                   _("the settings refused the value of “%s”"), key);
      return FALSE;
    }
  /* heraldctl exits right after: the write must reach dconf first. */
  g_settings_sync ();
  return TRUE;
}

static const SettingsSource gsettings_source = {
  N_("GSettings (schema io.github.heraldmail.Herald)"),
  gsettings_read,
  gsettings_write,
};

static char *
keyring_lookup (HeraldProfile  *self,
                const char     *host,
                guint16         port,
                const char     *user,
                GCancellable   *cancellable,
                GError        **error)
{
  return herald_password_lookup_sync (host, port, user, cancellable, error);
}

static gboolean
keyring_store (HeraldProfile  *self,
               const char     *host,
               guint16         port,
               const char     *user,
               const char     *password,
               GCancellable   *cancellable,
               GError        **error)
{
  return herald_password_store_sync (host, port, user, password, cancellable, error);
}

static gboolean
keyring_clear (HeraldProfile  *self,
               const char     *host,
               guint16         port,
               const char     *user,
               GCancellable   *cancellable,
               GError        **error)
{
  return herald_password_clear_sync (host, port, user, cancellable, error);
}

static const CredentialStore keyring_store_table = {
  N_("the desktop keyring"),
  keyring_lookup,
  keyring_store,
  keyring_clear,
};

/* ---- the object ----------------------------------------------------------- */

static void
herald_profile_finalize (GObject *object)
{
  HeraldProfile *self = HERALD_PROFILE (object);

  g_clear_object (&self->settings);
  g_clear_pointer (&self->schema, g_settings_schema_unref);
  g_clear_pointer (&self->queue_dir, g_free);
  g_clear_pointer (&self->state_dir, g_free);
  g_clear_pointer (&self->why, g_free);
  g_clear_pointer (&self->keys, g_strfreev);
  g_clear_pointer (&self->keyfile, g_key_file_unref);
  g_clear_pointer (&self->keyfile_path, g_free);
  g_clear_object (&self->mirror_backend);
  g_clear_object (&self->secrets);

  G_OBJECT_CLASS (herald_profile_parent_class)->finalize (object);
}

static void
herald_profile_class_init (HeraldProfileClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = herald_profile_finalize;
}

static void
herald_profile_init (HeraldProfile *self)
{
}

static int
compare_strings (gconstpointer a,
                 gconstpointer b)
{
  return g_strcmp0 (*(const char * const *) a, *(const char * const *) b);
}

/* The keys people look for first, in the window's order, then the rest in
 * alphabetical order (the schema lists them in no useful order). */
void
_herald_profile_collect_keys (HeraldProfile *self)
{
  static const char * const first[] = {
    "alerts-enabled", "server", "port", "security", "auth", "username", "from", "to", "cc",
    "local-recipients", "rewrite-from", "max-message-size", "ca-file", "timeout", NULL
  };
  g_auto(GStrv) all = g_settings_schema_list_keys (self->schema);
  g_autoptr(GStrvBuilder) builder = g_strv_builder_new ();
  g_autoptr(GPtrArray) rest = g_ptr_array_new ();

  for (guint i = 0; first[i] != NULL; i++)
    if (g_strv_contains ((const char * const *) all, first[i]))
      g_strv_builder_add (builder, first[i]);
  for (guint i = 0; all[i] != NULL; i++)
    if (!g_strv_contains (first, all[i]) && !g_strv_contains (hidden_keys, all[i]))
      g_ptr_array_add (rest, all[i]);
  g_ptr_array_sort (rest, compare_strings);
  for (guint i = 0; i < rest->len; i++)
    g_strv_builder_add (builder, g_ptr_array_index (rest, i));

  self->keys = g_strv_builder_end (builder);
}

GSettingsSchema *
_herald_profile_lookup_schema (GError **error)
{
  GSettingsSchemaSource *source = g_settings_schema_source_get_default ();
  GSettingsSchema *schema = NULL;

  if (source != NULL)
    schema = g_settings_schema_source_lookup (source, SETTINGS_SCHEMA_ID, TRUE);
  if (schema == NULL)
    g_set_error (error, HERALD_PROFILE_ERROR, HERALD_PROFILE_ERROR_NO_SETTINGS,
                 _("the saved settings are not available (the GSettings schema %s is not "
                   "installed)"), SETTINGS_SCHEMA_ID);
  return schema;
}

HeraldProfile *
herald_profile_new_user (GError **error)
{
  g_autoptr(GSettingsSchema) schema = _herald_profile_lookup_schema (error);
  g_autoptr(HeraldProfile) self = NULL;

  if (schema == NULL)
    return NULL;

  self = g_object_new (HERALD_TYPE_PROFILE, NULL);
  self->schema = g_steal_pointer (&schema);
  self->settings = g_settings_new_full (self->schema, NULL, NULL);
  self->source = &gsettings_source;
  self->credentials = &keyring_store_table;
  self->scope = HERALD_PROFILE_SCOPE_USER;
  self->queue_dir = herald_profile_dup_user_queue_dir ();
  self->state_dir = g_build_filename (g_get_user_state_dir (), "herald", NULL);
  _herald_profile_collect_keys (self);
  _herald_profile_use_token_store (self);

  return g_steal_pointer (&self);
}

const char *
herald_profile_get_scope (HeraldProfile *self)
{
  g_return_val_if_fail (HERALD_IS_PROFILE (self), NULL);
  return self->scope == HERALD_PROFILE_SCOPE_SYSTEM ? "system" : "user";
}

gboolean
herald_profile_is_system (HeraldProfile *self)
{
  g_return_val_if_fail (HERALD_IS_PROFILE (self), FALSE);
  return self->scope == HERALD_PROFILE_SCOPE_SYSTEM;
}

const char *
herald_profile_get_why (HeraldProfile *self)
{
  g_return_val_if_fail (HERALD_IS_PROFILE (self), NULL);
  return self->why;
}

void
_herald_profile_set_why (HeraldProfile *self,
                         const char    *why)
{
  g_free (self->why);
  self->why = g_strdup (why);
}

const char *
herald_profile_get_state_dir (HeraldProfile *self)
{
  g_return_val_if_fail (HERALD_IS_PROFILE (self), NULL);
  return self->state_dir;
}

const char *
herald_profile_describe_source (HeraldProfile *self)
{
  g_return_val_if_fail (HERALD_IS_PROFILE (self), NULL);
  return _(self->source->describe);
}

const char *
herald_profile_describe_credentials (HeraldProfile *self)
{
  g_return_val_if_fail (HERALD_IS_PROFILE (self), NULL);
  return _(self->credentials->describe);
}

const char * const *
herald_profile_list_keys (HeraldProfile *self)
{
  g_return_val_if_fail (HERALD_IS_PROFILE (self), NULL);
  return (const char * const *) self->keys;
}

gboolean
herald_profile_has_key (HeraldProfile *self,
                        const char    *key)
{
  g_return_val_if_fail (HERALD_IS_PROFILE (self), FALSE);
  return key != NULL && g_strv_contains ((const char * const *) self->keys, key);
}

GSettings *
herald_profile_get_settings (HeraldProfile *self)
{
  g_return_val_if_fail (HERALD_IS_PROFILE (self), NULL);
  return self->settings;
}

char *
herald_profile_dup_user_queue_dir (void)
{
  return g_build_filename (g_get_user_state_dir (), "herald", "queue", NULL);
}

const char *
herald_profile_get_queue_dir (HeraldProfile *self)
{
  g_return_val_if_fail (HERALD_IS_PROFILE (self), NULL);
  return self->queue_dir;
}

/* ---- values ----------------------------------------------------------------- */

static gboolean
check_key (HeraldProfile  *self,
           const char     *key,
           GError        **error)
{
  if (herald_profile_has_key (self, key))
    return TRUE;

  g_set_error (error, HERALD_PROFILE_ERROR, HERALD_PROFILE_ERROR_UNKNOWN_KEY,
               _("unknown setting “%s”"), key);
  return FALSE;
}

char *
_herald_profile_variant_to_text (GVariant *value)
{
  if (g_variant_is_of_type (value, G_VARIANT_TYPE_STRING))
    return g_variant_dup_string (value, NULL);
  if (g_variant_is_of_type (value, G_VARIANT_TYPE_BOOLEAN))
    return g_strdup (g_variant_get_boolean (value) ? "true" : "false");
  if (g_variant_is_of_type (value, G_VARIANT_TYPE_INT32))
    return g_strdup_printf ("%d", g_variant_get_int32 (value));
  if (g_variant_is_of_type (value, G_VARIANT_TYPE_UINT32))
    return g_strdup_printf ("%u", g_variant_get_uint32 (value));
  return g_variant_print (value, FALSE);
}

char *
herald_profile_get_text (HeraldProfile        *self,
                         const char           *key,
                         HeraldProfileSource  *source,
                         GError              **error)
{
  g_autoptr(GVariant) value = NULL;
  gboolean is_set = FALSE;

  g_return_val_if_fail (HERALD_IS_PROFILE (self), NULL);

  if (!check_key (self, key, error))
    return NULL;

  value = self->source->read (self, key, &is_set);
  if (source != NULL)
    *source = is_set ? HERALD_PROFILE_SOURCE_SAVED : HERALD_PROFILE_SOURCE_DEFAULT;

  return _herald_profile_variant_to_text (value);
}

/* Parses @text into the key's type and checks it: the schema's range or
 * choices, then the window's own checks (herald-profile-check.c). */
GVariant *
_herald_profile_parse_value (HeraldProfile  *self,
                             const char     *key,
                             const char     *text,
                             GError        **error)
{
  g_autoptr(GSettingsSchemaKey) schema_key = NULL;
  const GVariantType *type;
  g_autoptr(GVariant) value = NULL;

  if (!check_key (self, key, error))
    return NULL;
  if (text == NULL || !g_utf8_validate (text, -1, NULL))
    {
      g_set_error (error, HERALD_PROFILE_ERROR, HERALD_PROFILE_ERROR_INVALID_VALUE,
                   _("the value of “%s” is not valid UTF-8 text"), key);
      return NULL;
    }

  schema_key = g_settings_schema_get_key (self->schema, key);
  type = g_settings_schema_key_get_value_type (schema_key);

  if (g_variant_type_equal (type, G_VARIANT_TYPE_BOOLEAN))
    {
      gboolean b;

      if (!_herald_profile_parse_boolean (text, &b))
        {
          g_set_error (error, HERALD_PROFILE_ERROR, HERALD_PROFILE_ERROR_INVALID_VALUE,
                       _("invalid value “%s” for “%s”: use true or false"), text, key);
          return NULL;
        }
      value = g_variant_ref_sink (g_variant_new_boolean (b));
    }
  else if (g_variant_type_equal (type, G_VARIANT_TYPE_INT32) ||
           g_variant_type_equal (type, G_VARIANT_TYPE_UINT32))
    {
      gint64 n;

      if (!g_ascii_string_to_signed (text, 10, G_MININT64, G_MAXINT64, &n, NULL) ||
          n < (g_variant_type_equal (type, G_VARIANT_TYPE_INT32) ? G_MININT32 : 0) ||
          n > (g_variant_type_equal (type, G_VARIANT_TYPE_INT32) ? G_MAXINT32 : G_MAXUINT32))
        {
          g_set_error (error, HERALD_PROFILE_ERROR, HERALD_PROFILE_ERROR_INVALID_VALUE,
                       _("invalid value “%s” for “%s”: give a whole number"), text, key);
          return NULL;
        }
      if (g_variant_type_equal (type, G_VARIANT_TYPE_INT32))
        value = g_variant_ref_sink (g_variant_new_int32 ((gint32) n));
      else
        value = g_variant_ref_sink (g_variant_new_uint32 ((guint32) n));
    }
  else if (g_variant_type_equal (type, G_VARIANT_TYPE_STRING))
    {
      value = g_variant_ref_sink (g_variant_new_string (text));
    }
  else
    {
      g_set_error (error, HERALD_PROFILE_ERROR, HERALD_PROFILE_ERROR_INVALID_VALUE,
                   _("“%s” cannot be set from the command line"), key);
      return NULL;
    }

  /* The schema's range and choices: never clamped, refused. */
  if (!g_settings_schema_key_range_check (schema_key, value))
    {
      g_autoptr(GVariant) range = g_settings_schema_key_get_range (schema_key);
      const char *kind = NULL;
      g_autoptr(GVariant) detail = NULL;

      g_variant_get (range, "(&sv)", &kind, &detail);
      if (g_str_equal (kind, "range"))
        {
          g_autofree char *min = NULL, *max = NULL;
          g_autoptr(GVariant) lo = g_variant_get_child_value (detail, 0);
          g_autoptr(GVariant) hi = g_variant_get_child_value (detail, 1);

          min = _herald_profile_variant_to_text (lo);
          max = _herald_profile_variant_to_text (hi);
          g_set_error (error, HERALD_PROFILE_ERROR, HERALD_PROFILE_ERROR_INVALID_VALUE,
                       _("invalid value “%s” for “%s”: give a number from %s to %s"),
                       text, key, min, max);
        }
      else
        {
          g_autofree const char **choices = g_variant_get_strv (detail, NULL);
          g_autofree char *list = g_strjoinv (", ", (char **) choices);

          g_set_error (error, HERALD_PROFILE_ERROR, HERALD_PROFILE_ERROR_INVALID_VALUE,
                       _("invalid value “%s” for “%s”: use one of %s"), text, key, list);
        }
      return NULL;
    }

  if (!_herald_profile_check_field (key, text, error))
    return NULL;

  return g_steal_pointer (&value);
}

gboolean
herald_profile_check_text (HeraldProfile  *self,
                           const char     *key,
                           const char     *text,
                           GError        **error)
{
  g_autoptr(GVariant) value = NULL;

  g_return_val_if_fail (HERALD_IS_PROFILE (self), FALSE);

  value = _herald_profile_parse_value (self, key, text, error);
  return value != NULL;
}

gboolean
herald_profile_set_text (HeraldProfile  *self,
                         const char     *key,
                         const char     *text,
                         GError        **error)
{
  g_autoptr(GVariant) value = NULL;

  g_return_val_if_fail (HERALD_IS_PROFILE (self), FALSE);

  value = _herald_profile_parse_value (self, key, text, error);
  if (value == NULL)
    return FALSE;

  return self->source->write (self, key, value, error);
}

char *
herald_profile_get_string (HeraldProfile *self,
                           const char    *key)
{
  g_autofree char *text = NULL;

  g_return_val_if_fail (HERALD_IS_PROFILE (self), NULL);

  text = herald_profile_get_text (self, key, NULL, NULL);
  if (text != NULL)
    g_strstrip (text);
  if (text == NULL || text[0] == '\0')
    return NULL;
  return g_steal_pointer (&text);
}

gboolean
herald_profile_get_boolean (HeraldProfile *self,
                            const char    *key)
{
  g_autofree char *text = NULL;
  gboolean b = FALSE;

  g_return_val_if_fail (HERALD_IS_PROFILE (self), FALSE);

  text = herald_profile_get_text (self, key, NULL, NULL);
  return text != NULL && _herald_profile_parse_boolean (text, &b) && b;
}

gint64
herald_profile_get_number (HeraldProfile *self,
                           const char    *key)
{
  g_autofree char *text = NULL;
  gint64 n = 0;

  g_return_val_if_fail (HERALD_IS_PROFILE (self), 0);

  text = herald_profile_get_text (self, key, NULL, NULL);
  if (text == NULL || !g_ascii_string_to_signed (text, 10, G_MININT64, G_MAXINT64, &n, NULL))
    return 0;
  return n;
}

static char **
address_list (HeraldProfile *self,
              const char    *key)
{
  g_autofree char *text = herald_profile_get_string (self, key);
  g_auto(GStrv) split = text != NULL ? herald_address_list_split (text) : NULL;

  if (split == NULL || split[0] == NULL)
    return NULL;
  return g_steal_pointer (&split);
}

HeraldSmtpConfig *
herald_profile_to_smtp_config (HeraldProfile  *self,
                               GError        **error)
{
  g_autoptr(HeraldSmtpConfig) config = herald_smtp_config_new ();
  g_autofree char *security = NULL;
  g_autofree char *auth = NULL;
  gint64 port, timeout;

  g_return_val_if_fail (HERALD_IS_PROFILE (self), NULL);

  config->host = herald_profile_get_string (self, "server");
  if (config->host == NULL)
    {
      g_set_error (error, HERALD_PROFILE_ERROR, HERALD_PROFILE_ERROR_INCOMPLETE,
                   _("no server is saved in the %s profile"),
                   herald_profile_get_scope (self));
      return NULL;
    }
  port = herald_profile_get_number (self, "port");
  if (port < 1 || port > 65535)
    {
      g_set_error (error, HERALD_PROFILE_ERROR, HERALD_PROFILE_ERROR_INVALID_VALUE,
                   _("the saved port %" PRId64 " is out of range"), (gint64) port);
      return NULL;
    }
  config->port = (guint16) port;

  security = herald_profile_get_string (self, "security");
  if (security == NULL || !herald_security_from_string (security, &config->security))
    config->security = HERALD_SECURITY_STARTTLS;
  auth = herald_profile_get_string (self, "auth");
  if (auth == NULL || !herald_auth_method_from_string (auth, &config->auth))
    config->auth = HERALD_AUTH_AUTO;
  if (config->auth != HERALD_AUTH_NONE)
    config->username = herald_profile_get_string (self, "username");

  config->from = herald_profile_get_string (self, "from");
  if (config->from == NULL)
    {
      g_set_error (error, HERALD_PROFILE_ERROR, HERALD_PROFILE_ERROR_INCOMPLETE,
                   _("no sender address (from) is saved in the %s profile"),
                   herald_profile_get_scope (self));
      return NULL;
    }
  config->to = address_list (self, "to");
  config->cc = address_list (self, "cc");
  config->ca_file = herald_profile_get_string (self, "ca-file");
  timeout = herald_profile_get_number (self, "timeout");
  config->connect_timeout = config->reply_timeout = (guint) CLAMP (timeout, 0, 600);

  return g_steal_pointer (&config);
}

/* ---- credentials ------------------------------------------------------------ */

static gboolean
uses_password (HeraldSmtpConfig *config)
{
  return config->username != NULL &&
         (config->auth == HERALD_AUTH_AUTO || config->auth == HERALD_AUTH_PLAIN ||
          config->auth == HERALD_AUTH_LOGIN);
}

char *
herald_profile_lookup_password (HeraldProfile  *self,
                                GCancellable   *cancellable,
                                GError        **error)
{
  g_autoptr(HeraldSmtpConfig) config = NULL;

  g_return_val_if_fail (HERALD_IS_PROFILE (self), NULL);

  config = herald_profile_to_smtp_config (self, error);
  if (config == NULL)
    return NULL;
  if (config->username == NULL)
    return NULL;

  return self->credentials->lookup (self, config->host, config->port, config->username,
                                    cancellable, error);
}

char *
herald_profile_lookup_password_for (HeraldProfile  *self,
                                    const char     *host,
                                    guint16         port,
                                    const char     *username,
                                    GCancellable   *cancellable,
                                    GError        **error)
{
  g_return_val_if_fail (HERALD_IS_PROFILE (self), NULL);
  g_return_val_if_fail (host != NULL && username != NULL, NULL);

  return self->credentials->lookup (self, host, port, username, cancellable, error);
}

gboolean
herald_profile_store_password (HeraldProfile  *self,
                               const char     *password,
                               GCancellable   *cancellable,
                               GError        **error)
{
  g_autofree char *host = NULL;
  g_autofree char *username = NULL;
  gint64 port;

  g_return_val_if_fail (HERALD_IS_PROFILE (self), FALSE);
  g_return_val_if_fail (password != NULL, FALSE);

  host = herald_profile_get_string (self, "server");
  username = herald_profile_get_string (self, "username");
  port = herald_profile_get_number (self, "port");
  if (host == NULL || username == NULL || port < 1 || port > 65535)
    {
      g_set_error (error, HERALD_PROFILE_ERROR, HERALD_PROFILE_ERROR_INCOMPLETE,
                   _("the password is kept for a server, port and username: set “server” "
                     "and “username” first"));
      return FALSE;
    }

  return self->credentials->store (self, host, (guint16) port, username, password,
                                   cancellable, error);
}

gboolean
herald_profile_clear_password (HeraldProfile  *self,
                               GCancellable   *cancellable,
                               GError        **error)
{
  g_autofree char *host = NULL;
  g_autofree char *username = NULL;
  gint64 port;

  g_return_val_if_fail (HERALD_IS_PROFILE (self), FALSE);

  host = herald_profile_get_string (self, "server");
  username = herald_profile_get_string (self, "username");
  port = herald_profile_get_number (self, "port");
  if (host == NULL || username == NULL || port < 1 || port > 65535)
    return TRUE;
  return self->credentials->clear (self, host, (guint16) port, username, cancellable, error);
}

HeraldCredentialState
herald_profile_get_credential_state (HeraldProfile  *self,
                                     GCancellable   *cancellable,
                                     char          **detail)
{
  g_autoptr(HeraldSmtpConfig) config = NULL;
  g_autoptr(GError) error = NULL;

  g_return_val_if_fail (HERALD_IS_PROFILE (self), HERALD_CREDENTIAL_UNREADABLE);

  if (detail != NULL)
    *detail = NULL;

  config = herald_profile_to_smtp_config (self, NULL);
  if (config == NULL || config->auth == HERALD_AUTH_NONE || config->username == NULL)
    return HERALD_CREDENTIAL_NOT_NEEDED;

  if (config->auth == HERALD_AUTH_XOAUTH2 || config->auth == HERALD_AUTH_OAUTHBEARER)
    {
      g_autofree char *provider = herald_profile_get_string (self, "oauth-provider");
      g_autofree char *client_id = herald_profile_get_string (self, "oauth-client-id");
      g_autoptr(HeraldOAuthTokens) tokens = NULL;

      if (provider == NULL)
        provider = g_strdup ("microsoft");
      if (client_id == NULL)
        client_id = g_strdup (g_str_equal (provider, "google") ? HERALD_GOOGLE_CLIENT_ID
                                                               : HERALD_MICROSOFT_CLIENT_ID);
      tokens = herald_oauth_tokens_lookup_sync (provider, config->username, client_id,
                                                cancellable, &error);
      if (error != NULL)
        {
          if (detail != NULL)
            *detail = g_strdup (error->message);
          return HERALD_CREDENTIAL_UNREADABLE;
        }
      return tokens != NULL && tokens->refresh_token != NULL ? HERALD_CREDENTIAL_STORED
                                                             : HERALD_CREDENTIAL_MISSING;
    }

  if (uses_password (config))
    {
      char *password = self->credentials->lookup (self, config->host, config->port,
                                                  config->username, cancellable, &error);
      gboolean found = password != NULL;

      if (password != NULL)
        {
          herald_secret_free (password);
        }
      if (error != NULL)
        {
          if (detail != NULL)
            *detail = g_strdup (error->message);
          return HERALD_CREDENTIAL_UNREADABLE;
        }
      return found ? HERALD_CREDENTIAL_STORED : HERALD_CREDENTIAL_MISSING;
    }

  return HERALD_CREDENTIAL_NOT_NEEDED;
}
