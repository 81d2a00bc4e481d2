// SPDX-FileCopyrightText: 2026 The mqtt-kafka-bridge authors
// SPDX-License-Identifier: Apache-2.0
/* The rule engine: every route of the configuration compiled once (filter
 * trie, captures, templates, field operations) and applied to each MQTT
 * message: match -> parse -> normalize -> render Kafka records, or a dead
 * letter with the reason. Used by the running bridge and by `map`.
 *
 * Several routes may match one message: each produces its records (fan-out,
 * in file order). A message no route matches goes to kafka.unmatched_topic
 * when set, else it is only counted; one inside the subscription cover
 * (a generalized filter the bridge subscribed to) is only counted, as
 * outside the routes.
 *
 * Not thread-safe: one mapper per thread (scratch buffers are reused). */
#ifndef MKB_MAPPER_H
#define MKB_MAPPER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "msg.h"
#include "record.h"
#include "spb.h"
#include "spb_state.h"

typedef struct mapper mapper_t;

/* Receives each record (everything borrowed until it returns; recv_ms is
 * the message's); a non-zero return stops processing and is returned
 * by mapper_process. */
typedef int (*mapper_emit_t)(void *opaque, const record_t *rec);

/* Told of each route that skipped the message (its when: did not hold,
 * empty: skip, retained: drop): ROUTE its name, WHY in words ("when[0] field
 * /ENERGY exists is false") or NULL (mapper_on_skip); both borrowed until it
 * returns. OPAQUE is mapper_process's. */
typedef void (*mapper_skip_t)(void *opaque, const char *route, const char *why);

typedef struct {
    size_t routes;       /* routes that matched */
    size_t skipped;      /* of which skipped the message (no record, no dead letter) */
    size_t records;      /* records emitted (dead letters included) */
    size_t dead_letters; /* of which dead letters */
    bool unmatched;      /* no route matched, nor the subscription cover */
    bool outside;        /* no route matched, but the cover did: only counted */
    /* Sparkplug B (payload: sparkplug_b routes) */
    size_t spb_seq_gaps;   /* 1 when its seq was not the one expected */
    size_t spb_unresolved; /* metrics no birth names */
    size_t spb_rebirths;   /* rebirth requests made for it */
} mapper_result_t;

/* Asked to send edge node T's group and node a rebirth request (NCMD
 * Node Control/Rebirth; spb_encode_rebirth); OPAQUE is mapper_set_sparkplug's. */
typedef void (*mapper_rebirth_t)(void *opaque, const spb_topic_t *t);

/* Compiles the routes of CFG (borrowed; must outlive the mapper). On error
 * returns MKB_ERR_CONFIG and *errors lists every problem as
 * "file:line:col: error: ..." lines (caller frees). */
int mapper_new(const config_t *cfg, mapper_t **out, char **errors);
void mapper_destroy(mapper_t *m);

/* What compiles but deserves a look, as "file:line:col: warning: ..." lines
 * (overlapping filters widened into a broader subscription), or NULL. */
const char *mapper_warnings(const mapper_t *m);

/* Calls FN (NULL: nobody) for each route that skips a message; WHY: with
 * the reason in words (written per skip: map, tests), else WHY is NULL and
 * no reason is formatted on the per-message path (the running bridge). */
void mapper_on_skip(mapper_t *m, mapper_skip_t fn, bool why);

/* The birth state payload: sparkplug_b routes read and update (borrowed;
 * NULL: the mapper's own, in memory, made when a route needs it) and who
 * sends rebirth requests (NULL: nobody; they are still counted). */
void mapper_set_sparkplug(mapper_t *m, spb_state_t *state, mapper_rebirth_t rebirth, void *opaque);

/* Maps one message; emits its records in order. */
int mapper_process(mapper_t *m, const mqtt_msg_t *msg, mapper_emit_t emit, void *opaque,
                   mapper_result_t *res);

/* The MQTT subscriptions the routes need: their cover (subcover.h), a set
 * of filters no topic matches twice, each at the highest QoS under it. */
size_t mapper_subscription_count(const mapper_t *m);
const char *mapper_subscription_filter(const mapper_t *m, size_t i);
int mapper_subscription_qos(const mapper_t *m, size_t i);

size_t mapper_route_count(const mapper_t *m);

#endif
