// SPDX-FileCopyrightText: 2026 The mqtt-kafka-bridge authors
// SPDX-License-Identifier: Apache-2.0
#include "spb_msg.h"

#include "err.h"
#include "log.h"

#include <stdio.h>
#include <string.h>

void spb_msg_begin(spb_msg_t *s, spb_state_t *state, const char *topic, size_t topic_len,
                   size_t max_metrics)
{
    memset(s, 0, sizeof(*s));
    s->state = state;
    s->topic_text = topic;
    s->topic_len = topic_len;
    s->max_metrics = max_metrics;
}

void spb_msg_end(spb_msg_t *s)
{
    for (size_t i = 0; i < 2; i++)
        for (size_t j = 0; j < 2; j++)
            json_decref(s->doc[i][j]);
    json_decref(s->status);
    memset(s->doc, 0, sizeof(s->doc));
    s->status = NULL;
}

bool spb_msg_wants_rebirth(const spb_msg_t *s)
{
    return s->unresolved > 0 || s->seq == SPB_SEQ_GAP || s->seq == SPB_SEQ_GAP_AGAIN;
}

static bool is_birth(spb_type_t t)
{
    return t == SPB_NBIRTH || t == SPB_DBIRTH;
}

/* The bdSeq metric of DOC (NBIRTH, NDEATH), if it has one. */
static bool bd_seq_of(json_t *doc, uint64_t *out)
{
    size_t i;
    json_t *m;
    json_array_foreach(json_object_get(doc, "metrics"), i, m)
    {
        const char *name = json_string_value(json_object_get(m, "name"));
        json_t *v = json_object_get(m, "value");
        if (name && strcmp(name, "bdSeq") == 0 && json_is_integer(v)) {
            *out = (uint64_t)json_integer_value(v);
            return true;
        }
    }
    return false;
}

static int set_str(json_t *o, const char *k, const char *v, size_t n)
{
    return json_object_set_new(o, k, json_stringn(v, n)) ? MKB_ERR_NOMEM : MKB_OK;
}

/* The status object of a birth or death decoded into DOC; CURRENT: an
 * NDEATH of the node's present session (spb_state_death). */
static int make_status(spb_msg_t *s, json_t *doc, bool current)
{
    const spb_topic_t *t = &s->topic;
    json_t *o = s->status = json_object();
    if (!o || set_str(o, "group", t->group, t->group_len) ||
        set_str(o, "edge_node", t->node, t->node_len) ||
        (t->device_len && set_str(o, "device", t->device, t->device_len)))
        return MKB_ERR_NOMEM;
    int rc = json_object_set_new(o, "type", json_string(spb_type_name(t->type)));
    rc |= json_object_set_new(o, "status", json_string(is_birth(t->type) ? "online" : "offline"));
    static const char *const copied[] = {"timestamp", "seq"};
    for (size_t i = 0; i < 2; i++) {
        json_t *v = json_object_get(doc, copied[i]);
        if (v)
            rc |= json_object_set(o, copied[i], v);
    }
    uint64_t bd;
    if (t->type != SPB_DBIRTH && t->type != SPB_DDEATH && bd_seq_of(doc, &bd))
        rc |= json_object_set_new(o, "bdSeq", json_integer((json_int_t)bd));
    if (t->type == SPB_NDEATH)
        rc |= json_object_set_new(o, "current", json_boolean(current));
    return rc ? MKB_ERR_NOMEM : MKB_OK;
}

/* The seq of DOC against the one the node's state expects (not NBIRTH:
 * the birth sets it; not NDEATH: it has none). */
static void check_seq(spb_msg_t *s, json_t *doc)
{
    json_t *v = json_object_get(doc, "seq");
    const spb_topic_t *t = &s->topic;
    if (!json_is_integer(v) || t->type == SPB_NBIRTH || t->type == SPB_NDEATH)
        return;
    uint64_t expected = 0, got = (uint64_t)json_integer_value(v);
    s->seq = spb_state_seq(s->state, t, got, &expected);
    if (s->seq == SPB_SEQ_GAP) {
        s->gap_logged = true;
        log_warn("sparkplug",
                 "edge node %.*s/%.*s: %s with seq %llu where %llu was expected (messages lost); "
                 "counted in mkb_sparkplug_seq_gaps_total, logged once until its next birth",
                 (int)t->group_len, t->group, (int)t->node_len, t->node, spb_type_name(t->type),
                 (unsigned long long)got, (unsigned long long)expected);
    }
}

/* Births the state could not keep (its file not written, its bounds). */
static log_limit_t birth_warns = LOG_LIMIT_INIT;

/* Tells the state what the message DOC (decoded) says, once per message. */
static int apply(spb_msg_t *s, json_t *doc)
{
    const spb_topic_t *t = &s->topic;
    s->applied = true;
    bool current = true;
    check_seq(s, doc);
    if (is_birth(t->type)) {
        char why[300] = "";
        int rc = spb_state_birth(s->state, t, doc, why, sizeof(why));
        if (rc == MKB_ERR_NOMEM)
            return rc;
        unsigned long more = 0; /* a flood of births past the state's bounds: once a minute */
        if (rc != MKB_OK && log_limit(&birth_warns, "birth", 60000, &more))
            log_warn("sparkplug", "%s (%lu more like it not logged)", why, more);
    } else if (t->type == SPB_NDEATH) {
        uint64_t bd = 0;
        bool has = bd_seq_of(doc, &bd);
        current = spb_state_death(s->state, t, has, bd);
    }
    if (is_birth(t->type) || t->type == SPB_NDEATH || t->type == SPB_DDEATH)
        return make_status(s, doc, current);
    return MKB_OK;
}

static int parse_topic(spb_msg_t *s)
{
    if (!s->parsed) {
        s->parsed = true;
        char why[200];
        s->topic_ok = spb_topic_parse(s->topic_text, s->topic_len, &s->topic, why, sizeof(why));
        if (!s->topic_ok)
            snprintf(s->why, sizeof(s->why), "not a Sparkplug B topic: %s", why);
        s->command = s->topic_ok && (s->topic.type == SPB_NCMD || s->topic.type == SPB_DCMD);
    }
    return s->topic_ok ? MKB_OK : MKB_ERR_INVAL;
}

/* STATE: a host application's JSON, decoded once into the status object. */
static int state_status(spb_msg_t *s, const void *payload, size_t len)
{
    if (s->status || s->failed)
        return s->failed ? MKB_ERR_INVAL : MKB_OK;
    int rc = spb_decode_state(&s->topic, payload, len, &s->status, s->why, sizeof(s->why));
    if (rc == MKB_OK) {
        json_t *online = json_object_get(s->status, "online");
        if (json_object_set_new(s->status, "status",
                                json_string(json_is_true(online) ? "online" : "offline")))
            return MKB_ERR_NOMEM;
    }
    s->failed = rc == MKB_ERR_INVAL;
    return rc;
}

int spb_msg_doc(spb_msg_t *s, const void *payload, size_t len, bool flat, bool properties,
                json_t **doc)
{
    *doc = NULL;
    if (parse_topic(s) != MKB_OK)
        return MKB_ERR_INVAL;
    if (s->command)
        return MKB_OK;
    if (s->topic.type == SPB_STATE)
        return state_status(s, payload, len);
    if (s->failed)
        return MKB_ERR_INVAL;
    json_t **slot = &s->doc[flat][properties];
    if (!*slot) {
        spb_scope_t scope = {s->state, &s->topic};
        spb_decode_opts_t o = {
            .resolve = is_birth(s->topic.type) ? NULL : spb_state_resolve,
            .resolve_ctx = &scope,
            .properties = properties,
            .flat = flat,
            .max_metrics = s->max_metrics,
        };
        size_t unresolved = 0;
        int rc = spb_decode(&s->topic, payload, len, &o, slot, &unresolved, s->why, sizeof(s->why));
        if (rc != MKB_OK) {
            s->failed = rc == MKB_ERR_INVAL;
            return rc;
        }
        s->unresolved = unresolved;
        if (!s->applied && apply(s, *slot) != MKB_OK)
            return MKB_ERR_NOMEM;
    }
    bool death = s->topic.type == SPB_NDEATH || s->topic.type == SPB_DDEATH;
    *doc = death ? NULL : *slot;
    return MKB_OK;
}

/* Appends O's string K to KEY, after a / unless it is the first part
 * (KEY started at START). */
static int key_part(buf_t *key, size_t start, const json_t *o, const char *k)
{
    const char *v = json_string_value(json_object_get(o, k));
    if (!v)
        return MKB_OK;
    if (key->len > start && buf_append(key, "/", 1) != MKB_OK)
        return MKB_ERR_NOMEM;
    return buf_append(key, v, json_string_length(json_object_get(o, k)));
}

int spb_msg_key(const json_t *o, buf_t *key)
{
    size_t start = key->len;
    if (json_object_get(o, "host_id"))
        return key_part(key, start, o, "host_id");
    int rc = key_part(key, start, o, "group");
    rc |= key_part(key, start, o, "edge_node");
    rc |= key_part(key, start, o, "device");
    if (rc)
        return MKB_ERR_NOMEM;
    if (json_object_get(o, "metrics") || json_object_get(o, "status"))
        return MKB_OK; /* a message or a status: no metric */
    if (json_string_value(json_object_get(o, "name")))
        return key_part(key, start, o, "name");
    json_t *alias = json_object_get(o, "alias");
    if (json_is_integer(alias))
        return buf_printf(key, "%salias:%lld", key->len > start ? "/" : "",
                          (long long)json_integer_value(alias));
    return MKB_OK;
}
