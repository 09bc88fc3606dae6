/* SPDX-License-Identifier: GPL-3.0-or-later
 * Copyright 2026 The Herald authors
 */
#pragma once

#include <gtk/gtk.h>

#include "herald-smtp.h"

G_BEGIN_DECLS

/* The steps a person sees; several engine stages map onto one step. */
typedef enum {
  HERALD_STEP_RESOLVE,
  HERALD_STEP_CONNECT,
  HERALD_STEP_ENCRYPT,
  HERALD_STEP_GREETING,
  HERALD_STEP_LOGIN,
  HERALD_STEP_SEND,
  HERALD_N_STEPS
} HeraldStep;

typedef enum {
  HERALD_STEP_STATE_PENDING,
  HERALD_STEP_STATE_RUNNING,
  HERALD_STEP_STATE_DONE,
  HERALD_STEP_STATE_FAILED,
  HERALD_STEP_STATE_SKIPPED,
  HERALD_STEP_STATE_CANCELLED,
} HeraldStepRowState;

#define HERALD_TYPE_STEP_LIST (herald_step_list_get_type ())

G_DECLARE_FINAL_TYPE (HeraldStepList, herald_step_list, HERALD, STEP_LIST, GtkWidget)

GtkWidget          *herald_step_list_new           (void);
HeraldStep          herald_step_for_stage          (HeraldStage           stage);
void                herald_step_list_reset         (HeraldStepList       *self);
void                herald_step_list_update        (HeraldStepList       *self,
                                                    const HeraldProgress *progress);
void                herald_step_list_finish        (HeraldStepList       *self,
                                                    gboolean              ok);
/* The test was cancelled: the running step says so, the others keep what
 * they showed, so the list still tells where the test stopped. */
void                herald_step_list_cancel        (HeraldStepList       *self);
HeraldStepRowState  herald_step_list_get_state     (HeraldStepList       *self,
                                                    HeraldStep            step);
const char         *herald_step_list_get_title     (HeraldStepList       *self,
                                                    HeraldStep            step);
/* What the row says under its title: "Running…", "12 ms", "Failed after 2.1 s"... */
const char         *herald_step_list_get_status    (HeraldStepList       *self,
                                                    HeraldStep            step);
char               *herald_format_duration         (gint64                ms) G_GNUC_WARN_UNUSED_RESULT;

G_END_DECLS
