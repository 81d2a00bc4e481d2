// SPDX-FileCopyrightText: 2026 The mqtt-kafka-bridge authors
// SPDX-License-Identifier: Apache-2.0
/* Actuator commands, Kafka -> MQTT, against the real brokers: per-key
 * order over many keys, at least once through a SIGKILL of the bridge and a
 * Mosquitto outage, expired and invalid commands reported and skipped,
 * Sparkplug B DCMDs that pysparkplug decodes. */
#define _GNU_SOURCE /* asprintf */
#include "itest.h"

#include <MQTTAsync.h>
#include <check.h>
#include <jansson.h>
#include <librdkafka/rdkafka.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "check_run.h"

/* ---- an actuator: an MQTT subscriber that records what it receives ----- */

typedef struct {
    MQTTAsync client;
    pthread_mutex_t lock;
    char **topics, **payloads, **props; /* props: MQTT 5 properties as text */
    size_t *lens;                       /* payloads' lengths (binary ones too) */
    size_t n, cap;
    atomic_bool connected;
} actuator_t;

static int on_msg(void *ctx, char *topic, int tlen, MQTTAsync_message *m)
{
    actuator_t *a = ctx;
    pthread_mutex_lock(&a->lock);
    if (a->n == a->cap) {
        a->cap = a->cap ? 2 * a->cap : 1024;
        a->topics = realloc(a->topics, a->cap * sizeof(char *));
        a->payloads = realloc(a->payloads, a->cap * sizeof(char *));
        a->props = realloc(a->props, a->cap * sizeof(char *));
        a->lens = realloc(a->lens, a->cap * sizeof(size_t));
    }
    char props[512] = "";
    size_t used = 0;
    for (int i = 0; i < m->properties.count && used < sizeof(props) - 1; i++) {
        MQTTProperty *p = &m->properties.array[i];
        int w = 0;
        if (p->identifier == MQTTPROPERTY_CODE_CONTENT_TYPE ||
            p->identifier == MQTTPROPERTY_CODE_RESPONSE_TOPIC ||
            p->identifier == MQTTPROPERTY_CODE_CORRELATION_DATA)
            w = snprintf(props + used, sizeof(props) - used, "%s=%.*s;",
                         MQTTPropertyName(p->identifier), p->value.data.len, p->value.data.data);
        else if (p->identifier == MQTTPROPERTY_CODE_USER_PROPERTY)
            w = snprintf(props + used, sizeof(props) - used, "%.*s=%.*s;", p->value.data.len,
                         p->value.data.data, p->value.value.len, p->value.value.data);
        else if (p->identifier == MQTTPROPERTY_CODE_MESSAGE_EXPIRY_INTERVAL)
            w = snprintf(props + used, sizeof(props) - used, "expiry;");
        if (w > 0)
            used += (size_t)w;
    }
    a->props[a->n] = strdup(props);
    a->topics[a->n] = tlen ? strndup(topic, (size_t)tlen) : strdup(topic);
    a->payloads[a->n] = malloc((size_t)m->payloadlen + 1); /* NUL-terminated for the text ones */
    memcpy(a->payloads[a->n], m->payload, (size_t)m->payloadlen);
    a->payloads[a->n][m->payloadlen] = '\0';
    a->lens[a->n] = (size_t)m->payloadlen;
    a->n++;
    pthread_mutex_unlock(&a->lock);
    MQTTAsync_freeMessage(&m);
    MQTTAsync_free(topic);
    return 1;
}

static void on_conn(void *ctx, char *cause)
{
    (void)cause;
    atomic_store(&((actuator_t *)ctx)->connected, true);
}

static void on_lost(void *ctx, char *cause)
{
    (void)cause;
    atomic_store(&((actuator_t *)ctx)->connected, false);
}

/* Subscribes FILTER at QoS 1 with a persistent session (and Paho's
 * automatic reconnect), so nothing sent while it is away is missed. */
static void actuator_start(actuator_t *a, const char *bridge_id, const char *filter)
{
    char id[300];
    snprintf(id, sizeof(id), "actuator-%s", bridge_id);
    memset(a, 0, sizeof(*a));
    pthread_mutex_init(&a->lock, NULL);
    MQTTAsync_createOptions co = MQTTAsync_createOptions_initializer;
    co.MQTTVersion = MQTTVERSION_5;
    ck_assert_int_eq(MQTTAsync_createWithOptions(&a->client, itest_env("MKB_MQTT_URI"), id,
                                                 MQTTCLIENT_PERSISTENCE_NONE, NULL, &co),
                     MQTTASYNC_SUCCESS);
    MQTTAsync_setCallbacks(a->client, a, on_lost, on_msg, NULL);
    MQTTAsync_setConnected(a->client, a, on_conn);
    MQTTAsync_connectOptions o = MQTTAsync_connectOptions_initializer5;
    o.cleanstart = 0;
    MQTTProperties cp = MQTTProperties_initializer;
    MQTTProperty expiry = {.identifier = MQTTPROPERTY_CODE_SESSION_EXPIRY_INTERVAL};
    expiry.value.integer4 = 3600;
    MQTTProperties_add(&cp, &expiry);
    o.connectProperties = &cp;
    o.automaticReconnect = 1;
    o.minRetryInterval = 1;
    o.maxRetryInterval = 2;
    o.keepAliveInterval = 10;
    ck_assert_int_eq(MQTTAsync_connect(a->client, &o), MQTTASYNC_SUCCESS);
    MQTTProperties_free(&cp);
    for (int i = 0; i < 100 && !atomic_load(&a->connected); i++)
        itest_sleep_ms(100);
    ck_assert_msg(atomic_load(&a->connected), "actuator did not connect");
    MQTTAsync_responseOptions ro = MQTTAsync_responseOptions_initializer;
    ck_assert_int_eq(MQTTAsync_subscribe(a->client, filter, 1, &ro), MQTTASYNC_SUCCESS);
    itest_sleep_ms(500);
}

static size_t actuator_count(actuator_t *a)
{
    pthread_mutex_lock(&a->lock);
    size_t n = a->n;
    pthread_mutex_unlock(&a->lock);
    return n;
}

static bool actuator_wait(actuator_t *a, size_t want, int timeout_ms)
{
    timeout_ms = itest_scale_ms(timeout_ms);
    for (int t = 0; t < timeout_ms; t += 100) {
        if (actuator_count(a) >= want)
            return true;
        itest_sleep_ms(100);
    }
    return actuator_count(a) >= want;
}

static void actuator_stop(actuator_t *a)
{
    MQTTAsync_disconnectOptions d = MQTTAsync_disconnectOptions_initializer5;
    MQTTAsync_disconnect(a->client, &d);
    itest_sleep_ms(200);
    MQTTAsync_destroy(&a->client);
    for (size_t i = 0; i < a->n; i++) {
        free(a->topics[i]);
        free(a->payloads[i]);
        free(a->props[i]);
    }
    free(a->topics);
    free(a->payloads);
    free(a->props);
    free(a->lens);
    pthread_mutex_destroy(&a->lock);
}

/* ---- commands into Kafka ------------------------------------------------ */

/* Produces N commands to TOPIC: command i has key "u<i % keys>" and value
 * {"site":"s1","unit":"u<k>","seq":<i / keys>,"setpoint":21.5}, timestamp
 * TS_MS (0: now). FMT, if not NULL, replaces the value (one %d: i). */
static void produce_from(const char *topic, int from, int n, int keys, int64_t ts_ms,
                         const char *fmt)
{
    char err[512];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    ck_assert(rd_kafka_conf_set(conf, "bootstrap.servers", itest_env("MKB_KAFKA_BOOTSTRAP"), err,
                                sizeof(err)) == RD_KAFKA_CONF_OK);
    ck_assert(rd_kafka_conf_set(conf, "enable.idempotence", "true", err, sizeof(err)) ==
              RD_KAFKA_CONF_OK);
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof(err));
    ck_assert_msg(rk, "%s", err);
    for (int i = from; i < from + n; i++) {
        char key[32], val[1024];
        int k = i % keys;
        snprintf(key, sizeof(key), "u%d", k);
        if (fmt)
            snprintf(val, sizeof(val), fmt, i);
        else
            snprintf(val, sizeof(val),
                     "{\"site\":\"s1\",\"unit\":\"u%d\",\"seq\":%d,\"setpoint\":21.5}", k,
                     i / keys);
        rd_kafka_resp_err_t e;
        while ((e = rd_kafka_producev(
                    rk, RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                    RD_KAFKA_V_KEY(key, strlen(key)), RD_KAFKA_V_VALUE(val, strlen(val)),
                    RD_KAFKA_V_TIMESTAMP(ts_ms), RD_KAFKA_V_END)) == RD_KAFKA_RESP_ERR__QUEUE_FULL)
            rd_kafka_poll(rk, 10);
        ck_assert_msg(e == RD_KAFKA_RESP_ERR_NO_ERROR, "produce: %s", rd_kafka_err2str(e));
    }
    ck_assert_int_eq(rd_kafka_flush(rk, 30000), RD_KAFKA_RESP_ERR_NO_ERROR);
    rd_kafka_destroy(rk);
}

static void produce(const char *topic, int n, int keys, int64_t ts_ms, const char *fmt)
{
    produce_from(topic, 0, n, keys, ts_ms, fmt);
}

/* Commands FROM.. in chunks of 500 every 250 ms (a thread). */
typedef struct {
    const char *topic;
    int from, n, keys;
} paced_t;

static void *paced_producer(void *arg)
{
    paced_t *p = arg;
    for (int i = p->from; i < p->from + p->n; i += 500) {
        int end = p->from + p->n;
        produce_from(p->topic, i, end - i < 500 ? end - i : 500, p->keys, 0, NULL);
        itest_sleep_ms(250);
    }
    return NULL;
}

typedef struct {
    char *cmd_topic, *client, *filter, *cfg;
    itest_bridge_t b;
} cfix_t;

/* A command topic of PARTITIONS partitions, a bridge with one command rule
 * to cmd/<topic>/{/site}/{/unit}/set (RULE_EXTRA: more keys of the
 * rule, indented 4) and a route it needs anyway. */
static void cfix_init(cfix_t *f, const char *name, int partitions, const char *rule_extra)
{
    char prefix[64];
    snprintf(prefix, sizeof(prefix), "itest.cmd.%s", name);
    f->cmd_topic = itest_unique(prefix);
    f->client = itest_unique("bridge-cmd");
    itest_create_topic_parts(f->cmd_topic, partitions, NULL);
    ck_assert(asprintf(&f->filter, "cmd/%s/#", f->cmd_topic) > 0);
    ck_assert(asprintf(&f->cfg,
                       "mqtt: { uri: \"%s\", client_id: %s }\n"
                       "kafka: { bootstrap: \"%s\", dead_letter_topic: dlq-%s }\n"
                       "routes: [ { name: r, mqtt: { filter: \"unused/%s\" }, "
                       "kafka: { topic: unused } } ]\n"
                       "commands:\n"
                       "  - name: setpoint\n"
                       "    kafka: { topic: %s, group: g-%s }\n"
                       "    mqtt: { topic: \"cmd/%s/{/site}/{/unit}/set\", qos: 1 }\n"
                       "%s",
                       itest_env("MKB_MQTT_URI"), f->client, itest_env("MKB_KAFKA_BOOTSTRAP"),
                       f->client, f->client, f->cmd_topic, f->client, f->cmd_topic,
                       rule_extra ? rule_extra : "") > 0);
}

static void cfix_start(cfix_t *f)
{
    itest_bridge_start(&f->b, f->client, f->cfg);
    if (!itest_bridge_wait_log(&f->b, "ready: forwarding", 30000)) {
        itest_bridge_dump_log(&f->b);
        ck_abort_msg("bridge not ready");
    }
}

static void cfix_free(cfix_t *f)
{
    free(f->cmd_topic);
    free(f->client);
    free(f->filter);
    free(f->cfg);
}

/* Checks per-unit order: each unit's seq must first appear as 0, 1, 2, ...
 * (a repeat of an earlier seq is a duplicate, allowed only if DUPS_OK).
 * Returns the number of distinct commands seen. */
static int check_order(actuator_t *a, int keys, int per_key, bool dups_ok, int *dups)
{
    int *next = calloc((size_t)keys, sizeof(int));
    int distinct = 0;
    *dups = 0;
    pthread_mutex_lock(&a->lock);
    for (size_t i = 0; i < a->n; i++) {
        int unit = -1, seq = -1;
        const char *u = strstr(a->payloads[i], "\"unit\":\"u");
        const char *s = strstr(a->payloads[i], "\"seq\":");
        ck_assert_msg(u && s, "unexpected payload %s", a->payloads[i]);
        unit = atoi(u + 9);
        seq = atoi(s + 6);
        ck_assert(unit >= 0 && unit < keys && seq >= 0 && seq < per_key);
        char want_topic[64];
        snprintf(want_topic, sizeof(want_topic), "/s1/u%d/set", unit);
        ck_assert_msg(strstr(a->topics[i], want_topic), "topic %s for unit %d", a->topics[i], unit);
        if (seq == next[unit]) {
            next[unit]++;
            distinct++;
        } else {
            ck_assert_msg(seq < next[unit], "unit u%d: seq %d arrived before seq %d (message %zu)",
                          unit, seq, next[unit], i);
            ck_assert_msg(dups_ok, "unit u%d: seq %d twice", unit, seq);
            (*dups)++;
        }
    }
    pthread_mutex_unlock(&a->lock);
    free(next);
    return distinct;
}

/* Waits until all N commands (KEYS units) were seen at least once. */
static void wait_distinct(actuator_t *a, int keys, int n, int timeout_ms)
{
    int dups;
    timeout_ms = itest_scale_ms(timeout_ms);
    for (int t = 0; t < timeout_ms; t += 500) {
        if (check_order(a, keys, n / keys, true, &dups) == n)
            return;
        itest_sleep_ms(500);
    }
}

/* 10,000 commands (MKB_TEST_SCALE: fewer) over 50 units on 4 partitions:
 * every one arrives once, in order per unit, with the rendered topic. */
START_TEST(test_order_per_key)
{
    const int keys = 50, n = itest_scale_n(10000, 1000) / keys * keys;
    cfix_t f;
    cfix_init(&f, "order", 4, NULL);
    actuator_t a;
    actuator_start(&a, f.client, f.filter);
    cfix_start(&f);
    produce(f.cmd_topic, n, keys, 0, NULL);
    bool all = actuator_wait(&a, (size_t)n, 120000);
    itest_sleep_ms(1000);
    ck_assert_int_eq(itest_bridge_stop(&f.b, SIGTERM, 30000), 0);
    if (!all)
        itest_bridge_dump_log(&f.b);
    int dups;
    int distinct = check_order(&a, keys, n / keys, false, &dups);
    fprintf(stderr, "commands order: produced %d, on MQTT %zu, distinct %d, duplicated %d\n", n,
            actuator_count(&a), distinct, dups);
    ck_assert_int_eq(distinct, n);
    char counts[80];
    snprintf(counts, sizeof(counts), "commands consumed=%d published=%d", n, n);
    ck_assert_msg(itest_bridge_wait_log(&f.b, counts, 100), "no '%s' in the log", counts);
    /* The offsets were committed: after a restart only a new command comes
     * (its arrival shows the consumer is reading from the committed end). */
    cfix_start(&f);
    produce_from(f.cmd_topic, n, 1, keys, 0, NULL);
    ck_assert_msg(actuator_wait(&a, (size_t)n + 1, 60000), "the new command did not arrive");
    itest_sleep_ms(1000); /* anything resent would come with it */
    ck_assert_int_eq(itest_bridge_stop(&f.b, SIGTERM, 30000), 0);
    ck_assert_uint_eq(actuator_count(&a), (size_t)n + 1);
    actuator_stop(&a);
    cfix_free(&f);
}
END_TEST

/* The bridge SIGKILLed mid-stream (commands still coming, paced) and
 * restarted: every command reaches MQTT at least once, the first deliveries
 * in order per unit; what was committed before the kill is not sent again. */
START_TEST(test_sigkill)
{
    /* 10,000 (MKB_TEST_SCALE: fewer): a fifth before the start, the kill
     * once half arrived. */
    const int keys = 20, n = itest_scale_n(10000, 2000) / keys * keys, first = n / 5;
    cfix_t f;
    cfix_init(&f, "kill", 2, NULL);
    actuator_t a;
    actuator_start(&a, f.client, f.filter);
    produce(f.cmd_topic, first, keys, 0, NULL);
    cfix_start(&f);
    paced_t job = {f.cmd_topic, first, n - first, keys};
    pthread_t th;
    ck_assert_int_eq(pthread_create(&th, NULL, paced_producer, &job), 0);
    actuator_wait(&a, (size_t)n / 2, 60000);
    ck_assert_int_eq(itest_bridge_stop(&f.b, SIGKILL, 10000), 128 + SIGKILL);
    size_t at = actuator_count(&a);
    ck_assert_msg(at < (size_t)n, "all %zu arrived before the kill: not mid-stream", at);
    cfix_start(&f);
    pthread_join(th, NULL);
    wait_distinct(&a, keys, n, 120000);
    itest_sleep_ms(1000);
    ck_assert_int_eq(itest_bridge_stop(&f.b, SIGTERM, 30000), 0);
    int dups;
    int distinct = check_order(&a, keys, n / keys, true, &dups);
    fprintf(stderr,
            "commands SIGKILL: produced %d, %zu on MQTT at the kill, on MQTT %zu, distinct %d, "
            "lost %d, duplicated %d\n",
            n, at, actuator_count(&a), distinct, n - distinct, dups);
    ck_assert_int_eq(distinct, n);
    ck_assert_msg((size_t)dups < at, "everything sent before the kill came again: no commit");
    actuator_stop(&a);
    cfix_free(&f);
}
END_TEST

/* SIGHUP with a changed command rule (its MQTT topic): the command side
 * stops, commits and starts again with the new rule; the next command goes
 * to the new topic and the one before is not sent again. */
START_TEST(test_reload_command_rule)
{
    cfix_t f;
    cfix_init(&f, "reload", 1, NULL);
    actuator_t a;
    actuator_start(&a, f.client, f.filter);
    cfix_start(&f);
    produce(f.cmd_topic, 1, 1, 0, NULL);
    ck_assert_msg(actuator_wait(&a, 1, 60000), "the first command did not arrive");
    char *old_tmpl = NULL, *new_tmpl = NULL;
    ck_assert(asprintf(&old_tmpl, "cmd/%s/{/site}/{/unit}/set", f.cmd_topic) > 0);
    ck_assert(asprintf(&new_tmpl, "cmd/%s/v2/{/unit}/{/site}", f.cmd_topic) > 0);
    char *at = strstr(f.cfg, old_tmpl), *cfg2 = NULL;
    ck_assert(at);
    ck_assert(asprintf(&cfg2, "%.*s%s%s", (int)(at - f.cfg), f.cfg, new_tmpl,
                       at + strlen(old_tmpl)) > 0);
    itest_write_file(f.b.config_path, cfg2);
    kill(f.b.pid, SIGHUP);
    if (!itest_bridge_wait_log(&f.b, "(command side restarted)", 30000)) {
        itest_bridge_dump_log(&f.b);
        ck_abort_msg("no command side restart in the log");
    }
    produce_from(f.cmd_topic, 1, 1, 1, 0, NULL);
    bool second = actuator_wait(&a, 2, 60000);
    itest_sleep_ms(1000); /* a resent first command would come with it */
    ck_assert_int_eq(itest_bridge_stop(&f.b, SIGTERM, 30000), 0);
    if (!second)
        itest_bridge_dump_log(&f.b);
    ck_assert_msg(second, "no command after the reload");
    ck_assert_uint_eq(actuator_count(&a), 2);
    char want[300];
    snprintf(want, sizeof(want), "cmd/%s/v2/u0/s1", f.cmd_topic);
    pthread_mutex_lock(&a.lock);
    ck_assert_msg(strstr(a.topics[0], "/s1/u0/set"), "first topic %s", a.topics[0]);
    ck_assert_msg(strcmp(a.topics[1], want) == 0, "topic after the reload: %s, want %s",
                  a.topics[1], want);
    pthread_mutex_unlock(&a.lock);
    /* The counters went on across the restart of the command side. */
    ck_assert_msg(itest_bridge_wait_log(&f.b, "commands consumed=2 published=2", 100),
                  "the shutdown counters do not count both commands");
    free(old_tmpl);
    free(new_tmpl);
    free(cfg2);
    actuator_stop(&a);
    cfix_free(&f);
}
END_TEST

/* Mosquitto stopped for 20 s mid-stream: consumption pauses, nothing is
 * lost, order per unit kept. */
START_TEST(test_mosquitto_down)
{
    const int keys = 10, n = itest_scale_n(3000, 600) / keys * keys, first = n / 10;
    cfix_t f;
    cfix_init(&f, "mdown", 1, NULL);
    actuator_t a;
    actuator_start(&a, f.client, f.filter);
    cfix_start(&f);
    produce(f.cmd_topic, first, keys, 0, NULL); /* seq 0..first/keys-1 */
    ck_assert(actuator_wait(&a, (size_t)first, 60000));
    itest_harness_ctl("stop-mosquitto");
    ck_assert(itest_bridge_wait_log(&f.b, "MQTT disconnected: consumption paused", 15000));
    produce_from(f.cmd_topic, first, n - first, keys, 0, NULL); /* while MQTT is away */
    itest_sleep_ms(20000);
    size_t during = actuator_count(&a);
    itest_harness_ctl("start-mosquitto");
    ck_assert(itest_bridge_wait_log(&f.b, "MQTT connected: consuming", 30000));
    wait_distinct(&a, keys, n, 60000);
    ck_assert_int_eq(itest_bridge_stop(&f.b, SIGTERM, 30000), 0);
    int dups;
    int distinct = check_order(&a, keys, n / keys, true, &dups);
    fprintf(stderr,
            "commands, Mosquitto down 20 s: produced %d, on MQTT %zu (%zu before the restart), "
            "distinct %d, lost %d, duplicated %d\n",
            n, actuator_count(&a), during, distinct, n - distinct, dups);
    ck_assert_int_eq(distinct, n);
    actuator_stop(&a);
    cfix_free(&f);
}
END_TEST

/* An expired command and an invalid one are reported on the result topic
 * and skipped; the valid command after them is delivered, with the payload
 * built from fields and MQTT 5 properties. */
START_TEST(test_expired_and_invalid)
{
    cfix_t f;
    char *results = itest_unique("itest.cmd.results");
    itest_create_topic(results);
    cfix_init(&f, "stale", 1, NULL);
    /* A result topic, fields, properties, max_age_s: the rule rewritten. */
    char *cfg = NULL;
    char *kafka_line = strstr(f.cfg, "    kafka: { topic: ");
    char *mqtt_line = strstr(f.cfg, "    mqtt: { topic: \"cmd/");
    ck_assert(kafka_line && mqtt_line);
    ck_assert(
        asprintf(
            &cfg,
            "%.*s    kafka: { topic: %s, group: g-%s, result_topic: %s }\n"
            "    mqtt: { topic: \"cmd/%s/{/site}/{/unit}/set\", qos: 1, "
            "fields: [ /setpoint, /mode ], content_type: application/json, message_expiry_s: 30, "
            "user_properties: { origin: \"{header.origin}\" } }\n"
            "    max_age_s: 60\n",
            (int)(kafka_line - f.cfg), f.cfg, f.cmd_topic, f.client, results, f.cmd_topic) > 0);
    free(f.cfg);
    f.cfg = cfg;
    actuator_t a;
    actuator_start(&a, f.client, f.filter);
    cfix_start(&f);
    int64_t now = (int64_t)time(NULL) * 1000;
    /* 1: two minutes old; 2: no "unit"; 3: fine (a header for the property) */
    produce(f.cmd_topic, 1, 1, now - 120000,
            "{\"site\":\"s1\",\"unit\":\"u0\",\"seq\":%d,\"setpoint\":19,\"mode\":\"heat\"}");
    produce(f.cmd_topic, 1, 1, 0, "{\"site\":\"s1\",\"seq\":%d,\"setpoint\":19,\"mode\":\"heat\"}");
    char err[256];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    rd_kafka_conf_set(conf, "bootstrap.servers", itest_env("MKB_KAFKA_BOOTSTRAP"), err,
                      sizeof(err));
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof(err));
    const char *v =
        "{\"site\":\"s1\",\"unit\":\"u7\",\"seq\":3,\"setpoint\":22.5,\"mode\":\"cool\","
        "\"extra\":1}";
    ck_assert(rd_kafka_producev(rk, RD_KAFKA_V_TOPIC(f.cmd_topic), RD_KAFKA_V_KEY("u7", 2),
                                RD_KAFKA_V_VALUE((void *)v, strlen(v)),
                                RD_KAFKA_V_HEADER("origin", "planner", 7),
                                RD_KAFKA_V_HEADER("mqtt.response_topic", "replies/u7", 10),
                                RD_KAFKA_V_HEADER("mqtt.correlation_data", "req-42", 6),
                                RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END) == 0);
    ck_assert_int_eq(rd_kafka_flush(rk, 30000), 0);
    rd_kafka_destroy(rk);
    ck_assert_msg(actuator_wait(&a, 1, 30000), "the valid command did not arrive");
    itest_sleep_ms(2000);
    ck_assert_int_eq(itest_bridge_stop(&f.b, SIGTERM, 30000), 0);
    ck_assert_uint_eq(actuator_count(&a), 1);
    char want_topic[300];
    snprintf(want_topic, sizeof(want_topic), "cmd/%s/s1/u7/set", f.cmd_topic);
    ck_assert_str_eq(a.topics[0], want_topic);
    ck_assert_str_eq(a.payloads[0], "{\"setpoint\":22.5,\"mode\":\"cool\"}");
    fprintf(stderr, "commands: MQTT 5 properties received: %s\n", a.props[0]);
    ck_assert_msg(strstr(a.props[0], "CONTENT_TYPE=application/json;") &&
                      strstr(a.props[0], "origin=planner;") &&
                      strstr(a.props[0], "RESPONSE_TOPIC=replies/u7;") &&
                      strstr(a.props[0], "CORRELATION_DATA=req-42;") &&
                      strstr(a.props[0], "expiry;"),
                  "properties: %s", a.props[0]);
    char **vals;
    size_t count;
    itest_kafka_read_all(results, 3, 30000, &vals, &count, NULL, NULL);
    ck_assert_uint_eq(count, 3);
    ck_assert_msg(strstr(vals[0], "\"status\":\"expired\""), "%s", vals[0]);
    ck_assert_msg(strstr(vals[1], "\"status\":\"invalid\"") && strstr(vals[1], "unit"), "%s",
                  vals[1]);
    ck_assert_msg(strstr(vals[2], "\"status\":\"sent\"") && strstr(vals[2], want_topic), "%s",
                  vals[2]);
    fprintf(stderr, "commands results: %s | %s | %s\n", vals[0], vals[1], vals[2]);
    ck_assert(itest_bridge_wait_log(&f.b, "expired=1 invalid=1", 100));
    itest_free_strings(vals, count);
    actuator_stop(&a);
    free(results);
    cfix_free(&f);
}
END_TEST

/* Without a result topic, an invalid command goes to the dead-letter topic
 * with the reason, and the partition goes on. */
START_TEST(test_invalid_to_dead_letters)
{
    cfix_t f;
    cfix_init(&f, "dlq", 1, NULL);
    char *dlq = NULL;
    ck_assert(asprintf(&dlq, "dlq-%s", f.client) > 0);
    itest_create_topic(dlq);
    actuator_t a;
    actuator_start(&a, f.client, f.filter);
    cfix_start(&f);
    produce(f.cmd_topic, 1, 1, 0, "not json %d");
    /* Values that would leave their topic level: another device's topic
     * ("s1/hvac/u9" as a site), all of them ("+"). */
    produce(f.cmd_topic, 1, 1, 0, "{\"site\":\"s1/hvac/u9\",\"unit\":\"u0\",\"seq\":%d}");
    produce(f.cmd_topic, 1, 1, 0, "{\"site\":\"+\",\"unit\":\"u0\",\"seq\":%d}");
    produce(f.cmd_topic, 1, 1, 0, "{\"site\":\"s1\",\"unit\":\"u0\",\"seq\":%d}");
    ck_assert_msg(actuator_wait(&a, 1, 30000), "the valid command did not arrive");
    ck_assert_int_eq(itest_bridge_stop(&f.b, SIGTERM, 30000), 0);
    char **vals, **hdrs;
    size_t count;
    itest_kafka_read_all(dlq, 3, 30000, &vals, &count, NULL, &hdrs);
    ck_assert_uint_eq(count, 3);
    ck_assert_str_eq(vals[0], "not json 0");
    ck_assert_msg(strstr(hdrs[0], "mkb.reason=value is not JSON") &&
                      strstr(hdrs[0], "mkb.command=setpoint"),
                  "%s", hdrs[0]);
    ck_assert_msg(strstr(hdrs[1], "mkb.reason=a value put into the MQTT topic has a '/'"), "%s",
                  hdrs[1]);
    ck_assert_msg(strstr(hdrs[2], "mkb.reason=a value put into the MQTT topic has a '+'"), "%s",
                  hdrs[2]);
    ck_assert_uint_eq(actuator_count(&a), 1);
    itest_free_strings(vals, count);
    itest_free_strings(hdrs, count);
    actuator_stop(&a);
    free(dlq);
    cfix_free(&f);
}
END_TEST

/* `check` compiles the command templates: an unknown placeholder and the
 * old {value.a.b} spelling (with the new one) are named with
 * file:line:column. */
START_TEST(test_check_templates)
{
    char *path = NULL, *out = NULL, *cmd = NULL;
    ck_assert(asprintf(&path, "%s/badcmd.yaml", itest_env("MKB_HARNESS_DIR")) > 0);
    ck_assert(asprintf(&out, "%s/badcmd.out", itest_env("MKB_HARNESS_DIR")) > 0);
    itest_write_file(path, "mqtt: { uri: tcp://127.0.0.1:1 }\nkafka: { bootstrap: h:1 }\n"
                           "routes: [ { name: a, mqtt: { filter: a }, kafka: { topic: a } } ]\n"
                           "commands:\n  - name: c1\n    kafka: { topic: cmds }\n"
                           "    mqtt: { topic: \"x/{/site}/{vlaue.unit}\" }\n"
                           "  - name: c2\n    kafka: { topic: cmds2 }\n"
                           "    mqtt: { topic: \"y/{value.site}\", fields: [ a.b ] }\n");
    ck_assert(asprintf(&cmd, "'%s' check -c '%s' > '%s' 2>&1", itest_env("MKB_BRIDGE_BIN"), path,
                       out) > 0);
    int st = system(cmd);
    ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 1, "check exit status %d", st);
    FILE *f = fopen(out, "r");
    ck_assert_ptr_nonnull(f);
    char text[2048] = "";
    size_t n = fread(text, 1, sizeof(text) - 1, f);
    text[n] = '\0';
    fclose(f);
    ck_assert_msg(strstr(text, "badcmd.yaml:7:20: error: command 'c1': mqtt.topic") &&
                      strstr(text, "unknown placeholder {vlaue.unit}") &&
                      strstr(text, "badcmd.yaml:10:20: error: command 'c2': mqtt.topic "
                                   "{value.site} is the old spelling; write {/site}") &&
                      strstr(text, "'a.b' is the old spelling; write '/a/b'"),
                  "%s", text);
    free(cmd);
    free(out);
    free(path);
}
END_TEST

/* pysparkplug's reading (tests/sparkplug/decode.py) of the DCMD the
 * actuator received as message I. */
static json_t *pysparkplug_dcmd(actuator_t *a, size_t i)
{
    char *path = NULL, *cmd = NULL;
    ck_assert(asprintf(&path, "%s/dcmd-%zu.bin", itest_env("MKB_HARNESS_DIR"), i) > 0);
    FILE *f = fopen(path, "wb");
    ck_assert_ptr_nonnull(f);
    pthread_mutex_lock(&a->lock);
    ck_assert_uint_eq(fwrite(a->payloads[i], 1, a->lens[i], f), a->lens[i]);
    pthread_mutex_unlock(&a->lock);
    fclose(f);
    ck_assert(asprintf(&cmd, "%s/.cache/sparkplug/bin/python %s/tests/sparkplug/decode.py %s DCMD",
                       MKB_SOURCE_DIR, MKB_SOURCE_DIR, path) > 0);
    FILE *p = popen(cmd, "r");
    ck_assert_ptr_nonnull(p);
    json_error_t jerr;
    json_t *doc = json_loadf(p, 0, &jerr);
    ck_assert_msg(pclose(p) == 0 && doc, "pysparkplug could not decode the DCMD: %s", jerr.text);
    free(cmd);
    free(path);
    return doc;
}

/* A bridge with one payload: sparkplug_b command rule to TOPIC_TMPL (dead
 * letters to *DLQ, made here) and the route ROUTE (YAML flow mapping; its
 * one %s: the bridge's client id, which is also the tests' Sparkplug group). */
static void spb_fix_init(cfix_t *f, const char *name, const char *topic_tmpl, const char *route,
                         char **dlq)
{
    char prefix[64], *r = NULL;
    snprintf(prefix, sizeof(prefix), "itest.cmd.%s", name);
    f->cmd_topic = itest_unique(prefix);
    f->client = itest_unique("bridge-spb");
    itest_create_topic(f->cmd_topic);
    ck_assert(asprintf(dlq, "dlq-%s", f->client) > 0);
    itest_create_topic(*dlq);
    ck_assert(asprintf(&r, route, f->client) > 0);
    ck_assert(asprintf(&f->cfg,
                       "mqtt: { uri: \"%s\", client_id: %s }\n"
                       "kafka: { bootstrap: \"%s\", dead_letter_topic: %s }\n"
                       "routes: [ %s ]\n"
                       "commands:\n"
                       "  - name: plant\n"
                       "    kafka: { topic: %s, group: g-%s }\n"
                       "    mqtt: { topic: \"%s\" }\n"
                       "    payload: sparkplug_b\n",
                       itest_env("MKB_MQTT_URI"), f->client, itest_env("MKB_KAFKA_BOOTSTRAP"), *dlq,
                       r, f->cmd_topic, f->client, topic_tmpl) > 0);
    free(r);
}

/* payload: sparkplug_b: a record's metrics reach MQTT as a DCMD on the
 * topic rendered from it, which pysparkplug decodes to the same metrics; a
 * topic that is not NCMD/DCMD and a value out of its datatype's range are
 * dead letters saying so. */
START_TEST(test_sparkplug_dcmd)
{
    cfix_t f = {0};
    char *dlq = NULL;
    spb_fix_init(&f, "spb", "spBv1.0/{/group}/{/type}/{/edge_node}/{/device}",
                 "{ name: r, mqtt: { filter: \"unused/%s\" }, kafka: { topic: unused } }", &dlq);
    ck_assert(asprintf(&f.filter, "spBv1.0/%s/#", f.client) > 0);
    actuator_t a;
    actuator_start(&a, f.client, f.filter);
    cfix_start(&f);
    char *val = NULL;
    const char *fmt = "{\"group\": \"%s\", \"type\": \"%s\", \"edge_node\": \"E1\", "
                      "\"device\": \"Pump 2\", \"metrics\": [%s]}";
    ck_assert(asprintf(&val, fmt, f.client, "DDATA", "{\"name\": \"On\", \"value\": true}") > 0);
    produce(f.cmd_topic, 1, 1, 0, val);
    free(val);
    ck_assert(asprintf(&val, fmt, f.client, "DCMD",
                       "{\"name\": \"Small\", \"datatype\": \"Int8\", \"value\": 300}") > 0);
    produce(f.cmd_topic, 1, 1, 0, val);
    free(val);
    ck_assert(
        asprintf(&val, fmt, f.client, "DCMD",
                 "{\"name\": \"Speed\", \"datatype\": \"Int16\", \"value\": -300},"
                 "{\"name\": \"On\", \"value\": true},"
                 "{\"name\": \"Ratio\", \"datatype\": \"Float\", \"value\": 0.5},"
                 "{\"name\": \"Tags\", \"datatype\": \"StringArray\", \"value\": [\"a\", \"b\"]},"
                 "{\"name\": \"When\", \"datatype\": \"DateTime\", "
                 "\"value\": \"2026-12-05T14:03:12.123Z\"}") > 0);
    produce(f.cmd_topic, 1, 1, 0, val);
    free(val);
    bool arrived = actuator_wait(&a, 1, 30000);
    ck_assert_int_eq(itest_bridge_stop(&f.b, SIGTERM, 30000), 0);
    if (!arrived)
        itest_bridge_dump_log(&f.b);
    ck_assert_msg(arrived, "the DCMD did not arrive");
    ck_assert_uint_eq(actuator_count(&a), 1);
    char *topic = NULL;
    ck_assert(asprintf(&topic, "spBv1.0/%s/DCMD/E1/Pump 2", f.client) > 0);
    ck_assert_str_eq(a.topics[0], topic);
    ck_assert_str_eq(a.props[0], ""); /* no content type of ours on a protobuf */
    json_t *doc = pysparkplug_dcmd(&a, 0);
    json_t *want = json_loads("[{\"name\": \"Speed\", \"datatype\": 2, \"value\": -300},"
                              "{\"name\": \"On\", \"datatype\": 11, \"value\": true},"
                              "{\"name\": \"Ratio\", \"datatype\": 9, \"value\": 0.5},"
                              "{\"name\": \"Tags\", \"datatype\": 33, \"value\": [\"a\", \"b\"]},"
                              "{\"name\": \"When\", \"datatype\": 13, \"value\": 1796479392123}]",
                              0, NULL);
    json_t *got = json_object_get(doc, "metrics");
    ck_assert_uint_eq(json_array_size(got), json_array_size(want));
    for (size_t i = 0; i < json_array_size(want); i++) {
        json_t *w = json_array_get(want, i), *g = json_array_get(got, i);
        for (void *it = json_object_iter(w); it; it = json_object_iter_next(w, it)) {
            const char *k = json_object_iter_key(it);
            ck_assert_msg(json_equal(json_object_iter_value(it), json_object_get(g, k)),
                          "metric %zu: %s differs", i, k);
        }
    }
    ck_assert_ptr_null(json_object_get(doc, "seq")); /* commands carry none */
    char **vals, **hdrs;
    size_t count;
    itest_kafka_read_all(dlq, 2, 30000, &vals, &count, NULL, &hdrs);
    ck_assert_uint_eq(count, 2);
    ck_assert_msg(strstr(hdrs[0], "is not a Sparkplug NCMD or DCMD topic"), "%s", hdrs[0]);
    ck_assert_msg(strstr(hdrs[1], "metric 'Small': 300 is out of range for Int8 (-128..127)"), "%s",
                  hdrs[1]);
    itest_free_strings(vals, count);
    itest_free_strings(hdrs, count);
    json_decref(want);
    json_decref(doc);
    free(topic);
    free(dlq);
    actuator_stop(&a);
    cfix_free(&f);
}
END_TEST

/* `check` on payload: sparkplug_b rules: a constant topic that is no NCMD or
 * DCMD, and retain: true, named at file:line:column. */
START_TEST(test_sparkplug_check)
{
    static const char *const mqtt[] = {"{ topic: \"spBv1.0/G/NCMD/E1\", retain: true }",
                                       "{ topic: \"spBv1.0/G/DDATA/E1\" }"};
    static const char *const want[] = {
        "badspb.yaml:7:49: error: command 'c1': payload: sparkplug_b commands are never retained",
        "badspb.yaml:7:20: error: command 'c1': mqtt.topic 'spBv1.0/G/DDATA/E1' is not a "
        "Sparkplug NCMD or DCMD topic"};
    char *path = NULL, *out = NULL, *cmd = NULL, *yaml = NULL;
    ck_assert(asprintf(&path, "%s/badspb.yaml", itest_env("MKB_HARNESS_DIR")) > 0);
    ck_assert(asprintf(&out, "%s/badspb.out", itest_env("MKB_HARNESS_DIR")) > 0);
    ck_assert(asprintf(&cmd, "'%s' check -c '%s' > '%s' 2>&1", itest_env("MKB_BRIDGE_BIN"), path,
                       out) > 0);
    for (size_t i = 0; i < 2; i++) {
        ck_assert(asprintf(&yaml,
                           "mqtt: { uri: tcp://127.0.0.1:1 }\nkafka: { bootstrap: h:1 }\n"
                           "routes: [ { name: a, mqtt: { filter: a }, kafka: { topic: a } } ]\n"
                           "commands:\n  - name: c1\n    kafka: { topic: cmds }\n"
                           "    mqtt: %s\n    payload: sparkplug_b\n",
                           mqtt[i]) > 0);
        itest_write_file(path, yaml);
        int st = system(cmd);
        ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 1, "check exit status %d", st);
        FILE *f = fopen(out, "r");
        ck_assert_ptr_nonnull(f);
        char text[2048] = "";
        size_t n = fread(text, 1, sizeof(text) - 1, f);
        text[n] = '\0';
        fclose(f);
        ck_assert_msg(strstr(text, want[i]), "%s", text);
        free(yaml);
    }
    free(cmd);
    free(out);
    free(path);
}
END_TEST

/* The first line of PATH that starts with PREFIX, waited for up to
 * TIMEOUT_MS (NULL: none came); the caller frees it. */
static char *wait_line(const char *path, const char *prefix, int timeout_ms)
{
    timeout_ms = itest_scale_ms(timeout_ms);
    for (int t = 0; t <= timeout_ms; t += 100) {
        FILE *f = fopen(path, "r");
        char line[8192];
        while (f && fgets(line, sizeof(line), f))
            if (strncmp(line, prefix, strlen(prefix)) == 0) {
                fclose(f);
                return strdup(line);
            }
        if (f)
            fclose(f);
        itest_sleep_ms(100);
    }
    return NULL;
}

/* A real Sparkplug edge node (pysparkplug, tests/sparkplug/cmd_edge_node.py)
 * births a device whose Speed is an Int16, Valve a UInt8 and When a
 * DateTime; the bridge's Sparkplug route records the births, and a command
 * that names those metrics without datatypes reaches the edge node as a DCMD
 * typed by them (another metric by its JSON type); a value its birth's
 * datatype cannot hold is a dead letter naming the metric. */
START_TEST(test_sparkplug_birth_datatypes)
{
    cfix_t f = {0};
    char *metrics = itest_unique("itest.spb.metrics"), *dlq = NULL, *out = NULL, *route = NULL;
    itest_create_topic(metrics);
    ck_assert(asprintf(&route,
                       "{ name: plant, mqtt: { filter: \"spBv1.0/%%s/#\", qos: 1 }, "
                       "payload: sparkplug_b, kafka: { topic: %s } }",
                       metrics) > 0);
    spb_fix_init(&f, "spbbirth", "spBv1.0/{/group}/DCMD/{/edge_node}/{/device}", route, &dlq);
    free(route);
    ck_assert(asprintf(&out, "%s/edge-%s.out", itest_env("MKB_HARNESS_DIR"), f.client) > 0);
    cfix_start(&f);
    pid_t edge = fork();
    ck_assert_int_ge(edge, 0);
    if (edge == 0) {
        char py[1024], script[1024];
        snprintf(py, sizeof(py), "%s/.cache/sparkplug/bin/python", MKB_SOURCE_DIR);
        snprintf(script, sizeof(script), "%s/tests/sparkplug/cmd_edge_node.py", MKB_SOURCE_DIR);
        execl(py, py, script, itest_env("MKB_MQTT_URI"), f.client, "E1", "Pump", out, "1", "90",
              (char *)NULL);
        _exit(127);
    }
    char *births = wait_line(out, "births", 30000);
    ck_assert_msg(births, "the edge node did not publish its births");
    itest_wait_count(metrics, 5, 30000); /* NBIRTH: Temp, bdSeq; DBIRTH: Speed, Valve, When */
    const char *fmt = "{\"group\": \"%s\", \"edge_node\": \"E1\", \"device\": \"Pump\", "
                      "\"metrics\": [%s]}";
    char *val = NULL;
    ck_assert(asprintf(&val, fmt, f.client, "{\"name\": \"Valve\", \"value\": 300}") > 0);
    produce(f.cmd_topic, 1, 1, 0, val);
    free(val);
    ck_assert(asprintf(&val, fmt, f.client,
                       "{\"name\": \"Speed\", \"value\": -5}, {\"name\": \"Valve\", \"value\": 200}, "
                       "{\"name\": \"When\", \"value\": \"2026-12-05T14:03:12.123Z\"}, "
                       "{\"name\": \"Other\", \"value\": 7}") > 0);
    produce(f.cmd_topic, 1, 1, 0, val);
    free(val);
    char *line = wait_line(out, "{", 30000);
    int st = 0;
    waitpid(edge, &st, 0);
    ck_assert_int_eq(itest_bridge_stop(&f.b, SIGTERM, 30000), 0);
    if (!line)
        itest_bridge_dump_log(&f.b);
    ck_assert_msg(line, "the edge node received no command");
    ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0, "edge node status %d", st);
    json_t *got = json_loads(line, 0, NULL);
    json_t *want = json_loads("{\"type\": \"DCMD\", \"device\": \"Pump\", \"metrics\": ["
                              "{\"name\": \"Speed\", \"datatype\": 2, \"value\": -5},"
                              "{\"name\": \"Valve\", \"datatype\": 5, \"value\": 200},"
                              "{\"name\": \"When\", \"datatype\": 13, \"value\": 1796479392123},"
                              "{\"name\": \"Other\", \"datatype\": 4, \"value\": 7}]}",
                              0, NULL);
    ck_assert_msg(json_equal(got, want), "the edge node got %s", line);
    char **vals, **hdrs;
    size_t count;
    itest_kafka_read_all(dlq, 1, 30000, &vals, &count, NULL, &hdrs);
    ck_assert_uint_eq(count, 1);
    ck_assert_msg(strstr(hdrs[0], "metric 'Valve': 300 is out of range for UInt8 (0..255)"), "%s",
                  hdrs[0]);
    itest_free_strings(vals, count);
    itest_free_strings(hdrs, count);
    json_decref(got);
    json_decref(want);
    free(line);
    free(births);
    free(out);
    free(dlq);
    free(metrics);
    cfix_free(&f);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("commands");
    TCase *tc = tcase_create("commands");
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, test_check_templates);
    tcase_add_test(tc, test_invalid_to_dead_letters);
    tcase_add_test(tc, test_expired_and_invalid);
    tcase_add_test(tc, test_order_per_key);
    tcase_add_test(tc, test_reload_command_rule);
    tcase_add_test(tc, test_sigkill);
    tcase_add_test(tc, test_mosquitto_down);
    suite_add_tcase(s, tc);
    TCase *spb = tcase_create("sparkplug"); /* CK_RUN_CASE=sparkplug runs it alone */
    tcase_set_timeout(spb, 120);
    tcase_add_test(spb, test_sparkplug_check);
    tcase_add_test(spb, test_sparkplug_dcmd);
    tcase_add_test(spb, test_sparkplug_birth_datatypes);
    suite_add_tcase(s, spb);
    return check_run(s);
}
