/* SPDX-License-Identifier: GPL-3.0-or-later
 * Copyright 2026 The Herald authors
 */
#define G_LOG_DOMAIN "herald-cli"

#include "config.h"

#include <glib/gi18n.h>
#include <locale.h>
#include <signal.h>
#include <stdio.h>
#include <unistd.h>

#include "herald-cli.h"
#include "herald-cli-send.h"
#include "herald-cli-util.h"
#include "herald-profile.h"

/* login, logout and test had --user with a value before the profiles came
 * (the mailbox to sign in with, the login name), and scripts use it: "--user
 * NAME", "--user=NAME" and "-u NAME" keep that meaning. A bare --user (the
 * last argument, or followed by another option: no mailbox or login name
 * begins with "-") chooses the user profile, as on the other commands. Takes
 * it and --system out of argv; FALSE after saying that both were given. */
static gboolean
take_scope_bare_user (const char          *command,
                      int                 *argc,
                      char               **argv,
                      HeraldProfileScope  *scope,
                      int                 *status)
{
  gboolean user = FALSE;
  gboolean done = FALSE;
  int out = 1;

  for (int i = 1; i < *argc; i++)
    {
      if (!done && g_strcmp0 (argv[i], "--") == 0)
        done = TRUE;
      else if (!done && g_strcmp0 (argv[i], "--user") == 0 &&
               (i + 1 == *argc || argv[i + 1][0] == '-'))
        {
          user = TRUE;
          continue;
        }
      argv[out++] = argv[i];
    }
  argv[out] = NULL;
  *argc = out;

  if (!_herald_cli_take_scope (command, argc, argv, FALSE, scope, status))
    return FALSE;
  if (user && *scope == HERALD_PROFILE_SCOPE_SYSTEM)
    {
      fprintf (stderr, _("%s: --system and --user exclude each other\n"), command);
      *status = HERALD_EX_USAGE;
      return FALSE;
    }
  if (user)
    *scope = HERALD_PROFILE_SCOPE_USER;
  return TRUE;
}

/* login, logout and test without --system or --user follow the rule the
 * other commands follow (herald_profile_open()): the system profile when it
 * is the one that applies (no session bus, or nothing saved in the user
 * profile, and a system profile exists). Otherwise they keep their user
 * behaviour, also when no profile exists yet: options alone can say what to
 * test, and a sign-in may be the first thing saved. */
static HeraldProfileScope
resolve_auto_scope (gboolean for_writing)
{
  g_autoptr(HeraldProfile) chosen = herald_profile_open (HERALD_PROFILE_SCOPE_AUTO, for_writing,
                                                         NULL);

  return chosen != NULL && herald_profile_is_system (chosen) ? HERALD_PROFILE_SCOPE_SYSTEM
                                                             : HERALD_PROFILE_SCOPE_AUTO;
}

/* Where root's store keeps the tokens, for login's and logout's messages:
 * "/var/lib/herald, encrypted with the host key". */
static char *
describe_root_store (HeraldProfile *profile)
{
  HeraldSystemSecrets *secrets = herald_profile_get_system_secrets (profile, NULL);
  const char *protection = secrets != NULL
    ? herald_system_protection_describe (herald_system_secrets_get_protection (secrets))
    : _("root's store cannot be opened");

  return g_strdup_printf ("%s, %s", herald_profile_system_state_dir (), protection);
}

/* login and logout live in the OAuth module (herald-cli-module.c). With
 * --system they keep the tokens in root's store and the account in the
 * system profile (the profile installs its token store). With --user, or
 * neither, the keyring and GSettings; --user insists on a session bus,
 * without which the keyring cannot keep anything (better said before the
 * sign-in than after it). */
static int
oauth_command (const char  *name,
               int          argc,
               char       **argv)
{
  g_autofree char *command = g_strconcat ("heraldctl ", argv[0], NULL);
  g_autoptr(HeraldProfile) profile = NULL;
  HeraldProfileScope scope = HERALD_PROFILE_SCOPE_AUTO;
  int status = HERALD_EXIT_OK;
  int (*run) (int argc, char **argv);

  if (!take_scope_bare_user (command, &argc, argv, &scope, &status))
    return status;
  if (scope == HERALD_PROFILE_SCOPE_AUTO)
    scope = resolve_auto_scope (TRUE);
  if (scope == HERALD_PROFILE_SCOPE_SYSTEM)
    {
      g_autofree char *place = NULL;

      if (geteuid () != 0)
        {
          fprintf (stderr, _("%s: the system profile's sign-in is kept by root: run this as "
                             "root, e.g. with sudo\n"), command);
          return HERALD_EX_NOPERM;
        }
      profile = _herald_cli_open_profile (command, scope, TRUE, &status);
      if (profile == NULL)
        return status;
      place = describe_root_store (profile);
      _herald_cli_set_token_place (place);
    }
  else if (scope == HERALD_PROFILE_SCOPE_USER)
    {
      if (!herald_profile_session_bus_reachable ())
        {
          fprintf (stderr, _("%s: --user keeps the tokens in the desktop keyring, but no session "
                             "bus is reachable: run it in the desktop session, or as root with "
                             "--system\n"), command);
          return HERALD_EX_CONFIG;
        }
      profile = _herald_cli_open_profile (command, scope, TRUE, &status);
      if (profile == NULL)
        return status;
    }

  run = _herald_cli_oauth_symbol (argv[0], name);
  return run != NULL ? run (argc, argv) : HERALD_EXIT_FAILED;
}

static int
login (int    argc,
       char **argv)
{
  return oauth_command ("herald_cli_login", argc, argv);
}

static int
logout (int    argc,
        char **argv)
{
  return oauth_command ("herald_cli_logout", argc, argv);
}

/* heraldctl test --system: the system profile's settings are the
 * fallback for every option not given, its password comes from root's
 * store. --user (bare, see take_scope_bare_user()) or neither: the user
 * profile's settings and the keyring. */
static HeraldProfile *test_profile;

static char *
test_password_lookup (const char    *host,
                      guint16        port,
                      const char    *username,
                      GCancellable  *cancellable,
                      GError       **error)
{
  return herald_profile_lookup_password_for (test_profile, host, port, username, cancellable,
                                             error);
}

static int
test_command (int    argc,
              char **argv)
{
  g_autoptr(HeraldProfile) profile = NULL;
  HeraldProfileScope scope = HERALD_PROFILE_SCOPE_AUTO;
  int status = HERALD_EXIT_OK;

  if (!take_scope_bare_user ("heraldctl test", &argc, argv, &scope, &status))
    return HERALD_EXIT_USAGE;
  if (scope == HERALD_PROFILE_SCOPE_AUTO)
    scope = resolve_auto_scope (FALSE);
  if (scope == HERALD_PROFILE_SCOPE_USER)
    {
      profile = _herald_cli_open_profile ("heraldctl test", scope, FALSE, &status);
      if (profile == NULL)
        return HERALD_EXIT_USAGE;
    }
  else if (scope == HERALD_PROFILE_SCOPE_SYSTEM)
    {
      profile = _herald_cli_open_profile ("heraldctl test", scope, FALSE, &status);
      if (profile == NULL)
        return HERALD_EXIT_USAGE;
      test_profile = profile;
      _herald_cli_set_password_lookup (test_password_lookup);
    }
  status = herald_cli_test (argc, argv);
  test_profile = NULL;
  return status;
}

/* ---------------------------------------------------------------------------
 * The commands
 * ------------------------------------------------------------------------- */

typedef struct {
  const char *name;
  int (*run) (int argc, char **argv);
  const char *summary;
} Command;

static const Command commands[] = {
  { "test",    test_command,       N_("Send a test message and explain any failure") },
  { "explain", herald_cli_explain, N_("Diagnose an error text pasted from any program") },
  { "login",   login,              N_("Sign in with OAuth 2.0 and keep the token in the keyring") },
  { "logout",  logout,             N_("Forget the OAuth 2.0 tokens of an account") },
  { "send",    herald_cli_send,    N_("Deliver an alert (also the sendmail command)") },
  { "queue",   herald_cli_queue,   N_("List, flush, retry or drop queued alerts") },
  { "config",  herald_cli_config,  N_("Show or change the settings heraldctl uses") },
  { "doctor",  herald_cli_doctor,  N_("Check whether alerts will arrive, and say how to fix it") },
  { "relay",   herald_cli_relay,   N_("Accept mail from devices over SMTP and deliver it") },
  { "history", herald_cli_history, N_("List the recent tests and show their reports") },
};

static void
print_usage (FILE *stream)
{
  fprintf (stream, "%s\n%s\n\n%s\n", _("Usage: heraldctl COMMAND [OPTION…]"),
           _("       heraldctl --help | --version"), _("Commands:"));
  for (guint i = 0; i < G_N_ELEMENTS (commands); i++)
    fprintf (stream, "  %-9s %s\n", commands[i].name, _(commands[i].summary));
  fprintf (stream, "\n%s\n\n", _("Run “heraldctl COMMAND --help” for the options of a command."));
  fprintf (stream, "%s\n\n",
           _("Settings: an option not given on the command line comes from the settings saved by\n"
             "Herald's window (GSettings schema io.github.heraldmail.Herald; see\n"
             "“gsettings list-recursively io.github.heraldmail.Herald”). Passwords and OAuth 2.0\n"
             "tokens come from the keyring, or from standard input with --password-stdin or\n"
             "--token-stdin; they are never read from the command line, a file or the settings."));
  fprintf (stream, "%s\n%s\n%s\n%s\n\n%s\n",
           _("Exit status:"),
           _("  0  success: the test message was accepted, the text has a specific diagnosis,\n"
             "     or the command did what was asked"),
           _("  1  failure: the test or the sign-in failed (the reason is printed), or the text\n"
             "     has only the general explanation"),
           _("  2  bad usage: an unknown command or option, or a missing or invalid value"),
           _("See heraldctl(1) for more."));
}

/* The catalogues live in LOCALEDIR once installed. HERALD_LOCALEDIR points at
 * the build tree's po/ instead (the tests set it), so the uninstalled program
 * speaks the user's language too. Ignored when heraldctl runs with other ids
 * than the caller's: a catalogue supplies format strings. */
static const char *
locale_dir (void)
{
  const char *dir = g_getenv ("HERALD_LOCALEDIR");

  if (dir != NULL && *dir != '\0' && getuid () == geteuid () && getgid () == getegid ())
    return dir;
  return LOCALEDIR;
}

int
main (int    argc,
      char **argv)
{
  setlocale (LC_ALL, "");
  bindtextdomain (GETTEXT_PACKAGE, locale_dir ());
  bind_textdomain_codeset (GETTEXT_PACKAGE, "UTF-8");
  textdomain (GETTEXT_PACKAGE);
  g_set_prgname ("heraldctl");

  /* A file-size limit must make a write fail (the queue then says so and
   * leaves nothing half-written), not kill the process. */
  signal (SIGXFSZ, SIG_IGN);

#ifdef HERALD_TEST_SYSTEM_ROOT
  /* heraldctl-systest (src/cli/meson.build), for tests/system only: the
   * system profile's directories in the build tree, never /etc or /var. */
  herald_profile_set_system_dirs (HERALD_TEST_SYSTEM_ROOT "/etc", HERALD_TEST_SYSTEM_ROOT "/var");
  _herald_cli_doctor_set_root (HERALD_TEST_SYSTEM_ROOT);
  if (g_getenv ("HERALD_TEST_SYSTEMD_CREDS") != NULL)
    herald_profile_set_system_creds_path (g_getenv ("HERALD_TEST_SYSTEMD_CREDS"));
  if (g_getenv ("HERALD_TEST_RELAY_ACCOUNT") != NULL)
    _herald_cli_relay_set_account (g_getenv ("HERALD_TEST_RELAY_ACCOUNT"));
#endif

  /* Installed as links named sendmail and mailq (in $libexecdir/herald). */
  {
    g_autofree char *name = g_path_get_basename (argv[0]);

    if (g_str_equal (name, "sendmail"))
      return herald_cli_send (argc, argv);
    if (g_str_equal (name, "mailq"))
      {
        argv[0] = (char *) "list";
        return herald_cli_queue_list (argc, argv);
      }
  }

  if (argc < 2)
    {
      print_usage (stderr);
      return HERALD_EXIT_USAGE;
    }

  if (g_str_equal (argv[1], "--help") || g_str_equal (argv[1], "-h") || g_str_equal (argv[1], "help"))
    {
      print_usage (stdout);
      return HERALD_EXIT_OK;
    }

  if (g_str_equal (argv[1], "--version"))
    {
      printf ("heraldctl %s\n", PACKAGE_VERSION);
      return HERALD_EXIT_OK;
    }

  for (guint i = 0; i < G_N_ELEMENTS (commands); i++)
    if (g_str_equal (argv[1], commands[i].name))
      return commands[i].run (argc - 1, argv + 1);

  fprintf (stderr, _("heraldctl: unknown command “%s”\n\n"), argv[1]);
  print_usage (stderr);
  return HERALD_EXIT_USAGE;
}
