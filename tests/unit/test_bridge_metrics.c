// SPDX-FileCopyrightText: 2026 The mqtt-kafka-bridge authors
// SPDX-License-Identifier: Apache-2.0
/* bridge_metrics.c with metrics.c: /metrics exports exactly the metrics
 * docs/OPERATIONS.md lists (its table "Metrics"), no more and no fewer,
 * each with the type the table gives. */
#include "bridge_metrics.h"

#include "buf.h"
#include "err.h"
#include "metrics.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check_run.h"

#define MAX_NAMES 128

typedef struct {
    char name[96], type[16];
} metric_t;

typedef struct {
    metric_t m[MAX_NAMES];
    size_t n;
} metric_set_t;

static void add(metric_set_t *set, const char *name, size_t nlen, const char *type, size_t tlen)
{
    ck_assert_uint_lt(set->n, MAX_NAMES);
    ck_assert_uint_lt(nlen, sizeof(set->m[0].name));
    ck_assert_uint_lt(tlen, sizeof(set->m[0].type));
    metric_t *m = &set->m[set->n++];
    memcpy(m->name, name, nlen);
    m->name[nlen] = '\0';
    memcpy(m->type, type, tlen);
    m->type[tlen] = '\0';
}

static const metric_t *find(const metric_set_t *set, const char *name)
{
    for (size_t i = 0; i < set->n; i++)
        if (strcmp(set->m[i].name, name) == 0)
            return &set->m[i];
    return NULL;
}

/* Every "# TYPE name type" line of a scrape. */
static void exported(const char *text, metric_set_t *set)
{
    for (const char *p = text; (p = strstr(p, "# TYPE ")); p++) {
        const char *name = p + 7, *sp = strchr(name, ' '), *nl = strchr(name, '\n');
        ck_assert(sp && nl && sp < nl);
        add(set, name, (size_t)(sp - name), sp + 1, (size_t)(nl - sp - 1));
    }
}

/* Every table row "| `mkb_name` | type | ..." of docs/OPERATIONS.md. */
static void documented(metric_set_t *set)
{
    FILE *f = fopen(MKB_SOURCE_DIR "/docs/OPERATIONS.md", "r");
    ck_assert_ptr_nonnull(f);
    char line[4096];
    while (fgets(line, sizeof(line), f)) {
        if (strncmp(line, "| `mkb_", 7) != 0)
            continue;
        const char *name = line + 3, *end = strchr(name, '`');
        ck_assert_ptr_nonnull(end);
        const char *type = strstr(end, "| ");
        ck_assert_ptr_nonnull(type);
        type += 2;
        const char *tend = strchr(type, ' ');
        ck_assert_ptr_nonnull(tend);
        add(set, name, (size_t)(end - name), type, (size_t)(tend - type));
    }
    fclose(f);
}

static const char *const reasons[] = {"mqtt_down", "kafka_down"};

START_TEST(test_operations_lists_exactly_the_exported_metrics)
{
    metrics_t *m = NULL;
    char err[256];
    metrics_conf_t conf = {0};
    ck_assert_int_eq(metrics_new(&conf, NULL, NULL, NULL, &m, err, sizeof(err)), MKB_OK);
    metrics_route(m, "r", 2, 1);
    metrics_route_field_errors(m, "r", 3);
    metrics_latency_ms(m, 12);
    /* The spool's metrics appear only with a spool: render with one. */
    bridge_metrics_t v = {.not_ready_names = reasons, .not_ready_count = 2};
    v.st.spool = true;
    buf_t out = {0};
    bridge_metrics_render(&v, &out);
    metrics_render_own(m, &out);
    buf_terminate(&out);

    metric_set_t got = {0}, doc = {0};
    exported(out.p, &got);
    documented(&doc);
    ck_assert_uint_gt(got.n, 20);
    for (size_t i = 0; i < got.n; i++) {
        const metric_t *d = find(&doc, got.m[i].name);
        ck_assert_msg(d, "%s is exported but not in docs/OPERATIONS.md", got.m[i].name);
        ck_assert_msg(strcmp(d->type, got.m[i].type) == 0,
                      "%s: exported as %s, docs/OPERATIONS.md says %s", got.m[i].name,
                      got.m[i].type, d->type);
    }
    for (size_t i = 0; i < doc.n; i++)
        ck_assert_msg(find(&got, doc.m[i].name), "docs/OPERATIONS.md lists %s, not exported",
                      doc.m[i].name);
    ck_assert_uint_eq(got.n, doc.n); /* each once */
    ck_assert_ptr_nonnull(strstr(out.p, "mkb_field_errors_total{route=\"r\"} 3\n"));
    buf_free(&out);
    metrics_destroy(m);
}
END_TEST

/* mkb_route_skipped_total counts each route's skips under its name, beside
 * its records (a route first seen skipping has 0 records). */
START_TEST(test_route_skipped_counts)
{
    metrics_t *m = NULL;
    char err[256];
    metrics_conf_t conf = {0};
    ck_assert_int_eq(metrics_new(&conf, NULL, NULL, NULL, &m, err, sizeof(err)), MKB_OK);
    metrics_route(m, "a", 3, 1);
    metrics_route_skipped(m, "a");
    metrics_route_skipped(m, "a");
    metrics_route_skipped(m, "b \"x\"");
    metrics_route_skipped(m, NULL); /* no route: nothing */
    buf_t out = {0};
    metrics_render_own(m, &out);
    buf_terminate(&out);
    ck_assert_msg(strstr(out.p, "mkb_route_skipped_total{route=\"a\"} 2\n") &&
                      strstr(out.p, "mkb_route_skipped_total{route=\"b \\\"x\\\"\"} 1\n") &&
                      strstr(out.p, "mkb_records_total{route=\"a\"} 3\n") &&
                      strstr(out.p, "mkb_records_total{route=\"b \\\"x\\\"\"} 0\n") &&
                      !strstr(out.p, "route=\"other\""),
                  "%s", out.p);
    buf_free(&out);
    metrics_destroy(m);
}
END_TEST

/* Without a spool there are no mkb_spool_ metrics (and nothing else goes). */
START_TEST(test_spool_metrics_only_with_a_spool)
{
    bridge_metrics_t v = {.not_ready_names = reasons, .not_ready_count = 2};
    buf_t out = {0};
    bridge_metrics_render(&v, &out);
    buf_terminate(&out);
    ck_assert_ptr_null(strstr(out.p, "mkb_spool_"));
    ck_assert_ptr_nonnull(strstr(out.p, "mkb_records_dropped_total{reason=\"spool_full\"} 0\n"));
    ck_assert_ptr_nonnull(strstr(out.p, "mkb_not_ready_reason{reason=\"kafka_down\"} 0\n"));
    buf_free(&out);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("bridge_metrics");
    TCase *tc = tcase_create("render");
    tcase_add_test(tc, test_operations_lists_exactly_the_exported_metrics);
    tcase_add_test(tc, test_route_skipped_counts);
    tcase_add_test(tc, test_spool_metrics_only_with_a_spool);
    suite_add_tcase(s, tc);
    return check_run(s);
}
