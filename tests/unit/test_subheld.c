// SPDX-FileCopyrightText: 2026 The mqtt-kafka-bridge authors
// SPDX-License-Identifier: Apache-2.0
/* The subscriptions a session holds, and their file in the spool directory:
 * kept across a reload of the file, ignored when written for another broker
 * or client id, removed when it cannot be written. */
#include "err.h"
#include "subheld.h"

#include <check.h>

#include "check_run.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char dir[] = "/tmp/mkb-subheld-XXXXXX";
static char path[300];

static void setup(void)
{
    ck_assert_ptr_nonnull(mkdtemp(dir));
    snprintf(path, sizeof(path), "%s/mqtt-subscriptions", dir);
}

static void teardown(void)
{
    unlink(path);
    rmdir(dir);
    strcpy(dir, "/tmp/mkb-subheld-XXXXXX");
}

static subheld_t *open_held(const char *uri, const char *client)
{
    subheld_t *h = NULL;
    ck_assert_int_eq(subheld_new(path, uri, client, &h), MKB_OK);
    return h;
}

START_TEST(test_kept_across_restarts)
{
    subheld_t *h = open_held("tcp://b:1883", "c1");
    ck_assert_uint_eq(subheld_count(h), 0);
    ck_assert_int_eq(subheld_add(h, "a/+", 1), MKB_OK);
    ck_assert_int_eq(subheld_add(h, "$share/g/#", 2), MKB_OK);
    ck_assert_int_eq(subheld_add(h, "a/+", 2), MKB_OK); /* another QoS: updated */
    subheld_destroy(h);
    h = open_held("tcp://b:1883", "c1");
    ck_assert_uint_eq(subheld_count(h), 2);
    ck_assert(subheld_has(h, "a/+", 2));
    ck_assert(!subheld_has(h, "a/+", 1));
    ck_assert(subheld_has(h, "$share/g/#", 2));
    ck_assert_int_eq(subheld_remove(h, "a/+"), MKB_OK);
    subheld_destroy(h);
    h = open_held("tcp://b:1883", "c1");
    ck_assert_uint_eq(subheld_count(h), 1);
    ck_assert_str_eq(subheld_filter(h, 0), "$share/g/#");
    ck_assert_int_eq(subheld_clear(h), MKB_OK); /* a new session */
    subheld_destroy(h);
    h = open_held("tcp://b:1883", "c1");
    ck_assert_uint_eq(subheld_count(h), 0);
    subheld_destroy(h);
    char tmp[320];
    snprintf(tmp, sizeof(tmp), "%s.tmp", path);
    ck_assert_int_ne(access(tmp, F_OK), 0); /* renamed, not left behind */
}
END_TEST

START_TEST(test_other_session_or_damage_ignored)
{
    subheld_t *h = open_held("tcp://b:1883", "c1");
    ck_assert_int_eq(subheld_add(h, "x/#", 1), MKB_OK);
    subheld_destroy(h);
    h = open_held("tcp://b:1883", "c2"); /* another client id: another session */
    ck_assert_uint_eq(subheld_count(h), 0);
    subheld_destroy(h);
    h = open_held("tcp://other:1883", "c1");
    ck_assert_uint_eq(subheld_count(h), 0);
    subheld_destroy(h);
    FILE *f = fopen(path, "w");
    fputs("mkb-subscriptions 1\nuri tcp://b:1883\nclient c1\n1 ok\nnonsense\n", f);
    fclose(f);
    h = open_held("tcp://b:1883", "c1");
    ck_assert_uint_eq(subheld_count(h), 0); /* damaged: trust none of it */
    subheld_destroy(h);
}
END_TEST

START_TEST(test_unwritable_removes_file)
{
    subheld_t *h = open_held("tcp://b:1883", "c1");
    ck_assert_int_eq(subheld_add(h, "x/#", 1), MKB_OK);
    /* A filter that cannot be one line: the old list must not stay. */
    ck_assert_int_eq(subheld_add(h, "x\ny", 1), MKB_ERR_INVAL);
    ck_assert_int_ne(access(path, F_OK), 0);
    subheld_destroy(h);
    subheld_t *mem = NULL;
    ck_assert_int_eq(subheld_new(NULL, "u", "c", &mem), MKB_OK); /* no spool: memory only */
    ck_assert_int_eq(subheld_add(mem, "a", 0), MKB_OK);
    ck_assert(subheld_has(mem, "a", 0));
    subheld_destroy(mem);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("subheld");
    TCase *tc = tcase_create("core");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_kept_across_restarts);
    tcase_add_test(tc, test_other_session_or_damage_ignored);
    tcase_add_test(tc, test_unwritable_removes_file);
    suite_add_tcase(s, tc);
    return check_run(s);
}
