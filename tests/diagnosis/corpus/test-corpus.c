/* SPDX-License-Identifier: GPL-3.0-or-later
 * Copyright 2026 The Herald authors
 */
#define G_LOG_DOMAIN "herald-test"

/* Every text of the corpus of real error messages (train.json, heldout.json,
 * fresh.json, train2.json, heldout2.json, heldout3.json, train3.json and train4.json,
 * see README.md) must get the
 * diagnosis its line expects
 * from herald_diagnose_text(), which is what heraldctl explain and a pasted
 * error go through. The stage and the host are unknown, as for a pasted
 * text. */

#include <json-glib/json-glib.h>
#include <string.h>

#include "herald-diagnosis.h"
#include "herald-diagnosis-private.h"

static JsonParser *parsers[19];
static GHashTable *rule_ids;

static const char *
member (JsonObject *object,
        const char *name)
{
  JsonNode *node = json_object_get_member (object, name);

  if (node == NULL || JSON_NODE_HOLDS_NULL (node))
    return NULL;
  return json_node_get_string (node);
}

static void
test_corpus_case (gconstpointer data)
{
  JsonObject *c = (JsonObject *) data;
  const char *text = member (c, "text");
  const char *expect = member (c, "expect");
  g_autoptr(HeraldDiagnosis) d = NULL;

  g_assert_nonnull (text);
  g_assert_nonnull (expect);
  /* Where the text came from, so that anyone can check it was not made up
   * (one personal page of train8 is served over plain HTTP only). */
  g_assert_true (g_str_has_prefix (member (c, "source"), "https://") ||
                 g_str_has_prefix (member (c, "source"), "http://"));
  g_assert_nonnull (member (c, "group"));

  d = herald_diagnose_text (text, HERALD_N_STAGES, NULL);
  g_assert_nonnull (d);
  if (g_strcmp0 (d->id, expect) != 0)
    g_test_message ("text: %s; got %s, expected %s", text, d->id, expect);
  g_assert_cmpstr (d->id, ==, expect);
  g_assert_true (herald_diagnosis_is_fallback (d) == g_str_has_prefix (expect, "fallback"));
  /* The answers labelled right before the text was first run: the pinned
   * answer is one of them, unless the line says why not (relabel). A known
   * miss of a blind measurement pins the wrong answer it got, so that the
   * line is looked at again (and its known_miss dropped) when it changes;
   * it must then not be among the right answers, or it is no miss. */
  if (json_object_has_member (c, "blind") && !json_object_has_member (c, "relabel"))
    {
      JsonArray *blind = json_object_get_array_member (c, "blind");
      gboolean among = FALSE;

      for (guint i = 0; i < json_array_get_length (blind); i++)
        among = among || g_strcmp0 (json_array_get_string_element (blind, i), expect) == 0;
      if (json_object_has_member (c, "known_miss"))
        {
          g_assert_false (among);
          g_assert_cmpstr (member (c, "first_result"), ==, expect);
        }
      else
        g_assert_true (among);
    }
  g_assert_nonnull (d->title);
  g_assert_cmpstr (d->title, !=, "");
  g_assert_nonnull (d->details);
  for (guint i = 0; i < d->links->len; i++)
    {
      const HeraldLink *link = g_ptr_array_index (d->links, i);
      g_assert_true (g_str_has_prefix (link->url, "https://"));
    }
}

/* A line that names no rule would be a silent typo: it could never pass, but
 * a rule renamed later must not leave the corpus pointing nowhere. */
static void
test_expectations_name_rules (void)
{
  for (guint p = 0; p < G_N_ELEMENTS (parsers); p++)
    {
      JsonArray *cases = json_object_get_array_member (json_node_get_object (json_parser_get_root (parsers[p])),
                                                       "cases");

      for (guint i = 0; i < json_array_get_length (cases); i++)
        {
          const char *expect = member (json_array_get_object_element (cases, i), "expect");

          if (!g_hash_table_contains (rule_ids, expect))
            g_test_message ("the corpus expects unknown rule “%s”", expect);
          g_assert_true (g_hash_table_contains (rule_ids, expect));
        }
    }
}

static void
load (guint       slot,
      const char *name)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *path = g_test_build_filename (G_TEST_DIST, "diagnosis", "corpus", name, NULL);
  g_autofree char *base = g_strndup (name, strlen (name) - strlen (".json"));
  JsonArray *cases;

  parsers[slot] = json_parser_new ();
  if (!json_parser_load_from_file (parsers[slot], path, &error))
    g_error ("Cannot read %s: %s", path, error->message);
  cases = json_object_get_array_member (json_node_get_object (json_parser_get_root (parsers[slot])), "cases");
  g_assert_cmpuint (json_array_get_length (cases), >, 0);

  for (guint i = 0; i < json_array_get_length (cases); i++)
    {
      JsonObject *c = json_array_get_object_element (cases, i);
      g_autofree char *test_path = g_strdup_printf ("/herald/diagnosis/corpus/%s/%03u-%s",
                                                    base, i + 1, member (c, "expect"));

      g_test_add_data_func (test_path, c, test_corpus_case);
    }
}

int
main (int    argc,
      char **argv)
{
  const char * const *ids;
  int ret;

  g_test_init (&argc, &argv, NULL);

  ids = _herald_diagnosis_rule_ids ();
  rule_ids = g_hash_table_new (g_str_hash, g_str_equal);
  for (guint i = 0; ids[i] != NULL; i++)
    g_hash_table_add (rule_ids, (gpointer) ids[i]);
  /* Built in, used when no rule file entry matches at all. */
  g_hash_table_add (rule_ids, (gpointer) "fallback-builtin");

  load (0, "train.json");
  load (1, "heldout.json");
  load (2, "fresh.json");
  load (3, "train2.json");
  load (4, "heldout2.json");
  load (5, "heldout3.json");
  load (6, "train3.json");
  load (7, "train4.json");
  load (8, "heldout4.json");
  load (9, "train5.json");
  load (10, "heldout5.json");
  load (11, "train6.json");
  load (12, "heldout6.json");
  load (13, "train7.json");
  load (14, "heldout7.json");
  load (15, "train8.json");
  load (16, "heldout8.json");
  load (17, "train9.json");
  load (18, "heldout9.json");
  g_test_add_func ("/herald/diagnosis/corpus/expectations-name-rules", test_expectations_name_rules);

  ret = g_test_run ();

  for (guint p = 0; p < G_N_ELEMENTS (parsers); p++)
    g_clear_object (&parsers[p]);
  g_clear_pointer (&rule_ids, g_hash_table_unref);
  return ret;
}
