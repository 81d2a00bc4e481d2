// SPDX-FileCopyrightText: 2026 The mqtt-kafka-bridge authors
// SPDX-License-Identifier: Apache-2.0
/* The normalizer's building blocks through normalize.h: payload parsing with
 * its limits, type coercion, the named unit conversions and timestamps. */
#include "err.h"
#include "jparse.h"
#include "normalize.h"

#include <check.h>

#include "check_run.h"
#include <math.h>
#include <stdio.h>
#include <stdint.h>
#include <string.h>

/* 2026-11-28T10:00:00Z in epoch seconds (date -u -d ... +%s). */
#define T0 INT64_C(1795860000)

/* Parses TEXT (of LEN bytes) as KIND; the new value, or NULL with WHY set. */
static json_t *parse(norm_payload_t kind, const char *text, size_t len, char *why)
{
    json_t *v = NULL;
    why[0] = '\0';
    int rc = norm_parse_payload(kind, text, len, 8, &v, why, 200);
    ck_assert_int_eq(rc == MKB_OK, v != NULL);
    if (rc != MKB_OK)
        ck_assert_str_ne(why, "");
    return v;
}

/* The compact JSON text of V (static buffer), then V released. */
static const char *dump(json_t *v)
{
    static char out[256];
    ck_assert_ptr_nonnull(v);
    size_t n = json_dumpb(v, out, sizeof(out) - 1, JSON_COMPACT | JSON_ENCODE_ANY);
    ck_assert(n > 0 && n < sizeof(out));
    out[n] = '\0';
    json_decref(v);
    return out;
}

/* The number payload TEXT as {"value": ...} text, or "ERR". */
static const char *number(const char *text)
{
    char why[200];
    json_t *v = parse(NORM_PAYLOAD_NUMBER, text, strlen(text), why);
    return v ? dump(v) : "ERR";
}

START_TEST(test_payload_json)
{
    char why[200];
    const char *doc = "{\"t\": [1, 2.5, \"x\"]}";
    ck_assert_str_eq(dump(parse(NORM_PAYLOAD_JSON, doc, strlen(doc), why)),
                     "{\"t\":[1,2.5,\"x\"]}");
    /* not NUL-terminated: only LEN bytes count */
    ck_assert_str_eq(dump(parse(NORM_PAYLOAD_JSON, "[7]]]", 3, why)), "[7]");
    ck_assert_ptr_null(parse(NORM_PAYLOAD_JSON, "{\"t\": }", 7, why));
    ck_assert_ptr_nonnull(strstr(why, "invalid JSON at line 1"));
    ck_assert_ptr_null(parse(NORM_PAYLOAD_JSON, "", 0, why));
    /* scalars are JSON too (the mapper decides what it accepts) */
    ck_assert_str_eq(dump(parse(NORM_PAYLOAD_JSON, "42", 2, why)), "42");
}
END_TEST

START_TEST(test_payload_depth)
{
    char why[200];
    json_t *v = NULL;
    ck_assert_int_eq(norm_parse_payload(NORM_PAYLOAD_JSON, "[[1]]", 5, 2, &v, why, sizeof(why)),
                     MKB_OK);
    json_decref(v);
    v = NULL;
    ck_assert_int_eq(norm_parse_payload(NORM_PAYLOAD_JSON, "[[1]]", 5, 1, &v, why, sizeof(why)),
                     MKB_ERR_INVAL);
    ck_assert_ptr_null(v);

    ck_assert(norm_depth_ok("[[1]]", 5, 2));
    ck_assert(!norm_depth_ok("[[1]]", 5, 1));
    ck_assert(!norm_depth_ok("{\"a\":{\"b\":[1]}}", 15, 2));
    ck_assert(norm_depth_ok("{\"a\":{\"b\":1},\"c\":{\"d\":2}}", 25, 2)); /* siblings, not depth */
    /* brackets inside strings do not count, nor after an escaped quote */
    ck_assert(norm_depth_ok("[\"[[[[{{\"]", 10, 1));
    ck_assert(norm_depth_ok("[\"\\\"[[[\"]", 9, 1));
    ck_assert(!norm_depth_ok("[\"\\\\\",[[]]]", 11, 2)); /* "\\" ends the string */
    /* only LEN bytes are scanned */
    ck_assert(norm_depth_ok("[[[[", 1, 1));
}
END_TEST

START_TEST(test_payload_number)
{
    ck_assert_str_eq(number("21.5"), "{\"value\":21.5}");
    ck_assert_str_eq(number("  21.5 \n"), "{\"value\":21.5}");
    ck_assert_str_eq(number("42"), "{\"value\":42}"); /* an integer stays an integer */
    ck_assert_str_eq(number("-7"), "{\"value\":-7}");
    ck_assert_str_eq(number("+7"), "{\"value\":7}");
    ck_assert_str_eq(number("1e3"), "{\"value\":1000.0}");
    ck_assert_str_eq(number(".5"), "{\"value\":0.5}");
    ck_assert_str_eq(number("9223372036854775807"), "{\"value\":9223372036854775807}");
    /* one past the integer range is still a number, as a real */
    ck_assert_str_eq(number("9223372036854775808"), "{\"value\":9.2233720368547758e18}");
    ck_assert_str_eq(number(""), "ERR");
    ck_assert_str_eq(number("   "), "ERR");
    ck_assert_str_eq(number("-"), "ERR");
    ck_assert_str_eq(number("12abc"), "ERR");
    ck_assert_str_eq(number("1 2"), "ERR");
    ck_assert_str_eq(number("0x10"), "ERR");
    ck_assert_str_eq(number("inf"), "ERR");
    ck_assert_str_eq(number("-Infinity"), "ERR");
    ck_assert_str_eq(number("nan"), "ERR");
    ck_assert_str_eq(number("1e400"), "ERR"); /* overflows a double */
    ck_assert_str_eq(number("1,5"), "ERR");
    char why[200];
    ck_assert_ptr_null(parse(NORM_PAYLOAD_NUMBER, "abc", 3, why));
    ck_assert_str_eq(why, "payload is not a number");
}
END_TEST

/* A NUL byte ends the text strtod sees: what follows it must still count. */
START_TEST(test_payload_number_nul)
{
    char why[200];
    ck_assert_ptr_null(parse(NORM_PAYLOAD_NUMBER, "12\0junk", 7, why));
    ck_assert_ptr_null(parse(NORM_PAYLOAD_NUMBER, "1.5\0", 4, why));
    ck_assert_ptr_null(parse(NORM_PAYLOAD_NUMBER, "7\0", 2, why));
    /* the length bounds the text: a number followed by bytes not counted */
    ck_assert_str_eq(dump(parse(NORM_PAYLOAD_NUMBER, "12junk", 2, why)), "{\"value\":12}");
}
END_TEST

START_TEST(test_payload_number_length)
{
    char text[80];
    memset(text, '0', sizeof(text));
    text[0] = '1';
    char why[200];
    /* 63 characters fit the parser's buffer; 64 are refused, not truncated */
    ck_assert_ptr_null(parse(NORM_PAYLOAD_NUMBER, text, 64, why));
    json_t *v = parse(NORM_PAYLOAD_NUMBER, text, 63, why);
    ck_assert_ptr_nonnull(v);
    ck_assert_double_eq_tol(json_number_value(json_object_get(v, "value")), 1e62, 1e48);
    json_decref(v);
}
END_TEST

START_TEST(test_payload_text)
{
    char why[200];
    ck_assert_str_eq(dump(parse(NORM_PAYLOAD_TEXT, "on \"x\"", 6, why)),
                     "{\"value\":\"on \\\"x\\\"\"}");
    ck_assert_str_eq(dump(parse(NORM_PAYLOAD_TEXT, "", 0, why)), "{\"value\":\"\"}");
    ck_assert_str_eq(dump(parse(NORM_PAYLOAD_TEXT, "\xc3\xa9t\xc3\xa9", 5, why)),
                     "{\"value\":\"\xc3\xa9t\xc3\xa9\"}");
    ck_assert_ptr_null(parse(NORM_PAYLOAD_TEXT, "ab\0cd", 5, why));
    ck_assert_str_eq(why, "payload has a NUL byte at offset 2; text is UTF-8 without NUL");
    ck_assert_ptr_null(parse(NORM_PAYLOAD_TEXT, "a\xff", 2, why));
    ck_assert_str_eq(why, "payload is not UTF-8 text: invalid UTF-8 at byte 2");
    ck_assert_ptr_null(parse(NORM_PAYLOAD_TEXT, "\xc3", 1, why)); /* a cut sequence */
    ck_assert_str_eq(why, "payload is not UTF-8 text: invalid UTF-8 at byte 1");
    /* a surrogate, after a two-byte character */
    ck_assert_ptr_null(parse(NORM_PAYLOAD_TEXT, "\xc3\xa9t\xed\xa0\x80", 6, why));
    ck_assert_str_eq(why, "payload is not UTF-8 text: invalid UTF-8 at byte 4");
    ck_assert_ptr_null(parse(NORM_PAYLOAD_RAW, "x", 1, why));
    ck_assert_str_eq(why, "raw payloads are not parsed here");
}
END_TEST

/* Coerces the JSON text IN to TYPE: the result's JSON text, or "ERR: why". */
static const char *coerce(const char *in, norm_type_t type)
{
    static char out[256];
    json_t *v = json_loads(in, JSON_DECODE_ANY, NULL);
    ck_assert_ptr_nonnull(v);
    json_t *r = NULL;
    char why[200] = "";
    int rc = norm_coerce(v, type, &r, why, sizeof(why));
    json_decref(v);
    if (rc != MKB_OK) {
        ck_assert_int_eq(rc, MKB_ERR_INVAL);
        snprintf(out, sizeof(out), "ERR: %s", why);
        return out;
    }
    snprintf(out, sizeof(out), "%s", dump(r));
    return out;
}

START_TEST(test_coerce_any)
{
    ck_assert_str_eq(coerce("{\"a\":[1]}", NORM_TYPE_ANY), "{\"a\":[1]}");
    ck_assert_str_eq(coerce("null", NORM_TYPE_ANY), "null");
    /* the same value, one more reference */
    json_t *v = json_integer(3), *r = NULL;
    ck_assert_int_eq(norm_coerce(v, NORM_TYPE_NUMBER, &r, NULL, 0), MKB_OK);
    ck_assert_ptr_eq(r, v);
    ck_assert_int_eq(v->refcount, 2);
    json_decref(r);
    json_decref(v);
}
END_TEST

START_TEST(test_coerce_number)
{
    ck_assert_str_eq(coerce("21.5", NORM_TYPE_NUMBER), "21.5");
    ck_assert_str_eq(coerce("42", NORM_TYPE_NUMBER), "42"); /* integers stay integers */
    ck_assert_str_eq(coerce("\"21.5\"", NORM_TYPE_NUMBER), "21.5");
    ck_assert_str_eq(coerce("\" -3 \"", NORM_TYPE_NUMBER), "-3.0"); /* a string: a real */
    ck_assert_str_eq(coerce("\"abc\"", NORM_TYPE_NUMBER), "ERR: expected a number, found a string");
    ck_assert_str_eq(coerce("\"\"", NORM_TYPE_NUMBER), "ERR: expected a number, found a string");
    ck_assert_str_eq(coerce("\"0x1A\"", NORM_TYPE_NUMBER),
                     "ERR: expected a number, found a string");
    ck_assert_str_eq(coerce("\"NaN\"", NORM_TYPE_NUMBER), "ERR: expected a number, found a string");
    ck_assert_str_eq(coerce("true", NORM_TYPE_NUMBER), "ERR: expected a number, found a boolean");
    ck_assert_str_eq(coerce("null", NORM_TYPE_NUMBER), "ERR: expected a number, found null");
    ck_assert_str_eq(coerce("[1]", NORM_TYPE_NUMBER), "ERR: expected a number, found an array");
    ck_assert_str_eq(coerce("{}", NORM_TYPE_NUMBER), "ERR: expected a number, found an object");

    double d = 0;
    json_t *s = json_string("1e-3");
    ck_assert(norm_number(s, &d));
    ck_assert_double_eq(d, 0.001);
    json_decref(s);
    s = json_string("1.5x");
    ck_assert(!norm_number(s, &d));
    json_decref(s);
    ck_assert(!norm_number(json_null(), &d));
}
END_TEST

START_TEST(test_coerce_integer)
{
    ck_assert_str_eq(coerce("42", NORM_TYPE_INTEGER), "42");
    /* the nearest integer, halves away from zero */
    ck_assert_str_eq(coerce("2.5", NORM_TYPE_INTEGER), "3");
    ck_assert_str_eq(coerce("-2.5", NORM_TYPE_INTEGER), "-3");
    ck_assert_str_eq(coerce("2.4999", NORM_TYPE_INTEGER), "2");
    ck_assert_str_eq(coerce("-0.4", NORM_TYPE_INTEGER), "0");
    ck_assert_str_eq(coerce("\"7.5\"", NORM_TYPE_INTEGER), "8");
    ck_assert_str_eq(coerce("\"12\"", NORM_TYPE_INTEGER), "12");
    ck_assert_str_eq(coerce("1e18", NORM_TYPE_INTEGER), "1000000000000000000");
    ck_assert_str_eq(coerce("-9.2e18", NORM_TYPE_INTEGER), "-9200000000000000000");
    ck_assert_str_eq(coerce("1e19", NORM_TYPE_INTEGER), "ERR: 1e+19 is out of the integer range");
    ck_assert_str_eq(coerce("-1e300", NORM_TYPE_INTEGER),
                     "ERR: -1e+300 is out of the integer range");
    ck_assert_str_eq(coerce("\"ten\"", NORM_TYPE_INTEGER),
                     "ERR: expected an integer, found a string");
    ck_assert_str_eq(coerce("false", NORM_TYPE_INTEGER),
                     "ERR: expected an integer, found a boolean");
}
END_TEST

START_TEST(test_coerce_string)
{
    ck_assert_str_eq(coerce("\"x\"", NORM_TYPE_STRING), "\"x\"");
    ck_assert_str_eq(coerce("42", NORM_TYPE_STRING), "\"42\"");
    ck_assert_str_eq(coerce("-0.1", NORM_TYPE_STRING), "\"-0.1\"");
    ck_assert_str_eq(coerce("21.5", NORM_TYPE_STRING), "\"21.5\"");
    ck_assert_str_eq(coerce("2.0", NORM_TYPE_STRING), "\"2.0\"");
    /* 15 significant digits: 0.1 + 0.2 is written 0.3 */
    json_t *v = json_real(0.1 + 0.2), *r = NULL;
    ck_assert_int_eq(norm_coerce(v, NORM_TYPE_STRING, &r, NULL, 0), MKB_OK);
    ck_assert_str_eq(json_string_value(r), "0.3");
    json_decref(r);
    json_decref(v);
    ck_assert_str_eq(coerce("true", NORM_TYPE_STRING), "\"true\"");
    ck_assert_str_eq(coerce("false", NORM_TYPE_STRING), "\"false\"");
    ck_assert_str_eq(coerce("null", NORM_TYPE_STRING), "ERR: expected a string, found null");
    ck_assert_str_eq(coerce("{\"a\":1}", NORM_TYPE_STRING),
                     "ERR: expected a string, found an object");
    ck_assert_str_eq(coerce("[]", NORM_TYPE_STRING), "ERR: expected a string, found an array");
}
END_TEST

START_TEST(test_coerce_boolean)
{
    const char *yes[] = {"true",    "1",      "\"true\"", "\"TRUE\"",
                         "\"1\"", "\"on\"", "\"On\"",   "\"yes\""};
    const char *no[] = {"false", "0", "\"false\"", "\"False\"", "\"0\"", "\"off\"", "\"NO\""};
    for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++)
        ck_assert_msg(strcmp(coerce(yes[i], NORM_TYPE_BOOLEAN), "true") == 0, "%s", yes[i]);
    for (size_t i = 0; i < sizeof(no) / sizeof(no[0]); i++)
        ck_assert_msg(strcmp(coerce(no[i], NORM_TYPE_BOOLEAN), "false") == 0, "%s", no[i]);
    const char *bad[] = {"2", "-1", "1.0", "\"\"", "\"y\"", "\"truee\"", "\" true\"", "null", "[]"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        ck_assert_msg(strncmp(coerce(bad[i], NORM_TYPE_BOOLEAN), "ERR: expected a boolean, found ",
                              31) == 0,
                      "%s", bad[i]);
    ck_assert_str_eq(coerce("1.0", NORM_TYPE_BOOLEAN), "ERR: expected a boolean, found a number");
}
END_TEST

/* IN through the named conversion NAME. */
static double conv(const char *name, double in)
{
    double scale = 0, offset = 0;
    ck_assert_msg(norm_conversion(name, &scale, &offset), "%s", name);
    return in * scale + offset;
}

START_TEST(test_conversions)
{
    /* exact where the factors allow it */
    ck_assert_double_eq(conv("fahrenheit_to_celsius", 32), 0.0);
    ck_assert_double_eq(conv("fahrenheit_to_celsius", 212), 100.0);
    ck_assert_double_eq(conv("fahrenheit_to_celsius", -40), -40.0);
    ck_assert_double_eq(conv("celsius_to_fahrenheit", 100), 212.0);
    ck_assert_double_eq(conv("celsius_to_fahrenheit", -40), -40.0);
    ck_assert_double_eq(conv("celsius_to_fahrenheit", 0), 32.0);
    ck_assert_double_eq(conv("celsius_to_kelvin", 0), 273.15);
    ck_assert_double_eq(conv("kelvin_to_celsius", 273.15), 0.0);
    ck_assert_double_eq_tol(conv("kelvin_to_celsius", 300), 26.85, 1e-12);
    ck_assert_double_eq(conv("wh_to_kwh", 1500), 1.5);
    ck_assert_double_eq(conv("kwh_to_wh", 1.5), 1500.0);
    ck_assert_double_eq(conv("pa_to_hpa", 101325), 1013.25);
    ck_assert_double_eq(conv("hpa_to_pa", 1013.25), 101325.0);
    ck_assert_double_eq_tol(conv("psi_to_kpa", 14.7), 101.352932209575, 1e-9);
    ck_assert_double_eq_tol(conv("kpa_to_psi", 101.352932209575), 14.7, 1e-9);
    ck_assert_double_eq_tol(conv("mph_to_kmh", 60), 96.56064, 1e-12);
    ck_assert_double_eq_tol(conv("kmh_to_mph", 100), 62.1371192237334, 1e-9);
    ck_assert_double_eq(conv("ms_to_s", 1500), 1.5);
    ck_assert_double_eq(conv("s_to_ms", 1.5), 1500.0);
    ck_assert_double_eq(conv("percent_to_ratio", 50), 0.5);
    ck_assert_double_eq(conv("ratio_to_percent", 0.5), 50.0);
    /* each pair is a round trip */
    const char *pairs[][2] = {{"fahrenheit_to_celsius", "celsius_to_fahrenheit"},
                              {"kelvin_to_celsius", "celsius_to_kelvin"},
                              {"wh_to_kwh", "kwh_to_wh"}, {"pa_to_hpa", "hpa_to_pa"},
                              {"psi_to_kpa", "kpa_to_psi"}, {"mph_to_kmh", "kmh_to_mph"},
                              {"ms_to_s", "s_to_ms"}, {"percent_to_ratio", "ratio_to_percent"}};
    for (size_t i = 0; i < sizeof(pairs) / sizeof(pairs[0]); i++)
        ck_assert_msg(fabs(conv(pairs[i][1], conv(pairs[i][0], 37.25)) - 37.25) < 1e-12, "%s",
                      pairs[i][0]);

    double scale = 7, offset = 7;
    ck_assert(!norm_conversion("furlongs_to_m", &scale, &offset));
    ck_assert(!norm_conversion("", &scale, &offset));
    ck_assert(!norm_conversion("Celsius_to_fahrenheit", &scale, &offset));
    ck_assert_double_eq(scale, 7); /* untouched */
    ck_assert_double_eq(offset, 7);
}
END_TEST

/* TEXT as a JSON string timestamp in FMT: epoch ms, or -1 with WHY. */
static int64_t ts_str(const char *text, norm_ts_format_t fmt, char *why)
{
    json_t *v = json_string(text);
    int64_t ms = -1;
    why[0] = '\0';
    int rc = norm_parse_time(v, fmt, &ms, why, 200);
    json_decref(v);
    if (rc != MKB_OK) {
        ck_assert_int_eq(rc, MKB_ERR_INVAL);
        ck_assert_str_ne(why, "");
        return -1;
    }
    return ms;
}

static int64_t ts_num(double d, norm_ts_format_t fmt, char *why)
{
    json_t *v = d == floor(d) && fabs(d) < 1e18 ? json_integer((json_int_t)d) : json_real(d);
    int64_t ms = -1;
    why[0] = '\0';
    int rc = norm_parse_time(v, fmt, &ms, why, 200);
    json_decref(v);
    return rc == MKB_OK ? ms : -1;
}

/* timestamp.timezone: zone-less ISO times are local time of the zone;
 * times with Z or an offset keep theirs; epoch numbers are UTC anyway. */
/* Invalid UTF-8 in JSON is named as such, in a string, a key or where a
 * token should be, with the byte (from 1) where the bad sequence starts. */
START_TEST(test_json_invalid_utf8)
{
    char why[200];
    struct {
        const char *text, *want;
    } cases[] = {
        {"{\"a\":\"\xc0\xaf\"}", "invalid JSON at line 1 column 7: invalid UTF-8 at byte 7"},
        {"{\"a\":\"x\xed\xa0\x80\"}", "invalid JSON at line 1 column 8: invalid UTF-8 at byte 8"},
        {"{\"\xff\":1}", "invalid JSON at line 1 column 3: invalid UTF-8 at byte 3"},
        {"{\"a\":\"\\n\xe2\x82\"}", "invalid JSON at line 1 column 9: invalid UTF-8 at byte 9"},
        {"\xff{\"a\":1}", "invalid JSON at line 1 column 1: invalid UTF-8 at byte 1"},
        {"{\"a\":\n\xfe}", "invalid JSON at line 2 column 1: invalid UTF-8 at byte 7"},
        {"{\"a\":1}\x80", "invalid JSON at line 1 column 8: invalid UTF-8 at byte 8"},
        /* valid UTF-8 where a token should be is still a bad token */
        {"\xc3\xa9", "invalid JSON at line 1 column 1: invalid token"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        ck_assert_ptr_null(parse(NORM_PAYLOAD_JSON, cases[i].text, strlen(cases[i].text), why));
        ck_assert_str_eq(why, cases[i].want);
    }
    ck_assert_uint_eq(jparse_utf8_check("ab\xc3\xa9", 4), 4);
    ck_assert_uint_eq(jparse_utf8_check("ab\xc3\xa9\xf4\x90\x80\x80", 8), 4); /* > U+10FFFF */
    ck_assert_uint_eq(jparse_utf8_check("", 0), 0);
}
END_TEST

/* jparse's reals are strtod's to the bit, whether they take its fast path
 * (no exponent, at most 15 digits) or strtod: decimals as sensors write
 * them, at the edge of 15 and 16 digits, with exponents and zeros. */
START_TEST(test_jparse_reals)
{
    static const char *fixed[] = {"0.0",   "-0.0",  "0.1", "21.775", "999999999999999.9",
                                  "99999999999999.9", "0.000000000000001", "1.5e3", "123456789012345.6",
                                  "-71.60", "00.5"};
    char why[256], text[64];
    for (size_t i = 0; i < sizeof(fixed) / sizeof(fixed[0]) + 100000; i++) {
        if (i < sizeof(fixed) / sizeof(fixed[0])) {
            snprintf(text, sizeof(text), "%s", fixed[i]);
        } else {
            long long m = (long long)(((unsigned long long)i * 2654435761ULL) % 10000000000000000ULL);
            int dec = 1 + (int)(i % 9); /* 1..9 decimals of 5..20 digits in all */
            long long p = 1;
            for (int k = 0; k < dec; k++)
                p *= 10;
            snprintf(text, sizeof(text), "%s%lld.%0*lld", i & 1 ? "-" : "", m / (i % 5 ? 100000 : 1), dec,
                     (m * 7) % p);
        }
        json_t *v = jparse(text, strlen(text), 4, why, sizeof(why));
        char *end;
        double want = strtod(text, &end);
        if (*end || (text[0] == '0' && text[1] == '0')) { /* not JSON: refused */
            ck_assert_ptr_null(v);
            continue;
        }
        ck_assert_msg(v && json_is_real(v), "%s: %s", text, v ? "not a real" : why);
        double got = json_real_value(v);
        uint64_t got_bits, want_bits; /* to the bit: -0.0 is not 0.0 */
        memcpy(&got_bits, &got, sizeof(got));
        memcpy(&want_bits, &want, sizeof(want));
        ck_assert_msg(got_bits == want_bits, "%s: %.17g, strtod %.17g", text, got, want);
        json_decref(v);
    }
}
END_TEST

START_TEST(test_time_timezone)
{
    char why[200];
    tz_t *tz = tz_load("Europe/Berlin", why, sizeof(why));
    ck_assert_msg(tz != NULL, "%s", why);
    struct {
        const char *text;
        int64_t ms;
    } cases[] = {
        {"2026-01-15T12:00:00", INT64_C(1768474800000)},       /* CET: 11:00Z */
        {"2026-07-15T12:00:00.250", INT64_C(1784109600250)},   /* CEST: 10:00Z */
        {"2026-03-29T02:30", INT64_C(1774747800000)},          /* gap: 01:30Z */
        {"2026-10-25T02:30:00", INT64_C(1792888200000)},       /* fold: 00:30Z */
        {"2026-07-15T12:00:00Z", INT64_C(1784116800000)},      /* zoned: as written */
        {"2026-07-15T12:00:00+02:00", INT64_C(1784109600000)},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        json_t *v = json_string(cases[i].text);
        int64_t ms = -1;
        ck_assert_int_eq(norm_parse_time_tz(v, NORM_TS_AUTO, tz, &ms, why, sizeof(why)), MKB_OK);
        ck_assert_msg(ms == cases[i].ms, "%s: %lld", cases[i].text, (long long)ms);
        json_decref(v);
    }
    json_t *n = json_integer(1784116800);
    int64_t ms = -1;
    ck_assert_int_eq(norm_parse_time_tz(n, NORM_TS_AUTO, tz, &ms, why, sizeof(why)), MKB_OK);
    ck_assert_int_eq(ms, INT64_C(1784116800000));
    json_decref(n);
    /* without a zone: UTC, as before */
    char w2[200];
    ck_assert_int_eq(ts_str("2026-07-15T12:00:00", NORM_TS_AUTO, w2), INT64_C(1784116800000));
    tz_destroy(tz);
}
END_TEST

START_TEST(test_time_epoch)
{
    char why[200];
    ck_assert_int_eq(ts_num(1795860000, NORM_TS_EPOCH_S, why), T0 * 1000);
    ck_assert_int_eq(ts_num(1795860000, NORM_TS_AUTO, why), T0 * 1000);
    ck_assert_int_eq(ts_num(1795860000123.0, NORM_TS_AUTO, why), T0 * 1000 + 123);
    ck_assert_int_eq(ts_num(1795860000123.0, NORM_TS_EPOCH_MS, why), T0 * 1000 + 123);
    ck_assert_int_eq(ts_num(1795860000.25, NORM_TS_EPOCH_S, why), T0 * 1000 + 250);
    /* sub-millisecond: to the nearest millisecond */
    ck_assert_int_eq(ts_num(1795860000.0006, NORM_TS_EPOCH_S, why), T0 * 1000 + 1);
    ck_assert_int_eq(ts_num(1795860000123.5, NORM_TS_EPOCH_MS, why), T0 * 1000 + 124);
    /* auto: 1e11 and above is milliseconds */
    ck_assert_int_eq(ts_num(99999999999.0, NORM_TS_AUTO, why), INT64_C(99999999999000));
    ck_assert_int_eq(ts_num(1e11, NORM_TS_AUTO, why), INT64_C(100000000000));
    /* a small number in epoch_ms is milliseconds all the same */
    ck_assert_int_eq(ts_num(1000, NORM_TS_EPOCH_MS, why), 1000);
    ck_assert_int_eq(ts_num(0, NORM_TS_AUTO, why), 0);
    /* 1970 .. 9999 */
    ck_assert_int_eq(ts_num(253402300799.0, NORM_TS_EPOCH_S, why), INT64_C(253402300799000));
    ck_assert_int_eq(ts_num(253402300800.0, NORM_TS_EPOCH_S, why), -1);
    ck_assert_str_eq(why, "timestamp 2.53402e+11 is out of range");
    ck_assert_int_eq(ts_num(-1, NORM_TS_AUTO, why), -1);
    ck_assert_str_eq(why, "timestamp -1 is out of range");
    ck_assert_int_eq(ts_num(1e300, NORM_TS_EPOCH_MS, why), -1);
    /* numeric strings: epoch numbers, except in iso8601 */
    ck_assert_int_eq(ts_str("1795860000", NORM_TS_AUTO, why), T0 * 1000);
    ck_assert_int_eq(ts_str(" 1795860000123 ", NORM_TS_EPOCH_MS, why), T0 * 1000 + 123);
    ck_assert_int_eq(ts_str("1795860000", NORM_TS_ISO8601, why), -1);
    ck_assert_str_eq(why, "timestamp '1795860000' is not ISO 8601");
    ck_assert_int_eq(ts_str("2026-11-28T10:00:00Z", NORM_TS_EPOCH_S, why), -1);
    ck_assert_str_eq(why, "timestamp '2026-11-28T10:00:00Z' is not an epoch number");
    ck_assert_int_eq(ts_str("soon", NORM_TS_AUTO, why), -1);
    ck_assert_str_eq(why, "timestamp 'soon' is not epoch or ISO 8601");
}
END_TEST

START_TEST(test_time_iso)
{
    char why[200];
    const int64_t t0 = T0 * 1000;
    ck_assert_int_eq(ts_str("2026-11-28T10:00:00Z", NORM_TS_ISO8601, why), t0);
    ck_assert_int_eq(ts_str("2026-11-28T10:00:00Z", NORM_TS_AUTO, why), t0);
    ck_assert_int_eq(ts_str("2026-11-28t10:00:00z", NORM_TS_AUTO, why), t0);
    ck_assert_int_eq(ts_str("2026-11-28 10:00:00Z", NORM_TS_AUTO, why), t0);
    /* no zone is UTC; seconds are optional */
    ck_assert_int_eq(ts_str("2026-11-28T10:00:00", NORM_TS_AUTO, why), t0);
    ck_assert_int_eq(ts_str("2026-11-28T10:00", NORM_TS_AUTO, why), t0);
    ck_assert_int_eq(ts_str("2026-11-28T10:00Z", NORM_TS_AUTO, why), t0);
    /* fractions: to milliseconds, further digits cut */
    ck_assert_int_eq(ts_str("2026-11-28T10:00:00.123Z", NORM_TS_AUTO, why), t0 + 123);
    ck_assert_int_eq(ts_str("2026-11-28T10:00:00.1Z", NORM_TS_AUTO, why), t0 + 100);
    ck_assert_int_eq(ts_str("2026-11-28T10:00:00,25Z", NORM_TS_AUTO, why), t0 + 250);
    ck_assert_int_eq(ts_str("2026-11-28T10:00:00.123999Z", NORM_TS_AUTO, why), t0 + 123);
    ck_assert_int_eq(ts_str("2026-11-28T10:00:00.Z", NORM_TS_AUTO, why), -1);
    /* zones: the same instant */
    ck_assert_int_eq(ts_str("2026-11-28T11:00:00+01:00", NORM_TS_AUTO, why), t0);
    ck_assert_int_eq(ts_str("2026-11-28T11:00:00+0100", NORM_TS_AUTO, why), t0);
    ck_assert_int_eq(ts_str("2026-11-28T11:00:00+01", NORM_TS_AUTO, why), t0);
    ck_assert_int_eq(ts_str("2026-11-28T04:30:00-05:30", NORM_TS_AUTO, why), t0);
    ck_assert_int_eq(ts_str("2026-11-29T09:45:00.5+23:45", NORM_TS_AUTO, why), t0 + 500);
    ck_assert_int_eq(ts_str("2026-11-28T10:00:00+24:00", NORM_TS_AUTO, why), -1);
    ck_assert_int_eq(ts_str("2026-11-28T10:00:00+01:60", NORM_TS_AUTO, why), -1);
    ck_assert_int_eq(ts_str("2026-11-28T10:00:00+1", NORM_TS_AUTO, why), -1);
    ck_assert_int_eq(ts_str("2026-11-28T10:00:00 UTC", NORM_TS_AUTO, why), -1);
    ck_assert_int_eq(ts_str("2026-11-28T10:00:00Zjunk", NORM_TS_AUTO, why), -1);
    /* dates that do not exist */
    ck_assert_int_eq(ts_str("2024-02-29T00:00:00Z", NORM_TS_AUTO, why), INT64_C(1709164800000));
    ck_assert_int_eq(ts_str("2025-02-29T00:00:00Z", NORM_TS_AUTO, why), -1);
    ck_assert_int_eq(ts_str("2026-04-31T00:00:00Z", NORM_TS_AUTO, why), -1);
    ck_assert_int_eq(ts_str("2026-13-01T00:00:00Z", NORM_TS_AUTO, why), -1);
    ck_assert_int_eq(ts_str("2026-00-01T00:00:00Z", NORM_TS_AUTO, why), -1);
    ck_assert_int_eq(ts_str("2026-11-28T24:00:00Z", NORM_TS_AUTO, why), -1);
    ck_assert_int_eq(ts_str("2026-11-28T10:60:00Z", NORM_TS_AUTO, why), -1);
    ck_assert_int_eq(ts_str("2026-11-28T10:00:61Z", NORM_TS_AUTO, why), -1);
    ck_assert_int_eq(ts_str("1969-12-31T23:59:59Z", NORM_TS_AUTO, why), -1);
    /* other shapes */
    ck_assert_int_eq(ts_str("2026-11-28", NORM_TS_AUTO, why), -1);
    ck_assert_int_eq(ts_str("2026/11/28T10:00:00Z", NORM_TS_AUTO, why), -1);
    ck_assert_int_eq(ts_str("2026-11-28T10-00-00Z", NORM_TS_AUTO, why), -1);
    ck_assert_int_eq(ts_str("26-11-28T10:00:00Z", NORM_TS_AUTO, why), -1);
    ck_assert_int_eq(ts_str("2026-11-28T10:00:0", NORM_TS_AUTO, why), -1);
    ck_assert_int_eq(ts_str("", NORM_TS_AUTO, why), -1);
}
END_TEST

/* A leap second is written 23:59:60 (only ever at the end of a day): it is
 * the next day's first second, as POSIX time counts it. */
START_TEST(test_time_leap_second)
{
    char why[200];
    ck_assert_int_eq(ts_str("2016-12-31T23:59:60Z", NORM_TS_AUTO, why), INT64_C(1483228800000));
    ck_assert_int_eq(ts_str("2016-12-31T23:59:60.5Z", NORM_TS_AUTO, why),
                     INT64_C(1483228800500));
    ck_assert_int_eq(ts_str("2016-12-31T18:59:60-05:00", NORM_TS_AUTO, why),
                     INT64_C(1483228800000));
}
END_TEST

/* The range an epoch number must be in holds for ISO 8601 text too: a zone
 * must not carry a 1970 date before the epoch (a negative Kafka timestamp)
 * nor a 9999 one past the canonical four-digit year. */
START_TEST(test_time_iso_range)
{
    char why[200];
    ck_assert_int_eq(ts_str("1970-01-01T01:00:00+01:00", NORM_TS_AUTO, why), 0);
    ck_assert_int_eq(ts_str("1970-01-01T00:30:00+01:00", NORM_TS_AUTO, why), -1);
    ck_assert_str_eq(why, "timestamp '1970-01-01T00:30:00+01:00' is out of range");
    ck_assert_int_eq(ts_str("9999-12-31T23:59:59Z", NORM_TS_AUTO, why), INT64_C(253402300799000));
    ck_assert_int_eq(ts_str("9999-12-31T23:00:00-02:00", NORM_TS_AUTO, why), -1);
}
END_TEST

START_TEST(test_time_types)
{
    char why[200];
    int64_t ms = 7;
    ck_assert_int_eq(norm_parse_time(json_true(), NORM_TS_AUTO, &ms, why, sizeof(why)),
                     MKB_ERR_INVAL);
    ck_assert_str_eq(why, "timestamp is a boolean, not a number or a string");
    ck_assert_int_eq(norm_parse_time(json_null(), NORM_TS_EPOCH_S, &ms, why, sizeof(why)),
                     MKB_ERR_INVAL);
    ck_assert_str_eq(why, "timestamp is null, not a number or a string");
    ck_assert_int_eq(ms, 7); /* untouched on failure */
    /* iso8601 wants text: the reason must not contradict itself */
    json_t *n = json_integer(1795860000);
    ck_assert_int_eq(norm_parse_time(n, NORM_TS_ISO8601, &ms, why, sizeof(why)), MKB_ERR_INVAL);
    json_decref(n);
    ck_assert_str_eq(why, "timestamp is a number, not an ISO 8601 string");
}
END_TEST

START_TEST(test_names)
{
    /* The one list of conversions (config.c checks fields.convert against
     * it): every name unique and found by norm_conversion. */
    size_t n = 0;
    for (; norm_conversions[n].name; n++) {
        double scale, offset;
        ck_assert(norm_conversion(norm_conversions[n].name, &scale, &offset));
        ck_assert(scale == norm_conversions[n].scale && offset == norm_conversions[n].offset);
        for (size_t j = 0; j < n; j++)
            ck_assert_str_ne(norm_conversions[j].name, norm_conversions[n].name);
    }
    ck_assert_uint_eq(n, 16);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("normalize");
    TCase *tc = tcase_create("normalize");
    tcase_add_test(tc, test_payload_json);
    tcase_add_test(tc, test_payload_depth);
    tcase_add_test(tc, test_payload_number);
    tcase_add_test(tc, test_payload_number_nul);
    tcase_add_test(tc, test_payload_number_length);
    tcase_add_test(tc, test_payload_text);
    tcase_add_test(tc, test_coerce_any);
    tcase_add_test(tc, test_coerce_number);
    tcase_add_test(tc, test_coerce_integer);
    tcase_add_test(tc, test_coerce_string);
    tcase_add_test(tc, test_coerce_boolean);
    tcase_add_test(tc, test_conversions);
    tcase_add_test(tc, test_time_epoch);
    tcase_add_test(tc, test_time_timezone);
    tcase_add_test(tc, test_json_invalid_utf8);
    tcase_add_test(tc, test_time_iso);
    tcase_add_test(tc, test_time_leap_second);
    tcase_add_test(tc, test_time_iso_range);
    tcase_add_test(tc, test_time_types);
    tcase_add_test(tc, test_names);
    tcase_add_test(tc, test_jparse_reals);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) { return check_run(suite()); }
