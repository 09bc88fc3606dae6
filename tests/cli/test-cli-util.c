/* SPDX-License-Identifier: GPL-3.0-or-later
 * Copyright 2026 The Herald authors
 */
#define G_LOG_DOMAIN "herald-test"

#include "config.h"

#include <string.h>
#include <unistd.h>

#include "herald-cli-util.h"

/* The helpers every heraldctl command shares, in-process (they come from the
 * CLI library, as heraldctl's own do). The secret-line reader reads standard
 * input: each test puts a pipe there, with the bytes a user might feed. */

static int saved_stdin = -1;

/* Standard input becomes a pipe holding @len bytes of @bytes, then EOF. */
static void
feed_stdin (const char *bytes,
            gsize       len)
{
  int fds[2];

  g_assert_cmpint (pipe (fds), ==, 0);
  g_assert_cmpint (write (fds[1], bytes, len), ==, (gssize) len);
  g_assert_cmpint (close (fds[1]), ==, 0);
  g_assert_cmpint (dup2 (fds[0], STDIN_FILENO), ==, STDIN_FILENO);
  g_assert_cmpint (close (fds[0]), ==, 0);
}

/* What is left on standard input after the reader returned. */
static char *
rest_of_stdin (void)
{
  GString *rest = g_string_new (NULL);
  char buf[64];
  gssize n;

  while ((n = read (STDIN_FILENO, buf, sizeof buf)) > 0)
    g_string_append_len (rest, buf, n);
  g_assert_cmpint (n, ==, 0);

  return g_string_free (rest, FALSE);
}

static void
test_line_crlf (void)
{
  static const char input[] = "s3cret\r\nnext line\n";
  g_autoptr(GError) error = NULL;
  g_autofree char *rest = NULL;
  char *line;

  feed_stdin (input, strlen (input));
  line = _herald_cli_read_secret_line_raw ("--password-stdin", "password", 64, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (line, ==, "s3cret");
  _herald_cli_secret_free (line);

  /* Nothing after the line was consumed: a script may feed more. */
  rest = rest_of_stdin ();
  g_assert_cmpstr (rest, ==, "next line\n");
}

static void
test_line_at_eof (void)
{
  static const char input[] = "no-newline";
  g_autoptr(GError) error = NULL;
  char *line;

  feed_stdin (input, strlen (input));
  line = _herald_cli_read_secret_line_raw ("--token-stdin", "access token", 64, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (line, ==, "no-newline");
  _herald_cli_secret_free (line);
}

static void
test_line_exactly_max (void)
{
  static const char input[] = "12345678\n";
  g_autoptr(GError) error = NULL;
  char *line;

  feed_stdin (input, strlen (input));
  line = _herald_cli_read_secret_line_raw ("--password-stdin", "password", 8, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (line, ==, "12345678");
  _herald_cli_secret_free (line);
}

typedef struct {
  const char *input;
  gsize       len;
  gsize       max_length;
  const char *message;
} BadLine;

static void
test_line_refused (void)
{
  static const BadLine cases[] = {
    { "\n", 1, 64, "--password-stdin: standard input holds no password (an empty line)" },
    { "\r\n", 2, 64, "--password-stdin: standard input holds no password (an empty line)" },
    { "", 0, 64, "--password-stdin: standard input holds no password (an empty line)" },
    { "ab\0cd\n", 6, 64, "--password-stdin: the password on standard input contains a NUL byte" },
    { "123456789\n", 10, 8,
      "--password-stdin: the password on standard input is longer than 8 bytes" },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr(GError) error = NULL;
      char *line;

      feed_stdin (cases[i].input, cases[i].len);
      line = _herald_cli_read_secret_line_raw ("--password-stdin", "password",
                                               cases[i].max_length, &error);
      g_assert_null (line);
      g_assert_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA);
      g_assert_cmpstr (error->message, ==, cases[i].message);
    }
}

static void
test_option_or_setting (void)
{
  g_autofree char *given = _herald_cli_option_or_setting ("smtp.example.com", NULL, "server");
  g_autofree char *none = _herald_cli_option_or_setting (NULL, NULL, "server");

  /* No settings (schema not installed): the option, or nothing. */
  g_assert_cmpstr (given, ==, "smtp.example.com");
  g_assert_null (none);
  g_assert_null (_herald_cli_setting_string (NULL, "server"));
}

int
main (int    argc,
      char **argv)
{
  int status;

  g_setenv ("LC_ALL", "C", TRUE);
  g_test_init (&argc, &argv, NULL);

  saved_stdin = dup (STDIN_FILENO);

  g_test_add_func ("/herald/cli/secret-line/crlf", test_line_crlf);
  g_test_add_func ("/herald/cli/secret-line/at-eof", test_line_at_eof);
  g_test_add_func ("/herald/cli/secret-line/exactly-max", test_line_exactly_max);
  g_test_add_func ("/herald/cli/secret-line/refused", test_line_refused);
  g_test_add_func ("/herald/cli/option-or-setting", test_option_or_setting);

  status = g_test_run ();
  if (saved_stdin >= 0)
    dup2 (saved_stdin, STDIN_FILENO);

  return status;
}
