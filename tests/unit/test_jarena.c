// SPDX-FileCopyrightText: 2026 The mqtt-kafka-bridge authors
// SPDX-License-Identifier: Apache-2.0
/* The per-message jansson arena: values made inside begin/end come from the
 * arena and are reclaimed at end; values made outside live on the heap and
 * may be released inside. */
#include "jarena.h"
#include "jparse.h"

#include <check.h>
#include <jansson.h>
#include <string.h>

#include "check_run.h"

START_TEST(test_reuse_across_messages)
{
    char why[128];
    const char *text = "{\"a\": [1, 2.5, \"x\"], \"b\": {\"c\": true}}";
    void *first = NULL;
    (void)first; /* unused under ASan */
    for (int i = 0; i < 1000; i++) {
        jarena_begin();
        json_t *v = jparse(text, strlen(text), 10, why, sizeof(why));
        ck_assert_ptr_nonnull(v);
        if (i == 0)
            first = v;
#ifndef __SANITIZE_ADDRESS__ /* (no arena under ASan) */
        else
            ck_assert_ptr_eq(v, first); /* the same arena memory, message after message */
#endif
        ck_assert_int_eq(json_integer_value(json_array_get(json_object_get(v, "a"), 0)), 1);
        json_decref(v);
        jarena_end();
    }
}
END_TEST

START_TEST(test_heap_values_inside_a_message)
{
    json_t *constant = json_string("made at load time"); /* heap */
    jarena_begin();
    json_t *o = json_object();
    json_object_set(o, "k", constant); /* shared with an arena object */
    json_t *own = json_string("arena");
    json_object_set_new(o, "o", own);
    json_decref(o); /* the heap value loses a reference, nothing more */
    jarena_end();
    ck_assert_str_eq(json_string_value(constant), "made at load time");
    ck_assert_int_eq(constant->refcount, 1);
    jarena_begin();
    json_decref(constant); /* a heap value released inside a message: really freed */
    jarena_end();
}
END_TEST

START_TEST(test_large_allocations)
{
    jarena_begin();
    json_t *a = json_array();
    for (int i = 0; i < 20000; i++) /* more than one chunk */
        json_array_append_new(a, json_stringn("0123456789abcdef0123456789abcdef", 32));
    ck_assert_uint_eq(json_array_size(a), 20000);
    json_decref(a);
    jarena_end();
}
END_TEST

int main(void)
{
    jarena_install();
    Suite *s = suite_create("jarena");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_reuse_across_messages);
    tcase_add_test(tc, test_heap_values_inside_a_message);
    tcase_add_test(tc, test_large_allocations);
    suite_add_tcase(s, tc);
    return check_run(s);
}
