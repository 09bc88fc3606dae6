/* SPDX-License-Identifier: GPL-3.0-or-later
 * Copyright 2026 The Herald authors
 */
#pragma once

#include <adwaita.h>

#include "herald-error-dialog.h"

G_BEGIN_DECLS

#define HERALD_TYPE_HISTORY_DIALOG (herald_history_dialog_get_type ())

G_DECLARE_FINAL_TYPE (HeraldHistoryDialog, herald_history_dialog, HERALD, HISTORY_DIALOG, AdwWindow)

/* The recent tests (src/history), newest first: one row per test with its
 * time, server, transport and outcome. Activating a failed test's row opens
 * its diagnosis in the error dialog a failed test opens (what went wrong,
 * who must act, steps, links, Copy Report); any other row shows its report,
 * with Copy Report and a way back to the list. A history file that cannot
 * be read is said so, with the reason. */
HeraldHistoryDialog *herald_history_dialog_new    (GtkWindow           *parent);

/* Reads the file again (after a test ended). */
void                 herald_history_dialog_reload (HeraldHistoryDialog *self);

/* For the tests: the rows' titles, NULL-terminated; the report on show, or
 * NULL while the list is shown; opens the report of row @index. */
char               **herald_history_dialog_dup_row_titles (HeraldHistoryDialog *self) G_GNUC_WARN_UNUSED_RESULT;
const char          *herald_history_dialog_get_report     (HeraldHistoryDialog *self);
void                 herald_history_dialog_show_report    (HeraldHistoryDialog *self,
                                                           guint                index);
/* What activating row @index does: the diagnosis of a failed test, else
 * its report. */
void                 herald_history_dialog_open_entry     (HeraldHistoryDialog *self,
                                                           guint                index);
/* The error dialog open_entry() opened, while it is open, or NULL. */
HeraldErrorDialog   *herald_history_dialog_get_error_dialog (HeraldHistoryDialog *self);
/* The message shown instead of the list ("No tests yet", a damaged file),
 * or NULL. */
const char          *herald_history_dialog_get_message    (HeraldHistoryDialog *self);

G_END_DECLS
