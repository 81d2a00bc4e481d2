/* One logging entry point for the bridge, librdkafka and Paho.
 * Lines go to stderr (journald or the container log collects them):
 *   2026-11-28T10:00:00.123Z INFO  mqtt: connected to tcp://...
 * Thread-safe: each line is written with one write(2). */
#ifndef MKB_LOG_H
#define MKB_LOG_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

typedef enum {
    LOG_LVL_ERROR = 0,
    LOG_LVL_WARN = 1,
    LOG_LVL_INFO = 2,
    LOG_LVL_DEBUG = 3,
} log_level_t;

/* Sets the most verbose level printed (default: info). */
void log_set_level(log_level_t level);
log_level_t log_get_level(void);

/* True when a line at LEVEL would be printed; guards costly formatting. */
bool log_enabled(log_level_t level);

/* Parses "error", "warn", "info", "debug"; returns false if unknown. */
bool log_level_parse(const char *name, log_level_t *out);

/* Logs one line at LEVEL for MODULE ("mqtt", "kafka", "config", ...). */
void log_msg(log_level_t level, const char *module, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Rate limiting for lines that repeat while a condition lasts (a refused
 * TLS handshake, failed authentication): one static limiter per kind of
 * line, shared by every thread; it tracks the last LOG_LIMIT_KEYS keys. */
#define LOG_LIMIT_KEYS 8
typedef struct {
    pthread_mutex_t lock;
    struct {
        long long next_ms; /* monotonic: when this key may be printed again */
        unsigned long long used; /* log_limit call number: the least recent goes first */
        unsigned long suppressed;
        char key[200];
    } slot[LOG_LIMIT_KEYS];
    unsigned long long calls;
} log_limit_t;
#define LOG_LIMIT_INIT {.lock = PTHREAD_MUTEX_INITIALIZER}

/* True when a line for KEY should be printed now: KEY is new (or was
 * forgotten), or INTERVAL_MS passed since it was last printed. *SUPPRESSED
 * gets how many calls for KEY returned false since then. */
bool log_limit(log_limit_t *l, const char *key, long long interval_ms, unsigned long *suppressed);

/* Rate limiting by count, for a line per event of a kind that may come in
 * floods (dead letters, failed deliveries): true for the first 10 events,
 * then every 1000th. N is the event's number, counted from 1. */
static inline bool log_every(uint64_t n)
{
    return n <= 10 || n % 1000 == 0;
}

#define log_error(mod, ...) log_msg(LOG_LVL_ERROR, mod, __VA_ARGS__)
#define log_warn(mod, ...) log_msg(LOG_LVL_WARN, mod, __VA_ARGS__)
#define log_info(mod, ...) log_msg(LOG_LVL_INFO, mod, __VA_ARGS__)
#define log_debug(mod, ...) \
    do { if (log_enabled(LOG_LVL_DEBUG)) log_msg(LOG_LVL_DEBUG, mod, __VA_ARGS__); } while (0)

#endif
