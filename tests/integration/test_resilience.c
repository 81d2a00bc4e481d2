// SPDX-FileCopyrightText: 2026 The mqtt-kafka-bridge authors
// SPDX-License-Identifier: Apache-2.0
/* The production uplink against real brokers: QoS levels, MQTT 5
 * properties, TLS, a Mosquitto restart and a Kafka outage mid-stream,
 * a reload under load, delivery failures. */
#define _GNU_SOURCE /* asprintf */
#include "itest.h"

#include <MQTTAsync.h>
#include <check.h>

#include "check_run.h"
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/socket.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* bridge.yaml text: the MQTT connection (URI, default the plain listener;
 * MQTT_EXTRA: more "  key: value" lines), Kafka (KAFKA_EXTRA lines), then
 * EXTRA (routes, mappings...). */
static char *config(const char *client, const char *uri, const char *mqtt_extra,
                    const char *kafka_extra, const char *extra)
{
    char *buf = NULL;
    ck_assert(asprintf(&buf,
                       "mqtt:\n  uri: \"%s\"\n  client_id: %s\n%s"
                       "kafka:\n  bootstrap: %s\n%s"
                       "%s",
                       uri ? uri : itest_env("MKB_MQTT_URI"), client, mqtt_extra ? mqtt_extra : "",
                       itest_env("MKB_KAFKA_BOOTSTRAP"), kafka_extra ? kafka_extra : "",
                       extra) > 0);
    return buf;
}


/* Counts of each "<prefix><i>" payload (anything after a space ignored):
 * missing and duplicated. */
typedef struct {
    int missing, dups, unknown;
} tally_t;

static tally_t tally(char **vals, size_t count, const char *prefix, int n, int *seen)
{
    tally_t t = {0, 0, 0};
    size_t plen = strlen(prefix);
    memset(seen, 0, (size_t)n * sizeof(int));
    for (size_t i = 0; i < count; i++) {
        char *end = NULL;
        long k = strncmp(vals[i], prefix, plen) == 0 ? strtol(vals[i] + plen, &end, 10) : -1;
        if (k < 0 || k >= n || !end || (*end && *end != ' '))
            t.unknown++;
        else if (seen[k]++)
            t.dups++;
    }
    for (int i = 0; i < n; i++)
        t.missing += seen[i] == 0;
    return t;
}


/* Waits until TOPIC holds at least WANT records and has stopped growing for
 * 3 s (with duplicates, reaching WANT does not mean every record is in). */
static void wait_settled(const char *topic, long long want, int timeout_ms)
{
    long long last = -1;
    int still = 0;
    timeout_ms = itest_scale_ms(timeout_ms);
    for (int waited = 0; waited < timeout_ms; waited += 100) {
        long long have = itest_kafka_count(topic);
        still = have == last ? still + 100 : 0;
        last = have;
        if (have >= want && still >= 3000)
            return;
        itest_sleep_ms(100);
    }
    ck_abort_msg("%s: %lld records after %d ms, want %lld and settled", topic, last, timeout_ms,
                 want);
}


START_TEST(test_qos_levels)
{
    const int n = itest_scale_n(500, 100), qos = _i;
    itest_fix_t f;
    itest_fix_init(&f, "qos", qos, NULL);
    char *cfg = config(f.client, NULL, NULL, NULL, f.routes);
    itest_bridge_t b;
    itest_start_ready(&b, f.client, cfg);
    char *pub = itest_unique("pub");
    itest_mqtt_publish_n(pub, MQTTVERSION_5, f.mtopic, qos, "q-%d", n);
    itest_wait_count(f.topic, n, 30000);
    ck_assert_int_eq(itest_bridge_stop(&b, SIGTERM, 30000), 0);
    char **vals;
    size_t count;
    itest_kafka_read_all(f.topic, (size_t)n, 30000, &vals, &count, NULL, NULL);
    int seen[500];
    tally_t t = tally(vals, count, "q-", n, seen);
    ck_assert_msg(count == (size_t)n && t.missing == 0 && t.dups == 0,
                  "QoS %d: read %zu, %d missing, %d duplicated", qos, count, t.missing, t.dups);
    itest_free_strings(vals, count);
    free(pub);
    free(cfg);
    itest_fix_free(&f);
}
END_TEST

START_TEST(test_user_properties_to_headers)
{
    char *topic = itest_unique("itest.props"), *client = itest_unique("bridge");
    char filter[300], mtopic[300], *routes = NULL;
    snprintf(filter, sizeof(filter), "p/%s/{dev}", topic);
    snprintf(mtopic, sizeof(mtopic), "p/%s/dev-1", topic);
    itest_create_topic(topic);
    ck_assert(asprintf(&routes,
                       "routes:\n  - name: p\n    mqtt: { filter: \"%s\" }\n"
                       "    kafka:\n      topic: %s\n      key: \"{dev}\"\n"
                       "      headers: { site: \"{mqtt.prop.site}\", ct: \"{mqtt.content_type}\","
                       " qos: \"{mqtt.qos}\", retain: \"{mqtt.retain}\", topic: \"{mqtt.topic}\" }\n"
                       "    payload: raw\n",
                       filter, topic) > 0);
    char *cfg = config(client, NULL, NULL, NULL, routes);
    itest_bridge_t b;
    itest_start_ready(&b, client, cfg);
    const char *props[] = {"site", "plant-7", "other", "x", NULL};
    itest_mqtt_publish_v5("pub-props", mtopic, "hello", "text/plain", props);
    itest_wait_count(topic, 1, 30000);
    ck_assert_int_eq(itest_bridge_stop(&b, SIGTERM, 30000), 0);
    char **vals, **keys, **hdrs, want[600];
    size_t count;
    itest_kafka_read_all(topic, 1, 30000, &vals, &count, &keys, &hdrs);
    ck_assert_uint_eq(count, 1);
    ck_assert_str_eq(vals[0], "hello");
    ck_assert_str_eq(keys[0], "dev-1");
    snprintf(want, sizeof(want), "site=plant-7;ct=text/plain;qos=1;retain=false;topic=%s;", mtopic);
    ck_assert_str_eq(hdrs[0], want);
    itest_free_strings(vals, count);
    itest_free_strings(keys, count);
    itest_free_strings(hdrs, count);
    free(cfg);
    free(routes);
    free(client);
    free(topic);
}
END_TEST

START_TEST(test_tls)
{
    itest_fix_t f;
    itest_fix_init(&f, "tls", 1, NULL);
    char ca[600];
    snprintf(ca, sizeof(ca), "  tls: { ca_file: %s/ca.crt }\n", itest_env("MKB_TLS_DIR"));
    char *cfg = config(f.client, itest_env("MKB_MQTT_TLS_URI"), ca, NULL, f.routes);
    itest_bridge_t b;
    itest_start_ready(&b, f.client, cfg);
    itest_mqtt_publish_n("pub-tls", MQTTVERSION_5, f.mtopic, 1, "tls-%d", 100);
    itest_wait_count(f.topic, 100, 30000);
    ck_assert_int_eq(itest_bridge_stop(&b, SIGTERM, 30000), 0);
    free(cfg);

    /* A CA that did not sign the broker's certificate: refused, and said why. */
    snprintf(ca, sizeof(ca), "  tls: { ca_file: %s/other-ca.crt }\n", itest_env("MKB_TLS_DIR"));
    cfg = config("tls-bad", itest_env("MKB_MQTT_TLS_URI"), ca, NULL, f.routes);
    itest_bridge_t bad;
    itest_bridge_start(&bad, "tls-bad", cfg);
    bool said = itest_bridge_wait_log(&bad, "certificate verify failed", 15000);
    bool ready = itest_bridge_wait_log(&bad, "ready: forwarding", 100);
    if (!said || ready)
        itest_bridge_dump_log(&bad);
    ck_assert_int_eq(itest_bridge_stop(&bad, SIGTERM, 30000), 0);
    ck_assert_msg(said, "no TLS verification error logged");
    ck_assert_msg(!ready, "connected with the wrong CA");
    free(cfg);
    itest_fix_free(&f);
}
END_TEST

/* Username and password (from a file) on a listener that requires them;
 * a wrong password is refused with the broker's reason. */
START_TEST(test_username_password)
{
    itest_fix_t f;
    itest_fix_init(&f, "auth", 1, NULL);
    char creds[600];
    snprintf(creds, sizeof(creds), "  username: bridge\n  password_file: %s\n",
             itest_env("MKB_MQTT_PASSWORD_FILE"));
    char *cfg = config(f.client, itest_env("MKB_MQTT_AUTH_URI"), creds, NULL, f.routes);
    itest_bridge_t b;
    itest_start_ready(&b, f.client, cfg);
    /* Published on the anonymous listener of the same broker: it forwards. */
    itest_mqtt_publish_n("pub-auth", MQTTVERSION_5, f.mtopic, 1, "auth-%d", 10);
    itest_wait_count(f.topic, 10, 30000);
    ck_assert_int_eq(itest_bridge_stop(&b, SIGTERM, 30000), 0);
    free(cfg);
    cfg = config("auth-bad", itest_env("MKB_MQTT_AUTH_URI"),
                 "  username: bridge\n  password: wrong\n", NULL, f.routes);
    itest_bridge_t bad;
    itest_bridge_start(&bad, "auth-bad", cfg);
    bool said = itest_bridge_wait_log(&bad, "(Not authorized, code 135)", 15000);
    bool ready = itest_bridge_wait_log(&bad, "ready: forwarding", 100);
    if (!said || ready)
        itest_bridge_dump_log(&bad);
    ck_assert_int_eq(itest_bridge_stop(&bad, SIGTERM, 30000), 0);
    ck_assert_msg(said && !ready, "a wrong password was not refused");
    free(cfg);
    itest_fix_free(&f);
}
END_TEST

/* Reads exactly N bytes from FD within 15 s in all; false on EOF or timeout. */
static bool read_exact(int fd, unsigned char *buf, size_t n)
{
    size_t got = 0;
    while (got < n) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        if (poll(&p, 1, 15000) != 1)
            return false;
        ssize_t r = read(fd, buf + got, n - got);
        if (r <= 0)
            return false;
        got += (size_t)r;
    }
    return true;
}

/* An MQTT variable byte integer from BUF at *AT (MQTT 5, section 1.5.5). */
static unsigned long vbi(const unsigned char *buf, size_t len, size_t *at)
{
    unsigned long v = 0;
    for (unsigned shift = 0; *at < len && shift <= 21; shift += 7) {
        unsigned char b = buf[(*at)++];
        v |= (unsigned long)(b & 0x7f) << shift;
        if (!(b & 0x80))
            break;
    }
    return v;
}

/* Starts a bridge whose MQTT broker is LISTENER (a bare socket), with
 * MQTT_EXTRA, takes its CONNECT packet and returns the Session Expiry
 * Interval in it (MQTT 5, 3.1.2.11.2: property 0x11, a four-byte integer),
 * or -1 if it carried none. */
static long long connect_session_expiry(int listener, int port, const char *mqtt_extra)
{
    char uri[64], *cfg;
    snprintf(uri, sizeof(uri), "tcp://127.0.0.1:%d", port);
    cfg = config("expiry-wire", uri, mqtt_extra, NULL,
                 "routes:\n  - name: r\n    mqtt: { filter: \"x/#\", qos: 1 }\n"
                 "    kafka: { topic: expiry-wire }\n    payload: raw\n");
    itest_bridge_t b;
    itest_bridge_start(&b, "expiry-wire", cfg);
    free(cfg);
    struct pollfd p = {.fd = listener, .events = POLLIN};
    ck_assert_msg(poll(&p, 1, 15000) == 1, "the bridge did not connect within 15 s");
    int fd = accept(listener, NULL, NULL);
    ck_assert(fd >= 0);
    unsigned char hdr[5], pkt[512];
    ck_assert_msg(read_exact(fd, hdr, 2) && hdr[0] == 0x10, "no CONNECT packet");
    size_t n = 1, rem = hdr[1] & 0x7f;
    for (unsigned shift = 7; hdr[n] & 0x80; shift += 7) { /* remaining length, 1.5.5 */
        ck_assert(n < 4 && read_exact(fd, hdr + n + 1, 1));
        n++;
        rem |= (size_t)(hdr[n] & 0x7f) << shift;
    }
    ck_assert(rem <= sizeof(pkt) && read_exact(fd, pkt, rem));
    close(fd);
    itest_bridge_stop(&b, SIGTERM, 30000);
    /* Protocol name "MQTT" (6 bytes), level 5, flags, keepalive (2). */
    ck_assert_msg(rem > 10 && memcmp(pkt, "\0\4MQTT\5", 7) == 0, "not an MQTT 5 CONNECT");
    size_t at = 10;
    size_t end = at + vbi(pkt, rem, &at);
    ck_assert(end <= rem);
    while (at < end) {
        unsigned char id = pkt[at++];
        if (id == 0x11 && at + 4 <= end)
            return (long long)pkt[at] << 24 | pkt[at + 1] << 16 | pkt[at + 2] << 8 | pkt[at + 3];
        ck_assert_msg(id == 0x11 || id == 0x21 || id == 0x27 || id == 0x22,
                      "unexpected CONNECT property 0x%02x", id);
        at += id == 0x27 ? 4 : 2; /* maximum packet size; receive maximum, topic alias max */
    }
    return -1;
}

/* The session expiry goes out as configured, 4294967295 (never) included:
 * Paho 1.3.12 wrote four-byte integers of 2^31 or more wrong and sent the
 * default as 255 s (third_party/paho/int4.patch), after which Mosquitto
 * dropped the session and the messages it held for the bridge. */
START_TEST(test_session_expiry_on_wire)
{
    int port = itest_free_port();
    int listener = socket(AF_INET, SOCK_STREAM, 0);
    ck_assert(listener >= 0);
    int one = 1;
    setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ck_assert(bind(listener, (struct sockaddr *)&sa, sizeof(sa)) == 0 && listen(listener, 4) == 0);
    ck_assert_int_eq(connect_session_expiry(listener, port, NULL), 4294967295LL);
    ck_assert_int_eq(connect_session_expiry(listener, port, "  session_expiry_s: 3000000000\n"),
                     3000000000LL);
    ck_assert_int_eq(connect_session_expiry(listener, port, "  session_expiry_s: 3600\n"), 3600);
    close(listener);
}
END_TEST

/* Mosquitto (persistence on) restarted while the bridge drains a backlog,
 * then more messages after the restart: every one reaches Kafka. */
START_TEST(test_mosquitto_restart_mid_stream)
{
    const int before = 30000, after = 1000, n = before + after;
    itest_fix_t f;
    itest_fix_init(&f, "mrestart", 1, NULL);
    char *cfg = config(f.client, NULL, NULL, NULL, f.routes);
    itest_bridge_t b;
    itest_start_ready(&b, f.client, cfg); /* creates the persistent session */
    ck_assert_int_eq(itest_bridge_stop(&b, SIGTERM, 30000), 0);
    itest_mqtt_publish_n("pub-m1", MQTTVERSION_5, f.mtopic, 1, "m-%d", before);
    itest_bridge_start(&b, f.client, cfg);
    long long at = 0;
    for (int i = 0; i < 3000 && (at = itest_kafka_count(f.topic)) < 1000; i++)
        itest_sleep_ms(5);
    itest_harness_ctl("restart-mosquitto");
    fprintf(stderr, "mosquitto restarted with %lld of %d records in Kafka\n", at, before);
    ck_assert_msg(at < before, "the backlog drained before the restart: not mid-stream");
    ck_assert_msg(itest_bridge_wait_log(&b, "connection to", 30000), "no reconnect logged");
    /* After the restart: ids before..n-1, in blocks of 100 ("m-300%02d"). */
    for (int i = 0; i < after; i += 100) {
        char f2[64];
        snprintf(f2, sizeof(f2), "m-%d%%02d", (before + i) / 100);
        itest_mqtt_publish_n("pub-m2", MQTTVERSION_5, f.mtopic, 1, f2, 100);
    }
    wait_settled(f.topic, n, 120000);
    ck_assert_int_eq(itest_bridge_stop(&b, SIGTERM, 60000), 0);
    char **vals;
    size_t count;
    itest_kafka_read_all(f.topic, (size_t)n, 60000, &vals, &count, NULL, NULL);
    int *seen = calloc((size_t)n, sizeof(int));
    tally_t t = tally(vals, count, "m-", n, seen);
    fprintf(stderr, "mosquitto restart: published %d, in Kafka %zu, lost %d, duplicated %d\n", n,
            count, t.missing, t.dups);
    ck_assert_msg(t.missing == 0 && t.unknown == 0, "%d lost, %d unknown", t.missing, t.unknown);
    free(seen);
    itest_free_strings(vals, count);
    free(cfg);
    itest_fix_free(&f);
}
END_TEST

/* Kafka stopped for 20 s mid-stream: nothing lost, memory bounded. */
START_TEST(test_kafka_outage)
{
    const int n = 20000;
#ifdef __SANITIZE_ADDRESS__
    const long rss_bound_kib = 256L * 1024; /* ASan's shadow memory and quarantine */
#else
    const long rss_bound_kib = 32L * 1024; /* measured ~13 MiB with a 2 MiB queue */
#endif
    itest_fix_t f;
    itest_fix_init(&f, "koutage", 1, NULL);
    /* A 2 MiB producer queue: the 4 MB published during the outage cannot
     * fit, so MQTT intake must pause and the broker keep the rest. */
    char *cfg = config(f.client, NULL, NULL, "  properties: { queue.buffering.max.kbytes: 2048 }\n",
                       f.routes);
    itest_bridge_t b;
    itest_start_ready(&b, f.client, cfg);
    itest_mqtt_publish_n("pub-k0", MQTTVERSION_5, f.mtopic, 1, "k-%d", 100); /* warm */
    itest_wait_count(f.topic, 100, 30000);
    itest_harness_ctl("stop-kafka");
    /* ~200-byte readings: ids 0..n-1 (the first 100 are already there). */
    char fmt[300];
    snprintf(fmt, sizeof(fmt), "k-%%d {\"temp_f\":71.6,\"rh\":41.5,\"aqi\":37,\"pad\":\"%0150d\"}",
             0);
    itest_mqtt_publish_n("pub-k1", MQTTVERSION_5, f.mtopic, 1, fmt, n);
    long max_rss = 0;
    for (int i = 0; i < 200; i++) { /* 20 s outage, RSS sampled every 100 ms */
        long rss = itest_rss_kib(b.pid);
        if (rss > max_rss)
            max_rss = rss;
        itest_sleep_ms(100);
    }
    itest_harness_ctl("start-kafka");
    wait_settled(f.topic, n + 100, 180000);
    long rss = itest_rss_kib(b.pid);
    if (rss > max_rss)
        max_rss = rss;
    ck_assert_int_eq(itest_bridge_stop(&b, SIGTERM, 60000), 0);
    char **vals;
    size_t count;
    itest_kafka_read_all(f.topic, (size_t)n + 100, 60000, &vals, &count, NULL, NULL);
    int *seen = calloc((size_t)n, sizeof(int));
    /* the 100 warm-up records are "k-0".."k-99" too: count them out */
    tally_t t = tally(vals, count, "k-", n, seen);
    fprintf(stderr, "kafka outage: published %d, in Kafka %zu, lost %d, peak RSS %ld KiB "
                    "(bound %ld)\n",
            n + 100, count, t.missing, max_rss, rss_bound_kib);
    ck_assert_msg(t.missing == 0, "%d lost", t.missing);
    /* Under valgrind (MKB_TEST_SCALE > 1) the process's RSS is mostly
     * valgrind's own: the bound holds for make check and make asan. */
    if (itest_scale() == 1)
        ck_assert_msg(max_rss < rss_bound_kib, "peak RSS %ld KiB >= %ld KiB", max_rss,
                      rss_bound_kib);
    free(seen);
    itest_free_strings(vals, count);
    free(cfg);
    itest_fix_free(&f);
}
END_TEST

typedef struct {
    const char *topic;
    int n;
} pubjob_t;

static void *publish_job(void *arg)
{
    pubjob_t *j = arg;
    itest_mqtt_publish_n("pub-reload", MQTTVERSION_5, j->topic, 1, "h-%d", j->n);
    return NULL;
}

/* SIGHUP with a changed rule while messages flow: nothing lost, and the new
 * rule takes over at one point of the stream. A broken file keeps the rules. */
START_TEST(test_sighup_reload_under_load)
{
    const int n = 6000;
    char *ta = itest_unique("itest.reloadA"), *tb = itest_unique("itest.reloadB");
    char *client = itest_unique("bridge");
    char filter[300], mtopic[300], mapfile[600], *m1 = NULL, *m2 = NULL, *extra = NULL;
    snprintf(filter, sizeof(filter), "h/%s/#", ta);
    snprintf(mtopic, sizeof(mtopic), "h/%s/x", ta);
    snprintf(mapfile, sizeof(mapfile), "%s/%s-routes.yaml", itest_env("MKB_HARNESS_DIR"), client);
    itest_create_topic(ta);
    itest_create_topic(tb);
    ck_assert(asprintf(&m1, "routes:\n  - name: h\n    mqtt: { filter: \"%s\" }\n"
                            "    kafka: { topic: %s }\n    payload: raw\n", filter, ta) > 0);
    ck_assert(asprintf(&m2, "routes:\n  - name: h\n    mqtt: { filter: \"%s\" }\n"
                            "    kafka: { topic: %s }\n    payload: raw\n", filter, tb) > 0);
    itest_write_file(mapfile, m1);
    ck_assert(asprintf(&extra, "mappings: [ \"%s\" ]\n", mapfile) > 0);
    char *cfg = config(client, NULL, NULL, NULL, extra);
    itest_bridge_t b;
    itest_start_ready(&b, client, cfg);
    itest_publish_pause_us = 300;
    pubjob_t job = {mtopic, n};
    pthread_t th;
    pthread_create(&th, NULL, publish_job, &job);
    itest_wait_count(ta, 1000, 30000);
    itest_write_file(mapfile, m2);
    kill(b.pid, SIGHUP);
    ck_assert_msg(itest_bridge_wait_log(&b, "reloaded: 1 route(s)", 10000), "no reload");
    pthread_join(th, NULL);
    itest_publish_pause_us = 0;
    /* A broken file: the running rules stay. */
    itest_write_file(mapfile, "routes:\n  - name: h\n    mqtt: { filter: \"a/{x\" }\n");
    kill(b.pid, SIGHUP);
    ck_assert_msg(itest_bridge_wait_log(&b, "reload failed; keeping the running routes", 10000),
                  "broken reload not reported");
    long long a_count = itest_kafka_count(ta);
    wait_settled(tb, n - a_count, 30000);
    /* A new filter: subscribed; the old one: unsubscribed. */
    char f2[300], t2[300], *m3 = NULL;
    snprintf(f2, sizeof(f2), "h2/%s/#", ta);
    snprintf(t2, sizeof(t2), "h2/%s/x", ta);
    ck_assert(asprintf(&m3, "routes:\n  - name: h\n    mqtt: { filter: \"%s\" }\n"
                            "    kafka: { topic: %s }\n    payload: raw\n", f2, tb) > 0);
    itest_write_file(mapfile, m3);
    kill(b.pid, SIGHUP);
    ck_assert_msg(itest_bridge_wait_log(&b, "subscriptions updated: 1 added or changed, 1 removed",
                                        10000), "subscriptions not diffed");
    ck_assert_msg(itest_bridge_wait_log(&b, "unsubscribed from 1 filter(s)", 10000),
                  "no unsubscribe");
    long long b_before = itest_kafka_count(tb);
    itest_mqtt_publish_n("pub-old", MQTTVERSION_5, mtopic, 1, "old-%d", 10);
    itest_mqtt_publish_n("pub-new", MQTTVERSION_5, t2, 1, "new-%d", 10);
    wait_settled(tb, b_before + 10, 30000);
    ck_assert_int_eq(itest_kafka_count(tb), b_before + 10); /* the old filter is gone */
    ck_assert_int_eq(itest_kafka_count(ta), a_count);
    free(m3);
    ck_assert_int_eq(itest_bridge_stop(&b, SIGTERM, 30000), 0);
    ck_assert_msg(itest_bridge_wait_log(&b, "unmatched=0 ", 100), "messages went unmatched");

    char **va, **vb;
    size_t ca, cb;
    itest_kafka_read_all(ta, 1, 30000, &va, &ca, NULL, NULL);
    itest_kafka_read_all(tb, 1, 30000, &vb, &cb, NULL, NULL);
    char **all = calloc(ca + cb, sizeof(char *));
    memcpy(all, va, ca * sizeof(char *));
    memcpy(all + ca, vb, cb * sizeof(char *));
    size_t nall = 0;
    for (size_t i = 0; i < ca + cb; i++) /* leave out the new-* records of the last reload */
        if (strncmp(all[i], "h-", 2) == 0)
            all[nall++] = all[i];
    int *seen = calloc((size_t)n, sizeof(int));
    tally_t t = tally(all, nall, "h-", n, seen);
    long max_a = -1, min_b = n;
    for (size_t i = 0; i < ca; i++)
        if (atol(va[i] + 2) > max_a)
            max_a = atol(va[i] + 2);
    for (size_t i = 0; i < cb; i++)
        if (strncmp(vb[i], "h-", 2) == 0 && atol(vb[i] + 2) < min_b)
            min_b = atol(vb[i] + 2);
    fprintf(stderr, "reload: %zu records before (ids ..%ld), %zu after (ids %ld..), %d lost, "
                    "%d duplicated\n",
            ca, max_a, cb, min_b, t.missing, t.dups);
    ck_assert_msg(t.missing == 0 && t.dups == 0 && t.unknown == 0, "%d lost %d dups", t.missing,
                  t.dups);
    ck_assert_msg(ca > 0 && cb > 0 && max_a < min_b, "the switch is not one cut in the stream");
    free(all);
    free(seen);
    itest_free_strings(va, ca);
    itest_free_strings(vb, cb);
    free(cfg);
    free(extra);
    free(m1);
    free(m2);
    free(client);
    free(ta);
    free(tb);
}
END_TEST

/* A record Kafka refuses for good (too large for its topic) goes to the
 * dead-letter topic with the reason; the bridge exits 0, nothing lost. */
START_TEST(test_delivery_failure_dead_letter)
{
    const char *small[] = {"max.message.bytes", "1000", NULL};
    itest_fix_t f;
    itest_fix_init(&f, "small", 1, small);
    char *dlq = itest_unique("itest.dlq2"), *extra = NULL;
    itest_create_topic(dlq);
    ck_assert(asprintf(&extra, "  dead_letter_topic: %s\n", dlq) > 0);
    char *cfg = config(f.client, NULL, NULL, extra, f.routes);
    itest_bridge_t b;
    itest_start_ready(&b, f.client, cfg);
    /* 6000 bytes that do not compress much below 1000. */
    char big[6001];
    unsigned x = 12345;
    for (int i = 0; i < 6000; i++) {
        x = x * 1103515245u + 12345u;
        big[i] = (char)('!' + (x >> 16) % 90);
    }
    big[6000] = '\0';
    for (char *p = big; *p; p++)
        if (*p == '%')
            *p = '#'; /* it is used as a printf format below */
    itest_mqtt_publish_n("pub-big", MQTTVERSION_5, f.mtopic, 1, big, 1);
    itest_wait_count(dlq, 1, 60000);
    int st = itest_bridge_stop(&b, SIGTERM, 30000);
    if (st != 0)
        itest_bridge_dump_log(&b);
    ck_assert_int_eq(st, 0);
    ck_assert_msg(itest_bridge_wait_log(&b, "failed deliveries by reason: MSG_SIZE_TOO_LARGE=1", 100),
                  "failures not counted by reason");
    char **vals, **hdrs;
    size_t count;
    itest_kafka_read_all(dlq, 1, 30000, &vals, &count, NULL, &hdrs);
    ck_assert_uint_eq(count, 1);
    ck_assert_msg(strcmp(vals[0], big) == 0, "the dead letter is not the original payload");
    ck_assert_msg(strstr(hdrs[0], "mkb.reason=delivery to ") &&
                      strstr(hdrs[0], "MSG_SIZE_TOO_LARGE"),
                  "%s", hdrs[0]);
    itest_free_strings(vals, count);
    itest_free_strings(hdrs, count);
    free(cfg);
    free(extra);
    free(dlq);
    itest_fix_free(&f);
}
END_TEST

/* Two bridges in one shared-subscription group split the stream: each
 * message reaches Kafka once, through one of them. */
START_TEST(test_shared_subscription)
{
    const int n = itest_scale_n(2000, 200);
    itest_fix_t f;
    itest_fix_init(&f, "shared", 1, NULL);
    char *c2 = itest_unique("bridge");
    char *cfg1 = config(f.client, NULL, "  shared_group: g1\n", NULL, f.routes);
    char *cfg2 = config(c2, NULL, "  shared_group: g1\n", NULL, f.routes);
    itest_bridge_t b1, b2;
    itest_start_ready(&b1, f.client, cfg1);
    itest_start_ready(&b2, c2, cfg2);
    itest_mqtt_publish_n("pub-shared", MQTTVERSION_5, f.mtopic, 1, "s-%d", n);
    wait_settled(f.topic, n, 60000);
    ck_assert_int_eq(itest_bridge_stop(&b1, SIGTERM, 30000), 0);
    ck_assert_int_eq(itest_bridge_stop(&b2, SIGTERM, 30000), 0);
    char **vals;
    size_t count;
    itest_kafka_read_all(f.topic, (size_t)n, 30000, &vals, &count, NULL, NULL);
    int *seen = calloc((size_t)n, sizeof(int));
    tally_t t = tally(vals, count, "s-", n, seen);
    ck_assert_msg(count == (size_t)n && t.missing == 0 && t.dups == 0,
                  "read %zu: %d missing %d dups", count, t.missing, t.dups);
    /* Both took part: each bridge's log counts what it received. */
    ck_assert_msg(!itest_bridge_wait_log(&b1, "received=0 ", 100) &&
                      !itest_bridge_wait_log(&b2, "received=0 ", 100),
                  "one bridge received nothing: not shared");
    free(seen);
    itest_free_strings(vals, count);
    free(cfg1);
    free(cfg2);
    free(c2);
    itest_fix_free(&f);
}
END_TEST

/* A bad librdkafka property fails start-up with librdkafka's own words. */
/* The spool: SIGKILL twice while a backlog drains, restart, nothing lost;
 * every record carries an mkb.id header. */
START_TEST(test_spool_sigkill)
{
    const int n = itest_scale_n(20000, 2000); /* MKB_TEST_SCALE: fewer */
    itest_fix_t f;
    itest_fix_init(&f, "spoolkill", 1, NULL);
    char *spool = NULL, *extra = NULL;
    ck_assert(asprintf(&spool, "%s/%s.spool", itest_env("MKB_HARNESS_DIR"), f.client) > 0);
    ck_assert(asprintf(&extra, "spool: { dir: \"%s\", fsync: interval }\n%s", spool,
                       f.routes) > 0);
    char *cfg = config(f.client, NULL, NULL, NULL, extra);
    itest_bridge_t b;
    itest_start_ready(&b, f.client, cfg); /* the persistent session */
    ck_assert_int_eq(itest_bridge_stop(&b, SIGTERM, 30000), 0);
    itest_mqtt_publish_n("pub-s1", MQTTVERSION_5, f.mtopic, 1, "s-%d", n);
    for (int kill = 0; kill < 2; kill++) {
        itest_bridge_start(&b, f.client, cfg);
        long long at = 0;
        /* the kills at 15% and 30% of the stream (or after 6 s) */
        for (int i = 0; i < 3000 * itest_scale() &&
                        (at = itest_kafka_count(f.topic)) < (long long)n * 3 / 20 * (kill + 1);
             i++)
            itest_sleep_ms(2);
        ck_assert_int_eq(itest_bridge_stop(&b, SIGKILL, 10000), 128 + SIGKILL);
        fprintf(stderr, "spool: SIGKILL %d with %lld records in Kafka\n", kill + 1, at);
    }
    itest_bridge_start(&b, f.client, cfg);
    wait_settled(f.topic, n, 120000);
    ck_assert_int_eq(itest_bridge_stop(&b, SIGTERM, 60000), 0);
    char **vals, **hdrs;
    size_t count;
    itest_kafka_read_all(f.topic, (size_t)n, 60000, &vals, &count, NULL, &hdrs);
    int *seen = calloc((size_t)n, sizeof(int));
    tally_t t = tally(vals, count, "s-", n, seen);
    size_t with_id = 0;
    for (size_t i = 0; i < count; i++)
        with_id += strstr(hdrs[i], "mkb.id=") != NULL;
    fprintf(stderr, "spool SIGKILL: published %d, in Kafka %zu, lost %d, duplicated %d\n", n,
            count, t.missing, t.dups);
    ck_assert_msg(t.missing == 0 && t.unknown == 0, "%d lost, %d unknown", t.missing, t.unknown);
    ck_assert_uint_eq(with_id, count);
    free(seen);
    itest_free_strings(vals, count);
    itest_free_strings(hdrs, count);
    free(cfg);
    free(extra);
    free(spool);
    itest_fix_free(&f);
}
END_TEST

/* A full disk under the spool (a small tmpfs, filled): the bridge says so,
 * stops taking MQTT messages, and resumes when space is freed; nothing is
 * lost. Needs root for the mount (CI runs as root). */
START_TEST(test_spool_disk_full)
{
    if (geteuid() != 0) {
        fprintf(stderr, "spool disk full: SKIPPED (mounting a tmpfs needs root)\n");
        return;
    }
    const int n = 6000;
    itest_fix_t f;
    itest_fix_init(&f, "spoolfull", 1, NULL);
    char *mnt = NULL, *filler = NULL, *cmd = NULL, *extra = NULL;
    ck_assert(asprintf(&mnt, "%s/%s.tmpfs", itest_env("MKB_HARNESS_DIR"), f.client) > 0);
    ck_assert(asprintf(&filler, "%s/filler", mnt) > 0);
    ck_assert(asprintf(&cmd, "mkdir -p %s && mount -t tmpfs -o size=4m mkb-test %s", mnt, mnt) >
              0);
    ck_assert_msg(system(cmd) == 0, "%s failed", cmd);
    ck_assert(asprintf(&extra, "spool: { dir: \"%s/spool\", segment_bytes: 1048576, "
                               "max_bytes: 2097152 }\n%s",
                       mnt, f.routes) > 0);
    char *cfg = config(f.client, NULL, NULL, NULL, extra);
    itest_bridge_t b;
    itest_start_ready(&b, f.client, cfg);
    /* Something else fills the disk to the last byte after the start: the
     * bridge fits its segments to the free space it sees at start, and
     * deletes delivered ones when the disk fills, so with Kafka up it does
     * not stay stuck on a disk it filled itself (test_spool and the
     * disk-full fault scenario cover that). */
    free(cmd);
    ck_assert(asprintf(&cmd, "dd if=/dev/zero of=%s bs=64k status=none 2>/dev/null || test -s %s",
                       filler, filler) > 0);
    ck_assert_msg(system(cmd) == 0, "%s failed", cmd);
    char fmt[300]; /* ~330-byte records: 2 MB in all, no space free */
    snprintf(fmt, sizeof(fmt), "d-%%d {\"pad\":\"%0250d\"}", 0);
    itest_mqtt_publish_n("pub-d1", MQTTVERSION_5, f.mtopic, 1, fmt, n);
    bool reported = itest_bridge_wait_log(&b, "No space left on device; MQTT intake paused", 30000);
    long long stuck = itest_kafka_count(f.topic);
    if (!reported)
        itest_bridge_dump_log(&b);
    ck_assert_msg(reported, "disk full not reported");
    ck_assert_msg(stuck < n, "all %lld records arrived although the disk was full", stuck);
    ck_assert_int_eq(unlink(filler), 0);
    ck_assert_msg(itest_bridge_wait_log(&b, "spool writable again", 30000), "no resume logged");
    wait_settled(f.topic, n, 120000);
    ck_assert_int_eq(itest_bridge_stop(&b, SIGTERM, 60000), 0);
    char **vals;
    size_t count;
    itest_kafka_read_all(f.topic, (size_t)n, 60000, &vals, &count, NULL, NULL);
    int *seen = calloc((size_t)n, sizeof(int));
    tally_t t = tally(vals, count, "d-", n, seen);
    fprintf(stderr, "spool disk full: published %d, %lld in Kafka while full, in Kafka %zu, "
                    "lost %d, duplicated %d\n",
            n, stuck, count, t.missing, t.dups);
    ck_assert_msg(t.missing == 0 && t.unknown == 0, "%d lost, %d unknown", t.missing, t.unknown);
    free(cmd);
    ck_assert(asprintf(&cmd, "umount %s", mnt) > 0);
    ck_assert_msg(system(cmd) == 0, "%s failed", cmd);
    free(seen);
    itest_free_strings(vals, count);
    free(cfg);
    free(extra);
    free(cmd);
    free(filler);
    free(mnt);
    itest_fix_free(&f);
}
END_TEST

/* The number after "NAME=" in the bridge's last stats line, or -1. */
static long long log_stat(const itest_bridge_t *b, const char *name)
{
    FILE *f = fopen(b->log_path, "r");
    ck_assert_ptr_nonnull(f);
    char line[4096], key[64];
    long long v = -1;
    snprintf(key, sizeof(key), " %s=", name);
    while (fgets(line, sizeof(line), f)) {
        char *p = strstr(line, key);
        if (p)
            v = atoll(p + strlen(key));
    }
    fclose(f);
    return v;
}

/* Kafka away, the spool's max_bytes reached: with on_full block the bridge
 * stops taking messages (the broker keeps them) and nothing is lost; with
 * drop_oldest it drops whole segments and counts exactly what it dropped. */
START_TEST(test_spool_full_policies)
{
    const int n = 15000; /* ~330-byte records: ~5 MB against a 2 MiB spool */
    const char *policy = _i == 0 ? "block" : "drop_oldest";
    itest_fix_t f;
    itest_fix_init(&f, _i == 0 ? "spoolblock" : "spooldrop", 1, NULL);
    char *extra = NULL;
    ck_assert(asprintf(&extra,
                       "spool: { dir: \"%s/%s.spool\", segment_bytes: 1048576, "
                       "max_bytes: 2097152, on_full: %s }\n%s",
                       itest_env("MKB_HARNESS_DIR"), f.client, policy, f.routes) > 0);
    /* A 1 MiB producer queue, so most of the backlog is only in the spool. */
    char *cfg = config(f.client, NULL, NULL, "  properties: { queue.buffering.max.kbytes: 1024 }\n",
                       extra);
    itest_bridge_t b;
    itest_start_ready(&b, f.client, cfg);
    itest_harness_ctl("stop-kafka");
    char fmt[300];
    snprintf(fmt, sizeof(fmt), "p-%%d {\"pad\":\"%0250d\"}", 0);
    itest_mqtt_publish_n("pub-p1", MQTTVERSION_5, f.mtopic, 1, fmt, n);
    const char *want = _i == 0 ? "spool full (spool.max_bytes reached, on_full: block)"
                               : "deleted the oldest segment";
    bool seen = itest_bridge_wait_log(&b, want, 60000);
    itest_harness_ctl("start-kafka");
    if (!seen)
        itest_bridge_dump_log(&b);
    ck_assert_msg(seen, "no '%s' in the log", want);
    wait_settled(f.topic, _i == 0 ? n : 1, 180000);
    ck_assert_int_eq(itest_bridge_stop(&b, SIGTERM, 60000), 0);
    long long dropped = log_stat(&b, "dropped");
    char **vals;
    size_t count;
    itest_kafka_read_all(f.topic, (size_t)(n - dropped), 60000, &vals, &count, NULL, NULL);
    int *seen_ids = calloc((size_t)n, sizeof(int));
    tally_t t = tally(vals, count, "p-", n, seen_ids);
    fprintf(stderr, "spool full, %s: published %d, in Kafka %zu, missing %d, dropped (counted) "
                    "%lld, duplicated %d\n",
            policy, n, count, t.missing, dropped, t.dups);
    ck_assert_int_eq(t.unknown, 0);
    if (_i == 0) {
        ck_assert_msg(t.missing == 0, "%d lost", t.missing);
        ck_assert_int_eq(dropped, 0);
    } else {
        ck_assert_msg(dropped > 0, "nothing dropped");
        ck_assert_int_eq(t.missing, dropped); /* exactly what was counted */
    }
    free(seen_ids);
    itest_free_strings(vals, count);
    free(cfg);
    free(extra);
    itest_fix_free(&f);
}
END_TEST

/* A spool directory that cannot be made: exit 1 with the path and reason. */
START_TEST(test_spool_dir_unusable)
{
    char *file = NULL, *extra = NULL;
    ck_assert(asprintf(&file, "%s/not-a-dir", itest_env("MKB_HARNESS_DIR")) > 0);
    itest_write_file(file, "x\n");
    ck_assert(asprintf(&extra, "spool: { dir: \"%s/spool\" }\n"
                               "routes: [ { name: a, mqtt: { filter: a }, kafka: { topic: a } } ]\n",
                       file) > 0);
    char *cfg = config("spool-bad", NULL, NULL, NULL, extra);
    itest_bridge_t b;
    itest_bridge_start(&b, "spool-bad", cfg);
    ck_assert_int_eq(itest_bridge_stop(&b, 0, 10000), 1);
    char want[600];
    snprintf(want, sizeof(want), "spool: cannot use directory %s/spool: Not a directory", file);
    ck_assert_msg(itest_bridge_wait_log(&b, want, 100), "no clear error");
    free(cfg);
    free(extra);
    free(file);
}
END_TEST

START_TEST(test_bad_kafka_property)
{
    char *cfg = config("bad-prop", NULL, NULL, "  properties: { linger.ms: banana }\n",
                       "routes: [ { name: a, mqtt: { filter: a }, kafka: { topic: a } } ]\n");
    itest_bridge_t b;
    itest_bridge_start(&b, "bad-prop", cfg);
    ck_assert_int_eq(itest_bridge_stop(&b, 0, 10000), 2);
    /* librdkafka names the property by its canonical name (linger.ms is an alias). */
    ck_assert_msg(itest_bridge_wait_log(&b, "kafka.properties: linger.ms=banana: Invalid value "
                                            "for configuration property", 100),
                  "no librdkafka message");
    free(cfg);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("resilience");
    TCase *tc = tcase_create("uplink");
    tcase_set_timeout(tc, 120);
    tcase_add_loop_test(tc, test_qos_levels, 0, 3);
    tcase_add_test(tc, test_user_properties_to_headers);
    tcase_add_test(tc, test_tls);
    tcase_add_test(tc, test_username_password);
    tcase_add_test(tc, test_session_expiry_on_wire);
    tcase_add_test(tc, test_bad_kafka_property);
    tcase_add_test(tc, test_shared_subscription);
    tcase_add_test(tc, test_delivery_failure_dead_letter);
    suite_add_tcase(s, tc);
    TCase *faults = tcase_create("faults");
    tcase_set_timeout(faults, 300);
    tcase_add_test(faults, test_sighup_reload_under_load);
    tcase_add_test(faults, test_mosquitto_restart_mid_stream);
    tcase_add_test(faults, test_kafka_outage);
    suite_add_tcase(s, faults);
    TCase *spool = tcase_create("spool");
    tcase_set_timeout(spool, 300);
    tcase_add_test(spool, test_spool_sigkill);
    tcase_add_test(spool, test_spool_disk_full);
    tcase_add_loop_test(spool, test_spool_full_policies, 0, 2);
    tcase_add_test(spool, test_spool_dir_unusable);
    suite_add_tcase(s, spool);
    return check_run(s);
}
