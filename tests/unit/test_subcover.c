// SPDX-FileCopyrightText: 2026 The mqtt-kafka-bridge authors
// SPDX-License-Identifier: Apache-2.0
/* The subscription cover: containment and overlap by the MQTT rules
 * (section 4.7 of 3.1.1 and 5.0, '$' topics included), the cover of mixed
 * filters, and a property check against the trie over every topic of a
 * small universe: a topic some route filter matches is matched by exactly
 * one cover filter. */
#include "err.h"
#include "subcover.h"
#include "trie.h"

#include <check.h>

#include "check_run.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Builds the cover of the N filters in F at the QoS in Q (NULL: all 0) and
 * returns it as "filter@qos,filter@qos" in OUT. */
static const char *cover(const char *const *f, const int *q, size_t n, char *out, size_t size)
{
    subcover_t *c = subcover_new();
    ck_assert_ptr_nonnull(c);
    for (size_t i = 0; i < n; i++)
        ck_assert_int_eq(subcover_add(c, f[i], q ? q[i] : 0), MKB_OK);
    size_t used = 0;
    out[0] = '\0';
    for (size_t i = 0; i < subcover_count(c); i++)
        used += (size_t)snprintf(out + used, size - used, "%s%s@%d", i ? "," : "",
                                 subcover_filter(c, i), subcover_qos(c, i));
    subcover_destroy(c);
    return out;
}

#define COVER(...)                                                                                 \
    cover((const char *const[]){__VA_ARGS__}, NULL,                                                \
          sizeof((const char *const[]){__VA_ARGS__}) / sizeof(const char *), buf, sizeof(buf))

START_TEST(test_contains)
{
    ck_assert(subcover_contains("#", "a/b"));
    ck_assert(subcover_contains("a/#", "a")); /* '#' matches the parent level too */
    ck_assert(subcover_contains("a/#", "a/+/c"));
    ck_assert(subcover_contains("+/+", "a/+"));
    ck_assert(subcover_contains("a/b", "a/b"));
    ck_assert(!subcover_contains("a/+", "a/#"));
    ck_assert(!subcover_contains("a/+", "a"));
    ck_assert(!subcover_contains("a/b", "a/+"));
    ck_assert(!subcover_contains("+", "a/b"));
    ck_assert(!subcover_contains("#", "$SYS/x")); /* wildcards never match a leading '$' */
    ck_assert(!subcover_contains("+/x", "$SYS/x"));
    ck_assert(subcover_contains("$SYS/#", "$SYS/x"));
    ck_assert(subcover_contains("#", "+/x"));
}
END_TEST

START_TEST(test_overlap)
{
    ck_assert(subcover_overlap("a/+", "+/b"));
    ck_assert(subcover_overlap("a", "a/#"));
    ck_assert(subcover_overlap("#", "a/b/c"));
    ck_assert(subcover_overlap("a/+/c", "a/b/+"));
    ck_assert(!subcover_overlap("a/+", "b/+"));
    ck_assert(!subcover_overlap("a/+", "a/+/c"));
    ck_assert(!subcover_overlap("a", "a/+"));
    ck_assert(!subcover_overlap("#", "$SYS/#"));
    ck_assert(!subcover_overlap("+/b", "$SYS/b"));
    ck_assert(subcover_overlap("$SYS/+", "$SYS/#"));
}
END_TEST

START_TEST(test_cover_cases)
{
    char buf[512];
    ck_assert_str_eq(COVER("a/b"), "a/b@0");
    ck_assert_str_eq(COVER("a/b", "a/b"), "a/b@0"); /* identical: once */
    ck_assert_str_eq(COVER("a/b", "#"), "#@0");
    ck_assert_str_eq(COVER("#", "a/+", "x"), "#@0");
    ck_assert_str_eq(COVER("a/+", "a/b"), "a/+@0");
    ck_assert_str_eq(COVER("a/b", "a/#"), "a/#@0");
    ck_assert_str_eq(COVER("a", "a/#"), "a/#@0");
    ck_assert_str_eq(COVER("a/+", "+/b"), "+/+@0"); /* partial overlap */
    ck_assert_str_eq(COVER("a/+/c", "a/b/+"), "a/+/+@0");
    ck_assert_str_eq(COVER("a/#", "+/b"), "+/#@0");
    ck_assert_str_eq(COVER("a/+", "b/+", "c"), "a/+@0,b/+@0,c@0"); /* disjoint stay apart */
    ck_assert_str_eq(COVER("a/+", "a/+/c"), "a/+@0,a/+/c@0");      /* different depths */
    /* a/+ and +/b become +/+, which then holds x/y; c/d/e stays apart */
    ck_assert_str_eq(COVER("c/d/e", "a/+", "+/b", "x/y"), "+/+@0,c/d/e@0");
    ck_assert_str_eq(COVER("x/+", "a/+", "+/b"), "+/+@0");
    ck_assert_str_eq(COVER("#", "$SYS/#"), "#@0,$SYS/#@0");
    ck_assert_str_eq(COVER("+/x", "$SYS/x", "$SYS/+"), "$SYS/+@0,+/x@0");
}
END_TEST

START_TEST(test_cover_qos)
{
    char buf[512];
    const char *f[] = {"a/b", "a/+", "c/d", "+/d", "z"};
    const int q[] = {2, 0, 1, 0, 1};
    ck_assert_str_eq(cover(f, q, 5, buf, sizeof(buf)), "+/+@2,z@1");
    const char *g[] = {"a/#", "a/b"};
    const int gq[] = {0, 1};
    ck_assert_str_eq(cover(g, gq, 2, buf, sizeof(buf)), "a/#@1");
    const char *h[] = {"a/b", "c/d"};
    const int hq[] = {2, 1};
    ck_assert_str_eq(cover(h, hq, 2, buf, sizeof(buf)), "a/b@2,c/d@1");
}
END_TEST

/* ---- property check -------------------------------------------------- */

static const char *const LEVELS[] = {"a", "b", "c", "$s", ""}; /* c: in no filter */
#define NLEVELS 5
#define MAX_TOPICS 1000

/* Every topic of 1 to 4 levels over LEVELS. */
static size_t universe(char topics[MAX_TOPICS][24])
{
    size_t n = 0;
    for (size_t depth = 1; depth <= 4; depth++) {
        size_t total = 1;
        for (size_t d = 0; d < depth; d++)
            total *= NLEVELS;
        for (size_t k = 0; k < total; k++) {
            size_t x = k, used = 0;
            for (size_t d = 0; d < depth; d++, x /= NLEVELS)
                used += (size_t)snprintf(topics[n] + used, 24 - used, "%s%s", d ? "/" : "",
                                         LEVELS[x % NLEVELS]);
            n++;
        }
    }
    return n;
}

/* A small deterministic generator (xorshift32), so every run tests the same
 * filters. */
static unsigned next_rand(unsigned *seed)
{
    unsigned x = *seed ? *seed : 1;
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    return *seed = x;
}

static void random_filter(char *out, size_t size, unsigned *seed)
{
    static const char *const F[] = {"a", "b", "$s", "+", "#", ""};
    size_t depth = 1 + (size_t)(next_rand(seed) % 3), used = 0;
    for (size_t d = 0; d < depth; d++) {
        const char *l = F[next_rand(seed) % 6];
        if (l[0] == '#' && d + 1 < depth)
            l = "+"; /* '#' only last */
        used += (size_t)snprintf(out + used, size - used, "%s%s", d ? "/" : "", l);
        if (l[0] == '#')
            break;
    }
}

static bool matches(const char *filter, const char *topic)
{
    trie_t *t = trie_new();
    ck_assert_int_eq(trie_insert(t, filter, 0), MKB_OK);
    uint32_t ids[TRIE_MAX_MATCHES];
    bool trunc;
    bool m = trie_match(t, topic, strlen(topic), ids, &trunc) == 1;
    trie_destroy(t);
    return m;
}

START_TEST(test_property_cover)
{
    static char topics[MAX_TOPICS][24];
    size_t nt = universe(topics);
    unsigned seed = 17;
    for (int trial = 0; trial < 400; trial++) {
        char f[6][32];
        int q[6];
        size_t nf = 1 + (size_t)(next_rand(&seed) % 6);
        trie_t *routes = trie_new(), *cov = trie_new();
        subcover_t *c = subcover_new();
        for (size_t i = 0; i < nf; i++) {
            random_filter(f[i], sizeof(f[i]), &seed);
            q[i] = next_rand(&seed) % 3;
            ck_assert_int_eq(trie_insert(routes, f[i], (uint32_t)i), MKB_OK);
            ck_assert_int_eq(subcover_add(c, f[i], q[i]), MKB_OK);
        }
        for (size_t k = 0; k < subcover_count(c); k++) {
            ck_assert_int_eq(trie_insert(cov, subcover_filter(c, k), (uint32_t)k), MKB_OK);
            int want = -1; /* the highest QoS of the route filters inside */
            for (size_t i = 0; i < nf; i++)
                if (subcover_contains(subcover_filter(c, k), f[i]) && q[i] > want)
                    want = q[i];
            ck_assert_int_eq(subcover_qos(c, k), want);
        }
        for (size_t t = 0; t < nt; t++) {
            uint32_t ids[TRIE_MAX_MATCHES];
            bool trunc;
            size_t nr = trie_match(routes, topics[t], strlen(topics[t]), ids, &trunc);
            size_t nc = trie_match(cov, topics[t], strlen(topics[t]), ids, &trunc);
            ck_assert_msg(nc <= 1, "trial %d: topic '%s' matches %zu cover filters", trial,
                          topics[t], nc);
            ck_assert_msg(nr == 0 || nc == 1, "trial %d: topic '%s' of a route not covered", trial,
                          topics[t]);
        }
        subcover_destroy(c);
        trie_destroy(routes);
        trie_destroy(cov);
    }
}
END_TEST

/* contains and overlap agree with matching over the universe. */
START_TEST(test_property_relations)
{
    static char topics[MAX_TOPICS][24];
    size_t nt = universe(topics);
    unsigned seed = 5;
    for (int trial = 0; trial < 300; trial++) {
        char a[32], b[32];
        random_filter(a, sizeof(a), &seed);
        random_filter(b, sizeof(b), &seed);
        bool some = false, all = true;
        for (size_t t = 0; t < nt; t++) {
            bool ma = matches(a, topics[t]), mb = matches(b, topics[t]);
            some |= ma && mb;
            all &= !mb || ma;
        }
        ck_assert_msg(subcover_overlap(a, b) == some, "overlap('%s', '%s')", a, b);
        ck_assert_msg(subcover_contains(a, b) == all, "contains('%s', '%s')", a, b);
    }
}
END_TEST

int main(void)
{
    Suite *s = suite_create("subcover");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_contains);
    tcase_add_test(tc, test_overlap);
    tcase_add_test(tc, test_cover_cases);
    tcase_add_test(tc, test_cover_qos);
    tcase_add_test(tc, test_property_cover);
    tcase_add_test(tc, test_property_relations);
    suite_add_tcase(s, tc);
    return check_run(s);
}
