// SPDX-FileCopyrightText: 2026 The mqtt-kafka-bridge authors
// SPDX-License-Identifier: Apache-2.0
#include "downlink.h"

#include "buf.h"
#include "clock.h"
#include "dead_letter.h"
#include "err.h"
#include "downlink_offsets.h"
#include "downlink_rule.h"
#include "kafka_client.h"
#include "log.h"

#include <jansson.h>
#include <librdkafka/rdkafka.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Publishes waiting for their PUBACK at most. */
#define MAX_INFLIGHT 64

/* V as compact JSON in malloc'ed memory. (json_dumps' result belongs to
 * jansson's allocator, which jarena replaces: free() must not see it.) */
static char *jdump(const json_t *v)
{
    size_t n = json_dumpb(v, NULL, 0, JSON_COMPACT | JSON_ENCODE_ANY);
    char *s = n ? malloc(n + 1) : NULL;
    if (!s)
        return NULL;
    json_dumpb(v, s, n, JSON_COMPACT | JSON_ENCODE_ANY);
    s[n] = '\0';
    return s;
}

/* ---- rules, partitions, consumers --------------------------------------- */

typedef struct {
    const config_command_t *cfg;
    downlink_rule_t *compiled;
} rule_t;

/* One partition of a group and its records not yet settled. */
typedef struct {
    char *topic;
    int32_t partition;
    downlink_offsets_t *off;
} part_t;

typedef struct group group_t;

struct group {
    downlink_t *c;
    char *name;
    rd_kafka_t *rk;
    pthread_t thread;
    bool running;
    bool paused;
    bool was_connected;
    pthread_mutex_t lock; /* parts and their rings (Paho's thread marks done) */
    part_t **parts;
    size_t nparts;
};

struct downlink {
    config_t *cfg; /* owned: command rules apply until a restart */
    mqtt_client_t *mqtt;
    rule_t *rules;
    size_t nrules;
    group_t *groups;
    size_t ngroups;
    rd_kafka_t *results; /* producer for result records and dead letters */
    char *dlq;
    atomic_bool stop;
    bool stopped; /* downlink_stop ran */
    atomic_long inflight;
    atomic_uint_fast64_t consumed, published, expired, invalid, failed, rewinds;
};

/* A publish in flight. */
typedef struct {
    group_t *g;
    part_t *p;
    int64_t offset;
    const rule_t *rule;
    char *key;
    size_t key_len;
    char *mqtt_topic;
} pub_t;

static void part_free(part_t *p)
{
    if (!p)
        return;
    downlink_offsets_destroy(p->off);
    free(p->topic);
    free(p);
}

static part_t *part_get(group_t *g, const char *topic, int32_t partition)
{
    for (size_t i = 0; i < g->nparts; i++)
        if (g->parts[i]->partition == partition && strcmp(g->parts[i]->topic, topic) == 0)
            return g->parts[i];
    // NOLINTNEXTLINE(bugprone-sizeof-expression): an array of pointers
    part_t **ps = realloc(g->parts, (g->nparts + 1) * sizeof(*ps));
    if (!ps)
        return NULL;
    g->parts = ps;
    part_t *p = calloc(1, sizeof(*p));
    if (!p || !(p->topic = strdup(topic)) || !(p->off = downlink_offsets_new())) {
        part_free(p);
        return NULL;
    }
    p->partition = partition;
    g->parts[g->nparts++] = p;
    return p;
}

/* Marks OFFSET settled; stores the commit position past every settled
 * record at the front. Lock held. */
static void part_done(group_t *g, part_t *p, int64_t offset)
{
    int64_t next = downlink_offsets_settle(p->off, offset);
    if (next < 0)
        return;
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(l, p->topic, p->partition)->offset = next;
    rd_kafka_resp_err_t err = rd_kafka_offsets_store(g->rk, l);
    if (err)
        log_debug("commands", "storing offset %lld of %s[%d]: %s", (long long)next, p->topic,
                  (int)p->partition, rd_kafka_err2str(err));
    rd_kafka_topic_partition_list_destroy(l);
}

static void settle(group_t *g, part_t *p, int64_t offset)
{
    pthread_mutex_lock(&g->lock);
    part_done(g, p, offset);
    pthread_mutex_unlock(&g->lock);
}

/* ---- results and dead letters ------------------------------------------- */

/* Where a result is about: the command record and its outcome. */
typedef struct {
    const char *topic;
    int32_t partition;
    int64_t offset;
    const void *key;
    size_t key_len;
} where_t;

/* Reports STATUS for the command at W on the rule's result topic (JSON). */
static void result(downlink_t *c, const rule_t *r, const where_t *w, const char *status,
                   const char *reason, const char *mqtt_topic)
{
    if (!r->cfg->kafka_result_topic)
        return;
    json_t *o =
        json_pack("{s:s, s:s, s:s, s:i, s:I}", "command", r->cfg->name, "status", status, "topic",
                  w->topic, "partition", (int)w->partition, "offset", (json_int_t)w->offset);
    if (!o)
        return;
    if (reason)
        json_object_set_new(o, "reason", json_string(reason));
    if (mqtt_topic)
        json_object_set_new(o, "mqtt_topic", json_string(mqtt_topic));
    char *text = jdump(o);
    json_decref(o);
    if (text &&
        rd_kafka_producev(c->results, RD_KAFKA_V_TOPIC(r->cfg->kafka_result_topic),
                          RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                          RD_KAFKA_V_KEY(w->key, w->key_len), RD_KAFKA_V_VALUE(text, strlen(text)),
                          RD_KAFKA_V_END) != RD_KAFKA_RESP_ERR_NO_ERROR)
        log_error("commands", "cannot queue a result to %s", r->cfg->kafka_result_topic);
    free(text);
}

/* An invalid command without a result topic goes to the dead-letter topic. */
static void send_dead_letter(downlink_t *c, const rule_t *r, const rd_kafka_message_t *m,
                             const char *reason)
{
    char off[300];
    snprintf(off, sizeof(off), "%s[%d]@%lld", rd_kafka_topic_name(m->rkt), (int)m->partition,
             (long long)m->offset);
    const char *const pairs[] = {DEAD_LETTER_COMMAND, r->cfg->name, DEAD_LETTER_KAFKA_RECORD, off,
                                 NULL};
    rd_kafka_headers_t *h = dead_letter_headers(NULL, reason, pairs);
    if (rd_kafka_producev(c->results, RD_KAFKA_V_TOPIC(c->dlq),
                          RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                          RD_KAFKA_V_KEY(m->key, m->key_len), RD_KAFKA_V_VALUE(m->payload, m->len),
                          RD_KAFKA_V_HEADERS(h), RD_KAFKA_V_END) != RD_KAFKA_RESP_ERR_NO_ERROR) {
        rd_kafka_headers_destroy(h);
        log_error("commands", "cannot queue the dead letter of %s", off);
    }
}

static void on_result_delivery(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
    (void)rk;
    (void)opaque;
    if (m->err)
        log_error("commands", "result or dead letter to %s not delivered: %s",
                  rd_kafka_topic_name(m->rkt), rd_kafka_err2str(m->err));
}

/* ---- the per-record path ------------------------------------------------ */

static void on_published(void *opaque, bool ok, const char *why)
{
    pub_t *pub = opaque;
    downlink_t *c = pub->g->c;
    if (ok) {
        atomic_fetch_add(&c->published, 1);
        where_t w = {pub->p->topic, pub->p->partition, pub->offset, pub->key, pub->key_len};
        result(c, pub->rule, &w, "sent", NULL, pub->mqtt_topic);
        settle(pub->g, pub->p, pub->offset);
    } else {
        uint64_t n = atomic_fetch_add(&c->failed, 1) + 1;
        if (log_every(n))
            log_warn("commands", "publish of %s[%d]@%lld to '%s' failed: %s; sending it again",
                     pub->p->topic, (int)pub->p->partition, (long long)pub->offset, pub->mqtt_topic,
                     why ? why : "?");
        pthread_mutex_lock(&pub->g->lock);
        downlink_offsets_ask_rewind(pub->p->off, pub->offset);
        pthread_mutex_unlock(&pub->g->lock);
    }
    free(pub->key);
    free(pub->mqtt_topic);
    free(pub);
    atomic_fetch_sub(&c->inflight, 1);
}

static const rule_t *rule_for(const downlink_t *c, const group_t *g, const char *topic)
{
    for (size_t i = 0; i < c->nrules; i++)
        if (strcmp(c->rules[i].cfg->kafka_topic, topic) == 0 &&
            strcmp(c->rules[i].cfg->kafka_group, g->name) == 0)
            return &c->rules[i];
    return NULL;
}

/* Seeks P back to OFFSET (lock not held): its later records come again. */
static void rewind_to(group_t *g, part_t *p, int64_t offset)
{
    pthread_mutex_lock(&g->lock);
    /* Records already fetched past OFFSET may still come before the seek
     * takes effect: they are dropped until OFFSET comes again. */
    downlink_offsets_rewind(p->off, offset);
    pthread_mutex_unlock(&g->lock);
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(l, p->topic, p->partition)->offset = offset;
    rd_kafka_error_t *e = rd_kafka_seek_partitions(g->rk, l, 5000);
    if (e) {
        log_error("commands", "cannot rewind %s[%d] to %lld: %s", p->topic, (int)p->partition,
                  (long long)offset, rd_kafka_error_string(e));
        rd_kafka_error_destroy(e);
    }
    if (g->paused)
        rd_kafka_pause_partitions(g->rk, l);
    rd_kafka_topic_partition_list_destroy(l);
    atomic_fetch_add(&g->c->rewinds, 1);
}

/* Takes M into its partition's bookkeeping: false when it is not to be
 * handled (fetched before a rewind, so it comes again; or out of memory,
 * left uncommitted). */
static bool take(group_t *g, const rd_kafka_message_t *m, part_t **pp)
{
    const char *topic = rd_kafka_topic_name(m->rkt);
    pthread_mutex_lock(&g->lock);
    part_t *p = part_get(g, topic, m->partition);
    downlink_offsets_push_t pushed =
        p ? downlink_offsets_push(p->off, m->offset) : DOWNLINK_OFFSETS_NOMEM;
    pthread_mutex_unlock(&g->lock);
    if (pushed == DOWNLINK_OFFSETS_SKIPPED)
        return false;
    atomic_fetch_add(&g->c->consumed, 1);
    if (pushed != DOWNLINK_OFFSETS_TAKEN) {
        log_error("commands", "out of memory; %s[%d]@%lld left uncommitted", topic,
                  (int)m->partition, (long long)m->offset);
        return false;
    }
    *pp = p;
    return true;
}

/* Too old for the rule: reported, settled, true. */
static bool expired(group_t *g, part_t *p, const rule_t *r, const rd_kafka_message_t *m)
{
    rd_kafka_timestamp_type_t tstype;
    int64_t ts = rd_kafka_message_timestamp(m, &tstype);
    long long age = ts >= 0 ? (long long)time(NULL) * 1000 - ts : 0;
    if (r->cfg->max_age_s <= 0 || age <= r->cfg->max_age_s * 1000)
        return false;
    uint64_t n = atomic_fetch_add(&g->c->expired, 1) + 1;
    char reason[128];
    snprintf(reason, sizeof(reason), "expired: %lld ms old, max_age_s is %lld", age,
             (long long)r->cfg->max_age_s);
    if (log_every(n))
        log_warn("commands", "%s[%d]@%lld (%s) not sent: %s (%llu so far)", p->topic,
                 (int)m->partition, (long long)m->offset, r->cfg->name, reason,
                 (unsigned long long)n);
    where_t w = {p->topic, m->partition, m->offset, m->key, m->key_len};
    result(g->c, r, &w, "expired", reason, NULL);
    settle(g, p, m->offset);
    return true;
}

/* Does not fit the rule: reported (result topic or dead letter), settled. */
static void invalid(group_t *g, part_t *p, const rule_t *r, const rd_kafka_message_t *m,
                    const char *why)
{
    downlink_t *c = g->c;
    uint64_t n = atomic_fetch_add(&c->invalid, 1) + 1;
    if (log_every(n))
        log_warn("commands", "%s[%d]@%lld (%s) not sent: %s; reported to %s (%llu so far)",
                 p->topic, (int)m->partition, (long long)m->offset, r->cfg->name, why,
                 r->cfg->kafka_result_topic ? r->cfg->kafka_result_topic : c->dlq,
                 (unsigned long long)n);
    where_t w = {p->topic, m->partition, m->offset, m->key, m->key_len};
    if (r->cfg->kafka_result_topic)
        result(c, r, &w, "invalid", why, NULL);
    else
        send_dead_letter(c, r, m, why);
    settle(g, p, m->offset);
}

/* The record's header NAME for the templates ({header.NAME}). */
static bool record_header(const void *opaque, const char *name, const void **val, size_t *len)
{
    rd_kafka_headers_t *h = NULL;
    return rd_kafka_message_headers(opaque, &h) == RD_KAFKA_RESP_ERR_NO_ERROR &&
           rd_kafka_header_get_last(h, name, val, len) == RD_KAFKA_RESP_ERR_NO_ERROR;
}

/* The publish of M's rendering MSG, for on_published; NULL: out of memory. */
static pub_t *pub_new(group_t *g, part_t *p, const rule_t *r, const rd_kafka_message_t *m,
                      const downlink_msg_t *msg)
{
    pub_t *pub = calloc(1, sizeof(*pub));
    if (!pub || !(pub->mqtt_topic = strdup(msg->topic.p)) ||
        (m->key_len && !(pub->key = malloc(m->key_len)))) {
        if (pub)
            free(pub->mqtt_topic);
        free(pub);
        return NULL;
    }
    if (m->key_len)
        memcpy(pub->key, m->key, m->key_len);
    pub->key_len = m->key_len;
    pub->g = g;
    pub->p = p;
    pub->offset = m->offset;
    pub->rule = r;
    return pub;
}

/* Publishes MSG, M's rendering, over MQTT; on_published settles it or asks
 * for a rewind. MKB_ERR_NOMEM with WHY: not sent, to be reported invalid. */
static int publish(group_t *g, part_t *p, const rule_t *r, const rd_kafka_message_t *m,
                   const downlink_msg_t *msg, char *why, size_t why_size)
{
    downlink_t *c = g->c;
    pub_t *pub = pub_new(g, p, r, m, msg);
    if (!pub) {
        snprintf(why, why_size, "out of memory");
        return MKB_ERR_NOMEM;
    }
    mqtt_pub_t mp = {
        .topic = msg->topic.p,
        .payload = msg->payload,
        .len = msg->len,
        .qos = (int)r->cfg->mqtt_qos,
        .retain = r->cfg->mqtt_retain,
        .expiry_s = r->cfg->mqtt_expiry_s,
        .content_type = r->cfg->mqtt_content_type,
        .props = msg->props,
        .nprops = msg->nprops,
    };
    /* MQTT 5 request/response: carried over when the record has them. */
    char *resp = NULL;
    const void *v;
    size_t len;
    if (record_header(m, "mqtt.response_topic", &v, &len) && v && (resp = strndup(v, len)))
        mp.response_topic = resp;
    if (record_header(m, "mqtt.correlation_data", &v, &len) && v) {
        mp.correlation = v;
        mp.correlation_len = len;
    }
    /* Bounded in flight: Paho refuses more than its buffer (100) holds. */
    while (atomic_load(&c->inflight) >= MAX_INFLIGHT && !atomic_load(&c->stop)) {
        struct timespec nap = {0, 500000};
        nanosleep(&nap, NULL);
    }
    atomic_fetch_add(&c->inflight, 1);
    char err[300];
    if (mqtt_client_publish(c->mqtt, &mp, on_published, pub, err, sizeof(err)) != MKB_OK) {
        /* Not sent (MQTT went away): this record and the rest come again. */
        atomic_fetch_sub(&c->inflight, 1);
        log_info("commands", "publish of %s[%d]@%lld not possible (%s); rewinding", p->topic,
                 (int)m->partition, (long long)m->offset, err);
        free(pub->key);
        free(pub->mqtt_topic);
        free(pub);
        rewind_to(g, p, m->offset);
    }
    free(resp);
    return MKB_OK;
}

static void handle(group_t *g, const rd_kafka_message_t *m)
{
    part_t *p = NULL;
    if (!take(g, m, &p))
        return;
    const rule_t *r = rule_for(g->c, g, p->topic);
    if (!r) { /* a topic of the group that no rule names: cannot happen */
        settle(g, p, m->offset);
        return;
    }
    if (expired(g, p, r, m))
        return;
    tmpl_record_t rec = {p->topic,   m->partition, m->offset, m->key,
                         m->key_len, record_header, m};
    downlink_msg_t msg = {0};
    char why[300] = "";
    if (downlink_rule_render(r->compiled, &rec, m->payload, m->len, &msg, why, sizeof(why)) !=
            MKB_OK ||
        publish(g, p, r, m, &msg, why, sizeof(why)) != MKB_OK)
        invalid(g, p, r, m, why);
    downlink_msg_free(&msg);
}

static void set_paused(group_t *g, bool pause)
{
    rd_kafka_topic_partition_list_t *l = NULL;
    if (rd_kafka_assignment(g->rk, &l) == RD_KAFKA_RESP_ERR_NO_ERROR && l) {
        if (pause)
            rd_kafka_pause_partitions(g->rk, l);
        else
            rd_kafka_resume_partitions(g->rk, l);
        rd_kafka_topic_partition_list_destroy(l);
    }
    if (pause != g->paused && (!pause || g->was_connected)) /* not before the first connect */
        log_info("commands", "group %s: %s", g->name,
                 pause ? "MQTT disconnected: consumption paused" : "MQTT connected: consuming");
    g->paused = pause;
    g->was_connected |= !pause;
}

static void *group_main(void *arg)
{
    group_t *g = arg;
    downlink_t *c = g->c;
    long long next_pause_check = 0;
    while (!atomic_load(&c->stop)) {
        rd_kafka_poll(c->results, 0);
        /* Publishes that failed on Paho's side: seek their partitions back. */
        for (size_t i = 0; i < g->nparts; i++) {
            pthread_mutex_lock(&g->lock);
            int64_t off = downlink_offsets_take_rewind(g->parts[i]->off);
            pthread_mutex_unlock(&g->lock);
            if (off >= 0)
                rewind_to(g, g->parts[i], off);
        }
        bool connected = mqtt_client_connected(c->mqtt);
        /* Paused: re-applied every 100 ms, so partitions assigned meanwhile stay paused. */
        if (!connected && (!g->paused || clock_mono_ms() >= next_pause_check)) {
            set_paused(g, true);
            next_pause_check = clock_mono_ms() + 100;
        } else if (connected && g->paused) {
            set_paused(g, false);
        }
        rd_kafka_message_t *m = rd_kafka_consumer_poll(g->rk, 100);
        if (!m)
            continue;
        if (m->err) {
            if (m->err == RD_KAFKA_RESP_ERR__AUTHENTICATION || m->err == RD_KAFKA_RESP_ERR__SSL)
                kafka_client_report_error(g->rk, m->err, rd_kafka_message_errstr(m));
            else if (m->err != RD_KAFKA_RESP_ERR__PARTITION_EOF)
                log_warn("commands", "group %s: %s", g->name, rd_kafka_message_errstr(m));
        } else if (g->paused) {
            /* Fetched before the pause took effect: read it again later. */
            pthread_mutex_lock(&g->lock);
            part_t *p = part_get(g, rd_kafka_topic_name(m->rkt), m->partition);
            pthread_mutex_unlock(&g->lock);
            if (p)
                rewind_to(g, p, m->offset);
        } else {
            handle(g, m);
        }
        rd_kafka_message_destroy(m);
    }
    return NULL;
}

/* ---- life cycle --------------------------------------------------------- */

static int group_new(downlink_t *c, group_t *g, const char *name, char *errstr, size_t errstr_size)
{
    const config_t *cfg = c->cfg;
    g->c = c;
    g->name = strdup(name);
    pthread_mutex_init(&g->lock, NULL);
    /* Defaults, then kafka.properties (the connection's), then what the
     * commit discipline needs. Static membership: a restarted bridge takes
     * its partitions back at once instead of waiting for the session
     * timeout. */
    static const char *const defaults[] = {
        "auto.commit.interval.ms", "250",
        "auto.offset.reset", "earliest",
        "session.timeout.ms", "10000",
        /* a command topic created after the start is found within 10 s */
        "topic.metadata.refresh.interval.ms", "10000",
        NULL,
    };
    char inst[512];
    snprintf(inst, sizeof(inst), "%s-commands", cfg->mqtt_client_id);
    const char *const fixed[] = {"group.id", name, "group.instance.id", inst,
                                 "enable.auto.commit", "true",
                                 "enable.auto.offset.store", "false", NULL};
    rd_kafka_conf_t *k = rd_kafka_conf_new();
    int rc;
    if ((rc = kafka_client_set_pairs(k, defaults, "commands", errstr, errstr_size)) ||
        (rc = kafka_client_apply(k, cfg, KAFKA_CLIENT_CONSUMER, "mqtt-kafka-bridge-commands",
                                 "commands", errstr, errstr_size)) ||
        (rc = kafka_client_set_pairs(k, fixed, "commands", errstr, errstr_size))) {
        rd_kafka_conf_destroy(k);
        return rc;
    }
    if (getenv("MKB_COMMANDS_DEBUG"))
        kafka_client_set(k, "debug", getenv("MKB_COMMANDS_DEBUG"), "commands", errstr,
                         errstr_size);
    if (!(g->rk = kafka_client_new(KAFKA_CLIENT_CONSUMER, k, "commands: consumer", errstr,
                                   errstr_size)))
        return MKB_ERR_KAFKA;
    rd_kafka_poll_set_consumer(g->rk);
    rd_kafka_topic_partition_list_t *topics = rd_kafka_topic_partition_list_new(4);
    for (size_t i = 0; i < c->nrules; i++)
        if (strcmp(c->rules[i].cfg->kafka_group, name) == 0)
            rd_kafka_topic_partition_list_add(topics, c->rules[i].cfg->kafka_topic,
                                              RD_KAFKA_PARTITION_UA);
    rd_kafka_resp_err_t e = rd_kafka_subscribe(g->rk, topics);
    rd_kafka_topic_partition_list_destroy(topics);
    if (e) {
        snprintf(errstr, errstr_size, "commands: subscribe: %s", rd_kafka_err2str(e));
        return MKB_ERR_KAFKA;
    }
    return MKB_OK;
}

/* The result producer (results and dead letters), as the uplink's
 * producers: idempotent, waits for Kafka as long as it takes, unless
 * kafka.properties say otherwise. */
static int results_new(downlink_t *c, char *errstr, size_t errstr_size)
{
    static const char *const defaults[] = {"enable.idempotence", "true", "message.timeout.ms",
                                           "0", NULL};
    rd_kafka_conf_t *k = rd_kafka_conf_new();
    int rc;
    if ((rc = kafka_client_set_pairs(k, defaults, "commands", errstr, errstr_size)) ||
        (rc = kafka_client_apply(k, c->cfg, KAFKA_CLIENT_PRODUCER, "mqtt-kafka-bridge-results",
                                 "commands", errstr, errstr_size))) {
        rd_kafka_conf_destroy(k);
        return rc;
    }
    rd_kafka_conf_set_dr_msg_cb(k, on_result_delivery);
    c->results = kafka_client_new(KAFKA_CLIENT_PRODUCER, k, "commands: result producer", errstr,
                                  errstr_size);
    return c->results ? MKB_OK : MKB_ERR_KAFKA;
}

/* Compiles CFG's command rules into RULES (commands_n of them, zeroed);
 * errors as file:line:col lines. */
static int compile_rules(rule_t *rules, const config_t *cfg, char *errstr, size_t errstr_size)
{
    int rc = MKB_OK;
    errstr[0] = '\0';
    for (size_t i = 0; i < cfg->commands_n; i++) {
        rules[i].cfg = &cfg->commands[i];
        int rrc = downlink_rule_new(cfg, rules[i].cfg, &rules[i].compiled, errstr, errstr_size);
        if (rrc == MKB_ERR_NOMEM)
            return rrc;
        if (rrc != MKB_OK)
            rc = rrc;
    }
    return rc;
}

static void free_rules(rule_t *rules, size_t n)
{
    for (size_t i = 0; rules && i < n; i++)
        downlink_rule_destroy(rules[i].compiled);
    free(rules);
}

int downlink_check(const config_t *cfg, char *errstr, size_t errstr_size)
{
    rule_t *rules = calloc(cfg->commands_n ? cfg->commands_n : 1, sizeof(*rules));
    if (!rules) {
        snprintf(errstr, errstr_size, "out of memory");
        return MKB_ERR_NOMEM;
    }
    int rc = compile_rules(rules, cfg, errstr, errstr_size);
    free_rules(rules, cfg->commands_n);
    return rc;
}

int downlink_new(config_t *cfg, mqtt_client_t *mqtt, downlink_t **out, char *errstr,
                 size_t errstr_size)
{
    *out = NULL;
    if (!cfg->commands_n) {
        config_destroy(cfg);
        return MKB_OK;
    }
    int rc = MKB_ERR_NOMEM;
    downlink_t *c = calloc(1, sizeof(*c));
    if (!c) {
        config_destroy(cfg);
        snprintf(errstr, errstr_size, "out of memory");
        return rc;
    }
    c->cfg = cfg;
    if (!(c->rules = calloc(cfg->commands_n, sizeof(*c->rules))) ||
        !(c->groups = calloc(cfg->commands_n, sizeof(*c->groups))) ||
        !(c->dlq = strdup(cfg->kafka_dead_letter_topic))) {
        snprintf(errstr, errstr_size, "out of memory");
        goto fail; /* rc is MKB_ERR_NOMEM */
    }
    c->mqtt = mqtt;
    if ((rc = compile_rules(c->rules, cfg, errstr, errstr_size)) != MKB_OK)
        goto fail;
    c->nrules = cfg->commands_n;
    if ((rc = results_new(c, errstr, errstr_size)) != MKB_OK)
        goto fail;
    for (size_t i = 0; i < c->nrules; i++) {
        const char *name = c->rules[i].cfg->kafka_group;
        bool seen = false;
        for (size_t j = 0; j < c->ngroups; j++)
            seen |= strcmp(c->groups[j].name, name) == 0;
        if (!seen && (rc = group_new(c, &c->groups[c->ngroups++], name, errstr, errstr_size)))
            goto fail;
    }
    *out = c;
    return MKB_OK;
fail:
    downlink_destroy(c);
    return rc;
}

void downlink_set_births(downlink_t *c, spb_resolve_t resolve, spb_state_t *state)
{
    for (size_t i = 0; c && i < c->nrules; i++)
        downlink_rule_set_births(c->rules[i].compiled, resolve, state);
}

int downlink_start(downlink_t *c)
{
    for (size_t i = 0; i < c->ngroups; i++) {
        if (pthread_create(&c->groups[i].thread, NULL, group_main, &c->groups[i]) != 0)
            return MKB_ERR_NOMEM;
        c->groups[i].running = true;
    }
    return MKB_OK;
}

void downlink_stop(downlink_t *c, int timeout_ms)
{
    if (!c || c->stopped)
        return;
    c->stopped = true;
    atomic_store(&c->stop, true);
    for (size_t i = 0; i < c->ngroups; i++)
        if (c->groups[i].running) {
            pthread_join(c->groups[i].thread, NULL);
            c->groups[i].running = false;
        }
    long long deadline = clock_mono_ms() + timeout_ms;
    while (atomic_load(&c->inflight) > 0 && clock_mono_ms() < deadline) {
        struct timespec ts = {0, 10000000};
        nanosleep(&ts, NULL);
    }
    if (atomic_load(&c->inflight) > 0)
        log_warn("commands",
                 "%ld command(s) still waiting for their PUBACK; not committed, "
                 "they are consumed again at the next start",
                 (long)atomic_load(&c->inflight));
    for (size_t i = 0; i < c->ngroups; i++) {
        group_t *g = &c->groups[i];
        if (!g->rk)
            continue;
        rd_kafka_resp_err_t e = rd_kafka_commit(g->rk, NULL, 0);
        if (e && e != RD_KAFKA_RESP_ERR__NO_OFFSET)
            log_warn("commands", "group %s: final commit: %s", g->name, rd_kafka_err2str(e));
        rd_kafka_consumer_close(g->rk);
    }
    if (c->results && rd_kafka_flush(c->results, 10000) != RD_KAFKA_RESP_ERR_NO_ERROR)
        log_warn("commands", "%d result record(s) not delivered", rd_kafka_outq_len(c->results));
}

void downlink_destroy(downlink_t *c)
{
    if (!c)
        return;
    for (size_t i = 0; i < c->ngroups; i++) {
        group_t *g = &c->groups[i];
        if (g->rk)
            rd_kafka_destroy(g->rk);
        for (size_t j = 0; j < g->nparts; j++)
            part_free(g->parts[j]);
        free(g->parts);
        free(g->name);
        pthread_mutex_destroy(&g->lock);
    }
    if (c->results)
        rd_kafka_destroy(c->results);
    free_rules(c->rules, c->cfg ? c->cfg->commands_n : 0);
    free(c->groups);
    free(c->dlq);
    config_destroy(c->cfg);
    free(c);
}

void downlink_stats(const downlink_t *c, downlink_stats_t *out)
{
    memset(out, 0, sizeof(*out));
    if (!c)
        return;
    out->consumed = atomic_load(&c->consumed);
    out->published = atomic_load(&c->published);
    out->expired = atomic_load(&c->expired);
    out->invalid = atomic_load(&c->invalid);
    out->failed = atomic_load(&c->failed);
    out->rewinds = atomic_load(&c->rewinds);
}
