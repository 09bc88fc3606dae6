/* SPDX-License-Identifier: GPL-3.0-or-later
 * Copyright 2026 The Herald authors
 */
#define G_LOG_DOMAIN "herald-diagnosis"

#include "config.h"

#include <glib/gi18n-lib.h>
#include <stdlib.h>
#include <string.h>

#include "herald-diagnosis.h"
#include "herald-diagnosis-private.h"
#include "herald-rules-private.h"

/* ---------------------------------------------------------------------------
 * Enumerations
 * ------------------------------------------------------------------------- */

static const char *action_names[] = {
  NULL, "switch-to-oauth", "switch-to-tls", "switch-to-starttls", "use-port-587", "switch-to-graph",
};

const char *
herald_action_to_string (HeraldAction action)
{
  if ((guint) action < G_N_ELEMENTS (action_names))
    return action_names[action];
  return NULL;
}

gboolean
herald_action_from_string (const char   *name,
                           HeraldAction *action)
{
  g_return_val_if_fail (action != NULL, FALSE);

  for (guint i = 1; name != NULL && i < G_N_ELEMENTS (action_names); i++)
    if (g_str_equal (name, action_names[i]))
      {
        *action = (HeraldAction) i;
        return TRUE;
      }
  return FALSE;
}

const char *
herald_severity_to_string (HeraldSeverity severity)
{
  switch (severity)
    {
    case HERALD_SEVERITY_ERROR:   return "error";
    case HERALD_SEVERITY_WARNING: return "warning";
    case HERALD_SEVERITY_INFO:    return "info";
    default:                      return "error";
    }
}

const char *
herald_actor_to_string (HeraldActor actor)
{
  switch (actor)
    {
    case HERALD_ACTOR_YOU:        return "you";
    case HERALD_ACTOR_MAIL_ADMIN: return "mail-admin";
    case HERALD_ACTOR_PROVIDER:   return "provider";
    default:                      return "you";
    }
}

gboolean
herald_severity_from_string (const char     *name,
                             HeraldSeverity *severity)
{
  g_return_val_if_fail (severity != NULL, FALSE);

  for (HeraldSeverity v = HERALD_SEVERITY_ERROR; v <= HERALD_SEVERITY_INFO; v++)
    if (g_strcmp0 (herald_severity_to_string (v), name) == 0)
      {
        *severity = v;
        return TRUE;
      }
  return FALSE;
}

gboolean
herald_actor_from_string (const char  *name,
                          HeraldActor *actor)
{
  g_return_val_if_fail (actor != NULL, FALSE);

  for (HeraldActor a = HERALD_ACTOR_YOU; a <= HERALD_ACTOR_PROVIDER; a++)
    if (g_strcmp0 (herald_actor_to_string (a), name) == 0)
      {
        *actor = a;
        return TRUE;
      }
  return FALSE;
}

const char *
herald_actor_describe (HeraldActor actor)
{
  switch (actor)
    {
    case HERALD_ACTOR_YOU:        return _("You can fix this in Herald’s settings.");
    case HERALD_ACTOR_MAIL_ADMIN: return _("Your mail administrator must act.");
    case HERALD_ACTOR_PROVIDER:   return _("The mail provider or network owner must act.");
    default:                      return _("You can fix this in Herald’s settings.");
    }
}

/* ---------------------------------------------------------------------------
 * HeraldDiagnosis
 * ------------------------------------------------------------------------- */

static void
step_free (gpointer data)
{
  HeraldDiagnosisStep *step = data;

  g_free (step->text);
  g_free (step->command);
  g_free (step);
}

void
_herald_link_free (gpointer data)
{
  HeraldLink *link = data;

  g_free (link->title);
  g_free (link->url);
  g_free (link);
}

static HeraldDiagnosisStep *
step_new (const char *text,
          const char *command)
{
  HeraldDiagnosisStep *step = g_new0 (HeraldDiagnosisStep, 1);

  step->text = g_strdup (text);
  step->command = g_strdup (command);
  return step;
}

HeraldLink *
_herald_link_new (const char *title,
                  const char *url)
{
  HeraldLink *link = g_new0 (HeraldLink, 1);

  link->title = g_strdup (title);
  link->url = g_strdup (url);
  return link;
}

HeraldDiagnosis *
herald_diagnosis_new (void)
{
  HeraldDiagnosis *d = g_new0 (HeraldDiagnosis, 1);

  d->steps = g_ptr_array_new_with_free_func (step_free);
  d->links = g_ptr_array_new_with_free_func (_herald_link_free);
  return d;
}

void
herald_diagnosis_add_step (HeraldDiagnosis *diagnosis,
                           const char      *text,
                           const char      *command)
{
  g_return_if_fail (diagnosis != NULL);

  g_ptr_array_add (diagnosis->steps, step_new (text, command));
}

void
herald_diagnosis_add_link (HeraldDiagnosis *diagnosis,
                           const char      *title,
                           const char      *url)
{
  g_return_if_fail (diagnosis != NULL);

  g_ptr_array_add (diagnosis->links, _herald_link_new (title, url));
}

HeraldDiagnosis *
herald_diagnosis_copy (const HeraldDiagnosis *diagnosis)
{
  HeraldDiagnosis *copy;

  g_return_val_if_fail (diagnosis != NULL, NULL);

  copy = herald_diagnosis_new ();
  copy->id = g_strdup (diagnosis->id);
  copy->title = g_strdup (diagnosis->title);
  copy->explanation = g_strdup (diagnosis->explanation);
  copy->actor = diagnosis->actor;
  copy->severity = diagnosis->severity;
  copy->action = diagnosis->action;
  copy->alternative_action = diagnosis->alternative_action;
  copy->details = g_strdup (diagnosis->details);
  for (guint i = 0; diagnosis->steps != NULL && i < diagnosis->steps->len; i++)
    {
      const HeraldDiagnosisStep *step = g_ptr_array_index (diagnosis->steps, i);
      g_ptr_array_add (copy->steps, step_new (step->text, step->command));
    }
  for (guint i = 0; diagnosis->links != NULL && i < diagnosis->links->len; i++)
    {
      const HeraldLink *link = g_ptr_array_index (diagnosis->links, i);
      g_ptr_array_add (copy->links, _herald_link_new (link->title, link->url));
    }
  return copy;
}

void
herald_diagnosis_free (HeraldDiagnosis *diagnosis)
{
  if (diagnosis == NULL)
    return;

  g_free (diagnosis->id);
  g_free (diagnosis->title);
  g_free (diagnosis->explanation);
  g_free (diagnosis->details);
  g_clear_pointer (&diagnosis->steps, g_ptr_array_unref);
  g_clear_pointer (&diagnosis->links, g_ptr_array_unref);
  g_free (diagnosis);
}

gboolean
herald_diagnosis_is_fallback (const HeraldDiagnosis *diagnosis)
{
  g_return_val_if_fail (diagnosis != NULL, FALSE);

  return diagnosis->id == NULL || g_str_has_prefix (diagnosis->id, "fallback");
}

/* Exchange appends an earlier failure after "Error:" (e.g. 530 5.7.57 ... Error: 535 5.7.139 ...). */
DEFINE_REGEX (embedded_regex,
              "\\bError:\\s*([45][0-9][0-9])[ -]([245]\\.[0-9]{1,3}\\.[0-9]{1,3})\\s+(.+)$")

/* ---------------------------------------------------------------------------
 * Matching
 * ------------------------------------------------------------------------- */

typedef struct {
  HeraldStage              stage;       /* HERALD_N_STAGES: unknown */
  int                      code;        /* 0: unknown */
  int                      named_code;  /* a refusal code named without a reply, 0: none */
  int                      http_status; /* an HTTP status in the text, no reply code; 0: none */
  const char              *enhanced;
  const char              *raw;         /* the reply as received, or NULL */
  const char              *normalised;  /* NULL: no reply */
  const char              *lowered;     /* _herald_pattern_lower (normalised), or NULL */
  const GError            *error;
  guint                    tls_flags;
  int                      security;    /* -1: unknown */
  int                      port;        /* 0: unknown */
  const char              *server;      /* "host greeting", or NULL */
  guint                    auth;        /* AuthKind, 0: unknown */
  guint                    transport;   /* TransportKind, 0: unknown (a pasted text) */
  const char              *host;
  const HeraldSmtpConfig  *config;
  const HeraldSmtpResult  *result;
  gint64                   now;         /* Unix seconds: rules and steps are chosen for it */
} MatchContext;

static int
reply_class (const MatchContext *ctx)
{
  if (ctx->code >= 200 && ctx->code < 600)
    return ctx->code / 100;
  if (ctx->enhanced != NULL && ctx->enhanced[0] >= '2' && ctx->enhanced[0] <= '5')
    return ctx->enhanced[0] - '0';
  if (ctx->named_code >= 400 && ctx->named_code < 600)
    return ctx->named_code / 100;
  return 0;
}

/* A pasted text (transport unknown) that names @rule's transport in its
 * words (transport_words: Graph's SDK, "ODataError") and carries no SMTP
 * reply code. */
static gboolean
text_names_transport (const Rule         *rule,
                      const MatchContext *ctx)
{
  return ctx->transport == 0 && rule->transport_words != NULL && ctx->normalised != NULL &&
         ctx->code == 0 && ctx->enhanced == NULL &&
         g_regex_match (rule->transport_words, ctx->normalised, 0, NULL);
}

static gboolean
rule_matches (const Rule         *rule,
              const MatchContext *ctx)
{
  gboolean needs_reply = rule->codes != NULL || rule->classes != 0 ||
                         rule->enhanced != NULL || rule->pattern != NULL;

  if (!_herald_valid_at (rule->texts.valid_from, rule->texts.valid_until, ctx->now))
    return FALSE;

  /* A rule naming its transports matches those only. A rule that names
   * none was written for SMTP: over Graph (HTTPS to Microsoft) only its
   * words can still apply (an identity provider's AADSTS code, Graph's
   * error codes), never its reading of a GError, a certificate, a port,
   * a security mode or a bare code (HTTP 500 is no SMTP 500), and never
   * an SMTP fallback (Graph has its own). */
  /* A fallback of its own transport only: a pasted text (transport
   * unknown) gets the general ones, unless it names that transport. */
  if (rule->fallback && rule->transports != 0 && (rule->transports & ctx->transport) == 0 &&
      !text_names_transport (rule, ctx))
    return FALSE;
  if (ctx->transport != 0)
    {
      if (rule->transports != 0 && (rule->transports & ctx->transport) == 0)
        return FALSE;
      if (rule->transports == 0 && ctx->transport == TRANSPORT_KIND_GRAPH &&
          (rule->fallback || rule->pattern == NULL || rule->errors != NULL ||
           rule->tls_flags != 0 || rule->ports != NULL || rule->securities != 0 || rule->no_code))
        return FALSE;
    }

  if (rule->stages != 0 && ctx->stage < HERALD_N_STAGES && (rule->stages & (1u << ctx->stage)) == 0)
    return FALSE;

  if (needs_reply && ctx->normalised == NULL)
    return FALSE;

  if (rule->no_reply && ctx->normalised != NULL)
    return FALSE;

  if (rule->no_code && (ctx->code != 0 || ctx->enhanced != NULL))
    return FALSE;

  if (rule->codes != NULL)
    {
      gboolean found = FALSE;

      if (ctx->code == 0)
        /* A pasted text may carry only the enhanced code (.NET does this):
         * accept it when the rule has more specific evidence to check,
         * unless the text's status is HTTP's: "407 Proxy Authentication
         * Required" is no SMTP 530 in other words. A rule that names that
         * HTTP status among its codes (Graph's 502) still reads it. */
        found = (rule->pattern != NULL || rule->enhanced != NULL) &&
                (ctx->http_status == 0 || ctx->enhanced != NULL);
      for (guint i = 0; !found && ctx->code == 0 && ctx->http_status != 0 && i < rule->codes->len; i++)
        found = rule->pattern != NULL && g_array_index (rule->codes, int, i) == ctx->http_status;
      for (guint i = 0; !found && i < rule->codes->len; i++)
        found = g_array_index (rule->codes, int, i) == ctx->code;
      if (!found)
        return FALSE;
    }

  if (rule->classes != 0)
    {
      int klass = reply_class (ctx);

      if (klass == 0 || (rule->classes & (1u << klass)) == 0)
        return FALSE;
    }

  if (rule->enhanced != NULL &&
      (ctx->enhanced == NULL || !g_strv_contains ((const char * const *) rule->enhanced, ctx->enhanced)))
    return FALSE;

  if (rule->pattern != NULL && !_herald_pattern_match (rule->pattern, ctx->normalised, ctx->lowered))
    return FALSE;

  if (rule->errors != NULL)
    {
      gboolean found = FALSE;

      for (guint i = 0; !found && ctx->error != NULL && i < rule->errors->len; i++)
        {
          const ErrorKey *key = &g_array_index (rule->errors, ErrorKey, i);
          found = g_error_matches (ctx->error, key->domain, key->code);
        }
      if (!found)
        return FALSE;
    }

  if (rule->error_pattern != NULL &&
      (ctx->error == NULL || !g_regex_match (rule->error_pattern, ctx->error->message, 0, NULL)))
    return FALSE;

  if (rule->tls_flags != 0 && (ctx->tls_flags & rule->tls_flags) == 0)
    return FALSE;

  if (rule->securities != 0 && ctx->security >= 0 && (rule->securities & (1u << ctx->security)) == 0)
    return FALSE;

  if (rule->ports != NULL)
    {
      gboolean found = FALSE;

      for (guint i = 0; !found && i < rule->ports->len; i++)
        found = g_array_index (rule->ports, int, i) == ctx->port;
      if (!found)
        return FALSE;
    }

  /* A pasted text has no host: the provider may still name itself in its
   * reply, which the rule's server_words recognise. */
  if (rule->server != NULL && ctx->server != NULL && !g_regex_match (rule->server, ctx->server, 0, NULL))
    return FALSE;
  if (rule->server != NULL && ctx->server == NULL &&
      (rule->server_words == NULL || ctx->normalised == NULL ||
       !g_regex_match (rule->server_words, ctx->normalised, 0, NULL)))
    return FALSE;

  if (rule->auths != 0 && (rule->auths & ctx->auth) == 0)
    return FALSE;

  return TRUE;
}

/* The highest priority wins; among equals, the rule earlier in the file. */
static const Rule *
best_rule (const MatchContext *ctx)
{
  const RuleSet *set = _herald_rules_get ();

  /* In priority order the first rule that matches is the answer: the rules
   * below it are never tried (matching the patterns is most of the cost). */
  for (guint i = 0; i < set->by_priority->len; i++)
    {
      const Rule *rule = g_ptr_array_index (set->by_priority, i);

      if (rule_matches (rule, ctx))
        return rule;
    }
  return NULL;
}

/* ---------------------------------------------------------------------------
 * Building the diagnosis
 * ------------------------------------------------------------------------- */

/* A phrase that reads after "during": "during the login (AUTH)". */
static const char *
stage_phrase (HeraldStage stage)
{
  switch (stage)
    {
    case HERALD_STAGE_RESOLVE:  return _("the server name lookup");
    case HERALD_STAGE_CONNECT:  return _("the connection to the server");
    case HERALD_STAGE_GREETING: return _("the wait for the server’s greeting");
    case HERALD_STAGE_EHLO:     return _("the introduction to the server (EHLO)");
    case HERALD_STAGE_STARTTLS: return _("the request to start encryption (STARTTLS)");
    case HERALD_STAGE_TLS:      return _("the encryption set-up (TLS handshake)");
    case HERALD_STAGE_AUTH:     return _("the login (AUTH)");
    case HERALD_STAGE_MAIL:     return _("the sender address (MAIL FROM)");
    case HERALD_STAGE_RCPT:     return _("the recipient addresses (RCPT TO)");
    case HERALD_STAGE_DATA:     return _("the message transfer (DATA)");
    case HERALD_STAGE_QUIT:     return _("the end of the session (QUIT)");
    case HERALD_STAGE_DONE:     return _("the end of the test");
    case HERALD_N_STAGES:
    default:                    return _("a step the text does not name");
    }
}

static char *
user_reply (const MatchContext *ctx)
{
  g_autofree char *stripped = NULL;

  if (ctx->normalised == NULL)
    return NULL;
  stripped = _herald_strip_server_tag (ctx->normalised);
  if (ctx->code != 0)
    return g_strdup_printf ("%d %s", ctx->code, stripped);
  return g_steal_pointer (&stripped);
}

static char *
tls_error_list (const HeraldTlsInfo *tls)
{
  g_auto(GStrv) names = NULL;

  if (tls == NULL)
    return NULL;
  if (tls->errors != NULL && tls->errors[0] != NULL)
    return g_strjoinv (", ", tls->errors);
  if (tls->flags == 0)
    return NULL;
  names = herald_tls_flag_names (tls->flags);
  return g_strjoinv (", ", names);
}

/* Replaces {placeholders} in a rule's text. In commands, unknown values
 * become <placeholders> the user fills in; in prose they become words. */
static char *
expand (const char         *tmpl,
        const MatchContext *ctx,
        gboolean            command)
{
  const HeraldTlsInfo *tls = ctx->result ? ctx->result->tls : NULL;
  const char *unknown = _("unknown");
  GString *out;
  const char *p;

  if (tmpl == NULL)
    return NULL;

  out = g_string_new (NULL);
  for (p = tmpl; *p != '\0'; )
    {
      const char *close;
      g_autofree char *name = NULL;
      g_autofree char *value = NULL;

      if (*p != '{' || (close = strchr (p, '}')) == NULL || close - p > 20)
        {
          g_string_append_c (out, *p++);
          continue;
        }
      name = g_strndup (p + 1, close - p - 1);

      if (g_str_equal (name, "host"))
        value = g_strdup (ctx->host ? ctx->host : (command ? "<server>" : _("the server")));
      else if (g_str_equal (name, "port"))
        value = ctx->port > 0 ? g_strdup_printf ("%d", ctx->port)
                              : g_strdup (command ? "<port>" : _("the port"));
      else if (g_str_equal (name, "server"))
        {
          if (ctx->host != NULL && ctx->port > 0)
            value = g_strdup_printf ("%s:%d", ctx->host, ctx->port);
          else
            value = g_strdup (ctx->host ? ctx->host : _("the server"));
        }
      else if (g_str_equal (name, "user"))
        value = g_strdup (ctx->config && ctx->config->username && *ctx->config->username
                          ? ctx->config->username : "<mailbox>");
      else if (g_str_equal (name, "from"))
        value = g_strdup (ctx->config && ctx->config->from && *ctx->config->from
                          ? ctx->config->from : "<from-address>");
      else if (g_str_equal (name, "stage"))
        value = g_strdup (stage_phrase (ctx->stage));
      else if (g_str_equal (name, "reply"))
        {
          value = user_reply (ctx);
          if (value == NULL)
            value = g_strdup (_("no reply"));
        }
      else if (g_str_equal (name, "message"))
        {
          value = user_reply (ctx);
          if (value == NULL && ctx->error != NULL)
            value = g_strdup (ctx->error->message);
          if (value == NULL)
            value = g_strdup (_("none"));
        }
      else if (g_str_equal (name, "code"))
        value = ctx->code ? g_strdup_printf ("%d", ctx->code) : g_strdup (unknown);
      else if (g_str_equal (name, "enhanced"))
        value = g_strdup (ctx->enhanced ? ctx->enhanced : unknown);
      else if (g_str_equal (name, "error"))
        value = g_strdup (ctx->error ? ctx->error->message : _("no error message"));
      else if (g_str_equal (name, "security"))
        value = g_strdup (ctx->security >= 0 ? herald_security_to_string (ctx->security) : unknown);
      else if (g_str_equal (name, "subject"))
        value = g_strdup (tls && tls->subject ? tls->subject : unknown);
      else if (g_str_equal (name, "issuer"))
        value = g_strdup (tls && tls->issuer ? tls->issuer : unknown);
      else if (g_str_equal (name, "not_before"))
        value = g_strdup (tls && tls->not_before ? tls->not_before : unknown);
      else if (g_str_equal (name, "not_after"))
        value = g_strdup (tls && tls->not_after ? tls->not_after : unknown);
      else if (g_str_equal (name, "sha256"))
        value = g_strdup (tls && tls->sha256 ? tls->sha256 : unknown);
      else if (g_str_equal (name, "tls_version"))
        value = g_strdup (tls && tls->version ? tls->version : unknown);
      else if (g_str_equal (name, "tls_errors"))
        {
          value = tls_error_list (tls);
          if (value == NULL)
            value = g_strdup (unknown);
        }

      if (value == NULL)
        {
          /* Not a placeholder: keep the brace (e.g. JSON in a reply). */
          g_string_append_c (out, *p++);
          continue;
        }
      g_string_append (out, value);
      p = close + 1;
    }

  return g_string_free (out, FALSE);
}

static char *
build_details (const MatchContext *ctx,
               const char         *rule_id,
               const char         *embedded)
{
  GString *out = g_string_new (NULL);
  const HeraldSmtpResult *result = ctx->result;

  g_string_append_printf (out, "%s: %s\n", _("Rule"), rule_id);
  if (ctx->stage < HERALD_N_STAGES)
    g_string_append_printf (out, "%s: %s\n", _("Stage"), herald_stage_to_string (ctx->stage));
  if (ctx->host != NULL)
    {
      if (ctx->port > 0)
        g_string_append_printf (out, "%s: %s:%d\n", _("Server"), ctx->host, ctx->port);
      else
        g_string_append_printf (out, "%s: %s\n", _("Server"), ctx->host);
    }
  if (result != NULL && result->remote_address != NULL)
    g_string_append_printf (out, "%s: %s\n", _("Address"), result->remote_address);
  if (result != NULL && result->greeting != NULL)
    g_string_append_printf (out, "%s: %s\n", _("Greeting"), result->greeting);
  if (ctx->raw != NULL)
    g_string_append_printf (out, "%s:\n%s\n", _("Server reply"), ctx->raw);
  if (embedded != NULL)
    g_string_append_printf (out, "%s: %s\n", _("Classified by the embedded reply"), embedded);
  if (ctx->error != NULL)
    g_string_append_printf (out, "%s: %s (%s %d)\n", _("Error"), ctx->error->message,
                            g_quark_to_string (ctx->error->domain), ctx->error->code);
  if (result != NULL && result->tls != NULL)
    {
      const HeraldTlsInfo *tls = result->tls;
      g_autofree char *errors = tls_error_list (tls);

      if (tls->version)
        g_string_append_printf (out, "%s: %s\n", _("TLS version"), tls->version);
      if (tls->subject)
        g_string_append_printf (out, "%s: %s\n", _("Certificate subject"), tls->subject);
      if (tls->issuer)
        g_string_append_printf (out, "%s: %s\n", _("Certificate issuer"), tls->issuer);
      if (tls->not_before)
        g_string_append_printf (out, "%s: %s\n", _("Valid from"), tls->not_before);
      if (tls->not_after)
        g_string_append_printf (out, "%s: %s\n", _("Valid until"), tls->not_after);
      if (tls->sha256)
        g_string_append_printf (out, "%s: %s\n", _("SHA-256 fingerprint"), tls->sha256);
      if (errors)
        g_string_append_printf (out, "%s: %s\n", _("Certificate problems"), errors);
    }

  if (out->len > 0 && out->str[out->len - 1] == '\n')
    g_string_truncate (out, out->len - 1);
  return g_string_free (out, FALSE);
}

static HeraldDiagnosis *
diagnosis_from_texts (const char         *id,
                      const Texts        *texts,
                      const MatchContext *ctx)
{
  HeraldDiagnosis *d = herald_diagnosis_new ();

  d->id = g_strdup (id);
  d->title = expand (texts->title, ctx, FALSE);
  d->explanation = expand (texts->explanation, ctx, FALSE);
  d->actor = texts->actor;
  d->severity = texts->severity;
  d->action = texts->action;
  d->alternative_action = texts->alternative_action;
  for (guint i = 0; texts->steps != NULL && i < texts->steps->len; i++)
    {
      const StepTemplate *tmpl = g_ptr_array_index (texts->steps, i);
      HeraldDiagnosisStep *step;

      if (!_herald_valid_at (tmpl->valid_from, tmpl->valid_until, ctx->now))
        continue;
      step = g_new0 (HeraldDiagnosisStep, 1);

      step->text = expand (tmpl->text, ctx, FALSE);
      step->command = expand (tmpl->command, ctx, TRUE);
      g_ptr_array_add (d->steps, step);
    }
  for (guint i = 0; texts->links != NULL && i < texts->links->len; i++)
    {
      const HeraldLink *link = g_ptr_array_index (texts->links, i);
      g_ptr_array_add (d->links, _herald_link_new (link->title, link->url));
    }
  return d;
}

/* Used only when the rules file could not be loaded at all (a broken
 * build): still say something true. */
static HeraldDiagnosis *
builtin_fallback (const MatchContext *ctx)
{
  HeraldDiagnosis *d = herald_diagnosis_new ();
  g_autofree char *reply = user_reply (ctx);

  d->id = g_strdup ("fallback-builtin");
  d->title = g_strdup (_("The test failed"));
  d->explanation = g_strdup_printf (_("The test failed during %s. Server reply: %s"),
                                    stage_phrase (ctx->stage), reply ? reply : _("no reply"));
  d->actor = HERALD_ACTOR_YOU;
  d->severity = HERALD_SEVERITY_ERROR;
  return d;
}

/* The diagnosis for @ctx; @used (may be NULL) is set to the rule that gave
 * it (NULL: the built-in fallback). */
static HeraldDiagnosis *
diagnose_context (const MatchContext  *ctx,
                  const Rule         **used)
{
  const Rule *rule = NULL;
  g_autofree char *embedded_desc = NULL;
  HeraldDiagnosis *d;

  /* Exchange Online quirk: "530 5.7.57 Client not authenticated ... Error:
   * 535 5.7.139 ..." carries the real (earlier) AUTH failure; classify by it
   * when a specific rule knows it at least as precisely as the outer reply. */
  if (ctx->normalised != NULL)
    {
      g_autoptr(GMatchInfo) match = NULL;

      if (g_regex_match (embedded_regex (), ctx->normalised, 0, &match))
        {
          g_autofree char *code = g_match_info_fetch (match, 1);
          g_autofree char *enhanced = g_match_info_fetch (match, 2);
          g_autofree char *rest = g_match_info_fetch (match, 3);
          g_autofree char *normalised = g_strdup_printf ("%s %s", enhanced, rest);
          g_autofree char *lowered = _herald_pattern_lower (normalised);
          MatchContext inner = *ctx;
          const Rule *candidate, *outer;

          inner.code = atoi (code);
          inner.enhanced = enhanced;
          inner.normalised = normalised;
          inner.lowered = lowered;
          inner.stage = HERALD_STAGE_AUTH;
          candidate = best_rule (&inner);
          outer = best_rule (ctx);
          if (candidate != NULL && !candidate->fallback &&
              (outer == NULL || candidate->priority >= outer->priority))
            {
              g_autofree char *shown = g_strdup_printf ("%s %s", code, normalised);

              rule = candidate;
              embedded_desc = _herald_strip_server_tag (shown);
            }
        }
    }

  if (rule == NULL)
    rule = best_rule (ctx);
  if (rule == NULL)
    d = builtin_fallback (ctx);
  else
    d = diagnosis_from_texts (rule->id, &rule->texts, ctx);

  d->details = build_details (ctx, d->id, embedded_desc);
  if (used != NULL)
    *used = rule;
  return d;
}

static guint
auth_kind (const HeraldSmtpConfig *config,
           const HeraldSmtpResult *result)
{
  if (result != NULL && result->auth_used != NULL)
    {
      if (g_ascii_strcasecmp (result->auth_used, "XOAUTH2") == 0 ||
          g_ascii_strcasecmp (result->auth_used, "OAUTHBEARER") == 0)
        return AUTH_KIND_OAUTH;
      return AUTH_KIND_PASSWORD;
    }
  if (config == NULL)
    return 0;
  switch (config->auth)
    {
    case HERALD_AUTH_NONE:
      return AUTH_KIND_NONE;
    case HERALD_AUTH_XOAUTH2:
    case HERALD_AUTH_OAUTHBEARER:
      return AUTH_KIND_OAUTH;
    case HERALD_AUTH_PLAIN:
    case HERALD_AUTH_LOGIN:
      return AUTH_KIND_PASSWORD;
    case HERALD_AUTH_AUTO:
    default:
      if (config->oauth_token != NULL && *config->oauth_token != '\0')
        return AUTH_KIND_OAUTH;
      if (config->password != NULL && *config->password != '\0')
        return AUTH_KIND_PASSWORD;
      if (config->username == NULL || *config->username == '\0')
        return AUTH_KIND_NONE;
      return AUTH_KIND_PASSWORD;
    }
}

static guint
transport_kind (const char *transport)
{
  if (g_strcmp0 (transport, "graph") == 0)
    return TRANSPORT_KIND_GRAPH;
  return TRANSPORT_KIND_SMTP;
}

static HeraldDiagnosis *explain_text (const char  *text,
                                      HeraldStage  stage,
                                      const char  *host,
                                      guint        transport,
                                      HeraldExplanation **out,
                                      const Rule **used);

HeraldDiagnosis *
herald_diagnose (const HeraldSmtpResult *result,
                 const HeraldSmtpConfig *config)
{
  return herald_diagnose_transport (result, config, "smtp");
}

HeraldDiagnosis *
herald_diagnose_transport (const HeraldSmtpResult *result,
                           const HeraldSmtpConfig *config,
                           const char             *transport)
{
  MatchContext ctx = { 0, };
  g_autofree char *normalised = NULL;
  g_autofree char *lowered = NULL;
  g_autofree char *server = NULL;
  HeraldDiagnosis *diagnosis;

  g_return_val_if_fail (result != NULL, NULL);

  if (result->ok)
    return NULL;

  ctx.now = _herald_diagnosis_now ();
  ctx.stage = result->stage;
  ctx.result = result;
  ctx.config = config;
  ctx.error = result->error;
  ctx.security = config ? (int) config->security : -1;
  ctx.port = config ? config->port : 0;
  ctx.host = config ? config->host : NULL;
  ctx.auth = auth_kind (config, result);
  ctx.transport = transport_kind (transport);
  ctx.tls_flags = result->tls ? result->tls->flags : 0;
  /* The last reply explains the failure only when it is not a success: after
   * a "220 Ready to start TLS" the certificate check can still fail, and a
   * stale 2xx reply must not be matched (or quoted) as the cause. A 334 stays:
   * Gmail's XOAUTH2 error report comes as one. */
  if (result->reply != NULL && result->reply->code >= 300)
    {
      const char *raw = result->reply->raw ? result->reply->raw : result->reply->text;

      ctx.code = result->reply->code;
      ctx.enhanced = result->reply->enhanced;
      ctx.raw = raw;
      normalised = _herald_normalise_reply (raw);
      lowered = _herald_pattern_lower (normalised);
      ctx.normalised = normalised;
      ctx.lowered = lowered;
    }
  if (ctx.host != NULL || result->greeting != NULL)
    server = g_strjoin (" ", ctx.host ? ctx.host : "", result->greeting ? result->greeting : "", NULL);
  ctx.server = server;

  diagnosis = diagnose_context (&ctx, NULL);

  /* Only the fallback matched: the error's own words may still name the
   * cause. A failed OAuth sign-in carries the identity provider's codes
   * (AADSTS…, invalid_grant) in its message, and a wrapper's message the
   * reply it got; the text rules know those. */
  if (herald_diagnosis_is_fallback (diagnosis) && result->error != NULL &&
      result->error->message != NULL && *result->error->message != '\0')
    {
      const Rule *by_text_rule = NULL;
      g_autoptr(HeraldDiagnosis) by_text = explain_text (result->error->message, result->stage,
                                                         ctx.host, ctx.transport, NULL,
                                                         &by_text_rule);

      /* A program's own words (a no_code rule) say less than the server's
       * refusal that came with them: after "451 4.3.0 queue file write
       * error" the hang-up Herald reports is no cause. */
      if (!herald_diagnosis_is_fallback (by_text) &&
          !(ctx.normalised != NULL && by_text_rule != NULL && by_text_rule->no_code))
        {
          herald_diagnosis_free (diagnosis);
          diagnosis = g_steal_pointer (&by_text);
        }
    }

  return diagnosis;
}

void
herald_explanation_free (HeraldExplanation *explanation)
{
  if (explanation == NULL)
    return;
  g_clear_pointer (&explanation->diagnosis, herald_diagnosis_free);
  g_free (explanation->enhanced);
  g_free (explanation->reply);
  g_free (explanation);
}

HeraldExplanation *
herald_explain (const char  *text,
                HeraldStage  stage,
                const char  *host)
{
  HeraldExplanation *explanation = NULL;

  g_return_val_if_fail (text != NULL, NULL);

  explain_text (text, stage, host, 0, &explanation, NULL);
  return explanation;
}

/* The rules' band for the identity provider's sign-in errors (see the
 * rules file's _doc). */
#define IDENTITY_PRIORITY_MIN 750
#define IDENTITY_PRIORITY_MAX 799

/* A pasted text that says the program logged in with OAuth (it sent "AUTH
 * XOAUTH2", a wrapper's "Authenticator XOAUTH2 returned ...", Postfix's
 * sasl-xoauth2) tells the login kind, as a test's configuration would: a bare
 * "535 5.7.3 Authentication unsuccessful" after XOAUTH2 is about the token.
 * A server that merely offers XOAUTH2 ("250-AUTH XOAUTH2 PLAIN LOGIN") says
 * nothing about the login the client chose. */
DEFINE_REGEX (oauth_login_regex,
              "(?<![0-9][- ])\\bAUTH\\s+(?:XOAUTH2|OAUTHBEARER)\\b|"
              "\\bAuthenticator\\s+(?:XOAUTH2|OAUTHBEARER)\\b|\\bsasl-xoauth2\\b|"
              "\\b(?:XOAUTH2|OAUTHBEARER)\\s+(?:authentication|auth|login)\\s+failed\\b|"
              "\\busing\\s+(?:XOAUTH2|OAUTHBEARER)\\b|"
              /* MailKit's OAuth mechanisms, JavaMail's mechanism setting. */
              "\\bSaslMechanismOAuth(?:2|Bearer)\\b|"
              "\\bauth\\.mechanisms[\"']?\\s*[=:,]\\s*[\"']?(?:XOAUTH2|OAUTHBEARER)\\b|"
              /* Gmail's error challenge, base64 JSON, answers only an OAuth login. */
              "\\b334[- ]+eyJ")

/* herald_explain() for a known @transport (0: unknown, any rule). Returns
 * the diagnosis, or with @out the whole explanation (then NULL); @used, when
 * not NULL, is set to the rule that answered (NULL: the built-in fallback). */
static HeraldDiagnosis *
explain_text (const char          *text,
              HeraldStage          stage,
              const char          *host,
              guint                transport,
              HeraldExplanation  **out,
              const Rule         **used)
{
  g_autoptr(HeraldExtractedReply) extracted = NULL;
  g_autofree char *clean = NULL;
  HeraldExplanation *explanation;
  MatchContext ctx = { 0, };
  const Rule *answered = NULL;
  HeraldDiagnosis *d;

  /* Over Microsoft Graph (or a text from it), an HTTP status is the reply's
   * code; elsewhere it is no SMTP reply code. */
  extracted = _herald_extract_reply_for (text, transport == TRANSPORT_KIND_GRAPH ||
                                               (host != NULL && g_str_has_suffix (host, "graph.microsoft.com")));
  /* The whole text is read as a reply is: printable, and no more than a
   * reply can hold. */
  clean = _herald_printable_text (text, HERALD_DIAGNOSIS_MAX_TEXT);
  /* The step given (heraldctl explain --stage) wins over the one the text names. */
  ctx.stage = stage < HERALD_N_STAGES ? stage : extracted->stage;
  ctx.code = extracted->code;
  ctx.named_code = extracted->named_code;
  ctx.http_status = extracted->http_status;
  ctx.enhanced = extracted->enhanced;
  ctx.raw = extracted->reply;
  ctx.normalised = extracted->normalised;
  ctx.security = -1;
  ctx.host = host;
  ctx.server = host;
  ctx.transport = transport;
  ctx.now = _herald_diagnosis_now ();
  if (g_regex_match (oauth_login_regex (), clean, 0, NULL))
    ctx.auth = AUTH_KIND_OAUTH;

  d = diagnose_context (&ctx, &answered);
  {
    /* The part taken as the reply can miss the refusal: an HTTP status or
     * a trace ID in another program's words looks like a reply code, and
     * identity-platform (AADSTS) or Graph errors carry no SMTP reply at
     * all. When that part explains nothing, match the words of the whole
     * text once more; only a specific rule may answer then. The code
     * found stays, so that a rule for texts without any code (a
     * program's own "connection timed out") cannot take a server's
     * "451 4.4.1 Connection timed out" this way.
     *
     * The identity provider's refusal also outranks the SMTP reply that
     * followed it: a program that could not get a token ("invalid_grant:
     * AADSTS50173 ...") and then failed the login ("535 5.7.3 ...") must
     * sign in again, whatever the server said to the stale token. */
    g_autofree char *whole_normalised = _herald_normalise_reply (clean);
    g_autofree char *whole_lowered = _herald_pattern_lower (whole_normalised);
    MatchContext whole = ctx;
    const Rule *rule;
    gboolean use_whole = FALSE;

    whole.raw = clean;
    whole.normalised = whole_normalised;
    whole.lowered = whole_lowered;
    rule = best_rule (&whole);
    if (rule != NULL && !rule->fallback)
      {
        if (herald_diagnosis_is_fallback (d))
          use_whole = TRUE;
        else if (rule->priority >= IDENTITY_PRIORITY_MIN && rule->priority <= IDENTITY_PRIORITY_MAX)
          use_whole = answered != NULL && rule->priority > answered->priority;
      }
    if (use_whole)
      {
        herald_diagnosis_free (d);
        d = diagnose_context (&whole, &answered);
      }
  }

  if (used != NULL)
    *used = answered;

  explanation = g_new0 (HeraldExplanation, 1);
  explanation->diagnosis = d;
  explanation->stage = ctx.stage;
  explanation->code = extracted->code;
  explanation->enhanced = g_steal_pointer (&extracted->enhanced);
  explanation->reply = g_strdup (extracted->normalised ? extracted->normalised : "");
  if (out == NULL)
    {
      d = g_steal_pointer (&explanation->diagnosis);
      herald_explanation_free (explanation);
      return d;
    }
  *out = explanation;
  return NULL;
}

HeraldDiagnosis *
herald_diagnose_text (const char  *text,
                      HeraldStage  stage,
                      const char  *host)
{
  g_autoptr(HeraldExplanation) explanation = NULL;

  g_return_val_if_fail (text != NULL, NULL);

  explanation = herald_explain (text, stage, host);
  return g_steal_pointer (&explanation->diagnosis);
}

/* ---------------------------------------------------------------------------
 * Notices
 * ------------------------------------------------------------------------- */

DEFINE_REGEX (microsoft_host_regex, "^smtp(-legacy)?\\.office365\\.com\\.?$")
DEFINE_REGEX (microsoft_greeting_regex, "\\b(outlook\\.com|office365\\.com)\\b.*Microsoft ESMTP|"
                                        "Microsoft ESMTP.*\\b(outlook\\.com|office365\\.com)\\b")
DEFINE_REGEX (google_host_regex, "^(smtp|smtp-relay)\\.(gmail|googlemail)\\.com\\.?$")
DEFINE_REGEX (google_greeting_regex, "\\bgsmtp\\b|\\bsmtp\\.gmail\\.com\\b")
DEFINE_REGEX (public_provider_regex,
              "(^|\\.)(office365\\.com|outlook\\.com|gmail\\.com|googlemail\\.com|"
              "mail\\.yahoo\\.com|aol\\.com|mail\\.me\\.com|zoho\\.[a-z.]+|sendgrid\\.net|"
              "mailgun\\.org|amazonaws\\.com|fastmail\\.com|gmx\\.[a-z]+|mail\\.com|"
              "ionos\\.[a-z]+|1and1\\.[a-z]+|mailjet\\.com|sparkpostmail\\.com|postmarkapp\\.com|"
              "smtp2go\\.com|brevo\\.com|sendinblue\\.com|azurecomm\\.net)\\.?$")

DEFINE_REGEX (yahoo_host_regex, "(^|\\.)(mail\\.yahoo\\.com|yahoo\\.com)\\.?$")
DEFINE_REGEX (icloud_host_regex, "(^|\\.)(mail\\.me\\.com|icloud\\.com)\\.?$")

static gboolean
is_microsoft (const HeraldSmtpConfig *config,
              const HeraldSmtpResult *result)
{
  if (config != NULL && config->host != NULL &&
      g_regex_match (microsoft_host_regex (), config->host, 0, NULL))
    return TRUE;
  return result != NULL && result->greeting != NULL &&
         g_regex_match (microsoft_greeting_regex (), result->greeting, 0, NULL);
}

static gboolean
is_google (const HeraldSmtpConfig *config,
           const HeraldSmtpResult *result)
{
  if (config != NULL && config->host != NULL &&
      g_regex_match (google_host_regex (), config->host, 0, NULL))
    return TRUE;
  return result != NULL && result->greeting != NULL &&
         g_regex_match (google_greeting_regex (), result->greeting, 0, NULL);
}

/* "Name <a@b>" -> "a@b". */
static char *
bare_address (const char *address)
{
  const char *lt = strrchr (address, '<');
  const char *gt = lt ? strchr (lt, '>') : NULL;

  if (lt != NULL && gt != NULL)
    return g_strstrip (g_strndup (lt + 1, gt - lt - 1));
  return g_strstrip (g_strdup (address));
}

static void
add_notice (GPtrArray              *notices,
            const char             *id,
            const HeraldSmtpConfig *config,
            const HeraldSmtpResult *result)
{
  const RuleSet *set = _herald_rules_get ();
  MatchContext ctx = { 0, };
  gboolean known = FALSE;

  ctx.now = _herald_diagnosis_now ();
  ctx.stage = result ? result->stage : HERALD_N_STAGES;
  ctx.config = config;
  ctx.result = result;
  ctx.security = config ? (int) config->security : -1;
  ctx.port = config ? config->port : 0;
  ctx.host = config ? config->host : NULL;

  for (guint i = 0; i < set->notices->len; i++)
    {
      const Notice *notice = g_ptr_array_index (set->notices, i);

      known = known || g_str_equal (notice->id, id);

      /* A notice may have one wording per period: the one valid now. */
      if (g_str_equal (notice->id, id) &&
          _herald_valid_at (notice->texts.valid_from, notice->texts.valid_until, ctx.now))
        {
          g_ptr_array_add (notices, diagnosis_from_texts (notice->id, &notice->texts, &ctx));
          return;
        }
    }
  /* A notice whose last wording has expired is simply no longer shown. */
  if (!known)
    g_critical ("diagnosis-rules.json has no notice “%s”", id);
}

GPtrArray *
herald_notices (const HeraldSmtpConfig *config,
                const HeraldSmtpResult *result)
{
  GPtrArray *notices = g_ptr_array_new_with_free_func ((GDestroyNotify) herald_diagnosis_free);
  gboolean microsoft, google;
  guint auth;

  if (config == NULL)
    return notices;

  microsoft = is_microsoft (config, result);
  google = is_google (config, result);
  auth = auth_kind (config, result);

  /* Password SMTP AUTH against Exchange Online: shown even on success,
   * because Microsoft turns Basic auth off by default at the end of 2026. */
  if (microsoft && auth == AUTH_KIND_PASSWORD)
    add_notice (notices, "exo-basic-auth-retirement", config, result);

  if ((microsoft || google) && auth != AUTH_KIND_NONE &&
      config->username != NULL && *config->username != '\0' &&
      config->from != NULL && *config->from != '\0')
    {
      g_autofree char *from = bare_address (config->from);
      g_autofree char *user = bare_address (config->username);

      if (strchr (user, '@') != NULL && g_ascii_strcasecmp (from, user) != 0)
        add_notice (notices, microsoft ? "exo-from-differs" : "gmail-from-differs", config, result);
    }

  if (config->port == 465 && config->security == HERALD_SECURITY_STARTTLS)
    add_notice (notices, "port-465-starttls", config, result);
  else if (config->port == 587 && config->security == HERALD_SECURITY_TLS)
    add_notice (notices, "port-587-implicit-tls", config, result);

  /* Say what the form says: "Authentication is off" only when it is set
   * to None; Automatic without a username logs in as nobody, and the way
   * out is the username, not the Authentication row. */
  if (auth == AUTH_KIND_NONE && config->host != NULL &&
      g_regex_match (public_provider_regex (), config->host, 0, NULL))
    add_notice (notices, config->auth == HERALD_AUTH_NONE ? "no-auth-public-provider"
                                                          : "no-username-public-provider",
                config, result);

  /* Gmail, Yahoo and iCloud take an app-specific password, never the
   * account's own: said before the first test, with where to make one. */
  if (auth != AUTH_KIND_OAUTH && config->auth != HERALD_AUTH_NONE && config->host != NULL)
    {
      /* Google's SMTP relay for Workspace admits by address, not by app password. */
      if (google && g_ascii_strncasecmp (config->host, "smtp-relay.", 11) != 0)
        add_notice (notices, "app-password-google", config, result);
      else if (g_regex_match (yahoo_host_regex (), config->host, 0, NULL))
        add_notice (notices, "app-password-yahoo", config, result);
      else if (g_regex_match (icloud_host_regex (), config->host, 0, NULL))
        add_notice (notices, "app-password-icloud", config, result);
    }

  if (result != NULL && result->tls != NULL && result->tls->version != NULL &&
      (strstr (result->tls->version, "1.0") != NULL || strstr (result->tls->version, "1.1") != NULL ||
       g_str_has_prefix (result->tls->version, "SSL")))
    add_notice (notices, "tls-version-old", config, result);

  return notices;
}
