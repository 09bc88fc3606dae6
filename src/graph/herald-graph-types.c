/* SPDX-License-Identifier: GPL-3.0-or-later
 * Copyright 2026 The Herald authors
 */
#define G_LOG_DOMAIN "herald-graph"

#include "config.h"

#include <glib/gi18n.h>
#include <json-glib/json-glib.h>
#include <string.h>

#include "herald-graph.h"

G_DEFINE_QUARK (herald-graph-error-quark, herald_graph_error)

/* ---- endpoint ------------------------------------------------------------- */

/* Microsoft Graph's hosts: the global service and the national clouds. */
static const char * const graph_hosts[] = {
  "graph.microsoft.com",
  "graph.microsoft.us",
  "dod-graph.microsoft.us",
  "microsoftgraph.chinacloudapi.cn",
  NULL
};

static gboolean
is_loopback_host (const char *host)
{
  return g_strcmp0 (host, "127.0.0.1") == 0
         || g_strcmp0 (host, "::1") == 0
         || g_strcmp0 (host, "[::1]") == 0
         || g_ascii_strcasecmp (host, "localhost") == 0;
}

char *
herald_graph_endpoint_normalise (const char  *endpoint,
                                 GError     **error)
{
  g_autoptr(GUri) uri = NULL;
  g_autoptr(GError) local = NULL;
  g_autofree char *host = NULL;
  const char *scheme;
  const char *path;
  int port;
  gboolean loopback;
  gboolean known = FALSE;

  if (endpoint == NULL || *endpoint == '\0')
    return g_strdup (HERALD_GRAPH_DEFAULT_ENDPOINT);

  /* GUri lets spaces through; no URL has them. */
  for (const char *c = endpoint; *c != '\0'; c++)
    if (g_ascii_isspace (*c) || g_ascii_iscntrl (*c))
      {
        g_set_error (error, HERALD_GRAPH_ERROR, HERALD_GRAPH_ERROR_INVALID_ENDPOINT,
                     _("The Graph endpoint “%s” contains a space or a control character."),
                     endpoint);
        return NULL;
      }

  uri = g_uri_parse (endpoint, G_URI_FLAGS_NONE, &local);
  if (uri == NULL)
    {
      g_set_error (error, HERALD_GRAPH_ERROR, HERALD_GRAPH_ERROR_INVALID_ENDPOINT,
                   _("The Graph endpoint “%s” is not a valid URL: %s"), endpoint, local->message);
      return NULL;
    }

  scheme = g_uri_get_scheme (uri);
  if (g_uri_get_host (uri) == NULL || *g_uri_get_host (uri) == '\0')
    {
      g_set_error (error, HERALD_GRAPH_ERROR, HERALD_GRAPH_ERROR_INVALID_ENDPOINT,
                   _("The Graph endpoint “%s” has no host name."), endpoint);
      return NULL;
    }
  host = g_ascii_strdown (g_uri_get_host (uri), -1);
  loopback = is_loopback_host (host);
  for (guint i = 0; graph_hosts[i] != NULL; i++)
    known = known || strcmp (host, graph_hosts[i]) == 0;

  if (g_uri_get_userinfo (uri) != NULL || g_uri_get_query (uri) != NULL
      || g_uri_get_fragment (uri) != NULL)
    {
      g_set_error (error, HERALD_GRAPH_ERROR, HERALD_GRAPH_ERROR_INVALID_ENDPOINT,
                   _("The Graph endpoint “%s” must be a plain URL, without user name, query or "
                     "fragment."), endpoint);
      return NULL;
    }
  path = g_uri_get_path (uri);
  for (const char *p = path; p != NULL && *p != '\0'; p++)
    if (*p != '/')
      {
        g_set_error (error, HERALD_GRAPH_ERROR, HERALD_GRAPH_ERROR_INVALID_ENDPOINT,
                     _("The Graph endpoint “%s” must not have a path: give only "
                       "https:// and the host, e.g. %s."), endpoint, HERALD_GRAPH_DEFAULT_ENDPOINT);
        return NULL;
      }

  if (g_ascii_strcasecmp (scheme, "https") != 0
      && !(g_ascii_strcasecmp (scheme, "http") == 0 && loopback))
    {
      g_set_error (error, HERALD_GRAPH_ERROR, HERALD_GRAPH_ERROR_INVALID_ENDPOINT,
                   _("The Graph endpoint “%s” must start with https:// (plain http:// is accepted "
                     "only for this computer, 127.0.0.1 or localhost)."), endpoint);
      return NULL;
    }
  /* The endpoint receives the access token: only Microsoft's own hosts. */
  if (!known && !loopback)
    {
      g_set_error (error, HERALD_GRAPH_ERROR, HERALD_GRAPH_ERROR_INVALID_ENDPOINT,
                   _("“%s” is not a Microsoft Graph endpoint. Use https://graph.microsoft.com, "
                     "or for a national cloud https://graph.microsoft.us (US Government L4), "
                     "https://dod-graph.microsoft.us (US Government L5, DoD) or "
                     "https://microsoftgraph.chinacloudapi.cn (operated by 21Vianet)."), endpoint);
      return NULL;
    }

  port = g_uri_get_port (uri);
  if (port != -1 && !loopback && port != 443)
    {
      g_set_error (error, HERALD_GRAPH_ERROR, HERALD_GRAPH_ERROR_INVALID_ENDPOINT,
                   _("The Graph endpoint “%s” must not name a port: Microsoft Graph answers on "
                     "port 443 only."), endpoint);
      return NULL;
    }

  /* GUri gives an IPv6 host without its brackets. */
  if (strchr (host, ':') != NULL && host[0] != '[')
    {
      char *bracketed = g_strdup_printf ("[%s]", host);

      g_free (host);
      host = bracketed;
    }
  if (port == -1 || (!loopback && port == 443))
    return g_strdup_printf ("%s://%s", g_ascii_strcasecmp (scheme, "https") == 0 ? "https" : "http",
                            host);

  return g_strdup_printf ("%s://%s:%d", g_ascii_strcasecmp (scheme, "https") == 0 ? "https" : "http",
                          host, port);
}

char *
herald_graph_scope_for_endpoint (const char *endpoint,
                                 gboolean    app_only)
{
  g_autofree char *normalised = herald_graph_endpoint_normalise (endpoint, NULL);
  const char *resource = HERALD_GRAPH_DEFAULT_ENDPOINT;

  if (normalised == NULL)
    return NULL;
  /* A loopback endpoint is a stand-in for the global service. */
  if (g_str_has_prefix (normalised, "https://") && strchr (normalised + 8, ':') == NULL
      && !is_loopback_host (normalised + 8))
    resource = normalised;

  if (app_only)
    return g_strdup_printf ("%s/.default", resource);
  return g_strdup_printf ("%s/Mail.Send offline_access", resource);
}

/* ---- mode and config ------------------------------------------------------ */

const char *
herald_graph_mode_to_string (HeraldGraphMode mode)
{
  switch (mode)
    {
    case HERALD_GRAPH_DELEGATED:
      return "delegated";
    case HERALD_GRAPH_APP_ONLY:
      return "app-only";
    default:
      return NULL;
    }
}

gboolean
herald_graph_mode_from_string (const char      *str,
                               HeraldGraphMode *out)
{
  if (g_strcmp0 (str, "delegated") == 0)
    *out = HERALD_GRAPH_DELEGATED;
  else if (g_strcmp0 (str, "app-only") == 0)
    *out = HERALD_GRAPH_APP_ONLY;
  else
    return FALSE;

  return TRUE;
}

HeraldGraphConfig *
herald_graph_config_new (void)
{
  return g_new0 (HeraldGraphConfig, 1);
}

void
herald_graph_config_free (HeraldGraphConfig *config)
{
  if (config == NULL)
    return;

  g_free (config->endpoint);
  g_free (config->from);
  herald_secret_free (config->access_token);
  g_free (config);
}

/* ---- error JSON ------------------------------------------------------------ */

#define MAX_ERROR_DEPTH   32
#define MAX_ERROR_STRING  1024
#define MAX_ERROR_BODY    (64 * 1024)

void
herald_graph_error_free (HeraldGraphError *error)
{
  if (error == NULL)
    return;

  g_free (error->code);
  g_free (error->message);
  g_free (error->inner_code);
  g_free (error->request_id);
  g_free (error->date);
  g_free (error);
}

/* json-glib's parser recurses once per nesting level, so a body of 60 000
 * '[' would take its stack. Count the depth first, outside strings. */
static gboolean
nesting_within (const guint8 *data,
                gsize         len,
                guint         max)
{
  gboolean in_string = FALSE;
  guint depth = 0;

  for (gsize i = 0; i < len; i++)
    {
      guint8 c = data[i];

      if (in_string)
        {
          if (c == '\\')
            i++;
          else if (c == '"')
            in_string = FALSE;
          continue;
        }
      if (c == '"')
        in_string = TRUE;
      else if (c == '{' || c == '[')
        {
          if (++depth > max)
            return FALSE;
        }
      else if ((c == '}' || c == ']') && depth > 0)
        depth--;
    }

  return TRUE;
}

/* A member's string value, case-insensitive name (Graph writes "innerError",
 * its documentation "innererror"), valid UTF-8, capped. */
static JsonNode *
member_ci (JsonObject *object,
           const char *name)
{
  g_autoptr(GList) members = json_object_get_members (object);

  for (GList *l = members; l != NULL; l = l->next)
    if (g_ascii_strcasecmp (l->data, name) == 0)
      return json_object_get_member (object, l->data);

  return NULL;
}

static char *
string_member (JsonObject *object,
               const char *name)
{
  JsonNode *node = member_ci (object, name);
  const char *value;
  const char *end;
  gsize len;

  if (node == NULL || !JSON_NODE_HOLDS_VALUE (node) || json_node_get_value_type (node) != G_TYPE_STRING)
    return NULL;
  value = json_node_get_string (node);
  if (value == NULL)
    return NULL;

  len = strlen (value);
  if (len > MAX_ERROR_STRING)
    {
      /* Cut at a character boundary. */
      end = g_utf8_find_prev_char (value, value + MAX_ERROR_STRING + 1);
      len = end != NULL ? (gsize) (end - value) : 0;
    }

  /* Shown in the reply text, the transcript and JSON: printable only. */
  return herald_smtp_make_printable (value, len, FALSE);
}

HeraldGraphError *
herald_graph_error_parse (const guint8 *data,
                          gsize         len)
{
  g_autoptr(JsonParser) parser = NULL;
  g_autoptr(HeraldGraphError) parsed = NULL;
  g_autofree char *copy = NULL;
  JsonNode *root;
  JsonNode *error_node;
  JsonObject *error_object;
  JsonObject *inner = NULL;

  if (data == NULL || len == 0 || len > MAX_ERROR_BODY || !nesting_within (data, len, MAX_ERROR_DEPTH))
    return NULL;
  /* json-glib wants valid UTF-8 and stops at a NUL. */
  if (memchr (data, '\0', len) != NULL || !g_utf8_validate ((const char *) data, len, NULL))
    return NULL;

  copy = g_strndup ((const char *) data, len);
  parser = json_parser_new_immutable ();
  if (!json_parser_load_from_data (parser, copy, len, NULL))
    return NULL;

  root = json_parser_get_root (parser);
  if (root == NULL || !JSON_NODE_HOLDS_OBJECT (root))
    return NULL;
  error_node = member_ci (json_node_get_object (root), "error");
  if (error_node == NULL || !JSON_NODE_HOLDS_OBJECT (error_node))
    return NULL;
  error_object = json_node_get_object (error_node);

  parsed = g_new0 (HeraldGraphError, 1);
  parsed->code = string_member (error_object, "code");
  parsed->message = string_member (error_object, "message");
  if (parsed->code == NULL && parsed->message == NULL)
    return NULL;

  /* Walk the innerError chain: the deepest code is the most specific; the
   * request-id and date sit in the first one. The depth is bounded by the
   * nesting check above. */
  for (JsonNode *node = member_ci (error_object, "innerError");
       node != NULL && JSON_NODE_HOLDS_OBJECT (node);
       node = member_ci (inner, "innerError"))
    {
      g_autofree char *code = NULL;

      inner = json_node_get_object (node);
      code = string_member (inner, "code");
      if (code != NULL)
        {
          g_free (parsed->inner_code);
          parsed->inner_code = g_steal_pointer (&code);
        }
      if (parsed->request_id == NULL)
        parsed->request_id = string_member (inner, "request-id");
      if (parsed->date == NULL)
        parsed->date = string_member (inner, "date");
    }

  return g_steal_pointer (&parsed);
}
