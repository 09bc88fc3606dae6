/* SPDX-License-Identifier: GPL-3.0-or-later
 * Copyright 2026 The Herald authors
 */
#define G_LOG_DOMAIN "herald-smtp"

#include "config.h"

#include <string.h>
#include <glib/gi18n-lib.h>
#include <gmime/gmime.h>

#include "herald-smtp-private.h"

/* GMime 3.2 declares no autoptr cleanups. */
G_DEFINE_AUTOPTR_CLEANUP_FUNC (GMimeMessage, g_object_unref)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (GMimeTextPart, g_object_unref)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (GMimeFormatOptions, g_mime_format_options_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (GMimeStream, g_object_unref)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (GMimeDataWrapper, g_object_unref)

/* ---- CRLF and dot-stuffing -------------------------------------------------- */

/**
 * herald_smtp_normalize_crlf:
 * @data: message bytes, any line endings
 * @length: length of @data
 *
 * Returns: (transfer full): @data with CRLF line endings, ending with CRLF
 */
GBytes *
herald_smtp_normalize_crlf (const char *data,
                            gsize       length)
{
  GByteArray *out = g_byte_array_sized_new (length + length / 32 + 2);
  static const guint8 crlf[] = { '\r', '\n' };

  for (gsize i = 0; i < length; i++)
    {
      guint8 c = (guint8) data[i];

      if (c == '\r')
        {
          g_byte_array_append (out, crlf, 2);
          if (i + 1 < length && data[i + 1] == '\n')
            i++;
        }
      else if (c == '\n')
        g_byte_array_append (out, crlf, 2);
      else
        g_byte_array_append (out, &c, 1);
    }

  if (out->len < 2 || out->data[out->len - 2] != '\r' || out->data[out->len - 1] != '\n')
    g_byte_array_append (out, crlf, 2);

  return g_byte_array_free_to_bytes (out);
}

GBytes *
_herald_smtp_dot_stuff (GBytes *message)
{
  gsize length;
  const guint8 *data = g_bytes_get_data (message, &length);
  GByteArray *out = g_byte_array_sized_new (length + length / 64 + 8);
  gboolean line_start = TRUE;
  static const guint8 dot = '.';
  static const guint8 terminator[] = { '.', '\r', '\n' };
  static const guint8 crlf[] = { '\r', '\n' };

  for (gsize i = 0; i < length; i++)
    {
      if (line_start && data[i] == '.')
        g_byte_array_append (out, &dot, 1);
      g_byte_array_append (out, &data[i], 1);
      line_start = data[i] == '\n';
    }

  /* The terminator must start on a line of its own. */
  if (out->len > 0 && !line_start)
    g_byte_array_append (out, crlf, 2);
  g_byte_array_append (out, terminator, 3);

  return g_byte_array_free_to_bytes (out);
}

/* ---- the test message --------------------------------------------------------- */

static gpointer
init_gmime_once (gpointer data)
{
  g_mime_init ();
  return NULL;
}

static void
ensure_gmime (void)
{
  static GOnce once = G_ONCE_INIT;

  g_once (&once, init_gmime_once, NULL);
}

/**
 * herald_smtp_default_subject:
 * @hostname: (nullable): the machine to name; %NULL: this one
 *
 * Returns: (transfer full): the subject of a test message when none is
 *   given, "Herald test message from HOST" (translated)
 */
char *
herald_smtp_default_subject (const char *hostname)
{
  return g_strdup_printf (_("Herald test message from %s"),
                          hostname != NULL ? hostname : g_get_host_name ());
}

static const char *
security_label (HeraldSecurity security)
{
  switch (security)
    {
    case HERALD_SECURITY_STARTTLS:
      return "STARTTLS";
    case HERALD_SECURITY_TLS:
      return "SSL/TLS (implicit TLS)";
    case HERALD_SECURITY_NONE:
    default:
      return _("None (unencrypted)");
    }
}

static char *
make_message_id (const char *from)
{
  const char *at = from ? strrchr (from, '@') : NULL;
  const char *domain = at != NULL && at[1] != '\0' ? at + 1 : "herald.invalid";
  g_autofree char *uuid = g_uuid_string_random ();

  return g_strdup_printf ("herald.%s@%s", uuid, domain);
}

/**
 * herald_smtp_build_message:
 * @config: the settings whose test message this is
 * @info: how it is sent
 * @message_id: (out) (optional): its Message-ID, in angle brackets
 *
 * Returns: (transfer full): the test message, CRLF line endings
 */
GBytes *
herald_smtp_build_message (const HeraldSmtpConfig  *config,
                           const HeraldMessageInfo *info,
                           char                   **message_id)
{
  g_autoptr(GMimeMessage) message = NULL;
  g_autoptr(GMimeTextPart) part = NULL;
  g_autoptr(GMimeFormatOptions) options = NULL;
  g_autoptr(GDateTime) now = NULL;
  g_autoptr(GDateTime) utc = NULL;
  g_autoptr(GString) body = g_string_new (NULL);
  g_autofree char *subject = NULL;
  g_autofree char *id = NULL;
  g_autofree char *when = NULL;
  g_autofree char *serialized = NULL;
  const char *hostname;

  g_return_val_if_fail (config != NULL, NULL);
  g_return_val_if_fail (info != NULL, NULL);

  ensure_gmime ();

  hostname = info->hostname != NULL ? info->hostname : g_get_host_name ();
  now = info->date != NULL ? g_date_time_ref (info->date) : g_date_time_new_now_local ();
  utc = g_date_time_to_utc (now);
  when = g_date_time_format (utc, "%Y-%m-%d %H:%M:%S UTC");

  message = g_mime_message_new (TRUE);

  if (config->from != NULL)
    g_mime_message_add_mailbox (message, GMIME_ADDRESS_TYPE_FROM, NULL, config->from);
  for (guint i = 0; config->to != NULL && config->to[i] != NULL; i++)
    g_mime_message_add_mailbox (message, GMIME_ADDRESS_TYPE_TO, NULL, config->to[i]);
  for (guint i = 0; config->cc != NULL && config->cc[i] != NULL; i++)
    g_mime_message_add_mailbox (message, GMIME_ADDRESS_TYPE_CC, NULL, config->cc[i]);

  if (config->subject != NULL && *config->subject != '\0')
    subject = g_strdup (config->subject);
  else
    subject = herald_smtp_default_subject (hostname);
  /* GMime encodes non-ASCII text as RFC 2047 encoded words when writing. */
  g_mime_message_set_subject (message, subject, "utf-8");

  g_mime_message_set_date (message, now);

  id = make_message_id (config->from);
  g_mime_message_set_message_id (message, id);
  g_mime_object_set_header (GMIME_OBJECT (message), "MIME-Version", "1.0", NULL);
  g_mime_object_set_header (GMIME_OBJECT (message), "X-Mailer",
                            "Herald " PACKAGE_VERSION, NULL);

  g_string_append (body, _("This is a test message from Herald."));
  g_string_append (body, "\n\n");
  g_string_append (body, _("It was sent to check the e-mail alert settings. If you can read it, "
                           "alerts sent with these settings will arrive."));
  g_string_append (body, "\n\n");
  g_string_append_printf (body, "%s %s\n", _("Server:"), config->host ? config->host : "");
  g_string_append_printf (body, "%s %u\n", _("Port:"), (guint) config->port);
  g_string_append_printf (body, "%s %s\n", _("Security:"), security_label (config->security));
  g_string_append_printf (body, "%s %s\n", _("Authentication:"),
                          info->mechanism != NULL ? info->mechanism : _("none"));
  g_string_append_printf (body, "%s %s\n", _("Sent from host:"), hostname);
  g_string_append_printf (body, "%s %s\n", _("Sent at:"), when);

  if (config->extra_text != NULL && *config->extra_text != '\0')
    {
      g_string_append (body, "\n");
      g_string_append (body, config->extra_text);
      g_string_append (body, "\n");
    }

  /* Not g_mime_text_part_set_text(): it would convert the text to the
   * "best" charset (ISO-8859-1 for most European text); we promise UTF-8. */
  part = g_mime_text_part_new_with_subtype ("plain");
  g_mime_text_part_set_charset (part, "utf-8");
  {
    g_autoptr(GMimeStream) stream = g_mime_stream_mem_new_with_buffer (body->str, body->len);
    g_autoptr(GMimeDataWrapper) content =
      g_mime_data_wrapper_new_with_stream (stream, GMIME_CONTENT_ENCODING_DEFAULT);

    g_mime_part_set_content (GMIME_PART (part), content);
  }
  g_mime_part_set_content_encoding (GMIME_PART (part), GMIME_CONTENT_ENCODING_QUOTEDPRINTABLE);
  g_mime_message_set_mime_part (message, GMIME_OBJECT (part));

  options = g_mime_format_options_new ();
  g_mime_format_options_set_newline_format (options, GMIME_NEWLINE_FORMAT_DOS);
  serialized = g_mime_object_to_string (GMIME_OBJECT (message), options);

  if (message_id != NULL)
    *message_id = g_strdup_printf ("<%s>", id);

  return herald_smtp_normalize_crlf (serialized, strlen (serialized));
}
