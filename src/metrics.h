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

/* A handle without a server (LISTEN NULL or ""): counters only. */
int metrics_new(const char *listen, metrics_collect_t collect, metrics_ready_t ready, void *opaque,
                metrics_t **out, char *errstr, size_t errstr_size);
/* Starts serving (a no-op without LISTEN). */
int metrics_start(metrics_t *m, char *errstr, size_t errstr_size);
void metrics_destroy(metrics_t *m);

/* Per route (by name): N records made, of which DEAD were dead letters.
 * The first sight of a name allocates; later ones do not. */
void metrics_route(metrics_t *m, const char *route, uint64_t n, uint64_t dead);

/* One MQTT-receive-to-delivery latency, in milliseconds. */
void metrics_latency_ms(metrics_t *m, int64_t ms);

/* Helpers for collectors: one sample line each ("name{labels} value"). */
void metrics_head(buf_t *out, const char *name, const char *type, const char *help);
void metrics_u64(buf_t *out, const char *name, const char *labels, uint64_t v);
void metrics_f64(buf_t *out, const char *name, const char *labels, double v);

/* Appends the per-route counters and the latency histogram. */
void metrics_render_own(metrics_t *m, buf_t *out);

#endif
