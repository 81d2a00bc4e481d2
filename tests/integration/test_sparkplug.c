// SPDX-FileCopyrightText: 2026 The mqtt-kafka-bridge authors
// SPDX-License-Identifier: Apache-2.0
/* Sparkplug B live (issue 18): a real edge node (tests/sparkplug/edge_node.py,
 * pysparkplug from PyPI, an implementation this project did not write) talks
 * to the bridge through Mosquitto. Every metric it reports having sent must
 * be a Kafka record with the same name, alias, datatype and value (JSON types
 * included): births, data sent by alias only, data after a bridge restart
 * (named from the persisted birth state), data after the state was lost
 * (marked unresolved, a rebirth NCMD the edge node answers, then named), a
 * seq gap (counted, rebirth requested) and the NDEATH will (an offline status
 * record). */
#define _GNU_SOURCE /* asprintf */
#include "itest.h"

#include <check.h>
#include <jansson.h>

#include "check_run.h"
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define EDGE_PY MKB_SOURCE_DIR "/.cache/sparkplug/bin/python"
#define EDGE_SCRIPT MKB_SOURCE_DIR "/tests/sparkplug/edge_node.py"
#define EDGE_NODE "E1"
#define DEVICE "D1"
#define N_NODE 17  /* NBIRTH metrics: 16 and bdSeq */
#define N_DEVICE 9 /* DBIRTH and DDATA metrics */
#define N_NDATA 16 /* NDATA metrics (no bdSeq) */
#define N_BIRTHS (N_NODE + N_DEVICE)
#define N_DATA (N_NDATA + N_DEVICE)

/* ---- the edge node child -------------------------------------------- */

/* The edge node: commands to its stdin, JSON lines from its stdout; lines
 * with "event" (ncmd, rebirth) come by themselves and wait in EVENTS. */
typedef struct {
    pid_t pid;
    int in, out;
    char *buf;
    size_t len, cap;
    json_t *events;
} edge_t;

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void edge_exec(const char *group, int in[2], int out[2])
{
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    dup2(in[0], STDIN_FILENO);
    dup2(out[1], STDOUT_FILENO);
    close(in[0]);
    close(in[1]);
    close(out[0]);
    close(out[1]);
    char *id = itest_unique("edge");
    char py[] = EDGE_PY, script[] = EDGE_SCRIPT;
    char *argv[] = {py,         script,        "--uri",       (char *)itest_env("MKB_MQTT_URI"),
                    "--group",  (char *)group, "--edge-node", EDGE_NODE,
                    "--device", DEVICE,        "--client-id", id,
                    NULL};
    execv(argv[0], argv);
    _exit(127);
}

/* Starts the edge node of GROUP (not under MKB_BRIDGE_WRAP: it is not the
 * bridge). Fails the test if make deps did not install the venv. */
static void edge_start(edge_t *e, const char *group)
{
    ck_assert_msg(access(EDGE_PY, X_OK) == 0,
                  "%s missing: the Sparkplug edge node needs pysparkplug (make deps installs "
                  "it into .cache/sparkplug, see tests/sparkplug/requirements.txt)",
                  EDGE_PY);
    int in[2], out[2];
    ck_assert(pipe(in) == 0 && pipe(out) == 0);
    memset(e, 0, sizeof *e);
    e->pid = fork();
    ck_assert(e->pid >= 0);
    if (e->pid == 0)
        edge_exec(group, in, out);
    close(in[0]);
    close(out[1]);
    e->in = in[1];
    e->out = out[0];
    e->cap = 1 << 20;
    e->buf = malloc(e->cap);
    e->events = json_array();
    ck_assert(e->buf && e->events);
}

/* The next line as JSON, or NULL after TIMEOUT_MS or at EOF. */
static json_t *edge_line(edge_t *e, int timeout_ms)
{
    long long end = now_ms() + timeout_ms;
    for (;;) {
        char *nl = memchr(e->buf, '\n', e->len);
        if (nl) {
            json_error_t err;
            json_t *j = json_loadb(e->buf, (size_t)(nl - e->buf), 0, &err);
            ck_assert_msg(j != NULL, "edge node said: %.*s", (int)(nl - e->buf), e->buf);
            e->len -= (size_t)(nl + 1 - e->buf);
            memmove(e->buf, nl + 1, e->len);
            return j;
        }
        long long left = end - now_ms();
        struct pollfd p = {.fd = e->out, .events = POLLIN};
        if (left <= 0 || poll(&p, 1, (int)left) <= 0)
            return NULL;
        ck_assert_msg(e->len < e->cap - 1, "edge node line too long");
        ssize_t n = read(e->out, e->buf + e->len, e->cap - 1 - e->len);
        if (n <= 0)
            return NULL;
        e->len += (size_t)n;
    }
}

/* Sends CMD and returns its reply (caller decrefs); events read meanwhile
 * are kept. */
static json_t *edge_cmd(edge_t *e, const char *cmd)
{
    char line[64];
    int n = snprintf(line, sizeof line, "%s\n", cmd);
    ck_assert(write(e->in, line, (size_t)n) == n);
    long long end = now_ms() + itest_scale_ms(20000);
    for (;;) {
        json_t *j = edge_line(e, (int)(end - now_ms()));
        ck_assert_msg(j != NULL, "the edge node did not answer '%s'", cmd);
        const char *reply = json_string_value(json_object_get(j, "reply"));
        if (reply && strcmp(reply, cmd) == 0) {
            ck_assert_msg(!json_object_get(j, "error"), "edge node: %s failed", cmd);
            return j;
        }
        if (json_object_get(j, "event"))
            json_array_append(e->events, j);
        json_decref(j);
    }
}

/* The first event NAME (caller decrefs), waiting up to TIMEOUT_MS; NULL if
 * none came. */
static json_t *edge_event(edge_t *e, const char *name, int timeout_ms)
{
    long long end = now_ms() + timeout_ms;
    for (;;) {
        size_t i;
        json_t *ev;
        json_array_foreach(e->events, i, ev)
        {
            if (strcmp(json_string_value(json_object_get(ev, "event")), name) == 0) {
                json_incref(ev);
                json_array_remove(e->events, i);
                return ev;
            }
        }
        json_t *j = edge_line(e, (int)(end - now_ms()));
        if (!j)
            return NULL;
        if (json_object_get(j, "event"))
            json_array_append(e->events, j);
        json_decref(j);
    }
}

/* Closes its stdin (it exits) and reaps it; SIGKILL if it lingers. */
static void edge_stop(edge_t *e)
{
    close(e->in);
    int st;
    for (int i = 0; i < 100 && waitpid(e->pid, &st, WNOHANG) == 0; i++)
        itest_sleep_ms(50);
    if (waitpid(e->pid, &st, WNOHANG) == 0) {
        kill(e->pid, SIGKILL);
        waitpid(e->pid, &st, 0);
    }
    close(e->out);
    free(e->buf);
    json_decref(e->events);
}

/* ---- the bridge and its records ------------------------------------- */

/* One test's world: its Sparkplug group, Kafka topics, spool and bridge. */
typedef struct {
    char *group, *topic, *status, *client, *spool, *cfg, *state;
    int port, runs;
    itest_bridge_t b;
} spb_t;

static void spb_init(spb_t *s)
{
    memset(s, 0, sizeof *s);
    s->group = itest_unique("G");
    s->topic = itest_unique("itest.spb");
    ck_assert(asprintf(&s->status, "%s.status", s->topic) > 0);
    s->client = itest_unique("bridge");
    ck_assert(asprintf(&s->spool, "%s/spool-%s", itest_env("MKB_HARNESS_DIR"), s->client) > 0);
    ck_assert(asprintf(&s->state, "%s/sparkplug-births", s->spool) > 0);
    itest_create_topic(s->topic);
    itest_create_topic(s->status);
    s->port = itest_free_port();
    ck_assert(asprintf(&s->cfg,
                       "mqtt: { uri: %s, client_id: %s }\n"
                       "kafka: { bootstrap: %s }\n"
                       "spool: { dir: \"%s\" }\n"
                       "metrics: { listen: \"127.0.0.1:%d\" }\n"
                       "routes:\n"
                       "  - name: plant\n"
                       "    mqtt: { filter: \"spBv1.0/%s/#\", qos: 1 }\n"
                       "    payload: sparkplug_b\n"
                       "    kafka: { topic: %s }\n"
                       "    sparkplug:\n"
                       "      records: per_metric\n"
                       "      status_topic: %s\n"
                       "      unresolved: forward\n"
                       "      rebirth: true\n",
                       itest_env("MKB_MQTT_URI"), s->client, itest_env("MKB_KAFKA_BOOTSTRAP"),
                       s->spool, s->port, s->group, s->topic, s->status) > 0);
}

/* Each run of the bridge logs to a file of its own: waiting for "ready" in
 * the log of an earlier run would return before this one subscribed. */
static void spb_start(spb_t *s)
{
    char name[300];
    snprintf(name, sizeof name, "%s-run%d", s->client, ++s->runs);
    itest_start_ready(&s->b, name, s->cfg);
}

static void spb_stop(spb_t *s)
{
    int st = itest_bridge_stop(&s->b, SIGTERM, 30000); /* it scales */
    if (st != 0)
        itest_bridge_dump_log(&s->b);
    ck_assert_int_eq(st, 0);
}

static void spb_free(spb_t *s)
{
    free(s->group);
    free(s->topic);
    free(s->status);
    free(s->client);
    free(s->spool);
    free(s->state);
    free(s->cfg);
}

static double scrape_sum(const spb_t *s, const char *name);

/* The records of a topic with their values parsed (NULL: not JSON). */
typedef struct {
    itest_recs_t rs;
    json_t **v;
} krecs_t;

static krecs_t krecs_read(spb_t *s, const char *topic, size_t want)
{
    long long end = now_ms() + itest_scale_ms(30000);
    while (itest_kafka_count(topic) < (long long)want && now_ms() < end)
        itest_sleep_ms(100);
    krecs_t k = {.rs = itest_kafka_read(topic, want, 10000)}; /* it scales */
    if (k.rs.n < want) {
        itest_bridge_dump_log(&s->b);
        fprintf(stderr, "bridge: %g MQTT messages received\n",
                scrape_sum(s, "mkb_mqtt_messages_received_total"));
        for (size_t i = 0; i < k.rs.n; i++)
            fprintf(stderr, "%s[%zu] %s  %.160s\n", topic, i, k.rs.r[i].key, k.rs.r[i].val);
    }
    ck_assert_msg(k.rs.n >= want, "%s: %zu records, want at least %zu", topic, k.rs.n, want);
    k.v = calloc(k.rs.n + 1, sizeof(json_t *));
    ck_assert(k.v != NULL);
    for (size_t i = 0; i < k.rs.n; i++)
        k.v[i] = json_loads(k.rs.r[i].val, 0, NULL);
    return k;
}

static void krecs_free(krecs_t *k)
{
    for (size_t i = 0; i < k->rs.n; i++)
        json_decref(k->v[i]);
    free(k->v);
    itest_recs_free(&k->rs);
}

static bool has_str(json_t *o, const char *key, const char *want)
{
    const char *v = json_string_value(json_object_get(o, key));
    return v && strcmp(v, want) == 0;
}

static bool has_int(json_t *o, const char *key, json_int_t want)
{
    json_t *v = json_object_get(o, key);
    return json_is_integer(v) && json_integer_value(v) == want;
}

/* The record of metric M of the sent message MSG: same type, seq, metric
 * timestamp and name (or, when UNRESOLVED, alias); -1 if none. */
static long find_metric(const krecs_t *k, json_t *msg, json_t *m, bool unresolved)
{
    const char *type = json_string_value(json_object_get(msg, "type"));
    json_int_t seq = json_integer_value(json_object_get(msg, "seq"));
    json_int_t ts = json_integer_value(json_object_get(m, "timestamp"));
    for (size_t i = 0; i < k->rs.n; i++) {
        json_t *v = k->v[i];
        if (!v || !has_str(v, "type", type) || !has_int(v, "seq", seq) ||
            !has_int(v, "timestamp", ts))
            continue;
        if (unresolved ? json_equal(json_object_get(v, "alias"), json_object_get(m, "alias"))
                       : has_str(v, "name", json_string_value(json_object_get(m, "name"))))
            return (long)i;
    }
    return -1;
}

/* "GROUP/E1[/D1]/" for MSG, into OUT. */
static void key_prefix(const spb_t *s, json_t *msg, char *out, size_t size)
{
    bool dev = strncmp(json_string_value(json_object_get(msg, "type")), "D", 1) == 0;
    snprintf(out, size, "%s/%s/%s", s->group, EDGE_NODE, dev ? DEVICE "/" : "");
}

/* Fails unless record V (key KEY, with header H) is metric M of MSG as the
 * edge node sent it: name, alias, datatype, value (JSON type included). */
static void check_named(const spb_t *s, const itest_rec_t *r, json_t *v, json_t *msg, json_t *m)
{
    const char *name = json_string_value(json_object_get(m, "name"));
    const char *type = json_string_value(json_object_get(msg, "type"));
    const char *rec = r->val; /* as the bridge wrote it (json_dumps would print 17 digits) */
    char *want = json_dumps(m, JSON_COMPACT);
    char key[512];
    key_prefix(s, msg, key, sizeof key);
    strncat(key, name, sizeof key - strlen(key) - 1);
    ck_assert_msg(has_str(v, "group", s->group) && has_str(v, "edge_node", EDGE_NODE),
                  "%s %s: group/edge node wrong in %s", type, name, rec);
    ck_assert_msg(type[0] == 'D' ? has_str(v, "device", DEVICE) : !json_object_get(v, "device"),
                  "%s %s: device wrong in %s", type, name, rec);
    ck_assert_msg(has_str(v, "datatype", json_string_value(json_object_get(m, "datatype"))),
                  "%s %s: datatype: sent %s, record %s", type, name, want, rec);
    ck_assert_msg(json_equal(json_object_get(v, "alias"), json_object_get(m, "alias")) ||
                      (!json_object_get(v, "alias") && !json_object_get(m, "alias")),
                  "%s %s: alias: sent %s, record %s", type, name, want, rec);
    ck_assert_msg(json_equal(json_object_get(v, "value"), json_object_get(m, "value")),
                  "%s %s: value: sent %s, record %s", type, name, want, rec);
    ck_assert_msg(!json_object_get(v, "unresolved"), "%s %s: unresolved: %s", type, name, rec);
    ck_assert_msg(r->klen == strlen(key) && strcmp(r->key, key) == 0, "%s %s: key '%s', want '%s'",
                  type, name, r->key, key);
    json_int_t ts = json_integer_value(json_object_get(m, "timestamp"));
    ck_assert_msg(r->ts == ts, "%s %s: Kafka timestamp %lld, want the metric's %lld", type, name,
                  r->ts, (long long)ts);
    ck_assert_msg(itest_rec_header_is(r, "mkb.sparkplug.type", type, strlen(type)),
                  "%s %s: header mkb.sparkplug.type missing or wrong", type, name);
    free(want);
}

/* Every metric of every message in SENT (an edge node's "sent") is a named
 * record of K, exactly as sent. */
static void check_sent(const spb_t *s, const krecs_t *k, json_t *sent)
{
    size_t i, j;
    json_t *msg, *m;
    ck_assert(json_array_size(sent) > 0);
    json_array_foreach(sent, i, msg)
    {
        json_array_foreach(json_object_get(msg, "metrics"), j, m)
        {
            long at = find_metric(k, msg, m, false);
            ck_assert_msg(at >= 0, "no record of %s seq %lld metric '%s' (timestamp %lld)",
                          json_string_value(json_object_get(msg, "type")),
                          (long long)json_integer_value(json_object_get(msg, "seq")),
                          json_string_value(json_object_get(m, "name")),
                          (long long)json_integer_value(json_object_get(m, "timestamp")));
            check_named(s, &k->rs.r[at], k->v[at], msg, m);
        }
    }
}

/* The protobuf field a datatype's value travels in, for the "raw" of an
 * unresolved metric (Sparkplug 3.0, 6.4.16); NULL: not checked here. */
static const char *raw_field(const char *datatype)
{
    static const char *const map[][2] = {{"Double", "double_value"},
                                         {"Boolean", "boolean_value"},
                                         {"String", "string_value"},
                                         {"Text", "string_value"},
                                         {"UUID", "string_value"}};
    for (size_t i = 0; i < sizeof map / sizeof map[0]; i++)
        if (strcmp(map[i][0], datatype) == 0)
            return map[i][1];
    return NULL;
}

/* Every metric of the data messages in SENT is a record of K marked
 * unresolved (the bridge had no birth): alias, key .../alias:N, no value,
 * the raw protobuf value. */
static void check_unresolved(const spb_t *s, const krecs_t *k, json_t *sent)
{
    size_t i, j;
    json_t *msg, *m;
    json_array_foreach(sent, i, msg)
    {
        json_array_foreach(json_object_get(msg, "metrics"), j, m)
        {
            long at = find_metric(k, msg, m, true);
            const char *name = json_string_value(json_object_get(m, "name"));
            ck_assert_msg(at >= 0, "no unresolved record of '%s'", name);
            json_t *v = k->v[at], *raw = json_object_get(v, "raw");
            char *rec = json_dumps(v, JSON_COMPACT), key[512];
            key_prefix(s, msg, key, sizeof key);
            size_t kl = strlen(key);
            snprintf(key + kl, sizeof key - kl, "alias:%lld",
                     (long long)json_integer_value(json_object_get(m, "alias")));
            ck_assert_msg(json_is_true(json_object_get(v, "unresolved")) &&
                              !json_object_get(v, "value") && json_is_object(raw),
                          "'%s' should be unresolved: %s", name, rec);
            ck_assert_msg(strcmp(k->rs.r[at].key, key) == 0, "'%s': key '%s', want '%s'", name,
                          k->rs.r[at].key, key);
            const char *f = raw_field(json_string_value(json_object_get(m, "datatype")));
            ck_assert_msg(!f || json_equal(json_object_get(raw, f), json_object_get(m, "value")),
                          "'%s': raw should hold %s = the value sent: %s", name, f, rec);
            free(rec);
        }
    }
}

/* The status record of TYPE (and SEQ when >= 0) for the node or DEVICE:
 * STATUS ("online"/"offline"), key group/edge node[/device], and the
 * timestamp of SENT_MSG's payload if given. */
static void check_status(spb_t *s, size_t want, const char *type, long long seq, const char *status,
                         json_t *sent_msg)
{
    krecs_t k = krecs_read(s, s->status, want);
    char key[512];
    bool dev = type[0] == 'D';
    snprintf(key, sizeof key, "%s/%s%s", s->group, EDGE_NODE, dev ? "/" DEVICE : "");
    long at = -1;
    for (size_t i = 0; i < k.rs.n && at < 0; i++)
        if (k.v[i] && has_str(k.v[i], "type", type) && (seq < 0 || has_int(k.v[i], "seq", seq)))
            at = (long)i;
    ck_assert_msg(at >= 0, "no %s status record (seq %lld) in %s", type, seq, s->status);
    json_t *v = k.v[at];
    char *rec = json_dumps(v, JSON_COMPACT);
    ck_assert_msg(has_str(v, "status", status) && has_str(v, "group", s->group) &&
                      has_str(v, "edge_node", EDGE_NODE) &&
                      (dev ? has_str(v, "device", DEVICE) : !json_object_get(v, "device")) &&
                      json_is_integer(json_object_get(v, "timestamp")),
                  "%s status record: %s", type, rec);
    ck_assert_msg(strcmp(k.rs.r[at].key, key) == 0, "%s status: key '%s', want '%s'", type,
                  k.rs.r[at].key, key);
    if (strcmp(type, "NBIRTH") == 0 || strcmp(type, "NDEATH") == 0)
        ck_assert_msg(has_int(v, "bdSeq", 0), "%s status: bdSeq 0 expected: %s", type, rec);
    if (strcmp(type, "NDEATH") == 0)
        ck_assert_msg(json_is_true(json_object_get(v, "current")), "NDEATH current: %s", rec);
    if (sent_msg)
        ck_assert_msg(
            json_equal(json_object_get(v, "timestamp"), json_object_get(sent_msg, "timestamp")),
            "%s status: timestamp is not the payload's: %s", type, rec);
    free(rec);
    krecs_free(&k);
}

/* The sum of the samples of metric NAME on the bridge's /metrics; -1 if
 * there is no answer (never aborts: it also runs on a failure's path). */
static double scrape_sum(const spb_t *s, const char *name)
{
    static char body[1 << 20];
    if (itest_http_get(s->port, "/metrics", body, sizeof body) != 200)
        return -1;
    double sum = 0;
    size_t nl = strlen(name);
    for (char *l = body; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL) {
        if (strncmp(l, name, nl) != 0 || (l[nl] != ' ' && l[nl] != '{'))
            continue;
        char *sp = strchr(l + nl, ' ');
        if (l[nl] == '{')
            sp = strchr(strchr(l, '}') ? strchr(l, '}') : l, ' ');
        if (sp)
            sum += strtod(sp + 1, NULL);
    }
    return sum;
}

static json_t *sent_of(json_t *reply)
{
    json_t *sent = json_object_get(reply, "sent");
    ck_assert_msg(json_is_array(sent), "no \"sent\" in the edge node's reply");
    return sent;
}

/* The births the edge node reports in REPLY are records, named, and the
 * node and device are online in the status topic. */
static void births_arrive(spb_t *s, json_t *reply, size_t total)
{
    krecs_t k = krecs_read(s, s->topic, total);
    check_sent(s, &k, sent_of(reply));
    krecs_free(&k);
}

/* ---- the tests ------------------------------------------------------- */

/* Births, then a bridge restart, then data by alias: named from the birth
 * state the bridge persisted in spool.dir, with no rebirth asked for. */
START_TEST(test_birth_restart_data)
{
    spb_t s;
    spb_init(&s);
    spb_start(&s);
    edge_t e;
    edge_start(&e, s.group);
    json_t *r = edge_cmd(&e, "connect");
    births_arrive(&s, r, N_BIRTHS);
    check_status(&s, 2, "NBIRTH", 0, "online", json_array_get(sent_of(r), 0));
    check_status(&s, 2, "DBIRTH", 1, "online", json_array_get(sent_of(r), 1));
    json_decref(r);
    spb_stop(&s);
    ck_assert_msg(access(s.state, R_OK) == 0, "no birth state in %s", s.state);

    spb_start(&s);
    r = edge_cmd(&e, "data");
    krecs_t k = krecs_read(&s, s.topic, N_BIRTHS + N_DATA);
    check_sent(&s, &k, sent_of(r));
    krecs_free(&k);
    json_decref(r);
    json_t *ncmd = edge_event(&e, "ncmd", 0);
    ck_assert_msg(ncmd == NULL, "the bridge asked for a rebirth although it had the births");
    ck_assert_double_eq(scrape_sum(&s, "mkb_sparkplug_unresolved_metrics_total"), 0);
    json_decref(edge_cmd(&e, "quit"));
    edge_stop(&e);
    spb_stop(&s);
    spb_free(&s);
}
END_TEST

/* The birth state lost across a restart: data by alias becomes records
 * marked unresolved (nothing lost, nothing guessed), the bridge publishes
 * the NCMD Node Control/Rebirth, the edge node answers with new births, and
 * the data after them is named. */
START_TEST(test_lost_state_rebirth)
{
    spb_t s;
    spb_init(&s);
    spb_start(&s);
    edge_t e;
    edge_start(&e, s.group);
    json_t *r = edge_cmd(&e, "connect");
    births_arrive(&s, r, N_BIRTHS);
    json_decref(r);
    spb_stop(&s);
    ck_assert_msg(unlink(s.state) == 0, "unlink %s: %s", s.state, strerror(errno));

    spb_start(&s);
    r = edge_cmd(&e, "data");
    krecs_t k = krecs_read(&s, s.topic, N_BIRTHS + N_DATA);
    check_unresolved(&s, &k, sent_of(r));
    krecs_free(&k);
    json_decref(r);
    json_t *ncmd = edge_event(&e, "ncmd", itest_scale_ms(15000));
    if (!ncmd)
        itest_bridge_dump_log(&s.b);
    ck_assert_msg(ncmd != NULL, "no rebirth NCMD reached the edge node");
    json_t *m0 = json_array_get(json_object_get(ncmd, "metrics"), 0);
    ck_assert_msg(has_str(m0, "name", "Node Control/Rebirth") &&
                      json_is_true(json_object_get(m0, "value")),
                  "the NCMD is not a rebirth request");
    json_decref(ncmd);
    json_t *rb = edge_event(&e, "rebirth", itest_scale_ms(15000));
    ck_assert_msg(rb != NULL, "the edge node did not answer the rebirth");
    births_arrive(&s, rb, 2 * N_BIRTHS + N_DATA);
    json_decref(rb);

    r = edge_cmd(&e, "data");
    k = krecs_read(&s, s.topic, 2 * N_BIRTHS + 2 * N_DATA);
    check_sent(&s, &k, sent_of(r));
    krecs_free(&k);
    json_decref(r);
    /* Exactly the first data's metrics were unnamed; a node the bridge had
     * no state for has no seq to miss. */
    ck_assert_double_eq(scrape_sum(&s, "mkb_sparkplug_unresolved_metrics_total"), N_DATA);
    ck_assert_double_eq(scrape_sum(&s, "mkb_sparkplug_seq_gaps_total"), 0);
    ck_assert(scrape_sum(&s, "mkb_sparkplug_rebirths_total") >= 1);
    json_decref(edge_cmd(&e, "quit"));
    edge_stop(&e);
    spb_stop(&s);
    spb_free(&s);
}
END_TEST

/* A seq gap: the data is still named and forwarded, the gap counted once,
 * a rebirth asked for and answered. Then the edge node's connection drops:
 * the broker publishes its NDEATH will, an offline status record. */
START_TEST(test_seq_gap_and_death)
{
    spb_t s;
    spb_init(&s);
    spb_start(&s);
    edge_t e;
    edge_start(&e, s.group);
    json_t *r = edge_cmd(&e, "connect");
    births_arrive(&s, r, N_BIRTHS);
    json_decref(r);
    json_decref(edge_cmd(&e, "data"));
    json_decref(edge_cmd(&e, "gap"));
    r = edge_cmd(&e, "data");
    krecs_t k = krecs_read(&s, s.topic, N_BIRTHS + 2 * N_DATA);
    check_sent(&s, &k, sent_of(r));
    krecs_free(&k);
    json_decref(r);
    json_t *ncmd = edge_event(&e, "ncmd", itest_scale_ms(15000));
    ck_assert_msg(ncmd != NULL, "no rebirth NCMD after the seq gap");
    json_decref(ncmd);
    json_t *rb = edge_event(&e, "rebirth", itest_scale_ms(15000));
    ck_assert_msg(rb != NULL, "the edge node did not answer the rebirth");
    births_arrive(&s, rb, 2 * N_BIRTHS + 2 * N_DATA);
    json_decref(rb);
    ck_assert_double_eq(scrape_sum(&s, "mkb_sparkplug_seq_gaps_total"), 1);
    ck_assert_double_eq(scrape_sum(&s, "mkb_sparkplug_unresolved_metrics_total"), 0);
    ck_assert(scrape_sum(&s, "mkb_sparkplug_rebirths_total") >= 1);

    json_decref(edge_cmd(&e, "death"));
    check_status(&s, 5, "NDEATH", -1, "offline", NULL);
    edge_stop(&e);
    spb_stop(&s);
    spb_free(&s);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("sparkplug");
    TCase *tc = tcase_create("live");
    tcase_set_timeout(tc, 60 * itest_scale());
    tcase_add_test(tc, test_birth_restart_data);
    tcase_add_test(tc, test_lost_state_rebirth);
    tcase_add_test(tc, test_seq_gap_and_death);
    suite_add_tcase(s, tc);
    return check_run(s);
}
