/* SPDX-License-Identifier: GPL-3.0-or-later
 * Copyright 2026 The Herald authors
 */
#pragma once

#include <gtk/gtk.h>

G_BEGIN_DECLS

#define HERALD_TYPE_BANNER (herald_banner_get_type ())

G_DECLARE_FINAL_TYPE (HeraldBanner, herald_banner, HERALD, BANNER, GtkWidget)

GtkWidget  *herald_banner_new          (void);
/* Shows the banner with title (the main sentence) and notices, a GPtrArray of
 * HeraldDiagnosis (may be NULL or empty). It stays until dismissed or hidden. */
void        herald_banner_show_success (HeraldBanner *self,
                                        const char   *title,
                                        GPtrArray    *notices);
/* Shows the banner for a failed test with title (what went wrong) and a
 * Details button, which emits "details": the window opens the diagnosis
 * again, without running the test again. */
void        herald_banner_show_failure (HeraldBanner *self,
                                        const char   *title);
/* Whether the banner shows a failure (else a success). */
gboolean    herald_banner_get_failed   (HeraldBanner *self);
void        herald_banner_dismiss      (HeraldBanner *self);
gboolean    herald_banner_get_revealed (HeraldBanner *self);
const char *herald_banner_get_title    (HeraldBanner *self);
/* The notices' titles as shown beside the banner text, NULL-terminated. */
char      **herald_banner_dup_notice_titles (HeraldBanner *self) G_GNUC_WARN_UNUSED_RESULT;

G_END_DECLS
