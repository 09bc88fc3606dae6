/* SPDX-License-Identifier: GPL-3.0-or-later
 * Copyright 2026 The Herald authors
 */
#define G_LOG_DOMAIN "herald-smtp"

#include "config.h"

#include <string.h>
#include <glib/gi18n-lib.h>

#include "herald-smtp-private.h"

/* A small buffered line reader of our own. GDataInputStream's read_line()
 * grows without bound; a hostile server sending megabytes without a newline
 * must cost us at most one buffer. The buffer holds a maximal line plus its
 * CRLF, so "no LF within the buffer" means "line too long".
 */
#define READER_BUFFER_SIZE (HERALD_SMTP_MAX_LINE + 2)

/* Timeouts. The session sets the reply timeout on the GSocket, and GIO
 * applies it to each read: alone, that lets a server that sends one byte
 * just inside the timeout stretch one reply to 64 KiB times the timeout
 * (and over TLS one read lasts until a whole TLS record is in). So the
 * socket's timeout, as it is when a reply starts, is also the deadline for
 * the whole reply: the reply is read without blocking, and in between we
 * wait for the socket no longer than the time left (reader_read_some()).
 * A reply whose bytes are already buffered is never failed. */

struct _HeraldLineReader
{
  GInputStream *stream;
  GSocket      *socket;    /* the connection's socket, kept across STARTTLS; may be NULL */
  guint         timeout;   /* seconds for the reply being read; 0: none */
  gint64        deadline;  /* monotonic time; 0: none */
  gboolean      reply_started;  /* bytes of the current reply have arrived */
  gsize         start;
  gsize         end;
  guint8        buffer[READER_BUFFER_SIZE];
};

/* The reader is made on the plain connection's stream (a GSocketInputStream,
 * whose "socket" property is readable); the TLS stream that replaces it after
 * STARTTLS reads from the same socket. Other streams (tests) have no socket,
 * hence no deadline beyond their own. */
static GSocket *
find_socket (GInputStream *stream)
{
  GParamSpec *pspec = g_object_class_find_property (G_OBJECT_GET_CLASS (stream), "socket");
  GSocket *socket = NULL;

  if (pspec == NULL || (pspec->flags & G_PARAM_READABLE) == 0 ||
      !g_type_is_a (pspec->value_type, G_TYPE_SOCKET))
    return NULL;

  g_object_get (stream, "socket", &socket, NULL);
  return socket;
}

HeraldLineReader *
_herald_line_reader_new (GInputStream *stream)
{
  HeraldLineReader *reader;

  g_return_val_if_fail (G_IS_INPUT_STREAM (stream), NULL);

  reader = g_new0 (HeraldLineReader, 1);
  reader->stream = g_object_ref (stream);
  reader->socket = find_socket (stream);

  return reader;
}

void
_herald_line_reader_free (HeraldLineReader *reader)
{
  if (reader == NULL)
    return;

  g_clear_object (&reader->stream);
  g_clear_object (&reader->socket);
  g_free (reader);
}

void
_herald_line_reader_set_stream (HeraldLineReader *reader,
                                GInputStream     *stream)
{
  g_return_if_fail (reader != NULL);
  g_return_if_fail (G_IS_INPUT_STREAM (stream));

  g_set_object (&reader->stream, stream);
  reader->start = reader->end = 0;
}

gboolean
_herald_line_reader_reply_started (HeraldLineReader *reader)
{
  g_return_val_if_fail (reader != NULL, FALSE);

  return reader->reply_started;
}

gboolean
_herald_line_reader_has_pending (HeraldLineReader *reader)
{
  g_return_val_if_fail (reader != NULL, FALSE);

  return reader->end > reader->start;
}

static void
set_deadline_error (HeraldLineReader  *reader,
                    GError           **error)
{
  /* G_IO_ERROR_TIMED_OUT like a silent server, so that the session words it
   * and the diagnosis matches it the same way. */
  g_set_error (error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT,
               _("The server did not finish its reply within %u seconds."),
               reader->timeout);
}

/* One read of at most @size bytes within the reply's deadline: without
 * blocking, waiting in between for the socket no longer than the time left
 * (a blocking read of a TLS stream would wait for a whole TLS record, each
 * of its socket reads given the full timeout). A read that finds bytes
 * (ours, or a record GnuTLS already holds) is never failed. Without a
 * deadline (no socket: the unit tests' streams), a plain blocking read. */
static gssize
reader_read_some (HeraldLineReader  *reader,
                  guint8            *buffer,
                  gsize              size,
                  gboolean           reply_started,
                  GCancellable      *cancellable,
                  GError           **error)
{
  GPollableInputStream *pollable = G_IS_POLLABLE_INPUT_STREAM (reader->stream)
                                   ? G_POLLABLE_INPUT_STREAM (reader->stream) : NULL;
  GError *local_error = NULL;
  gssize n_read;

  /* Socket and TLS streams can always poll; anything else keeps GIO's
   * per-read timeout. */
  if (reader->deadline == 0 || pollable == NULL || !g_pollable_input_stream_can_poll (pollable))
    return g_input_stream_read (reader->stream, buffer, size, cancellable, error);

  for (;;)
    {
      gint64 left;

      n_read = g_pollable_input_stream_read_nonblocking (pollable, buffer, size,
                                                         cancellable, &local_error);
      if (n_read >= 0)
        return n_read;
      if (!g_error_matches (local_error, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK))
        {
          g_propagate_error (error, local_error);
          return -1;
        }
      g_clear_error (&local_error);

      left = reader->deadline - g_get_monotonic_time ();
      /* GSocket waits in whole milliseconds. */
      left = (left / 1000) * 1000;
      if (left <= 0 ||
          !g_socket_condition_timed_wait (reader->socket, G_IO_IN, left, cancellable,
                                          &local_error))
        {
          if (local_error != NULL &&
              !g_error_matches (local_error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT))
            {
              g_propagate_error (error, local_error);
              return -1;
            }
          g_clear_error (&local_error);
          /* Nothing of the reply at all: a silent server, in GIO's words;
           * part of it: too slow. Both are G_IO_ERROR_TIMED_OUT. */
          if (reply_started)
            set_deadline_error (reader, error);
          else
            g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT,
                                 _("Socket I/O timed out"));
          return -1;
        }
    }
}

/* Returns a newly allocated line without its line ending (CRLF, or a bare
 * LF which we tolerate), or NULL with error set. */
static char *
reader_read_line (HeraldLineReader  *reader,
                  gsize             *length,
                  GCancellable      *cancellable,
                  GError           **error)
{
  for (;;)
    {
      guint8 *begin = reader->buffer + reader->start;
      gsize avail = reader->end - reader->start;
      guint8 *lf = memchr (begin, '\n', avail);
      gssize n_read;

      if (lf != NULL)
        {
          gsize line_len = lf - begin;
          char *line;

          reader->start += line_len + 1;
          if (line_len > 0 && begin[line_len - 1] == '\r')
            line_len--;

          if (line_len > HERALD_SMTP_MAX_LINE)
            {
              g_set_error (error, HERALD_SMTP_ERROR, HERALD_SMTP_ERROR_REPLY_TOO_LONG,
                           _("The server sent a reply line longer than %d bytes."),
                           HERALD_SMTP_MAX_LINE);
              return NULL;
            }

          line = g_malloc (line_len + 1);
          memcpy (line, begin, line_len);
          line[line_len] = '\0';
          *length = line_len;
          return line;
        }

      if (avail >= READER_BUFFER_SIZE)
        {
          g_set_error (error, HERALD_SMTP_ERROR, HERALD_SMTP_ERROR_REPLY_TOO_LONG,
                       _("The server sent more than %d bytes without a line break."),
                       HERALD_SMTP_MAX_LINE);
          return NULL;
        }

      /* Move what we have to the front and read more. */
      if (reader->start > 0)
        {
          memmove (reader->buffer, begin, avail);
          reader->start = 0;
          reader->end = avail;
        }

      n_read = reader_read_some (reader, reader->buffer + reader->end,
                                 READER_BUFFER_SIZE - reader->end,
                                 reader->reply_started, cancellable, error);
      if (n_read < 0)
        return NULL;

      if (n_read == 0)
        {
          if (avail > 0)
            g_set_error_literal (error, HERALD_SMTP_ERROR, HERALD_SMTP_ERROR_CLOSED,
                                 _("The server closed the connection in the middle of a reply."));
          else
            g_set_error_literal (error, HERALD_SMTP_ERROR, HERALD_SMTP_ERROR_CLOSED,
                                 _("The server closed the connection."));
          return NULL;
        }

      reader->end += n_read;
      reader->reply_started = TRUE;
    }
}

char *
_herald_smtp_parse_enhanced (const char *text)
{
  const char *p = text;
  int parts = 0;

  if (text == NULL)
    return NULL;

  /* class.subject.detail: class is 2, 4 or 5; subject and detail 1-3 digits. */
  if (*p != '2' && *p != '4' && *p != '5')
    return NULL;
  p++;

  for (parts = 0; parts < 2; parts++)
    {
      int digits = 0;

      if (*p != '.')
        return NULL;
      p++;
      while (g_ascii_isdigit (*p) && digits < 4)
        {
          p++;
          digits++;
        }
      if (digits == 0 || digits > 3)
        return NULL;
    }

  if (*p != '\0' && *p != ' ' && *p != '\t')
    return NULL;

  return g_strndup (text, p - text);
}

/* Unicode's bidirectional formatting characters (UAX #9): an override
 * (U+202E) makes "txt.exe" read as "exe.txt", and a reply read differently
 * from what it is. Shown as '?', like control characters. */
static gboolean
is_bidi_control (gunichar c)
{
  return c == 0x061C ||                  /* ARABIC LETTER MARK */
         c == 0x200E || c == 0x200F ||   /* LRM, RLM */
         (c >= 0x202A && c <= 0x202E) || /* LRE, RLE, PDF, LRO, RLO */
         (c >= 0x2066 && c <= 0x2069);   /* LRI, RLI, FSI, PDI */
}

/**
 * herald_smtp_make_printable:
 * @text: untrusted text, any bytes
 * @length: its length, or -1 when NUL-terminated
 * @keep_line_breaks: whether CR and LF stay
 *
 * Returns: (transfer full): @text safe for JSON, the UI and terminals
 */
char *
herald_smtp_make_printable (const char *text,
                            gssize      length,
                            gboolean    keep_line_breaks)
{
  g_autofree char *valid = g_utf8_make_valid (text, length);
  GString *out = g_string_sized_new (strlen (valid));

  /* Server text ends up in JSON, the UI, reports and terminals: valid UTF-8
   * without control characters or bidi overrides, so that a hostile server
   * can neither send terminal escape sequences through us nor make its text
   * read differently from what it is. */
  for (const char *p = valid; *p != '\0'; p = g_utf8_next_char (p))
    {
      gunichar c = g_utf8_get_char (p);

      if (c == '\t')
        g_string_append_c (out, ' ');
      else if (keep_line_breaks && (c == '\n' || c == '\r'))
        g_string_append_c (out, (char) c);
      else if (c < 0x20 || (c >= 0x7f && c <= 0x9f) || is_bidi_control (c) ||
               c == 0x2028 || c == 0x2029)
        g_string_append_c (out, '?');
      else
        g_string_append_len (out, p, g_utf8_next_char (p) - p);
    }

  return g_string_free (out, FALSE);
}

static HeraldSmtpReply *
read_reply_lines (HeraldLineReader     *reader,
                  HeraldReplyLineFunc   line_func,
                  gpointer              line_data,
                  GCancellable         *cancellable,
                  GError              **error)
{
  g_autoptr(GString) raw = g_string_new (NULL);
  g_autoptr(GString) text = g_string_new (NULL);
  g_autofree char *first_text = NULL;
  HeraldSmtpReply *reply;
  gsize total = 0;
  int code = -1;

  for (guint n_lines = 0; ; n_lines++)
    {
      g_autofree char *line = NULL;
      g_autofree char *printable = NULL;
      gsize length = 0;
      int line_code;
      gboolean last;

      if (n_lines >= HERALD_SMTP_MAX_LINES)
        {
          g_set_error (error, HERALD_SMTP_ERROR, HERALD_SMTP_ERROR_REPLY_TOO_LONG,
                       _("The server sent a reply of more than %d lines."),
                       HERALD_SMTP_MAX_LINES);
          return NULL;
        }

      line = reader_read_line (reader, &length, cancellable, error);
      if (line == NULL)
        return NULL;

      total += length + 2;
      if (total > HERALD_SMTP_MAX_REPLY)
        {
          g_set_error (error, HERALD_SMTP_ERROR, HERALD_SMTP_ERROR_REPLY_TOO_LONG,
                       _("The server sent a reply of more than %d bytes."),
                       HERALD_SMTP_MAX_REPLY);
          return NULL;
        }

      printable = herald_smtp_make_printable (line, length, FALSE);
      if (line_func != NULL)
        line_func (printable, line_data);

      /* Three digits, then ' ', '-' or the end of the line. The first digit
       * of a reply code is 2 to 5 (RFC 5321, 4.2). NUL bytes are garbage. */
      if (length < 3 ||
          memchr (line, '\0', length) != NULL ||
          line[0] < '2' || line[0] > '5' ||
          !g_ascii_isdigit (line[1]) || !g_ascii_isdigit (line[2]) ||
          (length > 3 && line[3] != ' ' && line[3] != '-'))
        {
          g_autofree char *shown = g_utf8_substring (printable, 0,
                                                     MIN (g_utf8_strlen (printable, -1), 80));

          g_set_error (error, HERALD_SMTP_ERROR, HERALD_SMTP_ERROR_PROTOCOL,
                       _("The server sent something that is not an SMTP reply: “%s”."),
                       shown);
          return NULL;
        }

      line_code = (line[0] - '0') * 100 + (line[1] - '0') * 10 + (line[2] - '0');
      if (code == -1)
        code = line_code;
      else if (line_code != code)
        {
          g_set_error (error, HERALD_SMTP_ERROR, HERALD_SMTP_ERROR_PROTOCOL,
                       _("The server sent a multi-line reply with inconsistent codes "
                         "(%d, then %d)."),
                       code, line_code);
          return NULL;
        }

      last = length == 3 || line[3] == ' ';

      if (raw->len > 0)
        {
          g_string_append_c (raw, '\n');
          g_string_append_c (text, '\n');
        }
      g_string_append (raw, printable);
      g_string_append (text, length > 3 ? printable + 4 : "");

      if (first_text == NULL)
        first_text = g_strdup (length > 3 ? printable + 4 : "");

      if (last)
        break;
    }

  reply = g_new0 (HeraldSmtpReply, 1);
  reply->code = code;
  reply->enhanced = _herald_smtp_parse_enhanced (first_text);
  reply->raw = g_string_free (g_steal_pointer (&raw), FALSE);
  reply->text = g_string_free (g_steal_pointer (&text), FALSE);

  return reply;
}

HeraldSmtpReply *
_herald_smtp_read_reply (HeraldLineReader     *reader,
                         HeraldReplyLineFunc   line_func,
                         gpointer              line_data,
                         GCancellable         *cancellable,
                         GError              **error)
{
  HeraldSmtpReply *reply;

  g_return_val_if_fail (reader != NULL, NULL);

  /* The timeout the session set for this reply is the deadline for all of it. */
  reader->timeout = reader->socket != NULL ? g_socket_get_timeout (reader->socket) : 0;
  reader->deadline = 0;
  if (reader->timeout > 0)
    reader->deadline = g_get_monotonic_time () + (gint64) reader->timeout * G_USEC_PER_SEC;
  reader->reply_started = reader->end > reader->start;

  reply = read_reply_lines (reader, line_func, line_data, cancellable, error);

  reader->deadline = 0;

  return reply;
}

/* ---- capabilities ----------------------------------------------------------- */

void
_herald_smtp_caps_free (HeraldSmtpCaps *caps)
{
  if (caps == NULL)
    return;

  g_strfreev (caps->auth_mechanisms);
  g_free (caps);
}

gboolean
_herald_smtp_caps_has_mechanism (const HeraldSmtpCaps *caps,
                                 const char           *mechanism)
{
  g_return_val_if_fail (caps != NULL, FALSE);

  for (guint i = 0; caps->auth_mechanisms && caps->auth_mechanisms[i]; i++)
    {
      if (g_ascii_strcasecmp (caps->auth_mechanisms[i], mechanism) == 0)
        return TRUE;
    }

  return FALSE;
}

static gboolean
is_mechanism_name (const char *word)
{
  /* RFC 4422: 1-20 of upper-case letters, digits, '-' and '_'. */
  gsize len = strlen (word);

  if (len == 0 || len > 20)
    return FALSE;
  for (const char *p = word; *p; p++)
    {
      if (!g_ascii_isalnum (*p) && *p != '-' && *p != '_')
        return FALSE;
    }
  return TRUE;
}

static void
add_mechanisms (GPtrArray  *mechs,
                const char *list)
{
  g_auto(GStrv) words = g_strsplit_set (list, " \t", -1);

  for (guint i = 0; words[i] != NULL; i++)
    {
      g_autofree char *upper = g_ascii_strup (words[i], -1);
      gboolean seen = FALSE;

      if (!is_mechanism_name (upper))
        continue;

      for (guint j = 0; j < mechs->len; j++)
        {
          if (strcmp (g_ptr_array_index (mechs, j), upper) == 0)
            seen = TRUE;
        }
      if (!seen)
        g_ptr_array_add (mechs, g_steal_pointer (&upper));
    }
}

HeraldSmtpCaps *
_herald_smtp_caps_parse (const HeraldSmtpReply *ehlo_reply)
{
  HeraldSmtpCaps *caps = g_new0 (HeraldSmtpCaps, 1);
  g_autoptr(GPtrArray) mechs = g_ptr_array_new_with_free_func (g_free);
  g_auto(GStrv) lines = NULL;

  if (ehlo_reply != NULL && ehlo_reply->text != NULL)
    lines = g_strsplit (ehlo_reply->text, "\n", -1);

  /* The first line is the server's name and greeting, not a capability. A
   * bare "250" has no text at all: g_strsplit() then returns an empty
   * vector, with no line 0 to skip. */
  for (guint i = 1; lines != NULL && lines[0] != NULL && lines[i] != NULL; i++)
    {
      char *line = g_strstrip (lines[i]);
      gsize kw_len = strcspn (line, " \t=");
      g_autofree char *keyword = g_ascii_strup (line, kw_len);
      const char *params = line + kw_len;

      while (*params == ' ' || *params == '\t' || *params == '=')
        params++;

      if (strcmp (keyword, "AUTH") == 0)
        {
          /* "AUTH PLAIN LOGIN" and the old "AUTH=PLAIN LOGIN" form. */
          caps->auth = TRUE;
          add_mechanisms (mechs, params);
        }
      else if (strcmp (keyword, "STARTTLS") == 0)
        caps->starttls = TRUE;
      else if (strcmp (keyword, "PIPELINING") == 0)
        caps->pipelining = TRUE;
      else if (strcmp (keyword, "CHUNKING") == 0)
        caps->chunking = TRUE;
      else if (strcmp (keyword, "8BITMIME") == 0)
        caps->eightbitmime = TRUE;
      else if (strcmp (keyword, "SMTPUTF8") == 0)
        caps->smtputf8 = TRUE;
      else if (strcmp (keyword, "ENHANCEDSTATUSCODES") == 0)
        caps->enhancedstatuscodes = TRUE;
      else if (strcmp (keyword, "SIZE") == 0)
        {
          caps->size = TRUE;
          caps->size_limit = g_ascii_strtoull (params, NULL, 10);
        }
    }

  g_ptr_array_add (mechs, NULL);
  caps->auth_mechanisms = (char **) g_ptr_array_free (g_steal_pointer (&mechs), FALSE);

  return caps;
}
