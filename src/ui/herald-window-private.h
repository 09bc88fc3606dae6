/* SPDX-License-Identifier: GPL-3.0-or-later
 * Copyright 2026 The Herald authors
 */
#pragma once

/* The window's instance struct and what its files share, as GNOME Text
 * Editor splits its window: herald-window.c (template, bindings, notices),
 * herald-window-validation.c (which field is wrong and why, beside it),
 * herald-window-actions.c (send, cancel, forget password, the CA chooser,
 * shortcuts) and herald-window-keyring.c (the password in the keyring). The
 * accessors at the end are for the widget tests. */

#include "herald-window.h"
#include "herald-banner.h"
#include "herald-diagnosis.h"
#include "herald-error-dialog.h"
#include "herald-history-dialog.h"
#include "herald-oauth-group.h"
#include "herald-step-list.h"
#include "herald-smtp.h"

G_BEGIN_DECLS

struct _HeraldWindow
{
  AdwApplicationWindow  parent_instance;

  GSettings            *settings;
  GCancellable         *cancellable;          /* of the running test */
  GCancellable         *keyring_cancellable;
  HeraldErrorDialog    *error_dialog;         /* weak */
  HeraldHistoryDialog  *history_dialog;       /* weak */
  /* The failure the banner shows, for Details; secrets removed. */
  HeraldSmtpConfig     *failure_config;
  HeraldSmtpResult     *failure_result;
  HeraldDiagnosis      *failure_diagnosis;
  GPtrArray            *failure_notices;
  AdwComboRow          *transport_row;        /* SMTP / Microsoft Graph (herald-window-transport.c) */
  char                 *validation_message;
  char                 *keyring_message;
  char                 *last_security;
  gulong                after_paint_id;
  guint                 notices_idle_id;
  guint                 lookup_timeout_id;
  guint                 n_keyring_ops;

  /* Template children */
  AdwToastOverlay      *toast_overlay;
  HeraldBanner         *banner;
  GtkSwitch            *alerts_switch;
  GtkBox               *alerts_area;          /* holds the HeraldAlertsGroup */
  AdwComboRow          *provider_row;
  AdwEntryRow          *server_row;
  AdwActionRow         *port_row;
  GtkSpinButton        *port_spin;
  AdwComboRow          *security_row;
  AdwPreferencesGroup  *auth_group;
  AdwComboRow          *auth_row;
  AdwEntryRow          *username_row;
  AdwPasswordEntryRow  *password_row;
  AdwActionRow         *keyring_row;
  GtkBox               *oauth_slot;
  HeraldOAuthGroup     *oauth_group;          /* in oauth_slot */
  AdwEntryRow          *from_row;
  AdwEntryRow          *to_row;
  AdwEntryRow          *cc_row;
  AdwEntryRow          *subject_row;
  AdwEntryRow          *extra_text_row;
  AdwExpanderRow       *advanced_row;
  AdwEntryRow          *ca_file_row;
  AdwActionRow         *timeout_row;
  GtkSpinButton        *timeout_spin;
  GtkBox               *notices_box;
  HeraldStepList       *step_list;
  GtkButton            *send_button;
  GtkLabel             *validation_label;

  guint                 running : 1;
  guint                 valid : 1;
  guint                 startup_done : 1;
  guint                 applying_preset : 1;
  guint                 keyring_unavailable : 1;
  guint                 stale_run : 1;        /* a setting changed during the test */
  guint                 disposed : 1;         /* no template children any more */
  guint                 failure_graph : 1;    /* the failure shown came through Graph */
};

/* herald-window.c */
void               _herald_window_add_toast               (HeraldWindow           *self,
                                                           const char             *text);
/* A row's text without surrounding spaces. */
char              *_herald_window_dup_text                (AdwEntryRow            *row) G_GNUC_WARN_UNUSED_RESULT;
/* A spin button's text as typed (its value only follows when the user
 * leaves it); -1 when it is not a whole number. */
gint64             _herald_window_spin_value              (GtkSpinButton          *spin);
/* The chosen authentication as the engine names it ("auto", "xoauth2"...). */
const char        *_herald_window_get_auth_id             (HeraldWindow           *self);
void               _herald_window_select_auth             (HeraldWindow           *self,
                                                           const char             *auth);
/* The chosen security ("starttls", "tls", "none"). */
const char        *_herald_window_get_security_id         (HeraldWindow           *self);
void               _herald_window_select_security         (HeraldWindow           *self,
                                                           const char             *security);

/* herald-window-fixes.c: the one-click fixes the rules' "action" names. */
/* The button's label for @action ("Switch to SSL/TLS"), or NULL when the
 * window has no such fix or the form already has it. */
const char        *_herald_window_get_fix_label           (HeraldWindow           *self,
                                                           HeraldAction            action);
/* Changes the form as @action says and tells the user (a toast). */
void               _herald_window_apply_fix               (HeraldWindow           *self,
                                                           HeraldAction            action);

/* herald-window-validation.c */
/* Watches the fields the user leaves; called once from init. */
void               _herald_window_init_validation         (HeraldWindow           *self);
void               _herald_window_update_validation       (HeraldWindow           *self);
/* Every row judged, as once the user has left each: every reason shows. */
void               _herald_window_judge_all               (HeraldWindow           *self);
/* A setting changed: the banner and step ticks on screen would describe
 * settings the form no longer has, so they go (after a running test). */
void               _herald_window_mark_results_stale      (HeraldWindow           *self);

/* herald-window-actions.c */
void               _herald_window_class_add_actions       (GtkWidgetClass         *widget_class);
/* Sets Send's label ("Send Test Email", "Cancel"), wrapping when narrow. */
void               _herald_window_set_send_label          (HeraldWindow           *self,
                                                           const char             *label);
/* Enables Send and Cancel as the form and a running test allow. */
void               _herald_window_update_actions          (HeraldWindow           *self);
/* The banner's Details: the diagnosis of the failure it shows, again. */
void               _herald_window_show_failure_details    (HeraldWindow           *self);
void               _herald_window_clear_last_failure      (HeraldWindow           *self);

/* herald-window-transport.c: SMTP or Microsoft Graph */
void               _herald_window_init_transport          (HeraldWindow           *self);
void               _herald_window_wrap_choices            (AdwComboRow            *row);
void               _herald_window_update_transport        (HeraldWindow           *self);
gboolean           _herald_window_is_graph                (HeraldWindow           *self);
/* The "switch-to-graph" fix: transport Graph, then the Graph sign-in. */
void               _herald_window_switch_to_graph         (HeraldWindow           *self);
/* Graph's host, port 443 and TLS in @config, for the diagnosis and details. */
void               _herald_window_graph_config            (HeraldWindow           *self,
                                                           HeraldSmtpConfig       *config);

/* herald-window-keyring.c (all on the GTK thread) */
/* Looks the form's password up once the typing of server, port or username
 * pauses (connected to their "changed"). */
void               _herald_window_account_changed         (HeraldWindow           *self);
void               _herald_window_lookup_password         (HeraldWindow           *self);
void               _herald_window_store_password          (HeraldWindow           *self,
                                                           const HeraldSmtpConfig *config);
/* The same while the window closes: the application is held until done. */
void               _herald_window_store_password_on_close (HeraldWindow           *self,
                                                           const HeraldSmtpConfig *config);
/* Clears the password row and the keyring entry of the form's account. */
void               _herald_window_forget_password         (HeraldWindow           *self);

/* For the widget tests.
 *
 * One of: "alerts", "provider", "server", "port", "security", "auth",
 * "username", "password", "from", "to", "cc", "subject", "extra-text",
 * "ca-file", "timeout", "send", "validation", "keyring", "oauth-slot",
 * "oauth-group" (the HeraldOAuthGroup inside the slot), "notices". */
GtkWidget         *_herald_window_get_widget              (HeraldWindow *self,
                                                           const char   *name);
HeraldBanner      *_herald_window_get_banner              (HeraldWindow *self);
HeraldStepList    *_herald_window_get_step_list           (HeraldWindow *self);
/* The History window while it is open, or NULL. */
HeraldHistoryDialog *_herald_window_get_history_dialog    (HeraldWindow *self);
/* The error dialog of the last failed test while it is open, or NULL. */
HeraldErrorDialog *_herald_window_get_error_dialog        (HeraldWindow *self);
gboolean           _herald_window_is_running              (HeraldWindow *self);
/* The reason shown under the row of field @name (a name as above), or NULL
 * when none shows. */
const char        *_herald_window_get_row_reason          (HeraldWindow *self,
                                                           const char   *name);
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
