// SPDX-FileCopyrightText: 2026 The mqtt-kafka-bridge authors
// SPDX-License-Identifier: Apache-2.0
/* The subscription cover (see subcover.h). */
#include "subcover.h"

#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "err.h"

typedef struct {
    char *filter;
    int qos;
} cover_item_t;

struct subcover {
    cover_item_t *items;
    size_t n, cap;
};

/* Walks a filter level by level. */
typedef struct {
    const char *s;
    bool done;
} cursor_t;

static bool next_level(cursor_t *c, const char **lvl, size_t *len)
{
    if (c->done)
        return false;
    const char *slash = strchr(c->s, '/');
    *lvl = c->s;
    *len = slash ? (size_t)(slash - c->s) : strlen(c->s);
    if (slash)
        c->s = slash + 1;
    else
        c->done = true;
    return true;
}

static bool is_hash(const char *l, size_t n)
{
    return n == 1 && l[0] == '#';
}
static bool is_plus(const char *l, size_t n)
{
    return n == 1 && l[0] == '+';
}
static bool is_wild(const char *l, size_t n)
{
    return is_hash(l, n) || is_plus(l, n);
}
/* A first level that only topics starting with '$' have: wildcards there
 * never match it (MQTT 5.0 and 3.1.1 section 4.7.2). */
static bool is_dollar(const char *l, size_t n)
{
    return n > 0 && l[0] == '$';
}
static bool same(const char *a, size_t an, const char *b, size_t bn)
{
    return an == bn && memcmp(a, b, an) == 0;
}

bool subcover_contains(const char *outer, const char *inner)
{
    cursor_t co = {outer, false}, ci = {inner, false};
    const char *lo = NULL, *li = NULL;
    size_t no = 0, ni = 0;
    for (bool first = true;; first = false) {
        bool ho = next_level(&co, &lo, &no), hi = next_level(&ci, &li, &ni);
        if (!hi)
            return !ho || is_hash(lo, no); /* a/# holds a: '#' matches the parent */
        if (!ho)
            return false;
        if (first && is_wild(lo, no) && is_dollar(li, ni))
            return false;
        if (is_hash(lo, no))
            return true;
        if (is_hash(li, ni))
            return false;
        if (!is_plus(lo, no) && (is_plus(li, ni) || !same(lo, no, li, ni)))
            return false;
    }
}

bool subcover_overlap(const char *a, const char *b)
{
    cursor_t ca = {a, false}, cb = {b, false};
    const char *la = NULL, *lb = NULL;
    size_t na = 0, nb = 0;
    for (bool first = true;; first = false) {
        bool ha = next_level(&ca, &la, &na), hb = next_level(&cb, &lb, &nb);
        if (!ha || !hb)
            return (!ha && !hb) || (ha && is_hash(la, na)) || (hb && is_hash(lb, nb));
        if (first &&
            ((is_wild(la, na) && is_dollar(lb, nb)) || (is_wild(lb, nb) && is_dollar(la, na))))
            return false;
        if (is_hash(la, na) || is_hash(lb, nb))
            return true;
        if (!is_plus(la, na) && !is_plus(lb, nb) && !same(la, na, lb, nb))
            return false;
    }
}

/* The smallest level-wise filter holding both A and B (which overlap):
 * equal levels kept, different ones '+', from a '#' or where one ends '#'.
 * Overlapping filters never differ at a '$' first level, so the result
 * matches no '$' topic neither of them matched. NULL: out of memory. */
static char *generalize(const char *a, const char *b)
{
    cursor_t ca = {a, false}, cb = {b, false};
    const char *la = NULL, *lb = NULL;
    size_t na = 0, nb = 0;
    buf_t out = {0};
    int rc = MKB_OK;
    for (bool first = true; rc == MKB_OK; first = false) {
        bool ha = next_level(&ca, &la, &na), hb = next_level(&cb, &lb, &nb);
        if (!ha && !hb)
            break;
        if (!first)
            rc = buf_append(&out, "/", 1);
        if (rc != MKB_OK)
            break;
        if (!ha || !hb || is_hash(la, na) || is_hash(lb, nb)) {
            rc = buf_append(&out, "#", 1);
            break;
        }
        rc = same(la, na, lb, nb) ? buf_append(&out, la, na) : buf_append(&out, "+", 1);
    }
    if (rc == MKB_OK && buf_terminate(&out) == MKB_OK)
        return out.p;
    buf_free(&out);
    return NULL;
}

subcover_t *subcover_new(void)
{
    return calloc(1, sizeof(subcover_t));
}

void subcover_destroy(subcover_t *c)
{
    if (!c)
        return;
    for (size_t i = 0; i < c->n; i++)
        free(c->items[i].filter);
    free(c->items);
    free(c);
}

static void remove_item(subcover_t *c, size_t i)
{
    memmove(&c->items[i], &c->items[i + 1], (c->n - i - 1) * sizeof(*c->items));
    c->n--;
}

/* Merges the filter *F (owned) with every cover filter it overlaps, until it
 * overlaps none; those are removed. On MKB_ERR_NOMEM *F is still owned and
 * the removed filters are freed (the cover is then partial). */
static int absorb(subcover_t *c, char **f, int *qos)
{
    for (size_t i = 0; i < c->n;) {
        cover_item_t *it = &c->items[i];
        if (!subcover_overlap(it->filter, *f)) {
            i++;
            continue;
        }
        if (it->qos > *qos)
            *qos = it->qos;
        char *merged = it->filter;
        if (subcover_contains(*f, it->filter)) {
            merged = *f;
            free(it->filter);
        } else if (!subcover_contains(it->filter, *f)) {
            if (!(merged = generalize(*f, it->filter)))
                return MKB_ERR_NOMEM;
            free(*f);
            free(it->filter);
        } else {
            free(*f);
        }
        *f = merged;
        remove_item(c, i);
        i = 0; /* a wider filter may now overlap one passed before */
    }
    return MKB_OK;
}

int subcover_add(subcover_t *c, const char *filter, int qos)
{
    if (c->n == c->cap) {
        size_t cap = c->cap ? c->cap * 2 : 8;
        cover_item_t *items = realloc(c->items, cap * sizeof(*items));
        if (!items)
            return MKB_ERR_NOMEM;
        c->items = items;
        c->cap = cap;
    }
    char *f = strdup(filter);
    if (!f)
        return MKB_ERR_NOMEM;
    if (absorb(c, &f, &qos) != MKB_OK) {
        free(f);
        return MKB_ERR_NOMEM;
    }
    size_t at = 0;
    while (at < c->n && strcmp(c->items[at].filter, f) < 0)
        at++;
    memmove(&c->items[at + 1], &c->items[at], (c->n - at) * sizeof(*c->items));
    c->items[at] = (cover_item_t){f, qos};
    c->n++;
    return MKB_OK;
}

size_t subcover_count(const subcover_t *c)
{
    return c->n;
}
const char *subcover_filter(const subcover_t *c, size_t i)
{
    return c->items[i].filter;
}
int subcover_qos(const subcover_t *c, size_t i)
{
    return c->items[i].qos;
}
