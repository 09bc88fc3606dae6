/* SPDX-License-Identifier: GPL-3.0-or-later
 * Copyright 2026 The Herald authors
 */
#define G_LOG_DOMAIN "herald-test"

/* The rules' texts are translated when they are loaded, and the placeholders
 * are filled in after translation. A catalog for a made-up language is built
 * with msgfmt before the rules are first used. */

#include "config.h"

#include <glib/gstdio.h>
#include <libintl.h>
#include <locale.h>
#include <string.h>

#include "herald-diagnosis.h"

static const char *po_text =
  "msgid \"\"\n"
  "msgstr \"Content-Type: text/plain; charset=UTF-8\\n\"\n"
  "\n"
  "msgid \"The From address does not belong to this login\"\n"
  "msgstr \"L’adresse d’expédition n’appartient pas à ce compte\"\n"
  "\n"
  "msgid \"Set From to the login’s own address ({user}) or an alias assigned to it.\"\n"
  "msgstr \"Mettez l’adresse du compte ({user}) ou un de ses alias comme expéditeur.\"\n"
  "\n"
  "msgid \"Your mail administrator must act.\"\n"
  "msgstr \"Votre administrateur de messagerie doit agir.\"\n";

static void
test_rules_translated (void)
{
  g_autoptr(HeraldSmtpResult) result = g_new0 (HeraldSmtpResult, 1);
  g_autoptr(HeraldSmtpConfig) config = herald_smtp_config_new ();
  g_autoptr(HeraldDiagnosis) d = NULL;
  const HeraldDiagnosisStep *step;

  config->host = g_strdup ("mail.example.co.uk");
  config->username = g_strdup ("mcp@example.co.uk");
  result->stage = HERALD_STAGE_RCPT;
  result->reply = g_new0 (HeraldSmtpReply, 1);
  result->reply->code = 553;
  result->reply->enhanced = g_strdup ("5.7.1");
  result->reply->raw = g_strdup ("553 5.7.1 <boss@example.co.uk>: Sender address rejected: not owned by user mcp@example.co.uk");
  result->reply->text = g_strdup (result->reply->raw + 4);
  result->error = g_error_new_literal (HERALD_SMTP_ERROR, HERALD_SMTP_ERROR_REJECTED, "rejected");

  d = herald_diagnose (result, config);
  g_assert_cmpstr (d->id, ==, "gen-sender-not-owned");
  g_assert_cmpstr (d->title, ==, "L’adresse d’expédition n’appartient pas à ce compte");
  step = g_ptr_array_index (d->steps, 0);
  /* Translated first, then {user} filled in. */
  g_assert_cmpstr (step->text, ==, "Mettez l’adresse du compte (mcp@example.co.uk) ou un de ses alias comme expéditeur.");
  /* A text without a translation stays English. */
  step = g_ptr_array_index (d->steps, 1);
  g_assert_true (g_str_has_prefix (step->text, "The Username may need"));
  g_assert_cmpstr (herald_actor_describe (HERALD_ACTOR_MAIL_ADMIN), ==, "Votre administrateur de messagerie doit agir.");
}

int
main (int    argc,
      char **argv)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *dir = g_dir_make_tmp ("herald-translation-XXXXXX", &error);
  g_autofree char *po = NULL;
  g_autofree char *mo_dir = NULL;
  g_autofree char *mo = NULL;
  const char *msgfmt_argv[5];
  int status = -1;
  int ret;

  g_assert_no_error (error);
  po = g_build_filename (dir, "xx.po", NULL);
  mo_dir = g_build_filename (dir, "xx", "LC_MESSAGES", NULL);
  mo = g_build_filename (mo_dir, GETTEXT_PACKAGE ".mo", NULL);
  g_assert_cmpint (g_mkdir_with_parents (mo_dir, 0700), ==, 0);
  g_assert_true (g_file_set_contents (po, po_text, -1, &error));
  msgfmt_argv[0] = "msgfmt";
  msgfmt_argv[1] = "-o";
  msgfmt_argv[2] = mo;
  msgfmt_argv[3] = po;
  msgfmt_argv[4] = NULL;
  g_assert_true (g_spawn_sync (NULL, (char **) msgfmt_argv, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL,
                               NULL, NULL, &status, &error));
  g_assert_no_error (error);
  g_assert_true (g_spawn_check_wait_status (status, NULL));

  /* Before anything loads the rules. */
  g_setenv ("LANGUAGE", "xx", TRUE);
  setlocale (LC_ALL, "C.UTF-8");
  bindtextdomain (GETTEXT_PACKAGE, dir);
  bind_textdomain_codeset (GETTEXT_PACKAGE, "UTF-8");

  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/herald/diagnosis/translation/rules", test_rules_translated);
  ret = g_test_run ();

  g_unlink (mo);
  g_unlink (po);
  g_rmdir (mo_dir);
  {
    g_autofree char *xx = g_build_filename (dir, "xx", NULL);
    g_rmdir (xx);
  }
  g_rmdir (dir);
  return ret;
}
