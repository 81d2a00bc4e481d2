// SPDX-FileCopyrightText: 2026 The mqtt-kafka-bridge authors
// SPDX-License-Identifier: Apache-2.0
#define _GNU_SOURCE /* asprintf */
/* The worked examples: every message of tests/fixtures/devices/ (copied from
 * each device family's public documentation) mapped through its family's
 * file in mappings/devices/, record by record: topic, key, value. */
#include "buf.h"
#include "config.h"
#include "err.h"
#include "mapper.h"

#include <check.h>

#include "check_run.h"
#include "device_fixtures.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    char *line[DFX_MAX_RECORDS];
    size_t n;
    size_t dead_letters;
    char reason[512];
    size_t retained_headers; /* records with mkb.retained: true */
} got_t;

/* One record as its fixture line: topic TAB key TAB value. */
static int collect(void *opaque, const record_t *r)
{
    got_t *g = opaque;
    if (r->dead_letter) {
        g->dead_letters++;
        snprintf(g->reason, sizeof g->reason, "%s: %s", r->route ? r->route : "-",
                 r->reason ? r->reason : "?");
        return MKB_OK;
    }
    ck_assert_msg(g->n < DFX_MAX_RECORDS, "too many records");
    for (size_t i = 0; i < r->nheaders; i++)
        g->retained_headers += strcmp(r->headers[i].name, "mkb.retained") == 0 &&
                               r->headers[i].value_len == 4 &&
                               memcmp(r->headers[i].value, "true", 4) == 0;
    buf_t b = {0};
    buf_printf(&b, "%s\t", r->topic);
    if (r->key)
        buf_append(&b, r->key, r->key_len);
    else
        buf_append_str(&b, "(nokey)");
    buf_append_str(&b, "\t");
    if (r->value)
        buf_append(&b, r->value, r->value_len);
    else
        buf_append_str(&b, "(null)");
    buf_terminate(&b);
    g->line[g->n++] = b.p;
    return MKB_OK;
}

static mapper_t *family_mapper(const dfx_family_t *f, config_t **cfg)
{
    char *text = NULL, *errors = NULL;
    ck_assert(asprintf(&text,
                       "mqtt: { uri: tcp://h:1 }\n"
                       "kafka: { bootstrap: h:1, dead_letter_topic: dlq }\n"
                       "mappings: [ \"%s\" ]\n",
                       f->mapping) > 0);
    int rc = config_load_string(MKB_SOURCE_DIR "/tests/unit/examples.yaml", text, cfg, &errors);
    ck_assert_msg(rc == MKB_OK, "%s: %s", f->family, errors ? errors : "?");
    free(text);
    mapper_t *m = NULL;
    ck_assert_msg(mapper_new(*cfg, &m, &errors) == MKB_OK, "%s: %s", f->family,
                  errors ? errors : "?");
    return m;
}

static void run_case(mapper_t *m, const dfx_family_t *f, const dfx_case_t *c)
{
    mqtt_msg_t msg = {.topic = c->topic,
                      .topic_len = strlen(c->topic),
                      .payload = c->payload,
                      .payload_len = c->payload_len,
                      .qos = 1,
                      .retained = c->retain,
                      .recv_ms = 1795860000000LL};
    got_t g = {0};
    ck_assert_int_eq(mapper_process(m, &msg, collect, &g, NULL), MKB_OK);
    ck_assert_msg(g.dead_letters == 0, "%s/%s: dead letter (%s)", f->family, c->name, g.reason);
    ck_assert_msg(g.n == c->nwant, "%s/%s: %zu records, want %zu", f->family, c->name, g.n,
                  c->nwant);
    for (size_t i = 0; i < g.n; i++) {
        ck_assert_msg(strcmp(g.line[i], c->want[i]) == 0, "%s/%s record %zu:\n got  %s\n want %s",
                      f->family, c->name, i + 1, g.line[i], c->want[i]);
        free(g.line[i]);
    }
    /* A record of a retained message says so, and only then. */
    ck_assert_msg(g.retained_headers == (c->retain ? g.n : 0),
                  "%s/%s: %zu of %zu records carry mkb.retained: true (retained: %d)", f->family,
                  c->name, g.retained_headers, g.n, c->retain);
}

START_TEST(test_device_families)
{
    size_t n = 0;
    dfx_family_t *fams = dfx_load(&n);
    ck_assert_uint_ge(n, 8);
    for (size_t i = 0; i < n; i++) {
        config_t *cfg = NULL;
        mapper_t *m = family_mapper(&fams[i], &cfg);
        for (size_t j = 0; j < fams[i].ncases; j++)
            run_case(m, &fams[i], &fams[i].cases[j]);
        mapper_destroy(m);
        config_destroy(cfg);
    }
    fprintf(stderr, "test_examples: %zu device families mapped\n", n);
    dfx_free(fams, n);
}
END_TEST

/* Every mapping file of mappings/devices/ has fixtures, and every fixture
 * family has its mapping (dfx_load checks that side). */
START_TEST(test_every_family_has_fixtures)
{
    size_t n = 0;
    dfx_family_t *fams = dfx_load(&n);
    DIR *d = opendir(MKB_SOURCE_DIR "/mappings/devices");
    ck_assert(d != NULL);
    size_t files = 0;
    for (struct dirent *e; (e = readdir(d));) {
        size_t len = strlen(e->d_name);
        if (len <= 5 || strcmp(e->d_name + len - 5, ".yaml") != 0)
            continue;
        files++;
        bool found = false;
        for (size_t i = 0; i < n; i++)
            found =
                found || (strlen(fams[i].family) == len - 5 &&
                          strncmp(fams[i].family, e->d_name, len - 5) == 0 && fams[i].ncases > 0);
        ck_assert_msg(found, "mappings/devices/%s has no fixtures", e->d_name);
    }
    closedir(d);
    ck_assert_uint_eq(files, n);
    const char *families[] = {"zigbee2mqtt",
                              "tasmota",
                              "shelly-gen1",
                              "shelly-gen2",
                              "owntracks",
                              "the-things-stack",
                              "homeassistant-statestream",
                              "esphome"};
    for (size_t k = 0; k < sizeof families / sizeof families[0]; k++) {
        bool found = false;
        for (size_t i = 0; i < n; i++)
            found = found || (strcmp(fams[i].family, families[k]) == 0 && fams[i].ncases > 0);
        ck_assert_msg(found, "no fixtures for %s", families[k]);
    }
    dfx_free(fams, n);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("examples");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_device_families);
    tcase_add_test(tc, test_every_family_has_fixtures);
    suite_add_tcase(s, tc);
    return check_run(s);
}
