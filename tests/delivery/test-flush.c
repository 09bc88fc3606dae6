/* SPDX-License-Identifier: GPL-3.0-or-later
 * Copyright 2026 The Herald authors
 */
#include "config.h"

#include <glib/gstdio.h>
#include <string.h>

#include "herald-queue-run.h"
#include "herald-smtp.h"

/* The queue runner with a scripted in-process transport: which entries are
 * delivered, how each outcome is recorded, that an entry is "sending" on
 * disk before its last byte, and how an interrupted run is recovered. The
 * real engine and Postfix are in test-send-postfix.py. */

typedef enum {
  SCRIPT_ACCEPT,          /* 250 after the last byte */
  SCRIPT_TEMPORARY,       /* 451 to RCPT */
  SCRIPT_AUTH,            /* 535 5.7.139 */
  SCRIPT_NO_USER,         /* 550 5.1.1 to RCPT */
  SCRIPT_TOO_BIG,         /* 552 5.3.4 after DATA */
  SCRIPT_CLOSED_AFTER,    /* the connection breaks after the last byte */
  SCRIPT_THROTTLED,       /* 451 4.3.2 sender thread limit exceeded */
} Script;

typedef struct {
  char        *dir;
  HeraldQueue *queue;
  GArray      *script;         /* Script per message delivered, in order */
  guint        calls;          /* deliver() calls */
  guint        delivered;      /* messages offered */
  GPtrArray   *states_at_commit; /* the entry's state on disk at each commit */
  GPtrArray   *states_after_verdict; /* and right after each accepted message's verdict */
  GPtrArray   *ids;            /* ids, in the order delivered */
} Fixture;

static Fixture *current;

static HeraldSmtpResult *
reply_result (HeraldStage  stage,
              int          code,
              const char  *enhanced,
              const char  *text)
{
  HeraldSmtpResult *r = herald_smtp_result_new ();

  r->stage = stage;
  r->reply = g_new0 (HeraldSmtpReply, 1);
  r->reply->code = code;
  r->reply->enhanced = g_strdup (enhanced);
  r->reply->text = g_strdup (text);
  r->reply->raw = g_strdup_printf ("%d %s", code, text);
  r->ok = code < 400;
  if (!r->ok)
    r->error = g_error_new (HERALD_SMTP_ERROR, HERALD_SMTP_ERROR_REJECTED, "%d %s", code, text);
  else
    r->stage = HERALD_STAGE_DONE;
  return r;
}

/* The entry whose message is @data, found by its Message-ID line. */
static char *
state_on_disk (GBytes *data)
{
  g_autoptr(GPtrArray) entries = herald_queue_list (current->queue, NULL, NULL);
  gsize n;
  const char *text = g_bytes_get_data (data, &n);

  for (guint i = 0; entries != NULL && i < entries->len; i++)
    {
      HeraldQueueEntry *e = g_ptr_array_index (entries, i);

      if (g_strstr_len (text, (gssize) n, e->message_id) != NULL)
        {
          g_ptr_array_add (current->ids, g_strdup (e->id));
          return g_strdup (herald_queue_state_to_string (e->state));
        }
    }
  return g_strdup ("missing");
}

static GPtrArray *
fake_deliver (const HeraldTransport        *transport,
              const HeraldSmtpConfig       *config,
              const HeraldDeliveryMessage  *messages,
              guint                         n,
              HeraldDeliveryCommitFunc      commit,
              HeraldDeliveryDoneFunc        done,
              gpointer                      commit_data,
              gint64                       *retry_after,
              GCancellable                 *cancellable)
{
  GPtrArray *results = g_ptr_array_new_with_free_func ((GDestroyNotify) herald_smtp_result_free);

  current->calls++;
  for (guint i = 0; i < n; i++)
    {
      Script s = current->delivered < current->script->len
                 ? g_array_index (current->script, Script, current->delivered) : SCRIPT_ACCEPT;
      HeraldSmtpResult *r = NULL;

      current->delivered++;
      switch (s)
        {
        case SCRIPT_TEMPORARY:
          r = reply_result (HERALD_STAGE_RCPT, 451, "4.3.0", "Try again later");
          break;
        case SCRIPT_THROTTLED:
          r = reply_result (HERALD_STAGE_DATA, 451, "4.3.2",
                            "Concurrent connections limit exceeded; sender thread limit exceeded");
          break;
        case SCRIPT_AUTH:
          r = reply_result (HERALD_STAGE_AUTH, 535, "5.7.139",
                            "Authentication unsuccessful, SmtpClientAuthentication is disabled "
                            "for the Tenant.");
          break;
        case SCRIPT_NO_USER:
          r = reply_result (HERALD_STAGE_RCPT, 550, "5.1.1", "User unknown");
          break;
        case SCRIPT_TOO_BIG:
          r = reply_result (HERALD_STAGE_DATA, 552, "5.3.4", "Message size exceeds fixed limit");
          break;
        case SCRIPT_ACCEPT:
        case SCRIPT_CLOSED_AFTER:
          if (commit (i, commit_data))
            {
              g_ptr_array_add (current->states_at_commit, state_on_disk (messages[i].data));
              if (s == SCRIPT_ACCEPT)
                {
                  r = reply_result (HERALD_STAGE_DATA, 250, "2.0.0", "Ok: queued");
                  /* The verdict: the entry leaves the queue before the run ends
                   * (on the flush's remover thread: waited for here, while
                   * the run is still in this transport). */
                  done (i, TRUE, commit_data);
                  {
                    char *state = NULL;

                    for (guint wait = 0; wait < 200; wait++)
                      {
                        g_free (state);
                        state = state_on_disk (messages[i].data);
                        if (g_str_equal (state, "missing"))
                          break;
                        g_usleep (10000);
                      }
                    g_ptr_array_add (current->states_after_verdict, state);
                  }
                }
              else
                {
                  r = herald_smtp_result_new ();
                  r->stage = HERALD_STAGE_DATA;
                  r->error = g_error_new (HERALD_SMTP_ERROR, HERALD_SMTP_ERROR_CLOSED,
                                          "The server closed the connection");
                }
            }
          else
            {
              r = herald_smtp_result_new ();
              r->error = g_error_new (G_IO_ERROR, G_IO_ERROR_CANCELLED, "not committed");
            }
          break;
        }
      g_ptr_array_add (results, r);
    }
  return results;
}

static const HeraldTransport fake_transport = { "fake", fake_deliver, NULL, NULL, NULL };

static void
fixture_setup (Fixture       *f,
               gconstpointer  data)
{
  f->dir = g_dir_make_tmp ("herald-flush-XXXXXX", NULL);
  f->queue = herald_queue_new (f->dir);
  f->script = g_array_new (FALSE, FALSE, sizeof (Script));
  f->states_at_commit = g_ptr_array_new_with_free_func (g_free);
  f->states_after_verdict = g_ptr_array_new_with_free_func (g_free);
  f->ids = g_ptr_array_new_with_free_func (g_free);
  current = f;
}

static void
fixture_teardown (Fixture       *f,
                  gconstpointer  data)
{
  g_autofree char *cmd = g_strdup_printf ("rm -rf '%s'", f->dir);

  g_assert_finalize_object (f->queue);
  g_array_unref (f->script);
  g_ptr_array_unref (f->states_at_commit);
  g_ptr_array_unref (f->states_after_verdict);
  g_ptr_array_unref (f->ids);
  g_assert_true (g_spawn_command_line_sync (cmd, NULL, NULL, NULL, NULL));
  g_free (f->dir);
  current = NULL;
}

static char *
add_message (Fixture          *f,
             HeraldQueueState  state,
             gint64            created_ago,
             gint64            next_in)
{
  g_autoptr(HeraldQueueEntry) e = herald_queue_entry_new ();
  g_autoptr(GError) error = NULL;
  static guint serial;
  g_autofree char *mid = g_strdup_printf ("msg%u.%u@test", ++serial, g_random_int ());
  g_autofree char *text = g_strdup_printf ("Message-ID: <%s>\r\nSubject: t\r\n\r\nbody\r\n", mid);
  g_autoptr(GBytes) data = g_bytes_new (text, strlen (text));
  const char *rcpt[] = { "bob@example.com", NULL };
  char *id;
  gint64 now = g_get_real_time () / G_USEC_PER_SEC;

  e->state = state;
  e->sender = g_strdup ("alerts@example.com");
  e->recipients = g_strdupv ((char **) rcpt);
  e->message_id = g_strdup (mid);
  e->next_attempt = next_in != 0 ? now + next_in : 0;
  id = herald_queue_add (f->queue, data, e, &error);
  g_assert_no_error (error);
  if (created_ago > 0)
    {
      g_autoptr(HeraldQueueEntry) got = herald_queue_get (f->queue, id, &error);

      got->created = now - created_ago;
      g_assert_true (herald_queue_update (f->queue, got, &error));
    }
  return id;
}

static HeraldQueueEntry *
get (Fixture    *f,
     const char *id)
{
  g_autoptr(GError) error = NULL;
  HeraldQueueEntry *e = herald_queue_get (f->queue, id, &error);

  if (e == NULL)
    g_assert_error (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND);
  return e;
}

static HeraldSmtpConfig *
config_for (const char *host)
{
  HeraldSmtpConfig *c = herald_smtp_config_new ();

  c->host = g_strdup (host);
  c->port = 587;
  c->from = g_strdup ("alerts@example.com");
  return c;
}

static HeraldFlushSummary *
flush (Fixture                  *f,
       const HeraldFlushOptions *options)
{
  g_autoptr(HeraldSmtpConfig) config = config_for ("smtp.example.com");
  g_autoptr(GError) error = NULL;
  HeraldFlushSummary *summary = herald_queue_flush (f->queue, &fake_transport, config, NULL,
                                                    options, NULL, &error);

  g_assert_no_error (error);
  g_assert_nonnull (summary);
  return summary;
}

static void
script (Fixture *f,
        Script   s)
{
  g_array_append_val (f->script, s);
}

static void
test_outcomes (Fixture       *f,
               gconstpointer  data)
{
  g_autofree char *a = add_message (f, HERALD_QUEUE_STATE_QUEUED, 0, 0);
  g_autofree char *b = add_message (f, HERALD_QUEUE_STATE_QUEUED, 0, 0);
  g_autofree char *c = add_message (f, HERALD_QUEUE_STATE_HELD, 0, 0);
  g_autofree char *d = add_message (f, HERALD_QUEUE_STATE_QUEUED, 0, 0);
  g_autofree char *e = add_message (f, HERALD_QUEUE_STATE_QUEUED, 0, 0);
  g_autofree char *g = add_message (f, HERALD_QUEUE_STATE_QUEUED, 0, 0);
  g_autoptr(HeraldFlushSummary) summary = NULL;
  gint64 now = g_get_real_time () / G_USEC_PER_SEC;

  script (f, SCRIPT_ACCEPT);
  script (f, SCRIPT_TEMPORARY);
  script (f, SCRIPT_AUTH);
  script (f, SCRIPT_NO_USER);
  script (f, SCRIPT_TOO_BIG);
  script (f, SCRIPT_CLOSED_AFTER);
  summary = flush (f, NULL);

  /* One call: every message over one connection. */
  g_assert_cmpuint (f->calls, ==, 1);
  g_assert_cmpuint (summary->delivered, ==, 1);
  g_assert_cmpuint (summary->deferred, ==, 2);
  g_assert_cmpuint (summary->held, ==, 1);
  g_assert_cmpuint (summary->failed, ==, 2);
  g_assert_cmpuint (summary->items->len, ==, 6);

  /* Sent: gone, and it was "sending" on disk before its last byte. */
  g_assert_null (get (f, a));
  g_assert_cmpstr (g_ptr_array_index (f->states_at_commit, 0), ==, "sending");
  /* Gone as soon as the server took it, not at the end of the run. */
  g_assert_cmpstr (g_ptr_array_index (f->states_after_verdict, 0), ==, "missing");

  {
    g_autoptr(HeraldQueueEntry) eb = get (f, b);
    g_autoptr(HeraldQueueEntry) ec = get (f, c);
    g_autoptr(HeraldQueueEntry) ed = get (f, d);
    g_autoptr(HeraldQueueEntry) ee = get (f, e);
    g_autoptr(HeraldQueueEntry) eg = get (f, g);

    g_assert_cmpint (eb->state, ==, HERALD_QUEUE_STATE_QUEUED);
    g_assert_cmpuint (eb->attempts, ==, 1);
    g_assert_cmpint (eb->next_attempt, >=, now + 60);
    g_assert_cmpint (eb->next_attempt, <=, now + 62);
    g_assert_cmpint (eb->last_error->reply_code, ==, 451);
    g_assert_false (eb->maybe_duplicate);

    g_assert_cmpint (ec->state, ==, HERALD_QUEUE_STATE_HELD);
    g_assert_cmpstr (ec->last_error->stage, ==, "auth");
    g_assert_nonnull (ec->last_error->diagnosis_id);
    g_assert_nonnull (ec->last_error->diagnosis_title);
    g_assert_cmpint (ec->next_attempt, >=, now + 3600);

    g_assert_cmpint (ed->state, ==, HERALD_QUEUE_STATE_FAILED);
    g_assert_cmpstr (ed->last_error->reply_enhanced, ==, "5.1.1");
    g_assert_cmpint (ee->state, ==, HERALD_QUEUE_STATE_FAILED);
    g_assert_cmpstr (ee->last_error->reply_enhanced, ==, "5.3.4");

    /* Broken after the last byte: retried later, as a possible duplicate. */
    g_assert_cmpint (eg->state, ==, HERALD_QUEUE_STATE_QUEUED);
    g_assert_true (eg->maybe_duplicate);
    g_assert_nonnull (eg->note);
  }

  /* A second flush leaves failed messages alone and retries the rest. */
  {
    g_autoptr(HeraldFlushSummary) again = flush (f, NULL);

    g_assert_cmpuint (again->delivered, ==, 3);
    g_assert_cmpuint (again->failed, ==, 0);
    g_assert_nonnull (get (f, d));
    g_assert_nonnull (get (f, e));
    g_assert_null (get (f, b));
    g_assert_null (get (f, c));
    g_assert_null (get (f, g));
  }
}

/* A run killed after marking an entry "sending" leaves it so; the next run
 * (holding the lock) retries it and marks it as a possible duplicate. */
static void
test_interrupted_run (Fixture       *f,
                      gconstpointer  data)
{
  g_autofree char *a = add_message (f, HERALD_QUEUE_STATE_SENDING, 0, 600);
  g_autofree char *b = add_message (f, HERALD_QUEUE_STATE_QUEUED, 0, 0);
  g_autoptr(HeraldFlushSummary) summary = NULL;
  g_autoptr(HeraldQueueEntry) ea = NULL;

  script (f, SCRIPT_TEMPORARY);
  script (f, SCRIPT_ACCEPT);
  summary = flush (f, NULL);
  g_assert_cmpuint (summary->deferred, ==, 1);
  g_assert_cmpuint (summary->delivered, ==, 1);
  ea = get (f, a);
  g_assert_nonnull (ea);
  g_assert_cmpint (ea->state, ==, HERALD_QUEUE_STATE_QUEUED);
  g_assert_true (ea->maybe_duplicate);
  g_assert_true (((HeraldFlushItem *) g_ptr_array_index (summary->items, 0))->maybe_duplicate);
  g_assert_null (get (f, b));
}

static void
test_due_expired_and_lock (Fixture       *f,
                           gconstpointer  data)
{
  g_autofree char *later = add_message (f, HERALD_QUEUE_STATE_QUEUED, 0, 600);
  g_autofree char *old = add_message (f, HERALD_QUEUE_STATE_HELD, 6 * 24 * 3600, 0);
  g_autofree char *now = add_message (f, HERALD_QUEUE_STATE_QUEUED, 0, 0);
  HeraldFlushOptions due = { .due_only = TRUE };
  g_autoptr(HeraldFlushSummary) summary = NULL;
  g_autoptr(HeraldQueueEntry) eold = NULL;

  summary = flush (f, &due);
  g_assert_cmpuint (summary->delivered, ==, 1);
  g_assert_cmpuint (summary->left, ==, 1);
  g_assert_cmpuint (summary->failed, ==, 1);
  g_assert_nonnull (get (f, later));
  g_assert_null (get (f, now));
  /* Expired: failed with the reason, never deleted silently. */
  eold = get (f, old);
  g_assert_cmpint (eold->state, ==, HERALD_QUEUE_STATE_FAILED);
  g_assert_true (g_str_has_prefix (eold->note, "expired"));

  /* One flush at a time. */
  {
    g_autoptr(HeraldQueue) other = herald_queue_new (f->dir);
    g_autoptr(HeraldSmtpConfig) config = config_for ("smtp.example.com");
    g_autoptr(GError) error = NULL;
    g_autoptr(HeraldFlushSummary) busy = NULL;

    g_assert_true (herald_queue_lock (other, FALSE, &error));
    busy = herald_queue_flush (f->queue, &fake_transport, config, NULL, NULL, NULL, &error);
    g_assert_null (busy);
    g_assert_error (error, G_IO_ERROR, G_IO_ERROR_BUSY);
  }
}

/* Exchange Online takes 30 messages a minute per mailbox: a flush sends 30
 * and leaves the rest queued for the next run. */
static void
test_exchange_pace (Fixture       *f,
                    gconstpointer  data)
{
  g_autoptr(HeraldSmtpConfig) config = config_for ("smtp.office365.com");
  g_autoptr(HeraldFlushSummary) summary = NULL;
  g_autoptr(GPtrArray) left = NULL;
  g_autoptr(GError) error = NULL;

  for (guint i = 0; i < 35; i++)
    g_free (add_message (f, HERALD_QUEUE_STATE_QUEUED, 0, 0));
  summary = herald_queue_flush (f->queue, &fake_transport, config, NULL, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (summary->delivered, ==, HERALD_EXCHANGE_ONLINE_BATCH);
  g_assert_cmpuint (summary->left, ==, 5);
  left = herald_queue_list (f->queue, NULL, &error);
  g_assert_cmpuint (left->len, ==, 5);
}

/* Credentials missing: nothing is offered to the transport, every entry is
 * held with that failure. */
static void
test_local_failure (Fixture       *f,
                    gconstpointer  data)
{
  g_autofree char *a = add_message (f, HERALD_QUEUE_STATE_QUEUED, 0, 0);
  g_autoptr(HeraldSmtpConfig) config = config_for ("smtp.example.com");
  g_autoptr(GError) cause = g_error_new (G_IO_ERROR, G_IO_ERROR_PERMISSION_DENIED, "locked");
  g_autoptr(GError) keyring = g_error_new_literal (g_quark_from_static_string ("herald-secrets-error"),
                                                   0, "no password in the keyring");
  g_autoptr(HeraldDeliveryReport) report = herald_delivery_report_new_local (&fake_transport,
                                                                             config,
                                                                             HERALD_STAGE_AUTH,
                                                                             keyring);
  g_autoptr(HeraldFlushSummary) summary = NULL;
  g_autoptr(HeraldQueueEntry) ea = NULL;
  g_autoptr(GError) error = NULL;

  g_assert_cmpint (report->outcome, ==, HERALD_OUTCOME_HELD);
  summary = herald_queue_flush (f->queue, &fake_transport, config, report, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (f->calls, ==, 0);
  g_assert_cmpuint (summary->held, ==, 1);
  ea = get (f, a);
  g_assert_cmpint (ea->state, ==, HERALD_QUEUE_STATE_HELD);
  g_assert_cmpstr (ea->last_error->error, ==, "no password in the keyring");

  /* A sign-in that failed because the network is down only waits. */
  {
    g_autoptr(HeraldDeliveryReport) net = herald_delivery_report_new_local (&fake_transport,
                                                                            config,
                                                                            HERALD_STAGE_AUTH,
                                                                            cause);
    g_autoptr(GError) unreachable = g_error_new (G_RESOLVER_ERROR,
                                                 G_RESOLVER_ERROR_TEMPORARY_FAILURE, "dns");
    g_autoptr(HeraldDeliveryReport) dns = herald_delivery_report_new_local (&fake_transport,
                                                                            config,
                                                                            HERALD_STAGE_AUTH,
                                                                            unreachable);

    g_assert_cmpint (net->outcome, ==, HERALD_OUTCOME_QUEUED);
    g_assert_cmpint (dns->outcome, ==, HERALD_OUTCOME_QUEUED);
  }
}

static void
test_classify (void)
{
  struct {
    HeraldStage stage;
    int code;
    const char *enhanced;
    const char *text;
    HeraldOutcome outcome;
  } cases[] = {
    { HERALD_STAGE_GREETING, 421, "4.3.2", "Service not available", HERALD_OUTCOME_QUEUED },
    { HERALD_STAGE_AUTH, 535, "5.7.139", "Authentication unsuccessful", HERALD_OUTCOME_HELD },
    { HERALD_STAGE_AUTH, 535, "5.7.3", "Authentication unsuccessful", HERALD_OUTCOME_HELD },
    { HERALD_STAGE_MAIL, 550, "5.7.60", "SMTP; Client does not have permissions to send as this "
      "sender", HERALD_OUTCOME_HELD },
    { HERALD_STAGE_DATA, 554, "5.2.252", "SendAsDenied; alerts@contoso.com not allowed to send "
      "as root@web1", HERALD_OUTCOME_HELD },
    { HERALD_STAGE_RCPT, 554, "5.7.1", "<x@y.z>: Relay access denied", HERALD_OUTCOME_HELD },
    { HERALD_STAGE_RCPT, 550, "5.1.1", "User unknown", HERALD_OUTCOME_FAILED_RECIPIENTS },
    { HERALD_STAGE_RCPT, 550, NULL, "No such user", HERALD_OUTCOME_FAILED_RECIPIENTS },
    { HERALD_STAGE_DATA, 552, "5.3.4", "Message too big", HERALD_OUTCOME_FAILED_CONTENT },
    { HERALD_STAGE_DATA, 550, "5.6.0", "Content rejected", HERALD_OUTCOME_FAILED_CONTENT },
    { HERALD_STAGE_DATA, 451, "4.3.2", "sender thread limit exceeded", HERALD_OUTCOME_QUEUED },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr(HeraldSmtpResult) r = reply_result (cases[i].stage, cases[i].code,
                                                    cases[i].enhanced, cases[i].text);

      g_test_message ("case %u: %d %s", i, cases[i].code, cases[i].text);
      g_assert_cmpint (herald_outcome_classify (r, NULL), ==, cases[i].outcome);
    }

  {
    g_autoptr(HeraldSmtpResult) r = herald_smtp_result_new ();
    gboolean slow = FALSE;

    r->stage = HERALD_STAGE_CONNECT;
    r->error = g_error_new (G_IO_ERROR, G_IO_ERROR_CONNECTION_REFUSED, "refused");
    g_assert_cmpint (herald_outcome_classify (r, NULL), ==, HERALD_OUTCOME_QUEUED);
    g_clear_error (&r->error);
    r->stage = HERALD_STAGE_TLS;
    r->error = g_error_new (HERALD_SMTP_ERROR, HERALD_SMTP_ERROR_TLS_CERTIFICATE, "bad cert");
    g_assert_cmpint (herald_outcome_classify (r, NULL), ==, HERALD_OUTCOME_HELD);
    g_clear_error (&r->error);
    r->error = g_error_new (HERALD_SMTP_ERROR, HERALD_SMTP_ERROR_STARTTLS_NOT_OFFERED, "no");
    g_assert_cmpint (herald_outcome_classify (r, NULL), ==, HERALD_OUTCOME_HELD);

    {
      g_autoptr(HeraldSmtpResult) t = reply_result (HERALD_STAGE_DATA, 451, "4.3.2",
                                                    "SubmissionQuotaExceeded");

      g_assert_cmpint (herald_outcome_classify (t, &slow), ==, HERALD_OUTCOME_QUEUED);
      g_assert_true (slow);
    }
  }

  g_assert_cmpint (herald_outcome_exit_status (HERALD_OUTCOME_SENT), ==, 0);
  g_assert_cmpint (herald_outcome_exit_status (HERALD_OUTCOME_QUEUED), ==, 0);
  g_assert_cmpint (herald_outcome_exit_status (HERALD_OUTCOME_HELD), ==, 0);
  g_assert_cmpint (herald_outcome_exit_status (HERALD_OUTCOME_FAILED_RECIPIENTS), ==, 67);
  g_assert_cmpint (herald_outcome_exit_status (HERALD_OUTCOME_FAILED_CONTENT), ==, 65);
}

int
main (int    argc,
      char **argv)
{
  g_test_init (&argc, &argv, NULL);

  g_test_add ("/herald/delivery/flush/outcomes", Fixture, NULL, fixture_setup, test_outcomes,
              fixture_teardown);
  g_test_add ("/herald/delivery/flush/interrupted-run", Fixture, NULL, fixture_setup,
              test_interrupted_run, fixture_teardown);
  g_test_add ("/herald/delivery/flush/due-expired-lock", Fixture, NULL, fixture_setup,
              test_due_expired_and_lock, fixture_teardown);
  g_test_add ("/herald/delivery/flush/exchange-pace", Fixture, NULL, fixture_setup,
              test_exchange_pace, fixture_teardown);
  g_test_add ("/herald/delivery/flush/local-failure", Fixture, NULL, fixture_setup,
              test_local_failure, fixture_teardown);
  g_test_add_func ("/herald/delivery/classify", test_classify);

  return g_test_run ();
}
