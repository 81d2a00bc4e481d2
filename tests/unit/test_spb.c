// SPDX-FileCopyrightText: 2026 The mqtt-kafka-bridge authors
// SPDX-License-Identifier: Apache-2.0
/* The Sparkplug B module: topics, datatype names, and (below) payloads
 * encoded by real implementations (tests/fixtures/sparkplug, written by
 * pysparkplug and Eclipse Tahu's python) decoded into the JSON of spb.h. */
#include "err.h"
#include "spb.h"

#include <check.h>

#include "check_run.h"
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static bool parse(const char *topic, spb_topic_t *t, char *why)
{
    return spb_topic_parse(topic, strlen(topic), t, why, 256);
}

static void assert_level(const char *p, size_t len, const char *want)
{
    ck_assert_uint_eq(len, strlen(want));
    ck_assert_int_eq(memcmp(p, want, len), 0);
}

START_TEST(test_topic_ok)
{
    spb_topic_t t;
    char why[256];
    ck_assert(parse("spBv1.0/Plant1/DDATA/Edge-1/Motor 2", &t, why));
    ck_assert_int_eq(t.type, SPB_DDATA);
    assert_level(t.group, t.group_len, "Plant1");
    assert_level(t.node, t.node_len, "Edge-1");
    assert_level(t.device, t.device_len, "Motor 2");
    ck_assert(parse("spBv1.0/G/NBIRTH/E", &t, why));
    ck_assert_int_eq(t.type, SPB_NBIRTH);
    ck_assert_uint_eq(t.device_len, 0);
    assert_level(t.node, t.node_len, "E");
    ck_assert(parse("spBv1.0/G/NCMD/E", &t, why));
    ck_assert_int_eq(t.type, SPB_NCMD);
    ck_assert(parse("spBv1.0/G/DCMD/E/D", &t, why));
    ck_assert_int_eq(t.type, SPB_DCMD);
    ck_assert(parse("spBv1.0/STATE/scada-1", &t, why));
    ck_assert_int_eq(t.type, SPB_STATE);
    ck_assert_uint_eq(t.group_len, 0);
    assert_level(t.node, t.node_len, "scada-1");
    /* Only LEN bytes are read: the rest of the buffer is not the topic. */
    const char *s = "spBv1.0/G/NDATA/E/extra";
    ck_assert(spb_topic_parse(s, 17, &t, why, sizeof(why)));
    ck_assert_int_eq(t.type, SPB_NDATA);
}
END_TEST

START_TEST(test_topic_bad)
{
    static const char *const bad[] = {
        "spBv1.0/G/NDATA/E/D",   /* node message with a device */
        "spBv1.0/G/DDATA/E",     /* device message without one */
        "spBv1.0/G/XDATA/E",     /* no such type */
        "spBv1.0/G/ndata/E",     /* case-sensitive */
        "spAv1.0/G/NDATA/E",     /* not Sparkplug B */
        "spBv1.0/G",             /* too short */
        "spBv1.0//NDATA/E",      /* empty group */
        "spBv1.0/G/NDATA/",      /* empty edge node */
        "spBv1.0/G/DDATA/E/",    /* empty device */
        "spBv1.0/+/NDATA/E",     /* a wildcard is a filter, not a topic */
        "spBv1.0/G/DDATA/E/D/x", /* too long */
        "spBv1.0/STATE/h/x",     /* STATE has one level after it */
        "spBv1.0/STATE/",        /* and it is not empty */
        "",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        spb_topic_t t;
        char why[256] = "";
        ck_assert_msg(!parse(bad[i], &t, why), "'%s' parsed", bad[i]);
        ck_assert_msg(why[0] != '\0', "'%s': no reason", bad[i]);
    }
}
END_TEST

START_TEST(test_type_names)
{
    ck_assert_str_eq(spb_type_name(SPB_NBIRTH), "NBIRTH");
    ck_assert_str_eq(spb_type_name(SPB_DDEATH), "DDEATH");
    ck_assert_str_eq(spb_type_name(SPB_STATE), "STATE");
    ck_assert_ptr_null(spb_type_name((spb_type_t)99));
}
END_TEST

START_TEST(test_datatype_names)
{
    ck_assert_str_eq(spb_datatype_name(0), "Unknown");
    ck_assert_str_eq(spb_datatype_name(3), "Int32");
    ck_assert_str_eq(spb_datatype_name(8), "UInt64");
    ck_assert_str_eq(spb_datatype_name(13), "DateTime");
    ck_assert_str_eq(spb_datatype_name(16), "DataSet");
    ck_assert_str_eq(spb_datatype_name(21), "PropertySetList");
    ck_assert_str_eq(spb_datatype_name(22), "Int8Array");
    ck_assert_str_eq(spb_datatype_name(34), "DateTimeArray");
    ck_assert_ptr_null(spb_datatype_name(35));
    ck_assert_ptr_null(spb_datatype_name(UINT32_MAX));
    for (uint32_t dt = 0; dt <= 34; dt++)
        ck_assert_int_eq(spb_datatype_of(spb_datatype_name(dt)), (int)dt);
    ck_assert_int_eq(spb_datatype_of("int32"), -1);
    ck_assert_int_eq(spb_datatype_of("Int"), -1);
    ck_assert_int_eq(spb_datatype_of(""), -1);
    ck_assert_int_eq(spb_datatype_of(NULL), -1);
}
END_TEST

#define FIXTURES MKB_SOURCE_DIR "/tests/fixtures/sparkplug"

/* The bytes of fixture NAME.bin (malloc'd) in *LEN. */
static uint8_t *read_bin(const char *name, size_t *len)
{
    char path[512];
    snprintf(path, sizeof(path), FIXTURES "/%s.bin", name);
    FILE *f = fopen(path, "rb");
    ck_assert_msg(f != NULL, "%s", path);
    uint8_t *b = malloc(1 << 20);
    ck_assert_ptr_nonnull(b);
    *len = fread(b, 1, 1 << 20, f);
    fclose(f);
    return b;
}

static json_t *read_doc(const char *name)
{
    char path[512];
    snprintf(path, sizeof(path), FIXTURES "/%s.json", name);
    json_error_t e;
    json_t *doc = json_load_file(path, 0, &e);
    ck_assert_msg(doc != NULL, "%s: %s", path, e.text);
    return doc;
}

/* A resolver over a birth's decoded metrics (the "expected" of its
 * fixture, or the decoder's own output). */
static int resolve_calls;
static bool resolve_in(void *ctx, const char *name, bool has_alias, uint64_t alias,
                       const char **name_out, uint32_t *datatype_out)
{
    json_t *m;
    size_t i;
    resolve_calls++;
    json_array_foreach((json_t *)ctx, i, m)
    {
        json_t *a = json_object_get(m, "alias");
        const char *n = json_string_value(json_object_get(m, "name"));
        if (has_alias ? (a && (uint64_t)json_integer_value(a) == alias)
                      : (n && name && strcmp(n, name) == 0)) {
            *name_out = n;
            *datatype_out =
                (uint32_t)spb_datatype_of(json_string_value(json_object_get(m, "datatype")));
            return true;
        }
    }
    return false;
}

/* Decodes fixture NAME as its .json says; returns the rc, *OUT the result. */
static int decode_fixture(const char *name, json_t *doc, bool flat, json_t **birth_doc,
                          json_t **out, size_t *unres, char *why)
{
    const char *topic = json_string_value(json_object_get(doc, "topic"));
    spb_topic_t t;
    ck_assert_msg(parse(topic, &t, why), "%s: %s", name, why);
    spb_decode_opts_t o = {.properties = json_is_true(json_object_get(doc, "properties")),
                           .flat = flat};
    const char *birth = json_string_value(json_object_get(doc, "birth"));
    *birth_doc = NULL;
    if (birth) {
        *birth_doc = read_doc(birth);
        o.resolve = resolve_in;
        o.resolve_ctx = json_object_get(json_object_get(*birth_doc, "expected"), "metrics");
    }
    size_t len;
    uint8_t *bin = read_bin(name, &len);
    int rc = spb_decode(&t, bin, len, &o, out, unres, why, 256);
    free(bin);
    return rc;
}

static void check_fixture(const char *name)
{
    json_t *doc = read_doc(name), *birth = NULL, *out = NULL;
    char why[256] = "";
    size_t unres = 99;
    int rc = decode_fixture(name, doc, false, &birth, &out, &unres, why);
    const char *err = json_string_value(json_object_get(doc, "error"));
    if (err) {
        ck_assert_msg(rc == MKB_ERR_INVAL, "%s: decoded, expected error '%s'", name, err);
        ck_assert_ptr_null(out);
        ck_assert_str_eq(why, err);
    } else {
        ck_assert_msg(rc == MKB_OK, "%s: %s", name, why);
        json_t *want = json_object_get(doc, "expected");
        char *got_s = json_dumps(out, JSON_SORT_KEYS), *want_s = json_dumps(want, JSON_SORT_KEYS);
        ck_assert_msg(json_equal(out, want), "%s:\n got  %s\n want %s", name, got_s, want_s);
        free(got_s);
        free(want_s);
        size_t marked = 0, i;
        json_t *m;
        json_array_foreach(json_object_get(out, "metrics"), i, m) marked +=
            json_is_true(json_object_get(m, "unresolved"));
        ck_assert_uint_eq(unres, marked);
    }
    json_decref(out);
    json_decref(birth);
    json_decref(doc);
}

/* Every fixture the generator wrote: decoded, compared with what the
 * library was given (types included: json_equal tells 1 from 1.0). */
START_TEST(test_fixtures)
{
    DIR *d = opendir(FIXTURES);
    ck_assert_ptr_nonnull(d);
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        size_t l = strlen(e->d_name);
        if (l < 6 || strcmp(e->d_name + l - 5, ".json") != 0)
            continue;
        char name[256];
        snprintf(name, sizeof(name), "%.*s", (int)(l - 5), e->d_name);
        check_fixture(name);
        n++;
    }
    closedir(d);
    ck_assert_int_ge(n, 16);
}
END_TEST

/* Integers stay integers, reals reals: the comparison would catch 1.0 for 1. */
START_TEST(test_types_kept)
{
    json_t *doc = read_doc("pysparkplug_nbirth"), *birth = NULL, *out = NULL;
    char why[256];
    size_t unres;
    ck_assert_int_eq(decode_fixture("pysparkplug_nbirth", doc, false, &birth, &out, &unres, why),
                     MKB_OK);
    json_t *m = json_array_get(json_object_get(out, "metrics"), 3); /* int16 */
    ck_assert_str_eq(json_string_value(json_object_get(m, "name")), "int16");
    ck_assert(json_is_integer(json_object_get(m, "value")));
    json_t *r = json_real(-32768.0);
    ck_assert(!json_equal(json_object_get(m, "value"), r));
    json_decref(r);
    json_decref(out);
    json_decref(doc);
}
END_TEST

/* Without a birth, an alias-only NDATA is all unresolved, kept and marked. */
START_TEST(test_unresolved_without_birth)
{
    json_t *doc = read_doc("pysparkplug_ndata_alias"), *out = NULL;
    json_object_del(doc, "birth");
    json_t *birth = NULL;
    char why[256];
    size_t unres = 0;
    ck_assert_int_eq(
        decode_fixture("pysparkplug_ndata_alias", doc, false, &birth, &out, &unres, why), MKB_OK);
    json_t *ms = json_object_get(out, "metrics"), *m;
    ck_assert_uint_eq(unres, json_array_size(ms));
    m = json_array_get(ms, 0); /* int8 -128: pysparkplug sends 128 in int_value */
    ck_assert(json_is_true(json_object_get(m, "unresolved")));
    ck_assert(json_is_null(json_object_get(m, "name")));
    ck_assert_int_eq(json_integer_value(json_object_get(m, "alias")), 1);
    ck_assert_ptr_null(json_object_get(m, "value"));
    ck_assert_ptr_null(json_object_get(m, "datatype"));
    ck_assert_int_eq(json_integer_value(json_object_get(json_object_get(m, "raw"), "int_value")),
                     128);
    json_decref(out);
    json_decref(doc);
}
END_TEST

/* The resolver names the aliases (it was asked once per metric). */
START_TEST(test_resolver_names)
{
    json_t *doc = read_doc("pysparkplug_ddata_alias"), *birth = NULL, *out = NULL;
    char why[256];
    size_t unres = 99;
    resolve_calls = 0;
    ck_assert_int_eq(
        decode_fixture("pysparkplug_ddata_alias", doc, false, &birth, &out, &unres, why), MKB_OK);
    ck_assert_int_eq(resolve_calls, 20);
    ck_assert_uint_eq(unres, 0);
    json_t *m = json_array_get(json_object_get(out, "metrics"), 7);
    ck_assert_str_eq(json_string_value(json_object_get(m, "name")), "Motor/Speed7");
    ck_assert_str_eq(json_string_value(json_object_get(m, "datatype")), "Double");
    json_decref(out);
    json_decref(birth);
    json_decref(doc);
}
END_TEST

/* The flat layout: each metric carries its message's context. */
START_TEST(test_flat)
{
    json_t *doc = read_doc("pysparkplug_ddata_alias"), *birth = NULL, *out = NULL;
    char why[256];
    size_t unres;
    ck_assert_int_eq(
        decode_fixture("pysparkplug_ddata_alias", doc, true, &birth, &out, &unres, why), MKB_OK);
    json_t *m = json_array_get(json_object_get(out, "metrics"), 0);
    ck_assert_str_eq(json_string_value(json_object_get(m, "group")), "Plant1");
    ck_assert_str_eq(json_string_value(json_object_get(m, "edge_node")), "Edge-1");
    ck_assert_str_eq(json_string_value(json_object_get(m, "device")), "Motor-2");
    ck_assert_str_eq(json_string_value(json_object_get(m, "type")), "DDATA");
    ck_assert_int_eq(json_integer_value(json_object_get(m, "seq")), 3);
    ck_assert_str_eq(json_string_value(json_object_get(m, "name")), "Motor/Speed0");
    json_decref(out);
    json_decref(birth);
    json_decref(doc);
    /* A metric without a timestamp takes the payload's (spec_arrays: none have one). */
    doc = read_doc("spec_arrays");
    ck_assert_int_eq(decode_fixture("spec_arrays", doc, true, &birth, &out, &unres, why), MKB_OK);
    m = json_array_get(json_object_get(out, "metrics"), 0);
    ck_assert_int_eq(json_integer_value(json_object_get(m, "timestamp")), 1764943392123);
    ck_assert_ptr_null(json_object_get(m, "device"));
    json_decref(out);
    json_decref(doc);
}
END_TEST

static int decode_bytes(const char *topic, const void *p, size_t len, size_t max, char *why)
{
    spb_topic_t t;
    ck_assert(parse(topic, &t, why));
    spb_decode_opts_t o = {.max_metrics = max};
    json_t *out = NULL;
    size_t unres;
    int rc = spb_decode(&t, p, len, &o, &out, &unres, why, 256);
    ck_assert(rc == MKB_OK ? out != NULL : out == NULL);
    json_decref(out);
    return rc;
}

START_TEST(test_errors)
{
    char why[256];
    /* Metric (field 2) of 5 bytes with 1 present; garbage; a truncated birth. */
    static const uint8_t short_metric[] = {0x12, 0x05, 0x0a};
    static const uint8_t garbage[] = {0xff, 0xff, 0xff, 0xff};
    ck_assert_int_eq(decode_bytes("spBv1.0/G/NDATA/E", short_metric, 3, 0, why), MKB_ERR_INVAL);
    ck_assert_str_eq(why, "not a Sparkplug B payload: protobuf-c could not unpack 3 bytes");
    ck_assert_int_eq(decode_bytes("spBv1.0/G/NDATA/E", garbage, 4, 0, why), MKB_ERR_INVAL);
    size_t len;
    uint8_t *b = read_bin("pysparkplug_nbirth", &len);
    ck_assert_int_eq(decode_bytes("spBv1.0/G/NBIRTH/E", b, len, 0, why), MKB_OK);
    ck_assert_int_eq(decode_bytes("spBv1.0/G/NBIRTH/E", b, len - 3, 0, why), MKB_ERR_INVAL);
    ck_assert_ptr_nonnull(strstr(why, "protobuf-c could not unpack"));
    free(b);
    /* Too many metrics (opts.max_metrics). */
    b = read_bin("pysparkplug_dbirth", &len);
    ck_assert_int_eq(decode_bytes("spBv1.0/G/DBIRTH/E/D", b, len, 20, why), MKB_OK);
    ck_assert_int_eq(decode_bytes("spBv1.0/G/DBIRTH/E/D", b, len, 19, why), MKB_ERR_INVAL);
    ck_assert_str_eq(why, "20 metrics, more than the limit of 19");
    free(b);
    /* Found by fuzz_spb: a template member name that is not UTF-8 was
     * reported as out of memory with no reason (jansson refuses the key). */
    FILE *f = fopen(MKB_SOURCE_DIR "/tests/fuzz/corpus/spb/bad-utf8-key.bin", "rb");
    ck_assert_ptr_nonnull(f);
    b = malloc(1 << 16);
    len = fread(b, 1, 1 << 16, f);
    fclose(f);
    ck_assert_int_eq(decode_bytes("spBv1.0/G/NBIRTH/E", b, len, 0, why), MKB_ERR_INVAL);
    ck_assert_str_eq(why, "metric '_types_/Motor': a name that is not valid UTF-8");
    free(b);
    /* And a template_ref that is not UTF-8, the same. */
    f = fopen(MKB_SOURCE_DIR "/tests/fuzz/corpus/spb/bad-utf8-template-ref.bin", "rb");
    ck_assert_ptr_nonnull(f);
    b = malloc(1 << 16);
    len = fread(b, 1, 1 << 16, f);
    fclose(f);
    ck_assert_int_eq(decode_bytes("spBv1.0/G/NBIRTH/E", b, len, 0, why), MKB_ERR_INVAL);
    ck_assert_str_eq(why, "metric 'Motor0': a string that is not valid UTF-8");
    free(b);
    /* A STATE topic is not a protobuf. */
    ck_assert_int_eq(decode_bytes("spBv1.0/STATE/h", "", 0, 0, why), MKB_ERR_INVAL);
}
END_TEST

static int state(const char *payload, json_t **out)
{
    spb_topic_t t;
    char why[256];
    ck_assert(parse("spBv1.0/STATE/scada-1", &t, why));
    return spb_decode_state(&t, payload, strlen(payload), out, why, sizeof(why));
}

START_TEST(test_state)
{
    json_t *out = NULL, *want;
    ck_assert_int_eq(state("{\"online\": true, \"timestamp\": 1764943392123}", &out), MKB_OK);
    want = json_pack("{s:s, s:s, s:b, s:I}", "host_id", "scada-1", "type", "STATE", "online", 1,
                     "timestamp", (json_int_t)1764943392123);
    ck_assert(json_equal(out, want));
    json_decref(out);
    json_decref(want);
    ck_assert_int_eq(state("OFFLINE", &out), MKB_OK);
    want = json_pack("{s:s, s:s, s:b}", "host_id", "scada-1", "type", "STATE", "online", 0);
    ck_assert(json_equal(out, want));
    json_decref(out);
    json_decref(want);
    ck_assert_int_eq(state("ONLINE", &out), MKB_OK);
    ck_assert(json_is_true(json_object_get(out, "online")));
    json_decref(out);
    ck_assert_int_eq(state("{\"online\": 1}", &out), MKB_ERR_INVAL);
    ck_assert_int_eq(state("{\"online\": false, \"timestamp\": -5}", &out), MKB_ERR_INVAL);
    ck_assert_int_eq(state("online", &out), MKB_ERR_INVAL);
    ck_assert_int_eq(state("", &out), MKB_ERR_INVAL);
    ck_assert_ptr_null(out);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("spb");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_topic_ok);
    tcase_add_test(tc, test_topic_bad);
    tcase_add_test(tc, test_type_names);
    tcase_add_test(tc, test_datatype_names);
    tcase_add_test(tc, test_fixtures);
    tcase_add_test(tc, test_types_kept);
    tcase_add_test(tc, test_unresolved_without_birth);
    tcase_add_test(tc, test_resolver_names);
    tcase_add_test(tc, test_flat);
    tcase_add_test(tc, test_errors);
    tcase_add_test(tc, test_state);
    suite_add_tcase(s, tc);
    return check_run(s);
}
