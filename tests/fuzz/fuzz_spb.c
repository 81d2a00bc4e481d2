// SPDX-FileCopyrightText: 2026 The mqtt-kafka-bridge authors
// SPDX-License-Identifier: Apache-2.0
/* libFuzzer target: the Sparkplug B decoder. The input is a payload,
 * decoded as NBIRTH, NDATA and DDATA, with a resolver (every alias and name
 * known, with datatypes from all 35) and the flat layout, and without
 * either; properties on. Checked: an error leaves no object and gives a
 * reason, a success counts its unresolved metrics right and dumps. The input
 * is also a STATE payload and a topic. */
#include "err.h"
#include "spb.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const names[] = {"a", "Motor/Speed", "bdSeq", "x"};

static bool resolve(void *ctx, const char *name, bool has_alias, uint64_t alias,
                    const char **name_out, uint32_t *datatype_out)
{
    (void)ctx;
    uint64_t k = has_alias ? alias : strlen(name);
    if (k % 7 == 6)
        return false; /* some aliases no birth names */
    *name_out = names[k % 4];
    *datatype_out = (uint32_t)(k % 35);
    return true;
}

static void check(const spb_topic_t *t, const uint8_t *data, size_t size, bool with)
{
    spb_decode_opts_t o = {.properties = true, .flat = with, .max_metrics = 1000};
    if (with)
        o.resolve = resolve;
    json_t *out = NULL;
    size_t unres = 0;
    char why[256] = "";
    int rc = spb_decode(t, data, size, &o, &out, &unres, why, sizeof(why));
    if (rc != MKB_OK) {
        if (out || !why[0] || (rc != MKB_ERR_INVAL && rc != MKB_ERR_NOMEM))
            abort();
        return;
    }
    size_t marked = 0, i;
    json_t *m;
    json_array_foreach(json_object_get(out, "metrics"), i, m) marked +=
        json_is_true(json_object_get(m, "unresolved"));
    if (!out || marked != unres)
        abort();
    char *s = json_dumps(out, 0);
    if (!s)
        abort();
    free(s);
    json_decref(out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const topics[] = {"spBv1.0/G/NBIRTH/E", "spBv1.0/G/NDATA/E",
                                         "spBv1.0/G/DDATA/E/D"};
    char why[256];
    for (size_t i = 0; i < sizeof(topics) / sizeof(topics[0]); i++) {
        spb_topic_t t;
        if (!spb_topic_parse(topics[i], strlen(topics[i]), &t, why, sizeof(why)))
            abort();
        check(&t, data, size, false);
        check(&t, data, size, true);
    }
    spb_topic_t t;
    if (spb_topic_parse((const char *)data, size, &t, why, sizeof(why))) {
        if (t.node_len == 0 || (t.type != SPB_STATE && t.group_len == 0))
            abort();
        if (t.type == SPB_STATE) {
            json_t *out = NULL;
            if (spb_decode_state(&t, data, size, &out, why, sizeof(why)) == MKB_OK)
                json_decref(out);
        }
    }
    spb_topic_t st;
    if (!spb_topic_parse("spBv1.0/STATE/h", 15, &st, why, sizeof(why)))
        abort();
    json_t *out = NULL;
    if (spb_decode_state(&st, data, size, &out, why, sizeof(why)) == MKB_OK)
        json_decref(out);
    return 0;
}
