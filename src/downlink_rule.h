// SPDX-FileCopyrightText: 2026 The mqtt-kafka-bridge authors
// SPDX-License-Identifier: Apache-2.0
/* A command rule of the downlink compiled once (its MQTT topic and user
 * property templates in the one template language, its payload fields as
 * JSON pointers), and what it makes of a Kafka record: the MQTT message. No
 * Kafka client and no MQTT connection here: the fuzzer drives it directly. */
#ifndef MKB_DOWNLINK_RULE_H
#define MKB_DOWNLINK_RULE_H

#include <stdbool.h>
#include <stddef.h>

#include "buf.h"
#include "config.h"
#include "mqtt_client.h"
#include "spb_state.h"
#include "template.h"

typedef struct downlink_rule downlink_rule_t;

/* Compiles RULE (borrowed from CFG, which must outlive the result). On
 * MKB_ERR_CONFIG, ERRSTR holds one "file:line:col: error: ..." line per
 * error (appended at ERRSTR's end); *OUT is NULL. */
int downlink_rule_new(const config_t *cfg, const config_command_t *rule, downlink_rule_t **out,
                      char *errstr, size_t errstr_size);
void downlink_rule_destroy(downlink_rule_t *r);

const config_command_t *downlink_rule_cfg(const downlink_rule_t *r);

/* Where a payload: sparkplug_b rule finds the datatypes of metrics a record
 * names without one: RESOLVE is called with an spb_scope_t {STATE, the
 * command's topic} as its ctx (the bridge passes spb_state_resolve and its
 * birth state). STATE is borrowed and must be thread-safe (renders run on
 * the consumer threads). Set before the first render; STATE NULL: the
 * datatypes come from the records' JSON alone. */
void downlink_rule_set_births(downlink_rule_t *r, spb_resolve_t resolve, spb_state_t *state);

/* The MQTT message a record became; buffers owned, freed by
 * downlink_msg_free. The payload is the record's value (borrowed) or the
 * object built from the rule's fields. */
typedef struct {
    buf_t topic;
    buf_t built;          /* the payload built from fields */
    buf_t encoded;        /* the Sparkplug B payload (payload: sparkplug_b) */
    const void *payload;  /* what to send: the record's value or built.p */
    size_t len;
    buf_t *values;        /* user property values, one per property of the rule */
    mqtt_user_prop_t *props;
    size_t nprops;
} downlink_msg_t;

/* Renders REC, whose value is VALUE (LEN bytes), into MSG (zeroed before the
 * first call). MKB_ERR_INVAL with the reason in WHY when the record does not
 * fit the rule (value not JSON where fields are read, a field, key or header
 * missing, a topic that is empty, has a wildcard, breaks a level or is not
 * UTF-8; with payload: sparkplug_b also a topic that is not an NCMD or DCMD
 * one, and a payload that spb_encode_command refuses); MKB_ERR_NOMEM. */
int downlink_rule_render(const downlink_rule_t *r, const tmpl_record_t *rec, const void *value,
                         size_t len, downlink_msg_t *msg, char *why, size_t why_size);

void downlink_msg_free(downlink_msg_t *msg);

#endif
