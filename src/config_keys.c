// SPDX-FileCopyrightText: 2026 The mqtt-kafka-bridge authors
// SPDX-License-Identifier: Apache-2.0
#include "config_keys.h"

#include "config.h"
#include "normalize.h"

#include <stdio.h>
#include <string.h>

#define NKEYS(a) (sizeof(a) / sizeof((a)[0]))
#define C_OFF(f) offsetof(config_t, f)
#define R_OFF(f) offsetof(config_route_t, f)
#define F_OFF(f) offsetof(config_field_t, f)
#define M_OFF(f) offsetof(config_command_t, f)
#define P_OFF(f) offsetof(config_profile_t, f)
#define W_OFF(f) offsetof(config_cond_t, f)

static const choice_t mqtt_versions[] = {
    {"3.1.1", CONFIG_MQTT_3_1_1}, {"5", CONFIG_MQTT_5}, {NULL, 0}};
static const choice_t log_levels[] = {{"error", LOG_LVL_ERROR},
                                      {"warn", LOG_LVL_WARN},
                                      {"info", LOG_LVL_INFO},
                                      {"debug", LOG_LVL_DEBUG},
                                      {NULL, 0}};
static const choice_t log_formats[] = {{"text", LOG_FMT_TEXT},
                                       {"json", LOG_FMT_JSON},
                                       {"logfmt", LOG_FMT_LOGFMT},
                                       {NULL, 0}};
static const choice_t payload_kinds[] = {{"json", NORM_PAYLOAD_JSON},
                                         {"number", NORM_PAYLOAD_NUMBER},
                                         {"text", NORM_PAYLOAD_TEXT},
                                         {"raw", NORM_PAYLOAD_RAW},
                                         {"sparkplug_b", NORM_PAYLOAD_SPARKPLUG_B},
                                         {NULL, 0}};
static const choice_t cmd_payloads[] = {{"json", CONFIG_CMD_PAYLOAD_JSON},
                                        {"sparkplug_b", CONFIG_CMD_PAYLOAD_SPARKPLUG_B},
                                        {NULL, 0}};
static const choice_t spb_records[] = {{"per_metric", CONFIG_SPB_PER_METRIC},
                                       {"per_message", CONFIG_SPB_PER_MESSAGE},
                                       {NULL, 0}};
static const choice_t spb_unresolved[] = {{"forward", CONFIG_SPB_FORWARD},
                                          {"dead_letter", CONFIG_SPB_DEAD_LETTER},
                                          {NULL, 0}};
static const choice_t retained_modes[] = {{"forward", CONFIG_RETAINED_FORWARD},
                                          {"drop", CONFIG_RETAINED_DROP},
                                          {NULL, 0}};
static const choice_t field_types[] = {{"number", NORM_TYPE_NUMBER},
                                       {"integer", NORM_TYPE_INTEGER},
                                       {"string", NORM_TYPE_STRING},
                                       {"boolean", NORM_TYPE_BOOLEAN},
                                       {NULL, 0}};
static const choice_t cond_mqtt[] = {{"content_type", CONFIG_COND_MQTT_CONTENT_TYPE},
                                     {"topic", CONFIG_COND_MQTT_TOPIC},
                                     {"qos", CONFIG_COND_MQTT_QOS},
                                     {"retain", CONFIG_COND_MQTT_RETAIN},
                                     {NULL, 0}};
static const choice_t empties[] = {{"dead_letter", CONFIG_EMPTY_DEAD_LETTER},
                                   {"skip", CONFIG_EMPTY_SKIP},
                                   {"tombstone", CONFIG_EMPTY_TOMBSTONE},
                                   {NULL, 0}};
static const choice_t on_errors[] = {{"dead_letter", CONFIG_ON_ERROR_DEAD_LETTER},
                                     {"null", CONFIG_ON_ERROR_NULL},
                                     {"omit", CONFIG_ON_ERROR_OMIT},
                                     {"default", CONFIG_ON_ERROR_DEFAULT},
                                     {NULL, 0}};
static const choice_t ts_formats[] = {{"auto", NORM_TS_AUTO},
                                      {"epoch_s", NORM_TS_EPOCH_S},
                                      {"epoch_ms", NORM_TS_EPOCH_MS},
                                      {"iso8601", NORM_TS_ISO8601},
                                      {NULL, 0}};

/* One row per key, on one line, as a table is read: grep a key and see all
 * its parts. clang-format would put every part on a line of its own. */
/* clang-format off */
static const ckey_t tls_keys[] = {
    {.name = "ca_file", .type = CT_STR, .off = C_OFF(tls_ca_file), .desc = "CA certificate(s) (PEM) the broker's certificate must chain to; default: the system's."},
    {.name = "cert_file", .type = CT_STR, .off = C_OFF(tls_cert_file), .desc = "Client certificate (PEM), for brokers that require one."},
    {.name = "key_file", .type = CT_STR, .off = C_OFF(tls_key_file), .desc = "Client private key (PEM)."},
    {.name = "key_password", .type = CT_STR, .off = C_OFF(tls_key_password), .desc = "Password of an encrypted key_file."},
    {.name = "verify_hostname", .type = CT_BOOL, .off = C_OFF(tls_verify_hostname), .def = "true", .desc = "Check that the certificate names the host of the URI."},
};
static const section_t tls_section = {tls_keys, NKEYS(tls_keys), 0};

static const ckey_t mqtt_keys[] = {
    {.name = "uri", .type = CT_STR, .off = C_OFF(mqtt_uri), .required = true, .desc = "Broker address: tcp://host:port."},
    {.name = "client_id", .type = CT_STR, .off = C_OFF(mqtt_client_id), .def = "mqtt-kafka-bridge", .desc = "Stable MQTT client id; the broker keeps the persistent session under it."},
    {.name = "version", .type = CT_ENUM, .off = C_OFF(mqtt_version), .def = "5", .choices = mqtt_versions, .desc = "MQTT protocol version: 3.1.1 or 5."},
    {.name = "clean_start", .type = CT_BOOL, .off = C_OFF(mqtt_clean_start), .def = "false", .desc = "Start a new session on connect. false keeps the broker's persistent session, so QoS 1/2 messages queued while the bridge was away are delivered."},
    {.name = "keepalive_s", .type = CT_INT, .off = C_OFF(mqtt_keepalive_s), .min = 5, .max = 3600, .def = "30", .desc = "MQTT keepalive interval in seconds."},
    {.name = "session_expiry_s", .type = CT_INT, .off = C_OFF(mqtt_session_expiry_s), .min = 0, .max = 4294967295LL, .def = "4294967295", .desc = "MQTT 5 only: how long the broker keeps the session after a disconnect (4294967295 = never expires)."},
    {.name = "username", .type = CT_STR, .off = C_OFF(mqtt_username), .desc = "MQTT user name."},
    {.name = "password", .type = CT_STR, .off = C_OFF(mqtt_password), .desc = "MQTT password; prefer password_file or ${ENV}."},
    {.name = "password_file", .type = CT_STR, .off = C_OFF(mqtt_password_file), .desc = "File holding the MQTT password (one trailing newline is removed)."},
    {.name = "shared_group", .type = CT_STR, .off = C_OFF(mqtt_shared_group), .desc = "Subscribe as $share/<group>/<filter>: bridges with the same group split the messages (scale-out)."},
    {.name = "tls", .type = CT_SECTION, .sub = &tls_section, .desc = "TLS for ssl:// URIs (the server is always verified against ca_file or the system CAs)."},
};
static const section_t mqtt_section = {mqtt_keys, NKEYS(mqtt_keys), 0};

static const choice_t compressions[] = {{"none", 0}, {"gzip", 0}, {"snappy", 0},
                                        {"lz4", 0},  {"zstd", 0}, {NULL, 0}};
static const choice_t ackses[] = {{"all", -1}, {"1", 1}, {"0", 0}, {NULL, 0}};
static const ckey_t profile_keys[] = {
    {.name = "linger_ms", .type = CT_INT, .off = P_OFF(linger_ms), .min = 0, .max = 900000, .def = "5", .desc = "How long to wait to fill a batch (librdkafka linger.ms)."},
    {.name = "batch_bytes", .type = CT_INT, .off = P_OFF(batch_bytes), .min = 1, .max = 2147483647, .def = "1000000", .desc = "Largest batch (librdkafka batch.size)."},
    {.name = "compression", .type = CT_CHOICE, .off = P_OFF(compression), .def = "lz4", .choices = compressions, .desc = "Batch compression (librdkafka compression.type)."},
    {.name = "acks", .type = CT_ENUM, .off = P_OFF(acks), .def = "all", .choices = ackses, .desc = "Acknowledgements required; anything but all turns idempotence off and can lose records."},
    {.name = "properties", .type = CT_STRMAP, .off = P_OFF(properties), .count_off = P_OFF(properties_n), .desc = "More librdkafka properties for this profile (over kafka.properties)."},
};
static const section_t profile_section = {profile_keys, NKEYS(profile_keys),
                                          sizeof(config_profile_t)};

static const ckey_t kafka_keys[] = {
    {.name = "bootstrap", .type = CT_STR, .off = C_OFF(kafka_bootstrap), .required = true, .desc = "Kafka bootstrap servers, host:port[,host:port...]."},
    {.name = "properties", .type = CT_STRMAP, .off = C_OFF(kafka_properties), .count_off = C_OFF(kafka_properties_n), .desc = "librdkafka producer properties, passed as is (a bad one fails start-up with librdkafka's message). A name ending in _file is read from that file and passed without the suffix (sasl.password_file: /run/secrets/kafka)."},
    {.name = "flush_timeout_ms", .type = CT_INT, .off = C_OFF(kafka_flush_timeout_ms), .min = 0, .max = 3600000, .def = "30000", .desc = "At shutdown, how long to wait for outstanding deliveries."},
    {.name = "queue_wait_ms", .type = CT_INT, .off = C_OFF(kafka_queue_wait_ms), .min = 0, .max = 600000, .def = "10000", .desc = "When the producer queue is full, how long the MQTT callback waits for room before logging a warning and waiting again (the message is never dropped)."},
    {.name = "stall_timeout_ms", .type = CT_INT, .off = C_OFF(kafka_stall_timeout_ms), .min = 0, .max = 3600000, .def = "15000", .desc = "Not ready (/readyz 503, systemd STATUS=, mkb_ready 0) when records wait for Kafka and none was delivered for this long: a hung or unreachable broker. 0: never."},
    {.name = "dead_letter_topic", .type = CT_STR, .off = C_OFF(kafka_dead_letter_topic), .def = "mqtt-kafka-bridge.deadletter", .desc = "Topic for payloads that fail their route: original bytes, reason in headers."},
    {.name = "unmatched_topic", .type = CT_STR, .off = C_OFF(kafka_unmatched_topic), .desc = "Topic for messages no route matches (raw, unchanged). Unset: counted and logged only."},
    {.name = "profiles", .type = CT_NAMED, .off = C_OFF(kafka_profiles), .count_off = C_OFF(kafka_profiles_n), .sub = &profile_section, .desc = "Producer profiles: name: {linger_ms, batch_bytes, compression, acks, properties}. Built in: hot (linger 2 ms, lz4) and cold (linger 500 ms, zstd, 1 MiB batches); one producer per profile in use."},
};
static const section_t kafka_section = {kafka_keys, NKEYS(kafka_keys), 0};

static const choice_t fsync_modes[] = {{"interval", CONFIG_FSYNC_INTERVAL},
                                       {"always", CONFIG_FSYNC_ALWAYS},
                                       {"never", CONFIG_FSYNC_NEVER},
                                       {NULL, 0}};
static const choice_t full_policies[] = {
    {"block", CONFIG_FULL_BLOCK}, {"drop_oldest", CONFIG_FULL_DROP_OLDEST}, {NULL, 0}};
static const ckey_t spool_keys[] = {
    {.name = "dir", .type = CT_STR, .off = C_OFF(spool_dir), .desc = "Directory of the on-disk journal (relative to this file's directory). Unset: no spool; the producer queue is the only buffer and a crash loses what it held."},
    {.name = "max_bytes", .type = CT_INT, .off = C_OFF(spool_max_bytes), .min = 2097152, .max = 1099511627776LL, .def = "1073741824", .desc = "Size on disk at which on_full applies (at least two segments)."},
    {.name = "segment_bytes", .type = CT_INT, .off = C_OFF(spool_segment_bytes), .min = 1048576, .max = 1073741824, .def = "16777216", .desc = "A segment file is closed past this size (or when the disk is full); whole segments are deleted once delivered. Lowered at start, with a warning, to a quarter of what the spool's file system has room for."},
    {.name = "fsync", .type = CT_ENUM, .off = C_OFF(spool_fsync), .def = "interval", .choices = fsync_modes, .desc = "When the journal is flushed to the disk: always (before each PUBACK), interval (every fsync_interval_ms) or never (the kernel decides). A process crash loses nothing with any of them; see docs/ARCHITECTURE.md for a power cut."},
    {.name = "fsync_interval_ms", .type = CT_INT, .off = C_OFF(spool_fsync_interval_ms), .min = 1, .max = 3600000, .def = "1000", .desc = "fsync: interval: the longest time between two flushes."},
    {.name = "on_full", .type = CT_ENUM, .off = C_OFF(spool_on_full), .def = "block", .choices = full_policies, .desc = "At max_bytes: block stops taking MQTT messages (the broker's persistent session keeps them); drop_oldest deletes the oldest segment and counts its undelivered records."},
};
static const section_t spool_section = {spool_keys, NKEYS(spool_keys), 0};

static const ckey_t metrics_tls_keys[] = {
    {.name = "cert_file", .type = CT_STR, .off = C_OFF(metrics_tls_cert_file), .desc = "Server certificate chain (PEM): the endpoint speaks HTTPS only."},
    {.name = "key_file", .type = CT_STR, .off = C_OFF(metrics_tls_key_file), .desc = "Private key (PEM, unencrypted) of cert_file."},
};
static const section_t metrics_tls_section = {metrics_tls_keys, NKEYS(metrics_tls_keys), 0};

static const ckey_t metrics_keys[] = {
    {.name = "listen", .type = CT_STR, .off = C_OFF(metrics_listen), .desc = "Address of the HTTP endpoint (/metrics, /healthz, /readyz): IPV4:PORT (0.0.0.0:9464), [IPV6]:PORT ([::1]:9464; [::]:9464 takes IPv4 clients too), NAME:PORT (every address the name resolves to, e.g. localhost), or PORT alone for 127.0.0.1:PORT. Unset: no endpoint."},
    {.name = "username", .type = CT_STR, .off = C_OFF(metrics_username), .desc = "With a password: HTTP basic authentication on every path (401 otherwise)."},
    {.name = "password", .type = CT_STR, .off = C_OFF(metrics_password), .desc = "Basic authentication password; prefer password_file or ${ENV}."},
    {.name = "password_file", .type = CT_STR, .off = C_OFF(metrics_password_file), .desc = "File holding the basic authentication password (one trailing newline is removed)."},
    {.name = "tls", .type = CT_SECTION, .sub = &metrics_tls_section, .desc = "HTTPS for the endpoint (libmicrohttpd with GnuTLS)."},
};
static const section_t metrics_section = {metrics_keys, NKEYS(metrics_keys), 0};

static const ckey_t limit_keys[] = {
    {.name = "max_payload_bytes", .type = CT_INT, .off = C_OFF(limit_payload_bytes), .min = 1, .max = 268435455, .def = "1048576", .desc = "Larger payloads become dead letters."},
    {.name = "max_json_depth", .type = CT_INT, .off = C_OFF(limit_json_depth), .min = 1, .max = 1000, .def = "32", .desc = "JSON nested deeper than this becomes a dead letter."},
    {.name = "max_records_per_message", .type = CT_INT, .off = C_OFF(limit_records), .min = 1, .max = 1000000, .def = "1000", .desc = "An exploded array with more elements becomes a dead letter."},
    {.name = "max_future_ms", .type = CT_INT, .off = C_OFF(limit_future_ms), .min = 0, .max = 31536000000LL, .def = "3600000", .desc = "A reading's time further ahead of the receive time than this is kept in the value but not used as the Kafka timestamp (the broker would refuse it: Kafka's log.message.timestamp.after.max.ms, one hour by default)."},
};
static const section_t limit_section = {limit_keys, NKEYS(limit_keys), 0};

static const ckey_t route_mqtt_keys[] = {
    {.name = "filter", .type = CT_STR, .off = R_OFF(mqtt_filter), .required = true, .desc = "MQTT topic filter: + and # wildcards, {name} captures one level, {name#} the rest."},
    {.name = "qos", .type = CT_INT, .off = R_OFF(mqtt_qos), .min = 0, .max = 2, .def = "1", .desc = "Subscription QoS: 0, 1 or 2."},
};
static const section_t route_mqtt_section = {route_mqtt_keys, NKEYS(route_mqtt_keys), 0};

static const ckey_t route_kafka_keys[] = {
    {.name = "topic", .type = CT_STR, .off = R_OFF(kafka_topic), .required = true, .desc = "Kafka topic (a template)."},
    {.name = "key", .type = CT_STR, .off = R_OFF(kafka_key), .def = "{mqtt.topic}", .desc = "Record key (a template); empty for none."},
    {.name = "profile", .type = CT_STR, .off = R_OFF(kafka_profile), .def = "hot", .desc = "Producer profile: hot, cold, or one of kafka.profiles."},
    {.name = "headers", .type = CT_STRMAP, .off = R_OFF(kafka_headers), .count_off = R_OFF(kafka_headers_n), .desc = "Record headers: name: template."},
};
static const section_t route_kafka_section = {route_kafka_keys, NKEYS(route_kafka_keys), 0};

static const ckey_t field_keys[] = {
    {.name = "from", .type = CT_STR, .off = F_OFF(from), .desc = "JSON pointer to the input value (default: /<field name>)."},
    {.name = "type", .type = CT_ENUM, .off = F_OFF(type), .choices = field_types, .desc = "Coerce to number, integer, string or boolean."},
    {.name = "convert", .type = CT_CONV, .off = F_OFF(convert), .desc = "Named unit conversion (applied before scale/offset)."},
    {.name = "scale", .type = CT_DOUBLE, .off = F_OFF(scale), .def = "1", .desc = "Linear conversion: value * scale + offset."},
    {.name = "offset", .type = CT_DOUBLE, .off = F_OFF(offset), .def = "0", .desc = "Linear conversion: value * scale + offset."},
    {.name = "round", .type = CT_INT, .off = F_OFF(round), .min = 0, .max = 15, .desc = "Decimals kept after conversion, halves away from zero (numbers only)."},
    {.name = "default", .type = CT_SCALAR, .off = F_OFF(dflt), .desc = "Value used when the input lacks the field (null: JSON null)."},
    {.name = "required", .type = CT_BOOL, .off = F_OFF(required), .def = "false", .desc = "A message without the field becomes a dead letter."},
    {.name = "on_error", .type = CT_ENUM, .off = F_OFF(on_error), .def = "dead_letter", .choices = on_errors, .desc = "A present value that cannot be converted: dead_letter (the message), null, omit (the field) or default (needs default:); the record gets header mkb.field_errors."},
};
static const section_t field_section = {field_keys, NKEYS(field_keys), sizeof(config_field_t)};

static const ckey_t route_ts_keys[] = {
    {.name = "from", .type = CT_STR, .off = R_OFF(ts_from), .required = true, .desc = "JSON pointer to the reading's time."},
    {.name = "format", .type = CT_ENUM, .off = R_OFF(ts_format), .def = "auto", .choices = ts_formats, .desc = "epoch_s, epoch_ms, iso8601, or auto (numbers above 1e11 are ms)."},
    {.name = "field", .type = CT_STR, .off = R_OFF(ts_field), .def = "ts", .desc = "Output field for the canonical time (ISO 8601 UTC, milliseconds)."},
    {.name = "timezone", .type = CT_STR, .off = R_OFF(ts_timezone), .desc = "IANA zone (Europe/Berlin, from the system tz database; TZDIR honoured) of ISO 8601 times written without a zone. Default UTC."},
};
static const section_t route_ts_section = {route_ts_keys, NKEYS(route_ts_keys), 0};

static const ckey_t route_spb_keys[] = {
    {.name = "records", .type = CT_ENUM, .off = R_OFF(spb_records), .def = "per_metric", .choices = spb_records, .desc = "per_metric (one record per metric, key group/edge_node[/device]/name) or per_message (the decoded message)."},
    {.name = "status_topic", .type = CT_STR, .off = R_OFF(spb_status_topic), .desc = "Kafka topic of the online/offline records made of births, NDEATH, DDEATH and STATE; unset: none are made."},
    {.name = "properties", .type = CT_BOOL, .off = R_OFF(spb_properties), .def = "false", .desc = "Metric properties (engUnit, ...) in the records."},
    {.name = "unresolved", .type = CT_ENUM, .off = R_OFF(spb_unresolved), .def = "forward", .choices = spb_unresolved, .desc = "Data whose aliases no birth names: forward (marked \"unresolved\": true, the value in \"raw\") or dead_letter (the message)."},
    {.name = "rebirth", .type = CT_BOOL, .off = R_OFF(spb_rebirth), .def = "true", .desc = "Ask the edge node for a rebirth (NCMD Node Control/Rebirth) on an unknown alias or a sequence gap, at most every 5 s."},
};
static const section_t route_spb_section = {route_spb_keys, NKEYS(route_spb_keys), 0};

static const ckey_t cond_keys[] = {
    {.name = "field", .type = CT_STR, .off = W_OFF(field), .desc = "Subject: a JSON pointer into the payload as the route parses it (number and text payloads are {\"value\": ...}), read before explode."},
    {.name = "capture", .type = CT_STR, .off = W_OFF(capture), .desc = "Subject: a capture of the route's filter."},
    {.name = "property", .type = CT_STR, .off = W_OFF(property), .desc = "Subject: an MQTT 5 user property (the first of that name)."},
    {.name = "mqtt", .type = CT_ENUM, .off = W_OFF(mqtt), .choices = cond_mqtt, .desc = "Subject: the message's content_type, topic, qos or retain flag."},
    {.name = "exists", .type = CT_SCALAR, .off = W_OFF(exists), .desc = "Test: true when the subject is present (false: absent); alone."},
    {.name = "equals", .type = CT_SCALAR, .off = W_OFF(equals), .desc = "Test: equal to this value (unquoted numbers and booleans compare typed, quoted values as strings)."},
    {.name = "one_of", .type = CT_SCALARLIST, .off = W_OFF(one_of), .count_off = W_OFF(one_of_n), .desc = "Test: equal to one of these values (a list)."},
    {.name = "above", .type = CT_SCALAR, .off = W_OFF(above), .desc = "Test: a number greater than this."},
    {.name = "below", .type = CT_SCALAR, .off = W_OFF(below), .desc = "Test: a number less than this."},
    {.name = "at_least", .type = CT_SCALAR, .off = W_OFF(at_least), .desc = "Test: a number greater than or equal to this."},
    {.name = "at_most", .type = CT_SCALAR, .off = W_OFF(at_most), .desc = "Test: a number less than or equal to this."},
};
static const section_t cond_section = {cond_keys, NKEYS(cond_keys), sizeof(config_cond_t)};

static const ckey_t route_keys[] = {
    {.name = "name", .type = CT_STR, .off = R_OFF(name), .required = true, .desc = "Unique name of the route (logs, dead letters)."},
    {.name = "mqtt", .type = CT_SECTION, .required = true, .sub = &route_mqtt_section, .desc = "Where the messages come from."},
    {.name = "kafka", .type = CT_SECTION, .required = true, .sub = &route_kafka_section, .desc = "Where the records go."},
    {.name = "payload", .type = CT_ENUM, .off = R_OFF(payload), .def = "json", .choices = payload_kinds, .desc = "json, number (a bare 21.5), text, raw (bytes forwarded untouched), or sparkplug_b (Sparkplug B protobuf, decoded; see sparkplug)."},
    {.name = "explode", .type = CT_STR, .off = R_OFF(explode), .desc = "JSON pointer to an array: one record per element (\"\" for a top-level array)."},
    {.name = "fields", .type = CT_NAMED, .off = R_OFF(fields), .count_off = R_OFF(fields_n), .sub = &field_section, .desc = "Output fields: name: {from, type, convert, scale, offset, round, default, required, on_error}; the name may use the filter's captures ({metric}). Without fields the input object is passed on whole."},
    {.name = "add", .type = CT_STRMAP, .off = R_OFF(add), .count_off = R_OFF(add_n), .desc = "Constant or template fields added to every record; the name may use the filter's captures."},
    {.name = "timestamp", .type = CT_SECTION, .off_when_absent = true, .sub = &route_ts_section, .desc = "Where the reading's own time is; it becomes the record timestamp."},
    {.name = "when", .type = CT_LIST, .off = R_OFF(when), .count_off = R_OFF(when_n), .sub = &cond_section, .desc = "Conditions, all of which must hold for the route to take a message (else it is skipped: no record, no dead letter; mkb_route_skipped_total)."},
    {.name = "empty", .type = CT_ENUM, .off = R_OFF(empty), .choices = empties, .desc = "A zero-length payload: dead_letter (the default; raw routes forward it as an empty value unless this is set), skip, or tombstone (a record with the rendered key and a null value)."},
    {.name = "retained", .type = CT_ENUM, .off = R_OFF(retained), .def = "forward", .choices = retained_modes, .desc = "Retained MQTT messages: forward (their records carry mkb.retained: true) or drop (counted as skipped)."},
    {.name = "sparkplug", .type = CT_SECTION, .sub = &route_spb_section, .desc = "How a payload: sparkplug_b route makes records (docs/CONFIGURATION.md, Sparkplug B)."},
};
static const section_t route_section = {route_keys, NKEYS(route_keys), sizeof(config_route_t)};

static const ckey_t cmd_kafka_keys[] = {
    {.name = "topic", .type = CT_STR, .off = M_OFF(kafka_topic), .required = true, .desc = "Kafka topic the commands come from."},
    {.name = "group", .type = CT_STR, .off = M_OFF(kafka_group), .def = "mqtt-kafka-bridge-commands", .desc = "Consumer group (offsets are committed only after the MQTT PUBACK)."},
    {.name = "result_topic", .type = CT_STR, .off = M_OFF(kafka_result_topic), .desc = "Topic for each command's outcome (sent, expired, invalid) as JSON. Unset: invalid commands go to kafka.dead_letter_topic, expired ones are counted and logged."},
};
static const section_t cmd_kafka_section = {cmd_kafka_keys, NKEYS(cmd_kafka_keys), 0};
static const ckey_t cmd_mqtt_keys[] = {
    {.name = "topic", .type = CT_STR, .off = M_OFF(mqtt_topic), .required = true, .desc = "MQTT topic, a template: {key}, {header.NAME}, {/a/b} (a field of the JSON value), {topic}, {partition}, {offset}."},
    {.name = "qos", .type = CT_INT, .off = M_OFF(mqtt_qos), .min = 0, .max = 2, .def = "1", .desc = "Publish QoS."},
    {.name = "retain", .type = CT_BOOL, .off = M_OFF(mqtt_retain), .def = "false", .desc = "Publish with the retain flag."},
    {.name = "fields", .type = CT_STRLIST, .off = M_OFF(mqtt_fields), .count_off = M_OFF(mqtt_fields_n), .desc = "Build the payload as a JSON object of these fields of the record's value (JSON pointers, /a/b for nested ones); unset: the value is passed through unchanged."},
    {.name = "message_expiry_s", .type = CT_INT, .off = M_OFF(mqtt_expiry_s), .min = 0, .max = 4294967295LL, .def = "0", .desc = "MQTT 5 message expiry interval (0: none)."},
    {.name = "content_type", .type = CT_STR, .off = M_OFF(mqtt_content_type), .desc = "MQTT 5 content type."},
    {.name = "user_properties", .type = CT_STRMAP, .off = M_OFF(mqtt_props), .count_off = M_OFF(mqtt_props_n), .desc = "MQTT 5 user properties: name: template."},
};
static const section_t cmd_mqtt_section = {cmd_mqtt_keys, NKEYS(cmd_mqtt_keys), 0};
static const ckey_t command_keys[] = {
    {.name = "name", .type = CT_STR, .off = M_OFF(name), .required = true, .desc = "Unique name of the rule."},
    {.name = "kafka", .type = CT_SECTION, .required = true, .sub = &cmd_kafka_section, .desc = "Where commands come from."},
    {.name = "mqtt", .type = CT_SECTION, .required = true, .sub = &cmd_mqtt_section, .desc = "Where commands go."},
    {.name = "max_age_s", .type = CT_INT, .off = M_OFF(max_age_s), .min = 0, .max = 31536000, .def = "0", .desc = "Older commands are not sent (0: no limit)."},
    {.name = "payload", .type = CT_ENUM, .off = M_OFF(payload), .def = "json", .choices = cmd_payloads, .desc = "json (the value, or the object mqtt.fields built, sent as is) or sparkplug_b (that JSON encoded as a Sparkplug B NCMD/DCMD payload; mqtt.topic must render to an NCMD or DCMD topic)."},
};
static const section_t command_section = {command_keys, NKEYS(command_keys),
                                          sizeof(config_command_t)};

#define ROUTES_DESC                                                                                \
    "Rules from an MQTT topic filter to Kafka records. Every route whose filter matches a "        \
    "message produces its records (fan-out, in file order)."
#define COMMANDS_DESC                                                                              \
    "Rules from a Kafka command topic to MQTT (actuator commands), at least once, in order "       \
    "per partition."

static const ckey_t top_keys[] = {
    {.name = "mqtt", .type = CT_SECTION, .required = true, .sub = &mqtt_section, .desc = "MQTT broker connection."},
    {.name = "kafka", .type = CT_SECTION, .required = true, .sub = &kafka_section, .desc = "Kafka producer."},
    {.name = "spool", .type = CT_SECTION, .sub = &spool_section, .desc = "On-disk journal between MQTT and Kafka (crash-safe custody; see docs/ARCHITECTURE.md)."},
    {.name = "metrics", .type = CT_SECTION, .sub = &metrics_section, .desc = "Prometheus metrics and health endpoints (docs/OPERATIONS.md)."},
    {.name = "limits", .type = CT_SECTION, .sub = &limit_section, .desc = "Limits against hostile input; each breach is a dead letter with its reason."},
    {.name = "mappings", .type = CT_STRLIST, .off = C_OFF(mappings), .count_off = C_OFF(mappings_n), .desc = "Mapping files (globs, relative to this file's directory) holding routes: and commands:."},
    {.name = "routes", .type = CT_LIST, .off = C_OFF(routes), .count_off = C_OFF(routes_n), .sub = &route_section, .desc = ROUTES_DESC},
    {.name = "commands", .type = CT_LIST, .off = C_OFF(commands), .count_off = C_OFF(commands_n), .sub = &command_section, .desc = COMMANDS_DESC},
    {.name = "log_level", .type = CT_ENUM, .off = C_OFF(log_level), .def = "info", .choices = log_levels, .desc = "Most verbose log level printed: error, warn, info or debug (-l overrides)."},
    {.name = "log_format", .type = CT_ENUM, .off = C_OFF(log_format), .def = "text", .choices = log_formats, .desc = "Log line format on stderr: text, json (one object a line: ts, level, module, msg) or logfmt (--log-format overrides). Under systemd every line starts with its syslog priority (<3> error to <7> debug), for journalctl -p."},
};
const section_t config_top_section = {top_keys, NKEYS(top_keys), sizeof(config_t)};

/* A mapping file holds routes and commands only; they append to the config's. */
static const ckey_t mapping_keys[] = {
    {.name = "routes", .type = CT_LIST, .off = C_OFF(routes), .count_off = C_OFF(routes_n), .sub = &route_section, .desc = ROUTES_DESC},
    {.name = "commands", .type = CT_LIST, .off = C_OFF(commands), .count_off = C_OFF(commands_n), .sub = &command_section, .desc = COMMANDS_DESC},
};
const section_t config_mapping_section = {mapping_keys, NKEYS(mapping_keys), 0};
/* clang-format on */

size_t config_key_choices(const ckey_t *k, const char **names, size_t max)
{
    size_t n = 0;
    if (k->type == CT_CONV)
        for (; n < max && norm_conversions[n].name; n++)
            names[n] = norm_conversions[n].name;
    else
        for (; n < max && k->choices[n].name; n++)
            names[n] = k->choices[n].name;
    return n;
}

void config_key_join_choices(char *out, size_t size, const ckey_t *k, const char *sep)
{
    const char *names[64];
    size_t n = config_key_choices(k, names, 64);
    out[0] = '\0';
    for (size_t i = 0; i < n; i++) {
        strncat(out, i ? sep : "", size - strlen(out) - 1);
        strncat(out, names[i], size - strlen(out) - 1);
    }
}

static const char *type_name(ctype_t t)
{
    switch (t) {
    case CT_STR: return "string";
    case CT_INT: return "integer";
    case CT_DOUBLE: return "number";
    case CT_BOOL: return "boolean";
    case CT_ENUM:
    case CT_CHOICE:
    case CT_CONV: return "one of";
    case CT_SCALAR: return "scalar";
    case CT_SECTION: return "mapping";
    case CT_STRMAP: return "mapping of strings";
    case CT_LIST: return "list";
    case CT_NAMED: return "mapping of name: {...}";
    case CT_STRLIST: return "list of strings";
    case CT_SCALARLIST: return "list of values";
    }
    return "?";
}

static void print_section(FILE *out, const section_t *sec, const char *path)
{
    for (size_t i = 0; i < sec->nkeys; i++) {
        const ckey_t *k = &sec->keys[i];
        char p[256];
        if (snprintf(p, sizeof(p), "%s%s%s", path, path[0] ? "." : "", k->name) >= (int)sizeof(p))
            p[sizeof(p) - 1] = '\0';
        char type[160];
        if (k->type == CT_ENUM || k->type == CT_CHOICE || k->type == CT_CONV)
            config_key_join_choices(type, sizeof(type), k, "|");
        else if (k->type == CT_INT)
            snprintf(type, sizeof(type), "integer %lld..%lld", k->min, k->max);
        else
            snprintf(type, sizeof(type), "%s", type_name(k->type));
        fprintf(out, "%-32s %s%s%s%s%s\n", p, type, k->required ? " (required)" : "",
                k->def ? " [default: " : "", k->def ? k->def : "", k->def ? "]" : "");
        fprintf(out, "%-32s   %s\n", "", k->desc);
        char lp[300];
        if (k->type == CT_SECTION) {
            print_section(out, k->sub, p);
        } else if (k->type == CT_LIST || k->type == CT_NAMED) {
            if (snprintf(lp, sizeof(lp), "%s%s", p, k->type == CT_LIST ? "[]" : ".NAME") >=
                (int)sizeof(lp))
                lp[sizeof(lp) - 1] = '\0';
            print_section(out, k->sub, lp);
        }
    }
}

void config_print_keys(FILE *out)
{
    print_section(out, &config_top_section, "");
}

static const char *const builtin_hot[] = {"linger.ms", "2", "compression.type", "lz4", NULL};
static const char *const builtin_cold[] = {
    "linger.ms", "500", "compression.type", "zstd", "batch.size", "1048576", NULL};

const config_profile_t *config_profile(const config_t *cfg, const char *name,
                                       const char *const **builtin)
{
    static const config_profile_t builtin_profile = {0};
    if (builtin)
        *builtin = NULL;
    for (size_t i = 0; i < cfg->kafka_profiles_n; i++)
        if (strcmp(cfg->kafka_profiles[i].name, name) == 0)
            return &cfg->kafka_profiles[i];
    const char *const *b = strcmp(name, "hot") == 0    ? builtin_hot
                           : strcmp(name, "cold") == 0 ? builtin_cold
                                                       : NULL;
    if (!b)
        return NULL;
    if (builtin)
        *builtin = b;
    return &builtin_profile;
}
