#include "bridge.h"

#include "err.h"
#include "kafka_sink.h"
#include "log.h"
#include "mapper.h"
#include "mqtt_source.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct bridge {
    const config_t *cfg;
    mapper_t *mapper; /* used by the MQTT receive thread only */
    kafka_sink_t *sink;
    mqtt_source_t *source;
    atomic_uint_fast64_t received, unmatched, records, dead_letters;
};

static int produce_record(void *opaque, const mapper_record_t *rec)
{
    bridge_t *b = opaque;
    if (rec->dead_letter) {
        uint64_t n = atomic_fetch_add(&b->dead_letters, 1) + 1;
        if (n <= 10 || n % 1000 == 0)
            log_warn("bridge", "dead letter from route '%s': %s (%llu so far)",
                     rec->route ? rec->route : "-", rec->reason, (unsigned long long)n);
    }
    atomic_fetch_add(&b->records, 1);
    int rc = kafka_sink_produce(b->sink, rec);
    /* MKB_ERR_KAFKA: a permanent error, logged and counted by the sink. */
    return rc == MKB_ERR_STOPPED ? rc : MKB_OK;
}

/* Runs on Paho's receive thread for every message (the custody point). */
static int on_message(void *opaque, const mqtt_msg_t *m)
{
    bridge_t *b = opaque;
    atomic_fetch_add(&b->received, 1);
    mapper_result_t res;
    int rc = mapper_process(b->mapper, m, produce_record, b, &res);
    if (res.unmatched) {
        uint64_t n = atomic_fetch_add(&b->unmatched, 1) + 1;
        if (n <= 10 || n % 1000 == 0)
            log_warn("bridge", "no route for topic '%.*s'%s (%llu unmatched so far)",
                     (int)m->topic_len, m->topic,
                     b->cfg->kafka_unmatched_topic ? "; sent to kafka.unmatched_topic" : "",
                     (unsigned long long)n);
    }
    if (rc == MKB_ERR_STOPPED)
        return rc; /* not safe: leave it unacknowledged */
    if (rc != MKB_OK)
        log_error("bridge", "message on '%.*s' not mapped: %s", (int)m->topic_len, m->topic,
                  mkb_strerror(rc));
    return MKB_OK;
}

int bridge_new(const config_t *cfg, bridge_t **out, char *errstr, size_t errstr_size)
{
    int rc = MKB_ERR_NOMEM;
    const char **filters = NULL;
    int *qos = NULL;
    char *errors = NULL;
    bridge_t *b = calloc(1, sizeof(*b));
    if (!b)
        goto nomem;
    b->cfg = cfg;
    if ((rc = mapper_new(cfg, &b->mapper, &errors)) != MKB_OK) {
        snprintf(errstr, errstr_size, "%s", errors ? errors : "out of memory");
        free(errors);
        goto destroy;
    }
    if ((rc = kafka_sink_new(cfg, &b->sink, errstr, errstr_size)) != MKB_OK)
        goto destroy;
    size_t nsub = mapper_subscription_count(b->mapper);
    rc = MKB_ERR_NOMEM;
    filters = calloc(nsub ? nsub : 1, sizeof(*filters));
    qos = calloc(nsub ? nsub : 1, sizeof(*qos));
    if (!filters || !qos)
        goto nomem;
    for (size_t i = 0; i < nsub; i++) {
        filters[i] = mapper_subscription_filter(b->mapper, i);
        qos[i] = mapper_subscription_qos(b->mapper, i);
    }
    if ((rc = mqtt_source_new(cfg, filters, qos, nsub, on_message, b, &b->source, errstr,
                              errstr_size)) != MKB_OK)
        goto destroy;
    free(filters);
    free(qos);
    if (cfg->commands_n)
        log_warn("bridge", "%zu command rule(s) checked but not carried yet (Kafka -> MQTT "
                           "commands are not implemented in this version)",
                 cfg->commands_n);
    *out = b;
    return MKB_OK;

nomem:
    snprintf(errstr, errstr_size, "out of memory");
destroy:
    free(filters);
    free(qos);
    bridge_destroy(b);
    return rc;
}

void bridge_destroy(bridge_t *b)
{
    if (!b)
        return;
    mqtt_source_destroy(b->source); /* first: no callback may run after this */
    kafka_sink_destroy(b->sink);
    mapper_destroy(b->mapper);
    free(b);
}

void bridge_stats(const bridge_t *b, bridge_stats_t *out)
{
    kafka_sink_stats_t ks;
    kafka_sink_stats(b->sink, &ks);
    out->received = atomic_load(&b->received);
    out->unmatched = atomic_load(&b->unmatched);
    out->records = atomic_load(&b->records);
    out->dead_letters = atomic_load(&b->dead_letters);
    out->produced = ks.produced;
    out->delivered = ks.delivered;
    out->failed = ks.failed;
}

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void log_stats(const bridge_t *b, const char *when)
{
    bridge_stats_t st;
    bridge_stats(b, &st);
    log_info("bridge",
             "%s: received=%llu unmatched=%llu records=%llu dead_letters=%llu produced=%llu "
             "delivered=%llu failed=%llu",
             when, (unsigned long long)st.received, (unsigned long long)st.unmatched,
             (unsigned long long)st.records, (unsigned long long)st.dead_letters,
             (unsigned long long)st.produced, (unsigned long long)st.delivered,
             (unsigned long long)st.failed);
}

int bridge_run(bridge_t *b, volatile sig_atomic_t *stop)
{
    char err[512];
    int rc = MKB_OK;
    bool was_ready = false;
    long long next_stats = now_ms() + 60000;

    mqtt_source_start(b->source);
    while (!*stop) {
        kafka_sink_poll(b->sink, 100);
        mqtt_source_tick(b->source);
        bool ready = mqtt_source_ready(b->source);
        if (ready && !was_ready)
            log_info("bridge", "ready: forwarding %zu route(s)", mapper_route_count(b->mapper));
        was_ready = ready;
        if (kafka_sink_fatal(b->sink, err, sizeof(err))) {
            log_error("bridge", "stopping: the Kafka producer failed for good: %s", err);
            rc = MKB_ERR_KAFKA;
            break;
        }
        if (now_ms() >= next_stats) {
            log_stats(b, "stats");
            next_stats = now_ms() + 60000;
        }
    }

    /* Shutdown: stop intake first, then drain what was taken. */
    log_info("bridge", "shutting down: disconnecting from MQTT");
    mqtt_source_stop(b->source, 5000);
    long long deadline = now_ms() + 10000;
    while (!mqtt_source_stopped(b->source) && now_ms() < deadline)
        kafka_sink_poll(b->sink, 50); /* a callback may wait for queue room */
    int timeout = (int)b->cfg->kafka_flush_timeout_ms;
    log_info("bridge", "flushing the producer (up to %d ms)", timeout);
    size_t left = kafka_sink_flush(b->sink, timeout);
    kafka_sink_close(b->sink); /* a callback still waiting gives up, unacknowledged */
    kafka_sink_poll(b->sink, 0);
    log_stats(b, "final");

    bridge_stats_t st;
    bridge_stats(b, &st);
    if (left > 0) {
        log_error("bridge", "%zu record(s) not delivered within %d ms; MQTT acknowledged them, "
                            "so they are lost", left, timeout);
        rc = MKB_ERR_TIMEOUT;
    }
    if (st.failed > 0) {
        log_error("bridge", "%llu record(s) failed delivery", (unsigned long long)st.failed);
        if (rc == MKB_OK)
            rc = MKB_ERR_KAFKA;
    }
    return rc;
}
