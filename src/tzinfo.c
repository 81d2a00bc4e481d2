// SPDX-FileCopyrightText: 2026 The mqtt-kafka-bridge authors
// SPDX-License-Identifier: Apache-2.0
#include "tzinfo.h"

#include "err.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Offsets beyond +-26 h are refused (RFC 8536 advises -25:59:59..+25:59:59),
 * so a local time's candidates lie within MAXOFF of it. */
#define MAXOFF (INT64_C(26) * 3600)
#define MAX_FILE (1 << 20)
#define LIMIT (INT64_C(1) << 40)

/* A footer rule date: Mm.w.d, Jn (1..365, no Feb 29) or n (0..365). */
typedef struct {
    char kind; /* 'M', 'J' or 'n' */
    int m, w, d;
    int32_t secs; /* the local time of day it happens (may be < 0 or > 24 h) */
} rule_t;

typedef struct {
    int64_t at;  /* from this UTC second on ... */
    int32_t off; /* ... this offset is in force */
} trans_t;

struct tz {
    trans_t *tr;
    size_t n;
    int32_t off0; /* before the first transition: time type 0 */
    bool footer;  /* the POSIX TZ footer governs after the last transition */
    bool dst;     /* the footer has daylight saving rules */
    int32_t std_off, dst_off;
    rule_t start, end;
};

void tz_destroy(tz_t *tz)
{
    if (!tz)
        return;
    free(tz->tr);
    free(tz);
}

static int64_t floordiv(int64_t a, int64_t b) { return a / b - (a % b != 0 && (a < 0) != (b < 0)); }

/* Days since 1970-01-01 of Y-M-D (proleptic Gregorian; H. Hinnant's algorithm). */
static int64_t days_from_civil(int64_t y, int m, int d)
{
    y -= m <= 2;
    int64_t era = floordiv(y, 400);
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

static int64_t year_of_days(int64_t z)
{
    z += 719468;
    int64_t era = floordiv(z, 146097);
    int64_t doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    return yoe + era * 400 + (mp >= 10);
}

static bool leap(int64_t y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

/* The local second (of the offset in force before it) at which rule R
 * happens in year Y. */
static int64_t rule_local(const rule_t *r, int64_t y)
{
    int64_t day;
    if (r->kind == 'J') {
        day = days_from_civil(y, 1, 1) + r->d - 1 + (leap(y) && r->d > 59);
    } else if (r->kind == 'n') {
        day = days_from_civil(y, 1, 1) + r->d;
    } else {
        static const int mdays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
        int len = mdays[r->m - 1] + (r->m == 2 && leap(y));
        int64_t first = days_from_civil(y, r->m, 1);
        int dow1 = (int)((first % 7 + 11) % 7); /* 1970-01-01 was a Thursday (4) */
        int mday = 1 + (r->d - dow1 + 7) % 7 + 7 * (r->w - 1);
        while (mday > len)
            mday -= 7;
        day = first + mday - 1;
    }
    return day * 86400 + r->secs;
}

/* The footer's two transitions of year Y in UTC: *ON (to DST), *OFF. */
static void footer_year(const tz_t *tz, int64_t y, int64_t *on, int64_t *off)
{
    *on = rule_local(&tz->start, y) - tz->std_off;
    *off = rule_local(&tz->end, y) - tz->dst_off;
}

/* The footer's offset at T: that of its latest transition at or before T
 * (the same transitions next_transition lists, so the two always agree). */
static int32_t footer_offset(const tz_t *tz, int64_t t)
{
    if (!tz->dst)
        return tz->std_off;
    int64_t best = INT64_MIN, y0 = year_of_days(floordiv(t, 86400));
    int32_t off = tz->std_off;
    for (int64_t y = y0 - 1; y <= y0 + 1; y++) {
        int64_t on, end;
        footer_year(tz, y, &on, &end);
        if (on <= t && on >= best) {
            best = on;
            off = tz->dst_off;
        }
        if (end <= t && end >= best) {
            best = end;
            off = tz->std_off;
        }
    }
    return off;
}

int32_t tz_offset_at(const tz_t *tz, int64_t t)
{
    t = t < -LIMIT ? -LIMIT : t > LIMIT ? LIMIT : t; /* keeps the date arithmetic in range */
    if (tz->n == 0 || t < tz->tr[0].at)
        return tz->n == 0 && tz->footer ? footer_offset(tz, t) : tz->off0;
    if (t >= tz->tr[tz->n - 1].at && tz->footer)
        return footer_offset(tz, t);
    size_t lo = 0, hi = tz->n; /* the last transition at or before t */
    while (hi - lo > 1) {
        size_t mid = lo + (hi - lo) / 2;
        if (tz->tr[mid].at <= t)
            lo = mid;
        else
            hi = mid;
    }
    return tz->tr[lo].off;
}

/* The first transition (the file's or the footer's) after T; INT64_MAX if none. */
static int64_t next_transition(const tz_t *tz, int64_t t)
{
    size_t a = 0, z = tz->n; /* the first file transition > t */
    while (a < z) {
        size_t mid = a + (z - a) / 2;
        if (tz->tr[mid].at <= t)
            a = mid + 1;
        else
            z = mid;
    }
    if (a < tz->n)
        return tz->tr[a].at;
    int64_t best = INT64_MAX;
    if (!tz->footer || !tz->dst)
        return best;
    int64_t last = tz->n ? tz->tr[tz->n - 1].at : INT64_MIN;
    int64_t y0 = year_of_days(floordiv(t, 86400));
    for (int64_t y = y0 - 1; y <= y0 + 1; y++) {
        int64_t two[2];
        footer_year(tz, y, &two[0], &two[1]);
        for (int k = 0; k < 2; k++)
            if (two[k] > t && two[k] > last && two[k] < best)
                best = two[k];
    }
    return best;
}

int tz_local_to_utc(const tz_t *tz, int64_t local, int64_t *utc)
{
    if (local < -LIMIT || local > LIMIT)
        return MKB_ERR_INVAL;
    int64_t lo = local - 2 * MAXOFF, hi = local + 2 * MAXOFF;
    /* Intervals [start, end) of one offset each: a candidate u = local - off
     * must fall inside its own; the first that does is the earlier instant. */
    for (int64_t start = lo, end; start < hi; start = end) {
        end = next_transition(tz, start);
        if (end > hi)
            end = hi;
        int64_t u = local - tz_offset_at(tz, start);
        if (u >= start && u < end) {
            *utc = u;
            return MKB_OK;
        }
    }
    /* None: a gap. Take the offset in force before the transition. */
    for (int64_t b = next_transition(tz, lo); b < hi; b = next_transition(tz, b)) {
        int32_t before = tz_offset_at(tz, b - 1), after = tz_offset_at(tz, b);
        if (after > before && local >= b + before && local < b + after) {
            *utc = local - before;
            return MKB_OK;
        }
    }
    *utc = local - tz_offset_at(tz, local); /* not reached for a sane table */
    return MKB_OK;
}

/* ---- The POSIX TZ footer: "CET-1CEST,M3.5.0,M10.5.0/3" ---- */

/* A zone abbreviation: alphabetic, or anything but '>' within <...>. */
static bool skip_name(const char **p)
{
    const char *s = *p;
    if (*s == '<') {
        while (*++s && *s != '>')
            ;
        if (*s != '>' || s - *p < 2)
            return false;
        *p = s + 1;
        return true;
    }
    while ((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z'))
        s++;
    if (s - *p < 3)
        return false;
    *p = s;
    return true;
}

/* [+-]hh[:mm[:ss]] with hh up to MAXH; seconds into *SECS. */
static bool parse_hms(const char **p, int maxh, int32_t *secs)
{
    const char *s = *p;
    int sign = 1;
    if (*s == '+' || *s == '-')
        sign = *s++ == '-' ? -1 : 1;
    int32_t v[3] = {0, 0, 0};
    for (int k = 0; k < 3; k++) {
        if (k && *s != ':')
            break;
        s += k > 0;
        if (*s < '0' || *s > '9')
            return false;
        int digits = 0;
        for (; *s >= '0' && *s <= '9' && digits < 3; s++, digits++)
            v[k] = v[k] * 10 + (*s - '0');
        if ((k == 0 && v[0] > maxh) || (k && v[k] > 59))
            return false;
    }
    *secs = sign * (v[0] * 3600 + v[1] * 60 + v[2]);
    *p = s;
    return true;
}

static bool parse_num(const char **p, int lo, int hi, int *v)
{
    const char *s = *p;
    int n = 0, digits = 0;
    for (; *s >= '0' && *s <= '9' && digits < 4; s++, digits++)
        n = n * 10 + (*s - '0');
    if (!digits || n < lo || n > hi)
        return false;
    *v = n;
    *p = s;
    return true;
}

/* ",Mm.w.d[/time]", ",Jn[/time]" or ",n[/time]" (time 02:00 by default;
 * RFC 8536 allows -167..167 hours). */
static bool parse_rule(const char **p, rule_t *r)
{
    const char *s = *p;
    if (*s++ != ',')
        return false;
    r->secs = 7200;
    if (*s == 'M') {
        s++;
        r->kind = 'M';
        if (!parse_num(&s, 1, 12, &r->m) || *s++ != '.' || !parse_num(&s, 1, 5, &r->w) ||
            *s++ != '.' || !parse_num(&s, 0, 6, &r->d))
            return false;
    } else if (*s == 'J') {
        s++;
        r->kind = 'J';
        if (!parse_num(&s, 1, 365, &r->d))
            return false;
    } else {
        r->kind = 'n';
        if (!parse_num(&s, 0, 365, &r->d))
            return false;
    }
    if (*s == '/') {
        s++;
        if (!parse_hms(&s, 167, &r->secs))
            return false;
    }
    *p = s;
    return true;
}

/* FOOTER (NUL-terminated, without its newlines) into TZ; empty: none. */
static bool parse_footer(tz_t *tz, const char *footer)
{
    const char *s = footer;
    int32_t std, dst;
    if (!*s)
        return true;
    if (!skip_name(&s) || !parse_hms(&s, 24, &std))
        return false;
    tz->footer = true;
    tz->std_off = -std; /* POSIX offsets are west of Greenwich */
    if (!*s)
        return true;
    if (!skip_name(&s))
        return false;
    dst = std - 3600;
    if (*s != ',' && *s && !parse_hms(&s, 24, &dst))
        return false;
    tz->dst = true;
    tz->dst_off = -dst;
    return parse_rule(&s, &tz->start) && parse_rule(&s, &tz->end) && !*s;
}

/* ---- TZif (RFC 8536) ---- */

typedef struct {
    uint32_t isut, isstd, leap, time, type, chars;
} counts_t;

static uint32_t be32(const unsigned char *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static int64_t be64(const unsigned char *p)
{
    return (int64_t)((uint64_t)be32(p) << 32 | be32(p + 4));
}

/* The header at D[0..LEN): its counts, and the size of the data block that
 * follows with times of TSIZE bytes. */
static bool header(const unsigned char *d, size_t len, size_t tsize, counts_t *c, size_t *size)
{
    if (len < 44 || memcmp(d, "TZif", 4) != 0)
        return false;
    c->isut = be32(d + 20);
    c->isstd = be32(d + 24);
    c->leap = be32(d + 28);
    c->time = be32(d + 32);
    c->type = be32(d + 36);
    c->chars = be32(d + 40);
    uint64_t s = (uint64_t)c->time * (tsize + 1) + (uint64_t)c->type * 6 + c->chars +
                 (uint64_t)c->leap * (tsize + 4) + c->isstd + c->isut;
    if (c->type == 0 || s > len - 44 || (c->isut && c->isut != c->type) ||
        (c->isstd && c->isstd != c->type))
        return false;
    *size = (size_t)s;
    return true;
}

/* The data block at D (times of TSIZE bytes) into TZ. */
static const char *block(tz_t *tz, const unsigned char *d, const counts_t *c, size_t tsize)
{
    const unsigned char *idx = d + (size_t)c->time * tsize, *types = idx + c->time;
    if (c->leap)
        return "leap-second zone files (right/) are not supported";
    for (uint32_t i = 0; i < c->type; i++) {
        int32_t off = (int32_t)be32(types + (size_t)6 * i);
        if (off < -MAXOFF || off > MAXOFF)
            return "a UT offset beyond 26 hours";
    }
    tz->off0 = (int32_t)be32(types);
    if (c->time && !(tz->tr = calloc(c->time, sizeof(*tz->tr))))
        return "out of memory";
    for (uint32_t i = 0; i < c->time; i++) {
        int64_t at = tsize == 8 ? be64(d + (size_t)8 * i) : (int32_t)be32(d + (size_t)4 * i);
        if (idx[i] >= c->type || (i && at <= tz->tr[i - 1].at) || at < -LIMIT || at > LIMIT)
            return "bad transition table";
        tz->tr[i] = (trans_t){at, (int32_t)be32(types + (size_t)6 * idx[i])};
    }
    tz->n = c->time;
    return NULL;
}

tz_t *tz_parse(const void *data, size_t len, char *why, size_t why_size)
{
    const unsigned char *d = data;
    counts_t c;
    size_t size;
    const char *err = "not a TZif file";
    tz_t *tz = calloc(1, sizeof(*tz));
    if (!tz) {
        snprintf(why, why_size, "out of memory");
        return NULL;
    }
    if (!header(d, len, 4, &c, &size))
        goto fail;
    size_t tsize = 4;
    if (d[4] >= '2') { /* version 2+: the 64-bit block and the footer follow */
        d += 44 + size;
        len -= 44 + size;
        tsize = 8;
        if (!header(d, len, 8, &c, &size))
            goto fail;
    }
    if ((err = block(tz, d + 44, &c, tsize)))
        goto fail;
    if (tsize == 8) {
        const char *f = (const char *)d + 44 + size, *end = (const char *)d + len;
        const char *nl = f < end && *f == '\n' ? memchr(f + 1, '\n', (size_t)(end - f - 1)) : NULL;
        char footer[128];
        err = "bad POSIX TZ footer";
        if (!nl || (size_t)(nl - f - 1) >= sizeof(footer))
            goto fail;
        memcpy(footer, f + 1, (size_t)(nl - f - 1));
        footer[nl - f - 1] = '\0';
        if (memchr(footer, '\0', (size_t)(nl - f - 1)) || !parse_footer(tz, footer))
            goto fail;
    }
    return tz;
fail:
    snprintf(why, why_size, "%s", err);
    tz_destroy(tz);
    return NULL;
}

/* An IANA name: letters, digits, '/', '_', '-', '+', '.'; no leading '/',
 * no "..", so it stays inside the zone directory. */
static bool zone_name_ok(const char *name)
{
    if (!name[0] || name[0] == '/' || strstr(name, "..") || strlen(name) > 255)
        return false;
    for (const char *c = name; *c; c++)
        if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9') ||
              strchr("/_-+.", *c)))
            return false;
    return true;
}

tz_t *tz_load(const char *name, char *why, size_t why_size)
{
    if (!zone_name_ok(name)) {
        snprintf(why, why_size, "'%s' is not a time zone name (like Europe/Berlin)", name);
        return NULL;
    }
    const char *dir = getenv("TZDIR");
    if (!dir || !*dir)
        dir = "/usr/share/zoneinfo";
    char path[4096];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    tz_t *tz = NULL;
    unsigned char *data = malloc(MAX_FILE);
    FILE *f = fopen(path, "rb");
    if (!data || !f) {
        snprintf(why, why_size, "unknown time zone '%s' (no %s)", name, path);
        goto out;
    }
    size_t len = fread(data, 1, MAX_FILE, f);
    char pwhy[128];
    if (!(tz = tz_parse(data, len, pwhy, sizeof(pwhy))))
        snprintf(why, why_size, "time zone '%s' (%s): %s", name, path, pwhy);
out:
    if (f)
        (void)fclose(f); /* read only: nothing to lose */
    free(data);
    return tz;
}
