/* SPDX-License-Identifier: GPL-3.0-or-later
 * Copyright 2026 The Herald authors
 */
#pragma once

#include <adwaita.h>

G_BEGIN_DECLS

#define HERALD_TYPE_RELAY_GROUP (herald_relay_group_get_type ())
G_DECLARE_FINAL_TYPE (HeraldRelayGroup, herald_relay_group, HERALD, RELAY_GROUP,
                      AdwPreferencesGroup)

/* The window's Relay section (heraldctl relay, src/relay): a switch that
 * runs `@heraldctl relay` while the window is open, the listen addresses
 * (the relay-listen setting of @settings), the device users of
 * @state_dir/users (add, remove), the fingerprint of the relay's
 * certificate, and the last messages relayed per device with their outcome
 * (@state_dir/messages.log, followed by a file monitor, read off the main
 * thread). @heraldctl NULL: $HERALDCTL, else the one on PATH. */
HeraldRelayGroup *herald_relay_group_new (GSettings  *settings,
                                          const char *state_dir,
                                          const char *heraldctl);

/* For tests. */
GStrv             herald_relay_group_dup_users       (HeraldRelayGroup *self);
const char       *herald_relay_group_get_fingerprint (HeraldRelayGroup *self);
const char       *herald_relay_group_get_status      (HeraldRelayGroup *self);
/* "DEVICE: SUBJECT — OUTCOME" per message shown, newest first. */
GStrv             herald_relay_group_dup_messages    (HeraldRelayGroup *self);
gboolean          herald_relay_group_is_busy         (HeraldRelayGroup *self);
void              herald_relay_group_reload          (HeraldRelayGroup *self);

G_END_DECLS
