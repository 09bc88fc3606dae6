/* SPDX-License-Identifier: GPL-3.0-or-later
 * Copyright 2026 The Herald authors
 */

#define G_LOG_DOMAIN "herald-smtp"

#include "config.h"

#include <string.h>
#include <glib/gstdio.h>
#include <gmodule.h>

#include <glib/gi18n-lib.h>

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
                         _("The system trust store is not available"));

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

/* ---- the TLS helper thread --------------------------------------------------- */

/* One thread per process loads what TLS needs, in the order it is needed:
 *
 *   1. the TLS backend (GIO's TLS module and the TLS library under it), which
 *      the ClientHello waits for: as soon as herald_smtp_prepare_tls() is
 *      first called;
 *   2. each CA file given to herald_smtp_prepare_tls() or found in a run's
 *      configuration, which the handshake waits for (a short parse);
 *   3. the system trust store (tens of milliseconds of CPU), which only the
 *      server's certificate needs, a round trip after the ClientHello at
 *      the earliest: when a run starts loading TLS
 *      (_herald_smtp_system_trust_preload()), never ahead of a CA file, so
 *      the ClientHello never waits for it.
 *
 * One thread rather than one per job: on a loaded machine every new thread
 * waits to be scheduled. The jobs come through a queue, CA files ahead of
 * the trust store; the thread lives as long as the process. */

#define JOB_SYSTEM_TRUST ((gpointer) 1)

static GAsyncQueue *prep_jobs;

/* Queue order: CA files (in the order asked for) before the trust store. */
static int
job_compare (gconstpointer a,
             gconstpointer b,
             gpointer      user_data)
{
  return (a == JOB_SYSTEM_TRUST) - (b == JOB_SYSTEM_TRUST);
}

/* GIO registers a module's extension points by loading it, unloading it and,
 * when the TLS backend is first asked for, loading it again: libgnutls and
 * the libraries under it (p11-kit, nettle, gmp...) are mapped and relocated
 * twice, a few milliseconds each time. Opening the module once ourselves,
 * with GIO's own flags, and never closing it keeps them mapped in between.
 * Only the file GIO would load anyway is opened: glib-networking's GnuTLS
 * module in GIO's module directory, unless GIO_USE_TLS names another
 * backend. When the file is not there nothing happens. */
static void
keep_tls_module_loaded (void)
{
  const char *use_tls = g_getenv ("GIO_USE_TLS");
  const char *dir = g_getenv ("GIO_MODULE_DIR");
  g_autofree char *path = NULL;
  GModule *module;

  if (use_tls != NULL && use_tls[0] != '\0' && !g_str_equal (use_tls, "gnutls"))
    return;

  path = g_build_filename (dir != NULL && dir[0] != '\0' ? dir : HERALD_GIO_MODULE_DIR,
                           "libgiognutls.so", NULL);
  if (!g_file_test (path, G_FILE_TEST_IS_REGULAR))
    return;

  module = g_module_open (path, G_MODULE_BIND_LAZY | G_MODULE_BIND_LOCAL);
  if (module != NULL)
    g_module_make_resident (module);
}

static void load_ca_file (HeraldCaLoad *load);

/* Runs on the "herald-tls-prep" thread. */
static gpointer
prepare_tls_thread (gpointer data)
{
  GAsyncQueue *jobs = data;

  keep_tls_module_loaded ();
  g_tls_backend_get_default ();

  for (;;)
    {
      gpointer job = g_async_queue_pop (jobs);

      if (job == JOB_SYSTEM_TRUST)
        {
          GTlsBackend *backend = g_tls_backend_get_default ();
          g_autoptr(GTlsDatabase) system = NULL;

          /* The backend loads and caches it under its own lock; no
           * connection takes that lock before its ClientHello
           * (_herald_smtp_system_trust() is their database). */
          if (g_tls_backend_supports_tls (backend))
            system = g_tls_backend_get_default_database (backend);
        }
      else
        {
          load_ca_file (job);
        }
    }

  return NULL;
}

static void
start_prep_thread (void)
{
  static gsize started;

  if (g_once_init_enter (&started))
    {
      prep_jobs = g_async_queue_new ();
      g_thread_unref (g_thread_new ("herald-tls-prep", prepare_tls_thread,
                                    g_async_queue_ref (prep_jobs)));
      g_once_init_leave (&started, 1);
    }
}

/* Starts loading the system trust store on the helper thread, once per
 * process, after any CA file queued. Called when a run starts loading TLS.
 * Any thread. */
void
_herald_smtp_system_trust_preload (void)
{
  static gsize queued;

  start_prep_thread ();
  if (g_once_init_enter (&queued))
    {
      g_async_queue_push (prep_jobs, JOB_SYSTEM_TRUST);
      g_once_init_leave (&queued, 1);
    }
}

/* ---- the user's CA file ------------------------------------------------------- */

/* A CA file parsed into a GTlsFileDatabase on the helper thread. Shared by
 * whoever waits for it and the thread (an atomic reference-counted box): a
 * cancelled session may end before the thread gets to it. */
struct _HeraldCaLoad
{
  GMutex        mutex;
  GCond         cond;
  char         *path;         /* absolute */
  GStatBuf      stat;         /* the file when the load was asked for */
  GTlsDatabase *database;
  GError       *error;
  gboolean      done;
  gboolean      changed;      /* the file changed while it was parsed */
};

/* How many CA files the helper thread has parsed (for the tests). */
static guint n_parses;

guint
_herald_ca_load_get_n_parses (void)
{
  return g_atomic_int_get (&n_parses);
}

/* Whether @a and @b describe the same, unchanged file. The change time
 * counts too: a file rewritten in place to the same size, its modification
 * time then set back (touch -d), still has a new change time, which no
 * user can set. */
static gboolean
same_file (const GStatBuf *a,
           const GStatBuf *b)
{
  return a->st_dev == b->st_dev && a->st_ino == b->st_ino &&
         a->st_size == b->st_size &&
         a->st_mtim.tv_sec == b->st_mtim.tv_sec &&
         a->st_mtim.tv_nsec == b->st_mtim.tv_nsec &&
         a->st_ctim.tv_sec == b->st_ctim.tv_sec &&
         a->st_ctim.tv_nsec == b->st_ctim.tv_nsec;
}

static void
ca_load_clear (gpointer data)
{
  HeraldCaLoad *load = data;

  g_free (load->path);
  g_clear_object (&load->database);
  g_clear_error (&load->error);
  g_mutex_clear (&load->mutex);
  g_cond_clear (&load->cond);
}

void
_herald_ca_load_unref (HeraldCaLoad *load)
{
  g_atomic_rc_box_release_full (load, ca_load_clear);
}

/* Runs on the "herald-tls-prep" thread; consumes the queue's reference. */
static void
load_ca_file (HeraldCaLoad *load)
{
  GError *local_error = NULL;
  GTlsDatabase *database = g_tls_file_database_new (load->path, &local_error);
  GStatBuf after;
  gboolean changed;

  /* The file as it is right after the parse: when it is not the file that
   * was there when the load was asked for (replaced, rewritten, or swapped
   * and swapped back meanwhile), what was parsed may be neither; the
   * waiter then parses it again. */
  changed = g_stat (load->path, &after) != 0 || !same_file (&after, &load->stat);
  g_atomic_int_inc (&n_parses);

  g_mutex_lock (&load->mutex);
  load->database = database;
  load->error = local_error;
  load->changed = changed;
  load->done = TRUE;
  g_cond_broadcast (&load->cond);
  g_mutex_unlock (&load->mutex);

  _herald_ca_load_unref (load);
}

/* Queues the parse of the CA file at @path (absolute) on the helper thread. */
HeraldCaLoad *
_herald_ca_load_start (const char *path)
{
  HeraldCaLoad *load = g_atomic_rc_box_new0 (HeraldCaLoad);

  g_mutex_init (&load->mutex);
  g_cond_init (&load->cond);
  load->path = g_strdup (path);
  if (g_stat (path, &load->stat) != 0)
    memset (&load->stat, 0, sizeof load->stat);

  start_prep_thread ();
  g_async_queue_push_sorted (prep_jobs, g_atomic_rc_box_acquire (load), job_compare, NULL);
  return load;
}

/* Waits for @load's parse, in slices so that @cancellable is seen, until
 * @deadline (monotonic; 0: none); returns FALSE when it was cancelled or the
 * deadline passed. */
static gboolean
wait_done (HeraldCaLoad  *load,
           gint64         deadline,
           guint          timeout,
           GCancellable  *cancellable,
           GError       **error)
{
  g_mutex_lock (&load->mutex);
  while (!load->done)
    {
      /* A CA file on a hung mount never finishes: the run must still end
       * when it is cancelled, or when its time is up. */
      if (g_cancellable_set_error_if_cancelled (cancellable, error))
        {
          g_mutex_unlock (&load->mutex);
          return FALSE;
        }
      if (deadline != 0 && g_get_monotonic_time () >= deadline)
        {
          g_mutex_unlock (&load->mutex);
          g_set_error (error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT,
                       _("reading it took longer than %u seconds"), timeout);
          return FALSE;
        }
      g_cond_wait_until (&load->cond, &load->mutex,
                         g_get_monotonic_time () + 100 * G_TIME_SPAN_MILLISECOND);
    }
  g_mutex_unlock (&load->mutex);

  return TRUE;
}

/* Waits for the parse, for at most @timeout seconds (0: no limit); returns
 * the database (a new reference) or NULL with the parser's error,
 * G_IO_ERROR_TIMED_OUT when the time is up, or G_IO_ERROR_CANCELLED once
 * @cancellable is cancelled. When the file changed during the parse it is
 * parsed once more, as a run would that had no early parse. */
GTlsDatabase *
_herald_ca_load_wait (HeraldCaLoad  *load,
                      guint          timeout,
                      GCancellable  *cancellable,
                      GError       **error)
{
  g_autoptr(HeraldCaLoad) again = NULL;
  GTlsDatabase *database = NULL;
  gint64 deadline = timeout > 0 ? g_get_monotonic_time () + timeout * G_TIME_SPAN_SECOND : 0;

  if (!wait_done (load, deadline, timeout, cancellable, error))
    return NULL;

  /* load->changed is written once, before done; no lock needed now. */
  if (load->changed)
    {
      again = _herald_ca_load_start (load->path);
      if (!wait_done (again, deadline, timeout, cancellable, error))
        return NULL;
      load = again;
    }

  g_mutex_lock (&load->mutex);
  if (load->database != NULL)
    database = g_object_ref (load->database);
  else if (load->error != NULL)
    g_propagate_error (error, g_error_copy (load->error));
  else
    g_set_error_literal (error, G_TLS_ERROR, G_TLS_ERROR_MISC, "?");
  g_mutex_unlock (&load->mutex);

  return database;
}

/* The load herald_smtp_prepare_tls() queued, waiting for its run. */
G_LOCK_DEFINE_STATIC (early_ca);
static HeraldCaLoad *early_ca;

/* Hands over the early load of @path (absolute) when there is one and the
 * file has not changed since it was asked for; NULL otherwise. Each early
 * load is taken once: a later run parses the file afresh. */
HeraldCaLoad *
_herald_ca_load_take (const char *path)
{
  HeraldCaLoad *load;
  GStatBuf now;

  G_LOCK (early_ca);
  load = g_steal_pointer (&early_ca);
  G_UNLOCK (early_ca);

  if (load == NULL)
    return NULL;

  if (!g_str_equal (load->path, path) ||
      g_stat (path, &now) != 0 ||
      !same_file (&now, &load->stat))
    {
      g_clear_pointer (&load, _herald_ca_load_unref);
    }

  return load;
}

/* ---- the public entry point ------------------------------------------------------ */

/**
 * herald_smtp_prepare_tls:
 * @ca_file: (nullable): the CA file the next run will use, or %NULL
 *
 * Starts loading what a TLS connection needs on a helper thread and returns
 * at once: the TLS backend (a GIO module and the TLS library under it,
 * several milliseconds of CPU) and, when given, the CA file. Any thread may
 * call it.
 *
 * The backend is loaded once per process, by the first call. A @ca_file is
 * parsed on every call that gives one; the next run with that same file
 * takes the result, unless the file changed in between (the run then parses
 * it again). Errors are never reported here: the run checks the file and
 * reports a missing or bad one as before. The system trust store is loaded
 * once per process too, when a run first waits for the network.
 *
 * herald_smtp_run() and herald_smtp_run_async() call it themselves when the
 * configuration asks for TLS: for implicit TLS before connecting, for
 * STARTTLS once connected (the greeting, EHLO and STARTTLS round trips leave
 * time enough). Calling it earlier, as soon as a program knows it will test
 * an implicit-TLS server (heraldctl calls it once it has read its settings),
 * takes that work off the path from the connection to the ClientHello.
 *
 * Nothing about certificate validation changes: every connection is still
 * checked against the backend's default trust store (and the CA file).
 */
void
herald_smtp_prepare_tls (const char *ca_file)
{
  start_prep_thread ();

  if (ca_file != NULL && ca_file[0] != '\0')
    {
      g_autofree char *path = g_canonicalize_filename (ca_file, NULL);
      HeraldCaLoad *load = NULL;
      HeraldCaLoad *old;

      /* Only a regular file: whatever else it is, the run says so. */
      if (g_file_test (path, G_FILE_TEST_IS_REGULAR))
        load = _herald_ca_load_start (path);

      G_LOCK (early_ca);
      old = g_steal_pointer (&early_ca);
      early_ca = load;
      G_UNLOCK (early_ca);

      g_clear_pointer (&old, _herald_ca_load_unref);
    }
}
