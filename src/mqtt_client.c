// SPDX-FileCopyrightText: 2026 The mqtt-kafka-bridge authors
// SPDX-License-Identifier: Apache-2.0
#include "mqtt_client.h"

#include "clock.h"
#include "err.h"
#include "log.h"
#include "subheld.h"
#include "tls_diag.h"

#include <MQTTAsync.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

struct mqtt_client {
    MQTTAsync client;
    char *uri;
    char *client_id;
    int version; /* MQTTVERSION_3_1_1 or MQTTVERSION_5 */
    bool clean_start;
    int keepalive_s;
    long long session_expiry_s;
    char *username;
    char *password;
    char *shared_group;
    MQTTAsync_SSLOptions ssl;
    bool use_tls;
    bool lock_ready;
    char *tls_ca, *tls_cert, *tls_key, *tls_key_password;
    /* The subscriptions (as sent: with $share/<group>/ when shared), kept
     * under lock: connected() (Paho's thread) reads them, a reload (main
     * thread) replaces them. */
    pthread_mutex_t lock;
    char **filters;
    int *qos;
    size_t nfilters;
    /* What the broker's session holds (subheld.h): a connect to a session
     * the broker kept subscribes only the rest and unsubscribes what is no
     * longer wanted. Its own lock, never held while calling Paho (the
     * subscribe callbacks take it on Paho's thread); order: lock, held_lock. */
    pthread_mutex_t held_lock;
    subheld_t *held;
    mqtt_client_handler_t handler;
    void *opaque;

    /* Shared between Paho's threads and the main thread. Never ask Paho
     * (MQTTAsync_isConnected) from a callback: track state here instead. */
    atomic_bool connected;
    atomic_bool subscribed;
    atomic_uint_fast64_t connects;
    atomic_bool stopping;
    atomic_bool stopped;
    atomic_bool connect_pending;
    atomic_bool ever_connected; /* after that, a failed connect is a reconnect */
    atomic_llong retry_at_ms;
    atomic_int retry_delay_s;

    /* Why a TLS connect failed (NULL without TLS). */
    tls_diag_t *tls;

    /* MQTT intake paused (the handler waits on Paho's thread): since when
     * (monotonic ms, 0: not paused) and why; the last pause that ended. */
    atomic_llong pause_since_ms;
    _Atomic(const char *) pause_why;
    atomic_llong last_pause_end_ms, last_pause_ms;
    atomic_bool pause_warned;    /* the long pause was reported by tick */
    atomic_llong explained_ms;   /* the pause (by its start) a lost connection was explained for */
};

static void on_trace(enum MQTTASYNC_TRACE_LEVELS level, char *message)
{
    log_level_t l = level >= MQTTASYNC_TRACE_ERROR ? LOG_LVL_ERROR : LOG_LVL_DEBUG;
    /* Paho 1.3.11 reports EINVAL from a timed wait at start-up as an error;
     * it is harmless (the wait is retried), so keep it out of error logs. */
    if (strstr(message, "waiting for condition variable"))
        l = LOG_LVL_DEBUG;
    log_msg(l, "paho", "%s", message);
}

void mqtt_client_route_traces(void)
{
    MQTTAsync_setTraceCallback(on_trace);
    MQTTAsync_setTraceLevel(log_enabled(LOG_LVL_DEBUG) ? MQTTASYNC_TRACE_PROTOCOL
                                                       : MQTTASYNC_TRACE_ERROR);
}

/* A connect failed: over TLS, find out why unless we are stopping. */
static void tls_connect_failed(mqtt_client_t *s)
{
    if (!atomic_load(&s->stopping))
        tls_diag_failed(s->tls);
}

/* ---- subscribe ---------------------------------------------------------- */

/* One subscribe request: its filters, for the callbacks to report on. */
typedef struct {
    mqtt_client_t *s;
    char **filters;
    int *qos;
    size_t n;
    bool all; /* the full list: success makes the client ready */
} subreq_t;

/* Frees the N strings of LIST and LIST. */
static void free_list(char **list, size_t n)
{
    for (size_t i = 0; list && i < n; i++)
        free(list[i]);
    free(list);
}

static void subreq_free(subreq_t *r)
{
    if (!r)
        return;
    free_list(r->filters, r->n);
    free(r->qos);
    free(r);
}

static subreq_t *subreq_new(mqtt_client_t *s, char *const *filters, const int *qos, size_t n,
                            bool all)
{
    subreq_t *r = calloc(1, sizeof(*r));
    if (!r)
        return NULL;
    r->s = s;
    r->all = all;
    r->filters = calloc(n ? n : 1, sizeof(char *));
    r->qos = calloc(n ? n : 1, sizeof(int));
    if (!r->filters || !r->qos) {
        subreq_free(r);
        return NULL;
    }
    for (; r->n < n; r->n++) {
        if (!(r->filters[r->n] = strdup(filters[r->n]))) {
            subreq_free(r);
            return NULL;
        }
        r->qos[r->n] = qos ? qos[r->n] : 0;
    }
    return r;
}

/* CODES[i] is the granted QoS or a reason code >= 0x80 for filter i. */
static void subscribed(subreq_t *r, const int *codes)
{
    bool ok = true;
    for (size_t i = 0; i < r->n; i++) {
        if (codes[i] >= 0x80) {
            log_error("mqtt", "subscription to '%s' refused by the broker: %s", r->filters[i],
                      MQTTReasonCode_toString((enum MQTTReasonCodes)codes[i])
                          ? MQTTReasonCode_toString((enum MQTTReasonCodes)codes[i])
                          : "failure");
            ok = false;
        } else if (codes[i] < r->qos[i]) {
            log_warn("mqtt", "subscription to '%s' granted QoS %d, asked for %d", r->filters[i],
                     codes[i], r->qos[i]);
        }
        if (codes[i] < 0x80) {
            pthread_mutex_lock(&r->s->held_lock);
            subheld_add(r->s->held, r->filters[i], r->qos[i]);
            pthread_mutex_unlock(&r->s->held_lock);
        }
    }
    if (ok)
        log_info("mqtt", "subscribed to %zu filter(s)", r->n);
    if (r->all)
        atomic_store(&r->s->subscribed, ok);
    subreq_free(r);
}

static void on_subscribe(void *ctx, MQTTAsync_successData *resp)
{
    subreq_t *r = ctx;
    int codes[256];
    for (size_t i = 0; i < r->n && i < 256; i++)
        codes[i] = r->n == 1 ? resp->alt.qos : resp->alt.qosList[i];
    subscribed(r, codes);
}

static void on_subscribe5(void *ctx, MQTTAsync_successData5 *resp)
{
    subreq_t *r = ctx;
    int codes[256];
    for (size_t i = 0; i < r->n && i < 256; i++)
        /* Paho fills the reasonCodes array only for more than one filter;
         * with one it leaves the pointer uninitialized (1.3.11 MQTTAsync.c). */
        codes[i] = resp->alt.sub.reasonCodeCount > 1 && (int)i < resp->alt.sub.reasonCodeCount
                       ? (int)resp->alt.sub.reasonCodes[i]
                       : (int)resp->reasonCode;
    subscribed(r, codes);
}

static void on_subscribe_failure(void *ctx, MQTTAsync_failureData *resp)
{
    subreq_t *r = ctx;
    log_error("mqtt", "subscribe to %zu filter(s) failed: %s (code %d)", r->n,
              resp && resp->message ? resp->message : "no reason given", resp ? resp->code : 0);
    subreq_free(r);
}

static void on_subscribe_failure5(void *ctx, MQTTAsync_failureData5 *resp)
{
    subreq_t *r = ctx;
    log_error("mqtt", "subscribe to %zu filter(s) failed: %s (%s)", r->n,
              resp && resp->message ? resp->message : "no message",
              resp ? MQTTReasonCode_toString(resp->reasonCode) : "?");
    subreq_free(r);
}

static void on_unsubscribe_done(void *ctx, MQTTAsync_successData *resp)
{
    (void)resp;
    subreq_t *r = ctx;
    log_info("mqtt", "unsubscribed from %zu filter(s)", r->n);
    subreq_free(r);
}

static void on_unsubscribe_done5(void *ctx, MQTTAsync_successData5 *resp)
{
    (void)resp;
    on_unsubscribe_done(ctx, NULL);
}

/* An unsubscribe failed: the session still holds the filters (they were
 * taken off the held list before the request). */
static void still_held(subreq_t *r)
{
    pthread_mutex_lock(&r->s->held_lock);
    for (size_t i = 0; i < r->n; i++)
        subheld_add(r->s->held, r->filters[i], 0);
    pthread_mutex_unlock(&r->s->held_lock);
}

static void on_unsubscribe_failed(void *ctx, MQTTAsync_failureData *resp)
{
    subreq_t *r = ctx;
    still_held(r);
    log_warn("mqtt", "unsubscribe from %zu filter(s) failed: %s", r->n,
             resp && resp->message ? resp->message : "no reason given");
    subreq_free(r);
}

static void on_unsubscribe_failed5(void *ctx, MQTTAsync_failureData5 *resp)
{
    subreq_t *r = ctx;
    still_held(r);
    log_warn("mqtt", "unsubscribe from %zu filter(s) failed: %s", r->n,
             resp && resp->message ? resp->message : "no reason given");
    subreq_free(r);
}

/* Sends SUBSCRIBE (QOS given) or UNSUBSCRIBE (QOS NULL) for FILTERS (takes
 * nothing; copies). Callable from any thread, also from a Paho callback
 * (the call does not wait). */
static int send_request(mqtt_client_t *s, char *const *filters, const int *qos, size_t n,
                        bool all)
{
    if (n == 0)
        return MKB_OK;
    subreq_t *r = subreq_new(s, filters, qos, n, all);
    MQTTSubscribe_options *opts = calloc(n, sizeof(*opts));
    if (!r || !opts) {
        subreq_free(r);
        free(opts);
        return MKB_ERR_NOMEM;
    }
    if (!qos) { /* off the list first: a crash before UNSUBACK costs a resubscription, not a filter */
        pthread_mutex_lock(&s->held_lock);
        for (size_t i = 0; i < n; i++)
            subheld_remove(s->held, filters[i]);
        pthread_mutex_unlock(&s->held_lock);
    }
    MQTTAsync_responseOptions ro = MQTTAsync_responseOptions_initializer;
    ro.context = r;
    if (s->version == MQTTVERSION_5) {
        ro.onSuccess5 = qos ? on_subscribe5 : on_unsubscribe_done5;
        ro.onFailure5 = qos ? on_subscribe_failure5 : on_unsubscribe_failed5;
        /* Retain handling 1: retained messages only for a subscription the
         * session did not hold yet, never again for a renewed one. */
        for (size_t i = 0; i < n; i++) {
            opts[i] = (MQTTSubscribe_options)MQTTSubscribe_options_initializer;
            opts[i].retainHandling = 1;
        }
        ro.subscribeOptions = opts[0];
        ro.subscribeOptionsList = opts;
        ro.subscribeOptionsCount = (int)n;
    } else {
        ro.onSuccess = qos ? on_subscribe : on_unsubscribe_done;
        ro.onFailure = qos ? on_subscribe_failure : on_unsubscribe_failed;
    }
    int rc = qos ? MQTTAsync_subscribeMany(s->client, (int)n, r->filters, r->qos, &ro)
                 : MQTTAsync_unsubscribeMany(s->client, (int)n, r->filters, &ro);
    free(opts); /* Paho copied them */
    if (rc != MQTTASYNC_SUCCESS) {
        if (!qos)
            still_held(r);
        log_error("mqtt", "%s request failed: %s", qos ? "subscribe" : "unsubscribe",
                  MQTTAsync_strerror(rc));
        subreq_free(r);
        return MKB_ERR_MQTT;
    }
    return MKB_OK;
}


/* The wanted subscriptions the session lacks (into ADD/ADDQ, room for all
 * wanted) and the held ones no longer wanted (into GONE, room for CAP; the
 * rest wait for the next connect). Called with s->lock. */
static void session_diff(mqtt_client_t *s, bool session_present, char **add, int *addq,
                         size_t *nadd, char **gone, size_t cap, size_t *ngone)
{
    pthread_mutex_lock(&s->held_lock);
    if (!session_present) /* a new session holds nothing */
        subheld_clear(s->held);
    for (size_t i = 0; i < s->nfilters; i++)
        if (!subheld_has(s->held, s->filters[i], s->qos[i])) {
            add[*nadd] = s->filters[i];
            addq[(*nadd)++] = s->qos[i];
        }
    for (size_t j = 0; j < subheld_count(s->held) && *ngone < cap; j++) {
        size_t i = 0;
        while (i < s->nfilters && strcmp(s->filters[i], subheld_filter(s->held, j)) != 0)
            i++;
        if (i == s->nfilters && (gone[*ngone] = strdup(subheld_filter(s->held, j))))
            (*ngone)++;
    }
    pthread_mutex_unlock(&s->held_lock);
}

/* Every connect, first or a reconnect: subscribes what the session lacks
 * (all of it in a new session) and unsubscribes what it holds but the rules
 * no longer want. What it already holds is not renewed: a renewed
 * subscription would bring the retained messages again (MQTT 3.1.1). */
static void connected(mqtt_client_t *s, bool session_present)
{
    atomic_store(&s->connected, true);
    atomic_fetch_add(&s->connects, 1);
    atomic_store(&s->ever_connected, true);
    atomic_store(&s->connect_pending, false);
    atomic_store(&s->retry_delay_s, 1);
    pthread_mutex_lock(&s->lock);
    pthread_mutex_lock(&s->held_lock);
    size_t held = subheld_count(s->held), nadd = 0, ngone = 0;
    pthread_mutex_unlock(&s->held_lock);
    char **add = calloc(s->nfilters + 1, sizeof(char *)), **gone = calloc(held + 1, sizeof(char *));
    int *addq = calloc(s->nfilters + 1, sizeof(int));
    if (!add || !gone || !addq) { /* subscribe everything: deaf would be worse */
        log_error("mqtt", "out of memory; subscribing all %zu filter(s)", s->nfilters);
        send_request(s, s->filters, s->qos, s->nfilters, true);
        goto unlock;
    }
    session_diff(s, session_present, add, addq, &nadd, gone, held, &ngone);
    log_info("mqtt", "connected to %s (session %s); subscribing %zu of %zu filter(s)%s", s->uri,
             session_present ? "present" : "new", nadd, s->nfilters,
             ngone ? ", unsubscribing some no longer wanted" : "");
    if (nadd)
        send_request(s, add, addq, nadd, true);
    else
        atomic_store(&s->subscribed, true); /* the session holds them all */
    send_request(s, gone, NULL, ngone, false);
unlock:
    pthread_mutex_unlock(&s->lock);
    free_list(gone, ngone);
    free(add);
    free(addq);
}

static void on_connect_success(void *ctx, MQTTAsync_successData *resp)
{
    connected(ctx, resp && resp->alt.connect.sessionPresent);
}

static void on_connect_success5(void *ctx, MQTTAsync_successData5 *resp)
{
    connected(ctx, resp && resp->alt.connect.sessionPresent);
}

/* "$share/<group>/<filter>" when shared, else a copy of FILTER. */
static char *wire_filter(const mqtt_client_t *s, const char *filter)
{
    if (!s->shared_group)
        return strdup(filter);
    size_t n = strlen(s->shared_group) + strlen(filter) + 9;
    char *f = malloc(n);
    if (f)
        snprintf(f, n, "$share/%s/%s", s->shared_group, filter);
    return f;
}

int mqtt_client_set_subscriptions(mqtt_client_t *s, const char *const *filters, const int *qos,
                                  size_t n)
{
    char **nf = calloc(n ? n : 1, sizeof(char *));
    int *nq = calloc(n ? n : 1, sizeof(int));
    if (!nf || !nq) {
        free(nf);
        free(nq);
        return MKB_ERR_NOMEM;
    }
    for (size_t i = 0; i < n; i++) {
        if (!(nf[i] = wire_filter(s, filters[i]))) {
            free_list(nf, i);
            free(nq);
            return MKB_ERR_NOMEM;
        }
        nq[i] = qos[i];
    }
    pthread_mutex_lock(&s->lock);
    /* What is new or asks for another QoS, and what is gone. */
    char **add = calloc(n ? n : 1, sizeof(char *)), **gone = calloc(s->nfilters + 1, sizeof(char *));
    int *addq = calloc(n ? n : 1, sizeof(int));
    size_t nadd = 0, ngone = 0;
    int rc = MKB_OK;
    if (!add || !gone || !addq) {
        rc = MKB_ERR_NOMEM;
        goto unlock;
    }
    for (size_t i = 0; i < n; i++) {
        size_t j;
        for (j = 0; j < s->nfilters && strcmp(s->filters[j], nf[i]) != 0; j++)
            ;
        if (j == s->nfilters || s->qos[j] != nq[i]) {
            add[nadd] = nf[i];
            addq[nadd++] = nq[i];
        }
    }
    for (size_t j = 0; j < s->nfilters; j++) {
        size_t i;
        for (i = 0; i < n && strcmp(s->filters[j], nf[i]) != 0; i++)
            ;
        if (i == n)
            gone[ngone++] = s->filters[j];
    }
    /* Not connected: the next connect compares with what the session
     * holds, and subscribes and unsubscribes then. */
    if (atomic_load(&s->connected)) {
        send_request(s, add, addq, nadd, false);
        send_request(s, gone, NULL, ngone, false);
    }
    free_list(s->filters, s->nfilters);
    free(s->qos);
    s->filters = nf;
    s->qos = nq;
    s->nfilters = n;
    nf = NULL;
    nq = NULL;
    log_info("mqtt", "subscriptions updated: %zu added or changed, %zu removed", nadd, ngone);
unlock:
    pthread_mutex_unlock(&s->lock);
    free(add);
    free(addq);
    free(gone);
    if (nf)
        free_list(nf, n);
    free(nq);
    return rc;
}

/* While the handler waits (intake paused), Paho's receive thread is inside
 * it holding Paho's lock: no keepalive is sent (MQTTProtocol_keepalive runs
 * on that thread) and nothing is read, so the broker closes the connection
 * after 1.5 x keepalive_s; Paho only finds out once the handler returns.
 * Says so, once per pause, before Paho's own terse line. */
static void explain_pause(mqtt_client_t *s)
{
    long long now = clock_mono_ms(), since = atomic_load(&s->pause_since_ms), len;
    if (since) {
        len = now - since;
    } else {
        long long end = atomic_load(&s->last_pause_end_ms);
        len = atomic_load(&s->last_pause_ms);
        since = end - len;
        if (!end || now - end > 30000) /* a loss long after the pause has other causes */
            return;
    }
    if (len < (long long)s->keepalive_s * 1000 || atomic_exchange(&s->explained_ms, since) == since)
        return;
    const char *why = atomic_load(&s->pause_why);
    log_warn("mqtt", "connection to %s lost while MQTT intake was paused for %lld s (%s): Paho "
                     "sends no keepalive while intake waits, and the broker closes a session "
                     "silent for 1.5 x mqtt.keepalive_s (%d s); the bridge reconnects and the "
                     "broker redelivers the messages not acknowledged: nothing is lost",
             s->uri, len / 1000, why ? why : "intake waiting", s->keepalive_s);
}

void mqtt_client_intake_paused(mqtt_client_t *s, const char *why)
{
    long long now = clock_mono_ms(), since = atomic_load(&s->pause_since_ms);
    if (why) {
        atomic_store(&s->pause_why, why);
        if (!since) {
            atomic_store(&s->pause_warned, false);
            atomic_store(&s->pause_since_ms, now);
        }
    } else if (since) {
        atomic_store(&s->last_pause_ms, now - since);
        atomic_store(&s->last_pause_end_ms, now);
        atomic_store(&s->pause_since_ms, 0);
    }
}

static void schedule_retry(mqtt_client_t *s)
{
    int d = atomic_load(&s->retry_delay_s);
    atomic_store(&s->retry_at_ms, clock_mono_ms() + (long long)d * 1000);
    atomic_store(&s->retry_delay_s, d < 30 ? d * 2 : 30);
    atomic_store(&s->connect_pending, false);
}

static void on_connection_lost(void *ctx, char *cause)
{
    mqtt_client_t *s = ctx;
    atomic_store(&s->connected, false);
    atomic_store(&s->subscribed, false);
    if (!atomic_load(&s->stopping))
        explain_pause(s);
    if (!atomic_load(&s->stopping)) {
        log_warn("mqtt", "connection to %s lost: %s; reconnecting", s->uri,
                 cause ? cause : "no reason given");
        schedule_retry(s);
    }
}

/* A failed connect, either protocol: the TLS diagnosis, and for a
 * reconnect the log line and the next try. True when it was a reconnect:
 * nothing more to do. */
static bool connect_failed(mqtt_client_t *s, const char *message)
{
    tls_connect_failed(s);
    if (!atomic_load(&s->ever_connected))
        return false;
    explain_pause(s);
    log_warn("mqtt", "reconnect to %s failed: %s; retrying in %d s", s->uri,
             message ? message : "no reason given", atomic_load(&s->retry_delay_s));
    schedule_retry(s);
    return true;
}

static void on_connect_failure(void *ctx, MQTTAsync_failureData *resp)
{
    mqtt_client_t *s = ctx;
    if (connect_failed(s, resp ? resp->message : NULL))
        return;
    /* MQTT 3.1.1 CONNACK return codes (section 3.2.2.3). */
    static const char *const connack[] = {"", "unacceptable protocol version",
                                          "identifier rejected", "server unavailable",
                                          "bad user name or password", "not authorized"};
    int code = resp ? resp->code : 0;
    log_error("mqtt", "cannot connect to %s: %s (%s%scode %d); retrying in %d s", s->uri,
              resp && resp->message ? resp->message : "no reason given",
              code > 0 && code <= 5 ? connack[code] : "", code > 0 && code <= 5 ? ", " : "",
              code, atomic_load(&s->retry_delay_s));
    schedule_retry(s);
}

static void on_connect_failure5(void *ctx, MQTTAsync_failureData5 *resp)
{
    mqtt_client_t *s = ctx;
    if (connect_failed(s, resp ? resp->message : NULL))
        return;
    /* Paho 1.3.11 leaves reasonCode at 0 for a refused CONNACK and puts the
     * broker's reason code in `code` (e.g. 135 = not authorized). */
    int rc = resp ? (resp->reasonCode ? (int)resp->reasonCode : resp->code) : 0;
    const char *name = rc >= 0x80 ? MQTTReasonCode_toString((enum MQTTReasonCodes)rc) : NULL;
    log_error("mqtt", "cannot connect to %s: %s (%s%s%d); retrying in %d s", s->uri,
              resp && resp->message ? resp->message : "no message", name ? name : "",
              name ? ", code " : "code ", rc, atomic_load(&s->retry_delay_s));
    schedule_retry(s);
}

/* The custody point: Paho acknowledges the message after this returns. */
static int on_message(void *ctx, char *topic, int topic_len, MQTTAsync_message *m)
{
    mqtt_client_t *s = ctx;
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    mkb_prop_t props[MQTT_CLIENT_MAX_PROPS];
    mqtt_msg_t msg = {
        .topic = topic,
        .topic_len = topic_len > 0 ? (size_t)topic_len : strlen(topic),
        .payload = m->payload,
        .payload_len = m->payloadlen > 0 ? (size_t)m->payloadlen : 0,
        .qos = m->qos,
        .retained = m->retained != 0,
        .dup = m->dup != 0,
        .props = props,
        .recv_ms = (int64_t)now.tv_sec * 1000 + now.tv_nsec / 1000000,
    };
    for (int i = 0; i < m->properties.count; i++) {
        const MQTTProperty *p = &m->properties.array[i];
        if (p->identifier == MQTTPROPERTY_CODE_CONTENT_TYPE) {
            msg.content_type = p->value.data.data;
            msg.content_type_len = (size_t)p->value.data.len;
        } else if (p->identifier == MQTTPROPERTY_CODE_USER_PROPERTY) {
            if (msg.nprops == MQTT_CLIENT_MAX_PROPS) {
                log_debug("mqtt", "more than %d user properties; the rest are not passed on",
                          MQTT_CLIENT_MAX_PROPS);
                continue;
            }
            props[msg.nprops++] = (mkb_prop_t){p->value.data.data, (size_t)p->value.data.len,
                                               p->value.value.data, (size_t)p->value.value.len};
        }
    }
    int rc = s->handler(s->opaque, &msg);
    if (rc == MKB_ERR_STOPPED) {
        /* Shutting down with the message not safe. Paho 1.3.12 still sends
         * the PUBACK of a QoS 1 message after this returns (whatever it
         * returns) and keeps the message in its memory only: the handler
         * should not return then (the bridge parks its thread with the
         * spool); without the spool that message is lost. */
        return 0;
    }
    MQTTAsync_freeMessage(&m);
    MQTTAsync_free(topic);
    return 1;
}

static void on_disconnected(void *ctx, MQTTAsync_successData *resp)
{
    (void)resp;
    mqtt_client_t *s = ctx;
    atomic_store(&s->connected, false);
    atomic_store(&s->stopped, true);
}

static void on_disconnect_failure(void *ctx, MQTTAsync_failureData *resp)
{
    mqtt_client_t *s = ctx;
    log_warn("mqtt", "disconnect failed: %s",
             resp && resp->message ? resp->message : "no reason given");
    atomic_store(&s->stopped, true);
}

static void on_disconnected5(void *ctx, MQTTAsync_successData5 *resp)
{
    (void)resp;
    on_disconnected(ctx, NULL);
}

static void on_disconnect_failure5(void *ctx, MQTTAsync_failureData5 *resp)
{
    mqtt_client_t *s = ctx;
    log_warn("mqtt", "disconnect failed: %s",
             resp && resp->message ? resp->message : "no reason given");
    atomic_store(&s->stopped, true);
}

/* ---- lifecycle ---------------------------------------------------------- */

/* Copies what the client keeps of CFG (the strings: a reload frees CFG). */
static int copy_settings(mqtt_client_t *s, const config_t *cfg)
{
    s->version = cfg->mqtt_version == CONFIG_MQTT_5 ? MQTTVERSION_5 : MQTTVERSION_3_1_1;
    s->clean_start = cfg->mqtt_clean_start;
    s->keepalive_s = (int)cfg->mqtt_keepalive_s;
    s->session_expiry_s = cfg->mqtt_session_expiry_s;
    atomic_store(&s->retry_delay_s, 1);
    if (!(s->uri = strdup(cfg->mqtt_uri)) || !(s->client_id = strdup(cfg->mqtt_client_id)) ||
        (cfg->mqtt_username && !(s->username = strdup(cfg->mqtt_username))) ||
        (cfg->mqtt_password && !(s->password = strdup(cfg->mqtt_password))) ||
        (cfg->mqtt_shared_group && !(s->shared_group = strdup(cfg->mqtt_shared_group))) ||
        (cfg->tls_ca_file && !(s->tls_ca = strdup(cfg->tls_ca_file))) ||
        (cfg->tls_cert_file && !(s->tls_cert = strdup(cfg->tls_cert_file))) ||
        (cfg->tls_key_file && !(s->tls_key = strdup(cfg->tls_key_file))) ||
        (cfg->tls_key_password && !(s->tls_key_password = strdup(cfg->tls_key_password))))
        return MKB_ERR_NOMEM;
    return MKB_OK;
}

/* What the session holds, remembered in the spool directory when there is
 * one (without it a restart subscribes everything again). */
static int held_open(mqtt_client_t *s, const config_t *cfg)
{
    char path[4096];
    bool file = cfg->spool_dir &&
                (size_t)snprintf(path, sizeof(path), "%s/mqtt-subscriptions", cfg->spool_dir) <
                    sizeof(path);
    return subheld_new(file ? path : NULL, s->uri, s->client_id, &s->held);
}

/* Paho's TLS options, and the TLS diagnosis for an ssl:// URI. */
static int setup_tls(mqtt_client_t *s, const config_t *cfg, char *errstr, size_t errstr_size)
{
    s->use_tls = strncmp(s->uri, "ssl://", 6) == 0 || strncmp(s->uri, "mqtts://", 8) == 0;
    if (!s->use_tls && (s->tls_ca || s->tls_cert || s->tls_key)) {
        snprintf(errstr, errstr_size,
                 "mqtt.tls is set but mqtt.uri '%s' is not ssl://host:port: refusing to send "
                 "in the clear what was meant to be encrypted", s->uri);
        return MKB_ERR_CONFIG;
    }
    MQTTAsync_SSLOptions ssl = MQTTAsync_SSLOptions_initializer;
    ssl.trustStore = s->tls_ca;
    ssl.keyStore = s->tls_cert;
    ssl.privateKey = s->tls_key;
    ssl.privateKeyPassword = s->tls_key_password;
    ssl.enableServerCertAuth = 1; /* never off: a bridge must know whom it talks to */
    ssl.verify = cfg->tls_verify_hostname;
    ssl.sslVersion = MQTT_SSL_VERSION_TLS_1_2;
    if (s->use_tls) {
        tls_diag_conn_t conn = {.uri = s->uri,
                                .ca_file = s->tls_ca,
                                .cert_file = s->tls_cert,
                                .key_file = s->tls_key,
                                .key_password = s->tls_key_password,
                                .verify_hostname = cfg->tls_verify_hostname};
        if (!(s->tls = tls_diag_new(&conn)))
            return MKB_ERR_NOMEM;
        ssl.ssl_error_cb = tls_diag_openssl_error;
        ssl.ssl_error_context = s->tls;
    }
    s->ssl = ssl;
    return MKB_OK;
}

/* The Paho client and its callbacks. */
static int create_client(mqtt_client_t *s, char *errstr, size_t errstr_size)
{
    MQTTAsync_createOptions co = MQTTAsync_createOptions_initializer;
    co.MQTTVersion = s->version;
    /* No outgoing message store: the bridge subscribes, and the commands it
     * publishes have their Kafka offsets committed only once the broker
     * acknowledged them, so one lost in a restart is read from Kafka again. */
    int prc = MQTTAsync_createWithOptions(&s->client, s->uri, s->client_id,
                                          MQTTCLIENT_PERSISTENCE_NONE, NULL, &co);
    if (prc != MQTTASYNC_SUCCESS) {
        snprintf(errstr, errstr_size, "mqtt: cannot create client for %s: %s", s->uri,
                 MQTTAsync_strerror(prc));
        s->client = NULL;
        return MKB_ERR_MQTT;
    }
    prc = MQTTAsync_setCallbacks(s->client, s, on_connection_lost, on_message, NULL);
    if (prc != MQTTASYNC_SUCCESS) {
        snprintf(errstr, errstr_size, "mqtt: cannot set callbacks: %s", MQTTAsync_strerror(prc));
        return MKB_ERR_MQTT;
    }
    return MKB_OK;
}

int mqtt_client_new(const config_t *cfg, const char *const *filters, const int *qos, size_t n,
                    mqtt_client_handler_t handler, void *opaque, mqtt_client_t **out,
                    char *errstr, size_t errstr_size)
{
    int rc = MKB_ERR_NOMEM;
    mqtt_client_t *s = calloc(1, sizeof(*s));
    if (!s)
        goto fail;
    s->handler = handler;
    s->opaque = opaque;
    pthread_mutex_init(&s->lock, NULL);
    pthread_mutex_init(&s->held_lock, NULL);
    s->lock_ready = true;
    if ((rc = copy_settings(s, cfg)) != MKB_OK || (rc = held_open(s, cfg)) != MKB_OK ||
        (rc = setup_tls(s, cfg, errstr, errstr_size)) != MKB_OK ||
        (rc = mqtt_client_set_subscriptions(s, filters, qos, n)) != MKB_OK ||
        (rc = create_client(s, errstr, errstr_size)) != MKB_OK)
        goto free_client;
    *out = s;
    return MKB_OK;

free_client:
    mqtt_client_destroy(s);
fail:
    if (rc == MKB_ERR_NOMEM)
        snprintf(errstr, errstr_size, "out of memory");
    return rc;
}

static int do_connect(mqtt_client_t *s)
{
    MQTTAsync_connectOptions o = MQTTAsync_connectOptions_initializer;
    MQTTAsync_connectOptions o5 = MQTTAsync_connectOptions_initializer5;
    MQTTProperties props = MQTTProperties_initializer;
    if (s->version == MQTTVERSION_5) {
        o = o5;
        o.cleanstart = s->clean_start;
        /* Without a session expiry an MQTT 5 session ends at disconnect,
         * and with it the messages queued for us. */
        MQTTProperty p = {.identifier = MQTTPROPERTY_CODE_SESSION_EXPIRY_INTERVAL};
        p.value.integer4 = (unsigned int)s->session_expiry_s;
        MQTTProperties_add(&props, &p);
        o.connectProperties = &props;
        o.onSuccess5 = on_connect_success5;
        o.onFailure5 = on_connect_failure5;
    } else {
        o.MQTTVersion = MQTTVERSION_3_1_1;
        o.cleansession = s->clean_start;
        o.onSuccess = on_connect_success;
        o.onFailure = on_connect_failure;
    }
    if (s->use_tls)
        o.ssl = &s->ssl;
    o.keepAliveInterval = s->keepalive_s;
    o.username = s->username;
    o.password = s->password;
    /* We reconnect ourselves (mqtt_client_tick): Paho tells sessionPresent
     * only to a connect's onSuccess, which its automatic reconnect does not
     * call again (1.3.12 MQTTAsyncUtils.c nulls it after the first
     * connect), and a reconnect must know whether the session kept the
     * subscriptions. */
    o.automaticReconnect = 0;
    o.connectTimeout = 10;
    o.context = s;
    tls_diag_attempt(s->tls);
    atomic_store(&s->connect_pending, true);
    int rc = MQTTAsync_connect(s->client, &o);
    MQTTProperties_free(&props);
    if (rc != MQTTASYNC_SUCCESS) {
        log_error("mqtt", "connect to %s failed: %s", s->uri, MQTTAsync_strerror(rc));
        schedule_retry(s);
        return MKB_ERR_MQTT;
    }
    return MKB_OK;
}

int mqtt_client_start(mqtt_client_t *s)
{
    log_info("mqtt", "connecting to %s as '%s' (MQTT %s, %s session)", s->uri, s->client_id,
             s->version == MQTTVERSION_5 ? "5" : "3.1.1",
             s->clean_start ? "clean" : "persistent");
    return do_connect(s);
}

void mqtt_client_tick(mqtt_client_t *s)
{
    if (!atomic_load(&s->stopping))
        tls_diag_tick(s->tls);
    long long since = atomic_load(&s->pause_since_ms);
    if (since && clock_mono_ms() - since >= (long long)s->keepalive_s * 1500 &&
        atomic_load(&s->connected) && !atomic_exchange(&s->pause_warned, true)) {
        const char *why = atomic_load(&s->pause_why);
        log_warn("mqtt", "MQTT intake paused for %.1f s (%s), past 1.5 x mqtt.keepalive_s "
                         "(%.1f s): the broker has probably closed the connection (no keepalive "
                         "goes out while intake waits); the bridge reconnects once intake resumes "
                         "and the broker redelivers what was not acknowledged",
                 (double)(clock_mono_ms() - since) / 1000.0, why ? why : "intake waiting",
                 s->keepalive_s * 1.5);
    }
    if (atomic_load(&s->stopping) || atomic_load(&s->connected) ||
        atomic_load(&s->connect_pending))
        return;
    long long at = atomic_load(&s->retry_at_ms);
    if (at != 0 && clock_mono_ms() >= at) {
        atomic_store(&s->retry_at_ms, 0);
        do_connect(s);
    }
}

bool mqtt_client_ready(const mqtt_client_t *s)
{
    return atomic_load(&s->connected) && atomic_load(&s->subscribed);
}

void mqtt_client_stop(mqtt_client_t *s, int timeout_ms)
{
    atomic_store(&s->stopping, true);
    MQTTAsync_disconnectOptions o = MQTTAsync_disconnectOptions_initializer;
    o.timeout = timeout_ms;
    o.context = s;
    if (s->version == MQTTVERSION_5) {
        o.onSuccess5 = on_disconnected5;
        o.onFailure5 = on_disconnect_failure5;
    } else {
        o.onSuccess = on_disconnected;
        o.onFailure = on_disconnect_failure;
    }
    int rc = MQTTAsync_disconnect(s->client, &o);
    if (rc != MQTTASYNC_SUCCESS) /* e.g. not connected: nothing to wait for */
        atomic_store(&s->stopped, true);
}

bool mqtt_client_stopped(const mqtt_client_t *s) { return atomic_load(&s->stopped); }

void mqtt_client_destroy(mqtt_client_t *s)
{
    if (!s)
        return;
    tls_diag_destroy(s->tls); /* before the strings it borrows */
    if (s->client)
        MQTTAsync_destroy(&s->client);
    free_list(s->filters, s->nfilters);
    free(s->qos);
    subheld_destroy(s->held);
    free(s->shared_group);
    free(s->tls_ca);
    free(s->tls_cert);
    free(s->tls_key);
    free(s->tls_key_password);
    if (s->lock_ready) {
        pthread_mutex_destroy(&s->lock);
        pthread_mutex_destroy(&s->held_lock);
    }
    free(s->uri);
    free(s->client_id);
    free(s->username);
    free(s->password);
    free(s);
}

/* ---- publishing ----------------------------------------------------------- */

bool mqtt_client_connected(const mqtt_client_t *s) { return atomic_load(&s->connected); }

uint64_t mqtt_client_reconnects(const mqtt_client_t *s)
{
    uint64_t n = atomic_load(&s->connects);
    return n ? n - 1 : 0;
}

size_t mqtt_client_subscription_count(mqtt_client_t *s)
{
    pthread_mutex_lock(&s->lock);
    size_t n = s->nfilters;
    pthread_mutex_unlock(&s->lock);
    return n;
}

typedef struct {
    mqtt_client_published_t done;
    void *opaque;
} pubctx_t;

static void pub_finish(pubctx_t *c, bool ok, const char *why)
{
    c->done(c->opaque, ok, why);
    free(c);
}

static void on_published(void *ctx, MQTTAsync_successData *r)
{
    (void)r;
    pub_finish(ctx, true, NULL);
}

static void on_published5(void *ctx, MQTTAsync_successData5 *r)
{
    /* A PUBACK reason code >= 0x80 is a refusal (no subscribers is 0x10: fine). */
    if (r && r->reasonCode >= 0x80) {
        char why[64];
        snprintf(why, sizeof(why), "broker refused: %s", MQTTReasonCode_toString(r->reasonCode));
        pub_finish(ctx, false, why);
        return;
    }
    pub_finish(ctx, true, NULL);
}

static void on_publish_failed(void *ctx, MQTTAsync_failureData *r)
{
    pub_finish(ctx, false, r && r->message ? r->message : "publish failed");
}

static void on_publish_failed5(void *ctx, MQTTAsync_failureData5 *r)
{
    pub_finish(ctx, false, r && r->message ? r->message : "publish failed");
}

static int add_prop(MQTTProperties *props, enum MQTTPropertyCodes id, const void *data,
                    size_t len, const char *value, size_t value_len)
{
    MQTTProperty p = {.identifier = id};
    p.value.data.data = (char *)data;
    p.value.data.len = (int)len;
    p.value.value.data = (char *)value;
    p.value.value.len = (int)value_len;
    return MQTTProperties_add(props, &p) == 0 ? MKB_OK : MKB_ERR_INVAL;
}

int mqtt_client_publish(mqtt_client_t *s, const mqtt_pub_t *p, mqtt_client_published_t done,
                        void *opaque, char *why, size_t why_size)
{
    if (!atomic_load(&s->connected)) {
        snprintf(why, why_size, "not connected to %s", s->uri);
        return MKB_ERR_MQTT;
    }
    pubctx_t *c = malloc(sizeof(*c));
    if (!c) {
        snprintf(why, why_size, "out of memory");
        return MKB_ERR_NOMEM;
    }
    c->done = done;
    c->opaque = opaque;
    MQTTAsync_message m = MQTTAsync_message_initializer;
    m.payload = (void *)p->payload;
    m.payloadlen = (int)p->len;
    m.qos = p->qos;
    m.retained = p->retain;
    MQTTAsync_responseOptions ro = MQTTAsync_responseOptions_initializer;
    ro.context = c;
    MQTTProperties props = MQTTProperties_initializer;
    int rc = MKB_OK;
    if (s->version == MQTTVERSION_5) {
        ro.onSuccess5 = on_published5;
        ro.onFailure5 = on_publish_failed5;
        if (p->expiry_s > 0) {
            MQTTProperty e = {.identifier = MQTTPROPERTY_CODE_MESSAGE_EXPIRY_INTERVAL};
            e.value.integer4 = (unsigned int)p->expiry_s;
            rc = MQTTProperties_add(&props, &e) == 0 ? MKB_OK : MKB_ERR_INVAL;
        }
        if (!rc && p->content_type)
            rc = add_prop(&props, MQTTPROPERTY_CODE_CONTENT_TYPE, p->content_type,
                          strlen(p->content_type), NULL, 0);
        if (!rc && p->response_topic)
            rc = add_prop(&props, MQTTPROPERTY_CODE_RESPONSE_TOPIC, p->response_topic,
                          strlen(p->response_topic), NULL, 0);
        if (!rc && p->correlation)
            rc = add_prop(&props, MQTTPROPERTY_CODE_CORRELATION_DATA, p->correlation,
                          p->correlation_len, NULL, 0);
        for (size_t i = 0; !rc && i < p->nprops; i++)
            rc = add_prop(&props, MQTTPROPERTY_CODE_USER_PROPERTY, p->props[i].name,
                          strlen(p->props[i].name), p->props[i].value,
                          strlen(p->props[i].value));
        m.properties = props;
    } else {
        ro.onSuccess = on_published;
        ro.onFailure = on_publish_failed;
    }
    if (rc != MKB_OK) {
        MQTTProperties_free(&props);
        free(c);
        snprintf(why, why_size, "MQTT 5 properties too large");
        return MKB_ERR_MQTT;
    }
    /* Paho copies the payload and the properties. */
    int prc = MQTTAsync_sendMessage(s->client, p->topic, &m, &ro);
    MQTTProperties_free(&props);
    if (prc != MQTTASYNC_SUCCESS) {
        free(c);
        snprintf(why, why_size, "%s", MQTTAsync_strerror(prc));
        return MKB_ERR_MQTT;
    }
    return MKB_OK;
}
