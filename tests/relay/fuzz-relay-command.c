/* SPDX-License-Identifier: GPL-3.0-or-later
 * Copyright 2026 The Herald authors
 */
#define G_LOG_DOMAIN "herald-fuzz"

#include <string.h>

#include "fuzz.h"

#include "herald-relay.h"

/* The input is one command line as the relay reads it from a client (any
 * bytes, without its line end). */
int
LLVMFuzzerTestOneInput (const uint8_t *data,
                        size_t         size)
{
  g_autoptr(HeraldRelayCommand) command = NULL;

  command = herald_relay_command_parse ((const char *) data, size);
  g_assert_nonnull (command);
  /* Either a verb with its arguments, or the reply that says what is wrong. */
  if (command->error_reply != NULL)
    {
      g_assert_true (g_ascii_isdigit (command->error_reply[0]));
      g_assert_true (strchr (command->error_reply, '\r') == NULL &&
                     strchr (command->error_reply, '\n') == NULL);
      return 0;
    }
  g_assert_true (command->verb != HERALD_RELAY_VERB_UNKNOWN);
  switch (command->verb)
    {
    case HERALD_RELAY_VERB_MAIL:
    case HERALD_RELAY_VERB_RCPT:
      /* The path never carries what could end a line or a field. */
      g_assert_nonnull (command->address);
      g_assert_true (strpbrk (command->address, "\r\n<> ") == NULL);
      g_assert_true (g_utf8_validate (command->address, -1, NULL));
      if (command->verb == HERALD_RELAY_VERB_RCPT)
        g_assert_true (command->address[0] != '\0');
      break;
    case HERALD_RELAY_VERB_EHLO:
    case HERALD_RELAY_VERB_HELO:
    case HERALD_RELAY_VERB_AUTH:
      g_assert_nonnull (command->argument);
      g_assert_true (command->argument[0] != '\0' && strchr (command->argument, ' ') == NULL);
      break;
    case HERALD_RELAY_VERB_BDAT:
      g_assert_true (command->size_given);
      break;
    default:
      break;
    }
  return 0;
}
