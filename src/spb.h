// SPDX-FileCopyrightText: 2026 The mqtt-kafka-bridge authors
// SPDX-License-Identifier: Apache-2.0
/* Sparkplug B (Eclipse Sparkplug 3.0): topics, and payloads decoded into
 * the JSON the routes read and encoded from the JSON of command records.
 * The protobuf is read and written by protobuf-c's code generated from the
 * specification's sparkplug_b.proto (third_party/sparkplug/); this module
 * maps it to JSON (spb_encode.c: from JSON). Pure: no state, no I/O (birth
 * state is spb_state.c's; the caller resolves aliases through spb_resolve_t). */
#ifndef MKB_SPB_H
#define MKB_SPB_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Sparkplug message types, as they appear in the topic. */
typedef enum {
    SPB_NBIRTH,
    SPB_NDEATH,
    SPB_DBIRTH,
    SPB_DDEATH,
    SPB_NDATA,
    SPB_DDATA,
    SPB_NCMD,
    SPB_DCMD,
    SPB_STATE, /* spBv1.0/STATE/<host id>: a host application's JSON, not protobuf */
} spb_type_t;

/* "NBIRTH", ... "STATE". */
const char *spb_type_name(spb_type_t t);

/* A Sparkplug topic, split (pointers into the topic given to
 * spb_topic_parse; lengths, no NUL). For STATE, node is the host id and
 * group is empty. device_len is 0 for node-level messages. */
typedef struct {
    spb_type_t type;
    const char *group;
    size_t group_len;
    const char *node;
    size_t node_len;
    const char *device;
    size_t device_len;
} spb_topic_t;

/* Parses spBv1.0/<group>/<TYPE>/<edge node>[/<device>] (a device exactly
 * for DBIRTH, DDEATH, DDATA, DCMD) or spBv1.0/STATE/<host id>. False, with
 * the reason in WHY, for anything else. */
bool spb_topic_parse(const char *topic, size_t len, spb_topic_t *out, char *why, size_t why_size);

/* The Sparkplug datatypes by number (specification 6.4.16, sparkplug_b.proto's
 * DataType). */
enum {
    SPB_DT_INT8 = 1,
    SPB_DT_INT16,
    SPB_DT_INT32,
    SPB_DT_INT64,
    SPB_DT_UINT8,
    SPB_DT_UINT16,
    SPB_DT_UINT32,
    SPB_DT_UINT64,
    SPB_DT_FLOAT,
    SPB_DT_DOUBLE,
    SPB_DT_BOOLEAN,
    SPB_DT_STRING,
    SPB_DT_DATETIME,
    SPB_DT_TEXT,
    SPB_DT_UUID,
    SPB_DT_DATASET,
    SPB_DT_BYTES,
    SPB_DT_FILE,
    SPB_DT_TEMPLATE,
    SPB_DT_PROPERTYSET,
    SPB_DT_PROPERTYSETLIST,
    SPB_DT_INT8_ARRAY,
    SPB_DT_INT16_ARRAY,
    SPB_DT_INT32_ARRAY,
    SPB_DT_INT64_ARRAY,
    SPB_DT_UINT8_ARRAY,
    SPB_DT_UINT16_ARRAY,
    SPB_DT_UINT32_ARRAY,
    SPB_DT_UINT64_ARRAY,
    SPB_DT_FLOAT_ARRAY,
    SPB_DT_DOUBLE_ARRAY,
    SPB_DT_BOOLEAN_ARRAY,
    SPB_DT_STRING_ARRAY,
    SPB_DT_DATETIME_ARRAY,
    SPB_DT_MAX = SPB_DT_DATETIME_ARRAY
};

/* Sparkplug datatypes 0..34 by their specification names ("Int8",
 * "UInt32", "DateTime", "DataSet", "BooleanArray", ...); NULL when out of
 * range. spb_datatype_of is the reverse (-1: no such name; case-sensitive). */
const char *spb_datatype_name(uint32_t dt);
int spb_datatype_of(const char *name);

/* What the birth said of a metric: its name and datatype. A resolver finds
 * it by alias (name NULL) or by name (has_alias false); it returns false when
 * the birth it keeps has no such metric, or there is no birth. NAME_OUT
 * points into the resolver's storage, valid until the next birth of that
 * edge node or device (the caller copies it before then). */
typedef bool (*spb_resolve_t)(void *ctx, const char *name, bool has_alias, uint64_t alias,
                              const char **name_out, uint32_t *datatype_out);

typedef struct {
    spb_resolve_t resolve; /* NULL: no birth known (names only from the payload) */
    void *resolve_ctx;
    bool properties;       /* metric properties (engUnit, ...) into "properties" */
    bool flat;             /* each metric also carries "group", "edge_node", "device",
                            * "type", "seq" and "payload_timestamp" of its message,
                            * and the payload's "timestamp" when it has none (one
                            * record per metric) */
    size_t max_metrics;    /* more metrics than this: an error (limits); 0: no limit */
} spb_decode_opts_t;

/* Decodes the Sparkplug B payload DATA (LEN bytes) of a message on topic T
 * (not STATE) into *OUT, a new object (layout in docs/CONFIGURATION.md,
 * "Sparkplug B"):
 *   {"group", "edge_node", "device" (device messages only), "type",
 *    "timestamp" (ms, when present), "seq" (when present), "uuid", "body"
 *    (base64) when present,
 *    "metrics": [{"name", "alias" (when present), "datatype", "timestamp"
 *                 (ms, when present), "value", "historical": true /
 *                 "transient": true (only when set), "properties" (opts),
 *                 "metadata" (when present)}, ...]}
 * Names and datatypes missing from a data message come from the resolver.
 * A metric whose alias no birth names is kept, marked: "name": null,
 * "unresolved": true, its value in "raw" as the protobuf field carried it
 * ({"int_value": N} ...) and no "value"; *UNRESOLVED counts them.
 * Errors (MKB_ERR_INVAL, a reason naming the metric in WHY): not a Sparkplug
 * B protobuf, a datatype unknown or different from the birth's, a value in a
 * field its datatype does not use, an array whose bytes do not fit its
 * type, more than opts->max_metrics metrics. MKB_ERR_NOMEM. */
int spb_decode(const spb_topic_t *t, const void *data, size_t len, const spb_decode_opts_t *opts,
               json_t **out, size_t *unresolved, char *why, size_t why_size);

/* A STATE message's payload (Sparkplug 3.0: JSON {"online": bool,
 * "timestamp": ms}; older hosts send the text ONLINE/OFFLINE) into a new
 * object {"host_id", "type": "STATE", "online", "timestamp" (when given)}. */
int spb_decode_state(const spb_topic_t *t, const void *data, size_t len, json_t **out, char *why,
                     size_t why_size);

#endif
