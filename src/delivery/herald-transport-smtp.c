/* SPDX-License-Identifier: GPL-3.0-or-later
 * Copyright 2026 The Herald authors
 */
#define G_LOG_DOMAIN "herald-delivery"

#include "config.h"

#include <glib/gi18n.h>

#include "herald-delivery.h"
#include "herald-message.h"

/* The engine as a transport: herald_smtp_deliver() sends every message over
 * one connection (pipelined envelopes, BDAT LAST back to back, RSET only
 * after a failed transaction) and says what became of each. */

typedef struct {
  HeraldDeliveryCommitFunc  commit;
  HeraldDeliveryDoneFunc    done;
  gpointer                  callback_data;
  GCancellable             *cancellable;   /* ours, chained to the caller's */
  const guint              *index_map;     /* engine index -> caller's index */
  const HeraldSmtpConfig   *config;
  guint                     started;       /* messages whose first command went out */
  gboolean                  throttled;     /* the server asked to slow down */
  gboolean                  stopped;       /* so nothing more is sent */
  gboolean                 *held_back;     /* caller's index: left unsent for the pace */
} Run;

/* On the engine's thread before a message's first command: the provider's
 * pace. After a throttle reply nothing more goes out (more would only be
 * refused, and count against the mailbox); Exchange Online, known by its
 * name or its greeting, gets its share per run and no more. */
static gboolean
proceed_cb (guint       index,
            const char *greeting,
            gpointer    user_data)
{
  Run *run = user_data;

  if (!run->stopped && run->started >= HERALD_EXCHANGE_ONLINE_BATCH &&
      (herald_host_is_exchange_online (run->config->host) ||
       herald_greeting_is_exchange_online (greeting)))
    run->stopped = TRUE;
  if (run->throttled)
    run->stopped = TRUE;
  if (run->stopped)
    return FALSE;
  run->started++;
  return TRUE;
}

/* On the engine's thread, right before message @index's last byte. When
 * the caller cannot record that the message is in flight, the run is
 * cancelled: the byte never goes out, the message is not sent. */
static void
before_last_byte_cb (guint                    index,
                     const HeraldSmtpMessage *message,
                     gpointer                 user_data)
{
  Run *run = user_data;
  guint caller_index = run->index_map != NULL ? run->index_map[index] : index;

  if (run->commit != NULL && !run->commit (caller_index, run->callback_data))
    g_cancellable_cancel (run->cancellable);
}

/* On the engine's thread, as soon as message @index has its verdict. */
static void
delivered_cb (guint                 index,
              const HeraldDelivery *delivery,
              gpointer              user_data)
{
  Run *run = user_data;
  guint caller_index = run->index_map != NULL ? run->index_map[index] : index;

  if (delivery->outcome != HERALD_DELIVERY_DELIVERED)
    {
      if (run->stopped && !delivery->attempted)
        run->held_back[caller_index] = TRUE;   /* stopped before its turn */
      else if (herald_reply_is_throttle (delivery->reply))
        {
          /* The first throttled message keeps its verdict (an attempt, with
           * the reason); the ones already in flight behind it that got the
           * same answer were only caught in the same wave. */
          if (run->throttled)
            run->held_back[caller_index] = TRUE;
          run->throttled = TRUE;
        }
    }
  if (run->done != NULL)
    run->done (caller_index, delivery->outcome == HERALD_DELIVERY_DELIVERED, run->callback_data);
}

static void
forward_cancel_cb (GCancellable *cancellable,
                   GCancellable *ours)
{
  g_cancellable_cancel (ours);
}

/* One message's result in the engine's shape: the session's (transcript,
 * TLS, greeting) with the message's own stage, reply and error when it was
 * attempted, the session's failure when it never was (a refused login). */
static HeraldSmtpResult *
message_result (HeraldSmtpResult     *session,
                const HeraldDelivery *delivery)
{
  GPtrArray *transcript = g_steal_pointer (&session->transcript);
  GPtrArray *deliveries = g_steal_pointer (&session->deliveries);
  HeraldSmtpResult *r;

  /* Every message's result shares the session's transcript (read-only from
   * here on) and gets none of the other messages' deliveries: a deep copy
   * of both for each of a backlog's hundreds of messages costs time that
   * grows with the square of the backlog. */
  r = herald_smtp_result_copy (session);
  session->transcript = transcript;
  session->deliveries = deliveries;
  g_clear_pointer (&r->transcript, g_ptr_array_unref);
  r->transcript = transcript != NULL ? g_ptr_array_ref (transcript) : NULL;
  g_clear_pointer (&r->deliveries, g_ptr_array_unref);
  if (delivery == NULL)
    return r;

  r->ok = delivery->outcome == HERALD_DELIVERY_DELIVERED;
  if (delivery->attempted || session->error == NULL || r->ok)
    {
      r->stage = delivery->stage;
      g_clear_pointer (&r->reply, herald_smtp_reply_free);
      r->reply = delivery->reply != NULL ? herald_smtp_reply_copy (delivery->reply) : NULL;
      g_clear_error (&r->error);
      r->error = delivery->error != NULL ? g_error_copy (delivery->error) : NULL;
    }
  if (!r->ok && r->error == NULL)
    r->error = g_error_new_literal (HERALD_SMTP_ERROR, HERALD_SMTP_ERROR_PROTOCOL,
                                    _("The message was not delivered."));
  return r;
}

static HeraldSmtpResult *
deliver_once (const HeraldSmtpConfig       *config,
              const HeraldDeliveryMessage  *messages,
              const guint                  *indexes,
              guint                         n,
              GBytes                      **replacement,
              Run                          *run)
{
  g_autoptr(GPtrArray) batch = g_ptr_array_new_with_free_func ((GDestroyNotify) herald_smtp_message_free);
  HeraldDeliveryCallbacks callbacks = { NULL, before_last_byte_cb, delivered_cb, run, proceed_cb };

  for (guint i = 0; i < n; i++)
    {
      const HeraldDeliveryMessage *m = &messages[indexes[i]];

      g_ptr_array_add (batch, herald_smtp_message_new (m->sender, m->recipients,
                                                       replacement != NULL && replacement[i] != NULL
                                                       ? replacement[i] : m->data));
    }
  run->index_map = indexes;
  return herald_smtp_deliver (config, batch, &callbacks, run->cancellable);
}

static GPtrArray *
smtp_deliver (const HeraldTransport        *transport,
              const HeraldSmtpConfig       *config,
              const HeraldDeliveryMessage  *messages,
              guint                         n,
              HeraldDeliveryCommitFunc      commit,
              HeraldDeliveryDoneFunc        done,
              gpointer                      callback_data,
              gint64                       *retry_after,
              GCancellable                 *cancellable)
{
  GPtrArray *results = g_ptr_array_new_with_free_func ((GDestroyNotify) herald_smtp_result_free);
  g_autoptr(GCancellable) ours = g_cancellable_new ();
  g_autofree guint *all = g_new (guint, MAX (n, 1));
  g_autoptr(GArray) again = g_array_new (FALSE, FALSE, sizeof (guint));
  g_autoptr(HeraldSmtpResult) session = NULL;
  g_autofree gboolean *held_back = g_new0 (gboolean, MAX (n, 1));
  Run run = { commit, done, callback_data, ours, NULL, config, 0, FALSE, FALSE, held_back };
  gulong handler = 0;

  if (cancellable != NULL)
    handler = g_cancellable_connect (cancellable, G_CALLBACK (forward_cancel_cb),
                                     g_object_ref (ours), g_object_unref);

  for (guint i = 0; i < n; i++)
    all[i] = i;
  session = deliver_once (config, messages, all, n, NULL, &run);

  for (guint i = 0; i < n; i++)
    {
      const HeraldDelivery *d = session->deliveries != NULL && i < session->deliveries->len
                                ? g_ptr_array_index (session->deliveries, i) : NULL;

      g_ptr_array_add (results, message_result (session, d));
      /* 8-bit and the server has no 8BITMIME: sent again, encoded. */
      if (d != NULL && g_error_matches (d->error, HERALD_SMTP_ERROR,
                                        HERALD_SMTP_ERROR_8BIT_NOT_OFFERED))
        g_array_append_val (again, i);
    }

  if (again->len > 0 && !g_cancellable_is_cancelled (ours))
    {
      g_autofree GBytes **encoded = g_new0 (GBytes *, again->len);
      g_autoptr(HeraldSmtpResult) second = NULL;

      for (guint j = 0; j < again->len; j++)
        encoded[j] = herald_message_encode_7bit (messages[g_array_index (again, guint, j)].data);
      second = deliver_once (config, messages, (guint *) again->data, again->len, encoded, &run);
      for (guint j = 0; j < again->len; j++)
        {
          guint i = g_array_index (again, guint, j);
          const HeraldDelivery *d = second->deliveries != NULL && j < second->deliveries->len
                                    ? g_ptr_array_index (second->deliveries, j) : NULL;

          /* A message that cannot be parsed stays as the first answer. */
          if (encoded[j] == NULL)
            continue;
          herald_smtp_result_free (g_ptr_array_index (results, i));
          g_ptr_array_index (results, i) = message_result (second, d);
          g_bytes_unref (encoded[j]);
        }
    }

  /* Refused before any message (Exchange Online's "432 4.3.2 Concurrent
   * connections limit exceeded" as the greeting): the first message keeps
   * that verdict, so that the queue says why; the others wait untouched. */
  if (!session->ok && herald_reply_is_throttle (session->reply))
    {
      for (guint i = 1; i < n; i++)
        {
          const HeraldDelivery *d = session->deliveries != NULL && i < session->deliveries->len
                                    ? g_ptr_array_index (session->deliveries, i) : NULL;

          if (d == NULL || !d->attempted)
            held_back[i] = TRUE;
        }
    }

  for (guint i = 0; i < n; i++)
    {
      if (held_back[i])
        retry_after[i] = HERALD_DELIVERY_HELD_BACK;
    }

  if (handler != 0)
    g_cancellable_disconnect (cancellable, handler);
  return results;
}

static const HeraldTransport smtp_transport = {
  "smtp",
  smtp_deliver,
  NULL,
  NULL,
  NULL,
};

const HeraldTransport *
herald_transport_smtp (void)
{
  return &smtp_transport;
}
