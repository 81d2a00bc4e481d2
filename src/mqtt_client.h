// SPDX-FileCopyrightText: 2026 The mqtt-kafka-bridge authors
// SPDX-License-Identifier: Apache-2.0
/* The bridge's MQTT client (Paho MQTTAsync): subscribes the routes' filters
 * with a persistent session for the uplink, and publishes the downlink's
 * commands. Each message is handed to a handler on Paho's receive thread;
 * the broker gets its PUBACK/PUBREC only after the handler returns, so the
 * handler is the custody point (see docs/ARCHITECTURE.md). */
#ifndef MKB_MQTT_CLIENT_H
#define MKB_MQTT_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "msg.h"

typedef struct mqtt_client mqtt_client_t;

/* Most MQTT 5 user properties passed on per message; more are dropped (and
 * logged at debug level). */
#define MQTT_CLIENT_MAX_PROPS 32

/* Called on Paho's thread for every message; MSG is borrowed until it
 * returns. Return MKB_OK once the message is safe (acknowledged to the
 * broker on return). MKB_ERR_STOPPED (shutdown, message not safe) makes
 * the callback return 0, but Paho acknowledges a QoS 1 message whatever the
 * callback returns: a handler that must keep the message unacknowledged
 * does not return (see park() in bridge.c). */
typedef int (*mqtt_client_handler_t)(void *opaque, const mqtt_msg_t *msg);

/* Creates the client (no connection yet). FILTERS/QOS (N entries) are copied;
 * they are subscribed on every (re)connect. */
int mqtt_client_new(const config_t *cfg, const char *const *filters, const int *qos, size_t n,
                    mqtt_client_handler_t handler, void *opaque, mqtt_client_t **out,
                    char *errstr, size_t errstr_size);

/* Replaces the subscriptions (a reload): subscribes what is new or asks
 * another QoS, unsubscribes what is gone (on the next connect if not
 * connected now). FILTERS/QOS are copied. Call from the main thread. */
int mqtt_client_set_subscriptions(mqtt_client_t *s, const char *const *filters, const int *qos,
                                  size_t n);

/* Destroys the client; call mqtt_client_stop first. NULL is a no-op. */
void mqtt_client_destroy(mqtt_client_t *s);

/* Starts connecting. Failures are retried with backoff by mqtt_client_tick. */
int mqtt_client_start(mqtt_client_t *s);

/* Call from the main loop: retries a failed initial connect when due. */
void mqtt_client_tick(mqtt_client_t *s);

/* The handler (or the main loop for it) says MQTT intake waits, and why
 * (WHY: a static string, e.g. "spool full"), or that it goes on again
 * (NULL). Paho's thread waits with it, so no keepalive goes out: a pause
 * longer than 1.5 x keepalive_s is reported by mqtt_client_tick, and a
 * connection lost after one is explained in the log. Any thread. */
void mqtt_client_intake_paused(mqtt_client_t *s, const char *why);

/* True while connected and every subscription was granted. */
bool mqtt_client_ready(const mqtt_client_t *s);

/* Begins an orderly disconnect (no more messages are taken). */
void mqtt_client_stop(mqtt_client_t *s, int timeout_ms);

/* True once the disconnect started by mqtt_client_stop completed or failed. */
bool mqtt_client_stopped(const mqtt_client_t *s);

/* ---- publishing (actuator commands) ---------------------------------- */

typedef struct {
    const char *name;
    const char *value;
} mqtt_user_prop_t;

typedef struct {
    const char *topic;
    const void *payload;
    size_t len;
    int qos;
    bool retain;
    /* MQTT 5 only (not sent with 3.1.1): */
    long long expiry_s; /* message expiry interval; 0: none */
    const char *content_type;
    const char *response_topic;
    const void *correlation;
    size_t correlation_len;
    const mqtt_user_prop_t *props;
    size_t nprops;
} mqtt_pub_t;

/* Called on Paho's thread once the broker acknowledged the message (QoS 1:
 * PUBACK, QoS 2: PUBCOMP; QoS 0: once written) or it failed for good. */
typedef void (*mqtt_client_published_t)(void *opaque, bool ok, const char *why);

/* Queues P for sending (everything is copied). MKB_OK: DONE will be called
 * exactly once; MKB_ERR_MQTT (not connected, or refused; WHY says why): it
 * will not. Any thread but Paho's callbacks. */
int mqtt_client_publish(mqtt_client_t *s, const mqtt_pub_t *p, mqtt_client_published_t done,
                        void *opaque, char *why, size_t why_size);

/* True while connected (subscribed or not). */
bool mqtt_client_connected(const mqtt_client_t *s);

/* Connections after the first one; subscriptions in force. */
uint64_t mqtt_client_reconnects(const mqtt_client_t *s);
size_t mqtt_client_subscription_count(mqtt_client_t *s);

/* Routes Paho's trace output into the logger (process-wide). */
void mqtt_client_route_traces(void);

#endif
