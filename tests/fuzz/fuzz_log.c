// SPDX-FileCopyrightText: 2026 The mqtt-kafka-bridge authors
// SPDX-License-Identifier: Apache-2.0
/* libFuzzer target: log_render on hostile message bytes (what a topic, a
 * payload or a broker's error text may put into a log line), in each format,
 * with and without the priority prefix, into buffers from 256 bytes up.
 * Every line must fit its buffer, end in its only newline, and (json) parse
 * with jansson with the four keys, its msg the input itself when the input
 * is UTF-8 without control characters and fits; (logfmt) start with ts= and
 * end in a closing quote. */
#include "log.h"

#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static void check_line(const char *line, size_t n, size_t cap)
{
    if (n == 0 || n > cap || line[n - 1] != '\n' || memchr(line, '\n', n - 1))
        abort();
}

/* True when MSG (N bytes) comes back unchanged from a JSON string: printable
 * ASCII only (the UTF-8 cases are the unit test's), no trailing newline. */
static bool plain(const char *msg, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)msg[i] < 0x20 || (unsigned char)msg[i] >= 0x7f)
            return false;
    return true;
}

static void check_json(const char *line, size_t n, const char *msg, size_t msg_len)
{
    json_error_t err;
    json_t *doc = json_loadb(line, n - 1, JSON_ALLOW_NUL, &err); /* \u0000: valid JSON */
    if (!doc || json_object_size(doc) != 4)
        abort();
    const char *got = json_string_value(json_object_get(doc, "msg"));
    if (!got)
        abort();
    size_t got_len = json_string_length(json_object_get(doc, "msg"));
    /* Printable ASCII comes back as it was, whole or cut. */
    if (plain(msg, msg_len) && (got_len > msg_len || memcmp(got, msg, got_len) != 0))
        abort();
    json_decref(doc);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2)
        return 0;
    static char line[LOG_LINE_MAX];
    size_t cap = 256 + (size_t)data[0] * (LOG_LINE_MAX - 256) / 255;
    bool prefix = data[1] & 1;
    log_level_t level = (log_level_t)((data[1] >> 1) & 3);
    const char *msg = (const char *)data + 2;
    size_t msg_len = size - 2;
    struct timespec ts = {(time_t)(data[1]) * 86400 * 365, 999999999};
    for (int f = LOG_FMT_TEXT; f <= LOG_FMT_LOGFMT; f++) {
        size_t n = log_render(line, cap, (log_format_t)f, prefix, &ts, level, "fuzz", msg, msg_len);
        if (f == LOG_FMT_TEXT) {
            if (n > cap || line[n - 1] != '\n')
                abort(); /* text keeps the bytes as they came, newlines too */
            continue;
        }
        check_line(line, n, cap);
        const char *body = line + (prefix ? 3 : 0);
        size_t body_len = n - (prefix ? 3 : 0);
        if (prefix && (line[0] != '<' || line[2] != '>'))
            abort();
        if (f == LOG_FMT_JSON)
            check_json(body, body_len, msg, msg_len);
        else if (strncmp(body, "ts=", 3) != 0 || body[body_len - 2] != '"')
            abort();
    }
    return 0;
}
