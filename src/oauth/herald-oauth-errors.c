/* SPDX-License-Identifier: GPL-3.0-or-later
 * Copyright 2026 The Herald authors
 */
#define G_LOG_DOMAIN "herald-oauth"

/* The identity provider's errors: an error reply (JSON, or a redirect's
 * query) becomes a HERALD_OAUTH_ERROR whose code says what to do and whose
 * message keeps the provider's code and description for the diagnosis. */

#include "config.h"

#include <glib/gi18n.h>
#include <json-glib/json-glib.h>
#include <string.h>

#include "herald-oauth.h"
#include "herald-oauth-private.h"
#include "herald-smtp.h"

G_DEFINE_QUARK (herald-oauth-error-quark, herald_oauth_error)

guint
herald_oauth_error_get_aadsts (const GError *error)
{
  const char *p;

  if (error == NULL || error->domain != HERALD_OAUTH_ERROR || error->message == NULL)
    return 0;

  p = strstr (error->message, "AADSTS");
  if (p == NULL || !g_ascii_isdigit (p[6]))
    return 0;

  return (guint) g_ascii_strtoull (p + 6, NULL, 10);
}

static HeraldOAuthErrorCode
code_for_aadsts (guint aadsts)
{
  switch (aadsts)
    {
    case 7000218:
      return HERALD_OAUTH_ERROR_PUBLIC_CLIENT_NOT_ALLOWED;
    case 65001:
    case 90094:
    case 90095:
      return HERALD_OAUTH_ERROR_CONSENT_REQUIRED;
    case 50076:
    case 50079:
    case 50158:
    case 53000:
    case 53001:
    case 53003:
      return HERALD_OAUTH_ERROR_INTERACTION_REQUIRED;
    case 700016:
      return HERALD_OAUTH_ERROR_APP_NOT_FOUND;
    case 90002:
    case 900023:
      return HERALD_OAUTH_ERROR_TENANT_NOT_FOUND;
    case 7000215:
    case 7000222:
    case 700025:
      return HERALD_OAUTH_ERROR_INVALID_CLIENT;
    case 50011:
      return HERALD_OAUTH_ERROR_REDIRECT_MISMATCH;
    case 70011:
      return HERALD_OAUTH_ERROR_INVALID_SCOPE;
    case 70000:
    case 50173:
    case 700082:
    case 700084:
    case 54005:
    case 70008:
    case 50126:
      return HERALD_OAUTH_ERROR_SIGN_IN_AGAIN;
    case 70016:
      return HERALD_OAUTH_ERROR_SERVER;   /* authorization_pending, handled by the caller */
    case 70019:
      return HERALD_OAUTH_ERROR_EXPIRED;
    case 65004:   /* the user declined to consent */
      return HERALD_OAUTH_ERROR_DECLINED;
    default:
      return HERALD_OAUTH_ERROR_SERVER;
    }
}

static HeraldOAuthErrorCode
code_for_oauth_error (const char *error)
{
  static const struct {
    const char *name;
    HeraldOAuthErrorCode code;
  } map[] = {
    { "invalid_grant", HERALD_OAUTH_ERROR_SIGN_IN_AGAIN },
    { "authorization_declined", HERALD_OAUTH_ERROR_DECLINED },
    { "access_denied", HERALD_OAUTH_ERROR_DECLINED },
    { "expired_token", HERALD_OAUTH_ERROR_EXPIRED },
    { "consent_required", HERALD_OAUTH_ERROR_CONSENT_REQUIRED },
    { "interaction_required", HERALD_OAUTH_ERROR_INTERACTION_REQUIRED },
    { "invalid_client", HERALD_OAUTH_ERROR_INVALID_CLIENT },
    { "unauthorized_client", HERALD_OAUTH_ERROR_INVALID_CLIENT },
    { "redirect_uri_mismatch", HERALD_OAUTH_ERROR_REDIRECT_MISMATCH },
    { "invalid_scope", HERALD_OAUTH_ERROR_INVALID_SCOPE },
  };

  for (guint i = 0; i < G_N_ELEMENTS (map); i++)
    if (g_strcmp0 (error, map[i].name) == 0)
      return map[i].code;

  return HERALD_OAUTH_ERROR_SERVER;
}

static const char *
explain_code (HeraldOAuthErrorCode code)
{
  switch (code)
    {
    case HERALD_OAUTH_ERROR_SIGN_IN_AGAIN:
      return _("The sign-in has expired or was revoked: sign in again.");
    case HERALD_OAUTH_ERROR_DECLINED:
      return _("The sign-in was declined.");
    case HERALD_OAUTH_ERROR_EXPIRED:
      return _("The sign-in code expired before the sign-in was finished: start again.");
    case HERALD_OAUTH_ERROR_PUBLIC_CLIENT_NOT_ALLOWED:
      return _("The app registration does not allow public client flows: in Microsoft Entra, "
               "open the app registration, Authentication, and set “Allow public client flows” to Yes.");
    case HERALD_OAUTH_ERROR_CONSENT_REQUIRED:
      return _("An administrator must grant consent to the app registration (delegated permission SMTP.Send).");
    case HERALD_OAUTH_ERROR_INTERACTION_REQUIRED:
      return _("Your organization requires multi-factor authentication or a Conditional Access policy "
               "blocked the sign-in.");
    case HERALD_OAUTH_ERROR_APP_NOT_FOUND:
      return _("No app with this client ID exists in the tenant: check the client ID and the tenant.");
    case HERALD_OAUTH_ERROR_TENANT_NOT_FOUND:
      return _("The tenant was not found: check the tenant ID or domain.");
    case HERALD_OAUTH_ERROR_INVALID_CLIENT:
      return _("The identity provider refused the client ID (or its secret).");
    case HERALD_OAUTH_ERROR_REDIRECT_MISMATCH:
      return _("The app registration lacks the redirect URI http://localhost "
               "(Microsoft: platform “Mobile and desktop applications”).");
    case HERALD_OAUTH_ERROR_INVALID_SCOPE:
      return _("The identity provider refused the mail permission (scope) for this app.");
    case HERALD_OAUTH_ERROR_INVALID_ACCOUNT:
    case HERALD_OAUTH_ERROR_NOT_SIGNED_IN:
    case HERALD_OAUTH_ERROR_STATE_MISMATCH:
    case HERALD_OAUTH_ERROR_UNSUPPORTED:
    case HERALD_OAUTH_ERROR_PROTOCOL:
    case HERALD_OAUTH_ERROR_NO_BROWSER:
    case HERALD_OAUTH_ERROR_SERVER:
    default:
      return _("The identity provider refused the request.");
    }
}

const char *
_herald_oauth_json_get_string (JsonObject *object,
                               const char *name,
                               const char *fallback)
{
  JsonNode *node = json_object_get_member (object, name);

  if (node == NULL || !JSON_NODE_HOLDS_VALUE (node) || json_node_get_value_type (node) != G_TYPE_STRING)
    return fallback;

  return json_node_get_string (node);
}

char *
_herald_oauth_clean_text (const char *text)
{
  gsize length = strcspn (text, "\r\n");
  g_autofree char *printable = NULL;
  const char *end;

  /* The first line, through the filter every server's text goes through
   * (control and bidi characters), cut at a character at 500 bytes. */
  printable = herald_smtp_make_printable (text, (gssize) length, FALSE);
  if (strlen (printable) <= 500)
    return g_steal_pointer (&printable);
  end = g_utf8_find_prev_char (printable, printable + 501);
  return g_strndup (printable, end - printable);
}

GError *
_herald_oauth_error_from_fields (const char *oauth_error,
                                 const char *description,
                                 guint       aadsts)
{
  g_autofree char *desc = description != NULL ? _herald_oauth_clean_text (description) : NULL;
  g_autofree char *safe_error = oauth_error != NULL ? _herald_oauth_clean_text (oauth_error) : g_strdup ("error");
  g_autofree char *detail = NULL;
  HeraldOAuthErrorCode code;

  if (aadsts == 0 && desc != NULL)
    {
      const char *p = strstr (desc, "AADSTS");
      if (p != NULL && g_ascii_isdigit (p[6]))
        aadsts = (guint) g_ascii_strtoull (p + 6, NULL, 10);
    }

  code = aadsts != 0 ? code_for_aadsts (aadsts) : HERALD_OAUTH_ERROR_SERVER;
  if (code == HERALD_OAUTH_ERROR_SERVER)
    code = code_for_oauth_error (oauth_error);

  if (desc != NULL && *desc != '\0')
    {
      if (aadsts != 0 && strstr (desc, "AADSTS") == NULL)
        detail = g_strdup_printf ("%s: AADSTS%u: %s", safe_error, aadsts, desc);
      else
        detail = g_strdup_printf ("%s: %s", safe_error, desc);
    }
  else if (aadsts != 0)
    detail = g_strdup_printf ("%s: AADSTS%u", safe_error, aadsts);
  else
    detail = g_strdup (safe_error);

  return g_error_new (HERALD_OAUTH_ERROR, code, "%s (%s)", explain_code (code), detail);
}

GError *
_herald_oauth_error_from_reply (guint   http_status,
                                GBytes *body)
{
  g_autoptr(JsonParser) parser = json_parser_new ();
  JsonNode *root;
  JsonObject *object;
  const char *oauth_error;
  const char *description;
  guint aadsts = 0;
  gsize len = 0;
  const char *data = body != NULL ? g_bytes_get_data (body, &len) : NULL;

  if (data == NULL || len == 0 || !json_parser_load_from_data (parser, data, len, NULL)
      || (root = json_parser_get_root (parser)) == NULL || !JSON_NODE_HOLDS_OBJECT (root))
    return g_error_new (HERALD_OAUTH_ERROR, HERALD_OAUTH_ERROR_PROTOCOL,
                        _("The identity provider answered with HTTP status %u and no usable error "
                          "description."), http_status);

  object = json_node_get_object (root);
  oauth_error = _herald_oauth_json_get_string (object, "error", NULL);
  description = _herald_oauth_json_get_string (object, "error_description", NULL);
  if (json_object_has_member (object, "error_codes"))
    {
      JsonNode *codes = json_object_get_member (object, "error_codes");
      if (JSON_NODE_HOLDS_ARRAY (codes) && json_array_get_length (json_node_get_array (codes)) > 0)
        {
          JsonNode *first = json_array_get_element (json_node_get_array (codes), 0);
          if (JSON_NODE_HOLDS_VALUE (first) && json_node_get_value_type (first) == G_TYPE_INT64)
            aadsts = (guint) json_node_get_int (first);
        }
    }

  if (oauth_error == NULL)
    return g_error_new (HERALD_OAUTH_ERROR, HERALD_OAUTH_ERROR_PROTOCOL,
                        _("The identity provider answered with HTTP status %u without an error code."),
                        http_status);

  return _herald_oauth_error_from_fields (oauth_error, description, aadsts);
}
