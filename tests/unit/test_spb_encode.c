// SPDX-FileCopyrightText: 2026 The mqtt-kafka-bridge authors
// SPDX-License-Identifier: Apache-2.0
/* The Sparkplug B command encoder. Every payload it makes is decoded by
 * pysparkplug (tests/sparkplug/decode.py, a real and independent
 * implementation, in .cache/sparkplug) and compared with what was meant:
 * agreeing with our own decoder would prove nothing. */
#include "buf.h"
#include "err.h"
#include "spb_encode.h"

#include <check.h>

#include "check_run.h"
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define TS 1796479392123LL /* 2026-12-05T14:03:12.123Z */

/* The python of the pysparkplug venv (MKB_SPB_PYTHON overrides). */
static const char *python(void)
{
    const char *p = getenv("MKB_SPB_PYTHON");
    return p ? p : MKB_SOURCE_DIR "/.cache/sparkplug/bin/python";
}

/* pysparkplug's reading of payload B as a KIND (NCMD, DCMD) message. */
static json_t *pysparkplug(const buf_t *b, const char *kind)
{
    char path[] = "/tmp/mkb-spb-XXXXXX", cmd[512];
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(write(fd, b->p, b->len), (ssize_t)b->len);
    close(fd);
    snprintf(cmd, sizeof(cmd), "%s " MKB_SOURCE_DIR "/tests/sparkplug/decode.py %s %s", python(),
             path, kind);
    FILE *f = popen(cmd, "r");
    ck_assert_ptr_nonnull(f);
    json_error_t jerr;
    json_t *doc = json_loadf(f, 0, &jerr);
    int st = pclose(f);
    unlink(path);
    ck_assert_msg(doc && st == 0, "pysparkplug did not decode the payload (%s): %s", cmd,
                  jerr.text);
    return doc;
}

/* Encodes the JSON text CMD (resolver RES/CTX) and decodes it with pysparkplug. */
static json_t *roundtrip(const char *cmd, spb_resolve_t res, void *ctx)
{
    json_t *j = json_loads(cmd, 0, NULL);
    ck_assert_ptr_nonnull(j);
    buf_t b = {0};
    char why[256] = "";
    int rc = spb_encode_command(j, TS, res, ctx, &b, why, sizeof(why));
    ck_assert_msg(rc == MKB_OK, "%s: %s", cmd, why);
    json_t *doc = pysparkplug(&b, "DCMD");
    ck_assert_int_eq(json_integer_value(json_object_get(doc, "timestamp")), TS);
    ck_assert_ptr_null(json_object_get(doc, "seq")); /* commands carry none */
    json_decref(j);
    buf_free(&b);
    return doc;
}

/* Metric I of DOC: its name, datatype number and value (as JSON text). */
static void assert_metric(json_t *doc, size_t i, const char *name, int dt, const char *value)
{
    json_t *m = json_array_get(json_object_get(doc, "metrics"), i);
    ck_assert_ptr_nonnull(m);
    if (name)
        ck_assert_str_eq(json_string_value(json_object_get(m, "name")), name);
    ck_assert_int_eq(json_integer_value(json_object_get(m, "datatype")), dt);
    json_t *want = json_loads(value, JSON_DECODE_ANY, NULL);
    ck_assert_ptr_nonnull(want);
    char *got = json_dumps(json_object_get(m, "value"), JSON_ENCODE_ANY);
    ck_assert_msg(json_equal(want, json_object_get(m, "value")), "metric %zu (%s): got %s, want %s",
                  i, name ? name : "-", got, value);
    free(got);
    json_decref(want);
}

START_TEST(test_scalars)
{
    json_t *d = roundtrip(
        "{\"metrics\": ["
        "{\"name\": \"i8lo\", \"datatype\": \"Int8\", \"value\": -128},"
        "{\"name\": \"i8hi\", \"datatype\": \"Int8\", \"value\": 127},"
        "{\"name\": \"i16\", \"datatype\": \"Int16\", \"value\": -32768},"
        "{\"name\": \"i32\", \"datatype\": \"Int32\", \"value\": -2147483648},"
        "{\"name\": \"i64\", \"datatype\": \"Int64\", \"value\": -9223372036854775807},"
        "{\"name\": \"u8\", \"datatype\": \"UInt8\", \"value\": 255},"
        "{\"name\": \"u16\", \"datatype\": \"UInt16\", \"value\": 65535},"
        "{\"name\": \"u32\", \"datatype\": \"UInt32\", \"value\": 4294967295},"
        "{\"name\": \"u64\", \"datatype\": \"UInt64\", \"value\": \"18446744073709551615\"},"
        "{\"name\": \"f\", \"datatype\": \"Float\", \"value\": 0.5},"
        "{\"name\": \"d\", \"datatype\": \"Double\", \"value\": 0.1},"
        "{\"name\": \"b\", \"datatype\": \"Boolean\", \"value\": false},"
        "{\"name\": \"s\", \"datatype\": \"String\", \"value\": \"h\\u00e9llo\"},"
        "{\"name\": \"t\", \"datatype\": \"Text\", \"value\": \"long\"},"
        "{\"name\": \"u\", \"datatype\": \"UUID\", \"value\": \"0b7e1c2a\"},"
        "{\"name\": \"dt\", \"datatype\": \"DateTime\", \"value\": \"2026-12-05T14:03:12.123Z\"},"
        "{\"name\": \"dz\", \"datatype\": \"DateTime\", \"value\": "
        "\"2026-12-05T15:03:12.123+01:00\"},"
        "{\"name\": \"dm\", \"datatype\": \"DateTime\", \"value\": 1000},"
        "{\"name\": \"by\", \"datatype\": \"Bytes\", \"value\": \"AAEC/w==\"},"
        "{\"name\": \"fi\", \"datatype\": \"File\", \"value\": \"aGk=\"},"
        "{\"name\": \"n\", \"datatype\": 3, \"value\": 7}]}",
        NULL, NULL);
    const char *const want[][3] = {
        {"i8lo", "1", "-128"},
        {"i8hi", "1", "127"},
        {"i16", "2", "-32768"},
        {"i32", "3", "-2147483648"},
        {"i64", "4", "-9223372036854775807"},
        {"u8", "5", "255"},
        {"u16", "6", "65535"},
        {"u32", "7", "4294967295"},
        {"u64", "8", "\"18446744073709551615\""},
        {"f", "9", "0.5"},
        {"d", "10", "0.1"},
        {"b", "11", "false"},
        {"s", "12", "\"h\\u00e9llo\""},
        {"t", "14", "\"long\""},
        {"u", "15", "\"0b7e1c2a\""},
        {"dt", "13", "1796479392123"},
        {"dz", "13", "1796479392123"},
        {"dm", "13", "1000"},
        {"by", "17", "\"AAEC/w==\""},
        {"fi", "18", "\"aGk=\""},
        {"n", "3", "7"},
    };
    ck_assert_uint_eq(json_array_size(json_object_get(d, "metrics")), 21);
    for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++)
        assert_metric(d, i, want[i][0], atoi(want[i][1]), want[i][2]);
    json_decref(d);
}
END_TEST

START_TEST(test_float_nan_inf)
{
    json_t *d = roundtrip("{\"metrics\": ["
                          "{\"name\": \"f\", \"datatype\": \"Float\", \"value\": 0.1},"
                          "{\"name\": \"n\", \"datatype\": \"Double\", \"value\": \"NaN\"},"
                          "{\"name\": \"i\", \"datatype\": \"Float\", \"value\": \"-Infinity\"}]}",
                          NULL, NULL);
    json_t *m = json_object_get(json_array_get(json_object_get(d, "metrics"), 0), "value");
    ck_assert(json_real_value(m) == (double)0.1f); /* the float nearest 0.1, as sent */
    assert_metric(d, 1, "n", 10, "\"NaN\"");
    assert_metric(d, 2, "i", 9, "\"-Infinity\"");
    json_decref(d);
}
END_TEST

START_TEST(test_arrays)
{
    json_t *d = roundtrip(
        "{\"metrics\": ["
        "{\"name\": \"a\", \"datatype\": \"Int8Array\", \"value\": [-128, 0, 127]},"
        "{\"name\": \"b\", \"datatype\": \"Int16Array\", \"value\": [-32768, 32767]},"
        "{\"name\": \"c\", \"datatype\": \"Int32Array\", \"value\": [-1, 2147483647]},"
        "{\"name\": \"d\", \"datatype\": \"Int64Array\", \"value\": [-9223372036854775807, 5]},"
        "{\"name\": \"e\", \"datatype\": \"UInt8Array\", \"value\": [0, 255]},"
        "{\"name\": \"f\", \"datatype\": \"UInt16Array\", \"value\": [65535]},"
        "{\"name\": \"g\", \"datatype\": \"UInt32Array\", \"value\": [4294967295, 1]},"
        "{\"name\": \"h\", \"datatype\": \"UInt64Array\", \"value\": [0, "
        "\"18446744073709551615\"]},"
        "{\"name\": \"i\", \"datatype\": \"FloatArray\", \"value\": [0.5, -1.25]},"
        "{\"name\": \"j\", \"datatype\": \"DoubleArray\", \"value\": [0.1, 1e300]},"
        "{\"name\": \"k\", \"datatype\": \"BooleanArray\", "
        "\"value\": [true, false, true, true, false, false, false, false, true]},"
        "{\"name\": \"l\", \"datatype\": \"StringArray\", \"value\": [\"a\", \"\", \"\\u00fc\"]},"
        "{\"name\": \"m\", \"datatype\": \"DateTimeArray\", "
        "\"value\": [0, \"2026-12-05T14:03:12.123Z\"]},"
        "{\"name\": \"n\", \"datatype\": \"Int32Array\", \"value\": []}]}",
        NULL, NULL);
    assert_metric(d, 0, "a", 22, "[-128, 0, 127]");
    assert_metric(d, 1, "b", 23, "[-32768, 32767]");
    assert_metric(d, 2, "c", 24, "[-1, 2147483647]");
    assert_metric(d, 3, "d", 25, "[-9223372036854775807, 5]");
    assert_metric(d, 4, "e", 26, "[0, 255]");
    assert_metric(d, 5, "f", 27, "[65535]");
    assert_metric(d, 6, "g", 28, "[4294967295, 1]");
    assert_metric(d, 7, "h", 29, "[0, \"18446744073709551615\"]");
    assert_metric(d, 8, "i", 30, "[0.5, -1.25]");
    assert_metric(d, 9, "j", 31, "[0.1, 1e300]");
    assert_metric(d, 10, "k", 32, "[true, false, true, true, false, false, false, false, true]");
    assert_metric(d, 11, "l", 33, "[\"a\", \"\", \"\\u00fc\"]");
    assert_metric(d, 12, "m", 34, "[0, 1796479392123]");
    assert_metric(d, 13, "n", 24, "[]");
    json_decref(d);
}
END_TEST

/* Datatypes of the plain form, by the JSON type when no birth names them. */
START_TEST(test_plain_inferred)
{
    json_t *d =
        roundtrip("{\"on\": true, \"count\": -5, \"ratio\": 2.5, \"label\": \"x\"}", NULL, NULL);
    assert_metric(d, 0, "on", 11, "true");
    assert_metric(d, 1, "count", 4, "-5");
    assert_metric(d, 2, "ratio", 10, "2.5");
    assert_metric(d, 3, "label", 12, "\"x\"");
    json_decref(d);
}
END_TEST

/* A birth that says Motor/Speed is an Int16, alias 7 a UInt8 named "Valve". */
static int resolved;
static bool fake_birth(void *ctx, const char *name, bool has_alias, uint64_t alias,
                       const char **name_out, uint32_t *dt)
{
    ck_assert_ptr_eq(ctx, &resolved);
    resolved++;
    if (name && !has_alias && strcmp(name, "Motor/Speed") == 0)
        return *name_out = "Motor/Speed", *dt = 2, true;
    if (!name && has_alias && alias == 7)
        return *name_out = "Valve", *dt = 5, true;
    if (name && strcmp(name, "Bad") == 0)
        return *name_out = "Bad", *dt = 1, true;
    return false;
}

START_TEST(test_resolver)
{
    resolved = 0;
    json_t *d = roundtrip("{\"metrics\": [{\"name\": \"Motor/Speed\", \"value\": -5},"
                          "{\"alias\": 7, \"value\": 200},"
                          "{\"name\": \"Motor/Speed\", \"datatype\": \"Double\", \"value\": 1.5},"
                          "{\"name\": \"Other\", \"value\": 3}]}",
                          fake_birth, &resolved);
    assert_metric(d, 0, "Motor/Speed", 2, "-5");
    json_t *m1 = json_array_get(json_object_get(d, "metrics"), 1);
    ck_assert(json_is_null(json_object_get(m1, "name")));
    ck_assert_int_eq(json_integer_value(json_object_get(m1, "alias")), 7);
    assert_metric(d, 1, NULL, 5, "200");
    assert_metric(d, 2, "Motor/Speed", 10, "1.5"); /* the record's datatype wins */
    assert_metric(d, 3, "Other", 4, "3");          /* the birth does not know it */
    ck_assert_int_eq(resolved, 3);
    json_decref(d);
}
END_TEST

START_TEST(test_null)
{
    json_t *d = roundtrip(
        "{\"metrics\": [{\"name\": \"n\", \"datatype\": \"Int32\", \"value\": null}]}", NULL, NULL);
    json_t *m = json_array_get(json_object_get(d, "metrics"), 0);
    ck_assert(json_is_true(json_object_get(m, "is_null")));
    ck_assert(json_is_null(json_object_get(m, "value")));
    json_decref(d);
    /* Empty bytes and arrays: present, zero length. */
    d = roundtrip("{\"metrics\": [{\"name\": \"e\", \"datatype\": \"Bytes\", \"value\": \"\"},"
                  "{\"name\": \"s\", \"datatype\": \"StringArray\", \"value\": []},"
                  "{\"name\": \"b\", \"datatype\": \"BooleanArray\", \"value\": []}]}",
                  NULL, NULL);
    assert_metric(d, 0, "e", 17, "\"\"");
    assert_metric(d, 1, "s", 33, "[]");
    assert_metric(d, 2, "b", 32, "[]");
    json_decref(d);
}
END_TEST

START_TEST(test_rebirth)
{
    buf_t b = {0};
    buf_append(&b, "xy", 2); /* appended after what is there */
    ck_assert_int_eq(spb_encode_rebirth(TS, &b), MKB_OK);
    ck_assert_int_eq(memcmp(b.p, "xy", 2), 0);
    buf_t p = {0};
    buf_append(&p, b.p + 2, b.len - 2);
    json_t *d = pysparkplug(&p, "NCMD");
    ck_assert_int_eq(json_integer_value(json_object_get(d, "timestamp")), TS);
    ck_assert_ptr_null(json_object_get(d, "seq"));
    ck_assert_uint_eq(json_array_size(json_object_get(d, "metrics")), 1);
    assert_metric(d, 0, "Node Control/Rebirth", 11, "true");
    json_decref(d);
    buf_free(&b);
    buf_free(&p);
}
END_TEST

/* Each bad command: MKB_ERR_INVAL, nothing appended, and the reason. */
START_TEST(test_errors)
{
    static const char *const bad[][2] = {
        {"{\"m\": {\"x\": 1}}",
         "metric 'm': no datatype given nor known from a birth, and a object"},
        {"{\"m\": [1]}", "metric 'm': no datatype given nor known from a birth, and a array"},
        {"{}", "no metrics"},
        {"{\"metrics\": []}", "no metrics"},
        {"[1]", "a Sparkplug B command is a JSON object"},
        {"{\"metrics\": [5]}", "metrics[0] is not an object"},
        {"{\"metrics\": [{\"name\": \"a\"}]}", "metrics[0] is not an object"},
        {"{\"metrics\": [{\"value\": 1}]}", "metric 0 has neither a name nor an alias"},
        {"{\"metrics\": [{\"name\": \"m\", \"alias\": -1, \"value\": 1}]}", "metric 'm': alias"},
#define DT(t, v) "{\"metrics\": [{\"name\": \"m\", \"datatype\": \"" t "\", \"value\": " v "}]}"
        {DT("Int8", "128"), "metric 'm': 128 is out of range for Int8 (-128..127)"},
        {DT("Int8", "-129"), "-129 is out of range for Int8"},
        {DT("Int16", "32768"), "out of range for Int16"},
        {DT("Int32", "2147483648"), "out of range for Int32"},
        {DT("UInt8", "256"), "256 is out of range for UInt8 (0..255)"},
        {DT("UInt8", "-1"), "-1 is out of range for UInt8"},
        {DT("UInt16", "65536"), "out of range for UInt16"},
        {DT("UInt32", "4294967296"), "out of range for UInt32"},
        {DT("UInt64", "-1"), "out of range for UInt64"},
        {DT("UInt64", "\"18446744073709551616\""), "is not a UInt64"},
        {DT("UInt64", "\"12x\""), "is not a UInt64"},
        {DT("Int32", "1.5"), "Int32 takes an integer"},
        {DT("Float", "1e39"), "out of range for Float"},
        {DT("Double", "\"fast\""), "Double takes a number"},
        {DT("Boolean", "1"), "Boolean takes true or false"},
        {DT("String", "5"), "String takes a string"},
        {DT("DateTime", "\"yesterday\""), "DateTime takes epoch ms"},
        {DT("DateTime", "\"2026-12-05T14:03:12\""), "DateTime takes epoch ms"}, /* no zone */
        {DT("DateTime", "-1"), "DateTime takes epoch ms"},
        {DT("Bytes", "\"!!\""), "Bytes takes a base64 string"},
        {DT("Int8Array", "[1, 200]"), "metric 'm': element 1: 200 is out of range for Int8"},
        {DT("Int8Array", "5"), "Int8Array takes a JSON array"},
        {DT("BooleanArray", "[true, 1]"), "element 1: BooleanArray takes true or false"},
        {DT("StringArray", "[\"a\", 1]"), "element 1: StringArray takes strings"},
        {DT("StringArray", "[\"a\\u0000b\"]"), "StringArray takes strings without NUL"},
        {DT("DateTimeArray", "[\"x\"]"), "element 0: DateTime takes epoch ms"},
        {DT("Int33", "1"), "metric 'm': datatype 'Int33' is not a Sparkplug B datatype"},
        {DT("DataSet", "{}"), "metric 'm': a DataSet cannot be sent in a command"},
        {DT("Template", "{}"), "a Template cannot be sent"},
        {"{\"metrics\": [{\"name\": \"m\", \"datatype\": 99, \"value\": 1}]}", "number 1..34"},
        {"{\"metrics\": [{\"name\": \"m\", \"value\": null}]}", "a null value says none"},
        {"{\"Bad\": 300}", "metric 'Bad': 300 is out of range for Int8"}, /* the birth's Int8 */
        {"{\"metrics\": [{\"alias\": 9, \"datatype\": \"Int8\", \"value\": 999}]}",
         "metric with alias 9: 999 is out of range"},
#undef DT
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        json_t *j = json_loads(bad[i][0], JSON_DECODE_ANY | JSON_ALLOW_NUL, NULL);
        ck_assert_msg(j != NULL, "%s", bad[i][0]);
        buf_t b = {0};
        char why[256] = "";
        resolved = 0;
        ck_assert_msg(spb_encode_command(j, TS, fake_birth, &resolved, &b, why, sizeof(why)) ==
                          MKB_ERR_INVAL,
                      "accepted %s", bad[i][0]);
        ck_assert_msg(strstr(why, bad[i][1]) != NULL, "%s: reason '%s', want '%s'", bad[i][0], why,
                      bad[i][1]);
        ck_assert_uint_eq(b.len, 0);
        json_decref(j);
        buf_free(&b);
    }
}
END_TEST

int main(void)
{
    Suite *s = suite_create("spb_encode");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 60); /* each payload goes through a python process */
    tcase_add_test(tc, test_scalars);
    tcase_add_test(tc, test_float_nan_inf);
    tcase_add_test(tc, test_arrays);
    tcase_add_test(tc, test_plain_inferred);
    tcase_add_test(tc, test_resolver);
    tcase_add_test(tc, test_null);
    tcase_add_test(tc, test_rebirth);
    tcase_add_test(tc, test_errors);
    suite_add_tcase(s, tc);
    return check_run(s);
}
