/* Bridge configuration: read from YAML (see docs/CONFIGURATION.md), checked
 * against a table of known keys, then finalized (cross-field checks).
 * The config_t is plain data, read-only once loaded. */
#ifndef MKB_CONFIG_H
#define MKB_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

typedef struct {
    char *key;
    char *value;
} config_kv_t;

typedef struct {
    char *name;
    char *mqtt_filter;
    long long mqtt_qos;
    char *kafka_topic;
} config_route_t;

typedef struct config {
    /* mqtt: */
    char *mqtt_uri;
    char *mqtt_client_id;
    char *mqtt_version; /* "3.1.1" or "5" */
    bool mqtt_clean_start;
    long long mqtt_keepalive_s;
    long long mqtt_session_expiry_s;
    /* kafka: */
    char *kafka_bootstrap;
    config_kv_t *kafka_properties;
    size_t kafka_properties_n;
    long long kafka_flush_timeout_ms;
    long long kafka_queue_wait_ms;
    /* routes: */
    config_route_t *routes;
    size_t routes_n;
    /* top level */
    char *log_level;
} config_t;

/* Loads and checks PATH. On success *out is owned by the caller (free with
 * config_destroy). On failure returns MKB_ERR_CONFIG (or another mkb_err_t)
 * and *errors holds every error found, one "file:line:col: error: ..." per
 * line (caller frees it). */
int config_load(const char *path, config_t **out, char **errors);

/* Same, from a string; NAME stands for the file name in messages. */
int config_load_string(const char *name, const char *text, config_t **out, char **errors);

void config_destroy(config_t *cfg);

/* Prints every known key with type, default and description (--help-config). */
void config_print_keys(FILE *out);

/* Edit distance, exposed for the did-you-mean hints and their tests. */
size_t config_edit_distance(const char *a, const char *b);

#endif
