// SPDX-FileCopyrightText: 2026 The mqtt-kafka-bridge authors
// SPDX-License-Identifier: Apache-2.0
/* Micro-benchmark of the Sparkplug B decoder: a DDATA payload (by default
 * tests/fixtures/sparkplug/pysparkplug_ddata_alias.bin: 20 Double metrics
 * by alias, no names or datatypes) decoded N times with a resolver over its
 * DBIRTH, each inside a jarena_begin/end as the bridge runs it. Prints ns
 * per message and per metric; run under `valgrind --tool=callgrind`
 * (make bench-micro) for instructions, which do not depend on the load.
 *   micro_spb N [DATA.bin BIRTH.bin] */
#define _GNU_SOURCE
#include "err.h"
#include "jarena.h"
#include "spb.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MAX_ALIAS 4096

/* The birth by alias: a direct index, so the resolver costs next to nothing. */
static struct {
    const char *name;
    uint32_t dt;
} by_alias[MAX_ALIAS];

static bool resolve(void *ctx, const char *name, bool has_alias, uint64_t alias,
                    const char **name_out, uint32_t *datatype_out)
{
    (void)ctx;
    (void)name;
    if (!has_alias || alias >= MAX_ALIAS || !by_alias[alias].name)
        return false;
    *name_out = by_alias[alias].name;
    *datatype_out = by_alias[alias].dt;
    return true;
}

static char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    char *b = malloc(1 << 20);
    *len = b ? fread(b, 1, 1 << 20, f) : 0;
    (void)fclose(f);
    return b;
}

static json_t *decode(const char *topic, const char *p, size_t len, spb_decode_opts_t *o)
{
    spb_topic_t t;
    char why[256];
    json_t *out = NULL;
    size_t unres;
    if (!spb_topic_parse(topic, strlen(topic), &t, why, sizeof(why)) ||
        spb_decode(&t, p, len, o, &out, &unres, why, sizeof(why)) != MKB_OK)
        fprintf(stderr, "micro_spb: %s\n", why);
    return out;
}

int main(int argc, char **argv)
{
    jarena_install(); /* as the bridge does */
    long n = argc > 1 ? strtol(argv[1], NULL, 10) : 100000;
    const char *dir = MKB_SOURCE_DIR "/tests/fixtures/sparkplug/";
    char dpath[512], bpath[512];
    snprintf(dpath, sizeof(dpath), "%s",
             argc > 2 ? argv[2]
                      : MKB_SOURCE_DIR "/tests/fixtures/sparkplug/pysparkplug_ddata_alias.bin");
    snprintf(bpath, sizeof(bpath), "%s%s", argc > 3 ? "" : dir,
             argc > 3 ? argv[3] : "pysparkplug_dbirth.bin");
    size_t dlen = 0, blen = 0;
    char *data = slurp(dpath, &dlen), *birth = slurp(bpath, &blen);
    spb_decode_opts_t o = {.max_metrics = 10000};
    json_t *b = data && birth ? decode("spBv1.0/G/DBIRTH/E/D", birth, blen, &o) : NULL;
    if (!b)
        return 1;
    json_t *m;
    size_t i, metrics = 0;
    json_array_foreach(json_object_get(b, "metrics"), i, m)
    {
        json_int_t a = json_integer_value(json_object_get(m, "alias"));
        if (a >= 0 && a < MAX_ALIAS) {
            by_alias[a].name = json_string_value(json_object_get(m, "name"));
            by_alias[a].dt =
                (uint32_t)spb_datatype_of(json_string_value(json_object_get(m, "datatype")));
        }
    }
    o.resolve = resolve;
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (long k = 0; k < n; k++) {
        jarena_begin();
        json_t *out = decode("spBv1.0/G/DDATA/E/D", data, dlen, &o);
        if (!out)
            return 1;
        metrics = json_array_size(json_object_get(out, "metrics"));
        json_decref(out);
        jarena_end();
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double ns =
        ((double)(t1.tv_sec - t0.tv_sec) * 1e9 + (double)(t1.tv_nsec - t0.tv_nsec)) / (double)n;
    printf("messages=%ld payload=%zuB metrics/msg=%zu ns/msg=%.0f ns/metric=%.0f\n", n, dlen,
           metrics, ns, metrics ? ns / (double)metrics : 0.0);
    json_decref(b);
    free(data);
    free(birth);
    return 0;
}
