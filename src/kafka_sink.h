/* The Kafka side of the uplink: one librdkafka producer. Delivery reports
 * are served only by kafka_sink_poll()/kafka_sink_flush() (the main thread).
 * kafka_sink_produce() may be called from any thread (the MQTT callback). */
#ifndef MKB_KAFKA_SINK_H
#define MKB_KAFKA_SINK_H

#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "mapper.h"

typedef struct kafka_sink kafka_sink_t;

typedef struct {
    uint64_t produced;    /* accepted into the producer queue */
    uint64_t delivered;   /* acknowledged by Kafka */
    uint64_t failed;      /* permanently failed delivery reports */
    uint64_t queue_waits; /* times a produce found the queue full */
} kafka_sink_stats_t;

/* Creates the producer from cfg->kafka_*. A bad property fails here with
 * librdkafka's own message in errstr. */
int kafka_sink_new(const config_t *cfg, kafka_sink_t **out, char *errstr, size_t errstr_size);

/* Frees the producer without flushing (call kafka_sink_flush first). */
void kafka_sink_destroy(kafka_sink_t *s);

/* Copies the record (topic, key, value, headers, timestamp) into the
 * producer queue. Topic handles are cached by name. Call from one thread
 * only (the MQTT receive thread). When the queue is full it
 * waits for room (reports are served by the main thread meanwhile), logging
 * a warning every queue_wait_ms, and never drops the message. Returns
 * MKB_OK, MKB_ERR_STOPPED if kafka_sink_close() was called while waiting,
 * or MKB_ERR_KAFKA on a permanent error (the message was not enqueued). */
int kafka_sink_produce(kafka_sink_t *s, const mapper_record_t *rec);

/* Serves delivery reports and callbacks for up to TIMEOUT_MS. */
void kafka_sink_poll(kafka_sink_t *s, int timeout_ms);

/* Waits up to TIMEOUT_MS for every queued message to be delivered or fail.
 * Returns the number of messages still outstanding. */
size_t kafka_sink_flush(kafka_sink_t *s, int timeout_ms);

/* Makes producers blocked on a full queue give up with MKB_ERR_STOPPED. */
void kafka_sink_close(kafka_sink_t *s);

/* True once librdkafka raised a fatal error (the producer is unusable). */
int kafka_sink_fatal(kafka_sink_t *s, char *errstr, size_t errstr_size);

void kafka_sink_stats(const kafka_sink_t *s, kafka_sink_stats_t *out);

#endif
