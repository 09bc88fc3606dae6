/* SPDX-License-Identifier: GPL-3.0-or-later
 * Copyright 2026 The Herald authors
 */
#define G_LOG_DOMAIN "herald-cli"

#include "config.h"

#include <errno.h>
#include <gio/gunixinputstream.h>
#include <gio/gunixoutputstream.h>
#include <glib/gi18n.h>
#include <json-glib/json-glib.h>
#include <sys/wait.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "herald-cli.h"
#include "herald-cli-util.h"
#include "herald-cli-send.h"
#include "herald-delivery.h"
#include "herald-profile.h"
#include "herald-queue.h"
#include "herald-relay.h"

/* heraldctl doctor: "will my alerts arrive?" Every check says ok, warn or
 * fail, what it found, and the fix. Nothing here changes anything, except
 * --send-test, which sends one real message through the whole path. */

typedef enum {
  CHECK_OK,
  CHECK_WARN,
  CHECK_FAIL,
} CheckStatus;

typedef struct {
  char        *id;
  CheckStatus  status;
  char        *title;
  char        *detail;
  char        *fix;     /* NULL when there is nothing to do */
} Check;

static void
check_free (Check *check)
{
  g_free (check->id);
  g_free (check->title);
  g_free (check->detail);
  g_free (check->fix);
  g_free (check);
}

static void
add_check (GPtrArray   *checks,
           const char  *id,
           CheckStatus  status,
           const char  *title,
           const char  *detail,
           const char  *fix)
{
  Check *check = g_new0 (Check, 1);

  check->id = g_strdup (id);
  check->status = status;
  check->title = g_strdup (title);
  check->detail = g_strdup (detail != NULL ? detail : "");
  check->fix = g_strdup (fix);
  g_ptr_array_add (checks, check);
}

static const char *
status_to_string (CheckStatus status)
{
  return status == CHECK_OK ? "ok" : status == CHECK_WARN ? "warn" : "fail";
}

/* Where /usr/sbin/sendmail and friends are looked up: "/" on a real system;
 * tests/system points heraldctl-systest at its own tree. */
static char *sendmail_root;

void
_herald_cli_doctor_set_root (const char *root)
{
  g_free (sendmail_root);
  sendmail_root = g_strdup (root);
}

static char *
rooted (const char *path)
{
  return sendmail_root != NULL ? g_build_filename (sendmail_root, path, NULL) : g_strdup (path);
}

/* "sudo " for the fixes of the system profile. */
static const char *
sudo (HeraldProfile *profile)
{
  return herald_profile_is_system (profile) ? "sudo " : "";
}

static const char *
scope_flag (HeraldProfile *profile)
{
  return herald_profile_is_system (profile) ? " --system" : "";
}

/* ---- the profile --------------------------------------------------------------- */

static void
check_profile (HeraldProfile *profile,
               GPtrArray     *checks)
{
  g_autofree char *server = herald_profile_get_string (profile, "server");
  g_autofree char *from = herald_profile_get_string (profile, "from");
  g_autofree char *to = herald_profile_get_string (profile, "to");
  g_autofree char *fix = NULL;
  g_autofree char *detail = NULL;

  if (server == NULL || from == NULL)
    {
      fix = g_strdup_printf (_("%sheraldctl config%s set server HOST, then port, security, auth, "
                               "username, from and to"), sudo (profile), scope_flag (profile));
      add_check (checks, "profile", CHECK_FAIL, _("The profile is incomplete"),
                 server == NULL ? _("No server is saved.") : _("No sender address (from) is saved."),
                 fix);
      return;
    }
  if (to == NULL)
    {
      fix = g_strdup_printf (_("%sheraldctl config%s set to ADDRESS"), sudo (profile),
                             scope_flag (profile));
      add_check (checks, "profile", CHECK_WARN, _("No recipient is saved"),
                 _("Alerts addressed to local names (root, what cron and mdadm write to) have "
                   "nowhere to go."), fix);
      return;
    }
  detail = g_strdup_printf (_("%s (%s profile): %s, alerts go to %s."), herald_profile_get_why (profile),
                            herald_profile_get_scope (profile), server, to);
  add_check (checks, "profile", CHECK_OK, _("The profile is complete"), detail, NULL);
}

static void
check_alerts (HeraldProfile *profile,
              GPtrArray     *checks)
{
  g_autofree char *fix = NULL;

  if (herald_profile_get_boolean (profile, "alerts-enabled"))
    {
      add_check (checks, "alerts-enabled", CHECK_OK, _("Sending alerts is switched on"), NULL,
                 NULL);
      return;
    }
  fix = g_strdup_printf (_("%sheraldctl config%s set alerts-enabled true"), sudo (profile),
                         scope_flag (profile));
  add_check (checks, "alerts-enabled", CHECK_FAIL, _("Sending alerts is switched off"),
             _("heraldctl send and the sendmail name refuse every message (exit 69)."), fix);
}

static gboolean
uses_oauth (HeraldProfile *profile)
{
  g_autofree char *auth = herald_profile_get_string (profile, "auth");

  return g_strcmp0 (auth, "xoauth2") == 0 || g_strcmp0 (auth, "oauthbearer") == 0;
}

/* Microsoft Graph with a user's sign-in: a refresh token like SMTP's. */
static gboolean
uses_graph_delegated (HeraldProfile *profile)
{
  g_autofree char *transport = herald_profile_get_string (profile, "transport");
  g_autofree char *mode = herald_profile_get_string (profile, "oauth-mode");

  return g_strcmp0 (transport, "graph") == 0 && g_strcmp0 (mode, "app-only") != 0;
}

static void
check_credential (HeraldProfile *profile,
                  GPtrArray     *checks)
{
  g_autofree char *detail = NULL;
  g_autofree char *fix = NULL;
  g_autofree char *text = NULL;
  HeraldCredentialState state = herald_profile_get_credential_state (profile, NULL, &detail);
  gboolean oauth = uses_oauth (profile);

  switch (state)
    {
    case HERALD_CREDENTIAL_NOT_NEEDED:
      add_check (checks, "credential", CHECK_OK, _("No credential is needed"),
                 _("The settings log in without a password or sign-in."), NULL);
      break;
    case HERALD_CREDENTIAL_STORED:
      text = g_strdup_printf (herald_profile_is_system (profile)
                              ? _("In %s, readable by the delivery process (root).")
                              : _("In %s."),
                              herald_profile_describe_credentials (profile));
      add_check (checks, "credential", CHECK_OK,
                 oauth ? _("The sign-in is stored") : _("The password is stored"), text, NULL);
      break;
    case HERALD_CREDENTIAL_MISSING:
      fix = oauth ? g_strdup_printf (_("%sheraldctl login%s --provider microsoft --user ADDRESS "
                                       "--device"), sudo (profile), scope_flag (profile))
                  : g_strdup_printf (_("%sheraldctl config%s password --stdin"), sudo (profile),
                                     scope_flag (profile));
      text = g_strdup_printf (_("Nothing is stored in %s for these settings: every alert would be "
                                "held."), herald_profile_describe_credentials (profile));
      add_check (checks, "credential", CHECK_FAIL,
                 oauth ? _("No sign-in is stored") : _("No password is stored"), text, fix);
      break;
    case HERALD_CREDENTIAL_UNREADABLE:
    default:
      fix = herald_profile_is_system (profile) && geteuid () != 0
            ? g_strdup ("sudo heraldctl doctor --system")
            : NULL;
      add_check (checks, "credential", herald_profile_is_system (profile) && geteuid () != 0
                                       ? CHECK_WARN : CHECK_FAIL,
                 _("The credential cannot be read"), detail, fix);
      break;
    }
}

static void
check_protection (HeraldProfile *profile,
                  GPtrArray     *checks)
{
  HeraldSystemSecrets *secrets;

  if (!herald_profile_is_system (profile))
    {
      add_check (checks, "secrets", CHECK_OK, _("Secrets are kept in the desktop keyring"),
                 _("The keyring encrypts them with the login password."), NULL);
      return;
    }
  if (geteuid () != 0)
    {
      add_check (checks, "secrets", CHECK_WARN, _("How secrets are kept is known to root only"),
                 NULL, "sudo heraldctl doctor --system");
      return;
    }
  secrets = herald_profile_get_system_secrets (profile, NULL);
  if (secrets == NULL)
    {
      add_check (checks, "secrets", CHECK_FAIL, _("Root's credential store cannot be opened"),
                 herald_profile_system_state_dir (), NULL);
      return;
    }
  if (herald_system_secrets_get_protection (secrets) == HERALD_SYSTEM_PROTECTION_HOST_KEY)
    add_check (checks, "secrets", CHECK_OK, _("Secrets are encrypted with the host key"),
               _("systemd-creds encrypts each one; only this machine's root can decrypt it."),
               NULL);
  else
    add_check (checks, "secrets", CHECK_WARN, _("Secrets are not encrypted at rest"),
               _("systemd-creds is not installed: the password and tokens are 0600 files that "
                 "only root can read, but they are stored in plain text."),
               _("sudo apt install systemd, then store the password or sign in again"));
}

/* Microsoft ends a refresh token that goes unused for 90 days
 * (AADSTS700082); each queue run refreshes one idle for 30. */
#define TOKEN_IDLE_REFRESH_DAYS 30
#define TOKEN_LIFETIME_DAYS     90
#define TOKEN_WARN_DAYS         60

static void
check_token (HeraldProfile *profile,
             GPtrArray     *checks)
{
  g_autofree char *last_error = NULL;
  g_autofree char *detail = NULL;
  g_autofree char *fix = NULL;
  gint64 refreshed, days;

  if (!uses_oauth (profile) && !uses_graph_delegated (profile))
    return;

  refreshed = herald_profile_get_token_refreshed (profile, &last_error);
  fix = g_strdup_printf (_("%sheraldctl queue%s flush (refreshes it); if it is dead: "
                           "%sheraldctl login%s --device"), sudo (profile), scope_flag (profile),
                         sudo (profile), scope_flag (profile));
  if (refreshed <= 0)
    {
      add_check (checks, "token", CHECK_WARN, _("The sign-in has not been used yet"),
                 _("Herald has no record of a successful token refresh for this profile."), fix);
      return;
    }
  days = (g_get_real_time () / G_USEC_PER_SEC - refreshed) / (24 * 3600);
  {
    g_autoptr(GDateTime) death = g_date_time_new_from_unix_utc (refreshed +
                                                                (gint64) TOKEN_LIFETIME_DAYS * 24 * 3600);
    g_autofree char *when = death != NULL ? g_date_time_format (death, "%Y-%m-%d") : g_strdup ("?");

    detail = g_strdup_printf (_("Last refreshed %lld days ago; unused, Microsoft "
                                "ends it after %d days (AADSTS700082), on %s. Each queue run "
                                "refreshes a token idle for %d days.%s%s"),
                              (long long) days, TOKEN_LIFETIME_DAYS, when, TOKEN_IDLE_REFRESH_DAYS,
                              last_error != NULL ? _(" Last refresh failure: ") : "",
                              last_error != NULL ? last_error : "");
  }
  if (days >= TOKEN_LIFETIME_DAYS)
    add_check (checks, "token", CHECK_FAIL, _("The sign-in has probably expired"), detail, fix);
  else if (days >= TOKEN_WARN_DAYS || last_error != NULL)
    add_check (checks, "token", CHECK_WARN, _("The sign-in will expire unless it is used"),
               detail, fix);
  else
    add_check (checks, "token", CHECK_OK, _("The sign-in is fresh"), detail, NULL);
}

/* ---- sendmail ------------------------------------------------------------------ */

static const struct {
  const char *needle;
  const char *name;
} known_mtas[] = {
  { "postfix", "Postfix" }, { "exim", "Exim" }, { "msmtp", "msmtp" },
  { "nullmailer", "nullmailer" }, { "dma", "DragonFly Mail Agent (dma)" },
  { "ssmtp", "sSMTP" }, { "smtpctl", "OpenSMTPD" }, { "esmtp", "esmtp" },
  { "sendmail-mta", "Sendmail" }, { "courier", "Courier" },
};

static gboolean
is_herald (const char *real)
{
  g_autofree char *self = g_file_read_link ("/proc/self/exe", NULL);
  g_autofree char *self_real = self != NULL ? realpath (self, NULL) : NULL;
  g_autofree char *base = g_path_get_basename (real);

  return (self_real != NULL && g_str_equal (real, self_real)) || g_str_equal (base, "heraldctl");
}

static void
check_sendmail_path (GPtrArray  *checks,
                     const char *id,
                     const char *path,
                     const char *who)
{
  g_autofree char *full = rooted (path);
  g_autofree char *real = realpath (full, NULL);
  g_autofree char *detail = NULL;
  g_autofree char *fix = NULL;
  g_autofree char *title = NULL;
  const char *wire =
    "sudo update-alternatives --install /usr/sbin/sendmail sendmail "
    "/usr/libexec/herald/sendmail 25 --slave /usr/lib/sendmail sendmail-lib "
    "/usr/libexec/herald/sendmail --slave /usr/bin/mailq mailq /usr/libexec/herald/mailq";

  if (real == NULL)
    {
      title = g_strdup_printf (_("Nothing answers at %s"), path);
      detail = g_strdup_printf (_("%s hand their mail to %s: it goes nowhere today."), who, path);
      fix = g_strdup_printf (_("%s (or: sudo ln -s /usr/libexec/herald/sendmail %s)"), wire, path);
      add_check (checks, id, CHECK_WARN, title, detail, fix);
      return;
    }
  if (is_herald (real))
    {
      title = g_strdup_printf (_("%s is Herald"), path);
      detail = g_strdup_printf (_("%s → %s"), path, real);
      add_check (checks, id, CHECK_OK, title, detail, NULL);
      return;
    }
  {
    const char *name = NULL;

    for (guint i = 0; i < G_N_ELEMENTS (known_mtas) && name == NULL; i++)
      if (strstr (real, known_mtas[i].needle) != NULL)
        name = known_mtas[i].name;
    title = g_strdup_printf (_("%s belongs to another mail program: %s"), path,
                             name != NULL ? name : real);
    detail = g_strdup_printf (_("%s → %s: %s hand their mail to it, not to Herald."), path, real,
                              who);
    fix = g_strdup_printf (_("If Herald should deliver them: remove the other program "
                             "(sudo apt remove %s) or give Herald's link a higher priority: %s"),
                           name != NULL ? name : "…", wire);
    add_check (checks, id, CHECK_WARN, title, detail, fix);
  }
}

/* ---- the queue and the units ------------------------------------------------------ */

static void
check_queue (HeraldProfile *profile,
             GPtrArray     *checks)
{
  g_autoptr(HeraldQueue) queue = NULL;
  g_autoptr(GPtrArray) entries = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GString) problems = g_string_new (NULL);
  gint64 now = g_get_real_time () / G_USEC_PER_SEC;
  gint64 oldest = 0;
  guint waiting = 0, held = 0, failed = 0;
  g_autofree char *detail = NULL;
  g_autofree char *fix = NULL;

  if (herald_profile_is_system (profile) && geteuid () != 0)
    {
      add_check (checks, "queue", CHECK_WARN, _("The system queue is root's"), NULL,
                 "sudo heraldctl doctor --system");
      return;
    }
  queue = herald_queue_new (herald_profile_get_queue_dir (profile));
  entries = herald_queue_list (queue, NULL, &error);
  if (entries == NULL)
    {
      add_check (checks, "queue", CHECK_FAIL, _("The queue cannot be read"), error->message, NULL);
      return;
    }
  for (guint i = 0; i < entries->len; i++)
    {
      HeraldQueueEntry *e = g_ptr_array_index (entries, i);
      const char *why = e->last_error != NULL && e->last_error->diagnosis_title != NULL
                        ? e->last_error->diagnosis_title
                        : e->note != NULL ? e->note
                        : e->last_error != NULL ? e->last_error->error : NULL;

      if (e->state == HERALD_QUEUE_STATE_FAILED)
        failed++;
      else
        {
          waiting++;
          if (oldest == 0 || e->created < oldest)
            oldest = e->created;
          if (e->state == HERALD_QUEUE_STATE_HELD)
            held++;
        }
      if ((e->state == HERALD_QUEUE_STATE_HELD || e->state == HERALD_QUEUE_STATE_FAILED) &&
          why != NULL && strstr (problems->str, why) == NULL && problems->len < 2000)
        g_string_append_printf (problems, "%s%s: %s", problems->len > 0 ? "; " : "",
                                herald_queue_state_to_string (e->state), why);
    }

  detail = g_strdup_printf (_("%u waiting (oldest %lld minutes), %u held, %u "
                              "failed.%s%s"),
                            waiting, (long long) (oldest > 0 ? (now - oldest) / 60 : 0), held, failed,
                            problems->len > 0 ? " " : "", problems->str);
  fix = g_strdup_printf (_("%sheraldctl queue%s list; fix what the diagnosis says, then "
                           "%sheraldctl queue%s flush"), sudo (profile), scope_flag (profile),
                         sudo (profile), scope_flag (profile));
  if (held > 0)
    add_check (checks, "queue", CHECK_FAIL, _("Alerts are held until a setting is fixed"), detail,
               fix);
  else if (failed > 0 || (oldest > 0 && now - oldest > 3600))
    add_check (checks, "queue", CHECK_WARN,
               failed > 0 ? _("Some alerts failed for good") : _("Alerts have waited for over an hour"),
               detail, fix);
  else
    add_check (checks, "queue", CHECK_OK, _("Nothing is stuck in the queue"), detail, NULL);
}

static char *
run_systemctl (gboolean    user,
               const char *verb,
               const char *unit)
{
  g_autofree char *out = NULL;
  int status = 0;
  const char *argv[] = { "systemctl", user ? "--user" : "--system", verb, unit, NULL };

  if (!g_spawn_sync (NULL, (char **) argv, NULL, G_SPAWN_SEARCH_PATH | G_SPAWN_STDERR_TO_DEV_NULL,
                     NULL, NULL, &out, NULL, &status, NULL))
    return NULL;
  return out != NULL ? g_strstrip (g_steal_pointer (&out)) : NULL;
}

/* Enabled system units without a running systemd (a container, a chroot,
 * a package just installed): their links in /etc/systemd/system. */
static gboolean
units_enabled_offline (void)
{
  g_autofree char *path = rooted ("/etc/systemd/system/paths.target.wants/herald-queue.path");
  g_autofree char *timer = rooted ("/etc/systemd/system/timers.target.wants/herald-queue.timer");

  return g_file_test (path, G_FILE_TEST_IS_SYMLINK) && g_file_test (timer, G_FILE_TEST_IS_SYMLINK);
}

static void
check_units (HeraldProfile *profile,
             GPtrArray     *checks)
{
  gboolean system = herald_profile_is_system (profile);
  g_autofree char *running = rooted ("/run/systemd/system");
  g_autofree char *herald_dir = g_path_get_dirname (herald_profile_system_config_file ());
  g_autofree char *sysconfdir = g_path_get_dirname (herald_dir);
  g_autofree char *cron = g_build_filename (sysconfdir, "cron.d", "herald", NULL);
  g_autofree char *cron_text = NULL;

  if (system && g_file_get_contents (cron, &cron_text, NULL, NULL) &&
      strstr (cron_text, "queue --system flush") != NULL)
    {
      g_autofree char *detail = g_strdup_printf (_("%s runs heraldctl queue --system flush."), cron);

      add_check (checks, "units", CHECK_OK, _("Cron runs the queue"), detail, NULL);
      return;
    }
  if (!g_file_test (running, G_FILE_TEST_IS_DIR) && system && units_enabled_offline ())
    {
      add_check (checks, "units", CHECK_OK, _("The queue's units are enabled"),
                 _("herald-queue.path and herald-queue.timer are enabled; systemd is not running "
                   "now, so they start with it."), NULL);
      return;
    }
  if (!g_file_test (running, G_FILE_TEST_IS_DIR))
    {
      add_check (checks, "units", CHECK_WARN, _("Nothing runs the queue"),
                 _("systemd is not running here (a container?), and no cron job flushes the "
                   "queue: retries and dropped messages wait."),
                 system ? "echo '*/5 * * * * root heraldctl queue --system flush --quiet' | "
                          "sudo tee /etc/cron.d/herald"
                        : _("crontab -e, and add: */5 * * * * heraldctl queue flush --quiet --due"));
      return;
    }
  {
    g_autofree char *timer = run_systemctl (!system, "is-enabled", "herald-queue.timer");
    g_autofree char *path = system ? run_systemctl (FALSE, "is-enabled", "herald-queue.path")
                                   : g_strdup ("enabled");
    g_autofree char *result = run_systemctl (!system, "show", "herald-queue.service");
    g_autofree char *detail = NULL;
    const char *last = result != NULL ? strstr (result, "Result=") : NULL;
    g_autofree char *last_result = last != NULL ? g_strndup (last + 7, strcspn (last + 7, "\n"))
                                                : g_strdup ("?");

    detail = g_strdup_printf (_("herald-queue.timer: %s; herald-queue.path: %s; last run: %s."),
                              timer != NULL && *timer != '\0' ? timer : _("not installed"),
                              path != NULL && *path != '\0' ? path : _("not installed"),
                              last_result);
    if (g_strcmp0 (timer, "enabled") != 0 || g_strcmp0 (path, "enabled") != 0)
      add_check (checks, "units", CHECK_WARN, _("The queue's units are not enabled"), detail,
                 system ? "sudo systemctl enable --now herald-queue.path herald-queue.timer"
                        : "systemctl --user enable --now herald-queue.timer");
    else if (g_strcmp0 (last_result, "success") != 0)
      add_check (checks, "units", CHECK_FAIL, _("The last queue run failed"), detail,
                 system ? "sudo journalctl -u herald-queue.service"
                        : "journalctl --user -u herald-queue.service");
    else
      add_check (checks, "units", CHECK_OK, _("The queue's units are enabled"), detail, NULL);
  }
}

/* ---- --send-test ---------------------------------------------------------------- */

/* Runs @self under the name "sendmail" with @body on standard input. */
static gboolean
run_as_sendmail (const char  *self,
                 const char  *scope,
                 const char  *subject,
                 const char  *body,
                 char       **out,
                 char       **err,
                 GError     **error)
{
  const char *argv[] = { self, "sendmail", scope, "-odq", "--json", "--subject", subject, NULL };
  g_autoptr(GOutputStream) in = NULL;
  g_autoptr(GInputStream) out_stream = NULL;
  g_autoptr(GInputStream) err_stream = NULL;
  g_autoptr(GMemoryOutputStream) out_buf = NULL;
  g_autoptr(GMemoryOutputStream) err_buf = NULL;
  GPid pid;
  int in_fd, out_fd, err_fd, wait_status = 0;

  if (!g_spawn_async_with_pipes (NULL, (char **) argv, NULL,
                                 G_SPAWN_FILE_AND_ARGV_ZERO | G_SPAWN_DO_NOT_REAP_CHILD, NULL,
                                 NULL, &pid, &in_fd, &out_fd, &err_fd, error))
    return FALSE;
  in = g_unix_output_stream_new (in_fd, TRUE);
  g_output_stream_write_all (in, body, strlen (body), NULL, NULL, NULL);
  g_output_stream_close (in, NULL, NULL);
  out_stream = g_unix_input_stream_new (out_fd, TRUE);
  err_stream = g_unix_input_stream_new (err_fd, TRUE);
  out_buf = G_MEMORY_OUTPUT_STREAM (g_memory_output_stream_new_resizable ());
  err_buf = G_MEMORY_OUTPUT_STREAM (g_memory_output_stream_new_resizable ());
  /* The child's error output is short: read it after the output. */
  g_output_stream_splice (G_OUTPUT_STREAM (out_buf), out_stream,
                          G_OUTPUT_STREAM_SPLICE_CLOSE_SOURCE, NULL, NULL);
  g_output_stream_splice (G_OUTPUT_STREAM (err_buf), err_stream,
                          G_OUTPUT_STREAM_SPLICE_CLOSE_SOURCE, NULL, NULL);
  g_output_stream_write_all (G_OUTPUT_STREAM (out_buf), "", 1, NULL, NULL, NULL);
  g_output_stream_write_all (G_OUTPUT_STREAM (err_buf), "", 1, NULL, NULL, NULL);
  g_output_stream_close (G_OUTPUT_STREAM (out_buf), NULL, NULL);
  g_output_stream_close (G_OUTPUT_STREAM (err_buf), NULL, NULL);
  *out = g_memory_output_stream_steal_data (out_buf);
  *err = g_memory_output_stream_steal_data (err_buf);
  while (waitpid (pid, &wait_status, 0) < 0 && errno == EINTR)
    ;
  g_spawn_close_pid (pid);
  if (!WIFEXITED (wait_status) || WEXITSTATUS (wait_status) != 0)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, "%s", *err);
      return FALSE;
    }
  return TRUE;
}

static void
check_send_test (HeraldProfile *profile,
                 GPtrArray     *checks)
{
  g_autofree char *self = g_file_read_link ("/proc/self/exe", NULL);
  g_autofree char *host = g_strdup (g_get_host_name ());
  g_autofree char *subject = g_strdup_printf (_("Herald doctor: test alert from %s"), host);
  g_autofree char *body = g_strdup_printf (_("heraldctl doctor --send-test sent this through "
                                             "the sendmail name, the queue and delivery.\n"));
  g_autofree char *out = NULL, *err = NULL;
  g_autofree char *detail = NULL;
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autoptr(GError) error = NULL;
  const char *scope = herald_profile_is_system (profile) ? "--system" : "--user";
  const char *id = NULL;
  JsonObject *o;

  if (herald_profile_is_system (profile) && geteuid () != 0)
    {
      add_check (checks, "send-test", CHECK_WARN,
                 _("The test alert can be followed to delivery by root only"), NULL,
                 "sudo heraldctl doctor --system --send-test");
      return;
    }

  /* 1. The sendmail name queues it (-odq), as a caller would hand it over:
   * this very program, started under the name "sendmail". */
  if (self == NULL || !run_as_sendmail (self, scope, subject, body, &out, &err, &error))
    {
      detail = g_strdup_printf (_("The sendmail name did not take the message: %s"),
                                error != NULL ? error->message : err != NULL ? err : "");
      add_check (checks, "send-test", CHECK_FAIL, _("The test alert was not accepted"), detail,
                 NULL);
      return;
    }
  if (!json_parser_load_from_data (parser, out, -1, NULL) ||
      !JSON_NODE_HOLDS_OBJECT (json_parser_get_root (parser)))
    {
      add_check (checks, "send-test", CHECK_FAIL, _("The test alert was not accepted"), err, NULL);
      return;
    }
  o = json_node_get_object (json_parser_get_root (parser));
  id = json_object_get_string_member_with_default (o, "id", NULL);
  if (id == NULL)
    {
      add_check (checks, "send-test", CHECK_FAIL, _("The test alert was not queued"), out, NULL);
      return;
    }

  /* 2. The queue delivers it. */
  {
    g_autofree char *retry_out = NULL, *retry_err = NULL;
    g_autoptr(JsonParser) result = json_parser_new ();
    g_autoptr(GSubprocess) retry = NULL;
    const char *argv[] = { self, "queue", scope, "retry", "--json", id, NULL };
    const char *outcome = NULL;
    const char *why = NULL;

    retry = g_subprocess_newv (argv, G_SUBPROCESS_FLAGS_STDOUT_PIPE | G_SUBPROCESS_FLAGS_STDERR_PIPE,
                               &error);
    if (retry != NULL &&
        g_subprocess_communicate_utf8 (retry, NULL, NULL, &retry_out, &retry_err, &error) &&
        json_parser_load_from_data (result, retry_out != NULL ? retry_out : "", -1, NULL) &&
        JSON_NODE_HOLDS_OBJECT (json_parser_get_root (result)))
      {
        JsonObject *r = json_node_get_object (json_parser_get_root (result));
        JsonArray *messages = json_object_get_array_member (r, "messages");

        if (messages != NULL && json_array_get_length (messages) > 0)
          {
            JsonObject *m = json_array_get_object_element (messages, 0);
            JsonNode *diagnosis = json_object_get_member (m, "diagnosis");

            outcome = json_object_get_string_member_with_default (m, "outcome", NULL);
            if (diagnosis != NULL && JSON_NODE_HOLDS_OBJECT (diagnosis))
              why = json_object_get_string_member_with_default (json_node_get_object (diagnosis),
                                                                "title", NULL);
          }
      }
    if (g_strcmp0 (outcome, "sent") == 0)
      {
        detail = g_strdup_printf (_("“%s” went through the sendmail name, the queue (%s) and "
                                    "the server."), subject, id);
        add_check (checks, "send-test", CHECK_OK, _("The test alert was delivered"), detail,
                   NULL);
      }
    else
      {
        detail = g_strdup_printf (_("It waits in the queue as %s (%s): %s"), id,
                                  outcome != NULL ? outcome : _("not attempted"),
                                  why != NULL ? why : retry_err != NULL ? retry_err : "");
        g_autofree char *fix = g_strdup_printf ("%sheraldctl queue%s show %s", sudo (profile),
                                                scope_flag (profile), id);

        add_check (checks, "send-test", CHECK_FAIL, _("The test alert was not delivered"),
                   detail, fix);
      }
  }
}

/* The relay's certificate, when there is one: its fingerprint is what an
 * administrator pins on a device (heraldctl relay prints it too). */
static void
check_relay (HeraldProfile *profile,
             GPtrArray     *checks)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *path = herald_profile_get_string (profile, "relay-tls-cert");
  g_autofree char *fingerprint = NULL, *detail = NULL, *shown = NULL;

  if (path == NULL || path[0] == '\0')
    {
      g_autofree char *dir = _herald_cli_relay_state_dir (herald_profile_is_system (profile));

      g_free (path);
      path = g_build_filename (dir, "cert.pem", NULL);
      /* No relay has run here: nothing to say about it. */
      if (!g_file_test (path, G_FILE_TEST_EXISTS))
        return;
    }
  shown = g_filename_display_name (path);
  fingerprint = herald_relay_fingerprint_file (path, &error);
  if (fingerprint == NULL)
    {
      add_check (checks, "relay-certificate", CHECK_WARN,
                 _("The relay's TLS certificate cannot be read"), error->message, NULL);
      return;
    }
  detail = g_strdup_printf (_("SHA-256 fingerprint %s (%s): pin it on the devices"), fingerprint,
                            shown);
  add_check (checks, "relay-certificate", CHECK_OK, _("The relay has a TLS certificate"), detail,
             NULL);
}

/* ---- output ---------------------------------------------------------------------- */

static void
print_checks (HeraldProfile *profile,
              GPtrArray     *checks,
              gboolean       json)
{
  if (json)
    {
      g_autoptr(JsonBuilder) b = json_builder_new ();
      g_autoptr(JsonNode) root = NULL;

      json_builder_begin_object (b);
      json_builder_set_member_name (b, "profile");
      if (profile != NULL)
        json_builder_add_string_value (b, herald_profile_get_scope (profile));
      else
        json_builder_add_null_value (b);
      json_builder_set_member_name (b, "checks");
      json_builder_begin_array (b);
      for (guint i = 0; i < checks->len; i++)
        {
          Check *c = g_ptr_array_index (checks, i);

          json_builder_begin_object (b);
          json_builder_set_member_name (b, "id");
          json_builder_add_string_value (b, c->id);
          json_builder_set_member_name (b, "status");
          json_builder_add_string_value (b, status_to_string (c->status));
          json_builder_set_member_name (b, "title");
          json_builder_add_string_value (b, c->title);
          json_builder_set_member_name (b, "detail");
          json_builder_add_string_value (b, c->detail);
          json_builder_set_member_name (b, "fix");
          if (c->fix != NULL)
            json_builder_add_string_value (b, c->fix);
          else
            json_builder_add_null_value (b);
          json_builder_end_object (b);
        }
      json_builder_end_array (b);
      json_builder_end_object (b);
      root = json_builder_get_root (b);
      _herald_cli_print_json (root);
      return;
    }

  if (profile != NULL)
    printf (_("Profile: %s (%s)\n\n"), herald_profile_get_scope (profile),
            herald_profile_get_why (profile));
  for (guint i = 0; i < checks->len; i++)
    {
      Check *c = g_ptr_array_index (checks, i);

      printf ("%s %s\n", c->status == CHECK_OK ? "✓" : c->status == CHECK_WARN ? "!" : "✗",
              c->title);
      if (c->detail[0] != '\0')
        printf ("    %s\n", c->detail);
      if (c->fix != NULL)
        printf (_("    Fix: %s\n"), c->fix);
    }
}

static void
print_doctor_help (FILE *out)
{
  fprintf (out, "%s\n", _("Usage: heraldctl doctor [--system | --user] [--json] [--send-test]"));
  fprintf (out, "\n%s\n", _("Checks whether alerts will arrive: the profile, the switch, the "
                            "credential and how it is kept, the sign-in's age, where "
                            "/usr/sbin/sendmail and /usr/lib/sendmail point, the queue, the "
                            "units and the relay's certificate. Each check says ok, warn or fail, "
                            "and the fix."));
  fprintf (out, "\n%s\n", _("Options:"));
  fprintf (out, "  --system      %s\n", _("Check the system profile"));
  fprintf (out, "  --user        %s\n", _("Check the user profile"));
  fprintf (out, "  --json        %s\n", _("Print one JSON object: {\"profile\", \"checks\": [{\"id\", "
                                          "\"status\", \"title\", \"detail\", \"fix\"}]}"));
  fprintf (out, "  --send-test   %s\n", _("Also send one real message through the sendmail name, "
                                          "the queue and delivery"));
  fprintf (out, "\n%s\n", _("Exit status: 0 nothing failed (warnings allowed), 1 a check failed, "
                            "64 bad usage."));
}

int
herald_cli_doctor (int    argc,
                   char **argv)
{
  g_autoptr(GPtrArray) checks = g_ptr_array_new_with_free_func ((GDestroyNotify) check_free);
  g_autoptr(HeraldProfile) profile = NULL;
  g_autoptr(GError) error = NULL;
  HeraldProfileScope scope = HERALD_PROFILE_SCOPE_AUTO;
  gboolean json = FALSE, send_test = FALSE;
  int status = HERALD_EX_OK;

  if (!_herald_cli_take_scope ("heraldctl doctor", &argc, argv, TRUE, &scope, &status))
    return status;
  for (int i = 1; i < argc; i++)
    {
      if (g_str_equal (argv[i], "--json"))
        json = TRUE;
      else if (g_str_equal (argv[i], "--send-test"))
        send_test = TRUE;
      else if (g_str_equal (argv[i], "--help") || g_str_equal (argv[i], "-h"))
        {
          print_doctor_help (stdout);
          return HERALD_EX_OK;
        }
      else
        {
          fprintf (stderr, _("heraldctl doctor: unknown option %s\n"), argv[i]);
          print_doctor_help (stderr);
          return HERALD_EX_USAGE;
        }
    }

  profile = herald_profile_open (scope, FALSE, &error);
  if (profile == NULL)
    {
      add_check (checks, "profile", CHECK_FAIL, _("No profile applies"), error->message,
                 _("sudo heraldctl config --system set server HOST (then port, security, auth, "
                   "username, from, to and alerts-enabled)"));
      print_checks (NULL, checks, json);
      return HERALD_EXIT_FAILED;
    }
  _herald_cli_set_settings (herald_profile_get_settings (profile));

  check_profile (profile, checks);
  check_alerts (profile, checks);
  check_credential (profile, checks);
  check_protection (profile, checks);
  check_token (profile, checks);
  check_sendmail_path (checks, "sendmail", "/usr/sbin/sendmail",
                       _("cron, unattended-upgrades, smartd and most programs"));
  check_sendmail_path (checks, "sendmail-lib", "/usr/lib/sendmail", _("mdadm and older programs"));
  check_queue (profile, checks);
  check_units (profile, checks);
  check_relay (profile, checks);
  if (send_test)
    check_send_test (profile, checks);

  print_checks (profile, checks, json);
  for (guint i = 0; i < checks->len; i++)
    if (((Check *) g_ptr_array_index (checks, i))->status == CHECK_FAIL)
      return HERALD_EXIT_FAILED;
  return HERALD_EXIT_OK;
}
