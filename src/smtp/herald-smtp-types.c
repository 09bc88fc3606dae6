/* SPDX-License-Identifier: GPL-3.0-or-later
 * Copyright 2026 The Herald authors
 */
#define G_LOG_DOMAIN "herald-smtp"

#include "config.h"

#include <string.h>
#include <glib/gi18n-lib.h>

#include "herald-smtp-private.h"

G_DEFINE_QUARK (herald-smtp-error-quark, herald_smtp_error)

/* ---- enumerations --------------------------------------------------------- */

static const char * const security_names[] = {
  [HERALD_SECURITY_STARTTLS] = "starttls",
  [HERALD_SECURITY_TLS] = "tls",
  [HERALD_SECURITY_NONE] = "none",
};

static const char * const auth_names[] = {
  [HERALD_AUTH_AUTO] = "auto",
  [HERALD_AUTH_NONE] = "none",
  [HERALD_AUTH_PLAIN] = "plain",
  [HERALD_AUTH_LOGIN] = "login",
  [HERALD_AUTH_XOAUTH2] = "xoauth2",
  [HERALD_AUTH_OAUTHBEARER] = "oauthbearer",
};

static const char * const stage_names[] = {
  [HERALD_STAGE_RESOLVE] = "resolve",
  [HERALD_STAGE_CONNECT] = "connect",
  [HERALD_STAGE_GREETING] = "greeting",
  [HERALD_STAGE_EHLO] = "ehlo",
  [HERALD_STAGE_STARTTLS] = "starttls",
  [HERALD_STAGE_TLS] = "tls",
  [HERALD_STAGE_AUTH] = "auth",
  [HERALD_STAGE_MAIL] = "mail",
  [HERALD_STAGE_RCPT] = "rcpt",
  [HERALD_STAGE_DATA] = "data",
  [HERALD_STAGE_QUIT] = "quit",
  [HERALD_STAGE_DONE] = "done",
};

static gboolean
lookup_name (const char * const *names,
             guint               n_names,
             const char         *str,
             guint              *out)
{
  if (str == NULL)
    return FALSE;

  for (guint i = 0; i < n_names; i++)
    {
      if (g_ascii_strcasecmp (names[i], str) == 0)
        {
          if (out != NULL)
            *out = i;
          return TRUE;
        }
    }

  return FALSE;
}

/**
 * herald_security_to_string:
 * @security: a #HeraldSecurity
 *
 * Returns: (transfer none): the stable name, e.g. "starttls"
 */
const char *
herald_security_to_string (HeraldSecurity security)
{
  g_return_val_if_fail ((guint) security < G_N_ELEMENTS (security_names), NULL);
  return security_names[security];
}

/**
 * herald_security_from_string:
 * @str: a name ("starttls", "tls" or "none", any case)
 * @out: (out) (optional): the value
 *
 * Returns: %TRUE when @str names a security mode
 */
gboolean
herald_security_from_string (const char     *str,
                             HeraldSecurity *out)
{
  guint value;

  if (!lookup_name (security_names, G_N_ELEMENTS (security_names), str, &value))
    return FALSE;
  if (out != NULL)
    *out = value;
  return TRUE;
}

/**
 * herald_auth_method_to_string:
 * @method: a #HeraldAuthMethod
 *
 * Returns: (transfer none): the stable name, e.g. "plain"
 */
const char *
herald_auth_method_to_string (HeraldAuthMethod method)
{
  g_return_val_if_fail ((guint) method < G_N_ELEMENTS (auth_names), NULL);
  return auth_names[method];
}

/**
 * herald_auth_method_from_string:
 * @str: a name ("auto", "none", "plain", "login", "xoauth2", "oauthbearer")
 * @out: (out) (optional): the value
 *
 * Returns: %TRUE when @str names an authentication method
 */
gboolean
herald_auth_method_from_string (const char       *str,
                                HeraldAuthMethod *out)
{
  guint value;

  if (!lookup_name (auth_names, G_N_ELEMENTS (auth_names), str, &value))
    return FALSE;
  if (out != NULL)
    *out = value;
  return TRUE;
}

/**
 * herald_stage_to_string:
 * @stage: a #HeraldStage
 *
 * Returns: (transfer none): the stable name, e.g. "auth"
 */
const char *
herald_stage_to_string (HeraldStage stage)
{
  g_return_val_if_fail ((guint) stage < G_N_ELEMENTS (stage_names), NULL);
  return stage_names[stage];
}

/**
 * herald_stage_from_string:
 * @str: a stage name
 * @out: (out) (optional): the value
 *
 * Returns: %TRUE when @str names a stage
 */
gboolean
herald_stage_from_string (const char  *str,
                          HeraldStage *out)
{
  guint value;

  if (!lookup_name (stage_names, G_N_ELEMENTS (stage_names), str, &value))
    return FALSE;
  if (out != NULL)
    *out = value;
  return TRUE;
}

/**
 * herald_transcript_dir_to_string:
 * @dir: a #HeraldTranscriptDir
 *
 * Returns: (transfer none): "client", "server" or "info"
 */
const char *
herald_transcript_dir_to_string (HeraldTranscriptDir dir)
{
  switch (dir)
    {
    case HERALD_TRANSCRIPT_CLIENT:
      return "client";
    case HERALD_TRANSCRIPT_SERVER:
      return "server";
    case HERALD_TRANSCRIPT_INFO:
      return "info";
    default:
      g_return_val_if_reached (NULL);
    }
}

/* ---- configuration -------------------------------------------------------- */

/**
 * herald_smtp_config_new:
 *
 * Returns: (transfer full): an empty configuration (STARTTLS, automatic
 *   authentication, port 587, default timeouts)
 */
HeraldSmtpConfig *
herald_smtp_config_new (void)
{
  HeraldSmtpConfig *config = g_new0 (HeraldSmtpConfig, 1);

  config->port = 587;
  config->security = HERALD_SECURITY_STARTTLS;
  config->auth = HERALD_AUTH_AUTO;

  return config;
}

/**
 * herald_smtp_config_copy:
 * @config: a #HeraldSmtpConfig
 *
 * Returns: (transfer full): a deep copy, secrets included
 */
HeraldSmtpConfig *
herald_smtp_config_copy (const HeraldSmtpConfig *config)
{
  HeraldSmtpConfig *copy;

  g_return_val_if_fail (config != NULL, NULL);

  copy = g_new0 (HeraldSmtpConfig, 1);
  copy->host = g_strdup (config->host);
  copy->port = config->port;
  copy->security = config->security;
  copy->auth = config->auth;
  copy->username = g_strdup (config->username);
  copy->password = g_strdup (config->password);
  copy->oauth_token = g_strdup (config->oauth_token);
  copy->allow_plaintext_auth = config->allow_plaintext_auth;
  copy->from = g_strdup (config->from);
  copy->to = g_strdupv (config->to);
  copy->cc = g_strdupv (config->cc);
  copy->subject = g_strdup (config->subject);
  copy->extra_text = g_strdup (config->extra_text);
  copy->ca_file = g_strdup (config->ca_file);
  copy->helo_name = g_strdup (config->helo_name);
  copy->connect_timeout = config->connect_timeout;
  copy->reply_timeout = config->reply_timeout;
  copy->deadline = config->deadline;

  return copy;
}

/**
 * herald_smtp_config_free:
 * @config: (nullable): a #HeraldSmtpConfig
 *
 * Frees @config, overwriting the password and token first.
 */
void
herald_smtp_config_free (HeraldSmtpConfig *config)
{
  if (config == NULL)
    return;

  herald_secret_wipe_string (config->password);
  herald_secret_wipe_string (config->oauth_token);

  g_free (config->host);
  g_free (config->username);
  g_free (config->password);
  g_free (config->oauth_token);
  g_free (config->from);
  g_strfreev (config->to);
  g_strfreev (config->cc);
  g_free (config->subject);
  g_free (config->extra_text);
  g_free (config->ca_file);
  g_free (config->helo_name);
  g_free (config);
}

G_DEFINE_BOXED_TYPE (HeraldSmtpConfig, herald_smtp_config,
                     herald_smtp_config_copy, herald_smtp_config_free)

gboolean
_herald_smtp_check_field (const char  *field_label,
                          const char  *value,
                          GError     **error)
{
  if (value == NULL)
    return TRUE;

  if (strpbrk (value, "\r\n") != NULL)
    {
      g_set_error (error, HERALD_SMTP_ERROR, HERALD_SMTP_ERROR_INVALID_CONFIG,
                   _("The field “%s” contains a line break. Line breaks are not allowed "
                     "there: they could inject commands or headers."),
                   field_label);
      return FALSE;
    }

  if (!g_utf8_validate (value, -1, NULL))
    {
      g_set_error (error, HERALD_SMTP_ERROR, HERALD_SMTP_ERROR_INVALID_CONFIG,
                   _("The field “%s” is not valid UTF-8 text."),
                   field_label);
      return FALSE;
    }

  for (const char *p = value; *p != '\0'; p++)
    {
      guchar c = (guchar) *p;

      if ((c < 0x20 && c != '\t') || c == 0x7f)
        {
          g_set_error (error, HERALD_SMTP_ERROR, HERALD_SMTP_ERROR_INVALID_CONFIG,
                       _("The field “%s” contains a control character."),
                       field_label);
          return FALSE;
        }
    }

  return TRUE;
}

gboolean
_herald_smtp_check_address_field (const char  *field_label,
                     const char  *address,
                     GError     **error)
{
  if (!_herald_smtp_check_field (field_label, address, error))
    return FALSE;

  if (!herald_address_is_valid (address))
    {
      g_set_error (error, HERALD_SMTP_ERROR, HERALD_SMTP_ERROR_INVALID_CONFIG,
                   _("“%s” in the field “%s” is not a valid e-mail address "
                     "(expected the form name@example.com)."),
                   address, field_label);
      return FALSE;
    }

  return TRUE;
}

gboolean
_herald_smtp_host_is_valid (const char *host)
{
  gsize len = strlen (host);

  if (len == 0 || len > 253)
    return FALSE;

  /* Address literals, e.g. "::1", and names; refuse anything that would
   * break a command line or a URL-like "host:port". */
  for (const char *p = host; *p != '\0'; p++)
    {
      guchar c = (guchar) *p;

      if (c <= 0x20 || c == 0x7f || strchr ("/\\@<>()[],;\"'`", c) != NULL)
        return FALSE;
    }

  return TRUE;
}

static gboolean
is_empty (const char *str)
{
  return str == NULL || *str == '\0';
}

/* The settings that reach the server: host, port, security, method,
 * username, HELO name, CA file, token. */
gboolean
_herald_smtp_config_validate_connection (const HeraldSmtpConfig  *config,
                                         GError                 **error)
{
  if (is_empty (config->host))
    {
      g_set_error_literal (error, HERALD_SMTP_ERROR, HERALD_SMTP_ERROR_INVALID_CONFIG,
                           _("The server name is empty."));
      return FALSE;
    }
  if (!_herald_smtp_check_field (_("Server"), config->host, error))
    return FALSE;
  if (!_herald_smtp_host_is_valid (config->host))
    {
      g_set_error (error, HERALD_SMTP_ERROR, HERALD_SMTP_ERROR_INVALID_CONFIG,
                   _("The server name “%s” is not a valid host name or address."),
                   config->host);
      return FALSE;
    }

  if (config->port == 0)
    {
      g_set_error_literal (error, HERALD_SMTP_ERROR, HERALD_SMTP_ERROR_INVALID_CONFIG,
                           _("The port must be between 1 and 65535."));
      return FALSE;
    }

  if ((guint) config->security > HERALD_SECURITY_NONE)
    {
      g_set_error_literal (error, HERALD_SMTP_ERROR, HERALD_SMTP_ERROR_INVALID_CONFIG,
                           _("Unknown security mode."));
      return FALSE;
    }

  if ((guint) config->auth > HERALD_AUTH_OAUTHBEARER)
    {
      g_set_error_literal (error, HERALD_SMTP_ERROR, HERALD_SMTP_ERROR_INVALID_CONFIG,
                           _("Unknown authentication method."));
      return FALSE;
    }

  if (!_herald_smtp_check_field (_("Username"), config->username, error) ||
      !_herald_smtp_check_field (_("HELO name"), config->helo_name, error) ||
      !_herald_smtp_check_field (_("CA certificate file"), config->ca_file, error))
    return FALSE;

  if (config->helo_name != NULL && *config->helo_name != '\0' &&
      !_herald_smtp_host_is_valid (config->helo_name) &&
      !(config->helo_name[0] == '[' && strchr (config->helo_name, ' ') == NULL))
    {
      g_set_error (error, HERALD_SMTP_ERROR, HERALD_SMTP_ERROR_INVALID_CONFIG,
                   _("The HELO name “%s” is not a valid host name."),
                   config->helo_name);
      return FALSE;
    }

  if (!is_empty (config->oauth_token) &&
      !_herald_smtp_check_field ("OAuth token", config->oauth_token, NULL))
    {
      g_set_error_literal (error, HERALD_SMTP_ERROR, HERALD_SMTP_ERROR_INVALID_CONFIG,
                           _("The OAuth 2.0 access token contains invalid characters."));
      return FALSE;
    }

  return TRUE;
}

/**
 * herald_smtp_config_validate:
 * @config: a #HeraldSmtpConfig
 * @error: return location for a %HERALD_SMTP_ERROR_INVALID_CONFIG error
 *
 * Checks every field without touching the network.
 *
 * Returns: %TRUE when the configuration can be used
 */
gboolean
herald_smtp_config_validate (const HeraldSmtpConfig  *config,
                             GError                 **error)
{
  guint n_to = 0;

  g_return_val_if_fail (config != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (!_herald_smtp_config_validate_connection (config, error))
    return FALSE;

  if (!_herald_smtp_check_field (_("Subject"), config->subject, error))
    return FALSE;

  /* extra_text may span lines: it is body text, normalised to CRLF later. */
  if (config->extra_text != NULL && !g_utf8_validate (config->extra_text, -1, NULL))
    {
      g_set_error_literal (error, HERALD_SMTP_ERROR, HERALD_SMTP_ERROR_INVALID_CONFIG,
                           _("The additional text is not valid UTF-8 text."));
      return FALSE;
    }

  if (is_empty (config->from))
    {
      g_set_error_literal (error, HERALD_SMTP_ERROR, HERALD_SMTP_ERROR_INVALID_CONFIG,
                           _("The sender address (From) is empty."));
      return FALSE;
    }
  if (!_herald_smtp_check_address_field (_("From"), config->from, error))
    return FALSE;

  for (guint i = 0; config->to != NULL && config->to[i] != NULL; i++)
    {
      if (!_herald_smtp_check_address_field (_("To"), config->to[i], error))
        return FALSE;
      n_to++;
    }
  if (n_to == 0)
    {
      g_set_error_literal (error, HERALD_SMTP_ERROR, HERALD_SMTP_ERROR_INVALID_CONFIG,
                           _("There is no recipient (To)."));
      return FALSE;
    }

  for (guint i = 0; config->cc != NULL && config->cc[i] != NULL; i++)
    {
      if (!_herald_smtp_check_address_field (_("Cc"), config->cc[i], error))
        return FALSE;
    }

  return TRUE;
}

/* The credentials the chosen method needs. Not part of
 * herald_smtp_config_validate(): the window and heraldctl validate the form
 * before the password or token is fetched from the keyring. herald_smtp_run()
 * checks them before connecting. */
gboolean
_herald_smtp_config_check_credentials (const HeraldSmtpConfig  *config,
                                       GError                 **error)
{
  switch (config->auth)
    {
    case HERALD_AUTH_PLAIN:
    case HERALD_AUTH_LOGIN:
      if (is_empty (config->username) || is_empty (config->password))
        {
          g_set_error (error, HERALD_SMTP_ERROR, HERALD_SMTP_ERROR_INVALID_CONFIG,
                       _("Authentication “%s” needs a username and a password."),
                       herald_auth_method_to_string (config->auth));
          return FALSE;
        }
      break;

    case HERALD_AUTH_XOAUTH2:
    case HERALD_AUTH_OAUTHBEARER:
      if (is_empty (config->username) || is_empty (config->oauth_token))
        {
          g_set_error (error, HERALD_SMTP_ERROR, HERALD_SMTP_ERROR_INVALID_CONFIG,
                       _("Authentication “%s” needs a username and an OAuth 2.0 access "
                         "token (sign in first)."),
                       herald_auth_method_to_string (config->auth));
          return FALSE;
        }
      break;

    case HERALD_AUTH_AUTO:
    case HERALD_AUTH_NONE:
    default:
      break;
    }

  return TRUE;
}

/* ---- addresses ------------------------------------------------------------ */

static gboolean
is_atext (guchar c)
{
  /* RFC 5322 atext, plus any byte of a UTF-8 sequence (RFC 6532). */
  return g_ascii_isalnum (c) || c >= 0x80 || strchr ("!#$%&'*+-/=?^_`{|}~", c) != NULL;
}

/**
 * herald_address_is_valid:
 * @address: (nullable): an e-mail address
 *
 * A deliberately plain check for "local@domain": a dot-atom local part (no
 * quoted strings), a domain of letters, digits and hyphens in dot-separated
 * labels (single-label names such as "localhost" are accepted; UTF-8 is
 * accepted in both parts), no spaces, brackets or control characters.
 *
 * Returns: %TRUE when @address looks like a usable address
 */
gboolean
herald_address_is_valid (const char *address)
{
  const char *at;
  gsize local_len;
  gsize len;

  if (address == NULL)
    return FALSE;

  len = strlen (address);
  if (len < 3 || len > 254 || !g_utf8_validate (address, len, NULL))
    return FALSE;

  at = strchr (address, '@');
  if (at == NULL || strchr (at + 1, '@') != NULL)
    return FALSE;

  /* Local part: dot-atom. */
  local_len = at - address;
  if (local_len == 0 || local_len > 64)
    return FALSE;
  if (address[0] == '.' || at[-1] == '.')
    return FALSE;
  for (const char *p = address; p < at; p++)
    {
      if (*p == '.')
        {
          if (p[1] == '.')
            return FALSE;
          continue;
        }
      if (!is_atext ((guchar) *p))
        return FALSE;
    }

  /* Domain: labels of letters, digits, hyphens (or UTF-8). */
  {
    const char *domain = at + 1;
    gsize label_len = 0;

    if (*domain == '\0' || *domain == '.' || strlen (domain) > 253)
      return FALSE;

    for (const char *p = domain; ; p++)
      {
        guchar c = (guchar) *p;

        if (c == '.' || c == '\0')
          {
            if (label_len == 0 || label_len > 63)
              return FALSE;
            if (p[-1] == '-')
              return FALSE;
            if (c == '\0')
              break;
            label_len = 0;
            continue;
          }

        if (!(g_ascii_isalnum (c) || c == '-' || c >= 0x80))
          return FALSE;
        if (c == '-' && label_len == 0)
          return FALSE;
        label_len++;
      }
  }

  return TRUE;
}

/**
 * herald_address_list_split:
 * @text: (nullable): addresses separated by commas or semicolons
 *
 * Returns: (transfer full): a NULL-terminated vector of trimmed, non-empty
 *   items (never %NULL)
 */
char **
herald_address_list_split (const char *text)
{
  g_autoptr(GStrvBuilder) builder = g_strv_builder_new ();

  if (text != NULL)
    {
      g_auto(GStrv) parts = g_strsplit_set (text, ",;", -1);

      for (guint i = 0; parts[i] != NULL; i++)
        {
          char *item = g_strstrip (parts[i]);

          if (*item != '\0')
            g_strv_builder_add (builder, item);
        }
    }

  return g_strv_builder_end (builder);
}

/* ---- reply ------------------------------------------------------------------ */

/**
 * herald_smtp_reply_copy:
 * @reply: a #HeraldSmtpReply
 *
 * Returns: (transfer full): a copy
 */
HeraldSmtpReply *
herald_smtp_reply_copy (const HeraldSmtpReply *reply)
{
  HeraldSmtpReply *copy;

  g_return_val_if_fail (reply != NULL, NULL);

  copy = g_new0 (HeraldSmtpReply, 1);
  copy->code = reply->code;
  copy->enhanced = g_strdup (reply->enhanced);
  copy->raw = g_strdup (reply->raw);
  copy->text = g_strdup (reply->text);

  return copy;
}

/**
 * herald_smtp_reply_free:
 * @reply: (nullable): a #HeraldSmtpReply
 */
void
herald_smtp_reply_free (HeraldSmtpReply *reply)
{
  if (reply == NULL)
    return;

  g_free (reply->enhanced);
  g_free (reply->raw);
  g_free (reply->text);
  g_free (reply);
}

/* ---- TLS info --------------------------------------------------------------- */

/**
 * herald_tls_info_copy:
 * @info: a #HeraldTlsInfo
 *
 * Returns: (transfer full): a copy
 */
HeraldTlsInfo *
herald_tls_info_copy (const HeraldTlsInfo *info)
{
  HeraldTlsInfo *copy;

  g_return_val_if_fail (info != NULL, NULL);

  copy = g_new0 (HeraldTlsInfo, 1);
  copy->version = g_strdup (info->version);
  copy->subject = g_strdup (info->subject);
  copy->issuer = g_strdup (info->issuer);
  copy->not_before = g_strdup (info->not_before);
  copy->not_after = g_strdup (info->not_after);
  copy->sha256 = g_strdup (info->sha256);
  copy->errors = g_strdupv (info->errors);
  copy->flags = info->flags;

  return copy;
}

/**
 * herald_tls_info_free:
 * @info: (nullable): a #HeraldTlsInfo
 */
void
herald_tls_info_free (HeraldTlsInfo *info)
{
  if (info == NULL)
    return;

  g_free (info->version);
  g_free (info->subject);
  g_free (info->issuer);
  g_free (info->not_before);
  g_free (info->not_after);
  g_free (info->sha256);
  g_strfreev (info->errors);
  g_free (info);
}

/**
 * herald_tls_flag_names:
 * @flags: #GTlsCertificateFlags
 *
 * Returns: (transfer full): the name of each flag set in @flags
 *   ("unknown-ca", "bad-identity", "not-activated", "expired", "revoked",
 *   "insecure", "generic-error"), NULL-terminated; empty for 0
 */
char **
herald_tls_flag_names (guint flags)
{
  static const struct {
    guint       flag;
    const char *name;
  } names[] = {
    { G_TLS_CERTIFICATE_UNKNOWN_CA, "unknown-ca" },
    { G_TLS_CERTIFICATE_BAD_IDENTITY, "bad-identity" },
    { G_TLS_CERTIFICATE_NOT_ACTIVATED, "not-activated" },
    { G_TLS_CERTIFICATE_EXPIRED, "expired" },
    { G_TLS_CERTIFICATE_REVOKED, "revoked" },
    { G_TLS_CERTIFICATE_INSECURE, "insecure" },
    { G_TLS_CERTIFICATE_GENERIC_ERROR, "generic-error" },
  };
  g_autoptr(GStrvBuilder) builder = g_strv_builder_new ();

  for (guint i = 0; i < G_N_ELEMENTS (names); i++)
    {
      if (flags & names[i].flag)
        g_strv_builder_add (builder, names[i].name);
    }

  return g_strv_builder_end (builder);
}

/* ---- result ----------------------------------------------------------------- */

void
_herald_transcript_entry_free (HeraldTranscriptEntry *entry)
{
  if (entry == NULL)
    return;

  g_free (entry->text);
  g_free (entry);
}

/**
 * herald_smtp_result_new:
 *
 * Returns: (transfer full): an empty result, no stage reached
 */
HeraldSmtpResult *
herald_smtp_result_new (void)
{
  HeraldSmtpResult *result = g_new0 (HeraldSmtpResult, 1);

  result->stage = HERALD_STAGE_RESOLVE;
  result->transcript = g_ptr_array_new_with_free_func ((GDestroyNotify) _herald_transcript_entry_free);
  for (guint i = 0; i < HERALD_N_STAGES; i++)
    result->stage_ms[i] = -1;

  return result;
}

/**
 * herald_smtp_result_new_failed:
 * @stage: where the run stopped
 * @error: why (copied; its domain and code are kept, the diagnosis matches
 *   on them)
 *
 * A result for a run that failed before or outside the engine's own
 * exchange (no password in the keyring, no OAuth token...): no reply, no
 * transcript entries, no stage reached.
 *
 * Returns: (transfer full): a failed result
 */
HeraldSmtpResult *
herald_smtp_result_new_failed (HeraldStage   stage,
                               const GError *error)
{
  HeraldSmtpResult *result;

  g_return_val_if_fail (stage < HERALD_N_STAGES, NULL);
  g_return_val_if_fail (error != NULL, NULL);

  result = herald_smtp_result_new ();
  result->ok = FALSE;
  result->stage = stage;
  result->error = g_error_copy (error);

  return result;
}

/**
 * herald_smtp_result_copy:
 * @result: a #HeraldSmtpResult
 *
 * Returns: (transfer full): a deep copy
 */
HeraldSmtpResult *
herald_smtp_result_copy (const HeraldSmtpResult *result)
{
  HeraldSmtpResult *copy;

  g_return_val_if_fail (result != NULL, NULL);

  copy = herald_smtp_result_new ();
  copy->ok = result->ok;
  copy->stage = result->stage;
  copy->reply = result->reply ? herald_smtp_reply_copy (result->reply) : NULL;
  copy->error = result->error ? g_error_copy (result->error) : NULL;
  copy->tls = result->tls ? herald_tls_info_copy (result->tls) : NULL;

  for (guint i = 0; result->transcript != NULL && i < result->transcript->len; i++)
    {
      const HeraldTranscriptEntry *entry = g_ptr_array_index (result->transcript, i);
      HeraldTranscriptEntry *entry_copy = g_new0 (HeraldTranscriptEntry, 1);

      entry_copy->dir = entry->dir;
      entry_copy->text = g_strdup (entry->text);
      entry_copy->ms = entry->ms;
      g_ptr_array_add (copy->transcript, entry_copy);
    }

  copy->elapsed_ms = result->elapsed_ms;
  memcpy (copy->stage_ms, result->stage_ms, sizeof copy->stage_ms);
  copy->greeting = g_strdup (result->greeting);
  copy->auth_mechanisms = g_strdupv (result->auth_mechanisms);
  copy->auth_used = g_strdup (result->auth_used);
  copy->remote_address = g_strdup (result->remote_address);
  copy->message_id = g_strdup (result->message_id);
  if (result->deliveries != NULL)
    {
      copy->deliveries = g_ptr_array_new_with_free_func ((GDestroyNotify) herald_delivery_free);
      for (guint i = 0; i < result->deliveries->len; i++)
        g_ptr_array_add (copy->deliveries,
                         herald_delivery_copy (g_ptr_array_index (result->deliveries, i)));
    }

  return copy;
}

/**
 * herald_smtp_result_free:
 * @result: (nullable): a #HeraldSmtpResult
 */
void
herald_smtp_result_free (HeraldSmtpResult *result)
{
  if (result == NULL)
    return;

  herald_smtp_reply_free (result->reply);
  g_clear_error (&result->error);
  herald_tls_info_free (result->tls);
  g_clear_pointer (&result->transcript, g_ptr_array_unref);
  g_free (result->greeting);
  g_strfreev (result->auth_mechanisms);
  g_free (result->auth_used);
  g_free (result->remote_address);
  g_free (result->message_id);
  g_clear_pointer (&result->deliveries, g_ptr_array_unref);
  g_free (result);
}

G_DEFINE_BOXED_TYPE (HeraldSmtpResult, herald_smtp_result,
                     herald_smtp_result_copy, herald_smtp_result_free)

/* ---- deliveries ----------------------------------------------------------- */

/**
 * herald_smtp_message_new:
 * @sender: the envelope sender; "" for the null sender
 * @recipients: (array zero-terminated=1): at least one recipient
 * @data: the message, CRLF line endings (referenced)
 *
 * Returns: (transfer full): a message for herald_smtp_deliver()
 */
HeraldSmtpMessage *
herald_smtp_message_new (const char         *sender,
                         const char * const *recipients,
                         GBytes             *data)
{
  HeraldSmtpMessage *message;

  g_return_val_if_fail (sender != NULL, NULL);
  g_return_val_if_fail (recipients != NULL && recipients[0] != NULL, NULL);
  g_return_val_if_fail (data != NULL, NULL);

  message = g_new0 (HeraldSmtpMessage, 1);
  message->sender = g_strdup (sender);
  message->recipients = g_strdupv ((char **) recipients);
  message->data = g_bytes_ref (data);

  return message;
}

void
herald_smtp_message_free (HeraldSmtpMessage *message)
{
  if (message == NULL)
    return;

  g_free (message->sender);
  g_strfreev (message->recipients);
  g_bytes_unref (message->data);
  g_free (message);
}

static const char * const outcome_names[] = {
  [HERALD_DELIVERY_DELIVERED] = "delivered",
  [HERALD_DELIVERY_TEMPORARY] = "temporary",
  [HERALD_DELIVERY_RECIPIENTS_REFUSED] = "recipients-refused",
  [HERALD_DELIVERY_CONTENT_REFUSED] = "content-refused",
};

const char *
herald_delivery_outcome_to_string (HeraldDeliveryOutcome outcome)
{
  g_return_val_if_fail ((guint) outcome < G_N_ELEMENTS (outcome_names), NULL);

  return outcome_names[outcome];
}

HeraldDelivery *
herald_delivery_copy (const HeraldDelivery *delivery)
{
  HeraldDelivery *copy;

  g_return_val_if_fail (delivery != NULL, NULL);

  copy = g_new0 (HeraldDelivery, 1);
  copy->outcome = delivery->outcome;
  copy->stage = delivery->stage;
  copy->reply = delivery->reply ? herald_smtp_reply_copy (delivery->reply) : NULL;
  copy->error = delivery->error ? g_error_copy (delivery->error) : NULL;
  copy->recipient_replies = g_ptr_array_new_with_free_func ((GDestroyNotify) herald_smtp_reply_free);
  for (guint i = 0; delivery->recipient_replies && i < delivery->recipient_replies->len; i++)
    {
      const HeraldSmtpReply *reply = g_ptr_array_index (delivery->recipient_replies, i);

      g_ptr_array_add (copy->recipient_replies, reply ? herald_smtp_reply_copy (reply) : NULL);
    }
  copy->attempted = delivery->attempted;
  copy->data_sent = delivery->data_sent;

  return copy;
}

void
herald_delivery_free (HeraldDelivery *delivery)
{
  if (delivery == NULL)
    return;

  herald_smtp_reply_free (delivery->reply);
  g_clear_error (&delivery->error);
  g_clear_pointer (&delivery->recipient_replies, g_ptr_array_unref);
  g_free (delivery);
}
