/* SPDX-License-Identifier: GPL-3.0-or-later
 * Copyright 2026 The Herald authors
 */
#define G_LOG_DOMAIN "herald-test-delivery"

/* The queue runner through the real SMTP transport and engine against the
 * scripted fake SMTP server (tests/fixtures): the provider's pace. A 4.3.2
 * throttle reply stops the run at once (the rest stay queued, no attempt
 * counted, nothing lost or sent twice), and Exchange Online known only by
 * its greeting (on a loopback host name) gets 30 messages per run. */

#include "config.h"

#include <string.h>

#include "herald-queue-run.h"
#include "herald-smtp.h"
#include "herald-test-util.h"

#define FROM "alerts@example.test"
#define HELO "client.test"
#define THROTTLE "432 4.3.2 STOREDRV.ClientSubmit; sender thread limit exceeded " \
                 "[Hostname=BN0PR04MB1234.namprd04.prod.outlook.com]"

static char *certdir;

typedef struct {
  char        *dir;
  HeraldQueue *queue;
  GPtrArray   *ids;       /* queue ids, in the order added */
  GPtrArray   *mids;      /* their Message-IDs */
} Fixture;

static void
fixture_setup (Fixture       *f,
               gconstpointer  data)
{
  f->dir = g_dir_make_tmp ("herald-flush-smtp-XXXXXX", NULL);
  f->queue = herald_queue_new (f->dir);
  f->ids = g_ptr_array_new_with_free_func (g_free);
  f->mids = g_ptr_array_new_with_free_func (g_free);
}

static void
fixture_teardown (Fixture       *f,
                  gconstpointer  data)
{
  g_autofree char *cmd = g_strdup_printf ("rm -rf '%s'", f->dir);

  g_assert_finalize_object (f->queue);
  g_ptr_array_unref (f->ids);
  g_ptr_array_unref (f->mids);
  g_assert_true (g_spawn_command_line_sync (cmd, NULL, NULL, NULL, NULL));
  g_free (f->dir);
}

static void
add_messages (Fixture *f,
              guint    n)
{
  for (guint i = 0; i < n; i++)
    {
      g_autoptr(HeraldQueueEntry) e = herald_queue_entry_new ();
      g_autoptr(GError) error = NULL;
      char *mid = g_strdup_printf ("alert%u.%u@example.test", f->mids->len, g_random_int ());
      g_autofree char *text = g_strdup_printf ("From: <" FROM ">\r\nTo: <ops@example.test>\r\n"
                                               "Subject: alert\r\nMessage-ID: <%s>\r\n\r\n"
                                               "The disk array is degraded.\r\n", mid);
      g_autoptr(GBytes) data = g_bytes_new (text, strlen (text));
      const char *rcpt[] = { "ops@example.test", NULL };
      char *id;

      e->state = HERALD_QUEUE_STATE_QUEUED;
      e->sender = g_strdup (FROM);
      e->recipients = g_strdupv ((char **) rcpt);
      e->message_id = g_strdup (mid);
      id = herald_queue_add (f->queue, data, e, &error);
      g_assert_no_error (error);
      g_ptr_array_add (f->ids, id);
      g_ptr_array_add (f->mids, mid);
    }
}

static HeraldSmtpConfig *
make_config (guint16 port)
{
  HeraldSmtpConfig *config = herald_smtp_config_new ();

  /* A loopback name: only the greeting can tell Exchange Online. */
  config->host = g_strdup ("localhost");
  config->port = port;
  config->security = HERALD_SECURITY_NONE;
  config->auth = HERALD_AUTH_NONE;
  config->from = g_strdup (FROM);
  config->ca_file = g_build_filename (certdir, "ca.pem", NULL);
  config->helo_name = g_strdup (HELO);
  config->connect_timeout = 5;
  config->reply_timeout = 5;
  return config;
}

static void
line (GString    *s,
      const char *text)
{
  herald_test_script_line (s, "%s", text);
}

static void
prelude (GString    *s,
         const char *greeting,
         const char *caps)
{
  g_auto(GStrv) v = g_strsplit (caps, "|", -1);

  herald_test_script_line (s, "S 220 %s", greeting);
  line (s, "C EHLO " HELO);
  line (s, "S 250-fake.test");
  for (guint i = 0; v[i] != NULL; i++)
    herald_test_script_line (s, "S 250%c%s", v[i + 1] != NULL ? '-' : ' ', v[i]);
}

static HeraldFlushSummary *
flush_with (Fixture    *f,
            GString    *script,
            HeraldFakeServer **server_out)
{
  g_autoptr(HeraldFakeServer) server = herald_test_start_fake_server (script->str, certdir, NULL,
                                                                      FALSE);
  g_autoptr(HeraldSmtpConfig) config = make_config (herald_fake_server_get_port (server));
  g_autoptr(GError) error = NULL;
  HeraldFlushSummary *summary;
  gboolean passed;
  g_autofree char *failure = NULL;

  summary = herald_queue_flush (f->queue, herald_transport_smtp (), config, NULL, NULL, NULL,
                                &error);
  g_assert_no_error (error);
  g_assert_nonnull (summary);
  passed = herald_fake_server_wait (server, 10000);
  failure = herald_fake_server_get_failure (server);
  g_assert_cmpstr (failure, ==, NULL);
  g_assert_true (passed);
  *server_out = g_steal_pointer (&server);
  return summary;
}

/* How many times each Message-ID reached the server(s), in @counts. */
static void
count_message_ids (Fixture          *f,
                   HeraldFakeServer *server,
                   guint            *counts)
{
  g_autoptr(GPtrArray) lines = herald_fake_server_get_received (server);

  for (guint i = 0; i < lines->len; i++)
    {
      const char *l = g_ptr_array_index (lines, i);

      for (guint j = 0; j < f->mids->len; j++)
        {
          g_autofree char *header = g_strdup_printf ("Message-ID: <%s>",
                                                     (char *) g_ptr_array_index (f->mids, j));

          if (strstr (l, header) != NULL)
            counts[j]++;
        }
    }
}

static guint
count_received (HeraldFakeServer *server,
                const char       *prefix)
{
  g_autoptr(GPtrArray) lines = herald_fake_server_get_received (server);
  guint n = 0;

  for (guint i = 0; i < lines->len; i++)
    {
      if (g_str_has_prefix (g_ptr_array_index (lines, i), prefix))
        n++;
    }
  return n;
}

/* The index (in the order added) of the message whose Message-ID the
 * server got in its @nth DATA/BDAT message (0-based), or -1. */
static int
nth_received (Fixture          *f,
              HeraldFakeServer *server,
              guint             nth)
{
  g_autoptr(GPtrArray) lines = herald_fake_server_get_received (server);
  guint seen = 0;

  for (guint i = 0; i < lines->len; i++)
    {
      const char *l = g_ptr_array_index (lines, i);

      for (guint j = 0; j < f->mids->len; j++)
        {
          g_autofree char *header = g_strdup_printf ("Message-ID: <%s>",
                                                     (char *) g_ptr_array_index (f->mids, j));

          if (strstr (l, header) != NULL && seen++ == nth)
            return (int) j;
        }
    }
  return -1;
}

/* Checks the entries that stayed: the throttled one with one attempt and
 * the 432, the others exactly as they were (queued, no attempt, no error,
 * not a possible duplicate). */
static void
assert_left_untouched (Fixture *f,
                       int      throttled,
                       guint   *counts)
{
  for (guint j = 0; j < f->ids->len; j++)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(HeraldQueueEntry) e = herald_queue_get (f->queue, g_ptr_array_index (f->ids, j),
                                                        &error);

      if (counts[j] > 0 && (int) j != throttled)
        {
          /* Delivered: gone. */
          g_assert_null (e);
          g_assert_error (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND);
          continue;
        }
      g_assert_no_error (error);
      g_assert_nonnull (e);
      g_assert_cmpint (e->state, ==, HERALD_QUEUE_STATE_QUEUED);
      g_assert_false (e->maybe_duplicate);
      if ((int) j == throttled)
        {
          g_assert_cmpuint (e->attempts, ==, 1);
          g_assert_nonnull (e->last_error);
          g_assert_cmpint (e->last_error->reply_code, ==, 432);
          g_assert_cmpstr (e->last_error->reply_enhanced, ==, "4.3.2");
        }
      else
        {
          g_assert_cmpuint (e->attempts, ==, 0);
          g_assert_null (e->last_error);
          g_assert_cmpint (e->next_attempt, ==, 0);
        }
    }
}

/* The second run takes everything that is left; afterwards every message
 * reached a server exactly once (the throttled one was refused, not
 * taken, the first time). */
static void
flush_rest_and_check_once (Fixture *f,
                           guint   *counts,
                           int      throttled,
                           guint    expected)
{
  g_autoptr(GString) s = g_string_new (NULL);
  g_autoptr(HeraldFakeServer) server = NULL;
  g_autoptr(HeraldFlushSummary) summary = NULL;
  g_autoptr(GPtrArray) left = NULL;
  g_autoptr(GError) error = NULL;

  prelude (s, "fake.test ESMTP", "PIPELINING|CHUNKING|8BITMIME");
  line (s, "LOOP-UNTIL-QUIT");
  summary = flush_with (f, s, &server);
  g_assert_cmpuint (summary->delivered, ==, expected);
  g_assert_cmpuint (summary->left, ==, 0);
  /* The throttled message was refused the first time (when it got that
   * far: not with a throttled greeting): counted there, and taken now. */
  if (counts[throttled] > 0)
    counts[throttled]--;
  count_message_ids (f, server, counts);
  for (guint j = 0; j < f->mids->len; j++)
    g_assert_cmpuint (counts[j], ==, 1);
  left = herald_queue_list (f->queue, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (left->len, ==, 0);
}

/* PIPELINING without CHUNKING (DATA: one transaction at a time): the 432
 * to the third message's data, and the client says QUIT next, not MAIL for
 * the fourth. */
static void
test_throttle_data (Fixture       *f,
                    gconstpointer  data)
{
  g_autoptr(GString) s = g_string_new (NULL);
  g_autoptr(HeraldFakeServer) server = NULL;
  g_autoptr(HeraldFlushSummary) summary = NULL;
  guint counts[6] = { 0, };
  int throttled;

  add_messages (f, 6);
  prelude (s, "fake.test ESMTP", "PIPELINING|8BITMIME");
  for (guint i = 0; i < 3; i++)
    {
      line (s, "C MAIL FROM:<" FROM ">.*");
      line (s, "C RCPT TO:<ops@example.test>");
      line (s, "C DATA");
      line (s, "S 250 2.1.0 Sender OK");
      line (s, "S 250 2.1.5 Recipient OK");
      line (s, "S 354 go ahead");
      line (s, "DATA");
      if (i < 2)
        herald_test_script_line (s, "S 250 2.0.0 Ok: queued as Q%u", i);
      else
        line (s, "S " THROTTLE);
    }
  /* Nothing more is tried: not the fourth message's MAIL. */
  line (s, "C QUIT");
  line (s, "S 221 2.0.0 Bye");

  summary = flush_with (f, s, &server);
  g_assert_cmpuint (summary->delivered, ==, 2);
  g_assert_cmpuint (summary->deferred, ==, 1);
  g_assert_cmpuint (summary->held, ==, 0);
  g_assert_cmpuint (summary->failed, ==, 0);
  g_assert_cmpuint (summary->left, ==, 3);
  g_assert_cmpuint (summary->items->len, ==, 3);
  g_assert_cmpuint (count_received (server, "MAIL FROM"), ==, 3);

  count_message_ids (f, server, counts);
  throttled = nth_received (f, server, 2);
  g_assert_cmpint (throttled, >=, 0);
  assert_left_untouched (f, throttled, counts);
  flush_rest_and_check_once (f, counts, throttled, 4);
}

/* PIPELINING and CHUNKING: all six transactions are in flight (BDAT LAST
 * sent, each marked sending) before the 432 comes back for the third;
 * the three behind it get the same answer. They are put back as they
 * were: queued, no attempt, not a possible duplicate. */
static void
test_throttle_chunking (Fixture       *f,
                        gconstpointer  data)
{
  g_autoptr(GString) s = g_string_new (NULL);
  g_autoptr(HeraldFakeServer) server = NULL;
  g_autoptr(HeraldFlushSummary) summary = NULL;
  guint counts[6] = { 0, };
  int throttled;

  add_messages (f, 6);
  prelude (s, "fake.test ESMTP", "PIPELINING|CHUNKING|8BITMIME");
  for (guint i = 0; i < 6; i++)
    {
      line (s, "C MAIL FROM:<" FROM ">.*");
      line (s, "C RCPT TO:<ops@example.test>");
      line (s, "C BDAT \\d+ LAST");
      line (s, "BDAT");
    }
  line (s, "C QUIT");
  for (guint i = 0; i < 6; i++)
    {
      line (s, "S 250 2.1.0 Sender OK");
      line (s, "S 250 2.1.5 Recipient OK");
      if (i < 2)
        herald_test_script_line (s, "S 250 2.0.0 Ok: queued as Q%u", i);
      else
        line (s, "S " THROTTLE);
    }
  line (s, "S 221 2.0.0 Bye");

  summary = flush_with (f, s, &server);
  g_assert_cmpuint (summary->delivered, ==, 2);
  g_assert_cmpuint (summary->deferred, ==, 1);
  g_assert_cmpuint (summary->left, ==, 3);
  g_assert_cmpuint (summary->items->len, ==, 3);

  /* Each of the six reached the server once; three of them were refused. */
  count_message_ids (f, server, counts);
  throttled = nth_received (f, server, 2);
  g_assert_cmpint (throttled, >=, 0);
  for (guint n = 3; n < 6; n++)
    counts[nth_received (f, server, n)] = 0;
  assert_left_untouched (f, throttled, counts);
  flush_rest_and_check_once (f, counts, throttled, 4);
}

/* The throttle as the greeting, before any message: the first message
 * records it (one attempt, the 432), the others stay untouched. */
static void
test_throttle_greeting (Fixture       *f,
                        gconstpointer  data)
{
  g_autoptr(GString) s = g_string_new (NULL);
  g_autoptr(HeraldFakeServer) server = NULL;
  g_autoptr(HeraldFlushSummary) summary = NULL;
  guint counts[4] = { 0, };

  add_messages (f, 4);
  line (s, "S 432 4.3.2 Concurrent connections limit exceeded. Visit "
        "https://aka.ms/concurrent_sending for more information. "
        "[Hostname=BN0PR04MB1234.namprd04.prod.outlook.com]");
  line (s, "CLOSE");
  summary = flush_with (f, s, &server);
  g_assert_cmpuint (summary->delivered, ==, 0);
  g_assert_cmpuint (summary->deferred, ==, 1);
  g_assert_cmpuint (summary->left, ==, 3);
  g_assert_cmpuint (summary->items->len, ==, 1);
  /* The first in the queue's order is the one that records the refusal. */
  assert_left_untouched (f, 0, counts);
  flush_rest_and_check_once (f, counts, 0, 4);
}

/* Exchange Online known by its greeting alone (the host is "localhost"):
 * 30 of 35 go, the other 5 stay queued, untouched; a server with another
 * greeting gets all 35. */
static void
run_greeting (Fixture    *f,
              const char *greeting,
              guint       expected)
{
  g_autoptr(GString) s = g_string_new (NULL);
  g_autoptr(HeraldFakeServer) server = NULL;
  g_autoptr(HeraldFlushSummary) summary = NULL;
  g_autoptr(GPtrArray) left = NULL;
  g_autoptr(GError) error = NULL;

  add_messages (f, 35);
  prelude (s, greeting, "PIPELINING|CHUNKING|8BITMIME|SIZE 157286400");
  line (s, "LOOP-UNTIL-QUIT");
  summary = flush_with (f, s, &server);
  g_assert_cmpuint (summary->delivered, ==, expected);
  g_assert_cmpuint (summary->deferred, ==, 0);
  g_assert_cmpuint (summary->left, ==, 35 - expected);
  g_assert_cmpuint (count_received (server, "MAIL FROM"), ==, expected);

  left = herald_queue_list (f->queue, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (left->len, ==, 35 - expected);
  for (guint i = 0; i < left->len; i++)
    {
      HeraldQueueEntry *e = g_ptr_array_index (left, i);

      g_assert_cmpint (e->state, ==, HERALD_QUEUE_STATE_QUEUED);
      g_assert_cmpuint (e->attempts, ==, 0);
      g_assert_null (e->last_error);
    }
}

static void
test_exchange_greeting (Fixture       *f,
                        gconstpointer  data)
{
  run_greeting (f, "BN0PR04CA0123.outlook.office365.com Microsoft ESMTP MAIL Service ready at "
                "Mon, 7 Dec 2026 15:00:00 +0000", HERALD_EXCHANGE_ONLINE_BATCH);
}

static void
test_exchange_greeting_prod (Fixture       *f,
                             gconstpointer  data)
{
  run_greeting (f, "SN6PR04MB1234.namprd04.prod.outlook.com Microsoft ESMTP MAIL Service ready",
                HERALD_EXCHANGE_ONLINE_BATCH);
}

static void
test_other_greeting (Fixture       *f,
                     gconstpointer  data)
{
  /* On-premises Exchange says the same words under its own name. */
  run_greeting (f, "mail.contoso.local Microsoft ESMTP MAIL Service ready", 35);
}

static void
test_greeting_names (void)
{
  g_assert_true (herald_greeting_is_exchange_online ("BN0PR04CA0123.outlook.office365.com "
                                                     "Microsoft ESMTP MAIL Service ready"));
  g_assert_true (herald_greeting_is_exchange_online ("AM0PR01MB1234.eurprd01.prod.outlook.com"));
  g_assert_true (herald_greeting_is_exchange_online ("contoso-com.mail.protection.outlook.com "
                                                     "Microsoft ESMTP MAIL Service ready"));
  g_assert_false (herald_greeting_is_exchange_online ("mail.contoso.com Microsoft ESMTP MAIL "
                                                      "Service ready"));
  g_assert_false (herald_greeting_is_exchange_online ("evil.example outlook.com"));
  g_assert_false (herald_greeting_is_exchange_online ("notoutlook.com ESMTP"));
  g_assert_false (herald_greeting_is_exchange_online (NULL));
  g_assert_true (herald_host_is_exchange_online ("smtp.office365.com"));
  g_assert_false (herald_host_is_exchange_online ("localhost"));
}

int
main (int    argc,
      char **argv)
{
  int status;

  g_test_init (&argc, &argv, NULL);
  certdir = herald_test_make_certs ("flush-smtp/certs");

  g_test_add ("/herald/delivery/flush-smtp/throttle-data", Fixture, NULL, fixture_setup,
              test_throttle_data, fixture_teardown);
  g_test_add ("/herald/delivery/flush-smtp/throttle-chunking", Fixture, NULL, fixture_setup,
              test_throttle_chunking, fixture_teardown);
  g_test_add ("/herald/delivery/flush-smtp/throttle-greeting", Fixture, NULL, fixture_setup,
              test_throttle_greeting, fixture_teardown);
  g_test_add ("/herald/delivery/flush-smtp/exchange-greeting", Fixture, NULL, fixture_setup,
              test_exchange_greeting, fixture_teardown);
  g_test_add ("/herald/delivery/flush-smtp/exchange-greeting-prod", Fixture, NULL, fixture_setup,
              test_exchange_greeting_prod, fixture_teardown);
  g_test_add ("/herald/delivery/flush-smtp/other-greeting", Fixture, NULL, fixture_setup,
              test_other_greeting, fixture_teardown);
  g_test_add_func ("/herald/delivery/flush-smtp/greeting-names", test_greeting_names);

  status = g_test_run ();
  g_free (certdir);
  return status;
}
