// SPDX-FileCopyrightText: 2026 The mqtt-kafka-bridge authors
// SPDX-License-Identifier: Apache-2.0
/* The spooled delivery stage: the MQTT callback journals each message as
 * received (spool_append_msg, then one spool_commit: write(2) before the
 * PUBACK); the sender thread reads the journal in order, maps each message
 * (the bridge's map callback) and hands its records to the producers under
 * the message's ticket, and delivery reports acknowledge them. So Paho's
 * receive thread only copies and writes, and the mapping runs beside it on
 * the other core. Journals of earlier versions hold records: the sender
 * hands those over as they are. */
#include "delivery.h"

#include "clock.h"
#include "err.h"
#include "log.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

/* With the spool the backlog waits on disk, not in memory: while Kafka
 * acknowledges nothing (no delivery for SENDER_STALL_MS with at least
 * SENDER_STALL_RECORDS outstanding) the sender hands the producers no more.
 * Without this a 60 s outage at 2,000 msg/s filled the producer queue with
 * 100,000 records and RSS reached 42-48 MiB (docs/ARCHITECTURE.md, "Kafka
 * away"). While Kafka takes records, deliveries come every few ms and the
 * hold never starts, so throughput is unchanged. */
#define SENDER_STALL_MS 1000
#define SENDER_STALL_RECORDS 2000
#define SENDER_CHECK_EVERY 64 /* records between two looks at the counters */

typedef struct {
    uint64_t delivered;    /* kafka_sink's count at the last look */
    long long progress_ms; /* when it last grew */
    unsigned since_check;
    bool holding;
} sender_pace_t;

typedef struct {
    spool_t *spool;
    kafka_sink_t *sink;
    delivery_map_t map;
    void *opaque;
    pthread_t sender;
    bool sender_running;
    atomic_bool sender_stop;
} spooled_t;

/* A record settled: acknowledge its ticket; its receive time comes back
 * from the spool. */
static int64_t spooled_acked(void *impl, const record_ack_t *ack)
{
    spooled_t *d = impl;
    return spool_ack(d->spool, ack->ticket);
}

static int spooled_open(const delivery_conf_t *conf, void **impl, char *errstr, size_t errstr_size)
{
    spooled_t *d = calloc(1, sizeof(*d));
    if (!d) {
        snprintf(errstr, errstr_size, "out of memory");
        return MKB_ERR_NOMEM;
    }
    int rc = spool_open(conf->spool, &d->spool, errstr, errstr_size);
    if (rc != MKB_OK) {
        free(d);
        return rc;
    }
    d->sink = conf->sink;
    d->map = conf->map;
    d->opaque = conf->opaque;
    *impl = d;
    return MKB_OK;
}

/* Written by the commit, once per message. */
static int spooled_add(void *impl, const record_t *rec)
{
    spooled_t *d = impl;
    return spool_append(d->spool, rec);
}

static int spooled_add_message(void *impl, const mqtt_msg_t *m)
{
    spooled_t *d = impl;
    return spool_append_msg(d->spool, m);
}

static int spooled_commit(void *impl, char *errstr, size_t errstr_size)
{
    spooled_t *d = impl;
    return spool_commit(d->spool, errstr, errstr_size);
}

static void spooled_discard(void *impl)
{
    spooled_t *d = impl;
    spool_discard(d->spool);
}

/* True while the sender should hold records back (see SENDER_STALL_MS). */
static bool sender_stalled(spooled_t *d, sender_pace_t *p)
{
    if (!p->holding && ++p->since_check < SENDER_CHECK_EVERY)
        return false;
    p->since_check = 0;
    kafka_sink_stats_t ks;
    kafka_sink_stats(d->sink, &ks);
    long long now = clock_mono_ms();
    if (ks.delivered != p->delivered || !p->progress_ms) {
        p->delivered = ks.delivered;
        p->progress_ms = now;
    }
    bool stalled =
        ks.outstanding >= SENDER_STALL_RECORDS && now - p->progress_ms >= SENDER_STALL_MS;
    if (stalled != p->holding) {
        if (stalled)
            log_info("bridge",
                     "Kafka has acknowledged nothing for %lld ms with %llu record(s) "
                     "outstanding: the backlog waits in the spool",
                     now - p->progress_ms, (unsigned long long)ks.outstanding);
        else
            log_info("bridge", "Kafka acknowledges records again: sending the spool's backlog");
        p->holding = stalled;
    }
    return stalled;
}

/* The entry in hand: its ticket, id and how many records it made. */
typedef struct {
    spooled_t *d;
    uint64_t ticket;
    const char *id;
    unsigned n;
} entry_ctx_t;

/* A record of the entry in hand to the producers, under the entry's
 * ticket; the Nth record (from 0) of a message gets the id "<entry id>"
 * (N = 0) or "<entry id>-N", the same when the message is mapped again
 * after a restart. */
static int sender_emit(void *ctx, const record_t *rec)
{
    entry_ctx_t *e = ctx;
    char id[SPOOL_ID_LEN + 16];
    record_t r = *rec;
    if (e->n)
        snprintf(id, sizeof(id), "%s-%u", e->id, e->n);
    r.id = e->n ? id : e->id;
    e->n++;
    return kafka_sink_produce(e->d->sink, &r, e->ticket);
}

/* Hands the entry in hand over: a record as it is, a message mapped. False
 * at shutdown (the entry stays in hand: it is sent again at the next
 * start). */
static bool sender_send(spooled_t *d, const spool_entry_t *en, uint64_t ticket)
{
    entry_ctx_t ctx = {d, ticket, en->id, 0};
    int rc = en->is_message ? d->map(d->opaque, &en->msg, sender_emit, &ctx)
                            : sender_emit(&ctx, &en->rec);
    if (rc == MKB_ERR_STOPPED)
        return false;
    spool_pass(d->spool, ticket, ctx.n); /* mapping errors are the map's to log */
    return true;
}

/* The sender thread: journal -> producers, in journal order. */
static void *sender_main(void *arg)
{
    spooled_t *d = arg;
    sender_pace_t pace = {0};
    while (!atomic_load(&d->sender_stop)) {
        if (sender_stalled(d, &pace)) {
            struct timespec ts = {0, 10000000}; /* 10 ms */
            nanosleep(&ts, NULL);
            continue;
        }
        spool_entry_t en;
        uint64_t ticket;
        int rc = spool_peek(d->spool, &en, &ticket);
        if (rc == MKB_ERR_RETRY) {
            spool_wait(d->spool, 100);
            continue;
        }
        if (rc != MKB_OK) {
            log_error("bridge", "reading the spool: %s", mkb_strerror(rc));
            spool_wait(d->spool, 1000);
            continue;
        }
        if (!sender_send(d, &en, ticket))
            break; /* left unacknowledged: sent again at the next start */
    }
    return NULL;
}

static int spooled_start(void *impl)
{
    spooled_t *d = impl;
    if (pthread_create(&d->sender, NULL, sender_main, d) != 0) {
        log_error("bridge", "cannot start the sender thread");
        return MKB_ERR_NOMEM;
    }
    d->sender_running = true;
    return MKB_OK;
}

static void spooled_tick(void *impl)
{
    spooled_t *d = impl;
    spool_tick(d->spool);
}

static bool spooled_caught_up(void *impl)
{
    spooled_t *d = impl;
    return spool_caught_up(d->spool);
}

static void spooled_stop(void *impl)
{
    spooled_t *d = impl;
    if (!d->sender_running)
        return;
    atomic_store(&d->sender_stop, true);
    pthread_join(d->sender, NULL);
    d->sender_running = false;
}

static void spooled_stats(void *impl, delivery_stats_t *out)
{
    spooled_t *d = impl;
    out->spooled = true;
    spool_stats(d->spool, &out->sp);
    out->full = spool_full(d->spool);
    uint64_t in = out->sp.appended + out->sp.replay, done = out->sp.acked + out->sp.dropped;
    out->unacked = in > done ? in - done : 0; /* dropped: never acked */
}

static void spooled_close(void *impl)
{
    spooled_t *d = impl;
    spool_close(d->spool);
    free(d);
}

/* clang-format off */
const delivery_ops_t delivery_spooled = {
    .name = "spooled", .open = spooled_open, .add = spooled_add,
    .add_message = spooled_add_message, .commit = spooled_commit,
    .acked = spooled_acked, .discard = spooled_discard, .start = spooled_start,
    .tick = spooled_tick, .caught_up = spooled_caught_up, .stop = spooled_stop,
    .stats = spooled_stats, .close = spooled_close,
};
/* clang-format on */
