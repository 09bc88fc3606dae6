/* SPDX-License-Identifier: GPL-3.0-or-later
 * Copyright 2026 The Herald authors
 */
#pragma once

#include <gtk/gtk.h>

#include "herald-smtp.h"
#include "herald-smtp-steps.h"

G_BEGIN_DECLS

/* The steps, their titles and order come from the engine's step model
 * (herald-smtp-steps.h); this widget only renders them. */
typedef HeraldStepStatus HeraldStepRowState;

#define HERALD_TYPE_STEP_LIST (herald_step_list_get_type ())

G_DECLARE_FINAL_TYPE (HeraldStepList, herald_step_list, HERALD, STEP_LIST, GtkWidget)

GtkWidget          *herald_step_list_new           (void);
void                herald_step_list_reset         (HeraldStepList       *self);
/* Orders the rows as the steps happen with @security (and resets them). */
void                herald_step_list_set_security  (HeraldStepList       *self,
                                                    HeraldSecurity        security);
void                herald_step_list_update        (HeraldStepList       *self,
                                                    const HeraldProgress *progress);
/* The run is over (@result NULL: it was cancelled). */
void                herald_step_list_finish        (HeraldStepList         *self,
                                                    const HeraldSmtpResult *result);
/* The test was cancelled: the running step says so, the others keep what
 * they showed, so the list still tells where the test stopped. */
void                herald_step_list_cancel        (HeraldStepList       *self);
/* The step shown in row @position (0 at the top). */
HeraldStep          herald_step_list_get_step_at   (HeraldStepList       *self,
                                                    guint                 position);
HeraldStepRowState  herald_step_list_get_state     (HeraldStepList       *self,
                                                    HeraldStep            step);
const char         *herald_step_list_get_title     (HeraldStepList       *self,
                                                    HeraldStep            step);
/* What the row says under its title: "Running…", "12 ms", "Failed after 2.1 s"... */
const char         *herald_step_list_get_status    (HeraldStepList       *self,
                                                    HeraldStep            step);

G_END_DECLS
