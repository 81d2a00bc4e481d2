// SPDX-FileCopyrightText: 2026 The mqtt-kafka-bridge authors
// SPDX-License-Identifier: Apache-2.0
#include "kafka_errors.h"

#include <librdkafka/rdkafka.h>
#include <stddef.h>

/* Two codes newer than Debian 12's librdkafka 2.0.2, which the bridge still
 * builds against when the pinned one is not there (make bench-librdkafka,
 * the Debian package's system-libs profile): their numbers are Kafka's and
 * librdkafka's (rdkafka.h of 2.12), and a 2.0.2 never reports them. */
#define MKB_ERR_UNKNOWN_TOPIC_ID ((rd_kafka_resp_err_t)100)
#define MKB_ERR_REBOOTSTRAP_REQUIRED ((rd_kafka_resp_err_t)129)
#if RD_KAFKA_VERSION >= 0x020c0000
_Static_assert(MKB_ERR_UNKNOWN_TOPIC_ID == RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_ID, "UNKNOWN_TOPIC_ID");
_Static_assert(MKB_ERR_REBOOTSTRAP_REQUIRED == RD_KAFKA_RESP_ERR_REBOOTSTRAP_REQUIRED,
               "REBOOTSTRAP_REQUIRED");
#endif

/* Every error a producer's delivery report or rd_kafka_producev() can give,
 * sorted once. Transient: the condition goes away by itself (a broker comes
 * back, a leader is elected, a topic is created) and the same record will
 * then be accepted. Permanent: the same record will be refused again
 * whatever the wait (too large, a name the broker refuses, no right to
 * write), so it goes to the dead-letter topic with the reason.
 *
 * Unknown topic or partition (the broker's UNKNOWN_TOPIC_OR_PART, the local
 * __UNKNOWN_TOPIC / __UNKNOWN_PARTITION) is what librdkafka reports when a
 * topic's metadata did not arrive within topic.metadata.propagation.max.ms
 * (30 s), e.g. because Kafka was down when the topic was first used: the
 * topic is then merely not created yet. It is dead-lettered only after the
 * broker itself says the topic does not exist, twice, seconds apart, to a
 * metadata request that allows auto-creation (see kafka_sink.c). */
static const struct {
    rd_kafka_resp_err_t err;
    kafka_err_class_t cls;
    kafka_wait_reason_t reason;
} table[] = {
    /* the topic may yet be created */
    {RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART, KAFKA_ERR_TOPIC_UNKNOWN, KAFKA_WAIT_UNKNOWN_TOPIC},
    {RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC, KAFKA_ERR_TOPIC_UNKNOWN, KAFKA_WAIT_UNKNOWN_TOPIC},
    {RD_KAFKA_RESP_ERR__UNKNOWN_PARTITION, KAFKA_ERR_TOPIC_UNKNOWN, KAFKA_WAIT_UNKNOWN_TOPIC},
    {MKB_ERR_UNKNOWN_TOPIC_ID, KAFKA_ERR_TOPIC_UNKNOWN, KAFKA_WAIT_UNKNOWN_TOPIC},
    /* leadership moving */
    {RD_KAFKA_RESP_ERR_LEADER_NOT_AVAILABLE, KAFKA_ERR_TRANSIENT, KAFKA_WAIT_NO_LEADER},
    {RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION, KAFKA_ERR_TRANSIENT, KAFKA_WAIT_NO_LEADER},
    {RD_KAFKA_RESP_ERR_PREFERRED_LEADER_NOT_AVAILABLE, KAFKA_ERR_TRANSIENT, KAFKA_WAIT_NO_LEADER},
    {RD_KAFKA_RESP_ERR_ELIGIBLE_LEADERS_NOT_AVAILABLE, KAFKA_ERR_TRANSIENT, KAFKA_WAIT_NO_LEADER},
    {RD_KAFKA_RESP_ERR_FENCED_LEADER_EPOCH, KAFKA_ERR_TRANSIENT, KAFKA_WAIT_NO_LEADER},
    {RD_KAFKA_RESP_ERR_UNKNOWN_LEADER_EPOCH, KAFKA_ERR_TRANSIENT, KAFKA_WAIT_NO_LEADER},
    {RD_KAFKA_RESP_ERR_REPLICA_NOT_AVAILABLE, KAFKA_ERR_TRANSIENT, KAFKA_WAIT_NO_LEADER},
    {RD_KAFKA_RESP_ERR_NOT_CONTROLLER, KAFKA_ERR_TRANSIENT, KAFKA_WAIT_NO_LEADER},
    /* time-outs (message.timeout.ms, if an operator set one; request.timeout.ms) */
    {RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT, KAFKA_ERR_TRANSIENT, KAFKA_WAIT_TIMEOUT},
    {RD_KAFKA_RESP_ERR__TIMED_OUT, KAFKA_ERR_TRANSIENT, KAFKA_WAIT_TIMEOUT},
    {RD_KAFKA_RESP_ERR__MSG_TIMED_OUT, KAFKA_ERR_TRANSIENT, KAFKA_WAIT_TIMEOUT},
    {RD_KAFKA_RESP_ERR__TIMED_OUT_QUEUE, KAFKA_ERR_TRANSIENT, KAFKA_WAIT_TIMEOUT},
    /* brokers away */
    {RD_KAFKA_RESP_ERR__TRANSPORT, KAFKA_ERR_TRANSIENT, KAFKA_WAIT_BROKER_DOWN},
    {RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN, KAFKA_ERR_TRANSIENT, KAFKA_WAIT_BROKER_DOWN},
    {RD_KAFKA_RESP_ERR__RESOLVE, KAFKA_ERR_TRANSIENT, KAFKA_WAIT_BROKER_DOWN},
    {RD_KAFKA_RESP_ERR__NODE_UPDATE, KAFKA_ERR_TRANSIENT, KAFKA_WAIT_BROKER_DOWN},
    {RD_KAFKA_RESP_ERR__WAIT_COORD, KAFKA_ERR_TRANSIENT, KAFKA_WAIT_BROKER_DOWN},
    {RD_KAFKA_RESP_ERR_BROKER_NOT_AVAILABLE, KAFKA_ERR_TRANSIENT, KAFKA_WAIT_BROKER_DOWN},
    {RD_KAFKA_RESP_ERR_NETWORK_EXCEPTION, KAFKA_ERR_TRANSIENT, KAFKA_WAIT_BROKER_DOWN},
    {RD_KAFKA_RESP_ERR_KAFKA_STORAGE_ERROR, KAFKA_ERR_TRANSIENT, KAFKA_WAIT_BROKER_DOWN},
    {MKB_ERR_REBOOTSTRAP_REQUIRED, KAFKA_ERR_TRANSIENT, KAFKA_WAIT_BROKER_DOWN},
    /* too few in-sync replicas for acks=all */
    {RD_KAFKA_RESP_ERR_NOT_ENOUGH_REPLICAS, KAFKA_ERR_TRANSIENT, KAFKA_WAIT_REPLICAS},
    {RD_KAFKA_RESP_ERR_NOT_ENOUGH_REPLICAS_AFTER_APPEND, KAFKA_ERR_TRANSIENT, KAFKA_WAIT_REPLICAS},
    {RD_KAFKA_RESP_ERR__ISR_INSUFF, KAFKA_ERR_TRANSIENT, KAFKA_WAIT_REPLICAS},
    /* quotas, a full local queue */
    {RD_KAFKA_RESP_ERR_THROTTLING_QUOTA_EXCEEDED, KAFKA_ERR_TRANSIENT, KAFKA_WAIT_THROTTLED},
    {RD_KAFKA_RESP_ERR__QUEUE_FULL, KAFKA_ERR_TRANSIENT, KAFKA_WAIT_QUEUE_FULL},
    /* idempotent producer state (librdkafka resets it and goes on), busy cluster */
    {RD_KAFKA_RESP_ERR_OUT_OF_ORDER_SEQUENCE_NUMBER, KAFKA_ERR_TRANSIENT, KAFKA_WAIT_OTHER},
    {RD_KAFKA_RESP_ERR_UNKNOWN_PRODUCER_ID, KAFKA_ERR_TRANSIENT, KAFKA_WAIT_OTHER},
    {RD_KAFKA_RESP_ERR_INVALID_PRODUCER_EPOCH, KAFKA_ERR_TRANSIENT, KAFKA_WAIT_OTHER},
    {RD_KAFKA_RESP_ERR_CONCURRENT_TRANSACTIONS, KAFKA_ERR_TRANSIENT, KAFKA_WAIT_OTHER},
    {RD_KAFKA_RESP_ERR_COORDINATOR_LOAD_IN_PROGRESS, KAFKA_ERR_TRANSIENT, KAFKA_WAIT_OTHER},
    {RD_KAFKA_RESP_ERR_COORDINATOR_NOT_AVAILABLE, KAFKA_ERR_TRANSIENT, KAFKA_WAIT_OTHER},
    {RD_KAFKA_RESP_ERR_NOT_COORDINATOR, KAFKA_ERR_TRANSIENT, KAFKA_WAIT_OTHER},
    {RD_KAFKA_RESP_ERR_REASSIGNMENT_IN_PROGRESS, KAFKA_ERR_TRANSIENT, KAFKA_WAIT_OTHER},
    {RD_KAFKA_RESP_ERR__RETRY, KAFKA_ERR_TRANSIENT, KAFKA_WAIT_OTHER},
    {RD_KAFKA_RESP_ERR__OUTDATED, KAFKA_ERR_TRANSIENT, KAFKA_WAIT_OTHER},
    {RD_KAFKA_RESP_ERR__WAIT_CACHE, KAFKA_ERR_TRANSIENT, KAFKA_WAIT_OTHER},
    {RD_KAFKA_RESP_ERR__IN_PROGRESS, KAFKA_ERR_TRANSIENT, KAFKA_WAIT_OTHER},
    {RD_KAFKA_RESP_ERR__PREV_IN_PROGRESS, KAFKA_ERR_TRANSIENT, KAFKA_WAIT_OTHER},
    /* permanent: the record, the topic's name, or the rights */
    {RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE, KAFKA_ERR_PERMANENT, KAFKA_WAIT_OTHER},
    {RD_KAFKA_RESP_ERR_RECORD_LIST_TOO_LARGE, KAFKA_ERR_PERMANENT, KAFKA_WAIT_OTHER},
    {RD_KAFKA_RESP_ERR_INVALID_MSG_SIZE, KAFKA_ERR_PERMANENT, KAFKA_WAIT_OTHER},
    {RD_KAFKA_RESP_ERR_INVALID_MSG, KAFKA_ERR_PERMANENT, KAFKA_WAIT_OTHER},
    {RD_KAFKA_RESP_ERR_INVALID_RECORD, KAFKA_ERR_PERMANENT, KAFKA_WAIT_OTHER},
    {RD_KAFKA_RESP_ERR_INVALID_TIMESTAMP, KAFKA_ERR_PERMANENT, KAFKA_WAIT_OTHER},
    {RD_KAFKA_RESP_ERR__BAD_MSG, KAFKA_ERR_PERMANENT, KAFKA_WAIT_OTHER},
    {RD_KAFKA_RESP_ERR__INVALID_ARG, KAFKA_ERR_PERMANENT, KAFKA_WAIT_OTHER},
    {RD_KAFKA_RESP_ERR_TOPIC_EXCEPTION, KAFKA_ERR_PERMANENT, KAFKA_WAIT_OTHER}, /* invalid topic */
    {RD_KAFKA_RESP_ERR_POLICY_VIOLATION, KAFKA_ERR_PERMANENT, KAFKA_WAIT_OTHER},
    {RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED, KAFKA_ERR_PERMANENT, KAFKA_WAIT_OTHER},
    {RD_KAFKA_RESP_ERR_CLUSTER_AUTHORIZATION_FAILED, KAFKA_ERR_PERMANENT, KAFKA_WAIT_OTHER},
    {RD_KAFKA_RESP_ERR_TRANSACTIONAL_ID_AUTHORIZATION_FAILED, KAFKA_ERR_PERMANENT,
     KAFKA_WAIT_OTHER},
    {RD_KAFKA_RESP_ERR_UNSUPPORTED_FOR_MESSAGE_FORMAT, KAFKA_ERR_PERMANENT, KAFKA_WAIT_OTHER},
    {RD_KAFKA_RESP_ERR_UNSUPPORTED_COMPRESSION_TYPE, KAFKA_ERR_PERMANENT, KAFKA_WAIT_OTHER},
    {RD_KAFKA_RESP_ERR_UNSUPPORTED_VERSION, KAFKA_ERR_PERMANENT, KAFKA_WAIT_OTHER},
    {RD_KAFKA_RESP_ERR_INVALID_REQUIRED_ACKS, KAFKA_ERR_PERMANENT, KAFKA_WAIT_OTHER},
    {RD_KAFKA_RESP_ERR_DUPLICATE_SEQUENCE_NUMBER, KAFKA_ERR_PERMANENT, KAFKA_WAIT_OTHER},
    {RD_KAFKA_RESP_ERR__FATAL, KAFKA_ERR_PERMANENT, KAFKA_WAIT_OTHER},
    {RD_KAFKA_RESP_ERR__FENCED, KAFKA_ERR_PERMANENT, KAFKA_WAIT_OTHER},
    {RD_KAFKA_RESP_ERR_PRODUCER_FENCED, KAFKA_ERR_PERMANENT, KAFKA_WAIT_OTHER},
    {RD_KAFKA_RESP_ERR__GAPLESS_GUARANTEE, KAFKA_ERR_PERMANENT, KAFKA_WAIT_OTHER},
    {RD_KAFKA_RESP_ERR__AUTHENTICATION, KAFKA_ERR_PERMANENT, KAFKA_WAIT_OTHER},
    {RD_KAFKA_RESP_ERR__SSL, KAFKA_ERR_PERMANENT, KAFKA_WAIT_OTHER},
    /* __PURGE_QUEUE, __PURGE_INFLIGHT, __DESTROY: only at shutdown, handled
     * before classification (the record stays in the spool). */
};
#define TABLE_N ((int)(sizeof(table) / sizeof(table[0])))

kafka_err_class_t kafka_err_classify(int err, kafka_wait_reason_t *reason)
{
    for (int i = 0; i < TABLE_N; i++)
        if ((int)table[i].err == err) {
            if (reason)
                *reason = table[i].reason;
            return table[i].cls;
        }
    if (reason)
        *reason = KAFKA_WAIT_OTHER;
    return KAFKA_ERR_PERMANENT;
}

const char *kafka_wait_reason_name(kafka_wait_reason_t reason)
{
    static const char *const names[KAFKA_WAIT_REASONS] = {
        "unknown_topic", "no_leader", "timeout",    "broker_down",
        "replicas",      "throttled", "queue_full", "other",
    };
    return (unsigned)reason < KAFKA_WAIT_REASONS ? names[reason] : "other";
}

int kafka_err_table_size(void) { return TABLE_N; }

bool kafka_err_table_row(int i, int *err, kafka_err_class_t *cls, kafka_wait_reason_t *reason)
{
    if (i < 0 || i >= TABLE_N)
        return false;
    *err = (int)table[i].err;
    *cls = table[i].cls;
    *reason = table[i].reason;
    return true;
}
