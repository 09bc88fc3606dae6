/* SPDX-License-Identifier: GPL-3.0-or-later
 * Copyright 2026 The Herald authors
 */
#define G_LOG_DOMAIN "herald-cli"

#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <glib-unix.h>
#include <glib/gi18n.h>
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include <pwd.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "herald-cli.h"
#include "herald-cli-send.h"
#include "herald-cli-util.h"
#include "herald-delivery.h"
#include "herald-maildrop.h"
#include "herald-profile.h"
#include "herald-relay.h"

/* heraldctl relay: the SMTP submission server for devices (src/relay), in
 * the foreground, and its device users. What a device hands over is in
 * the queue before it hears 250; then a queue flush (heraldctl queue
 * flush --due, the same code the timer runs) delivers it at once, in a
 * process of its own, so that the relay never waits for the provider and
 * never holds the upstream credentials itself.
 *
 * The system scope (heraldctl relay --system, herald-relay.service) runs
 * as an unprivileged user of its own, never root: it writes what devices
 * submit into the system maildrop, as any local user's heraldctl send does,
 * and root's runner (herald-queue.path) delivers it. So the relay can read
 * neither the upstream credentials nor the queue. Its device users and
 * its key are root's files that only the relay's group may read (a setgid
 * directory, $localstatedir/lib/herald-relay); --prepare, which the unit
 * runs as root before each start, creates and owns them so. */

#define PASSWORD_MAX 1024
#define FLUSH_RETRY_SECONDS 2
#define RELAY_SYSTEM_USER "herald-relay"

/* tests/system's heraldctl-systest: "UID:GID" instead of the herald-relay
 * user, which a build tree does not have. */
static char *relay_account_override;

void
_herald_cli_relay_set_account (const char *uid_gid)
{
  g_free (relay_account_override);
  relay_account_override = g_strdup (uid_gid);
}

/* Where the relay keeps its device users, certificate and log. */
char *
_herald_cli_relay_state_dir (gboolean system)
{
  g_autofree char *lib = NULL;

  if (!system)
    return herald_relay_dup_user_state_dir ();
  lib = g_path_get_dirname (herald_profile_system_state_dir ());
  return g_build_filename (lib, "herald-relay", NULL);
}

static gboolean
relay_account (uid_t   *uid,
               gid_t   *gid,
               GError **error)
{
  struct passwd *pw;

  if (relay_account_override != NULL)
    {
      g_auto(GStrv) parts = g_strsplit (relay_account_override, ":", 2);
      guint64 u, g;

      if (g_strv_length (parts) == 2 &&
          g_ascii_string_to_unsigned (parts[0], 10, 1, G_MAXINT32, &u, NULL) &&
          g_ascii_string_to_unsigned (parts[1], 10, 1, G_MAXINT32, &g, NULL))
        {
          *uid = (uid_t) u;
          *gid = (gid_t) g;
          return TRUE;
        }
    }
  pw = getpwnam (RELAY_SYSTEM_USER);
  if (pw == NULL || pw->pw_uid == 0)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND,
                   _("there is no system user “%s” for the relay; create it with: adduser "
                     "--system --group --home /nonexistent --no-create-home %s"),
                   RELAY_SYSTEM_USER, RELAY_SYSTEM_USER);
      return FALSE;
    }
  *uid = pw->pw_uid;
  *gid = pw->pw_gid;
  return TRUE;
}

gint64
_herald_cli_relay_system_uid (void)
{
  uid_t uid;
  gid_t gid;

  if (!relay_account (&uid, &gid, NULL))
    return -1;
  return (gint64) uid;
}

/* Gives @path (not followed when a link) this owner and mode. A file that
 * does not exist is fine (nothing to give); a directory must exist. */
static gboolean
own_path (const char  *path,
          uid_t        uid,
          gid_t        gid,
          mode_t       mode,
          gboolean     directory,
          GError     **error)
{
  struct stat st;
  int fd = open (path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK |
                       (directory ? O_DIRECTORY : 0));
  int saved;

  if (fd < 0)
    {
      saved = errno;
      if (saved == ENOENT && !directory)
        return TRUE;
      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved), "%s: %s", path,
                   g_strerror (saved));
      return FALSE;
    }
  if (fstat (fd, &st) != 0)
    saved = errno;
  else if (!directory && !S_ISREG (st.st_mode))
    saved = EINVAL;
  else if (fchown (fd, uid, gid) != 0 || fchmod (fd, mode) != 0)
    saved = errno;
  else
    saved = 0;
  close (fd);
  if (saved != 0)
    {
      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved), "%s: %s", path,
                   saved == EINVAL ? _("not a regular file") : g_strerror (saved));
      return FALSE;
    }
  return TRUE;
}

static int
relay_usage_error (const char *format,
                   ...) G_GNUC_PRINTF (1, 2);

static int
relay_usage_error (const char *format,
                   ...)
{
  g_autofree char *message = NULL;
  va_list args;

  va_start (args, format);
  message = g_strdup_vprintf (format, args);
  va_end (args);
  fprintf (stderr, "heraldctl relay: %s\n", message);
  fprintf (stderr, _("Run “heraldctl relay --help” for the options.\n"));
  return HERALD_EX_USAGE;
}

static void
print_help (void)
{
  printf ("%s\n", _("Usage: heraldctl relay [--system | --user] [--listen ADDR:PORT …] "
                    "[--tls-cert PEM --tls-key PEM]"));
  printf ("%s\n", _("       heraldctl relay --system --prepare"));
  printf ("%s\n", _("       heraldctl relay [--system | --user] user add NAME --password-stdin"));
  printf ("%s\n", _("       heraldctl relay [--system | --user] user remove NAME"));
  printf ("%s\n", _("       heraldctl relay [--system | --user] user list"));
  printf ("\n%s\n", _("An SMTP submission server for printers, scanners and applications that "
                      "only send with a user name and password: what they submit is queued, "
                      "then delivered with this profile (OAuth 2.0, Graph or password)."));
  printf ("\n%s\n", _("Options:"));
  printf ("  --listen ADDR:PORT  %s\n", _("listen here (repeatable; default: the relay-listen "
                                           "setting, 127.0.0.1:2525 and [::1]:2525)"));
  printf ("  --tls-cert PEM      %s\n", _("the TLS certificate (default: relay-tls-cert, or one "
                                           "Herald creates)"));
  printf ("  --tls-key PEM       %s\n", _("its private key"));
  printf ("  --user              %s\n", _("the logged-in user's profile"));
  printf ("  --system            %s\n", _("the system profile: runs as the unprivileged "
                                           "herald-relay user (herald-relay.socket), hands "
                                           "messages to root's runner through the maildrop"));
  printf ("  --prepare           %s\n", _("with --system, as root: create the relay's "
                                           "directories and certificate, owned as it needs "
                                           "them"));
  printf ("  --password-stdin    %s\n", _("with user add: read the device's password from the "
                                           "first line of standard input"));
  printf ("\n%s\n", _("Devices in relay-allow-unauthenticated (default: this computer only) may "
                      "send without logging in; every other device logs in over TLS "
                      "(STARTTLS) with a device user."));
  printf ("\n%s\n", _("Without --system or --user, the profile the rule picks (see heraldctl "
                      "config show)."));
  printf ("\n%s\n", _("Exit status: 0 stopped by a signal, or done; 64 bad usage; 65 bad "
                      "password; 67 no herald-relay user; 69 sending alerts is switched off; "
                      "71 cannot listen; 73 cannot write; 77 the system relay as root, or "
                      "--prepare not as root; 78 no profile."));
}

/* ---- device users ------------------------------------------------------------ */

static char *
users_path (gboolean system)
{
  g_autofree char *dir = _herald_cli_relay_state_dir (system);

  return g_build_filename (dir, "users", NULL);
}

/* Which scope the device users of `relay user` belong to: --system or
 * --user, else the profile the rule picks (as the relay itself does), else
 * the user's. */
static gboolean
scope_is_system (HeraldProfileScope scope)
{
  g_autoptr(HeraldProfile) profile = NULL;

  if (scope != HERALD_PROFILE_SCOPE_AUTO)
    return scope == HERALD_PROFILE_SCOPE_SYSTEM;
  profile = herald_profile_open (HERALD_PROFILE_SCOPE_AUTO, TRUE, NULL);
  return profile != NULL && herald_profile_is_system (profile);
}

static int
relay_user (HeraldProfileScope   scope,
            int                  argc,
            char               **argv)
{
  gboolean system = scope_is_system (scope);
  g_autofree char *path = users_path (system);
  g_autoptr(HeraldRelayUsers) users = herald_relay_users_new (path);
  g_autoptr(GError) error = NULL;
  const char *sub = argc > 1 ? argv[1] : NULL;

  if (sub == NULL)
    return relay_usage_error (_("“user” needs add, remove or list"));
  /* The relay's group reads the file (the setgid directory gives it). */
  if (system)
    herald_relay_users_set_mode (users, 0640);

  if (g_str_equal (sub, "list"))
    {
      g_auto(GStrv) names = NULL;

      if (argc > 2)
        return relay_usage_error (_("unexpected argument “%s”"), argv[2]);
      names = herald_relay_users_list (users, &error);
      if (names == NULL)
        {
          fprintf (stderr, "heraldctl relay user list: %s\n", error->message);
          return HERALD_EX_CONFIG;
        }
      for (guint i = 0; names[i] != NULL; i++)
        printf ("%s\n", names[i]);
      return HERALD_EX_OK;
    }

  if (g_str_equal (sub, "remove"))
    {
      if (argc != 3)
        return relay_usage_error (_("usage: heraldctl relay user remove NAME"));
      if (!herald_relay_users_remove (users, argv[2], &error))
        {
          fprintf (stderr, "heraldctl relay user remove: %s\n", error->message);
          return g_error_matches (error, HERALD_RELAY_ERROR, HERALD_RELAY_ERROR_NO_SUCH_USER)
                 ? HERALD_EX_NOUSER : HERALD_EX_CANTCREAT;
        }
      printf (_("Removed device user %s.\n"), argv[2]);
      return HERALD_EX_OK;
    }

  if (g_str_equal (sub, "add"))
    {
      const char *name = NULL;
      gboolean from_stdin = FALSE;
      gboolean replaced = FALSE;
      char *password;
      gboolean ok;

      for (int i = 2; i < argc; i++)
        {
          if (g_str_equal (argv[i], "--password-stdin"))
            from_stdin = TRUE;
          else if (g_str_has_prefix (argv[i], "--password"))
            return relay_usage_error (_("a password is never taken from the command line; use "
                                        "--password-stdin"));
          else if (argv[i][0] == '-')
            return relay_usage_error (_("unknown option “%s”"), argv[i]);
          else if (name == NULL)
            name = argv[i];
          else
            return relay_usage_error (_("unexpected argument “%s”"), argv[i]);
        }
      if (name == NULL || !from_stdin)
        return relay_usage_error (_("usage: heraldctl relay user add NAME --password-stdin"));
      if (!herald_relay_user_name_is_valid (name))
        return relay_usage_error (_("“%s” is not a valid device user name: use 1 to 64 letters, "
                                    "digits and . _ @ + -"), name);

      password = _herald_cli_read_secret_line_raw ("--password-stdin", _("device password"),
                                                   PASSWORD_MAX, &error);
      if (password == NULL)
        {
          fprintf (stderr, "heraldctl relay user add: %s\n", error->message);
          return HERALD_EX_DATAERR;
        }
      ok = herald_relay_users_add (users, name, password, &replaced, &error);
      herald_secret_free (password);
      if (!ok)
        {
          fprintf (stderr, "heraldctl relay user add: %s\n", error->message);
          return g_error_matches (error, HERALD_RELAY_ERROR, HERALD_RELAY_ERROR_BAD_PASSWORD)
                 ? HERALD_EX_DATAERR : HERALD_EX_CANTCREAT;
        }
      if (replaced)
        printf (_("Set a new password for device user %s.\n"), name);
      else
        printf (_("Added device user %s.\n"), name);
      return HERALD_EX_OK;
    }

  return relay_usage_error (_("unknown user command “%s”"), sub);
}

/* ---- the running relay ---------------------------------------------------------- */

typedef struct {
  GMainLoop          *loop;
  gboolean            system;        /* the maildrop, root's runner delivers */
  HeraldRelayServer  *server;
  char               *self_exe;
  char               *log_path;
  GHashTable         *waiting;       /* ids queued by this relay, not yet reported */
  gboolean            flushing;
  gboolean            flush_again;
  guint               retry_source;
  gboolean            stopping;
} Relay;

static void start_flush (Relay *relay);

static void
report_outcome (Relay      *relay,
                const char *id,
                const char *outcome,
                const char *detail)
{
  g_autoptr(GError) error = NULL;

  if (!g_hash_table_contains (relay->waiting, id))
    return;
  if (!herald_relay_log_outcome (relay->log_path, id, outcome, detail, &error))
    g_warning ("%s", error->message);
  if (detail != NULL)
    printf (_("relay: %s %s: %s\n"), id, outcome, detail);
  else
    printf (_("relay: %s %s\n"), id, outcome);
  fflush (stdout);
  /* Queued ones are retried by the timer; this relay's part is done. */
  g_hash_table_remove (relay->waiting, id);
}

static gboolean
retry_flush_cb (gpointer data)
{
  Relay *relay = data;

  relay->retry_source = 0;
  start_flush (relay);
  return G_SOURCE_REMOVE;
}

static void
flush_done_cb (GObject      *source,
               GAsyncResult *result,
               gpointer      data)
{
  Relay *relay = data;
  GSubprocess *process = G_SUBPROCESS (source);
  g_autofree char *out = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonParser) parser = json_parser_new ();
  int status;

  relay->flushing = FALSE;
  if (!g_subprocess_communicate_utf8_finish (process, result, &out, NULL, &error))
    {
      g_warning ("queue flush: %s", error->message);
      out = NULL;
    }
  status = g_subprocess_get_if_exited (process) ? g_subprocess_get_exit_status (process) : -1;

  if (status == HERALD_EX_TEMPFAIL && !relay->stopping)
    {
      /* Another flush holds the lock (the timer's, or one the admin
       * started): it may have missed what arrived meanwhile. */
      relay->flush_again = TRUE;
    }
  else if (status == 0 && out != NULL && json_parser_load_from_data (parser, out, -1, NULL))
    {
      JsonObject *root = json_node_get_object (json_parser_get_root (parser));
      JsonArray *messages = root != NULL && json_object_has_member (root, "messages")
                            ? json_object_get_array_member (root, "messages") : NULL;

      for (guint i = 0; messages != NULL && i < json_array_get_length (messages); i++)
        {
          JsonObject *m = json_array_get_object_element (messages, i);
          const char *id = m != NULL ? json_object_get_string_member_with_default (m, "id", NULL)
                                     : NULL;
          const char *outcome = m != NULL
                                ? json_object_get_string_member_with_default (m, "outcome", NULL)
                                : NULL;
          const char *detail = NULL;

          if (id == NULL || outcome == NULL)
            continue;
          if (json_object_has_member (m, "diagnosis") &&
              JSON_NODE_HOLDS_OBJECT (json_object_get_member (m, "diagnosis")))
            detail = json_object_get_string_member_with_default (
              json_object_get_object_member (m, "diagnosis"), "title", NULL);
          report_outcome (relay, id, outcome, detail);
        }
    }
  else if (status != 0)
    {
      g_autofree char *detail = g_strdup_printf (_("the queue flush exited with status %d"),
                                                 status);
      GList *ids = g_hash_table_get_keys (relay->waiting);

      /* Still in the queue: tell the log why it waits. */
      for (GList *l = ids; l != NULL; l = l->next)
        report_outcome (relay, l->data, "queued", detail);
      g_list_free (ids);
    }

  if (relay->flush_again && !relay->stopping && relay->retry_source == 0)
    relay->retry_source = g_timeout_add_seconds (status == HERALD_EX_TEMPFAIL
                                                 ? FLUSH_RETRY_SECONDS : 0,
                                                 retry_flush_cb, relay);
  g_object_unref (process);
}

/* One flush at a time: messages that arrive while it runs are picked up
 * by the next one, right after. */
static void
start_flush (Relay *relay)
{
  g_autoptr(GError) error = NULL;
  GSubprocess *process;

  if (relay->flushing)
    {
      relay->flush_again = TRUE;
      return;
    }
  relay->flush_again = FALSE;
  process = g_subprocess_new (G_SUBPROCESS_FLAGS_STDOUT_PIPE, &error, relay->self_exe, "queue",
                              "flush", "--due", "--json", NULL);
  if (process == NULL)
    {
      g_warning ("cannot start the queue flush: %s", error->message);
      return;
    }
  relay->flushing = TRUE;
  g_subprocess_communicate_utf8_async (process, NULL, NULL, flush_done_cb, relay);
}

static void
message_queued_cb (HeraldRelayServer *server,
                   const char        *id,
                   const char        *client,
                   const char        *user,
                   const char        *subject,
                   gpointer           data)
{
  Relay *relay = data;
  g_autoptr(GError) error = NULL;

  if (!herald_relay_log_accepted (relay->log_path, id, client, user, subject, &error))
    g_warning ("%s", error->message);
  if (relay->system)
    {
      /* herald-queue.path starts root's runner as soon as it is there. */
      if (user != NULL)
        printf (_("relay: %s handed to the Herald service from %s (device user %s)\n"), id,
                client, user);
      else
        printf (_("relay: %s handed to the Herald service from %s\n"), id, client);
      fflush (stdout);
      return;
    }
  if (user != NULL)
    printf (_("relay: %s queued from %s (device user %s)\n"), id, client, user);
  else
    printf (_("relay: %s queued from %s\n"), id, client);
  fflush (stdout);
  g_hash_table_add (relay->waiting, g_strdup (id));
  start_flush (relay);
}

static gboolean
quit_cb (gpointer data)
{
  Relay *relay = data;

  if (!relay->stopping)
    {
      relay->stopping = TRUE;
      printf ("%s\n", _("relay: stopping"));
      fflush (stdout);
      herald_relay_server_stop (relay->server);
    }
  return G_SOURCE_CONTINUE;
}

static gboolean
wait_sessions_cb (gpointer data)
{
  Relay *relay = data;

  if (relay->stopping && herald_relay_server_get_n_sessions (relay->server) == 0 &&
      !relay->flushing)
    {
      g_main_loop_quit (relay->loop);
      return G_SOURCE_REMOVE;
    }
  return G_SOURCE_CONTINUE;
}

static char *
setting (HeraldProfile *profile,
         const char    *key)
{
  return herald_profile_get_string (profile, key);
}

/* Sockets systemd passed (socket activation): LISTEN_FDS from fd 3 on,
 * when LISTEN_PID names us. */
static guint
activation_fds (void)
{
  const char *pid = g_getenv ("LISTEN_PID");
  const char *fds = g_getenv ("LISTEN_FDS");
  guint64 p, n;

  if (pid == NULL || fds == NULL ||
      !g_ascii_string_to_unsigned (pid, 10, 1, G_MAXINT, &p, NULL) || (pid_t) p != getpid () ||
      !g_ascii_string_to_unsigned (fds, 10, 1, 64, &n, NULL))
    return 0;
  return (guint) n;
}

/* The system scope's store: the maildrop file is written and fsync'ed
 * before the device hears 250, as heraldctl send's. */
static char *
store_in_maildrop (const HeraldPreparedMessage  *message,
                   const char                   *client_address,
                   const char                   *device_user,
                   gpointer                      user_data,
                   GError                      **error)
{
  g_autoptr(GBytes) file = herald_maildrop_build_relayed (message->data,
                                                          (const char * const *)
                                                          message->recipients,
                                                          client_address, device_user, error);

  if (file == NULL)
    return NULL;
  return herald_maildrop_write (herald_profile_system_maildrop_dir (), file, error);
}

/* Root, before each start of herald-relay.service (ExecStartPre=+): the
 * maildrop, the relay's directory (root's, setgid to the relay's group:
 * 2750), its log directory (the relay's), the certificate Herald creates
 * when none is configured (key 0640 root:relay), and the device users
 * file (0640 root:relay). Safe to run any number of times. */
static int
relay_prepare (HeraldProfile *profile)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *dir = _herald_cli_relay_state_dir (TRUE);
  g_autofree char *log_dir = g_build_filename (dir, "log", NULL);
  g_autofree char *users = g_build_filename (dir, "users", NULL);
  g_autofree char *cert_setting = herald_profile_get_string (profile, "relay-tls-cert");
  g_autofree char *key_setting = herald_profile_get_string (profile, "relay-tls-key");
  g_autofree char *used_cert = NULL, *fingerprint = NULL;
  g_autoptr(GTlsCertificate) certificate = NULL;
  gboolean created = FALSE;
  uid_t uid;
  gid_t gid;

  if (geteuid () != 0)
    {
      fprintf (stderr, "%s\n", _("heraldctl relay --prepare: only root prepares the system "
                                 "relay (herald-relay.service runs it before each start)"));
      return HERALD_EX_NOPERM;
    }
  if (!relay_account (&uid, &gid, &error))
    {
      fprintf (stderr, "heraldctl relay --prepare: %s\n", error->message);
      return HERALD_EX_NOUSER;
    }
  if (!herald_profile_ensure_system_spool (&error))
    {
      fprintf (stderr, "heraldctl relay --prepare: %s\n", error->message);
      return HERALD_EX_CANTCREAT;
    }
  if (g_mkdir_with_parents (dir, 0700) != 0 ||
      (g_mkdir (log_dir, 0700) != 0 && errno != EEXIST))
    {
      int saved = errno;

      fprintf (stderr, _("heraldctl relay --prepare: cannot create %s: %s\n"), dir,
               g_strerror (saved));
      return HERALD_EX_CANTCREAT;
    }
  if (!own_path (dir, 0, gid, 02750, TRUE, &error) ||
      !own_path (log_dir, uid, gid, 0750, TRUE, &error) ||
      !own_path (users, 0, gid, 0640, FALSE, &error))
    {
      fprintf (stderr, "heraldctl relay --prepare: %s\n", error->message);
      return HERALD_EX_CANTCREAT;
    }

  /* A configured certificate is the administrator's to make readable. */
  if (cert_setting == NULL || key_setting == NULL)
    {
      g_autofree char *key = g_build_filename (dir, "key.pem", NULL);
      g_autofree char *cert = g_build_filename (dir, "cert.pem", NULL);

      certificate = herald_relay_load_certificate (NULL, NULL, dir, &created, &used_cert, &error);
      if (certificate == NULL ||
          !own_path (key, 0, gid, 0640, FALSE, &error) ||
          !own_path (cert, 0, 0, 0644, FALSE, &error))
        {
          fprintf (stderr, _("heraldctl relay --prepare: the TLS certificate cannot be used: "
                             "%s\n"), error->message);
          return HERALD_EX_CONFIG;
        }
      fingerprint = herald_relay_certificate_fingerprint (certificate);
    }

  printf (_("Prepared %s for the relay (uid %u, gid %u)\n"), dir, (guint) uid, (guint) gid);
  if (fingerprint != NULL)
    {
      printf (_("TLS certificate: %s%s\n"), used_cert, created ? _(" (created now)") : "");
      printf (_("SHA-256 fingerprint: %s\n"), fingerprint);
    }
  return HERALD_EX_OK;
}

static int
relay_run (HeraldProfileScope   scope,
           int                  argc,
           char               **argv)
{
  g_autoptr(GPtrArray) listen = g_ptr_array_new_with_free_func (g_free);
  const char *cert_file = NULL, *key_file = NULL;
  g_autoptr(HeraldProfile) profile = NULL;
  g_autoptr(HeraldSmtpConfig) config = NULL;
  g_autoptr(HeraldRelayOptions) options = herald_relay_options_new ();
  g_autoptr(HeraldRelayUsers) users = NULL;
  g_autoptr(GTlsCertificate) certificate = NULL;
  g_autoptr(HeraldRelayServer) server = NULL;
  g_autoptr(HeraldQueue) queue = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *state_dir = NULL;
  g_autofree char *cert_setting = NULL, *key_setting = NULL, *used_cert = NULL;
  g_autofree char *fingerprint = NULL, *networks = NULL;
  g_auto(GStrv) names = NULL;
  g_autoptr(GString) where = g_string_new (NULL);
  gboolean created = FALSE;
  gboolean prepare = FALSE, system;
  int status = HERALD_EX_OK;
  guint n_fds;
  Relay relay = { 0 };

  for (int i = 1; i < argc; i++)
    {
      const char *arg = argv[i];

      if (g_str_equal (arg, "--help") || g_str_equal (arg, "-h"))
        {
          print_help ();
          return HERALD_EX_OK;
        }
      else if (g_str_equal (arg, "--prepare"))
        prepare = TRUE;
      else if (g_str_equal (arg, "--listen") || g_str_equal (arg, "--tls-cert") ||
               g_str_equal (arg, "--tls-key"))
        {
          if (i + 1 >= argc)
            return relay_usage_error (_("%s needs a value"), arg);
          if (g_str_equal (arg, "--listen"))
            g_ptr_array_add (listen, g_strdup (argv[++i]));
          else if (g_str_equal (arg, "--tls-cert"))
            cert_file = argv[++i];
          else
            key_file = argv[++i];
        }
      else if (g_str_has_prefix (arg, "--listen="))
        g_ptr_array_add (listen, g_strdup (arg + strlen ("--listen=")));
      else
        return relay_usage_error (_("unknown option “%s”"), arg);
    }
  if ((cert_file == NULL) != (key_file == NULL))
    return relay_usage_error (_("--tls-cert and --tls-key go together"));

  /* Started from the window's session: its profile even before a server is
   * saved (then it says which setting is missing); else the rule. */
  if (prepare && scope != HERALD_PROFILE_SCOPE_SYSTEM)
    return relay_usage_error (_("--prepare goes with --system"));
  profile = _herald_cli_open_profile ("heraldctl relay", scope,
                                      scope != HERALD_PROFILE_SCOPE_SYSTEM, &status);
  if (profile == NULL)
    return status;
  system = herald_profile_is_system (profile);
  if (prepare)
    return relay_prepare (profile);
  /* Root would be able to read the upstream credentials: the system relay
   * is its own user's (herald-relay.service), and hands over through the
   * maildrop like any other. */
  if (system && geteuid () == 0)
    {
      fprintf (stderr, "%s\n", _("heraldctl relay: the system relay does not run as root; start "
                                 "herald-relay.socket (it runs as the herald-relay user)"));
      return HERALD_EX_NOPERM;
    }
  state_dir = _herald_cli_relay_state_dir (system);
  if (!_herald_cli_alerts_enabled (profile, "heraldctl relay"))
    return HERALD_EX_UNAVAILABLE;
  config = _herald_cli_profile_config (profile, "heraldctl relay", &status);
  if (config == NULL)
    return status;

  /* What the relay is told by the profile. */
  if (listen->len == 0)
    {
      g_autofree char *text = setting (profile, "relay-listen");
      g_auto(GStrv) items = g_strsplit_set (text != NULL ? text : "", ", ", -1);

      for (guint i = 0; items[i] != NULL; i++)
        if (items[i][0] != '\0')
          g_ptr_array_add (listen, g_strdup (items[i]));
    }
  networks = setting (profile, "relay-allow-unauthenticated");
  options->allow_unauthenticated = herald_relay_parse_networks (networks, &error);
  if (options->allow_unauthenticated == NULL)
    {
      fprintf (stderr, "heraldctl relay: relay-allow-unauthenticated: %s\n", error->message);
      return HERALD_EX_CONFIG;
    }
  options->max_size = (guint64) herald_profile_get_number (profile, "relay-max-size");
  options->max_connections = (guint) herald_profile_get_number (profile, "relay-max-connections");
  options->max_per_address =
    (guint) herald_profile_get_number (profile, "relay-max-connections-per-address");
  options->idle_timeout = (guint) herald_profile_get_number (profile, "relay-idle-timeout");
  options->session_deadline = (guint) herald_profile_get_number (profile,
                                                                  "relay-session-deadline");
  options->profile_from = g_strdup (config->from);
  /* For the maildrop root's runner rewrites the From (and records the
   * original), as for every caller that is not root. */
  options->rewrite_from = !system && herald_profile_get_boolean (profile, "rewrite-from");
  {
    g_autofree char *local = setting (profile, "local-recipients");
    g_autofree char *to = setting (profile, "to");

    options->local_recipients = herald_address_list_split (local != NULL ? local
                                                           : to != NULL ? to : "");
  }

  /* The certificate: given, configured, or Herald's own. */
  cert_setting = setting (profile, "relay-tls-cert");
  key_setting = setting (profile, "relay-tls-key");
  if (cert_file == NULL && cert_setting != NULL && key_setting != NULL)
    {
      cert_file = cert_setting;
      key_file = key_setting;
    }
  certificate = herald_relay_load_certificate (cert_file, key_file, state_dir, &created,
                                               &used_cert, &error);
  if (certificate == NULL)
    {
      fprintf (stderr, _("heraldctl relay: the TLS certificate cannot be used: %s\n"),
               error->message);
      if (system)
        fprintf (stderr, "%s\n", _("As root, run “heraldctl relay --system --prepare” first "
                                   "(herald-relay.service does that before each start)."));
      return HERALD_EX_CONFIG;
    }
  fingerprint = herald_relay_certificate_fingerprint (certificate);

  {
    g_autofree char *path = users_path (system);

    users = herald_relay_users_new (path);
    names = herald_relay_users_list (users, &error);
    if (names == NULL)
      {
        fprintf (stderr, "heraldctl relay: %s\n", error->message);
        return HERALD_EX_CONFIG;
      }
  }

  if (!system)
    {
      queue = herald_queue_new (herald_profile_get_queue_dir (profile));
      if (!herald_queue_ensure (queue, &error))
        {
          fprintf (stderr, _("heraldctl relay: the queue cannot be used: %s\n"), error->message);
          return HERALD_EX_CANTCREAT;
        }
    }
  else if (access (herald_profile_system_maildrop_dir (), W_OK | X_OK) != 0)
    {
      int saved = errno;

      fprintf (stderr, _("heraldctl relay: cannot write into the maildrop %s: %s\n"),
               herald_profile_system_maildrop_dir (), g_strerror (saved));
      fprintf (stderr, "%s\n", _("As root, run “heraldctl relay --system --prepare” first "
                                 "(herald-relay.service does that before each start)."));
      return HERALD_EX_CANTCREAT;
    }

  server = herald_relay_server_new (g_steal_pointer (&options), certificate, users);
  if (system)
    herald_relay_server_set_store_func (server, store_in_maildrop, NULL, NULL);
  else
    herald_relay_server_set_queue (server, queue);

  n_fds = activation_fds ();
  if (n_fds > 0)
    {
      for (guint i = 0; i < n_fds; i++)
        if (!herald_relay_server_add_fd (server, 3 + (int) i, &error))
          {
            fprintf (stderr, _("heraldctl relay: cannot use the socket systemd passed: %s\n"),
                     error->message);
            return 71;
          }
      g_string_append (where, _("the sockets systemd passed"));
    }
  else
    {
      if (listen->len == 0)
        return relay_usage_error (_("no listen address (set relay-listen or give --listen)"));
      for (guint i = 0; i < listen->len; i++)
        {
          const char *text = g_ptr_array_index (listen, i);
          g_autoptr(GSocketAddress) address = herald_relay_parse_listen (text, &error);
          g_autoptr(GSocketAddress) bound = NULL;
          g_autofree char *shown = NULL;

          if (address == NULL)
            return relay_usage_error ("%s", error->message);
          bound = herald_relay_server_listen (server, address, &error);
          if (bound == NULL)
            {
              fprintf (stderr, _("heraldctl relay: cannot listen on %s: %s\n"), text,
                       error->message);
              return 71;
            }
          shown = g_socket_connectable_to_string (G_SOCKET_CONNECTABLE (bound));
          g_string_append_printf (where, "%s%s", where->len > 0 ? ", " : "", shown);
        }
    }

  relay.loop = g_main_loop_new (NULL, FALSE);
  relay.server = server;
  relay.self_exe = g_file_read_link ("/proc/self/exe", NULL);
  if (relay.self_exe == NULL)
    relay.self_exe = g_strdup (argv[0]);
  relay.system = system;
  /* The system relay writes only there and into the maildrop. */
  relay.log_path = system ? g_build_filename (state_dir, "log", "messages.log", NULL)
                          : g_build_filename (state_dir, "messages.log", NULL);
  relay.waiting = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  g_signal_connect (server, "message-queued", G_CALLBACK (message_queued_cb), &relay);
  g_unix_signal_add (SIGINT, quit_cb, &relay);
  g_unix_signal_add (SIGTERM, quit_cb, &relay);
  g_timeout_add (100, wait_sessions_cb, &relay);

  herald_relay_server_start (server);
  printf (_("Herald relay listening on %s\n"), where->str);
  printf (_("TLS certificate: %s%s\n"), used_cert,
          created ? _(" (created now)") : "");
  printf (_("SHA-256 fingerprint: %s\n"), fingerprint);
  printf (_("Without logging in: %s; everyone else logs in over TLS with a device user (%u "
            "configured)\n"), networks != NULL ? networks : _("nobody"), g_strv_length (names));
  if (system)
    printf (_("Handing messages to the Herald service (the %s profile, as %s)\n"),
            herald_profile_get_scope (profile), config->from);
  else
    printf (_("Delivering with the %s profile, as %s\n"), herald_profile_get_scope (profile),
            config->from);
  fflush (stdout);

  /* Whatever an earlier run left due (root's runner does that for the
   * system relay). */
  if (!system)
    start_flush (&relay);
  g_main_loop_run (relay.loop);

  g_clear_handle_id (&relay.retry_source, g_source_remove);
  g_main_loop_unref (relay.loop);
  g_free (relay.self_exe);
  g_free (relay.log_path);
  g_hash_table_unref (relay.waiting);
  return HERALD_EX_OK;
}

int
herald_cli_relay (int    argc,
                  char **argv)
{
  HeraldProfileScope scope = HERALD_PROFILE_SCOPE_AUTO;
  int status = HERALD_EX_OK;

  if (!_herald_cli_take_scope ("heraldctl relay", &argc, argv, TRUE, &scope, &status))
    return status;
  if (argc > 1 && g_str_equal (argv[1], "user"))
    return relay_user (scope, argc - 1, argv + 1);
  return relay_run (scope, argc, argv);
}
