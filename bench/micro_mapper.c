// SPDX-FileCopyrightText: 2026 The mqtt-kafka-bridge authors
// SPDX-License-Identifier: Apache-2.0
/* Micro-benchmark of the rule engine: match + normalize + render of a
 * ~200-byte JSON reading, with 10 and with 10,000 routes (HVAC-style
 * filters, one per site). Prints ns per message; run under
 * `valgrind --tool=callgrind` (make bench-micro) for instructions per
 * message, which do not depend on the machine's load.
 *   micro_mapper ROUTES MESSAGES [PAYLOAD_BYTES] */
#define _GNU_SOURCE
#include "buf.h"
#include "config.h"
#include "err.h"
#include "jarena.h"
#include "mapper.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static size_t sink_bytes;

static int count_record(void *opaque, const record_t *r)
{
    (void)opaque;
    sink_bytes += r->value_len + r->key_len;
    return MKB_OK;
}

int main(int argc, char **argv)
{
    if (!getenv("MICRO_NO_ARENA"))
        jarena_install(); /* as the bridge does */
    long routes = argc > 1 ? strtol(argv[1], NULL, 10) : 10;
    long n = argc > 2 ? strtol(argv[2], NULL, 10) : 200000;
    buf_t y = {0};
    buf_append_str(&y, "mqtt: { uri: tcp://127.0.0.1:1 }\n"
                       "kafka: { bootstrap: 127.0.0.1:1 }\nroutes:\n");
    for (long i = 0; i < routes; i++)
        buf_printf(&y,
                   "  - name: hvac-%ld\n"
                   "    mqtt: { filter: \"sites/s%ld/hvac/{unit}/telemetry\" }\n"
                   "    kafka: { topic: hvac.telemetry, key: \"s%ld.{unit}\" }\n"
                   "    fields:\n"
                   "      temperature_c: { from: /temp_f, convert: fahrenheit_to_celsius }\n"
                   "      humidity_pct: { from: /rh, type: number, required: true }\n"
                   "      air_quality: { from: /aqi, type: integer }\n"
                   "    add: { site: s%ld, unit: \"{unit}\" }\n"
                   "    timestamp: { from: /ts, format: epoch_ms }\n",
                   i, i, i, i);
    buf_terminate(&y);
    config_t *cfg = NULL;
    char *errors = NULL;
    if (config_load_string("bench.yaml", y.p, &cfg, &errors) != MKB_OK) {
        fprintf(stderr, "%s", errors);
        return 1;
    }
    mapper_t *m = NULL;
    if (mapper_new(cfg, &m, &errors) != MKB_OK) {
        fprintf(stderr, "%s", errors);
        return 1;
    }
    long size = argc > 3 ? strtol(argv[3], NULL, 10) : 197;
    /* A reading for the last site (the worst case for a list); the "note"
     * field pads it to SIZE bytes. */
    char topic[64];
    char *payload = malloc((size_t)size + 512);
    snprintf(topic, sizeof(topic), "sites/s%ld/hvac/ahu-12/telemetry", routes - 1);
    int plen = snprintf(payload, (size_t)size + 512,
                        "{\"temp_f\": 71.6, \"rh\": 41.5, \"aqi\": 37, \"ts\": 1795860000000%s",
                        size >= 197 ? ", \"fw\": \"2.4.1\", \"rssi\": -67, \"battery_v\": 3.61, "
                                      "\"serial\": \"AHU-12-00042\", \"status\": \"ok\", "
                                      "\"uptime_s\": 86400, \"mode\": \"cooling\", \"fan\": 3"
                                    : "");
    if (plen + 12 < size) {
        plen += snprintf(payload + plen, 16, ", \"note\": \"");
        while (plen < size - 2)
            payload[plen++] = 'x';
        payload[plen++] = '"';
    }
    payload[plen++] = '}';
    payload[plen] = '\0';
    mqtt_msg_t msg = {.topic = topic, .topic_len = strlen(topic), .payload = payload,
                      .payload_len = (size_t)plen, .qos = 1, .recv_ms = 1795860000000LL};
    mapper_result_t res;
    for (int i = 0; i < 1000; i++) /* warm-up: buffers reach their size */
        mapper_process(m, &msg, count_record, NULL, &res);
    struct timespec a, b;
    clock_gettime(CLOCK_MONOTONIC, &a);
    for (long i = 0; i < n; i++)
        mapper_process(m, &msg, count_record, NULL, &res);
    clock_gettime(CLOCK_MONOTONIC, &b);
    double ns = ((double)(b.tv_sec - a.tv_sec) * 1e9 + (double)(b.tv_nsec - a.tv_nsec)) / (double)n;
    printf("routes=%ld messages=%ld payload=%dB records/msg=%zu ns/msg=%.0f\n", routes, n, plen,
           res.records, ns);
    mapper_destroy(m);
    config_destroy(cfg);
    buf_free(&y);
    free(payload);
    return sink_bytes > 0 ? 0 : 1;
}
