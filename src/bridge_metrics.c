#include "bridge_metrics.h"

#include "kafka_errors.h"
#include "metrics.h"

#include <stdio.h>

static void counter(buf_t *out, const char *name, const char *help, uint64_t v)
{
    metrics_head(out, name, "counter", help);
    metrics_u64(out, name, NULL, v);
}

static void gauge(buf_t *out, const char *name, const char *help, double v)
{
    metrics_head(out, name, "gauge", help);
    metrics_f64(out, name, NULL, v);
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

static void render_kafka(const bridge_metrics_t *v, buf_t *out)
{
    const bridge_stats_t *st = &v->st;
    const kafka_sink_stats_t *ks = &v->ks;
    counter(out, "mkb_kafka_records_produced_total", "Records accepted by a producer.",
            st->produced);
    counter(out, "mkb_kafka_records_delivered_total", "Records acknowledged by Kafka.",
            st->delivered);
    counter(out, "mkb_kafka_bytes_produced_total", "Record value bytes accepted by a producer.",
            ks->bytes);
    counter(out, "mkb_kafka_delivery_failures_total",
            "Deliveries that failed for good (then dead-lettered).", st->failed);
    counter(out, "mkb_records_lost_total", "Records whose delivery and dead letter both failed.",
            st->lost);
    metrics_head(out, "mkb_records_dropped_total", "counter", "Records dropped, by reason.");
    metrics_u64(out, "mkb_records_dropped_total", "reason=\"spool_full\"",
                st->spool ? st->sp.dropped : 0);
    gauge(out, "mkb_kafka_queue_records",
          "Records in the producers' queues or waiting to be produced again.",
          (double)ks->outstanding);
    waiting_metric(out, ks);
    gauge(out, "mkb_kafka_brokers_up", "Kafka brokers in state UP (librdkafka statistics).",
          (double)ks->brokers_up);
    counter(out, "mkb_kafka_errors_total", "librdkafka error events.", ks->errors);
    counter(out, "mkb_kafka_broker_errors_total",
            "Send and receive errors and request timeouts on broker connections (librdkafka "
            "statistics).",
            ks->broker_errors);
}

/* Only with a spool. */
static void render_spool(const bridge_metrics_t *v, buf_t *out)
{
    const spool_stats_t *sp = &v->st.sp;
    gauge(out, "mkb_spool_bytes", "Size of the spool on disk.", (double)sp->bytes);
    uint64_t in = sp->appended + sp->replay;
    gauge(out, "mkb_spool_records", "Records in the spool not yet acknowledged by Kafka.",
          (double)(in > sp->acked ? in - sp->acked : 0));
    gauge(out, "mkb_spool_oldest_age_seconds",
          "Age of the oldest record sent to Kafka and not acknowledged.", v->spool_oldest_age_s);
    gauge(out, "mkb_spool_full", "1 when the spool holds spool.max_bytes.", v->spool_full);
    counter(out, "mkb_spool_damaged_total", "Damaged journal spans found at start-up.",
            sp->corrupt);
    counter(out, "mkb_spool_write_errors_total", "Failed journal writes.", sp->write_errors);
}

static void render_mqtt_commands(const bridge_metrics_t *v, buf_t *out)
{
    gauge(out, "mkb_mqtt_connected", "1 while connected to the MQTT broker.", v->mqtt_connected);
    counter(out, "mkb_mqtt_reconnects_total", "MQTT connections after the first.",
            v->mqtt_reconnects);
    gauge(out, "mkb_mqtt_subscriptions", "MQTT subscriptions in force.",
          (double)v->mqtt_subscriptions);
    counter(out, "mkb_commands_consumed_total", "Command records read from Kafka.",
            v->cmd_consumed);
    counter(out, "mkb_commands_published_total", "Commands acknowledged by the MQTT broker.",
            v->cmd_published);
    counter(out, "mkb_commands_expired_total", "Commands older than max_age_s, not sent.",
            v->cmd_expired);
    counter(out, "mkb_commands_invalid_total", "Commands that could not be rendered, not sent.",
            v->cmd_invalid);
    counter(out, "mkb_commands_failed_total", "Command publishes that failed (sent again).",
            v->cmd_failed);
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

void bridge_metrics_render(const bridge_metrics_t *v, buf_t *out)
{
    const bridge_stats_t *st = &v->st;
    metrics_head(out, "mkb_build_info", "gauge", "Version of the running bridge.");
    metrics_u64(out, "mkb_build_info", "version=\"" MKB_VERSION "\"", 1);
    counter(out, "mkb_mqtt_messages_received_total", "MQTT messages taken.", st->received);
    counter(out, "mkb_mqtt_bytes_received_total", "MQTT payload bytes taken.", v->mqtt_bytes_in);
    counter(out, "mkb_mqtt_messages_unmatched_total", "MQTT messages no route matched.",
            st->unmatched);
    render_kafka(v, out);
    if (st->spool)
        render_spool(v, out);
    render_mqtt_commands(v, out);
    metrics_head(out, "mkb_config_reloads_total", "counter", "Reloads (SIGHUP), by result.");
    metrics_u64(out, "mkb_config_reloads_total", "result=\"ok\"", st->reloads);
    metrics_u64(out, "mkb_config_reloads_total", "result=\"error\"", st->reload_errors);
    render_readiness(v, out);
}
