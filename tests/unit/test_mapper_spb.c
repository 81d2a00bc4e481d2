// SPDX-FileCopyrightText: 2026 The mqtt-kafka-bridge authors
// SPDX-License-Identifier: Apache-2.0
#define _GNU_SOURCE /* asprintf */
/* payload: sparkplug_b routes through the rule engine, without brokers: the
 * payloads are the fixtures pysparkplug and Eclipse Tahu's python wrote
 * (tests/fixtures/sparkplug, gen.py), their .json what the library was
 * given. Births name the aliases of later data; unnamed aliases are marked
 * and ask for a rebirth; seq gaps are counted; deaths and STATE become
 * status records; bad payloads are dead letters with their reason. */
#include "buf.h"
#include "config.h"
#include "err.h"
#include "mapper.h"

#include <check.h>
#include <jansson.h>

#include "check_run.h"
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FIXTURES MKB_SOURCE_DIR "/tests/fixtures/sparkplug"
#define HEAD                                                                                     \
    "mqtt: { uri: tcp://h:1 }\n"                                                                 \
    "kafka: { bootstrap: h:1, dead_letter_topic: dlq }\n"
#define ROUTE                                                                                    \
    "routes:\n"                                                                                  \
    "  - name: plant\n"                                                                          \
    "    mqtt: { filter: \"spBv1.0/#\" }\n"                                                      \
    "    payload: sparkplug_b\n"                                                                 \
    "    kafka: { topic: plant.metrics }\n"

typedef struct {
    bool dead_letter;
    char *reason, *topic, *key, *type;
    json_t *value;
    int64_t ts;
} rec_t;

typedef struct {
    rec_t r[128];
    size_t n;
    int rebirths;
    char rebirth_node[64];
} got_t;

static int collect(void *opaque, const record_t *r)
{
    got_t *g = opaque;
    ck_assert(g->n < 128);
    rec_t *o = &g->r[g->n++];
    o->dead_letter = r->dead_letter;
    o->reason = r->reason ? strdup(r->reason) : NULL;
    o->topic = strdup(r->topic);
    o->key = r->key ? strndup(r->key, r->key_len) : NULL;
    o->type = NULL;
    for (size_t i = 0; i < r->nheaders; i++)
        if (strcmp(r->headers[i].name, "mkb.sparkplug.type") == 0)
            o->type = strndup(r->headers[i].value, r->headers[i].value_len);
    o->value = r->dead_letter ? NULL : json_loadb(r->value, r->value_len, 0, NULL);
    o->ts = r->timestamp_ms;
    return MKB_OK;
}

static void got_free(got_t *g)
{
    for (size_t i = 0; i < g->n; i++) {
        free(g->r[i].reason);
        free(g->r[i].topic);
        free(g->r[i].key);
        free(g->r[i].type);
        json_decref(g->r[i].value);
    }
    g->n = 0;
}

static void on_rebirth(void *opaque, const spb_topic_t *t)
{
    got_t *g = opaque;
    g->rebirths++;
    snprintf(g->rebirth_node, sizeof(g->rebirth_node), "%.*s/%.*s", (int)t->group_len, t->group,
             (int)t->node_len, t->node);
}

static mapper_t *mapper_of(const char *text, config_t **cfg)
{
    char *errors = NULL;
    int rc = config_load_string(MKB_SOURCE_DIR "/tests/unit/t.yaml", text, cfg, &errors);
    ck_assert_msg(rc == MKB_OK, "%s", errors ? errors : "");
    mapper_t *m = NULL;
    rc = mapper_new(*cfg, &m, &errors);
    ck_assert_msg(rc == MKB_OK, "%s", errors ? errors : "");
    return m;
}

/* Fixture NAME: its payload and its .json (topic, expected). */
static json_t *fixture(const char *name, buf_t *payload)
{
    char *path = NULL;
    ck_assert(asprintf(&path, FIXTURES "/%s.bin", name) > 0);
    FILE *f = fopen(path, "rb");
    ck_assert_msg(f, "%s", path);
    char chunk[4096];
    size_t n;
    while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
        buf_append(payload, chunk, n);
    fclose(f);
    free(path);
    ck_assert(asprintf(&path, FIXTURES "/%s.json", name) > 0);
    json_t *doc = json_load_file(path, 0, NULL);
    ck_assert_msg(doc, "%s", path);
    free(path);
    return doc;
}

/* Maps fixture NAME (on its own topic, or TOPIC) through M into G. */
static mapper_result_t map_fixture(mapper_t *m, const char *name, const char *topic, got_t *g)
{
    buf_t payload = {0};
    json_t *doc = fixture(name, &payload);
    if (!topic)
        topic = json_string_value(json_object_get(doc, "topic"));
    mqtt_msg_t msg = {.topic = topic, .topic_len = strlen(topic), .payload = payload.p,
                      .payload_len = payload.len, .qos = 1, .recv_ms = 1000};
    mapper_result_t res;
    ck_assert_int_eq(mapper_process(m, &msg, collect, g, &res), MKB_OK);
    json_decref(doc);
    buf_free(&payload);
    return res;
}

/* The metrics fixture NAME's library was given; *TS the payload's timestamp. */
static json_t *expected_metrics(const char *name, json_int_t *ts)
{
    buf_t payload = {0};
    json_t *doc = fixture(name, &payload);
    buf_free(&payload);
    json_t *want = json_object_get(doc, "expected");
    json_t *ms = json_incref(json_object_get(want, "metrics"));
    *ts = json_integer_value(json_object_get(want, "timestamp"));
    json_decref(doc);
    return ms;
}

/* Records G->r[FROM..] are the metrics of fixture NAME, one each, named,
 * valued and typed as the library was given them, with their context. */
static void check_metric_records(const got_t *g, size_t from, const char *name, const char *type,
                                 const char *key_prefix)
{
    json_int_t payload_ts = 0;
    json_t *want = expected_metrics(name, &payload_ts);
    ck_assert_uint_eq(g->n - from, json_array_size(want));
    for (size_t i = 0; i < json_array_size(want); i++) {
        const rec_t *r = &g->r[from + i];
        json_t *w = json_array_get(want, i);
        ck_assert_msg(!r->dead_letter, "%s", r->reason ? r->reason : "");
        ck_assert_str_eq(r->topic, "plant.metrics");
        ck_assert_str_eq(r->type, type);
        const char *wname = json_string_value(json_object_get(w, "name"));
        char *key = NULL;
        ck_assert(asprintf(&key, "%s/%s", key_prefix, wname) > 0);
        ck_assert_str_eq(r->key, key);
        free(key);
        ck_assert_str_eq(json_string_value(json_object_get(r->value, "name")), wname);
        ck_assert_str_eq(json_string_value(json_object_get(r->value, "type")), type);
        json_t *wv = json_object_get(w, "value"), *gv = json_object_get(r->value, "value");
        ck_assert_msg(json_equal(wv, gv) && json_typeof(wv) == json_typeof(gv),
                      "metric %s: %s is not %s", wname, json_dumps(gv, JSON_ENCODE_ANY),
                      json_dumps(wv, JSON_ENCODE_ANY));
        ck_assert_int_eq(r->ts, json_integer_value(json_object_get(w, "timestamp")));
        ck_assert_int_eq(json_integer_value(json_object_get(r->value, "payload_timestamp")),
                         payload_ts);
        ck_assert_ptr_null(json_object_get(r->value, "unresolved"));
    }
    json_decref(want);
}

/* Births, data by alias, death: everything named, exactly as sent. */
START_TEST(test_lifecycle)
{
    config_t *cfg = NULL;
    mapper_t *m = mapper_of(HEAD ROUTE "    sparkplug: { status_topic: plant.status }\n", &cfg);
    got_t g = {.n = 0};
    mapper_set_sparkplug(m, NULL, on_rebirth, &g);
    mapper_result_t res = map_fixture(m, "pysparkplug_nbirth", NULL, &g);
    ck_assert_uint_eq(res.spb_seq_gaps, 0);
    ck_assert_str_eq(g.r[0].topic, "plant.status");
    ck_assert_str_eq(g.r[0].key, "Plant1/Edge-1");
    ck_assert_str_eq(json_string_value(json_object_get(g.r[0].value, "status")), "online");
    ck_assert_int_eq(json_integer_value(json_object_get(g.r[0].value, "bdSeq")), 7);
    check_metric_records(&g, 1, "pysparkplug_nbirth", "NBIRTH", "Plant1/Edge-1");
    size_t at = g.n;
    res = map_fixture(m, "pysparkplug_ndata_alias", NULL, &g);
    ck_assert_uint_eq(res.spb_seq_gaps + res.spb_unresolved, 0);
    check_metric_records(&g, at, "pysparkplug_ndata_alias", "NDATA", "Plant1/Edge-1");
    at = g.n;
    map_fixture(m, "pysparkplug_dbirth", NULL, &g);
    ck_assert_str_eq(g.r[at].key, "Plant1/Edge-1/Motor-2");
    check_metric_records(&g, at + 1, "pysparkplug_dbirth", "DBIRTH", "Plant1/Edge-1/Motor-2");
    at = g.n;
    res = map_fixture(m, "pysparkplug_ddata_alias", NULL, &g);
    check_metric_records(&g, at, "pysparkplug_ddata_alias", "DDATA", "Plant1/Edge-1/Motor-2");
    ck_assert_uint_eq(res.spb_seq_gaps + res.spb_unresolved + res.spb_rebirths, 0);
    at = g.n;
    map_fixture(m, "pysparkplug_ndeath", NULL, &g);
    ck_assert_uint_eq(g.n, at + 1);
    json_t *st = g.r[at].value;
    ck_assert_str_eq(g.r[at].topic, "plant.status");
    ck_assert_str_eq(json_string_value(json_object_get(st, "status")), "offline");
    ck_assert(json_is_true(json_object_get(st, "current")));
    ck_assert_int_eq(json_integer_value(json_object_get(st, "bdSeq")), 7);
    ck_assert_int_eq(g.rebirths, 0);
    got_free(&g);
    mapper_destroy(m);
    config_destroy(cfg);
}
END_TEST

/* Data by alias with no birth: marked, not guessed; a rebirth asked for
 * once per 5 s; with unresolved: dead_letter, a dead letter saying so. */
START_TEST(test_unresolved)
{
    config_t *cfg = NULL;
    mapper_t *m = mapper_of(HEAD ROUTE, &cfg);
    got_t g = {.n = 0};
    mapper_set_sparkplug(m, NULL, on_rebirth, &g);
    mapper_result_t res = map_fixture(m, "pysparkplug_ddata_alias", NULL, &g);
    ck_assert_uint_eq(g.n, 20);
    ck_assert_uint_eq(res.spb_unresolved, 20);
    ck_assert_uint_eq(res.spb_rebirths, 1);
    ck_assert_int_eq(g.rebirths, 1);
    ck_assert_str_eq(g.rebirth_node, "Plant1/Edge-1");
    ck_assert_str_eq(g.r[0].key, "Plant1/Edge-1/Motor-2/alias:200");
    ck_assert(json_is_true(json_object_get(g.r[0].value, "unresolved")));
    ck_assert(json_is_null(json_object_get(g.r[0].value, "name")));
    ck_assert_ptr_null(json_object_get(g.r[0].value, "value"));
    ck_assert_ptr_nonnull(json_object_get(g.r[0].value, "raw"));
    res = map_fixture(m, "pysparkplug_ddata_alias", NULL, &g); /* within 5 s: no second ask */
    ck_assert_uint_eq(res.spb_rebirths, 0);
    ck_assert_int_eq(g.rebirths, 1);
    got_free(&g);
    mapper_destroy(m);
    config_destroy(cfg);

    m = mapper_of(HEAD ROUTE "    sparkplug: { unresolved: dead_letter, rebirth: false }\n", &cfg);
    g.rebirths = 0;
    mapper_set_sparkplug(m, NULL, on_rebirth, &g);
    res = map_fixture(m, "pysparkplug_ddata_alias", NULL, &g);
    ck_assert_uint_eq(g.n, 1);
    ck_assert(g.r[0].dead_letter);
    ck_assert_msg(strstr(g.r[0].reason, "20 metric(s) sent by an alias no birth"), "%s",
                  g.r[0].reason);
    ck_assert_int_eq(g.rebirths, 0);
    ck_assert_uint_eq(res.spb_rebirths, 0);
    got_free(&g);
    mapper_destroy(m);
    config_destroy(cfg);
}
END_TEST

/* A birth, then data whose seq skips: counted once, a rebirth asked for. */
START_TEST(test_seq_gap)
{
    config_t *cfg = NULL;
    mapper_t *m = mapper_of(HEAD ROUTE, &cfg);
    got_t g = {.n = 0};
    mapper_set_sparkplug(m, NULL, on_rebirth, &g);
    /* seq 0, 1, 2, 3: no gap */
    mapper_result_t res = map_fixture(m, "pysparkplug_nbirth", NULL, &g);
    res.spb_seq_gaps += map_fixture(m, "pysparkplug_ndata_alias", NULL, &g).spb_seq_gaps;
    res.spb_seq_gaps += map_fixture(m, "pysparkplug_dbirth", NULL, &g).spb_seq_gaps;
    res.spb_seq_gaps += map_fixture(m, "pysparkplug_ddata_alias", NULL, &g).spb_seq_gaps;
    ck_assert_uint_eq(res.spb_seq_gaps, 0);
    ck_assert_int_eq(g.rebirths, 0);
    got_free(&g);
    mapper_destroy(m);
    config_destroy(cfg);

    m = mapper_of(HEAD ROUTE, &cfg);
    mapper_set_sparkplug(m, NULL, on_rebirth, &g);
    map_fixture(m, "pysparkplug_nbirth", NULL, &g);
    got_free(&g);
    res = map_fixture(m, "pysparkplug_dbirth", NULL, &g); /* seq 2 after 0: NDATA 1 lost */
    ck_assert_uint_eq(res.spb_seq_gaps, 1);
    ck_assert_uint_eq(res.spb_rebirths, 1);
    ck_assert_int_eq(g.rebirths, 1);
    ck_assert_uint_eq(g.n, 20); /* the data still goes on */
    got_free(&g);
    mapper_destroy(m);
    config_destroy(cfg);
}
END_TEST

/* records: per_message: one record, the message; kafka.key when written. */
START_TEST(test_per_message)
{
    config_t *cfg = NULL;
    mapper_t *m = mapper_of(HEAD ROUTE "    sparkplug: { records: per_message }\n", &cfg);
    got_t g = {.n = 0};
    map_fixture(m, "pysparkplug_dbirth", NULL, &g);
    got_free(&g);
    map_fixture(m, "pysparkplug_ddata_alias", NULL, &g);
    ck_assert_uint_eq(g.n, 1);
    ck_assert_str_eq(g.r[0].key, "Plant1/Edge-1/Motor-2");
    json_t *ms = json_object_get(g.r[0].value, "metrics");
    ck_assert_uint_eq(json_array_size(ms), 20);
    ck_assert_str_eq(json_string_value(json_object_get(json_array_get(ms, 0), "name")),
                     "Motor/Speed0");
    ck_assert_int_eq(json_integer_value(json_object_get(g.r[0].value, "seq")), 3);
    got_free(&g);
    mapper_destroy(m);
    config_destroy(cfg);

    m = mapper_of(HEAD "routes:\n  - name: plant\n    mqtt: { filter: \"spBv1.0/#\" }\n"
                       "    payload: sparkplug_b\n"
                       "    kafka: { topic: \"plant.{$/edge_node}\", key: \"{/name}\" }\n"
                       "    fields:\n      v: { from: /value, type: number }\n",
                  &cfg);
    map_fixture(m, "pysparkplug_dbirth", NULL, &g);
    ck_assert_uint_eq(g.n, 20);
    ck_assert_str_eq(g.r[1].topic, "plant.Edge-1");
    ck_assert_str_eq(g.r[1].key, "Motor/Speed1");
    json_t *want = json_pack("{s:f}", "v", 0.5);
    ck_assert(json_equal(g.r[1].value, want));
    json_decref(want);
    got_free(&g);
    mapper_destroy(m);
    config_destroy(cfg);
}
END_TEST

/* Bad input: a dead letter with the reason; the decoder's own errors named. */
START_TEST(test_bad_input)
{
    config_t *cfg = NULL;
    mapper_t *m = mapper_of(HEAD ROUTE, &cfg);
    got_t g = {.n = 0};
    static const struct {
        const char *fixture, *topic, *reason;
    } cases[] = {
        {"pysparkplug_ndata_alias", "spBv1.0/Plant1/WHAT/Edge-1", "not a Sparkplug B topic"},
        {"err_datatype99", NULL, "is not a Sparkplug B datatype"},
        {"err_wrong_field", NULL, "int_value"},
        {"err_array_len", NULL, "not a multiple"},
        {"err_birth_no_datatype", NULL, "has no datatype"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        map_fixture(m, cases[i].fixture, cases[i].topic, &g);
        ck_assert_uint_eq(g.n, 1);
        ck_assert_msg(g.r[0].dead_letter, "%s", cases[i].fixture);
        ck_assert_msg(strstr(g.r[0].reason, cases[i].reason), "%s: %s", cases[i].fixture,
                      g.r[0].reason);
        got_free(&g);
    }
    const char *garbage = "\xff\xff\xff\xff not protobuf";
    mqtt_msg_t msg = {.topic = "spBv1.0/G/NDATA/N", .topic_len = 17, .payload = garbage,
                      .payload_len = strlen(garbage)};
    ck_assert_int_eq(mapper_process(m, &msg, collect, &g, NULL), MKB_OK);
    ck_assert(g.n == 1 && g.r[0].dead_letter);
    ck_assert_msg(strstr(g.r[0].reason, "not a Sparkplug B payload"), "%s", g.r[0].reason);
    got_free(&g);
    /* a command seen on the uplink: skipped */
    msg.topic = "spBv1.0/G/NCMD/N";
    mapper_result_t res;
    ck_assert_int_eq(mapper_process(m, &msg, collect, &g, &res), MKB_OK);
    ck_assert_uint_eq(g.n, 0);
    ck_assert_uint_eq(res.skipped, 1);
    mapper_destroy(m);
    config_destroy(cfg);
}
END_TEST

/* The shipped mappings/sparkplug.yaml, as config/bridge.yaml loads it. */
START_TEST(test_shipped_example)
{
    config_t *cfg = NULL;
    char *errors = NULL;
    setenv("MKB_MAPPINGS_DIR", MKB_SOURCE_DIR "/mappings", 1);
    int rc = config_load(MKB_SOURCE_DIR "/config/bridge.yaml", &cfg, &errors);
    ck_assert_msg(rc == MKB_OK, "%s", errors ? errors : "");
    mapper_t *m = NULL;
    ck_assert_msg(mapper_new(cfg, &m, &errors) == MKB_OK, "%s", errors ? errors : "");
    got_t g = {.n = 0};
    map_fixture(m, "pysparkplug_dbirth", NULL, &g);
    ck_assert_str_eq(g.r[0].topic, "sparkplug.status");
    ck_assert_uint_eq(g.n, 21);
    got_free(&g);
    map_fixture(m, "pysparkplug_ddata_alias", NULL, &g);
    ck_assert_uint_eq(g.n, 20);
    ck_assert_str_eq(g.r[0].topic, "sparkplug.metrics");
    ck_assert_str_eq(g.r[0].key, "Plant1/Edge-1/Motor-2/Motor/Speed0");
    got_free(&g);
    map_fixture(m, "pysparkplug_ndeath", NULL, &g);
    ck_assert_uint_eq(g.n, 1);
    ck_assert_str_eq(json_string_value(json_object_get(g.r[0].value, "status")), "offline");
    got_free(&g);
    mapper_destroy(m);
    config_destroy(cfg);
}
END_TEST

/* check's errors for the sparkplug: section, at file:line:col. */
START_TEST(test_config_errors)
{
    static const struct {
        const char *text, *want;
    } cases[] = {
        {HEAD "routes:\n  - name: j\n    mqtt: { filter: a }\n    kafka: { topic: t }\n"
              "    sparkplug: { records: per_message }\n",
         "t.yaml:7:27: error: route 'j': sparkplug.records is for payload: sparkplug_b routes"},
        {HEAD ROUTE "    explode: /metrics\n", "explode is not used"},
        {HEAD ROUTE "    sparkplug: { status_topic: \"bad topic\" }\n",
         "sparkplug.status_topic 'bad topic' is not a valid Kafka topic name"},
        {HEAD ROUTE "    sparkplug: { records: per_metrc }\n", "per_metric"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        config_t *cfg = NULL;
        char *errors = NULL;
        int rc = config_load_string(MKB_SOURCE_DIR "/tests/unit/t.yaml", cases[i].text, &cfg,
                                    &errors);
        mapper_t *m = NULL;
        if (rc == MKB_OK) {
            rc = mapper_new(cfg, &m, &errors);
            config_destroy(cfg);
        }
        ck_assert_int_ne(rc, MKB_OK);
        ck_assert_msg(errors && strstr(errors, cases[i].want), "case %zu: %s", i,
                      errors ? errors : "(none)");
        free(errors);
    }
}
END_TEST

int main(void)
{
    Suite *s = suite_create("mapper_spb");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_lifecycle);
    tcase_add_test(tc, test_unresolved);
    tcase_add_test(tc, test_seq_gap);
    tcase_add_test(tc, test_per_message);
    tcase_add_test(tc, test_bad_input);
    tcase_add_test(tc, test_shipped_example);
    tcase_add_test(tc, test_config_errors);
    suite_add_tcase(s, tc);
    return check_run(s);
}
