/* SPDX-License-Identifier: GPL-3.0-or-later
 * Copyright 2026 The Herald authors
 */
#pragma once

/* The relay: an ESMTP submission server for devices and applications that
 * only speak SMTP with a password (printers, scanners, Patch My PC
 * Publisher). What they hand over is answered 250 only once it is durably
 * in Herald's queue; delivery then goes through the profile (OAuth, Graph
 * or password) like every other alert. GIO and GnuTLS only.
 *
 * The parts: the command parser (herald_relay_command_parse, fuzzed), the
 * device users (salted PBKDF2 in the profile's state directory), the TLS
 * certificate (configured, or created on first start), the server (one
 * thread per accepted connection, admission and limits in the main loop)
 * and the log of relayed messages the window shows. */

#include <gio/gio.h>

#include "herald-message.h"
#include "herald-queue.h"

G_BEGIN_DECLS

#define HERALD_RELAY_ERROR (herald_relay_error_quark ())
GQuark herald_relay_error_quark (void);

typedef enum {
  HERALD_RELAY_ERROR_BAD_ADDRESS,   /* a listen address or CIDR that does not parse */
  HERALD_RELAY_ERROR_BAD_USER,      /* a device user name that is not allowed */
  HERALD_RELAY_ERROR_NO_SUCH_USER,
  HERALD_RELAY_ERROR_BAD_PASSWORD,  /* too short, a line break, a NUL */
  HERALD_RELAY_ERROR_DAMAGED,       /* the users file or certificate cannot be read */
} HeraldRelayError;

/* ---- the command parser ----------------------------------------------------- */

typedef enum {
  HERALD_RELAY_VERB_UNKNOWN,
  HERALD_RELAY_VERB_EHLO,
  HERALD_RELAY_VERB_HELO,
  HERALD_RELAY_VERB_STARTTLS,
  HERALD_RELAY_VERB_AUTH,
  HERALD_RELAY_VERB_MAIL,
  HERALD_RELAY_VERB_RCPT,
  HERALD_RELAY_VERB_DATA,
  HERALD_RELAY_VERB_BDAT,
  HERALD_RELAY_VERB_RSET,
  HERALD_RELAY_VERB_NOOP,
  HERALD_RELAY_VERB_QUIT,
  HERALD_RELAY_VERB_VRFY,
} HeraldRelayVerb;

typedef struct {
  HeraldRelayVerb  verb;
  /* When the line is not a valid command of its verb: the whole reply to
   * send ("501 5.5.4 Syntax: MAIL FROM:<address>"), Postfix's wording. */
  const char      *error_reply;
  char            *argument;   /* EHLO/HELO name, AUTH mechanism (upper case) */
  char            *initial;    /* AUTH initial response, or NULL */
  char            *address;    /* MAIL/RCPT path without brackets; "" for <> */
  guint64          size;       /* MAIL SIZE= (0: not given), BDAT chunk size */
  gboolean         size_given;
  gboolean         last;       /* BDAT … LAST */
  gboolean         body_8bit;  /* MAIL BODY=8BITMIME */
} HeraldRelayCommand;

void                herald_relay_command_free  (HeraldRelayCommand *command);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (HeraldRelayCommand, herald_relay_command_free)

/* Parses one command line (without its line end; any bytes). Never NULL:
 * an unknown verb is HERALD_RELAY_VERB_UNKNOWN with its error_reply. */
HeraldRelayCommand *herald_relay_command_parse (const char *line,
                                                gsize       length) G_GNUC_WARN_UNUSED_RESULT;

/* ---- addresses ---------------------------------------------------------------- */

/* "127.0.0.1:2525", "[::1]:2525", "0.0.0.0:587": an IP literal and a port
 * (no host names: a relay must not listen where DNS says). */
GSocketAddress *herald_relay_parse_listen (const char  *text,
                                           GError     **error) G_GNUC_WARN_UNUSED_RESULT;
/* "127.0.0.0/8, ::1/128, 192.168.1.20": a list of GInetAddressMask. */
GPtrArray      *herald_relay_parse_networks (const char  *text,
                                             GError     **error) G_GNUC_WARN_UNUSED_RESULT;

/* ---- device users --------------------------------------------------------------- */

/* Devices log in with Herald's own credentials, never the mailbox's: a
 * name and a password kept only as salted PBKDF2-HMAC-SHA256 (GnuTLS) in
 * one file, written atomically with mode 0600. */
#define HERALD_RELAY_PBKDF2_ITERATIONS 600000
#define HERALD_RELAY_MIN_PASSWORD 8

#define HERALD_TYPE_RELAY_USERS (herald_relay_users_get_type ())
G_DECLARE_FINAL_TYPE (HeraldRelayUsers, herald_relay_users, HERALD, RELAY_USERS, GObject)

HeraldRelayUsers *herald_relay_users_new    (const char        *path) G_GNUC_WARN_UNUSED_RESULT;
const char       *herald_relay_users_get_path (HeraldRelayUsers *self);
/* The system scope writes 0640: the file's group (from the setgid
 * directory) is the relay's, which reads it but never writes it. Only
 * group read may be added to 0600. */
void              herald_relay_users_set_mode (HeraldRelayUsers *self,
                                               int               mode);
/* Sorted names; an empty array when there is no file yet. */
GStrv             herald_relay_users_list   (HeraldRelayUsers  *self,
                                             GError           **error) G_GNUC_WARN_UNUSED_RESULT;
/* Adds @name, or sets a new password when it exists (*replaced). */
gboolean          herald_relay_users_add    (HeraldRelayUsers  *self,
                                             const char        *name,
                                             const char        *password,
                                             gboolean          *replaced,
                                             GError           **error);
gboolean          herald_relay_users_remove (HeraldRelayUsers  *self,
                                             const char        *name,
                                             GError           **error);
/* Thread-safe; re-reads the file when it changed, so users added while
 * the relay runs can log in at once. */
gboolean          herald_relay_users_verify (HeraldRelayUsers  *self,
                                             const char        *name,
                                             const char        *password);
gboolean          herald_relay_user_name_is_valid (const char *name);

/* ---- the TLS certificate -------------------------------------------------------- */

/* The configured certificate and key, or when both are NULL the pair in
 * @directory (cert.pem, key.pem), created on first use: a self-signed
 * P-256 certificate for this host's names, localhost and the loopback
 * addresses. *created says whether it was made now. */
GTlsCertificate *herald_relay_load_certificate (const char  *cert_file,
                                                const char  *key_file,
                                                const char  *directory,
                                                gboolean    *created,
                                                char       **used_file,
                                                GError     **error) G_GNUC_WARN_UNUSED_RESULT;
/* "AB:CD:…" (SHA-256 of the DER certificate), what a device pins. */
char            *herald_relay_certificate_fingerprint (GTlsCertificate *certificate) G_GNUC_WARN_UNUSED_RESULT;
/* The same for a PEM file (for doctor); NULL with an error when unreadable. */
char            *herald_relay_fingerprint_file (const char  *cert_file,
                                                GError     **error) G_GNUC_WARN_UNUSED_RESULT;

/* ---- the server ------------------------------------------------------------------- */

typedef struct {
  char       *hostname;            /* greeting and EHLO name; NULL: this host */
  GPtrArray  *allow_unauthenticated; /* of GInetAddressMask; NULL: nobody */
  guint64     max_size;            /* bytes; 0: 25 MB */
  guint       max_connections;     /* overall; 0: 100 */
  guint       max_per_address;     /* 0: 50 */
  guint       idle_timeout;        /* seconds a line may take; 0: 300 */
  guint       session_deadline;    /* seconds a whole session may take; 0: 1800 */
  guint       auth_delay_ms;       /* first wrong password's delay, doubled each time; 0: 500 */
  /* What herald_message_prepare needs from the profile (sender rewriting,
   * local names). */
  char       *profile_from;
  GStrv       local_recipients;
  gboolean    rewrite_from;
} HeraldRelayOptions;

HeraldRelayOptions *herald_relay_options_new  (void) G_GNUC_WARN_UNUSED_RESULT;
void                herald_relay_options_free (HeraldRelayOptions *options);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (HeraldRelayOptions, herald_relay_options_free)

/* Where an accepted message goes; called on the session's thread, and
 * must return only once the message is durable (then the client gets 250
 * with the returned id). NULL with an error: 451, the client retries. */
typedef char *(*HeraldRelayStoreFunc) (const HeraldPreparedMessage *message,
                                       const char                  *client_address,
                                       const char                  *device_user,
                                       gpointer                     user_data,
                                       GError                     **error);

#define HERALD_TYPE_RELAY_SERVER (herald_relay_server_get_type ())
G_DECLARE_FINAL_TYPE (HeraldRelayServer, herald_relay_server, HERALD, RELAY_SERVER, GObject)

/* Takes the options. @certificate may be NULL (then no STARTTLS, so only
 * the unauthenticated networks can relay); @users may be NULL. */
HeraldRelayServer *herald_relay_server_new (HeraldRelayOptions *options,
                                            GTlsCertificate    *certificate,
                                            HeraldRelayUsers   *users) G_GNUC_WARN_UNUSED_RESULT;
/* Stores accepted messages in @queue (state queued, due at once), with
 * the client's address and device user in the metadata. */
void     herald_relay_server_set_queue      (HeraldRelayServer    *self,
                                             HeraldQueue          *queue);
void     herald_relay_server_set_store_func (HeraldRelayServer    *self,
                                             HeraldRelayStoreFunc  func,
                                             gpointer              user_data,
                                             GDestroyNotify        destroy);
/* Binds @address; returns the address bound (the port filled in for 0). */
GSocketAddress *herald_relay_server_listen  (HeraldRelayServer  *self,
                                             GSocketAddress     *address,
                                             GError            **error) G_GNUC_WARN_UNUSED_RESULT;
/* A listening socket handed over by systemd (socket activation). */
gboolean herald_relay_server_add_fd         (HeraldRelayServer  *self,
                                             int                 fd,
                                             GError            **error);
void     herald_relay_server_start          (HeraldRelayServer  *self);
/* Stops accepting; sessions in progress are cancelled (a message not yet
 * answered 250 is not lost: the client was never told it was taken). */
void     herald_relay_server_stop           (HeraldRelayServer  *self);
guint    herald_relay_server_get_n_sessions (HeraldRelayServer  *self);

/* Signal "message-queued" (id, client address, device user or NULL),
 * emitted on the main context of the thread that created the server. */

/* Stores @message in @queue as herald_relay_server_set_queue does. */
char    *herald_relay_store_in_queue        (HeraldQueue                 *queue,
                                             const HeraldPreparedMessage *message,
                                             const char                  *client_address,
                                             const char                  *device_user,
                                             GError                     **error) G_GNUC_WARN_UNUSED_RESULT;

/* ---- the log of relayed messages ---------------------------------------------- */

/* One line per event in @path (tab-separated, escaped): a message taken
 * from a device, and each delivery outcome. Bounded: the oldest half goes
 * when it passes 1 MiB. */
typedef struct {
  gint64  time;        /* Unix seconds of the last event */
  char   *id;          /* queue id */
  char   *client;      /* the device's address */
  char   *user;        /* device user, or NULL */
  char   *subject;     /* may be NULL */
  char   *outcome;     /* "queued", "sent", "held", "failed" */
  char   *detail;      /* the diagnosis title or error, or NULL */
} HeraldRelayLogEntry;

void herald_relay_log_entry_free (HeraldRelayLogEntry *entry);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (HeraldRelayLogEntry, herald_relay_log_entry_free)

gboolean   herald_relay_log_accepted (const char  *path,
                                      const char  *id,
                                      const char  *client,
                                      const char  *user,
                                      const char  *subject,
                                      GError     **error);
gboolean   herald_relay_log_outcome  (const char  *path,
                                      const char  *id,
                                      const char  *outcome,
                                      const char  *detail,
                                      GError     **error);
/* The messages in the log, newest first, at most @max (0: all), each
 * with its latest outcome. */
GPtrArray *herald_relay_log_read     (const char  *path,
                                      guint        max,
                                      GError     **error) G_GNUC_WARN_UNUSED_RESULT;

/* ---- where the user scope keeps things ------------------------------------------- */

/* $XDG_STATE_HOME/herald/relay: users, cert.pem, key.pem, messages.log. */
char *herald_relay_dup_user_state_dir (void) G_GNUC_WARN_UNUSED_RESULT;

G_END_DECLS
