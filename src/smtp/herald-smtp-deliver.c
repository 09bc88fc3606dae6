/* SPDX-License-Identifier: GPL-3.0-or-later
 * Copyright 2026 The Herald authors
 */
#define G_LOG_DOMAIN "herald-smtp"

#include "config.h"

#include <string.h>
#include <glib/gi18n-lib.h>

#include "herald-smtp-session.h"

/* Mail over an open session: the envelopes (pipelined, or one command at a
 * time), the message data (BDAT LAST, or DATA with dot-stuffing), and the
 * two public runs built on them: herald_smtp_deliver() for any number of
 * messages, and herald_smtp_run(), the test, which is a delivery of one
 * message built from the settings.
 *
 * With PIPELINING and CHUNKING a transaction is one flight (MAIL, every
 * RCPT, BDAT LAST and the data), and the next one goes out without waiting
 * for the replies: BDAT LAST ends a transaction whatever its verdict (RFC
 * 3030), so no RSET is needed in between, and a backlog clears in a few
 * round trips. With DATA the 354 must come back before the data, so each
 * message waits for its envelope's replies. */

/* Transactions in flight at once (CHUNKING): bounded so that the replies
 * we have not read yet never fill the server's socket buffer while we are
 * still writing. */
#define WINDOW 32

typedef struct
{
  HeraldSession                 *s;
  GPtrArray                     *messages;    /* of HeraldSmtpMessage */
  const HeraldDeliveryCallbacks *callbacks;
  GPtrArray                     *deliveries;  /* of HeraldDelivery */
  GError                        *broken;      /* what ended the connection, once it has */
  guint                          pipelining : 1;
  guint                          chunking : 1;
  guint                          strict : 1;  /* the test: a refused recipient fails it all */
  guint                          need_rset : 1;
  guint                          quit_sent : 1;
} Batch;

/* What went out for one transaction, so that its replies can be read. */
typedef struct
{
  guint     index;
  gboolean  rset;
  gboolean  data;   /* BDAT LAST with the data, or DATA */
} Sent;

/* ---- messages and their outcomes -------------------------------------------------- */

static gboolean
is_ascii (const char *str)
{
  for (const char *p = str; p && *p; p++)
    {
      if ((guchar) *p >= 0x80)
        return FALSE;
    }
  return TRUE;
}

static gboolean
bytes_are_ascii (GBytes *bytes)
{
  gsize length;
  const guint8 *data = g_bytes_get_data (bytes, &length);

  for (gsize i = 0; i < length; i++)
    {
      if (data[i] >= 0x80)
        return FALSE;
    }
  return TRUE;
}

static gboolean
addresses_are_ascii (const HeraldSmtpMessage *message)
{
  if (!is_ascii (message->sender))
    return FALSE;
  for (guint i = 0; message->recipients[i] != NULL; i++)
    {
      if (!is_ascii (message->recipients[i]))
        return FALSE;
    }
  return TRUE;
}

static const HeraldSmtpMessage *
message_at (Batch *b,
            guint  index)
{
  return g_ptr_array_index (b->messages, index);
}

static HeraldDelivery *
delivery_at (Batch *b,
             guint  index)
{
  return g_ptr_array_index (b->deliveries, index);
}

static guint
n_recipients (Batch *b,
              guint  index)
{
  return g_strv_length (message_at (b, index)->recipients);
}

static void
announce (Batch *b,
          guint  index)
{
  if (b->callbacks != NULL && b->callbacks->delivered != NULL)
    b->callbacks->delivered (index, delivery_at (b, index), b->callbacks->user_data);
}

/* Records a message's failure. @reply and @error are copied. */
static void
message_failed (Batch                 *b,
                guint                  index,
                HeraldDeliveryOutcome  outcome,
                HeraldStage            stage,
                const HeraldSmtpReply *reply,
                const GError          *error)
{
  HeraldDelivery *delivery = delivery_at (b, index);

  delivery->outcome = outcome;
  delivery->stage = stage;
  g_clear_pointer (&delivery->reply, herald_smtp_reply_free);
  delivery->reply = reply != NULL ? herald_smtp_reply_copy (reply) : NULL;
  g_clear_error (&delivery->error);
  delivery->error = g_error_copy (error);
  announce (b, index);
}

static void
message_delivered (Batch                 *b,
                   guint                  index,
                   const HeraldSmtpReply *reply)
{
  HeraldDelivery *delivery = delivery_at (b, index);

  delivery->outcome = HERALD_DELIVERY_DELIVERED;
  delivery->stage = HERALD_STAGE_DONE;
  g_clear_pointer (&delivery->reply, herald_smtp_reply_free);
  delivery->reply = herald_smtp_reply_copy (reply);
  announce (b, index);
}

/* A refusal: 4xx is worth trying again, 5xx is final. */
static HeraldDeliveryOutcome
refusal_outcome (const HeraldSmtpReply *reply,
                 HeraldDeliveryOutcome  permanent)
{
  return reply != NULL && reply->code / 100 == 4 ? HERALD_DELIVERY_TEMPORARY : permanent;
}

static void
rejected (Batch                 *b,
          guint                  index,
          HeraldDeliveryOutcome  permanent,
          HeraldStage            stage,
          const HeraldSmtpReply *reply,
          const char            *what)
{
  g_autoptr(GError) error = NULL;

  _herald_session_rejected (b->s, reply, what, &error);
  message_failed (b, index, refusal_outcome (reply, permanent), stage, reply, error);
}

/* The connection is gone: the messages from @first on get no verdict. A
 * message whose last byte went out may have been delivered (data_sent). */
static void
connection_broken (Batch        *b,
                   guint         first,
                   const GError *error)
{
  g_autoptr(GError) deadline = _herald_session_deadline_error (b->s);

  /* Cut short by the deadline: that is the reason, not the cancelled read. */
  if (deadline != NULL)
    error = deadline;

  if (b->broken == NULL)
    b->broken = g_error_copy (error);
  b->s->connection_broken = TRUE;

  for (guint i = first; i < b->deliveries->len; i++)
    {
      HeraldDelivery *delivery = delivery_at (b, i);
      g_autoptr(GError) not_attempted = NULL;

      if (delivery->error != NULL || delivery->outcome == HERALD_DELIVERY_DELIVERED)
        continue;

      if (delivery->attempted)
        {
          message_failed (b, i, HERALD_DELIVERY_TEMPORARY, b->s->stage, NULL, error);
          continue;
        }

      g_set_error (&not_attempted, HERALD_SMTP_ERROR, HERALD_SMTP_ERROR_NOT_ATTEMPTED,
                   _("Not attempted: the connection ended before this message’s turn (%s)"),
                   error->message);
      message_failed (b, i, HERALD_DELIVERY_TEMPORARY, b->s->stage, NULL, not_attempted);
    }
}

/* The caller's proceed callback, before message @index's first command. */
static gboolean
may_proceed (Batch *b,
             guint  index)
{
  if (b->callbacks == NULL || b->callbacks->proceed == NULL)
    return TRUE;
  return b->callbacks->proceed (index, b->s->result->greeting, b->callbacks->user_data);
}

/* The caller stopped the run before message @first: it and every later
 * message not yet refused stay unsent, with a verdict that says so. */
static void
stopped_before (Batch *b,
                guint  first)
{
  for (guint i = first; i < b->deliveries->len; i++)
    {
      HeraldDelivery *delivery = delivery_at (b, i);
      g_autoptr(GError) error = NULL;

      if (delivery->error != NULL)
        continue;
      g_set_error_literal (&error, HERALD_SMTP_ERROR, HERALD_SMTP_ERROR_NOT_ATTEMPTED,
                           _("Not attempted: the delivery stopped before this message’s turn"));
      message_failed (b, i, HERALD_DELIVERY_TEMPORARY, HERALD_STAGE_MAIL, NULL, error);
    }
}

/* Whether a message can go at all, before anything is sent for it. */
static gboolean
check_message (Batch *b,
               guint  index)
{
  const HeraldSmtpMessage *message = message_at (b, index);
  g_autoptr(GError) error = NULL;

  if (!b->s->is_test)
    {
      if (*message->sender != '\0' &&
          !_herald_smtp_check_address_field (_("sender"), message->sender, &error))
        {
          message_failed (b, index, HERALD_DELIVERY_CONTENT_REFUSED, HERALD_STAGE_MAIL, NULL, error);
          return FALSE;
        }
      for (guint i = 0; message->recipients[i] != NULL; i++)
        {
          if (!_herald_smtp_check_address_field (_("recipient"), message->recipients[i], &error))
            {
              message_failed (b, index, HERALD_DELIVERY_RECIPIENTS_REFUSED, HERALD_STAGE_RCPT, NULL,
                              error);
              return FALSE;
            }
        }

      /* RFC 6152: 8-bit data only to a server that said it takes it. The
       * caller re-encodes (quoted-printable, base64) and tries again. */
      if (!b->s->caps->eightbitmime && !bytes_are_ascii (message->data))
        {
          g_set_error (&error, HERALD_SMTP_ERROR, HERALD_SMTP_ERROR_8BIT_NOT_OFFERED,
                       _("The message contains 8-bit data, but %s does not offer 8BITMIME: "
                         "it must be encoded as 7-bit text first."),
                       b->s->config->host);
          message_failed (b, index, HERALD_DELIVERY_TEMPORARY, HERALD_STAGE_MAIL, NULL, error);
          return FALSE;
        }
    }

  return TRUE;
}

static char *
mail_line (Batch *b,
           guint  index)
{
  HeraldSession *s = b->s;
  const HeraldSmtpMessage *message = message_at (b, index);
  gboolean utf8_addresses = !addresses_are_ascii (message);
  GString *mail = g_string_new (NULL);

  g_string_printf (mail, "MAIL FROM:<%s>", message->sender);
  if (s->caps->size)
    g_string_append_printf (mail, " SIZE=%" G_GSIZE_FORMAT, g_bytes_get_size (message->data));
  if (s->caps->eightbitmime && (!bytes_are_ascii (message->data) || utf8_addresses))
    g_string_append (mail, " BODY=8BITMIME");
  if (s->caps->smtputf8 && utf8_addresses)
    g_string_append (mail, " SMTPUTF8");
  else if (utf8_addresses)
    _herald_session_info (s, "The addresses contain non-ASCII characters, but the server does "
                          "not offer SMTPUTF8");

  return g_string_free (mail, FALSE);
}

static char *
recipient_what (Batch *b,
                guint  index,
                guint  rcpt)
{
  return g_strdup_printf (_("the recipient <%s>"), message_at (b, index)->recipients[rcpt]);
}

static void
before_last_byte (Batch *b,
                  guint  index)
{
  delivery_at (b, index)->data_sent = TRUE;
  if (b->callbacks != NULL && b->callbacks->before_last_byte != NULL)
    b->callbacks->before_last_byte (index, message_at (b, index), b->callbacks->user_data);
}

/* ---- replies that come back after the verdict -------------------------------------- */

/* After a failed pipelined test, read the replies still queued (for the
 * transcript) without waiting long and without replacing the failure. */
static void
drain_replies (HeraldSession *s,
               guint          n_replies)
{
  _herald_session_set_timeout (s, HERALD_QUIT_REPLY_TIMEOUT);
  for (guint i = 0; i < n_replies; i++)
    {
      g_autoptr(HeraldSmtpReply) reply = _herald_session_read_reply (s, FALSE, NULL);

      if (reply == NULL)
        break;
    }
  _herald_session_set_timeout (s, s->reply_timeout);
}

static void
read_quit_reply (HeraldSession *s)
{
  g_autoptr(HeraldSmtpReply) reply = NULL;
  g_autoptr(GError) local_error = NULL;

  /* The verdicts are known. A missing or slow 221 is noted, not a failure. */
  _herald_session_set_timeout (s, HERALD_QUIT_REPLY_TIMEOUT);
  reply = _herald_session_read_reply (s, FALSE, &local_error);
  if (reply == NULL && !g_error_matches (local_error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    _herald_session_info (s, "No reply to QUIT (not a problem: the message was already accepted)");
  _herald_session_set_timeout (s, s->reply_timeout);
}

/* ---- the message data --------------------------------------------------------------- */

/* Reads the verdict on a message's data (BDAT LAST or the final "."). */
static gboolean
read_verdict (Batch       *b,
              guint        index,
              const char  *what,
              GError     **error)
{
  g_autoptr(HeraldSmtpReply) reply = NULL;

  reply = _herald_session_read_reply (b->s, TRUE, error);
  if (reply == NULL)
    return FALSE;

  if (_herald_reply_is (reply, 2))
    message_delivered (b, index, reply);
  else
    rejected (b, index, HERALD_DELIVERY_CONTENT_REFUSED, HERALD_STAGE_DATA, reply, what);

  return TRUE;
}

/* Sends the data after a 354 (dot-stuffed, with the "." line) and reads
 * the verdict. With PIPELINING, QUIT follows in the same flight when this
 * is the last message. */
static gboolean
body_data (Batch     *b,
           guint      index,
           gboolean   last,
           GError   **error)
{
  HeraldSession *s = b->s;
  GBytes *message = message_at (b, index)->data;
  g_autoptr(GBytes) stuffed = _herald_smtp_dot_stuff (message);
  HeraldFlight flight;
  gboolean ok;

  _herald_flight_init (&flight);
  _herald_flight_add_data (s, &flight, stuffed, g_bytes_get_size (message), TRUE);
  if (b->pipelining && last)
    {
      _herald_flight_add_line (s, &flight, "QUIT", NULL);
      b->quit_sent = TRUE;
    }
  before_last_byte (b, index);
  ok = _herald_flight_send (s, &flight, error);
  _herald_flight_clear (&flight);
  if (!ok)
    return FALSE;

  return read_verdict (b, index, _("the message"), error);
}

/* One BDAT LAST chunk with the whole message, added to @flight. */
static void
add_bdat (Batch        *b,
          HeraldFlight *flight,
          guint         index)
{
  GBytes *message = message_at (b, index)->data;
  g_autofree char *bdat = g_strdup_printf ("BDAT %" G_GSIZE_FORMAT " LAST",
                                           g_bytes_get_size (message));

  _herald_flight_add_line (b->s, flight, bdat, NULL);
  _herald_flight_add_data (b->s, flight, message, g_bytes_get_size (message), FALSE);
}

/* ---- envelopes: pipelined ----------------------------------------------------------- */

/* Sends one transaction's flight: RSET when the one before failed, MAIL,
 * every RCPT, and BDAT LAST with the data (CHUNKING) or DATA. QUIT joins
 * the last message's BDAT. */
static gboolean
envelope_pipelined_send (Batch     *b,
                         guint      index,
                         gboolean   last,
                         Sent      *sent,
                         GError   **error)
{
  HeraldSession *s = b->s;
  const HeraldSmtpMessage *message = message_at (b, index);
  g_autofree char *mail = mail_line (b, index);
  HeraldFlight flight;
  gboolean ok;

  sent->index = index;
  sent->rset = b->need_rset;
  sent->data = TRUE;
  b->need_rset = FALSE;

  _herald_flight_init (&flight);
  if (sent->rset)
    _herald_flight_add_line (s, &flight, "RSET", NULL);
  _herald_flight_add_line (s, &flight, mail, NULL);
  for (guint i = 0; message->recipients[i] != NULL; i++)
    {
      g_autofree char *rcpt = g_strdup_printf ("RCPT TO:<%s>", message->recipients[i]);

      _herald_flight_add_line (s, &flight, rcpt, NULL);
    }
  if (b->chunking)
    {
      add_bdat (b, &flight, index);
      if (last)
        {
          _herald_flight_add_line (s, &flight, "QUIT", NULL);
          b->quit_sent = TRUE;
        }
      before_last_byte (b, index);
    }
  else
    _herald_flight_add_line (s, &flight, "DATA", NULL);

  delivery_at (b, index)->attempted = TRUE;
  ok = _herald_flight_send (s, &flight, error);
  _herald_flight_clear (&flight);

  return ok;
}

/* Reads the replies to a transaction's flight and, after DATA's 354, sends
 * the data. FALSE only when the connection failed (error set); a refusal
 * is the message's outcome. */
static gboolean
envelope_pipelined_read (Batch       *b,
                         const Sent  *sent,
                         gboolean     last,
                         GError     **error)
{
  HeraldSession *s = b->s;
  guint index = sent->index;
  HeraldDelivery *delivery = delivery_at (b, index);
  guint n_rcpts = n_recipients (b, index);
  g_autoptr(HeraldSmtpReply) mail_reply = NULL;
  g_autoptr(HeraldSmtpReply) failed_rcpt = NULL;
  g_autoptr(HeraldSmtpReply) data_reply = NULL;
  guint failed_index = 0;
  guint n_accepted = 0;
  gboolean mail_ok;
  gboolean envelope_ok;

  if (sent->rset)
    {
      g_autoptr(HeraldSmtpReply) reply = _herald_session_read_reply (s, FALSE, error);

      if (reply == NULL)
        return FALSE;
    }

  mail_reply = _herald_session_read_reply (s, TRUE, error);
  if (mail_reply == NULL)
    return FALSE;

  mail_ok = _herald_reply_is (mail_reply, 2);
  if (mail_ok)
    _herald_session_stage_begin (s, HERALD_STAGE_RCPT);

  /* Read every RCPT reply even after a failure: they are queued anyway, and
   * the transcript should show them. */
  for (guint i = 0; i < n_rcpts; i++)
    {
      g_autoptr(HeraldSmtpReply) reply = NULL;
      GError *local_error = NULL;

      reply = _herald_session_read_reply (s, mail_ok && failed_rcpt == NULL, &local_error);
      if (reply == NULL && (!mail_ok || failed_rcpt != NULL))
        {
          /* The refusal already read is the verdict; the connection is gone
           * (a 421 and a close, typically). */
          if (!mail_ok)
            rejected (b, index, HERALD_DELIVERY_CONTENT_REFUSED, HERALD_STAGE_MAIL, mail_reply,
                      _("the sender (MAIL FROM)"));
          else
            {
              g_autofree char *what = recipient_what (b, index, failed_index);

              rejected (b, index, HERALD_DELIVERY_RECIPIENTS_REFUSED, HERALD_STAGE_RCPT,
                        failed_rcpt, what);
            }
          connection_broken (b, index + 1, local_error);
          g_error_free (local_error);
          return TRUE;
        }
      if (reply == NULL)
        {
          g_propagate_error (error, local_error);
          return FALSE;
        }

      g_ptr_array_index (delivery->recipient_replies, i) = herald_smtp_reply_copy (reply);
      if (_herald_reply_is (reply, 2))
        n_accepted++;
      else if (mail_ok && failed_rcpt == NULL)
        {
          failed_rcpt = g_steal_pointer (&reply);
          failed_index = i;
        }
    }

  /* The test fails on any refused recipient; a delivery goes on with the
   * accepted ones. */
  envelope_ok = mail_ok && (b->strict ? failed_rcpt == NULL : n_accepted > 0);

  if (!envelope_ok)
    {
      g_autofree char *what = NULL;

      if (!mail_ok)
        rejected (b, index, HERALD_DELIVERY_CONTENT_REFUSED, HERALD_STAGE_MAIL, mail_reply,
                  _("the sender (MAIL FROM)"));
      else
        {
          what = recipient_what (b, index, failed_index);
          rejected (b, index, HERALD_DELIVERY_RECIPIENTS_REFUSED, HERALD_STAGE_RCPT, failed_rcpt,
                    what);
        }

      if (b->chunking)
        {
          /* BDAT went out already; it ends the transaction whatever the
           * server says to it (RFC 3030). */
          if (b->strict)
            drain_replies (s, b->quit_sent ? 2 : 1);
          else
            {
              g_autoptr(HeraldSmtpReply) reply = _herald_session_read_reply (s, FALSE, error);

              if (reply == NULL)
                return FALSE;
            }
          return TRUE;
        }

      /* After DATA, a 354 means the server waits for a message we must not
       * send (it would reach the accepted recipients), so we drop the
       * connection instead of ending the data. */
      data_reply = _herald_session_read_reply (s, FALSE, NULL);
      if (data_reply != NULL && data_reply->code == 354)
        {
          g_autoptr(GError) dropped = NULL;

          _herald_session_info (s, "Closing the connection without sending the message");
          g_set_error_literal (&dropped, HERALD_SMTP_ERROR, HERALD_SMTP_ERROR_CLOSED,
                               _("The connection was closed after the server accepted DATA "
                                 "for a refused envelope."));
          connection_broken (b, index + 1, dropped);
        }
      else if (data_reply != NULL)
        {
          if (b->strict)
            _herald_session_quit (s);
          /* The sender is still set on the server's side. */
          b->need_rset = mail_ok;
        }
      else
        connection_broken (b, index + 1, delivery->error);
      return TRUE;
    }

  _herald_session_stage_begin (s, HERALD_STAGE_DATA);

  if (b->chunking)
    return read_verdict (b, index, _("the message (BDAT)"), error);

  data_reply = _herald_session_read_reply (s, TRUE, error);
  if (data_reply == NULL)
    return FALSE;
  if (data_reply->code != 354)
    {
      rejected (b, index, HERALD_DELIVERY_CONTENT_REFUSED, HERALD_STAGE_DATA, data_reply, "DATA");
      if (b->strict)
        _herald_session_quit (s);
      b->need_rset = TRUE;
      return TRUE;
    }

  return body_data (b, index, last, error);
}

/* ---- envelopes: one command at a time ----------------------------------------------- */

static gboolean
envelope_serial (Batch     *b,
                 guint      index,
                 gboolean   last,
                 GError   **error)
{
  HeraldSession *s = b->s;
  const HeraldSmtpMessage *message = message_at (b, index);
  HeraldDelivery *delivery = delivery_at (b, index);
  g_autofree char *mail = mail_line (b, index);
  g_autoptr(HeraldSmtpReply) reply = NULL;
  g_autoptr(HeraldSmtpReply) failed_rcpt = NULL;
  guint failed_index = 0;
  guint n_accepted = 0;

  if (b->need_rset)
    {
      b->need_rset = FALSE;
      reply = _herald_session_command (s, "RSET", NULL, error);
      if (reply == NULL)
        return FALSE;
      g_clear_pointer (&reply, herald_smtp_reply_free);
    }

  delivery->attempted = TRUE;
  reply = _herald_session_command (s, mail, NULL, error);
  if (reply == NULL)
    return FALSE;
  if (!_herald_reply_is (reply, 2))
    {
      rejected (b, index, HERALD_DELIVERY_CONTENT_REFUSED, HERALD_STAGE_MAIL, reply,
                _("the sender (MAIL FROM)"));
      if (b->strict)
        _herald_session_quit (s);
      return TRUE;
    }

  _herald_session_stage_begin (s, HERALD_STAGE_RCPT);
  for (guint i = 0; message->recipients[i] != NULL; i++)
    {
      g_autofree char *line = g_strdup_printf ("RCPT TO:<%s>", message->recipients[i]);

      g_clear_pointer (&reply, herald_smtp_reply_free);
      reply = _herald_session_command (s, line, NULL, error);
      if (reply == NULL)
        return FALSE;

      g_ptr_array_index (delivery->recipient_replies, i) = herald_smtp_reply_copy (reply);
      if (_herald_reply_is (reply, 2))
        {
          n_accepted++;
          continue;
        }
      if (failed_rcpt == NULL)
        {
          failed_rcpt = herald_smtp_reply_copy (reply);
          failed_index = i;
        }
      if (b->strict)
        break;
    }

  if (failed_rcpt != NULL && (b->strict || n_accepted == 0))
    {
      g_autofree char *what = recipient_what (b, index, failed_index);

      rejected (b, index, HERALD_DELIVERY_RECIPIENTS_REFUSED, HERALD_STAGE_RCPT, failed_rcpt, what);
      if (b->strict)
        _herald_session_quit (s);
      b->need_rset = TRUE;
      return TRUE;
    }

  _herald_session_stage_begin (s, HERALD_STAGE_DATA);
  g_clear_pointer (&reply, herald_smtp_reply_free);

  if (b->chunking)
    {
      HeraldFlight flight;
      gboolean ok;

      _herald_flight_init (&flight);
      add_bdat (b, &flight, index);
      before_last_byte (b, index);
      ok = _herald_flight_send (s, &flight, error);
      _herald_flight_clear (&flight);
      if (!ok)
        return FALSE;

      if (!read_verdict (b, index, _("the message (BDAT)"), error))
        return FALSE;
      if (b->strict && delivery->outcome != HERALD_DELIVERY_DELIVERED)
        _herald_session_quit (s);
      return TRUE;
    }

  reply = _herald_session_command (s, "DATA", NULL, error);
  if (reply == NULL)
    return FALSE;
  if (reply->code != 354)
    {
      rejected (b, index, HERALD_DELIVERY_CONTENT_REFUSED, HERALD_STAGE_DATA, reply, "DATA");
      if (b->strict)
        _herald_session_quit (s);
      b->need_rset = TRUE;
      return TRUE;
    }

  if (!body_data (b, index, last, error))
    return FALSE;
  if (b->strict && delivery->outcome != HERALD_DELIVERY_DELIVERED)
    _herald_session_quit (s);
  return TRUE;
}

/* ---- the batch ------------------------------------------------------------------------ */

/* Delivers every message over the open session. FALSE only when the
 * connection failed (error set, the messages without a verdict marked);
 * each message's refusal is its own outcome. */
static gboolean
deliver_batch (Batch   *b,
               GError **error)
{
  HeraldSession *s = b->s;
  guint n = b->messages->len;
  g_autoptr(GArray) window = g_array_new (FALSE, TRUE, sizeof (Sent));
  guint next = 0;   /* the next message to send */
  guint last_sendable = n;
  gboolean stop = FALSE;

  b->pipelining = s->caps->pipelining;
  b->chunking = s->caps->chunking;

  /* The test opened the stage already, to build its message in it. */
  if (s->stage != HERALD_STAGE_MAIL)
    _herald_session_stage_begin (s, HERALD_STAGE_MAIL);

  /* The last message that will really go out: QUIT joins its flight. */
  for (guint i = 0; i < n; i++)
    {
      if (check_message (b, i))
        last_sendable = i;
    }

  while (!stop && (next < n || window->len > 0))
    {
      GError *local_error = NULL;

      /* Fill the window: several transactions only with CHUNKING. */
      while (next < n && !stop &&
             (window->len == 0 || (b->pipelining && b->chunking && window->len < WINDOW)))
        {
          Sent sent = { 0, };
          guint index = next++;

          if (delivery_at (b, index)->error != NULL)
            continue;  /* refused before sending (check_message) */
          if (!may_proceed (b, index))
            {
              /* What is in flight still gets its replies read below. */
              stopped_before (b, index);
              next = n;
              break;
            }

          if (!b->pipelining)
            {
              if (!envelope_serial (b, index, index == last_sendable, &local_error))
                {
                  connection_broken (b, index, local_error);
                  g_propagate_error (error, local_error);
                  return FALSE;
                }
              if (b->strict && delivery_at (b, index)->error != NULL)
                stop = TRUE;
              continue;
            }

          if (!envelope_pipelined_send (b, index, index == last_sendable, &sent, &local_error))
            {
              connection_broken (b, window->len > 0 ? g_array_index (window, Sent, 0).index : index,
                                 local_error);
              g_propagate_error (error, local_error);
              return FALSE;
            }
          g_array_append_val (window, sent);
        }

      if (window->len == 0)
        continue;

      /* The oldest transaction in flight gets its replies. */
      {
        Sent sent = g_array_index (window, Sent, 0);

        g_array_remove_index (window, 0);
        if (!envelope_pipelined_read (b, &sent, sent.index == last_sendable, &local_error))
          {
            connection_broken (b, sent.index, local_error);
            g_propagate_error (error, local_error);
            return FALSE;
          }
        if (b->strict && delivery_at (b, sent.index)->error != NULL)
          stop = TRUE;
        else if (b->broken != NULL)
          {
            g_propagate_error (error, g_error_copy (b->broken));
            return FALSE;
          }
      }
    }

  if (s->connection_broken)
    return TRUE;

  /* A failed test has said goodbye already (or dropped the connection). */
  if (b->strict && delivery_at (b, 0)->error != NULL)
    return TRUE;

  _herald_session_stage_begin (s, HERALD_STAGE_QUIT);
  if (b->quit_sent || _herald_session_send_line (s, "QUIT", NULL, NULL))
    read_quit_reply (s);

  return TRUE;
}

static Batch *
batch_new (HeraldSession                 *s,
           GPtrArray                     *messages,
           const HeraldDeliveryCallbacks *callbacks)
{
  Batch *b = g_new0 (Batch, 1);

  b->s = s;
  b->messages = g_ptr_array_ref (messages);
  b->callbacks = callbacks;
  b->deliveries = g_ptr_array_new_with_free_func ((GDestroyNotify) herald_delivery_free);
  for (guint i = 0; i < messages->len; i++)
    {
      HeraldDelivery *delivery = g_new0 (HeraldDelivery, 1);
      guint n_rcpts = n_recipients (b, i);

      delivery->outcome = HERALD_DELIVERY_TEMPORARY;
      delivery->stage = HERALD_STAGE_RESOLVE;
      delivery->recipient_replies = g_ptr_array_new_full (n_rcpts,
                                                         (GDestroyNotify) herald_smtp_reply_free);
      g_ptr_array_set_size (delivery->recipient_replies, n_rcpts);
      g_ptr_array_add (b->deliveries, delivery);
    }

  return b;
}

static void
batch_free (Batch *b)
{
  g_ptr_array_unref (b->messages);
  g_clear_pointer (&b->deliveries, g_ptr_array_unref);
  g_clear_error (&b->broken);
  g_free (b);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (Batch, batch_free)

/* ---- herald_smtp_deliver --------------------------------------------------------------- */

/**
 * herald_smtp_deliver:
 * @config: the connection settings (server, security, login, CA file, timeouts)
 * @messages: (element-type HeraldSmtpMessage): the messages, in order
 * @callbacks: (nullable): progress, before-last-byte and per-message callbacks
 * @cancellable: (nullable): cancels the delivery at any point
 *
 * Delivers @messages over one connection; see herald-smtp.h.
 *
 * Returns: (transfer full): the result, never %NULL; result->deliveries has
 *   one #HeraldDelivery per message
 */
HeraldSmtpResult *
herald_smtp_deliver (const HeraldSmtpConfig        *config,
                     GPtrArray                     *messages,
                     const HeraldDeliveryCallbacks *callbacks,
                     GCancellable                  *cancellable)
{
  HeraldSession session;
  HeraldSession *s = &session;
  g_autoptr(Batch) b = NULL;
  HeraldSmtpResult *result;
  GError *error = NULL;
  gboolean ok;

  g_return_val_if_fail (config != NULL, NULL);
  g_return_val_if_fail (messages != NULL, NULL);
  g_return_val_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable), NULL);

  for (guint i = 0; i < messages->len; i++)
    {
      const HeraldSmtpMessage *message = g_ptr_array_index (messages, i);

      g_return_val_if_fail (message != NULL && message->recipients != NULL &&
                            message->recipients[0] != NULL && message->data != NULL, NULL);
    }

  _herald_session_init (s, config, cancellable,
                        callbacks != NULL ? callbacks->progress : NULL,
                        callbacks != NULL ? callbacks->user_data : NULL);
  b = batch_new (s, messages, callbacks);

  ok = _herald_session_open (s, &error);
  if (ok)
    ok = deliver_batch (b, &error);
  else
    connection_broken (b, 0, error);

  /* The run is ok when every message was delivered; otherwise the first
   * failure speaks for it. */
  if (ok)
    {
      for (guint i = 0; i < b->deliveries->len; i++)
        {
          HeraldDelivery *delivery = delivery_at (b, i);

          if (delivery->outcome == HERALD_DELIVERY_DELIVERED)
            continue;
          ok = FALSE;
          error = g_error_copy (delivery->error);
          s->stage = delivery->stage;
          s->result->stage = delivery->stage;
          g_clear_pointer (&s->result->reply, herald_smtp_reply_free);
          if (delivery->reply != NULL)
            s->result->reply = herald_smtp_reply_copy (delivery->reply);
          break;
        }
    }

  result = _herald_session_finish (s, ok, error);
  result->deliveries = g_steal_pointer (&b->deliveries);

  return result;
}

/* ---- herald_smtp_run: the test, a delivery of one message -------------------------------- */

/* Builds the test message unless built already. It depends on nothing the
 * server says after the login is sent, so it is built while the server
 * checks the login: its first build (GMime's set-up, the local time zone)
 * then costs nothing on the path from the 235 to MAIL FROM. */
static void
build_test_message (HeraldSession *s)
{
  HeraldMessageInfo message_info = { 0, };

  if (s->message != NULL)
    return;

  message_info.mechanism = s->result->auth_used;
  message_info.hostname = s->hostname;
  s->message = herald_smtp_build_message (s->config, &message_info, &s->message_id);
}

static HeraldSmtpMessage *
test_message (HeraldSession *s)
{
  const HeraldSmtpConfig *config = s->config;
  g_autoptr(GPtrArray) recipients = g_ptr_array_new ();

  for (guint i = 0; config->to != NULL && config->to[i] != NULL; i++)
    g_ptr_array_add (recipients, config->to[i]);
  for (guint i = 0; config->cc != NULL && config->cc[i] != NULL; i++)
    g_ptr_array_add (recipients, config->cc[i]);
  g_ptr_array_add (recipients, NULL);

  return herald_smtp_message_new (config->from, (const char * const *) recipients->pdata,
                                  s->message);
}

/**
 * herald_smtp_run:
 * @config: the settings to test
 * @cancellable: (nullable): cancels the test at any point
 * @progress: (nullable) (scope call): called when a stage starts and ends
 * @progress_data: data for @progress
 *
 * Runs a complete test send: resolve, connect, TLS, greeting, EHLO, AUTH,
 * then the test message delivered as herald_smtp_deliver() delivers one,
 * and QUIT. Blocks the calling thread; @progress is called on it.
 *
 * Returns: (transfer full): the result, never %NULL; check its @ok field
 */
HeraldSmtpResult *
herald_smtp_run (const HeraldSmtpConfig *config,
                 GCancellable           *cancellable,
                 HeraldProgressFunc      progress,
                 gpointer                progress_data)
{
  HeraldSession session;
  HeraldSession *s = &session;
  g_autoptr(GPtrArray) messages = NULL;
  g_autoptr(Batch) b = NULL;
  HeraldDelivery *delivery;
  GError *error = NULL;
  gboolean ok;

  g_return_val_if_fail (config != NULL, NULL);
  g_return_val_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable), NULL);

  _herald_session_init (s, config, cancellable, progress, progress_data);
  s->is_test = TRUE;
  s->login_sent = build_test_message;

  ok = _herald_session_open (s, &error);
  if (!ok)
    return _herald_session_finish (s, FALSE, error);

  _herald_session_stage_begin (s, HERALD_STAGE_MAIL);
  build_test_message (s);
  s->result->message_id = g_steal_pointer (&s->message_id);
  _herald_session_info (s, "Test message %s built (%" G_GSIZE_FORMAT " bytes)",
                        s->result->message_id, g_bytes_get_size (s->message));

  messages = g_ptr_array_new_with_free_func ((GDestroyNotify) herald_smtp_message_free);
  g_ptr_array_add (messages, test_message (s));
  b = batch_new (s, messages, NULL);
  b->strict = TRUE;

  ok = deliver_batch (b, &error);
  delivery = delivery_at (b, 0);
  if (ok && delivery->outcome != HERALD_DELIVERY_DELIVERED)
    {
      /* The refusal, exactly as the message's delivery has it; the stage
       * and reply are the session's already. */
      ok = FALSE;
      error = g_error_copy (delivery->error);
    }

  return _herald_session_finish (s, ok, error);
}
