/* SPDX-License-Identifier: GPL-3.0-or-later
 * Copyright 2026 The Herald authors
 */
#define G_LOG_DOMAIN "herald-cli"

#include "config.h"

#include <glib/gi18n.h>
#include <json-glib/json-glib.h>
#include <stdio.h>
#include <pwd.h>
#include <string.h>
#include <inttypes.h>
#include <unistd.h>

#include "herald-cli.h"
#include "herald-cli-util.h"
#include "herald-cli-send.h"
#include "herald-delivery.h"
#include "herald-profile.h"
#include "herald-queue-run.h"
#include "herald-report.h"
#include "herald-oauth.h"
#include "herald-secret.h"

/* heraldctl queue list|show|drop|retry|flush, and the "mailq" name. Exit
 * statuses are sendmail's (sysexits.h), like heraldctl send's. */

static int
queue_usage_error (const char *sub,
                   const char *format,
                   ...) G_GNUC_PRINTF (2, 3);

static int
queue_usage_error (const char *sub,
                   const char *format,
                   ...)
{
  g_autofree char *message = NULL;
  va_list args;

  va_start (args, format);
  message = g_strdup_vprintf (format, args);
  va_end (args);
  fprintf (stderr, "heraldctl queue %s: %s\n", sub, message);
  fprintf (stderr, _("Run “heraldctl queue --help” for the commands and options.\n"));
  return HERALD_EX_USAGE;
}

/* The scope given before the command (heraldctl queue --system list). */
static HeraldProfileScope queue_scope = HERALD_PROFILE_SCOPE_AUTO;

/* Parses "--json", "--quiet", "--due", "--failed", "--system", "--user" and
 * positional arguments; anything else is bad usage. */
typedef struct {
  HeraldProfileScope scope;
  gboolean  json;
  gboolean  quiet;
  gboolean  due;
  gboolean  failed;
  GPtrArray *positional;
} QueueArgs;

static void
queue_args_clear (QueueArgs *a)
{
  g_clear_pointer (&a->positional, g_ptr_array_unref);
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (QueueArgs, queue_args_clear)

static gboolean
parse_queue_args (int         argc,
                  char      **argv,
                  const char *allowed,
                  guint       max_positional,
                  QueueArgs  *a,
                  int        *status)
{
  const char *sub = argv[0];
  gboolean options_done = FALSE;

  a->positional = g_ptr_array_new ();
  a->scope = queue_scope;
  for (int i = 1; i < argc && argv[i] != NULL; i++)
    {
      const char *arg = argv[i];

      if (!options_done && g_str_equal (arg, "--"))
        options_done = TRUE;
      else if (!options_done && g_str_has_prefix (arg, "-"))
        {
          if (g_str_equal (arg, "--json") && strstr (allowed, "j") != NULL)
            a->json = TRUE;
          else if (g_str_equal (arg, "--quiet") && strstr (allowed, "q") != NULL)
            a->quiet = TRUE;
          else if (g_str_equal (arg, "--due") && strstr (allowed, "d") != NULL)
            a->due = TRUE;
          else if (g_str_equal (arg, "--failed") && strstr (allowed, "f") != NULL)
            a->failed = TRUE;
          else if (g_str_equal (arg, "--system") || g_str_equal (arg, "--user"))
            {
              HeraldProfileScope scope = g_str_equal (arg, "--system")
                                         ? HERALD_PROFILE_SCOPE_SYSTEM : HERALD_PROFILE_SCOPE_USER;

              if (a->scope != HERALD_PROFILE_SCOPE_AUTO && a->scope != scope)
                {
                  *status = queue_usage_error (sub, _("--system and --user exclude each other"));
                  return FALSE;
                }
              a->scope = scope;
            }
          else
            {
              *status = queue_usage_error (sub, _("unknown option %s"), arg);
              return FALSE;
            }
        }
      else
        g_ptr_array_add (a->positional, (gpointer) arg);
    }
  if (a->positional->len > max_positional)
    {
      *status = queue_usage_error (sub, _("unexpected argument “%s”"),
                                   (const char *) g_ptr_array_index (a->positional,
                                                                     max_positional));
      return FALSE;
    }
  return TRUE;
}

/* The system queue is root's: others hand messages to the maildrop and
 * see nothing of it. */
static gboolean
system_queue_allowed (HeraldProfile *profile,
                      const char    *command,
                      int           *status)
{
  g_autoptr(GError) error = NULL;

  if (!herald_profile_is_system (profile))
    return TRUE;
  if (geteuid () != 0)
    {
      fprintf (stderr, _("%s: the system queue can be read and flushed by root only (messages "
                         "from other users wait in the Herald service's maildrop); run this as "
                         "root\n"), command);
      *status = HERALD_EX_NOPERM;
      return FALSE;
    }
  if (!herald_profile_ensure_system_spool (&error))
    {
      fprintf (stderr, "%s: %s\n", command, error->message);
      *status = HERALD_EX_CANTCREAT;
      return FALSE;
    }
  return TRUE;
}

static HeraldQueue *
open_queue (HeraldProfileScope  scope,
            int                *status)
{
  g_autoptr(HeraldProfile) profile = _herald_cli_open_profile ("heraldctl queue", scope, FALSE,
                                                               status);

  if (profile == NULL)
    return NULL;
  if (!system_queue_allowed (profile, "heraldctl queue", status))
    return NULL;
  return herald_queue_new (herald_profile_get_queue_dir (profile));
}

/* For the commands that take one message id (show, retry): their options,
 * the id, and the queue. NULL with *@status set when the usage is wrong or
 * the queue cannot be opened. */
static HeraldQueue *
open_queue_for_id (int          argc,
                   char       **argv,
                   const char  *sub,
                   const char  *allowed,
                   QueueArgs   *a,
                   const char **id,
                   int         *status)
{
  if (!parse_queue_args (argc, argv, allowed, 1, a, status))
    return NULL;
  if (a->positional->len != 1)
    {
      *status = queue_usage_error (sub, _("give the id of a queued message"));
      return NULL;
    }
  *id = g_ptr_array_index (a->positional, 0);
  return open_queue (a->scope, status);
}

/* ---- JSON ------------------------------------------------------------------------ */

static char *
format_time (gint64 unix_seconds)
{
  g_autoptr(GDateTime) dt = g_date_time_new_from_unix_utc (unix_seconds);

  return dt != NULL ? g_date_time_format_iso8601 (dt) : g_strdup ("");
}

static void
add_string_or_null (JsonBuilder *b,
                    const char  *name,
                    const char  *value)
{
  json_builder_set_member_name (b, name);
  if (value != NULL)
    json_builder_add_string_value (b, value);
  else
    json_builder_add_null_value (b);
}

static void
add_last_error (JsonBuilder            *b,
                const HeraldQueueError *e)
{
  json_builder_set_member_name (b, "last_error");
  if (e == NULL)
    {
      json_builder_add_null_value (b);
      return;
    }
  json_builder_begin_object (b);
  add_string_or_null (b, "stage", e->stage);
  add_string_or_null (b, "error", e->error);
  json_builder_set_member_name (b, "reply");
  if (e->reply_code > 0)
    {
      json_builder_begin_object (b);
      json_builder_set_member_name (b, "code");
      json_builder_add_int_value (b, e->reply_code);
      add_string_or_null (b, "enhanced", e->reply_enhanced);
      add_string_or_null (b, "text", e->reply_text != NULL ? e->reply_text : "");
      json_builder_end_object (b);
    }
  else
    json_builder_add_null_value (b);
  json_builder_set_member_name (b, "diagnosis");
  if (e->diagnosis_id != NULL)
    {
      json_builder_begin_object (b);
      add_string_or_null (b, "id", e->diagnosis_id);
      add_string_or_null (b, "title", e->diagnosis_title);
      add_string_or_null (b, "actor", e->diagnosis_actor);
      json_builder_end_object (b);
    }
  else
    json_builder_add_null_value (b);
  json_builder_end_object (b);
}

static void
add_entry (JsonBuilder            *b,
           const HeraldQueueEntry *entry)
{
  g_autofree char *created = format_time (entry->created);
  g_autofree char *next = entry->next_attempt > 0 ? format_time (entry->next_attempt) : NULL;

  json_builder_begin_object (b);
  add_string_or_null (b, "id", entry->id);
  add_string_or_null (b, "state", herald_queue_state_to_string (entry->state));
  add_string_or_null (b, "created", created);
  json_builder_set_member_name (b, "attempts");
  json_builder_add_int_value (b, entry->attempts);
  add_string_or_null (b, "next_attempt",
                      entry->state == HERALD_QUEUE_STATE_FAILED ? NULL
                      : next != NULL ? next : created);
  add_string_or_null (b, "sender", entry->sender);
  json_builder_set_member_name (b, "recipients");
  json_builder_begin_array (b);
  for (guint i = 0; entry->recipients != NULL && entry->recipients[i] != NULL; i++)
    json_builder_add_string_value (b, entry->recipients[i]);
  json_builder_end_array (b);
  add_string_or_null (b, "subject", entry->subject);
  add_string_or_null (b, "message_id", entry->message_id);
  json_builder_set_member_name (b, "size");
  json_builder_add_int_value (b, (gint64) entry->size);
  json_builder_set_member_name (b, "maybe_duplicate");
  json_builder_add_boolean_value (b, entry->maybe_duplicate);
  add_string_or_null (b, "note", entry->note);
  json_builder_set_member_name (b, "submitter");
  if (entry->submitter_uid >= 0)
    {
      struct passwd *pw = getpwuid ((uid_t) entry->submitter_uid);

      json_builder_begin_object (b);
      json_builder_set_member_name (b, "uid");
      json_builder_add_int_value (b, entry->submitter_uid);
      add_string_or_null (b, "user", pw != NULL ? pw->pw_name : NULL);
      json_builder_end_object (b);
    }
  else
    json_builder_add_null_value (b);
  add_string_or_null (b, "client_address", entry->client_address);
  add_string_or_null (b, "device_user", entry->device_user);
  add_last_error (b, entry->last_error);
  json_builder_end_object (b);
}

/* ---- list -------------------------------------------------------------------------- */

static const char *
entry_problem (const HeraldQueueEntry *entry)
{
  if (entry->note != NULL && entry->state == HERALD_QUEUE_STATE_FAILED)
    return entry->note;
  if (entry->last_error == NULL)
    return entry->note;
  if (entry->last_error->diagnosis_title != NULL)
    return entry->last_error->diagnosis_title;
  return entry->last_error->error;
}

/* A queued message's texts come from whoever handed it in (in system scope
 * any local user, through the maildrop) and from the server that refused
 * it: made printable before they reach root's terminal, as JSON output
 * escapes them. The pointer array frees the copies. */
static const char *
safe (GPtrArray  *keep,
      const char *text)
{
  char *copy;

  if (text == NULL)
    return NULL;
  copy = herald_smtp_make_printable (text, -1, FALSE);
  g_ptr_array_add (keep, copy);
  return copy;
}

int
herald_cli_queue_list (int    argc,
                       char **argv)
{
  g_auto(QueueArgs) a = { 0 };
  g_autoptr(HeraldProfile) profile = NULL;
  g_autoptr(HeraldQueue) queue = NULL;
  g_autoptr(GPtrArray) entries = NULL;
  g_autoptr(GPtrArray) damaged_ids = NULL;
  g_autoptr(GError) error = NULL;
  int status = HERALD_EX_OK;

  if (!parse_queue_args (argc, argv, "j", 0, &a, &status))
    return status;
  profile = _herald_cli_open_profile ("heraldctl queue list", a.scope, FALSE, &status);
  if (profile == NULL)
    return status;
  if (!system_queue_allowed (profile, "heraldctl queue list", &status))
    return status;
  queue = herald_queue_new (herald_profile_get_queue_dir (profile));

  /* Root's mailq shows what waits in the maildrop too: it takes it into the
   * queue first (unless a flush is doing just that). */
  if (herald_profile_is_system (profile) && herald_queue_lock (queue, FALSE, NULL))
    {
      g_autoptr(HeraldSmtpConfig) config = herald_profile_to_smtp_config (profile, NULL);

      if (config != NULL)
        _herald_cli_take_maildrop (profile, config, queue, "heraldctl queue list", TRUE);
      herald_queue_unlock (queue);
    }

  entries = herald_queue_list (queue, &damaged_ids, &error);
  if (entries == NULL)
    {
      fprintf (stderr, _("heraldctl queue list: cannot read the queue: %s\n"), error->message);
      return HERALD_EX_TEMPFAIL;
    }

  if (a.json)
    {
      g_autoptr(JsonBuilder) b = json_builder_new ();
      g_autoptr(JsonNode) root = NULL;

      json_builder_begin_object (b);
      json_builder_set_member_name (b, "messages");
      json_builder_begin_array (b);
      for (guint i = 0; i < entries->len; i++)
        add_entry (b, g_ptr_array_index (entries, i));
      json_builder_end_array (b);
      json_builder_set_member_name (b, "damaged");
      json_builder_begin_array (b);
      for (guint i = 0; i < damaged_ids->len; i++)
        json_builder_add_string_value (b, g_ptr_array_index (damaged_ids, i));
      json_builder_end_array (b);
      json_builder_end_object (b);
      root = json_builder_get_root (b);
      _herald_cli_print_json (root);
      return HERALD_EX_OK;
    }

  if (entries->len == 0 && damaged_ids->len == 0)
    {
      printf ("%s\n", _("Mail queue is empty"));
      return HERALD_EX_OK;
    }
  for (guint i = 0; i < entries->len; i++)
    {
      HeraldQueueEntry *e = g_ptr_array_index (entries, i);
      g_autoptr(GDateTime) created = g_date_time_new_from_unix_local (e->created);
      g_autofree char *when = created != NULL ? g_date_time_format (created, "%Y-%m-%d %H:%M")
                                              : g_strdup ("");
      g_autofree char *to = g_strjoinv (",", e->recipients);
      const char *problem = entry_problem (e);
      g_autofree char *who = e->submitter_uid >= 0 ? _herald_cli_describe_uid (e->submitter_uid)
                                                   : NULL;

      g_autoptr(GPtrArray) keep = g_ptr_array_new_with_free_func (g_free);

      problem = safe (keep, problem);
      printf ("%s  %-7s  %s  %6" G_GUINT64_FORMAT "  %s -> %s%s%s%s%s%s\n", e->id,
              herald_queue_state_to_string (e->state), when, e->size, safe (keep, e->sender),
              safe (keep, to), who != NULL ? _("  from ") : "", who != NULL ? who : "",
              problem != NULL ? "  (" : "", problem != NULL ? problem : "",
              problem != NULL ? ")" : "");
    }
  for (guint i = 0; i < damaged_ids->len; i++)
    printf (_("%s  damaged: its metadata cannot be read (see heraldctl queue show)\n"),
            (const char *) g_ptr_array_index (damaged_ids, i));
  printf (_("-- %u message(s)\n"), entries->len + damaged_ids->len);
  return HERALD_EX_OK;
}

/* ---- show ------------------------------------------------------------------------- */

static int
queue_show (int    argc,
            char **argv)
{
  g_auto(QueueArgs) a = { 0 };
  g_autoptr(HeraldQueue) queue = NULL;
  g_autoptr(HeraldQueueEntry) entry = NULL;
  g_autoptr(GError) error = NULL;
  int status = HERALD_EX_OK;
  const char *id;

  queue = open_queue_for_id (argc, argv, "show", "j", &a, &id, &status);
  if (queue == NULL)
    return status;

  entry = herald_queue_get (queue, id, &error);
  if (entry == NULL)
    {
      fprintf (stderr, "heraldctl queue show: %s\n", error->message);
      return g_error_matches (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND) ? HERALD_EX_NOINPUT
                                                                       : HERALD_EX_DATAERR;
    }

  if (a.json)
    {
      g_autoptr(JsonBuilder) b = json_builder_new ();
      g_autoptr(JsonNode) root = NULL;

      add_entry (b, entry);
      root = json_builder_get_root (b);
      _herald_cli_print_json (root);
      return HERALD_EX_OK;
    }

  {
    g_autofree char *created = format_time (entry->created);
    g_autofree char *next = format_time (entry->next_attempt);
    g_autoptr(GPtrArray) keep = g_ptr_array_new_with_free_func (g_free);

    printf (_("Message %s\n"), entry->id);
    printf (_("  State:        %s\n"), herald_queue_state_to_string (entry->state));
    printf (_("  Created:      %s\n"), created);
    printf (_("  Attempts:     %u\n"), entry->attempts);
    if (entry->state != HERALD_QUEUE_STATE_FAILED)
      printf (_("  Next attempt: %s\n"), entry->next_attempt > 0 ? next : _("now"));
    printf (_("  Sender:       %s\n"), safe (keep, entry->sender));
    for (guint i = 0; entry->recipients[i] != NULL; i++)
      printf (_("  Recipient:    %s\n"), safe (keep, entry->recipients[i]));
    if (entry->subject != NULL)
      printf (_("  Subject:      %s\n"), safe (keep, entry->subject));
    if (entry->message_id != NULL)
      printf (_("  Message-ID:   <%s>\n"), safe (keep, entry->message_id));
    printf (_("  Size:         %" PRIu64 " bytes\n"), (guint64) entry->size);
    if (entry->note != NULL)
      printf (_("  Note:         %s\n"), safe (keep, entry->note));
    if (entry->submitter_uid >= 0)
      {
        g_autofree char *who = _herald_cli_describe_uid (entry->submitter_uid);

        printf (_("  Submitted by: %s (through the maildrop)\n"), who);
      }
    if (entry->device_user != NULL)
      printf (_("  Device user:  %s (through the relay)\n"), safe (keep, entry->device_user));
    if (entry->client_address != NULL)
      printf (_("  Relayed from: %s\n"), safe (keep, entry->client_address));
    if (entry->last_error != NULL)
      {
        const HeraldQueueError *e = entry->last_error;

        printf (_("  Last error:   %s (stage %s)\n"), e->error != NULL ? safe (keep, e->error) : "",
                e->stage != NULL ? safe (keep, e->stage) : "?");
        if (e->reply_code > 0)
          printf (_("  Reply:        %d %s\n"), e->reply_code,
                  e->reply_text != NULL ? safe (keep, e->reply_text) : "");
        if (e->diagnosis_title != NULL)
          printf (_("  Diagnosis:    %s\n"), safe (keep, e->diagnosis_title));
        if (e->diagnosis_actor != NULL)
          printf (_("  Who must act: %s\n"), safe (keep, e->diagnosis_actor));
      }
  }
  return HERALD_EX_OK;
}

/* ---- drop and retry ---------------------------------------------------------------- */

static int
queue_drop (int    argc,
            char **argv)
{
  g_auto(QueueArgs) a = { 0 };
  g_autoptr(HeraldQueue) queue = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) ids = g_ptr_array_new_with_free_func (g_free);
  int status = HERALD_EX_OK;

  if (!parse_queue_args (argc, argv, "f", 1, &a, &status))
    return status;
  if ((a.positional->len == 1) == a.failed)
    return queue_usage_error ("drop", _("give the id of a queued message, or --failed"));
  queue = open_queue (a.scope, &status);
  if (queue == NULL)
    return status;

  /* Not while a flush is delivering it. */
  if (!herald_queue_lock (queue, TRUE, &error))
    {
      fprintf (stderr, "heraldctl queue drop: %s\n", error->message);
      return HERALD_EX_TEMPFAIL;
    }

  if (a.failed)
    {
      g_autoptr(GPtrArray) entries = herald_queue_list (queue, NULL, &error);

      for (guint i = 0; entries != NULL && i < entries->len; i++)
        {
          HeraldQueueEntry *e = g_ptr_array_index (entries, i);

          if (e->state == HERALD_QUEUE_STATE_FAILED)
            g_ptr_array_add (ids, g_strdup (e->id));
        }
    }
  else
    g_ptr_array_add (ids, g_strdup (g_ptr_array_index (a.positional, 0)));

  for (guint i = 0; i < ids->len; i++)
    {
      g_clear_error (&error);
      if (!herald_queue_remove (queue, g_ptr_array_index (ids, i), &error))
        {
          fprintf (stderr, "heraldctl queue drop: %s\n", error->message);
          status = g_error_matches (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND) ? HERALD_EX_NOINPUT
                                                                             : HERALD_EX_TEMPFAIL;
        }
    }
  herald_queue_unlock (queue);
  return status;
}

/* ---- flush --------------------------------------------------------------------------- */

/* Token health: Microsoft ends a refresh token unused for 90 days
 * (AADSTS700082). Each queue run refreshes a token whose last refresh is 30
 * days old, whatever the queue holds, so that a quiet server keeps its
 * sign-in alive; a run with nothing to send asks for no token otherwise. */
#define OAUTH_IDLE_REFRESH_SECONDS (30 * 24 * 3600)

static gboolean
uses_oauth (HeraldSmtpConfig *config)
{
  return config->auth == HERALD_AUTH_XOAUTH2 || config->auth == HERALD_AUTH_OAUTHBEARER;
}

/* Microsoft Graph with a user's sign-in: the same refresh token, which
 * dies the same way when unused. (App-only has no refresh token: each
 * run asks for a new access token with the certificate or secret.) */
static gboolean
uses_graph_delegated (HeraldProfile *profile)
{
  g_autofree char *transport = herald_profile_get_string (profile, "transport");
  g_autofree char *mode = herald_profile_get_string (profile, "oauth-mode");

  return g_strcmp0 (transport, "graph") == 0 && g_strcmp0 (mode, "app-only") != 0;
}

static gboolean
token_idle (HeraldProfile *profile)
{
  gint64 refreshed = herald_profile_get_token_refreshed (profile, NULL);

  return refreshed <= 0 ||
         g_get_real_time () / G_USEC_PER_SEC - refreshed >= OAUTH_IDLE_REFRESH_SECONDS;
}

static void
refresh_idle_token (HeraldProfile    *profile,
                    HeraldSmtpConfig *config,
                    const char       *command,
                    gboolean          graph)
{
  /* Graph's sign-in is refreshed for Graph's scope (Mail.Send), the one it
   * was given; SMTP's for the SMTP scope. */
  __typeof__ (herald_oauth_account_new_from_settings) *new_account =
    _herald_cli_oauth_symbol (command, graph ? "herald_graph_oauth_account_new_from_settings"
                                             : "herald_oauth_account_new_from_settings");
  __typeof__ (herald_oauth_refresh_access_token_sync) *refresh =
    _herald_cli_oauth_symbol (command, "herald_oauth_refresh_access_token_sync");
  __typeof__ (herald_oauth_account_free) *account_free =
    _herald_cli_oauth_symbol (command, "herald_oauth_account_free");
  g_autoptr(GError) error = NULL;
  HeraldOAuthAccount *account;
  char *token;

  if (new_account == NULL || refresh == NULL || account_free == NULL ||
      herald_profile_get_settings (profile) == NULL)
    return;
  account = new_account (herald_profile_get_settings (profile));
  if (!graph && config->username != NULL)
    {
      g_free (account->account);
      account->account = g_strdup (config->username);
    }
  token = refresh (account, NULL, &error);
  account_free (account);
  /* Success is recorded by the profile's token store, with the new tokens. */
  if (token == NULL)
    herald_profile_record_token_refresh (profile, error);
  herald_secret_free (token);
}

static gboolean
nothing_to_send (HeraldQueue *queue)
{
  g_autoptr(GPtrArray) entries = herald_queue_list (queue, NULL, NULL);

  for (guint i = 0; entries != NULL && i < entries->len; i++)
    if (((HeraldQueueEntry *) g_ptr_array_index (entries, i))->state != HERALD_QUEUE_STATE_FAILED)
      return FALSE;
  return entries != NULL;
}

static void
record_graph_sign_in (HeraldProfile            *profile,
                      const HeraldFlushSummary *summary)
{
  for (guint i = 0; i < summary->items->len; i++)
    {
      const HeraldFlushItem *item = g_ptr_array_index (summary->items, i);
      const HeraldSmtpResult *r = item->report != NULL ? item->report->result : NULL;

      if (r != NULL && !r->ok && r->stage == HERALD_STAGE_AUTH && r->reply == NULL &&
          r->error != NULL)
        {
          herald_profile_record_token_refresh (profile, r->error);
          return;
        }
    }
}

static int
run_flush (const char *sub,
           QueueArgs  *a,
           const char *only_id)
{
  g_autoptr(HeraldProfile) profile = NULL;
  g_autoptr(HeraldSmtpConfig) config = NULL;
  g_autoptr(HeraldQueue) queue = NULL;
  g_autoptr(HeraldDeliveryReport) local = NULL;
  g_autoptr(HeraldFlushSummary) summary = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *command = g_strdup_printf ("heraldctl queue %s", sub);
  HeraldFlushOptions options = { 0 };
  const HeraldTransport *transport = NULL;
  int status = HERALD_EX_OK;
  gboolean graph;

  profile = _herald_cli_open_profile (command, a->scope, FALSE, &status);
  if (profile == NULL)
    return status;
  if (!_herald_cli_alerts_enabled (profile, command))
    return HERALD_EX_UNAVAILABLE;
  config = _herald_cli_profile_config (profile, command, &status);
  if (config == NULL)
    return status;
  if (!system_queue_allowed (profile, command, &status))
    return status;
  queue = herald_queue_new (herald_profile_get_queue_dir (profile));

  /* One flush at a time; a second returns at once. Checked before the
   * credentials so that it does not ask the keyring for nothing. */
  if (!herald_queue_lock (queue, FALSE, &error))
    {
      if (!a->quiet || !g_error_matches (error, G_IO_ERROR, G_IO_ERROR_BUSY))
        fprintf (stderr, "%s: %s\n", command, error->message);
      return HERALD_EX_TEMPFAIL;
    }
  /* The runner takes the maildrop under the flush lock: one taker. */
  if (herald_profile_is_system (profile) && only_id == NULL)
    _herald_cli_take_maildrop (profile, config, queue, command, a->quiet || a->json);
  herald_queue_unlock (queue);

  graph = uses_graph_delegated (profile);
  if ((uses_oauth (config) || graph) && token_idle (profile))
    refresh_idle_token (profile, config, command, graph);
  transport = herald_transport_smtp ();
  /* Nothing to send: no token needed (an idle one was refreshed above). */
  if (!(uses_oauth (config) || graph) || !nothing_to_send (queue))
    {
      local = _herald_cli_prepare_transport (profile, config, command, NULL, &transport);
      /* A failed refresh is what doctor warns about before the first alert
       * is lost. */
      if (uses_oauth (config) && local != NULL && local->result->error != NULL)
        herald_profile_record_token_refresh (profile, local->result->error);
    }
  options.due_only = a->due;
  options.only_id = only_id;
  summary = herald_queue_flush (queue, transport, config, local, &options, NULL, &error);
  g_clear_pointer (&transport, herald_transport_free);
  /* Graph gets its token while it delivers: a sign-in that failed there
   * (the messages held at the login, with the identity provider's words)
   * is recorded for doctor as SMTP's is above. */
  if (graph && summary != NULL)
    record_graph_sign_in (profile, summary);
  if (summary == NULL)
    {
      if (!a->quiet || !g_error_matches (error, G_IO_ERROR, G_IO_ERROR_BUSY))
        fprintf (stderr, "%s: %s\n", command, error->message);
      return HERALD_EX_TEMPFAIL;
    }

  if (a->json)
    {
      g_autoptr(JsonBuilder) b = json_builder_new ();
      g_autoptr(JsonNode) root = NULL;

      json_builder_begin_object (b);
      json_builder_set_member_name (b, "delivered");
      json_builder_add_int_value (b, summary->delivered);
      json_builder_set_member_name (b, "deferred");
      json_builder_add_int_value (b, summary->deferred);
      json_builder_set_member_name (b, "held");
      json_builder_add_int_value (b, summary->held);
      json_builder_set_member_name (b, "failed");
      json_builder_add_int_value (b, summary->failed);
      json_builder_set_member_name (b, "left");
      json_builder_add_int_value (b, summary->left);
      json_builder_set_member_name (b, "messages");
      json_builder_begin_array (b);
      for (guint i = 0; i < summary->items->len; i++)
        {
          HeraldFlushItem *item = g_ptr_array_index (summary->items, i);

          json_builder_begin_object (b);
          add_string_or_null (b, "id", item->id);
          add_string_or_null (b, "outcome", item->outcome);
          add_string_or_null (b, "transport", item->report != NULL ? item->report->transport
                                                                   : NULL);
          json_builder_set_member_name (b, "reply");
          json_builder_add_value (b, _herald_cli_reply_to_json (item->report != NULL
                                                                ? item->report->result->reply
                                                                : NULL));
          json_builder_set_member_name (b, "diagnosis");
          json_builder_add_value (b, herald_diagnosis_to_json (item->report != NULL
                                                               ? item->report->diagnosis : NULL));
          json_builder_set_member_name (b, "maybe_duplicate");
          json_builder_add_boolean_value (b, item->maybe_duplicate);
          json_builder_end_object (b);
        }
      json_builder_end_array (b);
      json_builder_end_object (b);
      root = json_builder_get_root (b);
      _herald_cli_print_json (root);
    }
  else if (!a->quiet)
    {
      for (guint i = 0; i < summary->items->len; i++)
        {
          HeraldFlushItem *item = g_ptr_array_index (summary->items, i);
          const char *why = item->report != NULL && item->report->diagnosis != NULL
                            ? item->report->diagnosis->title : NULL;

          printf ("%s  %s%s%s\n", item->id, item->outcome, why != NULL ? ": " : "",
                  why != NULL ? why : "");
        }
      printf (_("Delivered %u, deferred %u, held %u, failed %u, left for later %u.\n"),
              summary->delivered, summary->deferred, summary->held, summary->failed,
              summary->left);
    }
  return HERALD_EX_OK;
}

int
herald_cli_queue_flush (int    argc,
                        char **argv)
{
  g_auto(QueueArgs) a = { 0 };
  int status = HERALD_EX_OK;

  if (!parse_queue_args (argc, argv, "jqd", 0, &a, &status))
    return status;
  return run_flush ("flush", &a, NULL);
}

static int
queue_retry (int    argc,
             char **argv)
{
  g_auto(QueueArgs) a = { 0 };
  g_autoptr(HeraldQueue) queue = NULL;
  g_autoptr(HeraldQueueEntry) entry = NULL;
  g_autoptr(GError) error = NULL;
  int status = HERALD_EX_OK;
  const char *id;

  queue = open_queue_for_id (argc, argv, "retry", "jq", &a, &id, &status);
  if (queue == NULL)
    return status;

  if (!herald_queue_lock (queue, TRUE, &error))
    {
      fprintf (stderr, "heraldctl queue retry: %s\n", error->message);
      return HERALD_EX_TEMPFAIL;
    }
  entry = herald_queue_get (queue, id, &error);
  if (entry == NULL)
    {
      herald_queue_unlock (queue);
      fprintf (stderr, "heraldctl queue retry: %s\n", error->message);
      return g_error_matches (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND) ? HERALD_EX_NOINPUT
                                                                       : HERALD_EX_DATAERR;
    }
  /* A failed message gets another chance too: its record says why it
   * failed, and the administrator asked. */
  if (entry->state == HERALD_QUEUE_STATE_FAILED || entry->state == HERALD_QUEUE_STATE_HELD)
    entry->state = HERALD_QUEUE_STATE_QUEUED;
  entry->next_attempt = 0;
  if (entry->note != NULL && g_str_has_prefix (entry->note, "expired"))
    {
      /* Another five days from now. */
      entry->created = g_get_real_time () / G_USEC_PER_SEC;
      g_clear_pointer (&entry->note, g_free);
    }
  if (!herald_queue_update (queue, entry, &error))
    {
      herald_queue_unlock (queue);
      fprintf (stderr, "heraldctl queue retry: %s\n", error->message);
      return HERALD_EX_TEMPFAIL;
    }
  herald_queue_unlock (queue);

  return run_flush ("retry", &a, id);
}

/* ---- the command -------------------------------------------------------------------- */

static void
print_queue_help (FILE *out)
{
  fprintf (out, "%s\n", _("Usage: heraldctl queue [--system | --user] COMMAND [OPTION…]"));
  fprintf (out, "\n%s\n", _("Commands:"));
  fprintf (out, "  list [--json]                 %s\n", _("List the queued messages (as mailq)"));
  fprintf (out, "  show [--json] ID              %s\n", _("Show one message's record"));
  fprintf (out, "  drop ID | --failed            %s\n", _("Remove a message, or every failed one"));
  fprintf (out, "  retry [--json] ID             %s\n", _("Deliver one message now"));
  fprintf (out, "  flush [--json] [--quiet] [--due]\n"
                "                                %s\n",
           _("Deliver every queued and held message now (--due: only those whose time has come)"));
  fprintf (out, "\n%s\n", _("Options:"));
  fprintf (out, "  --system                      %s\n", _("The system queue (root delivers it)"));
  fprintf (out, "  --user                        %s\n", _("The user profile's queue"));
  fprintf (out, "\n%s\n", _("Exit status: 0 done, 64 bad usage, 66 no such message, 69 sending "
                            "alerts is switched off, 75 another flush is running or the queue "
                            "cannot be written, 78 no profile."));
}

int
herald_cli_queue (int    argc,
                  char **argv)
{
  int status = HERALD_EX_OK;
  const char *sub;

  /* heraldctl queue --system flush: the scope may come before the command. */
  if (!_herald_cli_take_scope ("heraldctl queue", &argc, argv, TRUE, &queue_scope, &status))
    return status;

  if (argc < 2)
    {
      print_queue_help (stderr);
      return HERALD_EX_USAGE;
    }
  sub = argv[1];
  if (g_str_equal (sub, "--help") || g_str_equal (sub, "-h") || g_str_equal (sub, "help"))
    {
      print_queue_help (stdout);
      return HERALD_EX_OK;
    }
  if (g_str_equal (sub, "list"))
    return herald_cli_queue_list (argc - 1, argv + 1);
  if (g_str_equal (sub, "show"))
    return queue_show (argc - 1, argv + 1);
  if (g_str_equal (sub, "drop"))
    return queue_drop (argc - 1, argv + 1);
  if (g_str_equal (sub, "retry"))
    return queue_retry (argc - 1, argv + 1);
  if (g_str_equal (sub, "flush"))
    return herald_cli_queue_flush (argc - 1, argv + 1);

  fprintf (stderr, _("heraldctl queue: unknown command “%s”\n\n"), sub);
  print_queue_help (stderr);
  return HERALD_EX_USAGE;
}
