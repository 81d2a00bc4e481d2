// SPDX-FileCopyrightText: 2026 The mqtt-kafka-bridge authors
// SPDX-License-Identifier: Apache-2.0
/* Publisher for the benchmarks: COUNT QoS 1 messages on TOPIC, each an
 * HVAC-like JSON reading of about SIZE bytes with a sequence number and the
 * publish time in microseconds ("t_us"), so the live benchmark can measure
 * publish-to-Kafka latency. RATE > 0 paces it (messages per second);
 * RATE 0 publishes as fast as the broker acknowledges (a window of 1000).
 *   pub URI TOPIC COUNT SIZE RATE
 * With --files, the payloads are files instead of readings (SIZE is then
 * ignored): message i is file i % nfiles, in the order given, or in name
 * order when the argument is a directory (the Sparkplug drain publishes
 * pysparkplug's DDATA payloads so, bench/spb_payloads.py):
 *   pub URI TOPIC COUNT SIZE RATE --files DIR|FILE[,FILE...]
 * With --progress, it prints "progress SENT ACKED" on stdout four times a
 * second, and once more when the broker has acknowledged all COUNT (the
 * live benchmark's published-versus-consumed series and its tail). */
#define _DEFAULT_SOURCE
#include <MQTTAsync.h>
#include <dirent.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static atomic_long acked, failed;
static atomic_int connected;

static void ok(void *c, MQTTAsync_successData *r)
{
    (void)c;
    (void)r;
    atomic_fetch_add(&acked, 1);
}
static void ko(void *c, MQTTAsync_failureData *r)
{
    (void)c;
    (void)r;
    atomic_fetch_add(&failed, 1);
}
static void up(void *c, char *cause)
{
    (void)c;
    (void)cause;
    atomic_store(&connected, 1);
}

static long long now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (long long)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* The payload files of --files. */
struct files {
    char **data;
    size_t *len;
    size_t n;
};

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
                fclose(fp);
                return -1;
            }
            d = g;
        }
        got = fread(d + len, 1, cap - len, fp);
        len += got;
    } while (got > 0);
    int bad = ferror(fp);
    fclose(fp);
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

int main(int argc, char **argv)
{
    struct files files = {0};
    int progress = 0, bad = argc < 6;
    for (int a = 6; a < argc && !bad; a++) {
        if (strcmp(argv[a], "--progress") == 0) {
            progress = 1;
        } else if (strcmp(argv[a], "--files") == 0 && a + 1 < argc) {
            if (load_files(&files, argv[++a]) != 0) {
                fprintf(stderr, "pub: no payload files in %s\n", argv[a]);
                return 2;
            }
        } else {
            bad = 1;
        }
    }
    if (bad) {
        fprintf(stderr, "usage: pub URI TOPIC COUNT SIZE RATE [--files DIR|FILE[,FILE...]] "
                        "[--progress]\n");
        return 2;
    }
    long count = strtol(argv[3], NULL, 10), size = strtol(argv[4], NULL, 10);
    double rate = strtod(argv[5], NULL);
    char id[64];
    snprintf(id, sizeof(id), "bench-pub-%d", (int)getpid());
    MQTTAsync c;
    MQTTAsync_createOptions co = MQTTAsync_createOptions_initializer;
    co.maxBufferedMessages = 2000;
    MQTTAsync_createWithOptions(&c, argv[1], id, MQTTCLIENT_PERSISTENCE_NONE, NULL, &co);
    MQTTAsync_setConnected(c, NULL, up);
    MQTTAsync_connectOptions o = MQTTAsync_connectOptions_initializer;
    o.maxInflight = 2000;
    if (MQTTAsync_connect(c, &o) != MQTTASYNC_SUCCESS)
        return 1;
    while (!atomic_load(&connected))
        nanosleep(&(struct timespec){0, 1000000}, NULL);
    char *buf = malloc((size_t)size + 256);
    long long start = now_us(), next_progress = start + 250000;
    for (long i = 0; i < count; i++) {
        if (progress && now_us() >= next_progress) {
            printf("progress %ld %ld\n", i, atomic_load(&acked));
            fflush(stdout);
            next_progress += 250000;
        }
        if (rate > 0) { /* pace: message i leaves at start + i/rate */
            long long due = start + (long long)((double)i * 1e6 / rate);
            long long wait = due - now_us();
            if (wait > 0)
                nanosleep(&(struct timespec){wait / 1000000, (wait % 1000000) * 1000}, NULL);
        }
        while (i - atomic_load(&acked) - atomic_load(&failed) >= 1000)
            nanosleep(&(struct timespec){0, 100000}, NULL);
        MQTTAsync_responseOptions ro = MQTTAsync_responseOptions_initializer;
        ro.onSuccess = ok;
        ro.onFailure = ko;
        int rc;
        if (files.n) {
            size_t k = (size_t)i % files.n;
            while ((rc = MQTTAsync_send(c, argv[2], (int)files.len[k], files.data[k], 1, 0, &ro)) ==
                   MQTTASYNC_MAX_BUFFERED_MESSAGES)
                nanosleep(&(struct timespec){0, 100000}, NULL);
            if (rc != MQTTASYNC_SUCCESS) {
                fprintf(stderr, "pub: send failed: %d\n", rc);
                return 1;
            }
            continue;
        }
        int n = snprintf(buf, (size_t)size + 256,
                         "{\"seq\":%ld,\"t_us\":%lld,\"temp_f\":71.6,\"rh\":41.5,\"aqi\":37,"
                         "\"ts\":%lld,\"fw\":\"2.4.1\",\"rssi\":-67,\"battery_v\":3.61,\"pad\":\"",
                         i, now_us(), now_us() / 1000);
        while (n < size - 2)
            buf[n++] = 'x';
        buf[n++] = '"';
        buf[n++] = '}';
        while ((rc = MQTTAsync_send(c, argv[2], n, buf, 1, 0, &ro)) ==
               MQTTASYNC_MAX_BUFFERED_MESSAGES)
            nanosleep(&(struct timespec){0, 100000}, NULL);
        if (rc != MQTTASYNC_SUCCESS) {
            fprintf(stderr, "pub: send failed: %d\n", rc);
            return 1;
        }
    }
    while (atomic_load(&acked) + atomic_load(&failed) < count)
        nanosleep(&(struct timespec){0, 1000000}, NULL);
    if (progress) {
        printf("progress %ld %ld\n", count, atomic_load(&acked));
        fflush(stdout);
    }
    double secs = (double)(now_us() - start) / 1e6;
    fprintf(stderr, "pub: %ld messages in %.2f s (%.0f/s), %ld failed\n", count, secs,
            (double)count / secs, atomic_load(&failed));
    MQTTAsync_disconnectOptions d = MQTTAsync_disconnectOptions_initializer;
    MQTTAsync_disconnect(c, &d);
    nanosleep(&(struct timespec){0, 100000000}, NULL);
    MQTTAsync_destroy(&c);
    free(buf);
    for (size_t k = 0; k < files.n; k++)
        free(files.data[k]);
    free(files.data);
    free(files.len);
    return atomic_load(&failed) ? 1 : 0;
}
