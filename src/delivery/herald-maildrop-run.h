/* SPDX-License-Identifier: GPL-3.0-or-later
 * Copyright 2026 The Herald authors
 */
#pragma once

/* The root runner's side of the system maildrop (src/queue/herald-maildrop.h):
 * every complete file becomes a queue entry, or a failed entry saying why. */

#include "herald-message.h"
#include "herald-queue.h"

G_BEGIN_DECLS

typedef struct {
  char   *name;      /* the maildrop file's name */
  gint64  uid;       /* its owner: who submitted it */
  char   *outcome;   /* "queued", "failed", "removed" (not a regular file), "waiting" (incomplete) */
  char   *id;        /* the queue entry, for queued and failed */
  char   *reason;    /* why failed, removed or waiting; NULL for queued */
} HeraldMaildropItem;

void herald_maildrop_item_free (HeraldMaildropItem *item);

/* Older than this, a file still without its "complete" mark was abandoned
 * by its writer: it becomes a failed entry. */
#define HERALD_MAILDROP_ABANDONED_SECONDS 3600

/* Takes every complete file of @maildrop_dir into @queue and removes it once
 * its entry is durable (never before: a crash in between leaves the file,
 * taken again by the next run). Each file is untrusted: opened with
 * O_NOFOLLOW | O_NONBLOCK, checked with fstat to be a regular file with one
 * link, read up to @options->max_size plus the envelope, its envelope
 * checked, the message prepared again with @options (the profile's From,
 * whatever the file says; rewrite_from and extract are forced), its owner
 * recorded as the submitter; the client address and device user a file names
 * are recorded only when @relay_uid (the relay's system user, -1: none) owns
 * it, and ignored from anyone else. Symbolic links, FIFOs, devices, sockets,
 * directories and files with other links are removed without being opened
 * for reading. Returns the items (HeraldMaildropItem), NULL with @error when
 * the directory cannot be read. */
GPtrArray *herald_maildrop_ingest (HeraldQueue                *queue,
                                   const char                 *maildrop_dir,
                                   const HeraldMessageOptions *options,
                                   gint64                      relay_uid,
                                   GError                    **error) G_GNUC_WARN_UNUSED_RESULT;

G_END_DECLS
