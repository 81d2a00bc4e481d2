// SPDX-FileCopyrightText: 2026 The mqtt-kafka-bridge authors
// SPDX-License-Identifier: Apache-2.0
/* Sparkplug B: topics, datatypes, and payloads decoded into JSON (the
 * layout is spb.h's). The protobuf is read by protobuf-c's generated
 * code (build/gen/sparkplug_b.pb-c.c); this file only maps its structs. */
#include "sparkplug_b.pb-c.h"

#include "spb.h"

#include "err.h"

#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const char *const type_names[] = {
    [SPB_NBIRTH] = "NBIRTH", [SPB_NDEATH] = "NDEATH", [SPB_DBIRTH] = "DBIRTH",
    [SPB_DDEATH] = "DDEATH", [SPB_NDATA] = "NDATA",   [SPB_DDATA] = "DDATA",
    [SPB_NCMD] = "NCMD",     [SPB_DCMD] = "DCMD",     [SPB_STATE] = "STATE",
};
#define N_TYPES (sizeof(type_names) / sizeof(type_names[0]))

/* Indexed by the Sparkplug DataType enum (specification, section 6.4.16). */
static const char *const dt_names[] = {
    "Unknown",       "Int8",
    "Int16",         "Int32",
    "Int64",         "UInt8",
    "UInt16",        "UInt32",
    "UInt64",        "Float",
    "Double",        "Boolean",
    "String",        "DateTime",
    "Text",          "UUID",
    "DataSet",       "Bytes",
    "File",          "Template",
    "PropertySet",   "PropertySetList",
    "Int8Array",     "Int16Array",
    "Int32Array",    "Int64Array",
    "UInt8Array",    "UInt16Array",
    "UInt32Array",   "UInt64Array",
    "FloatArray",    "DoubleArray",
    "BooleanArray",  "StringArray",
    "DateTimeArray",
};
#define N_DT (sizeof(dt_names) / sizeof(dt_names[0]))

const char *spb_type_name(spb_type_t t)
{
    return (unsigned)t < N_TYPES ? type_names[t] : NULL;
}

const char *spb_datatype_name(uint32_t dt)
{
    return dt < N_DT ? dt_names[dt] : NULL;
}

int spb_datatype_of(const char *name)
{
    if (!name)
        return -1;
    for (size_t i = 0; i < N_DT; i++)
        if (strcmp(dt_names[i], name) == 0)
            return (int)i;
    return -1;
}

static void why_set(char *why, size_t size, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void why_set(char *why, size_t size, const char *fmt, ...)
{
    if (!why || size == 0)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, size, fmt, ap);
    va_end(ap);
}

/* The topic's levels ('/'-separated, at most MAX; more is reported as MAX+1). */
#define TOPIC_MAX_LEVELS 5
typedef struct {
    const char *p[TOPIC_MAX_LEVELS];
    size_t len[TOPIC_MAX_LEVELS];
    size_t n;
} levels_t;

static void split_levels(const char *topic, size_t len, levels_t *lv)
{
    size_t start = 0;
    lv->n = 0;
    for (size_t i = 0; i <= len; i++) {
        if (i < len && topic[i] != '/')
            continue;
        if (lv->n < TOPIC_MAX_LEVELS) {
            lv->p[lv->n] = topic + start;
            lv->len[lv->n] = i - start;
        }
        lv->n++;
        start = i + 1;
    }
}

static bool level_is(const levels_t *lv, size_t i, const char *s)
{
    return lv->len[i] == strlen(s) && memcmp(lv->p[i], s, lv->len[i]) == 0;
}

/* An identifier level: not empty, no wildcard (specification 4.1.1). */
static bool level_ok(const levels_t *lv, size_t i)
{
    return lv->len[i] > 0 && !memchr(lv->p[i], '+', lv->len[i]) &&
           !memchr(lv->p[i], '#', lv->len[i]);
}

static bool parse_state(const levels_t *lv, spb_topic_t *out, char *why, size_t why_size)
{
    if (lv->n != 3 || !level_ok(lv, 2)) {
        why_set(why, why_size, "a STATE topic is spBv1.0/STATE/<host id>");
        return false;
    }
    *out = (spb_topic_t){.type = SPB_STATE,
                         .group = lv->p[1],
                         .group_len = 0,
                         .node = lv->p[2],
                         .node_len = lv->len[2]};
    return true;
}

bool spb_topic_parse(const char *topic, size_t len, spb_topic_t *out, char *why, size_t why_size)
{
    levels_t lv;
    split_levels(topic, len, &lv);
    if (lv.n < 3 || !level_is(&lv, 0, "spBv1.0")) {
        why_set(why, why_size, "not a Sparkplug B topic (spBv1.0/<group>/<type>/<edge node>...)");
        return false;
    }
    if (level_is(&lv, 1, "STATE"))
        return parse_state(&lv, out, why, why_size);
    size_t t = 0;
    while (t < SPB_STATE && !level_is(&lv, 2, type_names[t]))
        t++;
    if (t == SPB_STATE) {
        why_set(why, why_size, "'%.*s' is not a Sparkplug B message type", (int)lv.len[2], lv.p[2]);
        return false;
    }
    bool device = t == SPB_DBIRTH || t == SPB_DDEATH || t == SPB_DDATA || t == SPB_DCMD;
    if (lv.n != (device ? 5u : 4u)) {
        why_set(why, why_size, "a %s topic is spBv1.0/<group>/%s/<edge node>%s", type_names[t],
                type_names[t], device ? "/<device>" : "");
        return false;
    }
    if (!level_ok(&lv, 1) || !level_ok(&lv, 3) || (device && !level_ok(&lv, 4))) {
        why_set(why, why_size, "empty or wildcard group, edge node or device in a Sparkplug topic");
        return false;
    }
    *out = (spb_topic_t){.type = (spb_type_t)t,
                         .group = lv.p[1],
                         .group_len = lv.len[1],
                         .node = lv.p[3],
                         .node_len = lv.len[3]};
    if (device) {
        out->device = lv.p[4];
        out->device_len = lv.len[4];
    }
    return true;
}

/* ---- Decoding ---------------------------------------------------------- */

typedef Org__Eclipse__Tahu__Protobuf__Payload pb_payload_t;
typedef Org__Eclipse__Tahu__Protobuf__Payload__Metric pb_metric_t;
typedef Org__Eclipse__Tahu__Protobuf__Payload__DataSet pb_dataset_t;
typedef Org__Eclipse__Tahu__Protobuf__Payload__Template pb_template_t;
typedef Org__Eclipse__Tahu__Protobuf__Payload__PropertySet pb_pset_t;
typedef Org__Eclipse__Tahu__Protobuf__Payload__PropertySetList pb_psetlist_t;
typedef Org__Eclipse__Tahu__Protobuf__Payload__PropertyValue pb_pvalue_t;
typedef Org__Eclipse__Tahu__Protobuf__Payload__MetaData pb_metadata_t;


/* The value fields of the protobuf's oneofs (Metric, DataSetValue,
 * PropertyValue, Template.Parameter all carry a subset), as one struct. */
typedef enum {
    F_NONE,
    F_INT,
    F_LONG,
    F_FLOAT,
    F_DOUBLE,
    F_BOOL,
    F_STRING,
    F_BYTES,
    F_DATASET,
    F_TEMPLATE,
    F_PSET,
    F_PSETLIST,
    F_EXT
} field_t;

static const char *const field_names[] = {
    [F_NONE] = "no field",          [F_INT] = "int_value",
    [F_LONG] = "long_value",        [F_FLOAT] = "float_value",
    [F_DOUBLE] = "double_value",    [F_BOOL] = "boolean_value",
    [F_STRING] = "string_value",    [F_BYTES] = "bytes_value",
    [F_DATASET] = "dataset_value",  [F_TEMPLATE] = "template_value",
    [F_PSET] = "propertyset_value", [F_PSETLIST] = "propertysets_value",
    [F_EXT] = "extension_value",
};

typedef struct {
    field_t f;
    bool is_null;
    uint64_t u; /* F_INT, F_LONG, F_BOOL */
    float fl;
    double d;
    const char *s;
    const uint8_t *bytes;
    size_t n;
    const void *msg; /* F_DATASET, F_TEMPLATE, F_PSET, F_PSETLIST */
} pval_t;

/* One decode: where errors go and what names them. Nesting is bounded
 * (templates in templates, property sets in property sets). */
#define MAX_DEPTH 16
typedef struct {
    const spb_topic_t *t;
    const spb_decode_opts_t *opts;
    /* The metric being decoded, named in errors (formatted only then). */
    size_t index;
    const char *name;
    bool has_alias;
    uint64_t alias;
    int depth;
    char *why;
    size_t why_size;
} dctx_t;

/* "metric 'x' (alias 3)", "metric 'x'", "metric with alias 3", "metric 2". */
static int label(const dctx_t *c, char *out, size_t size)
{
    if (c->name && c->has_alias)
        return snprintf(out, size, "metric '%s' (alias %" PRIu64 ")", c->name, c->alias);
    if (c->name)
        return snprintf(out, size, "metric '%s'", c->name);
    if (c->has_alias)
        return snprintf(out, size, "metric with alias %" PRIu64, c->alias);
    return snprintf(out, size, "metric %zu", c->index);
}

static int bad(dctx_t *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int bad(dctx_t *c, const char *fmt, ...)
{
    if (c->why && c->why_size) {
        int n = label(c, c->why, c->why_size);
        if (n >= 0 && (size_t)n + 2 < c->why_size) {
            memcpy(c->why + n, ": ", 3);
            n += 2;
            va_list ap;
            va_start(ap, fmt);
            vsnprintf(c->why + n, c->why_size - (size_t)n, fmt, ap);
            va_end(ap);
        }
    }
    return MKB_ERR_INVAL;
}

static int value_json(dctx_t *c, uint32_t dt, const pval_t *v, json_t **out);

/* Sets K in O to V (taking V); NOMEM when V is NULL or the set fails. */
static int put(json_t *o, const char *k, json_t *v)
{
    if (!v)
        return MKB_ERR_NOMEM;
    return json_object_set_new(o, k, v) == 0 ? MKB_OK : MKB_ERR_NOMEM;
}

/* put() with a key from the payload: jansson refuses a key that is not
 * UTF-8 (protobuf-c does not check), which is the payload's fault. */
static int put_key(dctx_t *c, json_t *o, const char *k, json_t *v)
{
    if (!v)
        return MKB_ERR_NOMEM;
    if (json_object_set_new(o, k, v) == 0)
        return MKB_OK;
    json_t *probe = json_string(k);
    if (probe) {
        json_decref(probe);
        return MKB_ERR_NOMEM;
    }
    return bad(c, "a name that is not valid UTF-8");
}

static int append(json_t *a, json_t *v)
{
    if (!v)
        return MKB_ERR_NOMEM;
    return json_array_append_new(a, v) == 0 ? MKB_OK : MKB_ERR_NOMEM;
}

/* jansson has no uint64: above INT64_MAX, a decimal string. */
static json_t *ju64(uint64_t v)
{
    if (v <= (uint64_t)INT64_MAX)
        return json_integer((json_int_t)v);
    char s[24];
    snprintf(s, sizeof(s), "%" PRIu64, v);
    return json_string(s);
}

static const char b64_alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/* RFC 4648 base64, padded. */
static json_t *jbase64(const uint8_t *p, size_t n)
{
    const char pad = '=';
    size_t olen = (n + 2) / 3 * 4;
    char *o = malloc(olen + 1);
    if (!o)
        return NULL;
    size_t j = 0;
    for (size_t i = 0; i < n; i += 3) {
        uint32_t w = (uint32_t)p[i] << 16;
        if (i + 1 < n)
            w |= (uint32_t)p[i + 1] << 8;
        if (i + 2 < n)
            w |= p[i + 2];
        o[j++] = b64_alphabet[(w >> 18) & 63];
        o[j++] = b64_alphabet[(w >> 12) & 63];
        o[j++] = pad;
        o[j++] = pad;
        if (i + 1 < n)
            o[j - 2] = b64_alphabet[(w >> 6) & 63];
        if (i + 2 < n)
            o[j - 1] = b64_alphabet[w & 63];
    }
    json_t *s = json_stringn(o, j);
    free(o);
    return s;
}

/* A protobuf string into JSON: protobuf-c does not check UTF-8, jansson does. */
static int jstring(dctx_t *c, const char *s, size_t n, json_t **out)
{
    *out = json_stringn(s, n);
    return *out ? MKB_OK : bad(c, "a string that is not valid UTF-8");
}

static int put_str(dctx_t *c, json_t *o, const char *k, const char *s)
{
    json_t *j = NULL;
    int rc = jstring(c, s, strlen(s), &j);
    return rc ? rc : put(o, k, j);
}

/* Epoch milliseconds as ISO 8601 UTC with milliseconds; false when the
 * year is outside 0..9999. */
static bool iso_ms(uint64_t ms, char out[64])
{
    if (ms / 1000 > (uint64_t)253402300799) /* 9999-12-31T23:59:59Z */
        return false;
    time_t secs = (time_t)(ms / 1000);
    struct tm tm;
    if (!gmtime_r(&secs, &tm))
        return false;
    snprintf(out, 64, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1,
             tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (int)(ms % 1000));
    return true;
}

static int jdatetime(dctx_t *c, uint64_t ms, json_t **out)
{
    char iso[64];
    if (!iso_ms(ms, iso))
        return bad(c, "DateTime %" PRIu64 " ms is out of range", ms);
    *out = json_string(iso);
    return *out ? MKB_OK : MKB_ERR_NOMEM;
}

/* NaN and the infinities have no JSON number: strings. */
static json_t *jspecial(double d)
{
    if (isnan(d))
        return json_string("NaN");
    return json_string(d > 0 ? "Infinity" : "-Infinity");
}

static json_t *jdouble(double d)
{
    return isfinite(d) ? json_real(d) : jspecial(d);
}

/* The shortest decimal that reads back as the same float, as a double
 * (0.1f is 0.1, not 0.10000000149011612). */
static json_t *jfloat(float f)
{
    if (!isfinite(f))
        return jspecial(f);
    char s[32];
    for (int prec = 1; prec <= 9; prec++) {
        snprintf(s, sizeof(s), "%.*g", prec, (double)f);
        if (strtof(s, NULL) == f)
            break;
    }
    return json_real(strtod(s, NULL));
}

/* Int8/Int16/Int32: the low BITS bits, sign-extended (both encodings in
 * the wild, value + 2^bits and two's complement in 32 or 64 bits, agree
 * there). */
static json_int_t sign_extend(uint64_t v, int bits)
{
    if (bits <= 0 || bits >= 64)
        return (json_int_t)v;
    uint64_t m = (uint64_t)1 << (bits - 1);
    v &= (m << 1) - 1;
    return (json_int_t)((v ^ m) - m);
}

static int bits_of(uint32_t dt)
{
    return dt == SPB_DT_INT8 ? 8 : dt == SPB_DT_INT16 ? 16 : 32;
}

/* The field a datatype's value is in (specification 6.4.16-6.4.17);
 * integers up to 32 bits are accepted in either integer field. */
static bool field_fits(uint32_t dt, field_t f)
{
    switch (dt) {
    case SPB_DT_INT8:
    case SPB_DT_INT16:
    case SPB_DT_INT32:
    case SPB_DT_UINT8:
    case SPB_DT_UINT16:
    case SPB_DT_UINT32: return f == F_INT || f == F_LONG;
    case SPB_DT_INT64:
    case SPB_DT_UINT64:
    case SPB_DT_DATETIME: return f == F_LONG;
    case SPB_DT_FLOAT: return f == F_FLOAT;
    case SPB_DT_DOUBLE: return f == F_DOUBLE;
    case SPB_DT_BOOLEAN: return f == F_BOOL;
    case SPB_DT_STRING:
    case SPB_DT_TEXT:
    case SPB_DT_UUID: return f == F_STRING;
    case SPB_DT_DATASET: return f == F_DATASET;
    case SPB_DT_TEMPLATE: return f == F_TEMPLATE;
    case SPB_DT_PROPERTYSET: return f == F_PSET;
    case SPB_DT_PROPERTYSETLIST: return f == F_PSETLIST;
    default: /* Bytes, File, the arrays */ return f == F_BYTES;
    }
}

static int scalar_json(dctx_t *c, uint32_t dt, const pval_t *v, json_t **out)
{
    switch (dt) {
    case SPB_DT_INT8:
    case SPB_DT_INT16:
    case SPB_DT_INT32: *out = json_integer(sign_extend(v->u, bits_of(dt))); break;
    case SPB_DT_UINT8:
    case SPB_DT_UINT16:
    case SPB_DT_UINT32:
    case SPB_DT_UINT64: *out = ju64(v->u); break;
    case SPB_DT_INT64: *out = json_integer((json_int_t)v->u); break;
    case SPB_DT_FLOAT: *out = jfloat(v->fl); break;
    case SPB_DT_DOUBLE: *out = jdouble(v->d); break;
    case SPB_DT_BOOLEAN: *out = json_boolean(v->u != 0); break;
    case SPB_DT_DATETIME: return jdatetime(c, v->u, out);
    case SPB_DT_STRING:
    case SPB_DT_TEXT:
    case SPB_DT_UUID: return jstring(c, v->s, strlen(v->s), out);
    default: /* Bytes, File */ *out = jbase64(v->bytes, v->n); break;
    }
    return *out ? MKB_OK : MKB_ERR_NOMEM;
}

/* Little-endian unsigned integer of N bytes at P. */
static uint64_t le(const uint8_t *p, size_t n)
{
    uint64_t v = 0;
    for (size_t i = n; i-- > 0;)
        v = v << 8 | p[i];
    return v;
}

static size_t elem_size(uint32_t dt)
{
    static const uint8_t size[] = {
        [SPB_DT_INT8_ARRAY] = 1,  [SPB_DT_INT16_ARRAY] = 2,  [SPB_DT_INT32_ARRAY] = 4,    [SPB_DT_INT64_ARRAY] = 8,
        [SPB_DT_UINT8_ARRAY] = 1, [SPB_DT_UINT16_ARRAY] = 2, [SPB_DT_UINT32_ARRAY] = 4,   [SPB_DT_UINT64_ARRAY] = 8,
        [SPB_DT_FLOAT_ARRAY] = 4, [SPB_DT_DOUBLE_ARRAY] = 8, [SPB_DT_DATETIME_ARRAY] = 8,
    };
    return size[dt];
}

static int array_elem(dctx_t *c, uint32_t dt, const uint8_t *p, json_t **out)
{
    size_t w = elem_size(dt);
    uint64_t u = le(p, w);
    switch (dt) {
    case SPB_DT_INT8_ARRAY:
    case SPB_DT_INT16_ARRAY:
    case SPB_DT_INT32_ARRAY:
    case SPB_DT_INT64_ARRAY:
        *out = json_integer(w == 8 ? (json_int_t)u : sign_extend(u, (int)w * 8));
        break;
    case SPB_DT_FLOAT_ARRAY: {
        float f;
        uint32_t u32 = (uint32_t)u;
        memcpy(&f, &u32, sizeof(f));
        *out = jfloat(f);
        break;
    }
    case SPB_DT_DOUBLE_ARRAY: {
        double d;
        memcpy(&d, &u, sizeof(d));
        *out = jdouble(d);
        break;
    }
    case SPB_DT_DATETIME_ARRAY: return jdatetime(c, u, out);
    default: /* unsigned */ *out = ju64(u); break;
    }
    return *out ? MKB_OK : MKB_ERR_NOMEM;
}

/* Int8Array .. DoubleArray, DateTimeArray: packed little-endian. */
static int fixed_array(dctx_t *c, uint32_t dt, const uint8_t *p, size_t n, json_t *a)
{
    size_t w = elem_size(dt);
    if (n % w != 0)
        return bad(c, "%s of %zu bytes (not a multiple of %zu)", dt_names[dt], n, w);
    for (size_t i = 0; i < n; i += w) {
        json_t *e = NULL;
        int rc = array_elem(c, dt, p + i, &e);
        if (rc == MKB_OK)
            rc = append(a, e);
        if (rc != MKB_OK)
            return rc;
    }
    return MKB_OK;
}

/* BooleanArray: a 4-byte little-endian count, then the bits, MSB first. */
static int bool_array(dctx_t *c, const uint8_t *p, size_t n, json_t *a)
{
    if (n < 4)
        return bad(c, "BooleanArray of %zu bytes (no 4-byte count)", n);
    uint64_t count = le(p, 4);
    if ((count + 7) / 8 != n - 4)
        return bad(c, "BooleanArray of %" PRIu64 " values in %zu bytes (%" PRIu64 " expected)",
                   count, n, 4 + (count + 7) / 8);
    for (uint64_t i = 0; i < count; i++)
        if (append(a, json_boolean(p[4 + i / 8] & (0x80 >> (i % 8)))) != MKB_OK)
            return MKB_ERR_NOMEM;
    return MKB_OK;
}

/* StringArray: NUL-terminated UTF-8 strings (a last one without its NUL
 * is taken too). */
static int string_array(dctx_t *c, const uint8_t *p, size_t n, json_t *a)
{
    size_t i = 0;
    while (i < n) {
        const uint8_t *nul = memchr(p + i, '\0', n - i);
        size_t end = nul ? (size_t)(nul - p) : n;
        json_t *s = NULL;
        int rc = jstring(c, (const char *)p + i, end - i, &s);
        if (rc == MKB_OK)
            rc = append(a, s);
        if (rc != MKB_OK)
            return rc;
        i = end + 1;
    }
    return MKB_OK;
}

static int array_json(dctx_t *c, uint32_t dt, const pval_t *v, json_t **out)
{
    json_t *a = json_array();
    if (!a)
        return MKB_ERR_NOMEM;
    int rc = dt == SPB_DT_BOOLEAN_ARRAY  ? bool_array(c, v->bytes, v->n, a)
             : dt == SPB_DT_STRING_ARRAY ? string_array(c, v->bytes, v->n, a)
                                     : fixed_array(c, dt, v->bytes, v->n, a);
    if (rc != MKB_OK) {
        json_decref(a);
        return rc;
    }
    *out = a;
    return MKB_OK;
}

/* The oneof of each message into a pval_t. */
static pval_t pval_dataset(const Org__Eclipse__Tahu__Protobuf__Payload__DataSet__DataSetValue *e)
{
    pval_t v = {.f = F_NONE};
    switch (e->value_case) {
    case ORG__ECLIPSE__TAHU__PROTOBUF__PAYLOAD__DATA_SET__DATA_SET_VALUE__VALUE_INT_VALUE:
        v = (pval_t){.f = F_INT, .u = e->int_value};
        break;
    case ORG__ECLIPSE__TAHU__PROTOBUF__PAYLOAD__DATA_SET__DATA_SET_VALUE__VALUE_LONG_VALUE:
        v = (pval_t){.f = F_LONG, .u = e->long_value};
        break;
    case ORG__ECLIPSE__TAHU__PROTOBUF__PAYLOAD__DATA_SET__DATA_SET_VALUE__VALUE_FLOAT_VALUE:
        v = (pval_t){.f = F_FLOAT, .fl = e->float_value};
        break;
    case ORG__ECLIPSE__TAHU__PROTOBUF__PAYLOAD__DATA_SET__DATA_SET_VALUE__VALUE_DOUBLE_VALUE:
        v = (pval_t){.f = F_DOUBLE, .d = e->double_value};
        break;
    case ORG__ECLIPSE__TAHU__PROTOBUF__PAYLOAD__DATA_SET__DATA_SET_VALUE__VALUE_BOOLEAN_VALUE:
        v = (pval_t){.f = F_BOOL, .u = e->boolean_value};
        break;
    case ORG__ECLIPSE__TAHU__PROTOBUF__PAYLOAD__DATA_SET__DATA_SET_VALUE__VALUE_STRING_VALUE:
        v = (pval_t){.f = F_STRING, .s = e->string_value};
        break;
    case ORG__ECLIPSE__TAHU__PROTOBUF__PAYLOAD__DATA_SET__DATA_SET_VALUE__VALUE_EXTENSION_VALUE:
        v.f = F_EXT;
        break;
    default: break;
    }
    return v;
}

static pval_t pval_param(const Org__Eclipse__Tahu__Protobuf__Payload__Template__Parameter *e)
{
    pval_t v = {.f = F_NONE};
    switch (e->value_case) {
    case ORG__ECLIPSE__TAHU__PROTOBUF__PAYLOAD__TEMPLATE__PARAMETER__VALUE_INT_VALUE:
        v = (pval_t){.f = F_INT, .u = e->int_value};
        break;
    case ORG__ECLIPSE__TAHU__PROTOBUF__PAYLOAD__TEMPLATE__PARAMETER__VALUE_LONG_VALUE:
        v = (pval_t){.f = F_LONG, .u = e->long_value};
        break;
    case ORG__ECLIPSE__TAHU__PROTOBUF__PAYLOAD__TEMPLATE__PARAMETER__VALUE_FLOAT_VALUE:
        v = (pval_t){.f = F_FLOAT, .fl = e->float_value};
        break;
    case ORG__ECLIPSE__TAHU__PROTOBUF__PAYLOAD__TEMPLATE__PARAMETER__VALUE_DOUBLE_VALUE:
        v = (pval_t){.f = F_DOUBLE, .d = e->double_value};
        break;
    case ORG__ECLIPSE__TAHU__PROTOBUF__PAYLOAD__TEMPLATE__PARAMETER__VALUE_BOOLEAN_VALUE:
        v = (pval_t){.f = F_BOOL, .u = e->boolean_value};
        break;
    case ORG__ECLIPSE__TAHU__PROTOBUF__PAYLOAD__TEMPLATE__PARAMETER__VALUE_STRING_VALUE:
        v = (pval_t){.f = F_STRING, .s = e->string_value};
        break;
    case ORG__ECLIPSE__TAHU__PROTOBUF__PAYLOAD__TEMPLATE__PARAMETER__VALUE_EXTENSION_VALUE:
        v.f = F_EXT;
        break;
    default: break;
    }
    return v;
}

static pval_t pval_property(const pb_pvalue_t *e)
{
    pval_t v = {.f = F_NONE, .is_null = e->has_is_null && e->is_null};
    switch (e->value_case) {
    case ORG__ECLIPSE__TAHU__PROTOBUF__PAYLOAD__PROPERTY_VALUE__VALUE_INT_VALUE:
        v.f = F_INT, v.u = e->int_value;
        break;
    case ORG__ECLIPSE__TAHU__PROTOBUF__PAYLOAD__PROPERTY_VALUE__VALUE_LONG_VALUE:
        v.f = F_LONG, v.u = e->long_value;
        break;
    case ORG__ECLIPSE__TAHU__PROTOBUF__PAYLOAD__PROPERTY_VALUE__VALUE_FLOAT_VALUE:
        v.f = F_FLOAT, v.fl = e->float_value;
        break;
    case ORG__ECLIPSE__TAHU__PROTOBUF__PAYLOAD__PROPERTY_VALUE__VALUE_DOUBLE_VALUE:
        v.f = F_DOUBLE, v.d = e->double_value;
        break;
    case ORG__ECLIPSE__TAHU__PROTOBUF__PAYLOAD__PROPERTY_VALUE__VALUE_BOOLEAN_VALUE:
        v.f = F_BOOL, v.u = e->boolean_value;
        break;
    case ORG__ECLIPSE__TAHU__PROTOBUF__PAYLOAD__PROPERTY_VALUE__VALUE_STRING_VALUE:
        v.f = F_STRING, v.s = e->string_value;
        break;
    case ORG__ECLIPSE__TAHU__PROTOBUF__PAYLOAD__PROPERTY_VALUE__VALUE_PROPERTYSET_VALUE:
        v.f = F_PSET, v.msg = e->propertyset_value;
        break;
    case ORG__ECLIPSE__TAHU__PROTOBUF__PAYLOAD__PROPERTY_VALUE__VALUE_PROPERTYSETS_VALUE:
        v.f = F_PSETLIST, v.msg = e->propertysets_value;
        break;
    case ORG__ECLIPSE__TAHU__PROTOBUF__PAYLOAD__PROPERTY_VALUE__VALUE_EXTENSION_VALUE:
        v.f = F_EXT;
        break;
    default: break;
    }
    return v;
}

static pval_t pval_metric(const pb_metric_t *m)
{
    pval_t v = {.f = F_NONE, .is_null = m->has_is_null && m->is_null};
    switch (m->value_case) {
    case ORG__ECLIPSE__TAHU__PROTOBUF__PAYLOAD__METRIC__VALUE_INT_VALUE:
        v.f = F_INT, v.u = m->int_value;
        break;
    case ORG__ECLIPSE__TAHU__PROTOBUF__PAYLOAD__METRIC__VALUE_LONG_VALUE:
        v.f = F_LONG, v.u = m->long_value;
        break;
    case ORG__ECLIPSE__TAHU__PROTOBUF__PAYLOAD__METRIC__VALUE_FLOAT_VALUE:
        v.f = F_FLOAT, v.fl = m->float_value;
        break;
    case ORG__ECLIPSE__TAHU__PROTOBUF__PAYLOAD__METRIC__VALUE_DOUBLE_VALUE:
        v.f = F_DOUBLE, v.d = m->double_value;
        break;
    case ORG__ECLIPSE__TAHU__PROTOBUF__PAYLOAD__METRIC__VALUE_BOOLEAN_VALUE:
        v.f = F_BOOL, v.u = m->boolean_value;
        break;
    case ORG__ECLIPSE__TAHU__PROTOBUF__PAYLOAD__METRIC__VALUE_STRING_VALUE:
        v.f = F_STRING, v.s = m->string_value;
        break;
    case ORG__ECLIPSE__TAHU__PROTOBUF__PAYLOAD__METRIC__VALUE_BYTES_VALUE:
        v.f = F_BYTES, v.bytes = m->bytes_value.data, v.n = m->bytes_value.len;
        break;
    case ORG__ECLIPSE__TAHU__PROTOBUF__PAYLOAD__METRIC__VALUE_DATASET_VALUE:
        v.f = F_DATASET, v.msg = m->dataset_value;
        break;
    case ORG__ECLIPSE__TAHU__PROTOBUF__PAYLOAD__METRIC__VALUE_TEMPLATE_VALUE:
        v.f = F_TEMPLATE, v.msg = m->template_value;
        break;
    case ORG__ECLIPSE__TAHU__PROTOBUF__PAYLOAD__METRIC__VALUE_EXTENSION_VALUE: v.f = F_EXT; break;
    default: break;
    }
    return v;
}

static int dataset_row(dctx_t *c, const pb_dataset_t *ds, size_t r, json_t *row)
{
    const Org__Eclipse__Tahu__Protobuf__Payload__DataSet__Row *pr = ds->rows[r];
    if (pr->n_elements != ds->n_columns)
        return bad(c, "DataSet row %zu has %zu values for %zu columns", r, pr->n_elements,
                   ds->n_columns);
    for (size_t i = 0; i < pr->n_elements; i++) {
        pval_t v = pval_dataset(pr->elements[i]);
        json_t *j = NULL;
        int rc = v.f == F_NONE ? (j = json_null(), MKB_OK) : value_json(c, ds->types[i], &v, &j);
        if (rc == MKB_OK)
            rc = put_key(c, row, ds->columns[i], j);
        if (rc != MKB_OK)
            return rc;
    }
    return MKB_OK;
}

/* {"columns": [...], "types": [...], "rows": [{column: value}, ...]} */
static int dataset_json(dctx_t *c, const pb_dataset_t *ds, json_t *o)
{
    if (ds->n_types != ds->n_columns ||
        (ds->has_num_of_columns && ds->num_of_columns != ds->n_columns))
        return bad(c, "DataSet of %zu columns with %zu types", ds->n_columns, ds->n_types);
    json_t *cols = NULL, *types = NULL, *rows = NULL;
    int rc = put(o, "columns", cols = json_array());
    rc = rc ? rc : put(o, "types", types = json_array());
    rc = rc ? rc : put(o, "rows", rows = json_array());
    for (size_t i = 0; rc == MKB_OK && i < ds->n_columns; i++) {
        const char *tn = spb_datatype_name(ds->types[i]);
        if (!tn || ds->types[i] == 0)
            return bad(c, "DataSet column %zu: datatype %" PRIu32 " is not a Sparkplug B datatype",
                       i, ds->types[i]);
        json_t *col = NULL;
        rc = jstring(c, ds->columns[i], strlen(ds->columns[i]), &col);
        rc = rc ? rc : append(cols, col);
        rc = rc ? rc : append(types, json_string(tn));
    }
    for (size_t r = 0; rc == MKB_OK && r < ds->n_rows; r++) {
        json_t *row = json_object();
        rc = append(rows, row);
        rc = rc ? rc : dataset_row(c, ds, r, row);
    }
    return rc;
}

static int metric_value(dctx_t *c, const pb_metric_t *m, uint32_t dt, json_t **out);

/* A template member: its own datatype, its value by the same rules. */
static int template_member(dctx_t *c, const pb_metric_t *m, json_t *metrics)
{
    if (!m->name)
        return bad(c, "a Template member without a name");
    if (!m->has_datatype)
        return bad(c, "Template member '%s' has no datatype", m->name);
    json_t *v = NULL;
    int rc = metric_value(c, m, m->datatype, &v);
    return rc ? rc : put_key(c, metrics, m->name, v);
}

static int template_params(dctx_t *c, const pb_template_t *tp, json_t *o)
{
    json_t *params = NULL;
    int rc = put(o, "parameters", params = json_object());
    for (size_t i = 0; rc == MKB_OK && i < tp->n_parameters; i++) {
        const Org__Eclipse__Tahu__Protobuf__Payload__Template__Parameter *p = tp->parameters[i];
        if (!p->name || !p->has_type)
            return bad(c, "a Template parameter without a name or a type");
        pval_t v = pval_param(p);
        json_t *j = NULL;
        rc = v.f == F_NONE ? (j = json_null(), MKB_OK) : value_json(c, p->type, &v, &j);
        rc = rc ? rc : put_key(c, params, p->name, j);
    }
    return rc;
}

/* {"template_ref", "version", "is_definition", "parameters", "metrics"} */
static int template_json(dctx_t *c, const pb_template_t *tp, json_t *o)
{
    int rc = MKB_OK;
    if (tp->template_ref)
        rc = put_str(c, o, "template_ref", tp->template_ref);
    if (rc == MKB_OK && tp->version)
        rc = put_str(c, o, "version", tp->version);
    if (rc == MKB_OK && tp->has_is_definition && tp->is_definition)
        rc = put(o, "is_definition", json_true());
    if (rc == MKB_OK && tp->n_parameters)
        rc = template_params(c, tp, o);
    json_t *metrics = NULL;
    if (rc == MKB_OK)
        rc = put(o, "metrics", metrics = json_object());
    for (size_t i = 0; rc == MKB_OK && i < tp->n_metrics; i++)
        rc = template_member(c, tp->metrics[i], metrics);
    return rc;
}

static int pset_json(dctx_t *c, const pb_pset_t *ps, json_t *o);

static int property_value(dctx_t *c, const pb_pvalue_t *pv, json_t **out)
{
    pval_t v = pval_property(pv);
    if (v.is_null || v.f == F_NONE) {
        *out = json_null();
        return MKB_OK;
    }
    if (!pv->has_type)
        return bad(c, "a property without a type");
    return value_json(c, pv->type, &v, out);
}

/* {key: value, ...} */
static int pset_json(dctx_t *c, const pb_pset_t *ps, json_t *o)
{
    if (ps->n_keys != ps->n_values)
        return bad(c, "a PropertySet of %zu keys and %zu values", ps->n_keys, ps->n_values);
    int rc = MKB_OK;
    for (size_t i = 0; rc == MKB_OK && i < ps->n_keys; i++) {
        json_t *v = NULL;
        rc = property_value(c, ps->values[i], &v);
        rc = rc ? rc : put_key(c, o, ps->keys[i], v);
    }
    return rc;
}

static int psetlist_json(dctx_t *c, const pb_psetlist_t *l, json_t *a)
{
    int rc = MKB_OK;
    for (size_t i = 0; rc == MKB_OK && i < l->n_propertyset; i++) {
        json_t *o = json_object();
        rc = append(a, o);
        rc = rc ? rc : pset_json(c, l->propertyset[i], o);
    }
    return rc;
}

/* The compound values: a new object (array for PropertySetList) filled in. */
static int compound_json(dctx_t *c, uint32_t dt, const pval_t *v, json_t **out)
{
    if (c->depth >= MAX_DEPTH)
        return bad(c, "values nested more than %d deep", MAX_DEPTH);
    json_t *j = dt == SPB_DT_PROPERTYSETLIST ? json_array() : json_object();
    if (!j)
        return MKB_ERR_NOMEM;
    c->depth++;
    int rc = dt == SPB_DT_DATASET       ? dataset_json(c, v->msg, j)
             : dt == SPB_DT_TEMPLATE    ? template_json(c, v->msg, j)
             : dt == SPB_DT_PROPERTYSET ? pset_json(c, v->msg, j)
                                    : psetlist_json(c, v->msg, j);
    c->depth--;
    if (rc != MKB_OK) {
        json_decref(j);
        return rc;
    }
    *out = j;
    return MKB_OK;
}

/* The JSON of value V of datatype DT (not null). */
static int value_json(dctx_t *c, uint32_t dt, const pval_t *v, json_t **out)
{
    *out = NULL;
    if (dt == 0 || dt > SPB_DT_MAX)
        return bad(c, "datatype %" PRIu32 " is not a Sparkplug B datatype", dt);
    if (!field_fits(dt, v->f))
        return bad(c, "datatype %s but the value is in %s", dt_names[dt], field_names[v->f]);
    if (dt == SPB_DT_DATASET || dt == SPB_DT_TEMPLATE || dt == SPB_DT_PROPERTYSET || dt == SPB_DT_PROPERTYSETLIST)
        return compound_json(c, dt, v, out);
    if (dt >= SPB_DT_INT8_ARRAY)
        return array_json(c, dt, v, out);
    return scalar_json(c, dt, v, out);
}

/* A metric's value: null when is_null (or, leniently, no value at all). */
static int metric_value(dctx_t *c, const pb_metric_t *m, uint32_t dt, json_t **out)
{
    pval_t v = pval_metric(m);
    if (dt == 0 || dt > SPB_DT_MAX)
        return bad(c, "datatype %" PRIu32 " is not a Sparkplug B datatype", dt);
    if (v.is_null || v.f == F_NONE) {
        *out = json_null();
        return MKB_OK;
    }
    return value_json(c, dt, &v, out);
}

static bool is_birth(spb_type_t t)
{
    return t == SPB_NBIRTH || t == SPB_DBIRTH;
}

static const char *dt_name_or(uint32_t dt)
{
    const char *n = spb_datatype_name(dt);
    return n ? n : "(not a datatype)";
}

/* The name and datatype of metric M: the payload's, else the birth's
 * through the resolver (data messages); *DT 0 when neither knows. */
static int resolve_metric(dctx_t *c, const pb_metric_t *m, const char **name, uint32_t *dt)
{
    *name = m->name;
    *dt = m->has_datatype ? m->datatype : 0;
    spb_type_t type = c->t->type;
    if (is_birth(type)) {
        if (m->has_datatype)
            return MKB_OK;
        char l[160];
        label(c, l, sizeof(l));
        why_set(c->why, c->why_size, "%s in %s has no datatype", l, type_names[type]);
        return MKB_ERR_INVAL;
    }
    if (!c->opts->resolve || (!m->name && !m->has_alias))
        return MKB_OK;
    const char *rname = NULL;
    uint32_t rdt = 0;
    if (!c->opts->resolve(c->opts->resolve_ctx, m->has_alias ? NULL : m->name, m->has_alias,
                          m->alias, &rname, &rdt))
        return MKB_OK;
    if (!*name)
        *name = c->name = rname;
    if (m->has_datatype && m->datatype != rdt)
        return bad(c, "%s says datatype %s, its %s %s", type_names[type], dt_name_or(m->datatype),
                   c->t->device_len ? "DBIRTH" : "NBIRTH", dt_name_or(rdt));
    *dt = rdt;
    return MKB_OK;
}

/* An unresolved metric's value as the protobuf carried it: {"<field>": v}. */
static int raw_json(dctx_t *c, const pb_metric_t *m, json_t *o)
{
    pval_t v = pval_metric(m);
    json_t *j = NULL;
    int rc = MKB_OK;
    switch (v.f) {
    case F_INT:
    case F_LONG: j = ju64(v.u); break;
    case F_FLOAT: j = jfloat(v.fl); break;
    case F_DOUBLE: j = jdouble(v.d); break;
    case F_BOOL: j = json_boolean(v.u != 0); break;
    case F_STRING: rc = jstring(c, v.s, strlen(v.s), &j); break;
    case F_BYTES: j = jbase64(v.bytes, v.n); break;
    case F_DATASET: /* both carry their own datatypes */
    case F_TEMPLATE:
        rc = compound_json(c, v.f == F_DATASET ? SPB_DT_DATASET : SPB_DT_TEMPLATE, &v, &j);
        break;
    case F_NONE: return put(o, "is_null", json_boolean(v.is_null));
    default: j = json_null(); break;
    }
    return rc ? rc : put(o, field_names[v.f], j);
}

static int metadata_json(dctx_t *c, const pb_metadata_t *md, json_t *o)
{
    int rc = MKB_OK;
    if (md->has_is_multi_part)
        rc = put(o, "is_multi_part", json_boolean(md->is_multi_part));
    if (rc == MKB_OK && md->content_type)
        rc = put_str(c, o, "content_type", md->content_type);
    if (rc == MKB_OK && md->has_size)
        rc = put(o, "size", ju64(md->size));
    if (rc == MKB_OK && md->has_seq)
        rc = put(o, "seq", ju64(md->seq));
    if (rc == MKB_OK && md->file_name)
        rc = put_str(c, o, "file_name", md->file_name);
    if (rc == MKB_OK && md->file_type)
        rc = put_str(c, o, "file_type", md->file_type);
    if (rc == MKB_OK && md->md5)
        rc = put_str(c, o, "md5", md->md5);
    if (rc == MKB_OK && md->description)
        rc = put_str(c, o, "description", md->description);
    return rc;
}

/* The flat layout: the message's context copied into each metric, its
 * timestamp as "payload_timestamp". */
static int flat_context(json_t *msg, json_t *o)
{
    static const char *const keys[] = {"group", "edge_node", "device", "type", "seq",
                                       "timestamp"};
    static const char *const as[] = {"group", "edge_node", "device", "type", "seq",
                                     "payload_timestamp"};
    for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
        json_t *v = json_object_get(msg, keys[i]);
        if (v && json_object_set(o, as[i], v) != 0)
            return MKB_ERR_NOMEM;
    }
    return MKB_OK;
}

/* "name", "alias", "datatype" (or "unresolved") and "timestamp". */
static int metric_head(dctx_t *c, const pb_payload_t *p, const pb_metric_t *m, const char *name,
                       uint32_t dt, json_t *o)
{
    json_t *jname = NULL;
    int rc = name ? jstring(c, name, strlen(name), &jname) : (jname = json_null(), MKB_OK);
    rc = rc ? rc : put(o, "name", jname);
    if (rc == MKB_OK && m->has_alias)
        rc = put(o, "alias", ju64(m->alias));
    if (rc == MKB_OK)
        rc = dt ? put(o, "datatype", json_string(dt_name_or(dt)))
                : put(o, "unresolved", json_true());
    if (rc == MKB_OK && m->has_timestamp)
        rc = put(o, "timestamp", ju64(m->timestamp));
    else if (rc == MKB_OK && c->opts->flat && p->has_timestamp)
        rc = put(o, "timestamp", ju64(p->timestamp));
    return rc;
}

/* "value" (or "raw"), the flags, "properties" and "metadata". */
static int metric_body(dctx_t *c, const pb_metric_t *m, uint32_t dt, json_t *o)
{
    json_t *j = NULL;
    int rc = MKB_OK;
    if (dt) {
        rc = metric_value(c, m, dt, &j);
        rc = rc ? rc : put(o, "value", j);
    } else {
        rc = put(o, "raw", j = json_object());
        rc = rc ? rc : raw_json(c, m, j);
    }
    if (rc == MKB_OK && m->has_is_historical && m->is_historical)
        rc = put(o, "historical", json_true());
    if (rc == MKB_OK && m->has_is_transient && m->is_transient)
        rc = put(o, "transient", json_true());
    if (rc == MKB_OK && c->opts->properties && m->properties) {
        pval_t v = {.f = F_PSET, .msg = m->properties};
        rc = compound_json(c, SPB_DT_PROPERTYSET, &v, &j);
        rc = rc ? rc : put(o, "properties", j);
    }
    if (rc == MKB_OK && m->metadata) {
        rc = put(o, "metadata", j = json_object());
        rc = rc ? rc : metadata_json(c, m->metadata, j);
    }
    return rc;
}

static int metric_json(dctx_t *c, const pb_payload_t *p, json_t *msg, size_t i, json_t *o,
                       size_t *unresolved)
{
    const pb_metric_t *m = p->metrics[i];
    *c = (dctx_t){.t = c->t,
                  .opts = c->opts,
                  .why = c->why,
                  .why_size = c->why_size,
                  .index = i,
                  .name = m->name,
                  .has_alias = m->has_alias,
                  .alias = m->alias};
    const char *name;
    uint32_t dt;
    int rc = resolve_metric(c, m, &name, &dt);
    if (rc == MKB_OK && c->opts->flat)
        rc = flat_context(msg, o);
    rc = rc ? rc : metric_head(c, p, m, name, dt, o);
    rc = rc ? rc : metric_body(c, m, dt, o);
    if (rc == MKB_OK && !dt)
        (*unresolved)++;
    return rc;
}

static int message_head(dctx_t *c, const pb_payload_t *p, json_t *msg)
{
    const spb_topic_t *t = c->t;
    json_t *j = NULL;
    int rc = jstring(c, t->group, t->group_len, &j);
    rc = rc ? rc : put(msg, "group", j);
    rc = rc ? rc : jstring(c, t->node, t->node_len, &j);
    rc = rc ? rc : put(msg, "edge_node", j);
    if (rc == MKB_OK && t->device_len) {
        rc = jstring(c, t->device, t->device_len, &j);
        rc = rc ? rc : put(msg, "device", j);
    }
    rc = rc ? rc : put(msg, "type", json_string(type_names[t->type]));
    if (rc == MKB_OK && p->has_timestamp)
        rc = put(msg, "timestamp", ju64(p->timestamp));
    if (rc == MKB_OK && p->has_seq)
        rc = put(msg, "seq", ju64(p->seq));
    if (rc == MKB_OK && p->uuid)
        rc = put_str(c, msg, "uuid", p->uuid);
    if (rc == MKB_OK && p->has_body)
        rc = put(msg, "body", jbase64(p->body.data, p->body.len));
    return rc;
}

static int decode_payload(dctx_t *c, const pb_payload_t *p, json_t *msg, size_t *unresolved)
{
    size_t max = c->opts->max_metrics;
    if (max && p->n_metrics > max) {
        why_set(c->why, c->why_size, "%zu metrics, more than the limit of %zu", p->n_metrics, max);
        return MKB_ERR_INVAL;
    }
    json_t *metrics = NULL;
    int rc = message_head(c, p, msg);
    rc = rc ? rc : put(msg, "metrics", metrics = json_array());
    for (size_t i = 0; rc == MKB_OK && i < p->n_metrics; i++) {
        json_t *o = json_object();
        rc = append(metrics, o);
        rc = rc ? rc : metric_json(c, p, msg, i, o, unresolved);
    }
    return rc;
}

int spb_decode(const spb_topic_t *t, const void *data, size_t len, const spb_decode_opts_t *opts,
               json_t **out, size_t *unresolved, char *why, size_t why_size)
{
    static const spb_decode_opts_t no_opts = {0};
    dctx_t c = {.t = t, .opts = opts ? opts : &no_opts, .why = why, .why_size = why_size};
    size_t unres = 0;
    *out = NULL;
    if (why && why_size)
        why[0] = '\0';
    if (t->type == SPB_STATE || (unsigned)t->type >= N_TYPES) {
        why_set(why, why_size, "a STATE message is JSON, not a Sparkplug B payload");
        return MKB_ERR_INVAL;
    }
    pb_payload_t *p =
        org__eclipse__tahu__protobuf__payload__unpack(NULL, len, (const uint8_t *)data);
    if (!p) {
        why_set(why, why_size, "not a Sparkplug B payload: protobuf-c could not unpack %zu bytes",
                len);
        return MKB_ERR_INVAL;
    }
    json_t *msg = json_object();
    int rc = msg ? decode_payload(&c, p, msg, &unres) : MKB_ERR_NOMEM;
    org__eclipse__tahu__protobuf__payload__free_unpacked(p, NULL);
    if (rc != MKB_OK) {
        json_decref(msg);
        return rc;
    }
    if (unresolved)
        *unresolved = unres;
    *out = msg;
    return MKB_OK;
}

/* Sparkplug 3.0's {"online": bool, "timestamp": ms}: ONLINE into *ONLINE,
 * TS (-1 when absent). False when it is not that. */
static bool state_json(const void *data, size_t len, bool *online, json_int_t *ts)
{
    json_t *j = json_loadb(data, len, JSON_REJECT_DUPLICATES, NULL);
    json_t *on = json_object_get(j, "online"), *t = json_object_get(j, "timestamp");
    bool ok = json_is_boolean(on) && (!t || (json_is_integer(t) && json_integer_value(t) >= 0));
    if (ok) {
        *online = json_is_true(on);
        *ts = t ? json_integer_value(t) : -1;
    }
    json_decref(j);
    return ok;
}

int spb_decode_state(const spb_topic_t *t, const void *data, size_t len, json_t **out, char *why,
                     size_t why_size)
{
    *out = NULL;
    bool online = false;
    json_int_t ts = -1;
    if (t->type != SPB_STATE) {
        why_set(why, why_size, "not a STATE topic");
        return MKB_ERR_INVAL;
    }
    /* Before 3.0 (B 2.2), the payload was the text ONLINE or OFFLINE. */
    if (len == 6 && memcmp(data, "ONLINE", 6) == 0)
        online = true;
    else if (!(len == 7 && memcmp(data, "OFFLINE", 7) == 0) &&
             !state_json(data, len, &online, &ts)) {
        why_set(why, why_size,
                "a STATE payload is {\"online\": true|false, \"timestamp\": ms} (or ONLINE, "
                "OFFLINE): got %zu bytes that are neither",
                len);
        return MKB_ERR_INVAL;
    }
    json_t *host = json_stringn(t->node, t->node_len);
    if (!host) {
        why_set(why, why_size, "a STATE host id that is not valid UTF-8");
        return MKB_ERR_INVAL;
    }
    json_t *o = json_object();
    int rc = o ? put(o, "host_id", host) : (json_decref(host), MKB_ERR_NOMEM);
    rc = rc ? rc : put(o, "type", json_string("STATE"));
    rc = rc ? rc : put(o, "online", json_boolean(online));
    if (rc == MKB_OK && ts >= 0)
        rc = put(o, "timestamp", json_integer(ts));
    if (rc != MKB_OK) {
        json_decref(o);
        return rc;
    }
    *out = o;
    return MKB_OK;
}
