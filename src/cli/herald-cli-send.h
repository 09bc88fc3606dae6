/* SPDX-License-Identifier: GPL-3.0-or-later
 * Copyright 2026 The Herald authors
 */
#pragma once

/* What heraldctl send, queue and config share (cmd-send.c). */

#include <json-glib/json-glib.h>

#include "herald-delivery.h"
#include "herald-profile.h"
#include "herald-queue.h"

G_BEGIN_DECLS

/* Takes --system (and --user when @allow_user) out of argv, before any
 * "--"; FALSE after saying that both were given (*status = 64). */
gboolean              _herald_cli_take_scope        (const char          *command,
                                                     int                 *argc,
                                                     char               **argv,
                                                     gboolean             allow_user,
                                                     HeraldProfileScope  *scope,
                                                     int                 *status);
/* The profile (herald_profile_open()), or NULL after saying why (*status =
 * 78). Its settings become those _herald_cli_open_settings() returns. */
HeraldProfile        *_herald_cli_open_profile      (const char         *command,
                                                     HeraldProfileScope  scope,
                                                     gboolean            for_writing,
                                                     int                *status) G_GNUC_WARN_UNUSED_RESULT;
/* The profile's engine configuration, or NULL after saying why (78). */
HeraldSmtpConfig     *_herald_cli_profile_config    (HeraldProfile    *profile,
                                                     const char       *command,
                                                     int              *status) G_GNUC_WARN_UNUSED_RESULT;
/* FALSE after saying how to switch alerts on. */
gboolean              _herald_cli_alerts_enabled    (HeraldProfile    *profile,
                                                     const char       *command);
HeraldDeliveryReport *_herald_cli_fill_credentials  (HeraldProfile    *profile,
                                                     HeraldSmtpConfig *config,
                                                     const char       *command,
                                                     GCancellable     *cancellable) G_GNUC_WARN_UNUSED_RESULT;
/* Root's runner: the system maildrop into @queue (herald_maildrop_ingest()),
 * what was refused said on stderr. */
void                  _herald_cli_take_maildrop     (HeraldProfile    *profile,
                                                     HeraldSmtpConfig *config,
                                                     HeraldQueue      *queue,
                                                     const char       *command,
                                                     gboolean          quiet);
/* "uid 33 (www-data)", "uid 64991", or "-" for -1. */
char                 *_herald_cli_describe_uid      (gint64            uid) G_GNUC_WARN_UNUSED_RESULT;
JsonNode             *_herald_cli_reply_to_json     (const HeraldSmtpReply *reply) G_GNUC_WARN_UNUSED_RESULT;
/* Every --json output goes through herald_json_to_string(). */
void                  _herald_cli_print_json        (JsonNode         *node);
void                  _herald_cli_print_outcome_line (const char                 *id,
                                                      const HeraldDeliveryReport *report);

G_END_DECLS
