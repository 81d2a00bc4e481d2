// SPDX-FileCopyrightText: 2026 The mqtt-kafka-bridge authors
// SPDX-License-Identifier: Apache-2.0
#include "bridge_metrics.h"

#include "kafka_errors.h"
#include "metrics.h"

#include <stddef.h>
#include <stdio.h>

/* A metric that shows one figure of the snapshot. */
typedef enum { M_U64, M_F64, M_BOOL } mtype_t;
typedef struct {
    const char *name;
    const char *type; /* counter, gauge */
    mtype_t vtype;
    size_t off; /* of the figure in bridge_metrics_t */
    bool spool; /* only with a spool */
    const char *help;
} metric_t;

#define U64(f) M_U64, offsetof(bridge_metrics_t, f)
#define F64(f) M_F64, offsetof(bridge_metrics_t, f)
#define BOOL(f) M_BOOL, offsetof(bridge_metrics_t, f)

/* One row per metric, on one line, as a table is read. */
/* clang-format off */
static const metric_t mqtt_in[] = {
    {"mkb_mqtt_messages_received_total", "counter", U64(st.received), false, "MQTT messages taken."},
    {"mkb_mqtt_bytes_received_total", "counter", U64(mqtt_bytes_in), false, "MQTT payload bytes taken."},
    {"mkb_mqtt_messages_unmatched_total", "counter", U64(st.unmatched), false, "MQTT messages no route matched."},
    {"mkb_mqtt_messages_outside_routes_total", "counter", U64(st.outside), false, "MQTT messages inside the subscription cover that no route matched."},
    {"mkb_sparkplug_seq_gaps_total", "counter", U64(st.spb_seq_gaps), false, "Sparkplug B messages whose seq was not the one expected (messages lost upstream)."},
    {"mkb_sparkplug_unresolved_metrics_total", "counter", U64(st.spb_unresolved), false, "Sparkplug B metrics sent by an alias no birth names (forwarded marked, or dead-lettered)."},
    {"mkb_sparkplug_rebirths_total", "counter", U64(st.spb_rebirths), false, "Rebirth requests (NCMD Node Control/Rebirth) sent to edge nodes."},
    {"mkb_kafka_records_produced_total", "counter", U64(st.produced), false, "Records accepted by a producer."},
    {"mkb_kafka_records_delivered_total", "counter", U64(st.delivered), false, "Records acknowledged by Kafka."},
    {"mkb_kafka_bytes_produced_total", "counter", U64(ks.bytes), false, "Record value bytes accepted by a producer."},
    {"mkb_kafka_delivery_failures_total", "counter", U64(st.failed), false, "Deliveries that failed for good (then dead-lettered)."},
    {"mkb_records_lost_total", "counter", U64(st.lost), false, "Records whose delivery and dead letter both failed."},
};
static const metric_t kafka[] = {
    {"mkb_kafka_queue_records", "gauge", U64(ks.outstanding), false, "Records in the producers' queues or waiting to be produced again."},
};
static const metric_t kafka_brokers_spool[] = {
    {"mkb_kafka_brokers_up", "gauge", U64(ks.brokers_up), false, "Kafka brokers in state UP (librdkafka statistics)."},
    {"mkb_kafka_errors_total", "counter", U64(ks.errors), false, "librdkafka error events."},
    {"mkb_kafka_broker_errors_total", "counter", U64(ks.broker_errors), false, "Send and receive errors and request timeouts on broker connections (librdkafka statistics)."},
    {"mkb_spool_bytes", "gauge", U64(st.sp.bytes), true, "Size of the spool on disk."},
    {"mkb_spool_records", "gauge", U64(spool_unacked), true, "Journal entries (MQTT messages) in the spool whose records Kafka has not all acknowledged."},
    {"mkb_spool_oldest_age_seconds", "gauge", F64(spool_oldest_age_s), true, "Age of the oldest record sent to Kafka and not acknowledged."},
    {"mkb_spool_full", "gauge", BOOL(spool_full), true, "1 when the spool holds spool.max_bytes."},
    {"mkb_spool_damaged_total", "counter", U64(st.sp.corrupt), true, "Damaged journal spans found at start-up."},
    {"mkb_spool_write_errors_total", "counter", U64(st.sp.write_errors), true, "Failed journal writes."},
    {"mkb_mqtt_connected", "gauge", BOOL(mqtt_connected), false, "1 while connected to the MQTT broker."},
    {"mkb_mqtt_reconnects_total", "counter", U64(mqtt_reconnects), false, "MQTT connections after the first."},
    {"mkb_mqtt_subscriptions", "gauge", U64(mqtt_subscriptions), false, "MQTT subscriptions in force."},
    {"mkb_commands_consumed_total", "counter", U64(cmd_consumed), false, "Command records read from Kafka."},
    {"mkb_commands_published_total", "counter", U64(cmd_published), false, "Commands acknowledged by the MQTT broker."},
    {"mkb_commands_expired_total", "counter", U64(cmd_expired), false, "Commands older than max_age_s, not sent."},
    {"mkb_commands_invalid_total", "counter", U64(cmd_invalid), false, "Commands that could not be rendered, not sent."},
    {"mkb_commands_failed_total", "counter", U64(cmd_failed), false, "Command publishes that failed (sent again)."},
};
/* clang-format on */

#define NMETRICS(a) (sizeof(a) / sizeof((a)[0]))

static void render_table(const bridge_metrics_t *v, const metric_t *t, size_t n, buf_t *out)
{
    for (size_t i = 0; i < n; i++) {
        if (t[i].spool && !v->st.spool)
            continue;
        const char *at = (const char *)v + t[i].off;
        metrics_head(out, t[i].name, t[i].type, t[i].help);
        if (t[i].vtype == M_U64)
            metrics_u64(out, t[i].name, NULL, *(const uint64_t *)(const void *)at);
        else if (t[i].vtype == M_F64)
            metrics_f64(out, t[i].name, NULL, *(const double *)(const void *)at);
        else
            metrics_u64(out, t[i].name, NULL, *(const bool *)(const void *)at);
    }
}

/* Records the sink holds on a transient delivery error, by reason
 * (kafka_errors.h): retried with backoff, never dead-lettered. */
static void waiting_metric(buf_t *out, const kafka_sink_stats_t *ks)
{
    metrics_head(out, "mkb_kafka_records_waiting", "gauge",
                 "Records waiting on a transient Kafka error (produced again with backoff), by "
                 "reason.");
    for (int i = 0; i < KAFKA_WAIT_REASONS; i++) {
        char label[64];
        snprintf(label, sizeof(label), "reason=\"%s\"",
                 kafka_wait_reason_name((kafka_wait_reason_t)i));
        metrics_u64(out, "mkb_kafka_records_waiting", label, ks->waiting_by[i]);
    }
}

/* mkb_ready and one mkb_not_ready_reason line per reason. */
static void render_readiness(const bridge_metrics_t *v, buf_t *out)
{
    metrics_head(out, "mkb_ready", "gauge",
                 "1 when /readyz answers 200: data flows from MQTT to Kafka.");
    metrics_u64(out, "mkb_ready", NULL, v->not_ready == 0);
    metrics_head(out, "mkb_not_ready_reason", "gauge",
                 "1 for each reason /readyz answers 503 (kafka_stalled: records wait and none "
                 "was delivered for kafka.stall_timeout_ms).");
    char label[64];
    for (size_t i = 0; i < v->not_ready_count; i++) {
        snprintf(label, sizeof(label), "reason=\"%s\"", v->not_ready_names[i]);
        metrics_u64(out, "mkb_not_ready_reason", label, (v->not_ready >> i) & 1u);
    }
}

void bridge_metrics_render(const bridge_metrics_t *snapshot, buf_t *out)
{
    const bridge_metrics_t *v = snapshot;
    metrics_head(out, "mkb_build_info", "gauge", "Version of the running bridge.");
    metrics_u64(out, "mkb_build_info", "version=\"" MKB_VERSION "\"", 1);
    render_table(v, mqtt_in, NMETRICS(mqtt_in), out);
    metrics_head(out, "mkb_records_dropped_total", "counter", "Records dropped, by reason.");
    metrics_u64(out, "mkb_records_dropped_total", "reason=\"spool_full\"",
                v->st.spool ? v->st.sp.dropped : 0);
    render_table(v, kafka, NMETRICS(kafka), out);
    waiting_metric(out, &v->ks);
    render_table(v, kafka_brokers_spool, NMETRICS(kafka_brokers_spool), out);
    metrics_head(out, "mkb_config_reloads_total", "counter", "Reloads (SIGHUP), by result.");
    metrics_u64(out, "mkb_config_reloads_total", "result=\"ok\"", v->st.reloads);
    metrics_u64(out, "mkb_config_reloads_total", "result=\"error\"", v->st.reload_errors);
    render_readiness(v, out);
}
