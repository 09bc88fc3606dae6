/* SPDX-License-Identifier: GPL-3.0-or-later
 * Copyright 2026 The Herald authors
 */
#pragma once

/* Internal state of the window, for the widget tests. */

#include "herald-window.h"
#include "herald-banner.h"
#include "herald-error-dialog.h"
#include "herald-step-list.h"
#include "herald-smtp.h"

G_BEGIN_DECLS

/* One of: "alerts", "provider", "server", "port", "security", "auth",
 * "username", "password", "from", "to", "cc", "subject", "extra-text",
 * "ca-file", "timeout", "send", "validation", "keyring", "oauth-slot",
 * "oauth-group" (the HeraldOAuthGroup inside the slot), "notices". */
GtkWidget         *_herald_window_get_widget              (HeraldWindow *self,
                                                           const char   *name);
HeraldBanner      *_herald_window_get_banner              (HeraldWindow *self);
HeraldStepList    *_herald_window_get_step_list           (HeraldWindow *self);
/* The error dialog of the last failed test while it is open, or NULL. */
HeraldErrorDialog *_herald_window_get_error_dialog        (HeraldWindow *self);
gboolean           _herald_window_is_running              (HeraldWindow *self);
/* The reason Send Test Email is disabled, or NULL when the form is valid. */
const char        *_herald_window_get_validation_message  (HeraldWindow *self);
/* The keyring message shown in the window, or NULL. */
const char        *_herald_window_get_keyring_message     (HeraldWindow *self);
/* Titles of the pre-send notices under the form, NULL-terminated. */
char             **_herald_window_dup_notice_titles       (HeraldWindow *self) G_GNUC_WARN_UNUSED_RESULT;
/* The form as the next test would send it (password included). */
HeraldSmtpConfig  *_herald_window_snapshot_config         (HeraldWindow *self) G_GNUC_WARN_UNUSED_RESULT;
/* Runs what normally waits for the first frame (notices, keyring lookup) now. */
void               _herald_window_run_deferred_startup    (HeraldWindow *self);
/* Pending keyring operations (lookup, store, clear). */
guint              _herald_window_get_n_keyring_ops       (HeraldWindow *self);

G_END_DECLS
