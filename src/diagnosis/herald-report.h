/* SPDX-License-Identifier: GPL-3.0-or-later
 * Copyright 2026 The Herald authors
 */
#pragma once

/* Serialises results and diagnoses for heraldctl (--json, human output) and
 * for the window's "Copy Report". Nothing here ever writes a secret: the
 * config's password and token are only reported as set / not set, and the
 * engine's transcript is already redacted. JSON is written with
 * herald_json_to_string() (herald-json.h). */

#include <stdio.h>
#include <json-glib/json-glib.h>

#include "herald-diagnosis.h"
#include "herald-json.h"

G_BEGIN_DECLS

/* The "diagnosis" object: {"id", "title", "explanation", "actor",
 * "steps": [str], "links": [{"title", "url"}], "severity", "details"}.
 * A step with a command is "<text>\n<command>". NULL d gives a JSON null. */
JsonNode *herald_diagnosis_to_json (const HeraldDiagnosis *d) G_GNUC_WARN_UNUSED_RESULT;

/* The `heraldctl explain --json` object: {"matched", "stage", "reply":
 * {"code", "enhanced", "text"}, "diagnosis"}. */
JsonNode *herald_explanation_to_json (const HeraldExplanation *explanation) G_GNUC_WARN_UNUSED_RESULT;

/* The whole `heraldctl test --json` object (see issue 2). d and notices may
 * be NULL. */
JsonNode *herald_result_to_json (const HeraldSmtpResult *r,
                                 const HeraldDiagnosis  *d,
                                 GPtrArray              *notices) G_GNUC_WARN_UNUSED_RESULT;

/* The plain-text report behind "Copy Report": settings without secrets, the
 * steps with timings, the diagnosis, notices, TLS details and the transcript.
 * c, d and notices may be NULL. */
char *herald_report_to_text (const HeraldSmtpConfig *c,
                             const HeraldSmtpResult *r,
                             const HeraldDiagnosis  *d,
                             GPtrArray              *notices) G_GNUC_WARN_UNUSED_RESULT;

typedef enum {
  HERALD_DIAGNOSIS_TEXT_TITLE   = 1 << 0,  /* the title, first */
  HERALD_DIAGNOSIS_TEXT_ACTOR   = 1 << 1,  /* "Who must act: …" */
  HERALD_DIAGNOSIS_TEXT_DETAILS = 1 << 2,  /* "Technical details:" and the details */
  HERALD_DIAGNOSIS_TEXT_ALL     = 0x7,
} HeraldDiagnosisTextFlags;

/* A diagnosis as plain text, the one way every report, terminal and label
 * shows it: the explanation, "What to do:" with numbered steps and their
 * commands indented below, "More information:" with the links, and what
 * @flags add. No trailing newline. */
char *herald_diagnosis_to_text (const HeraldDiagnosis    *d,
                                HeraldDiagnosisTextFlags  flags) G_GNUC_WARN_UNUSED_RESULT;

/* Human output for the command line: title, who must act, numbered steps with
 * their commands indented, links, and the technical details. */
void herald_diagnosis_print (const HeraldDiagnosis *d,
                             FILE                  *out);

G_END_DECLS
