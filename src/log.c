#include "log.h"

#include "clock.h"

#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static atomic_int log_level = LOG_LVL_INFO;

static const char *const level_names[] = {"error", "warn", "info", "debug"};
static const char *const level_tags[] = {"ERROR", "WARN ", "INFO ", "DEBUG"};

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

void log_msg(log_level_t level, const char *module, const char *fmt, ...)
{
    if (!log_enabled(level))
        return;
    char line[2048];
    struct timespec ts;
    struct tm tm;
    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    int n = snprintf(line, sizeof(line), "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ %s %s: ",
                     tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
                     tm.tm_sec, ts.tv_nsec / 1000000, level_tags[level], module);
    if (n < 0)
        return;
    va_list ap;
    va_start(ap, fmt);
    int m = vsnprintf(line + n, sizeof(line) - (size_t)n, fmt, ap);
    va_end(ap);
    size_t len = (size_t)n + (m < 0 ? 0 : (size_t)m);
    if (len > sizeof(line) - 2)
        len = sizeof(line) - 2; /* truncated: still one line */
    /* Strip trailing newlines the caller (or a library) left in. */
    while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
        len--;
    line[len++] = '\n';
    ssize_t w = write(STDERR_FILENO, line, len);
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
