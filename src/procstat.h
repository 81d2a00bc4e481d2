// SPDX-FileCopyrightText: 2026 The mqtt-kafka-bridge authors
// SPDX-License-Identifier: Apache-2.0
/* The process_* metrics as the Prometheus client libraries export them on
 * Linux (client_golang's process collector, prometheus_client's
 * ProcessCollector): same names, HELP texts, types and units, read from
 * /proc at scrape time. Nothing is kept between scrapes. */
#ifndef MKB_PROCSTAT_H
#define MKB_PROCSTAT_H

#include <stdbool.h>
#include <stdint.h>

#include "buf.h"

typedef struct {
    bool have_stat;            /* PROC/self/stat was read */
    double cpu_seconds;        /* utime + stime, all threads */
    double start_time_seconds; /* since the Unix epoch */
    uint64_t vsize_bytes, rss_bytes;
    bool have_fds;      /* PROC/self/fd was listed */
    uint64_t open_fds;
    bool have_limits;   /* PROC/self/limits was read */
    double max_fds;     /* soft RLIMIT_NOFILE */
    double max_vsize;   /* soft RLIMIT_AS; "unlimited" is 2^64 - 1, as client_golang says it */
} procstat_t;

/* Reads the figures of the calling process from PROC (normally "/proc":
 * PROC/self/{stat,limits,fd}, and PROC/stat for the boot time, from the
 * clocks when it is hidden). A file that
 * cannot be read leaves its have_ flag false: its metrics are left out,
 * as the client libraries do. */
void procstat_read(const char *proc, procstat_t *out);

/* Appends the metrics read (text format 0.0.4). */
void procstat_render(const procstat_t *ps, buf_t *out);

#endif
