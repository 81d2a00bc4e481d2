// SPDX-FileCopyrightText: 2026 The mqtt-kafka-bridge authors
// SPDX-License-Identifier: Apache-2.0
#include "ytree.h"

#include "diag.h"
#include "err.h"

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

struct ynode {
    ynode_type_t type;
    int line, col;
    int quoted;
    int from_env;          /* the scalar was one ${VAR} set in the environment */
    bool merge_key;        /* a plain << (or !!merge): the YAML 1.1 merge key */
    bool anchored;         /* aliases may copy it: never emptied by a merge */
    int height;            /* levels from here to the deepest leaf, 1 for a scalar */
    const char *file;      /* borrowed from the tree */
    const diag_via_t *via; /* borrowed from the tree's yvias */
    char *text;            /* scalar */
    size_t text_len;
    ynode_t **kids; /* map: key, value, key, value...; seq: items */
    size_t nkids, cap;
};

/* The records of the aliases nodes came through, each with its name. */
typedef struct {
    diag_via_t via;
    char name[]; /* via.alias */
} via_rec_t;

struct yvias {
    char *file; /* every record's file */
    via_rec_t **recs;
    size_t n, cap;
};

struct ytree {
    char *file;
    ynode_t *root;
    yvias_t *vias;
    ynode_t **dropped; /* removed by merges, maybe anchored: freed at destroy */
    size_t ndropped, dropcap;
};

static void ynode_free(ynode_t *n)
{
    if (!n)
        return;
    for (size_t i = 0; i < n->nkids; i++)
        ynode_free(n->kids[i]);
    free(n->kids);
    free(n->text);
    free(n);
}

static int ptrs_add(ynode_t ***arr, size_t *n, size_t *cap, ynode_t *node);

static int ynode_add(ynode_t *parent, ynode_t *kid)
{
    return ptrs_add(&parent->kids, &parent->nkids, &parent->cap, kid);
}

/* Appends N to ARR (N, CAP): the one growable array of node pointers. */
static int ptrs_add(ynode_t ***arr, size_t *n, size_t *cap, ynode_t *node)
{
    if (*n == *cap) {
        size_t c = *cap ? *cap * 2 : 8;
        // NOLINTNEXTLINE(bugprone-sizeof-expression): an array of pointers
        ynode_t **k = realloc(*arr, c * sizeof(*k));
        if (!k)
            return MKB_ERR_NOMEM;
        *arr = k;
        *cap = c;
    }
    (*arr)[(*n)++] = node;
    return MKB_OK;
}

/* Keeps NODE (a merge's leftovers) until the tree is destroyed: it may be
 * anchored, and a later alias still copies it. */
static int drop_node(ytree_t *t, ynode_t *node)
{
    int rc = ptrs_add(&t->dropped, &t->ndropped, &t->dropcap, node);
    if (rc != MKB_OK)
        ynode_free(node);
    return rc;
}

void yvias_destroy(yvias_t *v)
{
    if (!v)
        return;
    for (size_t i = 0; i < v->n; i++)
        free(v->recs[i]);
    free(v->recs);
    free(v->file);
    free(v);
}

/* A new alias record: *NAME used at LINE:COL, itself used through OUTER. */
static const diag_via_t *via_new(ytree_t *t, const char *name, int line, int col,
                                 const diag_via_t *outer)
{
    if (!t->vias && (t->vias = calloc(1, sizeof(*t->vias))) &&
        !(t->vias->file = strdup(t->file))) {
        free(t->vias);
        t->vias = NULL;
    }
    yvias_t *v = t->vias;
    if (!v)
        return NULL;
    if (v->n == v->cap) {
        size_t cap = v->cap ? v->cap * 2 : 16;
        // NOLINTNEXTLINE(bugprone-sizeof-expression): an array of pointers
        via_rec_t **r = realloc(v->recs, cap * sizeof(*r));
        if (!r)
            return NULL;
        v->recs = r;
        v->cap = cap;
    }
    size_t len = strlen(name);
    via_rec_t *rec = malloc(sizeof(*rec) + len + 1);
    if (!rec)
        return NULL;
    memcpy(rec->name, name, len + 1);
    rec->via = (diag_via_t){rec->name, v->file, line, col, outer};
    v->recs[v->n++] = rec;
    return &rec->via;
}

/* Replaces ${VAR} / ${VAR:-default} from the environment. */
static int expand_env(const char *in, size_t len, char **out, size_t *out_len, int *from_env,
                      char *err, size_t err_size)
{
    *from_env = 0;
    size_t cap = len + 1, n = 0;
    char *buf = malloc(cap);
    if (!buf)
        return MKB_ERR_NOMEM;
    for (size_t i = 0; i < len;) {
        const char *piece = in + i;
        size_t plen = 1;
        char name[256];
        if (in[i] == '$' && i + 2 < len && in[i + 1] == '$' && in[i + 2] == '{') {
            piece = "${";
            plen = 2;
            i += 3;
        } else if (in[i] == '$' && i + 1 < len && in[i + 1] == '{') {
            const char *close = memchr(in + i + 2, '}', len - i - 2);
            if (!close) {
                snprintf(err, err_size, "unterminated ${ in value");
                free(buf);
                return MKB_ERR_CONFIG;
            }
            size_t inner = (size_t)(close - (in + i + 2));
            const char *body = in + i + 2;
            const char *dflt = NULL;
            size_t nlen = inner;
            for (size_t k = 0; k + 1 < inner; k++) {
                if (body[k] == ':' && body[k + 1] == '-') {
                    nlen = k;
                    dflt = body + k + 2;
                    break;
                }
            }
            if (nlen == 0 || nlen >= sizeof(name)) {
                snprintf(err, err_size, "bad environment reference ${%.*s}", (int)inner, body);
                free(buf);
                return MKB_ERR_CONFIG;
            }
            memcpy(name, body, nlen);
            name[nlen] = '\0';
            const char *val = getenv(name);
            if (val && *val) {
                piece = val;
                plen = strlen(val);
                *from_env = i == 0 && inner + 3 == len; /* nothing else written around it */
            } else if (dflt) {
                piece = dflt;
                plen = (size_t)(close - dflt);
            } else {
                if (snprintf(err, err_size,
                             "environment variable %s is not set (write ${%s:-default} for "
                             "a default)",
                             name, name) >= (int)err_size)
                    err[err_size - 1] = '\0';
                free(buf);
                return MKB_ERR_CONFIG;
            }
            i += inner + 3;
        } else {
            i++;
        }
        if (n + plen + 1 > cap) {
            cap = (n + plen + 1) * 2;
            char *b = realloc(buf, cap);
            if (!b) {
                free(buf);
                return MKB_ERR_NOMEM;
            }
            buf = b;
        }
        memcpy(buf + n, piece, plen);
        n += plen;
    }
    buf[n] = '\0';
    *out = buf;
    *out_len = n;
    return MKB_OK;
}

/* An anchor defined so far in the document. */
typedef struct {
    char *name;
    ynode_t *node; /* in the tree (or its dropped list) until the tree is destroyed */
    int line, col;
} anchor_t;

/* What reading one document keeps besides the tree: the mappings and
 * sequences not yet ended, the anchors, and how many nodes aliases added. */
typedef struct {
    ytree_t *t;
    ynode_t *stack[64];
    int depth;
    anchor_t *anchors;
    size_t nanchors, acap;
    size_t *slots; /* hash index of anchors: index + 1, 0 empty; 2 * acap of them */
    size_t expanded;
    char *errstr;
    size_t errstr_size;
} yparse_t;

enum { MAX_DEPTH = 64 };

/* FNV-1a: anchor names and merged keys are looked up by hash, so a file
 * with many of them stays linear. */
static size_t fnv1a(const char *s, size_t len)
{
    uint64_t h = 14695981039346656037ULL;
    for (size_t i = 0; i < len; i++)
        h = (h ^ (unsigned char)s[i]) * 1099511628211ULL;
    return (size_t)h;
}

static void anchors_free(yparse_t *p)
{
    free(p->slots);
    for (size_t i = 0; i < p->nanchors; i++)
        free(p->anchors[i].name);
    free(p->anchors);
}

/* The slot of NAME in the hash index: its anchor's, or the empty one where
 * it would go. */
static size_t *anchor_slot(const yparse_t *p, const char *name)
{
    size_t mask = 2 * p->acap - 1;
    for (size_t i = fnv1a(name, strlen(name)) & mask;; i = (i + 1) & mask)
        if (!p->slots[i] || strcmp(p->anchors[p->slots[i] - 1].name, name) == 0)
            return &p->slots[i];
}

static const anchor_t *anchor_find(const yparse_t *p, const char *name)
{
    size_t *slot = p->acap ? anchor_slot(p, name) : NULL;
    return slot && *slot ? &p->anchors[*slot - 1] : NULL;
}

/* The place of one more anchor (the array and its index doubled when full),
 * or NULL without memory. */
static anchor_t *anchors_next(yparse_t *p)
{
    if (p->nanchors < p->acap && p->anchors)
        return &p->anchors[p->nanchors];
    size_t cap = p->acap ? p->acap * 2 : 8;
    anchor_t *a = realloc(p->anchors, cap * sizeof(*a));
    if (!a)
        return NULL;
    p->anchors = a;
    size_t *slots = calloc(2 * cap, sizeof(*slots));
    if (!slots)
        return NULL;
    free(p->slots);
    p->slots = slots;
    p->acap = cap;
    for (size_t i = 0; i < p->nanchors; i++)
        // NOLINTNEXTLINE(clang-analyzer-core.CallAndMessage): nanchors <= the old acap
        *anchor_slot(p, a[i].name) = i + 1;
    return &a[p->nanchors];
}

/* Records &NAME on NODE; an anchor defined twice is refused, as PyYAML does
 * (which one an alias meant would be a guess). */
static int anchor_add(yparse_t *p, const char *name, ynode_t *node)
{
    const anchor_t *old = anchor_find(p, name);
    if (old) {
        char at[512];
        diag_format(p->errstr, p->errstr_size, p->t->file, node->line, node->col,
                    "anchor &%s is defined twice (first at %s)", name,
                    diag_where(at, sizeof(at), p->t->file, old->line, old->col));
        return MKB_ERR_CONFIG;
    }
    anchor_t *a = anchors_next(p);
    char *copy = a ? strdup(name) : NULL;
    if (!copy)
        return MKB_ERR_NOMEM;
    *anchor_slot(p, copy) = ++p->nanchors;
    *a = (anchor_t){copy, node, node->line, node->col};
    node->anchored = true;
    return MKB_OK;
}

/* The anchor an event defines, or NULL. */
static const char *event_anchor(const yaml_event_t *ev)
{
    switch (ev->type) {
    case YAML_SCALAR_EVENT: return (const char *)ev->data.scalar.anchor;
    case YAML_MAPPING_START_EVENT: return (const char *)ev->data.mapping_start.anchor;
    case YAML_SEQUENCE_START_EVENT: return (const char *)ev->data.sequence_start.anchor;
    default: return NULL;
    }
}

/* A plain << without a tag, or one tagged !!merge, is the merge key; a
 * quoted "<<" is an ordinary key (as PyYAML reads it). */
static bool is_merge_key(const yaml_event_t *ev)
{
    const char *tag = (const char *)ev->data.scalar.tag;
    if (tag)
        return strcmp(tag, "tag:yaml.org,2002:merge") == 0;
    return ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE && ev->data.scalar.length == 2 &&
           memcmp(ev->data.scalar.value, "<<", 2) == 0;
}

/* A node for a scalar, mapping-start or sequence-start event (with ${VAR}
 * expanded in a scalar); *out is NULL on error. */
static int new_node(ytree_t *t, const yaml_event_t *ev, int line, int col, ynode_t **out,
                    char *errstr, size_t errstr_size)
{
    char err[512];
    ynode_t *node = calloc(1, sizeof(*node));
    *out = NULL;
    if (!node)
        return MKB_ERR_NOMEM;
    node->file = t->file;
    node->line = line;
    node->col = col;
    node->height = 1;
    if (ev->type != YAML_SCALAR_EVENT) {
        node->type = ev->type == YAML_MAPPING_START_EVENT ? YNODE_MAP : YNODE_SEQ;
        *out = node;
        return MKB_OK;
    }
    node->type = YNODE_SCALAR;
    node->quoted = ev->data.scalar.style != YAML_PLAIN_SCALAR_STYLE;
    node->merge_key = is_merge_key(ev);
    int rc = expand_env((const char *)ev->data.scalar.value, ev->data.scalar.length, &node->text,
                        &node->text_len, &node->from_env, err, sizeof(err));
    if (rc == MKB_ERR_CONFIG)
        diag_format(errstr, errstr_size, t->file, line, col, "%s", err);
    if (rc != MKB_OK) {
        ynode_free(node);
        return rc;
    }
    *out = node;
    return MKB_OK;
}

/* Puts NODE under the innermost open node (or as the root), and opens it
 * (OPEN: a mapping or sequence whose items follow); NODE is freed on failure. */
static int place_node(yparse_t *p, ynode_t *node, bool open)
{
    if (p->depth == 0) {
        p->t->root = node;
    } else {
        int rc = ynode_add(p->stack[p->depth - 1], node);
        if (rc != MKB_OK) {
            ynode_free(node);
            return rc;
        }
    }
    if (!open)
        return MKB_OK;
    if (p->depth == MAX_DEPTH) {
        diag_format(p->errstr, p->errstr_size, p->t->file, node->line, node->col,
                    "nesting deeper than %d levels", p->depth);
        return MKB_ERR_CONFIG;
    }
    p->stack[p->depth++] = node;
    return MKB_OK;
}

/* Adds the node of a scalar, mapping-start or sequence-start event. */
static int add_node(yparse_t *p, const yaml_event_t *ev)
{
    int line = (int)ev->start_mark.line + 1, col = (int)ev->start_mark.column + 1;
    ynode_t *node;
    int rc = new_node(p->t, ev, line, col, &node, p->errstr, p->errstr_size);
    if (rc != MKB_OK)
        return rc;
    const char *anchor = event_anchor(ev);
    if (anchor && (rc = anchor_add(p, anchor, node)) != MKB_OK) {
        ynode_free(node);
        return rc;
    }
    return place_node(p, node, node->type != YNODE_SCALAR);
}

/* ---- aliases ------------------------------------------------------------ */

/* One alias's copy: the alias record its nodes get, and the records made for
 * nodes that already came through an alias inside the anchored text. */
typedef struct {
    yparse_t *p;
    const diag_via_t *use;
    struct {
        const diag_via_t *from, *to;
    } memo[16];
    int nmemo;
    int rc;
} copy_t;

/* Counts one more node made by an alias against the cap. */
static bool expand_one(copy_t *c)
{
    if (++c->p->expanded <= YTREE_MAX_ALIAS_NODES)
        return true;
    if (c->rc == MKB_OK)
        c->rc = MKB_ERR_CONFIG;
    return false;
}

/* The record for a node that came through V inside the anchored text, now
 * also through the copy's alias: V's chain with the copy's alias at its end. */
static const diag_via_t *via_compose(copy_t *c, const diag_via_t *v)
{
    if (!v || !c->use) /* no alias: a plain copy keeps V */
        return v ? v : c->use;
    for (int i = 0; i < c->nmemo; i++)
        if (c->memo[i].from == v)
            return c->memo[i].to;
    const diag_via_t *outer = via_compose(c, v->outer);
    if (!outer || !expand_one(c))
        return NULL;
    const diag_via_t *to = via_new(c->p->t, v->alias, v->line, v->col, outer);
    if (!to) {
        c->rc = MKB_ERR_NOMEM;
        return NULL;
    }
    if (c->nmemo < (int)(sizeof(c->memo) / sizeof(c->memo[0])))
        c->memo[c->nmemo].from = v, c->memo[c->nmemo++].to = to;
    return to;
}

/* A deep copy of SRC with positions kept; NULL on failure (c->rc says why). */
static ynode_t *copy_node(copy_t *c, const ynode_t *src)
{
    if (!expand_one(c))
        return NULL;
    ynode_t *n = malloc(sizeof(*n));
    if (!n) {
        c->rc = MKB_ERR_NOMEM;
        return NULL;
    }
    *n = *src;
    n->anchored = false;
    n->kids = NULL;
    n->nkids = n->cap = 0;
    n->text = NULL;
    if (src->text && (n->text = malloc(src->text_len + 1)))
        memcpy(n->text, src->text, src->text_len + 1);
    bool via_wanted = src->via || c->use;
    n->via = via_wanted ? via_compose(c, src->via) : NULL;
    if ((src->text && !n->text) || (via_wanted && !n->via)) {
        c->rc = c->rc == MKB_OK ? MKB_ERR_NOMEM : c->rc;
        ynode_free(n);
        return NULL;
    }
    for (size_t i = 0; i < src->nkids; i++) {
        ynode_t *kid = copy_node(c, src->kids[i]);
        if (!kid || ynode_add(n, kid) != MKB_OK) {
            c->rc = c->rc == MKB_OK ? MKB_ERR_NOMEM : c->rc;
            ynode_free(kid);
            ynode_free(n);
            return NULL;
        }
    }
    return n;
}

/* The anchor *NAME (at LINE:COL) names, checked: defined, ended, and its copy
 * not nested too deep. */
static const anchor_t *alias_target(yparse_t *p, const char *name, int line, int col)
{
    const anchor_t *a = anchor_find(p, name);
    const char *f = p->t->file;
    char at[512];
    if (!a) {
        diag_format(p->errstr, p->errstr_size, f, line, col,
                    "alias *%s names no anchor: write &%s on a value before the alias", name,
                    name);
        return NULL;
    }
    for (int i = 0; i < p->depth; i++) {
        if (p->stack[i] == a->node) {
            diag_format(p->errstr, p->errstr_size, f, line, col,
                        "alias *%s is inside the value it names (&%s at %s): a cycle", name,
                        name, diag_where(at, sizeof(at), f, a->line, a->col));
            return NULL;
        }
    }
    if (p->depth + a->node->height > MAX_DEPTH) {
        diag_format(p->errstr, p->errstr_size, f, line, col,
                    "alias *%s nests its value deeper than %d levels", name, MAX_DEPTH);
        return NULL;
    }
    return a;
}

/* An alias: a copy of the anchored node, its nodes naming this alias. */
static int add_alias(yparse_t *p, const yaml_event_t *ev)
{
    int line = (int)ev->start_mark.line + 1, col = (int)ev->start_mark.column + 1;
    const char *name = (const char *)ev->data.alias.anchor;
    const anchor_t *a = alias_target(p, name, line, col);
    if (!a)
        return MKB_ERR_CONFIG;
    copy_t c = {.p = p, .rc = MKB_OK};
    if (!(c.use = via_new(p->t, name, line, col, NULL)))
        return MKB_ERR_NOMEM;
    ynode_t *copy = copy_node(&c, a->node);
    if (!copy && c.rc == MKB_ERR_CONFIG)
        diag_format(p->errstr, p->errstr_size, p->t->file, line, col,
                    "aliases expand to more than %d nodes at *%s (an alias bomb?); the "
                    "limit keeps a hostile file from exhausting memory",
                    YTREE_MAX_ALIAS_NODES, name);
    return copy ? place_node(p, copy, false) : c.rc;
}

/* ---- merge keys --------------------------------------------------------- */

/* Refuses V as what a merge key merges: only mappings are. */
static int merge_refuse(yparse_t *p, const ynode_t *v, bool in_list)
{
    const char *f = p->t->file, *what = ynode_type_name(v->type);
    const char *takes = "<< takes a mapping (<<: *name) or a list of mappings (<<: [*a, *b])";
    if (v->via) { /* an alias: point at it, and say where its value is */
        char at[512];
        diag_format(p->errstr, p->errstr_size, f, v->via->line, v->via->col,
                    "merge key: *%s is %s (&%s at %s)%s; %s", v->via->alias, what,
                    v->via->alias, diag_where(at, sizeof(at), f, v->line, v->col),
                    in_list ? " in the list" : "", takes);
    } else {
        diag_format(p->errstr, p->errstr_size, f, v->line, v->col, "merge key: found %s%s; %s",
                    what, in_list ? " in the list" : "", takes);
    }
    return MKB_ERR_CONFIG;
}

/* The keys a merge has placed so far, hashed: a merge of a mapping with many
 * keys stays linear (a list lookup made 10,000 keys merged 12 times cost 2 s). */
typedef struct {
    const ynode_t **slots;
    size_t mask;
} keyset_t;

static int keyset_init(keyset_t *ks, size_t n)
{
    size_t cap = 16;
    while (cap < 2 * n)
        cap *= 2;
    ks->mask = cap - 1;
    // NOLINTNEXTLINE(bugprone-sizeof-expression): an array of pointers
    ks->slots = calloc(cap, sizeof(*ks->slots));
    return ks->slots ? MKB_OK : MKB_ERR_NOMEM;
}

/* Adds scalar KEY; false when an equal key is there already (a key that is
 * not a scalar is never equal to another). */
static bool keyset_add(keyset_t *ks, const ynode_t *key)
{
    if (key->type != YNODE_SCALAR || !key->text)
        return true;
    for (size_t i = fnv1a(key->text, key->text_len) & ks->mask;; i = (i + 1) & ks->mask) {
        const ynode_t *k = ks->slots[i];
        if (!k) {
            ks->slots[i] = key;
            return true;
        }
        if (k->text_len == key->text_len && memcmp(k->text, key->text, k->text_len) == 0)
            return false;
    }
}

/* Appends to OUT the entries of map SRC whose keys are not in KEYS yet (the
 * keys written in the mapping and merged before win). Entries are moved out
 * of SRC when STEAL (SRC is a copy no alias reaches), else copied. */
static int merge_from(yparse_t *p, keyset_t *keys, ynode_t *out, ynode_t *src, bool steal)
{
    copy_t c = {.p = p, .rc = MKB_OK};
    for (size_t i = 0; i + 1 < src->nkids; i += 2) {
        ynode_t *k = src->kids[i], *v = src->kids[i + 1];
        if (!keyset_add(keys, k))
            continue; /* overridden: dropped with SRC */
        if (!steal) {
            c.use = NULL;
            k = copy_node(&c, k);
            v = k ? copy_node(&c, v) : NULL;
        }
        if (!k || !v || ynode_add(out, k) != MKB_OK || ynode_add(out, v) != MKB_OK) {
            if (!steal) {
                ynode_free(k);
                ynode_free(v);
            }
            return c.rc == MKB_OK ? MKB_ERR_NOMEM : c.rc;
        }
        if (steal)
            src->kids[i] = src->kids[i + 1] = NULL;
    }
    return MKB_OK;
}

/* Inserts OUT's entries into map M at entry index AT (OUT is emptied). */
static int entries_insert(ynode_t *m, size_t at, ynode_t *out)
{
    size_t n = m->nkids + out->nkids;
    if (n > m->cap) {
        // NOLINTNEXTLINE(bugprone-sizeof-expression): an array of pointers
        ynode_t **k = realloc(m->kids, n * sizeof(*k));
        if (!k)
            return MKB_ERR_NOMEM;
        m->kids = k;
        m->cap = n;
    }
    for (size_t i = m->nkids; i-- > at;) /* make room at AT */
        m->kids[i + out->nkids] = m->kids[i];
    for (size_t i = 0; i < out->nkids; i++)
        m->kids[at + i] = out->kids[i];
    m->nkids = n;
    out->nkids = 0;
    return MKB_OK;
}

/* The merge key's entry in map M (its key's index), SIZE_MAX when none;
 * *rc is set when M has two. */
static size_t merge_entry(yparse_t *p, const ynode_t *m, int *rc)
{
    size_t at = SIZE_MAX;
    *rc = MKB_OK;
    for (size_t i = 0; i + 1 < m->nkids; i += 2) {
        const ynode_t *k = m->kids[i];
        if (!k->merge_key)
            continue;
        if (at != SIZE_MAX) {
            diag_format(p->errstr, p->errstr_size, p->t->file, k->line, k->col,
                        "merge key << given twice in one mapping; merge several mappings "
                        "with <<: [*a, *b]");
            *rc = MKB_ERR_CONFIG;
            return SIZE_MAX;
        }
        at = i;
    }
    return at;
}

/* Puts the entries of the mappings VAL merges (VAL, or its items) into map
 * M at entry index AT, under M's own keys and earlier mappings' keys. */
static int merge_all(yparse_t *p, ynode_t *m, size_t at, const ynode_t *key, ynode_t *val)
{
    bool list = val->type == YNODE_SEQ;
    size_t nsrc = list ? val->nkids : 1, nkeys = m->nkids / 2;
    for (size_t i = 0; i < nsrc; i++)
        nkeys += (list ? val->kids[i] : val)->nkids / 2;
    keyset_t keys;
    ynode_t *out = calloc(1, sizeof(*out));
    if (!out || keyset_init(&keys, nkeys) != MKB_OK) {
        free(out);
        return MKB_ERR_NOMEM;
    }
    out->type = YNODE_MAP;
    for (size_t i = 0; i + 1 < m->nkids; i += 2)
        keyset_add(&keys, m->kids[i]);
    int rc = MKB_OK;
    for (size_t i = 0; i < nsrc && rc == MKB_OK; i++) {
        ynode_t *src = list ? val->kids[i] : val;
        rc = merge_from(p, &keys, out, src, !val->anchored && !src->anchored);
    }
    if (rc == MKB_OK)
        rc = entries_insert(m, at, out);
    if (rc == MKB_ERR_CONFIG)
        diag_format(p->errstr, p->errstr_size, p->t->file, key->line, key->col,
                    "merging here makes aliases expand to more than %d nodes (an alias "
                    "bomb?)",
                    YTREE_MAX_ALIAS_NODES);
    free(keys.slots);
    ynode_free(out);
    return rc;
}

/* Replaces map M's merge key (if any) by the entries of the mappings it
 * merges, in their place: M's own keys win, then earlier mappings. */
static int merge_resolve(yparse_t *p, ynode_t *m)
{
    int rc;
    size_t at = merge_entry(p, m, &rc);
    if (at == SIZE_MAX)
        return rc;
    ynode_t *key = m->kids[at], *val = m->kids[at + 1];
    bool list = val->type == YNODE_SEQ;
    if (val->type == YNODE_SCALAR)
        return merge_refuse(p, val, false);
    for (size_t i = 0; list && i < val->nkids; i++)
        if (val->kids[i]->type != YNODE_MAP)
            return merge_refuse(p, val->kids[i], true);
    for (size_t i = at; i + 2 < m->nkids; i++) /* the merge entry out of M */
        m->kids[i] = m->kids[i + 2];
    m->nkids -= 2;
    if ((rc = drop_node(p->t, key)) != MKB_OK || (rc = drop_node(p->t, val)) != MKB_OK)
        return rc;
    return merge_all(p, m, at, key, val);
}

/* Ends the innermost open mapping or sequence: its merge key resolved, its
 * height known. */
static int close_node(yparse_t *p)
{
    if (p->depth == 0) /* libyaml balances them; the analyzer cannot know */
        return MKB_OK;
    ynode_t *n = p->stack[--p->depth];
    int rc = n->type == YNODE_MAP ? merge_resolve(p, n) : MKB_OK;
    for (size_t i = 0; i < n->nkids; i++)
        if (n->kids[i]->height + 1 > n->height)
            n->height = n->kids[i]->height + 1;
    return rc;
}

/* ---- reading ------------------------------------------------------------ */

/* Applies one parser event to the tree; sets *done at the stream's end. */
static int apply_event(yparse_t *p, const yaml_event_t *ev, bool *done)
{
    int line = (int)ev->start_mark.line + 1, col = (int)ev->start_mark.column + 1;
    switch (ev->type) {
    case YAML_STREAM_END_EVENT:
        *done = true;
        return MKB_OK;
    case YAML_DOCUMENT_START_EVENT:
        if (!p->t->root)
            return MKB_OK;
        diag_format(p->errstr, p->errstr_size, p->t->file, line, col,
                    "only one YAML document is allowed");
        return MKB_ERR_CONFIG;
    case YAML_ALIAS_EVENT: return add_alias(p, ev);
    case YAML_SCALAR_EVENT:
    case YAML_MAPPING_START_EVENT:
    case YAML_SEQUENCE_START_EVENT: return add_node(p, ev);
    case YAML_MAPPING_END_EVENT:
    case YAML_SEQUENCE_END_EVENT: return close_node(p);
    default: return MKB_OK;
    }
}

static int parse_events(ytree_t *t, yaml_parser_t *yp, char *errstr, size_t errstr_size)
{
    yparse_t p = {.t = t, .errstr = errstr, .errstr_size = errstr_size};
    bool done = false;
    int rc = MKB_OK;

    while (!done && rc == MKB_OK) {
        yaml_event_t ev;
        if (!yaml_parser_parse(yp, &ev)) {
            diag_format(errstr, errstr_size, t->file, (int)yp->problem_mark.line + 1,
                        (int)yp->problem_mark.column + 1, "invalid YAML: %s%s%s",
                        yp->problem ? yp->problem : "parse error", yp->context ? " " : "",
                        yp->context ? yp->context : "");
            rc = MKB_ERR_CONFIG;
            break;
        }
        rc = apply_event(&p, &ev, &done);
        yaml_event_delete(&ev);
    }
    anchors_free(&p);
    return rc;
}

int ytree_load_string(const char *name, const char *text, size_t len, ytree_t **out,
                      char *errstr, size_t errstr_size)
{
    int rc = MKB_ERR_NOMEM;
    yaml_parser_t parser;
    ytree_t *t = calloc(1, sizeof(*t));
    if (!t)
        goto fail;
    t->file = strdup(name);
    if (!t->file)
        goto free_tree;
    if (!yaml_parser_initialize(&parser))
        goto free_tree;
    yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
    rc = parse_events(t, &parser, errstr, errstr_size);
    yaml_parser_delete(&parser);
    if (rc != MKB_OK)
        goto free_tree;
    *out = t;
    return MKB_OK;

free_tree:
    ytree_destroy(t);
fail:
    if (rc == MKB_ERR_NOMEM)
        snprintf(errstr, errstr_size, "%s: out of memory", name);
    return rc;
}

int ytree_load_file(const char *path, ytree_t **out, char *errstr, size_t errstr_size)
{
    int rc = MKB_ERR_IO;
    char *buf = NULL;
    size_t len = 0, cap = 0;
    FILE *f = fopen(path, "rb");
    if (!f) {
        snprintf(errstr, errstr_size, "%s: cannot open: %s", path, strerror(errno));
        return MKB_ERR_IO;
    }
    for (;;) {
        if (len + 4096 > cap) {
            cap = cap ? cap * 2 : 8192;
            char *b = realloc(buf, cap);
            if (!b) {
                rc = MKB_ERR_NOMEM;
                snprintf(errstr, errstr_size, "%s: out of memory", path);
                goto close_file;
            }
            buf = b;
        }
        size_t got = fread(buf + len, 1, cap - len, f);
        len += got;
        if (got == 0)
            break;
    }
    if (ferror(f)) {
        snprintf(errstr, errstr_size, "%s: read error: %s", path, strerror(errno));
        goto close_file;
    }
    rc = ytree_load_string(path, buf ? buf : "", len, out, errstr, errstr_size);
close_file:
    fclose(f);
    free(buf);
    return rc;
}

void ytree_destroy(ytree_t *t)
{
    if (!t)
        return;
    ynode_free(t->root);
    for (size_t i = 0; i < t->ndropped; i++)
        ynode_free(t->dropped[i]);
    free(t->dropped);
    yvias_destroy(t->vias);
    free(t->file);
    free(t);
}

yvias_t *ytree_take_vias(ytree_t *t)
{
    yvias_t *v = t->vias;
    t->vias = NULL;
    return v;
}

const ynode_t *ytree_root(const ytree_t *t) { return t->root; }
const diag_via_t *ynode_via(const ynode_t *n) { return n->via; }
ynode_type_t ynode_type(const ynode_t *n) { return n->type; }
const char *ynode_file(const ynode_t *n) { return n->file; }
int ynode_line(const ynode_t *n) { return n->line; }
int ynode_col(const ynode_t *n) { return n->col; }
const char *ynode_scalar(const ynode_t *n) { return n->type == YNODE_SCALAR ? n->text : NULL; }
size_t ynode_scalar_len(const ynode_t *n) { return n->type == YNODE_SCALAR ? n->text_len : 0; }
int ynode_scalar_quoted(const ynode_t *n) { return n->quoted; }
int ynode_scalar_from_env(const ynode_t *n) { return n->from_env; }

const char *ynode_type_name(ynode_type_t type)
{
    switch (type) {
    case YNODE_SCALAR: return "a scalar";
    case YNODE_MAP: return "a mapping";
    case YNODE_SEQ: return "a list";
    }
    return "?";
}

size_t ynode_len(const ynode_t *n)
{
    if (n->type == YNODE_MAP)
        return n->nkids / 2;
    return n->type == YNODE_SEQ ? n->nkids : 0;
}

const ynode_t *ynode_map_key(const ynode_t *n, size_t i)
{
    return n->type == YNODE_MAP && 2 * i < n->nkids ? n->kids[2 * i] : NULL;
}

const ynode_t *ynode_map_value(const ynode_t *n, size_t i)
{
    return n->type == YNODE_MAP && 2 * i + 1 < n->nkids ? n->kids[2 * i + 1] : NULL;
}

const ynode_t *ynode_map_get(const ynode_t *n, const char *key)
{
    for (size_t i = 0; i < ynode_len(n); i++) {
        const ynode_t *k = ynode_map_key(n, i);
        if (k->type == YNODE_SCALAR && strcmp(k->text, key) == 0)
            return ynode_map_value(n, i);
    }
    return NULL;
}

const ynode_t *ynode_seq_item(const ynode_t *n, size_t i)
{
    return n->type == YNODE_SEQ && i < n->nkids ? n->kids[i] : NULL;
}
