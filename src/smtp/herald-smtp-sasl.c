/* SPDX-License-Identifier: GPL-3.0-or-later
 * Copyright 2026 The Herald authors
 */
#define G_LOG_DOMAIN "herald-smtp"
#define _GNU_SOURCE  /* memmem() */

#include "config.h"

#include <string.h>

#include "herald-smtp-private.h"

/* SASL payloads (PLAIN, XOAUTH2, OAUTHBEARER) and the redaction that keeps
 * them, and every secret in them, out of transcripts, errors and replies. */

/* ---- SASL payloads -------------------------------------------------------------- */

static char *
encode_and_wipe (GString *raw)
{
  char *encoded = g_base64_encode ((const guchar *) raw->str, raw->len);

  herald_secret_wipe (raw->str, raw->len);
  g_string_free (raw, TRUE);

  return encoded;
}

char *
_herald_sasl_plain (const char *username,
                    const char *password)
{
  GString *raw = g_string_new (NULL);

  /* authzid (empty) NUL authcid NUL passwd (RFC 4616). */
  g_string_append_c (raw, '\0');
  g_string_append (raw, username ? username : "");
  g_string_append_c (raw, '\0');
  g_string_append (raw, password ? password : "");

  return encode_and_wipe (raw);
}

char *
_herald_sasl_xoauth2 (const char *username,
                      const char *token)
{
  GString *raw = g_string_new (NULL);

  g_string_append_printf (raw, "user=%s\001auth=Bearer %s\001\001",
                          username ? username : "", token ? token : "");

  return encode_and_wipe (raw);
}

char *
_herald_sasl_oauthbearer (const char *username,
                          const char *host,
                          guint16     port,
                          const char *token)
{
  GString *raw = g_string_new ("n,a=");

  /* saslname escaping (RFC 5801): ',' and '=' are encoded. */
  for (const char *p = username ? username : ""; *p; p++)
    {
      if (*p == ',')
        g_string_append (raw, "=2C");
      else if (*p == '=')
        g_string_append (raw, "=3D");
      else
        g_string_append_c (raw, *p);
    }
  g_string_append_printf (raw, ",\001host=%s\001port=%u\001auth=Bearer %s\001\001",
                          host ? host : "", (guint) port, token ? token : "");

  return encode_and_wipe (raw);
}

/* ---- redaction ------------------------------------------------------------------ */

#define REDACTED "<redacted>"

static void
replace_all (GString    *text,
             const char *needle)
{
  gsize needle_len = strlen (needle);
  gsize pos = 0;

  if (needle_len == 0)
    return;

  for (;;)
    {
      char *found = strstr (text->str + pos, needle);

      if (found == NULL)
        break;

      pos = found - text->str;
      g_string_erase (text, pos, needle_len);
      g_string_insert (text, pos, REDACTED);
      pos += strlen (REDACTED);
    }
}

/* The part of base64 (pad(k) + secret) that depends on the secret alone,
 * for k = 0, 1, 2 leading bytes: wherever the secret sits inside a larger
 * base64-encoded payload, one of these three cores appears verbatim. */
static char *
base64_core (const char *secret,
             gsize       length,
             guint       k)
{
  g_autofree guchar *buf = g_malloc0 (length + k);
  g_autofree char *encoded = NULL;
  gsize skip = k == 0 ? 0 : k + 1;
  gsize full = ((length + k) * 8) / 6;

  memcpy (buf + k, secret, length);
  encoded = g_base64_encode (buf, length + k);
  herald_secret_wipe ((char *) buf + k, length);

  if (full <= skip)
    {
      herald_secret_wipe (encoded, strlen (encoded));
      return NULL;
    }

  {
    char *core = g_strndup (encoded + skip, full - skip);

    herald_secret_wipe (encoded, strlen (encoded));
    return core;
  }
}

static gboolean
is_base64_char (char c)
{
  return g_ascii_isalnum (c) || c == '+' || c == '/' || c == '=';
}

/* Replaces every base64 word of 8 or more characters whose decoded bytes
 * hold a secret: a whole SASL payload echoed back by a server, even when
 * the secret is too short for its own base64 pieces to be told apart from
 * ordinary text. (Shorter words are left alone: they would match short
 * secrets by chance; a secret encoded on its own is caught below.) */
static void
redact_base64_words (GString            *text,
                     const char * const *secrets)
{
  gsize pos = 0;

  while (pos < text->len)
    {
      gsize start = pos;
      gsize length;
      g_autofree char *word = NULL;
      g_autofree guchar *decoded = NULL;
      gsize decoded_length = 0;
      gboolean holds_secret = FALSE;

      while (start < text->len && !is_base64_char (text->str[start]))
        start++;
      pos = start;
      while (pos < text->len && is_base64_char (text->str[pos]))
        pos++;
      length = pos - start;
      if (length < 8)
        continue;

      /* g_base64_decode() wants padding to a multiple of 4. */
      word = g_malloc0 (length + 4);
      memcpy (word, text->str + start, length);
      while (strlen (word) % 4 != 0)
        strcat (word, "=");
      decoded = g_base64_decode (word, &decoded_length);

      for (guint i = 0; decoded != NULL && secrets[i] != NULL; i++)
        {
          gsize secret_length = strlen (secrets[i]);

          if (secret_length > 0 && secret_length <= decoded_length &&
              memmem (decoded, decoded_length, secrets[i], secret_length) != NULL)
            holds_secret = TRUE;
        }
      if (decoded != NULL)
        herald_secret_wipe (decoded, decoded_length);
      herald_secret_wipe (word, length);

      if (holds_secret)
        {
          g_string_erase (text, start, length);
          g_string_insert (text, start, REDACTED);
          pos = start + strlen (REDACTED);
        }
    }
}

char *
_herald_smtp_scrub (const char         *text,
                    const char * const *secrets)
{
  GString *out;

  if (text == NULL)
    return NULL;

  out = g_string_new (text);
  if (secrets == NULL)
    return g_string_free (out, FALSE);

  /* Whole base64 payloads first, while the secrets inside them are intact. */
  redact_base64_words (out, secrets);

  for (guint i = 0; secrets[i] != NULL; i++)
    {
      const char *secret = secrets[i];
      gsize length = strlen (secret);
      g_autofree char *full = NULL;

      /* Every secret, whatever its length: a one-character password is
       * still a password (the text around it suffers, the secret does not). */
      if (length == 0)
        continue;

      replace_all (out, secret);

      full = g_base64_encode ((const guchar *) secret, length);
      replace_all (out, full);
      herald_secret_wipe (full, strlen (full));

      /* A secret's base64 pieces inside larger payloads; pieces shorter
       * than 4 characters would match ordinary words, and the payloads that
       * carry them were redacted whole above. */
      for (guint k = 0; k < 3; k++)
        {
          g_autofree char *core = base64_core (secret, length, k);

          if (core != NULL && strlen (core) >= 4)
            replace_all (out, core);
          if (core != NULL)
            herald_secret_wipe (core, strlen (core));
        }
    }

  return g_string_free (out, FALSE);
}

char *
_herald_smtp_redact_client_line (const char *line,
                                 gboolean    in_auth_exchange)
{
  g_return_val_if_fail (line != NULL, NULL);

  if (in_auth_exchange)
    return g_strdup (REDACTED);

  if (g_ascii_strncasecmp (line, "AUTH ", 5) == 0)
    {
      const char *mech = line + 5;
      const char *space;

      while (*mech == ' ')
        mech++;
      space = strchr (mech, ' ');
      if (space != NULL)
        {
          g_autofree char *mech_name = g_strndup (mech, space - mech);

          return g_strdup_printf ("AUTH %s " REDACTED, mech_name);
        }
    }

  return g_strdup (line);
}
