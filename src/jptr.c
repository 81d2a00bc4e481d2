// SPDX-FileCopyrightText: 2026 The mqtt-kafka-bridge authors
// SPDX-License-Identifier: Apache-2.0
#include "jptr.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    char *key;
    size_t len;
    long long index; /* >= 0 when the segment is a valid array index */
} seg_t;

struct jptr {
    char *text;
    seg_t *segs;
    size_t n;
    bool root; /* "$/a": the whole message; the caller picks the document */
};

void jptr_destroy(jptr_t *p)
{
    if (!p)
        return;
    for (size_t i = 0; i < p->n; i++)
        free(p->segs[i].key);
    free(p->segs);
    free(p->text);
    free(p);
}

jptr_t *jptr_new(const char *text, char *why, size_t why_size)
{
    bool root = text[0] == '$';
    const char *full = text;
    text += root;
    if (text[0] != '\0' && text[0] != '/') {
        snprintf(why, why_size,
                 "'%s' is not a JSON pointer (it must start with '/', or '$/' for the whole "
                 "message)",
                 full);
        return NULL;
    }
    jptr_t *p = calloc(1, sizeof(*p));
    if (!p || !(p->text = strdup(full)))
        goto nomem;
    p->root = root;
    size_t nsegs = 0;
    for (const char *c = text; *c; c++)
        nsegs += *c == '/';
    p->segs = calloc(nsegs ? nsegs : 1, sizeof(*p->segs));
    if (!p->segs)
        goto nomem;
    const char *c = text;
    while (*c == '/') {
        const char *start = ++c;
        while (*c && *c != '/')
            c++;
        size_t raw = (size_t)(c - start);
        seg_t *s = &p->segs[p->n++];
        if (!(s->key = malloc(raw + 1)))
            goto nomem;
        size_t o = 0;
        for (size_t i = 0; i < raw; i++) {
            if (start[i] == '~' && i + 1 < raw && (start[i + 1] == '0' || start[i + 1] == '1')) {
                s->key[o++] = start[i + 1] == '0' ? '~' : '/';
                i++;
            } else if (start[i] == '~') {
                snprintf(why, why_size, "'%s': '~' must be followed by 0 or 1", full);
                jptr_destroy(p);
                return NULL;
            } else {
                s->key[o++] = start[i];
            }
        }
        s->key[o] = '\0';
        s->len = o;
        s->index = -1;
        if (o > 0 && o < 10 && (o == 1 || s->key[0] != '0')) {
            long long v = 0;
            size_t i;
            for (i = 0; i < o && s->key[i] >= '0' && s->key[i] <= '9'; i++)
                v = v * 10 + (s->key[i] - '0');
            if (i == o)
                s->index = v;
        }
    }
    return p;
nomem:
    snprintf(why, why_size, "out of memory");
    jptr_destroy(p);
    return NULL;
}

json_t *jptr_get(const jptr_t *p, json_t *doc)
{
    json_t *cur = doc;
    for (size_t i = 0; cur && i < p->n; i++) {
        const seg_t *s = &p->segs[i];
        if (json_is_object(cur))
            cur = json_object_getn(cur, s->key, s->len);
        else if (json_is_array(cur) && s->index >= 0)
            cur = json_array_get(cur, (size_t)s->index);
        else
            cur = NULL;
    }
    return cur;
}

const char *jptr_text(const jptr_t *p) { return p->text; }

bool jptr_is_root(const jptr_t *p) { return p->root; }
