// SPDX-FileCopyrightText: 2026 The mqtt-kafka-bridge authors
// SPDX-License-Identifier: Apache-2.0
/* The metrics the bridge exports on /metrics, in one list: each metric's
 * name, type, help and the figure it shows, rendered from a snapshot the
 * bridge takes at scrape time. docs/OPERATIONS.md lists exactly these
 * (tests/unit/test_bridge_metrics.c checks it), plus the per-route counters
 * and the latency histogram that metrics.c keeps itself.
 * To add a metric that shows one figure: its value in the snapshot (a field
 * here, filled by bridge.c's collect(), or one of the stats it holds), a row
 * in bridge_metrics.c's tables, a row in docs/OPERATIONS.md and a panel in
 * monitoring/ (tests/monitoring/check.sh wants one per metric). */
#ifndef MKB_BRIDGE_METRICS_H
#define MKB_BRIDGE_METRICS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bridge.h"
#include "buf.h"
#include "kafka_sink.h"

/* Everything /metrics shows, read in one go (any thread). */
typedef struct {
    bridge_stats_t st; /* with the spool's figures when st.spool */
    uint64_t mqtt_bytes_in;
    kafka_sink_stats_t ks;
    bool spool_full;
    double spool_oldest_age_s; /* 0: nothing sent and unacknowledged */
    uint64_t spool_unacked;    /* journaled, not acknowledged (delivery_stats_t unacked) */
    bool mqtt_connected;
    uint64_t mqtt_reconnects, mqtt_subscriptions;
    uint64_t cmd_consumed, cmd_published, cmd_expired, cmd_invalid, cmd_failed;
    /* Readiness: bit i of not_ready set when reason not_ready_names[i] holds. */
    unsigned not_ready;
    const char *const *not_ready_names;
    size_t not_ready_count;
} bridge_metrics_t;

/* Appends the text format (0.0.4) of SNAPSHOT to OUT. */
void bridge_metrics_render(const bridge_metrics_t *snapshot, buf_t *out);

#endif
