// SPDX-FileCopyrightText: 2026 The mqtt-kafka-bridge authors
// SPDX-License-Identifier: Apache-2.0
#define _GNU_SOURCE /* asprintf, memmem, strcasestr */
#include "itest.h"

#include <MQTTAsync.h>
#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <librdkafka/rdkafka.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void itest_sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

int itest_scale(void)
{
    static int scale;
    if (!scale) {
        const char *v = getenv("MKB_TEST_SCALE");
        char *end = NULL;
        long n = v && *v ? strtol(v, &end, 10) : 1;
        scale = v && *v && (*end || n < 1 || n > 1000) ? 1 : (int)n;
    }
    return scale;
}

int itest_scale_ms(int ms)
{
    long long t = (long long)ms * itest_scale();
    return t > 3600000 ? 3600000 : (int)t;
}

int itest_scale_n(int n, int min)
{
    int m = n / itest_scale();
    return m > min ? m : (n < min ? n : min);
}

const char *itest_env(const char *name)
{
    const char *v = getenv(name);
    if (!v || !*v)
        ck_abort_msg("%s is not set: run integration tests through tests/harness/with-brokers.sh",
                     name);
    return v;
}

char *itest_unique(const char *prefix)
{
    static int counter;
    char buf[256];
    snprintf(buf, sizeof(buf), "%s-%d-%d-%lld", prefix, (int)getpid(), ++counter,
             (long long)time(NULL));
    return strdup(buf);
}

void itest_create_topic(const char *topic) { itest_create_topic_cfg(topic, NULL); }

void itest_create_topic_cfg(const char *topic, const char *const *configs)
{
    itest_create_topic_parts(topic, 1, configs);
}

void itest_create_topic_parts(const char *topic, int partitions, const char *const *configs)
{
    itest_create_topic_rf(topic, partitions, 1, configs);
}

void itest_create_topic_rf(const char *topic, int partitions, int rf, const char *const *configs)
{
    char err[512];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    ck_assert(rd_kafka_conf_set(conf, "bootstrap.servers", itest_env("MKB_KAFKA_BOOTSTRAP"), err,
                                sizeof(err)) == RD_KAFKA_CONF_OK);
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof(err));
    ck_assert_msg(rk != NULL, "rd_kafka_new: %s", err);
    rd_kafka_NewTopic_t *nt = rd_kafka_NewTopic_new(topic, partitions, rf, err, sizeof(err));
    ck_assert_msg(nt != NULL, "NewTopic: %s", err);
    for (size_t i = 0; configs && configs[i]; i += 2)
        ck_assert(rd_kafka_NewTopic_set_config(nt, configs[i], configs[i + 1]) ==
                  RD_KAFKA_RESP_ERR_NO_ERROR);
    rd_kafka_queue_t *q = rd_kafka_queue_new(rk);
    rd_kafka_CreateTopics(rk, &nt, 1, NULL, q);
    rd_kafka_event_t *ev = rd_kafka_queue_poll(q, itest_scale_ms(60000));
    ck_assert_msg(ev != NULL, "CreateTopics: no answer in %d s", itest_scale_ms(60000) / 1000);
    const rd_kafka_CreateTopics_result_t *res = rd_kafka_event_CreateTopics_result(ev);
    ck_assert_msg(res != NULL, "CreateTopics: %s", rd_kafka_event_error_string(ev));
    size_t n;
    const rd_kafka_topic_result_t **tr = rd_kafka_CreateTopics_result_topics(res, &n);
    ck_assert_uint_eq(n, 1);
    ck_assert_msg(rd_kafka_topic_result_error(tr[0]) == RD_KAFKA_RESP_ERR_NO_ERROR,
                  "create topic %s: %s", topic, rd_kafka_topic_result_error_string(tr[0]));
    rd_kafka_event_destroy(ev);
    rd_kafka_queue_destroy(q);
    rd_kafka_NewTopic_destroy(nt);
    rd_kafka_destroy(rk);
}

int itest_publish_pause_us;

void itest_harness_ctl(const char *command)
{
    char cmd[1024];
    snprintf(cmd, sizeof(cmd), "'%s/tests/harness/ctl.sh' %s '%s'", MKB_SOURCE_DIR, command,
             itest_env("MKB_HARNESS_DIR"));
    ck_assert_msg(system(cmd) == 0, "%s failed", cmd);
}

long itest_rss_kib(pid_t pid)
{
    char path[64], line[256];
    snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
    FILE *f = fopen(path, "r");
    long kib = -1;
    if (!f)
        return -1;
    while (fgets(line, sizeof(line), f))
        if (sscanf(line, "VmRSS: %ld kB", &kib) == 1)
            break;
    fclose(f);
    return kib;
}

void itest_write_file(const char *path, const char *text)
{
    /* Write then rename: a reader never sees half a file. */
    char tmp[600];
    snprintf(tmp, sizeof(tmp), "%s.tmp", path);
    FILE *f = fopen(tmp, "w");
    ck_assert_msg(f != NULL, "cannot write %s: %s", tmp, strerror(errno));
    fputs(text, f);
    fclose(f);
    ck_assert(rename(tmp, path) == 0);
}

void itest_exec(char *const argv[])
{
    char *all[96];
    int n = 0;
    const char *env = getenv("MKB_BRIDGE_WRAP");
    char *wrap = env ? strdup(env) : NULL;
    for (char *save = NULL, *w = wrap ? strtok_r(wrap, " ", &save) : NULL; w && n < 64;
         w = strtok_r(NULL, " ", &save))
        all[n++] = w;
    for (int i = 0; argv[i] && n < 95; i++)
        all[n++] = argv[i];
    all[n] = NULL;
    execvp(all[0], all);
    _exit(127);
}

void itest_bridge_start(itest_bridge_t *b, const char *name, const char *config_yaml)
{
    const char *dir = itest_env("MKB_HARNESS_DIR");
    const char *bin = itest_env("MKB_BRIDGE_BIN");
    // cppcheck-suppress ctuuninitvar ; B is an out parameter, filled here
    snprintf(b->config_path, sizeof(b->config_path), "%s/%s.yaml", dir, name);
    snprintf(b->log_path, sizeof(b->log_path), "%s/%s.log", dir, name);
    FILE *f = fopen(b->config_path, "w");
    ck_assert_msg(f != NULL, "cannot write %s: %s", b->config_path, strerror(errno));
    fputs(config_yaml, f);
    fclose(f);
    pid_t parent = getpid();
    b->pid = fork();
    ck_assert(b->pid >= 0);
    if (b->pid == 0) {
        /* Never outlive the test: the harness also checks nothing is left. */
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (getppid() != parent)
            _exit(127);
        int fd = open(b->log_path, O_WRONLY | O_CREAT | O_APPEND, 0644);
        if (fd >= 0) {
            dup2(fd, STDOUT_FILENO);
            dup2(fd, STDERR_FILENO);
            close(fd);
        }
        char *argv[] = {(char *)bin, "-c", b->config_path, NULL};
        itest_exec(argv);
    }
}

static bool file_contains(const char *path, const char *needle)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return false;
    char line[4096];
    bool found = false;
    while (!found && fgets(line, sizeof(line), f))
        found = strstr(line, needle) != NULL;
    fclose(f);
    return found;
}

bool itest_bridge_wait_log(itest_bridge_t *b, const char *needle, int timeout_ms)
{
    long long deadline = now_ms() + itest_scale_ms(timeout_ms);
    while (now_ms() < deadline) {
        if (file_contains(b->log_path, needle))
            return true;
        int st;
        if (waitpid(b->pid, &st, WNOHANG) == b->pid) {
            b->pid = -1;
            return file_contains(b->log_path, needle);
        }
        itest_sleep_ms(50);
    }
    return false;
}

int itest_bridge_stop(itest_bridge_t *b, int sig, int timeout_ms)
{
    if (b->pid <= 0)
        return -1;
    kill(b->pid, sig);
    long long deadline = now_ms() + itest_scale_ms(timeout_ms);
    int st;
    for (;;) {
        pid_t r = waitpid(b->pid, &st, WNOHANG);
        if (r == b->pid)
            break;
        if (now_ms() >= deadline) {
            kill(b->pid, SIGKILL);
            waitpid(b->pid, &st, 0);
            b->pid = -1;
            return -1;
        }
        itest_sleep_ms(20);
    }
    b->pid = -1;
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

void itest_bridge_dump_log(const itest_bridge_t *b)
{
    FILE *f = fopen(b->log_path, "r");
    if (!f)
        return;
    char line[4096];
    fprintf(stderr, "--- %s\n", b->log_path);
    while (fgets(line, sizeof(line), f))
        fputs(line, stderr);
    fclose(f);
}

typedef struct {
    atomic_int acked, failed, connected;
} pubstate_t;

static void pub_ok(void *ctx, MQTTAsync_successData *r)
{
    (void)r;
    atomic_fetch_add(&((pubstate_t *)ctx)->acked, 1);
}
static void pub_fail(void *ctx, MQTTAsync_failureData *r)
{
    (void)r;
    atomic_fetch_add(&((pubstate_t *)ctx)->failed, 1);
}
static void pub_ok5(void *ctx, MQTTAsync_successData5 *r)
{
    (void)r;
    atomic_fetch_add(&((pubstate_t *)ctx)->acked, 1);
}
static void pub_fail5(void *ctx, MQTTAsync_failureData5 *r)
{
    (void)r;
    atomic_fetch_add(&((pubstate_t *)ctx)->failed, 1);
}
static void pub_connected(void *ctx, char *cause)
{
    (void)cause;
    atomic_store(&((pubstate_t *)ctx)->connected, 1);
}

struct itest_pub {
    MQTTAsync c;
    int version;
    int sent;
    pubstate_t st;
};

itest_pub_t *itest_pub_open(const char *client_id, int mqtt_version)
{
    itest_pub_t *p = calloc(1, sizeof(*p));
    ck_assert_ptr_nonnull(p);
    p->version = mqtt_version;
    char *id = client_id ? NULL : itest_unique("itest-pub");
    MQTTAsync_createOptions co = MQTTAsync_createOptions_initializer;
    co.MQTTVersion = mqtt_version;
    co.maxBufferedMessages = 2000; /* applies while connected too */
    int rc = MQTTAsync_createWithOptions(&p->c, itest_env("MKB_MQTT_URI"),
                                         client_id ? client_id : id,
                                         MQTTCLIENT_PERSISTENCE_NONE, NULL, &co);
    free(id);
    ck_assert_int_eq(rc, MQTTASYNC_SUCCESS);
    MQTTAsync_setConnected(p->c, &p->st, pub_connected);
    MQTTAsync_connectOptions o = MQTTAsync_connectOptions_initializer;
    MQTTAsync_connectOptions o5 = MQTTAsync_connectOptions_initializer5;
    if (mqtt_version == MQTTVERSION_5)
        o = o5;
    else
        o.MQTTVersion = mqtt_version;
    o.maxInflight = 1000;
    ck_assert_int_eq(MQTTAsync_connect(p->c, &o), MQTTASYNC_SUCCESS);
    long long deadline = now_ms() + itest_scale_ms(10000);
    while (!atomic_load(&p->st.connected) && now_ms() < deadline)
        itest_sleep_ms(10);
    ck_assert_msg(atomic_load(&p->st.connected), "publisher could not connect");
    return p;
}

int itest_pub_try_send(itest_pub_t *p, const char *topic, const void *payload, size_t len,
                       int qos)
{
    MQTTAsync_responseOptions ro = MQTTAsync_responseOptions_initializer;
    ro.context = &p->st;
    if (p->version == MQTTVERSION_5) {
        ro.onSuccess5 = pub_ok5;
        ro.onFailure5 = pub_fail5;
    } else {
        ro.onSuccess = pub_ok;
        ro.onFailure = pub_fail;
    }
    /* Keep at most 500 unacknowledged (under maxInflight). */
    while (p->sent - atomic_load(&p->st.acked) - atomic_load(&p->st.failed) >= 500)
        itest_sleep_ms(1);
    int rc;
    while ((rc = MQTTAsync_send(p->c, topic, (int)len, payload, qos, 0, &ro)) ==
           MQTTASYNC_MAX_BUFFERED_MESSAGES)
        itest_sleep_ms(1);
    if (rc == MQTTASYNC_SUCCESS)
        p->sent++;
    return rc;
}

void itest_pub_send(itest_pub_t *p, const char *topic, const void *payload, size_t len, int qos)
{
    int rc = itest_pub_try_send(p, topic, payload, len, qos);
    ck_assert_msg(rc == MQTTASYNC_SUCCESS, "publish %d to %.60s: %s", p->sent, topic,
                  MQTTAsync_strerror(rc));
}

void itest_pub_wait(itest_pub_t *p, int n)
{
    long long deadline = now_ms() + itest_scale_ms(60000);
    while (atomic_load(&p->st.acked) + atomic_load(&p->st.failed) < n && now_ms() < deadline)
        itest_sleep_ms(5);
    ck_assert_int_eq(atomic_load(&p->st.failed), 0);
    ck_assert_int_eq(atomic_load(&p->st.acked), n);
}

int itest_pub_acked(itest_pub_t *p)
{
    return atomic_load(&p->st.acked);
}

int itest_pub_failed(itest_pub_t *p)
{
    return atomic_load(&p->st.failed);
}

void itest_pub_close(itest_pub_t *p)
{
    MQTTAsync_disconnectOptions d = MQTTAsync_disconnectOptions_initializer;
    MQTTAsync_disconnect(p->c, &d);
    MQTTAsync_destroy(&p->c);
    free(p);
}

void itest_mqtt_publish_n(const char *client_id, int mqtt_version, const char *topic, int qos,
                          const char *payload_fmt, int n)
{
    itest_pub_t *p = itest_pub_open(client_id, mqtt_version);
    size_t cap = strlen(payload_fmt) + 64;
    char *payload = malloc(cap);
    ck_assert(payload != NULL);
    for (int i = 0; i < n; i++) {
        int len = snprintf(payload, cap, payload_fmt, i);
        if (itest_publish_pause_us) {
            struct timespec pause_ts = {itest_publish_pause_us / 1000000,
                                        (long)(itest_publish_pause_us % 1000000) * 1000};
            nanosleep(&pause_ts, NULL);
        }
        itest_pub_send(p, topic, payload, (size_t)len, qos);
    }
    free(payload);
    itest_pub_wait(p, n);
    itest_pub_close(p);
}

void itest_mqtt_publish_v5(const char *client_id, const char *topic, const char *payload,
                           const char *content_type, const char *const *props)
{
    pubstate_t st = {0};
    MQTTAsync c;
    MQTTAsync_createOptions co = MQTTAsync_createOptions_initializer5;
    ck_assert_int_eq(MQTTAsync_createWithOptions(&c, itest_env("MKB_MQTT_URI"), client_id,
                                                 MQTTCLIENT_PERSISTENCE_NONE, NULL, &co),
                     MQTTASYNC_SUCCESS);
    MQTTAsync_setConnected(c, &st, pub_connected);
    MQTTAsync_connectOptions o = MQTTAsync_connectOptions_initializer5;
    ck_assert_int_eq(MQTTAsync_connect(c, &o), MQTTASYNC_SUCCESS);
    long long deadline = now_ms() + 10000;
    while (!atomic_load(&st.connected) && now_ms() < deadline)
        itest_sleep_ms(10);
    MQTTAsync_message m = MQTTAsync_message_initializer;
    m.payload = (void *)payload;
    m.payloadlen = (int)strlen(payload);
    m.qos = 1;
    MQTTProperty p;
    if (content_type) {
        p.identifier = MQTTPROPERTY_CODE_CONTENT_TYPE;
        p.value.data.data = (char *)content_type;
        p.value.data.len = (int)strlen(content_type);
        MQTTProperties_add(&m.properties, &p);
    }
    for (size_t i = 0; props && props[i]; i += 2) {
        p.identifier = MQTTPROPERTY_CODE_USER_PROPERTY;
        p.value.data.data = (char *)props[i];
        p.value.data.len = (int)strlen(props[i]);
        p.value.value.data = (char *)props[i + 1];
        p.value.value.len = (int)strlen(props[i + 1]);
        MQTTProperties_add(&m.properties, &p);
    }
    MQTTAsync_responseOptions ro = MQTTAsync_responseOptions_initializer;
    ro.context = &st;
    ro.onSuccess5 = pub_ok5;
    ro.onFailure5 = pub_fail5;
    ck_assert_int_eq(MQTTAsync_sendMessage(c, topic, &m, &ro), MQTTASYNC_SUCCESS);
    MQTTProperties_free(&m.properties);
    deadline = now_ms() + 10000;
    while (atomic_load(&st.acked) + atomic_load(&st.failed) < 1 && now_ms() < deadline)
        itest_sleep_ms(5);
    ck_assert_int_eq(atomic_load(&st.acked), 1);
    MQTTAsync_disconnectOptions d = MQTTAsync_disconnectOptions_initializer;
    MQTTAsync_disconnect(c, &d);
    MQTTAsync_destroy(&c);
}

char *itest_dup_bytes(const void *p, size_t n)
{
    char *s = malloc(n + 1);
    ck_assert(s != NULL);
    if (n)
        memcpy(s, p, n);
    s[n] = '\0';
    return s;
}

/* Copies the value, key and headers of M into R. */
static void rec_copy(itest_rec_t *r, const rd_kafka_message_t *m)
{
    memset(r, 0, sizeof(*r));
    r->val = itest_dup_bytes(m->payload, m->len);
    r->len = m->len;
    r->null_val = m->payload == NULL;
    r->key = itest_dup_bytes(m->key, m->key_len);
    r->klen = m->key_len;
    r->ts = rd_kafka_message_timestamp(m, NULL);
    rd_kafka_headers_t *hs = NULL;
    if (rd_kafka_message_headers((rd_kafka_message_t *)m, &hs) != RD_KAFKA_RESP_ERR_NO_ERROR)
        return;
    size_t count = rd_kafka_header_cnt(hs);
    r->h = calloc(count ? count : 1, sizeof(*r->h));
    ck_assert(r->h != NULL);
    const char *name;
    const void *v;
    size_t vlen;
    while (r->nh < count &&
           rd_kafka_header_get_all(hs, r->nh, &name, &v, &vlen) == RD_KAFKA_RESP_ERR_NO_ERROR) {
        r->h[r->nh].name = strdup(name);
        r->h[r->nh].val = itest_dup_bytes(v, v ? vlen : 0);
        r->h[r->nh++].len = v ? vlen : 0;
    }
}

itest_recs_t itest_kafka_read(const char *topic, size_t expect, int timeout_ms)
{
    char err[512];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    rd_kafka_conf_set(conf, "bootstrap.servers", itest_env("MKB_KAFKA_BOOTSTRAP"), err,
                      sizeof(err));
    rd_kafka_conf_set(conf, "group.id", "itest-reader", err, sizeof(err));
    rd_kafka_conf_set(conf, "enable.partition.eof", "true", err, sizeof(err));
    rd_kafka_conf_set(conf, "enable.auto.commit", "false", err, sizeof(err));
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof(err));
    ck_assert_msg(rk != NULL, "consumer: %s", err);
    rd_kafka_poll_set_consumer(rk);
    rd_kafka_topic_partition_list_t *parts = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(parts, topic, 0)->offset = RD_KAFKA_OFFSET_BEGINNING;
    ck_assert(rd_kafka_assign(rk, parts) == RD_KAFKA_RESP_ERR_NO_ERROR);
    rd_kafka_topic_partition_list_destroy(parts);
    itest_recs_t rs = {0};
    size_t cap = 0;
    bool at_end = false;
    long long deadline = now_ms() + itest_scale_ms(timeout_ms);
    while (now_ms() < deadline && !(at_end && rs.n >= expect)) {
        rd_kafka_message_t *m = rd_kafka_consumer_poll(rk, 200);
        if (!m)
            continue;
        if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
            at_end = true;
        } else if (m->err) {
            fprintf(stderr, "itest: consume %s: %s\n", topic, rd_kafka_message_errstr(m));
        } else {
            at_end = false;
            if (rs.n == cap) {
                cap = cap ? cap * 2 : expect + 16;
                rs.r = realloc(rs.r, cap * sizeof(*rs.r));
                ck_assert(rs.r != NULL);
            }
            rec_copy(&rs.r[rs.n++], m);
        }
        rd_kafka_message_destroy(m);
    }
    rd_kafka_consumer_close(rk);
    rd_kafka_destroy(rk);
    return rs;
}

void itest_recs_free(itest_recs_t *rs)
{
    for (size_t i = 0; i < rs->n; i++) {
        free(rs->r[i].val);
        free(rs->r[i].key);
        for (size_t j = 0; j < rs->r[i].nh; j++) {
            free(rs->r[i].h[j].name);
            free(rs->r[i].h[j].val);
        }
        free(rs->r[i].h);
    }
    free(rs->r);
    rs->r = NULL;
    rs->n = 0;
}

const char *itest_rec_header(const itest_rec_t *r, const char *name, size_t *len)
{
    for (size_t i = 0; i < r->nh; i++) {
        if (strcmp(r->h[i].name, name) == 0) {
            if (len)
                *len = r->h[i].len;
            return r->h[i].val;
        }
    }
    return NULL;
}

bool itest_rec_header_is(const itest_rec_t *r, const char *name, const void *want, size_t want_len)
{
    size_t len;
    const char *v = itest_rec_header(r, name, &len);
    return v && len == want_len && memcmp(v, want, len) == 0;
}

bool itest_rec_header_has(const itest_rec_t *r, const char *name, const char *part)
{
    size_t len;
    const char *v = itest_rec_header(r, name, &len);
    return v && memmem(v, len, part, strlen(part)) != NULL;
}

void itest_kafka_read_all(const char *topic, size_t expect, int timeout_ms, char ***out, size_t *n,
                          char ***keys, char ***headers)
{
    itest_recs_t rs = itest_kafka_read(topic, expect, timeout_ms);
    char **vals = calloc(rs.n + 1, sizeof(char *));
    char **ks = calloc(rs.n + 1, sizeof(char *));
    char **hs = calloc(rs.n + 1, sizeof(char *));
    ck_assert(vals && ks && hs);
    for (size_t i = 0; i < rs.n; i++) {
        itest_rec_t *r = &rs.r[i];
        char hbuf[4096] = "";
        for (size_t j = 0; j < r->nh; j++) {
            size_t used = strlen(hbuf);
            snprintf(hbuf + used, sizeof(hbuf) - used, "%s=%.*s;", r->h[j].name, (int)r->h[j].len,
                     r->h[j].val);
        }
        ck_assert((hs[i] = strdup(hbuf)) != NULL);
        vals[i] = r->val; /* taken over */
        ks[i] = r->key;
        r->val = r->key = NULL;
    }
    *out = vals;
    *n = rs.n;
    if (keys)
        *keys = ks;
    else
        itest_free_strings(ks, rs.n);
    if (headers)
        *headers = hs;
    else
        itest_free_strings(hs, rs.n);
    itest_recs_free(&rs);
}

void itest_free_strings(char **s, size_t n)
{
    for (size_t i = 0; s && i < n; i++)
        free(s[i]);
    free(s);
}

/* The client is made anew after two failed queries: once the partition
 * leader was SIGKILLed (faults: cluster), librdkafka's watermark query kept
 * failing on the old client even after the node came back. */
long long itest_kafka_count(const char *topic)
{
    static rd_kafka_t *rk; /* one client per test process, reused */
    static int fails;
    if (!rk) {
        char err[512];
        rd_kafka_conf_t *conf = rd_kafka_conf_new();
        rd_kafka_conf_set(conf, "bootstrap.servers", itest_env("MKB_KAFKA_BOOTSTRAP"), err,
                          sizeof(err));
        rd_kafka_conf_set(conf, "log_level", "3", err, sizeof(err));
        rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof(err));
        ck_assert_msg(rk != NULL, "%s", err);
    }
    int64_t lo = 0, hi = -1;
    rd_kafka_resp_err_t e = rd_kafka_query_watermark_offsets(rk, topic, 0, &lo, &hi, 5000);
    if (e == RD_KAFKA_RESP_ERR_NO_ERROR) {
        fails = 0;
        return hi;
    }
    if (++fails >= 2) {
        fprintf(stderr, "itest: watermark of %s: %s; new client\n", topic, rd_kafka_err2str(e));
        rd_kafka_destroy(rk);
        rk = NULL;
        fails = 0;
    }
    return -1;
}

void itest_fix_init(itest_fix_t *f, const char *name, int qos, const char *const *topic_cfg)
{
    char prefix[64];
    snprintf(prefix, sizeof(prefix), "itest.%s", name);
    f->topic = itest_unique(prefix);
    f->client = itest_unique("bridge");
    snprintf(f->filter, sizeof(f->filter), "%s/%s/#", name, f->topic);
    snprintf(f->mtopic, sizeof(f->mtopic), "%s/%s/x", name, f->topic);
    itest_create_topic_cfg(f->topic, topic_cfg);
    ck_assert(asprintf(&f->routes,
                       "routes:\n  - name: r\n    mqtt: { filter: \"%s\", qos: %d }\n"
                       "    kafka: { topic: %s }\n    payload: raw\n",
                       f->filter, qos, f->topic) > 0);
}

void itest_fix_free(itest_fix_t *f)
{
    free(f->routes);
    free(f->client);
    free(f->topic);
}

void itest_start_ready(itest_bridge_t *b, const char *name, const char *cfg)
{
    itest_bridge_start(b, name, cfg);
    if (!itest_bridge_wait_log(b, "ready: forwarding", 30000)) {
        itest_bridge_dump_log(b);
        ck_abort_msg("bridge not ready within %d s", itest_scale_ms(30000) / 1000);
    }
}

void itest_wait_count(const char *topic, long long want, int timeout_ms)
{
    long long have = -1;
    timeout_ms = itest_scale_ms(timeout_ms);
    for (int waited = 0; waited < timeout_ms; waited += 100) {
        if ((have = itest_kafka_count(topic)) >= want)
            return;
        itest_sleep_ms(100);
    }
    ck_abort_msg("%s: %lld records after %d ms, want %lld", topic, have, timeout_ms, want);
}

/* ---- HTTP ------------------------------------------------------------- */

/* A TCP port nobody listens on now (the kernel's pick for port 0). */
int itest_free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    ck_assert(fd >= 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = 0};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof(sa);
    ck_assert(bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0);
    ck_assert(getsockname(fd, (struct sockaddr *)&sa, &len) == 0);
    close(fd);
    return ntohs(sa.sin_port);
}

void itest_http_free(itest_http_resp_t *r)
{
    free(r->body);
    r->body = NULL;
}

/* Undoes "Transfer-Encoding: chunked" in place; false if malformed. */
static bool dechunk(char *buf, size_t len, size_t *out_len)
{
    size_t in = 0, out = 0;
    for (;;) {
        char *end = NULL;
        if (in >= len)
            return false;
        unsigned long sz = strtoul(buf + in, &end, 16);
        char *eol = memmem(buf + in, len - in, "\r\n", 2);
        if (!eol || end == buf + in)
            return false;
        in = (size_t)(eol - buf) + 2;
        if (sz == 0)
            break;
        if (in + sz + 2 > len)
            return false;
        memmove(buf + out, buf + in, sz);
        out += sz;
        in += sz + 2;
    }
    buf[out] = '\0';
    *out_len = out;
    return true;
}

int itest_http_request(int port, const char *method, const char *path, itest_http_resp_t *r)
{
    return itest_http_request_at("127.0.0.1", port, method, path, r);
}

int itest_http_request_at(const char *ip, int port, const char *method, const char *path,
                          itest_http_resp_t *r)
{
    memset(r, 0, sizeof(*r));
    bool v6 = strchr(ip, ':') != NULL;
    struct sockaddr_storage ss = {0};
    struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
    struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
    socklen_t slen = v6 ? sizeof(*s6) : sizeof(*s4);
    if (v6) {
        s6->sin6_family = AF_INET6;
        s6->sin6_port = htons((uint16_t)port);
        ck_assert_int_eq(inet_pton(AF_INET6, ip, &s6->sin6_addr), 1);
    } else {
        s4->sin_family = AF_INET;
        s4->sin_port = htons((uint16_t)port);
        ck_assert_int_eq(inet_pton(AF_INET, ip, &s4->sin_addr), 1);
    }
    int fd = socket(ss.ss_family, SOCK_STREAM, 0);
    if (fd < 0)
        return -1;
    struct timeval tv = {10, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
    char req[1200];
    int n = snprintf(
        req, sizeof(req),
        "%s %s HTTP/1.1\r\nHost: %s%s%s:%d\r\nUser-Agent: mkb-test\r\n"
        "Accept: */*\r\nConnection: close\r\n%s\r\n",
        method, path, v6 ? "[" : "", ip, v6 ? "]" : "", port,
        strcmp(method, "POST") == 0 || strcmp(method, "PUT") == 0 ? "Content-Length: 0\r\n" : "");
    if (n <= 0 || (size_t)n >= sizeof(req) || connect(fd, (struct sockaddr *)&ss, slen) != 0 ||
        send(fd, req, (size_t)n, MSG_NOSIGNAL) != n) {
        int e = errno;
        close(fd);
        errno = e;
        return -1;
    }
    size_t cap = 65536, len = 0;
    char *buf = malloc(cap);
    ck_assert(buf != NULL);
    for (;;) {
        if (cap - len < 4096) {
            cap *= 2;
            buf = realloc(buf, cap);
            ck_assert(buf != NULL);
        }
        ssize_t got = recv(fd, buf + len, cap - len - 1, 0);
        if (got < 0 && errno == EINTR)
            continue;
        if (got <= 0)
            break; /* EOF, or a timeout: what came is judged below */
        len += (size_t)got;
    }
    close(fd);
    buf[len] = '\0';
    char *hend = strstr(buf, "\r\n\r\n");
    if (!hend || sscanf(buf, "HTTP/1.%*d %d", &r->status) != 1) {
        free(buf);
        r->body = strdup("(not an HTTP answer)");
        return -1;
    }
    *hend = '\0';
    bool chunked = false;
    long clen = -1;
    char *save = NULL;
    strtok_r(buf, "\r\n", &save); /* the status line */
    for (char *h; (h = strtok_r(NULL, "\r\n", &save)) != NULL;) {
        if (strncasecmp(h, "Content-Type:", 13) == 0)
            snprintf(r->ctype, sizeof(r->ctype), "%s", h + 13 + strspn(h + 13, " \t"));
        else if (strncasecmp(h, "Allow:", 6) == 0)
            snprintf(r->allow, sizeof(r->allow), "%s", h + 6 + strspn(h + 6, " \t"));
        else if (strncasecmp(h, "Transfer-Encoding:", 18) == 0 && strcasestr(h, "chunked"))
            chunked = true;
        else if (strncasecmp(h, "Content-Length:", 15) == 0)
            clen = atol(h + 15);
    }
    size_t blen = len - (size_t)(hend + 4 - buf);
    memmove(buf, hend + 4, blen);
    buf[blen] = '\0';
    const char *bad = NULL;
    if (chunked && !dechunk(buf, blen, &blen))
        bad = "(bad chunked body)";
    else if (!chunked && clen >= 0 && (size_t)clen != blen)
        bad = "(body shorter or longer than Content-Length)";
    if (bad) {
        free(buf);
        r->body = strdup(bad);
        return -1;
    }
    r->body = buf;
    r->len = blen;
    return 0;
}

int itest_http_get(int port, const char *path, char *body, size_t body_size)
{
    itest_http_resp_t r;
    body[0] = '\0';
    int rc = itest_http_request(port, "GET", path, &r);
    if (rc == 0)
        snprintf(body, body_size, "%s", r.body);
    itest_http_free(&r);
    return rc == 0 ? r.status : -1;
}
