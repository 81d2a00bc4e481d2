// SPDX-FileCopyrightText: 2026 The mqtt-kafka-bridge authors
// SPDX-License-Identifier: Apache-2.0
/* TLS and SASL on both sides against the real brokers of the harness:
 * Mosquitto's mutual-TLS listener (MKB_MQTTS_URI: a client certificate from
 * the test CA required) and Kafka's SASL_SSL listener
 * (MKB_KAFKA_SASL_SSL_BOOTSTRAP). Right credentials forward; a wrong CA, a
 * client certificate the broker does not trust and a wrong Kafka password
 * are refused with a log line that names the cause, without a retry storm,
 * and never ready; no secret is ever logged, even at debug level.
 * OAUTHBEARER on the same listener: librdkafka's unsecured JWT against
 * Kafka's default validator (no identity provider, so no OIDC). */
#define _GNU_SOURCE /* asprintf, memmem */
#include "itest.h"

#include <MQTTAsync.h>
#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <librdkafka/rdkafka.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "check_run.h"

/* ---- helpers -------------------------------------------------------------- */

static long long mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static char *tls_path(const char *file)
{
    char *p = NULL;
    ck_assert(asprintf(&p, "%s/%s", itest_env("MKB_TLS_DIR"), file) > 0);
    return p;
}

/* The whole of PATH as a string ("" if it cannot be read); caller frees. */
static char *slurp(const char *path)
{
    FILE *f = fopen(path, "r");
    char *buf = NULL;
    size_t len = 0;
    FILE *m = open_memstream(&buf, &len);
    ck_assert(m != NULL);
    if (f) {
        char chunk[65536];
        size_t n;
        while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
            fwrite(chunk, 1, n, m);
        fclose(f);
    }
    fclose(m);
    return buf;
}

/* The first line of PATH without its newline (a secret file). */
static char *first_line(const char *path)
{
    char *s = slurp(path);
    s[strcspn(s, "\r\n")] = '\0';
    ck_assert_msg(s[0], "%s is empty", path);
    return s;
}

/* Lines of PATH containing NEEDLE (and NEEDLE2, if not NULL). */
static int count_lines(const char *path, const char *needle, const char *needle2)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return 0;
    char line[8192];
    int n = 0;
    while (fgets(line, sizeof(line), f))
        n += strstr(line, needle) && (!needle2 || strstr(line, needle2));
    fclose(f);
    return n;
}

static char *mosquitto_log(void)
{
    char *p = NULL;
    ck_assert(asprintf(&p, "%s/mosquitto/mosquitto.log", itest_env("MKB_HARNESS_DIR")) > 0);
    return p;
}

static char *kafka_log(void)
{
    char *p = NULL;
    ck_assert(asprintf(&p, "%s/kafka/kafka.log", itest_env("MKB_HARNESS_DIR")) > 0);
    return p;
}

/* Mosquitto's "New connection from ... on port P." lines for the mutual-TLS
 * listener: connection attempts, whoever made them. */
static int mtls_connections(void)
{
    const char *uri = itest_env("MKB_MQTTS_URI");
    char needle[64];
    snprintf(needle, sizeof(needle), " on port %s.", strrchr(uri, ':') + 1);
    char *log = mosquitto_log();
    int n = count_lines(log, "New connection from", needle);
    free(log);
    return n;
}

/* Kafka's "Failed authentication with" lines (org.apache.kafka.common.network
 * .Selector at INFO, set by the harness): one per refused client connection. */
static int kafka_failed_auths(void)
{
    char *log = kafka_log();
    int n = count_lines(log, "Failed authentication with", NULL);
    free(log);
    return n;
}

/* CPU seconds (user + system) PID has used. */
static double cpu_s(pid_t pid)
{
    char path[64];
    snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
    char *st = slurp(path);
    char *p = strrchr(st, ')');
    ck_assert_msg(p != NULL, "no %s", path);
    unsigned long long ut = 0, stime = 0;
    /* after ")": state ppid pgrp session tty tpgid flags minflt cminflt majflt
     * cmajflt utime stime */
    ck_assert(sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut, &stime) ==
              2);
    free(st);
    return (double)(ut + stime) / (double)sysconf(_SC_CLK_TCK);
}

static bool alive(pid_t pid)
{
    int st;
    return pid > 0 && waitpid(pid, &st, WNOHANG) == 0;
}

/* bridge.yaml: MQTT (URI, client id, MQTT_EXTRA lines), Kafka (BOOTSTRAP,
 * KAFKA_EXTRA lines under kafka:), metrics on METRICS_PORT (0: none), EXTRA. */
static char *config(const char *client, const char *uri, const char *mqtt_extra,
                    const char *bootstrap, const char *kafka_extra, int metrics_port,
                    const char *extra)
{
    char metrics[80] = "";
    if (metrics_port)
        snprintf(metrics, sizeof(metrics), "metrics: { listen: \"127.0.0.1:%d\" }\n", metrics_port);
    char *buf = NULL;
    ck_assert(asprintf(&buf,
                       "mqtt:\n  uri: \"%s\"\n  client_id: %s\n%s"
                       "kafka:\n  bootstrap: \"%s\"\n  flush_timeout_ms: 5000\n%s"
                       "%s%s",
                       uri, client, mqtt_extra ? mqtt_extra : "", bootstrap,
                       kafka_extra ? kafka_extra : "", metrics, extra) > 0);
    return buf;
}

/* mqtt.tls with the test CA (or CA) and client certificate CERT (its key
 * next to it). */
static char *mtls_lines(const char *ca, const char *cert)
{
    char *cap = tls_path(ca), *crt = NULL, *key = NULL, *out = NULL;
    ck_assert(asprintf(&crt, "%s/%s.crt", itest_env("MKB_TLS_DIR"), cert) > 0);
    ck_assert(asprintf(&key, "%s/%s.key", itest_env("MKB_TLS_DIR"), cert) > 0);
    ck_assert(asprintf(&out, "  tls: { ca_file: \"%s\", cert_file: \"%s\", key_file: \"%s\" }\n",
                       cap, crt, key) > 0);
    free(cap);
    free(crt);
    free(key);
    return out;
}

/* kafka.properties for the SASL_SSL listener: MECHANISM, user bridge, the
 * password from the harness's file (sasl.password_file) or PASSWORD. */
static char *sasl_lines(const char *mechanism, const char *password)
{
    char *ca = tls_path("ca.crt"), *out = NULL, *pw = NULL;
    if (password)
        ck_assert(asprintf(&pw, "    sasl.password: \"%s\"\n", password) > 0);
    else
        ck_assert(asprintf(&pw, "    sasl.password_file: \"%s\"\n",
                           itest_env("MKB_KAFKA_SASL_PASSWORD_FILE")) > 0);
    ck_assert(asprintf(&out,
                       "  properties:\n"
                       "    security.protocol: SASL_SSL\n"
                       "    sasl.mechanism: %s\n"
                       "    sasl.username: \"%s\"\n%s"
                       "    ssl.ca.location: \"%s\"\n",
                       mechanism, itest_env("MKB_KAFKA_SASL_USER"), pw, ca) > 0);
    free(ca);
    free(pw);
    return out;
}

/* Kafka's TOPIC holds exactly the N records "PREFIX-0".."PREFIX-<N-1>" the
 * test published, in order (first and last checked). */
static void assert_forwarded(const char *topic, const char *prefix, size_t n)
{
    char **vals, want[64];
    size_t got;
    itest_kafka_read_all(topic, n, 30000, &vals, &got, NULL, NULL);
    ck_assert_uint_eq(got, n);
    snprintf(want, sizeof(want), "%s-0", prefix);
    ck_assert_str_eq(vals[0], want);
    snprintf(want, sizeof(want), "%s-%zu", prefix, n - 1);
    ck_assert_str_eq(vals[n - 1], want);
    itest_free_strings(vals, got);
}

/* ---- MQTT: mutual TLS ----------------------------------------------------- */

/* (a) The test CA and a client certificate it signed: messages flow. */
START_TEST(test_mtls_forwards)
{
    itest_fix_t f;
    itest_fix_init(&f, "mtls", 1, NULL);
    char *tls = mtls_lines("ca.crt", "client");
    char *cfg = config(f.client, itest_env("MKB_MQTTS_URI"), tls, itest_env("MKB_KAFKA_BOOTSTRAP"),
                       NULL, 0, f.routes);
    itest_bridge_t b;
    itest_start_ready(&b, f.client, cfg);
    /* Published on the plain listener of the same broker. */
    itest_mqtt_publish_n("pub-mtls", MQTTVERSION_5, f.mtopic, 1, "mtls-%d", 50);
    itest_wait_count(f.topic, 50, 30000);
    ck_assert_int_eq(itest_bridge_stop(&b, SIGTERM, 30000), 0);
    assert_forwarded(f.topic, "mtls", 50);
    ck_assert_int_eq(count_lines(b.log_path, "TLS with", NULL), 0);
    free(cfg);
    free(tls);
    itest_fix_free(&f);
}
END_TEST

/* A bridge refused by the mutual-TLS listener for WINDOW_MS: it stays up,
 * not ready, forwards nothing, and does not spin (connection attempts,
 * log lines and CPU bounded). Returns the bridge's log as a string. */
static char *refused_run(const char *name, const char *tls, const char *expect_a,
                         const char *expect_b)
{
    const int window_ms = 10000;
    itest_fix_t f;
    itest_fix_init(&f, name, 1, NULL);
    int port = itest_free_port();
    char *cfg = config(f.client, itest_env("MKB_MQTTS_URI"), tls, itest_env("MKB_KAFKA_BOOTSTRAP"),
                       NULL, port, f.routes);
    int conns0 = mtls_connections();
    char *mlog = mosquitto_log();
    int refused0 = count_lines(mlog, "OpenSSL Error", NULL);
    itest_bridge_t b;
    itest_bridge_start(&b, f.client, cfg);
    long long t0 = mono_ms();
    bool said_a = itest_bridge_wait_log(&b, expect_a, window_ms);
    bool said_b = itest_bridge_wait_log(&b, expect_b, window_ms - (int)(mono_ms() - t0));
    ck_assert_msg(alive(b.pid), "the bridge exited");
    double cpu0 = cpu_s(b.pid);
    long long t1 = mono_ms();
    /* Messages published meanwhile must not reach Kafka. */
    itest_mqtt_publish_n("pub-refused", MQTTVERSION_5, f.mtopic, 1, "r-%d", 5);
    long long left = window_ms - (mono_ms() - t0);
    if (left > 0)
        itest_sleep_ms((int)left);
    double cpu = cpu_s(b.pid) - cpu0, secs = (double)(mono_ms() - t1) / 1000.0;
    char body[1024];
    int ready = itest_http_get(port, "/readyz", body, sizeof(body));
    bool up = alive(b.pid);
    int conns = mtls_connections() - conns0;
    int refused = count_lines(mlog, "OpenSSL Error", NULL) - refused0;
    int attempts = count_lines(b.log_path, "cannot connect to", NULL);
    int tls_lines = count_lines(b.log_path, "TLS with", NULL);
    long long fwd = itest_kafka_count(f.topic);
    fprintf(stderr,
            "%s: in %.1f s: %d connection(s) to the mutual-TLS listener (%d refused by "
            "Mosquitto), %d 'cannot connect' line(s), %d 'TLS with' line(s), %.2f CPU s in the "
            "last %.1f s, /readyz %d\n",
            name, (double)(mono_ms() - t0) / 1000.0, conns, refused, attempts, tls_lines, cpu, secs,
            ready);
    if (!said_a || !said_b || ready != 503 || conns > 8 || tls_lines > 3)
        itest_bridge_dump_log(&b);
    ck_assert_msg(said_a, "no '%s' in the log", expect_a);
    ck_assert_msg(said_b, "no '%s' in the log", expect_b);
    ck_assert_msg(up, "the bridge exited");
    ck_assert_int_eq(count_lines(b.log_path, "ready: forwarding", NULL), 0);
    ck_assert_msg(ready == 503 && strstr(body, "MQTT: not connected"), "/readyz %d '%s'", ready,
                  body);
    ck_assert_int_eq(fwd, 0);
    ck_assert_msg(refused >= 1, "Mosquitto logged no refused TLS connection");
    /* Reconnects back off 1, 2, 4, 8 s: 4 in 10 s, plus one diagnostic
     * handshake; a spinning bridge makes hundreds. */
    ck_assert_msg(conns >= 2 && conns <= 8, "%d connections in 10 s", conns);
    ck_assert_msg(attempts >= 2 && attempts <= 6, "%d connect attempts logged in 10 s", attempts);
    /* Each reason once (Paho's and the diagnosis), then once a minute. */
    ck_assert_msg(tls_lines >= 1 && tls_lines <= 3, "%d TLS error lines in 10 s", tls_lines);
    ck_assert_msg(cpu < 2.0, "%.2f CPU s while refused: spinning?", cpu);
    ck_assert_int_eq(itest_bridge_stop(&b, SIGTERM, 30000), 0);
    char *log = slurp(b.log_path);
    free(mlog);
    free(cfg);
    itest_fix_free(&f);
    return log;
}

/* (b) ca_file is the rogue CA: the broker's certificate does not verify. */
START_TEST(test_mtls_wrong_ca)
{
    char *tls = mtls_lines("other-ca.crt", "client");
    char *log = refused_run("mtls-wrongca", tls, "certificate verify failed",
                            "the broker's certificate did not verify");
    ck_assert_msg(strstr(log, "mqtt.tls.ca_file"), "no hint at mqtt.tls.ca_file");
    free(log);
    free(tls);
}
END_TEST

/* (c) A client certificate signed by the rogue CA: Mosquitto refuses it
 * (TLS 1.3: after the client's handshake, so Paho sees only a closed
 * connection; the bridge's own handshake gets the broker's alert). */
START_TEST(test_mtls_rogue_client_cert)
{
    char *tls = mtls_lines("ca.crt", "rogue-client");
    char *log = refused_run("mtls-rogue", tls, "alert unknown ca",
                            "the broker refused our client certificate");
    free(log);
    free(tls);
}
END_TEST

/* An ssl:// URI with no tls: section is verified too, against the system's
 * CAs, which do not hold the harness's test CA: refused. */
START_TEST(test_tls_default_verifies)
{
    itest_fix_t f;
    itest_fix_init(&f, "tlsdefault", 1, NULL);
    char *cfg = config(f.client, itest_env("MKB_MQTT_TLS_URI"), NULL,
                       itest_env("MKB_KAFKA_BOOTSTRAP"), NULL, 0, f.routes);
    itest_bridge_t b;
    itest_bridge_start(&b, f.client, cfg);
    bool said = itest_bridge_wait_log(&b, "certificate verify failed", 15000);
    bool ready = itest_bridge_wait_log(&b, "ready: forwarding", 100);
    if (!said || ready)
        itest_bridge_dump_log(&b);
    ck_assert_int_eq(itest_bridge_stop(&b, SIGTERM, 30000), 0);
    ck_assert_msg(said, "no verification failure without tls: (system CAs)");
    ck_assert_msg(!ready, "connected to a broker whose CA is not a system CA");
    free(cfg);
    itest_fix_free(&f);
}
END_TEST

/* A broker whose certificate (from the trusted test CA) names another host
 * (DNS:wrong.example, not 127.0.0.1): refused by default, with the cause;
 * verify_hostname: false accepts it (the chain is still verified). */
START_TEST(test_tls_hostname_verified)
{
    itest_fix_t f;
    itest_fix_init(&f, "tlshost", 1, NULL);
    char *ca = tls_path("ca.crt"), *tls = NULL;
    ck_assert(asprintf(&tls, "  tls: { ca_file: \"%s\" }\n", ca) > 0);
    char *cfg = config(f.client, itest_env("MKB_MQTT_TLS_WRONGHOST_URI"), tls,
                       itest_env("MKB_KAFKA_BOOTSTRAP"), NULL, 0, f.routes);
    itest_bridge_t b;
    itest_bridge_start(&b, f.client, cfg);
    bool said = itest_bridge_wait_log(&b, "IP address mismatch", 15000);
    bool hint = itest_bridge_wait_log(&b, "mqtt.tls.verify_hostname", 100);
    bool ready = itest_bridge_wait_log(&b, "ready: forwarding", 100);
    if (!said || !hint || ready)
        itest_bridge_dump_log(&b);
    ck_assert_int_eq(itest_bridge_stop(&b, SIGTERM, 30000), 0);
    ck_assert_msg(said && hint, "no host name mismatch logged");
    ck_assert_msg(!ready, "connected to a broker whose certificate names another host");
    free(cfg);
    free(tls);

    ck_assert(asprintf(&tls, "  tls: { ca_file: \"%s\", verify_hostname: false }\n", ca) > 0);
    cfg = config(f.client, itest_env("MKB_MQTT_TLS_WRONGHOST_URI"), tls,
                 itest_env("MKB_KAFKA_BOOTSTRAP"), NULL, 0, f.routes);
    itest_start_ready(&b, f.client, cfg);
    itest_mqtt_publish_n("pub-tlshost", MQTTVERSION_5, f.mtopic, 1, "h-%d", 5);
    itest_wait_count(f.topic, 5, 30000);
    ck_assert_int_eq(itest_bridge_stop(&b, SIGTERM, 30000), 0);
    free(cfg);
    free(tls);
    free(ca);
    itest_fix_free(&f);
}
END_TEST

/* ---- Kafka: SASL_SSL ---------------------------------------------------- */

/* (d) SASL_SSL with the right password (sasl.password_file), the test CA
 * verifying the broker: records reach Kafka (read back in plaintext). */
static void sasl_forwards(const char *mechanism)
{
    itest_fix_t f;
    itest_fix_init(&f, "sasl", 1, NULL);
    char *props = sasl_lines(mechanism, NULL);
    int port = itest_free_port();
    char *cfg = config(f.client, itest_env("MKB_MQTT_URI"), NULL,
                       itest_env("MKB_KAFKA_SASL_SSL_BOOTSTRAP"), props, port, f.routes);
    itest_bridge_t b;
    itest_start_ready(&b, f.client, cfg);
    itest_mqtt_publish_n("pub-sasl", MQTTVERSION_5, f.mtopic, 1, "sasl-%d", 100);
    itest_wait_count(f.topic, 100, 30000);
    char body[1024];
    int ready = -1;
    for (int i = 0; i < 50 && (ready = itest_http_get(port, "/readyz", body, sizeof(body))) != 200;
         i++)
        itest_sleep_ms(200);
    ck_assert_msg(ready == 200, "/readyz %d '%s'", ready, body);
    ck_assert_int_eq(itest_bridge_stop(&b, SIGTERM, 30000), 0);
    assert_forwarded(f.topic, "sasl", 100);
    ck_assert_int_eq(count_lines(b.log_path, "authentication failed", NULL), 0);
    free(cfg);
    free(props);
    itest_fix_free(&f);
}

START_TEST(test_kafka_sasl_ssl_plain)
{
    sasl_forwards("PLAIN");
}
END_TEST

/* SCRAM-SHA-512 with the right password: records flow. librdkafka before
 * 2.6.1 (Debian 12 has 2.0.2) sends a SCRAM nonce Kafka 4 refuses
 * (librdkafka PR 4895), which is why `make deps` builds the pinned
 * librdkafka (scripts/librdkafka.sh) the bridge and this test link. */
START_TEST(test_kafka_sasl_ssl_scram)
{
    ck_assert_msg(rd_kafka_version() >= 0x020601ff,
                  "built against librdkafka %s: SCRAM cannot log in to Kafka 4 before 2.6.1; "
                  "run `make deps` (scripts/librdkafka.sh), then `make clean all`",
                  rd_kafka_version_str());
    sasl_forwards("SCRAM-SHA-512");
}
END_TEST

/* SASL_SSL without ssl.ca.location: librdkafka verifies the broker's
 * certificate against the system's CAs by default, so the test CA's broker
 * is refused, said clearly, and the bridge is not ready. */
START_TEST(test_kafka_tls_verified_by_default)
{
    itest_fix_t f;
    itest_fix_init(&f, "kafkatls", 1, NULL);
    char *props = NULL;
    ck_assert(asprintf(&props,
                       "  properties:\n    security.protocol: SASL_SSL\n"
                       "    sasl.mechanism: PLAIN\n    sasl.username: \"%s\"\n"
                       "    sasl.password_file: \"%s\"\n",
                       itest_env("MKB_KAFKA_SASL_USER"),
                       itest_env("MKB_KAFKA_SASL_PASSWORD_FILE")) > 0);
    int port = itest_free_port();
    char *cfg = config(f.client, itest_env("MKB_MQTT_URI"), NULL,
                       itest_env("MKB_KAFKA_SASL_SSL_BOOTSTRAP"), props, port, f.routes);
    itest_bridge_t b;
    itest_bridge_start(&b, f.client, cfg);
    bool said = itest_bridge_wait_log(&b, "TLS with the broker failed", 15000);
    bool verify = itest_bridge_wait_log(&b, "certificate verify failed", 100);
    char body[1024];
    int ready = itest_http_get(port, "/readyz", body, sizeof(body));
    if (!said || !verify || ready != 503)
        itest_bridge_dump_log(&b);
    ck_assert_msg(said && verify, "no TLS verification error towards Kafka");
    ck_assert_msg(ready == 503 && strstr(body, "Kafka: no broker up"), "/readyz %d '%s'", ready,
                  body);
    ck_assert_int_eq(itest_bridge_stop(&b, SIGTERM, 30000), 0);
    free(cfg);
    free(props);
    itest_fix_free(&f);
}
END_TEST

/* (e) A wrong password, on the producer and on the command consumer and
 * result producer: one clear error line (then one a minute), a bounded
 * number of login attempts counted by the broker, /readyz not ready, and
 * the password itself nowhere in the log. */
START_TEST(test_kafka_wrong_password)
{
    const int window_ms = 20000;
    const char *wrong = "wrong-kafka-password-7f3a";
    itest_fix_t f;
    itest_fix_init(&f, "saslbad", 1, NULL);
    char *props = sasl_lines("PLAIN", wrong);
    int port = itest_free_port();
    char *extra = NULL;
    ck_assert(asprintf(&extra,
                       "%scommands:\n  - name: c\n    kafka: { topic: %s.cmd, group: g-%s }\n"
                       "    mqtt: { topic: \"cmd/{/unit}\" }\n",
                       f.routes, f.topic, f.client) > 0);
    char *cfg = config(f.client, itest_env("MKB_MQTT_URI"), NULL,
                       itest_env("MKB_KAFKA_SASL_SSL_BOOTSTRAP"), props, port, extra);
    int auths0 = kafka_failed_auths();
    itest_bridge_t b;
    itest_bridge_start(&b, f.client, cfg);
    long long t0 = mono_ms();
    bool said = itest_bridge_wait_log(&b, "authentication failed", 15000);
    long long first_ms = mono_ms() - t0;
    long long left = window_ms - (mono_ms() - t0);
    if (left > 0)
        itest_sleep_ms((int)left);
    char body[1024];
    int ready = itest_http_get(port, "/readyz", body, sizeof(body));
    bool up = alive(b.pid);
    int auths = kafka_failed_auths() - auths0;
    int lines = count_lines(b.log_path, "authentication failed", NULL);
    int rdk_errors = count_lines(b.log_path, "ERROR rdkafka", NULL);
    fprintf(stderr,
            "wrong Kafka password: first error line after %lld ms; in %.1f s: %d failed "
            "authentication(s) counted by the broker (3 clients: producer, command consumer, "
            "result producer), %d 'authentication failed' line(s), %d librdkafka error "
            "line(s), /readyz %d\n",
            first_ms, (double)(mono_ms() - t0) / 1000.0, auths, lines, rdk_errors, ready);
    if (!said || lines != 1 || ready != 503)
        itest_bridge_dump_log(&b);
    ck_assert_msg(said, "no authentication error logged within 15 s");
    ck_assert_msg(up, "the bridge exited");
    char *text = slurp(b.log_path);
    ck_assert_msg(strstr(text, "check kafka.properties"), "no hint in the line");
    free(text);
    /* Once, then once a minute (the limiter), for all three clients together. */
    ck_assert_int_eq(lines, 1);
    ck_assert_int_eq(rdk_errors, 0); /* librdkafka's own FAIL lines: debug only */
    /* librdkafka backs off from 100 ms to 10 s (reconnect.backoff.*): about
     * 5 logins per client in 20 s; a storm would be hundreds. */
    ck_assert_msg(auths >= 1 && auths <= 30, "%d failed logins in 20 s", auths);
    ck_assert_msg(ready == 503 && strstr(body, "Kafka: no broker up"), "/readyz %d '%s'", ready,
                  body);
    ck_assert_int_eq(itest_bridge_stop(&b, SIGTERM, 30000), 0);
    char *log = slurp(b.log_path);
    ck_assert_msg(!strstr(log, wrong), "the password is in the log");
    free(log);
    free(cfg);
    free(extra);
    free(props);
    itest_fix_free(&f);
}
END_TEST

/* ---- Kafka: OAUTHBEARER --------------------------------------------------- */

/* kafka.properties for OAUTHBEARER on the SASL_SSL listener with
 * librdkafka's built-in unsecured JWT (alg none) for principal bridge with
 * SCOPE: Kafka's default validator (the harness's broker) accepts it when
 * the scope is the one it requires. No identity provider here: the OIDC
 * method (sasl.oauthbearer.method: oidc) is not tested. */
static char *oauth_lines(const char *scope)
{
    char *ca = tls_path("ca.crt"), *out = NULL;
    ck_assert(asprintf(&out,
                       "  properties:\n"
                       "    security.protocol: SASL_SSL\n"
                       "    sasl.mechanism: OAUTHBEARER\n"
                       "    enable.sasl.oauthbearer.unsecure.jwt: \"true\"\n"
                       "    sasl.oauthbearer.config: \"principal=bridge scope=%s\"\n"
                       "    ssl.ca.location: \"%s\"\n",
                       scope, ca) > 0);
    free(ca);
    return out;
}

/* (g) OAUTHBEARER with a token the broker accepts: records reach Kafka. */
START_TEST(test_kafka_oauthbearer)
{
    itest_fix_t f;
    itest_fix_init(&f, "oauth", 1, NULL);
    char *props = oauth_lines(itest_env("MKB_KAFKA_OAUTH_SCOPE"));
    char *cfg = config(f.client, itest_env("MKB_MQTT_URI"), NULL,
                       itest_env("MKB_KAFKA_SASL_SSL_BOOTSTRAP"), props, 0, f.routes);
    int auths0 = kafka_failed_auths();
    itest_bridge_t b;
    itest_start_ready(&b, f.client, cfg);
    itest_mqtt_publish_n("pub-oauth", MQTTVERSION_5, f.mtopic, 1, "oauth-%d", 100);
    itest_wait_count(f.topic, 100, 30000);
    ck_assert_int_eq(itest_bridge_stop(&b, SIGTERM, 30000), 0);
    assert_forwarded(f.topic, "oauth", 100);
    ck_assert_int_eq(count_lines(b.log_path, "authentication failed", NULL), 0);
    ck_assert_int_eq(kafka_failed_auths() - auths0, 0);
    free(cfg);
    free(props);
    itest_fix_free(&f);
}
END_TEST

/* (h) A token without the scope the broker requires: Kafka refuses the
 * login (and counts it), the bridge says why, and is not ready. */
START_TEST(test_kafka_oauthbearer_wrong_scope)
{
    itest_fix_t f;
    itest_fix_init(&f, "oauthbad", 1, NULL);
    char *props = oauth_lines("mkb.other");
    int port = itest_free_port();
    char *cfg = config(f.client, itest_env("MKB_MQTT_URI"), NULL,
                       itest_env("MKB_KAFKA_SASL_SSL_BOOTSTRAP"), props, port, f.routes);
    int auths0 = kafka_failed_auths();
    itest_bridge_t b;
    itest_bridge_start(&b, f.client, cfg);
    bool said = itest_bridge_wait_log(&b, "authentication failed", 15000);
    /* Kafka's own reason (RFC 6750's error code) and our hint */
    bool mech = itest_bridge_wait_log(&b, "insufficient_scope", 100) &&
                itest_bridge_wait_log(&b, "sasl.oauthbearer.*", 100);
    itest_sleep_ms(2000);
    char body[1024];
    int ready = itest_http_get(port, "/readyz", body, sizeof(body));
    int auths = kafka_failed_auths() - auths0;
    fprintf(stderr, "OAUTHBEARER without the scope: %d failed authentication(s) counted by the "
                    "broker, /readyz %d\n", auths, ready);
    if (!said || !mech || ready != 503)
        itest_bridge_dump_log(&b);
    ck_assert_msg(said && mech, "no OAUTHBEARER authentication error (insufficient_scope) logged within 15 s");
    ck_assert_msg(auths >= 1, "the broker counted no failed authentication");
    ck_assert_msg(ready == 503 && strstr(body, "Kafka: no broker up"), "/readyz %d '%s'", ready,
                  body);
    ck_assert_int_eq(itest_bridge_stop(&b, SIGTERM, 30000), 0);
    free(cfg);
    free(props);
    itest_fix_free(&f);
}
END_TEST

/* ---- secrets ------------------------------------------------------------ */

/* (f) At log level debug, with librdkafka's conf and security debug
 * contexts on, an MQTT password, a TLS key password and a SASL password in
 * use (all three connect and forward): none of them is in the log, nor in
 * what `check` and `--help-config` print. */
START_TEST(test_secrets_never_logged)
{
    itest_fix_t f;
    itest_fix_init(&f, "secrets", 1, NULL);
    char *mqtt_pw = itest_unique("mqtt-secret");
    char *key_pw_file = tls_path("client-enc.password");
    char *key_pw = first_line(key_pw_file);
    char *sasl_pw = first_line(itest_env("MKB_KAFKA_SASL_PASSWORD_FILE"));
    char *ca = tls_path("ca.crt"), *crt = tls_path("client.crt"), *key = tls_path("client-enc.key");
    char *mqtt_extra = NULL, *extra = NULL;
    /* The mutual-TLS listener lets anyone with a certificate in: the
     * user name and password are sent, and accepted. */
    ck_assert(asprintf(&mqtt_extra,
                       "  username: bridge\n  password: \"%s\"\n"
                       "  tls: { ca_file: \"%s\", cert_file: \"%s\", key_file: \"%s\","
                       " key_password: \"%s\" }\n",
                       mqtt_pw, ca, crt, key, key_pw) > 0);
    char *props = sasl_lines("PLAIN", sasl_pw);
    char *kafka_extra = NULL;
    /* ssl.key.password unused (no client key for Kafka) but configured:
     * librdkafka's dump must redact it too. */
    char *kafka_key_pw = itest_unique("kafka-key-secret");
    ck_assert(asprintf(&kafka_extra,
                       "%s    ssl.key.password: \"%s\"\n    debug: \"conf,security,broker\"\n",
                       props, kafka_key_pw) > 0);
    ck_assert(asprintf(&extra,
                       "log_level: debug\n%scommands:\n  - name: c\n"
                       "    kafka: { topic: %s.cmd, group: g-%s }\n"
                       "    mqtt: { topic: \"cmd/{/unit}\" }\n",
                       f.routes, f.topic, f.client) > 0);
    char *cfg = config(f.client, itest_env("MKB_MQTTS_URI"), mqtt_extra,
                       itest_env("MKB_KAFKA_SASL_SSL_BOOTSTRAP"), kafka_extra, 0, extra);
    itest_bridge_t b;
    itest_start_ready(&b, f.client, cfg);
    itest_mqtt_publish_n("pub-secrets", MQTTVERSION_5, f.mtopic, 1, "s-%d", 10);
    itest_wait_count(f.topic, 10, 30000);
    ck_assert_int_eq(itest_bridge_stop(&b, SIGTERM, 30000), 0);

    /* check and --help-config on the same file. */
    char *out = NULL, *cmd = NULL;
    ck_assert(asprintf(&out, "%s/secrets-cli.txt", itest_env("MKB_HARNESS_DIR")) > 0);
    ck_assert(asprintf(&cmd, "'%s' check -c '%s' > '%s' 2>&1; '%s' --help-config >> '%s' 2>&1",
                       itest_env("MKB_BRIDGE_BIN"), b.config_path, out, itest_env("MKB_BRIDGE_BIN"),
                       out) > 0);
    int st = system(cmd);
    ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0, "check/--help-config status %d", st);

    char *log = slurp(b.log_path), *cli = slurp(out);
    size_t debug_lines = 0;
    for (const char *p = log; (p = strstr(p, " DEBUG ")); p++)
        debug_lines++;
    fprintf(stderr,
            "secrets: log of %zu bytes (%zu debug lines, librdkafka conf dump: %s, "
            "'[redacted]' %s), check + --help-config output %zu bytes\n",
            strlen(log), debug_lines, strstr(log, "sasl.username") ? "yes" : "no",
            strstr(log, "[redacted]") ? "present" : "absent", strlen(cli));
    ck_assert_msg(debug_lines > 50, "only %zu debug lines: not at debug level?", debug_lines);
    ck_assert_msg(strstr(log, "sasl.username"), "librdkafka's conf debug dump is missing");
    ck_assert_msg(strstr(log, "[redacted]"), "librdkafka's conf dump redacted nothing");
    const char *secrets[] = {mqtt_pw, key_pw, sasl_pw, kafka_key_pw};
    const char *names[] = {"the MQTT password", "the TLS key password", "the SASL password",
                           "Kafka's ssl.key.password"};
    for (int i = 0; i < 4; i++) {
        ck_assert_msg(!strstr(log, secrets[i]), "%s is in the log", names[i]);
        ck_assert_msg(!strstr(cli, secrets[i]), "%s is in check/--help-config output", names[i]);
    }
    free(log);
    free(cli);
    free(cmd);
    free(out);
    free(cfg);
    free(extra);
    free(kafka_extra);
    free(props);
    free(mqtt_extra);
    free(ca);
    free(crt);
    free(key);
    free(sasl_pw);
    free(key_pw);
    free(key_pw_file);
    free(mqtt_pw);
    free(kafka_key_pw);
    itest_fix_free(&f);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("security");
    TCase *mqtt = tcase_create("mqtt-tls");
    tcase_set_timeout(mqtt, 120);
    tcase_add_test(mqtt, test_mtls_forwards);
    tcase_add_test(mqtt, test_mtls_wrong_ca);
    tcase_add_test(mqtt, test_mtls_rogue_client_cert);
    tcase_add_test(mqtt, test_tls_default_verifies);
    tcase_add_test(mqtt, test_tls_hostname_verified);
    suite_add_tcase(s, mqtt);
    TCase *kafka = tcase_create("kafka-sasl");
    tcase_set_timeout(kafka, 120);
    tcase_add_test(kafka, test_kafka_sasl_ssl_plain);
    tcase_add_test(kafka, test_kafka_sasl_ssl_scram);
    tcase_add_test(kafka, test_kafka_wrong_password);
    tcase_add_test(kafka, test_kafka_tls_verified_by_default);
    tcase_add_test(kafka, test_kafka_oauthbearer);
    tcase_add_test(kafka, test_kafka_oauthbearer_wrong_scope);
    suite_add_tcase(s, kafka);
    TCase *secrets = tcase_create("secrets");
    tcase_set_timeout(secrets, 120);
    tcase_add_test(secrets, test_secrets_never_logged);
    suite_add_tcase(s, secrets);
    return check_run(s);
}
