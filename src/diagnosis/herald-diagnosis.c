/* SPDX-License-Identifier: GPL-3.0-or-later
 * Copyright 2026 The Herald authors
 */
#define G_LOG_DOMAIN "herald-diagnosis"

#include "config.h"

#include <glib/gi18n-lib.h>
#include <json-glib/json-glib.h>
#include <stdlib.h>
#include <string.h>

#include "herald-diagnosis.h"
#include "herald-diagnosis-private.h"
#include "herald-diagnosis-resources.h"

#define RULES_RESOURCE "/io/github/heraldmail/Herald/diagnosis/diagnosis-rules.json"

/* ---------------------------------------------------------------------------
 * Enumerations
 * ------------------------------------------------------------------------- */

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

static void
link_free (gpointer data)
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

static HeraldLink *
link_new (const char *title,
          const char *url)
{
  HeraldLink *link = g_new0 (HeraldLink, 1);

  link->title = g_strdup (title);
  link->url = g_strdup (url);
  return link;
}

static HeraldDiagnosis *
diagnosis_new (void)
{
  HeraldDiagnosis *d = g_new0 (HeraldDiagnosis, 1);

  d->steps = g_ptr_array_new_with_free_func (step_free);
  d->links = g_ptr_array_new_with_free_func (link_free);
  return d;
}

HeraldDiagnosis *
herald_diagnosis_copy (const HeraldDiagnosis *diagnosis)
{
  HeraldDiagnosis *copy;

  g_return_val_if_fail (diagnosis != NULL, NULL);

  copy = diagnosis_new ();
  copy->id = g_strdup (diagnosis->id);
  copy->title = g_strdup (diagnosis->title);
  copy->explanation = g_strdup (diagnosis->explanation);
  copy->actor = diagnosis->actor;
  copy->severity = diagnosis->severity;
  copy->details = g_strdup (diagnosis->details);
  for (guint i = 0; diagnosis->steps != NULL && i < diagnosis->steps->len; i++)
    {
      const HeraldDiagnosisStep *step = g_ptr_array_index (diagnosis->steps, i);
      g_ptr_array_add (copy->steps, step_new (step->text, step->command));
    }
  for (guint i = 0; diagnosis->links != NULL && i < diagnosis->links->len; i++)
    {
      const HeraldLink *link = g_ptr_array_index (diagnosis->links, i);
      g_ptr_array_add (copy->links, link_new (link->title, link->url));
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

/* ---------------------------------------------------------------------------
 * The rules, as loaded from the GResource
 * ------------------------------------------------------------------------- */

typedef enum {
  AUTH_KIND_NONE     = 1 << 0,
  AUTH_KIND_PASSWORD = 1 << 1,
  AUTH_KIND_OAUTH    = 1 << 2,
} AuthKind;

typedef struct {
  GQuark domain;
  int    code;
} ErrorKey;

typedef struct {
  char       *text;
  char       *command;
} StepTemplate;

typedef struct {
  char           *title;
  char           *explanation;
  HeraldActor     actor;
  HeraldSeverity  severity;
  GPtrArray      *steps;   /* of StepTemplate */
  GPtrArray      *links;   /* of HeraldLink */
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
  GRegex    *pattern;        /* on the normalised reply; NULL: any */
  GArray    *errors;         /* of ErrorKey; NULL: any */
  GRegex    *error_pattern;  /* on the GError's message */
  guint      tls_flags;      /* GTlsCertificateFlags, any of; 0: any */
  guint      securities;     /* bit per HeraldSecurity; 0: any */
  GArray    *ports;          /* of int; NULL: any */
  GRegex    *server;         /* on "host greeting"; NULL: any */
  guint      auths;          /* AuthKind bits; 0: any */
  Texts      texts;
} Rule;

typedef struct {
  char  *id;
  Texts  texts;
} Notice;

typedef struct {
  GPtrArray *rules;       /* of Rule, in file order */
  GPtrArray *notices;     /* of Notice */
  GPtrArray *rule_ids;    /* of char*, NULL-terminated */
  GPtrArray *notice_ids;  /* of char*, NULL-terminated */
} RuleSet;

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
  g_clear_pointer (&rule->pattern, g_regex_unref);
  g_clear_pointer (&rule->errors, g_array_unref);
  g_clear_pointer (&rule->error_pattern, g_regex_unref);
  g_clear_pointer (&rule->ports, g_array_unref);
  g_clear_pointer (&rule->server, g_regex_unref);
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

static gboolean
load_texts (JsonObject *object,
            const char *id,
            Texts      *texts)
{
  const char *actor = json_object_get_string_member_with_default (object, "actor", "you");
  const char *severity = json_object_get_string_member_with_default (object, "severity", "error");
  const char *title = json_object_get_string_member_with_default (object, "title", NULL);
  const char *explanation = json_object_get_string_member_with_default (object, "explanation", NULL);
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
  texts->actor = (HeraldActor) actor_value;
  texts->severity = (HeraldSeverity) severity_value;

  texts->title = translate (title);
  texts->explanation = translate (explanation);
  texts->steps = g_ptr_array_new_with_free_func (step_template_free);
  texts->links = g_ptr_array_new_with_free_func (link_free);

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
      g_ptr_array_add (texts->links, link_new (translated, url));
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
      !load_string_list (object, "auth", id, &auths))
    return NULL;

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

  if ((str = json_object_get_string_member_with_default (object, "pattern", NULL)) != NULL &&
      (rule->pattern = compile_regex (id, "pattern", str)) == NULL)
    return NULL;
  if ((str = json_object_get_string_member_with_default (object, "error_pattern", NULL)) != NULL &&
      (rule->error_pattern = compile_regex (id, "error_pattern", str)) == NULL)
    return NULL;
  if ((str = json_object_get_string_member_with_default (object, "server", NULL)) != NULL &&
      (rule->server = compile_regex (id, "server", str)) == NULL)
    return NULL;

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
      g_ptr_array_add (set->notices, notice);
      g_ptr_array_add (set->notice_ids, notice->id);
    }

out:
  g_ptr_array_add (set->rule_ids, NULL);
  g_ptr_array_add (set->notice_ids, NULL);
  return set;
}

/* The rules are loaded once, on first use, from whichever thread gets there
 * first (the engine's worker or the main thread); afterwards they are only
 * read, and GRegex matching is thread-safe. */
static const RuleSet *
get_rules (void)
{
  static GOnce once = G_ONCE_INIT;

  g_once (&once, load_rules, NULL);
  return once.retval;
}

static gpointer
preload_thread (gpointer data)
{
  get_rules ();
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

const char * const *
_herald_diagnosis_rule_ids (void)
{
  return (const char * const *) get_rules ()->rule_ids->pdata;
}

const char * const *
_herald_diagnosis_notice_ids (void)
{
  return (const char * const *) get_rules ()->notice_ids->pdata;
}

/* ---------------------------------------------------------------------------
 * Reply text helpers
 * ------------------------------------------------------------------------- */

static GRegex *
static_regex (GRegex    **slot,
              const char *pattern)
{
  if (g_once_init_enter (slot))
    {
      GRegex *regex = g_regex_new (pattern, G_REGEX_CASELESS, 0, NULL);

      g_assert (regex != NULL);
      g_once_init_leave (slot, regex);
    }
  return *slot;
}

#define DEFINE_REGEX(name, pattern)            \
  static GRegex *                              \
  name (void)                                  \
  {                                            \
    static GRegex *regex;                      \
    return static_regex (&regex, pattern);     \
  }

/* "535-", "535 " or a bare "535" at the start of a line. */
DEFINE_REGEX (code_prefix_regex, "^\\s*([2-5][0-9][0-9])(?:[ -]|$)")
/* An enhanced status code at the start of the text. */
DEFINE_REGEX (enhanced_prefix_regex, "^\\s*([245]\\.[0-9]{1,3}\\.[0-9]{1,3})(?![0-9.])\\s*")
/* Microsoft's server tag, e.g. "[MN2PR05CA0004.namprd05.prod.outlook.com 2026-11-28T08:00:00.000Z 08DE...]". */
DEFINE_REGEX (server_tag_regex,
              "\\s*\\[[A-Z0-9]+(?:\\.[A-Z0-9-]+)*\\.(?:outlook|office365)\\.com\\b[^\\]]*\\]")
/* Exchange appends an earlier failure after "Error:" (e.g. 530 5.7.57 ... Error: 535 5.7.139 ...). */
DEFINE_REGEX (embedded_regex,
              "\\bError:\\s*([45][0-9][0-9])[ -]([245]\\.[0-9]{1,3}\\.[0-9]{1,3})\\s+(.+)$")

char *
_herald_strip_server_tag (const char *text)
{
  g_autofree char *stripped = NULL;

  if (text == NULL)
    return NULL;
  stripped = g_regex_replace_literal (server_tag_regex (), text, -1, 0, "", 0, NULL);
  if (stripped == NULL)
    return g_strdup (text);
  return g_strstrip (g_steal_pointer (&stripped));
}

char *
_herald_normalise_reply (const char *raw)
{
  g_auto(GStrv) lines = NULL;
  g_autofree char *first_enhanced = NULL;
  GString *out;

  if (raw == NULL)
    return NULL;

  out = g_string_new (NULL);
  lines = g_strsplit_set (raw, "\r\n", -1);
  for (guint i = 0; lines[i] != NULL; i++)
    {
      g_autoptr(GMatchInfo) match = NULL;
      const char *line = lines[i];
      g_autofree char *body = NULL;

      if (g_regex_match (code_prefix_regex (), line, 0, &match))
        {
          int end;

          g_match_info_fetch_pos (match, 0, NULL, &end);
          line += end;
        }
      g_clear_pointer (&match, g_match_info_free);

      if (g_regex_match (enhanced_prefix_regex (), line, 0, &match))
        {
          g_autofree char *enhanced = g_match_info_fetch (match, 1);
          int end;

          g_match_info_fetch_pos (match, 0, NULL, &end);
          if (first_enhanced == NULL && out->len == 0)
            first_enhanced = g_steal_pointer (&enhanced);
          else if (first_enhanced != NULL && g_str_equal (enhanced, first_enhanced))
            line += end;   /* a repeated enhanced code on a continuation line */
        }

      body = g_strstrip (g_strdup (line));
      if (*body == '\0')
        continue;
      if (out->len > 0)
        g_string_append_c (out, ' ');
      g_string_append (out, body);
    }

  return g_string_free (out, FALSE);
}

/* ---------------------------------------------------------------------------
 * Extracting a reply from another program's message
 * ------------------------------------------------------------------------- */

void
_herald_extracted_reply_free (HeraldExtractedReply *extracted)
{
  if (extracted == NULL)
    return;
  g_free (extracted->enhanced);
  g_free (extracted->reply);
  g_free (extracted->normalised);
  g_free (extracted);
}

/* Python's smtplib: SMTPAuthenticationError: (535, b'5.7.8 Username ...\n5.7.8 https://...') */
DEFINE_REGEX (python_tuple_regex,
              "\\(\\s*([2-5][0-9][0-9])\\s*,\\s*b?(['\"])((?:\\\\.|(?!\\2).)*)\\2\\s*\\)")
/* The start of a reply: a code (second digit 0-5, so port numbers like 587 or
 * 465 do not count) followed by a space, a dash or an enhanced code. */
DEFINE_REGEX (reply_start_regex,
              "(?<![0-9.:])([2-5][0-5][0-9])(?:-| (?=[2-5]\\.[0-9])| (?=[A-Za-z<\\[(]))")
DEFINE_REGEX (enhanced_start_regex,
              "(?<![0-9.])([245]\\.[0-9]{1,3}\\.[0-9]{1,3})(?![0-9.])\\s")
/* The same two for refusals only (4xx/5xx). */
DEFINE_REGEX (refusal_start_regex,
              "(?<![0-9.:])([45][0-5][0-9])(?:-| (?=[2-5]\\.[0-9])| (?=[A-Za-z<\\[(]))")
DEFINE_REGEX (refusal_enhanced_regex,
              "(?<![0-9.])([45]\\.[0-9]{1,3}\\.[0-9]{1,3})(?![0-9.])\\s")

/* The most of a pasted text taken as the reply: what the engine accepts in
 * one reply it reads. */
#define MAX_REPLY_LINES 256
#define MAX_REPLY_BYTES (64 * 1024)

/* The first match of @regex in @text (of @length bytes), or -1. Every search
 * of a pasted text goes through here: one call looks at the text once, and
 * @work counts the bytes handed to the regex engine (which checks the UTF-8
 * of the whole subject on every call), so a test can check that the work
 * stays linear in the size of the text. */
static int
search (GRegex      *regex,
        const char  *text,
        gssize       length,
        gsize       *work,
        GMatchInfo **match_out)
{
  g_autoptr(GMatchInfo) match = NULL;
  int pos = -1;

  if (length < 0)
    length = (gssize) strlen (text);
  *work += (gsize) length;
  if (g_regex_match_full (regex, text, length, 0, 0, &match, NULL))
    g_match_info_fetch_pos (match, 0, &pos, NULL);
  if (match_out != NULL)
    *match_out = g_steal_pointer (&match);
  return pos;
}

/* Log and transcript prefixes before a reply line: swaks ("<-  ", "<~* "),
 * "S: ", "<<< ", "> ". */
DEFINE_REGEX (line_prefix_regex, "^\\s*(?:[<>~*|-]+\\s*|S:\\s*)?")

/* Returns the line without its transcript prefix when it continues the
 * reply (same code, or the same enhanced code for texts without codes),
 * else NULL. */
static const char *
continues_reply (const char *line,
                 int         code,
                 const char *enhanced)
{
  g_autoptr(GMatchInfo) match = NULL;
  const char *p = line;
  int end = 0;

  if (g_regex_match (line_prefix_regex (), line, 0, &match))
    g_match_info_fetch_pos (match, 0, NULL, &end);
  g_clear_pointer (&match, g_match_info_free);
  p = line + end;

  if (code != 0 && g_regex_match (code_prefix_regex (), p, 0, &match))
    {
      g_autofree char *c = g_match_info_fetch (match, 1);
      return atoi (c) == code ? p : NULL;
    }
  if (enhanced != NULL && g_str_has_prefix (p, enhanced))
    return p;
  return NULL;
}

static HeraldExtractedReply *
extract_from (const char *text,
              gsize       start,
              gsize      *work)
{
  HeraldExtractedReply *extracted = g_new0 (HeraldExtractedReply, 1);
  g_auto(GStrv) lines = g_strsplit_set (text + start, "\r\n", -1);
  g_autoptr(GMatchInfo) match = NULL;
  GString *reply = g_string_new (NULL);
  guint n_lines = 0;

  extracted->stage = HERALD_N_STAGES;
  if (search (code_prefix_regex (), text + start, -1, work, &match) >= 0)
    {
      g_autofree char *code = g_match_info_fetch (match, 1);
      extracted->code = atoi (code);
    }
  g_clear_pointer (&match, g_match_info_free);

  /* A reply is bounded as the engine bounds one it reads; the rules then
   * search at most that much text, whatever was pasted. */
  for (guint i = 0; lines[i] != NULL && n_lines < MAX_REPLY_LINES && reply->len < MAX_REPLY_BYTES; i++)
    {
      *work += strlen (lines[i]);
      if (i == 0)
        {
          const char *p = lines[0];

          if (extracted->code != 0 && g_regex_match (code_prefix_regex (), p, 0, &match))
            {
              int end;
              g_match_info_fetch_pos (match, 0, NULL, &end);
              p += end;
            }
          g_clear_pointer (&match, g_match_info_free);
          if (g_regex_match (enhanced_prefix_regex (), p, 0, &match))
            extracted->enhanced = g_match_info_fetch (match, 1);
          g_clear_pointer (&match, g_match_info_free);
        }
      else
        {
          const char *rest = continues_reply (lines[i], extracted->code, extracted->enhanced);

          if (rest == NULL)
            {
              /* Blank lines inside a pasted reply are skipped; anything else
               * (a stack trace, the program's own words) ends the reply. */
              if (*g_strstrip (lines[i]) == '\0')
                continue;
              break;
            }
          /* Drop the transcript prefix ("<~* ") of continuation lines. */
          memmove (lines[i], rest, strlen (rest) + 1);
        }
      if (reply->len > 0)
        g_string_append_c (reply, '\n');
      g_string_append (reply, g_strstrip (lines[i]));
      n_lines++;
      if (reply->len > MAX_REPLY_BYTES)
        {
          /* One very long line: cut it on a character boundary. */
          gsize cut = MAX_REPLY_BYTES;

          while (cut > 0 && (reply->str[cut] & 0xc0) == 0x80)
            cut--;
          g_string_truncate (reply, cut);
        }
    }

  extracted->reply = g_string_free (reply, FALSE);
  extracted->normalised = _herald_normalise_reply (extracted->reply);
  return extracted;
}

/* The step a pasted text names, from the wrapper's words or, in a
 * transcript, the last command the client sent before the refusal. */
DEFINE_REGEX (phpmailer_command_regex,
              "\\b(Password|Username|AUTH|MAIL FROM|RCPT TO|DATA END|DATA|STARTTLS|EHLO|HELO|QUIT)\\s+command\\s+failed")
DEFINE_REGEX (nodemailer_command_regex, "\\bcommand:\\s*'([A-Z. ]+)")
DEFINE_REGEX (exception_regex,
              "\\b(SMTPAuthenticationError|AuthenticationFailedException|Invalid login|SMTPSenderRefused|"
              "SMTPRecipientsRefused|SMTPDataError|Greeting never received)\\b")
DEFINE_REGEX (client_line_regex,
              "^\\s*(?:->|~>|\\*>|C:|>>>)\\s*(AUTH|MAIL FROM|RCPT TO|DATA|BDAT|STARTTLS|EHLO|HELO|QUIT)\\b")

static HeraldStage
stage_from_command (const char *command)
{
  static const struct {
    const char  *prefix;
    HeraldStage  stage;
  } map[] = {
    { "PASSWORD", HERALD_STAGE_AUTH }, { "USERNAME", HERALD_STAGE_AUTH }, { "AUTH", HERALD_STAGE_AUTH },
    { "MAIL", HERALD_STAGE_MAIL }, { "RCPT", HERALD_STAGE_RCPT }, { "DATA", HERALD_STAGE_DATA },
    { "BDAT", HERALD_STAGE_DATA }, { ".", HERALD_STAGE_DATA }, { "STARTTLS", HERALD_STAGE_STARTTLS },
    { "EHLO", HERALD_STAGE_EHLO }, { "HELO", HERALD_STAGE_EHLO }, { "QUIT", HERALD_STAGE_QUIT },
    { "CONN", HERALD_STAGE_GREETING },
    { "SMTPAUTHENTICATIONERROR", HERALD_STAGE_AUTH }, { "AUTHENTICATIONFAILEDEXCEPTION", HERALD_STAGE_AUTH },
    { "INVALID LOGIN", HERALD_STAGE_AUTH }, { "SMTPSENDERREFUSED", HERALD_STAGE_MAIL },
    { "SMTPRECIPIENTSREFUSED", HERALD_STAGE_RCPT }, { "SMTPDATAERROR", HERALD_STAGE_DATA },
    { "GREETING NEVER RECEIVED", HERALD_STAGE_GREETING },
  };
  g_autofree char *upper = g_ascii_strup (command, -1);

  for (guint i = 0; i < G_N_ELEMENTS (map); i++)
    if (g_str_has_prefix (upper, map[i].prefix))
      return map[i].stage;
  return HERALD_N_STAGES;
}

static HeraldStage
find_stage (const char *text,
            int         reply_start,
            gsize      *work)
{
  GRegex *anywhere[] = { phpmailer_command_regex (), nodemailer_command_regex (), exception_regex () };
  HeraldStage stage = HERALD_N_STAGES;
  g_auto(GStrv) lines = NULL;
  gsize offset = 0;

  for (guint r = 0; r < G_N_ELEMENTS (anywhere); r++)
    {
      g_autoptr(GMatchInfo) match = NULL;

      if (search (anywhere[r], text, -1, work, &match) >= 0)
        {
          g_autofree char *command = g_match_info_fetch (match, 1);

          stage = stage_from_command (command);
          if (stage != HERALD_N_STAGES)
            return stage;
        }
    }

  /* A transcript: the last command sent before the refusal. */
  lines = g_strsplit (text, "\n", -1);
  for (guint i = 0; lines[i] != NULL && (reply_start < 0 || offset < (gsize) reply_start); i++)
    {
      g_autoptr(GMatchInfo) match = NULL;

      if (search (client_line_regex (), lines[i], -1, work, &match) >= 0)
        {
          g_autofree char *command = g_match_info_fetch (match, 1);
          stage = stage_from_command (command);
        }
      offset += strlen (lines[i]) + 1;
    }
  return stage;
}

static int
earliest (int a,
          int b)
{
  if (a < 0)
    return b;
  if (b < 0)
    return a;
  return MIN (a, b);
}

/* The first refusal (4xx/5xx), or else the earliest start of a reply. Each
 * answer is the first match of a regex, so the text is searched four times
 * in all, never once per match (walking every match of a text of "250-"
 * lines made the regex engine check the rest of the text again for each,
 * which was quadratic). */
static int
find_reply_start (const char *text,
                  gsize       length,
                  gsize      *work)
{
  int refusal = earliest (search (refusal_start_regex (), text, length, work, NULL),
                          search (refusal_enhanced_regex (), text, length, work, NULL));

  if (refusal >= 0)
    return refusal;
  return earliest (search (reply_start_regex (), text, length, work, NULL),
                   search (enhanced_start_regex (), text, length, work, NULL));
}

/* Pasted text and the unescaped body of a Python tuple go into reports, JSON
 * and terminals: valid UTF-8, line breaks kept, a tab as a space, and every
 * other control character (C0, DEL, C1) and bidirectional control replaced
 * by "?", so that escapes like \033 or \u202e in a paste cannot reach a
 * terminal or make a reply read differently from what it is. */
static char *
make_printable_text (const char *text,
                     gssize      length)
{
  g_autofree char *valid = g_utf8_make_valid (text, length);
  GString *out = g_string_sized_new (strlen (valid));

  for (const char *p = valid; *p != '\0'; p = g_utf8_next_char (p))
    {
      gunichar c = g_utf8_get_char (p);

      if (c == '\n' || c == '\r')
        g_string_append_c (out, (char) c);
      else if (c == '\t')
        g_string_append_c (out, ' ');
      else if (c < 0x20 || (c >= 0x7f && c <= 0x9f) || c == 0x061c || c == 0x200e || c == 0x200f ||
               c == 0x2028 || c == 0x2029 || (c >= 0x202a && c <= 0x202e) ||
               (c >= 0x2066 && c <= 0x2069))
        g_string_append_c (out, '?');
      else
        g_string_append_len (out, p, g_utf8_next_char (p) - p);
    }
  return g_string_free (out, FALSE);
}

HeraldExtractedReply *
_herald_extract_reply (const char *text)
{
  g_autoptr(GMatchInfo) match = NULL;
  g_autofree char *clean = NULL;
  HeraldExtractedReply *extracted;
  gsize work = 0;
  gsize length;
  int start;

  g_return_val_if_fail (text != NULL, NULL);

  clean = make_printable_text (text, -1);
  length = strlen (clean);

  /* Python's smtplib wraps the code and the text in a tuple, with the lines'
   * codes removed and the line breaks escaped. */
  if (search (python_tuple_regex (), clean, length, &work, &match) >= 0)
    {
      g_autofree char *code = g_match_info_fetch (match, 1);
      g_autofree char *body = g_match_info_fetch (match, 3);
      g_autofree char *unescaped = g_strcompress (body);
      /* Unescaping can bring back what the first pass removed ("\377",
       * "\033"): validate and filter the result, not only the input. */
      g_autofree char *printable = make_printable_text (unescaped, -1);
      g_auto(GStrv) lines = g_strsplit (printable, "\n", -1);
      g_autoptr(GString) rebuilt = g_string_new (NULL);

      for (guint i = 0; lines[i] != NULL; i++)
        {
          if (*g_strstrip (lines[i]) == '\0')
            continue;
          if (rebuilt->len > 0)
            g_string_append_c (rebuilt, '\n');
          g_string_append_printf (rebuilt, "%s%c%s", code,
                                  lines[i + 1] != NULL ? '-' : ' ', lines[i]);
        }
      extracted = extract_from (rebuilt->str, 0, &work);
      extracted->stage = find_stage (clean, -1, &work);
      extracted->searched = work;
      return extracted;
    }
  g_clear_pointer (&match, g_match_info_free);

  /* The first refusal (4xx/5xx), or else the earliest thing that looks like
   * the start of a reply. Wrappers put their own words first (.NET's "The
   * server response was:", PHPMailer's "Password command failed:",
   * nodemailer's "Invalid login:") and those contain no reply code; a pasted
   * transcript (swaks, a log) starts with "220" and "250" lines before the
   * refusal. Text after the reply (a stack trace) is cut off by
   * extract_from(). A later "Error: 535 ..." inside the reply is Exchange's
   * embedded earlier failure, handled when matching. */
  start = find_reply_start (clean, length, &work);
  if (start >= 0)
    {
      extracted = extract_from (clean, start, &work);
      extracted->stage = find_stage (clean, start, &work);
      extracted->searched = work;
      return extracted;
    }

  /* No code at all: match the words alone, as much of them as a reply
   * could hold. */
  extracted = g_new0 (HeraldExtractedReply, 1);
  if (length > MAX_REPLY_BYTES)
    {
      const char *end = clean + MAX_REPLY_BYTES;

      /* Cut on a character boundary. */
      while (end > clean && (*end & 0xc0) == 0x80)
        end--;
      extracted->reply = g_strstrip (g_strndup (clean, end - clean));
    }
  else
    extracted->reply = g_strstrip (g_strdup (clean));
  extracted->normalised = _herald_normalise_reply (extracted->reply);
  extracted->stage = find_stage (clean, -1, &work);
  extracted->searched = work;
  return extracted;
}

/* ---------------------------------------------------------------------------
 * Matching
 * ------------------------------------------------------------------------- */

typedef struct {
  HeraldStage              stage;       /* HERALD_N_STAGES: unknown */
  int                      code;        /* 0: unknown */
  const char              *enhanced;
  const char              *raw;         /* the reply as received, or NULL */
  const char              *normalised;  /* NULL: no reply */
  const GError            *error;
  guint                    tls_flags;
  int                      security;    /* -1: unknown */
  int                      port;        /* 0: unknown */
  const char              *server;      /* "host greeting", or NULL */
  guint                    auth;        /* AuthKind, 0: unknown */
  const char              *host;
  const HeraldSmtpConfig  *config;
  const HeraldSmtpResult  *result;
} MatchContext;

static int
reply_class (const MatchContext *ctx)
{
  if (ctx->code >= 200 && ctx->code < 600)
    return ctx->code / 100;
  if (ctx->enhanced != NULL && ctx->enhanced[0] >= '2' && ctx->enhanced[0] <= '5')
    return ctx->enhanced[0] - '0';
  return 0;
}

static gboolean
rule_matches (const Rule         *rule,
              const MatchContext *ctx)
{
  gboolean needs_reply = rule->codes != NULL || rule->classes != 0 ||
                         rule->enhanced != NULL || rule->pattern != NULL;

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
         * accept it when the rule has more specific evidence to check. */
        found = rule->pattern != NULL || rule->enhanced != NULL;
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

  if (rule->pattern != NULL && !g_regex_match (rule->pattern, ctx->normalised, 0, NULL))
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

  if (rule->server != NULL && (ctx->server == NULL || !g_regex_match (rule->server, ctx->server, 0, NULL)))
    return FALSE;

  if (rule->auths != 0 && (rule->auths & ctx->auth) == 0)
    return FALSE;

  return TRUE;
}

/* The highest priority wins; among equals, the rule earlier in the file. */
static const Rule *
best_rule (const MatchContext *ctx)
{
  const RuleSet *set = get_rules ();
  const Rule *best = NULL;

  for (guint i = 0; i < set->rules->len; i++)
    {
      const Rule *rule = g_ptr_array_index (set->rules, i);

      if ((best == NULL || rule->priority > best->priority) && rule_matches (rule, ctx))
        best = rule;
    }
  return best;
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
  HeraldDiagnosis *d = diagnosis_new ();

  d->id = g_strdup (id);
  d->title = expand (texts->title, ctx, FALSE);
  d->explanation = expand (texts->explanation, ctx, FALSE);
  d->actor = texts->actor;
  d->severity = texts->severity;
  for (guint i = 0; texts->steps != NULL && i < texts->steps->len; i++)
    {
      const StepTemplate *tmpl = g_ptr_array_index (texts->steps, i);
      HeraldDiagnosisStep *step = g_new0 (HeraldDiagnosisStep, 1);

      step->text = expand (tmpl->text, ctx, FALSE);
      step->command = expand (tmpl->command, ctx, TRUE);
      g_ptr_array_add (d->steps, step);
    }
  for (guint i = 0; texts->links != NULL && i < texts->links->len; i++)
    {
      const HeraldLink *link = g_ptr_array_index (texts->links, i);
      g_ptr_array_add (d->links, link_new (link->title, link->url));
    }
  return d;
}

/* Used only when the rules file could not be loaded at all (a broken
 * build): still say something true. */
static HeraldDiagnosis *
builtin_fallback (const MatchContext *ctx)
{
  HeraldDiagnosis *d = diagnosis_new ();
  g_autofree char *reply = user_reply (ctx);

  d->id = g_strdup ("fallback-builtin");
  d->title = g_strdup (_("The test failed"));
  d->explanation = g_strdup_printf (_("The test failed during %s. Server reply: %s"),
                                    stage_phrase (ctx->stage), reply ? reply : _("no reply"));
  d->actor = HERALD_ACTOR_YOU;
  d->severity = HERALD_SEVERITY_ERROR;
  return d;
}

static HeraldDiagnosis *
diagnose_context (const MatchContext *ctx)
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
          MatchContext inner = *ctx;
          const Rule *candidate, *outer;

          inner.code = atoi (code);
          inner.enhanced = enhanced;
          inner.normalised = normalised;
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

HeraldDiagnosis *
herald_diagnose (const HeraldSmtpResult *result,
                 const HeraldSmtpConfig *config)
{
  MatchContext ctx = { 0, };
  g_autofree char *normalised = NULL;
  g_autofree char *server = NULL;

  g_return_val_if_fail (result != NULL, NULL);

  if (result->ok)
    return NULL;

  ctx.stage = result->stage;
  ctx.result = result;
  ctx.config = config;
  ctx.error = result->error;
  ctx.security = config ? (int) config->security : -1;
  ctx.port = config ? config->port : 0;
  ctx.host = config ? config->host : NULL;
  ctx.auth = auth_kind (config, result);
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
      ctx.normalised = normalised;
    }
  if (ctx.host != NULL || result->greeting != NULL)
    server = g_strjoin (" ", ctx.host ? ctx.host : "", result->greeting ? result->greeting : "", NULL);
  ctx.server = server;

  return diagnose_context (&ctx);
}

HeraldDiagnosis *
herald_diagnose_text (const char  *text,
                      HeraldStage  stage,
                      const char  *host)
{
  g_autoptr(HeraldExtractedReply) extracted = NULL;
  MatchContext ctx = { 0, };
  HeraldDiagnosis *d;

  g_return_val_if_fail (text != NULL, NULL);

  extracted = _herald_extract_reply (text);
  /* The step given (heraldctl explain --stage) wins over the one the text names. */
  ctx.stage = stage < HERALD_N_STAGES ? stage : extracted->stage;
  ctx.code = extracted->code;
  ctx.enhanced = extracted->enhanced;
  ctx.raw = extracted->reply;
  ctx.normalised = extracted->normalised;
  ctx.security = -1;
  ctx.host = host;
  ctx.server = host;

  d = diagnose_context (&ctx);
  if (herald_diagnosis_is_fallback (d))
    {
      /* The part taken as the reply can miss the refusal: an HTTP status or
       * a trace ID in another program's words looks like a reply code, and
       * identity-platform (AADSTS) or Graph errors carry no SMTP reply at
       * all. When that part explains nothing, match the words of the whole
       * text once more; only a specific rule may answer then. The code
       * found stays, so that a rule for texts without any code (a
       * program's own "connection timed out") cannot take a server's
       * "451 4.4.1 Connection timed out" this way. */
      g_autofree char *clean = g_utf8_make_valid (text, -1);
      g_autofree char *whole_normalised = _herald_normalise_reply (clean);
      MatchContext whole = ctx;
      const Rule *rule;

      whole.raw = clean;
      whole.normalised = whole_normalised;
      rule = best_rule (&whole);
      if (rule != NULL && !rule->fallback)
        {
          herald_diagnosis_free (d);
          d = diagnose_context (&whole);
        }
    }
  return d;
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
  const RuleSet *set = get_rules ();
  MatchContext ctx = { 0, };

  ctx.stage = result ? result->stage : HERALD_N_STAGES;
  ctx.config = config;
  ctx.result = result;
  ctx.security = config ? (int) config->security : -1;
  ctx.port = config ? config->port : 0;
  ctx.host = config ? config->host : NULL;

  for (guint i = 0; i < set->notices->len; i++)
    {
      const Notice *notice = g_ptr_array_index (set->notices, i);

      if (g_str_equal (notice->id, id))
        {
          g_ptr_array_add (notices, diagnosis_from_texts (notice->id, &notice->texts, &ctx));
          return;
        }
    }
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

  if (auth == AUTH_KIND_NONE && config->host != NULL &&
      g_regex_match (public_provider_regex (), config->host, 0, NULL))
    add_notice (notices, "no-auth-public-provider", config, result);

  if (result != NULL && result->tls != NULL && result->tls->version != NULL &&
      (strstr (result->tls->version, "1.0") != NULL || strstr (result->tls->version, "1.1") != NULL ||
       g_str_has_prefix (result->tls->version, "SSL")))
    add_notice (notices, "tls-version-old", config, result);

  return notices;
}
