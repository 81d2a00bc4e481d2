// SPDX-FileCopyrightText: 2026 The mqtt-kafka-bridge authors
// SPDX-License-Identifier: Apache-2.0
#include "cond.h"

#include "jptr.h"

#include <jansson.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

typedef enum { SUBJ_FIELD, SUBJ_CAPTURE, SUBJ_PROPERTY, SUBJ_MQTT } subj_t;

/* A value as compared: a constant of the condition, or what the message holds. */
typedef enum { V_MISSING, V_TEXT, V_NUM, V_BOOL, V_NULL, V_OTHER } vkind_t;
typedef struct {
    vkind_t kind;
    const char *s; /* V_TEXT: not NUL-terminated */
    size_t n;
    double d;
    bool b;
} val_t;

typedef struct {
    const config_cond_t *cfg;
    subj_t subj;
    jptr_t *ptr; /* SUBJ_FIELD */
    size_t cap;  /* SUBJ_CAPTURE: its index */
    int exists;  /* -1: not tested; else the presence wanted */
    val_t *eq;   /* equals, or one_of: any of them */
    size_t neq;
    bool has_lo, lo_incl, has_hi, hi_incl;
    double lo, hi;
} ccond_t;

struct cond {
    ccond_t *c;
    size_t n;
};

/* ---- values ------------------------------------------------------------- */

/* A YAML boolean as the loader reads one (true/yes/on, false/no/off, any
 * case): 1 or 0; -1 when TEXT is none of them. */
static int yaml_bool(const char *text)
{
    static const char *const t[] = {"true", "yes", "on"}, *const f[] = {"false", "no", "off"};
    for (size_t i = 0; i < 3; i++) {
        if (strcasecmp(text, t[i]) == 0)
            return 1;
        if (strcasecmp(text, f[i]) == 0)
            return 0;
    }
    return -1;
}

/* TEXT (N bytes) read as a whole number: "21.5", "1e3"; no spaces. */
static bool text_number(const char *s, size_t n, double *out)
{
    char buf[64];
    if (n == 0 || n >= sizeof(buf))
        return false;
    memcpy(buf, s, n);
    buf[n] = '\0';
    char *end;
    double d = strtod(buf, &end);
    if (*end != '\0' || !isfinite(d) || buf[0] == ' ' || buf[0] == '\t' || buf[0] == '\n')
        return false;
    *out = d;
    return true;
}

/* A YAML constant: unquoted numbers, booleans and null are typed, the rest
 * (and anything quoted) is text. S->text lives as long as the config. */
static val_t const_of(const config_scalar_t *s)
{
    val_t v = {.kind = V_TEXT, .s = s->text, .n = strlen(s->text)};
    if (s->quoted)
        return v;
    if (strcmp(s->text, "true") == 0 || strcmp(s->text, "false") == 0)
        return (val_t){.kind = V_BOOL, .b = s->text[0] == 't'};
    if (strcmp(s->text, "null") == 0 || strcmp(s->text, "~") == 0)
        return (val_t){.kind = V_NULL};
    if (text_number(v.s, v.n, &v.d))
        v.kind = V_NUM;
    return v;
}

static val_t json_val(json_t *j)
{
    switch (json_typeof(j)) {
    case JSON_STRING:
        return (val_t){.kind = V_TEXT, .s = json_string_value(j), .n = json_string_length(j)};
    case JSON_INTEGER: return (val_t){.kind = V_NUM, .d = (double)json_integer_value(j)};
    case JSON_REAL: return (val_t){.kind = V_NUM, .d = json_real_value(j)};
    case JSON_TRUE: return (val_t){.kind = V_BOOL, .b = true};
    case JSON_FALSE: return (val_t){.kind = V_BOOL, .b = false};
    case JSON_NULL: return (val_t){.kind = V_NULL};
    default: return (val_t){.kind = V_OTHER};
    }
}

static val_t text_val(const char *s, size_t n)
{
    return s ? (val_t){.kind = V_TEXT, .s = s, .n = n} : (val_t){.kind = V_MISSING};
}

static val_t mqtt_val(const ccond_t *c, const mqtt_msg_t *msg)
{
    switch (c->cfg->mqtt) {
    case CONFIG_COND_MQTT_CONTENT_TYPE: return text_val(msg->content_type, msg->content_type_len);
    case CONFIG_COND_MQTT_TOPIC: return text_val(msg->topic, msg->topic_len);
    case CONFIG_COND_MQTT_QOS: return (val_t){.kind = V_NUM, .d = msg->qos};
    case CONFIG_COND_MQTT_RETAIN: return (val_t){.kind = V_BOOL, .b = msg->retained};
    default: return (val_t){.kind = V_MISSING};
    }
}

/* What the message of CTX holds at C's subject. */
static val_t subject(const ccond_t *c, const tmpl_ctx_t *ctx)
{
    const mqtt_msg_t *msg = ctx->msg;
    switch (c->subj) {
    case SUBJ_FIELD: {
        json_t *j = ctx->input ? jptr_get(c->ptr, ctx->input) : NULL;
        return j ? json_val(j) : (val_t){.kind = V_MISSING};
    }
    case SUBJ_CAPTURE: return text_val(msg->topic + ctx->cap_start[c->cap], ctx->cap_len[c->cap]);
    case SUBJ_PROPERTY: {
        size_t kn = strlen(c->cfg->property);
        for (size_t i = 0; i < msg->nprops; i++)
            if (msg->props[i].key_len == kn && memcmp(msg->props[i].key, c->cfg->property, kn) == 0)
                return text_val(msg->props[i].value ? msg->props[i].value : "",
                                msg->props[i].value_len);
        return (val_t){.kind = V_MISSING};
    }
    default: return mqtt_val(c, msg);
    }
}

/* Typed equality: a typed constant also equals text that reads as it
 * (a capture "1" equals 1, "true" equals true); text equals text only. */
static bool equal(const val_t *k, const val_t *v)
{
    double d;
    switch (k->kind) {
    case V_TEXT: return v->kind == V_TEXT && v->n == k->n && memcmp(v->s, k->s, k->n) == 0;
    case V_NUM:
        return (v->kind == V_NUM && v->d == k->d) ||
               (v->kind == V_TEXT && text_number(v->s, v->n, &d) && d == k->d);
    case V_BOOL:
        return (v->kind == V_BOOL && v->b == k->b) ||
               (v->kind == V_TEXT && v->n == (k->b ? 4u : 5u) &&
                memcmp(v->s, k->b ? "true" : "false", v->n) == 0);
    case V_NULL: return v->kind == V_NULL;
    default: return false;
    }
}

static bool holds(const ccond_t *c, const val_t *v)
{
    if (c->exists >= 0)
        return (v->kind != V_MISSING) == (c->exists == 1);
    if (c->neq) {
        size_t i = 0;
        while (i < c->neq && !equal(&c->eq[i], v))
            i++;
        if (i == c->neq)
            return false;
    }
    if (c->has_lo || c->has_hi) {
        double d;
        if (v->kind == V_NUM)
            d = v->d;
        else if (v->kind != V_TEXT || !text_number(v->s, v->n, &d))
            return false;
        if (c->has_lo && !(c->lo_incl ? d >= c->lo : d > c->lo))
            return false;
        if (c->has_hi && !(c->hi_incl ? d <= c->hi : d < c->hi))
            return false;
    }
    return true;
}

int cond_eval(const cond_t *c, const tmpl_ctx_t *ctx, bool no_payload)
{
    for (size_t i = 0; c && i < c->n; i++) {
        if (no_payload && c->c[i].subj == SUBJ_FIELD)
            continue;
        val_t v = subject(&c->c[i], ctx);
        if (!holds(&c->c[i], &v))
            return (int)i;
    }
    return -1;
}

/* ---- describe ----------------------------------------------------------- */

static void append(char *out, size_t size, size_t *o, const char *fmt, const char *a, const char *b)
{
    if (*o >= size)
        return;
    int n = snprintf(out + *o, size - *o, fmt, a, b);
    *o = n < 0 ? size : *o + (size_t)n;
}

static void describe_tests(const config_cond_t *w, char *out, size_t size, size_t *o)
{
    const struct {
        const char *name;
        const config_scalar_t *s;
    } t[] = {{"equals", &w->equals},
             {"above", &w->above},
             {"at_least", &w->at_least},
             {"below", &w->below},
             {"at_most", &w->at_most}};
    bool first = true;
    if (w->exists.text)
        append(out, size, o, "%s%s", yaml_bool(w->exists.text) == 1 ? "exists" : "is absent", "");
    for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
        if (!t[i].s->text)
            continue;
        append(out, size, o, first ? " %s " : " and %s ", t[i].name, "");
        append(out, size, o, t[i].s->quoted ? "\"%s\"%s" : "%s%s", t[i].s->text, "");
        first = false;
    }
    if (w->one_of_n) {
        append(out, size, o, first ? " %s [" : " and %s [", "one_of", "");
        for (size_t i = 0; i < w->one_of_n; i++)
            append(out, size, o, w->one_of[i].quoted ? "%s\"%s\"" : "%s%s", i ? ", " : "",
                   w->one_of[i].text);
        append(out, size, o, "%s]%s", "", "");
    }
}

void cond_describe(const cond_t *c, int i, const tmpl_ctx_t *ctx, char *out, size_t size)
{
    static const char *const mq[] = {"?", "content_type", "topic", "qos", "retain"};
    const ccond_t *cc = &c->c[i];
    const config_cond_t *w = cc->cfg;
    size_t o = 0;
    char idx[24];
    snprintf(idx, sizeof(idx), "%d", i);
    append(out, size, &o, "when[%s] %s", idx,
           cc->subj == SUBJ_FIELD      ? "field"
           : cc->subj == SUBJ_CAPTURE  ? "capture"
           : cc->subj == SUBJ_PROPERTY ? "property"
                                       : "mqtt");
    append(out, size, &o, " %s%s",
           cc->subj == SUBJ_FIELD      ? w->field
           : cc->subj == SUBJ_CAPTURE  ? w->capture
           : cc->subj == SUBJ_PROPERTY ? w->property
                                       : mq[w->mqtt],
           w->exists.text ? " " : "");
    describe_tests(w, out, size, &o);
    append(out, size, &o, " is false%s%s", "", "");
    if (w->exists.text)
        return;
    val_t v = subject(cc, ctx);
    char num[40];
    switch (v.kind) {
    case V_MISSING: append(out, size, &o, " (missing)%s%s", "", ""); break;
    case V_TEXT:
        if (o < size)
            o += (size_t)snprintf(out + o, size - o, " (found \"%.*s\")", v.n > 60 ? 60 : (int)v.n,
                                  v.s);
        break;
    case V_NUM:
        snprintf(num, sizeof(num), "%.15g", v.d);
        append(out, size, &o, " (found %s)%s", num, "");
        break;
    case V_BOOL: append(out, size, &o, " (found %s)%s", v.b ? "true" : "false", ""); break;
    case V_NULL: append(out, size, &o, " (found null)%s%s", "", ""); break;
    default: append(out, size, &o, " (found an object or array)%s%s", "", ""); break;
    }
}

/* ---- compile ------------------------------------------------------------ */

#define ERR(field, ...) config_diag(d, cfg, field, __VA_ARGS__)

/* A field subject: a JSON pointer, on a route that parses its payload. */
static bool compile_field(const config_t *cfg, const config_route_t *rc, size_t i,
                          const config_cond_t *w, ccond_t *c, diag_t *d)
{
    char why[300];
    if (rc->payload == NORM_PAYLOAD_RAW) {
        ERR(&w->field,
            "route '%s': when[%zu].field: payload: raw is not parsed, so it has "
            "no fields to test",
            rc->name, i);
        return false;
    }
    /* $/a reads the whole message: before explode, as when always does. */
    const char *p = w->field[0] == '$' ? w->field + 1 : w->field;
    if (!(c->ptr = jptr_new(p, why, sizeof(why)))) {
        ERR(&w->field, "route '%s': when[%zu].field: %s", rc->name, i, why);
        return false;
    }
    return true;
}

/* The subject of W into C; false (reported) when there is not exactly one. */
static bool compile_subject(const config_t *cfg, const config_route_t *rc, size_t i,
                            const config_cond_t *w, ccond_t *c, const char *const *cap_names,
                            size_t ncap, diag_t *d)
{
    const struct {
        bool given;
        const void *at;
        const char *name;
    } subj[] = {{w->field != NULL, &w->field, "field"},
                {w->capture != NULL, &w->capture, "capture"},
                {w->property != NULL, &w->property, "property"},
                {w->mqtt != CONFIG_COND_MQTT_NONE, &w->mqtt, "mqtt"}};
    const char *names[4] = {0};
    const void *at[4] = {0}; /* where each was written: an error points at the second */
    size_t n = 0;
    for (size_t k = 0; k < 4; k++) {
        if (subj[k].given) {
            at[n] = subj[k].at;
            names[n++] = subj[k].name;
        }
    }
    if (n != 1) {
        if (n == 0)
            ERR(w, "route '%s': when[%zu]: no subject: give one of field, capture, property, mqtt",
                rc->name, i);
        else
            ERR(at[1],
                "route '%s': when[%zu]: two subjects (%s and %s); a condition tests one, "
                "write another condition for the other",
                rc->name, i, names[0], names[1]);
        return false;
    }
    if (w->field) {
        c->subj = SUBJ_FIELD;
        return compile_field(cfg, rc, i, w, c, d);
    }
    if (w->capture) {
        c->subj = SUBJ_CAPTURE;
        for (c->cap = 0; c->cap < ncap && strcmp(cap_names[c->cap], w->capture) != 0; c->cap++)
            ;
        if (c->cap == ncap) {
            const char *near = config_nearest(w->capture, cap_names, ncap);
            ERR(&w->capture,
                "route '%s': when[%zu].capture: '%s' is not a capture of the "
                "filter%s%s%s",
                rc->name, i, w->capture, near ? " (did you mean '" : "", near ? near : "",
                near ? "'?)" : "");
            return false;
        }
    } else {
        c->subj = w->property ? SUBJ_PROPERTY : SUBJ_MQTT;
    }
    return true;
}

/* A numeric test's constant into *OUT; false (reported) when not a number. */
static bool bound(const config_t *cfg, const config_route_t *rc, size_t i, const char *name,
                  const config_scalar_t *s, double *out, diag_t *d)
{
    if (text_number(s->text, strlen(s->text), out))
        return true;
    ERR(s, "route '%s': when[%zu].%s: '%s' is not a number", rc->name, i, name, s->text);
    return false;
}

static bool compile_bounds(const config_t *cfg, const config_route_t *rc, size_t i,
                           const config_cond_t *w, ccond_t *c, diag_t *d)
{
    bool ok = true;
    if (w->above.text && w->at_least.text) {
        ERR(&w->at_least, "route '%s': when[%zu]: above and at_least exclude each other", rc->name,
            i);
        ok = false;
    }
    if (w->below.text && w->at_most.text) {
        ERR(&w->at_most, "route '%s': when[%zu]: below and at_most exclude each other", rc->name,
            i);
        ok = false;
    }
    const config_scalar_t *lo = w->above.text ? &w->above : &w->at_least;
    const config_scalar_t *hi = w->below.text ? &w->below : &w->at_most;
    if (lo->text) {
        c->has_lo = true;
        c->lo_incl = lo == &w->at_least;
        ok &= bound(cfg, rc, i, c->lo_incl ? "at_least" : "above", lo, &c->lo, d);
    }
    if (hi->text) {
        c->has_hi = true;
        c->hi_incl = hi == &w->at_most;
        ok &= bound(cfg, rc, i, c->hi_incl ? "at_most" : "below", hi, &c->hi, d);
    }
    return ok;
}

/* The tests of W into C; false (reported) when they cannot go together. */
static bool compile_tests(const config_t *cfg, const config_route_t *rc, size_t i,
                          const config_cond_t *w, ccond_t *c, diag_t *d)
{
    bool others = w->equals.text || w->one_of_n || w->above.text || w->below.text ||
                  w->at_least.text || w->at_most.text;
    c->exists = -1;
    if (w->exists.text) {
        int b = yaml_bool(w->exists.text);
        if (b < 0) {
            ERR(&w->exists, "route '%s': when[%zu].exists: expected true or false, found '%s'",
                rc->name, i, w->exists.text);
            return false;
        }
        if (others) {
            ERR(&w->exists,
                "route '%s': when[%zu]: exists stands alone (a value that passes "
                "another test exists)",
                rc->name, i);
            return false;
        }
        c->exists = b;
        return true;
    }
    if (!others && !w->one_of) {
        ERR(w,
            "route '%s': when[%zu]: no test: give exists, equals, one_of, above, below, "
            "at_least or at_most",
            rc->name, i);
        return false;
    }
    if (w->equals.text && w->one_of) {
        ERR(&w->equals, "route '%s': when[%zu]: equals and one_of exclude each other", rc->name, i);
        return false;
    }
    if (w->one_of && w->one_of_n == 0) {
        ERR(&w->one_of, "route '%s': when[%zu].one_of: an empty list never holds", rc->name, i);
        return false;
    }
    const config_scalar_t *eq = w->equals.text ? &w->equals : w->one_of;
    c->neq = w->equals.text ? 1 : (w->one_of ? w->one_of_n : 0);
    if (c->neq && !(c->eq = calloc(c->neq, sizeof(*c->eq)))) {
        d->nomem = true;
        return false;
    }
    for (size_t k = 0; k < c->neq; k++)
        c->eq[k] = const_of(&eq[k]);
    return compile_bounds(cfg, rc, i, w, c, d);
}

cond_t *cond_new(const config_t *cfg, const config_route_t *rc, const char *const *cap_names,
                 size_t ncap, diag_t *d)
{
    if (!rc->when_n)
        return NULL;
    cond_t *c = calloc(1, sizeof(*c));
    if (!c || !(c->c = calloc(rc->when_n, sizeof(*c->c)))) {
        free(c);
        d->nomem = true;
        return NULL;
    }
    bool ok = true;
    for (size_t i = 0; i < rc->when_n; i++) {
        const config_cond_t *w = &rc->when[i];
        ccond_t *cc = &c->c[c->n++];
        cc->cfg = w;
        /* both checked, so one run of check lists every error */
        bool subj_ok = compile_subject(cfg, rc, i, w, cc, cap_names, ncap, d);
        ok &= compile_tests(cfg, rc, i, w, cc, d) && subj_ok;
    }
    if (!ok) {
        cond_destroy(c);
        return NULL;
    }
    return c;
}

void cond_destroy(cond_t *c)
{
    if (!c)
        return;
    for (size_t i = 0; i < c->n; i++) {
        jptr_destroy(c->c[i].ptr);
        free(c->c[i].eq);
    }
    free(c->c);
    free(c);
}
