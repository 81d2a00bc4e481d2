// SPDX-FileCopyrightText: 2026 The mqtt-kafka-bridge authors
// SPDX-License-Identifier: Apache-2.0
#include "ytree.h"

#include "diag.h"
#include "err.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

struct ynode {
    ynode_type_t type;
    int line, col;
    int quoted;
    int from_env; /* the scalar was one ${VAR} set in the environment */
    const char *file; /* borrowed from the tree */
    char *text;       /* scalar */
    size_t text_len;
    ynode_t **kids; /* map: key, value, key, value...; seq: items */
    size_t nkids, cap;
};

struct ytree {
    char *file;
    ynode_t *root;
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

static int ynode_add(ynode_t *parent, ynode_t *kid)
{
    if (parent->nkids == parent->cap) {
        size_t cap = parent->cap ? parent->cap * 2 : 8;
        // NOLINTNEXTLINE(bugprone-sizeof-expression): an array of pointers
        ynode_t **k = realloc(parent->kids, cap * sizeof(*k));
        if (!k)
            return MKB_ERR_NOMEM;
        parent->kids = k;
        parent->cap = cap;
    }
    parent->kids[parent->nkids++] = kid;
    return MKB_OK;
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

/* The nodes open while events arrive: mappings and sequences not yet ended. */
typedef struct {
    ynode_t *stack[64];
    int depth;
} open_nodes_t;

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
    if (ev->type != YAML_SCALAR_EVENT) {
        node->type = ev->type == YAML_MAPPING_START_EVENT ? YNODE_MAP : YNODE_SEQ;
        *out = node;
        return MKB_OK;
    }
    node->type = YNODE_SCALAR;
    node->quoted = ev->data.scalar.style != YAML_PLAIN_SCALAR_STYLE;
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

/* Adds a new node to the tree under the innermost open node (or as the root)
 * and opens it when it is a mapping or sequence. */
static int add_node(ytree_t *t, open_nodes_t *o, const yaml_event_t *ev, char *errstr,
                    size_t errstr_size)
{
    int line = (int)ev->start_mark.line + 1, col = (int)ev->start_mark.column + 1;
    ynode_t *node;
    int rc = new_node(t, ev, line, col, &node, errstr, errstr_size);
    if (rc != MKB_OK)
        return rc;
    if (o->depth == 0)
        t->root = node;
    else if ((rc = ynode_add(o->stack[o->depth - 1], node)) != MKB_OK) {
        ynode_free(node);
        return rc;
    }
    if (node->type == YNODE_SCALAR)
        return MKB_OK;
    if (o->depth == (int)(sizeof(o->stack) / sizeof(o->stack[0]))) {
        diag_format(errstr, errstr_size, t->file, line, col, "nesting deeper than %d levels",
                    o->depth);
        return MKB_ERR_CONFIG;
    }
    o->stack[o->depth++] = node;
    return MKB_OK;
}

/* Applies one parser event to the tree; sets *done at the stream's end. */
static int apply_event(ytree_t *t, open_nodes_t *o, const yaml_event_t *ev, bool *done,
                       char *errstr, size_t errstr_size)
{
    int line = (int)ev->start_mark.line + 1, col = (int)ev->start_mark.column + 1;
    switch (ev->type) {
    case YAML_STREAM_END_EVENT:
        *done = true;
        return MKB_OK;
    case YAML_DOCUMENT_START_EVENT:
        if (!t->root)
            return MKB_OK;
        diag_format(errstr, errstr_size, t->file, line, col, "only one YAML document is allowed");
        return MKB_ERR_CONFIG;
    case YAML_ALIAS_EVENT:
        diag_format(errstr, errstr_size, t->file, line, col,
                    "YAML aliases (*name) are not supported");
        return MKB_ERR_CONFIG;
    case YAML_SCALAR_EVENT:
    case YAML_MAPPING_START_EVENT:
    case YAML_SEQUENCE_START_EVENT:
        return add_node(t, o, ev, errstr, errstr_size);
    case YAML_MAPPING_END_EVENT:
    case YAML_SEQUENCE_END_EVENT:
        if (o->depth > 0) /* libyaml balances them; the analyzer cannot know */
            o->depth--;
        return MKB_OK;
    default:
        return MKB_OK;
    }
}

static int parse_events(ytree_t *t, yaml_parser_t *p, char *errstr, size_t errstr_size)
{
    open_nodes_t open = {.depth = 0};
    bool done = false;

    while (!done) {
        yaml_event_t ev;
        if (!yaml_parser_parse(p, &ev)) {
            diag_format(errstr, errstr_size, t->file, (int)p->problem_mark.line + 1,
                        (int)p->problem_mark.column + 1, "invalid YAML: %s%s%s",
                     p->problem ? p->problem : "parse error", p->context ? " " : "",
                     p->context ? p->context : "");
            return MKB_ERR_CONFIG;
        }
        int rc = apply_event(t, &open, &ev, &done, errstr, errstr_size);
        yaml_event_delete(&ev);
        if (rc != MKB_OK)
            return rc;
    }
    return MKB_OK;
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
    free(t->file);
    free(t);
}

const ynode_t *ytree_root(const ytree_t *t) { return t->root; }
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
