/* SPDX-License-Identifier: GPL-3.0-or-later
 * Copyright 2026 The Herald authors
 */
#define G_LOG_DOMAIN "herald-ui"

#include "config.h"

#include <glib/gi18n.h>

#include "herald-window-private.h"

/* The one-click fixes: a rule or notice names one in its "action"
 * (data/rules/diagnosis-rules.json), and the error dialog and the notice
 * cards offer it as a button. A new action is one row in the table below:
 * when it is needed (the form does not have it yet), what it changes, and
 * the words for the button and for the toast after it. */

static gboolean
needs_oauth (HeraldWindow *self)
{
  return !g_str_equal (_herald_window_get_auth_id (self), "xoauth2");
}

static void
apply_oauth (HeraldWindow *self)
{
  _herald_window_select_auth (self, "xoauth2");
}

static gboolean
needs_tls (HeraldWindow *self)
{
  return !g_str_equal (_herald_window_get_security_id (self), "tls");
}

static void
apply_tls (HeraldWindow *self)
{
  /* From STARTTLS on 587 the port follows to 465 (herald-window.c). */
  _herald_window_select_security (self, "tls");
}

static gboolean
needs_starttls (HeraldWindow *self)
{
  return !g_str_equal (_herald_window_get_security_id (self), "starttls");
}

static void
apply_starttls (HeraldWindow *self)
{
  _herald_window_select_security (self, "starttls");
}

static gboolean
needs_port_587 (HeraldWindow *self)
{
  return _herald_window_spin_value (self->port_spin) != 587 || needs_starttls (self);
}

static void
apply_port_587 (HeraldWindow *self)
{
  /* Submission on 587 is STARTTLS (RFC 6409, RFC 3207). */
  _herald_window_select_security (self, "starttls");
  gtk_spin_button_set_value (self->port_spin, 587);
}

static gboolean
needs_graph (HeraldWindow *self)
{
  return !_herald_window_is_graph (self);
}

typedef struct {
  HeraldAction   action;
  const char    *label;   /* the button */
  const char    *done;    /* the toast once applied */
  gboolean     (*needed) (HeraldWindow *self);
  void         (*apply)  (HeraldWindow *self);
} Fix;

static const Fix fixes[] = {
  { HERALD_ACTION_SWITCH_TO_OAUTH, N_("Switch to OAuth 2.0"),
    N_("Authentication set to OAuth 2.0: sign in, then send the test again"),
    needs_oauth, apply_oauth },
  { HERALD_ACTION_SWITCH_TO_TLS, N_("Switch to SSL/TLS"),
    N_("Security set to SSL/TLS: send the test again"),
    needs_tls, apply_tls },
  { HERALD_ACTION_SWITCH_TO_STARTTLS, N_("Switch to STARTTLS"),
    N_("Security set to STARTTLS: send the test again"),
    needs_starttls, apply_starttls },
  { HERALD_ACTION_USE_PORT_587, N_("Use Port 587"),
    N_("Port set to 587 with STARTTLS: send the test again"),
    needs_port_587, apply_port_587 },
  /* herald-window-transport.c: transport Graph, then the Graph sign-in. */
  { HERALD_ACTION_SWITCH_TO_GRAPH, N_("Send Through Microsoft Graph"),
    N_("Transport set to Microsoft Graph: finish the sign-in, then send the test again"),
    needs_graph, _herald_window_switch_to_graph },
};

static const Fix *
lookup (HeraldAction action)
{
  for (guint i = 0; i < G_N_ELEMENTS (fixes); i++)
    if (fixes[i].action == action)
      return &fixes[i];
  return NULL;
}

const char *
_herald_window_get_fix_label (HeraldWindow *self,
                              HeraldAction  action)
{
  const Fix *fix = lookup (action);

  g_return_val_if_fail (HERALD_IS_WINDOW (self), NULL);

  if (fix == NULL || !fix->needed (self))
    return NULL;
  return _(fix->label);
}

void
_herald_window_apply_fix (HeraldWindow *self,
                          HeraldAction  action)
{
  const Fix *fix = lookup (action);

  g_return_if_fail (HERALD_IS_WINDOW (self));

  if (fix == NULL)
    return;
  fix->apply (self);
  _herald_window_add_toast (self, _(fix->done));
}
