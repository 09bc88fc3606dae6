/* SPDX-License-Identifier: GPL-3.0-or-later
 * Copyright 2026 The Herald authors
 */
#define G_LOG_DOMAIN "herald-test-smtp"

/* herald_smtp_deliver() against a real Postfix (tests/postfix/postfix-peer.sh:
 * STARTTLS, SASL, PIPELINING, CHUNKING, 8BITMIME, a 50 MB size limit) on
 * loopback: several messages over one connection, each arriving once; a
 * message refused (over the size limit) followed by good ones on the same
 * connection; 8-bit data; the before-last-byte callback before each
 * verdict; no secret in the transcript. */

#include <signal.h>
#include <stdlib.h>
#include <unistd.h>
#include <string.h>

#include "herald-smtp.h"

static GHashTable *peer;     /* the peer's assignments: SUBMISSION_PORT, CA_FILE, MAILDIR... */
static char *base;
static char *password;
static char *tag;

/* ---- the peer ----------------------------------------------------------------- */

static void
start_peer (void)
{
  g_autoptr(GError) error = NULL;

  base = g_dir_make_tmp ("herald-postfix-deliver-XXXXXX", &error);
  g_assert_no_error (error);
  /* Like tests/postfix/test-postfix.py: an instance whose test died (an
   * assertion aborts before stop_peer()) is stopped by the next run's
   * sweep, which looks for this file. */
  {
    g_autofree char *owner = g_build_filename (base, "owner.pid", NULL);
    g_autofree char *pid = g_strdup_printf ("%d\n", (int) getpid ());

    g_file_set_contents (owner, pid, -1, &error);
    g_assert_no_error (error);
  }
  password = g_strdup_printf ("Pd-%08x%08x", g_random_int (), g_random_int ());
  tag = g_strdup_printf ("%08x", g_random_int ());
  peer = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);

  for (guint attempt = 0; attempt < 6; attempt++)
    {
      g_autofree char *offset = g_strdup_printf ("%u", g_random_int_range (41000, 54000));
      const char *argv[] = { POSTFIX_PEER, "start", base, offset, NULL };
      g_autoptr(GSubprocessLauncher) launcher =
        g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDOUT_PIPE | G_SUBPROCESS_FLAGS_STDERR_PIPE);
      g_autoptr(GSubprocess) process = NULL;
      g_autofree char *out = NULL;
      g_autofree char *err = NULL;
      g_auto(GStrv) lines = NULL;

      /* The password reaches the script through its environment only. */
      g_subprocess_launcher_setenv (launcher, "HERALD_PEER_PASSWORD", password, TRUE);
      process = g_subprocess_launcher_spawnv (launcher, argv, &error);
      g_assert_no_error (error);
      g_subprocess_communicate_utf8 (process, NULL, NULL, &out, &err, &error);
      g_assert_no_error (error);

      if (g_subprocess_get_exit_status (process) != 0)
        {
          if (strstr (err, "already in use") != NULL)
            continue;
          g_error ("postfix-peer.sh start failed: %s", err);
        }

      lines = g_strsplit (out, "\n", -1);
      for (guint i = 0; lines[i] != NULL; i++)
        {
          char *eq = strchr (lines[i], '=');
          g_autofree char *value = NULL;

          if (eq == NULL)
            continue;
          *eq = '\0';
          value = g_shell_unquote (eq + 1, NULL);
          g_hash_table_insert (peer, g_strdup (lines[i]), g_strdup (value ? value : eq + 1));
        }
      return;
    }

  g_error ("postfix-peer.sh: no free ports");
}

static void
stop_peer (void)
{
  const char *argv[] = { POSTFIX_PEER, "stop", base, NULL };
  g_autoptr(GSubprocess) process = NULL;

  if (base == NULL)
    return;
  process = g_subprocess_newv (argv, G_SUBPROCESS_FLAGS_STDOUT_SILENCE |
                                     G_SUBPROCESS_FLAGS_STDERR_SILENCE, NULL);
  if (process != NULL)
    g_subprocess_wait (process, NULL, NULL);
  g_clear_pointer (&base, g_free);
}

static const char *
peer_value (const char *key)
{
  const char *value = g_hash_table_lookup (peer, key);

  g_assert_nonnull (value);
  return value;
}

static HeraldSmtpConfig *
make_config (void)
{
  HeraldSmtpConfig *config = herald_smtp_config_new ();

  config->host = g_strdup ("localhost");
  config->port = atoi (peer_value ("SUBMISSION_PORT"));
  config->security = HERALD_SECURITY_STARTTLS;
  config->auth = HERALD_AUTH_PLAIN;
  config->username = g_strdup (peer_value ("PEER_USER"));
  config->password = g_strdup (password);
  config->ca_file = g_strdup (peer_value ("CA_FILE"));
  config->connect_timeout = 20;
  config->reply_timeout = 20;

  return config;
}

/* Messages in the Maildir whose text holds @needle, waiting up to 20 s for
 * @count of them (Postfix delivers from its queue). */
static guint
wait_for_mail (const char *needle,
               guint       count)
{
  g_autofree char *dir = g_build_filename (peer_value ("MAILDIR"), "new", NULL);
  gint64 deadline = g_get_monotonic_time () + 20 * G_USEC_PER_SEC;
  guint found = 0;

  do
    {
      g_autoptr(GDir) d = g_dir_open (dir, 0, NULL);
      const char *name;

      found = 0;
      while (d != NULL && (name = g_dir_read_name (d)) != NULL)
        {
          g_autofree char *path = g_build_filename (dir, name, NULL);
          g_autofree char *text = NULL;

          if (g_file_get_contents (path, &text, NULL, NULL) && strstr (text, needle) != NULL)
            found++;
        }
      if (found >= count)
        break;
      g_usleep (100 * 1000);
    }
  while (g_get_monotonic_time () < deadline);

  return found;
}

static HeraldSmtpMessage *
make_message (const char *subject,
              const char *body)
{
  const char *recipients[] = { "bob@example.com", NULL };
  g_autofree char *text = g_strdup_printf ("From: <alice@localhost>\r\nTo: <bob@example.com>\r\n"
                                           "Subject: %s\r\nMIME-Version: 1.0\r\n"
                                           "Content-Type: text/plain; charset=utf-8\r\n"
                                           "Content-Transfer-Encoding: 8bit\r\n\r\n%s\r\n",
                                           subject, body);
  g_autoptr(GBytes) data = g_bytes_new (text, strlen (text));

  return herald_smtp_message_new ("alice@localhost", recipients, data);
}

typedef struct {
  GPtrArray *events;
} Events;

static void
before_cb (guint                    index,
           const HeraldSmtpMessage *message,
           gpointer                 user_data)
{
  Events *events = user_data;

  g_ptr_array_add (events->events, g_strdup_printf ("before:%u", index));
}

static void
done_cb (guint                 index,
         const HeraldDelivery *delivery,
         gpointer              user_data)
{
  Events *events = user_data;

  g_ptr_array_add (events->events,
                   g_strdup_printf ("done:%u:%s", index,
                                    herald_delivery_outcome_to_string (delivery->outcome)));
}

static gint
position (Events     *events,
          const char *event)
{
  for (guint i = 0; i < events->events->len; i++)
    {
      if (g_strcmp0 (g_ptr_array_index (events->events, i), event) == 0)
        return i;
    }
  return -1;
}

static void
assert_no_secret (HeraldSmtpResult *result)
{
  for (guint i = 0; i < result->transcript->len; i++)
    {
      HeraldTranscriptEntry *entry = g_ptr_array_index (result->transcript, i);

      g_assert_null (strstr (entry->text, password));
    }
}

static guint
count_transcript (HeraldSmtpResult *result,
                  const char       *prefix)
{
  guint n = 0;

  for (guint i = 0; i < result->transcript->len; i++)
    {
      HeraldTranscriptEntry *entry = g_ptr_array_index (result->transcript, i);

      if (g_str_has_prefix (entry->text, prefix))
        n++;
    }
  return n;
}

/* ---- tests ------------------------------------------------------------------------ */

/* Six messages, one connection, one login; each arrives exactly once. */
static void
test_batch (void)
{
  g_autoptr(HeraldSmtpConfig) config = make_config ();
  g_autoptr(GPtrArray) messages = g_ptr_array_new_with_free_func ((GDestroyNotify) herald_smtp_message_free);
  g_autoptr(GPtrArray) list = g_ptr_array_new_with_free_func (g_free);
  Events events = { list };
  HeraldDeliveryCallbacks callbacks = { NULL, before_cb, done_cb, &events };
  g_autoptr(HeraldSmtpResult) result = NULL;
  g_autofree char *needle = g_strdup_printf ("batch-%s-", tag);

  for (guint i = 0; i < 6; i++)
    {
      g_autofree char *subject = g_strdup_printf ("batch-%s-%u", tag, i);

      g_ptr_array_add (messages, make_message (subject, "RAID degraded on md0."));
    }

  result = herald_smtp_deliver (config, messages, &callbacks, NULL);
  g_assert_no_error (result->error);
  g_assert_true (result->ok);
  g_assert_cmpuint (count_transcript (result, "Connected to"), ==, 1);
  g_assert_cmpuint (count_transcript (result, "AUTH PLAIN"), ==, 1);
  g_assert_cmpuint (count_transcript (result, "RSET"), ==, 0);

  for (guint i = 0; i < 6; i++)
    {
      HeraldDelivery *d = g_ptr_array_index (result->deliveries, i);
      g_autofree char *before = g_strdup_printf ("before:%u", i);
      g_autofree char *done = g_strdup_printf ("done:%u:delivered", i);
      g_autofree char *subject = g_strdup_printf ("Subject: batch-%s-%u\n", tag, i);

      g_assert_cmpint (d->outcome, ==, HERALD_DELIVERY_DELIVERED);
      g_assert_cmpint (d->reply->code, ==, 250);
      g_assert_cmpint (position (&events, before), >=, 0);
      g_assert_cmpint (position (&events, before), <, position (&events, done));
      g_assert_cmpuint (wait_for_mail (subject, 1), ==, 1);
    }
  /* Exactly once each: no more copies arrive. */
  g_usleep (500 * 1000);
  g_assert_cmpuint (wait_for_mail (needle, 6), ==, 6);
  assert_no_secret (result);
}

/* Over Postfix's 50 MB limit: refused at MAIL (SIZE), permanently; the
 * messages before and after it on the same connection arrive. 8-bit
 * data goes with BODY=8BITMIME. */
static void
test_refused_then_good (void)
{
  g_autoptr(HeraldSmtpConfig) config = make_config ();
  g_autoptr(GPtrArray) messages = g_ptr_array_new_with_free_func ((GDestroyNotify) herald_smtp_message_free);
  g_autoptr(HeraldSmtpResult) result = NULL;
  g_autofree char *first = g_strdup_printf ("first-%s", tag);
  g_autofree char *last = g_strdup_printf ("last-%s", tag);
  g_autofree char *big_subject = g_strdup_printf ("big-%s", tag);
  gsize big_size = 52428800 + 4096;
  GString *big = g_string_sized_new (big_size + 256);
  const char *recipients[] = { "bob@example.com", NULL };
  g_autoptr(GBytes) big_data = NULL;
  HeraldDelivery *d;

  g_string_append_printf (big, "From: <alice@localhost>\r\nSubject: %s\r\n\r\n", big_subject);
  while (big->len < big_size)
    g_string_append (big, "0123456789012345678901234567890123456789012345678901234567890123456789\r\n");
  big_data = g_bytes_new_take (big->str, big->len);
  g_string_free (big, FALSE);

  g_ptr_array_add (messages, make_message (first, "Prüfung: Festplatte voll ✓"));
  g_ptr_array_add (messages, herald_smtp_message_new ("alice@localhost", recipients, big_data));
  g_ptr_array_add (messages, make_message (last, "Back to normal."));

  result = herald_smtp_deliver (config, messages, NULL, NULL);

  g_assert_cmpint (((HeraldDelivery *) g_ptr_array_index (result->deliveries, 0))->outcome, ==,
                   HERALD_DELIVERY_DELIVERED);
  d = g_ptr_array_index (result->deliveries, 1);
  g_assert_cmpint (d->outcome, ==, HERALD_DELIVERY_CONTENT_REFUSED);
  g_assert_cmpint (d->stage, ==, HERALD_STAGE_MAIL);
  g_assert_cmpint (d->reply->code, ==, 552);
  g_assert_cmpstr (d->reply->enhanced, ==, "5.3.4");
  g_assert_cmpint (((HeraldDelivery *) g_ptr_array_index (result->deliveries, 2))->outcome, ==,
                   HERALD_DELIVERY_DELIVERED);
  g_assert_false (result->ok);
  g_assert_cmpint (result->reply->code, ==, 552);

  g_assert_cmpuint (wait_for_mail (first, 1), ==, 1);
  g_assert_cmpuint (wait_for_mail ("Prüfung: Festplatte voll ✓", 1), ==, 1);
  g_assert_cmpuint (wait_for_mail (last, 1), ==, 1);
  g_assert_cmpuint (wait_for_mail (big_subject, 0), ==, 0);
  g_assert_cmpuint (count_transcript (result, "MAIL FROM:<alice@localhost> SIZE="), ==, 3);
  g_assert_cmpuint (count_transcript (result, "Connected to"), ==, 1);
  assert_no_secret (result);
}

int
main (int   argc,
      char *argv[])
{
  int status;

  g_test_init (&argc, &argv, NULL);
  signal (SIGPIPE, SIG_IGN);
  start_peer ();

  g_test_add_func ("/herald/smtp/postfix-deliver/batch", test_batch);
  g_test_add_func ("/herald/smtp/postfix-deliver/refused-then-good", test_refused_then_good);

  status = g_test_run ();
  stop_peer ();
  return status;
}
