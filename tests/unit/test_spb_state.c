// SPDX-FileCopyrightText: 2026 The mqtt-kafka-bridge authors
// SPDX-License-Identifier: Apache-2.0
/* The Sparkplug B birth state: alias and name tables of node and device
 * births, the sequence check, deaths by bdSeq, the rebirth rate limit, the
 * births file (round trip, damage, unwritable) and two threads at once. */
#include "err.h"
#include "spb_state.h"

#include <check.h>

#include "check_run.h"
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char dir[] = "/tmp/mkb-spbstate-XXXXXX";
static char path[300];

static void setup(void)
{
    ck_assert_ptr_nonnull(mkdtemp(dir));
    snprintf(path, sizeof(path), "%s/sparkplug-births", dir);
}

static void teardown(void)
{
    char tmp[320];
    snprintf(tmp, sizeof(tmp), "%s.tmp", path);
    unlink(tmp);
    unlink(path);
    rmdir(dir);
    strcpy(dir, "/tmp/mkb-spbstate-XXXXXX");
}

static spb_topic_t topic(const char *s)
{
    spb_topic_t t;
    char why[256];
    ck_assert_msg(spb_topic_parse(s, strlen(s), &t, why, sizeof(why)), "%s: %s", s, why);
    return t;
}

static spb_state_t *open_state(const char *p, char *why)
{
    spb_state_t *s = NULL;
    ck_assert_int_eq(spb_state_new(p, &s, why, 512), MKB_OK);
    ck_assert_ptr_nonnull(s);
    return s;
}

/* Records the birth JSON TEXT (spb_decode's layout) on TOPIC. */
static int birth(spb_state_t *s, const char *tp, const char *text, char *why)
{
    json_error_t err;
    json_t *doc = json_loads(text, 0, &err);
    ck_assert_msg(doc != NULL, "%s", err.text);
    spb_topic_t t = topic(tp);
    int rc = spb_state_birth(s, &t, doc, why, 512);
    json_decref(doc);
    return rc;
}

static const char NBIRTH[] =
    "{\"seq\": 0, \"metrics\": ["
    "{\"name\": \"bdSeq\", \"datatype\": \"Int64\", \"value\": 7},"
    "{\"name\": \"Node Control/Rebirth\", \"alias\": 0, \"datatype\": \"Boolean\", \"value\": "
    "false},"
    "{\"name\": \"Motor/Speed\", \"alias\": 3, \"datatype\": \"Double\", \"value\": 1.5},"
    "{\"name\": \"Motor/Count\", \"alias\": 4, \"datatype\": \"UInt32\", \"value\": 2}]}";
static const char DBIRTH[] =
    "{\"seq\": 1, \"metrics\": ["
    "{\"name\": \"Temp\", \"alias\": 3, \"datatype\": \"Float\", \"value\": 20.5},"
    "{\"name\": \"Label\", \"datatype\": \"String\", \"value\": \"x\"}]}";

/* Resolves in the scope of topic TP: by alias when ALIAS >= 0, else by NAME. */
static bool resolve(spb_state_t *s, const char *tp, const char *name, long long alias,
                    const char **name_out, uint32_t *dt)
{
    spb_topic_t t = topic(tp);
    spb_scope_t scope = {.state = s, .topic = &t};
    return spb_state_resolve(&scope, alias >= 0 ? NULL : name, alias >= 0,
                             alias >= 0 ? (uint64_t)alias : 0, name_out, dt);
}

static void assert_resolves(spb_state_t *s, const char *tp, long long alias, const char *want,
                            const char *dtname)
{
    const char *name = NULL;
    uint32_t dt = 999;
    ck_assert_msg(resolve(s, tp, want, alias, &name, &dt), "%s alias %lld", tp, alias);
    ck_assert_str_eq(name, want);
    ck_assert_str_eq(spb_datatype_name(dt), dtname);
}

static void assert_births(spb_state_t *s)
{
    assert_resolves(s, "spBv1.0/G/NDATA/E", 3, "Motor/Speed", "Double");
    assert_resolves(s, "spBv1.0/G/NDATA/E", 4, "Motor/Count", "UInt32");
    assert_resolves(s, "spBv1.0/G/NDATA/E", -1, "Motor/Speed", "Double");
    assert_resolves(s, "spBv1.0/G/NDATA/E", -1, "bdSeq", "Int64");
    /* The device's alias 3 is its own, not the node's. */
    assert_resolves(s, "spBv1.0/G/DDATA/E/D1", 3, "Temp", "Float");
    assert_resolves(s, "spBv1.0/G/DDATA/E/D1", -1, "Label", "String");
    assert_resolves(s, "spBv1.0/G/DCMD/E/D1", -1, "Temp", "Float");
    ck_assert(!resolve(s, "spBv1.0/G/DDATA/E/D1", "Motor/Speed", -1, NULL, NULL));
    ck_assert(!resolve(s, "spBv1.0/G/NDATA/E", "Temp", -1, NULL, NULL));
    ck_assert(!resolve(s, "spBv1.0/G/NDATA/E", NULL, 99, NULL, NULL));
    ck_assert(!resolve(s, "spBv1.0/G/DDATA/E/D2", NULL, 3, NULL, NULL));
    ck_assert(!resolve(s, "spBv1.0/G/NDATA/Other", NULL, 3, NULL, NULL));
    ck_assert(!resolve(s, "spBv1.0/H/NDATA/E", NULL, 3, NULL, NULL));
}

START_TEST(test_births_and_lookups)
{
    char why[512];
    spb_state_t *s = open_state(NULL, why);
    ck_assert(!resolve(s, "spBv1.0/G/NDATA/E", NULL, 3, NULL, NULL)); /* no birth */
    ck_assert_int_eq(birth(s, "spBv1.0/G/NBIRTH/E", NBIRTH, why), MKB_OK);
    ck_assert_int_eq(birth(s, "spBv1.0/G/DBIRTH/E/D1", DBIRTH, why), MKB_OK);
    assert_births(s);
    /* A later DBIRTH replaces the device's table whole. */
    ck_assert_int_eq(birth(s, "spBv1.0/G/DBIRTH/E/D1",
                           "{\"metrics\": [{\"name\": \"Temp2\", \"alias\": 9, \"datatype\": "
                           "\"Int8\"}]}",
                           why),
                     MKB_OK);
    assert_resolves(s, "spBv1.0/G/DDATA/E/D1", 9, "Temp2", "Int8");
    ck_assert(!resolve(s, "spBv1.0/G/DDATA/E/D1", NULL, 3, NULL, NULL));
    ck_assert(!resolve(s, "spBv1.0/G/DDATA/E/D1", "Label", -1, NULL, NULL));
    /* Not a birth. */
    ck_assert_int_eq(birth(s, "spBv1.0/G/NDATA/E", NBIRTH, why), MKB_ERR_INVAL);
    spb_state_destroy(s);
}
END_TEST

/* Past the bounds: births not recorded (said why), seq not tracked, no
 * rebirth asked; what was kept stays. */
START_TEST(test_limits)
{
    char why[512];
    spb_state_t *s = open_state(NULL, why);
    spb_state_limit(s, 2, 1);
    ck_assert_int_eq(birth(s, "spBv1.0/G/NBIRTH/E", NBIRTH, why), MKB_OK);
    ck_assert_int_eq(birth(s, "spBv1.0/G/NBIRTH/F", NBIRTH, why), MKB_OK);
    ck_assert_int_eq(birth(s, "spBv1.0/G/NBIRTH/X", NBIRTH, why), MKB_ERR_INVAL);
    ck_assert_msg(strstr(why, "more than 2 edge nodes") && strstr(why, "G/X is not recorded"),
                  "%s", why);
    spb_topic_t x = topic("spBv1.0/G/NDATA/X");
    uint64_t expected = 0;
    ck_assert_int_eq(spb_state_seq(s, &x, 5, &expected), SPB_SEQ_UNKNOWN);
    ck_assert_int_eq(spb_state_seq(s, &x, 9, &expected), SPB_SEQ_UNKNOWN);
    ck_assert(!spb_state_want_rebirth(s, &x, 1000));
    ck_assert_int_eq(birth(s, "spBv1.0/G/DBIRTH/E/D1", DBIRTH, why), MKB_OK);
    ck_assert_int_eq(birth(s, "spBv1.0/G/DBIRTH/E/D2", DBIRTH, why), MKB_ERR_INVAL);
    ck_assert_msg(strstr(why, "more than 1 edge nodes, or devices"), "%s", why);
    assert_resolves(s, "spBv1.0/G/NDATA/F", 3, "Motor/Speed", "Double");
    assert_resolves(s, "spBv1.0/G/DDATA/E/D1", 3, "Temp", "Float");
    ck_assert(!resolve(s, "spBv1.0/G/DDATA/E/D2", NULL, 3, NULL, NULL));
    spb_state_destroy(s);
}
END_TEST

START_TEST(test_nbirth_forgets_devices)
{
    char why[512];
    spb_state_t *s = open_state(NULL, why);
    /* A DBIRTH before any NBIRTH is still recorded. */
    ck_assert_int_eq(birth(s, "spBv1.0/G/DBIRTH/E/D1", DBIRTH, why), MKB_OK);
    assert_resolves(s, "spBv1.0/G/DDATA/E/D1", 3, "Temp", "Float");
    ck_assert_int_eq(birth(s, "spBv1.0/G/NBIRTH/E", NBIRTH, why), MKB_OK);
    ck_assert(!resolve(s, "spBv1.0/G/DDATA/E/D1", NULL, 3, NULL, NULL));
    assert_resolves(s, "spBv1.0/G/NDATA/E", 3, "Motor/Speed", "Double");
    /* A new NBIRTH replaces the node's table. */
    ck_assert_int_eq(birth(s, "spBv1.0/G/NBIRTH/E",
                           "{\"seq\": 0, \"metrics\": [{\"name\": \"A\", \"alias\": 3, "
                           "\"datatype\": \"Int16\"}]}",
                           why),
                     MKB_OK);
    assert_resolves(s, "spBv1.0/G/NDATA/E", 3, "A", "Int16");
    ck_assert(!resolve(s, "spBv1.0/G/NDATA/E", "Motor/Speed", -1, NULL, NULL));
    spb_state_destroy(s);
}
END_TEST

static spb_seq_t seq(spb_state_t *s, const char *tp, uint64_t n, uint64_t *expected)
{
    spb_topic_t t = topic(tp);
    return spb_state_seq(s, &t, n, expected);
}

START_TEST(test_seq)
{
    char why[512];
    uint64_t exp = 0;
    spb_state_t *s = open_state(NULL, why);
    ck_assert_int_eq(seq(s, "spBv1.0/G/NDATA/E", 40, &exp), SPB_SEQ_UNKNOWN);
    ck_assert_int_eq(seq(s, "spBv1.0/G/NDATA/E", 41, &exp), SPB_SEQ_OK);
    ck_assert_int_eq(birth(s, "spBv1.0/G/NBIRTH/E", "{\"seq\": 253, \"metrics\": []}", why),
                     MKB_OK);
    ck_assert_int_eq(seq(s, "spBv1.0/G/DBIRTH/E/D", 254, &exp), SPB_SEQ_OK);
    ck_assert_int_eq(seq(s, "spBv1.0/G/NDATA/E", 255, &exp), SPB_SEQ_OK);
    ck_assert_int_eq(seq(s, "spBv1.0/G/DDATA/E/D", 0, &exp), SPB_SEQ_OK); /* wraps */
    ck_assert_int_eq(seq(s, "spBv1.0/G/NDATA/E", 5, &exp), SPB_SEQ_GAP);
    ck_assert_uint_eq(exp, 1);
    ck_assert_int_eq(seq(s, "spBv1.0/G/NDATA/E", 6, &exp), SPB_SEQ_OK); /* moved on */
    ck_assert_int_eq(seq(s, "spBv1.0/G/DDEATH/E/D", 9, &exp), SPB_SEQ_GAP_AGAIN);
    ck_assert_uint_eq(exp, 7);
    ck_assert_int_eq(seq(s, "spBv1.0/G/NDATA/E", 300, &exp), SPB_SEQ_GAP_AGAIN);
    /* Another node is its own sequence. */
    ck_assert_int_eq(seq(s, "spBv1.0/G/NDATA/F", 3, &exp), SPB_SEQ_UNKNOWN);
    /* A new birth starts again, gap state cleared. */
    ck_assert_int_eq(birth(s, "spBv1.0/G/NBIRTH/E", "{\"seq\": 0, \"metrics\": []}", why), MKB_OK);
    ck_assert_int_eq(seq(s, "spBv1.0/G/NDATA/E", 1, &exp), SPB_SEQ_OK);
    ck_assert_int_eq(seq(s, "spBv1.0/G/NDATA/E", 3, &exp), SPB_SEQ_GAP);
    ck_assert_uint_eq(exp, 2);
    spb_state_destroy(s);
}
END_TEST

static bool death(spb_state_t *s, const char *tp, bool has, uint64_t bd)
{
    spb_topic_t t = topic(tp);
    return spb_state_death(s, &t, has, bd);
}

START_TEST(test_death_by_bdseq)
{
    char why[512];
    uint64_t exp;
    spb_state_t *s = open_state(NULL, why);
    ck_assert(death(s, "spBv1.0/G/NDEATH/E", true, 3));                    /* no birth known */
    ck_assert_int_eq(birth(s, "spBv1.0/G/NBIRTH/E", NBIRTH, why), MKB_OK); /* bdSeq 7 */
    ck_assert_int_eq(seq(s, "spBv1.0/G/NDATA/E", 1, &exp), SPB_SEQ_OK);
    ck_assert(!death(s, "spBv1.0/G/NDEATH/E", true, 6));                /* the old session's will */
    ck_assert_int_eq(seq(s, "spBv1.0/G/NDATA/E", 2, &exp), SPB_SEQ_OK); /* untouched */
    ck_assert(death(s, "spBv1.0/G/NDEATH/E", true, 7));
    /* The current death reset the sequence. */
    ck_assert_int_eq(seq(s, "spBv1.0/G/NDATA/E", 50, &exp), SPB_SEQ_UNKNOWN);
    ck_assert(death(s, "spBv1.0/G/NDEATH/E", false, 0)); /* no bdSeq: cannot be told stale */
    /* A birth without bdSeq: any death is current. */
    ck_assert_int_eq(birth(s, "spBv1.0/G/NBIRTH/E", "{\"seq\": 0, \"metrics\": []}", why), MKB_OK);
    ck_assert(death(s, "spBv1.0/G/NDEATH/E", true, 1234));
    spb_state_destroy(s);
}
END_TEST

START_TEST(test_rebirth_rate_limit)
{
    char why[512];
    spb_state_t *s = open_state(NULL, why);
    spb_topic_t e = topic("spBv1.0/G/DDATA/E/D"), f = topic("spBv1.0/G/NDATA/F");
    ck_assert(spb_state_want_rebirth(s, &e, 1000));
    ck_assert(!spb_state_want_rebirth(s, &e, 1001));
    ck_assert(spb_state_want_rebirth(s, &f, 1001)); /* per node */
    ck_assert(!spb_state_want_rebirth(s, &e, 1000 + SPB_REBIRTH_INTERVAL_MS - 1));
    ck_assert(spb_state_want_rebirth(s, &e, 1000 + SPB_REBIRTH_INTERVAL_MS));
    ck_assert(!spb_state_want_rebirth(s, &e, 1000 + SPB_REBIRTH_INTERVAL_MS + 10));
    spb_state_destroy(s);
}
END_TEST

START_TEST(test_file_round_trip)
{
    char why[512];
    spb_state_t *s = open_state(path, why);
    ck_assert_str_eq(why, ""); /* no file yet: no warning */
    ck_assert_int_eq(birth(s, "spBv1.0/G/NBIRTH/E", NBIRTH, why), MKB_OK);
    ck_assert_int_eq(birth(s, "spBv1.0/G/DBIRTH/E/D1", DBIRTH, why), MKB_OK);
    ck_assert_int_eq(birth(s, "spBv1.0/G/DBIRTH/E/D2",
                           "{\"metrics\": [{\"name\": \"\\u00e9t\\u00e9 \\\"q\\\"\", \"alias\": "
                           "18446744073709551, \"datatype\": \"DataSet\"}]}",
                           why),
                     MKB_OK);
    spb_state_destroy(s);
    s = open_state(path, why);
    ck_assert_str_eq(why, "");
    assert_births(s);
    assert_resolves(s, "spBv1.0/G/DDATA/E/D2", 18446744073709551LL, "\xc3\xa9t\xc3\xa9 \"q\"",
                    "DataSet");
    /* bdSeq came back with it: an old session's will is still stale. */
    ck_assert(!death(s, "spBv1.0/G/NDEATH/E", true, 6));
    ck_assert(death(s, "spBv1.0/G/NDEATH/E", true, 7));
    spb_state_destroy(s);
}
END_TEST

static void write_file(const char *text, size_t len)
{
    FILE *f = fopen(path, "wb");
    ck_assert_ptr_nonnull(f);
    ck_assert_uint_eq(fwrite(text, 1, len, f), len);
    fclose(f);
}

START_TEST(test_damaged_file)
{
    static const char *bad[] = {
        "{\"version\": 1, \"nodes\": [{\"group\": \"G\", \"edge_node\": \"E\", \"metrics\": "
        "[[3, \"Double\", \"Motor/Speed\"]], \"devi", /* truncated */
        "\x00\xff garbage",
        "[]",
        "{\"version\": 2, \"nodes\": []}",
        "{\"version\": 1, \"nodes\": {}}",
        "{\"version\": 1, \"nodes\": [{\"group\": 1, \"edge_node\": \"E\", \"metrics\": []}]}",
        "{\"version\": 1, \"nodes\": [{\"group\": \"G\", \"edge_node\": \"E\", \"metrics\": "
        "[[3, \"Double\", \"A\"], [-1, \"Double\", \"B\"]]}]}",
        "{\"version\": 1, \"nodes\": [{\"group\": \"G\", \"edge_node\": \"E\", \"metrics\": "
        "[[3, \"Double\", \"A\"], [4, \"NoSuchType\", \"B\"]]}]}",
        "{\"version\": 1, \"nodes\": [{\"group\": \"G\", \"edge_node\": \"E\", \"metrics\": "
        "[[3, \"Double\", \"A\"], [4, \"Double\"]]}]}",
        "{\"version\": 1, \"nodes\": [{\"group\": \"G\", \"edge_node\": \"E\", \"metrics\": "
        "[[3, \"Double\", \"A\"]], \"bdSeq\": \"7\"}]}",
        "{\"version\": 1, \"nodes\": [{\"group\": \"G\", \"edge_node\": \"E\", \"metrics\": "
        "[[3, \"Double\", \"A\"]], \"devices\": [{\"device\": null, \"metrics\": []}]}]}",
        "{\"version\": 1, \"nodes\": [{\"group\": \"G\", \"edge_node\": \"E\", \"metrics\": "
        "[[3, \"Double\", \"A\"]], \"devices\": [{\"device\": \"D\", \"metrics\": 5}]}]}",
        "{\"version\": 1, \"nodes\": [{\"group\": \"G\", \"edge_node\": \"E\", \"metrics\": "
        "[[3, \"Double\", \"A\"]]}, 7]}",
        "{\"version\": 1, \"version\": 1, \"nodes\": []}",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char why[512];
        size_t len = i == 1 ? 10 : strlen(bad[i]);
        write_file(bad[i], len);
        spb_state_t *s = open_state(path, why);
        ck_assert_msg(strstr(why, "damaged") != NULL, "file %zu: warning '%s'", i, why);
        ck_assert_msg(!resolve(s, "spBv1.0/G/NDATA/E", NULL, 3, NULL, NULL), "file %zu", i);
        /* The next birth replaces the file with a good one. */
        ck_assert_int_eq(birth(s, "spBv1.0/G/NBIRTH/E", NBIRTH, why), MKB_OK);
        spb_state_destroy(s);
        s = open_state(path, why);
        ck_assert_str_eq(why, "");
        assert_resolves(s, "spBv1.0/G/NDATA/E", 3, "Motor/Speed", "Double");
        spb_state_destroy(s);
    }
}
END_TEST

START_TEST(test_unwritable)
{
    char why[512], p[400];
    /* A directory that is a file: fails even for root. */
    write_file("x", 1);
    snprintf(p, sizeof(p), "%s/sparkplug-births", path);
    spb_state_t *s = open_state(p, why);
    ck_assert_msg(strstr(why, "cannot read") != NULL, "%s", why); /* a warning, still made */
    ck_assert_int_eq(birth(s, "spBv1.0/G/NBIRTH/E", NBIRTH, why), MKB_ERR_IO);
    ck_assert_msg(strstr(why, "sparkplug-births") && strstr(why, "Not a directory"), "%s", why);
    /* The state in memory is updated all the same. */
    assert_resolves(s, "spBv1.0/G/NDATA/E", 3, "Motor/Speed", "Double");
    spb_state_destroy(s);
}
END_TEST

static void *births_thread(void *arg)
{
    spb_state_t *s = arg;
    char why[512];
    for (int i = 0; i < 300; i++) {
        ck_assert_int_eq(birth(s, "spBv1.0/G/NBIRTH/E", NBIRTH, why), MKB_OK);
        ck_assert_int_eq(birth(s, "spBv1.0/G/DBIRTH/E/D1", DBIRTH, why), MKB_OK);
    }
    return NULL;
}

START_TEST(test_threads)
{
    char why[512];
    spb_state_t *s = open_state(NULL, why);
    ck_assert_int_eq(birth(s, "spBv1.0/G/NBIRTH/E", NBIRTH, why), MKB_OK);
    pthread_t th;
    ck_assert_int_eq(pthread_create(&th, NULL, births_thread, s), 0);
    spb_topic_t t = topic("spBv1.0/G/NDATA/E");
    spb_scope_t scope = {.state = s, .topic = &t};
    for (int i = 0; i < 20000; i++) {
        uint32_t dt = 0;
        /* The datatype is read under the lock; the name pointer is not
         * used here because the other thread's births replace it. */
        ck_assert(spb_state_resolve(&scope, NULL, true, 3, NULL, &dt));
        ck_assert_str_eq(spb_datatype_name(dt), "Double");
        ck_assert(spb_state_resolve(&scope, "Motor/Count", false, 0, NULL, &dt));
        ck_assert_str_eq(spb_datatype_name(dt), "UInt32");
    }
    ck_assert_int_eq(pthread_join(th, NULL), 0);
    spb_state_destroy(s);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("spb_state");
    TCase *tc = tcase_create("core");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_births_and_lookups);
    tcase_add_test(tc, test_nbirth_forgets_devices);
    tcase_add_test(tc, test_seq);
    tcase_add_test(tc, test_death_by_bdseq);
    tcase_add_test(tc, test_rebirth_rate_limit);
    tcase_add_test(tc, test_file_round_trip);
    tcase_add_test(tc, test_damaged_file);
    tcase_add_test(tc, test_unwritable);
    tcase_add_test(tc, test_threads);
    tcase_add_test(tc, test_limits);
    tcase_set_timeout(tc, 30);
    suite_add_tcase(s, tc);
    return check_run(s);
}
