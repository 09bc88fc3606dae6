/* SPDX-License-Identifier: GPL-3.0-or-later
 * Copyright 2026 The Herald authors
 */
#define G_LOG_DOMAIN "herald-delivery"

#include "config.h"

#include <glib/gi18n.h>
#include <string.h>

#include "herald-queue-run.h"

HeraldQueueError *
herald_queue_error_from_report (const HeraldDeliveryReport *report)
{
  HeraldQueueError *e;
  const HeraldSmtpResult *r;

  g_return_val_if_fail (report != NULL, NULL);

  r = report->result;
  e = g_new0 (HeraldQueueError, 1);
  e->stage = g_strdup (herald_stage_to_string (r->stage));
  e->error = g_strdup (r->error != NULL ? r->error->message : NULL);
  if (r->reply != NULL)
    {
      e->reply_code = r->reply->code;
      e->reply_enhanced = g_strdup (r->reply->enhanced);
      e->reply_text = g_strdup (r->reply->text);
    }
  if (report->diagnosis != NULL)
    {
      e->diagnosis_id = g_strdup (report->diagnosis->id);
      e->diagnosis_title = g_strdup (report->diagnosis->title);
      e->diagnosis_actor = g_strdup (herald_actor_to_string (report->diagnosis->actor));
    }
  return e;
}

static HeraldQueueState
state_for_outcome (HeraldOutcome outcome)
{
  switch (outcome)
    {
    case HERALD_OUTCOME_HELD:
      return HERALD_QUEUE_STATE_HELD;
    case HERALD_OUTCOME_FAILED_RECIPIENTS:
    case HERALD_OUTCOME_FAILED_CONTENT:
      return HERALD_QUEUE_STATE_FAILED;
    case HERALD_OUTCOME_SENT:
    case HERALD_OUTCOME_QUEUED:
    default:
      return HERALD_QUEUE_STATE_QUEUED;
    }
}

#define DUPLICATE_NOTE N_("may be a duplicate: an earlier attempt ended after the message’s last byte went out")

/* Records a failed attempt in @entry. */
static void
apply_failure (HeraldQueueEntry           *entry,
               const HeraldDeliveryReport *report,
               gint64                      now)
{
  entry->attempts++;
  entry->state = state_for_outcome (report->outcome);
  entry->next_attempt = entry->state == HERALD_QUEUE_STATE_FAILED
                        ? 0 : now + herald_queue_backoff (entry->state, entry->attempts);
  /* The provider said when to come back (Graph's Retry-After): then, not
   * at the back-off's own time. */
  if (entry->state == HERALD_QUEUE_STATE_QUEUED && report->retry_after >= 0)
    entry->next_attempt = now + MAX (report->retry_after, 1);
  herald_queue_error_free (entry->last_error);
  entry->last_error = herald_queue_error_from_report (report);
  /* The RFC 1047 window: the connection broke after the final byte, so
   * the server may have taken it. A refusal read after that byte (a 4xx to
   * BDAT LAST) is a verdict: not taken, no duplicate possible. */
  if (report->last_byte_sent && report->result->reply == NULL)
    {
      entry->maybe_duplicate = TRUE;
      g_free (entry->note);
      entry->note = g_strdup (_(DUPLICATE_NOTE));
    }
}

char *
herald_queue_store (HeraldQueue                 *queue,
                    const HeraldPreparedMessage *message,
                    const HeraldDeliveryReport  *report,
                    HeraldQueueState             state,
                    GError                     **error)
{
  g_autoptr(HeraldQueueEntry) entry = herald_queue_entry_new ();
  gint64 now = g_get_real_time () / G_USEC_PER_SEC;

  g_return_val_if_fail (HERALD_IS_QUEUE (queue), NULL);
  g_return_val_if_fail (message != NULL, NULL);

  entry->state = state;
  entry->sender = g_strdup (message->sender);
  entry->recipients = g_strdupv (message->recipients);
  entry->subject = g_strdup (message->subject);
  entry->message_id = g_strdup (message->message_id);
  entry->eight_bit = message->eight_bit;
  if (report != NULL)
    apply_failure (entry, report, now);
  else
    entry->next_attempt = 0;

  return herald_queue_add (queue, message->data, entry, error);
}

void
herald_flush_summary_free (HeraldFlushSummary *summary)
{
  if (summary == NULL)
    return;
  g_clear_pointer (&summary->items, g_ptr_array_unref);
  g_free (summary);
}

static void
flush_item_free (HeraldFlushItem *item)
{
  g_free (item->id);
  g_free (item->outcome);
  herald_delivery_report_free (item->report);
  g_free (item);
}

gboolean
herald_is_exchange_online (const HeraldSmtpConfig *config)
{
  return config != NULL && herald_host_is_exchange_online (config->host);
}

typedef struct {
  HeraldQueue       *queue;
  GPtrArray         *entries;  /* of HeraldQueueEntry, parallel to the messages */
  gboolean          *removed;  /* the entry left the queue as soon as it was sent */
  HeraldQueueState  *before;   /* each entry's state before it was marked sending */
  GThreadPool       *remover;  /* removes sent entries off the delivering thread */
} FlushRun;

/* On the remover's thread: a sent entry leaves the queue. The delivering
 * thread goes on with the next message meanwhile: on a busy disk each
 * removal can wait for the file system's journal, and a backlog has
 * hundreds of them. Killed before this ran, the entry stays "sending" and
 * the next run sends it again marked "may be a duplicate", as for a kill
 * right after the final 2xx. */
static void
remove_sent (gpointer data,
             gpointer user_data)
{
  FlushRun *run = user_data;
  guint index = GPOINTER_TO_UINT (data) - 1;
  HeraldQueueEntry *entry = g_ptr_array_index (run->entries, index);

  if (herald_queue_remove_unsynced (run->queue, entry->id, NULL))
    run->removed[index] = TRUE;
}

/* Runs on the delivering thread right before a message's last byte: the
 * entry becomes "sending" durably first, so that a run killed from here on
 * is seen by the next one, which retries it as a possible duplicate. */
static gboolean
mark_sending_cb (guint    index,
                 gpointer user_data)
{
  FlushRun *run = user_data;
  HeraldQueueEntry *entry = g_ptr_array_index (run->entries, index);
  g_autoptr(GError) error = NULL;
  HeraldQueueState saved = entry->state;

  run->before[index] = saved;
  entry->state = HERALD_QUEUE_STATE_SENDING;
  /* Not waiting for the disk here: this runs between two messages on one
   * connection, a few hundred times for a backlog (herald-queue.h says why
   * that is safe). */
  if (!herald_queue_update_unsynced (run->queue, entry, &error))
    {
      g_warning ("cannot mark %s as sending, not sending it: %s", entry->id, error->message);
      entry->state = saved;
      return FALSE;
    }
  return TRUE;
}

/* Runs on the delivering thread as soon as a message has its verdict: a
 * sent one leaves the queue now, not at the end of the run, so that killing
 * the run later cannot make it go out twice. */
static void
verdict_cb (guint    index,
            gboolean sent,
            gpointer user_data)
{
  FlushRun *run = user_data;

  if (sent)
    g_thread_pool_push (run->remover, GUINT_TO_POINTER (index + 1), NULL);
}

static void
add_item (HeraldFlushSummary   *summary,
          const char           *id,
          const char           *outcome,
          HeraldDeliveryReport *report,
          gboolean              maybe_duplicate)
{
  HeraldFlushItem *item = g_new0 (HeraldFlushItem, 1);

  item->id = g_strdup (id);
  item->outcome = g_strdup (outcome);
  item->report = report;
  item->maybe_duplicate = maybe_duplicate;
  g_ptr_array_add (summary->items, item);
}

HeraldFlushSummary *
herald_queue_flush (HeraldQueue                *queue,
                    const HeraldTransport      *transport,
                    const HeraldSmtpConfig     *config,
                    const HeraldDeliveryReport *local_failure,
                    const HeraldFlushOptions   *options,
                    GCancellable               *cancellable,
                    GError                    **error)
{
  g_autoptr(HeraldFlushSummary) summary = g_new0 (HeraldFlushSummary, 1);
  g_autoptr(GPtrArray) entries = NULL;
  g_autoptr(GPtrArray) due = g_ptr_array_new_with_free_func ((GDestroyNotify) herald_queue_entry_free);
  g_autoptr(GPtrArray) bytes = g_ptr_array_new_with_free_func ((GDestroyNotify) g_bytes_unref);
  g_autoptr(GArray) messages = g_array_new (FALSE, TRUE, sizeof (HeraldDeliveryMessage));
  g_autoptr(GPtrArray) reports = NULL;
  HeraldFlushOptions defaults = { 0 };
  g_autofree gboolean *removed = NULL;
  g_autofree HeraldQueueState *before = NULL;
  gint64 now = g_get_real_time () / G_USEC_PER_SEC;
  guint batch;
  FlushRun run;

  g_return_val_if_fail (HERALD_IS_QUEUE (queue), NULL);
  g_return_val_if_fail (transport != NULL && config != NULL, NULL);

  if (options == NULL)
    options = &defaults;
  summary->items = g_ptr_array_new_with_free_func ((GDestroyNotify) flush_item_free);

  if (!herald_queue_lock (queue, FALSE, error))
    return NULL;

  herald_queue_clean (queue);
  entries = herald_queue_list (queue, NULL, error);
  if (entries == NULL)
    {
      herald_queue_unlock (queue);
      return NULL;
    }

  batch = options->batch;
  if (herald_is_exchange_online (config) && (batch == 0 || batch > HERALD_EXCHANGE_ONLINE_BATCH))
    batch = HERALD_EXCHANGE_ONLINE_BATCH;

  for (guint i = 0; i < entries->len; i++)
    {
      HeraldQueueEntry *entry = g_ptr_array_index (entries, i);
      g_autoptr(GError) read_error = NULL;
      GBytes *data;

      if (options->only_id != NULL && !g_str_equal (entry->id, options->only_id))
        continue;
      if (entry->state == HERALD_QUEUE_STATE_FAILED)
        continue;

      /* We hold the lock, so a "sending" entry is one an interrupted run
       * left: its last byte may have reached the server. */
      if (entry->state == HERALD_QUEUE_STATE_SENDING)
        {
          entry->state = HERALD_QUEUE_STATE_QUEUED;
          entry->maybe_duplicate = TRUE;
          entry->next_attempt = 0;
          g_free (entry->note);
          entry->note = g_strdup (_(DUPLICATE_NOTE));
          if (!herald_queue_update (queue, entry, error))
            goto fail;
        }

      if (now - entry->created > HERALD_QUEUE_LIFETIME_SECONDS)
        {
          entry->state = HERALD_QUEUE_STATE_FAILED;
          g_free (entry->note);
          entry->note = g_strdup (_("expired: not delivered within 5 days"));
          if (!herald_queue_update (queue, entry, error))
            goto fail;
          summary->failed++;
          add_item (summary, entry->id, "expired", NULL, entry->maybe_duplicate);
          continue;
        }

      if (options->due_only && entry->next_attempt > now)
        {
          summary->left++;
          continue;
        }
      if (batch > 0 && due->len >= batch)
        {
          summary->left++;
          continue;
        }

      data = herald_queue_read_message (queue, entry->id, &read_error);
      if (data == NULL)
        {
          /* Never dropped silently: kept as failed with the reason. */
          entry->state = HERALD_QUEUE_STATE_FAILED;
          g_free (entry->note);
          entry->note = g_strdup_printf (_("the message file cannot be read: %s"),
                                         read_error->message);
          if (!herald_queue_update (queue, entry, error))
            goto fail;
          summary->failed++;
          add_item (summary, entry->id, "failed", NULL, entry->maybe_duplicate);
          continue;
        }

      g_ptr_array_add (bytes, data);
      g_ptr_array_add (due, herald_queue_entry_copy (entry));
    }

  for (guint i = 0; i < due->len; i++)
    {
      HeraldQueueEntry *entry = g_ptr_array_index (due, i);
      HeraldDeliveryMessage m = {
        g_ptr_array_index (bytes, i), entry->sender, (const char * const *) entry->recipients,
        entry->eight_bit
      };

      g_array_append_val (messages, m);
    }

  if (local_failure != NULL)
    {
      reports = g_ptr_array_new_with_free_func ((GDestroyNotify) herald_delivery_report_free);
      for (guint i = 0; i < due->len; i++)
        g_ptr_array_add (reports, herald_delivery_report_copy (local_failure));
    }
  else
    {
      removed = g_new0 (gboolean, MAX (due->len, 1));
      before = g_new0 (HeraldQueueState, MAX (due->len, 1));
      run.queue = queue;
      run.entries = due;
      run.removed = removed;
      run.before = before;
      /* One thread, so removals happen in the order of the verdicts. */
      run.remover = g_thread_pool_new (remove_sent, &run, 1, TRUE, NULL);
      reports = herald_deliver (transport, config, (HeraldDeliveryMessage *) messages->data,
                                messages->len, mark_sending_cb, verdict_cb, &run, cancellable);
      /* Every removal done before the outcomes are read. */
      g_thread_pool_free (run.remover, FALSE, TRUE);
    }

  for (guint i = 0; i < due->len; i++)
    {
      HeraldQueueEntry *entry = g_ptr_array_index (due, i);
      HeraldDeliveryReport *report = g_steal_pointer (&g_ptr_array_index (reports, i));
      g_autoptr(GError) update_error = NULL;
      gboolean ok;

      if (report->held_back)
        {
          /* Left for the next run to keep the provider's pace: as it was,
           * with no attempt counted and no error. One already in flight
           * when the server said to slow down got that refusal as its
           * verdict (not taken), so it is only put back as it was. */
          if (entry->state == HERALD_QUEUE_STATE_SENDING && before != NULL)
            {
              entry->state = before[i];
              if (!herald_queue_update_unsynced (queue, entry, &update_error))
                g_warning ("cannot record the outcome of %s: %s", entry->id,
                           update_error->message);
            }
          summary->left++;
          herald_delivery_report_free (report);
          continue;
        }
      if (report->outcome == HERALD_OUTCOME_SENT)
        {
          ok = (removed != NULL && removed[i]) ||
               herald_queue_remove_unsynced (queue, entry->id, &update_error);
          summary->delivered++;
        }
      else
        {
          apply_failure (entry, report, now);
          ok = herald_queue_update (queue, entry, &update_error);
          if (entry->state == HERALD_QUEUE_STATE_HELD)
            summary->held++;
          else if (entry->state == HERALD_QUEUE_STATE_FAILED)
            summary->failed++;
          else
            summary->deferred++;
        }
      if (!ok)
        g_warning ("cannot record the outcome of %s: %s", entry->id, update_error->message);
      add_item (summary, entry->id, herald_outcome_to_string (report->outcome), report,
                entry->maybe_duplicate);
    }

  {
    g_autoptr(GError) sync_error = NULL;

    if (!herald_queue_sync (queue, &sync_error))
      g_warning ("cannot sync the queue: %s", sync_error->message);
  }
  herald_queue_unlock (queue);
  return g_steal_pointer (&summary);

fail:
  herald_queue_unlock (queue);
  return NULL;
}
