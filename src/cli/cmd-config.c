/* SPDX-License-Identifier: GPL-3.0-or-later
 * Copyright 2026 The Herald authors
 */
#define G_LOG_DOMAIN "herald-cli"

#include "config.h"

#include <glib/gi18n.h>
#include <json-glib/json-glib.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <termios.h>
#include <errno.h>
#include <unistd.h>

#include "herald-cli.h"
#include "herald-cli-util.h"
#include "herald-cli-send.h"
#include "herald-delivery.h"
#include "herald-profile.h"
#include "herald-report.h"
#include "herald-secret.h"
#include "herald-secrets-oauth.h"

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

/* ---- export and import ---------------------------------------------------------- */

#define MAX_IMPORT_SIZE (1024 * 1024)

static void
oauth_key (HeraldProfile  *profile,
           char          **provider,
           char          **account,
           char          **client_id)
{
  *provider = herald_profile_get_string (profile, "oauth-provider");
  if (*provider == NULL)
    *provider = g_strdup ("microsoft");
  *account = herald_profile_get_string (profile, "username");
  *client_id = herald_profile_get_string (profile, "oauth-client-id");
  if (*client_id == NULL)
    *client_id = g_strdup (g_str_equal (*provider, "google") ? HERALD_GOOGLE_CLIENT_ID
                                                             : HERALD_MICROSOFT_CLIENT_ID);
  if (**client_id == '\0')
    g_clear_pointer (client_id, g_free);
}

static gboolean
auth_is_oauth (HeraldProfile *profile)
{
  g_autofree char *auth = herald_profile_get_string (profile, "auth");

  return g_strcmp0 (auth, "xoauth2") == 0 || g_strcmp0 (auth, "oauthbearer") == 0;
}

/* The profile as a key file on standard output: [herald] with every saved
 * setting; with @with_secrets also [secrets] (the password, or the OAuth
 * refresh token), never into a file. */
static int
config_export (HeraldProfile *profile,
               gboolean       with_secrets)
{
  const char * const *keys = herald_profile_list_keys (profile);
  g_autoptr(GKeyFile) kf = g_key_file_new ();
  g_autoptr(GError) error = NULL;
  struct stat st;
  char *data;
  gsize length;

  if (with_secrets && fstat (STDOUT_FILENO, &st) == 0 && !S_ISFIFO (st.st_mode) &&
      !S_ISSOCK (st.st_mode) && !S_ISCHR (st.st_mode))
    return config_usage_error (_("--with-secrets writes to a pipe only, never into a file: "
                                 "heraldctl config export --with-secrets | sudo heraldctl config "
                                 "--system import -"));

  for (guint i = 0; keys[i] != NULL; i++)
    {
      HeraldProfileSource source;
      g_autofree char *value = herald_profile_get_text (profile, keys[i], &source, NULL);

      if (value != NULL && source == HERALD_PROFILE_SOURCE_SAVED)
        g_key_file_set_string (kf, "herald", keys[i], value);
    }

  if (with_secrets && auth_is_oauth (profile))
    {
      g_autofree char *provider = NULL, *account = NULL, *client_id = NULL;
      g_autoptr(HeraldOAuthTokens) tokens = NULL;

      oauth_key (profile, &provider, &account, &client_id);
      if (account != NULL && client_id != NULL)
        tokens = herald_oauth_tokens_lookup_sync (provider, account, client_id, NULL, &error);
      if (tokens == NULL || tokens->refresh_token == NULL)
        {
          fprintf (stderr, _("heraldctl config export: no sign-in to export%s%s\n"),
                   error != NULL ? ": " : "", error != NULL ? error->message : "");
          return HERALD_EX_UNAVAILABLE;
        }
      g_key_file_set_string (kf, "secrets", "oauth-refresh-token", tokens->refresh_token);
      if (tokens->client_secret != NULL)
        g_key_file_set_string (kf, "secrets", "oauth-client-secret", tokens->client_secret);
      fprintf (stderr, _("herald: the export holds the refresh token of %s: whoever has it can "
                         "send mail as %s until it is revoked. It goes straight into the pipe; "
                         "never keep it in a file.\n"), account, account);
    }
  else if (with_secrets)
    {
      char *password = herald_profile_lookup_password (profile, NULL, &error);

      if (password == NULL)
        {
          fprintf (stderr, _("heraldctl config export: no password to export%s%s\n"),
                   error != NULL ? ": " : "", error != NULL ? error->message : "");
          return HERALD_EX_UNAVAILABLE;
        }
      g_key_file_set_string (kf, "secrets", "password", password);
      herald_secret_free (password);
    }

  data = g_key_file_to_data (kf, &length, NULL);
  fwrite (data, 1, length, stdout);
  fflush (stdout);
  /* The key file's text held the secret too. */
  herald_secret_wipe (data, length);
  g_free (data);
  if (with_secrets)
    g_key_file_remove_group (kf, "secrets", NULL);
  return HERALD_EX_OK;
}

static char *
read_all_stdin (gsize   *length,
                GError **error)
{
  /* Reserved up front so that no grown copy of a secret is left behind. */
  g_autoptr(GByteArray) buf = g_byte_array_sized_new (MAX_IMPORT_SIZE + 1);
  guint8 chunk[4096];

  for (;;)
    {
      ssize_t n = read (STDIN_FILENO, chunk, sizeof chunk);

      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        {
          int saved = errno;

          herald_secret_wipe (buf->data, buf->len);
          g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved),
                       _("cannot read standard input: %s"), g_strerror (saved));
          return NULL;
        }
      if (n == 0)
        break;
      if (buf->len + (gsize) n > MAX_IMPORT_SIZE)
        {
          herald_secret_wipe (buf->data, buf->len);
          herald_secret_wipe (chunk, sizeof chunk);
          g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                       _("the input is larger than %d bytes"), MAX_IMPORT_SIZE);
          return NULL;
        }
      g_byte_array_append (buf, chunk, (guint) n);
    }
  herald_secret_wipe (chunk, sizeof chunk);
  *length = buf->len;
  g_byte_array_append (buf, (const guint8 *) "", 1);
  return (char *) g_byte_array_free (g_steal_pointer (&buf), FALSE);
}

/* Reads an exported key file from standard input into @profile: every
 * setting checked as `config set` checks it (nothing saved when one is
 * refused), then the secrets into the profile's store. */
static int
config_import (HeraldProfile *profile)
{
  g_autoptr(GKeyFile) kf = g_key_file_new ();
  g_autoptr(GError) error = NULL;
  g_auto(GStrv) keys = NULL;
  gsize length = 0;
  char *text;
  gboolean loaded;
  int status = HERALD_EX_OK;

  text = read_all_stdin (&length, &error);
  if (text == NULL)
    return config_usage_error ("%s", error->message);
  loaded = g_key_file_load_from_data (kf, text, length, G_KEY_FILE_NONE, &error);
  herald_secret_wipe (text, length);
  g_free (text);
  if (!loaded || !g_key_file_has_group (kf, "herald"))
    return config_usage_error (_("the input is not an exported profile (a key file with a "
                                 "[herald] group): %s"),
                               error != NULL ? error->message : _("no [herald] group"));

  keys = g_key_file_get_keys (kf, "herald", NULL, NULL);
  /* Every value checked before anything is saved. */
  for (guint i = 0; keys != NULL && keys[i] != NULL; i++)
    {
      g_autofree char *value = g_key_file_get_string (kf, "herald", keys[i], NULL);

      if (value == NULL || !herald_profile_check_text (profile, keys[i], value, &error))
        return config_usage_error (_("not imported, nothing changed: %s"),
                                   error != NULL ? error->message : keys[i]);
    }
  for (guint i = 0; keys != NULL && keys[i] != NULL; i++)
    {
      g_autofree char *value = g_key_file_get_string (kf, "herald", keys[i], NULL);

      if (!herald_profile_set_text (profile, keys[i], value, &error))
        {
          fprintf (stderr, "heraldctl config import: %s\n", error->message);
          return HERALD_EX_CANTCREAT;
        }
    }
  if (herald_profile_is_system (profile) && geteuid () == 0 &&
      !herald_profile_ensure_system_spool (&error))
    {
      fprintf (stderr, "heraldctl config import: %s\n", error->message);
      return HERALD_EX_CANTCREAT;
    }
  printf (_("Imported %u settings into the %s profile.\n"),
          keys != NULL ? g_strv_length (keys) : 0, herald_profile_get_scope (profile));

  if (g_key_file_has_key (kf, "secrets", "password", NULL))
    {
      char *password = g_key_file_get_string (kf, "secrets", "password", NULL);
      gboolean ok = password != NULL &&
                    herald_profile_store_password (profile, password, NULL, &error);

      herald_secret_free (password);
      if (!ok)
        {
          fprintf (stderr, _("heraldctl config import: the password was not stored: %s\n"),
                   error != NULL ? error->message : "");
          status = HERALD_EX_UNAVAILABLE;
        }
      else
        printf (_("Stored the password in %s.\n"), herald_profile_describe_credentials (profile));
    }
  if (g_key_file_has_key (kf, "secrets", "oauth-refresh-token", NULL))
    {
      g_autofree char *provider = NULL, *account = NULL, *client_id = NULL;
      g_autoptr(HeraldOAuthTokens) tokens = herald_oauth_tokens_new ();
      gboolean ok = FALSE;

      oauth_key (profile, &provider, &account, &client_id);
      tokens->refresh_token = g_key_file_get_string (kf, "secrets", "oauth-refresh-token", NULL);
      tokens->client_secret = g_key_file_get_string (kf, "secrets", "oauth-client-secret", NULL);
      if (account != NULL && client_id != NULL && tokens->refresh_token != NULL)
        ok = herald_oauth_tokens_store_sync (provider, account, client_id, tokens, NULL, &error);
      if (!ok)
        {
          fprintf (stderr, _("heraldctl config import: the sign-in was not stored: %s\n"),
                   error != NULL ? error->message
                   : _("the profile names no account (username) or client ID"));
          status = HERALD_EX_UNAVAILABLE;
        }
      else
        printf (_("Stored the sign-in of %s in %s.\n"), account,
                herald_profile_describe_credentials (profile));
    }
  /* The key file kept copies of the secrets. */
  {
    g_autofree char *p = g_key_file_get_string (kf, "secrets", "password", NULL);
    g_autofree char *t = g_key_file_get_string (kf, "secrets", "oauth-refresh-token", NULL);

    herald_secret_wipe_string (p);
    herald_secret_wipe_string (t);
  }
  return status;
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
  fprintf (out, "  export [--with-secrets]\n"
                "                         %s\n", _("Print the profile as a key file on standard "
                                                   "output (the password or OAuth refresh token "
                                                   "only with --with-secrets, only into a pipe)"));
  fprintf (out, "  import -               %s\n", _("Read an exported profile from standard input, "
                                                   "e.g. heraldctl config export --with-secrets | "
                                                   "sudo heraldctl config --system import -"));
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
      /* Once root sets up the system profile, local users can hand their
       * alerts to the maildrop. */
      if (herald_profile_is_system (profile) && geteuid () == 0 &&
          !herald_profile_ensure_system_spool (&error))
        {
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

  if (g_str_equal (sub, "export"))
    {
      gboolean with_secrets = FALSE;

      for (int i = 2; i < argc; i++)
        {
          if (g_str_equal (argv[i], "--with-secrets"))
            with_secrets = TRUE;
          else
            return config_usage_error (_("unexpected argument “%s”"), argv[i]);
        }
      /* What the desktop has is what moves to the server: the user profile
       * unless --system says otherwise. */
      profile = _herald_cli_open_profile ("heraldctl config",
                                          scope == HERALD_PROFILE_SCOPE_AUTO
                                          ? HERALD_PROFILE_SCOPE_USER : scope, FALSE, &status);
      if (profile == NULL)
        return status;
      return config_export (profile, with_secrets);
    }

  if (g_str_equal (sub, "import"))
    {
      if (argc != 3 || !g_str_equal (argv[2], "-"))
        return config_usage_error (_("the profile is read from standard input only: heraldctl "
                                     "config --system import -"));
      profile = _herald_cli_open_profile ("heraldctl config", scope, TRUE, &status);
      if (profile == NULL)
        return status;
      return config_import (profile);
    }

  return config_usage_error (_("unknown command “%s”"), sub);
}
