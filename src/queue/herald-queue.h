/* SPDX-License-Identifier: GPL-3.0-or-later
 * Copyright 2026 The Herald authors
 */
#pragma once

/* The durable queue: one directory per profile, each message its exact
 * bytes (ID.msg) plus a small metadata file (ID.meta, a key file), never a
 * secret. Both are written under tmp/, fsync'ed, renamed into place (the
 * message first, the metadata last: the metadata's rename is the commit)
 * and the directory fsync'ed, so a crash or a full disk at any moment
 * leaves either no entry or a complete one. Knows nothing of SMTP: the
 * delivery code fills the last error. */

#include <gio/gio.h>

G_BEGIN_DECLS

typedef enum {
  HERALD_QUEUE_STATE_QUEUED,   /* "queued": temporary failure, retried with back-off */
  HERALD_QUEUE_STATE_HELD,     /* "held": settings or provider must change; retried slowly */
  HERALD_QUEUE_STATE_SENDING,  /* "sending": in flight (the last byte may have gone out) */
  HERALD_QUEUE_STATE_FAILED,   /* "failed": permanent; kept until dropped */
} HeraldQueueState;

const char *herald_queue_state_to_string   (HeraldQueueState  state);
gboolean    herald_queue_state_from_string (const char       *str,
                                            HeraldQueueState *out);

/* A queued message is given up after this long (then failed, "expired"). */
#define HERALD_QUEUE_LIFETIME_SECONDS (5 * 24 * 3600)

typedef struct {
  char *stage;            /* the engine's stage name ("connect", "rcpt"...), or NULL */
  char *error;            /* what went wrong, one sentence */
  int   reply_code;       /* 0 when there was no server reply */
  char *reply_enhanced;
  char *reply_text;
  char *diagnosis_id;
  char *diagnosis_title;
  char *diagnosis_actor;  /* "you", "mail-admin", "provider" */
} HeraldQueueError;

HeraldQueueError *herald_queue_error_copy (const HeraldQueueError *error);
void              herald_queue_error_free (HeraldQueueError       *error);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (HeraldQueueError, herald_queue_error_free)

typedef struct {
  char              *id;               /* 16+ lower-case hex digits, sortable by creation */
  HeraldQueueState   state;
  gint64             created;          /* Unix seconds */
  guint              attempts;
  gint64             next_attempt;     /* Unix seconds; 0: at once */
  char              *sender;           /* envelope sender */
  char             **recipients;       /* envelope recipients, at least one */
  char              *subject;          /* for listings; may be NULL */
  char              *message_id;       /* kept across retries */
  guint64            size;             /* bytes of the message file */
  gboolean           eight_bit;        /* the message has 8-bit bytes */
  gboolean           maybe_duplicate;  /* a retry after the last byte may have gone out */
  char              *note;             /* "expired", …; may be NULL */
  gint64             submitter_uid;    /* who dropped it into the system maildrop; -1: not dropped */
  char              *client_address;   /* the relay's client (a device's IP), or NULL */
  char              *device_user;      /* the relay's device user, or NULL */
  HeraldQueueError  *last_error;       /* NULL before the first failure */
} HeraldQueueEntry;

HeraldQueueEntry *herald_queue_entry_new  (void) G_GNUC_WARN_UNUSED_RESULT;
HeraldQueueEntry *herald_queue_entry_copy (const HeraldQueueEntry *entry) G_GNUC_WARN_UNUSED_RESULT;
void              herald_queue_entry_free (HeraldQueueEntry       *entry);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (HeraldQueueEntry, herald_queue_entry_free)

/* The metadata file's text and back. The reader treats its input as
 * untrusted (a damaged or hostile file): every field is checked, and a file
 * that does not describe a deliverable message is an error, never a crash. */
char             *herald_queue_entry_serialize (const HeraldQueueEntry  *entry,
                                                gsize                   *length) G_GNUC_WARN_UNUSED_RESULT;
HeraldQueueEntry *herald_queue_entry_parse     (const char              *data,
                                                gsize                    length,
                                                GError                 **error) G_GNUC_WARN_UNUSED_RESULT;

/* Seconds to wait before the next attempt after @attempts failed attempts:
 * queued 1, 2, 4, 8… minutes up to an hour; held an hour. */
gint64            herald_queue_backoff (HeraldQueueState state,
                                        guint            attempts);

/* TRUE when @id has the form of a queue id (so it can name a file). */
gboolean          herald_queue_id_is_valid (const char *id);

#define HERALD_TYPE_QUEUE (herald_queue_get_type ())
G_DECLARE_FINAL_TYPE (HeraldQueue, herald_queue, HERALD, QUEUE, GObject)

HeraldQueue      *herald_queue_new          (const char    *directory) G_GNUC_WARN_UNUSED_RESULT;
const char       *herald_queue_get_directory (HeraldQueue  *self);

/* Creates the directory (0700) and tmp/ when missing. */
gboolean          herald_queue_ensure       (HeraldQueue   *self,
                                             GError       **error);

/* Stores a new entry: @message's bytes, and @entry's metadata with a fresh
 * id, created now, size filled in. Returns the id. On any error nothing of
 * the entry is left (G_IO_ERROR_NO_SPACE for a full disk or a file-size
 * limit, other G_IO_ERRORs as they come). */
char             *herald_queue_add          (HeraldQueue       *self,
                                             GBytes            *message,
                                             HeraldQueueEntry  *entry,
                                             GError           **error) G_GNUC_WARN_UNUSED_RESULT;

/* Every entry, oldest first. Metadata files that cannot be read are listed
 * in @damaged (ids) when not NULL, never dropped. */
GPtrArray        *herald_queue_list         (HeraldQueue   *self,
                                             GPtrArray    **damaged,
                                             GError       **error) G_GNUC_WARN_UNUSED_RESULT;
HeraldQueueEntry *herald_queue_get          (HeraldQueue   *self,
                                             const char    *id,
                                             GError       **error) G_GNUC_WARN_UNUSED_RESULT;
GBytes           *herald_queue_read_message (HeraldQueue   *self,
                                             const char    *id,
                                             GError       **error) G_GNUC_WARN_UNUSED_RESULT;
/* Rewrites the metadata atomically (temp, fsync, rename, directory fsync). */
gboolean          herald_queue_update       (HeraldQueue            *self,
                                             const HeraldQueueEntry *entry,
                                             GError                **error);
/* Removes an entry: the metadata first (the entry is gone from then on),
 * then the message. */
gboolean          herald_queue_remove       (HeraldQueue   *self,
                                             const char    *id,
                                             GError       **error);
/* The same without waiting for the disk (no fsync): for the in-flight
 * "sending" mark and the removal of delivered messages during a flush, a
 * few hundred per run. The kernel has the change once these return, so a
 * killed or crashed process loses nothing; only a power cut in the next
 * seconds could undo one, which at worst sends a message again. The flush
 * calls herald_queue_sync() once at its end. */
gboolean          herald_queue_update_unsynced (HeraldQueue            *self,
                                                const HeraldQueueEntry *entry,
                                                GError                **error);
gboolean          herald_queue_remove_unsynced (HeraldQueue            *self,
                                                const char             *id,
                                                GError                **error);
/* Makes every change so far durable (syncs the file system of the queue). */
gboolean          herald_queue_sync         (HeraldQueue   *self,
                                             GError       **error);
/* Removes what interrupted writers left: temporary files and message files
 * without metadata, older than an hour (a writer still at work is younger). */
void              herald_queue_clean        (HeraldQueue   *self);

/* The flush lock (one flush at a time; drop and retry take it too). With
 * @wait FALSE returns FALSE at once with G_IO_ERROR_BUSY when held; with
 * @wait TRUE waits up to 60 s. Released by herald_queue_unlock() or when
 * the process ends. */
gboolean          herald_queue_lock         (HeraldQueue   *self,
                                             gboolean       wait,
                                             GError       **error);
void              herald_queue_unlock       (HeraldQueue   *self);

G_END_DECLS
