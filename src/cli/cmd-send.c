/* SPDX-License-Identifier: GPL-3.0-or-later
 * Copyright 2026 The Herald authors
 */
#define G_LOG_DOMAIN "herald-cli"

#include "config.h"

#include <errno.h>
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
#include "herald-report.h"
#include "herald-sendmail-args.h"

/* heraldctl send, and heraldctl under the name "sendmail": one attempt at
 * once with the profile, then the queue for whatever did not go out. Exit
 * statuses are sendmail's (sysexits.h), because cron, mdadm and every other
 * caller read them that way. */

/* ---- shared with heraldctl queue ----------------------------------------------- */

HeraldProfile *
_herald_cli_open_profile (const char  *command,
                          int         *status)
{
  g_autoptr(GError) error = NULL;
  HeraldProfile *profile = herald_profile_new_user (&error);

  if (profile == NULL)
    {
      fprintf (stderr, "%s: %s\n", command, error->message);
      fprintf (stderr, _("Set up the alert mail settings in Herald's window, or with “heraldctl "
                         "config set”.\n"));
      *status = HERALD_EX_CONFIG;
    }
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
  printf (_("Usage: %s [--subject TEXT] [--json] [-t] [-i] [-oi] [-f ADDR] [-r ADDR] [-F NAME]\n"
            "       [-odq | --queue-only] [-o* …] [-B* …] [--] [RECIPIENT…]\n"), name);
  printf ("\n%s\n", _("Deliver an alert with the saved profile: at once, or through the queue "
                      "when the server cannot take it now."));
  printf ("\n%s\n", _("With --subject, standard input is the plain-text body. Without it, "
                      "standard input is a whole message, as sendmail reads it (to end of file)."));
  printf ("%s\n", _("-t also sends to the To, Cc and Bcc of the message. Without any recipient, "
                    "the profile's To and Cc get it."));
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

/* ---- the command -------------------------------------------------------------------- */

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
  int status = HERALD_EX_OK;
  gsize max_size;

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
        char *list_argv[] = { (char *) "list", args->json ? (char *) "--json" : NULL, NULL };

        return herald_cli_queue_list (args->json ? 2 : 1, list_argv);
      }
    case HERALD_SEND_MODE_FLUSH:
      {
        char *flush_argv[] = { (char *) "flush", args->json ? (char *) "--json" : NULL, NULL };

        return herald_cli_queue_flush (args->json ? 2 : 1, flush_argv);
      }
    case HERALD_SEND_MODE_SEND:
    default:
      break;
    }

  profile = _herald_cli_open_profile (command, &status);
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
