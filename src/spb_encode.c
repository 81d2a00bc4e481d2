// SPDX-FileCopyrightText: 2026 The mqtt-kafka-bridge authors
// SPDX-License-Identifier: Apache-2.0
#include "sparkplug_b.pb-c.h"

#include "spb_encode.h"

#include "err.h"

#include <ctype.h>
#include <float.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef Org__Eclipse__Tahu__Protobuf__Payload pb_payload_t;
typedef Org__Eclipse__Tahu__Protobuf__Payload__Metric pb_metric_t;

#define PB_METRIC_INIT ORG__ECLIPSE__TAHU__PROTOBUF__PAYLOAD__METRIC__INIT
#define V_INT ORG__ECLIPSE__TAHU__PROTOBUF__PAYLOAD__METRIC__VALUE_INT_VALUE
#define V_LONG ORG__ECLIPSE__TAHU__PROTOBUF__PAYLOAD__METRIC__VALUE_LONG_VALUE
#define V_FLOAT ORG__ECLIPSE__TAHU__PROTOBUF__PAYLOAD__METRIC__VALUE_FLOAT_VALUE
#define V_DOUBLE ORG__ECLIPSE__TAHU__PROTOBUF__PAYLOAD__METRIC__VALUE_DOUBLE_VALUE
#define V_BOOL ORG__ECLIPSE__TAHU__PROTOBUF__PAYLOAD__METRIC__VALUE_BOOLEAN_VALUE
#define V_STRING ORG__ECLIPSE__TAHU__PROTOBUF__PAYLOAD__METRIC__VALUE_STRING_VALUE
#define V_BYTES ORG__ECLIPSE__TAHU__PROTOBUF__PAYLOAD__METRIC__VALUE_BYTES_VALUE


/* One metric being encoded: its name for the reasons given. */
typedef struct {
    const char *name; /* NULL: by alias only */
    uint64_t alias;
    long elem; /* the array element at fault; -1: none */
    char *why;
    size_t why_size;
} ctx_t;

/* MKB_ERR_INVAL, the reason "metric 'NAME': [element I: ]WHAT" in C's WHY. */
__attribute__((format(printf, 2, 3))) static int fail(const ctx_t *c, const char *fmt, ...)
{
    char what[256], at[32] = "";
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof(what), fmt, ap);
    va_end(ap);
    if (c->elem >= 0)
        snprintf(at, sizeof(at), "element %ld: ", c->elem);
    if (c->name)
        snprintf(c->why, c->why_size, "metric '%.200s': %s%s", c->name, at, what);
    else
        snprintf(c->why, c->why_size, "metric with alias %" PRIu64 ": %s%s", c->alias, at, what);
    return MKB_ERR_INVAL;
}

/* Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's
 * days_from_civil: no timegm, no TZ environment). */
static int64_t days_from_civil(int64_t y, int64_t m, int64_t d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

/* N digits at *S into *OUT; false if they are not all digits. */
static bool digits(const char **s, int n, int *out)
{
    *out = 0;
    for (int i = 0; i < n; i++, (*s)++) {
        if (!isdigit((unsigned char)**s))
            return false;
        *out = *out * 10 + (**s - '0');
    }
    return true;
}

/* The zone of an ISO 8601 time at *S: Z, +HH:MM, -HH:MM or +HHMM, as
 * seconds east of UTC. */
static bool parse_zone(const char **s, int *secs)
{
    int zh, zm, sign;
    if (**s == 'Z' || **s == 'z') {
        (*s)++;
        *secs = 0;
        return true;
    }
    if (**s != '+' && **s != '-')
        return false;
    sign = *(*s)++ == '-' ? -1 : 1;
    if (!digits(s, 2, &zh))
        return false;
    if (**s == ':')
        (*s)++;
    if (!digits(s, 2, &zm) || zh > 23 || zm > 59)
        return false;
    *secs = sign * (zh * 3600 + zm * 60);
    return true;
}

/* ISO 8601 date-time with a zone, YYYY-MM-DDTHH:MM:SS[.fff...](Z|+HH:MM|
 * -HH:MM), into epoch ms (digits after the third fraction digit cut). */
static bool parse_iso(const char *s, int64_t *ms)
{
    int y, mo, d, h, mi, sec, frac = 0, zone_s = 0;
    if (!digits(&s, 4, &y) || *s++ != '-' || !digits(&s, 2, &mo) || *s++ != '-' ||
        !digits(&s, 2, &d) || (*s != 'T' && *s != 't' && *s != ' ') || !(++s, digits(&s, 2, &h)) ||
        *s++ != ':' || !digits(&s, 2, &mi) || *s++ != ':' || !digits(&s, 2, &sec))
        return false;
    if (*s == '.' || *s == ',') {
        int n = 0;
        for (s++; isdigit((unsigned char)*s); s++, n++)
            if (n < 3)
                frac = frac * 10 + (*s - '0');
        if (!n)
            return false;
        for (; n < 3; n++)
            frac *= 10;
    }
    if (!parse_zone(&s, &zone_s))
        return false;
    if (*s || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 60)
        return false;
    int64_t t = days_from_civil(y, mo, d) * 86400 + (int64_t)h * 3600 + (int64_t)mi * 60 + sec;
    *ms = (t - zone_s) * 1000 + frac;
    return true;
}

static int b64_value(unsigned char c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    return c == '+' ? 62 : c == '/' ? 63 : -1;
}

/* RFC 4648 base64 (padding optional) into OUT; false on a character outside
 * the alphabet or a length no encoder makes. */
static bool b64_decode(const char *s, size_t len, buf_t *out)
{
    while (len && s[len - 1] == '=')
        len--;
    if (len % 4 == 1 || buf_reserve(out, len / 4 * 3 + 3) != MKB_OK)
        return false;
    uint32_t acc = 0;
    int bits = 0;
    for (size_t i = 0; i < len; i++) {
        int v = b64_value((unsigned char)s[i]);
        if (v < 0)
            return false;
        acc = (acc << 6) | (uint32_t)v;
        if ((bits += 6) >= 8) {
            bits -= 8;
            out->p[out->len++] = (char)((acc >> bits) & 0xff);
        }
    }
    return true;
}

/* An integer datatype's value V (JSON integer; UInt64 also a decimal
 * string; DateTime also ISO 8601) as its two's complement bits in *RAW,
 * range checked. */
static int get_int(const ctx_t *c, json_t *v, int dt, uint64_t *raw)
{
    static const int64_t lo[] = {0, INT8_MIN, INT16_MIN, INT32_MIN, INT64_MIN, 0, 0, 0, 0};
    static const int64_t hi[] = {0,         INT8_MAX,   INT16_MAX,  INT32_MAX, INT64_MAX,
                                 UINT8_MAX, UINT16_MAX, UINT32_MAX, INT64_MAX};
    const char *dn = spb_datatype_name((uint32_t)dt);
    if (dt == SPB_DT_DATETIME) {
        int64_t ms;
        if (json_is_string(v) && parse_iso(json_string_value(v), &ms) && ms >= 0)
            return *raw = (uint64_t)ms, MKB_OK;
        if (json_is_integer(v) && json_integer_value(v) >= 0)
            return *raw = (uint64_t)json_integer_value(v), MKB_OK;
        return fail(c, "DateTime takes epoch ms (an integer >= 0) or an ISO 8601 string with a "
                       "zone");
    }
    if (dt == SPB_DT_UINT64 && json_is_string(v)) {
        const char *s = json_string_value(v);
        char *end;
        if (isdigit((unsigned char)s[0]) && ((*raw = strtoull(s, &end, 10)), !*end) &&
            !(*raw == UINT64_MAX && strcmp(s, "18446744073709551615") != 0))
            return MKB_OK;
        return fail(c, "'%.80s' is not a UInt64 (a decimal string 0..18446744073709551615)", s);
    }
    if (!json_is_integer(v))
        return fail(c, "%s takes an integer", dn);
    json_int_t n = json_integer_value(v);
    if (n < lo[dt] || n > hi[dt]) {
        return fail(c, "%" JSON_INTEGER_FORMAT " is out of range for %s (%" PRId64 "..%" PRId64 ")",
                    n, dn, lo[dt], hi[dt]);
    }
    *raw = (uint64_t)n;
    return MKB_OK;
}

/* A Float or Double: a JSON number, or "NaN", "Infinity", "-Infinity". */
static int get_real(const ctx_t *c, json_t *v, int dt, double *out)
{
    const char *s = json_string_value(v);
    if (json_is_number(v))
        *out = json_number_value(v);
    else if (s && strcmp(s, "NaN") == 0)
        *out = NAN;
    else if (s && (strcmp(s, "Infinity") == 0 || strcmp(s, "-Infinity") == 0))
        *out = s[0] == '-' ? -INFINITY : INFINITY;
    else
        return fail(c, "%s takes a number (or \"NaN\", \"Infinity\", \"-Infinity\")",
                    spb_datatype_name((uint32_t)dt));
    if (dt == SPB_DT_FLOAT && isfinite(*out) && fabs(*out) > FLT_MAX) { /* the cast would be UB */
        return fail(c, "%g is out of range for Float", *out);
    }
    return MKB_OK;
}

/* Appends the low SIZE bytes of V, little-endian (the spec's array order). */
static int put_le(buf_t *out, uint64_t v, size_t size)
{
    unsigned char b[8];
    for (size_t i = 0; i < size; i++)
        b[i] = (unsigned char)(v >> (8 * i));
    return buf_append(out, b, size);
}

/* One element of a numeric or DateTime array (element datatype ET). */
static int put_element(const ctx_t *c, json_t *v, int et, buf_t *out)
{
    static const unsigned char size[] = {0, 1, 2, 4, 8, 1, 2, 4, 8};
    uint64_t raw = 0;
    double d = 0;
    int rc;
    if (et == SPB_DT_FLOAT || et == SPB_DT_DOUBLE) {
        if ((rc = get_real(c, v, et, &d)))
            return rc;
        float f = (float)d;
        uint32_t fb;
        memcpy(&fb, &f, sizeof(fb)); /* IEEE 754 bits, written little-endian */
        memcpy(&raw, &d, sizeof(raw));
        return et == SPB_DT_FLOAT ? put_le(out, fb, 4) : put_le(out, raw, 8);
    }
    if ((rc = get_int(c, v, et, &raw)))
        return rc;
    return put_le(out, raw, et == SPB_DT_DATETIME ? 8 : size[et]);
}

/* BooleanArray: a 4-byte little-endian count, then the bits, first element
 * in the most significant bit of the first byte. */
static int put_booleans(ctx_t *c, json_t *arr, buf_t *out)
{
    size_t n = json_array_size(arr);
    if (n > UINT32_MAX || put_le(out, n, 4) || buf_reserve(out, (n + 7) / 8))
        return fail(c, "BooleanArray of %zu elements is too large", n);
    memset(out->p + out->len, 0, (n + 7) / 8);
    for (size_t i = 0; i < n; i++) {
        json_t *v = json_array_get(arr, i);
        c->elem = (long)i;
        if (!json_is_boolean(v))
            return fail(c, "BooleanArray takes true or false");
        unsigned char *bits = (unsigned char *)out->p + out->len;
        if (json_is_true(v))
            bits[i / 8] |= (unsigned char)(0x80u >> (i % 8));
    }
    c->elem = -1;
    out->len += (n + 7) / 8;
    return MKB_OK;
}

/* An array datatype DT (22..34) from the JSON array V, packed into OUT. */
static int put_array(ctx_t *c, json_t *v, int dt, buf_t *out)
{
    if (!json_is_array(v))
        return fail(c, "%s takes a JSON array", spb_datatype_name((uint32_t)dt));
    if (dt == SPB_DT_BOOLEAN_ARRAY)
        return put_booleans(c, v, out);
    int et = dt - SPB_DT_INT8_ARRAY + SPB_DT_INT8; /* 22..31 -> 1..10, 34 -> 13 (DateTime) */
    for (size_t i = 0; i < json_array_size(v); i++) {
        json_t *e = json_array_get(v, i);
        int rc = MKB_OK;
        c->elem = (long)i;
        if (dt == SPB_DT_STRING_ARRAY) { /* each string NUL-terminated */
            if (!json_is_string(e) || strlen(json_string_value(e)) != json_string_length(e))
                return fail(c, "StringArray takes strings without NUL characters");
            rc = buf_append(out, json_string_value(e), json_string_length(e) + 1);
        } else {
            rc = put_element(c, e, et, out);
        }
        if (rc == MKB_ERR_NOMEM)
            snprintf(c->why, c->why_size, "out of memory");
        if (rc)
            return rc;
    }
    c->elem = -1;
    return MKB_OK;
}

/* The value V of datatype DT into metric M (bytes of Bytes, File and the
 * arrays into BYTES, which M then points to). */
static int set_value(ctx_t *c, pb_metric_t *m, json_t *v, int dt, buf_t *bytes)
{
    uint64_t raw = 0;
    double d = 0;
    int rc;
    if ((dt >= SPB_DT_INT8 && dt <= SPB_DT_UINT64) || dt == SPB_DT_DATETIME) {
        if ((rc = get_int(c, v, dt, &raw)))
            return rc;
        bool in_int = dt != SPB_DT_INT64 && dt != SPB_DT_UINT64 && dt != SPB_DT_DATETIME;
        /* Int8/Int16 below zero: value + 2^bits, as Tahu and pysparkplug write them */
        uint64_t mask = dt == SPB_DT_INT8 ? 0xff : dt == SPB_DT_INT16 ? 0xffff : 0xffffffffu;
        m->value_case = in_int ? V_INT : V_LONG;
        if (in_int)
            m->int_value = (uint32_t)(raw & mask);
        else
            m->long_value = raw;
    } else if (dt == SPB_DT_FLOAT || dt == SPB_DT_DOUBLE) {
        if ((rc = get_real(c, v, dt, &d)))
            return rc;
        m->value_case = dt == SPB_DT_FLOAT ? V_FLOAT : V_DOUBLE;
        if (dt == SPB_DT_FLOAT)
            m->float_value = (float)d;
        else
            m->double_value = d;
    } else if (dt == SPB_DT_BOOLEAN) {
        if (!json_is_boolean(v))
            return fail(c, "Boolean takes true or false");
        m->value_case = V_BOOL;
        m->boolean_value = json_is_true(v);
    } else if (dt == SPB_DT_STRING || dt == SPB_DT_TEXT || dt == SPB_DT_UUID) {
        if (!json_is_string(v) || strlen(json_string_value(v)) != json_string_length(v))
            return fail(c, "%s takes a string without NUL characters",
                        spb_datatype_name((uint32_t)dt));
        m->value_case = V_STRING;
        m->string_value = (char *)json_string_value(v); /* borrowed from the JSON */
    } else if (dt == SPB_DT_BYTES || dt == SPB_DT_FILE || dt >= SPB_DT_INT8_ARRAY) {
        if (dt < SPB_DT_INT8_ARRAY &&
            (!json_is_string(v) || !b64_decode(json_string_value(v), json_string_length(v), bytes)))
            return fail(c, "%s takes a base64 string (RFC 4648)", spb_datatype_name((uint32_t)dt));
        if (dt >= SPB_DT_INT8_ARRAY && (rc = put_array(c, v, dt, bytes)))
            return rc;
        if (!bytes->p && buf_reserve(bytes, 1) != MKB_OK) /* empty: still no NULL to memcpy */
            return fail(c, "out of memory");
        m->value_case = V_BYTES;
        m->bytes_value.data = (uint8_t *)bytes->p;
        m->bytes_value.len = bytes->len;
    } else {
        return fail(c, "a %s cannot be sent in a command", spb_datatype_name((uint32_t)dt));
    }
    return MKB_OK;
}

/* The datatype of a metric: DTJ (a name, or a number), else the birth's
 * (the resolver), else the JSON type of V. */
static int pick_datatype(const ctx_t *c, json_t *dtj, json_t *v, spb_resolve_t resolve, void *rctx,
                         bool has_alias, int *dt)
{
    const char *name_out = NULL;
    uint32_t rdt = 0;
    if (json_is_string(dtj)) {
        if ((*dt = spb_datatype_of(json_string_value(dtj))) > 0)
            return MKB_OK;
        return fail(c, "datatype '%.60s' is not a Sparkplug B datatype", json_string_value(dtj));
    }
    if (dtj && (!json_is_integer(dtj) || !spb_datatype_name((uint32_t)json_integer_value(dtj)) ||
                json_integer_value(dtj) <= 0))
        return fail(c, "datatype is neither a Sparkplug B datatype name nor a number 1..34");
    if (dtj)
        return *dt = (int)json_integer_value(dtj), MKB_OK;
    if (resolve && resolve(rctx, c->name, has_alias && !c->name, c->alias, &name_out, &rdt)) {
        if (!spb_datatype_name(rdt) || rdt == 0)
            return fail(c, "its birth gives datatype %u, not a Sparkplug B datatype", rdt);
        return *dt = (int)rdt, MKB_OK;
    }
    *dt = json_is_boolean(v)   ? SPB_DT_BOOLEAN
          : json_is_integer(v) ? SPB_DT_INT64
          : json_is_real(v)    ? SPB_DT_DOUBLE
          : json_is_string(v)  ? SPB_DT_STRING
                               : 0;
    if (!*dt)
        return fail(c, "no datatype given nor known from a birth, and a %s value says none",
                    json_is_null(v)    ? "null"
                    : json_is_array(v) ? "array"
                                       : "object");
    return MKB_OK;
}

/* A command being encoded: the metrics and the bytes their values point to. */
typedef struct {
    pb_metric_t *m;
    pb_metric_t **ptrs;
    buf_t *bytes;
    size_t n;
    spb_resolve_t resolve;
    void *rctx;
} enc_t;

/* Metric I: NAME (or alias ALIAS_J) = V, datatype DTJ (NULL: resolved). */
static int encode_metric(enc_t *e, size_t i, const char *name, json_t *alias_j, json_t *dtj,
                         json_t *v, int64_t ts_ms, char *why, size_t why_size)
{
    ctx_t c = {name, 0, -1, why, why_size};
    pb_metric_t *m = &e->m[i];
    int dt = 0, rc;
    *m = (pb_metric_t)PB_METRIC_INIT;
    if (alias_j && (!json_is_integer(alias_j) || json_integer_value(alias_j) < 0))
        return fail(&c, "alias is not an integer >= 0");
    if (alias_j)
        c.alias = (uint64_t)json_integer_value(alias_j);
    if (!name && !alias_j) {
        snprintf(why, why_size, "metric %zu has neither a name nor an alias", i);
        return MKB_ERR_INVAL;
    }
    if ((rc = pick_datatype(&c, dtj, v, e->resolve, e->rctx, alias_j != NULL, &dt)))
        return rc;
    m->name = (char *)name; /* borrowed from the JSON */
    m->has_alias = alias_j != NULL;
    m->alias = c.alias;
    m->has_timestamp = true; /* as the specification's NCMD example */
    m->timestamp = (uint64_t)ts_ms;
    m->has_datatype = true;
    m->datatype = (uint32_t)dt;
    if (json_is_null(v)) { /* an explicit null: is_null, no value field */
        m->has_is_null = m->is_null = true;
        return MKB_OK;
    }
    return set_value(&c, m, v, dt, &e->bytes[i]);
}

/* The metrics of CMD, either form (spb_encode.h), into E. */
static int encode_metrics(enc_t *e, json_t *cmd, int64_t ts_ms, char *why, size_t why_size)
{
    json_t *list = json_object_get(cmd, "metrics");
    int rc;
    if (!json_is_array(list)) { /* the plain form: {"name": value, ...} */
        size_t i = 0;
        for (void *it = json_object_iter(cmd); it; it = json_object_iter_next(cmd, it))
            if ((rc = encode_metric(e, i++, json_object_iter_key(it), NULL, NULL,
                                    json_object_iter_value(it), ts_ms, why, why_size)))
                return rc;
        return MKB_OK;
    }
    for (size_t i = 0; i < e->n; i++) {
        json_t *o = json_array_get(list, i);
        json_t *name = json_object_get(o, "name"), *v = json_object_get(o, "value");
        if (!json_is_object(o) || !v || (name && !json_is_string(name))) {
            snprintf(why, why_size,
                     "metrics[%zu] is not an object with a \"name\" string "
                     "(or an \"alias\") and a \"value\"",
                     i);
            return MKB_ERR_INVAL;
        }
        if ((rc = encode_metric(e, i, json_string_value(name), json_object_get(o, "alias"),
                                json_object_get(o, "datatype"), v, ts_ms, why, why_size)))
            return rc;
    }
    return MKB_OK;
}

/* Packs the payload of TS_MS and E's metrics onto OUT. */
static int pack(const enc_t *e, int64_t ts_ms, buf_t *out)
{
    pb_payload_t p = ORG__ECLIPSE__TAHU__PROTOBUF__PAYLOAD__INIT;
    p.has_timestamp = true;
    p.timestamp = (uint64_t)ts_ms;
    p.n_metrics = e->n;
    p.metrics = e->ptrs;
    size_t size = org__eclipse__tahu__protobuf__payload__get_packed_size(&p);
    if (buf_reserve(out, size) != MKB_OK)
        return MKB_ERR_NOMEM;
    out->len += org__eclipse__tahu__protobuf__payload__pack(&p, (uint8_t *)out->p + out->len);
    return MKB_OK;
}

int spb_encode_command(json_t *cmd, int64_t ts_ms, spb_resolve_t resolve, void *resolve_ctx,
                       buf_t *out, char *why, size_t why_size)
{
    enc_t e = {.resolve = resolve, .rctx = resolve_ctx};
    json_t *list = json_object_get(cmd, "metrics");
    int rc = MKB_ERR_INVAL;
    if (!json_is_object(cmd)) {
        snprintf(why, why_size,
                 "a Sparkplug B command is a JSON object: {\"metrics\": [...]} "
                 "or {\"name\": value, ...}");
        return MKB_ERR_INVAL;
    }
    e.n = json_is_array(list) ? json_array_size(list) : json_object_size(cmd);
    if (!e.n) {
        snprintf(why, why_size, "no metrics: a Sparkplug B command sets at least one");
        return MKB_ERR_INVAL;
    }
    e.m = calloc(e.n, sizeof(*e.m));
    // NOLINTNEXTLINE(bugprone-sizeof-expression): an array of pointers
    e.ptrs = calloc(e.n, sizeof(*e.ptrs));
    e.bytes = calloc(e.n, sizeof(*e.bytes));
    if (!e.m || !e.ptrs || !e.bytes) {
        snprintf(why, why_size, "out of memory");
        rc = MKB_ERR_NOMEM;
        goto cleanup;
    }
    for (size_t i = 0; i < e.n; i++)
        e.ptrs[i] = &e.m[i];
    if ((rc = encode_metrics(&e, cmd, ts_ms, why, why_size)))
        goto cleanup;
    if ((rc = pack(&e, ts_ms, out)))
        snprintf(why, why_size, "out of memory");
cleanup:
    for (size_t i = 0; e.bytes && i < e.n; i++)
        buf_free(&e.bytes[i]);
    free(e.bytes);
    free(e.ptrs);
    free(e.m);
    return rc;
}

int spb_encode_rebirth(int64_t ts_ms, buf_t *out)
{
    pb_metric_t m = PB_METRIC_INIT;
    pb_metric_t *ptrs[] = {&m};
    m.name = (char *)"Node Control/Rebirth";
    m.has_timestamp = true;
    m.timestamp = (uint64_t)ts_ms;
    m.has_datatype = true;
    m.datatype = SPB_DT_BOOLEAN;
    m.value_case = V_BOOL;
    m.boolean_value = true;
    enc_t e = {.ptrs = ptrs, .n = 1};
    return pack(&e, ts_ms, out);
}
