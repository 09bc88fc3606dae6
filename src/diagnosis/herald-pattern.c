/* SPDX-License-Identifier: GPL-3.0-or-later
 * Copyright 2026 The Herald authors
 */
#define G_LOG_DOMAIN "herald-diagnosis"

#include "config.h"

#include <string.h>

#include "herald-pattern-private.h"

/* Why: a rule's pattern is an alternation of dozens of phrases and concepts.
 * As one GRegex, PCRE tries every alternative at every position of the text;
 * for all the rules on a 1 KB paste that took about 25 ms, and compiling them
 * all another 6 ms, in a command whose goal is 50 ms from start to answer.
 * Nearly every alternative names a word the text must hold ("certificate",
 * "AADSTS50076"); a substring test on the lowered text rules most of them out
 * before PCRE is asked.
 *
 * The words are read off the pattern by a small reader that only has to be
 * right about what a match cannot do without; whenever it meets something it
 * does not know, it claims nothing, and the alternative is always tried. */

/* A word shorter than this is in nearly every text: not worth testing. */
#define MIN_WORD 3

/* The need of a non-ASCII letter: PCRE folds its case in ways an ASCII test
 * cannot follow, but whatever its case, the text holds some non-ASCII
 * character (only KELVIN SIGN and LONG S fold to ASCII letters, and they are
 * never taken for this). Most pasted texts hold none. */
#define NON_ASCII "\x80"

typedef struct {
  char   *source;
  GRegex *regex;     /* compiled on first use */
  int     failed;    /* it did not compile: reported once, never matches */
  GPtrArray *needs;  /* of GStrv: every one holds, by one of its words; empty: always tried */
  /* "^(?!G1)(?!G2)[\s\S]*?(?:X)": X anywhere in a text on whose start no
   * guard G matches. Matched as that, X split as a pattern of its own, the
   * guards tried only when X matched; source, regex and needs are unused. */
  HeraldPattern *inner;
  GPtrArray     *guards;  /* of HeraldPattern, each "\A(?:G)" */
} Piece;

struct _HeraldPattern {
  char      *source;
  gsize      len;
  gsize      built;   /* g_once_init_enter(): the pieces are read on first use */
  GPtrArray *pieces;  /* of Piece */
};

static void
piece_free (gpointer data)
{
  Piece *piece = data;

  g_free (piece->source);
  g_clear_pointer (&piece->regex, g_regex_unref);
  g_ptr_array_unref (piece->needs);
  g_clear_pointer (&piece->inner, _herald_pattern_free);
  g_clear_pointer (&piece->guards, g_ptr_array_unref);
  g_free (piece);
}

void
_herald_pattern_free (HeraldPattern *pattern)
{
  if (pattern == NULL)
    return;
  g_clear_pointer (&pattern->pieces, g_ptr_array_unref);
  g_free (pattern->source);
  g_free (pattern);
}

/* ---------------------------------------------------------------------------
 * Reading the pattern
 * ------------------------------------------------------------------------- */

typedef struct {
  const char *s;
  gsize       end;
  gboolean    unsafe;  /* back-references, recursion, verbs, (?x): split nothing, claim nothing */
} Reader;

static gssize skip_class (Reader *r, gsize i);

/* s[i] == '\\'. Returns the index just past the escape, -1 at a lone '\'. */
static gssize
skip_escape (Reader *r,
             gsize   i)
{
  const char *s = r->s;
  char c;

  if (i + 1 >= r->end)
    return -1;
  c = s[i + 1];
  if (c == 'Q')
    {
      const char *e = g_strstr_len (s + i + 2, r->end - (i + 2), "\\E");
      return e != NULL ? (gssize) (e - s) + 2 : (gssize) r->end;
    }
  if (c >= '1' && c <= '9')
    {
      /* A back-reference (or an octal escape): it ties alternatives together. */
      r->unsafe = TRUE;
      return i + 2;
    }
  if (c == 'g' || c == 'k')
    {
      r->unsafe = TRUE;
      return i + 2;
    }
  if ((c == 'x' || c == 'o' || c == 'p' || c == 'P' || c == 'N') &&
      i + 2 < r->end && s[i + 2] == '{')
    {
      const char *e = memchr (s + i + 2, '}', r->end - (i + 2));
      return e != NULL ? (gssize) (e - s) + 1 : -1;
    }
  if (c == 'c')
    return i + 3 <= r->end ? (gssize) i + 3 : -1;
  if (c == 'p' || c == 'P')
    return i + 3 <= r->end ? (gssize) i + 3 : -1;   /* \pL */
  if (c == '0' || c == 'x')
    {
      /* \012, \x41: the digits belong to the escape, not to a word. */
      gsize j = i + 2;

      while (j < r->end && j < i + 4 &&
             (c == 'x' ? g_ascii_isxdigit (s[j]) : (s[j] >= '0' && s[j] <= '7')))
        j++;
      return j;
    }
  /* A multi-byte character escaped: skip all of it. */
  if ((guchar) c >= 0x80)
    {
      gsize j = i + 2;

      while (j < r->end && ((guchar) s[j] & 0xC0) == 0x80)
        j++;
      return j;
    }
  return i + 2;
}

/* s[i] == '['. Returns the index just past the class, -1 when unclosed. */
static gssize
skip_class (Reader *r,
            gsize   i)
{
  const char *s = r->s;
  gsize j = i + 1;

  if (j < r->end && s[j] == '^')
    j++;
  if (j < r->end && s[j] == ']')
    j++;
  while (j < r->end)
    {
      if (s[j] == '\\')
        {
          gssize k = skip_escape (r, j);
          if (k < 0)
            return -1;
          j = k;
        }
      else if (s[j] == '[' && j + 1 < r->end && s[j + 1] == ':')
        {
          const char *e = g_strstr_len (s + j + 2, r->end - (j + 2), ":]");
          if (e == NULL)
            return -1;
          j = (e - s) + 2;
        }
      else if (s[j] == ']')
        return j + 1;
      else
        j++;
    }
  return -1;
}

/* s[i] == '('. Returns the index just past its ')', -1 when unbalanced. */
static gssize
skip_group (Reader *r,
            gsize   i)
{
  const char *s = r->s;
  gsize j = i + 1;
  int depth = 1;

  while (j < r->end)
    {
      gssize k;

      switch (s[j])
        {
        case '\\':
          if ((k = skip_escape (r, j)) < 0)
            return -1;
          j = k;
          break;
        case '[':
          if ((k = skip_class (r, j)) < 0)
            return -1;
          j = k;
          break;
        case '(':
          depth++;
          j++;
          break;
        case ')':
          if (--depth == 0)
            return j + 1;
          j++;
          break;
        default:
          j++;
        }
    }
  return -1;
}

/* A quantifier at s[i]: its minimum in *min, the index past it (and past a
 * lazy or possessive mark) returned; i itself when there is none. */
static gsize
read_quantifier (Reader *r,
                 gsize   i,
                 int    *min)
{
  const char *s = r->s;
  gsize j;

  *min = 1;
  if (i >= r->end)
    return i;
  switch (s[i])
    {
    case '?':
    case '*':
      *min = 0;
      j = i + 1;
      break;
    case '+':
      j = i + 1;
      break;
    case '{':
      {
        gsize k = i + 1;
        int n = 0;
        gboolean digits = FALSE;

        while (k < r->end && g_ascii_isdigit (s[k]))
          {
            n = MIN (n * 10 + (s[k] - '0'), 100000);
            digits = TRUE;
            k++;
          }
        if (!digits)
          return i;   /* "{" alone, or "{,n}": a literal brace to PCRE 10.42 */
        if (k < r->end && s[k] == ',')
          {
            k++;
            while (k < r->end && g_ascii_isdigit (s[k]))
              k++;
          }
        if (k >= r->end || s[k] != '}')
          return i;
        *min = n;
        j = k + 1;
      }
      break;
    default:
      return i;
    }
  if (j < r->end && (s[j] == '?' || s[j] == '+'))
    j++;
  return j;
}

typedef enum {
  GROUP_CONSUMING,  /* (…) (?:…) (?<name>…) (?>…) (?i:…): its text is part of the match */
  GROUP_ZERO_WIDTH, /* look-arounds, options, comments: claims nothing */
} GroupKind;

/* The kind of the group at s[i] == '(' ending before close; *body is where its
 * alternatives start. */
static GroupKind
group_kind (Reader *r,
            gsize   i,
            gsize   close,
            gsize  *body)
{
  const char *s = r->s;
  gsize j = i + 1;

  *body = j;
  if (j < close && s[j] == '*')
    {
      r->unsafe = TRUE;   /* (*VERB) */
      return GROUP_ZERO_WIDTH;
    }
  if (j >= close || s[j] != '?')
    return GROUP_CONSUMING;
  j++;
  if (j >= close)
    return GROUP_ZERO_WIDTH;
  switch (s[j])
    {
    case ':':
    case '>':
    case '|':
      *body = j + 1;
      return GROUP_CONSUMING;
    case '=':
    case '!':
    case '#':
      return GROUP_ZERO_WIDTH;
    case '<':
      if (j + 1 < close && (s[j + 1] == '=' || s[j + 1] == '!'))
        return GROUP_ZERO_WIDTH;
      G_GNUC_FALLTHROUGH;
    case '\'':
      {
        const char *e = memchr (s + j + 1, s[j] == '<' ? '>' : '\'', close - (j + 1));
        if (e == NULL)
          {
            r->unsafe = TRUE;
            return GROUP_ZERO_WIDTH;
          }
        *body = (e - s) + 1;
        return GROUP_CONSUMING;
      }
    case 'P':
      if (j + 1 < close && s[j + 1] == '<')
        {
          const char *e = memchr (s + j, '>', close - j);
          if (e != NULL)
            {
              *body = (e - s) + 1;
              return GROUP_CONSUMING;
            }
        }
      r->unsafe = TRUE;   /* (?P=name) (?P>name) */
      return GROUP_ZERO_WIDTH;
    default:
      break;
    }
  /* Options: (?i) (?-i) (?i:…). Extended mode would make spaces and '#'
   * mean something else, so nothing is claimed in such a pattern. */
  {
    gsize k = j;

    while (k < close && (g_ascii_isalpha (s[k]) || s[k] == '-' || s[k] == '^'))
      {
        if (s[k] == 'x')
          r->unsafe = TRUE;
        k++;
      }
    if (k > j && k < close && s[k] == ':')
      {
        *body = k + 1;
        return GROUP_CONSUMING;
      }
    /* (?i) alone sets the option for the rest of the pattern, later
     * alternatives included: they cannot be split off. */
  }
  /* Recursion, conditionals, callouts: (?R) (?1) (?&name) (?(…)…) (?C) */
  r->unsafe = TRUE;
  return GROUP_ZERO_WIDTH;
}

/* The end of the alternative that starts at s[from]: the index of the next
 * top-level '|', or end. -1 when the brackets do not balance. */
static gssize
next_alternative (Reader *r,
                  gsize   from,
                  gsize   end)
{
  const char *s = r->s;
  gsize j = from;

  while (j < end)
    {
      gssize k;

      if (s[j] == ')')
        return -1;
      if (s[j] == '|')
        return j;
      /* An escape, a class or a group is skipped whole: a '|' inside it
       * separates nothing here. */
      if (s[j] == '\\')
        k = skip_escape (r, j);
      else if (s[j] == '[')
        k = skip_class (r, j);
      else if (s[j] == '(')
        k = skip_group (r, j);
      else
        k = j + 1;
      if (k < 0 || (gsize) k > end)
        return -1;
      j = k;
    }
  return end;
}

/* How much a need narrows: its shortest word, then fewer words. */
static gboolean
need_better (char **a,
             char **b)
{
  gsize min_a = G_MAXSIZE, min_b = G_MAXSIZE;

  for (char **w = a; *w != NULL; w++)
    min_a = MIN (min_a, strlen (*w));
  for (char **w = b; *w != NULL; w++)
    min_b = MIN (min_b, strlen (*w));
  if (min_a != min_b)
    return min_a > min_b;
  return g_strv_length (a) < g_strv_length (b);
}

static char **best_need (GPtrArray *needs);

static void read_sequence (Reader *r, gsize start, gsize end, GPtrArray *needs);

/* A consuming group's need: one word of its alternatives' best needs. NULL
 * when one of its alternatives needs nothing. */
static char **
read_group_need (Reader *r,
                 gsize   start,
                 gsize   end)
{
  g_autoptr(GPtrArray) words = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GPtrArray) needs = g_ptr_array_new_with_free_func ((GDestroyNotify) g_strfreev);
  gsize from = start;

  for (;;)
    {
      gssize to = next_alternative (r, from, end);
      char **need;

      if (to < 0)
        return NULL;
      g_ptr_array_set_size (needs, 0);
      read_sequence (r, from, to, needs);
      need = best_need (needs);
      if (need == NULL)
        return NULL;
      for (char **w = need; *w != NULL; w++)
        if (!g_ptr_array_find_with_equal_func (words, *w, g_str_equal, NULL))
          g_ptr_array_add (words, g_strdup (*w));
      if ((gsize) to == end)
        break;
      from = to + 1;
    }
  g_ptr_array_add (words, NULL);
  return (char **) g_ptr_array_steal (words, NULL);
}

static char **
best_need (GPtrArray *needs)
{
  char **best = NULL;

  for (guint i = 0; i < needs->len; i++)
    if (best == NULL || need_better (needs->pdata[i], best))
      best = needs->pdata[i];
  return best;
}

/* A run of the letters and digits an alternative must match as written. A
 * long one keeps its start, which is needed as much as the whole. */
typedef struct {
  char  str[48];
  gsize len;
} Run;

static void
run_append (Run  *run,
            char  c)
{
  if (run->len < sizeof run->str)
    run->str[run->len++] = g_ascii_tolower (c);
}

/* A need of one word. */
static void
add_need (GPtrArray  *needs,
          const char *word,
          gsize       len)
{
  char **need = g_new0 (char *, 2);

  need[0] = g_strndup (word, len);
  g_ptr_array_add (needs, need);
}

static void
add_word (GPtrArray *needs,
          Run       *run)
{
  if (run->len >= MIN_WORD)
    add_need (needs, run->str, run->len);
  run->len = 0;
}

static gboolean
has_non_ascii_need (GPtrArray *needs)
{
  for (guint i = 0; i < needs->len; i++)
    {
      char **need = needs->pdata[i];

      if (need[1] == NULL && g_str_equal (need[0], NON_ASCII))
        return TRUE;
    }
  return FALSE;
}

/* The needs of one alternative s[start, end): every run of ASCII letters and
 * digits it must match as written, and every group it must pass through. */
static void
read_sequence (Reader    *r,
               gsize      start,
               gsize      end,
               GPtrArray *needs)
{
  const char *s = r->s;
  Run run_buf = { .len = 0 };
  Run *run = &run_buf;
  gsize i = start;

  while (i < end && !r->unsafe)
    {
      char c = s[i];
      gssize k;
      int min;

      if (c == '\\' || c == '[' || c == '.' || c == '^' || c == '$')
        {
          add_word (needs, run);
          if (c == '\\')
            k = skip_escape (r, i);
          else if (c == '[')
            k = skip_class (r, i);
          else
            k = i + 1;
          if (k < 0 || (gsize) k > end)
            {
              r->unsafe = TRUE;
              return;
            }
          i = read_quantifier (r, k, &min);
          continue;
        }
      if (c == '(')
        {
          gsize body, after;
          GroupKind kind;

          add_word (needs, run);
          k = skip_group (r, i);
          if (k < 0 || (gsize) k > end)
            {
              r->unsafe = TRUE;
              return;
            }
          kind = group_kind (r, i, k - 1, &body);
          after = read_quantifier (r, k, &min);
          if (kind == GROUP_CONSUMING && min > 0 && !r->unsafe)
            {
              char **need = read_group_need (r, body, k - 1);
              if (need != NULL)
                g_ptr_array_add (needs, need);
            }
          i = after;
          continue;
        }
      if (c == ')' || c == '|')
        {
          r->unsafe = TRUE;   /* the splitting should have taken these */
          return;
        }
      if (g_ascii_isalnum (c))
        {
          gsize after = read_quantifier (r, i + 1, &min);

          if (after == i + 1)
            {
              run_append (run, c);
              i++;
              continue;
            }
          /* "colou?r" needs "colo"; "ab+c" needs "ab" (and "bc"). */
          if (min > 0)
            run_append (run, c);
          add_word (needs, run);
          if (min > 0)
            run_append (run, c);
          i = after;
          continue;
        }
      /* Any other character (a space, punctuation, a non-ASCII letter) ends
       * the word. A quantifier after it applies to it alone. */
      add_word (needs, run);
      k = i + 1;
      if ((guchar) c >= 0x80)
        {
          gunichar ch;

          while ((gsize) k < end && ((guchar) s[k] & 0xC0) == 0x80)
            k++;
          ch = g_utf8_get_char_validated (s + i, k - i);
          i = read_quantifier (r, k, &min);
          if (min > 0 && ch != (gunichar) -1 && ch != (gunichar) -2 && ch != 0x212A && ch != 0x017F &&
              !has_non_ascii_need (needs))
            add_need (needs, NON_ASCII, strlen (NON_ASCII));
          continue;
        }
      i = read_quantifier (r, k, &min);
    }
  add_word (needs, run);
}

static int
compare_needs (gconstpointer a,
               gconstpointer b)
{
  char **na = *(char ***) a;
  char **nb = *(char ***) b;

  if (need_better (na, nb))
    return -1;
  if (need_better (nb, na))
    return 1;
  return 0;
}

static Piece *
piece_new (const char *source,
           gsize       len)
{
  Piece *piece = g_new0 (Piece, 1);

  piece->source = g_strndup (source, len);
  piece->needs = g_ptr_array_new_with_free_func ((GDestroyNotify) g_strfreev);
  return piece;
}

#define ANYTHING_LAZY "[\\s\\S]*?"
#define ANYTHING      "[\\s\\S]*"

static gboolean
starts_with (Reader     *r,
             gsize       i,
             gsize       end,
             const char *prefix)
{
  gsize len = strlen (prefix);

  return end - i >= len && strncmp (r->s + i, prefix, len) == 0;
}

/* The consuming group at s[i] that ends exactly at end, with no quantifier:
 * its body in [*body, *body_end). */
static gboolean
whole_group (Reader *r,
             gsize   i,
             gsize   end,
             gsize  *body,
             gsize  *body_end)
{
  gssize k;

  if (i >= end || r->s[i] != '(' || (k = skip_group (r, i)) < 0 || (gsize) k != end)
    return FALSE;
  if (group_kind (r, i, k - 1, body) != GROUP_CONSUMING)
    return FALSE;
  *body_end = k - 1;
  return TRUE;
}

/* "^(?!G1)…(?!Gn)[\s\S]*?(?:X)", also with the rest wrapped in groups of
 * one alternative: matches exactly when no G matches at the start and X
 * matches anywhere (the lazy "anything" tries X at every position, as a
 * search does; "^" cannot match after the start). The guards' bodies go to
 * @guards as [start, end) pairs, X's to @inner. */
static gboolean
read_guarded (Reader *r,
              gsize   from,
              gsize   to,
              GArray *guards,
              gsize  *inner,
              gsize  *inner_end)
{
  gsize i = from;

  if (!starts_with (r, i, to, "^"))
    return FALSE;
  i++;
  while (starts_with (r, i, to, "(?!"))
    {
      gssize k = skip_group (r, i);
      gsize start = i + 3, end;

      if (k < 0 || (gsize) k > to)
        return FALSE;
      end = k - 1;
      g_array_append_val (guards, start);
      g_array_append_val (guards, end);
      i = k;
    }
  if (guards->len == 0)
    return FALSE;

  for (;;)
    {
      gsize body, body_end;

      if (starts_with (r, i, to, ANYTHING_LAZY) || starts_with (r, i, to, ANYTHING))
        {
          i += starts_with (r, i, to, ANYTHING_LAZY) ? strlen (ANYTHING_LAZY) : strlen (ANYTHING);
          if (!whole_group (r, i, to, &body, &body_end))
            return FALSE;
          *inner = body;
          *inner_end = body_end;
          return TRUE;
        }
      if (!whole_group (r, i, to, &body, &body_end) || next_alternative (r, body, body_end) != (gssize) body_end)
        return FALSE;
      i = body;
      to = body_end;
    }
}

static HeraldPattern *pattern_new_len (const char *source, gsize len, GError **error);

static gboolean
piece_read_guarded (Reader *r,
                    Piece  *piece,
                    gsize   from,
                    gsize   to)
{
  g_autoptr(GArray) bounds = g_array_new (FALSE, FALSE, sizeof (gsize));
  g_autoptr(GPtrArray) guards = g_ptr_array_new_with_free_func ((GDestroyNotify) _herald_pattern_free);
  gsize inner, inner_end;

  if (!read_guarded (r, from, to, bounds, &inner, &inner_end) || r->unsafe)
    return FALSE;
  for (guint i = 0; i < bounds->len; i += 2)
    {
      gsize start = g_array_index (bounds, gsize, i);
      gsize end = g_array_index (bounds, gsize, i + 1);
      g_autofree char *anchored = g_strdup_printf ("\\A(?:%.*s)", (int) (end - start), r->s + start);
      HeraldPattern *guard = pattern_new_len (anchored, strlen (anchored), NULL);

      if (guard == NULL)
        return FALSE;
      g_ptr_array_add (guards, guard);
    }
  piece->inner = pattern_new_len (r->s + inner, inner_end - inner, NULL);
  if (piece->inner == NULL)
    return FALSE;
  piece->guards = g_steal_pointer (&guards);
  return TRUE;
}

HeraldPattern *
_herald_pattern_new (const char  *source,
                     GError     **error)
{
  g_return_val_if_fail (source != NULL, NULL);

  return pattern_new_len (source, strlen (source), error);
}

/* Checks only that the brackets balance (a linear scan): the pieces are read
 * when the pattern is first needed, as most patterns are not for one text. */
static HeraldPattern *
pattern_new_len (const char  *whole,
                 gsize        len,
                 GError     **error)
{
  HeraldPattern *pattern;
  Reader r = { whole, len, FALSE };
  gsize from = 0;

  for (;;)
    {
      gssize to = next_alternative (&r, from, len);

      if (to < 0)
        {
          g_set_error (error, G_REGEX_ERROR, G_REGEX_ERROR_COMPILE,
                       "its brackets, parentheses or escapes do not balance");
          return NULL;
        }
      if ((gsize) to == len)
        break;
      from = to + 1;
    }
  pattern = g_new0 (HeraldPattern, 1);
  pattern->source = g_strndup (whole, len);
  pattern->len = len;
  return pattern;
}

static GPtrArray *
read_pieces (const char *source,
             gsize       len)
{
  Reader r = { source, len, FALSE };
  g_autoptr(GPtrArray) pieces = g_ptr_array_new_with_free_func (piece_free);
  gsize from = 0;

  for (;;)
    {
      gssize to = next_alternative (&r, from, r.end);
      Piece *piece;

      g_assert (to >= 0);   /* pattern_new_len() checked */
      piece = piece_new (source + from, to - from);
      if (!r.unsafe && !piece_read_guarded (&r, piece, from, to))
        read_sequence (&r, from, to, piece->needs);
      g_ptr_array_sort (piece->needs, compare_needs);
      g_ptr_array_add (pieces, piece);
      if ((gsize) to == r.end)
        break;
      from = to + 1;
    }
  if (r.unsafe)
    {
      /* Something the reader does not know: the whole pattern, always tried. */
      g_ptr_array_set_size (pieces, 0);
      g_ptr_array_add (pieces, piece_new (source, len));
    }
  return g_steal_pointer (&pieces);
}

/* Thread-safe: whichever thread needs the pattern first reads it. */
static GPtrArray *
pattern_pieces (HeraldPattern *pattern)
{
  if (g_once_init_enter (&pattern->built))
    {
      pattern->pieces = read_pieces (pattern->source, pattern->len);
      g_once_init_leave (&pattern->built, 1);
    }
  return pattern->pieces;
}

/* ---------------------------------------------------------------------------
 * Matching
 * ------------------------------------------------------------------------- */

char *
_herald_pattern_lower (const char *text)
{
  GString *lowered = g_string_sized_new (strlen (text));

  for (const char *p = text; *p != '\0'; p++)
    {
      /* U+212A KELVIN SIGN and U+017F LATIN SMALL LETTER LONG S */
      if ((guchar) p[0] == 0xE2 && (guchar) p[1] == 0x84 && (guchar) p[2] == 0xAA)
        {
          g_string_append_c (lowered, 'k');
          p += 2;
        }
      else if ((guchar) p[0] == 0xC5 && (guchar) p[1] == 0xBF)
        {
          g_string_append_c (lowered, 's');
          p += 1;
        }
      else
        g_string_append_c (lowered, g_ascii_tolower (*p));
    }
  return g_string_free (lowered, FALSE);
}

static gboolean
has_non_ascii (const char *text)
{
  for (const char *p = text; *p != '\0'; p++)
    if ((guchar) *p >= 0x80)
      return TRUE;
  return FALSE;
}

static gboolean
piece_may_match (const Piece *piece,
                 const char  *lowered)
{
  for (guint i = 0; i < piece->needs->len; i++)
    {
      char **need = piece->needs->pdata[i];
      gboolean found = FALSE;

      for (char **w = need; !found && *w != NULL; w++)
        if (g_str_equal (*w, NON_ASCII))
          found = has_non_ascii (lowered);
        else
          found = strstr (lowered, *w) != NULL;
      if (!found)
        return FALSE;
    }
  return TRUE;
}

/* The piece's GRegex, compiled by whichever thread needs it first. */
static GRegex *
piece_regex (Piece   *piece,
             GError **error)
{
  GRegex *regex = g_atomic_pointer_get (&piece->regex);
  GError *local = NULL;

  if (regex != NULL || g_atomic_int_get (&piece->failed))
    return regex;
  regex = g_regex_new (piece->source, G_REGEX_CASELESS, 0, &local);
  if (regex == NULL)
    {
      /* Reported by the thread that saw it first, once. */
      if (g_atomic_int_compare_and_exchange (&piece->failed, 0, 1))
        g_propagate_error (error, local);
      else
        g_error_free (local);
      return NULL;
    }
  if (!g_atomic_pointer_compare_and_exchange (&piece->regex, NULL, regex))
    {
      g_regex_unref (regex);
      regex = g_atomic_pointer_get (&piece->regex);
    }
  return regex;
}

gboolean
_herald_pattern_match (HeraldPattern *pattern,
                       const char    *text,
                       const char    *lowered)
{
  g_autofree char *own = NULL;
  GPtrArray *pieces;

  g_return_val_if_fail (pattern != NULL, FALSE);
  g_return_val_if_fail (text != NULL, FALSE);

  if (lowered == NULL)
    lowered = own = _herald_pattern_lower (text);
  pieces = pattern_pieces (pattern);
  for (guint i = 0; i < pieces->len; i++)
    {
      Piece *piece = pieces->pdata[i];
      g_autoptr(GError) error = NULL;
      GRegex *regex;

      if (piece->inner != NULL)
        {
          gboolean guarded = FALSE;

          if (!_herald_pattern_match (piece->inner, text, lowered))
            continue;
          for (guint j = 0; !guarded && j < piece->guards->len; j++)
            guarded = _herald_pattern_match (piece->guards->pdata[j], text, lowered);
          if (guarded)
            continue;
          return TRUE;
        }
      if (!piece_may_match (piece, lowered))
        continue;
      regex = piece_regex (piece, &error);
      if (regex == NULL)
        {
          /* The tests compile every pattern (_herald_pattern_compile_all), so
           * only a hand-edited rules file gets here. */
          if (error != NULL)
            g_warning ("diagnosis-rules.json: a pattern does not compile: %s", error->message);
          continue;
        }
      if (g_regex_match (regex, text, 0, NULL))
        return TRUE;
    }
  return FALSE;
}

gboolean
_herald_pattern_compile_all (HeraldPattern  *pattern,
                             GError        **error)
{
  GPtrArray *pieces = pattern_pieces (pattern);

  for (guint i = 0; i < pieces->len; i++)
    {
      Piece *piece = pieces->pdata[i];
      g_autoptr(GRegex) regex = NULL;

      if (piece->inner != NULL)
        {
          if (!_herald_pattern_compile_all (piece->inner, error))
            return FALSE;
          for (guint j = 0; j < piece->guards->len; j++)
            if (!_herald_pattern_compile_all (piece->guards->pdata[j], error))
              return FALSE;
          continue;
        }
      regex = g_regex_new (piece->source, G_REGEX_CASELESS, 0, error);
      if (regex == NULL)
        return FALSE;
    }
  return TRUE;
}

char *
_herald_pattern_describe (HeraldPattern *pattern)
{
  GString *out = g_string_new (NULL);
  GPtrArray *pieces = pattern_pieces (pattern);

  for (guint i = 0; i < pieces->len; i++)
    {
      Piece *piece = pieces->pdata[i];

      if (piece->inner != NULL)
        {
          g_autofree char *inner = _herald_pattern_describe (piece->inner);

          g_string_append (out, "unless ");
          for (guint j = 0; j < piece->guards->len; j++)
            {
              g_autofree char *guard = _herald_pattern_describe (piece->guards->pdata[j]);

              g_strchomp (guard);
              g_string_append_printf (out, "%s{%s}", j > 0 ? ", " : "", guard);
            }
          g_strchomp (inner);
          g_strdelimit (inner, "\n", ';');
          g_string_append_printf (out, ": {%s}\n", inner);
          continue;
        }
      if (piece->needs->len == 0)
        g_string_append_c (out, '*');
      for (guint j = 0; j < piece->needs->len; j++)
        {
          g_autofree char *joined = g_strjoinv ("|", piece->needs->pdata[j]);
          g_autoptr(GString) words = g_string_new (joined);

          g_string_replace (words, NON_ASCII, "<non-ASCII>", 0);

          if (j > 0)
            g_string_append (out, " & ");
          g_string_append (out, words->str);
        }
      g_string_append_c (out, '\n');
    }
  return g_string_free (out, FALSE);
}
