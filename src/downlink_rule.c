// SPDX-FileCopyrightText: 2026 The mqtt-kafka-bridge authors
// SPDX-License-Identifier: Apache-2.0
#include "downlink_rule.h"

#include "diag.h"
#include "err.h"
#include "jptr.h"
#include "kafka_client.h"
#include "spb_encode.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* A payload field: where it is in the record's value, and its name in the
 * payload (the pointer's last segment). */
typedef struct {
    jptr_t *ptr;
    char *name;
} field_t;

struct downlink_rule {
    const config_command_t *cfg;
    tmpl_t *topic;
    tmpl_t **props; /* one per user property */
    field_t *fields;
    bool needs_value;      /* some template or field reads the value as JSON */
    spb_resolve_t resolve; /* payload: sparkplug_b: the birth state's datatypes */
    spb_state_t *births;
};

/* Appends "file:line:col: error: command 'NAME': WHAT WHY\n" for FIELD
 * (written by the one diagnostics writer, config_diag). */
static void report(char *errstr, size_t errstr_size, const config_t *cfg, const void *field,
                   const char *name, const char *what, const char *why)
{
    diag_t d = {0};
    config_diag(&d, cfg, field, "command '%s': %s %s", name, what, why);
    char *line = diag_take(&d);
    size_t used = strnlen(errstr, errstr_size);
    if (line && used + 1 < errstr_size)
        snprintf(errstr + used, errstr_size - used, "%s", line);
    free(line);
}

/* The last segment of pointer TEXT, unescaped (~1 is '/', ~0 is '~'). */
static char *last_segment(const char *text)
{
    const char *seg = strrchr(text, '/');
    seg = seg ? seg + 1 : text;
    char *name = malloc(strlen(seg) + 1), *o = name;
    for (const char *c = seg; name && *c; c++)
        if (*c == '~' && (c[1] == '0' || c[1] == '1'))
            *o++ = *++c == '0' ? '~' : '/';
        else
            *o++ = *c;
    if (name)
        *o = '\0';
    return name;
}

/* Compiles field TEXT: a JSON pointer, or a bare top-level name. A dotted
 * bare name is the old spelling of a nested field. */
static int field_compile(field_t *f, const char *text, char *why, size_t why_size)
{
    char ptr[512];
    if (text[0] != '/' && strchr(text, '.')) {
        tmpl_pointer_of_dotted(text, ptr, sizeof(ptr));
        snprintf(why, why_size, "'%s' is the old spelling; write '%s'", text, ptr);
        return MKB_ERR_CONFIG;
    }
    if (text[0] != '/') { /* one segment: escape what a pointer would read */
        size_t n = 0;
        ptr[n++] = '/';
        for (const char *c = text; *c && n + 3 < sizeof(ptr); c++) {
            if (*c == '~' || *c == '/') {
                ptr[n++] = '~';
                ptr[n++] = *c == '~' ? '0' : '1';
            } else {
                ptr[n++] = *c;
            }
        }
        ptr[n] = '\0';
        text = ptr;
    }
    char w[256];
    if (!(f->ptr = jptr_new(text, w, sizeof(w)))) {
        if (snprintf(why, why_size, "'%s': %s", text, w) >= (int)why_size)
            why[why_size - 1] = '\0'; /* cut: the pointer's text was long */
        return MKB_ERR_CONFIG;
    }
    return (f->name = last_segment(text)) ? MKB_OK : MKB_ERR_NOMEM;
}

void downlink_rule_destroy(downlink_rule_t *r)
{
    if (!r)
        return;
    tmpl_destroy(r->topic);
    for (size_t i = 0; r->props && i < r->cfg->mqtt_props_n; i++)
        tmpl_destroy(r->props[i]);
    for (size_t i = 0; r->fields && i < r->cfg->mqtt_fields_n; i++) {
        jptr_destroy(r->fields[i].ptr);
        free(r->fields[i].name);
    }
    free(r->props);
    free(r->fields);
    free(r);
}

/* The rule's Kafka topic names (MKB_ERR_CONFIG, reported in ERRSTR). */
static int check_kafka_topics(const config_t *cfg, const config_command_t *rule, char *errstr,
                              size_t errstr_size)
{
    char why[600];
    int rc = MKB_OK;
    const char *const *ktopics[] = {(const char *const *)&rule->kafka_topic,
                                    (const char *const *)&rule->kafka_result_topic};
    for (size_t i = 0; i < 2; i++) {
        if (*ktopics[i] && !kafka_client_topic_check(*ktopics[i], strlen(*ktopics[i]), why,
                                                     sizeof(why))) {
            char what[300];
            snprintf(what, sizeof(what), "kafka.%s '%s' is not a valid Kafka topic name:",
                     i ? "result_topic" : "topic", *ktopics[i]);
            report(errstr, errstr_size, cfg, ktopics[i], rule->name, what, why);
            rc = MKB_ERR_CONFIG;
        }
    }
    return rc;
}

/* payload: sparkplug_b with a topic without placeholders: it must be an
 * NCMD or DCMD topic, told by check rather than by every record. */
static bool sparkplug_topic_ok(const config_command_t *rule, char *why, size_t why_size)
{
    const char *t = rule->mqtt_topic;
    spb_topic_t st;
    char w[256];
    if (rule->payload != CONFIG_CMD_PAYLOAD_SPARKPLUG_B || strpbrk(t, "{}"))
        return true;
    if (spb_topic_parse(t, strlen(t), &st, w, sizeof(w)) &&
        (st.type == SPB_NCMD || st.type == SPB_DCMD))
        return true;
    snprintf(why, why_size, "'%.300s' is not a Sparkplug NCMD or DCMD topic (payload: sparkplug_b)",
             t);
    return false;
}

int downlink_rule_new(const config_t *cfg, const config_command_t *rule, downlink_rule_t **out,
                      char *errstr, size_t errstr_size)
{
    char why[600];
    int rc = MKB_OK;
    *out = NULL;
    downlink_rule_t *r = calloc(1, sizeof(*r));
    // NOLINTNEXTLINE(bugprone-sizeof-expression): an array of pointers
    if (!r || (rule->mqtt_props_n && !(r->props = calloc(rule->mqtt_props_n, sizeof(*r->props)))) ||
        (rule->mqtt_fields_n && !(r->fields = calloc(rule->mqtt_fields_n, sizeof(*r->fields))))) {
        free(r);
        snprintf(errstr, errstr_size, "out of memory");
        return MKB_ERR_NOMEM;
    }
    r->cfg = rule;
    rc = check_kafka_topics(cfg, rule, errstr, errstr_size);
    if (!(r->topic = tmpl_new_record(rule->mqtt_topic, why, sizeof(why)))) {
        report(errstr, errstr_size, cfg, &rule->mqtt_topic, rule->name, "mqtt.topic", why);
        rc = MKB_ERR_CONFIG;
    }
    if (r->topic && !sparkplug_topic_ok(rule, why, sizeof(why))) {
        report(errstr, errstr_size, cfg, &rule->mqtt_topic, rule->name, "mqtt.topic", why);
        rc = MKB_ERR_CONFIG;
    }
    r->needs_value = rule->mqtt_fields_n || (r->topic && tmpl_uses_fields(r->topic));
    for (size_t j = 0; j < rule->mqtt_props_n; j++) {
        if (!(r->props[j] = tmpl_new_record(rule->mqtt_props[j].value, why, sizeof(why)))) {
            char what[300];
            snprintf(what, sizeof(what), "mqtt.user_properties.%s", rule->mqtt_props[j].key);
            report(errstr, errstr_size, cfg, &rule->mqtt_props[j].value, rule->name, what, why);
            rc = MKB_ERR_CONFIG;
        } else {
            r->needs_value |= tmpl_uses_fields(r->props[j]);
        }
    }
    for (size_t j = 0; j < rule->mqtt_fields_n; j++) {
        int frc = field_compile(&r->fields[j], rule->mqtt_fields[j], why, sizeof(why));
        if (frc == MKB_ERR_NOMEM)
            snprintf(why, sizeof(why), "out of memory");
        if (frc != MKB_OK) {
            config_pos_t p = config_pos(cfg, &rule->mqtt_fields[j]);
            report(errstr, errstr_size, cfg, p.line ? (const void *)&rule->mqtt_fields[j]
                                                    : (const void *)&rule->mqtt_fields,
                   rule->name, "mqtt.fields", why);
            rc = MKB_ERR_CONFIG;
        }
    }
    if (rc != MKB_OK) {
        downlink_rule_destroy(r);
        return rc;
    }
    *out = r;
    return MKB_OK;
}

const config_command_t *downlink_rule_cfg(const downlink_rule_t *r) { return r->cfg; }

void downlink_rule_set_births(downlink_rule_t *r, spb_resolve_t resolve, spb_state_t *state)
{
    r->resolve = resolve;
    r->births = state;
}

/* MQTT topics are UTF-8 (MQTT 3.1.1 1.5.3 / 5.0 1.5.4), at most 65,535
 * bytes, without wildcards: a broker disconnects a client that sends
 * anything else. jansson's string check is the UTF-8 validator at hand (not
 * the hot path). */
static int topic_check(const buf_t *t, char *why, size_t why_size)
{
    if (!t->len || strchr(t->p, '+') || strchr(t->p, '#')) {
        snprintf(why, why_size, "MQTT topic '%s' is empty or has a wildcard", t->p);
        return MKB_ERR_INVAL;
    }
    json_t *s = t->len <= 65535 ? json_stringn(t->p, t->len) : NULL;
    if (!s)
        snprintf(why, why_size, "MQTT topic is %s",
                 t->len > 65535 ? "longer than 65,535 bytes" : "not valid UTF-8");
    json_decref(s);
    return s ? MKB_OK : MKB_ERR_INVAL;
}

/* The payload as a JSON object of the rule's fields of VALUE. */
static int build_payload(const downlink_rule_t *r, json_t *value, buf_t *out, char *why,
                         size_t why_size)
{
    json_t *o = json_object();
    for (size_t i = 0; o && i < r->cfg->mqtt_fields_n; i++) {
        json_t *v = jptr_get(r->fields[i].ptr, value);
        if (!v) {
            snprintf(why, why_size, "missing field: the record's value has no field at %s",
                     jptr_text(r->fields[i].ptr));
            json_decref(o);
            return MKB_ERR_INVAL;
        }
        json_object_set(o, r->fields[i].name, v);
    }
    int rc = o ? tmpl_dump_json(out, o) : MKB_ERR_NOMEM;
    json_decref(o);
    if (rc != MKB_OK)
        snprintf(why, why_size, "out of memory");
    return rc;
}

/* The user properties' values into MSG. */
static int render_props(const downlink_rule_t *r, const tmpl_record_t *rec, json_t *value,
                        downlink_msg_t *msg, char *why, size_t why_size)
{
    size_t n = r->cfg->mqtt_props_n;
    if (!n)
        return MKB_OK;
    if (!msg->props) { /* the first record of this message buffer */
        msg->values = calloc(n, sizeof(*msg->values));
        msg->props = msg->values ? calloc(n, sizeof(*msg->props)) : NULL;
        if (!msg->props) {
            free(msg->values);
            msg->values = NULL;
            snprintf(why, why_size, "out of memory");
            return MKB_ERR_NOMEM;
        }
        msg->nprops = n;
    }
    for (size_t i = 0; i < n; i++) {
        buf_reset(&msg->values[i]);
        int rc = tmpl_render_record(r->props[i], rec, value, false, &msg->values[i], why,
                                    why_size);
        if (rc != MKB_OK)
            return rc;
        msg->props[i] = (mqtt_user_prop_t){r->cfg->mqtt_props[i].key, msg->values[i].p};
    }
    return MKB_OK;
}

/* payload: sparkplug_b: MSG's payload (JSON; V when it is the value already
 * parsed) encoded as the NCMD/DCMD its topic names, into msg->encoded. */
static int encode_sparkplug(const downlink_rule_t *r, json_t *v, downlink_msg_t *msg, char *why,
                            size_t why_size)
{
    spb_topic_t t;
    char w[256];
    json_error_t jerr;
    if (!spb_topic_parse(msg->topic.p, msg->topic.len, &t, w, sizeof(w)) ||
        (t.type != SPB_NCMD && t.type != SPB_DCMD)) {
        snprintf(why, why_size, "topic '%.300s' is not a Sparkplug NCMD or DCMD topic",
                 msg->topic.p);
        return MKB_ERR_INVAL;
    }
    json_t *cmd = v && !r->cfg->mqtt_fields_n
                      ? json_incref(v)
                      : json_loadb(msg->payload, msg->len, JSON_REJECT_DUPLICATES, &jerr);
    if (!cmd) {
        snprintf(why, why_size, "value is not JSON: %s", jerr.text);
        return MKB_ERR_INVAL;
    }
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now); /* the spec: the time the command is published */
    int64_t ms = (int64_t)now.tv_sec * 1000 + now.tv_nsec / 1000000;
    spb_scope_t scope = {r->births, &t};
    buf_reset(&msg->encoded);
    int rc = spb_encode_command(cmd, ms, r->births ? r->resolve : NULL, &scope, &msg->encoded,
                                why, why_size);
    json_decref(cmd);
    if (rc == MKB_OK) {
        msg->payload = msg->encoded.p;
        msg->len = msg->encoded.len;
    }
    return rc;
}

int downlink_rule_render(const downlink_rule_t *r, const tmpl_record_t *rec, const void *value,
                         size_t len, downlink_msg_t *msg, char *why, size_t why_size)
{
    json_t *v = NULL;
    int rc = MKB_OK;
    if (r->needs_value) {
        json_error_t jerr;
        if (!(v = json_loadb(value, len, JSON_REJECT_DUPLICATES, &jerr))) {
            snprintf(why, why_size, "value is not JSON: %s", jerr.text);
            return MKB_ERR_INVAL;
        }
    }
    buf_reset(&msg->topic);
    buf_reset(&msg->built);
    if ((rc = tmpl_render_record(r->topic, rec, v, true, &msg->topic, why, why_size)) ||
        (rc = topic_check(&msg->topic, why, why_size)))
        goto cleanup;
    msg->payload = value;
    msg->len = len;
    if (r->cfg->mqtt_fields_n) {
        if ((rc = build_payload(r, v, &msg->built, why, why_size)))
            goto cleanup;
        msg->payload = msg->built.p;
        msg->len = msg->built.len;
    }
    if (r->cfg->payload == CONFIG_CMD_PAYLOAD_SPARKPLUG_B &&
        (rc = encode_sparkplug(r, v, msg, why, why_size)))
        goto cleanup;
    rc = render_props(r, rec, v, msg, why, why_size);
cleanup:
    json_decref(v);
    return rc;
}

void downlink_msg_free(downlink_msg_t *msg)
{
    buf_free(&msg->topic);
    buf_free(&msg->built);
    buf_free(&msg->encoded);
    for (size_t i = 0; msg->values && i < msg->nprops; i++)
        buf_free(&msg->values[i]);
    free(msg->values);
    free(msg->props);
    memset(msg, 0, sizeof(*msg));
}
