// SPDX-FileCopyrightText: 2026 The mqtt-kafka-bridge authors
// SPDX-License-Identifier: Apache-2.0
#include "mapper.h"

#include "buf.h"
#include "clock.h"
#include "cond.h"
#include "dead_letter.h"
#include "diag.h"
#include "err.h"
#include "jarena.h"
#include "jptr.h"
#include "kafka_client.h"
#include "normalize.h"
#include "spb_msg.h"
#include "subcover.h"
#include "template.h"
#include "trie.h"

#include <ctype.h>
#include <float.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_CAPTURES 16
#define MAX_HEADERS 32
#define MAX_SOFT_FIELDS 64 /* fields with an on_error other than dead_letter: one bit each */

typedef struct {
    char *name;
    tmpl_t *name_tmpl; /* the name uses captures ({metric}); NULL: NAME is fixed */
    jptr_t *from;
    norm_type_t type;
    bool linear;
    double scale, offset;
    int round; /* decimals; -1: none */
    json_t *dflt;
    bool required;
    config_on_error_t on_error;
} cfield_t;

typedef struct {
    char *name;
    tmpl_t *name_tmpl; /* the name uses captures; NULL: NAME is fixed */
    tmpl_t *tmpl;      /* NULL when constant */
    json_t *constant;  /* a typed constant (number, boolean) or fixed string */
} cadd_t;

typedef struct {
    char *name;
    tmpl_t *tmpl;
} cheader_t;

typedef struct {
    const config_route_t *cfg;
    norm_payload_t payload;
    char *sub_filter;
    size_t ncap;
    char *cap_names[MAX_CAPTURES];
    size_t cap_level[MAX_CAPTURES];
    bool cap_tail[MAX_CAPTURES];
    tmpl_t *topic;
    bool topic_fixed; /* no placeholders: validated once, at load */
    tmpl_t *key;      /* NULL: no key */
    cheader_t headers[MAX_HEADERS];
    size_t nheaders;
    jptr_t *explode;
    cfield_t *fields;
    size_t nfields;
    cadd_t *adds;
    size_t nadds;
    jptr_t *ts_from;
    norm_ts_format_t ts_format;
    tz_t *ts_tz; /* timestamp.timezone; NULL: UTC */
    cond_t *when;         /* NULL: takes every message */
    config_empty_t empty; /* never CONFIG_EMPTY_DEFAULT: resolved at load */
    bool empty_forward;   /* raw without empty: an empty payload is an empty value */
    bool each;            /* one record per element: explode, or Sparkplug per metric */
    bool spb_key;         /* sparkplug_b without kafka.key: group/edge_node[/device]/name */
} croute_t;

struct mapper {
    const config_t *cfg;
    trie_t *trie;
    croute_t *routes;
    size_t nroutes;
    subcover_t *cover;  /* what the bridge subscribes to (subcover.h) */
    trie_t *cover_trie; /* the cover's filters: tells "outside the routes" from unmatched */
    char *warnings;     /* "file:line:col: warning: ..." lines (a widened cover), or NULL */
    mapper_skip_t on_skip;
    bool skip_why; /* on_skip wants the reason: only then is it written per skip */
    spb_state_t *spb;      /* birth state of sparkplug_b routes (NULL: none has one) */
    spb_state_t *spb_own;  /* the one made here when nobody handed one */
    mapper_rebirth_t rebirth;
    void *rebirth_opaque;
    /* scratch, reused for every message */
    buf_t topic, key, value, hdr, name;
    record_header_t hdrs[MAX_HEADERS + 4];
    size_t hdr_off[MAX_HEADERS + 4];
    char why[512];
};

/* ---- compile ------------------------------------------------------------ */

/* Appends up to MAX bytes of S to OUT for a message, printable ASCII as is,
 * other bytes as \xNN, "..." when cut. */
static void quote_bytes(char *out, size_t out_size, const char *s, size_t n, size_t max)
{
    size_t o = 0;
    for (size_t i = 0; i < n && i < max && o + 5 < out_size; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c >= 0x20 && c < 0x7f && c != '\\')
            out[o++] = (char)c;
        else
            o += (size_t)snprintf(out + o, out_size - o, "\\x%02x", c);
    }
    if (n > max && o + 4 < out_size) {
        memcpy(out + o, "...", 3);
        o += 3;
    }
    out[o < out_size ? o : out_size - 1] = '\0';
}

static bool valid_capture_name(const char *s, size_t n)
{
    if (n == 0 || !(isalpha((unsigned char)s[0]) || s[0] == '_'))
        return false;
    for (size_t i = 1; i < n; i++)
        if (!(isalnum((unsigned char)s[i]) || s[i] == '_'))
            return false;
    return true;
}

/* One {name} / {name#} level LVL (LEN bytes, LAST when no level follows) at
 * depth LEVEL: recorded as a capture of R. False, WHY set, when it cannot be. */
static bool compile_capture(croute_t *r, const char *lvl, size_t len, bool last, size_t level,
                            char *why, size_t why_size)
{
    bool tail = len >= 3 && lvl[len - 2] == '#';
    size_t nl = len - 2 - (tail ? 1 : 0);
    bool ok = true;
    if (!valid_capture_name(lvl + 1, nl)) {
        snprintf(why, why_size,
                 "'%.*s' is not a capture: names are letters, digits "
                 "and _ ({site}, or {rest#} for the remaining levels)",
                 (int)len, lvl);
        return false;
    }
    if (tail && !last) {
        snprintf(why, why_size, "'%.*s' takes the remaining levels, so it must be last", (int)len,
                 lvl);
        return false;
    }
    if (r->ncap == MAX_CAPTURES) {
        snprintf(why, why_size, "more than %d captures", MAX_CAPTURES);
        return false;
    }
    for (size_t i = 0; i < r->ncap; i++) {
        if (strlen(r->cap_names[i]) == nl && memcmp(r->cap_names[i], lvl + 1, nl) == 0) {
            snprintf(why, why_size, "capture {%.*s} appears twice", (int)nl, lvl + 1);
            ok = false;
        }
    }
    if (!ok)
        return false;
    if (!(r->cap_names[r->ncap] = strndup(lvl + 1, nl))) {
        snprintf(why, why_size, "out of memory");
        return false;
    }
    r->cap_level[r->ncap] = level;
    r->cap_tail[r->ncap++] = tail;
    return true;
}

/* A level without a capture: MQTT wildcards only where MQTT allows them, no
 * braces. False, WHY set, when it breaks one of those rules. */
static bool check_plain_level(const char *lvl, size_t len, bool last, char *why, size_t why_size)
{
    bool ok = true;
    for (size_t i = 0; i < len && ok; i++) {
        if (lvl[i] == '+' && len != 1) {
            snprintf(why, why_size, "'+' must fill a whole level");
            ok = false;
        } else if (lvl[i] == '#' && (len != 1 || !last)) {
            snprintf(why, why_size, "'#' must be the whole last level");
            ok = false;
        } else if (lvl[i] == '{' || lvl[i] == '}') {
            snprintf(why, why_size, "a capture must fill a whole level: '%.*s'", (int)len, lvl);
            ok = false;
        }
    }
    return ok;
}

/* Parses a route filter with {name} / {name#} captures into its MQTT form. */
static bool compile_filter(croute_t *r, const char *filter, char *why, size_t why_size)
{
    size_t n = strlen(filter);
    if (n == 0 || n > 65535) {
        snprintf(why, why_size, "a filter must be 1 to 65535 bytes long");
        return false;
    }
    buf_t out = {0};
    size_t level = 0;
    const char *lvl = filter;
    bool ok = true;
    for (;;) {
        const char *slash = strchr(lvl, '/');
        size_t len = slash ? (size_t)(slash - lvl) : strlen(lvl);
        bool last = !slash;
        const char *emit = lvl;
        size_t emit_len = len;
        if (len >= 2 && lvl[0] == '{' && lvl[len - 1] == '}') {
            if (!(ok = compile_capture(r, lvl, len, last, level, why, why_size)))
                break;
            emit = r->cap_tail[r->ncap - 1] ? "#" : "+";
            emit_len = 1;
        } else if (!(ok = check_plain_level(lvl, len, last, why, why_size))) {
            break;
        }
        if (level == TRIE_MAX_LEVELS) {
            snprintf(why, why_size,
                     "more than %d levels (topics deeper than that are dead "
                     "letters)",
                     TRIE_MAX_LEVELS);
            ok = false;
            break;
        }
        if (buf_append(&out, emit, emit_len) || (!last && buf_append(&out, "/", 1))) {
            ok = false;
            break;
        }
        if (last)
            break;
        lvl = slash + 1;
        level++;
    }
    if (ok && buf_terminate(&out) == MKB_OK) {
        r->sub_filter = out.p;
        return true;
    }
    buf_free(&out);
    return false;
}

/* A YAML scalar as a typed JSON constant: numbers, booleans and null when
 * written without quotes, else a string. */
static json_t *scalar_json(const char *text, bool quoted)
{
    if (!quoted) {
        if (strcmp(text, "true") == 0)
            return json_true();
        if (strcmp(text, "false") == 0)
            return json_false();
        if (strcmp(text, "null") == 0 || strcmp(text, "~") == 0)
            return json_null();
        json_t *v = NULL;
        if (norm_parse_payload(NORM_PAYLOAD_NUMBER, text, strlen(text), 1, &v, (char[64]){0}, 64) ==
            MKB_OK) {
            json_t *num = json_incref(json_object_get(v, "value"));
            json_decref(v);
            return num;
        }
    }
    return json_string(text);
}

static jptr_t *compile_ptr(diag_t *d, const config_t *cfg, const config_route_t *rc,
                           const void *field, const char *what, const char *text)
{
    char why[300];
    jptr_t *p = jptr_new(text, why, sizeof(why));
    if (!p)
        config_diag(d, cfg, field, "route '%s': %s: %s", rc->name, what, why);
    return p;
}

static tmpl_t *compile_tmpl(diag_t *d, const config_t *cfg, const croute_t *r, const void *field,
                            const char *what, const char *text)
{
    char why[600];
    tmpl_t *t = tmpl_new(text, (const char *const *)r->cap_names, r->ncap,
                         r->payload != NORM_PAYLOAD_RAW, why, sizeof(why));
    if (!t)
        config_diag(d, cfg, field, "route '%s': %s: %s", r->cfg->name, what, why);
    return t;
}

/* kafka.headers of RC: names and value templates, none in the bridge's mkb. space. */
static void compile_headers(diag_t *d, const config_t *cfg, const config_route_t *rc, croute_t *r)
{
    if (rc->kafka_headers_n > MAX_HEADERS)
        config_diag(d, cfg, &rc->kafka_headers[MAX_HEADERS].key, "route '%s': more than %d headers",
                    rc->name, MAX_HEADERS);
    for (size_t i = 0; i < rc->kafka_headers_n && i < MAX_HEADERS; i++) {
        const config_kv_t *kv = &rc->kafka_headers[i];
        if (strncmp(kv->key, "mkb.", 4) == 0)
            config_diag(d, cfg, &kv->key,
                        "route '%s': header names starting with 'mkb.' are the "
                        "bridge's own (dead letters)",
                        rc->name);
        r->headers[i].name = strdup(kv->key);
        r->headers[i].tmpl = compile_tmpl(d, cfg, r, &kv->value, "kafka.headers", kv->value);
        r->nheaders++;
    }
}

/* Why NAME (a field or add name with braces) is not a template of the
 * captures of R alone, into WHY; empty when it is. */
static void check_name(const croute_t *r, const char *name, char *why, size_t why_size)
{
    for (const char *c = name; *c && !why[0]; c++) {
        if ((*c == '{' || *c == '}') && c[1] == *c) {
            c++; /* {{ and }}: a literal brace */
            continue;
        }
        if (*c == '}')
            snprintf(why, why_size, "a lone '}' (write '}}' for a brace)");
        if (*c != '{')
            continue;
        const char *end = strchr(c, '}');
        if (!end) {
            snprintf(why, why_size, "'{' without its '}' (write '{{' for a brace)");
            break;
        }
        size_t n = strcspn(c + 1, "|}"); /* filters after | are the template's to check */
        bool cap = false;
        for (size_t k = 0; k < r->ncap && !cap; k++)
            cap = strlen(r->cap_names[k]) == n && memcmp(r->cap_names[k], c + 1, n) == 0;
        if (!cap) {
            char word[128];
            snprintf(word, sizeof(word), "%.*s", (int)n, c + 1);
            const char *near = config_nearest(word, (const char *const *)r->cap_names, r->ncap);
            snprintf(why, why_size, "{%s} is not a capture of the filter%s%s%s", word,
                     near ? "; did you mean {" : (r->ncap ? "" : " (it has none)"),
                     near ? near : "", near ? "}?" : "");
        }
        c = end;
    }
}

/* A field or add NAME written at POS: NULL when it has no braces (a fixed
 * name, never rendered), else compiled as a template of the filter's
 * captures alone (*BAD set, D told, when it is not one). */
static tmpl_t *compile_name(diag_t *d, const config_t *cfg, const croute_t *r, const void *pos,
                            const char *what, const char *name, bool *bad)
{
    if (!strpbrk(name, "{}"))
        return NULL;
    char why[600] = "";
    check_name(r, name, why, sizeof(why));
    tmpl_t *t = NULL;
    if (!why[0])
        t = tmpl_new(name, (const char *const *)r->cap_names, r->ncap, false, why, sizeof(why));
    if (!t) {
        config_diag(d, cfg, pos, "route '%s': %s name '%s': %s", r->cfg->name, what, name, why);
        *bad = true;
    }
    return t;
}

/* The default of FC into F: typed as the field once, at load; null stays null. */
static void compile_default(diag_t *d, const config_t *cfg, const config_route_t *rc,
                            const config_field_t *fc, cfield_t *f)
{
    if (fc->dflt.text) {
        char why[600];
        json_t *v = scalar_json(fc->dflt.text, fc->dflt.quoted);
        json_t *typed = NULL;
        if (json_is_null(v))
            typed = json_incref(v);
        else if (v && norm_coerce(v, f->type, &typed, why, sizeof(why)) != MKB_OK)
            config_diag(d, cfg, &fc->dflt, "route '%s': field '%s': default: %s", rc->name,
                        fc->name, why);
        json_decref(v);
        f->dflt = typed;
    }
    if (fc->required && fc->dflt.text)
        config_diag(d, cfg, &fc->dflt,
                    "route '%s': field '%s': required and default exclude each "
                    "other",
                    rc->name, fc->name);
    if (fc->on_error == CONFIG_ON_ERROR_DEFAULT && !fc->dflt.text)
        config_diag(d, cfg, &fc->on_error,
                    "route '%s': field '%s': on_error: default needs a default: value", rc->name,
                    fc->name);
}

/* The conversion of FC into F: unit conversion, scale/offset, round. */
static void compile_conversion(diag_t *d, const config_t *cfg, const config_route_t *rc,
                               const config_field_t *fc, cfield_t *f)
{
    f->scale = fc->scale;
    f->offset = fc->offset;
    f->linear = fc->convert || fc->scale != 1.0 || fc->offset != 0.0;
    if (fc->convert) {
        f->scale = fc->convert->scale * fc->scale; /* (v*s+o)*scale+offset */
        f->offset = fc->convert->offset * fc->scale + fc->offset;
    }
    const char *tname = f->type == NORM_TYPE_STRING ? "string" : "boolean";
    bool numeric = f->type != NORM_TYPE_STRING && f->type != NORM_TYPE_BOOLEAN;
    if (f->linear && !numeric)
        config_diag(d, cfg, fc,
                    "route '%s': field '%s': a unit conversion gives a number, not a %s", rc->name,
                    fc->name, tname);
    /* round has no default: given or not is told by its position */
    f->round = config_pos(cfg, &fc->round).line > 0 ? (int)fc->round : -1;
    if (f->round >= 0 && !numeric)
        config_diag(d, cfg, &fc->round,
                    "route '%s': field '%s': round applies to numbers, not to a %s", rc->name,
                    fc->name, tname);
}

/* Entry I of fields, FC: its name, pointer, type, conversion, default and
 * on_error, into F. */
static void compile_field(diag_t *d, const config_t *cfg, const croute_t *r, size_t i,
                          const config_field_t *fc, cfield_t *f)
{
    const config_route_t *rc = r->cfg;
    bool bad = false;
    f->name = strdup(fc->name);
    f->name_tmpl = compile_name(d, cfg, r, fc, "fields", fc->name, &bad);
    if ((f->name_tmpl || bad) && !fc->from)
        config_diag(d, cfg, fc,
                    "route '%s': field '%s': a name made from captures needs from: (the "
                    "JSON pointer of its value)",
                    rc->name, fc->name);
    char ptr[600];
    if (fc->from)
        snprintf(ptr, sizeof(ptr), "%s", fc->from);
    else if (snprintf(ptr, sizeof(ptr), "/%s", fc->name) >= (int)sizeof(ptr))
        ptr[sizeof(ptr) - 1] = '\0';
    f->from = compile_ptr(d, cfg, rc, fc->from ? (const void *)&fc->from : (const void *)fc,
                          "fields.from", ptr);
    f->type = fc->type;
    f->required = fc->required;
    f->on_error = fc->on_error;
    if (f->on_error != CONFIG_ON_ERROR_DEAD_LETTER && i >= MAX_SOFT_FIELDS)
        config_diag(d, cfg, &fc->on_error,
                    "route '%s': field '%s': on_error other than dead_letter works on the "
                    "first %d fields of a route",
                    rc->name, fc->name, MAX_SOFT_FIELDS);
    compile_conversion(d, cfg, rc, fc, f);
    compile_default(d, cfg, rc, fc, f);
}

/* The add entries of RC: constants typed once, templates compiled. */
static void compile_adds(diag_t *d, const config_t *cfg, const config_route_t *rc, croute_t *r)
{
    for (size_t i = 0; i < rc->add_n; i++) {
        const config_kv_t *kv = &rc->add[i];
        cadd_t *a = &r->adds[r->nadds++];
        a->name = strdup(kv->key);
        bool bad = false;
        a->name_tmpl = compile_name(d, cfg, r, &kv->key, "add", kv->key, &bad);
        if (strchr(kv->value, '{'))
            a->tmpl = compile_tmpl(d, cfg, r, &kv->value, "add", kv->value);
        else
            a->constant = scalar_json(kv->value, kv->quoted);
        for (size_t j = 0; j < rc->fields_n; j++)
            if (strcmp(rc->fields[j].name, kv->key) == 0)
                config_diag(d, cfg, &kv->key, "route '%s': add.%s: also a name in fields", rc->name,
                            kv->key);
    }
}

/* A sparkplug_b route: one record per metric unless it says per_message,
 * the Sparkplug key unless kafka.key is written, a valid status topic. */
static void compile_sparkplug(diag_t *d, const config_t *cfg, const config_route_t *rc,
                              croute_t *r)
{
    r->each = rc->spb_records == CONFIG_SPB_PER_METRIC;
    if (!config_pos(cfg, &rc->kafka_key).line) {
        tmpl_destroy(r->key);
        r->key = NULL;
        r->spb_key = true;
    }
    const char *st = rc->spb_status_topic;
    if (st && !kafka_client_topic_check(st, strlen(st), NULL, 0))
        config_diag(d, cfg, &rc->spb_status_topic,
                    "route '%s': sparkplug.status_topic '%s' is not a valid Kafka topic name "
                    "(1-249 characters of a-z A-Z 0-9 . _ -)",
                    rc->name, st);
}

static void compile_route(diag_t *d, const config_t *cfg, const config_route_t *rc, croute_t *r)
{
    char why[600];
    r->cfg = rc;
    r->payload = rc->payload;
    if (!compile_filter(r, rc->mqtt_filter, why, sizeof(why))) {
        config_diag(d, cfg, &rc->mqtt_filter, "route '%s': mqtt.filter '%s': %s", rc->name,
                    rc->mqtt_filter, why);
        return; /* templates need the captures */
    }
    r->topic = compile_tmpl(d, cfg, r, &rc->kafka_topic, "kafka.topic", rc->kafka_topic);
    r->topic_fixed = r->topic && tmpl_is_constant(r->topic);
    if (r->topic_fixed &&
        !kafka_client_topic_check(rc->kafka_topic, strlen(rc->kafka_topic), NULL, 0))
        config_diag(d, cfg, &rc->kafka_topic,
                    "route '%s': kafka.topic '%s' is not a valid Kafka topic name (1-249 "
                    "characters of a-z A-Z 0-9 . _ -)",
                    rc->name, rc->kafka_topic);
    if (rc->kafka_key && rc->kafka_key[0])
        r->key = compile_tmpl(d, cfg, r, &rc->kafka_key, "kafka.key", rc->kafka_key);
    compile_headers(d, cfg, rc, r);
    if (rc->explode)
        r->explode = compile_ptr(d, cfg, rc, &rc->explode, "explode", rc->explode);
    r->fields = calloc(rc->fields_n ? rc->fields_n : 1, sizeof(*r->fields));
    r->adds = calloc(rc->add_n ? rc->add_n : 1, sizeof(*r->adds));
    if (!r->fields || !r->adds) {
        d->nomem = true;
        return;
    }
    for (size_t i = 0; i < rc->fields_n; i++)
        compile_field(d, cfg, r, i, &rc->fields[i], &r->fields[r->nfields++]);
    compile_adds(d, cfg, rc, r);
    if (rc->ts_from) {
        r->ts_from = compile_ptr(d, cfg, rc, &rc->ts_from, "timestamp.from", rc->ts_from);
        r->ts_format = rc->ts_format;
    }
    char tzwhy[300];
    if (rc->ts_timezone && !(r->ts_tz = tz_load(rc->ts_timezone, tzwhy, sizeof(tzwhy))))
        config_diag(d, cfg, &rc->ts_timezone, "route '%s': timestamp.timezone: %s", rc->name,
                    tzwhy);
    r->when = cond_new(cfg, rc, (const char *const *)r->cap_names, r->ncap, d);
    r->empty_forward = rc->empty == CONFIG_EMPTY_DEFAULT && rc->payload == NORM_PAYLOAD_RAW;
    r->empty = rc->empty == CONFIG_EMPTY_DEFAULT ? CONFIG_EMPTY_DEAD_LETTER : rc->empty;
    r->each = r->explode != NULL;
    if (rc->payload == NORM_PAYLOAD_SPARKPLUG_B)
        compile_sparkplug(d, cfg, rc, r);
}

static void free_route(croute_t *r)
{
    free(r->sub_filter);
    for (size_t i = 0; i < r->ncap; i++)
        free(r->cap_names[i]);
    tmpl_destroy(r->topic);
    tmpl_destroy(r->key);
    for (size_t i = 0; i < r->nheaders; i++) {
        free(r->headers[i].name);
        tmpl_destroy(r->headers[i].tmpl);
    }
    jptr_destroy(r->explode);
    for (size_t i = 0; i < r->nfields; i++) {
        free(r->fields[i].name);
        tmpl_destroy(r->fields[i].name_tmpl);
        jptr_destroy(r->fields[i].from);
        json_decref(r->fields[i].dflt);
    }
    free(r->fields);
    for (size_t i = 0; i < r->nadds; i++) {
        free(r->adds[i].name);
        tmpl_destroy(r->adds[i].name_tmpl);
        tmpl_destroy(r->adds[i].tmpl);
        json_decref(r->adds[i].constant);
    }
    free(r->adds);
    jptr_destroy(r->ts_from);
    tz_destroy(r->ts_tz);
    cond_destroy(r->when);
}

void mapper_destroy(mapper_t *m)
{
    if (!m)
        return;
    for (size_t i = 0; i < m->nroutes; i++)
        free_route(&m->routes[i]);
    free(m->routes);
    trie_destroy(m->trie);
    subcover_destroy(m->cover);
    trie_destroy(m->cover_trie);
    free(m->warnings);
    spb_state_destroy(m->spb_own);
    buf_free(&m->topic);
    buf_free(&m->key);
    buf_free(&m->value);
    buf_free(&m->hdr);
    buf_free(&m->name);
    free(m);
}

/* A warning when cover filter K is wider than every route filter under it:
 * overlapping filters were generalized, so the broker also sends topics no
 * route takes. It is told at the first route under K whose filter starts
 * with a wildcard (the usual cause: a device family's "{node}/status"), else
 * at the first one. */
static void warn_widened(diag_t *w, const mapper_t *m, size_t k)
{
    const char *cover = subcover_filter(m->cover, k);
    const croute_t *at = NULL;
    size_t under = 0;
    for (size_t i = 0; i < m->nroutes; i++) {
        const croute_t *r = &m->routes[i];
        if (!r->sub_filter || !subcover_contains(cover, r->sub_filter))
            continue;
        if (strcmp(r->sub_filter, cover) == 0)
            return; /* a route asked for exactly this filter */
        under++;
        if (!at || (!strchr("+#", at->sub_filter[0]) && strchr("+#", r->sub_filter[0])))
            at = r;
    }
    if (!at)
        return;
    config_diag(w, m->cfg, &at->cfg->mqtt_filter,
                "route '%s': its filter '%s' and those of %zu other route(s) overlap, so the "
                "bridge subscribes to '%s' for them (one copy of each message); that also "
                "brings topics no route takes, counted in "
                "mkb_mqtt_messages_outside_routes_total (give the routes topic prefixes that do "
                "not overlap to avoid it)",
                at->cfg->name, at->sub_filter, under - 1, cover);
}

int mapper_new(const config_t *cfg, mapper_t **out, char **errors)
{
    diag_t d = {.count = 0};
    *errors = NULL;
    mapper_t *m = calloc(1, sizeof(*m));
    if (!m || !(m->trie = trie_new()) ||
        !(m->routes = calloc(cfg->routes_n ? cfg->routes_n : 1, sizeof(*m->routes))) ||
        !(m->cover = subcover_new()) || !(m->cover_trie = trie_new())) {
        mapper_destroy(m);
        return MKB_ERR_NOMEM;
    }
    m->cfg = cfg;
    const char *const *special[] = {(const char *const *)&cfg->kafka_dead_letter_topic,
                                    (const char *const *)&cfg->kafka_unmatched_topic};
    for (size_t i = 0; i < 2; i++)
        if (*special[i] && !kafka_client_topic_check(*special[i], strlen(*special[i]), NULL, 0))
            config_diag(&d, cfg, special[i], "'%s' is not a valid Kafka topic name", *special[i]);
    for (size_t i = 0; i < cfg->routes_n; i++) {
        croute_t *r = &m->routes[m->nroutes++];
        compile_route(&d, cfg, &cfg->routes[i], r);
        if (!r->sub_filter)
            continue;
        if (trie_insert(m->trie, r->sub_filter, (uint32_t)i) != MKB_OK ||
            subcover_add(m->cover, r->sub_filter, (int)cfg->routes[i].mqtt_qos) != MKB_OK)
            d.nomem = true;
    }
    diag_t w = {.severity = "warning"};
    for (size_t k = 0; k < subcover_count(m->cover) && !d.nomem; k++) {
        if (trie_insert(m->cover_trie, subcover_filter(m->cover, k), (uint32_t)k) != MKB_OK)
            d.nomem = true;
        warn_widened(&w, m, k);
    }
    d.nomem |= w.nomem;
    m->warnings = diag_take(&w);
    for (size_t i = 0; i < m->nroutes && !m->spb_own && !d.nomem; i++)
        if (m->routes[i].payload == NORM_PAYLOAD_SPARKPLUG_B &&
            spb_state_new(NULL, &m->spb_own, (char[8]){0}, 8) != MKB_OK)
            d.nomem = true;
    m->spb = m->spb_own;
    if (d.nomem) {
        diag_free(&d);
        mapper_destroy(m);
        return MKB_ERR_NOMEM;
    }
    if (d.count) {
        *errors = diag_take(&d);
        mapper_destroy(m);
        return MKB_ERR_CONFIG;
    }
    diag_free(&d);
    *out = m;
    return MKB_OK;
}

const char *mapper_warnings(const mapper_t *m)
{
    return m->warnings;
}

void mapper_set_sparkplug(mapper_t *m, spb_state_t *state, mapper_rebirth_t rebirth, void *opaque)
{
    m->spb = state ? state : m->spb_own;
    m->rebirth = rebirth;
    m->rebirth_opaque = opaque;
}

void mapper_on_skip(mapper_t *m, mapper_skip_t fn, bool why)
{
    m->on_skip = fn;
    m->skip_why = why;
}

size_t mapper_subscription_count(const mapper_t *m)
{
    return subcover_count(m->cover);
}
const char *mapper_subscription_filter(const mapper_t *m, size_t i)
{
    return subcover_filter(m->cover, i);
}
int mapper_subscription_qos(const mapper_t *m, size_t i)
{
    return subcover_qos(m->cover, i);
}
size_t mapper_route_count(const mapper_t *m)
{
    return m->nroutes;
}

/* ---- process ------------------------------------------------------------ */

typedef struct {
    mapper_t *m;
    const mqtt_msg_t *msg;
    mapper_emit_t emit;
    void *opaque;
    mapper_result_t *res;
    size_t lvl_start[TRIE_MAX_LEVELS], lvl_len[TRIE_MAX_LEVELS];
    size_t nlevels;
    size_t cap_start[MAX_CAPTURES], cap_len[MAX_CAPTURES];
    bool tombstone;    /* the record being emitted has a null value (empty: tombstone) */
    json_t *parsed[3]; /* per payload kind (json, number, text), parsed once */
    bool parse_failed[3];
    char parse_why[3][300];
    spb_msg_t spb; /* the message as Sparkplug B (payload: sparkplug_b routes) */
    bool spb_on;   /* spb begun: only messages a sparkplug_b route takes pay for it */
} run_t;

static int add_header(mapper_t *m, size_t *n, const char *name, const void *v, size_t len)
{
    m->hdrs[*n].name = name;
    m->hdr_off[*n] = m->hdr.len;
    m->hdrs[*n].value_len = len;
    (*n)++;
    return buf_append(&m->hdr, v, len);
}

/* Fixes the header value pointers once the buffer no longer moves. */
static void finish_headers(mapper_t *m, size_t n)
{
    for (size_t i = 0; i < n; i++)
        m->hdrs[i].value = m->hdr.p + m->hdr_off[i];
}

/* A dead letter holding the first KEEP bytes of the payload (all of it,
 * unless it is over limits.max_payload_bytes: then mkb.value.bytes says how
 * large it was). */
static int emit_dead_letter_cut(run_t *r, const char *route, const char *reason, size_t keep)
{
    mapper_t *m = r->m;
    const mqtt_msg_t *msg = r->msg;
    char qos[4];
    size_t n = 0;
    snprintf(qos, sizeof(qos), "%d", msg->qos);
    buf_reset(&m->hdr);
    int rc = add_header(m, &n, DEAD_LETTER_REASON, reason, strlen(reason));
    if (route)
        rc |= add_header(m, &n, DEAD_LETTER_ROUTE, route, strlen(route));
    rc |= add_header(m, &n, DEAD_LETTER_MQTT_TOPIC, msg->topic, msg->topic_len);
    rc |= add_header(m, &n, DEAD_LETTER_MQTT_QOS, qos, strlen(qos));
    if (keep < msg->payload_len) {
        char size[32]; /* add_header copies it */
        snprintf(size, sizeof(size), "%zu", msg->payload_len);
        rc |= add_header(m, &n, DEAD_LETTER_VALUE_BYTES, size, strlen(size));
    } else {
        keep = msg->payload_len;
    }
    if (rc)
        return MKB_ERR_NOMEM;
    finish_headers(m, n);
    record_t rec = {
        .route = route,
        .topic = m->cfg->kafka_dead_letter_topic,
        .key = msg->topic,
        .key_len = msg->topic_len,
        .value = msg->payload ? msg->payload : "", /* NULL would be a tombstone */
        .value_len = keep,
        .headers = m->hdrs,
        .nheaders = n,
        .timestamp_ms = msg->recv_ms,
        .recv_ms = msg->recv_ms,
        .dead_letter = true,
        .reason = reason,
    };
    r->res->records++;
    r->res->dead_letters++;
    return r->emit(r->opaque, &rec);
}

static int emit_dead_letter(run_t *r, const char *route, const char *reason)
{
    return emit_dead_letter_cut(r, route, reason, r->msg->payload_len);
}

/* D rounded to N decimals, halves away from zero. */
static double round_decimals(double d, int n)
{
    static const double p10[] = {1e0, 1e1, 1e2,  1e3,  1e4,  1e5,  1e6,  1e7,
                                 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15};
    double x = d * p10[n];
    if (!isfinite(x) || fabs(x) >= 4503599627370496.0) /* 2^52: no fraction left to round */
        return d;
    double t = trunc(x);
    /* X carries the binary error of D (21.775 is 21.77499999999999857...):
     * a few ulps of slack let a written half round away from zero. */
    if (fabs(x - t) >= 0.5 - 4 * DBL_EPSILON * fabs(x))
        t += copysign(1.0, x);
    return t == 0 ? 0.0 : t / p10[n]; /* no -0 */
}

/* The value V of field F (named NAME) converted, rounded and typed into
 * *OUT. MKB_ERR_INVAL, WHY set, when it cannot be. */
static int convert_field(const cfield_t *f, const char *name, json_t *v, json_t **out, char *why,
                         size_t why_size)
{
    json_t *num = NULL;
    bool rounds = f->round >= 0 && !(json_is_integer(v) && !f->linear);
    if (f->linear || rounds) {
        double d;
        if (!norm_number(v, &d)) {
            snprintf(why, why_size, "field '%s': expected a number to %s (from %s)", name,
                     f->linear ? "convert" : "round", jptr_text(f->from));
            return MKB_ERR_INVAL;
        }
        if (f->linear)
            d = d * f->scale + f->offset;
        if (rounds)
            d = round_decimals(d, f->round);
        if (!(num = json_real(d))) {
            snprintf(why, why_size, "field '%s': %g is not a JSON number (from %s)", name, d,
                     jptr_text(f->from));
            return MKB_ERR_INVAL;
        }
        v = num;
    }
    char cwhy[256];
    int rc = norm_coerce(v, f->type, out, cwhy, sizeof(cwhy));
    json_decref(num);
    if (rc != MKB_OK)
        snprintf(why, why_size, "field '%s' (from %s): %s", name, jptr_text(f->from), cwhy);
    return rc;
}

/* Copies the field F of IN into O under NAME, converted and typed. A value
 * that cannot be converted follows F's on_error: *FAILED set when it kept
 * the record. MKB_ERR_INVAL, WHY set, when the message becomes a dead
 * letter (a required field missing, or on_error: dead_letter). */
static int put_field(const cfield_t *f, const char *name, json_t *in, json_t *o, bool *failed,
                     char *why, size_t why_size)
{
    json_t *v = f->from ? jptr_get(f->from, in) : NULL;
    if (!v || json_is_null(v)) {
        if (f->dflt) {
            json_object_set(o, name, f->dflt);
            return MKB_OK;
        }
        if (f->required) {
            snprintf(why, why_size, "required field '%s' is missing (from %s)", name,
                     jptr_text(f->from));
            return MKB_ERR_INVAL;
        }
        return MKB_OK;
    }
    json_t *typed = NULL;
    int rc = convert_field(f, name, v, &typed, why, why_size);
    if (rc == MKB_OK) {
        json_object_set_new(o, name, typed);
        return MKB_OK;
    }
    if (rc == MKB_ERR_NOMEM)
        snprintf(why, why_size, "out of memory");
    if (rc == MKB_ERR_NOMEM || f->on_error == CONFIG_ON_ERROR_DEAD_LETTER)
        return MKB_ERR_INVAL;
    if (f->on_error == CONFIG_ON_ERROR_NULL)
        json_object_set_new(o, name, json_null());
    else if (f->on_error == CONFIG_ON_ERROR_DEFAULT)
        json_object_set(o, name, f->dflt);
    *failed = true; /* omit: nothing set */
    return MKB_OK;
}

/* Renders the name template T into m->name, NUL-terminated; NULL, WHY set,
 * when it cannot be. */
static const char *render_name(mapper_t *m, const tmpl_t *t, const tmpl_ctx_t *ctx, char *why,
                               size_t why_size)
{
    buf_reset(&m->name);
    if (tmpl_render(t, ctx, &m->name, why, why_size) != MKB_OK)
        return NULL;
    if (buf_terminate(&m->name) != MKB_OK) {
        snprintf(why, why_size, "out of memory");
        return NULL;
    }
    /* jansson would refuse the key without a word: say why here */
    json_t *utf8 = json_stringn(m->name.p, m->name.len);
    if (!utf8) {
        char shown[256];
        quote_bytes(shown, sizeof(shown), m->name.p, m->name.len, 60);
        snprintf(why, why_size, "name '%s' (from '%s') is not valid UTF-8", shown, tmpl_text(t));
        return NULL;
    }
    json_decref(utf8);
    return m->name.p;
}

/* Puts the fields of CR from IN into O; bit i of *FERR set when fields[i]
 * failed and its on_error kept the record. */
static int put_fields(mapper_t *m, const croute_t *cr, const tmpl_ctx_t *ctx, json_t *in, json_t *o,
                      uint64_t *ferr, char *why, size_t why_size)
{
    for (size_t i = 0; i < cr->nfields; i++) {
        const cfield_t *f = &cr->fields[i];
        const char *name =
            f->name_tmpl ? render_name(m, f->name_tmpl, ctx, why, why_size) : f->name;
        bool failed = false;
        if (!name)
            return MKB_ERR_INVAL;
        json_t *src = f->from && jptr_is_root(f->from) ? ctx->root : in; /* from: $/a */
        if (put_field(f, name, src, o, &failed, why, why_size) != MKB_OK)
            return MKB_ERR_INVAL;
        if (failed) /* only the first MAX_SOFT_FIELDS may fail softly (compile_field) */
            *ferr |= UINT64_C(1) << i;
    }
    return MKB_OK;
}

/* Sets the add entries of CR in O, templates rendered with CTX. */
static int put_adds(mapper_t *m, const croute_t *cr, const tmpl_ctx_t *ctx, json_t *o, char *why,
                    size_t why_size)
{
    for (size_t i = 0; i < cr->nadds; i++) {
        const cadd_t *a = &cr->adds[i];
        const char *name =
            a->name_tmpl ? render_name(m, a->name_tmpl, ctx, why, why_size) : a->name;
        if (!name)
            return MKB_ERR_INVAL;
        if (a->constant) {
            json_object_set(o, name, a->constant);
            continue;
        }
        buf_reset(&m->key); /* borrowed as scratch; the key is rendered later */
        if (tmpl_render(a->tmpl, ctx, &m->key, why, why_size) != MKB_OK)
            return MKB_ERR_INVAL;
        json_t *s = json_stringn(m->key.p ? m->key.p : "", m->key.len);
        if (!s) {
            snprintf(why, why_size, "add.%s: not valid UTF-8", name);
            return MKB_ERR_INVAL;
        }
        json_object_set_new(o, name, s);
    }
    return MKB_OK;
}

/* The reading's time from IN (timestamp.from) into *TS_MS and O's ts_field;
 * the receive time stays where there is none. */
static int put_timestamp(run_t *r, const croute_t *cr, json_t *in, json_t *root, json_t *o,
                         int64_t *ts_ms, char *why, size_t why_size)
{
    mapper_t *m = r->m;
    json_t *tv = jptr_get(cr->ts_from, jptr_is_root(cr->ts_from) ? root : in);
    if (tv && !json_is_null(tv)) {
        char twhy[200];
        if (norm_parse_time_tz(tv, cr->ts_format, cr->ts_tz, ts_ms, twhy, sizeof(twhy)) != MKB_OK) {
            snprintf(why, why_size, "%s (from %s)", twhy, jptr_text(cr->ts_from));
            return MKB_ERR_INVAL;
        }
    }
    buf_reset(&m->key);
    if (tmpl_append_iso(&m->key, *ts_ms) != MKB_OK) {
        snprintf(why, why_size, "out of memory");
        return MKB_ERR_INVAL;
    }
    json_object_set_new(o, cr->cfg->ts_field, json_stringn(m->key.p, m->key.len));
    /* A clock far ahead would make Kafka refuse the record (KIP-937):
     * keep the reading's time in the value, stamp the record on receipt. */
    if (*ts_ms > r->msg->recv_ms + m->cfg->limit_future_ms)
        *ts_ms = r->msg->recv_ms;
    return MKB_OK;
}

/* A Sparkplug metric's or message's own time (epoch ms) into *TS_MS, when
 * it has one. */
static void spb_timestamp(const json_t *in, int64_t *ts_ms)
{
    json_t *ts = json_object_get(in, "timestamp");
    if (json_is_integer(ts) && json_integer_value(ts) > 0)
        *ts_ms = json_integer_value(ts);
}

/* Builds the output object for one element; *out is a new reference, *FERR
 * its failed fields (put_fields). */
static int build_record(run_t *r, const croute_t *cr, json_t *in, const tmpl_ctx_t *ctx,
                        json_t **out, int64_t *ts_ms, uint64_t *ferr, char *why, size_t why_size)
{
    json_t *o;
    *ts_ms = r->msg->recv_ms;
    *ferr = 0;
    if (cr->nfields == 0) {
        if (!json_is_object(in)) {
            if (cr->nadds || cr->ts_from) {
                snprintf(why, why_size,
                         "payload is not a JSON object, so add/timestamp cannot "
                         "apply");
                return MKB_ERR_INVAL;
            }
            *out = json_incref(in);
            return MKB_OK;
        }
        o = json_copy(in); /* shallow: added keys must not touch the input */
    } else {
        o = json_object();
    }
    if (!o)
        return MKB_ERR_NOMEM;
    if (put_fields(r->m, cr, ctx, in, o, ferr, why, why_size) != MKB_OK)
        goto fail;
    if (put_adds(r->m, cr, ctx, o, why, why_size) != MKB_OK)
        goto fail;
    if (cr->ts_from && put_timestamp(r, cr, in, ctx->root, o, ts_ms, why, why_size) != MKB_OK)
        goto fail;
    if (!cr->ts_from && cr->payload == NORM_PAYLOAD_SPARKPLUG_B)
        spb_timestamp(in, ts_ms);
    *out = o;
    return MKB_OK;
fail:
    json_decref(o);
    return MKB_ERR_INVAL;
}

/* A record's value: OUT as JSON, else (raw) the payload as received, or
 * none at all for a tombstone (empty: tombstone). */
static int value_of(run_t *r, json_t *out, const void **value, size_t *len)
{
    if (out) {
        /* Sparkplug values are the device's own: every digit of a double */
        int rc = r->spb_on ? tmpl_dump_json_exact(&r->m->value, out)
                           : tmpl_dump_json(&r->m->value, out);
        if (rc != MKB_OK)
            return MKB_ERR_NOMEM;
        *value = r->m->value.p;
        *len = r->m->value.len;
    } else if (r->tombstone) {
        *value = NULL;
        *len = 0;
    } else { /* a NULL pointer would say tombstone */
        *value = r->msg->payload ? r->msg->payload : "";
        *len = r->msg->payload_len;
    }
    return MKB_OK;
}

/* Header RECORD_FIELD_ERRORS as header *NH: the names of the fields of CR
 * whose bit is set in FERR, as the record has them, comma separated. */
static int add_field_errors(mapper_t *m, const croute_t *cr, const tmpl_ctx_t *ctx, uint64_t ferr,
                            size_t *nh, char *why, size_t why_size)
{
    size_t start = m->hdr.len;
    for (size_t i = 0; i < cr->nfields && i < MAX_SOFT_FIELDS; i++) {
        const cfield_t *f = &cr->fields[i];
        if (!(ferr >> i & 1))
            continue;
        if (m->hdr.len > start && buf_append(&m->hdr, ",", 1) != MKB_OK)
            return MKB_ERR_NOMEM;
        int rc = f->name_tmpl ? tmpl_render(f->name_tmpl, ctx, &m->hdr, why, why_size)
                              : buf_append(&m->hdr, f->name, strlen(f->name));
        if (rc != MKB_OK)
            return rc;
    }
    m->hdrs[*nh].name = RECORD_FIELD_ERRORS;
    m->hdr_off[*nh] = start;
    m->hdrs[*nh].value_len = m->hdr.len - start;
    (*nh)++;
    return MKB_OK;
}

/* Header mkb.sparkplug.type: the message type of the record's message. */
static int add_spb_type(run_t *r, size_t *nh)
{
    const char *t = spb_type_name(r->spb.topic.type);
    return add_header(r->m, nh, MKB_HEADER_SPB_TYPE, t, strlen(t));
}

/* The record key into m->key: kafka.key rendered, or a Sparkplug route's
 * own (spb_msg_key); none without either. */
static int render_key(mapper_t *m, const croute_t *cr, const tmpl_ctx_t *ctx, char *why,
                      size_t why_size)
{
    if (cr->key && tmpl_render(cr->key, ctx, &m->key, why, why_size) != MKB_OK)
        return MKB_ERR_INVAL;
    if (cr->spb_key && spb_msg_key(ctx->input, &m->key) != MKB_OK)
        return MKB_ERR_NOMEM;
    return MKB_OK;
}

/* Renders and emits one record of route CR from OUT (the element IN) whose
 * failed fields are FERR. */
static int emit_record(run_t *r, const croute_t *cr, const tmpl_ctx_t *ctx, json_t *out,
                       int64_t ts_ms, uint64_t ferr, char *why, size_t why_size)
{
    mapper_t *m = r->m;
    buf_reset(&m->topic);
    buf_reset(&m->key);
    buf_reset(&m->value);
    buf_reset(&m->hdr);
    if (tmpl_render(cr->topic, ctx, &m->topic, why, why_size) != MKB_OK)
        return MKB_ERR_INVAL;
    char twhy[80];
    if (!cr->topic_fixed &&
        !kafka_client_topic_check(m->topic.p, m->topic.len, twhy, sizeof(twhy))) {
        char shown[256]; /* 60 bytes, each at most 4 characters, and "..." */
        quote_bytes(shown, sizeof(shown), m->topic.p ? m->topic.p : "", m->topic.len, 60);
        snprintf(why, why_size, "rendered topic '%s' is not a valid Kafka topic name (%s)", shown,
                 twhy);
        return MKB_ERR_INVAL;
    }
    if (buf_terminate(&m->topic) != MKB_OK)
        return MKB_ERR_NOMEM;
    int krc = render_key(m, cr, ctx, why, why_size);
    if (krc != MKB_OK)
        return krc;
    size_t nh = 0;
    for (size_t i = 0; i < cr->nheaders; i++) {
        m->hdrs[nh].name = cr->headers[i].name;
        m->hdr_off[nh] = m->hdr.len;
        if (tmpl_render(cr->headers[i].tmpl, ctx, &m->hdr, why, why_size) != MKB_OK)
            return MKB_ERR_INVAL;
        m->hdrs[nh].value_len = m->hdr.len - m->hdr_off[nh];
        nh++;
    }
    if (ferr) {
        int rc = add_field_errors(m, cr, ctx, ferr, &nh, why, why_size);
        if (rc != MKB_OK)
            return rc;
    }
    if (r->msg->retained && add_header(m, &nh, MKB_HEADER_RETAINED, "true", 4))
        return MKB_ERR_NOMEM;
    if (cr->payload == NORM_PAYLOAD_SPARKPLUG_B && add_spb_type(r, &nh) != MKB_OK)
        return MKB_ERR_NOMEM;
    finish_headers(m, nh);
    const void *value;
    size_t value_len;
    if (value_of(r, out, &value, &value_len) != MKB_OK)
        return MKB_ERR_NOMEM;
    record_t rec = {
        .route = cr->cfg->name,
        .profile = cr->cfg->kafka_profile,
        .topic = m->topic.p,
        .key = cr->key || cr->spb_key ? (m->key.p ? m->key.p : "") : NULL,
        .key_len = cr->key || cr->spb_key ? m->key.len : 0,
        .value = value,
        .value_len = value_len,
        .headers = m->hdrs,
        .nheaders = nh,
        .timestamp_ms = ts_ms,
        .recv_ms = r->msg->recv_ms,
        .field_errors = (uint32_t)__builtin_popcountll(ferr),
    };
    r->res->records++;
    return r->emit(r->opaque, &rec);
}

static int parse_once(run_t *r, norm_payload_t kind, json_t **out)
{
    if (!r->parsed[kind] && !r->parse_failed[kind]) {
        int rc = norm_parse_payload(kind, r->msg->payload, r->msg->payload_len,
                                    (int)r->m->cfg->limit_json_depth, &r->parsed[kind],
                                    r->parse_why[kind], sizeof(r->parse_why[kind]));
        if (rc == MKB_ERR_NOMEM)
            return rc;
        r->parse_failed[kind] = rc != MKB_OK;
    }
    *out = r->parsed[kind];
    return MKB_OK;
}

/* The captures of CR in the message topic, from its levels. */
static void set_captures(run_t *r, const croute_t *cr)
{
    for (size_t i = 0; i < cr->ncap; i++) {
        size_t l = cr->cap_level[i];
        if (cr->cap_tail[i]) {
            /* "a/{rest#}" also matches "a": the capture is then empty. */
            r->cap_start[i] = l < r->nlevels ? r->lvl_start[l] : r->msg->topic_len;
            r->cap_len[i] = r->msg->topic_len - r->cap_start[i];
        } else {
            r->cap_start[i] = r->lvl_start[l];
            r->cap_len[i] = r->lvl_len[l];
        }
    }
}

/* The elements of one parsed message for one route, and their records. */
typedef struct {
    json_t *in;     /* the parsed payload */
    json_t *elems;  /* the array explode points at (explode only) */
    size_t n;       /* how many elements: 1 without explode */
    json_t **outv;  /* the built records */
    int64_t *tsv;   /* their timestamps */
    uint64_t *errv; /* their failed fields (put_fields) */
} batch_t;

static json_t *batch_element(const croute_t *cr, const batch_t *b, size_t i)
{
    return cr->each ? json_array_get(b->elems, i) : b->in;
}

/* Finds the array of explode in IN: *ELEMS, of *N elements. False, m->why
 * set, when there is none or it holds more than limits.max_records_per_message. */
static bool explode(run_t *r, const croute_t *cr, json_t *in, json_t **elems, size_t *n)
{
    mapper_t *m = r->m;
    char *why = m->why;
    size_t why_size = sizeof(m->why);
    *elems = jptr_get(cr->explode, in);
    if (!json_is_array(*elems)) {
        snprintf(why, why_size, "explode: no array at %s", jptr_text(cr->explode));
        return false;
    }
    *n = json_array_size(*elems);
    if (*n > (size_t)m->cfg->limit_records) {
        snprintf(why, why_size,
                 "%zu records in one message; the limit is %lld "
                 "(limits.max_records_per_message)",
                 *n, m->cfg->limit_records);
        return false;
    }
    return true;
}

/* Builds the record of every element of B; *BUILT says how many were.
 * False, m->why set, at the first that fails. */
static bool build_batch(run_t *r, const croute_t *cr, tmpl_ctx_t *ctx, batch_t *b, size_t *built)
{
    char *why = r->m->why;
    size_t why_size = sizeof(r->m->why);
    for (*built = 0; *built < b->n; (*built)++) {
        json_t *el = batch_element(cr, b, *built);
        ctx->input = el;
        char ewhy[400];
        if (build_record(r, cr, el, ctx, &b->outv[*built], &b->tsv[*built], &b->errv[*built], ewhy,
                         sizeof(ewhy)) != MKB_OK) {
            if (cr->each)
                snprintf(why, why_size, "element %zu: %s", *built, ewhy);
            else
                snprintf(why, why_size, "%s", ewhy);
            return false;
        }
    }
    return true;
}

/* Emits the built records of B in order; returns the emit callback's error. */
static int emit_batch(run_t *r, const croute_t *cr, tmpl_ctx_t *ctx, const batch_t *b)
{
    char *why = r->m->why;
    size_t why_size = sizeof(r->m->why);
    int rc = MKB_OK;
    for (size_t i = 0; i < b->n; i++) {
        ctx->input = batch_element(cr, b, i);
        rc = emit_record(r, cr, ctx, b->outv[i], b->tsv[i], b->errv[i], why, why_size);
        if (rc == MKB_ERR_INVAL) {
            /* A template that cannot be rendered for this element (a missing
             * {/field}, a bad topic): this element becomes the dead letter;
             * records already sent stay sent. */
            char reason[600];
            if (cr->each)
                snprintf(reason, sizeof(reason), "element %zu: %s", i, why);
            else
                snprintf(reason, sizeof(reason), "%s", why);
            rc = emit_dead_letter(r, cr->cfg->name, reason);
        }
        if (rc != MKB_OK)
            break;
    }
    return rc;
}

/* All or nothing: every one of the N elements (ELEMS, or IN without
 * explode) must pass before any record is sent. */
static int run_batch(run_t *r, const croute_t *cr, tmpl_ctx_t *ctx, json_t *in, json_t *elems,
                     size_t n)
{
    json_t *outs[64];
    // cppcheck-suppress unassignedVariable ; build_batch writes it through b.tsv
    int64_t tss[64];
    // cppcheck-suppress unassignedVariable ; build_batch writes it through b.errv
    uint64_t errs[64];
    batch_t b = {.in = in, .elems = elems, .n = n, .outv = outs, .tsv = tss, .errv = errs};
    if (n > 64) {
        // NOLINTNEXTLINE(bugprone-sizeof-expression): an array of pointers
        b.outv = calloc(n, sizeof(*b.outv));
        b.tsv = calloc(n, sizeof(*b.tsv));
        b.errv = calloc(n, sizeof(*b.errv));
        if (!b.outv || !b.tsv || !b.errv) {
            free(b.outv);
            free(b.tsv);
            free(b.errv);
            return MKB_ERR_NOMEM;
        }
    }
    size_t built = 0;
    int rc;
    if (build_batch(r, cr, ctx, &b, &built))
        rc = emit_batch(r, cr, ctx, &b);
    else
        rc = emit_dead_letter(r, cr->cfg->name, r->m->why);
    for (size_t i = 0; i < built && i < n; i++)
        json_decref(b.outv[i]);
    if (b.outv != outs) {
        free(b.outv);
        free(b.tsv);
        free(b.errv);
    }
    return rc;
}

/* Counts route CR as skipped for this message and says why (m->why). */
static int skip(run_t *r, const croute_t *cr)
{
    r->res->skipped++;
    if (r->m->on_skip)
        r->m->on_skip(r->opaque, cr->cfg->name, r->m->skip_why ? r->m->why : NULL);
    return MKB_OK;
}

/* True when the when: of CR holds for the message (CTX->input: the parsed
 * payload); else m->why says which condition failed. */
static bool when_holds(run_t *r, const croute_t *cr, const tmpl_ctx_t *ctx, bool no_payload)
{
    int i = cond_eval(cr->when, ctx, no_payload);
    if (i >= 0 && r->m->skip_why) /* words per skipped message only for who reads them */
        cond_describe(cr->when, i, ctx, r->m->why, sizeof(r->m->why));
    return i < 0;
}

/* A zero-length payload, as CR's empty: says (the when: conditions on
 * fields are not tested: there are none). */
static int run_empty(run_t *r, const croute_t *cr, tmpl_ctx_t *ctx)
{
    mapper_t *m = r->m;
    if (cr->when && !when_holds(r, cr, ctx, true))
        return skip(r, cr);
    if (cr->empty == CONFIG_EMPTY_SKIP) {
        snprintf(m->why, sizeof(m->why), "empty payload (empty: skip)");
        return skip(r, cr);
    }
    if (cr->empty == CONFIG_EMPTY_DEAD_LETTER)
        return emit_dead_letter(r, cr->cfg->name, "empty payload");
    r->tombstone = true;
    int rc = emit_record(r, cr, ctx, NULL, r->msg->recv_ms, 0, m->why, sizeof(m->why));
    r->tombstone = false;
    return rc == MKB_ERR_INVAL ? emit_dead_letter(r, cr->cfg->name, m->why) : rc;
}

/* The status record of a Sparkplug birth, death or STATE (its object ST)
 * on CR's sparkplug.status_topic. */
static int emit_status(run_t *r, const croute_t *cr, json_t *st)
{
    mapper_t *m = r->m;
    buf_reset(&m->key);
    buf_reset(&m->value);
    buf_reset(&m->hdr);
    size_t nh = 0;
    int64_t ts = r->msg->recv_ms;
    spb_timestamp(st, &ts);
    const void *value;
    size_t len;
    if (spb_msg_key(st, &m->key) != MKB_OK || add_spb_type(r, &nh) != MKB_OK ||
        value_of(r, st, &value, &len) != MKB_OK)
        return MKB_ERR_NOMEM;
    finish_headers(m, nh);
    record_t rec = {
        .route = cr->cfg->name,
        .profile = cr->cfg->kafka_profile,
        .topic = cr->cfg->spb_status_topic,
        .key = m->key.p ? m->key.p : "",
        .key_len = m->key.len,
        .value = value,
        .value_len = len,
        .headers = m->hdrs,
        .nheaders = nh,
        .timestamp_ms = ts,
        .recv_ms = r->msg->recv_ms,
    };
    r->res->records++;
    return r->emit(r->opaque, &rec);
}

/* What a Sparkplug message asks of the bridge once, whichever routes take
 * it: counts, and a rebirth request when a route with sparkplug.rebirth
 * finds a gap or unnamed metrics (spb_state limits how often). */
static void spb_account(run_t *r, const croute_t *cr)
{
    spb_msg_t *s = &r->spb;
    if (!s->applied || s->rebirth_asked)
        return;
    if (!r->res->spb_seq_gaps && !r->res->spb_unresolved) {
        r->res->spb_seq_gaps = s->seq == SPB_SEQ_GAP || s->seq == SPB_SEQ_GAP_AGAIN;
        r->res->spb_unresolved = s->unresolved;
    }
    if (!cr->cfg->spb_rebirth || !spb_msg_wants_rebirth(s))
        return;
    s->rebirth_asked = true;
    if (spb_state_want_rebirth(s->state, &s->topic, clock_mono_ms())) {
        r->res->spb_rebirths++;
        if (r->m->rebirth)
            r->m->rebirth(r->m->rebirth_opaque, &s->topic);
    }
}

/* A route of payload: sparkplug_b: the message decoded (spb_msg.c), its
 * status record, then its metrics as records (one each, or the message). */
static int run_spb(run_t *r, const croute_t *cr, tmpl_ctx_t *ctx)
{
    mapper_t *m = r->m;
    if (cr->when && !when_holds(r, cr, ctx, true))
        return skip(r, cr);
    if (!r->spb_on) {
        spb_msg_begin(&r->spb, m->spb, r->msg->topic, r->msg->topic_len,
                      (size_t)m->cfg->limit_records);
        r->spb_on = true;
    }
    json_t *doc = NULL;
    int rc = spb_msg_doc(&r->spb, r->msg->payload, r->msg->payload_len,
                         cr->each, cr->cfg->spb_properties, &doc);
    if (rc != MKB_OK)
        return rc == MKB_ERR_INVAL ? emit_dead_letter(r, cr->cfg->name, r->spb.why) : rc;
    spb_account(r, cr);
    if (r->spb.command) {
        snprintf(m->why, sizeof(m->why), "Sparkplug %s: a command to an edge node, not data",
                 spb_type_name(r->spb.topic.type));
        return skip(r, cr);
    }
    if (r->spb.status && cr->cfg->spb_status_topic &&
        (rc = emit_status(r, cr, r->spb.status)) != MKB_OK)
        return rc;
    if (!doc)
        return MKB_OK; /* deaths and STATE: a status record only */
    if (r->spb.unresolved && cr->cfg->spb_unresolved == CONFIG_SPB_DEAD_LETTER) {
        snprintf(m->why, sizeof(m->why),
                 "%zu metric(s) sent by an alias no birth of this edge node or device names "
                 "(sparkplug.unresolved: dead_letter)%s",
                 r->spb.unresolved, r->spb.rebirth_asked ? "; a rebirth was asked for" : "");
        return emit_dead_letter(r, cr->cfg->name, m->why);
    }
    ctx->root = doc;
    ctx->input = doc;
    if (cr->when && !when_holds(r, cr, ctx, false))
        return skip(r, cr);
    json_t *elems = cr->each ? json_object_get(doc, "metrics") : doc;
    return run_batch(r, cr, ctx, doc, elems, cr->each ? json_array_size(elems) : 1);
}

/* Returns the emit callback's error, or MKB_OK (failures become dead letters). */
static int run_route(run_t *r, const croute_t *cr)
{
    mapper_t *m = r->m;
    set_captures(r, cr);
    tmpl_ctx_t ctx = {r->msg, r->cap_start, r->cap_len, cr->cfg->name, NULL, NULL};
    if (r->msg->payload_len == 0 && !cr->empty_forward)
        return run_empty(r, cr, &ctx);
    if (cr->payload == NORM_PAYLOAD_SPARKPLUG_B)
        return run_spb(r, cr, &ctx);
    if (cr->payload == NORM_PAYLOAD_RAW) {
        if (cr->when && !when_holds(r, cr, &ctx, false))
            return skip(r, cr);
        int rc = emit_record(r, cr, &ctx, NULL, r->msg->recv_ms, 0, m->why, sizeof(m->why));
        return rc == MKB_ERR_INVAL ? emit_dead_letter(r, cr->cfg->name, m->why) : rc;
    }
    /* Conditions on captures, properties and MQTT flags first: a message
     * they turn away is skipped even when this route could not parse it. */
    if (cr->when && !when_holds(r, cr, &ctx, true))
        return skip(r, cr);
    json_t *in = NULL;
    if (parse_once(r, cr->payload, &in) != MKB_OK)
        return MKB_ERR_NOMEM;
    if (!in)
        return emit_dead_letter(r, cr->cfg->name, r->parse_why[cr->payload]);
    ctx.root = in; /* {$/pointer}, from: $/... */
    ctx.input = in; /* when: reads the whole message, before explode */
    if (cr->when && !when_holds(r, cr, &ctx, false))
        return skip(r, cr);
    json_t *elems = in;
    size_t n = 1;
    if (cr->explode && !explode(r, cr, in, &elems, &n))
        return emit_dead_letter(r, cr->cfg->name, m->why);
    return run_batch(r, cr, &ctx, in, elems, n);
}

/* A message no route matches goes to kafka.unmatched_topic, when there is one. */
static int emit_unmatched(run_t *r)
{
    mapper_t *m = r->m;
    const mqtt_msg_t *msg = r->msg;
    r->res->unmatched = true;
    if (!m->cfg->kafka_unmatched_topic)
        return MKB_OK;
    size_t nh = 0;
    buf_reset(&m->hdr);
    if (add_header(m, &nh, DEAD_LETTER_MQTT_TOPIC, msg->topic, msg->topic_len))
        return MKB_ERR_NOMEM;
    finish_headers(m, nh);
    record_t rec = {
        .topic = m->cfg->kafka_unmatched_topic,
        .key = msg->topic,
        .key_len = msg->topic_len,
        .value = msg->payload ? msg->payload : "", /* NULL would be a tombstone */
        .value_len = msg->payload_len,
        .headers = m->hdrs,
        .nheaders = nh,
        .timestamp_ms = msg->recv_ms,
        .recv_ms = msg->recv_ms,
    };
    r->res->records++;
    return r->emit(r->opaque, &rec);
}

/* Splits the topic into levels once, for the captures. */
static void split_levels(run_t *r)
{
    const mqtt_msg_t *msg = r->msg;
    r->nlevels = 0;
    size_t start = 0;
    for (size_t i = 0; i <= msg->topic_len && r->nlevels < TRIE_MAX_LEVELS; i++) {
        if (i == msg->topic_len || msg->topic[i] == '/') {
            r->lvl_start[r->nlevels] = start;
            r->lvl_len[r->nlevels++] = i - start;
            start = i + 1;
        }
    }
}

/* Routes the message of R and emits its records (see mapper_process). */
static int process(run_t *r)
{
    // cppcheck-suppress ctuuninitvar ; the hot path leaves the level arrays unset until
    // split_levels writes them
    mapper_t *m = r->m;
    const mqtt_msg_t *msg = r->msg;
    uint32_t ids[TRIE_MAX_MATCHES];
    bool truncated = false;
    /* The broker sent it, so a subscription matched it; the trie matches
     * nothing deeper than TRIE_MAX_LEVELS: keep it as a dead letter rather
     * than count it unmatched. */
    size_t levels = 1;
    for (const char *p = msg->topic, *end = msg->topic + msg->topic_len;
         (p = memchr(p, '/', (size_t)(end - p))) != NULL; p++)
        levels++;
    if (levels > TRIE_MAX_LEVELS) {
        snprintf(m->why, sizeof(m->why), "topic of %zu levels; routes match at most %d", levels,
                 TRIE_MAX_LEVELS);
        return emit_dead_letter(r, NULL, m->why);
    }
    size_t n = trie_match(m->trie, msg->topic, msg->topic_len, ids, &truncated);
    r->res->routes = n;
    if (n == 0) {
        /* Inside the cover, the broker sent it for a generalized filter:
         * counted, not unmatched (only the trie's path pays for this). */
        r->res->outside = trie_match(m->cover_trie, msg->topic, msg->topic_len, ids, &truncated) > 0;
        return r->res->outside ? MKB_OK : emit_unmatched(r);
    }
    if (msg->payload_len > (size_t)m->cfg->limit_payload_bytes) {
        snprintf(m->why, sizeof(m->why),
                 "payload of %zu bytes exceeds the limit of %lld (limits.max_payload_bytes); "
                 "the dead letter keeps the first %lld bytes",
                 msg->payload_len, m->cfg->limit_payload_bytes, m->cfg->limit_payload_bytes);
        return emit_dead_letter_cut(r, m->routes[ids[0]].cfg->name, m->why,
                                    (size_t)m->cfg->limit_payload_bytes);
    }
    if (truncated) {
        snprintf(m->why, sizeof(m->why), "more than %d routes match this topic", TRIE_MAX_MATCHES);
        return emit_dead_letter(r, m->routes[ids[0]].cfg->name, m->why);
    }
    split_levels(r);
    int rc = MKB_OK;
    for (size_t i = 0; i < n && rc == MKB_OK; i++) {
        const croute_t *cr = &m->routes[ids[i]];
        if (msg->retained && cr->cfg->retained == CONFIG_RETAINED_DROP) {
            snprintf(m->why, sizeof(m->why), "retained message (retained: drop)");
            rc = skip(r, cr);
        } else {
            rc = run_route(r, cr);
        }
    }
    return rc;
}

int mapper_process(mapper_t *m, const mqtt_msg_t *msg, mapper_emit_t emit, void *opaque,
                   mapper_result_t *res)
{
    mapper_result_t dummy;
    if (!res)
        res = &dummy;
    memset(res, 0, sizeof(*res));
    run_t r;
    r.m = m;
    r.msg = msg;
    r.emit = emit;
    r.opaque = opaque;
    r.res = res;
    r.tombstone = false;
    memset(r.parsed, 0, sizeof(r.parsed));
    memset(r.parse_failed, 0, sizeof(r.parse_failed));
    r.spb_on = false;
    jarena_begin(); /* every jansson value made for this message is released below */
    int rc = process(&r);
    for (size_t k = 0; k < 3; k++)
        json_decref(r.parsed[k]);
    if (r.spb_on)
        spb_msg_end(&r.spb);
    jarena_end();
    return rc;
}
