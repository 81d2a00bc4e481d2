// SPDX-FileCopyrightText: 2026 The mqtt-kafka-bridge authors
// SPDX-License-Identifier: Apache-2.0
/* The libcheck runner every test binary ends with: runs SUITE, prints
 * Check's summary lines, returns the exit status (0 when all passed). */
#ifndef MKB_CHECK_RUN_H
#define MKB_CHECK_RUN_H

#include <check.h>

static inline int check_run(Suite *suite)
{
    SRunner *sr = srunner_create(suite);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}

#endif
