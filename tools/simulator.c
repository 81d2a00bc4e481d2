// SPDX-FileCopyrightText: 2026 The mqtt-kafka-bridge authors
// SPDX-License-Identifier: Apache-2.0
/* mqtt-kafka-bridge-sim: the HVAC scenario on an MQTT broker.
 *
 * Sensors: for each site s1..sN and unit u1..uM, a reading every period on
 * sites/<site>/hvac/<unit>/telemetry ({"temp_f","rh","aqi","ts"}), an energy
 * reading every 10th period on .../energy, and (with --faulty) a sensor that
 * forgets its humidity now and then (a dead letter in the bridge).
 * Actuators: subscribed to sites/+/hvac/+/set, each command received is
 * printed ("[actuator] <topic> <payload>").
 *
 *   mqtt-kafka-bridge-sim [--uri URI] [--rate MSG_PER_S] [--sites N] [--units M]
 *                         [--seconds S] [--qos Q] [--faulty] [--quiet]
 *
 * Exit status: 0, 1 if the broker cannot be reached, 2 for a usage error. */
#define _POSIX_C_SOURCE 200809L
#include <MQTTAsync.h>
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static volatile sig_atomic_t stop;
static atomic_bool connected;
static atomic_long acked, failed;

static void on_signal(int sig)
{
    (void)sig;
    stop = 1;
}

static int on_message(void *ctx, char *topic, int tlen, MQTTAsync_message *m)
{
    (void)ctx;
    printf("[actuator] %.*s %.*s\n", tlen ? tlen : (int)strlen(topic), topic, m->payloadlen,
           (char *)m->payload);
    (void)fflush(stdout);
    MQTTAsync_freeMessage(&m);
    MQTTAsync_free(topic);
    return 1;
}

// NOLINTNEXTLINE(readability-non-const-parameter): Paho's signature
static void on_connected(void *ctx, char *cause)
{
    (void)cause;
    MQTTAsync c = ctx;
    atomic_store(&connected, true);
    MQTTAsync_responseOptions ro = MQTTAsync_responseOptions_initializer;
    MQTTAsync_subscribe(c, "sites/+/hvac/+/set", 1, &ro); /* again after a reconnect */
}

// NOLINTNEXTLINE(readability-non-const-parameter): Paho's signature
static void on_lost(void *ctx, char *cause)
{
    (void)ctx;
    (void)cause;
    atomic_store(&connected, false);
}

static void on_sent(void *ctx, MQTTAsync_successData *r)
{
    (void)ctx;
    (void)r;
    atomic_fetch_add(&acked, 1);
}

static void on_send_failed(void *ctx, MQTTAsync_failureData *r)
{
    (void)ctx;
    (void)r;
    atomic_fetch_add(&failed, 1);
}

static void sleep_us(long long us)
{
    struct timespec ts = {(time_t)(us / 1000000), (long)(us % 1000000) * 1000};
    nanosleep(&ts, NULL);
}

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void publish(MQTTAsync c, const char *topic, const char *payload, int qos)
{
    MQTTAsync_message m = MQTTAsync_message_initializer;
    m.payload = (void *)payload;
    m.payloadlen = (int)strlen(payload);
    m.qos = qos;
    MQTTAsync_responseOptions ro = MQTTAsync_responseOptions_initializer;
    ro.onSuccess = on_sent;
    ro.onFailure = on_send_failed;
    while (!stop && MQTTAsync_sendMessage(c, topic, &m, &ro) == MQTTASYNC_MAX_BUFFERED_MESSAGES)
        sleep_us(1000); /* Paho's buffer is full: wait for acknowledgements */
}

static void usage(FILE *f)
{
    fputs("usage: mqtt-kafka-bridge-sim [--uri URI] [--rate MSG_PER_S] [--sites N] [--units M]\n"
          "                             [--seconds S] [--qos Q] [--faulty] [--quiet]\n"
          "HVAC sensors publishing to sites/<site>/hvac/<unit>/telemetry and .../energy;\n"
          "actuators printing the commands they get on sites/+/hvac/+/set.\n"
          "  --uri URI       broker (default tcp://127.0.0.1:1883)\n"
          "  --rate R        telemetry messages per second over all units (default 4)\n"
          "  --sites N       sites s1..sN (default 2)      --units M  units u1..uM (default 2)\n"
          "  --seconds S     stop after S seconds (default: until SIGINT/SIGTERM)\n"
          "  --qos Q         publish QoS (default 1)\n"
          "  --faulty        one sensor (site s<N>, unit u9) forgets its humidity every 15th round\n"
          "  --quiet         do not print a line per round\n",
          f);
}

/* The whole of S as a number, or -1, which the range checks in main reject. */
static int arg_int(const char *s)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    return errno || end == s || *end || v < 0 || v > INT_MAX ? -1 : (int)v;
}

static double arg_double(const char *s)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    return errno || end == s || *end ? -1 : v;
}

int main(int argc, char **argv)
{
    const char *uri = "tcp://127.0.0.1:1883";
    double rate = 4;
    int sites = 2, units = 2, seconds = 0, qos = 1;
    bool faulty = false, quiet = false;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(a, "--faulty") == 0)
            faulty = true;
        else if (strcmp(a, "--quiet") == 0)
            quiet = true;
        else if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            usage(stdout);
            return 0;
        } else if (v && strcmp(a, "--uri") == 0)
            uri = argv[++i];
        else if (v && strcmp(a, "--rate") == 0)
            rate = arg_double(argv[++i]);
        else if (v && strcmp(a, "--sites") == 0)
            sites = arg_int(argv[++i]);
        else if (v && strcmp(a, "--units") == 0)
            units = arg_int(argv[++i]);
        else if (v && strcmp(a, "--seconds") == 0)
            seconds = arg_int(argv[++i]);
        else if (v && strcmp(a, "--qos") == 0)
            qos = arg_int(argv[++i]);
        else {
            fprintf(stderr, "mqtt-kafka-bridge-sim: unknown or incomplete option '%s'\n", a);
            usage(stderr);
            return 2;
        }
    }
    if (rate <= 0 || sites < 1 || units < 1 || qos < 0 || qos > 2 || seconds < 0) {
        fprintf(stderr, "mqtt-kafka-bridge-sim: --rate > 0, --sites/--units >= 1, --qos 0..2\n");
        return 2;
    }
    (void)signal(SIGINT, on_signal);
    (void)signal(SIGTERM, on_signal);
    char id[64];
    snprintf(id, sizeof(id), "mkb-sim-%d", (int)getpid());
    MQTTAsync c;
    MQTTAsync_createOptions co = MQTTAsync_createOptions_initializer;
    co.maxBufferedMessages = 1000;
    if (MQTTAsync_createWithOptions(&c, uri, id, MQTTCLIENT_PERSISTENCE_NONE, NULL, &co) !=
        MQTTASYNC_SUCCESS) {
        fprintf(stderr, "mqtt-kafka-bridge-sim: bad URI %s\n", uri);
        return 2;
    }
    MQTTAsync_setCallbacks(c, c, on_lost, on_message, NULL);
    MQTTAsync_setConnected(c, c, on_connected);
    MQTTAsync_connectOptions o = MQTTAsync_connectOptions_initializer;
    o.cleansession = 1;
    o.automaticReconnect = 1;
    o.keepAliveInterval = 20;
    if (MQTTAsync_connect(c, &o) != MQTTASYNC_SUCCESS)
        return 1;
    for (int i = 0; i < 100 && !atomic_load(&connected); i++)
        sleep_us(100000);
    if (!atomic_load(&connected)) {
        fprintf(stderr, "mqtt-kafka-bridge-sim: cannot connect to %s\n", uri);
        MQTTAsync_destroy(&c);
        return 1;
    }
    fprintf(stderr, "mqtt-kafka-bridge-sim: %d site(s) x %d unit(s), %.1f readings/s to %s\n",
            sites, units, rate, uri);
    long long start = now_ms(), next = start;
    double period_ms = 1000.0 * sites * units / rate; /* one round = every unit once */
    long sent = 0;
    char topic[128], payload[256];
    for (long round = 0; !stop; round++) {
        if (seconds && now_ms() - start >= (long long)seconds * 1000)
            break;
        for (int s = 1; s <= sites && !stop; s++)
            for (int u = 1; u <= units && !stop; u++) {
                int t = (int)((round * 7 + (long)s * 13 + (long)u * 5) % 100);
                snprintf(topic, sizeof(topic), "sites/s%d/hvac/u%d/telemetry", s, u);
                snprintf(payload, sizeof(payload),
                         "{\"temp_f\":%d.%d,\"rh\":%d,\"aqi\":%d,\"ts\":%lld}", 60 + t / 5,
                         t % 10, 35 + t % 20, 20 + t % 40, now_ms());
                publish(c, topic, payload, qos);
                sent++;
                if (round % 10 == 0) {
                    snprintf(topic, sizeof(topic), "sites/s%d/hvac/u%d/energy", s, u);
                    snprintf(payload, sizeof(payload), "{\"kwh\":%ld,\"ts\":%lld}",
                             1000 + round, now_ms());
                    publish(c, topic, payload, qos);
                    sent++;
                }
            }
        if (faulty && round % 15 == 7) {
            snprintf(topic, sizeof(topic), "sites/s%d/hvac/u9/telemetry", sites);
            snprintf(payload, sizeof(payload), "{\"temp_f\":99.9,\"ts\":%lld}", now_ms());
            publish(c, topic, payload, qos);
            sent++;
        }
        if (!quiet && round % 10 == 0)
            fprintf(stderr, "mqtt-kafka-bridge-sim: %ld published, %ld acknowledged\n", sent,
                    atomic_load(&acked));
        next += (long long)period_ms;
        long long wait = next - now_ms();
        if (wait > 0)
            sleep_us(wait * 1000);
    }
    for (int i = 0; i < 50 && qos > 0 && atomic_load(&acked) + atomic_load(&failed) < sent; i++)
        sleep_us(100000);
    fprintf(stderr, "mqtt-kafka-bridge-sim: %ld published, %ld acknowledged, %ld failed\n", sent,
            atomic_load(&acked), atomic_load(&failed));
    MQTTAsync_disconnectOptions d = MQTTAsync_disconnectOptions_initializer;
    MQTTAsync_disconnect(c, &d);
    sleep_us(200000);
    MQTTAsync_destroy(&c);
    return 0;
}
