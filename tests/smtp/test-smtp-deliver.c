/* SPDX-License-Identifier: GPL-3.0-or-later
 * Copyright 2026 The Herald authors
 */
#define G_LOG_DOMAIN "herald-test-smtp"

/* herald_smtp_deliver() against the scripted fake SMTP server: several
 * messages over one connection, pipelined, BDAT or DATA; one refused
 * recipient among others; a refused message followed by a good one (RSET
 * only where the transaction needs it); a connection dropped mid-batch; the
 * before-last-byte callback's order; 8-bit messages; the transcript. The
 * same against the real Postfix is in test-smtp-postfix-deliver.c. */

#include <signal.h>
#include <string.h>

#include "herald-smtp.h"
#include "herald-test-util.h"

#define FROM "alerts@example.test"
#define HELO "client.test"

static char *certdir;

/* ---- helpers ----------------------------------------------------------------- */

static GBytes *
make_data (const char *subject,
           const char *body)
{
  g_autofree char *text = g_strdup_printf ("From: <" FROM ">\r\nTo: <ops@example.test>\r\n"
                                           "Subject: %s\r\nMessage-ID: <%s@example.test>\r\n"
                                           "\r\n%s\r\n",
                                           subject, subject, body);

  return g_bytes_new (text, strlen (text));
}

static HeraldSmtpMessage *
make_message (const char *subject,
              const char *recipients)
{
  g_auto(GStrv) rcpts = g_strsplit (recipients, " ", -1);
  g_autoptr(GBytes) data = make_data (subject, "The disk array is degraded.\r\n.leading dot");

  return herald_smtp_message_new (FROM, (const char * const *) rcpts, data);
}

static HeraldSmtpConfig *
make_config (guint16        port,
             HeraldSecurity security)
{
  HeraldSmtpConfig *config = herald_smtp_config_new ();

  config->host = g_strdup ("localhost");
  config->port = port;
  config->security = security;
  config->auth = HERALD_AUTH_NONE;
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
         const char *caps)
{
  g_auto(GStrv) v = g_strsplit (caps, "|", -1);

  line (s, "S 220 fake.test ESMTP");
  line (s, "C EHLO " HELO);
  line (s, "S 250-fake.test");
  for (guint i = 0; v[i] != NULL; i++)
    herald_test_script_line (s, "S 250%c%s", v[i + 1] != NULL ? '-' : ' ', v[i]);
}

static HeraldFakeServer *
start (GString *script,
       guint16 *port)
{
  HeraldFakeServer *server = herald_test_start_fake_server (script->str, certdir, NULL, FALSE);

  *port = herald_fake_server_get_port (server);
  return server;
}

static void
assert_server_passed (HeraldFakeServer *server)
{
  gboolean passed = herald_fake_server_wait (server, 10000);
  g_autofree char *failure = herald_fake_server_get_failure (server);

  g_assert_cmpstr (failure, ==, NULL);
  g_assert_true (passed);
}

static HeraldDelivery *
delivery (HeraldSmtpResult *result,
          guint             index)
{
  g_assert_nonnull (result->deliveries);
  g_assert_cmpuint (index, <, result->deliveries->len);
  return g_ptr_array_index (result->deliveries, index);
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

/* Records the callbacks, in order: "before:N" and "done:N:outcome". When
 * given the server, checks at "before" that the message's data has not
 * reached it yet (the callback comes before its last byte). */
typedef struct {
  GPtrArray        *events;
  HeraldFakeServer *server;
  GPtrArray        *messages;
} Events;

static void
before_last_byte_cb (guint                    index,
                     const HeraldSmtpMessage *message,
                     gpointer                 user_data)
{
  Events *events = user_data;

  g_assert_true (message == g_ptr_array_index (events->messages, index));
  if (events->server != NULL)
    {
      g_autofree char *subject = g_strdup_printf ("Subject: m%u", index);

      g_assert_false (herald_fake_server_received_matches (events->server, subject));
    }
  g_ptr_array_add (events->events, g_strdup_printf ("before:%u", index));
}

static void
delivered_cb (guint                 index,
              const HeraldDelivery *delivery,
              gpointer              user_data)
{
  Events *events = user_data;

  g_ptr_array_add (events->events,
                   g_strdup_printf ("done:%u:%s", index,
                                    herald_delivery_outcome_to_string (delivery->outcome)));
}

static char *
join_events (Events *events)
{
  g_ptr_array_add (events->events, NULL);
  return g_strjoinv (" ", (char **) events->events->pdata);
}

static gint
event_position (Events     *events,
                const char *event)
{
  for (guint i = 0; i < events->events->len; i++)
    {
      if (g_strcmp0 (g_ptr_array_index (events->events, i), event) == 0)
        return i;
    }
  return -1;
}

static GPtrArray *
messages_new (void)
{
  return g_ptr_array_new_with_free_func ((GDestroyNotify) herald_smtp_message_free);
}

/* ---- tests -------------------------------------------------------------------- */

/* Three messages, one connection, PIPELINING + CHUNKING: each message one
 * flight (MAIL, RCPT, BDAT LAST), all three sent before the first reply
 * comes back, QUIT with the last; no RSET. */
static void
test_batch_chunking (void)
{
  g_autoptr(GString) s = g_string_new (NULL);
  g_autoptr(HeraldFakeServer) server = NULL;
  g_autoptr(HeraldSmtpConfig) config = NULL;
  g_autoptr(HeraldSmtpResult) result = NULL;
  g_autoptr(GPtrArray) messages = messages_new ();
  g_autoptr(GPtrArray) events_list = g_ptr_array_new_with_free_func (g_free);
  Events events = { events_list, NULL, messages };
  HeraldDeliveryCallbacks callbacks = { NULL, before_last_byte_cb, delivered_cb, &events };
  guint16 port;

  prelude (s, "PIPELINING|CHUNKING|8BITMIME|SIZE 1000000");
  /* Every command of the three transactions arrives before any reply. */
  for (guint i = 0; i < 3; i++)
    {
      herald_test_script_line (s, "C MAIL FROM:<" FROM "> SIZE=\\d+");
      line (s, "C RCPT TO:<ops@example.test>");
      line (s, "C BDAT \\d+ LAST");
      line (s, "BDAT");
    }
  line (s, "C QUIT");
  for (guint i = 0; i < 3; i++)
    {
      line (s, "S 250 2.1.0 Sender OK");
      line (s, "S 250 2.1.5 Recipient OK");
      herald_test_script_line (s, "S 250 2.0.0 Ok: queued as Q%u", i);
    }
  line (s, "S 221 2.0.0 Bye");

  for (guint i = 0; i < 3; i++)
    {
      g_autofree char *subject = g_strdup_printf ("m%u", i);

      g_ptr_array_add (messages, make_message (subject, "ops@example.test"));
    }

  server = start (s, &port);
  events.server = server;
  config = make_config (port, HERALD_SECURITY_NONE);
  result = herald_smtp_deliver (config, messages, &callbacks, NULL);

  g_assert_no_error (result->error);
  g_assert_true (result->ok);
  assert_server_passed (server);
  g_assert_cmpuint (herald_fake_server_get_n_accepted (server), ==, 1);
  g_assert_cmpuint (count_received (server, "RSET"), ==, 0);

  for (guint i = 0; i < 3; i++)
    {
      HeraldDelivery *d = delivery (result, i);
      g_autofree char *queued = g_strdup_printf ("2.0.0 Ok: queued as Q%u", i);
      g_autofree char *before = g_strdup_printf ("before:%u", i);
      g_autofree char *done = g_strdup_printf ("done:%u:delivered", i);

      g_assert_cmpint (d->outcome, ==, HERALD_DELIVERY_DELIVERED);
      g_assert_cmpint (d->stage, ==, HERALD_STAGE_DONE);
      g_assert_no_error (d->error);
      g_assert_nonnull (d->reply);
      g_assert_cmpint (d->reply->code, ==, 250);
      g_assert_cmpstr (d->reply->text, ==, queued);
      g_assert_cmpuint (d->recipient_replies->len, ==, 1);
      g_assert_cmpint (((HeraldSmtpReply *) g_ptr_array_index (d->recipient_replies, 0))->code,
                       ==, 250);
      g_assert_true (d->attempted);
      g_assert_true (d->data_sent);
      /* The callback before the last byte, then the verdict. */
      g_assert_cmpint (event_position (&events, before), >=, 0);
      g_assert_cmpint (event_position (&events, before), <, event_position (&events, done));
    }
  /* Pipelined across messages: every message was written before the first
   * verdict was read. */
  g_assert_cmpint (event_position (&events, "before:2"), <, event_position (&events, "done:0:delivered"));

  /* The transcript shows the data as its size, never the body. */
  for (guint i = 0; i < result->transcript->len; i++)
    {
      HeraldTranscriptEntry *entry = g_ptr_array_index (result->transcript, i);

      g_assert_null (strstr (entry->text, "degraded"));
    }
}

/* No PIPELINING, no CHUNKING: one command at a time, DATA with
 * dot-stuffing, the verdict read before the next message starts. */
static void
test_batch_serial_data (void)
{
  g_autoptr(GString) s = g_string_new (NULL);
  g_autoptr(HeraldFakeServer) server = NULL;
  g_autoptr(HeraldSmtpConfig) config = NULL;
  g_autoptr(HeraldSmtpResult) result = NULL;
  g_autoptr(GPtrArray) messages = messages_new ();
  g_autoptr(GPtrArray) events_list = g_ptr_array_new_with_free_func (g_free);
  Events events = { events_list, NULL, messages };
  HeraldDeliveryCallbacks callbacks = { NULL, before_last_byte_cb, delivered_cb, &events };
  g_autoptr(GBytes) last = NULL;
  g_autofree char *order = NULL;
  guint16 port;

  prelude (s, "8BITMIME");
  for (guint i = 0; i < 2; i++)
    {
      line (s, "C MAIL FROM:<" FROM ">");
      line (s, "QUIET 100");
      line (s, "S 250 2.1.0 OK");
      line (s, "C RCPT TO:<ops@example.test>");
      line (s, "S 250 2.1.5 OK");
      line (s, "C RCPT TO:<dba@example.test>");
      line (s, "S 250 2.1.5 OK");
      line (s, "C DATA");
      line (s, "S 354 go ahead");
      line (s, "DATA");
      herald_test_script_line (s, "S 250 2.0.0 queued %u", i);
    }
  line (s, "C QUIT");
  line (s, "S 221 bye");

  g_ptr_array_add (messages, make_message ("m0", "ops@example.test dba@example.test"));
  g_ptr_array_add (messages, make_message ("m1", "ops@example.test dba@example.test"));

  server = start (s, &port);
  events.server = server;
  config = make_config (port, HERALD_SECURITY_NONE);
  result = herald_smtp_deliver (config, messages, &callbacks, NULL);

  g_assert_no_error (result->error);
  g_assert_true (result->ok);
  assert_server_passed (server);
  order = join_events (&events);
  g_assert_cmpstr (order, ==, "before:0 done:0:delivered before:1 done:1:delivered");

  /* Dot-stuffed on the wire, as DATA needs. */
  last = herald_fake_server_get_message (server);
  g_assert_nonnull (last);
  g_assert_nonnull (g_strstr_len (g_bytes_get_data (last, NULL), g_bytes_get_size (last),
                                  "\r\n..leading dot"));
}

/* One refused recipient among others: the message goes to the others, and
 * the refused one's reply is there to report. */
static void
test_one_recipient_refused (void)
{
  g_autoptr(GString) s = g_string_new (NULL);
  g_autoptr(HeraldFakeServer) server = NULL;
  g_autoptr(HeraldSmtpConfig) config = NULL;
  g_autoptr(HeraldSmtpResult) result = NULL;
  g_autoptr(GPtrArray) messages = messages_new ();
  HeraldDelivery *d;
  HeraldSmtpReply *r;
  guint16 port;

  prelude (s, "PIPELINING|CHUNKING");
  line (s, "C MAIL FROM:<" FROM ">");
  line (s, "C RCPT TO:<a@example.test>");
  line (s, "C RCPT TO:<gone@example.test>");
  line (s, "C RCPT TO:<c@example.test>");
  line (s, "C BDAT \\d+ LAST");
  line (s, "BDAT");
  line (s, "C QUIT");
  line (s, "S 250 2.1.0 OK");
  line (s, "S 250 2.1.5 OK");
  line (s, "S 550 5.1.1 <gone@example.test>: Recipient address rejected: User unknown");
  line (s, "S 250 2.1.5 OK");
  line (s, "S 250 2.0.0 queued");
  line (s, "S 221 bye");

  g_ptr_array_add (messages, make_message ("m0", "a@example.test gone@example.test c@example.test"));

  server = start (s, &port);
  config = make_config (port, HERALD_SECURITY_NONE);
  result = herald_smtp_deliver (config, messages, NULL, NULL);

  g_assert_true (result->ok);
  assert_server_passed (server);
  d = delivery (result, 0);
  g_assert_cmpint (d->outcome, ==, HERALD_DELIVERY_DELIVERED);
  g_assert_cmpuint (d->recipient_replies->len, ==, 3);
  r = g_ptr_array_index (d->recipient_replies, 1);
  g_assert_cmpint (r->code, ==, 550);
  g_assert_cmpstr (r->enhanced, ==, "5.1.1");
  g_assert_cmpint (((HeraldSmtpReply *) g_ptr_array_index (d->recipient_replies, 0))->code, ==, 250);
  g_assert_cmpint (((HeraldSmtpReply *) g_ptr_array_index (d->recipient_replies, 2))->code, ==, 250);
}

/* Refused messages followed by good ones. With BDAT: every recipient
 * refused, then content refused, then a good one, all pipelined (BDAT LAST
 * ends each transaction: no RSET). */
static void
test_refused_then_good_chunking (void)
{
  g_autoptr(GString) s = g_string_new (NULL);
  g_autoptr(HeraldFakeServer) server = NULL;
  g_autoptr(HeraldSmtpConfig) config = NULL;
  g_autoptr(HeraldSmtpResult) result = NULL;
  g_autoptr(GPtrArray) messages = messages_new ();
  g_autoptr(GPtrArray) events_list = g_ptr_array_new_with_free_func (g_free);
  Events events = { events_list, NULL, messages };
  HeraldDeliveryCallbacks callbacks = { NULL, before_last_byte_cb, delivered_cb, &events };
  g_autofree char *order = NULL;
  guint16 port;

  prelude (s, "PIPELINING|CHUNKING");
  for (guint i = 0; i < 3; i++)
    {
      line (s, "C MAIL FROM:<" FROM ">");
      line (s, "C RCPT TO:<.*>");
      line (s, "C BDAT \\d+ LAST");
      line (s, "BDAT");
    }
  line (s, "C QUIT");
  /* m0: every recipient refused. */
  line (s, "S 250 2.1.0 OK");
  line (s, "S 550 5.7.1 Relay access denied");
  line (s, "S 554 5.5.1 Error: no valid recipients");
  /* m1: the content refused. */
  line (s, "S 250 2.1.0 OK");
  line (s, "S 250 2.1.5 OK");
  line (s, "S 554 5.6.0 Message content rejected");
  /* m2: fine. */
  line (s, "S 250 2.1.0 OK");
  line (s, "S 250 2.1.5 OK");
  line (s, "S 250 2.0.0 queued");
  line (s, "S 221 bye");

  g_ptr_array_add (messages, make_message ("m0", "stranger@elsewhere.test"));
  g_ptr_array_add (messages, make_message ("m1", "ops@example.test"));
  g_ptr_array_add (messages, make_message ("m2", "ops@example.test"));

  server = start (s, &port);
  config = make_config (port, HERALD_SECURITY_NONE);
  result = herald_smtp_deliver (config, messages, &callbacks, NULL);

  assert_server_passed (server);
  g_assert_cmpuint (count_received (server, "RSET"), ==, 0);

  g_assert_cmpint (delivery (result, 0)->outcome, ==, HERALD_DELIVERY_RECIPIENTS_REFUSED);
  g_assert_cmpint (delivery (result, 0)->stage, ==, HERALD_STAGE_RCPT);
  g_assert_cmpint (delivery (result, 0)->reply->code, ==, 550);
  g_assert_error (delivery (result, 0)->error, HERALD_SMTP_ERROR, HERALD_SMTP_ERROR_REJECTED);
  g_assert_cmpint (delivery (result, 1)->outcome, ==, HERALD_DELIVERY_CONTENT_REFUSED);
  g_assert_cmpint (delivery (result, 1)->stage, ==, HERALD_STAGE_DATA);
  g_assert_cmpstr (delivery (result, 1)->reply->enhanced, ==, "5.6.0");
  g_assert_cmpint (delivery (result, 2)->outcome, ==, HERALD_DELIVERY_DELIVERED);

  /* Not every message went: the run is not ok, and the first failure
   * speaks for it. */
  g_assert_false (result->ok);
  g_assert_cmpint (result->stage, ==, HERALD_STAGE_RCPT);
  g_assert_error (result->error, HERALD_SMTP_ERROR, HERALD_SMTP_ERROR_REJECTED);
  g_assert_cmpint (result->reply->code, ==, 550);

  order = join_events (&events);
  g_assert_cmpstr (order, ==, "before:0 before:1 before:2 done:0:recipients-refused "
                              "done:1:content-refused done:2:delivered");
}

/* With DATA: a refused envelope leaves the sender set on the server, so
 * RSET goes before the next message; a 4xx is temporary. */
static void
test_refused_then_good_data (void)
{
  g_autoptr(GString) s = g_string_new (NULL);
  g_autoptr(HeraldFakeServer) server = NULL;
  g_autoptr(HeraldSmtpConfig) config = NULL;
  g_autoptr(HeraldSmtpResult) result = NULL;
  g_autoptr(GPtrArray) messages = messages_new ();
  guint16 port;

  prelude (s, "PIPELINING");
  line (s, "C MAIL FROM:<" FROM ">");
  line (s, "C RCPT TO:<stranger@elsewhere.test>");
  line (s, "C DATA");
  line (s, "S 250 2.1.0 OK");
  line (s, "S 450 4.2.0 <stranger@elsewhere.test>: Recipient address rejected: Greylisted");
  line (s, "S 554 5.5.1 Error: no valid recipients");
  /* The next transaction starts with RSET, in the same flight. */
  line (s, "C RSET");
  line (s, "C MAIL FROM:<" FROM ">");
  line (s, "C RCPT TO:<ops@example.test>");
  line (s, "C DATA");
  line (s, "S 250 2.0.0 reset");
  line (s, "S 250 2.1.0 OK");
  line (s, "S 250 2.1.5 OK");
  line (s, "S 354 go ahead");
  line (s, "DATA");
  line (s, "C QUIT");
  line (s, "S 250 2.0.0 queued");
  line (s, "S 221 bye");

  g_ptr_array_add (messages, make_message ("m0", "stranger@elsewhere.test"));
  g_ptr_array_add (messages, make_message ("m1", "ops@example.test"));

  server = start (s, &port);
  config = make_config (port, HERALD_SECURITY_NONE);
  result = herald_smtp_deliver (config, messages, NULL, NULL);

  assert_server_passed (server);
  g_assert_cmpuint (count_received (server, "RSET"), ==, 1);
  g_assert_cmpint (delivery (result, 0)->outcome, ==, HERALD_DELIVERY_TEMPORARY);
  g_assert_false (delivery (result, 0)->data_sent);
  g_assert_cmpint (delivery (result, 0)->reply->code, ==, 450);
  g_assert_cmpint (delivery (result, 1)->outcome, ==, HERALD_DELIVERY_DELIVERED);
  g_assert_true (delivery (result, 1)->data_sent);
}

/* The connection breaks mid-batch (DATA): the first message is delivered,
 * the second lost its connection after its data went out (it may have been
 * delivered), the third was never attempted. */
static void
test_connection_dropped (void)
{
  g_autoptr(GString) s = g_string_new (NULL);
  g_autoptr(HeraldFakeServer) server = NULL;
  g_autoptr(HeraldSmtpConfig) config = NULL;
  g_autoptr(HeraldSmtpResult) result = NULL;
  g_autoptr(GPtrArray) messages = messages_new ();
  HeraldDelivery *d;
  guint16 port;

  prelude (s, "PIPELINING");
  line (s, "C MAIL FROM:<" FROM ">");
  line (s, "C RCPT TO:<ops@example.test>");
  line (s, "C DATA");
  line (s, "S 250 2.1.0 OK");
  line (s, "S 250 2.1.5 OK");
  line (s, "S 354 go ahead");
  line (s, "DATA");
  line (s, "S 250 2.0.0 queued");
  line (s, "C MAIL FROM:<" FROM ">");
  line (s, "C RCPT TO:<ops@example.test>");
  line (s, "C DATA");
  line (s, "S 250 2.1.0 OK");
  line (s, "S 250 2.1.5 OK");
  line (s, "S 354 go ahead");
  line (s, "DATA");
  line (s, "CLOSE");

  for (guint i = 0; i < 3; i++)
    {
      g_autofree char *subject = g_strdup_printf ("m%u", i);

      g_ptr_array_add (messages, make_message (subject, "ops@example.test"));
    }

  server = start (s, &port);
  config = make_config (port, HERALD_SECURITY_NONE);
  result = herald_smtp_deliver (config, messages, NULL, NULL);
  herald_fake_server_wait (server, 5000);

  g_assert_false (result->ok);
  g_assert_cmpint (delivery (result, 0)->outcome, ==, HERALD_DELIVERY_DELIVERED);

  d = delivery (result, 1);
  g_assert_cmpint (d->outcome, ==, HERALD_DELIVERY_TEMPORARY);
  g_assert_true (d->attempted);
  g_assert_true (d->data_sent);
  g_assert_error (d->error, HERALD_SMTP_ERROR, HERALD_SMTP_ERROR_CLOSED);
  g_assert_null (d->reply);

  d = delivery (result, 2);
  g_assert_cmpint (d->outcome, ==, HERALD_DELIVERY_TEMPORARY);
  g_assert_false (d->attempted);
  g_assert_false (d->data_sent);
  g_assert_error (d->error, HERALD_SMTP_ERROR, HERALD_SMTP_ERROR_NOT_ATTEMPTED);

  /* The run failed with the connection. */
  g_assert_error (result->error, HERALD_SMTP_ERROR, HERALD_SMTP_ERROR_CLOSED);
}

/* A failed login: nothing is attempted, every message is temporary with
 * the session's error; the run's error is the login's. */
static void
test_session_failure (void)
{
  g_autoptr(GString) s = g_string_new (NULL);
  g_autoptr(HeraldFakeServer) server = NULL;
  g_autoptr(HeraldSmtpConfig) config = NULL;
  g_autoptr(HeraldSmtpResult) result = NULL;
  g_autoptr(GPtrArray) messages = messages_new ();
  guint16 port;

  line (s, "S 421 4.3.2 Service not available, closing channel");

  g_ptr_array_add (messages, make_message ("m0", "ops@example.test"));
  g_ptr_array_add (messages, make_message ("m1", "ops@example.test"));

  server = start (s, &port);
  config = make_config (port, HERALD_SECURITY_NONE);
  result = herald_smtp_deliver (config, messages, NULL, NULL);

  g_assert_false (result->ok);
  g_assert_cmpint (result->stage, ==, HERALD_STAGE_GREETING);
  g_assert_error (result->error, HERALD_SMTP_ERROR, HERALD_SMTP_ERROR_REJECTED);
  for (guint i = 0; i < 2; i++)
    {
      HeraldDelivery *d = delivery (result, i);

      g_assert_cmpint (d->outcome, ==, HERALD_DELIVERY_TEMPORARY);
      g_assert_false (d->attempted);
      g_assert_error (d->error, HERALD_SMTP_ERROR, HERALD_SMTP_ERROR_NOT_ATTEMPTED);
    }
}

/* 8-bit data: BODY=8BITMIME when offered; else the message is not sent
 * (the caller re-encodes it) and the others still go. */
static void
test_8bit (void)
{
  g_autoptr(GString) with = g_string_new (NULL);
  g_autoptr(GString) without = g_string_new (NULL);
  g_autoptr(HeraldFakeServer) server = NULL;
  g_autoptr(HeraldSmtpConfig) config = NULL;
  g_autoptr(HeraldSmtpResult) result = NULL;
  g_autoptr(GPtrArray) messages = messages_new ();
  g_autoptr(GBytes) eight = make_data ("m0", "Prüfung fehlgeschlagen");
  const char *rcpts[] = { "ops@example.test", NULL };
  guint16 port;

  g_ptr_array_add (messages, herald_smtp_message_new (FROM, rcpts, eight));
  g_ptr_array_add (messages, make_message ("m1", "ops@example.test"));

  prelude (with, "PIPELINING|CHUNKING|8BITMIME");
  line (with, "LOOP-UNTIL-QUIT");

  server = start (with, &port);
  config = make_config (port, HERALD_SECURITY_NONE);
  result = herald_smtp_deliver (config, messages, NULL, NULL);
  g_assert_true (result->ok);
  assert_server_passed (server);
  g_assert_true (herald_fake_server_received_matches (server, "MAIL FROM:<" FROM "> BODY=8BITMIME"));
  g_assert_true (herald_fake_server_received_matches (server, "MAIL FROM:<" FROM ">"));
  g_clear_pointer (&result, herald_smtp_result_free);
  g_clear_pointer (&server, herald_fake_server_free);
  g_clear_pointer (&config, herald_smtp_config_free);

  prelude (without, "PIPELINING|CHUNKING");
  line (without, "LOOP-UNTIL-QUIT");

  server = start (without, &port);
  config = make_config (port, HERALD_SECURITY_NONE);
  result = herald_smtp_deliver (config, messages, NULL, NULL);
  assert_server_passed (server);
  g_assert_false (result->ok);
  g_assert_cmpint (delivery (result, 0)->outcome, ==, HERALD_DELIVERY_TEMPORARY);
  g_assert_false (delivery (result, 0)->attempted);
  g_assert_error (delivery (result, 0)->error, HERALD_SMTP_ERROR,
                  HERALD_SMTP_ERROR_8BIT_NOT_OFFERED);
  g_assert_cmpint (delivery (result, 1)->outcome, ==, HERALD_DELIVERY_DELIVERED);
  g_assert_false (herald_fake_server_received_matches (server, ".*Prüfung.*"));
  g_assert_cmpuint (count_received (server, "MAIL FROM"), ==, 1);
}

/* The async wrapper: progress on the caller's context, the message
 * callbacks on the worker thread, the result last. */
typedef struct {
  GThread *main_thread;
  guint    n_progress;
  guint    n_before;
  guint    n_done;
  gboolean destroyed;
} AsyncState;

static void
async_progress_cb (const HeraldProgress *progress,
                   gpointer              user_data)
{
  AsyncState *state = user_data;

  g_assert_true (g_thread_self () == state->main_thread);
  state->n_progress++;
}

static void
async_before_cb (guint                    index,
                 const HeraldSmtpMessage *message,
                 gpointer                 user_data)
{
  AsyncState *state = user_data;

  g_assert_true (g_thread_self () != state->main_thread);
  g_atomic_int_inc (&state->n_before);
}

static void
async_done_cb (guint                 index,
               const HeraldDelivery *delivery,
               gpointer              user_data)
{
  AsyncState *state = user_data;

  g_assert_true (g_thread_self () != state->main_thread);
  g_atomic_int_inc (&state->n_done);
}

static void
async_destroy_cb (gpointer user_data)
{
  AsyncState *state = user_data;

  g_assert_true (g_thread_self () == state->main_thread);
  state->destroyed = TRUE;
}

static void
test_async (void)
{
  g_autoptr(GString) s = g_string_new (NULL);
  g_autoptr(HeraldFakeServer) server = NULL;
  g_autoptr(HeraldSmtpConfig) config = NULL;
  g_autoptr(HeraldSmtpResult) result = NULL;
  g_autoptr(GPtrArray) messages = messages_new ();
  g_autoptr(GAsyncResult) async_result = NULL;
  g_autoptr(GError) error = NULL;
  AsyncState state = { g_thread_self (), 0, 0, 0, FALSE };
  HeraldDeliveryCallbacks callbacks = { async_progress_cb, async_before_cb, async_done_cb, &state };
  guint16 port;

  prelude (s, "PIPELINING|CHUNKING");
  line (s, "LOOP-UNTIL-QUIT");
  g_ptr_array_add (messages, make_message ("m0", "ops@example.test"));
  g_ptr_array_add (messages, make_message ("m1", "ops@example.test"));

  server = start (s, &port);
  config = make_config (port, HERALD_SECURITY_NONE);
  herald_smtp_deliver_async (config, messages, &callbacks, async_destroy_cb, NULL,
                             herald_test_result_cb, &async_result);
  herald_test_wait_result (&async_result, 30);
  result = herald_smtp_deliver_finish (async_result, &error);

  g_assert_no_error (error);
  g_assert_nonnull (result);
  g_assert_true (result->ok);
  g_assert_cmpuint (result->deliveries->len, ==, 2);
  g_assert_cmpuint (state.n_before, ==, 2);
  g_assert_cmpuint (state.n_done, ==, 2);
  g_assert_cmpuint (state.n_progress, >, 0);
  g_assert_true (state.destroyed);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);
  signal (SIGPIPE, SIG_IGN);
  certdir = herald_test_make_certs ("smtp/deliver-certs");

  g_test_add_func ("/herald/smtp/deliver/batch-chunking", test_batch_chunking);
  g_test_add_func ("/herald/smtp/deliver/batch-serial-data", test_batch_serial_data);
  g_test_add_func ("/herald/smtp/deliver/one-recipient-refused", test_one_recipient_refused);
  g_test_add_func ("/herald/smtp/deliver/refused-then-good-chunking", test_refused_then_good_chunking);
  g_test_add_func ("/herald/smtp/deliver/refused-then-good-data", test_refused_then_good_data);
  g_test_add_func ("/herald/smtp/deliver/connection-dropped", test_connection_dropped);
  g_test_add_func ("/herald/smtp/deliver/session-failure", test_session_failure);
  g_test_add_func ("/herald/smtp/deliver/8bit", test_8bit);
  g_test_add_func ("/herald/smtp/deliver/async", test_async);

  return g_test_run ();
}
