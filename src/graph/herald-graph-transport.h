/* SPDX-License-Identifier: GPL-3.0-or-later
 * Copyright 2026 The Herald authors
 */
#pragma once

/* Microsoft Graph behind the delivery contract (herald-delivery.h): send,
 * the queue, the test and the window deliver through it as through SMTP,
 * and get results of the same shape (reply->code the HTTP status,
 * reply->text Graph's code and message, transport "graph").
 *
 * The access token comes from the saved sign-in: delegated, the user's
 * sign-in with Graph's Mail.Send scope (kept and refreshed as SMTP's);
 * app-only, the app's client secret or certificate that heraldctl login
 * --app stored, through the client credentials grant. */

#include "herald-delivery.h"
#include "herald-graph.h"
#include "herald-oauth.h"
#include "herald-secrets-oauth.h"

G_BEGIN_DECLS

/* Where the app-only credentials live: a lookup and a store for one
 * tenant and client ID. The default is the user's keyring; the system
 * profile installs its own store. */
typedef struct {
  /* Returns NULL without error when nothing is stored. */
  HeraldOAuthTokens *(*lookup) (const char    *tenant,
                                const char    *client_id,
                                gpointer       user_data,
                                GCancellable  *cancellable,
                                GError       **error);
  gboolean           (*store)  (const char               *tenant,
                                const char               *client_id,
                                const HeraldOAuthTokens  *credentials,
                                gpointer                  user_data,
                                GCancellable             *cancellable,
                                GError                  **error);
  gpointer             user_data;
  /* Removes what is stored; TRUE when nothing was there. NULL: the store
   * cannot forget (the sign-out says so). */
  gboolean           (*clear)  (const char               *tenant,
                                const char               *client_id,
                                gpointer                  user_data,
                                GCancellable             *cancellable,
                                GError                  **error);
} HeraldGraphAppStore;

/* The user's keyring (src/secrets), provider "microsoft-app". */
const HeraldGraphAppStore *herald_graph_app_store_keyring (void);

/* The OAuth account of the saved settings (oauth-*, username), asking for
 * the scope the saved transport needs: Graph's "Mail.Send offline_access"
 * for graph (with the national cloud's host), the provider's SMTP scope for
 * smtp. The sign-in (heraldctl login, the window) and every later token use
 * it. */
HeraldOAuthAccount *herald_graph_oauth_account_new_from_settings (GSettings *settings) G_GNUC_WARN_UNUSED_RESULT;

/* TRUE when the settings say oauth-mode app-only. */
gboolean herald_graph_app_only_from_settings (GSettings *settings);

/* What an app-only sign-out removed. */
typedef enum {
  HERALD_GRAPH_APP_REMOVED_NOTHING,      /* nothing was stored for this app and tenant */
  HERALD_GRAPH_APP_REMOVED_CERTIFICATE,  /* the certificate and its private key */
  HERALD_GRAPH_APP_REMOVED_SECRET,       /* the client secret */
} HeraldGraphAppRemoved;

/* Removes the app-only credentials of @tenant (any case) and @client_id
 * from @store (NULL: the keyring), with the access token kept beside them,
 * and says in @removed what they were. */
gboolean herald_graph_app_sign_out_sync (const char                *tenant,
                                         const char                *client_id,
                                         const HeraldGraphAppStore *store,
                                         HeraldGraphAppRemoved     *removed,
                                         GCancellable              *cancellable,
                                         GError                   **error);

/* Stores the app-only credentials (a client secret or a PEM with the
 * certificate and its key) for @tenant and @client_id in @store (NULL:
 * the keyring), after checking them with one client credentials grant for
 * @scope (NULL: Graph's .default) at @authority (NULL: Microsoft's). On
 * error nothing is stored. */
gboolean herald_graph_app_sign_in_sync (const HeraldGraphAppCredentials *credentials,
                                        const HeraldGraphAppStore       *store,
                                        GCancellable                    *cancellable,
                                        GError                         **error);

/* An app-only access token for @scope (NULL: Graph's .default) with the
 * credentials stored for the settings' oauth-tenant and oauth-client-id:
 * the stored one while more than 60 s remain, else a new grant (stored).
 * @force: always a new grant (after a 401). */
char *herald_graph_app_access_token_sync (GSettings                 *settings,
                                          const HeraldGraphAppStore *store,
                                          const char                *scope,
                                          gboolean                   force,
                                          GCancellable              *cancellable,
                                          GError                   **error) G_GNUC_WARN_UNUSED_RESULT;

/* For SMTP with XOAUTH2: fills config->oauth_token from the saved sign-in,
 * delegated (herald_oauth_fill_config_token()) or app-only (the client
 * credentials grant with scope https://outlook.office365.com/.default, as
 * SMTP.SendAsApp needs). */
gboolean herald_graph_fill_smtp_token (HeraldSmtpConfig           *config,
                                       GSettings                  *settings,
                                       const HeraldGraphAppStore  *store,
                                       GCancellable               *cancellable,
                                       GError                    **error);

/* The Graph transport. @config gives the endpoint, the mode, the mailbox
 * (app-only: the one sent as), the timeout; its access token, when set, is
 * used as given (no refresh). Without one the token comes from @settings'
 * sign-in at the first delivery (a failure there fails each message at the
 * auth stage, with the sign-in's error). @store: where app-only
 * credentials are (NULL: the keyring). Free with herald_transport_free(). */
HeraldTransport *herald_graph_transport_new (const HeraldGraphConfig   *config,
                                             GSettings                 *settings,
                                             const HeraldGraphAppStore *store) G_GNUC_WARN_UNUSED_RESULT;

/* The transport of the saved settings (graph-endpoint, oauth-mode, from,
 * timeout), or NULL with HERALD_GRAPH_ERROR_INVALID_ENDPOINT. */
HeraldTransport *herald_graph_transport_new_from_settings (GSettings                 *settings,
                                                           const HeraldGraphAppStore *store,
                                                           GError                   **error) G_GNUC_WARN_UNUSED_RESULT;

/* "Send Test Email" through a Graph transport: the token as for a delivery
 * (a failure to get one is the result, at the auth stage), then
 * herald_graph_test() with one refresh after a 401. Blocks. */
HeraldSmtpResult *herald_graph_transport_test (const HeraldTransport  *transport,
                                               const HeraldSmtpConfig *smtp,
                                               GCancellable           *cancellable,
                                               HeraldProgressFunc      progress,
                                               gpointer                progress_data) G_GNUC_WARN_UNUSED_RESULT;

/* herald_graph_transport_test() on a worker thread, for the window: the
 * task takes @transport (freed when done) and a copy of @smtp; @progress
 * runs in the caller's thread-default main context, in order. */
void              herald_graph_transport_test_async  (HeraldTransport        *transport,
                                                      const HeraldSmtpConfig *smtp,
                                                      GCancellable           *cancellable,
                                                      HeraldProgressFunc      progress,
                                                      gpointer                progress_data,
                                                      GDestroyNotify          progress_destroy,
                                                      GAsyncReadyCallback     callback,
                                                      gpointer                user_data);
HeraldSmtpResult *herald_graph_transport_test_finish (GAsyncResult           *result,
                                                      GError                **error) G_GNUC_WARN_UNUSED_RESULT;

/* The Graph transport's reading of a result (its classify):
 * herald_graph_result_is_temporary() says queued; otherwise refused
 * recipients and refused content (413, bad MIME) are failed for good, and
 * everything else (permissions, licence, mailbox, token, certificate) is
 * held for someone to fix. 429 also asks to slow down. */
HeraldOutcome herald_graph_outcome_classify (const HeraldSmtpResult *result,
                                             gboolean               *slow_down);

G_END_DECLS
