/* SPDX-License-Identifier: GPL-3.0-or-later
 * Copyright 2026 The Herald authors
 */
#define G_LOG_DOMAIN "herald-cli"

#include "config.h"

#include <glib/gi18n.h>
#include <stdio.h>

#include "herald-cli.h"
#include "herald-cli-util.h"
#include "herald-history.h"
#include "herald-json.h"

/* The history holds server replies and whatever an edited file brings: on a
 * terminal, control and bidirectional characters would move the cursor or
 * reverse what follows, so each becomes "?" (line breaks kept for reports,
 * and made spaces in one-line columns). */
static char *
printable (const char *text,
           gboolean    one_line)
{
  g_autofree char *valid = g_utf8_make_valid (text, -1);
  GString *out = g_string_new (NULL);

  for (const char *p = valid; *p != '\0'; p = g_utf8_next_char (p))
    {
      gunichar c = g_utf8_get_char (p);

      if (c == '\n')
        g_string_append_c (out, one_line ? ' ' : '\n');
      else if (c == '\t')
        g_string_append_c (out, ' ');
      else if (g_unichar_iscntrl (c) || c == 0x061C || c == 0x200E || c == 0x200F ||
               (c >= 0x2028 && c <= 0x202E) || (c >= 0x2066 && c <= 0x2069))
        g_string_append_c (out, '?');
      else
        g_string_append_unichar (out, c);
    }
  return g_string_free (out, FALSE);
}

int
herald_cli_history (int    argc,
                    char **argv)
{
  g_autoptr(GPtrArray) entries = NULL;
  g_autoptr(GError) error = NULL;
  gboolean json = FALSE;
  int report = 0;
  int status;
  GOptionEntry options[] = {
    { "json", 0, 0, G_OPTION_ARG_NONE, &json,
      N_("Print one JSON object: {\"entries\": [{\"time\", \"host\", \"port\", \"transport\", "
         "\"outcome\", \"summary\", \"report\"}]}"), NULL },
    { "report", 0, 0, G_OPTION_ARG_INT, &report,
      N_("Print the report of test N (1 is the most recent)"), N_("N") },
    { NULL }
  };

  status = _herald_cli_parse_options ("history",
                                      _("Lists the most recent tests, newest first, run from "
                                        "Herald’s window or with “heraldctl test”."),
                                      _("The history is kept in $XDG_STATE_HOME/herald/"
                                        "history.json (~/.local/state/herald/history.json);\n"
                                        "it holds no password or token."),
                                      options, &argc, &argv);
  if (status != HERALD_EXIT_OK)
    return status;
  if (report < 0 || report > HERALD_HISTORY_MAX || (report != 0 && json))
    return _herald_cli_usage_error ("history", report < 0 || report > HERALD_HISTORY_MAX
                                                 ? _("--report takes a number from 1 to %d")
                                                 : _("--report and --json go separately"),
                                    HERALD_HISTORY_MAX);

  entries = herald_history_load (&error);
  if (entries == NULL)
    {
      fprintf (stderr, "heraldctl history: %s\n", error->message);
      return HERALD_EXIT_FAILED;
    }

  if (json)
    {
      g_autoptr(JsonNode) node = herald_history_to_json (entries);
      g_autofree char *text = herald_json_to_string (node, TRUE);

      printf ("%s\n", text);
      return HERALD_EXIT_OK;
    }

  if (report > 0)
    {
      g_autofree char *text = NULL;

      if ((guint) report > entries->len)
        {
          fprintf (stderr, _("heraldctl history: there is no test %d; the history has %u.\n"),
                   report, entries->len);
          return HERALD_EXIT_FAILED;
        }
      text = printable (((HeraldHistoryEntry *) g_ptr_array_index (entries, report - 1))->report,
                        FALSE);
      printf ("%s\n", text);
      return HERALD_EXIT_OK;
    }

  if (entries->len == 0)
    {
      printf ("%s\n", _("No tests yet."));
      return HERALD_EXIT_OK;
    }

  for (guint i = 0; i < entries->len; i++)
    {
      const HeraldHistoryEntry *entry = g_ptr_array_index (entries, i);
      g_autofree char *time = herald_history_format_time (entry->time);
      g_autofree char *host = printable (entry->host, TRUE);
      g_autofree char *transport = printable (entry->transport, TRUE);
      g_autofree char *outcome = printable (herald_history_describe_outcome (entry->outcome), TRUE);
      g_autofree char *summary = printable (entry->summary, TRUE);
      g_autofree char *server = g_strdup_printf ("%s:%u", host, entry->port);

      printf ("%2u  %s  %-28s %-5s  %-9s  %s\n", i + 1, time, server, transport, outcome, summary);
    }
  printf ("\n%s\n", _("Run “heraldctl history --report N” for the report of test N."));

  return HERALD_EXIT_OK;
}
