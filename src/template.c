#include "template.h"

#include "config.h"
#include "err.h"
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
} tp_kind_t;

typedef struct {
    tp_kind_t kind;
    char *text; /* TP_LIT text, TP_PROP name */
    size_t len;
    size_t cap;  /* TP_CAP index */
    jptr_t *ptr; /* TP_FIELD */
} tpart_t;

struct tmpl {
    char *src;
    tpart_t *parts;
    size_t n;
};

static const struct {
    const char *name;
    tp_kind_t kind;
} builtins[] = {
    {"mqtt.topic", TP_TOPIC},     {"mqtt.qos", TP_QOS},  {"mqtt.retain", TP_RETAIN},
    {"mqtt.dup", TP_DUP},         {"mqtt.content_type", TP_CTYPE}, {"route", TP_ROUTE},
    {"recv.ms", TP_RECV_MS},      {"recv.iso", TP_RECV_ISO},
};
#define NBUILTINS (sizeof(builtins) / sizeof(builtins[0]))

void tmpl_destroy(tmpl_t *t)
{
    if (!t)
        return;
    for (size_t i = 0; i < t->n; i++) {
        free(t->parts[i].text);
        jptr_destroy(t->parts[i].ptr);
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

/* Resolves one placeholder NAME (NUL-terminated) into P. */
static int resolve(tpart_t *p, const char *name, const char *const *captures, size_t ncap,
                   bool allow_fields, char *why, size_t why_size)
{
    if (name[0] == '/' || name[0] == '\0') {
        if (!allow_fields) {
            snprintf(why, why_size, "{%s}: payload fields are not available here (raw payload)",
                     name);
            return MKB_ERR_CONFIG;
        }
        char w[256];
        if (!(p->ptr = jptr_new(name, w, sizeof(w)))) {
            snprintf(why, why_size, "{%s}: %s", name, w);
            return MKB_ERR_CONFIG;
        }
        p->kind = TP_FIELD;
        return MKB_OK;
    }
    for (size_t i = 0; i < ncap; i++) {
        if (strcmp(name, captures[i]) == 0) {
            p->kind = TP_CAP;
            p->cap = i;
            return MKB_OK;
        }
    }
    for (size_t i = 0; i < NBUILTINS; i++) {
        if (strcmp(name, builtins[i].name) == 0) {
            p->kind = builtins[i].kind;
            return MKB_OK;
        }
    }
    if (strncmp(name, "mqtt.prop.", 10) == 0 && name[10]) {
        p->kind = TP_PROP;
        p->len = strlen(name + 10);
        return (p->text = strdup(name + 10)) ? MKB_OK : MKB_ERR_NOMEM;
    }
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

tmpl_t *tmpl_new(const char *text, const char *const *captures, size_t ncap, bool allow_fields,
                 char *why, size_t why_size)
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
        int rc = resolve(p, name, captures, ncap, allow_fields, why, why_size);
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

bool tmpl_is_constant(const tmpl_t *t)
{
    for (size_t i = 0; i < t->n; i++)
        if (t->parts[i].kind != TP_LIT)
            return false;
    return true;
}

const char *tmpl_text(const tmpl_t *t) { return t->src; }

int tmpl_append_json(buf_t *out, json_t *v)
{
    if (json_is_string(v))
        return buf_append(out, json_string_value(v), json_string_length(v));
    if (json_is_integer(v))
        return buf_printf(out, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
    return tmpl_dump_json(out, v);
}

int tmpl_dump_json(buf_t *out, json_t *v)
{
    const size_t flags = JSON_COMPACT | JSON_ENCODE_ANY | JSON_REAL_PRECISION(15);
    /* One pass into the room the buffer has; a second only when it grows. */
    size_t room = out->cap - out->len;
    size_t need = json_dumpb(v, room ? out->p + out->len : NULL, room, flags);
    if (need == 0)
        return MKB_ERR_INVAL;
    if (need > room) {
        if (buf_reserve(out, need) != MKB_OK)
            return MKB_ERR_NOMEM;
        json_dumpb(v, out->p + out->len, need, flags);
    }
    out->len += need;
    return MKB_OK;
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

int tmpl_render(const tmpl_t *t, const tmpl_ctx_t *ctx, buf_t *out, char *why, size_t why_size)
{
    const mqtt_msg_t *m = ctx->msg;
    int rc = MKB_OK;
    for (size_t i = 0; i < t->n && rc == MKB_OK; i++) {
        const tpart_t *p = &t->parts[i];
        switch (p->kind) {
        case TP_LIT: rc = buf_append(out, p->text, p->len); break;
        case TP_CAP:
            rc = buf_append(out, m->topic + ctx->cap_start[p->cap], ctx->cap_len[p->cap]);
            break;
        case TP_TOPIC: rc = buf_append(out, m->topic, m->topic_len); break;
        case TP_QOS: rc = buf_printf(out, "%d", m->qos); break;
        case TP_RETAIN: rc = buf_append_str(out, m->retained ? "true" : "false"); break;
        case TP_DUP: rc = buf_append_str(out, m->dup ? "true" : "false"); break;
        case TP_CTYPE:
            if (m->content_type)
                rc = buf_append(out, m->content_type, m->content_type_len);
            break;
        case TP_PROP:
            for (size_t j = 0; j < m->nprops; j++) {
                if (m->props[j].key_len == p->len && memcmp(m->props[j].key, p->text, p->len) == 0) {
                    rc = buf_append(out, m->props[j].value, m->props[j].value_len);
                    break; /* the first one of that name */
                }
            }
            break;
        case TP_ROUTE: rc = buf_append_str(out, ctx->route); break;
        case TP_RECV_MS: rc = buf_printf(out, "%" PRId64, m->recv_ms); break;
        case TP_RECV_ISO: rc = tmpl_append_iso(out, m->recv_ms); break;
        case TP_FIELD: {
            json_t *v = ctx->input ? jptr_get(p->ptr, ctx->input) : NULL;
            if (!v || json_is_null(v)) {
                snprintf(why, why_size, "template '%s': payload has no value at %s", t->src,
                         jptr_text(p->ptr));
                return MKB_ERR_INVAL;
            }
            rc = tmpl_append_json(out, v);
            break;
        }
        }
    }
    if (rc != MKB_OK)
        snprintf(why, why_size, "template '%s': %s", t->src, mkb_strerror(rc));
    return rc;
}
