/* SPDX-License-Identifier: GPL-3.0-or-later
 * Copyright 2026 The Herald authors
 */
#pragma once

/* One SMTP session, shared by the engine's files: herald-smtp-session.c
 * (transcript, progress, commands and replies, greeting, EHLO, STARTTLS,
 * AUTH), herald-smtp-net.c (resolve, connect), herald-smtp-tls.c (handshake,
 * certificate policy, trust loading) and herald-smtp-deliver.c (envelopes,
 * message data, the public runs). Not part of the public API.
 *
 * Everything here runs on the calling thread (a GTask worker for the async
 * API); nothing is shared with other threads except through the callbacks.
 */

#include "herald-smtp-private.h"

G_BEGIN_DECLS

/* How long we wait for the reply to QUIT once the message is accepted: the
 * verdict is known by then, so a slow or missing 221 must not delay it. */
#define HERALD_QUIT_REPLY_TIMEOUT 1

typedef struct _HeraldSession HeraldSession;
typedef struct _HeraldDeadline HeraldDeadline;

/* Called right after the last line of the login went out, while the server
 * checks it: the test builds its message there. */
typedef void (*HeraldSessionHook) (HeraldSession *s);

struct _HeraldSession
{
  const HeraldSmtpConfig *config;
  GCancellable           *cancellable;  /* ours: the caller's, or the deadline, cancel it */
  GCancellable           *user_cancellable;
  gulong                  user_handler;
  HeraldDeadline         *watch;
  HeraldProgressFunc      progress;
  gpointer                progress_data;
  HeraldSmtpResult       *result;
  HeraldSessionHook       login_sent;
  gpointer                hook_data;

  gint64                  start_us;
  guint                   deadline;     /* seconds for the whole run */
  HeraldStage             stage;
  gint64                  stage_start_us;

  const char             *secrets[3];
  char                   *hostname;
  char                   *helo;
  guint                   connect_timeout;
  guint                   reply_timeout;

  GSocketConnection      *connection;
  GSocket                *socket;
  GIOStream              *stream;     /* the connection, or the TLS connection over it */
  GTlsConnection         *tls;
  HeraldLineReader       *reader;
  HeraldSmtpCaps         *caps;

  GSocketConnectable     *identity;
  GTlsDatabase           *ca_database;
  char                   *ca_path;    /* the CA file, absolute */
  HeraldCaLoad           *ca_load;    /* the CA file, parsed on a helper thread */
  GTlsCertificate        *peer_certificate;
  GTlsCertificateFlags    peer_errors;
  GTlsProtocolVersion     handshake_version;  /* as seen while checking the certificate */

  GBytes                 *message;     /* the test message, once built */
  char                   *message_id;

  guint                   stage_open : 1;
  guint                   connection_broken : 1;
  guint                   tls_loading_started : 1;
  guint                   is_test : 1;   /* herald_smtp_run(): the config holds the envelope */
  guint                   opened : 1;    /* validated: network access allowed */
};

/* A flight: commands (and message data) written with one write, so that a
 * pipelining server gets them in as few packets as possible. */
typedef struct
{
  GByteArray *data;
} HeraldFlight;

static inline gboolean
_herald_is_set (const char *str)
{
  return str != NULL && *str != '\0';
}

static inline gboolean
_herald_reply_is (const HeraldSmtpReply *reply,
                  int                    klass)
{
  return reply != NULL && reply->code / 100 == klass;
}

/* ---- herald-smtp-session.c ------------------------------------------------ */

void              _herald_session_init         (HeraldSession          *s,
                                                const HeraldSmtpConfig *config,
                                                GCancellable           *cancellable,
                                                HeraldProgressFunc      progress,
                                                gpointer                progress_data);
/* Resolve, connect, TLS, greeting, EHLO, STARTTLS, EHLO, AUTH. */
gboolean          _herald_session_open         (HeraldSession          *s,
                                                GError                **error);
/* Ends the run: scrubs and notes the error, ends the stage, closes the
 * connection, frees the session and returns its result (ok set). */
HeraldSmtpResult *_herald_session_finish       (HeraldSession          *s,
                                                gboolean                ok,
                                                GError                 *error) G_GNUC_WARN_UNUSED_RESULT;

void              _herald_session_add_entry    (HeraldSession          *s,
                                                HeraldTranscriptDir     dir,
                                                const char             *text);
void              _herald_session_info         (HeraldSession          *s,
                                                const char             *format,
                                                ...) G_GNUC_PRINTF (2, 3);
void              _herald_session_stage_begin  (HeraldSession          *s,
                                                HeraldStage             stage);
void              _herald_session_stage_end    (HeraldSession          *s,
                                                gboolean                ok);
/* Reads one reply. When remember is TRUE it becomes result->reply. */
HeraldSmtpReply  *_herald_session_read_reply   (HeraldSession          *s,
                                                gboolean                remember,
                                                GError                **error) G_GNUC_WARN_UNUSED_RESULT;
void              _herald_flight_init          (HeraldFlight           *flight);
void              _herald_flight_clear         (HeraldFlight           *flight);
/* Queues a command line; shown is what the transcript gets (NULL: the line). */
void              _herald_flight_add_line      (HeraldSession          *s,
                                                HeraldFlight           *flight,
                                                const char             *line,
                                                const char             *shown);
/* Queues message data; the transcript gets "<message: N bytes>" (and the
 * final "." when dot_line is set), never the body. */
void              _herald_flight_add_data      (HeraldSession          *s,
                                                HeraldFlight           *flight,
                                                GBytes                 *bytes,
                                                gsize                   message_size,
                                                gboolean                dot_line);
gboolean          _herald_flight_send          (HeraldSession          *s,
                                                HeraldFlight           *flight,
                                                GError                **error);
gboolean          _herald_session_send_line    (HeraldSession          *s,
                                                const char             *line,
                                                const char             *shown,
                                                GError                **error);
/* Sends a command and reads its reply (remembered). */
HeraldSmtpReply  *_herald_session_command      (HeraldSession          *s,
                                                const char             *line,
                                                const char             *shown,
                                                GError                **error) G_GNUC_WARN_UNUSED_RESULT;
void              _herald_session_set_timeout  (HeraldSession          *s,
                                                guint                   seconds);
/* After a failure the server may still be listening: says goodbye politely
 * without letting a silent server delay the verdict. */
void              _herald_session_quit         (HeraldSession          *s);
/* Sets HERALD_SMTP_ERROR_REJECTED for @reply to @what; returns FALSE. */
gboolean          _herald_session_rejected     (HeraldSession          *s,
                                                const HeraldSmtpReply  *reply,
                                                const char             *what,
                                                GError                **error);
/* _herald_session_rejected(), then _herald_session_quit(): the one way a
 * command's refusal ends the session. Returns FALSE. */
/* The run passed its deadline: the error saying so at the current stage
 * (a new one), or NULL while it has not. */
GError           *_herald_session_deadline_error (HeraldSession        *s) G_GNUC_WARN_UNUSED_RESULT;
gboolean          _herald_session_fail_and_quit (HeraldSession         *s,
                                                 const HeraldSmtpReply *reply,
                                                 const char            *what,
                                                 GError               **error);

/* ---- herald-smtp-net.c ---------------------------------------------------- */

/* Resolves the host (the resolve stage is open) and connects (stage connect). */
gboolean          _herald_session_connect      (HeraldSession          *s,
                                                GError                **error);

/* ---- herald-smtp-tls.c ---------------------------------------------------- */

/* Checks the CA file cheaply (exists, holds a PEM certificate) before any
 * network access. */
gboolean          _herald_session_check_ca_file (HeraldSession         *s,
                                                 GError               **error);
void              _herald_session_start_tls_loading (HeraldSession     *s);
/* The TLS handshake (stage tls) with the certificate policy. */
gboolean          _herald_session_tls_handshake (HeraldSession         *s,
                                                 GError               **error);

G_END_DECLS
