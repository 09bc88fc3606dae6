/* SPDX-License-Identifier: GPL-3.0-or-later
 * Copyright 2026 The Herald authors
 */
#pragma once

/* The SMTP engine's public API. It depends on GIO (and GMime inside) only:
 * never on GTK or libsecret. The window, heraldctl and the tests all use it.
 */

#include <gio/gio.h>

#include "herald-secret.h"

G_BEGIN_DECLS

/* ---------------------------------------------------------------------------
 * Enumerations, each with a stable lower-case name used in JSON, GSettings and
 * the command line.
 * ------------------------------------------------------------------------- */

typedef enum {
  HERALD_SECURITY_STARTTLS,  /* "starttls" */
  HERALD_SECURITY_TLS,       /* "tls": implicit TLS from the first byte */
  HERALD_SECURITY_NONE,      /* "none" */
} HeraldSecurity;

typedef enum {
  HERALD_AUTH_AUTO,          /* "auto": XOAUTH2 with a token, else PLAIN, else LOGIN */
  HERALD_AUTH_NONE,          /* "none" */
  HERALD_AUTH_PLAIN,         /* "plain" */
  HERALD_AUTH_LOGIN,         /* "login" */
  HERALD_AUTH_XOAUTH2,       /* "xoauth2": token passed in by the caller */
  HERALD_AUTH_OAUTHBEARER,   /* "oauthbearer" (RFC 7628) */
} HeraldAuthMethod;

/* Stages in the order a test reaches them. */
typedef enum {
  HERALD_STAGE_RESOLVE,
  HERALD_STAGE_CONNECT,
  HERALD_STAGE_GREETING,
  HERALD_STAGE_EHLO,
  HERALD_STAGE_STARTTLS,
  HERALD_STAGE_TLS,
  HERALD_STAGE_AUTH,
  HERALD_STAGE_MAIL,
  HERALD_STAGE_RCPT,
  HERALD_STAGE_DATA,
  HERALD_STAGE_QUIT,
  HERALD_STAGE_DONE,
  HERALD_N_STAGES
} HeraldStage;

const char *herald_security_to_string (HeraldSecurity   security);
gboolean    herald_security_from_string (const char     *str,
                                         HeraldSecurity *out);
const char *herald_auth_method_to_string (HeraldAuthMethod method);
gboolean    herald_auth_method_from_string (const char       *str,
                                            HeraldAuthMethod *out);
const char *herald_stage_to_string (HeraldStage stage);
gboolean    herald_stage_from_string (const char  *str,
                                      HeraldStage *out);

/* ---------------------------------------------------------------------------
 * Errors. SMTP-level outcomes use HERALD_SMTP_ERROR; GIO, resolver and TLS
 * errors pass through unchanged so the diagnosis can see them.
 * ------------------------------------------------------------------------- */

#define HERALD_SMTP_ERROR (herald_smtp_error_quark ())
GQuark herald_smtp_error_quark (void);

typedef enum {
  HERALD_SMTP_ERROR_INVALID_CONFIG,        /* bad input: empty host, CR/LF in a field, bad address */
  HERALD_SMTP_ERROR_PROTOCOL,              /* the server sent something that is not SMTP */
  HERALD_SMTP_ERROR_REPLY_TOO_LONG,        /* a line or a reply over the caps */
  HERALD_SMTP_ERROR_CLOSED,                /* the server closed the connection */
  HERALD_SMTP_ERROR_NO_GREETING,           /* connected, but no greeting within the timeout */
  HERALD_SMTP_ERROR_REJECTED,              /* the server answered a command with 4xx/5xx */
  HERALD_SMTP_ERROR_STARTTLS_NOT_OFFERED,  /* STARTTLS chosen, server did not advertise it */
  HERALD_SMTP_ERROR_AUTH_NOT_OFFERED,      /* credentials given, server offers no AUTH */
  HERALD_SMTP_ERROR_MECHANISM_NOT_OFFERED, /* the chosen mechanism is not advertised */
  HERALD_SMTP_ERROR_PLAINTEXT_AUTH_REFUSED,/* AUTH without TLS and without explicit permission */
  HERALD_SMTP_ERROR_TLS_CERTIFICATE,       /* certificate not accepted; see HeraldTlsInfo */
  HERALD_SMTP_ERROR_8BIT_NOT_OFFERED,      /* 8-bit message, no 8BITMIME: re-encode it (delivery) */
  HERALD_SMTP_ERROR_NOT_ATTEMPTED,         /* the session ended before this message's turn */
  HERALD_SMTP_ERROR_DEADLINE,              /* the whole run took longer than config->deadline;
                                            * result->stage is where it was */
} HeraldSmtpErrorCode;

/* ---------------------------------------------------------------------------
 * Configuration: a snapshot of what the user entered. Owns its strings.
 * Secrets (password, oauth_token) are wiped when the config is freed.
 * ------------------------------------------------------------------------- */

typedef struct {
  char             *host;
  guint16           port;
  HeraldSecurity    security;
  HeraldAuthMethod  auth;
  char             *username;
  char             *password;              /* secret */
  char             *oauth_token;           /* secret: access token for XOAUTH2/OAUTHBEARER */
  gboolean          allow_plaintext_auth;  /* AUTH over HERALD_SECURITY_NONE only when TRUE */
  char             *from;
  char            **to;                    /* NULL-terminated, at least one */
  char            **cc;                    /* NULL-terminated, may be NULL */
  char             *subject;               /* NULL: a default naming this host */
  char             *extra_text;            /* added to the body; may be NULL */
  char             *ca_file;               /* PEM bundle trusted in addition to the system's */
  char             *helo_name;             /* NULL: this machine's host name */
  guint             connect_timeout;       /* seconds; 0 means the default (20) */
  guint             reply_timeout;         /* seconds; 0 means the default (20) */
  guint             deadline;              /* seconds for the whole run (test or delivery);
                                            * 0 means the default (60) */
} HeraldSmtpConfig;

#define HERALD_TYPE_SMTP_CONFIG (herald_smtp_config_get_type ())
GType             herald_smtp_config_get_type (void) G_GNUC_CONST;
HeraldSmtpConfig *herald_smtp_config_new      (void);
HeraldSmtpConfig *herald_smtp_config_copy     (const HeraldSmtpConfig *config);
void              herald_smtp_config_free     (HeraldSmtpConfig       *config);
/* Checks every field without touching the network: empty host, port 0,
 * CR/LF in any field, malformed addresses, no recipient. Credentials are not
 * required here (forms validate before the keyring is asked); herald_smtp_run()
 * refuses a missing password/token for an explicit method before connecting. */
gboolean          herald_smtp_config_validate (const HeraldSmtpConfig *config,
                                               GError                **error);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (HeraldSmtpConfig, herald_smtp_config_free)

/* The subject of a test message when none is given, naming @hostname
 * (NULL: this machine): "Herald test message from HOST" (translated). */
char   *herald_smtp_default_subject (const char *hostname) G_GNUC_WARN_UNUSED_RESULT;

/* Checks one setting, named by its GSettings key ("server", "port",
 * "security", "auth", "username", "from", "to", "cc", "subject",
 * "extra-text", "ca-file", "timeout", "deadline"), the value as typed
 * (numbers as text). FALSE with *message (translated, the words the window
 * shows) when it is not valid; a port outside 1-65535 is an error, never
 * clamped. Empty required settings (server, from, to) are not valid: their
 * message asks for them. */
gboolean herald_smtp_check_field (const char  *key,
                                  const char  *value,
                                  char       **message);

/* @text (@length bytes, or NUL-terminated when -1) as valid UTF-8 without
 * control characters (C0, DEL, C1) or bidirectional formatting characters
 * (U+061C, U+200E/F, U+202A–E, U+2066–9) and line or paragraph separators
 * (U+2028/9): a tab becomes a space, the others "?"; CR and LF too unless
 * @keep_line_breaks. What a server, a certificate, an identity provider or
 * a paste sent, made safe for JSON, the UI and terminals: every such string
 * goes through it, so that none can send escape sequences through Herald
 * or make its text read differently from what it is. */
char    *herald_smtp_make_printable (const char *text,
                                     gssize      length,
                                     gboolean    keep_line_breaks) G_GNUC_WARN_UNUSED_RESULT;

/* Address helpers shared with the window and heraldctl. */
gboolean herald_address_is_valid (const char *address);
/* Splits "a@x, b@y; c@z" into a NULL-terminated vector (empty items dropped). */
char   **herald_address_list_split (const char *text) G_GNUC_WARN_UNUSED_RESULT;

/* ---------------------------------------------------------------------------
 * Result.
 * ------------------------------------------------------------------------- */

typedef struct {
  int    code;       /* 3 digits */
  char  *enhanced;   /* "5.7.139" or NULL */
  char  *raw;        /* every line as received, without CRLF, joined with "\n" */
  char  *text;       /* the lines' text after "NNN-"/"NNN ", joined with "\n" */
} HeraldSmtpReply;

HeraldSmtpReply *herald_smtp_reply_copy (const HeraldSmtpReply *reply);
void             herald_smtp_reply_free (HeraldSmtpReply       *reply);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (HeraldSmtpReply, herald_smtp_reply_free)

typedef enum {
  HERALD_TRANSCRIPT_CLIENT,  /* "client" */
  HERALD_TRANSCRIPT_SERVER,  /* "server" */
  HERALD_TRANSCRIPT_INFO,    /* "info": connect, TLS, timing notes */
} HeraldTranscriptDir;

const char *herald_transcript_dir_to_string (HeraldTranscriptDir dir);

typedef struct {
  HeraldTranscriptDir  dir;
  char                *text;  /* secrets and message bodies already replaced */
  gint64               ms;    /* offset from the start of the test */
} HeraldTranscriptEntry;

typedef struct {
  char   *version;      /* "TLS 1.3", or NULL when unknown */
  char   *subject;      /* certificate subject DN */
  char   *issuer;       /* issuer DN */
  char   *not_before;   /* ISO 8601, UTC */
  char   *not_after;
  char   *sha256;       /* upper-case hex pairs joined by ':' */
  char  **errors;       /* NULL-terminated; names from herald_tls_flag_names() e.g. "unknown-ca" */
  guint   flags;        /* GTlsCertificateFlags that failed, 0 when accepted */
} HeraldTlsInfo;

HeraldTlsInfo *herald_tls_info_copy (const HeraldTlsInfo *info);
void           herald_tls_info_free (HeraldTlsInfo       *info);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (HeraldTlsInfo, herald_tls_info_free)

/* "unknown-ca", "bad-identity", "not-activated", "expired", "revoked",
 * "insecure", "generic-error" for each bit set in flags; NULL-terminated. */
char **herald_tls_flag_names (guint flags) G_GNUC_WARN_UNUSED_RESULT;

typedef struct {
  gboolean          ok;
  HeraldStage       stage;          /* HERALD_STAGE_DONE on success, else the failed stage */
  HeraldSmtpReply  *reply;          /* the last server reply, or NULL */
  GError           *error;          /* NULL on success */
  HeraldTlsInfo    *tls;            /* NULL when no TLS handshake was attempted */
  GPtrArray        *transcript;     /* of HeraldTranscriptEntry */
  gint64            elapsed_ms;
  gint64            stage_ms[HERALD_N_STAGES]; /* time spent per stage, -1 when not reached */
  char             *greeting;       /* the server's greeting text (identity), or NULL */
  char            **auth_mechanisms;/* advertised AUTH mechanisms (after TLS), may be NULL */
  char             *auth_used;      /* "PLAIN", "LOGIN", "XOAUTH2"... or NULL */
  char             *remote_address; /* "127.0.0.1:587" of the connected peer, or NULL */
  char             *message_id;     /* Message-ID of the test message, or NULL */
  GPtrArray        *deliveries;     /* herald_smtp_deliver(): of HeraldDelivery, one per
                                     * message in order; NULL for herald_smtp_run() */
} HeraldSmtpResult;

#define HERALD_TYPE_SMTP_RESULT (herald_smtp_result_get_type ())
GType             herald_smtp_result_get_type (void) G_GNUC_CONST;
/* An empty result: not ok, stage HERALD_STAGE_RESOLVE, an empty transcript,
 * no stage reached (every stage_ms -1). For transports other than the
 * engine's session (Graph, the queue's bookkeeping) that fill in their own. */
HeraldSmtpResult *herald_smtp_result_new        (void) G_GNUC_WARN_UNUSED_RESULT;
/* A failed result with @stage and a copy of @error, and nothing else (no
 * reply, an empty transcript, no stage reached): for failures found before
 * the engine ran, e.g. no password in the keyring. */
HeraldSmtpResult *herald_smtp_result_new_failed (HeraldStage          stage,
                                                 const GError        *error) G_GNUC_WARN_UNUSED_RESULT;
HeraldSmtpResult *herald_smtp_result_copy     (const HeraldSmtpResult *result);
void              herald_smtp_result_free     (HeraldSmtpResult       *result);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (HeraldSmtpResult, herald_smtp_result_free)

/* ---------------------------------------------------------------------------
 * Progress: one event each time a stage starts and ends.
 * ------------------------------------------------------------------------- */

typedef enum {
  HERALD_STEP_STARTED,
  HERALD_STEP_SUCCEEDED,
  HERALD_STEP_FAILED,
} HeraldStepState;

typedef struct {
  HeraldStage      stage;
  HeraldStepState  state;
  gint64           ms;        /* offset from the start of the test */
  gint64           duration;  /* ms spent in the stage (SUCCEEDED/FAILED), else 0 */
} HeraldProgress;

typedef void (*HeraldProgressFunc) (const HeraldProgress *progress,
                                    gpointer              user_data);

/* ---------------------------------------------------------------------------
 * Running a test.
 * ------------------------------------------------------------------------- */

/* Synchronous: blocks the calling thread. Always returns a result (never NULL);
 * result->ok tells the outcome. progress is called on the calling thread.
 *
 * Which error for which failure (result->stage says where):
 *   bad settings, unreadable CA file        HERALD_SMTP_ERROR_INVALID_CONFIG (stage resolve,
 *                                           before any network access)
 *   lookup failed / timed out               G_RESOLVER_ERROR_* / G_IO_ERROR_TIMED_OUT (resolve)
 *   no address accepted the connection      the GIO error of the most telling attempt (connect)
 *   connected, no greeting in time          HERALD_SMTP_ERROR_NO_GREETING (greeting)
 *   no reply in time later on               G_IO_ERROR_TIMED_OUT
 *   server closed the connection            HERALD_SMTP_ERROR_CLOSED
 *   4xx/5xx to a command                    HERALD_SMTP_ERROR_REJECTED, result->reply is that reply
 *   certificate refused                     HERALD_SMTP_ERROR_TLS_CERTIFICATE (tls), result->tls
 *                                           has the certificate and the failed flags
 *   implicit TLS against a plain-text port  G_TLS_ERROR_NOT_TLS (tls)
 *   other handshake failures                the G_TLS_ERROR unchanged (tls)
 *   cancelled                               G_IO_ERROR_CANCELLED (the stage it was in)
 * With PIPELINING, any rejected RCPT fails the test in stage rcpt, with that
 * reply. IP address literals skip the lookup. */
HeraldSmtpResult *herald_smtp_run (const HeraldSmtpConfig *config,
                                   GCancellable           *cancellable,
                                   HeraldProgressFunc      progress,
                                   gpointer                progress_data) G_GNUC_WARN_UNUSED_RESULT;

/* Runs herald_smtp_run() in a GTask thread. progress is invoked on the
 * thread-default main context of the caller; progress_destroy is called on it
 * after the last progress event. */
void              herald_smtp_run_async  (const HeraldSmtpConfig *config,
                                          GCancellable           *cancellable,
                                          HeraldProgressFunc      progress,
                                          gpointer                progress_data,
                                          GDestroyNotify          progress_destroy,
                                          GAsyncReadyCallback     callback,
                                          gpointer                user_data);
/* Returns the result (also for failed tests); NULL only with error set
 * when the task itself could not run. */
HeraldSmtpResult *herald_smtp_run_finish (GAsyncResult           *result,
                                          GError                **error) G_GNUC_WARN_UNUSED_RESULT;

/* ---------------------------------------------------------------------------
 * Delivering mail: several messages over one connection.
 * ------------------------------------------------------------------------- */

/* One message: the envelope and the exact RFC 5322 bytes, sent as they are
 * (CRLF line endings; the engine dot-stuffs for DATA, never rewrites). */
typedef struct {
  char    *sender;      /* envelope sender (MAIL FROM); "" for the null sender */
  char   **recipients;  /* NULL-terminated, at least one */
  GBytes  *data;        /* the message, CRLF line endings */
} HeraldSmtpMessage;

HeraldSmtpMessage *herald_smtp_message_new  (const char         *sender,
                                             const char * const *recipients,
                                             GBytes             *data) G_GNUC_WARN_UNUSED_RESULT;
void               herald_smtp_message_free (HeraldSmtpMessage  *message);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (HeraldSmtpMessage, herald_smtp_message_free)

typedef enum {
  HERALD_DELIVERY_DELIVERED,           /* "delivered": the final 2xx for its data */
  HERALD_DELIVERY_TEMPORARY,           /* "temporary": 4xx, a broken connection, not
                                        * attempted, 8-bit without 8BITMIME: try again */
  HERALD_DELIVERY_RECIPIENTS_REFUSED,  /* "recipients-refused": every recipient 5xx */
  HERALD_DELIVERY_CONTENT_REFUSED,     /* "content-refused": the sender or the message 5xx */
} HeraldDeliveryOutcome;

const char *herald_delivery_outcome_to_string (HeraldDeliveryOutcome outcome);

/* What happened to one message. */
typedef struct {
  HeraldDeliveryOutcome  outcome;
  HeraldStage            stage;         /* HERALD_STAGE_DONE when delivered, else where it
                                         * ended: mail, rcpt, data (or the session's stage
                                         * when it was not attempted) */
  HeraldSmtpReply       *reply;         /* the final reply: to the data when delivered, else
                                         * the refusal; NULL when the server gave none */
  GError                *error;         /* NULL when delivered */
  GPtrArray             *recipient_replies; /* HeraldSmtpReply or NULL, one per recipient */
  gboolean               attempted;     /* its MAIL FROM went out */
  gboolean               data_sent;     /* its last byte went out: without a verdict (the
                                         * connection broke), it may have been delivered */
} HeraldDelivery;

HeraldDelivery *herald_delivery_copy (const HeraldDelivery *delivery);
void            herald_delivery_free (HeraldDelivery       *delivery);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (HeraldDelivery, herald_delivery_free)

/* Called on the worker thread right before the last byte (the last chunk
 * or the final "." line) of message @index is written: the queue marks the
 * message "sending" there, so that a crash after this point is known to
 * perhaps have delivered it. */
typedef void (*HeraldBeforeLastByteFunc) (guint                    index,
                                          const HeraldSmtpMessage *message,
                                          gpointer                 user_data);
/* Called on the worker thread as soon as message @index has its verdict. */
typedef void (*HeraldDeliveredFunc)      (guint                    index,
                                          const HeraldDelivery    *delivery,
                                          gpointer                 user_data);

/* Called on the worker thread before the first command of message @index
 * goes out, with the server's greeting text: FALSE leaves this message and
 * every later one unsent (HERALD_SMTP_ERROR_NOT_ATTEMPTED, attempted FALSE),
 * while the replies to what is in flight are still read. A queue stops
 * there when the server asked it to slow down, or to keep a provider's
 * pace. */
typedef gboolean (*HeraldProceedFunc)    (guint                    index,
                                          const char              *greeting,
                                          gpointer                 user_data);

typedef struct {
  HeraldProgressFunc        progress;          /* stages, as for a test */
  HeraldBeforeLastByteFunc  before_last_byte;
  HeraldDeliveredFunc       delivered;
  gpointer                  user_data;
  HeraldProceedFunc         proceed;           /* NULL: every message goes */
} HeraldDeliveryCallbacks;

/* Delivers @messages (of HeraldSmtpMessage) over one connection made with
 * @config's server, security, login, CA file and timeouts (its from, to,
 * cc, subject and extra text are not used). With PIPELINING the envelopes
 * (MAIL, every RCPT) go out together; with CHUNKING each message is one
 * BDAT LAST, and the next message follows without waiting; otherwise DATA
 * with dot-stuffing. RSET is sent only after a failed transaction. An 8-bit
 * message goes with BODY=8BITMIME when offered, else it is not sent
 * (HERALD_SMTP_ERROR_8BIT_NOT_OFFERED, outcome temporary: re-encode it).
 * A message is delivered when the server accepted its data for at least one
 * recipient; recipient_replies says which were refused.
 *
 * Blocks the calling thread; the callbacks run on it. Always returns a
 * result: result->deliveries has one HeraldDelivery per message; result->ok
 * is TRUE when every message was delivered; otherwise result->stage,
 * ->error and ->reply describe the first failure (the session's, e.g. a
 * refused login, when every message is "not attempted"). The transcript
 * shows message data as its size only, and no secret. */
HeraldSmtpResult *herald_smtp_deliver        (const HeraldSmtpConfig        *config,
                                              GPtrArray                     *messages,
                                              const HeraldDeliveryCallbacks *callbacks,
                                              GCancellable                  *cancellable) G_GNUC_WARN_UNUSED_RESULT;

/* herald_smtp_deliver() in a GTask thread. @config and @messages are
 * copied/referenced. progress is invoked on the caller's thread-default main
 * context; before_last_byte and delivered on the worker thread (they must be
 * thread-safe); @destroy frees callbacks->user_data on the caller's context
 * after the last event. */
void              herald_smtp_deliver_async  (const HeraldSmtpConfig        *config,
                                              GPtrArray                     *messages,
                                              const HeraldDeliveryCallbacks *callbacks,
                                              GDestroyNotify                 destroy,
                                              GCancellable                  *cancellable,
                                              GAsyncReadyCallback            callback,
                                              gpointer                       user_data);
HeraldSmtpResult *herald_smtp_deliver_finish (GAsyncResult                  *result,
                                              GError                       **error) G_GNUC_WARN_UNUSED_RESULT;

/* ---------------------------------------------------------------------------
 * Message data.
 * ------------------------------------------------------------------------- */

/* @data with every bare LF and bare CR turned into CRLF, ending with CRLF
 * (an empty input gives "\r\n"): the line endings SMTP requires, for any
 * message before it is handed to herald_smtp_deliver(). */
GBytes *herald_smtp_normalize_crlf (const char *data,
                                    gsize       length) G_GNUC_WARN_UNUSED_RESULT;

/* What the test message says about how it was sent. */
typedef struct {
  const char *mechanism;   /* the SASL mechanism, "PLAIN"; NULL: no login */
  const char *hostname;    /* this machine */
  GDateTime  *date;        /* the Date header; NULL: now */
} HeraldMessageInfo;

/* Builds the test message of @config (its From, To, Cc, Subject and extra
 * text, a body naming the server, port, security, login and this host),
 * CRLF line endings, not dot-stuffed. @message_id, when not NULL, receives
 * its Message-ID in angle brackets. Every transport sends this same message
 * for a test. */
GBytes *herald_smtp_build_message  (const HeraldSmtpConfig  *config,
                                    const HeraldMessageInfo *info,
                                    char                   **message_id) G_GNUC_WARN_UNUSED_RESULT;

/* Starts loading the TLS backend (once per process) and parsing ca_file
 * (when not NULL; the next run with that file takes the result) on a helper
 * thread, and returns at once. The runs call it themselves (implicit TLS
 * before connecting, STARTTLS once connected) and then load the system trust
 * store; call it earlier (at start-up, for implicit TLS) to take that load
 * off the path to the ClientHello. Errors are left to the run. Any thread. */
void              herald_smtp_prepare_tls (const char *ca_file);

G_END_DECLS
