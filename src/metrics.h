// SPDX-FileCopyrightText: 2026 The mqtt-kafka-bridge authors
// SPDX-License-Identifier: Apache-2.0
/* Prometheus metrics and health endpoints (libmicrohttpd, its own thread):
 * GET /metrics (text format 0.0.4), /healthz, /readyz; 405 for other
 * methods, 404 for other paths. What /metrics says comes from a collector
 * callback (the bridge reads its components' atomic counters); the
 * per-route counters and the latency histogram live here, updated with
 * atomics and no lock on the per-message path. */
#ifndef MKB_METRICS_H
#define MKB_METRICS_H

#include <stdbool.h>
#include <stdint.h>

#include "buf.h"

typedef struct metrics metrics_t;

/* Appends the component metrics to OUT (text format). */
typedef void (*metrics_collect_t)(void *opaque, buf_t *out);
/* True when ready; otherwise appends the reasons (one per line) to WHY. */
typedef bool (*metrics_ready_t)(void *opaque, buf_t *why);

/* Where and how the endpoint listens (borrowed; copied by metrics_new). */
typedef struct {
    const char *listen;              /* listen_addr.h; NULL or "": no server */
    const char *username, *password; /* both set: basic authentication on every path */
    const char *tls_cert_file;       /* with tls_key_file (PEM): HTTPS only */
    const char *tls_key_file;
} metrics_conf_t;

/* A handle without a server (CONF->listen NULL or ""): counters only. */
int metrics_new(const metrics_conf_t *conf, metrics_collect_t collect, metrics_ready_t ready,
                void *opaque, metrics_t **out, char *errstr, size_t errstr_size);
/* Starts serving (a no-op without a listen address); reads the TLS files.
 * Limits, per address listened on: 16 connections (8 per client address),
 * 10 s idle timeout, 64 KiB of
 * request (line and headers) per connection: larger requests get 431. */
int metrics_start(metrics_t *m, char *errstr, size_t errstr_size);
void metrics_destroy(metrics_t *m);

/* Per route (by name): N records made, of which DEAD were dead letters.
 * The first sight of a name allocates; later ones do not. */
void metrics_route(metrics_t *m, const char *route, uint64_t n, uint64_t dead);

/* Per route (by name): one message skipped (when:, empty: skip). */
void metrics_route_skipped(metrics_t *m, const char *route);
/* Per route: N fields that failed and were kept by their on_error
 * (mkb_field_errors_total). */
void metrics_route_field_errors(metrics_t *m, const char *route, uint64_t n);

/* One MQTT-receive-to-delivery latency, in milliseconds. */
void metrics_latency_ms(metrics_t *m, int64_t ms);

/* Helpers for collectors: one sample line each ("name{labels} value"). */
void metrics_head(buf_t *out, const char *name, const char *type, const char *help);
void metrics_u64(buf_t *out, const char *name, const char *labels, uint64_t v);
void metrics_f64(buf_t *out, const char *name, const char *labels, double v);

/* Appends the per-route counters and the latency histogram. */
void metrics_render_own(metrics_t *m, buf_t *out);

#endif
