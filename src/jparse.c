// SPDX-FileCopyrightText: 2026 The mqtt-kafka-bridge authors
// SPDX-License-Identifier: Apache-2.0
#include "jparse.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    const unsigned char *p, *start, *end;
    int depth, max_depth;
    bool too_deep;
    const char *err; /* static text */
    const unsigned char *err_at;
    bool bad_utf8; /* the failure is at an invalid UTF-8 sequence */
    char *scratch; /* decoded strings with escapes */
    size_t scap;
} parser_t;

static json_t *value(parser_t *ps);
static size_t utf8_len(const unsigned char *p, const unsigned char *end);

/* Keeps the first failure. Whatever the parser expected there, a byte that
 * starts no valid UTF-8 sequence is named as such. */
static void *fail(parser_t *ps, const char *why)
{
    if (!ps->err) {
        ps->err = why;
        ps->err_at = ps->p;
        ps->bad_utf8 = ps->p < ps->end && *ps->p >= 0x80 && !utf8_len(ps->p, ps->end);
    }
    return NULL;
}

static void skip_ws(parser_t *ps)
{
    while (ps->p < ps->end && (*ps->p == ' ' || *ps->p == '\n' || *ps->p == '\r' || *ps->p == '\t'))
        ps->p++;
}

/* Length of the valid UTF-8 sequence at P (bytes >= 0x80), or 0. */
static size_t utf8_len(const unsigned char *p, const unsigned char *end)
{
    unsigned c = p[0];
    size_t n;
    uint32_t cp;
    if (c >= 0xC2 && c <= 0xDF) {
        n = 2;
        cp = c & 0x1F;
    } else if (c >= 0xE0 && c <= 0xEF) {
        n = 3;
        cp = c & 0x0F;
    } else if (c >= 0xF0 && c <= 0xF4) {
        n = 4;
        cp = c & 0x07;
    } else {
        return 0;
    }
    if ((size_t)(end - p) < n)
        return 0;
    for (size_t i = 1; i < n; i++) {
        if ((p[i] & 0xC0) != 0x80)
            return 0;
        cp = (cp << 6) | (p[i] & 0x3F);
    }
    /* overlong forms, surrogates, beyond U+10FFFF */
    if ((n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) || cp > 0x10FFFF ||
        (cp >= 0xD800 && cp <= 0xDFFF))
        return 0;
    return n;
}

static int hex4(const unsigned char *p)
{
    int v = 0;
    for (int i = 0; i < 4; i++) {
        int c = p[i], d;
        if (c >= '0' && c <= '9')
            d = c - '0';
        else if (c >= 'a' && c <= 'f')
            d = c - 'a' + 10;
        else if (c >= 'A' && c <= 'F')
            d = c - 'A' + 10;
        else
            return -1;
        v = v * 16 + d;
    }
    return v;
}

static bool put(parser_t *ps, size_t *n, const void *b, size_t len)
{
    if (len == 0)
        return true;
    if (*n + len > ps->scap) {
        size_t cap = ps->scap ? ps->scap * 2 : 256;
        while (cap < *n + len)
            cap *= 2;
        char *s = realloc(ps->scratch, cap);
        if (!s)
            return false;
        ps->scratch = s;
        ps->scap = cap;
    }
    memcpy(ps->scratch + *n, b, len);
    *n += len;
    return true;
}

/* Encodes code point CP as UTF-8 into B; returns the length (1 to 4). */
static size_t utf8_put(uint32_t cp, unsigned char b[4])
{
    if (cp < 0x80) {
        b[0] = (unsigned char)cp;
        return 1;
    }
    if (cp < 0x800) {
        b[0] = (unsigned char)(0xC0 | (cp >> 6));
        b[1] = (unsigned char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        b[0] = (unsigned char)(0xE0 | (cp >> 12));
        b[1] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
        b[2] = (unsigned char)(0x80 | (cp & 0x3F));
        return 3;
    }
    b[0] = (unsigned char)(0xF0 | (cp >> 18));
    b[1] = (unsigned char)(0x80 | ((cp >> 12) & 0x3F));
    b[2] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
    b[3] = (unsigned char)(0x80 | (cp & 0x3F));
    return 4;
}

/* Decodes a \u escape at ps->p (after the "\u"), a surrogate pair
 * included, and appends its UTF-8 to the scratch at *n. */
static bool unicode_escape(parser_t *ps, size_t *n)
{
    int hi = ps->end - ps->p >= 4 ? hex4(ps->p) : -1;
    if (hi < 0)
        return fail(ps, "invalid \\u escape"), false;
    ps->p += 4;
    uint32_t cp = (uint32_t)hi;
    if (hi >= 0xD800 && hi <= 0xDBFF) {
        int lo = ps->end - ps->p >= 6 && ps->p[0] == '\\' && ps->p[1] == 'u' ? hex4(ps->p + 2)
                                                                             : -1;
        if (lo < 0xDC00 || lo > 0xDFFF)
            return fail(ps, "lone surrogate in a \\u escape"), false;
        ps->p += 6;
        cp = 0x10000 + (((uint32_t)hi - 0xD800) << 10) + ((uint32_t)lo - 0xDC00);
    } else if (hi >= 0xDC00 && hi <= 0xDFFF) {
        return fail(ps, "lone surrogate in a \\u escape"), false;
    } else if (hi == 0) {
        return fail(ps, "\\u0000 is not allowed"), false;
    }
    unsigned char b[4];
    size_t bl = utf8_put(cp, b);
    if (!put(ps, n, b, bl))
        return fail(ps, "out of memory"), false;
    return true;
}

/* Decodes one escape at ps->p (on the backslash) into the scratch at *n. */
static bool escape(parser_t *ps, size_t *n)
{
    if (ps->end - ps->p < 2)
        return fail(ps, "unterminated string"), false;
    unsigned e = ps->p[1];
    char ch;
    ps->p += 2;
    switch (e) {
    case '"': ch = '"'; break;
    case '\\': ch = '\\'; break;
    case '/': ch = '/'; break;
    case 'b': ch = '\b'; break;
    case 'f': ch = '\f'; break;
    case 'n': ch = '\n'; break;
    case 'r': ch = '\r'; break;
    case 't': ch = '\t'; break;
    case 'u': return unicode_escape(ps, n);
    default: return fail(ps, "invalid escape in a string"), false;
    }
    if (!put(ps, n, &ch, 1))
        return fail(ps, "out of memory"), false;
    return true;
}

/* The slow path of string(): the string from S has escapes; decode it into
 * the scratch buffer, ps->p on the first backslash. */
static bool escaped_string(parser_t *ps, const unsigned char *s, const char **out, size_t *len)
{
    size_t n = 0;
    if (!put(ps, &n, s, (size_t)(ps->p - s)))
        return fail(ps, "out of memory"), false;
    while (ps->p < ps->end) {
        unsigned c = *ps->p;
        if (c == '"') {
            ps->p++;
            *out = n ? ps->scratch : "";
            *len = n;
            return true;
        }
        if (c < 0x20)
            return fail(ps, "control character in a string"), false;
        size_t u = 1;
        if (c >= 0x80 && !(u = utf8_len(ps->p, ps->end)))
            return fail(ps, "invalid UTF-8"), false;
        if (c == '\\') {
            if (!escape(ps, &n))
                return false;
            continue;
        }
        if (!put(ps, &n, ps->p, u))
            return fail(ps, "out of memory"), false;
        ps->p += u;
    }
    return fail(ps, "unterminated string"), false;
}

/* Parses a string at ps->p (on the quote). On success *out and *len give
 * the text (in the input when it had no escapes, else in the scratch). */
static bool string(parser_t *ps, const char **out, size_t *len)
{
    const unsigned char *s = ++ps->p;
    /* Fast path: no escapes. */
    while (ps->p < ps->end) {
        unsigned c = *ps->p;
        if (c == '"') {
            *out = (const char *)s;
            *len = (size_t)(ps->p - s);
            ps->p++;
            return true;
        }
        if (c == '\\')
            return escaped_string(ps, s, out, len);
        if (c < 0x20)
            return fail(ps, "control character in a string"), false;
        if (c < 0x80) {
            ps->p++;
        } else {
            size_t n = utf8_len(ps->p, ps->end);
            if (!n)
                return fail(ps, "invalid UTF-8"), false;
            ps->p += n;
        }
    }
    return fail(ps, "unterminated string"), false;
}

static bool digit(const unsigned char *p, const unsigned char *end)
{
    return p < end && *p >= '0' && *p <= '9';
}

/* The real [S, END) without strtod when it has no exponent and at most 15
 * digits in all: its digits as an integer M < 10^15 < 2^53 and 10^K for
 * its K <= 15 decimals are both exact doubles, so M / 10^K is the correctly
 * rounded value, the one strtod gives (Clinger's fast path). False when the
 * text is not of that kind. */
static bool fast_real(const unsigned char *s, const unsigned char *end, double *out)
{
    static const double p10[] = {1e0, 1e1, 1e2,  1e3,  1e4,  1e5,  1e6,  1e7,
                                 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15};
    bool neg = *s == '-';
    uint64_t m = 0;
    int ndigits = 0, decimals = -1;
    for (const unsigned char *c = s + neg; c < end; c++) {
        if (*c == '.') {
            decimals = 0;
            continue;
        }
        if (*c < '0' || *c > '9' || ++ndigits > 15)
            return false; /* an exponent, or too many digits */
        m = m * 10 + (uint64_t)(*c - '0');
        if (decimals >= 0)
            decimals++;
    }
    double d = (double)m / p10[decimals < 0 ? 0 : decimals];
    *out = neg ? -d : d;
    return true;
}

/* The real S[0..N) (valid JSON number text): the fast path, else strtod. */
static json_t *real_value(parser_t *ps, const unsigned char *s, size_t n)
{
    double d;
    if (fast_real(s, s + n, &d))
        return json_real(d);
    char small[64], *buf = n < sizeof(small) ? small : malloc(n + 1);
    if (!buf)
        return fail(ps, "out of memory");
    memcpy(buf, s, n);
    buf[n] = '\0';
    errno = 0;
    d = strtod(buf, NULL);
    bool overflow = errno == ERANGE && (d == HUGE_VAL || d == -HUGE_VAL);
    if (buf != small)
        free(buf);
    if (overflow)
        return fail(ps, "real number overflow");
    return json_real(d);
}

static json_t *number(parser_t *ps)
{
    const unsigned char *s = ps->p;
    bool real = false;
    if (*ps->p == '-')
        ps->p++;
    if (!digit(ps->p, ps->end))
        return fail(ps, "invalid number");
    if (*ps->p == '0')
        ps->p++;
    else
        while (digit(ps->p, ps->end))
            ps->p++;
    if (ps->p < ps->end && *ps->p == '.') {
        real = true;
        ps->p++;
        if (!digit(ps->p, ps->end))
            return fail(ps, "invalid number");
        while (digit(ps->p, ps->end))
            ps->p++;
    }
    if (ps->p < ps->end && (*ps->p == 'e' || *ps->p == 'E')) {
        real = true;
        ps->p++;
        if (ps->p < ps->end && (*ps->p == '+' || *ps->p == '-'))
            ps->p++;
        if (!digit(ps->p, ps->end))
            return fail(ps, "invalid number");
        while (digit(ps->p, ps->end))
            ps->p++;
    }
    size_t n = (size_t)(ps->p - s);
    if (!real) {
        /* Accumulate negatively: covers INT64_MIN. */
        bool neg = *s == '-';
        long long v = 0;
        for (const unsigned char *d = s + neg; d < ps->p; d++) {
            int dv = *d - '0';
            if (v < (LLONG_MIN + dv) / 10)
                return fail(ps, "too big integer");
            v = v * 10 - dv;
        }
        if (!neg) {
            if (v == LLONG_MIN)
                return fail(ps, "too big integer");
            v = -v;
        }
        return json_integer(v);
    }
    return real_value(ps, s, n);
}

static json_t *object(parser_t *ps)
{
    json_t *o = json_object();
    if (!o)
        return fail(ps, "out of memory");
    ps->p++;
    skip_ws(ps);
    if (ps->p < ps->end && *ps->p == '}') {
        ps->p++;
        return o;
    }
    for (;;) {
        skip_ws(ps);
        if (ps->p >= ps->end || *ps->p != '"')
            goto bad;
        const char *k;
        size_t kl;
        if (!string(ps, &k, &kl))
            goto bad;
        /* the key may sit in the scratch buffer, which value() reuses */
        char kbuf[128], *key = kl < sizeof(kbuf) ? kbuf : malloc(kl + 1);
        if (!key) {
            fail(ps, "out of memory");
            goto bad;
        }
        memcpy(key, k, kl);
        key[kl] = '\0';
        skip_ws(ps);
        json_t *v = NULL;
        if (ps->p < ps->end && *ps->p == ':') {
            ps->p++;
            v = value(ps);
        } else {
            fail(ps, "':' expected");
        }
        if (!v || json_object_setn_new_nocheck(o, key, kl, v) != 0) {
            if (key != kbuf)
                free(key);
            goto bad;
        }
        if (key != kbuf)
            free(key);
        skip_ws(ps);
        if (ps->p < ps->end && *ps->p == ',') {
            ps->p++;
            continue;
        }
        if (ps->p < ps->end && *ps->p == '}') {
            ps->p++;
            return o;
        }
        fail(ps, "',' or '}' expected");
        goto bad;
    }
bad:
    fail(ps, "string or '}' expected");
    json_decref(o);
    return NULL;
}

static json_t *array(parser_t *ps)
{
    json_t *a = json_array();
    if (!a)
        return fail(ps, "out of memory");
    ps->p++;
    skip_ws(ps);
    if (ps->p < ps->end && *ps->p == ']') {
        ps->p++;
        return a;
    }
    for (;;) {
        json_t *v = value(ps);
        if (!v || json_array_append_new(a, v) != 0)
            goto bad;
        skip_ws(ps);
        if (ps->p < ps->end && *ps->p == ',') {
            ps->p++;
            continue;
        }
        if (ps->p < ps->end && *ps->p == ']') {
            ps->p++;
            return a;
        }
        fail(ps, "',' or ']' expected");
        goto bad;
    }
bad:
    json_decref(a);
    return NULL;
}

static bool word(parser_t *ps, const char *w, size_t n)
{
    if ((size_t)(ps->end - ps->p) < n || memcmp(ps->p, w, n) != 0)
        return false;
    ps->p += n;
    return true;
}

static json_t *value(parser_t *ps)
{
    skip_ws(ps);
    if (ps->p >= ps->end)
        return fail(ps, "unexpected end of input");
    switch (*ps->p) {
    case '{':
    case '[': {
        if (++ps->depth > ps->max_depth) {
            ps->too_deep = !ps->err;
            return fail(ps, "nested too deep");
        }
        json_t *v = *ps->p == '{' ? object(ps) : array(ps);
        ps->depth--;
        return v;
    }
    case '"': {
        const char *s;
        size_t n;
        if (!string(ps, &s, &n))
            return NULL;
        json_t *v = json_stringn_nocheck(s, n); /* validated above */
        return v ? v : fail(ps, "out of memory");
    }
    case 't': return word(ps, "true", 4) ? json_true() : fail(ps, "invalid token");
    case 'f': return word(ps, "false", 5) ? json_false() : fail(ps, "invalid token");
    case 'n': return word(ps, "null", 4) ? json_null() : fail(ps, "invalid token");
    default:
        if (*ps->p == '-' || (*ps->p >= '0' && *ps->p <= '9'))
            return number(ps);
        return fail(ps, "invalid token");
    }
}

json_t *jparse(const char *text, size_t len, int max_depth, char *why, size_t why_size)
{
    parser_t ps = {0};
    ps.p = ps.start = (const unsigned char *)text;
    ps.end = ps.p + len;
    ps.max_depth = max_depth;
    json_t *v = value(&ps);
    if (v) {
        skip_ws(&ps);
        if (ps.p != ps.end) {
            fail(&ps, "end of input expected");
            json_decref(v);
            v = NULL;
        }
    }
    if (!v) {
        int line = 1;
        const unsigned char *ls = ps.start;
        for (const unsigned char *q = ps.start; q < ps.err_at; q++)
            if (*q == '\n') {
                line++;
                ls = q + 1;
            }
        if (ps.too_deep)
            snprintf(why, why_size, "line %d column %d: nested deeper than %d levels", line,
                     (int)(ps.err_at - ls) + 1, max_depth);
        else if (ps.bad_utf8)
            snprintf(why, why_size, "line %d column %d: invalid UTF-8 at byte %zu", line,
                     (int)(ps.err_at - ls) + 1, (size_t)(ps.err_at - ps.start) + 1);
        else
            snprintf(why, why_size, "line %d column %d: %s", line, (int)(ps.err_at - ls) + 1,
                     ps.err ? ps.err : "invalid JSON");
    }
    free(ps.scratch);
    return v;
}

size_t jparse_utf8_check(const char *s, size_t len)
{
    const unsigned char *p = (const unsigned char *)s, *end = p + len;
    while (p < end) {
        size_t n = *p < 0x80 ? 1 : utf8_len(p, end);
        if (!n)
            return (size_t)(p - (const unsigned char *)s);
        p += n;
    }
    return len;
}
