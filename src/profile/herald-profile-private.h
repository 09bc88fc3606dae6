/* SPDX-License-Identifier: GPL-3.0-or-later
 * Copyright 2026 The Herald authors
 */
#pragma once

/* Inside src/profile only: the profile object, shared by the user scope
 * (herald-profile.c) and the system scope (herald-profile-system.c). */

#include "herald-profile.h"
#include "herald-secrets-system.h"

G_BEGIN_DECLS

/* The settings source and the credential store are reached through these
 * tables only, so that the system scope (a key file, root's store) is a
 * second table, not a second copy of the profile. */
typedef struct {
  const char *describe;
  /* A new reference; *is_set tells whether the profile itself sets it. */
  GVariant *(*read)  (HeraldProfile *self, const char *key, gboolean *is_set);
  gboolean  (*write) (HeraldProfile *self, const char *key, GVariant *value, GError **error);
} SettingsSource;

typedef struct {
  const char *describe;
  char     *(*lookup) (HeraldProfile *self, const char *host, guint16 port, const char *user,
                       GCancellable *cancellable, GError **error);
  gboolean  (*store)  (HeraldProfile *self, const char *host, guint16 port, const char *user,
                       const char *password, GCancellable *cancellable, GError **error);
  gboolean  (*clear)  (HeraldProfile *self, const char *host, guint16 port, const char *user,
                       GCancellable *cancellable, GError **error);
} CredentialStore;

struct _HeraldProfile
{
  GObject                parent_instance;

  GSettings             *settings;
  GSettingsSchema       *schema;
  const SettingsSource  *source;
  const CredentialStore *credentials;
  HeraldProfileScope     scope;
  char                  *queue_dir;
  char                  *state_dir;     /* token health; the system secrets */
  char                  *why;           /* why this profile applies */
  GStrv                  keys;

  /* the system scope */
  GKeyFile              *keyfile;
  char                  *keyfile_path;
  GSettingsBackend      *mirror_backend;
  HeraldSystemSecrets   *secrets;       /* opened on first use (root only) */
};

void             _herald_profile_set_why       (HeraldProfile *self,
                                                const char    *why);
void             _herald_profile_use_token_store (HeraldProfile *self);
GSettingsSchema *_herald_profile_lookup_schema (GError **error);
void             _herald_profile_collect_keys  (HeraldProfile *self);
char            *_herald_profile_variant_to_text (GVariant *value);
GVariant        *_herald_profile_parse_value   (HeraldProfile  *self,
                                                const char     *key,
                                                const char     *text,
                                                GError        **error);

G_END_DECLS
