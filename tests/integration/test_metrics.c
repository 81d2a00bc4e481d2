// SPDX-FileCopyrightText: 2026 The mqtt-kafka-bridge authors
// SPDX-License-Identifier: Apache-2.0
/* The metrics endpoint (metrics.listen) against real brokers: the HTTP
 * surface (/metrics, /healthz, /readyz, 404, 405), the exposition format as
 * promtool checks it, the counters after a known stream, a real Prometheus
 * scraping the bridge (tests/harness/prometheus.sh), and /readyz during an
 * MQTT outage. HTTP is spoken over plain sockets: no client library. */
#define _GNU_SOURCE /* asprintf, strcasestr */
#include "itest.h"

#include <MQTTAsync.h>
#include <check.h>

#include "check_run.h"
#include <arpa/inet.h>
#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* ---- HTTP (itest_http_request) ------------------------------------------- */

/* The status of METHOD PATH; aborts if the endpoint does not answer. */
static int http_status(int port, const char *method, const char *path, itest_http_resp_t *r)
{
    errno = 0;
    int rc = itest_http_request(port, method, path, r);
    ck_assert_msg(rc == 0, "%s %s on port %d: %s", method, path, port,
                  r->body ? r->body : strerror(errno));
    return r->status;
}

/* Polls GET PATH until it answers WANT (the last answer in *R); false after
 * TIMEOUT_MS. */
static bool http_wait_status(int port, const char *path, int want, int timeout_ms,
                             itest_http_resp_t *r)
{
    memset(r, 0, sizeof(*r));
    for (int waited = 0;; waited += 200) {
        itest_http_free(r);
        if (itest_http_request(port, "GET", path, r) == 0 && r->status == want)
            return true;
        if (waited >= timeout_ms)
            return false;
        itest_sleep_ms(200);
    }
}

/* ---- the exposition text ------------------------------------------------ */

/* The value of the sample SERIES ("name" or "name{label=\"v\",...}", exactly
 * as the bridge writes it) in TEXT; NAN if there is no such line. */
static double sample(const char *text, const char *series)
{
    size_t n = strlen(series);
    for (const char *line = text; line && *line;) {
        if (strncmp(line, series, n) == 0 && line[n] == ' ')
            return strtod(line + n + 1, NULL);
        line = strchr(line, '\n');
        if (line)
            line++;
    }
    return NAN;
}

/* GET /metrics: 200 with the body (caller frees). */
static char *scrape(int port)
{
    itest_http_resp_t r;
    ck_assert_int_eq(http_status(port, "GET", "/metrics", &r), 200);
    return r.body;
}

/* SERIES from GET /metrics; NAN if it does not answer 200 (never aborts). */
static double scrape_sample(int port, const char *series)
{
    itest_http_resp_t r;
    double v = NAN;
    if (itest_http_request(port, "GET", "/metrics", &r) == 0 && r.status == 200)
        v = sample(r.body, series);
    itest_http_free(&r);
    return v;
}

/* Polls /metrics until SERIES equals WANT; returns the last value seen. */
static double wait_sample(int port, const char *series, double want, int timeout_ms)
{
    double v = NAN;
    for (int waited = 0; waited <= timeout_ms; waited += 200) {
        char *text = scrape(port);
        v = sample(text, series);
        free(text);
        if (v == want)
            break;
        itest_sleep_ms(200);
    }
    return v;
}

/* ---- fixtures, as in test_resilience.c ---------------------------------- */

/* bridge.yaml: MQTT, Kafka, metrics on 127.0.0.1:PORT, then EXTRA. */
static char *config(const char *client, int port, const char *extra)
{
    char *buf = NULL;
    ck_assert(asprintf(&buf,
                       "mqtt:\n  uri: \"%s\"\n  client_id: %s\n"
                       "kafka:\n  bootstrap: %s\n"
                       "metrics: { listen: \"127.0.0.1:%d\" }\n"
                       "%s",
                       itest_env("MKB_MQTT_URI"), client, itest_env("MKB_KAFKA_BOOTSTRAP"), port,
                       extra) > 0);
    return buf;
}

/* A unique Kafka topic (created), a unique bridge client id, an MQTT filter
 * "<name>/<topic>/#" with a topic under it, one raw route "r" between them. */



/* The bridge up with metrics on a free port and /readyz 200. */
static int start_with_metrics(itest_bridge_t *b, const itest_fix_t *f, char **cfg)
{
    int port = itest_free_port();
    *cfg = config(f->client, port, f->routes);
    itest_start_ready(b, f->client, *cfg);
    itest_http_resp_t r;
    bool ready = http_wait_status(port, "/readyz", 200, 20000, &r);
    if (!ready) {
        itest_bridge_dump_log(b);
        ck_abort_msg("GET /readyz on port %d: %d '%s', not 200 within 20 s of 'ready: "
                     "forwarding'",
                     port, r.status, r.body ? r.body : "(no answer)");
    }
    itest_http_free(&r);
    return port;
}

static char *read_text(const char *path)
{
    FILE *f = fopen(path, "r");
    ck_assert_msg(f != NULL, "%s: %s", path, strerror(errno));
    char *s = NULL;
    size_t cap = 0;
    ssize_t n = getdelim(&s, &cap, '\0', f);
    fclose(f);
    if (n < 0) {
        free(s);
        return strdup("");
    }
    return s;
}

/* ---- tests -------------------------------------------------------------- */

/* The HTTP surface: /healthz, /readyz, /metrics and what is not there. */
START_TEST(test_endpoints)
{
    itest_fix_t f;
    itest_fix_init(&f, "mendp", 1, NULL);
    char *cfg;
    itest_bridge_t b;
    int port = start_with_metrics(&b, &f, &cfg);
    itest_http_resp_t r;

    ck_assert_int_eq(http_status(port, "GET", "/healthz", &r), 200);
    itest_http_free(&r);
    ck_assert_int_eq(http_status(port, "GET", "/readyz", &r), 200);
    itest_http_free(&r);

    struct {
        const char *method, *path;
        int want;
    } cases[] = {
        {"POST", "/metrics", 405}, {"PUT", "/metrics", 405},   {"DELETE", "/healthz", 405},
        {"POST", "/readyz", 405},  {"GET", "/nope", 404},      {"GET", "/", 404},
        {"GET", "/metricsx", 404}, {"GET", "/metrics/x", 404},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        int st = http_status(port, cases[i].method, cases[i].path, &r);
        ck_assert_msg(st == cases[i].want, "%s %s: %d, want %d (body '%s')", cases[i].method,
                      cases[i].path, st, cases[i].want, r.body);
        /* RFC 9110 15.5.6: a 405 names the methods that are allowed. */
        ck_assert_msg(st != 405 || strstr(r.allow, "GET"), "%s %s: 405 without Allow: GET ('%s')",
                      cases[i].method, cases[i].path, r.allow);
        itest_http_free(&r);
    }

    ck_assert_int_eq(http_status(port, "GET", "/metrics", &r), 200);
    ck_assert_msg(strncmp(r.ctype, "text/plain; version=0.0.4", 25) == 0,
                  "Content-Type '%s', want text/plain; version=0.0.4", r.ctype);
    ck_assert_msg(strstr(r.body, "\nmkb_build_info{") ||
                      strncmp(r.body, "mkb_build_info{", 15) == 0,
                  "no mkb_build_info sample in:\n%s", r.body);
    char *version = read_text(MKB_SOURCE_DIR "/VERSION");
    version[strcspn(version, "\r\n")] = '\0';
    char series[128];
    snprintf(series, sizeof(series), "mkb_build_info{version=\"%s\"}", version);
    ck_assert_msg(sample(r.body, series) == 1, "no '%s 1' in:\n%s", series, r.body);
    free(version);
    itest_http_free(&r);

    ck_assert_int_eq(itest_bridge_stop(&b, SIGTERM, 30000), 0);
    free(cfg);
    itest_fix_free(&f);
}
END_TEST

/* A live scrape after a known stream: promtool accepts it, and the counters
 * count that stream. */
START_TEST(test_promtool_and_counts)
{
    const int n = 50;
    itest_fix_t f;
    itest_fix_init(&f, "mcount", 1, NULL);
    char *cfg;
    itest_bridge_t b;
    int port = start_with_metrics(&b, &f, &cfg);
    char *pub = itest_unique("pub");
    itest_mqtt_publish_n(pub, MQTTVERSION_5, f.mtopic, 1, "c-%d", n);
    itest_wait_count(f.topic, n, 30000);
    double delivered = wait_sample(port, "mkb_kafka_records_delivered_total", n, 10000);

    char *text = scrape(port);
    char *path = NULL, *out = NULL, *cmd = NULL;
    ck_assert(asprintf(&path, "%s/%s.metrics", itest_env("MKB_HARNESS_DIR"), f.client) > 0);
    ck_assert(asprintf(&out, "%s.promtool", path) > 0);
    itest_write_file(path, text);
    ck_assert(asprintf(&cmd, "promtool check metrics < '%s' > '%s' 2>&1", path, out) > 0);
    int st = system(cmd);
    int rc = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
    if (rc != 0) {
        char *said = read_text(out);
        fprintf(stderr, "--- %s\n%s--- promtool check metrics (exit %d):\n%s", path, text, rc,
                said);
        free(said);
    }
    ck_assert_msg(rc == 0, "promtool check metrics < %s: exit %d", path, rc);

    int bytes = 0; /* payload bytes published: "c-0".."c-49" */
    for (int i = 0; i < n; i++)
        bytes += snprintf(NULL, 0, "c-%d", i);
    double received = sample(text, "mkb_mqtt_messages_received_total");
    double rbytes = sample(text, "mkb_mqtt_bytes_received_total");
    double records = sample(text, "mkb_records_total{route=\"r\"}");
    double produced = sample(text, "mkb_kafka_records_produced_total");
    double unmatched = sample(text, "mkb_mqtt_messages_unmatched_total");
    double connected = sample(text, "mkb_mqtt_connected");
    double subs = sample(text, "mkb_mqtt_subscriptions");
    double lat_count = sample(text, "mkb_delivery_latency_seconds_count");
    double lat_inf = sample(text, "mkb_delivery_latency_seconds_bucket{le=\"+Inf\"}");
    fprintf(stderr,
            "metrics after %d messages: received %g (%g bytes, %d payload bytes), records{r} "
            "%g, produced %g, delivered %g, unmatched %g, connected %g, subscriptions %g, "
            "latency count %g (+Inf bucket %g)\n",
            n, received, rbytes, bytes, records, produced, delivered, unmatched, connected, subs,
            lat_count, lat_inf);
    ck_assert_msg(received == n, "mkb_mqtt_messages_received_total %g, want %d", received, n);
    ck_assert_msg(rbytes >= bytes, "mkb_mqtt_bytes_received_total %g < %d payload bytes", rbytes,
                  bytes);
    ck_assert_msg(records == n, "mkb_records_total{route=\"r\"} %g, want %d", records, n);
    ck_assert_msg(produced == n, "mkb_kafka_records_produced_total %g, want %d", produced, n);
    ck_assert_msg(delivered == n, "mkb_kafka_records_delivered_total %g, want %d", delivered, n);
    ck_assert_msg(unmatched == 0, "mkb_mqtt_messages_unmatched_total %g, want 0", unmatched);
    ck_assert_msg(connected == 1, "mkb_mqtt_connected %g, want 1", connected);
    ck_assert_msg(subs == 1, "mkb_mqtt_subscriptions %g, want 1 (one route)", subs);
    ck_assert_msg(lat_count == n && lat_inf == n,
                  "mkb_delivery_latency_seconds count %g, +Inf bucket %g, want %d", lat_count,
                  lat_inf, n);

    free(text);
    ck_assert_int_eq(itest_bridge_stop(&b, SIGTERM, 30000), 0);
    free(cmd);
    free(out);
    free(path);
    free(pub);
    free(cfg);
    itest_fix_free(&f);
}
END_TEST

/* Fields kept by their on_error through the running bridge: the records
 * in Kafka carry mkb.field_errors (the name rendered from a capture) and
 * mkb_field_errors_total counts each failed field of the route. */
START_TEST(test_field_errors_counted)
{
    itest_fix_t f;
    itest_fix_init(&f, "mfield", 1, NULL);
    free(f.routes);
    ck_assert(asprintf(&f.routes,
                       "routes:\n  - name: r\n    mqtt: { filter: \"mfield/%s/{metric}\" }\n"
                       "    kafka: { topic: %s }\n"
                       "    fields: { \"{metric}\": { from: /v, type: number, round: 1, "
                       "on_error: null } }\n",
                       f.topic, f.topic) > 0);
    char *cfg;
    itest_bridge_t b;
    int port = start_with_metrics(&b, &f, &cfg);
    char *pub = itest_unique("pub");
    itest_mqtt_publish_n(pub, MQTTVERSION_5, f.mtopic, 1, "{\"v\": \"bad-%d\"}", 3);
    itest_mqtt_publish_n(pub, MQTTVERSION_5, f.mtopic, 1, "{\"v\": %d.25}", 2);
    double counted = wait_sample(port, "mkb_field_errors_total{route=\"r\"}", 3, 20000);
    ck_assert_msg(counted == 3, "mkb_field_errors_total{route=\"r\"} %g, want 3", counted);
    ck_assert_int_eq(itest_bridge_stop(&b, SIGTERM, 30000), 0);

    char **vals, **keys, **hdrs;
    size_t count, failed = 0, nulls = 0;
    itest_kafka_read_all(f.topic, 5, 30000, &vals, &count, &keys, &hdrs);
    ck_assert_uint_eq(count, 5);
    bool r0 = false, r1 = false; /* 0.25 and 1.25: halves away from zero */
    for (size_t i = 0; i < count; i++) {
        failed += strstr(hdrs[i], "mkb.field_errors=x;") != NULL;
        nulls += strcmp(vals[i], "{\"x\":null}") == 0;
        r0 |= strcmp(vals[i], "{\"x\":0.3}") == 0;
        r1 |= strcmp(vals[i], "{\"x\":1.3}") == 0;
    }
    ck_assert_msg(failed == 3 && nulls == 3 && r0 && r1, "%zu failed, %zu null, 0.3 %d, 1.3 %d",
                  failed, nulls, r0, r1);
    itest_free_strings(vals, count);
    itest_free_strings(keys, count);
    itest_free_strings(hdrs, count);
    free(pub);
    free(cfg);
    itest_fix_free(&f);
}
END_TEST

/* Prometheus for test_prometheus_scrape: its directory is chosen in the
 * parent (unchecked fixture), so the teardown there stops it even when the
 * test's child process failed or timed out. */
static char prom_dir[600];

static int prom_ctl(const char *args)
{
    char cmd[1600];
    snprintf(cmd, sizeof(cmd), "'%s/tests/harness/prometheus.sh' %s", MKB_SOURCE_DIR, args);
    int st = system(cmd);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static void prom_setup(void)
{
    const char *dir = getenv("MKB_HARNESS_DIR");
    snprintf(prom_dir, sizeof(prom_dir), "%s/prometheus-%d", dir ? dir : "/tmp", (int)getpid());
}

static void prom_teardown(void)
{
    char args[700];
    snprintf(args, sizeof(args), "stop '%s'", prom_dir);
    prom_ctl(args);
}

/* An instant query to Prometheus on PORT: the value of the first series
 * (NAN if the result is empty). Aborts if the API says error. */
static double prom_query(int port, const char *expr)
{
    char path[1024] = "/api/v1/query?query=";
    size_t used = strlen(path);
    for (const unsigned char *p = (const unsigned char *)expr; *p && used + 4 < sizeof(path); p++) {
        if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
            strchr("_-.~", *p))
            path[used++] = (char)*p;
        else
            used += (size_t)snprintf(path + used, sizeof(path) - used, "%%%02X", *p);
    }
    path[used] = '\0';
    itest_http_resp_t r;
    ck_assert_int_eq(http_status(port, "GET", path, &r), 200);
    json_error_t err;
    json_t *root = json_loads(r.body, 0, &err);
    ck_assert_msg(root != NULL, "query %s: bad JSON (%s): %s", expr, err.text, r.body);
    ck_assert_msg(json_is_string(json_object_get(root, "status")) &&
                      strcmp(json_string_value(json_object_get(root, "status")), "success") == 0,
                  "query %s: %s", expr, r.body);
    json_t *result = json_object_get(json_object_get(root, "data"), "result");
    ck_assert_msg(json_is_array(result), "query %s: no data.result: %s", expr, r.body);
    double v = NAN;
    if (json_array_size(result) > 0) {
        json_t *val = json_array_get(json_object_get(json_array_get(result, 0), "value"), 1);
        ck_assert_msg(json_is_string(val), "query %s: no value: %s", expr, r.body);
        v = strtod(json_string_value(val), NULL);
    }
    json_decref(root);
    itest_http_free(&r);
    return v;
}

/* A real Prometheus scrapes the bridge every second and sees the N
 * messages the bridge received. */
START_TEST(test_prometheus_scrape)
{
    const int n = 500;
    itest_fix_t f;
    itest_fix_init(&f, "mprom", 1, NULL);
    char *cfg;
    itest_bridge_t b;
    int port = start_with_metrics(&b, &f, &cfg);
    char *pub = itest_unique("pub");
    itest_mqtt_publish_n(pub, MQTTVERSION_5, f.mtopic, 1, "p-%d", n);
    itest_wait_count(f.topic, n, 30000);

    char args[800];
    snprintf(args, sizeof(args), "start '%s' 127.0.0.1:%d > /dev/null", prom_dir, port);
    ck_assert_msg(prom_ctl(args) == 0, "prometheus.sh %s failed", args);
    char *port_path = NULL;
    ck_assert(asprintf(&port_path, "%s/prometheus.port", prom_dir) > 0);
    char *port_text = read_text(port_path);
    int pport = atoi(port_text);
    ck_assert_msg(pport > 0, "%s: '%s'", port_path, port_text);

    /* The first scrape comes ~5 s after start (service discovery's update
     * interval); then one a second. Wait for three successful ones. */
    double scrapes = NAN, up = NAN;
    for (int waited = 0; waited <= 30000; waited += 500) {
        scrapes = prom_query(pport, "count_over_time(up{job=\"mqtt-kafka-bridge\"}[1m])");
        up = prom_query(pport, "up{job=\"mqtt-kafka-bridge\"}");
        if (scrapes >= 3 && up == 1)
            break;
        itest_sleep_ms(500);
    }
    ck_assert_msg(scrapes >= 3 && up == 1,
                  "Prometheus on %d: %g scrapes of 127.0.0.1:%d in 30 s, up %g (see "
                  "%s/prometheus.log and its /targets page)",
                  pport, scrapes, port, up, prom_dir);
    double received = prom_query(pport, "sum(mkb_mqtt_messages_received_total)");
    double delivered = NAN;
    for (int waited = 0; waited <= 10000; waited += 500) {
        delivered = prom_query(pport, "sum(mkb_kafka_records_delivered_total)");
        if (delivered == n)
            break;
        itest_sleep_ms(500);
    }
    double per_job = prom_query(
        pport, "sum by (job) (mkb_mqtt_messages_received_total{job=\"mqtt-kafka-bridge\"})");
    fprintf(stderr,
            "Prometheus (port %d, %g scrapes): mkb_mqtt_messages_received_total %g, "
            "mkb_kafka_records_delivered_total %g, want %d\n",
            pport, scrapes, received, delivered, n);
    ck_assert_msg(received == n, "Prometheus: sum(mkb_mqtt_messages_received_total) %g, want %d",
                  received, n);
    ck_assert_msg(per_job == n, "Prometheus: job mqtt-kafka-bridge received %g, want %d", per_job,
                  n);
    ck_assert_msg(delivered == n, "Prometheus: sum(mkb_kafka_records_delivered_total) %g, want %d",
                  delivered, n);

    snprintf(args, sizeof(args), "stop '%s'", prom_dir);
    ck_assert_int_eq(prom_ctl(args), 0);
    ck_assert_int_eq(itest_bridge_stop(&b, SIGTERM, 30000), 0);
    free(port_text);
    free(port_path);
    free(pub);
    free(cfg);
    itest_fix_free(&f);
}
END_TEST

/* Mosquitto stopped: /readyz answers 503 naming MQTT and mkb_mqtt_connected
 * drops to 0; started again: 200, connected 1, one more reconnect. */
START_TEST(test_readyz_mqtt_outage)
{
    itest_fix_t f;
    itest_fix_init(&f, "mready", 1, NULL);
    char *cfg;
    itest_bridge_t b;
    int port = start_with_metrics(&b, &f, &cfg);
    char *text = scrape(port);
    double reconnects0 = sample(text, "mkb_mqtt_reconnects_total");
    free(text);

    itest_harness_ctl("stop-mosquitto");
    /* No assertion until Mosquitto runs again: later tests need it. */
    itest_http_resp_t down;
    bool went_503 = http_wait_status(port, "/readyz", 503, 30000, &down);
    double connected_down = scrape_sample(port, "mkb_mqtt_connected");
    itest_harness_ctl("start-mosquitto");

    ck_assert_msg(went_503, "GET /readyz with Mosquitto stopped: %d '%s', want 503", down.status,
                  down.body ? down.body : "(no answer)");
    fprintf(stderr, "/readyz with Mosquitto stopped: 503 '%s'\n", down.body);
    ck_assert_msg(strcasestr(down.body, "mqtt") != NULL, "503 body does not name MQTT: '%s'",
                  down.body);
    ck_assert_msg(connected_down == 0, "mkb_mqtt_connected %g while Mosquitto is stopped",
                  connected_down);
    itest_http_free(&down);

    itest_http_resp_t up;
    bool back = http_wait_status(port, "/readyz", 200, 60000, &up);
    if (!back)
        itest_bridge_dump_log(&b);
    ck_assert_msg(back, "GET /readyz after Mosquitto restarted: %d '%s', want 200", up.status,
                  up.body ? up.body : "(no answer)");
    itest_http_free(&up);
    text = scrape(port);
    double connected = sample(text, "mkb_mqtt_connected");
    double reconnects = sample(text, "mkb_mqtt_reconnects_total");
    free(text);
    ck_assert_msg(connected == 1, "mkb_mqtt_connected %g after the reconnect", connected);
    ck_assert_msg(reconnects >= reconnects0 + 1, "mkb_mqtt_reconnects_total %g, before %g",
                  reconnects, reconnects0);
    ck_assert_int_eq(itest_bridge_stop(&b, SIGTERM, 30000), 0);
    free(cfg);
    itest_fix_free(&f);
}
END_TEST

/* ---- basic authentication, HTTPS, limits ---------------------------------- */

/* Runs a shell command; returns its exit status (or -1) and its output in
 * OUT (NUL-terminated, truncated to SIZE). */
static int run_cmd(const char *cmd, char *out, size_t size)
{
    FILE *p = popen(cmd, "r");
    ck_assert_msg(p != NULL, "popen %s: %s", cmd, strerror(errno));
    size_t n = fread(out, 1, size - 1, p);
    out[n] = '\0';
    int st = pclose(p);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* curl over HTTPS to the endpoint; returns the HTTP status (0: no answer).
 * USERPASS "user:pass" or NULL; CURL_ARGS more arguments. Headers and body
 * land in OUT. */
static int curl_status(const char *ca, int port, const char *path, const char *userpass,
                       const char *curl_args, char *out, size_t size)
{
    char *cmd = NULL;
    ck_assert(asprintf(&cmd,
                       "curl -sS -D - --max-time 10 %s%s%s %s %s%s "
                       "'https://127.0.0.1:%d%s' -w '\\nstatus=%%{http_code}\\n' 2>&1",
                       userpass ? "-u '" : "", userpass ? userpass : "", userpass ? "'" : "",
                       curl_args, ca ? "--cacert " : "", ca ? ca : "", port, path) > 0);
    run_cmd(cmd, out, size);
    free(cmd);
    const char *st = strstr(out, "status=");
    return st ? atoi(st + 7) : 0;
}

/* An open TCP connection to the endpoint that says nothing. */
static int idle_conn(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    ck_assert(fd >= 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ck_assert(connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0);
    return fd;
}

/* metrics.username/password_file and metrics.tls: HTTPS only, 401 without
 * the right credentials, 431 for an oversized request, 8 connections from
 * one address at most; the password is never in the (debug) log. */
START_TEST(test_auth_tls_limits)
{
    const char *dir = itest_env("MKB_HARNESS_DIR");
    char key[600], crt[600], pwf[600], out[65536], cmd[2400];
    snprintf(key, sizeof(key), "%s/metrics-%d.key", dir, (int)getpid());
    snprintf(crt, sizeof(crt), "%s/metrics-%d.crt", dir, (int)getpid());
    snprintf(pwf, sizeof(pwf), "%s/metrics-%d.pw", dir, (int)getpid());
    snprintf(cmd, sizeof(cmd),
             "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 "
             "-subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1 -keyout '%s' -out '%s' "
             "2>&1",
             key, crt);
    ck_assert_msg(run_cmd(cmd, out, sizeof(out)) == 0, "openssl: %s", out);
    const char *password = "Scrape-Me-7f3a91";
    itest_write_file(pwf, password);
    ck_assert(chmod(pwf, 0600) == 0 && chmod(key, 0600) == 0);

    itest_fix_t f;
    itest_fix_init(&f, "mauth", 1, NULL);
    int port = itest_free_port();
    char *cfg = NULL;
    ck_assert(asprintf(&cfg,
                       "mqtt:\n  uri: \"%s\"\n  client_id: %s\n"
                       "kafka:\n  bootstrap: %s\n"
                       "log_level: debug\n"
                       "metrics:\n  listen: \"127.0.0.1:%d\"\n  username: prom\n"
                       "  password_file: %s\n  tls: { cert_file: %s, key_file: %s }\n%s",
                       itest_env("MKB_MQTT_URI"), f.client, itest_env("MKB_KAFKA_BOOTSTRAP"),
                       port, pwf, crt, key, f.routes) > 0);
    itest_bridge_t b;
    itest_start_ready(&b, f.client, cfg);
    char good[128];
    snprintf(good, sizeof(good), "prom:%s", password);

    /* Right credentials over HTTPS, verified against the test certificate. */
    int st = 0;
    for (int i = 0; i < 100 && st != 200; i++, itest_sleep_ms(100))
        st = curl_status(crt, port, "/readyz", good, "", out, sizeof(out));
    ck_assert_msg(st == 200, "GET /readyz with credentials: %d\n%s", st, out);
    st = curl_status(crt, port, "/metrics", good, "", out, sizeof(out));
    ck_assert_msg(st == 200 && strstr(out, "mkb_build_info{"), "GET /metrics: %d\n%s", st, out);

    /* No, or wrong, credentials: 401 with a Basic challenge, on every path. */
    const char *paths[] = {"/metrics", "/healthz", "/readyz", "/nope"};
    for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
        st = curl_status(crt, port, paths[i], NULL, "", out, sizeof(out));
        ck_assert_msg(st == 401, "GET %s without credentials: %d\n%s", paths[i], st, out);
        ck_assert_msg(strcasestr(out, "WWW-Authenticate: Basic realm=\"mqtt-kafka-bridge\""),
                      "401 without a Basic challenge:\n%s", out);
        ck_assert_msg(!strstr(out, "mkb_"), "a 401 carried metrics:\n%s", out);
    }
    st = curl_status(crt, port, "/metrics", "prom:wrong", "", out, sizeof(out));
    ck_assert_msg(st == 401, "wrong password: %d\n%s", st, out);
    snprintf(cmd, sizeof(cmd), "root:%s", password);
    st = curl_status(crt, port, "/metrics", cmd, "", out, sizeof(out));
    ck_assert_msg(st == 401, "wrong user name: %d\n%s", st, out);

    /* HTTPS only: plain HTTP gets no HTTP answer; a client that does not
     * trust the certificate refuses it (curl exit 60). */
    itest_http_resp_t r;
    ck_assert_msg(itest_http_request(port, "GET", "/healthz", &r) != 0 || r.status != 200,
                  "plain HTTP answered %d", r.status);
    itest_http_free(&r);
    snprintf(cmd, sizeof(cmd), "curl -sS --max-time 10 -u '%s' https://127.0.0.1:%d/healthz 2>&1",
             good, port);
    int rc = run_cmd(cmd, out, sizeof(out));
    ck_assert_msg(rc == 60, "curl without the CA: exit %d (want 60)\n%s", rc, out);

    /* A request larger than 64 KiB of headers: 431, and the server lives. */
    const size_t big_len = (size_t)100 * 1024;
    char *big = malloc(big_len + 64);
    ck_assert_ptr_nonnull(big);
    int pre = snprintf(big, 64, "-H 'X-Big: ");
    memset(big + pre, 'a', big_len);
    memcpy(big + pre + big_len, "'", 2);
    st = curl_status(crt, port, "/healthz", good, big, out, sizeof(out));
    free(big);
    ck_assert_msg(st == 431, "100 KiB header: %d (want 431)\n%.400s", st, out);

    /* Eight idle connections from this address: the ninth is refused; once
     * they are closed, requests are served again. */
    int fds[8];
    for (int i = 0; i < 8; i++)
        fds[i] = idle_conn(port);
    itest_sleep_ms(300);
    st = curl_status(crt, port, "/healthz", good, "", out, sizeof(out));
    ck_assert_msg(st == 0, "a ninth connection from one address was served: %d\n%s", st, out);
    for (int i = 0; i < 8; i++)
        close(fds[i]);
    st = 0;
    for (int i = 0; i < 50 && st != 200; i++, itest_sleep_ms(100))
        st = curl_status(crt, port, "/healthz", good, "", out, sizeof(out));
    ck_assert_msg(st == 200, "after closing the idle connections: %d\n%s", st, out);

    ck_assert_int_eq(itest_bridge_stop(&b, SIGTERM, 30000), 0);
    char *log = read_text(b.log_path);
    ck_assert_msg(strstr(log, "on https://127.0.0.1:") && strstr(log, "(basic authentication)"),
                  "no HTTPS/basic authentication start line in the log");
    ck_assert_msg(strstr(log, " DEBUG "), "the log is not at debug level");
    ck_assert_msg(!strstr(log, password), "the metrics password is in the log");
    free(log);
    free(cfg);
    itest_fix_free(&f);
}
END_TEST

/* ---- process_* and IPv6 ------------------------------------------------- */

/* The bridge up with metrics.listen LISTEN (a format with %d for the port)
 * and /readyz 200 over IP. */
static int start_listen(itest_bridge_t *b, const itest_fix_t *f, char **cfg, const char *listen,
                        const char *ip)
{
    int port = itest_free_port();
    char addr[128], extra[1200];
    snprintf(addr, sizeof(addr), listen, port);
    snprintf(extra, sizeof(extra), "metrics: { listen: \"%s\" }\n%s", addr, f->routes);
    ck_assert(asprintf(cfg, "mqtt:\n  uri: \"%s\"\n  client_id: %s\nkafka:\n  bootstrap: %s\n%s",
                       itest_env("MKB_MQTT_URI"), f->client, itest_env("MKB_KAFKA_BOOTSTRAP"),
                       extra) > 0);
    itest_start_ready(b, f->client, *cfg);
    for (int waited = 0;; waited += 200) {
        itest_http_resp_t r;
        int st = itest_http_request_at(ip, port, "GET", "/readyz", &r) == 0 ? r.status : -1;
        itest_http_free(&r);
        if (st == 200)
            break;
        if (waited >= 20000) {
            itest_bridge_dump_log(b);
            ck_abort_msg("GET /readyz on %s port %d (listen %s): %d, not 200", ip, port, addr, st);
        }
        itest_sleep_ms(200);
    }
    return port;
}

/* GET /metrics over IP: the body, or NULL if it could not connect. */
static char *scrape_at(const char *ip, int port)
{
    itest_http_resp_t r;
    if (itest_http_request_at(ip, port, "GET", "/metrics", &r) != 0) {
        itest_http_free(&r);
        return NULL;
    }
    ck_assert_int_eq(r.status, 200);
    return r.body;
}

/* utime + stime (s), starttime (s since boot) of PID from /proc/PID/stat. */
static void proc_stat(pid_t pid, double *cpu, double *start)
{
    char path[64];
    snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
    char *text = read_text(path);
    const char *p = strrchr(text, ')');
    ck_assert_ptr_nonnull(p);
    unsigned long long ut, st, start_ticks;
    ck_assert(sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu %*d %*d %*d "
                            "%*d %*d %*d %llu",
                     &ut, &st, &start_ticks) == 3);
    long tck = sysconf(_SC_CLK_TCK);
    *cpu = (double)(ut + st) / (double)tck;
    *start = (double)start_ticks / (double)tck;
    free(text);
}

static double boot_time(void)
{
    char *text = read_text("/proc/stat");
    const char *b = strstr(text, "\nbtime ");
    ck_assert_ptr_nonnull(b);
    double v = strtod(b + 7, NULL);
    free(text);
    return v;
}

/* Runs promtool check metrics and prometheus_client's parser on TEXT
 * (saved as NAME under the harness directory); returns the parser's
 * "FAMILY TYPE SAMPLE VALUE" lines (caller frees). */
static char *check_exposition(const char *name, const char *text)
{
    char *path = NULL, *out = NULL, *cmd = NULL;
    ck_assert(asprintf(&path, "%s/%s.metrics", itest_env("MKB_HARNESS_DIR"), name) > 0);
    ck_assert(asprintf(&out, "%s.parsed", path) > 0);
    itest_write_file(path, text);
    ck_assert(asprintf(&cmd, "promtool check metrics < '%s' > '%s' 2>&1", path, out) > 0);
    int st = system(cmd);
    char *said = read_text(out);
    ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0, "promtool check metrics < %s:\n%s", path,
                  said);
    free(said);
    free(cmd);
    ck_assert(asprintf(&cmd, "'%s/tests/integration/parse_exposition.py' '%s' > '%s' 2>&1",
                       MKB_SOURCE_DIR, path, out) > 0);
    st = system(cmd);
    said = read_text(out);
    ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0, "prometheus_client's parser on %s:\n%s",
                  path, said);
    free(cmd);
    free(out);
    free(path);
    return said;
}

/* The parser's type for FAMILY and its value for SAMPLE agree with WANT. */
static void parsed_is(const char *parsed, const char *family, const char *type, const char *name,
                      double want)
{
    char head[200];
    snprintf(head, sizeof(head), "%s %s %s ", family, type, name);
    const char *l = strstr(parsed, head);
    ck_assert_msg(l && (l == parsed || l[-1] == '\n'), "prometheus_client: no '%s...' in:\n%s",
                  head, parsed);
    double v = strtod(l + strlen(head), NULL);
    ck_assert_msg(v == want, "prometheus_client reads %s as %.17g, the text says %.17g", name, v,
                  want);
}

/* "[::]:PORT" serves IPv4 and IPv6 clients; the process_* metrics pass
 * promtool and prometheus_client's parser, and agree with /proc/PID. */
START_TEST(test_process_metrics_dual_stack)
{
    itest_fix_t f;
    itest_fix_init(&f, "mproc", 1, NULL);
    char *cfg;
    itest_bridge_t b;
    int port = start_listen(&b, &f, &cfg, "[::]:%d", "127.0.0.1");
    char *v4 = scrape_at("127.0.0.1", port);
    ck_assert_msg(v4 != NULL, "[::]:%d: no answer over IPv4", port);
    double cpu0, cpu1, start_ticks;
    proc_stat(b.pid, &cpu0, &start_ticks);
    char *v6 = scrape_at("::1", port);
    ck_assert_msg(v6 != NULL, "[::]:%d: no answer over IPv6 (::1)", port);
    long rss_kib = itest_rss_kib(b.pid);
    proc_stat(b.pid, &cpu1, &start_ticks);

    char *parsed = check_exposition(f.client, v6);
    double cpu = sample(v6, "process_cpu_seconds_total");
    double rss = sample(v6, "process_resident_memory_bytes");
    double vsz = sample(v6, "process_virtual_memory_bytes");
    double start = sample(v6, "process_start_time_seconds");
    double fds = sample(v6, "process_open_fds");
    double maxfds = sample(v6, "process_max_fds");
    double maxvsz = sample(v6, "process_virtual_memory_max_bytes");
    fprintf(stderr, "process_*: cpu %.2f s (/proc: %.2f..%.2f), rss %.0f (VmRSS %ld KiB), vsz %.0f, "
                    "start %.2f, fds %.0f/%.0f, vmax %.17g\n",
            cpu, cpu0, cpu1, rss, rss_kib, vsz, start, fds, maxfds, maxvsz);
    parsed_is(parsed, "process_cpu_seconds", "counter", "process_cpu_seconds_total", cpu);
    parsed_is(parsed, "process_resident_memory_bytes", "gauge", "process_resident_memory_bytes",
              rss);
    parsed_is(parsed, "process_start_time_seconds", "gauge", "process_start_time_seconds", start);
    parsed_is(parsed, "process_open_fds", "gauge", "process_open_fds", fds);
    parsed_is(parsed, "process_max_fds", "gauge", "process_max_fds", maxfds);
    parsed_is(parsed, "process_virtual_memory_bytes", "gauge", "process_virtual_memory_bytes", vsz);
    parsed_is(parsed, "process_virtual_memory_max_bytes", "gauge",
              "process_virtual_memory_max_bytes", maxvsz);
    /* The figures are the bridge's, read during the scrape. */
    ck_assert_msg(cpu >= cpu0 - 1e-9 && cpu <= cpu1 + 1e-9, "CPU %.2f outside /proc's %.2f..%.2f",
                  cpu, cpu0, cpu1);
    ck_assert_msg(rss > 1e6 && fabs(rss - (double)rss_kib * 1024) < 0.1 * rss + 2e6,
                  "RSS %.0f bytes, VmRSS %ld KiB", rss, rss_kib);
    ck_assert(vsz >= rss);
    ck_assert_double_eq_tol(start, boot_time() + start_ticks, 0.011);
    ck_assert_msg(start > (double)time(NULL) - 120, "start %.2f", start);
    ck_assert_msg(fds >= 5 && fds < 200, "open fds %.0f", fds);
    ck_assert(maxfds >= fds);

    /* CPU grows with work: a stream, then scrapes until the counter moves. */
    char *pub = itest_unique("pub");
    itest_mqtt_publish_n(pub, MQTTVERSION_5, f.mtopic, 1, "p-%d", 2000);
    itest_wait_count(f.topic, 2000, 30000);
    double later = cpu;
    for (int i = 0; i < 100 && later <= cpu; i++) {
        char *t = scrape_at("::1", port);
        ck_assert_ptr_nonnull(t);
        later = sample(t, "process_cpu_seconds_total");
        free(t);
        itest_sleep_ms(100);
    }
    ck_assert_msg(later > cpu, "process_cpu_seconds_total stayed at %.2f", cpu);
    ck_assert_double_eq(sample(v4, "process_max_fds"), maxfds);

    ck_assert_int_eq(itest_bridge_stop(&b, SIGTERM, 30000), 0);
    free(pub);
    free(parsed);
    free(v4);
    free(v6);
    free(cfg);
    itest_fix_free(&f);
}
END_TEST

/* "[::1]:PORT" is IPv6 only; "localhost:PORT" serves 127.0.0.1. */
START_TEST(test_listen_v6_only_and_name)
{
    itest_fix_t f;
    itest_fix_init(&f, "mv6", 1, NULL);
    char *cfg;
    itest_bridge_t b;
    int port = start_listen(&b, &f, &cfg, "[::1]:%d", "::1");
    char *t = scrape_at("::1", port);
    ck_assert_ptr_nonnull(t);
    ck_assert(!isnan(sample(t, "process_cpu_seconds_total")));
    free(t);
    t = scrape_at("127.0.0.1", port);
    ck_assert_msg(t == NULL, "[::1]:%d answered over IPv4", port);
    ck_assert_int_eq(itest_bridge_stop(&b, SIGTERM, 30000), 0);
    free(cfg);

    port = start_listen(&b, &f, &cfg, "localhost:%d", "127.0.0.1");
    t = scrape_at("127.0.0.1", port);
    ck_assert_ptr_nonnull(t);
    free(t);
    ck_assert_int_eq(itest_bridge_stop(&b, SIGTERM, 30000), 0);
    char *log = read_text(b.log_path);
    ck_assert_msg(strstr(log, "serving /metrics, /healthz and /readyz on http://127.0.0.1:"),
                  "no serving line for localhost in:\n%s", log);
    free(log);
    free(cfg);
    itest_fix_free(&f);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("metrics");
    TCase *tc = tcase_create("endpoint");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_endpoints);
    tcase_add_test(tc, test_promtool_and_counts);
    tcase_add_test(tc, test_field_errors_counted);
    tcase_add_test(tc, test_auth_tls_limits);
    suite_add_tcase(s, tc);
    TCase *prom = tcase_create("prometheus");
    tcase_set_timeout(prom, 180);
    tcase_add_unchecked_fixture(prom, prom_setup, prom_teardown);
    tcase_add_test(prom, test_prometheus_scrape);
    suite_add_tcase(s, prom);
    TCase *ready = tcase_create("readiness");
    tcase_set_timeout(ready, 180);
    tcase_add_test(ready, test_readyz_mqtt_outage);
    suite_add_tcase(s, ready);
    TCase *proc = tcase_create("process");
    tcase_set_timeout(proc, 180);
    tcase_add_test(proc, test_process_metrics_dual_stack);
    tcase_add_test(proc, test_listen_v6_only_and_name);
    suite_add_tcase(s, proc);
    return check_run(s);
}
