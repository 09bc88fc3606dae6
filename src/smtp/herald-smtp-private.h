/* SPDX-License-Identifier: GPL-3.0-or-later
 * Copyright 2026 The Herald authors
 */
#pragma once

/* Engine internals shared between the engine's files and its unit tests
 * (tests/smtp). Not part of the public API.
 */

#include "herald-smtp.h"

G_BEGIN_DECLS

/* Caps on what we accept from a server: every byte is untrusted. */
#define HERALD_SMTP_MAX_LINE        4096        /* bytes per reply line, CRLF excluded */
#define HERALD_SMTP_MAX_LINES       256         /* lines per reply */
#define HERALD_SMTP_MAX_REPLY       (64 * 1024) /* bytes per reply */
#define HERALD_SMTP_DEFAULT_TIMEOUT 20          /* seconds */
#define HERALD_SMTP_DEFAULT_DEADLINE 60         /* seconds, for a whole run */

/* ---- types ---------------------------------------------------------------- */

void                   _herald_transcript_entry_free (HeraldTranscriptEntry *entry);
/* Explicit PLAIN/LOGIN need a username and a password, XOAUTH2/OAUTHBEARER a
 * username and a token. */
gboolean               _herald_smtp_config_check_credentials (const HeraldSmtpConfig  *config,
                                                              GError                 **error);
/* A host name or address literal that fits on a command line (no spaces,
 * no "/@<>()[],;" and the like), at most 253 bytes. */
gboolean               _herald_smtp_host_is_valid    (const char  *host);
/* herald_smtp_config_validate() without the message fields (from, to, cc,
 * subject, extra text): what a delivery, which brings its own envelopes,
 * needs. */
gboolean               _herald_smtp_config_validate_connection (const HeraldSmtpConfig  *config,
                                                                GError                 **error);
/* A field check plus a valid address: INVALID_CONFIG naming @field_label. */
gboolean               _herald_smtp_check_address_field (const char  *field_label,
                                                         const char  *address,
                                                         GError     **error);
/* Returns FALSE and sets INVALID_CONFIG when value contains CR or LF. */
gboolean               _herald_smtp_check_field      (const char  *field_label,
                                                      const char  *value,
                                                      GError     **error);

/* ---- trust --------------------------------------------------------------- */

/* The system trust store as a GTlsDatabase that forwards every call to the
 * TLS backend's default database, fetched when first needed: set on each
 * client connection so that glib-networking does not rebuild the trust list
 * per connection (herald-smtp-trust.c says why). A new reference; any thread. */
GTlsDatabase          *_herald_smtp_system_trust    (void);
/* Starts loading the system trust store on the TLS helper thread, once per
 * process, behind any CA file queued: called when a run starts loading TLS.
 * Any thread. */
void                   _herald_smtp_system_trust_preload (void);

/* The user's CA file, parsed on the TLS helper thread. path is absolute. take()
 * returns the load herald_smtp_prepare_tls() started for path, if the file
 * is unchanged since, else NULL; start() starts a new one; wait() blocks
 * until it is parsed, for at most @timeout seconds (0: no limit) or until
 * @cancellable is cancelled, and returns the database (a new reference) or
 * NULL with the parser's error, G_IO_ERROR_TIMED_OUT or _CANCELLED. Any thread. */
typedef struct _HeraldCaLoad HeraldCaLoad;

HeraldCaLoad          *_herald_ca_load_start (const char    *path);
HeraldCaLoad          *_herald_ca_load_take  (const char    *path);
GTlsDatabase          *_herald_ca_load_wait  (HeraldCaLoad  *load,
                                              guint          timeout,
                                              GCancellable  *cancellable,
                                              GError       **error) G_GNUC_WARN_UNUSED_RESULT;
void                   _herald_ca_load_unref (HeraldCaLoad  *load);
/* For the tests: how many CA file parses the helper thread has finished. */
guint                  _herald_ca_load_get_n_parses (void);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (HeraldCaLoad, _herald_ca_load_unref)

/* ---- reply reader --------------------------------------------------------- */

typedef struct _HeraldLineReader HeraldLineReader;

HeraldLineReader *_herald_line_reader_new  (GInputStream     *stream);
void              _herald_line_reader_free (HeraldLineReader *reader);
/* Replaces the stream (after a TLS handshake); buffered bytes are dropped,
 * which is what STARTTLS requires (RFC 3207: discard what came before). */
void              _herald_line_reader_set_stream (HeraldLineReader *reader,
                                                  GInputStream     *stream);
/* TRUE when bytes of the reply being read (or last read) had arrived: a
 * timeout then means "did not finish its reply", not "did not reply". */
gboolean          _herald_line_reader_reply_started (HeraldLineReader *reader);
/* TRUE when bytes are buffered that nobody asked for yet. */
gboolean          _herald_line_reader_has_pending (HeraldLineReader *reader);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (HeraldLineReader, _herald_line_reader_free)

/* Called for each line of a reply as it arrives (without CRLF). */
typedef void (*HeraldReplyLineFunc) (const char *line,
                                     gpointer    user_data);

/* Reads one complete reply. Errors: HERALD_SMTP_ERROR_REPLY_TOO_LONG past the
 * caps, HERALD_SMTP_ERROR_PROTOCOL for anything that is not a reply,
 * HERALD_SMTP_ERROR_CLOSED at end of stream, and GIO errors unchanged
 * (G_IO_ERROR_TIMED_OUT, G_IO_ERROR_CANCELLED...). */
HeraldSmtpReply  *_herald_smtp_read_reply (HeraldLineReader     *reader,
                                           HeraldReplyLineFunc   line_func,
                                           gpointer              line_data,
                                           GCancellable         *cancellable,
                                           GError              **error) G_GNUC_WARN_UNUSED_RESULT;

/* herald_smtp_make_printable() (herald-smtp.h) makes reply text safe. */

/* Parses "5.7.139" at the start of text; NULL when absent. */
char             *_herald_smtp_parse_enhanced (const char *text) G_GNUC_WARN_UNUSED_RESULT;

/* ---- capabilities --------------------------------------------------------- */

typedef struct {
  gboolean   starttls;
  gboolean   pipelining;
  gboolean   chunking;
  gboolean   eightbitmime;
  gboolean   smtputf8;
  gboolean   enhancedstatuscodes;
  gboolean   size;        /* SIZE advertised */
  guint64    size_limit;  /* 0: no limit given */
  gboolean   auth;        /* AUTH (or AUTH=) advertised */
  char     **auth_mechanisms; /* upper-case, unique, NULL-terminated (never NULL) */
} HeraldSmtpCaps;

HeraldSmtpCaps *_herald_smtp_caps_parse (const HeraldSmtpReply *ehlo_reply) G_GNUC_WARN_UNUSED_RESULT;
void            _herald_smtp_caps_free  (HeraldSmtpCaps        *caps);
gboolean        _herald_smtp_caps_has_mechanism (const HeraldSmtpCaps *caps,
                                                 const char           *mechanism);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (HeraldSmtpCaps, _herald_smtp_caps_free)

/* ---- message -------------------------------------------------------------- */

/* Dot-stuffs CRLF data for DATA and appends the ".\r\n" terminator. */
GBytes *_herald_smtp_dot_stuff      (GBytes     *message) G_GNUC_WARN_UNUSED_RESULT;

/* ---- redaction ------------------------------------------------------------ */

/* Returns a copy of text in which every occurrence of each secret (of any
 * length), every base64 word that decodes to bytes holding one (a whole
 * SASL payload), and each secret's base64 forms (at the three possible
 * alignments) are replaced with "<redacted>". secrets is NULL-terminated;
 * empty items are ignored. */
char *_herald_smtp_scrub (const char         *text,
                          const char * const *secrets) G_GNUC_WARN_UNUSED_RESULT;

/* How a client line appears in the transcript: "AUTH PLAIN <redacted>" for
 * an AUTH command with an initial response, "<redacted>" when the line is an
 * answer to a 334 challenge (in_auth_exchange), the line itself otherwise. */
char *_herald_smtp_redact_client_line (const char *line,
                                       gboolean    in_auth_exchange) G_GNUC_WARN_UNUSED_RESULT;

/* SASL payloads (not yet base64-encoded are returned base64-encoded). */
char *_herald_sasl_plain    (const char *username,
                             const char *password) G_GNUC_WARN_UNUSED_RESULT;
char *_herald_sasl_xoauth2  (const char *username,
                             const char *token) G_GNUC_WARN_UNUSED_RESULT;
char *_herald_sasl_oauthbearer (const char *username,
                                const char *host,
                                guint16     port,
                                const char *token) G_GNUC_WARN_UNUSED_RESULT;

G_END_DECLS
