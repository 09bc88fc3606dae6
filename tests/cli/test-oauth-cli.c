/* SPDX-License-Identifier: GPL-3.0-or-later
 * Copyright 2026 The Herald authors
 */
#define G_LOG_DOMAIN "herald-test"

#include "config.h"

#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include <libsoup/soup.h>
#include <string.h>
#include <unistd.h>

#include "fake-idp.h"
#include "herald-fake-server.h"
#include "herald-secrets-oauth.h"
#include "herald-test-heraldctl.h"

/* heraldctl login / logout / test --auth xoauth2 as a user runs them: the real
 * program in a subprocess, the stand-in identity provider in this process,
 * settings in a keyfile (so they outlive each command), tokens in the test
 * session's keyring. */

static char *heraldctl;
static char *config_home;
static char *cert_dir;
static char *data_dirs;

static GSubprocessLauncher *
new_launcher (GSubprocessFlags flags)
{
  GSubprocessLauncher *launcher = g_subprocess_launcher_new (flags);

  g_subprocess_launcher_setenv (launcher, "GSETTINGS_BACKEND", "keyfile", TRUE);
  g_subprocess_launcher_setenv (launcher, "XDG_CONFIG_HOME", config_home, TRUE);
  /* System schemas but no desktop files: nothing may open a real browser. */
  g_subprocess_launcher_setenv (launcher, "XDG_DATA_DIRS", data_dirs, TRUE);
  g_subprocess_launcher_setenv (launcher, "LC_ALL", "C.UTF-8", TRUE);

  return launcher;
}

static void
assert_no_token (const char *text)
{
  g_assert_null (strstr (text, FAKE_IDP_TOKEN_PREFIX));
}

static void
run_heraldctl_input (HeraldTestRun      *run,
                     const char * const *args,
                     GBytes             *input);

/* A string of the bytes; "" for none (g_bytes_get_data() may give NULL). */
static char *
bytes_to_string (GBytes *bytes)
{
  gsize size = 0;
  const char *data = bytes != NULL ? g_bytes_get_data (bytes, &size) : NULL;

  return size > 0 ? g_strndup (data, size) : g_strdup ("");
}

static void
run_heraldctl (HeraldTestRun      *run,
               const char * const *args)
{
  g_autoptr(GBytes) empty = g_bytes_new_static ("", 0);

  run_heraldctl_input (run, args, empty);
}

/* Runs heraldctl with input on its standard input. */
static void
run_heraldctl_input (HeraldTestRun      *run,
                     const char * const *args,
                     GBytes             *input)
{
  g_autoptr(GSubprocessLauncher) launcher = new_launcher (G_SUBPROCESS_FLAGS_STDOUT_PIPE
                                                          | G_SUBPROCESS_FLAGS_STDERR_PIPE
                                                          | G_SUBPROCESS_FLAGS_STDIN_PIPE);
  g_autoptr(GPtrArray) argv = g_ptr_array_new ();
  g_autoptr(GSubprocess) proc = NULL;
  g_autoptr(GError) error = NULL;

  g_ptr_array_add (argv, heraldctl);
  for (guint i = 0; args[i] != NULL; i++)
    g_ptr_array_add (argv, (char *) args[i]);
  g_ptr_array_add (argv, NULL);

  proc = g_subprocess_launcher_spawnv (launcher, (const char * const *) argv->pdata, &error);
  g_assert_no_error (error);
  {
    g_autoptr(GBytes) out = NULL;
    g_autoptr(GBytes) err = NULL;

    g_assert_true (g_subprocess_communicate (proc, input, NULL, &out, &err, &error));
    g_assert_no_error (error);
    run->out = bytes_to_string (out);
    run->err = bytes_to_string (err);
  }
  /* A crash counts as status -1 (and fails every assertion on the status). */
  run->status = g_subprocess_get_if_exited (proc) ? g_subprocess_get_exit_status (proc) : -1;
  g_test_message ("heraldctl %s → %d\n--- stdout\n%s--- stderr\n%s", args[0], run->status, run->out, run->err);
  assert_no_token (run->out);
  assert_no_token (run->err);
}

static char *
read_keyfile (void)
{
  g_autofree char *path = g_build_filename (config_home, "glib-2.0", "settings", "keyfile", NULL);
  char *contents = NULL;

  g_file_get_contents (path, &contents, NULL, NULL);

  return contents != NULL ? contents : g_strdup ("");
}

static HeraldOAuthTokens *
lookup (const char *user)
{
  g_autoptr(GError) error = NULL;
  HeraldOAuthTokens *tokens = herald_oauth_tokens_lookup_sync ("microsoft", user, FAKE_IDP_CLIENT_ID,
                                                               NULL, &error);

  g_assert_no_error (error);
  return tokens;
}

static void
test_device_login_logout (void)
{
  g_autoptr(FakeIdp) idp = fake_idp_new ();
  g_auto(HeraldTestRun) login = { 0 };
  g_auto(HeraldTestRun) logout = { 0 };
  g_autoptr(HeraldOAuthTokens) tokens = NULL;
  g_autofree char *keyfile = NULL;
  g_autofree char *link = g_strdup_printf ("%s/link", fake_idp_get_base_url (idp));
  g_autofree char *access = NULL;
  const char *login_args[] = { "login", "--provider", "microsoft", "--user", "cli@contoso.example",
                               "--client-id", FAKE_IDP_CLIENT_ID, "--tenant", FAKE_IDP_TENANT,
                               "--authority", fake_idp_get_authority (idp), "--device", NULL };
  const char *logout_args[] = { "logout", "--provider", "microsoft", "--user", "cli@contoso.example", NULL };

  fake_idp_set_device_script (idp, "authorization_pending,ok", 1, 900);
  run_heraldctl (&login, login_args);
  g_assert_cmpint (login.status, ==, 0);
  g_assert_nonnull (strstr (login.out, "ABCD-EFGH"));
  g_assert_nonnull (strstr (login.out, link));
  g_assert_nonnull (strstr (login.out, "cli@contoso.example"));

  tokens = lookup ("cli@contoso.example");
  g_assert_nonnull (tokens);
  access = fake_idp_get_current_access_token (idp);
  g_assert_cmpstr (tokens->access_token, ==, access);

  /* Saved for next time: provider, client ID, tenant, authority, address; no token. */
  keyfile = read_keyfile ();
  g_test_message ("keyfile:\n%s", keyfile);
  g_assert_nonnull (strstr (keyfile, "oauth-provider='microsoft'"));
  g_assert_nonnull (strstr (keyfile, "oauth-client-id='" FAKE_IDP_CLIENT_ID "'"));
  g_assert_nonnull (strstr (keyfile, "oauth-tenant='" FAKE_IDP_TENANT "'"));
  g_assert_nonnull (strstr (keyfile, fake_idp_get_authority (idp)));
  g_assert_nonnull (strstr (keyfile, "username='cli@contoso.example'"));
  assert_no_token (keyfile);

  /* Logout needs only provider and user: the client ID was saved. */
  run_heraldctl (&logout, logout_args);
  g_assert_cmpint (logout.status, ==, 0);
  g_clear_pointer (&tokens, herald_oauth_tokens_free);
  tokens = lookup ("cli@contoso.example");
  g_assert_null (tokens);
}

static void
check_device_failure (const char *script,
                      const char *needle,
                      const char *title)
{
  g_autoptr(FakeIdp) idp = fake_idp_new ();
  g_auto(HeraldTestRun) login = { 0 };
  g_autoptr(HeraldOAuthTokens) tokens = NULL;
  const char *login_args[] = { "login", "--provider", "microsoft", "--user", "fail@contoso.example",
                               "--client-id", FAKE_IDP_CLIENT_ID, "--tenant", FAKE_IDP_TENANT,
                               "--authority", fake_idp_get_authority (idp), "--device", NULL };

  fake_idp_set_device_script (idp, script, 1, 900);
  run_heraldctl (&login, login_args);
  g_assert_cmpint (login.status, ==, 1);
  g_assert_nonnull (strstr (login.out, "ABCD-EFGH"));
  g_assert_nonnull (strstr (login.err, needle));
  /* The diagnosis rules explain the failure: the rule's title and its steps. */
  g_assert_nonnull (strstr (login.err, title));
  g_assert_nonnull (strstr (login.err, "1. "));
  tokens = lookup ("fail@contoso.example");
  g_assert_null (tokens);
}

static void
test_device_declined (void)
{
  check_device_failure ("authorization_declined", "declined", "The sign-in was declined");
}

static void
test_device_expired (void)
{
  check_device_failure ("expired_token", "expired", "The sign-in code expired");
}

static void
test_device_public_client (void)
{
  check_device_failure ("public_client", "AADSTS7000218",
                        "The app registration does not allow public client flows");
}

/* heraldctl test with a saved sign-in the identity provider has revoked: the
 * refresh before connecting fails, and the diagnosis says to sign in again
 * (--json and human output alike). Nothing is sent to the SMTP port. */
static void
login_then_revoke (FakeIdp *idp)
{
  g_auto(HeraldTestRun) login = { 0 };
  const char *login_args[] = { "login", "--provider", "microsoft", "--user", "revoked-cli@contoso.example",
                               "--client-id", FAKE_IDP_CLIENT_ID, "--tenant", FAKE_IDP_TENANT,
                               "--authority", fake_idp_get_authority (idp), "--device", NULL };

  fake_idp_set_device_script (idp, "ok", 1, 900);
  run_heraldctl (&login, login_args);
  g_assert_cmpint (login.status, ==, 0);
  fake_idp_revoke_all (idp);
}

static void
test_revoked_sign_in_diagnosed (void)
{
  g_autoptr(FakeIdp) idp = fake_idp_new ();
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autoptr(GError) error = NULL;
  g_auto(HeraldTestRun) human = { 0 };
  g_auto(HeraldTestRun) json = { 0 };
  const char *test_args[] = { "test", "--server", "127.0.0.1", "--port", "9", "--auth", "xoauth2",
                              "--user", "revoked-cli@contoso.example", "--from", "revoked-cli@contoso.example",
                              "--to", "ops@contoso.example", "--json", NULL };
  JsonObject *root, *diagnosis;

  /* Tokens that are about to expire: the test must refresh first. */
  fake_idp_set_expires_in (idp, 5);

  login_then_revoke (idp);
  run_heraldctl (&json, test_args);
  g_assert_cmpint (json.status, ==, 1);
  g_assert_true (json_parser_load_from_data (parser, json.out, -1, &error));
  g_assert_no_error (error);
  root = json_node_get_object (json_parser_get_root (parser));
  g_assert_cmpstr (json_object_get_string_member (root, "stage"), ==, "auth");
  diagnosis = json_object_get_object_member (root, "diagnosis");
  g_assert_cmpstr (json_object_get_string_member (diagnosis, "id"), ==, "oauth-sign-in-again");
  /* The refused sign-in was forgotten. */
  g_assert_null (lookup ("revoked-cli@contoso.example"));

  login_then_revoke (idp);
  test_args[G_N_ELEMENTS (test_args) - 2] = NULL;   /* without --json */
  run_heraldctl (&human, test_args);
  g_assert_cmpint (human.status, ==, 1);
  g_assert_nonnull (strstr (human.err, "AADSTS700082"));
  g_assert_nonnull (strstr (human.err, "The sign-in is no longer valid"));
  g_assert_nonnull (strstr (human.err, "heraldctl login --provider"));
}

/* --user alone chooses the user profile (the keyring), next to --user
 * ADDRESS, the mailbox, which keeps its meaning; without a session bus it
 * refuses before any request to the identity provider. */
static void
test_explicit_user_profile (void)
{
  g_autoptr(FakeIdp) idp = fake_idp_new ();
  g_auto(HeraldTestRun) login = { 0 };
  g_auto(HeraldTestRun) no_bus = { 0 };
  g_auto(HeraldTestRun) logout = { 0 };
  g_autoptr(HeraldOAuthTokens) tokens = NULL;
  const char *login_args[] = { "login", "--user", "--provider", "microsoft",
                               "--user", "profile@contoso.example",
                               "--client-id", FAKE_IDP_CLIENT_ID, "--tenant", FAKE_IDP_TENANT,
                               "--authority", fake_idp_get_authority (idp), "--device", NULL };
  const char *logout_args[] = { "logout", "--provider", "microsoft",
                                "--user", "profile@contoso.example", "--user", NULL };

  fake_idp_set_device_script (idp, "ok", 1, 900);
  run_heraldctl (&login, login_args);
  g_assert_cmpint (login.status, ==, 0);
  g_assert_nonnull (strstr (login.out, "Signed in as profile@contoso.example (microsoft). The "
                                       "tokens are in the keyring."));
  tokens = lookup ("profile@contoso.example");
  g_assert_nonnull (tokens);

  /* No session bus: the keyring could not keep the tokens, so no sign-in
   * is started at all (no device code shown). */
  {
    g_autoptr(GSubprocessLauncher) launcher = new_launcher (G_SUBPROCESS_FLAGS_STDOUT_PIPE |
                                                            G_SUBPROCESS_FLAGS_STDERR_PIPE);
    g_autoptr(GSubprocess) proc = NULL;
    g_autoptr(GError) error = NULL;

    g_subprocess_launcher_setenv (launcher, "DBUS_SESSION_BUS_ADDRESS",
                                  "unix:path=/nonexistent/bus", TRUE);
    g_subprocess_launcher_setenv (launcher, "XDG_RUNTIME_DIR", "/nonexistent", TRUE);
    proc = g_subprocess_launcher_spawn (launcher, &error, heraldctl, "login", "--provider",
                                        "microsoft", "--user", "profile@contoso.example",
                                        "--client-id", FAKE_IDP_CLIENT_ID, "--tenant",
                                        FAKE_IDP_TENANT, "--authority",
                                        fake_idp_get_authority (idp), "--device", "--user", NULL);
    g_assert_no_error (error);
    g_assert_true (g_subprocess_communicate_utf8 (proc, NULL, NULL, &no_bus.out, &no_bus.err,
                                                  &error));
    g_assert_no_error (error);
    no_bus.status = g_subprocess_get_if_exited (proc) ? g_subprocess_get_exit_status (proc) : -1;
    g_test_message ("login --user without a bus → %d\n%s%s", no_bus.status, no_bus.out,
                    no_bus.err);
    g_assert_cmpint (no_bus.status, ==, 78);
    g_assert_nonnull (strstr (no_bus.err, "no session bus is reachable"));
    g_assert_null (strstr (no_bus.out, "ABCD-EFGH"));
  }

  run_heraldctl (&logout, logout_args);
  g_assert_cmpint (logout.status, ==, 0);
  g_assert_nonnull (strstr (logout.out, "its tokens are no longer in the keyring"));
  g_clear_pointer (&tokens, herald_oauth_tokens_free);
  tokens = lookup ("profile@contoso.example");
  g_assert_null (tokens);
}

static void
test_usage (void)
{
  g_auto(HeraldTestRun) run1 = { 0 };
  g_auto(HeraldTestRun) run2 = { 0 };
  g_auto(HeraldTestRun) run3 = { 0 };
  const char *bad_provider[] = { "login", "--provider", "yahoo", "--user", "a@b.example", NULL };
  const char *google_device[] = { "login", "--provider", "google", "--user", "a@gmail.example",
                                  "--client-id", "x.apps.googleusercontent.com", "--device", NULL };
  const char *http_authority[] = { "login", "--provider", "microsoft", "--user", "a@b.example",
                                   "--client-id", FAKE_IDP_CLIENT_ID,
                                   "--authority", "http://login.example.com/tenant", "--device", NULL };

  run_heraldctl (&run1, bad_provider);
  g_assert_cmpint (run1.status, ==, 2);
  g_assert_nonnull (strstr (run1.err, "yahoo"));
  run_heraldctl (&run2, google_device);
  g_assert_cmpint (run2.status, ==, 2);
  g_assert_nonnull (strstr (run2.err, "Google"));
  run_heraldctl (&run3, http_authority);
  g_assert_cmpint (run3.status, ==, 2);
  g_assert_nonnull (strstr (run3.err, "https://"));
}

/* Without --device: heraldctl prints the address to open; this test is the
 * browser, then "heraldctl test --auth xoauth2" sends with the saved sign-in. */
static void
test_browser_login_then_send (void)
{
  g_autoptr(FakeIdp) idp = fake_idp_new ();
  g_autoptr(GSubprocessLauncher) launcher = new_launcher (G_SUBPROCESS_FLAGS_STDOUT_PIPE
                                                          | G_SUBPROCESS_FLAGS_STDERR_PIPE);
  g_autoptr(GSubprocess) proc = NULL;
  g_autoptr(GDataInputStream) out = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *url = NULL;
  g_autofree char *rest = NULL;
  g_autofree char *token = NULL;
  g_autofree char *b64 = NULL;
  g_autofree char *escaped = NULL;
  g_autofree char *script = NULL;
  g_autofree char *cert = g_build_filename (cert_dir, "localhost.pem", NULL);
  g_autofree char *key = g_build_filename (cert_dir, "localhost-key.pem", NULL);
  g_autofree char *ca = g_build_filename (cert_dir, "ca.pem", NULL);
  g_autofree char *port = NULL;
  g_autoptr(HeraldFakeServer) srv = NULL;
  g_auto(HeraldTestRun) send = { 0 };
  g_auto(HeraldTestRun) logout = { 0 };

  proc = g_subprocess_launcher_spawn (launcher, &error, heraldctl, "login", "--provider", "microsoft",
                                      "--user", "browser-cli@contoso.example", "--client-id", FAKE_IDP_CLIENT_ID,
                                      "--tenant", FAKE_IDP_TENANT, "--authority", fake_idp_get_authority (idp),
                                      NULL);
  g_assert_no_error (error);
  out = g_data_input_stream_new (g_subprocess_get_stdout_pipe (proc));
  for (;;)
    {
      g_autofree char *line = g_data_input_stream_read_line_utf8 (out, NULL, NULL, &error);

      g_assert_no_error (error);
      g_assert_nonnull (line);
      if (g_str_has_prefix (line, "  http://"))
        {
          url = g_strdup (line + 2);
          break;
        }
    }

  /* The browser's part: authorize at the identity provider, follow its
   * redirect to heraldctl's loopback listener. */
  {
    g_autoptr(SoupSession) session = soup_session_new ();
    g_autoptr(SoupMessage) msg = soup_message_new ("GET", url);
    g_autoptr(GBytes) body = soup_session_send_and_read (session, msg, NULL, &error);

    g_assert_no_error (error);
    g_assert_cmpuint (soup_message_get_status (msg), ==, 200);
    g_assert_nonnull (g_strstr_len (g_bytes_get_data (body, NULL), g_bytes_get_size (body), "Signed in"));
  }

  rest = g_data_input_stream_read_upto (out, "", 0, NULL, NULL, &error);
  g_assert_true (g_subprocess_wait (proc, NULL, &error));
  g_assert_cmpint (g_subprocess_get_exit_status (proc), ==, 0);
  assert_no_token (rest != NULL ? rest : "");

  /* Send with the saved sign-in: no provider or client ID on this command line. */
  token = fake_idp_get_current_access_token (idp);
  {
    g_autofree char *raw = g_strdup_printf ("user=%s\001auth=Bearer %s\001\001", "browser-cli@contoso.example", token);
    b64 = g_base64_encode ((const guchar *) raw, strlen (raw));
  }
  escaped = g_regex_escape_string (b64, -1);
  script = g_strdup_printf ("S 220 fake.example ESMTP\nC EHLO .*\nS 250-fake.example\nS 250 STARTTLS\n"
                            "C STARTTLS\nS 220 2.0.0 go ahead\nSTARTTLS\nC EHLO .*\nS 250-fake.example\n"
                            "S 250 AUTH XOAUTH2\nC AUTH XOAUTH2\nS 334 \nC %s\nS 235 2.7.0 Authentication successful\n"
                            "LOOP-UNTIL-QUIT\n", escaped);
  srv = herald_fake_server_new_from_script (script);
  g_assert_true (herald_fake_server_set_tls (srv, cert, key, FALSE, &error));
  g_assert_cmpuint (herald_fake_server_start (srv, &error), >, 0);
  port = g_strdup_printf ("%u", herald_fake_server_get_port (srv));
  {
    const char *args[] = { "test", "--server", "127.0.0.1", "--port", port, "--security", "starttls",
                           "--ca-file", ca, "--auth", "xoauth2", "--user", "browser-cli@contoso.example",
                           "--from", "browser-cli@contoso.example", "--to", "ops@contoso.example", NULL };
    run_heraldctl (&send, args);
  }
  g_assert_cmpint (send.status, ==, 0);
  g_assert_true (herald_fake_server_wait (srv, 10000));
  g_assert_null (strstr (send.out, b64));
  g_assert_null (strstr (send.err, b64));

  {
    const char *args[] = { "logout", "--provider", "microsoft", "--user", "browser-cli@contoso.example", NULL };
    run_heraldctl (&logout, args);
  }
  g_assert_cmpint (logout.status, ==, 0);
}

/* --client-secret-stdin: bad input on standard input is refused before any
 * sign-in starts (exit 2, a message naming the option), never echoed. The
 * authority is a closed loopback port, so a sign-in that did start would
 * fail at once with exit 1 rather than hang. */
static void
run_bad_client_secret (const char *input,
                       gsize       input_len,
                       const char *expected)
{
  g_autoptr(GBytes) bytes = g_bytes_new (input, input_len);
  g_auto(HeraldTestRun) run = { 0 };
  const char *args[] = { "login", "--provider", "microsoft", "--user", "secret-stdin@contoso.example",
                         "--client-id", FAKE_IDP_CLIENT_ID, "--tenant", FAKE_IDP_TENANT,
                         "--authority", "http://127.0.0.1:1", "--device",
                         "--client-secret-stdin", NULL };

  run_heraldctl_input (&run, args, bytes);
  g_assert_cmpint (run.status, ==, 2);
  g_assert_nonnull (strstr (run.err, "--client-secret-stdin"));
  g_assert_nonnull (strstr (run.err, expected));
  g_assert_null (strstr (run.err, "SECRETSECRET"));
  g_assert_null (strstr (run.out, "SECRETSECRET"));
}

static void
test_client_secret_stdin_bad (void)
{
  g_autofree char *too_long = NULL;
  static const char with_nul[] = "SECRETSECRET\0tail\n";

  run_bad_client_secret ("", 0, "holds no client secret");
  run_bad_client_secret ("\n", 1, "holds no client secret");
  run_bad_client_secret ("\r\n", 2, "holds no client secret");
  run_bad_client_secret (with_nul, sizeof with_nul - 1, "NUL byte");

  /* Over the cap: refused, not cut to a shorter (wrong) secret. */
  {
    GString *s = g_string_new (NULL);

    while (s->len <= 1024)
      g_string_append (s, "SECRETSECRET");
    g_string_append_c (s, '\n');
    too_long = g_string_free (s, FALSE);
  }
  run_bad_client_secret (too_long, strlen (too_long), "longer than 1024 bytes");
}

/* A Google sign-in with the client secret piped in (CRLF line end): the
 * token request carries exactly that secret, and no output shows it. */
static void
test_client_secret_stdin_google (void)
{
  g_autoptr(FakeIdp) idp = fake_idp_new ();
  g_autoptr(GSubprocessLauncher) launcher = new_launcher (G_SUBPROCESS_FLAGS_STDIN_PIPE
                                                          | G_SUBPROCESS_FLAGS_STDOUT_PIPE
                                                          | G_SUBPROCESS_FLAGS_STDERR_PIPE);
  g_autoptr(GSubprocess) proc = NULL;
  g_autoptr(GDataInputStream) out = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(HeraldOAuthTokens) tokens = NULL;
  g_autofree char *url = NULL;
  g_autofree char *rest = NULL;
  g_autofree char *err_text = NULL;
  g_autofree char *sent_secret = NULL;
  static const char input[] = FAKE_IDP_GOOGLE_SECRET "\r\n";
  g_auto(HeraldTestRun) logout = { 0 };

  proc = g_subprocess_launcher_spawn (launcher, &error, heraldctl, "login", "--provider", "google",
                                      "--user", "secret-stdin@gmail.example",
                                      "--client-id", FAKE_IDP_CLIENT_ID,
                                      "--authority", fake_idp_get_base_url (idp),
                                      "--client-secret-stdin", NULL);
  g_assert_no_error (error);
  g_assert_true (g_output_stream_write_all (g_subprocess_get_stdin_pipe (proc), input, sizeof input - 1,
                                            NULL, NULL, &error));
  g_assert_true (g_output_stream_close (g_subprocess_get_stdin_pipe (proc), NULL, &error));

  out = g_data_input_stream_new (g_subprocess_get_stdout_pipe (proc));
  for (;;)
    {
      g_autofree char *line = g_data_input_stream_read_line_utf8 (out, NULL, NULL, &error);

      g_assert_no_error (error);
      g_assert_nonnull (line);
      g_assert_null (strstr (line, FAKE_IDP_GOOGLE_SECRET));
      if (g_str_has_prefix (line, "  http://"))
        {
          url = g_strdup (line + 2);
          break;
        }
    }

  {
    g_autoptr(SoupSession) session = soup_session_new ();
    g_autoptr(SoupMessage) msg = soup_message_new ("GET", url);
    g_autoptr(GBytes) body = soup_session_send_and_read (session, msg, NULL, &error);

    g_assert_no_error (error);
    g_assert_cmpuint (soup_message_get_status (msg), ==, 200);
  }

  rest = g_data_input_stream_read_upto (out, "", 0, NULL, NULL, &error);
  {
    g_autoptr(GDataInputStream) err = g_data_input_stream_new (g_subprocess_get_stderr_pipe (proc));

    err_text = g_data_input_stream_read_upto (err, "", 0, NULL, NULL, NULL);
  }
  g_assert_true (g_subprocess_wait (proc, NULL, &error));
  g_assert_cmpint (g_subprocess_get_exit_status (proc), ==, 0);
  g_assert_null (strstr (rest != NULL ? rest : "", FAKE_IDP_GOOGLE_SECRET));
  g_assert_null (strstr (err_text != NULL ? err_text : "", FAKE_IDP_GOOGLE_SECRET));
  assert_no_token (rest != NULL ? rest : "");

  /* The IdP checks the secret; compare what it got, without printing it. */
  sent_secret = fake_idp_get_token_param (idp, "client_secret");
  g_assert_true (g_strcmp0 (sent_secret, FAKE_IDP_GOOGLE_SECRET) == 0);
  tokens = herald_oauth_tokens_lookup_sync ("google", "secret-stdin@gmail.example", FAKE_IDP_CLIENT_ID,
                                            NULL, &error);
  g_assert_no_error (error);
  g_assert_nonnull (tokens);

  {
    const char *args[] = { "logout", "--provider", "google", "--user", "secret-stdin@gmail.example",
                           "--client-id", FAKE_IDP_CLIENT_ID, NULL };
    run_heraldctl (&logout, args);
  }
  g_assert_cmpint (logout.status, ==, 0);
}

int
main (int    argc,
      char **argv)
{
  const char *build_dir = g_getenv ("HERALD_BUILD_DIR");
  const char *source_dir = g_getenv ("HERALD_SOURCE_DIR");
  g_autofree char *certs_script = NULL;
  g_autoptr(GError) error = NULL;
  int status = 0;
  int ret;

  g_test_init (&argc, &argv, NULL);

  g_assert_nonnull (build_dir);
  heraldctl = g_build_filename (build_dir, "src", "cli", "heraldctl", NULL);
  /* Under HOME, the test session's throw-away one. */
  config_home = g_build_filename (g_get_home_dir (), "herald-oauth-cli-XXXXXX", NULL);
  g_assert_nonnull (g_mkdtemp (config_home));
  data_dirs = g_build_filename (config_home, "data", NULL);
  {
    g_autofree char *link = g_build_filename (data_dirs, "glib-2.0", NULL);

    g_assert_cmpint (g_mkdir_with_parents (data_dirs, 0700), ==, 0);
    g_assert_cmpint (symlink ("/usr/share/glib-2.0", link), ==, 0);
  }
  cert_dir = g_build_filename (build_dir, "tests", "cli", "certs-cli", NULL);
  certs_script = g_build_filename (source_dir, "tests", "fixtures", "make-test-certs.sh", NULL);
  {
    const char *args[] = { certs_script, cert_dir, NULL };

    g_assert_true (g_spawn_sync (NULL, (char **) args, NULL, G_SPAWN_STDOUT_TO_DEV_NULL, NULL, NULL,
                                 NULL, NULL, &status, &error));
    g_assert_true (g_spawn_check_wait_status (status, &error));
  }

  g_test_add_func ("/herald/oauth/cli/usage", test_usage);
  g_test_add_func ("/herald/oauth/cli/device-login-logout", test_device_login_logout);
  g_test_add_func ("/herald/oauth/cli/explicit-user-profile", test_explicit_user_profile);
  g_test_add_func ("/herald/oauth/cli/device-declined", test_device_declined);
  g_test_add_func ("/herald/oauth/cli/device-expired", test_device_expired);
  g_test_add_func ("/herald/oauth/cli/device-public-client", test_device_public_client);
  g_test_add_func ("/herald/oauth/cli/revoked-sign-in-diagnosed", test_revoked_sign_in_diagnosed);
  g_test_add_func ("/herald/oauth/cli/browser-login-then-send", test_browser_login_then_send);
  g_test_add_func ("/herald/oauth/cli/client-secret-stdin-bad", test_client_secret_stdin_bad);
  g_test_add_func ("/herald/oauth/cli/client-secret-stdin-google", test_client_secret_stdin_google);
  g_test_add_func ("/herald/oauth/cli/no-token-in-files", fake_idp_assert_no_token_under_home);

  ret = g_test_run ();

  {
    g_autofree char *settings_dir = g_build_filename (config_home, "glib-2.0", "settings", NULL);
    g_autofree char *glib_dir = g_build_filename (config_home, "glib-2.0", NULL);
    g_autofree char *keyfile = g_build_filename (settings_dir, "keyfile", NULL);

    g_autofree char *link = g_build_filename (data_dirs, "glib-2.0", NULL);

    g_unlink (keyfile);
    g_unlink (link);
    g_rmdir (data_dirs);
    g_rmdir (settings_dir);
    g_rmdir (glib_dir);
    g_rmdir (config_home);
  }
  g_free (heraldctl);
  g_free (config_home);
  g_free (cert_dir);
  g_free (data_dirs);

  return ret;
}
