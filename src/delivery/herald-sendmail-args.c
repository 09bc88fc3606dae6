/* SPDX-License-Identifier: GPL-3.0-or-later
 * Copyright 2026 The Herald authors
 */
#define G_LOG_DOMAIN "herald-delivery"

#include "config.h"

#include <glib/gi18n.h>
#include <string.h>

#include "herald-sendmail-args.h"

/* Postfix's sendmail(1) letters. Those taking a value take it attached
 * (-FCronDaemon, -B8BITMIME) or as the next argument (-f root, -o x);
 * letters without one may be grouped (-ti). */
static const char flags_with_value[] = "fFrobBNRVhLOCXAep";
static const char flags_ignored[] = "imnUvGIx";

void
herald_send_args_free (HeraldSendArgs *args)
{
  if (args == NULL)
    return;
  g_free (args->subject);
  g_free (args->sender);
  g_free (args->full_name);
  g_strfreev (args->recipients);
  g_free (args);
}

static gboolean
set_once (char       **slot,
          const char  *value)
{
  g_free (*slot);
  *slot = g_strdup (value);
  return TRUE;
}

/* Applies one option letter that takes @value. */
static gboolean
apply_value (HeraldSendArgs  *args,
             char             flag,
             const char      *value,
             GError         **error)
{
  switch (flag)
    {
    case 'f':
    case 'r':
      return set_once (&args->sender, value);

    case 'F':
      return set_once (&args->full_name, value);

    case 'o':
      /* -odq queues without trying; every other -o (-oi, -oem, -odi,
       * -o x) is a sendmail.cf option a null client has no use for. */
      if (g_str_equal (value, "dq"))
        args->queue_only = TRUE;
      return TRUE;

    case 'b':
      if (g_str_equal (value, "m"))
        args->mode = HERALD_SEND_MODE_SEND;
      else if (g_str_equal (value, "p"))
        args->mode = HERALD_SEND_MODE_LIST;
      else
        {
          g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                       _("-b%s is not supported (only -bm to send and -bp to list the queue)"),
                       value);
          return FALSE;
        }
      return TRUE;

    default:
      /* -B, -N, -R, -V, -h, -L, -O, -C, -X, -A, -e, -p: accepted and ignored. */
      return TRUE;
    }
}

HeraldSendArgs *
herald_send_args_parse (int      argc,
                        char   **argv,
                        GError **error)
{
  g_autoptr(HeraldSendArgs) args = g_new0 (HeraldSendArgs, 1);
  g_autoptr(GStrvBuilder) recipients = g_strv_builder_new ();
  gboolean options_done = FALSE;

  args->mode = HERALD_SEND_MODE_SEND;

  for (int i = 1; i < argc; i++)
    {
      const char *arg = argv[i];

      if (arg == NULL)
        break;

      if (options_done || arg[0] != '-' || arg[1] == '\0')
        {
          g_strv_builder_add (recipients, arg);
          continue;
        }

      if (g_str_equal (arg, "--"))
        {
          options_done = TRUE;
          continue;
        }

      if (arg[1] == '-')
        {
          const char *name = arg + 2;
          const char *eq = strchr (name, '=');
          g_autofree char *key = eq != NULL ? g_strndup (name, (gsize) (eq - name)) : g_strdup (name);

          if (g_str_equal (key, "subject"))
            {
              const char *value = eq != NULL ? eq + 1 : (i + 1 < argc ? argv[++i] : NULL);

              if (value == NULL)
                {
                  g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                               _("--subject needs a value"));
                  return NULL;
                }
              set_once (&args->subject, value);
              continue;
            }
          if (eq == NULL && g_str_equal (key, "json"))
            {
              args->json = TRUE;
              continue;
            }
          if (eq == NULL && g_str_equal (key, "queue-only"))
            {
              args->queue_only = TRUE;
              continue;
            }
          if (eq == NULL && g_str_equal (key, "help"))
            {
              args->mode = HERALD_SEND_MODE_HELP;
              continue;
            }
          g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_UNKNOWN_OPTION,
                       _("unknown option %s"), arg);
          return NULL;
        }

      /* One or more letters after a single dash. */
      for (const char *p = arg + 1; *p != '\0'; p++)
        {
          char flag = *p;

          if (flag == 't')
            args->extract = TRUE;
          else if (flag == 'q')
            {
              /* -q, -q30m, -qRsite: flush now (the interval is cron's or
               * the timer's business). */
              args->mode = HERALD_SEND_MODE_FLUSH;
              break;
            }
          else if (strchr (flags_ignored, flag) != NULL)
            ;
          else if (strchr (flags_with_value, flag) != NULL)
            {
              const char *value = p[1] != '\0' ? p + 1 : (i + 1 < argc ? argv[++i] : NULL);

              if (value == NULL)
                {
                  g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                               _("-%c needs a value"), flag);
                  return NULL;
                }
              if (!apply_value (args, flag, value, error))
                return NULL;
              break;  /* the value took the rest of the argument */
            }
          else
            {
              g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_UNKNOWN_OPTION,
                           _("unknown option -%c"), g_ascii_isprint (flag) ? flag : '?');
              return NULL;
            }
        }
    }

  args->recipients = g_strv_builder_end (recipients);
  return g_steal_pointer (&args);
}
