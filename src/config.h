// SPDX-FileCopyrightText: 2026 The mqtt-kafka-bridge authors
// SPDX-License-Identifier: Apache-2.0
/* Bridge configuration: bridge.yaml (connections, policies) plus the mapping
 * files it names (routes, commands), read once per load from YAML, applied
 * through a table of known keys (config_keys.c, docs/CONFIGURATION.md), then
 * checked across fields (config_check.c). Settings with a fixed set of
 * values are enums by then. The config_t is plain data, read-only once
 * loaded, shared by reference (config_ref). Every value remembers where it
 * was written (config_pos) so later stages (route compilation) can point at
 * file:line:column too. */
#ifndef MKB_CONFIG_H
#define MKB_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdatomic.h>
#include <stdio.h>

#include "diag.h"
#include "log.h"
#include "normalize.h"

/* Settings with a fixed set of values are decided at load: enums, never
 * strings compared later. */
typedef enum { CONFIG_MQTT_3_1_1, CONFIG_MQTT_5 } config_mqtt_version_t;
typedef enum { CONFIG_FSYNC_INTERVAL, CONFIG_FSYNC_ALWAYS, CONFIG_FSYNC_NEVER } config_fsync_t;
typedef enum { CONFIG_FULL_BLOCK, CONFIG_FULL_DROP_OLDEST } config_on_full_t;
/* fields.on_error: what a present value that cannot be converted becomes. */
typedef enum {
    CONFIG_ON_ERROR_DEAD_LETTER,
    CONFIG_ON_ERROR_NULL,
    CONFIG_ON_ERROR_OMIT,
    CONFIG_ON_ERROR_DEFAULT
} config_on_error_t;

typedef struct {
    char *key;
    char *value;
    bool quoted; /* value written in quotes: always a string */
} config_kv_t;

typedef struct {
    char *text; /* NULL: not given */
    bool quoted;
} config_scalar_t;

typedef struct {
    char *name; /* must stay first: filled from the mapping key */
    char *from; /* JSON pointer; NULL: "/<name>" */
    norm_type_t type;                  /* NORM_TYPE_ANY: as is */
    const norm_conversion_t *convert; /* NULL: none */
    double scale;
    double offset;
    config_scalar_t dflt;
    bool required;
    config_on_error_t on_error;
    long long round; /* decimals; only when given (config_pos line > 0) */
} config_field_t;

typedef struct {
    char *name; /* must stay first: filled from the mapping key */
    long long linger_ms;
    long long batch_bytes;
    char *compression;
    int acks; /* librdkafka's acks: -1 (all), 1 or 0 */
    config_kv_t *properties;
    size_t properties_n;
} config_profile_t;

/* when: one condition: one subject (field, capture, property or mqtt) and
 * its tests; a test not written has text NULL (config_cond_check says which
 * combinations are valid). */
typedef enum {
    CONFIG_COND_MQTT_NONE,
    CONFIG_COND_MQTT_CONTENT_TYPE,
    CONFIG_COND_MQTT_TOPIC,
    CONFIG_COND_MQTT_QOS,
    CONFIG_COND_MQTT_RETAIN
} config_cond_mqtt_t;

typedef struct {
    char *field;    /* JSON pointer */
    char *capture;  /* a capture of the filter */
    char *property; /* an MQTT 5 user property */
    config_cond_mqtt_t mqtt;
    config_scalar_t exists, equals, above, below, at_least, at_most;
    config_scalar_t *one_of;
    size_t one_of_n;
} config_cond_t;

/* empty: what a zero-length payload becomes. DEFAULT: a dead letter, except
 * on raw routes, which forward it as an empty value. */
typedef enum {
    CONFIG_EMPTY_DEFAULT,
    CONFIG_EMPTY_DEAD_LETTER,
    CONFIG_EMPTY_SKIP,
    CONFIG_EMPTY_TOMBSTONE
} config_empty_t;
/* What a route does with a retained MQTT message. */
typedef enum { CONFIG_RETAINED_FORWARD, CONFIG_RETAINED_DROP } config_retained_t;
/* What a command rule sends: the JSON payload as built, or that JSON
 * encoded as a Sparkplug B NCMD/DCMD payload (spb_encode_command). */
typedef enum { CONFIG_CMD_PAYLOAD_JSON, CONFIG_CMD_PAYLOAD_SPARKPLUG_B } config_cmd_payload_t;
/* sparkplug.records: one record per metric or per message. */
typedef enum { CONFIG_SPB_PER_METRIC, CONFIG_SPB_PER_MESSAGE } config_spb_records_t;
/* sparkplug.unresolved: a data message with metrics no birth names. */
typedef enum { CONFIG_SPB_FORWARD, CONFIG_SPB_DEAD_LETTER } config_spb_unresolved_t;

typedef struct {
    char *name;
    char *mqtt_filter; /* with {capture} and {capture#} */
    long long mqtt_qos;
    char *kafka_topic; /* template */
    char *kafka_key;   /* template */
    char *kafka_profile;
    config_kv_t *kafka_headers;
    size_t kafka_headers_n;
    norm_payload_t payload;
    char *explode; /* JSON pointer to an array, or NULL */
    config_field_t *fields;
    size_t fields_n;
    config_kv_t *add;
    size_t add_n;
    char *ts_from; /* NULL: no timestamp rule */
    norm_ts_format_t ts_format;
    char *ts_field;
    char *ts_timezone; /* NULL: UTC */
    config_cond_t *when; /* all must hold; NULL: always */
    size_t when_n;
    config_empty_t empty;
    config_retained_t retained;
    /* sparkplug: (payload: sparkplug_b only) */
    config_spb_records_t spb_records;
    char *spb_status_topic; /* NULL: no status records */
    bool spb_properties;
    config_spb_unresolved_t spb_unresolved;
    bool spb_rebirth;
} config_route_t;

typedef struct {
    char *name;
    char *kafka_topic;
    char *kafka_group;
    char *kafka_result_topic; /* NULL: none */
    char *mqtt_topic;         /* template */
    long long mqtt_qos;
    bool mqtt_retain;
    char **mqtt_fields; /* payload built from these value fields; NULL: passed through */
    size_t mqtt_fields_n;
    long long mqtt_expiry_s;
    char *mqtt_content_type;
    config_kv_t *mqtt_props; /* MQTT 5 user properties: name -> template */
    size_t mqtt_props_n;
    long long max_age_s;
    config_cmd_payload_t payload;
} config_command_t;

typedef struct config_posreg config_posreg_t;

typedef struct config {
    /* mqtt: */
    char *mqtt_uri;
    char *mqtt_client_id;
    config_mqtt_version_t mqtt_version;
    bool mqtt_clean_start;
    long long mqtt_keepalive_s;
    long long mqtt_session_expiry_s;
    char *mqtt_username;
    char *mqtt_password;
    char *mqtt_password_file;
    char *mqtt_shared_group;
    char *tls_ca_file;
    char *tls_cert_file;
    char *tls_key_file;
    char *tls_key_password;
    bool tls_verify_hostname;
    /* kafka: */
    char *kafka_bootstrap;
    config_kv_t *kafka_properties;
    size_t kafka_properties_n;
    long long kafka_flush_timeout_ms;
    long long kafka_queue_wait_ms;
    long long kafka_stall_timeout_ms; /* 0: no stall check */
    char *kafka_dead_letter_topic;
    char *kafka_unmatched_topic;
    config_profile_t *kafka_profiles;
    size_t kafka_profiles_n;
    /* spool: */
    char *spool_dir; /* NULL: no spool */
    long long spool_max_bytes;
    long long spool_segment_bytes;
    config_fsync_t spool_fsync;
    long long spool_fsync_interval_ms;
    config_on_full_t spool_on_full;
    /* metrics: */
    char *metrics_listen; /* NULL: no HTTP endpoint */
    char *metrics_username; /* with metrics_password: HTTP basic auth on every path */
    char *metrics_password;
    char *metrics_password_file;
    char *metrics_tls_cert_file; /* with the key: HTTPS instead of HTTP */
    char *metrics_tls_key_file;
    /* limits: */
    long long limit_payload_bytes;
    long long limit_json_depth;
    long long limit_records;
    long long limit_future_ms;
    /* mappings, routes, commands */
    char **mappings;
    size_t mappings_n;
    config_route_t *routes;
    size_t routes_n;
    config_command_t *commands;
    size_t commands_n;
    /* top level */
    log_level_t log_level;
    log_format_t log_format;
    char *path; /* the file config_load read */
    char *warnings; /* "file:line:col: warning: ..." lines, or NULL */
    config_posreg_t *pos;
    atomic_int refs; /* holders beyond the first (config_ref) */
} config_t;

typedef struct {
    const char *file;
    int line, col;          /* 0 when unknown */
    const diag_via_t *via; /* the YAML alias the value came through, or NULL */
} config_pos_t;

/* Loads and checks PATH and the mapping files it names. On success *out is
 * owned by the caller (config_destroy); (*out)->warnings lists what loads
 * but deserves a look (a secret in a file every user can read). On failure returns MKB_ERR_CONFIG
 * (or another mkb_err_t) and *errors holds every error found, one
 * "file:line:col: error: ..." per line (caller frees it). */
int config_load(const char *path, config_t **out, char **errors);

/* Same, from a string; NAME stands for the file name in messages and as the
 * base for relative mapping paths. */
int config_load_string(const char *name, const char *text, config_t **out, char **errors);

/* Drops one holder of CFG; the last one frees it. */
void config_destroy(config_t *cfg);

/* A reload keeps the Kafka connection the bridge started with: CFG's
 * kafka.bootstrap and kafka.properties are replaced by copies of BOOT's
 * (the command side a reload starts connects as the first one did). */
int config_keep_kafka_connection(config_t *cfg, const config_t *boot);

/* Adds a holder of CFG (one load shared by the boot settings, the routes and
 * the command rules, each released with config_destroy); returns CFG. */
config_t *config_ref(config_t *cfg);

/* True when A and B have the same command rules (a reload restarts the
 * command side only then). */
bool config_commands_equal(const config_t *a, const config_t *b);

/* Where the value at address FIELD (a member of cfg or of one of its routes,
 * fields, key/value entries...) was written. */
config_pos_t config_pos(const config_t *cfg, const void *field);

/* True when FIELD was written in a file as it is (not one ${VAR} from the
 * environment): a secret there can be read by whoever reads the file. */
bool config_pos_literal(const config_t *cfg, const void *field);

/* Adds a "file:line:col: error: ..." line at the position of FIELD to D. */
void config_diag(diag_t *d, const config_t *cfg, const void *field, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* The producer profile NAME: from kafka.profiles, else a built-in ("hot",
 * "cold"); NULL if neither. BUILTIN receives the built-in's properties
 * (name=value pairs, NULL-terminated) when it is one. */
const config_profile_t *config_profile(const config_t *cfg, const char *name,
                                       const char *const **builtin);

/* True for librdkafka properties whose value is a secret (a password, a key,
 * a JAAS or OAUTHBEARER config): never shown in a message or a log line. */
bool config_is_secret_property(const char *key);

/* Prints every known key with type, default and description (--help-config). */
void config_print_keys(FILE *out);

/* Edit distance, for did-you-mean hints (also used by route compilation). */
size_t config_edit_distance(const char *a, const char *b);

/* The nearest of NAMES[0..n) to WORD when close enough to be a typo, or NULL. */
const char *config_nearest(const char *word, const char *const *names, size_t n);

#endif
