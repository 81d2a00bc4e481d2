// SPDX-FileCopyrightText: 2026 The mqtt-kafka-bridge authors
// SPDX-License-Identifier: Apache-2.0
#include "kafka_features.h"

#include <librdkafka/rdkafka.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

static char builtin[512];
static pthread_once_t builtin_once = PTHREAD_ONCE_INIT;

static void read_builtin(void)
{
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    size_t n = sizeof(builtin);
    if (!conf || rd_kafka_conf_get(conf, "builtin.features", builtin, &n) != RD_KAFKA_CONF_OK)
        builtin[0] = '\0';
    if (conf)
        rd_kafka_conf_destroy(conf);
}

const char *kafka_features_builtin(void)
{
    pthread_once(&builtin_once, read_builtin);
    return builtin;
}

/* True if FEATURE is one of the comma-separated FEATURES. */
static bool has_feature(const char *features, const char *feature)
{
    size_t fl = strlen(feature);
    for (const char *p = features; p && *p;) {
        const char *end = strchr(p, ',');
        size_t l = end ? (size_t)(end - p) : strlen(p);
        if (l == fl && strncmp(p, feature, fl) == 0)
            return true;
        p = end ? end + 1 : NULL;
    }
    return false;
}

/* The mechanisms librdkafka knows and the feature each needs. */
static const struct {
    const char *mechanism, *feature, *what;
} mechanisms[] = {
    {"GSSAPI", "sasl_gssapi", "GSSAPI (Kerberos, through cyrus-sasl)"},
    {"PLAIN", "sasl_plain", "PLAIN"},
    {"SCRAM-SHA-256", "sasl_scram", "SCRAM"},
    {"SCRAM-SHA-512", "sasl_scram", "SCRAM"},
    {"OAUTHBEARER", "sasl_oauthbearer", "OAUTHBEARER"},
};

static kafka_feat_t check_method(const char *features, const char *method, char *why,
                                 size_t why_size)
{
    if (!method || strcasecmp(method, "default") == 0)
        return KAFKA_FEAT_OK;
    if (strcasecmp(method, "oidc") != 0) {
        snprintf(why, why_size,
                 "'%s' is not an OAUTHBEARER method librdkafka knows (default, oidc)", method);
        return KAFKA_FEAT_BAD_METHOD;
    }
    if (has_feature(features, "oidc"))
        return KAFKA_FEAT_OK;
    snprintf(why, why_size,
             "this build of librdkafka has no OIDC token fetching (libcurl) for "
             "sasl.oauthbearer.method oidc (builtin.features: %s)",
             features);
    return KAFKA_FEAT_BAD_METHOD;
}

kafka_feat_t kafka_features_check(const char *features, const char *mechanism, const char *method,
                                  char *why, size_t why_size)
{
    const char *m = mechanism ? mechanism : "GSSAPI";
    for (size_t i = 0; i < sizeof(mechanisms) / sizeof(mechanisms[0]); i++) {
        if (strcmp(m, mechanisms[i].mechanism) != 0)
            continue;
        if (!has_feature(features, mechanisms[i].feature)) {
            snprintf(why, why_size,
                     "this build of librdkafka has no %s support%s (builtin.features: %s)",
                     mechanisms[i].what,
                     mechanism ? "" : "; GSSAPI is librdkafka's default, set sasl.mechanism",
                     features);
            return KAFKA_FEAT_BAD_MECHANISM;
        }
        return strcmp(m, "OAUTHBEARER") == 0 ? check_method(features, method, why, why_size)
                                             : KAFKA_FEAT_OK;
    }
    snprintf(why, why_size,
             "'%s' is not a SASL mechanism librdkafka knows (GSSAPI, PLAIN, SCRAM-SHA-256, "
             "SCRAM-SHA-512, OAUTHBEARER)",
             m);
    return KAFKA_FEAT_BAD_MECHANISM;
}
