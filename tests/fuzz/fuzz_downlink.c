// SPDX-FileCopyrightText: 2026 The mqtt-kafka-bridge authors
// SPDX-License-Identifier: Apache-2.0
/* libFuzzer target: the downlink's command rules (Kafka -> MQTT), compiled
 * and rendered against hostile Kafka records through downlink_rule.h (the
 * template language is template.c's, the same as the uplink's).
 *
 * Input: the template (the rule's mqtt.topic, also used as a user property
 * and, when it has no '{', as a payload field), a newline, the record key, a
 * newline, the record value (the JSON that {/pointer} placeholders read).
 * Without a second newline the record has no key. The record has one header,
 * "unit" = "ahu-1", for {header.NAME}.
 *
 * Also payload: sparkplug_b rules (topic the template, or a fixed NCMD): the
 * value encoded as a Sparkplug B command, datatypes from a fake birth that
 * gives every name some datatype (all 35, the ones a command cannot carry
 * too); what they send must unpack as a Sparkplug payload with a timestamp,
 * metrics and no seq. */
#include "sparkplug_b.pb-c.h"

#include "buf.h"
#include "config.h"
#include "downlink_rule.h"
#include "err.h"
#include "log.h"
#include "spb_state.h"
#include "template.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static size_t sink;

static bool header(const void *opaque, const char *name, const void **val, size_t *len)
{
    (void)opaque;
    if (strcmp(name, "unit") != 0)
        return false;
    *val = "ahu-1";
    *len = 5;
    return true;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    log_set_level(LOG_LVL_ERROR);
    return 0;
}

/* The template's own '/', '+' and '#' (literal text, braces unescaped
 * roughly: the check below only counts what a placeholder may not add). */
static void count_levels(const char *text, size_t lit[3])
{
    int depth = 0;
    for (const char *c = text; *c; c++) {
        if (*c == '{' && c[1] == '{') {
            c++;
            continue;
        }
        if (*c == '}' && c[1] == '}') {
            c++;
            continue;
        }
        if (*c == '{')
            depth++;
        else if (*c == '}')
            depth = 0;
        else if (!depth)
            lit[0] += *c == '/', lit[1] += *c == '+', lit[2] += *c == '#';
    }
}

/* Renders REC through the template alone, as an MQTT topic: a record's
 * values may add no level, wildcard or NUL. */
static void render_topic(const char *text, const tmpl_record_t *rec, const char *value,
                         size_t vlen)
{
    char why[300];
    tmpl_t *t = tmpl_new_record(text, why, sizeof(why));
    if (!t) {
        if (!memchr(why, '\0', sizeof(why)))
            abort();
        return;
    }
    json_error_t jerr;
    json_t *v = json_loadb(value, vlen, JSON_REJECT_DUPLICATES, &jerr);
    size_t lit[3] = {0, 0, 0};
    count_levels(text, lit);
    buf_t out = {0};
    if (tmpl_render_record(t, rec, v, true, &out, why, sizeof(why)) == MKB_OK) {
        if (!out.p || out.p[out.len] != '\0') /* terminated at len */
            abort();
        size_t got[3] = {0, 0, 0};
        for (size_t i = 0; i < out.len; i++) {
            sink += (unsigned char)out.p[i];
            got[0] += out.p[i] == '/', got[1] += out.p[i] == '+', got[2] += out.p[i] == '#';
        }
        if (memchr(out.p, '\0', out.len) || got[0] != lit[0] || got[1] != lit[1] ||
            got[2] != lit[2]) {
            fprintf(stderr, "fuzz_downlink: a record value added a level or wildcard\n");
            abort();
        }
    }
    buf_free(&out);
    json_decref(v);
    tmpl_destroy(t);
}

/* The whole rule: topic, user property, payload field. */
static void render_rule(char *text, const tmpl_record_t *rec, const char *value, size_t vlen)
{
    config_kv_t prop = {"p", text, false};
    char *fields[] = {text};
    config_command_t cmd = {.name = "c", .kafka_topic = "hvac.commands", .mqtt_topic = text,
                            .mqtt_qos = 1, .mqtt_props = &prop, .mqtt_props_n = 1,
                            .mqtt_fields = fields, .mqtt_fields_n = strchr(text, '{') ? 0 : 1};
    config_t cfg;
    memset(&cfg, 0, sizeof(cfg));
    char errs[2048] = "", why[300];
    downlink_rule_t *r = NULL;
    if (downlink_rule_new(&cfg, &cmd, &r, errs, sizeof(errs)) != MKB_OK) {
        if (r || !memchr(errs, '\0', sizeof(errs)))
            abort();
        return;
    }
    downlink_msg_t msg = {0};
    if (downlink_rule_render(r, rec, value, vlen, &msg, why, sizeof(why)) == MKB_OK) {
        if (!msg.topic.p || msg.topic.p[msg.topic.len] != '\0' || msg.nprops != 1 ||
            !msg.props[0].value || (msg.len && !msg.payload))
            abort();
        sink += msg.topic.len + msg.len + strlen(msg.props[0].value);
    } else if (!memchr(why, '\0', sizeof(why))) {
        abort();
    }
    downlink_msg_free(&msg);
    downlink_rule_destroy(r);
}

/* A birth that knows every name: its datatype picked from the name's bytes. */
static bool fake_birth(void *ctx, const char *name, bool has_alias, uint64_t alias,
                       const char **name_out, uint32_t *dt)
{
    const spb_scope_t *scope = ctx;
    if (!scope || !scope->topic || (scope->topic->type != SPB_NCMD && scope->topic->type != SPB_DCMD))
        abort(); /* resolved only for the command's own edge node or device */
    unsigned h = (unsigned)alias;
    for (const char *c = name; c && *c; c++)
        h = h * 31 + (unsigned char)*c;
    *name_out = name ? name : "by-alias";
    *dt = h % 35;
    return has_alias || (h & 0x40);
}

/* payload: sparkplug_b with topic TOPIC: a success must be a Sparkplug payload. */
static void render_spb(char *topic, const tmpl_record_t *rec, const char *value, size_t vlen)
{
    config_command_t cmd = {.name = "s", .kafka_topic = "plant.commands", .mqtt_topic = topic,
                            .payload = CONFIG_CMD_PAYLOAD_SPARKPLUG_B};
    config_t cfg;
    memset(&cfg, 0, sizeof(cfg));
    char errs[2048] = "", why[300];
    downlink_rule_t *r = NULL;
    if (downlink_rule_new(&cfg, &cmd, &r, errs, sizeof(errs)) != MKB_OK)
        return;
    int births; /* any non-NULL state: the fake resolver reads only the topic */
    downlink_rule_set_births(r, fake_birth, (spb_state_t *)&births);
    downlink_msg_t msg = {0};
    if (downlink_rule_render(r, rec, value, vlen, &msg, why, sizeof(why)) == MKB_OK) {
        Org__Eclipse__Tahu__Protobuf__Payload *p =
            org__eclipse__tahu__protobuf__payload__unpack(NULL, msg.len, msg.payload);
        if (!p || !p->has_timestamp || p->has_seq || !p->n_metrics)
            abort();
        for (size_t i = 0; i < p->n_metrics; i++)
            if (!p->metrics[i]->has_datatype || !p->metrics[i]->datatype ||
                p->metrics[i]->datatype > 34)
                abort();
        sink += p->n_metrics;
        org__eclipse__tahu__protobuf__payload__free_unpacked(p, NULL);
    } else if (!memchr(why, '\0', sizeof(why))) {
        abort();
    }
    downlink_msg_free(&msg);
    downlink_rule_destroy(r);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const uint8_t *nl = memchr(data, '\n', size);
    size_t tlen = nl ? (size_t)(nl - data) : size;
    char *text = strndup((const char *)data, tlen); /* up to a NUL, as YAML gives it */
    if (!text)
        return 0;
    const uint8_t *rest = nl ? nl + 1 : data + size;
    size_t rlen = size - (size_t)(rest - data);
    const uint8_t *nl2 = memchr(rest, '\n', rlen);
    /* Exact-size copies, so ASan sees a read past either. */
    size_t klen = nl2 ? (size_t)(nl2 - rest) : 0;
    const uint8_t *val = nl2 ? nl2 + 1 : rest;
    size_t vlen = rlen - (size_t)(val - rest);
    char *key = nl2 ? malloc(klen ? klen : 1) : NULL;
    char *value = malloc(vlen ? vlen : 1);
    if (key && klen)
        memcpy(key, rest, klen);
    if (vlen)
        memcpy(value, val, vlen);
    tmpl_record_t rec = {"hvac.commands", 3, 123456789, key, klen, header, NULL};
    render_topic(text, &rec, value, vlen);
    render_rule(text, &rec, value, vlen);
    render_spb(text, &rec, value, vlen);
    render_spb("spBv1.0/Plant/DCMD/E1/{/device}", &rec, value, vlen);
    free(value);
    free(key);
    free(text);
    return 0;
}
