/* SPDX-License-Identifier: GPL-3.0-or-later
 * Copyright 2026 The Herald authors
 */
#define G_LOG_DOMAIN "herald-cli"

#include "config.h"
#include "herald-cli-abi.h"

#include <glib/gi18n.h>
#include <string.h>

#include "herald-cli.h"
#include "herald-cli-util.h"
#include "herald-diagnosis.h"
#include "herald-graph-transport.h"
#include "herald-oauth.h"
#include "herald-report.h"
#include "herald-secret.h"

/* heraldctl login / logout: OAuth 2.0 sign-in. Tokens go to the keyring, or
 * with --system to root's store (heraldctl.c installs it and says where it
 * is: _herald_cli_get_token_place()); provider, client ID, tenant, authority
 * and the address go to the profile's settings so that "heraldctl test --auth
 * xoauth2" needs no repeat of them. */

typedef struct {
  char *provider;
  char *user;
  char *client_id;
  char *tenant;
  char *authority;
  char *certificate;
  gboolean device;
  gboolean client_secret_stdin;
  gboolean app;
  gboolean system;   /* for --help only: heraldctl.c takes --system out first */
} LoginOptions;

static void
login_options_clear (LoginOptions *o)
{
  g_free (o->provider);
  g_free (o->user);
  g_free (o->client_id);
  g_free (o->tenant);
  g_free (o->authority);
  g_free (o->certificate);
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (LoginOptions, login_options_clear)

/* Builds the account from the options, falling back to the saved settings
 * for whatever the command line leaves out. */
static int
build_account (const char          *command,
               LoginOptions        *o,
               GSettings           *settings,
               HeraldOAuthAccount **out)
{
  g_autoptr(HeraldOAuthAccount) account = NULL;
  g_autofree char *provider_name = NULL;
  HeraldOAuthProvider provider;
  gboolean same_provider;

  provider_name = _herald_cli_option_or_setting (o->provider, settings, "oauth-provider");
  if (provider_name == NULL)
    return _herald_cli_usage_error (command, "%s", _("--provider is required: microsoft or google"));
  if (!herald_oauth_provider_from_string (provider_name, &provider))
    return _herald_cli_usage_error (command, _("invalid --provider “%s”: use microsoft or google"), provider_name);

  /* Saved values belong to the saved provider only. */
  {
    g_autofree char *saved = _herald_cli_setting_string (settings, "oauth-provider");
    same_provider = g_strcmp0 (saved, provider_name) == 0;
  }

  account = herald_oauth_account_new (provider, NULL);
  account->account = _herald_cli_option_or_setting (o->user, settings, "username");
  if (account->account == NULL)
    return _herald_cli_usage_error (command, "%s", _("--user is required: the mailbox address"));

  account->client_id = _herald_cli_option_or_setting (o->client_id,
                                                      same_provider ? settings : NULL,
                                                      "oauth-client-id");
  if (provider == HERALD_OAUTH_PROVIDER_MICROSOFT)
    account->tenant = _herald_cli_option_or_setting (o->tenant,
                                                     same_provider ? settings : NULL,
                                                     "oauth-tenant");
  else if (o->tenant != NULL)
    return _herald_cli_usage_error (command, "%s", _("--tenant is for Microsoft only"));
  account->authority = _herald_cli_option_or_setting (o->authority,
                                                      same_provider ? settings : NULL,
                                                      "oauth-authority");

  /* The transport decides what the sign-in is for: Graph's Mail.Send
   * (with the national cloud's host) or the provider's SMTP scope. */
  if (provider == HERALD_OAUTH_PROVIDER_MICROSOFT && settings != NULL &&
      herald_graph_transport_from_settings (settings))
    {
      g_autofree char *endpoint = g_settings_get_string (settings, "graph-endpoint");

      account->scope = herald_graph_scope_for_endpoint (endpoint, FALSE);
      if (account->scope == NULL)
        return _herald_cli_usage_error (command, _("the saved graph-endpoint “%s” is not a "
                                                   "Microsoft Graph endpoint"), endpoint);
    }

  *out = g_steal_pointer (&account);

  return HERALD_EXIT_OK;
}

static void
print_failure (const char   *command,
               const GError *error)
{
  fprintf (stderr, "heraldctl %s: %s\n", command, error->message);

  /* The diagnosis rules know the AADSTS codes: show the fix when one matches. */
  if (error->domain == HERALD_OAUTH_ERROR)
    {
      g_autoptr(HeraldDiagnosis) diagnosis = herald_diagnose_text (error->message, HERALD_STAGE_AUTH, NULL);

      if (diagnosis != NULL && !herald_diagnosis_is_fallback (diagnosis))
        {
          fputc ('\n', stderr);
          herald_diagnosis_print (diagnosis, stderr);
        }
    }
}

/* Google "Desktop app" client secrets are about 35 characters. */
#define MAX_CLIENT_SECRET_LENGTH 1024

static gboolean
cli_browser (const char  *uri,
             gpointer     user_data,
             GError     **error)
{
  g_autoptr(GError) local = NULL;

  printf ("%s\n  %s\n", _("Sign in with your browser. If it does not open, open this address on this computer:"),
          uri);
  fflush (stdout);

  /* On a machine without a browser the address above is all we can do;
   * keep waiting for the redirect either way. */
  if (!g_app_info_launch_default_for_uri (uri, NULL, &local))
    g_debug ("Could not open a browser: %s", local->message);

  return TRUE;
}

static void
device_code_cb (const char *verification_uri,
                const char *user_code,
                const char *message,
                gpointer    user_data)
{
  /* Translators: the first %s is a web address, the second a code such as ABCD-EFGH. */
  printf (_("To sign in, open %s in a browser on any device and enter the code %s\n"),
          verification_uri, user_code);
  printf ("%s\n", _("Waiting for the sign-in to finish…"));
  fflush (stdout);
}

/* The interface this module was built against; heraldctl refuses the module
 * when it differs from its own (heraldctl.c). */
const char *herald_cli_oauth_abi (void);

const char *
herald_cli_oauth_abi (void)
{
  return HERALD_CLI_ABI;
}

/* The PEM files of a certificate with its key are a few kilobytes. */
#define MAX_CERTIFICATE_FILE (256 * 1024)

/* heraldctl login --app: the client credentials grant, checked once, then
 * the secret or the certificate and key kept in the credential store; the
 * profile sends app-only from then on. */
static int
login_app (LoginOptions *o,
           GSettings    *settings)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) pem = NULL;
  g_autofree char *client_id = NULL;
  g_autofree char *tenant = NULL;
  g_autofree char *authority = NULL;
  g_autofree char *scope = NULL;
  g_autofree char *transport = NULL;
  char *secret = NULL;
  const char *place = _herald_cli_get_token_place ();
  HeraldGraphAppCredentials credentials = { 0, };
  gboolean ok;

  if (o->provider != NULL && g_strcmp0 (o->provider, "microsoft") != 0)
    return _herald_cli_usage_error ("login", "%s", _("--app is for Microsoft only"));
  if (o->device || o->user != NULL)
    return _herald_cli_usage_error ("login", "%s", _("--app signs in as the app itself: no "
                                                     "--user and no --device"));
  if ((o->certificate != NULL) == o->client_secret_stdin)
    return _herald_cli_usage_error ("login", "%s", _("--app needs either --certificate PEM or "
                                                     "--client-secret-stdin"));
  if (o->client_id == NULL || o->tenant == NULL)
    return _herald_cli_usage_error ("login", "%s", _("--app needs --client-id and --tenant (the "
                                                     "app's tenant ID or domain)"));

  client_id = g_strstrip (g_strdup (o->client_id));
  tenant = g_strstrip (g_strdup (o->tenant));
  authority = o->authority != NULL ? g_strstrip (g_strdup (o->authority)) : NULL;

  if (o->certificate != NULL)
    {
      char *contents = NULL;
      gsize length = 0;

      if (!g_file_get_contents (o->certificate, &contents, &length, &error))
        return _herald_cli_usage_error ("login", "%s", error->message);
      if (length > MAX_CERTIFICATE_FILE)
        {
          herald_secret_free (contents);
          return _herald_cli_usage_error ("login", _("%s is too large for a certificate and key"),
                                          o->certificate);
        }
      /* The key is wiped when the bytes go. */
      pem = g_bytes_new_with_free_func (contents, length, (GDestroyNotify) herald_secret_free,
                                        contents);
    }
  else
    {
      secret = _herald_cli_read_secret_line_raw ("--client-secret-stdin", _("client secret"),
                                                 MAX_CLIENT_SECRET_LENGTH, &error);
      if (secret == NULL)
        {
          if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA))
            return _herald_cli_usage_error ("login", "%s", error->message);
          fprintf (stderr, "heraldctl login: %s\n", error->message);
          return HERALD_EXIT_FAILED;
        }
    }

  /* Graph's .default (the national cloud's) with transport graph; app-only
   * SMTP (SMTP.SendAsApp) otherwise. */
  transport = _herald_cli_setting_string (settings, "transport");
  if (g_strcmp0 (transport, "graph") == 0)
    {
      g_autofree char *endpoint = _herald_cli_setting_string (settings, "graph-endpoint");

      scope = herald_graph_scope_for_endpoint (endpoint, TRUE);
      if (scope == NULL)
        {
          herald_secret_free (secret);
          return _herald_cli_usage_error ("login", _("the saved graph-endpoint “%s” is not a "
                                                     "Microsoft Graph endpoint"), endpoint);
        }
    }
  else
    scope = g_strdup (HERALD_GRAPH_SMTP_APP_SCOPE);

  credentials.client_id = client_id;
  credentials.tenant = tenant;
  credentials.authority = authority;
  credentials.client_secret = secret;
  credentials.certificate_pem = pem;
  credentials.scope = scope;
  ok = herald_graph_app_sign_in_sync (&credentials, NULL, NULL, &error);
  herald_secret_free (secret);
  if (!ok)
    {
      print_failure ("login", error);
      return HERALD_EXIT_FAILED;
    }

  if (settings != NULL)
    {
      g_settings_set_string (settings, "oauth-provider", "microsoft");
      g_settings_set_string (settings, "oauth-client-id", client_id);
      g_settings_set_string (settings, "oauth-tenant", tenant);
      g_settings_set_string (settings, "oauth-authority", authority != NULL ? authority : "");
      g_settings_set_string (settings, "oauth-mode", "app-only");
      g_settings_sync ();
    }

  if (pem != NULL && place != NULL)
    /* Translators: the last %s is a directory and how it is protected, e.g.
     * "/var/lib/herald, encrypted with the host key". */
    printf (_("Signed in as the app %s in the tenant %s (app-only, %s). The certificate and its "
              "key are in root's credential store (%s).\n"), client_id, tenant, scope, place);
  else if (pem != NULL)
    printf (_("Signed in as the app %s in the tenant %s (app-only, %s). The certificate and its "
              "key are in the keyring.\n"), client_id, tenant, scope);
  else if (place != NULL)
    /* Translators: the last %s is a directory and how it is protected. */
    printf (_("Signed in as the app %s in the tenant %s (app-only, %s). The client secret is in "
              "root's credential store (%s).\n"), client_id, tenant, scope, place);
  else
    printf (_("Signed in as the app %s in the tenant %s (app-only, %s). The client secret is in "
              "the keyring.\n"), client_id, tenant, scope);
  if (g_strcmp0 (transport, "graph") == 0)
    printf ("%s\n", _("Alerts now go out through Microsoft Graph as the sender address (from)."));
  else
    printf ("%s\n", _("For SMTP, set the authentication to XOAUTH2: heraldctl config set auth "
                      "xoauth2"));
  return HERALD_EXIT_OK;
}

int
herald_cli_login (int    argc,
                  char **argv)
{
  g_auto(LoginOptions) o = { 0 };
  g_autoptr(GError) error = NULL;
  g_autoptr(GSettings) settings = NULL;
  g_autoptr(HeraldOAuthAccount) account = NULL;
  const GOptionEntry entries[] = {
    { "provider", 0, 0, G_OPTION_ARG_STRING, &o.provider,
      N_("Identity provider: microsoft or google"), N_("PROVIDER") },
    { "user", 'u', 0, G_OPTION_ARG_STRING, &o.user,
      N_("Mailbox address to sign in with; --user alone (no address) chooses the user profile: "
         "the keyring"), N_("ADDRESS") },
    { "system", 0, 0, G_OPTION_ARG_NONE, &o.system,
      N_("Keep the tokens in root's store and the account in the system profile (root only)"),
      NULL },
    { "client-id", 0, 0, G_OPTION_ARG_STRING, &o.client_id,
      N_("Client ID of your app registration"), N_("ID") },
    { "client-secret-stdin", 0, 0, G_OPTION_ARG_NONE, &o.client_secret_stdin,
      N_("Read the client secret of a Google “Desktop app” client from standard input"), NULL },
    { "tenant", 0, 0, G_OPTION_ARG_STRING, &o.tenant,
      N_("Microsoft tenant: organizations, common, consumers, a tenant ID or domain"), N_("TENANT") },
    { "authority", 0, 0, G_OPTION_ARG_STRING, &o.authority,
      N_("Authority URL (sovereign clouds), e.g. https://login.microsoftonline.us"), N_("URL") },
    { "device", 0, 0, G_OPTION_ARG_NONE, &o.device,
      N_("Sign in with a code on another device instead of a browser here (Microsoft)"), NULL },
    { "app", 0, 0, G_OPTION_ARG_NONE, &o.app,
      N_("Sign in as the app itself (client credentials, Microsoft): for servers that send "
         "app-only"), NULL },
    { "certificate", 0, 0, G_OPTION_ARG_FILENAME, &o.certificate,
      N_("With --app: a PEM file with the app's certificate and its private key"), N_("PEM") },
    { NULL }
  };
  int status;

  status = _herald_cli_parse_options ("login", _("Sign in with OAuth 2.0 and keep the tokens in the keyring."), NULL, entries, &argc, &argv);
  if (status != HERALD_EXIT_OK)
    return status;

  settings = _herald_cli_open_settings (NULL);
  if (o.app)
    return login_app (&o, settings);
  if (o.certificate != NULL)
    return _herald_cli_usage_error ("login", "%s", _("--certificate needs --app"));
  status = build_account ("login", &o, settings, &account);
  if (status != HERALD_EXIT_OK)
    return status;

  if (o.client_secret_stdin)
    {
      /* Meant for pipes ("… | heraldctl login --client-secret-stdin"). The
       * account wipes it when freed. */
      account->client_secret = _herald_cli_read_secret_line_raw ("--client-secret-stdin",
                                                                 _("client secret"),
                                                                 MAX_CLIENT_SECRET_LENGTH, &error);
      if (account->client_secret == NULL)
        {
          if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA))
            return _herald_cli_usage_error ("login", "%s", error->message);
          fprintf (stderr, "heraldctl login: %s\n", error->message);
          return HERALD_EXIT_FAILED;
        }
    }

  if (!herald_oauth_account_validate (account, &error))
    return _herald_cli_usage_error ("login", "%s", error->message);
  if (o.device && account->provider == HERALD_OAUTH_PROVIDER_GOOGLE)
    return _herald_cli_usage_error ("login", "%s", _("--device is not possible with Google: Google does not allow "
                                         "mail access with a code; sign in with the browser"));

  if (o.device)
    {
      if (!herald_oauth_sign_in_device_sync (account, device_code_cb, NULL, NULL, &error))
        {
          print_failure ("login", error);
          return HERALD_EXIT_FAILED;
        }
    }
  else
    {
      herald_oauth_set_browser_func (cli_browser, NULL);
      printf (_("Waiting for the browser sign-in (press Ctrl+C to give up)…\n"));
      fflush (stdout);
      if (!herald_oauth_sign_in_browser_sync (account, NULL, &error))
        {
          print_failure ("login", error);
          return HERALD_EXIT_FAILED;
        }
    }

  if (settings != NULL)
    {
      herald_oauth_account_save_to_settings (account, settings);
      g_settings_set_string (settings, "oauth-mode", "delegated");
      g_settings_sync ();
    }

  if (_herald_cli_get_token_place () != NULL)
    /* Translators: the last %s is a directory and how it is protected, e.g.
     * "/var/lib/herald, encrypted with the host key". */
    printf (_("Signed in as %s (%s). The tokens are in root's credential store (%s).\n"),
            account->account, herald_oauth_provider_to_string (account->provider),
            _herald_cli_get_token_place ());
  else
    printf (_("Signed in as %s (%s). The tokens are in the keyring.\n"), account->account,
            herald_oauth_provider_to_string (account->provider));
  if (settings != NULL)
    printf ("%s\n", _("Saved: “heraldctl test --auth xoauth2” will use this sign-in."));

  return HERALD_EXIT_OK;
}

/* heraldctl logout --app: the app-only credential (the certificate and its
 * key, or the client secret) leaves the credential store, and the profile
 * no longer sends app-only. Says what it removed. */
static int
logout_app (LoginOptions *o,
            GSettings    *settings)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *client_id = NULL;
  g_autofree char *tenant = NULL;
  HeraldGraphAppRemoved removed = HERALD_GRAPH_APP_REMOVED_NOTHING;

  if (o->provider != NULL && g_strcmp0 (o->provider, "microsoft") != 0)
    return _herald_cli_usage_error ("logout", "%s", _("--app is for Microsoft only"));
  if (o->user != NULL)
    return _herald_cli_usage_error ("logout", "%s", _("--app signs out the app itself: no "
                                                      "--user"));
  client_id = o->client_id != NULL ? g_strstrip (g_strdup (o->client_id))
                                   : _herald_cli_setting_string (settings, "oauth-client-id");
  tenant = o->tenant != NULL ? g_strstrip (g_strdup (o->tenant))
                             : _herald_cli_setting_string (settings, "oauth-tenant");
  if (client_id == NULL || *client_id == '\0' || tenant == NULL || *tenant == '\0')
    return _herald_cli_usage_error ("logout", "%s", _("--app needs --client-id and --tenant (no "
                                                      "app-only sign-in is saved)"));

  if (!herald_graph_app_sign_out_sync (tenant, client_id, NULL, &removed, NULL, &error))
    {
      print_failure ("logout", error);
      return HERALD_EXIT_FAILED;
    }

  /* The profile stops sending app-only only when it was this app's. */
  if (settings != NULL && herald_graph_app_only_from_settings (settings))
    {
      g_autofree char *saved_id = g_settings_get_string (settings, "oauth-client-id");
      g_autofree char *saved_tenant = g_settings_get_string (settings, "oauth-tenant");

      if (g_str_equal (saved_id, client_id) && g_ascii_strcasecmp (saved_tenant, tenant) == 0)
        {
          g_settings_reset (settings, "oauth-mode");
          g_settings_sync ();
        }
    }

  switch (removed)
    {
    case HERALD_GRAPH_APP_REMOVED_CERTIFICATE:
      printf (_("Signed out the app %s in the tenant %s: its certificate and private key are no "
                "longer in the credential store.\n"), client_id, tenant);
      break;
    case HERALD_GRAPH_APP_REMOVED_SECRET:
      printf (_("Signed out the app %s in the tenant %s: its client secret is no longer in the "
                "credential store.\n"), client_id, tenant);
      break;
    case HERALD_GRAPH_APP_REMOVED_NOTHING:
    default:
      printf (_("No app-only sign-in of the app %s in the tenant %s was stored: nothing to "
                "remove.\n"), client_id, tenant);
      break;
    }
  return HERALD_EXIT_OK;
}

int
herald_cli_logout (int    argc,
                   char **argv)
{
  g_auto(LoginOptions) o = { 0 };
  g_autoptr(GError) error = NULL;
  g_autoptr(GSettings) settings = NULL;
  g_autoptr(HeraldOAuthAccount) account = NULL;
  const GOptionEntry entries[] = {
    { "provider", 0, 0, G_OPTION_ARG_STRING, &o.provider,
      N_("Identity provider: microsoft or google"), N_("PROVIDER") },
    { "user", 'u', 0, G_OPTION_ARG_STRING, &o.user,
      N_("Mailbox address to sign out; --user alone (no address) chooses the user profile: the "
         "keyring"), N_("ADDRESS") },
    { "system", 0, 0, G_OPTION_ARG_NONE, &o.system,
      N_("Forget the tokens in root's store (root only)"), NULL },
    { "client-id", 0, 0, G_OPTION_ARG_STRING, &o.client_id,
      N_("Client ID the sign-in used"), N_("ID") },
    { "app", 0, 0, G_OPTION_ARG_NONE, &o.app,
      N_("Remove the app-only sign-in (its certificate and key, or its client secret)"), NULL },
    { "tenant", 0, 0, G_OPTION_ARG_STRING, &o.tenant,
      N_("With --app: the app's tenant (default: the saved one)"), N_("TENANT") },
    { NULL }
  };
  int status;

  status = _herald_cli_parse_options ("logout", _("Forget the OAuth 2.0 tokens of an account (from the keyring)."), NULL, entries, &argc, &argv);
  if (status != HERALD_EXIT_OK)
    return status;

  settings = _herald_cli_open_settings (NULL);
  if (o.app)
    return logout_app (&o, settings);
  if (o.tenant != NULL)
    return _herald_cli_usage_error ("logout", "%s", _("--tenant needs --app"));
  status = build_account ("logout", &o, settings, &account);
  if (status != HERALD_EXIT_OK)
    return status;
  if (herald_oauth_account_get_effective_client_id (account) == NULL)
    return _herald_cli_usage_error ("logout", "%s", _("--client-id is required (no saved client ID)"));

  if (!herald_oauth_sign_out_sync (account, NULL, &error))
    {
      print_failure ("logout", error);
      return HERALD_EXIT_FAILED;
    }

  if (_herald_cli_get_token_place () != NULL)
    /* Translators: the last %s is a directory and how it is protected. */
    printf (_("Signed out %s (%s): its tokens are no longer in root's credential store (%s).\n"),
            account->account, herald_oauth_provider_to_string (account->provider),
            _herald_cli_get_token_place ());
  else
    printf (_("Signed out %s (%s): its tokens are no longer in the keyring.\n"),
            account->account, herald_oauth_provider_to_string (account->provider));

  return HERALD_EXIT_OK;
}
