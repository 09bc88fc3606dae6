/* SPDX-License-Identifier: GPL-3.0-or-later
 * Copyright 2026 The Herald authors
 */
#pragma once

/* Turns a failure (stage + reply + GError + server identity) into a diagnosis
 * an administrator can act on. The rules are data (data/rules/diagnosis-rules.json),
 * compiled into a GResource and loaded once, on first use, off the UI's
 * path to the first frame. */

#include <gio/gio.h>
#include "herald-smtp.h"

G_BEGIN_DECLS

typedef enum {
  HERALD_SEVERITY_ERROR,    /* "error" */
  HERALD_SEVERITY_WARNING,  /* "warning" */
  HERALD_SEVERITY_INFO,     /* "info" */
} HeraldSeverity;

typedef enum {
  HERALD_ACTOR_YOU,           /* "you": whoever runs the test can fix it */
  HERALD_ACTOR_MAIL_ADMIN,    /* "mail-admin": the organisation's mail / identity administrator */
  HERALD_ACTOR_PROVIDER,      /* "provider": the mail provider or network owner */
} HeraldActor;

const char *herald_severity_to_string (HeraldSeverity severity);
const char *herald_actor_to_string    (HeraldActor    actor);
/* A translated sentence for the UI, e.g. "Your mail administrator must act." */
const char *herald_actor_describe     (HeraldActor    actor);

typedef struct {
  char *text;     /* translated instruction */
  char *command;  /* a command to copy (PowerShell, shell), or NULL */
} HeraldDiagnosisStep;

typedef struct {
  char *title;
  char *url;
} HeraldLink;

typedef struct {
  char           *id;           /* rule id, e.g. "exo-smtp-auth-disabled-mailbox" */
  char           *title;
  char           *explanation;  /* user-facing: Microsoft's [...prod.outlook.com] tag stripped */
  HeraldActor     actor;
  HeraldSeverity  severity;
  GPtrArray      *steps;        /* of HeraldDiagnosisStep */
  GPtrArray      *links;        /* of HeraldLink */
  char           *details;      /* technical: stage, full reply incl. the server tag; may be NULL */
} HeraldDiagnosis;

HeraldDiagnosis *herald_diagnosis_copy (const HeraldDiagnosis *diagnosis);
void             herald_diagnosis_free (HeraldDiagnosis       *diagnosis);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (HeraldDiagnosis, herald_diagnosis_free)

/* TRUE when no specific rule matched and the diagnosis only states the
 * stage, the reply and its class (ids starting with "fallback"). */
gboolean         herald_diagnosis_is_fallback (const HeraldDiagnosis *diagnosis);

/* Loads the rules in a background thread, so that the first diagnosis or
 * notice does not pay for it (about 15 ms) on the UI thread. Optional (the
 * rules also load on first use) and safe to call more than once. */
void herald_diagnosis_preload (void);

/* Diagnoses a failed result (NULL when result->ok). config may be NULL. */
HeraldDiagnosis *herald_diagnose (const HeraldSmtpResult *result,
                                  const HeraldSmtpConfig *config) G_GNUC_WARN_UNUSED_RESULT;

/* Diagnoses an error text pasted from anywhere (a bare reply, or a reply
 * wrapped in another program's words). stage may be HERALD_N_STAGES when
 * unknown; host may be NULL. Always returns a diagnosis (the fallback when
 * nothing specific matches). */
HeraldDiagnosis *herald_diagnose_text (const char  *text,
                                       HeraldStage  stage,
                                       const char  *host) G_GNUC_WARN_UNUSED_RESULT;

/* Notices: warnings that apply even to a successful test, or before sending.
 * result may be NULL (before sending: only what needs no connection).
 * Returns a GPtrArray of HeraldDiagnosis (free func set), possibly empty. */
GPtrArray *herald_notices (const HeraldSmtpConfig *config,
                           const HeraldSmtpResult *result) G_GNUC_WARN_UNUSED_RESULT;

G_END_DECLS
