// SPDX-FileCopyrightText: 2026 The mqtt-kafka-bridge authors
// SPDX-License-Identifier: Apache-2.0
/* log_limit(): the rate limiter for lines that repeat while a failure lasts
 * (refused TLS handshakes, failed Kafka logins); log_every(): the one by
 * count, for lines per event (dead letters, failed deliveries).
 * The line formats (log_render): text byte for byte as it always was; json
 * lines read back by jansson; logfmt lines read back by go-logfmt, the Go
 * ecosystem's decoder (tests/logfmt/decode.go, built into .cache/logfmt by
 * make deps); the sd-daemon <N> prefix only when JOURNAL_STREAM names
 * stderr. */
#include "log.h"

#include <check.h>

#include "check_run.h"
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#ifndef MKB_SOURCE_DIR
#define MKB_SOURCE_DIR "."
#endif

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

START_TEST(test_first_then_once_per_interval)
{
    static log_limit_t l = LOG_LIMIT_INIT;
    unsigned long more = 99;
    ck_assert(log_limit(&l, "auth", 200, &more));
    ck_assert_uint_eq(more, 0);
    for (int i = 0; i < 5; i++) {
        ck_assert(!log_limit(&l, "auth", 200, &more));
        ck_assert_uint_eq(more, 0);
    }
    sleep_ms(250);
    ck_assert(log_limit(&l, "auth", 200, &more)); /* the interval passed */
    ck_assert_uint_eq(more, 5);                    /* with the count skipped */
    ck_assert(!log_limit(&l, "auth", 200, &more));
}
END_TEST

/* Keys alternating (Paho's reason, then the diagnosis) are limited each on
 * its own: a change of key does not reopen the other. */
START_TEST(test_keys_limited_separately)
{
    static log_limit_t l = LOG_LIMIT_INIT;
    unsigned long more;
    ck_assert(log_limit(&l, "a", 60000, &more));
    ck_assert(log_limit(&l, "b", 60000, &more));
    for (int i = 0; i < 3; i++) {
        ck_assert(!log_limit(&l, "a", 60000, &more));
        ck_assert(!log_limit(&l, "b", 60000, &more));
    }
    /* More keys than slots: the least recently used one is forgotten and
     * printed again when it comes back; the others stay limited. */
    char key[16];
    for (int i = 0; i < LOG_LIMIT_KEYS; i++) {
        snprintf(key, sizeof(key), "k%d", i);
        ck_assert(log_limit(&l, key, 60000, &more));
    }
    ck_assert(log_limit(&l, "a", 60000, &more));
    ck_assert(!log_limit(&l, "k7", 60000, &more));
}
END_TEST

/* First 10, then every 1000th: 10 + 1 (1000) + 1 (2000) of the first 2,500. */
START_TEST(test_every_first_ten_then_every_thousandth)
{
    unsigned printed = 0;
    for (uint64_t n = 1; n <= 2500; n++)
        printed += log_every(n);
    ck_assert_uint_eq(printed, 12);
    for (uint64_t n = 1; n <= 10; n++)
        ck_assert(log_every(n));
    ck_assert(!log_every(11));
    ck_assert(!log_every(999));
    ck_assert(log_every(1000));
    ck_assert(!log_every(1001));
    ck_assert(log_every(3000000));
    ck_assert(log_every(UINT64_MAX - UINT64_MAX % 1000)); /* no overflow at the top */
}
END_TEST


/* ---- formats ------------------------------------------------------------ */

/* 2025-11-28T10:00:00.123Z */
static const struct timespec TS = {1764324000, 123456789};
#define TS_TEXT "2025-11-28T10:00:00.123Z"

static size_t render(char *out, size_t cap, log_format_t f, bool prefix, log_level_t level,
                     const char *module, const char *msg)
{
    return log_render(out, cap, f, prefix, &TS, level, module, msg, strlen(msg));
}

/* Messages that need escaping, and what a parser must read back (invalid
 * UTF-8 becomes U+FFFD). */
static const struct {
    const char *msg, *want;
} cases[] = {
    {"plain words", "plain words"},
    {"", ""},
    {"say \"hi\" to C:\\temp", "say \"hi\" to C:\\temp"},
    {"two\nlines\r\n\tand a tab", "two\nlines\r\n\tand a tab"},
    {"ctl \x01\x1b[31m\x7f end", "ctl \x01\x1b[31m\x7f end"},
    {"key=value other=\"x\"", "key=value other=\"x\""},
    {"temp\xc3\xa9rature 21,5 \xc2\xb0" "C \xe6\x97\xa5\xe6\x9c\xac \xf0\x9f\x9a\x80",
     "temp\xc3\xa9rature 21,5 \xc2\xb0" "C \xe6\x97\xa5\xe6\x9c\xac \xf0\x9f\x9a\x80"},
    {"bad \xff\xfe|\xc0\xaf|\xed\xa0\x80|cut \xe2\x82",
     "bad \xef\xbf\xbd\xef\xbf\xbd|\xef\xbf\xbd\xef\xbf\xbd|\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd|cut "
     "\xef\xbf\xbd\xef\xbf\xbd"},
    {"trailing newline\n", "trailing newline"},
};
#define NCASES (sizeof(cases) / sizeof(cases[0]))

/* One line: ends in its only raw newline. */
static void assert_one_line(const char *line, size_t n)
{
    ck_assert_uint_gt(n, 0);
    ck_assert_int_eq(line[n - 1], '\n');
    ck_assert_ptr_eq(memchr(line, '\n', n), line + n - 1);
}

START_TEST(test_text_unchanged)
{
    char line[LOG_LINE_MAX];
    size_t n = render(line, sizeof(line), LOG_FMT_TEXT, false, LOG_LVL_INFO, "mqtt",
                      "connected to tcp://localhost:1883\n");
    line[n] = 0;
    ck_assert_str_eq(line, TS_TEXT " INFO  mqtt: connected to tcp://localhost:1883\n");
    line[render(line, sizeof(line), LOG_FMT_TEXT, false, LOG_LVL_WARN, "kafka", "a\"b\\c")] = 0;
    ck_assert_str_eq(line, TS_TEXT " WARN  kafka: a\"b\\c\n");
    line[render(line, sizeof(line), LOG_FMT_TEXT, false, LOG_LVL_ERROR, "x", "e")] = 0;
    ck_assert_str_eq(line, TS_TEXT " ERROR x: e\n");
    line[render(line, sizeof(line), LOG_FMT_TEXT, false, LOG_LVL_DEBUG, "x", "d")] = 0;
    ck_assert_str_eq(line, TS_TEXT " DEBUG x: d\n");
    /* A long message: cut at 2046 bytes and the newline, as before. */
    static char big[2047];
    memset(big, 'a', sizeof(big) - 1);
    n = render(line, sizeof(line), LOG_FMT_TEXT, false, LOG_LVL_INFO, "mqtt", big);
    ck_assert_uint_eq(n, 2047);
    ck_assert_int_eq(line[2046], '\n');
    ck_assert_int_eq(line[2045], 'a');
}
END_TEST

/* ck_assert on a line, null-terminated copy for messages. */
static json_t *parse_json_line(const char *line, size_t n)
{
    json_error_t err;
    json_t *doc = json_loadb(line, n, 0, &err);
    ck_assert_msg(doc != NULL, "jansson: %s in %.*s", err.text, (int)n, line);
    ck_assert(json_is_object(doc));
    return doc;
}

static const char *jstr(json_t *doc, const char *key)
{
    json_t *v = json_object_get(doc, key);
    ck_assert_msg(json_is_string(v), "no string %s", key);
    return json_string_value(v);
}

START_TEST(test_json_read_back_by_jansson)
{
    static const char *const levels[] = {"error", "warn", "info", "debug"};
    char line[LOG_LINE_MAX];
    for (size_t i = 0; i < NCASES; i++) {
        log_level_t lvl = (log_level_t)(i % 4);
        size_t n = render(line, sizeof(line), LOG_FMT_JSON, false, lvl, "rdkafka", cases[i].msg);
        assert_one_line(line, n);
        json_t *doc = parse_json_line(line, n - 1);
        ck_assert_uint_eq(json_object_size(doc), 4);
        ck_assert_str_eq(jstr(doc, "ts"), TS_TEXT);
        ck_assert_str_eq(jstr(doc, "level"), levels[lvl]);
        ck_assert_str_eq(jstr(doc, "module"), "rdkafka");
        ck_assert_str_eq(jstr(doc, "msg"), cases[i].want);
        json_decref(doc);
    }
    line[render(line, sizeof(line), LOG_FMT_JSON, false, LOG_LVL_INFO, "mqtt", "hi")] = 0;
    ck_assert_str_eq(line, "{\"ts\":\"" TS_TEXT "\",\"level\":\"info\",\"module\":\"mqtt\","
                           "\"msg\":\"hi\"}\n");
}
END_TEST

/* The decoder: go-logfmt (MKB_LOGFMT_DECODE overrides the path). */
static const char *logfmt_decoder(void)
{
    const char *p = getenv("MKB_LOGFMT_DECODE");
    return p ? p : MKB_SOURCE_DIR "/.cache/logfmt/decode";
}

/* go-logfmt's reading of the lines in FILE: one JSON object a record. */
static json_t *go_logfmt(const char *file)
{
    char cmd[1024];
    snprintf(cmd, sizeof(cmd), "%s < %s", logfmt_decoder(), file);
    FILE *f = popen(cmd, "r");
    ck_assert_msg(f != NULL, "%s", cmd);
    json_t *all = json_array();
    char out[3 * LOG_LINE_MAX];
    while (fgets(out, sizeof(out), f))
        json_array_append_new(all, parse_json_line(out, strlen(out)));
    int st = pclose(f);
    ck_assert_msg(st == 0, "go-logfmt refused the lines (%s, status %d; make deps builds it)", cmd,
                  st);
    return all;
}

START_TEST(test_logfmt_read_back_by_go_logfmt)
{
    static const char *const levels[] = {"error", "warn", "info", "debug"};
    static const char *const modules[] = {"paho", "a b", "k=v", ""};
    char path[] = "/tmp/mkb-logfmt-XXXXXX", line[LOG_LINE_MAX];
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    for (size_t i = 0; i < NCASES; i++) {
        size_t n = render(line, sizeof(line), LOG_FMT_LOGFMT, false, (log_level_t)(i % 4),
                          modules[i % 4], cases[i].msg);
        assert_one_line(line, n);
        ck_assert_int_eq(write(fd, line, n), (ssize_t)n);
    }
    close(fd);
    json_t *all = go_logfmt(path);
    unlink(path);
    ck_assert_uint_eq(json_array_size(all), NCASES);
    for (size_t i = 0; i < NCASES; i++) {
        json_t *r = json_array_get(all, i);
        ck_assert_str_eq(jstr(r, "_keys"), "[ts level module msg]");
        ck_assert_str_eq(jstr(r, "ts"), TS_TEXT);
        ck_assert_str_eq(jstr(r, "level"), levels[i % 4]);
        ck_assert_str_eq(jstr(r, "module"), modules[i % 4]);
        ck_assert_str_eq(jstr(r, "msg"), cases[i].want);
    }
    json_decref(all);
    line[render(line, sizeof(line), LOG_FMT_LOGFMT, false, LOG_LVL_WARN, "mqtt", "hi")] = 0;
    ck_assert_str_eq(line, "ts=" TS_TEXT " level=warn module=mqtt msg=\"hi\"\n");
}
END_TEST

/* Messages that grow when escaped are cut at a whole escape or character,
 * within LOG_LINE_MAX, and still parse. */
START_TEST(test_long_messages_cut_whole)
{
    static const char *const fill[] = {"\x01", "\"", "\xc3\xa9", "\xf0\x9f\x9a\x80"};
    static char msg[2048];
    char line[LOG_LINE_MAX], small[300];
    for (size_t k = 0; k < 4; k++) {
        size_t fl = strlen(fill[k]), n = 0;
        while (n + fl < sizeof(msg))
            memcpy(msg + n, fill[k], fl), n += fl;
        msg[n] = 0;
        size_t len = render(line, sizeof(line), LOG_FMT_JSON, true, LOG_LVL_INFO, "m", msg);
        ck_assert_uint_le(len, sizeof(line));
        assert_one_line(line, len);
        json_decref(parse_json_line(line + 3, len - 4)); /* after "<6>" */
        len = render(small, sizeof(small), LOG_FMT_JSON, false, LOG_LVL_INFO, "m", msg);
        ck_assert_uint_le(len, sizeof(small));
        assert_one_line(small, len);
        json_t *doc = parse_json_line(small, len - 1);
        ck_assert_uint_gt(strlen(jstr(doc, "msg")), 0);
        json_decref(doc);
        len = render(small, sizeof(small), LOG_FMT_LOGFMT, false, LOG_LVL_INFO, "m", msg);
        ck_assert_uint_le(len, sizeof(small));
        assert_one_line(small, len);
        ck_assert_int_eq(small[len - 2], '"');
    }
}
END_TEST

START_TEST(test_priority_prefix_in_every_format)
{
    static const char *const want[] = {"<3>", "<4>", "<6>", "<7>"};
    char line[LOG_LINE_MAX];
    for (int f = LOG_FMT_TEXT; f <= LOG_FMT_LOGFMT; f++) {
        for (int l = LOG_LVL_ERROR; l <= LOG_LVL_DEBUG; l++) {
            size_t n = render(line, sizeof(line), (log_format_t)f, true, (log_level_t)l, "m", "x");
            ck_assert_msg(strncmp(line, want[l], 3) == 0, "%.*s", (int)n, line);
            char plain[LOG_LINE_MAX];
            size_t p = render(plain, sizeof(plain), (log_format_t)f, false, (log_level_t)l, "m",
                              "x");
            ck_assert_uint_eq(n, p + 3);
            ck_assert(memcmp(line + 3, plain, p) == 0);
            ck_assert_int_ne(plain[0], '<');
        }
    }
}
END_TEST

START_TEST(test_format_names)
{
    log_format_t f;
    ck_assert(log_format_parse("text", &f) && f == LOG_FMT_TEXT);
    ck_assert(log_format_parse("json", &f) && f == LOG_FMT_JSON);
    ck_assert(log_format_parse("logfmt", &f) && f == LOG_FMT_LOGFMT);
    ck_assert(!log_format_parse("JSON", &f));
    ck_assert(!log_format_parse("syslog", &f));
}
END_TEST

/* ---- the journal's stream ----------------------------------------------- */

static void dev_ino(int fd, char *out, size_t cap)
{
    struct stat st;
    ck_assert_int_eq(fstat(fd, &st), 0);
    snprintf(out, cap, "%llu:%llu", (unsigned long long)st.st_dev, (unsigned long long)st.st_ino);
}

START_TEST(test_journal_stream_matches_device_and_inode)
{
    char a[] = "/tmp/mkb-js-a-XXXXXX", b[] = "/tmp/mkb-js-b-XXXXXX", va[64], vb[64], bad[80];
    int fa = mkstemp(a), fb = mkstemp(b);
    ck_assert(fa >= 0 && fb >= 0);
    dev_ino(fa, va, sizeof(va));
    dev_ino(fb, vb, sizeof(vb));
    ck_assert(log_journal_stream_is(va, fa));
    ck_assert(log_journal_stream_is(vb, fb));
    ck_assert(!log_journal_stream_is(vb, fa)); /* set, but for another file */
    ck_assert(!log_journal_stream_is(NULL, fa));
    ck_assert(!log_journal_stream_is("", fa));
    snprintf(bad, sizeof(bad), "%sx", va);
    ck_assert(!log_journal_stream_is(bad, fa));
    snprintf(bad, sizeof(bad), " %s", va);
    ck_assert(!log_journal_stream_is(bad, fa));
    snprintf(bad, sizeof(bad), "%.*s", (int)(strchr(va, ':') - va + 1), va); /* "dev:" */
    ck_assert(!log_journal_stream_is(bad, fa));
    ck_assert(!log_journal_stream_is(strchr(va, ':'), fa)); /* ":ino" */
    close(fa);
    close(fb);
    unlink(a);
    unlink(b);
}
END_TEST

/* log_msg end to end: stderr is a file; with JOURNAL_STREAM naming it the
 * line carries <4>, after stderr moves to another file it does not. */
START_TEST(test_log_msg_writes_prefixed_json)
{
    char a[] = "/tmp/mkb-stderr-XXXXXX", js[64], buf[4096];
    int fa = mkstemp(a);
    ck_assert_int_ge(fa, 0);
    int saved = dup(STDERR_FILENO);
    ck_assert_int_eq(dup2(fa, STDERR_FILENO), STDERR_FILENO);
    dev_ino(fa, js, sizeof(js));
    log_set_format(LOG_FMT_JSON, log_journal_stream_is(js, STDERR_FILENO));
    log_msg(LOG_LVL_WARN, "paho", "queue \"%s\" at %d%%", "q1", 90);
    log_set_format(LOG_FMT_LOGFMT, log_journal_stream_is("1:1", STDERR_FILENO));
    log_msg(LOG_LVL_INFO, "rdkafka", "[%s] %s: %s", "rdkafka#producer-1", "FAIL", "down");
    log_set_format(LOG_FMT_TEXT, false);
    dup2(saved, STDERR_FILENO);
    close(saved);
    ssize_t n = pread(fa, buf, sizeof(buf) - 1, 0);
    close(fa);
    unlink(a);
    ck_assert_int_gt(n, 0);
    buf[n] = 0;
    char *nl = strchr(buf, '\n');
    ck_assert_ptr_nonnull(nl);
    ck_assert(strncmp(buf, "<4>{", 4) == 0);
    json_t *doc = parse_json_line(buf + 3, (size_t)(nl - buf - 3));
    ck_assert_str_eq(jstr(doc, "msg"), "queue \"q1\" at 90%");
    ck_assert_str_eq(jstr(doc, "module"), "paho");
    json_decref(doc);
    ck_assert_msg(strncmp(nl + 1, "ts=", 3) == 0, "%s", nl + 1);
    ck_assert(strstr(nl + 1, " level=info module=rdkafka msg=\"[rdkafka#producer-1] FAIL: down\"\n"));
}
END_TEST

int main(void)
{
    Suite *s = suite_create("log");
    TCase *tc = tcase_create("limit");
    tcase_add_test(tc, test_first_then_once_per_interval);
    tcase_add_test(tc, test_keys_limited_separately);
    suite_add_tcase(s, tc);
    TCase *every = tcase_create("every");
    tcase_add_test(every, test_every_first_ten_then_every_thousandth);
    suite_add_tcase(s, every);
    TCase *fmt = tcase_create("format");
    tcase_add_test(fmt, test_text_unchanged);
    tcase_add_test(fmt, test_json_read_back_by_jansson);
    tcase_add_test(fmt, test_logfmt_read_back_by_go_logfmt);
    tcase_add_test(fmt, test_long_messages_cut_whole);
    tcase_add_test(fmt, test_priority_prefix_in_every_format);
    tcase_add_test(fmt, test_format_names);
    suite_add_tcase(s, fmt);
    TCase *journal = tcase_create("journal");
    tcase_add_test(journal, test_journal_stream_matches_device_and_inode);
    tcase_add_test(journal, test_log_msg_writes_prefixed_json);
    suite_add_tcase(s, journal);
    return check_run(s);
}
