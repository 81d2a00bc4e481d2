// SPDX-FileCopyrightText: 2026 The mqtt-kafka-bridge authors
// SPDX-License-Identifier: Apache-2.0
/* The uplink pipeline: MQTT message -> mapper (routes, normalizer) -> Kafka
 * records. Owns the rules (config + compiled mapper), the Kafka sink and the
 * MQTT source, and runs the main loop: delivery reports, reloads, shutdown. */
#ifndef MKB_BRIDGE_H
#define MKB_BRIDGE_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "spool.h"

typedef struct bridge bridge_t;

typedef struct {
    uint64_t received;     /* messages taken from MQTT */
    uint64_t unmatched;    /* messages no route matched */
    uint64_t outside;      /* inside the subscription cover, no route matched */
    uint64_t records;      /* records made (dead letters included) */
    uint64_t dead_letters; /* records sent to the dead-letter topic by the rules */
    uint64_t produced;     /* records handed to the producers */
    uint64_t delivered;    /* records acknowledged by Kafka */
    uint64_t failed;       /* deliveries that failed for good (then dead-lettered) */
    uint64_t lost;         /* failed deliveries whose dead letter failed too */
    uint64_t reloads;      /* successful reloads */
    uint64_t reload_errors;
    uint64_t spb_seq_gaps;   /* Sparkplug messages whose seq was not the one expected */
    uint64_t spb_unresolved; /* Sparkplug metrics sent by an alias no birth names */
    uint64_t spb_rebirths;   /* rebirth requests made */
    bool spool;            /* the spool figures below are meaningful */
    spool_stats_t sp;
} bridge_stats_t;

typedef struct {
    volatile sig_atomic_t stop;   /* SIGINT/SIGTERM */
    volatile sig_atomic_t reload; /* SIGHUP */
} bridge_signals_t;

/* Builds every component from CFG, which the bridge takes over (it frees
 * it): what is fixed at boot (connections, spool, metrics, producer
 * profiles) stays CFG's until exit; the rules (routes, command rules) are
 * CFG's until a reload. PATH is where CFG came from, read again on reload.
 * Route compile errors come back in errstr (one per line). */
int bridge_new(config_t *cfg, const char *path, bridge_t **out, char *errstr,
               size_t errstr_size);
void bridge_destroy(bridge_t *b);

/* Runs until SIG->stop becomes non-zero, reloading the routes whenever
 * SIG->reload is set; then shuts down: stop MQTT intake, flush, report.
 * Returns MKB_OK when every record taken was delivered (or dead-lettered),
 * else a negative mkb_err_t. */
int bridge_run(bridge_t *b, bridge_signals_t *sig);

/* Re-reads the configuration and mapping files (once) and puts the new rule
 * set in force: the routes swap in atomically; when the command rules
 * changed, the command side stops (committing what reached MQTT) and starts
 * again from the new ones. On an error found before that, all running rules
 * stay and the reason is logged. Call from the main loop. */
int bridge_reload(bridge_t *b);

void bridge_stats(const bridge_t *b, bridge_stats_t *out);

#endif
