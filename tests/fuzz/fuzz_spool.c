// SPDX-FileCopyrightText: 2026 The mqtt-kafka-bridge authors
// SPDX-License-Identifier: Apache-2.0
#define _GNU_SOURCE /* memmem */
/* libFuzzer target: the spool's recovery and record decoding on hostile
 * segment files (a damaged disk, or anyone who can write the spool
 * directory). The input becomes up to three segment files and an ack file in
 * a scratch directory; the spool opens (recovers) it, the reader drains it,
 * acknowledges, closes, and opens it again.
 *
 * Input: u8 flags, u8 ack segment, u16 ack offset (little endian), then the
 * segment files 1, 2, 3 separated by "\nSEG\n".
 *   flags bit 0: give every record-shaped span ("MKBS", a length that fits)
 *                its correct CRC, so the mutations reach the body decoder
 *                instead of stopping at the checksum
 *         bit 1: write an ack file (a valid slot) with that segment/offset
 *         bit 2: acknowledge every other record instead of all
 *
 * Checks, besides ASan/UBSan: every record handed out is one a strict
 * decoder (below, from the format in spool.c) accepts at the offset its id
 * names, with the same fields (its strings NUL-terminated inside the
 * record, its lengths inside the record); records come in journal order; a
 * record appended afterwards reads back byte for byte; after a reopen the
 * reader starts at the first record not acknowledged. */
#include "err.h"
#include "log.h"
#include "spool.h"

#include <dirent.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#define REC_MAGIC 0x53424b4du
#define REC_HEAD 12
#define BODY_FIXED 32
#define NSEG 3

static char dir[256];

static void fail(const char *what)
{
    fprintf(stderr, "fuzz_spool: %s\n", what);
    abort();
}

static uint32_t get32(const unsigned char *p)
{
    uint32_t v;
    memcpy(&v, p, 4);
    return v;
}

static uint16_t get16(const unsigned char *p)
{
    uint16_t v;
    memcpy(&v, p, 2);
    return v;
}

static void clean_dir(void)
{
    DIR *d = opendir(dir);
    if (!d)
        fail("cannot list the scratch directory");
    struct dirent *e;
    while ((e = readdir(d)))
        if (e->d_name[0] != '.' && strcmp(e->d_name, "id") != 0)
            unlinkat(dirfd(d), e->d_name, 0);
    closedir(d);
}

static void write_file(const char *name, const void *p, size_t n)
{
    char path[512];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (fd < 0 || (n && write(fd, p, n) != (ssize_t)n))
        fail("cannot write a scratch file");
    close(fd);
}

/* Gives every record-shaped span of SEG its CRC (see flags bit 0). */
static void fix_crcs(unsigned char *seg, size_t n)
{
    size_t off = 0;
    while (off + REC_HEAD + BODY_FIXED <= n) {
        uint32_t len = get32(seg + off + 4);
        if (get32(seg + off) != REC_MAGIC || len < BODY_FIXED || len > n - off - REC_HEAD) {
            off++;
            continue;
        }
        uint32_t c = (uint32_t)crc32(crc32(0L, Z_NULL, 0), seg + off + REC_HEAD, len);
        memcpy(seg + off + 8, &c, 4);
        off += REC_HEAD + len;
    }
}

/* The strict decoder: the record at OFF of SEG (N bytes) as the writer
 * lays it out. False if it is not one. */
typedef struct {
    const char *profile, *topic;
    const unsigned char *key, *value;
    uint32_t key_len, value_len;
    int64_t ts;
    bool dead, has_key;
    uint16_t nh;
    const unsigned char *hdrs; /* first header */
} ref_t;

static bool ref_decode(const unsigned char *seg, size_t n, uint64_t off, ref_t *r)
{
    if (off > n || n - off < REC_HEAD + BODY_FIXED || get32(seg + off) != REC_MAGIC)
        return false;
    const unsigned char *p = seg + off, *b = p + REC_HEAD;
    uint32_t len = get32(p + 4);
    if (len < BODY_FIXED || len > n - off - REC_HEAD)
        return false;
    if ((uint32_t)crc32(crc32(0L, Z_NULL, 0), b, len) != get32(p + 8))
        return false;
    const unsigned char *end = b + len, *q = b + BODY_FIXED;
    uint8_t flags = b[1], plen = b[2];
    uint16_t tlen = get16(b + 12);
    r->nh = get16(b + 14);
    r->key_len = get32(b + 16);
    r->value_len = get32(b + 20);
    memcpy(&r->ts, b + 4, 8);
    r->dead = flags & 1u;
    r->has_key = flags & 2u;
    size_t need = (size_t)plen + 1 + tlen + 1 + (size_t)r->key_len + r->value_len;
    if ((size_t)(end - q) < need || q[plen] != 0 || q[plen + 1 + tlen] != 0)
        return false;
    if (!r->has_key && r->key_len)
        return false;
    r->profile = plen ? (const char *)q : NULL;
    r->topic = (const char *)q + plen + 1;
    q += plen + 1 + tlen + 1;
    r->key = q;
    r->value = q + r->key_len;
    q += r->key_len + r->value_len;
    r->hdrs = q;
    for (uint16_t i = 0; i < r->nh; i++) {
        if (end - q < 6)
            return false;
        uint16_t nlen = get16(q);
        uint32_t vlen = get32(q + 2);
        if ((size_t)(end - q) < 6 + (size_t)nlen + 1 + vlen || q[6 + nlen] != 0)
            return false;
        q += 6 + nlen + 1 + vlen;
    }
    return true;
}

static bool bytes_eq(const void *a, const void *b, size_t n)
{
    return n == 0 || memcmp(a, b, n) == 0;
}

/* REC, handed out as the record at OFF of SEG, must be that record. */
static void check_record(const record_t *rec, const unsigned char *seg, size_t n,
                         uint64_t off)
{
    ref_t r;
    if (!ref_decode(seg, n, off, &r))
        fail("handed out a record the strict decoder rejects");
    if (strcmp(rec->topic, r.topic) != 0 || !rec->profile != !r.profile ||
        (r.profile && strcmp(rec->profile, r.profile) != 0) || rec->timestamp_ms != r.ts ||
        rec->dead_letter != r.dead || !rec->key != !r.has_key || rec->key_len != r.key_len ||
        (rec->key && !bytes_eq(rec->key, r.key, r.key_len)) || rec->value_len != r.value_len ||
        !bytes_eq(rec->value, r.value, r.value_len) || rec->nheaders != r.nh)
        fail("a record's fields differ from the strict decoder's");
    const unsigned char *q = r.hdrs;
    for (size_t i = 0; i < rec->nheaders; i++) {
        uint16_t nlen = get16(q);
        uint32_t vlen = get32(q + 2);
        if (strcmp(rec->headers[i].name, (const char *)q + 6) != 0 ||
            rec->headers[i].value_len != vlen ||
            !bytes_eq(rec->headers[i].value, q + 6 + nlen + 1, vlen))
            fail("a record's headers differ from the strict decoder's");
        q += 6 + nlen + 1 + vlen;
    }
}

static spool_t *open_spool(void)
{
    spool_opts_t o = {dir, UINT64_MAX, 1u << 20, SPOOL_FSYNC_NEVER, 1000, SPOOL_FULL_BLOCK};
    spool_t *s = NULL;
    char err[512];
    if (spool_open(&o, &s, err, sizeof(err)) != MKB_OK) {
        fprintf(stderr, "fuzz_spool: spool_open: %s\n", err);
        abort();
    }
    return s;
}

static void parse_id(const char *id, uint32_t *seg, uint64_t *off)
{
    uint64_t sid;
    if (sscanf(id, "%16" SCNx64 "-%" SCNu32 "-%" SCNu64, &sid, seg, off) != 3)
        fail("a record id that does not parse");
}

static void remove_dir(void)
{
    clean_dir();
    char path[300];
    snprintf(path, sizeof(path), "%s/id", dir);
    unlink(path);
    rmdir(dir);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    log_set_level(LOG_LVL_ERROR); /* damage is expected here; warnings would flood */
    const char *tmp = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
    snprintf(dir, sizeof(dir), "%s/mkb-fuzz-spool.XXXXXX", tmp);
    if (!mkdtemp(dir))
        fail("mkdtemp");
    atexit(remove_dir); /* libFuzzer exits with exit() at -max_total_time */
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 4)
        return 0;
    const size_t total = size;
    uint8_t flags = data[0];
    uint32_t ack_seg = 1u + data[1] % (NSEG + 1);
    uint64_t ack_off = (uint64_t)data[2] | (uint64_t)data[3] << 8;
    data += 4;
    size -= 4;

    /* The segments, each in its own exact-size heap copy (ASan-checked). */
    unsigned char *seg[NSEG] = {0};
    size_t seglen[NSEG] = {0};
    for (int i = 0; i < NSEG && (size || i == 0); i++) {
        const uint8_t *sep = memmem(data, size, "\nSEG\n", 5);
        size_t n = sep ? (size_t)(sep - data) : size;
        seg[i] = malloc(n ? n : 1);
        if (n)
            memcpy(seg[i], data, n);
        seglen[i] = n;
        if (flags & 1u)
            fix_crcs(seg[i], n);
        char name[64];
        snprintf(name, sizeof(name), "%016x.seg", i + 1);
        write_file(name, seg[i], n);
        if (!sep)
            break;
        data = sep + 5;
        size -= n + 5;
    }
    if (flags & 2u) {
        unsigned char slot[32] = {0};
        uint32_t magic = 0x4b41424du;
        uint64_t gen = 1;
        memcpy(slot, &magic, 4);
        memcpy(slot + 4, &gen, 8);
        memcpy(slot + 12, &ack_seg, 4);
        memcpy(slot + 16, &ack_off, 8);
        uint32_t c = (uint32_t)crc32(crc32(0L, Z_NULL, 0), slot, 24);
        memcpy(slot + 24, &c, 4);
        write_file("ack", slot, sizeof(slot)); /* slot 0; slot 1 absent */
    }

    spool_t *s = open_spool();
    record_t rec;
    uint64_t ticket, first_unacked = UINT64_MAX;
    uint32_t last_seg = 0, rseg, want_seg = 0;
    uint64_t last_off = 0, roff, want_off = 0;
    size_t handed = 0;
    int rc;
    while ((rc = spool_next(s, &rec, &ticket)) == MKB_OK) {
        parse_id(rec.id, &rseg, &roff);
        if (rseg < 1 || rseg > NSEG || !seg[rseg - 1])
            fail("a record from a segment that was not written");
        if (handed && (rseg < last_seg || (rseg == last_seg && roff <= last_off)))
            fail("records out of journal order");
        check_record(&rec, seg[rseg - 1], seglen[rseg - 1], roff);
        last_seg = rseg;
        last_off = roff;
        if ((flags & 4u) && handed % 2 == 1) {
            if (first_unacked == UINT64_MAX) {
                first_unacked = ticket;
                want_seg = rseg;
                want_off = roff;
            }
        } else {
            spool_ack(s, ticket);
        }
        handed++;
        if (handed > total / (REC_HEAD + BODY_FIXED))
            fail("more records than the input could hold");
    }
    if (rc != MKB_ERR_RETRY)
        fail("spool_next failed on a drained spool");

    /* A record written now reads back byte for byte. */
    record_header_t h = {"h", "v\0w", 3};
    record_t mine = {.route = "r", .profile = "p", .topic = "t", .key = "k", .key_len = 1,
                            .value = "value", .value_len = 5, .headers = &h, .nheaders = 1,
                            .timestamp_ms = 42, .recv_ms = 7};
    char err[256];
    if (spool_append(s, &mine) != MKB_OK)
        fail("cannot append after recovery");
    if ((rc = spool_commit(s, err, sizeof(err))) != MKB_OK) {
        fprintf(stderr, "fuzz_spool: spool_commit: %d %s\n", rc, err);
        abort();
    }
    if (spool_next(s, &rec, &ticket) != MKB_OK || strcmp(rec.topic, "t") != 0 ||
        !rec.profile || strcmp(rec.profile, "p") != 0 || rec.key_len != 1 || !rec.key ||
        memcmp(rec.key, "k", 1) != 0 || rec.value_len != 5 || memcmp(rec.value, "value", 5) != 0 ||
        rec.nheaders != 1 || strcmp(rec.headers[0].name, "h") != 0 ||
        rec.headers[0].value_len != 3 || memcmp(rec.headers[0].value, "v\0w", 3) != 0 ||
        rec.timestamp_ms != 42 || rec.recv_ms != 7)
        fail("a record appended after recovery does not read back");
    spool_ack(s, ticket);
    spool_tick(s);
    spool_close(s);

    /* Reopened: the reader starts at the first record not acknowledged
     * (nothing at all when everything was). */
    s = open_spool();
    rc = spool_next(s, &rec, &ticket);
    if (first_unacked == UINT64_MAX) {
        if (rc != MKB_ERR_RETRY)
            fail("a record came again after every record was acknowledged");
    } else {
        if (rc != MKB_OK)
            fail("the first unacknowledged record did not come again");
        parse_id(rec.id, &rseg, &roff);
        if (rseg != want_seg || roff != want_off)
            fail("the replay does not start at the first unacknowledged record");
        check_record(&rec, seg[rseg - 1], seglen[rseg - 1], roff);
    }
    spool_close(s);

    for (int i = 0; i < NSEG; i++)
        free(seg[i]);
    clean_dir();
    return 0;
}
