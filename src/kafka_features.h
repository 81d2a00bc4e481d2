// SPDX-FileCopyrightText: 2026 The mqtt-kafka-bridge authors
// SPDX-License-Identifier: Apache-2.0
/* Which SASL mechanisms (and OAUTHBEARER methods) this build of librdkafka
 * can run, from its builtin.features list: GSSAPI needs cyrus-sasl
 * (sasl_gssapi), sasl.oauthbearer.method oidc needs libcurl (oidc). A
 * mechanism librdkafka was built without fails only at the first login, so
 * `check` asks here first. */
#ifndef MKB_KAFKA_FEATURES_H
#define MKB_KAFKA_FEATURES_H

#include <stddef.h>

/* librdkafka's builtin.features of the linked library ("gzip,snappy,ssl,
 * sasl,..."); a static string, read once. */
const char *kafka_features_builtin(void);

typedef enum {
    KAFKA_FEAT_OK = 0,
    KAFKA_FEAT_BAD_MECHANISM, /* the mechanism is unknown or not built in */
    KAFKA_FEAT_BAD_METHOD,    /* the OAUTHBEARER method is unknown or not built in */
} kafka_feat_t;

/* Whether a client with FEATURES (a builtin.features list) can log in with
 * MECHANISM (sasl.mechanism, "GSSAPI" if NULL: librdkafka's default) and,
 * for OAUTHBEARER, METHOD (sasl.oauthbearer.method, "default" if NULL).
 * Anything but KAFKA_FEAT_OK writes the reason to WHY. */
kafka_feat_t kafka_features_check(const char *features, const char *mechanism, const char *method,
                                  char *why, size_t why_size);

#endif
