// SPDX-FileCopyrightText: 2026 The mqtt-kafka-bridge authors
// SPDX-License-Identifier: Apache-2.0
/* The downlink: actuator commands, Kafka -> MQTT: a consumer per consumer group of the
 * `commands:` rules, each record rendered to an MQTT message (topic template,
 * payload passed through or built from fields, MQTT 5 properties) and
 * published through the bridge's MQTT client.
 *
 * At least once, in order: a record's offset is stored for commit only once
 * it and every earlier record of its partition reached MQTT (PUBACK) or was
 * settled otherwise (expired, invalid: reported and skipped). Consumption is
 * paused while MQTT is disconnected; a publish that fails rewinds its
 * partition to that record.
 *
 * Parts: downlink_rule (a rule compiled, and the MQTT message a record
 * becomes, in the uplink's template language), downlink_offsets (what may be
 * committed), kafka_client (how the consumers and the result producer are
 * made). */
#ifndef MKB_DOWNLINK_H
#define MKB_DOWNLINK_H

#include <stdint.h>

#include "config.h"
#include "mqtt_client.h"
#include "spb_state.h"

typedef struct downlink downlink_t;

typedef struct {
    uint64_t consumed;  /* records read from command topics */
    uint64_t published; /* acknowledged by the MQTT broker */
    uint64_t expired;   /* older than the rule's max_age_s: not sent */
    uint64_t invalid;   /* could not be rendered: reported, not sent */
    uint64_t failed;    /* publishes that failed (then sent again) */
    uint64_t rewinds;   /* partitions rewound after a failed publish */
} downlink_stats_t;

/* Builds the consumers and the result producer for CFG's command rules,
 * taking CFG (*out is NULL when there are none; CFG is freed then). Command
 * rules apply until a restart (a reload changes routes only). MQTT is
 * borrowed. */
int downlink_new(config_t *cfg, mqtt_client_t *mqtt, downlink_t **out, char *errstr,
                 size_t errstr_size);

/* Compiles CFG's command templates only (for `check`): MKB_ERR_CONFIG with
 * one file:line:col line per error in ERRSTR. */
int downlink_check(const config_t *cfg, char *errstr, size_t errstr_size);

/* Gives every payload: sparkplug_b rule the birth state its commands take
 * datatypes from (downlink_rule_set_births): the bridge passes
 * spb_state_resolve and its spb_state_t (borrowed, thread-safe, must
 * outlive the downlink). Call before downlink_start. */
void downlink_set_births(downlink_t *c, spb_resolve_t resolve, spb_state_t *state);

/* Starts the consumer threads. */
int downlink_start(downlink_t *c);

/* Stops consuming, waits up to TIMEOUT_MS for publishes in flight, commits
 * what reached MQTT. Call while MQTT is still connected. Once only: later
 * calls do nothing. */
void downlink_stop(downlink_t *c, int timeout_ms);

/* Frees everything; call downlink_stop, then destroy the MQTT client (its
 * callbacks may still report publishes), then this. */
void downlink_destroy(downlink_t *c);

void downlink_stats(const downlink_t *c, downlink_stats_t *out);

#endif
