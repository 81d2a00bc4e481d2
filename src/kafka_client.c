// SPDX-FileCopyrightText: 2026 The mqtt-kafka-bridge authors
// SPDX-License-Identifier: Apache-2.0
#include "kafka_client.h"

#include "err.h"
#include "log.h"

#include <jansson.h>
#include <stdio.h>
#include <string.h>

int kafka_client_set(rd_kafka_conf_t *conf, const char *name, const char *value, const char *where,
                     char *errstr, size_t errstr_size)
{
    char err[512];
    if (rd_kafka_conf_set(conf, name, value, err, sizeof(err)) != RD_KAFKA_CONF_OK) {
        snprintf(errstr, errstr_size, "%s: %s=%s: %s", where, name,
                 config_is_secret_property(name) ? "(secret, not shown)" : value, err);
        return MKB_ERR_CONFIG;
    }
    return MKB_OK;
}

int kafka_client_set_pairs(rd_kafka_conf_t *conf, const char *const *pairs, const char *where,
                           char *errstr, size_t errstr_size)
{
    int rc = MKB_OK;
    for (size_t i = 0; pairs[i] && rc == MKB_OK; i += 2)
        rc = kafka_client_set(conf, pairs[i], pairs[i + 1], where, errstr, errstr_size);
    return rc;
}

/* A consumer reads commands with the producers' connection settings only:
 * kafka.properties are producer properties, which a consumer would ignore
 * with a warning each. */
static bool connection_property(const char *name)
{
    static const char *const prefixes[] = {"security.", "sasl.", "ssl.", "socket.", "broker."};
    for (size_t j = 0; j < sizeof(prefixes) / sizeof(prefixes[0]); j++)
        if (strncmp(name, prefixes[j], strlen(prefixes[j])) == 0)
            return true;
    return false;
}

int kafka_client_apply(rd_kafka_conf_t *conf, const config_t *cfg, kafka_client_kind_t kind,
                       const char *client_id, const char *where, char *errstr,
                       size_t errstr_size)
{
    int rc;
    if ((rc = kafka_client_set(conf, "client.id", client_id, where, errstr, errstr_size)) ||
        (rc = kafka_client_set(conf, "bootstrap.servers", cfg->kafka_bootstrap,
                               "kafka.bootstrap", errstr, errstr_size)))
        return rc;
    for (size_t i = 0; i < cfg->kafka_properties_n; i++) {
        const config_kv_t *kv = &cfg->kafka_properties[i];
        if ((kind == KAFKA_CLIENT_PRODUCER || connection_property(kv->key)) &&
            (rc = kafka_client_set(conf, kv->key, kv->value, "kafka.properties", errstr,
                                   errstr_size)))
            return rc;
    }
    rd_kafka_conf_set_log_cb(conf, kafka_client_log_cb);
    rd_kafka_conf_set_error_cb(conf, kafka_client_error_cb);
    return MKB_OK;
}

rd_kafka_t *kafka_client_new(kafka_client_kind_t kind, rd_kafka_conf_t *conf, const char *what,
                             char *errstr, size_t errstr_size)
{
    char err[512];
    rd_kafka_t *rk = rd_kafka_new(kind == KAFKA_CLIENT_CONSUMER ? RD_KAFKA_CONSUMER
                                                                : RD_KAFKA_PRODUCER,
                                  conf, err, sizeof(err));
    if (!rk) {
        rd_kafka_conf_destroy(conf); /* rd_kafka_new takes it only on success */
        snprintf(errstr, errstr_size, "%s: cannot create the client: %s", what, err);
    }
    return rk;
}

/* A broker connection that failed authentication or its TLS handshake: the
 * same event also comes to the error callback, which reports it with a hint
 * and rate-limited (kafka_client_report_error), so the FAIL line is debug
 * only. */
static bool auth_failure_line(const char *fac, const char *buf)
{
    return strcmp(fac, "FAIL") == 0 &&
           (strstr(buf, "SASL authentication error") || strstr(buf, "SSL handshake failed") ||
            strstr(buf, "SASL SCRAM") || strstr(buf, "SASL PLAIN"));
}

void kafka_client_log_cb(const rd_kafka_t *rk, int level, const char *fac, const char *buf)
{
    /* syslog levels: 0-3 error, 4 warning, 5-6 info, 7 debug */
    log_level_t l = level <= 3 ? LOG_LVL_ERROR
                               : level == 4 ? LOG_LVL_WARN : level <= 6 ? LOG_LVL_INFO
                                                                        : LOG_LVL_DEBUG;
    if (l < LOG_LVL_DEBUG && auth_failure_line(fac, buf))
        l = LOG_LVL_DEBUG;
    log_msg(l, "rdkafka", "[%s] %s: %s", rd_kafka_name(rk), fac, buf);
}

/* Process-wide: every producer and the command consumers share one limiter
 * per kind, so N clients failing the same way still make one line a minute. */
static log_limit_t auth_limit = LOG_LIMIT_INIT, tls_limit = LOG_LIMIT_INIT;
#define AUTH_LOG_INTERVAL_MS 60000

/* True when this failure is to be logged now (at most once a minute per
 * kind); AGAIN then says how many were not since. */
static bool report_now(log_limit_t *lim, const char *kind, char *again, size_t size)
{
    unsigned long more = 0;
    if (!log_limit(lim, kind, AUTH_LOG_INTERVAL_MS, &more))
        return false;
    if (more)
        snprintf(again, size, " (%lu more failed attempt(s) in the last minute)", more);
    return true;
}

void kafka_client_report_error(rd_kafka_t *rk, int err, const char *reason)
{
    char again[96] = "";
    const char *what, *check;
    log_limit_t *lim;
    if (err == RD_KAFKA_RESP_ERR__AUTHENTICATION) {
        lim = &auth_limit;
        what = "authentication failed";
        check = "security.protocol, sasl.mechanism, sasl.username and sasl.password (OAUTHBEARER: "
                "the token, sasl.oauthbearer.*); retrying "
                "with backoff (reconnect.backoff.max.ms)";
    } else if (err == RD_KAFKA_RESP_ERR__SSL) {
        lim = &tls_limit;
        what = "TLS with the broker failed";
        check = "ssl.ca.location (the CA that signed the broker's certificate), "
                "ssl.certificate.location and ssl.key.location; retrying with backoff";
    } else {
        /* Transport errors are retried by librdkafka; say so once per event. */
        log_warn("kafka", "%s: %s (librdkafka retries)", rd_kafka_err2name(err), reason);
        return;
    }
    if (report_now(lim, lim == &auth_limit ? "auth" : "tls", again, sizeof(again)))
        log_error("kafka", "[%s] %s: %s; check kafka.properties %s%s", rd_kafka_name(rk), what,
                  reason, check, again);
}

void kafka_client_error_cb(rd_kafka_t *rk, int err, const char *reason, void *opaque)
{
    (void)opaque;
    if (err == RD_KAFKA_RESP_ERR__FATAL) {
        char buf[512];
        rd_kafka_fatal_error(rk, buf, sizeof(buf));
        log_error("kafka", "[%s] fatal error: %s", rd_kafka_name(rk), buf);
        return;
    }
    kafka_client_report_error(rk, err, reason);
}

bool kafka_client_stats(const char *json, size_t len, uint64_t *brokers_up,
                        uint64_t *broker_errors)
{
    json_error_t e;
    json_t *root = json_loadb(json, len, 0, &e);
    json_t *brokers = root ? json_object_get(root, "brokers") : NULL;
    const char *name;
    json_t *b;
    uint64_t up = 0, errs = 0;
    json_object_foreach(brokers, name, b)
    {
        json_t *state = json_object_get(b, "state"), *id = json_object_get(b, "nodeid");
        up += json_is_string(state) && strcmp(json_string_value(state), "UP") == 0 &&
              json_integer_value(id) >= 0;
        /* cumulative per broker connection: send and receive errors, timeouts */
        errs += (uint64_t)json_integer_value(json_object_get(b, "txerrs")) +
                (uint64_t)json_integer_value(json_object_get(b, "rxerrs")) +
                (uint64_t)json_integer_value(json_object_get(b, "req_timeouts"));
    }
    bool parsed = root != NULL;
    json_decref(root);
    *brokers_up = up;
    *broker_errors = errs;
    return parsed;
}

static bool topic_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           c == '.' || c == '_' || c == '-';
}

bool kafka_client_topic_check(const char *t, size_t n, char *why, size_t why_size)
{
    if (n == 0 || n > 249) {
        snprintf(why, why_size, "%zu characters; 1 to 249 are allowed", n);
        return false;
    }
    if ((n == 1 && t[0] == '.') || (n == 2 && t[0] == '.' && t[1] == '.')) {
        snprintf(why, why_size, "'.' and '..' are not allowed");
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        if (!topic_char(t[i])) {
            unsigned char c = (unsigned char)t[i];
            if (c >= 0x20 && c < 0x7f)
                snprintf(why, why_size, "'%c' at %zu is not allowed: only a-z A-Z 0-9 . _ -",
                         c, i + 1);
            else
                snprintf(why, why_size, "byte 0x%02x at %zu is not allowed: only a-z A-Z 0-9 . _ -",
                         c, i + 1);
            return false;
        }
    }
    return true;
}
