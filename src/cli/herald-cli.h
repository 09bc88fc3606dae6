/* SPDX-License-Identifier: GPL-3.0-or-later
 * Copyright 2026 The Herald authors
 */
#pragma once

#include <stdio.h>

#include <gio/gio.h>

G_BEGIN_DECLS

/* Exit statuses shared by every heraldctl command. */
enum {
  HERALD_EXIT_OK = 0,      /* the test passed / the command did what was asked */
  HERALD_EXIT_FAILED = 1,  /* the test (or login) failed */
  HERALD_EXIT_USAGE = 2,   /* bad usage */
};

/* Each command parses its own options from argv (argv[0] is the command name)
 * and returns an exit status. login and logout live in the OAuth module
 * (heraldctl-oauth.so), which heraldctl loads when they run. */
int herald_cli_test    (int argc, char **argv);
int herald_cli_explain (int argc, char **argv);
int herald_cli_login   (int argc, char **argv);
int herald_cli_logout  (int argc, char **argv);
/* heraldctl send (also run under the name "sendmail"), queue (its list is
 * also the "mailq" name) and config. Exit statuses are sendmail's
 * (sysexits.h: 64 usage, 65 data, 69 unavailable, 75 temporary, 78 config). */
int herald_cli_send         (int argc, char **argv);
int herald_cli_queue        (int argc, char **argv);
int herald_cli_queue_list   (int argc, char **argv);
int herald_cli_queue_flush  (int argc, char **argv);
int herald_cli_config       (int argc, char **argv);
/* heraldctl doctor: will alerts arrive? */
int herald_cli_doctor       (int argc, char **argv);
/* Tests only (heraldctl-systest): look up /usr/sbin/sendmail and the like
 * under @root. */
void _herald_cli_doctor_set_root (const char *root);
/* heraldctl relay: the SMTP submission server for devices, and its users. */
int herald_cli_relay        (int argc, char **argv);
/* Where the relay keeps its device users, certificate and log: the user's
 * state directory, or $localstatedir/lib/herald-relay. */
char *_herald_cli_relay_state_dir (gboolean system);
/* heraldctl-systest only: the system relay's "UID:GID" instead of the
 * herald-relay user's. */
void _herald_cli_relay_set_account (const char *uid_gid);
/* The uid herald-relay.service runs as (the herald-relay system user), -1
 * when there is none: the one maildrop owner whose device lines count. */
gint64 _herald_cli_relay_system_uid (void);
/* heraldctl history: the recent tests (src/history). */
int herald_cli_history      (int argc, char **argv);

/* The function @name of the OAuth module, loaded on first use; NULL after
 * telling "heraldctl @command:" why it is not available. */
gpointer _herald_cli_oauth_symbol (const char *command,
                                   const char *name);

G_END_DECLS
