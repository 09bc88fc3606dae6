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

/* What the window can do for the user in one click, chosen by the rules
 * file ("action" on a rule or notice), never by matching rule ids. */
typedef enum {
  HERALD_ACTION_NONE,                /* no "action" */
  HERALD_ACTION_SWITCH_TO_OAUTH,     /* "switch-to-oauth": Authentication › OAuth 2.0 */
  HERALD_ACTION_SWITCH_TO_TLS,       /* "switch-to-tls": security SSL/TLS (implicit TLS) */
  HERALD_ACTION_SWITCH_TO_STARTTLS,  /* "switch-to-starttls": security STARTTLS */
  HERALD_ACTION_USE_PORT_587,        /* "use-port-587": port 587 with STARTTLS */
  HERALD_ACTION_SWITCH_TO_GRAPH,     /* "switch-to-graph": transport Microsoft Graph (needs no
                                      * SMTP AUTH), then the Graph sign-in */
} HeraldAction;

/* "switch-to-oauth"…, or NULL for HERALD_ACTION_NONE. */
const char *herald_action_to_string   (HeraldAction   action);
/* FALSE for a name the rules file may not use. */
gboolean    herald_action_from_string (const char    *name,
                                       HeraldAction  *action);

const char *herald_severity_to_string (HeraldSeverity severity);
const char *herald_actor_to_string    (HeraldActor    actor);
/* The names the two above give; FALSE for any other. */
gboolean    herald_severity_from_string (const char     *name,
                                         HeraldSeverity *severity);
gboolean    herald_actor_from_string    (const char     *name,
                                         HeraldActor    *actor);
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
  HeraldAction    action;       /* the one-click fix the rule offers, or HERALD_ACTION_NONE */
  HeraldAction    alternative_action;  /* a second fix ("alternative_action"), or NONE */
} HeraldDiagnosis;

/* An empty diagnosis (no strings, no steps, no links), for building one
 * read back from a file; herald_diagnosis_free() frees it. */
HeraldDiagnosis *herald_diagnosis_new  (void);
void             herald_diagnosis_add_step (HeraldDiagnosis *diagnosis,
                                            const char      *text,
                                            const char      *command);
void             herald_diagnosis_add_link (HeraldDiagnosis *diagnosis,
                                            const char      *title,
                                            const char      *url);
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

/* Diagnoses a failed result (NULL when result->ok). config may be NULL.
 * When only a fallback matches the result, the error message is diagnosed as
 * text too (it may carry an identity provider's codes, or a reply), and a
 * specific diagnosis from it wins. */
HeraldDiagnosis *herald_diagnose (const HeraldSmtpResult *result,
                                  const HeraldSmtpConfig *config) G_GNUC_WARN_UNUSED_RESULT;
/* The same for a result of @transport ("smtp", "graph"; NULL: smtp). Over
 * Graph only rules written for it, and the words of SMTP rules (an
 * identity provider's or Graph's codes), apply: a connection or certificate
 * failure gets HTTPS advice, never ports or STARTTLS. */
HeraldDiagnosis *herald_diagnose_transport (const HeraldSmtpResult *result,
                                            const HeraldSmtpConfig *config,
                                            const char             *transport) G_GNUC_WARN_UNUSED_RESULT;

/* Diagnoses an error text pasted from anywhere (a bare reply, or a reply
 * wrapped in another program's words). stage may be HERALD_N_STAGES when
 * unknown; host may be NULL. Always returns a diagnosis (the fallback when
 * nothing specific matches). */
HeraldDiagnosis *herald_diagnose_text (const char  *text,
                                       HeraldStage  stage,
                                       const char  *host) G_GNUC_WARN_UNUSED_RESULT;

/* What a pasted error text says: the diagnosis, and the reply and the step
 * found in it (`heraldctl explain`). */
typedef struct {
  HeraldDiagnosis *diagnosis;  /* never NULL (the fallback when nothing specific matches) */
  HeraldStage      stage;      /* the step given, else the one the text names, else HERALD_N_STAGES */
  int              code;       /* the reply's code, or 0 when the text carries none */
  char            *enhanced;   /* "5.7.139", or NULL */
  char            *reply;      /* the reply found, its lines joined ("" when none) */
} HeraldExplanation;

void herald_explanation_free (HeraldExplanation *explanation);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (HeraldExplanation, herald_explanation_free)

/* As herald_diagnose_text(), with what was found in the text. The text need
 * not be valid UTF-8; the work is linear in its length. */
HeraldExplanation *herald_explain (const char  *text,
                                   HeraldStage  stage,
                                   const char  *host) G_GNUC_WARN_UNUSED_RESULT;

/* Notices: warnings that apply even to a successful test, or before sending.
 * result may be NULL (before sending: only what needs no connection).
 * Returns a GPtrArray of HeraldDiagnosis (free func set), possibly empty. */
GPtrArray *herald_notices (const HeraldSmtpConfig *config,
                           const HeraldSmtpResult *result) G_GNUC_WARN_UNUSED_RESULT;

G_END_DECLS
