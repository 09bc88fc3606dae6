/* SPDX-License-Identifier: GPL-3.0-or-later
 * Copyright 2026 The Herald authors
 */
#define G_LOG_DOMAIN "herald-json"

#include "config.h"

#include <math.h>
#include <string.h>

#include "herald-json.h"

/* Characters that are valid in a JSON string but that we never print raw:
 * they reorder or break the text a terminal or an editor shows. */
static gboolean
needs_unicode_escape (gunichar c)
{
  return c < 0x20 || (c >= 0x7f && c <= 0x9f) ||
         c == 0x061c ||                        /* ARABIC LETTER MARK */
         c == 0x200e || c == 0x200f ||         /* LRM, RLM */
         c == 0x2028 || c == 0x2029 ||         /* LINE/PARAGRAPH SEPARATOR */
         (c >= 0x202a && c <= 0x202e) ||       /* LRE, RLE, PDF, LRO, RLO */
         (c >= 0x2066 && c <= 0x2069);         /* LRI, RLI, FSI, PDI */
}

void
herald_json_append_string (GString    *out,
                           const char *str,
                           gssize      length)
{
  const char *p, *end;

  g_return_if_fail (out != NULL);
  g_return_if_fail (str != NULL || length == 0);

  if (length < 0)
    length = (gssize) strlen (str);
  end = str + length;

  g_string_append_c (out, '"');
  for (p = str; p < end; )
    {
      gunichar c = g_utf8_get_char_validated (p, end - p);
      const char *next;

      if (c == (gunichar) -1 || c == (gunichar) -2)
        {
          /* Not UTF-8 (or cut short): one replacement character per bad byte,
           * as g_utf8_make_valid() does. */
          g_string_append (out, "\357\277\275");
          p++;
          continue;
        }
      next = g_utf8_next_char (p);

      switch (c)
        {
        case '"':  g_string_append (out, "\\\""); break;
        case '\\': g_string_append (out, "\\\\"); break;
        case '\b': g_string_append (out, "\\b"); break;
        case '\f': g_string_append (out, "\\f"); break;
        case '\n': g_string_append (out, "\\n"); break;
        case '\r': g_string_append (out, "\\r"); break;
        case '\t': g_string_append (out, "\\t"); break;
        default:
          if (c == 0)
            g_string_append (out, "\\u0000");   /* only with an explicit length */
          else if (needs_unicode_escape (c))
            g_string_append_printf (out, "\\u%04x", c);
          else
            g_string_append_len (out, p, next - p);
          break;
        }
      p = next;
    }
  g_string_append_c (out, '"');
}

static void
append_indent (GString *out,
               gboolean pretty,
               guint    level)
{
  if (!pretty)
    return;
  g_string_append_c (out, '\n');
  for (guint i = 0; i < level; i++)
    g_string_append (out, "  ");
}

static void
append_value (GString  *out,
              JsonNode *node)
{
  switch (json_node_get_value_type (node))
    {
    case G_TYPE_INT64:
      g_string_append_printf (out, "%" G_GINT64_FORMAT, json_node_get_int (node));
      break;
    case G_TYPE_DOUBLE:
      {
        char buffer[G_ASCII_DTOSTR_BUF_SIZE];
        double value = json_node_get_double (node);

        /* JSON has no NaN or infinity. */
        if (isfinite (value))
          g_string_append (out, g_ascii_dtostr (buffer, sizeof buffer, value));
        else
          g_string_append (out, "null");
      }
      break;
    case G_TYPE_BOOLEAN:
      g_string_append (out, json_node_get_boolean (node) ? "true" : "false");
      break;
    case G_TYPE_STRING:
      herald_json_append_string (out, json_node_get_string (node), -1);
      break;
    default:
      g_string_append (out, "null");
      break;
    }
}

static void
append_node (GString  *out,
             JsonNode *node,
             gboolean  pretty,
             guint     level)
{
  switch (json_node_get_node_type (node))
    {
    case JSON_NODE_OBJECT:
      {
        JsonObject *object = json_node_get_object (node);
        JsonObjectIter iter;
        const char *name;
        JsonNode *member;
        gboolean first = TRUE;

        g_string_append_c (out, '{');
        json_object_iter_init_ordered (&iter, object);
        while (json_object_iter_next_ordered (&iter, &name, &member))
          {
            if (!first)
              g_string_append_c (out, ',');
            first = FALSE;
            append_indent (out, pretty, level + 1);
            herald_json_append_string (out, name, -1);
            g_string_append (out, pretty ? " : " : ":");
            append_node (out, member, pretty, level + 1);
          }
        if (!first)
          append_indent (out, pretty, level);
        else if (pretty)
          /* json-glib writes an empty object as "{", the indent, "}". */
          for (guint i = 0; i < level; i++)
            g_string_append (out, "  ");
        g_string_append_c (out, '}');
      }
      break;

    case JSON_NODE_ARRAY:
      {
        JsonArray *array = json_node_get_array (node);
        guint length = json_array_get_length (array);

        g_string_append_c (out, '[');
        for (guint i = 0; i < length; i++)
          {
            if (i > 0)
              g_string_append_c (out, ',');
            append_indent (out, pretty, level + 1);
            append_node (out, json_array_get_element (array, i), pretty, level + 1);
          }
        if (length > 0)
          append_indent (out, pretty, level);
        g_string_append_c (out, ']');
      }
      break;

    case JSON_NODE_VALUE:
      append_value (out, node);
      break;

    case JSON_NODE_NULL:
    default:
      g_string_append (out, "null");
      break;
    }
}

char *
herald_json_to_string (JsonNode *node,
                       gboolean  pretty)
{
  GString *out;

  g_return_val_if_fail (node != NULL, NULL);

  out = g_string_new (NULL);
  append_node (out, node, pretty, 0);
  return g_string_free (out, FALSE);
}
