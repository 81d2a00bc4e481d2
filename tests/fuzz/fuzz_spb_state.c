// SPDX-FileCopyrightText: 2026 The mqtt-kafka-bridge authors
// SPDX-License-Identifier: Apache-2.0
/* libFuzzer target: the Sparkplug births file (spool.dir/sparkplug-births)
 * as hostile bytes. Loading it must never crash: a damaged file is a
 * warning and an empty state. A file that loads without one must resolve
 * what it names, and be written back (at the next birth) into a file that
 * loads again without a warning and resolves the same. */
#include "err.h"
#include "spb_state.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char path[64];

static void put_file(const uint8_t *data, size_t size)
{
    FILE *f = fopen(path, "wb");
    if (!f)
        abort();
    if (size && fwrite(data, 1, size, f) != size)
        abort();
    fclose(f);
}

/* How many of the file's node metrics resolve by name (its first node). */
static size_t resolved(spb_state_t *s, const json_t *root)
{
    const json_t *node = json_array_get(json_object_get(root, "nodes"), 0);
    const char *g = json_string_value(json_object_get(node, "group"));
    const char *n = json_string_value(json_object_get(node, "edge_node"));
    if (!g || !n || (strcmp(g, "fz") == 0 && strcmp(n, "n") == 0)) /* the birth's own node */
        return 0;
    spb_topic_t t = {
        .type = SPB_NDATA, .group = g, .group_len = strlen(g), .node = n, .node_len = strlen(n)};
    spb_scope_t scope = {.state = s, .topic = &t};
    size_t i, hits = 0;
    const json_t *m;
    json_array_foreach(json_object_get(node, "metrics"), i, m)
    {
        const char *name = json_string_value(json_array_get(m, 2));
        const char *out = NULL;
        uint32_t dt = 0;
        if (name && spb_state_resolve(&scope, name, false, 0, &out, &dt)) {
            if (strcmp(out, name) != 0 || !spb_datatype_name(dt))
                abort();
            hits++;
        }
    }
    return hits;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!path[0])
        snprintf(path, sizeof(path), "/tmp/fuzz-spb-state-%ld", (long)getpid());
    put_file(data, size);
    char why[512];
    spb_state_t *s = NULL;
    if (spb_state_new(path, &s, why, sizeof(why)) != MKB_OK || !s)
        abort();
    json_t *root = why[0] ? NULL : json_loadb((const char *)data, size, 0, NULL);
    size_t before = root ? resolved(s, root) : 0;
    /* A birth of another node rewrites the file with everything loaded. */
    spb_topic_t t = {.type = SPB_NBIRTH, .group = "fz", .group_len = 2, .node = "n", .node_len = 1};
    json_t *doc = json_pack("{s:i,s:[{s:s,s:i,s:s}]}", "seq", 0, "metrics", "name", "m", "alias", 1,
                            "datatype", "Int32");
    if (spb_state_birth(s, &t, doc, why, sizeof(why)) != MKB_OK)
        abort();
    json_decref(doc);
    spb_state_destroy(s);
    if (spb_state_new(path, &s, why, sizeof(why)) != MKB_OK || why[0]) {
        fprintf(stderr, "the file written back does not load: %s\n", why);
        abort();
    }
    if (root && resolved(s, root) != before)
        abort();
    json_decref(root);
    spb_state_destroy(s);
    unlink(path);
    return 0;
}
