/* SPDX-License-Identifier: GPL-3.0-or-later
 * Copyright 2026 The Herald authors
 */
#define G_LOG_DOMAIN "herald-cli"

#include "config.h"

#include <errno.h>
#include <glib/gi18n.h>
#include <glib-unix.h>
#include <json-glib/json-glib.h>
#include <stdio.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>
#include <inttypes.h>

#include "herald-cli.h"
#include "herald-history.h"
#include "herald-graph-transport.h"
#include "herald-cli-util.h"
#include "herald-diagnosis.h"
#include "herald-json.h"
#include "herald-oauth-smtp.h"
#include "herald-report.h"
#include "herald-secrets.h"
#include "herald-smtp.h"
#include "herald-smtp-steps.h"

/* heraldctl test: runs the engine once, like the window's Send Test Email.
 * Options not given on the command line fall back to the saved settings
 * (GSettings) and, for the password, to the keyring. */

#define MAX_SECRET_LENGTH   4096
/* Microsoft's access tokens (JWTs) run to a few kilobytes, more with many
 * group claims. */
#define MAX_TOKEN_LENGTH    16384

/* ---------------------------------------------------------------------------
 * The live step list: the engine's step model (herald-smtp-steps.h), the
 * same steps in the same order as the window's, one line per step once it
 * is over.
 * ------------------------------------------------------------------------- */

typedef struct {
  GMainLoop         *loop;
  GCancellable      *cancellable;
  HeraldSmtpResult  *result;
  GError            *error;

  FILE              *out;          /* where the step list goes; NULL in --json mode */
  gboolean           tty;          /* out is a terminal: show the running step */
  gboolean           utf8;
  HeraldStepTracker *steps;
  gboolean           printed[HERALD_N_STEPS];
  HeraldStep         running_shown; /* the step whose "running" line is on screen */
  gboolean           interrupted;
  gboolean           graph;        /* the Microsoft Graph transport */
} TestRun;

static const char *
mark_ok (TestRun *run)
{
  return run->utf8 ? "✓" : "ok";
}

static const char *
mark_failed (TestRun *run)
{
  return run->utf8 ? "✗" : "FAILED";
}

static void
clear_running_line (TestRun *run)
{
  if (run->running_shown == HERALD_STEP_NONE)
    return;
  fputs ("\r\033[K", run->out);
  run->running_shown = HERALD_STEP_NONE;
}

/* Prints every step that is over and not printed yet, in the model's order,
 * then (on a terminal) the one running now. */
static void
print_steps (TestRun *run)
{
  const HeraldStep *order = herald_step_tracker_get_order (run->steps);
  HeraldStep running = HERALD_STEP_NONE;

  if (run->out == NULL)
    return;

  for (guint i = 0; i < HERALD_N_STEPS; i++)
    {
      HeraldStep step = order[i];
      HeraldStepStatus status = herald_step_tracker_get_status (run->steps, step);

      if (status == HERALD_STEP_STATE_RUNNING)
        running = step;
      if (run->printed[step] || !herald_step_tracker_is_final (run->steps, step))
        continue;

      {
        g_autofree char *duration = herald_format_duration (herald_step_tracker_get_ms (run->steps,
                                                                                          step));

        if (run->tty)
          clear_running_line (run);
        fprintf (run->out, "  %s %s  %s\n",
                 status == HERALD_STEP_STATE_FAILED ? mark_failed (run) : mark_ok (run),
                 herald_step_get_title (step), duration);
        run->printed[step] = TRUE;
      }
    }

  if (run->tty && running != HERALD_STEP_NONE && running != run->running_shown)
    {
      clear_running_line (run);
      fprintf (run->out, "  %s %s", run->utf8 ? "…" : "..", herald_step_get_title (running));
      run->running_shown = running;
    }
  fflush (run->out);
}

/* Runs on the main thread (the engine delivers progress to our context). */
static void
progress_cb (const HeraldProgress *progress,
             gpointer              user_data)
{
  TestRun *run = user_data;

  if (herald_step_tracker_update (run->steps, progress) != HERALD_STEP_NONE)
    print_steps (run);
}

static void
run_done_cb (GObject      *source,
             GAsyncResult *result,
             gpointer      user_data)
{
  TestRun *run = user_data;

  run->result = herald_smtp_run_finish (result, &run->error);
  g_main_loop_quit (run->loop);
}

static gboolean
sigint_cb (gpointer user_data)
{
  TestRun *run = user_data;

  run->interrupted = TRUE;
  g_cancellable_cancel (run->cancellable);

  /* Removing the source restores the default action: a second Ctrl+C
   * ends the program at once should cancelling ever get stuck. */
  return G_SOURCE_REMOVE;
}

/* ---------------------------------------------------------------------------
 * Secrets
 * ------------------------------------------------------------------------- */

typedef enum {
  SECRET_PASSWORD,   /* --password-stdin */
  SECRET_TOKEN,      /* --token-stdin: an OAuth 2.0 access token */
} SecretKind;

/* One line from standard input, through the CLI's shared secret reader. */
static char *
read_secret_line_raw (SecretKind   kind,
                      GError     **error)
{
  if (kind == SECRET_TOKEN)
    return _herald_cli_read_secret_line_raw ("--token-stdin", _("access token"),
                                             MAX_TOKEN_LENGTH, error);
  return _herald_cli_read_secret_line_raw ("--password-stdin", _("password"),
                                           MAX_SECRET_LENGTH, error);
}

/* On a terminal, asks for the password (or token) without echoing it; from
 * a pipe, reads silently. */
static char *
read_secret_line (SecretKind   kind,
                  GError     **error)
{
  struct termios saved, quiet;
  gboolean tty = isatty (STDIN_FILENO) && tcgetattr (STDIN_FILENO, &saved) == 0;
  char *secret;

  if (!tty)
    return read_secret_line_raw (kind, error);

  /* Echo goes off before the prompt shows, so nothing typed after the
   * prompt can appear; TCSANOW keeps what was typed ahead. */
  quiet = saved;
  quiet.c_lflag &= ~(tcflag_t) ECHO;
  tcsetattr (STDIN_FILENO, TCSANOW, &quiet);
  fputs (kind == SECRET_TOKEN ? _("Access token: ") : _("Password: "), stderr);
  fflush (stderr);
  secret = read_secret_line_raw (kind, error);
  tcsetattr (STDIN_FILENO, TCSANOW, &saved);
  fputc ('\n', stderr);

  return secret;
}

/* ---------------------------------------------------------------------------
 * Options
 * ------------------------------------------------------------------------- */

typedef struct {
  char     *server;
  char     *port;
  char     *security;
  char     *auth;
  char     *user;
  gboolean  password_stdin;
  gboolean  token_stdin;
  char     *from;
  char    **to;
  char    **cc;
  char     *subject;
  char     *extra_text;
  char     *ca_file;
  char     *timeout;
  char     *deadline;
  gboolean  json;
  gboolean  allow_plaintext_auth;
  char     *transport;
  char     *graph_endpoint;
  gboolean  app;
  gboolean  system;   /* for --help only: heraldctl.c takes --system out first */
} TestOptions;

static void
test_options_clear (TestOptions *o)
{
  g_free (o->transport);
  g_free (o->graph_endpoint);
  g_clear_pointer (&o->server, g_free);
  g_clear_pointer (&o->port, g_free);
  g_clear_pointer (&o->security, g_free);
  g_clear_pointer (&o->auth, g_free);
  g_clear_pointer (&o->user, g_free);
  g_clear_pointer (&o->from, g_free);
  g_clear_pointer (&o->to, g_strfreev);
  g_clear_pointer (&o->cc, g_strfreev);
  g_clear_pointer (&o->subject, g_free);
  g_clear_pointer (&o->extra_text, g_free);
  g_clear_pointer (&o->ca_file, g_free);
  g_clear_pointer (&o->timeout, g_free);
  g_clear_pointer (&o->deadline, g_free);
}

/* Every usage error here is the test command's. The last one's message is
 * kept: a test its settings stop (no server, a bad address) still goes into
 * the history, with that message. */
static char *last_usage_message;

static int test_usage_error (const char *format,
                             ...) G_GNUC_PRINTF (1, 2);

static int
test_usage_error (const char *format,
                  ...)
{
  va_list args;

  g_free (last_usage_message);
  va_start (args, format);
  last_usage_message = g_strdup_vprintf (format, args);
  va_end (args);

  return _herald_cli_usage_error ("test", "%s", last_usage_message);
}

#define usage_error(...) test_usage_error (__VA_ARGS__)

/* The window's History and "heraldctl history" list every test, whatever
 * stopped it. A history that cannot be written does not change the test's
 * outcome. */
static void
record_history (const HeraldSmtpConfig *config,
                const HeraldSmtpResult *result,
                const HeraldDiagnosis  *diagnosis,
                GPtrArray              *notices,
                const char             *transport)
{
  g_autoptr(HeraldHistoryEntry) entry =
    herald_history_entry_new (config, result, diagnosis, notices, transport);
  g_autoptr(GError) history_error = NULL;

  if (!herald_history_add (entry, &history_error))
    fprintf (stderr, _("heraldctl test: the test is not in the history: %s\n"),
             history_error->message);
}

/* A test that stopped before any connection, on its settings (a missing
 * server, a bad address) or because it could not start: failed before the
 * first step, with the message the user was given. */
static void
record_stopped (const HeraldSmtpConfig *config,
                gboolean                graph,
                const char             *message)
{
  g_autoptr(GError) error = g_error_new_literal (G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                                                 message != NULL
                                                   ? message : _("the test could not run"));
  g_autoptr(HeraldSmtpResult) result = herald_smtp_result_new_failed (HERALD_STAGE_RESOLVE, error);

  record_history (config, result, NULL, NULL, graph ? "graph" : "smtp");
}

/* Appends each address of each item ("a@x, b@y" allowed in one item). */
static void
add_addresses (GPtrArray          *out,
               const char * const *items)
{
  for (guint i = 0; items != NULL && items[i] != NULL; i++)
    {
      g_auto(GStrv) split = herald_address_list_split (items[i]);

      for (guint j = 0; split != NULL && split[j] != NULL; j++)
        g_ptr_array_add (out, g_strdup (split[j]));
    }
}

/* The addresses of the option when given, else those of the saved @key. */
static void
add_addresses_or_saved (GPtrArray  *out,
                        char      **option,
                        GSettings  *settings,
                        const char *key)
{
  if (option != NULL)
    add_addresses (out, (const char * const *) option);
  else
    {
      g_autofree char *saved = _herald_cli_setting_string (settings, key);
      const char *items[] = { saved, NULL };

      add_addresses (out, items);
    }
}

/* The first address of @addresses that is not valid, or NULL. */
static const char *
first_invalid_address (GPtrArray *addresses)
{
  for (guint i = 0; i < addresses->len; i++)
    if (!herald_address_is_valid (g_ptr_array_index (addresses, i)))
      return g_ptr_array_index (addresses, i);

  return NULL;
}

static gboolean
parse_number (const char *text,
              guint64     min,
              guint64     max,
              guint64    *out)
{
  g_autofree char *stripped = g_strstrip (g_strdup (text));

  return g_ascii_string_to_unsigned (stripped, 10, min, max, out, NULL);
}

static gboolean
auth_uses_password (HeraldAuthMethod auth)
{
  return auth == HERALD_AUTH_AUTO || auth == HERALD_AUTH_PLAIN || auth == HERALD_AUTH_LOGIN;
}

/* ---------------------------------------------------------------------------
 * Output
 * ------------------------------------------------------------------------- */

static void
print_json (const HeraldSmtpResult *result,
            const HeraldDiagnosis  *diagnosis,
            GPtrArray              *notices,
            const char             *transport)
{
  g_autoptr(JsonNode) node = herald_result_to_json (result, diagnosis, notices);
  g_autofree char *text = NULL;

  /* The same shape as heraldctl send's: which transport carried it. */
  json_object_set_string_member (json_node_get_object (node), "transport", transport);
  text = herald_json_to_string (node, TRUE);

  fputs (text, stdout);
  fputc ('\n', stdout);
  fflush (stdout);
}

/* A failure found before anything reached the network (no password in the
 * keyring, no OAuth token...): says so on stderr, and in --json mode still
 * prints the one JSON object scripts expect. Returns HERALD_EXIT_FAILED. */
static int
local_failure (gboolean                json,
               gboolean                graph,
               const HeraldSmtpConfig *config,
               HeraldStage             stage,
               const GError           *cause,
               const char             *hint,
               const char             *format,
               ...) G_GNUC_PRINTF (7, 8);

static int
local_failure (gboolean                json,
               gboolean                graph,
               const HeraldSmtpConfig *config,
               HeraldStage             stage,
               const GError           *cause,
               const char             *hint,
               const char             *format,
               ...)
{
  g_autofree char *message = NULL;
  va_list args;

  va_start (args, format);
  message = g_strdup_vprintf (format, args);
  va_end (args);

  fprintf (stderr, "heraldctl test: %s\n", message);
  if (hint != NULL)
    fprintf (stderr, "%s\n", hint);

  {
    /* Keep the cause's domain and code: the diagnosis rules match on them. */
    g_autoptr(GError) failure = g_error_new (cause != NULL ? cause->domain : G_IO_ERROR,
                                             cause != NULL ? cause->code : G_IO_ERROR_FAILED,
                                             "%s%s%s", message,
                                             hint != NULL ? " " : "", hint != NULL ? hint : "");
    g_autoptr(HeraldSmtpResult) result = herald_smtp_result_new_failed (stage, failure);
    g_autoptr(HeraldDiagnosis) diagnosis = NULL;
    g_autoptr(GPtrArray) notices = NULL;

    /* A failed OAuth sign-in carries the identity provider's codes (AADSTS…,
     * invalid_grant) in its message: herald_diagnose() reads it too. */
    diagnosis = herald_diagnose (result, config);

    if (json)
      {
        notices = herald_notices (config, result);
        print_json (result, diagnosis, notices, graph ? "graph" : "smtp");
      }
    else if (!herald_diagnosis_is_fallback (diagnosis))
      {
        fputc ('\n', stderr);
        herald_diagnosis_print (diagnosis, stderr);
      }
    record_history (config, result, diagnosis, notices, graph ? "graph" : "smtp");
  }

  return HERALD_EXIT_FAILED;
}

static char *
join_recipients (const HeraldSmtpConfig *config)
{
  g_autoptr(GString) s = g_string_new (NULL);

  for (guint i = 0; config->to != NULL && config->to[i] != NULL; i++)
    g_string_append_printf (s, "%s%s", s->len > 0 ? ", " : "", config->to[i]);
  for (guint i = 0; config->cc != NULL && config->cc[i] != NULL; i++)
    g_string_append_printf (s, "%s%s", s->len > 0 ? ", " : "", config->cc[i]);

  return g_string_free (g_steal_pointer (&s), FALSE);
}

/* The reply on one line for the verdict ("250 2.0.0 Ok: queued as X"). */
static char *
reply_one_line (const HeraldSmtpReply *reply)
{
  g_autofree char *raw = NULL;

  if (reply == NULL)
    return NULL;
  raw = g_strdup (reply->raw != NULL ? reply->raw : reply->text);
  if (raw == NULL)
    return g_strdup_printf ("%d", reply->code);
  return g_strdelimit (g_steal_pointer (&raw), "\r\n", ' ');
}

static void
print_human (TestRun                *run,
             const HeraldSmtpConfig *config,
             const HeraldSmtpResult *result,
             const HeraldDiagnosis  *diagnosis,
             GPtrArray              *notices)
{
  g_autofree char *reply = reply_one_line (result->reply);

  fputc ('\n', stdout);
  if (result->ok)
    {
      g_autofree char *recipients = join_recipients (config);

      printf ("%s ", mark_ok (run));
      /* Graph's 202 says no more than that. */
      if (run->graph)
        printf (_("Microsoft accepted the test email for delivery to %s (Microsoft Graph)."),
                recipients);
      else
        printf (_("Test email sent to %s through %s:%u."), recipients, config->host, config->port);
      fputc ('\n', stdout);
      if (reply != NULL)
        printf (_("  Server reply: %s\n"), reply);
      printf (_("  Total time: %" PRId64 " ms\n"), (gint64) result->elapsed_ms);
    }
  else
    {
      printf ("%s ", mark_failed (run));
      if (run->interrupted)
        printf ("%s\n", _("Test cancelled."));
      else
        printf (_("Test failed at stage “%s”: %s\n"),
                herald_stage_to_string (result->stage),
                result->error != NULL ? result->error->message : _("unknown error"));
      /* A 2xx/3xx here is only the last thing heard (e.g. the EHLO list
       * before Herald itself stopped): not worth a line. */
      if (reply != NULL && result->reply->code >= 400)
        printf (_("  Server reply: %s\n"), reply);
      printf (_("  Total time: %" PRId64 " ms\n"), (gint64) result->elapsed_ms);

      if (diagnosis != NULL && !run->interrupted)
        {
          fputc ('\n', stdout);
          herald_diagnosis_print (diagnosis, stdout);
        }
    }

  for (guint i = 0; notices != NULL && i < notices->len; i++)
    {
      fputc ('\n', stdout);
      herald_diagnosis_print (g_ptr_array_index (notices, i), stdout);
    }
  fflush (stdout);
}

/* ---------------------------------------------------------------------------
 * The command
 * ------------------------------------------------------------------------- */

/* Fills config from the options and the settings. Returns HERALD_EXIT_OK, or
 * an exit status after printing why. */
static int
build_config (TestOptions      *o,
              GSettings        *settings,
              const char       *no_settings,
              HeraldSmtpConfig *config,
              gboolean         *needs_keyring)
{
  g_autoptr(GPtrArray) to = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GPtrArray) cc = g_ptr_array_new_with_free_func (g_free);
  g_autofree char *security = NULL;
  g_autofree char *auth = NULL;
  g_autofree char *ca_file = NULL;
  g_autoptr(GError) error = NULL;
  const char *hint = no_settings != NULL ? no_settings : _("nothing is saved in the settings");
  const char *bad;
  guint64 number;

  *needs_keyring = FALSE;

  /* Server. */
  config->host = o->server != NULL ? g_strstrip (g_strdup (o->server))
                                   : _herald_cli_setting_string (settings, "server");
  if (config->host == NULL || config->host[0] == '\0')
    return usage_error (_("no server: give --server HOST (%s)"), hint);

  /* Port. */
  if (o->port != NULL)
    {
      if (!parse_number (o->port, 1, 65535, &number))
        return usage_error (_("invalid --port “%s”: give a number from 1 to 65535"), o->port);
      config->port = (guint16) number;
    }
  else
    {
      int port = settings != NULL ? g_settings_get_int (settings, "port") : 587;

      if (port < 1 || port > 65535)
        return usage_error (_("the saved port %d is out of range: give --port"), port);
      config->port = (guint16) port;
    }

  /* Security and authentication. */
  security = _herald_cli_option_or_setting (o->security, settings, "security");
  if (security == NULL)
    security = g_strdup ("starttls");
  if (!herald_security_from_string (security, &config->security))
    return usage_error (_("invalid --security “%s”: use starttls, tls or none"), security);

  auth = _herald_cli_option_or_setting (o->auth, settings, "auth");
  if (auth == NULL)
    auth = g_strdup ("auto");
  if (!herald_auth_method_from_string (auth, &config->auth))
    return usage_error (_("invalid --auth “%s”: use auto, none, plain, login, xoauth2 or oauthbearer"),
                        auth);
  if (o->token_stdin)
    {
      /* A token from elsewhere (a token helper, a script): only for the
       * OAuth mechanisms, and never mixed with a password. */
      if (config->auth != HERALD_AUTH_XOAUTH2 && config->auth != HERALD_AUTH_OAUTHBEARER)
        return usage_error (_("--token-stdin needs --auth xoauth2 or --auth oauthbearer"));
    }
  else if (config->auth == HERALD_AUTH_OAUTHBEARER)
    return usage_error (_("--auth oauthbearer needs the access token on standard input: add --token-stdin"));
  else if (config->auth == HERALD_AUTH_XOAUTH2 && settings == NULL)
    return usage_error (_("--auth xoauth2 needs the sign-in saved by “heraldctl login” (or --token-stdin), "
                          "but %s"), no_settings);
  config->allow_plaintext_auth = o->allow_plaintext_auth;

  /* Login name. */
  if (config->auth != HERALD_AUTH_NONE)
    {
      config->username = _herald_cli_option_or_setting (o->user, settings, "username");
      if (config->username != NULL && config->username[0] == '\0')
        g_clear_pointer (&config->username, g_free);
      if (config->username == NULL
          && (config->auth == HERALD_AUTH_PLAIN || config->auth == HERALD_AUTH_LOGIN))
        return usage_error (_("--auth %s needs a login name: give --user USER"), auth);
    }

  /* Sender and recipients. */
  config->from = o->from != NULL ? g_strstrip (g_strdup (o->from)) : _herald_cli_setting_string (settings, "from");
  if (config->from == NULL || config->from[0] == '\0')
    return usage_error (_("no sender: give --from ADDRESS (%s)"), hint);
  if (!herald_address_is_valid (config->from))
    return usage_error (_("invalid --from address “%s”"), config->from);

  add_addresses_or_saved (to, o->to, settings, "to");
  if (to->len == 0)
    return usage_error (_("no recipient: give --to ADDRESS (%s)"), hint);

  add_addresses_or_saved (cc, o->cc, settings, "cc");

  if ((bad = first_invalid_address (to)) != NULL)
    return usage_error (_("invalid --to address “%s”"), bad);
  if ((bad = first_invalid_address (cc)) != NULL)
    return usage_error (_("invalid --cc address “%s”"), bad);

  g_ptr_array_add (to, NULL);
  config->to = (char **) g_ptr_array_free (g_steal_pointer (&to), FALSE);
  if (cc->len > 0)
    {
      g_ptr_array_add (cc, NULL);
      config->cc = (char **) g_ptr_array_free (g_steal_pointer (&cc), FALSE);
    }

  /* Message. */
  config->subject = _herald_cli_option_or_setting (o->subject, settings, "subject");
  config->extra_text = _herald_cli_option_or_setting (o->extra_text, settings, "extra-text");

  /* CA file: must exist and hold certificates, else the TLS error later
   * would blame the server for a typo here. */
  ca_file = _herald_cli_option_or_setting (o->ca_file, settings, "ca-file");
  if (ca_file != NULL)
    {
      g_autofree char *pem = NULL;

      /* A cheap look only: parsing would load the TLS module on the path to
       * connect. The engine parses the file off that path and reports a
       * corrupt one itself. */
      if (!g_file_get_contents (ca_file, &pem, NULL, &error) ||
          strstr (pem, "-----BEGIN CERTIFICATE-----") == NULL)
        return usage_error (_("cannot use the CA file “%s”: %s"), ca_file,
                            error != NULL ? error->message : _("it holds no PEM certificate"));
      config->ca_file = g_steal_pointer (&ca_file);
    }

  /* Timeout. */
  if (o->timeout != NULL)
    {
      if (!parse_number (o->timeout, 1, 600, &number))
        return usage_error (_("invalid --timeout “%s”: give seconds from 1 to 600"), o->timeout);
      config->connect_timeout = config->reply_timeout = (guint) number;
    }
  else if (settings != NULL)
    {
      config->connect_timeout = config->reply_timeout = g_settings_get_uint (settings, "timeout");
    }

  /* The whole run's deadline. */
  if (o->deadline != NULL)
    {
      if (!parse_number (o->deadline, 1, 3600, &number))
        return usage_error (_("invalid --deadline “%s”: give seconds from 1 to 3600"), o->deadline);
      config->deadline = (guint) number;
    }
  else if (settings != NULL)
    {
      config->deadline = g_settings_get_uint (settings, "deadline");
    }

  *needs_keyring = config->username != NULL && auth_uses_password (config->auth);
  return HERALD_EXIT_OK;
}

/* ---------------------------------------------------------------------------
 * The Microsoft Graph transport. It lives in the OAuth module (libsoup), so
 * heraldctl looks it up there; the test runs on a thread of its own and its
 * progress comes back to the main loop as the engine's does.
 * ------------------------------------------------------------------------- */

typedef struct {
  TestRun        *run;
  HeraldProgress  progress;
} GraphProgress;

typedef struct {
  TestRun                  *run;
  const HeraldSmtpConfig   *smtp;
  HeraldTransport          *transport;
  __typeof__ (herald_graph_transport_test) *test;
  GThread                  *thread;
  GMainContext             *context;
} GraphRun;

static GraphRun graph_run;

/* Always through the main loop, never called at once: g_main_context_invoke()
 * runs the function right here when no thread owns the context yet, and a
 * quit before g_main_loop_run() starts would be lost (a sign-in that fails
 * at once did hang the test). */
static void
invoke_in_loop (GMainContext *context,
                GSourceFunc   func,
                gpointer      data)
{
  g_autoptr(GSource) source = g_idle_source_new ();

  g_source_set_callback (source, func, data, NULL);
  g_source_attach (source, context);
}

static gboolean
graph_progress_idle (gpointer user_data)
{
  GraphProgress *p = user_data;

  progress_cb (&p->progress, p->run);
  g_free (p);
  return G_SOURCE_REMOVE;
}

static void
graph_progress_cb (const HeraldProgress *progress,
                   gpointer              user_data)
{
  GraphRun *g = user_data;
  GraphProgress *p = g_new0 (GraphProgress, 1);

  p->run = g->run;
  p->progress = *progress;
  invoke_in_loop (g->context, graph_progress_idle, p);
}

static gboolean
graph_done_idle (gpointer user_data)
{
  GraphRun *g = user_data;

  g_main_loop_quit (g->run->loop);
  return G_SOURCE_REMOVE;
}

static gpointer
graph_thread (gpointer user_data)
{
  GraphRun *g = user_data;

  g->run->result = g->test (g->transport, g->smtp, g->run->cancellable, graph_progress_cb, g);
  invoke_in_loop (g->context, graph_done_idle, g);
  return NULL;
}

/* The token is given (--token-stdin) or comes from the saved sign-in
 * (heraldctl login: delegated, or app-only with oauth-mode app-only), as
 * for heraldctl send. */
static gboolean
graph_run_start (TestRun                 *run,
                 const HeraldSmtpConfig  *smtp,
                 const HeraldGraphConfig *graph,
                 GSettings               *settings)
{
  __typeof__ (herald_graph_transport_new) *transport_new =
    _herald_cli_oauth_symbol ("test", "herald_graph_transport_new");

  graph_run.test = _herald_cli_oauth_symbol ("test", "herald_graph_transport_test");
  if (graph_run.test == NULL || transport_new == NULL)
    return FALSE;
  graph_run.transport = transport_new (graph, settings, NULL);
  graph_run.run = run;
  graph_run.smtp = smtp;
  graph_run.context = g_main_context_default ();
  graph_run.thread = g_thread_new ("heraldctl-graph", graph_thread, &graph_run);
  return TRUE;
}

static void
graph_run_join (TestRun *run)
{
  if (graph_run.thread != NULL)
    g_thread_join (graph_run.thread);
  graph_run.thread = NULL;
  g_clear_pointer (&graph_run.transport, herald_transport_free);
  /* Progress queued behind the end. */
  while (g_main_context_iteration (NULL, FALSE))
    ;
}

/* herald_graph_config_free() is in the module, which may not be loaded. */
static void
graph_config_free (HeraldGraphConfig *config)
{
  if (config == NULL)
    return;
  g_free (config->endpoint);
  g_free (config->from);
  herald_secret_free (config->access_token);
  g_free (config);
}

/* The host and port of a checked endpoint, as the SMTP fields take them. */
static void
graph_host_port (const char  *endpoint,
                 char       **host,
                 char       **port)
{
  g_autoptr(GUri) uri = g_uri_parse (endpoint, G_URI_FLAGS_NONE, NULL);
  int number = uri != NULL ? g_uri_get_port (uri) : -1;

  *host = g_strdup (uri != NULL ? g_uri_get_host (uri) : endpoint);
  *port = g_strdup_printf ("%d", number > 0 ? number
                                 : g_str_has_prefix (endpoint, "http://") ? 80 : 443);
}

/* The endpoint check lives with the Graph code, in the module too. */
static HeraldGraphConfig *
_herald_cli_graph_config (TestOptions  *o,
                          GSettings    *settings,
                          GError      **error)
{
  __typeof__ (herald_graph_endpoint_normalise) *normalise =
    _herald_cli_oauth_symbol ("test", "herald_graph_endpoint_normalise");
  g_autofree char *endpoint = _herald_cli_option_or_setting (o->graph_endpoint, settings,
                                                             "graph-endpoint");
  HeraldGraphConfig *config;
  char *normalised;

  if (normalise == NULL)
    {
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND,
                           _("the Microsoft Graph transport is not available"));
      return NULL;
    }
  normalised = normalise (endpoint, error);
  if (normalised == NULL)
    return NULL;

  /* The struct is plain data: no need for the module to make it. */
  config = g_new0 (HeraldGraphConfig, 1);
  config->endpoint = normalised;
  {
    g_autofree char *mode = _herald_cli_setting_string (settings, "oauth-mode");

    /* --app for a token given on standard input; the saved sign-in says
     * itself which kind it is. */
    config->mode = o->app || g_strcmp0 (mode, "app-only") == 0 ? HERALD_GRAPH_APP_ONLY
                                                                : HERALD_GRAPH_DELEGATED;
  }
  config->from = o->from != NULL ? g_strstrip (g_strdup (o->from))
                                 : _herald_cli_setting_string (settings, "from");
  if (o->timeout != NULL)
    config->timeout = (guint) g_ascii_strtoull (o->timeout, NULL, 10);
  else if (settings != NULL)
    config->timeout = g_settings_get_uint (settings, "timeout");
  return config;
}

int
herald_cli_test (int    argc,
                 char **argv)
{
  TestOptions o = { 0 };
  const GOptionEntry entries[] = {
    { "server", 's', 0, G_OPTION_ARG_STRING, &o.server,
      N_("SMTP server host name"), N_("HOST") },
    { "port", 'p', 0, G_OPTION_ARG_STRING, &o.port,
      N_("Port (587 for STARTTLS, 465 for SSL/TLS)"), N_("PORT") },
    { "security", 0, 0, G_OPTION_ARG_STRING, &o.security,
      N_("Connection security: starttls, tls or none"), N_("MODE") },
    { "auth", 0, 0, G_OPTION_ARG_STRING, &o.auth,
      N_("Authentication: auto, none, plain, login, xoauth2 or oauthbearer"), N_("METHOD") },
    { "user", 'u', 0, G_OPTION_ARG_STRING, &o.user,
      N_("Login name; --user alone (no name) chooses the user profile: its settings and the "
         "keyring"), N_("USER") },
    { "system", 0, 0, G_OPTION_ARG_NONE, &o.system,
      N_("Take every option not given from the system profile, and the password or sign-in "
         "from root's store"), NULL },
    { "password-stdin", 0, 0, G_OPTION_ARG_NONE, &o.password_stdin,
      N_("Read the password from the first line of standard input (default: the keyring)"), NULL },
    { "token-stdin", 0, 0, G_OPTION_ARG_NONE, &o.token_stdin,
      N_("Read an OAuth 2.0 access token from the first line of standard input, for --auth xoauth2 "
         "or oauthbearer (default: the sign-in saved by “heraldctl login”)"), NULL },
    { "from", 'f', 0, G_OPTION_ARG_STRING, &o.from,
      N_("Sender address"), N_("ADDR") },
    { "to", 't', 0, G_OPTION_ARG_STRING_ARRAY, &o.to,
      N_("Recipient (repeat for several)"), N_("ADDR") },
    { "cc", 0, 0, G_OPTION_ARG_STRING_ARRAY, &o.cc,
      N_("Copy recipient (repeat for several)"), N_("ADDR") },
    { "subject", 0, 0, G_OPTION_ARG_STRING, &o.subject,
      N_("Subject (default: one naming this host)"), N_("TEXT") },
    { "extra-text", 0, 0, G_OPTION_ARG_STRING, &o.extra_text,
      N_("Text added to the message body (default: the saved additional text)"), N_("TEXT") },
    { "ca-file", 0, 0, G_OPTION_ARG_FILENAME, &o.ca_file,
      N_("Also trust the CA certificates in this PEM file"), N_("PEM") },
    { "timeout", 0, 0, G_OPTION_ARG_STRING, &o.timeout,
      N_("Connect and reply timeout in seconds (default 20)"), N_("SECONDS") },
    { "deadline", 0, 0, G_OPTION_ARG_STRING, &o.deadline,
      N_("Longest the whole test may take, in seconds (default 60)"), N_("SECONDS") },
    { "json", 0, 0, G_OPTION_ARG_NONE, &o.json,
      N_("Print one JSON object with the result instead of the step list"), NULL },
    { "allow-plaintext-auth", 0, 0, G_OPTION_ARG_NONE, &o.allow_plaintext_auth,
      N_("Allow sending the password without encryption (with --security none)"), NULL },
    { "transport", 0, 0, G_OPTION_ARG_STRING, &o.transport,
      N_("How the test leaves: smtp, or graph (Microsoft Graph sendMail, with the saved sign-in "
         "or the access token from --token-stdin)"), N_("TRANSPORT") },
    { "graph-endpoint", 0, 0, G_OPTION_ARG_STRING, &o.graph_endpoint,
      N_("Microsoft Graph endpoint of a national cloud (default https://graph.microsoft.com)"),
      N_("URL") },
    { "app", 0, 0, G_OPTION_ARG_NONE, &o.app,
      N_("With --transport graph: the token is an app-only one; send as the --from mailbox"), NULL },
    { NULL }
  };
  g_autoptr(GError) error = NULL;
  g_autoptr(HeraldSmtpConfig) config = NULL;
  g_autoptr(HeraldDiagnosis) diagnosis = NULL;
  g_autoptr(GPtrArray) notices = NULL;
  g_autoptr(GCancellable) cancellable = NULL;
  g_autoptr(GMainLoop) loop = NULL;
  g_autoptr(GSettings) settings = NULL;
  HeraldGraphConfig *graph_config = NULL;
  g_autofree char *no_settings = NULL;
  char *stdin_password = NULL;
  char *stdin_token = NULL;
  gboolean needs_keyring = FALSE;
  TestRun run = { 0 };
  guint sigint_id;
  int status;

  status = _herald_cli_parse_options ("test", _("Send a test message and explain any failure."),
    _("Options not given fall back to the settings saved by Herald's window, and the password "
      "to the keyring.\n"
      "Exit status: 0 the message was accepted, 1 the test failed, 2 bad usage."),
    entries, &argc, &argv);
  if (status != HERALD_EXIT_OK)
    goto out;

  if (o.password_stdin && o.token_stdin)
    {
      status = usage_error (_("--password-stdin and --token-stdin both read standard input: "
                              "give only one"));
      goto out;
    }

  /* Read the password (or token) first so that it is consumed even when the
   * options turn out to be wrong, and never lingers in the pipe. */
  if (o.token_stdin)
    {
      stdin_token = read_secret_line (SECRET_TOKEN, &error);
      if (stdin_token == NULL)
        {
          status = usage_error ("%s", error->message);
          goto out;
        }
    }
  if (o.password_stdin)
    {
      stdin_password = read_secret_line (SECRET_PASSWORD, &error);
      if (stdin_password == NULL)
        {
          status = usage_error ("%s", error->message);
          goto out;
        }
    }

  config = herald_smtp_config_new ();
  settings = _herald_cli_open_settings (&no_settings);

  /* Implicit TLS needs some loading of its own (the TLS module, the
   * CA file) right after connecting, before the ClientHello: start it now,
   * on the engine's helper thread, so that it overlaps the rest of the
   * set-up and connecting. Not before the settings: GIO loads their backend
   * and the TLS module under one lock, and the settings are on the path to
   * connecting too. (STARTTLS leaves it to the engine, which loads it while
   * waiting for the greeting.) A wrong option is reported below as usual;
   * all it costs is some loading for nothing. */
  {
    g_autofree char *security_name = _herald_cli_option_or_setting (o.security, settings,
                                                                     "security");
    HeraldSecurity security;

    if (security_name != NULL && herald_security_from_string (security_name, &security) &&
        security == HERALD_SECURITY_TLS)
      {
        g_autofree char *ca_file = _herald_cli_option_or_setting (o.ca_file, settings,
                                                                  "ca-file");

        herald_smtp_prepare_tls (ca_file);
      }
  }

  /* Microsoft Graph: no SMTP server, port, security or login; the rest of
   * the settings (sender, recipients, subject, timeout) apply as they are. */
  {
    g_autofree char *transport = _herald_cli_option_or_setting (o.transport, settings, "transport");

    if (transport != NULL && strcmp (transport, "graph") == 0)
      run.graph = TRUE;
    else if (transport != NULL && strcmp (transport, "smtp") != 0)
      {
        status = usage_error (_("invalid --transport “%s”: use smtp or graph"), transport);
        goto out;
      }
  }
  if (!run.graph && (o.graph_endpoint != NULL || o.app))
    {
      status = usage_error (_("--graph-endpoint and --app need --transport graph"));
      goto out;
    }
  if (run.graph)
    {
      if (o.server != NULL || o.port != NULL || o.security != NULL || o.auth != NULL
          || o.user != NULL || o.password_stdin || o.ca_file != NULL || o.allow_plaintext_auth)
        {
          status = usage_error (_("--transport graph takes no SMTP options (--server, --port, "
                                  "--security, --auth, --user, --password-stdin, --ca-file, "
                                  "--allow-plaintext-auth)"));
          goto out;
        }
      graph_config = _herald_cli_graph_config (&o, settings, &error);
      if (graph_config == NULL)
        {
          status = usage_error ("%s", error->message);
          record_stopped (config, TRUE, last_usage_message);
          goto out;
        }
      /* build_config() below fills sender, recipients and message; the
       * SMTP fields only stand for Graph's host so that they check out. */
      graph_host_port (graph_config->endpoint, &o.server, &o.port);
      o.security = g_strdup ("tls");
      o.auth = g_strdup ("xoauth2");
    }

  status = build_config (&o, settings, no_settings, config, &needs_keyring);
  if (status != HERALD_EXIT_OK)
    {
      record_stopped (config, run.graph, last_usage_message);
      goto out;
    }

  /* Every field checked before any secret is fetched: a line break in the
   * user name is bad usage, not a keyring problem. This check needs no
   * secret: the engine checks the credentials when it runs. */
  if (!herald_smtp_config_validate (config, &error))
    {
      status = usage_error ("%s", error->message);
      record_stopped (config, run.graph, last_usage_message);
      goto out;
    }

  cancellable = g_cancellable_new ();

  /* A token given on standard input: the config owns it now and wipes it
   * when freed. */
  if (stdin_token != NULL && run.graph)
    graph_config->access_token = g_steal_pointer (&stdin_token);
  else if (stdin_token != NULL)
    config->oauth_token = g_steal_pointer (&stdin_token);

  /* XOAUTH2: the access token stored by "heraldctl login", refreshed first
   * when it is about to expire. */
  if (!run.graph && config->auth == HERALD_AUTH_XOAUTH2 && config->oauth_token == NULL)
    {
      g_autoptr(GError) oauth_error = NULL;

      /* In the OAuth module: only this case needs libsoup. */
      __typeof__ (herald_oauth_fill_config_token) *fill_token =
        _herald_cli_oauth_symbol ("test", "herald_oauth_fill_config_token");

      if (fill_token == NULL)
        {
          status = HERALD_EXIT_FAILED;
          goto out;
        }
      if (!fill_token (config, settings, cancellable, &oauth_error))
        {
          status = local_failure (o.json, run.graph, config, HERALD_STAGE_AUTH, oauth_error,
                                  _("Sign in first with “heraldctl login”."),
                                  _("no OAuth 2.0 access token: %s"),
                                  oauth_error != NULL ? oauth_error->message
                                                      : _("unknown error"));
          goto out;
        }
    }

  if (needs_keyring && stdin_password != NULL)
    {
      config->password = g_strdup (stdin_password);
    }
  else if (needs_keyring)
    {
      g_autoptr(GError) keyring_error = NULL;
      char *password = _herald_cli_password_lookup (config->host, config->port,
                                                    config->username, cancellable,
                                                    &keyring_error);

      if (keyring_error != NULL)
        {
          status = local_failure (o.json, run.graph, config, HERALD_STAGE_AUTH, keyring_error,
                                  _("Give it with --password-stdin instead."),
                                  _("could not read the password from the keyring: %s"),
                                  keyring_error->message);
          goto out;
        }
      if (password == NULL)
        {
          status = local_failure (o.json, run.graph, config, HERALD_STAGE_AUTH, NULL,
                                  _("Give it with --password-stdin, or send a test from Herald's "
                                    "window once to save it."),
                                  _("no password is saved in the keyring for %s on %s:%u."),
                                  config->username, config->host, config->port);
          goto out;
        }
      config->password = g_strdup (password);
      herald_secret_free (password);
    }
  g_clear_pointer (&stdin_password, herald_secret_free);

  if (!herald_smtp_config_validate (config, &error))
    {
      status = usage_error ("%s", error->message);
      record_stopped (config, run.graph, last_usage_message);
      goto out;
    }

  loop = g_main_loop_new (NULL, FALSE);
  run.loop = loop;
  run.cancellable = cancellable;
  run.out = o.json ? NULL : stdout;
  run.tty = !o.json && isatty (STDOUT_FILENO);
  run.utf8 = g_get_charset (NULL);
  /* Graph is HTTPS: encrypted from the first byte, like implicit TLS. */
  run.steps = herald_step_tracker_new (run.graph ? HERALD_SECURITY_TLS : config->security);
  run.running_shown = HERALD_STEP_NONE;

  /* The engine's thread first: it is on the way to the connection, the
   * rest is not (GLib starts a thread of its own for the SIGINT source).
   * Progress only arrives once the loop runs, after the "Testing" line. */
  if (run.graph)
    {
      if (!graph_run_start (&run, config, graph_config, settings))
        {
          status = HERALD_EXIT_FAILED;
          record_stopped (config, TRUE, NULL);
          goto out;
        }
      if (run.out != NULL)
        {
          printf (_("Testing Microsoft Graph at %s (%s)\n"), graph_config->endpoint,
                  graph_config->mode == HERALD_GRAPH_APP_ONLY ? _("app-only") : _("delegated"));
          fflush (stdout);
        }
    }
  else
    herald_smtp_run_async (config, cancellable, progress_cb, &run, NULL, run_done_cb, &run);

  if (!run.graph && run.out != NULL)
    {
      printf (_("Testing %s:%u (security %s, authentication %s)\n"),
              config->host, config->port, herald_security_to_string (config->security),
              herald_auth_method_to_string (config->auth));
      fflush (stdout);
    }

  sigint_id = g_unix_signal_add (SIGINT, sigint_cb, &run);
  g_main_loop_run (loop);
  if (!run.interrupted)
    g_source_remove (sigint_id);
  if (run.graph)
    graph_run_join (&run);

  if (run.result == NULL)
    {
      /* The task itself could not run: nothing reached the network. */
      herald_step_tracker_finish (run.steps, NULL);
      print_steps (&run);
      if (run.out != NULL && run.tty)
        clear_running_line (&run);
      status = local_failure (o.json, run.graph, config, HERALD_STAGE_RESOLVE, run.error, NULL, "%s",
                              run.error != NULL ? run.error->message
                                                : _("the test could not run"));
      g_clear_error (&run.error);
      goto out;
    }

  /* The engine may stop before the failing stage even starts (e.g. it
   * refuses to send a password in the clear): the model marks the step the
   * result names as failed, the one open before as passed. */
  herald_step_tracker_finish (run.steps, run.result);
  print_steps (&run);

  if (!run.result->ok)
    diagnosis = herald_diagnose_transport (run.result, config, run.graph ? "graph" : "smtp");
  /* The notices are about SMTP servers and ports. */
  notices = run.graph ? g_ptr_array_new () : herald_notices (config, run.result);

  if (o.json)
    print_json (run.result, diagnosis, notices, run.graph ? "graph" : "smtp");
  else
    print_human (&run, config, run.result, diagnosis, notices);

  record_history (config, run.result, diagnosis, notices, run.graph ? "graph" : "smtp");

  status = run.result->ok ? HERALD_EXIT_OK : HERALD_EXIT_FAILED;
  g_clear_pointer (&run.result, herald_smtp_result_free);

out:
  g_clear_pointer (&run.steps, herald_step_tracker_free);
  g_clear_pointer (&stdin_password, herald_secret_free);
  g_clear_pointer (&stdin_token, herald_secret_free);
  g_clear_pointer (&graph_config, graph_config_free);
  g_clear_pointer (&last_usage_message, g_free);
  test_options_clear (&o);
  return status;
}
