/* SPDX-License-Identifier: GPL-3.0-or-later
 * Copyright 2026 The Herald authors
 */
#pragma once

/* The command line of heraldctl send, which is also the sendmail command
 * line (the "sendmail" name runs it): Postfix's flags, with those that make
 * no sense for a null client accepted and ignored as Postfix does. */

#include <glib.h>

G_BEGIN_DECLS

typedef enum {
  HERALD_SEND_MODE_SEND,   /* -bm (the default) */
  HERALD_SEND_MODE_LIST,   /* -bp: list the queue, as mailq */
  HERALD_SEND_MODE_FLUSH,  /* -q: flush the queue */
  HERALD_SEND_MODE_HELP,   /* --help */
} HeraldSendMode;

typedef struct {
  HeraldSendMode  mode;
  char           *subject;      /* --subject: body mode */
  gboolean        json;         /* --json */
  gboolean        extract;      /* -t */
  gboolean        queue_only;   /* -odq, --queue-only */
  char           *sender;       /* -f / -r */
  char           *full_name;    /* -F */
  char          **recipients;   /* the arguments, NULL-terminated (never NULL) */
} HeraldSendArgs;

void herald_send_args_free (HeraldSendArgs *args);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (HeraldSendArgs, herald_send_args_free)

/* Parses argv[1..argc-1] (argv[0] is the command's name). Errors are
 * G_OPTION_ERROR_UNKNOWN_OPTION / _BAD_VALUE / _FAILED with a message naming
 * the option; the caller exits 64. */
HeraldSendArgs *herald_send_args_parse (int          argc,
                                        char       **argv,
                                        GError     **error) G_GNUC_WARN_UNUSED_RESULT;

G_END_DECLS
