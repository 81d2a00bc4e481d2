/* The Sparkplug B module: topics, datatype names, and (below) payloads
 * encoded by real implementations (tests/fixtures/sparkplug, written by
 * pysparkplug and Eclipse Tahu's python) decoded into the JSON of spb.h. */
#include "err.h"
#include "spb.h"

#include <check.h>

#include "check_run.h"
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

int main(void)
{
    Suite *s = suite_create("spb");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_topic_ok);
    tcase_add_test(tc, test_topic_bad);
    tcase_add_test(tc, test_type_names);
    tcase_add_test(tc, test_datatype_names);
    suite_add_tcase(s, tc);
    return check_run(s);
}
