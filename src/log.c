// SPDX-FileCopyrightText: 2026 The mqtt-kafka-bridge authors
// SPDX-License-Identifier: Apache-2.0
#include "log.h"

#include "clock.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static atomic_int log_level = LOG_LVL_INFO;
static atomic_int log_format = LOG_FMT_TEXT;
static atomic_bool log_prefix = false;

/* The text line's length before its newline, as it has always been. */
#define TEXT_BODY_MAX 2046

static const char *const level_names[] = {"error", "warn", "info", "debug"};
static const char *const level_tags[] = {"ERROR", "WARN ", "INFO ", "DEBUG"};
/* syslog priorities (sd-daemon(3)): SD_ERR, SD_WARNING, SD_INFO, SD_DEBUG */
static const int level_priority[] = {3, 4, 6, 7};
static const char *const format_names[] = {"text", "json", "logfmt"};

void log_set_level(log_level_t level) { atomic_store(&log_level, (int)level); }

log_level_t log_get_level(void) { return (log_level_t)atomic_load(&log_level); }

bool log_enabled(log_level_t level) { return (int)level <= atomic_load(&log_level); }

bool log_level_parse(const char *name, log_level_t *out)
{
    for (size_t i = 0; i < sizeof(level_names) / sizeof(level_names[0]); i++) {
        if (strcmp(name, level_names[i]) == 0) {
            *out = (log_level_t)i;
            return true;
        }
    }
    if (strcmp(name, "warning") == 0) {
        *out = LOG_LVL_WARN;
        return true;
    }
    return false;
}

bool log_format_parse(const char *name, log_format_t *out)
{
    for (size_t i = 0; i < sizeof(format_names) / sizeof(format_names[0]); i++) {
        if (strcmp(name, format_names[i]) == 0) {
            *out = (log_format_t)i;
            return true;
        }
    }
    return false;
}

void log_set_format(log_format_t format, bool priority_prefix)
{
    atomic_store(&log_format, (int)format);
    atomic_store(&log_prefix, priority_prefix);
}

bool log_journal_stream_is(const char *journal_stream, int fd)
{
    if (!journal_stream || !isdigit((unsigned char)journal_stream[0]))
        return false;
    char *end;
    errno = 0;
    unsigned long long dev = strtoull(journal_stream, &end, 10);
    if (*end != ':' || !isdigit((unsigned char)end[1]))
        return false;
    const char *p = end + 1;
    unsigned long long ino = strtoull(p, &end, 10);
    struct stat st;
    if (*end != '\0' || errno != 0 || fstat(fd, &st) != 0)
        return false;
    return (unsigned long long)st.st_dev == dev && (unsigned long long)st.st_ino == ino;
}

/* ---- rendering ---------------------------------------------------------- */

/* A line being written: LEN bytes of P used, at most CAP (the room left for
 * the closing bytes already taken off). */
typedef struct {
    char *p;
    size_t len, cap;
} lw_t;

static bool lw_put(lw_t *w, const char *s, size_t n)
{
    if (n > w->cap - w->len)
        return false;
    memcpy(w->p + w->len, s, n);
    w->len += n;
    return true;
}

static bool lw_str(lw_t *w, const char *s) { return lw_put(w, s, strlen(s)); }

/* Length of the well-formed UTF-8 sequence at S (N bytes left, N > 0), or 0:
 * a stray continuation byte, an overlong form, a surrogate, past U+10FFFF, or
 * a sequence cut short (by the caller's truncation too). */
static size_t utf8_len(const unsigned char *s, size_t n)
{
    size_t len = s[0] < 0x80                    ? 1
                 : s[0] >= 0xc2 && s[0] <= 0xdf ? 2
                 : (s[0] & 0xf0) == 0xe0        ? 3
                 : s[0] >= 0xf0 && s[0] <= 0xf4 ? 4
                                                : 0;
    if (len <= 1 || len > n)
        return len > n ? 0 : len;
    uint32_t cp = s[0] & (0x7f >> len);
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xc0) != 0x80)
            return 0;
        cp = cp << 6 | (s[i] & 0x3f);
    }
    if ((len == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
        (len == 4 && (cp < 0x10000 || cp > 0x10ffff)))
        return 0;
    return len;
}

/* The escape of byte C inside a quoted string (BUF holds it if need be), or
 * NULL when C stands for itself. */
static const char *escape_of(unsigned char c, char buf[8])
{
    switch (c) {
    case '"': return "\\\"";
    case '\\': return "\\\\";
    case '\n': return "\\n";
    case '\r': return "\\r";
    case '\t': return "\\t";
    default:
        if (c >= 0x20 && c != 0x7f)
            return NULL;
        snprintf(buf, 8, "\\u%04x", c);
        return buf;
    }
}

/* Writes S (N bytes) escaped as the inside of a JSON string, which is also
 * what a quoted logfmt value takes (go-logfmt unquotes as encoding/json
 * does): quote, backslash and control characters escaped, a byte that is not
 * UTF-8 replaced by U+FFFD so the line stays valid UTF-8 for JSON parsers.
 * Stops at the first escape or character that does not fit whole. */
static void put_escaped(lw_t *w, const char *s, size_t n)
{
    const unsigned char *u = (const unsigned char *)s;
    for (size_t i = 0; i < n;) {
        char buf[8];
        const char *esc = escape_of(u[i], buf);
        size_t len = esc ? 1 : utf8_len(u + i, n - i);
        bool fits = esc ? lw_str(w, esc) : len ? lw_put(w, s + i, len) : lw_str(w, "\xef\xbf\xbd");
        if (!fits)
            return;
        i += len ? len : 1;
    }
}

/* A logfmt value: bare when it can be (a word of printable ASCII without
 * '=' or '"'), else quoted. */
static void put_logfmt_value(lw_t *w, const char *s)
{
    bool bare = *s != '\0';
    for (const unsigned char *u = (const unsigned char *)s; *u && bare; u++)
        bare = *u > ' ' && *u < 0x7f && *u != '=' && *u != '"';
    if (bare) {
        lw_str(w, s);
        return;
    }
    size_t cap = w->cap;
    w->cap = cap - 1; /* room for the closing quote */
    lw_str(w, "\"");
    put_escaped(w, s, strlen(s));
    w->cap = cap;
    lw_str(w, "\"");
}

/* Today's text line, unchanged: "TS LEVEL module: msg", at most 2046 bytes
 * before the newline, bytes as they came. */
static void render_text(lw_t *w, const char *ts, log_level_t level, const char *module,
                        const char *msg, size_t msg_len)
{
    size_t start = w->len;
    if (w->cap - start > TEXT_BODY_MAX)
        w->cap = start + TEXT_BODY_MAX;
    lw_str(w, ts);
    lw_str(w, " ");
    lw_str(w, level_tags[level]);
    lw_str(w, " ");
    lw_str(w, module);
    lw_str(w, ": ");
    size_t room = w->cap - w->len;
    lw_put(w, msg, msg_len < room ? msg_len : room);
    while (w->len > start && (w->p[w->len - 1] == '\n' || w->p[w->len - 1] == '\r'))
        w->len--;
}

static void render_json(lw_t *w, const char *ts, log_level_t level, const char *module,
                        const char *msg, size_t msg_len)
{
    w->cap -= 2; /* the closing "} */
    lw_str(w, "{\"ts\":\"");
    lw_str(w, ts);
    lw_str(w, "\",\"level\":\"");
    lw_str(w, level_names[level]);
    lw_str(w, "\",\"module\":\"");
    put_escaped(w, module, strlen(module));
    lw_str(w, "\",\"msg\":\"");
    put_escaped(w, msg, msg_len);
    w->cap += 2;
    lw_str(w, "\"}");
}

static void render_logfmt(lw_t *w, const char *ts, log_level_t level, const char *module,
                          const char *msg, size_t msg_len)
{
    w->cap -= 1; /* the closing quote */
    lw_str(w, "ts=");
    lw_str(w, ts);
    lw_str(w, " level=");
    lw_str(w, level_names[level]);
    lw_str(w, " module=");
    put_logfmt_value(w, module);
    lw_str(w, " msg=\"");
    put_escaped(w, msg, msg_len);
    w->cap += 1;
    lw_str(w, "\"");
}

size_t log_render(char *out, size_t cap, log_format_t format, bool priority_prefix,
                  const struct timespec *ts, log_level_t level, const char *module,
                  const char *msg, size_t msg_len)
{
    lw_t w = {out, 0, cap - 1}; /* the newline always fits */
    if (priority_prefix) /* sd-daemon(3): <3> SD_ERR, <4> SD_WARNING, ... */
        w.len = (size_t)snprintf(out, cap, "<%d>", level_priority[level]);
    struct tm tm;
    char tsbuf[64];
    gmtime_r(&ts->tv_sec, &tm);
    snprintf(tsbuf, sizeof(tsbuf), "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ", tm.tm_year + 1900,
             tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, ts->tv_nsec / 1000000);
    if (format == LOG_FMT_TEXT) {
        render_text(&w, tsbuf, level, module, msg, msg_len);
    } else {
        /* Trailing newlines the caller (or a library) left in are not part
         * of the message. */
        while (msg_len > 0 && (msg[msg_len - 1] == '\n' || msg[msg_len - 1] == '\r'))
            msg_len--;
        if (format == LOG_FMT_JSON)
            render_json(&w, tsbuf, level, module, msg, msg_len);
        else
            render_logfmt(&w, tsbuf, level, module, msg, msg_len);
    }
    out[w.len++] = '\n';
    return w.len;
}

void log_msg(log_level_t level, const char *module, const char *fmt, ...)
{
    if (!log_enabled(level))
        return;
    char msg[2048];
    char line[LOG_LINE_MAX];
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    va_list ap;
    va_start(ap, fmt);
    int m = vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    size_t len = m < 0 ? 0 : (size_t)m < sizeof(msg) ? (size_t)m : sizeof(msg) - 1;
    size_t n = log_render(line, sizeof(line), (log_format_t)atomic_load(&log_format),
                          atomic_load(&log_prefix), &ts, level, module, msg, len);
    ssize_t w = write(STDERR_FILENO, line, n); /* one write: lines never interleave */
    (void)w;
}

bool log_limit(log_limit_t *l, const char *key, long long interval_ms, unsigned long *suppressed)
{
    long long now = clock_mono_ms();
    bool print = true;
    *suppressed = 0;
    pthread_mutex_lock(&l->lock);
    size_t i, lru = 0;
    for (i = 0; i < LOG_LIMIT_KEYS; i++) {
        if (l->slot[i].used && strncmp(l->slot[i].key, key, sizeof(l->slot[i].key) - 1) == 0)
            break;
        if (l->slot[i].used < l->slot[lru].used)
            lru = i;
    }
    if (i == LOG_LIMIT_KEYS) { /* new: take the least recently used slot */
        i = lru;
        snprintf(l->slot[i].key, sizeof(l->slot[i].key), "%s", key);
        l->slot[i].suppressed = 0;
        l->slot[i].next_ms = 0;
    }
    l->slot[i].used = ++l->calls;
    if (now >= l->slot[i].next_ms) {
        *suppressed = l->slot[i].suppressed;
        l->slot[i].suppressed = 0;
        l->slot[i].next_ms = now + interval_ms;
    } else {
        l->slot[i].suppressed++;
        print = false;
    }
    pthread_mutex_unlock(&l->lock);
    return print;
}
