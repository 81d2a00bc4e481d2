// SPDX-FileCopyrightText: 2026 The mqtt-kafka-bridge authors
// SPDX-License-Identifier: Apache-2.0
#define _GNU_SOURCE /* memmem */
/* The spool on its own: records round-trip byte for byte, the ack mark
 * survives a crash (a forked child that dies with SIGKILL), torn tails and
 * flipped bytes are reported and the complete records kept, segments roll
 * and are deleted, the full policies, a disk that refuses writes, a full
 * disk that gets its space back, the segment size fitted to the disk. */
#include "spool.h"

#include "err.h"
#include "log.h"

#include <check.h>
#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zlib.h>

#include "check_run.h"

static char dir[256];

/* A small disk, simulated: while fake_cap >= 0, a write(2) to a file in
 * DIR writes at most what keeps its segments under fake_cap bytes (a short
 * write, then ENOSPC, as a full tmpfs does), and, with fake_vfs, fstatvfs
 * reports the room left. test_spool is linked with -Wl,--wrap=write and
 * -Wl,--wrap=fstatvfs (Makefile); every other write passes through. */
static long long fake_cap = -1;
static bool fake_vfs;
// NOLINTBEGIN(bugprone-reserved-identifier,cert-dcl37-c): the names ld --wrap uses
ssize_t __real_write(int fd, const void *buf, size_t n);
int __real_fstatvfs(int fd, struct statvfs *v);
// NOLINTEND(bugprone-reserved-identifier,cert-dcl37-c)

static long long seg_bytes(void)
{
    DIR *d = opendir(dir);
    long long sum = 0;
    struct dirent *e;
    while (d && (e = readdir(d))) {
        struct stat st;
        if (strstr(e->d_name, ".seg") && fstatat(dirfd(d), e->d_name, &st, 0) == 0)
            sum += st.st_size;
    }
    if (d)
        closedir(d);
    return sum;
}

static bool in_dir(int fd)
{
    char proc[64], target[512];
    snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
    ssize_t n = readlink(proc, target, sizeof(target) - 1);
    if (n <= 0)
        return false;
    target[n] = '\0';
    return strncmp(target, dir, strlen(dir)) == 0 && target[strlen(dir)] == '/';
}

// NOLINTBEGIN(bugprone-reserved-identifier,cert-dcl37-c): the names ld --wrap uses
ssize_t __wrap_write(int fd, const void *buf, size_t n);
ssize_t __wrap_write(int fd, const void *buf, size_t n)
{
    if (fake_cap < 0 || !in_dir(fd))
        return __real_write(fd, buf, n);
    long long room = fake_cap - seg_bytes();
    if (room <= 0) {
        errno = ENOSPC;
        return -1;
    }
    return __real_write(fd, buf, (long long)n > room ? (size_t)room : n);
}

int __wrap_fstatvfs(int fd, struct statvfs *v);
int __wrap_fstatvfs(int fd, struct statvfs *v)
{
    int rc = __real_fstatvfs(fd, v);
    if (rc == 0 && fake_vfs && fake_cap >= 0) {
        long long room = fake_cap - seg_bytes();
        v->f_frsize = 4096;
        v->f_bavail = room > 0 ? (fsblkcnt_t)(room / 4096) : 0;
    }
    return rc;
}
// NOLINTEND(bugprone-reserved-identifier,cert-dcl37-c)

static void setup(void)
{
    snprintf(dir, sizeof(dir), "/tmp/mkb-spool-test.XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(dir));
}

static void teardown(void)
{
    fake_cap = -1; /* CK_FORK=no (valgrind) runs every test in one process */
    fake_vfs = false;
    char cmd[300];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    ck_assert_int_eq(system(cmd), 0);
}

static spool_opts_t opts(uint64_t max_bytes, uint64_t segment_bytes)
{
    spool_opts_t o = {dir, max_bytes, segment_bytes, SPOOL_FSYNC_INTERVAL, 1000, SPOOL_FULL_BLOCK};
    return o;
}

static spool_t *open_ok(const spool_opts_t *o)
{
    spool_t *s = NULL;
    char err[512] = "";
    int rc = spool_open(o, &s, err, sizeof(err));
    ck_assert_msg(rc == MKB_OK, "spool_open: %s", err);
    return s;
}

/* Opens the spool of O again: it finds N entries to replay. */
static void reopen_replays(const spool_opts_t *o, uint64_t n)
{
    spool_t *s = open_ok(o);
    spool_stats_t st;
    spool_stats(s, &st);
    ck_assert_uint_eq(st.replay, n);
    spool_close(s);
}

/* Record I: value "value-<i>" padded to PAD bytes, key "k<i>" (none for
 * i % 7 == 0), two headers, every fifth a dead letter on profile "cold". */
static void append_n(spool_t *s, int from, int n, size_t pad)
{
    for (int i = from; i < from + n; i++) {
        char key[32], val[4096], hv[32];
        snprintf(key, sizeof(key), "k%d", i);
        memset(val, 'x', sizeof(val));
        int vl = snprintf(val, sizeof(val), "value-%d", i);
        val[vl] = ' ';
        size_t len = pad > (size_t)vl ? pad : (size_t)vl;
        snprintf(hv, sizeof(hv), "h%d", i);
        record_header_t h[2] = {{"a", hv, strlen(hv)}, {"empty", "", 0}};
        record_t r = {.route = "r",
                             .profile = i % 5 == 0 ? "cold" : NULL,
                             .topic = "t.one",
                             .key = i % 7 == 0 ? NULL : key,
                             .key_len = i % 7 == 0 ? 0 : strlen(key),
                             .value = val,
                             .value_len = len,
                             .headers = h,
                             .nheaders = 2,
                             .timestamp_ms = 1700000000000LL + i,
                             .recv_ms = 1700000000000LL,
                             .dead_letter = i % 5 == 0};
        ck_assert_int_eq(spool_append(s, &r), MKB_OK);
        char err[256];
        ck_assert_int_eq(spool_commit(s, err, sizeof(err)), MKB_OK);
    }
}

/* Reads one record and checks it is record I. */
static uint64_t next_is(spool_t *s, int i)
{
    record_t r;
    uint64_t t;
    int rc = spool_next(s, &r, &t);
    ck_assert_msg(rc == MKB_OK, "record %d: spool_next %d", i, rc);
    char want[32];
    snprintf(want, sizeof(want), "value-%d ", i);
    ck_assert_msg(r.value_len >= strlen(want) - 1 && memcmp(r.value, want, strlen(want) - 1) == 0,
                  "record %d: value %.*s", i, (int)(r.value_len > 20 ? 20 : r.value_len),
                  (const char *)r.value);
    ck_assert_str_eq(r.topic, "t.one");
    ck_assert_int_eq(r.timestamp_ms, 1700000000000LL + i);
    ck_assert_int_eq(r.dead_letter, i % 5 == 0);
    if (i % 5 == 0)
        ck_assert_str_eq(r.profile, "cold");
    else
        ck_assert_ptr_null(r.profile);
    if (i % 7 == 0) {
        ck_assert_ptr_null(r.key);
    } else {
        char key[32];
        snprintf(key, sizeof(key), "k%d", i);
        ck_assert_uint_eq(r.key_len, strlen(key));
        ck_assert(memcmp(r.key, key, r.key_len) == 0);
    }
    ck_assert_uint_eq(r.nheaders, 2);
    ck_assert_str_eq(r.headers[0].name, "a");
    char hv[32];
    snprintf(hv, sizeof(hv), "h%d", i);
    ck_assert_uint_eq(r.headers[0].value_len, strlen(hv));
    ck_assert(memcmp(r.headers[0].value, hv, strlen(hv)) == 0);
    ck_assert_str_eq(r.headers[1].name, "empty");
    ck_assert_uint_eq(r.headers[1].value_len, 0);
    ck_assert_ptr_nonnull(strchr(r.id, '-'));
    ck_assert_int_eq(r.recv_ms, 1700000000000LL);
    ck_assert_uint_ne(t, 0); /* 0 means no ticket */
    return t;
}

static void next_none(spool_t *s)
{
    record_t r;
    uint64_t t;
    ck_assert_int_eq(spool_next(s, &r, &t), MKB_ERR_RETRY);
}

/* The newest segment file's path. */
static void newest_segment(char *out, size_t size, bool nonempty)
{
    DIR *d = opendir(dir);
    ck_assert_ptr_nonnull(d);
    struct dirent *e;
    char best[256] = "";
    while ((e = readdir(d))) {
        size_t l = strlen(e->d_name);
        if (l < 4 || strcmp(e->d_name + l - 4, ".seg") != 0)
            continue;
        char p[512];
        struct stat st;
        snprintf(p, sizeof(p), "%s/%s", dir, e->d_name);
        if (nonempty && (stat(p, &st) != 0 || st.st_size == 0))
            continue;
        if (strcmp(e->d_name, best) > 0)
            snprintf(best, sizeof(best), "%s", e->d_name);
    }
    closedir(d);
    ck_assert_msg(best[0], "no segment in %s", dir);
    snprintf(out, size, "%s/%s", dir, best);
}

START_TEST(test_roundtrip_and_ack)
{
    spool_opts_t o = opts(1 << 30, 16 << 20);
    spool_t *s = open_ok(&o);
    append_n(s, 0, 50, 100);
    for (int i = 0; i < 50; i++)
        spool_ack(s, next_is(s, i));
    next_none(s);
    ck_assert(spool_caught_up(s));
    spool_tick(s);
    spool_stats_t st;
    spool_stats(s, &st);
    ck_assert_uint_eq(st.appended, 50);
    ck_assert_uint_eq(st.acked, 50);
    spool_close(s);
    s = open_ok(&o);
    spool_stats(s, &st);
    ck_assert_uint_eq(st.replay, 0); /* all were acknowledged */
    next_none(s);
    spool_close(s);
}
END_TEST

/* Message I: topic "site/<i>/temp", payload "{\"t\":<i>}", QoS 1, every
 * third retained, every fourth dup, with a content type and two user
 * properties on the odd ones (MQTT 5). */
static void msg_text(int i, char topic[64], char payload[64], char v[32])
{
    snprintf(topic, 64, "site/%d/temp", i);
    snprintf(payload, 64, "{\"t\":%d}", i);
    snprintf(v, 32, "v%d", i);
}

static void msg_append(spool_t *s, int i)
{
    char topic[64], payload[64], v[32];
    msg_text(i, topic, payload, v);
    mkb_prop_t props[2] = {{"unit", 4, "degC", 4}, {"seq", 3, v, strlen(v)}};
    mqtt_msg_t m = {.topic = topic,
                    .topic_len = strlen(topic),
                    .payload = payload,
                    .payload_len = strlen(payload),
                    .qos = 1,
                    .retained = i % 3 == 0,
                    .dup = i % 4 == 0,
                    .content_type = i % 2 ? "application/json" : NULL,
                    .content_type_len = i % 2 ? 16 : 0,
                    .props = i % 2 ? props : NULL,
                    .nprops = i % 2 ? 2 : 0,
                    .recv_ms = 1700000000000LL + i};
    ck_assert_int_eq(spool_append_msg(s, &m), MKB_OK);
    char err[256];
    ck_assert_int_eq(spool_commit(s, err, sizeof(err)), MKB_OK);
}

/* Peeks message I, checks every field, returns its ticket. */
static uint64_t msg_is(spool_t *s, int i)
{
    spool_entry_t e;
    uint64_t t = 0;
    int rc = spool_peek(s, &e, &t);
    ck_assert_msg(rc == MKB_OK, "message %d: spool_peek %d", i, rc);
    ck_assert(e.is_message);
    char topic[64], payload[64], v[32];
    msg_text(i, topic, payload, v);
    ck_assert_uint_eq(e.msg.topic_len, strlen(topic));
    ck_assert(memcmp(e.msg.topic, topic, strlen(topic)) == 0);
    ck_assert_uint_eq(e.msg.payload_len, strlen(payload));
    ck_assert(memcmp(e.msg.payload, payload, strlen(payload)) == 0);
    ck_assert_int_eq(e.msg.qos, 1);
    ck_assert_int_eq(e.msg.retained, i % 3 == 0);
    ck_assert_int_eq(e.msg.dup, i % 4 == 0);
    ck_assert_int_eq(e.msg.recv_ms, 1700000000000LL + i);
    if (i % 2) {
        ck_assert_uint_eq(e.msg.content_type_len, 16);
        ck_assert(memcmp(e.msg.content_type, "application/json", 16) == 0);
        ck_assert_uint_eq(e.msg.nprops, 2);
        ck_assert(memcmp(e.msg.props[0].key, "unit", 4) == 0 && e.msg.props[0].key_len == 4);
        ck_assert(memcmp(e.msg.props[0].value, "degC", 4) == 0);
        ck_assert_uint_eq(e.msg.props[1].value_len, strlen(v));
        ck_assert(memcmp(e.msg.props[1].value, v, strlen(v)) == 0);
    } else {
        ck_assert_ptr_null(e.msg.content_type);
        ck_assert_uint_eq(e.msg.nprops, 0);
    }
    /* "<16 hex digits>-<segment>-<offset>", each number in its shortest form */
    unsigned long long sid, off;
    unsigned seg;
    int used = 0;
    ck_assert_int_eq(sscanf(e.id, "%16llx-%u-%llu%n", &sid, &seg, &off, &used), 3);
    char again[SPOOL_ID_LEN];
    snprintf(again, sizeof(again), "%016llx-%u-%llu", sid, seg, off);
    ck_assert_str_eq(e.id, again);
    ck_assert_uint_eq((size_t)used, strlen(e.id));
    ck_assert_uint_ne(t, 0);
    return t;
}

/* Messages as received round-trip, and a message's ticket is settled
 * only when it was passed and every record held under it was acked: the
 * ack mark stays on a message until then, so a crash replays it whole. A
 * message that made no record is settled by its pass. Record entries of
 * earlier journals are read in between. */
START_TEST(test_messages_and_their_records)
{
    spool_opts_t o = opts(1 << 30, 16 << 20);
    spool_t *s = open_ok(&o);
    for (int i = 0; i < 4; i++)
        msg_append(s, i);
    append_n(s, 4, 1, 10); /* a record entry after them */
    uint64_t t0 = msg_is(s, 0);
    ck_assert_uint_eq(msg_is(s, 0), t0); /* peeked again: the same */
    spool_pass(s, t0, 2);
    uint64_t t1 = msg_is(s, 1);
    spool_pass(s, t1, 0); /* no record: settled at once */
    uint64_t t2 = msg_is(s, 2);
    spool_ack(s, t2); /* its one record's ack comes before the pass */
    spool_stats_t st;
    spool_stats(s, &st);
    ck_assert_uint_eq(st.acked, 1); /* message 1 only: 2 is still in hand */
    spool_pass(s, t2, 1);
    spool_ack(s, t0); /* one of message 0's two records */
    spool_stats(s, &st);
    ck_assert_uint_eq(st.acked, 2); /* messages 1 and 2 */
    ck_assert_uint_eq(st.oldest_recv_ms, 1700000000000LL);
    spool_tick(s);
    spool_close(s); /* like a crash here: the mark is on message 0 */
    s = open_ok(&o);
    spool_stats(s, &st);
    ck_assert_uint_eq(st.replay, 5);
    t0 = msg_is(s, 0);
    spool_pass(s, t0, 1);
    spool_ack(s, t0);
    for (int i = 1; i < 4; i++)
        spool_pass(s, msg_is(s, i), 0);
    spool_ack(s, next_is(s, 4)); /* spool_next passes over nothing: a record */
    next_none(s);
    spool_tick(s);
    spool_stats(s, &st);
    ck_assert_uint_eq(st.acked, 5);
    spool_close(s);
    reopen_replays(&o, 0);
}
END_TEST

/* A message that cannot be journaled as it is: refused, nothing pending. */
START_TEST(test_message_refused)
{
    spool_opts_t o = opts(1 << 30, 16 << 20);
    spool_t *s = open_ok(&o);
    mqtt_msg_t m = {.topic = "t", .topic_len = 70000, .payload = "", .qos = 1};
    ck_assert_int_eq(spool_append_msg(s, &m), MKB_ERR_INVAL);
    m.topic_len = 1;
    m.qos = 3;
    ck_assert_int_eq(spool_append_msg(s, &m), MKB_ERR_INVAL);
    char err[256];
    ck_assert_int_eq(spool_commit(s, err, sizeof(err)), MKB_OK);
    spool_stats_t st;
    spool_stats(s, &st);
    ck_assert_uint_eq(st.appended, 0);
    spool_close(s);
}
END_TEST

/* A child journals 100 records, hands out 60, acks 0..29 but 10 (and 40),
 * ticks, and dies with SIGKILL. The next open replays from record 10. */
START_TEST(test_crash_replays_from_the_mark)
{
    spool_opts_t o = opts(1 << 30, 16 << 20);
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        spool_t *s = NULL;
        char err[256];
        if (spool_open(&o, &s, err, sizeof(err)) != MKB_OK)
            _exit(3);
        append_n(s, 0, 100, 100);
        uint64_t t[60];
        for (int i = 0; i < 60; i++)
            t[i] = next_is(s, i);
        for (int i = 0; i < 30; i++)
            if (i != 10)
                spool_ack(s, t[i]);
        spool_ack(s, t[40]);
        spool_tick(s);
        kill(getpid(), SIGKILL);
        _exit(4);
    }
    int status;
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    ck_assert_msg(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL, "child status %d", status);
    spool_t *s = open_ok(&o);
    spool_stats_t st;
    spool_stats(s, &st);
    ck_assert_uint_eq(st.replay, 90);
    for (int i = 10; i < 100; i++)
        spool_ack(s, next_is(s, i));
    next_none(s);
    append_n(s, 100, 5, 100); /* and it goes on writing */
    for (int i = 100; i < 105; i++)
        spool_ack(s, next_is(s, i));
    spool_tick(s);
    spool_close(s);
    reopen_replays(&o, 0);
}
END_TEST

START_TEST(test_torn_tail)
{
    spool_opts_t o = opts(1 << 30, 16 << 20);
    spool_t *s = open_ok(&o);
    append_n(s, 0, 50, 100);
    spool_close(s); /* nothing acked: all 50 are replayed */
    char seg[600];
    newest_segment(seg, sizeof(seg), true);
    struct stat sb;
    ck_assert_int_eq(stat(seg, &sb), 0);
    ck_assert_int_eq(truncate(seg, sb.st_size - 5), 0);
    s = open_ok(&o);
    spool_stats_t st;
    spool_stats(s, &st);
    ck_assert_uint_eq(st.corrupt, 1);
    ck_assert_uint_eq(st.replay, 49);
    for (int i = 0; i < 49; i++)
        next_is(s, i);
    next_none(s);
    spool_close(s);
}
END_TEST

START_TEST(test_flipped_byte)
{
    spool_opts_t o = opts(1 << 30, 16 << 20);
    spool_t *s = open_ok(&o);
    append_n(s, 0, 50, 100);
    spool_close(s);
    char seg[600];
    newest_segment(seg, sizeof(seg), true);
    struct stat sb;
    ck_assert_int_eq(stat(seg, &sb), 0);
    /* A byte of record 20's value padding (records differ in size: find it). */
    FILE *f = fopen(seg, "r+b");
    ck_assert_ptr_nonnull(f);
    size_t size = (size_t)sb.st_size;
    char *buf = malloc(size);
    ck_assert_uint_eq(fread(buf, 1, size, f), size);
    char *at = memmem(buf, size, "value-20 ", 9);
    ck_assert_ptr_nonnull(at);
    char *start = NULL, *end = NULL; /* record 20: the last "MKBS" before AT, the next after */
    for (char *p = buf; p && p < at; p = memmem(p + 1, size - (size_t)(p + 1 - buf), "MKBS", 4))
        start = p;
    end = memmem(at, size - (size_t)(at - buf), "MKBS", 4);
    ck_assert_ptr_nonnull(start);
    ck_assert_ptr_nonnull(end);
    long rec = end - start;
    ck_assert_int_eq(fseek(f, (at - buf) + 20, SEEK_SET), 0);
    fputc(at[20] ^ 0x20, f);
    fclose(f);
    free(buf);
    s = open_ok(&o);
    spool_stats_t st;
    spool_stats(s, &st);
    ck_assert_uint_eq(st.corrupt, 1);
    ck_assert_uint_eq(st.corrupt_bytes, (uint64_t)rec);
    ck_assert_uint_eq(st.replay, 49);
    for (int i = 0; i < 50; i++)
        if (i != 20)
            next_is(s, i);
    next_none(s);
    spool_close(s);
}
END_TEST

/* Record I of BUF (a segment, SIZE bytes) as written by append_n: the
 * start of its "MKBS" header. */
static unsigned char *record_at(unsigned char *buf, size_t size, int i)
{
    unsigned char *p = buf;
    for (int k = 0; k < i; k++) {
        uint32_t len;
        memcpy(&len, p + 4, 4);
        p += 12 + len;
        ck_assert(p + 12 <= buf + size);
    }
    ck_assert(memcmp(p, "MKBS", 4) == 0);
    return p;
}

/* Its checksum made right again after an edit. */
static void record_recrc(unsigned char *rec)
{
    uint32_t len, c;
    memcpy(&len, rec + 4, 4);
    c = (uint32_t)crc32(crc32(0L, Z_NULL, 0), rec + 12, len);
    memcpy(rec + 8, &c, 4);
}

/* Found by fuzz_spool: records whose checksum is right but whose body is not
 * what the writer makes (written by someone else) were handed to the
 * sender: a topic or header name without its NUL (strlen() then ran past the
 * record), a key length without a key. They are skipped as damaged. */
START_TEST(test_valid_crc_malformed_body)
{
    spool_opts_t o = opts(1 << 30, 16 << 20);
    spool_t *s = open_ok(&o);
    append_n(s, 1, 4, 0); /* records 1..4: no profile, a key, two headers */
    spool_close(s);
    char seg[600];
    newest_segment(seg, sizeof(seg), true);
    FILE *f = fopen(seg, "r+b");
    ck_assert_ptr_nonnull(f);
    unsigned char buf[4096];
    size_t size = fread(buf, 1, sizeof(buf), f);
    ck_assert_uint_gt(size, 0);
    /* body: 32 fixed bytes, profile "" NUL, topic "t.one" NUL, key, value, headers */
    unsigned char *r = record_at(buf, size, 1); /* record 2: the topic's NUL */
    ck_assert_int_eq(r[12 + 32 + 1 + 5], 0);
    r[12 + 32 + 1 + 5] = 'X';
    record_recrc(r);
    r = record_at(buf, size, 2); /* record 3: a key length, the key flag off */
    ck_assert_int_eq(r[12 + 1], 2);
    r[12 + 1] = 0;
    record_recrc(r);
    r = record_at(buf, size, 0); /* record 1: header name "a" without its NUL */
    unsigned char *h = (unsigned char *)memmem(r, 200, "h1", 2);
    ck_assert_ptr_nonnull(h);
    ck_assert(memcmp(h - 8, "\001\000\002\000\000\000a\000", 8) == 0);
    h[-1] = 'X';
    record_recrc(r);
    ck_assert_int_eq(fseek(f, 0, SEEK_SET), 0);
    ck_assert_uint_eq(fwrite(buf, 1, size, f), size);
    fclose(f);
    s = open_ok(&o);
    next_is(s, 4);
    next_none(s);
    spool_close(s);
}
END_TEST

/* Found by fuzz_spool: a segment below the ack mark at start (a crash
 * between writing the mark and deleting it) was subtracted from the bytes
 * on disk before they were counted: the count wrapped, so the spool was
 * full for good and every commit returned MKB_ERR_RETRY. */
START_TEST(test_delete_below_mark_at_open)
{
    spool_opts_t o = opts(1 << 20, 16 << 20);
    spool_t *s = open_ok(&o);
    spool_close(s);
    s = open_ok(&o); /* segment 2 */
    append_n(s, 0, 3, 10);
    for (int i = 0; i < 3; i++)
        spool_ack(s, next_is(s, i));
    spool_close(s); /* the mark: in segment 2 */
    char seg[600];
    snprintf(seg, sizeof(seg), "%s/0000000000000001.seg", dir);
    FILE *f = fopen(seg, "wb");
    ck_assert_ptr_nonnull(f);
    static char junk[64 << 10]; /* more than what is left on disk */
    ck_assert_uint_eq(fwrite(junk, 1, sizeof(junk), f), sizeof(junk));
    fclose(f);
    s = open_ok(&o);
    ck_assert_int_ne(access(seg, F_OK), 0); /* deleted */
    spool_stats_t st;
    spool_stats(s, &st);
    uint64_t on_disk = 0; /* what the segment files hold */
    DIR *d = opendir(dir);
    struct dirent *e;
    while ((e = readdir(d))) {
        struct stat sb;
        if (strstr(e->d_name, ".seg") && fstatat(dirfd(d), e->d_name, &sb, 0) == 0)
            on_disk += (uint64_t)sb.st_size;
    }
    closedir(d);
    ck_assert_uint_eq(st.bytes, on_disk);
    ck_assert(!spool_full(s));
    append_n(s, 3, 1, 10); /* commits */
    next_is(s, 3);
    spool_close(s);
}
END_TEST

static size_t count_segments(void)
{
    DIR *d = opendir(dir);
    size_t n = 0;
    struct dirent *e;
    while ((e = readdir(d)))
        n += strstr(e->d_name, ".seg") != NULL;
    closedir(d);
    return n;
}

START_TEST(test_segments_roll_and_go)
{
    spool_opts_t o = opts(1 << 30, 8192);
    spool_t *s = open_ok(&o);
    append_n(s, 0, 200, 200); /* ~45 KB: six segments or so */
    ck_assert_uint_ge(count_segments(), 5);
    uint64_t t[200];
    for (int i = 0; i < 200; i++)
        t[i] = next_is(s, i);
    for (int i = 199; i >= 100; i--) /* out of order: nothing can go yet */
        spool_ack(s, t[i]);
    spool_tick(s);
    ck_assert_uint_ge(count_segments(), 5);
    for (int i = 0; i < 100; i++)
        spool_ack(s, t[i]);
    spool_tick(s);
    ck_assert_uint_eq(count_segments(), 1);
    spool_stats_t st;
    spool_stats(s, &st);
    ck_assert_uint_eq(st.segments, 1);
    spool_close(s);
}
END_TEST

START_TEST(test_block_when_full)
{
    spool_opts_t o = opts(16384, 8192);
    spool_t *s = open_ok(&o);
    char err[256];
    int written = 0, rc = MKB_OK;
    for (; written < 1000; written++) {
        char v[200];
        memset(v, 'y', sizeof(v));
        record_t r = {.topic = "t", .value = v, .value_len = sizeof(v)};
        ck_assert_int_eq(spool_append(s, &r), MKB_OK);
        if ((rc = spool_commit(s, err, sizeof(err))) != MKB_OK)
            break;
    }
    ck_assert_int_eq(rc, MKB_ERR_RETRY);
    ck_assert(spool_full(s));
    ck_assert_int_gt(written, 50);
    ck_assert_int_lt(written, 100);
    /* Kafka takes them: the spool empties and takes the pending record. */
    record_t r;
    uint64_t t;
    while (spool_next(s, &r, &t) == MKB_OK)
        spool_ack(s, t);
    spool_tick(s);
    ck_assert(!spool_full(s));
    ck_assert_int_eq(spool_commit(s, err, sizeof(err)), MKB_OK);
    spool_close(s);
}
END_TEST

START_TEST(test_drop_oldest)
{
    spool_opts_t o = opts(16384, 8192);
    o.on_full = SPOOL_FULL_DROP_OLDEST;
    spool_t *s = open_ok(&o);
    append_n(s, 0, 300, 200); /* never blocks */
    record_t r;
    uint64_t t;
    int got = 0, first = -1;
    while (spool_next(s, &r, &t) == MKB_OK) {
        if (first < 0)
            first = atoi((const char *)r.value + 6);
        got++;
        spool_ack(s, t);
    }
    spool_stats_t st;
    spool_stats(s, &st);
    ck_assert_uint_gt(st.dropped, 0);
    ck_assert_uint_eq(st.dropped + (uint64_t)got, 300);
    ck_assert_int_eq(first, (int)st.dropped); /* the oldest went, in order */
    spool_close(s);
}
END_TEST

START_TEST(test_unusable_dir)
{
    char file[300];
    snprintf(file, sizeof(file), "%s/plain-file", dir);
    FILE *f = fopen(file, "w");
    ck_assert_ptr_nonnull(f);
    fclose(f);
    char sub[400];
    snprintf(sub, sizeof(sub), "%s/spool", file);
    spool_opts_t o = opts(1 << 30, 16 << 20);
    o.dir = sub;
    spool_t *s = NULL;
    char err[512] = "";
    ck_assert_int_eq(spool_open(&o, &s, err, sizeof(err)), MKB_ERR_IO);
    ck_assert_msg(strstr(err, sub) && strstr(err, "Not a directory"), "%s", err);
    /* A second bridge on a spool in use is refused. */
    o = opts(1 << 30, 16 << 20);
    spool_t *a = open_ok(&o);
    ck_assert_int_eq(spool_open(&o, &s, err, sizeof(err)), MKB_ERR_IO);
    ck_assert_msg(strstr(err, "in use"), "%s", err);
    spool_close(a);
}
END_TEST

/* A record that says it has key (or value) bytes but no pointer to them is
 * refused, not copied from NULL (found by clang-tidy's analyzer). */
START_TEST(test_null_with_length)
{
    spool_opts_t o = opts(1 << 30, 16 << 20);
    spool_t *s = open_ok(&o);
    record_t r = {.route = "r", .topic = "t.one", .key = NULL, .key_len = 5,
                         .value = "v", .value_len = 1};
    ck_assert_int_eq(spool_append(s, &r), MKB_ERR_INVAL);
    r = (record_t){.route = "r", .topic = "t.one", .value = NULL, .value_len = 3};
    ck_assert_int_eq(spool_append(s, &r), MKB_ERR_INVAL);
    spool_stats_t st;
    spool_stats(s, &st);
    ck_assert_uint_eq(st.appended, 0);
    spool_close(s);
}
END_TEST

/* A tombstone (NULL value) stays NULL through the journal, across a reopen;
 * an empty value stays an empty, non-NULL one (as journals written before
 * the null-value flag read). A null-value flag with value bytes is damage. */
START_TEST(test_null_value_roundtrip)
{
    spool_opts_t o = opts(1 << 30, 16 << 20);
    spool_t *s = open_ok(&o);
    char err[256];
    record_t r = {.route = "r", .topic = "t.one", .key = "k", .key_len = 1, .value = NULL};
    ck_assert_int_eq(spool_append(s, &r), MKB_OK);
    r.value = "";
    ck_assert_int_eq(spool_append(s, &r), MKB_OK);
    r.value = "v";
    r.value_len = 1;
    ck_assert_int_eq(spool_append(s, &r), MKB_OK);
    r.value = NULL;
    r.value_len = 0;
    ck_assert_int_eq(spool_append(s, &r), MKB_OK);
    ck_assert_int_eq(spool_commit(s, err, sizeof(err)), MKB_OK);
    spool_close(s);
    /* record 3 (value "v") gets the null-value flag: a body no writer makes */
    char seg[600];
    newest_segment(seg, sizeof(seg), true);
    FILE *f = fopen(seg, "r+b");
    ck_assert_ptr_nonnull(f);
    unsigned char buf[4096];
    size_t size = fread(buf, 1, sizeof(buf), f);
    unsigned char *rec = record_at(buf, size, 2);
    ck_assert_int_eq(rec[12 + 1], 2); /* flags: a key */
    rec[12 + 1] = 2 | 4;
    record_recrc(rec);
    ck_assert_int_eq(fseek(f, 0, SEEK_SET), 0);
    ck_assert_uint_eq(fwrite(buf, 1, size, f), size);
    fclose(f);
    s = open_ok(&o);
    record_t got;
    uint64_t t;
    ck_assert_int_eq(spool_next(s, &got, &t), MKB_OK);
    ck_assert_ptr_null(got.value);
    ck_assert_uint_eq(got.value_len, 0);
    ck_assert_uint_eq(got.key_len, 1);
    ck_assert_int_eq(spool_next(s, &got, &t), MKB_OK);
    ck_assert_ptr_nonnull(got.value);
    ck_assert_uint_eq(got.value_len, 0);
    ck_assert_int_eq(spool_next(s, &got, &t), MKB_OK); /* the damaged one is skipped */
    ck_assert_ptr_null(got.value);
    next_none(s);
    spool_close(s);
}
END_TEST

/* A file size limit stands in for a full disk: the write fails, the partial
 * record is taken back, and everything committed before it is intact. */
START_TEST(test_write_refused)
{
    spool_opts_t o = opts(1 << 30, 16 << 20);
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        signal(SIGXFSZ, SIG_IGN);
        struct rlimit rl = {20000, 20000};
        setrlimit(RLIMIT_FSIZE, &rl);
        spool_t *s = NULL;
        char err[256] = "";
        if (spool_open(&o, &s, err, sizeof(err)) != MKB_OK)
            _exit(3);
        int ok = 0, rc = MKB_OK;
        for (; ok < 1000; ok++) {
            char v[300];
            memset(v, 'z', sizeof(v));
            int vl = snprintf(v, sizeof(v), "value-%d", ok);
            v[vl] = ' ';
            record_t r = {.topic = "t.one", .value = v, .value_len = sizeof(v)};
            spool_append(s, &r);
            if ((rc = spool_commit(s, err, sizeof(err))) != MKB_OK)
                break;
        }
        /* Retrying keeps failing, and changes nothing on disk. */
        int again = spool_commit(s, err, sizeof(err));
        spool_stats_t st;
        spool_stats(s, &st);
        bool good = rc == MKB_ERR_IO && again == MKB_ERR_IO && strstr(err, "File too large") &&
                    st.write_errors == 2 && ok > 10;
        spool_close(s);
        _exit(good ? ok : 250);
    }
    int status;
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    ck_assert(WIFEXITED(status));
    int ok = WEXITSTATUS(status);
    ck_assert_msg(ok > 10 && ok < 250, "child status %d", ok);
    spool_t *s = open_ok(&o);
    spool_stats_t st;
    spool_stats(s, &st);
    ck_assert_uint_eq(st.corrupt, 0); /* the partial write was taken back */
    ck_assert_uint_eq(st.replay, (uint64_t)ok);
    spool_close(s);
}
END_TEST

/* Appends 300-byte records from I on until the disk refuses one: returns I
 * of the refused one (left pending). */
static int fill_disk(spool_t *s, int i, char *err, size_t err_size)
{
    for (;; i++) {
        char v[300];
        memset(v, 'd', sizeof(v));
        int vl = snprintf(v, sizeof(v), "value-%d", i);
        v[vl] = ' ';
        record_t r = {.topic = "t.one", .value = v, .value_len = sizeof(v)};
        ck_assert_int_eq(spool_append(s, &r), MKB_OK);
        int rc = spool_commit(s, err, err_size);
        if (rc != MKB_OK) {
            ck_assert_int_eq(rc, MKB_ERR_IO);
            ck_assert_msg(strstr(err, "No space left on device"), "%s", err);
            return i;
        }
    }
}

/* Reads and acknowledges everything readable; the number of records. */
static int deliver_all(spool_t *s, char *last_id)
{
    record_t r;
    uint64_t t;
    int n = 0;
    while (spool_next(s, &r, &t) == MKB_OK) {
        spool_ack(s, t);
        snprintf(last_id, SPOOL_ID_LEN, "%s", r.id);
        n++;
    }
    spool_tick(s);
    return n;
}

/* The segment number in a record id "<spool id>-<segment>-<offset>". */
static unsigned long id_segment(const char *id)
{
    const char *p = strchr(id, '-');
    ck_assert_ptr_nonnull(p);
    return strtoul(p + 1, NULL, 10);
}

/* A disk smaller than one segment (issue 15): it fills while Kafka is away;
 * once everything journaled is delivered, the space comes back and the
 * pending batch is written, with no restart. The full segment was closed
 * when the disk filled, so it can be deleted; ids are not reused. */
START_TEST(test_disk_full_recovers)
{
    spool_opts_t o = opts(1 << 30, 16 << 20);
    spool_t *s = open_ok(&o);
    fake_cap = 100000;
    char err[256], last[SPOOL_ID_LEN] = "";
    int refused = fill_disk(s, 0, err, sizeof(err));
    ck_assert_int_gt(refused, 200);
    /* Still full while nothing is delivered: the pending batch waits. */
    ck_assert_int_eq(spool_commit(s, err, sizeof(err)), MKB_ERR_IO);
    ck_assert_int_eq(spool_commit(s, err, sizeof(err)), MKB_ERR_IO);
    ck_assert_uint_eq(count_segments(), 2); /* the full one, and one new empty one */
    ck_assert_int_eq(deliver_all(s, last), refused);
    unsigned long full_seg = id_segment(last);
    /* Delivered: the full segment is deleted and the batch fits. */
    ck_assert_uint_eq(count_segments(), 1);
    ck_assert_int_eq(spool_commit(s, err, sizeof(err)), MKB_OK);
    spool_stats_t st;
    spool_stats(s, &st);
    ck_assert_uint_eq(st.appended, (uint64_t)refused + 1);
    ck_assert_uint_eq(st.segments, 1);
    ck_assert_uint_eq(st.write_errors, 3);
    /* Again: fill, deliver, write. */
    int refused2 = fill_disk(s, refused + 1, err, sizeof(err));
    ck_assert_int_gt(refused2 - refused, 200);
    ck_assert_int_eq(deliver_all(s, last), refused2 - refused);
    ck_assert_uint_gt(id_segment(last), full_seg);
    ck_assert_int_eq(spool_commit(s, err, sizeof(err)), MKB_OK);
    fake_cap = -1;
    spool_close(s);
    /* The ack mark says everything but the last record was delivered. */
    s = open_ok(&o);
    spool_stats(s, &st);
    ck_assert_uint_eq(st.replay, 1);
    record_t r;
    uint64_t t;
    ck_assert_int_eq(spool_next(s, &r, &t), MKB_OK);
    char want[32];
    snprintf(want, sizeof(want), "value-%d ", refused2);
    ck_assert(memcmp(r.value, want, strlen(want)) == 0);
    ck_assert_uint_gt(id_segment(r.id), id_segment(last));
    next_none(s);
    spool_close(s);
}
END_TEST

/* The disk fills with records not yet delivered, and they are delivered
 * one half at a time: the space comes back as soon as the full segment is
 * wholly delivered, not before. */
START_TEST(test_disk_full_partial_delivery)
{
    spool_opts_t o = opts(1 << 30, 16 << 20);
    spool_t *s = open_ok(&o);
    fake_cap = 60000;
    char err[256];
    int refused = fill_disk(s, 0, err, sizeof(err));
    record_t r;
    uint64_t t[1000] = {0};
    ck_assert_int_lt(refused, 1000);
    for (int i = 0; i < refused; i++)
        ck_assert_int_eq(spool_next(s, &r, &t[i]), MKB_OK);
    next_none(s); /* the sender asks for more, as it does every 100 ms */
    for (int i = 0; i < refused / 2; i++)
        spool_ack(s, t[i]);
    spool_tick(s);
    ck_assert_int_eq(spool_commit(s, err, sizeof(err)), MKB_ERR_IO);
    for (int i = refused / 2; i < refused; i++)
        spool_ack(s, t[i]);
    spool_tick(s);
    ck_assert_int_eq(spool_commit(s, err, sizeof(err)), MKB_OK);
    ck_assert_int_eq(spool_next(s, &r, &t[0]), MKB_OK);
    char want[32];
    snprintf(want, sizeof(want), "value-%d ", refused);
    ck_assert(memcmp(r.value, want, strlen(want)) == 0);
    spool_close(s);
}
END_TEST

/* The segment size is fitted at open: at most half of max_bytes and a
 * quarter of what the file system has for the spool, never below 64 KiB
 * (or the configured size, if smaller). */
START_TEST(test_segment_fits_the_disk)
{
    spool_stats_t st;
    spool_opts_t o = opts(1 << 30, 16 << 20);
    fake_vfs = true;
    fake_cap = 8 << 20; /* an 8 MiB disk */
    spool_t *s = open_ok(&o);
    spool_stats(s, &st);
    ck_assert_uint_eq(st.segment_bytes, 2 << 20);
    spool_close(s);
    fake_cap = 100000; /* tiny: the floor */
    s = open_ok(&o);
    spool_stats(s, &st);
    ck_assert_uint_eq(st.segment_bytes, 64 << 10);
    spool_close(s);
    o.segment_bytes = 8192; /* smaller than the floor: kept */
    s = open_ok(&o);
    spool_stats(s, &st);
    ck_assert_uint_eq(st.segment_bytes, 8192);
    spool_close(s);
    fake_cap = -1;
    o = opts(4 << 20, 16 << 20); /* half of max_bytes */
    s = open_ok(&o);
    spool_stats(s, &st);
    ck_assert_uint_eq(st.segment_bytes, 2 << 20);
    spool_close(s);
    /* A 1 MiB disk: segments of 256 KiB roll normally and, delivered, free
     * the disk for more; then a fill and a recovery. */
    fake_cap = 1 << 20;
    o = opts(1 << 30, 16 << 20);
    s = open_ok(&o);
    spool_stats(s, &st);
    ck_assert_uint_eq(st.segment_bytes, 256 << 10);
    char err[256], last[SPOOL_ID_LEN];
    int refused = fill_disk(s, 0, err, sizeof(err));
    ck_assert_uint_ge(count_segments(), 4);
    ck_assert_int_eq(deliver_all(s, last), refused);
    ck_assert_uint_eq(count_segments(), 1);
    ck_assert_int_eq(spool_commit(s, err, sizeof(err)), MKB_OK);
    spool_close(s);
}
END_TEST

int main(void)
{
    log_set_level(LOG_LVL_ERROR);
    Suite *s = suite_create("spool");
    TCase *tc = tcase_create("spool");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_roundtrip_and_ack);
    tcase_add_test(tc, test_crash_replays_from_the_mark);
    tcase_add_test(tc, test_messages_and_their_records);
    tcase_add_test(tc, test_message_refused);
    tcase_add_test(tc, test_torn_tail);
    tcase_add_test(tc, test_flipped_byte);
    tcase_add_test(tc, test_valid_crc_malformed_body);
    tcase_add_test(tc, test_delete_below_mark_at_open);
    tcase_add_test(tc, test_segments_roll_and_go);
    tcase_add_test(tc, test_block_when_full);
    tcase_add_test(tc, test_drop_oldest);
    tcase_add_test(tc, test_unusable_dir);
    tcase_add_test(tc, test_null_with_length);
    tcase_add_test(tc, test_write_refused);
    tcase_add_test(tc, test_disk_full_recovers);
    tcase_add_test(tc, test_disk_full_partial_delivery);
    tcase_add_test(tc, test_segment_fits_the_disk);
    tcase_add_test(tc, test_null_value_roundtrip);
    suite_add_tcase(s, tc);
    return check_run(s);
}
