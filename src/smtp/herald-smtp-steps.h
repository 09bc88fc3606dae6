/* SPDX-License-Identifier: GPL-3.0-or-later
 * Copyright 2026 The Herald authors
 */
#pragma once

/* The steps a person sees while a test runs, shared by the window's step
 * list and heraldctl so that both show the same steps, with the same
 * titles, in the same order. Several engine stages map onto one step; the
 * rendering (rows, terminal lines) stays with each front end.
 */

#include "herald-smtp.h"

G_BEGIN_DECLS

typedef enum {
  HERALD_STEP_RESOLVE,   /* stage resolve */
  HERALD_STEP_CONNECT,   /* stage connect */
  HERALD_STEP_GREETING,  /* greeting and the first EHLO */
  HERALD_STEP_ENCRYPT,   /* STARTTLS, the handshake and the EHLO after STARTTLS */
  HERALD_STEP_LOGIN,     /* AUTH */
  HERALD_STEP_SEND,      /* MAIL, RCPT, DATA/BDAT, QUIT */
  HERALD_N_STEPS,
  HERALD_STEP_NONE = HERALD_N_STEPS,
} HeraldStep;

typedef enum {
  HERALD_STEP_STATE_PENDING,  /* not reached (yet) */
  HERALD_STEP_STATE_RUNNING,
  HERALD_STEP_STATE_DONE,
  HERALD_STEP_STATE_FAILED,
  HERALD_STEP_STATE_SKIPPED,  /* the test passed without it (no TLS, no login) */
  HERALD_STEP_STATE_CANCELLED,/* it was running when the test was cancelled */
} HeraldStepStatus;

/* Translated title: "Resolve", "Connect", "Greeting", "Encrypt (TLS)"... */
const char *herald_step_get_title    (HeraldStep      step);
/* Stable lower-case name: "resolve", "connect", "greeting", "encrypt",
 * "login", "send". */
const char *herald_step_to_string    (HeraldStep      step);
/* The step @stage belongs to. @after_starttls: a STARTTLS stage came
 * earlier in the run, so EHLO is the one that follows the handshake and
 * belongs to the encryption. */
HeraldStep  herald_step_for_stage_full (HeraldStage   stage,
                                        gboolean      after_starttls);
/* The same for a stage seen on its own: EHLO is the first one (Greeting). */
HeraldStep  herald_step_for_stage    (HeraldStage     stage);
/* The step a finished run failed in (result->stage), or HERALD_STEP_NONE. */
HeraldStep  herald_step_for_result   (const HeraldSmtpResult *result);
/* Every step, in the order they happen with @security (implicit TLS
 * encrypts before the greeting, STARTTLS after it). HERALD_N_STEPS items. */
const HeraldStep *herald_step_order  (HeraldSecurity  security);
/* "12 ms", "2.1 s" (translated). */
char       *herald_format_duration   (gint64          ms) G_GNUC_WARN_UNUSED_RESULT;

/* ---------------------------------------------------------------------------
 * The model: what each step shows, fed with the engine's progress events.
 * ------------------------------------------------------------------------- */

typedef struct _HeraldStepTracker HeraldStepTracker;

HeraldStepTracker *herald_step_tracker_new        (HeraldSecurity        security);
void               herald_step_tracker_free       (HeraldStepTracker    *tracker);
/* Back to every step pending, in the order of @security. */
void               herald_step_tracker_reset      (HeraldStepTracker    *tracker,
                                                   HeraldSecurity        security);
/* Feeds one progress event. Returns the step it changed, or HERALD_STEP_NONE. */
HeraldStep         herald_step_tracker_update     (HeraldStepTracker    *tracker,
                                                   const HeraldProgress *progress);
/* The run is over: the step it failed in is marked failed (also when the
 * engine stopped before that stage started), the running one done; when it
 * passed, the steps it never needed are skipped. @result NULL: cancelled,
 * running steps go back to pending. */
void               herald_step_tracker_finish     (HeraldStepTracker      *tracker,
                                                   const HeraldSmtpResult *result);
/* The test was cancelled: the running step becomes cancelled, with the
 * time it ran so far (a hang shows as a long one); the others keep their
 * state, so the steps still tell where the test stopped. */
void               herald_step_tracker_cancel     (HeraldStepTracker    *tracker);
HeraldStepStatus   herald_step_tracker_get_status (HeraldStepTracker    *tracker,
                                                   HeraldStep            step);
/* Time spent in the step's stages so far. */
gint64             herald_step_tracker_get_ms     (HeraldStepTracker    *tracker,
                                                   HeraldStep            step);
/* Final: done or failed, and nothing more will change it (a later step has
 * started, or the run is over). What a line-by-line front end prints. */
gboolean           herald_step_tracker_is_final   (HeraldStepTracker    *tracker,
                                                   HeraldStep            step);
/* The steps in the order they happen for the tracker's security. */
const HeraldStep  *herald_step_tracker_get_order  (HeraldStepTracker    *tracker);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (HeraldStepTracker, herald_step_tracker_free)

G_END_DECLS
