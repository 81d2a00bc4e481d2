// SPDX-FileCopyrightText: 2026 The mqtt-kafka-bridge authors
// SPDX-License-Identifier: Apache-2.0
#include "downlink_offsets.h"

#include <stdbool.h>
#include <stdlib.h>

typedef struct {
    int64_t offset;
    bool done;
} entry_t;

struct downlink_offsets {
    entry_t *e;          /* ring of the unsettled records, in offset order */
    size_t head, n, cap;
    int64_t rewind;      /* -1, or the offset a failed publish asks to seek back to */
    int64_t resume_at;   /* -1, or after a rewind: records before this one are skipped */
};

downlink_offsets_t *downlink_offsets_new(void)
{
    downlink_offsets_t *o = calloc(1, sizeof(*o));
    if (o) {
        o->rewind = -1;
        o->resume_at = -1;
    }
    return o;
}

void downlink_offsets_destroy(downlink_offsets_t *o)
{
    if (!o)
        return;
    free(o->e);
    free(o);
}

/* A full ring doubles, unrolled so that head is 0 again. */
static bool grow(downlink_offsets_t *o)
{
    size_t cap = o->cap ? 2 * o->cap : 64;
    entry_t *e = malloc(cap * sizeof(*e));
    if (!e)
        return false;
    for (size_t i = 0; i < o->n; i++)
        e[i] = o->e[(o->head + i) % o->cap];
    free(o->e);
    o->e = e;
    o->cap = cap;
    o->head = 0;
    return true;
}

downlink_offsets_push_t downlink_offsets_push(downlink_offsets_t *o, int64_t offset)
{
    if (o->resume_at >= 0) {
        if (offset != o->resume_at)
            return DOWNLINK_OFFSETS_SKIPPED;
        o->resume_at = -1;
    }
    if (o->n == o->cap && !grow(o))
        return DOWNLINK_OFFSETS_NOMEM;
    o->e[(o->head + o->n++) % o->cap] = (entry_t){offset, false};
    return DOWNLINK_OFFSETS_TAKEN;
}

int64_t downlink_offsets_settle(downlink_offsets_t *o, int64_t offset)
{
    for (size_t i = 0; i < o->n; i++) {
        entry_t *e = &o->e[(o->head + i) % o->cap];
        if (e->offset == offset) {
            e->done = true;
            break;
        }
    }
    int64_t last = -1;
    while (o->n && o->e[o->head].done) {
        last = o->e[o->head].offset;
        o->head = (o->head + 1) % o->cap;
        o->n--;
    }
    return last < 0 ? -1 : last + 1;
}

void downlink_offsets_rewind(downlink_offsets_t *o, int64_t offset)
{
    while (o->n && o->e[(o->head + o->n - 1) % o->cap].offset >= offset)
        o->n--;
    o->resume_at = offset;
}

void downlink_offsets_ask_rewind(downlink_offsets_t *o, int64_t offset)
{
    if (o->rewind < 0 || offset < o->rewind)
        o->rewind = offset;
}

int64_t downlink_offsets_take_rewind(downlink_offsets_t *o)
{
    int64_t off = o->rewind;
    o->rewind = -1;
    return off;
}

size_t downlink_offsets_pending(const downlink_offsets_t *o) { return o->n; }
