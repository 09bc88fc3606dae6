/* SPDX-License-Identifier: GPL-3.0-or-later
 * Copyright 2026 The Herald authors
 */
#define G_LOG_DOMAIN "herald-diagnosis"

#include "config.h"

#include <glib/gi18n-lib.h>
#include <json-glib/json-glib.h>
#include <string.h>

#include "herald-diagnosis.h"
#include "herald-diagnosis-private.h"
#include "herald-diagnosis-resources.h"
#include "herald-rules-private.h"

/* Loading data/rules/diagnosis-rules.json: every field checked, every
 * regex compiled once; a malformed rule is dropped with a g_critical. */

#define RULES_RESOURCE "/io/github/heraldmail/Herald/diagnosis/diagnosis-rules.json"

/* The rules' names of HeraldActor and HeraldSeverity, in enum order. */
static const char *actor_names[] = { "you", "mail-admin", "provider" };
static const char *severity_names[] = { "error", "warning", "info" };

/* Finds @str in @names; its index is the enum value. */
static gboolean
enum_from_string (const char  *str,
                  const char **names,
                  guint        n_names,
                  guint       *out)
{
  for (guint i = 0; i < n_names; i++)
    if (g_strcmp0 (str, names[i]) == 0)
      {
        *out = i;
        return TRUE;
      }
  return FALSE;
}

/* ---------------------------------------------------------------------------
 * The rules, as loaded from the GResource
 * ------------------------------------------------------------------------- */

static void
step_template_free (gpointer data)
{
  StepTemplate *step = data;

  g_free (step->text);
  g_free (step->command);
  g_free (step);
}

static void
texts_clear (Texts *texts)
{
  g_clear_pointer (&texts->title, g_free);
  g_clear_pointer (&texts->explanation, g_free);
  g_clear_pointer (&texts->steps, g_ptr_array_unref);
  g_clear_pointer (&texts->links, g_ptr_array_unref);
}

static void
rule_free (gpointer data)
{
  Rule *rule = data;

  g_free (rule->id);
  g_free (rule->provider);
  g_clear_pointer (&rule->codes, g_array_unref);
  g_strfreev (rule->enhanced);
  g_clear_pointer (&rule->pattern, _herald_pattern_free);
  g_clear_pointer (&rule->errors, g_array_unref);
  g_clear_pointer (&rule->error_pattern, g_regex_unref);
  g_clear_pointer (&rule->ports, g_array_unref);
  g_clear_pointer (&rule->server, g_regex_unref);
  g_clear_pointer (&rule->server_words, g_regex_unref);
  g_clear_pointer (&rule->transport_words, g_regex_unref);
  texts_clear (&rule->texts);
  g_free (rule);
}

static void
notice_free (gpointer data)
{
  Notice *notice = data;

  g_free (notice->id);
  texts_clear (&notice->texts);
  g_free (notice);
}

/* Translates a string of the rules file. xgettext cannot read JSON, so the
 * msgids are extracted into data/rules/diagnosis-rules-strings.c (generated
 * by data/rules/extract-strings.py, checked by a test). */
static char *
translate (const char *msgid)
{
  if (msgid == NULL || *msgid == '\0')
    return g_strdup (msgid);
  return g_strdup (g_dgettext (GETTEXT_PACKAGE, msgid));
}

static const struct {
  const char *name;
  int         code;
} herald_error_names[] = {
  { "HERALD_SMTP_ERROR_INVALID_CONFIG",         HERALD_SMTP_ERROR_INVALID_CONFIG },
  { "HERALD_SMTP_ERROR_PROTOCOL",               HERALD_SMTP_ERROR_PROTOCOL },
  { "HERALD_SMTP_ERROR_REPLY_TOO_LONG",         HERALD_SMTP_ERROR_REPLY_TOO_LONG },
  { "HERALD_SMTP_ERROR_CLOSED",                 HERALD_SMTP_ERROR_CLOSED },
  { "HERALD_SMTP_ERROR_NO_GREETING",            HERALD_SMTP_ERROR_NO_GREETING },
  { "HERALD_SMTP_ERROR_REJECTED",               HERALD_SMTP_ERROR_REJECTED },
  { "HERALD_SMTP_ERROR_STARTTLS_NOT_OFFERED",   HERALD_SMTP_ERROR_STARTTLS_NOT_OFFERED },
  { "HERALD_SMTP_ERROR_AUTH_NOT_OFFERED",       HERALD_SMTP_ERROR_AUTH_NOT_OFFERED },
  { "HERALD_SMTP_ERROR_MECHANISM_NOT_OFFERED",  HERALD_SMTP_ERROR_MECHANISM_NOT_OFFERED },
  { "HERALD_SMTP_ERROR_PLAINTEXT_AUTH_REFUSED", HERALD_SMTP_ERROR_PLAINTEXT_AUTH_REFUSED },
  { "HERALD_SMTP_ERROR_TLS_CERTIFICATE",        HERALD_SMTP_ERROR_TLS_CERTIFICATE },
  { "HERALD_SMTP_ERROR_8BIT_NOT_OFFERED",       HERALD_SMTP_ERROR_8BIT_NOT_OFFERED },
  { "HERALD_SMTP_ERROR_NOT_ATTEMPTED",          HERALD_SMTP_ERROR_NOT_ATTEMPTED },
  { "HERALD_SMTP_ERROR_DEADLINE",               HERALD_SMTP_ERROR_DEADLINE },
};

/* Maps "G_IO_ERROR_TIMED_OUT", "G_RESOLVER_ERROR_NOT_FOUND", "G_TLS_ERROR_NOT_TLS"
 * or "HERALD_SMTP_ERROR_NO_GREETING" to a domain and a code. GIO's own
 * enumerations are looked up through their GEnumClass, so every code GIO
 * knows can be named in the rules file. */
static gboolean
parse_error_name (const char *name,
                  ErrorKey   *key)
{
  static const struct {
    const char *prefix;
    GQuark (*quark) (void);
    GType (*type) (void);
  } domains[] = {
    { "G_IO_ERROR_",       g_io_error_quark,       g_io_error_enum_get_type },
    { "G_RESOLVER_ERROR_", g_resolver_error_quark, g_resolver_error_get_type },
    { "G_TLS_ERROR_",      g_tls_error_quark,      g_tls_error_get_type },
  };

  for (guint i = 0; i < G_N_ELEMENTS (herald_error_names); i++)
    if (g_strcmp0 (name, herald_error_names[i].name) == 0)
      {
        key->domain = HERALD_SMTP_ERROR;
        key->code = herald_error_names[i].code;
        return TRUE;
      }

  for (guint i = 0; i < G_N_ELEMENTS (domains); i++)
    if (g_str_has_prefix (name, domains[i].prefix))
      {
        GEnumClass *klass = g_type_class_ref (domains[i].type ());
        GEnumValue *value = g_enum_get_value_by_name (klass, name);
        gboolean found = value != NULL;

        if (found)
          {
            key->domain = domains[i].quark ();
            key->code = value->value;
          }
        g_type_class_unref (klass);
        return found;
      }

  return FALSE;
}

gboolean
_herald_error_from_name (const char *name,
                         GQuark     *domain,
                         int        *code)
{
  ErrorKey key;

  if (!parse_error_name (name, &key))
    return FALSE;
  *domain = key.domain;
  *code = key.code;
  return TRUE;
}

static const struct {
  const char *name;
  guint       flag;
} tls_flag_names[] = {
  { "unknown-ca",    G_TLS_CERTIFICATE_UNKNOWN_CA },
  { "bad-identity",  G_TLS_CERTIFICATE_BAD_IDENTITY },
  { "not-activated", G_TLS_CERTIFICATE_NOT_ACTIVATED },
  { "expired",       G_TLS_CERTIFICATE_EXPIRED },
  { "revoked",       G_TLS_CERTIFICATE_REVOKED },
  { "insecure",      G_TLS_CERTIFICATE_INSECURE },
  { "generic-error", G_TLS_CERTIFICATE_GENERIC_ERROR },
};

static int
compare_priority (gconstpointer a,
                  gconstpointer b)
{
  const Rule *ra = *(const Rule * const *) a;
  const Rule *rb = *(const Rule * const *) b;

  return (rb->priority > ra->priority) - (rb->priority < ra->priority);
}

static GRegex *
compile_regex (const char  *rule_id,
               const char  *field,
               const char  *pattern)
{
  g_autoptr(GError) error = NULL;
  GRegex *regex;

  regex = g_regex_new (pattern, G_REGEX_CASELESS, 0, &error);
  if (regex == NULL)
    g_critical ("diagnosis-rules.json: rule “%s”: bad %s: %s", rule_id, field, error->message);
  return regex;
}

/* Each helper below returns FALSE (after a g_critical) on a malformed field,
 * which drops the rule: the tests run with fatal criticals, so a typo in the
 * rules file fails them. */

static gboolean
load_string_list (JsonObject  *object,
                  const char  *member,
                  const char  *rule_id,
                  char      ***out)
{
  JsonArray *array;
  GPtrArray *strv;

  *out = NULL;
  if (!json_object_has_member (object, member))
    return TRUE;
  array = json_object_get_array_member (object, member);
  if (array == NULL)
    {
      g_critical ("diagnosis-rules.json: rule “%s”: “%s” must be an array", rule_id, member);
      return FALSE;
    }
  strv = g_ptr_array_new ();
  for (guint i = 0; i < json_array_get_length (array); i++)
    {
      const char *str = json_array_get_string_element (array, i);

      if (str == NULL)
        {
          g_critical ("diagnosis-rules.json: rule “%s”: “%s” must hold strings", rule_id, member);
          g_ptr_array_free (strv, TRUE);
          return FALSE;
        }
      g_ptr_array_add (strv, g_strdup (str));
    }
  g_ptr_array_add (strv, NULL);
  *out = (char **) g_ptr_array_free (strv, FALSE);
  return TRUE;
}

static gboolean
load_int_list (JsonObject  *object,
               const char  *member,
               const char  *rule_id,
               GArray     **out)
{
  JsonArray *array;

  *out = NULL;
  if (!json_object_has_member (object, member))
    return TRUE;
  array = json_object_get_array_member (object, member);
  if (array == NULL)
    {
      g_critical ("diagnosis-rules.json: rule “%s”: “%s” must be an array", rule_id, member);
      return FALSE;
    }
  *out = g_array_new (FALSE, FALSE, sizeof (int));
  for (guint i = 0; i < json_array_get_length (array); i++)
    {
      int value = (int) json_array_get_int_element (array, i);
      g_array_append_val (*out, value);
    }
  return TRUE;
}

/* "2027-01-01" as Unix seconds at midnight UTC. */
static gboolean
parse_date (const char *str,
            gint64     *out)
{
  g_autofree char *iso = NULL;
  g_autoptr(GDateTime) date = NULL;

  if (str == NULL || strlen (str) != 10 || str[4] != '-' || str[7] != '-')
    return FALSE;
  iso = g_strconcat (str, "T00:00:00Z", NULL);
  date = g_date_time_new_from_iso8601 (iso, NULL);
  if (date == NULL)
    return FALSE;
  *out = g_date_time_to_unix (date);
  return TRUE;
}

/* The optional "valid_from" and "valid_until" dates of a rule, notice or
 * step: a wording that goes stale is replaced by data, not by code. */
static gboolean
load_validity (JsonObject *object,
               const char *id,
               gint64     *valid_from,
               gint64     *valid_until)
{
  const char *from = json_object_get_string_member_with_default (object, "valid_from", NULL);
  const char *until = json_object_get_string_member_with_default (object, "valid_until", NULL);

  *valid_from = G_MININT64;
  *valid_until = G_MAXINT64;
  if ((from != NULL && !parse_date (from, valid_from)) ||
      (until != NULL && !parse_date (until, valid_until)))
    {
      g_critical ("diagnosis-rules.json: “%s”: dates are written YYYY-MM-DD", id);
      return FALSE;
    }
  if (*valid_from >= *valid_until)
    {
      g_critical ("diagnosis-rules.json: “%s”: valid_from is not before valid_until", id);
      return FALSE;
    }
  return TRUE;
}

static GMutex now_lock;
static gboolean now_pinned;
static gint64 now_value;

void
_herald_diagnosis_set_now (GDateTime *now)
{
  g_mutex_lock (&now_lock);
  now_pinned = now != NULL;
  now_value = now != NULL ? g_date_time_to_unix (now) : 0;
  g_mutex_unlock (&now_lock);
}

gint64
_herald_diagnosis_now (void)
{
  const char *env;
  gint64 now = 0;
  gboolean pinned;

  g_mutex_lock (&now_lock);
  pinned = now_pinned;
  now = now_value;
  g_mutex_unlock (&now_lock);
  if (pinned)
    return now;

  env = g_getenv ("HERALD_NOW");
  if (env != NULL && *env != '\0')
    {
      g_autoptr(GDateTime) date = g_date_time_new_from_iso8601 (env, NULL);

      if (date != NULL)
        return g_date_time_to_unix (date);
      if (parse_date (env, &now))
        return now;
      g_warning ("HERALD_NOW=“%s” is neither a date (2027-01-01) nor an ISO 8601 date and time; "
                 "using the clock", env);
    }
  return g_get_real_time () / G_USEC_PER_SEC;
}

static gboolean
load_texts (JsonObject *object,
            const char *id,
            Texts      *texts)
{
  const char *actor = json_object_get_string_member_with_default (object, "actor", "you");
  const char *severity = json_object_get_string_member_with_default (object, "severity", "error");
  const char *title = json_object_get_string_member_with_default (object, "title", NULL);
  const char *explanation = json_object_get_string_member_with_default (object, "explanation", NULL);
  const char *action;
  JsonArray *steps = NULL;
  JsonArray *links = NULL;
  guint actor_value, severity_value;

  if (title == NULL || explanation == NULL)
    {
      g_critical ("diagnosis-rules.json: “%s” needs a title and an explanation", id);
      return FALSE;
    }
  if (!enum_from_string (actor, actor_names, G_N_ELEMENTS (actor_names), &actor_value))
    {
      g_critical ("diagnosis-rules.json: “%s”: unknown actor “%s”", id, actor);
      return FALSE;
    }
  if (!enum_from_string (severity, severity_names, G_N_ELEMENTS (severity_names), &severity_value))
    {
      g_critical ("diagnosis-rules.json: “%s”: unknown severity “%s”", id, severity);
      return FALSE;
    }
  action = json_object_get_string_member_with_default (object, "action", NULL);
  if (action != NULL && !herald_action_from_string (action, &texts->action))
    {
      g_critical ("diagnosis-rules.json: “%s”: unknown action “%s”", id, action);
      return FALSE;
    }
  action = json_object_get_string_member_with_default (object, "alternative_action", NULL);
  if (action != NULL && !herald_action_from_string (action, &texts->alternative_action))
    {
      g_critical ("diagnosis-rules.json: “%s”: unknown alternative_action “%s”", id, action);
      return FALSE;
    }
  texts->actor = (HeraldActor) actor_value;
  texts->severity = (HeraldSeverity) severity_value;

  if (!load_validity (object, id, &texts->valid_from, &texts->valid_until))
    return FALSE;
  texts->title = translate (title);
  texts->explanation = translate (explanation);
  texts->steps = g_ptr_array_new_with_free_func (step_template_free);
  texts->links = g_ptr_array_new_with_free_func (_herald_link_free);

  if (json_object_has_member (object, "steps"))
    steps = json_object_get_array_member (object, "steps");
  for (guint i = 0; steps != NULL && i < json_array_get_length (steps); i++)
    {
      JsonObject *step = json_array_get_object_element (steps, i);
      StepTemplate *tmpl;
      const char *text;

      if (step == NULL ||
          (text = json_object_get_string_member_with_default (step, "text", NULL)) == NULL)
        {
          g_critical ("diagnosis-rules.json: “%s”: step %u needs a text", id, i + 1);
          return FALSE;
        }
      tmpl = g_new0 (StepTemplate, 1);
      if (!load_validity (step, id, &tmpl->valid_from, &tmpl->valid_until))
        {
          g_free (tmpl);
          return FALSE;
        }
      tmpl->text = translate (text);
      /* Commands are not translated: they are typed into a shell. */
      tmpl->command = g_strdup (json_object_get_string_member_with_default (step, "command", NULL));
      g_ptr_array_add (texts->steps, tmpl);
    }

  if (json_object_has_member (object, "links"))
    links = json_object_get_array_member (object, "links");
  for (guint i = 0; links != NULL && i < json_array_get_length (links); i++)
    {
      JsonObject *link = json_array_get_object_element (links, i);
      const char *ltitle, *url;
      g_autofree char *translated = NULL;

      if (link == NULL ||
          (ltitle = json_object_get_string_member_with_default (link, "title", NULL)) == NULL ||
          (url = json_object_get_string_member_with_default (link, "url", NULL)) == NULL ||
          !g_str_has_prefix (url, "https://"))
        {
          g_critical ("diagnosis-rules.json: “%s”: link %u needs a title and an https URL", id, i + 1);
          return FALSE;
        }
      translated = translate (ltitle);
      g_ptr_array_add (texts->links, _herald_link_new (translated, url));
    }

  return TRUE;
}

static Rule *
load_rule (JsonObject *object)
{
  g_autoptr(GPtrArray) holder = g_ptr_array_new_with_free_func (rule_free);
  g_auto(GStrv) stages = NULL;
  g_auto(GStrv) errors = NULL;
  g_auto(GStrv) tls_flags = NULL;
  g_auto(GStrv) securities = NULL;
  g_auto(GStrv) auths = NULL;
  g_auto(GStrv) transports = NULL;
  g_autoptr(GArray) classes = NULL;
  const char *id = json_object_get_string_member_with_default (object, "id", NULL);
  const char *str;
  Rule *rule;

  if (id == NULL || *id == '\0')
    {
      g_critical ("diagnosis-rules.json: a rule has no id");
      return NULL;
    }

  rule = g_new0 (Rule, 1);
  g_ptr_array_add (holder, rule);   /* freed on every early return */
  rule->id = g_strdup (id);
  rule->provider = g_strdup (json_object_get_string_member_with_default (object, "provider", "generic"));
  rule->priority = (int) json_object_get_int_member_with_default (object, "priority", 0);
  rule->fallback = json_object_get_boolean_member_with_default (object, "fallback", FALSE);
  rule->no_reply = json_object_get_boolean_member_with_default (object, "no_reply", FALSE);
  rule->no_code = json_object_get_boolean_member_with_default (object, "no_code", FALSE);

  if (!load_string_list (object, "stages", id, &stages) ||
      !load_int_list (object, "codes", id, &rule->codes) ||
      !load_int_list (object, "classes", id, &classes) ||
      !load_string_list (object, "enhanced", id, &rule->enhanced) ||
      !load_string_list (object, "errors", id, &errors) ||
      !load_string_list (object, "tls_flags", id, &tls_flags) ||
      !load_string_list (object, "security", id, &securities) ||
      !load_int_list (object, "ports", id, &rule->ports) ||
      !load_string_list (object, "auth", id, &auths) ||
      !load_string_list (object, "transports", id, &transports))
    return NULL;

  for (guint i = 0; transports != NULL && transports[i] != NULL; i++)
    {
      if (g_str_equal (transports[i], "smtp"))
        rule->transports |= TRANSPORT_KIND_SMTP;
      else if (g_str_equal (transports[i], "graph"))
        rule->transports |= TRANSPORT_KIND_GRAPH;
      else
        {
          g_critical ("diagnosis-rules.json: rule “%s”: unknown transport “%s”", id, transports[i]);
          return NULL;
        }
    }

  for (guint i = 0; stages != NULL && stages[i] != NULL; i++)
    {
      HeraldStage stage;

      if (!herald_stage_from_string (stages[i], &stage))
        {
          g_critical ("diagnosis-rules.json: rule “%s”: unknown stage “%s”", id, stages[i]);
          return NULL;
        }
      rule->stages |= 1u << stage;
    }

  for (guint i = 0; classes != NULL && i < classes->len; i++)
    {
      int klass = g_array_index (classes, int, i);

      if (klass < 2 || klass > 5)
        {
          g_critical ("diagnosis-rules.json: rule “%s”: class %d is not 2..5", id, klass);
          return NULL;
        }
      rule->classes |= 1u << klass;
    }

  if (errors != NULL)
    {
      rule->errors = g_array_new (FALSE, FALSE, sizeof (ErrorKey));
      for (guint i = 0; errors[i] != NULL; i++)
        {
          ErrorKey key;

          if (!parse_error_name (errors[i], &key))
            {
              g_critical ("diagnosis-rules.json: rule “%s”: unknown error “%s”", id, errors[i]);
              return NULL;
            }
          g_array_append_val (rule->errors, key);
        }
    }

  for (guint i = 0; tls_flags != NULL && tls_flags[i] != NULL; i++)
    {
      gboolean found = FALSE;

      for (guint j = 0; j < G_N_ELEMENTS (tls_flag_names); j++)
        if (g_str_equal (tls_flags[i], tls_flag_names[j].name))
          {
            rule->tls_flags |= tls_flag_names[j].flag;
            found = TRUE;
          }
      if (!found)
        {
          g_critical ("diagnosis-rules.json: rule “%s”: unknown TLS flag “%s”", id, tls_flags[i]);
          return NULL;
        }
    }

  for (guint i = 0; securities != NULL && securities[i] != NULL; i++)
    {
      HeraldSecurity security;

      if (!herald_security_from_string (securities[i], &security))
        {
          g_critical ("diagnosis-rules.json: rule “%s”: unknown security “%s”", id, securities[i]);
          return NULL;
        }
      rule->securities |= 1u << security;
    }

  for (guint i = 0; auths != NULL && auths[i] != NULL; i++)
    {
      if (g_str_equal (auths[i], "none"))
        rule->auths |= AUTH_KIND_NONE;
      else if (g_str_equal (auths[i], "password"))
        rule->auths |= AUTH_KIND_PASSWORD;
      else if (g_str_equal (auths[i], "oauth"))
        rule->auths |= AUTH_KIND_OAUTH;
      else
        {
          g_critical ("diagnosis-rules.json: rule “%s”: unknown auth kind “%s”", id, auths[i]);
          return NULL;
        }
    }

  if ((str = json_object_get_string_member_with_default (object, "pattern", NULL)) != NULL)
    {
      g_autoptr(GError) error = NULL;

      /* Its alternatives are compiled when first needed (the tests compile
       * them all): most are never needed for one text. */
      rule->pattern = _herald_pattern_new (str, &error);
      if (rule->pattern == NULL)
        {
          g_critical ("diagnosis-rules.json: rule “%s”: bad pattern: %s", id, error->message);
          return NULL;
        }
    }
  if ((str = json_object_get_string_member_with_default (object, "error_pattern", NULL)) != NULL &&
      (rule->error_pattern = compile_regex (id, "error_pattern", str)) == NULL)
    return NULL;
  if ((str = json_object_get_string_member_with_default (object, "server", NULL)) != NULL &&
      (rule->server = compile_regex (id, "server", str)) == NULL)
    return NULL;
  if ((str = json_object_get_string_member_with_default (object, "server_words", NULL)) != NULL &&
      (rule->server_words = compile_regex (id, "server_words", str)) == NULL)
    return NULL;
  if (rule->server_words != NULL && rule->server == NULL)
    {
      g_critical ("diagnosis-rules.json: rule “%s”: server_words stands in for server, which it lacks", id);
      return NULL;
    }
  if ((str = json_object_get_string_member_with_default (object, "transport_words", NULL)) != NULL &&
      (rule->transport_words = compile_regex (id, "transport_words", str)) == NULL)
    return NULL;
  if (rule->transport_words != NULL && (!rule->fallback || rule->transports == 0))
    {
      g_critical ("diagnosis-rules.json: rule “%s”: transport_words belongs to a transport's fallback", id);
      return NULL;
    }

  /* A rule must look at some evidence; only fallbacks may match anything. */
  if (!rule->fallback && rule->codes == NULL && rule->classes == 0 && rule->enhanced == NULL &&
      rule->pattern == NULL && rule->errors == NULL && rule->tls_flags == 0)
    {
      g_critical ("diagnosis-rules.json: rule “%s” has no reply, error or TLS condition", id);
      return NULL;
    }

  if (!load_texts (object, id, &rule->texts))
    return NULL;

  return g_ptr_array_steal_index (holder, 0);
}

static gboolean
notice_overlaps (GPtrArray    *notices,
                 const Notice *notice)
{
  for (guint i = 0; i < notices->len; i++)
    {
      const Notice *other = g_ptr_array_index (notices, i);

      if (g_str_equal (other->id, notice->id) &&
          other->texts.valid_from < notice->texts.valid_until &&
          notice->texts.valid_from < other->texts.valid_until)
        return TRUE;
    }
  return FALSE;
}

static gpointer
load_rules (gpointer data)
{
  RuleSet *set = g_new0 (RuleSet, 1);
  g_autoptr(GBytes) bytes = NULL;
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autoptr(GError) error = NULL;
  g_autoptr(GHashTable) seen = g_hash_table_new (g_str_hash, g_str_equal);
  JsonObject *root;
  JsonArray *rules = NULL;
  JsonArray *notices = NULL;

  set->rules = g_ptr_array_new_with_free_func (rule_free);
  set->notices = g_ptr_array_new_with_free_func (notice_free);
  set->rule_ids = g_ptr_array_new ();
  set->notice_ids = g_ptr_array_new ();

  /* Looked up in our own GResource (not the global set), which also keeps
   * the linker from dropping it out of the static library. */
  bytes = g_resource_lookup_data (herald_diagnosis_get_resource (), RULES_RESOURCE,
                                  G_RESOURCE_LOOKUP_FLAGS_NONE, &error);
  if (g_getenv ("HERALD_DIAGNOSIS_RULES") != NULL)
    {
      const char *path = g_getenv ("HERALD_DIAGNOSIS_RULES");
      char *contents = NULL;
      gsize length = 0;

      g_clear_pointer (&bytes, g_bytes_unref);
      if (g_file_get_contents (path, &contents, &length, &error))
        bytes = g_bytes_new_take (contents, length);
    }
  if (bytes == NULL ||
      !json_parser_load_from_data (parser, g_bytes_get_data (bytes, NULL),
                                   (gssize) g_bytes_get_size (bytes), &error))
    {
      g_critical ("Cannot load the diagnosis rules: %s", error ? error->message : "missing");
      goto out;
    }

  root = json_node_get_object (json_parser_get_root (parser));
  if (root == NULL)
    {
      g_critical ("diagnosis-rules.json: the top level must be an object");
      goto out;
    }
  if (json_object_has_member (root, "rules"))
    rules = json_object_get_array_member (root, "rules");
  if (json_object_has_member (root, "notices"))
    notices = json_object_get_array_member (root, "notices");

  for (guint i = 0; rules != NULL && i < json_array_get_length (rules); i++)
    {
      JsonObject *object = json_array_get_object_element (rules, i);
      Rule *rule = object ? load_rule (object) : NULL;

      if (rule == NULL)
        continue;
      if (g_hash_table_contains (seen, rule->id))
        {
          g_critical ("diagnosis-rules.json: duplicate rule id “%s”", rule->id);
          rule_free (rule);
          continue;
        }
      g_hash_table_add (seen, rule->id);
      g_ptr_array_add (set->rules, rule);
      g_ptr_array_add (set->rule_ids, rule->id);
    }

  for (guint i = 0; notices != NULL && i < json_array_get_length (notices); i++)
    {
      JsonObject *object = json_array_get_object_element (notices, i);
      const char *id = object ? json_object_get_string_member_with_default (object, "id", NULL) : NULL;
      Notice *notice;

      if (id == NULL)
        {
          g_critical ("diagnosis-rules.json: a notice has no id");
          continue;
        }
      notice = g_new0 (Notice, 1);
      notice->id = g_strdup (id);
      if (!load_texts (object, id, &notice->texts))
        {
          notice_free (notice);
          continue;
        }
      /* One id may have several wordings for different dates (the notice
       * before and after a deadline), never two for the same day. */
      if (notice_overlaps (set->notices, notice))
        {
          g_critical ("diagnosis-rules.json: notices “%s” overlap in time", id);
          notice_free (notice);
          continue;
        }
      if (!g_ptr_array_find_with_equal_func (set->notice_ids, id, g_str_equal, NULL))
        g_ptr_array_add (set->notice_ids, notice->id);
      g_ptr_array_add (set->notices, notice);
    }

out:
  /* g_ptr_array_sort() is stable, so among equal priorities the rule
   * earlier in the file stays first. */
  set->by_priority = g_ptr_array_copy (set->rules, NULL, NULL);
  g_ptr_array_sort (set->by_priority, compare_priority);
  g_ptr_array_add (set->rule_ids, NULL);
  g_ptr_array_add (set->notice_ids, NULL);
  return set;
}

/* The rules are loaded once, on first use, from whichever thread gets there
 * first (the engine's worker or the main thread); afterwards they are only
 * read, and GRegex matching is thread-safe. */
const RuleSet *
_herald_rules_get (void)
{
  static GOnce once = G_ONCE_INIT;

  g_once (&once, load_rules, NULL);
  return once.retval;
}

static gpointer
preload_thread (gpointer data)
{
  _herald_rules_get ();
  return NULL;
}

void
herald_diagnosis_preload (void)
{
  static gsize started = 0;

  if (g_once_init_enter (&started))
    {
      g_thread_unref (g_thread_new ("herald-rules", preload_thread, NULL));
      g_once_init_leave (&started, 1);
    }
}

gboolean
_herald_rules_compile_all (GError **error)
{
  const RuleSet *set = _herald_rules_get ();

  for (guint i = 0; i < set->rules->len; i++)
    {
      const Rule *rule = g_ptr_array_index (set->rules, i);

      if (rule->pattern != NULL && !_herald_pattern_compile_all (rule->pattern, error))
        {
          g_prefix_error (error, "rule “%s”: ", rule->id);
          return FALSE;
        }
    }
  return TRUE;
}

const char * const *
_herald_diagnosis_rule_ids (void)
{
  return (const char * const *) _herald_rules_get ()->rule_ids->pdata;
}

const char * const *
_herald_diagnosis_notice_ids (void)
{
  return (const char * const *) _herald_rules_get ()->notice_ids->pdata;
}
