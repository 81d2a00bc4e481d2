#include "bridge.h"

#include "err.h"
#include "kafka_sink.h"
#include "log.h"
#include "mqtt_source.h"
#include "route.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct bridge {
    const config_t *cfg;
    route_table_t *routes;
    kafka_sink_t *sink;
    kafka_topic_t **topics; /* one per route, by route index */
    mqtt_source_t *source;
    atomic_uint_fast64_t received, unrouted;
};

/* Runs on Paho's receive thread for every message (the custody point). */
static int on_message(void *opaque, const mqtt_msg_t *m)
{
    bridge_t *b = opaque;
    atomic_fetch_add(&b->received, 1);
    const route_t *r = route_table_match(b->routes, m->topic, m->topic_len);
    if (!r) {
        uint64_t n = atomic_fetch_add(&b->unrouted, 1) + 1;
        if (n <= 10 || n % 1000 == 0)
            log_warn("bridge", "no route for topic '%.*s' (%llu unrouted so far)",
                     (int)m->topic_len, m->topic, (unsigned long long)n);
        return MKB_OK;
    }
    int rc = kafka_sink_produce(b->sink, b->topics[route_index(r)], m->topic, m->topic_len,
                                m->payload, m->payload_len);
    if (rc == MKB_ERR_STOPPED)
        return rc; /* not safe: leave it unacknowledged */
    /* MKB_ERR_KAFKA: a permanent error, logged and counted by the sink. */
    return MKB_OK;
}

int bridge_new(const config_t *cfg, bridge_t **out, char *errstr, size_t errstr_size)
{
    int rc = MKB_ERR_NOMEM;
    const char **filters = NULL;
    int *qos = NULL;
    bridge_t *b = calloc(1, sizeof(*b));
    if (!b)
        goto nomem;
    b->cfg = cfg;
    if ((rc = route_table_new(cfg->routes, cfg->routes_n, &b->routes, errstr, errstr_size)) !=
        MKB_OK)
        goto destroy;
    if ((rc = kafka_sink_new(cfg, &b->sink, errstr, errstr_size)) != MKB_OK)
        goto destroy;

    size_t n = route_table_count(b->routes);
    rc = MKB_ERR_NOMEM;
    b->topics = calloc(n, sizeof(*b->topics));
    filters = calloc(n, sizeof(*filters));
    qos = calloc(n, sizeof(*qos));
    if (!b->topics || !filters || !qos)
        goto nomem;
    size_t nsub = 0;
    for (size_t i = 0; i < n; i++) {
        const route_t *r = route_table_get(b->routes, i);
        if (!(b->topics[i] = kafka_sink_topic(b->sink, route_kafka_topic(r)))) {
            rc = MKB_ERR_KAFKA;
            snprintf(errstr, errstr_size, "kafka: cannot create topic handle for '%s'",
                     route_kafka_topic(r));
            goto destroy;
        }
        /* One subscription per distinct filter, at the highest QoS asked. */
        size_t j;
        for (j = 0; j < nsub && strcmp(filters[j], route_filter(r)) != 0; j++)
            ;
        if (j == nsub) {
            filters[nsub] = route_filter(r);
            qos[nsub++] = route_qos(r);
        } else if (route_qos(r) > qos[j]) {
            qos[j] = route_qos(r);
        }
    }
    if ((rc = mqtt_source_new(cfg, filters, qos, nsub, on_message, b, &b->source, errstr,
                              errstr_size)) != MKB_OK)
        goto destroy;
    free(filters);
    free(qos);
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
    free(b->topics);
    kafka_sink_destroy(b->sink);
    route_table_destroy(b->routes);
    free(b);
}

void bridge_stats(const bridge_t *b, bridge_stats_t *out)
{
    kafka_sink_stats_t ks;
    kafka_sink_stats(b->sink, &ks);
    out->received = atomic_load(&b->received);
    out->unrouted = atomic_load(&b->unrouted);
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
    log_info("bridge", "%s: received=%llu unrouted=%llu produced=%llu delivered=%llu failed=%llu",
             when, (unsigned long long)st.received, (unsigned long long)st.unrouted,
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
            log_info("bridge", "ready: forwarding %zu route(s)", route_table_count(b->routes));
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
