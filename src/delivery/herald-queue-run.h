/* SPDX-License-Identifier: GPL-3.0-or-later
 * Copyright 2026 The Herald authors
 */
#pragma once

/* The queue meets the delivery contract: storing a message that could not
 * be sent at once, and flushing the queue. */

#include "herald-delivery.h"
#include "herald-message.h"
#include "herald-queue.h"

G_BEGIN_DECLS

/* Stores @message as the outcome of @report says (queued, held or failed),
 * with the report as its last error. Returns the id; on error nothing of
 * the entry is left. */
char *herald_queue_store (HeraldQueue                 *queue,
                          const HeraldPreparedMessage *message,
                          const HeraldDeliveryReport  *report,
                          HeraldQueueState             state,
                          GError                     **error) G_GNUC_WARN_UNUSED_RESULT;

/* The queue's view of a report, for the metadata's last error. */
HeraldQueueError *herald_queue_error_from_report (const HeraldDeliveryReport *report) G_GNUC_WARN_UNUSED_RESULT;

typedef struct {
  char                  *id;
  char                  *outcome;    /* "sent", "queued", "held", "failed", "expired" */
  HeraldDeliveryReport  *report;     /* NULL when nothing was attempted (expired) */
  gboolean               maybe_duplicate;
} HeraldFlushItem;

typedef struct {
  guint      delivered;
  guint      deferred;
  guint      held;
  guint      failed;
  guint      left;        /* not due (with due_only) or left for the next run (pace: Exchange
                           * Online's share per run, or the server asked to slow down) */
  GPtrArray *items;       /* of HeraldFlushItem, one per message attempted or expired */
} HeraldFlushSummary;

void herald_flush_summary_free (HeraldFlushSummary *summary);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (HeraldFlushSummary, herald_flush_summary_free)

typedef struct {
  gboolean     due_only;    /* only entries whose next attempt has come (the timer) */
  const char  *only_id;     /* only this entry (queue retry ID), or NULL */
  guint        batch;       /* at most this many messages per run; 0: no cap */
} HeraldFlushOptions;

/* Takes the flush lock (G_IO_ERROR_BUSY at once when another flush holds
 * it), then delivers every queued and held entry (and every sending one
 * left by an interrupted run, marked "may be a duplicate") over one
 * connection. When the server asks to slow down (a 4.3.2 throttle reply)
 * nothing more is sent: the messages after it stay as they were, counted
 * in left. A message leaves the queue only after the server's final 2xx;
 * it is marked sending right before its last byte. Entries older than five
 * days become failed ("expired"). With @local_failure (credentials could
 * not be had) nothing is sent and every entry gets that failure. */
HeraldFlushSummary *herald_queue_flush (HeraldQueue                *queue,
                                        const HeraldTransport      *transport,
                                        const HeraldSmtpConfig     *config,
                                        const HeraldDeliveryReport *local_failure,
                                        const HeraldFlushOptions   *options,
                                        GCancellable               *cancellable,
                                        GError                    **error) G_GNUC_WARN_UNUSED_RESULT;

/* TRUE when @config's server is Exchange Online by its host name, which
 * limits the pace of sending. The SMTP transport also knows it by the
 * server's greeting, once connected (herald_greeting_is_exchange_online()),
 * and then sends at most HERALD_EXCHANGE_ONLINE_BATCH messages. */
gboolean herald_is_exchange_online (const HeraldSmtpConfig *config);

G_END_DECLS
