// SPDX-FileCopyrightText: 2026 The mqtt-kafka-bridge authors
// SPDX-License-Identifier: Apache-2.0
/* kafka_features.c: which SASL mechanisms and OAUTHBEARER methods a
 * librdkafka build can run, from a builtin.features list given here (so
 * that both the accepting and the refusing paths run whatever librdkafka
 * this test is linked with), and the list of the linked build itself. */
#include "kafka_features.h"

#include <check.h>
#include <string.h>

#include "check_run.h"

/* librdkafka 2.12.1 configured --disable-gssapi --disable-curl, and with
 * both (scripts/librdkafka.sh). */
static const char *const without =
    "gzip,snappy,ssl,sasl,regex,lz4,sasl_plain,sasl_scram,plugins,zstd,sasl_oauthbearer";
static const char *const with = "gzip,snappy,ssl,sasl,regex,lz4,sasl_gssapi,sasl_plain,sasl_scram,"
                                "plugins,zstd,sasl_oauthbearer,http,oidc";

static kafka_feat_t feat(const char *features, const char *mech, const char *method, char *why)
{
    why[0] = '\0';
    return kafka_features_check(features, mech, method, why, 600);
}

START_TEST(test_accepted)
{
    char why[600];
    ck_assert_int_eq(feat(with, "GSSAPI", NULL, why), KAFKA_FEAT_OK);
    ck_assert_int_eq(feat(with, NULL, NULL, why), KAFKA_FEAT_OK); /* GSSAPI by default */
    ck_assert_int_eq(feat(with, "OAUTHBEARER", "oidc", why), KAFKA_FEAT_OK);
    ck_assert_int_eq(feat(with, "OAUTHBEARER", "OIDC", why), KAFKA_FEAT_OK);
    ck_assert_int_eq(feat(without, "OAUTHBEARER", NULL, why), KAFKA_FEAT_OK);
    ck_assert_int_eq(feat(without, "OAUTHBEARER", "default", why), KAFKA_FEAT_OK);
    ck_assert_int_eq(feat(without, "SCRAM-SHA-512", NULL, why), KAFKA_FEAT_OK);
    ck_assert_int_eq(feat(without, "PLAIN", "oidc", why), KAFKA_FEAT_OK); /* method unused */
    ck_assert_str_eq(why, "");
}
END_TEST

START_TEST(test_refused)
{
    char why[600];
    ck_assert_int_eq(feat(without, "GSSAPI", NULL, why), KAFKA_FEAT_BAD_MECHANISM);
    ck_assert_msg(strstr(why, "this build of librdkafka has no GSSAPI (Kerberos, through "
                              "cyrus-sasl) support (builtin.features: gzip,"),
                  "%s", why);
    ck_assert_int_eq(feat(without, NULL, NULL, why), KAFKA_FEAT_BAD_MECHANISM);
    ck_assert_msg(strstr(why, "GSSAPI is librdkafka's default, set sasl.mechanism"), "%s", why);
    ck_assert_int_eq(feat(without, "OAUTHBEARER", "oidc", why), KAFKA_FEAT_BAD_METHOD);
    ck_assert_msg(strstr(why, "no OIDC token fetching (libcurl)") && strstr(why, without), "%s",
                  why);
    ck_assert_int_eq(feat(with, "OAUTHBEARER", "jwt", why), KAFKA_FEAT_BAD_METHOD);
    ck_assert_msg(
        strstr(why, "'jwt' is not an OAUTHBEARER method librdkafka knows (default, oidc)"), "%s",
        why);
    ck_assert_int_eq(feat(with, "scram-sha-256", NULL, why), KAFKA_FEAT_BAD_MECHANISM);
    ck_assert_msg(strstr(why, "'scram-sha-256' is not a SASL mechanism librdkafka knows (GSSAPI,"),
                  "%s", why);
    /* a feature's name inside another's is not that feature */
    ck_assert_int_eq(feat("sasl_gssapix,xsasl_gssapi", "GSSAPI", NULL, why),
                     KAFKA_FEAT_BAD_MECHANISM);
    ck_assert_int_eq(feat("", "PLAIN", NULL, why), KAFKA_FEAT_BAD_MECHANISM);
}
END_TEST

/* The linked librdkafka's list: SASL PLAIN and SCRAM are in every build
 * the bridge supports; scripts/librdkafka.sh's adds GSSAPI and OIDC. */
START_TEST(test_builtin)
{
    const char *f = kafka_features_builtin();
    char why[600];
    ck_assert_msg(strstr(f, "sasl_scram"), "%s", f);
    ck_assert_int_eq(feat(f, "SCRAM-SHA-256", NULL, why), KAFKA_FEAT_OK);
    ck_assert_ptr_eq(kafka_features_builtin(), f);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("kafka_features");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_accepted);
    tcase_add_test(tc, test_refused);
    tcase_add_test(tc, test_builtin);
    suite_add_tcase(s, tc);
    return check_run(s);
}
