#include "mqtt_source.h"

#include "err.h"
#include "log.h"

#include <MQTTAsync.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct mqtt_source {
    MQTTAsync client;
    char *uri;
    char *client_id;
    int version; /* MQTTVERSION_3_1_1 or MQTTVERSION_5 */
    bool clean_start;
    int keepalive_s;
    long long session_expiry_s;
    char *username;
    char *password;
    char **filters;
    int *qos;
    size_t nfilters;
    mqtt_source_handler_t handler;
    void *opaque;

    /* Shared between Paho's threads and the main thread. Never ask Paho
     * (MQTTAsync_isConnected) from a callback: track state here instead. */
    atomic_bool connected;
    atomic_bool subscribed;
    atomic_bool stopping;
    atomic_bool stopped;
    atomic_bool connect_pending;
    atomic_llong retry_at_ms;
    atomic_int retry_delay_s;
};

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void on_trace(enum MQTTASYNC_TRACE_LEVELS level, char *message)
{
    log_level_t l = level >= MQTTASYNC_TRACE_ERROR ? LOG_LVL_ERROR : LOG_LVL_DEBUG;
    /* Paho 1.3.11 reports EINVAL from a timed wait at start-up as an error;
     * it is harmless (the wait is retried), so keep it out of error logs. */
    if (strstr(message, "waiting for condition variable"))
        l = LOG_LVL_DEBUG;
    log_msg(l, "paho", "%s", message);
}

void mqtt_source_route_traces(void)
{
    MQTTAsync_setTraceCallback(on_trace);
    MQTTAsync_setTraceLevel(log_enabled(LOG_LVL_DEBUG) ? MQTTASYNC_TRACE_PROTOCOL
                                                       : MQTTASYNC_TRACE_ERROR);
}

/* ---- subscribe ---------------------------------------------------------- */

static void on_subscribe(void *ctx, MQTTAsync_successData *resp)
{
    mqtt_source_t *s = ctx;
    bool ok = true;
    for (size_t i = 0; i < s->nfilters; i++) {
        int granted = s->nfilters == 1 ? resp->alt.qos : resp->alt.qosList[i];
        if (granted == 0x80) {
            log_error("mqtt", "subscription to '%s' refused by the broker", s->filters[i]);
            ok = false;
        } else if (granted < s->qos[i]) {
            log_warn("mqtt", "subscription to '%s' granted QoS %d, asked for %d", s->filters[i],
                     granted, s->qos[i]);
        }
    }
    atomic_store(&s->subscribed, ok);
    if (ok)
        log_info("mqtt", "subscribed to %zu filter(s)", s->nfilters);
}

static void on_subscribe5(void *ctx, MQTTAsync_successData5 *resp)
{
    mqtt_source_t *s = ctx;
    bool ok = true;
    for (size_t i = 0; i < s->nfilters; i++) {
        /* Paho fills the reasonCodes array only for more than one filter;
         * with one it leaves the pointer uninitialized (1.3.11 MQTTAsync.c). */
        int rc = resp->alt.sub.reasonCodeCount > 1 && (int)i < resp->alt.sub.reasonCodeCount
                     ? (int)resp->alt.sub.reasonCodes[i]
                     : (int)resp->reasonCode;
        if (rc >= 0x80) {
            log_error("mqtt", "subscription to '%s' refused by the broker: %s", s->filters[i],
                      MQTTReasonCode_toString((enum MQTTReasonCodes)rc));
            ok = false;
        } else if (rc < s->qos[i]) {
            log_warn("mqtt", "subscription to '%s' granted QoS %d, asked for %d", s->filters[i],
                     rc, s->qos[i]);
        }
    }
    atomic_store(&s->subscribed, ok);
    if (ok)
        log_info("mqtt", "subscribed to %zu filter(s)", s->nfilters);
}

static void on_subscribe_failure(void *ctx, MQTTAsync_failureData *resp)
{
    (void)ctx;
    log_error("mqtt", "subscribe failed: %s (code %d)",
              resp && resp->message ? resp->message : "no reason given", resp ? resp->code : 0);
}

static void on_subscribe_failure5(void *ctx, MQTTAsync_failureData5 *resp)
{
    (void)ctx;
    log_error("mqtt", "subscribe failed: %s (%s)",
              resp && resp->message ? resp->message : "no message",
              resp ? MQTTReasonCode_toString(resp->reasonCode) : "?");
}

/* setConnected callback: every connect, first or automatic reconnect. */
static void on_connected(void *ctx, char *cause)
{
    mqtt_source_t *s = ctx;
    atomic_store(&s->connected, true);
    atomic_store(&s->connect_pending, false);
    atomic_store(&s->retry_delay_s, 1);
    (void)cause; /* Paho's text says "automatic reconnect" even for the first connect */
    log_info("mqtt", "connected to %s; subscribing", s->uri);
    MQTTAsync_responseOptions ro = MQTTAsync_responseOptions_initializer;
    ro.context = s;
    if (s->version == MQTTVERSION_5) {
        ro.onSuccess5 = on_subscribe5;
        ro.onFailure5 = on_subscribe_failure5;
    } else {
        ro.onSuccess = on_subscribe;
        ro.onFailure = on_subscribe_failure;
    }
    /* Always resubscribe: a clean session, an expired one or a new broker
     * would otherwise leave us connected and deaf. */
    int rc = MQTTAsync_subscribeMany(s->client, (int)s->nfilters, s->filters, s->qos, &ro);
    if (rc != MQTTASYNC_SUCCESS)
        log_error("mqtt", "subscribe request failed: %s", MQTTAsync_strerror(rc));
}

static void on_connection_lost(void *ctx, char *cause)
{
    mqtt_source_t *s = ctx;
    atomic_store(&s->connected, false);
    atomic_store(&s->subscribed, false);
    if (!atomic_load(&s->stopping))
        log_warn("mqtt", "connection to %s lost: %s; reconnecting", s->uri,
                 cause ? cause : "no reason given");
}

static void schedule_retry(mqtt_source_t *s)
{
    int d = atomic_load(&s->retry_delay_s);
    atomic_store(&s->retry_at_ms, now_ms() + (long long)d * 1000);
    atomic_store(&s->retry_delay_s, d < 30 ? d * 2 : 30);
    atomic_store(&s->connect_pending, false);
}

static void on_connect_failure(void *ctx, MQTTAsync_failureData *resp)
{
    mqtt_source_t *s = ctx;
    log_error("mqtt", "cannot connect to %s: %s (code %d); retrying in %d s", s->uri,
              resp && resp->message ? resp->message : "no reason given", resp ? resp->code : 0,
              atomic_load(&s->retry_delay_s));
    schedule_retry(s);
}

static void on_connect_failure5(void *ctx, MQTTAsync_failureData5 *resp)
{
    mqtt_source_t *s = ctx;
    log_error("mqtt", "cannot connect to %s: %s (%s); retrying in %d s", s->uri,
              resp && resp->message ? resp->message : "no message",
              resp ? MQTTReasonCode_toString(resp->reasonCode) : "?",
              atomic_load(&s->retry_delay_s));
    schedule_retry(s);
}

/* The custody point: Paho acknowledges the message after this returns. */
static int on_message(void *ctx, char *topic, int topic_len, MQTTAsync_message *m)
{
    mqtt_source_t *s = ctx;
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    mkb_prop_t props[MQTT_SOURCE_MAX_PROPS];
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
            if (msg.nprops == MQTT_SOURCE_MAX_PROPS) {
                log_debug("mqtt", "more than %d user properties; the rest are not passed on",
                          MQTT_SOURCE_MAX_PROPS);
                continue;
            }
            props[msg.nprops++] = (mkb_prop_t){p->value.data.data, (size_t)p->value.data.len,
                                               p->value.value.data, (size_t)p->value.value.len};
        }
    }
    int rc = s->handler(s->opaque, &msg);
    if (rc == MKB_ERR_STOPPED) {
        /* Shutting down with the message not safe: returning 0 keeps Paho
         * from acknowledging it; the broker redelivers it to the session. */
        return 0;
    }
    MQTTAsync_freeMessage(&m);
    MQTTAsync_free(topic);
    return 1;
}

static void on_disconnected(void *ctx, MQTTAsync_successData *resp)
{
    (void)resp;
    mqtt_source_t *s = ctx;
    atomic_store(&s->connected, false);
    atomic_store(&s->stopped, true);
}

static void on_disconnect_failure(void *ctx, MQTTAsync_failureData *resp)
{
    mqtt_source_t *s = ctx;
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
    mqtt_source_t *s = ctx;
    log_warn("mqtt", "disconnect failed: %s",
             resp && resp->message ? resp->message : "no reason given");
    atomic_store(&s->stopped, true);
}

/* ---- lifecycle ---------------------------------------------------------- */

int mqtt_source_new(const config_t *cfg, const char *const *filters, const int *qos, size_t n,
                    mqtt_source_handler_t handler, void *opaque, mqtt_source_t **out,
                    char *errstr, size_t errstr_size)
{
    int rc = MKB_ERR_NOMEM;
    mqtt_source_t *s = calloc(1, sizeof(*s));
    if (!s)
        goto fail;
    s->version = strcmp(cfg->mqtt_version, "5") == 0 ? MQTTVERSION_5 : MQTTVERSION_3_1_1;
    s->clean_start = cfg->mqtt_clean_start;
    s->keepalive_s = (int)cfg->mqtt_keepalive_s;
    s->session_expiry_s = cfg->mqtt_session_expiry_s;
    s->handler = handler;
    s->opaque = opaque;
    atomic_store(&s->retry_delay_s, 1);
    s->uri = strdup(cfg->mqtt_uri);
    if ((cfg->mqtt_username && !(s->username = strdup(cfg->mqtt_username))) ||
        (cfg->mqtt_password && !(s->password = strdup(cfg->mqtt_password))))
        goto free_source;
    s->client_id = strdup(cfg->mqtt_client_id);
    s->filters = calloc(n ? n : 1, sizeof(*s->filters));
    s->qos = calloc(n ? n : 1, sizeof(*s->qos));
    if (!s->uri || !s->client_id || !s->filters || !s->qos)
        goto free_source;
    for (size_t i = 0; i < n; i++) {
        if (!(s->filters[i] = strdup(filters[i])))
            goto free_source;
        s->qos[i] = qos[i];
        s->nfilters++;
    }

    MQTTAsync_createOptions co = MQTTAsync_createOptions_initializer;
    co.MQTTVersion = s->version;
    /* The bridge only subscribes: no outgoing message store is needed. */
    int prc = MQTTAsync_createWithOptions(&s->client, s->uri, s->client_id,
                                          MQTTCLIENT_PERSISTENCE_NONE, NULL, &co);
    if (prc != MQTTASYNC_SUCCESS) {
        rc = MKB_ERR_MQTT;
        snprintf(errstr, errstr_size, "mqtt: cannot create client for %s: %s", s->uri,
                 MQTTAsync_strerror(prc));
        s->client = NULL;
        goto free_source;
    }
    prc = MQTTAsync_setCallbacks(s->client, s, on_connection_lost, on_message, NULL);
    if (prc == MQTTASYNC_SUCCESS)
        prc = MQTTAsync_setConnected(s->client, s, on_connected);
    if (prc != MQTTASYNC_SUCCESS) {
        rc = MKB_ERR_MQTT;
        snprintf(errstr, errstr_size, "mqtt: cannot set callbacks: %s", MQTTAsync_strerror(prc));
        goto free_source;
    }
    *out = s;
    return MKB_OK;

free_source:
    mqtt_source_destroy(s);
fail:
    if (rc == MKB_ERR_NOMEM)
        snprintf(errstr, errstr_size, "out of memory");
    return rc;
}

static int do_connect(mqtt_source_t *s)
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
        o.onFailure5 = on_connect_failure5;
    } else {
        o.MQTTVersion = MQTTVERSION_3_1_1;
        o.cleansession = s->clean_start;
        o.onFailure = on_connect_failure;
    }
    o.keepAliveInterval = s->keepalive_s;
    o.username = s->username;
    o.password = s->password;
    o.automaticReconnect = 1;
    o.minRetryInterval = 1;
    o.maxRetryInterval = 30;
    o.connectTimeout = 10;
    o.context = s;
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

int mqtt_source_start(mqtt_source_t *s)
{
    log_info("mqtt", "connecting to %s as '%s' (MQTT %s, %s session)", s->uri, s->client_id,
             s->version == MQTTVERSION_5 ? "5" : "3.1.1",
             s->clean_start ? "clean" : "persistent");
    return do_connect(s);
}

void mqtt_source_tick(mqtt_source_t *s)
{
    if (atomic_load(&s->stopping) || atomic_load(&s->connected) ||
        atomic_load(&s->connect_pending))
        return;
    long long at = atomic_load(&s->retry_at_ms);
    if (at != 0 && now_ms() >= at) {
        atomic_store(&s->retry_at_ms, 0);
        do_connect(s);
    }
}

bool mqtt_source_ready(const mqtt_source_t *s)
{
    return atomic_load(&s->connected) && atomic_load(&s->subscribed);
}

void mqtt_source_stop(mqtt_source_t *s, int timeout_ms)
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

bool mqtt_source_stopped(const mqtt_source_t *s) { return atomic_load(&s->stopped); }

void mqtt_source_destroy(mqtt_source_t *s)
{
    if (!s)
        return;
    if (s->client)
        MQTTAsync_destroy(&s->client);
    for (size_t i = 0; i < s->nfilters; i++)
        free(s->filters[i]);
    free(s->filters);
    free(s->qos);
    free(s->uri);
    free(s->client_id);
    free(s->username);
    free(s->password);
    free(s);
}
