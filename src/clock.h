// SPDX-FileCopyrightText: 2026 The mqtt-kafka-bridge authors
// SPDX-License-Identifier: Apache-2.0
/* Monotonic milliseconds, for deadlines and waits (never for timestamps). */
#ifndef MKB_CLOCK_H
#define MKB_CLOCK_H

#include <time.h>

static inline long long clock_mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

#endif
