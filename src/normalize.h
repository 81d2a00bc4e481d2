// SPDX-FileCopyrightText: 2026 The mqtt-kafka-bridge authors
// SPDX-License-Identifier: Apache-2.0
/* The normalizer's building blocks, pure functions over jansson values:
 * payload parsing with limits, type coercion, unit conversion, timestamps.
 * mapper.c applies them as a route's rules say. */
#ifndef MKB_NORMALIZE_H
#define MKB_NORMALIZE_H

#include <jansson.h>

#include "tzinfo.h"
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* SPARKPLUG_B is decoded by spb.c (with its birth state), not here. */
typedef enum {
    NORM_PAYLOAD_JSON,
    NORM_PAYLOAD_NUMBER,
    NORM_PAYLOAD_TEXT,
    NORM_PAYLOAD_RAW,
    NORM_PAYLOAD_SPARKPLUG_B
} norm_payload_t;
typedef enum { NORM_TYPE_ANY, NORM_TYPE_NUMBER, NORM_TYPE_INTEGER, NORM_TYPE_STRING, NORM_TYPE_BOOLEAN } norm_type_t;
typedef enum { NORM_TS_AUTO, NORM_TS_EPOCH_S, NORM_TS_EPOCH_MS, NORM_TS_ISO8601 } norm_ts_format_t;

/* Parses a payload of KIND (not raw) into a new reference (*out): json as
 * is (jparse.c); number and text as {"value": ...}. Nesting deeper than
 * MAX_DEPTH is refused. MKB_ERR_INVAL with a reason in WHY. */
int norm_parse_payload(norm_payload_t kind, const void *data, size_t len, int max_depth,
                       json_t **out, char *why, size_t why_size);

/* True when the JSON text nests no deeper than MAX_DEPTH (strings skipped). */
bool norm_depth_ok(const char *data, size_t len, int max_depth);

/* Coerces V to TYPE; *out is a new reference. */
int norm_coerce(json_t *v, norm_type_t type, json_t **out, char *why, size_t why_size);

/* The number in V (a JSON number or a numeric string). */
bool norm_number(json_t *v, double *out);

/* A named linear conversion: out = in * scale + offset. */
typedef struct {
    const char *name;
    double scale, offset;
} norm_conversion_t;

/* Every named conversion, the one list of them (the configuration checks
 * fields.convert against it); ends with a NULL name. */
extern const norm_conversion_t norm_conversions[];

/* Factors of the conversion NAME; false when there is none of that name. */
bool norm_conversion(const char *name, double *scale, double *offset);

/* Parses a timestamp (number or string) into epoch milliseconds. */
int norm_parse_time(json_t *v, norm_ts_format_t fmt, int64_t *ms, char *why, size_t why_size);

/* The same, an ISO 8601 time without a zone being local time of TZ
 * (timestamp.timezone; NULL: UTC). Times with Z or an offset keep theirs. */
int norm_parse_time_tz(json_t *v, norm_ts_format_t fmt, const tz_t *tz, int64_t *ms, char *why,
                       size_t why_size);

#endif
