// SPDX-FileCopyrightText: 2026 The mqtt-kafka-bridge authors
// SPDX-License-Identifier: Apache-2.0
/* The loader: YAML tree -> config_t through the key table (config_keys.c),
 * with every value's position recorded; then the checks across fields
 * (config_check.c). */
#include "config.h"

#include "config_check.h"
#include "config_keys.h"
#include "diag.h"
#include "err.h"
#include "normalize.h"
#include "ytree.h"

#include <errno.h>
#include <glob.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* ---- positions ----------------------------------------------------------- */

typedef struct {
    const void *addr;
    const char *file; /* interned in the registry */
    int line, col;
    bool literal; /* written in the file, not one ${VAR} from the environment */
    const diag_via_t *via; /* the alias it came through, in vias below, or NULL */
} posent_t;

struct config_posreg {
    posent_t *ents;
    size_t n, cap;
    char **files;
    size_t nfiles;
    yvias_t **vias; /* taken from the trees, which are gone after loading */
    size_t nvias;
};

/* Keeps T's alias records for the positions that point at them. */
static bool posreg_keep_vias(config_posreg_t *r, ytree_t *t)
{
    // NOLINTNEXTLINE(bugprone-sizeof-expression): an array of pointers
    yvias_t **v = realloc(r->vias, (r->nvias + 1) * sizeof(*v));
    if (!v)
        return false;
    r->vias = v;
    if ((v[r->nvias] = ytree_take_vias(t)))
        r->nvias++;
    return true;
}

static const char *intern_file(config_posreg_t *r, const char *file)
{
    for (size_t i = 0; i < r->nfiles; i++)
        if (strcmp(r->files[i], file) == 0)
            return r->files[i];
    char **f = realloc(r->files, (r->nfiles + 1) * sizeof(*f));
    if (!f)
        return NULL;
    r->files = f;
    if (!(f[r->nfiles] = strdup(file)))
        return NULL;
    return f[r->nfiles++];
}

static bool pos_add(config_posreg_t *r, const void *addr, const ynode_t *n)
{
    if (!n)
        return true;
    if (r->n == r->cap) {
        size_t cap = r->cap ? r->cap * 2 : 64;
        posent_t *e = realloc(r->ents, cap * sizeof(*e));
        if (!e)
            return false;
        r->ents = e;
        r->cap = cap;
    }
    const char *file = intern_file(r, ynode_file(n));
    if (!file)
        return false;
    r->ents[r->n++] = (posent_t){addr, file, ynode_line(n), ynode_col(n),
                                 ynode_type(n) != YNODE_SCALAR || !ynode_scalar_from_env(n),
                                 ynode_via(n)};
    return true;
}

config_pos_t config_pos(const config_t *cfg, const void *field)
{
    const config_posreg_t *r = cfg->pos;
    for (size_t i = r ? r->n : 0; i-- > 0;)
        if (r->ents[i].addr == field)
            return (config_pos_t){r->ents[i].file, r->ents[i].line, r->ents[i].col,
                                  r->ents[i].via};
    return (config_pos_t){cfg->path ? cfg->path : "?", 0, 0, NULL};
}

bool config_pos_literal(const config_t *cfg, const void *field)
{
    const config_posreg_t *r = cfg->pos;
    for (size_t i = r ? r->n : 0; i-- > 0;)
        if (r->ents[i].addr == field)
            return r->ents[i].literal;
    return false;
}

static void posreg_free(config_posreg_t *r)
{
    if (!r)
        return;
    for (size_t i = 0; i < r->nfiles; i++)
        free(r->files[i]);
    free(r->files);
    for (size_t i = 0; i < r->nvias; i++)
        yvias_destroy(r->vias[i]);
    free(r->vias);
    free(r->ents);
    free(r);
}

/* ---- error collection --------------------------------------------------- */

__attribute__((format(printf, 3, 4))) static void err_add(diag_t *e, const ynode_t *at,
                                                           const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    diag_addv_via(e, at ? ynode_file(at) : NULL, at ? ynode_line(at) : 0, at ? ynode_col(at) : 0,
                  at ? ynode_via(at) : NULL, fmt, ap);
    va_end(ap);
}

void config_diag(diag_t *d, const config_t *cfg, const void *field, const char *fmt, ...)
{
    config_pos_t p = config_pos(cfg, field);
    va_list ap;
    va_start(ap, fmt);
    diag_addv_via(d, p.file, p.line, p.col, p.via, fmt, ap);
    va_end(ap);
}

/* ---- helpers ----------------------------------------------------------- */

/* Optimal string alignment distance: insertions, deletions, substitutions
 * and swaps of neighbours ("tpye" -> "type" is 1) each cost 1. */
size_t config_edit_distance(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    if (la > 64 || lb > 64)
        return SIZE_MAX;
    size_t d[65][65];
    for (size_t i = 0; i <= la; i++)
        d[i][0] = i;
    for (size_t j = 0; j <= lb; j++)
        d[0][j] = j;
    for (size_t i = 1; i <= la; i++) {
        for (size_t j = 1; j <= lb; j++) {
            size_t best = d[i - 1][j - 1] + (a[i - 1] != b[j - 1]);
            if (d[i - 1][j] + 1 < best)
                best = d[i - 1][j] + 1;
            if (d[i][j - 1] + 1 < best)
                best = d[i][j - 1] + 1;
            if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] &&
                d[i - 2][j - 2] + 1 < best)
                best = d[i - 2][j - 2] + 1;
            d[i][j] = best;
        }
    }
    return d[la][lb];
}

const char *config_nearest(const char *word, const char *const *names, size_t n)
{
    const char *best = NULL;
    size_t best_d = SIZE_MAX;
    for (size_t i = 0; i < n; i++) {
        size_t d = config_edit_distance(word, names[i]);
        if (d < best_d) {
            best_d = d;
            best = names[i];
        }
    }
    size_t wl = strlen(word);
    size_t limit = wl <= 4 ? 1 : (wl <= 8 ? 2 : 3);
    return best_d <= limit ? best : NULL;
}

static void *field(void *base, size_t off) { return (char *)base + off; }

/* ---- applying the tree to the struct ------------------------------------ */

typedef struct {
    diag_t errs;
    diag_t warns; /* severity "warning": reported, the load succeeds */
    config_posreg_t *pos;
} ctx_t;

static void nomem(ctx_t *c) { c->errs.nomem = true; }

static void apply_section(ctx_t *c, const section_t *sec, const ynode_t *node, void *base,
                          const char *path, const ynode_t *parent_at);

static bool scalar_or_err(ctx_t *c, const ynode_t *v, const char *path)
{
    if (ynode_type(v) == YNODE_SCALAR)
        return true;
    err_add(&c->errs, v, "%s: expected a single value, found %s", path,
            ynode_type_name(ynode_type(v)));
    return false;
}

/* TEXT, one of K's choices, into DST: the enum's value, the conversion or
 * (CT_CHOICE) the text itself. */
static int set_choice(ctx_t *c, const ckey_t *k, const ynode_t *v, const char *text, void *dst,
                      const char *path)
{
    const char *names[64];
    size_t n = config_key_choices(k, names, 64), i = 0;
    while (i < n && strcmp(text, names[i]) != 0)
        i++;
    if (i == n) {
        char list[512];
        config_key_join_choices(list, sizeof(list), k, ", ");
        const char *near = config_nearest(text, names, n);
        err_add(&c->errs, v, "%s: '%s' is not valid; expected one of: %s%s%s%s", path, text, list,
                near ? " (did you mean '" : "", near ? near : "", near ? "'?)" : "");
        return MKB_ERR_CONFIG;
    }
    if (k->type == CT_ENUM) {
        *(int *)dst = k->choices[i].value; /* every CT_ENUM field is an int-sized enum */
        return MKB_OK;
    }
    if (k->type == CT_CONV) {
        *(const norm_conversion_t **)dst = &norm_conversions[i];
        return MKB_OK;
    }
    char **s = dst;
    free(*s);
    *s = strdup(text);
    return *s ? MKB_OK : MKB_ERR_NOMEM;
}

static int set_scalar(ctx_t *c, const ckey_t *k, const ynode_t *v, const char *text, void *base,
                      const char *path)
{
    void *dst = field(base, k->off);
    if (v && !pos_add(c->pos, dst, v))
        return MKB_ERR_NOMEM;
    switch (k->type) {
    case CT_STR: {
        char **s = dst;
        free(*s);
        *s = strdup(text);
        return *s ? MKB_OK : MKB_ERR_NOMEM;
    }
    case CT_ENUM:
    case CT_CHOICE:
    case CT_CONV: return set_choice(c, k, v, text, dst, path);
    case CT_SCALAR: {
        config_scalar_t *s = dst;
        free(s->text);
        s->text = strdup(text);
        s->quoted = v && ynode_scalar_quoted(v);
        return s->text ? MKB_OK : MKB_ERR_NOMEM;
    }
    case CT_INT: {
        char *end;
        errno = 0;
        long long x = strtoll(text, &end, 10);
        if (errno || end == text || *end != '\0') {
            err_add(&c->errs, v, "%s: expected an integer, found '%s'", path, text);
            return MKB_ERR_CONFIG;
        }
        if (x < k->min || x > k->max) {
            err_add(&c->errs, v, "%s: %lld is out of range [%lld, %lld]", path, x, k->min,
                    k->max);
            return MKB_ERR_CONFIG;
        }
        *(long long *)dst = x; /* every CT_INT field is a long long */
        return MKB_OK;
    }
    case CT_DOUBLE: {
        char *end;
        errno = 0;
        double x = strtod(text, &end);
        if (errno || end == text || *end != '\0' || !isfinite(x)) {
            err_add(&c->errs, v, "%s: expected a number, found '%s'", path, text);
            return MKB_ERR_CONFIG;
        }
        *(double *)dst = x;
        return MKB_OK;
    }
    case CT_BOOL: {
        static const char *const t[] = {"true", "yes", "on"}, *const f[] = {"false", "no", "off"};
        for (size_t i = 0; i < 3; i++) {
            if (strcasecmp(text, t[i]) == 0 || strcasecmp(text, f[i]) == 0) {
                *(bool *)dst = strcasecmp(text, t[i]) == 0;
                return MKB_OK;
            }
        }
        err_add(&c->errs, v, "%s: expected true or false, found '%s'", path, text);
        return MKB_ERR_CONFIG;
    }
    default:
        return MKB_ERR_INVAL;
    }
}

static void apply_strmap(ctx_t *c, const ckey_t *k, const ynode_t *v, void *base,
                         const char *path)
{
    if (ynode_type(v) != YNODE_MAP) {
        err_add(&c->errs, v, "%s: expected a mapping of name: value, found %s", path,
                ynode_type_name(ynode_type(v)));
        return;
    }
    size_t n = ynode_len(v);
    config_kv_t *kv = calloc(n ? n : 1, sizeof(*kv));
    if (!kv)
        return nomem(c);
    *(config_kv_t **)field(base, k->off) = kv;
    size_t *count = field(base, k->count_off);
    for (size_t i = 0; i < n; i++) {
        const ynode_t *key = ynode_map_key(v, i), *val = ynode_map_value(v, i);
        if (!scalar_or_err(c, key, path) || !scalar_or_err(c, val, path))
            continue;
        for (size_t j = 0; j < *count; j++)
            if (kv[j].key && strcmp(kv[j].key, ynode_scalar(key)) == 0) /* NULL: strdup failed */
                err_add(&c->errs, key, "%s.%s: key given twice", path, ynode_scalar(key));
        config_kv_t *e = &kv[(*count)++];
        e->key = strdup(ynode_scalar(key));
        e->value = strdup(ynode_scalar(val));
        e->quoted = ynode_scalar_quoted(val);
        if (!e->key || !e->value || !pos_add(c->pos, &e->key, key) ||
            !pos_add(c->pos, &e->value, val))
            nomem(c);
    }
}

static void apply_list(ctx_t *c, const ckey_t *k, const ynode_t *v, void *base, const char *path)
{
    if (ynode_type(v) != YNODE_SEQ) {
        err_add(&c->errs, v, "%s: expected a list (items starting with '- '), found %s", path,
                ynode_type_name(ynode_type(v)));
        return;
    }
    /* Appends: the array was sized for every file beforehand (preallocate),
     * so items never move and their recorded positions stay valid. A list
     * inside an item (a route's when:) is sized here, once. */
    char *items = *(char **)field(base, k->off);
    size_t *count = field(base, k->count_off);
    if (!items) {
        if (!(items = calloc(ynode_len(v) ? ynode_len(v) : 1, k->sub->item_size)))
            return nomem(c);
        *(char **)field(base, k->off) = items;
    }
    for (size_t i = 0; i < ynode_len(v); i++) {
        char p[256];
        if (snprintf(p, sizeof(p), "%s[%zu]", path, *count) >= (int)sizeof(p))
            p[sizeof(p) - 1] = '\0';
        char *item = items + (*count)++ * k->sub->item_size;
        const ynode_t *it = ynode_seq_item(v, i);
        if (!pos_add(c->pos, item, it))
            return nomem(c);
        apply_section(c, k->sub, it, item, p, v);
    }
}

static void apply_named(ctx_t *c, const ckey_t *k, const ynode_t *v, void *base,
                        const char *path)
{
    if (ynode_type(v) != YNODE_MAP) {
        err_add(&c->errs, v, "%s: expected a mapping of name: {...}, found %s", path,
                ynode_type_name(ynode_type(v)));
        return;
    }
    size_t n = ynode_len(v);
    char *items = calloc(n ? n : 1, k->sub->item_size);
    if (!items)
        return nomem(c);
    *(void **)field(base, k->off) = items;
    size_t *count = field(base, k->count_off);
    for (size_t i = 0; i < n; i++) {
        const ynode_t *key = ynode_map_key(v, i), *val = ynode_map_value(v, i);
        if (!scalar_or_err(c, key, path))
            continue;
        char p[256];
        if (snprintf(p, sizeof(p), "%s.%s", path, ynode_scalar(key)) >= (int)sizeof(p))
            p[sizeof(p) - 1] = '\0';
        char *item = items + (*count)++ * k->sub->item_size;
        char **name = (char **)item; /* the name is the item's first member */
        if (!(*name = strdup(ynode_scalar(key))) || !pos_add(c->pos, item, key))
            return nomem(c);
        /* "name: {}" and "name:" (empty) both mean all defaults. */
        if (ynode_type(val) == YNODE_SCALAR && ynode_scalar_len(val) == 0)
            apply_section(c, k->sub, NULL, item, p, key);
        else
            apply_section(c, k->sub, val, item, p, key);
    }
}

static void apply_strlist(ctx_t *c, const ckey_t *k, const ynode_t *v, void *base,
                          const char *path)
{
    size_t n = ynode_type(v) == YNODE_SEQ ? ynode_len(v) : 1;
    char **items = calloc(n, sizeof(char *));
    if (!items)
        return nomem(c);
    *(char ***)field(base, k->off) = items;
    size_t *count = field(base, k->count_off);
    for (size_t i = 0; i < n; i++) {
        const ynode_t *it = ynode_type(v) == YNODE_SEQ ? ynode_seq_item(v, i) : v;
        if (!scalar_or_err(c, it, path))
            continue;
        if (!(items[*count] = strdup(ynode_scalar(it))) || !pos_add(c->pos, &items[*count], it))
            return nomem(c);
        (*count)++;
    }
}

/* A list of values, each kept with its quoting (when: one_of). */
static void apply_scalarlist(ctx_t *c, const ckey_t *k, const ynode_t *v, void *base,
                             const char *path)
{
    if (ynode_type(v) != YNODE_SEQ) {
        err_add(&c->errs, v, "%s: expected a list ([a, b] or items starting with '- '), found %s",
                path, ynode_type_name(ynode_type(v)));
        return;
    }
    size_t n = ynode_len(v);
    config_scalar_t *items = calloc(n ? n : 1, sizeof(*items));
    if (!items || !pos_add(c->pos, field(base, k->off), v)) { /* the list's own place */
        free(items);
        return nomem(c);
    }
    *(config_scalar_t **)field(base, k->off) = items;
    size_t *count = field(base, k->count_off);
    for (size_t i = 0; i < n; i++) {
        const ynode_t *it = ynode_seq_item(v, i);
        if (!scalar_or_err(c, it, path))
            continue;
        config_scalar_t *s = &items[*count];
        s->quoted = ynode_scalar_quoted(it);
        if (!(s->text = strdup(ynode_scalar(it))) || !pos_add(c->pos, s, it))
            return nomem(c);
        (*count)++;
    }
}

static void apply_default(ctx_t *c, const ckey_t *k, void *base, const char *path)
{
    if (k->def && set_scalar(c, k, NULL, k->def, base, path) == MKB_ERR_NOMEM)
        nomem(c);
}

static void report_unknown_keys(ctx_t *c, const section_t *sec, const ynode_t *node,
                                const char *path);

/* Applies map NODE (NULL: section absent) to BASE through SEC. */
static void apply_section(ctx_t *c, const section_t *sec, const ynode_t *node, void *base,
                          const char *path, const ynode_t *parent_at)
{
    if (node && ynode_type(node) != YNODE_MAP) {
        err_add(&c->errs, node, "%s: expected a mapping (key: value lines), found %s",
                path[0] ? path : "top level", ynode_type_name(ynode_type(node)));
        return;
    }
    for (size_t i = 0; i < sec->nkeys; i++) {
        const ckey_t *k = &sec->keys[i];
        char p[256];
        if (snprintf(p, sizeof(p), "%s%s%s", path, path[0] ? "." : "", k->name) >= (int)sizeof(p))
            p[sizeof(p) - 1] = '\0';
        const ynode_t *v = NULL;
        size_t seen = 0;
        for (size_t j = 0; node && j < ynode_len(node); j++) {
            const ynode_t *key = ynode_map_key(node, j);
            if (ynode_type(key) == YNODE_SCALAR && strcmp(ynode_scalar(key), k->name) == 0) {
                if (seen++)
                    err_add(&c->errs, key, "%s: key given twice", p);
                v = ynode_map_value(node, j);
            }
        }
        bool empty = v && ynode_type(v) == YNODE_SCALAR && !ynode_scalar_quoted(v) &&
                     ynode_scalar_len(v) == 0;
        if (!v || (empty && k->type != CT_STR && k->type != CT_SCALAR)) {
            if (k->type == CT_SECTION) {
                if (k->required)
                    err_add(&c->errs, node ? node : parent_at, "%s: required section missing", p);
                else if (k->off_when_absent)
                    continue; /* optional section: absent means off */
                apply_section(c, k->sub, NULL, base, p, node ? node : parent_at);
            } else if (k->required) {
                err_add(&c->errs, node ? node : parent_at, "%s: required key missing (%s)", p,
                        k->desc);
            } else {
                apply_default(c, k, base, p);
            }
            continue;
        }
        switch (k->type) {
        case CT_SECTION: apply_section(c, k->sub, v, base, p, v); break;
        case CT_STRMAP: apply_strmap(c, k, v, base, p); break;
        case CT_LIST: apply_list(c, k, v, base, p); break;
        case CT_NAMED: apply_named(c, k, v, base, p); break;
        case CT_STRLIST: apply_strlist(c, k, v, base, p); break;
        case CT_SCALARLIST: apply_scalarlist(c, k, v, base, p); break;
        default:
            if (scalar_or_err(c, v, p)) {
                if (k->type == CT_STR && ynode_scalar_len(v) == 0 && k->required)
                    err_add(&c->errs, v, "%s: must not be empty", p);
                else if (set_scalar(c, k, v, ynode_scalar(v), base, p) == MKB_ERR_NOMEM)
                    nomem(c);
            } else {
                apply_default(c, k, base, p);
            }
        }
    }
    report_unknown_keys(c, sec, node, path);
}

/* Reports the keys of map NODE that SEC does not know, with a did-you-mean. */
static void report_unknown_keys(ctx_t *c, const section_t *sec, const ynode_t *node,
                                const char *path)
{
    for (size_t j = 0; node && j < ynode_len(node); j++) {
        const ynode_t *key = ynode_map_key(node, j);
        if (ynode_type(key) != YNODE_SCALAR) {
            err_add(&c->errs, key, "%s: keys must be plain names", path[0] ? path : "top level");
            continue;
        }
        /* "x-" at the top: a place for anchors (&defaults), as in compose files */
        bool known = !path[0] && strncmp(ynode_scalar(key), "x-", 2) == 0;
        for (size_t i = 0; i < sec->nkeys && !known; i++)
            known = strcmp(ynode_scalar(key), sec->keys[i].name) == 0;
        if (known)
            continue;
        const char *names[32];
        size_t nn = 0;
        for (size_t i = 0; i < sec->nkeys && nn < sizeof(names) / sizeof(names[0]); i++)
            names[nn++] = sec->keys[i].name;
        const char *near = config_nearest(ynode_scalar(key), names, nn);
        char valid[512] = "";
        for (size_t i = 0; i < nn; i++) {
            strncat(valid, i ? ", " : "", sizeof(valid) - strlen(valid) - 1);
            strncat(valid, names[i], sizeof(valid) - strlen(valid) - 1);
        }
        if (near)
            err_add(&c->errs, key, "unknown key '%s%s%s'; did you mean '%s'?", path,
                    path[0] ? "." : "", ynode_scalar(key), near);
        else
            err_add(&c->errs, key, "unknown key '%s%s%s'; expected one of: %s", path,
                    path[0] ? "." : "", ynode_scalar(key), valid);
    }
}

/* ---- loading ----------------------------------------------------------- */

/* Items under KEY in ROOT, over every occurrence: a key given twice is an
 * error, but apply still walks the last one, so size for all of them. */
static size_t seq_len(const ynode_t *root, const char *key)
{
    size_t n = 0;
    if (!root || ynode_type(root) != YNODE_MAP)
        return 0;
    for (size_t i = 0; i < ynode_len(root); i++) {
        const ynode_t *k = ynode_map_key(root, i), *v = ynode_map_value(root, i);
        if (ynode_type(k) == YNODE_SCALAR && strcmp(ynode_scalar(k), key) == 0 &&
            ynode_type(v) == YNODE_SEQ)
            n += ynode_len(v);
    }
    return n;
}

typedef struct {
    ytree_t **trees;
    size_t n, cap;
} treelist_t;

static int treelist_add(treelist_t *l, ytree_t *t)
{
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 8;
        // NOLINTNEXTLINE(bugprone-sizeof-expression): an array of pointers
        ytree_t **p = realloc(l->trees, cap * sizeof(*p));
        if (!p)
            return MKB_ERR_NOMEM;
        l->trees = p;
        l->cap = cap;
    }
    l->trees[l->n++] = t;
    return MKB_OK;
}

static bool has_glob_chars(const char *s) { return strpbrk(s, "*?[") != NULL; }

/* Loads the mapping files named by root's "mappings" into TREES. */
static void load_mapping_trees(ctx_t *c, const char *base_path, const ynode_t *root,
                               treelist_t *trees)
{
    const ynode_t *m = root && ynode_type(root) == YNODE_MAP ? ynode_map_get(root, "mappings")
                                                            : NULL;
    if (!m)
        return;
    char dir[PATH_MAX] = ".";
    const char *slash = strrchr(base_path, '/');
    if (slash)
        snprintf(dir, sizeof(dir), "%.*s", (int)(slash - base_path), base_path);
    if (slash == base_path)
        snprintf(dir, sizeof(dir), "/");
    size_t n = ynode_type(m) == YNODE_SEQ ? ynode_len(m) : 1;
    for (size_t i = 0; i < n; i++) {
        const ynode_t *it = ynode_type(m) == YNODE_SEQ ? ynode_seq_item(m, i) : m;
        if (ynode_type(it) != YNODE_SCALAR)
            continue; /* reported by apply */
        const char *pat = ynode_scalar(it);
        char full[PATH_MAX];
        if (snprintf(full, sizeof(full), "%s%s%s", pat[0] == '/' ? "" : dir,
                     pat[0] == '/' ? "" : "/", pat) >= (int)sizeof(full)) {
            err_add(&c->errs, it, "mappings: path too long");
            continue;
        }
        glob_t g;
        int grc = glob(full, 0, NULL, &g);
        if (grc == GLOB_NOMATCH) {
            if (!has_glob_chars(pat))
                err_add(&c->errs, it, "mappings: %s: no such file", full);
            globfree(&g);
            continue;
        }
        if (grc != 0) {
            err_add(&c->errs, it, "mappings: cannot expand %s", full);
            globfree(&g);
            continue;
        }
        for (size_t j = 0; j < g.gl_pathc; j++) { /* glob sorts: a stable file order */
            char err[1024];
            ytree_t *t = NULL;
            int rc = ytree_load_file(g.gl_pathv[j], &t, err, sizeof(err));
            if (rc == MKB_ERR_NOMEM || (rc == MKB_OK && treelist_add(trees, t) != MKB_OK)) {
                ytree_destroy(t);
                nomem(c);
            } else if (rc != MKB_OK) {
                diag_raw(&c->errs, err); /* already "file:line:col: ..." */
            }
        }
        globfree(&g);
    }
}

static int load_tree(const char *name, ytree_t *tree, config_t **out, char **errors)
{
    ctx_t c = {.errs = {.count = 0}, .warns = {.severity = "warning"}};
    treelist_t maps = {0};
    config_t *cfg = calloc(1, sizeof(*cfg));
    if (!cfg || !(c.pos = calloc(1, sizeof(*c.pos))) || !(cfg->path = strdup(name))) {
        free(c.pos);
        config_destroy(cfg);
        return MKB_ERR_NOMEM;
    }
    cfg->pos = c.pos;
    const ynode_t *root = ytree_root(tree);
    if (!posreg_keep_vias(c.pos, tree))
        nomem(&c);
    if (!root)
        err_add(&c.errs, NULL, "the configuration is empty");
    load_mapping_trees(&c, name, root, &maps);

    /* Size the route and command arrays for every file at once (see apply_list). */
    size_t nroutes = seq_len(root, "routes"), ncmds = seq_len(root, "commands");
    for (size_t i = 0; i < maps.n; i++) {
        nroutes += seq_len(ytree_root(maps.trees[i]), "routes");
        ncmds += seq_len(ytree_root(maps.trees[i]), "commands");
    }
    cfg->routes = calloc(nroutes ? nroutes : 1, sizeof(*cfg->routes));
    cfg->commands = calloc(ncmds ? ncmds : 1, sizeof(*cfg->commands));
    for (size_t i = 0; i < maps.n; i++)
        if (!posreg_keep_vias(c.pos, maps.trees[i]))
            nomem(&c);
    if (!cfg->routes || !cfg->commands)
        nomem(&c);
    else {
        apply_section(&c, &config_top_section, root, cfg, "", root);
        for (size_t i = 0; i < maps.n; i++) {
            const ynode_t *mroot = ytree_root(maps.trees[i]);
            if (mroot) /* an empty mapping file is allowed */
                apply_section(&c, &config_mapping_section, mroot, cfg, "", mroot);
        }
    }
    if (c.errs.count == 0 && !c.errs.nomem)
        config_check(cfg, &c.errs, &c.warns);
    for (size_t i = 0; i < maps.n; i++)
        ytree_destroy(maps.trees[i]);
    free(maps.trees);
    if (c.errs.nomem || c.warns.nomem) {
        diag_free(&c.errs);
        diag_free(&c.warns);
        config_destroy(cfg);
        return MKB_ERR_NOMEM;
    }
    if (c.errs.count) {
        *errors = diag_take(&c.errs);
        diag_free(&c.warns);
        config_destroy(cfg);
        return MKB_ERR_CONFIG;
    }
    diag_free(&c.errs);
    cfg->warnings = diag_take(&c.warns);
    *out = cfg;
    return MKB_OK;
}

static int load(const char *name, const char *text, config_t **out, char **errors)
{
    char err[1024];
    ytree_t *tree = NULL;
    *errors = NULL;
    int rc = text ? ytree_load_string(name, text, strlen(text), &tree, err, sizeof(err))
                  : ytree_load_file(name, &tree, err, sizeof(err));
    if (rc != MKB_OK) {
        size_t n = strlen(err) + 16;
        *errors = malloc(n);
        if (*errors)
            snprintf(*errors, n, "%s\n", err);
        return rc;
    }
    rc = load_tree(name, tree, out, errors);
    ytree_destroy(tree);
    return rc;
}

int config_load(const char *path, config_t **out, char **errors)
{
    return load(path, NULL, out, errors);
}

int config_load_string(const char *name, const char *text, config_t **out, char **errors)
{
    return load(name, text, out, errors);
}

static void free_kvs(config_kv_t *kv, size_t n)
{
    for (size_t j = 0; kv && j < n; j++) {
        free(kv[j].key);
        free(kv[j].value);
    }
    free(kv);
}

static void free_section(const section_t *sec, void *base);

static void free_items(const section_t *sub, char *items, size_t n)
{
    for (size_t j = 0; items && j < n; j++)
        free_section(sub, items + j * sub->item_size);
    free(items);
}

static void free_section(const section_t *sec, void *base)
{
    for (size_t i = 0; i < sec->nkeys; i++) {
        const ckey_t *k = &sec->keys[i];
        void *f = field(base, k->off);
        size_t n = k->count_off ? *(size_t *)field(base, k->count_off) : 0;
        switch (k->type) {
        case CT_STR:
        case CT_CHOICE: free(*(char **)f); break;
        case CT_SCALAR: free(((config_scalar_t *)f)->text); break;
        case CT_SECTION: free_section(k->sub, base); break;
        case CT_STRMAP: free_kvs(*(config_kv_t **)f, n); break;
        case CT_STRLIST: {
            char **s = *(char ***)f;
            for (size_t j = 0; j < n; j++)
                free(s[j]);
            free(s);
            break;
        }
        case CT_SCALARLIST: {
            config_scalar_t *s = *(config_scalar_t **)f;
            for (size_t j = 0; j < n; j++)
                free(s[j].text);
            free(s);
            break;
        }
        case CT_NAMED:
            for (size_t j = 0; j < n; j++) /* the name member, not in the key table */
                free(*(char **)(*(char **)f + j * k->sub->item_size));
            free_items(k->sub, *(char **)f, n);
            break;
        case CT_LIST: free_items(k->sub, *(char **)f, n); break;
        default: break;
        }
    }
}

int config_keep_kafka_connection(config_t *cfg, const config_t *boot)
{
    size_t n = boot->kafka_properties_n;
    char *bootstrap = strdup(boot->kafka_bootstrap);
    config_kv_t *kv = calloc(n ? n : 1, sizeof(*kv));
    size_t done = 0;
    if (!bootstrap || !kv)
        goto nomem;
    for (; done < n; done++) {
        const config_kv_t *from = &boot->kafka_properties[done];
        kv[done].quoted = from->quoted;
        kv[done].key = strdup(from->key);
        kv[done].value = strdup(from->value);
        if (!kv[done].key || !kv[done].value) {
            done++;
            goto nomem;
        }
    }
    free(cfg->kafka_bootstrap);
    free_kvs(cfg->kafka_properties, cfg->kafka_properties_n);
    cfg->kafka_bootstrap = bootstrap;
    cfg->kafka_properties = kv;
    cfg->kafka_properties_n = n;
    return MKB_OK;
nomem:
    free_kvs(kv, done);
    free(bootstrap);
    return MKB_ERR_NOMEM;
}

config_t *config_ref(config_t *cfg)
{
    if (cfg)
        atomic_fetch_add(&cfg->refs, 1);
    return cfg;
}

void config_destroy(config_t *cfg)
{
    if (!cfg || atomic_fetch_sub(&cfg->refs, 1) > 0)
        return;
    free_section(&config_top_section, cfg);
    free(cfg->path);
    free(cfg->warnings);
    posreg_free(cfg->pos);
    free(cfg);
}

