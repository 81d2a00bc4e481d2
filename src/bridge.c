// SPDX-FileCopyrightText: 2026 The mqtt-kafka-bridge authors
// SPDX-License-Identifier: Apache-2.0
#include "bridge.h"

#include "bridge_metrics.h"
#include "clock.h"
#include "delivery.h"
#include "downlink.h"
#include "err.h"
#include "kafka_sink.h"
#include "log.h"
#include "mapper.h"
#include "metrics.h"
#include "mqtt_client.h"
#include "notify.h"
#include "spb_encode.h"
#include "spb_state.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* The routes in force: a configuration and the mapper compiled from it. */
typedef struct {
    config_t *cfg;
    mapper_t *mapper;
} rules_t;

struct bridge {
    char *path;
    /* Fixed at boot: the configuration started with, for what a reload
     * cannot change (connections, spool, metrics, producer profiles,
     * kafka.dead_letter_topic). The rule set a reload swaps is `rules`
     * (routes) and `commands` (command rules); all three hold references to
     * one load of the file (config_ref). */
    config_t *boot;
    long long flush_timeout_ms;
    rules_t *rules;       /* used by the mapping thread only (map_message) */
    /* Reload handoff without locks: the main thread stores new rules in
     * `next`; the mapping thread takes them before its next message and
     * leaves the old ones in `retired` for the main thread to free. */
    _Atomic(rules_t *) next;
    _Atomic(rules_t *) retired;
    kafka_sink_t *sink;
    mqtt_client_t *mqtt;
    /* Kafka -> MQTT; NULL without command rules. Swapped by a reload on the
     * main thread, read by /metrics (atomic). */
    _Atomic(downlink_t *) commands;
    /* Counters of the command sides a reload replaced, so that the
     * mkb_commands_* counters keep counting (main thread writes). */
    atomic_uint_fast64_t cmd_retired[6];
    config_t *commands_cfg; /* the command rules in force (main thread) */
    /* Command sides replaced by a reload, stopped: freed after the MQTT
     * client, as a PUBACK later than the stop's wait still calls into one. */
    downlink_t **old_commands;
    size_t nold_commands;
    metrics_t *metrics;   /* per-route counters, latency; the HTTP endpoint if configured */
    atomic_uint_fast64_t bytes_in;
    /* Records to Kafka: directly, or through the spool (delivery.h). */
    delivery_t *delivery;
    atomic_bool stopping; /* shutdown: callbacks waiting on the spool give up */
    atomic_bool parked;   /* a callback stays in journal() until exit (park) */
    long long queue_wait_ms;
    /* Readiness (see not_ready): MQTT intake paused since (monotonic ms, 0:
     * not) and why, set by journal() on Paho's thread; the last write to
     * the spool failed; the last time deliveries progressed or nothing
     * waited (main loop), and kafka.stall_timeout_ms. */
    atomic_llong intake_since_ms;
    _Atomic(const char *) intake_why;
    atomic_bool spool_unwritable;
    atomic_llong progress_ms;
    uint64_t settled_seen; /* main thread */
    long long stall_ms;
    atomic_uint_fast64_t received, unmatched, outside, records, dead_letters, reloads, reload_errors;
    /* Sparkplug B: the birth state of payload: sparkplug_b routes (kept
     * across reloads, in spool.dir/sparkplug-births), its counters, and the
     * rebirth requests the mapper makes on Paho's thread for the main loop
     * to publish (mqtt_client_publish is not for Paho's callbacks). */
    spb_state_t *spb;
    atomic_uint_fast64_t spb_gaps, spb_unresolved, spb_rebirths;
    pthread_mutex_t rebirth_lock;
    char *rebirths[16]; /* NCMD topics */
    size_t nrebirths;
};

/* The command side's counters: the running one's and those a reload
 * replaced. Any thread. */
static void command_stats(const bridge_t *b, downlink_stats_t *out)
{
    downlink_stats(atomic_load(&b->commands), out);
    out->consumed += atomic_load(&b->cmd_retired[0]);
    out->published += atomic_load(&b->cmd_retired[1]);
    out->expired += atomic_load(&b->cmd_retired[2]);
    out->invalid += atomic_load(&b->cmd_retired[3]);
    out->failed += atomic_load(&b->cmd_retired[4]);
    out->rewinds += atomic_load(&b->cmd_retired[5]);
}

/* Keeps the counters of OLD, a stopped command side a reload replaces. */
static void retire_command_stats(bridge_t *b, const downlink_t *old)
{
    downlink_stats_t cs;
    downlink_stats(old, &cs);
    const uint64_t v[6] = {cs.consumed, cs.published, cs.expired,
                           cs.invalid,  cs.failed,    cs.rewinds};
    for (size_t i = 0; i < 6; i++)
        atomic_fetch_add(&b->cmd_retired[i], v[i]);
}

static void rules_free(rules_t *r)
{
    if (!r)
        return;
    mapper_destroy(r->mapper);
    config_destroy(r->cfg);
    free(r);
}

/* A message being mapped: where its records go (delivery_add on the
 * receive thread without the spool; the spool's sender with it). */
typedef struct {
    bridge_t *b;
    delivery_emit_t emit;
    void *ctx;
} mapping_t;

static int produce_record(void *opaque, const record_t *rec)
{
    const mapping_t *mp = opaque;
    bridge_t *b = mp->b;
    if (rec->dead_letter) {
        uint64_t n = atomic_fetch_add(&b->dead_letters, 1) + 1;
        if (log_every(n))
            log_warn("bridge", "dead letter from route '%s': %s (%llu so far)",
                     rec->route ? rec->route : "-", rec->reason, (unsigned long long)n);
    }
    atomic_fetch_add(&b->records, 1);
    metrics_route(b->metrics, rec->route, 1, rec->dead_letter);
    if (rec->field_errors)
        metrics_route_field_errors(b->metrics, rec->route, rec->field_errors);
    return mp->emit(mp->ctx, rec);
}

/* The mapper asks edge node T for a rebirth (mapper_rebirth_t; Paho's
 * thread): queued for the main loop. spb_state allows one per node per 5 s,
 * so the queue stays short; when it is full the ask waits for the next. */
static void queue_rebirth(void *opaque, const spb_topic_t *t)
{
    bridge_t *b = opaque;
    buf_t topic = {0};
    if (buf_printf(&topic, "spBv1.0/%.*s/NCMD/%.*s", (int)t->group_len, t->group,
                   (int)t->node_len, t->node) != MKB_OK || buf_terminate(&topic) != MKB_OK) {
        buf_free(&topic);
        return;
    }
    pthread_mutex_lock(&b->rebirth_lock);
    size_t cap = sizeof(b->rebirths) / sizeof(b->rebirths[0]);
    if (b->nrebirths < cap) {
        b->rebirths[b->nrebirths++] = (char *)topic.p;
        topic.p = NULL;
    }
    pthread_mutex_unlock(&b->rebirth_lock);
    buf_free(&topic);
}

static void rebirth_sent(void *opaque, bool ok, const char *why)
{
    (void)opaque;
    if (!ok)
        log_warn("sparkplug", "a rebirth request was not sent: %s", why);
}

/* Publishes the queued rebirth requests (main loop). */
static void send_rebirths(bridge_t *b)
{
    char *topics[16];
    pthread_mutex_lock(&b->rebirth_lock);
    size_t n = b->nrebirths;
    memcpy(topics, b->rebirths, n * sizeof(topics[0]));
    b->nrebirths = 0;
    pthread_mutex_unlock(&b->rebirth_lock);
    for (size_t i = 0; i < n; i++) {
        buf_t payload = {0};
        struct timespec now;
        clock_gettime(CLOCK_REALTIME, &now);
        int64_t ms = (int64_t)now.tv_sec * 1000 + now.tv_nsec / 1000000;
        mqtt_pub_t p = {.topic = topics[i], .qos = 0};
        if (spb_encode_rebirth(ms, &payload) == MKB_OK) {
            p.payload = payload.p;
            p.len = payload.len;
            char why[256];
            if (mqtt_client_publish(b->mqtt, &p, rebirth_sent, NULL, why, sizeof(why)) != MKB_OK)
                log_warn("sparkplug", "a rebirth request to %s was not sent: %s", topics[i], why);
            else
                log_info("sparkplug", "asked for a rebirth: Node Control/Rebirth on %s",
                         topics[i]);
        }
        buf_free(&payload);
        free(topics[i]);
    }
}

/* A route skipped a message (mapper_skip_t): counted, not logged (it is
 * the route's choice, not a fault). */
static void count_skip(void *opaque, const char *route, const char *why)
{
    (void)why;
    const mapping_t *mp = opaque; /* mapper_process's opaque */
    bridge_t *b = mp->b;
    metrics_route_skipped(b->metrics, route);
}

/* MQTT intake waits (on Paho's thread) because of WHY, a static string;
 * NULL: it goes on. RC is the last spool_commit result (MKB_ERR_IO: the
 * spool cannot be written). Read by not_ready() and mqtt_client. */
static void intake_paused(bridge_t *b, const char *why, int rc)
{
    atomic_store(&b->spool_unwritable, rc == MKB_ERR_IO);
    if (why) {
        atomic_store(&b->intake_why, why);
        if (!atomic_load(&b->intake_since_ms))
            atomic_store(&b->intake_since_ms, clock_mono_ms());
    } else if (atomic_load(&b->intake_since_ms)) {
        atomic_store(&b->intake_since_ms, 0);
    } else {
        return;
    }
    mqtt_client_intake_paused(b->mqtt, why);
}

/* Shutdown while the callback waits to journal a message: the message is
 * not safe, and Paho sends the PUBACK of a QoS 1 message once
 * messageArrived returns, whatever it returns (MQTTProtocol_handlePublishes
 * in Paho 1.3.12): returning would lose it. So the thread stays here, holding
 * Paho's lock, until the process exits; the connection then closes without
 * that PUBACK and the broker redelivers the message to the session.
 * bridge_run stops waiting for the disconnect and bridge_destroy leaves the
 * MQTT client alone once PARKED is set. Touches nothing of B after that. */
static void park(bridge_t *b) __attribute__((noreturn));
static void park(bridge_t *b)
{
    delivery_discard(b->delivery);
    log_warn("bridge", "shutting down while MQTT intake waited: the message in hand stays "
                       "unacknowledged (the broker redelivers it)");
    atomic_store(&b->parked, true);
    for (;;)
        pause();
}

/* Makes the message's records safe before the PUBACK (with the spool:
 * writes them to the journal). While the spool is full (on_full: block) or
 * the disk refuses the write, waits (the broker keeps sending nothing new:
 * Paho's receive thread is here), logging every queue_wait_ms; at shutdown
 * it stays there (park). */
static int journal(bridge_t *b)
{
    char err[512];
    long long warn_at = 0;
    for (;;) {
        int rc = delivery_commit(b->delivery, err, sizeof(err));
        if (rc == MKB_OK) {
            if (warn_at) {
                log_info("bridge", "spool writable again; MQTT intake resumed");
                intake_paused(b, NULL, rc);
            }
            return MKB_OK;
        }
        if (rc != MKB_ERR_RETRY && rc != MKB_ERR_IO) {
            if (warn_at)
                intake_paused(b, NULL, rc);
            delivery_discard(b->delivery);
            log_error("bridge", "%s", err);
            return rc;
        }
        if (atomic_load(&b->stopping))
            park(b); /* unacknowledged: the broker redelivers it */
        intake_paused(b,
                      rc == MKB_ERR_RETRY ? "spool full: spool.max_bytes reached, on_full: block"
                                          : "spool cannot be written: disk full or I/O error",
                      rc);
        if (clock_mono_ms() >= warn_at) {
            if (rc == MKB_ERR_RETRY)
                log_warn("bridge", "spool full (spool.max_bytes reached, on_full: block): MQTT "
                                   "intake paused until Kafka takes records");
            else
                log_error("bridge", "%s; MQTT intake paused, retrying", err);
            warn_at = clock_mono_ms() + b->queue_wait_ms;
        }
        struct timespec ts = {0, rc == MKB_ERR_RETRY ? 5000000 : 100000000};
        nanosleep(&ts, NULL);
    }
}

/* Maps M into records for EMIT (delivery_map_t): on Paho's receive thread
 * without the spool, on the spool's sender thread with it; one thread maps,
 * so the rules and the mapper's scratch buffers need no lock. */
static int map_message(void *opaque, const mqtt_msg_t *m, delivery_emit_t emit, void *ctx)
{
    bridge_t *b = opaque;
    /* A load per message; the exchange (a locked instruction) only when
     * a reload left new rules. */
    rules_t *next = atomic_load(&b->next) ? atomic_exchange(&b->next, NULL) : NULL;
    if (next) {
        rules_t *old = atomic_exchange(&b->retired, b->rules);
        rules_free(old); /* only if the main thread has not collected an older one */
        b->rules = next;
    }
    mapper_result_t res;
    mapping_t mp = {b, emit, ctx};
    int rc = mapper_process(b->rules->mapper, m, produce_record, &mp, &res);
    if (res.unmatched) {
        uint64_t n = atomic_fetch_add(&b->unmatched, 1) + 1;
        if (log_every(n))
            log_warn("bridge", "no route for topic '%.*s'%s (%llu unmatched so far)",
                     (int)m->topic_len, m->topic,
                     b->rules->cfg->kafka_unmatched_topic ? "; sent to kafka.unmatched_topic"
                                                          : "",
                     (unsigned long long)n);
    }
    if (res.outside)
        atomic_fetch_add(&b->outside, 1);
    if (res.spb_seq_gaps | res.spb_unresolved | res.spb_rebirths) {
        atomic_fetch_add(&b->spb_gaps, res.spb_seq_gaps);
        atomic_fetch_add(&b->spb_unresolved, res.spb_unresolved);
        atomic_fetch_add(&b->spb_rebirths, res.spb_rebirths);
    }
    if (rc != MKB_OK && rc != MKB_ERR_STOPPED)
        log_error("bridge", "message on '%.*s' not mapped: %s", (int)m->topic_len, m->topic,
                  mkb_strerror(rc));
    return rc;
}

static int add_record(void *ctx, const record_t *rec)
{
    return delivery_add(ctx, rec); /* made safe by journal() */
}

/* Runs on Paho's receive thread for every message (the custody point):
 * with the spool the message is journaled as received (the sender maps
 * it), without it it is mapped here into the producers' queues. */
static int on_message(void *opaque, const mqtt_msg_t *m)
{
    bridge_t *b = opaque;
    atomic_fetch_add(&b->received, 1);
    atomic_fetch_add(&b->bytes_in, m->payload_len);
    int rc;
    if (!delivery_maps_later(b->delivery)) {
        rc = map_message(b, m, add_record, b->delivery);
    } else if ((rc = delivery_add_message(b->delivery, m)) != MKB_OK) {
        log_error("bridge", "message on '%.*s' not journaled: %s", (int)m->topic_len, m->topic,
                  mkb_strerror(rc));
    }
    if (rc == MKB_OK)
        rc = journal(b);
    else
        delivery_discard(b->delivery);
    if (rc == MKB_ERR_STOPPED)
        return rc; /* not safe: leave it unacknowledged */
    return MKB_OK;
}

static int64_t wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* A record settled: observe its latency from MQTT receive. */
static void on_settled(void *opaque, int64_t recv)
{
    bridge_t *b = opaque;
    if (recv > 0 && b->metrics)
        metrics_latency_ms(b->metrics, wall_ms() - recv);
}

/* ---- readiness: does data flow? ---------------------------------------- */

/* Reasons for not being ready, as bits; labels of mkb_not_ready_reason. */
enum {
    NR_MQTT_DOWN = 1u << 0,
    NR_KAFKA_DOWN = 1u << 1,
    NR_KAFKA_STALLED = 1u << 2,
    NR_SPOOL_UNWRITABLE = 1u << 3,
    NR_INTAKE_PAUSED = 1u << 4,
    NR_SPOOL_FULL = 1u << 5,
};
static const char *const nr_labels[] = {"mqtt_down",        "kafka_down",    "kafka_stalled",
                                        "spool_unwritable", "intake_paused", "spool_full"};
#define NR_COUNT (sizeof(nr_labels) / sizeof(nr_labels[0]))

/* A pause shorter than this is the spool or the producer queue keeping up
 * under load (on_full: block throttles intake), not a stop. */
#define INTAKE_PAUSE_GRACE_MS 1000

/* Records waiting for Kafka: in the producers' queues or, with the spool,
 * journaled and not yet acknowledged. */
static uint64_t waiting(const kafka_sink_stats_t *ks, const delivery_stats_t *ds)
{
    return ds->unacked > ks->outstanding ? ds->unacked : ks->outstanding;
}

/* Since when MQTT intake waits (0: it does not), and why. Without the
 * spool intake waits inside kafka_sink_produce for queue room. */
static long long intake_since(const bridge_t *b, const delivery_stats_t *ds, const char **why)
{
    long long queue_full = ds->queue_full_since;
    if (queue_full) {
        *why = "Kafka producer queue full (queue.buffering.max.kbytes)";
        return queue_full;
    }
    *why = atomic_load(&b->intake_why);
    return atomic_load(&b->intake_since_ms);
}

/* The reasons the bridge is not ready now (0: ready), each with a line in
 * WHY if not NULL. Any thread: everything read here is atomic. */
static unsigned not_ready(bridge_t *b, buf_t *why)
{
    kafka_sink_stats_t ks;
    delivery_stats_t ds;
    kafka_sink_stats(b->sink, &ks);
    delivery_stats(b->delivery, &ds);
    long long now = clock_mono_ms();
    unsigned r = 0;
    if (!mqtt_client_ready(b->mqtt)) {
        r |= NR_MQTT_DOWN;
        if (why)
            buf_append_str(why, mqtt_client_connected(b->mqtt) ? "MQTT: subscribing\n"
                                                                 : "MQTT: not connected\n");
    }
    if (ks.brokers_up == 0) {
        r |= NR_KAFKA_DOWN;
        if (why)
            buf_append_str(why, "Kafka: no broker up\n");
    }
    long long idle = now - atomic_load(&b->progress_ms);
    if (b->stall_ms > 0 && idle >= b->stall_ms) {
        r |= NR_KAFKA_STALLED;
        if (why)
            buf_printf(why,
                       "Kafka: no delivery for %lld s while %llu record(s) wait "
                       "(kafka.stall_timeout_ms %lld)\n",
                       idle / 1000, (unsigned long long)waiting(&ks, &ds), b->stall_ms);
    }
    if (atomic_load(&b->spool_unwritable)) {
        r |= NR_SPOOL_UNWRITABLE;
        if (why)
            buf_append_str(why, "spool: cannot be written (disk full or I/O error)\n");
    }
    const char *what = NULL;
    long long since = intake_since(b, &ds, &what);
    if (since && now - since >= INTAKE_PAUSE_GRACE_MS) {
        r |= NR_INTAKE_PAUSED;
        if (why)
            buf_printf(why, "MQTT intake paused for %lld s: %s\n", (now - since) / 1000,
                       what ? what : "waiting");
    }
    if (ds.full) {
        r |= NR_SPOOL_FULL;
        if (why)
            buf_append_str(why, "spool: full (spool.max_bytes)\n");
    }
    return r;
}

static bool ready(void *opaque, buf_t *why) { return not_ready(opaque, why) == 0; }

/* Main loop: notes when deliveries last progressed, or nothing waited. */
static void track_progress(bridge_t *b, const kafka_sink_stats_t *ks, const delivery_stats_t *ds)
{
    uint64_t settled = ks->delivered + ks->lost;
    if (settled != b->settled_seen || waiting(ks, ds) == 0) {
        b->settled_seen = settled;
        atomic_store(&b->progress_ms, clock_mono_ms());
    }
}

/* Main loop: mirrors a wait for producer queue room (no spool) to
 * mqtt_client, which explains a connection lost meanwhile. */
static void track_queue_wait(bridge_t *b, const delivery_stats_t *ds, bool *mirrored)
{
    bool waits = ds->queue_full_since != 0;
    if (waits != *mirrored)
        mqtt_client_intake_paused(
            b->mqtt, waits ? "Kafka producer queue full (queue.buffering.max.kbytes)" : NULL);
    *mirrored = waits;
}

/* /metrics (libmicrohttpd's thread): a snapshot for bridge_metrics.c. */
static void collect(void *opaque, buf_t *out)
{
    bridge_t *b = opaque;
    bridge_metrics_t v = {.not_ready_names = nr_labels, .not_ready_count = NR_COUNT};
    bridge_stats(b, &v.st);
    kafka_sink_stats(b->sink, &v.ks);
    delivery_stats_t ds;
    delivery_stats(b->delivery, &ds);
    v.mqtt_bytes_in = atomic_load(&b->bytes_in);
    v.spool_full = ds.full;
    v.spool_unacked = ds.unacked;
    if (ds.sp.oldest_recv_ms)
        v.spool_oldest_age_s = (double)(wall_ms() - ds.sp.oldest_recv_ms) / 1000.0;
    v.mqtt_connected = mqtt_client_connected(b->mqtt);
    v.mqtt_reconnects = mqtt_client_reconnects(b->mqtt);
    v.mqtt_subscriptions = mqtt_client_subscription_count(b->mqtt);
    downlink_stats_t cs;
    command_stats(b, &cs);
    v.cmd_consumed = cs.consumed;
    v.cmd_published = cs.published;
    v.cmd_expired = cs.expired;
    v.cmd_invalid = cs.invalid;
    v.cmd_failed = cs.failed;
    v.not_ready = not_ready(b, NULL);
    bridge_metrics_render(&v, out);
}

/* WHY (not_ready's lines) for a STATUS= line: the MQTT and Kafka-up lines
 * dropped (the line names them anyway), the others joined with "; ". */
static void status_reasons(buf_t *why)
{
    buf_t out = {0};
    const char *p = why->p, *end = why->p ? why->p + why->len : NULL; /* not NUL-terminated */
    while (p && p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t len = nl ? (size_t)(nl - p) : (size_t)(end - p);
        bool named = (len >= 6 && memcmp(p, "MQTT: ", 6) == 0) ||
                     (len >= 19 && memcmp(p, "Kafka: no broker up", 19) == 0);
        if (!named)
            buf_printf(&out, "; %.*s", (int)len, p);
        p = nl ? nl + 1 : end;
    }
    buf_terminate(&out);
    buf_free(why);
    *why = out;
}

/* Main loop: logs when deliveries stall and resume (once each way). */
static void log_stall(bridge_t *b, unsigned r, unsigned last)
{
    if ((r & NR_KAFKA_STALLED) && !(last & NR_KAFKA_STALLED))
        log_warn("bridge", "no delivery to Kafka for %lld s while records wait: a hung or "
                           "unreachable broker? /readyz answers 503 until deliveries resume",
                 (clock_mono_ms() - atomic_load(&b->progress_ms)) / 1000);
    else if (!(r & NR_KAFKA_STALLED) && (last & NR_KAFKA_STALLED))
        log_info("bridge", "deliveries to Kafka resumed");
}

/* Compiles CFG into rules (taking CFG); errors in ERRSTR. */
static int rules_new(bridge_t *b, config_t *cfg, rules_t **out, char *errstr, size_t errstr_size)
{
    char *errors = NULL;
    rules_t *r = calloc(1, sizeof(*r));
    if (!r) {
        config_destroy(cfg);
        snprintf(errstr, errstr_size, "out of memory");
        return MKB_ERR_NOMEM;
    }
    r->cfg = cfg;
    int rc = mapper_new(cfg, &r->mapper, &errors);
    if (rc != MKB_OK) {
        snprintf(errstr, errstr_size, "%s", errors ? errors : "out of memory");
        free(errors);
        rules_free(r);
        return rc;
    }
    mapper_on_skip(r->mapper, count_skip, false); /* counted, never logged: no reason written */
    mapper_set_sparkplug(r->mapper, b->spb, queue_rebirth, b);
    for (const char *p = mapper_warnings(r->mapper); p && *p;) { /* at start and each reload */
        const char *nl = strchr(p, '\n');
        int len = nl ? (int)(nl - p) : (int)strlen(p);
        log_warn("config", "%.*s", len, p);
        p = nl ? nl + 1 : NULL;
    }
    *out = r;
    return MKB_OK;
}

/* The subscriptions of RULES as arrays (borrowed strings). */
static int subscriptions(const rules_t *r, const char ***filters, int **qos, size_t *n)
{
    *n = mapper_subscription_count(r->mapper);
    *filters = calloc(*n ? *n : 1, sizeof(**filters));
    *qos = calloc(*n ? *n : 1, sizeof(**qos));
    if (!*filters || !*qos) {
        free(*filters);
        free(*qos);
        return MKB_ERR_NOMEM;
    }
    for (size_t i = 0; i < *n; i++) {
        (*filters)[i] = mapper_subscription_filter(r->mapper, i);
        (*qos)[i] = mapper_subscription_qos(r->mapper, i);
    }
    return MKB_OK;
}

/* Puts CFG's command rules in force: the running command side, if any,
 * stops (committing what reached MQTT) and one built from CFG takes its
 * place, started when START (else by bridge_run). The one place that builds
 * a command side. */
static int swap_downlink(bridge_t *b, config_t *cfg, bool start, char *errstr,
                         size_t errstr_size)
{
    /* Room for the running one and, should it not start, the new one. */
    // NOLINTNEXTLINE(bugprone-sizeof-expression): an array of pointers
    downlink_t **old = realloc(b->old_commands, (b->nold_commands + 2) * sizeof(*old));
    if (!old) {
        snprintf(errstr, errstr_size, "out of memory");
        return MKB_ERR_NOMEM;
    }
    b->old_commands = old;
    if (b->commands) {
        downlink_stop(b->commands, 5000); /* before the new consumers join the groups */
        old[b->nold_commands++] = b->commands;
        retire_command_stats(b, b->commands);
        b->commands = NULL;
    }
    downlink_t *next = NULL;
    int rc = downlink_new(config_ref(cfg), b->mqtt, &next, errstr, errstr_size);
    if (rc == MKB_OK && next) /* Sparkplug commands: datatypes from the births */
        downlink_set_births(next, spb_state_resolve, b->spb);
    if (rc == MKB_OK && next && start && downlink_start(next) != MKB_OK) {
        snprintf(errstr, errstr_size, "cannot start the command threads");
        downlink_stop(next, 0);
        old[b->nold_commands++] = next; /* a thread may have started: freed at the end */
        return MKB_ERR_NOMEM;
    }
    if (rc == MKB_OK) {
        b->commands = next;
        config_ref(cfg); /* first: CFG may be the one it replaces */
        config_destroy(b->commands_cfg);
        b->commands_cfg = cfg;
    }
    return rc; /* failed: commands_cfg keeps the rules last in force, none runs */
}

/* The Sparkplug birth state: in spool.dir/sparkplug-births with a spool (a
 * restarted bridge still names metrics sent by alias), else in memory. */
static int spb_births(bridge_t *b, const config_t *cfg, char *errstr, size_t errstr_size)
{
    buf_t path = {0};
    if (cfg->spool_dir && (buf_printf(&path, "%s/sparkplug-births", cfg->spool_dir) != MKB_OK ||
                           buf_terminate(&path) != MKB_OK)) {
        buf_free(&path);
        snprintf(errstr, errstr_size, "out of memory");
        return MKB_ERR_NOMEM;
    }
    char why[512] = "";
    int rc = spb_state_new(path.p, &b->spb, why, sizeof(why));
    buf_free(&path);
    if (rc != MKB_OK) {
        snprintf(errstr, errstr_size, "sparkplug: %s", why[0] ? why : mkb_strerror(rc));
        return rc;
    }
    if (why[0]) /* a damaged file: an empty state; edge nodes are asked for rebirths */
        log_warn("sparkplug", "%s", why);
    return MKB_OK;
}

/* The spool's options from the boot configuration (spool.dir set). */
static spool_opts_t spool_opts_of(const config_t *cfg)
{
    return (spool_opts_t){
        .dir = cfg->spool_dir,
        .max_bytes = (uint64_t)cfg->spool_max_bytes,
        .segment_bytes = (uint64_t)cfg->spool_segment_bytes,
        .fsync = cfg->spool_fsync == CONFIG_FSYNC_ALWAYS  ? SPOOL_FSYNC_ALWAYS
                 : cfg->spool_fsync == CONFIG_FSYNC_NEVER ? SPOOL_FSYNC_NEVER
                                                          : SPOOL_FSYNC_INTERVAL,
        .fsync_interval_ms = cfg->spool_fsync_interval_ms,
        .on_full = cfg->spool_on_full == CONFIG_FULL_DROP_OLDEST ? SPOOL_FULL_DROP_OLDEST
                                                                 : SPOOL_FULL_BLOCK,
    };
}

int bridge_new(config_t *cfg, const char *path, bridge_t **out, char *errstr,
               size_t errstr_size)
{
    int rc = MKB_ERR_NOMEM;
    const char **filters = NULL, **profiles = NULL;
    int *qos = NULL;
    size_t nsub = 0;
    bridge_t *b = calloc(1, sizeof(*b));
    if (!b || !(b->path = strdup(path))) {
        free(b);
        config_destroy(cfg);
        snprintf(errstr, errstr_size, "out of memory");
        return rc;
    }
    pthread_mutex_init(&b->rebirth_lock, NULL);
    b->boot = config_ref(cfg);
    if ((rc = spb_births(b, cfg, errstr, errstr_size)) != MKB_OK) {
        config_destroy(cfg); /* rules_new did not take it */
        goto destroy;
    }
    if ((rc = rules_new(b, cfg, &b->rules, errstr, errstr_size)) != MKB_OK)
        goto destroy;
    rc = MKB_ERR_NOMEM;
    b->flush_timeout_ms = cfg->kafka_flush_timeout_ms;
    if (!(profiles = calloc(cfg->routes_n + 1, sizeof(*profiles))))
        goto nomem;
    for (size_t i = 0; i < cfg->routes_n; i++)
        profiles[i] = cfg->routes[i].kafka_profile;
    if ((rc = kafka_sink_new(cfg, profiles, cfg->routes_n, &b->sink, errstr, errstr_size)))
        goto destroy;
    b->queue_wait_ms = cfg->kafka_queue_wait_ms;
    b->stall_ms = cfg->kafka_stall_timeout_ms;
    atomic_store(&b->progress_ms, clock_mono_ms());
    spool_opts_t so = spool_opts_of(cfg);
    delivery_conf_t dc = {.sink = b->sink, .spool = cfg->spool_dir ? &so : NULL,
                          .map = map_message, .settled = on_settled, .opaque = b};
    if ((rc = delivery_new(&dc, &b->delivery, errstr, errstr_size)) != MKB_OK)
        goto destroy;
    /* Without metrics.listen nobody reads per-route counters or the
     * histogram: b->metrics stays NULL and they cost nothing. */
    metrics_conf_t mc = {cfg->metrics_listen, cfg->metrics_username, cfg->metrics_password,
                         cfg->metrics_tls_cert_file, cfg->metrics_tls_key_file};
    if (cfg->metrics_listen &&
        (rc = metrics_new(&mc, collect, ready, b, &b->metrics, errstr, errstr_size)) != MKB_OK)
        goto destroy;
    if ((rc = subscriptions(b->rules, &filters, &qos, &nsub)) != MKB_OK)
        goto nomem;
    if ((rc = mqtt_client_new(cfg, filters, qos, nsub, on_message, b, &b->mqtt, errstr,
                              errstr_size)) != MKB_OK)
        goto destroy;
    if ((rc = swap_downlink(b, b->boot, false, errstr, errstr_size)) != MKB_OK)
        goto destroy; /* started by bridge_run */
    if (b->metrics && (rc = metrics_start(b->metrics, errstr, errstr_size)) != MKB_OK)
        goto destroy;
    free(filters);
    free(qos);
    free(profiles);
    *out = b;
    return MKB_OK;

nomem:
    snprintf(errstr, errstr_size, "out of memory");
destroy:
    free(filters);
    free(qos);
    free(profiles);
    bridge_destroy(b);
    return rc;
}

void bridge_destroy(bridge_t *b)
{
    if (!b)
        return;
    /* The spool's sender maps messages (rules, metrics, Sparkplug state):
     * stopped first; closing the sink makes a wait for queue room give up. */
    if (b->sink)
        kafka_sink_close(b->sink);
    if (b->delivery)
        delivery_stop(b->delivery);
    metrics_destroy(b->metrics);    /* a scrape reads everything below */
    downlink_stop(b->commands, 0);  /* done by bridge_run unless it failed early */
    /* No callback may run after this. A parked one (see park) holds Paho's
     * lock, so none runs; destroying the client would wait on that lock. */
    if (!atomic_load(&b->parked))
        mqtt_client_destroy(b->mqtt);
    downlink_destroy(b->commands);  /* after: a publish callback may use it */
    for (size_t i = 0; i < b->nold_commands; i++)
        downlink_destroy(b->old_commands[i]);
    free(b->old_commands);
    kafka_sink_destroy(b->sink);
    delivery_destroy(b->delivery); /* after the sink: no ack may come later */
    rules_free(atomic_exchange(&b->next, NULL));
    rules_free(atomic_exchange(&b->retired, NULL));
    rules_free(b->rules);
    spb_state_destroy(b->spb); /* after every mapper reading it */
    for (size_t i = 0; i < b->nrebirths; i++)
        free(b->rebirths[i]);
    pthread_mutex_destroy(&b->rebirth_lock);
    config_destroy(b->commands_cfg);
    config_destroy(b->boot);
    free(b->path);
    free(b);
}

void bridge_stats(const bridge_t *b, bridge_stats_t *out)
{
    kafka_sink_stats_t ks;
    kafka_sink_stats(b->sink, &ks);
    out->received = atomic_load(&b->received);
    out->unmatched = atomic_load(&b->unmatched);
    out->outside = atomic_load(&b->outside);
    out->records = atomic_load(&b->records);
    out->dead_letters = atomic_load(&b->dead_letters);
    out->produced = ks.produced;
    out->delivered = ks.delivered;
    out->failed = ks.failed;
    out->lost = ks.lost;
    out->reloads = atomic_load(&b->reloads);
    out->reload_errors = atomic_load(&b->reload_errors);
    out->spb_seq_gaps = atomic_load(&b->spb_gaps);
    out->spb_unresolved = atomic_load(&b->spb_unresolved);
    out->spb_rebirths = atomic_load(&b->spb_rebirths);
    delivery_stats_t ds;
    delivery_stats(b->delivery, &ds);
    out->spool = ds.spooled;
    out->sp = ds.sp;
}

/* Logs a multi-line error text one line per event, as the log promises. */
static void log_lines(const char *intro, const char *text)
{
    log_error("bridge", "%s", intro);
    for (const char *p = text; p && *p;) {
        const char *nl = strchr(p, '\n');
        int len = nl ? (int)(nl - p) : (int)strlen(p);
        if (len)
            log_error("bridge", "  %.*s", len, p);
        p = nl ? nl + 1 : NULL;
    }
}

static bool same(const char *a, const char *b)
{
    return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

#define RELOAD_FAILED "reload failed; keeping the running routes and command rules"

/* Loads the file again for a reload: NULL (logged) when it fails or asks for
 * what only a restart gives (a producer profile not running). What is fixed
 * at boot comes from b->boot, with a warning when the file changed it. */
static config_t *reload_load(bridge_t *b)
{
    char *errors = NULL;
    config_t *cfg = NULL;
    if (config_load(b->path, &cfg, &errors) != MKB_OK) {
        log_lines(RELOAD_FAILED ":", errors ? errors : "out of memory");
        free(errors);
        return NULL;
    }
    const config_t *boot = b->boot;
    if (!same(boot->mqtt_uri, cfg->mqtt_uri) ||
        !same(boot->mqtt_client_id, cfg->mqtt_client_id) ||
        !same(boot->kafka_bootstrap, cfg->kafka_bootstrap) ||
        !same(boot->mqtt_shared_group, cfg->mqtt_shared_group) ||
        !same(boot->kafka_dead_letter_topic, cfg->kafka_dead_letter_topic))
        log_warn("bridge", "reload: connection settings or kafka.dead_letter_topic changed; "
                           "they apply at the next restart (the rules apply now)");
    /* One dead-letter topic for rule failures and delivery failures alike:
     * the producers were set up with the first one. */
    char *dlq = strdup(boot->kafka_dead_letter_topic);
    if (!dlq || config_keep_kafka_connection(cfg, boot) != MKB_OK) {
        free(dlq);
        log_error("bridge", RELOAD_FAILED ": out of memory");
        config_destroy(cfg);
        return NULL;
    }
    free(cfg->kafka_dead_letter_topic);
    cfg->kafka_dead_letter_topic = dlq;
    for (size_t i = 0; i < cfg->routes_n; i++) {
        if (!kafka_sink_has_profile(b->sink, cfg->routes[i].kafka_profile)) {
            log_error("bridge",
                      RELOAD_FAILED ": route '%s' uses producer profile '%s', which is not "
                                    "running: restart to add it",
                      cfg->routes[i].name, cfg->routes[i].kafka_profile);
            config_destroy(cfg);
            return NULL;
        }
    }
    return cfg;
}

int bridge_reload(bridge_t *b)
{
    char err[8192];
    int rc = MKB_ERR_CONFIG;
    log_info("bridge", "reloading %s", b->path);
    config_t *cfg = reload_load(b);
    if (!cfg)
        goto failed;
    /* Every check before anything changes: a bad reload keeps all rules. */
    bool cmds = !config_commands_equal(b->commands_cfg, cfg) ||
                (!b->commands && cfg->commands_n); /* an earlier swap failed */
    if (cmds && (rc = downlink_check(cfg, err, sizeof(err))) != MKB_OK) {
        log_lines(RELOAD_FAILED ":", err);
        config_destroy(cfg);
        goto failed;
    }
    rules_t *r = NULL;
    if ((rc = rules_new(b, config_ref(cfg), &r, err, sizeof(err))) != MKB_OK) {
        log_lines(RELOAD_FAILED ":", err);
        config_destroy(cfg);
        goto failed;
    }
    const char **filters = NULL;
    int *qos = NULL;
    size_t n = 0;
    if ((rc = subscriptions(r, &filters, &qos, &n)) != MKB_OK) {
        rules_free(r);
        config_destroy(cfg);
        goto failed;
    }
    /* Routes first, then subscriptions: a message on a new filter that comes
     * before the swap would find no route (counted as unmatched). */
    rules_free(atomic_exchange(&b->next, r)); /* an earlier reload not yet taken */
    rc = mqtt_client_set_subscriptions(b->mqtt, filters, qos, n);
    free(filters);
    free(qos);
    int crc = cmds ? swap_downlink(b, cfg, true, err, sizeof(err)) : MKB_OK;
    if (crc != MKB_OK) {
        log_error("bridge", "reload: the new command rules did not start (%s); starting the "
                            "previous ones again", err);
        if (swap_downlink(b, b->commands_cfg, true, err, sizeof(err)) != MKB_OK)
            log_error("bridge", "command rules not running (reload to try again): %s", err);
    }
    log_info("bridge", "reloaded: %zu route(s), %zu subscription(s), %zu command rule(s)%s",
             cfg->routes_n, n, cfg->commands_n, cmds ? " (command side restarted)" : "");
    config_destroy(cfg);
    if (crc == MKB_OK) {
        atomic_fetch_add(&b->reloads, 1);
        return rc;
    }
    rc = crc;
failed:
    atomic_fetch_add(&b->reload_errors, 1);
    return rc ? rc : MKB_ERR_CONFIG;
}

static void log_stats(const bridge_t *b, const char *when)
{
    bridge_stats_t st;
    bridge_stats(b, &st);
    log_info("bridge",
             "%s: received=%llu unmatched=%llu records=%llu dead_letters=%llu produced=%llu "
             "delivered=%llu failed=%llu lost=%llu",
             when, (unsigned long long)st.received, (unsigned long long)st.unmatched,
             (unsigned long long)st.records, (unsigned long long)st.dead_letters,
             (unsigned long long)st.produced, (unsigned long long)st.delivered,
             (unsigned long long)st.failed, (unsigned long long)st.lost);
    if (b->commands) {
        downlink_stats_t cs;
        command_stats(b, &cs);
        log_info("bridge",
                 "%s: commands consumed=%llu published=%llu expired=%llu invalid=%llu failed=%llu "
                 "rewinds=%llu",
                 when, (unsigned long long)cs.consumed, (unsigned long long)cs.published,
                 (unsigned long long)cs.expired, (unsigned long long)cs.invalid,
                 (unsigned long long)cs.failed, (unsigned long long)cs.rewinds);
    }
    if (st.spool)
        log_info("bridge",
                 "%s: spool appended=%llu sent=%llu acked=%llu replayed=%llu dropped=%llu "
                 "damaged=%llu (%llu bytes) write_errors=%llu bytes=%llu segments=%llu",
                 when, (unsigned long long)st.sp.appended, (unsigned long long)st.sp.handed,
                 (unsigned long long)st.sp.acked, (unsigned long long)st.sp.replay,
                 (unsigned long long)st.sp.dropped, (unsigned long long)st.sp.corrupt,
                 (unsigned long long)st.sp.corrupt_bytes, (unsigned long long)st.sp.write_errors,
                 (unsigned long long)st.sp.bytes, (unsigned long long)st.sp.segments);
}

/* The main loop's state from one pass to the next. */
typedef struct {
    bool was_ready, notified_ready, force_status, queue_wait_mirrored;
    unsigned last_nr;  /* not_ready() at the last STATUS= line */
    const char *note;  /* appended to the next STATUS= line (reload) */
    long long next_stats, next_tick, wd_ms, next_wd;
} loop_t;

/* Main loop: readiness, its log lines and systemd's view of it. */
static void loop_status(bridge_t *b, loop_t *l)
{
    bool mqtt_ready = mqtt_client_ready(b->mqtt);
    if (mqtt_ready && !l->was_ready)
        log_info("bridge", "ready: forwarding %zu route(s)", mapper_route_count(b->rules->mapper));
    l->was_ready = mqtt_ready;
    kafka_sink_stats_t ks;
    delivery_stats_t ds;
    kafka_sink_stats(b->sink, &ks);
    delivery_stats(b->delivery, &ds);
    track_progress(b, &ks, &ds);
    track_queue_wait(b, &ds, &l->queue_wait_mirrored);
    unsigned nr = not_ready(b, NULL);
    log_stall(b, nr, l->last_nr);
    /* READY=1 once MQTT is subscribed and a Kafka broker is up; STATUS=
     * says "degraded" with every other reason /readyz gives. */
    bool up = !(nr & (NR_MQTT_DOWN | NR_KAFKA_DOWN)); /* one snapshot with nr */
    if (nr == l->last_nr && !l->force_status)
        return;
    if (nr == 0) {
        notify_status("forwarding: MQTT connected, %llu Kafka broker(s) up, %zu route(s)%s",
                      (unsigned long long)ks.brokers_up, mapper_route_count(b->rules->mapper),
                      l->note);
    } else {
        buf_t why = {0};
        not_ready(b, &why);
        status_reasons(&why);
        notify_status("%s: MQTT %s, Kafka %s%s%s",
                      l->notified_ready || up ? "degraded" : "starting",
                      nr & NR_MQTT_DOWN ? "not connected" : "connected",
                      nr & NR_KAFKA_DOWN ? "no broker up" : "up", why.p ? why.p : "", l->note);
        buf_free(&why);
    }
    l->note = "";
    if (up && !l->notified_ready) { /* after its STATUS=: one view at READY */
        notify_ready();
        l->notified_ready = true;
    }
    l->last_nr = nr;
    l->force_status = false;
}

/* One pass of the main loop (after serving delivery reports). Returns
 * MKB_ERR_KAFKA when a producer failed for good. */
static int loop_pass(bridge_t *b, bridge_signals_t *sig, loop_t *l)
{
    char err[512];
    if (clock_mono_ms() >= l->next_tick) {
        delivery_tick(b->delivery);
        l->next_tick = clock_mono_ms() + 10;
    }
    mqtt_client_tick(b->mqtt);
    send_rebirths(b);
    rules_free(atomic_exchange(&b->retired, NULL));
    if (sig->reload) {
        sig->reload = 0;
        l->note = bridge_reload(b) == MKB_OK
                      ? "; reloaded"
                      : "; reload failed, previous routes kept (see the log)";
        l->force_status = true; /* a STATUS= line with the note */
    }
    loop_status(b, l);
    if (l->wd_ms > 0 && clock_mono_ms() >= l->next_wd) {
        notify_watchdog();
        l->next_wd = clock_mono_ms() + l->wd_ms / 2;
    }
    if (kafka_sink_fatal(b->sink, err, sizeof(err))) {
        log_error("bridge", "stopping: a Kafka producer failed for good: %s", err);
        return MKB_ERR_KAFKA;
    }
    if (clock_mono_ms() >= l->next_stats) {
        log_stats(b, "stats");
        l->next_stats = clock_mono_ms() + 60000;
    }
    return MKB_OK;
}

/* Shutdown: stop intake first, then drain what was taken. Returns what
 * was left undelivered (and how long it waited, in *TIMEOUT). */
static size_t drain(bridge_t *b, int *timeout)
{
    notify_stopping();
    notify_status("stopping: draining (up to %lld ms)", (long long)b->flush_timeout_ms);
    if (b->commands) { /* while MQTT is still up: PUBACKs in flight come back */
        log_info("bridge", "shutting down: stopping commands");
        downlink_stop(b->commands, 5000);
    }
    log_info("bridge", "shutting down: disconnecting from MQTT");
    atomic_store(&b->stopping, true);
    mqtt_client_stop(b->mqtt, 5000);
    long long deadline = clock_mono_ms() + 10000;
    /* A parked callback (see park) holds Paho's lock: no disconnect comes. */
    while (!mqtt_client_stopped(b->mqtt) && !atomic_load(&b->parked) &&
           clock_mono_ms() < deadline)
        kafka_sink_poll(b->sink, 50); /* a callback may wait for queue room */
    *timeout = (int)b->flush_timeout_ms;
    log_info("bridge", "flushing the producers (up to %d ms)", *timeout);
    deadline = clock_mono_ms() + *timeout;
    /* With a spool, let the sender hand over what is journaled first. */
    while (!delivery_caught_up(b->delivery) && clock_mono_ms() < deadline) {
        kafka_sink_poll(b->sink, 50);
        delivery_tick(b->delivery);
    }
    long long rest = deadline - clock_mono_ms();
    size_t left = kafka_sink_flush(b->sink, rest > 0 ? (int)rest : 0);
    kafka_sink_close(b->sink); /* a callback or the sender still waiting gives up */
    delivery_stop(b->delivery);
    kafka_sink_poll(b->sink, 0);
    delivery_tick(b->delivery);
    return left;
}

int bridge_run(bridge_t *b, bridge_signals_t *sig)
{
    int rc = MKB_OK;
    /* systemd (Type=notify, WatchdogSec=): no-ops without NOTIFY_SOCKET. */
    loop_t l = {.force_status = true,
                .note = "",
                .next_stats = clock_mono_ms() + 60000,
                .wd_ms = notify_watchdog_interval_ms()};

    if ((rc = delivery_start(b->delivery)) != MKB_OK)
        return rc;
    mqtt_client_start(b->mqtt);
    if (b->commands && downlink_start(b->commands) != MKB_OK) {
        log_error("bridge", "cannot start the command threads");
        sig->stop = 1;
        rc = MKB_ERR_NOMEM;
    }
    while (!sig->stop) {
        kafka_sink_poll(b->sink, 100);
        if ((rc = loop_pass(b, sig, &l)) != MKB_OK)
            break;
    }

    int timeout;
    size_t left = drain(b, &timeout);
    log_stats(b, "final");
    bridge_stats_t st;
    bridge_stats(b, &st);
    char reasons[1024];
    if (kafka_sink_failure_reasons(b->sink, reasons, sizeof(reasons)))
        log_warn("bridge", "failed deliveries by reason: %s", reasons);
    if (st.spool && (left > 0 || !delivery_caught_up(b->delivery))) {
        log_warn("bridge", "%zu record(s) in the producers and %llu journaled message(s) were "
                           "not delivered within %d ms; they stay in the spool and are sent at "
                           "the next start",
                 left, (unsigned long long)(st.sp.appended + st.sp.replay - st.sp.handed), timeout);
    } else if (left > 0) {
        log_error("bridge", "%zu record(s) not delivered within %d ms; MQTT acknowledged them, "
                            "so they are lost",
                  left, timeout);
        rc = MKB_ERR_TIMEOUT;
    }
    if (st.lost > 0) {
        log_error("bridge", "%llu record(s) lost: delivery and dead letter both failed",
                  (unsigned long long)st.lost);
        if (rc == MKB_OK)
            rc = MKB_ERR_KAFKA;
    }
    return rc;
}
