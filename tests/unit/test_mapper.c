// SPDX-FileCopyrightText: 2026 The mqtt-kafka-bridge authors
// SPDX-License-Identifier: Apache-2.0
#define _GNU_SOURCE /* asprintf */
/* The rule engine end to end, without brokers: config text -> mapper ->
 * records, for templates, each field operation, dead letters, limits, and
 * the worked examples config/bridge.yaml loads, the files of mappings/ (the
 * device families of mappings/devices/: test_examples.c). */
#include "buf.h"
#include "config.h"
#include "err.h"
#include "mapper.h"

#include <check.h>

#include "check_run.h"
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define HEAD                                                                                     \
    "mqtt: { uri: tcp://h:1 }\n"                                                                 \
    "kafka: { bootstrap: h:1, dead_letter_topic: dlq }\n"

typedef struct {
    char *text[16]; /* one line per record */
    size_t n;
} got_t;

static int collect(void *opaque, const record_t *r)
{
    got_t *g = opaque;
    buf_t b = {0};
    buf_printf(&b, "%s%s|%s|", r->dead_letter ? "DLQ " : "", r->route ? r->route : "-",
               r->topic);
    if (r->key)
        buf_append(&b, r->key, r->key_len);
    else
        buf_append_str(&b, "(nokey)");
    buf_printf(&b, "|%" PRId64 "|", r->timestamp_ms);
    for (size_t i = 0; i < r->nheaders; i++) {
        buf_printf(&b, "%s=", r->headers[i].name);
        buf_append(&b, r->headers[i].value, r->headers[i].value_len);
        buf_append_str(&b, ";");
    }
    buf_append_str(&b, "|");
    if (r->value)
        buf_append(&b, r->value, r->value_len);
    else
        buf_append_str(&b, "(null)");
    if (r->field_errors) /* what mkb_field_errors_total counts */
        buf_printf(&b, "#%u", (unsigned)r->field_errors);
    buf_terminate(&b);
    ck_assert(g->n < 16);
    g->text[g->n++] = b.p;
    return MKB_OK;
}

/* A skipped route, as one line "SKIP route: why" among the records. */
static void collect_skip(void *opaque, const char *route, const char *why)
{
    got_t *g = opaque;
    char *line = NULL;
    ck_assert(asprintf(&line, "SKIP %s: %s", route, why) > 0);
    ck_assert(g->n < 16);
    g->text[g->n++] = line;
}

static void got_free(got_t *g)
{
    for (size_t i = 0; i < g->n; i++)
        free(g->text[i]);
    g->n = 0;
}

static config_t *cfg_of(const char *routes)
{
    char *text = NULL;
    ck_assert(asprintf(&text, HEAD "%s", routes) > 0);
    config_t *cfg = NULL;
    char *errors = NULL;
    int rc = config_load_string(MKB_SOURCE_DIR "/tests/unit/t.yaml", text, &cfg, &errors);
    ck_assert_msg(rc == MKB_OK, "config: %s", errors ? errors : "?");
    free(text);
    return cfg;
}

static bool run_retained; /* the retain flag of run()'s messages */

/* Maps one message; returns the mapper result and fills G. */
static mapper_result_t run(const char *routes, const char *topic, const char *payload, got_t *g)
{
    config_t *cfg = cfg_of(routes);
    mapper_t *m = NULL;
    char *errors = NULL;
    ck_assert_msg(mapper_new(cfg, &m, &errors) == MKB_OK, "mapper: %s", errors ? errors : "?");
    mapper_on_skip(m, collect_skip, true);
    mkb_prop_t props[] = {{"device", 6, "d-9", 3}};
    mqtt_msg_t msg = {
        .topic = topic,
        .topic_len = strlen(topic),
        .payload = payload,
        .payload_len = strlen(payload),
        .qos = 1,
        .retained = run_retained,
        .content_type = "application/json",
        .content_type_len = 16,
        .props = props,
        .nprops = 1,
        .recv_ms = 1795860000000LL, /* 2026-11-28T10:00:00.000Z */
    };
    mapper_result_t res;
    ck_assert_int_eq(mapper_process(m, &msg, collect, g, &res), MKB_OK);
    mapper_destroy(m);
    config_destroy(cfg);
    return res;
}

/* The compile errors of ROUTES (they must not compile). */
static char *compile_errors(const char *routes)
{
    config_t *cfg = cfg_of(routes);
    mapper_t *m = NULL;
    char *errors = NULL;
    ck_assert_int_eq(mapper_new(cfg, &m, &errors), MKB_ERR_CONFIG);
    ck_assert_ptr_null(m);
    config_destroy(cfg);
    return errors;
}

#define R1(extra)                                                                                \
    "routes:\n  - name: r\n    mqtt: { filter: \"s/{site}/{dev}/t\" }\n" extra

START_TEST(test_passthrough_and_default_key)
{
    got_t g = {0};
    mapper_result_t res =
        run(R1("    kafka: { topic: out }\n"), "s/a/b/t", "{\"x\": 1, \"y\": [1,2]}", &g);
    ck_assert_uint_eq(res.records, 1);
    ck_assert_str_eq(g.text[0], "r|out|s/a/b/t|1795860000000||{\"x\":1,\"y\":[1,2]}");
    got_free(&g);
}
END_TEST

START_TEST(test_templates)
{
    got_t g = {0};
    run_retained = true;
    run(R1("    kafka:\n      topic: \"t.{site}\"\n      key: \"{site}.{dev}/{/id}\"\n"
           "      headers: { q: \"{mqtt.qos}\", r: \"{mqtt.retain}\", ct: \"{mqtt.content_type}\",\n"
           "                 p: \"{mqtt.prop.device}\", np: \"[{mqtt.prop.none}]\", rt: \"{route}\",\n"
           "                 ms: \"{recv.ms}\", iso: \"{recv.iso}\", lit: \"{{x}}\", n: \"{/n}\" }\n"),
        "s/a/b/t", "{\"id\": \"X7\", \"n\": {\"k\": 2.5}}", &g);
    ck_assert_str_eq(g.text[0], "r|t.a|a.b/X7|1795860000000|q=1;r=true;ct=application/json;"
                                "p=d-9;np=[];rt=r;ms=1795860000000;"
                                "iso=2026-11-28T10:00:00.000Z;lit={x};n={\"k\":2.5};"
                                "mkb.retained=true;|{\"id\":\"X7\",\"n\":{\"k\":2.5}}");
    got_free(&g);
    run_retained = false;
    /* A missing payload field in a template is a dead letter, not an empty key. */
    run(R1("    kafka: { topic: out, key: \"{/id}\" }\n"), "s/a/b/t", "{}", &g);
    ck_assert_msg(strstr(g.text[0], "DLQ r|dlq|s/a/b/t|1795860000000|mkb.reason=template "
                                    "'{/id}': payload has no value at /id;mkb.route=r;"
                                    "mkb.mqtt.topic=s/a/b/t;mkb.mqtt.qos=1;|{}"),
                  "%s", g.text[0]);
    got_free(&g);
    /* No key at all. */
    run(R1("    kafka: { topic: out, key: \"\" }\n"), "s/a/b/t", "1", &g);
    ck_assert_str_eq(g.text[0], "r|out|(nokey)|1795860000000||1");
    got_free(&g);
}
END_TEST

START_TEST(test_tail_capture_and_bad_rendered_topic)
{
    got_t g = {0};
    const char *routes = "routes:\n  - name: t\n    mqtt: { filter: \"a/{rest#}\" }\n"
                         "    kafka: { topic: \"x.{/t}\", key: \"[{rest}]\" }\n";
    run(routes, "a/b/c/d", "{\"t\": \"ok\"}", &g);
    ck_assert_str_eq(g.text[0], "t|x.ok|[b/c/d]|1795860000000||{\"t\":\"ok\"}");
    got_free(&g);
    run(routes, "a", "{\"t\": \"ok\"}", &g);
    ck_assert_str_eq(g.text[0], "t|x.ok|[]|1795860000000||{\"t\":\"ok\"}");
    got_free(&g);
    run(routes, "a/b", "{\"t\": \"no way\"}", &g);
    ck_assert_msg(strstr(g.text[0], "rendered topic 'x.no way' is not a valid Kafka topic"), "%s",
                  g.text[0]);
    got_free(&g);
}
END_TEST

START_TEST(test_field_operations)
{
    got_t g = {0};
    run(R1("    kafka: { topic: out, key: \"\" }\n"
           "    fields:\n"
           "      c:  { from: /f, convert: fahrenheit_to_celsius }\n"
           "      k:  { from: /c, convert: celsius_to_kelvin, type: integer }\n"
           "      lin: { from: /raw, scale: 0.1, offset: -5 }\n"
           "      i:  { from: /i, type: integer }\n"
           "      s:  { from: /num, type: string }\n"
           "      b:  { from: /on, type: boolean }\n"
           "      nstr: { from: /nstr, type: number }\n"
           "      deep: { from: /a/b~1c/1 }\n"
           "      dflt: { from: /missing, default: 7 }\n"
           "      dstr: { from: /missing, default: \"7\" }\n"
           "      gone: { from: /missing }\n"
           "      same: {}\n"
           "    add: { site: \"{site}\", n: 42, t: true, q: \"42\" }\n"),
        "s/a/b/t",
        "{\"f\": 212, \"c\": 21.6, \"raw\": 250, \"i\": 2.5, \"num\": 1.5, \"on\": \"ON\", "
        "\"nstr\": \" 3e2 \", \"a\": {\"b/c\": [0, \"x\"]}, \"same\": null, \"extra\": 1}",
        &g);
    ck_assert_str_eq(g.text[0], "r|out|(nokey)|1795860000000||{\"c\":100.0,\"k\":295,"
                                "\"lin\":20.0,\"i\":3,\"s\":\"1.5\",\"b\":true,\"nstr\":300.0,"
                                "\"deep\":\"x\",\"dflt\":7,\"dstr\":\"7\",\"site\":\"a\","
                                "\"n\":42,\"t\":true,\"q\":\"42\"}");
    got_free(&g);
}
END_TEST

START_TEST(test_field_errors)
{
    const char *routes = R1("    kafka: { topic: out }\n"
                            "    fields:\n"
                            "      h: { from: /rh, type: number, required: true }\n"
                            "      c: { from: /f, convert: fahrenheit_to_celsius }\n"
                            "      b: { from: /b, type: boolean }\n");
    struct {
        const char *payload, *reason;
    } cases[] = {
        {"{\"f\": 1}", "required field 'h' is missing (from /rh)"},
        {"{\"rh\": null}", "required field 'h' is missing (from /rh)"},
        {"{\"rh\": \"wet\"}", "field 'h' (from /rh): expected a number, found a string"},
        {"{\"rh\": 1, \"f\": [1]}", "field 'c': expected a number to convert (from /f)"},
        {"{\"rh\": 1, \"b\": \"maybe\"}", "field 'b' (from /b): expected a boolean, found a string"},
        {"{\"rh\": 1, \"b\": 2}", "field 'b' (from /b): expected a boolean, found a number"},
        {"{\"rh\": 1", "invalid JSON at line 1 column 9: ',' or '}' expected"},
        {"[1, 2]", "required field 'h' is missing"},
        {"\"\\u00\"", "invalid JSON"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        got_t g = {0};
        mapper_result_t res = run(routes, "s/a/b/t", cases[i].payload, &g);
        ck_assert_uint_eq(res.dead_letters, 1);
        ck_assert_msg(g.n == 1 && strstr(g.text[0], cases[i].reason), "case %zu: %s", i,
                      g.n ? g.text[0] : "no record");
        char tail[512];
        snprintf(tail, sizeof(tail), "|%s", cases[i].payload); /* original bytes kept */
        ck_assert(strlen(g.text[0]) >= strlen(tail));
        ck_assert_str_eq(g.text[0] + strlen(g.text[0]) - strlen(tail), tail);
        got_free(&g);
    }
}
END_TEST

START_TEST(test_payload_kinds)
{
    got_t g = {0};
    run(R1("    kafka: { topic: out, key: \"\" }\n    payload: number\n"), "s/a/b/t", " -21.5 ",
        &g);
    ck_assert_str_eq(g.text[0], "r|out|(nokey)|1795860000000||{\"value\":-21.5}");
    got_free(&g);
    run(R1("    kafka: { topic: out, key: \"\" }\n    payload: number\n"), "s/a/b/t", "0x10", &g);
    ck_assert_msg(strstr(g.text[0], "mkb.reason=payload is not a number"), "%s", g.text[0]);
    got_free(&g);
    run(R1("    kafka: { topic: out, key: \"\" }\n    payload: number\n"), "s/a/b/t", "nan", &g);
    ck_assert_msg(strstr(g.text[0], "DLQ"), "%s", g.text[0]);
    got_free(&g);
    run(R1("    kafka: { topic: out, key: \"\" }\n    payload: text\n"), "s/a/b/t", "h\"i", &g);
    ck_assert_str_eq(g.text[0], "r|out|(nokey)|1795860000000||{\"value\":\"h\\\"i\"}");
    got_free(&g);
    run(R1("    kafka: { topic: out, key: \"\" }\n    payload: text\n"), "s/a/b/t", "\xff\xfe", &g);
    ck_assert_msg(strstr(g.text[0], "payload is not UTF-8 text: invalid UTF-8 at byte 1"), "%s",
                  g.text[0]);
    got_free(&g);
    /* jansson would take a NUL (and the value would carry \u0000): refused */
    config_t *cfg = cfg_of(R1("    kafka: { topic: out, key: \"\" }\n    payload: text\n"));
    mapper_t *m = NULL;
    char *errors = NULL;
    ck_assert_int_eq(mapper_new(cfg, &m, &errors), MKB_OK);
    mqtt_msg_t msg = {.topic = "s/a/b/t", .topic_len = 7, .payload = "a\0b", .payload_len = 3};
    mapper_result_t res;
    ck_assert_int_eq(mapper_process(m, &msg, collect, &g, &res), MKB_OK);
    ck_assert_uint_eq(res.dead_letters, 1);
    ck_assert_msg(strstr(g.text[0], "payload has a NUL byte at offset 1; text is UTF-8 without NUL"),
                  "%s", g.text[0]);
    got_free(&g);
    mapper_destroy(m);
    config_destroy(cfg);
}
END_TEST

START_TEST(test_raw_is_binary_safe)
{
    config_t *cfg = cfg_of(R1("    kafka: { topic: out }\n    payload: raw\n"));
    mapper_t *m = NULL;
    char *errors = NULL;
    ck_assert_int_eq(mapper_new(cfg, &m, &errors), MKB_OK);
    const char bytes[] = {'a', 0, (char)0xff, '\n', 0};
    mqtt_msg_t msg = {.topic = "s/a/b/t", .topic_len = 7, .payload = bytes, .payload_len = 5};
    got_t g = {0};
    mapper_result_t res;
    ck_assert_int_eq(mapper_process(m, &msg, collect, &g, &res), MKB_OK);
    ck_assert_uint_eq(res.records, 1);
    const char *v = strrchr(g.text[0], '|') + 1; /* value bytes follow the last '|' */
    ck_assert_int_eq(memcmp(v, bytes, 1), 0);
    got_free(&g);
    mapper_destroy(m);
    config_destroy(cfg);
}
END_TEST

START_TEST(test_timestamps)
{
    const char *routes = R1("    kafka: { topic: out, key: \"\" }\n"
                            "    fields: { v: {} }\n"
                            "    timestamp: { from: /ts, field: time }\n");
    struct {
        const char *payload, *want;
    } cases[] = {
        {"{\"v\":1,\"ts\":1795860000}", "|1795860000000||{\"v\":1,\"time\":\"2026-11-28T10:00:00.000Z\"}"},
        {"{\"v\":1,\"ts\":1795860000123}", "|1795860000123||{\"v\":1,\"time\":\"2026-11-28T10:00:00.123Z\"}"},
        {"{\"v\":1,\"ts\":1795860000.5}", "|1795860000500||"},
        {"{\"v\":1,\"ts\":\"1795860000\"}", "|1795860000000||"},
        {"{\"v\":1,\"ts\":\"2026-11-28T11:00:00.5+01:00\"}", "|1795860000500||"},
        {"{\"v\":1,\"ts\":\"2026-11-28 10:00:00\"}", "|1795860000000||"},
        {"{\"v\":1,\"ts\":\"2026-11-28T05:00-0500\"}", "|1795860000000||"},
        {"{\"v\":1}", "|1795860000000||"}, /* missing: the receive time */
        /* more than an hour ahead: kept in the value, not the record timestamp */
        {"{\"v\":1,\"ts\":\"2026-11-28T11:00:01Z\"}",
         "|1795860000000||{\"v\":1,\"time\":\"2026-11-28T11:00:01.000Z\"}"},
        {"{\"v\":1,\"ts\":\"2026-11-28T11:00:00Z\"}", "|1795863600000||"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        got_t g = {0};
        run(routes, "s/a/b/t", cases[i].payload, &g);
        ck_assert_msg(strstr(g.text[0], cases[i].want), "case %zu: %s", i, g.text[0]);
        got_free(&g);
    }
    const char *bad[] = {"\"yesterday\"", "\"2026-02-30T00:00:00Z\"", "true", "-5",
                         "\"2026-11-28T10:00:00Zjunk\""};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char payload[128];
        snprintf(payload, sizeof(payload), "{\"v\":1,\"ts\":%s}", bad[i]);
        got_t g = {0};
        run(routes, "s/a/b/t", payload, &g);
        ck_assert_msg(strstr(g.text[0], "DLQ") && strstr(g.text[0], "(from /ts)"), "bad %zu: %s",
                      i, g.text[0]);
        got_free(&g);
    }
}
END_TEST

START_TEST(test_explode)
{
    const char *routes = R1("    kafka: { topic: out, key: \"{/id}\" }\n"
                            "    explode: /r\n"
                            "    fields: { id: { required: true }, v: { type: integer } }\n");
    got_t g = {0};
    mapper_result_t res = run(routes, "s/a/b/t", "{\"r\": [{\"id\": \"a\", \"v\": 1.4}, "
                                                 "{\"id\": \"b\"}, {\"id\": \"c\", \"v\": \"9\"}]}",
                              &g);
    ck_assert_uint_eq(res.records, 3);
    ck_assert_str_eq(g.text[0], "r|out|a|1795860000000||{\"id\":\"a\",\"v\":1}");
    ck_assert_str_eq(g.text[1], "r|out|b|1795860000000||{\"id\":\"b\"}");
    ck_assert_str_eq(g.text[2], "r|out|c|1795860000000||{\"id\":\"c\",\"v\":9}");
    got_free(&g);
    /* All or nothing: one bad element makes one dead letter and no records. */
    res = run(routes, "s/a/b/t", "{\"r\": [{\"id\": \"a\"}, {\"v\": 1}]}", &g);
    ck_assert_uint_eq(res.records, 1);
    ck_assert_msg(strstr(g.text[0], "mkb.reason=element 1: required field 'id' is missing"),
                  "%s", g.text[0]);
    got_free(&g);
    /* A key template missing for one element: that element alone. */
    res = run(R1("    kafka: { topic: out, key: \"{/k}\" }\n    explode: /r\n"
                 "    fields: { v: {} }\n"),
              "s/a/b/t", "{\"r\": [{\"k\": \"a\", \"v\": 1}, {\"v\": 2}]}", &g);
    ck_assert_uint_eq(res.records, 2);
    ck_assert_str_eq(g.text[0], "r|out|a|1795860000000||{\"v\":1}");
    ck_assert_msg(strstr(g.text[1], "mkb.reason=element 1: template '{/k}': payload has no "
                                    "value at /k"),
                  "%s", g.text[1]);
    got_free(&g);
    run(routes, "s/a/b/t", "{\"r\": {}}", &g);
    ck_assert_msg(strstr(g.text[0], "explode: no array at /r"), "%s", g.text[0]);
    got_free(&g);
    run(routes, "s/a/b/t", "{\"r\": []}", &g); /* an empty batch: nothing to send */
    ck_assert_uint_eq(g.n, 0);
}
END_TEST

START_TEST(test_limits)
{
    char *text = NULL;
    ck_assert(asprintf(&text, HEAD "limits: { max_payload_bytes: 64, max_json_depth: 3, "
                                   "max_records_per_message: 2 }\n"
                                   "routes:\n  - name: r\n    mqtt: { filter: \"#\" }\n"
                                   "    kafka: { topic: out }\n    explode: \"\"\n") > 0);
    config_t *cfg = NULL;
    char *errors = NULL;
    ck_assert_int_eq(config_load_string("l.yaml", text, &cfg, &errors), MKB_OK);
    free(text);
    mapper_t *m = NULL;
    ck_assert_int_eq(mapper_new(cfg, &m, &errors), MKB_OK);
    struct {
        const char *payload, *reason;
    } cases[] = {
        {"[1, 2, 3]", "3 records in one message; the limit is 2"},
        {"[[[[1]]]]", "invalid JSON at line 1 column 4: nested deeper than 3 levels"},
        {"[\"0123456789012345678901234567890123456789012345678901234567890123\"]",
         "payload of 68 bytes exceeds the limit of 64"},
    };
    for (size_t i = 0; i < 3; i++) {
        mqtt_msg_t msg = {.topic = "x", .topic_len = 1, .payload = cases[i].payload,
                          .payload_len = strlen(cases[i].payload)};
        got_t g = {0};
        mapper_result_t res;
        ck_assert_int_eq(mapper_process(m, &msg, collect, &g, &res), MKB_OK);
        ck_assert_msg(res.dead_letters == 1 && strstr(g.text[0], cases[i].reason), "%zu: %s", i,
                      g.text[0]);
        got_free(&g);
    }
    /* Brackets inside strings do not count as depth. */
    mqtt_msg_t ok = {.topic = "x", .topic_len = 1, .payload = "[\"[[[[[\"]", .payload_len = 9};
    got_t g = {0};
    mapper_result_t res;
    mapper_process(m, &ok, collect, &g, &res);
    ck_assert_uint_eq(res.dead_letters, 0);
    got_free(&g);
    mapper_destroy(m);
    config_destroy(cfg);
}
END_TEST

/* Hostile topics: deeper than routes match (a dead letter, not silently
 * unmatched), filters deeper than that (a compile error), rendered Kafka
 * topics with the reason they are illegal; and an oversized payload's dead
 * letter cut to the limit, with the original size. */
START_TEST(test_hostile_topics_and_cut_dead_letter)
{
    const char *routes = "limits: { max_payload_bytes: 8 }\n"
                         "routes:\n  - name: all\n    mqtt: { filter: \"#\" }\n"
                         "    kafka: { topic: \"{mqtt.topic}\" }\n    payload: raw\n";
    buf_t t = {0};
    for (int i = 0; i < 129; i++)
        buf_append_str(&t, i ? "/a" : "a");
    buf_terminate(&t);
    got_t g = {0};
    mapper_result_t res = run(routes, t.p, "x", &g);
    ck_assert_uint_eq(res.dead_letters, 1);
    ck_assert_msg(strstr(g.text[0], "DLQ -|dlq|a/a/") &&
                      strstr(g.text[0], "|mkb.reason=topic of 129 levels; routes match at most "
                                        "128;mkb.mqtt.topic=a/a/"),
                  "%s", g.text[0]);
    got_free(&g);
    t.len -= 2; /* 128 levels: matched, then refused as a Kafka topic name */
    buf_terminate(&t);
    run(routes, t.p, "x", &g);
    ck_assert_msg(strstr(g.text[0], "DLQ all|dlq|a/a/") &&
                      strstr(g.text[0], "...' is not a valid Kafka topic name (255 characters; 1 "
                                        "to 249 are allowed)"),
                  "%s", g.text[0]);
    got_free(&g);
    run(routes, "caf\xc3\xa9", "x", &g);
    ck_assert_msg(strstr(g.text[0], "rendered topic 'caf\\xc3\\xa9' is not a valid Kafka topic "
                                    "name (byte 0xc3 at 4 is not allowed"),
                  "%s", g.text[0]);
    got_free(&g);
    run(routes, "a/b", "x", &g);
    ck_assert_msg(strstr(g.text[0], "rendered topic 'a/b' is not a valid Kafka topic name ('/' "
                                    "at 2 is not allowed: only a-z A-Z 0-9 . _ -)"),
                  "%s", g.text[0]);
    got_free(&g);
    run(routes, "..", "x", &g);
    ck_assert_msg(strstr(g.text[0], "('.' and '..' are not allowed)"), "%s", g.text[0]);
    got_free(&g);
    run(routes, "ok", "0123456789", &g);
    ck_assert_msg(strstr(g.text[0], "mkb.reason=payload of 10 bytes exceeds the limit of 8 "
                                    "(limits.max_payload_bytes); the dead letter keeps the first 8 "
                                    "bytes;mkb.route=all;mkb.mqtt.topic=ok;mkb.mqtt.qos=1;"
                                    "mkb.value.bytes=10;|01234567") &&
                      strlen(strrchr(g.text[0], '|')) == 9,
                  "%s", g.text[0]);
    got_free(&g);
    run(routes, "ok", "01234567", &g); /* at the limit: a record */
    ck_assert_str_eq(g.text[0], "all|ok|ok|1795860000000||01234567");
    got_free(&g);
    buf_reset(&t);
    for (int i = 0; i < 129; i++)
        buf_append_str(&t, i ? "/a" : "a");
    buf_terminate(&t);
    char *cfg = NULL;
    ck_assert(asprintf(&cfg, "routes:\n  - name: f\n    mqtt: { filter: \"%s\" }\n"
                             "    kafka: { topic: t }\n",
                       t.p) > 0);
    char *e = compile_errors(cfg);
    ck_assert_msg(strstr(e, "more than 128 levels (topics deeper than that are dead letters)"),
                  "%s", e);
    free(e);
    free(cfg);
    buf_free(&t);
}
END_TEST

START_TEST(test_fan_out_and_unmatched)
{
    const char *routes = "routes:\n"
                         "  - { name: a, mqtt: { filter: \"x/#\" }, kafka: { topic: ta }, payload: raw }\n"
                         "  - { name: b, mqtt: { filter: \"x/+\" }, kafka: { topic: tb },\n"
                         "      fields: { v: { required: true } } }\n";
    got_t g = {0};
    mapper_result_t res = run(routes, "x/y", "{\"w\": 1}", &g);
    ck_assert_uint_eq(res.routes, 2);
    ck_assert_uint_eq(res.records, 2);
    ck_assert_str_eq(g.text[0], "a|ta|x/y|1795860000000||{\"w\": 1}");
    ck_assert_msg(strstr(g.text[1], "DLQ b|dlq|"), "%s", g.text[1]);
    got_free(&g);
    res = run(routes, "z", "1", &g);
    ck_assert(res.unmatched);
    ck_assert_uint_eq(g.n, 0);
    /* With kafka.unmatched_topic the message is kept there, unchanged. */
    config_t *cfg = NULL;
    char *errors = NULL;
    ck_assert_int_eq(config_load_string("u.yaml",
                                        "mqtt: { uri: tcp://h:1 }\n"
                                        "kafka: { bootstrap: h:1, unmatched_topic: lost }\n"
                                        "routes:\n  - { name: a, mqtt: { filter: \"x/#\" }, "
                                        "kafka: { topic: ta } }\n",
                                        &cfg, &errors),
                     MKB_OK);
    mapper_t *m = NULL;
    ck_assert_int_eq(mapper_new(cfg, &m, &errors), MKB_OK);
    mqtt_msg_t msg = {.topic = "z/1", .topic_len = 3, .payload = "p", .payload_len = 1,
                      .recv_ms = 5};
    ck_assert_int_eq(mapper_process(m, &msg, collect, &g, &res), MKB_OK);
    ck_assert(res.unmatched);
    ck_assert_str_eq(g.text[0], "-|lost|z/1|5|mkb.mqtt.topic=z/1;|p");
    got_free(&g);
    mapper_destroy(m);
    config_destroy(cfg);
}
END_TEST

/* $/pointer reads the whole message under explode: a gateway's id and time
 * for each of its readings (fields, templates with filters, timestamp.from);
 * timestamp.timezone reads the zone-less time as Berlin time. */
START_TEST(test_root_pointers)
{
    const char *routes =
        R1("    kafka: { topic: out, key: \"{$/gateway/id|lower}-{/n|default:none}\" }\n"
           "    explode: /r\n"
           "    fields: { gw: { from: $/gateway/id }, v: {}, n: { from: /n } }\n"
           "    timestamp: { from: $/ts, field: t, timezone: Europe/Berlin }\n");
    const char *payload = "{\"gateway\": {\"id\": \"GW-1\"}, \"ts\": \"2026-11-28T11:00:00\", "
                          "\"r\": [{\"n\": \"a\", \"v\": 1}, {\"v\": 2}]}";
    got_t g = {0};
    mapper_result_t res = run(routes, "s/a/b/t", payload, &g);
    ck_assert_uint_eq(res.records, 2);
    ck_assert_str_eq(g.text[0], "r|out|gw-1-a|1795860000000||{\"gw\":\"GW-1\",\"v\":1,\"n\":\"a\","
                                "\"t\":\"2026-11-28T10:00:00.000Z\"}");
    ck_assert_str_eq(g.text[1], "r|out|gw-1-none|1795860000000||{\"gw\":\"GW-1\",\"v\":2,"
                                "\"t\":\"2026-11-28T10:00:00.000Z\"}");
    got_free(&g);
    /* the element has no gateway: /gateway/id would miss, $/ does not */
    run(R1("    kafka: { topic: out, key: \"{/gateway/id}\" }\n    explode: /r\n"),
              "s/a/b/t", payload, &g);
    ck_assert_msg(strstr(g.text[0], "DLQ") && strstr(g.text[0], "payload has no value at "
                                                                "/gateway/id"),
                  "%s", g.text[0]);
    got_free(&g);
    /* a required $/ field that is missing names its pointer */
    run(R1("    kafka: { topic: out }\n    explode: /r\n"
                 "    fields: { site: { from: $/site, required: true } }\n"),
              "s/a/b/t", payload, &g);
    ck_assert_msg(strstr(g.text[0], "element 0: required field 'site' is missing (from $/site)"),
                  "%s", g.text[0]);
    got_free(&g);
    /* without explode $/a is /a */
    run(R1("    kafka: { topic: out, key: \"{$/gateway/id}/{/gateway/id}\" }\n"
                 "    fields: { a: { from: $/ts }, b: { from: /ts } }\n"),
              "s/a/b/t", payload, &g);
    ck_assert_str_eq(g.text[0], "r|out|GW-1/GW-1|1795860000000||{\"a\":\"2026-11-28T11:00:00\","
                                "\"b\":\"2026-11-28T11:00:00\"}");
    got_free(&g);
    /* a field name made from a capture takes filters too */
    run(R1("    kafka: { topic: \"t.{site|upper|slug}\" }\n    explode: /r\n"
           "    fields: { \"{dev|upper}_v\": { from: /v }, \"gw\": { from: $/gateway/id } }\n"),
        "s/a b/x-1/t", payload, &g);
    ck_assert_str_eq(g.text[0], "r|t.A_B|s/a b/x-1/t|1795860000000||{\"X-1_v\":1,\"gw\":\"GW-1\"}");
    got_free(&g);
    /* no timezone: the same time is UTC */
    run(R1("    kafka: { topic: out }\n    fields: { v: {} }\n"
                 "    timestamp: { from: /ts }\n"),
              "s/a/b/t", "{\"v\": 1, \"ts\": \"2026-11-28T09:00:00\"}", &g);
    ck_assert_msg(strstr(g.text[0], "|1795856400000||"), "%s", g.text[0]);
    got_free(&g);
    char *e = compile_errors(R1("    kafka: { topic: \"{/x|lowr}\" }\n"
                                "    timestamp: { from: $/ts, timezone: Europe/Berlinn }\n"));
    ck_assert_msg(strstr(e, "route 'r': timestamp.timezone: unknown time zone 'Europe/Berlinn'"),
                  "%s", e);
    ck_assert_msg(strstr(e, "kafka.topic: {/x|lowr}: unknown filter 'lowr'; did you mean 'lower'? "
                            "(filters: lower, upper, slug, default:TEXT)"),
                  "%s", e);
    free(e);
    e = compile_errors(R1("    kafka: { topic: out }\n"
                          "    timestamp: { from: /ts, timezone: ../../etc/passwd }\n"));
    ck_assert_msg(strstr(e, "'../../etc/passwd' is not a time zone name"), "%s", e);
    free(e);
}
END_TEST

/* on_error keeps the record for a value that cannot be converted; the
 * header names the failed fields in field order and the record counts them. */
START_TEST(test_field_on_error)
{
    const char *routes =
        R1("    kafka: { topic: out, key: \"\" }\n"
           "    fields:\n"
           "      a: { from: /a, type: number, on_error: null }\n"
           "      b: { from: /b, type: boolean, on_error: omit }\n"
           "      c: { from: /c, type: integer, default: -1, on_error: default }\n"
           "      d: { from: /d, type: number, default: null, on_error: default }\n"
           "      e: { from: /e, convert: fahrenheit_to_celsius, on_error: null }\n"
           "      f: { from: /f, type: number }\n");
    got_t g = {0};
    mapper_result_t res = run(
        routes, "s/a/b/t",
        "{\"a\": \"x\", \"b\": \"maybe\", \"c\": {}, \"d\": [1], \"e\": \"hot\", \"f\": 1}", &g);
    ck_assert_uint_eq(res.dead_letters, 0);
    ck_assert_str_eq(g.text[0], "r|out|(nokey)|1795860000000|mkb.field_errors=a,b,c,d,e;|"
                                "{\"a\":null,\"c\":-1,\"d\":null,\"e\":null,\"f\":1}#5");
    got_free(&g);
    /* Good values: no header, nothing counted; missing ones take their default. */
    run(routes, "s/a/b/t", "{\"a\": 2, \"b\": \"on\", \"e\": 212, \"f\": 1}", &g);
    ck_assert_str_eq(g.text[0], "r|out|(nokey)|1795860000000||"
                                "{\"a\":2,\"b\":true,\"c\":-1,\"d\":null,\"e\":100.0,\"f\":1}");
    got_free(&g);
    /* dead_letter (the default) still fails the message, even after soft failures. */
    res = run(routes, "s/a/b/t", "{\"a\": \"x\", \"f\": \"one\"}", &g);
    ck_assert_uint_eq(res.dead_letters, 1);
    ck_assert_msg(strstr(g.text[0], "mkb.reason=field 'f' (from /f): expected a number"), "%s",
                  g.text[0]);
    ck_assert_ptr_null(strstr(g.text[0], "mkb.field_errors"));
    got_free(&g);
    /* A missing required field is a dead letter whatever on_error says. */
    res = run(R1("    kafka: { topic: out }\n"
                 "    fields: { h: { from: /h, required: true, on_error: null } }\n"),
              "s/a/b/t", "{}", &g);
    ck_assert_uint_eq(res.dead_letters, 1);
    got_free(&g);
    /* Exploded: each element has its own failed fields. */
    run(R1("    kafka: { topic: out, key: \"\" }\n    explode: /r\n"
           "    fields: { v: { from: /v, type: number, on_error: omit } }\n"),
        "s/a/b/t", "{\"r\": [{\"v\": 1}, {\"v\": \"bad\"}]}", &g);
    ck_assert_uint_eq(g.n, 2);
    ck_assert_str_eq(g.text[0], "r|out|(nokey)|1795860000000||{\"v\":1}");
    ck_assert_str_eq(g.text[1], "r|out|(nokey)|1795860000000|mkb.field_errors=v;|{}#1");
    got_free(&g);
}
END_TEST

START_TEST(test_field_round)
{
    got_t g = {0};
    run(R1("    kafka: { topic: out, key: \"\" }\n"
           "    fields:\n"
           "      a: { from: /a, round: 2 }\n"
           "      b: { from: /b, round: 2 }\n"
           "      c: { from: /c, round: 0 }\n"
           "      d: { from: /d, round: 0 }\n"
           "      e: { from: /e, convert: fahrenheit_to_celsius, round: 1 }\n"
           "      f: { from: /f, round: 3 }\n"
           "      g: { from: /g, round: 1, type: integer }\n"
           "      h: { from: /h, round: 2 }\n"
           "      i: { from: /i, round: 1, on_error: null }\n"
           "      j: { from: /j, round: 15 }\n"),
        "s/a/b/t",
        "{\"a\": 21.775, \"b\": -21.775, \"c\": 0.5, \"d\": -0.4, \"e\": 71.2, \"f\": \"1.23456\", "
        "\"g\": 2.45, \"h\": 7, \"i\": \"warm\", \"j\": 0.1}",
        &g);
    /* 21.78, not 21.780000000000001: the value is written in its short form */
    ck_assert_str_eq(g.text[0], "r|out|(nokey)|1795860000000|mkb.field_errors=i;|"
                                "{\"a\":21.78,\"b\":-21.78,\"c\":1.0,\"d\":0.0,\"e\":21.8,"
                                "\"f\":1.235,\"g\":3,\"h\":7,\"i\":null,\"j\":0.1}#1");
    got_free(&g);
}
END_TEST

/* Field and add names made from the filter's captures. */
START_TEST(test_field_names_from_captures)
{
    got_t g = {0};
    const char *routes = "routes:\n  - name: n\n    mqtt: { filter: \"s/{device}/{metric}\" }\n"
                         "    kafka: { topic: out, key: \"\" }\n"
                         "    fields:\n"
                         "      \"{metric}\": { from: /value, type: number, on_error: null }\n"
                         "      \"{device}_{metric}_raw\": { from: /value }\n"
                         "      \"x{{y}}\": { from: /value }\n"
                         "    add: { \"{metric}_unit\": C, \"{device}\": \"{metric}\" }\n";
    run(routes, "s/d1/temperature", "{\"value\": 21.5}", &g);
    ck_assert_str_eq(g.text[0], "n|out|(nokey)|1795860000000||{\"temperature\":21.5,"
                                "\"d1_temperature_raw\":21.5,\"x{y}\":21.5,"
                                "\"temperature_unit\":\"C\",\"d1\":\"temperature\"}");
    got_free(&g);
    /* The header names the field as the record has it. */
    run(routes, "s/d2/hum", "{\"value\": \"wet\"}", &g);
    ck_assert_str_eq(g.text[0], "n|out|(nokey)|1795860000000|mkb.field_errors=hum;|"
                                "{\"hum\":null,\"d2_hum_raw\":\"wet\",\"x{y}\":\"wet\","
                                "\"hum_unit\":\"C\",\"d2\":\"hum\"}#1");
    got_free(&g);
    /* Two fields rendering the same name: the later wins. */
    run("routes:\n  - name: n\n    mqtt: { filter: \"s/{a}/{b}\" }\n"
        "    kafka: { topic: out, key: \"\" }\n"
        "    fields: { \"{a}\": { from: /x }, \"{b}\": { from: /y } }\n",
        "s/k/k", "{\"x\": 1, \"y\": 2}", &g);
    ck_assert_str_eq(g.text[0], "n|out|(nokey)|1795860000000||{\"k\":2}");
    got_free(&g);
    /* A topic level that is not UTF-8 cannot name a field: a dead letter says so. */
    mapper_result_t res = run(routes, "s/d\xff/t", "{\"value\": 1}", &g);
    ck_assert_uint_eq(res.dead_letters, 1);
    ck_assert_msg(strstr(g.text[0], "mkb.reason=name 'd\\xff_t_raw' (from "
                                    "'{device}_{metric}_raw') is not valid UTF-8"),
                  "%s", g.text[0]);
    got_free(&g);
    /* Without braces a name is not a template: {metric} cannot sneak in. */
    run(R1("    kafka: { topic: out, key: \"\" }\n    fields: { plain: { from: /v } }\n"),
        "s/a/b/t", "{\"v\": 1}", &g);
    ck_assert_str_eq(g.text[0], "r|out|(nokey)|1795860000000||{\"plain\":1}");
    got_free(&g);
}
END_TEST

START_TEST(test_field_option_errors)
{
    char *e = compile_errors(R1("    kafka: { topic: out }\n"
                                "    fields:\n"
                                "      a: { from: /a, on_error: default }\n"
                                "      b: { from: /b, type: string, round: 2 }\n"
                                "      c: { from: /c, type: boolean, round: 0 }\n"
                                "      \"{sit}\": { from: /d }\n"
                                "      \"{mqtt.topic}\": { from: /e }\n"
                                "      \"{/x}\": { from: /f }\n"
                                "      \"a}b\": { from: /g }\n"
                                "      \"{site\": { from: /h }\n"
                                "      \"{dev}\": {}\n"
                                "    add: { \"{nope}\": 1 }\n"));
    const char *want[] = {
        "t.yaml:8:32: error: route 'r': field 'a': on_error: default needs a default: value",
        "t.yaml:9:43: error: route 'r': field 'b': round applies to numbers, not to a string",
        "t.yaml:10:44: error: route 'r': field 'c': round applies to numbers, not to a boolean",
        "t.yaml:11:7: error: route 'r': fields name '{sit}': {sit} is not a capture",
        "{sit} is not a capture of the filter; did you mean {site}?",
        "t.yaml:12:7: error: route 'r': fields name '{mqtt.topic}': {mqtt.topic} is not a",
        "t.yaml:13:7: error: route 'r': fields name '{/x}': {/x} is not a capture",
        "t.yaml:14:7: error: route 'r': fields name 'a}b': a lone '}' (write '}}' for a brace)",
        "t.yaml:15:7: error: route 'r': fields name '{site': '{' without its '}'",
        "t.yaml:16:7: error: route 'r': field '{dev}': a name made from captures needs from:",
        "t.yaml:17:12: error: route 'r': add name '{nope}': {nope} is not a capture",
    };
    for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++)
        ck_assert_msg(strstr(e, want[i]), "missing: %s\nin:\n%s", want[i], e);
    free(e);
}
END_TEST

/* Retained messages: forwarded with mkb.retained: true (only then), or
 * skipped by a route with retained: drop (told to the skip callback). */
START_TEST(test_retained)
{
    const char *routes =
        "routes:\n"
        "  - { name: keep, mqtt: { filter: \"x/#\" }, kafka: { topic: tk }, payload: raw }\n"
        "  - { name: live, mqtt: { filter: \"x/+\" }, kafka: { topic: tl },\n"
        "      payload: raw, retained: drop }\n";
    got_t g = {0};
    run_retained = true;
    mapper_result_t res = run(routes, "x/y", "21.5", &g);
    run_retained = false;
    ck_assert_uint_eq(res.routes, 2);
    ck_assert_uint_eq(res.records, 1);
    ck_assert_uint_eq(g.n, 2); /* the record, and the skip told to mapper_on_skip's callback */
    ck_assert_str_eq(g.text[0], "keep|tk|x/y|1795860000000|mkb.retained=true;|21.5");
    ck_assert_str_eq(g.text[1], "SKIP live: retained message (retained: drop)");
    ck_assert_uint_eq(res.skipped, 1);
    got_free(&g);
    res = run(routes, "x/y", "21.5", &g);
    ck_assert_uint_eq(res.records, 2);
    ck_assert_uint_eq(res.skipped, 0);
    ck_assert_str_eq(g.text[0], "keep|tk|x/y|1795860000000||21.5");
    ck_assert_str_eq(g.text[1], "live|tl|x/y|1795860000000||21.5");
    got_free(&g);
}
END_TEST

/* The subscriptions are the routes' cover; a message inside the cover that
 * no route matches is "outside", not unmatched, and never goes to
 * kafka.unmatched_topic. */
START_TEST(test_cover_and_outside)
{
    config_t *cfg = NULL;
    char *errors = NULL;
    ck_assert_int_eq(config_load_string("u.yaml",
                                        "mqtt: { uri: tcp://h:1 }\n"
                                        "kafka: { bootstrap: h:1, unmatched_topic: lost }\n"
                                        "routes:\n"
                                        "  - { name: a, mqtt: { filter: \"a/{x}\", qos: 0 }, "
                                        "kafka: { topic: ta }, payload: raw }\n"
                                        "  - { name: b, mqtt: { filter: \"{y}/b\", qos: 2 }, "
                                        "kafka: { topic: tb }, payload: raw }\n"
                                        "  - { name: c, mqtt: { filter: \"a/b\", qos: 1 }, "
                                        "kafka: { topic: tc }, payload: raw }\n"
                                        "  - { name: s, mqtt: { filter: \"$SYS/#\", qos: 0 }, "
                                        "kafka: { topic: ts }, payload: raw }\n",
                                        &cfg, &errors),
                     MKB_OK);
    mapper_t *m = NULL;
    ck_assert_int_eq(mapper_new(cfg, &m, &errors), MKB_OK);
    ck_assert_uint_eq(mapper_subscription_count(m), 2);
    ck_assert_str_eq(mapper_subscription_filter(m, 0), "$SYS/#");
    ck_assert_int_eq(mapper_subscription_qos(m, 0), 0);
    ck_assert_str_eq(mapper_subscription_filter(m, 1), "+/+");
    ck_assert_int_eq(mapper_subscription_qos(m, 1), 2);
    /* the widening is told at the route whose filter starts with a wildcard */
    ck_assert_msg(mapper_warnings(m) &&
                      strstr(mapper_warnings(m),
                             "u.yaml:5:32: warning: route 'b': its filter '+/b' and those of 2 "
                             "other route(s) overlap, so the bridge subscribes to '+/+'") &&
                      !strstr(mapper_warnings(m), "$SYS"),
                  "%s", mapper_warnings(m) ? mapper_warnings(m) : "(none)");
    got_t g = {0};
    mapper_result_t res;
    mqtt_msg_t msg = {.topic = "a/b", .topic_len = 3, .payload = "p", .payload_len = 1};
    ck_assert_int_eq(mapper_process(m, &msg, collect, &g, &res), MKB_OK);
    ck_assert_uint_eq(res.records, 3); /* one message, three routes, one record each */
    ck_assert(!res.outside && !res.unmatched);
    got_free(&g);
    msg.topic = "c/d";
    ck_assert_int_eq(mapper_process(m, &msg, collect, &g, &res), MKB_OK);
    ck_assert(res.outside);
    ck_assert(!res.unmatched);
    ck_assert_uint_eq(g.n, 0);
    msg.topic = "c/d/e";
    msg.topic_len = 5;
    ck_assert_int_eq(mapper_process(m, &msg, collect, &g, &res), MKB_OK);
    ck_assert(!res.outside);
    ck_assert(res.unmatched);
    ck_assert_str_eq(g.text[0], "-|lost|c/d/e|0|mkb.mqtt.topic=c/d/e;|p");
    got_free(&g);
    mapper_destroy(m);
    config_destroy(cfg);
}
END_TEST

/* A template written once under an anchor and used by two routes: the
 * route compiler (after the YAML tree is gone) points at the template's text
 * and names each alias it came through. */
START_TEST(test_compile_error_through_alias)
{
    char *e = compile_errors("x-k: &k { topic: \"t.{sitee}\" }\nroutes:\n"
                             "  - name: r\n    mqtt: { filter: \"s/{site}/{dev}/t\" }\n"
                             "    kafka: *k\n"
                             "  - name: q\n    mqtt: { filter: \"q/{site}/t\" }\n"
                             "    kafka: { <<: *k }\n");
    ck_assert_msg(strstr(e, "t.yaml:3:18: error: route 'r': kafka.topic: unknown placeholder "
                            "{sitee}; did you mean {site}? (used through alias *k at "),
                  "%s", e);
    ck_assert_msg(strstr(e, "/tests/unit/t.yaml:7:12)\n"), "%s", e);
    ck_assert_msg(strstr(e, "t.yaml:3:18: error: route 'q': kafka.topic: unknown placeholder "
                            "{sitee}; did you mean {site}? (used through alias *k at "),
                  "%s", e);
    ck_assert_msg(strstr(e, "/tests/unit/t.yaml:10:18)\n"), "%s", e);
    free(e);
}
END_TEST

START_TEST(test_compile_errors)
{
    char *e = compile_errors(R1("    kafka: { topic: \"t.{sitee}\", key: \"{mqtt.topik}\",\n"
                                "             headers: { h: \"{/a~2}\", mkb.x: y } }\n"
                                "    fields: { c: { from: nope, convert: kwh_to_wh, type: string } }\n"
                                "    add: { c: \"{unknown_thing}\" }\n"));
    const char *want[] = {
        "t.yaml:6:21: error: route 'r': kafka.topic: unknown placeholder {sitee}; did you mean "
        "{site}?",
        "t.yaml:6:39: error: route 'r': kafka.key: unknown placeholder {mqtt.topik}; did you "
        "mean {mqtt.topic}?",
        "error: route 'r': header names starting with 'mkb.' are the bridge's own",
        "error: route 'r': kafka.headers: {/a~2}: '/a~2': '~' must be followed by 0 or 1",
        "error: route 'r': fields.from: 'nope' is not a JSON pointer",
        "error: route 'r': field 'c': a unit conversion gives a number, not a string",
        "error: route 'r': add: unknown placeholder {unknown_thing}; expected a capture of the "
        "filter (site, dev)",
        "error: route 'r': add.c: also a name in fields",
    };
    for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++)
        ck_assert_msg(strstr(e, want[i]), "missing: %s\nin:\n%s", want[i], e);
    free(e);
    const char *filters[][2] = {
        {"a/{x}/{x}", "capture {x} appears twice"},
        {"a/{rest#}/b", "takes the remaining levels, so it must be last"},
        {"a/{1x}", "is not a capture"},
        {"a/b{x}", "a capture must fill a whole level"},
        {"a/#/b", "'#' must be the whole last level"},
        {"a+/b", "'+' must fill a whole level"},
    };
    for (size_t i = 0; i < sizeof(filters) / sizeof(filters[0]); i++) {
        char routes[256];
        snprintf(routes, sizeof(routes),
                 "routes:\n  - name: f\n    mqtt: { filter: \"%s\" }\n    kafka: { topic: t }\n",
                 filters[i][0]);
        e = compile_errors(routes);
        ck_assert_msg(strstr(e, "t.yaml:5:21: error: route 'f': mqtt.filter") &&
                          strstr(e, filters[i][1]),
                      "%s: %s", filters[i][0], e);
        free(e);
    }
    e = compile_errors("routes:\n  - { name: raw, mqtt: { filter: a }, kafka: { topic: \"{/x}\" }, "
                       "payload: raw }\n");
    ck_assert_msg(strstr(e, "payload fields are not available here (raw payload)"), "%s", e);
    free(e);
    e = compile_errors("routes:\n  - { name: t, mqtt: { filter: a }, kafka: { topic: \"a b\" } }\n");
    ck_assert_msg(strstr(e, "kafka.topic 'a b' is not a valid Kafka topic name"), "%s", e);
    free(e);
}
END_TEST

/* Route r with one when: condition COND (a flow mapping) and payload kind
 * KIND: true when it takes the message (a record), false when it skips it
 * (then exactly one skip and no dead letter). */
static bool takes_kind(const char *kind, const char *cond, const char *topic, const char *payload)
{
    char *routes = NULL;
    ck_assert(asprintf(&routes,
                       "routes:\n  - name: r\n    mqtt: { filter: \"s/{site}/{dev}/t\" }\n"
                       "    kafka: { topic: out }\n    payload: %s\n    when:\n      - %s\n",
                       kind, cond) > 0);
    got_t g = {0};
    mapper_result_t res = run(routes, topic, payload, &g);
    free(routes);
    ck_assert_uint_eq(res.dead_letters, 0);
    ck_assert_uint_eq(res.records + res.skipped, 1);
    ck_assert_uint_eq(g.n, 1);
    ck_assert(strncmp(g.text[0], res.skipped ? "SKIP r: when[0] " : "r|out|", 6) == 0);
    got_free(&g);
    return res.records == 1;
}

static bool takes(const char *cond, const char *payload)
{
    return takes_kind("json", cond, "s/a/b/t", payload);
}

START_TEST(test_when_exists)
{
    ck_assert(takes("{ field: /a, exists: true }", "{\"a\": 0}"));
    ck_assert(takes("{ field: /a, exists: true }", "{\"a\": null}")); /* null is present */
    ck_assert(!takes("{ field: /a, exists: true }", "{\"b\": 1}"));
    ck_assert(takes("{ field: /a, exists: false }", "{\"b\": 1}"));
    ck_assert(takes("{ field: /a, exists: no }", "{\"b\": 1}"));
    ck_assert(takes("{ field: /a, exists: Yes }", "{\"a\": 1}"));
    ck_assert(!takes("{ field: /a, exists: false }", "{\"a\": {}}"));
    ck_assert(takes("{ field: /a/0/b, exists: true }", "{\"a\": [{\"b\": 1}]}"));
    ck_assert(!takes("{ field: /a/1, exists: true }", "{\"a\": [1]}"));
    ck_assert(!takes("{ field: /a, exists: true }", "[1]")); /* not an object */
}
END_TEST

/* Unquoted numbers and booleans compare typed (numeric strings too),
 * quoted values and other text as strings; a missing subject fails. */
START_TEST(test_when_equals_typed)
{
    ck_assert(takes("{ field: /a, equals: 1 }", "{\"a\": 1}"));
    ck_assert(takes("{ field: /a, equals: 1 }", "{\"a\": 1.0}"));
    ck_assert(takes("{ field: /a, equals: 1 }", "{\"a\": \"1\"}"));
    ck_assert(takes("{ field: /a, equals: 1.5 }", "{\"a\": \"1.50\"}"));
    ck_assert(!takes("{ field: /a, equals: 1 }", "{\"a\": 2}"));
    ck_assert(!takes("{ field: /a, equals: 1 }", "{\"a\": true}"));
    ck_assert(!takes("{ field: /a, equals: 1 }", "{\"a\": \"1x\"}"));
    ck_assert(!takes("{ field: /a, equals: 1 }", "{\"b\": 1}"));
    ck_assert(!takes("{ field: /a, equals: \"1\" }", "{\"a\": 1}"));
    ck_assert(takes("{ field: /a, equals: \"1\" }", "{\"a\": \"1\"}"));
    ck_assert(!takes("{ field: /a, equals: \"1\" }", "{\"a\": \"1.0\"}"));
    ck_assert(takes("{ field: /a, equals: true }", "{\"a\": true}"));
    ck_assert(takes("{ field: /a, equals: true }", "{\"a\": \"true\"}"));
    ck_assert(!takes("{ field: /a, equals: true }", "{\"a\": 1}"));
    ck_assert(!takes("{ field: /a, equals: false }", "{\"a\": null}"));
    ck_assert(takes("{ field: /a, equals: null }", "{\"a\": null}"));
    ck_assert(!takes("{ field: /a, equals: null }", "{}"));
    ck_assert(takes("{ field: /_type, equals: location }", "{\"_type\": \"location\"}"));
    ck_assert(!takes("{ field: /_type, equals: location }", "{\"_type\": \"Location\"}"));
    ck_assert(!takes("{ field: /_type, equals: location }", "{\"_type\": [\"location\"]}"));
    ck_assert(takes("{ field: /a, one_of: [1, two, \"3\"] }", "{\"a\": \"1\"}"));
    ck_assert(takes("{ field: /a, one_of: [1, two, \"3\"] }", "{\"a\": \"two\"}"));
    ck_assert(takes("{ field: /a, one_of: [1, two, \"3\"] }", "{\"a\": \"3\"}"));
    ck_assert(!takes("{ field: /a, one_of: [1, two, \"3\"] }", "{\"a\": 3}"));
    ck_assert(!takes("{ field: /a, one_of: [1, two, \"3\"] }", "{}"));
}
END_TEST

START_TEST(test_when_numeric)
{
    ck_assert(!takes("{ field: /t, above: 10 }", "{\"t\": 10}"));
    ck_assert(takes("{ field: /t, above: 10 }", "{\"t\": 10.001}"));
    ck_assert(takes("{ field: /t, at_least: 10 }", "{\"t\": 10}"));
    ck_assert(!takes("{ field: /t, below: -1.5 }", "{\"t\": -1.5}"));
    ck_assert(takes("{ field: /t, at_most: -1.5 }", "{\"t\": -1.5}"));
    ck_assert(takes("{ field: /t, at_least: 0, below: 100 }", "{\"t\": 0}"));
    ck_assert(takes("{ field: /t, at_least: 0, below: 100 }", "{\"t\": \"99.9\"}"));
    ck_assert(!takes("{ field: /t, at_least: 0, below: 100 }", "{\"t\": 100}"));
    ck_assert(!takes("{ field: /t, at_least: 0, below: 100 }", "{\"t\": -0.1}"));
    ck_assert(!takes("{ field: /t, above: 0 }", "{\"t\": \"n/a\"}"));
    ck_assert(!takes("{ field: /t, above: 0 }", "{\"t\": true}"));
    ck_assert(!takes("{ field: /t, above: 0 }", "{\"t\": null}"));
    ck_assert(!takes("{ field: /t, above: 0 }", "{}"));
    ck_assert(takes("{ field: /t, equals: 5, at_most: 5 }", "{\"t\": 5}"));
    /* number and text payloads are {"value": ...} */
    ck_assert(takes_kind("number", "{ field: /value, above: 20 }", "s/a/b/t", "21.5"));
    ck_assert(!takes_kind("number", "{ field: /value, above: 20 }", "s/a/b/t", "19"));
    ck_assert(takes_kind("text", "{ field: /value, one_of: [ON, OFF] }", "s/a/b/t", "ON"));
    ck_assert(!takes_kind("text", "{ field: /value, one_of: [ON, OFF] }", "s/a/b/t", "on"));
}
END_TEST

/* Captures, MQTT 5 properties and the MQTT metadata as subjects (run() sends
 * qos 1, retained as run_retained says, content type application/json,
 * property device=d-9). */
START_TEST(test_when_other_subjects)
{
    ck_assert(takes("{ capture: site, equals: a }", "{}"));
    ck_assert(!takes("{ capture: dev, equals: a }", "{}"));
    ck_assert(takes_kind("json", "{ capture: site, above: 5 }", "s/7/b/t", "{}"));
    ck_assert(!takes_kind("json", "{ capture: site, above: 5 }", "s/x/b/t", "{}"));
    ck_assert(takes_kind("raw", "{ capture: dev, one_of: [b, c] }", "s/a/b/t", "\x01"));
    ck_assert(!takes_kind("raw", "{ capture: dev, one_of: [x, c] }", "s/a/b/t", "\x01"));
    ck_assert(takes("{ property: device, equals: d-9 }", "{}"));
    ck_assert(!takes("{ property: device, equals: d-8 }", "{}"));
    ck_assert(takes("{ property: none, exists: false }", "{}"));
    ck_assert(!takes("{ property: none, equals: \"\" }", "{}"));
    ck_assert(takes("{ mqtt: qos, equals: 1 }", "{}"));
    ck_assert(!takes("{ mqtt: qos, above: 1 }", "{}"));
    ck_assert(!takes("{ mqtt: retain, equals: true }", "{}"));
    ck_assert(takes("{ mqtt: retain, equals: false }", "{}"));
    run_retained = true;
    ck_assert(takes("{ mqtt: retain, equals: true }", "{}"));
    ck_assert(!takes("{ mqtt: retain, equals: false }", "{}"));
    run_retained = false;
    ck_assert(takes("{ mqtt: content_type, equals: application/json }", "{}"));
    ck_assert(takes("{ mqtt: topic, one_of: [s/a/b/t] }", "{}"));
    ck_assert(!takes("{ mqtt: topic, equals: s/a/b }", "{}"));
}
END_TEST

/* All conditions must hold; they read the whole message before explode
 * ($/a and /a alike); map's reason names the first false one and what it
 * found; a payload the route cannot parse is still a dead letter. */
START_TEST(test_when_route)
{
    const char *routes = "routes:\n  - name: energy\n    mqtt: { filter: \"tele/{dev}/SENSOR\" }\n"
                         "    kafka: { topic: e, key: \"{dev}\" }\n"
                         "    explode: /r\n"
                         "    fields: { v: { from: /v } }\n"
                         "    when:\n"
                         "      - field: /gw\n"
                         "        exists: true\n"
                         "      - { field: $/kind, one_of: [a, \"b\"] }\n"
                         "      - { capture: dev, equals: d1 }\n";
    got_t g = {0};
    mapper_result_t res = run(routes, "tele/d1/SENSOR",
                              "{\"gw\": 1, \"kind\": \"b\", \"r\": [{\"v\": 1}, {\"v\": 2}]}", &g);
    ck_assert_uint_eq(res.records, 2);
    ck_assert_uint_eq(res.skipped, 0);
    ck_assert_str_eq(g.text[1], "energy|e|d1|1795860000000||{\"v\":2}");
    got_free(&g);
    res = run(routes, "tele/d1/SENSOR", "{\"kind\": \"b\", \"r\": []}", &g);
    ck_assert_uint_eq(res.skipped, 1);
    ck_assert_uint_eq(res.records, 0);
    ck_assert_str_eq(g.text[0], "SKIP energy: when[0] field /gw exists is false");
    got_free(&g);
    res = run(routes, "tele/d1/SENSOR", "{\"gw\": 1, \"kind\": \"c\"}", &g);
    ck_assert_uint_eq(res.skipped, 1);
    ck_assert_str_eq(g.text[0],
                     "SKIP energy: when[1] field $/kind one_of [a, \"b\"] is false (found \"c\")");
    got_free(&g);
    run(routes, "tele/d1/SENSOR", "{\"gw\": 1, \"kind\": 7}", &g);
    ck_assert_str_eq(g.text[0],
                     "SKIP energy: when[1] field $/kind one_of [a, \"b\"] is false (found 7)");
    got_free(&g);
    run(routes, "tele/d2/SENSOR", "{\"gw\": 1, \"kind\": \"a\"}", &g);
    ck_assert_str_eq(g.text[0],
                     "SKIP energy: when[2] capture dev equals d1 is false (found \"d2\")");
    got_free(&g);
    run(R1("    kafka: { topic: out }\n    when: [ { field: /t, at_least: 1, below: 2 } ]\n"),
        "s/a/b/t", "{}", &g);
    ck_assert_str_eq(g.text[0],
                     "SKIP r: when[0] field /t at_least 1 and below 2 is false (missing)");
    got_free(&g);
    res = run(routes, "tele/d1/SENSOR", "{\"gw\":", &g);
    ck_assert_uint_eq(res.dead_letters, 1);
    ck_assert_uint_eq(res.skipped, 0);
    ck_assert(strncmp(g.text[0], "DLQ energy|dlq|", 15) == 0);
    got_free(&g);
    /* fan-out: one route skips, the other takes it */
    res = run("routes:\n"
              "  - { name: climate, mqtt: { filter: \"t/#\" }, kafka: { topic: c },\n"
              "      when: [ { field: /ENERGY, exists: false } ] }\n"
              "  - { name: energy, mqtt: { filter: \"t/#\" }, kafka: { topic: e },\n"
              "      when: [ { field: /ENERGY, exists: true } ] }\n",
              "t/x", "{\"ENERGY\": {\"Power\": 3}}", &g);
    ck_assert_uint_eq(res.routes, 2);
    ck_assert_uint_eq(res.skipped, 1);
    ck_assert_uint_eq(res.records, 1);
    ck_assert_str_eq(g.text[0], "SKIP climate: when[0] field /ENERGY is absent is false");
    ck_assert(strncmp(g.text[1], "energy|e|t/x|", 13) == 0);
    got_free(&g);
}
END_TEST

/* empty: dead_letter (default), skip, tombstone; raw forwards an empty value
 * unless empty: is set; when: on fields is not tested for an empty payload. */
START_TEST(test_empty_payloads)
{
    got_t g = {0};
    mapper_result_t res = run(R1("    kafka: { topic: out }\n"), "s/a/b/t", "", &g);
    ck_assert_uint_eq(res.dead_letters, 1);
    ck_assert_msg(strstr(g.text[0], "DLQ r|dlq|s/a/b/t|1795860000000|mkb.reason=empty payload;"),
                  "%s", g.text[0]);
    got_free(&g);
    res = run(R1("    kafka: { topic: out }\n    payload: number\n    empty: skip\n"), "s/a/b/t",
              "", &g);
    ck_assert_uint_eq(res.records, 0);
    ck_assert_uint_eq(res.skipped, 1);
    ck_assert_str_eq(g.text[0], "SKIP r: empty payload (empty: skip)");
    got_free(&g);
    const char *tomb =
        R1("    kafka: { topic: \"o.{site}\", key: \"{dev}\", headers: { h: \"{mqtt.qos}\" } }\n"
           "    fields: { v: { from: /v, required: true } }\n"
           "    empty: tombstone\n"
           "    when: [ { field: /v, exists: true }, { capture: site, equals: a } ]\n");
    res = run(tomb, "s/a/b/t", "", &g);
    ck_assert_uint_eq(res.records, 1);
    ck_assert_uint_eq(res.dead_letters, 0);
    ck_assert_str_eq(g.text[0], "r|o.a|b|1795860000000|h=1;|(null)");
    got_free(&g);
    res = run(tomb, "s/x/b/t", "", &g); /* conditions on captures still apply */
    ck_assert_uint_eq(res.skipped, 1);
    ck_assert_uint_eq(res.records, 0);
    got_free(&g);
    res = run(tomb, "s/a/b/t", "{\"v\": 2}", &g); /* a non-empty payload is mapped as ever */
    ck_assert_uint_eq(res.records, 1);
    ck_assert_str_eq(g.text[0], "r|o.a|b|1795860000000|h=1;|{\"v\":2}");
    got_free(&g);
    /* a template that needs the payload cannot make the tombstone */
    res = run(R1("    kafka: { topic: out, key: \"{/id}\" }\n    empty: tombstone\n"), "s/a/b/t",
              "", &g);
    ck_assert_uint_eq(res.dead_letters, 1);
    ck_assert_msg(strstr(g.text[0], "mkb.reason=template '{/id}': payload has no value at /id"),
                  "%s", g.text[0]);
    got_free(&g);
    res = run(R1("    kafka: { topic: out }\n    payload: raw\n"), "s/a/b/t", "", &g);
    ck_assert_uint_eq(res.records, 1);
    ck_assert_str_eq(g.text[0], "r|out|s/a/b/t|1795860000000||"); /* empty, not null */
    got_free(&g);
    res = run(R1("    kafka: { topic: out }\n    payload: raw\n    empty: dead_letter\n"),
              "s/a/b/t", "", &g);
    ck_assert_uint_eq(res.dead_letters, 1);
    got_free(&g);
    res = run(R1("    kafka: { topic: out }\n    payload: raw\n    empty: tombstone\n"), "s/a/b/t",
              "", &g);
    ck_assert_uint_eq(res.records, 1);
    ck_assert_str_eq(g.text[0], "r|out|s/a/b/t|1795860000000||(null)");
    got_free(&g);
}
END_TEST

/* Every check error of when:, at the line and column of what is wrong. */
START_TEST(test_when_compile_errors)
{
#define W(lines) R1("    kafka: { topic: out }\n    when:\n" lines)
    /* the conditions are on lines 8 to 19 of t.yaml */
    char *e = compile_errors(W("      - { exists: true }\n"
                               "      - { field: /a, capture: site, exists: true }\n"
                               "      - { field: /a }\n"
                               "      - { field: /a, exists: true, equals: 1 }\n"
                               "      - { field: /a, above: ten }\n"
                               "      - { field: /a, below: 1, at_most: 2 }\n"
                               "      - { field: /a, equals: 1, one_of: [1] }\n"
                               "      - { field: /a, one_of: [] }\n"
                               "      - { field: a, exists: true }\n"
                               "      - { capture: siet, exists: true }\n"
                               "      - { field: /a, exists: maybe }\n"
                               "      - { mqtt: qos, at_least: \"x1\" }\n"));
    const char *want[] = {
        "t.yaml:8:9: error: route 'r': when[0]: no subject",
        "t.yaml:9:31: error: route 'r': when[1]: two subjects (field and capture)",
        "t.yaml:10:18: error: route 'r': when[2]: no test",
        "t.yaml:11:30: error: route 'r': when[3]: exists stands alone",
        "t.yaml:12:29: error: route 'r': when[4].above: 'ten' is not a number",
        "t.yaml:13:41: error: route 'r': when[5]: below and at_most exclude each other",
        "t.yaml:14:30: error: route 'r': when[6]: equals and one_of exclude each other",
        "t.yaml:15:30: error: route 'r': when[7].one_of: an empty list never holds",
        "t.yaml:16:18: error: route 'r': when[8].field: 'a' is not a JSON pointer",
        "t.yaml:17:20: error: route 'r': when[9].capture: 'siet' is not a capture of the filter",
        "the filter (did you mean 'site'?)\n",
        "t.yaml:18:30: error: route 'r': when[10].exists: expected true or false, found 'maybe'",
        "t.yaml:19:32: error: route 'r': when[11].at_least: 'x1' is not a number",
    };
    for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++)
        ck_assert_msg(strstr(e, want[i]), "missing: %s\nin:\n%s", want[i], e);
    free(e);
    e = compile_errors(R1("    kafka: { topic: out }\n    payload: raw\n"
                          "    when: [ { field: /a, exists: true } ]\n"));
    ck_assert_msg(strstr(e, "t.yaml:8:22: error: route 'r': when[0].field: payload: raw is not "
                            "parsed, so it has no fields to test"),
                  "%s", e);
    free(e);
#undef W
}
END_TEST

/* The worked examples the shipped configuration loads, the files of
 * mappings/ (HVAC, Homie, the gateway batch; Sparkplug B in test_mapper_spb; not
 * mappings/devices/), each with a sample a real device sends. Their filters
 * do not overlap, so the default install subscribes to each as written: no
 * widened cover. */
START_TEST(test_examples)
{
    config_t *cfg = NULL;
    char *errors = NULL;
    setenv("MKB_MAPPINGS_DIR", MKB_SOURCE_DIR "/mappings", 1);
    int rc = config_load(MKB_SOURCE_DIR "/config/bridge.yaml", &cfg, &errors);
    ck_assert_msg(rc == MKB_OK, "%s", errors ? errors : "");
    mapper_t *m = NULL;
    ck_assert_msg(mapper_new(cfg, &m, &errors) == MKB_OK, "%s", errors ? errors : "");
    ck_assert_uint_eq(cfg->commands_n, 1);
    ck_assert_uint_eq(cfg->routes_n, 5);
    ck_assert_msg(mapper_warnings(m) == NULL || !strstr(mapper_warnings(m), "subscribes to"), "%s",
                  mapper_warnings(m) ? mapper_warnings(m) : "");
    ck_assert_uint_eq(mapper_subscription_count(m), cfg->routes_n);
    for (size_t i = 0; i < mapper_subscription_count(m); i++) {
        const char *f = mapper_subscription_filter(m, i);
        ck_assert_msg(f[0] != '+' && f[0] != '#', "default subscription '%s'", f);
    }
    struct {
        const char *topic, *payload, *want;
    } cases[] = {
        {"sites/s1/hvac/ahu-2/telemetry",
         "{\"temp_f\": 71.6, \"rh\": 41.5, \"aqi\": 37, \"ts\": 1795860000000}",
         "hvac-telemetry|hvac.telemetry|s1.ahu-2|1795860000000|source=sites/s1/hvac/ahu-2/"
         "telemetry;content-type=application/json;|{\"temperature_c\":22.0,\"humidity_pct\":"
         "41.5,\"air_quality\":37,\"site\":\"s1\",\"unit\":\"ahu-2\",\"ts\":\"2026-11-28T10:00:"
         "00.000Z\"}"},
        {"sites/s1/hvac/ahu-2/energy", "{\"kwh\": 1043.2, \"ts\": \"2026-11-28T10:00:00Z\"}",
         "hvac-energy|hvac.energy|s1.ahu-2|1795860000000||{\"energy_kwh\":1043.2,\"site\":\"s1\","
         "\"unit\":\"ahu-2\",\"ts\":\"2026-11-28T10:00:00.000Z\"}"},
        {"homie/boiler/sensor/temperature", "63.5",
         "homie-values|homie.values|boiler/sensor/temperature|1795860000000||{\"value\":63.5,"
         "\"device\":\"boiler\",\"node\":\"sensor\",\"property\":\"temperature\"}"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        mqtt_msg_t msg = {.topic = cases[i].topic, .topic_len = strlen(cases[i].topic),
                          .payload = cases[i].payload, .payload_len = strlen(cases[i].payload),
                          .qos = 1, .recv_ms = 1795860000000LL};
        got_t g = {0};
        mapper_result_t res;
        ck_assert_int_eq(mapper_process(m, &msg, collect, &g, &res), MKB_OK);
        ck_assert_msg(g.n == 1, "%s: %zu records", cases[i].topic, g.n);
        ck_assert_str_eq(g.text[0], cases[i].want);
        got_free(&g);
    }
    /* The gateway batch: two readings, two records. */
    const char *batch = "{\"gateway\": \"gw-7\", \"readings\": [{\"sensor\": \"t-101\", \"kind\": "
                        "\"temperature\", \"value\": 21.5, \"at\": \"2026-11-28T10:00:00.250Z\"},"
                        " {\"sensor\": \"h-101\", \"value\": \"44\", \"at\": "
                        "\"2026-11-28T10:00:01Z\"}]}";
    mqtt_msg_t msg = {.topic = "gateways/gw-7/up", .topic_len = 16, .payload = batch,
                      .payload_len = strlen(batch), .qos = 1, .recv_ms = 1795860000000LL};
    got_t g = {0};
    mapper_process(m, &msg, collect, &g, NULL);
    ck_assert_uint_eq(g.n, 2);
    ck_assert_str_eq(g.text[0], "gateway-readings|sensors.readings|gw-7.t-101|1795860000250|"
                                "gateway=gw-7;|{\"sensor\":\"t-101\",\"kind\":\"temperature\","
                                "\"value\":21.5,\"gateway\":\"gw-7\",\"ts\":"
                                "\"2026-11-28T10:00:00.250Z\"}");
    ck_assert_str_eq(g.text[1], "gateway-readings|sensors.readings|gw-7.h-101|1795860001000|"
                                "gateway=gw-7;|{\"sensor\":\"h-101\",\"kind\":\"unknown\","
                                "\"value\":44.0,\"gateway\":\"gw-7\",\"ts\":"
                                "\"2026-11-28T10:00:01.000Z\"}");
    got_free(&g);
    mapper_destroy(m);
    config_destroy(cfg);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("mapper");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_passthrough_and_default_key);
    tcase_add_test(tc, test_templates);
    tcase_add_test(tc, test_tail_capture_and_bad_rendered_topic);
    tcase_add_test(tc, test_field_operations);
    tcase_add_test(tc, test_field_errors);
    tcase_add_test(tc, test_field_on_error);
    tcase_add_test(tc, test_field_round);
    tcase_add_test(tc, test_field_names_from_captures);
    tcase_add_test(tc, test_field_option_errors);
    tcase_add_test(tc, test_payload_kinds);
    tcase_add_test(tc, test_raw_is_binary_safe);
    tcase_add_test(tc, test_timestamps);
    tcase_add_test(tc, test_explode);
    tcase_add_test(tc, test_root_pointers);
    tcase_add_test(tc, test_limits);
    tcase_add_test(tc, test_hostile_topics_and_cut_dead_letter);
    tcase_add_test(tc, test_fan_out_and_unmatched);
    tcase_add_test(tc, test_retained);
    tcase_add_test(tc, test_cover_and_outside);
    tcase_add_test(tc, test_compile_errors);
    tcase_add_test(tc, test_compile_error_through_alias);
    tcase_add_test(tc, test_examples);
    tcase_add_test(tc, test_when_exists);
    tcase_add_test(tc, test_when_equals_typed);
    tcase_add_test(tc, test_when_numeric);
    tcase_add_test(tc, test_when_other_subjects);
    tcase_add_test(tc, test_when_route);
    tcase_add_test(tc, test_empty_payloads);
    tcase_add_test(tc, test_when_compile_errors);
    suite_add_tcase(s, tc);
    return check_run(s);
}
