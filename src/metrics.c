// SPDX-FileCopyrightText: 2026 The mqtt-kafka-bridge authors
// SPDX-License-Identifier: Apache-2.0
#include "metrics.h"

#include "err.h"
#include "hash.h"
#include "listen_addr.h"
#include "log.h"
#include "procstat.h"

#include <errno.h>
#include <microhttpd.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ROUTE_SLOTS 1024 /* routes counted by name; more are summed under "other" */

typedef struct {
    _Atomic(char *) name; /* set once, by the one writer thread */
    uint32_t hash;
    atomic_uint_fast64_t records, dead, skipped, field_errors;
} route_slot_t;

/* Upper bounds in ms; the last bucket is +Inf. */
static const int64_t bounds_ms[] = {1,   2,    5,    10,   25,    50,    100,  250,
                                    500, 1000, 2500, 5000, 10000, 30000, 60000};
#define NBOUNDS (sizeof(bounds_ms) / sizeof(bounds_ms[0]))

struct metrics {
    char *listen;
    char *username, *password;          /* basic auth, or NULL */
    char *tls_cert_file, *tls_key_file; /* HTTPS, or NULL */
    char *tls_cert, *tls_key;           /* their contents while serving */
    struct MHD_Daemon *daemons[LISTEN_ADDR_MAX]; /* one per address listened on */
    size_t ndaemons;
    metrics_collect_t collect;
    metrics_ready_t ready;
    void *opaque;
    route_slot_t *routes;
    route_slot_t other;
    atomic_uint_fast64_t buckets[NBOUNDS + 1], lat_count, lat_sum_ms;
};

/* The slot of ROUTE: found, else added (only the MQTT thread adds names),
 * else "other" when the table is full. */
static route_slot_t *route_slot(metrics_t *m, const char *route)
{
    uint32_t h = hash_fnv1a_str(route);
    route_slot_t *slot = &m->other;
    for (size_t i = h & (ROUTE_SLOTS - 1), k = 0; k < ROUTE_SLOTS;
         i = (i + 1) & (ROUTE_SLOTS - 1), k++) {
        char *name = atomic_load(&m->routes[i].name);
        if (name && m->routes[i].hash == h && strcmp(name, route) == 0) {
            slot = &m->routes[i];
            break;
        }
        if (!name) { /* first sight: only the MQTT thread adds names */
            char *copy = strdup(route);
            if (copy) {
                m->routes[i].hash = h;
                atomic_store(&m->routes[i].name, copy);
                slot = &m->routes[i];
            }
            break;
        }
    }
    return slot;
}

void metrics_route(metrics_t *m, const char *route, uint64_t n, uint64_t dead)
{
    if (!m || !route)
        return;
    route_slot_t *slot = route_slot(m, route);
    atomic_fetch_add(&slot->records, n);
    if (dead)
        atomic_fetch_add(&slot->dead, dead);
}

void metrics_route_skipped(metrics_t *m, const char *route)
{
    if (m && route)
        atomic_fetch_add(&route_slot(m, route)->skipped, 1);
}

void metrics_route_field_errors(metrics_t *m, const char *route, uint64_t n)
{
    if (m && route && n)
        atomic_fetch_add(&route_slot(m, route)->field_errors, n);
}

void metrics_latency_ms(metrics_t *m, int64_t ms)
{
    if (!m)
        return;
    if (ms < 0)
        ms = 0;
    size_t b = 0;
    while (b < NBOUNDS && ms > bounds_ms[b])
        b++;
    atomic_fetch_add(&m->buckets[b], 1);
    atomic_fetch_add(&m->lat_count, 1);
    atomic_fetch_add(&m->lat_sum_ms, (uint64_t)ms);
}

void metrics_head(buf_t *out, const char *name, const char *type, const char *help)
{
    buf_printf(out, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

void metrics_u64(buf_t *out, const char *name, const char *labels, uint64_t v)
{
    buf_printf(out, "%s%s%s%s %llu\n", name, labels ? "{" : "", labels ? labels : "",
               labels ? "}" : "", (unsigned long long)v);
}

void metrics_f64(buf_t *out, const char *name, const char *labels, double v)
{
    buf_printf(out, "%s%s%s%s %.6g\n", name, labels ? "{" : "", labels ? labels : "",
               labels ? "}" : "", v);
}

/* route="NAME" with \, " and newlines escaped as the text format wants. */
static void route_label(char *dst, size_t size, const char *name)
{
    size_t o = 0;
    o += (size_t)snprintf(dst, size, "route=\"");
    for (const char *p = name; *p && o + 3 < size; p++) {
        if (*p == '\\' || *p == '"') {
            dst[o++] = '\\';
            dst[o++] = *p;
        } else if (*p == '\n') {
            dst[o++] = '\\';
            dst[o++] = 'n';
        } else {
            dst[o++] = *p;
        }
    }
    if (o + 2 <= size) {
        dst[o++] = '"';
        dst[o] = '\0';
    } else {
        dst[size - 1] = '\0';
    }
}

/* The per-route counters: one row each, the counter's offset in route_slot_t. */
static const struct {
    const char *name;
    size_t off;
    const char *help;
} route_counters[] = {
    {"mkb_records_total", offsetof(route_slot_t, records),
     "Kafka records made by each route (dead letters included)."},
    {"mkb_dead_letters_total", offsetof(route_slot_t, dead),
     "Messages of each route that failed it and went to the dead-letter topic."},
    {"mkb_route_skipped_total", offsetof(route_slot_t, skipped),
     "Messages each route matched and skipped as its rule asked: its when: did not hold, empty: skip, retained: drop."},
    {"mkb_field_errors_total", offsetof(route_slot_t, field_errors),
     "Fields of each route's records that could not be converted and were kept by their "
     "on_error (null, omit, default)."},
};

static uint64_t slot_counter(const route_slot_t *slot, size_t off)
{
    return atomic_load((const atomic_uint_fast64_t *)(const void *)((const char *)slot + off));
}

void metrics_render_own(metrics_t *m, buf_t *out)
{
    char label[600];
    for (size_t c = 0; c < sizeof(route_counters) / sizeof(route_counters[0]); c++) {
        const char *mname = route_counters[c].name;
        size_t off = route_counters[c].off;
        metrics_head(out, mname, "counter", route_counters[c].help);
        for (size_t i = 0; i < ROUTE_SLOTS; i++) {
            char *name = atomic_load(&m->routes[i].name);
            if (!name)
                continue;
            route_label(label, sizeof(label), name);
            metrics_u64(out, mname, label, slot_counter(&m->routes[i], off));
        }
        /* "other" once past ROUTE_SLOTS names: it has made records or skipped some */
        if (atomic_load(&m->other.records) || atomic_load(&m->other.skipped))
            metrics_u64(out, mname, "route=\"other\"", slot_counter(&m->other, off));
    }
    metrics_head(out, "mkb_delivery_latency_seconds", "histogram",
                 "From MQTT receive to Kafka's delivery report.");
    uint64_t cum = 0;
    for (size_t b = 0; b <= NBOUNDS; b++) {
        cum += atomic_load(&m->buckets[b]);
        if (b < NBOUNDS)
            snprintf(label, sizeof(label), "le=\"%g\"", (double)bounds_ms[b] / 1000.0);
        else
            snprintf(label, sizeof(label), "le=\"+Inf\"");
        metrics_u64(out, "mkb_delivery_latency_seconds_bucket", label, cum);
    }
    metrics_f64(out, "mkb_delivery_latency_seconds_sum", NULL,
                (double)atomic_load(&m->lat_sum_ms) / 1000.0);
    metrics_u64(out, "mkb_delivery_latency_seconds_count", NULL, cum);
}

/* ---- HTTP ------------------------------------------------------------------ */

static enum MHD_Result reply(struct MHD_Connection *conn, unsigned int status, const char *type,
                             const char *body, size_t len)
{
    struct MHD_Response *r =
        MHD_create_response_from_buffer(len, (void *)body, MHD_RESPMEM_MUST_COPY);
    if (!r)
        return MHD_NO;
    MHD_add_response_header(r, "Content-Type", type);
    if (status == MHD_HTTP_METHOD_NOT_ALLOWED)
        MHD_add_response_header(r, "Allow", "GET, HEAD");
    enum MHD_Result ret = MHD_queue_response(conn, status, r);
    MHD_destroy_response(r);
    return ret;
}

/* Compares a given credential with the configured one in a time that does
 * not depend on where they differ. */
static bool same_secret(const char *given, const char *want)
{
    size_t gl = strlen(given), wl = strlen(want);
    unsigned char d = gl != wl;
    for (size_t i = 0; i < wl; i++)
        d |= (unsigned char)((i < gl ? given[i] : 0) ^ want[i]);
    return d == 0;
}

static bool authorized(const metrics_t *m, struct MHD_Connection *conn)
{
    char *pass = NULL;
    char *user = MHD_basic_auth_get_username_password(conn, &pass);
    bool given = user && pass;
    /* Both compared even when the user name is wrong: no early answer. */
    bool user_ok = given && same_secret(user, m->username);
    bool pass_ok = given && same_secret(pass, m->password);
    bool ok = user_ok && pass_ok;
    if (pass)
        memset(pass, 0, strlen(pass));
    MHD_free(user);
    MHD_free(pass);
    return ok;
}

static enum MHD_Result deny(struct MHD_Connection *conn)
{
    static const char msg[] = "authentication required\n";
    struct MHD_Response *r =
        MHD_create_response_from_buffer(sizeof(msg) - 1, (void *)msg, MHD_RESPMEM_PERSISTENT);
    if (!r)
        return MHD_NO;
    MHD_add_response_header(r, "Content-Type", "text/plain; charset=utf-8");
    enum MHD_Result ret = MHD_queue_basic_auth_fail_response(conn, "mqtt-kafka-bridge", r);
    MHD_destroy_response(r);
    return ret;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version, const char *upload_data,
                                  size_t *upload_data_size, void **con_cls)
{
    metrics_t *m = cls;
    (void)version;
    (void)upload_data;
    (void)con_cls;
    static const char text[] = "text/plain; charset=utf-8";
    if (m->username && !authorized(m, conn)) {
        *upload_data_size = 0; /* any body is ignored */
        return deny(conn);
    }
    if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0) {
        *upload_data_size = 0; /* any body is ignored */
        static const char msg[] = "method not allowed\n";
        return reply(conn, MHD_HTTP_METHOD_NOT_ALLOWED, text, msg, sizeof(msg) - 1);
    }
    if (strcmp(url, "/metrics") == 0) {
        buf_t b = {0};
        m->collect(m->opaque, &b);
        metrics_render_own(m, &b);
        procstat_t ps; /* read now: CPU and memory as of this scrape */
        procstat_read("/proc", &ps);
        procstat_render(&ps, &b);
        enum MHD_Result r = reply(conn, MHD_HTTP_OK, "text/plain; version=0.0.4; charset=utf-8",
                                  b.p ? b.p : "", b.len);
        buf_free(&b);
        return r;
    }
    if (strcmp(url, "/healthz") == 0)
        return reply(conn, MHD_HTTP_OK, text, "ok\n", 3);
    if (strcmp(url, "/readyz") == 0) {
        buf_t why = {0};
        bool ok = m->ready(m->opaque, &why);
        enum MHD_Result r = ok ? reply(conn, MHD_HTTP_OK, text, "ready\n", 6)
                               : reply(conn, MHD_HTTP_SERVICE_UNAVAILABLE, text,
                                       why.p ? why.p : "not ready\n", why.p ? why.len : 10);
        buf_free(&why);
        return r;
    }
    static const char nf[] = "not found: try /metrics, /healthz or /readyz\n";
    return reply(conn, MHD_HTTP_NOT_FOUND, text, nf, sizeof(nf) - 1);
}

/* *DST = a copy of SRC (NULL stays NULL); false when out of memory. */
static bool dup_opt(char **dst, const char *src)
{
    *dst = src && *src ? strdup(src) : NULL;
    return !src || !*src || *dst;
}

int metrics_new(const metrics_conf_t *conf, metrics_collect_t collect, metrics_ready_t ready,
                void *opaque, metrics_t **out, char *errstr, size_t errstr_size)
{
    metrics_t *m = calloc(1, sizeof(*m));
    if (!m || !(m->routes = calloc(ROUTE_SLOTS, sizeof(*m->routes))) ||
        !dup_opt(&m->listen, conf->listen) ||
        !dup_opt(&m->username, conf->password ? conf->username : NULL) ||
        !dup_opt(&m->password, conf->username ? conf->password : NULL) ||
        !dup_opt(&m->tls_cert_file, conf->tls_key_file ? conf->tls_cert_file : NULL) ||
        !dup_opt(&m->tls_key_file, conf->tls_cert_file ? conf->tls_key_file : NULL)) {
        metrics_destroy(m);
        snprintf(errstr, errstr_size, "out of memory");
        return MKB_ERR_NOMEM;
    }
    m->collect = collect;
    m->ready = ready;
    m->opaque = opaque;
    *out = m;
    return MKB_OK;
}

/* Reads a PEM file (at most 1 MiB) into *OUT, NUL-terminated. */
static int read_pem(const char *what, const char *path, char **out, char *errstr,
                    size_t errstr_size)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        snprintf(errstr, errstr_size, "%s: cannot read %s: %s", what, path, strerror(errno));
        return MKB_ERR_CONFIG;
    }
    size_t cap = 1 << 20;
    char *buf = malloc(cap + 1);
    size_t n = buf ? fread(buf, 1, cap, f) : 0;
    bool more = buf && fgetc(f) != EOF;
    (void)fclose(f); /* read only */
    if (!buf) {
        snprintf(errstr, errstr_size, "out of memory");
        return MKB_ERR_NOMEM;
    }
    buf[n] = '\0';
    if (more || !strstr(buf, "-----BEGIN ")) {
        snprintf(errstr, errstr_size, "%s: %s is %s", what, path,
                 more ? "larger than 1 MiB" : "not PEM (no -----BEGIN line)");
        free(buf);
        return MKB_ERR_CONFIG;
    }
    *out = buf;
    return MKB_OK;
}

/* libmicrohttpd's own messages (a TLS handshake refused, a bad key...). */
static void mhd_log(void *cls, const char *fmt, va_list ap)
{
    (void)cls;
    char msg[512];
    vsnprintf(msg, sizeof(msg), fmt, ap);
    size_t n = strlen(msg);
    while (n && (msg[n - 1] == '\n' || msg[n - 1] == '\r'))
        msg[--n] = '\0';
    log_debug("metrics", "libmicrohttpd: %s", msg);
}

/* Reads the TLS files when metrics.tls is set. */
static int load_tls(metrics_t *m, char *errstr, size_t errstr_size)
{
    if (!m->tls_cert_file)
        return MKB_OK;
    if (MHD_is_feature_supported(MHD_FEATURE_TLS) != MHD_YES) {
        snprintf(errstr, errstr_size,
                 "metrics.tls: this libmicrohttpd was built without TLS support");
        return MKB_ERR_CONFIG;
    }
    int rc = read_pem("metrics.tls.cert_file", m->tls_cert_file, &m->tls_cert, errstr,
                      errstr_size);
    if (rc == MKB_OK)
        rc = read_pem("metrics.tls.key_file", m->tls_key_file, &m->tls_key, errstr, errstr_size);
    return rc;
}

/* One libmicrohttpd daemon on A, on a socket made here: its IPV6_V6ONLY
 * is then ours to set, and a failure says why (errno). */
static int serve_on(metrics_t *m, const listen_addr_t *a, char *errstr, size_t errstr_size)
{
    int fd = listen_addr_socket(a, 32, errstr, errstr_size);
    if (fd < 0)
        return MKB_ERR_IO;
    unsigned int flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG;
    if (m->tls_cert)
        flags |= MHD_USE_TLS;
    /* The TLS options come last: without TLS they are not passed at all
     * (MHD_OPTION_END ends the list before them). */
    struct MHD_Daemon *d = MHD_start_daemon(
        flags, 0, NULL, NULL, on_request, m, MHD_OPTION_LISTEN_SOCKET, fd,
        MHD_OPTION_CONNECTION_LIMIT, (unsigned int)16, MHD_OPTION_PER_IP_CONNECTION_LIMIT,
        (unsigned int)8, MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)10,
        MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)65536, MHD_OPTION_EXTERNAL_LOGGER, mhd_log,
        (void *)NULL, m->tls_cert ? MHD_OPTION_HTTPS_MEM_CERT : MHD_OPTION_END, m->tls_cert,
        MHD_OPTION_HTTPS_MEM_KEY, m->tls_key, MHD_OPTION_END);
    if (!d) {
        /* The socket is left open: libmicrohttpd may have closed it already,
         * and this failure stops the bridge anyway. */
        snprintf(errstr, errstr_size,
                 m->tls_cert ? "metrics: cannot serve HTTPS on %s (metrics.tls cert_file/key_file "
                               "do not form an unencrypted PEM key and its certificate)"
                             : "metrics: cannot serve on %s",
                 a->text);
        return MKB_ERR_IO;
    }
    m->daemons[m->ndaemons++] = d;
    return MKB_OK;
}

int metrics_start(metrics_t *m, char *errstr, size_t errstr_size)
{
    if (!m->listen)
        return MKB_OK;
    listen_addr_t addrs[LISTEN_ADDR_MAX];
    size_t n = 0;
    char why[400];
    if (listen_addr_resolve(m->listen, addrs, &n, why, sizeof(why)) != MKB_OK) {
        snprintf(errstr, errstr_size, "metrics.listen %s", why);
        return MKB_ERR_CONFIG;
    }
    int rc = load_tls(m, errstr, errstr_size);
    bool loopback = true;
    for (size_t i = 0; rc == MKB_OK && i < n; i++) {
        rc = serve_on(m, &addrs[i], errstr, errstr_size);
        loopback = loopback && addrs[i].loopback;
        if (rc == MKB_OK)
            log_info("metrics", "serving /metrics, /healthz and /readyz on %s://%s%s%s",
                     m->tls_cert ? "https" : "http", addrs[i].text,
                     addrs[i].dual_stack ? " (IPv6 and IPv4)" : "",
                     m->username ? " (basic authentication)" : "");
    }
    if (rc != MKB_OK)
        return rc;
    if (!loopback && !m->username)
        log_warn("metrics", "the endpoint on %s is open to anyone who can reach it: set "
                            "metrics.username and metrics.password_file, or listen on 127.0.0.1",
                 m->listen);
    return MKB_OK;
}

void metrics_destroy(metrics_t *m)
{
    if (!m)
        return;
    for (size_t i = 0; i < m->ndaemons; i++)
        MHD_stop_daemon(m->daemons[i]);
    for (size_t i = 0; m->routes && i < ROUTE_SLOTS; i++)
        free(atomic_load(&m->routes[i].name));
    free(m->routes);
    free(m->listen);
    free(m->username);
    if (m->password)
        memset(m->password, 0, strlen(m->password));
    free(m->password);
    free(m->tls_cert_file);
    free(m->tls_key_file);
    free(m->tls_cert);
    if (m->tls_key)
        memset(m->tls_key, 0, strlen(m->tls_key));
    free(m->tls_key);
    free(m);
}
