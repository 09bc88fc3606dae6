/* SPDX-License-Identifier: GPL-3.0-or-later
 * Copyright 2026 The Herald authors
 */

#define G_LOG_DOMAIN "herald-smtp"

#include "config.h"

#include "herald-smtp-private.h"

/* The system trust store, shared by every connection and looked up only
 * when a certificate chain has to be checked.
 *
 * Why: glib-networking 2.74 builds a fresh GnuTLS trust list for every
 * connection whose database is its own (the default) one, re-reading
 * /etc/ssl/certs/ca-certificates.crt inside g_tls_client_connection_new():
 * 30 to 60 ms of CPU between the server's "220 ready to start TLS" (or the
 * TCP connect, for implicit TLS) and our ClientHello. A connection whose
 * database is not a GnuTLS one gets empty GnuTLS credentials instead and
 * leaves every check to g_tls_database_verify_chain() on the database, which
 * is what glib-networking does for every database anyway (its GnuTLS verify
 * callback calls the connection's GTlsDatabase).
 *
 * So this database forwards every call, unchanged, to the backend's default
 * database: the same chain building, the same anchors, the same identity
 * and validity checks, the same flags. Nothing is weakened. And because it
 * asks for the default database only when a chain arrives, the ClientHello
 * leaves at once and the one load of the trust store (started early by the
 * engine on a helper thread) overlaps the handshake's round trip.
 *
 * Thread safety: the default database is thread-safe (glib-networking
 * guards it with a mutex); this object holds no state of its own. */

#define HERALD_TYPE_SYSTEM_TRUST (herald_system_trust_get_type ())
G_DECLARE_FINAL_TYPE (HeraldSystemTrust, herald_system_trust, HERALD, SYSTEM_TRUST, GTlsDatabase)

struct _HeraldSystemTrust
{
  GTlsDatabase parent_instance;
};

G_DEFINE_FINAL_TYPE (HeraldSystemTrust, herald_system_trust, G_TYPE_TLS_DATABASE)

/* Returns the backend's default database (a new reference), loading it on
 * first use; sets an error when the backend has none. */
static GTlsDatabase *
system_database (GError **error)
{
  GTlsBackend *backend = g_tls_backend_get_default ();
  GTlsDatabase *database = NULL;

  if (g_tls_backend_supports_tls (backend))
    database = g_tls_backend_get_default_database (backend);

  if (database == NULL)
    g_set_error_literal (error, G_TLS_ERROR, G_TLS_ERROR_UNAVAILABLE,
                         "The system trust store is not available");

  return database;
}

static GTlsCertificateFlags
herald_system_trust_verify_chain (GTlsDatabase             *database,
                                  GTlsCertificate          *chain,
                                  const char               *purpose,
                                  GSocketConnectable       *identity,
                                  GTlsInteraction          *interaction,
                                  GTlsDatabaseVerifyFlags   flags,
                                  GCancellable             *cancellable,
                                  GError                  **error)
{
  g_autoptr(GTlsDatabase) real = system_database (error);

  /* No trust store: nothing is trusted. */
  if (real == NULL)
    return G_TLS_CERTIFICATE_GENERIC_ERROR;

  return g_tls_database_verify_chain (real, chain, purpose, identity, interaction,
                                      flags, cancellable, error);
}

static char *
herald_system_trust_create_certificate_handle (GTlsDatabase    *database,
                                               GTlsCertificate *certificate)
{
  g_autoptr(GTlsDatabase) real = system_database (NULL);

  if (real == NULL)
    return NULL;

  return g_tls_database_create_certificate_handle (real, certificate);
}

static GTlsCertificate *
herald_system_trust_lookup_certificate_for_handle (GTlsDatabase             *database,
                                                   const char               *handle,
                                                   GTlsInteraction          *interaction,
                                                   GTlsDatabaseLookupFlags   flags,
                                                   GCancellable             *cancellable,
                                                   GError                  **error)
{
  g_autoptr(GTlsDatabase) real = system_database (error);

  if (real == NULL)
    return NULL;

  return g_tls_database_lookup_certificate_for_handle (real, handle, interaction, flags,
                                                       cancellable, error);
}

static GTlsCertificate *
herald_system_trust_lookup_certificate_issuer (GTlsDatabase             *database,
                                               GTlsCertificate          *certificate,
                                               GTlsInteraction          *interaction,
                                               GTlsDatabaseLookupFlags   flags,
                                               GCancellable             *cancellable,
                                               GError                  **error)
{
  g_autoptr(GTlsDatabase) real = system_database (error);

  if (real == NULL)
    return NULL;

  return g_tls_database_lookup_certificate_issuer (real, certificate, interaction, flags,
                                                   cancellable, error);
}

static GList *
herald_system_trust_lookup_certificates_issued_by (GTlsDatabase             *database,
                                                   GByteArray               *issuer_raw_dn,
                                                   GTlsInteraction          *interaction,
                                                   GTlsDatabaseLookupFlags   flags,
                                                   GCancellable             *cancellable,
                                                   GError                  **error)
{
  g_autoptr(GTlsDatabase) real = system_database (error);

  if (real == NULL)
    return NULL;

  return g_tls_database_lookup_certificates_issued_by (real, issuer_raw_dn, interaction,
                                                       flags, cancellable, error);
}

static void
herald_system_trust_class_init (HeraldSystemTrustClass *klass)
{
  GTlsDatabaseClass *database_class = G_TLS_DATABASE_CLASS (klass);

  /* The asynchronous variants keep GTlsDatabase's defaults, which run these
   * in a thread. */
  database_class->verify_chain = herald_system_trust_verify_chain;
  database_class->create_certificate_handle = herald_system_trust_create_certificate_handle;
  database_class->lookup_certificate_for_handle = herald_system_trust_lookup_certificate_for_handle;
  database_class->lookup_certificate_issuer = herald_system_trust_lookup_certificate_issuer;
  database_class->lookup_certificates_issued_by = herald_system_trust_lookup_certificates_issued_by;
}

static void
herald_system_trust_init (HeraldSystemTrust *self)
{
}

/* Returns the shared system-trust database (a new reference). Any thread. */
GTlsDatabase *
_herald_smtp_system_trust (void)
{
  static gsize initialized;
  static GTlsDatabase *trust;

  if (g_once_init_enter (&initialized))
    {
      trust = g_object_new (HERALD_TYPE_SYSTEM_TRUST, NULL);
      g_once_init_leave (&initialized, 1);
    }

  return g_object_ref (trust);
}
