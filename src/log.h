// SPDX-FileCopyrightText: 2026 The mqtt-kafka-bridge authors
// SPDX-License-Identifier: Apache-2.0
/* One logging entry point for the bridge, librdkafka and Paho.
 * Lines go to stderr (journald or the container log collects them), in one
 * of three formats (log_format):
 *   text:   2026-11-28T10:00:00.123Z INFO  mqtt: connected to tcp://...
 *   json:   {"ts":"2026-11-28T10:00:00.123Z","level":"info","module":"mqtt","msg":"..."}
 *   logfmt: ts=2026-11-28T10:00:00.123Z level=info module=mqtt msg="..."
 * Under systemd (stderr is the stream JOURNAL_STREAM names) each line starts
 * with its sd-daemon priority, "<3>" error to "<7>" debug, which journald
 * takes off and keeps as the entry's priority (journalctl -p err).
 * Thread-safe: each line is written with one write(2). */
#ifndef MKB_LOG_H
#define MKB_LOG_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <time.h>

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

typedef enum {
    LOG_FMT_TEXT = 0,
    LOG_FMT_JSON = 1,
    LOG_FMT_LOGFMT = 2,
} log_format_t;

/* Parses "text", "json", "logfmt"; returns false if unknown. */
bool log_format_parse(const char *name, log_format_t *out);

/* Sets the line format (default: text) and whether lines carry the
 * sd-daemon priority prefix: on when stderr is the journal stream
 * (log_journal_stream_is), which the caller decides once at start-up. */
void log_set_format(log_format_t format, bool priority_prefix);

/* True when JOURNAL_STREAM ("DEVICE:INODE" in decimal, as systemd sets it
 * for a service whose stderr goes to the journal) names the file FD is open
 * on. NULL or malformed: false. Checking the device and inode, not only that
 * the variable is set, keeps prefixes out of a stderr a child of the service
 * redirected elsewhere (systemd.exec(5), JOURNAL_STREAM). */
bool log_journal_stream_is(const char *journal_stream, int fd);

/* Longest line log_render writes, newline included. */
#define LOG_LINE_MAX 8192

/* Renders one line (newline-terminated, never more than CAP bytes, CAP at
 * least 256) of MSG (MSG_LEN bytes, any bytes) into OUT in FORMAT; returns
 * its length. What log_msg writes; public for the tests. A message too long
 * is cut where a character (or escape) ends, still one line. */
size_t log_render(char *out, size_t cap, log_format_t format, bool priority_prefix,
                  const struct timespec *ts, log_level_t level, const char *module,
                  const char *msg, size_t msg_len);

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
