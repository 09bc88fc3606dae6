/* SPDX-License-Identifier: GPL-3.0-or-later
 * Copyright 2026 The Herald authors
 */
#define G_LOG_DOMAIN "herald-secrets"

#include "config.h"

#include <glib/gi18n-lib.h>
#include <libsecret/secret.h>

#include "herald-secrets.h"
#include "herald-secrets-private.h"

/* Nothing in this file logs, prints or copies a secret: passwords only travel
 * between the caller and libsecret. Error messages name the server and user,
 * never the password. */

G_DEFINE_QUARK (herald-secrets-error-quark, herald_secrets_error)

static const SecretSchema *
password_schema (void)
{
  static const SecretSchema schema = {
    "io.github.heraldmail.Herald.Password", SECRET_SCHEMA_NONE,
    {
      { "server", SECRET_SCHEMA_ATTRIBUTE_STRING },
      { "port", SECRET_SCHEMA_ATTRIBUTE_INTEGER },
      { "username", SECRET_SCHEMA_ATTRIBUTE_STRING },
      { NULL, 0 },
    }
  };

  return &schema;
}

/* Whether @error means that there is no Secret Service to talk to: no
 * session bus, nobody owning org.freedesktop.secrets, or an activation that
 * could not start one. Decided from the error alone: asking GIO again
 * (g_bus_get_sync) could block the calling thread, the GTK thread for the
 * window, e.g. while it autolaunches a bus under X11 or waits on a bus socket
 * that accepts but never answers. */
gboolean
_herald_secrets_is_no_service_error (const GError *error)
{
  if (error->domain == G_SPAWN_ERROR)
    return TRUE;

  if (error->domain == G_DBUS_ERROR)
    {
      switch (error->code)
        {
        case G_DBUS_ERROR_SERVICE_UNKNOWN:
        case G_DBUS_ERROR_NAME_HAS_NO_OWNER:
        case G_DBUS_ERROR_NO_SERVER:
        case G_DBUS_ERROR_NO_NETWORK:
        case G_DBUS_ERROR_BAD_ADDRESS:
        case G_DBUS_ERROR_AUTH_FAILED:
        case G_DBUS_ERROR_DISCONNECTED:
        case G_DBUS_ERROR_FILE_NOT_FOUND:
        case G_DBUS_ERROR_SPAWN_EXEC_FAILED:
        case G_DBUS_ERROR_SPAWN_FORK_FAILED:
        case G_DBUS_ERROR_SPAWN_CHILD_EXITED:
        case G_DBUS_ERROR_SPAWN_CHILD_SIGNALED:
        case G_DBUS_ERROR_SPAWN_FAILED:
        case G_DBUS_ERROR_SPAWN_SETUP_FAILED:
        case G_DBUS_ERROR_SPAWN_CONFIG_INVALID:
        case G_DBUS_ERROR_SPAWN_SERVICE_INVALID:
        case G_DBUS_ERROR_SPAWN_SERVICE_NOT_FOUND:
        case G_DBUS_ERROR_SPAWN_PERMISSIONS_INVALID:
        case G_DBUS_ERROR_SPAWN_FILE_INVALID:
        case G_DBUS_ERROR_SPAWN_NO_MEMORY:
          return TRUE;
        default:
          return FALSE;
        }
    }

  /* The Secret Service's own failures come as SECRET_ERROR or G_DBUS_ERROR;
   * a G_IO_ERROR comes from GIO failing to reach the session bus at all:
   * no address and no way to autolaunch one ("Cannot autolaunch D-Bus
   * without X11 $DISPLAY", G_IO_ERROR_FAILED, like a failed authentication
   * or a bus that hangs up during it), an address that is invalid, a socket
   * that does not exist or refuses us, or a connection that is closed.
   * Cancellation is not one (a dismissed prompt), and neither is a keyring
   * that was reached but did not answer in time.
   * The catch-all codes (FAILED, INVALID_ARGUMENT, NOT_SUPPORTED) are also
   * what a service on a working bus may send back as its own failure (a
   * GError passed over D-Bus keeps its domain and code): an error that
   * came in a reply means the bus and a service answered, so it is never
   * "no service". GIO's own connection errors are never remote. */
  if (error->domain == G_IO_ERROR)
    {
      if (g_dbus_error_is_remote_error (error))
        return FALSE;

      switch (error->code)
        {
        case G_IO_ERROR_FAILED:
        case G_IO_ERROR_NOT_FOUND:
        case G_IO_ERROR_INVALID_ARGUMENT:
        case G_IO_ERROR_PERMISSION_DENIED:
        case G_IO_ERROR_NOT_SUPPORTED:
        case G_IO_ERROR_CLOSED:
        case G_IO_ERROR_CONNECTION_REFUSED:
        case G_IO_ERROR_HOST_UNREACHABLE:
        case G_IO_ERROR_NETWORK_UNREACHABLE:
        case G_IO_ERROR_BROKEN_PIPE:
        case G_IO_ERROR_NOT_CONNECTED:
          return TRUE;
        default:
          return FALSE;
        }
    }

  return FALSE;
}

/* Turns a libsecret / GDBus error into one of ours with a message a person can
 * act on. Cancellation by the caller passes through unchanged. Takes @error. */
static GError *
map_error (GError       *error,
           GCancellable *cancellable)
{
  GError *mapped;

  g_assert (error != NULL);

  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED) &&
      g_cancellable_is_cancelled (cancellable))
    return error;

  if (_herald_secrets_is_no_service_error (error))
    {
      mapped = g_error_new (HERALD_SECRETS_ERROR, HERALD_SECRETS_ERROR_NO_SERVICE,
                            _("No keyring is available: no Secret Service could be reached (%s). "
                              "Start a keyring such as GNOME Keyring or KeePassXC's Secret Service "
                              "integration; until then the password is kept for this session only."),
                            error->message);
    }
  else if (g_error_matches (error, SECRET_ERROR, SECRET_ERROR_IS_LOCKED) ||
           g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED) ||
           g_error_matches (error, G_DBUS_ERROR, G_DBUS_ERROR_UNKNOWN_OBJECT))
    {
      /* A cancellation we did not ask for is the keyring's unlock prompt
       * being dismissed. An unknown object is the default keyring that does
       * not exist yet because the prompt to create it was refused. */
      mapped = g_error_new (HERALD_SECRETS_ERROR, HERALD_SECRETS_ERROR_LOCKED,
                            _("The keyring is locked or not set up, and was not unlocked (%s). "
                              "Unlock it (for example in Passwords and Keys) and try again; until "
                              "then the password is kept for this session only."),
                            error->message);
    }
  else
    {
      mapped = g_error_new (HERALD_SECRETS_ERROR, HERALD_SECRETS_ERROR_FAILED,
                            _("The keyring could not be used: %s"),
                            error->message);
    }

  g_error_free (error);
  return mapped;
}

static GError *
dismissed_error (void)
{
  return g_error_new_literal (HERALD_SECRETS_ERROR, HERALD_SECRETS_ERROR_LOCKED,
                              _("The keyring is locked and its unlock prompt was dismissed. "
                                "Unlock the keyring and try again; until then the password "
                                "is kept for this session only."));
}

static GError *
locked_item_error (void)
{
  return g_error_new_literal (HERALD_SECRETS_ERROR, HERALD_SECRETS_ERROR_LOCKED,
                              _("A password is saved in the keyring, but the keyring is locked "
                                "and was not unlocked. Unlock it (for example in Passwords and "
                                "Keys) and try again, or type the password: it is then kept for "
                                "this session only."));
}

/* libsecret's lookup answers "nothing" when the matching item sits in a
 * collection that stays locked (the unlock prompt was refused or could not be
 * shown). Searching without unlocking tells the two apart. */
static gboolean
items_are_locked (GList *items)
{
  for (GList *l = items; l != NULL; l = l->next)
    {
      if (SECRET_IS_ITEM (l->data) && secret_item_get_locked (l->data))
        return TRUE;
    }
  return FALSE;
}

static char *
make_label (const char *host,
            guint16     port,
            const char *username)
{
  /* Translators: the keyring item's label, e.g. "Herald SMTP password for
   * alice@example.com on smtp.example.com:587". */
  return g_strdup_printf (_("Herald SMTP password for %s on %s:%u"),
                          username, host, (guint) port);
}

char *
herald_password_lookup_sync (const char    *host,
                             guint16        port,
                             const char    *username,
                             GCancellable  *cancellable,
                             GError       **error)
{
  GError *local_error = NULL;
  char *password;

  g_return_val_if_fail (host != NULL, NULL);
  g_return_val_if_fail (username != NULL, NULL);
  g_return_val_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable), NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  password = secret_password_lookup_sync (password_schema (), cancellable, &local_error,
                                          "server", host,
                                          "port", (int) port,
                                          "username", username,
                                          NULL);
  if (local_error != NULL)
    {
      g_propagate_error (error, map_error (local_error, cancellable));
      return NULL;
    }

  if (password == NULL)
    {
      GList *items = secret_password_search_sync (password_schema (), SECRET_SEARCH_ALL,
                                                  cancellable, NULL,
                                                  "server", host,
                                                  "port", (int) port,
                                                  "username", username,
                                                  NULL);
      gboolean locked = items_are_locked (items);

      g_list_free_full (items, g_object_unref);
      if (locked)
        g_propagate_error (error, locked_item_error ());
    }

  return password;
}

typedef struct {
  char    *host;
  guint16  port;
  char    *username;
} LookupData;

static void
lookup_data_free (gpointer data)
{
  LookupData *d = data;

  g_free (d->host);
  g_free (d->username);
  g_free (d);
}

static void
lookup_search_cb (GObject      *source,
                  GAsyncResult *result,
                  gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  GError *error = NULL;
  GList *items;

  /* A failed search only means we cannot tell: report "no password", unless
   * the caller cancelled. */
  items = secret_password_search_finish (result, &error);
  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    g_task_return_error (task, g_steal_pointer (&error));
  else if (items_are_locked (items))
    g_task_return_error (task, locked_item_error ());
  else
    g_task_return_pointer (task, NULL, NULL);
  g_list_free_full (items, g_object_unref);
  g_clear_error (&error);
}

static void
lookup_cb (GObject      *source,
           GAsyncResult *result,
           gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  LookupData *d = g_task_get_task_data (task);
  GError *error = NULL;
  char *password;

  password = secret_password_lookup_finish (result, &error);
  if (error != NULL)
    g_task_return_error (task, map_error (error, g_task_get_cancellable (task)));
  else if (password != NULL)
    g_task_return_pointer (task, password, (GDestroyNotify) secret_password_free);
  else
    {
      /* Arguments are evaluated in any order: take the cancellable first. */
      GCancellable *cancellable = g_task_get_cancellable (task);

      secret_password_search (password_schema (), SECRET_SEARCH_ALL,
                              cancellable, lookup_search_cb,
                              g_steal_pointer (&task),
                              "server", d->host,
                              "port", (int) d->port,
                              "username", d->username,
                              NULL);
    }
}

void
herald_password_lookup_async (const char          *host,
                              guint16              port,
                              const char          *username,
                              GCancellable        *cancellable,
                              GAsyncReadyCallback  callback,
                              gpointer             user_data)
{
  GTask *task;
  LookupData *d;

  g_return_if_fail (host != NULL);
  g_return_if_fail (username != NULL);
  g_return_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable));

  task = g_task_new (NULL, cancellable, callback, user_data);
  g_task_set_source_tag (task, herald_password_lookup_async);
  /* libsecret reports cancellation itself; we map it in lookup_cb. */
  g_task_set_check_cancellable (task, FALSE);
  d = g_new0 (LookupData, 1);
  d->host = g_strdup (host);
  d->port = port;
  d->username = g_strdup (username);
  g_task_set_task_data (task, d, lookup_data_free);

  secret_password_lookup (password_schema (), cancellable, lookup_cb, task,
                          "server", host,
                          "port", (int) port,
                          "username", username,
                          NULL);
}

char *
herald_password_lookup_finish (GAsyncResult  *result,
                               GError       **error)
{
  g_return_val_if_fail (g_task_is_valid (result, NULL), NULL);
  g_return_val_if_fail (g_task_get_source_tag (G_TASK (result)) == herald_password_lookup_async,
                        NULL);

  return g_task_propagate_pointer (G_TASK (result), error);
}

gboolean
herald_password_store_sync (const char    *host,
                            guint16        port,
                            const char    *username,
                            const char    *password,
                            GCancellable  *cancellable,
                            GError       **error)
{
  GError *local_error = NULL;
  g_autofree char *label = NULL;

  g_return_val_if_fail (host != NULL, FALSE);
  g_return_val_if_fail (username != NULL, FALSE);
  g_return_val_if_fail (password != NULL, FALSE);
  g_return_val_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  label = make_label (host, port, username);
  if (!secret_password_store_sync (password_schema (), SECRET_COLLECTION_DEFAULT, label,
                                   password, cancellable, &local_error,
                                   "server", host,
                                   "port", (int) port,
                                   "username", username,
                                   NULL))
    {
      if (local_error != NULL)
        g_propagate_error (error, map_error (local_error, cancellable));
      else
        g_propagate_error (error, dismissed_error ());
      return FALSE;
    }

  return TRUE;
}

static void
store_cb (GObject      *source,
          GAsyncResult *result,
          gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  GError *error = NULL;

  if (secret_password_store_finish (result, &error))
    g_task_return_boolean (task, TRUE);
  else if (error != NULL)
    g_task_return_error (task, map_error (error, g_task_get_cancellable (task)));
  else
    g_task_return_error (task, dismissed_error ());
}

void
herald_password_store_async (const char          *host,
                             guint16              port,
                             const char          *username,
                             const char          *password,
                             GCancellable        *cancellable,
                             GAsyncReadyCallback  callback,
                             gpointer             user_data)
{
  g_autofree char *label = NULL;
  GTask *task;

  g_return_if_fail (host != NULL);
  g_return_if_fail (username != NULL);
  g_return_if_fail (password != NULL);
  g_return_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable));

  task = g_task_new (NULL, cancellable, callback, user_data);
  g_task_set_source_tag (task, herald_password_store_async);
  g_task_set_check_cancellable (task, FALSE);

  label = make_label (host, port, username);
  secret_password_store (password_schema (), SECRET_COLLECTION_DEFAULT, label, password,
                         cancellable, store_cb, task,
                         "server", host,
                         "port", (int) port,
                         "username", username,
                         NULL);
}

gboolean
herald_password_store_finish (GAsyncResult  *result,
                              GError       **error)
{
  g_return_val_if_fail (g_task_is_valid (result, NULL), FALSE);
  g_return_val_if_fail (g_task_get_source_tag (G_TASK (result)) == herald_password_store_async,
                        FALSE);

  return g_task_propagate_boolean (G_TASK (result), error);
}

gboolean
herald_password_clear_sync (const char    *host,
                            guint16        port,
                            const char    *username,
                            GCancellable  *cancellable,
                            GError       **error)
{
  GError *local_error = NULL;

  g_return_val_if_fail (host != NULL, FALSE);
  g_return_val_if_fail (username != NULL, FALSE);
  g_return_val_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  /* FALSE without an error only means there was nothing to remove, which is
   * what the caller wanted. */
  if (!secret_password_clear_sync (password_schema (), cancellable, &local_error,
                                   "server", host,
                                   "port", (int) port,
                                   "username", username,
                                   NULL) &&
      local_error != NULL)
    {
      g_propagate_error (error, map_error (local_error, cancellable));
      return FALSE;
    }

  return TRUE;
}
