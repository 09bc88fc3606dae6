/* SPDX-License-Identifier: GPL-3.0-or-later
 * Copyright 2026 The Herald authors
 */
#pragma once

/* Helpers shared inside the diagnosis library and with its tests. */

#include "herald-diagnosis.h"

G_BEGIN_DECLS

/* The most of a pasted text the rules search: what the engine accepts in
 * one reply it reads. */
#define HERALD_DIAGNOSIS_MAX_TEXT (64 * 1024)

/* A server reply lifted out of a pasted text. */
typedef struct {
  int    code;        /* 0 when the text carries no three-digit code */
  int    named_code;  /* a refusal code the program named without a reply ("got 552"),
                       * when there is no code: only its class is used */
  int    http_status; /* an HTTP status taken for no reply code ("API response 401
                       * (UNAUTHORIZED)"), 0: none */
  char  *enhanced;    /* "5.7.139" or NULL */
  char  *reply;       /* the reply's lines as pasted, joined with "\n" */
  char  *normalised;  /* lines joined, NNN-/NNN prefixes and repeated enhanced codes stripped */
  HeraldStage stage;  /* the step the text names (PHPMailer's "MAIL FROM command failed",
                       * a transcript's last command...), or HERALD_N_STAGES */
  gsize  searched;    /* bytes handed to the regex engine to find all this (for tests:
                       * it must grow linearly with the text) */
} HeraldExtractedReply;

void _herald_extracted_reply_free (HeraldExtractedReply *extracted);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (HeraldExtractedReply, _herald_extracted_reply_free)

/* Finds the SMTP reply inside another program's message (.NET, PHPMailer,
 * nodemailer, Python's smtplib, JavaMail...), or returns the whole text
 * normalised with code 0 when no reply can be recognised. The text need not
 * be valid UTF-8; control characters are replaced by "?" (after unescaping,
 * in Python's tuples). The reply taken is at most 256 lines and 64 KiB, and
 * the work is linear in the length of the text. */
HeraldExtractedReply *_herald_extract_reply (const char *text) G_GNUC_WARN_UNUSED_RESULT;
HeraldExtractedReply *_herald_extract_reply_for (const char *text,
                                                 gboolean    http_replies) G_GNUC_WARN_UNUSED_RESULT;

/* @text as valid UTF-8 with line breaks kept, a tab as a space and every
 * other control or bidirectional character as "?", cut to at most
 * @max_bytes on a character boundary. */
char *_herald_printable_text (const char *text,
                              gsize       max_bytes) G_GNUC_WARN_UNUSED_RESULT;

/* Joins the lines of a (multi-line) reply with one space after stripping
 * each line's "NNN-"/"NNN " prefix and, on lines 2..n, a repeated enhanced
 * status code. */
char *_herald_normalise_reply (const char *raw) G_GNUC_WARN_UNUSED_RESULT;

/* Removes Microsoft's trailing "[XXXX.prod.outlook.com ...]" server tag. */
char *_herald_strip_server_tag (const char *text) G_GNUC_WARN_UNUSED_RESULT;

/* The time rules and notices are chosen for (their "valid_from" and
 * "valid_until"), in Unix seconds: the one set by _herald_diagnosis_set_now(),
 * else the environment's HERALD_NOW ("2027-01-01" or an ISO 8601 date and
 * time), else the clock. */
gint64 _herald_diagnosis_now     (void);
/* Pins the time for tests; NULL goes back to HERALD_NOW or the clock. */
void   _herald_diagnosis_set_now (GDateTime *now);

/* The ids of every rule in the rules file, in file order (NULL-terminated,
 * owned by the library). */
const char * const *_herald_diagnosis_rule_ids (void);

/* The ids of every notice the rules file defines (NULL-terminated, owned by
 * the library). */
const char * const *_herald_diagnosis_notice_ids (void);

/* Maps an error name of the rules file ("G_IO_ERROR_TIMED_OUT",
 * "HERALD_SMTP_ERROR_NO_GREETING"...) to its domain and code. */
gboolean _herald_error_from_name (const char *name,
                                  GQuark     *domain,
                                  int        *code);

/* HeraldLink helpers shared by the rules loader and the diagnosis. */
HeraldLink *_herald_link_new  (const char *title,
                               const char *url) G_GNUC_WARN_UNUSED_RESULT;
void        _herald_link_free (gpointer    link);

/* A regex compiled once, caseless, from a constant pattern (thread-safe). */
GRegex *_herald_static_regex (GRegex    **slot,
                              const char *pattern);

#define DEFINE_REGEX(name, pattern)            \
  static GRegex *                              \
  name (void)                                  \
  {                                            \
    static GRegex *regex;                      \
    return _herald_static_regex (&regex, pattern);     \
  }

G_END_DECLS
