// SPDX-FileCopyrightText: 2026 The mqtt-kafka-bridge authors
// SPDX-License-Identifier: Apache-2.0
/* libFuzzer target: the rule engine on hostile messages. Input: the MQTT
 * topic, a newline, then the payload bytes. The routes cover every payload
 * kind, captures, templates with payload fields, fields with every
 * operation (on_error, round, names from captures), explode and timestamps,
 * when: conditions of every subject and test, and each empty: policy. */
#include "config.h"
#include "err.h"
#include "mapper.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const routes =
    "mqtt: { uri: tcp://h:1 }\n"
    "kafka: { bootstrap: h:1 }\n"
    "limits: { max_payload_bytes: 65536, max_json_depth: 16, max_records_per_message: 50 }\n"
    "routes:\n"
    "  - name: j\n"
    "    mqtt: { filter: \"s/{site}/{unit}/t\" }\n"
    "    kafka: { topic: \"t.{site}\", key: \"{unit}.{/id}\", headers: { p: \"{mqtt.prop.a}\", "
    "f: \"{/n/0}\" } }\n"
    "    fields:\n"
    "      c: { from: /f, convert: fahrenheit_to_celsius }\n"
    "      h: { from: /rh, type: number, required: true }\n"
    "      i: { from: /i, type: integer, default: 0 }\n"
    "      s: { from: /s, type: string }\n"
    "      b: { from: /b, type: boolean }\n"
    "    add: { site: \"{site}\", k: 1 }\n"
    "    timestamp: { from: /ts }\n"
    "  - name: x\n"
    "    mqtt: { filter: \"g/{gw}/{rest#}\" }\n"
    "    kafka: { topic: readings, key: \"{gw}/{rest}\" }\n"
    "    explode: /r\n"
    "    fields: { v: { type: number }, id: { type: string, required: true } }\n"
    "    timestamp: { from: /at, format: iso8601 }\n"
    "  - name: n\n"
    "    mqtt: { filter: \"n/+\" }\n"
    "    kafka: { topic: numbers }\n"
    "    payload: number\n"
    "  - name: t\n"
    "    mqtt: { filter: \"n/#\" }\n"
    "    kafka: { topic: texts }\n"
    "    payload: text\n"
    "  - name: w\n"
    "    mqtt: { filter: \"#\" }\n"
    "    kafka: { topic: \"raw\", key: \"{mqtt.topic}\" }\n"
    "    payload: raw\n"
    "  - name: f\n"
    "    mqtt: { filter: \"f/{dev}/{metric}\" }\n"
    "    kafka: { topic: fields }\n"
    "    fields:\n"
    "      \"{metric}\": { from: /v, type: number, round: 2, on_error: null }\n"
    "      o: { from: /o, type: integer, on_error: omit }\n"
    "      d: { from: /d, type: boolean, default: null, on_error: default }\n"
    "      \"{dev}_{metric}\": { from: /v, convert: fahrenheit_to_celsius, round: 15, "
    "on_error: default, default: 0 }\n"
    "    add: { \"{dev}\": \"{metric}\" }\n"
    "  - name: all\n"
    "    mqtt: { filter: \"+/#\" }\n"
    "    kafka: { topic: \"all.{/t}\" }\n"
    "  - name: c\n"
    "    mqtt: { filter: \"c/{dev}/{kind}\" }\n"
    "    kafka: { topic: \"c.{kind}\", key: \"{dev}\" }\n"
    "    empty: tombstone\n"
    "    explode: /r\n"
    "    when:\n"
    "      - { field: /type, one_of: [a, 1, true, null, \"2\"] }\n"
    "      - { field: $/v, at_least: -5, below: 1e3 }\n"
    "      - { capture: dev, exists: true }\n"
    "      - { property: a, equals: b }\n"
    "      - { mqtt: qos, at_most: 1 }\n"
    "      - { mqtt: content_type, exists: false }\n"
    "  - name: e\n"
    "    mqtt: { filter: \"c/{dev}/#\" }\n"
    "    kafka: { topic: e, key: \"{/value}\" }\n"
    "    payload: text\n"
    "    empty: skip\n"
    "    when: [ { field: /value, equals: ON }, { mqtt: topic, exists: true } ]\n"
    "  - name: m\n"
    "    mqtt: { filter: \"c/+/+\" }\n"
    "    kafka: { topic: m }\n"
    "    payload: number\n"
    "    empty: dead_letter\n"
    "    when: [ { field: /value, above: 0, at_most: 100 }, { mqtt: retain, equals: false } ]\n"
    "  - name: r\n"
    "    mqtt: { filter: \"c/{dev}/{kind}\" }\n"
    "    kafka: { topic: r }\n"
    "    payload: raw\n"
    "    empty: tombstone\n"
    "    when: [ { capture: kind, one_of: [a, b] } ]\n";

static config_t *cfg;
static mapper_t *mapper;
static size_t sink;

static int emit(void *opaque, const record_t *r)
{
    (void)opaque;
    /* Touch every byte so ASan sees any overread. */
    const unsigned char *v = r->value;
    for (size_t i = 0; i < r->value_len; i++)
        sink += v[i];
    sink += strlen(r->topic) + r->key_len;
    for (size_t i = 0; i < r->nheaders; i++)
        sink += strlen(r->headers[i].name) + r->headers[i].value_len;
    return MKB_OK;
}

/* A skipped route's reason: read whole, so ASan sees an unterminated one. */
static void skipped(void *opaque, const char *route, const char *why)
{
    (void)opaque;
    sink += strlen(route) + strlen(why);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    char *errors = NULL;
    if (config_load_string("fuzz.yaml", routes, &cfg, &errors) != MKB_OK ||
        mapper_new(cfg, &mapper, &errors) != MKB_OK) {
        fprintf(stderr, "%s", errors ? errors : "setup failed\n");
        abort();
    }
    mapper_on_skip(mapper, skipped, true);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const uint8_t *nl = memchr(data, '\n', size);
    size_t tlen = nl ? (size_t)(nl - data) : size;
    /* A copy of exactly that length, so reads past the topic are caught. */
    char *topic = malloc(tlen ? tlen : 1);
    if (tlen)
        memcpy(topic, data, tlen);
    size_t plen = nl ? size - tlen - 1 : 0;
    uint8_t *payload = malloc(plen ? plen : 1);
    if (plen)
        memcpy(payload, nl + 1, plen);
    static const mkb_prop_t props[] = {{"a", 1, "b", 1}};
    mqtt_msg_t msg = {.topic = topic, .topic_len = tlen, .payload = payload, .payload_len = plen,
                      .qos = 1, .props = props, .nprops = 1, .recv_ms = 1795860000000LL};
    mapper_result_t res;
    mapper_process(mapper, &msg, emit, NULL, &res);
    free(payload);
    free(topic);
    return 0;
}
