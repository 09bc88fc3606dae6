/* SPDX-License-Identifier: GPL-3.0-or-later
 * Copyright 2026 The Herald authors
 */
#define G_LOG_DOMAIN "herald-graph"

#include "config.h"

#include <glib/gi18n.h>
#include <gnutls/abstract.h>
#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <json-glib/json-glib.h>
#include <string.h>

#include "herald-graph.h"

/* The client assertion of Microsoft's "certificate credentials" (RFC 7523
 * client authentication with a JWT, OpenID Connect's private_key_jwt). */

static char *
base64url (const guint8 *data,
           gsize         len)
{
  g_autofree char *b64 = g_base64_encode (data, len);
  GString *out = g_string_sized_new (strlen (b64));

  for (const char *p = b64; *p != '\0' && *p != '='; p++)
    g_string_append_c (out, *p == '+' ? '-' : *p == '/' ? '_' : *p);

  return g_string_free (out, FALSE);
}

static char *
json_base64url (JsonBuilder *builder)
{
  g_autoptr(JsonNode) root = json_builder_get_root (builder);
  g_autofree char *json = json_to_string (root, FALSE);

  return base64url ((const guint8 *) json, strlen (json));
}

static char *
thumbprint (gnutls_x509_crt_t            crt,
            gnutls_digest_algorithm_t    digest)
{
  guint8 buffer[64];
  size_t len = sizeof buffer;

  if (gnutls_x509_crt_get_fingerprint (crt, digest, buffer, &len) != 0)
    return NULL;

  return base64url (buffer, len);
}

static char *
uuid_v4 (void)
{
  guint8 b[16];

  if (gnutls_rnd (GNUTLS_RND_NONCE, b, sizeof b) != 0)
    return NULL;
  b[6] = (b[6] & 0x0f) | 0x40;
  b[8] = (b[8] & 0x3f) | 0x80;

  return g_strdup_printf ("%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
                          b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11],
                          b[12], b[13], b[14], b[15]);
}

static void
set_gnutls_error (GError     **error,
                  const char  *what,
                  int          code)
{
  g_set_error (error, HERALD_GRAPH_ERROR, HERALD_GRAPH_ERROR_CERTIFICATE, "%s (%s)", what,
               gnutls_strerror (code));
}

static gboolean
same_key (gnutls_x509_crt_t      crt,
          gnutls_x509_privkey_t  key)
{
  guint8 crt_id[64];
  guint8 key_id[64];
  size_t crt_len = sizeof crt_id;
  size_t key_len = sizeof key_id;

  if (gnutls_x509_crt_get_key_id (crt, GNUTLS_KEYID_USE_SHA256, crt_id, &crt_len) != 0
      || gnutls_x509_privkey_get_key_id (key, GNUTLS_KEYID_USE_SHA256, key_id, &key_len) != 0)
    return FALSE;

  return crt_len == key_len && memcmp (crt_id, key_id, crt_len) == 0;
}

char *
herald_graph_client_assertion_new (GBytes                   *pem,
                                   const char               *client_id,
                                   const char               *token_endpoint,
                                   HeraldGraphAssertionAlg   alg,
                                   GError                  **error)
{
  gnutls_x509_crt_t *certificates = NULL;
  unsigned int n_certificates = 0;
  gnutls_x509_crt_t crt = NULL;
  gnutls_x509_privkey_t x509_key = NULL;
  gnutls_privkey_t key = NULL;
  gnutls_datum_t data;
  gnutls_datum_t to_sign;
  gnutls_datum_t signature = { NULL, 0 };
  g_autoptr(JsonBuilder) header = json_builder_new ();
  g_autoptr(JsonBuilder) claims = json_builder_new ();
  g_autofree char *x5t_s256 = NULL;
  g_autofree char *x5t = NULL;
  g_autofree char *jti = NULL;
  g_autofree char *header_b64 = NULL;
  g_autofree char *claims_b64 = NULL;
  g_autofree char *signing_input = NULL;
  g_autofree char *signature_b64 = NULL;
  char *assertion = NULL;
  gint64 now;
  time_t activation;
  time_t expiration;
  unsigned int bits = 0;
  int ret;

  g_return_val_if_fail (pem != NULL, NULL);

  if (client_id == NULL || *client_id == '\0' || token_endpoint == NULL || *token_endpoint == '\0')
    {
      g_set_error_literal (error, HERALD_GRAPH_ERROR, HERALD_GRAPH_ERROR_CERTIFICATE,
                           _("The client assertion needs the client ID and the token endpoint."));
      return NULL;
    }

  data.data = (unsigned char *) g_bytes_get_data (pem, NULL);
  data.size = g_bytes_get_size (pem);
  if (data.size == 0 || data.data == NULL)
    {
      g_set_error_literal (error, HERALD_GRAPH_ERROR, HERALD_GRAPH_ERROR_CERTIFICATE,
                           _("The certificate file is empty."));
      return NULL;
    }

  /* The key first: a PEM without one is the most common mistake (the
   * certificate exported alone, as Entra wants it uploaded). */
  if ((ret = gnutls_x509_privkey_init (&x509_key)) != 0)
    {
      set_gnutls_error (error, _("Cannot read the private key"), ret);
      goto out;
    }
  ret = gnutls_x509_privkey_import2 (x509_key, &data, GNUTLS_X509_FMT_PEM, NULL, 0);
  if (ret != 0)
    {
      if (ret == GNUTLS_E_DECRYPTION_FAILED
          || g_strstr_len ((const char *) data.data, data.size, "ENCRYPTED") != NULL)
        g_set_error_literal (error, HERALD_GRAPH_ERROR, HERALD_GRAPH_ERROR_CERTIFICATE,
                             _("The private key in the certificate file is encrypted; Herald needs "
                               "it unencrypted (keep the file readable only by the account that "
                               "signs in)."));
      else
        set_gnutls_error (error, _("The certificate file holds no usable private key: it must "
                                   "contain the certificate and its private key, both in PEM"), ret);
      goto out;
    }
  if (gnutls_x509_privkey_get_pk_algorithm2 (x509_key, &bits) != GNUTLS_PK_RSA)
    {
      g_set_error_literal (error, HERALD_GRAPH_ERROR, HERALD_GRAPH_ERROR_CERTIFICATE,
                           _("The private key is not an RSA key: Microsoft Entra signs in apps with "
                             "RSA certificates only (RS256/PS256)."));
      goto out;
    }
  if (bits < 2048)
    {
      g_set_error (error, HERALD_GRAPH_ERROR, HERALD_GRAPH_ERROR_CERTIFICATE,
                   _("The RSA key has %u bits; Microsoft Entra needs at least 2048."), bits);
      goto out;
    }

  ret = gnutls_x509_crt_list_import2 (&certificates, &n_certificates, &data, GNUTLS_X509_FMT_PEM, 0);
  if (ret < 0 || n_certificates == 0)
    {
      set_gnutls_error (error, _("The certificate file holds no certificate: it must contain the "
                                 "certificate registered with the app and its private key"),
                        ret < 0 ? ret : GNUTLS_E_BASE64_DECODING_ERROR);
      goto out;
    }
  for (unsigned int i = 0; i < n_certificates && crt == NULL; i++)
    if (same_key (certificates[i], x509_key))
      crt = certificates[i];
  if (crt == NULL)
    {
      g_set_error_literal (error, HERALD_GRAPH_ERROR, HERALD_GRAPH_ERROR_CERTIFICATE,
                           _("The private key does not belong to any certificate in the file."));
      goto out;
    }

  now = g_get_real_time () / G_USEC_PER_SEC;
  activation = gnutls_x509_crt_get_activation_time (crt);
  expiration = gnutls_x509_crt_get_expiration_time (crt);
  if (expiration != (time_t) -1 && expiration < now)
    {
      g_autoptr(GDateTime) date = g_date_time_new_from_unix_utc (expiration);
      g_autofree char *text = g_date_time_format (date, "%Y-%m-%d");

      g_set_error (error, HERALD_GRAPH_ERROR, HERALD_GRAPH_ERROR_CERTIFICATE,
                   _("The certificate expired on %s: create a new one, upload it to the app "
                     "registration (Certificates & secrets) and sign in again with it."), text);
      goto out;
    }
  if (activation != (time_t) -1 && activation > now)
    {
      g_autoptr(GDateTime) date = g_date_time_new_from_unix_utc (activation);
      g_autofree char *text = g_date_time_format (date, "%Y-%m-%d");

      g_set_error (error, HERALD_GRAPH_ERROR, HERALD_GRAPH_ERROR_CERTIFICATE,
                   _("The certificate is valid only from %s; check this computer’s clock."), text);
      goto out;
    }

  x5t_s256 = thumbprint (crt, GNUTLS_DIG_SHA256);
  x5t = thumbprint (crt, GNUTLS_DIG_SHA1);
  jti = uuid_v4 ();
  if (x5t_s256 == NULL || x5t == NULL || jti == NULL)
    {
      g_set_error_literal (error, HERALD_GRAPH_ERROR, HERALD_GRAPH_ERROR_CERTIFICATE,
                           _("Cannot compute the certificate’s thumbprint."));
      goto out;
    }

  json_builder_begin_object (header);
  json_builder_set_member_name (header, "alg");
  json_builder_add_string_value (header, alg == HERALD_GRAPH_ASSERTION_PS256 ? "PS256" : "RS256");
  json_builder_set_member_name (header, "typ");
  json_builder_add_string_value (header, "JWT");
  json_builder_set_member_name (header, "x5t#S256");
  json_builder_add_string_value (header, x5t_s256);
  /* Tenants that predate x5t#S256 match on the SHA-1 thumbprint. */
  json_builder_set_member_name (header, "x5t");
  json_builder_add_string_value (header, x5t);
  json_builder_end_object (header);

  json_builder_begin_object (claims);
  json_builder_set_member_name (claims, "aud");
  json_builder_add_string_value (claims, token_endpoint);
  json_builder_set_member_name (claims, "iss");
  json_builder_add_string_value (claims, client_id);
  json_builder_set_member_name (claims, "sub");
  json_builder_add_string_value (claims, client_id);
  json_builder_set_member_name (claims, "jti");
  json_builder_add_string_value (claims, jti);
  json_builder_set_member_name (claims, "nbf");
  json_builder_add_int_value (claims, now);
  json_builder_set_member_name (claims, "iat");
  json_builder_add_int_value (claims, now);
  json_builder_set_member_name (claims, "exp");
  json_builder_add_int_value (claims, now + HERALD_GRAPH_ASSERTION_LIFETIME);
  json_builder_end_object (claims);

  header_b64 = json_base64url (header);
  claims_b64 = json_base64url (claims);
  signing_input = g_strconcat (header_b64, ".", claims_b64, NULL);

  if ((ret = gnutls_privkey_init (&key)) != 0
      || (ret = gnutls_privkey_import_x509 (key, x509_key, GNUTLS_PRIVKEY_IMPORT_AUTO_RELEASE)) != 0)
    {
      set_gnutls_error (error, _("Cannot use the private key"), ret);
      goto out;
    }
  x509_key = NULL;  /* owned by key now */

  to_sign.data = (unsigned char *) signing_input;
  to_sign.size = strlen (signing_input);
  ret = gnutls_privkey_sign_data2 (key,
                                   alg == HERALD_GRAPH_ASSERTION_PS256
                                   ? GNUTLS_SIGN_RSA_PSS_RSAE_SHA256 : GNUTLS_SIGN_RSA_SHA256,
                                   0, &to_sign, &signature);
  if (ret != 0)
    {
      set_gnutls_error (error, _("Cannot sign the client assertion"), ret);
      goto out;
    }

  signature_b64 = base64url (signature.data, signature.size);
  assertion = g_strconcat (signing_input, ".", signature_b64, NULL);

out:
  gnutls_free (signature.data);
  if (key != NULL)
    gnutls_privkey_deinit (key);
  if (x509_key != NULL)
    gnutls_x509_privkey_deinit (x509_key);
  for (unsigned int i = 0; certificates != NULL && i < n_certificates; i++)
    gnutls_x509_crt_deinit (certificates[i]);
  gnutls_free (certificates);

  return assertion;
}
