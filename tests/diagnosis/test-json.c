/* SPDX-License-Identifier: GPL-3.0-or-later
 * Copyright 2026 The Herald authors
 */
#define G_LOG_DOMAIN "herald-test"

#include <json-glib/json-glib.h>
#include <string.h>

#include "herald-diagnosis.h"
#include "herald-json.h"
#include "herald-report.h"

/* Strings a server, a certificate or a pasted log can put into any field:
 * ESC (a terminal title sequence), BEL, U+001F (which json-glib 1.6 leaves
 * raw), DEL, a C1 control, U+202E (right-to-left override), U+2028 and bytes
 * that are not UTF-8. */
static const char *hostile[] = {
  "title\033]0;pwned\007 and \033[2J",
  "unit\037separator",
  "del\177 and c1\302\205",
  "right-to-left \342\200\256txt.exe",
  "line\342\200\250separator",
  "not utf-8: \377\376 and a cut \342\200",
  "quote \" backslash \\ slash / tab \t newline \n cr \r",
};

/* What a strict JSON reader needs: valid UTF-8, no raw control character
 * (the compact form has no layout newlines either), and no raw
 * bidirectional control (they can reorder what a terminal shows). */
static void
assert_strict_json (const char *json)
{
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autoptr(GError) error = NULL;

  g_assert_true (g_utf8_validate (json, -1, NULL));
  for (const char *p = json; *p != '\0'; p = g_utf8_next_char (p))
    {
      gunichar c = g_utf8_get_char (p);

      if (c < 0x20 || c == 0x7f || (c >= 0x80 && c <= 0x9f) || c == 0x202e || c == 0x2028)
        g_error ("raw U+%04X at byte %" G_GSIZE_FORMAT " of %s", c, (gsize) (p - json), json);
    }
  g_assert_true (json_parser_load_from_data (parser, json, -1, &error));
  g_assert_no_error (error);
}

/* Every hostile string survives the round trip as the text a reader gets
 * back: control characters as they were, bytes that are not UTF-8 as U+FFFD. */
static void
test_strings_round_trip (void)
{
  g_autoptr(JsonBuilder) builder = json_builder_new ();
  g_autoptr(JsonNode) root = NULL;
  g_autofree char *json = NULL;
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autoptr(GError) error = NULL;
  JsonObject *object;

  json_builder_begin_object (builder);
  for (guint i = 0; i < G_N_ELEMENTS (hostile); i++)
    {
      /* Member names are escaped too. */
      g_autofree char *name = g_strdup_printf ("%u %s", i, hostile[i]);

      json_builder_set_member_name (builder, name);
      json_builder_add_string_value (builder, hostile[i]);
    }
  json_builder_end_object (builder);
  root = json_builder_get_root (builder);

  json = herald_json_to_string (root, FALSE);
  assert_strict_json (json);
  g_assert_nonnull (strstr (json, "\\u001f"));
  g_assert_nonnull (strstr (json, "\\u001b]0;pwned\\u0007"));
  g_assert_nonnull (strstr (json, "\\u202e"));

  g_assert_true (json_parser_load_from_data (parser, json, -1, &error));
  object = json_node_get_object (json_parser_get_root (parser));
  g_assert_cmpuint (json_object_get_size (object), ==, G_N_ELEMENTS (hostile));
  for (guint i = 0; i < G_N_ELEMENTS (hostile); i++)
    {
      g_autofree char *name = g_strdup_printf ("%u %s", i, hostile[i]);
      g_autofree char *valid_name = g_utf8_make_valid (name, -1);
      g_autofree char *expected = g_utf8_make_valid (hostile[i], -1);

      g_assert_cmpstr (json_object_get_string_member (object, valid_name), ==, expected);
    }
}

/* Ordinary documents come out exactly as json-glib writes them, compact and
 * indented, so that nothing reading our output sees a change of layout. */
static void
test_layout_as_json_glib (void)
{
  const char *doc = "{\"ok\":false,\"stage\":\"auth\",\"empty\":[],\"none\":{},\"n\":null,"
                    "\"list\":[1,-2,true,{},{\"k\":\"v\",\"l\":[\"a\",\"b\",{\"e\":{}}]}],\"text\":\"caf\303\251 \\\"q\\\"\"}";
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonGenerator) generator = json_generator_new ();

  g_assert_true (json_parser_load_from_data (parser, doc, -1, &error));
  g_assert_no_error (error);
  json_generator_set_root (generator, json_parser_get_root (parser));
  json_generator_set_indent (generator, 2);

  for (int pretty = 0; pretty <= 1; pretty++)
    {
      g_autofree char *ours = herald_json_to_string (json_parser_get_root (parser), pretty);
      g_autofree char *theirs = NULL;

      json_generator_set_pretty (generator, pretty);
      theirs = json_generator_to_data (generator, NULL);
      g_assert_cmpstr (ours, ==, theirs);
    }
}

static void
transcript_entry_free (gpointer data)
{
  HeraldTranscriptEntry *entry = data;

  g_free (entry->text);
  g_free (entry);
}

static HeraldDiagnosis *
hostile_diagnosis (const char *text)
{
  g_autoptr(HeraldDiagnosis) d = herald_diagnose_text (text, HERALD_STAGE_AUTH, text);
  HeraldDiagnosis *copy = herald_diagnosis_copy (d);
  HeraldDiagnosisStep *step = g_new0 (HeraldDiagnosisStep, 1);
  HeraldLink *link = g_new0 (HeraldLink, 1);

  g_free (copy->id);
  copy->id = g_strdup (text);
  g_free (copy->title);
  copy->title = g_strdup (text);
  g_free (copy->explanation);
  copy->explanation = g_strdup (text);
  g_free (copy->details);
  copy->details = g_strdup (text);
  step->text = g_strdup (text);
  step->command = g_strdup (text);
  g_ptr_array_add (copy->steps, step);
  link->title = g_strdup (text);
  link->url = g_strdup (text);
  g_ptr_array_add (copy->links, link);
  return copy;
}

/* `heraldctl test --json`'s object with a hostile string in every string
 * field the result, the diagnosis and the notices have. */
static void
test_result_json_hostile (void)
{
  for (guint i = 0; i < G_N_ELEMENTS (hostile); i++)
    {
      const char *text = hostile[i];
      g_autoptr(HeraldSmtpResult) result = g_new0 (HeraldSmtpResult, 1);
      g_autoptr(HeraldDiagnosis) d = hostile_diagnosis (text);
      g_autoptr(GPtrArray) notices = g_ptr_array_new_with_free_func ((GDestroyNotify) herald_diagnosis_free);
      g_autoptr(JsonNode) node = NULL;
      g_autofree char *compact = NULL;
      g_autofree char *pretty = NULL;
      HeraldTranscriptEntry *entry;

      result->stage = HERALD_STAGE_TLS;
      result->error = g_error_new_literal (G_TLS_ERROR, G_TLS_ERROR_BAD_CERTIFICATE, text);
      result->reply = g_new0 (HeraldSmtpReply, 1);
      result->reply->code = 554;
      result->reply->enhanced = g_strdup (text);
      result->reply->raw = g_strdup (text);
      result->reply->text = g_strdup (text);
      result->tls = g_new0 (HeraldTlsInfo, 1);
      result->tls->version = g_strdup (text);
      result->tls->subject = g_strdup (text);
      result->tls->issuer = g_strdup (text);
      result->tls->not_before = g_strdup (text);
      result->tls->not_after = g_strdup (text);
      result->tls->sha256 = g_strdup (text);
      result->tls->errors = g_new0 (char *, 2);
      result->tls->errors[0] = g_strdup (text);
      result->transcript = g_ptr_array_new_with_free_func (transcript_entry_free);
      entry = g_new0 (HeraldTranscriptEntry, 1);
      entry->dir = HERALD_TRANSCRIPT_SERVER;
      entry->text = g_strdup (text);
      g_ptr_array_add (result->transcript, entry);
      result->greeting = g_strdup (text);
      g_ptr_array_add (notices, hostile_diagnosis (text));

      node = herald_result_to_json (result, d, notices);
      compact = herald_json_to_string (node, FALSE);
      pretty = herald_json_to_string (node, TRUE);
      assert_strict_json (compact);
      /* The indented form has layout newlines, and nothing else raw. */
      g_strdelimit (pretty, "\n", ' ');
      assert_strict_json (pretty);
    }
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/herald/json/strings-round-trip", test_strings_round_trip);
  g_test_add_func ("/herald/json/layout-as-json-glib", test_layout_as_json_glib);
  g_test_add_func ("/herald/json/result-hostile-fields", test_result_json_hostile);

  return g_test_run ();
}
