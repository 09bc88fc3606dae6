/* SPDX-License-Identifier: GPL-3.0-or-later
 * Copyright 2026 The Herald authors
 */
#define G_LOG_DOMAIN "herald-smtp"

#include "config.h"

#include <string.h>
#include <glib/gi18n-lib.h>

#include "herald-smtp-session.h"

/* One SMTP session up to the point where mail can be sent: the transcript
 * and progress, commands and replies, the greeting, EHLO, STARTTLS and the
 * login; then its end. The network is in herald-smtp-net.c, TLS in
 * herald-smtp-tls.c, the mail itself in herald-smtp-deliver.c. */

/* The overall deadline (issue 15): a per-reply timeout alone lets a server
 * that answers every reply just in time stretch a run to many times it. A
 * helper thread waits until the deadline and cancels the run's own
 * cancellable; every blocking step (lookup, connect, handshake, reads,
 * writes) returns at once, and the run reports "took longer than N s" at
 * the stage it was in. */
struct _HeraldDeadline
{
  GMutex        mutex;
  GCond         cond;
  GThread      *thread;
  GCancellable *cancellable;
  gint64        end_us;
  gboolean      stop;
  gboolean      passed;
};

static gpointer
deadline_thread (gpointer data)
{
  HeraldDeadline *watch = data;

  g_mutex_lock (&watch->mutex);
  while (!watch->stop)
    {
      if (!g_cond_wait_until (&watch->cond, &watch->mutex, watch->end_us) && !watch->stop)
        {
          watch->passed = TRUE;
          g_mutex_unlock (&watch->mutex);
          g_cancellable_cancel (watch->cancellable);
          return NULL;
        }
    }
  g_mutex_unlock (&watch->mutex);

  return NULL;
}

static HeraldDeadline *
deadline_start (GCancellable *cancellable,
                guint         seconds)
{
  HeraldDeadline *watch = g_new0 (HeraldDeadline, 1);

  g_mutex_init (&watch->mutex);
  g_cond_init (&watch->cond);
  watch->cancellable = g_object_ref (cancellable);
  watch->end_us = g_get_monotonic_time () + (gint64) seconds * G_USEC_PER_SEC;
  watch->thread = g_thread_new ("herald-deadline", deadline_thread, watch);

  return watch;
}

static gboolean
deadline_passed (HeraldDeadline *watch)
{
  gboolean passed;

  g_mutex_lock (&watch->mutex);
  passed = watch->passed;
  g_mutex_unlock (&watch->mutex);

  return passed;
}

static void
deadline_stop (HeraldDeadline *watch)
{
  g_mutex_lock (&watch->mutex);
  watch->stop = TRUE;
  g_cond_signal (&watch->cond);
  g_mutex_unlock (&watch->mutex);
  g_thread_join (watch->thread);

  g_object_unref (watch->cancellable);
  g_mutex_clear (&watch->mutex);
  g_cond_clear (&watch->cond);
  g_free (watch);
}

static void
forward_cancel_cb (GCancellable *cancellable,
                   gpointer      user_data)
{
  g_cancellable_cancel (G_CANCELLABLE (user_data));
}

GError *
_herald_session_deadline_error (HeraldSession *s)
{
  if (s->watch == NULL || !deadline_passed (s->watch))
    return NULL;

  return g_error_new (HERALD_SMTP_ERROR, HERALD_SMTP_ERROR_DEADLINE,
                      s->is_test ? _("The test took longer than %u s (its deadline) and was "
                                     "stopped at stage %s.")
                                 : _("The delivery took longer than %u s (its deadline) and "
                                     "was stopped at stage %s."),
                      s->deadline, herald_stage_to_string (s->stage));
}

void
_herald_session_init (HeraldSession          *s,
                      const HeraldSmtpConfig *config,
                      GCancellable           *cancellable,
                      HeraldProgressFunc      progress,
                      gpointer                progress_data)
{
  memset (s, 0, sizeof *s);
  s->config = config;
  s->user_cancellable = cancellable != NULL ? g_object_ref (cancellable) : NULL;
  s->cancellable = g_cancellable_new ();
  if (cancellable != NULL)
    s->user_handler = g_cancellable_connect (cancellable, G_CALLBACK (forward_cancel_cb),
                                             g_object_ref (s->cancellable), g_object_unref);
  s->deadline = config->deadline ? config->deadline : HERALD_SMTP_DEFAULT_DEADLINE;
  s->watch = deadline_start (s->cancellable, s->deadline);
  s->progress = progress;
  s->progress_data = progress_data;
  s->result = herald_smtp_result_new ();
  s->start_us = g_get_monotonic_time ();
  s->secrets[0] = config->password;
  s->secrets[1] = config->oauth_token;
  s->secrets[2] = NULL;
  s->hostname = g_strdup (g_get_host_name ());
  s->connect_timeout = config->connect_timeout ? config->connect_timeout : HERALD_SMTP_DEFAULT_TIMEOUT;
  s->reply_timeout = config->reply_timeout ? config->reply_timeout : HERALD_SMTP_DEFAULT_TIMEOUT;
}

/* ---- transcript and progress -------------------------------------------------- */

static gint64
elapsed_ms (HeraldSession *s)
{
  return (g_get_monotonic_time () - s->start_us) / 1000;
}

void
_herald_session_add_entry (HeraldSession       *s,
                           HeraldTranscriptDir  dir,
                           const char          *text)
{
  HeraldTranscriptEntry *entry = g_new0 (HeraldTranscriptEntry, 1);

  /* Structural redaction happens before this point; the scrub is the safety
   * net for a secret showing up where we did not expect it (a server echoing
   * it back, a token inside an error message). */
  entry->dir = dir;
  entry->text = _herald_smtp_scrub (text, s->secrets);
  entry->ms = elapsed_ms (s);
  g_ptr_array_add (s->result->transcript, entry);
}

void
_herald_session_info (HeraldSession    *s,
      const char *format,
      ...)
{
  g_autofree char *text = NULL;
  va_list args;

  va_start (args, format);
  text = g_strdup_vprintf (format, args);
  va_end (args);

  _herald_session_add_entry (s, HERALD_TRANSCRIPT_INFO, text);
}

static void
emit_progress (HeraldSession   *s,
               HeraldStage      stage,
               HeraldStepState  state,
               gint64           duration)
{
  HeraldProgress progress;

  if (s->progress == NULL)
    return;

  progress.stage = stage;
  progress.state = state;
  progress.ms = elapsed_ms (s);
  progress.duration = duration;
  s->progress (&progress, s->progress_data);
}

void
_herald_session_stage_end (HeraldSession *s,
                           gboolean       ok)
{
  gint64 duration;

  if (!s->stage_open)
    return;

  duration = (g_get_monotonic_time () - s->stage_start_us) / 1000;
  if (s->result->stage_ms[s->stage] < 0)
    s->result->stage_ms[s->stage] = 0;
  s->result->stage_ms[s->stage] += duration;
  s->stage_open = FALSE;

  emit_progress (s, s->stage, ok ? HERALD_STEP_SUCCEEDED : HERALD_STEP_FAILED, duration);
}

void
_herald_session_stage_begin (HeraldSession *s,
                             HeraldStage    stage)
{
  _herald_session_stage_end (s, TRUE);

  s->stage = stage;
  s->result->stage = stage;
  s->stage_start_us = g_get_monotonic_time ();
  s->stage_open = TRUE;
  if (s->result->stage_ms[stage] < 0)
    s->result->stage_ms[stage] = 0;

  emit_progress (s, stage, HERALD_STEP_STARTED, 0);
}

/* ---- I/O ---------------------------------------------------------------------- */

static void
server_line_cb (const char *line,
                gpointer    user_data)
{
  _herald_session_add_entry (user_data, HERALD_TRANSCRIPT_SERVER, line);
}

/* Reads one reply. When remember is TRUE it becomes result->reply. */
HeraldSmtpReply *
_herald_session_read_reply (HeraldSession  *s,
                            gboolean        remember,
                            GError        **error)
{
  HeraldSmtpReply *reply;
  GError *local_error = NULL;

  reply = _herald_smtp_read_reply (s->reader, server_line_cb, s, s->cancellable, &local_error);
  if (reply == NULL)
    {
      /* Same domain and code, clearer words than "Socket I/O timed out";
       * but a reply that began and did not end keeps the reader's words
       * ("did not finish its reply"): a dripping server is not a silent one. */
      if (g_error_matches (local_error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT) &&
          !_herald_line_reader_reply_started (s->reader))
        {
          guint timeout = s->socket ? g_socket_get_timeout (s->socket) : s->reply_timeout;

          g_clear_error (&local_error);
          g_set_error (&local_error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT,
                       _("The server did not reply within %u seconds."), timeout);
        }
      if (!g_error_matches (local_error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        _herald_session_info (s, "%s", local_error->message);
      s->connection_broken = TRUE;
      g_propagate_error (error, local_error);
      return NULL;
    }

  /* A server echoing a secret back must not carry it into the result. */
  {
    char *raw = _herald_smtp_scrub (reply->raw, s->secrets);
    char *text = _herald_smtp_scrub (reply->text, s->secrets);

    g_free (reply->raw);
    reply->raw = raw;
    g_free (reply->text);
    reply->text = text;
  }

  if (remember)
    {
      g_clear_pointer (&s->result->reply, herald_smtp_reply_free);
      s->result->reply = herald_smtp_reply_copy (reply);
    }

  return reply;
}

void
_herald_flight_init (HeraldFlight *flight)
{
  flight->data = g_byte_array_new ();
}

void
_herald_flight_clear (HeraldFlight *flight)
{
  g_clear_pointer (&flight->data, g_byte_array_unref);
}

/* Queues a command line; shown is what the transcript gets (NULL: the line). */
void
_herald_flight_add_line (HeraldSession *s,
                         HeraldFlight  *flight,
                         const char    *line,
                         const char    *shown)
{
  g_byte_array_append (flight->data, (const guint8 *) line, strlen (line));
  g_byte_array_append (flight->data, (const guint8 *) "\r\n", 2);
  _herald_session_add_entry (s, HERALD_TRANSCRIPT_CLIENT, shown != NULL ? shown : line);
}

/* Queues message data; the transcript gets "<message: N bytes>" (and the
 * final "." when dot_line is set), never the body. */
void
_herald_flight_add_data (HeraldSession *s,
                         HeraldFlight  *flight,
                         GBytes        *bytes,
                         gsize          message_size,
                         gboolean       dot_line)
{
  gsize length;
  const guint8 *data = g_bytes_get_data (bytes, &length);
  g_autofree char *shown = g_strdup_printf ("<message: %" G_GSIZE_FORMAT " bytes>", message_size);

  g_byte_array_append (flight->data, data, length);
  _herald_session_add_entry (s, HERALD_TRANSCRIPT_CLIENT, shown);
  if (dot_line)
    _herald_session_add_entry (s, HERALD_TRANSCRIPT_CLIENT, ".");
}

gboolean
_herald_flight_send (HeraldSession  *s,
                     HeraldFlight   *flight,
                     GError        **error)
{
  GOutputStream *out = g_io_stream_get_output_stream (s->stream);
  gboolean ok;

  ok = g_output_stream_write_all (out, flight->data->data, flight->data->len,
                                  NULL, s->cancellable, error);
  if (ok)
    ok = g_output_stream_flush (out, s->cancellable, error);
  if (!ok)
    s->connection_broken = TRUE;

  /* The flight may hold a secret: wipe it before it goes back to the heap. */
  herald_secret_wipe (flight->data->data, flight->data->len);
  g_byte_array_set_size (flight->data, 0);

  return ok;
}

gboolean
_herald_session_send_line (HeraldSession  *s,
                           const char     *line,
                           const char     *shown,
                           GError        **error)
{
  HeraldFlight flight;
  gboolean ok;

  _herald_flight_init (&flight);
  _herald_flight_add_line (s, &flight, line, shown);
  ok = _herald_flight_send (s, &flight, error);
  _herald_flight_clear (&flight);

  return ok;
}

/* Sends a command and reads its reply. */
HeraldSmtpReply *
_herald_session_command (HeraldSession  *s,
                         const char     *line,
                         const char     *shown,
                         GError        **error)
{
  if (!_herald_session_send_line (s, line, shown, error))
    return NULL;

  return _herald_session_read_reply (s, TRUE, error);
}

/* _herald_session_command() for the last line of a login: the run's hook
 * (the test builds its message there) runs while the reply is on its way. */
static HeraldSmtpReply *
login_command (HeraldSession  *s,
               const char     *line,
               const char     *shown,
               GError        **error)
{
  if (!_herald_session_send_line (s, line, shown, error))
    return NULL;

  if (s->login_sent != NULL)
    s->login_sent (s);
  return _herald_session_read_reply (s, TRUE, error);
}

void
_herald_session_set_timeout (HeraldSession *s,
                             guint          seconds)
{
  if (s->socket != NULL)
    g_socket_set_timeout (s->socket, seconds);
}

/* After a failure the server may still be listening: say goodbye politely,
 * without letting a silent server delay the verdict, and without the reply
 * replacing the one that explains the failure. */
void
_herald_session_quit (HeraldSession *s)
{
  g_autoptr(HeraldSmtpReply) reply = NULL;

  if (s->stream == NULL || s->connection_broken || g_cancellable_is_cancelled (s->cancellable))
    return;

  /* 421: the server is closing the channel already (RFC 5321, 3.8). */
  if (s->result->reply != NULL && s->result->reply->code == 421)
    return;

  _herald_session_set_timeout (s, HERALD_QUIT_REPLY_TIMEOUT);
  if (_herald_session_send_line (s, "QUIT", NULL, NULL))
    reply = _herald_session_read_reply (s, FALSE, NULL);
  _herald_session_set_timeout (s, s->reply_timeout);
}

gboolean
_herald_session_rejected (HeraldSession          *s,
                          const HeraldSmtpReply  *reply,
                          const char             *what,
                          GError                **error)
{
  g_autofree char *oneline = g_strdup (reply->text);

  g_strdelimit (oneline, "\n", ' ');
  g_set_error (error, HERALD_SMTP_ERROR, HERALD_SMTP_ERROR_REJECTED,
               _("The server rejected %s: %d %s"), what, reply->code, oneline);
  return FALSE;
}

gboolean
_herald_session_fail_and_quit (HeraldSession          *s,
                               const HeraldSmtpReply  *reply,
                               const char             *what,
                               GError                **error)
{
  _herald_session_rejected (s, reply, what, error);
  _herald_session_quit (s);
  return FALSE;
}

/* ---- greeting, EHLO, STARTTLS ---------------------------------------------- */

static gboolean
do_greeting (HeraldSession  *s,
             GError        **error)
{
  g_autoptr(HeraldSmtpReply) reply = NULL;
  g_autoptr(GError) local_error = NULL;

  _herald_session_stage_begin (s, HERALD_STAGE_GREETING);

  reply = _herald_session_read_reply (s, TRUE, &local_error);
  if (reply == NULL)
    {
      /* Only when nothing of the greeting came: one that started and
       * never ended keeps the reader's error. */
      if (g_error_matches (local_error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT) &&
          !_herald_line_reader_reply_started (s->reader))
        {
          g_set_error (error, HERALD_SMTP_ERROR, HERALD_SMTP_ERROR_NO_GREETING,
                       _("Connected to %s, but the server sent no greeting within %u seconds."),
                       s->config->host, s->reply_timeout);
          return FALSE;
        }
      g_propagate_error (error, g_steal_pointer (&local_error));
      return FALSE;
    }

  g_free (s->result->greeting);
  s->result->greeting = g_strdup (reply->text);

  if (reply->code != 220)
    {
      return _herald_session_fail_and_quit (s, reply, _("the connection"), error);
    }

  return TRUE;
}

static gboolean
do_ehlo (HeraldSession  *s,
         GError        **error)
{
  g_autoptr(HeraldSmtpReply) reply = NULL;
  g_autofree char *line = g_strdup_printf ("EHLO %s", s->helo);

  _herald_session_stage_begin (s, HERALD_STAGE_EHLO);

  reply = _herald_session_command (s, line, NULL, error);
  if (reply == NULL)
    return FALSE;

  if (reply->code == 500 || reply->code == 502)
    {
      g_autofree char *helo_line = g_strdup_printf ("HELO %s", s->helo);

      _herald_session_info (s, "The server does not understand EHLO; trying HELO");
      g_clear_pointer (&reply, herald_smtp_reply_free);
      reply = _herald_session_command (s, helo_line, NULL, error);
      if (reply == NULL)
        return FALSE;
      if (!_herald_reply_is (reply, 2))
        {
          return _herald_session_fail_and_quit (s, reply, "HELO", error);
        }

      /* HELO: no extensions at all. */
      g_clear_pointer (&s->caps, _herald_smtp_caps_free);
      s->caps = _herald_smtp_caps_parse (NULL);
    }
  else if (reply->code != 250)
    {
      return _herald_session_fail_and_quit (s, reply, "EHLO", error);
    }
  else
    {
      g_clear_pointer (&s->caps, _herald_smtp_caps_free);
      s->caps = _herald_smtp_caps_parse (reply);
    }

  g_strfreev (s->result->auth_mechanisms);
  s->result->auth_mechanisms = s->caps->auth ? g_strdupv (s->caps->auth_mechanisms) : NULL;

  return TRUE;
}

static gboolean
do_starttls (HeraldSession  *s,
             GError        **error)
{
  g_autoptr(HeraldSmtpReply) reply = NULL;

  _herald_session_stage_begin (s, HERALD_STAGE_STARTTLS);

  if (!s->caps->starttls)
    {
      g_set_error (error, HERALD_SMTP_ERROR, HERALD_SMTP_ERROR_STARTTLS_NOT_OFFERED,
                   _("%s does not offer STARTTLS on port %u, so the connection cannot be "
                     "encrypted. Nothing was sent unencrypted (no password)."),
                   s->config->host, (guint) s->config->port);
      _herald_session_quit (s);
      return FALSE;
    }

  reply = _herald_session_command (s, "STARTTLS", NULL, error);
  if (reply == NULL)
    return FALSE;

  if (reply->code != 220)
    {
      return _herald_session_fail_and_quit (s, reply, "STARTTLS", error);
    }

  /* Anything the server sent after its 220 and before the handshake would
   * be read as if it came over TLS (the STARTTLS injection flaw). */
  if (_herald_line_reader_has_pending (s->reader))
    {
      g_set_error_literal (error, HERALD_SMTP_ERROR, HERALD_SMTP_ERROR_PROTOCOL,
                           _("The server sent data after accepting STARTTLS and before the "
                             "TLS handshake; refusing to continue."));
      s->connection_broken = TRUE;
      return FALSE;
    }

  return TRUE;
}

/* ---- AUTH ------------------------------------------------------------------- */

/* Cancels a SASL exchange the server left waiting on a 334, then reads the
 * reply to the cancellation (RFC 4954, 4). */
static void
abort_sasl (HeraldSession *s)
{
  g_autoptr(HeraldSmtpReply) reply = NULL;

  if (_herald_session_send_line (s, "*", NULL, NULL))
    reply = _herald_session_read_reply (s, FALSE, NULL);
}

static gboolean
auth_finish (HeraldSession    *s,
             HeraldSmtpReply  *reply,
             const char       *mechanism,
             GError          **error)
{
  if (reply->code == 235)
    {
      _herald_session_info (s, "Authenticated with %s", mechanism);
      return TRUE;
    }

  if (reply->code == 334)
    abort_sasl (s);

  {
    g_autofree char *what = g_strdup_printf (_("the login (AUTH %s)"), mechanism);

    return _herald_session_fail_and_quit (s, reply, what, error);
  }
}

static void
log_oauth_challenge (HeraldSession         *s,
                     const HeraldSmtpReply *reply)
{
  g_autofree guchar *decoded = NULL;
  g_autofree char *text = NULL;
  gsize length = 0;

  if (reply->text == NULL || *reply->text == '\0')
    return;

  decoded = g_base64_decode (reply->text, &length);
  if (decoded == NULL || length == 0)
    return;

  text = herald_smtp_make_printable ((const char *) decoded, length, FALSE);
  _herald_session_info (s, "The server's OAuth error: %s", text);
}

static gboolean
do_auth_exchange (HeraldSession  *s,
                  const char     *mechanism,
                  GError        **error)
{
  const HeraldSmtpConfig *config = s->config;
  g_autoptr(HeraldSmtpReply) reply = NULL;

  if (strcmp (mechanism, "PLAIN") == 0)
    {
      g_autofree char *payload = _herald_sasl_plain (config->username, config->password);
      g_autofree char *line = g_strconcat ("AUTH PLAIN ", payload, NULL);
      g_autofree char *shown = _herald_smtp_redact_client_line (line, FALSE);

      reply = login_command (s, line, shown, error);
      herald_secret_wipe_string (payload);
      herald_secret_wipe_string (line);
      if (reply == NULL)
        return FALSE;

      return auth_finish (s, reply, mechanism, error);
    }

  if (strcmp (mechanism, "LOGIN") == 0)
    {
      g_autofree char *user = g_base64_encode ((const guchar *) config->username,
                                               strlen (config->username));
      g_autofree char *pass = g_base64_encode ((const guchar *) config->password,
                                               strlen (config->password));

      reply = _herald_session_command (s, "AUTH LOGIN", NULL, error);
      if (reply != NULL && reply->code == 334)
        {
          g_clear_pointer (&reply, herald_smtp_reply_free);
          reply = _herald_session_command (s, user, "<redacted>", error);
          if (reply != NULL && reply->code == 334)
            {
              g_clear_pointer (&reply, herald_smtp_reply_free);
              reply = login_command (s, pass, "<redacted>", error);
            }
        }
      herald_secret_wipe_string (pass);
      if (reply == NULL)
        return FALSE;

      return auth_finish (s, reply, mechanism, error);
    }

  if (strcmp (mechanism, "XOAUTH2") == 0 || strcmp (mechanism, "OAUTHBEARER") == 0)
    {
      gboolean xoauth2 = strcmp (mechanism, "XOAUTH2") == 0;
      g_autofree char *payload = NULL;
      g_autofree char *first = g_strconcat ("AUTH ", mechanism, NULL);

      /* Wait for the 334 before sending the token: it may be too long to sit
       * comfortably on the command line as an initial response. */
      reply = _herald_session_command (s, first, NULL, error);
      if (reply == NULL)
        return FALSE;
      if (reply->code != 334)
        return auth_finish (s, reply, mechanism, error);

      if (xoauth2)
        payload = _herald_sasl_xoauth2 (config->username, config->oauth_token);
      else
        payload = _herald_sasl_oauthbearer (config->username, config->host,
                                            config->port, config->oauth_token);

      g_clear_pointer (&reply, herald_smtp_reply_free);
      reply = login_command (s, payload, "<redacted>", error);
      herald_secret_wipe_string (payload);
      if (reply == NULL)
        return FALSE;

      if (reply->code == 334)
        {
          g_autoptr(HeraldSmtpReply) challenge = g_steal_pointer (&reply);

          /* The token was refused and the server explains why in a base64
           * JSON challenge. XOAUTH2 (Google) wants an empty line, OAUTHBEARER
           * a single ^A (RFC 7628, 3.2.3); the final reply follows. */
          log_oauth_challenge (s, challenge);
          reply = _herald_session_command (s, xoauth2 ? "" : "AQ==", NULL, error);
          if (reply == NULL)
            return FALSE;
          if (reply->code == 235)
            {
              /* Success after an error challenge would be a server bug. */
              return _herald_session_fail_and_quit (s, challenge, first, error);
            }
        }

      return auth_finish (s, reply, mechanism, error);
    }

  g_assert_not_reached ();
}

static gboolean
do_auth (HeraldSession  *s,
         GError        **error)
{
  const HeraldSmtpConfig *config = s->config;
  gboolean have_password = _herald_is_set (config->username) && _herald_is_set (config->password);
  gboolean have_token = _herald_is_set (config->username) && _herald_is_set (config->oauth_token);
  const char *mechanism = NULL;

  if (config->auth == HERALD_AUTH_NONE)
    {
      _herald_session_info (s, "Authentication: none (not logging in)");
      return TRUE;
    }

  if (config->auth == HERALD_AUTH_AUTO && !have_password && !have_token)
    {
      _herald_session_info (s, "No credentials given: not logging in");
      return TRUE;
    }

  _herald_session_stage_begin (s, HERALD_STAGE_AUTH);

  if (config->security == HERALD_SECURITY_NONE && !config->allow_plaintext_auth)
    {
      g_set_error_literal (error, HERALD_SMTP_ERROR, HERALD_SMTP_ERROR_PLAINTEXT_AUTH_REFUSED,
                           _("Refusing to send credentials over an unencrypted connection. "
                             "Choose STARTTLS or SSL/TLS, or explicitly allow logging in "
                             "without encryption."));
      _herald_session_quit (s);
      return FALSE;
    }

  if (!s->caps->auth)
    {
      g_set_error (error, HERALD_SMTP_ERROR, HERALD_SMTP_ERROR_AUTH_NOT_OFFERED,
                   _("%s does not offer authentication (no AUTH in its EHLO reply) on "
                     "port %u."),
                   config->host, (guint) config->port);
      _herald_session_quit (s);
      return FALSE;
    }

  switch (config->auth)
    {
    case HERALD_AUTH_AUTO:
      if (have_token)
        {
          if (_herald_smtp_caps_has_mechanism (s->caps, "XOAUTH2"))
            mechanism = "XOAUTH2";
          else if (_herald_smtp_caps_has_mechanism (s->caps, "OAUTHBEARER"))
            mechanism = "OAUTHBEARER";
        }
      else
        {
          if (_herald_smtp_caps_has_mechanism (s->caps, "PLAIN"))
            mechanism = "PLAIN";
          else if (_herald_smtp_caps_has_mechanism (s->caps, "LOGIN"))
            mechanism = "LOGIN";
        }
      break;

    case HERALD_AUTH_PLAIN:
      mechanism = "PLAIN";
      break;

    case HERALD_AUTH_LOGIN:
      mechanism = "LOGIN";
      break;

    case HERALD_AUTH_XOAUTH2:
      mechanism = "XOAUTH2";
      break;

    case HERALD_AUTH_OAUTHBEARER:
      mechanism = "OAUTHBEARER";
      break;

    case HERALD_AUTH_NONE:
    default:
      g_assert_not_reached ();
    }

  if (mechanism == NULL || !_herald_smtp_caps_has_mechanism (s->caps, mechanism))
    {
      g_autofree char *offered = g_strjoinv (" ", s->caps->auth_mechanisms);
      const char *wanted = mechanism != NULL ? mechanism
                           : have_token ? "XOAUTH2/OAUTHBEARER" : "PLAIN/LOGIN";

      g_set_error (error, HERALD_SMTP_ERROR, HERALD_SMTP_ERROR_MECHANISM_NOT_OFFERED,
                   _("%s does not offer the login method %s (it offers: %s)."),
                   config->host, wanted, *offered ? offered : _("nothing"));
      _herald_session_quit (s);
      return FALSE;
    }

  if ((strcmp (mechanism, "PLAIN") == 0 || strcmp (mechanism, "LOGIN") == 0) && !have_password)
    {
      g_set_error (error, HERALD_SMTP_ERROR, HERALD_SMTP_ERROR_INVALID_CONFIG,
                   _("Logging in with %s needs a username and a password."), mechanism);
      _herald_session_quit (s);
      return FALSE;
    }
  if ((strcmp (mechanism, "XOAUTH2") == 0 || strcmp (mechanism, "OAUTHBEARER") == 0) && !have_token)
    {
      g_set_error (error, HERALD_SMTP_ERROR, HERALD_SMTP_ERROR_INVALID_CONFIG,
                   _("Logging in with %s needs a username and an OAuth 2.0 access token."),
                   mechanism);
      _herald_session_quit (s);
      return FALSE;
    }

  g_free (s->result->auth_used);
  s->result->auth_used = g_strdup (mechanism);

  return do_auth_exchange (s, mechanism, error);
}


static char *
choose_helo (HeraldSession *s)
{
  g_autoptr(GSocketAddress) local = NULL;

  if (_herald_is_set (s->config->helo_name))
    return g_strdup (s->config->helo_name);

  /* RFC 5321: a fully qualified name, else an address literal. */
  if (strchr (s->hostname, '.') != NULL && !g_str_has_suffix (s->hostname, ".localdomain"))
    return g_strdup (s->hostname);

  local = g_socket_connection_get_local_address (s->connection, NULL);
  if (G_IS_INET_SOCKET_ADDRESS (local))
    {
      GInetAddress *address = g_inet_socket_address_get_address (G_INET_SOCKET_ADDRESS (local));
      g_autofree char *str = g_inet_address_to_string (address);

      if (g_inet_address_get_family (address) == G_SOCKET_FAMILY_IPV6)
        return g_strdup_printf ("[IPv6:%s]", str);
      return g_strdup_printf ("[%s]", str);
    }

  return g_strdup (s->hostname);
}

static gboolean
prepare (HeraldSession  *s,
         GError        **error)
{
  _herald_session_stage_begin (s, HERALD_STAGE_RESOLVE);

  /* A delivery brings its own envelopes: only the connection settings
   * matter then. */
  if (s->is_test ? !herald_smtp_config_validate (s->config, error)
                 : !_herald_smtp_config_validate_connection (s->config, error))
    return FALSE;
  if (!_herald_smtp_config_check_credentials (s->config, error))
    return FALSE;

  if (s->config->security == HERALD_SECURITY_NONE)
    return TRUE;

  if (!_herald_session_check_ca_file (s, error))
    return FALSE;

  /* Implicit TLS needs the TLS module as soon as we are connected. */
  if (s->config->security == HERALD_SECURITY_TLS)
    _herald_session_start_tls_loading (s);

  return TRUE;
}

gboolean
_herald_session_open (HeraldSession  *s,
                      GError        **error)
{
  const HeraldSmtpConfig *config = s->config;

  if (!prepare (s, error))
    return FALSE;

  s->opened = TRUE;
  if (!_herald_session_connect (s, error))
    return FALSE;

  s->helo = choose_helo (s);

  if (config->security == HERALD_SECURITY_TLS && !_herald_session_tls_handshake (s, error))
    return FALSE;

  if (!do_greeting (s, error))
    return FALSE;

  if (!do_ehlo (s, error))
    return FALSE;

  if (config->security == HERALD_SECURITY_STARTTLS)
    {
      if (!do_starttls (s, error))
        return FALSE;
      if (!_herald_session_tls_handshake (s, error))
        return FALSE;
      /* RFC 3207: forget everything learnt before TLS and ask again. */
      if (!do_ehlo (s, error))
        return FALSE;
    }

  return do_auth (s, error);
}

static void
close_connection (HeraldSession *s,
                  gboolean       ok)
{
  if (s->connection == NULL)
    return;

  _herald_session_set_timeout (s, HERALD_QUIT_REPLY_TIMEOUT);

  /* After a clean QUIT, close TLS properly; otherwise (failed handshake,
   * broken connection, cancellation) close the socket without another
   * byte. */
  if (ok && s->stream != NULL && !s->connection_broken)
    g_io_stream_close (s->stream, NULL, NULL);
  else
    g_io_stream_close (G_IO_STREAM (s->connection), NULL, NULL);
}

HeraldSmtpResult *
_herald_session_finish (HeraldSession *s,
                        gboolean       ok,
                        GError        *error)
{
  HeraldSmtpResult *result;
  GError *deadline_error = NULL;

  if (!ok && error == NULL)
    g_set_error_literal (&error, HERALD_SMTP_ERROR, HERALD_SMTP_ERROR_PROTOCOL,
                         _("Internal error: the run failed without a reason"));

  /* Past the deadline, whatever the interrupted step said (cancelled, or a
   * half-closed stream): the deadline is the reason. */
  deadline_error = !ok ? _herald_session_deadline_error (s) : NULL;
  if (deadline_error != NULL)
    {
      g_clear_error (&error);
      error = deadline_error;
    }
  /* A cancellation may surface as another error from a half-closed stream. */
  else if (!ok && g_cancellable_is_cancelled (s->user_cancellable) &&
           !g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    {
      g_clear_error (&error);
      g_set_error_literal (&error, G_IO_ERROR, G_IO_ERROR_CANCELLED,
                           s->is_test ? _("The test was cancelled.")
                                      : _("The delivery was cancelled."));
    }

  if (!ok)
    {
      g_autofree char *scrubbed = _herald_smtp_scrub (error->message, s->secrets);

      /* Never let a secret travel inside an error message. */
      if (strcmp (scrubbed, error->message) != 0)
        {
          g_free (error->message);
          error->message = g_steal_pointer (&scrubbed);
        }
      _herald_session_info (s, "%s failed at stage %s: %s", s->is_test ? "Test" : "Delivery",
                            herald_stage_to_string (s->stage), error->message);
    }

  _herald_session_stage_end (s, ok);
  close_connection (s, ok);

  if (ok)
    _herald_session_info (s, "%s", s->is_test ? "Test passed: the message was accepted"
                                              : "Delivery done: every message was accepted");

  result = g_steal_pointer (&s->result);
  result->ok = ok;
  result->error = error;
  if (ok)
    result->stage = HERALD_STAGE_DONE;
  result->elapsed_ms = (g_get_monotonic_time () - s->start_us) / 1000;

  g_clear_pointer (&s->reader, _herald_line_reader_free);
  g_clear_pointer (&s->caps, _herald_smtp_caps_free);
  g_clear_object (&s->stream);
  g_clear_object (&s->connection);
  g_clear_object (&s->identity);
  g_clear_object (&s->ca_database);
  g_clear_pointer (&s->ca_load, _herald_ca_load_unref);
  g_clear_pointer (&s->ca_path, g_free);
  g_clear_object (&s->peer_certificate);
  g_clear_pointer (&s->message, g_bytes_unref);
  g_clear_pointer (&s->message_id, g_free);
  g_clear_pointer (&s->hostname, g_free);
  g_clear_pointer (&s->helo, g_free);

  deadline_stop (g_steal_pointer (&s->watch));
  if (s->user_handler != 0)
    g_cancellable_disconnect (s->user_cancellable, s->user_handler);
  g_clear_object (&s->user_cancellable);
  g_clear_object (&s->cancellable);

  return result;
}
