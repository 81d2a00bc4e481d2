// SPDX-FileCopyrightText: 2026 The mqtt-kafka-bridge authors
// SPDX-License-Identifier: Apache-2.0
/* Baseline B of the drain benchmark: the least a Paho MQTTAsync subscriber
 * can do. It resumes a persistent MQTT 3.1.1 session, takes QoS 1 messages,
 * does nothing with them, and exits after COUNT (or after subscribing, with
 * COUNT 0, to create the session).
 *   paho_sink URI CLIENT_ID FILTER COUNT */
#define _POSIX_C_SOURCE 200809L
#include <MQTTAsync.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static atomic_long received;
static atomic_int subscribed, failed;

static int on_message(void *ctx, char *topic, int len, MQTTAsync_message *m)
{
    (void)ctx;
    (void)len;
    atomic_fetch_add(&received, 1);
    MQTTAsync_freeMessage(&m);
    MQTTAsync_free(topic);
    return 1;
}

static void on_subscribed(void *ctx, MQTTAsync_successData *r)
{
    (void)ctx;
    (void)r;
    atomic_store(&subscribed, 1);
}

static void on_failure(void *ctx, MQTTAsync_failureData *r)
{
    (void)ctx;
    fprintf(stderr, "paho_sink: %s\n", r && r->message ? r->message : "failure");
    atomic_store(&failed, 1);
}

static void on_connected(void *ctx, char *cause)
{
    (void)cause;
    char **args = ctx;
    MQTTAsync c = (MQTTAsync)args[4];
    MQTTAsync_responseOptions ro = MQTTAsync_responseOptions_initializer;
    ro.onSuccess = on_subscribed;
    ro.onFailure = on_failure;
    MQTTAsync_subscribe(c, args[3], 1, &ro);
}

int main(int argc, char **argv)
{
    if (argc != 5) {
        fprintf(stderr, "usage: paho_sink URI CLIENT_ID FILTER COUNT\n");
        return 2;
    }
    long count = strtol(argv[4], NULL, 10);
    MQTTAsync c;
    MQTTAsync_create(&c, argv[1], argv[2], MQTTCLIENT_PERSISTENCE_NONE, NULL);
    char *ctx[5] = {argv[0], argv[1], argv[2], argv[3], (char *)c};
    MQTTAsync_setCallbacks(c, NULL, NULL, on_message, NULL);
    MQTTAsync_setConnected(c, ctx, on_connected);
    MQTTAsync_connectOptions o = MQTTAsync_connectOptions_initializer;
    o.cleansession = 0;
    o.keepAliveInterval = 30;
    o.onFailure = on_failure;
    if (MQTTAsync_connect(c, &o) != MQTTASYNC_SUCCESS)
        return 1;
    struct timespec ts = {0, 1000000};
    while (!atomic_load(&failed) && !(atomic_load(&subscribed) && atomic_load(&received) >= count))
        nanosleep(&ts, NULL);
    /* Exit at once: the clock is read at our exit, and what matters was
     * received. (The session stays; the broker sees a dropped connection.) */
    MQTTAsync_destroy(&c);
    return atomic_load(&failed);
}
