#include "cli_map.h"

#include "buf.h"
#include "err.h"
#include "mapper.h"
#include "template.h"

#include <ctype.h>
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

int cli_map_run(const config_t *cfg, const mqtt_msg_t *msg, FILE *out, FILE *err)
{
    mapper_t *m = NULL;
    char *errors = NULL;
    if (mapper_new(cfg, &m, &errors) != MKB_OK) {
        fputs(errors ? errors : "error: out of memory\n", err);
        free(errors);
        return 2;
    }
    printer_t p = {out, 0};
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
