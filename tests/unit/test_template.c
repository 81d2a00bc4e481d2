// SPDX-FileCopyrightText: 2026 The mqtt-kafka-bridge authors
// SPDX-License-Identifier: Apache-2.0
/* Templates through template.h: compiling (escapes, errors with columns,
 * did-you-mean), rendering each placeholder against a message, payload
 * fields by pointer, and appending into a reused, growing buffer; the
 * downlink's form against a Kafka record (the same language). */
#include "buf.h"
#include "config.h"
#include "err.h"
#include "jdump.h"
#include "template.h"

#include <check.h>

#include "check_run.h"
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Stub of config.c's config_nearest: records what it was asked and answers
 * NEAREST_ANSWER when that is one of the names offered. */
static const char *nearest_answer;
static char nearest_word[64];
static char nearest_names[1024]; /* the names offered, comma-separated */

const char *config_nearest(const char *word, const char *const *names, size_t n)
{
    snprintf(nearest_word, sizeof(nearest_word), "%s", word);
    nearest_names[0] = '\0';
    const char *found = NULL;
    for (size_t i = 0; i < n; i++) {
        size_t len = strlen(nearest_names);
        snprintf(nearest_names + len, sizeof(nearest_names) - len, "%s%s", i ? "," : "", names[i]);
        if (nearest_answer && strcmp(names[i], nearest_answer) == 0)
            found = names[i];
    }
    return found;
}

static const char *const caps[] = {"site", "unit"};

/* hvac/b1/ahu3/temp, filter hvac/{site}/{unit}/temp */
static const mkb_prop_t props[] = {
    {"unit", 4, "degC", 4},
    {"units", 5, "K", 1},
    {"unit", 4, "second", 6}, /* a repeated name: the first one counts */
};
static const size_t cap_start[] = {5, 8};
static const size_t cap_len[] = {2, 4};

static mqtt_msg_t msg(void)
{
    return (mqtt_msg_t){.topic = "hvac/b1/ahu3/temp",
                        .topic_len = 17,
                        .qos = 1,
                        .retained = true,
                        .dup = false,
                        .content_type = "application/jsonXYZ",
                        .content_type_len = 16,
                        .props = props,
                        .nprops = 3,
                        .recv_ms = INT64_C(1795860000123)};
}

/* Compiles TEXT with the captures above (fields allowed) or fails the test. */
static tmpl_t *compile(const char *text)
{
    char why[512] = "";
    tmpl_t *t = tmpl_new(text, caps, 2, true, why, sizeof(why));
    ck_assert_msg(t != NULL, "%s: %s", text, why);
    ck_assert_str_eq(tmpl_text(t), text);
    return t;
}

/* The compile error for TEXT (static buffer); fails the test if it compiles. */
static const char *compile_error(const char *text, bool allow_fields)
{
    static char why[512];
    snprintf(why, sizeof(why), "(no reason given)");
    tmpl_t *t = tmpl_new(text, caps, 2, allow_fields, why, sizeof(why));
    ck_assert_msg(t == NULL, "%s compiled", text);
    return why;
}

/* TEXT rendered against M and the JSON INPUT (may be NULL): the output
 * (static buffer), or "ERR: why". */
static const char *render_with(const char *text, const mqtt_msg_t *m, const char *input)
{
    static char out[8192];
    json_t *in = input ? json_loads(input, JSON_DECODE_ANY, NULL) : NULL;
    ck_assert(!input || in);
    tmpl_t *t = compile(text);
    tmpl_ctx_t ctx = {m, cap_start, cap_len, "hvac-temps", in, NULL};
    buf_t b = {0};
    char why[512] = "";
    int rc = tmpl_render(t, &ctx, &b, why, sizeof(why));
    if (rc == MKB_OK) {
        ck_assert(b.len < sizeof(out));
        if (b.len)
            memcpy(out, b.p, b.len);
        out[b.len] = '\0';
        ck_assert_msg(strlen(out) == b.len, "%s: a NUL in the output", text);
    } else {
        snprintf(out, sizeof(out), "ERR: %s", why);
    }
    buf_free(&b);
    tmpl_destroy(t);
    json_decref(in);
    return out;
}

static const char *render(const char *text, const char *input)
{
    mqtt_msg_t m = msg();
    return render_with(text, &m, input);
}

START_TEST(test_literal)
{
    tmpl_t *t = compile("telemetry.hvac");
    ck_assert(tmpl_is_constant(t));
    tmpl_destroy(t);
    ck_assert_str_eq(render("telemetry.hvac", NULL), "telemetry.hvac");
    t = compile("");
    ck_assert(tmpl_is_constant(t));
    tmpl_destroy(t);
    ck_assert_str_eq(render("", NULL), "");
    t = compile("t.{site}");
    ck_assert(!tmpl_is_constant(t));
    tmpl_destroy(t);
    tmpl_destroy(NULL);
}
END_TEST

START_TEST(test_escapes)
{
    ck_assert_str_eq(render("{{literal}}", NULL), "{literal}");
    ck_assert_str_eq(render("a}}b", NULL), "a}b");
    ck_assert_str_eq(render("{{{site}}}", NULL), "{b1}");
    ck_assert_str_eq(render("{{}}{{", NULL), "{}{");
    ck_assert_str_eq(render("}}}}", NULL), "}}");
    tmpl_t *t = compile("{{site}}");
    ck_assert(tmpl_is_constant(t)); /* an escaped brace is no placeholder */
    tmpl_destroy(t);
    ck_assert_str_eq(render("{{site}}", NULL), "{site}");
}
END_TEST

START_TEST(test_syntax_errors)
{
    ck_assert_str_eq(compile_error("a}b", true),
                     "unmatched '}' at column 2 (write }} for a literal brace)");
    ck_assert_str_eq(compile_error("x.{site}.}", true),
                     "unmatched '}' at column 10 (write }} for a literal brace)");
    ck_assert_str_eq(compile_error("ab{site", true), "unterminated '{' at column 3");
    ck_assert_str_eq(compile_error("{", true), "unterminated '{' at column 1");
    ck_assert_str_eq(compile_error("x{a{b}", true), "bad placeholder at column 2");
    char name[600] = "{";
    memset(name + 1, 'n', 520);
    memcpy(name + 521, "}", 2);
    ck_assert_str_eq(compile_error(name, true), "bad placeholder at column 1");
}
END_TEST

START_TEST(test_captures)
{
    ck_assert_str_eq(render("{site}.{unit}", NULL), "b1.ahu3");
    ck_assert_str_eq(render("{unit}{unit}-{site}", NULL), "ahu3ahu3-b1");
    /* an empty capture (hvac//ahu3/temp: + matches an empty level) */
    mqtt_msg_t m = msg();
    m.topic = "hvac//ahu3/temp";
    m.topic_len = 15;
    const size_t start[] = {5, 6}, len[] = {0, 4};
    tmpl_t *t = compile("[{site}]-{unit}");
    tmpl_ctx_t ctx = {&m, start, len, "r", NULL, NULL};
    buf_t b = {0};
    char why[200];
    ck_assert_int_eq(tmpl_render(t, &ctx, &b, why, sizeof(why)), MKB_OK);
    ck_assert_uint_eq(b.len, 7);
    ck_assert_mem_eq(b.p, "[]-ahu3", 7);
    buf_free(&b);
    tmpl_destroy(t);
}
END_TEST

START_TEST(test_mqtt_metadata)
{
    ck_assert_str_eq(render("{mqtt.topic}", NULL), "hvac/b1/ahu3/temp");
    ck_assert_str_eq(render("q{mqtt.qos} r{mqtt.retain} d{mqtt.dup}", NULL),
                     "q1 rtrue dfalse");
    /* only content_type_len bytes: the pointer is not NUL-terminated */
    ck_assert_str_eq(render("{mqtt.content_type}", NULL), "application/json");
    ck_assert_str_eq(render("{mqtt.prop.unit}", NULL), "degC");
    ck_assert_str_eq(render("{mqtt.prop.units}", NULL), "K");
    ck_assert_str_eq(render("[{mqtt.prop.un}]", NULL), "[]"); /* absent: empty */
    ck_assert_str_eq(render("{route}", NULL), "hvac-temps");
    ck_assert_str_eq(render("{recv.ms}", NULL), "1795860000123");
    ck_assert_str_eq(render("{recv.iso}", NULL), "2026-11-28T10:00:00.123Z");

    mqtt_msg_t m = msg();
    m.topic_len = 12; /* the topic is a prefix of a longer buffer */
    m.qos = 0;
    m.retained = false;
    m.dup = true;
    m.content_type = NULL;
    m.content_type_len = 5;
    m.nprops = 0;
    m.recv_ms = 0;
    ck_assert_str_eq(render_with("{mqtt.topic}|{mqtt.qos}|{mqtt.retain}|{mqtt.dup}|"
                                 "{mqtt.content_type}|{mqtt.prop.unit}|{recv.iso}",
                                 &m, NULL),
                     "hvac/b1/ahu3|0|false|true|||1970-01-01T00:00:00.000Z");
}
END_TEST

START_TEST(test_iso)
{
    buf_t b = {0};
    const struct {
        int64_t ms;
        const char *iso;
    } cases[] = {
        {0, "1970-01-01T00:00:00.000Z"},
        {1, "1970-01-01T00:00:00.001Z"},
        {INT64_C(1795860000999), "2026-11-28T10:00:00.999Z"},
        {INT64_C(1709251199050), "2024-02-29T23:59:59.050Z"},
        {INT64_C(253402300799999), "9999-12-31T23:59:59.999Z"},
        {-1, "1969-12-31T23:59:59.999Z"}, /* floor, not towards zero */
        {-1000, "1969-12-31T23:59:59.000Z"},
        {-1001, "1969-12-31T23:59:58.999Z"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        buf_reset(&b);
        buf_append_str(&b, "ts=");
        ck_assert_int_eq(tmpl_append_iso(&b, cases[i].ms), MKB_OK);
        ck_assert_uint_eq(b.len, 3 + 24);
        buf_terminate(&b);
        ck_assert_str_eq(b.p + 3, cases[i].iso);
        ck_assert_mem_eq(b.p, "ts=", 3);
    }
    /* year 10000 does not fit the four-digit form */
    buf_reset(&b);
    ck_assert_int_eq(tmpl_append_iso(&b, INT64_C(253402300800000)), MKB_ERR_INVAL);
    ck_assert_uint_eq(b.len, 0);
    buf_free(&b);
}
END_TEST

START_TEST(test_fields)
{
    const char *doc = "{\"device\":{\"id\":\"ahu-3\",\"n\":42,\"t\":21.5,\"on\":true,"
                      "\"big\":9007199254740993,\"obj\":{\"a\":[1,\"x\"]},\"q\":\"a\\\"b\","
                      "\"empty\":\"\",\"nul\":null},\"a/b\":\"slash\",\"m~n\":\"tilde\","
                      "\"arr\":[10,20]}";
    ck_assert_str_eq(render("{/device/id}", doc), "ahu-3"); /* strings raw */
    ck_assert_str_eq(render("{/device/n}", doc), "42");
    ck_assert_str_eq(render("{/device/t}", doc), "21.5");
    ck_assert_str_eq(render("{/device/on}", doc), "true");
    /* integers in full, not through a double */
    ck_assert_str_eq(render("{/device/big}", doc), "9007199254740993");
    ck_assert_str_eq(render("{/device/obj}", doc), "{\"a\":[1,\"x\"]}"); /* compact JSON */
    ck_assert_str_eq(render("{/device/q}", doc), "a\"b");                 /* not escaped */
    ck_assert_str_eq(render("[{/device/empty}]", doc), "[]");
    ck_assert_str_eq(render("{/a~1b}.{/m~0n}", doc), "slash.tilde");
    ck_assert_str_eq(render("{/arr/1}", doc), "20");
    ck_assert_str_eq(render("{site}.{/device/id}.{mqtt.qos}", doc), "b1.ahu-3.1");
    ck_assert_str_eq(render("{}", "[1,2]"), "[1,2]"); /* the whole document */
    ck_assert_str_eq(render("{}", "\"s\""), "s");
}
END_TEST

START_TEST(test_fields_missing)
{
    const char *doc = "{\"device\":{\"id\":\"x\",\"nul\":null},\"arr\":[10]}";
    ck_assert_str_eq(render("{/device/name}", doc),
                     "ERR: template '{/device/name}': payload has no value at /device/name");
    /* null counts as missing */
    ck_assert_str_eq(render("k-{/device/nul}", doc),
                     "ERR: template 'k-{/device/nul}': payload has no value at /device/nul");
    ck_assert_str_eq(render("{/arr/1}", doc),
                     "ERR: template '{/arr/1}': payload has no value at /arr/1");
    ck_assert_str_eq(render("{/arr/-1}", doc),
                     "ERR: template '{/arr/-1}': payload has no value at /arr/-1");
    ck_assert_str_eq(render("{/device/id/x}", doc),
                     "ERR: template '{/device/id/x}': payload has no value at /device/id/x");
    /* no payload (raw) */
    ck_assert_str_eq(render("{/device/id}", NULL),
                     "ERR: template '{/device/id}': payload has no value at /device/id");

    ck_assert_str_eq(compile_error("{/device/id}", false),
                     "{/device/id}: payload fields are not available here (raw payload)");
    ck_assert_str_eq(compile_error("{/a~2}", true),
                     "{/a~2}: '/a~2': '~' must be followed by 0 or 1");
}
END_TEST

START_TEST(test_unknown_names)
{
    nearest_answer = "site";
    ck_assert_str_eq(compile_error("x.{sitee}", true),
                     "unknown placeholder {sitee}; did you mean {site}?");
    ck_assert_str_eq(nearest_word, "sitee");
    /* the captures, then every built-in name, are the candidates */
    ck_assert_str_eq(nearest_names, "site,unit,mqtt.topic,mqtt.qos,mqtt.retain,mqtt.dup,"
                                    "mqtt.content_type,route,recv.ms,recv.iso");
    nearest_answer = "mqtt.topic";
    ck_assert_str_eq(compile_error("{mqtt.topik}", true),
                     "unknown placeholder {mqtt.topik}; did you mean {mqtt.topic}?");

    nearest_answer = NULL;
    ck_assert_str_eq(compile_error("{zzz}", true),
                     "unknown placeholder {zzz}; expected a capture of the filter (site, unit), "
                     "mqtt.topic, mqtt.qos, mqtt.retain, mqtt.dup, mqtt.content_type, "
                     "mqtt.prop.NAME, route, recv.ms, recv.iso or a /json/pointer");
    /* mqtt.prop. needs a name */
    ck_assert_ptr_nonnull(
        strstr(compile_error("{mqtt.prop.}", true), "unknown placeholder {mqtt.prop.};"));
    char why[512];
    ck_assert_ptr_null(tmpl_new("{site}", NULL, 0, true, why, sizeof(why)));
    ck_assert_ptr_nonnull(strstr(why, "expected a capture of the filter (none), mqtt.topic"));
    /* names are case-sensitive */
    ck_assert_ptr_null(tmpl_new("{Site}", caps, 2, true, why, sizeof(why)));
    ck_assert_ptr_null(tmpl_new("{ site}", caps, 2, true, why, sizeof(why)));
}
END_TEST

/* Rendering appends: a buffer reused across messages grows once, keeps what
 * it holds, and a second render adds after the first. */
START_TEST(test_buffer_growth)
{
    char lit[4001];
    memset(lit, 'L', 4000);
    lit[4000] = '\0';
    char text[8200];
    snprintf(text, sizeof(text), "%s{site}%s", lit, lit);
    tmpl_t *t = compile(text);
    mqtt_msg_t m = msg();
    tmpl_ctx_t ctx = {&m, cap_start, cap_len, "r", NULL, NULL};
    buf_t b = {0};
    buf_append_str(&b, "prefix:");
    char why[200];
    ck_assert_int_eq(tmpl_render(t, &ctx, &b, why, sizeof(why)), MKB_OK);
    ck_assert_uint_eq(b.len, 7 + 4000 + 2 + 4000);
    ck_assert_mem_eq(b.p, "prefix:LLL", 10);
    ck_assert_mem_eq(b.p + 7 + 3998, "LLb1LL", 6);
    ck_assert_int_eq(b.p[b.len - 1], 'L');
    size_t cap = b.cap;
    buf_reset(&b);
    ck_assert_int_eq(tmpl_render(t, &ctx, &b, why, sizeof(why)), MKB_OK);
    ck_assert_int_eq(tmpl_render(t, &ctx, &b, why, sizeof(why)), MKB_OK);
    ck_assert_uint_eq(b.len, 16004); /* twice 8002 */
    ck_assert_mem_eq(b.p + 8002 + 3998, "LLb1LL", 6);
    ck_assert(b.cap >= b.len && b.cap <= 2 * cap);
    buf_free(&b);
    tmpl_destroy(t);
}
END_TEST

START_TEST(test_literal_limit)
{
    char text[4200];
    memset(text, 'a', 4096);
    text[4096] = '\0';
    tmpl_t *t = compile(text); /* 4096 bytes of literal fit */
    tmpl_destroy(t);
    memcpy(text + 4096, "b", 2);
    ck_assert_str_eq(compile_error(text, true), "template longer than 4096 bytes");
    /* an escaped brace past the limit says so too */
    memcpy(text + 4096, "{{", 3);
    ck_assert_str_eq(compile_error(text, true), "template longer than 4096 bytes");
    /* the limit is per literal run: a placeholder starts a new one */
    memset(text, 'a', 4000);
    memcpy(text + 4000, "{site}", 6);
    memset(text + 4006, 'a', 100);
    text[4106] = '\0';
    const char *out = render(text, NULL);
    ck_assert_uint_eq(strlen(out), 4000 + 2 + 100);
    ck_assert_mem_eq(out + 3998, "aab1aa", 6);
}
END_TEST

/* tmpl_dump_json writes into the room the buffer has and grows it only when
 * that room is too small; either way the text is whole. */
START_TEST(test_dump_json)
{
    json_t *v = json_loads("{\"a\":[1,2.5,\"x\"],\"b\":null}", 0, NULL);
    const char *want = "{\"a\":[1,2.5,\"x\"],\"b\":null}";
    size_t wl = strlen(want);
    buf_t b = {0};
    ck_assert_int_eq(tmpl_dump_json(&b, v), MKB_OK); /* into an empty buffer */
    ck_assert_uint_eq(b.len, wl);
    ck_assert_mem_eq(b.p, want, wl);
    /* exactly the room it needs */
    buf_reset(&b);
    ck_assert_int_eq(buf_reserve(&b, 300), MKB_OK);
    size_t fill = b.cap - wl;
    for (size_t i = 0; i < fill; i++)
        buf_append(&b, "-", 1);
    size_t cap = b.cap;
    ck_assert_int_eq(tmpl_dump_json(&b, v), MKB_OK);
    ck_assert_uint_eq(b.cap, cap);
    ck_assert_uint_eq(b.len, cap);
    ck_assert_mem_eq(b.p + fill, want, wl);
    /* one byte short: it grows, and the text is complete */
    buf_reset(&b);
    for (size_t i = 0; i < fill + 1; i++)
        buf_append(&b, "-", 1);
    ck_assert_int_eq(tmpl_dump_json(&b, v), MKB_OK);
    ck_assert(b.cap > cap);
    ck_assert_uint_eq(b.len, fill + 1 + wl);
    ck_assert_mem_eq(b.p + fill + 1, want, wl);
    ck_assert_int_eq(b.p[fill], '-');

    /* append_json: strings raw, integers as digits, the rest as JSON */
    buf_reset(&b);
    json_t *s = json_string("q\"\n");
    tmpl_append_json(&b, s);
    json_decref(s);
    json_t *r = json_real(0.1 + 0.2); /* 15 significant digits */
    tmpl_append_json(&b, r);
    json_decref(r);
    json_t *i = json_integer(-9223372036854775807LL - 1);
    tmpl_append_json(&b, i);
    json_decref(i);
    tmpl_append_json(&b, json_null());
    buf_terminate(&b);
    ck_assert_str_eq(b.p, "q\"\n0.3-9223372036854775808null");
    buf_free(&b);
    json_decref(v);
}
END_TEST

/* ---- JSON text: jdump against jansson's json_dumpb -------------------- */

/* V's text from jdump and from json_dumpb at DIGITS: the same bytes. */
static void same_dump(json_t *v, int digits)
{
    char ref[4096];
    size_t flags = JSON_COMPACT | JSON_ENCODE_ANY | JSON_REAL_PRECISION(digits);
    size_t n = json_dumpb(v, ref, sizeof(ref), flags);
    ck_assert(n > 0 && n < sizeof(ref));
    buf_t b = {0};
    ck_assert_int_eq(jdump_append(&b, v, digits), MKB_OK);
    ck_assert_msg(b.len == n && memcmp(b.p, ref, n) == 0, "digits %d: jdump '%.*s', jansson '%.*s'",
                  digits, (int)b.len, b.p, (int)n, ref);
    buf_free(&b);
}

/* Reals as readings have them (rounded to 0..7 decimals, scaled, negative,
 * tiny, huge, integral) and random bit patterns, at 15 and 17 digits. */
START_TEST(test_jdump_reals)
{
    static const double fixed[] = {0.0, -0.0, 1.0, -1.0, 22.0, 0.1, 0.3, 21.775, 1e-4, 9.99e-5,
                                   1e-5, 123456789012345.0, 999999999999999.0, 1e15, 1e16,
                                   1e22, 1e-300, 5e-324, 1.7976931348623157e308, 0.1 + 0.2,
                                   12.3, 12.30000000000001, 4503599627370496.5, 1234.5678e10};
    for (size_t i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++) {
        json_t *r = json_real(fixed[i]);
        same_dump(r, 15);
        same_dump(r, 17);
        json_decref(r);
    }
    unsigned long long x = 88172645463325252ULL; /* xorshift64: the same values each run */
    for (int i = 0; i < 200000; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        double d;
        if (i % 4 == 0) {
            memcpy(&d, &x, sizeof(d));
            if (!isfinite(d))
                continue;
        } else {
            static const double p10[] = {1, 10, 100, 1e3, 1e4, 1e5, 1e6, 1e7};
            int dec = (int)(x % 8);
            double scale = (i % 4 == 1) ? 1e3 : (i % 4 == 2) ? 1e9 : 1e-2;
            d = (double)(long long)((x >> 11) % 2000000000) / p10[dec] * scale / 1e3;
            d = round(d * p10[dec]) / p10[dec];
            if (x & 1)
                d = -d;
        }
        json_t *r = json_real(d);
        same_dump(r, 15);
        if (i % 8 == 0)
            same_dump(r, 17);
        json_decref(r);
    }
}
END_TEST

/* Strings with every escape, UTF-8, empty containers, nesting, integers. */
START_TEST(test_jdump_values)
{
    static const char *texts[] = {
        "{\"a\":[1,2.5,\"x\"],\"b\":null,\"c\":true,\"d\":false}",
        "[\"q\\\"b\\\\s/\\b\\f\\n\\r\\t\\u0001\\u001f\\u007f\\u00e9\\u20ac\\ud83d\\ude00\"]",
        "{}", "[]", "[[],{},[{}]]", "{\"k\":\"a\\u0000b\"}", "\"\"",
        "[-9223372036854775808,9223372036854775807,0,-1]",
        "{\"k\\n\":{\"nested\":{\"deeper\":[1,[2,[3]]]}}}",
    };
    for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
        json_error_t e;
        json_t *v = json_loads(texts[i], JSON_DECODE_ANY | JSON_ALLOW_NUL, &e);
        ck_assert_msg(v != NULL, "%s: %s", texts[i], e.text);
        same_dump(v, 15);
        json_decref(v);
    }
    buf_t b = {0};
    ck_assert_int_eq(jdump_append(&b, NULL, 15), MKB_ERR_INVAL);
    ck_assert_int_eq(jdump_append(&b, json_null(), 0), MKB_ERR_INVAL);
    ck_assert_uint_eq(b.len, 0);
    buf_free(&b);
}
END_TEST

/* ---- the downlink's form: a Kafka record ------------------------------ */

static bool rec_header(const void *opaque, const char *name, const void **val, size_t *len)
{
    (void)opaque;
    if (strcmp(name, "origin") != 0)
        return false;
    *val = "ops/x";
    *len = 5;
    return true;
}

static const tmpl_record_t record = {"hvac.commands", 3, INT64_C(9007199254740993), "ahu-1", 5,
                                     rec_header, NULL};

/* Renders TEXT against the record and VALUE (JSON text or NULL); returns
 * the text or NULL (reason in WHY). */
static char out_text[512], why_text[512];
static const char *render_record(const char *text, const char *value, bool topic)
{
    tmpl_t *t = tmpl_new_record(text, why_text, sizeof(why_text));
    ck_assert_msg(t != NULL, "%s: %s", text, why_text);
    json_t *v = value ? json_loads(value, 0, NULL) : NULL;
    buf_t b = {0};
    int rc = tmpl_render_record(t, &record, v, topic, &b, why_text, sizeof(why_text));
    if (rc == MKB_OK)
        snprintf(out_text, sizeof(out_text), "%s", b.p);
    buf_free(&b);
    json_decref(v);
    tmpl_destroy(t);
    return rc == MKB_OK ? out_text : NULL;
}

START_TEST(test_record_placeholders)
{
    ck_assert_str_eq(render_record("c/{key}/{topic}/{partition}/{offset}", NULL, true),
                     "c/ahu-1/hvac.commands/3/9007199254740993");
    ck_assert_str_eq(render_record("{header.origin}", NULL, false), "ops/x");
    ck_assert_str_eq(render_record("s/{/site}/{/a/b}/{/n}/{{x}}",
                                   "{\"site\":\"s1\",\"a\":{\"b\":2},\"n\":21.5}", true),
                     "s/s1/2/21.5/{x}");
    tmpl_t *t = tmpl_new_record("{/a}", why_text, sizeof(why_text));
    ck_assert(tmpl_uses_fields(t));
    tmpl_destroy(t);
    t = tmpl_new_record("{key}", why_text, sizeof(why_text));
    ck_assert(!tmpl_uses_fields(t));
    tmpl_destroy(t);
}
END_TEST

START_TEST(test_record_missing)
{
    ck_assert_ptr_null(render_record("{header.nope}", NULL, false));
    ck_assert_str_eq(why_text, "the record has no header 'nope'");
    ck_assert_ptr_null(render_record("a/{/unit}", "{\"site\":1}", true));
    ck_assert_str_eq(why_text, "template 'a/{/unit}': the record's value has no field at /unit");
    ck_assert_ptr_null(render_record("a/{/unit}", NULL, true)); /* value not JSON */
    tmpl_record_t nokey = record;
    nokey.key = NULL;
    tmpl_t *t = tmpl_new_record("{key}", why_text, sizeof(why_text));
    buf_t b = {0};
    ck_assert_int_eq(tmpl_render_record(t, &nokey, NULL, true, &b, why_text, sizeof(why_text)),
                     MKB_ERR_INVAL);
    ck_assert_str_eq(why_text, "the record has no key for {key}");
    buf_free(&b);
    tmpl_destroy(t);
}
END_TEST

/* In an MQTT topic, a value from the record fills whole levels only. */
START_TEST(test_record_topic_levels)
{
    ck_assert_ptr_null(render_record("c/{header.origin}", NULL, true));
    ck_assert_msg(strstr(why_text, "has a '/'"), "%s", why_text);
    ck_assert_ptr_null(render_record("c/{/u}", "{\"u\":\"a+\"}", true));
    ck_assert_ptr_null(render_record("c/{/u}", "{\"u\":\"#\"}", true));
    tmpl_record_t nul = record; /* a key with a NUL */
    nul.key = "a\0b";
    nul.key_len = 3;
    tmpl_t *t = tmpl_new_record("c/{key}", why_text, sizeof(why_text));
    buf_t b = {0};
    ck_assert_int_eq(tmpl_render_record(t, &nul, NULL, true, &b, why_text, sizeof(why_text)),
                     MKB_ERR_INVAL);
    ck_assert_msg(strstr(why_text, "NUL"), "%s", why_text);
    buf_free(&b);
    tmpl_destroy(t);
    /* not a topic (a user property): anything goes */
    ck_assert_str_eq(render_record("c/{header.origin}", NULL, false), "c/ops/x");
}
END_TEST

START_TEST(test_record_errors)
{
    char why[256];
    ck_assert_ptr_null(tmpl_new_record("x/{value.a.b}", why, sizeof(why)));
    ck_assert_str_eq(why, "{value.a.b} is the old spelling; write {/a/b}");
    ck_assert_ptr_null(tmpl_new_record("{value.x~y/z}", why, sizeof(why)));
    ck_assert_str_eq(why, "{value.x~y/z} is the old spelling; write {/x~0y~1z}");
    nearest_answer = "topic";
    ck_assert_ptr_null(tmpl_new_record("{topc}", why, sizeof(why)));
    ck_assert_str_eq(why, "unknown placeholder {topc}; did you mean {topic}?");
    nearest_answer = NULL;
    ck_assert_ptr_null(tmpl_new_record("{mqtt.topic}", why, sizeof(why)));
    ck_assert_msg(strstr(why, "expected {key}, {header.NAME}"), "%s", why);
    ck_assert_ptr_null(tmpl_new_record("{header.}", why, sizeof(why)));
    ck_assert_ptr_null(tmpl_new_record("a/{key", why, sizeof(why)));
    ck_assert_ptr_null(tmpl_new_record("{a/b}", why, sizeof(why)));
    char p[8];
    ck_assert_int_eq(tmpl_pointer_of_dotted("a.b", p, sizeof(p)), MKB_OK);
    ck_assert_str_eq(p, "/a/b");
}
END_TEST

/* Filters run left to right over a placeholder's value, on every kind of
 * placeholder; literals are untouched. */
START_TEST(test_filters)
{
    const char *doc = "{\"app\":\"Chiller Plant/2\",\"id\":\"AbC\",\"n\":12,\"e\":\"\","
                      "\"u\":\"Gr\xc3\xbc\xc3\x9f\"}";
    ck_assert_str_eq(render("X{/id|lower}Y", doc), "XabcY");
    ck_assert_str_eq(render("{/id|upper}", doc), "ABC");
    ck_assert_str_eq(render("{/app|slug}", doc), "Chiller_Plant_2");
    ck_assert_str_eq(render("{/app|lower|slug}", doc), "chiller_plant_2");
    ck_assert_str_eq(render("{/app|slug|upper}", doc), "CHILLER_PLANT_2");
    ck_assert_str_eq(render("{/n|slug}", doc), "12");
    /* lower/upper are ASCII: UTF-8 bytes stay; slug replaces each of them */
    ck_assert_str_eq(render("{/u|upper}", doc), "GR\xc3\xbc\xc3\x9f");
    ck_assert_str_eq(render("{/u|slug}", doc), "Gr____");
    /* captures and MQTT metadata */
    ck_assert_str_eq(render("{unit|upper}.{site|upper}", NULL), "AHU3.B1");
    ck_assert_str_eq(render("{mqtt.topic|slug}", NULL), "hvac_b1_ahu3_temp");
    ck_assert_str_eq(render("{mqtt.content_type|upper}", NULL), "APPLICATION/JSON");
    ck_assert_str_eq(render("{mqtt.prop.unit|upper}", NULL), "DEGC");
    ck_assert_str_eq(render("{route|upper}", NULL), "HVAC-TEMPS");
    ck_assert_str_eq(render("{recv.ms|default:0}", NULL), "1795860000123");
}
END_TEST

START_TEST(test_filter_default)
{
    const char *doc = "{\"id\":\"AbC\",\"e\":\"\",\"z\":null,\"n\":0}";
    /* a missing field with a default is no error */
    ck_assert_str_eq(render("d.{/device|default:unknown}", doc), "d.unknown");
    ck_assert_str_eq(render("{/z|default:none}", doc), "none");  /* null is missing */
    ck_assert_str_eq(render("{/e|default:empty}", doc), "empty"); /* so is "" */
    ck_assert_str_eq(render("{/n|default:x}", doc), "0");         /* 0 is a value */
    ck_assert_str_eq(render("{/id|default:x}", doc), "AbC");
    ck_assert_str_eq(render("[{/device|default:}]", doc), "[]");
    ck_assert_str_eq(render("{/device|default:Some Thing|slug|lower}", doc), "some_thing");
    ck_assert_str_eq(render("{/device|lower|default:Kept}", doc), "Kept");
    /* an empty first value: the buffer has nothing yet (fuzz_downlink, UBSan) */
    ck_assert_str_eq(render("{/e|lower|slug|upper|default:x}", doc), "x");
    ck_assert_str_eq(render("{/e|lower}", doc), "");
    ck_assert_str_eq(render("{/device|default:a:b.c}", doc), "a:b.c");
    ck_assert_str_eq(render("{/device|default:x}", NULL), "x"); /* no payload at all */
    /* an absent property or content type */
    ck_assert_str_eq(render("{mqtt.prop.nope|default:-}", NULL), "-");
    mqtt_msg_t m = msg();
    m.content_type = NULL;
    ck_assert_str_eq(render_with("{mqtt.content_type|default:text/plain}", &m, NULL),
                     "text/plain");
    /* without a default, missing stays an error */
    ck_assert_str_eq(render("{/device|lower}", doc),
                     "ERR: template '{/device|lower}': payload has no value at /device");
}
END_TEST

START_TEST(test_filter_errors)
{
    nearest_answer = "lower";
    ck_assert_str_eq(compile_error("{site|lowr}", true),
                     "{site|lowr}: unknown filter 'lowr'; did you mean 'lower'? (filters: lower, "
                     "upper, slug, default:TEXT)");
    ck_assert_str_eq(nearest_word, "lowr");
    ck_assert_str_eq(nearest_names, "lower,upper,slug,default");
    nearest_answer = NULL;
    ck_assert_str_eq(compile_error("{/a|trim}", true),
                     "{/a|trim}: unknown filter 'trim' (filters: lower, upper, slug, default:TEXT)");
    ck_assert_str_eq(compile_error("{site|}", true),
                     "{site|}: unknown filter '' (filters: lower, upper, slug, default:TEXT)");
    ck_assert_str_eq(compile_error("{site|lower|}", true),
                     "{site|lower|}: unknown filter '' (filters: lower, upper, slug, default:TEXT)");
    ck_assert_str_eq(compile_error("{site|default}", true),
                     "{site|default}: the filter default needs its text: default:TEXT");
    /* the name is still checked first */
    nearest_answer = "site";
    ck_assert_str_eq(compile_error("{sit|lower}", true),
                     "unknown placeholder {sit}; did you mean {site}?");
    nearest_answer = NULL;
    ck_assert_str_eq(compile_error("{/a|lower}", false),
                     "{/a}: payload fields are not available here (raw payload)");
    /* a filter makes no template constant */
    tmpl_t *t = compile("{site|upper}");
    ck_assert(!tmpl_is_constant(t));
    ck_assert(!tmpl_uses_fields(t));
    tmpl_destroy(t);
}
END_TEST

/* {$/pointer} reads CTX->root (the whole message) while {/pointer} reads
 * the element; without a root both read the input. */
START_TEST(test_root_pointer)
{
    json_t *root = json_loads("{\"gw\":{\"id\":\"GW-7\"},\"rows\":[{\"t\":1}]}", 0, NULL);
    json_t *el = json_array_get(json_object_get(root, "rows"), 0);
    mqtt_msg_t m = msg();
    tmpl_t *t = compile("{$/gw/id|lower}.{/t}.{$/rows/0/t}");
    ck_assert(tmpl_uses_fields(t));
    tmpl_ctx_t ctx = {&m, cap_start, cap_len, "r", el, root};
    buf_t b = {0};
    char why[256] = "";
    ck_assert_int_eq(tmpl_render(t, &ctx, &b, why, sizeof(why)), MKB_OK);
    ck_assert_int_eq(buf_terminate(&b), MKB_OK);
    ck_assert_str_eq(b.p, "gw-7.1.1");
    tmpl_destroy(t);
    /* the element has no gw: {/gw/id} fails, with $ in the reason for $/ */
    t = compile("{$/gw/name}");
    buf_reset(&b);
    ck_assert_int_eq(tmpl_render(t, &ctx, &b, why, sizeof(why)), MKB_ERR_INVAL);
    ck_assert_str_eq(why, "template '{$/gw/name}': payload has no value at $/gw/name");
    tmpl_destroy(t);
    buf_free(&b);
    json_decref(root);
    /* no root: the same as the input */
    ck_assert_str_eq(render("{$/id}={/id}", "{\"id\":\"x\"}"), "x=x");
    ck_assert_str_eq(compile_error("{$x}", true), "unknown placeholder {$x}; expected a capture "
                                                  "of the filter (site, unit), mqtt.topic, "
                                                  "mqtt.qos, mqtt.retain, mqtt.dup, "
                                                  "mqtt.content_type, mqtt.prop.NAME, route, "
                                                  "recv.ms, recv.iso or a /json/pointer");
    ck_assert_str_eq(compile_error("{$/a}", false),
                     "{$/a}: payload fields are not available here (raw payload)");
}
END_TEST

/* The downlink's placeholders take the same filters; a default covers a
 * missing key, header or field, and topic levels are checked after them. */
START_TEST(test_record_filters)
{
    ck_assert_str_eq(render_record("c/{key|upper}/{header.origin|slug}", NULL, true),
                     "c/AHU-1/ops_x");
    ck_assert_str_eq(render_record("{header.nope|default:none}/{/a|default:-}", "{}", true),
                     "none/-");
    ck_assert_str_eq(render_record("{$/site|lower}", "{\"site\":\"S1\"}", true), "s1");
    ck_assert(render_record("c/{header.origin}", NULL, true) == NULL); /* '/' breaks out */
    ck_assert(render_record("c/{/a|default:x/y}", "{}", true) == NULL);
    ck_assert_str_eq(render_record("c/{/a|default:x/y|slug}", "{}", true), "c/x_y");
    char why[256];
    ck_assert(tmpl_new_record("{key|Lower}", why, sizeof(why)) == NULL);
    ck_assert_str_eq(why, "{key|Lower}: unknown filter 'Lower' (filters: lower, upper, slug, "
                          "default:TEXT)");
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("template");
    TCase *tc = tcase_create("template");
    tcase_add_test(tc, test_literal);
    tcase_add_test(tc, test_escapes);
    tcase_add_test(tc, test_syntax_errors);
    tcase_add_test(tc, test_captures);
    tcase_add_test(tc, test_mqtt_metadata);
    tcase_add_test(tc, test_iso);
    tcase_add_test(tc, test_fields);
    tcase_add_test(tc, test_fields_missing);
    tcase_add_test(tc, test_unknown_names);
    tcase_add_test(tc, test_buffer_growth);
    tcase_add_test(tc, test_literal_limit);
    tcase_add_test(tc, test_dump_json);
    tcase_add_test(tc, test_jdump_reals);
    tcase_add_test(tc, test_jdump_values);
    tcase_add_test(tc, test_record_placeholders);
    tcase_add_test(tc, test_record_missing);
    tcase_add_test(tc, test_record_topic_levels);
    tcase_add_test(tc, test_record_errors);
    tcase_add_test(tc, test_filters);
    tcase_add_test(tc, test_filter_default);
    tcase_add_test(tc, test_filter_errors);
    tcase_add_test(tc, test_root_pointer);
    tcase_add_test(tc, test_record_filters);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) { return check_run(suite()); }
