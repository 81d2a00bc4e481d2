/* Actuator commands, Kafka -> MQTT: a consumer per consumer group of the
 * `commands:` rules, each record rendered to an MQTT message (topic template,
 * payload passed through or built from fields, MQTT 5 properties) and
 * published through the bridge's MQTT client.
 *
 * At least once, in order: a record's offset is stored for commit only once
 * it and every earlier record of its partition reached MQTT (PUBACK) or was
 * settled otherwise (expired, invalid: reported and skipped). Consumption is
 * paused while MQTT is disconnected; a publish that fails rewinds its
 * partition to that record. */
#ifndef MKB_COMMANDS_H
#define MKB_COMMANDS_H

#include <stdint.h>

#include "config.h"
#include "mqtt_source.h"

typedef struct commands commands_t;

typedef struct {
    uint64_t consumed;  /* records read from command topics */
    uint64_t published; /* acknowledged by the MQTT broker */
    uint64_t expired;   /* older than the rule's max_age_s: not sent */
    uint64_t invalid;   /* could not be rendered: reported, not sent */
    uint64_t failed;    /* publishes that failed (then sent again) */
    uint64_t rewinds;   /* partitions rewound after a failed publish */
} commands_stats_t;

/* Builds the consumers and the result producer for CFG's command rules,
 * taking CFG (*out is NULL when there are none; CFG is freed then). Command
 * rules apply until a restart (a reload changes routes only). MQTT is
 * borrowed. */
int commands_new(config_t *cfg, mqtt_source_t *mqtt, commands_t **out, char *errstr,
                 size_t errstr_size);

/* Compiles CFG's command templates only (for `check`): MKB_ERR_CONFIG with
 * one file:line:col line per error in ERRSTR. */
int commands_check(const config_t *cfg, char *errstr, size_t errstr_size);

/* Starts the consumer threads. */
int commands_start(commands_t *c);

/* Stops consuming, waits up to TIMEOUT_MS for publishes in flight, commits
 * what reached MQTT. Call while MQTT is still connected. Once only: later
 * calls do nothing. */
void commands_stop(commands_t *c, int timeout_ms);

/* Frees everything; call commands_stop, then destroy the MQTT client (its
 * callbacks may still report publishes), then this. */
void commands_destroy(commands_t *c);

void commands_stats(const commands_t *c, commands_stats_t *out);

#endif
