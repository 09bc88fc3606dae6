/* SPDX-License-Identifier: GPL-3.0-or-later
 * Copyright 2026 The Herald authors
 */
#pragma once

/* The rules file as loaded (herald-rules.c), for the matching and the
 * notices in herald-diagnosis.c. Loaded once, then only read. */

#include "herald-diagnosis-private.h"
#include "herald-pattern-private.h"

G_BEGIN_DECLS

typedef enum {
  AUTH_KIND_NONE     = 1 << 0,
  AUTH_KIND_PASSWORD = 1 << 1,
  AUTH_KIND_OAUTH    = 1 << 2,
} AuthKind;

/* How the message left: the SMTP engine or Microsoft Graph (HTTPS). */
typedef enum {
  TRANSPORT_KIND_SMTP  = 1 << 0,
  TRANSPORT_KIND_GRAPH = 1 << 1,
} TransportKind;

typedef struct {
  GQuark domain;
  int    code;
} ErrorKey;

typedef struct {
  char       *text;
  char       *command;
  gint64      valid_from;   /* Unix seconds; the step shows from then on */
  gint64      valid_until;  /* Unix seconds, excluded */
} StepTemplate;

typedef struct {
  char           *title;
  char           *explanation;
  HeraldActor     actor;
  HeraldSeverity  severity;
  HeraldAction    action;
  HeraldAction    alternative_action;
  GPtrArray      *steps;   /* of StepTemplate */
  GPtrArray      *links;   /* of HeraldLink */
  gint64          valid_from;   /* Unix seconds: the rule or notice applies from then on */
  gint64          valid_until;  /* Unix seconds, excluded */
} Texts;

typedef struct {
  char      *id;
  char      *provider;
  int        priority;
  gboolean   fallback;
  gboolean   no_reply;       /* only when no non-2xx reply explains the failure */
  gboolean   no_code;        /* only texts without a reply or enhanced code */
  guint      stages;         /* bit per HeraldStage; 0: any */
  GArray    *codes;          /* of int; NULL: any */
  guint      classes;        /* bit per first digit; 0: any */
  char     **enhanced;       /* NULL: any */
  HeraldPattern *pattern;    /* on the normalised reply; NULL: any */
  GArray    *errors;         /* of ErrorKey; NULL: any */
  GRegex    *error_pattern;  /* on the GError's message */
  guint      tls_flags;      /* GTlsCertificateFlags, any of; 0: any */
  guint      securities;     /* bit per HeraldSecurity; 0: any */
  GArray    *ports;          /* of int; NULL: any */
  GRegex    *server;         /* on "host greeting"; NULL: any */
  GRegex    *server_words;   /* on the normalised reply, instead of server when the
                              * host is unknown (a pasted text): the provider's name
                              * in its own words ("Mailgun is not loving ...") */
  guint      auths;          /* AuthKind bits; 0: any */
  guint      transports;     /* TransportKind bits; 0: see rule_matches() */
  GRegex    *transport_words; /* a transport's fallback only: on the normalised reply,
                               * the transport naming itself in a pasted text (Graph's
                               * SDK: "Microsoft.Graph", "ODataError") */
  Texts      texts;
} Rule;

typedef struct {
  char  *id;
  Texts  texts;
} Notice;

typedef struct {
  GPtrArray *rules;       /* of Rule, in file order */
  GPtrArray *by_priority; /* the same rules, highest priority first, file order among equals */
  GPtrArray *notices;     /* of Notice */
  GPtrArray *rule_ids;    /* of char*, NULL-terminated */
  GPtrArray *notice_ids;  /* of char*, NULL-terminated */
} RuleSet;

/* The rules, loaded on first use from whichever thread gets there first:
 * from the GResource, or from the file HERALD_DIAGNOSIS_RULES names (for
 * tests and for trying a rule without a rebuild). */
const RuleSet *_herald_rules_get (void);

/* Compiles every alternative of every rule's pattern (they are compiled on
 * first use otherwise): FALSE, with the rule named in @error, at the first
 * that does not compile. */
gboolean _herald_rules_compile_all (GError **error);

/* TRUE when @now (Unix seconds) is in [@valid_from, @valid_until). */
static inline gboolean
_herald_valid_at (gint64 valid_from,
                  gint64 valid_until,
                  gint64 now)
{
  return now >= valid_from && now < valid_until;
}

G_END_DECLS
