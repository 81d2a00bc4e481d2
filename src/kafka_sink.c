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

/* Topic handles cached by name (open addressing). Templated topics could
 * name many; past MAX_TOPICS librdkafka looks the name up itself. */
#define MAX_TOPICS 4096
#define TOPIC_SLOTS (2 * MAX_TOPICS)

typedef struct {
    uint32_t hash;
    rd_kafka_topic_t *rkt;
} topic_slot_t;

struct kafka_sink {
    rd_kafka_t *rk;
    long long queue_wait_ms;
    atomic_bool closed;
    atomic_uint_fast64_t produced, delivered, failed, queue_waits;
    topic_slot_t *topics;
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
    if (!(s->topics = calloc(TOPIC_SLOTS, sizeof(*s->topics)))) {
        free(s);
        snprintf(errstr, errstr_size, "out of memory");
        return rc;
    }
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
    free(s->topics);
    free(s);
    return rc;
}

void kafka_sink_destroy(kafka_sink_t *s)
{
    if (!s)
        return;
    for (size_t i = 0; i < TOPIC_SLOTS; i++)
        if (s->topics[i].rkt)
            rd_kafka_topic_destroy(s->topics[i].rkt);
    free(s->topics);
    if (s->rk)
        rd_kafka_destroy(s->rk);
    free(s);
}

static uint32_t fnv1a(const char *str)
{
    uint32_t h = 2166136261u;
    for (; *str; str++) {
        h ^= (unsigned char)*str;
        h *= 16777619u;
    }
    return h;
}

/* The cached handle for NAME, created on first use; NULL past MAX_TOPICS. */
static rd_kafka_topic_t *topic_handle(kafka_sink_t *s, const char *name)
{
    uint32_t h = fnv1a(name);
    for (size_t i = h & (TOPIC_SLOTS - 1);; i = (i + 1) & (TOPIC_SLOTS - 1)) {
        topic_slot_t *slot = &s->topics[i];
        if (!slot->rkt) {
            if (s->ntopics == MAX_TOPICS)
                return NULL;
            if (!(slot->rkt = rd_kafka_topic_new(s->rk, name, NULL)))
                return NULL;
            slot->hash = h;
            s->ntopics++;
            return slot->rkt;
        }
        if (slot->hash == h && strcmp(rd_kafka_topic_name(slot->rkt), name) == 0)
            return slot->rkt;
    }
}

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int kafka_sink_produce(kafka_sink_t *s, const mapper_record_t *rec)
{
    long long warn_at = 0;
    rd_kafka_topic_t *rkt = topic_handle(s, rec->topic);
    for (;;) {
        rd_kafka_headers_t *hdrs = NULL;
        if (rec->nheaders) {
            hdrs = rd_kafka_headers_new(rec->nheaders);
            for (size_t i = 0; i < rec->nheaders; i++)
                rd_kafka_header_add(hdrs, rec->headers[i].name, -1, rec->headers[i].value,
                                    (ssize_t)rec->headers[i].value_len);
        }
        /* RD_KAFKA_MSG_F_COPY: the MQTT buffers are freed when the callback
         * returns, so librdkafka keeps its own copy. */
        rd_kafka_resp_err_t err =
            rkt ? rd_kafka_producev(s->rk, RD_KAFKA_V_RKT(rkt),
                                    RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                                    RD_KAFKA_V_KEY(rec->key, rec->key_len),
                                    RD_KAFKA_V_VALUE((void *)rec->value, rec->value_len),
                                    RD_KAFKA_V_HEADERS(hdrs),
                                    RD_KAFKA_V_TIMESTAMP(rec->timestamp_ms), RD_KAFKA_V_END)
                : rd_kafka_producev(s->rk, RD_KAFKA_V_TOPIC(rec->topic),
                                    RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                                    RD_KAFKA_V_KEY(rec->key, rec->key_len),
                                    RD_KAFKA_V_VALUE((void *)rec->value, rec->value_len),
                                    RD_KAFKA_V_HEADERS(hdrs),
                                    RD_KAFKA_V_TIMESTAMP(rec->timestamp_ms), RD_KAFKA_V_END);
        if (err == RD_KAFKA_RESP_ERR_NO_ERROR) {
            atomic_fetch_add(&s->produced, 1);
            return MKB_OK; /* the headers belong to librdkafka now */
        }
        rd_kafka_headers_destroy(hdrs);
        if (err != RD_KAFKA_RESP_ERR__QUEUE_FULL) {
            log_error("kafka", "cannot produce to %s: %s", rec->topic, rd_kafka_err2str(err));
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
