// SPDX-FileCopyrightText: 2026 The mqtt-kafka-bridge authors
// SPDX-License-Identifier: Apache-2.0
/* Each message once (issue 17): the bridge subscribes to the cover of its
 * routes' filters, so overlapping filters ('#', '+', a specific one, partial
 * overlaps, mixed QoS; also with a $share group) give exactly the records
 * `map` prints for each message, no extra copy. Retained messages reach
 * Kafka once across restarts (MQTT 5 retain handling and no resubscription
 * of what the session holds; MQTT 3.1.1 with the spool directory's list). */
#define _GNU_SOURCE /* asprintf */
#include "itest.h"

#include <MQTTAsync.h>
#include <check.h>

#include "check_run.h"
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

/* Runs `$MKB_BRIDGE_BIN ARGS` and returns its output (caller frees). */
static char *run_cli(const char *args)
{
    char *cmd = NULL;
    ck_assert(asprintf(&cmd, "'%s' %s 2>&1 </dev/null", itest_env("MKB_BRIDGE_BIN"), args) > 0);
    FILE *p = popen(cmd, "r");
    ck_assert(p != NULL);
    size_t cap = 65536, n = 0, got;
    char *out = malloc(cap);
    while ((got = fread(out + n, 1, cap - n - 1, p)) > 0)
        n += got;
    out[n] = '\0';
    pclose(p);
    free(cmd);
    return out;
}

/* Publishes PAYLOAD to TOPIC at QoS 1 with the retain flag, and waits for
 * the PUBACK. */
static void publish_retained(const char *topic, const char *payload, int version)
{
    MQTTAsync c;
    char *id = itest_unique("itest-ret");
    MQTTAsync_createOptions co = MQTTAsync_createOptions_initializer;
    co.MQTTVersion = version;
    ck_assert_int_eq(MQTTAsync_createWithOptions(&c, itest_env("MKB_MQTT_URI"), id,
                                                 MQTTCLIENT_PERSISTENCE_NONE, NULL, &co),
                     MQTTASYNC_SUCCESS);
    MQTTAsync_connectOptions o = MQTTAsync_connectOptions_initializer;
    MQTTAsync_connectOptions o5 = MQTTAsync_connectOptions_initializer5;
    if (version == MQTTVERSION_5)
        o = o5;
    else
        o.MQTTVersion = version;
    ck_assert_int_eq(MQTTAsync_connect(c, &o), MQTTASYNC_SUCCESS);
    for (int i = 0; i < 1000 && !MQTTAsync_isConnected(c); i++)
        itest_sleep_ms(10);
    ck_assert_msg(MQTTAsync_isConnected(c), "retained publisher could not connect");
    MQTTAsync_message m = MQTTAsync_message_initializer;
    m.payload = (void *)payload;
    m.payloadlen = (int)strlen(payload);
    m.qos = 1;
    m.retained = 1;
    MQTTAsync_responseOptions ro = MQTTAsync_responseOptions_initializer;
    ck_assert_int_eq(MQTTAsync_sendMessage(c, topic, &m, &ro), MQTTASYNC_SUCCESS);
    ck_assert_int_eq(MQTTAsync_waitForCompletion(c, ro.token, 10000), MQTTASYNC_SUCCESS);
    MQTTAsync_disconnectOptions d = MQTTAsync_disconnectOptions_initializer;
    MQTTAsync_disconnect(c, &d);
    itest_sleep_ms(100);
    MQTTAsync_destroy(&c);
    free(id);
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Appends "route|value" for every record `map` prints in OUT to LIST. */
static void map_records(const char *out, char **list, size_t *n, size_t cap)
{
    const char *p = out;
    while ((p = strstr(p, "record ")) != NULL) {
        const char *route = strstr(p, "(route ");
        const char *value = strstr(p, "  value:     ");
        ck_assert(route && value);
        route += 7;
        const char *rend = strchr(route, ')');
        value += 13;
        const char *vend = strchr(value, '\n');
        ck_assert(rend && vend && *n < cap);
        ck_assert(asprintf(&list[(*n)++], "%.*s|%.*s", (int)(rend - route), route,
                           (int)(vend - value), value) > 0);
        p = vend;
    }
}

/* Loop: 0 MQTT 5, 1 MQTT 5 in a $share group, 2 MQTT 3.1.1. */
START_TEST(test_overlapping_filters_equal_map)
{
    static const char *const version[] = {"5", "5", "3.1.1"};
    char *topic = itest_unique("itest.cover");
    char *client = itest_unique("bridge");
    char *u = itest_unique("cv");
    itest_create_topic(topic);
    char *cfg = NULL;
    ck_assert(asprintf(&cfg,
                       "mqtt: { uri: %s, client_id: %s, version: \"%s\"%s%s }\n"
                       "kafka: { bootstrap: %s }\n"
                       "routes:\n"
                       "  - { name: all, mqtt: { filter: \"%s/#\", qos: 0 }, payload: raw,\n"
                       "      kafka: { topic: %s, headers: { r: \"{route}\" } } }\n"
                       "  - { name: state, mqtt: { filter: \"%s/{dev}/state\", qos: 1 },\n"
                       "      payload: raw, kafka: { topic: %s, headers: { r: \"{route}\" } } }\n"
                       "  - { name: dev1, mqtt: { filter: \"%s/dev1/state\", qos: 2 },\n"
                       "      payload: raw, kafka: { topic: %s, headers: { r: \"{route}\" } } }\n"
                       "  - { name: a_any, mqtt: { filter: \"%s/a/+\", qos: 1 },\n"
                       "      payload: raw, kafka: { topic: %s, headers: { r: \"{route}\" } } }\n"
                       "  - { name: any_b, mqtt: { filter: \"%s/+/b\", qos: 0 },\n"
                       "      payload: raw, kafka: { topic: %s, headers: { r: \"{route}\" } } }\n",
                       itest_env("MKB_MQTT_URI"), client, version[_i],
                       _i == 1 ? ", shared_group: " : "", _i == 1 ? u : "",
                       itest_env("MKB_KAFKA_BOOTSTRAP"), u, topic, u, topic, u, topic, u, topic, u,
                       topic) > 0);
    itest_bridge_t b;
    itest_start_ready(&b, client, cfg);
    ck_assert_msg(itest_bridge_wait_log(&b, "subscribing 1 of 1 filter(s)", 5000),
                  "the five route filters should make one cover filter");
    static const char *const levels[] = {"dev1/state", "dev2/state", "a/b", "a/c",
                                         "x/b",        "x/y/z",      "q"};
    const size_t nl = sizeof(levels) / sizeof(levels[0]);
    char *want[64] = {0}, *got[64] = {0};
    size_t nwant = 0, ngot = 0;
    itest_pub_t *pub = itest_pub_open(NULL, _i == 2 ? MQTTVERSION_3_1_1 : MQTTVERSION_5);
    for (size_t i = 0; i < nl; i++) {
        char mtopic[300], payload[64], args[1200];
        snprintf(mtopic, sizeof(mtopic), "%s/%s", u, levels[i]);
        snprintf(payload, sizeof(payload), "p%zu", i);
        itest_pub_send(pub, mtopic, payload, strlen(payload), (int)(i % 3));
        snprintf(args, sizeof(args), "map -c '%s' --topic '%s' --payload '%s'", b.config_path,
                 mtopic, payload);
        char *out = run_cli(args);
        map_records(out, want, &nwant, 64);
        free(out);
    }
    itest_pub_wait(pub, (int)nl);
    itest_pub_close(pub);
    ck_assert_uint_eq(nwant, 14); /* all 7, state 2, dev1 1, a_any 2, any_b 2 */
    itest_recs_t rs = itest_kafka_read(topic, nwant, itest_scale_ms(30000));
    itest_sleep_ms(itest_scale_ms(1500)); /* time for an extra copy to arrive */
    long long total = itest_kafka_count(topic);
    for (size_t i = 0; i < rs.n && ngot < 64; i++) {
        const char *r = itest_rec_header(&rs.r[i], "r", NULL);
        ck_assert(asprintf(&got[ngot++], "%s|%s", r ? r : "?", rs.r[i].val) > 0);
    }
    int status = itest_bridge_stop(&b, SIGTERM, 30000);
    if (status != 0 || total != (long long)nwant)
        itest_bridge_dump_log(&b);
    ck_assert_int_eq(status, 0);
    ck_assert_int_eq(total, (long long)nwant);
    qsort(want, nwant, sizeof(char *), cmp_str);
    qsort(got, ngot, sizeof(char *), cmp_str);
    ck_assert_uint_eq(ngot, nwant);
    for (size_t i = 0; i < nwant; i++)
        ck_assert_str_eq(got[i], want[i]);
    for (size_t i = 0; i < nwant; i++)
        free(want[i]);
    for (size_t i = 0; i < ngot; i++)
        free(got[i]);
    itest_recs_free(&rs);
    free(cfg);
    free(u);
    free(client);
    free(topic);
}
END_TEST

/* Starts the bridge, waits until ready and a little more (for anything the
 * broker would send), and stops it. */
static void run_once(itest_bridge_t *b, const char *client, const char *cfg)
{
    itest_start_ready(b, client, cfg);
    itest_sleep_ms(itest_scale_ms(1500));
    int status = itest_bridge_stop(b, SIGTERM, 30000);
    if (status != 0)
        itest_bridge_dump_log(b);
    ck_assert_int_eq(status, 0);
}

static void assert_count(itest_bridge_t *b, const char *topic, long long want, const char *when)
{
    long long n = itest_kafka_count(topic);
    if (n != want)
        itest_bridge_dump_log(b);
    ck_assert_msg(n == want, "%s: %lld records in Kafka, want %lld", when, n, want);
}

/* Loop: 0 MQTT 5 without a spool, 1 MQTT 5 with one, 2 MQTT 3.1.1 with one. */
START_TEST(test_retained_once_across_restarts)
{
    static const char *const version[] = {"5", "5", "3.1.1"};
    char *topic = itest_unique("itest.retained");
    char *client = itest_unique("bridge");
    char *u = itest_unique("rt");
    itest_create_topic(topic);
    char *cfg = NULL, spool[600] = "";
    if (_i > 0)
        snprintf(spool, sizeof(spool), "spool: { dir: %s/spool-%s }\n",
                 itest_env("MKB_HARNESS_DIR"), client);
    ck_assert(asprintf(&cfg,
                       "mqtt: { uri: %s, client_id: %s, version: \"%s\" }\n"
                       "kafka: { bootstrap: %s }\n%s"
                       "routes:\n"
                       "  - { name: state, mqtt: { filter: \"%s/+/state\", qos: 1 },\n"
                       "      payload: raw, kafka: { topic: %s } }\n",
                       itest_env("MKB_MQTT_URI"), client, version[_i],
                       itest_env("MKB_KAFKA_BOOTSTRAP"), spool, u, topic) > 0);
    int v = _i == 2 ? MQTTVERSION_3_1_1 : MQTTVERSION_5;
    char t1[300], t2[300];
    snprintf(t1, sizeof(t1), "%s/d1/state", u);
    snprintf(t2, sizeof(t2), "%s/d2/state", u);
    publish_retained(t1, "on", v);
    itest_bridge_t b;
    itest_start_ready(&b, client, cfg);
    itest_wait_count(topic, 1, itest_scale_ms(30000));
    ck_assert_int_eq(itest_bridge_stop(&b, SIGTERM, 30000), 0);
    for (int restart = 1; restart <= 3; restart++) {
        run_once(&b, client, cfg);
        assert_count(&b, topic, 1, "after a restart");
    }
    /* Published while the bridge is down: queued in its session, and also
     * retained; it must arrive once, not once more for a resubscription. */
    publish_retained(t2, "off", v);
    itest_start_ready(&b, client, cfg);
    itest_wait_count(topic, 2, itest_scale_ms(30000));
    itest_sleep_ms(itest_scale_ms(1500));
    ck_assert_int_eq(itest_bridge_stop(&b, SIGTERM, 30000), 0);
    assert_count(&b, topic, 2, "the retained message published while down");
    run_once(&b, client, cfg);
    assert_count(&b, topic, 2, "after one more restart");
    itest_recs_t rs = itest_kafka_read(topic, 2, itest_scale_ms(10000));
    ck_assert_uint_eq(rs.n, 2);
    ck_assert_str_eq(rs.r[0].val, "on");
    ck_assert(itest_rec_header_is(&rs.r[0], "mkb.retained", "true", 4));
    ck_assert_str_eq(rs.r[1].val, "off");
    itest_recs_free(&rs);
    publish_retained(t1, "", v); /* clear the broker's retained messages */
    publish_retained(t2, "", v);
    free(cfg);
    free(u);
    free(client);
    free(topic);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("cover");
    TCase *tc = tcase_create("end_to_end");
    tcase_set_timeout(tc, 240);
    tcase_add_loop_test(tc, test_overlapping_filters_equal_map, 0, 3);
    tcase_add_loop_test(tc, test_retained_once_across_restarts, 0, 3);
    suite_add_tcase(s, tc);
    return check_run(s);
}
