/* SPDX-License-Identifier: GPL-3.0-or-later
 * Copyright 2026 The Herald authors
 */
#define G_LOG_DOMAIN "herald-cli"

#include "config.h"

#include <glib/gi18n.h>
#include <stdio.h>

#include "herald-cli.h"
#include "herald-diagnosis.h"
#include "herald-json.h"
#include "herald-report.h"

/* Pasted error texts are small; this only bounds what we read from a pipe. */
#define MAX_INPUT_BYTES (1024 * 1024)

static char *
read_stdin (GError **error)
{
  GString *text = g_string_new (NULL);
  char buffer[4096];
  size_t n;

  while ((n = fread (buffer, 1, sizeof buffer, stdin)) > 0)
    {
      if (text->len + n > MAX_INPUT_BYTES)
        {
          g_set_error (error, G_IO_ERROR, G_IO_ERROR_MESSAGE_TOO_LARGE,
                       _("The text on standard input is larger than %d bytes"), MAX_INPUT_BYTES);
          g_string_free (text, TRUE);
          return NULL;
        }
      g_string_append_len (text, buffer, n);
    }
  if (ferror (stdin))
    {
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_FAILED, _("Cannot read standard input"));
      g_string_free (text, TRUE);
      return NULL;
    }
  return g_string_free (text, FALSE);
}

int
herald_cli_explain (int    argc,
                    char **argv)
{
  g_autoptr(GOptionContext) context = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(HeraldExplanation) explanation = NULL;
  g_autofree char *stage_name = NULL;
  g_autofree char *host = NULL;
  g_autofree char *text = NULL;
  g_auto(GStrv) rest = NULL;
  gboolean json = FALSE;
  HeraldStage stage = HERALD_N_STAGES;
  GOptionEntry entries[] = {
    { "stage", 0, 0, G_OPTION_ARG_STRING, &stage_name,
      N_("The step that failed: resolve, connect, greeting, ehlo, starttls, tls, auth, mail, rcpt, data, quit"),
      N_("STAGE") },
    { "host", 0, 0, G_OPTION_ARG_STRING, &host, N_("The mail server the text came from"), N_("HOST") },
    { "json", 0, 0, G_OPTION_ARG_NONE, &json,
      N_("Print one JSON object: {\"matched\", \"stage\", \"reply\", \"diagnosis\"}"), NULL },
    { G_OPTION_REMAINING, 0, 0, G_OPTION_ARG_STRING_ARRAY, &rest, NULL, N_("TEXT|-") },
    { NULL }
  };

  context = g_option_context_new (NULL);
  g_option_context_set_translation_domain (context, GETTEXT_PACKAGE);
  g_option_context_set_summary (context,
    _("Diagnoses an error text pasted from any program: a bare SMTP reply, or a reply\n"
      "wrapped in another program’s words (.NET, PHPMailer, nodemailer, Python…).\n"
      "Use “-” to read the text from standard input.\n\n"
      "Exit status: 0 when a specific diagnosis was found, 1 when only the general\n"
      "explanation applies, 2 for bad usage.\n"
      "With --json, the “diagnosis” member has the same shape as in “heraldctl test --json”."));
  g_option_context_add_main_entries (context, entries, GETTEXT_PACKAGE);

  /* GOption names the program in "Usage:" from the prgname. */
  g_set_prgname ("heraldctl explain");
  if (!g_option_context_parse (context, &argc, &argv, &error))
    {
      fprintf (stderr, "heraldctl explain: %s\n", error->message);
      return HERALD_EXIT_USAGE;
    }

  if (rest == NULL || rest[0] == NULL)
    {
      fprintf (stderr, "%s\n", _("heraldctl explain: give the error text, or “-” to read it from standard input"));
      return HERALD_EXIT_USAGE;
    }

  if (stage_name != NULL && !herald_stage_from_string (stage_name, &stage))
    {
      fprintf (stderr, _("heraldctl explain: unknown stage “%s”\n"), stage_name);
      return HERALD_EXIT_USAGE;
    }

  if (g_str_equal (rest[0], "-") && rest[1] == NULL)
    {
      text = read_stdin (&error);
      if (text == NULL)
        {
          fprintf (stderr, "heraldctl explain: %s\n", error->message);
          return HERALD_EXIT_USAGE;
        }
    }
  else
    /* Unquoted words are taken together, as the user most likely meant. */
    text = g_strjoinv (" ", rest);

  if (!g_utf8_validate (text, -1, NULL))
    {
      char *valid = g_utf8_make_valid (text, -1);
      g_free (text);
      text = valid;
    }

  if (*g_strstrip (text) == '\0')
    {
      fprintf (stderr, "%s\n", _("heraldctl explain: the error text is empty"));
      return HERALD_EXIT_USAGE;
    }

  explanation = herald_explain (text, stage, host);

  if (json)
    {
      g_autoptr(JsonNode) node = herald_explanation_to_json (explanation);
      g_autofree char *str = herald_json_to_string (node, TRUE);

      printf ("%s\n", str);
    }
  else
    herald_diagnosis_print (explanation->diagnosis, stdout);

  return herald_diagnosis_is_fallback (explanation->diagnosis) ? HERALD_EXIT_FAILED : HERALD_EXIT_OK;
}
