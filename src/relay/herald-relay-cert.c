/* SPDX-License-Identifier: GPL-3.0-or-later
 * Copyright 2026 The Herald authors
 */
#define G_LOG_DOMAIN "herald-relay"

#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <glib/gi18n.h>
#include <glib/gstdio.h>
#include <gnutls/gnutls.h>
#include <gnutls/crypto.h>
#include <gnutls/x509.h>
#include <ifaddrs.h>
#include <netinet/in.h>
#include <string.h>

#include "herald-relay.h"

/* The relay's TLS certificate: the one the admin configured, or one made
 * here on first start. Devices cannot check a private certificate against
 * a CA, so what matters is its SHA-256 fingerprint, which `heraldctl
 * relay` prints and an admin can pin on the device. */

#define VALID_DAYS (5 * 365)

static gboolean
gnutls_failed (GError     **error,
               int          code,
               const char  *what)
{
  g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, _("cannot create the certificate (%s): %s"),
               what, gnutls_strerror (code));
  return FALSE;
}

/* This host's addresses, so that a device that checks names against an IP
 * address it was given finds it (link-local ones are left out: they are
 * not what anyone types). */
static void
add_interface_addresses (gnutls_x509_crt_t crt)
{
  struct ifaddrs *list = NULL;

  if (getifaddrs (&list) != 0)
    return;
  for (struct ifaddrs *ifa = list; ifa != NULL; ifa = ifa->ifa_next)
    {
      if (ifa->ifa_addr == NULL)
        continue;
      if (ifa->ifa_addr->sa_family == AF_INET)
        {
          struct sockaddr_in *sin = (struct sockaddr_in *) ifa->ifa_addr;

          gnutls_x509_crt_set_subject_alt_name (crt, GNUTLS_SAN_IPADDRESS, &sin->sin_addr, 4,
                                                GNUTLS_FSAN_APPEND);
        }
      else if (ifa->ifa_addr->sa_family == AF_INET6)
        {
          struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *) ifa->ifa_addr;

          if (IN6_IS_ADDR_LINKLOCAL (&sin6->sin6_addr))
            continue;
          gnutls_x509_crt_set_subject_alt_name (crt, GNUTLS_SAN_IPADDRESS, &sin6->sin6_addr, 16,
                                                GNUTLS_FSAN_APPEND);
        }
    }
  freeifaddrs (list);
}

static gboolean
create_pair (const char  *cert_file,
             const char  *key_file,
             GError     **error)
{
  gnutls_x509_privkey_t key = NULL;
  gnutls_x509_crt_t crt = NULL;
  gnutls_datum_t cert_pem = { NULL, 0 }, key_pem = { NULL, 0 };
  guint8 serial[16];
  const char *host = g_get_host_name ();
  time_t now = time (NULL);
  gboolean ok = FALSE;
  int r;

  if ((r = gnutls_x509_privkey_init (&key)) != 0 ||
      (r = gnutls_x509_privkey_generate (key, GNUTLS_PK_ECDSA,
                                         GNUTLS_CURVE_TO_BITS (GNUTLS_ECC_CURVE_SECP256R1),
                                         0)) != 0)
    {
      gnutls_failed (error, r, "key");
      goto out;
    }
  if ((r = gnutls_x509_crt_init (&crt)) != 0 || (r = gnutls_x509_crt_set_version (crt, 3)) != 0)
    {
      gnutls_failed (error, r, "certificate");
      goto out;
    }
  gnutls_rnd (GNUTLS_RND_NONCE, serial, sizeof serial);
  serial[0] &= 0x7f;  /* a positive number */
  if ((r = gnutls_x509_crt_set_serial (crt, serial, sizeof serial)) != 0 ||
      (r = gnutls_x509_crt_set_activation_time (crt, now - 3600)) != 0 ||
      (r = gnutls_x509_crt_set_expiration_time (crt, now + (time_t) VALID_DAYS * 86400)) != 0 ||
      (r = gnutls_x509_crt_set_dn_by_oid (crt, GNUTLS_OID_X520_COMMON_NAME, 0, host,
                                          (unsigned) strlen (host))) != 0 ||
      (r = gnutls_x509_crt_set_dn_by_oid (crt, GNUTLS_OID_X520_ORGANIZATION_NAME, 0,
                                          "Herald relay", 12)) != 0 ||
      (r = gnutls_x509_crt_set_key (crt, key)) != 0 ||
      (r = gnutls_x509_crt_set_basic_constraints (crt, 0, -1)) != 0 ||
      (r = gnutls_x509_crt_set_key_usage (crt, GNUTLS_KEY_DIGITAL_SIGNATURE)) != 0 ||
      (r = gnutls_x509_crt_set_key_purpose_oid (crt, GNUTLS_KP_TLS_WWW_SERVER, 0)) != 0)
    {
      gnutls_failed (error, r, "fields");
      goto out;
    }
  {
    static const guint8 v4[4] = { 127, 0, 0, 1 };
    static const guint8 v6[16] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1 };

    gnutls_x509_crt_set_subject_alt_name (crt, GNUTLS_SAN_DNSNAME, host, (unsigned) strlen (host),
                                          GNUTLS_FSAN_APPEND);
    if (!g_str_equal (host, "localhost"))
      gnutls_x509_crt_set_subject_alt_name (crt, GNUTLS_SAN_DNSNAME, "localhost", 9,
                                            GNUTLS_FSAN_APPEND);
    gnutls_x509_crt_set_subject_alt_name (crt, GNUTLS_SAN_IPADDRESS, v4, 4, GNUTLS_FSAN_APPEND);
    gnutls_x509_crt_set_subject_alt_name (crt, GNUTLS_SAN_IPADDRESS, v6, 16, GNUTLS_FSAN_APPEND);
    add_interface_addresses (crt);
  }
  if ((r = gnutls_x509_crt_sign2 (crt, crt, key, GNUTLS_DIG_SHA256, 0)) != 0 ||
      (r = gnutls_x509_crt_export2 (crt, GNUTLS_X509_FMT_PEM, &cert_pem)) != 0 ||
      (r = gnutls_x509_privkey_export2_pkcs8 (key, GNUTLS_X509_FMT_PEM, NULL, GNUTLS_PKCS_PLAIN,
                                              &key_pem)) != 0)
    {
      gnutls_failed (error, r, "signature");
      goto out;
    }

  /* The key first and only readable by us; the certificate last, so that
   * a certificate on disk always has its key. */
  if (!g_file_set_contents_full (key_file, (const char *) key_pem.data, key_pem.size,
                                 G_FILE_SET_CONTENTS_CONSISTENT | G_FILE_SET_CONTENTS_DURABLE,
                                 0600, error) ||
      !g_file_set_contents_full (cert_file, (const char *) cert_pem.data, cert_pem.size,
                                 G_FILE_SET_CONTENTS_CONSISTENT | G_FILE_SET_CONTENTS_DURABLE,
                                 0644, error))
    goto out;
  ok = TRUE;

out:
  if (key_pem.data != NULL)
    {
      gnutls_memset (key_pem.data, 0, key_pem.size);
      gnutls_free (key_pem.data);
    }
  gnutls_free (cert_pem.data);
  if (crt != NULL)
    gnutls_x509_crt_deinit (crt);
  if (key != NULL)
    gnutls_x509_privkey_deinit (key);
  return ok;
}

GTlsCertificate *
herald_relay_load_certificate (const char  *cert_file,
                               const char  *key_file,
                               const char  *directory,
                               gboolean    *created,
                               char       **used_file,
                               GError     **error)
{
  g_autofree char *own_cert = NULL, *own_key = NULL;
  GTlsCertificate *certificate;

  if (created != NULL)
    *created = FALSE;
  if ((cert_file == NULL) != (key_file == NULL))
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                   _("give both the certificate and its key, or neither"));
      return NULL;
    }
  if (cert_file == NULL)
    {
      g_return_val_if_fail (directory != NULL, NULL);
      own_cert = g_build_filename (directory, "cert.pem", NULL);
      own_key = g_build_filename (directory, "key.pem", NULL);
      if (!g_file_test (own_cert, G_FILE_TEST_EXISTS) || !g_file_test (own_key, G_FILE_TEST_EXISTS))
        {
          if (g_mkdir_with_parents (directory, 0700) != 0)
            {
              int saved = errno;

              g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved),
                           _("cannot create %s: %s"), directory, g_strerror (saved));
              return NULL;
            }
          if (!create_pair (own_cert, own_key, error))
            return NULL;
          if (created != NULL)
            *created = TRUE;
        }
      cert_file = own_cert;
      key_file = own_key;
    }

  certificate = g_tls_certificate_new_from_files (cert_file, key_file, error);
  if (certificate != NULL && used_file != NULL)
    *used_file = g_strdup (cert_file);
  return certificate;
}

char *
herald_relay_certificate_fingerprint (GTlsCertificate *certificate)
{
  g_autoptr(GByteArray) der = NULL;
  g_autoptr(GChecksum) sum = g_checksum_new (G_CHECKSUM_SHA256);
  g_autoptr(GString) out = g_string_new (NULL);
  guint8 digest[32];
  gsize digest_len = sizeof digest;

  g_return_val_if_fail (G_IS_TLS_CERTIFICATE (certificate), NULL);

  g_object_get (certificate, "certificate", &der, NULL);
  if (der == NULL)
    return NULL;
  g_checksum_update (sum, der->data, der->len);
  g_checksum_get_digest (sum, digest, &digest_len);
  for (gsize i = 0; i < digest_len; i++)
    g_string_append_printf (out, i == 0 ? "%02X" : ":%02X", digest[i]);
  return g_string_free (g_steal_pointer (&out), FALSE);
}

char *
herald_relay_fingerprint_file (const char  *cert_file,
                               GError     **error)
{
  g_autoptr(GTlsCertificate) certificate = NULL;

  g_return_val_if_fail (cert_file != NULL, NULL);

  certificate = g_tls_certificate_new_from_file (cert_file, error);
  if (certificate == NULL)
    return NULL;
  return herald_relay_certificate_fingerprint (certificate);
}
