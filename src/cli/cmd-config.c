/* SPDX-License-Identifier: GPL-3.0-or-later
 * Copyright 2026 The Herald authors
 */
#define G_LOG_DOMAIN "herald-cli"

#include "config.h"

#include <glib/gi18n.h>
#include <json-glib/json-glib.h>
#include <stdio.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "herald-cli.h"
#include "herald-cli-util.h"
#include "herald-cli-send.h"
#include "herald-delivery.h"
#include "herald-profile.h"
#include "herald-report.h"

/* heraldctl config show|set|password: the profile heraldctl send uses,
 * visible and settable from a terminal. No secret is ever printed. */

#define MAX_PASSWORD_LENGTH 4096

static int
config_usage_error (const char *format,
                    ...) G_GNUC_PRINTF (1, 2);

static int
config_usage_error (const char *format,
                    ...)
{
  g_autofree char *message = NULL;
  va_list args;

  va_start (args, format);
  message = g_strdup_vprintf (format, args);
  va_end (args);
  fprintf (stderr, "heraldctl config: %s\n", message);
  fprintf (stderr, _("Run “heraldctl config --help” for the commands.\n"));
  return HERALD_EX_USAGE;
}

/* For the system profile: how root's store protects secrets (encrypted with
 * the host key, or a 0600 file), which only root can find out. */
static const char *
describe_protection (HeraldProfile *profile)
{
  HeraldSystemSecrets *secrets;

  if (!herald_profile_is_system (profile))
    return NULL;
  if (geteuid () != 0)
    return _("kept by root (run as root to see how they are protected)");
  secrets = herald_profile_get_system_secrets (profile, NULL);
  if (secrets == NULL)
    return _("root's store cannot be opened");
  return herald_system_protection_describe (herald_system_secrets_get_protection (secrets));
}

static int
config_show (HeraldProfile *profile,
             gboolean       json)
{
  const char * const *keys = herald_profile_list_keys (profile);
  g_autofree char *detail = NULL;
  const char *protection;
  HeraldCredentialState credential;

  credential = herald_profile_get_credential_state (profile, NULL, &detail);
  protection = describe_protection (profile);

  if (json)
    {
      g_autoptr(JsonBuilder) b = json_builder_new ();
      g_autoptr(JsonNode) root = NULL;

      json_builder_begin_object (b);
      json_builder_set_member_name (b, "profile");
      json_builder_add_string_value (b, herald_profile_get_scope (profile));
      json_builder_set_member_name (b, "source");
      json_builder_add_string_value (b, herald_profile_describe_source (profile));
      json_builder_set_member_name (b, "why");
      json_builder_add_string_value (b, herald_profile_get_why (profile) != NULL
                                        ? herald_profile_get_why (profile) : "");
      json_builder_set_member_name (b, "file");
      if (herald_profile_is_system (profile))
        json_builder_add_string_value (b, herald_profile_system_config_file ());
      else
        json_builder_add_null_value (b);
      json_builder_set_member_name (b, "settings");
      json_builder_begin_array (b);
      for (guint i = 0; keys[i] != NULL; i++)
        {
          HeraldProfileSource source;
          g_autofree char *value = herald_profile_get_text (profile, keys[i], &source, NULL);

          json_builder_begin_object (b);
          json_builder_set_member_name (b, "key");
          json_builder_add_string_value (b, keys[i]);
          json_builder_set_member_name (b, "value");
          json_builder_add_string_value (b, value != NULL ? value : "");
          json_builder_set_member_name (b, "source");
          json_builder_add_string_value (b, herald_profile_source_to_string (source));
          json_builder_end_object (b);
        }
      json_builder_end_array (b);
      json_builder_set_member_name (b, "credentials");
      json_builder_begin_object (b);
      json_builder_set_member_name (b, "store");
      json_builder_add_string_value (b, herald_profile_describe_credentials (profile));
      json_builder_set_member_name (b, "state");
      json_builder_add_string_value (b, herald_credential_state_to_string (credential));
      json_builder_set_member_name (b, "detail");
      if (detail != NULL)
        json_builder_add_string_value (b, detail);
      else
        json_builder_add_null_value (b);
      json_builder_set_member_name (b, "protection");
      if (protection != NULL)
        json_builder_add_string_value (b, protection);
      else
        json_builder_add_null_value (b);
      json_builder_end_object (b);
      json_builder_set_member_name (b, "queue");
      json_builder_add_string_value (b, herald_profile_get_queue_dir (profile));
      json_builder_end_object (b);
      root = json_builder_get_root (b);
      _herald_cli_print_json (root);
      return HERALD_EX_OK;
    }

  if (herald_profile_is_system (profile))
    printf (_("Profile: system (settings from %s, %s)\n"), herald_profile_describe_source (profile),
            herald_profile_system_config_file ());
  else
    printf (_("Profile: user (settings from %s)\n"), herald_profile_describe_source (profile));
  printf (_("Why this profile: %s\n\n"), herald_profile_get_why (profile) != NULL
                                          ? herald_profile_get_why (profile) : "");
  for (guint i = 0; keys[i] != NULL; i++)
    {
      HeraldProfileSource source;
      g_autofree char *value = herald_profile_get_text (profile, keys[i], &source, NULL);

      printf ("  %-18s %-40s %s\n", keys[i], value != NULL ? value : "",
              source == HERALD_PROFILE_SOURCE_SAVED ? _("(saved)") : _("(default)"));
    }
  printf ("\n");
  switch (credential)
    {
    case HERALD_CREDENTIAL_NOT_NEEDED:
      printf (_("Credentials: none needed for these settings\n"));
      break;
    case HERALD_CREDENTIAL_STORED:
      printf (_("Credentials: stored in %s (not shown)\n"),
              herald_profile_describe_credentials (profile));
      break;
    case HERALD_CREDENTIAL_MISSING:
      if (herald_profile_is_system (profile))
        printf (_("Credentials: missing from %s; store the password as root with “heraldctl "
                  "config --system password --stdin”, or sign in with “heraldctl login --system "
                  "--device”\n"),
                herald_profile_describe_credentials (profile));
      else
        printf (_("Credentials: missing from %s; store the password with “heraldctl config "
                  "password --stdin”, or sign in with “heraldctl login”\n"),
                herald_profile_describe_credentials (profile));
      break;
    case HERALD_CREDENTIAL_UNREADABLE:
    default:
      printf (_("Credentials: %s cannot be read: %s\n"),
              herald_profile_describe_credentials (profile), detail != NULL ? detail : "");
      break;
    }
  if (protection != NULL)
    printf (_("Secrets: %s\n"), protection);
  printf (_("Queue: %s\n"), herald_profile_get_queue_dir (profile));
  return HERALD_EX_OK;
}

static int
config_password (HeraldProfile *profile)
{
  g_autoptr(GError) error = NULL;
  struct termios saved, quiet;
  gboolean tty = isatty (STDIN_FILENO) && tcgetattr (STDIN_FILENO, &saved) == 0;
  char *password;
  gboolean ok;

  if (tty)
    {
      quiet = saved;
      quiet.c_lflag &= ~(tcflag_t) ECHO;
      tcsetattr (STDIN_FILENO, TCSANOW, &quiet);
      fputs (_("Password: "), stderr);
      fflush (stderr);
    }
  password = _herald_cli_read_secret_line_raw ("--stdin", _("password"), MAX_PASSWORD_LENGTH,
                                               &error);
  if (tty)
    {
      tcsetattr (STDIN_FILENO, TCSANOW, &saved);
      fputc ('\n', stderr);
    }
  if (password == NULL)
    return config_usage_error ("%s", error->message);

  ok = herald_profile_store_password (profile, password, NULL, &error);
  _herald_cli_secret_free (password);
  if (!ok)
    {
      fprintf (stderr, _("heraldctl config password: the password was not stored: %s\n"),
               error->message);
      return g_error_matches (error, HERALD_PROFILE_ERROR, HERALD_PROFILE_ERROR_INCOMPLETE)
             ? HERALD_EX_CONFIG : HERALD_EX_UNAVAILABLE;
    }
  {
    g_autofree char *server = herald_profile_get_string (profile, "server");
    g_autofree char *user = herald_profile_get_string (profile, "username");

    fprintf (stderr, _("Stored the password for %s on %s in %s.\n"), user, server,
             herald_profile_describe_credentials (profile));
  }
  return HERALD_EX_OK;
}

static void
print_config_help (FILE *out)
{
  fprintf (out, "%s\n", _("Usage: heraldctl config [--system | --user] COMMAND"));
  fprintf (out, "\n%s\n", _("Commands:"));
  fprintf (out, "  show [--json]          %s\n", _("Every setting heraldctl uses, where it came "
                                                   "from and why this profile applies (no secret "
                                                   "is shown)"));
  fprintf (out, "  set KEY VALUE          %s\n", _("Change a setting (checked as the window "
                                                   "checks it)"));
  fprintf (out, "  password --stdin       %s\n", _("Store the password for the profile's server, "
                                                   "port and username"));
  fprintf (out, "\n%s\n", _("Options:"));
  fprintf (out, "  --system               %s\n", _("The system profile (servers; root's "
                                                   "credential store)"));
  fprintf (out, "  --user                 %s\n", _("The user profile (GSettings and the desktop "
                                                   "keyring)"));
  fprintf (out, "%s\n", _("Without either: the user profile when a session bus is reachable and "
                          "a server is saved in it, else the system profile when it exists."));
  fprintf (out, "\n%s\n", _("Exit status: 0 done, 64 bad usage or a value that does not pass "
                            "its checks, 69 the credential store is not available (the system "
                            "one: not root), 73 the system profile file cannot be written (not "
                            "root), 78 no profile, or no server and username for the password."));
}

int
herald_cli_config (int    argc,
                   char **argv)
{
  g_autoptr(HeraldProfile) profile = NULL;
  g_autoptr(GError) error = NULL;
  HeraldProfileScope scope = HERALD_PROFILE_SCOPE_AUTO;
  int status = HERALD_EX_OK;
  const char *sub;

  if (!_herald_cli_take_scope ("heraldctl config", &argc, argv, TRUE, &scope, &status))
    return status;

  if (argc < 2)
    {
      print_config_help (stderr);
      return HERALD_EX_USAGE;
    }
  sub = argv[1];
  if (g_str_equal (sub, "--help") || g_str_equal (sub, "-h") || g_str_equal (sub, "help"))
    {
      print_config_help (stdout);
      return HERALD_EX_OK;
    }

  if (g_str_equal (sub, "show"))
    {
      gboolean json = FALSE;

      for (int i = 2; i < argc; i++)
        {
          if (g_str_equal (argv[i], "--json"))
            json = TRUE;
          else
            return config_usage_error (_("unexpected argument “%s”"), argv[i]);
        }
      profile = _herald_cli_open_profile ("heraldctl config", scope, FALSE, &status);
      if (profile == NULL)
        return status;
      return config_show (profile, json);
    }

  if (g_str_equal (sub, "set"))
    {
      if (argc != 4)
        return config_usage_error (_("give a setting and its value: heraldctl config set KEY "
                                     "VALUE"));
      profile = _herald_cli_open_profile ("heraldctl config", scope, TRUE, &status);
      if (profile == NULL)
        return status;
      if (!herald_profile_set_text (profile, argv[2], argv[3], &error))
        {
          if (error->domain == HERALD_PROFILE_ERROR)
            return config_usage_error ("%s", error->message);
          /* The value was fine; the file could not be written (not root). */
          fprintf (stderr, "heraldctl config set: %s\n", error->message);
          return HERALD_EX_CANTCREAT;
        }
      return HERALD_EX_OK;
    }

  if (g_str_equal (sub, "password"))
    {
      if (argc != 3 || !g_str_equal (argv[2], "--stdin"))
        return config_usage_error (_("the password is read from standard input only: "
                                     "heraldctl config password --stdin"));
      profile = _herald_cli_open_profile ("heraldctl config", scope, TRUE, &status);
      if (profile == NULL)
        return status;
      return config_password (profile);
    }

  return config_usage_error (_("unknown command “%s”"), sub);
}
