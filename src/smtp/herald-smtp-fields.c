/* SPDX-License-Identifier: GPL-3.0-or-later
 * Copyright 2026 The Herald authors
 */
#define G_LOG_DOMAIN "herald-smtp"

#include "config.h"

#include <string.h>
#include <glib/gi18n-lib.h>

#include "herald-smtp-private.h"

/* One check per setting, by its GSettings key, so that the window (to mark
 * a row), heraldctl config set (to refuse a value) and the engine agree on
 * what is valid and say it in the same words. */

static gboolean
has_line_break (const char *value)
{
  return strpbrk (value, "\r\n") != NULL;
}

static gboolean
fail (char       **message,
      char        *text)
{
  if (message != NULL)
    *message = text;
  else
    g_free (text);
  return FALSE;
}

/* Line breaks, invalid UTF-8 and control characters: never part of a
 * one-line setting. */
static gboolean
check_text (const char  *label,
            const char  *value,
            char       **message)
{
  g_autoptr(GError) error = NULL;

  if (has_line_break (value))
    /* Translators: %s is a field name such as "Subject" */
    return fail (message, g_strdup_printf (_("%s must not contain line breaks."), label));

  if (!_herald_smtp_check_field (label, value, &error))
    return fail (message, g_strdup (error->message));

  return TRUE;
}

static gboolean
check_number (const char  *value,
              gint64       min,
              gint64       max)
{
  g_autofree char *stripped = g_strstrip (g_strdup (value));
  gint64 number;

  /* Out of range is an error, never clamped: 70000 is not "the highest
   * port", it is a typo. */
  return g_ascii_string_to_signed (stripped, 10, min, max, &number, NULL);
}

static gboolean
check_address_list (const char  *label,
                    const char  *value,
                    gboolean     required,
                    char       **message)
{
  g_auto(GStrv) addresses = NULL;

  if (!check_text (label, value, message))
    return FALSE;

  addresses = herald_address_list_split (value);
  for (guint i = 0; addresses[i] != NULL; i++)
    {
      if (!herald_address_is_valid (addresses[i]))
        /* Translators: the first %s is a field name (To, Cc), the second an address */
        return fail (message, g_strdup_printf (_("%s: “%s” is not a valid email address."),
                                               label, addresses[i]));
    }

  if (required && addresses[0] == NULL)
    return fail (message, g_strdup (_("Enter at least one recipient (To).")));

  return TRUE;
}

/**
 * herald_smtp_check_field:
 * @key: a setting's GSettings key: "server", "port", "security", "auth",
 *   "username", "from", "to", "cc", "subject", "extra-text", "ca-file",
 *   "timeout" or "deadline"
 * @value: the value as typed (numbers as text)
 * @message: (out) (optional) (transfer full): why the value is not valid
 *
 * Checks one setting's value on its own, without the network. Required
 * settings (server, from, to) are not valid when empty; the message then
 * asks for them ("Enter the server’s host name."), so that a form can show
 * it without marking a fresh, empty row as wrong.
 *
 * Returns: %TRUE when @value is valid for @key
 */
gboolean
herald_smtp_check_field (const char  *key,
                         const char  *value,
                         char       **message)
{
  g_return_val_if_fail (key != NULL, FALSE);

  if (message != NULL)
    *message = NULL;
  if (value == NULL)
    value = "";

  if (g_str_equal (key, "server"))
    {
      g_autofree char *host = g_strstrip (g_strdup (value));

      if (*host == '\0')
        return fail (message, g_strdup (_("Enter the server’s host name.")));
      if (!check_text (_("Server"), host, message))
        return FALSE;
      if (!_herald_smtp_host_is_valid (host))
        return fail (message, g_strdup_printf (_("“%s” is not a host name."), host));
      return TRUE;
    }

  if (g_str_equal (key, "port"))
    {
      if (!check_number (value, 1, 65535))
        return fail (message, g_strdup (_("The port must be a number from 1 to 65535.")));
      return TRUE;
    }

  if (g_str_equal (key, "timeout"))
    {
      if (!check_number (value, 1, 600))
        return fail (message,
                     g_strdup (_("The timeout must be a number of seconds from 1 to 600.")));
      return TRUE;
    }

  if (g_str_equal (key, "deadline"))
    {
      if (!check_number (value, 1, 3600))
        return fail (message,
                     g_strdup (_("The deadline must be a number of seconds from 1 to 3600.")));
      return TRUE;
    }

  if (g_str_equal (key, "security"))
    {
      if (!herald_security_from_string (value, NULL))
        return fail (message,
                     g_strdup_printf (_("“%s” is not a security mode (starttls, tls or none)."),
                                      value));
      return TRUE;
    }

  if (g_str_equal (key, "auth"))
    {
      if (!herald_auth_method_from_string (value, NULL))
        return fail (message,
                     g_strdup_printf (_("“%s” is not an authentication method (auto, none, "
                                        "plain, login, xoauth2 or oauthbearer)."),
                                      value));
      return TRUE;
    }

  if (g_str_equal (key, "username"))
    return check_text (_("Username"), value, message);

  if (g_str_equal (key, "subject"))
    return check_text (_("Subject"), value, message);

  if (g_str_equal (key, "ca-file"))
    return check_text (_("CA certificate file"), value, message);

  if (g_str_equal (key, "extra-text"))
    {
      /* Body text: several lines are fine, invalid UTF-8 is not. */
      if (!g_utf8_validate (value, -1, NULL))
        return fail (message, g_strdup (_("The additional text is not valid UTF-8 text.")));
      return TRUE;
    }

  if (g_str_equal (key, "from"))
    {
      g_autofree char *from = g_strstrip (g_strdup (value));

      if (*from == '\0')
        return fail (message, g_strdup (_("Enter the sender address (From).")));
      if (!check_text (_("From"), from, message))
        return FALSE;
      if (!herald_address_is_valid (from))
        return fail (message, g_strdup_printf (_("From: “%s” is not a valid email address."),
                                               from));
      return TRUE;
    }

  if (g_str_equal (key, "to"))
    return check_address_list (_("To"), value, TRUE, message);

  if (g_str_equal (key, "cc"))
    return check_address_list (_("Cc"), value, FALSE, message);

  return fail (message, g_strdup_printf (_("“%s” is not a setting Herald knows."), key));
}
