/* SPDX-License-Identifier: GPL-3.0-or-later
 * Copyright 2026 The Herald authors
 */
#pragma once

/* Turns what a caller hands to heraldctl send (or to the sendmail name) into
 * the message and envelope Herald delivers: a plain-text body with a
 * subject, or an RFC 5322 message as sendmail receives it. */

#include <gio/gio.h>

G_BEGIN_DECLS

#define HERALD_MESSAGE_ERROR (herald_message_error_quark ())
GQuark herald_message_error_quark (void);

typedef enum {
  HERALD_MESSAGE_ERROR_EMPTY,         /* nothing on standard input */
  HERALD_MESSAGE_ERROR_TOO_BIG,       /* over the size cap */
  HERALD_MESSAGE_ERROR_NO_RECIPIENT,  /* none in the arguments, the headers or the profile */
  HERALD_MESSAGE_ERROR_BAD_ADDRESS,   /* a recipient or sender that is not an address */
  HERALD_MESSAGE_ERROR_BAD_INPUT,     /* text that is not UTF-8 in body mode, a bad -F */
} HeraldMessageError;

typedef struct {
  const char         *subject;           /* body mode when not NULL */
  gboolean            extract;           /* -t: add To, Cc and Bcc to the recipients */
  const char         *envelope_from;     /* -f / -r, or NULL */
  const char         *full_name;         /* -F, or NULL */
  const char * const *recipients;        /* the arguments; may be NULL */
  /* From the profile: */
  const char         *profile_from;      /* the authenticated mailbox (required) */
  const char * const *profile_recipients;/* its To and Cc: used when nobody is named */
  const char * const *local_recipients;  /* where bare local names go (NULL: profile_recipients) */
  gboolean            rewrite_from;      /* FALSE: keep the caller's sender */
  gsize               max_size;          /* 0: no cap */
  const char         *hostname;          /* for the Message-ID; NULL: this host */
  GDateTime          *date;              /* NULL: now */
} HeraldMessageOptions;

typedef struct {
  GBytes   *data;          /* CRLF line endings, not dot-stuffed */
  char     *sender;        /* envelope sender */
  char    **recipients;    /* envelope recipients, unique, at least one */
  char     *message_id;    /* without angle brackets */
  char     *subject;       /* decoded, for listings; may be NULL */
  gboolean  eight_bit;     /* some byte is >= 0x80 */
} HeraldPreparedMessage;

void herald_prepared_message_free (HeraldPreparedMessage *message);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (HeraldPreparedMessage, herald_prepared_message_free)

/* Body mode (options->subject set): @input is the UTF-8 body; the message is
 * built with GMime (From, To, Subject, Date, Message-ID, MIME-Version,
 * User-Agent).
 * RFC 5322 mode: @input is a whole message. Its headers are kept; Date,
 * Message-ID and MIME-Version are added when missing; Bcc, Resent-Bcc,
 * Content-Length and Return-Path are removed; bare LF and bare CR become
 * CRLF; a lone "." line is just a line. The From header and the envelope
 * sender become the profile's From (the original kept in
 * X-Herald-Original-From, its display name kept) unless rewrite_from is
 * FALSE or -f names the profile's From.
 * Recipients: the arguments, plus To/Cc/Bcc with extract, else the
 * profile's; bare local names ("root") map to local_recipients. */
HeraldPreparedMessage *herald_message_prepare (const char                 *input,
                                               gsize                       length,
                                               const HeraldMessageOptions *options,
                                               GError                    **error) G_GNUC_WARN_UNUSED_RESULT;

/* The same message with every 8-bit part re-encoded (quoted-printable or
 * base64, as GMime finds best), for a server that does not offer 8BITMIME.
 * Headers are left as they are. Returns NULL when @data cannot be parsed. */
GBytes *herald_message_encode_7bit (GBytes *data) G_GNUC_WARN_UNUSED_RESULT;

G_END_DECLS
