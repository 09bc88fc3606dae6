/* SPDX-License-Identifier: GPL-3.0-or-later
 * Copyright 2026 The Herald authors
 */
#define G_LOG_DOMAIN "herald-fuzz"

#include <string.h>

#include "fuzz.h"
#include "herald-smtp.h"
#include "herald-smtp-private.h"

/* What herald_smtp_make_printable() must never let through. */
static gboolean
is_unprintable (gunichar c)
{
  return c < 0x20 || (c >= 0x7f && c <= 0x9f) || c == 0x061c || c == 0x200e || c == 0x200f ||
         (c >= 0x2028 && c <= 0x202e) || (c >= 0x2066 && c <= 0x2069);
}

/* The printable filter and the redaction. The input's first line is a
 * secret, the rest the text it may appear in: the filter's output is valid
 * UTF-8 without control or bidi characters (CR and LF only when kept), and
 * a scrubbed text never contains the secret (when the secret is not made of
 * "<redacted>" itself). */
int
LLVMFuzzerTestOneInput (const uint8_t *data,
                        size_t         size)
{
  g_autofree char *printable = herald_smtp_make_printable ((const char *) data, size, FALSE);
  g_autofree char *lines = herald_smtp_make_printable ((const char *) data, size, TRUE);
  g_autofree char *input = fuzz_strndup (data, size);
  char *newline = strchr (input, '\n');
  const char *secret = input;
  const char *text = newline != NULL ? newline + 1 : "";
  const char *secrets[2] = { NULL, NULL };
  g_autofree char *scrubbed = NULL;
  g_autofree char *line = NULL;
  g_autofree char *auth_line = NULL;

  g_assert_true (g_utf8_validate (printable, -1, NULL));
  g_assert_true (g_utf8_validate (lines, -1, NULL));
  for (const char *p = printable; *p != '\0'; p = g_utf8_next_char (p))
    g_assert_false (is_unprintable (g_utf8_get_char (p)));
  for (const char *p = lines; *p != '\0'; p = g_utf8_next_char (p))
    g_assert_true (*p == '\n' || *p == '\r' || !is_unprintable (g_utf8_get_char (p)));

  if (newline != NULL)
    *newline = '\0';
  secrets[0] = secret;
  scrubbed = _herald_smtp_scrub (text, secrets);
  g_assert_nonnull (scrubbed);
  if (strlen (secret) >= 3 && strstr ("<redacted>", secret) == NULL &&
      strstr (secret, "<redacted>") == NULL && strstr (text, secret) != NULL)
    g_assert_null (strstr (scrubbed, secret));

  line = _herald_smtp_redact_client_line (text, FALSE);
  auth_line = _herald_smtp_redact_client_line (text, TRUE);
  g_assert_nonnull (line);
  g_assert_nonnull (auth_line);
  return 0;
}
