// SPDX-FileCopyrightText: 2026 The mqtt-kafka-bridge authors
// SPDX-License-Identifier: Apache-2.0
#include "jdump.h"

#include "err.h"

#include <inttypes.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#define JDUMP_MAX_DEPTH 2048

/* The room for N more bytes at the end of OUT, or NULL. */
static char *room(buf_t *out, size_t n)
{
    return buf_reserve(out, n) == MKB_OK ? out->p + out->len : NULL;
}

/* The decimal digits of U, backwards from END; the first digit's address. */
static char *utoa_back(char *end, uint64_t u)
{
    do {
        *--end = (char)('0' + u % 10);
        u /= 10;
    } while (u);
    return end;
}

static int put_integer(buf_t *out, json_int_t i)
{
    char tmp[24], *end = tmp + sizeof(tmp);
    uint64_t u = i < 0 ? 0 - (uint64_t)i : (uint64_t)i;
    char *p = utoa_back(end, u);
    if (i < 0)
        *--p = '-';
    return buf_append(out, p, (size_t)(end - p));
}

/* D written as %.15g would, when it is a decimal of at most 15 significant
 * digits and up to 6 decimals in [1e-4, 1e15): the nearest double to such
 * a decimal prints as that decimal at 15 digits (DBL_DIG), so the digits
 * come from the integer M = D * 10^K, the smallest K for which M / 10^K
 * gives D back. Into TEXT (ends at END); its start, or NULL when D is not
 * such a number. */
static char *short_real(char *end, double d)
{
    static const double p10[] = {1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6};
    double a = fabs(d);
    if (!(a >= 1e-4 && a < 1e15))
        return NULL;
    for (int k = 0; k < 7; k++) {
        double m = a * p10[k];
        if (m >= 1e15)
            return NULL;
        if (m != trunc(m) || m / p10[k] != a)
            continue;
        char *p = end;
        uint64_t u = (uint64_t)m;
        for (; k > 0 && u % 10 == 0; k--) /* a*10^(k-1) may have missed */
            u /= 10;
        if (k == 0) { /* jansson adds ".0" to a real without a point */
            *--p = '0';
            *--p = '.';
        }
        for (int i = 0; i < k; i++, u /= 10)
            *--p = (char)('0' + u % 10);
        if (k > 0)
            *--p = '.';
        p = utoa_back(p, u);
        if (d < 0)
            *--p = '-';
        return p;
    }
    return NULL;
}

/* jansson's jsonp_dtostr: %.*g, ".0" when neither a point nor an exponent
 * is in it, the exponent without '+' or leading zeros. */
static size_t dtostr(char *text, size_t size, double d, int digits)
{
    int n = snprintf(text, size, "%.*g", digits, d);
    if (n < 0 || (size_t)n + 3 >= size)
        return 0;
    size_t len = (size_t)n;
    if (!strchr(text, '.') && !strchr(text, 'e')) {
        memcpy(text + len, ".0", 3);
        len += 2;
    }
    char *start = strchr(text, 'e');
    if (start) {
        start++;
        char *end = start + 1;
        if (*start == '-')
            start++;
        while (*end == '0')
            end++;
        if (end != start) {
            memmove(start, end, len - (size_t)(end - text) + 1);
            len -= (size_t)(end - start);
        }
    }
    return len;
}

static int put_real(buf_t *out, double d, int digits)
{
    char text[40];
    char *p = digits == 15 ? short_real(text + sizeof(text), d) : NULL;
    if (p)
        return buf_append(out, p, (size_t)(text + sizeof(text) - p));
    size_t len = dtostr(text, sizeof(text), d, digits);
    return len ? buf_append(out, text, len) : MKB_ERR_INVAL;
}

/* S[0..LEN) quoted, escaped as jansson escapes without flags: '"', '\\'
 * and the control characters; UTF-8 as it is (jansson's strings are
 * valid UTF-8 already). */
static int put_string(buf_t *out, const char *s, size_t len)
{
    static const char hex[] = "0123456789ABCDEF";
    char *p = room(out, len * 6 + 2); /* \u00XX at most, per byte */
    if (!p)
        return MKB_ERR_NOMEM;
    char *start = p;
    *p++ = '"';
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c >= 0x20 && c != '"' && c != '\\') {
            *p++ = (char)c;
            continue;
        }
        *p++ = '\\';
        switch (c) {
        case '"': *p++ = '"'; break;
        case '\\': *p++ = '\\'; break;
        case '\b': *p++ = 'b'; break;
        case '\f': *p++ = 'f'; break;
        case '\n': *p++ = 'n'; break;
        case '\r': *p++ = 'r'; break;
        case '\t': *p++ = 't'; break;
        default:
            p[0] = 'u';
            p[1] = '0';
            p[2] = '0';
            p[3] = hex[c >> 4];
            p[4] = hex[c & 15];
            p += 5;
        }
    }
    *p++ = '"';
    out->len += (size_t)(p - start);
    return MKB_OK;
}

static int put_value(buf_t *out, const json_t *v, int digits, int depth);

static int put_object(buf_t *out, const json_t *v, int digits, int depth)
{
    if (buf_append(out, "{", 1) != MKB_OK)
        return MKB_ERR_NOMEM;
    const char *k;
    size_t klen;
    json_t *e;
    bool first = true;
    json_object_keylen_foreach((json_t *)v, k, klen, e)
    {
        if (!first && buf_append(out, ",", 1) != MKB_OK)
            return MKB_ERR_NOMEM;
        first = false;
        int rc = put_string(out, k, klen);
        if (rc == MKB_OK)
            rc = buf_append(out, ":", 1);
        if (rc == MKB_OK)
            rc = put_value(out, e, digits, depth + 1);
        if (rc != MKB_OK)
            return rc;
    }
    return buf_append(out, "}", 1);
}

static int put_array(buf_t *out, const json_t *v, int digits, int depth)
{
    if (buf_append(out, "[", 1) != MKB_OK)
        return MKB_ERR_NOMEM;
    for (size_t i = 0; i < json_array_size(v); i++) {
        if (i && buf_append(out, ",", 1) != MKB_OK)
            return MKB_ERR_NOMEM;
        int rc = put_value(out, json_array_get(v, i), digits, depth + 1);
        if (rc != MKB_OK)
            return rc;
    }
    return buf_append(out, "]", 1);
}

static int put_value(buf_t *out, const json_t *v, int digits, int depth)
{
    if (depth > JDUMP_MAX_DEPTH)
        return MKB_ERR_INVAL;
    switch (json_typeof(v)) {
    case JSON_OBJECT: return put_object(out, v, digits, depth);
    case JSON_ARRAY: return put_array(out, v, digits, depth);
    case JSON_STRING: return put_string(out, json_string_value(v), json_string_length(v));
    case JSON_INTEGER: return put_integer(out, json_integer_value(v));
    case JSON_REAL: return put_real(out, json_real_value(v), digits);
    case JSON_TRUE: return buf_append(out, "true", 4);
    case JSON_FALSE: return buf_append(out, "false", 5);
    case JSON_NULL: return buf_append(out, "null", 4);
    }
    return MKB_ERR_INVAL;
}

int jdump_append(buf_t *out, const json_t *v, int digits)
{
    if (!v || digits < 1 || digits > 17)
        return MKB_ERR_INVAL;
    size_t len = out->len;
    int rc = put_value(out, v, digits, 0);
    if (rc != MKB_OK)
        out->len = len; /* nothing half written */
    return rc;
}
