// SPDX-FileCopyrightText: 2026 The mqtt-kafka-bridge authors
// SPDX-License-Identifier: Apache-2.0
/* The one template language of both directions, compiled once.
 *
 * Uplink (MQTT -> Kafka: Kafka topics, keys, headers and added fields):
 *   "{site}.{unit}"      captures of the route's filter
 *   "{mqtt.topic}" "{mqtt.qos}" "{mqtt.retain}" "{mqtt.dup}"
 *   "{mqtt.content_type}" "{mqtt.prop.NAME}"   MQTT metadata (5: properties)
 *   "{route}"            the route's name
 *   "{recv.ms}" "{recv.iso}"                     receive time
 *   "{/device/id}"       a payload field by JSON pointer (of the exploded
 *                        element when the route explodes)
 *   "{$/gateway/id}"     a field of the whole message, also under explode
 *   "{{" and "}}"        literal braces
 * Downlink (Kafka -> MQTT: command topics and user properties), tmpl_new_record:
 *   "{/site}"            a field of the record's JSON value by JSON pointer
 *   "{key}" "{header.NAME}" "{topic}" "{partition}" "{offset}"   the record
 *   "{{" and "}}"        literal braces
 * Filters, on any placeholder of either direction, run left to right over its
 * value: {name|lower}, |upper (ASCII), |slug (each byte outside a-z A-Z 0-9
 * . _ - becomes _), |default:TEXT (TEXT when the value is empty or missing;
 * a missing field, key or header with a default is no error). A '|' in a
 * placeholder always starts its filters. They are parsed at compile time.
 * Rendering appends to a reused buffer and allocates nothing else. */
#ifndef MKB_TEMPLATE_H
#define MKB_TEMPLATE_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "msg.h"

typedef struct tmpl tmpl_t;

/* A Kafka record as the downlink's templates read it; borrowed. */
typedef struct {
    const char *topic;
    int32_t partition;
    int64_t offset;
    const void *key; /* NULL: the record has no key */
    size_t key_len;
    /* The last header NAME of the record into *VAL, *LEN; false if none. */
    bool (*header)(const void *opaque, const char *name, const void **val, size_t *len);
    const void *opaque;
} tmpl_record_t;

/* What a template is rendered against. */
typedef struct {
    const mqtt_msg_t *msg;
    const size_t *cap_start; /* capture i is msg->topic[cap_start[i] .. +cap_len[i]] */
    const size_t *cap_len;
    const char *route;
    json_t *input; /* the payload (or exploded element); NULL for raw payloads */
    json_t *root;  /* the whole message for {$/pointer}; NULL: the same as input */
} tmpl_ctx_t;

/* Compiles TEXT. CAPTURES (NCAP names) are the names {name} may use;
 * ALLOW_FIELDS says whether {/pointer} is allowed. On error returns NULL
 * with a message in WHY (with a did-you-mean for a misspelt name). */
tmpl_t *tmpl_new(const char *text, const char *const *captures, size_t ncap, bool allow_fields,
                 char *why, size_t why_size);

/* Compiles TEXT in the downlink's form (placeholders of a Kafka record, see
 * above). The old {value.a.b} is refused with its new spelling in WHY. */
tmpl_t *tmpl_new_record(const char *text, char *why, size_t why_size);
void tmpl_destroy(tmpl_t *t);

/* The JSON pointer spelling of the old dotted path PATH ("a.b" -> "/a/b"),
 * for messages that name the new spelling. OUT must hold 4 bytes at least. */
int tmpl_pointer_of_dotted(const char *path, char *out, size_t size);

/* True when the template reads fields of the JSON input ({/pointer}). */
bool tmpl_uses_fields(const tmpl_t *t);

/* True when the template has no placeholders (its text is fixed). */
bool tmpl_is_constant(const tmpl_t *t);
const char *tmpl_text(const tmpl_t *t);

/* Appends the rendering to OUT. MKB_ERR_INVAL with a reason in WHY when a
 * payload field it needs is missing. */
int tmpl_render(const tmpl_t *t, const tmpl_ctx_t *ctx, buf_t *out, char *why, size_t why_size);

/* Appends the rendering of a tmpl_new_record template for REC, whose value
 * parsed as JSON is VALUE (NULL: not JSON, or not parsed), and terminates OUT
 * with a NUL (not counted). TOPIC_LEVELS: the rendering is an MQTT topic, so
 * a placeholder's value must stay within its level (no '/', '+', '#' or
 * NUL), or whoever writes the record could aim at other devices' topics.
 * MKB_ERR_INVAL with a reason in WHY when a field, the key or a header it
 * needs is missing, or a value breaks out of its level. */
int tmpl_render_record(const tmpl_t *t, const tmpl_record_t *rec, json_t *value,
                       bool topic_levels, buf_t *out, char *why, size_t why_size);

/* Appends a JSON value as text: strings raw, others compact JSON. */
int tmpl_append_json(buf_t *out, json_t *v);

/* Appends V as compact JSON (any value), reals with 15 significant digits
 * (a converted 21.999999999999996 reads 22.0). */
int tmpl_dump_json(buf_t *out, json_t *v);

/* The same, reals with as many digits (15 to 17) as they need to read back
 * as the same double: values a device sent as they are (Sparkplug B). */
int tmpl_dump_json_exact(buf_t *out, json_t *v);

/* Appends MS (epoch milliseconds) as ISO 8601 UTC: 2026-11-28T10:00:00.123Z */
int tmpl_append_iso(buf_t *out, int64_t ms);

#endif
