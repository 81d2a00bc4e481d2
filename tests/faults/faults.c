// SPDX-FileCopyrightText: 2026 The mqtt-kafka-bridge authors
// SPDX-License-Identifier: Apache-2.0
/* The fault suite (make faults): the bridge with its on-disk spool against
 * real brokers (tests/harness/with-brokers.sh), under faults that lose
 * nothing if the spool does its job:
 *
 *   sigkill       100,000 QoS 1 messages from a paced concurrent publisher
 *                 while the bridge is SIGKILLed at random moments (>= 5
 *                 times) and restarted
 *   kafka-outage  50,000 messages with Kafka stopped for 30 s mid-stream;
 *                 resident memory sampled every 100 ms against a bound
 *   torn-tail     a journal whose newest segment lost its last 5 bytes
 *                 (a crash mid-write), and one with a byte flipped in the
 *                 middle of a segment: the damage is logged, every complete
 *                 record reaches Kafka
 *   cluster       three Kafka nodes (MKB_KAFKA_NODES=3): the partition
 *                 leader SIGKILLed mid-stream, restarted later
 *   topic-later   a route's topic not created yet (broker auto-create on),
 *                 Kafka stopped 40 s (> topic.metadata.propagation.max.ms)
 *                 while 20,000 readings arrive: all reach the topic, none
 *                 is dead-lettered
 *   topic-later-nospool  the same without the spool (5,000 readings): the
 *                 records wait in memory and are produced again from it
 *   topic-absent  a topic that really is absent (the producer may not
 *                 create it): its readings are dead-lettered with the reason
 *   disk-full     the spool on an 8 MiB tmpfs filled while Kafka is
 *                 stopped (the broker keeps the backlog); once Kafka is
 *                 back the bridge resumes by itself, without a restart
 *   kafka-hung    the Kafka JVM SIGSTOPped for 35 s mid-stream (a hung
 *                 broker: its connections stay open): /readyz turns 503
 *                 "Kafka: no delivery" within the readiness window
 *                 (kafka.stall_timeout_ms) and 200 again after SIGCONT
 *   intake-paused a 2 MiB spool (on_full: block) filled while Kafka hangs,
 *                 mqtt.keepalive_s 5: /readyz 503 "MQTT intake paused", the
 *                 broker drops the silent MQTT connection and the bridge
 *                 says why; after SIGCONT everything arrives
 *   queue-full    the same without the spool: a 1 MiB producer queue fills,
 *                 the MQTT callback waits: /readyz 503 "producer queue full"
 *   paused-sigterm  intake-paused with keepalive 60 s and a SIGTERM 2 s into
 *                 the pause (connection still up): the message in hand must
 *                 stay unacknowledged; Kafka resumes, the bridge restarts
 *
 * Usage: faults SCENARIO... (default: sigkill kafka-outage torn-tail). Each
 * scenario runs as a libcheck test in its own process and leaves one row
 * (two for torn-tail); the table of all rows is printed at the end (and
 * appended to $MKB_FAULTS_TABLE if set). Exit status 0 when every scenario
 * passed.
 *
 * Environment: the harness's (MKB_MQTT_URI, MKB_KAFKA_BOOTSTRAP,
 * MKB_HARNESS_DIR), MKB_BRIDGE_BIN, and optionally MKB_FAULTS_SEED (the
 * random seed, printed at the start; default from the time),
 * MKB_FAULTS_SCALE (a percentage applied to the message counts, default
 * 100), MKB_FAULTS_RSS_BOUND_MIB (the kafka-outage memory bound). */
#define _GNU_SOURCE /* asprintf */
#include "itest.h"

#include <MQTTAsync.h>
#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <librdkafka/rdkafka.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static unsigned long seed;

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int env_int(const char *name, int def)
{
    const char *v = getenv(name);
    return v && *v ? atoi(v) : def;
}

/* N scaled by MKB_FAULTS_SCALE percent (for quick runs while developing). */
static int scaled(int n)
{
    long s = env_int("MKB_FAULTS_SCALE", 100);
    long r = (long)n * s / 100;
    return r < 100 ? 100 : (int)r;
}

/* The last note, kept in a file for the table: the test runs in a child
 * process, which a timeout kills. */
static char last_note_path[600];

static void note(const char *fmt, ...)
{
    va_list ap;
    char text[1024];
    va_start(ap, fmt);
    vsnprintf(text, sizeof(text), fmt, ap);
    va_end(ap);
    fprintf(stderr, "faults: %s\n", text);
    FILE *f = last_note_path[0] ? fopen(last_note_path, "w") : NULL;
    if (f) {
        fputs(text, f);
        fclose(f);
    }
}

/* ---- rows of the result table ---------------------------------------- */

typedef struct {
    const char *key;  /* the scenario (command-line name) */
    const char *name; /* the row's name (a scenario may leave two) */
    long published, in_kafka, lost, dups;
    bool ok;
    double secs;
    char notes[1024];
} row_t;

static char rows_path[600];

/* Appends R to the rows file (the parent process prints the table). */
static void row_write(const row_t *r)
{
    FILE *f = fopen(rows_path, "a");
    ck_assert_msg(f != NULL, "cannot write %s: %s", rows_path, strerror(errno));
    fprintf(f, "%s\t%s\t%ld\t%ld\t%ld\t%ld\t%s\t%.0f\t%s\n", r->key, r->name, r->published,
            r->in_kafka, r->lost, r->dups, r->ok ? "ok" : "FAIL", r->secs, r->notes);
    fclose(f);
    fprintf(stderr,
            "faults: row %s: published %ld, in Kafka %ld, lost %ld, duplicated %ld, %s "
            "(%.0f s); %s\n",
            r->name, r->published, r->in_kafka, r->lost, r->dups, r->ok ? "ok" : "FAIL", r->secs,
            r->notes);
}

static void addnote(row_t *r, const char *fmt, ...)
{
    size_t used = strlen(r->notes);
    if (used && used < sizeof(r->notes) - 2) {
        memcpy(r->notes + used, "; ", 3);
        used += 2;
    }
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->notes + used, sizeof(r->notes) - used, fmt, ap);
    va_end(ap);
}

/* ---- Kafka ------------------------------------------------------------ */

/* Waits until TOPIC holds at least WANT records and has not grown for
 * STILL_MS (duplicates: reaching WANT does not mean all are in). False on
 * timeout (the caller reads what is there and reports the loss). */
static bool wait_settled(const char *topic, long long want, int still_ms, int timeout_ms)
{
    long long last = -2;
    long long still_since = now_ms(), deadline = now_ms() + timeout_ms, next_note = 0;
    while (now_ms() < deadline) {
        long long have = itest_kafka_count(topic);
        if (have != last) {
            last = have;
            still_since = now_ms();
        }
        if (have >= want && now_ms() - still_since >= still_ms)
            return true;
        if (now_ms() >= next_note) {
            note("%s: %lld of %lld records in Kafka", topic, have, want);
            next_note = now_ms() + 10000;
        }
        itest_sleep_ms(100);
    }
    note("%s: %lld records after %d ms, want %lld and settled", topic, last, timeout_ms, want);
    return false;
}

/* ---- a paced publisher (a thread) ------------------------------------- */

/* itest's publisher (MQTT 5, QoS 1, at most 500 unacknowledged), fed from a
 * thread at RATE messages per second so the scenario can act meanwhile. It
 * connects and disconnects on the test's thread (where an assertion may
 * abort); the thread itself never aborts: it leaves an error for pub_join. */
typedef struct {
    itest_pub_t *c;
    char topic[300];
    int n;
    double rate; /* messages per second */
    atomic_int sent;
    atomic_bool done;
    pthread_t thread;
    char error[256];
} pub_t;

/* Payload I: "f-<i> " then a ~150-byte JSON reading. */
static int payload(char *buf, size_t cap, int i)
{
    return snprintf(buf, cap,
                    "f-%d {\"seq\":%d,\"site\":\"s1\",\"temp_f\":71.6,\"rh\":41.5,\"aqi\":37,"
                    "\"pad\":\"%0100d\"}",
                    i, i, i);
}

static void *pub_main(void *arg)
{
    pub_t *p = arg;
    char buf[512];
    long long t0 = now_ms();
    for (int i = 0; i < p->n; i++) {
        long long wait = t0 + (long long)(i * 1000.0 / p->rate) - now_ms();
        if (wait > 0)
            itest_sleep_ms((int)wait);
        int len = payload(buf, sizeof(buf), i);
        int rc = itest_pub_try_send(p->c, p->topic, buf, (size_t)len, 1);
        if (rc != MQTTASYNC_SUCCESS) {
            snprintf(p->error, sizeof(p->error), "publisher: send %d: %s", i,
                     MQTTAsync_strerror(rc));
            goto out;
        }
        atomic_store(&p->sent, i + 1);
    }
    long long deadline = now_ms() + 60000;
    while (itest_pub_acked(p->c) + itest_pub_failed(p->c) < p->n && now_ms() < deadline)
        itest_sleep_ms(5);
    if (itest_pub_acked(p->c) != p->n)
        snprintf(p->error, sizeof(p->error), "publisher: %d acknowledged, %d failed of %d",
                 itest_pub_acked(p->c), itest_pub_failed(p->c), p->n);
out:
    atomic_store(&p->done, true);
    return NULL;
}

static void pub_start(pub_t *p, const char *client, const char *topic, int n, double rate)
{
    memset(p, 0, sizeof(*p));
    snprintf(p->topic, sizeof(p->topic), "%s", topic);
    p->n = n;
    p->rate = rate;
    p->c = itest_pub_open(client, MQTTVERSION_5);
    ck_assert(pthread_create(&p->thread, NULL, pub_main, p) == 0);
}

static void pub_join(pub_t *p)
{
    pthread_join(p->thread, NULL);
    itest_pub_close(p->c);
    ck_assert_msg(p->error[0] == '\0', "%s", p->error);
}

/* ---- resident memory and spool size, sampled every 100 ms ------------- */

/* Bytes of the files in DIR whose names end in SUFFIX (NULL: all but dot
 * files): allocated on disk (blocks, like du) if BLOCKS, else their sizes. */
static long long dir_bytes(const char *dir, const char *suffix, bool blocks)
{
    DIR *d = opendir(dir);
    if (!d)
        return 0;
    long long sum = 0;
    size_t slen = suffix ? strlen(suffix) : 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        struct stat st;
        size_t len = strlen(e->d_name);
        bool want = suffix ? len > slen && strcmp(e->d_name + len - slen, suffix) == 0
                           : e->d_name[0] != '.';
        if (want && fstatat(dirfd(d), e->d_name, &st, 0) == 0)
            sum += blocks ? (long long)st.st_blocks * 512 : (long long)st.st_size;
    }
    closedir(d);
    return sum;
}

/* Bytes on disk of the files in DIR. */
static long long du_bytes(const char *dir)
{
    return dir_bytes(dir, NULL, true);
}

typedef struct {
    atomic_int pid; /* the bridge now (changes across restarts; <= 0: none) */
    char spool[600];
    atomic_long peak_rss_kib;
    atomic_llong peak_spool, spool_at_peak_rss;
    atomic_bool stop;
    pthread_t thread;
} sampler_t;

static void *sampler_main(void *arg)
{
    sampler_t *s = arg;
    while (!atomic_load(&s->stop)) {
        int pid = atomic_load(&s->pid);
        long rss = pid > 0 ? itest_rss_kib(pid) : -1;
        long long sp = du_bytes(s->spool);
        if (sp > atomic_load(&s->peak_spool))
            atomic_store(&s->peak_spool, sp);
        if (rss > atomic_load(&s->peak_rss_kib)) {
            atomic_store(&s->peak_rss_kib, rss);
            atomic_store(&s->spool_at_peak_rss, sp);
        }
        itest_sleep_ms(100);
    }
    return NULL;
}

static void sampler_start(sampler_t *s, const char *spool)
{
    memset(s, 0, sizeof(*s));
    snprintf(s->spool, sizeof(s->spool), "%s", spool);
    ck_assert(pthread_create(&s->thread, NULL, sampler_main, s) == 0);
}

static void sampler_stop(sampler_t *s)
{
    atomic_store(&s->stop, true);
    pthread_join(s->thread, NULL);
}

/* True if PID has AddressSanitizer loaded (an ASan build of the bridge). */
static bool pid_has_asan(pid_t pid)
{
    char path[64], line[1024];
    snprintf(path, sizeof(path), "/proc/%d/maps", (int)pid);
    FILE *f = fopen(path, "r");
    bool found = false;
    while (f && !found && fgets(line, sizeof(line), f))
        found = strstr(line, "libasan") != NULL;
    if (f)
        fclose(f);
    return found;
}

/* ---- the scenario fixture ---------------------------------------------- */

/* A unique Kafka topic, a bridge client id, an MQTT topic under the route's
 * filter, a spool directory (named relative to the config file) and the
 * bridge's config. */
typedef struct {
    char *topic, *client, *cfg;
    char mtopic[300], spool[600];
    itest_bridge_t b;
} fix_t;

static void fix_init(fix_t *f, const char *name, int rf, const char *kafka_extra)
{
    char prefix[64];
    snprintf(prefix, sizeof(prefix), "faults.%s", name);
    f->topic = itest_unique(prefix);
    snprintf(prefix, sizeof(prefix), "bridge-%s", name);
    f->client = itest_unique(prefix);
    snprintf(f->mtopic, sizeof(f->mtopic), "faults/%s/x", f->topic);
    snprintf(f->spool, sizeof(f->spool), "%s/%s.spool", itest_env("MKB_HARNESS_DIR"), f->client);
    itest_create_topic_rf(f->topic, 1, rf, NULL);
    ck_assert(asprintf(&f->cfg,
                       "mqtt:\n  uri: \"%s\"\n  client_id: %s\n"
                       "kafka:\n  bootstrap: %s\n%s"
                       "spool: { dir: \"%s.spool\", fsync: interval }\n"
                       "routes:\n  - name: r\n    mqtt: { filter: \"faults/%s/#\", qos: 1 }\n"
                       "    kafka: { topic: %s }\n    payload: raw\n",
                       itest_env("MKB_MQTT_URI"), f->client, itest_env("MKB_KAFKA_BOOTSTRAP"),
                       kafka_extra ? kafka_extra : "", f->client, f->topic, f->topic) > 0);
    f->b.pid = -1;
}

static void fix_free(fix_t *f)
{
    free(f->cfg);
    free(f->client);
    free(f->topic);
}

static void bridge_start(fix_t *f)
{
    itest_bridge_start(&f->b, f->client, f->cfg);
}

static void bridge_ready(fix_t *f)
{
    bridge_start(f);
    if (!itest_bridge_wait_log(&f->b, "ready: forwarding", 60000)) {
        itest_bridge_dump_log(&f->b);
        ck_abort_msg("bridge %s not ready within 60 s", f->client);
    }
}

/* Stops the bridge cleanly (SIGTERM) and asserts exit status 0. */
static void bridge_stop_clean(fix_t *f)
{
    int rc = itest_bridge_stop(&f->b, SIGTERM, 90000);
    if (rc != 0) {
        itest_bridge_dump_log(&f->b);
        ck_abort_msg("bridge %s: exit status %d after SIGTERM (want 0)", f->client, rc);
    }
}

/* Starts the bridge once and stops it: its persistent session then exists,
 * so what is published while it is down waits for it. */
static void make_session(fix_t *f)
{
    bridge_ready(f);
    bridge_stop_clean(f);
}

/* Makes the session, starts the bridge and samples its memory and spool. */
static void fix_start_sampled(fix_t *f, sampler_t *smp)
{
    make_session(f);
    bridge_ready(f);
    sampler_start(smp, f->spool);
    atomic_store(&smp->pid, f->b.pid);
}

/* How many lines of the bridge's log contain NEEDLE. */
static int log_count(const fix_t *f, const char *needle)
{
    FILE *fp = fopen(f->b.log_path, "r");
    if (!fp)
        return 0;
    char line[8192];
    int n = 0;
    while (fgets(line, sizeof(line), fp))
        n += strstr(line, needle) != NULL;
    fclose(fp);
    return n;
}

/* Prints the bridge's log lines that contain NEEDLE (context for a row). */
static void log_grep(const fix_t *f, const char *needle)
{
    FILE *fp = fopen(f->b.log_path, "r");
    if (!fp)
        return;
    char line[8192];
    while (fgets(line, sizeof(line), fp))
        if (strstr(line, needle))
            fprintf(stderr, "  | %s", line);
    fclose(fp);
}

/* ---- reading back ------------------------------------------------------ */

typedef struct {
    long records;    /* in the topic */
    long lost;       /* "f-<i>" ids never seen, i < n */
    long dups;       /* records beyond the first of each id */
    long unknown;    /* records that are no "f-<i>" of this run */
    long ids;        /* distinct mkb.id header values */
    long no_id;      /* records without an mkb.id header */
    long first_lost; /* the smallest lost id, -1 if none */
    char lost_ids[200];
} readback_t;

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Reads the whole topic and counts losses, duplicates and mkb.id values. */
static readback_t read_back(const char *topic, int n)
{
    readback_t r = {0};
    r.first_lost = -1;
    long long hw = itest_kafka_count(topic);
    char **vals, **hdrs;
    size_t count;
    itest_kafka_read_all(topic, hw > 0 ? (size_t)hw : 0, 120000, &vals, &count, NULL, &hdrs);
    if (hw > 0 && (long long)count < hw)
        note("%s: read %zu records of %lld (high watermark)", topic, count, hw);
    r.records = (long)count;
    unsigned char *seen = calloc((size_t)n, 1);
    char **ids = calloc(count + 1, sizeof(char *));
    ck_assert(seen && ids);
    size_t nids = 0;
    for (size_t i = 0; i < count; i++) {
        char *end = NULL;
        long k = strncmp(vals[i], "f-", 2) == 0 ? strtol(vals[i] + 2, &end, 10) : -1;
        if (k < 0 || k >= n || !end || *end != ' ')
            r.unknown++;
        else if (seen[k]++)
            r.dups++;
        char *h = strstr(hdrs[i], "mkb.id=");
        if (!h) {
            r.no_id++;
            continue;
        }
        h += 7;
        char *semi = strchr(h, ';');
        if (semi)
            *semi = '\0';
        ids[nids++] = h;
    }
    for (int i = 0; i < n; i++) {
        if (seen[i])
            continue;
        if (r.lost++ == 0)
            r.first_lost = i;
        size_t used = strlen(r.lost_ids);
        if (r.lost <= 8)
            snprintf(r.lost_ids + used, sizeof(r.lost_ids) - used, "%sf-%d", used ? "," : "", i);
        else if (r.lost == 9)
            snprintf(r.lost_ids + used, sizeof(r.lost_ids) - used, ",...");
    }
    qsort(ids, nids, sizeof(char *), cmp_str);
    for (size_t i = 0; i < nids; i++)
        r.ids += i == 0 || strcmp(ids[i], ids[i - 1]) != 0;
    free(ids);
    free(seen);
    itest_free_strings(vals, count);
    itest_free_strings(hdrs, count);
    return r;
}

static void row_from(row_t *row, const readback_t *r, long published)
{
    row->published = published;
    row->in_kafka = r->records;
    row->lost = r->lost;
    row->dups = r->dups;
    if (r->no_id < r->records) /* without the spool no record has one */
        addnote(row, "%ld distinct mkb.id in %ld records (%ld replayed, %ld redelivered by MQTT)",
                r->ids, r->records, r->records - r->no_id - r->ids,
                r->ids - (r->records - r->dups - r->unknown));
    if (r->no_id)
        addnote(row, "%ld without mkb.id", r->no_id);
    if (r->unknown)
        addnote(row, "%ld unknown payloads", r->unknown);
    if (r->lost)
        addnote(row, "lost: %s", r->lost_ids);
}

/* Stops the bridge cleanly and reads the topic back. If records are missing,
 * starts the bridge once more (its spool and MQTT session may still hold
 * them: then they were late, not lost) and reads again; ROW notes both. */
static readback_t finish(fix_t *f, int n, row_t *row)
{
    bridge_stop_clean(f);
    readback_t r = read_back(f->topic, n);
    if (r.lost == 0)
        return r;
    note("%s: %ld missing (%s); starting the bridge once more in case they are only late", f->topic,
         r.lost, r.lost_ids);
    bridge_ready(f);
    wait_settled(f->topic, r.records + r.lost, 10000, 90000);
    bridge_stop_clean(f);
    readback_t r2 = read_back(f->topic, n);
    addnote(row, "%ld missing at the first read-back, %ld after one more start", r.lost, r2.lost);
    return r2;
}

/* Writes ROW (its ok decided, its time since T0); the bridge's log too if
 * not ok. */
static void row_done(row_t *row, const fix_t *f, long long t0)
{
    row->secs = (now_ms() - t0) / 1000.0;
    row_write(row);
    if (!row->ok)
        itest_bridge_dump_log(&f->b);
}

/* Asserts what every scenario wants: the bridge did not die on its own,
 * nothing was lost, nothing unknown arrived. */
static void assert_delivered(bool crashed, const readback_t *r)
{
    ck_assert_msg(!crashed, "the bridge died on its own (log above)");
    ck_assert_msg(r->lost == 0, "%ld lost (%s)", r->lost, r->lost_ids);
    ck_assert_msg(r->unknown == 0, "%ld unknown payloads", r->unknown);
}

/* Notes how many warnings and errors the bridge logged (all its runs). */
static void note_log(row_t *row, const fix_t *f)
{
    addnote(row, "bridge log: %d warnings, %d errors", log_count(f, " WARN "),
            log_count(f, " ERROR "));
}

/* Random delay in [LO, HI] ms. */
static int rand_ms(int lo, int hi)
{
    return lo + (int)(random() % (hi - lo + 1));
}

/* Sleeps MS while the bridge runs; false (and the log printed) if it exited
 * by itself meanwhile. */
static bool sleep_watching(fix_t *f, int ms)
{
    long long until = now_ms() + ms;
    while (now_ms() < until) {
        int st;
        if (f->b.pid > 0 && waitpid(f->b.pid, &st, WNOHANG) == f->b.pid) {
            note("bridge %d exited by itself: %s %d", (int)f->b.pid,
                 WIFEXITED(st) ? "status" : "signal",
                 WIFEXITED(st) ? WEXITSTATUS(st) : WTERMSIG(st));
            f->b.pid = -1;
            return false;
        }
        itest_sleep_ms(20);
    }
    return true;
}

/* ---- 1. sigkill --------------------------------------------------------- */

START_TEST(test_sigkill)
{
    const int n = scaled(100000), min_kills = 5;
    const double rate = n / 40.0; /* a 40 s stream */
    long long t0 = now_ms();
    row_t row = {.key = "sigkill", .name = "sigkill"};
    fix_t f;
    fix_init(&f, "sigkill", 1, NULL);
    make_session(&f);
    sampler_t smp;
    sampler_start(&smp, f.spool);
    bridge_start(&f);
    atomic_store(&smp.pid, f.b.pid);
    pub_t pub;
    pub_start(&pub, "pub-faults-sigkill", f.mtopic, n, rate);
    int kills = 0;
    bool crashed = false;
    char at[512] = "";
    while (!crashed && (!atomic_load(&pub.done) || kills < min_kills)) {
        int up = rand_ms(300, 6000);
        if (!sleep_watching(&f, up)) {
            crashed = true;
            break;
        }
        int sent = atomic_load(&pub.sent);
        long long in = itest_kafka_count(f.topic);
        atomic_store(&smp.pid, 0);
        int rc = itest_bridge_stop(&f.b, SIGKILL, 10000);
        if (rc != 128 + SIGKILL) {
            note("bridge exited with %d before the SIGKILL", rc);
            crashed = true;
            break;
        }
        kills++;
        size_t used = strlen(at);
        snprintf(at + used, sizeof(at) - used, "%s%d", used ? "," : "", up);
        int down = rand_ms(0, 1500);
        note("SIGKILL %d after %d ms up (%d published, %lld in Kafka); down %d ms", kills, up, sent,
             in, down);
        itest_sleep_ms(down);
        bridge_start(&f);
        atomic_store(&smp.pid, f.b.pid);
    }
    pub_join(&pub);
    bool settled = !crashed && wait_settled(f.topic, n, 5000, 240000);
    atomic_store(&smp.pid, 0);
    sampler_stop(&smp);
    readback_t r = crashed ? read_back(f.topic, n) : finish(&f, n, &row);
    row_from(&row, &r, n);
    note_log(&row, &f);
    addnote(&row, "%d SIGKILLs after %s ms up, seed %lu", kills, at, seed);
    addnote(&row, "peak RSS %.1f MiB", atomic_load(&smp.peak_rss_kib) / 1024.0);
    int replays = log_count(&f, "not acknowledged by Kafka before the last stop");
    addnote(&row, "%d restarts replayed the journal", replays);
    if (crashed)
        addnote(&row, "the bridge died on its own");
    if (!settled)
        addnote(&row, "topic did not settle");
    row.ok = !crashed && r.lost == 0 && r.unknown == 0 && r.no_id == 0 && kills >= min_kills;
    row_done(&row, &f, t0);
    ck_assert_msg(!crashed, "the bridge died on its own (log above)");
    ck_assert_msg(r.lost == 0, "%ld lost (%s)", r.lost, r.lost_ids);
    ck_assert_msg(r.unknown == 0 && r.no_id == 0, "%ld unknown payloads, %ld without mkb.id",
                  r.unknown, r.no_id);
    ck_assert_int_ge(kills, min_kills);
    fix_free(&f);
}
END_TEST

/* ---- 2. kafka-outage ---------------------------------------------------- */

/* Kafka stopped for 60 s under a 2,000 msg/s stream. The spool holds the
 * backlog on disk: resident memory stays under 32 MiB throughout and falls
 * back once the backlog has drained. */
START_TEST(test_kafka_outage)
{
    const int rate = 2000, lead_ms = 10000, outage_ms = 60000, tail_ms = 20000;
    const int stream_ms = lead_ms + outage_ms + tail_ms;
    const int n = scaled(rate * (stream_ms / 1000));
    long long t0 = now_ms();
    row_t row = {.key = "kafka-outage", .name = "kafka-outage"};
    fix_t f;
    fix_init(&f, "koutage", 1, NULL);
    sampler_t smp;
    fix_start_sampled(&f, &smp);
    pub_t pub;
    pub_start(&pub, "pub-faults-koutage", f.mtopic, n, n * 1000.0 / stream_ms);
    bool crashed = !sleep_watching(&f, lead_ms);
    long rss_before = crashed ? -1 : itest_rss_kib(f.b.pid);
    long long in_before = itest_kafka_count(f.topic);
    long long ts = now_ms();
    itest_harness_ctl("stop-kafka");
    note("Kafka stopped in %lld ms (%d published, %lld in Kafka, RSS %.1f MiB)", now_ms() - ts,
         atomic_load(&pub.sent), in_before, rss_before / 1024.0);
    crashed = crashed || !sleep_watching(&f, outage_ms);
    long long spool_at_start = du_bytes(f.spool);
    ts = now_ms();
    itest_harness_ctl("start-kafka");
    note("Kafka started in %lld ms (%d published, spool %.1f MiB)", now_ms() - ts,
         atomic_load(&pub.sent), spool_at_start / 1048576.0);
    pub_join(&pub);
    bool settled = !crashed && wait_settled(f.topic, n, 5000, 240000);
    atomic_store(&smp.pid, 0);
    sampler_stop(&smp);
    /* Drained (and a little idle): what the bridge keeps now. */
    if (!crashed)
        crashed = !sleep_watching(&f, 2000);
    long rss_after = crashed ? -1 : itest_rss_kib(f.b.pid);
    bool asan = false;
#ifdef __SANITIZE_ADDRESS__
    asan = true;
#endif
    if (f.b.pid > 0)
        asan = asan || pid_has_asan(f.b.pid);
    /* Under ASan or valgrind (MKB_TEST_SCALE > 1) the tools' own memory is
     * in the figure: only the loss checks apply there. */
    bool bounded = !asan && env_int("MKB_TEST_SCALE", 1) == 1;
    long bound_mib = env_int("MKB_FAULTS_RSS_BOUND_MIB", 32);
    long peak = atomic_load(&smp.peak_rss_kib);
    /* Falls back: within 4 MiB of what it was before the outage. */
    bool fell_back = rss_after > 0 && rss_after <= rss_before + 4096;
    readback_t r = crashed ? read_back(f.topic, n) : finish(&f, n, &row);
    row_from(&row, &r, n);
    note_log(&row, &f);
    addnote(&row,
            "Kafka stopped %d s at %d msg/s; RSS %.1f MiB before, peak %.1f MiB (bound %ld%s), "
            "%.1f MiB after the drain",
            outage_ms / 1000, rate, rss_before / 1024.0, peak / 1024.0, bound_mib,
            bounded ? "" : ", not applied", rss_after / 1024.0);
    addnote(&row, "spool on disk %.1f MiB at its peak, %.1f MiB at the RSS peak",
            atomic_load(&smp.peak_spool) / 1048576.0,
            atomic_load(&smp.spool_at_peak_rss) / 1048576.0);
    if (crashed)
        addnote(&row, "the bridge died on its own");
    if (!settled)
        addnote(&row, "topic did not settle");
    bool mem_ok = !bounded || (peak < bound_mib * 1024 && fell_back);
    row.ok = !crashed && r.lost == 0 && r.unknown == 0 && mem_ok;
    row_done(&row, &f, t0);
    assert_delivered(crashed, &r);
    ck_assert_msg(!bounded || peak < bound_mib * 1024, "peak RSS %ld KiB >= %ld MiB", peak,
                  bound_mib);
    ck_assert_msg(!bounded || fell_back, "RSS %ld KiB after the drain, %ld KiB before the outage",
                  rss_after, rss_before);
    fix_free(&f);
}
END_TEST

/* ---- 3. torn-tail (and a flipped byte) --------------------------------- */

/* The newest non-empty segment of the spool in DIR (path in OUT); its size. */
static long long newest_segment(const char *dir, char *out, size_t out_size)
{
    DIR *d = opendir(dir);
    ck_assert_msg(d != NULL, "no spool directory %s", dir);
    char best[64] = "";
    long long best_size = -1;
    struct dirent *e;
    while ((e = readdir(d))) {
        size_t len = strlen(e->d_name);
        struct stat st;
        if (len != 20 || strcmp(e->d_name + 16, ".seg") != 0 ||
            fstatat(dirfd(d), e->d_name, &st, 0) != 0 || st.st_size == 0)
            continue;
        if (strcmp(e->d_name, best) > 0) {
            snprintf(best, sizeof(best), "%s", e->d_name);
            best_size = (long long)st.st_size;
        }
    }
    closedir(d);
    ck_assert_msg(best_size > 0, "no non-empty segment in %s", dir);
    snprintf(out, out_size, "%s/%s", dir, best);
    return best_size;
}

START_TEST(test_torn_tail)
{
    const int n = 2000, cut = 5;
    long long t0 = now_ms();
    /* Two bridges, two spools, one Kafka outage: [0] loses the last bytes
     * of its newest segment, [1] gets one byte flipped mid-segment. */
    fix_t f[2];
    fix_init(&f[0], "torn", 1, NULL);
    fix_init(&f[1], "flip", 1, NULL);
    itest_harness_ctl("stop-kafka");
    for (int v = 0; v < 2; v++)
        bridge_ready(&f[v]);
    for (int v = 0; v < 2; v++) {
        char client[64];
        snprintf(client, sizeof(client), "pub-faults-%d", v);
        itest_mqtt_publish_n(client, 5, f[v].mtopic, 1,
                             "f-%d {\"site\":\"s1\",\"temp_f\":71.6,\"rh\":41.5,\"aqi\":37,"
                             "\"pad\":\"0000000000000000000000000000000000000000000000000000000"
                             "00000000000000000000000000000000000000000000000000000000000000\"}",
                             n);
    }
    /* Every message was PUBACKed, so journaled; wait until the segments
     * stop growing anyway, then kill. */
    long long size[2] = {-1, -1};
    for (int v = 0; v < 2; v++) {
        long long last = -1;
        for (int still = 0; still < 1000; still += 100) {
            long long s = dir_bytes(f[v].spool, ".seg", false) /* what the journal holds */;
            if (s != last)
                still = 0;
            last = s;
            itest_sleep_ms(100);
        }
        size[v] = last;
        ck_assert_int_eq(itest_bridge_stop(&f[v].b, SIGKILL, 10000), 128 + SIGKILL);
    }
    char seg[2][700];
    long long segsize[2];
    for (int v = 0; v < 2; v++)
        segsize[v] = newest_segment(f[v].spool, seg[v], sizeof(seg[v]));
    note("journaled: %lld and %lld bytes; newest segments %s (%lld), %s (%lld)", size[0], size[1],
         seg[0], segsize[0], seg[1], segsize[1]);
    /* [0]: a torn tail */
    ck_assert(truncate(seg[0], segsize[0] - cut) == 0);
    /* [1]: one byte flipped in the middle */
    long long mid = segsize[1] / 2;
    int fd = open(seg[1], O_RDWR);
    ck_assert(fd >= 0);
    unsigned char byte;
    ck_assert(pread(fd, &byte, 1, mid) == 1);
    byte ^= 0x5a;
    ck_assert(pwrite(fd, &byte, 1, mid) == 1);
    close(fd);
    itest_harness_ctl("start-kafka");
    for (int v = 0; v < 2; v++)
        bridge_ready(&f[v]);
    bool settled[2];
    for (int v = 0; v < 2; v++)
        settled[v] = wait_settled(f[v].topic, n - 1, 5000, 120000);
    for (int v = 0; v < 2; v++)
        bridge_stop_clean(&f[v]);
    const char *need[2] = {"incomplete or damaged record", "(checksum)"};
    int logged[2];
    readback_t r[2];
    row_t row[2] = {{.key = "torn-tail", .name = "torn-tail"},
                    {.key = "torn-tail", .name = "flipped-byte"}};
    for (int v = 0; v < 2; v++) {
        r[v] = read_back(f[v].topic, n);
        logged[v] = log_count(&f[v], need[v]);
        fprintf(stderr, "faults: %s: the bridge's log about the damage:\n", row[v].name);
        log_grep(&f[v], "spool");
        row_from(&row[v], &r[v], n);
        if (v == 0)
            addnote(&row[v], "last %d bytes of %lld cut", cut, segsize[0]);
        else
            addnote(&row[v], "byte %lld of %lld flipped", mid, segsize[1]);
        addnote(&row[v], "damage %s", logged[v] ? "logged" : "NOT LOGGED");
        if (!settled[v])
            addnote(&row[v], "topic did not settle");
        /* Either way exactly one record is damaged: the cut one (the last
         * journaled) or the flipped one; every complete record arrives. */
        row[v].ok = logged[v] > 0 && r[v].unknown == 0 && r[v].lost == 1;
        row[v].secs = (now_ms() - t0) / 1000.0;
        row_write(&row[v]);
    }
    ck_assert_msg(logged[0] > 0, "torn tail: no \"%s\" in the log", need[0]);
    ck_assert_msg(r[0].lost == 1, "torn tail: %ld lost (%s), want exactly the cut one", r[0].lost,
                  r[0].lost_ids);
    ck_assert_msg(logged[1] > 0, "flipped byte: no \"%s\" in the log", need[1]);
    ck_assert_msg(r[1].lost == 1, "flipped byte: %ld lost (%s), want exactly 1", r[1].lost,
                  r[1].lost_ids);
    ck_assert_msg(r[0].unknown == 0 && r[1].unknown == 0, "unknown payloads");
    for (int v = 0; v < 2; v++)
        fix_free(&f[v]);
}
END_TEST

/* ---- 4. cluster --------------------------------------------------------- */

/* Runs ctl.sh COMMAND DIR ARG; its first output line goes to OUT (newline
 * removed). Aborts if it fails. */
static void ctl_line(const char *command, const char *arg, char *out, size_t out_size)
{
    char cmd[1200], rest[256];
    snprintf(cmd, sizeof(cmd), "'%s/tests/harness/ctl.sh' %s '%s' %s", MKB_SOURCE_DIR, command,
             itest_env("MKB_HARNESS_DIR"), arg);
    FILE *p = popen(cmd, "r");
    ck_assert(p != NULL);
    if (!fgets(out, (int)out_size, p))
        out[0] = '\0';
    out[strcspn(out, "\n")] = '\0';
    while (fgets(rest, sizeof(rest), p))
        ;
    int rc = pclose(p);
    ck_assert_msg(rc == 0, "%s failed (status %d)", cmd, rc);
}

/* ctl_line's output as a number (a node id). */
static int ctl(const char *command, const char *arg)
{
    char line[128];
    ctl_line(command, arg, line, sizeof(line));
    return atoi(line);
}

START_TEST(test_cluster)
{
    const int n = scaled(50000);
    const double rate = n / 50.0; /* a 50 s stream */
    long long t0 = now_ms();
    row_t row = {.key = "cluster", .name = "cluster"};
    const char *nodes = getenv("MKB_KAFKA_NODES");
    ck_assert_msg(nodes && atoi(nodes) == 3,
                  "the cluster scenario needs MKB_KAFKA_NODES=3 tests/harness/with-brokers.sh");
    fix_t f;
    fix_init(&f, "cluster", 3, NULL);
    sampler_t smp;
    fix_start_sampled(&f, &smp);
    pub_t pub;
    pub_start(&pub, "pub-faults-cluster", f.mtopic, n, rate);
    bool crashed = !sleep_watching(&f, rand_ms(10000, 20000));
    int sent = atomic_load(&pub.sent);
    long long in = itest_kafka_count(f.topic);
    int killed = ctl("kill-kafka-leader", f.topic);
    note("SIGKILLed Kafka node %d, the leader (%d published, %lld in Kafka)", killed, sent, in);
    int down_ms = rand_ms(15000, 25000);
    crashed = crashed || !sleep_watching(&f, down_ms);
    int new_leader = ctl("kafka-leader", f.topic);
    if (new_leader < 0)
        note("no leader for %s while node %d is down", f.topic, killed);
    char arg[32];
    snprintf(arg, sizeof(arg), "%d", killed);
    long long ts = now_ms();
    ctl("start-kafka-node", arg);
    note("Kafka node %d back in %lld ms (%d published, %lld in Kafka, leader now %d)", killed,
         now_ms() - ts, atomic_load(&pub.sent), itest_kafka_count(f.topic), new_leader);
    pub_join(&pub);
    bool settled = !crashed && wait_settled(f.topic, n, 5000, 240000);
    atomic_store(&smp.pid, 0);
    sampler_stop(&smp);
    readback_t r = crashed ? read_back(f.topic, n) : finish(&f, n, &row);
    char isr[64];
    ctl_line("kafka-isr", f.topic, isr, sizeof(isr));
    row_from(&row, &r, n);
    note_log(&row, &f);
    addnote(&row,
            "leader node %d SIGKILLed after %d published, restarted %d s later; new leader "
            "%d",
            killed, sent, down_ms / 1000, new_leader);
    addnote(&row, "in-sync replicas at the end: %s", isr);
    addnote(&row, "peak RSS %.1f MiB, seed %lu", atomic_load(&smp.peak_rss_kib) / 1024.0, seed);
    if (crashed)
        addnote(&row, "the bridge died on its own");
    if (!settled)
        addnote(&row, "topic did not settle");
    row.ok = !crashed && r.lost == 0 && r.unknown == 0;
    row_done(&row, &f, t0);
    assert_delivered(crashed, &r);
    fix_free(&f);
}
END_TEST

/* ---- 5. topic-later: a topic not created yet, Kafka away > 30 s -------- */

/* Like fix_init, but the route's topic is not created (the broker creates
 * it on the producer's first metadata request: auto.create.topics.enable
 * is on in the harness), the bridge has a dead-letter topic of its own
 * (created) so what lands there can be counted, and the spool only if
 * SPOOL. KAFKA_EXTRA as fix_init's. */
static void fix_init_absent(fix_t *f, const char *name, char **dlq, const char *kafka_extra,
                            bool spool)
{
    char prefix[64];
    snprintf(prefix, sizeof(prefix), "faults.%s", name);
    f->topic = itest_unique(prefix);
    snprintf(prefix, sizeof(prefix), "faults.%s.dlq", name);
    *dlq = itest_unique(prefix);
    snprintf(prefix, sizeof(prefix), "bridge-%s", name);
    f->client = itest_unique(prefix);
    snprintf(f->mtopic, sizeof(f->mtopic), "faults/%s/x", f->topic);
    snprintf(f->spool, sizeof(f->spool), "%s/%s.spool", itest_env("MKB_HARNESS_DIR"), f->client);
    itest_create_topic(*dlq);
    ck_assert(asprintf(&f->cfg,
                       "mqtt:\n  uri: \"%s\"\n  client_id: %s\n"
                       "kafka:\n  bootstrap: %s\n  dead_letter_topic: %s\n%s"
                       "%s%s%s"
                       "routes:\n  - name: r\n    mqtt: { filter: \"faults/%s/#\", qos: 1 }\n"
                       "    kafka: { topic: %s }\n    payload: raw\n",
                       itest_env("MKB_MQTT_URI"), f->client, itest_env("MKB_KAFKA_BOOTSTRAP"),
                       *dlq, kafka_extra ? kafka_extra : "", spool ? "spool: { dir: \"" : "",
                       spool ? f->client : "", spool ? ".spool\", fsync: interval }\n" : "",
                       f->topic, f->topic) > 0);
    f->b.pid = -1;
}

/* Records in DLQ whose mkb.kafka.topic header names TOPIC; the first
 * one's mkb.reason in REASON. */
static long dlq_count(const char *dlq, const char *topic, char *reason, size_t reason_size)
{
    long long hw = itest_kafka_count(dlq);
    char **vals, **hdrs;
    size_t count;
    itest_kafka_read_all(dlq, hw > 0 ? (size_t)hw : 0, 60000, &vals, &count, NULL, &hdrs);
    char want[400];
    snprintf(want, sizeof(want), "mkb.kafka.topic=%s", topic);
    long n = 0;
    if (reason_size)
        reason[0] = '\0';
    for (size_t i = 0; i < count; i++) {
        const char *h = strstr(hdrs[i], want);
        if (!h || (h[strlen(want)] != ';' && h[strlen(want)] != '\0'))
            continue;
        if (n++ == 0 && reason_size) {
            const char *r = strstr(hdrs[i], "mkb.reason=");
            snprintf(reason, reason_size, "%s", r ? r + 11 : "(no mkb.reason)");
            reason[strcspn(reason, ";")] = '\0';
        }
    }
    itest_free_strings(vals, count);
    itest_free_strings(hdrs, count);
    return n;
}

/* topic-later with the spool (KEY "topic-later") or without it: records
 * then wait in the producer's memory only, and are produced again from it. */
static void topic_later(const char *key, bool spool, int n)
{
    const int outage_ms = 40000;
    long long t0 = now_ms();
    row_t row = {.key = key, .name = key};
    fix_t f;
    char *dlq;
    fix_init_absent(&f, spool ? "later" : "later-nospool", &dlq, NULL, spool);
    bridge_ready(&f);
    long long ts = now_ms();
    itest_harness_ctl("stop-kafka");
    long long stopped_at = now_ms();
    note("Kafka stopped in %lld ms; %s does not exist yet", now_ms() - ts, f.topic);
    pub_t pub;
    pub_start(&pub, "pub-faults-later", f.mtopic, n, n / 10.0); /* a 10 s stream */
    pub_join(&pub);
    /* Longer than librdkafka's topic.metadata.propagation.max.ms (30 s). */
    long long rest = outage_ms - (now_ms() - stopped_at);
    bool crashed = !sleep_watching(&f, rest > 0 ? (int)rest : 0);
    ts = now_ms();
    itest_harness_ctl("start-kafka");
    note("Kafka started after %lld ms away, in %lld ms", now_ms() - stopped_at, now_ms() - ts);
    bool settled = !crashed && wait_settled(f.topic, n, 5000, 150000);
    int pid = f.b.pid;
    readback_t r = crashed ? read_back(f.topic, n) : finish(&f, n, &row);
    char reason[300];
    long dead = dlq_count(dlq, f.topic, reason, sizeof(reason));
    row_from(&row, &r, n);
    note_log(&row, &f);
    addnote(&row, "Kafka stopped %d s, topic created after it came back; %ld dead letters%s%s",
            outage_ms / 1000, dead, dead ? ": " : "", dead ? reason : "");
    int waits = log_count(&f, "waiting on a transient error");
    addnote(&row, "%d 'waiting on a transient error' log lines; bridge pid %d kept", waits, pid);
    if (crashed)
        addnote(&row, "the bridge died on its own");
    if (!settled)
        addnote(&row, "topic did not settle");
    row.ok = !crashed && r.lost == 0 && r.unknown == 0 && dead == 0;
    row_done(&row, &f, t0);
    assert_delivered(crashed, &r);
    ck_assert_msg(dead == 0, "%ld valid readings dead-lettered: %s", dead, reason);
    fix_free(&f);
    free(dlq);
}

START_TEST(test_topic_later) { topic_later("topic-later", true, scaled(20000)); }
END_TEST

START_TEST(test_topic_later_nospool) { topic_later("topic-later-nospool", false, scaled(5000)); }
END_TEST

/* A topic that really is absent: the bridge's producer may not create it
 * (allow.auto.create.topics false), so the broker answers "unknown topic"
 * to two metadata requests seconds apart; every reading is dead-lettered
 * with that reason, none lost, none waits for ever. */
START_TEST(test_topic_absent)
{
    const int n = 200;
    long long t0 = now_ms();
    row_t row = {.key = "topic-absent", .name = "topic-absent"};
    fix_t f;
    char *dlq;
    fix_init_absent(&f, "absent", &dlq,
                    "  properties: { allow.auto.create.topics: \"false\" }\n", true);
    bridge_ready(&f);
    pub_t pub;
    pub_start(&pub, "pub-faults-absent", f.mtopic, n, 200.0);
    pub_join(&pub);
    long dead = 0;
    char reason[300] = "";
    long long deadline = now_ms() + 120000;
    while ((dead = dlq_count(dlq, f.topic, reason, sizeof(reason))) < n && now_ms() < deadline)
        itest_sleep_ms(1000);
    bridge_stop_clean(&f);
    long long in = itest_kafka_count(f.topic);
    row.published = n;
    row.in_kafka = dead;
    row.lost = n - dead;
    addnote(&row, "%ld of %d dead-lettered (%s); %lld in the absent topic", dead, n, reason, in);
    note_log(&row, &f);
    bool why = strstr(reason, "does not exist") != NULL;
    row.ok = dead == n && in <= 0 && why;
    row_done(&row, &f, t0);
    ck_assert_msg(dead == n, "%ld of %d dead-lettered", dead, n);
    ck_assert_msg(in <= 0, "%lld records in a topic that should not exist", in);
    ck_assert_msg(why, "dead-letter reason: %s", reason);
    fix_free(&f);
    free(dlq);
}
END_TEST

/* ---- 9. kafka-hung, intake-paused, queue-full, paused-sigterm -------- */

/* The value of the exposition line SERIES (name{labels} as the bridge
 * writes it) in /metrics; -1 if absent or no answer. */
static double metric_value(int port, const char *series)
{
    static char text[1 << 17];
    if (itest_http_get(port, "/metrics", text, sizeof(text)) != 200)
        return -1;
    size_t sl = strlen(series);
    for (const char *p = text; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL)
        if (strncmp(p, series, sl) == 0 && p[sl] == ' ')
            return strtod(p + sl + 1, NULL);
    return -1;
}

/* Polls /readyz every 200 ms until it answers WANT and (if NEEDLE) its body
 * contains NEEDLE: the milliseconds that took, or -1 after TIMEOUT_MS or if
 * the bridge exited (the last answer in LAST). */
static long long wait_readyz(fix_t *f, int port, int want, const char *needle, int timeout_ms,
                             char *last, size_t last_size)
{
    long long t0 = now_ms();
    for (;;) {
        int st = itest_http_get(port, "/readyz", last, last_size);
        if (st == want && (!needle || strstr(last, needle)))
            return now_ms() - t0;
        if (now_ms() - t0 >= timeout_ms || !sleep_watching(f, 200))
            return -1;
    }
}

/* Adds to F's config a metrics endpoint on a free port (returned), more
 * spool settings (SPOOL_EXTRA, e.g. ", max_bytes: 2097152") and more mqtt
 * settings (MQTT_EXTRA, lines indented by two spaces). */
static int fix_readiness(fix_t *f, const char *spool_extra, const char *mqtt_extra)
{
    int port = itest_free_port();
    const char *fs = "fsync: interval", *at = strstr(f->cfg, "fsync: interval }");
    const char *cid = strstr(f->cfg, "  client_id:");
    ck_assert(at != NULL && cid != NULL && cid < at);
    char *cfg = NULL;
    ck_assert(asprintf(&cfg, "%.*s%s%.*s%s%s%smetrics:\n  listen: \"127.0.0.1:%d\"\n",
                       (int)(cid - f->cfg), f->cfg, mqtt_extra ? mqtt_extra : "",
                       (int)(at + strlen(fs) - cid), cid, spool_extra ? spool_extra : "",
                       at + strlen(fs), "", port) > 0);
    free(f->cfg);
    f->cfg = cfg;
    return port;
}

/* ---- what the readiness scenarios share -------------------------------- */

/* One readiness scenario: the fixture with a metrics endpoint and a
 * dead-letter topic, the publisher, and what /readyz answered. */
typedef struct {
    fix_t f;
    char *dlq;
    int port;
    pub_t pub;
    long long t0, fault_at;
    bool crashed, settled;
    char down[4096], up[4096]; /* the last answers while waiting for 503, 200 */
    long long to_503, to_200;  /* ms the answer took after the fault or its end, -1: never */
    bool gauges;               /* the reason's series was read at 503 */
    double gauge, reason;      /* mkb_ready and the reason's series then */
} ready_t;

/* A unique dead-letter topic (created) in the kafka section with
 * KAFKA_MORE, then the fixture NAME with the metrics endpoint, SPOOL_EXTRA
 * and MQTT_EXTRA (fix_readiness). The config may be changed before
 * ready_start. */
static void ready_init(ready_t *s, const char *name, const char *kafka_more,
                       const char *spool_extra, const char *mqtt_extra)
{
    memset(s, 0, sizeof(*s));
    s->t0 = now_ms();
    s->to_503 = s->to_200 = -1;
    s->gauge = s->reason = -1;
    char prefix[64], *kextra = NULL;
    snprintf(prefix, sizeof(prefix), "faults.%s.dlq", name);
    s->dlq = itest_unique(prefix);
    itest_create_topic(s->dlq);
    ck_assert(
        asprintf(&kextra, "  dead_letter_topic: %s\n%s", s->dlq, kafka_more ? kafka_more : "") > 0);
    fix_init(&s->f, name, 1, kextra);
    free(kextra);
    s->port = fix_readiness(&s->f, spool_extra, mqtt_extra);
}

/* Makes the session, starts the bridge and waits for /readyz 200. */
static void ready_start(ready_t *s)
{
    make_session(&s->f);
    bridge_ready(&s->f);
    char body[4096];
    ck_assert_msg(wait_readyz(&s->f, s->port, 200, NULL, 30000, body, sizeof(body)) >= 0,
                  "/readyz not 200 after start: '%s'", body);
}

/* Waits up to TIMEOUT_MS for /readyz 503 with NEEDLE in its body, then (if
 * REASON) reads mkb_ready and mkb_not_ready_reason{reason="REASON"}. */
static void ready_wait_503(ready_t *s, const char *needle, const char *reason, int timeout_ms)
{
    s->to_503 =
        s->crashed ? -1
                   : wait_readyz(&s->f, s->port, 503, needle, timeout_ms, s->down, sizeof(s->down));
    if (s->to_503 < 0) {
        note("/readyz not 503 '%s' %d s after the fault; last answer '%s'", needle,
             timeout_ms / 1000, s->down);
        return;
    }
    s->gauges = reason != NULL;
    if (reason) {
        char series[200];
        snprintf(series, sizeof(series), "mkb_not_ready_reason{reason=\"%s\"}", reason);
        s->gauge = metric_value(s->port, "mkb_ready");
        s->reason = metric_value(s->port, series);
    }
    note("/readyz 503 %.1f s after the fault: '%.*s'; mkb_ready %g, %s %g",
         (now_ms() - s->fault_at) / 1000.0, (int)strcspn(s->down, "\n"), s->down, s->gauge,
         reason ? reason : "-", s->reason);
}

/* Sleeps MS while the bridge runs (crashed if it died). */
static void ready_sleep(ready_t *s, long long ms)
{
    s->crashed = s->crashed || s->f.b.pid <= 0 || !sleep_watching(&s->f, ms > 0 ? (int)ms : 0);
}

/* SIGCONTs Kafka and waits up to TIMEOUT_MS for /readyz 200. */
static void ready_resume(ready_t *s, int timeout_ms)
{
    itest_harness_ctl("resume-kafka");
    note("Kafka SIGCONTed after %.1f s (%d published)", (now_ms() - s->fault_at) / 1000.0,
         atomic_load(&s->pub.sent));
    s->to_200 =
        s->crashed ? -1 : wait_readyz(&s->f, s->port, 200, NULL, timeout_ms, s->up, sizeof(s->up));
    if (s->to_200 >= 0)
        note("/readyz 200 again %.1f s after SIGCONT", s->to_200 / 1000.0);
}

/* The dead letters in S's topic (-1: no answer after five tries). */
static long long ready_dead(const ready_t *s)
{
    long long dead = -1;
    for (int i = 0; i < 5 && dead < 0; i++)
        dead = itest_kafka_count(s->dlq);
    return dead;
}

/* Joins the publisher and waits for the N records to settle in Kafka. */
static void ready_settle(ready_t *s, int n)
{
    pub_join(&s->pub);
    s->settled = !s->crashed && wait_settled(s->f.topic, n, 5000, 180000);
}

/* After ready_settle: the bridge stopped, the records read back into *R
 * and ROW, the dead letters counted (returned). */
static long long ready_collect(ready_t *s, int n, row_t *row, readback_t *r)
{
    *r = s->crashed ? read_back(s->f.topic, n) : finish(&s->f, n, row);
    long long dead = ready_dead(s);
    row_from(row, r, n);
    note_log(row, &s->f);
    if (s->crashed)
        addnote(row, "the bridge died on its own");
    if (!s->settled)
        addnote(row, "topic did not settle");
    return dead;
}

/* Asserts what every readiness scenario wants: no crash, nothing lost or
 * unknown, no dead letter, /readyz 503 naming NEEDLE during the fault (the
 * gauges saying why, if read) and 200 after. */
static void ready_assert(const ready_t *s, const readback_t *r, long long dead, const char *needle)
{
    assert_delivered(s->crashed, r);
    ck_assert_msg(dead == 0, "%lld records in the dead-letter topic (-1: no answer)", dead);
    ck_assert_msg(s->to_503 >= 0, "/readyz not 503 '%s': '%s'", needle, s->down);
    ck_assert_msg(!s->gauges || (s->gauge == 0 && s->reason == 1),
                  "mkb_ready %g, mkb_not_ready_reason %g", s->gauge, s->reason);
    ck_assert_msg(s->to_200 >= 0, "/readyz not 200 after the fault: '%s'", s->up);
}

static void ready_free(ready_t *s)
{
    free(s->dlq);
    fix_free(&s->f);
}

/* Whether what ready_assert checks holds (for the row). */
static bool ready_ok(const ready_t *s, const readback_t *r, long long dead)
{
    return !s->crashed && r->lost == 0 && r->unknown == 0 && dead == 0 && s->to_503 >= 0 &&
           s->to_200 >= 0 && (!s->gauges || (s->gauge == 0 && s->reason == 1));
}

START_TEST(test_kafka_hung)
{
    /* The readiness window is the default kafka.stall_timeout_ms (15 s). */
    const int n = scaled(15000), hang_ms = 35000, window_ms = 15000;
    const double rate = n / 60.0; /* a 60 s stream, Kafka hung from ~8 s to ~43 s */
    row_t row = {.key = "kafka-hung", .name = "kafka-hung"};
    ready_t s;
    ready_init(&s, "hung", NULL, NULL, NULL);
    ready_start(&s);
    pub_start(&s.pub, "pub-faults-hung", s.f.mtopic, n, rate);
    s.crashed = !sleep_watching(&s.f, 8000);
    long long in_before = itest_kafka_count(s.f.topic);
    itest_harness_ctl("pause-kafka");
    s.fault_at = now_ms();
    note("Kafka SIGSTOPped (%d published, %lld in Kafka)", atomic_load(&s.pub.sent), in_before);
    /* 503 naming the stall within the window and a few seconds. */
    ready_wait_503(&s, "Kafka: no delivery", "kafka_stalled", window_ms + 8000);
    ready_sleep(&s, hang_ms - (now_ms() - s.fault_at));
    ready_resume(&s, 90000);
    ready_settle(&s, n);
    readback_t r;
    long long dead = ready_collect(&s, n, &row, &r);
    addnote(&row,
            "Kafka SIGSTOPped %d s; /readyz 503 after %.1f s (window %d s), 200 %.1f s after "
            "SIGCONT; %lld dead letters",
            hang_ms / 1000, s.to_503 >= 0 ? s.to_503 / 1000.0 : -1.0, window_ms / 1000,
            s.to_200 >= 0 ? s.to_200 / 1000.0 : -1.0, dead);
    row.ok = ready_ok(&s, &r, dead);
    row_done(&row, &s.f, s.t0);
    ready_assert(&s, &r, dead, "Kafka: no delivery");
    ready_free(&s);
}
END_TEST

/* 2 MiB of spool (two 1 MiB segments) hold ~7,000 of these records: the
 * rest waits in the broker while Kafka hangs. Without TERM: keepalive_s 5,
 * so the broker drops the bridge's connection after 7.5 s without a packet.
 * With TERM (paused-sigterm): keepalive_s 60, the connection stays up, and
 * the bridge gets SIGTERM 2 s into the pause; then Kafka resumes and the
 * bridge starts again. */
static void run_intake_paused(bool term)
{
    const int n = scaled(16000), hang_ms = 40000;
    const double rate = 800;
    row_t row = {.key = term ? "paused-sigterm" : "intake-paused",
                 .name = term ? "paused-sigterm" : "intake-paused"};
    ready_t s;
    ready_init(&s, term ? "pterm" : "paused", NULL,
               ", max_bytes: 2097152, segment_bytes: 1048576, on_full: block",
               term ? "  keepalive_s: 60\n" : "  keepalive_s: 5\n");
    ready_start(&s);
    itest_harness_ctl("pause-kafka");
    s.fault_at = now_ms();
    pub_start(&s.pub, term ? "pub-faults-pterm" : "pub-faults-paused", s.f.mtopic, n, rate);
    ready_wait_503(&s, "MQTT intake paused", "intake_paused", 45000);
    ready_sleep(&s, term ? 2000 : hang_ms - (now_ms() - s.fault_at));
    int term_rc = 0, parked = 0;
    if (term && !s.crashed) {
        /* Kafka hung: the drain waits kafka.flush_timeout_ms (30 s). */
        term_rc = itest_bridge_stop(&s.f.b, SIGTERM, 90000);
        parked = log_count(&s.f, "shutting down while MQTT intake waited");
        note("SIGTERM during the pause: exit status %d, %d 'shutting down while MQTT intake "
             "waited' line(s)",
             term_rc, parked);
        itest_harness_ctl("resume-kafka");
        bridge_ready(&s.f);
    }
    long long hung_ms = now_ms() - s.fault_at;
    ready_resume(&s, 120000);
    ready_settle(&s, n);
    int explained = log_count(&s.f, "while MQTT intake was paused");
    log_grep(&s.f, " mqtt:");
    log_grep(&s.f, "intake");
    readback_t r;
    long long dead = ready_collect(&s, n, &row, &r);
    addnote(&row,
            "spool 2 MiB, Kafka SIGSTOPped %d s; /readyz 503 'intake paused' after %.1f s, 200 "
            "%.1f s after SIGCONT; %d log line(s) explaining the dropped MQTT connection; %lld "
            "dead letters",
            (int)(hung_ms / 1000), s.to_503 >= 0 ? s.to_503 / 1000.0 : -1.0,
            s.to_200 >= 0 ? s.to_200 / 1000.0 : -1.0, explained, dead);
    if (term)
        addnote(&row, "SIGTERM 2 s into the pause: exit status %d, message in hand parked: %d",
                term_rc, parked);
    bool why_ok = term ? term_rc == 0 && parked > 0 : explained > 0;
    row.ok = ready_ok(&s, &r, dead) && why_ok;
    row_done(&row, &s.f, s.t0);
    ready_assert(&s, &r, dead, "MQTT intake paused");
    if (term) {
        ck_assert_msg(term_rc == 0, "exit status %d after SIGTERM during the pause", term_rc);
        ck_assert_msg(parked > 0, "no 'shutting down while MQTT intake waited' line");
    } else {
        ck_assert_msg(explained > 0,
                      "no log line says the MQTT connection dropped while intake was paused");
    }
    ready_free(&s);
}

START_TEST(test_intake_paused)
{
    run_intake_paused(false);
}
END_TEST

/* A shutdown while intake waits must not acknowledge the message in hand:
 * Paho sends the PUBACK whatever messageArrived returns. Before the bridge
 * kept that callback parked, 20 of 16,000 were lost here. */
START_TEST(test_paused_sigterm)
{
    run_intake_paused(true);
}
END_TEST

START_TEST(test_queue_full)
{
    /* Without the spool: a 1 MiB producer queue (~5,000 of these records)
     * fills while Kafka hangs, and the MQTT callback waits for room. */
    const int n = scaled(12000), hang_ms = 40000;
    const double rate = 800;
    row_t row = {.key = "queue-full", .name = "queue-full"};
    ready_t s;
    ready_init(&s, "qfull", "  properties:\n    queue.buffering.max.kbytes: \"1024\"\n", NULL,
               "  keepalive_s: 5\n");
    /* No spool: the line goes. */
    char *sp = strstr(s.f.cfg, "spool: {"), *eol = sp ? strchr(sp, '\n') : NULL;
    ck_assert(sp && eol);
    memmove(sp, eol + 1, strlen(eol + 1) + 1);
    ready_start(&s);
    itest_harness_ctl("pause-kafka");
    s.fault_at = now_ms();
    pub_start(&s.pub, "pub-faults-qfull", s.f.mtopic, n, rate);
    ready_wait_503(&s, "producer queue full", "intake_paused", 45000);
    ready_sleep(&s, hang_ms - (now_ms() - s.fault_at));
    ready_resume(&s, 120000);
    ready_settle(&s, n);
    int explained = log_count(&s.f, "while MQTT intake was paused");
    log_grep(&s.f, " mqtt:");
    readback_t r;
    long long dead = ready_collect(&s, n, &row, &r);
    addnote(&row,
            "no spool, 1 MiB producer queue, Kafka SIGSTOPped %d s; /readyz 503 'producer queue "
            "full' after %.1f s, 200 %.1f s after SIGCONT; %d log line(s) explaining the "
            "dropped MQTT connection; %lld dead letters",
            hang_ms / 1000, s.to_503 >= 0 ? s.to_503 / 1000.0 : -1.0,
            s.to_200 >= 0 ? s.to_200 / 1000.0 : -1.0, explained, dead);
    row.ok = ready_ok(&s, &r, dead) && explained > 0;
    row_done(&row, &s.f, s.t0);
    ready_assert(&s, &r, dead, "producer queue full");
    ck_assert_msg(explained > 0,
                  "no log line says the MQTT connection dropped while intake was paused");
    ready_free(&s);
}
END_TEST

/* ---- 10. disk-full (with /readyz) -------------------------------------- */

/* The spool on an 8 MiB tmpfs (smaller than one 16 MiB segment, the
 * default), filled while Kafka is stopped; then Kafka returns. The bridge
 * must free the delivered records' space, log "spool writable again" and
 * take the broker's backlog without a restart. The tmpfs is mounted at a
 * fixed path that main() unmounts after the scenario, also when it fails;
 * the spool directory is a symlink to it. */
#define DISKFULL_MIB 8

static void diskfull_mountpoint(char *out, size_t out_size)
{
    snprintf(out, out_size, "%s/disk-full.tmpfs", itest_env("MKB_HARNESS_DIR"));
}

static void diskfull_umount(void)
{
    char mnt[600], cmd[2000];
    diskfull_mountpoint(mnt, sizeof(mnt));
    snprintf(cmd, sizeof(cmd), "mountpoint -q '%s' && umount -l '%s'; rmdir '%s' 2>/dev/null", mnt,
             mnt, mnt);
    if (system(cmd) != 0) { /* nothing mounted: fine */
    }
}

START_TEST(test_disk_full)
{
    /* Not scaled: about 28,000 of these fill 8 MiB; the rest wait in the
     * broker. */
    const int n = 45000;
    const double rate = 4000;
    row_t row = {.key = "disk-full", .name = "disk-full"};
    char mnt[600], cmd[2000];
    diskfull_mountpoint(mnt, sizeof(mnt));
    diskfull_umount();
    atexit(diskfull_umount); /* a failed ck_assert exits the test's process */
    snprintf(cmd, sizeof(cmd), "mkdir -p '%s' && mount -t tmpfs -o size=%dm tmpfs '%s'", mnt,
             DISKFULL_MIB, mnt);
    ck_assert_msg(system(cmd) == 0, "%s failed (the fault suite runs as root)", cmd);
    ready_t s;
    ready_init(&s, "diskfull", NULL, NULL, NULL);
    ck_assert_msg(symlink(mnt, s.f.spool) == 0, "symlink %s: %s", s.f.spool, strerror(errno));
    ready_start(&s);
    pid_t pid = s.f.b.pid;
    itest_harness_ctl("stop-kafka");
    s.fault_at = now_ms();
    note("Kafka stopped; publishing %d messages at %.0f/s into a %d MiB spool", n, rate,
         DISKFULL_MIB);
    pub_start(&s.pub, "pub-faults-diskfull", s.f.mtopic, n, rate);
    bool paused = itest_bridge_wait_log(&s.f.b, "No space left on device", 120000);
    note("disk full %s after %d published (spool %.1f MiB)", paused ? "logged" : "NOT logged",
         atomic_load(&s.pub.sent), du_bytes(s.f.spool) / 1048576.0);
    /* Readiness: 503 "spool: cannot be written" while the disk is full. */
    if (paused)
        ready_wait_503(&s, "spool: cannot be written", NULL, 10000);
    pub_join(&s.pub); /* every message acknowledged by the broker, which keeps the backlog */
    /* Kafka stays away longer, intake paused on the full disk: 50 s, more
     * than 1.5 x the MQTT keepalive (30 s), after which a broker drops a
     * client it heard nothing from (issue 15, point 4; noted, not failed). */
    ready_sleep(&s, 50000);
    long long ts = now_ms();
    itest_harness_ctl("start-kafka");
    note("Kafka started in %lld ms", now_ms() - ts);
    ts = now_ms();
    bool resumed = !s.crashed && itest_bridge_wait_log(&s.f.b, "spool writable again", 120000);
    long long resume_ms = now_ms() - ts;
    note("intake %s %lld ms after Kafka was back", resumed ? "resumed" : "NOT resumed", resume_ms);
    bool settled = !s.crashed && wait_settled(s.f.topic, n, 5000, 150000);
    s.to_200 = s.crashed ? -1 : wait_readyz(&s.f, s.port, 200, NULL, 60000, s.up, sizeof(s.up));
    long long in_kafka = itest_kafka_count(s.f.topic);
    bool same_pid = !s.crashed && s.f.b.pid == pid && sleep_watching(&s.f, 100);
    int writable = log_count(&s.f, "spool writable again");
    int drops = log_count(&s.f, "connection to ") + log_count(&s.f, "reconnect to ");
    fprintf(stderr, "faults: disk-full: the bridge's log about the spool and MQTT:\n");
    log_grep(&s.f, "spool");
    log_grep(&s.f, " mqtt: ");
    readback_t r = s.crashed ? read_back(s.f.topic, n) : finish(&s.f, n, &row);
    long long dead = ready_dead(&s);
    row_from(&row, &r, n);
    note_log(&row, &s.f);
    addnote(&row, "%d MiB tmpfs; disk full %s; %lld in Kafka before any restart", DISKFULL_MIB,
            paused ? "logged" : "NOT logged", in_kafka);
    addnote(&row, "spool writable again logged %d time(s)%s; %s", writable,
            resumed ? "" : " (not within 120 s)",
            same_pid ? "no restart" : "the bridge did not carry on");
    if (resumed)
        addnote(&row, "intake resumed %.1f s after Kafka was back", resume_ms / 1000.0);
    addnote(&row, "%lld dead letters; /readyz %s while full, %s after", dead,
            s.to_503 >= 0 ? "503 'spool: cannot be written'" : "NOT 503",
            s.to_200 >= 0 ? "200" : "NOT 200");
    if (drops)
        addnote(&row, "MQTT connection dropped/reconnected %d time(s)", drops);
    if (!settled)
        addnote(&row, "topic did not settle without a restart");
    row.ok = paused && settled && same_pid && writable > 0 && ready_ok(&s, &r, dead);
    row_done(&row, &s.f, s.t0);
    ck_assert_msg(paused, "the spool never filled (no \"No space left on device\" in the log)");
    ready_assert(&s, &r, dead, "spool: cannot be written");
    ck_assert_msg(settled && same_pid,
                  "the backlog did not reach Kafka without a restart (%lld of %d)", in_kafka, n);
    ck_assert_msg(writable > 0, "no \"spool writable again\" in the log");
    unlink(s.f.spool);
    diskfull_umount();
    ready_free(&s);
}
END_TEST

/* ---- main: run the scenarios, print the table -------------------------- */

typedef struct {
    const char *name;
    int timeout_s;
} scenario_t;

static const scenario_t scenarios[] = {
    {"sigkill", 400},
    {"kafka-outage", 400},
    {"torn-tail", 300},
    {"cluster", 450},
    {"topic-later", 300},
    {"topic-absent", 200},
    {"topic-later-nospool", 300},
    {"disk-full", 330},
    {"kafka-hung", 400},
    {"intake-paused", 450},
    {"queue-full", 450},
    {"paused-sigterm", 450},
};
#define NSCEN (sizeof(scenarios) / sizeof(scenarios[0]))

static const TTest *scenario_test(size_t i)
{
    switch (i) {
    case 0: return test_sigkill;
    case 1: return test_kafka_outage;
    case 2: return test_torn_tail;
    case 4: return test_topic_later;
    case 5: return test_topic_absent;
    case 6: return test_topic_later_nospool;
    case 7: return test_disk_full;
    case 8: return test_kafka_hung;
    case 9: return test_intake_paused;
    case 10: return test_queue_full;
    case 11: return test_paused_sigterm;
    default: return test_cluster;
    }
}

/* Why a scenario's test failed, as check reported it (its first failure):
 * kept for the table, whose tail is what a CI log shows. */
static char fail_why[NSCEN][1000];

static void print_table(FILE *out, bool header, char **sel, int nsel, const int *failed_tests)
{
    if (!header)
        goto rows;
    fprintf(out, "\n%-14s %10s %10s %6s %10s %6s %6s  %s\n", "scenario", "published", "in Kafka",
            "lost", "duplicated", "result", "secs", "notes");
    fprintf(out, "%-14s %10s %10s %6s %10s %6s %6s  %s\n", "--------", "---------", "--------",
            "----", "----------", "------", "----", "-----");
rows:;
    FILE *f = fopen(rows_path, "r");
    char line[4096];
    for (int s = 0; s < nsel; s++) {
        bool any = false;
        if (f) {
            rewind(f);
            while (fgets(line, sizeof(line), f)) {
                line[strcspn(line, "\n")] = '\0';
                char *fld[9] = {0};
                char *p = line;
                for (int i = 0; i < 9 && p; i++) {
                    fld[i] = p;
                    p = i < 8 ? strchr(p, '\t') : NULL;
                    if (p)
                        *p++ = '\0';
                }
                if (!fld[8] || strcmp(fld[0], sel[s]) != 0)
                    continue;
                any = true;
                /* A row that passed its counts but whose test failed later. */
                const char *res = strcmp(fld[6], "ok") == 0 && failed_tests[s] ? "FAIL" : fld[6];
                fprintf(out, "%-14s %10s %10s %6s %10s %6s %6s  %s%s%s\n", fld[1], fld[2], fld[3],
                        fld[4], fld[5], res, fld[7], fld[8], failed_tests[s] ? "; failed: " : "",
                        failed_tests[s] ? fail_why[s] : "");
            }
        }
        if (!any)
            fprintf(out, "%-14s %10s %10s %6s %10s %6s %6s  no result: the scenario aborted: %s\n",
                    sel[s], "-", "-", "-", "-", "FAIL", "-", fail_why[s]);
    }
    if (f)
        fclose(f);
}

/* WHY := check's first failure in SR ("file:line: message"), the seconds
 * the scenario ran (which tell a timeout) and its last note. */
static void note_failure(SRunner *sr, char *why, size_t size, long long ms)
{
    char last[300] = "";
    FILE *f = fopen(last_note_path, "r");
    if (f) {
        if (!fgets(last, sizeof(last), f))
            last[0] = '\0';
        fclose(f);
    }
    TestResult **tr = srunner_failures(sr);
    if (tr && tr[0])
        snprintf(why, size, "%s:%d: %s (after %.0f s; last note: %s)", tr_lfile(tr[0]),
                 tr_lno(tr[0]), tr_msg(tr[0]), ms / 1000.0, last[0] ? last : "none");
    else
        snprintf(why, size, "no message from check (after %.0f s; last note: %s)", ms / 1000.0,
                 last[0] ? last : "none");
    free(tr);
}

/* Prints the last lines of each bridge log in DIR written since SINCE (a
 * scenario that failed: a timeout kills the test before it can). */
static void print_bridge_logs(const char *dir, time_t since)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    while (d && (e = readdir(d)) != NULL) {
        char path[1024], line[1024], tail[25][1024];
        struct stat st;
        size_t nl = strlen(e->d_name);
        snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
        if (strncmp(e->d_name, "bridge-", 7) != 0 || nl < 4 ||
            strcmp(e->d_name + nl - 4, ".log") != 0 || stat(path, &st) != 0 || st.st_mtime < since)
            continue;
        FILE *f = fopen(path, "r");
        size_t n = 0;
        while (f && fgets(line, sizeof(line), f))
            snprintf(tail[n++ % 25], sizeof(tail[0]), "%s", line);
        if (f)
            fclose(f);
        fprintf(stderr, "--- the last %zu lines of %s\n", n < 25 ? n : 25, path);
        for (size_t i = n < 25 ? 0 : n - 25; i < n; i++)
            fprintf(stderr, "  | %s", tail[i % 25]);
    }
    if (d)
        closedir(d);
}

int main(int argc, char **argv)
{
    static char *defaults[] = {"sigkill", "kafka-outage", "torn-tail"};
    char **sel = argc > 1 ? argv + 1 : defaults;
    int nsel = argc > 1 ? argc - 1 : 3;
    if (nsel > (int)NSCEN) {
        fprintf(stderr, "faults: at most %zu scenarios in one run\n", NSCEN);
        return 2;
    }
    for (int s = 0; s < nsel; s++) {
        size_t i = 0;
        while (i < NSCEN && strcmp(sel[s], scenarios[i].name) != 0)
            i++;
        if (i == NSCEN) {
            fprintf(stderr,
                    "usage: faults [sigkill] [kafka-outage] [torn-tail] [cluster] [topic-later] "
                    "[topic-absent] [topic-later-nospool] [disk-full] [kafka-hung] [intake-paused]\n"
                    "       [queue-full] [paused-sigterm]\n"
                    "unknown scenario: %s\n",
                    sel[s]);
            return 2;
        }
    }
    const char *dir = getenv("MKB_HARNESS_DIR");
    if (!dir || !getenv("MKB_BRIDGE_BIN")) {
        fprintf(stderr, "faults: run it through tests/harness/with-brokers.sh with "
                        "MKB_BRIDGE_BIN set (make faults)\n");
        return 2;
    }
    const char *seed_env = getenv("MKB_FAULTS_SEED");
    seed = seed_env && *seed_env ? strtoul(seed_env, NULL, 10)
                   : (unsigned long)time(NULL) ^ ((unsigned long)getpid() << 16);
    fprintf(stderr, "faults: seed %lu (MKB_FAULTS_SEED=%lu reproduces the random delays)\n", seed,
            seed);
    snprintf(rows_path, sizeof(rows_path), "%s/faults-rows.%d.tsv", dir, (int)getpid());
    unlink(rows_path);
    snprintf(last_note_path, sizeof(last_note_path), "%s/faults-note.%d.txt", dir, (int)getpid());

    int failed_tests[NSCEN] = {0};
    long long t0 = now_ms();
    for (int s = 0; s < nsel; s++) {
        size_t i = 0;
        while (strcmp(sel[s], scenarios[i].name) != 0)
            i++;
        /* One runner per scenario: each gets its own process and timeout,
         * and the random delays differ per scenario but follow the seed. */
        srandom((unsigned)(seed + i));
        fprintf(stderr, "\n== faults: %s\n", sel[s]);
        Suite *suite = suite_create("faults");
        TCase *tc = tcase_create(sel[s]);
        tcase_set_timeout(tc, scenarios[i].timeout_s);
        tcase_add_test(tc, scenario_test(i));
        suite_add_tcase(suite, tc);
        SRunner *sr = srunner_create(suite);
        long long ts = now_ms();
        time_t started = time(NULL);
        unlink(last_note_path);
        srunner_run_all(sr, CK_NORMAL);
        failed_tests[s] = srunner_ntests_failed(sr) != 0;
        if (failed_tests[s]) {
            note_failure(sr, fail_why[s], sizeof(fail_why[s]), now_ms() - ts);
            print_bridge_logs(dir, started);
        }
        srunner_free(sr);
        if (strcmp(sel[s], "disk-full") == 0)
            diskfull_umount(); /* also after a timeout killed the test */
    }
    int failed = 0;
    for (int s = 0; s < nsel; s++)
        failed += failed_tests[s];
    print_table(stdout, true, sel, nsel, failed_tests);
    const char *table = getenv("MKB_FAULTS_TABLE");
    FILE *tf = table && *table ? fopen(table, "a") : NULL;
    if (tf) {
        print_table(tf, ftell(tf) == 0, sel, nsel, failed_tests);
        fclose(tf);
    }
    printf("faults: %d of %d scenario(s) failed, %.0f s\n", failed, nsel, (now_ms() - t0) / 1000.0);
    return failed ? 1 : 0;
}
