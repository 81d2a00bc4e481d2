// SPDX-FileCopyrightText: 2026 The mqtt-kafka-bridge authors
// SPDX-License-Identifier: Apache-2.0
/* Filter matching through the trie: the MQTT specification's cases
 * (MQTT 5.0 section 4.7; 3.1.1 section 4.7) and fan-out order. */
#include "err.h"
#include "trie.h"

#include <check.h>

#include "check_run.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Does FILTER alone match TOPIC? */
static bool m(const char *filter, const char *topic)
{
    trie_t *t = trie_new();
    ck_assert_int_eq(trie_insert(t, filter, 7), MKB_OK);
    uint32_t ids[TRIE_MAX_MATCHES];
    bool trunc;
    size_t n = trie_match(t, topic, strlen(topic), ids, &trunc);
    trie_destroy(t);
    ck_assert(n <= 1);
    return n == 1 && ids[0] == 7;
}

START_TEST(test_exact_and_plus)
{
    ck_assert(m("a/b/c", "a/b/c"));
    ck_assert(!m("a/b/c", "a/b"));
    ck_assert(!m("a/b", "a/b/c"));
    ck_assert(!m("a/b/c", "a/b/cd"));
    ck_assert(!m("a/b/c", "A/b/c")); /* case sensitive */
    ck_assert(m("a/+/c", "a/x/c"));
    ck_assert(m("a/+/c", "a//c")); /* + matches an empty level */
    ck_assert(!m("a/+", "a/x/c"));
    ck_assert(m("+/+", "/x")); /* a leading / makes an empty first level */
    ck_assert(m("/+", "/x"));
    ck_assert(!m("+", "/x"));
    ck_assert(m("+", "x"));
    ck_assert(!m("+", "x/y"));
    ck_assert(m("sport/tennis/+", "sport/tennis/player1"));
    ck_assert(!m("sport/tennis/+", "sport/tennis/player1/ranking"));
    ck_assert(m("sport/+", "sport/"));
    ck_assert(!m("sport/+", "sport"));
}
END_TEST

START_TEST(test_hash)
{
    ck_assert(m("#", "a/b/c"));
    ck_assert(m("#", "/"));
    ck_assert(m("a/#", "a/b/c"));
    ck_assert(m("sport/#", "sport")); /* the parent level too */
    ck_assert(m("a/#", "a/"));
    ck_assert(!m("a/#", "b/a"));
    ck_assert(m("a/+/#", "a/b"));
    ck_assert(!m("a/b/#", "a"));
    ck_assert(m("+/#", "x"));
}
END_TEST

START_TEST(test_dollar_topics)
{
    ck_assert(!m("#", "$SYS/broker/load"));
    ck_assert(!m("+/broker/load", "$SYS/broker/load"));
    ck_assert(!m("+/#", "$SYS/x"));
    ck_assert(m("$SYS/#", "$SYS/broker/load"));
    ck_assert(m("$SYS/+/load", "$SYS/broker/load"));
    ck_assert(m("a/#", "a/$b")); /* only a leading $ is special */
}
END_TEST

START_TEST(test_topic_not_nul_terminated)
{
    trie_t *t = trie_new();
    trie_insert(t, "a/b/c", 1);
    trie_insert(t, "a/+/cX", 2);
    uint32_t ids[TRIE_MAX_MATCHES];
    size_t n = trie_match(t, "a/b/cXYZ", 5, ids, NULL);
    ck_assert_uint_eq(n, 1);
    ck_assert_uint_eq(ids[0], 1);
    trie_destroy(t);
}
END_TEST

START_TEST(test_fan_out_in_file_order)
{
    trie_t *t = trie_new();
    /* inserted in an order unlike the ids, to show the result is sorted */
    trie_insert(t, "#", 9);
    trie_insert(t, "sites/+/temp", 4);
    trie_insert(t, "sites/a/temp", 2);
    trie_insert(t, "sites/a/#", 5);
    trie_insert(t, "sites/b/temp", 1);
    trie_insert(t, "sites/a/temp", 3); /* the same filter twice: both routes */
    uint32_t ids[TRIE_MAX_MATCHES];
    size_t n = trie_match(t, "sites/a/temp", 12, ids, NULL);
    ck_assert_uint_eq(n, 5);
    uint32_t want[] = {2, 3, 4, 5, 9};
    for (size_t i = 0; i < n; i++)
        ck_assert_uint_eq(ids[i], want[i]);
    n = trie_match(t, "other", 5, ids, NULL);
    ck_assert_uint_eq(n, 1);
    ck_assert_uint_eq(ids[0], 9);
    trie_destroy(t);
    trie_destroy(NULL);
}
END_TEST

START_TEST(test_many_filters_and_truncation)
{
    trie_t *t = trie_new();
    char f[64];
    for (uint32_t i = 0; i < 10000; i++) {
        snprintf(f, sizeof(f), "sites/s%u/hvac/+/telemetry", i);
        ck_assert_int_eq(trie_insert(t, f, i), MKB_OK);
    }
    uint32_t ids[TRIE_MAX_MATCHES];
    bool trunc = true;
    const char *topic = "sites/s9876/hvac/u1/telemetry";
    size_t n = trie_match(t, topic, strlen(topic), ids, &trunc);
    ck_assert_uint_eq(n, 1);
    ck_assert_uint_eq(ids[0], 9876);
    ck_assert(!trunc);
    for (uint32_t i = 0; i < TRIE_MAX_MATCHES + 5; i++)
        trie_insert(t, "x/#", 20000 + i);
    n = trie_match(t, "x/y", 3, ids, &trunc);
    ck_assert_uint_eq(n, TRIE_MAX_MATCHES);
    ck_assert(trunc);
    trie_destroy(t);
}
END_TEST

START_TEST(test_too_deep_topic)
{
    trie_t *t = trie_new();
    trie_insert(t, "#", 1);
    char topic[TRIE_MAX_LEVELS * 2 + 8];
    size_t n = 0;
    for (int i = 0; i < TRIE_MAX_LEVELS + 2; i++) {
        topic[n++] = 'a';
        topic[n++] = '/';
    }
    topic[--n] = '\0';
    uint32_t ids[TRIE_MAX_MATCHES];
    ck_assert_uint_eq(trie_match(t, topic, n, ids, NULL), 0);
    trie_destroy(t);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("trie");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_exact_and_plus);
    tcase_add_test(tc, test_hash);
    tcase_add_test(tc, test_dollar_topics);
    tcase_add_test(tc, test_topic_not_nul_terminated);
    tcase_add_test(tc, test_fan_out_in_file_order);
    tcase_add_test(tc, test_many_filters_and_truncation);
    tcase_add_test(tc, test_too_deep_topic);
    suite_add_tcase(s, tc);
    return check_run(s);
}
