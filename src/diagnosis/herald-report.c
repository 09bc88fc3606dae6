/* SPDX-License-Identifier: GPL-3.0-or-later
 * Copyright 2026 The Herald authors
 */
#define G_LOG_DOMAIN "herald-report"

#include "config.h"

#include <glib/gi18n-lib.h>

#include "herald-report.h"

static void
add_string_or_null (JsonBuilder *builder,
                    const char  *member,
                    const char  *value)
{
  json_builder_set_member_name (builder, member);
  if (value != NULL)
    json_builder_add_string_value (builder, value);
  else
    json_builder_add_null_value (builder);
}

static char *
step_string (const HeraldDiagnosisStep *step)
{
  if (step->command != NULL && *step->command != '\0')
    return g_strdup_printf ("%s\n%s", step->text, step->command);
  return g_strdup (step->text);
}

static void
build_diagnosis (JsonBuilder           *builder,
                 const HeraldDiagnosis *d)
{
  json_builder_begin_object (builder);
  add_string_or_null (builder, "id", d->id);
  add_string_or_null (builder, "title", d->title);
  add_string_or_null (builder, "explanation", d->explanation);
  add_string_or_null (builder, "actor", herald_actor_to_string (d->actor));
  json_builder_set_member_name (builder, "steps");
  json_builder_begin_array (builder);
  for (guint i = 0; d->steps != NULL && i < d->steps->len; i++)
    {
      g_autofree char *str = step_string (g_ptr_array_index (d->steps, i));
      json_builder_add_string_value (builder, str);
    }
  json_builder_end_array (builder);
  json_builder_set_member_name (builder, "links");
  json_builder_begin_array (builder);
  for (guint i = 0; d->links != NULL && i < d->links->len; i++)
    {
      const HeraldLink *link = g_ptr_array_index (d->links, i);

      json_builder_begin_object (builder);
      add_string_or_null (builder, "title", link->title);
      add_string_or_null (builder, "url", link->url);
      json_builder_end_object (builder);
    }
  json_builder_end_array (builder);
  add_string_or_null (builder, "severity", herald_severity_to_string (d->severity));
  add_string_or_null (builder, "details", d->details);
  json_builder_end_object (builder);
}

JsonNode *
herald_diagnosis_to_json (const HeraldDiagnosis *d)
{
  g_autoptr(JsonBuilder) builder = NULL;

  if (d == NULL)
    return json_node_new (JSON_NODE_NULL);

  builder = json_builder_new ();
  build_diagnosis (builder, d);
  return json_builder_get_root (builder);
}

JsonNode *
herald_explanation_to_json (const HeraldExplanation *explanation)
{
  g_autoptr(JsonBuilder) builder = NULL;

  g_return_val_if_fail (explanation != NULL, NULL);

  builder = json_builder_new ();
  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "matched");
  json_builder_add_boolean_value (builder, !herald_diagnosis_is_fallback (explanation->diagnosis));
  add_string_or_null (builder, "stage", explanation->stage < HERALD_N_STAGES
                                        ? herald_stage_to_string (explanation->stage) : NULL);

  json_builder_set_member_name (builder, "reply");
  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "code");
  if (explanation->code != 0)
    json_builder_add_int_value (builder, explanation->code);
  else
    json_builder_add_null_value (builder);
  add_string_or_null (builder, "enhanced", explanation->enhanced);
  add_string_or_null (builder, "text", explanation->reply ? explanation->reply : "");
  json_builder_end_object (builder);

  json_builder_set_member_name (builder, "diagnosis");
  build_diagnosis (builder, explanation->diagnosis);
  json_builder_end_object (builder);
  return json_builder_get_root (builder);
}

static gboolean
tls_has_certificate (const HeraldTlsInfo *tls)
{
  return tls->subject != NULL || tls->issuer != NULL || tls->not_before != NULL ||
         tls->not_after != NULL || tls->sha256 != NULL;
}

JsonNode *
herald_result_to_json (const HeraldSmtpResult *r,
                       const HeraldDiagnosis  *d,
                       GPtrArray              *notices)
{
  g_autoptr(JsonBuilder) builder = NULL;

  g_return_val_if_fail (r != NULL, NULL);

  builder = json_builder_new ();
  json_builder_begin_object (builder);

  json_builder_set_member_name (builder, "ok");
  json_builder_add_boolean_value (builder, r->ok);
  add_string_or_null (builder, "stage",
                      r->stage < HERALD_N_STAGES ? herald_stage_to_string (r->stage) : NULL);
  add_string_or_null (builder, "error", r->error ? r->error->message : NULL);

  json_builder_set_member_name (builder, "reply");
  if (r->reply != NULL)
    {
      json_builder_begin_object (builder);
      json_builder_set_member_name (builder, "code");
      json_builder_add_int_value (builder, r->reply->code);
      add_string_or_null (builder, "enhanced", r->reply->enhanced);
      add_string_or_null (builder, "text", r->reply->text ? r->reply->text : "");
      json_builder_end_object (builder);
    }
  else
    json_builder_add_null_value (builder);

  json_builder_set_member_name (builder, "diagnosis");
  if (d != NULL)
    build_diagnosis (builder, d);
  else
    json_builder_add_null_value (builder);

  json_builder_set_member_name (builder, "notices");
  json_builder_begin_array (builder);
  for (guint i = 0; notices != NULL && i < notices->len; i++)
    build_diagnosis (builder, g_ptr_array_index (notices, i));
  json_builder_end_array (builder);

  json_builder_set_member_name (builder, "tls");
  if (r->tls != NULL)
    {
      json_builder_begin_object (builder);
      add_string_or_null (builder, "version", r->tls->version);
      json_builder_set_member_name (builder, "certificate");
      /* A handshake can fail before the server's certificate arrives (TLS
       * against a plain-text port): then there is no certificate, not a
       * certificate whose fields are all unknown. */
      if (tls_has_certificate (r->tls))
        {
          json_builder_begin_object (builder);
          add_string_or_null (builder, "subject", r->tls->subject);
          add_string_or_null (builder, "issuer", r->tls->issuer);
          add_string_or_null (builder, "not_before", r->tls->not_before);
          add_string_or_null (builder, "not_after", r->tls->not_after);
          add_string_or_null (builder, "sha256", r->tls->sha256);
          json_builder_end_object (builder);
        }
      else
        json_builder_add_null_value (builder);
      json_builder_set_member_name (builder, "errors");
      json_builder_begin_array (builder);
      for (guint i = 0; r->tls->errors != NULL && r->tls->errors[i] != NULL; i++)
        json_builder_add_string_value (builder, r->tls->errors[i]);
      json_builder_end_array (builder);
      json_builder_end_object (builder);
    }
  else
    json_builder_add_null_value (builder);

  json_builder_set_member_name (builder, "transcript");
  json_builder_begin_array (builder);
  for (guint i = 0; r->transcript != NULL && i < r->transcript->len; i++)
    {
      const HeraldTranscriptEntry *entry = g_ptr_array_index (r->transcript, i);

      json_builder_begin_object (builder);
      add_string_or_null (builder, "dir", herald_transcript_dir_to_string (entry->dir));
      add_string_or_null (builder, "text", entry->text ? entry->text : "");
      json_builder_set_member_name (builder, "ms");
      json_builder_add_int_value (builder, entry->ms);
      json_builder_end_object (builder);
    }
  json_builder_end_array (builder);

  json_builder_set_member_name (builder, "elapsed_ms");
  json_builder_add_int_value (builder, r->elapsed_ms);

  json_builder_end_object (builder);
  return json_builder_get_root (builder);
}

/* ---------------------------------------------------------------------------
 * Text
 * ------------------------------------------------------------------------- */

static void
append_indented (GString    *out,
                 const char *indent,
                 const char *text)
{
  g_auto(GStrv) lines = g_strsplit (text, "\n", -1);

  for (guint i = 0; lines[i] != NULL; i++)
    g_string_append_printf (out, "%s%s\n", indent, lines[i]);
}

static void
append_diagnosis (GString                  *out,
                  const HeraldDiagnosis    *d,
                  HeraldDiagnosisTextFlags  flags)
{
  if (flags & HERALD_DIAGNOSIS_TEXT_TITLE)
    g_string_append_printf (out, "%s\n", d->title);
  if (d->explanation != NULL && *d->explanation != '\0')
    append_indented (out, "", d->explanation);
  if (flags & HERALD_DIAGNOSIS_TEXT_ACTOR)
    g_string_append_printf (out, "%s %s\n", _("Who must act:"), herald_actor_describe (d->actor));

  if (d->steps != NULL && d->steps->len > 0)
    {
      g_string_append_printf (out, "%s\n", _("What to do:"));
      for (guint i = 0; i < d->steps->len; i++)
        {
          const HeraldDiagnosisStep *step = g_ptr_array_index (d->steps, i);
          g_autofree char *number = g_strdup_printf ("  %u. ", i + 1);

          g_string_append (out, number);
          append_indented (out, "", step->text);
          if (step->command != NULL && *step->command != '\0')
            append_indented (out, "       ", step->command);
        }
    }

  if (d->links != NULL && d->links->len > 0)
    {
      g_string_append_printf (out, "%s\n", _("More information:"));
      for (guint i = 0; i < d->links->len; i++)
        {
          const HeraldLink *link = g_ptr_array_index (d->links, i);
          g_string_append_printf (out, "  • %s: %s\n", link->title, link->url);
        }
    }

  if ((flags & HERALD_DIAGNOSIS_TEXT_DETAILS) && d->details != NULL && *d->details != '\0')
    {
      g_string_append_printf (out, "%s\n", _("Technical details:"));
      append_indented (out, "  ", d->details);
    }
}

char *
herald_diagnosis_to_text (const HeraldDiagnosis    *d,
                          HeraldDiagnosisTextFlags  flags)
{
  GString *out;

  g_return_val_if_fail (d != NULL, NULL);

  out = g_string_new (NULL);
  append_diagnosis (out, d, flags);
  while (out->len > 0 && out->str[out->len - 1] == '\n')
    g_string_truncate (out, out->len - 1);
  return g_string_free (out, FALSE);
}

static const char *
or_none (const char *value)
{
  return value != NULL && *value != '\0' ? value : _("(none)");
}

char *
herald_report_to_text (const HeraldSmtpConfig *c,
                       const HeraldSmtpResult *r,
                       const HeraldDiagnosis  *d,
                       GPtrArray              *notices)
{
  GString *out = g_string_new (NULL);
  g_autoptr(GDateTime) now = g_date_time_new_now_utc ();
  g_autofree char *date = g_date_time_format_iso8601 (now);

  g_string_append_printf (out, "%s\n", _("Herald test report"));
  g_string_append_printf (out, "%s: %s\n", _("Date"), date);
  if (r != NULL)
    {
      if (r->ok)
        g_string_append_printf (out, "%s: %s\n", _("Result"), _("the test message was accepted"));
      else
        g_string_append_printf (out, "%s: %s (%s)\n", _("Result"), _("failed"),
                                r->stage < HERALD_N_STAGES ? herald_stage_to_string (r->stage) : "?");
      g_string_append_printf (out, "%s: %" G_GINT64_FORMAT " ms\n", _("Elapsed"), r->elapsed_ms);
    }

  if (c != NULL)
    {
      g_autofree char *to = c->to ? g_strjoinv (", ", c->to) : NULL;
      g_autofree char *cc = c->cc ? g_strjoinv (", ", c->cc) : NULL;

      g_string_append_printf (out, "\n%s\n", _("Settings"));
      g_string_append_printf (out, "  %s: %s\n", _("Server"), or_none (c->host));
      g_string_append_printf (out, "  %s: %u\n", _("Port"), c->port);
      g_string_append_printf (out, "  %s: %s\n", _("Security"), herald_security_to_string (c->security));
      g_string_append_printf (out, "  %s: %s\n", _("Authentication"), herald_auth_method_to_string (c->auth));
      g_string_append_printf (out, "  %s: %s\n", _("Username"), or_none (c->username));
      /* Secrets: only whether one is set, never the value. */
      g_string_append_printf (out, "  %s: %s\n", _("Password"),
                              c->password && *c->password ? _("set (not shown)") : _("(none)"));
      g_string_append_printf (out, "  %s: %s\n", _("OAuth token"),
                              c->oauth_token && *c->oauth_token ? _("set (not shown)") : _("(none)"));
      g_string_append_printf (out, "  %s: %s\n", _("From"), or_none (c->from));
      g_string_append_printf (out, "  %s: %s\n", _("To"), or_none (to));
      if (cc != NULL && *cc != '\0')
        g_string_append_printf (out, "  %s: %s\n", _("Cc"), cc);
      if (c->ca_file != NULL && *c->ca_file != '\0')
        g_string_append_printf (out, "  %s: %s\n", _("CA file"), c->ca_file);
      if (c->allow_plaintext_auth)
        g_string_append_printf (out, "  %s\n", _("Password without encryption: allowed"));
    }

  if (r != NULL)
    {
      g_string_append_printf (out, "\n%s\n", _("Steps"));
      for (guint s = 0; s < HERALD_STAGE_DONE; s++)
        {
          const char *state;

          if (r->stage_ms[s] < 0 && !(!r->ok && r->stage == s))
            continue;
          if (!r->ok && r->stage == s)
            state = _("failed");
          else
            state = _("ok");
          g_string_append_printf (out, "  %-9s %6" G_GINT64_FORMAT " ms  %s\n",
                                  herald_stage_to_string (s), MAX (r->stage_ms[s], 0), state);
        }
      if (r->error != NULL)
        g_string_append_printf (out, "  %s: %s\n", _("Error"), r->error->message);
      if (r->reply != NULL && r->reply->raw != NULL)
        {
          g_string_append_printf (out, "  %s:\n", _("Last reply"));
          append_indented (out, "    ", r->reply->raw);
        }
    }

  if (d != NULL)
    {
      g_string_append_printf (out, "\n%s\n", _("Diagnosis"));
      append_diagnosis (out, d, HERALD_DIAGNOSIS_TEXT_ALL);
    }

  for (guint i = 0; notices != NULL && i < notices->len; i++)
    {
      if (i == 0)
        g_string_append_printf (out, "\n%s\n", _("Notices"));
      append_diagnosis (out, g_ptr_array_index (notices, i),
                        HERALD_DIAGNOSIS_TEXT_TITLE | HERALD_DIAGNOSIS_TEXT_ACTOR);
    }

  if (r != NULL && r->tls != NULL)
    {
      const HeraldTlsInfo *tls = r->tls;

      g_string_append_printf (out, "\n%s\n", _("TLS"));
      g_string_append_printf (out, "  %s: %s\n", _("Version"), or_none (tls->version));
      g_string_append_printf (out, "  %s: %s\n", _("Subject"), or_none (tls->subject));
      g_string_append_printf (out, "  %s: %s\n", _("Issuer"), or_none (tls->issuer));
      g_string_append_printf (out, "  %s: %s\n", _("Valid from"), or_none (tls->not_before));
      g_string_append_printf (out, "  %s: %s\n", _("Valid until"), or_none (tls->not_after));
      g_string_append_printf (out, "  %s: %s\n", _("SHA-256"), or_none (tls->sha256));
      if (tls->errors != NULL && tls->errors[0] != NULL)
        {
          g_autofree char *errors = g_strjoinv (", ", tls->errors);
          g_string_append_printf (out, "  %s: %s\n", _("Problems"), errors);
        }
    }

  if (r != NULL && r->transcript != NULL && r->transcript->len > 0)
    {
      g_string_append_printf (out, "\n%s\n", _("Transcript"));
      for (guint i = 0; i < r->transcript->len; i++)
        {
          const HeraldTranscriptEntry *entry = g_ptr_array_index (r->transcript, i);
          const char *arrow = entry->dir == HERALD_TRANSCRIPT_CLIENT ? "C:" :
                              entry->dir == HERALD_TRANSCRIPT_SERVER ? "S:" : "*";

          g_string_append_printf (out, "  [%6" G_GINT64_FORMAT " ms] %s %s\n",
                                  entry->ms, arrow, entry->text ? entry->text : "");
        }
    }

  return g_string_free (out, FALSE);
}

void
herald_diagnosis_print (const HeraldDiagnosis *d,
                        FILE                  *out)
{
  g_autoptr(GString) str = NULL;

  g_return_if_fail (d != NULL);
  g_return_if_fail (out != NULL);

  str = g_string_new (NULL);
  append_diagnosis (str, d, HERALD_DIAGNOSIS_TEXT_ALL);
  fputs (str->str, out);
}
