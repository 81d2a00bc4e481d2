#include "kafka_sink.h"

#include "err.h"
#include "log.h"

#include <librdkafka/rdkafka.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MAX_TOPICS 256

struct kafka_topic {
    rd_kafka_topic_t *rkt;
};

struct kafka_sink {
    rd_kafka_t *rk;
    long long queue_wait_ms;
    atomic_bool closed;
    atomic_uint_fast64_t produced, delivered, failed, queue_waits;
    kafka_topic_t topics[MAX_TOPICS];
    size_t ntopics;
};

static void on_delivery(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
    kafka_sink_t *s = opaque;
    (void)rk;
    if (m->err == RD_KAFKA_RESP_ERR_NO_ERROR) {
        atomic_fetch_add(&s->delivered, 1);
        return;
    }
    uint64_t n = atomic_fetch_add(&s->failed, 1) + 1;
    /* One line per failure for the first ones, then every 1000th. */
    if (n <= 10 || n % 1000 == 0)
        log_error("kafka", "delivery to %s failed: %s (%llu failed so far)",
                  rd_kafka_topic_name(m->rkt), rd_kafka_err2str(m->err), (unsigned long long)n);
}

static void on_log(const rd_kafka_t *rk, int level, const char *fac, const char *buf)
{
    (void)rk;
    /* syslog levels: 0-3 error, 4 warning, 5-6 info, 7 debug */
    log_level_t l = level <= 3 ? LOG_LVL_ERROR
                               : level == 4 ? LOG_LVL_WARN : level <= 6 ? LOG_LVL_INFO
                                                                        : LOG_LVL_DEBUG;
    log_msg(l, "rdkafka", "%s: %s", fac, buf);
}

static void on_error(rd_kafka_t *rk, int err, const char *reason, void *opaque)
{
    (void)opaque;
    if (err == RD_KAFKA_RESP_ERR__FATAL) {
        char buf[512];
        rd_kafka_fatal_error(rk, buf, sizeof(buf));
        log_error("kafka", "fatal producer error: %s", buf);
        return;
    }
    /* Transport errors are retried by librdkafka; say so once per event. */
    log_warn("kafka", "%s: %s (librdkafka retries)", rd_kafka_err2name(err), reason);
}

static int conf_set(rd_kafka_conf_t *conf, const char *k, const char *v, char *errstr,
                    size_t errstr_size)
{
    char err[512];
    if (rd_kafka_conf_set(conf, k, v, err, sizeof(err)) != RD_KAFKA_CONF_OK) {
        snprintf(errstr, errstr_size, "kafka.properties: %s=%s: %s", k, v, err);
        return MKB_ERR_CONFIG;
    }
    return MKB_OK;
}

int kafka_sink_new(const config_t *cfg, kafka_sink_t **out, char *errstr, size_t errstr_size)
{
    int rc = MKB_ERR_NOMEM;
    kafka_sink_t *s = calloc(1, sizeof(*s));
    if (!s) {
        snprintf(errstr, errstr_size, "out of memory");
        return rc;
    }
    s->queue_wait_ms = cfg->kafka_queue_wait_ms;
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    /* Bridge defaults first, so kafka.properties can override them. */
    static const char *const defaults[][2] = {
        {"enable.idempotence", "true"},
        {"acks", "all"},
        {"linger.ms", "5"},
        {"client.id", "mqtt-kafka-bridge"},
    };
    for (size_t i = 0; i < sizeof(defaults) / sizeof(defaults[0]); i++)
        if ((rc = conf_set(conf, defaults[i][0], defaults[i][1], errstr, errstr_size)) != MKB_OK)
            goto destroy_conf;
    if ((rc = conf_set(conf, "bootstrap.servers", cfg->kafka_bootstrap, errstr, errstr_size)) !=
        MKB_OK)
        goto destroy_conf;
    for (size_t i = 0; i < cfg->kafka_properties_n; i++)
        if ((rc = conf_set(conf, cfg->kafka_properties[i].key, cfg->kafka_properties[i].value,
                           errstr, errstr_size)) != MKB_OK)
            goto destroy_conf;
    rd_kafka_conf_set_opaque(conf, s);
    rd_kafka_conf_set_dr_msg_cb(conf, on_delivery);
    rd_kafka_conf_set_log_cb(conf, on_log);
    rd_kafka_conf_set_error_cb(conf, on_error);

    char err[512];
    s->rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof(err));
    if (!s->rk) {
        snprintf(errstr, errstr_size, "kafka: cannot create producer: %s", err);
        rc = MKB_ERR_KAFKA;
        goto destroy_conf;
    }
    /* conf is owned by rk from here on */
    *out = s;
    return MKB_OK;

destroy_conf:
    rd_kafka_conf_destroy(conf);
    free(s);
    return rc;
}

void kafka_sink_destroy(kafka_sink_t *s)
{
    if (!s)
        return;
    for (size_t i = 0; i < s->ntopics; i++)
        rd_kafka_topic_destroy(s->topics[i].rkt);
    if (s->rk)
        rd_kafka_destroy(s->rk);
    free(s);
}

kafka_topic_t *kafka_sink_topic(kafka_sink_t *s, const char *name)
{
    for (size_t i = 0; i < s->ntopics; i++)
        if (strcmp(rd_kafka_topic_name(s->topics[i].rkt), name) == 0)
            return &s->topics[i];
    if (s->ntopics == MAX_TOPICS)
        return NULL;
    rd_kafka_topic_t *rkt = rd_kafka_topic_new(s->rk, name, NULL);
    if (!rkt)
        return NULL;
    s->topics[s->ntopics].rkt = rkt;
    return &s->topics[s->ntopics++];
}

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int kafka_sink_produce(kafka_sink_t *s, kafka_topic_t *topic, const void *key, size_t key_len,
                       const void *value, size_t value_len)
{
    long long warn_at = 0;
    for (;;) {
        /* RD_KAFKA_MSG_F_COPY: the MQTT buffers are freed when the callback
         * returns, so librdkafka keeps its own copy. */
        if (rd_kafka_produce(topic->rkt, RD_KAFKA_PARTITION_UA, RD_KAFKA_MSG_F_COPY,
                             (void *)value, value_len, key, key_len, NULL) == 0) {
            atomic_fetch_add(&s->produced, 1);
            return MKB_OK;
        }
        rd_kafka_resp_err_t err = rd_kafka_last_error();
        if (err != RD_KAFKA_RESP_ERR__QUEUE_FULL) {
            log_error("kafka", "cannot produce to %s: %s", rd_kafka_topic_name(topic->rkt),
                      rd_kafka_err2str(err));
            return MKB_ERR_KAFKA;
        }
        if (atomic_load(&s->closed))
            return MKB_ERR_STOPPED;
        if (warn_at == 0) {
            atomic_fetch_add(&s->queue_waits, 1);
            warn_at = now_ms() + s->queue_wait_ms;
        } else if (now_ms() >= warn_at) {
            log_warn("kafka", "producer queue full for %lld ms (%d messages outstanding); "
                              "still waiting, MQTT intake paused",
                     s->queue_wait_ms, rd_kafka_outq_len(s->rk));
            warn_at = now_ms() + s->queue_wait_ms;
        }
        struct timespec ts = {0, 1000000}; /* 1 ms: the main thread serves reports */
        nanosleep(&ts, NULL);
    }
}

void kafka_sink_poll(kafka_sink_t *s, int timeout_ms) { rd_kafka_poll(s->rk, timeout_ms); }

size_t kafka_sink_flush(kafka_sink_t *s, int timeout_ms)
{
    rd_kafka_flush(s->rk, timeout_ms);
    int n = rd_kafka_outq_len(s->rk);
    return n > 0 ? (size_t)n : 0;
}

void kafka_sink_close(kafka_sink_t *s) { atomic_store(&s->closed, true); }

int kafka_sink_fatal(kafka_sink_t *s, char *errstr, size_t errstr_size)
{
    return rd_kafka_fatal_error(s->rk, errstr, errstr_size) != RD_KAFKA_RESP_ERR_NO_ERROR;
}

void kafka_sink_stats(const kafka_sink_t *s, kafka_sink_stats_t *out)
{
    out->produced = atomic_load(&s->produced);
    out->delivered = atomic_load(&s->delivered);
    out->failed = atomic_load(&s->failed);
    out->queue_waits = atomic_load(&s->queue_waits);
}
