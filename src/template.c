// SPDX-FileCopyrightText: 2026 The mqtt-kafka-bridge authors
// SPDX-License-Identifier: Apache-2.0
#include "template.h"

#include "config.h"
#include "err.h"
#include "jdump.h"
#include "jptr.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef enum {
    TP_LIT,
    TP_CAP,
    TP_TOPIC,
    TP_QOS,
    TP_RETAIN,
    TP_DUP,
    TP_CTYPE,
    TP_PROP,
    TP_ROUTE,
    TP_RECV_MS,
    TP_RECV_ISO,
    TP_FIELD,
    TP_ROOT, /* {$/pointer}: the whole message, not the exploded element */
    TP_KEY, /* the downlink's: parts of a Kafka record */
    TP_HEADER,
    TP_KTOPIC,
    TP_PARTITION,
    TP_OFFSET,
} tp_kind_t;

/* A filter after a placeholder's name: {name|lower|default:x}. */
typedef enum { TF_LOWER, TF_UPPER, TF_SLUG, TF_DEFAULT } tf_kind_t;

typedef struct {
    tf_kind_t kind;
    char *text; /* TF_DEFAULT's text */
    size_t len;
} tfilter_t;

typedef struct {
    tp_kind_t kind;
    char *text; /* TP_LIT text, TP_PROP and TP_HEADER name */
    size_t len;
    size_t cap;      /* TP_CAP index */
    jptr_t *ptr;     /* TP_FIELD, TP_ROOT */
    tfilter_t *filt; /* NULL when none: rendering then costs one test */
    size_t nfilt;
    bool has_default; /* a missing value is not an error: default: covers it */
} tpart_t;

struct tmpl {
    char *src;
    tpart_t *parts;
    size_t n;
};

/* Which placeholders a template may use: the uplink's (captures, MQTT
 * metadata) or the downlink's (a Kafka record). */
typedef struct {
    bool record;
    const char *const *captures;
    size_t ncap;
    bool allow_fields;
} dialect_t;

/* A placeholder that is a name alone. */
typedef struct {
    const char *name;
    tp_kind_t kind;
} named_kind_t;

static const named_kind_t builtins[] = {
    {"mqtt.topic", TP_TOPIC},        {"mqtt.qos", TP_QOS},
    {"mqtt.retain", TP_RETAIN},      {"mqtt.dup", TP_DUP},
    {"mqtt.content_type", TP_CTYPE}, {"route", TP_ROUTE},
    {"recv.ms", TP_RECV_MS},         {"recv.iso", TP_RECV_ISO},
};
#define NBUILTINS (sizeof(builtins) / sizeof(builtins[0]))

/* NAME among TABLE[0..N): P gets its kind. */
static bool resolve_plain(tpart_t *p, const char *name, const named_kind_t *table, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (strcmp(name, table[i].name) == 0) {
            p->kind = table[i].kind;
            return true;
        }
    }
    return false;
}

void tmpl_destroy(tmpl_t *t)
{
    if (!t)
        return;
    for (size_t i = 0; i < t->n; i++) {
        free(t->parts[i].text);
        jptr_destroy(t->parts[i].ptr);
        for (size_t j = 0; j < t->parts[i].nfilt; j++)
            free(t->parts[i].filt[j].text);
        free(t->parts[i].filt);
    }
    free(t->parts);
    free(t->src);
    free(t);
}

static tpart_t *add_part(tmpl_t *t, tp_kind_t kind)
{
    tpart_t *p = realloc(t->parts, (t->n + 1) * sizeof(*p));
    if (!p)
        return NULL;
    t->parts = p;
    memset(&p[t->n], 0, sizeof(*p));
    p[t->n].kind = kind;
    return &p[t->n++];
}

/* A {/json/pointer} or {$/json/pointer} placeholder, the same in both
 * directions ($ reads the whole message; the downlink has no explode, so
 * there it is the value itself). */
static int resolve_field(tpart_t *p, const char *name, char *why, size_t why_size)
{
    char w[256];
    if (!(p->ptr = jptr_new(name, w, sizeof(w)))) {
        snprintf(why, why_size, "{%s}: %s", name, w);
        return MKB_ERR_CONFIG;
    }
    p->kind = jptr_is_root(p->ptr) ? TP_ROOT : TP_FIELD;
    return MKB_OK;
}

/* True for a name that is a pointer into the input: "/a", "" or "$/a", "$". */
static bool is_pointer(const char *name)
{
    return name[0] == '/' || name[0] == '\0' || (name[0] == '$' && (name[1] == '/' || !name[1]));
}

/* Writes the JSON pointer spelling of the dotted PATH ("a.b" -> "/a/b"). */
static void dotted_to_pointer(const char *path, char *out, size_t size)
{
    size_t n = 0;
    for (const char *c = path; n + 3 < size; c++) {
        if (c == path || *c == '.')
            out[n++] = '/';
        if (!*c)
            break;
        if (*c == '~' || *c == '/') {
            out[n++] = '~';
            out[n++] = *c == '~' ? '0' : '1';
        } else if (*c != '.') {
            out[n++] = *c;
        }
    }
    out[n] = '\0';
}

int tmpl_pointer_of_dotted(const char *path, char *out, size_t size)
{
    if (size < 4)
        return MKB_ERR_INVAL;
    dotted_to_pointer(path, out, size);
    return MKB_OK;
}

/* A placeholder PREFIX + NAME (a header, an MQTT 5 user property): P gets
 * KIND and the name. MKB_OK or MKB_ERR_NOMEM when NAME has the prefix, else 1. */
static int resolve_named(tpart_t *p, const char *name, const char *prefix, tp_kind_t kind)
{
    size_t n = strlen(prefix);
    if (strncmp(name, prefix, n) != 0 || !name[n])
        return 1;
    p->kind = kind;
    p->len = strlen(name + n);
    return (p->text = strdup(name + n)) ? MKB_OK : MKB_ERR_NOMEM;
}

/* Resolves one placeholder NAME of a Kafka record into P. */
static int resolve_record(tpart_t *p, const char *name, char *why, size_t why_size)
{
    static const named_kind_t rec[] = {
        {"key", TP_KEY}, {"topic", TP_KTOPIC}, {"partition", TP_PARTITION}, {"offset", TP_OFFSET}};
    if (is_pointer(name))
        return resolve_field(p, name, why, why_size);
    if (resolve_plain(p, name, rec, sizeof(rec) / sizeof(rec[0])))
        return MKB_OK;
    int rc = resolve_named(p, name, "header.", TP_HEADER);
    if (rc <= MKB_OK)
        return rc;
    if (strncmp(name, "value.", 6) == 0 && name[6]) {
        char ptr[512];
        dotted_to_pointer(name + 6, ptr, sizeof(ptr));
        snprintf(why, why_size, "{%s} is the old spelling; write {%s}", name, ptr);
        return MKB_ERR_CONFIG;
    }
    const char *names[] = {"key", "topic", "partition", "offset"};
    const char *near = config_nearest(name, names, sizeof(names) / sizeof(names[0]));
    if (near)
        snprintf(why, why_size, "unknown placeholder {%s}; did you mean {%s}?", name, near);
    else
        snprintf(why, why_size,
                 "unknown placeholder {%s}; expected {key}, {header.NAME}, {topic}, "
                 "{partition}, {offset} or a {/json/pointer} into the record's value",
                 name);
    return MKB_ERR_CONFIG;
}

/* Resolves one placeholder NAME (NUL-terminated) into P. */
static int resolve(tpart_t *p, const char *name, const dialect_t *d, char *why, size_t why_size)
{
    if (d->record)
        return resolve_record(p, name, why, why_size);
    const char *const *captures = d->captures;
    size_t ncap = d->ncap;
    if (is_pointer(name)) {
        if (!d->allow_fields) {
            snprintf(why, why_size, "{%s}: payload fields are not available here (raw payload)",
                     name);
            return MKB_ERR_CONFIG;
        }
        return resolve_field(p, name, why, why_size);
    }
    for (size_t i = 0; i < ncap; i++) {
        if (strcmp(name, captures[i]) == 0) {
            p->kind = TP_CAP;
            p->cap = i;
            return MKB_OK;
        }
    }
    if (resolve_plain(p, name, builtins, NBUILTINS))
        return MKB_OK;
    int rc = resolve_named(p, name, "mqtt.prop.", TP_PROP);
    if (rc <= MKB_OK)
        return rc;
    const char *names[64];
    size_t n = 0;
    for (size_t i = 0; i < ncap && n < 48; i++)
        names[n++] = captures[i];
    for (size_t i = 0; i < NBUILTINS; i++)
        names[n++] = builtins[i].name;
    const char *near = config_nearest(name, names, n);
    char caps[256] = "";
    for (size_t i = 0; i < ncap; i++) {
        strncat(caps, i ? ", " : "", sizeof(caps) - strlen(caps) - 1);
        strncat(caps, captures[i], sizeof(caps) - strlen(caps) - 1);
    }
    if (near)
        snprintf(why, why_size, "unknown placeholder {%s}; did you mean {%s}?", name, near);
    else
        snprintf(why, why_size,
                 "unknown placeholder {%s}; expected a capture of the filter (%s), mqtt.topic, "
                 "mqtt.qos, mqtt.retain, mqtt.dup, mqtt.content_type, mqtt.prop.NAME, route, "
                 "recv.ms, recv.iso or a /json/pointer",
                 name, ncap ? caps : "none");
    return MKB_ERR_CONFIG;
}

static const char *const filter_names[] = {"lower", "upper", "slug", "default"};
#define FILTER_LIST "lower, upper, slug, default:TEXT"

/* One filter WORD of placeholder NAME (for messages) into F. */
static int parse_filter(tfilter_t *f, const char *word, const char *name, char *why,
                        size_t why_size)
{
    static const tf_kind_t kinds[] = {TF_LOWER, TF_UPPER, TF_SLUG};
    for (size_t i = 0; i < 3; i++) {
        if (strcmp(word, filter_names[i]) == 0) {
            f->kind = kinds[i];
            return MKB_OK;
        }
    }
    if (strncmp(word, "default:", 8) == 0) {
        f->kind = TF_DEFAULT;
        f->len = strlen(word + 8);
        return (f->text = strdup(word + 8)) ? MKB_OK : MKB_ERR_NOMEM;
    }
    if (strcmp(word, "default") == 0) {
        snprintf(why, why_size, "{%s}: the filter default needs its text: default:TEXT", name);
        return MKB_ERR_CONFIG;
    }
    const char *near = config_nearest(word, filter_names, 4);
    snprintf(why, why_size, "{%s}: unknown filter '%s'%s%s%s (filters: " FILTER_LIST ")", name,
             word, near ? "; did you mean '" : "", near ? near : "", near ? "'?" : "");
    return MKB_ERR_CONFIG;
}

/* The filters SPEC ("lower|default:x", cut in place) of placeholder NAME
 * into P, left to right. */
static int parse_filters(tpart_t *p, char *spec, const char *name, char *why, size_t why_size)
{
    size_t n = 1;
    for (const char *c = spec; *c; c++)
        n += *c == '|';
    if (!(p->filt = calloc(n, sizeof(*p->filt))))
        return MKB_ERR_NOMEM;
    for (char *word = spec; word; p->nfilt++) {
        char *bar = strchr(word, '|');
        if (bar)
            *bar = '\0';
        int rc = parse_filter(&p->filt[p->nfilt], word, name, why, why_size);
        if (rc != MKB_OK)
            return rc;
        p->has_default |= p->filt[p->nfilt].kind == TF_DEFAULT;
        word = bar ? bar + 1 : NULL;
    }
    return MKB_OK;
}

/* Resolves placeholder TEXT ("name|filter|...", cut in place) into P. */
static int resolve_placeholder(tpart_t *p, char *text, const dialect_t *d, char *why,
                               size_t why_size)
{
    char full[512];
    snprintf(full, sizeof(full), "%s", text);
    char *bar = strchr(text, '|');
    if (bar)
        *bar = '\0';
    int rc = resolve(p, text, d, why, why_size);
    if (rc == MKB_OK && bar)
        rc = parse_filters(p, bar + 1, full, why, why_size);
    return rc;
}

static tmpl_t *compile(const char *text, const dialect_t *d, char *why, size_t why_size)
{
    tmpl_t *t = calloc(1, sizeof(*t));
    char lit[4096];
    size_t nlit = 0;
    if (!t || !(t->src = strdup(text)))
        goto nomem;
    for (const char *c = text;; c++) {
        bool brace = (*c == '{' || *c == '}') && c[1] == *c;
        if (*c && *c != '{' && !(*c == '}' && !brace)) {
            if (nlit == sizeof(lit)) {
                snprintf(why, why_size, "template longer than %zu bytes", sizeof(lit));
                goto fail;
            }
            lit[nlit++] = *c;
            if (brace)
                c++;
            continue;
        }
        if (*c == '{' && brace) {
            if (nlit == sizeof(lit)) {
                snprintf(why, why_size, "template longer than %zu bytes", sizeof(lit));
                goto fail;
            }
            lit[nlit++] = '{';
            c++;
            continue;
        }
        if (*c == '}') {
            snprintf(why, why_size, "unmatched '}' at column %zu (write }} for a literal brace)",
                     (size_t)(c - text) + 1);
            goto fail;
        }
        if (nlit) { /* flush the literal before a placeholder or the end */
            tpart_t *p = add_part(t, TP_LIT);
            if (!p || !(p->text = malloc(nlit)))
                goto nomem;
            memcpy(p->text, lit, nlit);
            p->len = nlit;
            nlit = 0;
        }
        if (!*c)
            break;
        const char *end = strchr(c, '}');
        if (!end) {
            snprintf(why, why_size, "unterminated '{' at column %zu", (size_t)(c - text) + 1);
            goto fail;
        }
        char name[512];
        size_t nl = (size_t)(end - c - 1);
        if (nl >= sizeof(name) || memchr(c + 1, '{', nl)) {
            snprintf(why, why_size, "bad placeholder at column %zu", (size_t)(c - text) + 1);
            goto fail;
        }
        memcpy(name, c + 1, nl);
        name[nl] = '\0';
        tpart_t *p = add_part(t, TP_LIT);
        if (!p)
            goto nomem;
        int rc = resolve_placeholder(p, name, d, why, why_size);
        if (rc == MKB_ERR_NOMEM)
            goto nomem;
        if (rc != MKB_OK)
            goto fail;
        c = end;
    }
    return t;
nomem:
    snprintf(why, why_size, "out of memory");
fail:
    tmpl_destroy(t);
    return NULL;
}

tmpl_t *tmpl_new(const char *text, const char *const *captures, size_t ncap, bool allow_fields,
                 char *why, size_t why_size)
{
    dialect_t d = {false, captures, ncap, allow_fields};
    return compile(text, &d, why, why_size);
}

tmpl_t *tmpl_new_record(const char *text, char *why, size_t why_size)
{
    dialect_t d = {true, NULL, 0, true};
    return compile(text, &d, why, why_size);
}

bool tmpl_uses_fields(const tmpl_t *t)
{
    for (size_t i = 0; i < t->n; i++)
        if (t->parts[i].kind == TP_FIELD || t->parts[i].kind == TP_ROOT)
            return true;
    return false;
}

bool tmpl_is_constant(const tmpl_t *t)
{
    for (size_t i = 0; i < t->n; i++)
        if (t->parts[i].kind != TP_LIT)
            return false;
    return true;
}

const char *tmpl_text(const tmpl_t *t)
{
    return t->src;
}


int tmpl_append_json(buf_t *out, json_t *v)
{
    if (json_is_string(v))
        return buf_append(out, json_string_value(v), json_string_length(v));
    if (json_is_integer(v))
        return buf_printf(out, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
    return tmpl_dump_json(out, v);
}

/* The significant digits (15 to 17) every real in V needs to read back as
 * the same double: 15 unless one needs more. */
static int real_digits(json_t *v, int digits)
{
    if (json_is_real(v)) {
        double d = json_real_value(v);
        char text[40];
        while (digits < 17) {
            snprintf(text, sizeof(text), "%.*g", digits, d);
            if (strtod(text, NULL) == d)
                break;
            digits++;
        }
    } else if (json_is_object(v)) {
        const char *k;
        json_t *e;
        json_object_foreach(v, k, e)
        {
            digits = real_digits(e, digits);
        }
    } else if (json_is_array(v)) {
        size_t i;
        json_t *e;
        json_array_foreach(v, i, e)
        {
            digits = real_digits(e, digits);
        }
    }
    return digits;
}

int tmpl_dump_json_exact(buf_t *out, json_t *v)
{
    return jdump_append(out, v, real_digits(v, 15));
}

int tmpl_dump_json(buf_t *out, json_t *v)
{
    return jdump_append(out, v, 15);
}

static char *put2(char *p, int v)
{
    p[0] = (char)('0' + v / 10);
    p[1] = (char)('0' + v % 10);
    return p + 2;
}

int tmpl_append_iso(buf_t *out, int64_t ms)
{
    time_t s = (time_t)(ms >= 0 ? ms / 1000 : (ms - 999) / 1000);
    int frac = (int)(ms - (int64_t)s * 1000);
    struct tm tm;
    if (!gmtime_r(&s, &tm) || tm.tm_year + 1900 > 9999 || tm.tm_year + 1900 < 0)
        return MKB_ERR_INVAL;
    if (buf_reserve(out, 24) != MKB_OK)
        return MKB_ERR_NOMEM;
    /* 2026-11-28T10:00:00.123Z, without printf: this runs per record. */
    char *p = out->p + out->len;
    int y = tm.tm_year + 1900;
    p = put2(p, y / 100);
    p = put2(p, y % 100);
    *p++ = '-';
    p = put2(p, tm.tm_mon + 1);
    *p++ = '-';
    p = put2(p, tm.tm_mday);
    *p++ = 'T';
    p = put2(p, tm.tm_hour);
    *p++ = ':';
    p = put2(p, tm.tm_min);
    *p++ = ':';
    p = put2(p, tm.tm_sec);
    *p++ = '.';
    *p++ = (char)('0' + frac / 100);
    p = put2(p, frac % 100);
    *p++ = 'Z';
    out->len += 24;
    return MKB_OK;
}

/* Appends a part of the Kafka record (downlink templates). */
static int render_record(const tpart_t *p, const tmpl_record_t *rec, buf_t *out, char *why,
                         size_t why_size)
{
    if (!rec) { /* a downlink template rendered with tmpl_render */
        snprintf(why, why_size, "no Kafka record to render");
        return MKB_ERR_INVAL;
    }
    switch (p->kind) {
    case TP_KEY:
        if (!rec->key) {
            snprintf(why, why_size, "the record has no key for {key}");
            return MKB_ERR_INVAL;
        }
        return buf_append(out, rec->key, rec->key_len);
    case TP_HEADER: {
        const void *val = NULL;
        size_t len = 0;
        if (!rec->header || !rec->header(rec->opaque, p->text, &val, &len) || !val) {
            snprintf(why, why_size, "the record has no header '%s'", p->text);
            return MKB_ERR_INVAL;
        }
        return buf_append(out, val, len);
    }
    case TP_KTOPIC: return buf_append_str(out, rec->topic);
    case TP_PARTITION: return buf_printf(out, "%d", (int)rec->partition);
    case TP_OFFSET: return buf_printf(out, "%" PRId64, rec->offset);
    default: return MKB_ERR_INVAL;
    }
}

/* A value that went into an MQTT topic (OUT from START on) must stay within
 * its level. */
static int check_level(const buf_t *out, size_t start, char *why, size_t why_size)
{
    for (size_t k = start; k < out->len; k++) {
        char ch = out->p[k];
        if (ch == '/' || ch == '+' || ch == '#' || ch == '\0') {
            snprintf(why, why_size,
                     "a value put into the MQTT topic has a '%s' (only whole levels may "
                     "come from the record)",
                     ch == '\0'  ? "NUL"
                     : ch == '/' ? "/"
                     : ch == '+' ? "+"
                                 : "#");
            return MKB_ERR_INVAL;
        }
    }
    return MKB_OK;
}

/* Appends the uplink's MQTT metadata part P. */
static int render_mqtt(const tpart_t *p, const tmpl_ctx_t *ctx, buf_t *out)
{
    const mqtt_msg_t *m = ctx->msg;
    int rc = MKB_OK;
    if (!m) /* an uplink template rendered with tmpl_render_record */
        return MKB_ERR_INVAL;
    switch (p->kind) {
    case TP_CAP: return buf_append(out, m->topic + ctx->cap_start[p->cap], ctx->cap_len[p->cap]);
    case TP_TOPIC: return buf_append(out, m->topic, m->topic_len);
    case TP_QOS: return buf_printf(out, "%d", m->qos);
    case TP_RETAIN: return buf_append_str(out, m->retained ? "true" : "false");
    case TP_DUP: return buf_append_str(out, m->dup ? "true" : "false");
    case TP_CTYPE:
        return m->content_type ? buf_append(out, m->content_type, m->content_type_len) : MKB_OK;
    case TP_PROP:
        for (size_t j = 0; j < m->nprops; j++)
            if (m->props[j].key_len == p->len && memcmp(m->props[j].key, p->text, p->len) == 0)
                return buf_append(out, m->props[j].value, m->props[j].value_len); /* the first */
        return rc;
    case TP_ROUTE: return buf_append_str(out, ctx->route);
    case TP_RECV_MS: return buf_printf(out, "%" PRId64, m->recv_ms);
    case TP_RECV_ISO: return tmpl_append_iso(out, m->recv_ms);
    default: return MKB_ERR_INVAL;
    }
}

/* Runs P's filters over the value OUT holds from START on, in place. */
static int apply_filters(const tpart_t *p, buf_t *out, size_t start)
{
    for (size_t j = 0; j < p->nfilt; j++) {
        const tfilter_t *f = &p->filt[j];
        if (out->len == start) { /* empty (and out->p may still be NULL) */
            int rc = f->kind == TF_DEFAULT ? buf_append(out, f->text, f->len) : MKB_OK;
            if (rc != MKB_OK)
                return rc;
            continue;
        }
        char *c = out->p + start, *end = out->p + out->len;
        switch (f->kind) {
        case TF_LOWER: /* ASCII only: bytes of multibyte UTF-8 are >= 0x80 and stay */
            for (; c < end; c++)
                if (*c >= 'A' && *c <= 'Z')
                    *c = (char)(*c - 'A' + 'a');
            break;
        case TF_UPPER:
            for (; c < end; c++)
                if (*c >= 'a' && *c <= 'z')
                    *c = (char)(*c - 'a' + 'A');
            break;
        case TF_SLUG: /* what a Kafka topic name may hold */
            for (; c < end; c++)
                if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') ||
                      (*c >= '0' && *c <= '9') || *c == '.' || *c == '_' || *c == '-'))
                    *c = '_';
            break;
        case TF_DEFAULT: break; /* the value is not empty */
        }
    }
    return MKB_OK;
}

/* Appends the value of a {/pointer} or {$/pointer} part; a missing one is
 * empty when P has a default, else an error. WHY is set on any error. */
static int render_field(const tmpl_t *t, const tpart_t *p, const tmpl_ctx_t *ctx, bool record,
                        buf_t *out, char *why, size_t why_size)
{
    json_t *in = p->kind == TP_ROOT && ctx->root ? ctx->root : ctx->input;
    json_t *v = in ? jptr_get(p->ptr, in) : NULL;
    if (v && !json_is_null(v)) {
        int rc = tmpl_append_json(out, v);
        if (rc != MKB_OK)
            snprintf(why, why_size, "template '%s': %s", t->src, mkb_strerror(rc));
        return rc;
    }
    if (p->has_default)
        return MKB_OK;
    snprintf(why, why_size, "template '%s': %s at %s", t->src,
             record ? "the record's value has no field" : "payload has no value",
             jptr_text(p->ptr));
    return MKB_ERR_INVAL;
}

/* Renders T against CTX (uplink) or REC (downlink), the JSON input being
 * CTX->input. */
static int render(const tmpl_t *t, const tmpl_ctx_t *ctx, const tmpl_record_t *rec,
                  bool topic_levels, buf_t *out, char *why, size_t why_size)
{
    int rc = MKB_OK;
    for (size_t i = 0; i < t->n && rc == MKB_OK; i++) {
        const tpart_t *p = &t->parts[i];
        size_t start = out->len;
        switch (p->kind) {
        case TP_LIT: rc = buf_append(out, p->text, p->len); continue;
        case TP_FIELD:
        case TP_ROOT:
            if ((rc = render_field(t, p, ctx, rec != NULL, out, why, why_size)) != MKB_OK)
                return rc; /* WHY set */
            break;
        case TP_KEY:
        case TP_HEADER:
        case TP_KTOPIC:
        case TP_PARTITION:
        case TP_OFFSET:
            rc = render_record(p, rec, out, why, why_size);
            if (rc == MKB_ERR_INVAL && p->has_default) { /* a missing key or header */
                out->len = start;
                rc = MKB_OK;
            }
            if (rc == MKB_ERR_INVAL)
                return rc;
            break;
        default: rc = render_mqtt(p, ctx, out); break;
        }
        if (p->filt && rc == MKB_OK)
            rc = apply_filters(p, out, start);
        if (rc == MKB_OK && topic_levels && (rc = check_level(out, start, why, why_size)) != MKB_OK)
            return rc;
    }
    if (rc != MKB_OK)
        snprintf(why, why_size, "template '%s': %s", t->src, mkb_strerror(rc));
    return rc;
}

int tmpl_render(const tmpl_t *t, const tmpl_ctx_t *ctx, buf_t *out, char *why, size_t why_size)
{
    return render(t, ctx, NULL, false, out, why, why_size);
}

int tmpl_render_record(const tmpl_t *t, const tmpl_record_t *rec, json_t *value, bool topic_levels,
                       buf_t *out, char *why, size_t why_size)
{
    tmpl_ctx_t ctx = {.input = value};
    int rc = render(t, &ctx, rec, topic_levels, out, why, why_size);
    return rc != MKB_OK ? rc : buf_terminate(out);
}
