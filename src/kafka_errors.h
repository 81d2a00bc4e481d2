// SPDX-FileCopyrightText: 2026 The mqtt-kafka-bridge authors
// SPDX-License-Identifier: Apache-2.0
/* Which librdkafka errors a delivery report or a produce call can give are
 * worth waiting out (transient) and which mean the record can never be
 * written where it was going (permanent: a dead letter with the reason).
 * One table in kafka_errors.c; docs/ARCHITECTURE.md lists it. */
#ifndef MKB_KAFKA_ERRORS_H
#define MKB_KAFKA_ERRORS_H

#include <stdbool.h>

typedef enum {
    KAFKA_ERR_PERMANENT = 0, /* dead-letter it now */
    KAFKA_ERR_TRANSIENT,     /* retry with backoff for as long as it takes */
    KAFKA_ERR_TOPIC_UNKNOWN, /* transient until the broker confirms the topic is absent */
} kafka_err_class_t;

/* Why a record waits: the label of the mkb_kafka_records_waiting gauge. */
typedef enum {
    KAFKA_WAIT_UNKNOWN_TOPIC = 0,
    KAFKA_WAIT_NO_LEADER,
    KAFKA_WAIT_TIMEOUT,
    KAFKA_WAIT_BROKER_DOWN,
    KAFKA_WAIT_REPLICAS,
    KAFKA_WAIT_THROTTLED,
    KAFKA_WAIT_QUEUE_FULL,
    KAFKA_WAIT_OTHER,
    KAFKA_WAIT_REASONS /* count */
} kafka_wait_reason_t;

/* The class of librdkafka error ERR (an rd_kafka_resp_err_t); *REASON (if
 * not NULL) gets why a transient one waits. Errors not in the table are
 * permanent: librdkafka already retries what it knows to be retriable for
 * as long as message.timeout.ms allows (0: for ever), so an unknown error
 * reaching a delivery report is one it gave up on. */
kafka_err_class_t kafka_err_classify(int err, kafka_wait_reason_t *reason);

/* "unknown_topic", "no_leader", ... (the gauge's reason label). */
const char *kafka_wait_reason_name(kafka_wait_reason_t reason);

/* The number of rows of the table and row I (for the docs and the tests). */
int kafka_err_table_size(void);
bool kafka_err_table_row(int i, int *err, kafka_err_class_t *cls, kafka_wait_reason_t *reason);

#endif
