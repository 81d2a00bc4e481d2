#include "cli_map.h"

#include "buf.h"
#include "err.h"
#include "mapper.h"
#include "template.h"

#include <ctype.h>
#include <errno.h>
#include <string.h>
#include <inttypes.h>
#include <stdlib.h>

typedef struct {
    FILE *out;
    int n;
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

static int print_record(void *opaque, const record_t *rec)
{
    printer_t *p = opaque;
    FILE *out = p->out;
    p->n++;
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
static bool map_birth(mapper_t *m, const mqtt_msg_t *msg, const char *path, FILE *out, FILE *err)
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
    if (ok)
        fprintf(out, "birth %s from %s: %zu record(s), not shown%s\n", topic.p, path, records,
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
    fprintf(p->out, "the bridge would ask edge node %.*s/%.*s for a rebirth (NCMD)\n",
            (int)t->group_len, t->group, (int)t->node_len, t->node);
}

int cli_map_run(const config_t *cfg, const mqtt_msg_t *msg, const char *const *births,
                size_t nbirths, FILE *out, FILE *err)
{
    mapper_t *m = NULL;
    char *errors = NULL;
    if (mapper_new(cfg, &m, &errors) != MKB_OK) {
        fputs(errors ? errors : "error: out of memory\n", err);
        free(errors);
        return 2;
    }
    printer_t p = {out, 0};
    for (size_t i = 0; i < nbirths; i++) {
        if (!map_birth(m, msg, births[i], out, err)) {
            mapper_destroy(m);
            return 2;
        }
    }
    mapper_set_sparkplug(m, NULL, print_rebirth, &p);
    mapper_on_skip(m, print_skip, true);
    mapper_result_t res;
    int rc = mapper_process(m, msg, print_record, &p, &res);
    mapper_destroy(m);
    if (rc != MKB_OK) {
        fprintf(err, "error: %s\n", mkb_strerror(rc));
        return 2;
    }
    if (res.unmatched && res.records == 0)
        fprintf(out, "no route matches topic '%.*s' (counted as unmatched; set "
                     "kafka.unmatched_topic to keep such messages)\n",
                (int)msg->topic_len, msg->topic);
    if (res.outside)
        fprintf(out, "no route matches topic '%.*s' (inside the subscription cover: counted as "
                     "outside the routes, not sent anywhere)\n",
                (int)msg->topic_len, msg->topic);
    /* 1: the message makes no record of a route (no route, or every one
     * that matched skipped it) or a dead letter. */
    return res.unmatched || res.outside || res.dead_letters || res.records == 0 ? 1 : 0;
}
