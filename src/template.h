/* Templates for Kafka topics, keys, headers and added fields, compiled once:
 *   "{site}.{unit}"      captures of the route's filter
 *   "{mqtt.topic}" "{mqtt.qos}" "{mqtt.retain}" "{mqtt.dup}"
 *   "{mqtt.content_type}" "{mqtt.prop.NAME}"   MQTT metadata (5: properties)
 *   "{route}"            the route's name
 *   "{recv.ms}" "{recv.iso}"                     receive time
 *   "{/device/id}"       a payload field by JSON pointer
 *   "{{" and "}}"        literal braces
 * Rendering appends to a reused buffer and allocates nothing else. */
#ifndef MKB_TEMPLATE_H
#define MKB_TEMPLATE_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "buf.h"
#include "msg.h"

typedef struct tmpl tmpl_t;

/* What a template is rendered against. */
typedef struct {
    const mqtt_msg_t *msg;
    const size_t *cap_start; /* capture i is msg->topic[cap_start[i] .. +cap_len[i]] */
    const size_t *cap_len;
    const char *route;
    json_t *input; /* the payload (or exploded element); NULL for raw payloads */
} tmpl_ctx_t;

/* Compiles TEXT. CAPTURES (NCAP names) are the names {name} may use;
 * ALLOW_FIELDS says whether {/pointer} is allowed. On error returns NULL
 * with a message in WHY (with a did-you-mean for a misspelt name). */
tmpl_t *tmpl_new(const char *text, const char *const *captures, size_t ncap, bool allow_fields,
                 char *why, size_t why_size);
void tmpl_destroy(tmpl_t *t);

/* True when the template has no placeholders (its text is fixed). */
bool tmpl_is_constant(const tmpl_t *t);
const char *tmpl_text(const tmpl_t *t);

/* Appends the rendering to OUT. MKB_ERR_INVAL with a reason in WHY when a
 * payload field it needs is missing. */
int tmpl_render(const tmpl_t *t, const tmpl_ctx_t *ctx, buf_t *out, char *why, size_t why_size);

/* Appends a JSON value as text: strings raw, others compact JSON. */
int tmpl_append_json(buf_t *out, json_t *v);

/* Appends V as compact JSON (any value). */
int tmpl_dump_json(buf_t *out, json_t *v);

/* Appends MS (epoch milliseconds) as ISO 8601 UTC: 2026-11-28T10:00:00.123Z */
int tmpl_append_iso(buf_t *out, int64_t ms);

#endif
