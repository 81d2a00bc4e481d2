// SPDX-FileCopyrightText: 2026 The mqtt-kafka-bridge authors
// SPDX-License-Identifier: Apache-2.0
#include "spool.h"

#include "clock.h"
#include "err.h"
#include "log.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

/* On disk, little endian as the machine writes it (a spool is not moved
 * between machines of different byte order):
 *   u32 magic, u32 body length, u32 crc32(body), body:
 *   u8 version, u8 flags, u8 profile length, u8 0,
 *   i64 timestamp ms, u16 topic length, u16 header count,
 *   u32 key length, u32 value length, i64 MQTT receive time (ms since the epoch),
 *   profile NUL, topic NUL, key, value (none with flag NULL_VALUE),
 *   per header: u16 name length, u32 value length, name NUL, value. */
/* A message entry (the MQTT message as received; the sender maps it) has
 * the same 12-byte header and a body of
 *   u8 version 2, u8 flags (retained, dup, content type), u8 qos, u8 0,
 *   i64 MQTT receive time, u16 topic length, u16 user property count,
 *   u32 payload length, u32 content type length, u32 0, u32 0,
 *   topic NUL, payload, content type,
 *   per user property: u16 key length, u32 value length, key, value. */
#define REC_MAGIC 0x53424b4du /* "MKBS" */
#define REC_HEAD 12
#define BODY_FIXED 32
#define REC_VERSION 1
#define FLAG_DEAD_LETTER 1u
#define FLAG_HAS_KEY 2u
#define FLAG_NULL_VALUE 4u /* a tombstone; journals written before it never set it */
#define MSG_VERSION 2
#define MFLAG_RETAINED 1u
#define MFLAG_DUP 2u
#define MFLAG_CONTENT_TYPE 4u
#define MAX_BODY (1u << 30)

#define ACK_MAGIC 0x4b41424du /* "MBAK" */
#define ACK_SLOT 32

/* The reader maps a segment with this much room past its size, so the
 * active segment can grow without a new mapping. */
#define MAP_SLACK (64u << 20)

/* An entry handed to the sender: acknowledged once it was passed
 * (spool_pass) and every record made of it was settled (spool_ack). */
typedef struct {
    uint32_t seg;
    uint64_t off;
    int64_t recv_ms;
    /* records sent under the ticket and not settled: spool_ack subtracts,
     * spool_pass adds how many were sent (an ack may come first) */
    int64_t pending;
    bool open; /* the sender still has the entry in hand */
    bool acked;
} ticket_t;

typedef struct {
    uint32_t id;
    uint64_t records; /* of a closed segment; the active one counts in wrecs */
} seg_t;

struct spool {
    spool_opts_t o;
    char *dir;
    int dirfd, lockfd, ackfd;
    uint64_t spool_id;

    /* writer */
    int wfd;
    uint32_t wseg;
    uint64_t woff, wrecs;
    unsigned char *pend;
    size_t pend_len, pend_cap, pend_n;
    /* (segment << 32) | bytes written to it: what the reader may read */
    _Atomic uint64_t head;
    atomic_uint_fast64_t bytes;
    long long last_sync;
    atomic_bool dirty;

    /* segment ids on disk, ascending; lock */
    pthread_mutex_t lock;
    seg_t *segs;
    size_t nsegs, segs_cap;

    /* reader (position under lock: the ack mark reads it) */
    uint32_t rseg;
    uint64_t roff;
    int rfd;
    const unsigned char *map;
    size_t maplen;
    uint64_t rsize;       /* final size + 1 of a closed segment; 0: not known */
    uint32_t first_seg;   /* the first segment of this run: older ones are checked */
    uint64_t released;    /* pages below this were released (MADV_DONTNEED) */
    uint64_t rhanded;     /* entries taken from this segment; lock */
    atomic_bool rdropped; /* this segment was dropped (on_full: drop_oldest) */
    record_header_t *hdrs;
    size_t hdrs_cap;
    mkb_prop_t *props;
    size_t props_cap;
    char id[SPOOL_ID_LEN]; /* of the entry spool_peek returned last */
    uint64_t hand_ticket;  /* the entry in hand (peeked, not passed); 0: none */
    size_t hand_len;       /* its length */

    /* tickets handed out and not yet behind the ack mark; lock */
    ticket_t *ring;
    size_t ring_cap;
    uint64_t ring_head, ring_next; /* tickets [head, next); the first is 1 (0: none) */

    /* the persisted mark */
    uint32_t ack_seg;
    uint64_t ack_off, ack_gen;
    bool ack_dirty;

    /* wake-up of the reader */
    pthread_mutex_t wlock;
    pthread_cond_t wcond;
    atomic_int sleeping;
    uint64_t wait_handed; /* reader: s->handed at its last wait */
    long long busy_until; /* reader: poll instead of sleeping until then */

    atomic_uint_fast64_t appended, handed, acked, dropped, corrupt, corrupt_bytes, write_errors;
    uint64_t replay;
};

static void put32(unsigned char *p, uint32_t v)
{
    memcpy(p, &v, 4);
}
static void put16(unsigned char *p, uint16_t v)
{
    memcpy(p, &v, 2);
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

static uint32_t crc(const unsigned char *p, size_t n)
{
    uLong c = crc32(0L, Z_NULL, 0);
    while (n > 0) { /* zlib takes uInt lengths */
        uInt k = n > (1u << 30) ? (1u << 30) : (uInt)n;
        c = crc32(c, p, k);
        p += k;
        n -= k;
    }
    return (uint32_t)c;
}

static void seg_name(char *buf, size_t n, uint32_t id)
{
    snprintf(buf, n, "%016" PRIx32 ".seg", id);
}

/* ---- records ------------------------------------------------------------ */

/* Length of the valid record at P (AVAIL bytes readable), or 0. */
static size_t rec_valid(const unsigned char *p, uint64_t avail)
{
    if (avail < REC_HEAD + BODY_FIXED || get32(p) != REC_MAGIC)
        return 0;
    uint32_t len = get32(p + 4);
    if (len < BODY_FIXED || len > MAX_BODY || len > avail - REC_HEAD)
        return 0;
    if (crc(p + REC_HEAD, len) != get32(p + 8))
        return 0;
    return REC_HEAD + (size_t)len;
}

/* Length of the record at P as its header says, without the checksum. */
static size_t rec_peek(const unsigned char *p, uint64_t avail)
{
    if (avail < REC_HEAD + BODY_FIXED || get32(p) != REC_MAGIC)
        return 0;
    uint32_t len = get32(p + 4);
    return len < BODY_FIXED || len > avail - REC_HEAD ? 0 : REC_HEAD + (size_t)len;
}

/* Offset of the next valid record after damage at OFF, or LIMIT. */
static uint64_t resync(const unsigned char *base, uint64_t off, uint64_t limit)
{
    for (uint64_t o = off + 1; o + REC_HEAD + BODY_FIXED <= limit; o++) {
        const unsigned char *m = memchr(base + o, 'M', limit - o);
        if (!m)
            break;
        o = (uint64_t)(m - base);
        if (rec_valid(base + o, limit - o))
            return o;
    }
    return limit;
}

static int grow(void **p, size_t *cap, size_t need, size_t elem)
{
    if (need <= *cap)
        return MKB_OK;
    size_t n = *cap ? *cap : 16;
    while (n < need)
        n *= 2;
    void *q = realloc(*p, n * elem);
    if (!q)
        return MKB_ERR_NOMEM;
    *p = q;
    *cap = n;
    return MKB_OK;
}

/* Room for one more entry of BODY bytes in the pending batch: its body. */
static unsigned char *pend_reserve(spool_t *s, size_t body)
{
    if (body > MAX_BODY || grow((void **)&s->pend, &s->pend_cap, s->pend_len + REC_HEAD + body, 1))
        return NULL;
    return s->pend + s->pend_len + REC_HEAD;
}

/* Closes the entry pend_reserve made: header, checksum, counted. */
static void pend_seal(spool_t *s, size_t body)
{
    unsigned char *r = s->pend + s->pend_len;
    put32(r, REC_MAGIC);
    put32(r + 4, (uint32_t)body);
    put32(r + 8, crc(r + REC_HEAD, body));
    s->pend_len += REC_HEAD + body;
    s->pend_n++;
}

int spool_append(spool_t *s, const record_t *rec)
{
    size_t plen = rec->profile ? strlen(rec->profile) : 0;
    size_t tlen = strlen(rec->topic);
    if (plen > 255 || tlen > 65535 || rec->nheaders > 65535 || rec->key_len > UINT32_MAX ||
        rec->value_len > UINT32_MAX || (!rec->key && rec->key_len) ||
        (!rec->value && rec->value_len))
        return MKB_ERR_INVAL;
    size_t body = BODY_FIXED + plen + 1 + tlen + 1 + rec->key_len + rec->value_len;
    for (size_t i = 0; i < rec->nheaders; i++)
        body += 6 + strlen(rec->headers[i].name) + 1 + rec->headers[i].value_len;
    unsigned char *p = pend_reserve(s, body);
    if (!p)
        return body > MAX_BODY ? MKB_ERR_INVAL : MKB_ERR_NOMEM;
    p[0] = REC_VERSION;
    p[1] = (uint8_t)((rec->dead_letter ? FLAG_DEAD_LETTER : 0) | (rec->key ? FLAG_HAS_KEY : 0) |
                     (rec->value ? 0 : FLAG_NULL_VALUE));
    p[2] = (uint8_t)plen;
    p[3] = 0;
    memcpy(p + 4, &rec->timestamp_ms, 8);
    put16(p + 12, (uint16_t)tlen);
    put16(p + 14, (uint16_t)rec->nheaders);
    put32(p + 16, (uint32_t)rec->key_len);
    put32(p + 20, (uint32_t)rec->value_len);
    memcpy(p + 24, &rec->recv_ms, 8);
    unsigned char *q = p + BODY_FIXED;
    if (plen)
        memcpy(q, rec->profile, plen);
    q[plen] = 0;
    q += plen + 1;
    memcpy(q, rec->topic, tlen + 1);
    q += tlen + 1;
    if (rec->key_len)
        memcpy(q, rec->key, rec->key_len);
    q += rec->key_len;
    if (rec->value_len)
        memcpy(q, rec->value, rec->value_len);
    q += rec->value_len;
    for (size_t i = 0; i < rec->nheaders; i++) {
        size_t nlen = strlen(rec->headers[i].name);
        put16(q, (uint16_t)nlen);
        put32(q + 2, (uint32_t)rec->headers[i].value_len);
        memcpy(q + 6, rec->headers[i].name, nlen + 1);
        q += 6 + nlen + 1;
        if (rec->headers[i].value_len)
            memcpy(q, rec->headers[i].value, rec->headers[i].value_len);
        q += rec->headers[i].value_len;
    }
    pend_seal(s, body);
    return MKB_OK;
}

int spool_append_msg(spool_t *s, const mqtt_msg_t *m)
{
    if (m->topic_len > 65535 || m->nprops > 65535 || m->payload_len > UINT32_MAX ||
        m->content_type_len > UINT32_MAX || m->qos < 0 || m->qos > 2)
        return MKB_ERR_INVAL;
    size_t ctlen = m->content_type ? m->content_type_len : 0;
    size_t body = BODY_FIXED + m->topic_len + 1 + m->payload_len + ctlen;
    for (size_t i = 0; i < m->nprops; i++) {
        if (m->props[i].key_len > 65535 || m->props[i].value_len > UINT32_MAX)
            return MKB_ERR_INVAL;
        body += 6 + m->props[i].key_len + m->props[i].value_len;
    }
    unsigned char *p = pend_reserve(s, body);
    if (!p)
        return body > MAX_BODY ? MKB_ERR_INVAL : MKB_ERR_NOMEM;
    memset(p, 0, BODY_FIXED);
    p[0] = MSG_VERSION;
    p[1] = (uint8_t)((m->retained ? MFLAG_RETAINED : 0) | (m->dup ? MFLAG_DUP : 0) |
                     (m->content_type ? MFLAG_CONTENT_TYPE : 0));
    p[2] = (uint8_t)m->qos;
    memcpy(p + 4, &m->recv_ms, 8);
    put16(p + 12, (uint16_t)m->topic_len);
    put16(p + 14, (uint16_t)m->nprops);
    put32(p + 16, (uint32_t)m->payload_len);
    put32(p + 20, (uint32_t)ctlen);
    unsigned char *q = p + BODY_FIXED;
    memcpy(q, m->topic, m->topic_len);
    q[m->topic_len] = 0;
    q += m->topic_len + 1;
    if (m->payload_len)
        memcpy(q, m->payload, m->payload_len);
    q += m->payload_len;
    if (ctlen)
        memcpy(q, m->content_type, ctlen);
    q += ctlen;
    for (size_t i = 0; i < m->nprops; i++) {
        const mkb_prop_t *u = &m->props[i];
        put16(q, (uint16_t)u->key_len);
        put32(q + 2, (uint32_t)u->value_len);
        memcpy(q + 6, u->key, u->key_len);
        q += 6 + u->key_len;
        if (u->value_len)
            memcpy(q, u->value, u->value_len);
        q += u->value_len;
    }
    pend_seal(s, body);
    return MKB_OK;
}

/* Decodes the valid message entry at P into M (pointers into P). */
static int msg_decode(spool_t *s, const unsigned char *p, mqtt_msg_t *m)
{
    uint32_t len = get32(p + 4);
    const unsigned char *b = p + REC_HEAD, *end = b + len;
    memset(m, 0, sizeof(*m));
    uint8_t flags = b[1];
    m->qos = b[2];
    m->retained = flags & MFLAG_RETAINED;
    m->dup = flags & MFLAG_DUP;
    memcpy(&m->recv_ms, b + 4, 8);
    uint16_t tlen = get16(b + 12), np = get16(b + 14);
    uint32_t plen = get32(b + 16), ctlen = get32(b + 20);
    const unsigned char *q = b + BODY_FIXED;
    if ((size_t)(end - q) < (size_t)tlen + 1 + (size_t)plen + ctlen || q[tlen] != 0 || m->qos > 2)
        return MKB_ERR_INVAL;
    m->topic = (const char *)q;
    m->topic_len = tlen;
    q += tlen + 1;
    m->payload = q;
    m->payload_len = plen;
    q += plen;
    if (flags & MFLAG_CONTENT_TYPE) {
        m->content_type = (const char *)q;
        m->content_type_len = ctlen;
    }
    q += ctlen;
    if (grow((void **)&s->props, &s->props_cap, (size_t)np + 1, sizeof(*s->props)))
        return MKB_ERR_NOMEM;
    for (uint16_t i = 0; i < np; i++) {
        if (end - q < 6)
            return MKB_ERR_INVAL;
        uint16_t kl = get16(q);
        uint32_t vl = get32(q + 2);
        if ((size_t)(end - q) < 6 + (size_t)kl + vl)
            return MKB_ERR_INVAL;
        s->props[i] = (mkb_prop_t){(const char *)q + 6, kl, (const char *)q + 6 + kl, vl};
        q += 6 + (size_t)kl + vl;
    }
    m->props = np ? s->props : NULL;
    m->nprops = np;
    return MKB_OK;
}

/* Decodes the valid record at P into REC (pointers into P). */
static int rec_decode(spool_t *s, const unsigned char *p, record_t *rec)
{
    uint32_t len = get32(p + 4);
    const unsigned char *b = p + REC_HEAD, *end = b + len;
    memset(rec, 0, sizeof(*rec));
    uint8_t flags = b[1], plen = b[2];
    memcpy(&rec->timestamp_ms, b + 4, 8);
    uint16_t tlen = get16(b + 12), nh = get16(b + 14);
    uint32_t klen = get32(b + 16), vlen = get32(b + 20);
    memcpy(&rec->recv_ms, b + 24, 8);
    const unsigned char *q = b + BODY_FIXED;
    /* The checksum only says the bytes are as written, not who wrote them:
     * the strings must end inside the record (the sender strlen()s them),
     * and a key length needs a key. */
    if ((size_t)(end - q) < (size_t)plen + 1 + tlen + 1 + (size_t)klen + vlen || q[plen] != 0 ||
        q[plen + 1 + tlen] != 0 || (!(flags & FLAG_HAS_KEY) && klen) ||
        ((flags & FLAG_NULL_VALUE) && vlen))
        return MKB_ERR_INVAL;
    rec->profile = plen ? (const char *)q : NULL;
    q += plen + 1;
    rec->topic = (const char *)q;
    q += tlen + 1;
    rec->key = (flags & FLAG_HAS_KEY) ? q : NULL;
    rec->key_len = klen;
    q += klen;
    rec->value = (flags & FLAG_NULL_VALUE) ? NULL : q;
    rec->value_len = vlen;
    q += vlen;
    rec->dead_letter = flags & FLAG_DEAD_LETTER;
    if (grow((void **)&s->hdrs, &s->hdrs_cap, (size_t)nh + 1, sizeof(*s->hdrs)))
        return MKB_ERR_NOMEM;
    for (uint16_t i = 0; i < nh; i++) {
        if (end - q < 6)
            return MKB_ERR_INVAL;
        uint16_t nlen = get16(q);
        uint32_t hv = get32(q + 2);
        if ((size_t)(end - q) < 6 + (size_t)nlen + 1 + hv || q[6 + nlen] != 0)
            return MKB_ERR_INVAL;
        s->hdrs[i].name = (const char *)q + 6;
        s->hdrs[i].value = (const char *)q + 6 + nlen + 1;
        s->hdrs[i].value_len = hv;
        q += 6 + nlen + 1 + hv;
    }
    rec->headers = s->hdrs;
    rec->nheaders = nh;
    return MKB_OK;
}

/* ---- ack file ----------------------------------------------------------- */

static void ack_read(spool_t *s)
{
    unsigned char buf[2 * ACK_SLOT];
    ssize_t n = pread(s->ackfd, buf, sizeof(buf), 0);
    s->ack_seg = 0;
    s->ack_off = 0;
    s->ack_gen = 0;
    for (size_t i = 0; i < 2; i++) {
        const unsigned char *p = buf + i * ACK_SLOT;
        if (n < (ssize_t)((i + 1) * ACK_SLOT) || get32(p) != ACK_MAGIC ||
            crc(p, 24) != get32(p + 24))
            continue;
        uint64_t gen, off;
        memcpy(&gen, p + 4, 8);
        memcpy(&off, p + 16, 8);
        if (gen >= s->ack_gen) {
            s->ack_gen = gen;
            s->ack_seg = get32(p + 12);
            s->ack_off = off;
        }
    }
}

static int ack_write(spool_t *s, uint32_t seg, uint64_t off)
{
    unsigned char p[ACK_SLOT] = {0};
    uint64_t gen = s->ack_gen + 1;
    put32(p, ACK_MAGIC);
    memcpy(p + 4, &gen, 8);
    put32(p + 12, seg);
    memcpy(p + 16, &off, 8);
    put32(p + 24, crc(p, 24));
    if (pwrite(s->ackfd, p, ACK_SLOT, (off_t)((gen & 1) * ACK_SLOT)) != ACK_SLOT) {
        log_error("spool", "cannot write %s/ack: %s", s->dir, strerror(errno));
        return MKB_ERR_IO;
    }
    if (s->o.fsync == SPOOL_FSYNC_ALWAYS)
        fdatasync(s->ackfd);
    s->ack_gen = gen;
    s->ack_seg = seg;
    s->ack_off = off;
    return MKB_OK;
}

/* ---- segments ----------------------------------------------------------- */

static int seg_cmp(const void *a, const void *b)
{
    uint32_t x = ((const seg_t *)a)->id, y = ((const seg_t *)b)->id;
    return x < y ? -1 : x > y;
}

static uint64_t seg_size(spool_t *s, uint32_t id)
{
    char name[64];
    struct stat st;
    seg_name(name, sizeof(name), id);
    return fstatat(s->dirfd, name, &st, 0) == 0 ? (uint64_t)st.st_size : 0;
}

/* Deletes segment IDX of the table; lock held. */
static void seg_delete(spool_t *s, size_t idx)
{
    char name[64];
    seg_name(name, sizeof(name), s->segs[idx].id);
    uint64_t size = seg_size(s, s->segs[idx].id);
    if (unlinkat(s->dirfd, name, 0) != 0 && errno != ENOENT)
        log_error("spool", "cannot delete %s/%s: %s", s->dir, name, strerror(errno));
    atomic_fetch_sub(&s->bytes, size);
    memmove(s->segs + idx, s->segs + idx + 1, (s->nsegs - idx - 1) * sizeof(*s->segs));
    s->nsegs--;
}

/* Opens a new active segment; lock held by the caller (or at open). */
static int seg_start(spool_t *s, uint32_t id, char *errstr, size_t errstr_size)
{
    char name[64];
    seg_name(name, sizeof(name), id);
    int fd = openat(s->dirfd, name, O_WRONLY | O_CREAT | O_EXCL | O_APPEND | O_CLOEXEC, 0640);
    if (fd < 0) {
        snprintf(errstr, errstr_size, "spool: cannot create %s/%s: %s", s->dir, name,
                 strerror(errno));
        return MKB_ERR_IO;
    }
    if (grow((void **)&s->segs, &s->segs_cap, s->nsegs + 1, sizeof(*s->segs))) {
        close(fd);
        unlinkat(s->dirfd, name, 0);
        snprintf(errstr, errstr_size, "out of memory");
        return MKB_ERR_NOMEM;
    }
    if (s->o.fsync != SPOOL_FSYNC_NEVER)
        fsync(s->dirfd);
    if (s->nsegs)
        s->segs[s->nsegs - 1].records += s->wrecs; /* the one closed now (or a replayed one) */
    s->segs[s->nsegs++] = (seg_t){id, 0};
    s->wrecs = 0;
    if (s->wfd >= 0) {
        if (s->o.fsync != SPOOL_FSYNC_NEVER)
            fdatasync(s->wfd);
        close(s->wfd);
    }
    s->wfd = fd;
    s->wseg = id;
    s->woff = 0;
    atomic_store(&s->head, (uint64_t)id << 32);
    return MKB_OK;
}

/* Checks segment ID at open: logs and counts damaged spans; a damaged tail
 * is cut off. Counts the records at or after FROM (the replay). */
static uint64_t seg_recover(spool_t *s, uint32_t id, uint64_t from)
{
    char name[64];
    seg_name(name, sizeof(name), id);
    int fd = openat(s->dirfd, name, O_RDWR | O_CLOEXEC);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) != 0) {
        log_error("spool", "cannot read %s/%s: %s", s->dir, name, strerror(errno));
        if (fd >= 0)
            close(fd);
        return 0;
    }
    uint64_t size = (uint64_t)st.st_size, off = 0, kept = 0, pending = 0;
    const unsigned char *base = NULL;
    if (size > 0) {
        base = mmap(NULL, size, PROT_READ, MAP_SHARED, fd, 0);
        if (base == MAP_FAILED) {
            log_error("spool", "cannot map %s/%s: %s", s->dir, name, strerror(errno));
            close(fd);
            return 0;
        }
    }
    while (off < size) {
        size_t n = rec_valid(base + off, size - off);
        if (n) {
            kept++;
            if (off >= from)
                pending++;
            off += n;
            continue;
        }
        uint64_t next = resync(base, off, size);
        atomic_fetch_add(&s->corrupt, 1);
        atomic_fetch_add(&s->corrupt_bytes, next - off);
        if (next == size) {
            log_warn("spool",
                     "%s/%s: incomplete or damaged record at byte %" PRIu64 " (%" PRIu64
                     " bytes to the end, e.g. a crash mid-write); cut "
                     "off, the %" PRIu64 " complete record(s) before it are kept",
                     s->dir, name, off, size - off, kept);
            if (ftruncate(fd, (off_t)off) != 0)
                log_error("spool", "cannot truncate %s/%s: %s", s->dir, name, strerror(errno));
            size = off;
            break;
        }
        log_warn("spool",
                 "%s/%s: damaged record at byte %" PRIu64 " (checksum); skipped %" PRIu64
                 " bytes to the next complete record",
                 s->dir, name, off, next - off);
        off = next;
    }
    if (base)
        munmap((void *)base, (size_t)st.st_size);
    close(fd);
    s->replay += pending;
    atomic_fetch_add(&s->bytes, size);
    return kept;
}

/* The smallest segment size seg_fit() lowers to. */
#define SEG_MIN (64u << 10)

/* Fits the segment size to the spool's room, once at open: at most half of
 * max_bytes (config.c checks that already, so on_full has a closed segment
 * to act on) and a quarter of what the file system has for the spool (its
 * free space plus the spool's own bytes, which are freed as they are
 * delivered). Only closed segments are deleted, so a segment as big as the
 * disk would never give space back while it is written to; a quarter keeps
 * several closed ones to delete when the disk fills. Warns when it lowers
 * the size, and when max_bytes is more than the disk can hold (the disk then
 * fills before on_full applies). */
static void seg_fit(spool_t *s)
{
    uint64_t want = s->o.segment_bytes, own = atomic_load(&s->bytes), room = 0;
    uint64_t floor = want < SEG_MIN ? want : SEG_MIN, seg = want;
    struct statvfs v;
    if (fstatvfs(s->dirfd, &v) != 0)
        log_warn("spool", "cannot read the free space of %s: %s", s->dir, strerror(errno));
    else
        room = (uint64_t)v.f_bavail * (uint64_t)v.f_frsize + own;
    if (seg > s->o.max_bytes / 2)
        seg = s->o.max_bytes / 2 > floor ? s->o.max_bytes / 2 : floor;
    if (room && seg > room / 4)
        seg = room / 4 > floor ? room / 4 : floor;
    if (seg < want) {
        s->o.segment_bytes = seg;
        log_warn("spool",
                 "spool.segment_bytes %" PRIu64 " lowered to %" PRIu64
                 ": a segment may take at most half of spool.max_bytes (%" PRIu64
                 ") and a quarter of the %" PRIu64 " bytes the file system of %s has for the "
                 "spool (%" PRIu64 " free, %" PRIu64 " in the spool)",
                 want, seg, s->o.max_bytes, room, s->dir, room > own ? room - own : 0, own);
    }
    if (room && s->o.max_bytes > room)
        log_warn("spool",
                 "spool.max_bytes %" PRIu64 " is more than the %" PRIu64
                 " bytes the file system of %s has for the spool: the disk fills before "
                 "on_full applies; MQTT intake then pauses until delivered records free space",
                 s->o.max_bytes, room, s->dir);
}

static int spool_id_load(spool_t *s, char *errstr, size_t errstr_size)
{
    char buf[32] = {0};
    int fd = openat(s->dirfd, "id", O_RDONLY | O_CLOEXEC);
    if (fd >= 0) {
        ssize_t n = read(fd, buf, sizeof(buf) - 1);
        close(fd);
        char *end = NULL;
        if (n >= 16 && (s->spool_id = strtoull(buf, &end, 16)) != 0 && end == buf + 16)
            return MKB_OK;
        log_warn("spool", "%s/id is damaged; making a new spool id", s->dir);
    }
    if (getrandom(&s->spool_id, sizeof(s->spool_id), 0) != sizeof(s->spool_id))
        s->spool_id = ((uint64_t)time(NULL) << 20) ^ (uint64_t)getpid();
    if (!s->spool_id)
        s->spool_id = 1;
    snprintf(buf, sizeof(buf), "%016" PRIx64 "\n", s->spool_id);
    fd = openat(s->dirfd, "id", O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
    if (fd < 0 || write(fd, buf, 17) != 17 || fsync(fd) != 0) {
        snprintf(errstr, errstr_size, "spool: cannot write %s/id: %s", s->dir, strerror(errno));
        if (fd >= 0)
            close(fd);
        return MKB_ERR_IO;
    }
    close(fd);
    return MKB_OK;
}

static int mkdirs(const char *path)
{
    char *p = strdup(path);
    if (!p)
        return -1;
    for (char *c = p + 1; *c; c++) {
        if (*c != '/')
            continue;
        *c = '\0';
        if (mkdir(p, 0750) != 0 && errno != EEXIST) {
            free(p);
            return -1;
        }
        *c = '/';
    }
    int rc = mkdir(p, 0750) != 0 && errno != EEXIST ? -1 : 0;
    free(p);
    return rc;
}

/* The directory, its lock (taken), the spool id and the ack mark. */
static int open_files(spool_t *s, char *errstr, size_t errstr_size)
{
    if (mkdirs(s->dir) != 0 || (s->dirfd = open(s->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0) {
        snprintf(errstr, errstr_size, "spool: cannot use directory %s: %s", s->dir,
                 strerror(errno));
        return MKB_ERR_IO;
    }
    if ((s->lockfd = openat(s->dirfd, "lock", O_RDWR | O_CREAT | O_CLOEXEC, 0640)) < 0) {
        snprintf(errstr, errstr_size, "spool: cannot write in %s: %s", s->dir, strerror(errno));
        return MKB_ERR_IO;
    }
    if (flock(s->lockfd, LOCK_EX | LOCK_NB) != 0) {
        snprintf(errstr, errstr_size, "spool: %s is in use by another process (%s)", s->dir,
                 strerror(errno));
        return MKB_ERR_IO;
    }
    int rc = spool_id_load(s, errstr, errstr_size);
    if (rc != MKB_OK)
        return rc;
    if ((s->ackfd = openat(s->dirfd, "ack", O_RDWR | O_CREAT | O_CLOEXEC, 0640)) < 0) {
        snprintf(errstr, errstr_size, "spool: cannot open %s/ack: %s", s->dir, strerror(errno));
        return MKB_ERR_IO;
    }
    ack_read(s);
    return MKB_OK;
}

/* The segments on disk, ascending, into s->segs. */
static int list_segments(spool_t *s, char *errstr, size_t errstr_size)
{
    DIR *d = fdopendir(dup(s->dirfd));
    if (!d) {
        snprintf(errstr, errstr_size, "spool: cannot list %s: %s", s->dir, strerror(errno));
        return MKB_ERR_IO;
    }
    struct dirent *e;
    while ((e = readdir(d))) {
        char *end = NULL;
        unsigned long long id = strtoull(e->d_name, &end, 16);
        if (strlen(e->d_name) != 20 || strcmp(end, ".seg") != 0 || id == 0 || id > UINT32_MAX)
            continue;
        if (grow((void **)&s->segs, &s->segs_cap, s->nsegs + 1, sizeof(*s->segs))) {
            closedir(d);
            snprintf(errstr, errstr_size, "out of memory");
            return MKB_ERR_NOMEM;
        }
        s->segs[s->nsegs++] = (seg_t){(uint32_t)id, 0};
    }
    closedir(d);
    if (s->nsegs)
        qsort(s->segs, s->nsegs, sizeof(*s->segs), seg_cmp);
    return MKB_OK;
}

/* Below the ack mark: delivered (a crash came between the mark and the
 * delete). The rest is checked and replayed from the mark, where the
 * reader starts. Returns the id of the segment to write next (0: ids
 * exhausted). */
static uint32_t recover(spool_t *s)
{
    while (s->nsegs && s->segs[0].id < s->ack_seg) {
        /* Not counted in s->bytes yet, and seg_delete subtracts it. */
        atomic_fetch_add(&s->bytes, seg_size(s, s->segs[0].id));
        seg_delete(s, 0);
    }
    for (size_t i = 0; i < s->nsegs; i++)
        s->segs[i].records =
            seg_recover(s, s->segs[i].id, s->segs[i].id == s->ack_seg ? s->ack_off : 0);
    uint32_t last = s->nsegs ? s->segs[s->nsegs - 1].id : 0;
    uint32_t next = (last > s->ack_seg ? last : s->ack_seg) + 1; /* 0 after UINT32_MAX */
    if (s->nsegs) {
        s->rseg = s->segs[0].id;
        s->roff = s->rseg == s->ack_seg ? s->ack_off : 0;
    } else {
        s->rseg = next;
        s->roff = 0;
    }
    return next;
}

int spool_open(const spool_opts_t *opts, spool_t **out, char *errstr, size_t errstr_size)
{
    int rc = MKB_ERR_NOMEM;
    spool_t *s = calloc(1, sizeof(*s));
    if (!s || !(s->dir = strdup(opts->dir))) {
        free(s);
        snprintf(errstr, errstr_size, "out of memory");
        return rc;
    }
    s->o = *opts;
    s->o.dir = s->dir;
    s->dirfd = s->lockfd = s->ackfd = s->wfd = s->rfd = -1;
    s->ring_head = s->ring_next = 1;
    pthread_mutex_init(&s->lock, NULL);
    pthread_mutex_init(&s->wlock, NULL);
    pthread_cond_init(&s->wcond, NULL);
    if ((rc = open_files(s, errstr, errstr_size)) != MKB_OK ||
        (rc = list_segments(s, errstr, errstr_size)) != MKB_OK)
        goto fail;
    uint32_t next = recover(s);
    if (next == 0) {
        rc = MKB_ERR_IO;
        snprintf(errstr, errstr_size, "spool: segment ids exhausted in %s", s->dir);
        goto fail;
    }
    seg_fit(s);
    if ((rc = seg_start(s, next, errstr, errstr_size)) != MKB_OK)
        goto fail;
    s->first_seg = next;
    s->last_sync = clock_mono_ms();
    if (s->replay)
        log_info("spool",
                 "%s: %" PRIu64 " record(s) not acknowledged by Kafka before the last "
                 "stop; sending them first",
                 s->dir, s->replay);
    log_info("spool",
             "%s: id %016" PRIx64 ", %zu segment(s), %" PRIu64 " bytes, segments of %" PRIu64
             " bytes, fsync %s",
             s->dir, s->spool_id, s->nsegs, (uint64_t)atomic_load(&s->bytes), s->o.segment_bytes,
             s->o.fsync == SPOOL_FSYNC_ALWAYS  ? "always"
             : s->o.fsync == SPOOL_FSYNC_NEVER ? "never"
                                               : "interval");
    *out = s;
    return MKB_OK;
fail:
    spool_close(s);
    return rc;
}

static void reader_unmap(spool_t *s)
{
    if (s->map)
        munmap((void *)s->map, s->maplen);
    if (s->rfd >= 0)
        close(s->rfd);
    s->map = NULL;
    s->maplen = 0;
    s->rfd = -1;
    s->released = 0;
}

/* Moves the reader to segment ID (lock held). */
static void reader_move(spool_t *s, uint32_t id)
{
    reader_unmap(s);
    s->rseg = id;
    s->roff = 0;
    s->rsize = 0;
    s->rhanded = 0;
    atomic_store(&s->rdropped, false);
}

static void ack_advance(spool_t *s, uint32_t *seg, uint64_t *off);

void spool_close(spool_t *s)
{
    if (!s)
        return;
    if (s->ackfd >= 0 && s->wfd >= 0) {
        uint32_t seg;
        uint64_t off;
        ack_advance(s, &seg, &off);
        if (seg != s->ack_seg || off != s->ack_off)
            ack_write(s, seg, off);
        if (s->o.fsync != SPOOL_FSYNC_NEVER) {
            fdatasync(s->wfd);
            fdatasync(s->ackfd);
        }
    }
    reader_unmap(s);
    if (s->wfd >= 0)
        close(s->wfd);
    if (s->ackfd >= 0)
        close(s->ackfd);
    if (s->lockfd >= 0)
        close(s->lockfd); /* releases the flock */
    if (s->dirfd >= 0)
        close(s->dirfd);
    pthread_mutex_destroy(&s->lock);
    pthread_mutex_destroy(&s->wlock);
    pthread_cond_destroy(&s->wcond);
    free(s->pend);
    free(s->segs);
    free(s->hdrs);
    free(s->props);
    free(s->ring);
    free(s->dir);
    free(s);
}

/* ---- writer ------------------------------------------------------------- */

static bool drop_oldest(spool_t *s);

bool spool_full(spool_t *s)
{
    return atomic_load(&s->bytes) >= s->o.max_bytes;
}

void spool_discard(spool_t *s)
{
    s->pend_len = 0;
    s->pend_n = 0;
}

/* Writes the pending batch at the end of the active segment (and syncs it
 * when fsync is always). 0, or the errno of the failure, after taking back
 * whatever part of the batch reached the file (the journal ends on a
 * record); *OP says what failed. */
static int commit_write(spool_t *s, const char **op)
{
    size_t done = 0;
    *op = "write to";
    while (done < s->pend_len) {
        ssize_t n = write(s->wfd, s->pend + done, s->pend_len - done);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            int e = n < 0 ? errno : ENOSPC;
            if (done && ftruncate(s->wfd, (off_t)s->woff) != 0)
                log_error("spool", "cannot take back a partial write: %s", strerror(errno));
            return e;
        }
        done += (size_t)n;
    }
    if (s->o.fsync == SPOOL_FSYNC_ALWAYS && fdatasync(s->wfd) != 0) {
        int e = errno;
        *op = "sync";
        if (ftruncate(s->wfd, (off_t)s->woff) != 0)
            log_error("spool", "cannot take back an unsynced write: %s", strerror(errno));
        return e;
    }
    return 0;
}

/* The disk is full: closes the active segment early (a new, empty one takes
 * the next writes) so that spool_tick can delete it once its records are
 * delivered. Without this, a file system smaller than a segment never gets
 * space back: only closed segments are deleted. Rolls only a segment that
 * holds records, so a disk that stays full makes one empty segment, not one
 * per retry; ids are never reused (the next is wseg + 1). */
static bool roll_when_full(spool_t *s)
{
    if (s->woff == 0)
        return false;
    char err[512];
    uint32_t old = s->wseg;
    uint64_t size = s->woff;
    pthread_mutex_lock(&s->lock);
    int rc = seg_start(s, s->wseg + 1, err, sizeof(err));
    pthread_mutex_unlock(&s->lock);
    if (rc != MKB_OK) {
        log_debug("spool", "disk full, and no new segment: %s", err);
        return false;
    }
    log_info("spool",
             "%s: disk full: closed segment %016" PRIx32 " early (%" PRIu64
             " bytes), to be deleted once its records are delivered",
             s->dir, old, size);
    return true;
}

int spool_commit(spool_t *s, char *errstr, size_t errstr_size)
{
    if (!s->pend_len)
        return MKB_OK;
    if (s->o.on_full == SPOOL_FULL_BLOCK && spool_full(s))
        return MKB_ERR_RETRY;
    while (s->o.on_full == SPOOL_FULL_DROP_OLDEST && spool_full(s) && drop_oldest(s))
        ;
    if (s->woff > 0 && s->woff + s->pend_len > s->o.segment_bytes) {
        pthread_mutex_lock(&s->lock);
        int rc = seg_start(s, s->wseg + 1, errstr, errstr_size);
        pthread_mutex_unlock(&s->lock);
        if (rc != MKB_OK) {
            atomic_fetch_add(&s->write_errors, 1);
            return rc;
        }
    }
    const char *op;
    int e = commit_write(s, &op);
    /* A full disk: the batch may fit once the full segment is closed and
     * delivered records are deleted; EFBIG (a file size limit) is not
     * space and stays an error. */
    if ((e == ENOSPC || e == EDQUOT) && roll_when_full(s))
        e = commit_write(s, &op);
    if (e) {
        snprintf(errstr, errstr_size, "spool: cannot %s %s: %s", op, s->dir, strerror(e));
        atomic_fetch_add(&s->write_errors, 1);
        return MKB_ERR_IO;
    }
    s->woff += s->pend_len;
    s->wrecs += s->pend_n;
    atomic_fetch_add(&s->bytes, s->pend_len);
    atomic_fetch_add(&s->appended, s->pend_n);
    atomic_store(&s->head, ((uint64_t)s->wseg << 32) | s->woff);
    atomic_store(&s->dirty, true);
    s->pend_len = 0;
    s->pend_n = 0;
    if (atomic_load(&s->sleeping)) {
        /* The reader holds wlock from setting `sleeping` until it waits:
         * taking it here means the signal cannot come before the wait.
         * Signalling after the unlock spares the woken reader a second
         * wait on the lock. */
        pthread_mutex_lock(&s->wlock);
        pthread_mutex_unlock(&s->wlock);
        pthread_cond_signal(&s->wcond);
    }
    return MKB_OK;
}

/* ---- reader ------------------------------------------------------------- */

/* Maps segment s->rseg for reading, at least NEED bytes. */
static int reader_map(spool_t *s, uint64_t need, bool closed)
{
    if (s->map && s->maplen >= need)
        return MKB_OK;
    reader_unmap(s);
    char name[64];
    seg_name(name, sizeof(name), s->rseg);
    if ((s->rfd = openat(s->dirfd, name, O_RDONLY | O_CLOEXEC)) < 0)
        return MKB_ERR_IO;
    struct stat st;
    if (fstat(s->rfd, &st) != 0) {
        reader_unmap(s);
        return MKB_ERR_IO;
    }
    uint64_t len = (uint64_t)st.st_size > need ? (uint64_t)st.st_size : need;
    if (!closed)
        len = (len > s->o.segment_bytes ? len : s->o.segment_bytes) + MAP_SLACK;
    if (len == 0)
        return MKB_OK; /* nothing to map */
    void *m = mmap(NULL, len, PROT_READ, MAP_SHARED, s->rfd, 0);
    if (m == MAP_FAILED) {
        reader_unmap(s);
        return MKB_ERR_IO;
    }
    s->map = m;
    s->maplen = len;
    return MKB_OK;
}

/* on_full: drop_oldest, on the writer's thread: deletes the oldest closed
 * segment. Its records not yet handed to the sender are counted as dropped;
 * if the sender is reading it, it moves on at its next call (its mapping of
 * the deleted file stays valid until then). False if only the active
 * segment is left. */
static bool drop_oldest(spool_t *s)
{
    pthread_mutex_lock(&s->lock);
    if (s->nsegs < 2) {
        pthread_mutex_unlock(&s->lock);
        return false;
    }
    seg_t seg = s->segs[0];
    uint64_t n = 0;
    if (seg.id > s->rseg) {
        n = seg.records;
    } else if (seg.id == s->rseg) {
        n = seg.records > s->rhanded ? seg.records - s->rhanded : 0;
        atomic_store(&s->rdropped, true);
    }
    seg_delete(s, 0);
    pthread_mutex_unlock(&s->lock);
    uint64_t total = atomic_fetch_add(&s->dropped, n) + n;
    log_warn("spool",
             "spool full (%" PRIu64 " bytes, on_full: drop_oldest): deleted the oldest segment "
             "with %" PRIu64 " undelivered record(s) (%" PRIu64 " dropped so far)",
             s->o.max_bytes, n, total);
    return true;
}

/* Moves the reader to the segment after its own (ACTIVE if none is left). */
static void reader_next_segment(spool_t *s, uint32_t active)
{
    pthread_mutex_lock(&s->lock);
    uint32_t nxt = active;
    for (size_t i = 0; i < s->nsegs; i++)
        if (s->segs[i].id > s->rseg) {
            nxt = s->segs[i].id;
            break;
        }
    reader_move(s, nxt);
    pthread_mutex_unlock(&s->lock);
}

/* Gives the entry of N bytes at the reader's position a ticket (open: in
 * the sender's hand until spool_pass). */
static int hand_out(spool_t *s, int64_t recv_ms, size_t n, uint64_t *ticket)
{
    pthread_mutex_lock(&s->lock);
    if (s->ring_next - s->ring_head == s->ring_cap) {
        size_t cap = s->ring_cap ? 2 * s->ring_cap : 1024;
        ticket_t *r = malloc(cap * sizeof(*r));
        if (!r) {
            pthread_mutex_unlock(&s->lock);
            return MKB_ERR_NOMEM;
        }
        for (uint64_t t = s->ring_head; t < s->ring_next; t++)
            // NOLINTNEXTLINE(clang-analyzer-core.DivideZero): ring_cap is 0 only if empty
            r[t % cap] = s->ring[t % s->ring_cap];
        free(s->ring);
        s->ring = r;
        s->ring_cap = cap;
    }
    *ticket = s->ring_next++;
    s->ring[*ticket % s->ring_cap] = (ticket_t){s->rseg, s->roff, recv_ms, 0, true, false};
    s->rhanded++; /* taken: drop_oldest no longer counts it as dropped */
    pthread_mutex_unlock(&s->lock);
    s->hand_ticket = *ticket;
    s->hand_len = n;
    return MKB_OK;
}

/* Settles ticket T (lock held) once it is passed and nothing sent under it
 * is pending. */
static void settle(spool_t *s, uint64_t t)
{
    ticket_t *k = &s->ring[t % s->ring_cap];
    if (!k->open && !k->pending && !k->acked) {
        k->acked = true;
        atomic_fetch_add(&s->acked, 1);
    }
}

void spool_pass(spool_t *s, uint64_t ticket, uint32_t records)
{
    if (!ticket || ticket != s->hand_ticket)
        return;
    pthread_mutex_lock(&s->lock);
    s->ring[ticket % s->ring_cap].pending += records;
    s->ring[ticket % s->ring_cap].open = false;
    settle(s, ticket);
    s->roff += s->hand_len;
    pthread_mutex_unlock(&s->lock);
    s->hand_ticket = 0;
    atomic_fetch_add(&s->handed, 1);
    /* Give back the pages read so far (1 MiB at a time), so resident
     * memory does not grow with the segment. */
    if (s->roff - s->released >= (1u << 20)) {
        uint64_t page = (uint64_t)sysconf(_SC_PAGESIZE);
        uint64_t upto = (s->roff & ~(page - 1));
        if (upto > s->released) {
            madvise((void *)(s->map + s->released), upto - s->released, MADV_DONTNEED);
            s->released = upto;
        }
    }
}

/* The entry at the reader's position, or MKB_ERR_RETRY (nothing now),
 * MKB_ERR_IO (a segment that cannot be mapped); skips damage. */
static int reader_entry(spool_t *s, const unsigned char **at, size_t *len)
{
    for (;;) {
        uint64_t head = atomic_load(&s->head);
        uint32_t hseg = (uint32_t)(head >> 32);
        if (atomic_load(&s->rdropped)) /* see drop_oldest */
            reader_next_segment(s, hseg);
        bool closed = s->rseg < hseg;
        uint64_t limit;
        if (!closed) {
            limit = head & 0xffffffffu;
            if (s->roff >= limit)
                return MKB_ERR_RETRY;
        } else {
            if (!s->rsize)
                s->rsize = seg_size(s, s->rseg) + 1;
            limit = s->rsize - 1;
        }
        if (s->roff >= limit) { /* a closed segment read to its end (or gone) */
            reader_next_segment(s, hseg);
            continue;
        }
        if (reader_map(s, limit, closed) != MKB_OK || !s->map) {
            log_error("spool", "cannot map segment %016" PRIx32 " of %s: %s", s->rseg, s->dir,
                      strerror(errno));
            return MKB_ERR_IO;
        }
        const unsigned char *p = s->map + s->roff;
        /* Segments of earlier runs are checked record by record (spool_open
         * already cut torn tails); this run's were written whole by us. */
        size_t n =
            s->rseg < s->first_seg ? rec_valid(p, limit - s->roff) : rec_peek(p, limit - s->roff);
        if (n) {
            *at = p;
            *len = n;
            return MKB_OK;
        }
        uint64_t next = resync(s->map, s->roff, limit);
        log_debug("spool",
                  "segment %016" PRIx32 ": skipping the damaged record at byte %" PRIu64
                  " (%" PRIu64 " bytes)",
                  s->rseg, s->roff, next - s->roff);
        pthread_mutex_lock(&s->lock);
        s->roff = next;
        pthread_mutex_unlock(&s->lock);
    }
}

/* ID := "%016" PRIx64 "-%" PRIu32 "-%" PRIu64 of SPOOL_ID, SEG and OFF,
 * without snprintf (once per message on the sender's thread). ID has
 * SPOOL_ID_LEN bytes, room for the longest. */
static void format_id(char *id, uint64_t spool_id, uint32_t seg, uint64_t off)
{
    static const char hex[] = "0123456789abcdef";
    for (int i = 15; i >= 0; i--, spool_id >>= 4)
        id[i] = hex[spool_id & 15];
    char *p = id + 16;
    const uint64_t parts[2] = {seg, off};
    for (int k = 0; k < 2; k++) {
        char tmp[20], *t = tmp + sizeof(tmp);
        uint64_t u = parts[k];
        do {
            *--t = (char)('0' + u % 10);
            u /= 10;
        } while (u);
        *p++ = '-';
        memcpy(p, t, (size_t)(tmp + sizeof(tmp) - t));
        p += tmp + sizeof(tmp) - t;
    }
    *p = '\0';
}

int spool_peek(spool_t *s, spool_entry_t *e, uint64_t *ticket)
{
    for (;;) {
        const unsigned char *p;
        size_t n;
        int rc = reader_entry(s, &p, &n);
        if (rc != MKB_OK)
            return rc;
        e->is_message = p[REC_HEAD] == MSG_VERSION;
        rc = e->is_message ? msg_decode(s, p, &e->msg) : rec_decode(s, p, &e->rec);
        if (rc == MKB_ERR_NOMEM)
            return rc;
        if (rc != MKB_OK) {
            /* Well formed by its checksum, not by its content (only
             * segments of earlier runs are checked, and spool_open counted
             * and reported their damage already). */
            log_debug("spool", "segment %016" PRIx32 ": skipping the unreadable entry at byte %" PRIu64,
                      s->rseg, s->roff);
            pthread_mutex_lock(&s->lock);
            s->roff += n;
            pthread_mutex_unlock(&s->lock);
            continue;
        }
        format_id(s->id, s->spool_id, s->rseg, s->roff);
        e->id = s->id;
        if (!e->is_message)
            e->rec.id = s->id;
        if (s->hand_ticket) { /* peeked again without a pass: the same ticket */
            *ticket = s->hand_ticket;
            return MKB_OK;
        }
        return hand_out(s, e->is_message ? e->msg.recv_ms : e->rec.recv_ms, n, ticket);
    }
}

int spool_next(spool_t *s, record_t *rec, uint64_t *ticket)
{
    for (;;) {
        spool_entry_t e;
        int rc = spool_peek(s, &e, ticket);
        if (rc != MKB_OK)
            return rc;
        if (!e.is_message) {
            spool_pass(s, *ticket, 1);
            *rec = e.rec;
            return MKB_OK;
        }
        spool_pass(s, *ticket, 0); /* a message: not for this reader (settled as is) */
    }
}

bool spool_caught_up(spool_t *s)
{
    uint64_t head = atomic_load(&s->head);
    pthread_mutex_lock(&s->lock);
    bool r = s->rseg == (uint32_t)(head >> 32) && s->roff >= (head & 0xffffffffu);
    pthread_mutex_unlock(&s->lock);
    return r;
}

void spool_wait(spool_t *s, int timeout_ms)
{
    /* While records flow, poll every millisecond instead of sleeping until
     * the writer signals: a signal per message (the sender catches up after
     * nearly every one) costs two context switches per message, a poll
     * picks up a batch. Idle for 50 ms: sleep until signalled. */
    long long now = clock_mono_ms();
    uint64_t handed = atomic_load(&s->handed);
    if (handed != s->wait_handed) {
        s->wait_handed = handed;
        s->busy_until = now + 50;
    }
    if (now < s->busy_until) {
        struct timespec poll = {0, 1000000};
        nanosleep(&poll, NULL);
        return;
    }
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_sec += timeout_ms / 1000;
    ts.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
    if (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&s->wlock);
    atomic_store(&s->sleeping, 1);
    if (spool_caught_up(s))
        pthread_cond_timedwait(&s->wcond, &s->wlock, &ts);
    atomic_store(&s->sleeping, 0);
    pthread_mutex_unlock(&s->wlock);
}

/* ---- acknowledgements --------------------------------------------------- */

int64_t spool_ack(spool_t *s, uint64_t ticket)
{
    int64_t recv_ms = 0;
    pthread_mutex_lock(&s->lock);
    if (ticket >= s->ring_head && ticket < s->ring_next) {
        ticket_t *k = &s->ring[ticket % s->ring_cap];
        k->pending--;
        settle(s, ticket);
        recv_ms = k->recv_ms;
    }
    pthread_mutex_unlock(&s->lock);
    return recv_ms;
}

/* The first record not known delivered: the oldest unacked ticket, or the
 * reader's position when everything handed out was acked. */
static void ack_advance(spool_t *s, uint32_t *seg, uint64_t *off)
{
    pthread_mutex_lock(&s->lock);
    while (s->ring_head < s->ring_next && s->ring[s->ring_head % s->ring_cap].acked)
        s->ring_head++;
    if (s->ring_head < s->ring_next) {
        *seg = s->ring[s->ring_head % s->ring_cap].seg;
        *off = s->ring[s->ring_head % s->ring_cap].off;
    } else {
        *seg = s->rseg;
        *off = s->roff;
    }
    pthread_mutex_unlock(&s->lock);
}

void spool_tick(spool_t *s)
{
    uint32_t seg;
    uint64_t off;
    ack_advance(s, &seg, &off);
    long long now = clock_mono_ms();
    bool sync_due =
        s->o.fsync == SPOOL_FSYNC_INTERVAL && now - s->last_sync >= s->o.fsync_interval_ms;
    if (seg != s->ack_seg || off != s->ack_off) {
        if (ack_write(s, seg, off) == MKB_OK)
            s->ack_dirty = true;
    }
    if (sync_due) {
        s->last_sync = now;
        if (atomic_exchange(&s->dirty, false)) {
            /* The writer may switch segments (seg_start syncs the one it
             * closes), so the descriptor is taken under the lock; the sync
             * (tens of ms on a busy disk) runs outside it, or the sender,
             * which takes the lock per entry, would stall that long. */
            pthread_mutex_lock(&s->lock);
            int fd = dup(s->wfd);
            pthread_mutex_unlock(&s->lock);
            if (fd < 0 || fdatasync(fd) != 0)
                log_error("spool", "fdatasync of %s: %s", s->dir, strerror(errno));
            if (fd >= 0)
                close(fd);
        }
        if (s->ack_dirty) {
            fdatasync(s->ackfd);
            s->ack_dirty = false;
        }
    }
    /* Segments wholly before the mark are delivered. The mark is written
     * first: a crash in between leaves files that the next start deletes. */
    pthread_mutex_lock(&s->lock);
    while (s->nsegs && s->segs[0].id < s->ack_seg && s->segs[0].id < s->rseg)
        seg_delete(s, 0);
    pthread_mutex_unlock(&s->lock);
}

void spool_stats(spool_t *s, spool_stats_t *out)
{
    out->appended = atomic_load(&s->appended);
    out->handed = atomic_load(&s->handed);
    out->acked = atomic_load(&s->acked);
    out->dropped = atomic_load(&s->dropped);
    out->corrupt = atomic_load(&s->corrupt);
    out->corrupt_bytes = atomic_load(&s->corrupt_bytes);
    out->replay = s->replay;
    out->write_errors = atomic_load(&s->write_errors);
    out->bytes = atomic_load(&s->bytes);
    out->segment_bytes = s->o.segment_bytes;
    pthread_mutex_lock(&s->lock);
    out->segments = s->nsegs;
    out->oldest_recv_ms = 0;
    for (uint64_t t = s->ring_head; t < s->ring_next; t++)
        if (!s->ring[t % s->ring_cap].acked) {
            out->oldest_recv_ms = s->ring[t % s->ring_cap].recv_ms;
            break;
        }
    pthread_mutex_unlock(&s->lock);
}
