// SPDX-FileCopyrightText: 2026 The mqtt-kafka-bridge authors
// SPDX-License-Identifier: Apache-2.0
#include "delivery.h"

#include "err.h"
#include "log.h"

#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>

struct delivery {
    const delivery_ops_t *ops;
    void *impl;
    kafka_sink_t *sink;
    delivery_settled_t settled;
    void *opaque;
    bool backlog; /* main thread: see trim_after_backlog */
};

/* The sink settled a record: the stage gives its receive time. */
static void on_ack(void *opaque, const record_ack_t *ack)
{
    delivery_t *d = opaque;
    d->settled(d->opaque, d->ops->acked(d->impl, ack));
}

int delivery_new(const delivery_conf_t *conf, delivery_t **out, char *errstr, size_t errstr_size)
{
    delivery_t *d = calloc(1, sizeof(*d));
    if (!d) {
        snprintf(errstr, errstr_size, "out of memory");
        return MKB_ERR_NOMEM;
    }
    d->ops = conf->spool ? &delivery_spooled : &delivery_direct;
    d->sink = conf->sink;
    d->settled = conf->settled;
    d->opaque = conf->opaque;
    int rc = d->ops->open(conf, &d->impl, errstr, errstr_size);
    if (rc != MKB_OK) {
        free(d);
        return rc;
    }
    kafka_sink_set_ack(d->sink, on_ack, d);
    *out = d;
    return MKB_OK;
}

void delivery_destroy(delivery_t *d)
{
    if (!d)
        return;
    d->ops->stop(d->impl);
    d->ops->close(d->impl);
    free(d);
}

bool delivery_maps_later(const delivery_t *d)
{
    return d->ops->add_message != NULL;
}

int delivery_add_message(delivery_t *d, const mqtt_msg_t *m)
{
    return d->ops->add_message(d->impl, m);
}

int delivery_add(delivery_t *d, const record_t *rec)
{
    return d->ops->add(d->impl, rec);
}

int delivery_commit(delivery_t *d, char *errstr, size_t errstr_size)
{
    return d->ops->commit(d->impl, errstr, errstr_size);
}

void delivery_discard(delivery_t *d)
{
    d->ops->discard(d->impl);
}

int delivery_start(delivery_t *d)
{
    return d->ops->start(d->impl);
}

bool delivery_caught_up(delivery_t *d)
{
    return d->ops->caught_up(d->impl);
}

void delivery_stop(delivery_t *d)
{
    d->ops->stop(d->impl);
}

void delivery_stats(const delivery_t *d, delivery_stats_t *out)
{
    *out = (delivery_stats_t){0};
    d->ops->stats(d->impl, out);
}

/* After a backlog (BACKLOG_RECORDS or more records in the producer queues)
 * has drained (fewer than DRAINED_RECORDS left), gives the freed heap back
 * to the kernel: librdkafka frees the delivered records on its own threads,
 * and glibc keeps the freed pages of those malloc arenas (measured: 20-21
 * MiB resident after a 60 s outage's drain, 13-14 MiB before it;
 * malloc_trim brings it back). The threshold is below the spool's
 * queue.buffering.max.messages (10,000), which a draining backlog reaches;
 * "drained" is not "empty", since records keep flowing. Main thread, once
 * per backlog; with or without the spool. */
#define BACKLOG_RECORDS 5000
#define DRAINED_RECORDS 200
static void trim_after_backlog(bool *backlog, uint64_t outstanding)
{
    if (outstanding >= BACKLOG_RECORDS) {
        *backlog = true;
    } else if (*backlog && outstanding < DRAINED_RECORDS) {
        *backlog = false;
        malloc_trim(0);
        log_debug("bridge", "backlog drained: freed heap given back (malloc_trim)");
    }
}

void delivery_tick(delivery_t *d)
{
    d->ops->tick(d->impl);
    kafka_sink_stats_t ks;
    kafka_sink_stats(d->sink, &ks);
    trim_after_backlog(&d->backlog, ks.outstanding);
}
