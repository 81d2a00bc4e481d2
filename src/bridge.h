/* The uplink pipeline: MQTT message -> mapper (routes, normalizer) -> Kafka
 * records. Owns the mapper, the Kafka sink and the MQTT source, and runs
 * the main loop. */
#ifndef MKB_BRIDGE_H
#define MKB_BRIDGE_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"

typedef struct bridge bridge_t;

typedef struct {
    uint64_t received;     /* messages taken from MQTT */
    uint64_t unmatched;    /* messages no route matched */
    uint64_t records;      /* records made (dead letters included) */
    uint64_t dead_letters; /* records sent to the dead-letter topic */
    uint64_t produced;     /* records handed to the producer */
    uint64_t delivered;    /* records acknowledged by Kafka */
    uint64_t failed;       /* records Kafka refused for good */
} bridge_stats_t;

/* Builds every component from CFG (borrowed for the bridge's lifetime).
 * Route compile errors come back in errstr (one per line). */
int bridge_new(const config_t *cfg, bridge_t **out, char *errstr, size_t errstr_size);
void bridge_destroy(bridge_t *b);

/* Runs until *STOP becomes non-zero (set by a signal handler), then shuts
 * down: stop MQTT intake, flush the producer, report. Returns MKB_OK when
 * every record taken was delivered, else a negative mkb_err_t. */
int bridge_run(bridge_t *b, volatile sig_atomic_t *stop);

void bridge_stats(const bridge_t *b, bridge_stats_t *out);

#endif
