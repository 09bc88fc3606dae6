/* SPDX-License-Identifier: GPL-3.0-or-later
 * Copyright 2026 The Herald authors
 */
#pragma once

/* The Microsoft Graph transport: sendMail with the whole MIME message, for
 * tenants where SMTP AUTH is switched off. libsoup 3 + json-glib (+ GnuTLS
 * for the app-only client assertion). The SMTP engine does not depend on it;
 * it only borrows the engine's result shape, so that a Graph delivery reads
 * like an SMTP one to the diagnosis, the window and heraldctl:
 *
 *   result->reply->code   the HTTP status (202 on success)
 *   result->reply->text   Graph's error code and message ("ErrorAccessDenied: Access is denied…")
 *   result->stage         auth for 401, rcpt for ErrorInvalidRecipients, data for the other
 *                         answers; resolve/connect/tls for network failures
 *   result->error         NULL on success; HERALD_SMTP_ERROR_REJECTED for an error status,
 *                         GIO/TLS errors unchanged, HERALD_SMTP_ERROR_TLS_CERTIFICATE when
 *                         the certificate was refused (result->tls has it)
 *
 * 202 Accepted means only that Microsoft accepted the message for delivery. */

#include <gio/gio.h>

#include "herald-smtp.h"

G_BEGIN_DECLS

#define HERALD_GRAPH_DEFAULT_ENDPOINT "https://graph.microsoft.com"

/* Graph sendMail takes about 4 MB per request (the base64 body); more gives 413. */
#define HERALD_GRAPH_MAX_REQUEST_BYTES (4 * 1024 * 1024)

#define HERALD_GRAPH_ERROR (herald_graph_error_quark ())
GQuark herald_graph_error_quark (void);

typedef enum {
  HERALD_GRAPH_ERROR_INVALID_ENDPOINT,   /* graph-endpoint not usable */
  HERALD_GRAPH_ERROR_INVALID_MESSAGE,    /* no MIME headers, bad recipient list */
  HERALD_GRAPH_ERROR_CERTIFICATE,        /* client assertion: PEM unusable, key not RSA… */
} HeraldGraphErrorCode;

/* ---------------------------------------------------------------------------
 * The graph-endpoint setting.
 * ------------------------------------------------------------------------- */

/* Checks an endpoint and returns it normalised (lower-case host, no trailing
 * slash), or NULL with HERALD_GRAPH_ERROR_INVALID_ENDPOINT. Accepted: https://
 * to Microsoft Graph's hosts (graph.microsoft.com, the US Government clouds
 * graph.microsoft.us and dod-graph.microsoft.us, and microsoftgraph.chinacloudapi.cn
 * operated by 21Vianet), and http:// or https:// to this computer (127.0.0.1,
 * ::1, localhost) for tests. Nothing else: the endpoint receives the access
 * token. NULL or "" gives the default. */
char       *herald_graph_endpoint_normalise (const char  *endpoint,
                                             GError     **error) G_GNUC_WARN_UNUSED_RESULT;

/* The scope to ask the identity provider for: delegated
 * "https://graph.microsoft.com/Mail.Send offline_access", app-only
 * "https://graph.microsoft.com/.default", with the national cloud's host for
 * those; a loopback endpoint (tests) gets the global cloud's scope. NULL for
 * an invalid endpoint. */
char       *herald_graph_scope_for_endpoint (const char  *endpoint,
                                             gboolean     app_only) G_GNUC_WARN_UNUSED_RESULT;

/* ---------------------------------------------------------------------------
 * Graph's error JSON: {"error": {"code", "message", "innerError": {…}}}.
 * ------------------------------------------------------------------------- */

typedef struct {
  char *code;        /* "ErrorAccessDenied" */
  char *message;     /* "Access is denied. Check credentials and try again." */
  char *inner_code;  /* the most detailed innerError code, or NULL */
  char *request_id;  /* innerError request-id, or NULL (for Microsoft support) */
  char *date;        /* innerError date, or NULL */
} HeraldGraphError;

void herald_graph_error_free (HeraldGraphError *error);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (HeraldGraphError, herald_graph_error_free)

/* Parses a Graph error body of @len bytes (not NUL-terminated; any bytes).
 * Returns NULL when it is not a Graph error object. Never reads past @len,
 * refuses nesting deeper than 32 levels before json-glib sees it, and keeps
 * each string to 1024 bytes of valid UTF-8. The libFuzzer target calls this. */
HeraldGraphError *herald_graph_error_parse (const guint8 *data,
                                            gsize         len) G_GNUC_WARN_UNUSED_RESULT;

/* ---------------------------------------------------------------------------
 * Sending.
 * ------------------------------------------------------------------------- */

typedef enum {
  HERALD_GRAPH_DELEGATED,  /* "delegated": POST /v1.0/me/sendMail, the signed-in mailbox */
  HERALD_GRAPH_APP_ONLY,   /* "app-only": POST /v1.0/users/{from}/sendMail */
} HeraldGraphMode;

const char *herald_graph_mode_to_string   (HeraldGraphMode  mode);
gboolean    herald_graph_mode_from_string (const char      *str,
                                           HeraldGraphMode *out);

typedef struct {
  char            *endpoint;      /* NULL: HERALD_GRAPH_DEFAULT_ENDPOINT */
  HeraldGraphMode  mode;
  char            *from;          /* the sending mailbox (the URL's {from} app-only) */
  char            *access_token;  /* secret: wiped when the config is freed */
  guint            timeout;       /* seconds for the whole delivery, waits included;
                                   * 0: the default (30) */
} HeraldGraphConfig;

HeraldGraphConfig *herald_graph_config_new  (void);
void               herald_graph_config_free (HeraldGraphConfig *config);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (HeraldGraphConfig, herald_graph_config_free)

/* Called once after a 401: returns a new access token (refreshed), or NULL
 * with an error (that error becomes the result's). Called on the sending
 * thread. */
typedef char *(*HeraldGraphRefreshFunc) (gpointer       user_data,
                                         GCancellable  *cancellable,
                                         GError       **error);

/* Adds what Graph needs to deliver to @recipients: Graph takes the recipients
 * from the message's To, Cc and Bcc headers (there is no envelope), and
 * Exchange never copies Bcc recipients into the message it delivers. So every
 * recipient not already named in To or Cc goes into a Bcc header, inserted at
 * the top of the header block (the rest of the bytes stay as they are). A
 * recipient named in the headers but missing from @recipients would get the
 * message from Graph though the caller did not ask for it: that is an error
 * (HERALD_GRAPH_ERROR_INVALID_MESSAGE), as is a message without headers. */
GBytes     *herald_graph_prepare_message (GBytes              *message,
                                          const char * const  *recipients,
                                          GError             **error) G_GNUC_WARN_UNUSED_RESULT;

/* Delivers @message (the MIME bytes the SMTP path would send) to @recipients
 * through sendMail. Blocks; always returns a result. On a 401 it calls
 * @refresh once (when not NULL) and retries once. On 429/503 with Retry-After
 * it waits and retries when the wait fits in the timeout; otherwise it fails
 * with *retry_after (when not NULL) set to the seconds Graph asked for (else
 * -1), so a queue can set the next attempt. 413 fails with the size.
 * Cancellable at any point. */
HeraldSmtpResult *herald_graph_send (const HeraldGraphConfig  *config,
                                     GBytes                   *message,
                                     const char * const       *recipients,
                                     HeraldGraphRefreshFunc    refresh,
                                     gpointer                  refresh_data,
                                     GCancellable             *cancellable,
                                     HeraldProgressFunc        progress,
                                     gpointer                  progress_data,
                                     gint64                   *retry_after) G_GNUC_WARN_UNUSED_RESULT;

/* The test message of "Send Test Email" (the engine's own, the same bytes
 * the SMTP path sends: From, To and Cc from @smtp, which also gives the
 * subject and the extra text), delivered to its To and Cc through sendMail.
 * result->message_id is its Message-ID. */
HeraldSmtpResult *herald_graph_test (const HeraldSmtpConfig   *smtp,
                                     const HeraldGraphConfig  *config,
                                     HeraldGraphRefreshFunc    refresh,
                                     gpointer                  refresh_data,
                                     GCancellable             *cancellable,
                                     HeraldProgressFunc        progress,
                                     gpointer                  progress_data) G_GNUC_WARN_UNUSED_RESULT;

/* Reads the transport setting: TRUE when it is "graph". */
gboolean           herald_graph_transport_from_settings (GSettings  *settings);
/* A config from the saved settings: graph-endpoint (checked), from, timeout;
 * delegated, no token yet. NULL with HERALD_GRAPH_ERROR_INVALID_ENDPOINT for
 * a bad endpoint. */
HeraldGraphConfig *herald_graph_config_new_from_settings (GSettings  *settings,
                                                          GError    **error) G_GNUC_WARN_UNUSED_RESULT;

/* TRUE when a failed Graph result is worth retrying later: throttling (429),
 * the service unavailable or timing out (500, 502, 503, 504), or the network
 * (resolve, connect, timeouts; GIO and resolver errors, also from the
 * identity provider). Rejections (400, 403, 404, 413), a refused
 * certificate and sign-in or keyring failures are permanent. */
gboolean          herald_graph_result_is_temporary (const HeraldSmtpResult *result);

/* ---------------------------------------------------------------------------
 * App-only sign-in with a certificate: the client assertion (RFC 7523,
 * Microsoft's "certificate credentials").
 * ------------------------------------------------------------------------- */

typedef enum {
  HERALD_GRAPH_ASSERTION_RS256,  /* RSASSA-PKCS1-v1_5 with SHA-256 */
  HERALD_GRAPH_ASSERTION_PS256,  /* RSASSA-PSS with SHA-256 */
} HeraldGraphAssertionAlg;

#define HERALD_GRAPH_ASSERTION_LIFETIME 300  /* seconds: exp = now + this */

/* Signs a JWT client assertion with the private key in @pem (a PEM holding the
 * certificate registered with the app and its unencrypted RSA private key, in
 * any order; extra chain certificates are ignored). Header: alg, typ "JWT",
 * x5t#S256 and x5t (SHA-256 and SHA-1 thumbprints of the certificate, base64url).
 * Claims: aud = @token_endpoint, iss = sub = @client_id, a random jti, nbf =
 * iat = now, exp = now + HERALD_GRAPH_ASSERTION_LIFETIME. Fails with
 * HERALD_GRAPH_ERROR_CERTIFICATE (a sentence naming the problem) for a PEM
 * without a certificate or key, a key that is not RSA or does not belong to
 * the certificate, or a certificate that is expired or not yet valid. The key
 * material is wiped after use. */
char *herald_graph_client_assertion_new (GBytes                   *pem,
                                         const char               *client_id,
                                         const char               *token_endpoint,
                                         HeraldGraphAssertionAlg   alg,
                                         GError                  **error) G_GNUC_WARN_UNUSED_RESULT;

/* ---------------------------------------------------------------------------
 * App-only sign-in: the client credentials grant (no user, no refresh token).
 * ------------------------------------------------------------------------- */

/* The scope for app-only SMTP (SMTP.SendAsApp, XOAUTH2 with transport smtp). */
#define HERALD_GRAPH_SMTP_APP_SCOPE "https://outlook.office365.com/.default"

typedef struct {
  const char *client_id;
  const char *tenant;           /* a tenant ID or domain: organizations, common and
                                 * consumers do not work without a user */
  const char *authority;        /* NULL: https://login.microsoftonline.com/TENANT */
  const char *client_secret;    /* a secret, or … */
  GBytes     *certificate_pem;  /* … the certificate and its private key (RS256 assertion) */
  const char *scope;            /* NULL: https://graph.microsoft.com/.default */
} HeraldGraphAppCredentials;

/* Requests an app-only access token (RFC 6749 §4.4) with the secret or a
 * fresh client assertion. Blocks. Errors keep the identity provider's codes,
 * prefixed with "… (client_credentials):", which the diagnosis rules read. */
char *herald_graph_app_token_sync (const HeraldGraphAppCredentials  *credentials,
                                   gint64                           *expires_in,
                                   GCancellable                     *cancellable,
                                   GError                          **error) G_GNUC_WARN_UNUSED_RESULT;

G_END_DECLS
