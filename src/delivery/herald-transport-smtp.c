/* SPDX-License-Identifier: GPL-3.0-or-later
 * Copyright 2026 The Herald authors
 */
#define G_LOG_DOMAIN "herald-delivery"

#include "config.h"

#include <glib/gi18n.h>

#include "herald-delivery.h"
#include "herald-smtp-private.h"

/* WIP: waits for the engine's delivery API. */
static GPtrArray *
smtp_deliver (const HeraldTransport        *transport,
              const HeraldSmtpConfig       *config,
              const HeraldDeliveryMessage  *messages,
              guint                         n,
              HeraldDeliveryCommitFunc      commit,
              HeraldDeliveryDoneFunc        done,
              gpointer                      callback_data,
              GCancellable                 *cancellable)
{
  GPtrArray *results = g_ptr_array_new_with_free_func ((GDestroyNotify) herald_smtp_result_free);

  for (guint i = 0; i < n; i++)
    {
      HeraldSmtpResult *r = _herald_smtp_result_new ();

      r->error = g_error_new (G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED, "WIP");
      g_ptr_array_add (results, r);
    }
  return results;
}

static const HeraldTransport smtp_transport = {
  "smtp",
  smtp_deliver,
  NULL,
};

const HeraldTransport *
herald_transport_smtp (void)
{
  return &smtp_transport;
}
