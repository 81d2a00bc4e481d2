#define _GNU_SOURCE /* asprintf */
/* The rule engine end to end, without brokers: config text -> mapper ->
 * records, for templates, each field operation, dead letters, limits, and
 * the worked examples in mappings/. */
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
    buf_append(&b, r->value, r->value_len);
    buf_terminate(&b);
    ck_assert(g->n < 16);
    g->text[g->n++] = b.p;
    return MKB_OK;
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
    ck_assert_msg(strstr(g.text[0], "not valid UTF-8"), "%s", g.text[0]);
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

/* Retained messages: forwarded with mkb.retained: true (only then), or
 * skipped by a route with retained: drop (named in the result). */
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
    ck_assert_uint_eq(g.n, 1);
    ck_assert_str_eq(g.text[0], "keep|tk|x/y|1795860000000|mkb.retained=true;|21.5");
    ck_assert_uint_eq(res.skipped, 1);
    got_free(&g);
    /* The skipped route's name (borrowed from the configuration). */
    config_t *cfg = cfg_of(routes);
    mapper_t *m = NULL;
    char *errors = NULL;
    ck_assert_int_eq(mapper_new(cfg, &m, &errors), MKB_OK);
    mqtt_msg_t msg = {.topic = "x/1", .topic_len = 3, .payload = "1", .payload_len = 1,
                      .retained = true};
    ck_assert_int_eq(mapper_process(m, &msg, collect, &g, &res), MKB_OK);
    ck_assert_uint_eq(res.skipped, 1);
    ck_assert_str_eq(res.skipped_route[0], "live");
    got_free(&g);
    mapper_destroy(m);
    config_destroy(cfg);
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

/* The worked examples in mappings/, each with a sample a real device sends. */
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
        {"tele/kitchen/SENSOR",
         "{\"Time\": \"2026-11-28T10:00:00\", \"AM2301\": {\"Temperature\": 21.3, \"Humidity\": "
         "45.2}, \"TempUnit\": \"C\"}",
         "tasmota-climate|home.climate|kitchen|1795860000000||{\"temperature_c\":21.3,"
         "\"humidity_pct\":45.2,\"device\":\"kitchen\",\"source\":\"tasmota\",\"ts\":"
         "\"2026-11-28T10:00:00.000Z\"}"},
        {"stat/kitchen/POWER", "OFF",
         "tasmota-power|home.power|kitchen|1795860000000||{\"on\":false,\"device\":\"kitchen\"}"},
        {"homie/boiler/sensor/temperature", "63.5",
         "homie-values|homie.values|boiler/sensor/temperature|1795860000000||{\"value\":63.5,"
         "\"device\":\"boiler\",\"node\":\"sensor\",\"property\":\"temperature\"}"},
        {"spBv1.0/plant-a/DDATA/edge-3/pump-1", "\x08\x01",
         "sparkplug-raw|sparkplug.raw|plant-a/edge-3/pump-1|1795860000000|sparkplug-type=DDATA;"
         "mqtt-topic=spBv1.0/plant-a/DDATA/edge-3/pump-1;|\x08\x01"},
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
    tcase_add_test(tc, test_payload_kinds);
    tcase_add_test(tc, test_raw_is_binary_safe);
    tcase_add_test(tc, test_timestamps);
    tcase_add_test(tc, test_explode);
    tcase_add_test(tc, test_limits);
    tcase_add_test(tc, test_hostile_topics_and_cut_dead_letter);
    tcase_add_test(tc, test_fan_out_and_unmatched);
    tcase_add_test(tc, test_retained);
    tcase_add_test(tc, test_cover_and_outside);
    tcase_add_test(tc, test_compile_errors);
    tcase_add_test(tc, test_examples);
    suite_add_tcase(s, tc);
    return check_run(s);
}
