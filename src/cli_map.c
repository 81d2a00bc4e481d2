// SPDX-FileCopyrightText: 2026 The mqtt-kafka-bridge authors
// SPDX-License-Identifier: Apache-2.0
#include "cli_map.h"

#include "buf.h"
#include "err.h"
#include "jparse.h"
#include "mapper.h"
#include "template.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

/* JSON output: what the mapper's callbacks saw, kept as JSON text. They
 * run inside the mapper's jansson arena (jarena.h), so no value made there
 * may outlive them; the document is assembled from this text afterwards. */
typedef enum { PART_BIRTH, PART_RECORD, PART_SKIP, PART_REBIRTH, PART_N } part_kind_t;

typedef struct {
    part_kind_t kind;
    char *text; /* one JSON object, malloc'd */
} part_t;

typedef struct {
    FILE *out;
    int n;
    bool json;
    part_t *parts;
    size_t nparts;
    bool nomem; /* a part was lost: exit 2 rather than print half a document */
} printer_t;

/* Prints bytes, escaping what is not printable, so binary payloads are safe
 * on a terminal. */
static void print_bytes(FILE *out, const void *p, size_t n)
{
    const unsigned char *b = p;
    for (size_t i = 0; i < n; i++) {
        if (b[i] == '\\')
            fputs("\\\\", out);
        else if (isprint(b[i]) || b[i] >= 0x80)
            fputc(b[i], out);
        else
            fprintf(out, "\\x%02x", b[i]);
    }
}

static void add_part(printer_t *p, part_kind_t kind, json_t *obj);
static json_t *record_json(const record_t *rec);

static int print_record(void *opaque, const record_t *rec)
{
    printer_t *p = opaque;
    FILE *out = p->out;
    p->n++;
    if (p->json) {
        add_part(p, PART_RECORD, record_json(rec));
        return MKB_OK;
    }
    if (rec->dead_letter)
        fprintf(out, "dead letter %d (route %s): %s\n", p->n, rec->route ? rec->route : "-",
                rec->reason);
    else if (rec->route)
        fprintf(out, "record %d (route %s)\n", p->n, rec->route);
    else
        fprintf(out, "record %d (no route matched: kafka.unmatched_topic)\n", p->n);
    fprintf(out, "  topic:     %s\n", rec->topic);
    fputs("  key:       ", out);
    if (rec->key)
        print_bytes(out, rec->key, rec->key_len);
    else
        fputs("(none)", out);
    buf_t iso = {0};
    tmpl_append_iso(&iso, rec->timestamp_ms);
    fprintf(out, "\n  timestamp: %" PRId64 " (%.*s)\n", rec->timestamp_ms, (int)iso.len,
            iso.p ? iso.p : "");
    buf_free(&iso);
    for (size_t i = 0; i < rec->nheaders; i++) {
        fprintf(out, "  header:    %s=", rec->headers[i].name);
        print_bytes(out, rec->headers[i].value, rec->headers[i].value_len);
        fputc('\n', out);
    }
    fputs("  value:     ", out);
    if (rec->value)
        print_bytes(out, rec->value, rec->value_len);
    else
        fputs("null (tombstone)", out);
    fputc('\n', out);
    return MKB_OK;
}

static void print_skip(void *opaque, const char *route, const char *why)
{
    printer_t *p = opaque;
    if (p->json)
        add_part(p, PART_SKIP, json_pack("{s:s, s:s?}", "route", route, "reason", why));
    else
        fprintf(p->out, "route '%s' skipped: %s\n", route, why);
}

static int count_record(void *opaque, const record_t *rec)
{
    (void)rec;
    (*(size_t *)opaque)++;
    return MKB_OK;
}

/* The birth topic of MSG's edge node or device: spBv1.0/G/NBIRTH/N or
 * spBv1.0/G/DBIRTH/N/D, into OUT. */
static bool birth_topic(const mqtt_msg_t *msg, buf_t *out, FILE *err)
{
    spb_topic_t t;
    char why[200];
    if (!spb_topic_parse(msg->topic, msg->topic_len, &t, why, sizeof(why)) ||
        t.type == SPB_STATE) {
        fprintf(err, "error: --birth: '%.*s' is not a Sparkplug B edge node or device topic%s%s\n",
                (int)msg->topic_len, msg->topic, t.type == SPB_STATE ? "" : ": ",
                t.type == SPB_STATE ? "" : why);
        return false;
    }
    buf_printf(out, "spBv1.0/%.*s/%s/%.*s", (int)t.group_len, t.group,
               t.device_len ? "DBIRTH" : "NBIRTH", (int)t.node_len, t.node);
    if (t.device_len)
        buf_printf(out, "/%.*s", (int)t.device_len, t.device);
    return buf_terminate(out) == MKB_OK;
}

/* Maps the birth in file PATH (its records counted, not printed). */
static bool map_birth(mapper_t *m, const mqtt_msg_t *msg, const char *path, printer_t *p,
                      FILE *err)
{
    buf_t topic = {0}, payload = {0};
    bool ok = false;
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(err, "error: --birth %s: %s\n", path, strerror(errno));
        return false;
    }
    char chunk[65536];
    size_t n;
    while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
        if (buf_append(&payload, chunk, n) != MKB_OK)
            goto done;
    if (ferror(f) || !birth_topic(msg, &topic, err))
        goto done;
    mqtt_msg_t b = *msg;
    b.topic = topic.p;
    b.topic_len = topic.len;
    b.payload = payload.p ? payload.p : "";
    b.payload_len = payload.len;
    size_t records = 0;
    mapper_result_t res;
    ok = mapper_process(m, &b, count_record, &records, &res) == MKB_OK;
    if (ok && p->json)
        add_part(p, PART_BIRTH,
                 json_pack("{s:s, s:s, s:I, s:b}", "file", path, "topic", topic.p, "records",
                           (json_int_t)records, "dead_letter", res.dead_letters > 0));
    else if (ok)
        fprintf(p->out, "birth %s from %s: %zu record(s), not shown%s\n", topic.p, path, records,
                res.dead_letters ? " (a dead letter: the birth could not be read)" : "");
done:
    (void)fclose(f); /* read only */
    buf_free(&topic);
    buf_free(&payload);
    return ok;
}

static void print_rebirth(void *opaque, const spb_topic_t *t)
{
    printer_t *p = opaque;
    if (p->json)
        add_part(p, PART_REBIRTH, json_pack("{s:s%, s:s%}", "group", t->group, t->group_len,
                                            "node", t->node, t->node_len));
    else
        fprintf(p->out, "the bridge would ask edge node %.*s/%.*s for a rebirth (NCMD)\n",
                (int)t->group_len, t->group, (int)t->node_len, t->node);
}

/* ---- JSON output ------------------------------------------------------- */

/* Keeps OBJ (taken; NULL: out of memory) as text, for after the arena. */
static void add_part(printer_t *p, part_kind_t kind, json_t *obj)
{
    size_t n = obj ? json_dumpb(obj, NULL, 0, JSON_COMPACT) : 0;
    char *text = n ? malloc(n + 1) : NULL;
    part_t *parts = text ? realloc(p->parts, (p->nparts + 1) * sizeof(*parts)) : NULL;
    if (!parts) {
        free(text);
        p->nomem = true;
        goto decref;
    }
    p->parts = parts;
    json_dumpb(obj, text, n, JSON_COMPACT);
    text[n] = '\0';
    parts[p->nparts++] = (part_t){kind, text};
decref:
    json_decref(obj);
}

/* RFC 4648 base64, padded: bytes that are not UTF-8 text. */
static json_t *base64_json(const unsigned char *b, size_t n)
{
    /* abc[64]: the padding */
    static const char abc[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=";
    buf_t out = {0};
    for (size_t i = 0; i < n; i += 3) {
        uint32_t v = (uint32_t)b[i] << 16 | (i + 1 < n ? (uint32_t)b[i + 1] << 8 : 0) |
                     (i + 2 < n ? b[i + 2] : 0);
        char q[4] = {abc[v >> 18 & 63], abc[v >> 12 & 63], abc[i + 1 < n ? v >> 6 & 63 : 64],
                     abc[i + 2 < n ? v & 63 : 64]};
        buf_append(&out, q, 4);
    }
    json_t *j = json_stringn(out.p ? out.p : "", out.len);
    buf_free(&out);
    return j;
}

/* Bytes as a JSON string: as they are when UTF-8 (*ENC "text"), else
 * base64 (*ENC "base64"); NULL bytes: null (*ENC NULL). */
static json_t *bytes_json(const void *p, size_t n, const char **enc)
{
    if (!p) {
        *enc = NULL;
        return json_null();
    }
    if (jparse_utf8_check(p, n) == n) {
        *enc = "text";
        return json_stringn(p, n);
    }
    *enc = "base64";
    return base64_json(p, n);
}

/* A record value: the JSON it holds when it is JSON ("json"), else as
 * bytes_json ("text", "base64"); a tombstone is null ("null"). */
static json_t *value_json(const record_t *rec, const char **type)
{
    json_t *v = NULL;
    if (rec->value && rec->value_len)
        v = json_loadb(rec->value, rec->value_len, JSON_DECODE_ANY | JSON_ALLOW_NUL, NULL);
    if (v) {
        *type = "json";
        return v;
    }
    v = bytes_json(rec->value, rec->value_len, type);
    if (!*type)
        *type = "null";
    return v;
}

static json_t *record_json(const record_t *rec)
{
    const char *key_enc, *value_type, *enc;
    json_t *headers = json_array();
    for (size_t i = 0; headers && i < rec->nheaders; i++) {
        const record_header_t *h = &rec->headers[i];
        json_t *v = bytes_json(h->value, h->value_len, &enc);
        json_array_append_new(headers, json_pack("{s:s, s:o, s:s?}", "name", h->name, "value", v,
                                                 "encoding", enc));
    }
    buf_t iso = {0};
    tmpl_append_iso(&iso, rec->timestamp_ms);
    json_t *key = bytes_json(rec->key, rec->key_len, &key_enc);
    json_t *value = value_json(rec, &value_type);
    json_t *j = json_pack("{s:s?, s:s, s:s, s:o, s:s?, s:o, s:s, s:o, s:I, s:s%, s:b, s:s?}",
                          "route", rec->route, "profile", rec->profile ? rec->profile : "hot",
                          "topic", rec->topic, "key", key, "key_encoding", key_enc, "value",
                          value, "value_type", value_type, "headers", headers, "timestamp_ms",
                          (json_int_t)rec->timestamp_ms, "timestamp", iso.p ? iso.p : "",
                          iso.len, "dead_letter", rec->dead_letter, "reason",
                          rec->dead_letter ? rec->reason : NULL);
    buf_free(&iso);
    return j;
}

/* The document: the parts under their keys, then the summary of RES. */
static json_t *document(const printer_t *p, const mqtt_msg_t *msg, const mapper_result_t *res,
                        int status)
{
    static const char *const keys[PART_N] = {"births", "records", "skipped", "rebirths"};
    json_t *lists[PART_N] = {json_array(), json_array(), json_array(), json_array()};
    for (size_t i = 0; i < p->nparts; i++)
        json_array_append_new(lists[p->parts[i].kind], json_loads(p->parts[i].text, 0, NULL));
    json_t *doc = json_pack(
        "{s:i, s:s%, s:o, s:o, s:o, s:b, s:b, s:{s:o, s:I, s:I}, s:i}", "version", 1,
        "mqtt_topic", msg->topic, msg->topic_len, keys[PART_BIRTH], lists[PART_BIRTH],
        keys[PART_RECORD], lists[PART_RECORD], keys[PART_SKIP], lists[PART_SKIP], "unmatched",
        res->unmatched, "outside", res->outside, "sparkplug",
        keys[PART_REBIRTH], lists[PART_REBIRTH], "seq_gaps", (json_int_t)res->spb_seq_gaps,
        "unresolved_metrics", (json_int_t)res->spb_unresolved, "exit_status", status);
    return doc;
}

/* Prints the JSON document; 2 when it cannot be made (nothing printed). */
static int print_document(const printer_t *p, const mqtt_msg_t *msg, const mapper_result_t *res,
                          int status, FILE *err)
{
    json_t *doc = p->nomem ? NULL : document(p, msg, res, status);
    if (!doc || json_dumpf(doc, p->out, JSON_INDENT(2)) != 0 || fputc('\n', p->out) == EOF) {
        fprintf(err, "error: cannot write the JSON document\n");
        status = 2;
    }
    json_decref(doc);
    return status;
}

static void printer_free(printer_t *p)
{
    for (size_t i = 0; i < p->nparts; i++)
        free(p->parts[i].text);
    free(p->parts);
}

/* Text mode's closing lines for a message no route took. */
static void print_unrouted(FILE *out, const mqtt_msg_t *msg, const mapper_result_t *res)
{
    if (res->unmatched && res->records == 0)
        fprintf(out, "no route matches topic '%.*s' (counted as unmatched; set "
                     "kafka.unmatched_topic to keep such messages)\n",
                (int)msg->topic_len, msg->topic);
    if (res->outside)
        fprintf(out, "no route matches topic '%.*s' (inside the subscription cover: counted as "
                     "outside the routes, not sent anywhere)\n",
                (int)msg->topic_len, msg->topic);
}

int cli_map_run(const config_t *cfg, const mqtt_msg_t *msg, const char *const *births,
                size_t nbirths, cli_map_format_t format, FILE *out, FILE *err)
{
    mapper_t *m = NULL;
    char *errors = NULL;
    int status = 2;
    printer_t p = {.out = out, .json = format == CLI_MAP_JSON};
    if (mapper_new(cfg, &m, &errors) != MKB_OK) {
        fputs(errors ? errors : "error: out of memory\n", err);
        free(errors);
        goto done;
    }
    for (size_t i = 0; i < nbirths; i++)
        if (!map_birth(m, msg, births[i], &p, err))
            goto done;
    mapper_set_sparkplug(m, NULL, print_rebirth, &p);
    mapper_on_skip(m, print_skip, true);
    mapper_result_t res;
    int rc = mapper_process(m, msg, print_record, &p, &res);
    if (rc != MKB_OK) {
        fprintf(err, "error: %s\n", mkb_strerror(rc));
        goto done;
    }
    /* 1: the message makes no record of a route (no route, or every one
     * that matched skipped it) or a dead letter. */
    status = res.unmatched || res.outside || res.dead_letters || res.records == 0 ? 1 : 0;
    if (p.json)
        status = print_document(&p, msg, &res, status, err);
    else
        print_unrouted(out, msg, &res);
done:
    mapper_destroy(m);
    printer_free(&p);
    return status;
}
