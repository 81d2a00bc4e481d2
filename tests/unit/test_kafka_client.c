// SPDX-FileCopyrightText: 2026 The mqtt-kafka-bridge authors
// SPDX-License-Identifier: Apache-2.0
/* kafka_client.c: how every Kafka client is configured (a property's error
 * never shows a secret; a consumer takes only the connection's
 * kafka.properties), the statistics the metrics read, and Kafka's rule for
 * topic names. config_is_secret_property (config.c) is stubbed. */
#include "config.h"
#include "err.h"
#include "kafka_client.h"

#include <check.h>
#include <string.h>

#include "check_run.h"

/* Stub: the names the test calls secret. */
bool config_is_secret_property(const char *key)
{
    return strcmp(key, "sasl.password") == 0 || strcmp(key, "linger.ms") == 0;
}

START_TEST(test_set_hides_secrets)
{
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    char err[512];
    ck_assert_int_eq(kafka_client_set(conf, "linger.ms", "banana-7", "kafka.properties", err,
                                      sizeof(err)),
                     MKB_ERR_CONFIG);
    ck_assert_msg(strstr(err, "kafka.properties: linger.ms=(secret, not shown): ") &&
                      !strstr(err, "banana-7"),
                  "%s", err);
    ck_assert_int_eq(kafka_client_set(conf, "batch.size", "pear", "defaults", err, sizeof(err)),
                     MKB_ERR_CONFIG);
    ck_assert_msg(strstr(err, "defaults: batch.size=pear: "), "%s", err);
    /* pairs: set in order, stopping at the first error */
    const char *const pairs[] = {"acks", "1", "batch.size", "x", "client.id", "never", NULL};
    ck_assert_int_eq(kafka_client_set_pairs(conf, pairs, "p", err, sizeof(err)), MKB_ERR_CONFIG);
    char v[64];
    size_t n = sizeof(v);
    ck_assert_int_eq(rd_kafka_conf_get(conf, "client.id", v, &n), RD_KAFKA_CONF_OK);
    ck_assert_str_ne(v, "never");
    rd_kafka_conf_destroy(conf);
}
END_TEST

static void get(rd_kafka_conf_t *conf, const char *name, char *v, size_t size)
{
    ck_assert_int_eq(rd_kafka_conf_get(conf, name, v, &size), RD_KAFKA_CONF_OK);
}

/* A producer takes kafka.properties in full, a consumer those of the
 * connection only (they are producer properties). */
START_TEST(test_apply_by_kind)
{
    config_kv_t props[] = {{"linger.ms", "7", false}, {"socket.timeout.ms", "12345", false}};
    config_t cfg;
    memset(&cfg, 0, sizeof(cfg));
    cfg.kafka_bootstrap = "127.0.0.1:1";
    cfg.kafka_properties = props;
    cfg.kafka_properties_n = 2;
    char err[512], v[64];
    for (int kind = 0; kind < 2; kind++) {
        rd_kafka_conf_t *conf = rd_kafka_conf_new();
        ck_assert_int_eq(kafka_client_apply(conf, &cfg, (kafka_client_kind_t)kind, "cid-x", "w",
                                            err, sizeof(err)),
                         MKB_OK);
        get(conf, "client.id", v, sizeof(v));
        ck_assert_str_eq(v, "cid-x");
        get(conf, "bootstrap.servers", v, sizeof(v));
        ck_assert_str_eq(v, "127.0.0.1:1");
        get(conf, "socket.timeout.ms", v, sizeof(v));
        ck_assert_str_eq(v, "12345");
        get(conf, "linger.ms", v, sizeof(v));
        if (kind == KAFKA_CLIENT_PRODUCER)
            ck_assert_str_eq(v, "7");
        else
            ck_assert_str_ne(v, "7");
        rd_kafka_conf_destroy(conf);
    }
}
END_TEST

START_TEST(test_stats)
{
    const char *json = "{\"brokers\":{"
                       "\"a:9092/1\":{\"state\":\"UP\",\"nodeid\":1,\"txerrs\":2,\"rxerrs\":1,"
                       "\"req_timeouts\":3},"
                       "\"a:9092/bootstrap\":{\"state\":\"UP\",\"nodeid\":-1},"
                       "\"b:9092/2\":{\"state\":\"DOWN\",\"nodeid\":2,\"txerrs\":4}}}";
    uint64_t up = 9, errs = 9;
    ck_assert(kafka_client_stats(json, strlen(json), &up, &errs));
    ck_assert_uint_eq(up, 1); /* the bootstrap connection is not a broker */
    ck_assert_uint_eq(errs, 10);
    ck_assert(!kafka_client_stats("{", 1, &up, &errs));
    ck_assert_uint_eq(up, 0);
}
END_TEST

START_TEST(test_topic_names)
{
    char why[128], longname[251];
    ck_assert(kafka_client_topic_check("hvac.commands_2-x", 17, why, sizeof(why)));
    ck_assert(!kafka_client_topic_check("", 0, why, sizeof(why)));
    ck_assert_str_eq(why, "0 characters; 1 to 249 are allowed");
    memset(longname, 'a', sizeof(longname));
    ck_assert(kafka_client_topic_check(longname, 249, why, sizeof(why)));
    ck_assert(!kafka_client_topic_check(longname, 250, why, sizeof(why)));
    ck_assert(!kafka_client_topic_check(".", 1, why, sizeof(why)));
    ck_assert(!kafka_client_topic_check("..", 2, why, sizeof(why)));
    ck_assert_str_eq(why, "'.' and '..' are not allowed");
    ck_assert(kafka_client_topic_check("...", 3, why, sizeof(why)));
    ck_assert(!kafka_client_topic_check("a/b", 3, why, sizeof(why)));
    ck_assert_str_eq(why, "'/' at 2 is not allowed: only a-z A-Z 0-9 . _ -");
    ck_assert(!kafka_client_topic_check("a\x80", 2, why, sizeof(why)));
    ck_assert_str_eq(why, "byte 0x80 at 2 is not allowed: only a-z A-Z 0-9 . _ -");
    ck_assert(!kafka_client_topic_check("a b", 3, NULL, 0)); /* no reason wanted */
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("kafka_client");
    TCase *tc = tcase_create("kafka_client");
    tcase_add_test(tc, test_set_hides_secrets);
    tcase_add_test(tc, test_apply_by_kind);
    tcase_add_test(tc, test_stats);
    tcase_add_test(tc, test_topic_names);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) { return check_run(suite()); }
