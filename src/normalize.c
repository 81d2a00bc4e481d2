// SPDX-FileCopyrightText: 2026 The mqtt-kafka-bridge authors
// SPDX-License-Identifier: Apache-2.0
#include "normalize.h"

#include "err.h"
#include "jparse.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

bool norm_depth_ok(const char *data, size_t len, int max_depth)
{
    int depth = 0;
    bool in_str = false;
    for (size_t i = 0; i < len; i++) {
        char c = data[i];
        if (in_str) {
            if (c == '\\')
                i++;
            else if (c == '"')
                in_str = false;
        } else if (c == '"') {
            in_str = true;
        } else if (c == '{' || c == '[') {
            if (++depth > max_depth)
                return false;
        } else if (c == '}' || c == ']') {
            depth--;
        }
    }
    return true;
}

static bool trim(const char **p, size_t *len)
{
    while (*len && isspace((unsigned char)**p)) {
        (*p)++;
        (*len)--;
    }
    while (*len && isspace((unsigned char)(*p)[*len - 1]))
        (*len)--;
    return *len > 0;
}

/* Strict number text: optional sign, digits, fraction, exponent. */
static int parse_number(const char *p, size_t len, json_t **out)
{
    char buf[64];
    if (!trim(&p, &len) || len >= sizeof(buf))
        return MKB_ERR_INVAL;
    memcpy(buf, p, len);
    buf[len] = '\0';
    bool integral = strspn(buf + (buf[0] == '-' || buf[0] == '+'), "0123456789") ==
                    len - (buf[0] == '-' || buf[0] == '+');
    char *end;
    errno = 0;
    if (integral) {
        long long v = strtoll(buf, &end, 10);
        if (errno == 0 && end == buf + len && end != buf) {
            *out = json_integer(v);
            return *out ? MKB_OK : MKB_ERR_NOMEM;
        }
        errno = 0;
    }
    double d = strtod(buf, &end);
    if (errno || end != buf + len || end == buf || !isfinite(d) || isalpha((unsigned char)buf[0]) ||
        strpbrk(buf, "xXnN")) /* no hex, inf or nan spellings */
        return MKB_ERR_INVAL;
    *out = json_real(d);
    return *out ? MKB_OK : MKB_ERR_NOMEM;
}

int norm_parse_payload(norm_payload_t kind, const void *data, size_t len, int max_depth,
                       json_t **out, char *why, size_t why_size)
{
    json_t *v = NULL;
    switch (kind) {
    case NORM_PAYLOAD_JSON: {
        char jwhy[200];
        v = jparse(data, len, max_depth, jwhy, sizeof(jwhy));
        if (!v) {
            snprintf(why, why_size, "invalid JSON at %s", jwhy);
            return MKB_ERR_INVAL;
        }
        *out = v;
        return MKB_OK;
    }
    case NORM_PAYLOAD_NUMBER: {
        json_t *num = NULL;
        int rc = parse_number(data, len, &num);
        if (rc != MKB_OK) {
            snprintf(why, why_size, "payload is not a number");
            return rc;
        }
        v = json_object();
        if (!v || json_object_set_new(v, "value", num) != 0) {
            json_decref(v);
            return MKB_ERR_NOMEM;
        }
        *out = v;
        return MKB_OK;
    }
    case NORM_PAYLOAD_TEXT: {
        /* json_stringn takes NUL bytes (the value would carry \u0000, which
         * the JSON route refuses): refuse them here too. */
        const char *nul = memchr(data, '\0', len);
        if (nul) {
            snprintf(why, why_size, "payload has a NUL byte at offset %zu; text is UTF-8 without "
                                    "NUL",
                     (size_t)(nul - (const char *)data));
            return MKB_ERR_INVAL;
        }
        size_t bad = jparse_utf8_check(data, len);
        if (bad < len) {
            snprintf(why, why_size, "payload is not UTF-8 text: invalid UTF-8 at byte %zu",
                     bad + 1);
            return MKB_ERR_INVAL;
        }
        json_t *s = json_stringn_nocheck(data, len); /* checked just above */
        if (!s)
            return MKB_ERR_NOMEM;
        v = json_object();
        if (!v || json_object_set_new(v, "value", s) != 0) {
            json_decref(v);
            return MKB_ERR_NOMEM;
        }
        *out = v;
        return MKB_OK;
    }
    case NORM_PAYLOAD_RAW:
    case NORM_PAYLOAD_SPARKPLUG_B: /* spb.c decodes it, with the birth state */
        break;
    }
    snprintf(why, why_size, "%s payloads are not parsed here",
             kind == NORM_PAYLOAD_RAW ? "raw" : "sparkplug_b");
    return MKB_ERR_INVAL;
}

bool norm_number(json_t *v, double *out)
{
    if (json_is_number(v)) {
        *out = json_number_value(v);
        return true;
    }
    if (json_is_string(v)) {
        json_t *n = NULL;
        if (parse_number(json_string_value(v), json_string_length(v), &n) != MKB_OK)
            return false;
        *out = json_number_value(n);
        json_decref(n);
        return true;
    }
    return false;
}

static const char *type_name(json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_OBJECT: return "an object";
    case JSON_ARRAY: return "an array";
    case JSON_STRING: return "a string";
    case JSON_INTEGER:
    case JSON_REAL: return "a number";
    case JSON_TRUE:
    case JSON_FALSE: return "a boolean";
    case JSON_NULL: return "null";
    }
    return "?";
}

int norm_coerce(json_t *v, norm_type_t type, json_t **out, char *why, size_t why_size)
{
    double d;
    switch (type) {
    case NORM_TYPE_ANY:
        *out = json_incref(v);
        return MKB_OK;
    case NORM_TYPE_NUMBER:
        if (json_is_number(v)) {
            *out = json_incref(v);
            return MKB_OK;
        }
        if (norm_number(v, &d)) {
            *out = json_real(d);
            return *out ? MKB_OK : MKB_ERR_NOMEM;
        }
        snprintf(why, why_size, "expected a number, found %s", type_name(v));
        return MKB_ERR_INVAL;
    case NORM_TYPE_INTEGER:
        if (json_is_integer(v)) {
            *out = json_incref(v);
            return MKB_OK;
        }
        if (norm_number(v, &d)) {
            if (d > 9.2e18 || d < -9.2e18) {
                snprintf(why, why_size, "%g is out of the integer range", d);
                return MKB_ERR_INVAL;
            }
            *out = json_integer((json_int_t)llround(d)); /* nearest, halves away from 0 */
            return *out ? MKB_OK : MKB_ERR_NOMEM;
        }
        snprintf(why, why_size, "expected an integer, found %s", type_name(v));
        return MKB_ERR_INVAL;
    case NORM_TYPE_STRING:
        if (json_is_string(v)) {
            *out = json_incref(v);
            return MKB_OK;
        }
        if (json_is_object(v) || json_is_array(v) || json_is_null(v)) {
            snprintf(why, why_size, "expected a string, found %s", type_name(v));
            return MKB_ERR_INVAL;
        }
        {
            /* a number or a boolean: short text, formatted as jansson would */
            char text[64];
            size_t n = json_dumpb(v, text, sizeof(text), JSON_ENCODE_ANY | JSON_REAL_PRECISION(15));
            if (n == 0 || n >= sizeof(text))
                return MKB_ERR_INVAL;
            *out = json_stringn(text, n);
        }
        return *out ? MKB_OK : MKB_ERR_NOMEM;
    case NORM_TYPE_BOOLEAN:
        if (json_is_boolean(v)) {
            *out = json_incref(v);
            return MKB_OK;
        }
        if (json_is_integer(v) && (json_integer_value(v) == 0 || json_integer_value(v) == 1)) {
            *out = json_boolean(json_integer_value(v) == 1);
            return MKB_OK;
        }
        if (json_is_string(v)) {
            static const char *const t[] = {"true", "1", "on", "yes"};
            static const char *const f[] = {"false", "0", "off", "no"};
            for (size_t i = 0; i < 4; i++) {
                if (strcasecmp(json_string_value(v), t[i]) == 0) {
                    *out = json_true();
                    return MKB_OK;
                }
                if (strcasecmp(json_string_value(v), f[i]) == 0) {
                    *out = json_false();
                    return MKB_OK;
                }
            }
        }
        snprintf(why, why_size, "expected a boolean, found %s", type_name(v));
        return MKB_ERR_INVAL;
    }
    return MKB_ERR_INVAL;
}

const norm_conversion_t norm_conversions[] = {
    {"fahrenheit_to_celsius", 5.0 / 9.0, -160.0 / 9.0},
    {"celsius_to_fahrenheit", 9.0 / 5.0, 32.0},
    {"kelvin_to_celsius", 1.0, -273.15},
    {"celsius_to_kelvin", 1.0, 273.15},
    {"wh_to_kwh", 0.001, 0.0},
    {"kwh_to_wh", 1000.0, 0.0},
    {"pa_to_hpa", 0.01, 0.0},
    {"hpa_to_pa", 100.0, 0.0},
    {"psi_to_kpa", 6.894757293168361, 0.0},
    {"kpa_to_psi", 1.0 / 6.894757293168361, 0.0},
    {"mph_to_kmh", 1.609344, 0.0},
    {"kmh_to_mph", 1.0 / 1.609344, 0.0},
    {"ms_to_s", 0.001, 0.0},
    {"s_to_ms", 1000.0, 0.0},
    {"percent_to_ratio", 0.01, 0.0},
    {"ratio_to_percent", 100.0, 0.0},
    {NULL, 0.0, 0.0},
};

bool norm_conversion(const char *name, double *scale, double *offset)
{
    for (size_t i = 0; norm_conversions[i].name; i++) {
        if (strcmp(name, norm_conversions[i].name) == 0) {
            *scale = norm_conversions[i].scale;
            *offset = norm_conversions[i].offset;
            return true;
        }
    }
    return false;
}

static int digits(const char *s, int n)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (!isdigit((unsigned char)s[i]))
            return -1;
        v = v * 10 + (s[i] - '0');
    }
    return v;
}

/* ISO 8601: YYYY-MM-DD[T ]HH:MM[:SS[.fff...]][Z|+HH:MM|+HHMM|+HH]; no zone:
 * local time of TZ (UTC when TZ is NULL). */
static int parse_iso(const char *s, size_t len, const tz_t *tz, int64_t *ms)
{
    char b[64];
    if (len < 16 || len >= sizeof(b))
        return MKB_ERR_INVAL;
    memcpy(b, s, len);
    b[len] = '\0';
    int Y = digits(b, 4), M = digits(b + 5, 2), D = digits(b + 8, 2);
    int h = digits(b + 11, 2), mi = digits(b + 14, 2), sec = 0;
    if (Y < 1970 || b[4] != '-' || b[7] != '-' || (b[10] != 'T' && b[10] != 't' && b[10] != ' ') ||
        b[13] != ':' || M < 1 || M > 12 || D < 1 || D > 31 || h < 0 || h > 23 || mi < 0 || mi > 59)
        return MKB_ERR_INVAL;
    const char *p = b + 16;
    int frac_ms = 0;
    if (*p == ':') {
        if ((sec = digits(p + 1, 2)) < 0 || sec > 60)
            return MKB_ERR_INVAL;
        p += 3;
        if (*p == '.' || *p == ',') {
            p++;
            int nd = 0;
            while (isdigit((unsigned char)*p)) {
                if (nd < 3)
                    frac_ms = frac_ms * 10 + (*p - '0');
                nd++;
                p++;
            }
            if (nd == 0)
                return MKB_ERR_INVAL;
            for (; nd < 3; nd++)
                frac_ms *= 10;
        }
    }
    int off_min = 0;
    bool zoned = *p != '\0';
    if (*p == 'Z' || *p == 'z') {
        p++;
    } else if (*p == '+' || *p == '-') {
        int sign = *p == '-' ? -1 : 1;
        int oh = digits(p + 1, 2), om = 0;
        if (oh < 0 || oh > 23)
            return MKB_ERR_INVAL;
        p += 3;
        if (*p == ':')
            p++;
        if (isdigit((unsigned char)*p)) {
            if ((om = digits(p, 2)) < 0 || om > 59)
                return MKB_ERR_INVAL;
            p += 2;
        }
        off_min = sign * (oh * 60 + om);
    }
    if (*p != '\0')
        return MKB_ERR_INVAL;
    struct tm tm = {0};
    tm.tm_year = Y - 1900;
    tm.tm_mon = M - 1;
    tm.tm_mday = D;
    tm.tm_hour = h;
    tm.tm_min = mi;
    tm.tm_sec = sec == 60 ? 59 : sec; /* a leap second (23:59:60) must not change the day */
    time_t t = timegm(&tm);
    if (t == (time_t)-1 || tm.tm_mday != D) /* 2026-02-30 normalizes to March */
        return MKB_ERR_INVAL;
    int64_t u = (int64_t)t + (sec == 60) - (int64_t)off_min * 60;
    if (!zoned && tz && tz_local_to_utc(tz, u, &u) != MKB_OK)
        return MKB_ERR_INVAL;
    *ms = u * 1000 + frac_ms;
    return MKB_OK;
}

/* 1970 .. 9999, the years the canonical ISO 8601 form can write. */
static bool time_in_range(double ms) { return ms >= 0 && ms < 253402300800000.0; }

int norm_parse_time(json_t *v, norm_ts_format_t fmt, int64_t *ms, char *why, size_t why_size)
{
    return norm_parse_time_tz(v, fmt, NULL, ms, why, why_size);
}

int norm_parse_time_tz(json_t *v, norm_ts_format_t fmt, const tz_t *tz, int64_t *ms, char *why,
                       size_t why_size)
{
    double d;
    bool numeric = json_is_number(v) || (json_is_string(v) && fmt != NORM_TS_ISO8601 &&
                                         norm_number(v, &d));
    if (numeric && fmt != NORM_TS_ISO8601) {
        norm_number(v, &d);
        bool as_ms = fmt == NORM_TS_EPOCH_MS || (fmt == NORM_TS_AUTO && fabs(d) >= 1e11);
        double m = as_ms ? d : d * 1000.0;
        if (!time_in_range(m)) {
            snprintf(why, why_size, "timestamp %g is out of range", d);
            return MKB_ERR_INVAL;
        }
        *ms = (int64_t)llround(m);
        return MKB_OK;
    }
    int64_t iso;
    if (json_is_string(v) && fmt != NORM_TS_EPOCH_S && fmt != NORM_TS_EPOCH_MS &&
        parse_iso(json_string_value(v), json_string_length(v), tz, &iso) == MKB_OK) {
        if (!time_in_range((double)iso)) { /* a zone moved it out */
            snprintf(why, why_size, "timestamp '%.64s' is out of range", json_string_value(v));
            return MKB_ERR_INVAL;
        }
        *ms = iso;
        return MKB_OK;
    }
    if (json_is_string(v))
        snprintf(why, why_size, "timestamp '%.64s' is not %s", json_string_value(v),
                 fmt == NORM_TS_ISO8601 ? "ISO 8601" : fmt == NORM_TS_AUTO ? "epoch or ISO 8601"
                                                                         : "an epoch number");
    else if (numeric) /* iso8601 */
        snprintf(why, why_size, "timestamp is a number, not an ISO 8601 string");
    else
        snprintf(why, why_size, "timestamp is %s, not a number or a string", type_name(v));
    return MKB_ERR_INVAL;
}
