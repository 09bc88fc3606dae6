/* SPDX-License-Identifier: GPL-3.0-or-later
 * Copyright 2026 The Herald authors
 */
#pragma once

/* A stand-in for Microsoft Graph's sendMail: a SoupServer on 127.0.0.1 in its
 * own thread. By default it does what Graph does with a good request: it
 * checks the bearer token (401 InvalidAuthenticationToken otherwise), the
 * Content-Type (text/plain), the base64 of the body (400
 * ErrorMimeContentInvalidBase64String otherwise) and answers 202 Accepted.
 * Tests queue other answers and read back every request it received. */

#include <gio/gio.h>

G_BEGIN_DECLS

typedef struct _FakeGraph FakeGraph;

typedef struct {
  char   *method;
  char   *path;
  char   *authorization;   /* the header as received, or NULL */
  char   *content_type;
  char   *client_request_id;
  GBytes *body;            /* as received */
  GBytes *mime;            /* the body's base64 decoded, or NULL when it was not valid base64 */
  gint64  time_us;         /* monotonic time it arrived */
} FakeGraphRequest;

/* Plain HTTP on 127.0.0.1; with @certificate (not NULL), HTTPS with it. */
FakeGraph  *fake_graph_new             (GTlsCertificate *certificate);
void        fake_graph_free            (FakeGraph       *self);
/* "http://127.0.0.1:PORT" (or https://). */
const char *fake_graph_get_endpoint    (FakeGraph       *self);
/* The token the default answer accepts (default: none is accepted). */
void        fake_graph_set_token       (FakeGraph       *self,
                                        const char      *token);
/* Also accept every token that starts with @prefix (the tokens a stand-in
 * identity provider issues, refreshed ones included). */
void        fake_graph_set_token_prefix (FakeGraph      *self,
                                         const char     *prefix);
/* Queues one answer, used (in order) instead of the default one; the
 * request is recorded all the same. retry_after and body may be NULL. */
void        fake_graph_push_reply      (FakeGraph       *self,
                                        guint            status,
                                        const char      *retry_after,
                                        const char      *body);
/* Every answer waits this long first (for timeout and cancellation tests). */
void        fake_graph_set_delay_ms    (FakeGraph       *self,
                                        guint            delay_ms);
guint       fake_graph_get_n_requests  (FakeGraph       *self);
/* A copy; free with fake_graph_request_free(). */
FakeGraphRequest *fake_graph_get_request (FakeGraph     *self,
                                          guint          index);
void        fake_graph_request_free    (FakeGraphRequest *request);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (FakeGraph, fake_graph_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (FakeGraphRequest, fake_graph_request_free)

/* The identity provider's token endpoint for the client credentials grant,
 * at /TENANT/oauth2/v2.0/token of the same server: the app @client_id
 * authenticates with @secret, or with a client assertion signed by the key
 * of @certificate_pem (checked: x5t#S256, aud, iss, sub, exp, signature).
 * It issues the token fake_graph_set_token() accepts, or answers Microsoft's
 * errors (AADSTS7000215 for a wrong secret, AADSTS700027 for a bad assertion,
 * AADSTS700016 for an unknown client ID). */
void        fake_graph_set_app          (FakeGraph       *self,
                                         const char      *tenant,
                                         const char      *client_id,
                                         const char      *secret,
                                         GBytes          *certificate_pem);
/* The last token request's form field, or NULL. */
char       *fake_graph_get_token_param  (FakeGraph       *self,
                                         const char      *name);

/* Graph's own error bodies, as captured from the service. */
#define FAKE_GRAPH_ACCESS_DENIED \
  "{\"error\":{\"code\":\"ErrorAccessDenied\",\"message\":\"Access is denied. Check credentials and try again.\"," \
  "\"innerError\":{\"date\":\"2026-12-07T09:41:12\",\"request-id\":\"5f0d3b1e-0000-4000-8000-000000000001\"," \
  "\"client-request-id\":\"5f0d3b1e-0000-4000-8000-000000000002\"}}}"
#define FAKE_GRAPH_MAILBOX_NOT_ENABLED \
  "{\"error\":{\"code\":\"MailboxNotEnabledForRESTAPI\",\"message\":\"The mailbox is either inactive, " \
  "soft-deleted, or is hosted on-premise.\",\"innerError\":{\"date\":\"2026-12-07T09:41:12\"," \
  "\"request-id\":\"5f0d3b1e-0000-4000-8000-000000000003\"}}}"
#define FAKE_GRAPH_INVALID_USER \
  "{\"error\":{\"code\":\"ErrorInvalidUser\",\"message\":\"The requested user 'alerts@contoso.com' is invalid.\"," \
  "\"innerError\":{\"date\":\"2026-12-07T09:41:12\",\"request-id\":\"5f0d3b1e-0000-4000-8000-000000000004\"}}}"
#define FAKE_GRAPH_INVALID_RECIPIENTS \
  "{\"error\":{\"code\":\"ErrorInvalidRecipients\",\"message\":\"At least one recipient is not valid., " \
  "Recipient '\\\"ops\\\" <ops@>' is not resolved. All recipients must be resolved before a message can be " \
  "submitted.\",\"innerError\":{\"date\":\"2026-12-07T09:41:12\"}}}"
#define FAKE_GRAPH_INVALID_TOKEN \
  "{\"error\":{\"code\":\"InvalidAuthenticationToken\",\"message\":\"Access token has expired or is not yet " \
  "valid.\",\"innerError\":{\"date\":\"2026-12-07T09:41:12\",\"request-id\":\"5f0d3b1e-0000-4000-8000-000000000005\"}}}"
#define FAKE_GRAPH_INVALID_BASE64 \
  "{\"error\":{\"code\":\"ErrorMimeContentInvalidBase64String\",\"message\":\"Invalid base64 string for MIME " \
  "content.\",\"innerError\":{\"date\":\"2026-12-07T09:41:12\"}}}"
#define FAKE_GRAPH_THROTTLED \
  "{\"error\":{\"code\":\"ApplicationThrottled\",\"message\":\"Application is over its MailboxConcurrency " \
  "limit.\",\"innerError\":{\"date\":\"2026-12-07T09:41:12\"}}}"
#define FAKE_GRAPH_UNAVAILABLE \
  "{\"error\":{\"code\":\"ServiceNotAvailable\",\"message\":\"The service is temporarily unavailable.\"," \
  "\"innerError\":{\"date\":\"2026-12-07T09:41:12\"}}}"

G_END_DECLS
