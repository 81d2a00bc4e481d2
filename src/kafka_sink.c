#include "kafka_sink.h"

#include "clock.h"
#include "err.h"
#include "log.h"

#include <jansson.h>
#include <librdkafka/rdkafka.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Topic handles cached by name (open addressing). Templated topics could
 * name many; past MAX_TOPICS librdkafka looks the name up itself. */
#define MAX_TOPICS 4096
#define TOPIC_SLOTS ((size_t)2 * MAX_TOPICS)
#define MAX_PROFILES 16

/* msg_opaque: (ticket << 1) | DLQ_OF_FAILED. The ticket (0: none) is the
 * spool's, acknowledged once the record is settled; DLQ_OF_FAILED marks a
 * dead letter made from a failed delivery (not re-dead-lettered). */
#define DLQ_OF_FAILED 1u
#define OPAQUE(ticket, flag) ((void *)(uintptr_t)(((uintptr_t)(ticket) << 1) | (flag)))

typedef struct {
    uint32_t hash;
    rd_kafka_topic_t *rkt;
} topic_slot_t;

typedef struct {
    char *name;
    rd_kafka_t *rk;
    topic_slot_t *topics;
    size_t ntopics;
} producer_t;

struct kafka_sink {
    producer_t producers[MAX_PROFILES];
    size_t nproducers;
    producer_t *hot; /* dead letters */
    char *dlq_topic;
    long long queue_wait_ms;
    atomic_bool closed;
    kafka_sink_ack_t ack;
    void *ack_opaque;
    atomic_uint_fast64_t produced, delivered, failed, lost, queue_waits, bytes, errors, brokers_up,
        broker_errors;
    atomic_llong full_since_ms; /* a produce waits for queue room since (monotonic ms); 0: none */
    /* Failures by librdkafka error code; rare, so a lock is fine. */
    pthread_mutex_t reasons_lock;
    struct {
        rd_kafka_resp_err_t err;
        uint64_t n;
    } reasons[32];
    size_t nreasons;
};

static void count_reason(kafka_sink_t *s, rd_kafka_resp_err_t err)
{
    pthread_mutex_lock(&s->reasons_lock);
    size_t i;
    for (i = 0; i < s->nreasons && s->reasons[i].err != err; i++)
        ;
    if (i == s->nreasons && i < sizeof(s->reasons) / sizeof(s->reasons[0]))
        s->reasons[s->nreasons++].err = err;
    if (i < s->nreasons)
        s->reasons[i].n++;
    pthread_mutex_unlock(&s->reasons_lock);
}

size_t kafka_sink_failure_reasons(kafka_sink_t *s, char *out, size_t size)
{
    size_t used = 0;
    out[0] = '\0';
    pthread_mutex_lock(&s->reasons_lock);
    for (size_t i = 0; i < s->nreasons && used < size; i++) {
        int n = snprintf(out + used, size - used, "%s%s=%llu", i ? " " : "",
                         rd_kafka_err2name(s->reasons[i].err),
                         (unsigned long long)s->reasons[i].n);
        if (n > 0)
            used += (size_t)n;
    }
    size_t count = s->nreasons;
    pthread_mutex_unlock(&s->reasons_lock);
    return count;
}

/* Sends a record whose delivery failed to the dead-letter topic. Runs in a
 * delivery report (main thread), so it must not block: a full queue here
 * counts the record as lost. */
static void settle(kafka_sink_t *s, uint64_t ticket)
{
    if (ticket && s->ack)
        s->ack(s->ack_opaque, ticket);
}

static bool too_large(rd_kafka_resp_err_t err)
{
    return err == RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE ||
           err == RD_KAFKA_RESP_ERR_RECORD_LIST_TOO_LARGE;
}

/* Adds mkb.value.bytes = LEN unless the mapper did (its size is the original). */
static void add_value_bytes(rd_kafka_headers_t *h, size_t len)
{
    const void *v;
    size_t vl;
    char n[32];
    if (rd_kafka_header_get_last(h, "mkb.value.bytes", &v, &vl) == RD_KAFKA_RESP_ERR_NO_ERROR)
        return;
    snprintf(n, sizeof(n), "%zu", len);
    rd_kafka_header_add(h, "mkb.value.bytes", -1, n, -1);
}

/* Queues a dead letter; librdkafka takes H on success. When the producer
 * refuses it for its size, queues it again without the value, header
 * mkb.value.bytes giving the size: the message is kept, its bytes cannot be. */
static rd_kafka_resp_err_t queue_dead_letter(kafka_sink_t *s, const void *key, size_t key_len,
                                             const void *value, size_t len,
                                             rd_kafka_headers_t *h, uint64_t ticket)
{
    for (;;) {
        rd_kafka_resp_err_t err = rd_kafka_producev(
            s->hot->rk, RD_KAFKA_V_TOPIC(s->dlq_topic), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
            RD_KAFKA_V_KEY(key, key_len), RD_KAFKA_V_VALUE((void *)value, len),
            RD_KAFKA_V_HEADERS(h), RD_KAFKA_V_OPAQUE(OPAQUE(ticket, DLQ_OF_FAILED)),
            RD_KAFKA_V_END);
        if (!too_large(err) || len == 0)
            return err;
        add_value_bytes(h, len);
        value = NULL;
        len = 0;
    }
}

static void dead_letter_failed(kafka_sink_t *s, const rd_kafka_message_t *m, uint64_t ticket)
{
    char reason[300];
    snprintf(reason, sizeof(reason), "delivery to %s failed: %s (%s)", rd_kafka_topic_name(m->rkt),
             rd_kafka_err2str(m->err), rd_kafka_err2name(m->err));
    rd_kafka_headers_t *h = NULL, *orig = NULL;
    if (rd_kafka_message_headers(m, &orig) == RD_KAFKA_RESP_ERR_NO_ERROR)
        h = rd_kafka_headers_copy(orig);
    else
        h = rd_kafka_headers_new(2);
    rd_kafka_header_remove(h, "mkb.reason");
    rd_kafka_header_add(h, "mkb.reason", -1, reason, -1);
    rd_kafka_header_add(h, "mkb.kafka.topic", -1, rd_kafka_topic_name(m->rkt), -1);
    rd_kafka_resp_err_t err = queue_dead_letter(s, m->key, m->key_len, m->payload, m->len, h,
                                                ticket);
    if (err) {
        rd_kafka_headers_destroy(h);
        uint64_t n = atomic_fetch_add(&s->lost, 1) + 1;
        log_error("kafka", "record lost: %s, and its dead letter could not be queued: %s "
                           "(%llu lost so far)",
                  reason, rd_kafka_err2str(err), (unsigned long long)n);
        settle(s, ticket);
        return;
    }
    atomic_fetch_add(&s->produced, 1);
}

static void on_delivery(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
    kafka_sink_t *s = opaque;
    (void)rk;
    uint64_t ticket = (uint64_t)((uintptr_t)m->_private >> 1);
    if (m->err == RD_KAFKA_RESP_ERR_NO_ERROR) {
        atomic_fetch_add(&s->delivered, 1);
        settle(s, ticket);
        return;
    }
    /* Purged at shutdown: a spooled record stays in the spool for the next start. */
    if (ticket && atomic_load(&s->closed) &&
        (m->err == RD_KAFKA_RESP_ERR__PURGE_QUEUE || m->err == RD_KAFKA_RESP_ERR__PURGE_INFLIGHT ||
         m->err == RD_KAFKA_RESP_ERR__DESTROY))
        return;
    if (((uintptr_t)m->_private & DLQ_OF_FAILED) && too_large(m->err) && m->len > 0) {
        /* The dead-letter topic refused it for its size: once more without
         * the value. */
        rd_kafka_headers_t *h = NULL, *orig = NULL;
        if (rd_kafka_message_headers(m, &orig) == RD_KAFKA_RESP_ERR_NO_ERROR)
            h = rd_kafka_headers_copy(orig);
        else
            h = rd_kafka_headers_new(1);
        add_value_bytes(h, m->len);
        rd_kafka_resp_err_t err = queue_dead_letter(s, m->key, m->key_len, NULL, 0, h, ticket);
        if (err == RD_KAFKA_RESP_ERR_NO_ERROR)
            return;
        rd_kafka_headers_destroy(h);
    }
    if ((uintptr_t)m->_private & DLQ_OF_FAILED) {
        uint64_t n = atomic_fetch_add(&s->lost, 1) + 1;
        log_error("kafka", "record lost: its dead letter to %s failed too: %s (%llu lost so far)",
                  rd_kafka_topic_name(m->rkt), rd_kafka_err2str(m->err), (unsigned long long)n);
        settle(s, ticket);
        return;
    }
    count_reason(s, m->err);
    uint64_t n = atomic_fetch_add(&s->failed, 1) + 1;
    /* One line per failure for the first ones, then every 1000th. */
    if (n <= 10 || n % 1000 == 0)
        log_error("kafka", "delivery to %s failed: %s; sending it to %s (%llu so far)",
                  rd_kafka_topic_name(m->rkt), rd_kafka_err2str(m->err), s->dlq_topic,
                  (unsigned long long)n);
    dead_letter_failed(s, m, ticket);
}

/* A broker connection that failed authentication or its TLS handshake: the
 * same event also comes to the error callback, which reports it with a hint
 * and rate-limited (kafka_report_error), so the FAIL line is debug only. */
static bool auth_failure_line(const char *fac, const char *buf)
{
    return strcmp(fac, "FAIL") == 0 &&
           (strstr(buf, "SASL authentication error") || strstr(buf, "SSL handshake failed") ||
            strstr(buf, "SASL SCRAM") || strstr(buf, "SASL PLAIN"));
}

void kafka_log_cb(const rd_kafka_t *rk, int level, const char *fac, const char *buf)
{
    /* syslog levels: 0-3 error, 4 warning, 5-6 info, 7 debug */
    log_level_t l = level <= 3 ? LOG_LVL_ERROR
                               : level == 4 ? LOG_LVL_WARN : level <= 6 ? LOG_LVL_INFO
                                                                        : LOG_LVL_DEBUG;
    if (l < LOG_LVL_DEBUG && auth_failure_line(fac, buf))
        l = LOG_LVL_DEBUG;
    log_msg(l, "rdkafka", "[%s] %s: %s", rd_kafka_name(rk), fac, buf);
}

/* Process-wide: every producer and the command consumers share one limiter
 * per kind, so N clients failing the same way still make one line a minute. */
static log_limit_t auth_limit = LOG_LIMIT_INIT, tls_limit = LOG_LIMIT_INIT;
#define AUTH_LOG_INTERVAL_MS 60000

/* True when this failure is to be logged now (at most once a minute per
 * kind); AGAIN then says how many were not since. */
static bool report_now(log_limit_t *lim, const char *kind, char *again, size_t size)
{
    unsigned long more = 0;
    if (!log_limit(lim, kind, AUTH_LOG_INTERVAL_MS, &more))
        return false;
    if (more)
        snprintf(again, size, " (%lu more failed attempt(s) in the last minute)", more);
    return true;
}

void kafka_report_error(rd_kafka_t *rk, int err, const char *reason)
{
    char again[96] = "";
    if (err == RD_KAFKA_RESP_ERR__AUTHENTICATION) {
        if (!report_now(&auth_limit, "auth", again, sizeof(again)))
            return;
        log_error("kafka",
                  "[%s] authentication failed: %s; check kafka.properties security.protocol, "
                  "sasl.mechanism, sasl.username and sasl.password; retrying with backoff "
                  "(reconnect.backoff.max.ms)%s",
                  rd_kafka_name(rk), reason, again);
        return;
    }
    if (err == RD_KAFKA_RESP_ERR__SSL) {
        if (!report_now(&tls_limit, "tls", again, sizeof(again)))
            return;
        log_error("kafka",
                  "[%s] TLS with the broker failed: %s; check kafka.properties ssl.ca.location "
                  "(the CA that signed the broker's certificate), ssl.certificate.location and "
                  "ssl.key.location; retrying with backoff%s",
                  rd_kafka_name(rk), reason, again);
        return;
    }
    /* Transport errors are retried by librdkafka; say so once per event. */
    log_warn("kafka", "%s: %s (librdkafka retries)", rd_kafka_err2name(err), reason);
}

void kafka_error_cb(rd_kafka_t *rk, int err, const char *reason, void *opaque)
{
    (void)opaque;
    if (err == RD_KAFKA_RESP_ERR__FATAL) {
        char buf[512];
        rd_kafka_fatal_error(rk, buf, sizeof(buf));
        log_error("kafka", "[%s] fatal error: %s", rd_kafka_name(rk), buf);
        return;
    }
    kafka_report_error(rk, err, reason);
}

/* librdkafka statistics (every 2 s): how many brokers are UP. */
// cppcheck-suppress constParameter ; librdkafka's stats_cb signature
static int on_stats(rd_kafka_t *rk, char *json, size_t len, void *opaque)
{
    kafka_sink_t *s = opaque;
    if (s->hot && rk != s->hot->rk)
        return 0;
    json_error_t e;
    json_t *root = json_loadb(json, len, 0, &e);
    json_t *brokers = root ? json_object_get(root, "brokers") : NULL;
    const char *name;
    json_t *b;
    uint64_t up = 0, errs = 0;
    json_object_foreach(brokers, name, b)
    {
        json_t *state = json_object_get(b, "state"), *id = json_object_get(b, "nodeid");
        up += json_is_string(state) && strcmp(json_string_value(state), "UP") == 0 &&
              json_integer_value(id) >= 0;
        /* cumulative per broker connection: send and receive errors, timeouts */
        errs += (uint64_t)json_integer_value(json_object_get(b, "txerrs")) +
                (uint64_t)json_integer_value(json_object_get(b, "rxerrs")) +
                (uint64_t)json_integer_value(json_object_get(b, "req_timeouts"));
    }
    json_decref(root);
    atomic_store(&s->brokers_up, up);
    atomic_store(&s->broker_errors, errs);
    return 0; /* librdkafka frees JSON */
}

static void on_error(rd_kafka_t *rk, int err, const char *reason, void *opaque)
{
    kafka_sink_t *s = opaque;
    atomic_fetch_add(&s->errors, 1);
    if (err == RD_KAFKA_RESP_ERR__FATAL) {
        char buf[512];
        rd_kafka_fatal_error(rk, buf, sizeof(buf));
        log_error("kafka", "fatal producer error: %s", buf);
        return;
    }
    kafka_report_error(rk, err, reason);
}

static int conf_set(rd_kafka_conf_t *conf, const char *k, const char *v, const char *where,
                    char *errstr, size_t errstr_size)
{
    char err[512];
    if (rd_kafka_conf_set(conf, k, v, err, sizeof(err)) != RD_KAFKA_CONF_OK) {
        snprintf(errstr, errstr_size, "%s: %s=%s: %s", where, k,
                 config_is_secret_property(k) ? "(secret, not shown)" : v, err);
        return MKB_ERR_CONFIG;
    }
    return MKB_OK;
}

static int new_producer(kafka_sink_t *s, const config_t *cfg, const char *name, char *errstr,
                        size_t errstr_size)
{
    const char *const *builtin = NULL;
    const config_profile_t *p = config_profile(cfg, name, &builtin);
    char where[200];
    snprintf(where, sizeof(where), "kafka profile '%s'", name);
    if (!p) {
        snprintf(errstr, errstr_size, "%s: no such profile", where);
        return MKB_ERR_CONFIG;
    }
    int rc;
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    char cid[200];
    snprintf(cid, sizeof(cid), "mqtt-kafka-bridge-%s", name);
    /* Bridge defaults first, so kafka.properties and the profile override
     * them. queue.buffering.max.kbytes bounds memory while Kafka is away
     * (librdkafka's default is 1 GiB); when it is reached, MQTT intake
     * pauses and the broker keeps the backlog. */
    static const char *const defaults[][2] = {
        {"enable.idempotence", "true"},
        {"acks", "all"},
        {"queue.buffering.max.kbytes", "65536"},
        /* Never give up on a record while Kafka is away (librdkafka's
         * default is 5 minutes, after which it would be dead-lettered). */
        {"message.timeout.ms", "0"},
        {"statistics.interval.ms", "2000"}, /* brokers up, for metrics and /readyz */
    };
    for (size_t i = 0; i < sizeof(defaults) / sizeof(defaults[0]); i++)
        if ((rc = conf_set(conf, defaults[i][0], defaults[i][1], "defaults", errstr,
                           errstr_size)))
            goto destroy_conf;
    /* With the spool the journal holds the backlog: a smaller queue is
     * enough to keep batches full and bounds memory during an outage. */
    if (cfg->spool_dir &&
        (rc = conf_set(conf, "queue.buffering.max.kbytes", "16384", "defaults", errstr,
                       errstr_size)))
        goto destroy_conf;
    if ((rc = conf_set(conf, "client.id", cid, where, errstr, errstr_size)) ||
        (rc = conf_set(conf, "bootstrap.servers", cfg->kafka_bootstrap, "kafka.bootstrap", errstr,
                       errstr_size)))
        goto destroy_conf;
    for (size_t i = 0; i < cfg->kafka_properties_n; i++)
        if ((rc = conf_set(conf, cfg->kafka_properties[i].key, cfg->kafka_properties[i].value,
                           "kafka.properties", errstr, errstr_size)))
            goto destroy_conf;
    if (builtin) {
        for (size_t i = 0; builtin[i]; i += 2)
            if ((rc = conf_set(conf, builtin[i], builtin[i + 1], where, errstr, errstr_size)))
                goto destroy_conf;
    } else {
        char num[32];
        snprintf(num, sizeof(num), "%lld", p->linger_ms);
        if ((rc = conf_set(conf, "linger.ms", num, where, errstr, errstr_size)))
            goto destroy_conf;
        snprintf(num, sizeof(num), "%lld", p->batch_bytes);
        if ((rc = conf_set(conf, "batch.size", num, where, errstr, errstr_size)) ||
            (rc = conf_set(conf, "compression.type", p->compression, where, errstr,
                           errstr_size)))
            goto destroy_conf;
        if (strcmp(p->acks, "all") != 0 &&
            ((rc = conf_set(conf, "enable.idempotence", "false", where, errstr, errstr_size)) ||
             (rc = conf_set(conf, "acks", p->acks, where, errstr, errstr_size))))
            goto destroy_conf;
        for (size_t i = 0; i < p->properties_n; i++)
            if ((rc = conf_set(conf, p->properties[i].key, p->properties[i].value, where, errstr,
                               errstr_size)))
                goto destroy_conf;
    }
    rd_kafka_conf_set_opaque(conf, s);
    rd_kafka_conf_set_dr_msg_cb(conf, on_delivery);
    rd_kafka_conf_set_log_cb(conf, kafka_log_cb);
    rd_kafka_conf_set_error_cb(conf, on_error);
    rd_kafka_conf_set_stats_cb(conf, on_stats);

    producer_t *pr = &s->producers[s->nproducers];
    char err[512];
    if (!(pr->topics = calloc(TOPIC_SLOTS, sizeof(*pr->topics))) || !(pr->name = strdup(name))) {
        free(pr->topics);
        rc = MKB_ERR_NOMEM;
        snprintf(errstr, errstr_size, "out of memory");
        goto destroy_conf;
    }
    if (!(pr->rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof(err)))) {
        snprintf(errstr, errstr_size, "%s: cannot create the producer: %s", where, err);
        free(pr->topics);
        free(pr->name);
        memset(pr, 0, sizeof(*pr));
        rc = MKB_ERR_KAFKA;
        goto destroy_conf;
    }
    s->nproducers++; /* conf is owned by rk from here on */
    return MKB_OK;

destroy_conf:
    rd_kafka_conf_destroy(conf);
    return rc;
}

/* librdkafka before 2.6.1 repeats the client nonce in its SCRAM final
 * message (librdkafka PR 4895); Kafka 4 checks it strictly and refuses the
 * login as "invalid credentials" even when the password is right. */
#define SCRAM_FIXED_VERSION 0x020601ff
static void warn_scram(const config_t *cfg)
{
    if (rd_kafka_version() >= SCRAM_FIXED_VERSION)
        return;
    for (size_t i = 0; i < cfg->kafka_properties_n; i++) {
        const char *k = cfg->kafka_properties[i].key, *v = cfg->kafka_properties[i].value;
        if ((strcmp(k, "sasl.mechanism") == 0 || strcmp(k, "sasl.mechanisms") == 0) &&
            strncmp(v, "SCRAM-", 6) == 0)
            log_warn("kafka",
                     "sasl.mechanism %s with librdkafka %s: Kafka 4 brokers refuse SCRAM logins "
                     "from librdkafka before 2.6.1 as invalid credentials even with the right "
                     "password (librdkafka PR 4895); use librdkafka 2.6.1 or later, or PLAIN "
                     "over SASL_SSL",
                     v, rd_kafka_version_str());
    }
}

int kafka_sink_new(const config_t *cfg, const char *const *profiles, size_t nprofiles,
                   kafka_sink_t **out, char *errstr, size_t errstr_size)
{
    int rc = MKB_ERR_NOMEM;
    kafka_sink_t *s = calloc(1, sizeof(*s));
    if (!s || !(s->dlq_topic = strdup(cfg->kafka_dead_letter_topic))) {
        free(s);
        snprintf(errstr, errstr_size, "out of memory");
        return rc;
    }
    s->queue_wait_ms = cfg->kafka_queue_wait_ms;
    pthread_mutex_init(&s->reasons_lock, NULL);
    if ((rc = new_producer(s, cfg, "hot", errstr, errstr_size)) != MKB_OK)
        goto destroy;
    for (size_t i = 0; i < nprofiles; i++) {
        if (kafka_sink_has_profile(s, profiles[i]))
            continue;
        if (s->nproducers == MAX_PROFILES) {
            snprintf(errstr, errstr_size, "more than %d producer profiles in use", MAX_PROFILES);
            rc = MKB_ERR_CONFIG;
            goto destroy;
        }
        if ((rc = new_producer(s, cfg, profiles[i], errstr, errstr_size)) != MKB_OK)
            goto destroy;
    }
    s->hot = &s->producers[0];
    warn_scram(cfg);
    *out = s;
    return MKB_OK;
destroy:
    kafka_sink_destroy(s);
    return rc;
}

void kafka_sink_destroy(kafka_sink_t *s)
{
    if (!s)
        return;
    for (size_t p = 0; p < s->nproducers; p++) {
        producer_t *pr = &s->producers[p];
        for (size_t i = 0; i < TOPIC_SLOTS; i++)
            if (pr->topics[i].rkt)
                rd_kafka_topic_destroy(pr->topics[i].rkt);
        free(pr->topics);
        rd_kafka_destroy(pr->rk);
        free(pr->name);
    }
    pthread_mutex_destroy(&s->reasons_lock);
    free(s->dlq_topic);
    free(s);
}

bool kafka_sink_has_profile(const kafka_sink_t *s, const char *profile)
{
    for (size_t i = 0; i < s->nproducers; i++)
        if (strcmp(s->producers[i].name, profile) == 0)
            return true;
    return false;
}

static producer_t *producer_for(kafka_sink_t *s, const char *profile)
{
    if (!profile)
        return s->hot;
    for (size_t i = 0; i < s->nproducers; i++)
        if (s->producers[i].name == profile || strcmp(s->producers[i].name, profile) == 0)
            return &s->producers[i];
    return s->hot; /* unreachable: routes are checked against the sink */
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
static rd_kafka_topic_t *topic_handle(producer_t *pr, const char *name)
{
    uint32_t h = fnv1a(name);
    for (size_t i = h & (TOPIC_SLOTS - 1);; i = (i + 1) & (TOPIC_SLOTS - 1)) {
        topic_slot_t *slot = &pr->topics[i];
        if (!slot->rkt) {
            if (pr->ntopics == MAX_TOPICS)
                return NULL;
            if (!(slot->rkt = rd_kafka_topic_new(pr->rk, name, NULL)))
                return NULL;
            slot->hash = h;
            pr->ntopics++;
            return slot->rkt;
        }
        if (slot->hash == h && strcmp(rd_kafka_topic_name(slot->rkt), name) == 0)
            return slot->rkt;
    }
}

/* librdkafka refused REC outright (too large, unknown partition...): it
 * goes to the dead-letter topic instead; lost only if that fails too. A
 * dead letter refused for its size is sent again without its value. */
static int refused(kafka_sink_t *s, const mapper_record_t *rec, rd_kafka_resp_err_t err,
                   uint64_t ticket)
{
    char reason[300];
    snprintf(reason, sizeof(reason), "producing to %s failed: %s (%s)", rec->topic,
             rd_kafka_err2str(err), rd_kafka_err2name(err));
    rd_kafka_resp_err_t derr = RD_KAFKA_RESP_ERR__INVALID_ARG;
    count_reason(s, err);
    if (!rec->dead_letter || too_large(err)) {
        rd_kafka_headers_t *h = rd_kafka_headers_new(rec->nheaders + 3);
        for (size_t i = 0; i < rec->nheaders; i++)
            rd_kafka_header_add(h, rec->headers[i].name, -1, rec->headers[i].value,
                                (ssize_t)rec->headers[i].value_len);
        if (!rec->dead_letter) { /* a dead letter keeps its own reason */
            rd_kafka_header_add(h, "mkb.reason", -1, reason, -1);
            rd_kafka_header_add(h, "mkb.kafka.topic", -1, rec->topic, -1);
        }
        derr = queue_dead_letter(s, rec->key, rec->key_len, rec->value, rec->value_len, h, ticket);
        if (derr)
            rd_kafka_headers_destroy(h);
    }
    if (derr == RD_KAFKA_RESP_ERR_NO_ERROR) {
        atomic_fetch_add(&s->produced, 1);
        uint64_t n = atomic_fetch_add(&s->failed, 1) + 1;
        if (n <= 10 || n % 1000 == 0)
            log_error("kafka", "%s; sent to %s (%llu so far)", reason, s->dlq_topic,
                      (unsigned long long)n);
        return MKB_OK;
    }
    uint64_t n = atomic_fetch_add(&s->lost, 1) + 1;
    log_error("kafka", "record lost: %s, and no dead letter could be queued: %s (%llu lost so far)",
              reason, rd_kafka_err2str(derr), (unsigned long long)n);
    settle(s, ticket);
    return MKB_ERR_KAFKA;
}

void kafka_sink_set_ack(kafka_sink_t *s, kafka_sink_ack_t ack, void *opaque)
{
    s->ack = ack;
    s->ack_opaque = opaque;
}

int kafka_sink_produce(kafka_sink_t *s, const mapper_record_t *rec, uint64_t ticket)
{
    long long warn_at = 0;
    producer_t *pr = producer_for(s, rec->profile);
    rd_kafka_topic_t *rkt = topic_handle(pr, rec->topic);
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
            rkt ? rd_kafka_producev(pr->rk, RD_KAFKA_V_RKT(rkt),
                                    RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                                    RD_KAFKA_V_KEY(rec->key, rec->key_len),
                                    RD_KAFKA_V_VALUE((void *)rec->value, rec->value_len),
                                    RD_KAFKA_V_HEADERS(hdrs),
                                    RD_KAFKA_V_TIMESTAMP(rec->timestamp_ms),
                                    RD_KAFKA_V_OPAQUE(OPAQUE(ticket, 0)), RD_KAFKA_V_END)
                : rd_kafka_producev(pr->rk, RD_KAFKA_V_TOPIC(rec->topic),
                                    RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                                    RD_KAFKA_V_KEY(rec->key, rec->key_len),
                                    RD_KAFKA_V_VALUE((void *)rec->value, rec->value_len),
                                    RD_KAFKA_V_HEADERS(hdrs),
                                    RD_KAFKA_V_TIMESTAMP(rec->timestamp_ms),
                                    RD_KAFKA_V_OPAQUE(OPAQUE(ticket, 0)), RD_KAFKA_V_END);
        if (warn_at && err != RD_KAFKA_RESP_ERR__QUEUE_FULL)
            atomic_store(&s->full_since_ms, 0); /* the wait is over */
        if (err == RD_KAFKA_RESP_ERR_NO_ERROR) {
            atomic_fetch_add(&s->produced, 1);
            atomic_fetch_add(&s->bytes, rec->value_len);
            return MKB_OK; /* the headers belong to librdkafka now */
        }
        if (hdrs) /* still ours: librdkafka refused the record */
            rd_kafka_headers_destroy(hdrs); /* (it does not take NULL) */
        if (err != RD_KAFKA_RESP_ERR__QUEUE_FULL)
            return refused(s, rec, err, ticket);
        if (atomic_load(&s->closed)) {
            atomic_store(&s->full_since_ms, 0);
            return MKB_ERR_STOPPED;
        }
        if (warn_at == 0) {
            atomic_store(&s->full_since_ms, clock_mono_ms());
            atomic_fetch_add(&s->queue_waits, 1);
            warn_at = clock_mono_ms() + s->queue_wait_ms;
        } else if (clock_mono_ms() >= warn_at) {
            log_warn("kafka", "producer '%s' queue full for %lld ms (%d records outstanding); "
                              "still waiting",
                     pr->name, s->queue_wait_ms, rd_kafka_outq_len(pr->rk));
            warn_at = clock_mono_ms() + s->queue_wait_ms;
        }
        struct timespec ts = {0, 1000000}; /* 1 ms: the main thread serves reports */
        nanosleep(&ts, NULL);
    }
}

void kafka_sink_poll(kafka_sink_t *s, int timeout_ms)
{
    /* Block on the first producer only; serve the others without waiting. */
    for (size_t i = 0; i < s->nproducers; i++)
        rd_kafka_poll(s->producers[i].rk, i == 0 ? timeout_ms : 0);
}

size_t kafka_sink_flush(kafka_sink_t *s, int timeout_ms)
{
    long long deadline = clock_mono_ms() + timeout_ms;
    size_t left = 0;
    /* Twice: a failed delivery of one producer may queue a dead letter on "hot". */
    for (int round = 0; round < 2; round++) {
        left = 0;
        for (size_t i = 0; i < s->nproducers; i++) {
            long long rest = deadline - clock_mono_ms();
            rd_kafka_flush(s->producers[i].rk, rest > 0 ? (int)rest : 0);
        }
        for (size_t i = 0; i < s->nproducers; i++) {
            int n = rd_kafka_outq_len(s->producers[i].rk);
            left += n > 0 ? (size_t)n : 0;
        }
        if (left == 0)
            break;
    }
    return left;
}

void kafka_sink_close(kafka_sink_t *s) { atomic_store(&s->closed, true); }

int kafka_sink_fatal(kafka_sink_t *s, char *errstr, size_t errstr_size)
{
    for (size_t i = 0; i < s->nproducers; i++)
        if (rd_kafka_fatal_error(s->producers[i].rk, errstr, errstr_size) !=
            RD_KAFKA_RESP_ERR_NO_ERROR)
            return 1;
    return 0;
}

long long kafka_sink_queue_full_since(const kafka_sink_t *s)
{
    return atomic_load(&s->full_since_ms);
}

void kafka_sink_stats(const kafka_sink_t *s, kafka_sink_stats_t *out)
{
    out->produced = atomic_load(&s->produced);
    out->delivered = atomic_load(&s->delivered);
    out->failed = atomic_load(&s->failed);
    out->lost = atomic_load(&s->lost);
    out->queue_waits = atomic_load(&s->queue_waits);
    out->bytes = atomic_load(&s->bytes);
    out->errors = atomic_load(&s->errors);
    out->brokers_up = atomic_load(&s->brokers_up);
    out->broker_errors = atomic_load(&s->broker_errors);
    out->outstanding = 0;
    for (size_t i = 0; i < s->nproducers; i++) {
        int n = rd_kafka_outq_len(s->producers[i].rk);
        out->outstanding += n > 0 ? (uint64_t)n : 0;
    }
}
