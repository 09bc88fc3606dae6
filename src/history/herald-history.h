/* SPDX-License-Identifier: GPL-3.0-or-later
 * Copyright 2026 The Herald authors
 */
#pragma once

/* The history of recent tests: the last HERALD_HISTORY_MAX tests run from
 * the window or by `heraldctl test`, newest first, in one JSON file in the
 * user's state directory (g_get_user_state_dir()/herald/history.json).
 * An entry keeps what the list shows (time, server, transport, outcome, a
 * one-line summary), the plain-text report that Copy Report gives, which
 * holds no password or token (herald-report.h), and for a failed test its
 * diagnosis, so that History can show it again as the test did. */

#include <gio/gio.h>
#include <json-glib/json-glib.h>

#include "herald-diagnosis.h"

G_BEGIN_DECLS

#define HERALD_HISTORY_MAX 20

#define HERALD_HISTORY_ERROR (herald_history_error_quark ())
GQuark herald_history_error_quark (void);

typedef enum {
  HERALD_HISTORY_ERROR_DAMAGED,   /* the file is not a history Herald wrote */
} HeraldHistoryError;

typedef struct {
  gint64  time;       /* seconds since the epoch, UTC */
  char   *host;       /* the server (Graph's host for the Graph transport) */
  guint   port;
  char   *transport;  /* "smtp" or "graph" */
  char   *outcome;    /* "sent", "failed" or "cancelled" */
  char   *summary;    /* one line: the server's reply or the diagnosis title */
  char   *report;     /* the report text, without secrets */
  HeraldDiagnosis *diagnosis;  /* a failed test's diagnosis (details included), or NULL:
                                * a test that was sent, cancelled or never diagnosed */
} HeraldHistoryEntry;

/* An entry for a test that just ended, now. @transport: "smtp" or "graph";
 * @diagnosis and @notices may be NULL. Takes no secret: the report leaves
 * the password and the token out. */
HeraldHistoryEntry *herald_history_entry_new  (const HeraldSmtpConfig *config,
                                               const HeraldSmtpResult *result,
                                               const HeraldDiagnosis  *diagnosis,
                                               GPtrArray              *notices,
                                               const char             *transport) G_GNUC_WARN_UNUSED_RESULT;
HeraldHistoryEntry *herald_history_entry_copy (const HeraldHistoryEntry *entry) G_GNUC_WARN_UNUSED_RESULT;
void                herald_history_entry_free (HeraldHistoryEntry       *entry);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (HeraldHistoryEntry, herald_history_entry_free)

/* The file's path (owned by the caller). */
char      *herald_history_get_path (void) G_GNUC_WARN_UNUSED_RESULT;

/* The entries, newest first (of HeraldHistoryEntry). No file yet: an empty
 * array. A file that cannot be read or is not a history: NULL with an error
 * that names the file and says the next test starts a new one. */
GPtrArray *herald_history_load     (GError                  **error) G_GNUC_WARN_UNUSED_RESULT;

/* Adds @entry in front and keeps the newest HERALD_HISTORY_MAX. The file is
 * replaced atomically, readable by its owner only; a damaged one is moved
 * aside (history.json.damaged) rather than lost. Concurrent writers (the
 * window and heraldctl) are serialised with a lock file. */
gboolean   herald_history_add      (const HeraldHistoryEntry *entry,
                                    GError                  **error);

/* {"entries": [{"time": "2026-12-07T12:00:00Z", "host", "port", "transport",
 * "outcome", "summary", "report", "diagnosis"}]}, for herald_json_to_string().
 * "diagnosis" (failed tests only): {"id", "title", "explanation", "actor",
 * "severity", "steps": [{"text", "command"}], "links": [{"title", "url"}],
 * "details", "action", "alternative_action"}. */
JsonNode  *herald_history_to_json  (GPtrArray                *entries) G_GNUC_WARN_UNUSED_RESULT;

/* "2026-12-07 13:00" in local time (owned by the caller). */
char      *herald_history_format_time (gint64 time) G_GNUC_WARN_UNUSED_RESULT;

/* The outcome as the list shows it: "Sent", "Failed", "Cancelled"
 * (translated). */
const char *herald_history_describe_outcome (const char *outcome);

G_END_DECLS
