// SPDX-FileCopyrightText: 2026 The mqtt-kafka-bridge authors
// SPDX-License-Identifier: Apache-2.0
/* Checks of a loaded configuration across fields (private to config*.c):
 * what the key table cannot say alone (a password needs a user name, the
 * spool's sizes against each other, unique rule names, known profiles), and
 * secrets read from their files. */
#ifndef MKB_CONFIG_CHECK_H
#define MKB_CONFIG_CHECK_H

#include "config.h"
#include "diag.h"

/* Adds one line to ERRS per problem, to WARNS per thing that loads but
 * deserves a look (a secret every user can read). Reads NAME_file
 * properties and password files into CFG, makes spool.dir absolute. */
void config_check(config_t *cfg, diag_t *errs, diag_t *warns);

#endif
