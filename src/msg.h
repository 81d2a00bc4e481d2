// SPDX-FileCopyrightText: 2026 The mqtt-kafka-bridge authors
// SPDX-License-Identifier: Apache-2.0
/* An MQTT message as the pipeline sees it. All pointers are borrowed from
 * the MQTT client and valid only while the message is being handled. */
#ifndef MKB_MSG_H
#define MKB_MSG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct {
    const char *key;
    size_t key_len;
    const char *value;
    size_t value_len;
} mkb_prop_t; /* an MQTT 5 user property */

typedef struct {
    const char *topic; /* not NUL-terminated in general: use topic_len */
    size_t topic_len;
    const void *payload;
    size_t payload_len;
    int qos;
    bool retained;
    bool dup;
    const char *content_type; /* MQTT 5; NULL if absent */
    size_t content_type_len;
    const mkb_prop_t *props; /* MQTT 5 user properties */
    size_t nprops;
    int64_t recv_ms; /* receive time, ms since the epoch */
} mqtt_msg_t;

#endif
