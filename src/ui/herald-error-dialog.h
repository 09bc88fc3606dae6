/* SPDX-License-Identifier: GPL-3.0-or-later
 * Copyright 2026 The Herald authors
 */
#pragma once

#include <adwaita.h>

#include "herald-smtp.h"
#include "herald-diagnosis.h"

G_BEGIN_DECLS

#define HERALD_TYPE_ERROR_DIALOG (herald_error_dialog_get_type ())

G_DECLARE_FINAL_TYPE (HeraldErrorDialog, herald_error_dialog, HERALD, ERROR_DIALOG, AdwMessageDialog)

/* A modal dialog explaining a failed test: diagnosis title as heading, the
 * explanation, who must act, numbered steps with copyable commands, links,
 * "Technical details", a Copy Report button (signal "report-copied"; the
 * dialog stays open) and the response "close". config's secrets are not
 * kept. notices may be NULL. */
HeraldErrorDialog *herald_error_dialog_new (GtkWindow              *parent,
                                            const HeraldSmtpConfig *config,
                                            const HeraldSmtpResult *result,
                                            const HeraldDiagnosis  *diagnosis,
                                            GPtrArray              *notices);

/* The same dialog for a failed test in the history: its diagnosis as it
 * was recorded, "Technical details" and Copy Report give its @report. */
HeraldErrorDialog *herald_error_dialog_new_for_record (GtkWindow             *parent,
                                                       const HeraldDiagnosis *diagnosis,
                                                       const char            *report);

/* Shows another failure in the same dialog. */
void               herald_error_dialog_set_failure (HeraldErrorDialog      *self,
                                                    const HeraldSmtpConfig *config,
                                                    const HeraldSmtpResult *result,
                                                    const HeraldDiagnosis  *diagnosis,
                                                    GPtrArray              *notices);

/* Offers a one-click fix for the failure on show: a button labelled @label
 * ("Switch to SSL/TLS") that emits "fix" and closes the dialog; NULL takes
 * it away. */
void                   herald_error_dialog_set_fix          (HeraldErrorDialog *self,
                                                             const char        *label);
/* The fix button's label while it shows, or NULL. */
const char            *herald_error_dialog_get_fix          (HeraldErrorDialog *self);

const HeraldDiagnosis *herald_error_dialog_get_diagnosis    (HeraldErrorDialog *self);
/* The steps as displayed ("1. Do this", commands on the next line). */
char                 **herald_error_dialog_dup_step_texts   (HeraldErrorDialog *self) G_GNUC_WARN_UNUSED_RESULT;
char                  *herald_error_dialog_dup_details_text (HeraldErrorDialog *self) G_GNUC_WARN_UNUSED_RESULT;
/* The plain-text report "Copy Report" puts on the clipboard. */
char                  *herald_error_dialog_dup_report       (HeraldErrorDialog *self) G_GNUC_WARN_UNUSED_RESULT;
const char            *herald_error_dialog_get_actor_text   (HeraldErrorDialog *self);

G_END_DECLS
