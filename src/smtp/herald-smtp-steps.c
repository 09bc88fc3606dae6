/* SPDX-License-Identifier: GPL-3.0-or-later
 * Copyright 2026 The Herald authors
 */
#define G_LOG_DOMAIN "herald-smtp"

#include "config.h"

#include <glib/gi18n-lib.h>

#include "herald-smtp-steps.h"

/* The window's step list and heraldctl's step lines once had a copy each of
 * this mapping, and the copies disagreed (the window charged the EHLO after
 * STARTTLS to the greeting and showed Encrypt above Greeting). Both render
 * from this model now. */

static const struct {
  const char *name;
  const char *title;
} steps[HERALD_N_STEPS] = {
  [HERALD_STEP_RESOLVE] = { "resolve", N_("Resolve") },
  [HERALD_STEP_CONNECT] = { "connect", N_("Connect") },
  [HERALD_STEP_GREETING] = { "greeting", N_("Greeting") },
  [HERALD_STEP_ENCRYPT] = { "encrypt", N_("Encrypt (TLS)") },
  [HERALD_STEP_LOGIN] = { "login", N_("Log in") },
  [HERALD_STEP_SEND] = { "send", N_("Send") },
};

/* STARTTLS (and no encryption): the greeting comes first, in plain text. */
static const HeraldStep order_plain_first[HERALD_N_STEPS] = {
  HERALD_STEP_RESOLVE, HERALD_STEP_CONNECT, HERALD_STEP_GREETING,
  HERALD_STEP_ENCRYPT, HERALD_STEP_LOGIN, HERALD_STEP_SEND,
};

/* Implicit TLS: the handshake comes before the greeting. */
static const HeraldStep order_tls_first[HERALD_N_STEPS] = {
  HERALD_STEP_RESOLVE, HERALD_STEP_CONNECT, HERALD_STEP_ENCRYPT,
  HERALD_STEP_GREETING, HERALD_STEP_LOGIN, HERALD_STEP_SEND,
};

const char *
herald_step_get_title (HeraldStep step)
{
  g_return_val_if_fail (step < HERALD_N_STEPS, NULL);

  return g_dgettext (GETTEXT_PACKAGE, steps[step].title);
}

const char *
herald_step_to_string (HeraldStep step)
{
  g_return_val_if_fail (step < HERALD_N_STEPS, NULL);

  return steps[step].name;
}

HeraldStep
herald_step_for_stage (HeraldStage stage)
{
  return herald_step_for_stage_full (stage, FALSE);
}

HeraldStep
herald_step_for_stage_full (HeraldStage stage,
                            gboolean    after_starttls)
{
  switch (stage)
    {
    case HERALD_STAGE_RESOLVE:
      return HERALD_STEP_RESOLVE;
    case HERALD_STAGE_CONNECT:
      return HERALD_STEP_CONNECT;
    case HERALD_STAGE_GREETING:
      return HERALD_STEP_GREETING;
    case HERALD_STAGE_EHLO:
      /* RFC 3207: the EHLO after the handshake is part of securing the
       * connection; with implicit TLS, EHLO is just the greeting's reply. */
      return after_starttls ? HERALD_STEP_ENCRYPT : HERALD_STEP_GREETING;
    case HERALD_STAGE_STARTTLS:
    case HERALD_STAGE_TLS:
      return HERALD_STEP_ENCRYPT;
    case HERALD_STAGE_AUTH:
      return HERALD_STEP_LOGIN;
    case HERALD_STAGE_MAIL:
    case HERALD_STAGE_RCPT:
    case HERALD_STAGE_DATA:
    case HERALD_STAGE_QUIT:
      return HERALD_STEP_SEND;
    case HERALD_STAGE_DONE:
    case HERALD_N_STAGES:
    default:
      return HERALD_STEP_NONE;
    }
}

HeraldStep
herald_step_for_result (const HeraldSmtpResult *result)
{
  g_return_val_if_fail (result != NULL, HERALD_STEP_NONE);

  if (result->ok || result->stage >= HERALD_N_STAGES)
    return HERALD_STEP_NONE;

  /* stage_ms is -1 for a stage the run never reached. */
  return herald_step_for_stage_full (result->stage, result->stage_ms[HERALD_STAGE_STARTTLS] >= 0);
}

const HeraldStep *
herald_step_order (HeraldSecurity security)
{
  return security == HERALD_SECURITY_TLS ? order_tls_first : order_plain_first;
}

char *
herald_format_duration (gint64 ms)
{
  if (ms < 0)
    ms = 0;
  if (ms < 1000)
    /* Translators: a duration in milliseconds */
    return g_strdup_printf (g_dgettext (GETTEXT_PACKAGE, "%d ms"), (int) ms);
  /* Translators: a duration in seconds, with one decimal */
  return g_strdup_printf (g_dgettext (GETTEXT_PACKAGE, "%.1f s"), ms / 1000.0);
}

/* ---- the tracker ------------------------------------------------------------ */

struct _HeraldStepTracker
{
  HeraldSecurity    security;
  HeraldStep        current;           /* the step started last */
  HeraldStepStatus  status[HERALD_N_STEPS];
  gint64            ms[HERALD_N_STEPS];
  gboolean          final[HERALD_N_STEPS];
  gint64            started_us[HERALD_N_STEPS];  /* monotonic, when it last started */
  gboolean          after_starttls;
};

static guint
position (HeraldStepTracker *tracker,
          HeraldStep         step)
{
  const HeraldStep *order = herald_step_order (tracker->security);

  for (guint i = 0; i < HERALD_N_STEPS; i++)
    {
      if (order[i] == step)
        return i;
    }
  g_assert_not_reached ();
}

HeraldStepTracker *
herald_step_tracker_new (HeraldSecurity security)
{
  HeraldStepTracker *tracker = g_new0 (HeraldStepTracker, 1);

  herald_step_tracker_reset (tracker, security);
  return tracker;
}

void
herald_step_tracker_free (HeraldStepTracker *tracker)
{
  g_free (tracker);
}

void
herald_step_tracker_reset (HeraldStepTracker *tracker,
                           HeraldSecurity     security)
{
  g_return_if_fail (tracker != NULL);

  tracker->security = security;
  tracker->current = HERALD_STEP_NONE;
  tracker->after_starttls = FALSE;
  for (guint i = 0; i < HERALD_N_STEPS; i++)
    {
      tracker->status[i] = HERALD_STEP_STATE_PENDING;
      tracker->ms[i] = 0;
      tracker->final[i] = FALSE;
      tracker->started_us[i] = 0;
    }
}

HeraldStep
herald_step_tracker_update (HeraldStepTracker    *tracker,
                            const HeraldProgress *progress)
{
  HeraldStep step;

  g_return_val_if_fail (tracker != NULL, HERALD_STEP_NONE);
  g_return_val_if_fail (progress != NULL, HERALD_STEP_NONE);

  if (progress->stage == HERALD_STAGE_STARTTLS)
    tracker->after_starttls = TRUE;

  step = herald_step_for_stage_full (progress->stage, tracker->after_starttls);
  if (step == HERALD_STEP_NONE)
    return HERALD_STEP_NONE;

  switch (progress->state)
    {
    case HERALD_STEP_STARTED:
      /* A step ends when the next one starts: one step spans several
       * stages (the greeting and EHLO), each reported on its own. Not when
       * an earlier one starts: the window shows Log in running while it
       * fetches an OAuth token, before the engine even resolves. */
      if (tracker->current != HERALD_STEP_NONE && tracker->current != step &&
          position (tracker, tracker->current) < position (tracker, step))
        {
          HeraldStep previous = tracker->current;

          if (tracker->status[previous] == HERALD_STEP_STATE_RUNNING)
            tracker->status[previous] = HERALD_STEP_STATE_DONE;
          tracker->final[previous] = TRUE;
        }
      tracker->current = step;
      tracker->started_us[step] = g_get_monotonic_time ();
      if (tracker->status[step] != HERALD_STEP_STATE_FAILED)
        tracker->status[step] = HERALD_STEP_STATE_RUNNING;
      break;

    case HERALD_STEP_SUCCEEDED:
      tracker->ms[step] += MAX (progress->duration, 0);
      if (tracker->status[step] != HERALD_STEP_STATE_FAILED)
        tracker->status[step] = HERALD_STEP_STATE_DONE;
      break;

    case HERALD_STEP_FAILED:
      tracker->ms[step] += MAX (progress->duration, 0);
      tracker->status[step] = HERALD_STEP_STATE_FAILED;
      tracker->final[step] = TRUE;
      break;

    default:
      return HERALD_STEP_NONE;
    }

  return step;
}

void
herald_step_tracker_finish (HeraldStepTracker      *tracker,
                            const HeraldSmtpResult *result)
{
  HeraldStep failed = HERALD_STEP_NONE;

  g_return_if_fail (tracker != NULL);

  if (result == NULL)
    {
      for (guint i = 0; i < HERALD_N_STEPS; i++)
        {
          if (tracker->status[i] == HERALD_STEP_STATE_RUNNING)
            tracker->status[i] = HERALD_STEP_STATE_PENDING;
        }
      return;
    }

  if (!result->ok)
    failed = herald_step_for_result (result);

  for (guint i = 0; i < HERALD_N_STEPS; i++)
    {
      HeraldStepStatus *status = &tracker->status[i];

      if (!result->ok && (HeraldStep) i == failed)
        *status = HERALD_STEP_STATE_FAILED;
      else if (*status == HERALD_STEP_STATE_RUNNING)
        /* Without a failed step to blame, what was running failed. */
        *status = result->ok || failed != HERALD_STEP_NONE ? HERALD_STEP_STATE_DONE
                                                            : HERALD_STEP_STATE_FAILED;
      else if (*status == HERALD_STEP_STATE_PENDING && result->ok)
        *status = HERALD_STEP_STATE_SKIPPED;

      if (*status == HERALD_STEP_STATE_DONE || *status == HERALD_STEP_STATE_FAILED)
        tracker->final[i] = TRUE;
    }
  tracker->current = HERALD_STEP_NONE;
}

void
herald_step_tracker_cancel (HeraldStepTracker *tracker)
{
  gint64 now = g_get_monotonic_time ();

  g_return_if_fail (tracker != NULL);

  for (guint i = 0; i < HERALD_N_STEPS; i++)
    {
      if (tracker->status[i] != HERALD_STEP_STATE_RUNNING)
        continue;
      tracker->ms[i] += MAX ((now - tracker->started_us[i]) / 1000, 0);
      tracker->status[i] = HERALD_STEP_STATE_CANCELLED;
      tracker->final[i] = TRUE;
    }
  tracker->current = HERALD_STEP_NONE;
}

HeraldStepStatus
herald_step_tracker_get_status (HeraldStepTracker *tracker,
                                HeraldStep         step)
{
  g_return_val_if_fail (tracker != NULL, HERALD_STEP_STATE_PENDING);
  g_return_val_if_fail (step < HERALD_N_STEPS, HERALD_STEP_STATE_PENDING);

  return tracker->status[step];
}

gint64
herald_step_tracker_get_ms (HeraldStepTracker *tracker,
                            HeraldStep         step)
{
  g_return_val_if_fail (tracker != NULL, 0);
  g_return_val_if_fail (step < HERALD_N_STEPS, 0);

  return tracker->ms[step];
}

gboolean
herald_step_tracker_is_final (HeraldStepTracker *tracker,
                              HeraldStep         step)
{
  g_return_val_if_fail (tracker != NULL, FALSE);
  g_return_val_if_fail (step < HERALD_N_STEPS, FALSE);

  return tracker->final[step];
}

const HeraldStep *
herald_step_tracker_get_order (HeraldStepTracker *tracker)
{
  g_return_val_if_fail (tracker != NULL, NULL);

  return herald_step_order (tracker->security);
}
