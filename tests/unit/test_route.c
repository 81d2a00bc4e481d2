#include "config.h"
#include "err.h"
#include "route.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>

static bool m(const char *filter, const char *topic)
{
    return route_topic_matches(filter, topic, strlen(topic));
}

START_TEST(test_exact_and_plus)
{
    ck_assert(m("a/b/c", "a/b/c"));
    ck_assert(!m("a/b/c", "a/b"));
    ck_assert(!m("a/b", "a/b/c"));
    ck_assert(!m("a/b/c", "a/b/cd"));
    ck_assert(m("a/+/c", "a/x/c"));
    ck_assert(m("a/+/c", "a//c")); /* + matches an empty level */
    ck_assert(!m("a/+", "a/x/c"));
    ck_assert(m("+/+", "/x"));
    ck_assert(m("+", "x"));
    ck_assert(!m("+", "x/y"));
}
END_TEST

START_TEST(test_hash)
{
    ck_assert(m("#", "a/b/c"));
    ck_assert(m("a/#", "a/b/c"));
    ck_assert(m("a/#", "a")); /* the parent level too (MQTT 4.7.1.2) */
    ck_assert(m("a/#", "a/"));
    ck_assert(!m("a/#", "b/a"));
    ck_assert(m("a/+/#", "a/b"));
    ck_assert(!m("a/b/#", "a"));
}
END_TEST

START_TEST(test_dollar_topics)
{
    ck_assert(!m("#", "$SYS/broker/load"));
    ck_assert(!m("+/broker/load", "$SYS/broker/load"));
    ck_assert(m("$SYS/#", "$SYS/broker/load"));
}
END_TEST

START_TEST(test_topic_not_nul_terminated)
{
    const char buf[] = "a/b/cXYZ";
    ck_assert(route_topic_matches("a/b/c", buf, 5));
    ck_assert(!route_topic_matches("a/b/cX", buf, 5));
    ck_assert(route_topic_matches("a/+/c", buf, 5));
}
END_TEST

START_TEST(test_filter_validation)
{
    char why[128];
    ck_assert(route_filter_valid("a/+/b/#", why, sizeof(why)));
    ck_assert(route_filter_valid("#", why, sizeof(why)));
    ck_assert(!route_filter_valid("a/b#", why, sizeof(why)));
    ck_assert(!route_filter_valid("a/#/b", why, sizeof(why)));
    ck_assert(!route_filter_valid("a+/b", why, sizeof(why)));
    ck_assert_ptr_nonnull(strstr(why, "'+'"));
    ck_assert(!route_filter_valid("", why, sizeof(why)));
}
END_TEST

START_TEST(test_first_match_wins)
{
    config_route_t rs[] = {
        {"specific", "sites/a/temp", 1, "t.specific"},
        {"wild", "sites/+/temp", 0, "t.wild"},
        {"all", "#", 1, "t.all"},
    };
    route_table_t *t = NULL;
    char err[128];
    ck_assert_int_eq(route_table_new(rs, 3, &t, err, sizeof(err)), MKB_OK);
    ck_assert_uint_eq(route_table_count(t), 3);
    const route_t *r = route_table_match(t, "sites/a/temp", 12);
    ck_assert_str_eq(route_name(r), "specific");
    r = route_table_match(t, "sites/b/temp", 12);
    ck_assert_str_eq(route_kafka_topic(r), "t.wild");
    ck_assert_int_eq(route_qos(r), 0);
    ck_assert_uint_eq(route_index(r), 1);
    ck_assert_str_eq(route_name(route_table_match(t, "other", 5)), "all");
    route_table_destroy(t);

    ck_assert_int_eq(route_table_new(rs, 2, &t, err, sizeof(err)), MKB_OK);
    ck_assert_ptr_null(route_table_match(t, "other", 5));
    route_table_destroy(t);
    route_table_destroy(NULL);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("route");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_exact_and_plus);
    tcase_add_test(tc, test_hash);
    tcase_add_test(tc, test_dollar_topics);
    tcase_add_test(tc, test_topic_not_nul_terminated);
    tcase_add_test(tc, test_filter_validation);
    tcase_add_test(tc, test_first_match_wins);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
