/* SPDX-License-Identifier: GPL-3.0-or-later
 * Copyright 2026 The Herald authors
 */
#pragma once

/* The OAuth 2.0 part of the form: provider, client ID, tenant (Microsoft),
 * client secret (Google), the authority for national clouds (under
 * Advanced), Sign In (browser) / Use a Code Instead (device code), the
 * signed-in account and Sign Out, and a guide to registering a client ID.
 * Settings are bound to the app's GSettings (oauth-provider, oauth-client-id,
 * oauth-tenant, oauth-authority; the account is the "username" key); tokens
 * go to the keyring only. Its template is in the window's GResource. */

#include <adwaita.h>

#include "herald-diagnosis.h"

G_BEGIN_DECLS

#define HERALD_TYPE_OAUTH_GROUP (herald_oauth_group_get_type ())
G_DECLARE_FINAL_TYPE (HeraldOAuthGroup, herald_oauth_group, HERALD, OAUTH_GROUP, AdwPreferencesGroup)

GtkWidget  *herald_oauth_group_new           (GSettings        *settings);
/* Whether the keyring holds tokens for the current provider, account and
 * client ID (property "signed-in"). */
gboolean    herald_oauth_group_get_signed_in (HeraldOAuthGroup *self);
/* TRUE while a sign-in, sign-out or check runs (property "busy"). */
gboolean    herald_oauth_group_get_busy      (HeraldOAuthGroup *self);
/* TRUE while only the keyring check runs: "signed-in" is not known yet. */
gboolean    herald_oauth_group_get_checking  (HeraldOAuthGroup *self);
/* Starts the browser sign-in, as Sign In does (the "switch-to-graph" fix). */
void        herald_oauth_group_sign_in       (HeraldOAuthGroup *self);
/* Checks the keyring again (after a test found the sign-in revoked). */
void        herald_oauth_group_recheck       (HeraldOAuthGroup *self);
/* The diagnosis of the sign-in error shown in the group, or NULL when none
 * is shown or no rule knows it (the raw message is shown then). */
const HeraldDiagnosis *herald_oauth_group_get_diagnosis (HeraldOAuthGroup *self);
/* The command "How to Get a Client ID" offers for Azure Cloud Shell: it
 * registers the app and prints the client ID (and the tenant ID). */
const char *herald_oauth_group_get_guide_command (HeraldOAuthGroup *self);
/* Moves the Authority row (national clouds) into @target, the window's one
 * "Advanced" row, instead of an Advanced row of the group's own; it shows
 * there while the group is in use (call herald_oauth_group_update() when
 * its visibility changes). */
void        herald_oauth_group_move_advanced (HeraldOAuthGroup *self,
                                              AdwExpanderRow   *target);
void        herald_oauth_group_update        (HeraldOAuthGroup *self);

G_END_DECLS
