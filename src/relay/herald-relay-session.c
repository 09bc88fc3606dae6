/* SPDX-License-Identifier: GPL-3.0-or-later
 * Copyright 2026 The Herald authors
 */
#define G_LOG_DOMAIN "herald-relay"

#include "config.h"

#include <glib/gi18n.h>
#include <string.h>

#include "herald-message.h"
#include "herald-relay-private.h"
#include "herald-secret.h"

/* One SMTP session, on its own thread, with blocking I/O bounded by
 * timeouts: each line must arrive whole within the idle timeout (so a
 * client dripping one byte at a time gains nothing), and the whole session
 * ends at its deadline. Replies and enhanced codes are Postfix's smtpd's,
 * because devices and their admins know those. Pipelined commands are
 * read from one buffer and their replies written together when the
 * buffer runs dry (RFC 2920). */

struct _HeraldRelaySession
{
  HeraldRelayServer  *server;
  GSocketConnection  *connection;
  GIOStream          *stream;       /* the connection, or TLS over it */
  GSocket            *socket;
  GCancellable       *cancellable;
  char               *client;
  GInetAddress       *address;
  gint64              deadline;     /* monotonic µs */

  GByteArray         *in;
  guint               in_pos;
  GString            *out;

  char               *helo;
  gboolean            tls;
  char               *user;         /* after AUTH */
  guint               errors;

  /* The transaction. */
  gboolean            in_mail;
  char               *sender;
  gboolean            body_8bit;
  GPtrArray          *recipients;
  GByteArray         *data;
  gboolean            too_big;
  gboolean            bdat;
};

typedef enum {
  READ_OK,
  READ_EOF,
  READ_TOO_LONG,
  READ_IDLE,       /* the idle timeout */
  READ_DEADLINE,   /* the whole session's deadline */
  READ_CANCELLED,  /* the relay is stopping */
  READ_ERROR,
} ReadStatus;

/* GMime keeps some state of its own; one message is prepared at a time
 * (it takes far less time than the fsync that follows). */
static GMutex prepare_lock;

HeraldRelaySession *
_herald_relay_session_new (HeraldRelayServer *server,
                           GSocketConnection *connection,
                           const char        *client,
                           GCancellable      *cancellable)
{
  HeraldRelaySession *s = g_new0 (HeraldRelaySession, 1);

  s->server = g_object_ref (server);
  s->connection = g_object_ref (connection);
  s->stream = G_IO_STREAM (g_object_ref (connection));
  s->socket = g_socket_connection_get_socket (connection);
  s->cancellable = g_object_ref (cancellable);
  s->client = g_strdup (client);
  s->address = g_inet_address_new_from_string (client);
  s->in = g_byte_array_new ();
  s->out = g_string_new (NULL);
  s->recipients = g_ptr_array_new_with_free_func (g_free);
  s->deadline = g_get_monotonic_time () +
                (gint64) server->options->session_deadline * G_USEC_PER_SEC;
  return s;
}

static void
reset_transaction (HeraldRelaySession *s)
{
  s->in_mail = FALSE;
  g_clear_pointer (&s->sender, g_free);
  s->body_8bit = FALSE;
  g_ptr_array_set_size (s->recipients, 0);
  g_clear_pointer (&s->data, g_byte_array_unref);
  s->too_big = FALSE;
  s->bdat = FALSE;
}

void
_herald_relay_session_free (HeraldRelaySession *s)
{
  if (s == NULL)
    return;
  reset_transaction (s);
  g_clear_object (&s->stream);
  g_clear_object (&s->connection);
  g_clear_object (&s->cancellable);
  g_clear_object (&s->address);
  g_clear_object (&s->server);
  g_free (s->client);
  g_byte_array_unref (s->in);
  g_string_free (s->out, TRUE);
  g_ptr_array_unref (s->recipients);
  g_free (s->helo);
  g_free (s->user);
  g_free (s);
}

/* ---- I/O ----------------------------------------------------------------------- */

static void
reply (HeraldRelaySession *s,
       const char         *format,
       ...) G_GNUC_PRINTF (2, 3);

static void
reply (HeraldRelaySession *s,
       const char         *format,
       ...)
{
  va_list args;

  va_start (args, format);
  g_string_append_vprintf (s->out, format, args);
  va_end (args);
  g_string_append (s->out, "\r\n");
}

/* Sets the socket's timeout to what is left until @until (at least a
 * second: GSocket counts in seconds). FALSE when nothing is left. */
static gboolean
arm_timeout (HeraldRelaySession *s,
             gint64              until)
{
  gint64 left = until - g_get_monotonic_time ();

  if (left <= 0)
    return FALSE;
  g_socket_set_timeout (s->socket, (guint) MAX (1, (left + G_USEC_PER_SEC - 1) / G_USEC_PER_SEC));
  return TRUE;
}

static gboolean
flush_replies_until (HeraldRelaySession *s,
                     gint64              until)
{
  g_autoptr(GError) error = NULL;

  if (s->out->len == 0)
    return TRUE;
  if (!arm_timeout (s, until) ||
      !g_output_stream_write_all (g_io_stream_get_output_stream (s->stream), s->out->str,
                                  s->out->len, NULL, s->cancellable, &error))
    {
      g_string_truncate (s->out, 0);
      return FALSE;
    }
  g_string_truncate (s->out, 0);
  return TRUE;
}

/* A client that does not read its replies is as idle as one that does not
 * write. */
static gboolean
flush_replies (HeraldRelaySession *s)
{
  return flush_replies_until (s, MIN (g_get_monotonic_time () +
                                      (gint64) s->server->options->idle_timeout * G_USEC_PER_SEC,
                                      s->deadline));
}

static ReadStatus
status_of (const GError *error,
           gint64        until,
           gint64        deadline)
{
  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return READ_CANCELLED;
  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT))
    return until >= deadline ? READ_DEADLINE : READ_IDLE;
  return READ_ERROR;
}

/* Reads more bytes into the buffer, waiting until @until at most. */
static ReadStatus
fill (HeraldRelaySession *s,
      gint64              until)
{
  g_autoptr(GError) error = NULL;
  guint8 chunk[16384];
  gssize n;

  /* Time is up before the replies are out (a command that arrived just
   * before the deadline): the goodbye goes out with them. */
  if (g_get_monotonic_time () >= until)
    return until >= s->deadline ? READ_DEADLINE : READ_IDLE;
  if (!flush_replies_until (s, until))
    return g_get_monotonic_time () >= until ? (until >= s->deadline ? READ_DEADLINE : READ_IDLE)
                                            : READ_ERROR;
  if (!arm_timeout (s, until))
    return until >= s->deadline ? READ_DEADLINE : READ_IDLE;
  n = g_input_stream_read (g_io_stream_get_input_stream (s->stream), chunk, sizeof chunk,
                           s->cancellable, &error);
  if (n < 0)
    return status_of (error, until, s->deadline);
  if (n == 0)
    return READ_EOF;
  /* Drop what was consumed before growing, so the buffer stays small. */
  if (s->in_pos > 0)
    {
      g_byte_array_remove_range (s->in, 0, s->in_pos);
      s->in_pos = 0;
    }
  g_byte_array_append (s->in, chunk, (guint) n);
  return READ_OK;
}

/* One line without its line end (CRLF or a bare LF), complete within the
 * idle timeout. The returned pointer is valid until the next read. */
static ReadStatus
read_line (HeraldRelaySession  *s,
           const char         **line,
           gsize               *length)
{
  gint64 until = MIN (g_get_monotonic_time () +
                      (gint64) s->server->options->idle_timeout * G_USEC_PER_SEC, s->deadline);

  for (;;)
    {
      const guint8 *start = s->in->data + s->in_pos;
      gsize avail = s->in->len - s->in_pos;
      /* An empty buffer has no data pointer: memchr must not see NULL. */
      const guint8 *nl = avail > 0 ? memchr (start, '\n', avail) : NULL;
      ReadStatus status;

      if (nl != NULL)
        {
          gsize n = nl - start;

          if (n > 0 && start[n - 1] == '\r')
            n--;
          if (n > HERALD_RELAY_MAX_LINE)
            return READ_TOO_LONG;
          *line = (const char *) start;
          *length = n;
          s->in_pos += (nl - start) + 1;
          return READ_OK;
        }
      if (avail > HERALD_RELAY_MAX_LINE + 1)
        return READ_TOO_LONG;
      status = fill (s, until);
      if (status != READ_OK)
        return status;
    }
}

/* Exactly @size bytes (a BDAT chunk), appended to @to unless NULL (then
 * read and dropped). Each read must make progress within the idle time. */
static ReadStatus
read_exact (HeraldRelaySession *s,
            guint64             size,
            GByteArray         *to)
{
  while (size > 0)
    {
      gsize avail = s->in->len - s->in_pos;
      ReadStatus status;

      if (avail > 0)
        {
          gsize take = (gsize) MIN ((guint64) avail, size);

          if (to != NULL)
            g_byte_array_append (to, s->in->data + s->in_pos, (guint) take);
          s->in_pos += take;
          size -= take;
          continue;
        }
      status = fill (s, MIN (g_get_monotonic_time () +
                             (gint64) s->server->options->idle_timeout * G_USEC_PER_SEC,
                             s->deadline));
      if (status != READ_OK)
        return status;
    }
  return READ_OK;
}

/* The reply for a read that ended the session, when there is one to give. */
static void
say_goodbye (HeraldRelaySession *s,
             ReadStatus          status)
{
  switch (status)
    {
    case READ_TOO_LONG:
      reply (s, "500 5.5.2 Error: line too long");
      break;
    case READ_IDLE:
    case READ_DEADLINE:
      reply (s, "421 4.4.2 %s Error: timeout exceeded", s->server->hostname);
      break;
    case READ_CANCELLED:
      reply (s, "421 4.3.2 %s Service shutting down", s->server->hostname);
      break;
    case READ_OK:
    case READ_EOF:
    case READ_ERROR:
    default:
      return;
    }
  /* The last line goes out even past the deadline or when cancelled,
   * within a moment of its own. */
  if (s->out->len > 0)
    {
      g_autoptr(GError) error = NULL;

      g_socket_set_timeout (s->socket, 2);
      g_output_stream_write_all (g_io_stream_get_output_stream (s->stream), s->out->str,
                                 s->out->len, NULL, NULL, &error);
      g_string_truncate (s->out, 0);
    }
}

/* ---- commands -------------------------------------------------------------------- */

static void
do_ehlo (HeraldRelaySession       *s,
         const HeraldRelayCommand *command)
{
  reset_transaction (s);
  g_free (s->helo);
  s->helo = g_strdup (command->argument);

  if (command->verb == HERALD_RELAY_VERB_HELO)
    {
      reply (s, "250 %s", s->server->hostname);
      return;
    }
  reply (s, "250-%s", s->server->hostname);
  reply (s, "250-PIPELINING");
  reply (s, "250-SIZE %" G_GUINT64_FORMAT, s->server->options->max_size);
  if (s->server->certificate != NULL && !s->tls)
    reply (s, "250-STARTTLS");
  /* AUTH only once encrypted (Postfix's smtpd_tls_auth_only); the second
   * form is for old Outlook-era clients, which some printers still are. */
  if (s->tls)
    {
      reply (s, "250-AUTH PLAIN LOGIN");
      reply (s, "250-AUTH=PLAIN LOGIN");
    }
  reply (s, "250-ENHANCEDSTATUSCODES");
  reply (s, "250-8BITMIME");
  reply (s, "250 CHUNKING");
}

/* FALSE when the session cannot go on (the handshake failed). */
static gboolean
do_starttls (HeraldRelaySession *s)
{
  g_autoptr(GError) error = NULL;
  GIOStream *tls;

  if (s->server->certificate == NULL)
    {
      reply (s, "502 5.5.1 Error: command not implemented");
      return TRUE;
    }
  if (s->tls)
    {
      reply (s, "554 5.5.1 Error: TLS already active");
      return TRUE;
    }
  reply (s, "220 2.0.0 Ready to start TLS");
  if (!flush_replies (s))
    return FALSE;
  /* Whatever the client pipelined after STARTTLS was sent in the clear:
   * it must not be taken as coming over TLS (CVE-2011-0411). */
  g_byte_array_set_size (s->in, 0);
  s->in_pos = 0;

  tls = g_tls_server_connection_new (G_IO_STREAM (s->connection), s->server->certificate,
                                     &error);
  if (tls == NULL)
    {
      g_warning ("TLS for %s: %s", s->client, error->message);
      return FALSE;
    }
  g_object_set (tls, "authentication-mode", G_TLS_AUTHENTICATION_NONE, NULL);
  if (!arm_timeout (s, MIN (g_get_monotonic_time () +
                            (gint64) s->server->options->idle_timeout * G_USEC_PER_SEC,
                            s->deadline)) ||
      !g_tls_connection_handshake (G_TLS_CONNECTION (tls), s->cancellable, &error))
    {
      g_message ("TLS handshake with %s failed: %s", s->client,
                 error != NULL ? error->message : "timeout");
      g_object_unref (tls);
      return FALSE;
    }
  g_clear_object (&s->stream);
  s->stream = tls;
  s->tls = TRUE;
  /* RFC 3207: the client starts over with EHLO. */
  g_clear_pointer (&s->helo, g_free);
  reset_transaction (s);
  return TRUE;
}

/* Decodes one base64 line of an AUTH exchange; NULL when it is not base64.
 * The result may hold NUL bytes (PLAIN); *length says how many. */
static guchar *
decode_base64 (const char *text,
               gsize      *length)
{
  gsize n = strlen (text);

  if (n == 0 || n % 4 != 0)
    return NULL;
  for (gsize i = 0; i < n; i++)
    if (!g_ascii_isalnum (text[i]) && text[i] != '+' && text[i] != '/' &&
        !(text[i] == '=' && i >= n - 2))
      return NULL;
  return g_base64_decode (text, length);
}

typedef enum { STEP_OK, STEP_ABORTED, STEP_BAD, STEP_CLOSED } Step;

/* Sends a 334 challenge and reads the answer line (base64, or "*" to
 * abort). Returns a copy the caller wipes. */
static Step
challenge (HeraldRelaySession  *s,
           const char          *prompt,
           char               **answer,
           ReadStatus          *status)
{
  const char *line;
  gsize length;

  reply (s, "334 %s", prompt);
  *status = read_line (s, &line, &length);
  if (*status != READ_OK)
    return STEP_CLOSED;
  *answer = g_strndup (line, length);
  /* The line held a secret: wipe the buffer's copy too. */
  memset ((char *) line, 0, length);
  if (g_str_equal (*answer, "*"))
    return STEP_ABORTED;
  return STEP_OK;
}

/* The AUTH exchange. FALSE when the session must end (status says why). */
static gboolean
do_auth (HeraldRelaySession       *s,
         const HeraldRelayCommand *command,
         ReadStatus               *status)
{
  g_autofree char *user = NULL;
  char *password = NULL;
  char *answer = NULL;
  guchar *decoded = NULL;
  gsize length = 0;
  Step step = STEP_OK;
  gboolean ok;

  if (s->helo == NULL)
    {
      reply (s, "503 5.5.1 Error: send HELO/EHLO first");
      return TRUE;
    }
  if (!s->tls)
    {
      reply (s, "538 5.7.11 Encryption required for requested authentication mechanism");
      return TRUE;
    }
  if (s->user != NULL)
    {
      reply (s, "503 5.5.1 Error: already authenticated");
      return TRUE;
    }
  if (s->in_mail)
    {
      reply (s, "503 5.5.1 Error: MAIL transaction in progress");
      return TRUE;
    }

  if (g_str_equal (command->argument, "PLAIN"))
    {
      if (command->initial != NULL)
        answer = g_strdup (command->initial);
      else
        step = challenge (s, "", &answer, status);
      if (step == STEP_OK)
        {
          /* authzid NUL authcid NUL password (RFC 4616); "=" is an empty
           * initial response. */
          decoded = g_str_equal (answer, "=") ? (guchar *) g_strdup ("")
                                              : decode_base64 (answer, &length);
          if (decoded == NULL)
            step = STEP_BAD;
          else
            {
              const char *authzid = (const char *) decoded;
              const char *authcid = memchr (decoded, '\0', length);
              const char *secret = NULL;

              if (authcid != NULL && (gsize) (authcid + 1 - (const char *) decoded) < length)
                {
                  authcid++;
                  secret = memchr (authcid, '\0', length - (authcid - (const char *) decoded));
                }
              if (secret != NULL)
                {
                  secret++;
                  /* A password is what follows, up to the end (no NUL in it). */
                  if (memchr (secret, '\0', length - (secret - (const char *) decoded)) == NULL &&
                      (*authzid == '\0' || g_str_equal (authzid, authcid)))
                    {
                      user = g_strdup (authcid);
                      password = g_strndup (secret, length - (secret - (const char *) decoded));
                    }
                }
            }
        }
    }
  else if (g_str_equal (command->argument, "LOGIN"))
    {
      if (command->initial != NULL)
        answer = g_strdup (command->initial);
      else
        step = challenge (s, "VXNlcm5hbWU6", &answer, status);  /* "Username:" */
      if (step == STEP_OK)
        {
          decoded = decode_base64 (answer, &length);
          if (decoded == NULL || memchr (decoded, '\0', length) != NULL)
            step = STEP_BAD;
          else
            user = g_strndup ((const char *) decoded, length);
        }
      if (step == STEP_OK)
        {
          herald_secret_free (answer);
          answer = NULL;
          g_free (decoded);
          decoded = NULL;
          step = challenge (s, "UGFzc3dvcmQ6", &answer, status);  /* "Password:" */
          if (step == STEP_OK)
            {
              decoded = decode_base64 (answer, &length);
              if (decoded == NULL || memchr (decoded, '\0', length) != NULL)
                step = STEP_BAD;
              else
                password = g_strndup ((const char *) decoded, length);
            }
        }
    }
  else
    {
      reply (s, "535 5.7.8 Error: authentication failed: Invalid authentication mechanism");
      s->errors++;
      return TRUE;
    }

  if (answer != NULL)
    herald_secret_free (answer);
  if (decoded != NULL)
    {
      memset (decoded, 0, length);
      g_free (decoded);
    }

  switch (step)
    {
    case STEP_CLOSED:
      herald_secret_free (password);
      return FALSE;
    case STEP_ABORTED:
      reply (s, "501 5.7.0 Authentication aborted");
      s->errors++;
      return TRUE;
    case STEP_BAD:
      reply (s, "501 5.5.2 Cannot decode response");
      s->errors++;
      herald_secret_free (password);
      return TRUE;
    case STEP_OK:
    default:
      break;
    }

  ok = password != NULL && user != NULL && s->server->users != NULL &&
       g_utf8_validate (user, -1, NULL) &&
       herald_relay_users_verify (s->server->users, user, password);
  herald_secret_free (password);

  if (ok)
    {
      _herald_relay_server_auth_succeeded (s->server, s->client);
      s->user = g_steal_pointer (&user);
      g_message ("%s logged in as %s", s->client, s->user);
      reply (s, "235 2.7.0 Authentication successful");
      return TRUE;
    }

  {
    /* A growing delay per address: guessing gets slower with each try,
     * for this session and the next. */
    guint delay = _herald_relay_server_auth_failed (s->server, s->client);
    gint64 until = g_get_monotonic_time () + (gint64) delay * 1000;

    g_message ("%s: wrong device password (waiting %u ms)", s->client, delay);
    if (!flush_replies (s))
      return FALSE;
    while (g_get_monotonic_time () < until && !g_cancellable_is_cancelled (s->cancellable))
      g_usleep (MIN (100000, until - g_get_monotonic_time () + 1));
  }
  reply (s, "535 5.7.8 Error: authentication failed: authentication failure");
  s->errors++;
  return TRUE;
}

static void
do_mail (HeraldRelaySession       *s,
         const HeraldRelayCommand *command)
{
  if (s->helo == NULL)
    {
      reply (s, "503 5.5.1 Error: send HELO/EHLO first");
      return;
    }
  if (s->in_mail)
    {
      reply (s, "503 5.5.1 Error: nested MAIL command");
      return;
    }
  /* Never an open relay: outside the listed networks, only a device user. */
  if (s->user == NULL && !_herald_relay_server_is_allowed (s->server, s->address))
    {
      reply (s, "530 5.7.0 Authentication required");
      s->errors++;
      return;
    }
  if (command->size_given && command->size > s->server->options->max_size)
    {
      reply (s, "552 5.3.4 Message size exceeds fixed limit");
      return;
    }
  s->in_mail = TRUE;
  s->sender = g_strdup (command->address);
  s->body_8bit = command->body_8bit;
  reply (s, "250 2.1.0 Ok");
}

static void
do_rcpt (HeraldRelaySession       *s,
         const HeraldRelayCommand *command)
{
  if (!s->in_mail)
    {
      reply (s, "503 5.5.1 Error: need MAIL command");
      return;
    }
  if (s->recipients->len >= HERALD_RELAY_MAX_RECIPIENTS)
    {
      reply (s, "452 4.5.3 Error: too many recipients");
      return;
    }
  g_ptr_array_add (s->recipients, g_strdup (command->address));
  reply (s, "250 2.1.5 Ok");
}

/* The message is complete: prepared as heraldctl send prepares one
 * (sender rewriting, local names, Bcc), stored durably, then answered. */
static void
finish_message (HeraldRelaySession *s)
{
  HeraldRelayOptions *o = s->server->options;
  g_autoptr(HeraldPreparedMessage) message = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) recipients = g_ptr_array_new ();
  g_autofree char *id = NULL;
  HeraldMessageOptions options = { 0 };

  if (s->too_big)
    {
      reply (s, "552 5.3.4 Message size exceeds fixed limit");
      reset_transaction (s);
      return;
    }

  for (guint i = 0; i < s->recipients->len; i++)
    g_ptr_array_add (recipients, g_ptr_array_index (s->recipients, i));
  g_ptr_array_add (recipients, NULL);

  options.envelope_from = s->sender != NULL && *s->sender != '\0' ? s->sender : NULL;
  options.recipients = (const char * const *) recipients->pdata;
  options.profile_from = o->profile_from;
  options.profile_recipients = NULL;
  options.local_recipients = (const char * const *) o->local_recipients;
  options.rewrite_from = o->rewrite_from;
  options.max_size = (gsize) o->max_size;
  options.hostname = s->server->hostname;

  g_mutex_lock (&prepare_lock);
  message = herald_message_prepare (s->data != NULL ? (const char *) s->data->data : "",
                                    s->data != NULL ? s->data->len : 0, &options, &error);
  g_mutex_unlock (&prepare_lock);

  if (message == NULL)
    {
      if (g_error_matches (error, HERALD_MESSAGE_ERROR, HERALD_MESSAGE_ERROR_TOO_BIG))
        reply (s, "552 5.3.4 Message size exceeds fixed limit");
      else if (g_error_matches (error, HERALD_MESSAGE_ERROR, HERALD_MESSAGE_ERROR_BAD_ADDRESS) ||
               g_error_matches (error, HERALD_MESSAGE_ERROR, HERALD_MESSAGE_ERROR_NO_RECIPIENT))
        reply (s, "554 5.1.3 Error: no deliverable recipient");
      else
        reply (s, "554 5.6.0 Error: message content rejected");
      g_message ("%s: message refused: %s", s->client, error->message);
      reset_transaction (s);
      return;
    }

  id = _herald_relay_server_store (s->server, message, s->client, s->user, &error);
  if (id == NULL)
    {
      /* Not durable, so not taken: the client keeps it and tries again. */
      g_warning ("cannot queue a message from %s: %s", s->client, error->message);
      reply (s, "451 4.3.0 Error: queue file write error");
      reset_transaction (s);
      return;
    }
  reply (s, "250 2.0.0 Ok: queued as %s", id);
  reset_transaction (s);
}

static ReadStatus
do_data (HeraldRelaySession *s)
{
  guint64 max = s->server->options->max_size;

  if (!s->in_mail || s->recipients->len == 0)
    {
      reply (s, "503 5.5.1 Error: need RCPT command");
      return READ_OK;
    }
  if (s->bdat)
    {
      reply (s, "503 5.5.1 Error: DATA after BDAT");
      return READ_OK;
    }
  reply (s, "354 End data with <CR><LF>.<CR><LF>");
  s->data = g_byte_array_new ();

  for (;;)
    {
      const char *line;
      gsize length;
      ReadStatus status = read_line (s, &line, &length);

      if (status != READ_OK)
        return status;
      if (length == 1 && line[0] == '.')
        break;
      /* Dot-unstuffing (RFC 5321 4.5.2). */
      if (length > 0 && line[0] == '.')
        {
          line++;
          length--;
        }
      if (s->too_big || (guint64) s->data->len + length + 2 > max)
        {
          /* Read on to the end, keep nothing more. */
          s->too_big = TRUE;
          g_byte_array_set_size (s->data, 0);
          continue;
        }
      g_byte_array_append (s->data, (const guint8 *) line, (guint) length);
      g_byte_array_append (s->data, (const guint8 *) "\r\n", 2);
    }
  finish_message (s);
  return READ_OK;
}

static ReadStatus
do_bdat (HeraldRelaySession       *s,
         const HeraldRelayCommand *command)
{
  guint64 max = s->server->options->max_size;
  gboolean usable = s->in_mail && s->recipients->len > 0;
  ReadStatus status;

  if (usable && s->data == NULL)
    s->data = g_byte_array_new ();
  if (usable && !s->too_big && (guint64) s->data->len + command->size > max)
    {
      s->too_big = TRUE;
      g_byte_array_set_size (s->data, 0);
    }
  /* The chunk follows the command whatever we answer: read it all. */
  status = read_exact (s, command->size, usable && !s->too_big ? s->data : NULL);
  if (status != READ_OK)
    return status;

  if (!usable)
    {
      reply (s, "503 5.5.1 Error: need RCPT command");
      return READ_OK;
    }
  s->bdat = TRUE;
  if (!command->last)
    {
      reply (s, "250 2.0.0 Ok: %" G_GUINT64_FORMAT " bytes", command->size);
      return READ_OK;
    }
  finish_message (s);
  return READ_OK;
}

/* ---- the session -------------------------------------------------------------------- */

static void
run (HeraldRelaySession *s)
{
  ReadStatus status = READ_OK;

  reply (s, "220 %s ESMTP Herald", s->server->hostname);

  for (;;)
    {
      g_autoptr(HeraldRelayCommand) command = NULL;
      const char *line;
      gsize length;

      status = read_line (s, &line, &length);
      if (status != READ_OK)
        break;
      command = herald_relay_command_parse (line, length);
      /* An AUTH line may carry a password: no copy stays in the buffer. */
      if (command->verb == HERALD_RELAY_VERB_AUTH)
        memset ((char *) line, 0, length);
      if (command->error_reply != NULL)
        {
          reply (s, "%s", command->error_reply);
          s->errors++;
          /* A BDAT we cannot size is followed by bytes we cannot skip. */
          if (command->verb == HERALD_RELAY_VERB_BDAT)
            break;
        }
      else
        switch (command->verb)
          {
          case HERALD_RELAY_VERB_EHLO:
          case HERALD_RELAY_VERB_HELO:
            do_ehlo (s, command);
            break;
          case HERALD_RELAY_VERB_STARTTLS:
            if (!do_starttls (s))
              {
                status = READ_ERROR;
                goto out;
              }
            break;
          case HERALD_RELAY_VERB_AUTH:
            if (!do_auth (s, command, &status))
              goto out;
            break;
          case HERALD_RELAY_VERB_MAIL:
            do_mail (s, command);
            break;
          case HERALD_RELAY_VERB_RCPT:
            do_rcpt (s, command);
            break;
          case HERALD_RELAY_VERB_DATA:
            status = do_data (s);
            break;
          case HERALD_RELAY_VERB_BDAT:
            status = do_bdat (s, command);
            break;
          case HERALD_RELAY_VERB_RSET:
            reset_transaction (s);
            reply (s, "250 2.0.0 Ok");
            break;
          case HERALD_RELAY_VERB_NOOP:
            reply (s, "250 2.0.0 Ok");
            break;
          case HERALD_RELAY_VERB_VRFY:
            reply (s, "502 5.5.1 VRFY command is disabled");
            break;
          case HERALD_RELAY_VERB_QUIT:
            reply (s, "221 2.0.0 Bye");
            flush_replies (s);
            goto out;
          case HERALD_RELAY_VERB_UNKNOWN:
          default:
            g_assert_not_reached ();
          }
      if (status != READ_OK)
        break;
      if (s->errors >= HERALD_RELAY_MAX_ERRORS)
        {
          reply (s, "421 4.7.0 %s Error: too many errors", s->server->hostname);
          flush_replies (s);
          goto out;
        }
    }

out:
  if (status == READ_IDLE || status == READ_DEADLINE)
    g_message ("%s: %s", s->client, status == READ_IDLE ? "idle timeout" : "session deadline");
  say_goodbye (s, status);
}

gpointer
_herald_relay_session_thread (gpointer data)
{
  HeraldRelaySession *s = data;
  HeraldRelayServer *server = g_object_ref (s->server);
  GCancellable *cancellable = g_object_ref (s->cancellable);
  g_autofree char *client = g_strdup (s->client);

  run (s);

  /* Bounded: a client that stopped reading cannot hold the close. */
  g_socket_set_timeout (s->socket, 2);
  g_io_stream_close (s->stream, NULL, NULL);
  if (s->stream != G_IO_STREAM (s->connection))
    g_io_stream_close (G_IO_STREAM (s->connection), NULL, NULL);
  _herald_relay_session_free (s);

  _herald_relay_server_session_done (server, client, cancellable);
  g_object_unref (cancellable);
  g_object_unref (server);
  return NULL;
}
