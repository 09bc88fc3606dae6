/* SPDX-License-Identifier: GPL-3.0-or-later
 * Copyright 2026 The Herald authors
 */
#define G_LOG_DOMAIN "herald-relay"

#include "config.h"

#include <string.h>

#include "herald-relay.h"
#include "herald-smtp.h"

/* The relay's command parser: one line from the network (untrusted: any
 * bytes, fuzzed in tests/fuzz) into a verb and its arguments, or the
 * reply Postfix's smtpd gives for that mistake. */

G_DEFINE_QUARK (herald-relay-error-quark, herald_relay_error)

void
herald_relay_command_free (HeraldRelayCommand *command)
{
  if (command == NULL)
    return;
  g_free (command->argument);
  if (command->initial != NULL)
    memset (command->initial, 0, strlen (command->initial));
  g_free (command->initial);
  g_free (command->address);
  g_free (command);
}

static const struct {
  const char      *name;
  HeraldRelayVerb  verb;
} verbs[] = {
  { "EHLO", HERALD_RELAY_VERB_EHLO },
  { "HELO", HERALD_RELAY_VERB_HELO },
  { "STARTTLS", HERALD_RELAY_VERB_STARTTLS },
  { "AUTH", HERALD_RELAY_VERB_AUTH },
  { "MAIL", HERALD_RELAY_VERB_MAIL },
  { "RCPT", HERALD_RELAY_VERB_RCPT },
  { "DATA", HERALD_RELAY_VERB_DATA },
  { "BDAT", HERALD_RELAY_VERB_BDAT },
  { "RSET", HERALD_RELAY_VERB_RSET },
  { "NOOP", HERALD_RELAY_VERB_NOOP },
  { "QUIT", HERALD_RELAY_VERB_QUIT },
  { "VRFY", HERALD_RELAY_VERB_VRFY },
};

static HeraldRelayCommand *
fail (HeraldRelayCommand *command,
      const char         *reply)
{
  command->error_reply = reply;
  return command;
}

/* A bare local name (RCPT TO:<root>, what cron and mdadm address), mapped
 * to the profile's recipients later. */
static gboolean
is_local_name (const char *text)
{
  if (*text == '\0' || strlen (text) > 64 || *text == '.' || *text == '-')
    return FALSE;
  for (const char *p = text; *p != '\0'; p++)
    if (!g_ascii_isalnum (*p) && strchr ("._+-", *p) == NULL)
      return FALSE;
  return TRUE;
}

/* "FROM:<a@b> SIZE=10 BODY=8BITMIME" after the verb: the path, then the
 * parameters. Returns FALSE with command->error_reply set. */
static gboolean
parse_path (HeraldRelayCommand *command,
            const char         *rest,
            const char         *keyword,
            const char         *syntax_reply)
{
  gsize klen = strlen (keyword);
  const char *p = rest;
  const char *end;
  g_auto(GStrv) params = NULL;

  if (g_ascii_strncasecmp (p, keyword, klen) != 0)
    return fail (command, syntax_reply), FALSE;
  p += klen;
  /* Postfix accepts a space after the colon (strict_rfc821_envelopes=no),
   * and so do printers that write "MAIL FROM: <a@b>". */
  while (*p == ' ')
    p++;
  if (*p == '<')
    {
      end = strchr (p, '>');
      if (end == NULL)
        return fail (command, syntax_reply), FALSE;
      command->address = g_strndup (p + 1, end - p - 1);
      p = end + 1;
    }
  else
    {
      end = p + strcspn (p, " ");
      if (end == p)
        return fail (command, syntax_reply), FALSE;
      command->address = g_strndup (p, end - p);
      p = end;
    }
  if (*p != '\0' && *p != ' ')
    return fail (command, syntax_reply), FALSE;

  params = g_strsplit (p, " ", -1);
  for (guint i = 0; params[i] != NULL; i++)
    {
      const char *param = params[i];

      if (*param == '\0')
        continue;
      if (command->verb == HERALD_RELAY_VERB_MAIL && g_ascii_strncasecmp (param, "SIZE=", 5) == 0)
        {
          guint64 size;

          if (!g_ascii_string_to_unsigned (param + 5, 10, 0, G_MAXUINT64, &size, NULL))
            return fail (command, "501 5.5.4 Bad message size syntax"), FALSE;
          command->size = size;
          command->size_given = TRUE;
        }
      else if (command->verb == HERALD_RELAY_VERB_MAIL &&
               g_ascii_strncasecmp (param, "BODY=", 5) == 0)
        {
          if (g_ascii_strcasecmp (param + 5, "8BITMIME") == 0)
            command->body_8bit = TRUE;
          else if (g_ascii_strcasecmp (param + 5, "7BIT") != 0)
            return fail (command, "501 5.5.4 Bad BODY keyword syntax"), FALSE;
        }
      else if (command->verb == HERALD_RELAY_VERB_MAIL &&
               g_ascii_strncasecmp (param, "AUTH=", 5) == 0)
        {
          /* RFC 4954's original submitter: nothing to do for a submission
           * server that delivers as the profile. */
        }
      else
        return fail (command, "555 5.5.4 Unsupported option"), FALSE;
    }
  return TRUE;
}

HeraldRelayCommand *
herald_relay_command_parse (const char *line,
                            gsize       length)
{
  g_autoptr(HeraldRelayCommand) command = g_new0 (HeraldRelayCommand, 1);
  g_autofree char *text = NULL;
  const char *rest;
  gsize verb_len;

  command->verb = HERALD_RELAY_VERB_UNKNOWN;
  if (line == NULL)
    return fail (g_steal_pointer (&command), "500 5.5.2 Error: bad syntax");

  /* Commands are ASCII; a NUL, a control character or 8-bit byte is never
   * part of a valid one (and must not reach a log as it came). */
  for (gsize i = 0; i < length; i++)
    {
      guchar c = (guchar) line[i];

      if ((c < 0x20 && c != '\t') || c >= 0x7f)
        return fail (g_steal_pointer (&command), "500 5.5.2 Error: bad syntax");
    }
  text = g_strndup (line, length);
  g_strdelimit (text, "\t", ' ');
  g_strstrip (text);

  verb_len = strcspn (text, " ");
  rest = text + verb_len;
  while (*rest == ' ')
    rest++;

  for (gsize i = 0; i < G_N_ELEMENTS (verbs); i++)
    if (verb_len == strlen (verbs[i].name) &&
        g_ascii_strncasecmp (text, verbs[i].name, verb_len) == 0)
      command->verb = verbs[i].verb;

  switch (command->verb)
    {
    case HERALD_RELAY_VERB_UNKNOWN:
      return fail (g_steal_pointer (&command), "502 5.5.2 Error: command not recognized");

    case HERALD_RELAY_VERB_EHLO:
    case HERALD_RELAY_VERB_HELO:
      if (*rest == '\0')
        {
          /* Chosen before the command is handed on (argument order is
           * unspecified). */
          const char *syntax = command->verb == HERALD_RELAY_VERB_EHLO
                               ? "501 Syntax: EHLO hostname" : "501 Syntax: HELO hostname";

          return fail (g_steal_pointer (&command), syntax);
        }
      command->argument = g_strndup (rest, strcspn (rest, " "));
      break;

    case HERALD_RELAY_VERB_STARTTLS:
      if (*rest != '\0')
        return fail (g_steal_pointer (&command), "501 5.5.4 Syntax: STARTTLS");
      break;
    case HERALD_RELAY_VERB_DATA:
      if (*rest != '\0')
        return fail (g_steal_pointer (&command), "501 5.5.4 Syntax: DATA");
      break;
    case HERALD_RELAY_VERB_RSET:
      if (*rest != '\0')
        return fail (g_steal_pointer (&command), "501 5.5.4 Syntax: RSET");
      break;
    case HERALD_RELAY_VERB_QUIT:
      if (*rest != '\0')
        return fail (g_steal_pointer (&command), "501 5.5.4 Syntax: QUIT");
      break;
    case HERALD_RELAY_VERB_NOOP:
    case HERALD_RELAY_VERB_VRFY:
      break;

    case HERALD_RELAY_VERB_AUTH:
      {
        g_auto(GStrv) words = g_strsplit (rest, " ", -1);
        guint n = 0;

        for (guint i = 0; words[i] != NULL; i++)
          if (*words[i] != '\0')
            {
              if (n == 0)
                command->argument = g_ascii_strup (words[i], -1);
              else if (n == 1)
                command->initial = g_strdup (words[i]);
              n++;
            }
        for (guint i = 0; words[i] != NULL; i++)
          memset (words[i], 0, strlen (words[i]));
        if (n < 1 || n > 2)
          return fail (g_steal_pointer (&command), "501 5.5.4 Syntax: AUTH mechanism");
      }
      break;

    case HERALD_RELAY_VERB_MAIL:
      if (!parse_path (command, rest, "FROM:", "501 5.5.4 Syntax: MAIL FROM:<address>"))
        return g_steal_pointer (&command);
      if (*command->address != '\0' && !herald_address_is_valid (command->address))
        return fail (g_steal_pointer (&command), "501 5.1.7 Bad sender address syntax");
      break;

    case HERALD_RELAY_VERB_RCPT:
      if (!parse_path (command, rest, "TO:", "501 5.5.4 Syntax: RCPT TO:<address>"))
        return g_steal_pointer (&command);
      if (!herald_address_is_valid (command->address) && !is_local_name (command->address))
        return fail (g_steal_pointer (&command), "501 5.1.3 Bad recipient address syntax");
      break;

    case HERALD_RELAY_VERB_BDAT:
      {
        g_auto(GStrv) words = g_strsplit (rest, " ", -1);
        guint n = 0;
        gboolean ok = TRUE;

        for (guint i = 0; words[i] != NULL && ok; i++)
          {
            if (*words[i] == '\0')
              continue;
            if (n == 0)
              ok = g_ascii_isdigit (*words[i]) &&
                   g_ascii_string_to_unsigned (words[i], 10, 0, G_MAXUINT64, &command->size,
                                               NULL);
            else if (n == 1)
              ok = g_ascii_strcasecmp (words[i], "LAST") == 0 && (command->last = TRUE);
            else
              ok = FALSE;
            n++;
          }
        if (!ok || n == 0)
          return fail (g_steal_pointer (&command), "501 5.5.4 Syntax: BDAT count [LAST]");
        command->size_given = TRUE;
      }
      break;

    default:
      g_assert_not_reached ();
    }

  return g_steal_pointer (&command);
}
