/* SPDX-License-Identifier: GPL-3.0-or-later
 * Copyright 2026 The Herald authors
 */
#define G_LOG_DOMAIN "herald-cli"

#include "config.h"

#include <errno.h>
#include <pwd.h>
#include <glib/gi18n.h>
#include <json-glib/json-glib.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "herald-cli.h"
#include "herald-cli-util.h"
#include "herald-cli-send.h"
#include "herald-delivery.h"
#include "herald-message.h"
#include "herald-graph-transport.h"
#include "herald-profile.h"
#include "herald-queue-run.h"
#include "herald-json.h"
#include "herald-maildrop.h"
#include "herald-maildrop-run.h"
#include "herald-report.h"
#include "herald-sendmail-args.h"

/* heraldctl send, and heraldctl under the name "sendmail": one attempt at
 * once with the profile, then the queue for whatever did not go out. Exit
 * statuses are sendmail's (sysexits.h), because cron, mdadm and every other
 * caller read them that way. */

/* ---- shared with heraldctl queue ----------------------------------------------- */

gboolean
_herald_cli_take_scope (const char          *command,
                        int                 *argc,
                        char               **argv,
                        gboolean             allow_user,
                        HeraldProfileScope  *scope,
                        int                 *status)
{
  int out = 1;
  gboolean done = FALSE;

  *scope = HERALD_PROFILE_SCOPE_AUTO;
  for (int i = 1; i < *argc; i++)
    {
      HeraldProfileScope found = HERALD_PROFILE_SCOPE_AUTO;

      if (!done && g_strcmp0 (argv[i], "--") == 0)
        done = TRUE;
      else if (!done && g_strcmp0 (argv[i], "--system") == 0)
        found = HERALD_PROFILE_SCOPE_SYSTEM;
      else if (!done && allow_user && g_strcmp0 (argv[i], "--user") == 0)
        found = HERALD_PROFILE_SCOPE_USER;

      if (found == HERALD_PROFILE_SCOPE_AUTO)
        {
          argv[out++] = argv[i];
          continue;
        }
      if (*scope != HERALD_PROFILE_SCOPE_AUTO && *scope != found)
        {
          fprintf (stderr, _("%s: --system and --user exclude each other\n"), command);
          *status = HERALD_EX_USAGE;
          return FALSE;
        }
      *scope = found;
    }
  argv[out] = NULL;
  *argc = out;
  return TRUE;
}

HeraldProfile *
_herald_cli_open_profile (const char         *command,
                          HeraldProfileScope  scope,
                          gboolean            for_writing,
                          int                *status)
{
  g_autoptr(GError) error = NULL;
  HeraldProfile *profile = herald_profile_open (scope, for_writing, &error);

  if (profile == NULL)
    {
      fprintf (stderr, "%s: %s\n", command, error->message);
      if (g_error_matches (error, HERALD_PROFILE_ERROR, HERALD_PROFILE_ERROR_NO_SETTINGS))
        fprintf (stderr, _("Set up the alert mail settings in Herald's window, or with "
                           "“heraldctl config set”.\n"));
      *status = HERALD_EX_CONFIG;
      return NULL;
    }
  /* login, logout and test read GSettings: the system profile gives them
   * its values (and takes what login saves). */
  _herald_cli_set_settings (herald_profile_get_settings (profile));
  return profile;
}

/* The profile's engine configuration, or NULL after saying why (exit 78:
 * no server saved). */
HeraldSmtpConfig *
_herald_cli_profile_config (HeraldProfile *profile,
                            const char    *command,
                            int           *status)
{
  g_autoptr(GError) error = NULL;
  HeraldSmtpConfig *config = herald_profile_to_smtp_config (profile, &error);

  if (config == NULL)
    {
      fprintf (stderr, "%s: %s\n", command, error->message);
      if (herald_profile_is_system (profile))
        fprintf (stderr, _("Run “heraldctl config --system set server HOST” and “heraldctl config "
                           "--system set from ADDRESS” as root first.\n"));
      else
        fprintf (stderr, _("Save the settings in Herald's window first, or run “heraldctl config "
                           "set server HOST” and “heraldctl config set from ADDRESS”.\n"));
      *status = HERALD_EX_CONFIG;
    }
  return config;
}

gboolean
_herald_cli_alerts_enabled (HeraldProfile *profile,
                            const char    *command)
{
  if (herald_profile_get_boolean (profile, "alerts-enabled"))
    return TRUE;

  fprintf (stderr, _("%s: sending alerts is switched off, so nothing was sent or queued.\n"),
           command);
  if (herald_profile_is_system (profile))
    fprintf (stderr, _("Turn it on as root: heraldctl config --system set alerts-enabled true\n"));
  else
    fprintf (stderr, _("Turn on “Send email alerts” in Herald's window, or run: heraldctl config "
                       "set alerts-enabled true\n"));
  return FALSE;
}

/* Fills the config's secret: the password from the profile's credential
 * store, or the OAuth access token (refreshed first when it is about to
 * expire). Returns NULL when done, else the report of a failure found
 * before any connection (the queue keeps the message then). */
HeraldDeliveryReport *
_herald_cli_fill_credentials (HeraldProfile    *profile,
                              HeraldSmtpConfig *config,
                              const char       *command,
                              GCancellable     *cancellable)
{
  const HeraldTransport *transport = herald_transport_smtp ();
  g_autoptr(GError) error = NULL;

  if (config->auth == HERALD_AUTH_NONE || config->username == NULL)
    return NULL;

  if (config->auth == HERALD_AUTH_XOAUTH2 || config->auth == HERALD_AUTH_OAUTHBEARER)
    {
      /* Delegated, or app-only SMTP (oauth-mode app-only). */
      __typeof__ (herald_graph_fill_smtp_token) *fill_token =
        _herald_cli_oauth_symbol (command, "herald_graph_fill_smtp_token");

      if (fill_token == NULL)
        {
          g_set_error (&error, HERALD_PROFILE_ERROR, HERALD_PROFILE_ERROR_INCOMPLETE,
                       _("OAuth 2.0 support is not available in this installation"));
          return herald_delivery_report_new_local (transport, config, HERALD_STAGE_AUTH, error);
        }
      if (!fill_token (config, herald_profile_get_settings (profile), NULL, cancellable, &error))
        return herald_delivery_report_new_local (transport, config, HERALD_STAGE_AUTH, error);
      return NULL;
    }

  {
    char *password = herald_profile_lookup_password (profile, cancellable, &error);

    if (error != NULL)
      return herald_delivery_report_new_local (transport, config, HERALD_STAGE_AUTH, error);
    if (password == NULL)
      {
        g_set_error (&error, HERALD_PROFILE_ERROR, HERALD_PROFILE_ERROR_INCOMPLETE,
                     _("no password is saved in %s for %s on %s:%u; store it with “heraldctl "
                       "config password --stdin”"),
                     herald_profile_describe_credentials (profile), config->username,
                     config->host, config->port);
        return herald_delivery_report_new_local (transport, config, HERALD_STAGE_AUTH, error);
      }
    config->password = g_strdup (password);
    _herald_cli_secret_free (password);
  }
  return NULL;
}

JsonNode *
_herald_cli_reply_to_json (const HeraldSmtpReply *reply)
{
  g_autoptr(JsonBuilder) b = json_builder_new ();

  if (reply == NULL)
    return json_node_new (JSON_NODE_NULL);

  json_builder_begin_object (b);
  json_builder_set_member_name (b, "code");
  json_builder_add_int_value (b, reply->code);
  json_builder_set_member_name (b, "enhanced");
  if (reply->enhanced != NULL)
    json_builder_add_string_value (b, reply->enhanced);
  else
    json_builder_add_null_value (b);
  json_builder_set_member_name (b, "text");
  json_builder_add_string_value (b, reply->text != NULL ? reply->text : "");
  json_builder_end_object (b);
  return json_builder_get_root (b);
}

void
_herald_cli_print_json (JsonNode *node)
{
  g_autofree char *text = herald_json_to_string (node, TRUE);

  fputs (text, stdout);
  fputc ('\n', stdout);
  fflush (stdout);
}

/* "herald: queued 0005f…: Connection refused" and, for held messages, who
 * must act. */
void
_herald_cli_print_outcome_line (const char                 *id,
                                const HeraldDeliveryReport *report)
{
  const char *title = report->diagnosis != NULL ? report->diagnosis->title
                      : report->result->error != NULL ? report->result->error->message
                      : _("unknown error");

  fprintf (stderr, "herald: %s %s: %s\n", herald_outcome_to_string (report->outcome),
           id != NULL ? id : "-", title);
  if (report->outcome != HERALD_OUTCOME_QUEUED && report->diagnosis != NULL)
    fprintf (stderr, "herald: %s\n", herald_actor_describe (report->diagnosis->actor));
}

/* ---- the system maildrop ------------------------------------------------------------ */

static char **
profile_list (HeraldProfile *profile,
              const char    *key);

/* Root's runner: every complete maildrop file into the system queue, before
 * a flush. Says what it refused on stderr (also with --quiet: a refused or
 * removed file is something the administrator must hear about). */
void
_herald_cli_take_maildrop (HeraldProfile    *profile,
                           HeraldSmtpConfig *config,
                           HeraldQueue      *queue,
                           const char       *command,
                           gboolean          quiet)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) items = NULL;
  g_autoptr(GPtrArray) recipients = g_ptr_array_new_with_free_func (g_free);
  g_auto(GStrv) to = profile_list (profile, "to");
  g_auto(GStrv) cc = profile_list (profile, "cc");
  g_auto(GStrv) local = profile_list (profile, "local-recipients");
  HeraldMessageOptions options = { 0 };

  for (guint i = 0; to != NULL && to[i] != NULL; i++)
    g_ptr_array_add (recipients, g_strdup (to[i]));
  for (guint i = 0; cc != NULL && cc[i] != NULL; i++)
    g_ptr_array_add (recipients, g_strdup (cc[i]));
  g_ptr_array_add (recipients, NULL);
  if (local == NULL)
    local = g_strdupv (to);

  options.profile_from = config->from;
  options.profile_recipients = (const char * const *) recipients->pdata;
  options.local_recipients = (const char * const *) local;
  options.rewrite_from = TRUE;
  options.max_size = (gsize) herald_profile_get_number (profile, "max-message-size");

  items = herald_maildrop_ingest (queue, herald_profile_system_maildrop_dir (), &options,
                                  _herald_cli_relay_system_uid (), &error);
  if (items == NULL)
    {
      fprintf (stderr, "%s: %s\n", command, error->message);
      return;
    }
  for (guint i = 0; i < items->len; i++)
    {
      HeraldMaildropItem *item = g_ptr_array_index (items, i);
      g_autofree char *who = _herald_cli_describe_uid (item->uid);

      if (g_str_equal (item->outcome, "queued"))
        {
          if (!quiet)
            printf (_("%s  taken from the maildrop (submitted by %s)\n"), item->id, who);
        }
      else if (g_str_equal (item->outcome, "failed"))
        fprintf (stderr, _("herald: maildrop file from %s refused, kept as failed %s: %s\n"),
                 who, item->id, item->reason);
      else if (g_str_equal (item->outcome, "removed"))
        fprintf (stderr, _("herald: maildrop entry from %s %s\n"), who, item->reason);
      else if (!quiet)
        fprintf (stderr, _("herald: maildrop file from %s left for later: %s\n"), who,
                 item->reason);
    }
}

char *
_herald_cli_describe_uid (gint64 uid)
{
  const char *name;

  if (uid < 0)
    return g_strdup ("-");
  name = NULL;
  {
    struct passwd *pw = getpwuid ((uid_t) uid);

    if (pw != NULL)
      name = pw->pw_name;
  }
  return name != NULL ? g_strdup_printf ("uid %" G_GINT64_FORMAT " (%s)", uid, name)
                      : g_strdup_printf ("uid %" G_GINT64_FORMAT, uid);
}

/* ---- input ------------------------------------------------------------------------ */

/* Standard input to EOF (a lone "." never ends it), at most @max + 1 bytes
 * so that a message over the cap is known without reading all of it. */
static GBytes *
read_stdin (gsize    max,
            GError **error)
{
  g_autoptr(GByteArray) buf = g_byte_array_new ();
  guint8 chunk[65536];

  for (;;)
    {
      ssize_t n = read (STDIN_FILENO, chunk, sizeof chunk);

      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        {
          int saved = errno;

          g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved),
                       _("cannot read standard input: %s"), g_strerror (saved));
          return NULL;
        }
      if (n == 0)
        break;
      g_byte_array_append (buf, chunk, (guint) n);
      if (max > 0 && buf->len > max)
        break;
    }
  return g_byte_array_free_to_bytes (g_steal_pointer (&buf));
}

static void
print_help (const char *name)
{
  printf (_("Usage: %s [--system | --user] [--subject TEXT] [--json] [-t] [-i] [-oi] [-f ADDR]\n"
            "       [-r ADDR] [-F NAME] [-odq | --queue-only] [-o* …] [-B* …] [--] [RECIPIENT…]\n"),
          name);
  printf ("\n%s\n", _("Deliver an alert with the saved profile: at once, or through the queue "
                      "when the server cannot take it now."));
  printf ("\n%s\n", _("With --subject, standard input is the plain-text body. Without it, "
                      "standard input is a whole message, as sendmail reads it (to end of file)."));
  printf ("%s\n", _("-t also sends to the To, Cc and Bcc of the message. Without any recipient, "
                    "the profile's To and Cc get it."));
  printf ("%s\n", _("--system uses the system profile, --user the user profile; without either, "
                    "the user profile when a session bus is reachable and a server is saved in it, "
                    "else the system profile."));
  printf ("%s\n", _("-bp lists the queue, -q flushes it. -i, -oi, -o*, -B*, -N*, -R*, -V*, -h*, "
                    "-L*, -m, -n, -U and -v are accepted and ignored, as Postfix does."));
  printf ("\n%s\n", _("Exit status: 0 sent, queued or held; 64 bad usage; 65 bad input; 67 "
                      "recipients refused; 69 sending alerts is switched off; 73/75 the queue "
                      "could not be written; 78 no profile."));
}

static int
queue_write_status (const GError *error)
{
  /* A full disk or a file-size limit may pass; a directory we may not
   * create will not. */
  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_NO_SPACE))
    return HERALD_EX_TEMPFAIL;
  return HERALD_EX_CANTCREAT;
}

static void
print_send_json (const char                  *outcome,
                 const char                  *id,
                 const HeraldPreparedMessage *message,
                 const HeraldDeliveryReport  *report,
                 gboolean                     maybe_duplicate)
{
  g_autoptr(JsonBuilder) b = json_builder_new ();
  g_autoptr(JsonNode) root = NULL;

  json_builder_begin_object (b);
  json_builder_set_member_name (b, "outcome");
  json_builder_add_string_value (b, outcome);
  json_builder_set_member_name (b, "id");
  if (id != NULL)
    json_builder_add_string_value (b, id);
  else
    json_builder_add_null_value (b);
  json_builder_set_member_name (b, "message_id");
  json_builder_add_string_value (b, message->message_id);
  json_builder_set_member_name (b, "transport");
  json_builder_add_string_value (b, report != NULL ? report->transport
                                                   : herald_transport_smtp ()->name);
  json_builder_set_member_name (b, "recipients");
  json_builder_begin_array (b);
  for (guint i = 0; message->recipients[i] != NULL; i++)
    json_builder_add_string_value (b, message->recipients[i]);
  json_builder_end_array (b);
  json_builder_set_member_name (b, "reply");
  json_builder_add_value (b, _herald_cli_reply_to_json (report != NULL ? report->result->reply
                                                                       : NULL));
  json_builder_set_member_name (b, "diagnosis");
  json_builder_add_value (b, herald_diagnosis_to_json (report != NULL ? report->diagnosis : NULL));
  json_builder_set_member_name (b, "maybe_duplicate");
  json_builder_add_boolean_value (b, maybe_duplicate);
  json_builder_end_object (b);

  root = json_builder_get_root (b);
  _herald_cli_print_json (root);
}

static char **
profile_list (HeraldProfile *profile,
              const char    *key)
{
  g_autofree char *text = herald_profile_get_string (profile, key);

  return text != NULL ? herald_address_list_split (text) : NULL;
}

/* Hands @message to the Herald service through the system maildrop. */
static int
drop_for_service (const char                  *command,
                  const HeraldPreparedMessage *message,
                  gboolean                     json)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) file = NULL;
  g_autofree char *name = NULL;

  file = herald_maildrop_build (message->data, (const char * const *) message->recipients, &error);
  if (file != NULL)
    name = herald_maildrop_write (herald_profile_system_maildrop_dir (), file, &error);
  if (name == NULL)
    {
      fprintf (stderr, _("%s: the message could not be handed to the Herald service: %s\n"),
               command, error->message);
      if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND))
        fprintf (stderr, _("The system queue is not set up: as root, run “heraldctl queue "
                           "--system flush” once (or any “heraldctl config --system set”).\n"));
      return g_error_matches (error, G_IO_ERROR, G_IO_ERROR_NO_SPACE) ? HERALD_EX_TEMPFAIL
                                                                      : HERALD_EX_CANTCREAT;
    }
  if (json)
    print_send_json ("queued", NULL, message, NULL, FALSE);
  fprintf (stderr, "%s\n", _("herald: queued for the Herald service"));
  return HERALD_EX_OK;
}

/* ---- the command -------------------------------------------------------------------- */

static const char *
scope_option (HeraldProfileScope scope)
{
  return scope == HERALD_PROFILE_SCOPE_SYSTEM ? "--system"
         : scope == HERALD_PROFILE_SCOPE_USER ? "--user" : NULL;
}

/* Drops the NULLs from a short argv of optional words; returns argc. */
static int
compact_argv (char **argv)
{
  int n = 0;

  for (int i = 0; i < 3; i++)
    if (argv[i] != NULL)
      argv[n++] = argv[i];
  argv[n] = NULL;
  return n;
}

int
herald_cli_send (int    argc,
                 char **argv)
{
  g_autofree char *name = g_path_get_basename (argv[0]);
  g_autofree char *command = g_str_equal (name, "send") ? g_strdup ("heraldctl send")
                                                        : g_strdup (name);
  g_autoptr(GError) error = NULL;
  g_autoptr(HeraldSendArgs) args = NULL;
  g_autoptr(HeraldProfile) profile = NULL;
  g_autoptr(HeraldSmtpConfig) config = NULL;
  g_autoptr(GBytes) input = NULL;
  g_autoptr(HeraldPreparedMessage) message = NULL;
  g_autoptr(HeraldQueue) queue = NULL;
  g_autoptr(HeraldDeliveryReport) report = NULL;
  g_autoptr(GPtrArray) reports = NULL;
  g_autoptr(GPtrArray) recipients = g_ptr_array_new_with_free_func (g_free);
  const HeraldTransport *transport = NULL;
  g_auto(GStrv) profile_to = NULL;
  g_auto(GStrv) profile_cc = NULL;
  g_auto(GStrv) local = NULL;
  g_autofree char *id = NULL;
  HeraldMessageOptions options = { 0 };
  HeraldProfileScope scope = HERALD_PROFILE_SCOPE_AUTO;
  int status = HERALD_EX_OK;
  gsize max_size;

  if (!_herald_cli_take_scope (command, &argc, argv, TRUE, &scope, &status))
    return status;
  args = herald_send_args_parse (argc, argv, &error);
  if (args == NULL)
    {
      fprintf (stderr, "%s: %s\n", command, error->message);
      fprintf (stderr, _("Run “heraldctl send --help” for the options.\n"));
      return HERALD_EX_USAGE;
    }

  switch (args->mode)
    {
    case HERALD_SEND_MODE_HELP:
      print_help (command);
      return HERALD_EX_OK;
    case HERALD_SEND_MODE_LIST:
      {
        char *list_argv[] = { (char *) "list", (char *) scope_option (scope),
                              (char *) (args->json ? "--json" : NULL), NULL };

        return herald_cli_queue_list (compact_argv (list_argv), list_argv);
      }
    case HERALD_SEND_MODE_FLUSH:
      {
        char *flush_argv[] = { (char *) "flush", (char *) scope_option (scope),
                               (char *) (args->json ? "--json" : NULL), NULL };

        return herald_cli_queue_flush (compact_argv (flush_argv), flush_argv);
      }
    case HERALD_SEND_MODE_SEND:
    default:
      break;
    }

  profile = _herald_cli_open_profile (command, scope, FALSE, &status);
  if (profile == NULL)
    return status;
  /* The gate comes first: with alerts off, nothing is read, sent or queued. */
  if (!_herald_cli_alerts_enabled (profile, command))
    return HERALD_EX_UNAVAILABLE;
  config = _herald_cli_profile_config (profile, command, &status);
  if (config == NULL)
    return status;

  max_size = (gsize) herald_profile_get_number (profile, "max-message-size");
  input = read_stdin (max_size, &error);
  if (input == NULL)
    {
      fprintf (stderr, "%s: %s\n", command, error->message);
      return HERALD_EX_DATAERR;
    }

  profile_to = profile_list (profile, "to");
  profile_cc = profile_list (profile, "cc");
  for (guint i = 0; profile_to != NULL && profile_to[i] != NULL; i++)
    g_ptr_array_add (recipients, g_strdup (profile_to[i]));
  for (guint i = 0; profile_cc != NULL && profile_cc[i] != NULL; i++)
    g_ptr_array_add (recipients, g_strdup (profile_cc[i]));
  g_ptr_array_add (recipients, NULL);
  local = profile_list (profile, "local-recipients");
  if (local == NULL)
    local = g_strdupv (profile_to);

  options.subject = args->subject;
  options.extract = args->extract;
  options.envelope_from = args->sender;
  options.full_name = args->full_name;
  options.recipients = (const char * const *) args->recipients;
  options.profile_from = config->from;
  options.profile_recipients = (const char * const *) recipients->pdata;
  options.local_recipients = (const char * const *) local;
  options.rewrite_from = herald_profile_get_boolean (profile, "rewrite-from");
  /* For the maildrop the root runner rewrites the From (and records the
   * original): the caller keeps the message's own. */
  if (herald_profile_is_system (profile) && geteuid () != 0)
    options.rewrite_from = FALSE;
  options.max_size = max_size;

  {
    gsize length;
    const char *data = g_bytes_get_data (input, &length);

    message = herald_message_prepare (data, length, &options, &error);
  }
  if (message == NULL)
    {
      fprintf (stderr, "%s: %s\n", command, error->message);
      return HERALD_EX_DATAERR;
    }

  /* A caller that is not root never reads the system profile's secrets:
   * its message goes to the maildrop, and the root runner delivers it. */
  if (herald_profile_is_system (profile) && geteuid () != 0)
    return drop_for_service (command, message, args->json);
  if (herald_profile_is_system (profile) && !herald_profile_ensure_system_spool (&error))
    {
      fprintf (stderr, _("%s: the message could not be queued: %s\n"), command, error->message);
      return HERALD_EX_CANTCREAT;
    }

  queue = herald_queue_new (herald_profile_get_queue_dir (profile));

  if (args->queue_only)
    {
      id = herald_queue_store (queue, message, NULL, HERALD_QUEUE_STATE_QUEUED, &error);
      if (id == NULL)
        {
          fprintf (stderr, _("%s: the message could not be queued: %s\n"), command,
                   error->message);
          return queue_write_status (error);
        }
      if (args->json)
        print_send_json ("queued", id, message, NULL, FALSE);
      return HERALD_EX_OK;
    }

  report = _herald_cli_prepare_transport (profile, config, command, NULL, &transport);
  if (report == NULL)
    {
      HeraldDeliveryMessage m = {
        message->data, message->sender, (const char * const *) message->recipients,
        message->eight_bit
      };

      reports = herald_deliver (transport, config, &m, 1, NULL, NULL, NULL, NULL);
      report = g_steal_pointer (&g_ptr_array_index (reports, 0));
    }
  g_clear_pointer (&transport, herald_transport_free);

  if (report->outcome == HERALD_OUTCOME_SENT)
    {
      /* sendmail is silent when all went well. */
      if (args->json)
        print_send_json ("sent", NULL, message, report, FALSE);
      return HERALD_EX_OK;
    }

  /* Not sent: the queue keeps it, whatever the reason (failed ones for the
   * record). */
  id = herald_queue_store (queue, message, report,
                           report->outcome == HERALD_OUTCOME_HELD ? HERALD_QUEUE_STATE_HELD
                           : report->outcome == HERALD_OUTCOME_QUEUED ? HERALD_QUEUE_STATE_QUEUED
                           : HERALD_QUEUE_STATE_FAILED,
                           &error);
  if (id == NULL)
    {
      fprintf (stderr, _("%s: not sent (%s), and the message could not be queued: %s\n"),
               command,
               report->diagnosis != NULL ? report->diagnosis->title
               : report->result->error != NULL ? report->result->error->message : "",
               error->message);
      return queue_write_status (error);
    }

  if (args->json)
    print_send_json (herald_outcome_to_string (report->outcome), id, message, report,
                     report->last_byte_sent);
  _herald_cli_print_outcome_line (id, report);
  if (report->outcome == HERALD_OUTCOME_FAILED_RECIPIENTS ||
      report->outcome == HERALD_OUTCOME_FAILED_CONTENT)
    {
      if (report->diagnosis != NULL && !args->json)
        herald_diagnosis_print (report->diagnosis, stderr);
    }

  return herald_outcome_exit_status (report->outcome);
}
