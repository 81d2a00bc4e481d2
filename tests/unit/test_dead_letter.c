// SPDX-FileCopyrightText: 2026 The mqtt-kafka-bridge authors
// SPDX-License-Identifier: Apache-2.0
/* The dead-letter headers (dead_letter.h): the names users read are the
 * documented ones; the reason replaces an older one, the record's own
 * headers stay, a dead letter already keeps its reason, the original is not
 * touched, and mkb.value.bytes is added once. Linked against the module and
 * librdkafka only. */
#include "dead_letter.h"

#include <check.h>

#include "check_run.h"
#include <string.h>

/* Header I of H is NAME = VALUE (a NUL-less copy in librdkafka). */
static void assert_header(const rd_kafka_headers_t *h, size_t i, const char *name,
                          const char *value)
{
    const char *n;
    const void *v;
    size_t vl;
    ck_assert_int_eq(rd_kafka_header_get_all(h, i, &n, &v, &vl), RD_KAFKA_RESP_ERR_NO_ERROR);
    ck_assert_str_eq(n, name);
    ck_assert_uint_eq(vl, strlen(value));
    ck_assert_int_eq(memcmp(v, value, vl), 0);
}

START_TEST(test_names)
{
    /* docs/CONFIGURATION.md and docs/OPERATIONS.md name these. */
    ck_assert_str_eq(DEAD_LETTER_REASON, "mkb.reason");
    ck_assert_str_eq(DEAD_LETTER_ROUTE, "mkb.route");
    ck_assert_str_eq(DEAD_LETTER_MQTT_TOPIC, "mkb.mqtt.topic");
    ck_assert_str_eq(DEAD_LETTER_MQTT_QOS, "mkb.mqtt.qos");
    ck_assert_str_eq(DEAD_LETTER_VALUE_BYTES, "mkb.value.bytes");
    ck_assert_str_eq(DEAD_LETTER_KAFKA_TOPIC, "mkb.kafka.topic");
    ck_assert_str_eq(DEAD_LETTER_COMMAND, "mkb.command");
    ck_assert_str_eq(DEAD_LETTER_KAFKA_RECORD, "mkb.kafka.record");
}
END_TEST

/* The downlink's: new headers, the reason first, then the pairs in order. */
START_TEST(test_new_with_pairs)
{
    const char *const pairs[] = {DEAD_LETTER_COMMAND, "lamp", DEAD_LETTER_KAFKA_RECORD,
                                 "cmds[2]@17", NULL};
    rd_kafka_headers_t *h = dead_letter_headers(NULL, "bad command", pairs);
    ck_assert_ptr_nonnull(h);
    ck_assert_uint_eq(rd_kafka_header_cnt(h), 3);
    assert_header(h, 0, "mkb.reason", "bad command");
    assert_header(h, 1, "mkb.command", "lamp");
    assert_header(h, 2, "mkb.kafka.record", "cmds[2]@17");
    rd_kafka_headers_destroy(h);
}
END_TEST

/* The sink's: a copy of the record's headers; an older mkb.reason gives way,
 * the others stay in order; the original is unchanged. */
START_TEST(test_copy_replaces_reason)
{
    rd_kafka_headers_t *orig = rd_kafka_headers_new(4);
    rd_kafka_header_add(orig, "site", -1, "north", -1);
    rd_kafka_header_add(orig, "mkb.reason", -1, "old", -1);
    rd_kafka_header_add(orig, "mkb.id", -1, "abc-1-0", -1);
    const char *const pairs[] = {DEAD_LETTER_KAFKA_TOPIC, "t", NULL};
    rd_kafka_headers_t *h = dead_letter_headers(orig, "delivery to t failed", pairs);
    ck_assert_ptr_ne(h, orig);
    ck_assert_uint_eq(rd_kafka_header_cnt(h), 4);
    assert_header(h, 0, "site", "north");
    assert_header(h, 1, "mkb.id", "abc-1-0");
    assert_header(h, 2, "mkb.reason", "delivery to t failed");
    assert_header(h, 3, "mkb.kafka.topic", "t");
    ck_assert_uint_eq(rd_kafka_header_cnt(orig), 3);
    assert_header(orig, 1, "mkb.reason", "old");
    rd_kafka_headers_destroy(h);
    rd_kafka_headers_destroy(orig);
}
END_TEST

/* A dead letter already (REASON NULL): its headers as they are, no pairs. */
START_TEST(test_keep_reason)
{
    rd_kafka_headers_t *orig = rd_kafka_headers_new(2);
    rd_kafka_header_add(orig, "mkb.reason", -1, "mapper's", -1);
    const char *const pairs[] = {DEAD_LETTER_KAFKA_TOPIC, "t", NULL};
    rd_kafka_headers_t *h = dead_letter_headers(orig, NULL, pairs);
    ck_assert_uint_eq(rd_kafka_header_cnt(h), 1);
    assert_header(h, 0, "mkb.reason", "mapper's");
    rd_kafka_headers_destroy(h);
    rd_kafka_headers_destroy(orig);

    h = dead_letter_headers(NULL, NULL, NULL);
    ck_assert_ptr_nonnull(h);
    ck_assert_uint_eq(rd_kafka_header_cnt(h), 0);
    rd_kafka_headers_destroy(h);
}
END_TEST

/* In place, on the given headers or on new ones when there are none. */
START_TEST(test_mark)
{
    rd_kafka_headers_t *h = rd_kafka_headers_new(2);
    rd_kafka_header_add(h, "mkb.id", -1, "x", -1);
    const char *const pairs[] = {DEAD_LETTER_KAFKA_TOPIC, "t", NULL};
    ck_assert_ptr_eq(dead_letter_mark(h, "why", pairs), h);
    ck_assert_uint_eq(rd_kafka_header_cnt(h), 3);
    assert_header(h, 0, "mkb.id", "x");
    assert_header(h, 1, "mkb.reason", "why");
    assert_header(h, 2, "mkb.kafka.topic", "t");
    rd_kafka_headers_destroy(h);

    h = dead_letter_mark(NULL, "why", NULL); /* no pairs */
    ck_assert_ptr_nonnull(h);
    ck_assert_uint_eq(rd_kafka_header_cnt(h), 1);
    assert_header(h, 0, "mkb.reason", "why");
    rd_kafka_headers_destroy(h);
}
END_TEST

/* mkb.value.bytes is added once; the mapper's (the original size) stays. */
START_TEST(test_value_bytes)
{
    rd_kafka_headers_t *h = rd_kafka_headers_new(2);
    dead_letter_value_bytes(h, 1048577);
    dead_letter_value_bytes(h, 5);
    ck_assert_uint_eq(rd_kafka_header_cnt(h), 1);
    assert_header(h, 0, "mkb.value.bytes", "1048577");
    rd_kafka_headers_destroy(h);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("dead_letter");
    TCase *tc = tcase_create("dead_letter");
    tcase_add_test(tc, test_names);
    tcase_add_test(tc, test_new_with_pairs);
    tcase_add_test(tc, test_copy_replaces_reason);
    tcase_add_test(tc, test_keep_reason);
    tcase_add_test(tc, test_mark);
    tcase_add_test(tc, test_value_bytes);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) { return check_run(suite()); }
