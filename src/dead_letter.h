// SPDX-FileCopyrightText: 2026 The mqtt-kafka-bridge authors
// SPDX-License-Identifier: Apache-2.0
/* Dead letters: the names of the headers that say why a record went to the
 * dead-letter topic (users read them: docs/CONFIGURATION.md,
 * docs/OPERATIONS.md), and the builder of those headers for the records the
 * sink and the downlink produce with librdkafka. The mapper's dead letters
 * are records (record.h) and take the names from here. */
#ifndef MKB_DEAD_LETTER_H
#define MKB_DEAD_LETTER_H

#include <librdkafka/rdkafka.h>
#include <stddef.h>

#define DEAD_LETTER_REASON "mkb.reason"             /* why, in words (every dead letter) */
#define DEAD_LETTER_ROUTE "mkb.route"               /* the mapper's: the route's name */
#define DEAD_LETTER_MQTT_TOPIC "mkb.mqtt.topic"     /* the mapper's (and unmatched records') */
#define DEAD_LETTER_MQTT_QOS "mkb.mqtt.qos"         /* the mapper's */
#define DEAD_LETTER_VALUE_BYTES "mkb.value.bytes"   /* the original size of a cut value */
#define DEAD_LETTER_KAFKA_TOPIC "mkb.kafka.topic"   /* the sink's: the topic that refused it */
#define DEAD_LETTER_COMMAND "mkb.command"           /* the downlink's: the command rule */
#define DEAD_LETTER_KAFKA_RECORD "mkb.kafka.record" /* the downlink's: topic[partition]@offset */
/* Not a dead letter's: a record the mapper made although some of its fields
 * failed (fields.on_error other than dead_letter) names them here, comma
 * separated, in field order. */
#define RECORD_FIELD_ERRORS "mkb.field_errors"
/* Not a dead letter's: on a route's record made from a retained MQTT
 * message (value "true"), and only then. */
#define MKB_HEADER_RETAINED "mkb.retained"
/* Records of payload: sparkplug_b routes: the Sparkplug message type (NDATA, NBIRTH...). */
#define MKB_HEADER_SPB_TYPE "mkb.sparkplug.type"

/* Marks H (NULL: new headers) as a dead letter's: its DEAD_LETTER_REASON
 * becomes REASON, then the pairs of PAIRS (name, value, ..., NULL; NULL:
 * none) are added. REASON NULL: H is a dead letter already and keeps its own
 * reason: nothing is added. Returns H, or the new headers, which the caller
 * owns (producev takes them, else rd_kafka_headers_destroy). */
rd_kafka_headers_t *dead_letter_mark(rd_kafka_headers_t *h, const char *reason,
                                     const char *const *pairs);

/* dead_letter_mark on a copy of ORIG (NULL: none); ORIG is not changed. */
rd_kafka_headers_t *dead_letter_headers(const rd_kafka_headers_t *orig, const char *reason,
                                        const char *const *pairs);

/* Adds DEAD_LETTER_VALUE_BYTES = LEN to H unless it has one (the mapper's
 * is the original size): for a dead letter sent again without its value. */
void dead_letter_value_bytes(rd_kafka_headers_t *h, size_t len);

#endif
