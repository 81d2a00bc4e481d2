// SPDX-FileCopyrightText: 2026 The mqtt-kafka-bridge authors
// SPDX-License-Identifier: Apache-2.0
#include "trie.h"

#include "err.h"
#include "hash.h"

#include <stdlib.h>
#include <string.h>

typedef struct node node_t;

typedef struct {
    char *level;
    size_t len;
    uint32_t hash;
    node_t *child;
} slot_t;

struct node {
    slot_t *slots; /* open addressing, power-of-two size */
    size_t nslots, used;
    node_t *plus;
    uint32_t *ids; /* filters ending at this node */
    size_t nids;
    uint32_t *hash_ids; /* filters ending with "#" below this node */
    size_t nhash_ids;
};

struct trie {
    node_t *root;
};

static void node_free(node_t *n)
{
    if (!n)
        return;
    for (size_t i = 0; i < n->nslots; i++) {
        if (n->slots[i].child) {
            free(n->slots[i].level);
            node_free(n->slots[i].child);
        }
    }
    free(n->slots);
    node_free(n->plus);
    free(n->ids);
    free(n->hash_ids);
    free(n);
}

trie_t *trie_new(void)
{
    trie_t *t = calloc(1, sizeof(*t));
    if (t && !(t->root = calloc(1, sizeof(node_t)))) {
        free(t);
        return NULL;
    }
    return t;
}

void trie_destroy(trie_t *t)
{
    if (!t)
        return;
    node_free(t->root);
    free(t);
}

static const slot_t *find_slot(const node_t *n, const char *level, size_t len, uint32_t h)
{
    if (!n->nslots)
        return NULL;
    size_t mask = n->nslots - 1;
    for (size_t i = h & mask;; i = (i + 1) & mask) {
        const slot_t *s = &n->slots[i];
        if (!s->child)
            return NULL;
        if (s->hash == h && s->len == len && memcmp(s->level, level, len) == 0)
            return s;
    }
}

static int grow(node_t *n)
{
    size_t ns = n->nslots ? n->nslots * 2 : 4;
    slot_t *slots = calloc(ns, sizeof(*slots));
    if (!slots)
        return MKB_ERR_NOMEM;
    for (size_t i = 0; i < n->nslots; i++) {
        if (!n->slots[i].child)
            continue;
        size_t j = n->slots[i].hash & (ns - 1);
        while (slots[j].child)
            j = (j + 1) & (ns - 1);
        slots[j] = n->slots[i];
    }
    free(n->slots);
    n->slots = slots;
    n->nslots = ns;
    return MKB_OK;
}

static node_t *literal_child(node_t *n, const char *level, size_t len)
{
    uint32_t h = hash_fnv1a(level, len);
    const slot_t *found = find_slot(n, level, len, h);
    if (found)
        return found->child;
    if ((n->used + 1) * 4 > n->nslots * 3 && grow(n) != MKB_OK) /* load <= 3/4 */
        return NULL;
    size_t mask = n->nslots - 1, i = h & mask;
    while (n->slots[i].child)
        i = (i + 1) & mask;
    slot_t *s = &n->slots[i];
    if (!(s->level = malloc(len + 1)))
        return NULL;
    memcpy(s->level, level, len);
    s->level[len] = '\0';
    if (!(s->child = calloc(1, sizeof(node_t)))) {
        free(s->level);
        return NULL;
    }
    s->len = len;
    s->hash = h;
    n->used++;
    return s->child;
}

static int push_id(uint32_t **ids, size_t *n, uint32_t id)
{
    uint32_t *p = realloc(*ids, (*n + 1) * sizeof(*p));
    if (!p)
        return MKB_ERR_NOMEM;
    p[(*n)++] = id;
    *ids = p;
    return MKB_OK;
}

int trie_insert(trie_t *t, const char *filter, uint32_t id)
{
    node_t *n = t->root;
    const char *lvl = filter;
    for (;;) {
        const char *slash = strchr(lvl, '/');
        size_t len = slash ? (size_t)(slash - lvl) : strlen(lvl);
        if (len == 1 && lvl[0] == '#')
            return push_id(&n->hash_ids, &n->nhash_ids, id);
        node_t *next;
        if (len == 1 && lvl[0] == '+') {
            if (!n->plus && !(n->plus = calloc(1, sizeof(node_t))))
                return MKB_ERR_NOMEM;
            next = n->plus;
        } else if (!(next = literal_child(n, lvl, len))) {
            return MKB_ERR_NOMEM;
        }
        n = next;
        if (!slash)
            return push_id(&n->ids, &n->nids, id);
        lvl = slash + 1;
    }
}

typedef struct {
    const char *topic;
    size_t starts[TRIE_MAX_LEVELS], lens[TRIE_MAX_LEVELS];
    size_t nlevels;
    uint32_t *ids;
    size_t n;
    bool truncated;
} match_t;

static void add_ids(match_t *m, const uint32_t *ids, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (m->n == TRIE_MAX_MATCHES) {
            m->truncated = true;
            return;
        }
        m->ids[m->n++] = ids[i];
    }
}

static void walk(match_t *m, const node_t *n, size_t level)
{
    /* '#' also matches the parent level: "a/#" matches "a". */
    add_ids(m, n->hash_ids, n->nhash_ids);
    if (level == m->nlevels) {
        add_ids(m, n->ids, n->nids);
        return;
    }
    const char *s = m->topic + m->starts[level];
    size_t len = m->lens[level];
    const slot_t *lit = find_slot(n, s, len, hash_fnv1a(s, len));
    if (lit)
        walk(m, lit->child, level + 1);
    if (n->plus)
        walk(m, n->plus, level + 1);
}

size_t trie_match(const trie_t *t, const char *topic, size_t topic_len,
                  uint32_t ids[TRIE_MAX_MATCHES], bool *truncated)
{
    match_t m;
    m.topic = topic;
    m.nlevels = 0;
    m.ids = ids;
    m.n = 0;
    m.truncated = false;
    size_t start = 0;
    for (size_t i = 0; i <= topic_len; i++) {
        if (i == topic_len || topic[i] == '/') {
            if (m.nlevels == TRIE_MAX_LEVELS) {
                if (truncated)
                    *truncated = false;
                return 0;
            }
            m.starts[m.nlevels] = start;
            m.lens[m.nlevels++] = i - start;
            start = i + 1;
        }
    }
    const node_t *root = t->root;
    if (topic_len > 0 && topic[0] == '$') {
        /* $-topics are not matched by a leading wildcard (MQTT 4.7.2). */
        const slot_t *lit = find_slot(root, topic, m.lens[0], hash_fnv1a(topic, m.lens[0]));
        if (lit)
            walk(&m, lit->child, 1);
    } else {
        walk(&m, root, 0);
    }
    /* Insertion sort: ascending ids, so routes run in file order. */
    for (size_t i = 1; i < m.n; i++) {
        uint32_t v = ids[i];
        size_t j = i;
        while (j > 0 && ids[j - 1] > v) {
            ids[j] = ids[j - 1];
            j--;
        }
        ids[j] = v;
    }
    if (truncated)
        *truncated = m.truncated;
    return m.n;
}
