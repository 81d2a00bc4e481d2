/* Routes: MQTT topic filter -> Kafka topic, compiled once from the config
 * into an immutable table. A topic is matched in file order and the first
 * route that matches wins (one record per message; no fan-out yet). */
#ifndef MKB_ROUTE_H
#define MKB_ROUTE_H

#include <stdbool.h>
#include <stddef.h>

#include "config.h"

typedef struct route_table route_table_t;
typedef struct route route_t;

/* Compiles N routes. *out is owned by the caller. */
int route_table_new(const config_route_t *routes, size_t n, route_table_t **out, char *errstr,
                    size_t errstr_size);
void route_table_destroy(route_table_t *t);

/* The first route whose filter matches TOPIC (TOPIC_LEN bytes), or NULL. */
const route_t *route_table_match(const route_table_t *t, const char *topic, size_t topic_len);

size_t route_table_count(const route_table_t *t);
const route_t *route_table_get(const route_table_t *t, size_t i);

const char *route_name(const route_t *r);
const char *route_filter(const route_t *r);
const char *route_kafka_topic(const route_t *r);
int route_qos(const route_t *r);
size_t route_index(const route_t *r); /* position in the table */

/* MQTT filter semantics (MQTT 3.1.1 4.7 / MQTT 5 4.7): '+' one level, '#'
 * the rest including the parent level, '$'-topics not matched by a leading
 * wildcard. */
bool route_topic_matches(const char *filter, const char *topic, size_t topic_len);

/* False (with a reason in WHY) when FILTER is not a valid MQTT filter. */
bool route_filter_valid(const char *filter, char *why, size_t why_size);

#endif
