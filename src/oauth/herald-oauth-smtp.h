/* SPDX-License-Identifier: GPL-3.0-or-later
 * Copyright 2026 The Herald authors
 */
#pragma once

/* Glue between the OAuth sign-in and the SMTP engine. */

#include "herald-oauth.h"
#include "herald-smtp.h"

G_BEGIN_DECLS

/* For config->auth XOAUTH2/OAUTHBEARER: builds the account from settings
 * (oauth-provider, oauth-client-id, oauth-tenant, oauth-authority; the account
 * is config->username, else the settings' username), fetches the access token
 * from the keyring (refreshing it when fewer than 60 s remain) and puts it in
 * config->oauth_token. Blocks; call it before herald_smtp_run(). Returns TRUE
 * and does nothing for other auth methods. */
gboolean herald_oauth_fill_config_token (HeraldSmtpConfig  *config,
                                         GSettings         *settings,
                                         GCancellable      *cancellable,
                                         GError           **error);

G_END_DECLS
