// SPDX-FileCopyrightText: 2026 The mqtt-kafka-bridge authors
// SPDX-License-Identifier: Apache-2.0
/* Kafka side of the benchmarks.
 *   kafka_tool BOOTSTRAP create TOPIC          create TOPIC with one partition
 *   kafka_tool BOOTSTRAP count TOPIC           print partition 0's high watermark
 *   kafka_tool BOOTSTRAP wait TOPIC N TIMEOUT_S  wait until it reaches N; print the
 *                                                seconds waited (exit 1 on timeout)
 *   kafka_tool BOOTSTRAP latency TOPIC N TIMEOUT_S  consume N new records whose JSON
 *       value holds "t_us" (publish time, microseconds) and print p50 p99 max
 *       latency in milliseconds from publish to consumption. Ten times a
 *       second before that, and once when it stops consuming, it prints
 *       "progress GOT LAG_MS IN_KAFKA": records consumed so far, the latency
 *       of the latest one (the consumer's lag), and the records the
 *       partition gained since the start (its high watermark, asked of the
 *       broker: what the producer has delivered, however far behind this
 *       consumer is). */
#define _GNU_SOURCE /* memmem */
#include <librdkafka/rdkafka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static long long now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (long long)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* The latency mode's progress line: records consumed, the latest one's
 * latency, and the records the partition gained since HI0 (its high
 * watermark then; -1 if the broker did not answer in time). */
static void progress(rd_kafka_t *rk, const char *topic, int64_t hi0, long long got,
                     const long long *lat)
{
    int64_t lo = 0, hi = -1;
    long long in_kafka = -1;
    if (rd_kafka_query_watermark_offsets(rk, topic, 0, &lo, &hi, 1000) == 0)
        in_kafka = (long long)(hi - hi0);
    printf("progress %lld %.2f %lld\n", got, got ? (double)lat[got - 1] / 1000.0 : 0.0,
           in_kafka);
    fflush(stdout);
}

static int cmp_ll(const void *a, const void *b)
{
    long long x = *(const long long *)a, y = *(const long long *)b;
    return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
    if (argc < 4) {
        fprintf(stderr, "usage: kafka_tool BOOTSTRAP count|wait|latency TOPIC [N TIMEOUT_S]\n");
        return 2;
    }
    char err[512];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    rd_kafka_conf_set(conf, "bootstrap.servers", argv[1], err, sizeof(err));
    rd_kafka_conf_set(conf, "group.id", "bench", err, sizeof(err));
    rd_kafka_conf_set(conf, "fetch.wait.max.ms", "10", err, sizeof(err));
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof(err));
    if (!rk) {
        fprintf(stderr, "%s\n", err);
        return 2;
    }
    const char *topic = argv[3];
    long long n = argc > 4 ? atoll(argv[4]) : 0;
    double timeout = argc > 5 ? atof(argv[5]) : 60;
    int64_t lo = 0, hi = -1;
    if (strcmp(argv[2], "create") == 0) {
        rd_kafka_NewTopic_t *nt = rd_kafka_NewTopic_new(topic, 1, 1, err, sizeof(err));
        rd_kafka_queue_t *q = rd_kafka_queue_new(rk);
        rd_kafka_CreateTopics(rk, &nt, 1, NULL, q);
        rd_kafka_event_t *ev = rd_kafka_queue_poll(q, 30000);
        int rc = 1;
        if (ev && rd_kafka_event_CreateTopics_result(ev)) {
            size_t cnt;
            const rd_kafka_topic_result_t **tr =
                rd_kafka_CreateTopics_result_topics(rd_kafka_event_CreateTopics_result(ev), &cnt);
            rc = cnt == 1 && (rd_kafka_topic_result_error(tr[0]) == 0 ||
                              rd_kafka_topic_result_error(tr[0]) ==
                                  RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS)
                     ? 0
                     : 1;
        }
        if (ev)
            rd_kafka_event_destroy(ev);
        rd_kafka_queue_destroy(q);
        rd_kafka_NewTopic_destroy(nt);
        rd_kafka_destroy(rk);
        return rc;
    } else if (strcmp(argv[2], "count") == 0) {
        rd_kafka_query_watermark_offsets(rk, topic, 0, &lo, &hi, 5000);
        printf("%lld\n", (long long)hi);
    } else if (strcmp(argv[2], "wait") == 0) {
        double start = now_s();
        while (now_s() - start < timeout) {
            if (rd_kafka_query_watermark_offsets(rk, topic, 0, &lo, &hi, 5000) == 0 && hi >= n) {
                printf("%.3f\n", now_s() - start);
                rd_kafka_destroy(rk);
                return 0;
            }
            nanosleep(&(struct timespec){0, 20000000}, NULL);
        }
        fprintf(stderr, "kafka_tool: %lld of %lld after %.0f s\n", (long long)hi, n, timeout);
        return 1;
    } else if (strcmp(argv[2], "latency") == 0) {
        rd_kafka_poll_set_consumer(rk);
        rd_kafka_topic_partition_list_t *parts = rd_kafka_topic_partition_list_new(1);
        rd_kafka_topic_partition_list_add(parts, topic, 0)->offset = RD_KAFKA_OFFSET_END;
        rd_kafka_assign(rk, parts);
        rd_kafka_topic_partition_list_destroy(parts);
        long long *lat = malloc((size_t)n * sizeof(long long)), got = 0;
        int64_t hi0 = 0;
        rd_kafka_query_watermark_offsets(rk, topic, 0, &lo, &hi0, 5000);
        double start = now_s(), next_progress = start + 0.1;
        printf("ready\n");
        fflush(stdout);
        while (got < n && now_s() - start < timeout) {
            if (now_s() >= next_progress) {
                progress(rk, topic, hi0, got, lat);
                next_progress += 0.1;
            }
            rd_kafka_message_t *m = rd_kafka_consumer_poll(rk, 10);
            if (!m)
                continue;
            if (!m->err) {
                long long now = now_us();
                const char *p = memmem(m->payload, m->len, "\"t_us\":", 7);
                if (p)
                    lat[got++] = now - atoll(p + 7);
            }
            rd_kafka_message_destroy(m);
        }
        /* At once, before the sort: the caller times the last record by it. */
        progress(rk, topic, hi0, got, lat);
        if (got == 0) {
            fprintf(stderr, "kafka_tool: no records\n");
            return 1;
        }
        qsort(lat, (size_t)got, sizeof(long long), cmp_ll);
        printf("%lld %.2f %.2f %.2f\n", got, (double)lat[got / 2] / 1000.0,
               (double)lat[(long long)(got * 0.99)] / 1000.0, (double)lat[got - 1] / 1000.0);
        free(lat);
        rd_kafka_consumer_close(rk);
    }
    rd_kafka_destroy(rk);
    return 0;
}
