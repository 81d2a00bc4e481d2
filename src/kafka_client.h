// SPDX-FileCopyrightText: 2026 The mqtt-kafka-bridge authors
// SPDX-License-Identifier: Apache-2.0
/* How the bridge makes its Kafka clients, in one place: the uplink's
 * producers (kafka_sink) and the downlink's consumers and result producer
 * get their properties in the same order (the caller's defaults, then
 * bootstrap.servers, client.id and kafka.properties, then what the caller
 * fixes), report errors the same way (a secret's value is never shown), and
 * route librdkafka's logs, error events and statistics into the bridge's.
 * Also Kafka's rule for topic names. */
#ifndef MKB_KAFKA_CLIENT_H
#define MKB_KAFKA_CLIENT_H

#include <librdkafka/rdkafka.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"

typedef enum {
    KAFKA_CLIENT_PRODUCER, /* kafka.properties apply in full */
    KAFKA_CLIENT_CONSUMER, /* only the connection's: security. sasl. ssl. socket. broker. */
} kafka_client_kind_t;

/* Sets NAME=VALUE on CONF. MKB_ERR_CONFIG with "WHERE: NAME=VALUE: reason"
 * in ERRSTR (a secret's value shows as "(secret, not shown)"). */
int kafka_client_set(rd_kafka_conf_t *conf, const char *name, const char *value, const char *where,
                     char *errstr, size_t errstr_size);

/* Sets each pair of PAIRS (name, value, ..., NULL) as kafka_client_set. */
int kafka_client_set_pairs(rd_kafka_conf_t *conf, const char *const *pairs, const char *where,
                           char *errstr, size_t errstr_size);

/* Sets client.id (errors said as WHERE), bootstrap.servers and CFG's
 * kafka.properties (of the connection only for a consumer) on CONF, and the
 * log and error callbacks (kafka_client_log_cb, kafka_client_error_cb).
 * The caller sets its defaults before and what it fixes after. */
int kafka_client_apply(rd_kafka_conf_t *conf, const config_t *cfg, kafka_client_kind_t kind,
                       const char *client_id, const char *where, char *errstr,
                       size_t errstr_size);

/* Creates the client from CONF, which it takes (also on failure). NULL with
 * "WHAT: cannot create the client: reason" in ERRSTR. */
rd_kafka_t *kafka_client_new(kafka_client_kind_t kind, rd_kafka_conf_t *conf, const char *what,
                             char *errstr, size_t errstr_size);

/* librdkafka's log lines into the bridge's logger (a log_cb). */
void kafka_client_log_cb(const rd_kafka_t *rk, int level, const char *fac, const char *buf);

/* Reports a librdkafka error event of any of the bridge's clients. Failed
 * authentication (SASL) and failed TLS handshakes are logged at error level
 * with what to check, the first at once, then at most once a minute with
 * the count of repeats; other errors at warning level (librdkafka retries
 * them). */
void kafka_client_report_error(rd_kafka_t *rk, int err, const char *reason);

/* An error_cb: a fatal error logged as such, others kafka_client_report_error. */
void kafka_client_error_cb(rd_kafka_t *rk, int err, const char *reason, void *opaque);

/* From librdkafka's statistics JSON (statistics.interval.ms): brokers in
 * state UP, and the brokers' cumulative send, receive and timeout errors.
 * False if JSON does not parse. */
bool kafka_client_stats(const char *json, size_t len, uint64_t *brokers_up,
                        uint64_t *broker_errors);

/* Kafka's rule for topic names (1-249 of [a-zA-Z0-9._-], not "." or "..");
 * on failure WHY (WHY_SIZE bytes; may be NULL, 0) says what is wrong. */
bool kafka_client_topic_check(const char *t, size_t n, char *why, size_t why_size);

#endif
