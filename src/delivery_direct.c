// SPDX-FileCopyrightText: 2026 The mqtt-kafka-bridge authors
// SPDX-License-Identifier: Apache-2.0
/* The direct delivery stage: no spool. Each record goes into its
 * producer's queue on the MQTT receive thread (waiting there for room when
 * the queue is full), so a message is safe once mapped; its ack carries
 * its receive time. */
#include "delivery.h"

#include "err.h"

/* The stage's state is the sink itself: IMPL is the kafka_sink_t. */

/* A record settled: its ack carries its receive time. */
static int64_t direct_acked(void *impl, const record_ack_t *ack)
{
    (void)impl;
    return ack->recv_ms;
}

static int direct_open(const delivery_conf_t *conf, void **impl, char *errstr, size_t errstr_size)
{
    if (errstr_size)
        errstr[0] = '\0'; /* nothing can fail */
    *impl = conf->sink;
    return MKB_OK;
}

static int direct_add(void *impl, const record_t *rec)
{
    int rc = kafka_sink_produce(impl, rec, 0);
    /* MKB_ERR_KAFKA: a permanent error, logged (and counted) by the sink. */
    return rc == MKB_ERR_STOPPED ? rc : MKB_OK;
}

static int direct_commit(void *impl, char *errstr, size_t errstr_size)
{
    (void)impl;
    if (errstr_size)
        errstr[0] = '\0';
    return MKB_OK; /* each record is in librdkafka's queue already */
}

static void direct_nop(void *impl)
{
    (void)impl;
}

static int direct_start(void *impl)
{
    (void)impl;
    return MKB_OK;
}

static bool direct_caught_up(void *impl)
{
    (void)impl;
    return true;
}

static void direct_stats(void *impl, delivery_stats_t *out)
{
    out->queue_full_since = kafka_sink_queue_full_since(impl);
}

/* clang-format off */
const delivery_ops_t delivery_direct = {
    .name = "direct", .open = direct_open, .add = direct_add, .commit = direct_commit,
    .acked = direct_acked, .discard = direct_nop, .start = direct_start, .tick = direct_nop,
    .caught_up = direct_caught_up, .stop = direct_nop, .stats = direct_stats, .close = direct_nop,
};
/* clang-format on */
