// SPDX-FileCopyrightText: 2026 The mqtt-kafka-bridge authors
// SPDX-License-Identifier: Apache-2.0
/* The systemd notification protocol against real brokers, without systemd:
 * the test plays the service manager. It runs the ExecStart= line of
 * systemd/mqtt-kafka-bridge.service (binary replaced by $MKB_BRIDGE_BIN, the
 * -c file by a config for the harness brokers) with NOTIFY_SOCKET naming a
 * datagram socket it owns, WATCHDOG_USEC=2000000 and WATCHDOG_PID, and reads
 * what the bridge sends: READY=1 once MQTT and Kafka are both up, WATCHDOG=1
 * every second, a STATUS= line after SIGHUP, STOPPING=1 after SIGTERM, each
 * from the main PID (SCM_CREDENTIALS, as NotifyAccess=main checks). A second
 * case holds Kafka
 * down at start: no READY=1 until a broker is up. A third calls src/notify.c
 * directly for the path form of NOTIFY_SOCKET and the WATCHDOG_* parsing.
 * The journal case runs the bridge with stderr on a file JOURNAL_STREAM
 * names (as systemd does for StandardError=journal): every line, librdkafka's
 * and Paho's too, carries its <N> priority and is one JSON object (jansson)
 * or one logfmt record (go-logfmt, .cache/logfmt/decode); with
 * JOURNAL_STREAM naming another file, no line has a prefix. */
#define _GNU_SOURCE /* asprintf, struct ucred */
#include "itest.h"
#include "notify.h"

#include <check.h>

#include "check_run.h"
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#ifndef MKB_SOURCE_DIR
#define MKB_SOURCE_DIR "."
#endif
#define UNIT_FILE MKB_SOURCE_DIR "/systemd/mqtt-kafka-bridge.service"

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- the unit file ------------------------------------------------------ */

/* The value of the first KEY= line of the unit (trimmed), or "" if none. */
static void unit_value(const char *key, char *out, size_t cap)
{
    FILE *f = fopen(UNIT_FILE, "r");
    ck_assert_msg(f != NULL, "%s: %s", UNIT_FILE, strerror(errno));
    char line[1024];
    size_t klen = strlen(key);
    out[0] = '\0';
    while (fgets(line, sizeof(line), f)) {
        if (strncmp(line, key, klen) == 0 && line[klen] == '=') {
            snprintf(out, cap, "%s", line + klen + 1);
            out[strcspn(out, "\r\n")] = '\0';
            break;
        }
    }
    fclose(f);
}

/* ExecStart= split at blanks (the unit uses no quoting), the binary replaced
 * by BIN and the argument after -c by CONFIG. ARGV gets up to MAX-1 words. */
static void exec_start_argv(char *line, const char *bin, const char *config, char **argv,
                            size_t max)
{
    size_t n = 0;
    for (char *save = NULL, *w = strtok_r(line, " \t", &save); w && n + 1 < max;
         w = strtok_r(NULL, " \t", &save))
        argv[n++] = w;
    argv[n] = NULL;
    ck_assert_msg(n >= 3, "ExecStart= has %zu word(s)", n);
    const char *base = strrchr(argv[0], '/');
    ck_assert_msg(base && strcmp(base, "/mqtt-kafka-bridge") == 0, "ExecStart= runs %s", argv[0]);
    argv[0] = (char *)bin;
    bool had_config = false;
    for (size_t i = 1; i + 1 < n; i++)
        if (strcmp(argv[i], "-c") == 0 || strcmp(argv[i], "--config") == 0) {
            argv[i + 1] = (char *)config;
            had_config = true;
        }
    ck_assert_msg(had_config, "ExecStart= names no -c FILE");
}

/* ---- the notification socket -------------------------------------------- */

typedef struct {
    int fd;
    char name[108]; /* NOTIFY_SOCKET: "@..." (abstract) */
} nsock_t;

static void nsock_open(nsock_t *s)
{
    s->fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    ck_assert(s->fd >= 0);
    snprintf(s->name, sizeof(s->name), "@mkb-itest-notify-%d-%lld", (int)getpid(), now_ms());
    struct sockaddr_un a = {.sun_family = AF_UNIX};
    size_t n = strlen(s->name);
    memcpy(a.sun_path + 1, s->name + 1, n - 1);
    ck_assert_msg(bind(s->fd, (struct sockaddr *)&a,
                       (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n)) == 0,
                  "bind %s: %s", s->name, strerror(errno));
    int one = 1;
    ck_assert(setsockopt(s->fd, SOL_SOCKET, SO_PASSCRED, &one, sizeof(one)) == 0);
}

/* One datagram within TIMEOUT_MS into MSG (NUL-terminated), its sender's
 * PID in *PID; false on timeout. */
static bool nsock_recv(nsock_t *s, int timeout_ms, char *msg, size_t cap, pid_t *pid)
{
    struct pollfd p = {.fd = s->fd, .events = POLLIN};
    if (poll(&p, 1, timeout_ms) <= 0)
        return false;
    union {
        struct cmsghdr h;
        // cppcheck-suppress unusedStructMember ; sizes the union for CMSG_SPACE, read through h
        char buf[CMSG_SPACE(sizeof(struct ucred))];
    } ctl;
    struct iovec iov = {.iov_base = msg, .iov_len = cap - 1};
    struct msghdr mh = {
        .msg_iov = &iov, .msg_iovlen = 1, .msg_control = &ctl, .msg_controllen = sizeof(ctl)};
    ssize_t n = recvmsg(s->fd, &mh, MSG_DONTWAIT);
    if (n < 0)
        return false;
    msg[n] = '\0';
    *pid = 0;
    for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c))
        if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_CREDENTIALS) {
            struct ucred cr;
            memcpy(&cr, CMSG_DATA(c), sizeof(cr));
            *pid = cr.pid;
        }
    return true;
}

/* ---- the bridge as systemd would start it ------------------------------- */

typedef struct {
    itest_bridge_t b;
    nsock_t ns;
    char *topic, *client;
    int ready, watchdogs, stopping, statuses, foreign;
    long long ready_at, max_wd_gap, first_wd, last_wd_at;
    char last_status[512];
    char exec[1024]; /* the unit's ExecStart= */
    long long started_at;
    pid_t pid; /* the bridge's, kept after itest_bridge_stop reaps it */
} run_t;

/* Reads the unit, creates a topic and writes a config for the harness. */
static void run_prepare(run_t *r, const char *name)
{
    memset(r, 0, sizeof(*r));
    char unit_type[64], wd[64], exec[1024];
    unit_value("Type", unit_type, sizeof(unit_type));
    ck_assert_msg(strcmp(unit_type, "notify") == 0, "the unit has Type=%s", unit_type);
    unit_value("WatchdogSec", wd, sizeof(wd));
    ck_assert_msg(wd[0] != '\0', "the unit sets no WatchdogSec=");
    unit_value("ExecStart", exec, sizeof(exec));

    const char *dir = itest_env("MKB_HARNESS_DIR");
    r->topic = itest_unique("itest.systemd");
    r->client = itest_unique("bridge");
    itest_create_topic(r->topic);
    snprintf(r->b.config_path, sizeof(r->b.config_path), "%s/%s.yaml", dir, name);
    snprintf(r->b.log_path, sizeof(r->b.log_path), "%s/%s.log", dir, name);
    char *cfg = NULL;
    ck_assert(asprintf(&cfg,
                       "mqtt:\n  uri: \"%s\"\n  client_id: %s\n"
                       "kafka:\n  bootstrap: %s\n"
                       "spool:\n  dir: %s/%s.spool\n"
                       "routes:\n  - name: r\n    mqtt: { filter: \"systemd/%s/#\", qos: 1 }\n"
                       "    kafka: { topic: %s }\n    payload: raw\n",
                       itest_env("MKB_MQTT_URI"), r->client, itest_env("MKB_KAFKA_BOOTSTRAP"), dir,
                       name, r->topic, r->topic) > 0);
    itest_write_file(r->b.config_path, cfg);
    free(cfg);

    snprintf(r->exec, sizeof(r->exec), "%s", exec);
}

/* Starts the ExecStart= line as systemd would, with NOTIFY_SOCKET set. */
static void run_spawn(run_t *r)
{
    char *argv[16];
    exec_start_argv(r->exec, itest_env("MKB_BRIDGE_BIN"), r->b.config_path, argv, 16);
    nsock_open(&r->ns);
    r->started_at = now_ms();
    pid_t parent = getpid();
    r->pid = r->b.pid = fork();
    ck_assert(r->b.pid >= 0);
    if (r->b.pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (getppid() != parent)
            _exit(127);
        int fd = open(r->b.log_path, O_WRONLY | O_CREAT | O_APPEND, 0644);
        if (fd >= 0) {
            dup2(fd, STDOUT_FILENO);
            dup2(fd, STDERR_FILENO);
            close(fd);
        }
        char pid[32];
        snprintf(pid, sizeof(pid), "%d", (int)getpid()); /* exec keeps the PID */
        setenv("NOTIFY_SOCKET", r->ns.name, 1);
        setenv("WATCHDOG_USEC", "2000000", 1);
        setenv("WATCHDOG_PID", pid, 1);
        itest_exec(argv); /* valgrind too keeps the PID */
    }
}

/* Reads notifications for up to TIMEOUT_MS, or until UNTIL (a line such as
 * "READY=1") arrives; true if it did. */
static bool run_read(run_t *r, int timeout_ms, const char *until)
{
    long long end = now_ms() + timeout_ms;
    char msg[1024];
    pid_t from;
    for (long long left; (left = end - now_ms()) > 0;) {
        if (!nsock_recv(&r->ns, (int)left, msg, sizeof(msg), &from))
            continue;
        /* 0: the sender exited before this was read (systemd then cannot
         * tell who sent it either: the last STATUS= may go unseen). */
        if (from != r->pid && from != 0) {
            fprintf(stderr, "  (from PID %d, not the bridge's %d)\n", (int)from, (int)r->pid);
            r->foreign++;
        }
        long long t = now_ms();
        /* One datagram may carry several lines; ours carry one each. */
        for (char *save = NULL, *l = strtok_r(msg, "\n", &save); l;
             l = strtok_r(NULL, "\n", &save)) {
            fprintf(stderr, "  %6lld ms  %s\n", t - r->started_at, l);
            if (strcmp(l, "READY=1") == 0) {
                r->ready++;
                r->ready_at = t;
            } else if (strcmp(l, "WATCHDOG=1") == 0) {
                if (r->watchdogs++ == 0)
                    r->first_wd = t;
                else if (t - r->last_wd_at > r->max_wd_gap)
                    r->max_wd_gap = t - r->last_wd_at;
                r->last_wd_at = t;
            } else if (strcmp(l, "STOPPING=1") == 0) {
                r->stopping++;
            } else if (strncmp(l, "STATUS=", 7) == 0) {
                r->statuses++;
                snprintf(r->last_status, sizeof(r->last_status), "%s", l + 7);
            } else {
                ck_abort_msg("unexpected notification \"%s\"", l);
            }
            if (until && strcmp(l, until) == 0)
                return true;
        }
    }
    return false;
}

static void run_free(run_t *r)
{
    close(r->ns.fd);
    free(r->topic);
    free(r->client);
}

START_TEST(test_ready_watchdog_stopping)
{
    run_t r;
    run_prepare(&r, "systemd-notify");
    run_spawn(&r);
    if (!run_read(&r, 60000, "READY=1")) {
        itest_bridge_dump_log(&r.b);
        ck_abort_msg("no READY=1 within 60 s");
    }
    ck_assert_msg(itest_bridge_wait_log(&r.b, "ready: forwarding", 1000),
                  "READY=1 before MQTT was subscribed");
    ck_assert_msg(strncmp(r.last_status, "forwarding:", 11) == 0, "STATUS=%s at READY=1",
                  r.last_status);
    /* WATCHDOG_USEC=2 s: a ping every second; 3.5 s hold three at least. */
    int wd0 = r.watchdogs;
    run_read(&r, 3500, NULL);
    ck_assert_msg(r.watchdogs - wd0 >= 2, "%d WATCHDOG=1 in 3.5 s after READY=1",
                  r.watchdogs - wd0);
    ck_assert_msg(r.max_wd_gap < 2000, "%lld ms between two WATCHDOG=1 (WATCHDOG_USEC 2 s)",
                  r.max_wd_gap);

    /* systemctl reload: SIGHUP; the STATUS= line says how it went. */
    ck_assert_int_eq(kill(r.b.pid, SIGHUP), 0);
    for (long long end = now_ms() + 5000; now_ms() < end && !strstr(r.last_status, "; reloaded");)
        run_read(&r, 200, NULL);
    ck_assert_msg(
        strcmp(r.last_status,
               "forwarding: MQTT connected, 1 Kafka broker(s) up, 1 route(s); reloaded") == 0,
        "STATUS=%s after SIGHUP", r.last_status);
    ck_assert_int_eq(r.ready, 1); /* not again */

    ck_assert_int_eq(kill(r.b.pid, SIGTERM), 0);
    if (!run_read(&r, 10000, "STOPPING=1")) {
        itest_bridge_dump_log(&r.b);
        ck_abort_msg("no STOPPING=1 within 10 s of SIGTERM");
    }
    ck_assert_int_eq(itest_bridge_stop(&r.b, SIGTERM, 60000), 0);
    run_read(&r, 200, NULL); /* whatever was sent last */
    ck_assert_int_eq(r.ready, 1);
    ck_assert_int_eq(r.stopping, 1);
    ck_assert_msg(r.statuses >= 2, "%d STATUS= line(s)", r.statuses);
    ck_assert_msg(strncmp(r.last_status, "stopping:", 9) == 0, "last STATUS=%s", r.last_status);
    ck_assert_msg(r.foreign == 0, "%d notification(s) not from the main PID", r.foreign);
    fprintf(stderr,
            "systemd: READY=1 once, %d WATCHDOG=1 (max gap %lld ms), %d STATUS=, "
            "STOPPING=1, exit 0\n",
            r.watchdogs, r.max_wd_gap, r.statuses);
    run_free(&r);
}
END_TEST

/* Kafka down at start: MQTT connects, but READY=1 waits for a broker. */
START_TEST(test_ready_waits_for_kafka)
{
    run_t r;
    run_prepare(&r, "systemd-nokafka"); /* creates the topic: Kafka still up */
    itest_harness_ctl("stop-kafka");
    run_spawn(&r);
    ck_assert_msg(!run_read(&r, 8000, "READY=1"), "READY=1 with Kafka down");
    ck_assert_msg(itest_bridge_wait_log(&r.b, "ready: forwarding", 1000),
                  "MQTT not subscribed within 8 s");
    ck_assert_msg(strcmp(r.last_status, "starting: MQTT connected, Kafka no broker up") == 0,
                  "STATUS=%s with Kafka down", r.last_status);
    ck_assert_msg(r.watchdogs >= 5, "%d WATCHDOG=1 in 8 s before READY=1", r.watchdogs);
    itest_harness_ctl("start-kafka");
    if (!run_read(&r, 90000, "READY=1")) {
        itest_bridge_dump_log(&r.b);
        ck_abort_msg("no READY=1 within 90 s of Kafka's start");
    }
    ck_assert_msg(strncmp(r.last_status, "forwarding:", 11) == 0, "STATUS=%s at READY=1",
                  r.last_status);
    ck_assert_int_eq(itest_bridge_stop(&r.b, SIGTERM, 60000), 0);
    run_read(&r, 200, NULL);
    ck_assert_int_eq(r.ready, 1);
    ck_assert_int_eq(r.stopping, 1);
    run_free(&r);
}
END_TEST

/* src/notify.c alone: a path socket, WATCHDOG_USEC and WATCHDOG_PID. */
START_TEST(test_notify_unit)
{
    char path[108];
    snprintf(path, sizeof(path), "/tmp/mkb-notify-%d.sock", (int)getpid());
    unlink(path);
    int fd = socket(AF_UNIX, SOCK_DGRAM, 0);
    struct sockaddr_un a = {.sun_family = AF_UNIX};
    snprintf(a.sun_path, sizeof(a.sun_path), "%s", path);
    ck_assert(bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0);

    unsetenv("NOTIFY_SOCKET");
    ck_assert_int_eq(notify_ready(), 0); /* no socket: a no-op */
    setenv("NOTIFY_SOCKET", path, 1);
    ck_assert_int_eq(notify_status("a\nb %d", 7), 0);
    ck_assert_int_eq(notify_watchdog(), 0);
    char buf[256];
    ssize_t n = recv(fd, buf, sizeof(buf) - 1, 0);
    ck_assert(n > 0);
    buf[n] = '\0';
    ck_assert_str_eq(buf, "STATUS=a b 7");
    n = recv(fd, buf, sizeof(buf) - 1, 0);
    buf[n > 0 ? n : 0] = '\0';
    ck_assert_str_eq(buf, "WATCHDOG=1");
    setenv("NOTIFY_SOCKET", "relative", 1);
    ck_assert_int_ne(notify_ready(), 0);
    unsetenv("NOTIFY_SOCKET");
    close(fd);
    unlink(path);

    char pid[32];
    snprintf(pid, sizeof(pid), "%d", (int)getpid());
    unsetenv("WATCHDOG_PID");
    unsetenv("WATCHDOG_USEC");
    ck_assert_int_eq(notify_watchdog_interval_ms(), 0);
    setenv("WATCHDOG_USEC", "30000000", 1);
    ck_assert_int_eq(notify_watchdog_interval_ms(), 30000);
    setenv("WATCHDOG_PID", pid, 1);
    ck_assert_int_eq(notify_watchdog_interval_ms(), 30000);
    setenv("WATCHDOG_PID", "1", 1);
    ck_assert_int_eq(notify_watchdog_interval_ms(), 0); /* another process's */
    unsetenv("WATCHDOG_PID");
    setenv("WATCHDOG_USEC", "x", 1);
    ck_assert_int_eq(notify_watchdog_interval_ms(), 0);
    setenv("WATCHDOG_USEC", "0", 1);
    ck_assert_int_eq(notify_watchdog_interval_ms(), 0);
    unsetenv("WATCHDOG_USEC");
}
END_TEST


/* ---- the journal's stream and the log formats ---------------------------- */

/* Starts the bridge (-l debug --log-format FORMAT, librdkafka's debug on so
 * its lines come too) with stderr on B's log; JOURNAL_STREAM names that log
 * (MATCH) or the config file. */
static void journal_spawn(itest_bridge_t *b, const char *name, const char *format, bool match)
{
    const char *dir = itest_env("MKB_HARNESS_DIR");
    char *client = itest_unique("mkb-journal"), *cfg = NULL;
    snprintf(b->config_path, sizeof(b->config_path), "%s/%s.yaml", dir, name);
    snprintf(b->log_path, sizeof(b->log_path), "%s/%s.log", dir, name);
    ck_assert(asprintf(&cfg,
                       "mqtt:\n  uri: \"%s\"\n  client_id: %s\n"
                       "kafka:\n  bootstrap: %s\n  properties:\n    debug: broker\n"
                       "routes:\n  - name: r\n    mqtt: { filter: \"journal/%s/#\", qos: 1 }\n"
                       "    kafka: { topic: %s }\n    payload: raw\n",
                       itest_env("MKB_MQTT_URI"), client, itest_env("MKB_KAFKA_BOOTSTRAP"), client,
                       client) > 0);
    itest_write_file(b->config_path, cfg);
    free(cfg);
    free(client);
    pid_t parent = getpid();
    b->pid = fork();
    ck_assert(b->pid >= 0);
    if (b->pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (getppid() != parent)
            _exit(127);
        int fd = open(b->log_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        struct stat st;
        if (fd < 0 || stat(match ? b->log_path : b->config_path, &st) != 0)
            _exit(127);
        dup2(fd, STDOUT_FILENO);
        dup2(fd, STDERR_FILENO);
        close(fd);
        char js[64];
        snprintf(js, sizeof(js), "%llu:%llu", (unsigned long long)st.st_dev,
                 (unsigned long long)st.st_ino);
        setenv("JOURNAL_STREAM", js, 1);
        char *argv[] = {(char *)itest_env("MKB_BRIDGE_BIN"), "-c", b->config_path, "-l", "debug",
                        "--log-format", (char *)format, NULL};
        itest_exec(argv);
    }
}

/* Runs the bridge until ready, stops it (exit 0) and returns its log. */
static char *journal_run(const char *name, const char *format, bool match)
{
    itest_bridge_t b = {0};
    journal_spawn(&b, name, format, match);
    if (!itest_bridge_wait_log(&b, "ready: forwarding", 30000)) {
        itest_bridge_dump_log(&b);
        ck_abort_msg("bridge not ready within %d s", itest_scale_ms(30000) / 1000);
    }
    ck_assert_int_eq(itest_bridge_stop(&b, SIGTERM, itest_scale_ms(20000)), 0);
    FILE *f = fopen(b.log_path, "r");
    ck_assert(f != NULL);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    rewind(f);
    char *text = malloc((size_t)n + 1);
    ck_assert(text && fread(text, 1, (size_t)n, f) == (size_t)n);
    text[n] = '\0';
    fclose(f);
    return text;
}

/* The sd-daemon priority of a level name. */
static int level_prio(const char *level)
{
    static const char *const names[] = {"error", "warn", "info", "debug"};
    static const int prio[] = {3, 4, 6, 7};
    for (int i = 0; i < 4; i++)
        if (strcmp(level, names[i]) == 0)
            return prio[i];
    ck_abort_msg("level \"%s\"", level);
    return -1;
}

START_TEST(test_journal_json_lines)
{
    char *text = journal_run("journal-json", "json", true);
    int lines = 0, rdkafka = 0, paho = 0, main_ = 0;
    for (char *save = NULL, *l = strtok_r(text, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
        lines++;
        ck_assert_msg(l[0] == '<' && l[2] == '>', "no priority: %s", l);
        json_error_t err;
        json_t *doc = json_loads(l + 3, 0, &err);
        ck_assert_msg(doc != NULL, "jansson: %s in %s", err.text, l);
        const char *level = json_string_value(json_object_get(doc, "level"));
        const char *module = json_string_value(json_object_get(doc, "module"));
        ck_assert(level && module && json_is_string(json_object_get(doc, "msg")));
        ck_assert(json_is_string(json_object_get(doc, "ts")));
        ck_assert_uint_eq(json_object_size(doc), 4);
        ck_assert_int_eq(l[1] - '0', level_prio(level));
        rdkafka += strcmp(module, "rdkafka") == 0;
        paho += strcmp(module, "paho") == 0;
        main_ += strcmp(module, "main") == 0;
        json_decref(doc);
    }
    fprintf(stderr, "  json: %d lines (rdkafka %d, paho %d, main %d)\n", lines, rdkafka, paho,
            main_);
    ck_assert(rdkafka > 0 && paho > 0 && main_ > 0);
    free(text);
}
END_TEST

START_TEST(test_journal_other_file_logfmt_lines)
{
    char *text = journal_run("journal-logfmt", "logfmt", false);
    char path[600], cmd[1400];
    snprintf(path, sizeof(path), "%s/journal-logfmt.log", itest_env("MKB_HARNESS_DIR"));
    int lines = 0, rdkafka = 0, paho = 0;
    for (char *save = NULL, *l = strtok_r(text, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
        lines++;
        ck_assert_msg(strncmp(l, "ts=", 3) == 0, "not logfmt, or a prefix: %s", l);
    }
    free(text);
    snprintf(cmd, sizeof(cmd), "%s/.cache/logfmt/decode < %s", MKB_SOURCE_DIR, path);
    FILE *f = popen(cmd, "r");
    ck_assert(f != NULL);
    char out[16384];
    int records = 0;
    while (fgets(out, sizeof(out), f)) {
        json_t *r = json_loads(out, 0, NULL);
        ck_assert_msg(r != NULL, "%s", out);
        ck_assert_str_eq(json_string_value(json_object_get(r, "_keys")), "[ts level module msg]");
        const char *module = json_string_value(json_object_get(r, "module"));
        rdkafka += strcmp(module, "rdkafka") == 0;
        paho += strcmp(module, "paho") == 0;
        records++;
        json_decref(r);
    }
    ck_assert_msg(pclose(f) == 0, "go-logfmt refused %s (make deps builds it)", path);
    fprintf(stderr, "  logfmt: %d lines, %d records (rdkafka %d, paho %d)\n", lines, records,
            rdkafka, paho);
    ck_assert_int_eq(records, lines);
    ck_assert(rdkafka > 0 && paho > 0);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("systemd");
    TCase *unit = tcase_create("notify");
    tcase_add_test(unit, test_notify_unit);
    suite_add_tcase(s, unit);
    TCase *tc = tcase_create("service");
    tcase_set_timeout(tc, 180);
    tcase_add_test(tc, test_ready_watchdog_stopping);
    suite_add_tcase(s, tc);
    TCase *kafka = tcase_create("kafka-down");
    tcase_set_timeout(kafka, 240);
    tcase_add_test(kafka, test_ready_waits_for_kafka);
    suite_add_tcase(s, kafka);
    TCase *journal = tcase_create("journal");
    tcase_set_timeout(journal, 180);
    tcase_add_test(journal, test_journal_json_lines);
    tcase_add_test(journal, test_journal_other_file_logfmt_lines);
    suite_add_tcase(s, journal);
    return check_run(s);
}
