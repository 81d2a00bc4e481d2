// SPDX-FileCopyrightText: 2026 The mqtt-kafka-bridge authors
// SPDX-License-Identifier: Apache-2.0
/* The Kafka side of the uplink: one librdkafka producer per producer
 * profile in use (hot, cold, ...). Delivery reports are served only by
 * kafka_sink_poll()/kafka_sink_flush() (the main thread). A record whose
 * delivery fails with a transient error (kafka_errors.h) waits in the sink
 * and is produced again by its waiting thread after a backoff; one whose
 * delivery fails for good is sent to the dead-letter topic with the reason;
 * only if that fails too is it counted as lost.
 * kafka_sink_produce() is called from one thread (the MQTT receive thread). */
#ifndef MKB_KAFKA_SINK_H
#define MKB_KAFKA_SINK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "kafka_errors.h"
#include "record.h"

typedef struct kafka_sink kafka_sink_t;

typedef struct {
    uint64_t produced;       /* accepted into a producer queue */
    uint64_t delivered;      /* acknowledged by Kafka (dead letters included) */
    uint64_t failed;         /* delivery failed for good, then dead-lettered */
    uint64_t lost;           /* delivery failed and the dead letter failed too */
    uint64_t queue_waits;    /* times a produce found the queue full */
    uint64_t outstanding;    /* in the producers' queues or waiting to be produced again */
    uint64_t waiting;        /* held on a transient error (or behind one of its topic) */
    uint64_t waiting_by[KAFKA_WAIT_REASONS]; /* the same by reason */
    uint64_t bytes;          /* value bytes accepted into a producer queue */
    uint64_t errors;         /* librdkafka error callbacks */
    uint64_t brokers_up;     /* brokers in state UP (librdkafka statistics; the hot producer) */
    uint64_t broker_errors;  /* send/receive errors and request timeouts (same statistics) */
} kafka_sink_stats_t;

/* Creates one producer for each of the NPROFILES names (profiles of
 * cfg->kafka_profiles or built-ins; "hot" is always created: dead letters
 * use it). A bad property fails here with librdkafka's own message. */
int kafka_sink_new(const config_t *cfg, const char *const *profiles, size_t nprofiles,
                   kafka_sink_t **out, char *errstr, size_t errstr_size);

/* Frees the producers without flushing (call kafka_sink_flush first). */
void kafka_sink_destroy(kafka_sink_t *s);

/* True when the sink has a producer for PROFILE. */
bool kafka_sink_has_profile(const kafka_sink_t *s, const char *profile);

/* Called (on the thread serving delivery reports, or the producing thread
 * when a record is refused) once a record produced with a ticket or a
 * receive time is settled: delivered, dead-lettered, or counted lost. ACK is
 * borrowed for the call. Not called for records purged after
 * kafka_sink_close (they stay in the spool). */
typedef void (*kafka_sink_ack_t)(void *opaque, const record_ack_t *ack);
void kafka_sink_set_ack(kafka_sink_t *s, kafka_sink_ack_t ack, void *opaque);

/* Copies the record into its profile's producer queue (or, while records
 * of its topic wait on a transient error or when refused with one, into the
 * sink's waiting list), with header mkb.id when REC->id is set. When the
 * record is settled the ack callback gets TICKET, or (TICKET 0) REC's
 * receive time. When the queue or the waiting list is full it
 * waits for room (reports are served by the main thread meanwhile),
 * logging a warning every queue_wait_ms, and never drops the record. Returns
 * MKB_OK, MKB_ERR_STOPPED if kafka_sink_close() was called while waiting,
 * or MKB_ERR_KAFKA on a permanent error (not enqueued). */
int kafka_sink_produce(kafka_sink_t *s, const record_t *rec, uint64_t ticket);

/* Serves delivery reports and callbacks for up to TIMEOUT_MS. */
void kafka_sink_poll(kafka_sink_t *s, int timeout_ms);

/* Waits up to TIMEOUT_MS for every queued or waiting record to be
 * delivered or fail for good. Returns the number still outstanding. */
size_t kafka_sink_flush(kafka_sink_t *s, int timeout_ms);

/* Makes producers blocked on a full queue give up with MKB_ERR_STOPPED, and
 * stops producing waiting records again (with the spool they stay there). */
void kafka_sink_close(kafka_sink_t *s);

/* True once librdkafka raised a fatal error (a producer is unusable). */
int kafka_sink_fatal(kafka_sink_t *s, char *errstr, size_t errstr_size);

void kafka_sink_stats(const kafka_sink_t *s, kafka_sink_stats_t *out);

/* Since when (monotonic ms) a kafka_sink_produce call waits for room in a
 * full producer queue; 0 when none waits. Any thread. */
long long kafka_sink_queue_full_since(const kafka_sink_t *s);

/* Writes "ERR_NAME=count ..." for the failures so far, by librdkafka error;
 * returns how many distinct reasons there were. */
size_t kafka_sink_failure_reasons(kafka_sink_t *s, char *out, size_t size);

#endif
