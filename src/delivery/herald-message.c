/* SPDX-License-Identifier: GPL-3.0-or-later
 * Copyright 2026 The Herald authors
 */
#define G_LOG_DOMAIN "herald-delivery"

#include "config.h"

#include <glib/gi18n.h>
#include <gmime/gmime.h>
#include <string.h>
#include <inttypes.h>

#include "herald-message.h"
#include "herald-smtp.h"

G_DEFINE_QUARK (herald-message-error-quark, herald_message_error)

/* GMime 3.2 declares no autoptr cleanups. */
G_DEFINE_AUTOPTR_CLEANUP_FUNC (GMimeMessage, g_object_unref)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (GMimeTextPart, g_object_unref)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (GMimeFormatOptions, g_mime_format_options_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (GMimeStream, g_object_unref)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (InternetAddressList, g_object_unref)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (InternetAddress, g_object_unref)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (GMimeParser, g_object_unref)

/* Headers a sendmail drops from what it sends (Postfix does the same). */
static const char * const dropped_headers[] = {
  "bcc", "resent-bcc", "content-length", "return-path", "x-herald-original-from", NULL
};

void
herald_prepared_message_free (HeraldPreparedMessage *message)
{
  if (message == NULL)
    return;
  g_clear_pointer (&message->data, g_bytes_unref);
  g_free (message->sender);
  g_strfreev (message->recipients);
  g_free (message->message_id);
  g_free (message->subject);
  g_free (message);
}

static void
init_gmime (void)
{
  static gsize once;

  if (g_once_init_enter (&once))
    {
      g_mime_init ();
      g_once_init_leave (&once, 1);
    }
}

static gboolean
has_eight_bit (const char *data,
               gsize       length)
{
  for (gsize i = 0; i < length; i++)
    if ((guint8) data[i] >= 0x80)
      return TRUE;
  return FALSE;
}

/* ---- recipients ------------------------------------------------------------------ */

typedef struct {
  GPtrArray  *list;   /* unique addresses, in order */
  GHashTable *seen;   /* lower-cased */
} Recipients;

static void
recipients_add (Recipients *r,
                const char *address)
{
  g_autofree char *key = g_ascii_strdown (address, -1);

  if (g_hash_table_contains (r->seen, key))
    return;
  g_hash_table_add (r->seen, g_steal_pointer (&key));
  g_ptr_array_add (r->list, g_strdup (address));
}

/* Adds @address, or what a bare local name ("root") stands for. */
static gboolean
recipients_add_mapped (Recipients                 *r,
                       const char                 *address,
                       const HeraldMessageOptions *options,
                       GError                    **error)
{
  g_autofree char *stripped = g_strstrip (g_strdup (address));

  if (stripped[0] == '\0')
    return TRUE;

  if (strchr (stripped, '@') == NULL)
    {
      const char * const *local = options->local_recipients != NULL
                                  ? options->local_recipients : options->profile_recipients;

      /* Any name without a domain: cron, mdadm and atd write to "root" or
       * the user's name, which a null client cannot deliver anywhere but
       * to the administrator's real address. */
      for (guint i = 0; local != NULL && local[i] != NULL; i++)
        recipients_add (r, local[i]);
      return TRUE;
    }

  if (!herald_address_is_valid (stripped))
    {
      g_set_error (error, HERALD_MESSAGE_ERROR, HERALD_MESSAGE_ERROR_BAD_ADDRESS,
                   _("“%s” is not a valid recipient address"), stripped);
      return FALSE;
    }
  recipients_add (r, stripped);
  return TRUE;
}

/* Every mailbox of a header value (groups flattened). */
static void
collect_mailboxes (InternetAddressList *list,
                   GPtrArray           *out)
{
  for (int i = 0; list != NULL && i < internet_address_list_length (list); i++)
    {
      InternetAddress *ia = internet_address_list_get_address (list, i);

      if (INTERNET_ADDRESS_IS_GROUP (ia))
        collect_mailboxes (internet_address_group_get_members (INTERNET_ADDRESS_GROUP (ia)), out);
      else if (INTERNET_ADDRESS_IS_MAILBOX (ia))
        {
          const char *addr = internet_address_mailbox_get_addr (INTERNET_ADDRESS_MAILBOX (ia));

          if (addr != NULL && addr[0] != '\0')
            g_ptr_array_add (out, g_strdup (addr));
        }
    }
}

/* ---- the header section ------------------------------------------------------------ */

typedef struct {
  char *name;    /* as written */
  char *raw;     /* the whole field, folded lines included, without the final line end */
  char *value;   /* unfolded value, leading white space removed */
} Header;

static void
header_free (Header *h)
{
  g_free (h->name);
  g_free (h->raw);
  g_free (h->value);
  g_free (h);
}

static gboolean
is_field_name (const char *line,
               gsize       length,
               gsize      *name_length)
{
  gsize i = 0;

  while (i < length && line[i] > 32 && line[i] < 127 && line[i] != ':')
    i++;
  if (i == 0 || i >= length || line[i] != ':')
    return FALSE;
  *name_length = i;
  return TRUE;
}

/* Splits @input into header fields and the body. Lines end with LF or
 * CRLF; the header section ends at the first empty line or at the first
 * line that is neither a field nor a continuation (that line starts the
 * body, as Postfix does). A leading mbox "From " line is dropped. */
static void
split_message (const char  *input,
               gsize        length,
               GPtrArray   *headers,
               const char **body,
               gsize       *body_length)
{
  gsize pos = 0;
  Header *current = NULL;

  if (length >= 5 && memcmp (input, "From ", 5) == 0)
    {
      const char *nl = memchr (input, '\n', length);

      pos = nl != NULL ? (gsize) (nl - input) + 1 : length;
    }

  while (pos < length)
    {
      const char *line = input + pos;
      const char *nl = memchr (line, '\n', length - pos);
      gsize line_length = nl != NULL ? (gsize) (nl - line) : length - pos;
      gsize next = nl != NULL ? pos + line_length + 1 : length;
      gsize text_length = line_length;
      gsize name_length;

      if (text_length > 0 && line[text_length - 1] == '\r')
        text_length--;

      if (text_length == 0)
        {
          /* The empty line: the body follows it. */
          pos = next;
          break;
        }
      if ((line[0] == ' ' || line[0] == '\t') && current != NULL)
        {
          g_autofree char *piece = g_strndup (line, text_length);
          char *raw = g_strconcat (current->raw, "\r\n", piece, NULL);
          char *value = g_strconcat (current->value, " ", g_strstrip (piece), NULL);

          g_free (current->raw);
          current->raw = raw;
          g_free (current->value);
          current->value = value;
        }
      else if (is_field_name (line, text_length, &name_length))
        {
          current = g_new0 (Header, 1);
          current->name = g_strndup (line, name_length);
          current->raw = g_strndup (line, text_length);
          current->value = g_strndup (line + name_length + 1, text_length - name_length - 1);
          g_strstrip (current->value);
          g_ptr_array_add (headers, current);
        }
      else
        break;  /* not a header: the body starts here */
      pos = next;
    }

  *body = input + pos;
  *body_length = length - pos;
}

static Header *
find_header (GPtrArray  *headers,
             const char *name)
{
  for (guint i = 0; i < headers->len; i++)
    {
      Header *h = g_ptr_array_index (headers, i);

      if (g_ascii_strcasecmp (h->name, name) == 0)
        return h;
    }
  return NULL;
}

static void
append_field (GString    *out,
              const char *name,
              const char *value)
{
  g_string_append_printf (out, "%s: %s\r\n", name, value);
}

static char *
format_date (GDateTime *date)
{
  g_autoptr(GDateTime) now = date == NULL ? g_date_time_new_now_local () : NULL;

  return g_mime_utils_header_format_date (date != NULL ? date : now);
}

static char *
mailbox_string (const char *name,
                const char *address)
{
  g_autoptr(InternetAddress) ia = internet_address_mailbox_new (name, address);

  return internet_address_to_string (ia, NULL, TRUE);
}

static gboolean
same_address (const char *a,
              const char *b)
{
  return a != NULL && b != NULL && g_ascii_strcasecmp (a, b) == 0;
}

static gboolean
is_plain_text (const char *s)
{
  return s == NULL || (g_utf8_validate (s, -1, NULL) && strpbrk (s, "\r\n") == NULL);
}

/* ---- the two modes ------------------------------------------------------------------ */

static GBytes *
build_body_mode (const char                 *input,
                 gsize                       length,
                 const HeraldMessageOptions *options,
                 char * const               *recipients,
                 const char                 *message_id,
                 GError                    **error)
{
  g_autoptr(GMimeMessage) message = g_mime_message_new (TRUE);
  g_autoptr(GMimeTextPart) part = g_mime_text_part_new_with_subtype ("plain");
  g_autoptr(GMimeFormatOptions) format = g_mime_format_options_new ();
  g_autoptr(GMimeStream) stream = g_mime_stream_mem_new ();
  g_autoptr(GDateTime) now = options->date == NULL ? g_date_time_new_now_local () : NULL;
  g_autofree char *text = NULL;
  g_autofree char *user_agent = g_strdup_printf ("Herald/%s", PACKAGE_VERSION);
  GByteArray *bytes;

  if (!g_utf8_validate_len (input, length, NULL))
    {
      g_set_error (error, HERALD_MESSAGE_ERROR, HERALD_MESSAGE_ERROR_BAD_INPUT,
                   _("the message body is not UTF-8 text (without --subject, standard input "
                     "is read as a whole message)"));
      return NULL;
    }

  g_mime_message_add_mailbox (message, GMIME_ADDRESS_TYPE_FROM, options->full_name,
                              options->profile_from);
  for (guint i = 0; recipients[i] != NULL; i++)
    g_mime_message_add_mailbox (message, GMIME_ADDRESS_TYPE_TO, NULL, recipients[i]);
  g_mime_message_set_subject (message, options->subject, "utf-8");
  g_mime_message_set_date (message, options->date != NULL ? options->date : now);
  g_mime_message_set_message_id (message, message_id);
  g_mime_object_set_header (GMIME_OBJECT (message), "User-Agent", user_agent, NULL);

  /* Bare LF and CR become CRLF on the way out (format options below). */
  text = g_strndup (input, length);
  g_mime_text_part_set_text (part, text);
  /* GMime picks the smallest charset that fits (ISO-8859-1 for French);
   * UTF-8 is what every alert reader expects. */
  g_mime_text_part_set_charset (part, "utf-8");
  g_mime_part_set_content_encoding (GMIME_PART (part),
    g_mime_part_get_best_content_encoding (GMIME_PART (part), GMIME_ENCODING_CONSTRAINT_7BIT));
  g_mime_message_set_mime_part (message, GMIME_OBJECT (part));

  g_mime_format_options_set_newline_format (format, GMIME_NEWLINE_FORMAT_DOS);
  g_mime_object_write_to_stream (GMIME_OBJECT (message), format, stream);
  bytes = g_mime_stream_mem_get_byte_array (GMIME_STREAM_MEM (stream));

  return herald_smtp_normalize_crlf ((const char *) bytes->data, bytes->len);
}

HeraldPreparedMessage *
herald_message_prepare (const char                 *input,
                        gsize                       length,
                        const HeraldMessageOptions *options,
                        GError                    **error)
{
  g_autoptr(HeraldPreparedMessage) prepared = g_new0 (HeraldPreparedMessage, 1);
  g_autoptr(GPtrArray) headers = g_ptr_array_new_with_free_func ((GDestroyNotify) header_free);
  g_autoptr(GPtrArray) list = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GHashTable) seen = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  Recipients recipients = { list, seen };
  const char *body = NULL;
  gsize body_length = 0;
  gboolean body_mode;

  g_return_val_if_fail (options != NULL && options->profile_from != NULL, NULL);
  g_return_val_if_fail (input != NULL || length == 0, NULL);

  init_gmime ();
  body_mode = options->subject != NULL;

  if (options->max_size > 0 && length > options->max_size)
    {
      g_set_error (error, HERALD_MESSAGE_ERROR, HERALD_MESSAGE_ERROR_TOO_BIG,
                   _("the message is larger than the limit of %" PRIu64 " bytes "
                     "(max-message-size)"), (guint64) options->max_size);
      return NULL;
    }
  if (length == 0)
    {
      g_set_error (error, HERALD_MESSAGE_ERROR, HERALD_MESSAGE_ERROR_EMPTY,
                   _("the message is empty: nothing was read from standard input"));
      return NULL;
    }
  if (!is_plain_text (options->full_name) || !is_plain_text (options->subject))
    {
      g_set_error (error, HERALD_MESSAGE_ERROR, HERALD_MESSAGE_ERROR_BAD_INPUT,
                   _("the subject and the full name must be one line of UTF-8 text"));
      return NULL;
    }
  if (options->envelope_from != NULL && options->envelope_from[0] != '\0' &&
      strchr (options->envelope_from, '@') != NULL &&
      !herald_address_is_valid (options->envelope_from))
    {
      g_set_error (error, HERALD_MESSAGE_ERROR, HERALD_MESSAGE_ERROR_BAD_ADDRESS,
                   _("“%s” is not a valid sender address"), options->envelope_from);
      return NULL;
    }

  if (!body_mode)
    split_message (input, length, headers, &body, &body_length);

  /* Recipients: the arguments first, then (with -t) the headers. */
  for (guint i = 0; options->recipients != NULL && options->recipients[i] != NULL; i++)
    {
      /* One argument may hold several, as "a@x, b@y". */
      g_auto(GStrv) split = herald_address_list_split (options->recipients[i]);

      for (guint j = 0; split != NULL && split[j] != NULL; j++)
        if (!recipients_add_mapped (&recipients, split[j], options, error))
          return NULL;
    }
  if (options->extract && !body_mode)
    {
      static const char * const fields[] = { "to", "cc", "bcc" };

      for (guint f = 0; f < G_N_ELEMENTS (fields); f++)
        for (guint i = 0; i < headers->len; i++)
          {
            Header *h = g_ptr_array_index (headers, i);
            g_autoptr(InternetAddressList) parsed = NULL;
            g_autoptr(GPtrArray) found = g_ptr_array_new_with_free_func (g_free);

            if (g_ascii_strcasecmp (h->name, fields[f]) != 0)
              continue;
            parsed = internet_address_list_parse (NULL, h->value);
            collect_mailboxes (parsed, found);
            for (guint j = 0; j < found->len; j++)
              if (!recipients_add_mapped (&recipients, g_ptr_array_index (found, j), options,
                                          error))
                return NULL;
          }
    }
  if (list->len == 0)
    for (guint i = 0; options->profile_recipients != NULL && options->profile_recipients[i] != NULL; i++)
      recipients_add (&recipients, options->profile_recipients[i]);
  if (list->len == 0)
    {
      g_set_error (error, HERALD_MESSAGE_ERROR, HERALD_MESSAGE_ERROR_NO_RECIPIENT,
                   _("no recipient: none was given, none is in the message (-t), and the "
                     "profile has no “to”"));
      return NULL;
    }
  for (guint i = 0; i < list->len; i++)
    if (!herald_address_is_valid (g_ptr_array_index (list, i)))
      {
        g_set_error (error, HERALD_MESSAGE_ERROR, HERALD_MESSAGE_ERROR_BAD_ADDRESS,
                     _("“%s” is not a valid recipient address"),
                     (const char *) g_ptr_array_index (list, i));
        return NULL;
      }
  g_ptr_array_add (list, NULL);
  prepared->recipients = (char **) g_ptr_array_free (g_steal_pointer (&list), FALSE);

  /* The envelope sender: the authenticated mailbox, unless told to keep
   * the caller's (-f is used then). */
  if (!options->rewrite_from && options->envelope_from != NULL &&
      herald_address_is_valid (options->envelope_from))
    prepared->sender = g_strdup (options->envelope_from);
  else
    prepared->sender = g_strdup (options->profile_from);

  if (body_mode)
    {
      g_autofree char *id = g_mime_utils_generate_message_id (options->hostname != NULL
                                                              ? options->hostname
                                                              : g_get_host_name ());

      prepared->data = build_body_mode (input, length, options, prepared->recipients, id, error);
      if (prepared->data == NULL)
        return NULL;
      prepared->message_id = g_steal_pointer (&id);
      prepared->subject = g_strdup (options->subject);
    }
  else
    {
      g_autoptr(GString) out = g_string_sized_new (length + 512);
      g_autoptr(GBytes) normalized = NULL;
      Header *from = find_header (headers, "from");
      Header *message_id = find_header (headers, "message-id");
      Header *subject = find_header (headers, "subject");
      gboolean add_content_type = FALSE;
      g_autofree char *new_from = NULL;
      g_autofree char *original_from = NULL;

      /* The From header. */
      {
        g_autoptr(InternetAddressList) parsed = from != NULL
                                                ? internet_address_list_parse (NULL, from->value)
                                                : NULL;
        InternetAddress *first = parsed != NULL && internet_address_list_length (parsed) > 0
                                 ? internet_address_list_get_address (parsed, 0) : NULL;
        const char *addr = first != NULL && INTERNET_ADDRESS_IS_MAILBOX (first)
                           ? internet_address_mailbox_get_addr (INTERNET_ADDRESS_MAILBOX (first))
                           : NULL;
        const char *name = first != NULL ? internet_address_get_name (first) : NULL;

        if (name != NULL && name[0] == '\0')
          name = NULL;
        if (name == NULL)
          name = options->full_name;

        if (from == NULL)
          new_from = mailbox_string (name, prepared->sender);
        else if (options->rewrite_from && !same_address (addr, options->profile_from))
          {
            new_from = mailbox_string (name, options->profile_from);
            original_from = g_strdup (from->value);
          }
      }

      /* Keep every field in its order, except those dropped or replaced. */
      for (guint i = 0; i < headers->len; i++)
        {
          Header *h = g_ptr_array_index (headers, i);
          g_autofree char *lower = g_ascii_strdown (h->name, -1);

          if (g_strv_contains (dropped_headers, lower))
            continue;
          if (h == from && new_from != NULL)
            {
              append_field (out, "From", new_from);
              continue;
            }
          g_string_append (out, h->raw);
          g_string_append (out, "\r\n");
        }
      if (from == NULL)
        append_field (out, "From", new_from);
      if (original_from != NULL)
        append_field (out, "X-Herald-Original-From", original_from);
      if (find_header (headers, "date") == NULL)
        {
          g_autofree char *date = format_date (options->date);

          append_field (out, "Date", date);
        }
      if (message_id != NULL)
        {
          g_autofree char *decoded = g_mime_utils_decode_message_id (message_id->value);

          prepared->message_id = decoded != NULL && decoded[0] != '\0'
                                 ? g_steal_pointer (&decoded) : g_strdup (message_id->value);
        }
      else
        {
          g_autofree char *id = g_mime_utils_generate_message_id (options->hostname != NULL
                                                                  ? options->hostname
                                                                  : g_get_host_name ());
          g_autofree char *field = g_strdup_printf ("<%s>", id);

          append_field (out, "Message-ID", field);
          prepared->message_id = g_steal_pointer (&id);
        }
      if (find_header (headers, "mime-version") == NULL)
        {
          append_field (out, "MIME-Version", "1.0");
          /* Without a Content-Type an 8-bit body would claim US-ASCII. */
          add_content_type = find_header (headers, "content-type") == NULL &&
                             has_eight_bit (body, body_length);
        }
      if (add_content_type)
        {
          append_field (out, "Content-Type",
                        g_utf8_validate_len (body, body_length, NULL)
                        ? "text/plain; charset=utf-8" : "text/plain; charset=unknown-8bit");
          append_field (out, "Content-Transfer-Encoding", "8bit");
        }
      g_string_append (out, "\r\n");
      g_string_append_len (out, body, (gssize) body_length);

      normalized = herald_smtp_normalize_crlf (out->str, out->len);
      prepared->data = g_steal_pointer (&normalized);
      if (subject != NULL)
        prepared->subject = g_mime_utils_header_decode_text (NULL, subject->value);
    }

  {
    gsize size;
    const char *data = g_bytes_get_data (prepared->data, &size);

    prepared->eight_bit = has_eight_bit (data, size);
  }

  /* The subject is shown in listings and kept in the queue's metadata:
   * one line of valid UTF-8 whatever the message held. */
  if (prepared->subject != NULL)
    {
      char *valid = g_utf8_make_valid (prepared->subject, -1);

      g_free (prepared->subject);
      prepared->subject = g_strdelimit (valid, "\r\n\t", ' ');
    }

  return g_steal_pointer (&prepared);
}

/* ---- re-encoding for servers without 8BITMIME ---------------------------------- */

static void
encode_part_cb (GMimeObject *parent,
                GMimeObject *part,
                gpointer     user_data)
{
  GMimeContentEncoding encoding;

  if (!GMIME_IS_PART (part) || GMIME_IS_MULTIPART (part))
    return;
  encoding = g_mime_part_get_content_encoding (GMIME_PART (part));
  if (encoding == GMIME_CONTENT_ENCODING_BASE64 ||
      encoding == GMIME_CONTENT_ENCODING_QUOTEDPRINTABLE ||
      encoding == GMIME_CONTENT_ENCODING_UUENCODE)
    return;
  /* Text stays readable as quoted-printable (GMime would pick base64 for
   * text with many 8-bit characters). */
  if (g_mime_content_type_is_type (g_mime_object_get_content_type (part), "text", "*"))
    g_mime_part_set_content_encoding (GMIME_PART (part), GMIME_CONTENT_ENCODING_QUOTEDPRINTABLE);
  else
    g_mime_part_set_content_encoding (GMIME_PART (part),
      g_mime_part_get_best_content_encoding (GMIME_PART (part), GMIME_ENCODING_CONSTRAINT_7BIT));
}

GBytes *
herald_message_encode_7bit (GBytes *data)
{
  g_autoptr(GMimeStream) in = NULL;
  g_autoptr(GMimeStream) out = g_mime_stream_mem_new ();
  g_autoptr(GMimeFormatOptions) format = g_mime_format_options_new ();
  g_autoptr(GMimeParser) parser = NULL;
  g_autoptr(GMimeMessage) message = NULL;
  GByteArray *bytes;
  gsize length;
  const guint8 *raw;

  g_return_val_if_fail (data != NULL, NULL);

  init_gmime ();
  raw = g_bytes_get_data (data, &length);
  in = g_mime_stream_mem_new_with_buffer ((const char *) raw, length);
  parser = g_mime_parser_new_with_stream (in);
  message = g_mime_parser_construct_message (parser, NULL);
  if (message == NULL)
    return NULL;

  if (GMIME_IS_PART (g_mime_message_get_mime_part (message)))
    encode_part_cb (NULL, g_mime_message_get_mime_part (message), NULL);
  else
    g_mime_message_foreach (message, encode_part_cb, NULL);

  g_mime_format_options_set_newline_format (format, GMIME_NEWLINE_FORMAT_DOS);
  g_mime_object_write_to_stream (GMIME_OBJECT (message), format, out);
  bytes = g_mime_stream_mem_get_byte_array (GMIME_STREAM_MEM (out));
  return herald_smtp_normalize_crlf ((const char *) bytes->data, bytes->len);
}
