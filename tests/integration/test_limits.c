// SPDX-FileCopyrightText: 2026 The mqtt-kafka-bridge authors
// SPDX-License-Identifier: Apache-2.0
/* Hostile input end to end: real Mosquitto -> the bridge binary -> real
 * Kafka. Oversized payloads, deep JSON, huge arrays, invalid UTF-8 and NUL
 * bytes in payloads and topics, illegal rendered Kafka topic names, topics up
 * to the MQTT maximum of 65,535 bytes and a flood of distinct topics. Each
 * test checks the outcome record by record (dead letters with their reason
 * and original bytes), then that the bridge is still healthy: a good message
 * sent after the hostile ones arrives, the process is running, SIGTERM ends
 * it with status 0 (nothing lost), and its memory stayed bounded.
 * Messages Mosquitto itself refuses (invalid UTF-8 or U+0000 in a topic) are
 * sent over a plain socket, since Paho would not send them. */
#define _GNU_SOURCE /* asprintf, memmem */
#include "itest.h"

#include <MQTTAsync.h>
#include <check.h>

#include "check_run.h"
#include <errno.h>
#include <librdkafka/rdkafka.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- what most tests start from -------------------------------------- */

/* A topic (a unique name from PREFIX), a dead-letter topic, both created
 * with CONFIGS (NULL-terminated name, value pairs; NULL: none), and a
 * bridge client id. */
typedef struct {
    char *topic, *dlq, *client;
} lim_t;

static void lim_init(lim_t *l, const char *prefix, const char *const *configs)
{
    l->topic = itest_unique(prefix);
    l->dlq = itest_unique("itest.lim-dlq");
    l->client = itest_unique("bridge");
    itest_create_topic_cfg(l->topic, configs);
    itest_create_topic_cfg(l->dlq, configs);
}

static void lim_free(lim_t *l)
{
    free(l->client);
    free(l->dlq);
    free(l->topic);
}

/* ---- MQTT over a plain socket, for what Paho refuses to send ------------ */

static int mqtt_socket(void)
{
    const char *uri = itest_env("MKB_MQTT_URI"); /* tcp://127.0.0.1:PORT */
    const char *colon = strrchr(uri, ':');
    ck_assert(colon != NULL);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)atoi(colon + 1))};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    ck_assert(fd >= 0);
    ck_assert_msg(connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0, "connect: %s",
                  strerror(errno));
    return fd;
}

static size_t put_varint(unsigned char *p, size_t v)
{
    size_t n = 0;
    do {
        unsigned char b = v % 128;
        v /= 128;
        p[n++] = (unsigned char)(b | (v ? 0x80 : 0));
    } while (v);
    return n;
}

static void send_all(int fd, const unsigned char *p, size_t n)
{
    while (n) {
        ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
        if (w <= 0)
            return; /* the broker closed it: the caller sees that on read */
        p += w;
        n -= (size_t)w;
    }
}

/* Reads one packet's first byte within TIMEOUT_MS: the packet type byte, 0
 * if the broker closed the connection, -1 on timeout. Drains the rest. */
static int read_packet(int fd, int timeout_ms, unsigned char *body, size_t *body_len)
{
    struct pollfd pf = {fd, POLLIN, 0};
    if (poll(&pf, 1, timeout_ms) <= 0)
        return -1;
    unsigned char type;
    if (recv(fd, &type, 1, 0) != 1)
        return 0;
    size_t len = 0, mul = 1;
    unsigned char b;
    do {
        if (recv(fd, &b, 1, MSG_WAITALL) != 1)
            return 0;
        len += (b & 127) * mul;
        mul *= 128;
    } while (b & 128);
    unsigned char buf[256];
    size_t got = 0;
    while (got < len) {
        size_t want = len - got < sizeof(buf) ? len - got : sizeof(buf);
        ssize_t r = recv(fd, buf, want, MSG_WAITALL);
        if (r <= 0)
            return 0;
        if (body && got == 0) {
            memcpy(body, buf, (size_t)r < 16 ? (size_t)r : 16);
            *body_len = (size_t)r < 16 ? (size_t)r : 16;
        }
        got += (size_t)r;
    }
    return type;
}

/* Connects with protocol level LEVEL (4: 3.1.1, 5) and publishes one QoS 1
 * message on the raw topic bytes TOPIC[0..TLEN). Returns what came back:
 * "puback", "closed", "disconnect(0xNN)" or "timeout". */
static const char *raw_publish(int level, const unsigned char *topic, size_t tlen,
                               const char *payload, char *out, size_t out_size)
{
    int fd = mqtt_socket();
    char id[64];
    snprintf(id, sizeof(id), "limits-raw-%d-%lld", (int)getpid(), now_ms());
    unsigned char pkt[1024], var[1024];
    size_t v = 0;
    const unsigned char proto[] = {0, 4, 'M', 'Q', 'T', 'T'};
    memcpy(var, proto, sizeof(proto));
    v += sizeof(proto);
    var[v++] = (unsigned char)level;
    var[v++] = 0x02; /* clean session / clean start */
    var[v++] = 0;
    var[v++] = 30; /* keepalive */
    if (level == 5)
        var[v++] = 0; /* no properties */
    size_t il = strlen(id);
    var[v++] = (unsigned char)(il >> 8);
    var[v++] = (unsigned char)il;
    memcpy(var + v, id, il);
    v += il;
    size_t n = 0;
    pkt[n++] = 0x10;
    n += put_varint(pkt + n, v);
    memcpy(pkt + n, var, v);
    n += v;
    send_all(fd, pkt, n);
    unsigned char body[16];
    size_t blen = 0;
    int t = read_packet(fd, 5000, body, &blen);
    ck_assert_msg(t == 0x20 && blen >= 2 && body[1] == 0, "no CONNACK (got %d)", t);

    size_t plen = strlen(payload);
    size_t rem = 2 + tlen + 2 + (level == 5 ? 1 : 0) + plen;
    unsigned char *pub = malloc(rem + 8);
    ck_assert(pub != NULL);
    n = 0;
    pub[n++] = 0x32; /* PUBLISH, QoS 1 */
    n += put_varint(pub + n, rem);
    pub[n++] = (unsigned char)(tlen >> 8);
    pub[n++] = (unsigned char)tlen;
    memcpy(pub + n, topic, tlen);
    n += tlen;
    pub[n++] = 0;
    pub[n++] = 7; /* packet id */
    if (level == 5)
        pub[n++] = 0;
    memcpy(pub + n, payload, plen);
    n += plen;
    send_all(fd, pub, n);
    free(pub);
    t = read_packet(fd, 5000, body, &blen);
    if (t == 0x40)
        snprintf(out, out_size, "puback");
    else if (t == 0)
        snprintf(out, out_size, "closed");
    else if (t == 0xE0)
        snprintf(out, out_size, "disconnect(0x%02x)", blen ? body[0] : 0);
    else if (t < 0)
        snprintf(out, out_size, "timeout");
    else
        snprintf(out, out_size, "packet 0x%02x", t);
    if (t == 0xE0 && read_packet(fd, 2000, NULL, NULL) != 0)
        snprintf(out + strlen(out), out_size - strlen(out), ", not closed");
    close(fd);
    return out;
}

/* ---- the bridge --------------------------------------------------------- */

static bool alive(const itest_bridge_t *b)
{
    return b->pid > 0 && kill(b->pid, 0) == 0;
}

/* SIGTERM; the bridge must exit 0 (every message in Kafka, nothing lost). */
static void stop_clean(itest_bridge_t *b)
{
    int st = itest_bridge_stop(b, SIGTERM, 60000);
    if (st != 0)
        itest_bridge_dump_log(b);
    ck_assert_int_eq(st, 0);
}

static char *repeat(char c, size_t n)
{
    char *s = malloc(n + 1);
    ck_assert(s != NULL);
    memset(s, c, n);
    s[n] = '\0';
    return s;
}

/* JSON nested D levels: [[[...1...]]]. */
static char *nested(int d)
{
    char *s = malloc((size_t)d * 2 + 2);
    ck_assert(s != NULL);
    memset(s, '[', (size_t)d);
    s[d] = '1';
    memset(s + d + 1, ']', (size_t)d);
    s[2 * d + 1] = '\0';
    return s;
}

/* A JSON array of N small numbers. */
static char *array_of(int n)
{
    size_t cap = (size_t)n * 8 + 16, len = 0;
    char *s = malloc(cap);
    ck_assert(s != NULL);
    s[len++] = '[';
    for (int i = 0; i < n; i++)
        len += (size_t)snprintf(s + len, cap - len, "%s%d", i ? "," : "", i % 1000);
    s[len++] = ']';
    s[len] = '\0';
    return s;
}

#ifdef __SANITIZE_ADDRESS__
/* ASan keeps up to 256 MiB of freed blocks in its quarantine, with their
 * redzones and shadow: measured +316 MiB over the flood's 90,000 messages. */
#define RSS_SLACK_KIB (512L * 1024)
#else
#define RSS_SLACK_KIB 0L
#endif

/* One hostile message: where it goes, what it is, what must come of it. */
typedef struct {
    const char *route; /* json, batch, raw */
    char *payload;
    size_t len;
    const char *reason; /* NULL: it passes; else part of mkb.reason */
    size_t keep;        /* bytes the dead letter keeps: all but over the size limit */
} hcase_t;

static hcase_t hc(const char *route, const char *payload, size_t len, const char *reason)
{
    hcase_t c = {route, itest_dup_bytes(payload, len), len, reason, len};
    return c;
}

static hcase_t hcs(const char *route, const char *payload, const char *reason)
{
    return hc(route, payload, strlen(payload), reason);
}

/* Every kind of hostile payload through one running bridge: each one is a
 * record or a dead letter with its reason and its original bytes (an
 * oversized one: its first limits.max_payload_bytes and mkb.value.bytes),
 * exactly as listed; rendered Kafka topic names a captured level makes
 * illegal are dead letters saying why; the bridge forwards a good message
 * afterwards and exits 0. */
START_TEST(test_hostile_payloads)
{
    const size_t max_payload = 262144;
    char *tj = itest_unique("itest.lim-json"), *tb = itest_unique("itest.lim-batch");
    char *tr = itest_unique("itest.lim-raw"), *tt = itest_unique("itest.lim-tpl");
    char *dlq = itest_unique("itest.lim-dlq"), *client = itest_unique("bridge");
    itest_create_topic(tj);
    itest_create_topic(tb);
    itest_create_topic(tr);
    itest_create_topic(tt);
    itest_create_topic(dlq);
    char *cfg = NULL;
    ck_assert(asprintf(&cfg,
                       "mqtt: { uri: %s, client_id: %s }\n"
                       "kafka: { bootstrap: %s, dead_letter_topic: %s }\n"
                       "limits: { max_payload_bytes: %zu, max_json_depth: 32, "
                       "max_records_per_message: 1000 }\n"
                       "routes:\n"
                       "  - name: json\n"
                       "    mqtt: { filter: \"lim/%s/json/#\", qos: 1 }\n"
                       "    kafka: { topic: %s }\n"
                       "  - name: batch\n"
                       "    mqtt: { filter: \"lim/%s/batch/#\", qos: 1 }\n"
                       "    kafka: { topic: %s, key: \"\" }\n"
                       "    explode: \"\"\n"
                       "  - name: raw\n"
                       "    mqtt: { filter: \"lim/%s/raw/#\", qos: 1 }\n"
                       "    kafka: { topic: %s }\n"
                       "    payload: raw\n"
                       "  - name: text\n"
                       "    mqtt: { filter: \"lim/%s/text/#\", qos: 1 }\n"
                       "    kafka: { topic: %s }\n"
                       "    payload: text\n"
                       "  - name: tpl\n"
                       "    mqtt: { filter: \"lim/%s/tpl/{name}/{rest#}\", qos: 1 }\n"
                       "    kafka: { topic: \"{name}\", key: \"{rest}\", headers: { lvl: "
                       "\"{name}\" } }\n"
                       "    payload: raw\n"
                       "  - name: tpl2\n"
                       "    mqtt: { filter: \"lim/%s/tpl2/{rest#}\", qos: 1 }\n"
                       "    kafka: { topic: \"t.{rest}\" }\n"
                       "    payload: raw\n",
                       itest_env("MKB_MQTT_URI"), client, itest_env("MKB_KAFKA_BOOTSTRAP"), dlq,
                       max_payload, dlq, tj, dlq, tb, dlq, tr, dlq, tj, dlq, dlq) > 0);

    /* The cases. Payloads that pass on the json route are re-serialized
     * compactly; those here are compact already, so the value is the input. */
    hcase_t cs[64];
    size_t nc = 0;
    char *big = repeat('a', max_payload + 1);
    for (size_t k = 0; k < 6; k++) /* {"s":"aaa...a"} */
        big[k] = "{\"s\":\""[k];
    big[max_payload - 1] = '"';
    big[max_payload] = '}';
    cs[nc] = hc("json", big, max_payload + 1,
                "payload of 262145 bytes exceeds the limit of 262144 (limits.max_payload_bytes); "
                "the dead letter keeps the first 262144 bytes");
    cs[nc++].keep = max_payload;
    free(big);
    char *deep = repeat('[', 100000);
    cs[nc++] = hcs("json", deep, "nested deeper than 32 levels");
    free(deep);
    char *d32 = nested(32), *d33 = nested(33);
    cs[nc++] = hcs("json", d32, NULL);
    cs[nc++] = hcs("json", d33, "line 1 column 33: nested deeper than 32 levels");
    free(d32);
    free(d33);
    /* Invalid UTF-8 in strings: overlong, surrogate, beyond U+10FFFF, a lone
     * continuation byte, a truncated sequence, in a key. */
    const char *bad_utf8[] = {"{\"a\":\"\xc0\xaf\"}",         "{\"a\":\"\xed\xa0\x80\"}",
                              "{\"a\":\"\xf5\x80\x80\x80\"}", "{\"a\":\"x\x80\"}",
                              "{\"a\":\"\xe2\x82\"}",         "{\"\xff\":1}"};
    const char *bad_at[] = {
        "column 7: invalid UTF-8 at byte 7", "column 7: invalid UTF-8 at byte 7",
        "column 7: invalid UTF-8 at byte 7", "column 8: invalid UTF-8 at byte 8",
        "column 7: invalid UTF-8 at byte 7", "column 3: invalid UTF-8 at byte 3",
    };
    for (size_t i = 0; i < sizeof(bad_utf8) / sizeof(bad_utf8[0]); i++)
        cs[nc++] = hcs("json", bad_utf8[i], bad_at[i]);
    cs[nc++] = hcs("json", "{\"a\":\"\xc3\xa9\xf0\x9f\x8c\xa1\"}", NULL); /* valid UTF-8 */
    /* NUL: escaped, raw inside a string, raw after and before the value. */
    cs[nc++] = hcs("json", "{\"a\":\"\\u0000\"}", "\\u0000 is not allowed");
    cs[nc++] = hc("json", "{\"a\":\"x\0y\"}", 11, "control character in a string");
    cs[nc++] = hc("json", "{\"a\":1}\0", 8, "end of input expected");
    cs[nc++] = hc("json", "\0{\"a\":1}", 8, "invalid token");
    /* Arrays: one element over max_records_per_message, exactly at it, and a
     * big array on a route that does not explode it. */
    char *a1001 = array_of(1001), *a1000 = array_of(1000), *a30k = array_of(30000);
    cs[nc++] = hcs("batch", a1001,
                   "1001 records in one message; the limit is 1000 "
                   "(limits.max_records_per_message)");
    cs[nc++] = hcs("batch", a1000, NULL);
    cs[nc++] = hcs("json", a30k, NULL);
    free(a1001);
    free(a1000);
    free(a30k);
    /* Raw routes: any bytes pass unchanged, NULs included; the size limit
     * applies to them too. */
    /* Text routes: UTF-8 without NUL. */
    cs[nc++] =
        hc("text", "a\0b", 3, "payload has a NUL byte at offset 1; text is UTF-8 without NUL");
    cs[nc++] = hcs("text",
                   "a\xc0\xaf"
                   "b",
                   "payload is not UTF-8 text: invalid UTF-8 at byte 2");
    const char raw_bytes[] = {0, (char)0xff, (char)0xfe, '{', 0, '}', (char)0xc0, 0};
    cs[nc++] = hc("raw", raw_bytes, sizeof(raw_bytes), NULL);
    char *rbig = repeat('\0', max_payload + 1000);
    rbig[1] = (char)0xff;
    cs[nc] = hc("raw", rbig, max_payload + 1000, "payload of 263144 bytes exceeds the limit");
    cs[nc++].keep = max_payload;
    free(rbig);
    const size_t nbatch_records = 1000;

    itest_bridge_t b;
    itest_start_ready(&b, client, cfg);
    long rss0 = itest_rss_kib(b.pid);
    itest_pub_t *p = itest_pub_open(NULL, MQTTVERSION_5);
    int sent = 0;
    for (size_t i = 0; i < nc; i++) {
        char t[400];
        snprintf(t, sizeof(t), "lim/%s/%s/c%zu", dlq, cs[i].route, i);
        itest_pub_send(p, t, cs[i].payload, cs[i].len, 1);
        sent++;
    }
    /* Rendered Kafka topics: one legal, then a space, UTF-8, 250 characters,
     * "..", and a '/' from a multi-level capture. */
    char t[600];
    snprintf(t, sizeof(t), "lim/%s/tpl/%s/a/b", dlq, tt);
    itest_pub_send(p, t, "legal", 5, 1);
    sent++;
    char *l250 = repeat('a', 250);
    const char *bad_names[] = {"bad level", "caf\xc3\xa9", l250, ".."};
    for (size_t i = 0; i < 4; i++) {
        snprintf(t, sizeof(t), "lim/%s/tpl/%s/x", dlq, bad_names[i]);
        itest_pub_send(p, t, "illegal", 7, 1);
        sent++;
    }
    free(l250);
    snprintf(t, sizeof(t), "lim/%s/tpl2/a/b", dlq);
    itest_pub_send(p, t, "slash", 5, 1);
    sent++;
    const size_t ntpl_dead = 5;
    /* And after all of it, a good message. */
    snprintf(t, sizeof(t), "lim/%s/json/good", dlq);
    itest_pub_send(p, t, "{\"ok\":true}", 11, 1);
    sent++;
    itest_pub_wait(p, sent);
    itest_pub_close(p);

    size_t want_dead = ntpl_dead, want_json = 1, want_raw = 0;
    for (size_t i = 0; i < nc; i++) {
        if (cs[i].reason)
            want_dead++;
        else if (strcmp(cs[i].route, "json") == 0)
            want_json++;
        else if (strcmp(cs[i].route, "raw") == 0)
            want_raw++;
    }
    itest_recs_t rj = itest_kafka_read(tj, want_json, 60000);
    ck_assert_msg(alive(&b), "the bridge exited");
    long rss1 = itest_rss_kib(b.pid);
    itest_recs_t rd = itest_kafka_read(dlq, want_dead, 30000);
    itest_recs_t rb = itest_kafka_read(tb, nbatch_records, 30000);
    itest_recs_t rr = itest_kafka_read(tr, want_raw, 30000);
    itest_recs_t rt = itest_kafka_read(tt, 1, 30000);
    fprintf(stderr,
            "hostile payloads: %d sent; json %zu (want %zu), batch %zu (want %zu), raw %zu "
            "(want %zu), rendered topic %zu (want 1), dead letters %zu (want %zu); RSS "
            "%ld KiB at start, %ld KiB after\n",
            sent, rj.n, want_json, rb.n, nbatch_records, rr.n, want_raw, rt.n, rd.n, want_dead,
            rss0, rss1);
    stop_clean(&b);

    ck_assert_uint_eq(rj.n, want_json);
    ck_assert_uint_eq(rb.n, nbatch_records);
    ck_assert_uint_eq(rr.n, want_raw);
    ck_assert_uint_eq(rt.n, 1);
    ck_assert_uint_eq(rd.n, want_dead);
    /* Each case by its MQTT topic (the key of its record or dead letter). */
    size_t jn = 0, rn = 0;
    for (size_t i = 0; i < nc; i++) {
        char key[400];
        snprintf(key, sizeof(key), "lim/%s/%s/c%zu", dlq, cs[i].route, i);
        if (cs[i].reason) {
            const itest_rec_t *d = NULL;
            for (size_t j = 0; j < rd.n && !d; j++)
                if (rd.r[j].klen == strlen(key) && memcmp(rd.r[j].key, key, rd.r[j].klen) == 0)
                    d = &rd.r[j];
            ck_assert_msg(d != NULL, "case %zu (%s): no dead letter", i, cs[i].reason);
            ck_assert_msg(itest_rec_header_has(d, "mkb.reason", cs[i].reason),
                          "case %zu: reason %s", i, itest_rec_header(d, "mkb.reason", NULL));
            ck_assert_msg(itest_rec_header_is(d, "mkb.route", cs[i].route, strlen(cs[i].route)),
                          "case %zu: route", i);
            ck_assert_msg(itest_rec_header_is(d, "mkb.mqtt.topic", key, strlen(key)), "case %zu",
                          i);
            ck_assert_msg(d->len == cs[i].keep && memcmp(d->val, cs[i].payload, d->len) == 0,
                          "case %zu: the dead letter does not hold the first %zu original bytes "
                          "(%zu)",
                          i, cs[i].keep, d->len);
            if (cs[i].keep < cs[i].len) { /* cut: the header says how large it was */
                char size[32];
                snprintf(size, sizeof(size), "%zu", cs[i].len);
                ck_assert_msg(itest_rec_header_is(d, "mkb.value.bytes", size, strlen(size)),
                              "case %zu", i);
            } else {
                ck_assert(itest_rec_header(d, "mkb.value.bytes", NULL) == NULL);
            }
        } else if (strcmp(cs[i].route, "json") == 0) {
            ck_assert_msg(jn < rj.n && rj.r[jn].klen == strlen(key) &&
                              memcmp(rj.r[jn].key, key, rj.r[jn].klen) == 0,
                          "case %zu: json record %zu has another key", i, jn);
            ck_assert_msg(rj.r[jn].len == cs[i].len &&
                              memcmp(rj.r[jn].val, cs[i].payload, cs[i].len) == 0,
                          "case %zu: value %.80s", i, rj.r[jn].val);
            jn++;
        } else if (strcmp(cs[i].route, "raw") == 0) {
            ck_assert_msg(rr.r[rn].len == cs[i].len &&
                              memcmp(rr.r[rn].val, cs[i].payload, cs[i].len) == 0,
                          "case %zu: raw bytes changed", i);
            rn++;
        }
    }
    for (size_t i = 0; i < rb.n; i++) {
        char want[32];
        snprintf(want, sizeof(want), "%zu", i);
        ck_assert_str_eq(rb.r[i].val, want);
    }
    ck_assert_str_eq(rj.r[rj.n - 1].val, "{\"ok\":true}");
    ck_assert_str_eq(rt.r[0].key, "a/b");
    ck_assert(itest_rec_header_is(&rt.r[0], "lvl", tt, strlen(tt)));
    size_t tpl_dead = 0;
    for (size_t j = 0; j < rd.n; j++)
        if (itest_rec_header_has(&rd.r[j], "mkb.reason", "is not a valid Kafka topic name")) {
            tpl_dead++;
            ck_assert(itest_rec_header_is(&rd.r[j], "mkb.route", "tpl", 3) ||
                      itest_rec_header_is(&rd.r[j], "mkb.route", "tpl2", 4));
        }
    ck_assert_uint_eq(tpl_dead, ntpl_dead);
    const char *tpl_why[] = {"(' ' at 4 is not allowed: only a-z A-Z 0-9 . _ -)",
                             "(byte 0xc3 at 4 is not allowed: only a-z A-Z 0-9 . _ -)",
                             "(250 characters; 1 to 249 are allowed)",
                             "('.' and '..' are not allowed)",
                             "rendered topic 't.a/b' is not a valid Kafka topic name ('/' at 4"};
    for (size_t k = 0; k < ntpl_dead; k++) {
        bool found = false;
        for (size_t j = 0; j < rd.n && !found; j++)
            found = itest_rec_header_has(&rd.r[j], "mkb.reason", tpl_why[k]);
        ck_assert_msg(found, "no dead letter with reason %s", tpl_why[k]);
    }
    ck_assert_msg(rss1 < rss0 + 64L * 1024 + RSS_SLACK_KIB, "RSS grew from %ld to %ld KiB", rss0,
                  rss1);
    itest_recs_free(&rj);
    itest_recs_free(&rd);
    itest_recs_free(&rb);
    itest_recs_free(&rr);
    itest_recs_free(&rt);
    for (size_t i = 0; i < nc; i++)
        free(cs[i].payload);
    free(cfg);
    free(client);
    free(dlq);
    free(tt);
    free(tr);
    free(tb);
    free(tj);
}
END_TEST

static const int versions[] = {MQTTVERSION_5, MQTTVERSION_3_1_1};
static const int levels[] = {5, 4};
static const char *const version_names[] = {"5", "3.1.1"};

/* MQTT topics must be valid UTF-8 without U+0000 (MQTT 3.1.1 1.5.3, 5.0
 * 1.5.4); Mosquitto 2.0 also refuses U+0001..U+001F. It closes the
 * connection of a client that publishes such a topic (with MQTT 5 after a
 * DISCONNECT 0x81, malformed packet), nothing reaches the bridge, and good
 * messages after them are forwarded as usual. Paho refuses to send them. */
START_TEST(test_invalid_topics_at_the_broker)
{
    lim_t lim;
    lim_init(&lim, "itest.lim-topics", NULL);
    char *topic = lim.topic, *dlq = lim.dlq, *client = lim.client;
    char *cfg = NULL;
    ck_assert(asprintf(&cfg,
                       "mqtt: { uri: %s, client_id: %s, version: \"%s\" }\n"
                       "kafka: { bootstrap: %s, dead_letter_topic: %s }\n"
                       "routes:\n"
                       "  - name: all\n"
                       "    mqtt: { filter: \"lim/%s/#\", qos: 1 }\n"
                       "    kafka: { topic: %s, headers: { lvl: \"{mqtt.topic}\" } }\n"
                       "    payload: raw\n",
                       itest_env("MKB_MQTT_URI"), client, version_names[_i],
                       itest_env("MKB_KAFKA_BOOTSTRAP"), dlq, topic, topic) > 0);
    itest_bridge_t b;
    itest_start_ready(&b, client, cfg);
    struct {
        const char *name, *suffix;
        size_t len;
    } bad[] = {
        {"overlong", "\xc0\xaf", 2},
        {"surrogate", "\xed\xa0\x80", 3},
        {"beyond U+10FFFF", "\xf5\x80\x80\x80", 4},
        {"lone continuation", "a\x80", 2},
        {"truncated", "\xe2\x82", 2},
        {"U+0000", "a\0b", 3},
        {"U+0001 (a control character)", "a\x01", 2},
    };
    const size_t nbad = sizeof(bad) / sizeof(bad[0]);
    char out[64];
    for (size_t i = 0; i < nbad; i++) {
        unsigned char t[300];
        size_t n = (size_t)snprintf((char *)t, sizeof(t), "lim/%s/", topic);
        memcpy(t + n, bad[i].suffix, bad[i].len);
        n += bad[i].len;
        raw_publish(levels[_i], t, n, "bad", out, sizeof(out));
        fprintf(stderr, "invalid topic, MQTT %s, %s: Mosquitto answered %s\n", version_names[_i],
                bad[i].name, out);
        ck_assert_msg(strcmp(out, "closed") == 0 || strncmp(out, "disconnect(0x", 13) == 0,
                      "%s: %s", bad[i].name, out);
        ck_assert_msg(!strstr(out, "not closed"), "%s: %s", bad[i].name, out);
    }
    unsigned char t[300];
    size_t n;
    /* The same socket client with a valid topic is acknowledged. */
    n = (size_t)snprintf((char *)t, sizeof(t), "lim/%s/raw-ok", topic);
    ck_assert_str_eq(raw_publish(levels[_i], t, n, "raw-ok", out, sizeof(out)), "puback");
    /* Paho does not send an invalid topic at all. */
    itest_pub_t *p = itest_pub_open(NULL, versions[_i]);
    char bt[300];
    snprintf(bt, sizeof(bt), "lim/%s/\xc0\xaf", topic);
    int prc = itest_pub_try_send(p, bt, "bad", 3, 1);
    fprintf(stderr, "invalid topic, MQTT %s: Paho's MQTTAsync_send returned %d (%s)\n",
            version_names[_i], prc, MQTTAsync_strerror(prc));
    char good[300];
    snprintf(good, sizeof(good), "lim/%s/good", topic);
    itest_pub_send(p, good, "good", 4, 1);
    /* Valid UTF-8 beyond ASCII is a topic like any other: forwarded, the
     * bytes unchanged in the key and a header. */
    char utf8[300];
    snprintf(utf8, sizeof(utf8), "lim/%s/caf\xc3\xa9-\xf0\x9f\x8c\xa1", topic);
    itest_pub_send(p, utf8, "utf8", 4, 1);
    ck_assert_int_eq(prc, MQTTASYNC_BAD_UTF8_STRING);
    itest_pub_wait(p, 2);
    itest_pub_close(p);

    size_t want = 3;
    itest_recs_t r = itest_kafka_read(topic, want, 30000);
    ck_assert_msg(alive(&b), "the bridge exited");
    stop_clean(&b);
    itest_recs_t d = itest_kafka_read(dlq, 0, 5000);
    fprintf(stderr, "invalid topics, MQTT %s: %zu records (want %zu), %zu dead letters\n",
            version_names[_i], r.n, want, d.n);
    ck_assert_uint_eq(r.n, want);
    ck_assert_uint_eq(d.n, 0);
    ck_assert_str_eq(r.r[0].val, "raw-ok");
    ck_assert_str_eq(r.r[1].val, "good");
    ck_assert_str_eq(r.r[2].val, "utf8");
    ck_assert_str_eq(r.r[2].key, utf8);
    ck_assert(itest_rec_header_is(&r.r[2], "lvl", utf8, strlen(utf8)));
    itest_recs_free(&r);
    itest_recs_free(&d);
    free(cfg);
    lim_free(&lim);
}
END_TEST

/* Payloads larger than Kafka takes, with the default limits: over
 * limits.max_payload_bytes (1 MiB) by far (8 MiB, 2 MiB), and under it but
 * over librdkafka's message.max.bytes (1,000,000). Each is a dead letter
 * without its value (Kafka would refuse it) and with its size; none is lost
 * (they were before: the dead letter was refused like the record). Without
 * and with the spool. */
START_TEST(test_oversized_payloads_default_limits)
{
    lim_t lim;
    lim_init(&lim, "itest.lim-big", NULL);
    char *topic = lim.topic, *dlq = lim.dlq, *client = lim.client;
    char *cfg = NULL;
    char spool[600] = "";
    if (_i) /* with the spool: the records are journaled before the producer sees them */
        snprintf(spool, sizeof(spool), "spool: { dir: \"%s/%s.spool\" }\n",
                 itest_env("MKB_HARNESS_DIR"), client);
    ck_assert(asprintf(&cfg,
                       "mqtt: { uri: %s, client_id: %s }\n"
                       "kafka: { bootstrap: %s, dead_letter_topic: %s }\n"
                       "%s"
                       "routes:\n"
                       "  - name: raw\n"
                       "    mqtt: { filter: \"lim/%s/raw/#\", qos: 1 }\n"
                       "    kafka: { topic: %s }\n"
                       "    payload: raw\n"
                       "  - name: json\n"
                       "    mqtt: { filter: \"lim/%s/json/#\", qos: 1 }\n"
                       "    kafka: { topic: %s }\n",
                       itest_env("MKB_MQTT_URI"), client, itest_env("MKB_KAFKA_BOOTSTRAP"), dlq,
                       spool, topic, topic, topic, topic) > 0);
    itest_bridge_t b;
    itest_start_ready(&b, client, cfg);
    long rss0 = itest_rss_kib(b.pid);
    const size_t sizes[] = {8u << 20, 2u << 20, 1040000, 1040000};
    const char *routes[] = {"raw", "raw", "raw", "json"};
    itest_pub_t *p = itest_pub_open(NULL, MQTTVERSION_5);
    for (size_t i = 0; i < 4; i++) {
        char *pl = repeat('x', sizes[i]);
        pl[0] = '"';
        pl[sizes[i] - 1] = '"';
        char t[300];
        snprintf(t, sizeof(t), "lim/%s/%s/big%zu", topic, routes[i], i);
        itest_pub_send(p, t, pl, sizes[i], 1);
        free(pl);
    }
    char t[300];
    snprintf(t, sizeof(t), "lim/%s/raw/good", topic);
    itest_pub_send(p, t, "good", 4, 1);
    itest_pub_wait(p, 5);
    itest_pub_close(p);
    itest_recs_t r = itest_kafka_read(topic, 1, 30000);
    itest_recs_t d = itest_kafka_read(dlq, 4, 30000);
    long rss1 = itest_rss_kib(b.pid);
    ck_assert_msg(alive(&b), "the bridge exited");
    fprintf(stderr,
            "oversized%s: %zu records, %zu dead letters; RSS %ld KiB at start, %ld KiB "
            "after\n",
            _i ? " (spool)" : "", r.n, d.n, rss0, rss1);
    for (size_t i = 0; i < d.n; i++)
        fprintf(stderr, "  dead letter %zu: %zu bytes, mkb.value.bytes %s, reason %s\n", i,
                d.r[i].len, itest_rec_header(&d.r[i], "mkb.value.bytes", NULL),
                itest_rec_header(&d.r[i], "mkb.reason", NULL));
    stop_clean(&b); /* status 0: nothing was lost */
    ck_assert_uint_eq(r.n, 1);
    ck_assert_str_eq(r.r[0].val, "good");
    ck_assert_uint_eq(d.n, 4);
    for (size_t i = 0; i < 4; i++) {
        char t2[300], size[32];
        snprintf(t2, sizeof(t2), "lim/%s/%s/big%zu", topic, routes[i], i);
        snprintf(size, sizeof(size), "%zu", sizes[i]);
        ck_assert_str_eq(d.r[i].key, t2);
        /* Over the limit: cut to 1 MiB by the mapper, which Kafka still refuses
         * (message.max.bytes 1000000), so without the value. Under it: refused
         * by Kafka, without the value. Either way the size is in a header. */
        ck_assert_uint_eq(d.r[i].len, 0);
        ck_assert_msg(itest_rec_header_is(&d.r[i], "mkb.value.bytes", size, strlen(size)), "%zu",
                      i);
        if (sizes[i] > 1048576) /* the mapper's dead letter */
            ck_assert(itest_rec_header_has(&d.r[i], "mkb.reason", "exceeds the limit of 1048576") &&
                      itest_rec_header_is(&d.r[i], "mkb.route", routes[i], strlen(routes[i])));
        else /* the producer's */
            ck_assert(itest_rec_header_has(&d.r[i], "mkb.reason", "Message size too large") &&
                      itest_rec_header_is(&d.r[i], "mkb.kafka.topic", topic, strlen(topic)));
    }
    ck_assert_msg(rss1 < rss0 + 64L * 1024 + RSS_SLACK_KIB, "RSS grew from %ld to %ld KiB", rss0,
                  rss1);
    itest_recs_free(&r);
    itest_recs_free(&d);
    free(cfg);
    lim_free(&lim);
}
END_TEST

/* The broker refuses a record for its topic's max.message.bytes, and the
 * dead-letter topic refuses the dead letter the same way: it is sent once
 * more without its value (mkb.value.bytes), not lost (it was before). */
START_TEST(test_dead_letter_topic_refuses_size)
{
    const char *small[] = {"max.message.bytes", "1000", NULL};
    lim_t lim;
    lim_init(&lim, "itest.lim-small", small);
    char *topic = lim.topic, *dlq = lim.dlq, *client = lim.client;
    char *cfg = NULL;
    ck_assert(asprintf(&cfg,
                       "mqtt: { uri: %s, client_id: %s }\n"
                       "kafka: { bootstrap: %s, dead_letter_topic: %s }\n"
                       "routes:\n"
                       "  - name: raw\n"
                       "    mqtt: { filter: \"lim/%s/#\", qos: 1 }\n"
                       "    kafka: { topic: %s }\n"
                       "    payload: raw\n",
                       itest_env("MKB_MQTT_URI"), client, itest_env("MKB_KAFKA_BOOTSTRAP"), dlq,
                       topic, topic) > 0);
    itest_bridge_t b;
    itest_start_ready(&b, client, cfg);
    char big[6000]; /* does not compress below 1000 bytes */
    unsigned x = 12345;
    for (size_t i = 0; i < sizeof(big); i++) {
        x = x * 1103515245u + 12345u;
        big[i] = (char)(x >> 16);
    }
    itest_pub_t *p = itest_pub_open(NULL, MQTTVERSION_5);
    char t[300];
    snprintf(t, sizeof(t), "lim/%s/big", topic);
    itest_pub_send(p, t, big, sizeof(big), 1);
    /* The broker refuses a whole batch: a record sent with the big one in
     * the same batch would be dead-lettered with it. Send the good one after. */
    itest_wait_count(dlq, 1, 30000);
    snprintf(t, sizeof(t), "lim/%s/good", topic);
    itest_pub_send(p, t, "good", 4, 1);
    itest_pub_wait(p, 2);
    itest_pub_close(p);
    itest_recs_t r = itest_kafka_read(topic, 1, 30000);
    itest_recs_t d = itest_kafka_read(dlq, 1, 30000);
    ck_assert_msg(alive(&b), "the bridge exited");
    fprintf(stderr,
            "dead-letter topic too small: %zu records, %zu dead letters (%zu bytes, "
            "mkb.value.bytes %s, reason %s)\n",
            r.n, d.n, d.n ? d.r[0].len : 0,
            d.n ? itest_rec_header(&d.r[0], "mkb.value.bytes", NULL) : "-",
            d.n ? itest_rec_header(&d.r[0], "mkb.reason", NULL) : "-");
    stop_clean(&b);
    ck_assert_uint_eq(r.n, 1);
    ck_assert_str_eq(r.r[0].val, "good");
    ck_assert_uint_eq(d.n, 1);
    ck_assert_uint_eq(d.r[0].len, 0);
    ck_assert(itest_rec_header_is(&d.r[0], "mkb.value.bytes", "6000", 4));
    ck_assert(itest_rec_header_has(&d.r[0], "mkb.reason", "MSG_SIZE_TOO_LARGE") &&
              itest_rec_header_has(&d.r[0], "mkb.reason", "delivery to ") &&
              itest_rec_header_is(&d.r[0], "mkb.kafka.topic", topic, strlen(topic)));
    itest_recs_free(&r);
    itest_recs_free(&d);
    free(cfg);
    lim_free(&lim);
}
END_TEST

/* Topics up to the MQTT maximum of 65,535 bytes, in one level and in tens
 * of thousands: forwarded whole (key and header, not cut), or a dead letter
 * with the reason when they go deeper than routes match or a captured level
 * makes an illegal Kafka topic name. */
START_TEST(test_long_topics)
{
    lim_t lim;
    lim_init(&lim, "itest.lim-long", NULL);
    char *topic = lim.topic, *dlq = lim.dlq, *client = lim.client;
    char *cfg = NULL;
    ck_assert(asprintf(&cfg,
                       "mqtt: { uri: %s, client_id: %s }\n"
                       "kafka: { bootstrap: %s, dead_letter_topic: %s }\n"
                       "routes:\n"
                       "  - name: all\n"
                       "    mqtt: { filter: \"lim/%s/#\", qos: 1 }\n"
                       "    kafka: { topic: %s, headers: { lvl: \"{mqtt.topic}\" } }\n"
                       "    payload: raw\n"
                       "  - name: cap\n"
                       "    mqtt: { filter: \"limcap/%s/{name}\", qos: 1 }\n"
                       "    kafka: { topic: \"{name}\", key: \"{name}\" }\n"
                       "    payload: raw\n",
                       itest_env("MKB_MQTT_URI"), client, itest_env("MKB_KAFKA_BOOTSTRAP"), dlq,
                       topic, topic, topic) > 0);
    char prefix[300];
    int pl = snprintf(prefix, sizeof(prefix), "lim/%s/", topic);
    /* t[0]: 10,000 bytes, one level; t[1]: 65,535 bytes, one level; t[2]: 128
     * levels; t[3]: 129 levels; t[4]: 65,535 bytes in 201 levels, the most
     * Mosquitto 2.0 takes; t[5]: a 60,000-byte level captured into the Kafka
     * topic. */
    char *t[6];
    const size_t lens[] = {10000, 65535};
    for (size_t i = 0; i < 2; i++) {
        t[i] = repeat('a', lens[i]);
        memcpy(t[i], prefix, (size_t)pl);
    }
    for (size_t i = 2; i < 4; i++) {
        size_t nlev = i == 2 ? 128 : 129; /* "lim", the run's name, then "x" levels */
        t[i] = malloc((size_t)pl + 2 * nlev + 1);
        ck_assert(t[i] != NULL);
        memcpy(t[i], prefix, (size_t)pl);
        size_t n = (size_t)pl;
        for (size_t l = 2; l < nlev; l++)
            n += (size_t)sprintf(t[i] + n, l + 1 < nlev ? "x/" : "x");
        t[i][n] = '\0';
    }
    t[4] = repeat('a', 65535);
    memcpy(t[4], prefix, (size_t)pl);
    for (size_t k = 1; k <= 198; k++) /* "lim", the run's name, then 199 levels */
        t[4][(size_t)pl + k * 300] = '/';
    t[5] = repeat('b', 60000);
    int cl = snprintf(t[5], 60000, "limcap/%s/", topic);
    t[5][cl] = 'b';
    size_t levels4 = 1;
    for (size_t k = 0; k < 65535; k++)
        levels4 += t[4][k] == '/';

    itest_bridge_t b;
    itest_start_ready(&b, client, cfg);
    long rss0 = itest_rss_kib(b.pid);
    itest_pub_t *p = itest_pub_open(NULL, MQTTVERSION_5);
    for (size_t i = 0; i < 6; i++) {
        char pay[32];
        snprintf(pay, sizeof(pay), "long-%zu", i);
        itest_pub_send(p, t[i], pay, strlen(pay), 1);
    }
    itest_pub_wait(p, 6);
    /* 202 levels: Mosquitto closes the connection (a protocol error), so
     * deeper topics never reach the bridge; Paho would send it, so send it
     * over a socket not to lose the publisher. */
    char *deep = malloc((size_t)pl + (size_t)2 * 202);
    ck_assert(deep != NULL);
    size_t dl = (size_t)sprintf(deep, "%s", prefix);
    for (int l = 2; l < 202; l++)
        dl += (size_t)sprintf(deep + dl, l + 1 < 202 ? "x/" : "x");
    char out[64];
    raw_publish(5, (const unsigned char *)deep, dl, "deep", out, sizeof(out));
    fprintf(stderr, "long topics: 202 levels, Mosquitto answered %s\n", out);
    ck_assert_str_eq(out, "disconnect(0x82)");
    free(deep);
    char good[400];
    snprintf(good, sizeof(good), "%sgood", prefix);
    itest_pub_send(p, good, "good", 4, 1);
    itest_pub_wait(p, 7);
    itest_pub_close(p);
    itest_recs_t r = itest_kafka_read(topic, 4, 30000);
    itest_recs_t d = itest_kafka_read(dlq, 3, 30000);
    long rss1 = itest_rss_kib(b.pid);
    ck_assert_msg(alive(&b), "the bridge exited");
    fprintf(stderr,
            "long topics: %zu records (want 4), %zu dead letters (want 3); topic of "
            "%zu levels; RSS %ld KiB at start, %ld KiB after\n",
            r.n, d.n, levels4, rss0, rss1);
    for (size_t i = 0; i < d.n; i++)
        fprintf(stderr, "  dead letter: key of %zu bytes, reason %s\n", d.r[i].klen,
                itest_rec_header(&d.r[i], "mkb.reason", NULL));
    stop_clean(&b);
    ck_assert_uint_eq(r.n, 4);
    ck_assert_uint_eq(d.n, 3);
    /* Forwarded whole: the key and the header are the full topic. */
    const size_t fwd[] = {0, 1, 2};
    for (size_t k = 0; k < 3; k++) {
        const itest_rec_t *x = &r.r[k];
        size_t i = fwd[k], tl = strlen(t[i]);
        char pay[32];
        snprintf(pay, sizeof(pay), "long-%zu", i);
        ck_assert_str_eq(x->val, pay);
        ck_assert_msg(x->klen == tl && memcmp(x->key, t[i], tl) == 0, "key of %zu bytes, want %zu",
                      x->klen, tl);
        ck_assert_msg(itest_rec_header_is(x, "lvl", t[i], tl), "header of topic %zu", i);
    }
    ck_assert_str_eq(r.r[3].val, "good");
    /* Too deep for the routes: a dead letter with the reason, no route. */
    ck_assert_str_eq(d.r[0].val, "long-3");
    ck_assert(itest_rec_header_is(&d.r[0], "mkb.reason",
                                  "topic of 129 levels; routes match at most 128",
                                  strlen("topic of 129 levels; routes match at most 128")));
    ck_assert(itest_rec_header(&d.r[0], "mkb.route", NULL) == NULL);
    ck_assert_uint_eq(levels4, 201);
    ck_assert_str_eq(d.r[1].val, "long-4");
    ck_assert(d.r[1].klen == 65535 && memcmp(d.r[1].key, t[4], 65535) == 0);
    ck_assert(itest_rec_header_is(&d.r[1], "mkb.mqtt.topic", t[4], 65535));
    char why[100];
    snprintf(why, sizeof(why), "topic of %zu levels; routes match at most 128", levels4);
    ck_assert(itest_rec_header_is(&d.r[1], "mkb.reason", why, strlen(why)));
    /* A 60,000-byte captured level as a Kafka topic name. */
    ck_assert_str_eq(d.r[2].val, "long-5");
    ck_assert(d.r[2].klen == 60000 && memcmp(d.r[2].key, t[5], 60000) == 0);
    char cwhy[100];
    snprintf(cwhy, sizeof(cwhy), "(%d characters; 1 to 249 are allowed)", 60000 - cl);
    ck_assert_msg(itest_rec_header_has(&d.r[2], "mkb.reason", cwhy), "%s",
                  itest_rec_header(&d.r[2], "mkb.reason", NULL));
    ck_assert(itest_rec_header_is(&d.r[2], "mkb.route", "cap", 3));
    ck_assert_msg(rss1 < rss0 + 64L * 1024 + RSS_SLACK_KIB, "RSS grew from %ld to %ld KiB", rss0,
                  rss1);
    itest_recs_free(&r);
    itest_recs_free(&d);
    for (size_t i = 0; i < 6; i++)
        free(t[i]);
    free(cfg);
    lim_free(&lim);
}
END_TEST

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* 100,000 messages, each on its own topic (lim/<run>/<uuid>/temp), through a
 * route that captures the device into the key, a header and a field: every
 * one arrives, and the bridge keeps no state per topic (its memory after all
 * of them is within a bound of what it was after the first 10,000). */
START_TEST(test_flood_of_distinct_topics)
{
    const int n = 100000, warm = 10000;
    const long bound_kib = 30L * 1024 + RSS_SLACK_KIB;
    lim_t lim;
    lim_init(&lim, "itest.lim-flood", NULL);
    char *topic = lim.topic, *dlq = lim.dlq, *client = lim.client;
    char *cfg = NULL;
    ck_assert(asprintf(&cfg,
                       "mqtt: { uri: %s, client_id: %s }\n"
                       "kafka: { bootstrap: %s, dead_letter_topic: %s }\n"
                       "routes:\n"
                       "  - name: flood\n"
                       "    mqtt: { filter: \"lim/%s/{dev}/temp\", qos: 1 }\n"
                       "    kafka: { topic: %s, key: \"{dev}\", headers: { dev: \"{dev}\" } }\n"
                       "    add: { dev: \"{dev}\" }\n",
                       itest_env("MKB_MQTT_URI"), client, itest_env("MKB_KAFKA_BOOTSTRAP"), dlq,
                       topic, topic) > 0);
    itest_bridge_t b;
    itest_start_ready(&b, client, cfg);
    long rss_start = itest_rss_kib(b.pid), rss_warm = 0, peak = 0;
    itest_pub_t *p = itest_pub_open(NULL, MQTTVERSION_5);
    unsigned seed = (unsigned)getpid() * 2654435761u;
    long long t0 = now_ms();
    for (int i = 0; i < n; i++) {
        char t[300], pay[32];
        seed = seed * 1103515245u + 12345u;
        snprintf(t, sizeof(t), "lim/%s/%08x-%04x-4%03x-a%03x-%04x%08x/temp", topic, (unsigned)i,
                 seed >> 16, (unsigned)i % 4096, seed % 4096, (unsigned)i & 0xffff, seed);
        int len = snprintf(pay, sizeof(pay), "{\"t\":%d}", i);
        itest_pub_send(p, t, pay, (size_t)len, 1);
        if (i + 1 == warm) {
            itest_pub_wait(p, warm);
            itest_wait_count(topic, warm, 60000);
            rss_warm = itest_rss_kib(b.pid);
        }
        if (i % 5000 == 0) {
            long rss = itest_rss_kib(b.pid);
            peak = rss > peak ? rss : peak;
        }
    }
    itest_pub_wait(p, n);
    itest_pub_close(p);
    itest_wait_count(topic, n, 120000);
    long long secs_ms = now_ms() - t0;
    long rss_end = itest_rss_kib(b.pid);
    peak = rss_end > peak ? rss_end : peak;
    ck_assert_msg(alive(&b), "the bridge exited");
    fprintf(stderr,
            "flood: %d distinct topics in %.1f s; RSS %ld KiB at start, %ld KiB after "
            "%d, %ld KiB after %d (growth %ld KiB, bound %ld), peak %ld KiB\n",
            n, (double)secs_ms / 1000.0, rss_start, rss_warm, warm, rss_end, n, rss_end - rss_warm,
            bound_kib, peak);
    stop_clean(&b);
    itest_recs_t r = itest_kafka_read(topic, (size_t)n, 120000);
    itest_recs_t d = itest_kafka_read(dlq, 0, 5000);
    ck_assert_uint_eq(d.n, 0);
    ck_assert_uint_eq(r.n, (size_t)n);
    char **keys = malloc((size_t)n * sizeof(char *));
    ck_assert(keys != NULL);
    for (size_t i = 0; i < r.n; i++) {
        const itest_rec_t *x = &r.r[i];
        char want[128];
        snprintf(want, sizeof(want), "\"dev\":\"%s\"}", x->key);
        ck_assert_msg(x->klen == 36 && itest_rec_header_is(x, "dev", x->key, x->klen) &&
                          strstr(x->val, want),
                      "record %zu: key %s value %s", i, x->key, x->val);
        keys[i] = x->key;
    }
    qsort(keys, r.n, sizeof(char *), cmp_str);
    size_t dups = 0;
    for (size_t i = 1; i < r.n; i++)
        dups += strcmp(keys[i - 1], keys[i]) == 0;
    ck_assert_uint_eq(dups, 0);
    ck_assert_msg(rss_end - rss_warm < bound_kib, "RSS grew by %ld KiB over %d topics",
                  rss_end - rss_warm, n - warm);
    free(keys);
    itest_recs_free(&r);
    itest_recs_free(&d);
    free(cfg);
    lim_free(&lim);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("limits");
    TCase *tc = tcase_create("hostile");
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, test_hostile_payloads);
    tcase_add_loop_test(tc, test_oversized_payloads_default_limits, 0, 2);
    tcase_add_test(tc, test_dead_letter_topic_refuses_size);
    tcase_add_loop_test(tc, test_invalid_topics_at_the_broker, 0, 2);
    tcase_add_test(tc, test_long_topics);
    suite_add_tcase(s, tc);
    TCase *flood = tcase_create("flood");
    tcase_set_timeout(flood, 600);
    tcase_add_test(flood, test_flood_of_distinct_topics);
    suite_add_tcase(s, flood);
    return check_run(s);
}
