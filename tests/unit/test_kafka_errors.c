// SPDX-FileCopyrightText: 2026 The mqtt-kafka-bridge authors
// SPDX-License-Identifier: Apache-2.0
/* kafka_errors.c: the one table that sorts librdkafka's delivery and
 * produce errors into transient (wait and retry) and permanent (dead
 * letter). */
#include "kafka_errors.h"

#include <check.h>
#include <librdkafka/rdkafka.h>
#include <string.h>

#include "check_run.h"

/* What issue 15 saw dead-lettered after a 40 s outage must wait instead. */
START_TEST(test_unknown_topic_waits_for_the_broker)
{
    kafka_wait_reason_t r = KAFKA_WAIT_OTHER;
    ck_assert_int_eq(kafka_err_classify(RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART, &r),
                     KAFKA_ERR_TOPIC_UNKNOWN);
    ck_assert_int_eq(r, KAFKA_WAIT_UNKNOWN_TOPIC);
    ck_assert_int_eq(kafka_err_classify(RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC, NULL),
                     KAFKA_ERR_TOPIC_UNKNOWN);
    ck_assert_int_eq(kafka_err_classify(RD_KAFKA_RESP_ERR__UNKNOWN_PARTITION, NULL),
                     KAFKA_ERR_TOPIC_UNKNOWN);
    ck_assert_str_eq(kafka_wait_reason_name(r), "unknown_topic");
}
END_TEST

START_TEST(test_transient)
{
    static const struct {
        rd_kafka_resp_err_t err;
        kafka_wait_reason_t reason;
    } cases[] = {
        {RD_KAFKA_RESP_ERR_LEADER_NOT_AVAILABLE, KAFKA_WAIT_NO_LEADER},
        {RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION, KAFKA_WAIT_NO_LEADER},
        {RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT, KAFKA_WAIT_TIMEOUT},
        {RD_KAFKA_RESP_ERR__TIMED_OUT, KAFKA_WAIT_TIMEOUT},
        {RD_KAFKA_RESP_ERR__MSG_TIMED_OUT, KAFKA_WAIT_TIMEOUT},
        {RD_KAFKA_RESP_ERR__TRANSPORT, KAFKA_WAIT_BROKER_DOWN},
        {RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN, KAFKA_WAIT_BROKER_DOWN},
        {RD_KAFKA_RESP_ERR_NOT_ENOUGH_REPLICAS, KAFKA_WAIT_REPLICAS},
        {RD_KAFKA_RESP_ERR_NOT_ENOUGH_REPLICAS_AFTER_APPEND, KAFKA_WAIT_REPLICAS},
        {RD_KAFKA_RESP_ERR_THROTTLING_QUOTA_EXCEEDED, KAFKA_WAIT_THROTTLED},
        {RD_KAFKA_RESP_ERR__QUEUE_FULL, KAFKA_WAIT_QUEUE_FULL},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        kafka_wait_reason_t r = KAFKA_WAIT_REASONS;
        ck_assert_msg(kafka_err_classify(cases[i].err, &r) == KAFKA_ERR_TRANSIENT, "%s",
                      rd_kafka_err2name(cases[i].err));
        ck_assert_msg(r == cases[i].reason, "%s: reason %s", rd_kafka_err2name(cases[i].err),
                      kafka_wait_reason_name(r));
    }
}
END_TEST

START_TEST(test_permanent)
{
    static const rd_kafka_resp_err_t cases[] = {
        RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE,        RD_KAFKA_RESP_ERR_RECORD_LIST_TOO_LARGE,
        RD_KAFKA_RESP_ERR_TOPIC_EXCEPTION,           RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED,
        RD_KAFKA_RESP_ERR_CLUSTER_AUTHORIZATION_FAILED, RD_KAFKA_RESP_ERR_INVALID_RECORD,
        RD_KAFKA_RESP_ERR_INVALID_MSG,               RD_KAFKA_RESP_ERR_POLICY_VIOLATION,
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        ck_assert_msg(kafka_err_classify(cases[i], NULL) == KAFKA_ERR_PERMANENT, "%s",
                      rd_kafka_err2name(cases[i]));
    /* Not in the table: permanent (librdkafka retried what it could). */
    ck_assert_int_eq(kafka_err_classify(RD_KAFKA_RESP_ERR_INVALID_CONFIG, NULL),
                     KAFKA_ERR_PERMANENT);
}
END_TEST

/* Each error once; every reason has a label; the rows agree with
 * kafka_err_classify. */
START_TEST(test_table_consistent)
{
    int n = kafka_err_table_size();
    ck_assert_int_gt(n, 40);
    for (int i = 0; i < n; i++) {
        int err;
        kafka_err_class_t cls;
        kafka_wait_reason_t r;
        ck_assert(kafka_err_table_row(i, &err, &cls, &r));
        for (int j = i + 1; j < n; j++) {
            int e2;
            kafka_err_class_t c2;
            kafka_wait_reason_t r2;
            ck_assert(kafka_err_table_row(j, &e2, &c2, &r2));
            ck_assert_msg(err != e2, "%s twice", rd_kafka_err2name((rd_kafka_resp_err_t)err));
        }
        kafka_wait_reason_t r3;
        ck_assert_int_eq(kafka_err_classify(err, &r3), cls);
        ck_assert_int_eq(r3, r);
    }
    ck_assert(!kafka_err_table_row(n, &(int){0}, &(kafka_err_class_t){0},
                                   &(kafka_wait_reason_t){0}));
    for (int i = 0; i < KAFKA_WAIT_REASONS; i++)
        ck_assert(strlen(kafka_wait_reason_name((kafka_wait_reason_t)i)) > 0);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("kafka_errors");
    TCase *tc = tcase_create("classify");
    tcase_add_test(tc, test_unknown_topic_waits_for_the_broker);
    tcase_add_test(tc, test_transient);
    tcase_add_test(tc, test_permanent);
    tcase_add_test(tc, test_table_consistent);
    suite_add_tcase(s, tc);
    return check_run(s);
}
