// SPDX-FileCopyrightText: 2026 The mqtt-kafka-bridge authors
// SPDX-License-Identifier: Apache-2.0
#include "kafka_sink.h"

#include "clock.h"
#include "dead_letter.h"
#include "err.h"
#include "hash.h"
#include "kafka_client.h"
#include "kafka_errors.h"
#include "log.h"

#include <jansson.h>
#include <librdkafka/rdkafka.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Topic handles cached by name (open addressing). Templated topics could
 * name many; past MAX_TOPICS librdkafka looks the name up itself. */
#define MAX_TOPICS 4096
#define TOPIC_SLOTS ((size_t)2 * MAX_TOPICS)
#define MAX_PROFILES 16

/* librdkafka carries one pointer per message (msg_opaque). A record's
 * record_ack_t travels in it as (value << 3) | flags, the value being its
 * ticket (ACK_TICKET set) or else its receive time: a record has one or the
 * other, never both (kafka_sink_produce). DLQ_OF_FAILED marks a dead letter
 * made from a failed delivery (not re-dead-lettered). A record produced
 * again from the waiting list has (held_t * | RETRIED) instead (malloc's
 * alignment leaves the three low bits free). */
#define DLQ_OF_FAILED 1u
#define RETRIED 2u
#define ACK_TICKET 4u
#define OPAQUE_FLAGS 7u

static void *opaque_of(record_ack_t ack, unsigned flags)
{
    uint64_t v = ack.ticket ? ack.ticket : (uint64_t)ack.recv_ms;
    return (void *)(uintptr_t)((v << 3) | (ack.ticket ? ACK_TICKET : 0) | flags);
}

static record_ack_t ack_of(const void *op)
{
    uintptr_t u = (uintptr_t)op;
    record_ack_t ack = {0};
    if (u & ACK_TICKET)
        ack.ticket = (uint64_t)(u >> 3);
    else
        ack.recv_ms = (int64_t)(u >> 3);
    return ack;
}

/* The ack of record REC produced with TICKET (0: none). */
static record_ack_t ack_for(const record_t *rec, uint64_t ticket)
{
    record_ack_t ack = {.ticket = ticket};
    if (!ticket)
        ack.recv_ms = rec->recv_ms;
    return ack;
}

/* Waiting on transient errors: backoff between rounds of a topic, how long
 * apart two "does not exist" answers must be before its records are
 * dead-lettered, and how long a metadata request may take (the waiting
 * thread's, never the main thread's). */
#define BACKOFF_FIRST_MS 500
#define BACKOFF_MAX_MS 30000
#define ABSENT_CONFIRM_MS 5000
#define METADATA_TIMEOUT_MS 5000
#define WAIT_LOG_INTERVAL_MS 10000

/* Per topic (and one for topics without a cached handle and dead letters):
 * whether records of it wait, so that new ones queue behind them. */
typedef struct {
    atomic_uint held;          /* records of the topic the sink holds (waiting or retried) */
    atomic_int reason;         /* kafka_wait_reason_t of the last transient error */
    unsigned inflight;         /* produced again, report pending (wlock) */
    unsigned attempt;          /* rounds since the last success (wlock) */
    long long due_ms;          /* next round (wlock) */
    long long absent_since_ms; /* first "does not exist" from a broker; 0: none (wlock) */
} topic_state_t;

typedef struct {
    uint32_t hash;
    rd_kafka_topic_t *rkt;
    topic_state_t st; /* the rkt's opaque */
} topic_slot_t;

typedef struct producer producer_t;

/* A record waiting on a transient error, or queued behind one of its topic.
 * Owns copies of everything; lives until the record is delivered,
 * dead-lettered or counted lost (or the sink is destroyed: with the spool
 * its ticket then stays unacknowledged and it is sent again at the next
 * start). */
typedef struct held {
    struct held *next; /* in the waiting list, sorted by seq */
    uint64_t seq;      /* when it first waited: keeps the topic's order */
    producer_t *pr;
    topic_state_t *ts;
    char *topic;
    void *key, *value; /* NULL: none (a NULL value is a tombstone) */
    size_t key_len, len, bytes;
    rd_kafka_headers_t *hdrs; /* a copy of them goes with each attempt */
    int64_t timestamp;
    record_ack_t ack;
    unsigned flags;            /* DLQ_OF_FAILED */
    bool keep_reason;          /* a mapper dead letter keeps its own mkb.reason */
    rd_kafka_resp_err_t err;   /* the last error; NO_ERROR: queued behind others */
    kafka_wait_reason_t reason;
} held_t;

struct producer {
    char *name;
    rd_kafka_t *rk;
    topic_slot_t *topics;
    size_t ntopics;
};

struct kafka_sink {
    producer_t producers[MAX_PROFILES];
    size_t nproducers;
    producer_t *hot; /* dead letters */
    char *dlq_topic;
    long long queue_wait_ms;
    atomic_bool closed;
    kafka_sink_ack_t ack;
    void *ack_opaque;
    atomic_uint_fast64_t produced, delivered, failed, lost, queue_waits, bytes, errors, brokers_up,
        broker_errors;
    atomic_llong full_since_ms; /* a produce waits for queue room since (monotonic ms); 0: none */
    /* Failures by librdkafka error code; rare, so a lock is fine. */
    pthread_mutex_t reasons_lock;
    struct {
        rd_kafka_resp_err_t err;
        uint64_t n;
    } reasons[32];
    size_t nreasons;
    /* Records waiting on a transient error (held_t, sorted by seq) and the
     * thread that produces them again after a backoff, checking with a
     * metadata request first whether an unknown topic exists. */
    pthread_mutex_t wlock;
    pthread_cond_t wcond;
    held_t *whead, *wtail, *whint; /* whint: the last inserted, where the next one likely goes */
    uint64_t wseq;
    bool wstop, wthread_running;
    pthread_t wthread;
    topic_state_t overflow; /* topics without a cached handle, dead letters */
    uint64_t wait_max_bytes; /* past this, kafka_sink_produce waits (back-pressure) */
    atomic_uint_fast64_t held_n, held_bytes, listed;
    atomic_uint_fast64_t held_by[KAFKA_WAIT_REASONS];
};

static void count_reason(kafka_sink_t *s, rd_kafka_resp_err_t err)
{
    pthread_mutex_lock(&s->reasons_lock);
    size_t i;
    for (i = 0; i < s->nreasons && s->reasons[i].err != err; i++)
        ;
    if (i == s->nreasons && i < sizeof(s->reasons) / sizeof(s->reasons[0]))
        s->reasons[s->nreasons++].err = err;
    if (i < s->nreasons)
        s->reasons[i].n++;
    pthread_mutex_unlock(&s->reasons_lock);
}

size_t kafka_sink_failure_reasons(kafka_sink_t *s, char *out, size_t size)
{
    size_t used = 0;
    out[0] = '\0';
    pthread_mutex_lock(&s->reasons_lock);
    for (size_t i = 0; i < s->nreasons && used < size; i++) {
        int n = snprintf(out + used, size - used, "%s%s=%llu", i ? " " : "",
                         rd_kafka_err2name(s->reasons[i].err),
                         (unsigned long long)s->reasons[i].n);
        if (n > 0)
            used += (size_t)n;
    }
    size_t count = s->nreasons;
    pthread_mutex_unlock(&s->reasons_lock);
    return count;
}

/* Sends a record whose delivery failed to the dead-letter topic. Runs in a
 * delivery report (main thread), so it must not block: a full queue here
 * counts the record as lost. */
static void settle(kafka_sink_t *s, record_ack_t ack)
{
    if ((ack.ticket || ack.recv_ms) && s->ack)
        s->ack(s->ack_opaque, &ack);
}

static bool too_large(rd_kafka_resp_err_t err)
{
    return err == RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE ||
           err == RD_KAFKA_RESP_ERR_RECORD_LIST_TOO_LARGE;
}

/* Queues a dead letter; librdkafka takes H on success. When the producer
 * refuses it for its size, queues it again without the value, header
 * mkb.value.bytes giving the size: the message is kept, its bytes cannot be. */
static rd_kafka_resp_err_t queue_dead_letter(kafka_sink_t *s, const void *key, size_t key_len,
                                             const void *value, size_t len,
                                             rd_kafka_headers_t *h, record_ack_t ack)
{
    for (;;) {
        rd_kafka_resp_err_t err = rd_kafka_producev(
            s->hot->rk, RD_KAFKA_V_TOPIC(s->dlq_topic), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
            RD_KAFKA_V_KEY(key, key_len), RD_KAFKA_V_VALUE((void *)value, len),
            RD_KAFKA_V_HEADERS(h), RD_KAFKA_V_OPAQUE(opaque_of(ack, DLQ_OF_FAILED)),
            RD_KAFKA_V_END);
        if (!too_large(err) || len == 0)
            return err;
        dead_letter_value_bytes(h, len);
        value = NULL;
        len = 0;
    }
}

/* ---- records waiting on a transient error --------------------------------
 *
 * A delivery report or a produce call with an error kafka_errors.c calls
 * transient does not dead-letter the record: a copy waits in the sink's
 * waiting list, and the waiting thread produces it again after a backoff
 * (500 ms doubling to 30 s per topic). Its spool ticket is acknowledged only
 * once it is delivered (or, for a permanent error, dead-lettered), so a
 * crash meanwhile replays it. While a topic has records waiting, new ones
 * for it queue behind them, and a topic's records are produced again in
 * the order they first waited: per-key order holds, except between records
 * that were already in librdkafka's queue when the first failure of their
 * topic was reported (they wait in the order their reports came). */

static unsigned long long backoff_ms(unsigned attempt)
{
    unsigned long long ms = BACKOFF_FIRST_MS;
    for (unsigned i = 0; i < attempt && ms < BACKOFF_MAX_MS; i++)
        ms *= 2;
    return ms < BACKOFF_MAX_MS ? ms : BACKOFF_MAX_MS;
}

static topic_state_t *state_of(kafka_sink_t *s, const rd_kafka_topic_t *rkt)
{
    topic_state_t *ts = rkt ? rd_kafka_topic_opaque(rkt) : NULL;
    return ts ? ts : &s->overflow;
}

static producer_t *producer_of(kafka_sink_t *s, const rd_kafka_t *rk)
{
    for (size_t i = 0; i < s->nproducers; i++)
        if (s->producers[i].rk == rk)
            return &s->producers[i];
    return s->hot;
}

static void *dup_bytes(const void *p, size_t len, bool *oom)
{
    if (!p)
        return NULL;
    void *c = malloc(len ? len : 1);
    if (!c)
        *oom = true;
    else if (len)
        memcpy(c, p, len);
    return c;
}

/* A waiting copy of a record; takes HDRS (NULL: none) whatever happens.
 * NULL when out of memory (the caller dead-letters the record instead). */
static held_t *held_new(producer_t *pr, topic_state_t *ts, const char *topic, const void *key,
                        size_t key_len, const void *value, size_t len, rd_kafka_headers_t *hdrs,
                        int64_t timestamp, record_ack_t ack, unsigned flags,
                        rd_kafka_resp_err_t err)
{
    bool oom = false;
    held_t *h = calloc(1, sizeof(*h));
    if (!h)
        goto destroy_hdrs;
    h->topic = strdup(topic);
    h->key = dup_bytes(key, key_len, &oom);
    h->value = dup_bytes(value, len, &oom);
    if (oom || !h->topic) {
        free(h->topic);
        free(h->key);
        free(h->value);
        free(h);
        h = NULL;
        goto destroy_hdrs;
    }
    h->pr = pr;
    h->ts = ts;
    h->key_len = key_len;
    h->len = len;
    h->hdrs = hdrs;
    h->timestamp = timestamp;
    h->ack = ack;
    h->flags = flags;
    h->err = err;
    if (err == RD_KAFKA_RESP_ERR_NO_ERROR)
        h->reason = (kafka_wait_reason_t)atomic_load(&ts->reason);
    else
        kafka_err_classify(err, &h->reason);
    /* About what it costs: the copies, the struct, ~64 bytes per header. */
    h->bytes = sizeof(*h) + strlen(topic) + key_len + len +
               (hdrs ? rd_kafka_header_cnt(hdrs) * 64 : 0);
    return h;
destroy_hdrs:
    if (hdrs)
        rd_kafka_headers_destroy(hdrs);
    return NULL;
}

/* Forgets H (delivered, dead-lettered, lost, or the sink is going away). */
static void held_free(kafka_sink_t *s, held_t *h)
{
    atomic_fetch_sub(&h->ts->held, 1);
    atomic_fetch_sub(&s->held_n, 1);
    atomic_fetch_sub(&s->held_bytes, h->bytes);
    atomic_fetch_sub(&s->held_by[h->reason], 1);
    if (h->hdrs)
        rd_kafka_headers_destroy(h->hdrs);
    free(h->topic);
    free(h->key);
    free(h->value);
    free(h);
}

/* Into the waiting list by seq; wlock held. */
static void list_insert(kafka_sink_t *s, held_t *h)
{
    if (!h->seq)
        h->seq = ++s->wseq;
    held_t *prev = NULL;
    if (!s->whead || s->whead->seq > h->seq)
        prev = NULL;
    else if (s->wtail && s->wtail->seq < h->seq)
        prev = s->wtail;
    else if (s->whint && s->whint->seq < h->seq && (!s->whint->next || s->whint->next->seq > h->seq))
        prev = s->whint;
    else
        for (prev = s->whead; prev->next && prev->next->seq < h->seq; prev = prev->next)
            ;
    h->next = prev ? prev->next : s->whead;
    if (prev)
        prev->next = h;
    else
        s->whead = h;
    if (!h->next)
        s->wtail = h;
    s->whint = h;
    atomic_fetch_add(&s->listed, 1);
}

static void log_waiting(kafka_sink_t *s, const topic_state_t *ts, const char *topic,
                        rd_kafka_resp_err_t err, const char *why, long long next_ms)
{
    static log_limit_t lim = LOG_LIMIT_INIT;
    unsigned long more = 0;
    if (!log_limit(&lim, topic, WAIT_LOG_INTERVAL_MS, &more))
        return;
    char errs[200] = "";
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR)
        snprintf(errs, sizeof(errs), ": %s (%s)", rd_kafka_err2str(err), rd_kafka_err2name(err));
    log_warn("kafka",
             "%u record(s) for %s waiting on a transient error%s%s%s; next try in %lld ms "
             "(%llu waiting in all)",
             atomic_load(&ts->held), topic, errs, why ? "; " : "", why ? why : "", next_ms,
             (unsigned long long)atomic_load(&s->held_n));
}

/* H starts waiting: FAILURE when its own delivery or produce call failed
 * (the topic's next round is then scheduled), not when it only queues
 * behind its topic's waiting records. */
static void hold(kafka_sink_t *s, held_t *h, bool failure)
{
    atomic_fetch_add(&h->ts->held, 1);
    atomic_fetch_add(&s->held_n, 1);
    atomic_fetch_add(&s->held_bytes, h->bytes);
    atomic_fetch_add(&s->held_by[h->reason], 1);
    pthread_mutex_lock(&s->wlock);
    long long now = clock_mono_ms();
    if (failure) {
        atomic_store(&h->ts->reason, (int)h->reason);
        if (h->ts->due_ms < now)
            h->ts->due_ms = now + (long long)backoff_ms(h->ts->attempt);
    }
    bool was_empty = s->whead == NULL;
    list_insert(s, h);
    if (was_empty)
        pthread_cond_signal(&s->wcond);
    long long next = h->ts->due_ms - now;
    pthread_mutex_unlock(&s->wlock);
    if (failure)
        log_waiting(s, h->ts, h->topic, h->err, NULL, next > 0 ? next : 0);
}

/* A record produced again failed again with a transient error: back into
 * the list at its place, its topic's next round after the backoff. */
static void requeue(kafka_sink_t *s, held_t *h, rd_kafka_resp_err_t err)
{
    kafka_wait_reason_t r;
    kafka_err_classify(err, &r);
    atomic_fetch_sub(&s->held_by[h->reason], 1);
    atomic_fetch_add(&s->held_by[r], 1);
    h->reason = r;
    h->err = err;
    pthread_mutex_lock(&s->wlock);
    long long now = clock_mono_ms();
    atomic_store(&h->ts->reason, (int)r);
    if (h->ts->due_ms < now + (long long)backoff_ms(h->ts->attempt))
        h->ts->due_ms = now + (long long)backoff_ms(h->ts->attempt);
    list_insert(s, h);
    if (--h->ts->inflight == 0)
        pthread_cond_signal(&s->wcond);
    long long next = h->ts->due_ms - now;
    pthread_mutex_unlock(&s->wlock);
    log_waiting(s, h->ts, h->topic, err, NULL, next);
}

/* Queues a dead letter (H taken). On a transient refusal it waits like any
 * record (DLQ_OF_FAILED); on a permanent one the record is counted lost and
 * settled. WHAT says what failed, for the log. */
static rd_kafka_resp_err_t send_dead_letter(kafka_sink_t *s, const void *key, size_t key_len,
                                            const void *value, size_t len, rd_kafka_headers_t *h,
                                            record_ack_t ack, const char *what)
{
    rd_kafka_resp_err_t err = queue_dead_letter(s, key, key_len, value, len, h, ack);
    if (err == RD_KAFKA_RESP_ERR_NO_ERROR) {
        atomic_fetch_add(&s->produced, 1);
        return err;
    }
    if (kafka_err_classify(err, NULL) != KAFKA_ERR_PERMANENT) {
        held_t *w = held_new(s->hot, &s->overflow, s->dlq_topic, key, key_len, value, len, h, 0,
                             ack, DLQ_OF_FAILED, err);
        if (w) {
            atomic_fetch_add(&s->produced, 1);
            hold(s, w, true);
            return RD_KAFKA_RESP_ERR_NO_ERROR;
        }
    } else {
        rd_kafka_headers_destroy(h);
    }
    uint64_t n = atomic_fetch_add(&s->lost, 1) + 1;
    log_error("kafka", "record lost: %s, and its dead letter could not be queued: %s "
                       "(%llu lost so far)",
              what, rd_kafka_err2str(err), (unsigned long long)n);
    settle(s, ack);
    return err;
}

/* A waiting record failed for good (ERR, or WHY when the sink found out
 * itself): to the dead-letter topic; lost if that fails too. Frees H. */
static void dead_letter_held(kafka_sink_t *s, held_t *h, rd_kafka_resp_err_t err, const char *why)
{
    char reason[400];
    if (why)
        snprintf(reason, sizeof(reason), "delivery to %s failed: %s", h->topic, why);
    else
        snprintf(reason, sizeof(reason), "delivery to %s failed: %s (%s)", h->topic,
                 rd_kafka_err2str(err), rd_kafka_err2name(err));
    if (h->flags & DLQ_OF_FAILED) { /* a dead letter already */
        uint64_t n = atomic_fetch_add(&s->lost, 1) + 1;
        log_error("kafka", "record lost: its dead letter to %s failed too: %s (%llu lost so far)",
                  h->topic, rd_kafka_err2str(err), (unsigned long long)n);
        settle(s, h->ack);
        held_free(s, h);
        return;
    }
    count_reason(s, err);
    uint64_t n = atomic_fetch_add(&s->failed, 1) + 1;
    if (log_every(n))
        log_error("kafka", "%s; sending it to %s (%llu so far)", reason, s->dlq_topic,
                  (unsigned long long)n);
    rd_kafka_headers_t *hd =
        dead_letter_headers(h->hdrs, h->keep_reason ? NULL : reason,
                            (const char *const[]){DEAD_LETTER_KAFKA_TOPIC, h->topic, NULL});
    send_dead_letter(s, h->key, h->key_len, h->value, h->len, hd, h->ack, reason);
    held_free(s, h);
}

/* Produces H again (a copy of its headers goes along; librdkafka reads its
 * key and value in place: H lives until the report). Waits while the queue
 * is full. Returns the error of a refusal. */
static rd_kafka_resp_err_t produce_held(kafka_sink_t *s, held_t *h)
{
    for (;;) {
        rd_kafka_headers_t *hc = h->hdrs ? rd_kafka_headers_copy(h->hdrs) : NULL;
        rd_kafka_resp_err_t err = rd_kafka_producev(
            h->pr->rk, RD_KAFKA_V_TOPIC(h->topic), RD_KAFKA_V_MSGFLAGS(0),
            RD_KAFKA_V_KEY(h->key, h->key_len), RD_KAFKA_V_VALUE(h->value, h->len),
            RD_KAFKA_V_HEADERS(hc), RD_KAFKA_V_TIMESTAMP(h->timestamp),
            RD_KAFKA_V_OPAQUE((void *)((uintptr_t)h | RETRIED)), RD_KAFKA_V_END);
        if (err == RD_KAFKA_RESP_ERR_NO_ERROR)
            return err;
        if (hc)
            rd_kafka_headers_destroy(hc);
        if (err != RD_KAFKA_RESP_ERR__QUEUE_FULL || atomic_load(&s->closed))
            return err;
        struct timespec ts = {0, 5000000}; /* the main thread serves reports */
        nanosleep(&ts, NULL);
    }
}

typedef enum { ROUND_PRODUCE, ROUND_WAIT, ROUND_DEAD_LETTER } round_t;

/* Asks a broker about TOPIC (with auto-creation allowed, the request also
 * creates it where the broker may). Blocks up to METADATA_TIMEOUT_MS: the
 * waiting thread only. WHY gets the reason for WAIT and DEAD_LETTER. */
static round_t check_topic(kafka_sink_t *s, producer_t *pr, topic_state_t *ts, const char *topic,
                           rd_kafka_resp_err_t *err, char *why, size_t why_size)
{
    rd_kafka_topic_t *rkt = rd_kafka_topic_new(pr->rk, topic, NULL);
    const struct rd_kafka_metadata *md = NULL;
    rd_kafka_resp_err_t merr =
        rkt ? rd_kafka_metadata(pr->rk, 0, rkt, &md, METADATA_TIMEOUT_MS) : rd_kafka_last_error();
    if (rkt)
        rd_kafka_topic_destroy(rkt);
    if (merr != RD_KAFKA_RESP_ERR_NO_ERROR || !md) { /* no broker answered: Kafka is away */
        snprintf(why, why_size, "no broker answered a metadata request: %s",
                 rd_kafka_err2str(merr));
        return ROUND_WAIT;
    }
    rd_kafka_resp_err_t terr = RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART;
    int partitions = 0;
    for (int i = 0; i < md->topic_cnt; i++)
        if (strcmp(md->topics[i].topic, topic) == 0) {
            terr = md->topics[i].err;
            partitions = md->topics[i].partition_cnt;
        }
    rd_kafka_metadata_destroy(md);
    long long now = clock_mono_ms();
    round_t r = ROUND_WAIT;
    pthread_mutex_lock(&s->wlock);
    if (terr == RD_KAFKA_RESP_ERR_NO_ERROR && partitions > 0) {
        ts->absent_since_ms = 0;
        r = ROUND_PRODUCE;
    } else if (terr == RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART) {
        /* The broker says it does not exist, although the request allowed
         * its creation. Once could be a broker still starting; twice,
         * seconds apart, it is absent and will stay so. */
        if (!ts->absent_since_ms) {
            ts->absent_since_ms = now;
            snprintf(why, why_size, "a broker says the topic does not exist; asking again in "
                                    "%d s before dead-lettering",
                     ABSENT_CONFIRM_MS / 1000);
            ts->due_ms = now + ABSENT_CONFIRM_MS;
        } else if (now - ts->absent_since_ms >= ABSENT_CONFIRM_MS) {
            snprintf(why, why_size,
                     "topic %.249s does not exist and the broker did not create it (two metadata "
                     "answers %lld s apart; auto.create.topics.enable is off on the broker, or "
                     "allow.auto.create.topics false here)",
                     topic, (now - ts->absent_since_ms) / 1000);
            r = ROUND_DEAD_LETTER;
        } else {
            snprintf(why, why_size, "a broker says the topic does not exist; asking again");
            ts->due_ms = ts->absent_since_ms + ABSENT_CONFIRM_MS;
        }
    } else if (terr != RD_KAFKA_RESP_ERR_NO_ERROR &&
               kafka_err_classify(terr, NULL) == KAFKA_ERR_PERMANENT) {
        snprintf(why, why_size, "%s (%s)", rd_kafka_err2str(terr), rd_kafka_err2name(terr));
        r = ROUND_DEAD_LETTER;
    } else { /* being created: no leader yet, no partitions yet */
        ts->absent_since_ms = 0;
        snprintf(why, why_size, "the topic is being created (%s)",
                 terr ? rd_kafka_err2name(terr) : "no partitions yet");
    }
    pthread_mutex_unlock(&s->wlock);
    *err = terr;
    return r;
}

/* Takes TOPIC's records (state TS) out of the waiting list, in order, as a
 * chain; *N says how many. wlock held. */
static held_t *list_take_topic(kafka_sink_t *s, const topic_state_t *ts, const char *topic,
                               size_t *n)
{
    held_t *take = NULL, **tail = &take, **pp = &s->whead;
    *n = 0;
    s->wtail = NULL;
    while (*pp) {
        held_t *h = *pp;
        if (h->ts == ts && strcmp(h->topic, topic) == 0) {
            *pp = h->next;
            h->next = NULL;
            *tail = h;
            tail = &h->next;
            (*n)++;
        } else {
            s->wtail = h;
            pp = &h->next;
        }
    }
    s->whint = NULL;
    atomic_fetch_sub(&s->listed, *n);
    return take;
}

/* One round for the topic of FIRST (wlock held on entry and on return;
 * released while talking to Kafka). */
static void round_topic(kafka_sink_t *s, held_t *first)
{
    topic_state_t *ts = first->ts;
    producer_t *pr = first->pr;
    char topic[512], why[512] = "";
    snprintf(topic, sizeof(topic), "%s", first->topic);
    /* FIRST stays valid while it is in the list (only this thread takes
     * records out); once taken, a report may free it: copied here. */
    const rd_kafka_resp_err_t first_err = first->err;
    const bool unknown_topic = kafka_err_classify(first_err, NULL) == KAFKA_ERR_TOPIC_UNKNOWN;
    rd_kafka_resp_err_t err = first_err;
    unsigned attempt = ts->attempt++;
    round_t r = ROUND_PRODUCE;
    if (unknown_topic) {
        long long due = ts->due_ms;
        pthread_mutex_unlock(&s->wlock);
        r = check_topic(s, pr, ts, topic, &err, why, sizeof(why));
        pthread_mutex_lock(&s->wlock);
        if (r == ROUND_WAIT) {
            long long now = clock_mono_ms();
            if (ts->due_ms == due) /* check_topic did not set it */
                ts->due_ms = now + (long long)backoff_ms(attempt);
            long long next = ts->due_ms - now;
            pthread_mutex_unlock(&s->wlock);
            log_waiting(s, ts, topic, first_err, why, next);
            pthread_mutex_lock(&s->wlock);
            return;
        }
    }
    size_t n;
    held_t *take = list_take_topic(s, ts, topic, &n);
    if (r == ROUND_PRODUCE)
        ts->inflight += (unsigned)n;
    pthread_mutex_unlock(&s->wlock);
    if (r == ROUND_DEAD_LETTER) {
        log_error("kafka", "%zu waiting record(s) for %s go to %s: %s", n, topic, s->dlq_topic,
                  why);
        while (take) {
            held_t *h = take;
            take = h->next;
            dead_letter_held(s, h, err, why);
        }
        pthread_mutex_lock(&s->wlock);
        return;
    }
    if (attempt > 0 || unknown_topic)
        log_info("kafka", "producing %zu waiting record(s) for %s again", n, topic);
    while (take) {
        held_t *h = take;
        take = h->next;
        h->next = NULL;
        rd_kafka_resp_err_t perr = produce_held(s, h);
        if (perr == RD_KAFKA_RESP_ERR_NO_ERROR)
            continue;
        if (atomic_load(&s->closed) || kafka_err_classify(perr, NULL) != KAFKA_ERR_PERMANENT) {
            /* Refused for now: it and the rest wait for the next round. */
            requeue(s, h, perr);
            while (take) {
                h = take;
                take = h->next;
                requeue(s, h, perr);
            }
            break;
        }
        pthread_mutex_lock(&s->wlock);
        ts->inflight--; /* this thread runs the next round: no signal needed */
        pthread_mutex_unlock(&s->wlock);
        dead_letter_held(s, h, perr, NULL);
    }
    pthread_mutex_lock(&s->wlock);
}

/* The waiting thread: runs each topic's round when its backoff is over and
 * none of its records is being produced again. */
static void *waiting_main(void *arg)
{
    kafka_sink_t *s = arg;
    pthread_mutex_lock(&s->wlock);
    while (!s->wstop) {
        long long now = clock_mono_ms(), wake = now + 1000;
        held_t *first = NULL;
        for (held_t *h = atomic_load(&s->closed) ? NULL : s->whead; h; h = h->next) {
            if (h->ts->inflight)
                continue;
            if (h->ts->due_ms > now) {
                if (h->ts->due_ms < wake)
                    wake = h->ts->due_ms;
                continue;
            }
            first = h;
            break;
        }
        if (first) {
            round_topic(s, first);
            continue;
        }
        struct timespec until;
        clock_gettime(CLOCK_MONOTONIC, &until);
        long long ms = wake - now;
        until.tv_sec += ms / 1000;
        until.tv_nsec += (ms % 1000) * 1000000L;
        if (until.tv_nsec >= 1000000000L) {
            until.tv_sec++;
            until.tv_nsec -= 1000000000L;
        }
        pthread_cond_timedwait(&s->wcond, &s->wlock, &until);
    }
    pthread_mutex_unlock(&s->wlock);
    return NULL;
}

/* Delivery report of a record produced again from the waiting list. */
static void on_retried_report(kafka_sink_t *s, const rd_kafka_message_t *m, held_t *h)
{
    bool purged = m->err == RD_KAFKA_RESP_ERR__PURGE_QUEUE ||
                  m->err == RD_KAFKA_RESP_ERR__PURGE_INFLIGHT || m->err == RD_KAFKA_RESP_ERR__DESTROY;
    if (m->err == RD_KAFKA_RESP_ERR_NO_ERROR || (purged && atomic_load(&s->closed)) ||
        kafka_err_classify(m->err, NULL) == KAFKA_ERR_PERMANENT) {
        pthread_mutex_lock(&s->wlock);
        /* The topic's next round may start once its last report is in. */
        if (--h->ts->inflight == 0)
            pthread_cond_signal(&s->wcond);
        if (m->err == RD_KAFKA_RESP_ERR_NO_ERROR) {
            h->ts->attempt = 0;
            h->ts->absent_since_ms = 0;
        }
        pthread_mutex_unlock(&s->wlock);
        if (m->err == RD_KAFKA_RESP_ERR_NO_ERROR) {
            atomic_fetch_add(&s->delivered, 1);
            settle(s, h->ack);
            held_free(s, h);
        } else if (purged) { /* shutdown: a spooled record is sent at the next start */
            held_free(s, h);
        } else {
            dead_letter_held(s, h, m->err, NULL);
        }
        return;
    }
    requeue(s, h, m->err);
}

/* A delivery failed with a transient error: a copy of the record waits.
 * False when out of memory (the caller dead-letters it instead). */
static bool hold_failed(kafka_sink_t *s, rd_kafka_t *rk, const rd_kafka_message_t *m,
                        record_ack_t ack, unsigned flags)
{
    rd_kafka_headers_t *orig = NULL;
    rd_kafka_headers_t *hdrs = rd_kafka_message_headers(m, &orig) == RD_KAFKA_RESP_ERR_NO_ERROR
                                   ? rd_kafka_headers_copy(orig)
                                   : NULL;
    int64_t ts = rd_kafka_message_timestamp(m, NULL); /* -1: none, then 0: now */
    held_t *h = held_new(producer_of(s, rk), state_of(s, m->rkt), rd_kafka_topic_name(m->rkt),
                         m->key, m->key_len, m->payload, m->len, hdrs, ts > 0 ? ts : 0, ack,
                         flags, m->err);
    if (!h)
        return false;
    hold(s, h, true);
    return true;
}

static void dead_letter_failed(kafka_sink_t *s, const rd_kafka_message_t *m, record_ack_t ack)
{
    char reason[300];
    snprintf(reason, sizeof(reason), "delivery to %s failed: %s (%s)", rd_kafka_topic_name(m->rkt),
             rd_kafka_err2str(m->err), rd_kafka_err2name(m->err));
    rd_kafka_headers_t *orig = NULL;
    if (rd_kafka_message_headers(m, &orig) != RD_KAFKA_RESP_ERR_NO_ERROR)
        orig = NULL;
    const char *const pairs[] = {DEAD_LETTER_KAFKA_TOPIC, rd_kafka_topic_name(m->rkt), NULL};
    rd_kafka_headers_t *h = dead_letter_headers(orig, reason, pairs);
    send_dead_letter(s, m->key, m->key_len, m->payload, m->len, h, ack, reason);
}

static void on_delivery(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
    kafka_sink_t *s = opaque;
    if ((uintptr_t)m->_private & RETRIED) {
        on_retried_report(s, m, (held_t *)((uintptr_t)m->_private & ~(uintptr_t)OPAQUE_FLAGS));
        return;
    }
    record_ack_t ack = ack_of(m->_private);
    unsigned flags = (unsigned)((uintptr_t)m->_private & DLQ_OF_FAILED);
    if (m->err == RD_KAFKA_RESP_ERR_NO_ERROR) {
        atomic_fetch_add(&s->delivered, 1);
        settle(s, ack);
        return;
    }
    /* Purged at shutdown: a spooled record stays in the spool for the next start. */
    if (atomic_load(&s->closed) &&
        (m->err == RD_KAFKA_RESP_ERR__PURGE_QUEUE || m->err == RD_KAFKA_RESP_ERR__PURGE_INFLIGHT ||
         m->err == RD_KAFKA_RESP_ERR__DESTROY))
        return;
    /* Transient (kafka_errors.c): never dead-lettered, it waits. */
    if (kafka_err_classify(m->err, NULL) != KAFKA_ERR_PERMANENT &&
        hold_failed(s, rk, m, ack, flags))
        return;
    if ((flags & DLQ_OF_FAILED) && too_large(m->err) && m->len > 0) {
        /* The dead-letter topic refused it for its size: once more without
         * the value. */
        rd_kafka_headers_t *orig = NULL;
        if (rd_kafka_message_headers(m, &orig) != RD_KAFKA_RESP_ERR_NO_ERROR)
            orig = NULL;
        rd_kafka_headers_t *h = dead_letter_headers(orig, NULL, NULL); /* kept as they are */
        dead_letter_value_bytes(h, m->len);
        rd_kafka_resp_err_t err = queue_dead_letter(s, m->key, m->key_len, NULL, 0, h, ack);
        if (err == RD_KAFKA_RESP_ERR_NO_ERROR)
            return;
        rd_kafka_headers_destroy(h);
    }
    if (flags & DLQ_OF_FAILED) {
        uint64_t n = atomic_fetch_add(&s->lost, 1) + 1;
        log_error("kafka", "record lost: its dead letter to %s failed too: %s (%llu lost so far)",
                  rd_kafka_topic_name(m->rkt), rd_kafka_err2str(m->err), (unsigned long long)n);
        settle(s, ack);
        return;
    }
    count_reason(s, m->err);
    uint64_t n = atomic_fetch_add(&s->failed, 1) + 1;
    /* One line per failure for the first ones, then every 1000th. */
    if (log_every(n))
        log_error("kafka", "delivery to %s failed: %s; sending it to %s (%llu so far)",
                  rd_kafka_topic_name(m->rkt), rd_kafka_err2str(m->err), s->dlq_topic,
                  (unsigned long long)n);
    dead_letter_failed(s, m, ack);
}

/* librdkafka statistics (every 2 s): how many brokers are UP. */
// cppcheck-suppress constParameter ; librdkafka's stats_cb signature
static int on_stats(rd_kafka_t *rk, char *json, size_t len, void *opaque)
{
    kafka_sink_t *s = opaque;
    if (s->hot && rk != s->hot->rk)
        return 0;
    uint64_t up = 0, errs = 0;
    kafka_client_stats(json, len, &up, &errs);
    atomic_store(&s->brokers_up, up);
    atomic_store(&s->broker_errors, errs);
    return 0; /* librdkafka frees JSON */
}

static void on_error(rd_kafka_t *rk, int err, const char *reason, void *opaque)
{
    kafka_sink_t *s = opaque;
    atomic_fetch_add(&s->errors, 1);
    if (err == RD_KAFKA_RESP_ERR__FATAL) {
        char buf[512];
        rd_kafka_fatal_error(rk, buf, sizeof(buf));
        log_error("kafka", "fatal producer error: %s", buf);
        return;
    }
    kafka_client_report_error(rk, err, reason);
}

/* Bridge defaults, set first so that kafka.properties and the profile
 * override them. queue.buffering.max.kbytes bounds memory while Kafka is
 * away (librdkafka's default is 1 GiB); when it is reached, MQTT intake
 * pauses and the broker keeps the backlog. */
static const char *const producer_defaults[] = {
    "enable.idempotence", "true",
    "acks", "all",
    "queue.buffering.max.kbytes", "65536",
    /* Never give up on a record while Kafka is away (librdkafka's default
     * is 5 minutes, after which it would be dead-lettered). */
    "message.timeout.ms", "0",
    "statistics.interval.ms", "2000", /* brokers up, for metrics and /readyz */
    NULL,
};

/* With the spool the journal holds the backlog: a smaller queue is enough
 * to keep batches full and bounds memory during an outage and the drain
 * after it. Counted in records too: a queued record costs about 600 bytes
 * of heap beyond its value (message, headers), so librdkafka's default of
 * 100,000 records took 60 MiB more RSS while a backlog drained (make
 * faults, kafka-outage). */
static const char *const spool_defaults[] = {
    "queue.buffering.max.kbytes", "16384",
    "queue.buffering.max.messages", "10000",
    NULL,
};

/* The profile's settings over kafka.properties: a built-in profile's pairs,
 * or a configured one's fields and properties. */
static int profile_props(rd_kafka_conf_t *conf, const config_profile_t *p,
                         const char *const *builtin, const char *where, char *errstr,
                         size_t errstr_size)
{
    if (builtin)
        return kafka_client_set_pairs(conf, builtin, where, errstr, errstr_size);
    char linger[32], batch[32], acks[8];
    snprintf(linger, sizeof(linger), "%lld", p->linger_ms);
    snprintf(batch, sizeof(batch), "%lld", p->batch_bytes);
    snprintf(acks, sizeof(acks), "%d", p->acks); /* -1: all */
    const char *const pairs[] = {"linger.ms", linger, "batch.size", batch,
                                 "compression.type", p->compression, NULL};
    int rc;
    if ((rc = kafka_client_set_pairs(conf, pairs, where, errstr, errstr_size)))
        return rc;
    if (p->acks != -1 &&
        ((rc = kafka_client_set(conf, "enable.idempotence", "false", where, errstr,
                                errstr_size)) ||
         (rc = kafka_client_set(conf, "acks", acks, where, errstr, errstr_size))))
        return rc;
    for (size_t i = 0; i < p->properties_n; i++)
        if ((rc = kafka_client_set(conf, p->properties[i].key, p->properties[i].value, where,
                                   errstr, errstr_size)))
            return rc;
    return MKB_OK;
}

static int new_producer(kafka_sink_t *s, const config_t *cfg, const char *name, char *errstr,
                        size_t errstr_size)
{
    const char *const *builtin = NULL;
    const config_profile_t *p = config_profile(cfg, name, &builtin);
    char where[200], cid[200];
    snprintf(where, sizeof(where), "kafka profile '%s'", name);
    snprintf(cid, sizeof(cid), "mqtt-kafka-bridge-%s", name);
    if (!p) {
        snprintf(errstr, errstr_size, "%s: no such profile", where);
        return MKB_ERR_CONFIG;
    }
    int rc;
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    if ((rc = kafka_client_set_pairs(conf, producer_defaults, "defaults", errstr, errstr_size)) ||
        (cfg->spool_dir &&
         (rc = kafka_client_set_pairs(conf, spool_defaults, "defaults", errstr, errstr_size))) ||
        (rc = kafka_client_apply(conf, cfg, KAFKA_CLIENT_PRODUCER, cid, where, errstr,
                                 errstr_size)) ||
        (rc = profile_props(conf, p, builtin, where, errstr, errstr_size))) {
        rd_kafka_conf_destroy(conf);
        return rc;
    }
    rd_kafka_conf_set_opaque(conf, s);
    rd_kafka_conf_set_dr_msg_cb(conf, on_delivery);
    rd_kafka_conf_set_error_cb(conf, on_error); /* counts, then as kafka_client's */
    rd_kafka_conf_set_stats_cb(conf, on_stats);
    producer_t *pr = &s->producers[s->nproducers];
    if (!(pr->topics = calloc(TOPIC_SLOTS, sizeof(*pr->topics))) || !(pr->name = strdup(name))) {
        free(pr->topics);
        rd_kafka_conf_destroy(conf);
        snprintf(errstr, errstr_size, "out of memory");
        return MKB_ERR_NOMEM;
    }
    if (!(pr->rk = kafka_client_new(KAFKA_CLIENT_PRODUCER, conf, where, errstr, errstr_size))) {
        free(pr->topics);
        free(pr->name);
        memset(pr, 0, sizeof(*pr));
        return MKB_ERR_KAFKA;
    }
    s->nproducers++;
    return MKB_OK;
}

/* librdkafka before 2.6.1 repeats the client nonce in its SCRAM final
 * message (librdkafka PR 4895); Kafka 4 checks it strictly and refuses the
 * login as "invalid credentials" even when the password is right. */
#define SCRAM_FIXED_VERSION 0x020601ff
static void warn_scram(const config_t *cfg)
{
    if (rd_kafka_version() >= SCRAM_FIXED_VERSION)
        return;
    for (size_t i = 0; i < cfg->kafka_properties_n; i++) {
        const char *k = cfg->kafka_properties[i].key, *v = cfg->kafka_properties[i].value;
        if ((strcmp(k, "sasl.mechanism") == 0 || strcmp(k, "sasl.mechanisms") == 0) &&
            strncmp(v, "SCRAM-", 6) == 0)
            log_warn("kafka",
                     "sasl.mechanism %s with librdkafka %s: Kafka 4 brokers refuse SCRAM logins "
                     "from librdkafka before 2.6.1 as invalid credentials even with the right "
                     "password (librdkafka PR 4895); use librdkafka 2.6.1 or later, or PLAIN "
                     "over SASL_SSL",
                     v, rd_kafka_version_str());
    }
}

int kafka_sink_new(const config_t *cfg, const char *const *profiles, size_t nprofiles,
                   kafka_sink_t **out, char *errstr, size_t errstr_size)
{
    int rc = MKB_ERR_NOMEM;
    kafka_sink_t *s = calloc(1, sizeof(*s));
    if (!s || !(s->dlq_topic = strdup(cfg->kafka_dead_letter_topic))) {
        free(s);
        snprintf(errstr, errstr_size, "out of memory");
        return rc;
    }
    s->queue_wait_ms = cfg->kafka_queue_wait_ms;
    /* Records waiting on a transient error take at most what the producer
     * queue may (queue.buffering.max.kbytes below) before produce waits. */
    s->wait_max_bytes = (uint64_t)(cfg->spool_dir ? 16384 : 65536) * 1024;
    pthread_mutex_init(&s->reasons_lock, NULL);
    pthread_mutex_init(&s->wlock, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&s->wcond, &ca);
    pthread_condattr_destroy(&ca);
    if ((rc = new_producer(s, cfg, "hot", errstr, errstr_size)) != MKB_OK)
        goto destroy;
    for (size_t i = 0; i < nprofiles; i++) {
        if (kafka_sink_has_profile(s, profiles[i]))
            continue;
        if (s->nproducers == MAX_PROFILES) {
            snprintf(errstr, errstr_size, "more than %d producer profiles in use", MAX_PROFILES);
            rc = MKB_ERR_CONFIG;
            goto destroy;
        }
        if ((rc = new_producer(s, cfg, profiles[i], errstr, errstr_size)) != MKB_OK)
            goto destroy;
    }
    s->hot = &s->producers[0];
    if (pthread_create(&s->wthread, NULL, waiting_main, s) != 0) {
        snprintf(errstr, errstr_size, "cannot start the Kafka waiting thread");
        rc = MKB_ERR_NOMEM;
        goto destroy;
    }
    s->wthread_running = true;
    warn_scram(cfg);
    *out = s;
    return MKB_OK;
destroy:
    kafka_sink_destroy(s);
    return rc;
}

void kafka_sink_destroy(kafka_sink_t *s)
{
    if (!s)
        return;
    atomic_store(&s->closed, true);
    if (s->wthread_running) {
        pthread_mutex_lock(&s->wlock);
        s->wstop = true;
        pthread_cond_signal(&s->wcond);
        pthread_mutex_unlock(&s->wlock);
        pthread_join(s->wthread, NULL);
    }
    /* Records produced again from the waiting list: their reports free
     * them (unacknowledged: with the spool they are sent at the next start). */
    for (size_t p = 0; p < s->nproducers; p++) {
        rd_kafka_purge(s->producers[p].rk, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
        rd_kafka_flush(s->producers[p].rk, 1000);
    }
    while (s->whead) {
        held_t *h = s->whead;
        s->whead = h->next;
        held_free(s, h);
    }
    for (size_t p = 0; p < s->nproducers; p++) {
        producer_t *pr = &s->producers[p];
        for (size_t i = 0; i < TOPIC_SLOTS; i++)
            if (pr->topics[i].rkt)
                rd_kafka_topic_destroy(pr->topics[i].rkt);
        free(pr->topics);
        rd_kafka_destroy(pr->rk);
        free(pr->name);
    }
    pthread_mutex_destroy(&s->reasons_lock);
    pthread_mutex_destroy(&s->wlock);
    pthread_cond_destroy(&s->wcond);
    free(s->dlq_topic);
    free(s);
}

bool kafka_sink_has_profile(const kafka_sink_t *s, const char *profile)
{
    for (size_t i = 0; i < s->nproducers; i++)
        if (strcmp(s->producers[i].name, profile) == 0)
            return true;
    return false;
}

static producer_t *producer_for(kafka_sink_t *s, const char *profile)
{
    if (!profile)
        return s->hot;
    for (size_t i = 0; i < s->nproducers; i++)
        if (s->producers[i].name == profile || strcmp(s->producers[i].name, profile) == 0)
            return &s->producers[i];
    return s->hot; /* unreachable: routes are checked against the sink */
}

/* The cached handle for NAME (and its state: the handle's opaque),
 * created on first use; NULL past MAX_TOPICS. */
static topic_slot_t *topic_handle(producer_t *pr, const char *name)
{
    uint32_t h = hash_fnv1a_str(name);
    for (size_t i = h & (TOPIC_SLOTS - 1);; i = (i + 1) & (TOPIC_SLOTS - 1)) {
        topic_slot_t *slot = &pr->topics[i];
        if (!slot->rkt) {
            if (pr->ntopics == MAX_TOPICS)
                return NULL;
            /* The producer's default topic configuration, plus the state. */
            rd_kafka_topic_conf_t *tc = rd_kafka_default_topic_conf_dup(pr->rk);
            if (!tc)
                return NULL;
            rd_kafka_topic_conf_set_opaque(tc, &slot->st);
            if (!(slot->rkt = rd_kafka_topic_new(pr->rk, name, tc))) /* takes tc */
                return NULL;
            slot->hash = h;
            pr->ntopics++;
            return slot;
        }
        if (slot->hash == h && strcmp(rd_kafka_topic_name(slot->rkt), name) == 0)
            return slot;
    }
}

/* REC's headers, its id (mkb.id) last; NULL when it has none. */
static rd_kafka_headers_t *record_headers(const record_t *rec)
{
    if (!rec->nheaders && !rec->id)
        return NULL;
    rd_kafka_headers_t *hdrs = rd_kafka_headers_new(rec->nheaders + (rec->id ? 1 : 0));
    for (size_t i = 0; i < rec->nheaders; i++)
        rd_kafka_header_add(hdrs, rec->headers[i].name, -1, rec->headers[i].value,
                            (ssize_t)rec->headers[i].value_len);
    if (rec->id)
        rd_kafka_header_add(hdrs, "mkb.id", -1, rec->id, -1);
    return hdrs;
}

/* librdkafka refused REC outright with a permanent error (too large, an
 * invalid topic...): it goes to the dead-letter topic instead; lost only if
 * that fails too. A dead letter refused for its size is sent again without
 * its value. */
static int refused(kafka_sink_t *s, const record_t *rec, rd_kafka_resp_err_t err,
                   record_ack_t ack)
{
    char reason[300];
    snprintf(reason, sizeof(reason), "producing to %s failed: %s (%s)", rec->topic,
             rd_kafka_err2str(err), rd_kafka_err2name(err));
    rd_kafka_resp_err_t derr = RD_KAFKA_RESP_ERR__INVALID_ARG;
    count_reason(s, err);
    if (!rec->dead_letter || too_large(err)) {
        /* a dead letter keeps its own reason */
        rd_kafka_headers_t *h =
            dead_letter_mark(record_headers(rec), rec->dead_letter ? NULL : reason,
                             (const char *const[]){DEAD_LETTER_KAFKA_TOPIC, rec->topic, NULL});
        derr = queue_dead_letter(s, rec->key, rec->key_len, rec->value, rec->value_len, h, ack);
        if (derr && kafka_err_classify(derr, NULL) != KAFKA_ERR_PERMANENT) {
            held_t *w = held_new(s->hot, &s->overflow, s->dlq_topic, rec->key, rec->key_len,
                                 rec->value, rec->value_len, h, 0, ack, DLQ_OF_FAILED, derr);
            if (w) {
                hold(s, w, true);
                derr = RD_KAFKA_RESP_ERR_NO_ERROR;
            }
        } else if (derr) {
            rd_kafka_headers_destroy(h);
        }
    }
    if (derr == RD_KAFKA_RESP_ERR_NO_ERROR) {
        atomic_fetch_add(&s->produced, 1);
        uint64_t n = atomic_fetch_add(&s->failed, 1) + 1;
        if (log_every(n))
            log_error("kafka", "%s; sent to %s (%llu so far)", reason, s->dlq_topic,
                      (unsigned long long)n);
        return MKB_OK;
    }
    uint64_t n = atomic_fetch_add(&s->lost, 1) + 1;
    log_error("kafka", "record lost: %s, and no dead letter could be queued: %s (%llu lost so far)",
              reason, rd_kafka_err2str(derr), (unsigned long long)n);
    settle(s, ack);
    return MKB_ERR_KAFKA;
}

void kafka_sink_set_ack(kafka_sink_t *s, kafka_sink_ack_t ack, void *opaque)
{
    s->ack = ack;
    s->ack_opaque = opaque;
}


/* Waits while full (the time a warning is due in *WARN_AT, 0 at first);
 * true when there is room, false once the sink is closed. */
static bool wait_room(kafka_sink_t *s, const producer_t *pr, bool full, long long *warn_at)
{
    if (!full)
        return true;
    if (atomic_load(&s->closed))
        return false;
    if (*warn_at == 0) {
        atomic_store(&s->full_since_ms, clock_mono_ms()); /* readiness: intake paused */
        atomic_fetch_add(&s->queue_waits, 1);
        *warn_at = clock_mono_ms() + s->queue_wait_ms;
    } else if (clock_mono_ms() >= *warn_at) {
        log_warn("kafka", "producer '%s' queue full for %lld ms (%d records outstanding, %llu "
                          "waiting on a transient error); still waiting",
                 pr->name, s->queue_wait_ms, rd_kafka_outq_len(pr->rk),
                 (unsigned long long)atomic_load(&s->held_n));
        *warn_at = clock_mono_ms() + s->queue_wait_ms;
    }
    struct timespec ts = {0, 1000000}; /* 1 ms: the main thread serves reports */
    nanosleep(&ts, NULL);
    return true;
}

/* REC waits in the sink (ERR: why; NO_ERROR: behind its topic's waiting
 * records). False when out of memory. */
static bool hold_record(kafka_sink_t *s, producer_t *pr, topic_state_t *ts,
                        const record_t *rec, record_ack_t ack, rd_kafka_resp_err_t err)
{
    held_t *h = held_new(pr, ts, rec->topic, rec->key, rec->key_len, rec->value, rec->value_len,
                         record_headers(rec), rec->timestamp_ms, ack, 0, err);
    if (!h)
        return false;
    h->keep_reason = rec->dead_letter;
    atomic_fetch_add(&s->produced, 1);
    atomic_fetch_add(&s->bytes, rec->value_len);
    hold(s, h, err != RD_KAFKA_RESP_ERR_NO_ERROR);
    return true;
}

/* kafka_sink_produce's body; *WARN_AT is set (non-zero) once it waited. */
static int produce(kafka_sink_t *s, const record_t *rec, record_ack_t ack,
                   long long *warn_at)
{
    producer_t *pr = producer_for(s, rec->profile);
    topic_slot_t *slot = topic_handle(pr, rec->topic);
    rd_kafka_topic_t *rkt = slot ? slot->rkt : NULL;
    topic_state_t *ts = slot ? &slot->st : &s->overflow;
    for (;;) {
        /* Records of this topic wait on a transient error: this one queues
         * behind them (per-key order), within the memory bound. */
        if (atomic_load(&ts->held) > 0) {
            if (!wait_room(s, pr, atomic_load(&s->held_bytes) > s->wait_max_bytes, warn_at))
                return MKB_ERR_STOPPED;
            if (atomic_load(&s->held_bytes) > s->wait_max_bytes)
                continue;
            if (hold_record(s, pr, ts, rec, ack, RD_KAFKA_RESP_ERR_NO_ERROR))
                return MKB_OK;
        }
        rd_kafka_headers_t *hdrs = record_headers(rec);
        /* RD_KAFKA_MSG_F_COPY: the MQTT buffers are freed when the callback
         * returns, so librdkafka keeps its own copy. */
        rd_kafka_resp_err_t err =
            rkt ? rd_kafka_producev(pr->rk, RD_KAFKA_V_RKT(rkt),
                                    RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                                    RD_KAFKA_V_KEY(rec->key, rec->key_len),
                                    RD_KAFKA_V_VALUE((void *)rec->value, rec->value_len),
                                    RD_KAFKA_V_HEADERS(hdrs),
                                    RD_KAFKA_V_TIMESTAMP(rec->timestamp_ms),
                                    RD_KAFKA_V_OPAQUE(opaque_of(ack, 0)), RD_KAFKA_V_END)
                : rd_kafka_producev(pr->rk, RD_KAFKA_V_TOPIC(rec->topic),
                                    RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                                    RD_KAFKA_V_KEY(rec->key, rec->key_len),
                                    RD_KAFKA_V_VALUE((void *)rec->value, rec->value_len),
                                    RD_KAFKA_V_HEADERS(hdrs),
                                    RD_KAFKA_V_TIMESTAMP(rec->timestamp_ms),
                                    RD_KAFKA_V_OPAQUE(opaque_of(ack, 0)), RD_KAFKA_V_END);
        if (err == RD_KAFKA_RESP_ERR_NO_ERROR) {
            atomic_fetch_add(&s->produced, 1);
            atomic_fetch_add(&s->bytes, rec->value_len);
            return MKB_OK; /* the headers belong to librdkafka now */
        }
        if (hdrs) /* still ours: librdkafka refused the record */
            rd_kafka_headers_destroy(hdrs); /* (it does not take NULL) */
        if (err == RD_KAFKA_RESP_ERR__QUEUE_FULL) {
            if (!wait_room(s, pr, true, warn_at))
                return MKB_ERR_STOPPED;
            continue;
        }
        /* Refused now for a reason that passes (a topic not known yet...):
         * it waits, unless the memory bound says the caller must. */
        if (kafka_err_classify(err, NULL) == KAFKA_ERR_PERMANENT)
            return refused(s, rec, err, ack);
        if (!wait_room(s, pr, atomic_load(&s->held_bytes) > s->wait_max_bytes, warn_at))
            return MKB_ERR_STOPPED;
        if (atomic_load(&s->held_bytes) > s->wait_max_bytes)
            continue;
        if (hold_record(s, pr, ts, rec, ack, err))
            return MKB_OK;
        return refused(s, rec, err, ack); /* out of memory */
    }
}

int kafka_sink_produce(kafka_sink_t *s, const record_t *rec, uint64_t ticket)
{
    long long warn_at = 0;
    int rc = produce(s, rec, ack_for(rec, ticket), &warn_at);
    if (warn_at)
        atomic_store(&s->full_since_ms, 0); /* the wait (if any) is over */
    return rc;
}

void kafka_sink_poll(kafka_sink_t *s, int timeout_ms)
{
    /* Block on the first producer only; serve the others without waiting. */
    for (size_t i = 0; i < s->nproducers; i++)
        rd_kafka_poll(s->producers[i].rk, i == 0 ? timeout_ms : 0);
}

/* Records in the producers' queues plus those in the waiting list. */
static size_t outstanding(const kafka_sink_t *s)
{
    size_t left = (size_t)atomic_load(&s->listed);
    for (size_t i = 0; i < s->nproducers; i++) {
        int n = rd_kafka_outq_len(s->producers[i].rk);
        left += n > 0 ? (size_t)n : 0;
    }
    return left;
}

size_t kafka_sink_flush(kafka_sink_t *s, int timeout_ms)
{
    long long deadline = clock_mono_ms() + timeout_ms;
    /* Until nothing is left: a failed delivery of one producer may queue a
     * dead letter on "hot", and waiting records go out again after their
     * backoff (the waiting thread produces them meanwhile). */
    for (;;) {
        size_t left = outstanding(s);
        long long rest = deadline - clock_mono_ms();
        if (left == 0 || rest <= 0)
            return left;
        for (size_t i = 0; i < s->nproducers; i++) {
            rest = deadline - clock_mono_ms();
            rd_kafka_flush(s->producers[i].rk, rest <= 0 ? 0 : rest > 100 ? 100 : (int)rest);
        }
        if (atomic_load(&s->listed) && outstanding(s) == atomic_load(&s->listed)) {
            struct timespec ts = {0, 20000000}; /* only waiting records: their backoff */
            nanosleep(&ts, NULL);
        }
    }
}

void kafka_sink_close(kafka_sink_t *s)
{
    atomic_store(&s->closed, true);
    pthread_mutex_lock(&s->wlock);
    pthread_cond_signal(&s->wcond);
    pthread_mutex_unlock(&s->wlock);
}

int kafka_sink_fatal(kafka_sink_t *s, char *errstr, size_t errstr_size)
{
    for (size_t i = 0; i < s->nproducers; i++)
        if (rd_kafka_fatal_error(s->producers[i].rk, errstr, errstr_size) !=
            RD_KAFKA_RESP_ERR_NO_ERROR)
            return 1;
    return 0;
}

long long kafka_sink_queue_full_since(const kafka_sink_t *s)
{
    return atomic_load(&s->full_since_ms);
}

void kafka_sink_stats(const kafka_sink_t *s, kafka_sink_stats_t *out)
{
    out->produced = atomic_load(&s->produced);
    out->delivered = atomic_load(&s->delivered);
    out->failed = atomic_load(&s->failed);
    out->lost = atomic_load(&s->lost);
    out->queue_waits = atomic_load(&s->queue_waits);
    out->bytes = atomic_load(&s->bytes);
    out->errors = atomic_load(&s->errors);
    out->brokers_up = atomic_load(&s->brokers_up);
    out->broker_errors = atomic_load(&s->broker_errors);
    out->outstanding = outstanding(s);
    out->waiting = atomic_load(&s->held_n);
    for (int i = 0; i < KAFKA_WAIT_REASONS; i++)
        out->waiting_by[i] = atomic_load(&s->held_by[i]);
}
