// SPDX-FileCopyrightText: 2026 The mqtt-kafka-bridge authors
// SPDX-License-Identifier: Apache-2.0
/* The delivery stage: takes each MQTT message (or its records) on the
 * receive thread, gets its records to the Kafka sink and reports each
 * settled record back. Two implementations behind one struct of callbacks:
 *   direct  (delivery_direct.c)  the bridge maps the message on the receive
 *           thread and the records go straight into the producers' queues;
 *           custody is librdkafka's queue.
 *   spooled (delivery_spool.c)   the message as received is journaled
 *           (write(2)) before the MQTT callback returns; a sender thread
 *           reads it back, maps it (the conf's map callback: the bridge's
 *           mapping) and hands its records to the producers, and delivery
 *           reports acknowledge them.
 * The bridge keeps the loop and the custody decisions (what to do while a
 * commit cannot be made); it asks the stage, never which stage it is.
 *
 * Threads: delivery_add/commit/discard on the MQTT receive thread;
 * delivery_start/tick/caught_up/stop on the main thread; delivery_stats on
 * any thread. */
#ifndef MKB_DELIVERY_H
#define MKB_DELIVERY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kafka_sink.h"
#include "msg.h"
#include "record.h"
#include "spool.h"

typedef struct delivery delivery_t;

/* A record was settled (delivered, dead-lettered or counted lost); RECV_MS
 * is when its message was received (0: unknown). On the thread serving
 * delivery reports, or the producing thread when a record is refused. */
typedef void (*delivery_settled_t)(void *opaque, int64_t recv_ms);

/* One record of a message being mapped; a non-zero return stops the
 * mapping (MKB_ERR_STOPPED: shutdown interrupted a wait for queue room). */
typedef int (*delivery_emit_t)(void *ctx, const record_t *rec);

/* Maps the message M into records, each passed to EMIT(CTX, rec); returns
 * EMIT's first non-zero result, or the mapping's (logged by it). The
 * spooled stage's sender thread calls it for each journaled message. */
typedef int (*delivery_map_t)(void *opaque, const mqtt_msg_t *m, delivery_emit_t emit, void *ctx);

typedef struct {
    kafka_sink_t *sink;        /* borrowed; must outlive the stage's sender */
    delivery_map_t map;        /* spooled: the sender maps with it (OPAQUE) */
    const spool_opts_t *spool; /* NULL: direct; else spooled (copied by spool_open) */
    delivery_settled_t settled;
    void *opaque;
} delivery_conf_t;

typedef struct {
    bool spooled; /* sp, full and unacked are meaningful */
    spool_stats_t sp;
    bool full;                  /* the spool holds spool.max_bytes */
    uint64_t unacked;           /* journaled and not acknowledged (dropped ones excluded) */
    long long queue_full_since; /* direct: intake waits for producer queue room since
                                   (monotonic ms); 0: it does not */
} delivery_stats_t;

/* One implementation. IMPL is what open made. */
typedef struct {
    const char *name;
    int (*open)(const delivery_conf_t *conf, void **impl, char *errstr, size_t errstr_size);
    int (*add)(void *impl, const record_t *rec);
    int (*add_message)(void *impl, const mqtt_msg_t *m); /* NULL: maps on receipt */
    int (*commit)(void *impl, char *errstr, size_t errstr_size);
    /* A record settled (delivery-report thread): its receive time. */
    int64_t (*acked)(void *impl, const record_ack_t *ack);
    void (*discard)(void *impl);
    int (*start)(void *impl);
    void (*tick)(void *impl);
    bool (*caught_up)(void *impl);
    void (*stop)(void *impl);
    void (*stats)(void *impl, delivery_stats_t *out);
    void (*close)(void *impl);
} delivery_ops_t;

extern const delivery_ops_t delivery_direct;
extern const delivery_ops_t delivery_spooled;

/* Opens the stage CONF asks for (spooled when CONF->spool is set) and sets
 * the sink's ack callback (each settled record to CONF->settled). Errors (the spool's) in ERRSTR.
 */
int delivery_new(const delivery_conf_t *conf, delivery_t **out, char *errstr, size_t errstr_size);

/* Stops (delivery_stop) and frees the stage; with a spool, after the sink
 * is destroyed (no ack may come later). NULL is a no-op. */
void delivery_destroy(delivery_t *d);

/* True when the stage journals messages as received and maps them later
 * (delivery_add_message); false when the caller maps on receipt and adds
 * the records (delivery_add). */
bool delivery_maps_later(const delivery_t *d);

/* MQTT thread: the message as received, made safe by delivery_commit. */
int delivery_add_message(delivery_t *d, const mqtt_msg_t *m);

/* MQTT thread: one record of the message in hand. A non-zero return stops
 * the mapping: MKB_ERR_STOPPED when shutdown interrupted a wait for queue
 * room (the message is not safe). */
int delivery_add(delivery_t *d, const record_t *rec);

/* MQTT thread: makes the message's records safe before the PUBACK (the
 * spool: one write(2)). MKB_OK: safe. MKB_ERR_RETRY: the spool is full
 * (on_full: block); MKB_ERR_IO: the write failed (ERRSTR says why); in both
 * cases the records stay pending: try again. Other errors: give up
 * (delivery_discard). */
int delivery_commit(delivery_t *d, char *errstr, size_t errstr_size);

/* MQTT thread: forgets the records added since the last commit. */
void delivery_discard(delivery_t *d);

/* Main thread: starts the stage's threads (the spool's sender). */
int delivery_start(delivery_t *d);

/* Main thread, every ~10 ms: the spool's ack mark, deletes and syncs;
 * after a drained backlog, gives freed heap back to the kernel. */
void delivery_tick(delivery_t *d);

/* True when everything committed has been handed to the sink. */
bool delivery_caught_up(delivery_t *d);

/* Stops the stage's threads (after kafka_sink_close: a sender waiting for
 * queue room gives up). Records not handed over stay in the spool. */
void delivery_stop(delivery_t *d);

void delivery_stats(const delivery_t *d, delivery_stats_t *out);

#endif
