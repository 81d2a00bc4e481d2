#include "config.h"

#include "diag.h"
#include "err.h"
#include "normalize.h"
#include "ytree.h"

#include <errno.h>
#include <glob.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

/* ---- the key table ---------------------------------------------------- */

typedef enum {
    CT_STR,
    CT_INT,
    CT_DOUBLE,
    CT_BOOL,
    CT_ENUM,    /* an int (an enum) from `choices` */
    CT_CHOICE,  /* a string, one of `choices` (passed on to librdkafka as it is) */
    CT_CONV,    /* const norm_conversion_t *: one of norm_conversions */
    CT_SCALAR,  /* config_scalar_t: text + quoted */
    CT_SECTION, /* nested keys of the same struct */
    CT_STRMAP,  /* config_kv_t array */
    CT_LIST,    /* list of sections; appends (mapping files add routes) */
    CT_NAMED,   /* mapping name -> section; item's first member is the name */
    CT_STRLIST, /* list of strings (a single string is a list of one) */
} ctype_t;

typedef struct section section_t;

typedef struct {
    const char *name;
    int value;
} choice_t;

typedef struct {
    const char *name;
    ctype_t type;
    size_t off;       /* offset of the field from the section's base */
    size_t count_off; /* CT_LIST, CT_NAMED, CT_STRMAP, CT_STRLIST: the size_t count */
    long long min, max;
    const char *def; /* default as YAML text; NULL: none */
    bool required;
    const choice_t *choices; /* CT_ENUM, CT_CHOICE: ends with a NULL name */
    const section_t *sub;       /* CT_SECTION, CT_LIST and CT_NAMED items */
    const char *desc;
} ckey_t;

struct section {
    const ckey_t *keys;
    size_t nkeys;
    size_t item_size; /* for list items */
};

#define NKEYS(a) (sizeof(a) / sizeof((a)[0]))
#define C_OFF(f) offsetof(config_t, f)
#define R_OFF(f) offsetof(config_route_t, f)
#define F_OFF(f) offsetof(config_field_t, f)
#define M_OFF(f) offsetof(config_command_t, f)
#define P_OFF(f) offsetof(config_profile_t, f)

static const choice_t mqtt_versions[] = {
    {"3.1.1", CONFIG_MQTT_3_1_1}, {"5", CONFIG_MQTT_5}, {NULL, 0}};
static const choice_t log_levels[] = {{"error", LOG_LVL_ERROR},
                                      {"warn", LOG_LVL_WARN},
                                      {"info", LOG_LVL_INFO},
                                      {"debug", LOG_LVL_DEBUG},
                                      {NULL, 0}};
static const choice_t payload_kinds[] = {{"json", NORM_PAYLOAD_JSON},
                                         {"number", NORM_PAYLOAD_NUMBER},
                                         {"text", NORM_PAYLOAD_TEXT},
                                         {"raw", NORM_PAYLOAD_RAW},
                                         {NULL, 0}};
static const choice_t field_types[] = {{"number", NORM_TYPE_NUMBER},
                                       {"integer", NORM_TYPE_INTEGER},
                                       {"string", NORM_TYPE_STRING},
                                       {"boolean", NORM_TYPE_BOOLEAN},
                                       {NULL, 0}};
static const choice_t ts_formats[] = {{"auto", NORM_TS_AUTO},
                                      {"epoch_s", NORM_TS_EPOCH_S},
                                      {"epoch_ms", NORM_TS_EPOCH_MS},
                                      {"iso8601", NORM_TS_ISO8601},
                                      {NULL, 0}};

static const ckey_t tls_keys[] = {
    {.name = "ca_file",
     .type = CT_STR,
     .off = C_OFF(tls_ca_file),
     .desc =
         "CA certificate(s) (PEM) the broker's certificate must chain to; default: the system's."},
    {.name = "cert_file",
     .type = CT_STR,
     .off = C_OFF(tls_cert_file),
     .desc = "Client certificate (PEM), for brokers that require one."},
    {.name = "key_file",
     .type = CT_STR,
     .off = C_OFF(tls_key_file),
     .desc = "Client private key (PEM)."},
    {.name = "key_password",
     .type = CT_STR,
     .off = C_OFF(tls_key_password),
     .desc = "Password of an encrypted key_file."},
    {.name = "verify_hostname",
     .type = CT_BOOL,
     .off = C_OFF(tls_verify_hostname),
     .def = "true",
     .desc = "Check that the certificate names the host of the URI."},
};
static const section_t tls_section = {tls_keys, NKEYS(tls_keys), 0};

static const ckey_t mqtt_keys[] = {
    {.name = "uri",
     .type = CT_STR,
     .off = C_OFF(mqtt_uri),
     .required = true,
     .desc = "Broker address: tcp://host:port."},
    {.name = "client_id",
     .type = CT_STR,
     .off = C_OFF(mqtt_client_id),
     .def = "mqtt-kafka-bridge",
     .desc = "Stable MQTT client id; the broker keeps the persistent session under it."},
    {.name = "version",
     .type = CT_ENUM,
     .off = C_OFF(mqtt_version),
     .def = "5",
     .choices = mqtt_versions,
     .desc = "MQTT protocol version: 3.1.1 or 5."},
    {.name = "clean_start",
     .type = CT_BOOL,
     .off = C_OFF(mqtt_clean_start),
     .def = "false",
     .desc = "Start a new session on connect. false keeps the broker's persistent session, so QoS "
             "1/2 messages queued while the bridge was away are delivered."},
    {.name = "keepalive_s",
     .type = CT_INT,
     .off = C_OFF(mqtt_keepalive_s),
     .min = 5,
     .max = 3600,
     .def = "30",
     .desc = "MQTT keepalive interval in seconds."},
    {.name = "session_expiry_s",
     .type = CT_INT,
     .off = C_OFF(mqtt_session_expiry_s),
     .min = 0,
     .max = 4294967295LL,
     .def = "4294967295",
     .desc = "MQTT 5 only: how long the broker keeps the session after a disconnect (4294967295 = "
             "never expires)."},
    {.name = "username", .type = CT_STR, .off = C_OFF(mqtt_username), .desc = "MQTT user name."},
    {.name = "password",
     .type = CT_STR,
     .off = C_OFF(mqtt_password),
     .desc = "MQTT password; prefer password_file or ${ENV}."},
    {.name = "password_file",
     .type = CT_STR,
     .off = C_OFF(mqtt_password_file),
     .desc = "File holding the MQTT password (one trailing newline is removed)."},
    {.name = "shared_group",
     .type = CT_STR,
     .off = C_OFF(mqtt_shared_group),
     .desc = "Subscribe as $share/<group>/<filter>: bridges with the same group split the messages "
             "(scale-out)."},
    {.name = "tls",
     .type = CT_SECTION,
     .sub = &tls_section,
     .desc =
         "TLS for ssl:// URIs (the server is always verified against ca_file or the system CAs)."},
};
static const section_t mqtt_section = {mqtt_keys, NKEYS(mqtt_keys), 0};

static const choice_t compressions[] = {
    {"none", 0}, {"gzip", 0}, {"snappy", 0}, {"lz4", 0}, {"zstd", 0}, {NULL, 0}};
static const choice_t ackses[] = {{"all", 0}, {"1", 0}, {"0", 0}, {NULL, 0}};
static const ckey_t profile_keys[] = {
    {.name = "linger_ms",
     .type = CT_INT,
     .off = P_OFF(linger_ms),
     .min = 0,
     .max = 900000,
     .def = "5",
     .desc = "How long to wait to fill a batch (librdkafka linger.ms)."},
    {.name = "batch_bytes",
     .type = CT_INT,
     .off = P_OFF(batch_bytes),
     .min = 1,
     .max = 2147483647,
     .def = "1000000",
     .desc = "Largest batch (librdkafka batch.size)."},
    {.name = "compression",
     .type = CT_CHOICE,
     .off = P_OFF(compression),
     .def = "lz4",
     .choices = compressions,
     .desc = "Batch compression (librdkafka compression.type)."},
    {.name = "acks",
     .type = CT_CHOICE,
     .off = P_OFF(acks),
     .def = "all",
     .choices = ackses,
     .desc =
         "Acknowledgements required; anything but all turns idempotence off and can lose records."},
    {.name = "properties",
     .type = CT_STRMAP,
     .off = P_OFF(properties),
     .count_off = P_OFF(properties_n),
     .desc = "More librdkafka properties for this profile (over kafka.properties)."},
};
static const section_t profile_section = {profile_keys, NKEYS(profile_keys),
                                          sizeof(config_profile_t)};

static const ckey_t kafka_keys[] = {
    {.name = "bootstrap",
     .type = CT_STR,
     .off = C_OFF(kafka_bootstrap),
     .required = true,
     .desc = "Kafka bootstrap servers, host:port[,host:port...]."},
    {.name = "properties",
     .type = CT_STRMAP,
     .off = C_OFF(kafka_properties),
     .count_off = C_OFF(kafka_properties_n),
     .desc = "librdkafka producer properties, passed as is (a bad one fails start-up with "
             "librdkafka's message). A name ending in _file is read from that file and passed "
             "without the suffix (sasl.password_file: /run/secrets/kafka)."},
    {.name = "flush_timeout_ms",
     .type = CT_INT,
     .off = C_OFF(kafka_flush_timeout_ms),
     .min = 0,
     .max = 3600000,
     .def = "30000",
     .desc = "At shutdown, how long to wait for outstanding deliveries."},
    {.name = "queue_wait_ms",
     .type = CT_INT,
     .off = C_OFF(kafka_queue_wait_ms),
     .min = 0,
     .max = 600000,
     .def = "10000",
     .desc = "When the producer queue is full, how long the MQTT callback waits for room before "
             "logging a warning and waiting again (the message is never dropped)."},
    {.name = "stall_timeout_ms",
     .type = CT_INT,
     .off = C_OFF(kafka_stall_timeout_ms),
     .min = 0,
     .max = 3600000,
     .def = "15000",
     .desc = "Not ready (/readyz 503, systemd STATUS=, mkb_ready 0) when records wait for Kafka "
             "and none was delivered for this long: a hung or unreachable broker. 0: never."},
    {.name = "dead_letter_topic",
     .type = CT_STR,
     .off = C_OFF(kafka_dead_letter_topic),
     .def = "mqtt-kafka-bridge.deadletter",
     .desc = "Topic for payloads that fail their route: original bytes, reason in headers."},
    {.name = "unmatched_topic",
     .type = CT_STR,
     .off = C_OFF(kafka_unmatched_topic),
     .desc =
         "Topic for messages no route matches (raw, unchanged). Unset: counted and logged only."},
    {.name = "profiles",
     .type = CT_NAMED,
     .off = C_OFF(kafka_profiles),
     .count_off = C_OFF(kafka_profiles_n),
     .sub = &profile_section,
     .desc = "Producer profiles: name: {linger_ms, batch_bytes, compression, acks, properties}. "
             "Built in: hot (linger 5 ms, lz4) and cold (linger 500 ms, zstd, 1 MiB batches); one "
             "producer per profile in use."},
};
static const section_t kafka_section = {kafka_keys, NKEYS(kafka_keys), 0};

static const choice_t fsync_modes[] = {{"interval", CONFIG_FSYNC_INTERVAL},
                                       {"always", CONFIG_FSYNC_ALWAYS},
                                       {"never", CONFIG_FSYNC_NEVER},
                                       {NULL, 0}};
static const choice_t full_policies[] = {
    {"block", CONFIG_FULL_BLOCK}, {"drop_oldest", CONFIG_FULL_DROP_OLDEST}, {NULL, 0}};
static const ckey_t spool_keys[] = {
    {.name = "dir",
     .type = CT_STR,
     .off = C_OFF(spool_dir),
     .desc = "Directory of the on-disk journal (relative to this file's directory). Unset: no "
             "spool; the producer queue is the only buffer and a crash loses what it held."},
    {.name = "max_bytes",
     .type = CT_INT,
     .off = C_OFF(spool_max_bytes),
     .min = 2097152,
     .max = 1099511627776LL,
     .def = "1073741824",
     .desc = "Size on disk at which on_full applies (at least two segments)."},
    {.name = "segment_bytes",
     .type = CT_INT,
     .off = C_OFF(spool_segment_bytes),
     .min = 1048576,
     .max = 1073741824,
     .def = "16777216",
     .desc = "A segment file is closed past this size (or when the disk is full); whole segments "
             "are deleted once delivered. Lowered at start, with a warning, to a quarter of what "
             "the spool's file system has room for."},
    {.name = "fsync",
     .type = CT_ENUM,
     .off = C_OFF(spool_fsync),
     .def = "interval",
     .choices = fsync_modes,
     .desc = "When the journal is flushed to the disk: always (before each PUBACK), interval "
             "(every fsync_interval_ms) or never (the kernel decides). A process crash loses "
             "nothing with any of them; see docs/ARCHITECTURE.md for a power cut."},
    {.name = "fsync_interval_ms",
     .type = CT_INT,
     .off = C_OFF(spool_fsync_interval_ms),
     .min = 1,
     .max = 3600000,
     .def = "1000",
     .desc = "fsync: interval: the longest time between two flushes."},
    {.name = "on_full",
     .type = CT_ENUM,
     .off = C_OFF(spool_on_full),
     .def = "block",
     .choices = full_policies,
     .desc =
         "At max_bytes: block stops taking MQTT messages (the broker's persistent session keeps "
         "them); drop_oldest deletes the oldest segment and counts its undelivered records."},
};
static const section_t spool_section = {spool_keys, NKEYS(spool_keys), 0};

static const ckey_t metrics_tls_keys[] = {
    {.name = "cert_file",
     .type = CT_STR,
     .off = C_OFF(metrics_tls_cert_file),
     .desc = "Server certificate chain (PEM): the endpoint speaks HTTPS only."},
    {.name = "key_file",
     .type = CT_STR,
     .off = C_OFF(metrics_tls_key_file),
     .desc = "Private key (PEM, unencrypted) of cert_file."},
};
static const section_t metrics_tls_section = {metrics_tls_keys, NKEYS(metrics_tls_keys), 0};

static const ckey_t metrics_keys[] = {
    {.name = "listen",
     .type = CT_STR,
     .off = C_OFF(metrics_listen),
     .desc = "Address of the HTTP endpoint (/metrics, /healthz, /readyz): IPV4:PORT, or PORT alone "
             "for 127.0.0.1:PORT. Unset: no endpoint."},
    {.name = "username",
     .type = CT_STR,
     .off = C_OFF(metrics_username),
     .desc = "With a password: HTTP basic authentication on every path (401 otherwise)."},
    {.name = "password",
     .type = CT_STR,
     .off = C_OFF(metrics_password),
     .desc = "Basic authentication password; prefer password_file or ${ENV}."},
    {.name = "password_file",
     .type = CT_STR,
     .off = C_OFF(metrics_password_file),
     .desc = "File holding the basic authentication password (one trailing newline is removed)."},
    {.name = "tls",
     .type = CT_SECTION,
     .sub = &metrics_tls_section,
     .desc = "HTTPS for the endpoint (libmicrohttpd with GnuTLS)."},
};
static const section_t metrics_section = {metrics_keys, NKEYS(metrics_keys), 0};

static const ckey_t limit_keys[] = {
    {.name = "max_payload_bytes",
     .type = CT_INT,
     .off = C_OFF(limit_payload_bytes),
     .min = 1,
     .max = 268435455,
     .def = "1048576",
     .desc = "Larger payloads become dead letters."},
    {.name = "max_json_depth",
     .type = CT_INT,
     .off = C_OFF(limit_json_depth),
     .min = 1,
     .max = 1000,
     .def = "32",
     .desc = "JSON nested deeper than this becomes a dead letter."},
    {.name = "max_records_per_message",
     .type = CT_INT,
     .off = C_OFF(limit_records),
     .min = 1,
     .max = 1000000,
     .def = "1000",
     .desc = "An exploded array with more elements becomes a dead letter."},
    {.name = "max_future_ms",
     .type = CT_INT,
     .off = C_OFF(limit_future_ms),
     .min = 0,
     .max = 31536000000LL,
     .def = "3600000",
     .desc = "A reading's time further ahead of the receive time than this is kept in the value "
             "but not used as the Kafka timestamp (the broker would refuse it: Kafka's "
             "log.message.timestamp.after.max.ms, one hour by default)."},
};
static const section_t limit_section = {limit_keys, NKEYS(limit_keys), 0};

static const ckey_t route_mqtt_keys[] = {
    {.name = "filter",
     .type = CT_STR,
     .off = R_OFF(mqtt_filter),
     .required = true,
     .desc = "MQTT topic filter: + and # wildcards, {name} captures one level, {name#} the rest."},
    {.name = "qos",
     .type = CT_INT,
     .off = R_OFF(mqtt_qos),
     .min = 0,
     .max = 2,
     .def = "1",
     .desc = "Subscription QoS: 0, 1 or 2."},
};
static const section_t route_mqtt_section = {route_mqtt_keys, NKEYS(route_mqtt_keys), 0};

static const ckey_t route_kafka_keys[] = {
    {.name = "topic",
     .type = CT_STR,
     .off = R_OFF(kafka_topic),
     .required = true,
     .desc = "Kafka topic (a template)."},
    {.name = "key",
     .type = CT_STR,
     .off = R_OFF(kafka_key),
     .def = "{mqtt.topic}",
     .desc = "Record key (a template); empty for none."},
    {.name = "profile",
     .type = CT_STR,
     .off = R_OFF(kafka_profile),
     .def = "hot",
     .desc = "Producer profile: hot, cold, or one of kafka.profiles."},
    {.name = "headers",
     .type = CT_STRMAP,
     .off = R_OFF(kafka_headers),
     .count_off = R_OFF(kafka_headers_n),
     .desc = "Record headers: name: template."},
};
static const section_t route_kafka_section = {route_kafka_keys, NKEYS(route_kafka_keys), 0};

static const ckey_t field_keys[] = {
    {.name = "from",
     .type = CT_STR,
     .off = F_OFF(from),
     .desc = "JSON pointer to the input value (default: /<field name>)."},
    {.name = "type",
     .type = CT_ENUM,
     .off = F_OFF(type),
     .choices = field_types,
     .desc = "Coerce to number, integer, string or boolean."},
    {.name = "convert",
     .type = CT_CONV,
     .off = F_OFF(convert),
     .desc = "Named unit conversion (applied before scale/offset)."},
    {.name = "scale",
     .type = CT_DOUBLE,
     .off = F_OFF(scale),
     .def = "1",
     .desc = "Linear conversion: value * scale + offset."},
    {.name = "offset",
     .type = CT_DOUBLE,
     .off = F_OFF(offset),
     .def = "0",
     .desc = "Linear conversion: value * scale + offset."},
    {.name = "default",
     .type = CT_SCALAR,
     .off = F_OFF(dflt),
     .desc = "Value used when the input lacks the field."},
    {.name = "required",
     .type = CT_BOOL,
     .off = F_OFF(required),
     .def = "false",
     .desc = "A message without the field becomes a dead letter."},
};
static const section_t field_section = {field_keys, NKEYS(field_keys), sizeof(config_field_t)};

static const ckey_t route_ts_keys[] = {
    {.name = "from",
     .type = CT_STR,
     .off = R_OFF(ts_from),
     .required = true,
     .desc = "JSON pointer to the reading's time."},
    {.name = "format",
     .type = CT_ENUM,
     .off = R_OFF(ts_format),
     .def = "auto",
     .choices = ts_formats,
     .desc = "epoch_s, epoch_ms, iso8601, or auto (numbers above 1e11 are ms)."},
    {.name = "field",
     .type = CT_STR,
     .off = R_OFF(ts_field),
     .def = "ts",
     .desc = "Output field for the canonical time (ISO 8601 UTC, milliseconds)."},
};
static const section_t route_ts_section = {route_ts_keys, NKEYS(route_ts_keys), 0};

static const ckey_t route_keys[] = {
    {.name = "name",
     .type = CT_STR,
     .off = R_OFF(name),
     .required = true,
     .desc = "Unique name of the route (logs, dead letters)."},
    {.name = "mqtt",
     .type = CT_SECTION,
     .required = true,
     .sub = &route_mqtt_section,
     .desc = "Where the messages come from."},
    {.name = "kafka",
     .type = CT_SECTION,
     .required = true,
     .sub = &route_kafka_section,
     .desc = "Where the records go."},
    {.name = "payload",
     .type = CT_ENUM,
     .off = R_OFF(payload),
     .def = "json",
     .choices = payload_kinds,
     .desc = "json, number (a bare 21.5), text, or raw (bytes forwarded untouched)."},
    {.name = "explode",
     .type = CT_STR,
     .off = R_OFF(explode),
     .desc = "JSON pointer to an array: one record per element (\"\" for a top-level array)."},
    {.name = "fields",
     .type = CT_NAMED,
     .off = R_OFF(fields),
     .count_off = R_OFF(fields_n),
     .sub = &field_section,
     .desc = "Output fields: name: {from, type, convert, scale, offset, default, required}. "
             "Without fields the input object is passed on whole."},
    {.name = "add",
     .type = CT_STRMAP,
     .off = R_OFF(add),
     .count_off = R_OFF(add_n),
     .desc = "Constant or template fields added to every record."},
    {.name = "timestamp",
     .type = CT_SECTION,
     .sub = &route_ts_section,
     .desc = "Where the reading's own time is; it becomes the record timestamp."},
};
static const section_t route_section = {route_keys, NKEYS(route_keys), sizeof(config_route_t)};

static const ckey_t cmd_kafka_keys[] = {
    {.name = "topic",
     .type = CT_STR,
     .off = M_OFF(kafka_topic),
     .required = true,
     .desc = "Kafka topic the commands come from."},
    {.name = "group",
     .type = CT_STR,
     .off = M_OFF(kafka_group),
     .def = "mqtt-kafka-bridge-commands",
     .desc = "Consumer group (offsets are committed only after the MQTT PUBACK)."},
    {.name = "result_topic",
     .type = CT_STR,
     .off = M_OFF(kafka_result_topic),
     .desc = "Topic for each command's outcome (sent, expired, invalid) as JSON. Unset: invalid "
             "commands go to kafka.dead_letter_topic, expired ones are counted and logged."},
};
static const section_t cmd_kafka_section = {cmd_kafka_keys, NKEYS(cmd_kafka_keys), 0};
static const ckey_t cmd_mqtt_keys[] = {
    {.name = "topic",
     .type = CT_STR,
     .off = M_OFF(mqtt_topic),
     .required = true,
     .desc = "MQTT topic, a template: {key}, {header.NAME}, {value.a.b} (a field of the JSON "
             "value), {topic}, {partition}, {offset}."},
    {.name = "qos",
     .type = CT_INT,
     .off = M_OFF(mqtt_qos),
     .min = 0,
     .max = 2,
     .def = "1",
     .desc = "Publish QoS."},
    {.name = "retain",
     .type = CT_BOOL,
     .off = M_OFF(mqtt_retain),
     .def = "false",
     .desc = "Publish with the retain flag."},
    {.name = "fields",
     .type = CT_STRLIST,
     .off = M_OFF(mqtt_fields),
     .count_off = M_OFF(mqtt_fields_n),
     .desc = "Build the payload as a JSON object of these fields of the record's value (a.b for "
             "nested ones); unset: the value is passed through unchanged."},
    {.name = "message_expiry_s",
     .type = CT_INT,
     .off = M_OFF(mqtt_expiry_s),
     .min = 0,
     .max = 4294967295LL,
     .def = "0",
     .desc = "MQTT 5 message expiry interval (0: none)."},
    {.name = "content_type",
     .type = CT_STR,
     .off = M_OFF(mqtt_content_type),
     .desc = "MQTT 5 content type."},
    {.name = "user_properties",
     .type = CT_STRMAP,
     .off = M_OFF(mqtt_props),
     .count_off = M_OFF(mqtt_props_n),
     .desc = "MQTT 5 user properties: name: template."},
};
static const section_t cmd_mqtt_section = {cmd_mqtt_keys, NKEYS(cmd_mqtt_keys), 0};
static const ckey_t command_keys[] = {
    {.name = "name",
     .type = CT_STR,
     .off = M_OFF(name),
     .required = true,
     .desc = "Unique name of the rule."},
    {.name = "kafka",
     .type = CT_SECTION,
     .required = true,
     .sub = &cmd_kafka_section,
     .desc = "Where commands come from."},
    {.name = "mqtt",
     .type = CT_SECTION,
     .required = true,
     .sub = &cmd_mqtt_section,
     .desc = "Where commands go."},
    {.name = "max_age_s",
     .type = CT_INT,
     .off = M_OFF(max_age_s),
     .min = 0,
     .max = 31536000,
     .def = "0",
     .desc = "Older commands are not sent (0: no limit)."},
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
    {.name = "mqtt",
     .type = CT_SECTION,
     .required = true,
     .sub = &mqtt_section,
     .desc = "MQTT broker connection."},
    {.name = "kafka",
     .type = CT_SECTION,
     .required = true,
     .sub = &kafka_section,
     .desc = "Kafka producer."},
    {.name = "spool",
     .type = CT_SECTION,
     .sub = &spool_section,
     .desc =
         "On-disk journal between MQTT and Kafka (crash-safe custody; see docs/ARCHITECTURE.md)."},
    {.name = "metrics",
     .type = CT_SECTION,
     .sub = &metrics_section,
     .desc = "Prometheus metrics and health endpoints (docs/OPERATIONS.md)."},
    {.name = "limits",
     .type = CT_SECTION,
     .sub = &limit_section,
     .desc = "Limits against hostile input; each breach is a dead letter with its reason."},
    {.name = "mappings",
     .type = CT_STRLIST,
     .off = C_OFF(mappings),
     .count_off = C_OFF(mappings_n),
     .desc =
         "Mapping files (globs, relative to this file's directory) holding routes: and commands:."},
    {.name = "routes",
     .type = CT_LIST,
     .off = C_OFF(routes),
     .count_off = C_OFF(routes_n),
     .sub = &route_section,
     .desc = ROUTES_DESC},
    {.name = "commands",
     .type = CT_LIST,
     .off = C_OFF(commands),
     .count_off = C_OFF(commands_n),
     .sub = &command_section,
     .desc = COMMANDS_DESC},
    {.name = "log_level",
     .type = CT_ENUM,
     .off = C_OFF(log_level),
     .def = "info",
     .choices = log_levels,
     .desc = "Most verbose log level printed: error, warn, info or debug (-l overrides)."},
};
static const section_t top_section = {top_keys, NKEYS(top_keys), sizeof(config_t)};

/* A mapping file holds routes and commands only; they append to the config's. */
static const ckey_t mapping_keys[] = {
    {.name = "routes",
     .type = CT_LIST,
     .off = C_OFF(routes),
     .count_off = C_OFF(routes_n),
     .sub = &route_section,
     .desc = ROUTES_DESC},
    {.name = "commands",
     .type = CT_LIST,
     .off = C_OFF(commands),
     .count_off = C_OFF(commands_n),
     .sub = &command_section,
     .desc = COMMANDS_DESC},
};
static const section_t mapping_section = {mapping_keys, NKEYS(mapping_keys), 0};

/* ---- positions ----------------------------------------------------------- */

typedef struct {
    const void *addr;
    const char *file; /* interned in the registry */
    int line, col;
    bool literal; /* written in the file, not one ${VAR} from the environment */
} posent_t;

struct config_posreg {
    posent_t *ents;
    size_t n, cap;
    char **files;
    size_t nfiles;
};

static const char *intern_file(config_posreg_t *r, const char *file)
{
    for (size_t i = 0; i < r->nfiles; i++)
        if (strcmp(r->files[i], file) == 0)
            return r->files[i];
    char **f = realloc(r->files, (r->nfiles + 1) * sizeof(*f));
    if (!f)
        return NULL;
    r->files = f;
    if (!(f[r->nfiles] = strdup(file)))
        return NULL;
    return f[r->nfiles++];
}

static bool pos_add(config_posreg_t *r, const void *addr, const ynode_t *n)
{
    if (!n)
        return true;
    if (r->n == r->cap) {
        size_t cap = r->cap ? r->cap * 2 : 64;
        posent_t *e = realloc(r->ents, cap * sizeof(*e));
        if (!e)
            return false;
        r->ents = e;
        r->cap = cap;
    }
    const char *file = intern_file(r, ynode_file(n));
    if (!file)
        return false;
    r->ents[r->n++] = (posent_t){addr, file, ynode_line(n), ynode_col(n),
                                 ynode_type(n) != YNODE_SCALAR || !ynode_scalar_from_env(n)};
    return true;
}

config_pos_t config_pos(const config_t *cfg, const void *field)
{
    const config_posreg_t *r = cfg->pos;
    for (size_t i = r ? r->n : 0; i-- > 0;)
        if (r->ents[i].addr == field)
            return (config_pos_t){r->ents[i].file, r->ents[i].line, r->ents[i].col};
    return (config_pos_t){cfg->path ? cfg->path : "?", 0, 0};
}

/* The entry for FIELD, or NULL when it was not written in a file. */
static const posent_t *pos_find(const config_t *cfg, const void *field)
{
    const config_posreg_t *r = cfg->pos;
    for (size_t i = r ? r->n : 0; i-- > 0;)
        if (r->ents[i].addr == field)
            return &r->ents[i];
    return NULL;
}

static void posreg_free(config_posreg_t *r)
{
    if (!r)
        return;
    for (size_t i = 0; i < r->nfiles; i++)
        free(r->files[i]);
    free(r->files);
    free(r->ents);
    free(r);
}

/* ---- error collection --------------------------------------------------- */

__attribute__((format(printf, 3, 4))) static void err_add(diag_t *e, const ynode_t *at,
                                                           const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    diag_addv(e, at ? ynode_file(at) : NULL, at ? ynode_line(at) : 0, at ? ynode_col(at) : 0, fmt,
              ap);
    va_end(ap);
}

__attribute__((format(printf, 4, 5))) static void err_at(diag_t *e, const config_t *cfg,
                                                          const void *field, const char *fmt,
                                                          ...)
{
    config_pos_t p = config_pos(cfg, field);
    va_list ap;
    va_start(ap, fmt);
    diag_addv(e, p.file, p.line, p.col, fmt, ap);
    va_end(ap);
}

/* ---- helpers ----------------------------------------------------------- */

/* Optimal string alignment distance: insertions, deletions, substitutions
 * and swaps of neighbours ("tpye" -> "type" is 1) each cost 1. */
size_t config_edit_distance(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    if (la > 64 || lb > 64)
        return SIZE_MAX;
    size_t d[65][65];
    for (size_t i = 0; i <= la; i++)
        d[i][0] = i;
    for (size_t j = 0; j <= lb; j++)
        d[0][j] = j;
    for (size_t i = 1; i <= la; i++) {
        for (size_t j = 1; j <= lb; j++) {
            size_t best = d[i - 1][j - 1] + (a[i - 1] != b[j - 1]);
            if (d[i - 1][j] + 1 < best)
                best = d[i - 1][j] + 1;
            if (d[i][j - 1] + 1 < best)
                best = d[i][j - 1] + 1;
            if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] &&
                d[i - 2][j - 2] + 1 < best)
                best = d[i - 2][j - 2] + 1;
            d[i][j] = best;
        }
    }
    return d[la][lb];
}

const char *config_nearest(const char *word, const char *const *names, size_t n)
{
    const char *best = NULL;
    size_t best_d = SIZE_MAX;
    for (size_t i = 0; i < n; i++) {
        size_t d = config_edit_distance(word, names[i]);
        if (d < best_d) {
            best_d = d;
            best = names[i];
        }
    }
    size_t wl = strlen(word);
    size_t limit = wl <= 4 ? 1 : (wl <= 8 ? 2 : 3);
    return best_d <= limit ? best : NULL;
}

static void *field(void *base, size_t off) { return (char *)base + off; }

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
    }
    return "?";
}

/* The names K accepts (CT_ENUM, CT_CHOICE, CT_CONV) into NAMES; their count. */
static size_t choice_names(const ckey_t *k, const char **names, size_t max)
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

static void join_choices(char *out, size_t size, const ckey_t *k, const char *sep)
{
    const char *names[64];
    size_t n = choice_names(k, names, 64);
    out[0] = '\0';
    for (size_t i = 0; i < n; i++) {
        strncat(out, i ? sep : "", size - strlen(out) - 1);
        strncat(out, names[i], size - strlen(out) - 1);
    }
}

/* ---- applying the tree to the struct ------------------------------------ */

typedef struct {
    diag_t errs;
    diag_t warns; /* severity "warning": reported, the load succeeds */
    config_posreg_t *pos;
} ctx_t;

static void nomem(ctx_t *c) { c->errs.nomem = true; }

static void apply_section(ctx_t *c, const section_t *sec, const ynode_t *node, void *base,
                          const char *path, const ynode_t *parent_at);

static bool scalar_or_err(ctx_t *c, const ynode_t *v, const char *path)
{
    if (ynode_type(v) == YNODE_SCALAR)
        return true;
    err_add(&c->errs, v, "%s: expected a single value, found %s", path,
            ynode_type_name(ynode_type(v)));
    return false;
}

static int set_scalar(ctx_t *c, const ckey_t *k, const ynode_t *v, const char *text, void *base,
                      const char *path)
{
    void *dst = field(base, k->off);
    if (v && !pos_add(c->pos, dst, v))
        return MKB_ERR_NOMEM;
    switch (k->type) {
    case CT_STR: {
        char **s = dst;
        free(*s);
        *s = strdup(text);
        return *s ? MKB_OK : MKB_ERR_NOMEM;
    }
    case CT_ENUM:
    case CT_CHOICE:
    case CT_CONV: {
        const char *names[64];
        size_t n = choice_names(k, names, 64), i = 0;
        while (i < n && strcmp(text, names[i]) != 0)
            i++;
        if (i == n) {
            char list[512];
            join_choices(list, sizeof(list), k, ", ");
            const char *near = config_nearest(text, names, n);
            err_add(&c->errs, v, "%s: '%s' is not valid; expected one of: %s%s%s%s", path, text,
                    list, near ? " (did you mean '" : "", near ? near : "", near ? "'?)" : "");
            return MKB_ERR_CONFIG;
        }
        if (k->type == CT_ENUM) {
            *(int *)dst = k->choices[i].value; /* every CT_ENUM field is an int-sized enum */
            return MKB_OK;
        }
        if (k->type == CT_CONV) {
            *(const norm_conversion_t **)dst = &norm_conversions[i];
            return MKB_OK;
        }
        char **s = dst;
        free(*s);
        *s = strdup(text);
        return *s ? MKB_OK : MKB_ERR_NOMEM;
    }
    case CT_SCALAR: {
        config_scalar_t *s = dst;
        free(s->text);
        s->text = strdup(text);
        s->quoted = v && ynode_scalar_quoted(v);
        return s->text ? MKB_OK : MKB_ERR_NOMEM;
    }
    case CT_INT: {
        char *end;
        errno = 0;
        long long x = strtoll(text, &end, 10);
        if (errno || end == text || *end != '\0') {
            err_add(&c->errs, v, "%s: expected an integer, found '%s'", path, text);
            return MKB_ERR_CONFIG;
        }
        if (x < k->min || x > k->max) {
            err_add(&c->errs, v, "%s: %lld is out of range [%lld, %lld]", path, x, k->min,
                    k->max);
            return MKB_ERR_CONFIG;
        }
        *(long long *)dst = x; /* every CT_INT field is a long long */
        return MKB_OK;
    }
    case CT_DOUBLE: {
        char *end;
        errno = 0;
        double x = strtod(text, &end);
        if (errno || end == text || *end != '\0' || !isfinite(x)) {
            err_add(&c->errs, v, "%s: expected a number, found '%s'", path, text);
            return MKB_ERR_CONFIG;
        }
        *(double *)dst = x;
        return MKB_OK;
    }
    case CT_BOOL: {
        static const char *const t[] = {"true", "yes", "on"}, *const f[] = {"false", "no", "off"};
        for (size_t i = 0; i < 3; i++) {
            if (strcasecmp(text, t[i]) == 0 || strcasecmp(text, f[i]) == 0) {
                *(bool *)dst = strcasecmp(text, t[i]) == 0;
                return MKB_OK;
            }
        }
        err_add(&c->errs, v, "%s: expected true or false, found '%s'", path, text);
        return MKB_ERR_CONFIG;
    }
    default:
        return MKB_ERR_INVAL;
    }
}

static void apply_strmap(ctx_t *c, const ckey_t *k, const ynode_t *v, void *base,
                         const char *path)
{
    if (ynode_type(v) != YNODE_MAP) {
        err_add(&c->errs, v, "%s: expected a mapping of name: value, found %s", path,
                ynode_type_name(ynode_type(v)));
        return;
    }
    size_t n = ynode_len(v);
    config_kv_t *kv = calloc(n ? n : 1, sizeof(*kv));
    if (!kv)
        return nomem(c);
    *(config_kv_t **)field(base, k->off) = kv;
    size_t *count = field(base, k->count_off);
    for (size_t i = 0; i < n; i++) {
        const ynode_t *key = ynode_map_key(v, i), *val = ynode_map_value(v, i);
        if (!scalar_or_err(c, key, path) || !scalar_or_err(c, val, path))
            continue;
        for (size_t j = 0; j < *count; j++)
            if (kv[j].key && strcmp(kv[j].key, ynode_scalar(key)) == 0) /* NULL: strdup failed */
                err_add(&c->errs, key, "%s.%s: key given twice", path, ynode_scalar(key));
        config_kv_t *e = &kv[(*count)++];
        e->key = strdup(ynode_scalar(key));
        e->value = strdup(ynode_scalar(val));
        e->quoted = ynode_scalar_quoted(val);
        if (!e->key || !e->value || !pos_add(c->pos, &e->key, key) ||
            !pos_add(c->pos, &e->value, val))
            nomem(c);
    }
}

static void apply_list(ctx_t *c, const ckey_t *k, const ynode_t *v, void *base, const char *path)
{
    if (ynode_type(v) != YNODE_SEQ) {
        err_add(&c->errs, v, "%s: expected a list (items starting with '- '), found %s", path,
                ynode_type_name(ynode_type(v)));
        return;
    }
    /* Appends: the array was sized for every file beforehand (preallocate),
     * so items never move and their recorded positions stay valid. */
    char *items = *(char **)field(base, k->off);
    size_t *count = field(base, k->count_off);
    for (size_t i = 0; i < ynode_len(v); i++) {
        char p[256];
        if (snprintf(p, sizeof(p), "%s[%zu]", path, *count) >= (int)sizeof(p))
            p[sizeof(p) - 1] = '\0';
        char *item = items + (*count)++ * k->sub->item_size;
        const ynode_t *it = ynode_seq_item(v, i);
        if (!pos_add(c->pos, item, it))
            return nomem(c);
        apply_section(c, k->sub, it, item, p, v);
    }
}

static void apply_named(ctx_t *c, const ckey_t *k, const ynode_t *v, void *base,
                        const char *path)
{
    if (ynode_type(v) != YNODE_MAP) {
        err_add(&c->errs, v, "%s: expected a mapping of name: {...}, found %s", path,
                ynode_type_name(ynode_type(v)));
        return;
    }
    size_t n = ynode_len(v);
    char *items = calloc(n ? n : 1, k->sub->item_size);
    if (!items)
        return nomem(c);
    *(void **)field(base, k->off) = items;
    size_t *count = field(base, k->count_off);
    for (size_t i = 0; i < n; i++) {
        const ynode_t *key = ynode_map_key(v, i), *val = ynode_map_value(v, i);
        if (!scalar_or_err(c, key, path))
            continue;
        char p[256];
        if (snprintf(p, sizeof(p), "%s.%s", path, ynode_scalar(key)) >= (int)sizeof(p))
            p[sizeof(p) - 1] = '\0';
        char *item = items + (*count)++ * k->sub->item_size;
        char **name = (char **)item; /* the name is the item's first member */
        if (!(*name = strdup(ynode_scalar(key))) || !pos_add(c->pos, item, key))
            return nomem(c);
        /* "name: {}" and "name:" (empty) both mean all defaults. */
        if (ynode_type(val) == YNODE_SCALAR && ynode_scalar_len(val) == 0)
            apply_section(c, k->sub, NULL, item, p, key);
        else
            apply_section(c, k->sub, val, item, p, key);
    }
}

static void apply_strlist(ctx_t *c, const ckey_t *k, const ynode_t *v, void *base,
                          const char *path)
{
    size_t n = ynode_type(v) == YNODE_SEQ ? ynode_len(v) : 1;
    char **items = calloc(n, sizeof(char *));
    if (!items)
        return nomem(c);
    *(char ***)field(base, k->off) = items;
    size_t *count = field(base, k->count_off);
    for (size_t i = 0; i < n; i++) {
        const ynode_t *it = ynode_type(v) == YNODE_SEQ ? ynode_seq_item(v, i) : v;
        if (!scalar_or_err(c, it, path))
            continue;
        if (!(items[*count] = strdup(ynode_scalar(it))) || !pos_add(c->pos, &items[*count], it))
            return nomem(c);
        (*count)++;
    }
}

static void apply_default(ctx_t *c, const ckey_t *k, void *base, const char *path)
{
    if (k->def && set_scalar(c, k, NULL, k->def, base, path) == MKB_ERR_NOMEM)
        nomem(c);
}

/* Applies map NODE (NULL: section absent) to BASE through SEC. */
static void apply_section(ctx_t *c, const section_t *sec, const ynode_t *node, void *base,
                          const char *path, const ynode_t *parent_at)
{
    if (node && ynode_type(node) != YNODE_MAP) {
        err_add(&c->errs, node, "%s: expected a mapping (key: value lines), found %s",
                path[0] ? path : "top level", ynode_type_name(ynode_type(node)));
        return;
    }
    for (size_t i = 0; i < sec->nkeys; i++) {
        const ckey_t *k = &sec->keys[i];
        char p[256];
        if (snprintf(p, sizeof(p), "%s%s%s", path, path[0] ? "." : "", k->name) >= (int)sizeof(p))
            p[sizeof(p) - 1] = '\0';
        const ynode_t *v = NULL;
        size_t seen = 0;
        for (size_t j = 0; node && j < ynode_len(node); j++) {
            const ynode_t *key = ynode_map_key(node, j);
            if (ynode_type(key) == YNODE_SCALAR && strcmp(ynode_scalar(key), k->name) == 0) {
                if (seen++)
                    err_add(&c->errs, key, "%s: key given twice", p);
                v = ynode_map_value(node, j);
            }
        }
        bool empty = v && ynode_type(v) == YNODE_SCALAR && !ynode_scalar_quoted(v) &&
                     ynode_scalar_len(v) == 0;
        if (!v || (empty && k->type != CT_STR && k->type != CT_SCALAR)) {
            if (k->type == CT_SECTION) {
                if (k->required)
                    err_add(&c->errs, node ? node : parent_at, "%s: required section missing", p);
                else if (k->sub == &route_ts_section)
                    continue; /* optional section: absent means off */
                apply_section(c, k->sub, NULL, base, p, node ? node : parent_at);
            } else if (k->required) {
                err_add(&c->errs, node ? node : parent_at, "%s: required key missing (%s)", p,
                        k->desc);
            } else {
                apply_default(c, k, base, p);
            }
            continue;
        }
        switch (k->type) {
        case CT_SECTION: apply_section(c, k->sub, v, base, p, v); break;
        case CT_STRMAP: apply_strmap(c, k, v, base, p); break;
        case CT_LIST: apply_list(c, k, v, base, p); break;
        case CT_NAMED: apply_named(c, k, v, base, p); break;
        case CT_STRLIST: apply_strlist(c, k, v, base, p); break;
        default:
            if (scalar_or_err(c, v, p)) {
                if (k->type == CT_STR && ynode_scalar_len(v) == 0 && k->required)
                    err_add(&c->errs, v, "%s: must not be empty", p);
                else if (set_scalar(c, k, v, ynode_scalar(v), base, p) == MKB_ERR_NOMEM)
                    nomem(c);
            } else {
                apply_default(c, k, base, p);
            }
        }
    }
    /* Unknown keys. */
    for (size_t j = 0; node && j < ynode_len(node); j++) {
        const ynode_t *key = ynode_map_key(node, j);
        if (ynode_type(key) != YNODE_SCALAR) {
            err_add(&c->errs, key, "%s: keys must be plain names", path[0] ? path : "top level");
            continue;
        }
        bool known = false;
        for (size_t i = 0; i < sec->nkeys && !known; i++)
            known = strcmp(ynode_scalar(key), sec->keys[i].name) == 0;
        if (known)
            continue;
        const char *names[32];
        size_t nn = 0;
        for (size_t i = 0; i < sec->nkeys && nn < NKEYS(names); i++)
            names[nn++] = sec->keys[i].name;
        const char *near = config_nearest(ynode_scalar(key), names, nn);
        char valid[512] = "";
        for (size_t i = 0; i < nn; i++) {
            strncat(valid, i ? ", " : "", sizeof(valid) - strlen(valid) - 1);
            strncat(valid, names[i], sizeof(valid) - strlen(valid) - 1);
        }
        if (near)
            err_add(&c->errs, key, "unknown key '%s%s%s'; did you mean '%s'?", path,
                    path[0] ? "." : "", ynode_scalar(key), near);
        else
            err_add(&c->errs, key, "unknown key '%s%s%s'; expected one of: %s", path,
                    path[0] ? "." : "", ynode_scalar(key), valid);
    }
}

/* ---- finalize: checks across fields ------------------------------------ */

/* Reads a secret file into *out (one trailing newline removed). */
static int read_secret(const char *path, char **out, char *why, size_t why_size)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        snprintf(why, why_size, "cannot read %s: %s", path, strerror(errno));
        return MKB_ERR_IO;
    }
    char buf[4096];
    size_t n = fread(buf, 1, sizeof(buf) - 1, f);
    bool more = fgetc(f) != EOF;
    (void)fclose(f); /* read only */
    if (more) {
        snprintf(why, why_size, "%s is larger than %zu bytes", path, sizeof(buf) - 1);
        return MKB_ERR_CONFIG;
    }
    if (n > 0 && buf[n - 1] == '\n')
        n--;
    if (n > 0 && buf[n - 1] == '\r')
        n--;
    buf[n] = '\0';
    *out = strdup(buf);
    return *out ? MKB_OK : MKB_ERR_NOMEM;
}

/* ---- secrets ------------------------------------------------------------ */

bool config_is_secret_property(const char *key)
{
    return strstr(key, "password") || strstr(key, "secret") || strcmp(key, "ssl.key.pem") == 0 ||
           strcmp(key, "sasl.jaas.config") == 0 || strcmp(key, "sasl.oauthbearer.config") == 0;
}

/* librdkafka properties whose value names a file holding a secret. */
static bool secret_path_property(const char *key)
{
    return strcmp(key, "ssl.key.location") == 0 || strcmp(key, "ssl.keystore.location") == 0 ||
           strcmp(key, "sasl.kerberos.keytab") == 0;
}

/* Warns (at FIELD's position) when PATH, a file holding a secret, can be
 * read by every user. Group-readable is left alone: a service group is the
 * usual way to share a secret with the daemon. */
static void warn_readable(ctx_t *c, const config_t *cfg, const void *field, const char *what,
                          const char *path)
{
    struct stat st;
    if (!path || stat(path, &st) != 0 || !(st.st_mode & S_IROTH))
        return;
    err_at(&c->warns, cfg, field,
           "%s: %s holds a secret and every user can read it (mode %04o); "
           "chmod o-r %s",
           what, path, (unsigned)(st.st_mode & 07777), path);
}

/* A secret written literally (not one ${VAR}) in a file every user can
 * read: the warning names the value's position, never the value. */
static void warn_literal(ctx_t *c, const config_t *cfg, const void *field, const char *what)
{
    const posent_t *p = pos_find(cfg, field);
    if (p && p->literal)
        warn_readable(c, cfg, field, what, p->file);
}

/* kafka.properties or a profile's properties: NAME_file is read from that
 * file and passed as NAME; secrets in files every user can read warned of. */
static void finalize_properties(ctx_t *c, config_t *cfg, config_kv_t *kvs, size_t n,
                                const char *section)
{
    char why[600], what[300];
    for (size_t i = 0; i < n; i++) {
        config_kv_t *kv = &kvs[i];
        size_t kl = strlen(kv->key);
        snprintf(what, sizeof(what), "%s.%s", section, kv->key);
        if (kl > 5 && strcmp(kv->key + kl - 5, "_file") == 0) {
            char *secret = NULL;
            if (read_secret(kv->value, &secret, why, sizeof(why)) != MKB_OK) {
                err_at(&c->errs, cfg, &kv->value, "%s: %s", what, why);
                continue;
            }
            warn_readable(c, cfg, &kv->value, what, kv->value);
            kv->key[kl - 5] = '\0'; /* sasl.password_file -> sasl.password */
            free(kv->value);
            kv->value = secret;
        } else if (config_is_secret_property(kv->key)) {
            warn_literal(c, cfg, &kv->value, what);
        } else if (secret_path_property(kv->key)) {
            warn_readable(c, cfg, &kv->value, what, kv->value);
        }
    }
}

/* PASSWORD or PASSWORD_FILE (read into *PASSWORD), needing USERNAME. */
static void finalize_password(ctx_t *c, config_t *cfg, char **password, char **password_file,
                              const char *username, const char *section)
{
    char what[64];
    if (*password_file) {
        char why[600];
        snprintf(what, sizeof(what), "%s.password_file", section);
        if (*password)
            err_at(&c->errs, cfg, password_file,
                   "%s: give either password or password_file, not both", what);
        else if (read_secret(*password_file, password, why, sizeof(why)))
            err_at(&c->errs, cfg, password_file, "%s: %s", what, why);
        else
            warn_readable(c, cfg, password_file, what, *password_file);
    } else if (*password) {
        snprintf(what, sizeof(what), "%s.password", section);
        warn_literal(c, cfg, password, what);
    }
    if (*password && !username)
        err_at(&c->errs, cfg, *password_file ? (void *)password_file : (void *)password,
               "%s.password: needs %s.username", section, section);
}

static void finalize(ctx_t *c, config_t *cfg)
{
    finalize_password(c, cfg, &cfg->mqtt_password, &cfg->mqtt_password_file, cfg->mqtt_username,
                      "mqtt");
    warn_literal(c, cfg, &cfg->tls_key_password, "mqtt.tls.key_password");
    warn_readable(c, cfg, &cfg->tls_key_file, "mqtt.tls.key_file", cfg->tls_key_file);
    finalize_properties(c, cfg, cfg->kafka_properties, cfg->kafka_properties_n,
                        "kafka.properties");
    for (size_t i = 0; i < cfg->kafka_profiles_n; i++) {
        char what[300];
        config_profile_t *p = &cfg->kafka_profiles[i];
        snprintf(what, sizeof(what), "kafka.profiles.%s.properties", p->name);
        finalize_properties(c, cfg, p->properties, p->properties_n, what);
    }
    finalize_password(c, cfg, &cfg->metrics_password, &cfg->metrics_password_file,
                      cfg->metrics_username, "metrics");
    if (cfg->metrics_username && !cfg->metrics_password)
        err_at(&c->errs, cfg, &cfg->metrics_username,
               "metrics.username: needs metrics.password or metrics.password_file");
    if (!cfg->metrics_tls_cert_file != !cfg->metrics_tls_key_file)
        err_at(&c->errs, cfg,
               cfg->metrics_tls_cert_file ? (void *)&cfg->metrics_tls_cert_file
                                          : (void *)&cfg->metrics_tls_key_file,
               "metrics.tls: give both cert_file and key_file");
    warn_readable(c, cfg, &cfg->metrics_tls_key_file, "metrics.tls.key_file",
                  cfg->metrics_tls_key_file);
    if ((cfg->metrics_username || cfg->metrics_tls_cert_file) && !cfg->metrics_listen)
        err_at(&c->errs, cfg,
               cfg->metrics_username ? (void *)&cfg->metrics_username
                                     : (void *)&cfg->metrics_tls_cert_file,
               "metrics: authentication and TLS need metrics.listen");
    if (cfg->spool_dir && cfg->spool_max_bytes < 2 * cfg->spool_segment_bytes)
        err_at(&c->errs, cfg, &cfg->spool_max_bytes,
               "spool.max_bytes: must be at least twice spool.segment_bytes (%lld)",
               cfg->spool_segment_bytes);
    if (cfg->spool_dir && cfg->spool_dir[0] != '/' && cfg->path) {
        const char *slash = strrchr(cfg->path, '/');
        if (slash) {
            size_t dl = (size_t)(slash - cfg->path);
            char *abs = malloc(dl + 1 + strlen(cfg->spool_dir) + 1);
            if (abs) {
                sprintf(abs, "%.*s/%s", (int)dl, cfg->path, cfg->spool_dir);
                free(cfg->spool_dir);
                cfg->spool_dir = abs;
            }
        }
    }
    if (cfg->routes_n == 0)
        err_at(&c->errs, cfg, &cfg->pos, /* not a value: names the file as a whole */
               "no routes: add a routes: list here or mapping files with mappings:");
    for (size_t i = 0; i < cfg->routes_n; i++) {
        config_route_t *r = &cfg->routes[i];
        for (size_t j = 0; j < i; j++) {
            if (r->name && cfg->routes[j].name && strcmp(r->name, cfg->routes[j].name) == 0) {
                config_pos_t p = config_pos(cfg, &cfg->routes[j].name);
                err_at(&c->errs, cfg, &r->name, "route name '%s' is already used at %s:%d:%d",
                       r->name, p.file, p.line, p.col);
            }
        }
        if (r->kafka_profile && !config_profile(cfg, r->kafka_profile, NULL))
            err_at(&c->errs, cfg, &r->kafka_profile,
                   "route '%s': kafka.profile '%s' is not hot, cold or one of kafka.profiles",
                   r->name, r->kafka_profile);
        if (r->payload == NORM_PAYLOAD_RAW &&
            (r->fields_n || r->add_n || r->explode || r->ts_from))
            err_at(&c->errs, cfg, &r->payload,
                   "route '%s': payload: raw forwards bytes untouched; fields, add, explode "
                   "and timestamp need json, number or text",
                   r->name);
    }
    for (size_t i = 0; i < cfg->commands_n; i++)
        for (size_t j = 0; j < i; j++)
            if (cfg->commands[i].name && cfg->commands[j].name &&
                strcmp(cfg->commands[i].name, cfg->commands[j].name) == 0)
                err_at(&c->errs, cfg, &cfg->commands[i].name,
                       "command rule name '%s' is used twice", cfg->commands[i].name);
}

/* ---- loading ----------------------------------------------------------- */

/* Items under KEY in ROOT, over every occurrence: a key given twice is an
 * error, but apply still walks the last one, so size for all of them. */
static size_t seq_len(const ynode_t *root, const char *key)
{
    size_t n = 0;
    if (!root || ynode_type(root) != YNODE_MAP)
        return 0;
    for (size_t i = 0; i < ynode_len(root); i++) {
        const ynode_t *k = ynode_map_key(root, i), *v = ynode_map_value(root, i);
        if (ynode_type(k) == YNODE_SCALAR && strcmp(ynode_scalar(k), key) == 0 &&
            ynode_type(v) == YNODE_SEQ)
            n += ynode_len(v);
    }
    return n;
}

typedef struct {
    ytree_t **trees;
    size_t n, cap;
} treelist_t;

static int treelist_add(treelist_t *l, ytree_t *t)
{
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 8;
        // NOLINTNEXTLINE(bugprone-sizeof-expression): an array of pointers
        ytree_t **p = realloc(l->trees, cap * sizeof(*p));
        if (!p)
            return MKB_ERR_NOMEM;
        l->trees = p;
        l->cap = cap;
    }
    l->trees[l->n++] = t;
    return MKB_OK;
}

static bool has_glob_chars(const char *s) { return strpbrk(s, "*?[") != NULL; }

/* Loads the mapping files named by root's "mappings" into TREES. */
static void load_mapping_trees(ctx_t *c, const char *base_path, const ynode_t *root,
                               treelist_t *trees)
{
    const ynode_t *m = root && ynode_type(root) == YNODE_MAP ? ynode_map_get(root, "mappings")
                                                            : NULL;
    if (!m)
        return;
    char dir[PATH_MAX] = ".";
    const char *slash = strrchr(base_path, '/');
    if (slash)
        snprintf(dir, sizeof(dir), "%.*s", (int)(slash - base_path), base_path);
    if (slash == base_path)
        snprintf(dir, sizeof(dir), "/");
    size_t n = ynode_type(m) == YNODE_SEQ ? ynode_len(m) : 1;
    for (size_t i = 0; i < n; i++) {
        const ynode_t *it = ynode_type(m) == YNODE_SEQ ? ynode_seq_item(m, i) : m;
        if (ynode_type(it) != YNODE_SCALAR)
            continue; /* reported by apply */
        const char *pat = ynode_scalar(it);
        char full[PATH_MAX];
        if (snprintf(full, sizeof(full), "%s%s%s", pat[0] == '/' ? "" : dir,
                     pat[0] == '/' ? "" : "/", pat) >= (int)sizeof(full)) {
            err_add(&c->errs, it, "mappings: path too long");
            continue;
        }
        glob_t g;
        int grc = glob(full, 0, NULL, &g);
        if (grc == GLOB_NOMATCH) {
            if (!has_glob_chars(pat))
                err_add(&c->errs, it, "mappings: %s: no such file", full);
            globfree(&g);
            continue;
        }
        if (grc != 0) {
            err_add(&c->errs, it, "mappings: cannot expand %s", full);
            globfree(&g);
            continue;
        }
        for (size_t j = 0; j < g.gl_pathc; j++) { /* glob sorts: a stable file order */
            char err[1024];
            ytree_t *t = NULL;
            int rc = ytree_load_file(g.gl_pathv[j], &t, err, sizeof(err));
            if (rc == MKB_ERR_NOMEM || (rc == MKB_OK && treelist_add(trees, t) != MKB_OK)) {
                ytree_destroy(t);
                nomem(c);
            } else if (rc != MKB_OK) {
                diag_raw(&c->errs, err); /* already "file:line:col: ..." */
            }
        }
        globfree(&g);
    }
}

static int load_tree(const char *name, ytree_t *tree, config_t **out, char **errors)
{
    ctx_t c = {.errs = {.count = 0}, .warns = {.severity = "warning"}};
    treelist_t maps = {0};
    config_t *cfg = calloc(1, sizeof(*cfg));
    if (!cfg || !(c.pos = calloc(1, sizeof(*c.pos))) || !(cfg->path = strdup(name))) {
        free(c.pos);
        config_destroy(cfg);
        return MKB_ERR_NOMEM;
    }
    cfg->pos = c.pos;
    const ynode_t *root = ytree_root(tree);
    if (!root)
        err_add(&c.errs, NULL, "the configuration is empty");
    load_mapping_trees(&c, name, root, &maps);

    /* Size the route and command arrays for every file at once (see apply_list). */
    size_t nroutes = seq_len(root, "routes"), ncmds = seq_len(root, "commands");
    for (size_t i = 0; i < maps.n; i++) {
        nroutes += seq_len(ytree_root(maps.trees[i]), "routes");
        ncmds += seq_len(ytree_root(maps.trees[i]), "commands");
    }
    cfg->routes = calloc(nroutes ? nroutes : 1, sizeof(*cfg->routes));
    cfg->commands = calloc(ncmds ? ncmds : 1, sizeof(*cfg->commands));
    if (!cfg->routes || !cfg->commands)
        nomem(&c);
    else {
        apply_section(&c, &top_section, root, cfg, "", root);
        for (size_t i = 0; i < maps.n; i++) {
            const ynode_t *mroot = ytree_root(maps.trees[i]);
            if (mroot) /* an empty mapping file is allowed */
                apply_section(&c, &mapping_section, mroot, cfg, "", mroot);
        }
    }
    if (c.errs.count == 0 && !c.errs.nomem)
        finalize(&c, cfg);
    for (size_t i = 0; i < maps.n; i++)
        ytree_destroy(maps.trees[i]);
    free(maps.trees);
    if (c.errs.nomem || c.warns.nomem) {
        diag_free(&c.errs);
        diag_free(&c.warns);
        config_destroy(cfg);
        return MKB_ERR_NOMEM;
    }
    if (c.errs.count) {
        *errors = diag_take(&c.errs);
        diag_free(&c.warns);
        config_destroy(cfg);
        return MKB_ERR_CONFIG;
    }
    diag_free(&c.errs);
    cfg->warnings = diag_take(&c.warns);
    *out = cfg;
    return MKB_OK;
}

static int load(const char *name, const char *text, config_t **out, char **errors)
{
    char err[1024];
    ytree_t *tree = NULL;
    *errors = NULL;
    int rc = text ? ytree_load_string(name, text, strlen(text), &tree, err, sizeof(err))
                  : ytree_load_file(name, &tree, err, sizeof(err));
    if (rc != MKB_OK) {
        size_t n = strlen(err) + 16;
        *errors = malloc(n);
        if (*errors)
            snprintf(*errors, n, "%s\n", err);
        return rc;
    }
    rc = load_tree(name, tree, out, errors);
    ytree_destroy(tree);
    return rc;
}

int config_load(const char *path, config_t **out, char **errors)
{
    return load(path, NULL, out, errors);
}

int config_load_string(const char *name, const char *text, config_t **out, char **errors)
{
    return load(name, text, out, errors);
}

static void free_section(const section_t *sec, void *base);

static void free_items(const section_t *sub, char *items, size_t n)
{
    for (size_t j = 0; items && j < n; j++)
        free_section(sub, items + j * sub->item_size);
    free(items);
}

static void free_section(const section_t *sec, void *base)
{
    for (size_t i = 0; i < sec->nkeys; i++) {
        const ckey_t *k = &sec->keys[i];
        void *f = field(base, k->off);
        size_t n = k->count_off ? *(size_t *)field(base, k->count_off) : 0;
        switch (k->type) {
        case CT_STR:
        case CT_CHOICE: free(*(char **)f); break;
        case CT_SCALAR: free(((config_scalar_t *)f)->text); break;
        case CT_SECTION: free_section(k->sub, base); break;
        case CT_STRMAP: {
            config_kv_t *kv = *(config_kv_t **)f;
            for (size_t j = 0; j < n; j++) {
                free(kv[j].key);
                free(kv[j].value);
            }
            free(kv);
            break;
        }
        case CT_STRLIST: {
            char **s = *(char ***)f;
            for (size_t j = 0; j < n; j++)
                free(s[j]);
            free(s);
            break;
        }
        case CT_NAMED:
            for (size_t j = 0; j < n; j++) /* the name member, not in the key table */
                free(*(char **)(*(char **)f + j * k->sub->item_size));
            free_items(k->sub, *(char **)f, n);
            break;
        case CT_LIST: free_items(k->sub, *(char **)f, n); break;
        default: break;
        }
    }
}

void config_destroy(config_t *cfg)
{
    if (!cfg)
        return;
    free_section(&top_section, cfg);
    free(cfg->path);
    free(cfg->warnings);
    posreg_free(cfg->pos);
    free(cfg);
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
            join_choices(type, sizeof(type), k, "|");
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

void config_print_keys(FILE *out) { print_section(out, &top_section, ""); }

static const char *const builtin_hot[] = {"linger.ms", "5", "compression.type", "lz4", NULL};
static const char *const builtin_cold[] = {"linger.ms", "500", "compression.type", "zstd",
                                           "batch.size", "1048576", NULL};

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
