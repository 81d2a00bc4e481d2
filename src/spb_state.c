// SPDX-FileCopyrightText: 2026 The mqtt-kafka-bridge authors
// SPDX-License-Identifier: Apache-2.0
/* Sparkplug B birth state (spb_state.h): edge nodes in a hash table, each
 * with the metric table of its NBIRTH and a hash table of its devices, each
 * with the table of its DBIRTH. A metric table is an array indexed twice
 * (by name and by alias), both open-addressing on FNV-1a, so resolving one
 * metric of a data message is two probes and no allocation. */
#include "spb_state.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "err.h"
#include "hash.h"

/* An index: a slot holds an entry's hash and its position + 1 (0: empty).
 * Kept at most half full so probes stay short; nothing is ever removed
 * (a table is rebuilt whole at a birth). */
typedef struct {
    uint32_t hash;
    uint32_t pos1;
} slot_t;

typedef struct {
    slot_t *slot;
    size_t cap; /* 0 or a power of 2 */
    size_t used;
} idx_t;

/* Whether the entry at POS is the key CTX describes. */
typedef bool (*idx_eq_t)(const void *ctx, size_t pos);

typedef struct {
    char *name;
    bool has_alias;
    uint64_t alias;
    uint32_t datatype;
} metric_t;

typedef struct {
    metric_t *m;
    size_t n, cap;
    idx_t by_name, by_alias;
} table_t;

typedef struct {
    char *name;
    size_t len;
    table_t table;
} device_t;

typedef struct {
    char *group, *node;
    size_t group_len, node_len;
    table_t table;
    device_t **dev;
    size_t ndev, devcap;
    idx_t dev_idx;
    bool has_bd_seq;
    uint64_t bd_seq;
    bool seq_known; /* a birth or message since the start or the last death */
    bool gapped;    /* a gap was reported since the birth */
    uint8_t next_seq;
    bool asked; /* a rebirth was asked for, at asked_ms */
    int64_t asked_ms;
} node_t;

struct spb_state {
    pthread_mutex_t lock;
    char *path;
    node_t **nodes;
    size_t n, cap;
    idx_t idx;
    size_t max_nodes, max_devices; /* SPB_MAX_NODES, SPB_MAX_DEVICES */
};

/* ---- the index ---- */

/* The slot of the entry CTX names, or the empty slot where it would go;
 * NULL when the index has no slots yet. */
static slot_t *idx_probe(const idx_t *x, uint32_t h, idx_eq_t eq, const void *ctx)
{
    if (x->cap == 0)
        return NULL;
    size_t mask = x->cap - 1;
    for (size_t i = h & mask;; i = (i + 1) & mask) {
        slot_t *s = &x->slot[i];
        if (s->pos1 == 0 || (s->hash == h && eq(ctx, s->pos1 - 1)))
            return s;
    }
}

static int idx_grow(idx_t *x)
{
    if ((x->used + 1) * 2 <= x->cap)
        return MKB_OK;
    size_t cap = x->cap ? x->cap * 2 : 16;
    slot_t *n = calloc(cap, sizeof(*n));
    if (!n)
        return MKB_ERR_NOMEM;
    for (size_t i = 0; i < x->cap; i++) {
        if (x->slot[i].pos1 == 0)
            continue;
        size_t j = x->slot[i].hash & (cap - 1);
        while (n[j].pos1)
            j = (j + 1) & (cap - 1);
        n[j] = x->slot[i];
    }
    free(x->slot);
    x->slot = n;
    x->cap = cap;
    return MKB_OK;
}

/* Points the key CTX (hash H) at POS: a new key, or one seen before (the
 * later entry wins, as the later metric of a birth naming one twice). */
static int idx_put(idx_t *x, uint32_t h, size_t pos, idx_eq_t eq, const void *ctx)
{
    if (pos >= UINT32_MAX)
        return MKB_ERR_NOMEM;
    int rc = idx_grow(x);
    if (rc != MKB_OK)
        return rc;
    slot_t *s = idx_probe(x, h, eq, ctx);
    if (s->pos1 == 0)
        x->used++;
    s->hash = h;
    s->pos1 = (uint32_t)pos + 1;
    return MKB_OK;
}

static void idx_free(idx_t *x)
{
    free(x->slot);
    *x = (idx_t){0};
}

/* Grows the array P of N elements of SIZE bytes (capacity *CAP) for one
 * more; NULL when out of memory (P still valid). */
static void *grow(void *p, size_t *cap, size_t n, size_t size)
{
    if (n < *cap)
        return p;
    size_t c = *cap ? *cap * 2 : 8;
    void *q = realloc(p, c * size);
    if (q)
        *cap = c;
    return q;
}

/* ---- metric tables ---- */

typedef struct {
    const table_t *t;
    const char *name;
    uint64_t alias;
} mkey_t;

static bool eq_name(const void *ctx, size_t pos)
{
    const mkey_t *k = ctx;
    return strcmp(k->t->m[pos].name, k->name) == 0;
}

static bool eq_alias(const void *ctx, size_t pos)
{
    const mkey_t *k = ctx;
    return k->t->m[pos].has_alias && k->t->m[pos].alias == k->alias;
}

static uint32_t alias_hash(uint64_t alias)
{
    return hash_fnv1a(&alias, sizeof(alias));
}

static int table_add(table_t *t, const char *name, bool has_alias, uint64_t alias, uint32_t dt)
{
    metric_t *m = grow(t->m, &t->cap, t->n, sizeof(*m));
    if (!m)
        return MKB_ERR_NOMEM;
    t->m = m;
    char *copy = strdup(name);
    if (!copy)
        return MKB_ERR_NOMEM;
    t->m[t->n] = (metric_t){.name = copy, .has_alias = has_alias, .alias = alias, .datatype = dt};
    size_t pos = t->n++;
    mkey_t k = {.t = t, .name = name, .alias = alias};
    int rc = idx_put(&t->by_name, hash_fnv1a_str(name), pos, eq_name, &k);
    if (rc == MKB_OK && has_alias)
        rc = idx_put(&t->by_alias, alias_hash(alias), pos, eq_alias, &k);
    return rc;
}

static void table_free(table_t *t)
{
    for (size_t i = 0; i < t->n; i++)
        free(t->m[i].name);
    free(t->m);
    idx_free(&t->by_name);
    idx_free(&t->by_alias);
    *t = (table_t){0};
}

static const metric_t *table_find(const table_t *t, const char *name, bool has_alias,
                                  uint64_t alias)
{
    mkey_t k = {.t = t, .name = name, .alias = alias};
    const slot_t *s;
    if (has_alias)
        s = idx_probe(&t->by_alias, alias_hash(alias), eq_alias, &k);
    else if (name)
        s = idx_probe(&t->by_name, hash_fnv1a_str(name), eq_name, &k);
    else
        return NULL;
    return s && s->pos1 ? &t->m[s->pos1 - 1] : NULL;
}

/* Adds the birth metric J ({"name", "alias", "datatype"}); one without a
 * name or a known datatype is skipped (the decoder rejects such births). */
static int table_add_json(table_t *t, const json_t *j)
{
    const char *name = json_string_value(json_object_get(j, "name"));
    const json_t *jdt = json_object_get(j, "datatype");
    const json_t *jal = json_object_get(j, "alias");
    int dt = json_is_string(jdt) ? spb_datatype_of(json_string_value(jdt)) : -1;
    if (!name || dt < 0)
        return MKB_OK;
    bool has_alias = json_is_integer(jal) && json_integer_value(jal) >= 0;
    uint64_t alias = has_alias ? (uint64_t)json_integer_value(jal) : 0;
    return table_add(t, name, has_alias, alias, (uint32_t)dt);
}

/* ---- nodes and devices ---- */

typedef struct {
    const spb_state_t *s;
    const node_t *n;
    const spb_topic_t *t;
} tkey_t;

static uint32_t node_hash(const spb_topic_t *t)
{
    return hash_fnv1a(t->group, t->group_len) ^ (hash_fnv1a(t->node, t->node_len) * 0x9e3779b1u);
}

static bool eq_node(const void *ctx, size_t pos)
{
    const tkey_t *k = ctx;
    const node_t *n = k->s->nodes[pos];
    return n->group_len == k->t->group_len && n->node_len == k->t->node_len &&
           memcmp(n->group, k->t->group, n->group_len) == 0 &&
           memcmp(n->node, k->t->node, n->node_len) == 0;
}

static bool eq_device(const void *ctx, size_t pos)
{
    const tkey_t *k = ctx;
    const device_t *d = k->n->dev[pos];
    return d->len == k->t->device_len && memcmp(d->name, k->t->device, d->len) == 0;
}

static node_t *node_find(const spb_state_t *s, const spb_topic_t *t)
{
    tkey_t k = {.s = s, .t = t};
    const slot_t *sl = idx_probe(&s->idx, node_hash(t), eq_node, &k);
    return sl && sl->pos1 ? s->nodes[sl->pos1 - 1] : NULL;
}

static device_t *device_find(const node_t *n, const spb_topic_t *t)
{
    tkey_t k = {.n = n, .t = t};
    const slot_t *sl = idx_probe(&n->dev_idx, hash_fnv1a(t->device, t->device_len), eq_device, &k);
    return sl && sl->pos1 ? n->dev[sl->pos1 - 1] : NULL;
}

static void device_free(device_t *d)
{
    if (!d)
        return;
    table_free(&d->table);
    free(d->name);
    free(d);
}

static void node_forget_devices(node_t *n)
{
    for (size_t i = 0; i < n->ndev; i++)
        device_free(n->dev[i]);
    free(n->dev);
    n->dev = NULL;
    n->ndev = n->devcap = 0;
    idx_free(&n->dev_idx);
}

static void node_free(node_t *n)
{
    if (!n)
        return;
    node_forget_devices(n);
    table_free(&n->table);
    free(n->group);
    free(n->node);
    free(n);
}

/* The node of T, made when new; NULL when out of memory. */
static node_t *node_get(spb_state_t *s, const spb_topic_t *t)
{
    node_t *n = node_find(s, t);
    if (n || s->n >= s->max_nodes)
        return n;
    node_t **arr = grow(s->nodes, &s->cap, s->n, sizeof(node_t *));
    if (!arr)
        return NULL;
    s->nodes = arr;
    n = calloc(1, sizeof(*n));
    if (!n)
        return NULL;
    n->group = strndup(t->group, t->group_len);
    n->node = strndup(t->node, t->node_len);
    n->group_len = t->group_len;
    n->node_len = t->node_len;
    tkey_t k = {.s = s, .t = t};
    if (!n->group || !n->node || idx_put(&s->idx, node_hash(t), s->n, eq_node, &k) != MKB_OK) {
        node_free(n);
        return NULL;
    }
    s->nodes[s->n++] = n;
    return n;
}

/* The device of T under N, made when new; NULL when out of memory. */
static device_t *device_get(node_t *n, const spb_topic_t *t, size_t max)
{
    device_t *d = device_find(n, t);
    if (d || n->ndev >= max)
        return d;
    device_t **arr = grow(n->dev, &n->devcap, n->ndev, sizeof(device_t *));
    if (!arr)
        return NULL;
    n->dev = arr;
    d = calloc(1, sizeof(*d));
    if (!d)
        return NULL;
    d->name = strndup(t->device, t->device_len);
    d->len = t->device_len;
    tkey_t k = {.n = n, .t = t};
    if (!d->name || idx_put(&n->dev_idx, hash_fnv1a(t->device, t->device_len), n->ndev, eq_device,
                            &k) != MKB_OK) {
        device_free(d);
        return NULL;
    }
    n->dev[n->ndev++] = d;
    return d;
}

static void state_clear(spb_state_t *s)
{
    for (size_t i = 0; i < s->n; i++)
        node_free(s->nodes[i]);
    free(s->nodes);
    s->nodes = NULL;
    s->n = s->cap = 0;
    idx_free(&s->idx);
}

/* ---- the file ---- */

static json_t *render_table(const table_t *t)
{
    json_t *arr = json_array();
    for (size_t i = 0; arr && i < t->n; i++) {
        const metric_t *m = &t->m[i];
        json_t *alias = m->has_alias ? json_integer((json_int_t)m->alias) : json_null();
        const char *dt = spb_datatype_name(m->datatype);
        if (json_array_append_new(arr, json_pack("[os?s]", alias, dt, m->name)) != 0) {
            json_decref(arr);
            return NULL;
        }
    }
    return arr;
}

static json_t *render_node(const node_t *n)
{
    json_t *devs = json_array();
    for (size_t i = 0; devs && i < n->ndev; i++) {
        const device_t *d = n->dev[i];
        if (json_array_append_new(devs, json_pack("{s:s%,s:o*}", "device", d->name, d->len,
                                                  "metrics", render_table(&d->table))) != 0) {
            json_decref(devs);
            return NULL;
        }
    }
    json_t *o =
        json_pack("{s:s%,s:s%,s:o*,s:o*}", "group", n->group, n->group_len, "edge_node", n->node,
                  n->node_len, "metrics", render_table(&n->table), "devices", devs);
    if (o && n->has_bd_seq &&
        json_object_set_new(o, "bdSeq", json_integer((json_int_t)n->bd_seq))) {
        json_decref(o);
        return NULL;
    }
    return o;
}

/* The file's text, or NULL when out of memory. */
static char *render(const spb_state_t *s)
{
    json_t *nodes = json_array();
    for (size_t i = 0; nodes && i < s->n; i++) {
        if (json_array_append_new(nodes, render_node(s->nodes[i])) != 0) {
            json_decref(nodes);
            return NULL;
        }
    }
    json_t *root = json_pack("{s:i,s:o*}", "version", 1, "nodes", nodes);
    char *text = root ? json_dumps(root, JSON_COMPACT) : NULL;
    json_decref(root);
    return text;
}

/* Writes TEXT to PATH.tmp, syncs it and renames it over PATH. */
static int write_atomically(const char *path, const char *text, char *why, size_t why_size)
{
    char tmp[4096];
    if ((size_t)snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= sizeof(tmp)) {
        snprintf(why, why_size, "cannot write %s: path too long", path);
        return MKB_ERR_IO;
    }
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) {
        snprintf(why, why_size, "cannot write %s: %s", tmp, strerror(errno));
        return MKB_ERR_IO;
    }
    size_t len = strlen(text), done = 0;
    while (done < len) {
        ssize_t w = write(fd, text + done, len - done);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            break;
        done += (size_t)w;
    }
    bool ok = done == len && fsync(fd) == 0;
    ok = close(fd) == 0 && ok;
    if (ok && rename(tmp, path) == 0)
        return MKB_OK;
    snprintf(why, why_size, "cannot write %s: %s", tmp, errno ? strerror(errno) : "short write");
    unlink(tmp);
    return MKB_ERR_IO;
}

/* Rewrites the file (the caller holds the lock). */
static int save(spb_state_t *s, char *why, size_t why_size)
{
    if (!s->path)
        return MKB_OK;
    char *text = render(s);
    if (!text) {
        snprintf(why, why_size, "cannot write %s: out of memory", s->path);
        return MKB_ERR_NOMEM;
    }
    errno = 0;
    int rc = write_atomically(s->path, text, why, why_size);
    json_free_t jfree; /* json_dumps' memory is jansson's (jarena's in the bridge) */
    json_get_alloc_funcs(NULL, &jfree);
    jfree(text);
    return rc;
}

/* Loads the metrics array J ([[alias|null, datatype, name], ...]) into T;
 * false (a reason in WHY) when it is not that. */
static bool load_table(table_t *t, const json_t *j, char *why, size_t why_size)
{
    if (!json_is_array(j)) {
        snprintf(why, why_size, "\"metrics\" is not an array");
        return false;
    }
    size_t i;
    const json_t *e;
    json_array_foreach(j, i, e)
    {
        const json_t *jal = json_array_get(e, 0);
        const char *dtn = json_string_value(json_array_get(e, 1));
        const char *name = json_string_value(json_array_get(e, 2));
        int dt = dtn ? spb_datatype_of(dtn) : -1;
        bool alias_ok = json_is_null(jal) || (json_is_integer(jal) && json_integer_value(jal) >= 0);
        if (json_array_size(e) != 3 || !alias_ok || dt < 0 || !name) {
            snprintf(why, why_size, "metric %zu is not [alias|null, datatype, name]", i);
            return false;
        }
        bool has_alias = json_is_integer(jal);
        uint64_t alias = has_alias ? (uint64_t)json_integer_value(jal) : 0;
        if (table_add(t, name, has_alias, alias, (uint32_t)dt) != MKB_OK) {
            snprintf(why, why_size, "out of memory");
            return false;
        }
    }
    return true;
}

static bool load_devices(node_t *n, const json_t *j, char *why, size_t why_size)
{
    if (j && !json_is_array(j)) {
        snprintf(why, why_size, "\"devices\" is not an array");
        return false;
    }
    size_t i;
    const json_t *e;
    json_array_foreach(j, i, e)
    {
        const json_t *jd = json_object_get(e, "device");
        if (!json_is_string(jd)) {
            snprintf(why, why_size, "device %zu of %s/%s has no \"device\"", i, n->group, n->node);
            return false;
        }
        spb_topic_t t = {.type = SPB_DBIRTH,
                         .group = n->group,
                         .group_len = n->group_len,
                         .node = n->node,
                         .node_len = n->node_len,
                         .device = json_string_value(jd),
                         .device_len = json_string_length(jd)};
        device_t *d = device_get(n, &t, SPB_MAX_DEVICES);
        if (!d) {
            snprintf(why, why_size, "more than %d devices, or out of memory", SPB_MAX_DEVICES);
            return false;
        }
        if (!load_table(&d->table, json_object_get(e, "metrics"), why, why_size))
            return false;
    }
    return true;
}

static bool load_node(spb_state_t *s, const json_t *j, char *why, size_t why_size)
{
    const json_t *jg = json_object_get(j, "group"), *jn = json_object_get(j, "edge_node");
    const json_t *jbd = json_object_get(j, "bdSeq");
    if (!json_is_string(jg) || !json_is_string(jn) || (jbd && !json_is_integer(jbd))) {
        snprintf(why, why_size, "a node without \"group\" and \"edge_node\" strings");
        return false;
    }
    spb_topic_t t = {.type = SPB_NBIRTH,
                     .group = json_string_value(jg),
                     .group_len = json_string_length(jg),
                     .node = json_string_value(jn),
                     .node_len = json_string_length(jn)};
    node_t *n = node_get(s, &t);
    if (!n) {
        snprintf(why, why_size, "more than %zu edge nodes, or out of memory", s->max_nodes);
        return false;
    }
    if (jbd) {
        n->has_bd_seq = true;
        n->bd_seq = (uint64_t)json_integer_value(jbd);
    }
    return load_table(&n->table, json_object_get(j, "metrics"), why, why_size) &&
           load_devices(n, json_object_get(j, "devices"), why, why_size);
}

/* Reads the file into S; false (a reason in WHY) when it is damaged. */
static bool load(spb_state_t *s, char *why, size_t why_size)
{
    json_error_t err;
    json_t *root = json_load_file(s->path, JSON_REJECT_DUPLICATES, &err);
    if (!root) {
        snprintf(why, why_size, "line %d: %s", err.line, err.text);
        return false;
    }
    bool ok = false;
    const json_t *v = json_object_get(root, "version"), *nodes = json_object_get(root, "nodes");
    if (!json_is_integer(v) || json_integer_value(v) != 1 || !json_is_array(nodes)) {
        snprintf(why, why_size, "not {\"version\": 1, \"nodes\": [...]}");
        goto out;
    }
    size_t i;
    const json_t *e;
    json_array_foreach(nodes, i, e)
    {
        if (!load_node(s, e, why, why_size))
            goto out;
    }
    ok = true;
out:
    json_decref(root);
    return ok;
}

/* ---- the interface ---- */

int spb_state_new(const char *path, spb_state_t **out, char *why, size_t why_size)
{
    if (why_size)
        why[0] = '\0';
    spb_state_t *s = calloc(1, sizeof(*s));
    if (!s)
        return MKB_ERR_NOMEM;
    s->max_nodes = SPB_MAX_NODES;
    s->max_devices = SPB_MAX_DEVICES;
    if (pthread_mutex_init(&s->lock, NULL) != 0) {
        free(s);
        return MKB_ERR_NOMEM;
    }
    if (path && !(s->path = strdup(path))) {
        spb_state_destroy(s);
        return MKB_ERR_NOMEM;
    }
    struct stat st;
    if (path && stat(path, &st) == 0) {
        char reason[256];
        if (!load(s, reason, sizeof(reason))) {
            /* Births start over: the edge nodes name their metrics again at
             * their next birth (a rebirth is asked for on an unknown alias). */
            state_clear(s);
            snprintf(why, why_size, "%s is damaged (%s): Sparkplug births start empty", path,
                     reason);
        }
    } else if (path && errno != ENOENT) {
        snprintf(why, why_size, "cannot read %s: %s: Sparkplug births start empty", path,
                 strerror(errno));
    }
    *out = s;
    return MKB_OK;
}

void spb_state_destroy(spb_state_t *s)
{
    if (!s)
        return;
    state_clear(s);
    pthread_mutex_destroy(&s->lock);
    free(s->path);
    free(s);
}

/* The NBIRTH DOC's seq and bdSeq metric into N; its devices forgotten. */
static void node_born(node_t *n, const json_t *doc)
{
    node_forget_devices(n);
    const json_t *seq = json_object_get(doc, "seq");
    n->seq_known = json_is_integer(seq);
    n->next_seq = (uint8_t)((uint64_t)json_integer_value(seq) + 1);
    n->gapped = false;
    n->has_bd_seq = false;
    size_t i;
    const json_t *m;
    json_array_foreach(json_object_get(doc, "metrics"), i, m)
    {
        const json_t *v = json_object_get(m, "value");
        if (json_is_string(json_object_get(m, "name")) &&
            strcmp(json_string_value(json_object_get(m, "name")), "bdSeq") == 0 &&
            json_is_integer(v) && json_integer_value(v) >= 0) {
            n->has_bd_seq = true;
            n->bd_seq = (uint64_t)json_integer_value(v);
        }
    }
}

/* True when node_get/device_get found no room (N: the node, or NULL). */
static bool full(const spb_state_t *s, const node_t *n)
{
    return n ? n->ndev >= s->max_devices : s->n >= s->max_nodes;
}

void spb_state_limit(spb_state_t *s, size_t max_nodes, size_t max_devices)
{
    s->max_nodes = max_nodes;
    s->max_devices = max_devices;
}

int spb_state_birth(spb_state_t *s, const spb_topic_t *t, json_t *doc, char *why, size_t why_size)
{
    if (t->type != SPB_NBIRTH && t->type != SPB_DBIRTH) {
        snprintf(why, why_size, "%s is not a birth", spb_type_name(t->type));
        return MKB_ERR_INVAL;
    }
    /* The new table is built outside the lock: resolves go on meanwhile. */
    table_t fresh = {0};
    int rc = MKB_OK;
    size_t i;
    const json_t *m;
    json_array_foreach(json_object_get(doc, "metrics"), i, m)
    {
        if ((rc = table_add_json(&fresh, m)) != MKB_OK)
            goto out;
    }
    pthread_mutex_lock(&s->lock);
    node_t *n = node_get(s, t);
    device_t *d = n && t->type == SPB_DBIRTH ? device_get(n, t, s->max_devices) : NULL;
    if (!n || (t->type == SPB_DBIRTH && !d)) {
        rc = full(s, n) ? MKB_ERR_INVAL : MKB_ERR_NOMEM;
        if (rc == MKB_ERR_INVAL)
            snprintf(why, why_size,
                     "more than %zu edge nodes, or devices of one edge node, seen: the %s on "
                     "%.*s/%.*s is not recorded, and its data by alias stays unnamed",
                     n ? s->max_devices : s->max_nodes, spb_type_name(t->type),
                     (int)t->group_len, t->group, (int)t->node_len, t->node);
    } else {
        if (t->type == SPB_NBIRTH)
            node_born(n, doc);
        table_t *dst = d ? &d->table : &n->table;
        table_t old = *dst;
        *dst = fresh;
        fresh = old; /* freed below, after the swap */
        rc = save(s, why, why_size);
    }
    pthread_mutex_unlock(&s->lock);
out:
    if (rc == MKB_ERR_NOMEM)
        snprintf(why, why_size, "out of memory recording a %s", spb_type_name(t->type));
    table_free(&fresh);
    return rc;
}

bool spb_state_resolve(void *scope, const char *name, bool has_alias, uint64_t alias,
                       const char **name_out, uint32_t *datatype_out)
{
    const spb_scope_t *sc = scope;
    if (!sc || !sc->state || !sc->topic)
        return false;
    spb_state_t *s = sc->state;
    const spb_topic_t *t = sc->topic;
    pthread_mutex_lock(&s->lock);
    const node_t *n = node_find(s, t);
    const device_t *d = n && t->device_len ? device_find(n, t) : NULL;
    const table_t *tb = t->device_len ? (d ? &d->table : NULL) : (n ? &n->table : NULL);
    const metric_t *m = tb ? table_find(tb, name, has_alias, alias) : NULL;
    if (m && name_out)
        *name_out = m->name;
    if (m && datatype_out)
        *datatype_out = m->datatype;
    pthread_mutex_unlock(&s->lock);
    return m != NULL;
}

spb_seq_t spb_state_seq(spb_state_t *s, const spb_topic_t *t, uint64_t seq, uint64_t *expected)
{
    spb_seq_t r = SPB_SEQ_UNKNOWN;
    pthread_mutex_lock(&s->lock);
    node_t *n = node_get(s, t);
    if (n && n->seq_known) {
        if (expected)
            *expected = n->next_seq;
        if (seq == n->next_seq) {
            r = SPB_SEQ_OK;
        } else {
            r = n->gapped ? SPB_SEQ_GAP_AGAIN : SPB_SEQ_GAP;
            n->gapped = true;
        }
    } else if (expected) {
        *expected = seq;
    }
    if (n) {
        n->seq_known = true;
        n->next_seq = (uint8_t)(seq + 1);
    }
    pthread_mutex_unlock(&s->lock);
    return r;
}

bool spb_state_death(spb_state_t *s, const spb_topic_t *t, bool has_bd_seq, uint64_t bd_seq)
{
    bool current = true;
    pthread_mutex_lock(&s->lock);
    node_t *n = node_find(s, t);
    if (n && has_bd_seq && n->has_bd_seq && n->bd_seq != bd_seq)
        current = false;
    if (n && current) {
        n->seq_known = false;
        n->gapped = false;
    }
    pthread_mutex_unlock(&s->lock);
    return current;
}

bool spb_state_want_rebirth(spb_state_t *s, const spb_topic_t *t, int64_t now_ms)
{
    bool want = false;
    pthread_mutex_lock(&s->lock);
    node_t *n = node_get(s, t);
    if (n && (!n->asked || now_ms - n->asked_ms >= SPB_REBIRTH_INTERVAL_MS)) {
        n->asked = true;
        n->asked_ms = now_ms;
        want = true;
    }
    pthread_mutex_unlock(&s->lock);
    return want;
}
