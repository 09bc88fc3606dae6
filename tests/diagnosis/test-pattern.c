/* SPDX-License-Identifier: GPL-3.0-or-later
 * Copyright 2026 The Herald authors
 *
 * A rule's pattern split into alternatives, each tried only when the text
 * holds the words it needs (herald-pattern.c): it must match exactly where the
 * whole pattern as one GRegex does, on every rule and every real text we have.
 */
#include "config.h"

#include <json-glib/json-glib.h>

#include "herald-pattern-private.h"
#include "herald-rules-private.h"

static JsonArray *
load_array (JsonParser *parser,
            const char *path,
            const char *member)
{
  g_autoptr(GError) error = NULL;

  if (!json_parser_load_from_file (parser, path, &error))
    g_error ("Cannot read %s: %s", path, error->message);
  return json_object_get_array_member (json_node_get_object (json_parser_get_root (parser)), member);
}

static gboolean
whole_match (const char *source,
             const char *text)
{
  g_autoptr(GRegex) regex = g_regex_new (source, G_REGEX_CASELESS, 0, NULL);

  g_assert_nonnull (regex);
  return g_regex_match (regex, text, 0, NULL);
}

/* The words each alternative needs, read off the pattern. */
static void
test_pattern_needs (void)
{
  static const struct {
    const char *pattern;
    const char *described;
  } cases[] = {
    { "\\bauth\\s+failed\\b",               "failed & auth\n" },
    { "colou?r",                           "colo\n" },
    { "ab+cde",                            "bcde\n" },         /* "ab" is too short to test */
    { "(?:password|passwort)\\s+wrong",    "password|passwort & wrong\n" },
    { "(?:Pass(?:wort|word)|Kennwort)",    "pass|kennwort\n" },
    { "(?:abc)?def",                       "def\n" },
    { "(?:abc|)def",                       "def\n" },          /* an empty alternative needs nothing */
    { "x{0,3}yzw",                         "yzw\n" },
    { "AADSTS\\d+|token\\s+expired",       "aadsts\nexpired & token\n" },
    { "foo(?=barbaz)qux",                  "foo & qux\n" },    /* a look-ahead claims nothing */
    { "(?<!not\\s)accepted",               "accepted\n" },
    { "[abc]xyz|\\d{3}",                   "xyz\n*\n" },
    { "\\x41BC|\\0123",                    "*\n*\n" },         /* escapes' digits are no words */
    { "\\pLabc",                           "abc\n" },
    { "(?<name>smtp)\\s+error",            "error & smtp\n" },
    { "contrase(?:ñ|n)a",                  "contrase\n" },
    { "Пароль неверный|密码错误",            "<non-ASCII>\n<non-ASCII>\n" },  /* any case of them is non-ASCII */
    { "Пароль\\s+SMTP|n\\x{212A}elvin",   "smtp & <non-ASCII>\nelvin\n" }, /* KELVIN SIGN folds to k */
    { "(?:auth|Anmeldung|認証)\\s+fail",    "fail & auth|anmeldung|<non-ASCII>\n" },
    { "д?abc",                             "abc\n" },
    { "(abc)\\1def|xyz",                   "*\n" },            /* a back-reference: one piece, always tried */
    { "(?i)abc|def",                       "*\n" },            /* an option setting reaches later alternatives */
    { "a\\Qxyz|\\Eqqq",                    "qqq\n" },
    /* A guarded concept: the guards tried only once the rest matched. */
    { "^(?!abc)[\\s\\S]*?(?:foo|bar\\s+bazz)", "unless {abc}: {foo;bazz & bar}\n" },
    { "^(?![\\s\\S]*nott)(?!xyz)(?:[\\s\\S]*?(?:^(?!yyy)[\\s\\S]*?(?:zzz)|qqq))",
      "unless {nott}, {xyz}: {unless {yyy}: {zzz};qqq}\n" },
    { "^(?!abc)[\\s\\S]*?(?:foo)bar",       "foo & bar\n" },   /* not the form: one piece */
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr(GError) error = NULL;
      HeraldPattern *pattern = _herald_pattern_new (cases[i].pattern, &error);
      g_autofree char *described = NULL;

      g_assert_no_error (error);
      described = _herald_pattern_describe (pattern);
      g_test_message ("%s", cases[i].pattern);
      g_assert_cmpstr (described, ==, cases[i].described);
      _herald_pattern_free (pattern);
    }
}

/* Hand-made texts at the edges of what the reader claims. */
static void
test_pattern_edges (void)
{
  static const struct {
    const char *pattern;
    const char *text;
    gboolean    matches;
  } cases[] = {
    { "colou?r",                        "COLOR",                    TRUE },
    { "ab+cde",                         "xabbbcde",                 TRUE },
    { "ab{2}cde",                       "abbcde",                   TRUE },
    { "(?:abc)?def",                    "def",                      TRUE },
    { "(?:abc|)def",                    "xdef",                     TRUE },
    { "\\bauth\\s+failed\\b",           "AUTH   FAILED",            TRUE },
    { "\\bauth\\s+failed\\b",           "authfailed",               FALSE },
    { "working",                        "WOR\xe2\x84\xaaING",       TRUE },   /* KELVIN SIGN */
    { "mistake",                        "MI\xc5\xbfTAKE",           TRUE },   /* LONG S */
    { "Пароль неверный",                "ПАРОЛЬ НЕВЕРНЫЙ",          TRUE },
    { "Пароль неверный",                "Parol nevernyj",           FALSE },
    { "\\x{212A}elvin",                  "KELVIN",                   TRUE },
    { "д?abc",                          "ABC",                      TRUE },
    { "(abc)\\1def|xyz",                "abcabcdef",                TRUE },
    { "(?i)abc|def",                    "DEF",                      TRUE },
    { "a\\Qxyz|\\Eqqq",                 "axyz|qqq",                 TRUE },
    { "\\x41BC",                        "abc",                      TRUE },
    { "foo(?=barbaz)barbazqux|zzz",     "FOOBARBAZQUX",             TRUE },
    { "x{0,3}yzw",                      "yzw",                      TRUE },
    { "[abc]xyz|\\d{3}",                "123",                      TRUE },
    { "(?:Pass(?:wort|word)|Kennwort)", "kennwort",                 TRUE },
    { "(?:Pass(?:wort|word)|Kennwort)", "pass word",                FALSE },
    { "^(?!abc)[\\s\\S]*?(?:foo)",       "abcfoo",                   FALSE },
    { "^(?!abc)[\\s\\S]*?(?:foo)",       "xabcfoo",                  TRUE },
    { "^(?![\\s\\S]*bad)[\\s\\S]*?(?:good)", "good, then BAD",     FALSE },
    { "^(?![\\s\\S]*bad)[\\s\\S]*?(?:good)", "all\ngood",         TRUE },
    { "^(?!x)(?:[\\s\\S]*?(?:^(?!y)[\\s\\S]*?(?:zzz)|qqq))", "yzzz",  FALSE },
    { "^(?!x)(?:[\\s\\S]*?(?:^(?!y)[\\s\\S]*?(?:zzz)|qqq))", "yqqq",  TRUE },
    { "^(?!x)(?:[\\s\\S]*?(?:^(?!y)[\\s\\S]*?(?:zzz)|qqq))", "xqqq",  FALSE },
    { "^(?!x)(?:[\\s\\S]*?(?:^(?!y)[\\s\\S]*?(?:zzz)|qqq))", "a\nzzz", TRUE },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      HeraldPattern *pattern = _herald_pattern_new (cases[i].pattern, NULL);

      g_test_message ("%s on “%s”", cases[i].pattern, cases[i].text);
      g_assert_cmpint (whole_match (cases[i].pattern, cases[i].text), ==, cases[i].matches);
      g_assert_cmpint (_herald_pattern_match (pattern, cases[i].text, NULL), ==, cases[i].matches);
      _herald_pattern_free (pattern);
    }
}

static void
test_pattern_unbalanced (void)
{
  static const char *bad[] = { "abc(def", "abc)def", "[abc", "abc\\", "(?:a|b" };

  for (guint i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      g_autoptr(GError) error = NULL;

      g_assert_null (_herald_pattern_new (bad[i], &error));
      g_assert_error (error, G_REGEX_ERROR, G_REGEX_ERROR_COMPILE);
    }
}

/* Every alternative of every rule compiles (they are compiled on first use,
 * so a typo would otherwise wait for the text that reaches it). */
static void
test_pattern_rules_compile (void)
{
  g_autoptr(GError) error = NULL;

  g_assert_true (_herald_rules_compile_all (&error));
  g_assert_no_error (error);
}

static void
add_texts (GPtrArray  *texts,
           const char *path)
{
  g_autoptr(JsonParser) parser = json_parser_new ();
  JsonArray *cases = load_array (parser, path, "cases");

  for (guint i = 0; i < json_array_get_length (cases); i++)
    {
      JsonObject *c = json_array_get_object_element (cases, i);
      const char *text = json_object_get_string_member_with_default (c, "text", NULL);

      if (text != NULL)
        g_ptr_array_add (texts, g_strdup (text));
    }
}

/* Every rule's pattern against every text of the rule tests and the corpus,
 * and each text in capitals: split and filtered, it matches exactly where the
 * whole pattern does. */
static void
test_pattern_rules_equal_whole (void)
{
  g_autofree char *rules_path = g_build_filename (g_getenv ("HERALD_SOURCE_DIR"), "data", "rules",
                                                  "diagnosis-rules.json", NULL);
  g_autofree char *corpus_dir = g_test_build_filename (G_TEST_DIST, "diagnosis", "corpus", NULL);
  g_autofree char *replies = g_test_build_filename (G_TEST_DIST, "diagnosis", "replies.json", NULL);
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autoptr(GPtrArray) texts = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GDir) dir = NULL;
  JsonArray *rules = load_array (parser, rules_path, "rules");
  const char *name;
  guint skipped = 0, tried = 0, n_texts;

  add_texts (texts, replies);
  dir = g_dir_open (corpus_dir, 0, NULL);
  g_assert_nonnull (dir);
  while ((name = g_dir_read_name (dir)) != NULL)
    if (g_str_has_suffix (name, ".json"))
      {
        g_autofree char *path = g_build_filename (corpus_dir, name, NULL);
        add_texts (texts, path);
      }
  n_texts = texts->len;
  /* A third of them again in capitals: the words are tested on the text
   * lowered, the patterns are caseless. */
  for (guint i = 0; i < n_texts; i += 3)
    g_ptr_array_add (texts, g_utf8_strup (texts->pdata[i], -1));

  for (guint r = 0; r < json_array_get_length (rules); r++)
    {
      JsonObject *rule = json_array_get_object_element (rules, r);
      const char *source = json_object_get_string_member_with_default (rule, "pattern", NULL);
      g_autoptr(GRegex) whole = NULL;
      HeraldPattern *pattern;

      if (source == NULL)
        continue;
      whole = g_regex_new (source, G_REGEX_CASELESS, 0, NULL);
      pattern = _herald_pattern_new (source, NULL);
      g_assert_nonnull (whole);
      g_assert_nonnull (pattern);
      for (guint i = 0; i < texts->len; i++)
        {
          const char *text = texts->pdata[i];
          g_autofree char *lowered = _herald_pattern_lower (text);
          gboolean expected = g_regex_match (whole, text, 0, NULL);

          if (expected != _herald_pattern_match (pattern, text, lowered))
            g_error ("rule “%s”: %s on “%s”", json_object_get_string_member (rule, "id"),
                     expected ? "the split pattern missed a match" : "the split pattern matched alone",
                     text);
          tried++;
        }
      {
        /* The words must rule most alternatives out, or nothing was gained. */
        g_autofree char *described = _herald_pattern_describe (pattern);
        g_auto(GStrv) lines = g_strsplit (described, "\n", -1);

        for (guint i = 0; lines[i] != NULL && lines[i][0] != '\0'; i++)
          skipped += g_str_equal (lines[i], "*");
      }
      _herald_pattern_free (pattern);
    }
  g_test_message ("%u texts, %u matches compared; %u alternatives always tried", texts->len, tried,
                  skipped);
  g_assert_cmpuint (tried, >, 100000);
}

int
main (int    argc,
      char **argv)
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/diagnosis/pattern/needs", test_pattern_needs);
  g_test_add_func ("/diagnosis/pattern/edges", test_pattern_edges);
  g_test_add_func ("/diagnosis/pattern/unbalanced", test_pattern_unbalanced);
  g_test_add_func ("/diagnosis/pattern/rules-compile", test_pattern_rules_compile);
  g_test_add_func ("/diagnosis/pattern/rules-equal-whole", test_pattern_rules_equal_whole);

  return g_test_run ();
}
