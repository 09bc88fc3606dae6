/* SPDX-License-Identifier: GPL-3.0-or-later
 * Copyright 2026 The Herald authors
 */
#define G_LOG_DOMAIN "herald-test"

#include <string.h>

#include "herald-diagnosis.h"
#include "herald-diagnosis-private.h"

/* Rules and notices that know the date ("valid_from", "valid_until"):
 * Microsoft's Basic-auth retirement notice and the steps that mention "the
 * end of December 2026" change their wording on 2027-01-01. The clock is
 * pinned on both sides of that instant. Run a second time with
 * HERALD_DIAGNOSIS_RULES pointing at dated-rules.json, for whole rules that
 * come and go. */

static HeraldSmtpConfig *
exo_config (void)
{
  HeraldSmtpConfig *config = herald_smtp_config_new ();

  config->host = g_strdup ("smtp.office365.com");
  config->port = 587;
  config->security = HERALD_SECURITY_STARTTLS;
  config->auth = HERALD_AUTH_LOGIN;
  config->username = g_strdup ("alerts@contoso.com");
  config->from = g_strdup ("alerts@contoso.com");
  return config;
}

static void
pin (const char *iso)
{
  g_autoptr(GDateTime) now = g_date_time_new_from_iso8601 (iso, NULL);

  g_assert_nonnull (now);
  _herald_diagnosis_set_now (now);
}

static const HeraldDiagnosis *
find (GPtrArray  *notices,
      const char *id)
{
  for (guint i = 0; i < notices->len; i++)
    if (g_str_equal (((HeraldDiagnosis *) g_ptr_array_index (notices, i))->id, id))
      return g_ptr_array_index (notices, i);
  return NULL;
}

static const HeraldDiagnosis *
find_required (GPtrArray  *notices,
               const char *id)
{
  const HeraldDiagnosis *d = find (notices, id);

  if (d == NULL)
    g_error ("no notice %s", id);
  return d;
}

static char *
steps_text (const HeraldDiagnosis *d)
{
  GString *out = g_string_new (NULL);

  for (guint i = 0; i < d->steps->len; i++)
    g_string_append_printf (out, "%s\n", ((HeraldDiagnosisStep *) g_ptr_array_index (d->steps, i))->text);
  return g_string_free (out, FALSE);
}

static void
test_retirement_notice (void)
{
  g_autoptr(HeraldSmtpConfig) config = exo_config ();

  {
    g_autoptr(GPtrArray) notices = NULL;
    const HeraldDiagnosis *d;

    pin ("2026-12-31T23:59:59Z");
    notices = herald_notices (config, NULL);
    d = find_required (notices, "exo-basic-auth-retirement");
    g_assert_nonnull (strstr (d->title, "at the end of December 2026"));
    g_assert_null (strstr (d->explanation, "second half of 2027"));
    g_assert_cmpint (d->action, ==, HERALD_ACTION_SWITCH_TO_OAUTH);
  }

  {
    g_autoptr(GPtrArray) notices = NULL;
    const HeraldDiagnosis *d;

    pin ("2027-01-01T00:00:00Z");
    notices = herald_notices (config, NULL);
    d = find_required (notices, "exo-basic-auth-retirement");
    g_assert_cmpstr (d->title, ==, "Password SMTP AUTH is now off by default in Microsoft 365");
    g_assert_nonnull (strstr (d->explanation, "off by default for existing organisations"));
    g_assert_nonnull (strstr (d->explanation, "turned it back on or the organisation is exempt"));
    g_assert_nonnull (strstr (d->explanation, "second half of 2027"));
    g_assert_nonnull (strstr (d->explanation, "OAuth 2.0 or Microsoft Graph"));
    g_assert_null (strstr (d->title, "at the end of December 2026"));
    g_assert_cmpint (d->action, ==, HERALD_ACTION_SWITCH_TO_OAUTH);
  }

  _herald_diagnosis_set_now (NULL);
}

/* Steps inside a rule come and go by date; the rest of the rule stays. */
static void
test_dated_steps (void)
{
  const char *reply = "535 5.7.139 Authentication unsuccessful, user is locked by your organization's security "
                      "defaults policy. Contact your administrator.";
  g_autoptr(HeraldDiagnosis) before = NULL;
  g_autoptr(HeraldDiagnosis) after = NULL;
  g_autofree char *before_text = NULL;
  g_autofree char *after_text = NULL;

  pin ("2026-12-31T23:59:59Z");
  before = herald_diagnose_text (reply, HERALD_STAGE_AUTH, NULL);
  pin ("2027-01-01T00:00:00Z");
  after = herald_diagnose_text (reply, HERALD_STAGE_AUTH, NULL);
  _herald_diagnosis_set_now (NULL);

  g_assert_cmpstr (before->id, ==, "exo-security-defaults");
  g_assert_cmpstr (after->id, ==, "exo-security-defaults");
  g_assert_cmpuint (before->steps->len, ==, after->steps->len);
  before_text = steps_text (before);
  after_text = steps_text (after);
  g_assert_nonnull (strstr (before_text, "turns password SMTP AUTH off by default at the end of December 2026"));
  g_assert_null (strstr (before_text, "second half of 2027"));
  g_assert_null (strstr (after_text, "turns password SMTP AUTH off by default at the end of December 2026"));
  g_assert_nonnull (strstr (after_text, "off by default since the end of December 2026"));
  g_assert_nonnull (strstr (after_text, "second half of 2027"));
}

/* No step, title or explanation of any rule or notice says that something
 * will happen at the end of December 2026 once that date has passed. */
static void
test_nothing_stale_in_2027 (void)
{
  const char * const *ids = _herald_diagnosis_rule_ids ();
  g_autoptr(HeraldSmtpConfig) config = exo_config ();
  g_autoptr(GPtrArray) notices = NULL;

  pin ("2027-03-01T12:00:00Z");
  notices = herald_notices (config, NULL);
  for (guint i = 0; i < notices->len; i++)
    {
      const HeraldDiagnosis *d = g_ptr_array_index (notices, i);
      g_autofree char *text = steps_text (d);

      g_assert_null (strstr (d->title, "at the end of December 2026"));
      g_assert_null (strstr (d->explanation, "at the end of December 2026"));
      g_assert_null (strstr (text, "at the end of December 2026"));
    }
  g_assert_nonnull (ids);
  _herald_diagnosis_set_now (NULL);
}

/* HERALD_NOW pins the clock of heraldctl and the app for a test run. */
static void
test_herald_now (void)
{
  g_autoptr(GDateTime) expected = g_date_time_new_utc (2027, 1, 1, 0, 0, 0);

  _herald_diagnosis_set_now (NULL);
  g_setenv ("HERALD_NOW", "2027-01-01", TRUE);
  g_assert_cmpint (_herald_diagnosis_now (), ==, g_date_time_to_unix (expected));
  g_setenv ("HERALD_NOW", "2026-12-31T23:59:59Z", TRUE);
  g_assert_cmpint (_herald_diagnosis_now (), ==, g_date_time_to_unix (expected) - 1);
  g_unsetenv ("HERALD_NOW");
  g_assert_cmpint (ABS (_herald_diagnosis_now () - g_get_real_time () / G_USEC_PER_SEC), <=, 5);
}

/* With dated-rules.json: whole rules and notices valid for a period. */
static void
test_dated_rules (void)
{
  g_autoptr(HeraldSmtpConfig) config = exo_config ();
  const char *reply = "550 5.7.1 Dated refusal";

  {
    g_autoptr(HeraldDiagnosis) d = NULL;
    g_autoptr(GPtrArray) notices = NULL;

    pin ("2026-12-31T23:59:59Z");
    d = herald_diagnose_text (reply, HERALD_STAGE_MAIL, NULL);
    g_assert_cmpstr (d->id, ==, "dated-until-2027");
    notices = herald_notices (config, NULL);
    g_assert_cmpstr (find_required (notices, "exo-basic-auth-retirement")->title, ==, "Before");
  }
  {
    g_autoptr(HeraldDiagnosis) d = NULL;
    g_autoptr(GPtrArray) notices = NULL;

    pin ("2027-01-01T00:00:00Z");
    d = herald_diagnose_text (reply, HERALD_STAGE_MAIL, NULL);
    g_assert_cmpstr (d->id, ==, "dated-from-2027");
    notices = herald_notices (config, NULL);
    g_assert_cmpstr (find_required (notices, "exo-basic-auth-retirement")->title, ==, "After");
  }
  {
    g_autoptr(HeraldDiagnosis) d = NULL;
    g_autoptr(GPtrArray) notices = NULL;

    /* After the last period: the fallback, and the notice is gone. */
    pin ("2028-01-01T00:00:00Z");
    d = herald_diagnose_text (reply, HERALD_STAGE_MAIL, NULL);
    g_assert_true (herald_diagnosis_is_fallback (d));
    notices = herald_notices (config, NULL);
    g_assert_null (find (notices, "exo-basic-auth-retirement"));
  }
  _herald_diagnosis_set_now (NULL);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  if (g_getenv ("HERALD_DIAGNOSIS_RULES") != NULL)
    g_test_add_func ("/herald/dates/dated-rules", test_dated_rules);
  else
    {
      g_test_add_func ("/herald/dates/retirement-notice", test_retirement_notice);
      g_test_add_func ("/herald/dates/dated-steps", test_dated_steps);
      g_test_add_func ("/herald/dates/nothing-stale-in-2027", test_nothing_stale_in_2027);
      g_test_add_func ("/herald/dates/herald-now", test_herald_now);
    }

  return g_test_run ();
}
