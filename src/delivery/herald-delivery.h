/* SPDX-License-Identifier: GPL-3.0-or-later
 * Copyright 2026 The Herald authors
 */
#pragma once

/* The delivery contract: "deliver these MIME messages to these recipients
 * with this profile's settings", whatever the transport. Every caller (send,
 * the queue, the window) goes through herald_deliver() and gets one report
 * per message in one shape: the engine's result (stage, reply, error), a
 * transport name, the outcome class and the diagnosis. */

#include <gio/gio.h>

#include "herald-diagnosis.h"
#include "herald-smtp.h"

G_BEGIN_DECLS

typedef enum {
  HERALD_OUTCOME_SENT,               /* "sent": the server's final 2xx */
  HERALD_OUTCOME_QUEUED,             /* "queued": temporary; retry with back-off */
  HERALD_OUTCOME_HELD,               /* "held": settings or provider must change */
  HERALD_OUTCOME_FAILED_RECIPIENTS,  /* "failed": every recipient refused for good */
  HERALD_OUTCOME_FAILED_CONTENT,     /* "failed": the message refused for good */
} HeraldOutcome;

/* "sent", "queued", "held" or "failed". */
const char *herald_outcome_to_string (HeraldOutcome outcome);

typedef struct {
  GBytes              *data;        /* CRLF, not dot-stuffed */
  const char          *sender;
  const char * const  *recipients;
  gboolean             eight_bit;
} HeraldDeliveryMessage;

typedef struct {
  HeraldOutcome  outcome;
  const char            *transport;       /* "smtp" or "graph" (static strings) */
  HeraldSmtpResult      *result;          /* never NULL; for Graph reply->code is the HTTP
                                           * status, reply->text Graph's code and message */
  HeraldDiagnosis       *diagnosis;       /* NULL when sent */
  gboolean               last_byte_sent;  /* the commit callback ran for this message */
  gboolean               slow_down;       /* the provider asked to send less (leave the rest) */
  gint64                 retry_after;     /* seconds the provider asked to wait before the next
                                           * attempt (Graph's Retry-After), or -1 */
  gboolean               held_back;       /* not tried in this run to keep the provider's pace
                                           * (it asked to slow down, or its per-run share was
                                           * sent): no attempt, left for the next run */
} HeraldDeliveryReport;

void herald_delivery_report_free (HeraldDeliveryReport *report);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (HeraldDeliveryReport, herald_delivery_report_free)

/* Called on the delivering thread right before message @index's last byte
 * goes out. Returning FALSE stops before that byte: the message is not sent
 * and its report says queued. */
typedef gboolean (*HeraldDeliveryCommitFunc) (guint    index,
                                              gpointer user_data);

/* Called on the delivering thread as soon as message @index has the
 * server's verdict (@sent: its final 2xx), before the others are done: the
 * queue lets a sent message go at once, so that a run killed later does not
 * send it again. */
typedef void (*HeraldDeliveryDoneFunc) (guint    index,
                                        gboolean sent,
                                        gpointer user_data);

/* A transport delivers @n messages (over one connection when it can) and
 * returns @n engine results, in order; it calls @commit and @done as
 * above (both with @callback_data). @retry_after has @n slots, all -1 on
 * entry: a transport sets a message's slot to the seconds the provider
 * asked to wait before trying it again, or to HERALD_DELIVERY_HELD_BACK
 * when it left the message unsent to keep the provider's pace (the
 * report's held_back).
 *
 * @classify says what a failed result of this transport means (queued,
 * held, failed); NULL: herald_outcome_classify(), SMTP's reading.
 * @destroy frees a transport made at run time (NULL for a static one). */
#define HERALD_DELIVERY_HELD_BACK ((gint64) -2)

/* Exchange Online accepts 30 messages a minute per mailbox: a delivery to
 * it sends at most this many and leaves the rest for the next run. */
#define HERALD_EXCHANGE_ONLINE_BATCH 30

typedef struct _HeraldTransport HeraldTransport;
struct _HeraldTransport {
  const char  *name;
  GPtrArray *(*deliver) (const HeraldTransport        *transport,
                         const HeraldSmtpConfig       *config,
                         const HeraldDeliveryMessage  *messages,
                         guint                         n,
                         HeraldDeliveryCommitFunc      commit,
                         HeraldDeliveryDoneFunc        done,
                         gpointer                      callback_data,
                         gint64                       *retry_after,
                         GCancellable                 *cancellable);
  gpointer     user_data;
  HeraldOutcome (*classify) (const HeraldSmtpResult *result,
                             gboolean               *slow_down);
  void        (*destroy)  (HeraldTransport *transport);
};

/* SMTP through the engine: password or XOAUTH2 (the caller fills the
 * config's secret), pipelined, one connection for all messages. */
const HeraldTransport *herald_transport_smtp (void);

/* Frees a transport made at run time (the Graph one); does nothing for
 * herald_transport_smtp() or NULL. */
void herald_transport_free (const HeraldTransport *transport);

/* Delivers and classifies: returns @n HeraldDeliveryReport, in order. */
GPtrArray *herald_deliver (const HeraldTransport        *transport,
                           const HeraldSmtpConfig       *config,
                           const HeraldDeliveryMessage  *messages,
                           guint                         n,
                           HeraldDeliveryCommitFunc      commit,
                           HeraldDeliveryDoneFunc        done,
                           gpointer                      callback_data,
                           GCancellable                 *cancellable) G_GNUC_WARN_UNUSED_RESULT;

/* A report for a failure found before any connection (no password in the
 * credential store, signed out, token endpoint unreachable): @error keeps
 * its domain and code, which decide between queued and held. */
HeraldDeliveryReport *herald_delivery_report_new_local (const HeraldTransport  *transport,
                                                        const HeraldSmtpConfig *config,
                                                        HeraldStage             stage,
                                                        const GError           *error) G_GNUC_WARN_UNUSED_RESULT;
HeraldDeliveryReport *herald_delivery_report_copy (const HeraldDeliveryReport *report) G_GNUC_WARN_UNUSED_RESULT;

/* TRUE when @reply is a provider's request to send less: Exchange
 * Online's 4.3.2 "sender thread limit exceeded", "SubmissionQuotaExceeded",
 * "Concurrent connections limit exceeded" and the like (4xx only). */
gboolean herald_reply_is_throttle (const HeraldSmtpReply *reply);

/* TRUE when a server's greeting (the 220 text) names Exchange Online
 * (outlook.com, office365.com and their national clouds' host names),
 * which limits the pace of sending. */
gboolean herald_greeting_is_exchange_online (const char *greeting);

/* The same for a host name. */
gboolean herald_host_is_exchange_online (const char *host);

/* The class of a failed (or successful) engine result; exposed for tests. */
HeraldOutcome herald_outcome_classify (const HeraldSmtpResult *result,
                                                gboolean               *slow_down);
/* The same through @transport's own reading (its classify, else the above). */
HeraldOutcome herald_transport_classify (const HeraldTransport  *transport,
                                         const HeraldSmtpResult *result,
                                         gboolean               *slow_down);

/* The sysexits status for an outcome of heraldctl send: 0 for sent,
 * queued and held, 67 for refused recipients, 65 for refused content. */
int herald_outcome_exit_status (HeraldOutcome outcome);

/* sysexits.h, as sendmail callers expect them. */
enum {
  HERALD_EX_OK          = 0,
  HERALD_EX_USAGE       = 64,
  HERALD_EX_DATAERR     = 65,
  HERALD_EX_NOINPUT     = 66,
  HERALD_EX_NOUSER      = 67,
  HERALD_EX_UNAVAILABLE = 69,
  HERALD_EX_SOFTWARE    = 70,
  HERALD_EX_NOPERM      = 77,
  HERALD_EX_CANTCREAT   = 73,
  HERALD_EX_TEMPFAIL    = 75,
  HERALD_EX_CONFIG      = 78,
};

G_END_DECLS
