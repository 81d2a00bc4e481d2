// SPDX-FileCopyrightText: 2026 The mqtt-kafka-bridge authors
// SPDX-License-Identifier: Apache-2.0
/* Publisher for the benchmarks: COUNT QoS 1 messages on TOPIC, each an
 * HVAC-like JSON reading of about SIZE bytes with a sequence number and the
 * publish time in microseconds ("t_us"), so the live benchmark can measure
 * publish-to-Kafka latency. RATE > 0 paces it (messages per second);
 * RATE 0 publishes as fast as the broker acknowledges (a window of 500).
 *   pub URI TOPIC COUNT SIZE RATE
 * URI: tcp://HOST:PORT, mqtt://HOST:PORT or HOST:PORT (no TLS).
 * With --files, the payloads are files instead of readings (SIZE is then
 * ignored): message i is file i % nfiles, in the order given, or in name
 * order when the argument is a directory (the Sparkplug drain publishes
 * pysparkplug's DDATA payloads so, bench/spb_payloads.py):
 *   pub URI TOPIC COUNT SIZE RATE --files DIR|FILE[,FILE...]
 * With --progress, it prints "progress SENT ACKED" on stdout four times a
 * second, and once more when the broker has acknowledged all COUNT (the
 * live benchmark's published-versus-consumed series and its tail). Its last
 * line on stderr: "pub: N messages in S s (R/s), F failed, cpu C s; window
 * full W times, woke up to L ms late" (C: its user + system CPU, which the
 * live benchmark reports per million messages; W: bursts cut short because
 * the broker's PUBACKs lagged; L: the worst wait for a CPU after a tick, the
 * two reasons a paced publisher falls behind).
 *
 * Built on libmosquitto in one thread (no network thread): the live bench
 * runs it beside the bridge, Mosquitto and Kafka on 2 cores, so its own CPU
 * is taken from the thing measured. Paho's MQTTAsync (the previous version)
 * cost about 26 CPU s per million messages at 50k msg/s, mostly in waking
 * its send thread per message and in the locks between threads; this costs
 * a fraction of that (bench/results/2026-12-05-livepub.md). Paced, it wakes
 * once per tick (TICK_US), sends every message due by then in one corked
 * burst (each stamped with its own send time) and reads the PUBACKs that
 * have arrived, without waiting for them. */
#define _DEFAULT_SOURCE
#include <dirent.h>
#include <errno.h>
#include <mosquitto.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define TICK_US 1000  /* pacing period: one wake-up, one burst */
/* At most this many sent and not yet acknowledged (libmosquitto's in-flight
 * limit too). Small on purpose: libmosquitto walks its whole in-flight list
 * on every PUBACK, so a deep window costs CPU exactly when the broker lags
 * (at 80k msg/s, one publisher: a window of 2000 took 9.6 CPU s per million
 * messages and fell to 45k msg/s; 500 took 3.6 and kept 80k; 200 took 2.2
 * but blocks after 8 ms of PUBACK delay at 25k msg/s). */
#define WINDOW 500

/* The payload files of --files. */
struct files {
    char **data;
    size_t *len;
    size_t n;
};

struct pub {
    struct mosquitto *mosq;
    const char *topic;
    long count, size, sent, acked, failed;
    long full;           /* bursts cut short by the window: PUBACKs late */
    long long late_max;  /* the latest wake-up after its tick, us: no CPU */
    double rate;
    int connected; /* 0 waiting, 1 up, -1 refused */
    struct files files;
    char *buf;
};

static void on_connect(struct mosquitto *m, void *u, int rc)
{
    (void)m;
    ((struct pub *)u)->connected = rc == 0 ? 1 : -1;
}

static void on_publish(struct mosquitto *m, void *u, int mid)
{
    (void)m;
    (void)mid;
    ((struct pub *)u)->acked++;
}

static long long now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (long long)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static void sleep_until_us(long long t)
{
    long long wait = t - now_us();
    if (wait > 0)
        nanosleep(&(struct timespec){wait / 1000000, (wait % 1000000) * 1000}, NULL);
}

static int add_file(struct files *f, const char *path)
{
    FILE *fp = fopen(path, "rb");
    if (!fp) {
        perror(path);
        return -1;
    }
    char *d = NULL;
    size_t len = 0, cap = 0, got;
    do { /* read to the end, growing the buffer */
        if (len == cap) {
            char *g = realloc(d, cap = cap ? cap * 2 : 4096);
            if (!g) {
                free(d);
                (void)fclose(fp);
                return -1;
            }
            d = g;
        }
        got = fread(d + len, 1, cap - len, fp);
        len += got;
    } while (got > 0);
    int bad = ferror(fp);
    (void)fclose(fp);
    char **nd = realloc(f->data, (f->n + 1) * sizeof(*nd));
    size_t *nl = nd ? realloc(f->len, (f->n + 1) * sizeof(*nl)) : NULL;
    if (nd)
        f->data = nd;
    if (nl)
        f->len = nl;
    if (bad || !nd || !nl) {
        fprintf(stderr, "pub: cannot read %s\n", path);
        free(d);
        return -1;
    }
    f->data[f->n] = d;
    f->len[f->n++] = len;
    return 0;
}

/* ARG: a directory (its regular files in name order) or a comma-separated
 * list of files. */
static int load_files(struct files *f, const char *arg)
{
    struct stat st;
    if (stat(arg, &st) == 0 && S_ISDIR(st.st_mode)) {
        struct dirent **ents;
        int n = scandir(arg, &ents, NULL, alphasort), rc = n > 0 ? 0 : -1;
        for (int i = 0; i < n; i++) {
            char path[4096];
            snprintf(path, sizeof(path), "%s/%s", arg, ents[i]->d_name);
            if (rc == 0 && stat(path, &st) == 0 && S_ISREG(st.st_mode))
                rc = add_file(f, path);
            free(ents[i]);
        }
        if (n >= 0)
            free(ents);
        return rc == 0 && f->n > 0 ? 0 : -1;
    }
    char *list = strdup(arg), *save = NULL;
    int rc = list ? 0 : -1;
    for (char *p = list ? strtok_r(list, ",", &save) : NULL; p && rc == 0;
         p = strtok_r(NULL, ",", &save))
        rc = add_file(f, p);
    free(list);
    return rc == 0 && f->n > 0 ? 0 : -1;
}

/* Reads the PUBACKs that have arrived, waiting up to TIMEOUT_MS for some
 * when there are none; writes what libmosquitto still holds. */
static int service(struct pub *p, int timeout_ms)
{
    struct pollfd pf = {.fd = mosquitto_socket(p->mosq), .events = POLLIN};
    if (pf.fd < 0)
        return MOSQ_ERR_NO_CONN;
    if (mosquitto_want_write(p->mosq))
        pf.events |= POLLOUT;
    if (poll(&pf, 1, timeout_ms) < 0 && errno != EINTR)
        return MOSQ_ERR_ERRNO;
    int rc = MOSQ_ERR_SUCCESS;
    if (pf.revents & (POLLIN | POLLHUP | POLLERR))
        rc = mosquitto_loop_read(p->mosq, 1);
    if (rc == MOSQ_ERR_SUCCESS && (pf.revents & POLLOUT))
        rc = mosquitto_loop_write(p->mosq, 1);
    return rc == MOSQ_ERR_SUCCESS ? mosquitto_loop_misc(p->mosq) : rc;
}

/* Message I's payload: a reading stamped now, or file I % nfiles. */
static int payload(struct pub *p, long i, const char **out)
{
    if (p->files.n) {
        size_t k = (size_t)i % p->files.n;
        *out = p->files.data[k];
        return (int)p->files.len[k];
    }
    long long t = now_us();
    int n = snprintf(p->buf, (size_t)p->size + 256,
                     "{\"seq\":%ld,\"t_us\":%lld,\"temp_f\":71.6,\"rh\":41.5,\"aqi\":37,"
                     "\"ts\":%lld,\"fw\":\"2.4.1\",\"rssi\":-67,\"battery_v\":3.61,\"pad\":\"",
                     i, t, t / 1000);
    while (n < p->size - 2)
        p->buf[n++] = 'x';
    p->buf[n++] = '"';
    p->buf[n++] = '}';
    *out = p->buf;
    return n;
}

/* Sends the messages due by now (all of them unpaced), within the window,
 * in one TCP segment where they fit (cork, then uncork). */
static int send_due(struct pub *p, long long start)
{
    long due = p->count;
    if (p->rate > 0) {
        double d = (double)(now_us() - start) * p->rate / 1e6 + 1;
        due = d < (double)p->count ? (long)d : p->count;
    }
    int fd = mosquitto_socket(p->mosq), on = 1, off = 0;
    if (p->sent < due && p->sent - p->acked - p->failed < WINDOW && fd >= 0)
        setsockopt(fd, IPPROTO_TCP, TCP_CORK, &on, sizeof(on));
    else
        return MOSQ_ERR_SUCCESS;
    int rc = MOSQ_ERR_SUCCESS;
    while (rc == MOSQ_ERR_SUCCESS && p->sent < due && p->sent - p->acked - p->failed < WINDOW) {
        const char *data;
        int len = payload(p, p->sent, &data);
        rc = mosquitto_publish(p->mosq, NULL, p->topic, len, data, 1, false);
        if (rc == MOSQ_ERR_SUCCESS)
            p->sent++;
    }
    setsockopt(fd, IPPROTO_TCP, TCP_CORK, &off, sizeof(off));
    p->full += p->sent < due;
    if (rc != MOSQ_ERR_SUCCESS)
        fprintf(stderr, "pub: publish failed: %s\n", mosquitto_strerror(rc));
    return rc;
}

/* Publishes all COUNT and waits for their PUBACKs. Paced: sleeps to the
 * next tick, then sends and reads without blocking, also while the window
 * is full (the PUBACKs of a tick come in one read, the next burst is not a
 * message or two); unpaced, or all sent: blocks in poll until PUBACKs come. */
static int run(struct pub *p, int progress)
{
    long long start = now_us(), next_progress = start + 250000, tick = start;
    int rc = MOSQ_ERR_SUCCESS;
    while (rc == MOSQ_ERR_SUCCESS && p->acked + p->failed < p->count) {
        if (progress && now_us() >= next_progress) {
            printf("progress %ld %ld\n", p->sent, p->acked);
            (void)fflush(stdout);
            next_progress += 250000;
        }
        rc = send_due(p, start);
        if (rc == MOSQ_ERR_SUCCESS && p->rate > 0 && p->sent < p->count) {
            long long now = now_us(); /* behind (descheduled): no catch-up ticks */
            tick = tick + TICK_US > now ? tick + TICK_US : now + TICK_US;
            sleep_until_us(tick);
            long long late = now_us() - tick;
            p->late_max = late > p->late_max ? late : p->late_max;
            rc = service(p, 0);
        } else if (rc == MOSQ_ERR_SUCCESS) {
            rc = service(p, 100);
        }
    }
    if (rc != MOSQ_ERR_SUCCESS)
        fprintf(stderr, "pub: connection lost: %s\n", mosquitto_strerror(rc));
    if (progress) {
        printf("progress %ld %ld\n", p->sent, p->acked);
        (void)fflush(stdout);
    }
    double secs = (double)(now_us() - start) / 1e6;
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    double cpu = (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
                 (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
    fprintf(stderr,
            "pub: %ld messages in %.2f s (%.0f/s), %ld failed, cpu %.2f s; "
            "window full %ld times, woke up to %.1f ms late\n",
            p->acked, secs, (double)p->acked / secs, p->count - p->acked, cpu, p->full,
            (double)p->late_max / 1000);
    return rc == MOSQ_ERR_SUCCESS ? 0 : 1;
}

/* Connects to URI and waits for the CONNACK. */
static int open_client(struct pub *p, const char *uri)
{
    const char *hp = strstr(uri, "://");
    hp = hp ? hp + 3 : uri;
    char host[256];
    snprintf(host, sizeof(host), "%s", hp);
    char *colon = strrchr(host, ':');
    int port = colon ? (int)strtol(colon + 1, NULL, 10) : 1883;
    if (colon)
        *colon = '\0';
    char id[64];
    snprintf(id, sizeof(id), "bench-pub-%d", (int)getpid());
    p->mosq = mosquitto_new(id, true, p);
    if (!p->mosq)
        return -1;
    mosquitto_connect_callback_set(p->mosq, on_connect);
    mosquitto_publish_callback_set(p->mosq, on_publish);
    mosquitto_max_inflight_messages_set(p->mosq, WINDOW);
    mosquitto_int_option(p->mosq, MOSQ_OPT_TCP_NODELAY, 1);
    int rc = mosquitto_connect(p->mosq, host, port, 60);
    while (rc == MOSQ_ERR_SUCCESS && p->connected == 0)
        rc = mosquitto_loop(p->mosq, 100, 1);
    if (rc != MOSQ_ERR_SUCCESS || p->connected != 1) {
        fprintf(stderr, "pub: cannot connect to %s: %s\n", uri,
                rc != MOSQ_ERR_SUCCESS ? mosquitto_strerror(rc) : "refused");
        return -1;
    }
    return 0;
}

static int parse_args(struct pub *p, int *progress, int argc, char **argv)
{
    int bad = argc < 6;
    for (int a = 6; a < argc && !bad; a++) {
        if (strcmp(argv[a], "--progress") == 0) {
            *progress = 1;
        } else if (strcmp(argv[a], "--files") == 0 && a + 1 < argc) {
            if (load_files(&p->files, argv[++a]) != 0) {
                fprintf(stderr, "pub: no payload files in %s\n", argv[a]);
                return -1;
            }
        } else {
            bad = 1;
        }
    }
    if (bad) {
        fprintf(stderr, "usage: pub URI TOPIC COUNT SIZE RATE [--files DIR|FILE[,FILE...]] "
                        "[--progress]\n");
        return -1;
    }
    p->topic = argv[2];
    p->count = strtol(argv[3], NULL, 10);
    p->size = strtol(argv[4], NULL, 10);
    p->rate = strtod(argv[5], NULL);
    return 0;
}

int main(int argc, char **argv)
{
    struct pub p = {0};
    int progress = 0, rc = 2;
    mosquitto_lib_init();
    if (parse_args(&p, &progress, argc, argv) != 0)
        goto cleanup;
    rc = 1;
    p.buf = malloc((size_t)(p.size > 0 ? p.size : 0) + 256);
    if (!p.buf || open_client(&p, argv[1]) != 0)
        goto cleanup;
    rc = run(&p, progress);
    mosquitto_disconnect(p.mosq);
    service(&p, 0);
cleanup:
    mosquitto_destroy(p.mosq);
    mosquitto_lib_cleanup();
    free(p.buf);
    for (size_t k = 0; k < p.files.n; k++)
        free(p.files.data[k]);
    free(p.files.data);
    free(p.files.len);
    return rc;
}
